/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * GuestIoTune and GuestIoTuneOptional: the guest's per-disk I/O limits, as
 * MOM's GuestIoTune collector hands them to the policy.  The guest manager
 * fills MomGuestData (the disks and their current limits from libvirt,
 * the guaranteed and maximum limits from the tuning metadata,
 * docs/metadata.md); these collectors only build the policy values.
 *
 * Fields, mandatory in GuestIoTune (MOM's getFields()), optional in
 * GuestIoTuneOptional (for hosts where only some guests have I/O metadata):
 *   io_tune          a list with one record per disk that has a policy in
 *                    the metadata AND exists in the domain, in metadata
 *                    order:
 *                      name        the disk's target dev, "vda"
 *                      path        its source file or device, or nil
 *                      guaranteed  a record of total_bytes_sec,
 *                                  read_bytes_sec, write_bytes_sec,
 *                                  total_iops_sec, read_iops_sec,
 *                                  write_iops_sec (0 where the metadata
 *                                  gives none: libvirt's "no limit")
 *                      maximum     the same
 *                      current     the same, libvirt's current limits
 *                    and the setters setTotalBytesSec, setReadBytesSec,
 *                    setWriteBytesSec, setTotalIopsSec, setReadIopsSec,
 *                    setWriteIopsSec, which set the guest's controls
 *                    "io_tune.<name>.total_bytes_sec" ... (the IoTune
 *                    controller applies them)
 *   io_tune_current  a list of records {name, path, current}, same order
 *
 * As in MOM, both are nil when the guest has no I/O metadata or no disk
 * (so `(valid guest.io_tune)` tells guests to tune from the others), or
 * when libvirt's current limits could not be read; a policy whose disks
 * all do not exist gives empty lists.
 *
 * A disk matches a policy as MOM's findState() matches them: the same
 * path, or the same name where either side has no path.
 *
 * The records' setters need the guest entity, which a collector does not
 * know: the monitor makes the sampled entity the owner of every record in
 * a sample (mom-monitor.c) before the policy sees it.
 */
#include "config.h"

#include <glib.h>

#include "collector-priv.h"
#include "mom-collector.h"
/* MomList's layout, to build the list values (as mom-state.c does) */

typedef struct {
    const MomGuestData *guest; /* owned by the guest manager, refreshed in place */
} GuestIoTune;

/* Member names, setter names, by MomIoTuneKey. */
static const struct {
    const char *member;
    const char *setter;
} iotune_keys[MOM_IO_N_KEYS] = {
    [MOM_IO_TOTAL_BYTES_SEC] = {"total_bytes_sec", "setTotalBytesSec"},
    [MOM_IO_READ_BYTES_SEC] = {"read_bytes_sec", "setReadBytesSec"},
    [MOM_IO_WRITE_BYTES_SEC] = {"write_bytes_sec", "setWriteBytesSec"},
    [MOM_IO_TOTAL_IOPS_SEC] = {"total_iops_sec", "setTotalIopsSec"},
    [MOM_IO_READ_IOPS_SEC] = {"read_iops_sec", "setReadIopsSec"},
    [MOM_IO_WRITE_IOPS_SEC] = {"write_iops_sec", "setWriteIopsSec"},
};

static const char *const guest_iotune_fields[] = {
    "io_tune",
    "io_tune_current",
    NULL,
};

static const char *const guest_iotune_no_fields[] = {NULL};

static gpointer
guest_iotune_new(const MomCollectorConfig *cfg, const char *name, GError **error)
{
    GuestIoTune *gi;

    if (!mom_collector_require_guest(cfg, name, error))
        return NULL;
    gi = g_new0(GuestIoTune, 1);
    gi->guest = cfg->guest;
    return gi;
}

static gpointer
guest_iotune_init(const MomCollectorConfig *cfg, GError **error)
{
    return guest_iotune_new(cfg, "GuestIoTune", error);
}

static gpointer
guest_iotune_optional_init(const MomCollectorConfig *cfg, GError **error)
{
    return guest_iotune_new(cfg, "GuestIoTuneOptional", error);
}

static void
guest_iotune_free(gpointer state)
{
    g_free(state);
}

/* A record of the six limits; a limit the metadata leaves out (-1) is 0,
 * libvirt's "no limit", so a policy can pass any member to a setter. */
static MomValue
limits_record(const gint64 v[MOM_IO_N_KEYS])
{
    MomRecord *r = mom_record_new();

    for (guint k = 0; k < MOM_IO_N_KEYS; k++)
        mom_record_set(r, iotune_keys[k].member, mom_value_int(MAX(v[k], 0)));
    return mom_value_record(r);
}

static MomValue
string_or_nil(const char *s)
{
    return s ? mom_value_string(s, -1) : mom_value_nil();
}

/* MOM's findState(): the disk of @g that @p applies to, or NULL. */
static const MomIoTuneDisk *
find_disk(const MomGuestData *g, const MomIoTunePolicy *p)
{
    for (guint i = 0; i < g->n_io_disks; i++) {
        const MomIoTuneDisk *d = &g->io_disks[i];
        if (p->path && d->path && g_strcmp0(p->path, d->path) == 0)
            return d;
        if ((!p->path || !d->path) && g_strcmp0(p->name, d->name) == 0)
            return d;
    }
    return NULL;
}

static gboolean
guest_iotune_collect(gpointer state, MomSample *out, GError **error)
{
    const MomGuestData *g = ((GuestIoTune *)state)->guest;

    if (!g->n_io_policy || !g->n_io_disks || !g->io_known)
        return TRUE; /* nil: nothing to tune, or not known yet */

    /* (policy, disk) pairs in metadata order; a disk named by two policies
     * (by name and by path) is listed once, with the first */
    g_autoptr(GPtrArray) policies = g_ptr_array_new();
    g_autoptr(GPtrArray) disks = g_ptr_array_new();
    for (guint i = 0; i < g->n_io_policy; i++) {
        const MomIoTuneDisk *d = find_disk(g, &g->io_policy[i]);
        if (!d || g_ptr_array_find(disks, d, NULL))
            continue;
        g_ptr_array_add(policies, (gpointer)&g->io_policy[i]);
        g_ptr_array_add(disks, (gpointer)d);
    }

    g_autofree MomValue *tunes = g_new0(MomValue, MAX(disks->len, 1));
    g_autofree MomValue *currents = g_new0(MomValue, MAX(disks->len, 1));
    for (guint i = 0; i < disks->len; i++) {
        const MomIoTuneDisk *d = disks->pdata[i];
        const MomIoTunePolicy *p = policies->pdata[i];

        MomRecord *t = mom_record_new();
        mom_record_set(t, "name", mom_value_string(d->name, -1));
        mom_record_set(t, "path", string_or_nil(d->path));
        mom_record_set(t, "guaranteed", limits_record(p->guaranteed));
        mom_record_set(t, "maximum", limits_record(p->maximum));
        mom_record_set(t, "current", limits_record(d->current));
        for (guint k = 0; k < MOM_IO_N_KEYS; k++) {
            g_autofree char *control =
                g_strdup_printf("io_tune.%s.%s", d->name, iotune_keys[k].member);
            mom_record_add_setter(t, iotune_keys[k].setter, control);
        }
        tunes[i] = mom_value_record(t);

        MomRecord *c = mom_record_new();
        mom_record_set(c, "name", mom_value_string(d->name, -1));
        mom_record_set(c, "path", string_or_nil(d->path));
        mom_record_set(c, "current", limits_record(d->current));
        currents[i] = mom_value_record(c);
    }
    MomValue tv = mom_value_list_take(tunes, disks->len);
    MomValue cv = mom_value_list_take(currents, disks->len);
    mom_sample_set(out, "io_tune", tv);
    mom_sample_set(out, "io_tune_current", cv);
    return TRUE;
}

const MomCollectorClass mom_collector_guest_iotune = {
    .name = "GuestIoTune",
    .fields = guest_iotune_fields,
    .optional_fields = NULL,
    .init = guest_iotune_init,
    .collect = guest_iotune_collect,
    .free = guest_iotune_free,
};

const MomCollectorClass mom_collector_guest_iotune_optional = {
    .name = "GuestIoTuneOptional",
    .fields = guest_iotune_no_fields,
    .optional_fields = guest_iotune_fields,
    .init = guest_iotune_optional_init,
    .collect = guest_iotune_collect,
    .free = guest_iotune_free,
};
