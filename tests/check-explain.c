/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Explanations (MOM_POLICY_EVAL_EXPLAIN, policy/policy-eval.c and
 * policy-entity.c): which entity each debug line and each input is
 * attributed to, what a global variable brings with it (what it was
 * computed from), first read wins, what is not an input, the bounds, and
 * the lifetime of an explanation across runs and reloads.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "mom-policy.h"

static const char *const host_fields[] = {"mem_free", "mem_available"};
static const char *const guest_fields[] = {"balloon_cur", "mem_unused"};

/* A host and two guests, g1 and g2, with one sample each (and the host a
 * second one, so that its average differs from its newest value). */
typedef struct {
    MomEntity *host;
    GPtrArray *guests;
    MomPolicySet *set;
} World;

static void
world_init(World *w)
{
    g_autoptr(MomSchema) hs = mom_schema_new(host_fields, 2);
    g_autoptr(MomSchema) gs = mom_schema_new(guest_fields, 2);

    w->host = mom_entity_new(MOM_ENTITY_HOST, "Host", hs, 4);
    MomValue h1[] = {mom_value_int(1000), mom_value_int(8000)};
    MomValue h2[] = {mom_value_int(2000), mom_value_int(8000)};
    mom_entity_push_sample(w->host, h1);
    mom_entity_push_sample(w->host, h2);
    w->guests = g_ptr_array_new_with_free_func((GDestroyNotify)mom_entity_free);
    for (int i = 1; i <= 2; i++) {
        g_autofree char *name = g_strdup_printf("g%d", i);
        MomEntity *g = mom_entity_new(MOM_ENTITY_GUEST, name, gs, 2);
        MomValue v[] = {mom_value_int(1024 * i), mom_value_int(100 * i)};
        MomValue prop = mom_value_string(name, -1);
        mom_entity_push_sample(g, v);
        mom_entity_set_prop(g, "name", &prop);
        mom_value_clear(&prop);
        g_ptr_array_add(w->guests, g);
    }
    w->set = mom_policy_set_new();
}

static void
world_clear(World *w)
{
    mom_entity_free(w->host);
    g_ptr_array_free(w->guests, TRUE);
    mom_policy_set_free(w->set);
}

static MomEntity *
guest(World *w, guint i)
{
    return w->guests->pdata[i];
}

/* Evaluates @text as the only policy.  Returns: (transfer full) the run. */
static MomPolicyRun *
run_text(World *w, const char *text, MomPolicyEvalFlags flags)
{
    g_autoptr(GError) error = NULL;

    ck_assert_msg(mom_policy_set_add_string(w->set, "p", "p.policy", text, -1, NULL, &error), "%s",
                  error ? error->message : "");
    return mom_policy_set_evaluate(w->set, w->host, w->guests, flags);
}

/* The input of @e's explanation named @name of @kind, or NULL. */
static const MomPolicyInput *
find_input(MomEntity *e, MomInputKind kind, const char *name)
{
    MomExplanation *x = mom_entity_explanation(e);

    for (guint i = 0; x && i < mom_explanation_n_inputs(x); i++) {
        const MomPolicyInput *in = mom_explanation_input(x, i);
        if (in->kind == kind && strcmp(in->name, name) == 0)
            return in;
    }
    return NULL;
}

static gint64
input_int(MomEntity *e, MomInputKind kind, const char *name)
{
    const MomPolicyInput *in = find_input(e, kind, name);

    ck_assert_msg(in, "no input %s", name);
    ck_assert_int_eq(in->value.type, MOM_VALUE_INT);
    return in->value.u.i;
}

/* Debug lines go to the entity being evaluated: the guest of the current
 * with-iteration, else the host; the run's own list only with
 * KEEP_DEBUG. */
START_TEST(test_debug_attributed)
{
    World w;
    world_init(&w);
    const char *text = "(debug \"top\")\n"
                       "(with Guests g (debug \"for\" (g.Prop \"name\")))\n"
                       "(defvar nums (with Guests g 1))\n"
                       "(with nums i (debug \"plain list\" i))\n";

    g_autoptr(MomPolicyRun) run = run_text(&w, text, MOM_POLICY_EVAL_EXPLAIN);
    ck_assert(run->ok);
    ck_assert_uint_eq(run->debug->len, 0); /* not asked for */
    MomExplanation *hx = mom_entity_explanation(w.host);
    ck_assert_ptr_nonnull(hx);
    /* a with over a list of no guests stays with the host */
    ck_assert_uint_eq(mom_explanation_n_debug(hx), 3);
    ck_assert_str_eq(mom_explanation_debug(hx, 0)->message, "top");
    ck_assert_str_eq(mom_explanation_debug(hx, 1)->message, "plain list 1");
    for (guint i = 0; i < 2; i++) {
        MomExplanation *gx = mom_entity_explanation(guest(&w, i));
        g_autofree char *want = g_strdup_printf("for g%u", i + 1);
        ck_assert_uint_eq(mom_explanation_n_debug(gx), 1);
        const MomPolicyDiag *d = mom_explanation_debug(gx, 0);
        ck_assert_str_eq(d->message, want);
        ck_assert_int_eq(d->severity, MOM_DIAG_DEBUG);
        g_autofree char *line = mom_policy_diag_format_line(d);
        g_autofree char *want_line = g_strdup_printf("p.policy:2:16: debug: for g%u", i + 1);
        ck_assert_str_eq(line, want_line);
    }

    /* both flags: the run's list too, and the same lines per entity */
    g_autoptr(MomPolicyRun) both = mom_policy_set_evaluate(
        w.set, w.host, w.guests, MOM_POLICY_EVAL_EXPLAIN | MOM_POLICY_EVAL_KEEP_DEBUG);
    ck_assert_uint_eq(both->debug->len, 5);
    ck_assert_uint_eq(mom_explanation_n_debug(mom_entity_explanation(guest(&w, 1))), 1);

    /* without EXPLAIN: no explanation at all, the previous one forgotten */
    g_autoptr(MomPolicyRun) plain =
        mom_policy_set_evaluate(w.set, w.host, w.guests, MOM_POLICY_EVAL_KEEP_DEBUG);
    ck_assert_uint_eq(plain->debug->len, 5);
    ck_assert_ptr_null(mom_entity_explanation(w.host));
    ck_assert_ptr_null(mom_entity_explanation(guest(&w, 0)));
    world_clear(&w);
}
END_TEST

/* Fields, averages, entity variables and globals are inputs of the entity
 * being evaluated; a global brings what it was computed from. */
START_TEST(test_inputs_and_provenance)
{
    World w;
    world_init(&w);
    mom_entity_set_var(guest(&w, 0), "seen", &(MomValue){.type = MOM_VALUE_INT, .u.i = 7});
    const char *text =
        "(defvar threshold 0.2)\n"
        "(defvar ratio (/ (Host.StatAvg \"mem_free\") Host.mem_available))\n"
        "(defvar pressure (< ratio threshold))\n"
        "(def used (g) (- g.balloon_cur g.mem_unused))\n"
        "(with Guests g (if pressure (g.Control \"balloon_target\" (used g))"
        " (let ((x (g.GetVar \"seen\"))) (debug \"x\" x (g.Stat \"mem_unused\")))))\n";

    g_autoptr(MomPolicyRun) run = run_text(&w, text, MOM_POLICY_EVAL_EXPLAIN);
    ck_assert(run->ok);

    /* the host: what the top level read */
    const MomPolicyInput *avg = find_input(w.host, MOM_INPUT_AVERAGE, "mem_free");
    ck_assert_ptr_nonnull(avg);
    ck_assert_str_eq(avg->entity, "Host");
    ck_assert_int_eq(avg->value.type, MOM_VALUE_FLOAT);
    ck_assert_double_eq(avg->value.u.d, 1500.0);
    ck_assert_int_eq(input_int(w.host, MOM_INPUT_FIELD, "mem_available"), 8000);
    const MomPolicyInput *ratio = find_input(w.host, MOM_INPUT_VARIABLE, "ratio");
    ck_assert_ptr_nonnull(ratio);
    ck_assert_ptr_null(ratio->entity);
    ck_assert_double_eq_tol(ratio->value.u.d, 0.1875, 1e-12);

    /* g1 reads pressure only, and learns what pressure came from: ratio,
     * threshold, and the host's fields behind ratio */
    MomEntity *g1 = guest(&w, 0);
    const MomPolicyInput *p = find_input(g1, MOM_INPUT_VARIABLE, "pressure");
    ck_assert_ptr_nonnull(p);
    ck_assert(p->value.type == MOM_VALUE_BOOL && p->value.u.b);
    ck_assert_ptr_nonnull(find_input(g1, MOM_INPUT_VARIABLE, "ratio"));
    ck_assert_ptr_nonnull(find_input(g1, MOM_INPUT_VARIABLE, "threshold"));
    const MomPolicyInput *hf = find_input(g1, MOM_INPUT_AVERAGE, "mem_free");
    ck_assert_ptr_nonnull(hf);
    ck_assert_str_eq(hf->entity, "Host");
    ck_assert_int_eq(input_int(g1, MOM_INPUT_FIELD, "balloon_cur"), 1024);
    ck_assert_int_eq(input_int(g1, MOM_INPUT_FIELD, "mem_unused"), 100);
    ck_assert_str_eq(find_input(g1, MOM_INPUT_FIELD, "balloon_cur")->entity, "g1");
    /* the order is the order first read: pressure, then what it came from */
    MomExplanation *x = mom_entity_explanation(g1);
    ck_assert_str_eq(mom_explanation_input(x, 0)->name, "pressure");
    ck_assert_uint_eq(mom_explanation_n_inputs(x), 7);
    ck_assert_uint_eq(mom_explanation_dropped(x, NULL), 0);
    /* a function's parameter, a let's local, functions and entities are no inputs */
    ck_assert_ptr_null(find_input(g1, MOM_INPUT_VARIABLE, "g"));
    ck_assert_ptr_null(find_input(g1, MOM_INPUT_VARIABLE, "used"));
    ck_assert_ptr_null(find_input(w.host, MOM_INPUT_VARIABLE, "Host"));
    ck_assert_ptr_null(find_input(w.host, MOM_INPUT_VARIABLE, "Guests"));
    ck_assert_ptr_null(find_input(w.host, MOM_INPUT_VARIABLE, "debug"));

    /* no pressure: GetVar and Stat are inputs too, and the let's x is not */
    ck_assert(mom_policy_set_add_string(w.set, "0", "0.policy", "(defvar threshold 0.1)", -1, NULL,
                                        NULL));
    g_autoptr(MomPolicyRun) relaxed =
        mom_policy_set_evaluate(w.set, w.host, w.guests, MOM_POLICY_EVAL_EXPLAIN);
    ck_assert(relaxed->ok);
    ck_assert_int_eq(input_int(g1, MOM_INPUT_ENTITY_VAR, "seen"), 7);
    ck_assert_str_eq(find_input(g1, MOM_INPUT_ENTITY_VAR, "seen")->entity, "g1");
    ck_assert_ptr_null(find_input(g1, MOM_INPUT_VARIABLE, "x"));
    /* g2 never set "seen": read as nil, and it is still an input */
    const MomPolicyInput *unset = find_input(guest(&w, 1), MOM_INPUT_ENTITY_VAR, "seen");
    ck_assert_ptr_nonnull(unset);
    ck_assert_int_eq(unset->value.type, MOM_VALUE_NIL);
    /* the first defvar wins in the global scope: the 0 policy's */
    const MomPolicyInput *th = find_input(g1, MOM_INPUT_VARIABLE, "threshold");
    ck_assert_double_eq(th->value.u.d, 0.1);
    world_clear(&w);
}
END_TEST

/* An input keeps the value it was first read with; a global set later in
 * the run keeps its new value and what that was computed from. */
START_TEST(test_first_read_wins)
{
    World w;
    world_init(&w);
    const char *text = "(defvar spare 100)\n"
                       "(with Guests g { (debug spare) (set spare (- spare g.balloon_cur)) "
                       "(debug spare) })\n";

    g_autoptr(MomPolicyRun) run = run_text(&w, text, MOM_POLICY_EVAL_EXPLAIN);
    ck_assert(run->ok);
    /* g1 first read 100; g2 first read 100 - 1024 */
    ck_assert_int_eq(input_int(guest(&w, 0), MOM_INPUT_VARIABLE, "spare"), 100);
    ck_assert_int_eq(input_int(guest(&w, 1), MOM_INPUT_VARIABLE, "spare"), -924);
    /* and for g2, spare came from g1's balloon_cur: attributed to g1 */
    MomExplanation *x = mom_entity_explanation(guest(&w, 1));
    gboolean from_g1 = FALSE;
    for (guint i = 0; i < mom_explanation_n_inputs(x); i++) {
        const MomPolicyInput *in = mom_explanation_input(x, i);
        if (in->kind == MOM_INPUT_FIELD && g_strcmp0(in->entity, "g1") == 0)
            from_g1 = in->value.u.i == 1024;
    }
    ck_assert(from_g1);
    ck_assert_uint_eq(mom_explanation_n_debug(x), 2);
    ck_assert_str_eq(mom_explanation_debug(x, 1)->message, "-2972");
    world_clear(&w);
}
END_TEST

/* Each explanation is bounded; what is left out is counted, and the run's
 * own bounds still hold. */
START_TEST(test_bounds)
{
    World w;
    world_init(&w);
    GString *text = g_string_new(NULL);
    /* 60 globals read by each guest: 48 kept */
    for (int i = 0; i < 60; i++)
        g_string_append_printf(text, "(defvar v%d %d)\n", i, i);
    g_string_append(text,
                    "(defvar long (* \"x\" 1000))\n(defvar l (with Guests g (g.Prop \"name\")))\n");
    g_string_append(text, "(with Guests g {");
    for (int i = 0; i < 60; i++)
        g_string_append_printf(text, " v%d", i);
    g_string_append(text, " })\n");
    /* 40 debug lines for the host: 32 kept */
    g_string_append(text, "(def loop (n) (if (> n 0) { (debug \"line\" n) (loop (- n 1)) } 0))\n"
                          "(loop 40)\n(debug long)\n(debug l)\n");

    g_autoptr(MomPolicyRun) run = run_text(&w, text->str, MOM_POLICY_EVAL_EXPLAIN);
    g_string_free(text, TRUE);
    ck_assert(run->ok);
    MomExplanation *gx = mom_entity_explanation(guest(&w, 0));
    ck_assert_uint_eq(mom_explanation_n_inputs(gx), MOM_EXPLANATION_MAX_INPUTS);
    ck_assert_uint_eq(mom_explanation_dropped(gx, NULL), 60 - MOM_EXPLANATION_MAX_INPUTS);
    guint dropped_debug = 0;
    MomExplanation *hx = mom_entity_explanation(w.host);
    mom_explanation_dropped(hx, &dropped_debug);
    ck_assert_uint_eq(mom_explanation_n_debug(hx), MOM_EXPLANATION_MAX_DEBUG_LINES);
    ck_assert_uint_eq(dropped_debug, 42 - MOM_EXPLANATION_MAX_DEBUG_LINES);

    /* a long string is kept as its printed form, cut; a list likewise */
    ck_assert(mom_policy_set_add_string(w.set, "p", "p.policy", "(debug long l)", -1, NULL, NULL));
    ck_assert(mom_policy_set_add_string(
        w.set, "0", "0.policy",
        "(defvar long (* \"x\" 1000))\n(defvar l (with Guests g (g.Prop \"name\")))", -1, NULL,
        NULL));
    g_autoptr(MomPolicyRun) run2 =
        mom_policy_set_evaluate(w.set, w.host, w.guests, MOM_POLICY_EVAL_EXPLAIN);
    const MomPolicyInput *lg = find_input(w.host, MOM_INPUT_VARIABLE, "long");
    ck_assert_int_eq(lg->value.type, MOM_VALUE_STRING);
    ck_assert_uint_eq(strlen(mom_value_string_get(&lg->value)),
                      MOM_EXPLANATION_MAX_VALUE_BYTES + 3);
    ck_assert(g_str_has_suffix(mom_value_string_get(&lg->value), "..."));
    const MomPolicyInput *l = find_input(w.host, MOM_INPUT_VARIABLE, "l");
    ck_assert_str_eq(mom_value_string_get(&l->value), "[\"g1\", \"g2\"]");
    /* one debug line that takes most of the bytes: the next is dropped */
    ck_assert(mom_policy_set_add_string(
        w.set, "p", "p.policy", "(debug (* \"y\" 8190))\n(debug \"small\")", -1, NULL, NULL));
    g_autoptr(MomPolicyRun) run3 =
        mom_policy_set_evaluate(w.set, w.host, w.guests, MOM_POLICY_EVAL_EXPLAIN);
    hx = mom_entity_explanation(w.host);
    mom_explanation_dropped(hx, &dropped_debug);
    ck_assert_uint_eq(mom_explanation_n_debug(hx), 1);
    ck_assert_uint_eq(dropped_debug, 1);
    world_clear(&w);
}
END_TEST

/* The run's bound of 10 000 debug lines holds with EXPLAIN too: past it,
 * the lines are counted in the explanations. */
START_TEST(test_run_bound)
{
    g_autoptr(MomSchema) schema = mom_schema_new(NULL, 0);
    g_autoptr(GPtrArray) guests = g_ptr_array_new_with_free_func((GDestroyNotify)mom_entity_free);
    g_autoptr(MomPolicySet) set = mom_policy_set_new();
    guint dropped = 0;

    for (int i = 0; i < 400; i++) {
        g_autofree char *name = g_strdup_printf("g%d", i);
        g_ptr_array_add(guests, mom_entity_new(MOM_ENTITY_GUEST, name, schema, 1));
    }
    ck_assert(
        mom_policy_set_add_string(set, "p", "p",
                                  "(def loop (n) (if (> n 0) { (debug n) (loop (- n 1)) } 0))\n"
                                  "(with Guests g (loop 30))",
                                  -1, NULL, NULL));
    g_autoptr(MomPolicyRun) run = mom_policy_set_evaluate(
        set, NULL, guests, MOM_POLICY_EVAL_EXPLAIN | MOM_POLICY_EVAL_KEEP_DEBUG);
    ck_assert(run->ok);
    /* 333 guests of 30 lines, then 10 of the next one's */
    ck_assert_uint_eq(run->debug->len, 10001);
    g_autofree char *last = mom_policy_diag_format_line(run->debug->pdata[10000]);
    ck_assert_str_eq(last, "note: 2000 more debug lines were dropped");
    MomExplanation *full = mom_entity_explanation(guests->pdata[332]);
    ck_assert_uint_eq(mom_explanation_n_debug(full), 30);
    MomExplanation *cut = mom_entity_explanation(guests->pdata[333]);
    ck_assert_uint_eq(mom_explanation_n_debug(cut), 10);
    mom_explanation_dropped(cut, &dropped);
    ck_assert_uint_eq(dropped, 20);
    MomExplanation *none = mom_entity_explanation(guests->pdata[399]);
    ck_assert_uint_eq(mom_explanation_n_debug(none), 0);
    mom_explanation_dropped(none, &dropped);
    ck_assert_uint_eq(dropped, 30);
}
END_TEST

/* A guest whose evaluation fails keeps what it read up to the error; an
 * aborted run keeps the explanations too (they say what was read). */
START_TEST(test_errors)
{
    World w;
    world_init(&w);

    g_autoptr(MomPolicyRun) run =
        run_text(&w, "(with Guests g { (debug \"before\") g.balloon_cur (undefined_fn) })",
                 MOM_POLICY_EVAL_EXPLAIN);
    ck_assert(run->ok);
    ck_assert_uint_eq(run->errors->len, 2);
    MomExplanation *x = mom_entity_explanation(guest(&w, 1));
    ck_assert_uint_eq(mom_explanation_n_debug(x), 1);
    ck_assert_int_eq(input_int(guest(&w, 1), MOM_INPUT_FIELD, "balloon_cur"), 2048);

    g_autoptr(MomPolicyRun) aborted = run_text(
        &w, "(defvar a Host.mem_free)\n(debug a)\n(undefined_fn)", MOM_POLICY_EVAL_EXPLAIN);
    ck_assert(!aborted->ok);
    ck_assert_int_eq(input_int(w.host, MOM_INPUT_FIELD, "mem_free"), 2000);
    ck_assert_uint_eq(mom_explanation_n_debug(mom_entity_explanation(w.host)), 1);
    world_clear(&w);
}
END_TEST

/* An explanation is independent of the policy set and of the entity: a
 * reference keeps it, whole, after both are gone. */
START_TEST(test_lifetime)
{
    World w;
    world_init(&w);

    g_autoptr(MomPolicyRun) run =
        run_text(&w, "(defvar r Host.mem_free)\n(with Guests g (debug \"r is\" r))",
                 MOM_POLICY_EVAL_EXPLAIN);
    MomExplanation *x = mom_explanation_ref(mom_entity_explanation(guest(&w, 0)));
    /* the next run makes a new one; the old one stays as it was */
    g_autoptr(MomPolicyRun) run2 =
        mom_policy_set_evaluate(w.set, w.host, w.guests, MOM_POLICY_EVAL_EXPLAIN);
    ck_assert_ptr_ne(mom_entity_explanation(guest(&w, 0)), x);
    world_clear(&w);
    ck_assert_uint_eq(mom_explanation_n_inputs(x), 2);
    ck_assert_str_eq(mom_explanation_input(x, 0)->name, "r");
    ck_assert_str_eq(mom_explanation_input(x, 1)->name, "mem_free");
    ck_assert_str_eq(mom_explanation_input(x, 1)->entity, "Host");
    ck_assert_str_eq(mom_explanation_debug(x, 0)->message, "r is 2000");
    ck_assert_str_eq(mom_explanation_debug(x, 0)->file, "p.policy");
    mom_explanation_unref(x);
    mom_explanation_unref(NULL);
}
END_TEST

/* Without a host entity the top level's reads go nowhere, and the guests
 * still get theirs. */
START_TEST(test_no_host)
{
    World w;
    world_init(&w);
    g_autoptr(GError) error = NULL;

    ck_assert(mom_policy_set_add_string(w.set, "p", "p.policy",
                                        "(defvar t 1)\n(debug t)\n(with Guests g (debug t))", -1,
                                        NULL, &error));
    g_autoptr(MomPolicyRun) run =
        mom_policy_set_evaluate(w.set, NULL, w.guests, MOM_POLICY_EVAL_EXPLAIN);
    ck_assert(run->ok);
    ck_assert_ptr_null(mom_entity_explanation(w.host));
    ck_assert_int_eq(input_int(guest(&w, 0), MOM_INPUT_VARIABLE, "t"), 1);
    world_clear(&w);
}
END_TEST

static Suite *
explain_suite(void)
{
    Suite *s = suite_create("explain");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_debug_attributed);
    tcase_add_test(tc, test_inputs_and_provenance);
    tcase_add_test(tc, test_first_read_wins);
    tcase_add_test(tc, test_bounds);
    tcase_add_test(tc, test_run_bound);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_lifetime);
    tcase_add_test(tc, test_no_host);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(explain_suite());

    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
