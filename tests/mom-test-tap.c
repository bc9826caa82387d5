/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "mom-test-tap.h"

int
mom_test_run_suite(Suite *s, const char *const *skipped, const char *reason)
{
    SRunner *sr = srunner_create(s);
    guint n_skipped = skipped ? g_strv_length((char **)skipped) : 0;
    g_autofree char *tap = NULL;
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;
    guint n_run = 0;
    int failed, fd;

    /* Only TAP on stdout (meson's CK_TAP_LOG_FILE_NAME=-) has room for a
     * skip; check prints its plan last, so the skips go in before it. */
    if (n_skipped == 0 || g_strcmp0(g_getenv("CK_TAP_LOG_FILE_NAME"), "-") != 0) {
        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
    }
    fd = g_file_open_tmp("momd-test-tap-XXXXXX", &tap, NULL);
    g_assert(fd >= 0);
    close(fd);
    srunner_set_tap(sr, tap);
    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    g_assert(g_file_get_contents(tap, &text, NULL, NULL));
    g_unlink(tap);

    lines = g_strsplit(text, "\n", -1);
    for (guint i = 0; lines[i]; i++) {
        if (g_str_has_prefix(lines[i], "1..") || !*lines[i])
            continue;
        puts(lines[i]);
        if (g_str_has_prefix(lines[i], "ok ") || g_str_has_prefix(lines[i], "not ok "))
            n_run++;
    }
    for (guint i = 0; i < n_skipped; i++)
        printf("ok %u - %s # SKIP %s\n", n_run + i + 1, skipped[i], reason);
    printf("1..%u\n", n_run + n_skipped);
    fflush(stdout);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
