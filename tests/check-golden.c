/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Golden tests: the shipped default policies (data/policies) against the
 * shipped example states (data/examples/state-*.json) must produce exactly
 * the controls of tests/golden/<state>.expected.json, which were worked
 * out by hand (tests/golden/<state>.md).  Values compare exactly, and an
 * integer never matches a float.  MOM's balloon rule, shipped as
 * data/examples/10-balloon-mom.policy, must run on every one of those states
 * in place of the default 10-balloon.
 */
#include "config.h"

#include <check.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mom-policy.h"
#include "mom-state.h"

static GPtrArray *golden_names;

static char *
top_path(const char *rel)
{
    const char *top = g_getenv("MOM_TOP_SRCDIR");

    if (!top) {
        fprintf(stderr, "MOM_TOP_SRCDIR is not set; run the tests through meson.\n");
        exit(EXIT_FAILURE);
    }
    return g_build_filename(top, rel, NULL);
}

static void
collect_golden(void)
{
    g_autofree char *dir = top_path("tests/golden");
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    const char *e;

    golden_names = g_ptr_array_new_with_free_func(g_free);
    while (d && (e = g_dir_read_name(d)))
        if (g_str_has_suffix(e, ".expected.json"))
            g_ptr_array_add(golden_names, g_strndup(e, strlen(e) - strlen(".expected.json")));
    g_ptr_array_sort(golden_names, (GCompareFunc)g_strcmp0);
}

/* The example state data/examples/<name>.json. */
static MomState *
load_example(const char *name)
{
    g_autofree char *rel = g_strdup_printf("data/examples/%s.json", name);
    g_autofree char *path = top_path(rel);
    g_autoptr(GError) error = NULL;
    MomState *state = mom_state_load_file(path, &error);

    ck_assert_msg(state != NULL, "%s", error ? error->message : "");
    return state;
}

/* The shipped default policies, data/policies. */
static MomPolicySet *
default_policies(void)
{
    g_autofree char *dir = top_path("data/policies");
    g_autoptr(GError) error = NULL;
    MomPolicySet *set = mom_policy_set_new();

    ck_assert_msg(mom_policy_set_add_dir(set, dir, NULL, &error), "%s",
                  error ? error->message : "");
    return set;
}

/* Compares one expected JSON scalar with what the report printed. */
static void
assert_same_value(const char *where, JsonNode *want, JsonNode *got)
{
    ck_assert_msg(got != NULL, "%s: missing; expected a value", where);
    if (JSON_NODE_HOLDS_NULL(want)) {
        ck_assert_msg(JSON_NODE_HOLDS_NULL(got), "%s: expected null", where);
        return;
    }
    ck_assert_msg(JSON_NODE_HOLDS_VALUE(got), "%s: expected a scalar", where);
    GType wt = json_node_get_value_type(want), gt = json_node_get_value_type(got);
    ck_assert_msg(wt == gt, "%s: expected a %s, got a %s", where, g_type_name(wt), g_type_name(gt));
    if (wt == G_TYPE_INT64)
        ck_assert_msg(json_node_get_int(want) == json_node_get_int(got),
                      "%s: expected %" G_GINT64_FORMAT ", got %" G_GINT64_FORMAT, where,
                      json_node_get_int(want), json_node_get_int(got));
    else if (wt == G_TYPE_DOUBLE)
        ck_assert_msg(json_node_get_double(want) == json_node_get_double(got),
                      "%s: expected %.17g, got %.17g", where, json_node_get_double(want),
                      json_node_get_double(got));
    else if (wt == G_TYPE_STRING)
        ck_assert_str_eq(json_node_get_string(want), json_node_get_string(got));
    else
        ck_assert_int_eq(json_node_get_boolean(want), json_node_get_boolean(got));
}

static void
assert_same_controls(const char *who, JsonObject *want, JsonObject *got)
{
    JsonObject *wc = json_object_get_object_member(want, "controls");
    JsonObject *gc = json_object_get_object_member(got, "controls");
    g_autoptr(GList) wkeys = json_object_get_members(wc);
    g_autoptr(GList) gkeys = json_object_get_members(gc);

    for (GList *k = gkeys; k; k = k->next)
        ck_assert_msg(json_object_has_member(wc, k->data), "%s: unexpected control %s", who,
                      (char *)k->data);
    for (GList *k = wkeys; k; k = k->next) {
        g_autofree char *where = g_strdup_printf("%s.%s", who, (char *)k->data);
        assert_same_value(where, json_object_get_member(wc, k->data),
                          json_object_get_member(gc, k->data));
    }
}

START_TEST(test_golden)
{
    const char *name = golden_names->pdata[_i];
    g_autofree char *exp_rel = g_strdup_printf("tests/golden/%s.expected.json", name);
    g_autofree char *exp_path = top_path(exp_rel);
    g_autoptr(GError) error = NULL;

    g_autoptr(MomState) state = load_example(name);
    g_autoptr(MomPolicySet) set = default_policies();
    g_autoptr(MomPolicyRun) run =
        mom_policy_set_evaluate(set, state->host, state->guests, MOM_POLICY_EVAL_KEEP_DEBUG);
    g_autofree char *report = mom_state_report_json(state, run, NULL);

    g_autoptr(JsonParser) gp = json_parser_new();
    g_autoptr(JsonParser) wp = json_parser_new();
    ck_assert_msg(json_parser_load_from_data(gp, report, -1, &error), "report is not JSON: %s",
                  error ? error->message : "");
    ck_assert_msg(json_parser_load_from_file(wp, exp_path, &error), "%s",
                  error ? error->message : "");
    JsonObject *got = json_node_get_object(json_parser_get_root(gp));
    JsonObject *want = json_node_get_object(json_parser_get_root(wp));

    ck_assert_int_eq(json_object_get_boolean_member(got, "ok"),
                     json_object_get_boolean_member(want, "ok"));
    assert_same_controls("host", json_object_get_object_member(want, "host"),
                         json_object_get_object_member(got, "host"));

    JsonObject *wg = json_object_get_object_member(want, "guests");
    JsonObject *gg = json_object_get_object_member(got, "guests");
    ck_assert_int_eq(json_object_get_size(wg), json_object_get_size(gg));
    g_autoptr(GList) names = json_object_get_members(wg);
    for (GList *k = names; k; k = k->next) {
        ck_assert_msg(json_object_has_member(gg, k->data), "guest %s missing from the report",
                      (char *)k->data);
        JsonObject *w = json_object_get_object_member(wg, k->data);
        JsonObject *g = json_object_get_object_member(gg, k->data);
        assert_same_controls(k->data, w, g);
        assert_same_value("error", json_object_get_member(w, "error"),
                          json_object_get_member(g, "error"));
    }
    ck_assert_int_eq(json_array_get_length(json_object_get_array_member(got, "errors")),
                     json_array_get_length(json_object_get_array_member(want, "errors")));
}
END_TEST

/*
 * data/examples/10-balloon-mom.policy in place of the default 10-balloon:
 * it parses, runs on every golden state without an error, and takes MOM's
 * plain 5 % step where the hand calculations say so (4194304 - 0.05 *
 * 4194304; tests/golden/state-pressure.md and state-critical.md).
 */
static const struct {
    const char *state, *guest;
    double target;
} mom_targets[] = {
    {"state-pressure", "web1", 3984588.8},
    {"state-critical", "app1", 3984588.8},
};

START_TEST(test_mom_balloon)
{
    const char *name = golden_names->pdata[_i];
    g_autofree char *mom = top_path("data/examples/10-balloon-mom.policy");
    g_autoptr(GError) error = NULL;

    g_autoptr(MomState) state = load_example(name);
    g_autoptr(MomPolicySet) set = default_policies();
    ck_assert_msg(mom_policy_set_add_file(set, mom, "10-balloon", NULL, &error), "%s",
                  error ? error->message : "");
    const char *text = mom_policy_set_get_text(set, "10-balloon");
    ck_assert_msg(text && strstr(text, "10-balloon-mom:"), "10-balloon is not MOM's rule");
    g_autoptr(MomPolicyRun) run = mom_policy_set_evaluate(set, state->host, state->guests, 0);

    ck_assert_msg(run->ok, "%s: MOM's balloon rule aborted the run", name);
    ck_assert_msg(run->errors->len == 0, "%s: MOM's balloon rule failed: %s", name,
                  ((MomPolicyDiag *)run->errors->pdata[0])->message);
    for (guint g = 0; g < state->guests->len; g++) {
        MomEntity *e = state->guests->pdata[g];
        ck_assert_msg(mom_entity_error(e) == NULL, "%s: guest %s: %s", name, mom_entity_name(e),
                      mom_entity_error(e));
        for (guint k = 0; k < G_N_ELEMENTS(mom_targets); k++) {
            if (strcmp(mom_targets[k].state, name) != 0 ||
                strcmp(mom_targets[k].guest, mom_entity_name(e)) != 0)
                continue;
            const MomValue *v = mom_entity_get_control(e, "balloon_target");
            ck_assert_msg(v != NULL && v->type == MOM_VALUE_FLOAT, "%s: %s has no float target",
                          name, mom_targets[k].guest);
            ck_assert_msg(v->u.d == mom_targets[k].target, "%s: %s: expected %.17g, got %.17g",
                          name, mom_targets[k].guest, mom_targets[k].target, v->u.d);
        }
    }
}
END_TEST

/* The expected files must cover every shipped example, and vice versa. */
START_TEST(test_every_example_has_golden)
{
    g_autofree char *dir = top_path("data/examples");
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    const char *e;
    guint n = 0;

    ck_assert(d != NULL);
    while ((e = g_dir_read_name(d))) {
        if (!g_str_has_suffix(e, ".json"))
            continue;
        g_autofree char *stem = g_strndup(e, strlen(e) - 5);
        gboolean found = FALSE;
        for (guint i = 0; i < golden_names->len; i++)
            found |= strcmp(golden_names->pdata[i], stem) == 0;
        ck_assert_msg(found, "data/examples/%s has no tests/golden/%s.expected.json", e, stem);
        n++;
    }
    ck_assert_uint_ge(n, 4);
}
END_TEST

int
main(void)
{
    collect_golden();
    if (golden_names->len == 0) {
        fprintf(stderr, "No tests/golden/*.expected.json found.\n");
        return EXIT_FAILURE;
    }
    Suite *s = suite_create("golden");
    TCase *tc = tcase_create("default-policies");
    tcase_add_loop_test(tc, test_golden, 0, (int)golden_names->len);
    tcase_add_test(tc, test_every_example_has_golden);
    tcase_add_loop_test(tc, test_mom_balloon, 0, (int)golden_names->len);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    g_ptr_array_free(golden_names, TRUE);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
