/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * momctl explain ENTITY: why a guest (or the host) got its last decision,
 * for an operator who did not write the policy.
 *
 * One call, getExplanation, answers with up to two cycles of the entity:
 * "decided", the last one with decisions, and "latest", the newest one
 * when it is later.  Each has the decisions, the inputs the policies read
 * for the entity (its fields, the host's, the global variables and what
 * those were computed from) and the (debug ...) lines they wrote for it.
 * The text shows the decisions with their cycle's inputs, grouped by
 * whose they are, sizes in binary units; the newest cycle's debug lines
 * say why nothing was decided since.  --latest shows the newest cycle's
 * inputs instead.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "mom-log.h"
#include "mom-policy.h"
#include "momctl-priv.h"

/* Columns the lines under a heading are indented by. */
#define INDENT 2

/* Prints @text from column @indent, escaped (it holds guest names and
 * policy text), its words wrapped at the output width, the next lines
 * from column @indent + 2. */
static void
put_wrapped(guint indent, const char *text)
{
    g_autofree char *escaped = mom_log_escape(text, MOM_LOG_ESCAPE_LINES);
    glong width = momctl_output_width();
    g_auto(GStrv) words = g_strsplit(escaped, " ", -1);
    g_autoptr(GString) line = g_string_new(NULL);
    glong cols = 0;

    g_string_append_printf(line, "%*s", (int)indent, "");
    cols = indent;
    for (char **w = words; *w; w++) {
        glong n = momctl_text_columns(*w);
        if (cols > (glong)indent + 2 && cols + 1 + n > width) {
            g_autofree char *cut = momctl_truncate(line->str, (guint)width);
            printf("%s\n", cut);
            g_string_printf(line, "%*s", (int)indent + 2, "");
            cols = indent + 2;
        } else if (cols > (glong)indent) {
            g_string_append_c(line, ' ');
            cols++;
        }
        g_string_append(line, *w);
        cols += n;
    }
    /* a word wider than the line is cut */
    g_autofree char *cut = momctl_truncate(line->str, (guint)width);
    printf("%s\n", cut);
}

static void say(guint indent, const char *format, ...) G_GNUC_PRINTF(2, 3);

/* put_wrapped() of a formatted sentence. */
static void
say(guint indent, const char *format, ...)
{
    va_list ap;

    va_start(ap, format);
    g_autofree char *text = g_strdup_vprintf(format, ap);
    va_end(ap);
    put_wrapped(indent, text);
}

/* "/etc/momd/policies/10-balloon.policy:183:9: debug: MESSAGE" as
 * "10-balloon:183: MESSAGE"; a line of another form as it is. */
static char *
debug_text(const char *line)
{
    const char *sep = strstr(line, ": debug: ");

    if (!sep)
        return g_strdup(line);
    g_autofree char *origin = g_strndup(line, sep - line);
    g_autofree char *where = momctl_policy_of(origin);
    return g_strdup_printf("%s: %s", where, sep + strlen(": debug: "));
}

static void
print_debug(JsonArray *debug)
{
    for (guint i = 0; debug && i < json_array_get_length(debug); i++) {
        g_autofree char *line = momctl_node_text(json_array_get_element(debug, i));
        g_autofree char *text = debug_text(line);
        put_wrapped(INDENT, text);
    }
}

/* One decision: the control, the value before and the value asked for,
 * the policy line; then what the controller did. */
static void
print_decision(JsonObject *d)
{
    const char *control = momctl_obj_string(d, "control");
    const char *outcome = momctl_obj_string(d, "outcome");
    const char *before_text = momctl_obj_string(d, "before");
    const char *asked_text = momctl_obj_string(d, "requested");
    g_autofree char *before =
        momctl_format_text_value(control ? control : "", before_text ? before_text : "-");
    g_autofree char *asked =
        momctl_format_text_value(control ? control : "", asked_text ? asked_text : "-");
    g_autofree char *where = momctl_policy_of(momctl_obj_string(d, "origin"));

    say(INDENT, "%s: %s → %s, asked by %s", control ? control : "-", before, asked, where);
    g_autofree char *did = g_strdup_printf("%s.", outcome ? outcome : "not applied");
    put_wrapped(INDENT * 2, did);
}

/* Whose an input is: a group of the inputs table. */
typedef struct {
    char *heading;
    GPtrArray *cells; /* name, value, name, value, ... */
} Group;

static void
group_free(gpointer p)
{
    Group *g = p;
    g_free(g->heading);
    g_ptr_array_free(g->cells, TRUE);
    g_free(g);
}

/* The group of @heading in @groups, made when it is new. */
static Group *
group_of(GPtrArray *groups, const char *heading)
{
    for (guint i = 0; i < groups->len; i++)
        if (strcmp(((Group *)groups->pdata[i])->heading, heading) == 0)
            return groups->pdata[i];
    Group *g = g_new0(Group, 1);
    g->heading = g_strdup(heading);
    g->cells = g_ptr_array_new_with_free_func(g_free);
    g_ptr_array_add(groups, g);
    return g;
}

/* An input's row: its name, marked when it is an average or an entity's
 * variable, and its value, a size when it is a field in KiB. */
static void
add_input(Group *g, JsonObject *in)
{
    const char *kind = momctl_obj_string(in, "kind");
    const char *name = momctl_obj_string(in, "name");
    JsonNode *value = in ? json_object_get_member(in, "value") : NULL;
    gboolean field = kind && (strcmp(kind, "field") == 0 || strcmp(kind, "average") == 0);
    const char *mark = "";

    if (kind && strcmp(kind, "average") == 0)
        mark = " (average)";
    else if (kind && strcmp(kind, "entity variable") == 0)
        mark = " (variable)";
    g_ptr_array_add(g->cells, g_strdup_printf("%*s%s%s", INDENT, "", name ? name : "-", mark));
    g_ptr_array_add(g->cells, momctl_format_value(field ? name : NULL, value));
}

/* The inputs of a cycle, grouped: @subject's fields ("Host", or the
 * guest's name) first, then the host's, then any other entity's, then the
 * policy variables; one table, so that the values line up. */
static void
print_inputs(JsonArray *inputs, const char *subject)
{
    static const char *const heads[] = {"INPUT", "VALUE"};
    g_autoptr(GPtrArray) groups = g_ptr_array_new_with_free_func(group_free);
    g_autofree char *own =
        strcmp(subject, "Host") == 0 ? g_strdup("Host") : g_strdup_printf("Guest %s", subject);

    group_of(groups, own);
    group_of(groups, "Host");
    for (guint i = 0; inputs && i < json_array_get_length(inputs); i++) {
        JsonNode *n = json_array_get_element(inputs, i);
        JsonObject *in = JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
        const char *entity = momctl_obj_string(in, "entity");
        g_autofree char *heading = NULL;
        if (!entity)
            heading = g_strdup("Policy variables");
        else if (strcmp(entity, "Host") == 0 || strcmp(entity, subject) == 0)
            heading = g_strdup(strcmp(entity, "Host") == 0 ? "Host" : own);
        else
            heading = g_strdup_printf("Guest %s", entity);
        add_input(group_of(groups, heading), in);
    }
    /* the policy variables last, wherever the first one was read */
    for (guint i = 0; i < groups->len; i++) {
        if (strcmp(((Group *)groups->pdata[i])->heading, "Policy variables") == 0) {
            g_ptr_array_add(groups, g_ptr_array_steal_index(groups, i));
            break;
        }
    }
    g_autoptr(MomctlTable) t = momctl_table_new("ll", heads);
    momctl_table_shrink(t, 0, 14);
    momctl_table_shrink(t, 1, 12);
    for (guint i = 0; i < groups->len; i++) {
        Group *g = groups->pdata[i];
        if (g->cells->len == 0)
            continue;
        char *heading[2] = {g_strdup(g->heading), g_strdup("")};
        momctl_table_add_row(t, heading);
        for (guint k = 0; k + 1 < g->cells->len; k += 2) {
            char *row[2] = {g_steal_pointer(&g->cells->pdata[k]),
                            g_steal_pointer(&g->cells->pdata[k + 1])};
            momctl_table_add_row(t, row);
        }
    }
    momctl_table_fit(t, (guint)momctl_output_width() - INDENT, FALSE);
    g_autoptr(GPtrArray) lines = momctl_table_render(t);
    for (guint k = 1; k < lines->len; k++) {
        g_autofree char *line = g_strdup_printf("%*s%s", INDENT, "", (char *)lines->pdata[k]);
        g_autofree char *cut = momctl_truncate(line, (guint)momctl_output_width());
        printf("%s\n", cut);
    }
}

/* "cycle 8 at 2026-12-06 07:30:02 (5s ago)" */
static char *
cycle_when(JsonObject *c)
{
    double cycle = 0;
    g_autofree char *when = momctl_format_time_ago(momctl_obj_string(c, "time"));

    momctl_obj_number(c, "cycle", &cycle);
    return g_strdup_printf("cycle %.0f at %s", cycle, when);
}

/* "Cycle 12, the newest (3s ago)," */
static char *
latest_ago(JsonObject *c)
{
    double cycle = 0;
    const char *iso = momctl_obj_string(c, "time");
    g_autoptr(GDateTime) t = iso ? g_date_time_new_from_iso8601(iso, NULL) : NULL;
    g_autoptr(GDateTime) now = g_date_time_new_now_local();
    g_autofree char *ago =
        t ? momctl_format_duration(MAX(0, g_date_time_difference(now, t) / G_USEC_PER_SEC))
          : g_strdup("-");

    momctl_obj_number(c, "cycle", &cycle);
    return g_strdup_printf("Cycle %.0f, the newest (%s ago),", cycle, ago);
}

/* The inputs and debug lines of cycle @c for @who. */
static void
print_cycle_detail(JsonObject *c, const char *who, const char *which)
{
    JsonArray *inputs = momctl_obj_array(c, "inputs");
    JsonArray *debug = momctl_obj_array(c, "debug");
    double left_out = 0;

    momctl_obj_number(c, "inputs_left_out", &left_out);
    printf("\n");
    if (!inputs || json_array_get_length(inputs) == 0) {
        say(0, "The policies read nothing for %s in %s.", who, which);
    } else {
        say(0, "What the policies read for %s in %s:", who, which);
        print_inputs(inputs, strcmp(who, "the host") == 0 ? "Host" : who);
        if (left_out > 0)
            say(INDENT,
                "More inputs were read (%.0f reads) and left out: only the first %d are kept.",
                left_out, MOM_EXPLANATION_MAX_INPUTS);
    }
    if (debug && json_array_get_length(debug)) {
        say(0, "Debug lines of %s for %s:", which, who);
        print_debug(debug);
    }
}

/* getExplanation's answer @o about @name as text.  Returns: the exit status. */
static int
print_explanation(JsonObject *o, const char *name, gboolean latest_only)
{
    gboolean host = strcmp(name, "host") == 0;
    g_autofree char *who = host ? g_strdup("the host") : g_strdup(name);
    g_autofree char *title = host ? g_strdup("Host") : g_strdup_printf("Guest %s", name);
    JsonObject *decided = momctl_obj_object(o, "decided");
    JsonObject *latest = momctl_obj_object(o, "latest");
    JsonArray *decisions = momctl_obj_array(decided, "decisions");

    if (decided) {
        g_autofree char *when = cycle_when(decided);
        say(0, "%s: last decision in %s", title, when);
        for (guint i = 0; decisions && i < json_array_get_length(decisions); i++) {
            JsonNode *n = json_array_get_element(decisions, i);
            if (JSON_NODE_HOLDS_OBJECT(n))
                print_decision(json_node_get_object(n));
        }
    } else {
        say(0, "%s: no decision is kept in the history.", title);
    }
    if (decided && !(latest_only && latest))
        print_cycle_detail(decided, who, "that cycle");
    if (latest) {
        g_autofree char *ago = latest_ago(latest);
        JsonArray *debug = momctl_obj_array(latest, "debug");
        printf("\n");
        say(0, "%s decided nothing for %s.", ago, who);
        if (latest_only || !decided) {
            print_cycle_detail(latest, who, "the newest cycle");
        } else {
            if (debug && json_array_get_length(debug)) {
                say(0, "Its debug lines:");
                print_debug(debug);
            }
            say(0, "Its inputs: momctl explain %s --latest.", name);
        }
    }
    return MOMCTL_EXIT_OK;
}

int
momctl_cmd_explain(int argc, char **argv)
{
    gboolean json = FALSE, latest = FALSE;
    GOptionEntry entries[] = {
        {"json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the daemon's answer as JSON", NULL},
        {"latest", 'l', 0, G_OPTION_ARG_NONE, &latest,
         "Show the inputs of the newest cycle, not those of the last decision", NULL},
        {NULL},
    };
    g_autoptr(GOptionContext) ctx = momctl_command_context(
        "GUEST|host - explain the last decision about a guest or the host",
        "Shows the last decision momd keeps about GUEST (or the host): when, the\n"
        "control, the value before and the value asked for, the policy line that\n"
        "asked and what the controller did; then what the policies read for it in\n"
        "that cycle (its statistics, the host's, the policy variables and what\n"
        "those were computed from) and the debug lines they wrote for it.  When a\n"
        "later cycle decided nothing, its debug lines say why (getExplanation).",
        entries);
    int status =
        momctl_parse_command(ctx, &argc, &argv, 1, 1, "explain needs a GUEST name, or host.");
    if (status >= 0)
        return status;

    g_autoptr(JsonArray) params = json_array_new();
    json_array_add_string_element(params, argv[1]);
    g_autoptr(JsonNode) result = momctl_call_object("getExplanation", params, &status);
    if (!result)
        return status;
    if (json) {
        momctl_print_json(result);
        return MOMCTL_EXIT_OK;
    }
    return print_explanation(json_node_get_object(result), argv[1], latest);
}
