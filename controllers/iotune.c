/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The IoTune controller: applies each guest's per-disk I/O limit controls
 * "io_tune.<disk>.<limit>" (set by the setters of the guest.io_tune
 * records, or by (guest.Control ...)) through
 * MomHypervisorOps.set_block_iotune, i.e. virDomainSetBlockIoTune(LIVE).
 *
 * As MOM's controller: a disk's limits are compared with its current ones
 * (the "current" record of the disk in guest.io_tune_current, else
 * guest.io_tune), a limit the policy did not set keeps its current value,
 * and only disks whose limits differ are changed, with all six limits in
 * one call (libvirt resets the unnamed limits of a group it is given).
 * Limits are whole numbers >= 0 per second (0: no limit); floats are
 * truncated; anything else (nil, a string, a negative number) is ignored
 * with one warning per guest naming the policy location.
 *
 * The current limits are read back only at the collection after a change,
 * so a policy cycle in between still sees the old ones and asks again:
 * such a request, equal to the change just made and judged on a sample
 * taken before it returned, is not repeated (as CpuTune does).
 *
 * The calls run in a small thread pool, at most one job (the guest's
 * changed disks, one after the other) per guest: a guest whose QEMU is
 * stuck must not hold the others.
 */
#include "config.h"

#include <string.h>

#include "iotune-priv.h"
#include "controller-guest.h"
#include "mom-controller.h"

#define IOTUNE_THREADS 2
#define IOTUNE_PREFIX "io_tune."
#define IOTUNE_N_KEYS MOM_IOTUNE_N_LIMITS

#define iotune_log(...) mom_guest_ctl_log("IoTune", __VA_ARGS__)

/* In the order of MomHypervisorOps.set_block_iotune's @limits. */
static const char *const iotune_keys[IOTUNE_N_KEYS] = {
    "total_bytes_sec", "read_bytes_sec", "write_bytes_sec",
    "total_iops_sec",  "read_iops_sec",  "write_iops_sec",
};

/* The last change made to one disk, under MomIoTune.ctl.jobs.lock. */
typedef struct {
    gboolean ok;
    gint64 limits[IOTUNE_N_KEYS];
    gint64 done_at; /* monotonic µs when it returned */
} IoTuneLast;

/* What the controller remembers of one guest, after the shared part. */
typedef struct {
    MomGuestEntry base;
    MomIoTuneState st; /* main loop only */
    /* under MomIoTune.ctl.jobs.lock */
    GHashTable *last; /* disk -> IoTuneLast */
} IoTuneGuest;

/* One disk to change. */
typedef struct {
    char *disk;
    gint64 limits[IOTUNE_N_KEYS];
    char *change; /* "total_bytes_sec 0 → 1000 (F:L:C), ..." */
} IoTuneChange;

/* The set_block_iotune calls of one guest, one per changed disk. */
typedef struct {
    MomGuestJob base;
    GPtrArray *changes; /* IoTuneChange */
} IoTuneJob;

struct _MomIoTune {
    MomGuestCtl ctl;
};

static void
guest_init(MomGuestEntry *g)
{
    ((IoTuneGuest *)g)->last = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
}

static void
guest_clear(MomGuestEntry *g)
{
    g_hash_table_destroy(((IoTuneGuest *)g)->last);
}

static void
change_free(gpointer data)
{
    IoTuneChange *c = data;
    g_free(c->disk);
    g_free(c->change);
    g_free(c);
}

static void
job_clear(MomGuestJob *job)
{
    g_ptr_array_free(((IoTuneJob *)job)->changes, TRUE);
}

/* Runs the job's set_block_iotune calls on a pool thread.  Returns: whether all succeeded. */
static gboolean
iotune_work(MomGuestCtl *ctl, MomGuestJob *base)
{
    IoTuneJob *job = (IoTuneJob *)base;
    IoTuneGuest *g = (IoTuneGuest *)base->guest;
    gboolean all_ok = TRUE;

    for (guint i = 0; i < job->changes->len; i++) {
        IoTuneChange *c = job->changes->pdata[i];
        g_autoptr(GError) error = NULL;
        gboolean ok =
            ctl->hv.set_block_iotune(ctl->hv.hv, g->base.uuid, c->disk, c->limits, &error);
        gboolean report = mom_guest_ctl_note_call(ctl, &g->base, base->name, ok, error);

        g_mutex_lock(&ctl->jobs.lock);
        IoTuneLast *last = g_hash_table_lookup(g->last, c->disk);
        if (!last) {
            last = g_new0(IoTuneLast, 1);
            g_hash_table_insert(g->last, g_strdup(c->disk), last);
        }
        last->ok = ok;
        memcpy(last->limits, c->limits, sizeof(last->limits));
        last->done_at = g_get_monotonic_time();
        g_mutex_unlock(&ctl->jobs.lock);

        if (ok)
            iotune_log(G_LOG_LEVEL_MESSAGE, base->name, "guest %s: disk %s: %s", base->name,
                       c->disk, c->change);
        else if (report)
            iotune_log(G_LOG_LEVEL_WARNING, base->name, "guest %s: disk %s: cannot set %s: %s",
                       base->name, c->disk, c->change,
                       error ? error->message : "the hypervisor gave no reason");
        all_ok = all_ok && ok;
    }
    return all_ok;
}

static const MomGuestCtlClass iotune_class = {
    .name = "IoTune",
    .changes = "I/O limits",
    .change = "I/O limit change",
    .threads = IOTUNE_THREADS,
    .entry_size = sizeof(IoTuneGuest),
    .entry_init = guest_init,
    .entry_clear = guest_clear,
    .work = iotune_work,
    .job_clear = job_clear,
};

void
mom_iotune_wait_idle(MomIoTune *t)
{
    mom_jobs_wait_idle(&t->ctl.jobs);
}

static gpointer
iotune_init(const MomControllerConfig *cfg, GError **error)
{
    return mom_guest_ctl_new(&iotune_class, sizeof(MomIoTune), cfg,
                             cfg->hypervisor && cfg->hypervisor->set_block_iotune, error);
}

/* The record of @disk in the newest value of @field (a list of records
 * with "name"), or NULL. */
static const MomRecord *
find_disk_record(MomEntity *e, const char *field, const char *disk)
{
    int i = mom_schema_lookup(mom_entity_schema(e), field);

    if (i < 0)
        return NULL;
    const MomValue *list = mom_entity_stat(e, (guint)i);
    if (list->type != MOM_VALUE_LIST)
        return NULL;
    for (guint j = 0; j < mom_value_list_length(list); j++) {
        const MomValue *item = mom_value_list_get(list, j);
        if (item->type != MOM_VALUE_RECORD)
            continue;
        const MomValue *name = mom_record_get(item->u.r, "name");
        if (name && name->type == MOM_VALUE_STRING && strcmp(mom_value_string_get(name), disk) == 0)
            return item->u.r;
    }
    return NULL;
}

/* @disk's current limits from the guest's newest sample. */
static gboolean
current_limits(MomEntity *e, const char *disk, gint64 out[IOTUNE_N_KEYS])
{
    const MomRecord *r = find_disk_record(e, "io_tune_current", disk);

    if (!r)
        r = find_disk_record(e, "io_tune", disk);
    const MomValue *cur = r ? mom_record_get(r, "current") : NULL;
    if (!cur || cur->type != MOM_VALUE_RECORD)
        return FALSE;
    for (guint k = 0; k < IOTUNE_N_KEYS; k++) {
        const MomValue *v = mom_record_get(cur->u.r, iotune_keys[k]);
        if (!v || v->type != MOM_VALUE_INT)
            return FALSE;
        out[k] = v->u.i;
    }
    return TRUE;
}

static int
key_index(const char *key)
{
    for (int k = 0; k < IOTUNE_N_KEYS; k++)
        if (strcmp(iotune_keys[k], key) == 0)
            return k;
    return -1;
}

MomIoTuneParse
mom_iotune_parse_control(const MomControl *c, char **disk, guint *limit, gint64 *value)
{
    if (!g_str_has_prefix(c->name, IOTUNE_PREFIX))
        return MOM_IOTUNE_PARSE_NOT_LIMIT;
    const char *rest = c->name + strlen(IOTUNE_PREFIX);
    const char *dot = strrchr(rest, '.');
    int k = dot && dot > rest ? key_index(dot + 1) : -1;
    if (k < 0)
        return MOM_IOTUNE_PARSE_NOT_LIMIT;
    *disk = g_strndup(rest, (gsize)(dot - rest));
    *limit = (guint)k;
    gint64 v;
    if (!mom_control_as_int(&c->value, &v) || v < 0)
        return MOM_IOTUNE_PARSE_BAD_VALUE;
    *value = v;
    return MOM_IOTUNE_PARSE_OK;
}

/* What is about to change, with where each value was asked for. */
static char *
describe(const MomIoTuneDiskInput *di, const gint64 limits[IOTUNE_N_KEYS])
{
    GString *s = g_string_new(NULL);

    for (guint k = 0; k < IOTUNE_N_KEYS; k++) {
        if (limits[k] == di->cur[k])
            continue;
        const MomControl *c = di->controls[k];
        g_string_append_printf(s, "%s%s %" G_GINT64_FORMAT " → %" G_GINT64_FORMAT " (%s:%d:%d)",
                               s->len ? ", " : "", iotune_keys[k], di->cur[k], limits[k], c->file,
                               c->line, c->col);
    }
    return g_string_free(s, FALSE);
}

/* Decides one disk up to whether it changes; TRUE when it does. */
static gboolean
decide_disk(const MomIoTuneDiskInput *di, MomIoTuneDiskDecision *d)
{
    gboolean any = FALSE;

    for (guint k = 0; k < IOTUNE_N_KEYS; k++)
        any |= di->valid[k];
    if (!any) {
        d->action = MOM_IOTUNE_ALL_BAD; /* the bad controls have their outcomes */
        return FALSE;
    }
    if (!di->have_cur) {
        d->action = MOM_IOTUNE_UNKNOWN;
        d->outcome = g_strdup("ignored: the disk's current limits are unknown");
        return FALSE;
    }
    for (guint k = 0; k < IOTUNE_N_KEYS; k++)
        d->limits[k] = di->valid[k] ? di->wanted[k] : di->cur[k];
    if (memcmp(d->limits, di->cur, sizeof(d->limits)) == 0) {
        d->action = MOM_IOTUNE_UNCHANGED;
        d->outcome = g_strdup("unchanged");
        return FALSE;
    }
    if (di->last_ok && memcmp(di->last, d->limits, sizeof(d->limits)) == 0 && di->predates) {
        d->action = MOM_IOTUNE_JUST_SET;
        d->outcome = g_strdup("unchanged: just set; waiting for the disk's new limits");
        return FALSE;
    }
    d->change = describe(di, d->limits);
    return TRUE;
}

void
mom_iotune_decision_clear(MomIoTuneDecision *d)
{
    for (guint i = 0; d->disks && i < d->n_disks; i++) {
        g_free(d->disks[i].change);
        g_free(d->disks[i].outcome);
    }
    g_clear_pointer(&d->disks, g_free);
    d->n_disks = 0;
}

void
mom_iotune_decide(const MomIoTuneState *state, const MomIoTuneInput *in, MomIoTuneDecision *out)
{
    gboolean unknown = FALSE;

    memset(out, 0, sizeof(*out));
    out->disks = g_new0(MomIoTuneDiskDecision, MAX(in->n_disks, 1));
    out->n_disks = in->n_disks;
    for (guint i = 0; i < in->n_disks; i++) {
        MomIoTuneDiskDecision *d = &out->disks[i];
        if (!decide_disk(&in->disks[i], d)) {
            unknown |= d->action == MOM_IOTUNE_UNKNOWN;
            continue;
        }
        out->n_changes++;
        if (in->dry_run) {
            d->action = MOM_IOTUNE_DRY_RUN;
            d->outcome = g_strdup_printf("dry run: would set %s", d->change);
        } else if (in->in_flight) {
            d->action = MOM_IOTUNE_BUSY;
            d->outcome = g_strdup("skipped: the previous change is running");
        } else {
            d->action = MOM_IOTUNE_SET;
            d->outcome = g_strdup_printf("requested %s", d->change);
        }
    }
    /* one warning per guest while its policy keeps giving bad values, or
     * asks for disks whose limits are unknown */
    out->warn_bad = in->n_bad > 0 && !state->bad_reported;
    out->warn_unknown = unknown && !state->unknown_reported;
    out->state.bad_reported = in->n_bad > 0;
    out->state.unknown_reported = unknown;
}

/* A control that is not a limit, or not a valid one. */
typedef struct {
    const MomControl *control;
    MomIoTuneParse why;
} BadControl;

/* This cycle's view of the guest: its io_tune.* controls grouped by disk,
 * the bad ones aside, and each disk's current and last limits. */
typedef struct {
    GArray *disks;    /* MomIoTuneDiskInput */
    GPtrArray *names; /* the disks' names, owned */
    GArray *bad;      /* BadControl */
} IoTuneView;

static void
view_clear(IoTuneView *v)
{
    g_clear_pointer(&v->disks, g_array_unref);
    g_clear_pointer(&v->names, g_ptr_array_unref);
    g_clear_pointer(&v->bad, g_array_unref);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(IoTuneView, view_clear)

static MomIoTuneDiskInput *
view_disk(IoTuneView *v, char *disk)
{
    for (guint j = 0; j < v->names->len; j++)
        if (strcmp(v->names->pdata[j], disk) == 0) {
            g_free(disk);
            return &g_array_index(v->disks, MomIoTuneDiskInput, j);
        }
    MomIoTuneDiskInput di = {0};
    g_ptr_array_add(v->names, disk);
    g_array_append_val(v->disks, di);
    return &g_array_index(v->disks, MomIoTuneDiskInput, v->disks->len - 1);
}

static void
iotune_input(MomIoTune *t, IoTuneGuest *g, MomEntity *e, IoTuneView *v, MomIoTuneInput *in)
{
    v->disks = g_array_new(FALSE, TRUE, sizeof(MomIoTuneDiskInput));
    v->names = g_ptr_array_new_with_free_func(g_free);
    v->bad = g_array_new(FALSE, TRUE, sizeof(BadControl));
    for (guint i = 0; i < mom_entity_n_controls(e); i++) {
        const MomControl *c = mom_entity_control(e, i);
        char *disk = NULL;
        guint k = 0;
        gint64 value = 0;

        if (!g_str_has_prefix(c->name, IOTUNE_PREFIX))
            continue;
        MomIoTuneParse why = mom_iotune_parse_control(c, &disk, &k, &value);
        if (why != MOM_IOTUNE_PARSE_OK) {
            BadControl bc = {c, why};
            g_array_append_val(v->bad, bc);
        }
        if (why == MOM_IOTUNE_PARSE_NOT_LIMIT)
            continue;
        MomIoTuneDiskInput *di = view_disk(v, disk);
        di->controls[k] = c;
        di->valid[k] = why == MOM_IOTUNE_PARSE_OK;
        di->wanted[k] = value;
    }
    g_autofree gint64 *done_at = g_new0(gint64, v->disks->len + 1);
    g_mutex_lock(&t->ctl.jobs.lock);
    in->in_flight = g->base.in_flight;
    for (guint i = 0; i < v->disks->len; i++) {
        MomIoTuneDiskInput *di = &g_array_index(v->disks, MomIoTuneDiskInput, i);
        IoTuneLast *last = g_hash_table_lookup(g->last, v->names->pdata[i]);
        di->last_ok = last && last->ok;
        if (last)
            memcpy(di->last, last->limits, sizeof(di->last));
        done_at[i] = last ? last->done_at : 0;
    }
    g_mutex_unlock(&t->ctl.jobs.lock);
    for (guint i = 0; i < v->disks->len; i++) {
        MomIoTuneDiskInput *di = &g_array_index(v->disks, MomIoTuneDiskInput, i);
        di->disk = v->names->pdata[i];
        di->have_cur = current_limits(e, di->disk, di->cur);
        di->predates = mom_guest_ctl_sample_predates(e, done_at[i]);
    }
    in->disks = (const MomIoTuneDiskInput *)(gpointer)v->disks->data;
    in->n_disks = v->disks->len;
    in->n_bad = v->bad->len;
    in->dry_run = t->ctl.dry_run;
}

/* Logs and marks a control that is not a limit or not a valid one. */
static void
report_bad(MomEntity *e, const BadControl *bc, gboolean warn)
{
    const char *name = mom_entity_name(e);
    const MomControl *c = bc->control;

    if (bc->why == MOM_IOTUNE_PARSE_NOT_LIMIT) {
        if (warn)
            iotune_log(G_LOG_LEVEL_WARNING, name,
                       "guest %s: ignoring the control %s set at %s:%d:%d: it is not "
                       "io_tune.DISK.LIMIT with LIMIT one of total_bytes_sec, read_bytes_sec, "
                       "write_bytes_sec, total_iops_sec, read_iops_sec, write_iops_sec.",
                       name, c->name, c->file, c->line, c->col);
        mom_entity_set_outcome(e, c->name, "ignored: not an I/O limit");
        return;
    }
    if (warn) {
        g_autoptr(GString) repr = g_string_new(NULL);
        mom_value_repr(&c->value, TRUE, repr);
        iotune_log(G_LOG_LEVEL_WARNING, name,
                   "guest %s: ignoring %s = %s set at %s:%d:%d: an I/O limit must be a whole "
                   "number >= 0 (0: no limit).",
                   name, c->name, repr->str, c->file, c->line, c->col);
    }
    mom_entity_set_outcome(e, c->name, "ignored: not a number >= 0");
}

/* Decides this cycle's changes for one guest, then logs them and queues the job. */
static void
iotune_guest(MomIoTune *t, IoTuneGuest *g, MomEntity *e)
{
    const char *name = mom_entity_name(e);
    g_auto(IoTuneView) v = {0};
    MomIoTuneInput in = {0};
    g_auto(MomIoTuneDecision) d = {0};

    iotune_input(t, g, e, &v, &in);
    mom_iotune_decide(&g->st, &in, &d);
    g->st = d.state;
    for (guint i = 0; i < v.bad->len; i++)
        report_bad(e, &g_array_index(v.bad, BadControl, i), d.warn_bad);
    for (guint i = 0; i < d.n_disks; i++) {
        const MomIoTuneDiskInput *di = &in.disks[i];
        const MomIoTuneDiskDecision *dd = &d.disks[i];
        if (dd->action == MOM_IOTUNE_UNKNOWN && d.warn_unknown) {
            const MomControl *c = NULL;
            for (guint k = 0; k < IOTUNE_N_KEYS && !c; k++)
                c = di->valid[k] ? di->controls[k] : NULL;
            iotune_log(G_LOG_LEVEL_WARNING, name,
                       "guest %s: ignoring %s set at %s:%d:%d: the current limits of disk "
                       "%s are unknown (the guest has no such disk with I/O metadata, or "
                       "the GuestIoTune collector is not configured).",
                       name, c->name, c->file, c->line, c->col, di->disk);
        }
        /* on each control of the disk that had a usable value (the others
         * keep their "ignored") */
        for (guint k = 0; dd->outcome && k < IOTUNE_N_KEYS; k++)
            if (di->controls[k] && di->valid[k])
                mom_entity_set_outcome(e, di->controls[k]->name, dd->outcome);
    }
    if (d.n_changes == 0)
        return;
    if (in.dry_run) {
        for (guint i = 0; i < d.n_disks; i++) {
            const MomIoTuneDiskDecision *dd = &d.disks[i];
            if (dd->action == MOM_IOTUNE_DRY_RUN &&
                mom_guest_ctl_dry_run_news(&t->ctl, &g->base, in.disks[i].disk, dd->change))
                iotune_log(G_LOG_LEVEL_MESSAGE, name,
                           "guest %s: disk %s: %s would be set (dry run)", name, in.disks[i].disk,
                           dd->change);
        }
        return;
    }
    if (mom_guest_ctl_skip_busy(&t->ctl, &g->base, name, in.in_flight))
        return;

    IoTuneJob *job = g_new0(IoTuneJob, 1);
    job->changes = g_ptr_array_new_with_free_func(change_free);
    for (guint i = 0; i < d.n_disks; i++) {
        MomIoTuneDiskDecision *dd = &d.disks[i];
        if (dd->action != MOM_IOTUNE_SET)
            continue;
        IoTuneChange *ch = g_new0(IoTuneChange, 1);
        ch->disk = g_strdup(in.disks[i].disk);
        memcpy(ch->limits, dd->limits, sizeof(ch->limits));
        ch->change = g_steal_pointer(&dd->change);
        g_ptr_array_add(job->changes, ch);
    }
    mom_guest_ctl_queue(&t->ctl, &g->base, name, &job->base);
}

static gboolean
has_iotune_control(MomEntity *e)
{
    for (guint i = 0; i < mom_entity_n_controls(e); i++)
        if (g_str_has_prefix(mom_entity_control(e, i)->name, IOTUNE_PREFIX))
            return TRUE;
    return FALSE;
}

static gboolean
iotune_apply(gpointer state, MomEntity *host G_GNUC_UNUSED, GPtrArray *guests,
             GError **error G_GNUC_UNUSED)
{
    MomIoTune *t = state;

    for (guint i = 0; guests && i < guests->len; i++) {
        MomEntity *e = guests->pdata[i];

        if (!has_iotune_control(e))
            continue;
        MomGuestEntry *g = mom_guest_ctl_get(&t->ctl, e);
        if (!g) {
            for (guint j = 0; j < mom_entity_n_controls(e); j++) {
                const MomControl *c = mom_entity_control(e, j);
                if (g_str_has_prefix(c->name, IOTUNE_PREFIX))
                    mom_entity_set_outcome(e, c->name, "ignored: the guest has no uuid");
            }
            continue;
        }
        iotune_guest(t, (IoTuneGuest *)g, e);
    }
    mom_guest_ctl_end_cycle(&t->ctl);
    return TRUE;
}

const MomControllerClass mom_controller_iotune = {
    .name = "IoTune",
    .init = iotune_init,
    .apply = iotune_apply,
    .free = mom_guest_ctl_free,
};
