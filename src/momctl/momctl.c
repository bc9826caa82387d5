/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * momctl: the operator's command line for momd.
 *
 * Most commands call one or a few methods of the daemon's control API
 * (docs/rpc.md) over its unix socket and print the answer for a person,
 * or as JSON with --json.  policy check and policy test work offline, on
 * policy files.  momctl-top.c holds the full-screen view.
 *
 * Exit status: 0 success; 1 the daemon answered with a fault or refused,
 * or a policy error; 2 a usage error or unreadable input; 3 the daemon
 * cannot be reached (not running, permission denied, no valid answer).
 */
#include "config.h"

#include <locale.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "mom-json.h"
#include "mom-log.h"
#include "mom-policy.h"
#include "mom-rpc.h"
#include "mom-state.h"
#include "momctl-priv.h"

#define MOMCTL_DEFAULT_SOCKET "/run/momd/momd.sock"
/* seconds for one call; the daemon's own limit is 10 */
#define MOMCTL_TIMEOUT 15

typedef struct {
    const char *name;
    const char *args;
    const char *summary;
    int (*run)(int argc, char **argv);
} Command;

/* --socket before the command (main) and after it (each command's
 * options); the later one wins. */
static char *global_socket;
static char *command_socket;

static const GOptionEntry socket_entries[] = {
    {"socket", 0, 0, G_OPTION_ARG_FILENAME, &command_socket,
     "momd's control socket (default: $MOMCTL_SOCKET, else /run/momd/momd.sock)", "PATH"},
    {NULL},
};

#define JSON_ENTRY(var)                                                                            \
    {                                                                                              \
        "json", 0, 0, G_OPTION_ARG_NONE, &(var), "Print the daemon's answer as JSON", NULL         \
    }

const char *
momctl_socket_path(void)
{
    const char *env = g_getenv("MOMCTL_SOCKET");

    if (command_socket)
        return command_socket;
    if (global_socket)
        return global_socket;
    return env && *env ? env : MOMCTL_DEFAULT_SOCKET;
}

int
momctl_usage_error(GOptionContext *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    fprintf(stderr, "momctl: %s\n", msg);
    if (ctx)
        fprintf(stderr, "Run '%s --help' for usage.\n", g_get_prgname());
    return MOMCTL_EXIT_USAGE;
}

GOptionContext *
momctl_command_context(const char *params, const char *summary, const GOptionEntry *entries)
{
    GOptionContext *ctx = g_option_context_new(params);

    g_option_context_set_summary(ctx, summary);
    if (entries)
        g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_add_main_entries(ctx, socket_entries, NULL);
    return ctx;
}

int
momctl_parse_command(GOptionContext *ctx, int *argc, char ***argv, int min_args, int max_args,
                     const char *missing)
{
    g_autoptr(GError) error = NULL;

    if (!g_option_context_parse(ctx, argc, argv, &error))
        return momctl_usage_error(ctx, "%s", error->message);
    if (*argc - 1 < min_args)
        return momctl_usage_error(ctx, "%s", missing);
    if (max_args >= 0 && *argc - 1 > max_args)
        return momctl_usage_error(ctx, "unexpected argument '%s'.", (*argv)[1 + max_args]);
    return -1;
}

/* Parses the options of a command that takes no arguments: --socket, and
 * --json into *@json unless @json is NULL.  Returns: as
 * momctl_parse_command(). */
static int
parse_no_args(int *argc, char ***argv, const char *params, const char *summary, gboolean *json)
{
    /* &*json is json itself: nothing is read through a NULL @json */
    GOptionEntry entries[] = {JSON_ENTRY(*json), {NULL}};
    g_autoptr(GOptionContext) ctx = momctl_command_context(params, summary, json ? entries : NULL);

    return momctl_parse_command(ctx, argc, argv, 0, 0, NULL);
}

void
momctl_print_json(JsonNode *node)
{
    /* our writer, not json-glib's: floats keep their shortest exact form */
    g_autofree char *text = mom_json_node_to_string(node);
    printf("%s\n", text);
}

/* ---- calling the daemon ---------------------------------------------------------- */

int
momctl_error_status(const GError *error)
{
    if (error->domain != MOM_RPC_ERROR)
        return MOMCTL_EXIT_UNREACHABLE; /* the client's I/O: a timeout, a reset */
    switch (error->code) {
    case MOM_RPC_FAULT_CONNECT:
    case MOM_RPC_FAULT_CONNECT_DENIED:
    case MOM_RPC_FAULT_PROTOCOL:
    case MOM_RPC_FAULT_UNSAFE:
        return MOMCTL_EXIT_UNREACHABLE;
    default:
        return MOMCTL_EXIT_FAIL; /* a fault the daemon sent */
    }
}

JsonNode *
momctl_call(const char *method, JsonArray *params, GError **error)
{
    g_autoptr(GError) e = NULL;
    /* The call may iterate the thread-default context while it waits;
     * a context of its own keeps it away from momctl top's main loop. */
    g_autoptr(GMainContext) ctx = g_main_context_new();

    g_main_context_push_thread_default(ctx);
    JsonNode *result = mom_rpc_call(momctl_socket_path(), method, params, MOMCTL_TIMEOUT, &e);
    g_main_context_pop_thread_default(ctx);
    if (result)
        return result;
    if (momctl_error_status(e) == MOMCTL_EXIT_FAIL) {
        /* a fault: name the method, unless the daemon already did */
        size_t n = strlen(method);
        if (strncmp(e->message, method, n) != 0 || e->message[n] != ':')
            g_prefix_error(&e, "%s: ", method);
    } else if (e->domain != MOM_RPC_ERROR) {
        g_prefix_error(&e, "%s on %s: ", method, momctl_socket_path());
    }
    g_propagate_error(error, g_steal_pointer(&e));
    return NULL;
}

/* Prints @error as one line.  Returns: the exit status it calls for. */
static int
report(const GError *error)
{
    /* a fault may quote a name the daemon was given */
    g_autofree char *message = mom_log_escape(error->message, MOM_LOG_ESCAPE_LINES);

    fprintf(stderr, "momctl: %s\n", message);
    return momctl_error_status(error);
}

/* momctl_call() that prints its error.  Returns: the result, or NULL with *@status set. */
static JsonNode *
call_or_report(const char *method, JsonArray *params, int *status)
{
    g_autoptr(GError) error = NULL;
    JsonNode *result = momctl_call(method, params, &error);

    if (!result)
        *status = report(error);
    return result;
}

/* Reports an answer that is not of the type the method promises. */
static JsonNode *
unexpected(const char *method, const char *what, int *status)
{
    fprintf(stderr, "momctl: %s: momd answered with something other than %s.\n", method, what);
    *status = MOMCTL_EXIT_FAIL;
    return NULL;
}

JsonNode *
momctl_call_object(const char *method, JsonArray *params, int *status)
{
    g_autoptr(JsonNode) result = call_or_report(method, params, status);

    if (result && !JSON_NODE_HOLDS_OBJECT(result))
        return unexpected(method, "a struct", status);
    return g_steal_pointer(&result);
}

/* Calls a method that answers a boolean.  A plain false carries no reason,
 * so the caller's @refusal sentence is printed, after the method's name; a
 * fault, an answer of another type or a daemon that could not be reached
 * is reported once, by call_or_report() or unexpected().  Returns: TRUE
 * when it answered true; else FALSE with *@status set (to 1 for a plain
 * false). */
static gboolean call_bool(const char *method, JsonArray *params, int *status, const char *refusal,
                          ...) G_GNUC_PRINTF(4, 5);

static gboolean
call_bool(const char *method, JsonArray *params, int *status, const char *refusal, ...)
{
    g_autoptr(JsonNode) result = call_or_report(method, params, status);

    if (result == NULL)
        return FALSE; /* call_or_report() said why, in one line */
    if (!JSON_NODE_HOLDS_VALUE(result) || json_node_get_value_type(result) != G_TYPE_BOOLEAN) {
        unexpected(method, "a boolean", status);
        return FALSE;
    }
    *status = MOMCTL_EXIT_FAIL;
    if (json_node_get_boolean(result))
        return TRUE;

    /* Only a plain false is a refusal: a fault was already printed. */
    va_list ap;
    va_start(ap, refusal);
    g_autofree char *msg = g_strdup_vprintf(refusal, ap);
    va_end(ap);
    fprintf(stderr, "momctl: %s: %s\n", method, msg);
    return FALSE;
}

/* Prints a method's @answer for a person.  Returns: the exit status. */
typedef int (*PrintAnswer)(JsonObject *answer, gpointer data);

/* Calls @method, which answers a struct, and prints the answer: as JSON
 * when @json, else with @print_text, which gets @data.  Returns: the exit
 * status. */
static int
show_answer(const char *method, JsonArray *params, gboolean json, PrintAnswer print_text,
            gpointer data)
{
    int status;
    g_autoptr(JsonNode) result = momctl_call_object(method, params, &status);

    if (!result)
        return status;
    if (json) {
        momctl_print_json(result);
        return MOMCTL_EXIT_OK;
    }
    return print_text(json_node_get_object(result), data);
}

/* A whole command that takes no arguments, only --json, and shows the
 * answer of @method.  Returns: the exit status. */
static int
show_command(int argc, char **argv, const char *params, const char *summary, const char *method,
             PrintAnswer print_text)
{
    gboolean json = FALSE;
    int status = parse_no_args(&argc, &argv, params, summary, &json);

    if (status >= 0)
        return status;
    return show_answer(method, NULL, json, print_text, NULL);
}

/* ---- reading the answers --------------------------------------------------------- */

JsonObject *
momctl_obj_object(JsonObject *o, const char *member)
{
    JsonNode *n = o ? json_object_get_member(o, member) : NULL;
    return n && JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
}

const char *
momctl_obj_string(JsonObject *o, const char *member)
{
    JsonNode *n = o ? json_object_get_member(o, member) : NULL;

    if (n && JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING)
        return json_node_get_string(n);
    return NULL;
}

gboolean
momctl_node_number(JsonNode *n, double *out)
{
    if (!n || !JSON_NODE_HOLDS_VALUE(n))
        return FALSE;
    switch (json_node_get_value_type(n)) {
    case G_TYPE_INT64:
        *out = (double)json_node_get_int(n);
        return TRUE;
    case G_TYPE_DOUBLE:
        *out = json_node_get_double(n);
        return TRUE;
    case G_TYPE_BOOLEAN:
        *out = json_node_get_boolean(n);
        return TRUE;
    default:
        return FALSE;
    }
}

gboolean
momctl_obj_number(JsonObject *o, const char *member, double *out)
{
    return momctl_node_number(o ? json_object_get_member(o, member) : NULL, out);
}

/* Like momctl_obj_object(), for an array member. */
JsonArray *
momctl_obj_array(JsonObject *o, const char *member)
{
    JsonNode *n = o ? json_object_get_member(o, member) : NULL;
    return n && JSON_NODE_HOLDS_ARRAY(n) ? json_node_get_array(n) : NULL;
}

/* @d as the shortest text that reads back the same, integers without ".0" */
static char *
format_number(double d)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE];

    if (d == floor(d) && fabs(d) < 1e15)
        return g_strdup_printf("%.0f", d);
    return g_strdup(mom_format_double(d, buf));
}

char *
momctl_node_text(JsonNode *n)
{
    if (!n || JSON_NODE_HOLDS_NULL(n))
        return g_strdup("-");
    if (JSON_NODE_HOLDS_VALUE(n)) {
        switch (json_node_get_value_type(n)) {
        case G_TYPE_INT64:
            return g_strdup_printf("%" G_GINT64_FORMAT, json_node_get_int(n));
        case G_TYPE_DOUBLE:
            return format_number(json_node_get_double(n));
        case G_TYPE_BOOLEAN:
            return g_strdup(json_node_get_boolean(n) ? "true" : "false");
        case G_TYPE_STRING:
            return g_strdup(json_node_get_string(n));
        default:
            break;
        }
    }
    return json_to_string(n, FALSE);
}

char *
momctl_format_size(double kib)
{
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
    double v = kib;
    guint u = 0;

    if (isnan(kib))
        return g_strdup("-");
    /* at most three significant digits, rounded before the unit is
     * chosen, so that 1023.7 KiB is 1 MiB and not 1024 KiB */
    for (;;) {
        double shown = u > 0 && fabs(v) < 9.95 ? round(v * 10) / 10 : round(v);
        if (fabs(shown) < 1000 || u + 1 == G_N_ELEMENTS(units)) {
            if (shown != floor(shown))
                return g_strdup_printf("%.1f %s", shown, units[u]);
            return g_strdup_printf("%.0f %s", shown, units[u]);
        }
        v /= 1024;
        u++;
    }
}

gboolean
momctl_field_is_kib(const char *name)
{
    /* the statistics and controls the collectors and the Balloon
     * controller give in KiB (docs/policy-language.md) */
    static const char *const kib[] = {
        "balloon_cur",
        "balloon_max",
        "balloon_min",
        "balloon_target",
        "mem_available",
        "mem_unused",
        "mem_free",
        "mem_usable",
        "mem_avail_real",
        "anon_pages",
        "swap_total",
        "swap_usage",
        "rss",
        "disk_caches",
        "ksm_shareable",
        "ksm_mergeable",
        "ksm_mergeable_added",
    };
    for (guint i = 0; i < G_N_ELEMENTS(kib); i++)
        if (strcmp(name, kib[i]) == 0)
            return TRUE;
    return FALSE;
}

char *
momctl_format_value(const char *name, JsonNode *n)
{
    double d;

    if (name && momctl_field_is_kib(name) && momctl_node_number(n, &d))
        return momctl_format_size(d);
    if (n && JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_DOUBLE) {
        /* a float a policy computed (1494220.7999999998): rounded */
        d = json_node_get_double(n);
        if (d != floor(d))
            return fabs(d) >= 100 ? g_strdup_printf("%.0f", d) : g_strdup_printf("%.3g", d);
    }
    return momctl_node_text(n);
}

int
momctl_output_width(void)
{
    struct winsize ws;
    const char *env = g_getenv("COLUMNS");
    gint64 cols;

    if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col)
        return ws.ws_col;
    if (env && (cols = g_ascii_strtoll(env, NULL, 10)) >= 20 && cols <= 10000)
        return (int)cols;
    return 80;
}

char *
momctl_format_duration(gint64 s)
{
    if (s < 0)
        return g_strdup("-");
    if (s < 60)
        return g_strdup_printf("%" G_GINT64_FORMAT "s", s);
    if (s < 3600)
        return g_strdup_printf("%" G_GINT64_FORMAT "min %02" G_GINT64_FORMAT "s", s / 60, s % 60);
    if (s < 86400)
        return g_strdup_printf("%" G_GINT64_FORMAT "h %02" G_GINT64_FORMAT "min", s / 3600,
                               s % 3600 / 60);
    return g_strdup_printf("%" G_GINT64_FORMAT "d %" G_GINT64_FORMAT "h", s / 86400,
                           s % 86400 / 3600);
}

char *
momctl_format_age(double seconds)
{
    /* libvirt's last_update of a guest that never reported is 0, decades
     * ago: an age beyond a year is no age */
    if (isnan(seconds) || seconds < 0 || seconds > 365.0 * 86400)
        return g_strdup("unknown");
    return momctl_format_duration((gint64)seconds);
}

static char *
size_of(JsonObject *o, const char *member)
{
    double kib;
    return momctl_obj_number(o, member, &kib) ? momctl_format_size(kib) : g_strdup("-");
}

/* ---- tables ---------------------------------------------------------------------- */

struct _MomctlTable {
    guint n_columns;
    char *align;
    GPtrArray *cells; /* n_columns per row, the header first */
    guint *shrink;    /* per column: the narrowest it may be cut to; 0: never cut */
    guint width;      /* fit into this many columns; 0: no limit */
    gboolean drop;    /* past the cuts, leave out columns from the right */
    guint dropped;    /* columns left out by the last render */
};

MomctlTable *
momctl_table_new(const char *align, const char *const *heads)
{
    MomctlTable *t = g_new0(MomctlTable, 1);

    t->n_columns = strlen(align);
    t->align = g_strdup(align);
    t->shrink = g_new0(guint, t->n_columns);
    t->cells = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < t->n_columns; i++)
        g_ptr_array_add(t->cells, g_strdup(heads[i]));
    return t;
}

void
momctl_table_free(MomctlTable *t)
{
    if (!t)
        return;
    g_ptr_array_unref(t->cells);
    g_free(t->align);
    g_free(t->shrink);
    g_free(t);
}

void
momctl_table_add_row(MomctlTable *t, char **cells)
{
    /* Cells hold guest and policy names: one row stays one line, and
     * nothing in it reaches the terminal as a control sequence. */
    for (guint i = 0; i < t->n_columns; i++) {
        g_ptr_array_add(t->cells, mom_log_escape(cells[i], MOM_LOG_ESCAPE_NAME));
        g_free(cells[i]);
    }
}

void
momctl_table_shrink(MomctlTable *t, guint column, guint min_width)
{
    g_return_if_fail(column < t->n_columns);
    t->shrink[column] = MAX(min_width, 2);
}

void
momctl_table_fit(MomctlTable *t, guint width, gboolean drop)
{
    t->width = width;
    t->drop = drop;
}

guint
momctl_table_dropped(MomctlTable *t)
{
    return t->dropped;
}

/* The columns @c takes on a terminal: 2 for a wide (East Asian)
 * character, 0 for a combining one, else 1. */
static glong
char_columns(gunichar c)
{
    if (g_unichar_iszerowidth(c))
        return 0;
    return g_unichar_iswide(c) ? 2 : 1;
}

glong
momctl_text_columns(const char *text)
{
    glong n = 0;

    for (const char *p = text; *p; p = g_utf8_next_char(p))
        n += char_columns(g_utf8_get_char(p));
    return n;
}

/* The longest start of @text that takes at most @columns columns. */
static char *
head_of(const char *text, glong columns)
{
    const char *p = text;
    glong n = 0;

    while (*p) {
        glong w = char_columns(g_utf8_get_char(p));
        if (n + w > columns)
            break;
        n += w;
        p = g_utf8_next_char(p);
    }
    /* combining marks stay with their letter */
    while (*p && char_columns(g_utf8_get_char(p)) == 0)
        p = g_utf8_next_char(p);
    return g_strndup(text, p - text);
}

/* The ellipsis that ends a cut cell: "…" where the terminal takes UTF-8,
 * else "~". */
static const char *
ellipsis(void)
{
    return g_get_charset(NULL) ? "…" : "~";
}

/* @cell cut to @width columns, its last one an ellipsis. */
static char *
cut_cell(const char *cell, glong width)
{
    if (momctl_text_columns(cell) <= width)
        return g_strdup(cell);
    g_autofree char *head = head_of(cell, width - 1);
    return g_strconcat(head, ellipsis(), NULL);
}

/* The columns' widths once the table fits t->width: cut columns may give
 * up to their minimum, widest first; then, with t->drop, columns on the
 * right are left out (*@shown of them stay). */
static void
fit_widths(MomctlTable *t, glong *width, guint *shown)
{
    glong total = 0;

    *shown = t->n_columns;
    for (guint c = 0; c < t->n_columns; c++)
        total += width[c] + (c ? 2 : 0);
    while (t->width && total > (glong)t->width) {
        guint best = t->n_columns;
        for (guint c = 0; c < *shown; c++)
            if (t->shrink[c] && width[c] > (glong)t->shrink[c] &&
                (best == t->n_columns || width[c] > width[best]))
                best = c;
        if (best == t->n_columns)
            break;
        glong give = MIN(total - (glong)t->width, width[best] - (glong)t->shrink[best]);
        /* one at a time among equals, so that two long names share the cut */
        for (guint c = 0; c < *shown; c++)
            if (c != best && t->shrink[c] && width[c] > (glong)t->shrink[c])
                give = MIN(give, MAX(width[best] - width[c], 1));
        width[best] -= give;
        total -= give;
    }
    while (t->drop && t->width && total > (glong)t->width && *shown > 1) {
        (*shown)--;
        total -= width[*shown] + 2;
    }
}

GPtrArray *
momctl_table_render(MomctlTable *t)
{
    GPtrArray *lines = g_ptr_array_new_with_free_func(g_free);
    guint n_rows = t->cells->len / t->n_columns;
    g_autofree glong *width = g_new0(glong, t->n_columns);
    guint shown;

    for (guint k = 0; k < t->cells->len; k++)
        width[k % t->n_columns] =
            MAX(width[k % t->n_columns], momctl_text_columns(t->cells->pdata[k]));
    fit_widths(t, width, &shown);
    t->dropped = t->n_columns - shown;
    for (guint r = 0; r < n_rows; r++) {
        GString *line = g_string_new(NULL);
        for (guint c = 0; c < shown; c++) {
            g_autofree char *cell = cut_cell(t->cells->pdata[r * t->n_columns + c], width[c]);
            glong pad = width[c] - momctl_text_columns(cell);
            gboolean last = c + 1 == shown;
            if (c)
                g_string_append(line, "  ");
            if (t->align[c] == 'r')
                for (glong i = 0; i < pad; i++)
                    g_string_append_c(line, ' ');
            g_string_append(line, cell);
            if (t->align[c] != 'r' && !last)
                for (glong i = 0; i < pad; i++)
                    g_string_append_c(line, ' ');
        }
        /* a last column that is empty leaves no trailing blanks */
        while (line->len && line->str[line->len - 1] == ' ')
            g_string_truncate(line, line->len - 1);
        g_ptr_array_add(lines, g_string_free(line, FALSE));
    }
    return lines;
}

char *
momctl_truncate(const char *line, guint width)
{
    if (width == 0 || momctl_text_columns(line) <= (glong)width)
        return g_strdup(line);
    return head_of(line, width);
}

static void
print_table(MomctlTable *t)
{
    guint width = (guint)momctl_output_width();

    momctl_table_fit(t, width, FALSE);
    g_autoptr(GPtrArray) lines = momctl_table_render(t);
    /* when even the columns that cannot be cut are wider, the lines are */
    for (guint i = 0; i < lines->len; i++) {
        g_autofree char *line = momctl_truncate(lines->pdata[i], width);
        printf("%s\n", line);
    }
}

/* Prints @text, with a newline after it when it lacks one. */
static void
put_line(FILE *f, const char *text)
{
    fputs(text, f);
    if (!g_str_has_suffix(text, "\n"))
        fputc('\n', f);
}

/* The names of @o's members, sorted.  Returns: (transfer container) */
static GList *
sorted_members(JsonObject *o)
{
    return o ? g_list_sort(json_object_get_members(o), (GCompareFunc)strcmp) : NULL;
}

/* ---- policy files, offline --------------------------------------------------------- */

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
        return momctl_usage_error(ctx, "%s", error->message);
    if (argc < 2)
        return momctl_usage_error(ctx, "policy check needs at least one policy file or directory.");

    g_autoptr(GPtrArray) diags =
        g_ptr_array_new_with_free_func((GDestroyNotify)mom_policy_diag_free);
    g_autoptr(MomPolicySet) set = load_paths(argv + 1, diags);
    if (!set)
        return MOMCTL_EXIT_USAGE;
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
    return diags->len ? MOMCTL_EXIT_FAIL : MOMCTL_EXIT_OK;
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
        return momctl_usage_error(ctx, "%s", error->message);
    g_autofree char *state_owned = state_path;
    if (argc < 2)
        return momctl_usage_error(ctx, "policy test needs at least one policy file or directory.");
    if (!state_path)
        return momctl_usage_error(ctx, "policy test needs --state STATE.json.");
    if (max_steps < 0 || max_depth < 0 || max_depth > G_MAXUINT)
        return momctl_usage_error(ctx,
                                  "--max-steps and --max-depth must not be negative (0 means the "
                                  "default).");

    g_autoptr(MomState) state = mom_state_load_file(state_path, &error);
    if (!state) {
        fprintf(stderr, "momctl: %s\n", error->message);
        return MOMCTL_EXIT_USAGE;
    }
    g_autoptr(GPtrArray) diags =
        g_ptr_array_new_with_free_func((GDestroyNotify)mom_policy_diag_free);
    g_autoptr(MomPolicySet) set = load_paths(argv + 1, diags);
    if (!set)
        return MOMCTL_EXIT_USAGE;
    MomPolicyLimits limits = {(guint)max_depth, (guint64)max_steps};
    mom_policy_set_set_limits(set, &limits);

    g_autoptr(MomPolicyRun) run =
        mom_policy_set_evaluate(set, state->host, state->guests, MOM_POLICY_EVAL_KEEP_DEBUG);
    g_autofree char *report =
        json ? mom_state_report_json(state, run, diags) : mom_state_report_text(state, run, diags);
    fputs(report, stdout);
    return (run->ok && run->errors->len == 0 && diags->len == 0) ? MOMCTL_EXIT_OK
                                                                 : MOMCTL_EXIT_FAIL;
}

/* ---- momctl ping, status --------------------------------------------------------- */

static int
cmd_ping(int argc, char **argv)
{
    gboolean json = FALSE;
    int status = parse_no_args(&argc, &argv, "- check that momd answers",
                               "Calls ping and says how long momd took to answer.", &json);
    if (status >= 0)
        return status;

    gint64 start = g_get_monotonic_time();
    g_autoptr(JsonNode) result = call_or_report("ping", NULL, &status);
    if (!result)
        return status;
    if (json)
        momctl_print_json(result);
    else
        printf("momd answered on %s in %.1f ms.\n", momctl_socket_path(),
               (g_get_monotonic_time() - start) / 1000.0);
    return MOMCTL_EXIT_OK;
}

/* "2026-11-22 00:31:05 (3s ago)" for an ISO 8601 time from the daemon */
char *
momctl_format_time_ago(const char *iso)
{
    g_autoptr(GDateTime) t = iso ? g_date_time_new_from_iso8601(iso, NULL) : NULL;

    if (!t)
        return g_strdup(iso ? iso : "-");
    g_autoptr(GDateTime) local = g_date_time_to_local(t);
    g_autoptr(GDateTime) now = g_date_time_new_now_local();
    g_autofree char *when = g_date_time_format(local, "%Y-%m-%d %H:%M:%S");
    g_autofree char *ago =
        momctl_format_duration(MAX(0, g_date_time_difference(now, t) / G_USEC_PER_SEC));
    return g_strdup_printf("%s (%s ago)", when, ago);
}

/* getStatus's ksm struct as "run 1, sharing 1200 pages (4.7 MiB), ..." */
static char *
format_ksm(JsonObject *ksm)
{
    double run, sharing, scan, sleep_ms;
    g_autoptr(GString) s = g_string_new(NULL);

    if (!ksm || json_object_get_size(ksm) == 0)
        return g_strdup("not monitored (no HostKSM collector)");
    if (momctl_obj_number(ksm, "run", &run))
        g_string_append_printf(s, "run %.0f (%s)", run,
                               run == 1   ? "merging"
                               : run == 2 ? "unmerging"
                                          : "stopped");
    else
        g_string_append(s, "run -");
    if (momctl_obj_number(ksm, "pages_sharing", &sharing)) {
        g_autofree char *size = momctl_format_size(sharing * (sysconf(_SC_PAGESIZE) / 1024));
        g_string_append_printf(s, ", sharing %.0f pages (%s)", sharing, size);
    }
    if (momctl_obj_number(ksm, "pages_to_scan", &scan))
        g_string_append_printf(s, ", pages_to_scan %.0f", scan);
    if (momctl_obj_number(ksm, "sleep_millisecs", &sleep_ms))
        g_string_append_printf(s, ", sleep %.0f ms", sleep_ms);
    return g_string_free(g_steal_pointer(&s), FALSE);
}

/* getStatus's answer @o as one labelled line per aspect. */
static int
print_status(JsonObject *o, gpointer data G_GNUC_UNUSED)
{
    double pid = 0, uptime = -1, guests = 0, ready = 0, number = 0, errors = 0;
    momctl_obj_number(o, "pid", &pid);
    momctl_obj_number(o, "uptime", &uptime);
    momctl_obj_number(o, "guests", &guests);
    momctl_obj_number(o, "guests_ready", &ready);
    const char *version = momctl_obj_string(o, "version");
    printf("momd %s is running on %s\n", version ? version : "(unknown version)",
           momctl_socket_path());

    g_autofree char *up = momctl_format_duration((gint64)uptime);
    printf("%12s %.0f\n", "PID:", pid);
    printf("%12s %s\n", "Uptime:", up);

    JsonObject *libvirt = momctl_obj_object(o, "libvirt");
    double connected = 0;
    momctl_obj_number(libvirt, "connected", &connected);
    const char *uri = momctl_obj_string(libvirt, "uri");
    printf("%12s %s (%s)\n", "Libvirt:", uri ? uri : "-",
           connected ? "connected" : "not connected");
    printf("%12s %.0f (%.0f ready)\n", "Guests:", guests, ready);

    JsonArray *pa = momctl_obj_array(o, "policies");
    g_autoptr(GString) policies = g_string_new(NULL);
    guint n_policies = pa ? json_array_get_length(pa) : 0;
    for (guint i = 0; i < n_policies; i++) {
        g_autofree char *name = momctl_node_text(json_array_get_element(pa, i));
        g_string_append_c(policies, ' ');
        mom_log_escape_append(policies, name, -1, MOM_LOG_ESCAPE_NAME);
    }
    printf("%12s %u loaded%s%s\n", "Policies:", n_policies, n_policies ? ":" : "", policies->str);
    JsonArray *problems = momctl_obj_array(o, "policy_problems");
    for (guint i = 0; problems && i < json_array_get_length(problems); i++) {
        g_autofree char *text = momctl_node_text(json_array_get_element(problems, i));
        printf("%12s %s\n", "Warning:", text);
    }

    JsonObject *intervals = momctl_obj_object(o, "intervals");
    g_autoptr(GString) iv = g_string_new(NULL);
    g_autoptr(GList) names = intervals ? json_object_get_members(intervals) : NULL;
    for (GList *l = names; l; l = l->next) {
        g_autofree char *v = momctl_node_text(json_object_get_member(intervals, l->data));
        g_string_append_printf(iv, "%s%s %ss", iv->len ? ", " : "", (char *)l->data, v);
    }
    printf("%12s %s\n", "Intervals:", iv->len ? iv->str : "-");

    g_autofree char *ksm = format_ksm(momctl_obj_object(o, "ksm"));
    printf("%12s %s\n", "KSM:", ksm);

    JsonObject *cycle = momctl_obj_object(o, "last_cycle");
    momctl_obj_number(cycle, "number", &number);
    momctl_obj_number(cycle, "errors", &errors);
    double ok = 0;
    momctl_obj_number(cycle, "ok", &ok);
    if (number == 0) {
        printf("%12s none yet\n", "Last cycle:");
    } else {
        g_autofree char *when = momctl_format_time_ago(momctl_obj_string(cycle, "time"));
        printf("%12s #%.0f at %s: %s, %.0f %s\n", "Last cycle:", number, when, ok ? "ok" : "failed",
               errors, errors == 1 ? "error" : "errors");
    }
    double dry_run = 0;
    momctl_obj_number(o, "dry_run", &dry_run);
    printf("%12s %s\n", "Dry run:", dry_run ? "yes (controls are computed, not applied)" : "no");
    const char *verbosity = momctl_obj_string(o, "verbosity");
    printf("%12s %s\n", "Verbosity:", verbosity ? verbosity : "-");
    return MOMCTL_EXIT_OK;
}

static int
cmd_status(int argc, char **argv)
{
    return show_command(
        argc, argv, "- show the daemon's state",
        "Shows momd's version, pid, uptime, policies, intervals, libvirt connection,\n"
        "guests, KSM state and the last policy cycle (getStatus).",
        "getStatus", print_status);
}

/* ---- momctl guests, stats ---------------------------------------------------------- */

static int
cmd_guests(int argc, char **argv)
{
    gboolean json = FALSE;
    int status =
        parse_no_args(&argc, &argv, "- list the guests momd manages",
                      "Lists each guest with its balloon (current, maximum, minimum), the memory\n"
                      "it can give up (usable) and leaves unused, how old its statistics are,\n"
                      "and whether its balloon stopped cooperating.  Sizes take the binary\n"
                      "prefix that suits them; --json gives KiB.",
                      &json);
    if (status >= 0)
        return status;

    g_autoptr(JsonNode) stats = momctl_call_object("getStatistics", NULL, &status);
    if (!stats)
        return status;
    JsonObject *guests = momctl_obj_object(json_node_get_object(stats), "guests");
    g_autoptr(GList) names = sorted_members(guests);
    g_autoptr(JsonBuilder) b = json_builder_new();
    static const char *const heads[] = {"NAME",   "CUR",    "MAX", "MIN",
                                        "USABLE", "UNUSED", "AGE", "UNCOOP"};
    g_autoptr(MomctlTable) t = momctl_table_new("lrrrrrrl", heads);
    momctl_table_shrink(t, 0, 8);

    json_builder_begin_object(b);
    for (GList *l = names; l; l = l->next) {
        const char *name = l->data;
        JsonObject *sample = momctl_obj_object(guests, name);
        g_autoptr(GError) error = NULL;
        g_autoptr(JsonArray) params = json_array_new();
        json_array_add_string_element(params, name);
        /* the guest may have gone between the two calls: its row stays */
        g_autoptr(JsonNode) detail = momctl_call("getGuestStatistics", params, &error);
        if (!detail && momctl_error_status(error) == MOMCTL_EXIT_UNREACHABLE)
            return report(error);
        JsonNode *props_node =
            detail && JSON_NODE_HOLDS_OBJECT(detail)
                ? json_object_get_member(json_node_get_object(detail), "properties")
                : NULL;
        JsonObject *props = props_node && JSON_NODE_HOLDS_OBJECT(props_node)
                                ? json_node_get_object(props_node)
                                : NULL;

        json_builder_set_member_name(b, name);
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "statistics");
        json_builder_add_value(b, json_node_copy(json_object_get_member(guests, name)));
        json_builder_set_member_name(b, "properties");
        if (props)
            json_builder_add_value(b, json_node_copy(props_node));
        else
            json_builder_add_null_value(b);
        json_builder_end_object(b);

        double age, uncoop;
        char *cells[8] = {
            g_strdup(name),
            size_of(sample, "balloon_cur"),
            size_of(sample, "balloon_max"),
            size_of(sample, "balloon_min"),
            size_of(sample, "mem_usable"),
            size_of(sample, "mem_unused"),
            momctl_obj_number(sample, "stats_age", &age) ? momctl_format_age(age) : g_strdup("-"),
            momctl_obj_number(props, "balloon_uncooperative", &uncoop)
                ? g_strdup(uncoop ? "yes" : "no")
                : g_strdup("-"),
        };
        momctl_table_add_row(t, cells);
    }
    json_builder_end_object(b);
    if (json) {
        g_autoptr(JsonNode) root = json_builder_get_root(b);
        momctl_print_json(root);
    } else if (!names) {
        printf("momd manages no guests.\n");
    } else {
        print_table(t);
    }
    return MOMCTL_EXIT_OK;
}

/* getStatistics' answer: the host's newest sample, one "name  value" line
 * per statistic. */
static int
print_host_stats(JsonObject *answer, gpointer data G_GNUC_UNUSED)
{
    JsonObject *o = momctl_obj_object(answer, "host");
    g_autoptr(GList) names = o ? json_object_get_members(o) : NULL;
    static const char *const heads[] = {"STATISTIC", "VALUE"};
    g_autoptr(MomctlTable) t = momctl_table_new("ll", heads);

    for (GList *l = names; l; l = l->next) {
        char *cells[2] = {g_strdup(l->data),
                          momctl_format_value(l->data, json_object_get_member(o, l->data))};
        momctl_table_add_row(t, cells);
    }
    momctl_table_fit(t, (guint)momctl_output_width(), FALSE);
    g_autoptr(GPtrArray) lines = momctl_table_render(t);
    /* without the header: it is a list, not a table */
    for (guint i = 1; i < lines->len; i++)
        printf("%s\n", (char *)lines->pdata[i]);
    return MOMCTL_EXIT_OK;
}

static int
stat_priority(const char *name)
{
    static const char *const first[] = {"balloon_cur", "balloon_max",   "balloon_min", "mem_usable",
                                        "mem_unused",  "mem_available", "rss"};
    for (guint i = 0; i < G_N_ELEMENTS(first); i++)
        if (strcmp(name, first[i]) == 0)
            return (int)i;
    return G_N_ELEMENTS(first);
}

/* g_ptr_array_sort() is stable: the others keep the sample's order */
static gint
compare_stat_priority(gconstpointer a, gconstpointer b)
{
    return stat_priority(*(const char *const *)a) - stat_priority(*(const char *const *)b);
}

/* "  Properties: a=1 b=2 ..." wrapped at the output width, the items of
 * the following lines under the first. */
static void
print_wrapped(const char *label, GPtrArray *items)
{
    glong width = momctl_output_width(), indent = 13;
    g_autoptr(GString) line = g_string_new(NULL);

    g_string_printf(line, "%12s", label);
    if (items->len == 0)
        g_string_append(line, " none");
    for (guint i = 0; i < items->len; i++) {
        const char *item = items->pdata[i];
        if (momctl_text_columns(line->str) > indent &&
            momctl_text_columns(line->str) + 1 + momctl_text_columns(item) > width) {
            printf("%s\n", line->str);
            g_string_printf(line, "%*s", (int)(indent - 1), "");
        }
        g_string_append_printf(line, " %s", item);
    }
    printf("%s\n", line->str);
}

/* What momctl stats GUEST shows: the guest, and the statistics asked for
 * (NULL: all). */
typedef struct {
    const char *name;
    char **fields;
} GuestQuery;

/* getGuestStatistics' answer @o: the guest's properties and variables,
 * then its samples as a table. */
static int
print_guest_stats(JsonObject *o, gpointer data)
{
    const GuestQuery *q = data;
    g_autofree char *name = mom_log_escape(q->name, MOM_LOG_ESCAPE_NAME);
    char **fields = q->fields;
    JsonObject *props = momctl_obj_object(o, "properties");
    JsonObject *vars = momctl_obj_object(o, "variables");
    JsonArray *samples = momctl_obj_array(o, "samples");
    guint n = samples ? json_array_get_length(samples) : 0;

    /* columns: the fields asked for, else those of the newest sample */
    g_autoptr(GPtrArray) cols = g_ptr_array_new();
    JsonNode *newest = n ? json_array_get_element(samples, n - 1) : NULL;
    g_autoptr(GList) members = newest && JSON_NODE_HOLDS_OBJECT(newest)
                                   ? json_object_get_members(json_node_get_object(newest))
                                   : NULL;
    for (char **f = fields; f && *f; f++) {
        if (n && !g_list_find_custom(members, *f, (GCompareFunc)strcmp)) {
            g_autofree char *field = mom_log_escape(*f, MOM_LOG_ESCAPE_NAME);
            fprintf(stderr, "momctl: guest %s has no statistic '%s'.\n", name, field);
            return MOMCTL_EXIT_USAGE;
        }
        g_ptr_array_add(cols, *f);
    }
    if (!fields) {
        for (GList *l = members; l; l = l->next)
            g_ptr_array_add(cols, l->data);
        /* the balloon first: what fits a narrow terminal should be it */
        g_ptr_array_sort(cols, compare_stat_priority);
    }

    printf("Guest %s\n", name);
    for (int k = 0; k < 2; k++) {
        JsonObject *table = k ? vars : props;
        g_autoptr(GList) names = sorted_members(table);
        g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func(g_free);
        for (GList *l = names; l; l = l->next) {
            /* a monotonic clock reading means nothing here (--json has it) */
            if (!k && strcmp(l->data, "sampled_at") == 0)
                continue;
            g_autofree char *v =
                momctl_format_value(l->data, json_object_get_member(table, l->data));
            g_autofree char *item = g_strdup_printf("%s=%s", (char *)l->data, v);
            g_ptr_array_add(items, mom_log_escape(item, MOM_LOG_ESCAPE_NAME));
        }
        print_wrapped(k ? "Variables:" : "Properties:", items);
    }
    if (n == 0) {
        printf("No samples yet.\n");
        return MOMCTL_EXIT_OK;
    }
    printf("%u %s, the oldest first:\n", n, n == 1 ? "sample" : "samples");
    g_autofree char *align = g_strnfill(cols->len + 1, 'r');
    g_ptr_array_insert(cols, 0, (gpointer) "#");
    g_ptr_array_add(cols, NULL);
    g_autoptr(MomctlTable) t = momctl_table_new(align, (const char *const *)cols->pdata);
    for (guint k = 0; k < n; k++) {
        JsonNode *sample = json_array_get_element(samples, k);
        JsonObject *so = JSON_NODE_HOLDS_OBJECT(sample) ? json_node_get_object(sample) : NULL;
        g_autofree char **cells = g_new0(char *, cols->len);
        cells[0] = g_strdup_printf("%u", k + 1);
        for (guint c = 1; c + 1 < cols->len; c++)
            cells[c] = momctl_format_value(cols->pdata[c],
                                           so ? json_object_get_member(so, cols->pdata[c]) : NULL);
        momctl_table_add_row(t, cells);
    }
    momctl_table_fit(t, (guint)momctl_output_width(), TRUE);
    g_autoptr(GPtrArray) lines = momctl_table_render(t);
    for (guint i = 0; i < lines->len; i++)
        printf("%s\n", (char *)lines->pdata[i]);
    guint dropped = momctl_table_dropped(t);
    if (dropped)
        printf("%u more %s not shown: choose with --fields, or widen the terminal.\n", dropped,
               dropped == 1 ? "statistic" : "statistics");
    return MOMCTL_EXIT_OK;
}

static int
cmd_stats(int argc, char **argv)
{
    gboolean json = FALSE;
    char *fields = NULL;
    GOptionEntry entries[] = {
        JSON_ENTRY(json),
        {"fields", 'f', 0, G_OPTION_ARG_STRING, &fields,
         "With GUEST: only these statistics, comma-separated", "LIST"},
        {NULL},
    };
    g_autoptr(GOptionContext) ctx = momctl_command_context(
        "[GUEST] - show statistics",
        "Without GUEST, shows the host's newest sample (getStatistics).  With GUEST,\n"
        "shows the guest's properties, variables and its whole sample history,\n"
        "the oldest sample first (getGuestStatistics).",
        entries);
    int status = momctl_parse_command(ctx, &argc, &argv, 0, 1, NULL);
    g_autofree char *fields_owned = fields;
    if (status >= 0)
        return status;
    if (fields && argc < 2)
        return momctl_usage_error(ctx, "--fields needs a GUEST.");

    if (argc < 2)
        return show_answer("getStatistics", NULL, json, print_host_stats, NULL);
    g_auto(GStrv) list = fields ? g_strsplit(fields, ",", -1) : NULL;
    GuestQuery q = {argv[1], list};
    g_autoptr(JsonArray) params = json_array_new();
    json_array_add_string_element(params, argv[1]);
    return show_answer("getGuestStatistics", params, json, print_guest_stats, &q);
}

/* ---- momctl controls --------------------------------------------------------------- */

/* "/etc/momd/policies/20-ksm.policy:126:17" → "20-ksm:126". */
char *
momctl_policy_of(const char *origin)
{
    if (!origin)
        return g_strdup("-");
    g_auto(GStrv) parts = g_strsplit(origin, ":", -1);
    guint n = g_strv_length(parts);
    if (n < 3)
        return g_strdup(origin);
    /* file:line:col, the file itself possibly holding colons */
    g_autofree char *file = g_strjoinv(":", (char **)parts);
    file[strlen(file) - strlen(parts[n - 1]) - strlen(parts[n - 2]) - 2] = '\0';
    g_autofree char *base = g_path_get_basename(file);
    if (g_str_has_suffix(base, ".policy"))
        base[strlen(base) - strlen(".policy")] = '\0';
    return g_strdup_printf("%s:%s", base, parts[n - 2]);
}

static void
add_control_rows(MomctlTable *t, const char *entity, JsonObject *controls)
{
    g_autoptr(GList) names = sorted_members(controls);

    for (GList *l = names; l; l = l->next) {
        JsonObject *c = momctl_obj_object(controls, l->data);
        const char *outcome = momctl_obj_string(c, "outcome");
        char *cells[5] = {
            g_strdup(entity),
            g_strdup(l->data),
            momctl_format_value(l->data, c ? json_object_get_member(c, "value") : NULL),
            momctl_policy_of(momctl_obj_string(c, "origin")),
            g_strdup(outcome ? outcome : "-"),
        };
        momctl_table_add_row(t, cells);
    }
}

/* getControls' answer @o: a table of the controls, then the errors. */
static int
print_controls(JsonObject *o, gpointer data G_GNUC_UNUSED)
{
    double cycle = 0, ok = 0;
    momctl_obj_number(o, "cycle", &cycle);
    momctl_obj_number(o, "ok", &ok);
    if (cycle == 0) {
        printf("No policy cycle has run yet.\n");
        return MOMCTL_EXIT_OK;
    }
    g_autofree char *when = momctl_format_time_ago(momctl_obj_string(o, "time"));
    printf("Cycle %.0f at %s: %s\n\n", cycle, when, ok ? "ok" : "failed");

    static const char *const heads[] = {"ENTITY", "CONTROL", "VALUE", "POLICY", "OUTCOME"};
    g_autoptr(MomctlTable) t = momctl_table_new("llrll", heads);
    momctl_table_shrink(t, 0, 8);
    momctl_table_shrink(t, 1, 12);
    momctl_table_shrink(t, 3, 10);
    momctl_table_shrink(t, 4, 12);
    JsonObject *guests = momctl_obj_object(o, "guests");
    g_autoptr(GList) names = sorted_members(guests);
    g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func(g_free);

    add_control_rows(t, "host", momctl_obj_object(o, "host"));
    for (GList *l = names; l; l = l->next) {
        JsonObject *g = momctl_obj_object(guests, l->data);
        const char *error = momctl_obj_string(g, "error");
        add_control_rows(t, l->data, momctl_obj_object(g, "controls"));
        if (error) {
            g_autofree char *guest = mom_log_escape(l->data, MOM_LOG_ESCAPE_NAME);
            g_ptr_array_add(errors, g_strdup_printf("guest %s: %s", guest, error));
        }
    }
    JsonArray *a = momctl_obj_array(o, "errors");
    for (guint i = 0; a && i < json_array_get_length(a); i++)
        g_ptr_array_add(errors, momctl_node_text(json_array_get_element(a, i)));
    g_autoptr(GPtrArray) lines = momctl_table_render(t);
    if (lines->len > 1)
        print_table(t);
    else
        printf("The policies set no controls.\n");
    if (errors->len) {
        printf("\nErrors:\n");
        for (guint i = 0; i < errors->len; i++) {
            const char *e = errors->pdata[i];
            /* an error may carry its source line and caret */
            g_auto(GStrv) parts = g_strsplit(e, "\n", -1);
            for (char **p = parts; *p; p++) {
                g_autofree char *part = mom_log_escape(*p, MOM_LOG_ESCAPE_LINES);
                if (*part)
                    printf("  %s\n", part);
            }
        }
    }
    return MOMCTL_EXIT_OK;
}

static int
cmd_controls(int argc, char **argv)
{
    return show_command(argc, argv, "- show the last cycle's decisions",
                        "Shows every control the policies set in the last cycle, with its value,\n"
                        "the FILE:LINE:COLUMN that set it and what the controller did with it,\n"
                        "then the cycle's errors (getControls).",
                        "getControls", print_controls);
}

/* ---- momctl history ---------------------------------------------------------------- */

gint64
momctl_parse_duration(const char *text)
{
    char *end = NULL;
    gint64 n = g_ascii_strtoll(text, &end, 10);
    static const struct {
        const char *unit;
        gint64 seconds;
    } units[] = {{"", 1}, {"s", 1}, {"m", 60}, {"min", 60}, {"h", 3600}, {"d", 86400}};

    if (end == text || n < 0 || n > G_GINT64_CONSTANT(100000000))
        return -1;
    for (guint i = 0; i < G_N_ELEMENTS(units); i++)
        if (strcmp(end, units[i].unit) == 0)
            return n * units[i].seconds;
    return -1;
}

/* A "before" or "requested" text as the table shows it: a size for a
 * control in KiB, a number rounded. */
char *
momctl_format_text_value(const char *control, const char *text)
{
    g_autoptr(JsonNode) n = json_node_new(JSON_NODE_VALUE);
    char *end = NULL;
    double d = g_ascii_strtod(text, &end);

    if (end == text || *end != '\0')
        return g_strdup(text);
    json_node_set_double(n, d);
    return momctl_format_value(control, n);
}

static int
cmd_history(int argc, char **argv)
{
    gboolean json = FALSE;
    char *since = NULL;
    GOptionEntry entries[] = {
        JSON_ENTRY(json),
        {"since", 's', 0, G_OPTION_ARG_STRING, &since,
         "Only the last DURATION (90, 90s, 15m, 2h, 1d)", "DURATION"},
        {NULL},
    };
    g_autoptr(GOptionContext) ctx = momctl_command_context(
        "[GUEST] - show the decisions of the last cycles",
        "Shows the decisions momd keeps ([history] max-decisions, max-age-s): when,\n"
        "for which guest (or host), the control, the value before and the value\n"
        "asked for, the policy line that asked, and what the controller did, the\n"
        "oldest first (getHistory).  GUEST: only that guest; host: only the host.",
        entries);
    int status = momctl_parse_command(ctx, &argc, &argv, 0, 1, NULL);
    g_autofree char *since_owned = since;
    if (status >= 0)
        return status;
    gint64 seconds = since ? momctl_parse_duration(since) : -1;
    if (since && seconds < 0)
        return momctl_usage_error(ctx, "--since '%s' is not a duration such as 90s, 15m, 2h or 1d.",
                                  since);

    g_autoptr(JsonArray) params = json_array_new();
    json_array_add_string_element(params, argc > 1 ? argv[1] : "");
    if (seconds >= 0)
        json_array_add_int_element(params, seconds);
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) result = momctl_call("getHistory", params, &error);
    if (!result)
        return report(error);
    if (!JSON_NODE_HOLDS_ARRAY(result)) {
        fprintf(stderr, "momctl: getHistory: momd answered with something other than an array.\n");
        return MOMCTL_EXIT_UNREACHABLE;
    }
    if (json) {
        momctl_print_json(result);
        return MOMCTL_EXIT_OK;
    }
    JsonArray *a = json_node_get_array(result);
    if (json_array_get_length(a) == 0) {
        printf("No decisions%s.\n", since ? " in that time" : " yet");
        return MOMCTL_EXIT_OK;
    }
    /* the policy line is in --json: the table keeps its room for the outcome */
    static const char *const heads[] = {"TIME", "ENTITY", "CONTROL", "BEFORE", "ASKED", "OUTCOME"};
    g_autoptr(MomctlTable) t = momctl_table_new("lllrrl", heads);
    momctl_table_shrink(t, 1, 8);
    momctl_table_shrink(t, 2, 14);
    momctl_table_shrink(t, 5, 16);
    for (guint i = 0; i < json_array_get_length(a); i++) {
        JsonNode *en = json_array_get_element(a, i);
        JsonObject *o = JSON_NODE_HOLDS_OBJECT(en) ? json_node_get_object(en) : NULL;
        const char *time = momctl_obj_string(o, "time");
        const char *control = momctl_obj_string(o, "control");
        const char *outcome = momctl_obj_string(o, "outcome");
        const char *entity = momctl_obj_string(o, "entity");
        const char *before = momctl_obj_string(o, "before");
        const char *requested = momctl_obj_string(o, "requested");
        /* "2026-12-06T05:30:12+00" → "05:30:12" */
        const char *tp = time ? strchr(time, 'T') : NULL;
        char *cells[6] = {
            tp ? g_strndup(tp + 1, 8) : g_strdup("-"),
            g_strdup(entity ? entity : "-"),
            g_strdup(control ? control : "-"),
            momctl_format_text_value(control ? control : "", before ? before : "-"),
            momctl_format_text_value(control ? control : "", requested ? requested : "-"),
            g_strdup(outcome ? outcome : "-"),
        };
        momctl_table_add_row(t, cells);
    }
    print_table(t);
    return MOMCTL_EXIT_OK;
}

/* ---- momctl policy list|get|set|delete|reset --------------------------------------- */

/* Says that momd has no policy @name.  Returns: the exit status. */
static int
no_such_policy(const char *name)
{
    g_autofree char *shown = mom_log_escape(name, MOM_LOG_ESCAPE_NAME);

    fprintf(stderr,
            "momctl: momd has no policy named '%s'; 'momctl policy list' shows the names.\n",
            shown);
    return MOMCTL_EXIT_FAIL;
}

/* getNamedPolicies' struct of name: text.  Returns: NULL with *@status set. */
static JsonNode *
named_policies(int *status)
{
    return momctl_call_object("getNamedPolicies", NULL, status);
}

static int
cmd_policy_list(int argc, char **argv)
{
    gboolean json = FALSE;
    GOptionEntry entries[] = {
        {"json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the names as a JSON array", NULL},
        {NULL},
    };
    g_autoptr(GOptionContext) ctx = momctl_command_context(
        "- list the daemon's policies",
        "Prints the name of every policy momd runs, in evaluation order\n(getNamedPolicies).",
        entries);
    int status = momctl_parse_command(ctx, &argc, &argv, 0, 0, NULL);
    if (status >= 0)
        return status;

    g_autoptr(JsonNode) result = named_policies(&status);
    if (!result)
        return status;
    g_autoptr(GList) names = sorted_members(json_node_get_object(result));
    if (json) {
        g_autoptr(JsonArray) a = json_array_new();
        for (GList *l = names; l; l = l->next)
            json_array_add_string_element(a, l->data);
        g_autoptr(JsonNode) n = json_node_init_array(json_node_alloc(), a);
        momctl_print_json(n);
    } else {
        for (GList *l = names; l; l = l->next) {
            g_autofree char *name = mom_log_escape(l->data, MOM_LOG_ESCAPE_NAME);
            printf("%s\n", name);
        }
    }
    return MOMCTL_EXIT_OK;
}

static int
cmd_policy_get(int argc, char **argv)
{
    gboolean json = FALSE;
    GOptionEntry entries[] = {
        {"json", 0, 0, G_OPTION_ARG_NONE, &json, "Print {\"NAME\": \"text\"} as JSON", NULL},
        {NULL},
    };
    g_autoptr(GOptionContext) ctx = momctl_command_context(
        "NAME - print a policy's text", "Prints the text of the daemon's policy NAME.", entries);
    int status = momctl_parse_command(ctx, &argc, &argv, 1, 1, "policy get needs a policy NAME.");
    if (status >= 0)
        return status;

    g_autoptr(JsonNode) result = named_policies(&status);
    if (!result)
        return status;
    JsonObject *o = json_node_get_object(result);
    const char *text = momctl_obj_string(o, argv[1]);
    if (!text)
        return no_such_policy(argv[1]);
    if (json) {
        g_autoptr(JsonObject) one = json_object_new();
        json_object_set_string_member(one, argv[1], text);
        g_autoptr(JsonNode) n = json_node_init_object(json_node_alloc(), one);
        momctl_print_json(n);
    } else if (*text) {
        put_line(stdout, text);
    }
    return MOMCTL_EXIT_OK;
}

static int
cmd_policy_set(int argc, char **argv)
{
    char *name = NULL;
    GOptionEntry entries[] = {
        {"name", 'n', 0, G_OPTION_ARG_STRING, &name,
         "The policy's name (default: FILE's name without .policy)", "NAME"},
        {NULL},
    };
    g_autoptr(GOptionContext) ctx = momctl_command_context(
        "FILE - install a policy in the daemon",
        "Has momd check FILE (checkPolicy); if it parses, installs it as the named\n"
        "policy (setNamedPolicy), replacing any policy of that name.  Nothing is\n"
        "installed when FILE has errors: they are printed with FILE:LINE:COLUMN.\n"
        "The policy lasts until momctl policy delete or reset.",
        entries);
    int status = momctl_parse_command(ctx, &argc, &argv, 1, 1, "policy set needs a policy FILE.");
    g_autofree char *name_owned = name;
    if (status >= 0)
        return status;

    const char *file = argv[1];
    g_autofree char *base = g_path_get_basename(file);
    if (!name) {
        if (g_str_has_suffix(base, ".policy"))
            base[strlen(base) - strlen(".policy")] = '\0';
        name = base;
    }
    /* the daemon's rule, checked before anything is sent */
    if (!mom_policy_name_valid(name)) {
        g_autofree char *shown = mom_log_escape(name, MOM_LOG_ESCAPE_NAME);
        return momctl_usage_error(
            ctx, "'%s' is not a valid policy name: a name has %s. Choose one with --name.", shown,
            MOM_POLICY_NAME_RULE);
    }
    g_autofree char *text = NULL;
    g_autoptr(GError) error = NULL;
    if (!g_file_get_contents(file, &text, NULL, &error)) {
        fprintf(stderr, "momctl: Cannot read the policy file %s: %s\n", file, error->message);
        return MOMCTL_EXIT_USAGE;
    }
    if (!g_utf8_validate(text, -1, NULL)) {
        fprintf(stderr, "momctl: %s is not UTF-8 text.\n", file);
        return MOMCTL_EXIT_USAGE;
    }

    g_autoptr(JsonArray) check = json_array_new();
    json_array_add_string_element(check, text);
    json_array_add_string_element(check, name);
    json_array_add_string_element(check, file);
    g_autoptr(JsonNode) checked = momctl_call_object("checkPolicy", check, &status);
    if (!checked)
        return status;
    JsonObject *co = json_node_get_object(checked);
    double ok = 0;
    momctl_obj_number(co, "ok", &ok);
    JsonArray *a = momctl_obj_array(co, "errors");
    for (guint i = 0; a && i < json_array_get_length(a); i++) {
        g_autofree char *e = momctl_node_text(json_array_get_element(a, i));
        put_line(stderr, e);
    }
    if (!ok) {
        fprintf(stderr, "momctl: %s has errors; momd keeps its policies unchanged.\n", file);
        return MOMCTL_EXIT_FAIL;
    }

    g_autoptr(JsonArray) set = json_array_new();
    json_array_add_string_element(set, name);
    json_array_add_string_element(set, text);
    if (!call_bool("setNamedPolicy", set, &status,
                   "momd did not install policy '%s'; its log says why.", name))
        return status;
    printf("Policy '%s' installed from %s.\n", name, file);
    return MOMCTL_EXIT_OK;
}

static int
cmd_policy_delete(int argc, char **argv)
{
    g_autoptr(GOptionContext) ctx = momctl_command_context(
        "NAME - remove a policy from the daemon",
        "Removes the policy NAME from the policies momd runs (setNamedPolicy with\n"
        "nil).  A policy from the policy directory comes back with momctl policy\n"
        "reset.",
        NULL);
    int status =
        momctl_parse_command(ctx, &argc, &argv, 1, 1, "policy delete needs a policy NAME.");
    if (status >= 0)
        return status;

    g_autoptr(JsonNode) policies = named_policies(&status);
    if (!policies)
        return status;
    if (!json_object_has_member(json_node_get_object(policies), argv[1]))
        return no_such_policy(argv[1]);
    g_autoptr(JsonArray) params = json_array_new();
    g_autofree char *shown = mom_log_escape(argv[1], MOM_LOG_ESCAPE_NAME);
    json_array_add_string_element(params, argv[1]);
    json_array_add_null_element(params);
    if (!call_bool("setNamedPolicy", params, &status,
                   "momd did not delete policy '%s'; its log says why.", shown))
        return status;
    printf("Policy '%s' deleted.\n", shown);
    return MOMCTL_EXIT_OK;
}

static int
cmd_policy_reset(int argc, char **argv)
{
    int status = parse_no_args(
        &argc, &argv, "- reload the daemon's policy files",
        "Forgets every policy set through the control API (momctl policy set,\n"
        "vdsm's parameters) and reloads the configured policy files\n(resetPolicies).",
        NULL);
    if (status >= 0)
        return status;

    if (!call_bool("resetPolicies", NULL, &status,
                   "momd could not reload its policy files; its log says why."))
        return status;
    printf("Policies reloaded from the policy files.\n");
    return MOMCTL_EXIT_OK;
}

/* ---- momctl snapshot, verbosity ---------------------------------------------------- */

static int
cmd_snapshot(int argc, char **argv)
{
    gboolean json = FALSE;
    GOptionEntry entries[] = {
        {"json", 0, 0, G_OPTION_ARG_NONE, &json, "Accepted for symmetry: the output is JSON", NULL},
        {NULL},
    };
    g_autoptr(GOptionContext) ctx = momctl_command_context(
        "- print the daemon's state as a state file",
        "Prints the host's and every guest's statistics, properties and variables\n"
        "as a JSON state file (getSnapshot).  Replay the policies on it offline:\n"
        "  momctl snapshot > state.json\n"
        "  momctl policy test /etc/momd/policies --state state.json",
        entries);
    int status = momctl_parse_command(ctx, &argc, &argv, 0, 0, NULL);
    if (status >= 0)
        return status;

    g_autoptr(JsonNode) result = call_or_report("getSnapshot", NULL, &status);
    if (!result)
        return status;
    if (!JSON_NODE_HOLDS_VALUE(result) || json_node_get_value_type(result) != G_TYPE_STRING) {
        unexpected("getSnapshot", "a string", &status);
        return status;
    }
    put_line(stdout, json_node_get_string(result));
    return MOMCTL_EXIT_OK;
}

static int
cmd_verbosity(int argc, char **argv)
{
    g_autoptr(GOptionContext) ctx = momctl_command_context(
        "[LEVEL] - show or set the daemon's log verbosity",
        "Without LEVEL, prints momd's verbosity.  LEVEL is debug, info, warn,\n"
        "error or critical, or a number from 5 (debug) to 1 (critical), as in\n"
        "momd.conf.  The change lasts until momd restarts or reloads.",
        NULL);
    int status = momctl_parse_command(ctx, &argc, &argv, 0, 1, NULL);
    if (status >= 0)
        return status;

    if (argc < 2) {
        g_autoptr(JsonNode) result = momctl_call_object("getStatus", NULL, &status);
        if (!result)
            return status;
        const char *v = momctl_obj_string(json_node_get_object(result), "verbosity");
        printf("%s\n", v ? v : "-");
        return MOMCTL_EXIT_OK;
    }
    MomLogLevel level;
    g_autoptr(GError) error = NULL;
    if (!mom_log_parse_verbosity(argv[1], &level, &error))
        return momctl_usage_error(ctx, "%s", error->message);
    g_autoptr(JsonArray) params = json_array_new();
    json_array_add_string_element(params, argv[1]);
    if (!call_bool("setVerbosity", params, &status, "momd refused the verbosity '%s'.", argv[1]))
        return status;
    printf("Verbosity set to %s.\n", mom_log_level_name(level));
    return MOMCTL_EXIT_OK;
}

/* ---- dispatch --------------------------------------------------------------------- */

static const Command policy_commands[] = {
    {"list", "[--json]", "list the daemon's policies", cmd_policy_list},
    {"get", "NAME", "print a policy of the daemon", cmd_policy_get},
    {"set", "FILE [--name NAME]", "check a policy file and install it", cmd_policy_set},
    {"delete", "NAME", "remove a policy from the daemon", cmd_policy_delete},
    {"reset", "", "reload the daemon's policy files", cmd_policy_reset},
    {"check", "PATH...", "parse policy files and print their errors (offline)", cmd_policy_check},
    {"test", "PATH... --state STATE.json", "evaluate policies against a saved state (offline)",
     cmd_policy_test},
    {NULL},
};

static void
print_commands(FILE *f, const char *group, const Command *table)
{
    fprintf(f, "Usage: momctl [--socket PATH] %s%sCOMMAND [ARGS]\n\nCommands:\n",
            group ? group : "", group ? " " : "");
    for (const Command *c = table; c->name; c++)
        fprintf(f, "  %-10s %-28s %s\n", c->name, c->args, c->summary);
}

/* Takes the global options (--socket PATH, --socket=PATH) that stand
 * before the command out of @argv.  Returns: -1, or the exit status of a
 * usage error. */
static int
take_global_options(int *argc, char **argv)
{
    while (*argc >= 2 && g_str_has_prefix(argv[1], "--socket")) {
        int used;
        if (strcmp(argv[1], "--socket") == 0) {
            if (*argc < 3)
                return momctl_usage_error(NULL, "--socket needs a PATH.");
            global_socket = argv[2];
            used = 2;
        } else if (argv[1][strlen("--socket")] == '=') {
            global_socket = argv[1] + strlen("--socket=");
            used = 1;
        } else {
            break;
        }
        memmove(argv + 1, argv + 1 + used, (*argc - 1 - used + 1) * sizeof(char *));
        *argc -= used;
    }
    return -1;
}

static int
dispatch(const char *group, const Command *table, int argc, char **argv)
{
    int status = take_global_options(&argc, argv);
    if (status >= 0)
        return status;
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
    print_commands(f, group, table);
    return help ? MOMCTL_EXIT_OK : MOMCTL_EXIT_USAGE;
}

static int
cmd_policy(int argc, char **argv)
{
    return dispatch("policy", policy_commands, argc, argv);
}

static const Command top_commands[] = {
    {"ping", "", "check that momd answers", cmd_ping},
    {"status", "[--json]", "show the daemon's state", cmd_status},
    {"guests", "[--json]", "list the guests with their balloons", cmd_guests},
    {"stats", "[GUEST] [--json]", "show the host's or a guest's statistics", cmd_stats},
    {"controls", "[--json]", "show the last cycle's decisions", cmd_controls},
    {"history", "[GUEST] [--since D] [--json]", "show the decisions of the last cycles",
     cmd_history},
    {"explain", "GUEST|host [-l] [--json]", "why a guest got its last decision",
     momctl_cmd_explain},
    {"top", "[-d SECONDS] [--once]", "live view of the host and the guests", momctl_cmd_top},
    {"plot", "[--dir DIR] [-o FILE]", "draw memory and decisions over time as SVG",
     momctl_cmd_plot},
    {"policy", "COMMAND [ARGS]", "list, get, set, delete, reset, check, test policies", cmd_policy},
    {"snapshot", "", "print the state for policy test --state", cmd_snapshot},
    {"verbosity", "[LEVEL]", "show or set the daemon's log verbosity", cmd_verbosity},
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

    int status = take_global_options(&argc, argv);
    if (status >= 0)
        return status;
    if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
        printf("momctl %s\n", PACKAGE_VERSION);
        return MOMCTL_EXIT_OK;
    }
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        FILE *f = argc < 2 ? stderr : stdout;
        print_commands(f, NULL, top_commands);
        fprintf(f, "\nRun 'momctl COMMAND --help' for a command's options.\n");
        fprintf(f, "The socket is --socket PATH, else $MOMCTL_SOCKET, else %s.\n",
                MOMCTL_DEFAULT_SOCKET);
        fprintf(f, "Exit status: 0 ok, 1 the daemon refused or a policy error, 2 usage error, 3 "
                   "momd cannot be reached.\n");
        return argc < 2 ? MOMCTL_EXIT_USAGE : MOMCTL_EXIT_OK;
    }
    for (const Command *c = top_commands; c->name; c++) {
        if (strcmp(argv[1], c->name) == 0) {
            if (c->run != cmd_policy) {
                g_autofree char *prg = g_strdup_printf("momctl %s", c->name);
                g_set_prgname(prg);
            }
            return c->run(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "momctl: unknown command '%s'. Run 'momctl --help' for the list.\n", argv[1]);
    return MOMCTL_EXIT_USAGE;
}
