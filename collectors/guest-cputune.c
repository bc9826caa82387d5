/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * GuestCpuTune: the guest's vCPU bandwidth limit, as MOM's collector of
 * the same name reports it.  The guest manager fills MomGuestData; this
 * collector only copies it out.
 *
 * Fields, all mandatory (MOM's getFields()):
 *   vcpu_quota       libvirt's scheduler parameter vcpu_quota, µs of CPU
 *                    time each vCPU may use per vcpu_period; -1 is "no
 *                    limit" (cgroup v2's "max" is reported as -1 too), 0
 *                    when the driver has no such parameter (MOM's value)
 *   vcpu_period      vcpu_period, µs; 0 when the driver has none
 *   vcpu_user_limit  the VM's CPU limit from its tuning metadata
 *                    (docs/metadata.md), percent of the host's CPUs; 100
 *                    without one.  A number (int when whole), where MOM
 *                    passed the metadata's text through
 *   vcpu_count       current vCPUs (<vcpu current> of the live XML)
 *
 * The scheduler parameters are read once when the guest is found, and
 * again after a tunable event or a CpuTune change, not every cycle.
 */
#include "config.h"

#include <math.h>

#include <glib.h>

#include "collector-priv.h"
#include "mom-collector.h"

typedef struct {
    const MomGuestData *guest; /* owned by the guest manager, refreshed in place */
} GuestCpuTune;

static const char *const guest_cputune_fields[] = {
    "vcpu_quota", "vcpu_period", "vcpu_user_limit", "vcpu_count", NULL,
};

static gpointer
guest_cputune_init(const MomCollectorConfig *cfg, GError **error)
{
    GuestCpuTune *gc;

    if (!mom_collector_require_guest(cfg, "GuestCpuTune", error))
        return NULL;
    gc = g_new0(GuestCpuTune, 1);
    gc->guest = cfg->guest;
    return gc;
}

static void
guest_cputune_free(gpointer state)
{
    g_free(state);
}

static gboolean
guest_cputune_collect(gpointer state, MomSample *out, GError **error)
{
    const MomGuestData *g = ((GuestCpuTune *)state)->guest;
    double limit = g->tune.vcpu_user_limit;

    /* quota may be -1, so "unknown" is a flag of its own, not -1 */
    if (g->tune.sched_known) {
        mom_sample_set_int(out, "vcpu_quota", g->tune.vcpu_quota);
        mom_sample_set_int(out, "vcpu_period", g->tune.vcpu_period);
    }
    if (limit == floor(limit))
        mom_sample_set_int(out, "vcpu_user_limit", (gint64)limit);
    else
        mom_sample_set_float(out, "vcpu_user_limit", limit);
    mom_sample_set_reported(out, "vcpu_count", g->tune.vcpu_count);
    return TRUE;
}

const MomCollectorClass mom_collector_guest_cputune = {
    .name = "GuestCpuTune",
    .fields = guest_cputune_fields,
    .optional_fields = NULL,
    .init = guest_cputune_init,
    .collect = guest_cputune_collect,
    .free = guest_cputune_free,
};
