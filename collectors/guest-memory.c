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
 *   major_fault_rate  major faults per second, and
 *   swap_in_rate   KiB swapped in per second, between the guest's last two
 *                  reports (by their "last_update" stamps, so a report read
 *                  twice gives the same rate, not 0); nil until the guest
 *                  has reported twice, and after a counter went backwards
 *                  (a reboot) until it has reported twice again.  They say
 *                  how hard the guest is paging: the pressure a shrinking
 *                  balloon puts on it, where its own PSI (GuestQemuAgent's
 *                  guest_psi_*) is not at hand;
 *   mem_unused_rate  KiB per second by which mem_unused changed between
 *                  the guest's last two reports, negative while the guest
 *                  fills its memory; nil until it has reported twice.  It
 *                  says a guest needs memory before it is short of it;
 *   mem_idle       memory the guest could give up without paging, KiB:
 *                  "usable" (the guest kernel's MemAvailable: free memory
 *                  plus the page cache and slab it can drop) where
 *                  reported, else "unused" (MemFree)
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

/* A value's rate of change between the guest's last two reports: of a
 * cumulative counter (which only grows: a fall is a reboot) or of a gauge. */
typedef struct {
    gboolean gauge; /* may fall */
    gint64 value;   /* at @stamp; -1 before the first report */
    gint64 stamp;   /* the report's last_update, seconds */
    double rate;    /* per second, when @known */
    gboolean known;
} GuestRate;

typedef struct {
    const MomGuestData *guest; /* owned by the guest manager, refreshed in place */
    GuestRate major_fault, swap_in, unused;
} GuestMemory;

static const char *const guest_memory_fields[] = {
    "mem_available", "mem_unused", "major_fault", "minor_fault", "swap_in", "swap_out", NULL,
};

static const char *const guest_memory_optional_fields[] = {
    "swap_total",       "swap_usage",   "mem_usable", "disk_caches",     "stats_age",
    "major_fault_rate", "swap_in_rate", "mem_idle",   "mem_unused_rate", NULL,
};

/* GuestMemoryOptional: no mandatory field; an empty list rather than NULL
 * so code walking .fields needs no special case. */
static const char *const guest_memory_no_fields[] = {NULL};

static const char *const guest_memory_all_fields[] = {
    "mem_available", "mem_unused",  "major_fault",     "minor_fault",
    "swap_in",       "swap_out",    "swap_total",      "swap_usage",
    "mem_usable",    "disk_caches", "stats_age",       "major_fault_rate",
    "swap_in_rate",  "mem_idle",    "mem_unused_rate", NULL,
};

static gpointer
guest_memory_new(const MomCollectorConfig *cfg, const char *name, GError **error)
{
    GuestMemory *gm;

    if (!mom_collector_require_guest(cfg, name, error))
        return NULL;
    gm = g_new0(GuestMemory, 1);
    gm->guest = cfg->guest;
    gm->major_fault = gm->swap_in = (GuestRate){.value = -1};
    gm->unused = (GuestRate){.gauge = TRUE, .value = -1};
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

/* Takes the counter's @value of the report stamped @stamp. */
static void
guest_rate_update(GuestRate *r, gint64 value, gint64 stamp)
{
    if (value < 0 || stamp <= 0) {
        *r = (GuestRate){.gauge = r->gauge, .value = -1};
        return;
    }
    if (r->value >= 0 && stamp == r->stamp)
        return; /* the same report, read again */
    /* not known after the first report, nor after a counter's reset (a reboot) */
    r->known = r->value >= 0 && stamp > r->stamp && (r->gauge || value >= r->value);
    if (r->known)
        r->rate = (double)(value - r->value) / (double)(stamp - r->stamp);
    r->value = value;
    r->stamp = stamp;
}

static void
guest_rate_set(MomSample *out, const char *field, const GuestRate *r)
{
    if (r->known)
        mom_sample_set_float(out, field, r->rate);
    else
        mom_sample_set(out, field, mom_value_nil());
}

static gboolean
guest_memory_collect(gpointer state, MomSample *out, GError **error)
{
    GuestMemory *gm = state;
    const MomGuestData *g = gm->guest;

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
    guest_rate_update(&gm->major_fault, g->major_fault, g->last_update);
    guest_rate_update(&gm->swap_in, g->swap_in, g->last_update);
    guest_rate_set(out, "major_fault_rate", &gm->major_fault);
    guest_rate_set(out, "swap_in_rate", &gm->swap_in);
    guest_rate_update(&gm->unused, g->unused, g->last_update);
    guest_rate_set(out, "mem_unused_rate", &gm->unused);
    mom_sample_set_reported(out, "mem_idle", g->usable >= 0 ? g->usable : g->unused);
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
