/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * momctl: the operator's command line for momd.
 *
 * Exit status: 0 success, 1 a policy error (parse or run time), 2 a usage
 * error or unreadable input.
 */
#include "config.h"

#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "mom-json.h"
#include "mom-policy.h"
#include "mom-state.h"

enum { EXIT_OK = 0, EXIT_POLICY = 1, EXIT_USAGE = 2 };

typedef struct {
    const char *name;
    const char *args;
    const char *summary;
    int (*run)(int argc, char **argv);
} Command;

static int usage_error(GOptionContext *ctx, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static int
usage_error(GOptionContext *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    fprintf(stderr, "momctl: %s\n", msg);
    if (ctx)
        fprintf(stderr, "Run '%s --help' for usage.\n", g_get_prgname());
    return EXIT_USAGE;
}

/* Loads each PATH (a policy file or a directory of *.policy files) into a
 * new set; later paths replace earlier policies of the same name, as the
 * daemon merges its policy sources.  Parse errors land in @diags; an
 * unreadable path is reported and gives NULL. */
static MomPolicySet *
load_paths(char **paths, GPtrArray *diags)
{
    g_autoptr(MomPolicySet) set = mom_policy_set_new();

    for (char **p = paths; *p; p++) {
        g_autoptr(GError) e = NULL;
        gboolean ok;
        if (g_file_test(*p, G_FILE_TEST_IS_DIR))
            ok = mom_policy_set_add_dir(set, *p, diags, &e);
        else
            ok = mom_policy_set_add_file(set, *p, NULL, diags, &e);
        if (!ok && e->domain == MOM_POLICY_ERROR && e->code == MOM_POLICY_ERROR_IO) {
            fprintf(stderr, "momctl: %s\n", e->message);
            return NULL;
        }
    }
    return g_steal_pointer(&set);
}

static void
print_diags(FILE *f, GPtrArray *diags)
{
    for (guint i = 0; i < diags->len; i++) {
        g_autofree char *s = mom_policy_diag_format(diags->pdata[i]);
        fputs(s, f);
    }
}

static int
cmd_policy_check(int argc, char **argv)
{
    gboolean json = FALSE;
    GOptionEntry entries[] = {
        {"json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the result as JSON", NULL},
        {NULL},
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new("PATH... - check policy files");
    g_autoptr(GError) error = NULL;

    g_option_context_set_summary(ctx, "Parses each policy file, or each *.policy file of a "
                                      "directory,\nand prints every error with its "
                                      "FILE:LINE:COLUMN.");
    g_option_context_add_main_entries(ctx, entries, NULL);
    if (!g_option_context_parse(ctx, &argc, &argv, &error))
        return usage_error(ctx, "%s", error->message);
    if (argc < 2)
        return usage_error(ctx, "policy check needs at least one policy file or directory.");

    g_autoptr(GPtrArray) diags =
        g_ptr_array_new_with_free_func((GDestroyNotify)mom_policy_diag_free);
    g_autoptr(MomPolicySet) set = load_paths(argv + 1, diags);
    if (!set)
        return EXIT_USAGE;
    g_autoptr(GPtrArray) names = mom_policy_set_names(set);
    if (json) {
        g_autoptr(GString) out = g_string_new(NULL);
        g_string_append_printf(out, "{\"ok\": %s, \"policies\": [", diags->len ? "false" : "true");
        for (guint i = 0; i < names->len; i++) {
            g_string_append(out, i ? ", " : "");
            mom_json_append_string(out, names->pdata[i]);
        }
        g_string_append(out, "], \"errors\": [");
        for (guint i = 0; i < diags->len; i++) {
            g_autofree char *line = mom_policy_diag_format_line(diags->pdata[i]);
            g_string_append(out, i ? ", " : "");
            mom_json_append_string(out, line);
        }
        g_string_append(out, "]}\n");
        fputs(out->str, stdout);
    } else {
        print_diags(stderr, diags);
        if (diags->len == 0)
            printf("%u %s parsed without errors.\n", names->len,
                   names->len == 1 ? "policy" : "policies");
    }
    return diags->len ? EXIT_POLICY : EXIT_OK;
}

static int
cmd_policy_test(int argc, char **argv)
{
    gboolean json = FALSE;
    char *state_path = NULL;
    gint64 max_steps = 0, max_depth = 0;
    GOptionEntry entries[] = {
        {"state", 's', 0, G_OPTION_ARG_FILENAME, &state_path,
         "The host and guest state to evaluate against (JSON)", "STATE.json"},
        {"json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the result as JSON", NULL},
        {"max-steps", 0, 0, G_OPTION_ARG_INT64, &max_steps,
         "Evaluation step limit (default 10000000)", "N"},
        {"max-depth", 0, 0, G_OPTION_ARG_INT64, &max_depth,
         "Function call depth limit (default 1000)", "N"},
        {NULL},
    };
    g_autoptr(GOptionContext) ctx =
        g_option_context_new("PATH... --state STATE.json - evaluate policies offline");
    g_autoptr(GError) error = NULL;

    g_option_context_set_summary(ctx, "Evaluates the policies once against a saved state and "
                                      "prints the controls\nevery entity would receive, every "
                                      "debug line and every error.");
    g_option_context_add_main_entries(ctx, entries, NULL);
    if (!g_option_context_parse(ctx, &argc, &argv, &error))
        return usage_error(ctx, "%s", error->message);
    g_autofree char *state_owned = state_path;
    if (argc < 2)
        return usage_error(ctx, "policy test needs at least one policy file or directory.");
    if (!state_path)
        return usage_error(ctx, "policy test needs --state STATE.json.");
    if (max_steps < 0 || max_depth < 0 || max_depth > G_MAXUINT)
        return usage_error(ctx, "--max-steps and --max-depth must not be negative (0 means the "
                                "default).");

    g_autoptr(MomState) state = mom_state_load_file(state_path, &error);
    if (!state) {
        fprintf(stderr, "momctl: %s\n", error->message);
        return EXIT_USAGE;
    }
    g_autoptr(GPtrArray) diags =
        g_ptr_array_new_with_free_func((GDestroyNotify)mom_policy_diag_free);
    g_autoptr(MomPolicySet) set = load_paths(argv + 1, diags);
    if (!set)
        return EXIT_USAGE;
    MomPolicyLimits limits = {(guint)max_depth, (guint64)max_steps};
    mom_policy_set_set_limits(set, &limits);

    g_autoptr(MomPolicyRun) run =
        mom_policy_set_evaluate(set, state->host, state->guests, MOM_POLICY_EVAL_KEEP_DEBUG);
    g_autofree char *report =
        json ? mom_state_report_json(state, run, diags) : mom_state_report_text(state, run, diags);
    fputs(report, stdout);
    return (run->ok && run->errors->len == 0 && diags->len == 0) ? EXIT_OK : EXIT_POLICY;
}

static const Command policy_commands[] = {
    {"check", "PATH...", "parse policies and print their errors", cmd_policy_check},
    {"test", "PATH... --state STATE.json [--json]", "evaluate policies against a saved state",
     cmd_policy_test},
    {NULL},
};

static int
dispatch(const char *group, const Command *table, int argc, char **argv)
{
    if (argc >= 2) {
        for (const Command *c = table; c->name; c++) {
            if (strcmp(argv[1], c->name) == 0) {
                g_autofree char *prg = g_strdup_printf("momctl %s %s", group, c->name);
                g_set_prgname(prg);
                return c->run(argc - 1, argv + 1);
            }
        }
    }
    gboolean help = argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0);
    FILE *f = help ? stdout : stderr;
    if (argc >= 2 && !help)
        fprintf(f, "momctl: unknown command '%s %s'.\n", group, argv[1]);
    fprintf(f, "Usage: momctl %s COMMAND [ARGS]\n\nCommands:\n", group);
    for (const Command *c = table; c->name; c++)
        fprintf(f, "  %-7s %-38s %s\n", c->name, c->args, c->summary);
    return help ? EXIT_OK : EXIT_USAGE;
}

static int
cmd_policy(int argc, char **argv)
{
    return dispatch("policy", policy_commands, argc, argv);
}

static const Command top_commands[] = {
    {"policy", "check|test ...", "check and test policy files offline", cmd_policy},
    {NULL},
};

int
main(int argc, char **argv)
{
    setlocale(LC_ALL, "");
    /* Numbers are printed in the C locale whatever the user's locale is. */
    setlocale(LC_NUMERIC, "C");
    /* a daemon that hangs up is an error message, not a silent death */
    signal(SIGPIPE, SIG_IGN);
    g_set_prgname("momctl");

    if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
        printf("momctl %s\n", PACKAGE_VERSION);
        return EXIT_OK;
    }
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        FILE *f = argc < 2 ? stderr : stdout;
        fprintf(f, "Usage: momctl COMMAND [ARGS]\n\nCommands:\n");
        for (const Command *c = top_commands; c->name; c++)
            fprintf(f, "  %-7s %-38s %s\n", c->name, c->args, c->summary);
        fprintf(f, "\nRun 'momctl COMMAND --help' for a command's options.\n");
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    for (const Command *c = top_commands; c->name; c++)
        if (strcmp(argv[1], c->name) == 0)
            return c->run(argc - 1, argv + 1);
    fprintf(stderr, "momctl: unknown command '%s'. Run 'momctl --help' for the list.\n", argv[1]);
    return EXIT_USAGE;
}
