/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Running a check suite as a TAP test program, with skipped tests.
 */
#pragma once

#include <check.h>

/**
 * mom_test_run_suite:
 * Runs @s with CK_ENV, as each tests/check-*.c main() does, then reports
 * each name in @skipped (NULL-terminated, or NULL) as a TAP subtest
 * "ok N - NAME # SKIP @reason", which check itself cannot print: meson
 * then counts it as skipped, not passed.  The caller leaves the skipped
 * tests out of @s.  Frees @s.
 * Returns: the exit status, EXIT_FAILURE when a test failed.
 */
int mom_test_run_suite(Suite *s, const char *const *skipped, const char *reason);
