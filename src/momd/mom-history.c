/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The decision history (mom-history.h): a queue, the oldest decision first,
 * trimmed from the front by count and by age after every record.  At the
 * default 1 000 decisions of about 200 bytes each it holds about 200 KiB,
 * plus the explanations they refer to: a compact copy per entity and
 * decided cycle, each at most MOM_EXPLANATION_MAX_INPUTS inputs and
 * _MAX_DEBUG_BYTES of debug lines (about 8 KiB, usually 1.5 KiB); and a
 * reference to each entity's own for its newest cycle.
 */
#include "config.h"

#include <string.h>

#include "mom-history.h"

/* An entity's newest cycle. */
typedef struct {
    guint64 cycle;
    gint64 time;
    MomExplanation *why;
} Latest;

struct _MomHistory {
    GQueue decisions;      /* MomDecision *, the oldest at the head */
    GHashTable *latest;    /* entity name -> Latest */
    guint64 trimmed_cycle; /* the cycle at which latest was last trimmed */
    guint max_decisions;
    guint max_age_s;
    gboolean unexplained; /* keeps no explanations (mom_history_set_explained()) */
};

static void
latest_free(gpointer p)
{
    Latest *l = p;
    mom_explanation_unref(l->why);
    g_free(l);
}

static void
decision_free(gpointer p)
{
    MomDecision *d = p;

    g_free(d->entity);
    g_free(d->control);
    g_free(d->before);
    g_free(d->requested);
    g_free(d->outcome);
    g_free(d->origin);
    mom_explanation_unref(d->why);
    g_free(d);
}

MomHistory *
mom_history_new(guint max_decisions, guint max_age_s)
{
    MomHistory *h = g_new0(MomHistory, 1);

    g_queue_init(&h->decisions);
    h->latest = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, latest_free);
    h->max_decisions = max_decisions;
    h->max_age_s = max_age_s;
    return h;
}

void
mom_history_set_explained(MomHistory *h, gboolean explained)
{
    h->unexplained = !explained;
}

void
mom_history_free(MomHistory *h)
{
    if (!h)
        return;
    g_queue_clear_full(&h->decisions, decision_free);
    g_hash_table_destroy(h->latest);
    g_free(h);
}

/* Forgets the entities the cycle before @cycle did not see (guests that
 * went away: what their decisions refer to stays with the decisions). */
static void
trim_latest(MomHistory *h, guint64 cycle)
{
    GHashTableIter it;
    gpointer value;

    g_hash_table_iter_init(&it, h->latest);
    while (g_hash_table_iter_next(&it, NULL, &value))
        if (((Latest *)value)->cycle + 1 < cycle)
            g_hash_table_iter_remove(&it);
}

static void
trim(MomHistory *h, gint64 now)
{
    gint64 oldest = now - (gint64)h->max_age_s * G_USEC_PER_SEC;

    while (h->decisions.length > h->max_decisions)
        decision_free(g_queue_pop_head(&h->decisions));
    while (h->decisions.length && ((MomDecision *)g_queue_peek_head(&h->decisions))->time < oldest)
        decision_free(g_queue_pop_head(&h->decisions));
}

void
mom_history_set_bounds(MomHistory *h, guint max_decisions, guint max_age_s)
{
    h->max_decisions = max_decisions;
    h->max_age_s = max_age_s;
    trim(h, g_get_real_time());
}

/* The statistic a control moves, as it is now: what "before" means. */
static char *
before_of(MomEntity *e, const char *control)
{
    const char *field = strcmp(control, "balloon_target") == 0 ? "balloon_cur" : control;
    int i = mom_schema_lookup(mom_entity_schema(e), field);
    const MomValue *v = i >= 0 ? mom_entity_stat(e, (guint)i) : NULL;

    if (!v || v->type == MOM_VALUE_NIL)
        return g_strdup("-");
    g_autoptr(GString) s = g_string_new(NULL);
    mom_value_repr(v, FALSE, s);
    return g_string_free(g_steal_pointer(&s), FALSE);
}

void
mom_history_record(MomHistory *h, guint64 cycle, gint64 time, const char *name, MomEntity *e)
{
    MomExplanation *why = e && !h->unexplained ? mom_entity_explanation(e) : NULL;
    /* the decisions' own copy, made at the first: they may stay for
     * hours, the entity's next evaluation refills @why's buffers */
    g_autoptr(MomExplanation) kept = NULL;

    /* once a cycle, not once an entity: it walks them all */
    if (cycle != h->trimmed_cycle) {
        h->trimmed_cycle = cycle;
        trim_latest(h, cycle);
    }
    Latest *l = g_hash_table_lookup(h->latest, name);
    if (!l) {
        l = g_new0(Latest, 1);
        g_hash_table_insert(h->latest, g_strdup(name), l);
    }
    l->cycle = cycle;
    l->time = time;
    mom_explanation_unref(l->why);
    l->why = why ? mom_explanation_ref(why) : NULL;
    for (guint i = 0; e && i < mom_entity_n_controls(e); i++) {
        const MomControl *c = mom_entity_control(e, i);
        /* nothing decided: the value was there, or a parameter the
         * controller only keeps (the KSM watch's idle rate) */
        if (c->outcome &&
            (g_str_has_prefix(c->outcome, "unchanged") || g_str_has_prefix(c->outcome, "noted")))
            continue;
        MomDecision *d = g_new0(MomDecision, 1);
        g_autoptr(GString) v = g_string_new(NULL);
        mom_value_repr(&c->value, FALSE, v);
        d->time = time;
        d->cycle = cycle;
        d->entity = g_strdup(name);
        d->control = g_strdup(c->name);
        d->before = before_of(e, c->name);
        d->requested = g_string_free(g_steal_pointer(&v), FALSE);
        d->outcome = g_strdup(c->outcome ? c->outcome : "not applied");
        d->origin = g_strdup_printf("%s:%d:%d", c->file, c->line, c->col);
        if (why && !kept)
            kept = mom_explanation_compact(why);
        d->why = kept ? mom_explanation_ref(kept) : NULL;
        g_queue_push_tail(&h->decisions, d);
    }
    trim(h, time);
}

void
mom_history_release_latest(MomHistory *h, const char *entity)
{
    Latest *l = g_hash_table_lookup(h->latest, entity);

    if (l)
        g_clear_pointer(&l->why, mom_explanation_unref);
}

GPtrArray *
mom_history_query(MomHistory *h, const char *entity, gint64 since)
{
    GPtrArray *out = g_ptr_array_new();

    for (GList *l = h->decisions.head; l; l = l->next) {
        MomDecision *d = l->data;
        if (d->time >= since && (!entity || strcmp(d->entity, entity) == 0))
            g_ptr_array_add(out, d);
    }
    return out;
}

guint
mom_history_length(MomHistory *h)
{
    return h->decisions.length;
}

gboolean
mom_history_latest(MomHistory *h, const char *entity, guint64 *cycle, gint64 *time,
                   MomExplanation **why)
{
    const Latest *l = g_hash_table_lookup(h->latest, entity);

    if (!l)
        return FALSE;
    *cycle = l->cycle;
    *time = l->time;
    *why = l->why;
    return TRUE;
}
