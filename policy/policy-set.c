/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Policy sets: named policies kept in name order, replaced atomically, and
 * evaluated as one program.
 */
#include "config.h"

#include <string.h>

#include "policy-eval.h"
#include "policy-parse.h"

#define POLICY_SUFFIX ".policy"

MomPolicySet *
mom_policy_set_new(void)
{
    MomPolicySet *set = g_new0(MomPolicySet, 1);

    set->policies = g_ptr_array_new_with_free_func((GDestroyNotify)mom_policy_free);
    set->atoms.index = g_hash_table_new(g_str_hash, g_str_equal);
    set->atoms.names = g_ptr_array_new_with_free_func(g_free);
    g_ptr_array_add(set->atoms.names, g_strdup("")); /* atom 0: "no atom" */
    set->files = g_array_new(FALSE, FALSE, sizeof(MomEvalFile));
    set->strs = g_string_chunk_new(256);
    set->eval = mom_eval_new(&set->atoms);
    return set;
}

void
mom_policy_set_free(MomPolicySet *set)
{
    if (!set)
        return;
    mom_eval_free(set->eval);
    g_ptr_array_free(set->policies, TRUE);
    g_hash_table_destroy(set->atoms.index);
    /* explanations may hold the names of the variables they list */
    g_ptr_array_unref(set->atoms.names);
    g_array_free(set->files, TRUE);
    g_string_chunk_free(set->strs);
    g_free(set);
}

void
mom_policy_set_set_limits(MomPolicySet *set, const MomPolicyLimits *limits)
{
    set->limits = *limits;
}

MomPolicySet *
mom_policy_set_copy(const MomPolicySet *set)
{
    MomPolicySet *copy = mom_policy_set_new();

    copy->limits = set->limits;
    /* each text parsed once already, so it parses again */
    for (guint i = 0; i < set->policies->len; i++) {
        const MomPolicy *p = set->policies->pdata[i];
        mom_policy_set_add_string(copy, p->name, p->file, p->text, -1, NULL, NULL);
    }
    return copy;
}

static int
find_policy(const MomPolicySet *set, const char *name, gboolean *found)
{
    guint lo = 0, hi = set->policies->len;

    /* Byte order, like Python's sorted() on MOM's policy names. */
    while (lo < hi) {
        guint mid = (lo + hi) / 2;
        int c = strcmp(((MomPolicy *)set->policies->pdata[mid])->name, name);
        if (c == 0) {
            *found = TRUE;
            return (int)mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = FALSE;
    return (int)lo;
}

/* @policy is going: its text goes with it, so its file entry keeps only the name. */
static void
forget_file(MomPolicySet *set, MomPolicy *policy)
{
    g_array_index(set->files, MomEvalFile, policy->file_index).text = NULL;
}

gboolean
mom_policy_set_add_string(MomPolicySet *set, const char *name, const char *file, const char *text,
                          gssize len, GPtrArray *diags, GError **error)
{
    g_autoptr(GPtrArray) own = NULL;
    gsize n = len < 0 ? strlen(text) : (gsize)len;

    if (!name || !*name) {
        g_set_error(error, MOM_POLICY_ERROR, MOM_POLICY_ERROR_NAME,
                    "A policy name must not be empty.");
        return FALSE;
    }
    const char *nul = memchr(text, '\0', n);
    if (nul) {
        g_set_error(error, MOM_POLICY_ERROR, MOM_POLICY_ERROR_PARSE,
                    "%s: the policy contains a NUL byte at offset %zu.", file, (gsize)(nul - text));
        return FALSE;
    }
    if (!diags)
        diags = own = g_ptr_array_new_with_free_func((GDestroyNotify)mom_policy_diag_free);

    MomPolicy *policy = g_new0(MomPolicy, 1);
    policy->name = g_strdup(name);
    policy->file = g_string_chunk_insert_const(set->strs, file);
    policy->text = g_strndup(text, n);
    policy->file_index = set->files->len;
    g_array_append_val(set->files, ((MomEvalFile){policy->file, policy->text}));

    guint first_diag = diags->len;
    if (!mom_policy_parse(set, policy, diags)) {
        forget_file(set, policy);
        mom_policy_free(policy);
        MomPolicyDiag *d = first_diag < diags->len ? diags->pdata[first_diag] : NULL;
        g_autofree char *line = d ? mom_policy_diag_format_line(d) : g_strdup(file);
        g_set_error(error, MOM_POLICY_ERROR, MOM_POLICY_ERROR_PARSE, "%s", line);
        return FALSE;
    }

    gboolean found;
    int at = find_policy(set, name, &found);
    if (found) {
        MomPolicy *old = set->policies->pdata[at];
        forget_file(set, old);
        mom_policy_free(old);
        set->policies->pdata[at] = policy;
    } else {
        g_ptr_array_insert(set->policies, at, policy);
    }
    return TRUE;
}

static char *
name_from_path(const char *path)
{
    g_autofree char *base = g_path_get_basename(path);

    if (g_str_has_suffix(base, POLICY_SUFFIX) && strlen(base) > strlen(POLICY_SUFFIX))
        base[strlen(base) - strlen(POLICY_SUFFIX)] = '\0';
    return g_steal_pointer(&base);
}

gboolean
mom_policy_set_add_file(MomPolicySet *set, const char *path, const char *name, GPtrArray *diags,
                        GError **error)
{
    g_autofree char *text = NULL;
    g_autofree char *derived = NULL;
    g_autoptr(GError) local = NULL;
    gsize len;

    if (!g_file_get_contents(path, &text, &len, &local)) {
        g_set_error(error, MOM_POLICY_ERROR, MOM_POLICY_ERROR_IO,
                    "Cannot read the policy file %s: %s.", path, local->message);
        return FALSE;
    }
    if (!name)
        name = derived = name_from_path(path);
    return mom_policy_set_add_string(set, name, path, text, (gssize)len, diags, error);
}

static gint
compare_strings(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

gboolean
mom_policy_set_add_dir(MomPolicySet *set, const char *dir, GPtrArray *diags, GError **error)
{
    g_autoptr(GError) local = NULL;
    g_autoptr(GDir) d = g_dir_open(dir, 0, &local);
    g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func(g_free);
    const char *entry;
    gboolean ok = TRUE;

    if (!d) {
        g_set_error(error, MOM_POLICY_ERROR, MOM_POLICY_ERROR_IO,
                    "Cannot read the policy directory %s: %s.", dir, local->message);
        return FALSE;
    }
    while ((entry = g_dir_read_name(d)))
        if (entry[0] != '.' && g_str_has_suffix(entry, POLICY_SUFFIX))
            g_ptr_array_add(files, g_strdup(entry));
    g_ptr_array_sort(files, compare_strings);

    for (guint i = 0; i < files->len; i++) {
        g_autofree char *path = g_build_filename(dir, files->pdata[i], NULL);
        g_autoptr(GError) e = NULL;
        if (!mom_policy_set_add_file(set, path, NULL, diags, &e)) {
            /* keep going: one bad file must not hide the others */
            if (ok)
                g_propagate_error(error, g_steal_pointer(&e));
            ok = FALSE;
        }
    }
    return ok;
}

gboolean
mom_policy_set_remove(MomPolicySet *set, const char *name)
{
    gboolean found;
    int at = find_policy(set, name, &found);

    if (!found)
        return FALSE;
    forget_file(set, set->policies->pdata[at]);
    g_ptr_array_remove_index(set->policies, at);
    return TRUE;
}

void
mom_policy_set_clear(MomPolicySet *set)
{
    for (guint i = 0; i < set->policies->len; i++)
        forget_file(set, set->policies->pdata[i]);
    g_ptr_array_set_size(set->policies, 0);
}

gboolean
mom_policy_name_valid(const char *name)
{
    gsize n = strlen(name);

    if (n == 0 || n > 64 || name[0] == '.')
        return FALSE;
    for (gsize i = 0; i < n; i++)
        if (!g_ascii_isalnum(name[i]) && !strchr("-_.", name[i]))
            return FALSE;
    return TRUE;
}

GPtrArray *
mom_policy_set_names(const MomPolicySet *set)
{
    GPtrArray *names = g_ptr_array_new();

    for (guint i = 0; i < set->policies->len; i++)
        g_ptr_array_add(names, ((MomPolicy *)set->policies->pdata[i])->name);
    return names;
}

const char *
mom_policy_set_get_text(const MomPolicySet *set, const char *name)
{
    gboolean found;
    int at = find_policy(set, name, &found);

    return found ? ((MomPolicy *)set->policies->pdata[at])->text : NULL;
}

MomPolicyRun *
mom_policy_set_evaluate(MomPolicySet *set, MomEntity *host, GPtrArray *guests,
                        MomPolicyEvalFlags flags)
{
    MomEvalProgram program = {set->policies, set->files, set->atoms.names, &set->limits};

    return mom_eval_run(set->eval, &program, host, guests, flags);
}

void
mom_policy_run_free(MomPolicyRun *run)
{
    if (!run)
        return;
    g_ptr_array_free(run->errors, TRUE);
    g_ptr_array_free(run->debug, TRUE);
    g_array_free(run->results, TRUE);
    g_free(run);
}
