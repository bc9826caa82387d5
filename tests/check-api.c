/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The libmompolicy C API: values, schemas, entities and their ring
 * buffers, diagnostics formatting and policy-set management.
 */
#include "config.h"

#include <check.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mom-policy.h"

START_TEST(test_format_double)
{
    static const struct {
        double d;
        const char *s;
    } cases[] = {
        {0.1, "0.1"},
        {2.0, "2.0"},
        {-0.0, "-0.0"},
        {1e20, "1e+20"},
        {1e-5, "1e-05"},
        {3984588.8, "3984588.8"},
        {0.1 + 0.2, "0.30000000000000004"},
        {123456789012.0, "123456789012.0"},
        {2072487.6234232585, "2072487.6234232585"},
        {1e5, "100000.0"},
        {1e16, "1e+16"},
        {1e15, "1000000000000000.0"},
        {1.5e-7, "1.5e-07"},
    };
    char buf[32];

    for (guint i = 0; i < G_N_ELEMENTS(cases); i++)
        ck_assert_str_eq(mom_format_double(cases[i].d, buf), cases[i].s);
    ck_assert_str_eq(mom_format_double(NAN, buf), "nan");
    ck_assert_str_eq(mom_format_double(-INFINITY, buf), "-inf");
}
END_TEST

static char *
repr(MomValue v, gboolean quote)
{
    GString *s = g_string_new(NULL);
    mom_value_repr(&v, quote, s);
    mom_value_clear(&v);
    return g_string_free(s, FALSE);
}

START_TEST(test_values)
{
    g_autofree char *a = repr(mom_value_string("x y", -1), TRUE);
    g_autofree char *b = repr(mom_value_string("x y", -1), FALSE);
    g_autofree char *c = repr(mom_value_nil(), TRUE);
    g_autofree char *d = repr(mom_value_bool(TRUE), TRUE);
    g_autofree char *e = repr(mom_value_int(G_MININT64), TRUE);

    ck_assert_str_eq(a, "\"x y\"");
    ck_assert_str_eq(b, "x y");
    ck_assert_str_eq(c, "nil");
    ck_assert_str_eq(d, "true");
    ck_assert_str_eq(e, "-9223372036854775808");

    /* truthiness (§3) */
    MomValue falsy[] = {mom_value_nil(), mom_value_int(0), mom_value_float(0.0),
                        mom_value_bool(FALSE), mom_value_string("", 0)};
    for (guint i = 0; i < G_N_ELEMENTS(falsy); i++) {
        ck_assert(!mom_value_truthy(&falsy[i]));
        mom_value_clear(&falsy[i]);
    }
    MomValue truthy[] = {mom_value_int(-1), mom_value_float(0.5), mom_value_bool(TRUE),
                         mom_value_string("0", 1)};
    for (guint i = 0; i < G_N_ELEMENTS(truthy); i++) {
        ck_assert(mom_value_truthy(&truthy[i]));
        mom_value_clear(&truthy[i]);
    }

    /* a copy is a reference: clearing one leaves the other intact */
    MomValue s = mom_value_string("kept", -1);
    MomValue t = mom_value_copy(&s);
    mom_value_clear(&s);
    ck_assert_int_eq(s.type, MOM_VALUE_NIL);
    ck_assert_str_eq(mom_value_string_get(&t), "kept");
    mom_value_clear(&t);
}
END_TEST

START_TEST(test_schema)
{
    const char *fields[] = {"a", "b", "a", "c"};
    g_autoptr(MomSchema) s = mom_schema_new(fields, G_N_ELEMENTS(fields));

    ck_assert_uint_eq(mom_schema_n_fields(s), 3);
    ck_assert_int_eq(mom_schema_lookup(s, "a"), 0);
    ck_assert_int_eq(mom_schema_lookup(s, "c"), 2);
    ck_assert_int_eq(mom_schema_lookup(s, "zzz"), -1);
    ck_assert_str_eq(mom_schema_field(s, 1), "b");

    /* the same address with other text (a freed name's memory reused):
     * the lookup cache checks the name, not only the address */
    char buf[8];
    for (int round = 0; round < 2; round++) {
        strcpy(buf, "a");
        ck_assert_int_eq(mom_schema_lookup(s, buf), 0);
        strcpy(buf, "c");
        ck_assert_int_eq(mom_schema_lookup(s, buf), 2);
        strcpy(buf, "zzz");
        ck_assert_int_eq(mom_schema_lookup(s, buf), -1);
        strcpy(buf, "b");
        ck_assert_int_eq(mom_schema_lookup(s, buf), 1);
    }
    /* many names at once: every slot taken, none answers for another */
    g_autoptr(GPtrArray) many = g_ptr_array_new_with_free_func(g_free);
    for (int i = 0; i < 300; i++)
        g_ptr_array_add(many, g_strdup_printf("field_%d", i));
    g_autoptr(MomSchema) big = mom_schema_new((const char *const *)many->pdata, many->len);
    for (int round = 0; round < 2; round++)
        for (guint i = 0; i < many->len; i++) {
            g_autofree char *copy = g_strdup(many->pdata[i]);
            ck_assert_int_eq(mom_schema_lookup(big, many->pdata[i]), (int)i);
            ck_assert_int_eq(mom_schema_lookup(big, copy), (int)i);
        }
}
END_TEST

static void
push(MomEntity *e, MomValue a, MomValue b)
{
    MomValue row[2] = {a, b};
    mom_entity_push_sample(e, row);
}

START_TEST(test_entity_ring)
{
    const char *fields[] = {"n", "s"};
    g_autoptr(MomSchema) schema = mom_schema_new(fields, 2);
    g_autoptr(MomEntity) e = mom_entity_new(MOM_ENTITY_GUEST, "vm1", schema, 3);

    ck_assert_uint_eq(mom_entity_n_samples(e), 0);
    ck_assert_int_eq(mom_entity_stat(e, 0)->type, MOM_VALUE_NIL);
    ck_assert(mom_entity_stat_avg(e, 0) == 0.0);

    for (int i = 1; i <= 5; i++)
        push(e, i == 4 ? mom_value_nil() : mom_value_int(i), mom_value_string("x", 1));
    /* history 3: samples 3, nil, 5 are kept */
    ck_assert_uint_eq(mom_entity_n_samples(e), 3);
    ck_assert_int_eq(mom_entity_stat(e, 0)->u.i, 5);
    ck_assert(mom_entity_stat_avg(e, 0) == 4.0);
    /* strings are not numbers: no average */
    ck_assert(mom_entity_stat_avg(e, 1) == 0.0);

    push(e, mom_value_float(0.5), mom_value_nil());
    ck_assert(mom_entity_stat_avg(e, 0) == (5 + 0.5) / 2);

    MomValue v = mom_value_string("uuid-1", -1);
    mom_entity_set_prop(e, "uuid", &v);
    mom_entity_set_var(e, "k", &v);
    mom_value_clear(&v);
    ck_assert_str_eq(mom_value_string_get(mom_entity_get_prop(e, "uuid")), "uuid-1");
    ck_assert_str_eq(mom_value_string_get(mom_entity_get_var(e, "k")), "uuid-1");
    ck_assert(mom_entity_get_prop(e, "nope") == NULL);
    ck_assert(mom_entity_get_var(e, "nope") == NULL);
    ck_assert_str_eq(mom_entity_name(e), "vm1");
    ck_assert_int_eq(mom_entity_kind(e), MOM_ENTITY_GUEST);
}
END_TEST

/* The older samples are kept packed: every sample, oldest first, must read
 * back as it was pushed, strings (whose references the ring holds) too,
 * whatever the history's length and however often it wrapped. */
START_TEST(test_entity_ring_order)
{
    const char *fields[] = {"n", "s"};
    g_autoptr(MomSchema) schema = mom_schema_new(fields, 2);

    for (guint history = 1; history <= 4; history++) {
        g_autoptr(MomEntity) e = mom_entity_new(MOM_ENTITY_GUEST, "vm1", schema, history);
        for (int i = 1; i <= 9; i++) {
            char text[8];
            g_snprintf(text, sizeof(text), "s%d", i);
            push(e, i % 3 == 0 ? mom_value_float(i + 0.25) : mom_value_int(i),
                 mom_value_string(text, -1));
            guint n = mom_entity_n_samples(e);
            ck_assert_uint_eq(n, MIN((guint)i, history));
            double sum = 0;
            for (guint k = 0; k < n; k++) {
                int pushed = i - (int)(n - 1 - k);
                MomValue num = mom_entity_sample_value(e, k, 0);
                MomValue str = mom_entity_sample_value(e, k, 1);
                g_snprintf(text, sizeof(text), "s%d", pushed);
                if (pushed % 3 == 0) {
                    ck_assert_int_eq(num.type, MOM_VALUE_FLOAT);
                    ck_assert(num.u.d == pushed + 0.25);
                } else {
                    ck_assert_int_eq(num.type, MOM_VALUE_INT);
                    ck_assert_int_eq(num.u.i, pushed);
                }
                sum += pushed % 3 == 0 ? pushed + 0.25 : pushed;
                ck_assert_int_eq(str.type, MOM_VALUE_STRING);
                ck_assert_str_eq(mom_value_string_get(&str), text);
            }
            ck_assert(mom_entity_stat_avg(e, 0) == sum / n);
            ck_assert_int_eq(mom_entity_stat(e, 0)->type,
                             i % 3 == 0 ? MOM_VALUE_FLOAT : MOM_VALUE_INT);
        }
    }
}
END_TEST

START_TEST(test_diag_format)
{
    g_autoptr(MomPolicySet) set = mom_policy_set_new();
    g_autoptr(GPtrArray) diags =
        g_ptr_array_new_with_free_func((GDestroyNotify)mom_policy_diag_free);
    g_autoptr(GError) error = NULL;

    ck_assert(!mom_policy_set_add_string(set, "t", "t.policy", "(+ 1 2)\n\t(foo 010)\n", -1, diags,
                                         &error));
    ck_assert(g_error_matches(error, MOM_POLICY_ERROR, MOM_POLICY_ERROR_PARSE));
    ck_assert_uint_eq(diags->len, 1);
    MomPolicyDiag *d = diags->pdata[0];
    ck_assert_int_eq(d->line, 2);
    ck_assert_int_eq(d->col, 7);
    ck_assert_int_eq(d->end_col, 9);
    g_autofree char *text = mom_policy_diag_format(d);
    /* the tab is kept so the caret lines up whatever the tab width */
    ck_assert_str_eq(text, "t.policy:2:7: error: malformed number '010' (a leading zero is not "
                           "allowed; write octal as 0o17)\n"
                           "  \t(foo 010)\n"
                           "  \t     ^~~\n");
    ck_assert_str_eq(error->message, "t.policy:2:7: error: malformed number '010' (a leading zero "
                                     "is not allowed; write octal as 0o17)");
    /* the set is unchanged by a rejected policy */
    ck_assert(mom_policy_set_get_text(set, "t") == NULL);
}
END_TEST

START_TEST(test_set_management)
{
    g_autoptr(MomPolicySet) set = mom_policy_set_new();
    g_autoptr(GError) error = NULL;

    ck_assert(mom_policy_set_add_string(set, "50_main_", "a", "(defvar x 1)", -1, NULL, NULL));
    ck_assert(mom_policy_set_add_string(set, "10-b", "b", "(defvar y 2)", -1, NULL, NULL));
    ck_assert(mom_policy_set_add_string(set, "2-c", "c", "", -1, NULL, NULL));
    g_autoptr(GPtrArray) names = mom_policy_set_names(set);
    ck_assert_uint_eq(names->len, 3);
    /* byte order, as MOM sorts policy names */
    ck_assert_str_eq(names->pdata[0], "10-b");
    ck_assert_str_eq(names->pdata[1], "2-c");
    ck_assert_str_eq(names->pdata[2], "50_main_");

    ck_assert(mom_policy_set_add_string(set, "10-b", "b2", "(defvar y 3)", -1, NULL, NULL));
    ck_assert_str_eq(mom_policy_set_get_text(set, "10-b"), "(defvar y 3)");
    ck_assert(mom_policy_set_remove(set, "2-c"));
    ck_assert(!mom_policy_set_remove(set, "2-c"));

    ck_assert(!mom_policy_set_add_string(set, "", "x", "1", -1, NULL, &error));
    ck_assert(g_error_matches(error, MOM_POLICY_ERROR, MOM_POLICY_ERROR_NAME));
    g_clear_error(&error);
    ck_assert(!mom_policy_set_add_string(set, "n", "nul.policy", "(+ 1\0 2)", 8, NULL, &error));
    ck_assert_msg(
        strstr(error->message, "nul.policy: the policy contains a NUL byte at offset 4") != NULL,
        "%s", error->message);
    g_clear_error(&error);

    ck_assert(!mom_policy_set_add_file(set, "/nonexistent/x.policy", NULL, NULL, &error));
    ck_assert(g_error_matches(error, MOM_POLICY_ERROR, MOM_POLICY_ERROR_IO));
    ck_assert(strstr(error->message, "/nonexistent/x.policy") != NULL);
    g_clear_error(&error);
    ck_assert(!mom_policy_set_add_dir(set, "/nonexistent", NULL, &error));
    ck_assert(g_error_matches(error, MOM_POLICY_ERROR, MOM_POLICY_ERROR_IO));
    g_clear_error(&error);

    mom_policy_set_clear(set);
    g_autoptr(GPtrArray) none = mom_policy_set_names(set);
    ck_assert_uint_eq(none->len, 0);
}
END_TEST

START_TEST(test_file_names_policy)
{
    g_autofree char *dir = g_dir_make_tmp("momd-api-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "07-thing.policy", NULL);
    g_autoptr(MomPolicySet) set = mom_policy_set_new();

    ck_assert(g_file_set_contents(path, "(defvar q 1)", -1, NULL));
    ck_assert(mom_policy_set_add_file(set, path, NULL, NULL, NULL));
    ck_assert(mom_policy_set_add_file(set, path, "custom", NULL, NULL));
    ck_assert_str_eq(mom_policy_set_get_text(set, "07-thing"), "(defvar q 1)");
    ck_assert(mom_policy_set_get_text(set, "custom") != NULL);
    g_unlink(path);
    g_rmdir(dir);
}
END_TEST

START_TEST(test_evaluate_without_entities)
{
    g_autoptr(MomPolicySet) set = mom_policy_set_new();
    ck_assert(
        mom_policy_set_add_string(set, "p", "p", "(null Host) (with Guests g 1)", -1, NULL, NULL));
    g_autoptr(MomPolicyRun) run =
        mom_policy_set_evaluate(set, NULL, NULL, MOM_POLICY_EVAL_KEEP_RESULTS);
    ck_assert(run->ok);
    ck_assert_uint_eq(run->results->len, 2);
    ck_assert(g_array_index(run->results, MomValue, 0).u.b);
    ck_assert_uint_eq(mom_value_list_length(&g_array_index(run->results, MomValue, 1)), 0);
}
END_TEST

/* Controls belong to one evaluation: the next one starts from none. */
START_TEST(test_controls_reset_between_runs)
{
    g_autoptr(MomSchema) schema = mom_schema_new(NULL, 0);
    g_autoptr(MomEntity) host = mom_entity_new(MOM_ENTITY_HOST, "Host", schema, 1);
    g_autoptr(MomPolicySet) set = mom_policy_set_new();

    ck_assert(mom_policy_set_add_string(set, "p", "p", "(Host.Control \"a\" 1)", -1, NULL, NULL));
    MomPolicyRun *run = mom_policy_set_evaluate(set, host, NULL, 0);
    mom_policy_run_free(run);
    ck_assert_uint_eq(mom_entity_n_controls(host), 1);
    ck_assert_str_eq(mom_entity_control(host, 0)->name, "a");
    ck_assert_int_eq(mom_entity_control(host, 0)->line, 1);
    ck_assert_str_eq(mom_entity_control(host, 0)->file, "p");

    ck_assert(mom_policy_set_add_string(set, "p", "p", "(Host.GetControl \"a\")", -1, NULL, NULL));
    run = mom_policy_set_evaluate(set, host, NULL, MOM_POLICY_EVAL_KEEP_RESULTS);
    ck_assert_uint_eq(mom_entity_n_controls(host), 0);
    ck_assert_int_eq(g_array_index(run->results, MomValue, 0).type, MOM_VALUE_NIL);
    mom_policy_run_free(run);
}
END_TEST

/* A policy cannot flood the run with debug lines. */
START_TEST(test_debug_capped)
{
    g_autoptr(MomSchema) schema = mom_schema_new(NULL, 0);
    g_autoptr(GPtrArray) guests = g_ptr_array_new_with_free_func((GDestroyNotify)mom_entity_free);
    g_autoptr(MomPolicySet) set = mom_policy_set_new();

    for (int i = 0; i < 110; i++) {
        g_autofree char *name = g_strdup_printf("g%d", i);
        g_ptr_array_add(guests, mom_entity_new(MOM_ENTITY_GUEST, name, schema, 1));
    }
    ck_assert(mom_policy_set_add_string(set, "p", "p", "(with Guests a (with Guests b (debug 1)))",
                                        -1, NULL, NULL));
    g_autoptr(MomPolicyRun) run =
        mom_policy_set_evaluate(set, NULL, guests, MOM_POLICY_EVAL_KEEP_DEBUG);
    ck_assert(run->ok);
    ck_assert_uint_eq(run->debug->len, 10001);
    g_autofree char *last = mom_policy_diag_format_line(run->debug->pdata[10000]);
    ck_assert_str_eq(last, "note: 2100 more debug lines were dropped");
}
END_TEST

/* tests/policy/bogons: inputs that once crashed or hung the interpreter
 * (found by the fuzzer).  Each must now parse or fail cleanly and finish. */
START_TEST(test_bogons)
{
    g_autofree char *dir = g_build_filename(g_getenv("MOM_TEST_DATA"), "policy", "bogons", NULL);
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    const char *e;
    guint n = 0;

    ck_assert_msg(d != NULL, "%s is missing", dir);
    while ((e = g_dir_read_name(d))) {
        if (!g_str_has_suffix(e, ".rules"))
            continue;
        g_autofree char *path = g_build_filename(dir, e, NULL);
        g_autoptr(MomPolicySet) set = mom_policy_set_new();
        MomPolicyLimits limits = {100, 1000000};
        mom_policy_set_set_limits(set, &limits);
        if (mom_policy_set_add_file(set, path, NULL, NULL, NULL)) {
            g_autoptr(MomPolicyRun) run = mom_policy_set_evaluate(set, NULL, NULL, 0);
            ck_assert(run != NULL);
        }
        n++;
    }
    ck_assert_uint_ge(n, 3);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("api");
    TCase *tc = tcase_create("api");
    tcase_add_test(tc, test_format_double);
    tcase_add_test(tc, test_values);
    tcase_add_test(tc, test_schema);
    tcase_add_test(tc, test_entity_ring);
    tcase_add_test(tc, test_entity_ring_order);
    tcase_add_test(tc, test_diag_format);
    tcase_add_test(tc, test_set_management);
    tcase_add_test(tc, test_file_names_policy);
    tcase_add_test(tc, test_evaluate_without_entities);
    tcase_add_test(tc, test_controls_reset_between_runs);
    tcase_add_test(tc, test_debug_capped);
    tcase_add_test(tc, test_bogons);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
