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

/*
 * The guest collectors read MomCollectorConfig.guest, never libvirt; their
 * init() fails with MOM_COLLECTOR_ERROR_CONFIG without it.
 */
/** mom_collector_guest_memory: "GuestMemory", the balloon driver's stats (guest-memory.c). */
extern const MomCollectorClass mom_collector_guest_memory;
/** mom_collector_guest_memory_optional: "GuestMemoryOptional", the same, all fields optional. */
extern const MomCollectorClass mom_collector_guest_memory_optional;
/** mom_collector_guest_balloon: "GuestBalloon", balloon_cur/max/min (guest-balloon.c). */
extern const MomCollectorClass mom_collector_guest_balloon;
/** mom_collector_guest_balloon_optional: "GuestBalloonOptional", the same, all fields optional. */
extern const MomCollectorClass mom_collector_guest_balloon_optional;
/** mom_collector_guest_qemu_proc: "GuestQemuProc", QEMU's faults and rss (guest-qemu-proc.c). */
extern const MomCollectorClass mom_collector_guest_qemu_proc;
/** mom_collector_guest_cputune: "GuestCpuTune", vcpu_quota/period/user_limit/count
 * (guest-cputune.c). */
extern const MomCollectorClass mom_collector_guest_cputune;
/** mom_collector_guest_agent: "GuestQemuAgent", the guest's /proc via qemu-ga (guest-agent.c). */
extern const MomCollectorClass mom_collector_guest_agent;
/** mom_collector_guest_agent_optional: "GuestQemuAgentOptional", the same, all fields optional. */
extern const MomCollectorClass mom_collector_guest_agent_optional;
/** mom_collector_guest_iotune: "GuestIoTune", io_tune and io_tune_current (guest-iotune.c). */
extern const MomCollectorClass mom_collector_guest_iotune;
/** mom_collector_guest_iotune_optional: "GuestIoTuneOptional", the same, all fields optional. */
extern const MomCollectorClass mom_collector_guest_iotune_optional;

/**
 * mom_collector_require_guest:
 * Checks that @cfg, given to the init() of the guest collector @name,
 * carries guest data, i.e. that the collector was configured for guests.
 * Returns: TRUE when cfg->guest is set; FALSE with
 * MOM_COLLECTOR_ERROR_CONFIG otherwise.
 */
gboolean mom_collector_require_guest(const MomCollectorConfig *cfg, const char *name,
                                     GError **error);

/**
 * mom_sample_set_reported:
 * Sets @field to the integer @v, or to nil when @v is negative: the
 * MomGuestData convention for "the hypervisor did not report it".
 */
void mom_sample_set_reported(MomSample *sample, const char *field, gint64 v);

/* The HostTime clock: returns (transfer full) the current local time. */
typedef GDateTime *(*MomHostTimeNowFunc)(gpointer user_data);

/**
 * mom_host_time_set_clock:
 * Replaces the clock of the HostTime @state (from its init()) with @now,
 * called with @user_data, so tests can pin the time; NULL restores
 * g_date_time_new_now_local().
 */
void mom_host_time_set_clock(gpointer state, MomHostTimeNowFunc now, gpointer user_data);
