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
#define IOTUNE_N_KEYS 6

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
    /* main loop only */
    gboolean bad_reported;
    gboolean unknown_reported;
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

/* One disk's controls, as the policy left them. */
typedef struct {
    char *disk;
    const MomControl *controls[IOTUNE_N_KEYS]; /* NULL: not set */
    gint64 wanted[IOTUNE_N_KEYS];
    gboolean valid[IOTUNE_N_KEYS];
} DiskControls;

static void
disk_controls_free(gpointer p)
{
    DiskControls *dc = p;
    g_free(dc->disk);
    g_free(dc);
}

static int
key_index(const char *key)
{
    for (int k = 0; k < IOTUNE_N_KEYS; k++)
        if (strcmp(iotune_keys[k], key) == 0)
            return k;
    return -1;
}

/* The same outcome on each control of the disk that had a usable value
 * (the others keep their "ignored"). */
static void
outcome_all(MomEntity *e, const DiskControls *dc, const char *outcome)
{
    for (guint k = 0; k < IOTUNE_N_KEYS; k++)
        if (dc->controls[k] && dc->valid[k])
            mom_entity_set_outcome(e, dc->controls[k]->name, outcome);
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

/* Groups the guest's io_tune.* controls by disk; an unknown limit name or
 * a value that is not a whole number >= 0 is ignored (warned once). */
static GPtrArray *
gather(IoTuneGuest *g, MomEntity *e)
{
    GPtrArray *disks = g_ptr_array_new_with_free_func(disk_controls_free);
    const char *name = mom_entity_name(e);
    gboolean bad = FALSE;

    for (guint i = 0; i < mom_entity_n_controls(e); i++) {
        const MomControl *c = mom_entity_control(e, i);
        if (!g_str_has_prefix(c->name, IOTUNE_PREFIX))
            continue;
        const char *rest = c->name + strlen(IOTUNE_PREFIX);
        const char *dot = strrchr(rest, '.');
        int k = dot && dot > rest ? key_index(dot + 1) : -1;
        if (k < 0) {
            if (!g->bad_reported)
                iotune_log(G_LOG_LEVEL_WARNING, name,
                           "guest %s: ignoring the control %s set at %s:%d:%d: it is not "
                           "io_tune.DISK.LIMIT with LIMIT one of total_bytes_sec, read_bytes_sec, "
                           "write_bytes_sec, total_iops_sec, read_iops_sec, write_iops_sec.",
                           name, c->name, c->file, c->line, c->col);
            mom_entity_set_outcome(e, c->name, "ignored: not an I/O limit");
            bad = TRUE;
            continue;
        }
        g_autofree char *disk = g_strndup(rest, (gsize)(dot - rest));
        DiskControls *dc = NULL;
        for (guint j = 0; j < disks->len && !dc; j++)
            if (strcmp(((DiskControls *)disks->pdata[j])->disk, disk) == 0)
                dc = disks->pdata[j];
        if (!dc) {
            dc = g_new0(DiskControls, 1);
            dc->disk = g_steal_pointer(&disk);
            g_ptr_array_add(disks, dc);
        }
        dc->controls[k] = c;
        gint64 v;
        if (mom_control_as_int(&c->value, &v) && v >= 0) {
            dc->wanted[k] = v;
            dc->valid[k] = TRUE;
            continue;
        }
        if (!g->bad_reported) {
            g_autoptr(GString) repr = g_string_new(NULL);
            mom_value_repr(&c->value, TRUE, repr);
            iotune_log(G_LOG_LEVEL_WARNING, name,
                       "guest %s: ignoring %s = %s set at %s:%d:%d: an I/O limit must be a whole "
                       "number >= 0 (0: no limit).",
                       name, c->name, repr->str, c->file, c->line, c->col);
        }
        mom_entity_set_outcome(e, c->name, "ignored: not a number >= 0");
        bad = TRUE;
    }
    /* one warning per guest while its policy keeps giving bad values */
    g->bad_reported = bad;
    return disks;
}

/* What is about to change, with where each value was asked for. */
static char *
describe(const DiskControls *dc, const gint64 cur[IOTUNE_N_KEYS],
         const gint64 limits[IOTUNE_N_KEYS])
{
    GString *s = g_string_new(NULL);

    for (guint k = 0; k < IOTUNE_N_KEYS; k++) {
        if (limits[k] == cur[k])
            continue;
        const MomControl *c = dc->controls[k];
        g_string_append_printf(s, "%s%s %" G_GINT64_FORMAT " → %" G_GINT64_FORMAT " (%s:%d:%d)",
                               s->len ? ", " : "", iotune_keys[k], cur[k], limits[k], c->file,
                               c->line, c->col);
    }
    return g_string_free(s, FALSE);
}

static void
iotune_guest(MomIoTune *t, IoTuneGuest *g, MomEntity *e)
{
    const char *name = mom_entity_name(e);
    g_autoptr(GPtrArray) disks = gather(g, e);
    g_autoptr(GPtrArray) changes = g_ptr_array_new_with_free_func(change_free);
    GPtrArray *changed = g_ptr_array_new(); /* DiskControls of @changes */
    gboolean unknown = FALSE;

    for (guint i = 0; i < disks->len; i++) {
        DiskControls *dc = disks->pdata[i];
        gint64 cur[IOTUNE_N_KEYS], limits[IOTUNE_N_KEYS];
        gboolean any = FALSE;

        for (guint k = 0; k < IOTUNE_N_KEYS; k++)
            any |= dc->valid[k];
        if (!any)
            continue; /* every control of the disk was bad: outcomes are set */
        if (!current_limits(e, dc->disk, cur)) {
            const MomControl *c = NULL;
            for (guint k = 0; k < IOTUNE_N_KEYS && !c; k++)
                c = dc->valid[k] ? dc->controls[k] : NULL;
            if (!g->unknown_reported)
                iotune_log(G_LOG_LEVEL_WARNING, name,
                           "guest %s: ignoring %s set at %s:%d:%d: the current limits of disk "
                           "%s are unknown (the guest has no such disk with I/O metadata, or "
                           "the GuestIoTune collector is not configured).",
                           name, c->name, c->file, c->line, c->col, dc->disk);
            outcome_all(e, dc, "ignored: the disk's current limits are unknown");
            unknown = TRUE;
            continue;
        }
        for (guint k = 0; k < IOTUNE_N_KEYS; k++)
            limits[k] = dc->valid[k] ? dc->wanted[k] : cur[k];
        if (memcmp(limits, cur, sizeof(cur)) == 0) {
            outcome_all(e, dc, "unchanged");
            continue;
        }
        g_mutex_lock(&t->ctl.jobs.lock);
        IoTuneLast *last = g_hash_table_lookup(g->last, dc->disk);
        gboolean same_as_last =
            last && last->ok && memcmp(last->limits, limits, sizeof(limits)) == 0;
        gint64 done_at = last ? last->done_at : 0;
        g_mutex_unlock(&t->ctl.jobs.lock);
        if (same_as_last && mom_guest_ctl_sample_predates(e, done_at)) {
            outcome_all(e, dc, "unchanged: just set; waiting for the disk's new limits");
            continue;
        }
        IoTuneChange *ch = g_new0(IoTuneChange, 1);
        ch->disk = g_strdup(dc->disk);
        memcpy(ch->limits, limits, sizeof(limits));
        ch->change = describe(dc, cur, limits);
        g_ptr_array_add(changes, ch);
        g_ptr_array_add(changed, dc);
    }
    g->unknown_reported = unknown;

    if (changes->len == 0) {
        g_ptr_array_free(changed, TRUE);
        return;
    }
    if (t->ctl.dry_run) {
        for (guint i = 0; i < changes->len; i++) {
            IoTuneChange *ch = changes->pdata[i];
            if (mom_guest_ctl_dry_run_news(&t->ctl, &g->base, ch->disk, ch->change))
                iotune_log(G_LOG_LEVEL_MESSAGE, name,
                           "guest %s: disk %s: %s would be set (dry run)", name, ch->disk,
                           ch->change);
            g_autofree char *o = g_strdup_printf("dry run: would set %s", ch->change);
            outcome_all(e, changed->pdata[i], o);
        }
        g_ptr_array_free(changed, TRUE);
        return;
    }
    g_mutex_lock(&t->ctl.jobs.lock);
    gboolean in_flight = g->base.in_flight;
    g_mutex_unlock(&t->ctl.jobs.lock);
    if (mom_guest_ctl_skip_busy(&t->ctl, &g->base, name, in_flight)) {
        for (guint i = 0; i < changed->len; i++)
            outcome_all(e, changed->pdata[i], "skipped: the previous change is running");
        g_ptr_array_free(changed, TRUE);
        return;
    }
    for (guint i = 0; i < changes->len; i++) {
        g_autofree char *o =
            g_strdup_printf("requested %s", ((IoTuneChange *)changes->pdata[i])->change);
        outcome_all(e, changed->pdata[i], o);
    }
    g_ptr_array_free(changed, TRUE);

    IoTuneJob *job = g_new0(IoTuneJob, 1);
    job->changes = g_steal_pointer(&changes);
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
