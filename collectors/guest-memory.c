/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * GuestMemory and GuestMemoryOptional: the guest's own memory statistics,
 * as the virtio balloon driver reports them through libvirt's
 * memoryStats.  The guest manager fetches them for all guests in one bulk
 * call per cycle (MomGuestData); these collectors only copy them out.
 *
 * Mandatory in GuestMemory (MOM's getFields(), libvirt stat in brackets):
 *   mem_available  guest MemTotal, KiB ("available")
 *   mem_unused     guest MemFree, KiB ("unused")
 *   major_fault    cumulative major faults ("major_fault")
 *   minor_fault    cumulative minor faults ("minor_fault")
 *   swap_in        cumulative KiB swapped in ("swap_in")
 *   swap_out       cumulative KiB swapped out ("swap_out")
 * Optional (MOM's getOptionalFields(): swap_total, swap_usage; the rest
 * are momd's):
 *   swap_total     always nil: libvirt does not report it (MOM filled it
 *                  only through VDSM's guest agent)
 *   swap_usage     always nil, likewise
 *   mem_usable     reclaimable without swapping, KiB ("usable")
 *   disk_caches    guest page cache, KiB ("disk_caches")
 *   stats_age      seconds since the guest last refreshed these stats
 *                  ("last_update"); nil when unknown
 *
 * GuestMemoryOptional has the same fields, all optional (MOM's class of
 * that name), so a policy still runs for guests without a balloon driver.
 *
 * A value the hypervisor did not report (-1) is nil.  That is not a
 * collection error even for a mandatory field: as in MOM, another
 * collector may supply it, and otherwise the monitor marks the sample
 * incomplete.
 */
#include "config.h"

#include <glib.h>

#include "mom-collector.h"
#include "collector-priv.h"

typedef struct {
    const MomGuestData *guest; /* owned by the guest manager, refreshed in place */
} GuestMemory;

static const char *const guest_memory_fields[] = {
    "mem_available", "mem_unused", "major_fault", "minor_fault", "swap_in", "swap_out", NULL,
};

static const char *const guest_memory_optional_fields[] = {
    "swap_total", "swap_usage", "mem_usable", "disk_caches", "stats_age", NULL,
};

/* GuestMemoryOptional: no mandatory field; an empty list rather than NULL
 * so code walking .fields needs no special case. */
static const char *const guest_memory_no_fields[] = {NULL};

static const char *const guest_memory_all_fields[] = {
    "mem_available", "mem_unused", "major_fault", "minor_fault", "swap_in",   "swap_out",
    "swap_total",    "swap_usage", "mem_usable",  "disk_caches", "stats_age", NULL,
};

static gpointer
guest_memory_new(const MomCollectorConfig *cfg, const char *name, GError **error)
{
    GuestMemory *gm;

    if (!mom_collector_require_guest(cfg, name, error))
        return NULL;
    gm = g_new0(GuestMemory, 1);
    gm->guest = cfg->guest;
    return gm;
}

static gpointer
guest_memory_init(const MomCollectorConfig *cfg, GError **error)
{
    return guest_memory_new(cfg, "GuestMemory", error);
}

static gpointer
guest_memory_optional_init(const MomCollectorConfig *cfg, GError **error)
{
    return guest_memory_new(cfg, "GuestMemoryOptional", error);
}

static void
guest_memory_free(gpointer state)
{
    g_free(state);
}

/* Seconds since the guest's last stats update, or -1 when unknown.  QEMU
 * reports 0 until the guest first pushes stats, so 0 is unknown too. */
static gint64
guest_memory_stats_age(const MomGuestData *g)
{
    if (g->last_update <= 0 || g->now < 0)
        return -1;
    /* last_update is stamped by QEMU with the host clock, so only a clock
     * step between the two readings makes it later than now; that is
     * "fresh", not an unknown age. */
    return MAX(g->now - g->last_update, 0);
}

static gboolean
guest_memory_collect(gpointer state, MomSample *out, GError **error)
{
    const MomGuestData *g = ((GuestMemory *)state)->guest;

    mom_sample_set_reported(out, "mem_available", g->available);
    mom_sample_set_reported(out, "mem_unused", g->unused);
    mom_sample_set_reported(out, "major_fault", g->major_fault);
    mom_sample_set_reported(out, "minor_fault", g->minor_fault);
    mom_sample_set_reported(out, "swap_in", g->swap_in);
    mom_sample_set_reported(out, "swap_out", g->swap_out);
    mom_sample_set(out, "swap_total", mom_value_nil());
    mom_sample_set(out, "swap_usage", mom_value_nil());
    mom_sample_set_reported(out, "mem_usable", g->usable);
    mom_sample_set_reported(out, "disk_caches", g->disk_caches);
    mom_sample_set_reported(out, "stats_age", guest_memory_stats_age(g));
    return TRUE;
}

const MomCollectorClass mom_collector_guest_memory = {
    .name = "GuestMemory",
    .fields = guest_memory_fields,
    .optional_fields = guest_memory_optional_fields,
    .init = guest_memory_init,
    .collect = guest_memory_collect,
    .free = guest_memory_free,
};

const MomCollectorClass mom_collector_guest_memory_optional = {
    .name = "GuestMemoryOptional",
    .fields = guest_memory_no_fields,
    .optional_fields = guest_memory_all_fields,
    .init = guest_memory_optional_init,
    .collect = guest_memory_collect,
    .free = guest_memory_free,
};
