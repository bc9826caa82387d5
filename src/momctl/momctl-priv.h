/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What momctl.c shares with momctl-top.c and momctl-explain.c: exit
 * statuses, the control API call, readers of the JSON the daemon answers
 * with, number formatting and a text table.
 */
#pragma once

#include <stdio.h>

#include <glib.h>
#include <json-glib/json-glib.h>

/* The exit statuses, as docs/momctl.md lists them. */
enum {
    MOMCTL_EXIT_OK = 0,
    MOMCTL_EXIT_FAIL = 1,        /* the daemon answered with a fault or false; a policy error */
    MOMCTL_EXIT_USAGE = 2,       /* usage error, unreadable input */
    MOMCTL_EXIT_UNREACHABLE = 3, /* no daemon, permission denied, no valid answer */
};

/** momctl_socket_path: Returns: (transfer none) the socket momctl talks to. */
const char *momctl_socket_path(void);

/**
 * momctl_call:
 * Calls @method on the daemon.  Returns: (transfer full) the result, or
 * NULL with @error set to one line that names the method when the daemon
 * sent a fault.
 */
JsonNode *momctl_call(const char *method, JsonArray *params, GError **error);

/**
 * momctl_error_status:
 * Returns: MOMCTL_EXIT_UNREACHABLE when @error says the daemon could not be
 * reached or did not answer, else MOMCTL_EXIT_FAIL.
 */
int momctl_error_status(const GError *error);

/**
 * momctl_call_object:
 * momctl_call() for a method that answers a struct; any error is printed
 * on stderr.  Returns: (transfer full) the answer, or NULL with *@status
 * set to the exit status.
 */
JsonNode *momctl_call_object(const char *method, JsonArray *params, int *status);

/* Readers that take NULL and wrong types quietly: the daemon may lack a
 * collector, and a field then is missing or nil. */
JsonObject *momctl_obj_object(JsonObject *o, const char *member);
const char *momctl_obj_string(JsonObject *o, const char *member);
gboolean momctl_obj_number(JsonObject *o, const char *member, double *out);
gboolean momctl_node_number(JsonNode *n, double *out);
JsonArray *momctl_obj_array(JsonObject *o, const char *member);

/** momctl_node_text: Returns: (transfer full) @n as a table cell: "-" for nil or NULL. */
char *momctl_node_text(JsonNode *n);

/**
 * momctl_format_size:
 * Returns: (transfer full) @kib with the binary prefix that suits it, at
 * most three significant digits: "512 KiB", "767 MiB", "3.9 GiB", "12 GiB".
 */
char *momctl_format_size(double kib);

/** momctl_field_is_kib: Returns: TRUE when the statistic or control @name is in KiB. */
gboolean momctl_field_is_kib(const char *name);

/**
 * momctl_format_value:
 * Returns: (transfer full) @n as a human cell: a size when @name is in KiB
 * (momctl_field_is_kib()), a float rounded, anything else as
 * momctl_node_text().
 */
char *momctl_format_value(const char *name, JsonNode *n);

/**
 * momctl_format_text_value:
 * Returns: (transfer full) a value the daemon sent as text (a decision's
 * "before" and "requested") as a human cell: a size when @control is in
 * KiB, a number rounded, other text as it is.
 */
char *momctl_format_text_value(const char *control, const char *text);

/**
 * momctl_policy_of:
 * Returns: (transfer full) a policy line's origin as a person reads it:
 * "/etc/momd/policies/20-ksm.policy:126:17" as "20-ksm:126"; "-" for NULL.
 */
char *momctl_policy_of(const char *origin);

/**
 * momctl_format_time_ago:
 * Returns: (transfer full) an ISO 8601 time from the daemon as
 * "2026-11-22 00:31:05 (3s ago)" in local time; the text as it is when it
 * does not parse.
 */
char *momctl_format_time_ago(const char *iso);

/**
 * momctl_output_width:
 * Returns: the columns human output may use: the terminal's width when
 * standard output is one, else $COLUMNS (20 to 10000), else 80.
 */
int momctl_output_width(void);

/** momctl_format_duration: Returns: (transfer full) @seconds as "42s", "5min 03s", "2h 07min". */
char *momctl_format_duration(gint64 seconds);

/**
 * momctl_format_age:
 * Returns: (transfer full) the age of statistics: as
 * momctl_format_duration(), or "unknown" when it is negative or more than
 * a year (libvirt's last_update of a guest that never reported is 0).
 */
char *momctl_format_age(double seconds);

/* A text table: one header line, then rows; columns separated by two
 * spaces, text columns aligned left and number columns right. */
typedef struct _MomctlTable MomctlTable;

/** momctl_table_new: @align has one 'l' or 'r' per header.  Returns: (transfer full) */
MomctlTable *momctl_table_new(const char *align, const char *const *heads);
void momctl_table_free(MomctlTable *t);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MomctlTable, momctl_table_free)

/** momctl_table_add_row: Appends a row; takes the n_columns strings @cells (transfer full). */
void momctl_table_add_row(MomctlTable *t, char **cells);

/**
 * momctl_table_shrink:
 * Lets @column be cut down to @min_width when the table must fit (names,
 * outcomes): its cells then end with an ellipsis.
 */
void momctl_table_shrink(MomctlTable *t, guint column, guint min_width);

/**
 * momctl_table_fit:
 * Makes the rendered lines fit @width columns (0: no limit) by cutting the
 * columns momctl_table_shrink() allows, widest first; with @drop, columns
 * on the right that still do not fit are left out (momctl_table_dropped()).
 */
void momctl_table_fit(MomctlTable *t, guint width, gboolean drop);

/** momctl_table_dropped: Returns: the columns the last render left out. */
guint momctl_table_dropped(MomctlTable *t);

/** momctl_table_render: Returns: (transfer full) the lines, the header first, without newlines. */
GPtrArray *momctl_table_render(MomctlTable *t);

/**
 * momctl_text_columns:
 * Returns: the columns @text takes on a terminal: wide (East Asian)
 * characters count 2, combining ones 0.
 */
glong momctl_text_columns(const char *text);

/**
 * momctl_truncate:
 * Returns: (transfer full) @line cut to @width terminal columns (0: not
 * cut), a combining mark kept with its letter.
 */
char *momctl_truncate(const char *line, guint width);

/** momctl_cmd_top: `momctl top`, in momctl-top.c. */
int momctl_cmd_top(int argc, char **argv);

/** momctl_cmd_plot: `momctl plot`, in momctl-plot.c. */
int momctl_cmd_plot(int argc, char **argv);

/**
 * momctl_parse_duration:
 * Reads a --since value: "90", "90s", "15m", "2h", "1d".
 * Returns: the seconds, or -1 when @text is none of those.
 */
gint64 momctl_parse_duration(const char *text);

/** momctl_cmd_explain: `momctl explain`, in momctl-explain.c. */
int momctl_cmd_explain(int argc, char **argv);

/**
 * momctl_command_context:
 * A GOptionContext for one command: @entries plus the global --socket.
 * Returns: (transfer full)
 */
GOptionContext *momctl_command_context(const char *params, const char *summary,
                                       const GOptionEntry *entries);

/**
 * momctl_parse_command:
 * Parses the options of a command, then checks that it got @min_args to
 * @max_args (-1: any) arguments; @missing says what is missing.  Returns:
 * -1 when the command may go on, else the exit status after the usage
 * error has been printed.
 */
int momctl_parse_command(GOptionContext *ctx, int *argc, char ***argv, int min_args, int max_args,
                         const char *missing);

/** momctl_usage_error: Prints "momctl: MESSAGE" and a hint.  Returns: MOMCTL_EXIT_USAGE. */
int momctl_usage_error(GOptionContext *ctx, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/** momctl_print_json: Prints @node pretty, with a newline, on stdout. */
void momctl_print_json(JsonNode *node);
