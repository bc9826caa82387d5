/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A monitor samples one entity (the host, later each guest) with its list
 * of collectors and keeps its history in a MomEntity.  As in MOM, the
 * first collector listed wins when two provide the same field, and a
 * sample that lacks a mandatory field is not kept: the entity is "not
 * ready" and is not offered to the policy until a complete sample comes.
 */
#pragma once

#include <glib.h>

/* Seconds a guest may stay without a complete sample before momd warns:
 * a booting guest reports no balloon statistics for a while. */
#define MOM_MONITOR_UNREADY_GRACE_S 60

#include "mom-collector.h"
#include "mom-plot.h"
#include "mom-policy.h"

typedef struct _MomMonitor MomMonitor;

/**
 * mom_monitor_new:
 * Creates a monitor for @name with the collectors named in @collectors
 * (MOM's spelling).  @plot_dir, when not NULL, receives MOM's
 * HostMonitor.dat or GuestMonitor-@name.dat (@name escaped), mode 0640,
 * with one tab-separated row per sample, in MOM's format, rotated at the
 * directory's limit (mom-plot.h).
 * Returns: (transfer full) the monitor, or NULL with @error for an
 * unknown collector name or a collector that cannot start.
 */
MomMonitor *mom_monitor_new(MomEntityKind kind, const char *name, char **collectors,
                            const MomCollectorConfig *cfg, guint history, MomPlotDir *plot_dir,
                            GError **error);

/** mom_monitor_free: Frees @monitor, its collectors and its entity. */
void mom_monitor_free(MomMonitor *monitor);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MomMonitor, mom_monitor_free)

/**
 * mom_monitor_collect:
 * Takes one sample.  A failing collector is logged once, retried with a
 * doubling back-off, and logged once more when it recovers.
 * Returns: TRUE when the sample was complete and was kept.
 */
gboolean mom_monitor_collect(MomMonitor *monitor);

/** mom_monitor_ready: Returns: TRUE when the newest sample attempt was complete. */
gboolean mom_monitor_ready(const MomMonitor *monitor);

/** mom_monitor_entity: Returns: (transfer none) the monitored entity. */
MomEntity *mom_monitor_entity(const MomMonitor *monitor);

/** mom_monitor_set_interval: Tells collectors and back-off the sampling interval (seconds). */
void mom_monitor_set_interval(MomMonitor *monitor, guint interval);

/**
 * mom_monitor_set_unready_grace:
 * The seconds a guest may stay without a complete sample before momd
 * warns (default MOM_MONITOR_UNREADY_GRACE_S); tests shorten it.
 */
void mom_monitor_set_unready_grace(MomMonitor *m, int seconds);

/* Called with a collector's name and its failed collections so far. */
typedef void (*MomMonitorFailureFunc)(const char *collector, guint64 failures, gpointer data);

/**
 * mom_monitor_foreach_failure:
 * Calls @func for every collector that failed at least once in any monitor
 * of this process, with the number of failed collections (every attempt,
 * not only the first that was logged).  Thread-safe.
 */
void mom_monitor_foreach_failure(MomMonitorFailureFunc func, gpointer data);
