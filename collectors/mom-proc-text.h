/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Parsers of the text of /proc/meminfo, /proc/vmstat and PSI files, public
 * for the guest agent (src/momd/mom-agent.c), which gets a guest's files as
 * text; the collectors' file readers are internal (proc-parse.h).  Every
 * function takes the path it reports in messages and does not log: errors
 * are GErrors in the MOM_COLLECTOR_ERROR domain (PARSE for content).
 */
#pragma once

#include <glib.h>

/* One wanted key of a "key value" file.  Callers declare an array of these
 * with the names set and the rest zeroed; the parsers fill @value and set
 * @found for each key present (the first occurrence wins, as MOM's
 * re.search does). */
typedef struct {
    const char *name;
    gint64 value;
    gboolean found;
} MomProcKey;

/**
 * mom_proc_parse_meminfo:
 * Parses @text, the contents of @path, in /proc/meminfo's format:
 *
 *     MemTotal:       24683656 kB
 *     HugePages_Total:       0
 *
 * and fills the @n_keys entries of @keys (values as printed, i.e. KiB for
 * "kB" lines).  Every line is checked, not only the wanted ones, so a
 * corrupt file is caught even when the damage is elsewhere.
 * Returns: FALSE with MOM_COLLECTOR_ERROR_PARSE naming @path and the line
 * when a line does not have that shape or the file is empty.
 */
gboolean mom_proc_parse_meminfo(const char *path, const char *text, MomProcKey *keys, guint n_keys,
                                GError **error);

/**
 * mom_proc_parse_vmstat:
 * Parses @text, the contents of @path, in /proc/vmstat's format, one
 * "name value" pair per line:
 *
 *     pswpin 1234
 *
 * and fills @keys like mom_proc_parse_meminfo().
 * Returns: FALSE with MOM_COLLECTOR_ERROR_PARSE on a malformed line or an
 * empty file.
 */
gboolean mom_proc_parse_vmstat(const char *path, const char *text, MomProcKey *keys, guint n_keys,
                               GError **error);

/**
 * mom_proc_check_keys:
 * Rejects values of @keys, parsed from @path, that cannot be true.  Every
 * key momd reads from meminfo and vmstat is a size or an event count, so
 * none may be negative; MemTotal must be at least 1; MemFree and
 * MemAvailable cannot exceed MemTotal, nor SwapFree SwapTotal (each pair
 * checked when both keys are in @keys and were found).  A corrupt or faked
 * file (a container's /proc, a test tree) would otherwise reach the
 * policies: a MemTotal of 0 divides by zero, a negative one turns the
 * default KSM policy's arithmetic upside down.
 * Returns: FALSE with MOM_COLLECTOR_ERROR_PARSE naming @path, the key and
 * its value.
 */
gboolean mom_proc_check_keys(const char *path, const MomProcKey *keys, guint n_keys,
                             GError **error);

/**
 * mom_proc_check_min:
 * Rejects @value, read from @path, when it is below @min, the smallest
 * value that can be true.  @name is the key within the file, or NULL when
 * the file holds just the one value (a sysfs attribute).
 * Returns: FALSE with MOM_COLLECTOR_ERROR_PARSE naming @path (and @name).
 */
gboolean mom_proc_check_min(const char *path, const char *name, gint64 value, gint64 min,
                            GError **error);

/**
 * mom_proc_key_find:
 * Returns: (transfer none) the entry of @keys named @name, or NULL.
 */
MomProcKey *mom_proc_key_find(MomProcKey *keys, guint n_keys, const char *name);

/* One line of a PSI file (Documentation/accounting/psi.rst). */
typedef struct {
    gboolean present;
    double avg10, avg60, avg300; /* percent of wall time stalled */
    guint64 total;               /* cumulative stall time, microseconds */
} MomPsiLine;

/**
 * mom_proc_parse_pressure:
 * Parses @text, the contents of @path, a PSI file such as /proc/pressure/memory:
 *
 *     some avg10=0.00 avg60=0.00 avg300=0.00 total=123
 *     full avg10=0.00 avg60=0.00 avg300=0.00 total=45
 *
 * into @some and @full; a line the kernel does not print (/proc/pressure/cpu
 * before 5.13 has no "full") is left with present == FALSE.
 * Returns: FALSE with MOM_COLLECTOR_ERROR_PARSE on a malformed line or when
 * the "some" line is missing.
 */
gboolean mom_proc_parse_pressure(const char *path, const char *text, MomPsiLine *some,
                                 MomPsiLine *full, GError **error);
