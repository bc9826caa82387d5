/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The KSM controller: applies the host controls ksm_run, ksm_pages_to_scan,
 * ksm_sleep_millisecs, ksm_merge_across_nodes and ksm_smart_scan to
 * SYSFS/kernel/mm/ksm/{run,pages_to_scan,sleep_millisecs,merge_across_nodes,
 * smart_scan}.
 *
 * Each file holds one decimal number followed by a newline.  A value is
 * written only when it differs from what the file holds, so a steady policy
 * costs four small reads per cycle and no writes.  The kernel refuses some
 * writes for reasons of its own, and the controller yields to them instead
 * of retrying every cycle:
 *  - pages_to_scan: EINVAL while the KSM advisor (advisor_mode "scan-time",
 *    Linux 6.7+) tunes it;
 *  - merge_across_nodes: EBUSY while pages are merged; ksm_run 2 unmerges.
 * A dry run writes nothing and logs each decision once, not every cycle.
 *
 * Between policy cycles: a merge at a fast rate is over within a few full
 * scans, often a second or two, while the next policy cycle may be ten
 * seconds away, and ksmd would spend them scanning at the fast rate for
 * nothing.  So when the policy also sets ksm_idle_pages_to_scan,
 * ksm_idle_sleep_millisecs and ksm_idle_below, and ksmd runs faster than
 * that idle rate, the controller reads full_scans and the merged pages
 * (pages_shared + pages_sharing + ksm_zero_pages) every WATCH_MS.  The
 * first two full scans are left alone (a page merges on its second visit
 * at the earliest); after them, the first full scan that merged fewer than
 * ksm_idle_below pages switches ksmd to the idle rate at once.  The next
 * policy cycle decides again from the statistics.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ksm-priv.h"
#include "mom-controller.h"

typedef struct {
    const char *control; /* the policy's name */
    const char *file;    /* the sysfs file */
    gint64 min;
    gint64 max;
} KsmTunable;

enum { T_RUN, T_MERGE, T_PAGES, T_SLEEP, T_SMART, N_TUNABLES };

/* The ranges are momd's guard rails, not the kernel's: a pages_to_scan of
 * millions or a sleep of zero would make ksmd eat a CPU. */
static const KsmTunable tunables[N_TUNABLES] = {
    [T_RUN] = {"ksm_run", "run", 0, 2},
    [T_MERGE] = {"ksm_merge_across_nodes", "merge_across_nodes", 0, 1},
    [T_PAGES] = {"ksm_pages_to_scan", "pages_to_scan", 1, 100000},
    [T_SLEEP] = {"ksm_sleep_millisecs", "sleep_millisecs", 1, 600000},
    [T_SMART] = {"ksm_smart_scan", "smart_scan", 0, 1},
};

/* How often the watch between cycles reads KSM's counters: a fast full
 * scan takes about half a second (20-ksm's ksm_merge_scan_ms). */
#define WATCH_MS 250
/* Full scans after the watch starts that are never judged: the first
 * visit of a page only records its checksum, the second merges it. */
#define WATCH_SETTLE_SCANS 2

/* The idle rate the policy asked for, and the watch that applies it. */
typedef struct {
    guint source; /* the timeout, 0 when not watching */
    gint64 pages, sleep, below;
    gint64 fast_pages, fast_sleep; /* the rate it watches */
    gint64 start_scans;            /* full_scans when the watch began */
    gboolean judging;              /* past the settling scans */
    gint64 mark_scans, mark_merged;
} KsmWatch;

/* A dry run changes nothing, so the policy asks for the same change every
 * cycle: it is logged when it is new (a first one, a different one, or one
 * after a cycle that asked for none). */
typedef struct {
    guint64 cycle; /* the apply() that logged it; 0: none yet */
    gint64 have;
    gint64 want;
} KsmDryRunSaid;

struct _MomKsm {
    char *dir;
    gboolean dry_run;
    guint64 cycle; /* apply() calls, from 1 */
    KsmDryRunSaid dry_said[N_TUNABLES];
    gboolean restore;
    gboolean saved_present[N_TUNABLES];
    gint64 saved[N_TUNABLES];
    gboolean changed[N_TUNABLES]; /* written by us at least once */
    char *saved_advisor;          /* advisor mode we switched off, to restore */
    gboolean advisor_off_pending; /* switch the advisor off at the first apply */
    GHashTable *reported;         /* problems already logged, by key */
    MomKsmWriteFn write;
    KsmWatch watch;
};

static void G_GNUC_PRINTF(3, 4)
    ksm_log(GLogLevelFlags level, const char *tunable, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_log_structured(G_LOG_DOMAIN, level, "MOM_CONTROLLER", "KSM", "MOM_KSM_TUNABLE", tunable,
                     "MESSAGE", "%s", msg);
}

/* Logs a problem the first time it happens, and again only after it was
 * resolved in between: a refused write must not flood the journal. */
static void G_GNUC_PRINTF(3, 4) report_once(MomKsm *k, const char *key, const char *fmt, ...)
{
    if (g_hash_table_contains(k->reported, key))
        return;
    g_hash_table_add(k->reported, g_strdup(key));
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    ksm_log(G_LOG_LEVEL_WARNING, key, "%s", msg);
}

static void
resolved(MomKsm *k, const char *key)
{
    g_hash_table_remove(k->reported, key);
}

static int
default_write(const char *path, const char *text)
{
    /* O_TRUNC as a shell's "echo 1 > run" does: sysfs ignores it, and a
     * plain file (a test's fake sysfs) then holds just the new value. */
    int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (fd < 0)
        return errno;
    gssize len = (gssize)strlen(text);
    int err = write(fd, text, len) == len ? 0 : (errno ? errno : EIO);
    close(fd);
    return err;
}

static char *
path_of(MomKsm *k, const char *file)
{
    return g_build_filename(k->dir, file, NULL);
}

/* Reads a tunable; FALSE when the file is missing or not a number. */
static gboolean
read_value(MomKsm *k, const char *file, gint64 *out)
{
    g_autofree char *path = path_of(k, file);
    g_autofree char *text = NULL;
    char *end;

    if (!g_file_get_contents(path, &text, NULL, NULL))
        return FALSE;
    *out = g_ascii_strtoll(g_strstrip(text), &end, 10);
    return end != text && *end == '\0';
}

static int
write_value(MomKsm *k, const char *file, const char *text)
{
    g_autofree char *path = path_of(k, file);
    return k->write(path, text);
}

/* advisor_mode reads "[none] scan-time": the bracketed word is current. */
static char *
read_advisor(MomKsm *k)
{
    g_autofree char *path = path_of(k, "advisor_mode");
    g_autofree char *text = NULL;

    if (!g_file_get_contents(path, &text, NULL, NULL))
        return NULL;
    char *open = strchr(text, '['), *close = open ? strchr(open, ']') : NULL;
    if (!open || !close)
        return NULL;
    return g_strndup(open + 1, close - open - 1);
}

void
mom_ksm_set_write_hook(MomKsm *k, MomKsmWriteFn fn)
{
    k->write = fn ? fn : default_write;
}

/* In [main], not a section of their own: that is where docs/configuration.md
 * and existing configs have them. */
enum { OPT_RESTORE, OPT_ADVISOR_OFF };
static const MomControllerOption ksm_options[] = {
    [OPT_RESTORE] = {"main", "ksm-restore-on-exit", MOM_CONTROLLER_OPTION_BOOL, TRUE, 0, 0},
    [OPT_ADVISOR_OFF] = {"main", "ksm-advisor-off", MOM_CONTROLLER_OPTION_BOOL, FALSE, 0, 0},
    {.key = NULL},
};

static gpointer
ksm_init(const MomControllerConfig *cfg, GError **error)
{
    g_autofree char *dir = g_build_filename(cfg->sysfs_root, "kernel", "mm", "ksm", NULL);
    g_autofree char *run = g_build_filename(dir, "run", NULL);

    if (!g_file_test(run, G_FILE_TEST_EXISTS)) {
        g_set_error(error, MOM_CONTROLLER_ERROR, MOM_CONTROLLER_ERROR_INIT,
                    "The KSM controller needs %s, which does not exist: this kernel has no KSM "
                    "(CONFIG_KSM).",
                    run);
        return NULL;
    }
    MomKsm *k = g_new0(MomKsm, 1);
    k->dir = g_steal_pointer(&dir);
    k->dry_run = cfg->dry_run;
    k->restore = mom_controller_option_bool(cfg, &ksm_options[OPT_RESTORE]);
    k->reported = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    k->write = default_write;
    for (guint t = 0; t < N_TUNABLES; t++)
        k->saved_present[t] = read_value(k, tunables[t].file, &k->saved[t]);

    k->advisor_off_pending = mom_controller_option_bool(cfg, &ksm_options[OPT_ADVISOR_OFF]);
    return k;
}

/* Says once why the kernel refused @want for tunable @t (errno @err). */
static void
report_refusal(MomKsm *k, guint t, gint64 want, int err)
{
    const KsmTunable *tu = &tunables[t];

    if (t == T_PAGES && err == EINVAL) {
        g_autofree char *mode = read_advisor(k);
        if (mode && strcmp(mode, "none") != 0)
            report_once(k, tu->control,
                        "The kernel's KSM advisor (advisor_mode %s) tunes pages_to_scan, so "
                        "momd leaves it alone; set ksm-advisor-off to let the policy decide.",
                        mode);
        else
            report_once(k, tu->control,
                        "The kernel refused KSM pages_to_scan %" G_GINT64_FORMAT ": %s.", want,
                        g_strerror(err));
    } else if (t == T_MERGE && err == EBUSY) {
        report_once(k, tu->control,
                    "The kernel refused KSM merge_across_nodes %" G_GINT64_FORMAT
                    " while pages are merged; the policy must set ksm_run 2 to unmerge them "
                    "first.",
                    want);
    } else {
        report_once(k, tu->control, "Cannot write %" G_GINT64_FORMAT " to %s/%s: %s.", want, k->dir,
                    tu->file, g_strerror(err));
    }
}

/* Applies one tunable; @origin says which policy line asked for it.
 * Returns: (transfer full) what was done, for momctl controls. */
static char *
apply_one(MomKsm *k, guint t, const MomControl *c)
{
    const KsmTunable *tu = &tunables[t];
    gint64 want, have;
    char text[32];

    if (!mom_control_as_int(&c->value, &want)) {
        g_autoptr(GString) v = g_string_new(NULL);
        mom_value_repr(&c->value, TRUE, v);
        report_once(k, tu->control, "Ignoring the host control %s = %s set at %s:%d:%d: %s.",
                    tu->control, v->str, c->file, c->line, c->col,
                    c->value.type == MOM_VALUE_FLOAT
                        ? "it is not a finite number within the 64-bit integer range"
                        : "it must be a number");
        return g_strdup("ignored: not a usable number");
    }
    if (want < tu->min || want > tu->max) {
        report_once(k, tu->control,
                    "Ignoring the host control %s = %" G_GINT64_FORMAT
                    " set at %s:%d:%d: it must be between %" G_GINT64_FORMAT
                    " and %" G_GINT64_FORMAT ".",
                    tu->control, want, c->file, c->line, c->col, tu->min, tu->max);
        return g_strdup_printf("ignored: outside %" G_GINT64_FORMAT "..%" G_GINT64_FORMAT, tu->min,
                               tu->max);
    }
    if (!read_value(k, tu->file, &have)) {
        report_once(k, tu->control,
                    "Cannot apply %s: %s/%s is missing or unreadable on this kernel.", tu->control,
                    k->dir, tu->file);
        return g_strdup_printf("failed: %s is missing", tu->file);
    }
    if (have == want) {
        resolved(k, tu->control);
        return g_strdup("unchanged");
    }
    if (k->dry_run) {
        KsmDryRunSaid *said = &k->dry_said[t];
        if (said->cycle + 1 != k->cycle || said->have != have || said->want != want)
            ksm_log(G_LOG_LEVEL_MESSAGE, tu->control,
                    "KSM %s: %" G_GINT64_FORMAT " → %" G_GINT64_FORMAT
                    " would be written (dry run), requested at %s:%d:%d.",
                    tu->file, have, want, c->file, c->line, c->col);
        *said = (KsmDryRunSaid){k->cycle, have, want};
        return g_strdup_printf("dry run: would write %" G_GINT64_FORMAT " → %" G_GINT64_FORMAT,
                               have, want);
    }
    g_snprintf(text, sizeof(text), "%" G_GINT64_FORMAT "\n", want);
    int err = write_value(k, tu->file, text);
    if (err == 0) {
        resolved(k, tu->control);
        k->changed[t] = TRUE;
        ksm_log(G_LOG_LEVEL_MESSAGE, tu->control,
                "KSM %s: %" G_GINT64_FORMAT " → %" G_GINT64_FORMAT ", requested at %s:%d:%d.",
                tu->file, have, want, c->file, c->line, c->col);
        return g_strdup_printf("written %" G_GINT64_FORMAT " → %" G_GINT64_FORMAT, have, want);
    }
    report_refusal(k, t, want, err);
    return g_strdup_printf("refused by the kernel: %s", g_strerror(err));
}

/* ksm-advisor-off: done at the first apply rather than at init, so that it
 * goes through the same write path (and test hook) as every other write. */
static void
switch_advisor_off(MomKsm *k)
{
    g_autofree char *mode = read_advisor(k);

    k->advisor_off_pending = FALSE;
    if (!mode || strcmp(mode, "none") == 0)
        return;
    int err = k->dry_run ? 0 : write_value(k, "advisor_mode", "none\n");
    if (err) {
        ksm_log(G_LOG_LEVEL_WARNING, "advisor_mode",
                "Cannot switch the kernel's KSM advisor off (advisor_mode %s → none): %s.", mode,
                g_strerror(err));
        return;
    }
    ksm_log(G_LOG_LEVEL_MESSAGE, "advisor_mode", "KSM advisor_mode: %s → none%s.", mode,
            k->dry_run ? " would be written (dry run)" : "");
    if (!k->dry_run)
        k->saved_advisor = g_steal_pointer(&mode);
}

static void
apply_and_record(MomKsm *k, MomEntity *host, guint t, const MomControl *c)
{
    g_autofree char *outcome = apply_one(k, t, c);
    mom_entity_set_outcome(host, tunables[t].control, outcome);
}

/* Pages merged now: pages_shared + pages_sharing + ksm_zero_pages (the
 * last where the kernel has it).  FALSE when a file cannot be read. */
static gboolean
read_merged(MomKsm *k, gint64 *out)
{
    gint64 shared, sharing, zero = 0;

    if (!read_value(k, "pages_shared", &shared) || !read_value(k, "pages_sharing", &sharing))
        return FALSE;
    if (!read_value(k, "ksm_zero_pages", &zero) || zero < 0)
        zero = 0;
    *out = shared + sharing + zero;
    return TRUE;
}

static void
write_idle(MomKsm *k, guint t, gint64 want, gint64 merged, gint64 scans)
{
    char text[32];
    gint64 have;

    if (!read_value(k, tunables[t].file, &have) || have == want)
        return;
    g_snprintf(text, sizeof(text), "%" G_GINT64_FORMAT "\n", want);
    int err = write_value(k, tunables[t].file, text);
    if (err) {
        report_once(k, tunables[t].control, "Cannot write %" G_GINT64_FORMAT " to %s/%s: %s.", want,
                    k->dir, tunables[t].file, g_strerror(err));
        return;
    }
    k->changed[t] = TRUE;
    ksm_log(G_LOG_LEVEL_MESSAGE, tunables[t].control,
            "KSM %s: %" G_GINT64_FORMAT " → %" G_GINT64_FORMAT
            " between policy cycles: the last %" G_GINT64_FORMAT
            " full scan(s) merged %" G_GINT64_FORMAT
            " pages, fewer than ksm_idle_below (%" G_GINT64_FORMAT ") per scan.",
            tunables[t].file, have, want, scans, merged, k->watch.below);
}

static gboolean
watch_tick(gpointer user_data)
{
    MomKsm *k = user_data;
    KsmWatch *w = &k->watch;
    gint64 run, scans, merged;

    if (!read_value(k, "run", &run) || !read_value(k, "full_scans", &scans) ||
        !read_merged(k, &merged)) {
        report_once(k, "watch",
                    "The KSM controller stopped watching ksmd between policy cycles: %s/run, "
                    "full_scans, pages_shared or pages_sharing cannot be read.",
                    k->dir);
        w->source = 0;
        return G_SOURCE_REMOVE;
    }
    resolved(k, "watch");
    if (run != 1) { /* stopped by someone else: nothing to watch */
        w->source = 0;
        return G_SOURCE_REMOVE;
    }
    if (!w->judging) {
        if (scans - w->start_scans >= WATCH_SETTLE_SCANS) {
            w->judging = TRUE;
            w->mark_scans = scans;
            w->mark_merged = merged;
        }
        return G_SOURCE_CONTINUE;
    }
    if (scans <= w->mark_scans)
        return G_SOURCE_CONTINUE;
    gint64 n = scans - w->mark_scans, gained = merged - w->mark_merged;
    if (gained >= w->below * n) {
        w->mark_scans = scans;
        w->mark_merged = merged;
        return G_SOURCE_CONTINUE;
    }
    write_idle(k, T_PAGES, w->pages, gained, n);
    write_idle(k, T_SLEEP, w->sleep, gained, n);
    w->source = 0;
    return G_SOURCE_REMOVE;
}

/* The idle controls, each a number in its tunable's range (ksm_idle_below
 * at least 0); FALSE when one is missing or unusable, so that no watch
 * runs on half an instruction. */
static gboolean
idle_controls(MomEntity *host, KsmWatch *w)
{
    const MomControl *p = mom_controller_find_control(host, "ksm_idle_pages_to_scan");
    const MomControl *s = mom_controller_find_control(host, "ksm_idle_sleep_millisecs");
    const MomControl *b = mom_controller_find_control(host, "ksm_idle_below");

    return p && s && b && mom_control_as_int(&p->value, &w->pages) &&
           mom_control_as_int(&s->value, &w->sleep) && mom_control_as_int(&b->value, &w->below) &&
           w->pages >= tunables[T_PAGES].min && w->pages <= tunables[T_PAGES].max &&
           w->sleep >= tunables[T_SLEEP].min && w->sleep <= tunables[T_SLEEP].max &&
           w->below >= 0 && w->below <= G_MAXINT32; /* below * scans cannot overflow */
}

/* Starts the watch between cycles when ksmd runs faster than the idle
 * rate the policy gave (see the top of this file). */
static void
watch_start(MomKsm *k, MomEntity *host)
{
    KsmWatch *w = &k->watch;
    gint64 run, pages, sleep;

    KsmWatch want = *w;

    if (k->dry_run || !idle_controls(host, &want) || !read_value(k, "run", &run) || run != 1 ||
        !read_value(k, "pages_to_scan", &pages) || !read_value(k, "sleep_millisecs", &sleep)) {
        g_clear_handle_id(&w->source, g_source_remove);
        return;
    }
    /* ksmd's rate is pages / sleep: is it above the idle one? */
    if (pages * want.sleep <= want.pages * sleep) {
        g_clear_handle_id(&w->source, g_source_remove);
        return;
    }
    /* The same fast rate again: the watch goes on where it was, so that a
     * full scan longer than a policy interval (a big host) is judged too. */
    if (w->source && w->fast_pages == pages && w->fast_sleep == sleep) {
        w->pages = want.pages;
        w->sleep = want.sleep;
        w->below = want.below;
        return;
    }
    g_clear_handle_id(&w->source, g_source_remove);
    *w = want;
    if (!read_value(k, "full_scans", &w->start_scans))
        return;
    w->fast_pages = pages;
    w->fast_sleep = sleep;
    w->judging = FALSE;
    w->source = g_timeout_add(WATCH_MS, watch_tick, k);
    g_source_set_name_by_id(w->source, "momd KSM watch");
}

gboolean
mom_ksm_watching(MomKsm *k)
{
    return k->watch.source != 0;
}

static gboolean
ksm_apply(gpointer state, MomEntity *host, GPtrArray *guests, GError **error)
{
    MomKsm *k = state;
    const MomControl *c[N_TUNABLES];
    gint64 run = -1;

    k->cycle++;
    if (k->advisor_off_pending)
        switch_advisor_off(k);
    if (!host) {
        g_clear_handle_id(&k->watch.source, g_source_remove);
        return TRUE;
    }
    for (guint t = 0; t < N_TUNABLES; t++)
        c[t] = mom_controller_find_control(host, tunables[t].control);
    if (c[T_RUN])
        mom_control_as_int(&c[T_RUN]->value, &run);
    /* Stopping or unmerging goes first, so that a merge_across_nodes change
     * in the same cycle finds no merged pages; starting goes last, so that
     * ksmd wakes up with the new tunables. */
    if (c[T_RUN] && run != 1)
        apply_and_record(k, host, T_RUN, c[T_RUN]);
    for (guint t = T_MERGE; t < N_TUNABLES; t++)
        if (c[t])
            apply_and_record(k, host, t, c[t]);
    if (c[T_RUN] && run == 1)
        apply_and_record(k, host, T_RUN, c[T_RUN]);
    watch_start(k, host);
    static const char *const idle[] = {"ksm_idle_pages_to_scan", "ksm_idle_sleep_millisecs",
                                       "ksm_idle_below"};
    for (guint i = 0; i < G_N_ELEMENTS(idle); i++)
        if (mom_controller_find_control(host, idle[i]))
            mom_entity_set_outcome(host, idle[i],
                                   k->watch.source ? "noted: the idle rate, watched between cycles"
                                                   : "noted: the idle rate between cycles");
    return TRUE;
}

/* Writes @value to tunable @t at shutdown; logs the outcome. */
static void
restore_one(MomKsm *k, guint t, gint64 have, gint64 value)
{
    char text[32];

    g_snprintf(text, sizeof(text), "%" G_GINT64_FORMAT "\n", value);
    int err = write_value(k, tunables[t].file, text);
    if (err)
        ksm_log(G_LOG_LEVEL_WARNING, tunables[t].control,
                "Cannot restore KSM %s to %" G_GINT64_FORMAT ": %s.", tunables[t].file, value,
                g_strerror(err));
    else
        ksm_log(G_LOG_LEVEL_MESSAGE, tunables[t].control,
                "KSM %s restored: %" G_GINT64_FORMAT " → %" G_GINT64_FORMAT ".", tunables[t].file,
                have, value);
}

static gboolean
needs_restore(MomKsm *k, guint t, gint64 *have)
{
    return k->changed[t] && k->saved_present[t] && read_value(k, tunables[t].file, have) &&
           *have != k->saved[t];
}

static void
ksm_shutdown(gpointer state)
{
    MomKsm *k = state;
    gint64 have;

    g_clear_handle_id(&k->watch.source, g_source_remove);
    if (!k->restore || k->dry_run)
        return;
    /* The kernel refuses a merge_across_nodes change while pages are merged
     * (EBUSY): unmerge them first with run 2, as the policy would. */
    if (needs_restore(k, T_MERGE, &have)) {
        gint64 run;
        if (read_value(k, "run", &run) && run != 2) {
            restore_one(k, T_RUN, run, 2);
            k->changed[T_RUN] = TRUE;
        }
        restore_one(k, T_MERGE, have, k->saved[T_MERGE]);
    }
    /* Then run, so that ksmd stops (if it was off) before the rates move. */
    static const guint order[] = {T_RUN, T_PAGES, T_SLEEP, T_SMART};
    for (guint i = 0; i < G_N_ELEMENTS(order); i++)
        if (needs_restore(k, order[i], &have))
            restore_one(k, order[i], have, k->saved[order[i]]);
    if (k->saved_advisor) {
        g_autofree char *text = g_strdup_printf("%s\n", k->saved_advisor);
        int err = write_value(k, "advisor_mode", text);
        if (err)
            ksm_log(G_LOG_LEVEL_WARNING, "advisor_mode",
                    "Cannot restore the KSM advisor_mode %s: %s.", k->saved_advisor,
                    g_strerror(err));
        else
            ksm_log(G_LOG_LEVEL_MESSAGE, "advisor_mode", "KSM advisor_mode restored: none → %s.",
                    k->saved_advisor);
    }
}

static void
ksm_free(gpointer state)
{
    MomKsm *k = state;

    if (!k)
        return;
    g_clear_handle_id(&k->watch.source, g_source_remove);
    g_hash_table_destroy(k->reported);
    g_free(k->saved_advisor);
    g_free(k->dir);
    g_free(k);
}

const MomControllerClass mom_controller_ksm = {
    .name = "KSM",
    .options = ksm_options,
    .init = ksm_init,
    .apply = ksm_apply,
    .shutdown = ksm_shutdown,
    .free = ksm_free,
};
