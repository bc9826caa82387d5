/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The default KSM policy (data/policies/00-defines + 20-ksm) over
 * successive cycles.  The golden states run one cycle each; the policy's
 * decisions depend on what it remembers from the cycles before (Host vars:
 * the mergeable memory of the last merge, the full scans still to make
 * fast, the counters at the previous cycle), so these tests run it cycle
 * after cycle on one host entity whose sample changes as ksmd would change
 * it, and check every control with the arithmetic in the comments.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>

#include <glib.h>

#include "mom-controller.h"
#include "mom-policy.h"

enum {
    F_TOTAL,
    F_FREE,
    F_SHAREABLE,
    F_MERGEABLE,
    F_ADDED,
    F_PAGE_KIB,
    F_SHARED,
    F_SHARING,
    F_ZERO,
    F_SCANS,
    F_PAGES,
    F_SLEEP,
    F_SMART,
    F_RUN,
    F_UNSHARED,
    F_ADVISOR,
    N_F
};
static const char *const fields[N_F] = {
    "mem_available",       "mem_free",       "ksm_shareable",      "ksm_mergeable",
    "ksm_mergeable_added", "ksm_page_kib",   "ksm_pages_shared",   "ksm_pages_sharing",
    "ksm_zero_pages",      "ksm_full_scans", "ksm_pages_to_scan",  "ksm_sleep_millisecs",
    "ksm_smart_scan",      "ksm_run",        "ksm_pages_unshared", "ksm_advisor_mode",
};
G_STATIC_ASSERT(G_N_ELEMENTS(fields) == N_F);
/* a host without HostKSM: only the first two */
#define N_NO_KSM 2

/* 16 GiB host; short when free < 0.2 * 16 GiB = 3355443.2 KiB */
#define TOTAL 16777216
#define SHORT_FREE 1000000
#define ROOMY_FREE 8000000

typedef struct {
    MomPolicySet *set;
    MomEntity *host;
    guint n_fields;
    gint64 v[N_F];
    const char *advisor;
    gboolean no_mergeable;
} Cycle;

static Cycle *
cycle_new_fields(guint n_fields)
{
    static const char *const files[] = {"00-defines.policy", "20-ksm.policy"};
    const char *top = g_getenv("MOM_TOP_SRCDIR");
    g_autoptr(MomSchema) schema = mom_schema_new(fields, n_fields);
    Cycle *c = g_new0(Cycle, 1);

    ck_assert_msg(top != NULL, "MOM_TOP_SRCDIR is not set: run through meson test");
    c->set = mom_policy_set_new();
    for (guint i = 0; i < G_N_ELEMENTS(files); i++) {
        g_autofree char *path = g_build_filename(top, "data", "policies", files[i], NULL);
        g_autofree char *text = NULL;
        g_autoptr(GError) error = NULL;
        ck_assert_msg(g_file_get_contents(path, &text, NULL, &error), "%s", error->message);
        ck_assert_msg(mom_policy_set_add_string(c->set, files[i], path, text, -1, NULL, &error),
                      "%s", error ? error->message : "?");
    }
    c->n_fields = n_fields;
    c->host = mom_entity_new(MOM_ENTITY_HOST, "Host", schema, 10);
    c->v[F_TOTAL] = TOTAL;
    c->v[F_FREE] = SHORT_FREE;
    c->v[F_MERGEABLE] = 512 * 1024; /* KiB: 131072 pages */
    c->v[F_ADDED] = 512 * 1024;     /* the first sample counts it all as added */
    c->v[F_PAGE_KIB] = 4;
    c->v[F_PAGES] = 100; /* the kernel's defaults */
    c->v[F_SLEEP] = 20;
    c->v[F_SMART] = 1;
    c->advisor = "none";
    return c;
}

static Cycle *
cycle_new(void)
{
    return cycle_new_fields(N_F);
}

static void
cycle_free(Cycle *c)
{
    mom_entity_free(c->host);
    mom_policy_set_free(c->set);
    g_free(c);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Cycle, cycle_free)

/* Pushes the sample in @c->v (the whole history, so that StatAvg is the
 * value itself), evaluates the policy, and then does what the KSM
 * controller would: the rate asked for is the rate of the next sample. */
static void
cycle_run(Cycle *c)
{
    for (guint k = 0; k < 10; k++) {
        MomValue values[N_F];
        for (guint i = 0; i < c->n_fields; i++)
            values[i] = mom_value_int(c->v[i]);
        if (c->no_mergeable) {
            values[F_MERGEABLE] = mom_value_nil();
            values[F_ADDED] = mom_value_nil();
            values[F_PAGE_KIB] = mom_value_nil();
        }
        if (c->n_fields > F_ADVISOR)
            values[F_ADVISOR] = mom_value_string(c->advisor, -1);
        mom_entity_push_sample(c->host, values);
    }
    g_autoptr(MomPolicyRun) run = mom_policy_set_evaluate(c->set, c->host, NULL, 0);
    ck_assert_msg(run->ok, "the policy failed: %s",
                  run->errors->len ? ((MomPolicyDiag *)run->errors->pdata[0])->message : "?");
    const MomValue *p = mom_entity_get_control(c->host, "ksm_pages_to_scan");
    const MomValue *s = mom_entity_get_control(c->host, "ksm_sleep_millisecs");
    if (p)
        mom_control_as_int(p, &c->v[F_PAGES]);
    if (s)
        mom_control_as_int(s, &c->v[F_SLEEP]);
}

/* What the controller's watch does between cycles: ksmd at the idle rate. */
static void
watch_idles(Cycle *c)
{
    c->v[F_PAGES] = 50;
    c->v[F_SLEEP] = 1000;
}

static gint64
control(Cycle *c, const char *name)
{
    const MomValue *v = mom_entity_get_control(c->host, name);
    gint64 i;
    ck_assert_msg(v != NULL, "no control %s", name);
    ck_assert_msg(mom_control_as_int(v, &i), "control %s is not a number", name);
    return i;
}

#define assert_no_control(c, name)                                                                 \
    ck_assert_msg(mom_entity_get_control((c)->host, name) == NULL, "unexpected control %s", name)

/* fast: 131072 pages * 10 ms / 500 ms = 2621 pages per 10 ms wake-up;
 * idle below: max(64, 0.001 * 131072 = 131.072) = 131 */
static void
assert_fast(Cycle *c, gint64 pages)
{
    ck_assert_int_eq(control(c, "ksm_run"), 1);
    ck_assert_int_eq(control(c, "ksm_pages_to_scan"), pages);
    ck_assert_int_eq(control(c, "ksm_sleep_millisecs"), 10);
    ck_assert_int_eq(control(c, "ksm_idle_pages_to_scan"), 50);
    ck_assert_int_eq(control(c, "ksm_idle_sleep_millisecs"), 1000);
}

static void
assert_idle(Cycle *c)
{
    ck_assert_int_eq(control(c, "ksm_run"), 1);
    ck_assert_int_eq(control(c, "ksm_pages_to_scan"), 50);
    ck_assert_int_eq(control(c, "ksm_sleep_millisecs"), 1000);
}

START_TEST(test_merge_then_idle)
{
    g_autoptr(Cycle) c = cycle_new();

    /* first cycle: 512 MiB are new, two fast scans to go */
    cycle_run(c);
    assert_fast(c, 2621);
    ck_assert_int_eq(control(c, "ksm_idle_below"), 131);
    ck_assert_int_eq(control(c, "ksm_smart_scan"), 1);

    /* two full scans merged 65536 pages: 32768 per scan is >= 131, so
     * one more fast scan although the two settling scans are done */
    c->v[F_SCANS] += 2;
    c->v[F_SHARED] += 256;
    c->v[F_SHARING] += 65280;
    cycle_run(c);
    assert_fast(c, 2621);

    /* the next full scan merged 100 pages (< 131): idle */
    c->v[F_SCANS] += 1;
    c->v[F_SHARING] += 100;
    cycle_run(c);
    assert_idle(c);

    /* no scan ended and nothing merged: still idle */
    cycle_run(c);
    assert_idle(c);

    /* a scan in progress merging 200 pages (>= 131) wants a fast scan */
    c->v[F_ZERO] += 200;
    cycle_run(c);
    assert_fast(c, 2621);
    c->v[F_SCANS] += 1;
    cycle_run(c);
    assert_idle(c);
}
END_TEST

/* Between two cycles the merge was done and the controller's watch put
 * ksmd at the idle rate: the next cycle keeps it, although the scans of
 * the interval, the fast ones included, merged a lot on average. */
START_TEST(test_watch_went_idle)
{
    g_autoptr(Cycle) c = cycle_new();

    cycle_run(c);
    assert_fast(c, 2621);
    c->v[F_SCANS] += 3;
    c->v[F_SHARING] += 65536;
    watch_idles(c);
    cycle_run(c);
    assert_idle(c);
    /* and later merges of its own still make it fast */
    c->v[F_SCANS] += 1;
    c->v[F_SHARING] += 500;
    cycle_run(c);
    assert_fast(c, 2621);
}
END_TEST

/* The mergeable memory grows: growth is what the processes that merge
 * gained (ksm_mergeable_added), summed over cycles until it is more than
 * ksm_grow_kib (16 MiB) and ksm_grow_ratio (1 %) of the mergeable memory. */
START_TEST(test_mergeable_grows)
{
    g_autoptr(Cycle) c = cycle_new();

    cycle_run(c);
    c->v[F_SCANS] += 3;
    cycle_run(c);
    assert_idle(c);

    /* 16 MiB added is not more than ksm_grow_kib: idle */
    c->v[F_MERGEABLE] += 16384;
    c->v[F_ADDED] += 16384;
    cycle_run(c);
    assert_idle(c);

    /* 4 KiB more, 16 MiB + 4 KiB since the last merge: fast again,
     * (524288 + 16388) / 4 = 135169 pages * 10 / 500 = 2703 */
    c->v[F_MERGEABLE] += 4;
    c->v[F_ADDED] += 4;
    cycle_run(c);
    assert_fast(c, 2703);
    c->v[F_SCANS] += 2;
    cycle_run(c);
    assert_idle(c);

    /* a new 64 MiB region while the old 528 MiB went: the total shrank,
     * but 64 MiB were added; 16384 pages * 10 / 500 = 327 */
    c->v[F_MERGEABLE] = 64 * 1024;
    c->v[F_ADDED] += 64 * 1024;
    cycle_run(c);
    assert_fast(c, 327);
    c->v[F_SCANS] += 2;
    cycle_run(c);
    assert_idle(c);

    /* slow growth adds up: 5 MiB a cycle is a merge at the fourth cycle
     * (20 MiB > 16 MiB); 86016 KiB / 4 = 21504 pages * 10 / 500 = 430 */
    for (int i = 1; i <= 4; i++) {
        c->v[F_MERGEABLE] += 5 * 1024;
        c->v[F_ADDED] += 5 * 1024;
        cycle_run(c);
        if (i < 4)
            assert_idle(c);
    }
    assert_fast(c, 430);
    c->v[F_SCANS] += 2;
    cycle_run(c);
    assert_idle(c);

    /* 100 GiB: 26214400 pages * 10 / 500 = 524288, capped at 4000; the
     * idle line is 0.001 of the pages, 26214.4 */
    c->v[F_ADDED] += 100ll * 1024 * 1024 - c->v[F_MERGEABLE];
    c->v[F_MERGEABLE] = 100ll * 1024 * 1024;
    cycle_run(c);
    assert_fast(c, 4000);
    ck_assert_int_eq(control(c, "ksm_idle_below"), 26214);
    c->v[F_SCANS] += 2;
    cycle_run(c);
    assert_idle(c);
    /* there 20 MiB is less than 1 % (1 GiB): no merge */
    c->v[F_ADDED] += 20 * 1024;
    cycle_run(c);
    assert_idle(c);

    /* 8 MiB is no growth worth a merge (< ksm_grow_kib): idle; a scan
     * that merges 64 pages (the idle line, max(64, 2.048)) makes it fast,
     * 2048 pages * 10 / 500 = 40, raised to ksm_scan_min */
    g_autoptr(Cycle) small = cycle_new();
    small->v[F_MERGEABLE] = small->v[F_ADDED] = 8 * 1024;
    cycle_run(small);
    assert_idle(small);
    small->v[F_SHARING] += 64;
    cycle_run(small);
    assert_fast(small, 64);

    /* 64 KiB pages (aarch64, ppc64le): 524288 KiB is 8192 pages, * 10 /
     * 500 = 163 */
    g_autoptr(Cycle) big_pages = cycle_new();
    big_pages->v[F_PAGE_KIB] = 64;
    cycle_run(big_pages);
    assert_fast(big_pages, 163);
}
END_TEST

/* momd restarts on a host where ksmd runs and has seen the mergeable
 * memory: only what it has not seen is new, so a big host is not rescanned
 * fast.  A stopped ksmd's counters may be those of processes long gone:
 * then everything is new. */
START_TEST(test_restart)
{
    g_autoptr(Cycle) c = cycle_new();

    /* 512 MiB mergeable; ksmd running has seen 100000 + 31072 pages, all */
    c->v[F_RUN] = 1;
    c->v[F_SHARING] = 100000;
    c->v[F_UNSHARED] = 31072;
    c->v[F_SCANS] = 40;
    cycle_run(c);
    assert_idle(c);
    /* new memory after that is new */
    c->v[F_ADDED] += 32 * 1024;
    c->v[F_MERGEABLE] += 32 * 1024;
    cycle_run(c);
    assert_fast(c, 2785);

    /* ksmd running, but 64 MiB it has not seen: that is new */
    g_autoptr(Cycle) part = cycle_new();
    part->v[F_RUN] = 1;
    part->v[F_SHARING] = 100000;
    part->v[F_UNSHARED] = 31072 - 16384;
    cycle_run(part);
    assert_fast(part, 2621);

    /* ksmd stopped with stale counters: all new */
    g_autoptr(Cycle) stale = cycle_new();
    stale->v[F_RUN] = 0;
    stale->v[F_SHARING] = 445618;
    cycle_run(stale);
    assert_fast(stale, 2621);
}
END_TEST

/* KSM runs only when the host is short or overcommitted (MOM's rule): a
 * merge that new mergeable memory asks for while the host has plenty waits
 * for the host to be short, and only scans at the fast rate count towards
 * it (the scenario benchmark: memory merged early was spent by the host's
 * own workload, and ballooning the guests then gave nothing back). */
START_TEST(test_run_or_not)
{
    g_autoptr(Cycle) c = cycle_new();

    /* not short, not overcommitted: 512 MiB are new, but KSM stays off */
    c->v[F_FREE] = ROOMY_FREE;
    for (int i = 0; i < 3; i++) {
        cycle_run(c);
        ck_assert_int_eq(control(c, "ksm_run"), 0);
        assert_no_control(c, "ksm_pages_to_scan");
        assert_no_control(c, "ksm_smart_scan");
    }

    /* short: the waiting merge runs fast, two full scans */
    c->v[F_FREE] = SHORT_FREE;
    cycle_run(c);
    assert_fast(c, 2621);
    c->v[F_SCANS] += 1;
    c->v[F_SHARING] += 65000;
    cycle_run(c);
    assert_fast(c, 2621);
    c->v[F_SCANS] += 1;
    c->v[F_SHARING] += 10;
    cycle_run(c);
    assert_idle(c);

    /* no longer short: stopped, and what it merged stays merged */
    c->v[F_FREE] = ROOMY_FREE;
    cycle_run(c);
    ck_assert_int_eq(control(c, "ksm_run"), 0);

    /* MOM's rule: QEMU's virtual size + the pressure line above the host
     * runs KSM, at the idle rate while the host is not short, even with a
     * merge to make; idle scans do not count towards it */
    c->v[F_SHAREABLE] = TOTAL - 3355443 + 1;
    c->v[F_ADDED] += 64 * 1024;
    c->v[F_MERGEABLE] += 64 * 1024;
    cycle_run(c);
    assert_idle(c);
    c->v[F_SCANS] += 5;
    cycle_run(c);
    assert_idle(c);
    /* short again: the two fast scans are still to make,
     * (524288 + 65536) / 4 * 10 / 500 = 2949 */
    c->v[F_FREE] = SHORT_FREE;
    cycle_run(c);
    assert_fast(c, 2949);
    c->v[F_FREE] = ROOMY_FREE;
    c->v[F_SHAREABLE] = TOTAL - 3355443 - 1;
    cycle_run(c);
    ck_assert_int_eq(control(c, "ksm_run"), 0);
}
END_TEST

START_TEST(test_advisor_and_old_kernels)
{
    g_autoptr(Cycle) c = cycle_new();

    /* the scan-time advisor tunes the rate: only run and smart_scan */
    c->advisor = "scan-time";
    cycle_run(c);
    ck_assert_int_eq(control(c, "ksm_run"), 1);
    ck_assert_int_eq(control(c, "ksm_smart_scan"), 1);
    assert_no_control(c, "ksm_pages_to_scan");
    assert_no_control(c, "ksm_sleep_millisecs");
    assert_no_control(c, "ksm_idle_pages_to_scan");

    /* no ksm_mergeable (older kernels): MOM's ksm_shareable instead, and
     * growth is the growth of that total; 1 GiB = 262144 pages * 10 / 500
     * = 5242 → 4000 */
    g_autoptr(Cycle) old = cycle_new();
    old->no_mergeable = TRUE;
    old->v[F_SHAREABLE] = 1024 * 1024;
    cycle_run(old);
    assert_fast(old, 4000);
    old->v[F_SCANS] += 2;
    cycle_run(old);
    assert_idle(old);
    /* it shrinks by 100 MiB and grows back by 20 MiB: only growth counts,
     * from the last total, so 20 MiB > 16 MiB is a merge */
    old->v[F_SHAREABLE] -= 100 * 1024;
    cycle_run(old);
    assert_idle(old);
    old->v[F_SHAREABLE] += 20 * 1024;
    cycle_run(old);
    assert_fast(old, 4000);
}
END_TEST

/* Without HostKSM (momd's default [host] collectors, a MOM config, a
 * kernel without KSM) 20-ksm sets nothing and fails nothing, so that the
 * balloon policy still runs. */
START_TEST(test_no_ksm_statistics)
{
    g_autoptr(Cycle) c = cycle_new_fields(N_NO_KSM);

    cycle_run(c);
    ck_assert_uint_eq(mom_entity_n_controls(c->host), 0);
}
END_TEST

static Suite *
ksm_policy_suite(void)
{
    Suite *s = suite_create("ksm-policy");
    TCase *tc = tcase_create("cycles");

    tcase_add_test(tc, test_merge_then_idle);
    tcase_add_test(tc, test_watch_went_idle);
    tcase_add_test(tc, test_restart);
    tcase_add_test(tc, test_no_ksm_statistics);
    tcase_add_test(tc, test_mergeable_grows);
    tcase_add_test(tc, test_run_or_not);
    tcase_add_test(tc, test_advisor_and_old_kernels);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(ksm_policy_suite());

    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
