/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * momd's log writer: MOM's verbosity names and numbers, filtering, the
 * line format, and file rotation by max-bytes and backup-count.
 */
#include "config.h"

#include <check.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>

#include "mom-agent.h"
#include "mom-collector.h"
#include "mom-config.h"
#include "mom-controller.h"
#include "mom-libvirt.h"
#include "mom-log.h"
#include "mom-policy.h"
#include "mom-rpc.h"
#include "mom-state.h"

/* The GError domains are what logs and RPC faults name: clang-format once
 * turned G_DEFINE_QUARK(mom-rpc-error-quark, ...) into "mom - rpc - ...". */
START_TEST(test_error_domains)
{
    static const struct {
        GQuark (*quark)(void);
        const char *name;
    } domains[] = {
        {mom_agent_error_quark, "mom-agent-error-quark"},
        {mom_collector_error_quark, "mom-collector-error-quark"},
        {mom_config_error_quark, "mom-config-error-quark"},
        {mom_controller_error_quark, "mom-controller-error-quark"},
        {mom_libvirt_error_quark, "mom-libvirt-error-quark"},
        {mom_log_error_quark, "mom-log-error-quark"},
        {mom_policy_error_quark, "mom-policy-error-quark"},
        {mom_rpc_error_quark, "mom-rpc-error-quark"},
        {mom_state_error_quark, "mom-state-error-quark"},
    };
    for (gsize i = 0; i < G_N_ELEMENTS(domains); i++)
        ck_assert_str_eq(g_quark_to_string(domains[i].quark()), domains[i].name);
}
END_TEST

START_TEST(test_parse_verbosity)
{
    static const struct {
        const char *text;
        MomLogLevel level;
    } good[] = {
        {"debug", MOM_LOG_DEBUG},       {"INFO", MOM_LOG_INFO},
        {"warn", MOM_LOG_WARNING},      {"Warning", MOM_LOG_WARNING},
        {"error", MOM_LOG_ERROR_LEVEL}, {"critical", MOM_LOG_CRITICAL},
        {"5", MOM_LOG_DEBUG},           {"1", MOM_LOG_CRITICAL},
        {" 4 ", MOM_LOG_INFO},
    };
    MomLogLevel level;

    for (guint i = 0; i < G_N_ELEMENTS(good); i++) {
        ck_assert_msg(mom_log_parse_verbosity(good[i].text, &level, NULL), "%s", good[i].text);
        ck_assert_int_eq(level, good[i].level);
    }
    const char *bad[] = {"0", "6", "loud", ""};
    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) error = NULL;
        ck_assert(!mom_log_parse_verbosity(bad[i], &level, &error));
        ck_assert(g_error_matches(error, MOM_LOG_ERROR, MOM_LOG_ERROR_VERBOSITY));
        ck_assert_msg(strstr(error->message, "is not one of debug, info, warn") != NULL, "%s",
                      error->message);
    }
    ck_assert_str_eq(mom_log_level_name(MOM_LOG_WARNING), "WARNING");
}
END_TEST

static char *
read_all(const char *path)
{
    char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL))
        return g_strdup("");
    return text;
}

START_TEST(test_file_format_and_filter)
{
    g_autofree char *dir = g_dir_make_tmp("momd-log-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "momd.log", NULL);

    ck_assert(mom_log_setup(path, MOM_LOG_INFO, 0, 0, NULL));
    g_debug("hidden at info");
    g_message("shown at info");
    g_log_structured("momd", G_LOG_LEVEL_WARNING, "MOM_GUEST", "vm1", "MESSAGE", "about a guest");
    mom_log_set_verbosity(MOM_LOG_DEBUG);
    ck_assert_int_eq(mom_log_get_verbosity(), MOM_LOG_DEBUG);
    g_debug("shown at debug");
    mom_log_set_verbosity(MOM_LOG_ERROR_LEVEL);
    g_warning("hidden at error");
    mom_log_shutdown();

    g_autofree char *text = read_all(path);
    ck_assert_msg(strstr(text, "hidden") == NULL, "%s", text);
    ck_assert_msg(strstr(text, " - momd - INFO - shown at info\n") != NULL, "%s", text);
    ck_assert_msg(strstr(text, " - momd - WARNING - about a guest [guest=vm1]\n") != NULL, "%s",
                  text);
    ck_assert_msg(strstr(text, " - momd - DEBUG - shown at debug\n") != NULL, "%s", text);
    /* MOM's timestamp: "YYYY-MM-DD HH:MM:SS,mmm" */
    ck_assert_msg(
        g_regex_match_simple("^\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d,\\d{3} - ", text, 0, 0),
        "%s", text);
    g_unlink(path);
    g_rmdir(dir);
}
END_TEST

/* RotatingFileHandler: PATH grows to max-bytes, then PATH.1 ... PATH.N. */
START_TEST(test_rotation)
{
    g_autofree char *dir = g_dir_make_tmp("momd-log-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "momd.log", NULL);
    g_autofree char *p1 = g_strdup_printf("%s.1", path);
    g_autofree char *p2 = g_strdup_printf("%s.2", path);
    g_autofree char *p3 = g_strdup_printf("%s.3", path);

    ck_assert(mom_log_setup(path, MOM_LOG_INFO, 400, 2, NULL));
    for (int i = 0; i < 40; i++)
        g_message("line %02d of a log that must rotate", i);
    mom_log_shutdown();

    ck_assert(g_file_test(path, G_FILE_TEST_EXISTS));
    ck_assert(g_file_test(p1, G_FILE_TEST_EXISTS));
    ck_assert(g_file_test(p2, G_FILE_TEST_EXISTS));
    ck_assert(!g_file_test(p3, G_FILE_TEST_EXISTS));
    g_autofree char *newest = read_all(path);
    g_autofree char *older = read_all(p1);
    ck_assert_msg(strstr(newest, "line 39") != NULL, "%s", newest);
    ck_assert_msg(strstr(older, "line 39") == NULL && strstr(older, "line ") != NULL, "%s", older);
    struct stat st;
    ck_assert_int_eq(g_stat(p1, &st), 0);
    /* a file is rotated as soon as a line takes it to max-bytes */
    ck_assert_int_ge(st.st_size, 400);
    ck_assert_int_lt(st.st_size, 400 + 120);
    g_unlink(path);
    g_unlink(p1);
    g_unlink(p2);
    g_rmdir(dir);
}
END_TEST

START_TEST(test_unopenable_file)
{
    g_autoptr(GError) error = NULL;

    ck_assert(!mom_log_setup("/nonexistent/dir/momd.log", MOM_LOG_INFO, 0, 0, &error));
    ck_assert(g_error_matches(error, MOM_LOG_ERROR, MOM_LOG_ERROR_OPEN));
    ck_assert_str_eq(error->message,
                     "Cannot open the log file /nonexistent/dir/momd.log: No such file or "
                     "directory.");
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("log");
    TCase *tc = tcase_create("log");
    tcase_add_test(tc, test_error_domains);
    tcase_add_test(tc, test_parse_verbosity);
    tcase_add_test(tc, test_file_format_and_filter);
    tcase_add_test(tc, test_rotation);
    tcase_add_test(tc, test_unopenable_file);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
