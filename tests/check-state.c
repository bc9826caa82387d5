/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The state file loader and the policy tester's reports: every rejection
 * names the file and the offending member, and numbers survive exactly.
 */
#include "config.h"

#include <check.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mom-policy.h"
#include "mom-state.h"

static MomState *
load(const char *json, GError **error)
{
    return mom_state_load_data(json, -1, "s.json", error);
}

static void
assert_rejected(const char *json, int code, const char *fragment)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(MomState) st = load(json, &error);

    ck_assert_msg(st == NULL, "accepted: %s", json);
    ck_assert(g_error_matches(error, MOM_STATE_ERROR, code));
    ck_assert_msg(g_str_has_prefix(error->message, "s.json"), "no file name in: %s",
                  error->message);
    ck_assert_msg(strstr(error->message, fragment) != NULL, "'%s' not in: %s", fragment,
                  error->message);
}

START_TEST(test_rejects)
{
    assert_rejected("{", MOM_STATE_ERROR_SYNTAX, "not valid JSON");
    assert_rejected("[]", MOM_STATE_ERROR_FORMAT, "must be a JSON object");
    assert_rejected("{\"host\": 3}", MOM_STATE_ERROR_FORMAT,
                    "host must be an object, not a number");
    assert_rejected("{\"host\": {\"properties\": []}}", MOM_STATE_ERROR_FORMAT,
                    "host.properties must be an object, not an array");
    assert_rejected("{\"host\": {\"samples\": {}}}", MOM_STATE_ERROR_FORMAT,
                    "host.samples must be an array of objects");
    assert_rejected("{\"host\": {\"samples\": [1]}}", MOM_STATE_ERROR_FORMAT,
                    "host.samples[0] must be an object, not a number");
    assert_rejected("{\"host\": {\"properties\": {\"interval\": {}}}}", MOM_STATE_ERROR_FORMAT,
                    "host.properties.interval must be");
    assert_rejected("{\"guests\": {}}", MOM_STATE_ERROR_FORMAT, "\"guests\" must be an array");
    assert_rejected("{\"guests\": [{\"samples\": []}]}", MOM_STATE_ERROR_FORMAT,
                    "guests[0].properties.name must be the guest's name");
    assert_rejected("{\"guests\": [{\"properties\": {\"name\": \"\"}}]}", MOM_STATE_ERROR_FORMAT,
                    "guests[0].properties.name");
    assert_rejected("{\"guests\": [{\"properties\": {\"name\": 5}}]}", MOM_STATE_ERROR_FORMAT,
                    "guests[0].properties.name");
    assert_rejected("{\"guests\": [{\"properties\": {\"name\": \"a\"}},"
                    " {\"properties\": {\"name\": \"a\"}}]}",
                    MOM_STATE_ERROR_FORMAT, "guests[1].properties.name \"a\" is used by another");
    assert_rejected("{\"guests\": [7]}", MOM_STATE_ERROR_FORMAT, "guests[0] must be an object");
    /* json-glib would wrap these silently */
    assert_rejected(
        "{\"host\": {\"samples\": [{\"a\": \"9e999\",\n \"b\": 99999999999999999999}]}}",
        MOM_STATE_ERROR_FORMAT,
        "s.json:2:7: the number 99999999999999999999 does not fit "
        "in a 64-bit integer");
    assert_rejected("{\"host\": {\"samples\": [{\"a\": -1e400}]}}", MOM_STATE_ERROR_FORMAT,
                    "s.json:1:29: the number -1e400 does not fit in a double");
}
END_TEST

/* A sample's lists and records are nested at most MOM_POLICY_MAX_LIST_DEPTH
 * deep (the walks over them recurse); within that a list loads, and its
 * depth counts its nesting, as the evaluator's own lists do. */
static char *
nested(guint depth)
{
    g_autoptr(GString) s = g_string_new("{\"host\": {\"samples\": [{\"a\": ");
    for (guint i = 0; i < depth; i++)
        g_string_append_c(s, '[');
    for (guint i = 0; i < depth; i++)
        g_string_append_c(s, ']');
    g_string_append(s, "}]}}");
    return g_string_free(g_steal_pointer(&s), FALSE);
}

START_TEST(test_nesting_bound)
{
    g_autofree char *deep = nested(MOM_POLICY_MAX_LIST_DEPTH + 1);
    g_autofree char *ok = nested(MOM_POLICY_MAX_LIST_DEPTH);
    g_autoptr(GError) error = NULL;

    assert_rejected(deep, MOM_STATE_ERROR_FORMAT,
                    "host.samples[0].a must be a number, string, boolean, null, list or record "
                    "(nested at most 1000 deep), not an array");
    g_autoptr(MomState) st = load(ok, &error);
    ck_assert_msg(st != NULL, "%s", error ? error->message : "");
}
END_TEST

START_TEST(test_unreadable_file)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(MomState) st = mom_state_load_file("/nonexistent/state.json", &error);

    ck_assert(st == NULL);
    ck_assert(g_error_matches(error, MOM_STATE_ERROR, MOM_STATE_ERROR_IO));
    ck_assert(strstr(error->message, "/nonexistent/state.json") != NULL);
}
END_TEST

START_TEST(test_fields_and_history)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(MomState) st =
        load("{\"host\": {\"properties\": {\"interval\": 5},"
             "  \"samples\": [{\"a\": 1}, {\"a\": null, \"b\": 2.5}, {\"a\": 4}]},"
             " \"guests\": [{\"properties\": {\"name\": \"vm1\", \"pid\": 12},"
             "              \"samples\": [{\"x\": true}]},"
             "             {\"properties\": {\"name\": \"vm2\"}}]}",
             &error);

    ck_assert_msg(st != NULL, "%s", error ? error->message : "");
    MomSchema *hs = mom_entity_schema(st->host);
    ck_assert_uint_eq(mom_schema_n_fields(hs), 2);
    ck_assert_str_eq(mom_schema_field(hs, 0), "a");
    ck_assert_str_eq(mom_schema_field(hs, 1), "b");
    ck_assert_uint_eq(mom_entity_n_samples(st->host), 3);
    /* b is declared but absent from the newest sample: nil */
    ck_assert_int_eq(mom_entity_stat(st->host, 1)->type, MOM_VALUE_NIL);
    ck_assert_int_eq(mom_entity_stat(st->host, 0)->u.i, 4);
    /* (1 + 4) / 2: the null is skipped, not counted as 0 */
    ck_assert(mom_entity_stat_avg(st->host, 0) == 2.5);
    ck_assert_int_eq(mom_entity_get_prop(st->host, "interval")->u.i, 5);

    ck_assert_uint_eq(st->guests->len, 2);
    MomEntity *g = st->guests->pdata[0];
    ck_assert_str_eq(mom_entity_name(g), "vm1");
    ck_assert_int_eq(mom_entity_stat(g, 0)->type, MOM_VALUE_BOOL);
    ck_assert_int_eq(mom_entity_get_prop(g, "pid")->u.i, 12);
    /* a guest without samples has no fields and no data */
    MomEntity *g2 = st->guests->pdata[1];
    ck_assert_uint_eq(mom_entity_n_samples(g2), 0);
    ck_assert_uint_eq(mom_schema_n_fields(mom_entity_schema(g2)), 0);
}
END_TEST

START_TEST(test_missing_host_is_empty)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(MomState) st = load("{}", &error);

    ck_assert(st != NULL);
    ck_assert(st->host != NULL);
    ck_assert_uint_eq(st->guests->len, 0);
    ck_assert_uint_eq(mom_schema_n_fields(mom_entity_schema(st->host)), 0);
}
END_TEST

/* Guests with the same field layout share one schema, so the evaluator's
 * per-node field cache keeps hitting across guests. */
START_TEST(test_schemas_shared)
{
    g_autoptr(MomState) st =
        load("{\"guests\": ["
             "{\"properties\": {\"name\": \"a\"}, \"samples\": [{\"f\": 1}]},"
             "{\"properties\": {\"name\": \"b\"}, \"samples\": [{\"f\": 2}]},"
             "{\"properties\": {\"name\": \"c\"}, \"samples\": [{\"g\": 2}]}]}",
             NULL);
    ck_assert(st != NULL);
    ck_assert_ptr_eq(mom_entity_schema(st->guests->pdata[0]),
                     mom_entity_schema(st->guests->pdata[1]));
    ck_assert_ptr_ne(mom_entity_schema(st->guests->pdata[0]),
                     mom_entity_schema(st->guests->pdata[2]));
}
END_TEST

static JsonObject *
report_for(const char *policy, const char *state_json, JsonParser **parser, MomPolicyRun **out_run,
           MomState **out_state)
{
    g_autoptr(GError) error = NULL;
    MomState *st = load(state_json, &error);
    ck_assert_msg(st != NULL, "%s", error ? error->message : "");
    g_autoptr(MomPolicySet) set = mom_policy_set_new();
    ck_assert(mom_policy_set_add_string(set, "p", "p.policy", policy, -1, NULL, &error));
    MomPolicyRun *run = mom_policy_set_evaluate(set, st->host, st->guests, 0);
    g_autofree char *json = mom_state_report_json(st, run, NULL);
    *parser = json_parser_new();
    ck_assert_msg(json_parser_load_from_data(*parser, json, -1, &error), "%s\n%s",
                  error ? error->message : "", json);
    *out_run = run;
    *out_state = st;
    return json_node_get_object(json_parser_get_root(*parser));
}

START_TEST(test_report_values_exact)
{
    g_autoptr(JsonParser) p = NULL;
    g_autoptr(MomPolicyRun) run = NULL;
    g_autoptr(MomState) st = NULL;
    JsonObject *r = report_for("(Host.Control \"i\" 400)"
                               "(Host.Control \"f\" (* 4194304 0.95))"
                               "(Host.Control \"whole\" (/ 6 3))"
                               "(Host.Control \"inf\" (* 1e308 10))"
                               "(Host.Control \"s\" \"a\\\"b\")"
                               "(Host.Control \"big\" 9007199254740993)",
                               "{\"host\": {\"samples\": [{}]}}", &p, &run, &st);
    JsonObject *c =
        json_object_get_object_member(json_object_get_object_member(r, "host"), "controls");

    ck_assert(json_object_get_boolean_member(r, "ok"));
    ck_assert(json_node_get_value_type(json_object_get_member(c, "i")) == G_TYPE_INT64);
    ck_assert_int_eq(json_object_get_int_member(c, "i"), 400);
    ck_assert(json_object_get_double_member(c, "f") == 4194304 * 0.95);
    /* (/ 6 3) is the float 2.0 and must stay a float */
    ck_assert(json_node_get_value_type(json_object_get_member(c, "whole")) == G_TYPE_DOUBLE);
    ck_assert_str_eq(json_object_get_string_member(c, "inf"), "inf");
    /* MOM keeps the raw text between quotes: the backslash stays */
    ck_assert_str_eq(json_object_get_string_member(c, "s"), "a\\\"b");
    /* integers above 2^53 are not rounded through a double */
    ck_assert_int_eq(json_object_get_int_member(c, "big"), 9007199254740993LL);
    /* every control says which policy line set it */
    JsonObject *o =
        json_object_get_object_member(json_object_get_object_member(r, "host"), "origins");
    ck_assert_str_eq(json_object_get_string_member(o, "f"), "p.policy:1:23");
    /* controls nobody consumes are shown, with a warning each */
    JsonArray *w = json_object_get_array_member(r, "warnings");
    ck_assert_uint_eq(json_array_get_length(w), 6);
    ck_assert_str_eq(json_array_get_string_element(w, 0),
                     "p.policy:1:1: warning: no controller consumes the host control 'i'; it is "
                     "shown but would not be applied.");
}
END_TEST

START_TEST(test_report_guest_error)
{
    g_autoptr(JsonParser) p = NULL;
    g_autoptr(MomPolicyRun) run = NULL;
    g_autoptr(MomState) st = NULL;
    JsonObject *r = report_for("(with Guests g (g.Control \"t\" (/ 1 g.d)))",
                               "{\"guests\": ["
                               "{\"properties\": {\"name\": \"ok\"}, \"samples\": [{\"d\": 2}]},"
                               "{\"properties\": {\"name\": \"bad\"}, \"samples\": [{\"d\": 0}]}]}",
                               &p, &run, &st);
    JsonObject *g = json_object_get_object_member(r, "guests");
    JsonObject *okg = json_object_get_object_member(g, "ok");
    JsonObject *bad = json_object_get_object_member(g, "bad");

    ck_assert(!json_object_get_boolean_member(r, "ok"));
    ck_assert(json_object_get_double_member(json_object_get_object_member(okg, "controls"), "t") ==
              0.5);
    ck_assert(json_object_get_null_member(okg, "error"));
    ck_assert_uint_eq(json_object_get_size(json_object_get_object_member(bad, "controls")), 0);
    ck_assert_str_eq(json_object_get_string_member(bad, "error"),
                     "p.policy:1:31: error: guest bad: division by zero");
    JsonArray *errors = json_object_get_array_member(r, "errors");
    ck_assert_uint_eq(json_array_get_length(errors), 1);

    g_autofree char *text = mom_state_report_text(st, run, NULL);
    ck_assert_msg(strstr(text, "Guest bad\n  no controls: p.policy:1:31: error: guest bad: "
                               "division by zero") != NULL,
                  "%s", text);
    ck_assert_msg(strstr(text, "  (with Guests g (g.Control \"t\" (/ 1 g.d)))\n") != NULL, "%s",
                  text);
}
END_TEST

START_TEST(test_report_aborted)
{
    g_autoptr(JsonParser) p = NULL;
    g_autoptr(MomPolicyRun) run = NULL;
    g_autoptr(MomState) st = NULL;
    report_for("(Host.Control \"a\" 1)\n(undefined_thing)", "{\"host\": {\"samples\": [{}]}}", &p,
               &run, &st);
    ck_assert(!run->ok);
    ck_assert_uint_eq(mom_entity_n_controls(st->host), 0);
    g_autofree char *text = mom_state_report_text(st, run, NULL);
    ck_assert_msg(strstr(text, "The run was aborted") != NULL, "%s", text);
    ck_assert_msg(strstr(text, "p.policy:2:2: error: undefined function undefined_thing") != NULL,
                  "%s", text);
}
END_TEST

/* A snapshot reads back as the same state: properties, variables, and
 * every sample with its exact values and kinds. */
START_TEST(test_snapshot_round_trip)
{
    const char *json =
        "{\"host\": {\"properties\": {\"interval\": 5},"
        " \"samples\": [{\"a\": 1, \"b\": 0.1}, {\"a\": null, \"b\": 2.5}]},"
        " \"guests\": [{\"properties\": {\"name\": \"vm1\", \"uuid\": \"u\"},"
        "   \"variables\": {\"seen\": 3},"
        "   \"samples\": [{\"balloon_cur\": 9007199254740993, \"s\": \"x\\\"y\"}]}]}";
    g_autoptr(GError) error = NULL;
    g_autoptr(MomState) a = load(json, &error);
    ck_assert_msg(a != NULL, "%s", error ? error->message : "");
    g_autofree char *dump = mom_state_to_json(a->host, a->guests);
    g_autoptr(MomState) b = mom_state_load_data(dump, -1, "dump", &error);
    ck_assert_msg(b != NULL, "%s\n%s", error ? error->message : "", dump);
    g_autofree char *again = mom_state_to_json(b->host, b->guests);
    ck_assert_str_eq(dump, again);
    MomEntity *g = b->guests->pdata[0];
    ck_assert_int_eq(mom_entity_get_var(g, "seen")->u.i, 3);
    ck_assert_int_eq(mom_entity_stat(g, 0)->u.i, 9007199254740993LL);
    ck_assert_uint_eq(mom_entity_n_samples(b->host), 2);
    ck_assert(mom_entity_stat_avg(b->host, 1) == (0.1 + 2.5) / 2);
}
END_TEST

/* Lists and records (a guest's io_tune) load from a state, and a record's
 * setters set controls of the entity that owns it. */
START_TEST(test_records)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(MomState) st =
        load("{\"guests\": [{\"properties\": {\"name\": \"vm1\"}, \"samples\": [{\"io_tune\": ["
             "{\"name\": \"vda\", \"maximum\": {\"total_bytes_sec\": 1000},"
             " \"@setters\": {\"setTotalBytesSec\": \"io_tune.vda.total_bytes_sec\"}}]}]}]}",
             &error);
    ck_assert_msg(st != NULL, "%s", error ? error->message : "");
    g_autoptr(MomPolicySet) set = mom_policy_set_new();
    ck_assert(mom_policy_set_add_string(
        set, "p", "p.policy",
        "(with Guests guest (with guest.io_tune tune {"
        " (defvar max_io tune.maximum) (tune.setTotalBytesSec max_io.total_bytes_sec) }))",
        -1, NULL, &error));
    g_autoptr(MomPolicyRun) run = mom_policy_set_evaluate(set, st->host, st->guests, 0);
    ck_assert(run->ok);
    ck_assert_uint_eq(run->errors->len, 0);
    MomEntity *g = st->guests->pdata[0];
    const MomValue *v = mom_entity_get_control(g, "io_tune.vda.total_bytes_sec");
    ck_assert(v != NULL);
    ck_assert_int_eq(v->u.i, 1000);
    /* and the snapshot keeps the setters, so it replays */
    g_autofree char *dump = mom_state_to_json(st->host, st->guests);
    ck_assert_msg(strstr(dump, "\"@setters\": {\"setTotalBytesSec\": "
                               "\"io_tune.vda.total_bytes_sec\"}") != NULL,
                  "%s", dump);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("state");
    TCase *tc = tcase_create("state");
    tcase_add_test(tc, test_rejects);
    tcase_add_test(tc, test_nesting_bound);
    tcase_add_test(tc, test_unreadable_file);
    tcase_add_test(tc, test_fields_and_history);
    tcase_add_test(tc, test_missing_host_is_empty);
    tcase_add_test(tc, test_schemas_shared);
    tcase_add_test(tc, test_report_values_exact);
    tcase_add_test(tc, test_report_guest_error);
    tcase_add_test(tc, test_report_aborted);
    tcase_add_test(tc, test_snapshot_round_trip);
    tcase_add_test(tc, test_records);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
