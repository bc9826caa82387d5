/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The MOM policy language conformance suite.
 *
 * Every case of the tests/policy/NAME.cases files (the format is described
 * in tests/policy/README.md) is one loop test, so meson counts each case as a
 * TAP subtest.  A few properties that a text case cannot express (two sets
 * in one process, state kept across evaluations, loading and replacing
 * policies) are plain C tests at the end.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>

#include "mom-policy.h"
#include "mom-state.h"
#include "mom-test-fs.h"

#define DEFAULT_FILE "test.policy"

/* The sections a case may have; the expectation sections come after SEC_STATE. */
typedef enum {
    SEC_POLICY,
    SEC_STATE,
    SEC_LIMITS,
    SEC_RUNS,
    SEC_RESULTS,
    SEC_PARSE_ERRORS,
    SEC_ERRORS,
    SEC_DIAG,
    SEC_CONTROLS,
    SEC_GUEST_ERRORS,
    SEC_DEBUG,
    SEC_OK,
    SEC_COUNT,
} Section;

static const char *const section_names[SEC_COUNT] = {
    [SEC_POLICY] = "policy",     [SEC_STATE] = "state",
    [SEC_LIMITS] = "limits",     [SEC_RUNS] = "runs",
    [SEC_RESULTS] = "results",   [SEC_PARSE_ERRORS] = "parse-errors",
    [SEC_ERRORS] = "errors",     [SEC_DIAG] = "diag",
    [SEC_CONTROLS] = "controls", [SEC_GUEST_ERRORS] = "guest-errors",
    [SEC_DEBUG] = "debug",       [SEC_OK] = "ok",
};

typedef struct {
    char *name; /* policy name */
    char *file; /* display name in messages */
    char *text;
} CasePolicy;

typedef struct {
    char *name;
    char *path;          /* the .cases file */
    int line;            /* of the "===" line */
    GPtrArray *policies; /* CasePolicy */
    char *state;         /* JSON, or NULL */
    MomPolicyLimits limits;
    guint runs;
    GPtrArray *expect[SEC_COUNT]; /* expected lines, NULL when not checked */
} Case;

/* Loaded once in main(); the forked test processes inherit them. */
static GPtrArray *cases;
static char *cases_error;

static void
case_policy_free(gpointer p)
{
    CasePolicy *cp = p;
    g_free(cp->name);
    g_free(cp->file);
    g_free(cp->text);
    g_free(cp);
}

static void
case_free(gpointer p)
{
    Case *c = p;
    g_free(c->name);
    g_free(c->path);
    g_ptr_array_unref(c->policies);
    g_free(c->state);
    for (guint i = 0; i < SEC_COUNT; i++)
        if (c->expect[i])
            g_ptr_array_unref(c->expect[i]);
    g_free(c);
}

/* ---- the case file reader -------------------------------------------------------- */

typedef struct {
    Case *c;
    Section sec;
    char *arg;
    GPtrArray *lines; /* the body of the open section */
    int line;         /* of the "---" line */
} OpenSection;

static gboolean
is_comment_line(Section sec, const char *line)
{
    /* Expectation lines never start with '#': errors start with a file
     * name, results with a value, controls with an entity name. */
    return sec > SEC_STATE && sec != SEC_LIMITS && line[0] == '#';
}

static gboolean
close_section(OpenSection *os, const char *path, GError **error)
{
    if (!os->lines)
        return TRUE;

    g_autoptr(GPtrArray) lines = g_steal_pointer(&os->lines);
    g_autofree char *arg = g_steal_pointer(&os->arg);
    Case *c = os->c;

    /* Blank lines at the end separate sections and cases; they are not content. */
    while (lines->len > 0 && *(char *)lines->pdata[lines->len - 1] == '\0')
        g_ptr_array_remove_index(lines, lines->len - 1);

    switch (os->sec) {
    case SEC_POLICY: {
        CasePolicy *cp = g_new0(CasePolicy, 1);
        GString *text = g_string_new(NULL);
        for (guint i = 0; i < lines->len; i++)
            g_string_append_printf(text, "%s\n", (char *)lines->pdata[i]);
        cp->name = g_strdup(arg ? arg : MOM_POLICY_DEFAULT_NAME);
        cp->file = arg ? g_strdup_printf("%s.policy", arg) : g_strdup(DEFAULT_FILE);
        cp->text = g_string_free(text, FALSE);
        g_ptr_array_add(c->policies, cp);
        return TRUE;
    }
    case SEC_STATE: {
        GString *text = g_string_new(NULL);
        for (guint i = 0; i < lines->len; i++)
            g_string_append_printf(text, "%s\n", (char *)lines->pdata[i]);
        g_free(c->state);
        c->state = g_string_free(text, FALSE);
        return TRUE;
    }
    case SEC_LIMITS:
        for (guint i = 0; i < lines->len; i++) {
            g_auto(GStrv) kv = g_strsplit((char *)lines->pdata[i], " ", 2);
            static const char *const keys[] = {"max_depth", "max_steps", "max_bytes",
                                               "max_var_bytes", NULL};
            if (g_strv_length(kv) != 2 || !g_strv_contains(keys, kv[0])) {
                g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                            "%s:%d: a limits line must be 'max_depth N', 'max_steps N', "
                            "'max_bytes N' or 'max_var_bytes N'.",
                            path, os->line);
                return FALSE;
            }
            guint64 value = g_ascii_strtoull(kv[1], NULL, 10);
            if (g_str_equal(kv[0], "max_depth"))
                c->limits.max_depth = (guint)value;
            else if (g_str_equal(kv[0], "max_steps"))
                c->limits.max_steps = value;
            else if (g_str_equal(kv[0], "max_bytes"))
                c->limits.max_bytes = (gsize)value;
            else if (g_str_equal(kv[0], "max_var_bytes"))
                c->limits.max_var_bytes = (gsize)value;
        }
        return TRUE;
    case SEC_RUNS:
        c->runs = arg ? (guint)g_ascii_strtoull(arg, NULL, 10) : 0;
        if (c->runs == 0) {
            g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                        "%s:%d: '--- runs N' needs a positive count.", path, os->line);
            return FALSE;
        }
        return TRUE;
    default:
        if (c->expect[os->sec]) {
            g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                        "%s:%d: the section '%s' appears twice in case '%s'.", path, os->line,
                        section_names[os->sec], c->name);
            return FALSE;
        }
        g_ptr_array_set_free_func(lines, g_free);
        c->expect[os->sec] = g_steal_pointer(&lines);
        return TRUE;
    }
}

static gboolean
load_cases_file(const char *path, GPtrArray *out, GError **error)
{
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;
    OpenSection os = {0};
    gboolean ok = TRUE;

    if (!g_file_get_contents(path, &text, NULL, error))
        return FALSE;
    lines = g_strsplit(text, "\n", -1);
    for (guint i = 0; ok && lines[i]; i++) {
        char *line = lines[i];
        int lineno = (int)i + 1;

        /* A final newline leaves one empty string after it. */
        if (!lines[i + 1] && !*line)
            break;
        if (g_str_has_prefix(line, "=== ")) {
            ok = close_section(&os, path, error);
            Case *c = g_new0(Case, 1);
            c->name = g_strstrip(g_strdup(line + 4));
            c->path = g_strdup(path);
            c->line = lineno;
            c->runs = 1;
            c->policies = g_ptr_array_new_with_free_func(case_policy_free);
            g_ptr_array_add(out, c);
            os = (OpenSection){.c = c};
        } else if (g_str_has_prefix(line, "--- ")) {
            ok = close_section(&os, path, error);
            if (!ok)
                break;
            if (!os.c) {
                g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                            "%s:%d: a section comes before the first '=== NAME' line.", path,
                            lineno);
                ok = FALSE;
                break;
            }
            g_auto(GStrv) words = g_strsplit(g_strstrip(line + 4), " ", 2);
            guint s;
            for (s = 0; s < SEC_COUNT; s++)
                if (words[0] && g_str_equal(words[0], section_names[s]))
                    break;
            if (s == SEC_COUNT) {
                g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s:%d: unknown section '%s'.",
                            path, lineno, line + 4);
                ok = FALSE;
                break;
            }
            os.sec = (Section)s;
            os.arg = words[0] && words[1] ? g_strdup(g_strstrip(words[1])) : NULL;
            os.lines = g_ptr_array_new_with_free_func(g_free);
            os.line = lineno;
        } else if (os.lines) {
            if (!is_comment_line(os.sec, line))
                g_ptr_array_add(os.lines, g_strdup(line));
        } else if (os.c && *line && line[0] != '#') {
            g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                        "%s:%d: text outside any section of case '%s'.", path, lineno, os.c->name);
            ok = FALSE;
        }
    }
    if (ok)
        ok = close_section(&os, path, error);
    g_clear_pointer(&os.lines, g_ptr_array_unref);
    g_free(os.arg);
    return ok;
}

static gint
compare_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reads every *.cases file of $MOM_TEST_DATA/policy; sets cases_error on failure. */
static void
load_all_cases(void)
{
    const char *data = g_getenv("MOM_TEST_DATA");
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func(g_free);

    cases = g_ptr_array_new_with_free_func(case_free);
    if (!data) {
        cases_error = g_strdup("MOM_TEST_DATA is not set; it must name the tests/ directory.");
        return;
    }
    g_autofree char *dir = g_build_filename(data, "policy", NULL);
    g_autoptr(GDir) d = g_dir_open(dir, 0, &error);
    if (!d) {
        cases_error = g_strdup_printf("Cannot read the case directory: %s", error->message);
        return;
    }
    const char *entry;
    while ((entry = g_dir_read_name(d)))
        if (g_str_has_suffix(entry, ".cases"))
            g_ptr_array_add(files, g_build_filename(dir, entry, NULL));
    g_ptr_array_sort(files, compare_names);
    for (guint i = 0; i < files->len; i++) {
        if (!load_cases_file(files->pdata[i], cases, &error)) {
            cases_error = g_strdup(error->message);
            return;
        }
    }
    if (cases->len == 0)
        cases_error = g_strdup_printf("%s holds no test cases.", dir);
}

/* ---- running a case ------------------------------------------------------------------ */

static GPtrArray *
lines_new(void)
{
    return g_ptr_array_new_with_free_func(g_free);
}

/* Appends the lines of @text (which ends in '\n') to @lines. */
static void
add_text_lines(GPtrArray *lines, const char *text)
{
    g_auto(GStrv) split = g_strsplit(text, "\n", -1);
    guint n = g_strv_length(split);

    if (n > 0 && !*split[n - 1])
        n--;
    for (guint i = 0; i < n; i++)
        g_ptr_array_add(lines, g_strdup(split[i]));
}

static char *
repr(const MomValue *v)
{
    GString *s = g_string_new(NULL);
    mom_value_repr(v, TRUE, s);
    return g_string_free(s, FALSE);
}

static void
add_controls(GPtrArray *lines, const MomEntity *e)
{
    for (guint i = 0; i < mom_entity_n_controls(e); i++) {
        const MomControl *c = mom_entity_control(e, i);
        g_autofree char *v = repr(&c->value);
        g_ptr_array_add(lines, g_strdup_printf("%s %s %s", mom_entity_name(e), c->name, v));
    }
}

static void
lines_append(GString *out, const GPtrArray *lines)
{
    if (lines->len == 0)
        g_string_append(out, "    (nothing)\n");
    for (guint i = 0; i < lines->len; i++)
        g_string_append_printf(out, "    |%s\n", (char *)lines->pdata[i]);
}

static gboolean
lines_equal(const GPtrArray *a, const GPtrArray *b)
{
    if (a->len != b->len)
        return FALSE;
    for (guint i = 0; i < a->len; i++)
        if (strcmp(a->pdata[i], b->pdata[i]) != 0)
            return FALSE;
    return TRUE;
}

/*
 * Runs @c and compares every expectation.  Returns NULL when the case
 * passes, else a report of each differing section.
 */
static char *
run_case(const Case *c, gboolean dump)
{
    GPtrArray *actual[SEC_COUNT] = {NULL};
    g_autoptr(MomPolicySet) set = mom_policy_set_new();
    g_autoptr(GError) error = NULL;
    g_autoptr(MomState) state = NULL;
    g_autoptr(MomPolicyRun) run = NULL;
    g_autoptr(GString) report = g_string_new(NULL);
    GPtrArray *parse_diags = g_ptr_array_new_with_free_func((GDestroyNotify)mom_policy_diag_free);

    for (guint s = SEC_RESULTS; s < SEC_COUNT; s++)
        actual[s] = lines_new();

    state = mom_state_load_data(c->state ? c->state : "{}", -1, "state", &error);
    if (!state) {
        g_string_append_printf(report, "  the case's state does not load: %s\n", error->message);
        goto out;
    }
    mom_policy_set_set_limits(set, &c->limits);

    for (guint i = 0; i < c->policies->len; i++) {
        const CasePolicy *cp = c->policies->pdata[i];
        g_autoptr(GError) perr = NULL;
        guint first = parse_diags->len;
        gboolean added =
            mom_policy_set_add_string(set, cp->name, cp->file, cp->text, -1, parse_diags, &perr);
        /* A policy is expected to be rejected when an expected parse error names its file. */
        g_autofree char *prefix = g_strdup_printf("%s:", cp->file);
        gboolean want_reject = FALSE;
        for (guint k = 0; c->expect[SEC_PARSE_ERRORS] && k < c->expect[SEC_PARSE_ERRORS]->len; k++)
            if (g_str_has_prefix(c->expect[SEC_PARSE_ERRORS]->pdata[k], prefix))
                want_reject = TRUE;
        if (added == want_reject)
            g_string_append_printf(report, "  policy %s: mom_policy_set_add_string returned %s\n",
                                   cp->name, added ? "TRUE" : "FALSE");
        if (!added && !perr)
            g_string_append_printf(report, "  policy %s: rejected without a GError\n", cp->name);
        if (!added && perr && first < parse_diags->len) {
            g_autofree char *want = mom_policy_diag_format_line(parse_diags->pdata[first]);
            if (strcmp(want, perr->message) != 0)
                g_string_append_printf(report,
                                       "  policy %s: the GError is \"%s\", not the first "
                                       "diagnostic \"%s\"\n",
                                       cp->name, perr->message, want);
        }
        if (added && parse_diags->len != first)
            g_string_append_printf(report, "  policy %s: installed but with diagnostics\n",
                                   cp->name);
    }
    for (guint k = 0; k < parse_diags->len; k++) {
        const MomPolicyDiag *d = parse_diags->pdata[k];
        g_ptr_array_add(actual[SEC_PARSE_ERRORS], mom_policy_diag_format_line(d));
        g_autofree char *full = mom_policy_diag_format(d);
        add_text_lines(actual[SEC_DIAG], full);
    }

    for (guint r = 0; r < c->runs; r++) {
        g_clear_pointer(&run, mom_policy_run_free);
        run = mom_policy_set_evaluate(set, state->host, state->guests,
                                      MOM_POLICY_EVAL_KEEP_RESULTS | MOM_POLICY_EVAL_KEEP_DEBUG);
    }
    /* Printed only when compared or dumped: a limits case may make values
     * whose printed form is 16 MiB, slow to make under the sanitizers. */
    for (guint k = 0; (c->expect[SEC_RESULTS] || dump) && k < run->results->len; k++)
        g_ptr_array_add(actual[SEC_RESULTS], repr(&g_array_index(run->results, MomValue, k)));
    for (guint k = 0; k < run->errors->len; k++) {
        const MomPolicyDiag *d = run->errors->pdata[k];
        g_ptr_array_add(actual[SEC_ERRORS], mom_policy_diag_format_line(d));
        g_autofree char *full = mom_policy_diag_format(d);
        add_text_lines(actual[SEC_DIAG], full);
    }
    for (guint k = 0; k < run->debug->len; k++)
        g_ptr_array_add(actual[SEC_DEBUG], mom_policy_diag_format_line(run->debug->pdata[k]));
    add_controls(actual[SEC_CONTROLS], state->host);
    for (guint g = 0; g < state->guests->len; g++) {
        const MomEntity *e = state->guests->pdata[g];
        add_controls(actual[SEC_CONTROLS], e);
        if (mom_entity_error(e))
            g_ptr_array_add(actual[SEC_GUEST_ERRORS],
                            g_strdup_printf("%s %s", mom_entity_name(e), mom_entity_error(e)));
    }
    g_ptr_array_add(actual[SEC_OK], g_strdup(run->ok ? "true" : "false"));

    for (guint s = SEC_RESULTS; s < SEC_COUNT; s++) {
        const GPtrArray *want = c->expect[s];
        g_autoptr(GPtrArray) implied = NULL;

        if (!want) {
            /* Unlisted errors are still failures; a missing "ok" follows "errors". */
            if (s == SEC_PARSE_ERRORS || s == SEC_ERRORS)
                want = implied = lines_new();
            else if (s == SEC_OK) {
                want = implied = lines_new();
                g_ptr_array_add(implied, g_strdup(c->expect[SEC_ERRORS] ? "false" : "true"));
            } else
                continue;
        }
        if (!lines_equal(want, actual[s])) {
            g_string_append_printf(report, "  --- %s: expected\n", section_names[s]);
            lines_append(report, want);
            g_string_append(report, "  actual\n");
            lines_append(report, actual[s]);
        }
    }

out:
    if (dump) {
        fprintf(stderr, "=== %s\n", c->name);
        for (guint s = SEC_RESULTS; s < SEC_COUNT; s++) {
            if (!actual[s] || actual[s]->len == 0)
                continue;
            fprintf(stderr, "--- %s\n", section_names[s]);
            for (guint k = 0; k < actual[s]->len; k++)
                fprintf(stderr, "%s\n", (char *)actual[s]->pdata[k]);
        }
        fprintf(stderr, "\n");
    }
    for (guint s = 0; s < SEC_COUNT; s++)
        if (actual[s])
            g_ptr_array_unref(actual[s]);
    g_ptr_array_unref(parse_diags);
    if (report->len == 0)
        return NULL;
    return g_string_free(g_steal_pointer(&report), FALSE);
}

START_TEST(test_cases_present)
{
    ck_assert_msg(cases_error == NULL, "%s", cases_error);
    ck_assert_uint_gt(cases->len, 0);
}
END_TEST

START_TEST(test_case)
{
    const Case *c = cases->pdata[_i];
    const char *only = g_getenv("MOM_LANG_ONLY");

    /* A debugging aid: run only the cases whose name contains $MOM_LANG_ONLY. */
    if (only && !strstr(c->name, only))
        return;
    g_autofree char *failure = run_case(c, g_getenv("MOM_LANG_DUMP") != NULL);

    if (failure) {
        /* The details go to stderr: TAP wants a one-line message. */
        fprintf(stderr, "FAIL: case \"%s\" (%s:%d)\n%s\n", c->name, c->path, c->line, failure);
        /* ck_abort_msg() does not return: free the report first. */
        g_clear_pointer(&failure, g_free);
        ck_abort_msg("case \"%s\" (%s:%d) failed; details on stderr", c->name, c->path, c->line);
    }
}
END_TEST

/* ---- direct tests ------------------------------------------------------------------- */

static MomPolicySet *
set_with(const char *text)
{
    MomPolicySet *set = mom_policy_set_new();
    g_autoptr(GError) error = NULL;

    ck_assert_msg(mom_policy_set_add_string(set, MOM_POLICY_DEFAULT_NAME, DEFAULT_FILE, text, -1,
                                            NULL, &error),
                  "%s", error ? error->message : "?");
    return set;
}

/* Evaluates @set without entities and returns the results' printed forms joined by ' '. */
static char *
eval_results(MomPolicySet *set, MomEntity *host, GPtrArray *guests)
{
    g_autoptr(MomPolicyRun) run = mom_policy_set_evaluate(
        set, host, guests, MOM_POLICY_EVAL_KEEP_RESULTS | MOM_POLICY_EVAL_KEEP_DEBUG);
    GString *s = g_string_new(NULL);

    if (!run->ok && run->errors->len > 0) {
        g_autofree char *line = mom_policy_diag_format_line(run->errors->pdata[0]);
        g_string_append_printf(s, "ERROR %s", line);
        return g_string_free(s, FALSE);
    }
    for (guint i = 0; i < run->results->len; i++) {
        if (i)
            g_string_append_c(s, ' ');
        mom_value_repr(&g_array_index(run->results, MomValue, i), TRUE, s);
    }
    return g_string_free(s, FALSE);
}

START_TEST(test_two_sets_independent)
{
    g_autoptr(MomPolicySet) a = set_with("(defvar x 1) (def f () \"a\") x (f)");
    g_autoptr(MomPolicySet) b = set_with("(defvar x 2) (def f () \"b\") x (f)");
    g_autoptr(MomPolicySet) c = set_with("(defvar y 3) y");

    /* Interleaved runs: nothing of one set leaks into the other. */
    g_autofree char *ra = eval_results(a, NULL, NULL);
    g_autofree char *rb = eval_results(b, NULL, NULL);
    g_autofree char *ra2 = eval_results(a, NULL, NULL);
    g_autofree char *rc = eval_results(c, NULL, NULL);
    ck_assert_str_eq(ra, "1 \"f\" 1 \"a\"");
    ck_assert_str_eq(rb, "2 \"f\" 2 \"b\"");
    ck_assert_str_eq(ra2, ra);
    ck_assert_str_eq(rc, "3 3");

    /* A set does not see the other's functions or variables. */
    g_autoptr(MomPolicySet) d = set_with("(f)");
    g_autofree char *rd = eval_results(d, NULL, NULL);
    ck_assert_msg(g_str_has_prefix(rd, "ERROR test.policy:1:"), "got %s", rd);
    g_autoptr(MomPolicySet) e = set_with("x");
    g_autofree char *re = eval_results(e, NULL, NULL);
    ck_assert_str_eq(re, "ERROR test.policy:1:1: error: undefined symbol x");
}
END_TEST

START_TEST(test_setvar_persists)
{
    const char *text = "(defvar n (Host.GetVar \"n\"))\n"
                       "(Host.SetVar \"n\" (if (valid n) (+ n 1) 1))\n"
                       "(Host.GetVar \"n\")\n";
    g_autoptr(MomPolicySet) set = set_with(text);
    g_autoptr(MomState) state = mom_state_load_data("{}", -1, "state", NULL);

    ck_assert_ptr_nonnull(state);
    g_autofree char *r1 = eval_results(set, state->host, state->guests);
    g_autofree char *r2 = eval_results(set, state->host, state->guests);
    g_autofree char *r3 = eval_results(set, state->host, state->guests);
    ck_assert_str_eq(r1, "nil nil 1");
    ck_assert_str_eq(r2, "1 nil 2");
    ck_assert_str_eq(r3, "2 nil 3");

    /* A guest's variables are its own, and survive too. */
    const char *json = "{\"guests\": [{\"properties\": {\"name\": \"a\"}},"
                       " {\"properties\": {\"name\": \"b\"}}]}";
    g_autoptr(MomState) gs = mom_state_load_data(json, -1, "state", NULL);
    g_autoptr(MomPolicySet) gset =
        set_with("(with Guests g (g.SetVar \"k\" (+ 1 (or (g.GetVar \"k\") 0))))\n"
                 "(with Guests g (g.GetVar \"k\"))\n");
    g_autofree char *g1 = eval_results(gset, gs->host, gs->guests);
    g_autofree char *g2 = eval_results(gset, gs->host, gs->guests);
    ck_assert_str_eq(g1, "[nil, nil] [1, 1]");
    ck_assert_str_eq(g2, "[nil, nil] [2, 2]");
}
END_TEST

START_TEST(test_limits)
{
    g_autoptr(MomPolicySet) set =
        set_with("(def down (n) (if (<= n 0) 0 (down (- n 1))))\n(down 5)\n");
    MomPolicyLimits limits = {.max_depth = 3};

    /* Within the default limits. */
    g_autofree char *ok = eval_results(set, NULL, NULL);
    ck_assert_str_eq(ok, "\"down\" 0");

    mom_policy_set_set_limits(set, &limits);
    g_autoptr(MomPolicyRun) run = mom_policy_set_evaluate(set, NULL, NULL, MOM_POLICY_EVAL_NONE);
    ck_assert(!run->ok);
    ck_assert_uint_ge(run->errors->len, 1);
    const MomPolicyDiag *d = run->errors->pdata[0];
    ck_assert_int_eq(d->line, 1);
    ck_assert_msg(strstr(d->message, "3") != NULL, "the depth limit is not named: %s", d->message);

    /* Fewer steps than the run needs. */
    limits = (MomPolicyLimits){0};
    mom_policy_set_set_limits(set, &limits);
    g_autoptr(MomPolicyRun) full = mom_policy_set_evaluate(set, NULL, NULL, MOM_POLICY_EVAL_NONE);
    ck_assert(full->ok);
    ck_assert_uint_gt(full->steps, 20);
    limits = (MomPolicyLimits){.max_steps = 20};
    mom_policy_set_set_limits(set, &limits);
    g_autoptr(MomPolicyRun) run2 = mom_policy_set_evaluate(set, NULL, NULL, MOM_POLICY_EVAL_NONE);
    ck_assert(!run2->ok);
    ck_assert_uint_ge(run2->errors->len, 1);
    d = run2->errors->pdata[0];
    ck_assert_msg(strstr(d->message, "20") != NULL, "the step limit is not named: %s", d->message);
    ck_assert_uint_le(run2->steps, 21);

    /* Zero means the defaults again. */
    limits = (MomPolicyLimits){0};
    mom_policy_set_set_limits(set, &limits);
    g_autofree char *again = eval_results(set, NULL, NULL);
    ck_assert_str_eq(again, "\"down\" 0");
}
END_TEST

/* Doubles its work at each level: 2^60 calls, never deeper than 61, and
 * no memory: only a step limit, the clock or an interrupt stops it. */
#define RUNAWAY_POLICY "(def f (d) (if d { (f (- d 1)) (f (- d 1)) } 0))\n(f 60)\n"
#define LOTS_OF_STEPS G_GUINT64_CONSTANT(1000000000000)

static gint64
elapsed_ms(gint64 start)
{
    return (g_get_monotonic_time() - start) / 1000;
}

START_TEST(test_deadline)
{
    g_autoptr(MomPolicySet) set = set_with(RUNAWAY_POLICY);
    MomPolicyLimits limits = {.max_steps = LOTS_OF_STEPS, .max_ms = 100};

    mom_policy_set_set_limits(set, &limits);
    gint64 start = g_get_monotonic_time();
    g_autoptr(MomPolicyRun) run = mom_policy_set_evaluate(set, NULL, NULL, MOM_POLICY_EVAL_NONE);
    gint64 ms = elapsed_ms(start);

    ck_assert(!run->ok);
    ck_assert(!run->interrupted);
    ck_assert_uint_ge(run->errors->len, 1);
    const MomPolicyDiag *d = run->errors->pdata[0];
    ck_assert_str_eq(d->message, "the run took more than the limit of 100 ms");
    ck_assert_str_eq(d->file, DEFAULT_FILE);
    ck_assert_int_eq(d->line, 1);
    ck_assert_int_gt(d->col, 0);
    /* checked every MOM_POLICY_CHECK_STEPS steps: microseconds apart */
    ck_assert_msg(ms >= 100 && ms < 1000, "the run stopped after %" G_GINT64_FORMAT " ms", ms);
}
END_TEST

static gpointer
interrupt_later(gpointer flag)
{
    g_usleep(100 * 1000);
    g_atomic_int_set((gint *)flag, 1);
    return NULL;
}

START_TEST(test_interrupt)
{
    g_autoptr(MomPolicySet) set = set_with(RUNAWAY_POLICY);
    gint flag = 0;
    MomPolicyLimits limits = {.max_steps = LOTS_OF_STEPS, .interrupt = &flag};

    mom_policy_set_set_limits(set, &limits);
    gint64 start = g_get_monotonic_time();
    GThread *t = g_thread_new("interrupt", interrupt_later, &flag);
    g_autoptr(MomPolicyRun) run = mom_policy_set_evaluate(set, NULL, NULL, MOM_POLICY_EVAL_NONE);
    gint64 ms = elapsed_ms(start);
    g_thread_join(t);

    ck_assert(!run->ok);
    ck_assert(run->interrupted);
    const MomPolicyDiag *d = run->errors->pdata[0];
    ck_assert_str_eq(d->message, "the run was interrupted: a stop or a reload was requested");
    ck_assert_int_eq(d->line, 1);
    ck_assert_msg(ms >= 100 && ms < 1000, "the run stopped after %" G_GINT64_FORMAT " ms", ms);

    /* A flag already set stops the next run at its first check. */
    g_autoptr(MomPolicyRun) again = mom_policy_set_evaluate(set, NULL, NULL, MOM_POLICY_EVAL_NONE);
    ck_assert(again->interrupted);
    ck_assert_uint_le(again->steps, MOM_POLICY_CHECK_STEPS);

    /* and a cleared one lets the runs be */
    g_atomic_int_set(&flag, 0);
    g_autoptr(MomPolicySet) small = set_with("(+ 1 2)\n");
    mom_policy_set_set_limits(small, &limits);
    g_autofree char *r = eval_results(small, NULL, NULL);
    ck_assert_str_eq(r, "3");
}
END_TEST

/* One guest with a 10 000-byte string, and a list holding it 2000 times:
 * 20 MB when printed, 32 KB in memory. */
#define SHARED_LIST_POLICY "(defvar one (with Guests g (* \"x\" 10000)))\n(defvar l (* one 2000))\n"

START_TEST(test_debug_bounded)
{
    g_autoptr(MomState) state = mom_state_load_data(
        "{\"guests\": [{\"properties\": {\"name\": \"vm1\"}}]}", -1, "state", NULL);
    g_autoptr(MomPolicySet) set = set_with(SHARED_LIST_POLICY "(debug l)\n(debug \"small\")\n"
                                                              "(def f (n) (if n { (debug l) (f (- "
                                                              "n 1)) } 0))\n(f 300)\n");

    ck_assert_ptr_nonnull(state);
    g_autoptr(MomPolicyRun) run =
        mom_policy_set_evaluate(set, state->host, state->guests, MOM_POLICY_EVAL_KEEP_DEBUG);
    ck_assert(run->ok);
    /* each line is cut at 64 KiB, and the lines stop at 16 MiB in all */
    const MomPolicyDiag *first = run->debug->pdata[0];
    ck_assert_uint_eq(strlen(first->message), 64 * 1024 + 3);
    ck_assert(g_str_has_prefix(first->message, "[\"xxx"));
    ck_assert(g_str_has_suffix(first->message, "..."));
    ck_assert_str_eq(((MomPolicyDiag *)run->debug->pdata[1])->message, "small");
    ck_assert_uint_eq(run->debug->len, 2 + 255 + 1);
    const MomPolicyDiag *note = run->debug->pdata[run->debug->len - 1];
    ck_assert_str_eq(note->message, "45 more debug lines were dropped");
}
END_TEST

START_TEST(test_repr_bounded)
{
    g_autoptr(MomState) state = mom_state_load_data(
        "{\"guests\": [{\"properties\": {\"name\": \"vm1\"}}]}", -1, "state", NULL);
    g_autoptr(MomPolicySet) set = set_with(SHARED_LIST_POLICY "l\n");

    ck_assert_ptr_nonnull(state);
    g_autoptr(MomPolicyRun) run =
        mom_policy_set_evaluate(set, state->host, state->guests, MOM_POLICY_EVAL_KEEP_RESULTS);
    ck_assert(run->ok);
    g_autoptr(GString) out = g_string_new("> ");
    mom_value_repr(&g_array_index(run->results, MomValue, 2), TRUE, out);
    ck_assert_uint_eq(out->len, 2 + MOM_VALUE_REPR_MAX + 3);
    ck_assert(g_str_has_suffix(out->str, "xxx..."));
}
END_TEST

START_TEST(test_replace_keeps_old)
{
    g_autoptr(MomPolicySet) set = set_with("(+ 1 2)\n");
    g_autoptr(GPtrArray) diags =
        g_ptr_array_new_with_free_func((GDestroyNotify)mom_policy_diag_free);
    g_autoptr(GError) error = NULL;

    ck_assert(!mom_policy_set_add_string(set, MOM_POLICY_DEFAULT_NAME, DEFAULT_FILE, "(+ 1 2\n", -1,
                                         diags, &error));
    ck_assert_ptr_nonnull(error);
    ck_assert(g_error_matches(error, MOM_POLICY_ERROR, MOM_POLICY_ERROR_PARSE));
    ck_assert_uint_ge(diags->len, 1);
    ck_assert_str_eq(mom_policy_set_get_text(set, MOM_POLICY_DEFAULT_NAME), "(+ 1 2)\n");
    g_autofree char *r = eval_results(set, NULL, NULL);
    ck_assert_str_eq(r, "3");

    /* A good replacement does replace it. */
    g_clear_error(&error);
    ck_assert(mom_policy_set_add_string(set, MOM_POLICY_DEFAULT_NAME, DEFAULT_FILE, "(+ 2 2)", -1,
                                        NULL, &error));
    g_autofree char *r2 = eval_results(set, NULL, NULL);
    ck_assert_str_eq(r2, "4");
    g_autoptr(GPtrArray) names = mom_policy_set_names(set);
    ck_assert_uint_eq(names->len, 1);
}
END_TEST

START_TEST(test_dir_with_bad_file)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *dir = g_dir_make_tmp("check-lang-XXXXXX", &error);
    ck_assert_msg(dir != NULL, "%s", error ? error->message : "?");

    mom_test_write_file(dir, "00-defines.policy", "(defvar True 1)\n(defvar base 10)\n");
    mom_test_write_file(dir, "10-bad.policy", "(defvar broken (+ 1 2)\n");
    mom_test_write_file(dir, "20-use.policy", "(+ base True)\n");
    mom_test_write_file(dir, "notes.txt", "(this is not a policy\n");
    mom_test_write_file(dir, ".hidden.policy", "(((\n");

    g_autoptr(MomPolicySet) set = mom_policy_set_new();
    g_autoptr(GPtrArray) diags =
        g_ptr_array_new_with_free_func((GDestroyNotify)mom_policy_diag_free);
    gboolean ok = mom_policy_set_add_dir(set, dir, diags, &error);

    ck_assert(!ok);
    ck_assert_ptr_nonnull(error);
    ck_assert_uint_ge(diags->len, 1);
    const MomPolicyDiag *d = diags->pdata[0];
    ck_assert_msg(g_str_has_suffix(d->file, "10-bad.policy"), "diagnostic names %s", d->file);
    ck_assert_int_eq(d->line, 1);
    ck_assert_int_eq(d->col, 1);

    g_autoptr(GPtrArray) names = mom_policy_set_names(set);
    ck_assert_uint_eq(names->len, 2);
    ck_assert_str_eq(names->pdata[0], "00-defines");
    ck_assert_str_eq(names->pdata[1], "20-use");
    ck_assert_ptr_null(mom_policy_set_get_text(set, "10-bad"));
    g_autofree char *r = eval_results(set, NULL, NULL);
    ck_assert_str_eq(r, "1 10 11");

    mom_test_remove_tree(dir);
}
END_TEST

int
main(void)
{
    load_all_cases();

    Suite *s = suite_create("lang");
    TCase *tc = tcase_create("cases");
    tcase_add_test(tc, test_cases_present);
    tcase_add_loop_test(tc, test_case, 0, (int)cases->len);
    suite_add_tcase(s, tc);

    TCase *api = tcase_create("api");
    tcase_add_test(api, test_two_sets_independent);
    tcase_add_test(api, test_setvar_persists);
    tcase_add_test(api, test_limits);
    tcase_add_test(api, test_deadline);
    tcase_add_test(api, test_interrupt);
    tcase_add_test(api, test_debug_bounded);
    tcase_add_test(api, test_repr_bounded);
    tcase_add_test(api, test_replace_keeps_old);
    tcase_add_test(api, test_dir_with_bad_file);
    suite_add_tcase(s, api);

    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    g_ptr_array_unref(cases);
    g_free(cases_error);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
