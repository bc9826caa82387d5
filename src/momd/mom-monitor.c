/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "mom-log.h"
#include "mom-monitor.h"
#include "mom-plot.h"

/* A failing collector is retried after 1, 2, 4 ... intervals, at most this
 * many seconds apart, as collectd backs off a failing read plugin. */
#define MAX_BACKOFF_SECONDS 300

/* Failed collections by collector name, for every monitor of the process
 * (guest monitors come and go; the count stays): the metrics' counter. */
static GMutex failures_lock;
static GHashTable *failure_totals; /* name (static, the class's) -> guint64 * */

static void
count_failure(const char *collector)
{
    g_mutex_lock(&failures_lock);
    if (!failure_totals)
        failure_totals = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);
    guint64 *n = g_hash_table_lookup(failure_totals, collector);
    if (!n) {
        n = g_new0(guint64, 1);
        g_hash_table_insert(failure_totals, (gpointer)collector, n);
    }
    (*n)++;
    g_mutex_unlock(&failures_lock);
}

void
mom_monitor_foreach_failure(MomMonitorFailureFunc func, gpointer data)
{
    g_mutex_lock(&failures_lock);
    if (failure_totals) {
        GHashTableIter it;
        gpointer key, value;
        g_hash_table_iter_init(&it, failure_totals);
        while (g_hash_table_iter_next(&it, &key, &value))
            func(key, *(guint64 *)value, data);
    }
    g_mutex_unlock(&failures_lock);
}

typedef struct {
    const MomCollectorClass *klass;
    gpointer state;
    MomSchema *schema; /* this collector's own fields */
    const int *to_row; /* per field of @schema: its index in the monitor's schema (shared) */
    guint failures;
    gint64 retry_at; /* monotonic µs; 0 = now */
} Source;

struct _MomMonitor {
    char *name;
    GArray *sources; /* Source */
    MomSchema *schema;
    guint n_mandatory; /* the schema's first fields are the mandatory ones */
    MomEntity *entity;
    guint interval;
    gboolean ready;
    gboolean was_ready;      /* for logging "ready" once per transition */
    gboolean said_unready;   /* for logging "not ready" once per transition */
    guint unready_runs;      /* incomplete samples in a row */
    gint64 unready_since;    /* monotonic µs of the first of them */
    gboolean warned_unready; /* past unready_grace_s: warned once */
    int unready_grace_s;
    MomPlotFile *plot;
    guint *plot_order; /* schema indices in name order, MOM's column order */
};

static void
source_clear(gpointer p)
{
    Source *s = p;
    if (s->state && s->klass->free)
        s->klass->free(s->state);
    if (s->schema)
        mom_schema_unref(s->schema);
}

static void
add_fields(GPtrArray *names, GHashTable *seen, const char *const *fields)
{
    for (guint i = 0; fields && fields[i]; i++)
        if (g_hash_table_add(seen, (gpointer)fields[i]))
            g_ptr_array_add(names, (gpointer)fields[i]);
}

static int
compare_names(gconstpointer a, gconstpointer b, gpointer schema)
{
    return strcmp(mom_schema_field(schema, *(const guint *)a),
                  mom_schema_field(schema, *(const guint *)b));
}

/*
 * MOM's file names: HostMonitor.dat, GuestMonitor-NAME.dat.  A guest named
 * "host" has a file of its own, and the name is escaped so that it stays
 * one file name in the plot directory ("a/b" is GuestMonitor-a\x2fb.dat).
 */
static char *
plot_file_name(MomEntityKind kind, const char *name)
{
    g_autofree char *safe = NULL;

    if (kind == MOM_ENTITY_HOST)
        return g_strdup("HostMonitor.dat");
    safe = mom_log_escape(name, MOM_LOG_ESCAPE_NAME | MOM_LOG_ESCAPE_SLASH);
    return g_strdup_printf("GuestMonitor-%s.dat", safe);
}

static void
plot_open(MomMonitor *m, MomEntityKind kind, MomPlotDir *plot_dir)
{
    g_autofree char *file = plot_file_name(kind, m->name);
    g_autoptr(GString) header = g_string_new("# time\t");
    g_autoptr(GError) error = NULL;
    guint n = mom_schema_n_fields(m->schema);

    m->plot_order = g_new(guint, MAX(n, 1));
    for (guint i = 0; i < n; i++)
        m->plot_order[i] = i;
    g_qsort_with_data(m->plot_order, (gint)n, sizeof(guint), compare_names, m->schema);
    for (guint i = 0; i < n; i++)
        g_string_append_printf(header, "%s%s", i ? "\t " : " ",
                               mom_schema_field(m->schema, m->plot_order[i]));
    g_string_append_c(header, '\n');
    m->plot = mom_plot_file_open(plot_dir, file, "the plot file", header->str, &error);
    if (error) {
        g_autofree char *name = mom_log_escape(m->name, MOM_LOG_ESCAPE_NAME);
        g_warning("%s The samples of %s are not plotted until momd can write it; it says so "
                  "then.",
                  error->message, name);
    }
}

/* Rows up to this many fields are built on the stack (a guest has about 25). */
#define STACK_ROW 64

/*
 * Schemas by what they are made from: every guest has the same collectors,
 * so the same fields, and one schema (its names and their hash table, about
 * 2 KiB with a collector's own) serves them all instead of one per guest.
 * The collectors are set at start, so the table holds a few schemas for the
 * life of the process.
 */
static GMutex shared_lock;
static GHashTable *shared_schemas; /* "KIND:COLLECTORS" -> MomSchema */
static GHashTable *shared_rows;    /* "KIND:COLLECTORS:COLLECTOR" -> int[] (to_row) */

/* Returns: (transfer full) the schema of @names, made once per @kind and @what. */
static MomSchema *
shared_schema(const char *kind, const char *what, GPtrArray *names)
{
    g_autofree char *key = g_strconcat(kind, ":", what, NULL);
    MomSchema *schema;

    g_mutex_lock(&shared_lock);
    if (!shared_schemas)
        shared_schemas = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                               (GDestroyNotify)mom_schema_unref);
    schema = g_hash_table_lookup(shared_schemas, key);
    if (!schema) {
        schema = mom_schema_new((const char *const *)names->pdata, names->len);
        g_hash_table_insert(shared_schemas, g_steal_pointer(&key), schema);
    }
    mom_schema_ref(schema);
    g_mutex_unlock(&shared_lock);
    return schema;
}

/* Returns: (transfer none) where each field of @own goes in @schema, made
 * once per monitor schema (@key) and collector, like the schemas. */
static const int *
shared_to_row(const char *key, MomSchema *schema, GPtrArray *own)
{
    int *to_row;

    g_mutex_lock(&shared_lock);
    if (!shared_rows)
        shared_rows = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    to_row = g_hash_table_lookup(shared_rows, key);
    if (!to_row) {
        to_row = g_new(int, MAX(own->len, 1));
        for (guint f = 0; f < own->len; f++)
            to_row[f] = mom_schema_lookup(schema, own->pdata[f]);
        g_hash_table_insert(shared_rows, g_strdup(key), to_row);
    }
    g_mutex_unlock(&shared_lock);
    return to_row;
}

MomMonitor *
mom_monitor_new(MomEntityKind kind, const char *name, char **collectors,
                const MomCollectorConfig *cfg, guint history, MomPlotDir *plot_dir, GError **error)
{
    g_autoptr(GPtrArray) names = g_ptr_array_new();
    g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
    MomMonitor *m = g_new0(MomMonitor, 1);
    m->unready_grace_s = MOM_MONITOR_UNREADY_GRACE_S;

    m->name = g_strdup(name);
    m->interval = MAX(cfg->interval, 1);
    m->sources = g_array_new(FALSE, TRUE, sizeof(Source));
    g_array_set_clear_func(m->sources, source_clear);

    for (guint i = 0; collectors && collectors[i]; i++) {
        const MomCollectorClass *k = mom_collector_lookup(collectors[i]);
        if (!k) {
            g_autoptr(GString) known = g_string_new(NULL);
            for (guint j = 0; mom_collector_classes[j]; j++)
                g_string_append_printf(known, "%s%s", j ? ", " : "",
                                       mom_collector_classes[j]->name);
            g_set_error(error, MOM_COLLECTOR_ERROR, MOM_COLLECTOR_ERROR_CONFIG,
                        "The collector '%s' configured for %s does not exist; the known "
                        "collectors are %s.",
                        collectors[i], name, known->str);
            mom_monitor_free(m);
            return NULL;
        }
        /* Mandatory fields first, so a field is mandatory if any collector
         * requires it (MOM removes mandatory fields from the optional set). */
        add_fields(names, seen, k->fields);
    }
    guint n_mandatory = names->len;
    for (guint i = 0; collectors && collectors[i]; i++)
        add_fields(names, seen, mom_collector_lookup(collectors[i])->optional_fields);
    g_autofree char *all = collectors ? g_strjoinv(",", collectors) : g_strdup("");
    const char *kind_name = kind == MOM_ENTITY_HOST ? "host" : "guest";
    m->schema = shared_schema(kind_name, all, names);
    m->n_mandatory = n_mandatory;

    for (guint i = 0; collectors && collectors[i]; i++) {
        const MomCollectorClass *k = mom_collector_lookup(collectors[i]);
        g_autoptr(GPtrArray) own = g_ptr_array_new();
        g_autoptr(GHashTable) own_seen = g_hash_table_new(g_str_hash, g_str_equal);
        g_autofree char *section = g_strdup_printf("Collector: %s", k->name);
        MomCollectorConfig c = *cfg;
        Source s = {k, NULL, NULL, NULL, 0, 0};
        g_autofree char *rows_key = g_strdup_printf("%s:%s:%s", kind_name, all, k->name);

        add_fields(own, own_seen, k->fields);
        add_fields(own, own_seen, k->optional_fields);
        s.schema = shared_schema("collector", k->name, own);
        /* looked up once, not for every field of every sample */
        s.to_row = shared_to_row(rows_key, m->schema, own);
        c.section = section;
        s.state = k->init(&c, error);
        if (!s.state) {
            source_clear(&s);
            g_prefix_error(error, "%s: ", k->name);
            mom_monitor_free(m);
            return NULL;
        }
        g_array_append_val(m->sources, s);
    }
    m->entity = mom_entity_new(kind, name, m->schema, history);
    if (plot_dir)
        plot_open(m, kind, plot_dir);
    return m;
}

void
mom_monitor_free(MomMonitor *m)
{
    if (!m)
        return;
    mom_plot_file_free(m->plot);
    g_free(m->plot_order);
    g_array_free(m->sources, TRUE);
    mom_entity_free(m->entity);
    if (m->schema)
        mom_schema_unref(m->schema);
    g_free(m->name);
    g_free(m);
}

static void
plot_row(MomMonitor *m, const MomValue *row)
{
    g_autoptr(GString) line = g_string_new(NULL);
    g_autoptr(GString) cell = g_string_new(NULL);
    char buf[32];

    g_string_append(line, mom_format_double(g_get_real_time() / 1e6, buf));
    for (guint i = 0; i < mom_schema_n_fields(m->schema); i++) {
        const MomValue *v = &row[m->plot_order[i]];
        g_string_append_c(line, '\t');
        if (v->type == MOM_VALUE_NIL) {
            g_string_append(line, "None"); /* what MOM's plot files hold */
        } else {
            /* a disk's name in a record must not break the row or the columns */
            g_string_truncate(cell, 0);
            mom_value_repr(v, FALSE, cell);
            mom_log_escape_append(line, cell->str, (gssize)cell->len, MOM_LOG_ESCAPE_TEXT);
        }
    }
    g_string_append_c(line, '\n');
    mom_plot_file_write(m->plot, line->str, line->len);
}

/* Every field of @sample back to nil, for its next collect(). */
static void
sample_empty(MomSample *sample, guint n)
{
    for (guint f = 0; f < n; f++)
        mom_value_clear(&sample->values[f]);
}

static gboolean
collect_source(MomMonitor *m, Source *s, MomValue *row, gint64 now)
{
    if (s->retry_at > now)
        return FALSE;

    g_autoptr(GError) error = NULL;
    guint n = mom_schema_n_fields(s->schema);
    /* on the stack: one per monitor and collector was 0.45 KiB a guest */
    MomValue stack_values[STACK_ROW] = {0};
    g_autofree MomValue *heap_values = n > STACK_ROW ? g_new0(MomValue, n) : NULL;
    MomSample sample = {s->schema, heap_values ? heap_values : stack_values};
    if (!s->klass->collect(s->state, &sample, &error)) {
        sample_empty(&sample, n);
        guint backoff = MIN(m->interval << MIN(s->failures, 16u), MAX_BACKOFF_SECONDS);
        s->retry_at = now + (gint64)backoff * G_USEC_PER_SEC;
        const char *why = error ? error->message : "no reason was given";
        count_failure(s->klass->name);
        if (s->failures++ == 0)
            g_warning("The %s collector of %s failed: %s%s Retrying with back-off (next in %u s).",
                      s->klass->name, m->name, why, mom_collector_full_stop(why), backoff);
        return FALSE;
    }
    if (s->failures > 0)
        g_message("The %s collector of %s recovered after %u failed attempts.", s->klass->name,
                  m->name, s->failures);
    s->failures = 0;
    s->retry_at = 0;
    /* First collector wins: fill only fields still empty, moving the value. */
    for (guint f = 0; f < n; f++) {
        MomValue *v = &sample.values[f];
        int at = s->to_row[f];
        if (at >= 0 && row[at].type == MOM_VALUE_NIL && v->type != MOM_VALUE_NIL) {
            row[at] = *v;
            *v = mom_value_nil();
        }
    }
    sample_empty(&sample, n);
    return TRUE;
}

/*
 * Records a collector hands over (a guest's io_tune disks) have setters
 * that set controls of the entity they describe, which the collector does
 * not know: the sampled entity owns every record of its sample, nested
 * ones included.  The records are new each sample, so nothing shared is
 * touched.
 */
static void
adopt_records(const MomValue *v, MomEntity *owner)
{
    if (v->type == MOM_VALUE_LIST) {
        for (guint i = 0; i < mom_value_list_length(v); i++)
            adopt_records(mom_value_list_get(v, i), owner);
    } else if (v->type == MOM_VALUE_RECORD) {
        mom_record_set_owner(v->u.r, owner);
        for (guint i = 0; i < mom_record_n_members(v->u.r); i++) {
            const MomValue *member;
            mom_record_member(v->u.r, i, &member);
            adopt_records(member, owner);
        }
    }
}

/* The mandatory fields @row lacks, comma-separated, or NULL when none. */
static char *
missing_fields(MomMonitor *m, const MomValue *row, guint n)
{
    GString *missing = NULL;

    for (guint i = 0; i < n; i++) {
        if (i >= m->n_mandatory || row[i].type != MOM_VALUE_NIL)
            continue;
        if (!missing)
            missing = g_string_new(NULL);
        g_string_append_printf(missing, "%s%s", missing->len ? ", " : "",
                               mom_schema_field(m->schema, i));
    }
    return missing ? g_string_free(missing, FALSE) : NULL;
}

gboolean
mom_monitor_collect(MomMonitor *m)
{
    guint n = mom_schema_n_fields(m->schema);
    MomValue stack_row[STACK_ROW] = {0};
    g_autofree MomValue *heap_row = n > STACK_ROW ? g_new0(MomValue, n) : NULL;
    MomValue *row = heap_row ? heap_row : stack_row;
    gint64 now = g_get_monotonic_time();

    for (guint i = 0; i < m->sources->len; i++)
        collect_source(m, &g_array_index(m->sources, Source, i), row, now);
    g_autofree char *missing = missing_fields(m, row, n);

    m->ready = missing == NULL;
    if (!m->ready) {
        gboolean guest = mom_entity_kind(m->entity) == MOM_ENTITY_GUEST;
        if (m->unready_runs++ == 0)
            m->unready_since = now;
        if (!guest && !m->said_unready) {
            g_warning("%s is not ready: its sample lacks the mandatory fields %s.", m->name,
                      missing);
            m->said_unready = TRUE;
        } else if (guest && m->unready_runs == 3 && !m->said_unready) {
            /* A guest that has just booted reports no balloon statistics
             * yet, and one whose QEMU is busy (a balloon change) misses a
             * sample now and then: both are normal.  Said at INFO after
             * three samples; a warning only if it lasts. */
            g_message("%s is not ready yet: its sample lacks the mandatory fields %s; momd "
                      "warns if it is still so after %d s.",
                      m->name, missing, m->unready_grace_s);
            m->said_unready = TRUE;
        } else if (guest && !m->warned_unready &&
                   now - m->unready_since >= (gint64)m->unready_grace_s * G_USEC_PER_SEC) {
            g_warning("%s has not been ready for %.0f s: its sample lacks the mandatory fields "
                      "%s.",
                      m->name, (now - m->unready_since) / 1e6, missing);
            m->warned_unready = TRUE;
        } else {
            g_debug("%s: incomplete sample, missing %s.", m->name, missing);
        }
        m->was_ready = FALSE;
        for (guint i = 0; i < n; i++)
            mom_value_clear(&row[i]);
        return FALSE;
    }
    if (!m->was_ready && (m->said_unready || mom_entity_n_samples(m->entity) == 0))
        g_message("%s is ready.", m->name);
    m->was_ready = TRUE;
    m->said_unready = FALSE;
    m->warned_unready = FALSE;
    m->unready_runs = 0;
    if (m->plot)
        plot_row(m, row);
    for (guint i = 0; i < n; i++)
        adopt_records(&row[i], m->entity);
    mom_entity_push_sample(m->entity, row); /* takes the values */
    return TRUE;
}

gboolean
mom_monitor_ready(const MomMonitor *m)
{
    return m->ready;
}

MomEntity *
mom_monitor_entity(const MomMonitor *m)
{
    return m->entity;
}

void
mom_monitor_set_interval(MomMonitor *m, guint interval)
{
    m->interval = MAX(interval, 1);
}

void
mom_monitor_set_unready_grace(MomMonitor *m, int seconds)
{
    m->unready_grace_s = seconds;
}
