/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mom_malloc_setup(): one glibc arena for all of momd's threads, unless
 * the environment sets its own limit.  Each test runs in its own forked
 * process (check's default), so one test's arenas do not carry over.
 */
#include "config.h"

#include <check.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "mom-malloc.h"

#define THREADS 4

/* GCC says __SANITIZE_ADDRESS__, clang __has_feature(address_sanitizer). */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

/* Each thread allocates while the others are alive, as momd's workers do. */
static gpointer
allocate(gpointer barrier)
{
    void *p = malloc(4096);

    ck_assert(p != NULL);
    memset(p, 1, 4096);
    g_atomic_int_inc((gint *)barrier);
    while (g_atomic_int_get((gint *)barrier) < THREADS)
        g_usleep(1000);
    free(p);
    return NULL;
}

/* The number of arenas glibc has, from malloc_info's <heap nr=...> elements. */
static guint
arenas_after_threads(void)
{
    gint barrier = 0;
    GThread *t[THREADS];
    char *text = NULL;
    size_t len = 0;
    FILE *f;
    guint n = 0;

    for (guint i = 0; i < THREADS; i++)
        t[i] = g_thread_new("alloc", allocate, &barrier);
    for (guint i = 0; i < THREADS; i++)
        g_thread_join(t[i]);
    f = open_memstream(&text, &len);
    ck_assert(f != NULL);
    ck_assert_int_eq(malloc_info(0, f), 0);
    fclose(f);
    for (const char *p = text; (p = strstr(p, "<heap nr=")); p++)
        n++;
    free(text);
    return n;
}

START_TEST(test_one_arena)
{
    g_unsetenv("MALLOC_ARENA_MAX");
    g_unsetenv("GLIBC_TUNABLES");
    ck_assert(mom_malloc_setup());
    ck_assert_uint_eq(arenas_after_threads(), 1);
}
END_TEST

/* Without it, the same threads get arenas of their own: the test above
 * can fail. */
START_TEST(test_arenas_without_setup)
{
    ck_assert_uint_gt(arenas_after_threads(), 1);
}
END_TEST

START_TEST(test_environment_wins)
{
    g_setenv("MALLOC_ARENA_MAX", "4", TRUE);
    ck_assert(!mom_malloc_setup());
    g_unsetenv("MALLOC_ARENA_MAX");
    g_setenv("GLIBC_TUNABLES", "glibc.malloc.check=0:glibc.malloc.arena_max=2", TRUE);
    ck_assert(!mom_malloc_setup());
    g_setenv("GLIBC_TUNABLES", "glibc.malloc.check=0", TRUE);
    ck_assert(mom_malloc_setup());
}
END_TEST

int
main(void)
{
#ifdef UNDER_ASAN
    /* scripts/test.sh leaves this suite out of the sanitizer build */
    puts("1..0 # SKIP AddressSanitizer replaces glibc's malloc, whose arenas this tests");
    return EXIT_SUCCESS;
#endif
    Suite *s = suite_create("malloc");
    TCase *tc = tcase_create("arenas");

    tcase_add_test(tc, test_one_arena);
    tcase_add_test(tc, test_arenas_without_setup);
    tcase_add_test(tc, test_environment_wins);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
