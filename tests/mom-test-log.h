/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Log capture for the check tests: the MESSAGE of every structured log
 * call is kept, so that a test can assert what was logged and how often.
 */
#pragma once

#include <glib.h>

/** mom_test_log_capture: Starts keeping log messages (a fixture's setup). */
void mom_test_log_capture(void);

/** mom_test_log_release: Forgets the kept messages (a fixture's teardown). */
void mom_test_log_release(void);

/** mom_test_log_count: Returns: how many kept messages contain @fragment. */
guint mom_test_log_count(const char *fragment);
