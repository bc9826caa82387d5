/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The guest collectors (GuestMemory, GuestBalloon, their Optional
 * variants, GuestQemuProc) against hand-filled MomGuestData, the way the
 * guest manager hands it over, and GuestQemuProc against the proc/normal
 * fixture (tests/data/README.md) and copies of it rewritten between
 * samples.
 */
#include "config.h"

#include <check.h>
#include <glib/gstdio.h>
#include <string.h>

#include <glib.h>

#include "mom-collector.h"
#include "collector-priv.h"
#include "mom-test-collector.h"
#include "mom-test-fs.h"

/* ---- harness ------------------------------------------------------------ */

static char *
proc_fixture(const char *fixture)
{
    const char *top = g_getenv("MOM_TEST_DATA");

    ck_assert_msg(top != NULL, "MOM_TEST_DATA is not set");
    return g_build_filename(top, "data", "proc", fixture, NULL);
}

/* A guest as the guest manager describes it after a good bulk call. */
static void
guest_fill(MomGuestData *g)
{
    *g = (MomGuestData){
        .name = "vm1",
        .uuid = "4b1e2d3c-0000-4000-8000-000000000001",
        .pid = 1000,
        .balloon_cur = 2097152,
        .balloon_max = 4194304,
        .tune.balloon_min = 1048576,
        .swap_in = 11,
        .swap_out = 22,
        .major_fault = 33,
        .minor_fault = 44,
        .unused = 1500000,
        .available = 4000000,
        .usable = 2500000,
        .disk_caches = 600000,
        .rss = 2200000,
        .last_update = 1700000000,
        .now = 1700000007,
        .tune.nosharepages = FALSE,
    };
}

/* Every reportable value of @g set to -1, "not reported". */
static void
guest_unreported(MomGuestData *g)
{
    guest_fill(g);
    g->pid = g->balloon_cur = g->balloon_max = g->tune.balloon_min = -1;
    g->swap_in = g->swap_out = g->major_fault = g->minor_fault = -1;
    g->unused = g->available = g->usable = g->disk_caches = g->rss = -1;
    g->last_update = -1;
}

/* Starts collector @name over @guest, which the test may change between
 * collects as the guest manager does, and @proc_root (GuestQemuProc). */
static MomTestHarness *
guest_harness(const char *name, const MomGuestData *guest, const char *proc_root)
{
    MomCollectorConfig cfg = {
        .proc_root = proc_root, .sysfs_root = "/nonexistent", .interval = 10, .guest = guest};

    return mom_test_harness_new(name, &cfg);
}

static guint
strv_len0(const char *const *v)
{
    return v ? g_strv_length((char **)v) : 0;
}

static gboolean
strv_has(const char *const *v, const char *s)
{
    return v && g_strv_contains(v, s);
}

/* ---- temporary proc trees ----------------------------------------------- */

/* A writable copy of tests/data/proc/@fixture in a fresh temp dir. */
typedef struct {
    char *dir;
    char *proc;
} TmpProc;

static void
tmp_proc_free(TmpProc *t)
{
    mom_test_remove_tree(t->dir);
    g_free(t->dir);
    g_free(t->proc);
    g_free(t);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TmpProc, tmp_proc_free)

static TmpProc *
tmp_proc_new(const char *fixture)
{
    TmpProc *t = g_new0(TmpProc, 1);
    g_autofree char *src = proc_fixture(fixture);

    t->dir = g_dir_make_tmp("momd-guest-collectors-XXXXXX", NULL);
    ck_assert_ptr_nonnull(t->dir);
    t->proc = g_build_filename(t->dir, "proc", NULL);
    mom_test_copy_tree(src, t->proc);
    return t;
}

/* Writes PROC/@pid/stat for a qemu-kvm process with the given counters. */
static void
write_stat(TmpProc *t, gint64 pid, guint64 minflt, guint64 majflt, guint64 starttime, gint64 rss)
{
    g_autofree char *name = g_strdup_printf("%" G_GINT64_FORMAT, pid);
    g_autofree char *dir = g_build_filename(t->proc, name, NULL);
    g_autofree char *path = g_build_filename(dir, "stat", NULL);
    g_autofree char *line =
        g_strdup_printf("%" G_GINT64_FORMAT " (qemu-kvm) S 1 %" G_GINT64_FORMAT " %" G_GINT64_FORMAT
                        " 0 -1 4194560 %" G_GUINT64_FORMAT " 0 %" G_GUINT64_FORMAT
                        " 0 300 200 0 0 20 0 4 0 %" G_GUINT64_FORMAT " 4294967296 %" G_GINT64_FORMAT
                        " 18446744073709551615 0 0 0 0 0\n",
                        pid, pid, pid, minflt, majflt, starttime, rss);

    ck_assert_int_eq(g_mkdir_with_parents(dir, 0755), 0);
    ck_assert(g_file_set_contents(path, line, -1, NULL));
}

/* ---- registry ------------------------------------------------------------ */

START_TEST(test_registry)
{
    static const struct {
        const char *name;
        const MomCollectorClass *klass;
        gboolean needs_agent; /* the guest manager's agent poller must run */
    } guests[] = {
        {"GuestMemory", &mom_collector_guest_memory, FALSE},
        {"GuestMemoryOptional", &mom_collector_guest_memory_optional, FALSE},
        {"GuestBalloon", &mom_collector_guest_balloon, FALSE},
        {"GuestBalloonOptional", &mom_collector_guest_balloon_optional, FALSE},
        {"GuestQemuProc", &mom_collector_guest_qemu_proc, FALSE},
        {"GuestQemuAgent", &mom_collector_guest_agent, TRUE},
        {"GuestQemuAgentOptional", &mom_collector_guest_agent_optional, TRUE},
    };

    for (guint i = 0; i < G_N_ELEMENTS(guests); i++) {
        const MomCollectorClass *k = mom_collector_lookup(guests[i].name);

        ck_assert_ptr_eq(k, guests[i].klass);
        ck_assert_str_eq(k->name, guests[i].name);
        ck_assert_ptr_nonnull(k->fields);
        ck_assert_ptr_nonnull(k->init);
        ck_assert_ptr_nonnull(k->collect);
        ck_assert_ptr_nonnull(k->free);
        ck_assert_int_eq(k->needs_agent, guests[i].needs_agent);
    }
    ck_assert_ptr_null(mom_collector_lookup("GuestMemoryOptional2"));
    ck_assert_ptr_null(mom_collector_lookup("guestballoon"));

    /* MOM's mandatory/optional split */
    ck_assert_uint_eq(strv_len0(mom_collector_guest_memory.fields), 6);
    ck_assert(strv_has(mom_collector_guest_memory.fields, "mem_available"));
    ck_assert(strv_has(mom_collector_guest_memory.fields, "swap_out"));
    ck_assert(strv_has(mom_collector_guest_memory.optional_fields, "swap_total"));
    ck_assert(strv_has(mom_collector_guest_memory.optional_fields, "stats_age"));
    ck_assert_uint_eq(strv_len0(mom_collector_guest_memory_optional.fields), 0);
    ck_assert_uint_eq(strv_len0(mom_collector_guest_memory_optional.optional_fields),
                      strv_len0(mom_collector_guest_memory.fields) +
                          strv_len0(mom_collector_guest_memory.optional_fields));
    ck_assert_uint_eq(strv_len0(mom_collector_guest_balloon.fields), 3);
    ck_assert(strv_has(mom_collector_guest_balloon.fields, "balloon_min"));
    ck_assert_uint_eq(strv_len0(mom_collector_guest_balloon_optional.fields), 0);
    ck_assert_uint_eq(strv_len0(mom_collector_guest_balloon_optional.optional_fields), 3);
    ck_assert_uint_eq(strv_len0(mom_collector_guest_qemu_proc.fields), 3);
    ck_assert_uint_eq(strv_len0(mom_collector_guest_qemu_proc.optional_fields), 0);
    /* the Optional agent has every field of the agent, none mandatory */
    ck_assert_uint_eq(strv_len0(mom_collector_guest_agent_optional.fields), 0);
    ck_assert_uint_eq(strv_len0(mom_collector_guest_agent_optional.optional_fields),
                      strv_len0(mom_collector_guest_agent.fields) +
                          strv_len0(mom_collector_guest_agent.optional_fields));
    for (const char *const *f = mom_collector_guest_agent.fields; *f; f++)
        ck_assert(strv_has(mom_collector_guest_agent_optional.optional_fields, *f));
    for (const char *const *f = mom_collector_guest_agent.optional_fields; *f; f++)
        ck_assert(strv_has(mom_collector_guest_agent_optional.optional_fields, *f));
}
END_TEST

START_TEST(test_no_guest)
{
    static const char *const names[] = {"GuestMemory", "GuestMemoryOptional", "GuestBalloon",
                                        "GuestBalloonOptional", "GuestQemuProc"};

    for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
        const MomCollectorClass *k = mom_collector_lookup(names[i]);
        g_autoptr(GError) error = NULL;
        g_autofree char *want = g_strdup_printf(
            "%s is a guest collector and cannot be used in [host] collectors.", names[i]);
        MomCollectorConfig cfg = {.proc_root = "/proc", .sysfs_root = "/sys", .interval = 10};

        ck_assert_ptr_null(k->init(&cfg, &error));
        ck_assert_ptr_nonnull(error);
        ck_assert(g_error_matches(error, MOM_COLLECTOR_ERROR, MOM_COLLECTOR_ERROR_CONFIG));
        ck_assert_str_eq(error->message, want);
    }
}
END_TEST

/* ---- GuestMemory ---------------------------------------------------------- */

START_TEST(test_guest_memory)
{
    MomGuestData g;
    g_autoptr(MomTestHarness) h = NULL;

    guest_fill(&g);
    h = guest_harness("GuestMemory", &g, "/nonexistent");
    mom_test_collect_ok(h);
    ck_assert_int_eq(mom_test_get_int(h, "mem_available"), 4000000);
    ck_assert_int_eq(mom_test_get_int(h, "mem_unused"), 1500000);
    ck_assert_int_eq(mom_test_get_int(h, "major_fault"), 33);
    ck_assert_int_eq(mom_test_get_int(h, "minor_fault"), 44);
    ck_assert_int_eq(mom_test_get_int(h, "swap_in"), 11);
    ck_assert_int_eq(mom_test_get_int(h, "swap_out"), 22);
    ck_assert_int_eq(mom_test_get_int(h, "mem_usable"), 2500000);
    ck_assert_int_eq(mom_test_get_int(h, "disk_caches"), 600000);
    ck_assert_int_eq(mom_test_get_int(h, "stats_age"), 7);
    /* libvirt has no swap totals: nil, never 0 */
    mom_test_assert_nil(h, "swap_total");
    mom_test_assert_nil(h, "swap_usage");
    ck_assert_ptr_null(mom_sample_missing_field(h->sample, h->klass));

    /* the guest manager refreshes the data in place between cycles */
    g.unused = 1400000;
    g.now += 10;
    mom_test_collect_ok(h);
    ck_assert_int_eq(mom_test_get_int(h, "mem_unused"), 1400000);
    ck_assert_int_eq(mom_test_get_int(h, "stats_age"), 17);
}
END_TEST

START_TEST(test_guest_memory_unreported)
{
    MomGuestData g;
    g_autoptr(MomTestHarness) h = NULL;

    guest_unreported(&g);
    h = guest_harness("GuestMemory", &g, "/nonexistent");
    /* not an error: the monitor marks the sample incomplete */
    mom_test_collect_ok(h);
    mom_test_assert_nil(h, "mem_available");
    mom_test_assert_nil(h, "mem_unused");
    mom_test_assert_nil(h, "major_fault");
    mom_test_assert_nil(h, "minor_fault");
    mom_test_assert_nil(h, "swap_in");
    mom_test_assert_nil(h, "swap_out");
    mom_test_assert_nil(h, "mem_usable");
    mom_test_assert_nil(h, "disk_caches");
    mom_test_assert_nil(h, "stats_age");
    ck_assert_str_eq(mom_sample_missing_field(h->sample, h->klass), "mem_available");

    /* only one missing mandatory field still makes the sample incomplete */
    guest_fill(&g);
    g.swap_out = -1;
    mom_test_collect_ok(h);
    mom_test_assert_nil(h, "swap_out");
    ck_assert_int_eq(mom_test_get_int(h, "swap_in"), 11);
    ck_assert_str_eq(mom_sample_missing_field(h->sample, h->klass), "swap_out");

    /* a missing optional field leaves the sample complete; 0 is a value */
    guest_fill(&g);
    g.usable = -1;
    g.disk_caches = 0;
    mom_test_collect_ok(h);
    mom_test_assert_nil(h, "mem_usable");
    ck_assert_int_eq(mom_test_get_int(h, "disk_caches"), 0);
    ck_assert_ptr_null(mom_sample_missing_field(h->sample, h->klass));
}
END_TEST

START_TEST(test_guest_memory_stats_age)
{
    MomGuestData g;
    g_autoptr(MomTestHarness) h = NULL;

    guest_fill(&g);
    h = guest_harness("GuestMemory", &g, "/nonexistent");

    /* stale stats show as a large age, for the policy to act on */
    g.last_update = g.now - 3600;
    mom_test_collect_ok(h);
    ck_assert_int_eq(mom_test_get_int(h, "stats_age"), 3600);
    g.last_update = g.now;
    mom_test_collect_ok(h);
    ck_assert_int_eq(mom_test_get_int(h, "stats_age"), 0);
    /* QEMU's 0 means "the guest never sent stats": unknown, not 54 years */
    g.last_update = 0;
    mom_test_collect_ok(h);
    mom_test_assert_nil(h, "stats_age");
    g.last_update = -1;
    mom_test_collect_ok(h);
    mom_test_assert_nil(h, "stats_age");
    /* a host clock step back between the readings: fresh, not negative */
    g.last_update = g.now + 5;
    mom_test_collect_ok(h);
    ck_assert_int_eq(mom_test_get_int(h, "stats_age"), 0);
    /* no time of collection: unknown */
    g.last_update = 1700000000;
    g.now = -1;
    mom_test_collect_ok(h);
    mom_test_assert_nil(h, "stats_age");
    /* stats_age is optional: its absence never makes a sample incomplete */
    ck_assert_ptr_null(mom_sample_missing_field(h->sample, h->klass));
}
END_TEST

/* The paging rates come from the guest's own reports: a report read twice
 * keeps its rate, a counter that went back (a reboot) is unknown until the
 * guest has reported twice again. */
START_TEST(test_guest_memory_rates)
{
    MomGuestData g;
    g_autoptr(MomTestHarness) h = NULL;

    guest_fill(&g);
    h = guest_harness("GuestMemory", &g, "/nonexistent");
    mom_test_collect_ok(h);
    mom_test_assert_nil(h, "major_fault_rate"); /* one report: no rate yet */
    mom_test_assert_nil(h, "swap_in_rate");
    mom_test_assert_nil(h, "mem_unused_rate");
    ck_assert_int_eq(mom_test_get_int(h, "mem_idle"), 2500000); /* usable */

    g.major_fault += 50; /* 50 faults and 400 KiB in over 2 s */
    g.swap_in += 400;
    g.last_update += 2;
    mom_test_collect_ok(h);
    ck_assert_double_eq_tol(mom_test_get_float(h, "major_fault_rate"), 25.0, 1e-9);
    ck_assert_double_eq_tol(mom_test_get_float(h, "swap_in_rate"), 200.0, 1e-9);
    /* the same report read again: the same rates, not 0 */
    mom_test_collect_ok(h);
    ck_assert_double_eq_tol(mom_test_get_float(h, "major_fault_rate"), 25.0, 1e-9);
    g.last_update += 4; /* no new faults over 4 s */
    mom_test_collect_ok(h);
    ck_assert_double_eq_tol(mom_test_get_float(h, "major_fault_rate"), 0.0, 1e-9);

    g.major_fault = 3; /* a reboot: the counter starts again */
    g.last_update += 2;
    mom_test_collect_ok(h);
    mom_test_assert_nil(h, "major_fault_rate");
    ck_assert_double_eq_tol(mom_test_get_float(h, "swap_in_rate"), 0.0, 1e-9);
    g.major_fault = 13;
    g.last_update += 1;
    mom_test_collect_ok(h);
    ck_assert_double_eq_tol(mom_test_get_float(h, "major_fault_rate"), 10.0, 1e-9);

    /* free memory is a gauge: it falls while the guest fills its memory */
    g.unused -= 60000; /* 60000 KiB less over 3 s */
    g.last_update += 3;
    mom_test_collect_ok(h);
    ck_assert_double_eq_tol(mom_test_get_float(h, "mem_unused_rate"), -20000.0, 1e-9);
    g.unused += 60000;

    /* without "usable", idle memory is what is unused */
    g.usable = -1;
    mom_test_collect_ok(h);
    ck_assert_int_eq(mom_test_get_int(h, "mem_idle"), 1500000);
    /* the guest stopped reporting: the rates are unknown again */
    g.last_update = -1;
    mom_test_collect_ok(h);
    mom_test_assert_nil(h, "major_fault_rate");
    mom_test_assert_nil(h, "swap_in_rate");
    /* optional: their absence never makes a sample incomplete */
    ck_assert_ptr_null(mom_sample_missing_field(h->sample, h->klass));
}
END_TEST

START_TEST(test_guest_memory_optional)
{
    MomGuestData g;
    g_autoptr(MomTestHarness) h = NULL;

    guest_fill(&g);
    h = guest_harness("GuestMemoryOptional", &g, "/nonexistent");
    mom_test_collect_ok(h);
    ck_assert_int_eq(mom_test_get_int(h, "mem_available"), 4000000);
    ck_assert_int_eq(mom_test_get_int(h, "swap_out"), 22);
    ck_assert_int_eq(mom_test_get_int(h, "mem_usable"), 2500000);
    ck_assert_int_eq(mom_test_get_int(h, "stats_age"), 7);
    mom_test_assert_nil(h, "swap_total");

    /* nothing reported: every field nil, and yet the sample is complete */
    guest_unreported(&g);
    mom_test_collect_ok(h);
    mom_test_assert_nil(h, "mem_available");
    mom_test_assert_nil(h, "swap_in");
    mom_test_assert_nil(h, "stats_age");
    ck_assert_ptr_null(mom_sample_missing_field(h->sample, h->klass));
}
END_TEST

/* ---- GuestBalloon ----------------------------------------------------------- */

START_TEST(test_guest_balloon)
{
    MomGuestData g;
    g_autoptr(MomTestHarness) h = NULL;

    guest_fill(&g);
    h = guest_harness("GuestBalloon", &g, "/nonexistent");
    mom_test_collect_ok(h);
    ck_assert_int_eq(mom_test_get_int(h, "balloon_cur"), 2097152);
    ck_assert_int_eq(mom_test_get_int(h, "balloon_max"), 4194304);
    ck_assert_int_eq(mom_test_get_int(h, "balloon_min"), 1048576);
    ck_assert_ptr_null(mom_sample_missing_field(h->sample, h->klass));

    /* no <min_guarantee>: the integer 0 (MOM gave 0 too, a string otherwise) */
    g.tune.balloon_min = 0;
    mom_test_collect_ok(h);
    ck_assert_int_eq(mom_test_get_int(h, "balloon_min"), 0);
    ck_assert_ptr_null(mom_sample_missing_field(h->sample, h->klass));

    /* unreported: nil and incomplete, not a failed collection */
    g.balloon_cur = -1;
    mom_test_collect_ok(h);
    mom_test_assert_nil(h, "balloon_cur");
    ck_assert_int_eq(mom_test_get_int(h, "balloon_max"), 4194304);
    ck_assert_str_eq(mom_sample_missing_field(h->sample, h->klass), "balloon_cur");
    guest_unreported(&g);
    mom_test_collect_ok(h);
    mom_test_assert_nil(h, "balloon_max");
    mom_test_assert_nil(h, "balloon_min");
}
END_TEST

START_TEST(test_guest_balloon_optional)
{
    MomGuestData g;
    g_autoptr(MomTestHarness) h = NULL;

    guest_fill(&g);
    h = guest_harness("GuestBalloonOptional", &g, "/nonexistent");
    mom_test_collect_ok(h);
    ck_assert_int_eq(mom_test_get_int(h, "balloon_cur"), 2097152);
    ck_assert_int_eq(mom_test_get_int(h, "balloon_max"), 4194304);
    ck_assert_int_eq(mom_test_get_int(h, "balloon_min"), 1048576);

    guest_unreported(&g);
    mom_test_collect_ok(h);
    mom_test_assert_nil(h, "balloon_cur");
    mom_test_assert_nil(h, "balloon_max");
    mom_test_assert_nil(h, "balloon_min");
    ck_assert_ptr_null(mom_sample_missing_field(h->sample, h->klass));
}
END_TEST

/* ---- GuestQemuProc ---------------------------------------------------------- */

START_TEST(test_qemu_proc_fixture)
{
    MomGuestData g;
    g_autofree char *proc = proc_fixture("normal");
    g_autoptr(MomTestHarness) h = NULL;

    guest_fill(&g);
    h = guest_harness("GuestQemuProc", &g, proc);
    mom_test_collect_ok(h);
    /* MOM: the first sample's fault deltas are 0, not the process totals */
    ck_assert_int_eq(mom_test_get_int(h, "host_minor_faults"), 0);
    ck_assert_int_eq(mom_test_get_int(h, "host_major_faults"), 0);
    /* stat field 24, pages as in MOM (not MomGuestData.rss, which is KiB) */
    ck_assert_int_eq(mom_test_get_int(h, "rss"), 262144);
    ck_assert_ptr_null(mom_sample_missing_field(h->sample, h->klass));
    mom_test_collect_ok(h);
    ck_assert_int_eq(mom_test_get_int(h, "host_minor_faults"), 0);
    ck_assert_int_eq(mom_test_get_int(h, "host_major_faults"), 0);
    ck_assert_int_eq(mom_test_get_int(h, "rss"), 262144);
}
END_TEST

START_TEST(test_qemu_proc_deltas)
{
    g_autoptr(TmpProc) t = tmp_proc_new("normal");
    g_autoptr(MomTestHarness) h = NULL;
    g_autoptr(GError) error = NULL;
    MomGuestData g;

    guest_fill(&g);
    h = guest_harness("GuestQemuProc", &g, t->proc);
    mom_test_collect_ok(h); /* fixture: minflt 5000, majflt 7, starttime 1000 */
    write_stat(t, 1000, 5600, 10, 1000, 300000);
    mom_test_collect_ok(h);
    ck_assert_int_eq(mom_test_get_int(h, "host_minor_faults"), 600);
    ck_assert_int_eq(mom_test_get_int(h, "host_major_faults"), 3);
    ck_assert_int_eq(mom_test_get_int(h, "rss"), 300000);
    write_stat(t, 1000, 5650, 10, 1000, 300000);
    mom_test_collect_ok(h);
    ck_assert_int_eq(mom_test_get_int(h, "host_minor_faults"), 50);
    ck_assert_int_eq(mom_test_get_int(h, "host_major_faults"), 0);

    /* a failed read leaves the baseline where it was */
    {
        g_autofree char *path = g_build_filename(t->proc, "1000", "stat", NULL);
        ck_assert(g_file_set_contents(path, "garbage\n", -1, NULL));
    }
    ck_assert(!mom_test_collect(h, &error));
    g_clear_error(&error);
    write_stat(t, 1000, 5700, 12, 1000, 300000);
    mom_test_collect_ok(h);
    ck_assert_int_eq(mom_test_get_int(h, "host_minor_faults"), 50);
    ck_assert_int_eq(mom_test_get_int(h, "host_major_faults"), 2);

    /* the guest restarted: a new QEMU pid starts from 0, not from its totals
     * minus the old process's */
    write_stat(t, 2000, 100, 1, 5000, 4096);
    g.pid = 2000;
    mom_test_collect_ok(h);
    ck_assert_int_eq(mom_test_get_int(h, "host_minor_faults"), 0);
    ck_assert_int_eq(mom_test_get_int(h, "host_major_faults"), 0);
    ck_assert_int_eq(mom_test_get_int(h, "rss"), 4096);
    write_stat(t, 2000, 180, 4, 5000, 8192);
    mom_test_collect_ok(h);
    ck_assert_int_eq(mom_test_get_int(h, "host_minor_faults"), 80);
    ck_assert_int_eq(mom_test_get_int(h, "host_major_faults"), 3);
    ck_assert_int_eq(mom_test_get_int(h, "rss"), 8192);

    /* the same pid reused by the next QEMU (new start time) resets too,
     * even though its totals happen to be higher */
    write_stat(t, 2000, 90000, 500, 9000, 8192);
    mom_test_collect_ok(h);
    ck_assert_int_eq(mom_test_get_int(h, "host_minor_faults"), 0);
    ck_assert_int_eq(mom_test_get_int(h, "host_major_faults"), 0);
    write_stat(t, 2000, 90010, 501, 9000, 8192);
    mom_test_collect_ok(h);
    ck_assert_int_eq(mom_test_get_int(h, "host_minor_faults"), 10);
    ck_assert_int_eq(mom_test_get_int(h, "host_major_faults"), 1);

    /* and back to the first process: its baseline was dropped, so 0 again */
    g.pid = 1000;
    mom_test_collect_ok(h);
    ck_assert_int_eq(mom_test_get_int(h, "host_minor_faults"), 0);
    ck_assert_int_eq(mom_test_get_int(h, "rss"), 300000);
}
END_TEST

START_TEST(test_qemu_proc_errors)
{
    g_autoptr(TmpProc) t = tmp_proc_new("normal");
    g_autoptr(MomTestHarness) h = NULL;
    g_autofree char *gone = g_build_filename(t->proc, "4242", "stat", NULL);
    g_autofree char *want_gone =
        g_strdup_printf("guest vm1: Cannot read %s: No such file or directory", gone);
    g_autofree char *stat1000 = g_build_filename(t->proc, "1000", "stat", NULL);
    g_autoptr(GError) error = NULL;
    MomGuestData g;

    guest_fill(&g);
    g.pid = -1;
    h = guest_harness("GuestQemuProc", &g, t->proc);
    mom_test_assert_collect_error(
        h, MOM_COLLECTOR_ERROR_READ,
        "guest vm1: no QEMU process was found for it, neither through libvirt's "
        "pid file nor in the process list by its UUID.");

    /* the pid libvirt gave has exited */
    g.pid = 4242;
    mom_test_assert_collect_error(h, MOM_COLLECTOR_ERROR_READ, want_gone);

    /* an unparseable stat is a PARSE error naming the guest */
    g.pid = 1005;
    ck_assert(!mom_test_collect(h, &error));
    ck_assert(g_error_matches(error, MOM_COLLECTOR_ERROR, MOM_COLLECTOR_ERROR_PARSE));
    ck_assert_msg(g_str_has_prefix(error->message, "guest vm1: "), "%s", error->message);
    g_clear_error(&error);

    /* recovery: the next good read works, first sample of that process */
    g.pid = 1000;
    mom_test_collect_ok(h);
    ck_assert_int_eq(mom_test_get_int(h, "host_minor_faults"), 0);
    ck_assert_int_eq(mom_test_get_int(h, "rss"), 262144);

    /* the process vanishes under us: a READ error, then it comes back */
    ck_assert_int_eq(g_remove(stat1000), 0);
    {
        g_autofree char *want =
            g_strdup_printf("guest vm1: Cannot read %s: No such file or directory", stat1000);
        mom_test_assert_collect_error(h, MOM_COLLECTOR_ERROR_READ, want);
    }
    write_stat(t, 1000, 5010, 7, 1000, 262144);
    mom_test_collect_ok(h);
    ck_assert_int_eq(mom_test_get_int(h, "host_minor_faults"), 10);
}
END_TEST

static Suite *
guest_collectors_suite(void)
{
    Suite *s = suite_create("guest-collectors");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_registry);
    tcase_add_test(tc, test_no_guest);
    tcase_add_test(tc, test_guest_memory);
    tcase_add_test(tc, test_guest_memory_unreported);
    tcase_add_test(tc, test_guest_memory_stats_age);
    tcase_add_test(tc, test_guest_memory_rates);
    tcase_add_test(tc, test_guest_memory_optional);
    tcase_add_test(tc, test_guest_balloon);
    tcase_add_test(tc, test_guest_balloon_optional);
    tcase_add_test(tc, test_qemu_proc_fixture);
    tcase_add_test(tc, test_qemu_proc_deltas);
    tcase_add_test(tc, test_qemu_proc_errors);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    Suite *s = guest_collectors_suite();
    SRunner *sr = srunner_create(s);
    int failed;

    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
