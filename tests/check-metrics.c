/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The Prometheus exposition (src/momd/mom-metrics.c) from entities built here:
 * units, label escaping, guests that go away, the counters and the
 * histogram, the outcome classes, and the textfile's error path.  The HTTP
 * endpoint and a real Prometheus are in tests/integration/test-metrics.sh.
 */
#include "config.h"

#include <check.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>

#include <gio/gio.h>
#include <glib.h>

#include "mom-metrics.h"
#include "mom-test-fs.h"
#include "mom-test-log.h"

static const char *const host_fields[] = {"mem_available", "mem_free", "ksm_sleep_millisecs",
                                          "psi_mem_some_avg10"};
static const char *const guest_fields[] = {"balloon_cur", "balloon_max", "mem_unused"};

static MomEntity *
host_new(void)
{
    g_autoptr(MomSchema) schema = mom_schema_new(host_fields, G_N_ELEMENTS(host_fields));
    MomEntity *h = mom_entity_new(MOM_ENTITY_HOST, "Host", schema, 3);
    MomValue v[] = {mom_value_int(1024), mom_value_int(512), mom_value_int(10),
                    mom_value_float(12.5)};
    mom_entity_push_sample(h, v);
    return h;
}

static MomEntity *
guest_new(const char *name, gint64 cur)
{
    g_autoptr(MomSchema) schema = mom_schema_new(guest_fields, G_N_ELEMENTS(guest_fields));
    MomEntity *g = mom_entity_new(MOM_ENTITY_GUEST, name, schema, 3);
    MomValue v[] = {mom_value_int(cur), mom_value_int(2048), mom_value_nil()};
    MomValue n = mom_value_string(name, -1);
    mom_entity_push_sample(g, v);
    mom_entity_set_prop(g, "name", &n);
    mom_value_clear(&n);
    return g;
}

static void
assert_has(const char *text, const char *line)
{
    ck_assert_msg(strstr(text, line) != NULL, "missing \"%s\" in:\n%s", line, text);
}

static void
assert_lacks(const char *text, const char *what)
{
    ck_assert_msg(strstr(text, what) == NULL, "unexpected \"%s\" in:\n%s", what, text);
}

START_TEST(test_render)
{
    g_autofree char *dir = g_dir_make_tmp("check-metrics.XXXXXX", NULL);
    g_autofree char *file = g_build_filename(dir, "momd.prom", NULL);
    MomMetricsOptions opts = {.listen = "", .textfile = file};
    g_autoptr(MomMetrics) m = mom_metrics_new();
    MomEntity *host = host_new();
    g_autoptr(GPtrArray) guests = g_ptr_array_new_with_free_func((GDestroyNotify)mom_entity_free);

    ck_assert(mom_metrics_configure(m, &opts, NULL));
    /* before the first cycle: the daemon's own metrics only */
    assert_has(mom_metrics_text(m), "momd_policy_cycles_total 0\n");
    assert_lacks(mom_metrics_text(m), "momd_guests");

    g_ptr_array_add(guests, guest_new("web\"1\\x\ny", 1024));
    g_ptr_array_add(guests, guest_new("db1", 512));
    mom_metrics_cycle(m, &(MomMetricsCycle){host, guests, TRUE, 0.0007});
    const char *t = mom_metrics_text(m);
    /* KiB → bytes, ms → s, percent → ratio */
    assert_has(t, "momd_host_memory_total_bytes 1048576\n");
    assert_has(t, "momd_host_memory_free_bytes 524288\n");
    assert_has(t, "momd_ksm_sleep_seconds 0.01\n");
    assert_has(t, "momd_host_memory_pressure_some_avg10_ratio 0.125\n");
    /* a field the host does not have is left out, not 0 */
    assert_lacks(t, "momd_host_memory_available_bytes");
    /* label values escaped as the format says */
    assert_has(t, "momd_guest_balloon_current_bytes{domain=\"web\\\"1\\\\x\\ny\"} 1048576\n");
    assert_has(t, "momd_guest_balloon_current_bytes{domain=\"db1\"} 524288\n");
    /* nil statistics are left out */
    assert_lacks(t, "momd_guest_memory_unused_bytes");
    assert_has(t, "momd_guests 2\n");
    assert_has(t, "momd_policy_cycles_total 1\n");
    assert_has(t, "momd_policy_errors_total 0\n");
    assert_has(t, "momd_policy_cycle_duration_seconds_bucket{le=\"0.0005\"} 0\n");
    assert_has(t, "momd_policy_cycle_duration_seconds_bucket{le=\"0.001\"} 1\n");
    assert_has(t, "momd_policy_cycle_duration_seconds_bucket{le=\"+Inf\"} 1\n");
    assert_has(t, "momd_policy_cycle_duration_seconds_count 1\n");
    assert_has(t, "momd_build_info{version=\"" PACKAGE_VERSION "\"} 1\n");
    /* refused hypervisor calls (check-balloon counts them), KSM has none */
    assert_has(t, "momd_controller_call_failures_total{controller=\"Balloon\"} 0\n");
    assert_has(t, "momd_controller_call_failures_total{controller=\"CpuTune\"} 0\n");
    assert_has(t, "momd_controller_call_failures_total{controller=\"IoTune\"} 0\n");
    assert_lacks(t, "momd_controller_call_failures_total{controller=\"KSM\"}");

    /* the textfile holds the same text */
    g_autofree char *written = NULL;
    ck_assert(g_file_get_contents(file, &written, NULL, NULL));
    ck_assert_str_eq(written, t);

    /* a guest that went away is gone from the output; a failed cycle and
     * one longer than every bound are counted */
    g_ptr_array_remove_index(guests, 0);
    mom_metrics_cycle(m, &(MomMetricsCycle){host, guests, FALSE, 30.0});
    t = mom_metrics_text(m);
    assert_lacks(t, "web");
    assert_has(t, "momd_guests 1\n");
    assert_has(t, "momd_policy_errors_total 1\n");
    assert_has(t, "momd_policy_cycle_duration_seconds_bucket{le=\"2.5\"} 1\n");
    assert_has(t, "momd_policy_cycle_duration_seconds_bucket{le=\"+Inf\"} 2\n");

    mom_entity_free(host);
    mom_test_remove_tree(dir);
}
END_TEST

/* A textfile that cannot be written is said once, and again only after it
 * was written in between; momd goes on. */
START_TEST(test_textfile_error)
{
    g_autofree char *dir = g_dir_make_tmp("check-metrics.XXXXXX", NULL);
    g_autofree char *sub = g_build_filename(dir, "d", NULL);
    g_autofree char *file = g_build_filename(sub, "momd.prom", NULL);
    MomMetricsOptions opts = {.listen = NULL, .textfile = file};
    g_autoptr(GError) error = NULL;

    ck_assert_int_eq(g_mkdir(sub, 0755), 0);
    g_autoptr(MomMetrics) m = mom_metrics_new();
    ck_assert(mom_metrics_configure(m, &opts, &error));
    mom_test_log_capture();
    mom_test_remove_tree(sub);
    for (int i = 0; i < 3; i++)
        mom_metrics_cycle(m, &(MomMetricsCycle){NULL, NULL, TRUE, 0.001});
    ck_assert_uint_eq(mom_test_log_count("Cannot write the metrics textfile"), 1);
    ck_assert_int_eq(g_mkdir(sub, 0755), 0);
    mom_metrics_cycle(m, &(MomMetricsCycle){NULL, NULL, TRUE, 0.001});
    ck_assert_uint_eq(mom_test_log_count("is written again"), 1);
    mom_test_log_release();
    ck_assert(g_file_test(file, G_FILE_TEST_IS_REGULAR));
    mom_test_remove_tree(dir);
}
END_TEST

START_TEST(test_nothing_asked)
{
    MomMetricsOptions opts = {.listen = "", .textfile = ""};
    g_autoptr(GError) error = NULL;
    g_autoptr(MomMetrics) m = mom_metrics_new();

    ck_assert(mom_metrics_configure(m, &opts, &error));
    ck_assert(!mom_metrics_active(m));
    ck_assert_uint_eq(mom_metrics_port(m), 0);
    /* counted all the same, for when they are switched on */
    mom_metrics_cycle(m, &(MomMetricsCycle){NULL, NULL, TRUE, 0});
    mom_metrics_cycle(NULL, &(MomMetricsCycle){NULL, NULL, TRUE, 0});
    ck_assert_uint_eq(mom_metrics_port(NULL), 0);
}
END_TEST

START_TEST(test_bad_listen)
{
    static const char *const bad[] = {
        "nonsense",        ":9177",     "127.0.0.1:",    "127.0.0.1:x",
        "127.0.0.1:65536", "[::1:9177", "300.1.1.1:9177"};
    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        MomMetricsOptions opts = {.listen = (char *)bad[i], .textfile = ""};
        g_autoptr(GError) error = NULL;
        g_autoptr(MomMetrics) m = mom_metrics_new();
        ck_assert(!mom_metrics_configure(m, &opts, &error));
        ck_assert_msg(error && strstr(error->message, "is not ADDRESS:PORT"), "%s: %s", bad[i],
                      error ? error->message : "no error");
        ck_assert(!mom_metrics_active(m));
    }
    /* IPv6 and localhost, on a port the kernel picks */
    static const char *const good[] = {"[::1]:0", "localhost:0", "127.0.0.1:0"};
    for (guint i = 0; i < G_N_ELEMENTS(good); i++) {
        MomMetricsOptions opts = {.listen = (char *)good[i], .textfile = ""};
        g_autoptr(GError) error = NULL;
        g_autoptr(MomMetrics) m = mom_metrics_new();
        if (!mom_metrics_configure(m, &opts, &error) && g_str_has_prefix(good[i], "[::1]") &&
            error && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED))
            continue; /* a host without IPv6 */
        ck_assert_msg(error == NULL, "%s: %s", good[i], error ? error->message : "?");
        ck_assert_uint_gt(mom_metrics_port(m), 0);
    }
}
END_TEST

/* A reload: counters go on; a refused change (a textfile in a missing
 * directory, an address in use) leaves the outputs as they were; the same
 * address keeps its listener; a textfile no longer asked for is removed;
 * the textfile is 0644 whatever the umask. */
START_TEST(test_reconfigure)
{
    g_autofree char *dir = g_dir_make_tmp("check-metrics.XXXXXX", NULL);
    g_autofree char *file = g_build_filename(dir, "momd.prom", NULL);
    g_autofree char *other = g_build_filename(dir, "other.prom", NULL);
    g_autofree char *missing = g_build_filename(dir, "no", "momd.prom", NULL);
    g_autoptr(MomMetrics) m = mom_metrics_new();
    g_autoptr(GError) error = NULL;
    MomMetricsOptions opts = {.listen = "127.0.0.1:0", .textfile = file};
    GStatBuf st;

    mode_t old_umask = umask(077);
    ck_assert(mom_metrics_configure(m, &opts, &error));
    guint port = mom_metrics_port(m);
    ck_assert_uint_gt(port, 0);
    mom_metrics_cycle(m, &(MomMetricsCycle){NULL, NULL, TRUE, 0.001});
    umask(old_umask);
    ck_assert_int_eq(g_stat(file, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0644);

    /* refused: the directory is missing; nothing changes */
    MomMetricsOptions bad = {.listen = "127.0.0.1:0", .textfile = missing};
    ck_assert(!mom_metrics_configure(m, &bad, &error));
    g_clear_error(&error);
    ck_assert_uint_eq(mom_metrics_port(m), port);
    ck_assert(g_file_test(file, G_FILE_TEST_EXISTS));

    /* the same listen, another textfile: same port, the old file removed */
    MomMetricsOptions moved = {.listen = "127.0.0.1:0", .textfile = other};
    ck_assert(mom_metrics_configure(m, &moved, &error));
    ck_assert_uint_eq(mom_metrics_port(m), port);
    ck_assert(!g_file_test(file, G_FILE_TEST_EXISTS));
    ck_assert(g_file_test(other, G_FILE_TEST_EXISTS));

    /* counters go on across it */
    mom_metrics_cycle(m, &(MomMetricsCycle){NULL, NULL, TRUE, 0.001});
    assert_has(mom_metrics_text(m), "momd_policy_cycles_total 2\n");
    assert_has(mom_metrics_text(m), "momd_last_cycle_timestamp_seconds ");

    /* all off: no listener, the textfile removed */
    MomMetricsOptions off = {.listen = "", .textfile = ""};
    ck_assert(mom_metrics_configure(m, &off, &error));
    ck_assert(!mom_metrics_active(m));
    ck_assert(!g_file_test(other, G_FILE_TEST_EXISTS));
    mom_test_remove_tree(dir);
}
END_TEST

START_TEST(test_outcome_classes)
{
    static const struct {
        const char *outcome, *result;
    } cases[] = {
        {"requested 100 → 200 KiB", "applied"},
        {"written 100 → 400", "applied"},
        {"requested 100 → 200 KiB; clamped by balloon_max", "clamped"},
        {"dry run: would set 1 → 2 KiB; clamped by balloon_min", "skipped"},
        {"unchanged", "skipped"},
        {"waiting: the balloon is moving to 5 KiB", "skipped"},
        {"skipped: the previous change is running", "skipped"},
        {"ignored: not a number of KiB", "failed"},
        {"failed: run is missing", "failed"},
        {"refused by the kernel: Invalid argument", "failed"},
        {NULL, "skipped"},
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++)
        ck_assert_str_eq(mom_metrics_outcome_result(cases[i].outcome), cases[i].result);
    ck_assert_str_eq(mom_metrics_control_controller("balloon_target"), "Balloon");
    ck_assert_str_eq(mom_metrics_control_controller("ksm_run"), "KSM");
    ck_assert_str_eq(mom_metrics_control_controller("vcpu_quota"), "CpuTune");
    ck_assert_str_eq(mom_metrics_control_controller("io_tune.vda.total_bytes_sec"), "IoTune");
    ck_assert_str_eq(mom_metrics_control_controller("nosuch"), "other");
}
END_TEST

static Suite *
metrics_suite(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_render);
    tcase_add_test(tc, test_textfile_error);
    tcase_add_test(tc, test_nothing_asked);
    tcase_add_test(tc, test_bad_listen);
    tcase_add_test(tc, test_reconfigure);
    tcase_add_test(tc, test_outcome_classes);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(metrics_suite());

    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
