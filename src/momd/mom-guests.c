/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <gio/gio.h>
#include <string.h>

#include "mom-agent.h"
#include "mom-guests.h"

typedef struct {
    MomDomainInfo *info;
    MomGuestData data;        /* collectors hold a pointer to this: a Guest never moves */
    MomGuestAgentData *agent; /* data.agent: the newest agent read, when one is made */
    MomMonitor *monitor;
    gboolean period_asked;
    guint64 merged; /* the newest merge that had it (MomGuests.merges) */
} Guest;

struct _MomGuests {
    MomLibvirt *lv;
    char **collectors;
    MomCollectorConfig base;
    char *proc_root;
    char *sysfs_root;
    guint history;
    MomPlotDir *plot_dir; /* NULL: no plots */
    int stats_period;
    GHashTable *guests; /* uuid -> Guest */
    guint64 merges;     /* batches merged so far */
    /* uuid -> monotonic µs of its stop event, until a collection that
     * started after it has been merged: one that started before it must
     * not bring the guest back */
    GHashTable *stopped;
    GCancellable *cancel;
    gboolean in_flight;
    gint64 started; /* monotonic µs when the running collection began */
    guint skipped;
    gboolean aside_in_flight; /* a collection on a second connection, while @in_flight stalls */
    gboolean aside_said;      /* that one brought data was said, once a stall */
    gint64 merged_started;    /* @started of the newest batch merged */
    gboolean stall_warned;    /* "has not returned" was said for the running call */
    gboolean stall_lost;      /* and the connection went during it: reconnecting says it is over */
    guint stall_generation;   /* mom_libvirt_generation() when it was warned */
    guint64 collections;
    guint last_calls;
    char *last_error;      /* the last collection error, to log a repeated one once */
    gboolean error_logged; /* @last_error was logged */
    gboolean dry_run;      /* guests are only looked at, never changed */
    MomAgentPoller *agent; /* GuestQemuAgent's background reads, or NULL when not configured */
};

static void
guest_free(gpointer p)
{
    Guest *g = p;
    mom_monitor_free(g->monitor);
    mom_domain_info_free(g->info);
    g_free(g->agent);
    g_free(g);
}

/* One of @collectors reads the guest agent (MomCollectorClass.needs_agent). */
static gboolean
needs_agent(char **collectors)
{
    for (char **c = collectors; c && *c; c++) {
        const MomCollectorClass *klass = mom_collector_lookup(*c);

        if (klass && klass->needs_agent)
            return TRUE;
    }
    return FALSE;
}

MomGuests *
mom_guests_new(MomLibvirt *lv, char **collectors, const MomCollectorConfig *base, guint history,
               MomPlotDir *plot_dir, int stats_period, GError **error)
{
    for (guint i = 0; collectors && collectors[i]; i++) {
        if (!mom_collector_lookup(collectors[i])) {
            g_set_error(error, MOM_COLLECTOR_ERROR, MOM_COLLECTOR_ERROR_CONFIG,
                        "The collector '%s' in [guest] collectors does not exist.", collectors[i]);
            return NULL;
        }
    }
    MomGuests *gs = g_new0(MomGuests, 1);
    gs->lv = lv;
    gs->collectors = g_strdupv(collectors);
    gs->base = *base;
    gs->proc_root = g_strdup(base->proc_root);
    gs->sysfs_root = g_strdup(base->sysfs_root);
    gs->base.proc_root = gs->proc_root;
    gs->base.sysfs_root = gs->sysfs_root;
    gs->history = history;
    gs->plot_dir = plot_dir ? mom_plot_dir_ref(plot_dir) : NULL;
    gs->stats_period = stats_period;
    gs->guests = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, guest_free);
    gs->stopped = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    gs->cancel = g_cancellable_new();
    if (needs_agent(collectors)) {
        MomAgentOptions defaults = {MOM_AGENT_DEFAULT_TIMEOUT, MOM_AGENT_DEFAULT_MAX_FILE_KIB};

        gs->agent = mom_agent_poller_new(lv, base->interval, &defaults);
    }
    return gs;
}

void
mom_guests_set_dry_run(MomGuests *gs, gboolean dry_run)
{
    gs->dry_run = dry_run;
}

gboolean
mom_guests_set_agent_options(MomGuests *gs, const MomAgentOptions *options)
{
    if (!gs->agent)
        return FALSE;
    mom_agent_poller_set_options(gs->agent, options);
    return TRUE;
}

void
mom_guests_free(MomGuests *gs)
{
    if (!gs)
        return;
    /* a collection still running finds the cancellable set and drops its result */
    g_cancellable_cancel(gs->cancel);
    g_object_unref(gs->cancel);
    mom_agent_poller_free(gs->agent);
    g_hash_table_destroy(gs->guests);
    g_hash_table_destroy(gs->stopped);
    g_strfreev(gs->collectors);
    g_free(gs->proc_root);
    g_free(gs->sysfs_root);
    mom_plot_dir_unref(gs->plot_dir);
    g_free(gs->last_error);
    g_free(gs);
}

static void
set_props(Guest *g)
{
    MomEntity *e = mom_monitor_entity(g->monitor);
    MomValue v;

    v = mom_value_string(g->info->name, -1);
    mom_entity_set_prop(e, "name", &v);
    mom_value_clear(&v);
    v = mom_value_string(g->info->uuid, -1);
    mom_entity_set_prop(e, "uuid", &v);
    mom_value_clear(&v);
    v = g->info->pid > 0 ? mom_value_int(g->info->pid) : mom_value_nil();
    mom_entity_set_prop(e, "pid", &v);
    v = mom_value_bool(g->info->tune.nosharepages);
    mom_entity_set_prop(e, "nosharepages", &v);
    /* CpuTune: the tuning metadata's balloon weight (docs/metadata.md), nil without */
    v = g->info->tune.balloon_weight > 0 ? mom_value_int(g->info->tune.balloon_weight)
                                         : mom_value_nil();
    mom_entity_set_prop(e, "balloon_weight", &v);
    /* the Balloon controller keeps it current; a policy may read it at once */
    if (!mom_entity_get_prop(e, "balloon_uncooperative")) {
        v = mom_value_bool(FALSE);
        mom_entity_set_prop(e, "balloon_uncooperative", &v);
    }
}

static Guest *
guest_new(MomGuests *gs, MomDomainInfo *info, const MomGuestData *data)
{
    g_autoptr(GError) error = NULL;
    Guest *g = g_new0(Guest, 1);
    MomCollectorConfig cfg = gs->base;

    g->info = info;
    g->data = *data;
    cfg.guest = &g->data;
    g->monitor = mom_monitor_new(MOM_ENTITY_GUEST, info->name, gs->collectors, &cfg, gs->history,
                                 gs->plot_dir, &error);
    if (!g->monitor) {
        g_log_structured(G_LOG_DOMAIN, G_LOG_LEVEL_WARNING, "MOM_GUEST", info->name, "MESSAGE",
                         "Guest %s cannot be monitored: %s", info->name, error->message);
        guest_free(g); /* and @info with it */
        return NULL;
    }
    set_props(g);
    g_log_structured(G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "MOM_GUEST", info->name, "MESSAGE",
                     "Guest %s (%s) is now managed.", info->name, info->uuid);
    return g;
}

static void
stats_period_done(GObject *source, GAsyncResult *res, gpointer user_data)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *name = user_data;

    if (!g_task_propagate_boolean(G_TASK(res), &error))
        /* a guest that went away meanwhile is churn */
        g_log_structured(G_LOG_DOMAIN,
                         mom_libvirt_error_is_gone(error) ? G_LOG_LEVEL_DEBUG : G_LOG_LEVEL_WARNING,
                         "MOM_GUEST", name, "MESSAGE",
                         "Cannot set the balloon statistics period of guest %s: %s", name,
                         error->message);
}

typedef struct {
    MomLibvirt *lv;
    char *uuid;
    int period;
} PeriodJob;

static void
period_job_free(gpointer p)
{
    PeriodJob *j = p;
    mom_libvirt_unref(j->lv);
    g_free(j->uuid);
    g_free(j);
}

static void
period_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancel)
{
    PeriodJob *j = data;
    GError *error = NULL;

    if (mom_libvirt_set_stats_period(j->lv, j->uuid, j->period, &error))
        g_task_return_boolean(task, TRUE);
    else
        g_task_return_error(task, error);
}

/* A balloon without a statistics period reports once at boot and never
 * again, which would feed the policy stale numbers forever.  Asked once
 * per guest, and again when it restarts or its XML changes; so a dry run,
 * which leaves the period unset, says so once per guest too. */
static void
ensure_stats_period(MomGuests *gs, Guest *g)
{
    if (g->period_asked || !g->info->have_xml || !g->info->has_balloon || g->info->stats_period ||
        gs->stats_period <= 0)
        return;
    g->period_asked = TRUE;
    if (gs->dry_run) {
        g_log_structured(G_LOG_DOMAIN, G_LOG_LEVEL_INFO, "MOM_GUEST", g->info->name, "MESSAGE",
                         "Guest %s has no balloon statistics period; %d s would be set (dry run).",
                         g->info->name, gs->stats_period);
        return;
    }
    PeriodJob *j = g_new0(PeriodJob, 1);
    j->lv = mom_libvirt_ref(gs->lv);
    j->uuid = g_strdup(g->info->uuid);
    j->period = gs->stats_period;
    g_autoptr(GTask) task = g_task_new(NULL, NULL, stats_period_done, g_strdup(g->info->name));
    g_task_set_task_data(task, j, period_job_free);
    g_task_run_in_thread(task, period_thread);
    g_log_structured(G_LOG_DOMAIN, G_LOG_LEVEL_INFO, "MOM_GUEST", g->info->name, "MESSAGE",
                     "Guest %s had no balloon statistics period; setting it to %d s.",
                     g->info->name, gs->stats_period);
}

static void
merge(MomGuests *gs, MomGuestBatch *batch)
{
    guint64 merge = ++gs->merges;

    gs->merged_started = MAX(gs->merged_started, batch->started);

    for (guint i = 0; i < batch->domains->len; i++) {
        MomDomainInfo *info = batch->domains->pdata[i];
        const MomGuestData *data = &g_array_index(batch->data, MomGuestData, i);
        Guest *g = g_hash_table_lookup(gs->guests, info->uuid);
        const gint64 *stopped_at = g_hash_table_lookup(gs->stopped, info->uuid);

        batch->domains->pdata[i] = NULL; /* taken below */
        if (!g && stopped_at && batch->started <= *stopped_at) {
            /* the collection began before the guest stopped */
            mom_domain_info_free(info);
            continue;
        }
        if (!g) {
            g = guest_new(gs, info, data);
            if (!g)
                continue;
            g_hash_table_insert(gs->guests, g->info->uuid, g);
        } else {
            gboolean changed = g->info->id != info->id || g->info->pid != info->pid ||
                               g->info->xml_serial != info->xml_serial;
            g_hash_table_steal(gs->guests, g->info->uuid);
            mom_domain_info_free(g->info);
            g->info = info;
            g_hash_table_insert(gs->guests, g->info->uuid, g);
            g->data = *data;
            if (changed) {
                set_props(g);
                g->period_asked = FALSE;
            }
        }
        g->data.name = g->info->name;
        g->data.uuid = g->info->uuid;
        if (gs->agent) { /* the newest agent read; the next one starts in the background */
            if (!g->agent)
                g->agent = g_new0(MomGuestAgentData, 1);
            mom_agent_poller_update(gs->agent, g->info->uuid, g->info->name, g->agent);
        }
        g->data.agent = g->agent;
        g->merged = merge;
        ensure_stats_period(gs, g);
        if (mom_monitor_collect(g->monitor)) {
            /* when the data was taken, so the Balloon controller can tell
             * a sample from before its last change from one after it */
            MomValue at = mom_value_int(batch->started);
            mom_entity_set_prop(mom_monitor_entity(g->monitor), "sampled_at", &at);
        }
        /* a paused guest cannot move its balloon: the Balloon controller
         * does not hold that against it */
        MomValue paused = mom_value_bool(g->data.paused);
        mom_entity_set_prop(mom_monitor_entity(g->monitor), "paused", &paused);
    }
    GHashTableIter it;
    gpointer key, value;
    /* this collection began after those stops: it knows of them */
    g_hash_table_iter_init(&it, gs->stopped);
    while (g_hash_table_iter_next(&it, NULL, &value))
        if (*(gint64 *)value < batch->started)
            g_hash_table_iter_remove(&it);
    g_hash_table_iter_init(&it, gs->guests);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        Guest *g = value;
        if (g->merged == merge)
            continue;
        g_log_structured(G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "MOM_GUEST", g->info->name, "MESSAGE",
                         "Guest %s is no longer running; it is dropped.", g->info->name);
        mom_agent_poller_forget(gs->agent, key);
        g_hash_table_iter_remove(&it);
    }
}

static void
collect_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancel)
{
    GHashTable *known = data;
    MomLibvirt *lv = g_object_get_data(G_OBJECT(task), "lv");
    GError *error = NULL;

    MomGuestBatch *b = g_object_get_data(G_OBJECT(task), "aside")
                           ? mom_libvirt_collect_aside(lv, known, &error)
                           : mom_libvirt_collect(lv, known, &error);
    if (b)
        g_task_return_pointer(task, b, (GDestroyNotify)mom_guest_batch_free);
    else
        g_task_return_error(task, error);
}

/* @b began before the newest batch merged (a call that came back after a
 * collection on the second connection): its data is older, so it is
 * dropped, and the reads it made are made again by the next collection. */
static gboolean
drop_if_late(MomGuests *gs, const MomGuestBatch *b)
{
    if (b->started >= gs->merged_started)
        return FALSE;
    for (guint i = 0; i < b->domains->len; i++) {
        const MomDomainInfo *info = b->domains->pdata[i];
        if (info)
            mom_libvirt_mark_stale(gs->lv, info->uuid);
    }
    g_debug("A guest statistics call came back after a newer one was merged; it is dropped.");
    return TRUE;
}

/* A collection's result; FALSE when the manager is gone (the task was
 * cancelled), and the result, if any, is dropped. */
static gboolean
take_result(GAsyncResult *res, MomGuestBatch **batch, GError **error)
{
    GTask *task = G_TASK(res);

    if (g_cancellable_is_cancelled(g_task_get_cancellable(task))) {
        g_autoptr(MomGuestBatch) dropped = g_task_propagate_pointer(task, NULL);
        return FALSE;
    }
    *batch = g_task_propagate_pointer(task, error);
    return TRUE;
}

static void
aside_done(GObject *source, GAsyncResult *res, gpointer user_data)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(MomGuestBatch) b = NULL;

    if (!take_result(res, &b, &error))
        return;
    MomGuests *gs = user_data;
    gs->aside_in_flight = FALSE;
    if (!b) {
        g_debug("Guest statistics on a second connection failed: %s", error->message);
        return;
    }
    if (drop_if_late(gs, b))
        return;
    if (gs->in_flight && !gs->aside_said) {
        g_info("Guest statistics come through a second connection while the statistics call "
               "has not returned for %.0f s.",
               (b->started - gs->started) / 1e6);
        gs->aside_said = TRUE;
    }
    gs->collections++;
    gs->last_calls = b->calls;
    merge(gs, b);
}

static void
collect_done(GObject *source, GAsyncResult *res, gpointer user_data)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(MomGuestBatch) b = NULL;

    if (!take_result(res, &b, &error))
        return;
    MomGuests *gs = user_data;
    gs->in_flight = FALSE;
    if (!b) {
        /* A lost connection is reported by the connection itself, and a
         * call that was running when libvirt went away fails before the
         * close callback has run; so an error is logged only when the same
         * one comes twice in a row, and not at all during an outage that
         * was warned about (one outage, one warning). */
        if (gs->stall_warned && mom_libvirt_alive(gs->lv) &&
            mom_libvirt_generation(gs->lv) == gs->stall_generation) {
            /* the late call came back, with an error (a lock it waited
             * for): libvirt answers again, the stall is over */
            g_message("The guest statistics call returned, with an error, after %u skipped "
                      "collections: %s",
                      gs->skipped, error->message);
            mom_libvirt_note_unanswered(gs->lv, FALSE);
            gs->skipped = 0;
            gs->stall_warned = gs->stall_lost = FALSE;
        } else if (gs->stall_warned) {
            g_debug("Guest statistics failed while libvirt does not answer: %s", error->message);
        } else if (!g_error_matches(error, MOM_LIBVIRT_ERROR, MOM_LIBVIRT_ERROR_CONNECT)) {
            if (g_strcmp0(gs->last_error, error->message) == 0 && !gs->error_logged) {
                g_warning("Cannot collect guest statistics: %s", error->message);
                gs->error_logged = TRUE;
            } else if (g_strcmp0(gs->last_error, error->message) != 0) {
                g_debug("Guest statistics failed once: %s", error->message);
                gs->error_logged = FALSE;
            }
            g_free(gs->last_error);
            gs->last_error = g_strdup(error->message);
        }
        return;
    }
    gs->error_logged = FALSE;
    g_clear_pointer(&gs->last_error, g_free);
    gs->collections++;
    gs->last_calls = b->calls;
    /* the outage, if one was warned about, is over: said once, here or by
     * the reconnection */
    /* a reconnection in between said that the outage is over */
    gs->stall_lost |= gs->stall_warned && mom_libvirt_generation(gs->lv) != gs->stall_generation;
    if (gs->skipped) {
        if (gs->stall_warned && !gs->stall_lost)
            g_message("Guest statistics are flowing again after %u skipped collections.",
                      gs->skipped);
        else
            g_debug("The guest statistics call returned late; %u collections were skipped.",
                    gs->skipped);
        gs->skipped = 0;
    }
    if (gs->stall_warned)
        mom_libvirt_note_unanswered(gs->lv, FALSE);
    gs->stall_warned = gs->stall_lost = gs->aside_said = FALSE;
    if (!drop_if_late(gs, b))
        merge(gs, b);
}

gboolean
mom_guests_stall_is_news(gint64 running_us, guint interval_s)
{
    return running_us >= (gint64)MAX(interval_s, MOM_GUESTS_STALL_WARN_S) * G_USEC_PER_SEC;
}

/* Starts a collection in a worker: the usual one, or with @aside one on a
 * second connection while the usual one has not returned. */
static void
start_collection(MomGuests *gs, gboolean aside)
{
    GHashTable *known =
        g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)mom_domain_info_free);
    GHashTableIter it;
    gpointer value;
    g_hash_table_iter_init(&it, gs->guests);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        /* shared, not copied: the manager never changes an info, it
         * replaces it with the next collection's */
        MomDomainInfo *info = mom_domain_info_ref(((Guest *)value)->info);
        g_hash_table_insert(known, info->uuid, info);
    }
    g_autoptr(GTask) task = g_task_new(NULL, gs->cancel, aside ? aside_done : collect_done, gs);
    g_object_set_data_full(G_OBJECT(task), "lv", mom_libvirt_ref(gs->lv),
                           (GDestroyNotify)mom_libvirt_unref);
    g_object_set_data(G_OBJECT(task), "aside", GINT_TO_POINTER(aside));
    g_task_set_task_data(task, known, (GDestroyNotify)g_hash_table_unref);
    if (aside) {
        gs->aside_in_flight = TRUE;
    } else {
        gs->in_flight = TRUE;
        gs->started = g_get_monotonic_time();
    }
    g_task_run_in_thread(task, collect_thread);
}

void
mom_guests_tick(MomGuests *gs)
{
    if (!mom_libvirt_connected(gs->lv)) {
        gs->stall_lost |= gs->stall_warned;
        return;
    }
    if (gs->in_flight) {
        gint64 running = g_get_monotonic_time() - gs->started;
        gs->skipped++;
        if (!gs->stall_warned && mom_guests_stall_is_news(running, gs->base.interval)) {
            g_warning("The guest statistics call has not returned for %.0f s; momd collects on "
                      "a second connection until it does.",
                      running / 1e6);
            gs->stall_warned = TRUE;
            gs->stall_generation = mom_libvirt_generation(gs->lv);
            mom_libvirt_note_unanswered(gs->lv, TRUE);
        }
        /* One guest's QEMU that does not answer holds the call (libvirt
         * waits for its balloon statistics, NOWAIT or not): one call at a
         * time on a second connection gets the others, whose jobs are
         * free, and skips that guest, whose job the held call has. */
        if (!gs->aside_in_flight && running >= MOM_GUESTS_ASIDE_AFTER_S * G_USEC_PER_SEC &&
            mom_libvirt_alive(gs->lv))
            start_collection(gs, TRUE);
        return;
    }
    start_collection(gs, FALSE);
}

void
mom_guests_forget(MomGuests *gs, const char *uuid)
{
    Guest *g = g_hash_table_lookup(gs->guests, uuid);

    /* also for a guest not known yet: the collection running now may
     * have seen it before it stopped */
    g_hash_table_insert(gs->stopped, g_strdup(uuid),
                        g_memdup2(&(gint64){g_get_monotonic_time()}, sizeof(gint64)));
    if (!g)
        return;
    g_log_structured(G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "MOM_GUEST", g->info->name, "MESSAGE",
                     "Guest %s stopped; it is dropped.", g->info->name);
    mom_agent_poller_forget(gs->agent, uuid);
    g_hash_table_remove(gs->guests, uuid);
}

static gint
compare_entities(gconstpointer a, gconstpointer b)
{
    return strcmp(mom_entity_name(*(MomEntity *const *)a), mom_entity_name(*(MomEntity *const *)b));
}

GPtrArray *
mom_guests_entities(MomGuests *gs)
{
    GPtrArray *out = g_ptr_array_new();
    GHashTableIter it;
    gpointer value;

    if (!mom_libvirt_connected(gs->lv))
        return out;
    g_hash_table_iter_init(&it, gs->guests);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        Guest *g = value;
        if (mom_monitor_ready(g->monitor))
            g_ptr_array_add(out, mom_monitor_entity(g->monitor));
    }
    /* name order, so a policy sees the guests in the same order every cycle */
    g_ptr_array_sort(out, compare_entities);
    return out;
}

guint
mom_guests_count(const MomGuests *gs)
{
    return g_hash_table_size(gs->guests);
}

guint64
mom_guests_collections(const MomGuests *gs)
{
    return gs->collections;
}

guint
mom_guests_calls(const MomGuests *gs)
{
    return gs->last_calls;
}
