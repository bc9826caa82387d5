/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The decision history (src/momd/mom-history.c): what is recorded and what is
 * not, the bounds by count and by age, a reload's new bounds, the queries
 * by entity and time, and the explanations kept with the decisions and
 * for each entity's newest cycle.  getHistory and momctl history on a live
 * momd are in tests/integration/test-momctl-live.sh.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>

#include <glib.h>

#include "mom-history.h"

static const char *const fields[] = {"balloon_cur"};

/* Evaluates @text on the guest @g alone, with explanations. */
static void
evaluate_explained(MomEntity *g, const char *text)
{
    g_autoptr(MomPolicySet) set = mom_policy_set_new();
    g_autoptr(GPtrArray) guests = g_ptr_array_new();

    ck_assert(mom_policy_set_add_string(set, "p", "p.policy", text, -1, NULL, NULL));
    g_ptr_array_add(guests, g);
    g_autoptr(MomPolicyRun) run =
        mom_policy_set_evaluate(set, NULL, guests, MOM_POLICY_EVAL_EXPLAIN);
    ck_assert(run->ok);
}

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

/* Each decision keeps its cycle's explanation (one compact copy for the
 * entity's decisions of the cycle, which outlives the entity's own, refilled
 * by its next evaluation); the newest cycle of every entity is kept too,
 * decision or not, until a cycle goes by without it. */
START_TEST(test_explanations)
{
    g_autoptr(MomHistory) h = mom_history_new(100, 3600);
    g_autoptr(MomSchema) schema = mom_schema_new(fields, 1);
    g_autoptr(MomEntity) g = mom_entity_new(MOM_ENTITY_GUEST, "g", schema, 3);
    MomValue v = mom_value_int(1024);
    gint64 now = g_get_real_time();
    guint64 cycle = 0;
    gint64 time = 0;
    MomExplanation *why = NULL;

    mom_entity_push_sample(g, &v);
    evaluate_explained(g, "(with Guests g { (debug \"shrink\" g.balloon_cur) "
                          "(g.Control \"balloon_target\" 900) (g.Control \"cpu\" 1) })");
    mom_entity_set_outcome(g, "balloon_target", "requested 1024 → 900 KiB");
    mom_entity_set_outcome(g, "cpu", "written 0 → 1");
    MomExplanation *first = mom_entity_explanation(g);
    ck_assert_ptr_nonnull(first);
    mom_history_record(h, 1, now, "web1", g);

    g_autoptr(GPtrArray) all = mom_history_query(h, "web1", G_MININT64);
    ck_assert_uint_eq(all->len, 2);
    const MomDecision *d = all->pdata[0];
    MomExplanation *kept_why = d->why;
    ck_assert_ptr_nonnull(kept_why);
    ck_assert_ptr_ne(kept_why, first);
    ck_assert_ptr_eq(((MomDecision *)all->pdata[1])->why, kept_why);
    ck_assert_uint_eq(mom_explanation_n_inputs(kept_why), mom_explanation_n_inputs(first));
    ck_assert(mom_history_latest(h, "web1", &cycle, &time, &why));
    ck_assert_uint_eq(cycle, 1);
    ck_assert_int_eq(time, now);
    ck_assert_ptr_eq(why, first);

    /* the next cycle decides nothing and refills the entity's explanation
     * (released by the history first, as momd does), reading no field: the
     * decisions keep their cycle's, its guest's name and values included */
    mom_history_release_latest(h, "web1");
    evaluate_explained(g, "(with Guests g (debug \"nothing to do\"))");
    mom_history_record(h, 2, now + 1, "web1", g);
    ck_assert_uint_eq(mom_history_length(h), 2);
    ck_assert_ptr_eq(d->why, kept_why);
    ck_assert_uint_eq(mom_explanation_n_debug(d->why), 1);
    ck_assert_str_eq(mom_explanation_debug(d->why, 0)->message, "shrink 1024");
    const MomPolicyInput *in = mom_explanation_input(d->why, 0);
    ck_assert_str_eq(in->entity, "g");
    ck_assert_str_eq(in->name, "balloon_cur");
    ck_assert_int_eq(in->value.u.i, 1024);
    ck_assert(mom_history_latest(h, "web1", &cycle, &time, &why));
    ck_assert_uint_eq(cycle, 2);
    ck_assert_str_eq(mom_explanation_debug(why, 0)->message, "nothing to do");
    ck_assert_uint_eq(mom_explanation_n_inputs(why), 0);
    ck_assert_ptr_eq(why, first); /* refilled in place */
    ck_assert(!mom_history_latest(h, "nosuch", &cycle, &time, &why));

    /* an entity without explanation (no EXPLAIN) is still known, with none */
    g_autoptr(MomEntity) plain = guest_new(10, 10, "unchanged");
    mom_history_record(h, 2, now + 1, "db1", plain);
    ck_assert(mom_history_latest(h, "db1", &cycle, &time, &why));
    ck_assert_ptr_null(why);

    /* cycle 3 sees only db1: web1 is forgotten at cycle 4, its decisions stay */
    mom_history_record(h, 3, now + 2, "db1", plain);
    ck_assert(mom_history_latest(h, "web1", &cycle, &time, &why));
    mom_history_record(h, 4, now + 3, "db1", plain);
    ck_assert(!mom_history_latest(h, "web1", &cycle, &time, &why));
    ck_assert(mom_history_latest(h, "db1", &cycle, &time, &why));
    ck_assert_uint_eq(cycle, 4);
    /* a history that keeps no explanations: the same decisions, why NULL */
    g_autoptr(MomHistory) unexplained = mom_history_new(100, 3600);
    mom_history_set_explained(unexplained, FALSE);
    evaluate_explained(g, "(with Guests g (g.Control \"balloon_target\" (- g.balloon_cur 224)))");
    mom_entity_set_outcome(g, "balloon_target", "requested 1024 → 800 KiB");
    ck_assert_ptr_nonnull(mom_entity_explanation(g));
    mom_history_record(unexplained, 5, now + 4, "web1", g);
    g_autoptr(GPtrArray) unexplained_all = mom_history_query(unexplained, "web1", G_MININT64);
    ck_assert_uint_eq(unexplained_all->len, 1);
    ck_assert_str_eq(((MomDecision *)unexplained_all->pdata[0])->requested, "800");
    ck_assert_ptr_null(((MomDecision *)unexplained_all->pdata[0])->why);
    ck_assert(mom_history_latest(unexplained, "web1", &cycle, &time, &why));
    ck_assert_ptr_null(why);

    g_autoptr(GPtrArray) kept = mom_history_query(h, "web1", G_MININT64);
    ck_assert_uint_eq(kept->len, 2);
    ck_assert_str_eq(mom_explanation_input(((MomDecision *)kept->pdata[0])->why, 0)->name,
                     "balloon_cur");
}
END_TEST

static Suite *
history_suite(void)
{
    Suite *s = suite_create("history");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_record_and_query);
    tcase_add_test(tc, test_bounds);
    tcase_add_test(tc, test_explanations);
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
