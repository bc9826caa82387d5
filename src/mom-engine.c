/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <string.h>

#include "mom-engine.h"
#include "mom-log.h"

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
    GArray *controllers; /* Controller */
    GHashTable *errors;  /* formatted error line -> Repeat */
    guint64 cycle;
    GPtrArray *problems; /* the last load's, for the control API (char *) */
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

/* One line per distinct error; a repeating error again at 10, 100, 1000 ... */
static void
report_errors(MomEngine *e, MomPolicyRun *run)
{
    for (guint i = 0; i < run->errors->len; i++) {
        MomPolicyDiag *d = run->errors->pdata[i];
        if (d->severity != MOM_DIAG_ERROR)
            continue;
        g_autofree char *line = mom_policy_diag_format_line(d);
        Repeat *r = g_hash_table_lookup(e->errors, line);
        if (!r) {
            r = g_new0(Repeat, 1);
            g_hash_table_insert(e->errors, g_strdup(line), r);
        }
        r->count++;
        r->last_cycle = e->cycle;
        if (r->count == 1) {
            g_autofree char *full = mom_policy_diag_format(d);
            g_strchomp(full);
            if (d->entity)
                g_log_structured(G_LOG_DOMAIN, G_LOG_LEVEL_WARNING, "MOM_GUEST", d->entity,
                                 "MESSAGE", "%s", full);
            else
                g_warning("%s; no controls are applied this cycle.", full);
        } else if (is_power_of_ten(r->count)) {
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

gboolean
mom_engine_set_policy(MomEngine *e, const char *name, const char *text, GPtrArray *diags)
{
    if (!text) {
        gboolean existed = mom_policy_set_remove(e->set, name);
        g_hash_table_replace(e->overrides, g_strdup(name), g_strdup(""));
        g_message("Policy %s was deleted through the control API.", name);
        return existed;
    }
    g_autoptr(GError) error = NULL;
    if (!mom_policy_set_add_string(e->set, name, name, text, -1, diags, &error)) {
        g_warning("A new version of policy %s was rejected through the control API: %s", name,
                  error->message);
        return FALSE;
    }
    g_hash_table_replace(e->overrides, g_strdup(name), g_strdup(text));
    g_message("Policy %s was loaded through the control API.", name);
    return TRUE;
}

gboolean
mom_engine_reset(MomEngine *e, const char *policy_file, const char *policy_dir,
                 const MomPolicyLimits *limits)
{
    g_hash_table_remove_all(e->overrides);
    return mom_engine_load(e, policy_file, policy_dir, limits);
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
