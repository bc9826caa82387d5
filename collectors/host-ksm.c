/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * HostKSM: Kernel Samepage Merging statistics.
 *
 * From SYSFS/kernel/mm/ksm/, one integer per file, each as ksm_<file>:
 *   full_scans, pages_sharing, pages_unshared, run, pages_shared,
 *   pages_to_scan, pages_volatile, sleep_millisecs, merge_across_nodes
 * (mandatory, MOM's getFields()), and the newer optional
 *   general_profit (bytes, may be negative), ksm_zero_pages (file of the
 *   same name), advisor_mode (string: the bracketed choice of
 *   "[none] scan-time").
 * and, where the kernel has them, pages_scanned (a counter, 6.1+) and
 * smart_scan (0 or 1, 6.7+).
 * A file this kernel lacks leaves its field nil: no error, since KSM's
 * sysfs set varies with version and CONFIG_NUMA (merge_across_nodes).  A
 * negative value where none can be (any file but general_profit) fails
 * the collection, so that the KSM policy never acts on it; but a negative
 * ksm_zero_pages, a kernel bug, only leaves that optional field nil.
 *
 * Computed, mandatory:
 *   ksm_shareable   summed virtual size (KiB) of every process whose name
 *                   contains "qemu".  MOM runs "pgrep qemu" then
 *                   "ps -ovsz", which is exactly that set (qemu-kvm,
 *                   qemu-system-*, and helpers such as qemu-nbd); we read
 *                   the stat file of each numeric PROC entry instead of
 *                   forking.
 *   ksmd_cpu_usage  integer percent of one CPU used by the ksmd kernel
 *                   thread since the previous sample (the first sample
 *                   covers the time since init, as MOM primes its counter
 *                   in __init__): 100 * (utime+stime delta) /
 *                   (CLK_TCK * interval), rounded down like MOM's Python 2
 *                   integer division.  0 when there is no ksmd, as MOM.
 *
 * Computed for a feedback tuner (optional, momd additions; nil where the
 * source is nil, 0 on the first sample):
 *   ksm_<file>_delta  change since the previous sample of full_scans,
 *                   pages_scanned (counters: 0 when one went backwards,
 *                   as after a reboot of the counters) and pages_sharing,
 *                   pages_shared, pages_unshared, pages_volatile,
 *                   ksm_zero_pages, general_profit (levels: signed);
 *   ksm_mergeable   KiB of memory KSM has to scan: the anonymous resident
 *                   memory (statm's resident minus shared) of every
 *                   process whose PROC/PID/ksm_stat says "ksm_mergeable:
 *                   yes" or "ksm_merge_any: yes" (recent kernels; nil on a
 *                   kernel without that line).  An estimate from above:
 *                   it counts a process's anonymous memory outside its
 *                   mergeable areas too, which for QEMU (whose guest RAM
 *                   is mergeable) is its own small heap.  Pages KSM
 *                   already merged are in it, since they stay resident
 *                   in every process that maps them;
 *   ksm_mergeable_added  KiB of anonymous memory the processes that merge
 *                   gained since momd started, each process counted on
 *                   its own above the most it held before (a process
 *                   found merging counts whole), so that a new region
 *                   shows even while another process gave back more, and
 *                   memory given back and taken again does not (a
 *                   counter; nil without ksm_mergeable);
 *   ksm_page_kib    the host's page size in KiB (4 on x86-64; 64 on some
 *                   aarch64 and ppc64le hosts), for counting pages;
 *   ksm_full_scan_s the seconds ksmd sleeps during one full scan of
 *                   ksm_mergeable at the current pages_to_scan and
 *                   sleep_millisecs (float; nil without ksm_mergeable).
 *                   An estimate: ksmd's own scanning time adds to it
 *                   (about as much again at a fast rate), smart_scan's
 *                   skipping of pages that did not merge lately takes
 *                   from it.
 * Which processes merge: reading every process's ksm_stat costs about
 * 3 us each, too much for every full scan of PROC on a host of hundreds
 * of processes.  So a full scan reads it for the processes known to merge,
 * the qemu processes and the young ones (those still being classified, as
 * for ksm_shareable); all processes are swept at the first scan, every
 * SWEEP_SCANS full scans, and at once when the host's AnonPages grew by
 * RESCAN_ANON_KIB since the last full scan (new memory: a guest or any
 * program that may have made it mergeable).  A process found to merge is
 * then read at every sample.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

#include "mom-collector.h"
#include "collector-priv.h"
#include "proc-parse.h"

typedef struct {
    char *ksm_dir;
    char *proc_root;
    guint interval; /* 0: use the measured time between samples */
    gint64 clk_tck;
    /* ksmd's CPU time at the previous sample, when it was seen. */
    gint64 ksmd_pid;
    guint64 ksmd_ticks;
    gint64 ksmd_when;        /* g_get_monotonic_time() of that reading */
    GHashTable *procs;       /* pid -> ProcEntry: what each process was found to be */
    guint generation;        /* full scan counter, to forget processes that exited */
    guint since_scan;        /* walks since the last full scan */
    gint64 anon_mark;        /* AnonPages (KiB) low point since the last full scan; -1: unknown */
    gboolean have_ksm_stat;  /* a PROC/PID/ksm_stat had the ksm_mergeable line */
    guint scans_since_sweep; /* full scans since every ksm_stat was read */
    gint64 page_kib;
    gint64 mergeable_added; /* ksm_mergeable_added */
    gint64 prev[16];        /* the previous sample's value of each ksm_files entry */
    gboolean prev_valid[16];
    gboolean zero_pages_bad; /* an omit_below_min value was said (only ksm_zero_pages has one) */
} HostKsm;

typedef enum { PROC_OTHER, PROC_QEMU, PROC_KSMD } ProcKind;

/* A process is re-read at every full scan while it is young: a child that
 * libvirt forked is not named qemu until it execs.  After this many scans
 * as something else it is left alone, so a scan costs one readdir plus one
 * stat read per qemu process instead of one per process on the host. */
#define SETTLED_CHECKS 3
/* Walks between two full scans of /proc (see host_ksm_walk). */
#define RESCAN_WALKS 6
/* Growth of the host's AnonPages that calls for a full scan at once: a
 * process that just took this much may have made it mergeable. */
#define RESCAN_ANON_KIB (32 * 1024)
/* Full scans between two sweeps of every process's ksm_stat: about five
 * minutes at the default host-monitor-interval. */
#define SWEEP_SCANS 10

typedef struct {
    guint8 kind;        /* ProcKind */
    guint8 checks;      /* walks that found it as @kind, up to SETTLED_CHECKS */
    gboolean mergeable; /* its ksm_stat said so at the last look */
    gint64 anon_hwm;    /* the most anonymous memory seen while it merges; -1: not merging */
    guint seen;         /* generation of the last walk that listed it */
} ProcEntry;

typedef enum {
    KSM_INT,
    KSM_CHOICE, /* "[a] b c": the bracketed word, as a string */
} KsmFileKind;

/* What ksm_<file>_delta says about an integer file. */
typedef enum {
    DELTA_NONE,
    DELTA_COUNTER, /* only grows: a step back gives 0 */
    DELTA_LEVEL,   /* goes up and down: signed */
} KsmDelta;

/* @min: the smallest value that can be true.  Every file is a count, a
 * setting or a time, never negative, except general_profit, which is
 * negative while KSM's metadata costs more than its merging saves (the
 * kernel itself hides a transiently negative pages_volatile). */
static const struct {
    const char *file;
    const char *field;
    KsmFileKind kind;
    gint64 min;
    /* below @min: the field is left out rather than the sample failed */
    gboolean omit_below_min;
    KsmDelta delta;
    const char *delta_field;
} ksm_files[] = {
    {"full_scans", "ksm_full_scans", KSM_INT, 0, FALSE, DELTA_COUNTER, "ksm_full_scans_delta"},
    {"pages_sharing", "ksm_pages_sharing", KSM_INT, 0, FALSE, DELTA_LEVEL,
     "ksm_pages_sharing_delta"},
    {"pages_unshared", "ksm_pages_unshared", KSM_INT, 0, FALSE, DELTA_LEVEL,
     "ksm_pages_unshared_delta"},
    {"run", "ksm_run", KSM_INT, 0},
    {"pages_shared", "ksm_pages_shared", KSM_INT, 0, FALSE, DELTA_LEVEL, "ksm_pages_shared_delta"},
    {"pages_to_scan", "ksm_pages_to_scan", KSM_INT, 0},
    {"pages_volatile", "ksm_pages_volatile", KSM_INT, 0, FALSE, DELTA_LEVEL,
     "ksm_pages_volatile_delta"},
    {"sleep_millisecs", "ksm_sleep_millisecs", KSM_INT, 0},
    {"merge_across_nodes", "ksm_merge_across_nodes", KSM_INT, 0},
    {"general_profit", "ksm_general_profit", KSM_INT, G_MININT64, FALSE, DELTA_LEVEL,
     "ksm_general_profit_delta"},
    /* Linux 6.6 to 6.9 could count it below zero (fixed upstream): an
     * optional statistic no policy needs must not stop KSM management */
    {"ksm_zero_pages", "ksm_zero_pages", KSM_INT, 0, TRUE, DELTA_LEVEL, "ksm_zero_pages_delta"},
    {"advisor_mode", "ksm_advisor_mode", KSM_CHOICE, 0},
    {"pages_scanned", "ksm_pages_scanned", KSM_INT, 0, FALSE, DELTA_COUNTER,
     "ksm_pages_scanned_delta"},
    {"smart_scan", "ksm_smart_scan", KSM_INT, 0},
};

G_STATIC_ASSERT(G_N_ELEMENTS(ksm_files) <= 16); /* HostKsm.prev */

static const char *const host_ksm_fields[] = {
    "ksm_full_scans",         "ksm_pages_sharing", "ksm_pages_unshared", "ksm_run",
    "ksm_pages_shared",       "ksm_pages_to_scan", "ksm_pages_volatile", "ksm_sleep_millisecs",
    "ksm_merge_across_nodes", "ksm_shareable",     "ksmd_cpu_usage",     NULL,
};

static const char *const host_ksm_optional_fields[] = {
    "ksm_general_profit",       "ksm_zero_pages",
    "ksm_advisor_mode",         "ksm_pages_scanned",
    "ksm_smart_scan",           "ksm_full_scans_delta",
    "ksm_pages_scanned_delta",  "ksm_pages_sharing_delta",
    "ksm_pages_shared_delta",   "ksm_pages_unshared_delta",
    "ksm_pages_volatile_delta", "ksm_zero_pages_delta",
    "ksm_general_profit_delta", "ksm_mergeable",
    "ksm_mergeable_added",      "ksm_page_kib",
    "ksm_full_scan_s",          NULL,
};

/* What one walk of PROC found. */
typedef struct {
    guint64 qemu_vsize; /* bytes */
    gboolean have_ksmd;
    gint64 ksmd_pid;
    guint64 ksmd_ticks;
    guint64 mergeable_kib; /* anonymous memory of processes that merge */
    gboolean have_ksm_stat;
} KsmWalk;

static gboolean
is_pid_name(const char *name)
{
    for (const char *p = name; *p; p++)
        if (!g_ascii_isdigit(*p))
            return FALSE;
    return *name != '\0';
}

/* Reads @pid's stat, (re)classifies it and adds what it counts to @walk.
 * Returns FALSE when the process is gone or its stat is unreadable. */
static gboolean
account(HostKsm *hk, gint64 pid, ProcEntry *e, KsmWalk *walk)
{
    g_autofree char *text = NULL;
    char path[256];
    MomProcStat st;

    g_snprintf(path, sizeof(path), "%s/%" G_GINT64_FORMAT "/stat", hk->proc_root, pid);
    if (!mom_proc_read_file(path, MOM_PROC_MAX_SMALL_FILE, MOM_PROC_READ_OPTIONAL, &text, NULL,
                            NULL) ||
        !text || !mom_proc_parse_pid_stat(path, text, &st, NULL))
        return FALSE;

    /* Kernel threads cannot be renamed from user space, so the flag keeps a
     * user process that calls itself "ksmd" from posing as it. */
    ProcKind kind = PROC_OTHER;
    if (strcmp(st.comm, "ksmd") == 0 && (st.flags & MOM_PROC_PF_KTHREAD))
        kind = PROC_KSMD;
    else if (strstr(st.comm, "qemu"))
        kind = PROC_QEMU;
    e->checks = kind == e->kind ? MIN(e->checks + 1, SETTLED_CHECKS) : 1;
    e->kind = kind;

    if (kind == PROC_KSMD && !walk->have_ksmd) {
        walk->have_ksmd = TRUE;
        walk->ksmd_pid = st.pid;
        walk->ksmd_ticks = st.utime + st.stime;
    } else if (kind == PROC_QEMU) {
        walk->qemu_vsize += st.vsize;
    }
    return TRUE;
}

/* Adds @e's anonymous memory (statm: resident minus shared, in pages) to
 * @walk, and to ksm_mergeable_added what it holds above its high-water
 * mark: memory a process gives back and takes again (a balloon that moves,
 * a heap that breathes) is not new to KSM.  FALSE when statm is gone. */
static gboolean
account_anon(HostKsm *hk, gint64 pid, ProcEntry *e, KsmWalk *walk)
{
    g_autofree char *statm = NULL;
    char path[256];
    gint64 resident, shared;

    g_snprintf(path, sizeof(path), "%s/%" G_GINT64_FORMAT "/statm", hk->proc_root, pid);
    if (!mom_proc_read_file(path, MOM_PROC_MAX_SMALL_FILE, MOM_PROC_READ_OPTIONAL, &statm, NULL,
                            NULL) ||
        !statm ||
        sscanf(statm, "%*d %" G_GINT64_MODIFIER "d %" G_GINT64_MODIFIER "d", &resident, &shared) !=
            2 ||
        resident < shared || shared < 0)
        return FALSE;
    gint64 anon = (resident - shared) * hk->page_kib;
    walk->mergeable_kib += (guint64)anon;
    if (anon > e->anon_hwm) {
        hk->mergeable_added += anon - MAX(e->anon_hwm, 0);
        e->anon_hwm = anon;
    }
    return TRUE;
}

/* Looks whether @pid merges (its ksm_stat) and, when it does, accounts
 * its memory.  A kernel thread's ksm_stat is empty; a kernel before the
 * ksm_mergeable line has none: either way it does not count.  Reading
 * ksm_stat takes the process's mmap lock, so a process known to merge is
 * looked at again only at full scans; in between account_anon() reads its
 * statm alone. */
static void
account_mergeable(HostKsm *hk, gint64 pid, ProcEntry *e, KsmWalk *walk)
{
    g_autofree char *text = NULL;
    char path[256];

    g_snprintf(path, sizeof(path), "%s/%" G_GINT64_FORMAT "/ksm_stat", hk->proc_root, pid);
    e->mergeable = FALSE;
    if (!mom_proc_read_file(path, MOM_PROC_MAX_SMALL_FILE, MOM_PROC_READ_OPTIONAL, &text, NULL,
                            NULL) ||
        !text)
        goto not_merging;
    if (strstr(text, "ksm_mergeable"))
        walk->have_ksm_stat = TRUE;
    if (!strstr(text, "ksm_mergeable: yes") && !strstr(text, "ksm_merge_any: yes"))
        goto not_merging;
    e->mergeable = TRUE;
    account_anon(hk, pid, e, walk);
    return;

not_merging:
    e->anon_hwm = -1; /* if it merges again, all of it is new to KSM */
}

/* AnonPages of PROC/meminfo in KiB, or -1 when it cannot be read: a hint
 * only, so its failure is no error. */
static gint64
read_anon_kib(HostKsm *hk)
{
    g_autofree char *path = g_build_filename(hk->proc_root, "meminfo", NULL);
    g_autofree char *text = NULL;
    MomProcKey key = {"AnonPages"};

    if (!mom_proc_read_file(path, MOM_PROC_MAX_SMALL_FILE, MOM_PROC_READ_OPTIONAL, &text, NULL,
                            NULL) ||
        !text || !mom_proc_parse_meminfo(path, text, &key, 1, NULL) || !key.found || key.value < 0)
        return -1;
    return key.value;
}

/* Between full scans only the processes already known as qemu or ksmd
 * are read again.  Returns FALSE when one of them exited: guests come and
 * go together (a migration, a restart), so that calls for a full scan. */
static gboolean
host_ksm_revisit(HostKsm *hk, KsmWalk *walk)
{
    GHashTableIter it;
    gpointer key, value;
    gboolean all_there = TRUE;

    g_hash_table_iter_init(&it, hk->procs);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        ProcEntry *e = value;
        gint64 pid = *(gint64 *)key;
        if ((e->kind != PROC_OTHER || e->mergeable) && !account(hk, pid, e, walk)) {
            g_hash_table_iter_remove(&it);
            all_there = FALSE;
        } else if (e->mergeable) {
            account_anon(hk, pid, e, walk);
        }
    }
    walk->have_ksm_stat = hk->have_ksm_stat; /* as the last full scan found */
    return all_there;
}

/* Walks PROC/[0-9]*: processes come and go while we read, so any entry
 * that vanishes or cannot be parsed is skipped; only a PROC that cannot be
 * listed at all is an error.  MOM counted every process whose name
 * contains "qemu" (pgrep qemu); so do we.  Listing /proc costs about
 * 0.15 us per process on the host (90 us for 600), so it is done every
 * RESCAN_WALKS walks, or as soon as a known qemu process or ksmd is gone;
 * in between, those known processes are read directly.  A new guest is
 * therefore counted within RESCAN_WALKS samples. */
static gboolean
host_ksm_walk(HostKsm *hk, gint64 anon, KsmWalk *walk, GError **error)
{
    g_autoptr(GDir) dir = NULL;
    GError *dir_error = NULL;
    const char *name;
    GHashTableIter it;
    gpointer value;

    gboolean anon_grew = anon >= 0 && hk->anon_mark >= 0 && anon - hk->anon_mark >= RESCAN_ANON_KIB;

    if (anon >= 0)
        hk->anon_mark = hk->anon_mark >= 0 ? MIN(hk->anon_mark, anon) : anon;
    memset(walk, 0, sizeof(*walk));
    if (hk->generation > 0 && ++hk->since_scan < RESCAN_WALKS && !anon_grew) {
        if (host_ksm_revisit(hk, walk))
            return TRUE;
        memset(walk, 0, sizeof(*walk));
    }
    gboolean sweep = anon_grew || hk->generation == 0 || ++hk->scans_since_sweep >= SWEEP_SCANS;
    if (sweep)
        hk->scans_since_sweep = 0;
    hk->since_scan = 0;
    hk->generation++;
    hk->anon_mark = anon;
    dir = g_dir_open(hk->proc_root, 0, &dir_error);
    if (!dir) {
        g_set_error(error, MOM_COLLECTOR_ERROR, MOM_COLLECTOR_ERROR_READ, "Cannot list %s: %s",
                    hk->proc_root, dir_error->message);
        g_error_free(dir_error);
        return FALSE;
    }
    while ((name = g_dir_read_name(dir))) {
        if (!is_pid_name(name))
            continue;
        gint64 pid = g_ascii_strtoll(name, NULL, 10);
        ProcEntry *e = g_hash_table_lookup(hk->procs, &pid);
        if (!e) {
            gint64 *key = g_new(gint64, 1);
            *key = pid;
            e = g_new0(ProcEntry, 1);
            e->anon_hwm = -1;
            g_hash_table_insert(hk->procs, key, e);
        }
        e->seen = hk->generation;
        gboolean young = e->checks < SETTLED_CHECKS;
        if (e->kind != PROC_OTHER || young)
            account(hk, pid, e, walk);
        if (e->kind != PROC_KSMD && (sweep || young || e->mergeable || e->kind == PROC_QEMU))
            account_mergeable(hk, pid, e, walk);
    }
    hk->have_ksm_stat = hk->have_ksm_stat || walk->have_ksm_stat;
    walk->have_ksm_stat = hk->have_ksm_stat;
    g_hash_table_iter_init(&it, hk->procs);
    while (g_hash_table_iter_next(&it, NULL, &value))
        if (((ProcEntry *)value)->seen != hk->generation)
            g_hash_table_iter_remove(&it);
    return TRUE;
}

static void
host_ksm_remember(HostKsm *hk, const KsmWalk *walk)
{
    hk->ksmd_pid = walk->have_ksmd ? walk->ksmd_pid : 0;
    hk->ksmd_ticks = walk->ksmd_ticks;
    hk->ksmd_when = g_get_monotonic_time();
}

static void
host_ksm_free(gpointer state)
{
    HostKsm *hk = state;

    g_hash_table_destroy(hk->procs);
    g_free(hk->ksm_dir);
    g_free(hk->proc_root);
    g_free(hk);
}

static gpointer
host_ksm_init(const MomCollectorConfig *cfg, GError **error)
{
    HostKsm *hk = g_new0(HostKsm, 1);
    KsmWalk walk;

    hk->ksm_dir = g_build_filename(cfg->sysfs_root, "kernel", "mm", "ksm", NULL);
    hk->proc_root = g_strdup(cfg->proc_root);
    hk->procs = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
    hk->interval = cfg->interval;
    hk->clk_tck = sysconf(_SC_CLK_TCK);
    hk->page_kib = MAX(sysconf(_SC_PAGESIZE) / 1024, 1);
    hk->anon_mark = -1;
    if (hk->clk_tck <= 0)
        hk->clk_tck = 100; /* the value every Linux ABI has used */

    /* Prime ksmd's counter now, as MOM does, so the first sample already
     * reports a usage. */
    if (!host_ksm_walk(hk, -1, &walk, error)) {
        host_ksm_free(hk);
        return NULL;
    }
    host_ksm_remember(hk, &walk);
    return hk;
}

/* "[none] scan-time" -> "none". */
static char *
parse_choice(const char *path, const char *text, GError **error)
{
    const char *lb = strchr(text, '[');
    const char *rb = lb ? strchr(lb, ']') : NULL;

    if (!lb || !rb || rb == lb + 1) {
        g_autofree char *cut = g_strstrip(g_strndup(text, 64));
        g_autofree char *bad = g_strescape(cut, NULL);
        g_set_error(error, MOM_COLLECTOR_ERROR, MOM_COLLECTOR_ERROR_PARSE,
                    "%s: expected a choice such as '[none] scan-time', got '%s'", path, bad);
        return NULL;
    }
    return g_strndup(lb + 1, rb - lb - 1);
}

static gint64
host_ksm_cpu_usage(HostKsm *hk, const KsmWalk *walk)
{
    gint64 now = g_get_monotonic_time();
    guint64 delta = 0;
    gint64 usage;

    /* A new ksmd (or the first one seen) has no baseline yet. */
    if (walk->have_ksmd && hk->ksmd_pid == walk->ksmd_pid && walk->ksmd_ticks >= hk->ksmd_ticks)
        delta = walk->ksmd_ticks - hk->ksmd_ticks;

    if (hk->interval > 0) {
        usage = (gint64)(100 * delta / ((guint64)hk->clk_tck * hk->interval));
    } else {
        /* No configured interval (e.g. a one-shot momctl collection):
         * divide by the time that really passed. */
        gint64 elapsed = now - hk->ksmd_when;
        usage = elapsed > 0 ? (gint64)(100.0 * delta * G_USEC_PER_SEC / hk->clk_tck / elapsed) : 0;
    }
    host_ksm_remember(hk, walk);
    return usage;
}

/* ksm_<file>_delta of ksm_files[@i], whose value now is @cur. */
static void
host_ksm_set_delta(HostKsm *hk, MomSample *out, guint i, const MomValue *cur)
{
    gint64 v;

    if (cur->type != MOM_VALUE_INT) {
        hk->prev_valid[i] = FALSE;
        mom_sample_set(out, ksm_files[i].delta_field, mom_value_nil());
        return;
    }
    v = cur->u.i;
    gint64 delta = hk->prev_valid[i] ? v - hk->prev[i] : 0;
    if (ksm_files[i].delta == DELTA_COUNTER && delta < 0)
        delta = 0;
    hk->prev[i] = v;
    hk->prev_valid[i] = TRUE;
    mom_sample_set_int(out, ksm_files[i].delta_field, delta);
}

/* The integer value parsed for @file, or -1 when it has none. */
static gint64
parsed_int(const MomValue *parsed, const char *file)
{
    for (guint i = 0; i < G_N_ELEMENTS(ksm_files); i++)
        if (strcmp(ksm_files[i].file, file) == 0)
            return parsed[i].type == MOM_VALUE_INT ? parsed[i].u.i : -1;
    g_assert_not_reached();
}

static void
host_ksm_set_mergeable(HostKsm *hk, MomSample *out, const KsmWalk *walk, const MomValue *parsed)
{
    gint64 pages = parsed_int(parsed, "pages_to_scan");
    gint64 sleep_ms = parsed_int(parsed, "sleep_millisecs");

    if (!walk->have_ksm_stat) {
        mom_sample_set(out, "ksm_mergeable", mom_value_nil());
        mom_sample_set(out, "ksm_mergeable_added", mom_value_nil());
        mom_sample_set(out, "ksm_page_kib", mom_value_nil());
        mom_sample_set(out, "ksm_full_scan_s", mom_value_nil());
        return;
    }
    mom_sample_set_int(out, "ksm_mergeable", (gint64)walk->mergeable_kib);
    mom_sample_set_int(out, "ksm_mergeable_added", hk->mergeable_added);
    mom_sample_set_int(out, "ksm_page_kib", hk->page_kib);
    if (pages > 0 && sleep_ms >= 0)
        mom_sample_set(out, "ksm_full_scan_s",
                       mom_value_float((double)walk->mergeable_kib / (double)hk->page_kib *
                                       (double)sleep_ms / 1000.0 / (double)pages));
    else
        mom_sample_set(out, "ksm_full_scan_s", mom_value_nil());
}

static gboolean
host_ksm_collect(gpointer state, MomSample *out, GError **error)
{
    HostKsm *hk = state;
    MomValue parsed[G_N_ELEMENTS(ksm_files)];
    KsmWalk walk;
    guint i;

    for (i = 0; i < G_N_ELEMENTS(ksm_files); i++)
        parsed[i] = mom_value_nil();
    /* Parse every file first: on error nothing is written to @out. */
    for (i = 0; i < G_N_ELEMENTS(ksm_files); i++) {
        g_autofree char *path = g_build_filename(hk->ksm_dir, ksm_files[i].file, NULL);
        g_autofree char *text = NULL;
        gint64 v;

        if (!mom_proc_read_file(path, MOM_PROC_MAX_SMALL_FILE, MOM_PROC_READ_OPTIONAL, &text, NULL,
                                error))
            goto fail;
        if (!text)
            continue;
        if (ksm_files[i].kind == KSM_INT) {
            if (!mom_proc_parse_int(path, text, &v, error))
                goto fail;
            if (ksm_files[i].omit_below_min) {
                gboolean bad = v < ksm_files[i].min;
                if (bad && !hk->zero_pages_bad)
                    g_message("%s is %" G_GINT64_FORMAT ", which cannot be true (a known bug "
                              "of some kernels): %s is left out while it is negative.",
                              path, v, ksm_files[i].field);
                hk->zero_pages_bad = bad;
                if (bad)
                    continue;
            }
            if (!mom_proc_check_min(path, NULL, v, ksm_files[i].min, error))
                goto fail;
            parsed[i] = mom_value_int(v);
        } else {
            g_autofree char *choice = parse_choice(path, text, error);
            if (!choice)
                goto fail;
            parsed[i] = mom_value_string(choice, -1);
        }
    }
    /* HostMemory, listed before HostKSM as in the shipped config, has
     * just read AnonPages into this sample: reading meminfo again would
     * cost as much as the rest of this collection */
    const MomValue *anon = mom_sample_get(out, "anon_pages");
    if (!host_ksm_walk(hk, anon->type == MOM_VALUE_INT ? anon->u.i : read_anon_kib(hk), &walk,
                       error))
        goto fail;

    /* nil too, so a reused sample holds no stale value */
    for (i = 0; i < G_N_ELEMENTS(ksm_files); i++) {
        if (ksm_files[i].delta != DELTA_NONE)
            host_ksm_set_delta(hk, out, i, &parsed[i]);
        mom_sample_set(out, ksm_files[i].field, parsed[i]);
    }
    mom_sample_set_int(out, "ksm_shareable", (gint64)(walk.qemu_vsize / 1024));
    mom_sample_set_int(out, "ksmd_cpu_usage", host_ksm_cpu_usage(hk, &walk));
    host_ksm_set_mergeable(hk, out, &walk, parsed);
    return TRUE;

fail:
    for (i = 0; i < G_N_ELEMENTS(ksm_files); i++)
        mom_value_clear(&parsed[i]);
    return FALSE;
}

const MomCollectorClass mom_collector_host_ksm = {
    .name = "HostKSM",
    .fields = host_ksm_fields,
    .optional_fields = host_ksm_optional_fields,
    .init = host_ksm_init,
    .collect = host_ksm_collect,
    .free = host_ksm_free,
};
