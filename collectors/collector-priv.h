/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Private to libmomcollectors and its tests: the plugin class symbols
 * (declared once, so the registry and each plugin file agree on the type)
 * and the test hooks of individual plugins.
 */
#pragma once

#include <glib.h>

#include "mom-collector.h"

extern const MomCollectorClass mom_collector_host_memory;
extern const MomCollectorClass mom_collector_host_ksm;
extern const MomCollectorClass mom_collector_host_cpu;
extern const MomCollectorClass mom_collector_host_time;
extern const MomCollectorClass mom_collector_host_pressure;

/* The HostTime clock: returns (transfer full) the current local time. */
typedef GDateTime *(*MomHostTimeNowFunc)(gpointer user_data);

/**
 * mom_host_time_set_clock:
 * Replaces the clock of the HostTime @state (from its init()) with @now,
 * called with @user_data, so tests can pin the time; NULL restores
 * g_date_time_new_now_local().
 */
void mom_host_time_set_clock(gpointer state, MomHostTimeNowFunc now, gpointer user_data);
