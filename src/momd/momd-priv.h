/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Internal: the daemon's state, shared by momd.c and its control API (momd-rpc.c). */
#pragma once

#include <glib.h>

#include "mom-config.h"
#include "mom-engine.h"
#include "mom-guests.h"
#include "mom-history.h"
#include "mom-libvirt.h"
#include "mom-metrics.h"
#include "mom-monitor.h"
#include "mom-plot.h"
#include "mom-pressure.h"
#include "mom-rpc-server.h"

typedef struct {
    const char *section;
    const char *key;
    char *value;
} Override;

typedef struct {
    char *config_path;
    gboolean config_explicit;
    GArray *overrides; /* Override: command-line options, re-applied on reload */
    MomConfig *config;
    GMainLoop *loop;
    MomMonitor *host;
    MomEngine *engine;
    MomLibvirt *libvirt;
    MomGuests *guests;
    MomPressure *pressure; /* the fast path, NULL when [pressure] enabled is false */
    /* TRUE while the fast path samples the host: HostPressure's pressure_trigger */
    gboolean pressure_sample;
    /* while MemAvailable is below the fast path's floor: a cycle with
     * fresh guest statistics every [pressure] min-interval-ms */
    guint pressure_cycle_source;
    MomPlotDir *plot; /* PLOT-DIR/momplot-NNN, or NULL */
    guint host_source;
    guint engine_source;
    guint engine_offset_source;
    guint guest_source;
    guint manager_source;
    guint soon_source;
    guint watchdog_source;
    guint first_run_source;
    guint64 cycles;
    gint64 started; /* wall clock µs */
    MomRpcServer *rpc;
    MomMetrics *metrics; /* NULL when [metrics] asks for nothing */
    MomHistory *history; /* the decisions, for getHistory */
    gboolean last_ok;
    char *pid_file;
} Momd;

/**
 * momd_policy_limits:
 * Returns: the limits of every policy evaluation, the daemon's and the
 * control API's trial runs alike: [main] policy-max-steps, -max-depth and
 * -max-ms, and the flag a stop or reload signal sets.
 */
MomPolicyLimits momd_policy_limits(const Momd *d);

/** momd_reset_policies: Reloads the policy files, forgetting the control API's policies. */
gboolean momd_reset_policies(Momd *d);

/**
 * momd_rpc_start:
 * Serves the control API as [main] rpc-port and rpc-group say (a socket
 * path, a localhost TCP port, or -1 for none).  Returns: FALSE with @error
 * when the socket cannot be set up.
 */
gboolean momd_rpc_start(Momd *d, GError **error);
