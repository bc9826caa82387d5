/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Log capture for the check tests: every structured log call is kept with
 * its level, so that a test can assert what was logged, at which level and
 * how often.  Criticals and errors are kept and also passed on to GLib's
 * writer, so that they are still printed (and fatal under G_DEBUG).  The
 * kept lines are locked: controllers log from their pool threads.
 */
#pragma once

#include <glib.h>

/** mom_test_log_capture: Starts keeping the MESSAGE of every log call (a
 * fixture's setup): a test matches the message text alone. */
void mom_test_log_capture(void);

/**
 * mom_test_log_capture_fields: Starts keeping only the log calls of @domain,
 * each as the line "LEVEL|VALUE1|...|MESSAGE", the values of the structured
 * fields named in @keys ("" when absent): so that a test can tell which
 * controller, guest or tunable a line was about, not only what it said.
 * Other domains' lines are dropped (criticals and errors aside).
 */
void mom_test_log_capture_fields(const char *domain, const char *const *keys);

/** mom_test_log_release: Forgets the kept lines and stops keeping (a
 * fixture's teardown); later log calls go to GLib's writer again. */
void mom_test_log_release(void);

/** mom_test_log_clear: Forgets the lines kept so far, so that a test can
 * count what one step logs. */
void mom_test_log_clear(void);

/** mom_test_log_count: Returns: how many kept lines contain @fragment. */
guint mom_test_log_count(const char *fragment);

/** mom_test_log_count_at: Returns: how many kept lines of one of the @levels
 * (G_LOG_LEVEL_* flags) contain @fragment: a warning must not pass for a
 * message. */
guint mom_test_log_count_at(GLogLevelFlags levels, const char *fragment);

/** mom_test_log_lines: Returns: (transfer full) the kept lines that contain
 * @fragment, oldest first, for a test that checks whole lines. */
GStrv mom_test_log_lines(const char *fragment);

/** mom_test_log_dump: Returns: (transfer full) every kept line, each after
 * "\n  ", for an assertion's failure message. */
char *mom_test_log_dump(void);

/**
 * mom_test_log_assert_count: Asserts that @n kept lines of @levels contain
 * @fragment, and shows every kept line when not: a count alone does not say
 * what was logged instead.  A macro, so that check reports the test's line.
 */
#define mom_test_log_assert_count(levels, fragment, n)                                             \
    do {                                                                                           \
        g_autofree char *all_ = mom_test_log_dump();                                               \
        ck_assert_msg(mom_test_log_count_at(levels, fragment) == (n),                              \
                      "want %d %s line(s) with '%s', got:%s", (int)(n), #levels, fragment, all_);  \
    } while (0)
