/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * momd's log writer: MOM's verbosity names and numbers, filtering, the
 * line format, file rotation by max-bytes and backup-count, the escaping
 * of control characters, and the modes of the files momd creates.
 */
#include "config.h"

#include <check.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

/* ---- escaping ----------------------------------------------------------------------- */

START_TEST(test_escape)
{
    static const struct {
        const char *text;
        MomLogEscapeFlags flags;
        const char *want;
    } cases[] = {
        {"vm1", MOM_LOG_ESCAPE_NAME, "vm1"},
        {"vé ü", MOM_LOG_ESCAPE_NAME, "vé ü"},
        {"a\nb\rc\td", MOM_LOG_ESCAPE_TEXT, "a\\nb\\rc\\td"},
        {"esc\033[31mred", MOM_LOG_ESCAPE_TEXT, "esc\\x1b[31mred"},
        {"del\177 nul\001", MOM_LOG_ESCAPE_TEXT, "del\\x7f nul\\x01"},
        /* C1 controls and the Unicode line separators, as code points */
        {"c1\xc2\x85 ls\xe2\x80\xa8", MOM_LOG_ESCAPE_TEXT, "c1\\u0085 ls\\u2028"},
        /* bytes that are not UTF-8, one by one */
        {"bad\xff\xc3", MOM_LOG_ESCAPE_TEXT, "bad\\xff\\xc3"},
        {"a\\b/c", MOM_LOG_ESCAPE_TEXT, "a\\b/c"},
        {"a\\b/c", MOM_LOG_ESCAPE_NAME, "a\\\\b/c"},
        {"../x", MOM_LOG_ESCAPE_NAME | MOM_LOG_ESCAPE_SLASH, "..\\x2fx"},
        /* a diagnostic keeps its indented lines and tabs; nothing else */
        {"f:1:2: error: e\n  (a\tb)\n  ^", MOM_LOG_ESCAPE_LINES, "f:1:2: error: e\n  (a\tb)\n  ^"},
        {"vm\t1 is ready.", MOM_LOG_ESCAPE_LINES, "vm\\t1 is ready."},
        {"x\n2026-01-01 forged\n", MOM_LOG_ESCAPE_LINES, "x\\n2026-01-01 forged\\n"},
        {"x\r\n  y", MOM_LOG_ESCAPE_LINES, "x\\r\n  y"},
    };

    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *got = mom_log_escape(cases[i].text, cases[i].flags);
        ck_assert_msg(strcmp(got, cases[i].want) == 0, "case %u: '%s', want '%s'", i, got,
                      cases[i].want);
    }
    ck_assert(mom_log_escape(NULL, MOM_LOG_ESCAPE_NAME) == NULL);
    /* an explicit length takes NUL bytes too */
    g_autoptr(GString) out = g_string_new("<");
    mom_log_escape_append(out, "a\0b", 3, MOM_LOG_ESCAPE_TEXT);
    ck_assert_str_eq(out->str, "<a\\x00b");
}
END_TEST

/* A name with a newline cannot write a line of its own into the log. */
START_TEST(test_no_forged_lines)
{
    g_autofree char *dir = g_dir_make_tmp("momd-log-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "momd.log", NULL);
    const char *guest = "vm\n2026-01-01 00:00:00,000 - momd - INFO - KSM run: 1 → 0";

    ck_assert(mom_log_setup(path, MOM_LOG_INFO, 0, 0, NULL));
    g_log_structured("momd", G_LOG_LEVEL_MESSAGE, "MOM_GUEST", guest, "MESSAGE",
                     "Guest %s is now managed.", guest);
    g_message("Policy %s was loaded through the control API.", "x\r\033[2Ky");
    g_warning("p.policy:1:2: error: undefined\n  (frob 1)\n   ^~~~");
    mom_log_shutdown();

    g_autofree char *text = read_all(path);
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    ck_assert_uint_eq(g_strv_length(lines), 6); /* 5 lines and the empty end */
    for (guint i = 0; i < 5; i++)
        ck_assert_msg(
            g_regex_match_simple("^(\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d,\\d{3} - | )",
                                 lines[i], 0, 0),
            "line %u: %s", i, lines[i]);
    ck_assert_msg(g_str_has_suffix(lines[0], " - momd - INFO - Guest vm\\n2026-01-01 00:00:00,000 "
                                             "- momd - INFO - KSM run: 1 → 0 is now managed. "
                                             "[guest=vm\\n2026-01-01 00:00:00,000 - momd - INFO - "
                                             "KSM run: 1 → 0]"),
                  "%s", lines[0]);
    ck_assert_msg(g_str_has_suffix(lines[1], "Policy x\\r\\x1b[2Ky was loaded through the control "
                                             "API."),
                  "%s", lines[1]);
    ck_assert_str_eq(lines[3], "  (frob 1)");
    ck_assert_str_eq(lines[4], "   ^~~~");
    g_unlink(path);
    g_rmdir(dir);
}
END_TEST

/* The log file gets 0640 when momd creates it, whatever the umask. */
START_TEST(test_file_modes)
{
    g_autofree char *dir = g_dir_make_tmp("momd-log-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "momd.log", NULL);
    g_autofree char *p1 = g_strdup_printf("%s.1", path);
    g_autofree char *kept = g_build_filename(dir, "kept.log", NULL);
    g_autofree char *pid = g_build_filename(dir, "pid", NULL);
    g_autoptr(GError) error = NULL;
    struct stat st;
    mode_t old = umask(0077);

    ck_assert(mom_log_setup(path, MOM_LOG_INFO, 100, 1, NULL));
    for (int i = 0; i < 5; i++)
        g_message("a line that takes the log over 100 bytes soon, %d", i);
    mom_log_shutdown();
    ck_assert_int_eq(g_stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 07777, 0640);
    ck_assert_int_eq(g_stat(p1, &st), 0); /* rotated: the first file, renamed */
    ck_assert_int_eq(st.st_mode & 07777, 0640);

    /* a file that exists keeps the mode its owner gave it */
    ck_assert(g_file_set_contents(kept, "old\n", -1, NULL));
    ck_assert_int_eq(g_chmod(kept, 0604), 0);
    FILE *f = mom_log_open_file(kept, "the test file", FALSE, 0640, &error);
    ck_assert_msg(f != NULL, "%s", error ? error->message : "");
    fputs("new\n", f);
    fclose(f);
    ck_assert_int_eq(g_stat(kept, &st), 0);
    ck_assert_int_eq(st.st_mode & 07777, 0604);
    g_autofree char *text = read_all(kept);
    ck_assert_str_eq(text, "old\nnew\n");

    /* truncating, as for a pid file */
    f = mom_log_open_file(kept, "the test file", TRUE, 0644, &error);
    fputs("1\n", f);
    fclose(f);
    g_free(text);
    text = read_all(kept);
    ck_assert_str_eq(text, "1\n");
    f = mom_log_open_file(pid, "the pid file", TRUE, 0644, &error);
    fclose(f);
    ck_assert_int_eq(g_stat(pid, &st), 0);
    ck_assert_int_eq(st.st_mode & 07777, 0644);

    ck_assert(mom_log_open_file("/nonexistent/x", "the plot file", FALSE, 0640, &error) == NULL);
    ck_assert(g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOENT));
    ck_assert_str_eq(error->message,
                     "Cannot open the plot file /nonexistent/x: No such file or directory.");
    umask(old);
    g_unlink(path);
    g_unlink(p1);
    g_unlink(kept);
    g_unlink(pid);
    g_rmdir(dir);
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
    tcase_add_test(tc, test_escape);
    tcase_add_test(tc, test_no_forged_lines);
    tcase_add_test(tc, test_file_modes);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
