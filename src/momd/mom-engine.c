/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <string.h>

#include "mom-engine.h"
#include "mom-log.h"
#include "mom-state.h"

typedef struct {
    const MomControllerClass *klass;
    gpointer state;
} Controller;

typedef struct {
    guint64 count;
    guint64 last_cycle;
} Repeat;

struct _MomEngine {
    MomPolicySet *set;
    GHashTable *overrides; /* name -> text, or "" for a deletion (control API) */
    MomEngineRun last;
    GArray *controllers;           /* Controller */
    GHashTable *errors;            /* formatted error line -> Repeat */
    MomEngineStateFunc state_func; /* what a policy set is tried on */
    gpointer state_data;
    guint64 cycle;
    GPtrArray *problems; /* the last load's, for the control API (char *) */
    gboolean explain;    /* evaluate with MOM_POLICY_EVAL_EXPLAIN */
};

static void
controller_clear(gpointer p)
{
    Controller *c = p;
    if (c->klass->free)
        c->klass->free(c->state);
}

MomEngine *
mom_engine_new(void)
{
    MomEngine *e = g_new0(MomEngine, 1);

    e->set = mom_policy_set_new();
    e->controllers = g_array_new(FALSE, TRUE, sizeof(Controller));
    g_array_set_clear_func(e->controllers, controller_clear);
    e->errors = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    e->overrides = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    e->last.errors = g_ptr_array_new_with_free_func(g_free);
    e->problems = g_ptr_array_new_with_free_func(g_free);
    return e;
}

void
mom_engine_free(MomEngine *e)
{
    if (!e)
        return;
    g_array_free(e->controllers, TRUE);
    mom_policy_set_free(e->set);
    g_hash_table_destroy(e->errors);
    g_hash_table_destroy(e->overrides);
    g_ptr_array_free(e->last.errors, TRUE);
    g_ptr_array_free(e->problems, TRUE);
    g_free(e);
}

void
mom_engine_add_controllers(MomEngine *e, char **names, const MomControllerConfig *cfg)
{
    for (guint i = 0; names && names[i]; i++) {
        const MomControllerClass *k = mom_controller_lookup(names[i]);
        g_autoptr(GError) error = NULL;
        if (!k) {
            g_warning("The controller '%s' is not available in this momd; it is skipped.",
                      names[i]);
            continue;
        }
        gpointer state = k->init(cfg, &error);
        if (!state) {
            g_warning("The %s controller cannot start and is skipped: %s", k->name, error->message);
            continue;
        }
        Controller c = {k, state};
        g_array_append_val(e->controllers, c);
        g_message("The %s controller is active%s.", k->name,
                  cfg->dry_run ? " in dry-run mode: it will change nothing" : "");
    }
}

guint
mom_engine_n_controllers(const MomEngine *e)
{
    return e->controllers->len;
}

MomPolicySet *
mom_engine_policies(MomEngine *e)
{
    return e->set;
}

static void
log_diags(GPtrArray *diags)
{
    for (guint i = 0; i < diags->len; i++) {
        g_autofree char *text = mom_policy_diag_format(diags->pdata[i]);
        g_strchomp(text);
        g_warning("%s", text);
    }
}

static void
log_lines(GPtrArray *lines)
{
    for (guint i = 0; i < lines->len; i++)
        g_warning("%s", (char *)lines->pdata[i]);
}

/* Keeps the previous version of @name when its new text was rejected. */
static void
carry_over(MomPolicySet *from, MomPolicySet *to, const char *name)
{
    const char *old = mom_policy_set_get_text(from, name);

    if (!old)
        return;
    if (mom_policy_set_add_string(to, name, name, old, -1, NULL, NULL))
        g_warning("The policy %s keeps its previous version until the file is fixed.", name);
}

static void engine_problem(MomEngine *e, const char *format, ...) G_GNUC_PRINTF(2, 3);

/* Logs a reason why the policies in force are not those of the files, and
 * keeps it for the control API's status until the next load. */
static void
engine_problem(MomEngine *e, const char *format, ...)
{
    va_list ap;
    char *msg;

    va_start(ap, format);
    msg = g_strdup_vprintf(format, ap);
    va_end(ap);
    g_warning("%s", msg);
    g_ptr_array_add(e->problems, msg);
}

gboolean
mom_engine_load(MomEngine *e, const char *policy_file, const char *policy_dir,
                const MomPolicyLimits *limits)
{
    g_autoptr(MomPolicySet) set = mom_policy_set_new();
    g_autoptr(GPtrArray) diags =
        g_ptr_array_new_with_free_func((GDestroyNotify)mom_policy_diag_free);
    g_autoptr(GError) error = NULL;
    gboolean ok = TRUE;

    mom_policy_set_set_limits(set, limits);
    g_ptr_array_set_size(e->problems, 0);
    if (policy_file && *policy_file) {
        if (!mom_policy_set_add_file(set, policy_file, MOM_POLICY_DEFAULT_NAME, diags, &error)) {
            engine_problem(e, "The policy file %s was rejected: %s", policy_file, error->message);
            carry_over(e->set, set, MOM_POLICY_DEFAULT_NAME);
            ok = FALSE;
        }
    } else if (policy_dir && *policy_dir) {
        g_autoptr(GDir) dir = g_dir_open(policy_dir, 0, &error);
        if (!dir) {
            g_autoptr(GPtrArray) loaded = mom_policy_set_names(e->set);
            guint n = loaded->len;

            /* at start-up there is nothing loaded to keep */
            if (n == 0)
                engine_problem(e,
                               "Cannot read the policy directory %s: %s; momd evaluates no "
                               "policy and changes nothing until the directory can be read and "
                               "momd reloads (SIGHUP).",
                               policy_dir, error->message);
            else
                engine_problem(e,
                               "Cannot read the policy directory %s: %s; the %u %s loaded "
                               "before %s active.",
                               policy_dir, error->message, n, n == 1 ? "policy" : "policies",
                               n == 1 ? "stays" : "stay");
            return FALSE;
        }
        const char *entry;
        while ((entry = g_dir_read_name(dir))) {
            if (entry[0] == '.' || !g_str_has_suffix(entry, ".policy"))
                continue;
            g_autofree char *path = g_build_filename(policy_dir, entry, NULL);
            g_autofree char *name = g_strndup(entry, strlen(entry) - strlen(".policy"));
            g_autoptr(GError) e2 = NULL;
            if (!mom_policy_set_add_file(set, path, name, diags, &e2)) {
                engine_problem(e, "The policy file %s was rejected.", path);
                if (e2->code == MOM_POLICY_ERROR_IO)
                    g_warning("%s", e2->message);
                carry_over(e->set, set, name);
                ok = FALSE;
            }
        }
    } else {
        engine_problem(e, "Neither 'policy' nor 'policy-dir' is configured: momd evaluates no "
                          "policy and changes nothing.");
    }
    log_diags(diags);

    /* what the control API set outlives a reload from the files */
    GHashTableIter oi;
    gpointer oname, otext;
    g_hash_table_iter_init(&oi, e->overrides);
    while (g_hash_table_iter_next(&oi, &oname, &otext)) {
        if (*(char *)otext == '\0')
            mom_policy_set_remove(set, oname);
        else
            mom_policy_set_add_string(set, oname, oname, otext, -1, NULL, NULL);
    }

    /* What parses may still fail every cycle: try it first (not at
     * start-up, when there is no state and nothing to keep). */
    g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GError) refused = NULL;
    if (!mom_engine_try(e, set, problems, &refused)) {
        engine_problem(e,
                       "The policies as loaded now would fail, so the previous ones stay active "
                       "until the files are fixed: %s",
                       refused->message);
        log_lines(problems);
        return FALSE;
    }

    g_autoptr(GPtrArray) names = mom_policy_set_names(set);
    g_autoptr(GString) list = g_string_new(NULL);
    for (guint i = 0; i < names->len; i++)
        g_string_append_printf(list, "%s%s", i ? ", " : "", (char *)names->pdata[i]);
    g_message("Loaded %u %s%s%s.", names->len, names->len == 1 ? "policy" : "policies",
              names->len ? ": " : "", list->str);

    MomPolicySet *old = e->set;
    e->set = g_steal_pointer(&set);
    mom_policy_set_free(old);
    return ok;
}

static gboolean
is_power_of_ten(guint64 n)
{
    while (n >= 10 && n % 10 == 0)
        n /= 10;
    return n == 1;
}

/* ---- errors, once per place --------------------------------------------------- */

/* A policy error that several guests hit is one error: the same place and
 * message, and the guests it happened in. */
typedef struct {
    char *key; /* FILE:LINE:COL: error: MESSAGE, without the guest */
    const MomPolicyDiag *first;
    GPtrArray *guests; /* names, (transfer none) */
} ErrorGroup;

static void
error_group_free(gpointer p)
{
    ErrorGroup *g = p;
    g_free(g->key);
    g_ptr_array_free(g->guests, TRUE);
    g_free(g);
}

/* Groups the errors (not the notes) of @errors, in order of first
 * appearance.  Returns: (transfer full) the ErrorGroups; they point into
 * @errors. */
static GPtrArray *
group_errors(GPtrArray *errors)
{
    GPtrArray *groups = g_ptr_array_new_with_free_func(error_group_free);
    g_autoptr(GHashTable) by_key = g_hash_table_new(g_str_hash, g_str_equal);

    for (guint i = 0; i < errors->len; i++) {
        const MomPolicyDiag *d = errors->pdata[i];
        if (d->severity != MOM_DIAG_ERROR)
            continue;
        MomPolicyDiag bare = *d;
        bare.entity = NULL;
        char *key = mom_policy_diag_format_line(&bare);
        ErrorGroup *g = g_hash_table_lookup(by_key, key);
        if (g) {
            g_free(key);
        } else {
            g = g_new0(ErrorGroup, 1);
            g->key = key;
            g->first = d;
            g->guests = g_ptr_array_new();
            g_ptr_array_add(groups, g);
            g_hash_table_insert(by_key, g->key, g);
        }
        if (d->entity)
            g_ptr_array_add(g->guests, d->entity);
    }
    return groups;
}

/* "guests vm1, vm2 and vm3", "guests vm1, vm2, vm3 and 5 more" */
static char *
guests_phrase(GPtrArray *guests)
{
    GString *s = g_string_new("guests ");
    guint shown = guests->len > 4 ? 3 : guests->len;

    for (guint i = 0; i < shown; i++)
        g_string_append_printf(s, "%s%s",
                               i == 0                 ? ""
                               : i + 1 == guests->len ? " and "
                                                      : ", ",
                               (char *)guests->pdata[i]);
    if (shown < guests->len)
        g_string_append_printf(s, " and %u more", guests->len - shown);
    return g_string_free(s, FALSE);
}

/* The group as one line, or in full (with the source line and a caret). */
static char *
group_text(const ErrorGroup *g, gboolean full)
{
    MomPolicyDiag d = *g->first;
    g_autofree char *who = NULL;
    g_autofree char *message = NULL;

    if (g->guests->len > 1) {
        who = guests_phrase(g->guests);
        message = g_strdup_printf("%s: %s", who, d.message);
        d.entity = NULL;
        d.message = message;
    }
    char *text = full ? mom_policy_diag_format(&d) : mom_policy_diag_format_line(&d);
    return g_strchomp(text);
}

/* One line per distinct error, whatever number of guests hit it; a
 * repeating error again at 10, 100, 1000 ... cycles. */
static void
report_errors(MomEngine *e, MomPolicyRun *run)
{
    g_autoptr(GPtrArray) groups = group_errors(run->errors);

    for (guint i = 0; i < groups->len; i++) {
        const ErrorGroup *g = groups->pdata[i];
        Repeat *r = g_hash_table_lookup(e->errors, g->key);
        if (!r) {
            r = g_new0(Repeat, 1);
            g_hash_table_insert(e->errors, g_strdup(g->key), r);
        }
        r->count++;
        r->last_cycle = e->cycle;
        if (r->count == 1) {
            g_autofree char *full = group_text(g, TRUE);
            if (g->guests->len == 1)
                g_log_structured(G_LOG_DOMAIN, G_LOG_LEVEL_WARNING, "MOM_GUEST",
                                 (char *)g->guests->pdata[0], "MESSAGE", "%s", full);
            else if (g->guests->len > 1)
                g_warning("%s", full);
            else
                g_warning("%s; no controls are applied this cycle.", full);
        } else if (is_power_of_ten(r->count)) {
            g_autofree char *line = group_text(g, FALSE);
            g_warning("%s (repeated %" G_GUINT64_FORMAT " times)", line, r->count);
        }
    }
    GHashTableIter it;
    gpointer key, value;
    g_hash_table_iter_init(&it, e->errors);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        Repeat *r = value;
        if (r->last_cycle == e->cycle)
            continue;
        if (r->count > 1)
            g_message("This error no longer occurs after %" G_GUINT64_FORMAT " times: %s", r->count,
                      (char *)key);
        g_hash_table_iter_remove(&it);
    }
}

gboolean
mom_engine_run(MomEngine *e, MomEntity *host, GPtrArray *guests)
{
    e->cycle++;
    /* debug lines cost time to format; make them only when they are logged */
    MomPolicyEvalFlags flags =
        mom_log_get_verbosity() >= MOM_LOG_DEBUG ? MOM_POLICY_EVAL_KEEP_DEBUG : 0;
    if (e->explain)
        flags |= MOM_POLICY_EVAL_EXPLAIN;
    g_autoptr(MomPolicyRun) run = mom_policy_set_evaluate(e->set, host, guests, flags);

    for (guint i = 0; i < run->debug->len; i++) {
        g_autofree char *line = mom_policy_diag_format_line(run->debug->pdata[i]);
        g_debug("%s", line);
    }
    if (run->interrupted && run->errors->len > 0) {
        /* not the policy's fault: no warning, and no error counted */
        const MomPolicyDiag *d = run->errors->pdata[0];
        g_message("The policy evaluation was interrupted at %s:%d:%d to stop or reload momd; no "
                  "controls are applied this cycle.",
                  d->file, d->line, d->col);
    } else {
        report_errors(e, run);
    }
    e->last.cycle = e->cycle;
    e->last.time = g_get_real_time();
    e->last.ok = run->ok;
    g_ptr_array_set_size(e->last.errors, 0);
    for (guint i = 0; i < run->errors->len; i++)
        g_ptr_array_add(e->last.errors, mom_policy_diag_format_line(run->errors->pdata[i]));
    if (!run->ok)
        return FALSE;
    for (guint i = 0; i < e->controllers->len; i++) {
        Controller *c = &g_array_index(e->controllers, Controller, i);
        g_autoptr(GError) error = NULL;
        if (!c->klass->apply(c->state, host, guests, &error))
            g_warning("The %s controller failed: %s", c->klass->name, error->message);
    }
    return TRUE;
}

void
mom_engine_set_explain(MomEngine *e, gboolean explain)
{
    e->explain = explain;
}

/* ---- trials ------------------------------------------------------------------ */

void
mom_engine_set_state_func(MomEngine *e, MomEngineStateFunc func, gpointer data)
{
    e->state_func = func;
    e->state_data = data;
}

/* Runs @set on @json's copy of the state.  Returns: (transfer full) the
 * run, or NULL when the copy cannot be made. */
static MomPolicyRun *
trial_run(MomPolicySet *set, const char *json)
{
    g_autoptr(MomState) state = mom_state_load_data(json, -1, "snapshot", NULL);

    return state ? mom_policy_set_evaluate(set, state->host, state->guests, MOM_POLICY_EVAL_NONE)
                 : NULL;
}

gboolean
mom_engine_try(MomEngine *e, MomPolicySet *candidate, GPtrArray *problems, GError **error)
{
    MomEntity *host = NULL;
    g_autoptr(GPtrArray) guests = NULL;

    if (!e->state_func || !e->state_func(e->state_data, &host, &guests))
        return TRUE; /* nothing to try it on */
    /* A copy through the snapshot format: the live entities' controls and
     * variables must not change, and each run needs its own copy. */
    g_autofree char *json = mom_state_to_json(host, guests);
    g_autoptr(MomPolicyRun) after = trial_run(candidate, json);
    if (!after || (after->ok && after->errors->len == 0))
        return TRUE;
    /* A policy is not blamed for the errors the active ones have already.
     * They run only now: the active set may be the one that runs away. */
    g_autoptr(MomPolicyRun) before = trial_run(e->set, json);
    if (!before)
        return TRUE;
    if (before->interrupted || after->interrupted) {
        g_set_error(error, MOM_POLICY_ERROR, MOM_POLICY_ERROR_RUNTIME,
                    "momd was asked to stop or reload before the trial run ended.");
        return FALSE;
    }
    g_autoptr(GPtrArray) old = group_errors(before->errors);
    g_autoptr(GHashTable) known = g_hash_table_new(g_str_hash, g_str_equal);
    for (guint i = 0; i < old->len; i++)
        g_hash_table_add(known, ((ErrorGroup *)old->pdata[i])->key);
    g_autoptr(GPtrArray) now = group_errors(after->errors);
    g_autofree char *first = NULL;
    guint n_new = 0;
    for (guint i = 0; i < now->len; i++) {
        const ErrorGroup *g = now->pdata[i];
        if (g_hash_table_contains(known, g->key))
            continue;
        if (n_new++ == 0)
            first = group_text(g, FALSE);
        if (problems)
            g_ptr_array_add(problems, group_text(g, TRUE));
    }
    if (n_new == 0)
        return TRUE;
    if (n_new == 1)
        g_set_error(error, MOM_POLICY_ERROR, MOM_POLICY_ERROR_RUNTIME, "%s", first);
    else
        g_set_error(error, MOM_POLICY_ERROR, MOM_POLICY_ERROR_RUNTIME, "%s (and %u more errors)",
                    first, n_new - 1);
    return FALSE;
}

/* Installs @candidate as the active set. */
static void
engine_install(MomEngine *e, MomPolicySet *candidate)
{
    MomPolicySet *old = e->set;
    e->set = candidate;
    mom_policy_set_free(old);
}

gboolean
mom_engine_set_policy(MomEngine *e, const char *name, const char *text, GPtrArray *diags,
                      GError **error)
{
    g_autoptr(MomPolicySet) candidate = mom_policy_set_copy(e->set);
    g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GError) local = NULL;
    gboolean existed = TRUE;

    if (!text) {
        existed = mom_policy_set_remove(candidate, name);
    } else if (!mom_policy_set_add_string(candidate, name, name, text, -1, diags, &local)) {
        g_warning("A new version of policy %s was rejected through the control API: %s", name,
                  local->message);
        g_propagate_error(error, g_steal_pointer(&local));
        return FALSE;
    }
    if (!mom_engine_try(e, candidate, problems, &local)) {
        g_autofree char *why =
            text ? g_strdup_printf("Policy %s would fail on the current state, so it is not "
                                   "installed and the policies stay as they were: %s",
                                   name, local->message)
                 : g_strdup_printf("Without policy %s the other policies would fail on the "
                                   "current state, so it is not deleted: %s",
                                   name, local->message);
        g_warning("%s", why);
        log_lines(problems);
        g_set_error(error, MOM_POLICY_ERROR, MOM_POLICY_ERROR_RUNTIME, "%s", why);
        return FALSE;
    }
    engine_install(e, g_steal_pointer(&candidate));
    g_hash_table_replace(e->overrides, g_strdup(name), g_strdup(text ? text : ""));
    g_message("Policy %s was %s through the control API.", name, text ? "loaded" : "deleted");
    return existed;
}

gboolean
mom_engine_reset(MomEngine *e, const char *policy_file, const char *policy_dir,
                 const MomPolicyLimits *limits)
{
    MomPolicySet *active = e->set;
    g_autoptr(GHashTable) kept = g_steal_pointer(&e->overrides);

    e->overrides = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    gboolean ok = mom_engine_load(e, policy_file, policy_dir, limits);
    /* Nothing installed (the files would fail, or cannot be read): the
     * control API's policies are still active, and stay for the next
     * reload too. */
    if (e->set == active) {
        g_hash_table_unref(e->overrides);
        e->overrides = g_steal_pointer(&kept);
    }
    return ok;
}

const MomEngineRun *
mom_engine_last_run(const MomEngine *e)
{
    return &e->last;
}

GPtrArray *
mom_engine_problems(const MomEngine *e)
{
    return e->problems;
}

void
mom_engine_shutdown(MomEngine *e)
{
    for (guint i = 0; i < e->controllers->len; i++) {
        Controller *c = &g_array_index(e->controllers, Controller, i);
        if (c->klass->shutdown)
            c->klass->shutdown(c->state);
    }
}
