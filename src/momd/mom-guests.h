/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The guest manager: the running domains of the libvirt host, each with a
 * monitor (its collectors and sample history).  One bulk statistics call
 * per cycle, made in a worker thread, serves every guest; the results are
 * merged on the main context.  Guests appear and vanish with libvirt's
 * lifecycle events and with each collection, whichever comes first.
 */
#pragma once

#include <glib.h>

#include "mom-agent.h"
#include "mom-libvirt.h"
#include "mom-monitor.h"

typedef struct _MomGuests MomGuests;

/**
 * mom_guests_new:
 * Creates a manager that samples guests with the collectors named in
 * @collectors (checked here: an unknown or non-guest collector is an
 * error), keeping @history samples and plotting into @plot_dir when set.
 * Guests whose balloon has no statistics period get @stats_period seconds.
 * Returns: (transfer full) the manager, or NULL with @error.
 */
MomGuests *mom_guests_new(MomLibvirt *lv, char **collectors, const MomCollectorConfig *base,
                          guint history, MomPlotDir *plot_dir, int stats_period, GError **error);

/**
 * mom_guests_set_dry_run:
 * With @dry_run, the manager changes nothing in the guests: a balloon
 * without a statistics period is logged (once per guest) and left so.
 */
void mom_guests_set_dry_run(MomGuests *guests, gboolean dry_run);

/**
 * mom_guests_set_agent_options:
 * Sets the limits of GuestQemuAgent's reads from now on (the defaults
 * until then, MOM_AGENT_DEFAULT_*).
 * Returns: TRUE, or FALSE when GuestQemuAgent is not among the collectors
 * and nothing reads guest agents.
 */
gboolean mom_guests_set_agent_options(MomGuests *guests, const MomAgentOptions *options);

/** mom_guests_free: Frees @guests and every guest's history. */
void mom_guests_free(MomGuests *guests);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MomGuests, mom_guests_free)

/* A guest statistics call that has been running this long (or one
 * collection interval, if that is longer) is a stall worth a warning:
 * libvirt holds the bulk call for a second or two while a guest starts or
 * stops, which guest churn makes normal. */
#define MOM_GUESTS_STALL_WARN_S 5

/* A collection that has not returned after this many seconds is held by a
 * guest whose QEMU does not answer, or by libvirtd: momd then collects on
 * a second connection, one call at a time (mom_libvirt_collect_aside()). */
#define MOM_GUESTS_ASIDE_AFTER_S 3

/**
 * mom_guests_stall_is_news:
 * Returns: whether a statistics call running for @running_us µs, with
 * collections every @interval_s s, is late enough to warn about.
 */
gboolean mom_guests_stall_is_news(gint64 running_us, guint interval_s);

/**
 * mom_guests_tick:
 * Starts one collection of every guest, unless the previous one is still
 * running (then this tick is skipped and counted).
 */
void mom_guests_tick(MomGuests *guests);

/** mom_guests_forget: Drops the guest @uuid at once (it stopped, crashed or migrated away). */
void mom_guests_forget(MomGuests *guests, const char *uuid);

/**
 * mom_guests_entities:
 * Returns: (transfer container) the guests to offer to the policy: those
 * whose newest sample is complete, while libvirt is connected.
 */
GPtrArray *mom_guests_entities(MomGuests *guests);

/** mom_guests_count: Returns: the number of guests known (ready or not). */
guint mom_guests_count(const MomGuests *guests);

/** mom_guests_collections: Returns: completed collections (for tests and the benchmark). */
guint64 mom_guests_collections(const MomGuests *guests);

/** mom_guests_calls: Returns: libvirt calls made by the last collection. */
guint mom_guests_calls(const MomGuests *guests);
