/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Readers and parsers for the small text files of procfs and sysfs, for
 * the collectors (internal to collectors/; the tests include it too).  The
 * parsers of file text that the daemon also needs, for the guest files the
 * agent reads, are public in mom-proc-text.h.  Every function takes
 * the path it reports in messages, so errors name the file the user can
 * look at, and no function logs: errors go to the caller as GErrors in the
 * MOM_COLLECTOR_ERROR domain (READ for I/O, PARSE for content).
 */
#pragma once

#include <glib.h>

#include "mom-proc-text.h"

/* Size caps: procfs files report st_size 0, so the reader cannot size its
 * buffer up front and must refuse runaway input instead. */
#define MOM_PROC_MAX_FILE_SIZE (1024 * 1024) /* /proc/stat grows with CPUs */
#define MOM_PROC_MAX_SMALL_FILE 4096         /* /proc/PID/stat, sysfs values */

typedef enum {
    MOM_PROC_READ_REQUIRED = 0,
    /* A file that does not exist (ENOENT, ENOTDIR), whose process is gone
     * (ESRCH), or whose feature is compiled in but disabled (EOPNOTSUPP,
     * e.g. PSI with psi=0) is not an error: the reader succeeds with a
     * NULL buffer. */
    MOM_PROC_READ_OPTIONAL = 1 << 0,
} MomProcReadFlags;

/**
 * mom_proc_read_file:
 * Reads all of @path, at most @max_size bytes, into a NUL-terminated
 * buffer.  With MOM_PROC_READ_OPTIONAL a missing file sets *@contents to
 * NULL and succeeds.  @length (nullable) receives the byte count, which
 * counts embedded NULs (/proc/PID/cmdline).
 * Returns: TRUE on success; FALSE with MOM_COLLECTOR_ERROR_READ when the
 * file cannot be read, or MOM_COLLECTOR_ERROR_PARSE when it is larger
 * than @max_size.  *@contents is (transfer full).
 */
gboolean mom_proc_read_file(const char *path, gsize max_size, MomProcReadFlags flags,
                            char **contents, gsize *length, GError **error);

/**
 * mom_proc_read_keys:
 * Reads @path (required, size-capped), parses it with
 * mom_proc_parse_meminfo() when @meminfo is TRUE, else with
 * mom_proc_parse_vmstat(), and checks the values with
 * mom_proc_check_keys().  Returns: FALSE with @error on any failure.
 */
gboolean mom_proc_read_keys(const char *path, gboolean meminfo, MomProcKey *keys, guint n_keys,
                            GError **error);

/* The fields of /proc/PID/stat that momd uses (proc(5) numbering). */
typedef struct {
    gint64 pid;        /* 1 */
    char comm[64];     /* 2, without the parentheses; the kernel caps it at 15 */
    char state;        /* 3 */
    gint64 ppid;       /* 4 */
    guint64 flags;     /* 9, PF_* (PF_KTHREAD = 0x00200000 marks kernel threads) */
    guint64 minflt;    /* 10, minor faults */
    guint64 majflt;    /* 12, major faults */
    guint64 utime;     /* 14, clock ticks in user mode */
    guint64 stime;     /* 15, clock ticks in kernel mode */
    guint64 starttime; /* 22, clock ticks after boot */
    guint64 vsize;     /* 23, bytes of virtual memory */
    gint64 rss;        /* 24, resident pages */
} MomProcStat;

#define MOM_PROC_PF_KTHREAD 0x00200000

/**
 * mom_proc_parse_pid_stat:
 * Parses @text, the contents of @path, a /proc/PID/stat line:
 *
 *     1234 (qemu-kvm) S 1 1234 1234 0 -1 4194624 5000 0 7 0 300 200 ...
 *
 * The comm field is whatever the process named itself, so it may hold
 * spaces and ')': it runs from the first '(' to the LAST ')' of the line.
 * Fields up to rss (24) must be present.
 * Returns: FALSE with MOM_COLLECTOR_ERROR_PARSE on malformed input.
 */
gboolean mom_proc_parse_pid_stat(const char *path, const char *text, MomProcStat *out,
                                 GError **error);

/**
 * mom_proc_read_pid_stat:
 * Reads and parses @proc_root/@pid/stat.  A process that has exited is a
 * READ error ("No such file or directory" or "No such process"); walkers
 * that must skip vanished processes read the file with
 * MOM_PROC_READ_OPTIONAL themselves.  Returns: FALSE with @error.
 */
gboolean mom_proc_read_pid_stat(const char *proc_root, gint64 pid, MomProcStat *out,
                                GError **error);

/**
 * mom_proc_parse_int:
 * Parses @text, the contents of @path, as one decimal integer with
 * optional surrounding whitespace (a sysfs attribute such as
 * /sys/kernel/mm/ksm/run).  Returns: FALSE with MOM_COLLECTOR_ERROR_PARSE
 * otherwise.
 */
gboolean mom_proc_parse_int(const char *path, const char *text, gint64 *out, GError **error);

/**
 * mom_proc_parse_cpu_list:
 * Counts the CPUs of @text, the contents of @path, in the kernel's list
 * format (/sys/devices/system/cpu/online): "0-3,8,10-11\n" is 7 CPUs.  An
 * empty list is 0.  Returns: FALSE with MOM_COLLECTOR_ERROR_PARSE on a
 * malformed list or a reversed range.
 */
gboolean mom_proc_parse_cpu_list(const char *path, const char *text, guint *count, GError **error);

/* A cumulative kernel counter turned into per-sample deltas. */
typedef struct {
    gboolean valid;
    gint64 prev;
} MomCounter;

/**
 * mom_counter_delta:
 * Returns: @cur minus the previous value, then remembers @cur.  The first
 * call returns 0, as MOM does (it seeds the previous value with the
 * current one).  A counter that went backwards (a 32-bit wrap, or a
 * replaced source) also yields 0 rather than a negative rate.
 */
gint64 mom_counter_delta(MomCounter *counter, gint64 cur);

/** mom_counter_reset: Forgets the previous value, so the next delta is 0 again. */
void mom_counter_reset(MomCounter *counter);
