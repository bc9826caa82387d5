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
 */
#include "config.h"

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

typedef struct {
    guint8 kind;   /* ProcKind */
    guint8 checks; /* walks that found it as @kind, up to SETTLED_CHECKS */
    guint seen;    /* generation of the last walk that listed it */
} ProcEntry;

typedef enum {
    KSM_INT,
    KSM_CHOICE, /* "[a] b c": the bracketed word, as a string */
} KsmFileKind;

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
} ksm_files[] = {
    {"full_scans", "ksm_full_scans", KSM_INT, 0},
    {"pages_sharing", "ksm_pages_sharing", KSM_INT, 0},
    {"pages_unshared", "ksm_pages_unshared", KSM_INT, 0},
    {"run", "ksm_run", KSM_INT, 0},
    {"pages_shared", "ksm_pages_shared", KSM_INT, 0},
    {"pages_to_scan", "ksm_pages_to_scan", KSM_INT, 0},
    {"pages_volatile", "ksm_pages_volatile", KSM_INT, 0},
    {"sleep_millisecs", "ksm_sleep_millisecs", KSM_INT, 0},
    {"merge_across_nodes", "ksm_merge_across_nodes", KSM_INT, 0},
    {"general_profit", "ksm_general_profit", KSM_INT, G_MININT64},
    /* Linux 6.6 to 6.9 could count it below zero (fixed upstream): an
     * optional statistic no policy needs must not stop KSM management */
    {"ksm_zero_pages", "ksm_zero_pages", KSM_INT, 0, TRUE},
    {"advisor_mode", "ksm_advisor_mode", KSM_CHOICE, 0},
};

static const char *const host_ksm_fields[] = {
    "ksm_full_scans",         "ksm_pages_sharing", "ksm_pages_unshared", "ksm_run",
    "ksm_pages_shared",       "ksm_pages_to_scan", "ksm_pages_volatile", "ksm_sleep_millisecs",
    "ksm_merge_across_nodes", "ksm_shareable",     "ksmd_cpu_usage",     NULL,
};

static const char *const host_ksm_optional_fields[] = {
    "ksm_general_profit",
    "ksm_zero_pages",
    "ksm_advisor_mode",
    NULL,
};

/* What one walk of PROC found. */
typedef struct {
    guint64 qemu_vsize; /* bytes */
    gboolean have_ksmd;
    gint64 ksmd_pid;
    guint64 ksmd_ticks;
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
        if (e->kind != PROC_OTHER && !account(hk, *(gint64 *)key, e, walk)) {
            g_hash_table_iter_remove(&it);
            all_there = FALSE;
        }
    }
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
host_ksm_walk(HostKsm *hk, KsmWalk *walk, GError **error)
{
    g_autoptr(GDir) dir = NULL;
    GError *dir_error = NULL;
    const char *name;
    GHashTableIter it;
    gpointer value;

    memset(walk, 0, sizeof(*walk));
    if (hk->generation > 0 && ++hk->since_scan < RESCAN_WALKS) {
        if (host_ksm_revisit(hk, walk))
            return TRUE;
        memset(walk, 0, sizeof(*walk));
    }
    hk->since_scan = 0;
    hk->generation++;
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
            g_hash_table_insert(hk->procs, key, e);
        }
        e->seen = hk->generation;
        if (e->kind != PROC_OTHER || e->checks < SETTLED_CHECKS)
            account(hk, pid, e, walk);
    }
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
    if (hk->clk_tck <= 0)
        hk->clk_tck = 100; /* the value every Linux ABI has used */

    /* Prime ksmd's counter now, as MOM does, so the first sample already
     * reports a usage. */
    if (!host_ksm_walk(hk, &walk, error)) {
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
    if (!host_ksm_walk(hk, &walk, error))
        goto fail;

    /* nil too, so a reused sample holds no stale value */
    for (i = 0; i < G_N_ELEMENTS(ksm_files); i++)
        mom_sample_set(out, ksm_files[i].field, parsed[i]);
    mom_sample_set_int(out, "ksm_shareable", (gint64)(walk.qemu_vsize / 1024));
    mom_sample_set_int(out, "ksmd_cpu_usage", host_ksm_cpu_usage(hk, &walk));
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
