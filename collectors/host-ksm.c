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
 * sysfs set varies with version and CONFIG_NUMA (merge_across_nodes).
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
    gint64 ksmd_when; /* g_get_monotonic_time() of that reading */
} HostKsm;

typedef enum {
    KSM_INT,
    KSM_CHOICE, /* "[a] b c": the bracketed word, as a string */
} KsmFileKind;

static const struct {
    const char *file;
    const char *field;
    KsmFileKind kind;
} ksm_files[] = {
    {"full_scans", "ksm_full_scans", KSM_INT},
    {"pages_sharing", "ksm_pages_sharing", KSM_INT},
    {"pages_unshared", "ksm_pages_unshared", KSM_INT},
    {"run", "ksm_run", KSM_INT},
    {"pages_shared", "ksm_pages_shared", KSM_INT},
    {"pages_to_scan", "ksm_pages_to_scan", KSM_INT},
    {"pages_volatile", "ksm_pages_volatile", KSM_INT},
    {"sleep_millisecs", "ksm_sleep_millisecs", KSM_INT},
    {"merge_across_nodes", "ksm_merge_across_nodes", KSM_INT},
    {"general_profit", "ksm_general_profit", KSM_INT},
    {"ksm_zero_pages", "ksm_zero_pages", KSM_INT},
    {"advisor_mode", "ksm_advisor_mode", KSM_CHOICE},
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

/* Walks PROC/[0-9]*: processes come and go while we read, so any entry
 * that vanishes or cannot be parsed is skipped; only a PROC that cannot be
 * listed at all is an error. */
static gboolean
host_ksm_walk(HostKsm *hk, KsmWalk *walk, GError **error)
{
    g_autoptr(GDir) dir = NULL;
    GError *dir_error = NULL;
    const char *name;

    memset(walk, 0, sizeof(*walk));
    dir = g_dir_open(hk->proc_root, 0, &dir_error);
    if (!dir) {
        g_set_error(error, MOM_COLLECTOR_ERROR, MOM_COLLECTOR_ERROR_READ, "Cannot list %s: %s",
                    hk->proc_root, dir_error->message);
        g_error_free(dir_error);
        return FALSE;
    }
    while ((name = g_dir_read_name(dir))) {
        g_autofree char *path = NULL;
        g_autofree char *text = NULL;
        MomProcStat st;

        if (!is_pid_name(name))
            continue;
        path = g_build_filename(hk->proc_root, name, "stat", NULL);
        if (!mom_proc_read_file(path, MOM_PROC_MAX_SMALL_FILE, MOM_PROC_READ_OPTIONAL, &text, NULL,
                                NULL) ||
            !text || !mom_proc_parse_pid_stat(path, text, &st, NULL))
            continue;

        /* Kernel threads cannot be renamed from user space, so the flag
         * keeps a user process that calls itself "ksmd" from posing as it. */
        if (!walk->have_ksmd && strcmp(st.comm, "ksmd") == 0 && (st.flags & MOM_PROC_PF_KTHREAD)) {
            walk->have_ksmd = TRUE;
            walk->ksmd_pid = st.pid;
            walk->ksmd_ticks = st.utime + st.stime;
        }
        if (strstr(st.comm, "qemu"))
            walk->qemu_vsize += st.vsize;
    }
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
