/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The decision history (src/mom-history.c): what is recorded and what is
 * not, the bounds by count and by age, a reload's new bounds, and the
 * queries by entity and time.  getHistory and momctl history on a live
 * momd are in tests/integration/test-momctl-live.sh.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>

#include <glib.h>

#include "mom-history.h"

static const char *const fields[] = {"balloon_cur"};

/* A guest whose last cycle set balloon_target @target with @outcome, and
 * ksm_run with "unchanged". */
static MomEntity *
guest_new(gint64 cur, gint64 target, const char *outcome)
{
    g_autoptr(MomSchema) schema = mom_schema_new(fields, 1);
    MomEntity *g = mom_entity_new(MOM_ENTITY_GUEST, "g", schema, 3);
    g_autoptr(MomPolicySet) set = mom_policy_set_new();
    g_autoptr(GError) error = NULL;
    g_autofree char *text =
        g_strdup_printf("(with Guests g (g.Control \"balloon_target\" %" G_GINT64_FORMAT "))"
                        "(with Guests g (g.Control \"ksm_run\" 1))",
                        target);
    MomValue v = mom_value_int(cur);
    GPtrArray *guests = g_ptr_array_new();

    mom_entity_push_sample(g, &v);
    ck_assert(mom_policy_set_add_string(set, "p", "p.policy", text, -1, NULL, &error));
    g_ptr_array_add(guests, g);
    g_autoptr(MomPolicyRun) run = mom_policy_set_evaluate(set, NULL, guests, 0);
    ck_assert(run->ok);
    g_ptr_array_free(guests, TRUE);
    mom_entity_set_outcome(g, "balloon_target", outcome);
    mom_entity_set_outcome(g, "ksm_run", "unchanged");
    return g;
}

START_TEST(test_record_and_query)
{
    g_autoptr(MomHistory) h = mom_history_new(100, 3600);
    gint64 now = g_get_real_time();
    MomEntity *a = guest_new(1024, 900, "requested 1024 → 900 KiB");
    MomEntity *b = guest_new(2048, 2000, "dry run: would set 2048 → 2000 KiB");

    mom_history_record(h, 1, now - 10 * G_USEC_PER_SEC, "web1", a);
    mom_history_record(h, 2, now, "db1", b);
    /* "unchanged" is no decision */
    ck_assert_uint_eq(mom_history_length(h), 2);

    g_autoptr(GPtrArray) all = mom_history_query(h, NULL, G_MININT64);
    ck_assert_uint_eq(all->len, 2);
    const MomDecision *d = all->pdata[0];
    ck_assert_str_eq(d->entity, "web1");
    ck_assert_str_eq(d->control, "balloon_target");
    ck_assert_str_eq(d->before, "1024"); /* balloon_cur at the time */
    ck_assert_str_eq(d->requested, "900");
    ck_assert_str_eq(d->outcome, "requested 1024 → 900 KiB");
    ck_assert_str_eq(d->origin, "p.policy:1:16");
    ck_assert_uint_eq(d->cycle, 1);

    g_autoptr(GPtrArray) db1 = mom_history_query(h, "db1", G_MININT64);
    ck_assert_uint_eq(db1->len, 1);
    ck_assert_str_eq(((MomDecision *)db1->pdata[0])->entity, "db1");
    g_autoptr(GPtrArray) recent = mom_history_query(h, NULL, now - 5 * G_USEC_PER_SEC);
    ck_assert_uint_eq(recent->len, 1);
    g_autoptr(GPtrArray) none = mom_history_query(h, "nosuch", G_MININT64);
    ck_assert_uint_eq(none->len, 0);
    mom_entity_free(a);
    mom_entity_free(b);
}
END_TEST

START_TEST(test_bounds)
{
    g_autoptr(MomHistory) h = mom_history_new(3, 60);
    gint64 now = g_get_real_time();
    MomEntity *a = guest_new(1024, 900, "requested 1024 → 900 KiB");

    /* by count: the oldest go */
    for (guint i = 1; i <= 5; i++)
        mom_history_record(h, i, now, "web1", a);
    ck_assert_uint_eq(mom_history_length(h), 3);
    g_autoptr(GPtrArray) all = mom_history_query(h, NULL, G_MININT64);
    ck_assert_uint_eq(((MomDecision *)all->pdata[0])->cycle, 3);

    /* by age: a record 61 s later drops everything older than 60 s */
    mom_history_record(h, 6, now + 61 * G_USEC_PER_SEC, "web1", a);
    ck_assert_uint_eq(mom_history_length(h), 1);

    /* a reload with smaller bounds trims at once */
    g_autoptr(MomHistory) h2 = mom_history_new(10, 3600);
    for (guint i = 1; i <= 5; i++)
        mom_history_record(h2, i, g_get_real_time(), "web1", a);
    mom_history_set_bounds(h2, 2, 3600);
    ck_assert_uint_eq(mom_history_length(h2), 2);
    mom_entity_free(a);
}
END_TEST

static Suite *
history_suite(void)
{
    Suite *s = suite_create("history");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_record_and_query);
    tcase_add_test(tc, test_bounds);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(history_suite());

    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
