/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Internal to mom-pressure.c and its tests: the fast path's decisions,
 * apart from the GLib sources that feed them, so that they can be tested
 * without a kernel that delivers PSI events.
 */
#pragma once

#include <glib.h>

#include "mom-pressure.h"

/* The MemAvailable watch's state.  Sizes are KiB. */
typedef struct {
    int floor_percent;   /* of MemTotal; 0: no floor */
    gint64 drop_kib;     /* 0: no drop rule */
    gint64 baseline_kib; /* what a drop is measured from; -1 before the first reading */
    gint64 last_kib;     /* the newest reading; -1 before the first */
    gint64 prev_kib;     /* the reading before it; -1 before the second */
    gboolean below;      /* fired for the floor and not re-armed yet */
} MomAvailWatch;

/** mom_avail_watch_init: Sets up @watch for a floor of @floor_percent and a drop of @drop_mib. */
void mom_avail_watch_init(MomAvailWatch *watch, int floor_percent, int drop_mib);

/**
 * mom_avail_watch_check:
 * Takes one reading of MemTotal and MemAvailable (KiB).  The watch fires
 * when MemAvailable crosses below floor_percent of @total_kib (once: it
 * fires again only after MemAvailable has come back 1 % of MemTotal above
 * the floor, so a value that hovers at the floor fires once), or when it
 * is at least drop_kib below the baseline: the highest reading since the
 * last policy cycle or event, or the reading at that cycle.  Either event
 * moves the baseline to this reading.  The first reading only sets the
 * baseline, unless it is below the floor.
 * Returns: (transfer full) (nullable) why it fired, a sentence without
 * its full stop, or NULL.
 */
char *mom_avail_watch_check(MomAvailWatch *watch, gint64 total_kib, gint64 avail_kib);

/** mom_avail_watch_cycle_ran: A policy cycle ran: the baseline becomes the newest reading. */
void mom_avail_watch_cycle_ran(MomAvailWatch *watch);

/**
 * mom_avail_watch_pace_us:
 * How long the watch sleeps after its newest reading, of @total_kib
 * MemTotal, taken @since_us after the one before it.  The reach is twice
 * the drop (2 GiB without a drop rule); the distance is to the floor line
 * (to 0 without a floor).  @interval_us (watch-interval-ms) before the
 * first reading, below the floor, within the reach of the floor line,
 * while MemAvailable falls faster than a sixteenth of the reach per
 * @interval_us (an eighth of the drop: 512 MiB/s as shipped), and
 * whenever @max_us is not above @interval_us; further up, in proportion
 * to the distance, up to @max_us (watch-max-interval-ms).  So the watch
 * never sleeps more than half of what a fall at the rate the drop rule is
 * sized for (the drop per interval) would take to reach the floor, and a
 * fast fall it sees keeps the short interval while it lasts.  (The caller
 * keeps the short interval after a failed reading.)
 * Returns: the µs to sleep.
 */
gint64 mom_avail_watch_pace_us(const MomAvailWatch *watch, gint64 total_kib, gint64 since_us,
                               gint64 interval_us, gint64 max_us);

/* The reasons of events that wait to be passed on as one: the first,
 * which says what started it, and the newest, which says where it stands;
 * the ones between are only counted, so that a wait of any length keeps
 * two sentences. */
typedef struct {
    char *first;
    char *newest; /* NULL while there is one */
    guint n;      /* events in all */
} MomReasons;

/** mom_reasons_add: Adds an event's reason @why (taken: a sentence without its full stop). */
void mom_reasons_add(MomReasons *reasons, char *why);

/**
 * mom_reasons_take:
 * Empties @reasons.
 * Returns: (transfer full) (nullable) NULL when no event waits; the one
 * reason; "FIRST; then NEWEST" for two; "FIRST; then N more, the newest:
 * NEWEST" for more.
 */
char *mom_reasons_take(MomReasons *reasons);

/** mom_reasons_clear: Empties @reasons, passing nothing on. */
void mom_reasons_clear(MomReasons *reasons);

/**
 * mom_pressure_delay_us:
 * The rate limit: an event at @now_us (monotonic) after one passed on at
 * @last_us (0: none yet) may pass when @min_interval_us have gone by.
 * Returns: 0 when it may pass now, else the µs to wait.
 */
gint64 mom_pressure_delay_us(gint64 last_us, gint64 now_us, gint64 min_interval_us);

/**
 * mom_pressure_psi_open:
 * Arms @trigger on @path: opens it O_RDWR | O_NONBLOCK, checks that it is
 * a procfs file (a regular file in a test tree would take the write and
 * never signal) and writes the trigger, NUL included, as the kernel wants.
 * Returns: the file descriptor to poll for POLLPRI, or -1 with
 * MOM_PRESSURE_ERROR_UNAVAILABLE saying why (no PSI, PSI disabled, a
 * trigger refused, with the kernel's rule for a process without
 * CAP_SYS_RESOURCE when that is the likely cause).
 */
int mom_pressure_psi_open(const char *path, const MomPsiTrigger *trigger, GError **error);

/**
 * mom_pressure_fire_for_test:
 * Feeds one event to @pressure's rate limiter as its PSI source does, so
 * that tests can check the limit on the real main loop.  @why is copied.
 */
void mom_pressure_fire_for_test(MomPressure *pressure, MomPressureReason reason, const char *why);
