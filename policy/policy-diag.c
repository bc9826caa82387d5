/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Diagnostics: "FILE:LINE:COL: error: MESSAGE", then the source line and a
 * caret under the offending token, as compilers print them.
 */
#include "config.h"

#include "policy-ast.h"

void
mom_policy_diag_free(MomPolicyDiag *diag)
{
    if (!diag)
        return;
    g_free(diag->file);
    g_free(diag->message);
    g_free(diag->source_line);
    g_free(diag->entity);
    g_free(diag);
}

static const char *
severity_name(MomDiagSeverity severity)
{
    switch (severity) {
    case MOM_DIAG_ERROR:
        return "error";
    case MOM_DIAG_NOTE:
        return "note";
    case MOM_DIAG_DEBUG:
        return "debug";
    }
    return "error";
}

char *
mom_policy_diag_format_line(const MomPolicyDiag *d)
{
    GString *s = g_string_new(NULL);

    if (d->file && *d->file) {
        g_string_append(s, d->file);
        if (d->line > 0)
            g_string_append_printf(s, ":%d:%d", d->line, d->col);
        g_string_append(s, ": ");
    }
    g_string_append_printf(s, "%s: ", severity_name(d->severity));
    if (d->entity)
        g_string_append_printf(s, "guest %s: ", d->entity);
    g_string_append(s, d->message);
    return g_string_free(s, FALSE);
}

char *
mom_policy_diag_format(const MomPolicyDiag *d)
{
    g_autofree char *first = mom_policy_diag_format_line(d);
    GString *s = g_string_new(first);

    g_string_append_c(s, '\n');
    if (d->source_line && d->col > 0) {
        g_string_append_printf(s, "  %s\n  ", d->source_line);
        /* Keep the source's tabs so the caret lines up in any tab width. */
        const char *src = d->source_line;
        for (int c = 1; c < d->col && *src; c++, src++)
            g_string_append_c(s, *src == '\t' ? '\t' : ' ');
        g_string_append_c(s, '^');
        for (int c = d->col; c < d->end_col; c++)
            g_string_append_c(s, '~');
        g_string_append_c(s, '\n');
    }
    return g_string_free(s, FALSE);
}
