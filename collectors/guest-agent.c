/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * GuestQemuAgent: the guest's own /proc/meminfo, /proc/vmstat and, when
 * its kernel has PSI, /proc/pressure/memory, read whole through
 * qemu-guest-agent (guest-file-open/read/close).  The guest manager does
 * the reading in a worker pool, at most once per guest-monitor-interval
 * and never more than one read per guest at a time (src/momd/mom-agent.c), and
 * copies the newest result where MomGuestData.agent points; this collector only
 * turns it into fields.  Unlike MOM, which read only the first KiB of
 * each file, the whole file is read (up to [Collector: GuestQemuAgent]
 * max-file-kib, 1 MiB by default).
 *
 * Mandatory, as in MOM's getFields() (MOM has no optional fields here):
 *   mem_available  MemTotal, KiB
 *   mem_unused     MemFree, KiB
 *   mem_free       MemFree + Buffers + Cached, KiB
 *   major_fault    pgmajfault, cumulative
 *   minor_fault    pgfault, cumulative
 *   swap_in        pswpin since the previous sample, pages (0 at first)
 *   swap_out       pswpout since the previous sample, pages (0 at first)
 *   swap_total     SwapTotal, KiB
 *   swap_usage     SwapTotal - SwapFree, KiB
 * Optional (momd's, from the guest's /proc/pressure/memory):
 *   guest_psi_some_avg10, guest_psi_some_avg60   percent of time some task
 *   guest_psi_full_avg10, guest_psi_full_avg60   ... all tasks stalled on memory
 *   guest_psi_some_total, guest_psi_full_total   stall microseconds since the
 *                                                previous sample (0 at first)
 *
 * An absent, unresponsive or blocked agent is not a collection error: the
 * fields stay nil (so the guest is not offered to the policy, as in MOM,
 * unless another collector listed first provides them) and the collector
 * says so once per guest, and once more when the agent answers again.
 *
 * GuestQemuAgentOptional (momd's) has the same fields, all optional: a hung
 * or stopped agent then costs the policy the agent's fields, not the guest,
 * which stays managed on what the other collectors give (the e2e fault
 * test's hung agent).
 */
#include "config.h"

#include <glib.h>

#include "mom-collector.h"
#include "collector-priv.h"
#include "proc-parse.h"

typedef struct {
    const MomGuestData *guest; /* owned by the guest manager, refreshed in place */
    MomCounter swap_in, swap_out, psi_some_total, psi_full_total;
    MomGuestAgentState logged; /* the failure last logged, or OK/UNKNOWN when none */
} GuestAgent;

static const char *const guest_agent_fields[] = {
    "mem_available", "mem_unused", "mem_free",   "major_fault", "minor_fault",
    "swap_in",       "swap_out",   "swap_total", "swap_usage",  NULL,
};

static const char *const guest_agent_optional_fields[] = {
    "guest_psi_some_avg10",
    "guest_psi_some_avg60",
    "guest_psi_full_avg10",
    "guest_psi_full_avg60",
    "guest_psi_some_total",
    "guest_psi_full_total",
    NULL,
};

/* GuestQemuAgentOptional: no mandatory field, every field optional. */
static const char *const guest_agent_no_fields[] = {NULL};

static const char *const guest_agent_all_fields[] = {
    "mem_available",
    "mem_unused",
    "mem_free",
    "major_fault",
    "minor_fault",
    "swap_in",
    "swap_out",
    "swap_total",
    "swap_usage",
    "guest_psi_some_avg10",
    "guest_psi_some_avg60",
    "guest_psi_full_avg10",
    "guest_psi_full_avg60",
    "guest_psi_some_total",
    "guest_psi_full_total",
    NULL,
};

static gpointer
guest_agent_new(const MomCollectorConfig *cfg, const char *name, GError **error)
{
    GuestAgent *ga;

    if (!mom_collector_require_guest(cfg, name, error))
        return NULL;
    ga = g_new0(GuestAgent, 1);
    ga->guest = cfg->guest;
    return ga;
}

static gpointer
guest_agent_init(const MomCollectorConfig *cfg, GError **error)
{
    return guest_agent_new(cfg, "GuestQemuAgent", error);
}

static gpointer
guest_agent_optional_init(const MomCollectorConfig *cfg, GError **error)
{
    return guest_agent_new(cfg, "GuestQemuAgentOptional", error);
}

static void
guest_agent_free(gpointer state)
{
    g_free(state);
}

static void
guest_agent_reset(GuestAgent *ga)
{
    mom_counter_reset(&ga->swap_in);
    mom_counter_reset(&ga->swap_out);
    mom_counter_reset(&ga->psi_some_total);
    mom_counter_reset(&ga->psi_full_total);
}

/* @g's newest agent read; "no read yet" when the guest manager keeps none. */
static const MomGuestAgentData *
guest_agent_data(const MomGuestData *g)
{
    static const MomGuestAgentData unknown = {.state = MOM_GUEST_AGENT_UNKNOWN};

    return g->agent ? g->agent : &unknown;
}

/* One message per failure kind in a row: an agent that stays dead is not
 * reported every cycle, but one that comes back with a blocked command is. */
static void
guest_agent_log(GuestAgent *ga, const MomGuestData *g)
{
    const MomGuestAgentData *a = guest_agent_data(g);
    const char *name = g->name ? g->name : "?";

    if (a->state == MOM_GUEST_AGENT_OK) {
        if (ga->logged > MOM_GUEST_AGENT_OK)
            g_log_structured(G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "MOM_GUEST", name, "MESSAGE",
                             "The guest agent of %s answers again; GuestQemuAgent has data.", name);
        ga->logged = MOM_GUEST_AGENT_OK;
        return;
    }
    if (a->state == MOM_GUEST_AGENT_UNKNOWN || a->state == ga->logged) {
        if (a->state != MOM_GUEST_AGENT_UNKNOWN)
            g_debug("GuestQemuAgent of %s: still no data: %s", name, a->error);
        return;
    }
    ga->logged = a->state;
    g_log_structured(G_LOG_DOMAIN, G_LOG_LEVEL_WARNING, "MOM_GUEST", name, "MESSAGE",
                     "GuestQemuAgent has no data for %s until its agent answers: %s", name,
                     a->error);
}

static gboolean
guest_agent_collect(gpointer state, MomSample *out, GError **error)
{
    GuestAgent *ga = state;
    const MomGuestAgentData *a = guest_agent_data(ga->guest);

    guest_agent_log(ga, ga->guest);
    if (a->state != MOM_GUEST_AGENT_OK) {
        /* the next data starts new deltas: the counters may have moved a lot */
        guest_agent_reset(ga);
        return TRUE; /* "no data": every field stays nil */
    }
    mom_sample_set_reported(out, "mem_available", a->mem_total);
    mom_sample_set_reported(out, "mem_unused", a->mem_free);
    if (a->mem_free >= 0 && a->buffers >= 0 && a->cached >= 0)
        mom_sample_set_int(out, "mem_free", a->mem_free + a->buffers + a->cached);
    mom_sample_set_reported(out, "major_fault", a->pgmajfault);
    mom_sample_set_reported(out, "minor_fault", a->pgfault);
    if (a->pswpin >= 0)
        mom_sample_set_int(out, "swap_in", mom_counter_delta(&ga->swap_in, a->pswpin));
    if (a->pswpout >= 0)
        mom_sample_set_int(out, "swap_out", mom_counter_delta(&ga->swap_out, a->pswpout));
    mom_sample_set_reported(out, "swap_total", a->swap_total);
    if (a->swap_total >= 0 && a->swap_free >= 0)
        mom_sample_set_int(out, "swap_usage", a->swap_total - a->swap_free);
    if (a->psi_some) {
        mom_sample_set_float(out, "guest_psi_some_avg10", a->psi_some_avg10);
        mom_sample_set_float(out, "guest_psi_some_avg60", a->psi_some_avg60);
        mom_sample_set_int(out, "guest_psi_some_total",
                           mom_counter_delta(&ga->psi_some_total, a->psi_some_total));
    }
    if (a->psi_full) {
        mom_sample_set_float(out, "guest_psi_full_avg10", a->psi_full_avg10);
        mom_sample_set_float(out, "guest_psi_full_avg60", a->psi_full_avg60);
        mom_sample_set_int(out, "guest_psi_full_total",
                           mom_counter_delta(&ga->psi_full_total, a->psi_full_total));
    }
    return TRUE;
}

const MomCollectorClass mom_collector_guest_agent = {
    .name = "GuestQemuAgent",
    .fields = guest_agent_fields,
    .optional_fields = guest_agent_optional_fields,
    .needs_agent = TRUE,
    .init = guest_agent_init,
    .collect = guest_agent_collect,
    .free = guest_agent_free,
};

const MomCollectorClass mom_collector_guest_agent_optional = {
    .name = "GuestQemuAgentOptional",
    .fields = guest_agent_no_fields,
    .optional_fields = guest_agent_all_fields,
    .needs_agent = TRUE,
    .init = guest_agent_optional_init,
    .collect = guest_agent_collect,
    .free = guest_agent_free,
};
