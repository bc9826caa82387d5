/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The pressure fast path: notices sudden host memory pressure between two
 * policy cycles, within a second, and asks the daemon for an out-of-band
 * cycle.  Two watchers:
 *
 *   - a PSI trigger on PROC/pressure/memory, e.g. "some 150000 1000000"
 *     (tasks stalled on memory for 150 ms within any 1 s window), polled
 *     for POLLPRI (G_IO_PRI) as systemd-oomd and low-memory-monitor do;
 *   - a MemAvailable watch: a thread of its own that reads PROC/meminfo on
 *     a short interval (longer far from the floor) and fires (only then waking the main loop) when
 *     MemAvailable falls below a floor, or falls by a set amount since the
 *     last policy cycle (from the highest value read since then).  Stalls
 *     can come late (a host without swap has little to stall on before the
 *     OOM killer), and PSI triggers are not always available.
 *
 * Either event is passed on at most once per min-interval-ms; one that
 * comes sooner is deferred to the end of that interval and merged with
 * any others that come meanwhile, so no event is lost and none repeats.
 */
#pragma once

#include <glib.h>

#define MOM_PRESSURE_ERROR (mom_pressure_error_quark())
GQuark mom_pressure_error_quark(void);

typedef enum {
    MOM_PRESSURE_ERROR_TRIGGER,     /* a psi-trigger text that is not a PSI trigger */
    MOM_PRESSURE_ERROR_UNAVAILABLE, /* PSI triggers cannot be armed on this host */
    MOM_PRESSURE_ERROR_READ,        /* meminfo cannot be read or lacks a key */
} MomPressureErrorCode;

/* The [pressure] section of the configuration (docs/configuration.md). */
typedef struct {
    gboolean enabled;
    char *psi_trigger;           /* "some|full STALL_US WINDOW_US" */
    int available_floor_percent; /* of MemTotal; 0 turns the floor off */
    int available_drop_mib;      /* since the last policy cycle; 0 turns it off */
    int watch_interval_ms;       /* MemAvailable reads; 0 turns the watch off */
    int watch_max_interval_ms;   /* the longest, far from the floor (mom-pressure-priv.h) */
    int min_interval_ms;         /* between two out-of-band cycles */
} MomPressureOptions;

/* A parsed PSI trigger (Documentation/accounting/psi.rst, "Monitoring for
 * pressure thresholds"). */
typedef struct {
    gboolean full;     /* "full" rather than "some" */
    guint64 stall_us;  /* stall time that fires the trigger ... */
    guint64 window_us; /* ... within this moving window */
} MomPsiTrigger;

/**
 * mom_pressure_parse_trigger:
 * Parses @text as the kernel reads a PSI trigger, "some 150000 1000000" or
 * "full STALL_US WINDOW_US", and checks the kernel's limits: a window of
 * 500 ms to 10 s and a stall of at least 1 µs and at most the window.
 * Returns: FALSE with MOM_PRESSURE_ERROR_TRIGGER saying what is wrong.
 */
gboolean mom_pressure_parse_trigger(const char *text, MomPsiTrigger *out, GError **error);

/**
 * mom_pressure_describe_trigger:
 * Returns: (transfer full) @trigger as the log shows it, "PSI some 150 ms
 * in 1 s".
 */
char *mom_pressure_describe_trigger(const MomPsiTrigger *trigger);

/* Why the fast path fired. */
typedef enum {
    MOM_PRESSURE_PSI,       /* the PSI trigger */
    MOM_PRESSURE_AVAILABLE, /* the MemAvailable watch */
} MomPressureReason;

/**
 * MomPressureFunc:
 * Called on the main loop, rate limited, when the fast path fires.
 * @reason says which watcher fired and @why, a sentence without its full
 * stop, what it saw ("MemAvailable fell to 812 MiB, below the floor of
 * 1638 MiB (10 % of MemTotal)").
 */
typedef void (*MomPressureFunc)(MomPressureReason reason, const char *why, gpointer user_data);

typedef struct _MomPressure MomPressure;

/**
 * mom_pressure_new:
 * Starts the fast path on the main context for the host whose procfs is
 * at @proc_root, as @options say (@options->enabled is not looked at: the
 * caller creates no fast path when it is off).  A PSI trigger that cannot
 * be armed (no PROC/pressure/memory, PSI disabled, a trigger the kernel
 * refuses, or a file that is not procfs, as in a test tree) is not an
 * error: the MemAvailable watch then runs alone.  Either way one message
 * says what runs, and why PSI does not.
 * Returns: (transfer full) the fast path.
 */
MomPressure *mom_pressure_new(const char *proc_root, const MomPressureOptions *options,
                              MomPressureFunc func, gpointer user_data);

/** mom_pressure_free: Stops the watchers and frees @pressure (NULL is fine). */
void mom_pressure_free(MomPressure *pressure);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MomPressure, mom_pressure_free)

/**
 * mom_pressure_cycle_ran:
 * Tells the fast path that a policy cycle ran, scheduled or not: the
 * MemAvailable watch measures its drop from the value it read last.
 */
void mom_pressure_cycle_ran(MomPressure *pressure);

/** mom_pressure_psi_armed: Returns: TRUE when the PSI trigger is armed and watched. */
gboolean mom_pressure_psi_armed(const MomPressure *pressure);

/**
 * mom_pressure_below_floor:
 * Whether the MemAvailable watch's newest reading is below its floor (it
 * stays so until MemAvailable is 1 % of MemTotal above it).  momd runs its
 * pressure cycles while it is: see momd.c.
 * Returns: TRUE below the floor; FALSE above it or without a watch.
 */
gboolean mom_pressure_below_floor(MomPressure *pressure);
