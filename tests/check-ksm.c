/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The KSM controller against a fake sysfs tree.
 *
 * Each test makes SYSFS/kernel/mm/ksm/ in a temporary directory with the
 * files the controller reads, sets host controls the way momd does (by
 * evaluating a tiny policy on a host MomEntity) and calls apply.  Writes go
 * through the test hook of ksm-priv.h, which records them (so we can count
 * and order them) and can fail one file with an errno, as the kernel
 * refuses pages_to_scan (EINVAL) or merge_across_nodes (EBUSY).  As root
 * file modes do not stop writes, EACCES is also simulated by the hook.
 * Log lines are captured with a structured-log writer, so the tests can
 * check that a problem is reported once and not once per cycle.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "ksm-priv.h"
#include "mom-controller.h"
#include "mom-policy.h"
#include "mom-test-fs.h"
#include "mom-test-log.h"

/* ---- captured logs and writes ------------------------------------------- */

/* "LEVEL|TUNABLE|message" for every mom-controller log line. */
static const char *const log_fields[] = {"MOM_KSM_TUNABLE", NULL};
/* "file=value" for every write attempt through the hook, in order. */
static GPtrArray *writes;
/* Made in main(), before check forks, and removed there: a failed
 * assertion ends a test without its cleanups, and must not leak. */
static char *tmp_parent;
/* The file the hook refuses, and with which errno (0: none). */
static const char *fail_file;
static int fail_errno;

/* The writes so far, joined with spaces: "run=2 merge_across_nodes=0". */
static char *
joined_writes(void)
{
    g_autoptr(GString) s = g_string_new(NULL);

    for (guint i = 0; i < writes->len; i++)
        g_string_append_printf(s, "%s%s", i ? " " : "", (char *)writes->pdata[i]);
    return g_string_free(g_steal_pointer(&s), FALSE);
}

#define assert_writes(want)                                                                        \
    do {                                                                                           \
        g_autofree char *got_ = joined_writes();                                                   \
        ck_assert_str_eq(got_, want);                                                              \
    } while (0)

/*
 * The hook: records the attempt, fails it if asked, else writes the file as
 * the kernel would present it afterwards (advisor_mode shows the choice in
 * brackets; numbers read back as written).
 */
static int
hook_write(const char *path, const char *text)
{
    g_autofree char *base = g_path_get_basename(path);
    g_autofree char *value = g_strchomp(g_strdup(text));
    g_autofree char *content = NULL;

    g_ptr_array_add(writes, g_strdup_printf("%s=%s", base, value));
    if (fail_file && strcmp(base, fail_file) == 0)
        return fail_errno;
    if (strcmp(base, "advisor_mode") == 0)
        content =
            g_strdup(strcmp(value, "none") == 0 ? "[none] scan-time\n" : "none [scan-time]\n");
    else
        content = g_strdup(text);
    return g_file_set_contents(path, content, -1, NULL) ? 0 : EIO;
}

/* ---- the fake sysfs tree -------------------------------------------------- */

typedef struct {
    char *root; /* the "sysfs root" handed to the controller */
    char *ksm;  /* ROOT/kernel/mm/ksm */
} Fake;

static void
fake_free(Fake *f)
{
    if (!f)
        return;
    mom_test_remove_tree(f->root);
    g_free(f->root);
    g_free(f->ksm);
    g_free(f);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Fake, fake_free)

static void
fake_set(Fake *f, const char *file, const char *text)
{
    g_autofree char *path = g_build_filename(f->ksm, file, NULL);
    ck_assert(g_file_set_contents(path, text, -1, NULL));
}

static char *
fake_get(Fake *f, const char *file)
{
    g_autofree char *path = g_build_filename(f->ksm, file, NULL);
    char *text = NULL;
    ck_assert_msg(g_file_get_contents(path, &text, NULL, NULL), "cannot read %s", path);
    return text;
}

#define assert_file(f, file, want)                                                                 \
    do {                                                                                           \
        g_autofree char *got_ = fake_get(f, file);                                                 \
        ck_assert_str_eq(got_, want);                                                              \
    } while (0)

/* The values a freshly booted Linux 6.18 shows (run off, advisor none). */
static Fake *
fake_new(void)
{
    Fake *f = g_new0(Fake, 1);

    f->root = g_build_filename(tmp_parent, "sys-XXXXXX", NULL);
    ck_assert_msg(g_mkdtemp(f->root) != NULL, "cannot make %s", f->root);
    f->ksm = g_build_filename(f->root, "kernel", "mm", "ksm", NULL);
    ck_assert_int_eq(g_mkdir_with_parents(f->ksm, 0755), 0);
    fake_set(f, "run", "0\n");
    fake_set(f, "pages_to_scan", "100\n");
    fake_set(f, "sleep_millisecs", "20\n");
    fake_set(f, "merge_across_nodes", "1\n");
    fake_set(f, "advisor_mode", "[none] scan-time\n");
    fake_set(f, "pages_shared", "0\n");
    return f;
}

/* ---- the controller under test ---------------------------------------------- */

typedef struct {
    const MomControllerClass *klass;
    gpointer state;
    MomEntity *host;
    MomPolicySet *set;
} Ksm;

static void
ksm_free_all(Ksm *k)
{
    if (!k)
        return;
    if (k->state)
        k->klass->free(k->state);
    mom_entity_free(k->host);
    mom_policy_set_free(k->set);
    g_free(k);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Ksm, ksm_free_all)

typedef enum {
    OPT_NONE = 0,
    OPT_DRY_RUN = 1 << 0,
    OPT_NO_RESTORE = 1 << 1,
    OPT_ADVISOR_OFF = 1 << 2,
} KsmOpts;

/* Starts the controller on @f as momd does, with the write hook in place. */
static Ksm *
ksm_start(Fake *f, KsmOpts opts)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(MomSchema) schema = mom_schema_new(NULL, 0);
    g_autoptr(GKeyFile) keyfile = g_key_file_new();
    MomControllerConfig cfg = {
        .sysfs_root = f->root,
        .dry_run = (opts & OPT_DRY_RUN) != 0,
        .keyfile = keyfile,
    };
    Ksm *k = g_new0(Ksm, 1);

    g_key_file_set_boolean(keyfile, "main", "ksm-restore-on-exit", (opts & OPT_NO_RESTORE) == 0);
    g_key_file_set_boolean(keyfile, "main", "ksm-advisor-off", (opts & OPT_ADVISOR_OFF) != 0);
    k->klass = mom_controller_lookup("KSM");
    ck_assert_ptr_nonnull(k->klass);
    k->state = k->klass->init(&cfg, &error);
    ck_assert_msg(k->state != NULL, "init: %s", error ? error->message : "?");
    mom_ksm_set_write_hook(k->state, hook_write);
    k->host = mom_entity_new(MOM_ENTITY_HOST, "Host", schema, 1);
    k->set = mom_policy_set_new();
    return k;
}

/* One momd cycle: evaluate @policy on the host, then apply its controls. */
static void
ksm_cycle(Ksm *k, const char *policy)
{
    g_autoptr(GError) error = NULL;

    ck_assert_msg(mom_policy_set_add_string(k->set, "t", "t.policy", policy, -1, NULL, &error),
                  "policy: %s", error ? error->message : "?");
    g_autoptr(MomPolicyRun) run = mom_policy_set_evaluate(k->set, k->host, NULL, 0);
    ck_assert_msg(run->ok, "the policy failed: %s",
                  run->errors->len ? ((MomPolicyDiag *)run->errors->pdata[0])->message : "?");
    ck_assert(k->klass->apply(k->state, k->host, NULL, &error));
}

static void
setup(void)
{
    mom_test_log_capture_fields("mom-controller", log_fields);
    g_ptr_array_set_size(writes, 0);
    fail_file = NULL;
    fail_errno = 0;
}

/* ---- tests ---------------------------------------------------------------- */

START_TEST(test_lookup)
{
    extern const MomControllerClass mom_controller_ksm;

    ck_assert_ptr_eq(mom_controller_lookup("KSM"), &mom_controller_ksm);
    ck_assert_ptr_null(mom_controller_lookup("ksm"));
    ck_assert_ptr_nonnull(mom_controller_ksm.shutdown);
}
END_TEST

/* A steady policy costs no writes: only values that differ are written. */
START_TEST(test_only_changes_written)
{
    g_autoptr(Fake) f = fake_new();
    g_autoptr(Ksm) k = ksm_start(f, OPT_NONE);
    const char *policy = "(Host.Control \"ksm_run\" 1)\n"
                         "(Host.Control \"ksm_pages_to_scan\" 100)\n"
                         "(Host.Control \"ksm_sleep_millisecs\" 50)\n"
                         "(Host.Control \"ksm_merge_across_nodes\" 1)\n";

    ksm_cycle(k, policy);
    assert_writes("sleep_millisecs=50 run=1");
    assert_file(f, "run", "1\n");
    assert_file(f, "sleep_millisecs", "50\n");
    ck_assert_uint_eq(
        mom_test_log_count_at(G_LOG_LEVEL_MESSAGE,
                              "KSM sleep_millisecs: 20 → 50, requested at t.policy:3:1"),
        1);

    /* the same decisions again: nothing to write, nothing to say */
    g_ptr_array_set_size(writes, 0);
    mom_test_log_clear();
    for (int i = 0; i < 3; i++)
        ksm_cycle(k, policy);
    ck_assert_uint_eq(writes->len, 0);
    ck_assert_uint_eq(mom_test_log_count(""), 0);

    /* one control moves: exactly one write */
    ksm_cycle(k, "(Host.Control \"ksm_run\" 1) (Host.Control \"ksm_pages_to_scan\" 400)");
    assert_writes("pages_to_scan=400");

    /* no controls at all, or no host: nothing happens */
    g_ptr_array_set_size(writes, 0);
    ksm_cycle(k, "(defvar x 1)");
    ck_assert(k->klass->apply(k->state, NULL, NULL, NULL));
    ck_assert_uint_eq(writes->len, 0);
}
END_TEST

/* MOM's controllers int() their values: floats go toward zero. */
START_TEST(test_float_truncated)
{
    g_autoptr(Fake) f = fake_new();
    g_autoptr(Ksm) k = ksm_start(f, OPT_NONE);

    ksm_cycle(k, "(Host.Control \"ksm_pages_to_scan\" 20.9)\n"
                 "(Host.Control \"ksm_sleep_millisecs\" 1.99)\n"
                 "(Host.Control \"ksm_merge_across_nodes\" 0.7)\n"
                 "(Host.Control \"ksm_run\" (< 0 1))\n"); /* a boolean: 1 */
    assert_writes("merge_across_nodes=0 pages_to_scan=20 sleep_millisecs=1 run=1");
    assert_file(f, "pages_to_scan", "20\n");
    assert_file(f, "sleep_millisecs", "1\n");

    /* -0.9 truncates to 0, which is below sleep_millisecs' minimum of 1 */
    g_ptr_array_set_size(writes, 0);
    ksm_cycle(k, "(Host.Control \"ksm_sleep_millisecs\" -0.9)");
    ck_assert_uint_eq(writes->len, 0);
    ck_assert_uint_eq(
        mom_test_log_count_at(G_LOG_LEVEL_WARNING, "ksm_sleep_millisecs = 0 set at t.policy:1:1"),
        1);
}
END_TEST

/*
 * Values the controller cannot use are skipped with one warning each, not
 * one per cycle; a valid value in between re-arms the warning.
 */
START_TEST(test_bad_values_warn_once)
{
    g_autoptr(Fake) f = fake_new();
    g_autoptr(Ksm) k = ksm_start(f, OPT_NONE);
    const char *bad = "(Host.Control \"ksm_pages_to_scan\" 0)\n"
                      "(Host.Control \"ksm_sleep_millisecs\" nil)\n"
                      "(Host.Control \"ksm_run\" \"on\")\n"
                      "(Host.Control \"ksm_merge_across_nodes\" 1e30)\n";

    for (int i = 0; i < 5; i++)
        ksm_cycle(k, bad);
    g_autofree char *all = mom_test_log_dump();
    ck_assert_msg(writes->len == 0, "wrote %u times", writes->len);
    ck_assert_msg(mom_test_log_count("") == 4, "want 4 warnings, got:%s", all);
    ck_assert_uint_eq(mom_test_log_count_at(G_LOG_LEVEL_WARNING,
                                            "ksm_pages_to_scan = 0 set at t.policy:1:1: it must "
                                            "be between 1 and 100000."),
                      1);
    ck_assert_uint_eq(mom_test_log_count_at(G_LOG_LEVEL_WARNING,
                                            "ksm_sleep_millisecs = nil set at t.policy:2:1: it "
                                            "must be a number."),
                      1);
    ck_assert_uint_eq(
        mom_test_log_count_at(G_LOG_LEVEL_WARNING, "ksm_run = \"on\" set at t.policy:3:1"), 1);
    ck_assert_uint_eq(mom_test_log_count_at(G_LOG_LEVEL_WARNING, "ksm_merge_across_nodes = 1e+30"),
                      1);
    ck_assert_uint_eq(mom_test_log_count_at(G_LOG_LEVEL_WARNING, "ksm_run|"), 1);
    assert_file(f, "pages_to_scan", "100\n");
    assert_file(f, "run", "0\n");

    /* fixed, then broken again: the new breakage is news */
    ksm_cycle(k, "(Host.Control \"ksm_pages_to_scan\" 200)");
    assert_writes("pages_to_scan=200");
    ksm_cycle(k, bad);
    ksm_cycle(k, bad);
    ck_assert_uint_eq(mom_test_log_count_at(G_LOG_LEVEL_WARNING, "ksm_pages_to_scan = 0"), 2);
    ck_assert_uint_eq(mom_test_log_count_at(G_LOG_LEVEL_WARNING, "ksm_sleep_millisecs = nil"), 1);
}
END_TEST

/*
 * Linux 6.7+'s advisor owns pages_to_scan while advisor_mode is
 * scan-time and the kernel answers EINVAL: one warning that says why, at
 * most one attempt per cycle, and the other tunables still applied.
 */
START_TEST(test_advisor_einval)
{
    g_autoptr(Fake) f = fake_new();
    fake_set(f, "advisor_mode", "none [scan-time]\n");
    g_autoptr(Ksm) k = ksm_start(f, OPT_NONE);
    const guint cycles = 10;

    fail_file = "pages_to_scan";
    fail_errno = EINVAL;
    for (guint i = 0; i < cycles; i++)
        ksm_cycle(k, "(Host.Control \"ksm_run\" 1)\n"
                     "(Host.Control \"ksm_pages_to_scan\" 500)\n"
                     "(Host.Control \"ksm_sleep_millisecs\" 30)\n");
    mom_test_log_assert_count(G_LOG_LEVEL_WARNING, "", 1);
    ck_assert_uint_eq(
        mom_test_log_count_at(G_LOG_LEVEL_WARNING, "advisor_mode scan-time) tunes pages_to_scan"),
        1);
    ck_assert_uint_eq(mom_test_log_count_at(G_LOG_LEVEL_WARNING, "set ksm-advisor-off"), 1);
    guint attempts = 0;
    for (guint i = 0; i < writes->len; i++)
        attempts += g_str_has_prefix(writes->pdata[i], "pages_to_scan=");
    ck_assert_msg(attempts <= cycles, "%u pages_to_scan writes in %u cycles", attempts, cycles);
    assert_file(f, "pages_to_scan", "100\n");
    assert_file(f, "sleep_millisecs", "30\n");
    assert_file(f, "run", "1\n");

    /* the same refusal without the advisor is a plain kernel refusal */
    g_autoptr(Fake) f2 = fake_new();
    g_autoptr(Ksm) k2 = ksm_start(f2, OPT_NONE);
    ksm_cycle(k2, "(Host.Control \"ksm_pages_to_scan\" 500)");
    ck_assert_uint_eq(
        mom_test_log_count_at(G_LOG_LEVEL_WARNING,
                              "The kernel refused KSM pages_to_scan 500: Invalid argument."),
        1);
}
END_TEST

/* merge_across_nodes can only change with nothing merged: the warning
 * must tell the policy author what to do (ksm_run 2). */
START_TEST(test_merge_ebusy)
{
    g_autoptr(Fake) f = fake_new();
    fake_set(f, "run", "1\n");
    g_autoptr(Ksm) k = ksm_start(f, OPT_NONE);

    fail_file = "merge_across_nodes";
    fail_errno = EBUSY;
    for (int i = 0; i < 4; i++)
        ksm_cycle(k, "(Host.Control \"ksm_run\" 1) (Host.Control \"ksm_merge_across_nodes\" 0)");
    mom_test_log_assert_count(G_LOG_LEVEL_WARNING, "", 1);
    ck_assert_uint_eq(
        mom_test_log_count_at(G_LOG_LEVEL_WARNING, "merge_across_nodes 0 while pages are merged"),
        1);
    ck_assert_uint_eq(mom_test_log_count_at(G_LOG_LEVEL_WARNING, "ksm_run 2"), 1);
    assert_file(f, "merge_across_nodes", "1\n");
}
END_TEST

/* Stop or unmerge before merge_across_nodes changes; start after the
 * tunables are in place, whatever order the policy set them in. */
START_TEST(test_write_order)
{
    g_autoptr(Fake) f = fake_new();
    fake_set(f, "run", "1\n");
    g_autoptr(Ksm) k = ksm_start(f, OPT_NONE);

    ksm_cycle(k, "(Host.Control \"ksm_merge_across_nodes\" 0)\n"
                 "(Host.Control \"ksm_pages_to_scan\" 300)\n"
                 "(Host.Control \"ksm_run\" 2)\n");
    assert_writes("run=2 merge_across_nodes=0 pages_to_scan=300");

    g_ptr_array_set_size(writes, 0);
    ksm_cycle(k, "(Host.Control \"ksm_merge_across_nodes\" 1) (Host.Control \"ksm_run\" 0)");
    assert_writes("run=0 merge_across_nodes=1");

    g_ptr_array_set_size(writes, 0);
    ksm_cycle(k, "(Host.Control \"ksm_run\" 1)\n"
                 "(Host.Control \"ksm_sleep_millisecs\" 10)\n"
                 "(Host.Control \"ksm_merge_across_nodes\" 0)\n"
                 "(Host.Control \"ksm_pages_to_scan\" 1250)\n");
    assert_writes("merge_across_nodes=0 pages_to_scan=1250 sleep_millisecs=10 run=1");
}
END_TEST

/* dry-run: the decisions are logged, once each and not every cycle;
 * nothing is written, not even at init (advisor) or at shutdown
 * (restore). */
START_TEST(test_dry_run)
{
    g_autoptr(Fake) f = fake_new();
    fake_set(f, "advisor_mode", "none [scan-time]\n");
    g_autoptr(Ksm) k = ksm_start(f, OPT_DRY_RUN | OPT_ADVISOR_OFF);

    for (int i = 0; i < 2; i++)
        ksm_cycle(k, "(Host.Control \"ksm_run\" 1)\n"
                     "(Host.Control \"ksm_pages_to_scan\" 400)\n"
                     "(Host.Control \"ksm_sleep_millisecs\" 10)\n"
                     "(Host.Control \"ksm_merge_across_nodes\" 0)\n");
    k->klass->shutdown(k->state);
    ck_assert_uint_eq(writes->len, 0);
    assert_file(f, "run", "0\n");
    assert_file(f, "pages_to_scan", "100\n");
    assert_file(f, "sleep_millisecs", "20\n");
    assert_file(f, "merge_across_nodes", "1\n");
    assert_file(f, "advisor_mode", "none [scan-time]\n");
    ck_assert_uint_eq(
        mom_test_log_count_at(G_LOG_LEVEL_MESSAGE, "KSM run: 0 → 1 would be written (dry run)"), 1);
    ck_assert_uint_eq(mom_test_log_count_at(G_LOG_LEVEL_MESSAGE,
                                            "KSM pages_to_scan: 100 → 400 would be written (dry "
                                            "run), requested at t.policy:2:1."),
                      1);
    ck_assert_uint_eq(mom_test_log_count_at(G_LOG_LEVEL_MESSAGE,
                                            "KSM advisor_mode: scan-time → none would be written "
                                            "(dry run)"),
                      1);
    ck_assert_str_eq(mom_entity_control(k->host, 0)->outcome, "dry run: would write 0 → 1");
}
END_TEST

/* A dry-run decision is logged again when it changes, or when it comes
 * back after a cycle that did not ask for it. */
START_TEST(test_dry_run_changes)
{
    g_autoptr(Fake) f = fake_new();
    g_autoptr(Ksm) k = ksm_start(f, OPT_DRY_RUN);

    ksm_cycle(k, "(Host.Control \"ksm_pages_to_scan\" 400)");
    ksm_cycle(k, "(Host.Control \"ksm_pages_to_scan\" 400)");
    ksm_cycle(k, "(Host.Control \"ksm_pages_to_scan\" 500)");
    ksm_cycle(k, "(Host.Control \"ksm_pages_to_scan\" 500)");
    ksm_cycle(k, "(Host.Control \"ksm_pages_to_scan\" 100)"); /* what the file holds */
    ksm_cycle(k, "(Host.Control \"ksm_pages_to_scan\" 500)");
    ksm_cycle(k, "(Host.Control \"ksm_run\" 0)");
    ksm_cycle(k, "(Host.Control \"ksm_pages_to_scan\" 500)");
    /* the file changed under momd: a new decision */
    fake_set(f, "pages_to_scan", "200\n");
    ksm_cycle(k, "(Host.Control \"ksm_pages_to_scan\" 500)");
    ck_assert_uint_eq(writes->len, 0);
    ck_assert_uint_eq(
        mom_test_log_count_at(G_LOG_LEVEL_MESSAGE, "KSM pages_to_scan: 100 → 400 would be written"),
        1);
    mom_test_log_assert_count(G_LOG_LEVEL_MESSAGE, "KSM pages_to_scan: 100 → 500 would be written",
                              3);
    ck_assert_uint_eq(
        mom_test_log_count_at(G_LOG_LEVEL_MESSAGE, "KSM pages_to_scan: 200 → 500 would be written"),
        1);
}
END_TEST

/* ksm-advisor-off: "none" while momd runs, the previous mode afterwards;
 * an advisor that is already off is left alone. */
START_TEST(test_advisor_off)
{
    g_autoptr(Fake) f = fake_new();
    fake_set(f, "advisor_mode", "none [scan-time]\n");
    g_autoptr(Ksm) k = ksm_start(f, OPT_ADVISOR_OFF);

    /* the switch happens at the first apply, through the same write path */
    ck_assert_uint_eq(writes->len, 0);
    ksm_cycle(k, "(Host.Control \"ksm_run\" 0)");
    assert_writes("advisor_mode=none");
    ck_assert_uint_eq(
        mom_test_log_count_at(G_LOG_LEVEL_MESSAGE, "KSM advisor_mode: scan-time → none."), 1);
    ksm_cycle(k, "(Host.Control \"ksm_run\" 0)");
    assert_writes("advisor_mode=none");

    g_ptr_array_set_size(writes, 0);
    k->klass->shutdown(k->state);
    assert_writes("advisor_mode=scan-time");
    assert_file(f, "advisor_mode", "none [scan-time]\n");
    ck_assert_uint_eq(
        mom_test_log_count_at(G_LOG_LEVEL_MESSAGE, "KSM advisor_mode restored: none → scan-time."),
        1);

    g_autoptr(Fake) f2 = fake_new();
    g_autoptr(Ksm) k2 = ksm_start(f2, OPT_ADVISOR_OFF);
    g_ptr_array_set_size(writes, 0);
    ksm_cycle(k2, "(Host.Control \"ksm_run\" 0)");
    k2->klass->shutdown(k2->state);
    ck_assert_uint_eq(writes->len, 0);
    assert_file(f2, "advisor_mode", "[none] scan-time\n");
}
END_TEST

/* merge_across_nodes cannot change while pages are merged (EBUSY), so a
 * restore of it unmerges first with run 2, then puts run back. */
START_TEST(test_shutdown_unmerges_for_merge_across_nodes)
{
    g_autoptr(Fake) f = fake_new();
    g_autoptr(Ksm) k = ksm_start(f, OPT_NONE);

    ksm_cycle(k, "(Host.Control \"ksm_merge_across_nodes\" 0) (Host.Control \"ksm_run\" 1)");
    assert_writes("merge_across_nodes=0 run=1");
    g_ptr_array_set_size(writes, 0);
    k->klass->shutdown(k->state);
    assert_writes("run=2 merge_across_nodes=1 run=0");
    assert_file(f, "merge_across_nodes", "1\n");
    assert_file(f, "run", "0\n");
}
END_TEST

/*
 * Shutdown puts back what momd changed, to the values found at init (not
 * the ones of an intermediate cycle), run first, and leaves alone a
 * tunable momd never wrote even if someone else changed it meanwhile.
 */
START_TEST(test_shutdown_restores)
{
    g_autoptr(Fake) f = fake_new();
    g_autoptr(Ksm) k = ksm_start(f, OPT_NONE);

    ksm_cycle(k, "(Host.Control \"ksm_run\" 1) (Host.Control \"ksm_pages_to_scan\" 400)");
    ksm_cycle(k, "(Host.Control \"ksm_run\" 1) (Host.Control \"ksm_pages_to_scan\" 700)");
    fake_set(f, "sleep_millisecs", "33\n"); /* an operator's change, not ours */
    g_ptr_array_set_size(writes, 0);
    mom_test_log_clear();
    k->klass->shutdown(k->state);
    assert_writes("run=0 pages_to_scan=100");
    assert_file(f, "run", "0\n");
    assert_file(f, "pages_to_scan", "100\n");
    assert_file(f, "sleep_millisecs", "33\n");
    assert_file(f, "merge_across_nodes", "1\n");
    ck_assert_uint_eq(
        mom_test_log_count_at(G_LOG_LEVEL_MESSAGE, "KSM pages_to_scan restored: 700 → 100."), 1);

    /* a tunable we changed that already went back needs no write */
    g_autoptr(Fake) f2 = fake_new();
    g_autoptr(Ksm) k2 = ksm_start(f2, OPT_NONE);
    ksm_cycle(k2, "(Host.Control \"ksm_sleep_millisecs\" 40)");
    ksm_cycle(k2, "(Host.Control \"ksm_sleep_millisecs\" 20)");
    g_ptr_array_set_size(writes, 0);
    k2->klass->shutdown(k2->state);
    ck_assert_uint_eq(writes->len, 0);

    /* ksm-restore-on-exit false: the policy's values stay */
    g_autoptr(Fake) f3 = fake_new();
    g_autoptr(Ksm) k3 = ksm_start(f3, OPT_NO_RESTORE);
    ksm_cycle(k3, "(Host.Control \"ksm_run\" 1)");
    g_ptr_array_set_size(writes, 0);
    k3->klass->shutdown(k3->state);
    ck_assert_uint_eq(writes->len, 0);
    assert_file(f3, "run", "1\n");
}
END_TEST

/* No SYSFS/kernel/mm/ksm/run: a kernel without CONFIG_KSM.  The error
 * names the file and the reason. */
START_TEST(test_init_without_run)
{
    g_autoptr(Fake) f = fake_new();
    g_autofree char *run = g_build_filename(f->ksm, "run", NULL);
    g_autoptr(GError) error = NULL;
    const MomControllerClass *klass = mom_controller_lookup("KSM");
    MomControllerConfig cfg = {.sysfs_root = f->root}; /* restores on exit by default */

    ck_assert_int_eq(g_unlink(run), 0);
    ck_assert_ptr_null(klass->init(&cfg, &error));
    ck_assert(g_error_matches(error, MOM_CONTROLLER_ERROR, MOM_CONTROLLER_ERROR_INIT));
    ck_assert_msg(strstr(error->message, run) != NULL, "'%s' does not name %s", error->message,
                  run);
    ck_assert_ptr_nonnull(strstr(error->message, "CONFIG_KSM"));
}
END_TEST

/* A file the controller may not write (EACCES), and one this kernel does
 * not have: one warning each, the other tunables still applied. */
START_TEST(test_unwritable_and_missing)
{
    g_autoptr(Fake) f = fake_new();
    g_autoptr(Ksm) k = ksm_start(f, OPT_NONE);
    g_autofree char *merge = g_build_filename(f->ksm, "merge_across_nodes", NULL);

    ck_assert_int_eq(g_unlink(merge), 0); /* non-NUMA kernels lack it */
    fail_file = "sleep_millisecs";
    fail_errno = EACCES;
    for (int i = 0; i < 3; i++)
        ksm_cycle(k, "(Host.Control \"ksm_run\" 1)\n"
                     "(Host.Control \"ksm_merge_across_nodes\" 0)\n"
                     "(Host.Control \"ksm_sleep_millisecs\" 50)\n");
    g_autofree char *want = g_strdup_printf("Cannot write 50 to %s/sleep_millisecs: "
                                            "Permission denied.",
                                            f->ksm);
    mom_test_log_assert_count(G_LOG_LEVEL_WARNING, "", 2);
    ck_assert_uint_eq(mom_test_log_count_at(G_LOG_LEVEL_WARNING, want), 1);
    ck_assert_uint_eq(
        mom_test_log_count_at(G_LOG_LEVEL_WARNING, "Cannot apply ksm_merge_across_nodes"), 1);
    assert_file(f, "run", "1\n");
    assert_file(f, "sleep_millisecs", "20\n");
}
END_TEST

/* ---- between policy cycles ------------------------------------------------ */

/* Runs the default main context for @ms milliseconds: the watch's timer. */
static void
pump(guint ms)
{
    gint64 end = g_get_monotonic_time() + (gint64)ms * 1000;

    while (g_get_monotonic_time() < end) {
        while (g_main_context_iteration(NULL, FALSE))
            ;
        g_usleep(10000);
    }
}

static const char *const fast_policy = "(Host.Control \"ksm_run\" 1)\n"
                                       "(Host.Control \"ksm_pages_to_scan\" 2621)\n"
                                       "(Host.Control \"ksm_sleep_millisecs\" 10)\n"
                                       "(Host.Control \"ksm_idle_pages_to_scan\" 50)\n"
                                       "(Host.Control \"ksm_idle_sleep_millisecs\" 1000)\n"
                                       "(Host.Control \"ksm_idle_below\" 131.07)\n";

static void
fake_counters(Fake *f, const char *scans, const char *sharing)
{
    fake_set(f, "full_scans", scans);
    fake_set(f, "pages_sharing", sharing);
}

/* A fast merge is over in a few full scans: the controller switches ksmd
 * to the idle rate after the first judged scan that merged too little,
 * without waiting for the next policy cycle. */
START_TEST(test_watch_goes_idle)
{
    g_autoptr(Fake) f = fake_new();
    g_autoptr(Ksm) k = ksm_start(f, OPT_NONE);

    fake_counters(f, "5\n", "0\n");
    fake_set(f, "ksm_zero_pages", "0\n");
    ksm_cycle(k, fast_policy);
    assert_writes("pages_to_scan=2621 sleep_millisecs=10 run=1");
    ck_assert(mom_ksm_watching(k->state));

    /* the two settling scans are not judged, however little they merge */
    g_ptr_array_set_size(writes, 0);
    fake_counters(f, "6\n", "0\n");
    pump(300);
    fake_counters(f, "7\n", "0\n");
    pump(300);
    ck_assert_uint_eq(writes->len, 0);
    /* a judged scan that merged 65000 pages (>= 131): stay fast */
    fake_counters(f, "8\n", "65000\n");
    pump(300);
    ck_assert_uint_eq(writes->len, 0);
    ck_assert(mom_ksm_watching(k->state));
    /* two scans that merged 100 + 100 pages, 100 a scan: idle */
    fake_counters(f, "10\n", "65000\n");
    fake_set(f, "ksm_zero_pages", "200\n");
    pump(300);
    assert_writes("pages_to_scan=50 sleep_millisecs=1000");
    ck_assert(!mom_ksm_watching(k->state));
    ck_assert_uint_eq(mom_test_log_count_at(G_LOG_LEVEL_MESSAGE,
                                            "KSM pages_to_scan: 2621 → 50 between policy cycles: "
                                            "the last 2 full scan(s) merged 200 pages, fewer than "
                                            "ksm_idle_below (131) per scan."),
                      1);
    ck_assert_uint_eq(
        mom_test_log_count_at(G_LOG_LEVEL_MESSAGE, "KSM sleep_millisecs: 10 → 1000 between policy"),
        1);

    /* the next cycle asks for the fast rate again: a new watch */
    g_ptr_array_set_size(writes, 0);
    ksm_cycle(k, fast_policy);
    assert_writes("pages_to_scan=2621 sleep_millisecs=10");
    ck_assert(mom_ksm_watching(k->state));
    /* ksmd stopped by someone else: the watch ends, writing nothing */
    fake_set(f, "run", "0\n");
    pump(300);
    ck_assert(!mom_ksm_watching(k->state));

    k->klass->shutdown(k->state);
}
END_TEST

/* The same fast rate asked again by the next cycle: the watch goes on
 * where it was (a full scan may take longer than a policy interval). */
START_TEST(test_watch_spans_cycles)
{
    g_autoptr(Fake) f = fake_new();
    g_autoptr(Ksm) k = ksm_start(f, OPT_NONE);

    fake_counters(f, "5\n", "0\n");
    ksm_cycle(k, fast_policy);
    fake_counters(f, "6\n", "0\n");
    pump(300);
    ksm_cycle(k, fast_policy);
    ck_assert(mom_ksm_watching(k->state));
    g_ptr_array_set_size(writes, 0);
    fake_counters(f, "7\n", "0\n");
    pump(300);
    /* counted from the first cycle's 5, the second settling scan is done
     * and this judged one merged nothing */
    fake_counters(f, "8\n", "0\n");
    pump(300);
    assert_writes("pages_to_scan=50 sleep_millisecs=1000");
}
END_TEST

/* What only the watch wrote is put back on exit too, and a watch that
 * cannot read KSM's counters stops and says so once. */
START_TEST(test_watch_restore_and_unreadable)
{
    g_autoptr(Fake) f = fake_new();

    /* ksmd already runs at the fast rate: the cycle writes nothing */
    fake_set(f, "run", "1\n");
    fake_set(f, "pages_to_scan", "2621\n");
    fake_set(f, "sleep_millisecs", "10\n");
    fake_counters(f, "5\n", "0\n");
    g_autoptr(Ksm) k = ksm_start(f, OPT_NONE);
    ksm_cycle(k, fast_policy);
    ck_assert_uint_eq(writes->len, 0);
    fake_counters(f, "8\n", "0\n");
    pump(300);
    fake_counters(f, "9\n", "0\n");
    pump(300);
    assert_writes("pages_to_scan=50 sleep_millisecs=1000");
    k->klass->shutdown(k->state);
    assert_file(f, "pages_to_scan", "2621\n");
    assert_file(f, "sleep_millisecs", "10\n");

    g_autoptr(Fake) f2 = fake_new();
    g_autoptr(Ksm) k2 = ksm_start(f2, OPT_NONE);
    fake_counters(f2, "5\n", "0\n");
    ksm_cycle(k2, fast_policy);
    ck_assert(mom_ksm_watching(k2->state));
    g_autofree char *scans = g_build_filename(f2->ksm, "full_scans", NULL);
    ck_assert_int_eq(g_unlink(scans), 0);
    pump(600);
    ck_assert(!mom_ksm_watching(k2->state));
    ck_assert_uint_eq(mom_test_log_count_at(G_LOG_LEVEL_WARNING,
                                            "The KSM controller stopped watching ksmd between "
                                            "policy cycles: "),
                      1);
}
END_TEST

/* No watch without all three idle controls, with an unusable one, in a
 * dry run, when ksmd already runs at the idle rate or slower, or when the
 * policy stops KSM. */
START_TEST(test_watch_not_started)
{
    g_autoptr(Fake) f = fake_new();
    g_autoptr(Ksm) k = ksm_start(f, OPT_NONE);
    g_autoptr(Fake) fd = fake_new();
    g_autoptr(Ksm) dry = ksm_start(fd, OPT_DRY_RUN);

    fake_counters(f, "5\n", "0\n");
    fake_counters(fd, "5\n", "0\n");
    fake_set(fd, "run", "1\n");
    ksm_cycle(k, "(Host.Control \"ksm_run\" 1) (Host.Control \"ksm_pages_to_scan\" 2621)"
                 "(Host.Control \"ksm_idle_pages_to_scan\" 50)"
                 "(Host.Control \"ksm_idle_sleep_millisecs\" 1000)");
    ck_assert(!mom_ksm_watching(k->state));
    ksm_cycle(k, "(Host.Control \"ksm_run\" 1) (Host.Control \"ksm_idle_pages_to_scan\" 0)"
                 "(Host.Control \"ksm_idle_sleep_millisecs\" 1000)"
                 "(Host.Control \"ksm_idle_below\" 1)");
    ck_assert(!mom_ksm_watching(k->state));
    ksm_cycle(dry, fast_policy);
    ck_assert(!mom_ksm_watching(dry->state));
    /* 50 pages every 1000 ms is the idle rate itself */
    ksm_cycle(k, "(Host.Control \"ksm_run\" 1) (Host.Control \"ksm_pages_to_scan\" 50)"
                 "(Host.Control \"ksm_sleep_millisecs\" 1000)"
                 "(Host.Control \"ksm_idle_pages_to_scan\" 50)"
                 "(Host.Control \"ksm_idle_sleep_millisecs\" 1000)"
                 "(Host.Control \"ksm_idle_below\" 1)");
    ck_assert(!mom_ksm_watching(k->state));
    ksm_cycle(k, fast_policy);
    ck_assert(mom_ksm_watching(k->state));
    ksm_cycle(k, "(Host.Control \"ksm_run\" 0)");
    ck_assert(!mom_ksm_watching(k->state));
}
END_TEST

/* smart_scan (Linux 6.7+) is a tunable like the others: written when it
 * differs, put back on exit. */
START_TEST(test_smart_scan)
{
    g_autoptr(Fake) f = fake_new();
    g_autoptr(Ksm) k = ksm_start(f, OPT_NONE);

    fake_set(f, "smart_scan", "0\n");
    g_autoptr(Ksm) k2 = ksm_start(f, OPT_NONE);
    ksm_cycle(k2, "(Host.Control \"ksm_smart_scan\" 1)");
    assert_writes("smart_scan=1");
    assert_file(f, "smart_scan", "1\n");
    k2->klass->shutdown(k2->state);
    assert_file(f, "smart_scan", "0\n");
    ck_assert_uint_eq(mom_test_log_count_at(G_LOG_LEVEL_MESSAGE, "KSM smart_scan restored: 1 → 0."),
                      1);
    ksm_cycle(k, "(Host.Control \"ksm_smart_scan\" 2)");
    ck_assert_uint_eq(mom_test_log_count_at(G_LOG_LEVEL_WARNING,
                                            "ksm_smart_scan = 2 set at t.policy:1:1: it must be "
                                            "between 0 and 1."),
                      1);
}
END_TEST

static Suite *
ksm_suite(void)
{
    Suite *s = suite_create("ksm");
    TCase *tc = tcase_create("controller");

    tcase_add_checked_fixture(tc, setup, mom_test_log_release);
    tcase_add_test(tc, test_lookup);
    tcase_add_test(tc, test_only_changes_written);
    tcase_add_test(tc, test_float_truncated);
    tcase_add_test(tc, test_bad_values_warn_once);
    tcase_add_test(tc, test_advisor_einval);
    tcase_add_test(tc, test_merge_ebusy);
    tcase_add_test(tc, test_write_order);
    tcase_add_test(tc, test_dry_run);
    tcase_add_test(tc, test_dry_run_changes);
    tcase_add_test(tc, test_advisor_off);
    tcase_add_test(tc, test_shutdown_restores);
    tcase_add_test(tc, test_watch_goes_idle);
    tcase_add_test(tc, test_watch_not_started);
    tcase_add_test(tc, test_watch_spans_cycles);
    tcase_add_test(tc, test_watch_restore_and_unreadable);
    tcase_add_test(tc, test_smart_scan);
    tcase_add_test(tc, test_shutdown_unmerges_for_merge_across_nodes);
    tcase_add_test(tc, test_init_without_run);
    tcase_add_test(tc, test_unwritable_and_missing);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    int failed;

    tmp_parent = g_dir_make_tmp("check-ksm-XXXXXX", NULL);
    if (!tmp_parent)
        return EXIT_FAILURE;
    writes = g_ptr_array_new_with_free_func(g_free);
    SRunner *sr = srunner_create(ksm_suite());
    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    g_ptr_array_free(writes, TRUE);
    mom_test_remove_tree(tmp_parent);
    g_free(tmp_parent);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
