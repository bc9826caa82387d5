/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * momctl top: a full-screen view of the host and the guests, refreshed
 * every interval, as top(1) shows processes.
 *
 * Each refresh calls getStatus (intervals, KSM, the last cycle),
 * getStatistics (the newest samples) and getControls (balloon targets and
 * what the controller did with them).  The screen is drawn with ANSI
 * escapes on the alternate screen; the terminal is put in non-canonical
 * mode without echo so that single keys sort and quit, and is restored on
 * every way out: q, SIGINT, SIGTERM, SIGHUP, and exit().
 */
#include "config.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <glib-unix.h>

#include "momctl-priv.h"

#define TOP_DEFAULT_INTERVAL 5.0
#define TOP_MIN_INTERVAL 0.1

typedef struct {
    char *name;
    double cur, max, min, usable, target, age; /* KiB and seconds; NAN when unknown */
    char *action;
} TopGuest;

typedef struct {
    GMainLoop *loop;
    double interval; /* seconds between refreshes */
    gboolean interval_from_daemon;
    guint timer;
    char sort; /* 'n', 'c', 'u' or 't', as the keys */
    gboolean reverse;
    JsonNode *status, *stats, *controls;
    char *error; /* why the last refresh failed, or NULL */
} Top;

/* The terminal as momctl found it, for every way out. */
static struct termios saved_termios;
static gboolean termios_saved;
static gboolean screen_entered;

static void
top_guest_free(TopGuest *g)
{
    g_free(g->name);
    g_free(g->action);
    g_free(g);
}

static void
term_write(const char *s)
{
    size_t n = strlen(s);

    while (n) {
        ssize_t w = write(STDOUT_FILENO, s, n);
        if (w < 0)
            return; /* the terminal is gone; nothing to restore on it */
        s += w;
        n -= (size_t)w;
    }
}

static void
term_restore(void)
{
    if (screen_entered) {
        /* show the cursor, leave the alternate screen */
        term_write("\033[0m\033[?25h\033[?1049l");
        screen_entered = FALSE;
    }
    if (termios_saved) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_termios);
        termios_saved = FALSE;
    }
}

static void
term_setup(void)
{
    struct termios raw;

    if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved_termios) == 0) {
        termios_saved = TRUE;
        raw = saved_termios;
        /* keys one at a time, not echoed; ^C still raises SIGINT, but ^Z
         * would stop momctl with the terminal in this state, so it is off */
        raw.c_lflag &= ~(ICANON | ECHO);
        raw.c_cc[VMIN] = 1;
        raw.c_cc[VTIME] = 0;
        raw.c_cc[VSUSP] = _POSIX_VDISABLE;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw);
    }
    screen_entered = TRUE;
    term_write("\033[?1049h\033[?25l\033[2J");
}

static void
term_size(guint *width, guint *height)
{
    struct winsize ws;

    *width = 80;
    *height = 24;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col && ws.ws_row) {
        *width = ws.ws_col;
        *height = ws.ws_row;
    }
}

/* ---- data --------------------------------------------------------------------------- */

static double
number_or_nan(JsonObject *o, const char *member)
{
    double d;
    return momctl_obj_number(o, member, &d) ? d : NAN;
}

/* Refreshes the three answers; on failure keeps the old ones and says why. */
static gboolean
top_fetch(Top *top, GError **error)
{
    static const char *const methods[] = {"getStatus", "getStatistics", "getControls"};
    JsonNode *nodes[3] = {NULL};

    for (guint i = 0; i < G_N_ELEMENTS(methods); i++) {
        nodes[i] = momctl_call(methods[i], NULL, error);
        if (nodes[i] && !JSON_NODE_HOLDS_OBJECT(nodes[i])) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                        "%s: momd answered with something other than a struct.", methods[i]);
            g_clear_pointer(&nodes[i], json_node_unref);
        }
        if (!nodes[i]) {
            for (guint k = 0; k < i; k++)
                json_node_unref(nodes[k]);
            return FALSE;
        }
    }
    g_clear_pointer(&top->status, json_node_unref);
    g_clear_pointer(&top->stats, json_node_unref);
    g_clear_pointer(&top->controls, json_node_unref);
    top->status = nodes[0];
    top->stats = nodes[1];
    top->controls = nodes[2];
    return TRUE;
}

static GPtrArray *
top_guests(Top *top)
{
    GPtrArray *list = g_ptr_array_new_with_free_func((GDestroyNotify)top_guest_free);
    JsonObject *stats = momctl_obj_object(json_node_get_object(top->stats), "guests");
    JsonObject *controls = momctl_obj_object(json_node_get_object(top->controls), "guests");
    g_autoptr(GList) names = stats ? json_object_get_members(stats) : NULL;

    for (GList *l = names; l; l = l->next) {
        JsonObject *s = momctl_obj_object(stats, l->data);
        JsonObject *c = momctl_obj_object(controls, l->data);
        JsonObject *target = momctl_obj_object(momctl_obj_object(c, "controls"), "balloon_target");
        const char *error = momctl_obj_string(c, "error");
        const char *outcome = momctl_obj_string(target, "outcome");
        TopGuest *g = g_new0(TopGuest, 1);

        g->name = g_strdup(l->data);
        g->cur = number_or_nan(s, "balloon_cur");
        g->max = number_or_nan(s, "balloon_max");
        g->min = number_or_nan(s, "balloon_min");
        g->usable = number_or_nan(s, "mem_usable");
        g->age = number_or_nan(s, "stats_age");
        g->target = number_or_nan(target, "value");
        if (error)
            g->action = g_strdup_printf("error: %s", error);
        else
            g->action = g_strdup(outcome ? outcome : "-");
        g_ptr_array_add(list, g);
    }
    return list;
}

static double
sort_key(const TopGuest *g, char sort)
{
    switch (sort) {
    case 'c':
        return g->cur;
    case 'u':
        return g->usable;
    case 't':
        return g->target;
    default:
        return NAN;
    }
}

/* Names A to Z, numbers largest first; 'r' reverses; unknown values last. */
static gint
top_compare(gconstpointer a, gconstpointer b, gpointer data)
{
    const Top *top = data;
    const TopGuest *ga = *(TopGuest *const *)a, *gb = *(TopGuest *const *)b;
    int r = 0;

    if (top->sort != 'n') {
        double x = sort_key(ga, top->sort), y = sort_key(gb, top->sort);
        if (isnan(x) || isnan(y))
            return isnan(x) - isnan(y);
        r = x > y ? -1 : x < y ? 1 : 0;
    }
    if (r == 0)
        r = g_strcmp0(ga->name, gb->name);
    return top->reverse ? -r : r;
}

/* ---- drawing ------------------------------------------------------------------------ */

static const char *
sort_name(const Top *top)
{
    static const char *const names[][2] = {
        {"name, A to Z", "name, Z to A"},
        {"cur, largest first", "cur, smallest first"},
        {"usable, largest first", "usable, smallest first"},
        {"target, largest first", "target, smallest first"},
    };
    int k = top->sort == 'c' ? 1 : top->sort == 'u' ? 2 : top->sort == 't' ? 3 : 0;
    return names[k][top->reverse];
}

static void
add_size(GString *s, const char *label, JsonObject *o, const char *member)
{
    double kib;

    if (!momctl_obj_number(o, member, &kib))
        return;
    g_autofree char *size = momctl_format_size(kib);
    g_string_append_printf(s, "  %s %s", label, size);
}

/* The header lines: the daemon, the host's memory, KSM. */
static void
top_header(Top *top, GPtrArray *lines)
{
    JsonObject *st = json_node_get_object(top->status);
    JsonObject *host = momctl_obj_object(json_node_get_object(top->stats), "host");
    JsonObject *cycle = momctl_obj_object(st, "last_cycle");
    JsonObject *libvirt = momctl_obj_object(st, "libvirt");
    const char *version = momctl_obj_string(st, "version");
    const char *uri = momctl_obj_string(libvirt, "uri");
    double uptime = -1, number = 0, ok = 0, connected = 0, dry_run = 0, v, w;
    GString *s;

    momctl_obj_number(st, "uptime", &uptime);
    momctl_obj_number(cycle, "number", &number);
    momctl_obj_number(cycle, "ok", &ok);
    momctl_obj_number(libvirt, "connected", &connected);
    momctl_obj_number(st, "dry_run", &dry_run);
    g_autofree char *up = momctl_format_duration((gint64)uptime);
    g_autoptr(GDateTime) now = g_date_time_new_now_local();
    g_autofree char *clock = g_date_time_format(now, "%H:%M:%S");
    /* a state that changes what momd does comes first, where a narrow
     * terminal cannot cut it off */
    s = g_string_new(NULL);
    if (dry_run)
        g_string_append(s, "DRY RUN - ");
    if (number > 0 && !ok)
        g_string_append(s, "POLICY FAILED - ");
    if (!connected)
        g_string_append(s, "LIBVIRT DOWN - ");
    g_string_append_printf(s, "momd %s - %s up %s - cycle %.0f%s - every %gs - libvirt %s",
                           version ? version : "?", clock, up, number,
                           number == 0 ? " not run yet"
                           : ok        ? " ok"
                                       : "",
                           top->interval, uri ? uri : "-");
    g_ptr_array_add(lines, g_string_free(s, FALSE));

    /* free(1)'s words: total is MemTotal (MOM's mem_available), available
     * MemAvailable, free MemFree; MOM's "free" counts the caches too */
    s = g_string_new("Mem:");
    add_size(s, "total", host, "mem_available");
    add_size(s, "available", host, "mem_avail_real");
    add_size(s, "free", host, "mem_unused");
    add_size(s, "free+cache", host, "mem_free");
    if (momctl_obj_number(host, "swap_total", &v)) {
        g_autofree char *total = momctl_format_size(v);
        g_autofree char *used =
            momctl_format_size(momctl_obj_number(host, "swap_usage", &w) ? w : 0);
        g_string_append_printf(s, "   Swap: %s used of %s", used, total);
    }
    if (momctl_obj_number(host, "psi_mem_some_avg10", &v)) {
        g_string_append_printf(s, "   PSI avg10: some %.2f%%", v);
        if (momctl_obj_number(host, "psi_mem_full_avg10", &w))
            g_string_append_printf(s, " full %.2f%%", w);
    }
    g_ptr_array_add(lines, g_string_free(s, FALSE));

    s = g_string_new("KSM:");
    if (momctl_obj_number(host, "ksm_run", &v)) {
        g_string_append_printf(s, "  run %.0f", v);
        if (momctl_obj_number(host, "ksm_pages_sharing", &v)) {
            g_autofree char *size = momctl_format_size(v * (sysconf(_SC_PAGESIZE) / 1024));
            g_string_append_printf(s, "  sharing %s", size);
        }
        if (momctl_obj_number(host, "ksm_pages_to_scan", &v))
            g_string_append_printf(s, "  pages_to_scan %.0f", v);
        if (momctl_obj_number(host, "ksm_sleep_millisecs", &v))
            g_string_append_printf(s, "  sleep %.0f ms", v);
    } else {
        g_string_append(s, "  not monitored");
    }
    g_ptr_array_add(lines, g_string_free(s, FALSE));
}

/* One frame.  @plain: no escapes and no key help (top --once); @width and
 * @height cut the frame to the terminal (0: not cut). */
static char *
top_render(Top *top, gboolean plain, guint width, guint height)
{
    g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) guests = top_guests(top);
    JsonObject *st = json_node_get_object(top->status);
    double n_guests = 0, ready = 0;

    top_header(top, lines);
    momctl_obj_number(st, "guests", &n_guests);
    momctl_obj_number(st, "guests_ready", &ready);
    g_ptr_array_add(lines, g_strdup_printf("Guests: %.0f (%.0f ready)  sort: %s%s", n_guests, ready,
                                           sort_name(top),
                                           plain ? "" : "  keys: n c u t sort, r reverse, q quit"));
    guint error_line = lines->len;
    g_ptr_array_add(lines, top->error ? g_strdup_printf("! %s", top->error) : g_strdup(""));

    g_ptr_array_sort_with_data(guests, top_compare, top);
    static const char *const heads[] = {"NAME",   "CUR",    "MAX", "MIN",
                                        "USABLE", "TARGET", "AGE", "LAST ACTION"};
    g_autoptr(MomctlTable) t = momctl_table_new("lrrrrrrl", heads);
    momctl_table_shrink(t, 0, 8);
    momctl_table_shrink(t, 7, 11);
    momctl_table_fit(t, width ? width : (guint)momctl_output_width(), FALSE);
    for (guint i = 0; i < guests->len; i++) {
        TopGuest *g = guests->pdata[i];
        char *cells[8] = {
            g_strdup(g->name),
            momctl_format_size(g->cur),
            momctl_format_size(g->max),
            momctl_format_size(g->min),
            momctl_format_size(g->usable),
            momctl_format_size(g->target),
            isnan(g->age) ? g_strdup("-") : momctl_format_age(g->age),
            g_strdup(g->action),
        };
        momctl_table_add_row(t, cells);
    }
    g_autoptr(GPtrArray) rows = momctl_table_render(t);
    guint header_line = lines->len;
    for (guint i = 0; i < rows->len; i++)
        g_ptr_array_add(lines, g_strdup(rows->pdata[i]));
    if (guests->len == 0)
        g_ptr_array_add(lines, g_strdup("momd manages no guests."));

    if (height && lines->len > height) {
        guint hidden = lines->len - height + 1;
        g_ptr_array_set_size(lines, height - 1);
        g_ptr_array_add(lines, g_strdup_printf("... %u more", hidden));
    }

    GString *out = g_string_new(plain ? NULL : "\033[H");
    for (guint i = 0; i < lines->len; i++) {
        g_autofree char *line = momctl_truncate(lines->pdata[i], width);
        if (plain) {
            if (i == error_line && !*line)
                continue;
            g_string_append_printf(out, "%s\n", line);
            continue;
        }
        if (i == header_line) {
            /* the column header in reverse video across the whole width */
            glong pad = (glong)width - momctl_text_columns(line);
            g_string_append_printf(out, "\033[7m%s%*s\033[0m", line, (int)MAX(pad, 0), "");
        } else if (i == error_line && top->error) {
            g_string_append_printf(out, "\033[1;31m%s\033[0m", line);
        } else if (i == 0) {
            g_string_append_printf(out, "\033[1m%s\033[0m", line);
        } else {
            g_string_append(out, line);
        }
        /* no newline after the last line of a full screen: it would scroll */
        g_string_append(out, i + 1 < lines->len ? "\033[K\r\n" : "\033[K");
    }
    if (!plain)
        g_string_append(out, "\033[J");
    return g_string_free(out, FALSE);
}

static void
top_draw(Top *top)
{
    guint width, height;

    term_size(&width, &height);
    g_autofree char *frame = top_render(top, FALSE, width, height);
    term_write(frame);
}

/* ---- the main loop ------------------------------------------------------------------ */

/* The daemon's host-monitor interval, which decides how often the
 * statistics change. */
static double
daemon_interval(Top *top)
{
    double v;
    JsonObject *intervals = momctl_obj_object(json_node_get_object(top->status), "intervals");

    if (momctl_obj_number(intervals, "host-monitor", &v) && v > 0)
        return MAX(v, TOP_MIN_INTERVAL);
    return TOP_DEFAULT_INTERVAL;
}

static gboolean on_tick(gpointer data);

static void
top_arm(Top *top)
{
    if (top->timer)
        g_source_remove(top->timer);
    top->timer = g_timeout_add((guint)(top->interval * 1000), on_tick, top);
    g_source_set_name_by_id(top->timer, "momctl top refresh");
}

static void
top_refresh(Top *top)
{
    g_autoptr(GError) error = NULL;

    g_clear_pointer(&top->error, g_free);
    if (!top_fetch(top, &error))
        top->error = g_strdup(error->message);
}

static gboolean
on_tick(gpointer data)
{
    Top *top = data;

    top_refresh(top);
    if (top->interval_from_daemon && !top->error && daemon_interval(top) != top->interval) {
        top->interval = daemon_interval(top);
        top->timer = 0; /* this source ends by returning G_SOURCE_REMOVE */
        top_arm(top);
        top_draw(top);
        return G_SOURCE_REMOVE;
    }
    top_draw(top);
    return G_SOURCE_CONTINUE;
}

static gboolean
on_quit(gpointer data)
{
    Top *top = data;

    g_main_loop_quit(top->loop);
    return G_SOURCE_CONTINUE;
}

static gboolean
on_resize(gpointer data)
{
    term_write("\033[2J");
    top_draw(data);
    return G_SOURCE_CONTINUE;
}

static gboolean
on_key(int fd, GIOCondition cond, gpointer data)
{
    Top *top = data;
    char buf[64];
    ssize_t n = read(fd, buf, sizeof(buf));

    if (n <= 0) {
        /* the terminal hung up: there is nobody to show anything to */
        g_main_loop_quit(top->loop);
        return G_SOURCE_REMOVE;
    }
    for (ssize_t i = 0; i < n; i++) {
        switch (buf[i]) {
        case 'q':
        case 'Q':
            g_main_loop_quit(top->loop);
            return G_SOURCE_CONTINUE;
        case 'n':
        case 'c':
        case 'u':
        case 't':
            if (top->sort != buf[i]) {
                top->sort = buf[i];
                top->reverse = FALSE;
            }
            break;
        case 'r':
            top->reverse = !top->reverse;
            break;
        case ' ':
            top_refresh(top);
            break;
        case '\033':
            /* an arrow or function key: its sequence is ignored whole */
            i = n;
            break;
        default:
            break;
        }
    }
    top_draw(top);
    return G_SOURCE_CONTINUE;
}

int
momctl_cmd_top(int argc, char **argv)
{
    double delay = 0;
    gboolean once = FALSE;
    GOptionEntry entries[] = {
        {"delay", 'd', 0, G_OPTION_ARG_DOUBLE, &delay,
         "Seconds between refreshes (default: momd's host-monitor interval)", "SECONDS"},
        {"once", 0, 0, G_OPTION_ARG_NONE, &once, "Print one plain frame, without escapes, and exit",
         NULL},
        {NULL},
    };
    g_autoptr(GOptionContext) ctx = momctl_command_context(
        "- live view of the host and the guests",
        "Shows the host's memory and KSM, then one row per guest: balloon (current,\n"
        "maximum, minimum), usable memory and balloon target in MiB, the age of\n"
        "the guest's statistics and what the balloon controller last did.\n"
        "Keys: n, c, u, t sort by name, current, usable, target; r reverses;\n"
        "space refreshes now; q quits.",
        entries);
    int status = momctl_parse_command(ctx, &argc, &argv, 0, 0, NULL);
    if (status >= 0)
        return status;
    if (delay < 0 || isnan(delay) || (delay > 0 && delay < TOP_MIN_INTERVAL) || delay > 86400)
        return momctl_usage_error(ctx, "-d needs a number of seconds from 0.1 to 86400.");
    if (!once && !isatty(STDOUT_FILENO))
        return momctl_usage_error(
            ctx, "top needs a terminal; use 'momctl top --once' for one plain frame.");

    Top top = {.sort = 'n'};
    g_autoptr(GError) error = NULL;
    if (!top_fetch(&top, &error)) {
        fprintf(stderr, "momctl: %s\n", error->message);
        return momctl_error_status(error);
    }
    top.interval_from_daemon = delay == 0;
    top.interval = delay ? delay : daemon_interval(&top);
    if (once) {
        g_autofree char *frame = top_render(&top, TRUE, (guint)momctl_output_width(), 0);
        fputs(frame, stdout);
    } else {
        top.loop = g_main_loop_new(NULL, FALSE);
        atexit(term_restore);
        term_setup();
        guint sources[] = {
            g_unix_signal_add(SIGINT, on_quit, &top),
            g_unix_signal_add(SIGTERM, on_quit, &top),
            g_unix_signal_add(SIGHUP, on_quit, &top),
            g_unix_signal_add(SIGWINCH, on_resize, &top),
            termios_saved ? g_unix_fd_add(STDIN_FILENO, G_IO_IN | G_IO_HUP, on_key, &top) : 0,
        };
        top_arm(&top);
        top_draw(&top);
        g_main_loop_run(top.loop);
        term_restore();
        for (guint i = 0; i < G_N_ELEMENTS(sources); i++)
            if (sources[i])
                g_source_remove(sources[i]);
        if (top.timer)
            g_source_remove(top.timer);
        g_main_loop_unref(top.loop);
    }
    g_clear_pointer(&top.status, json_node_unref);
    g_clear_pointer(&top.stats, json_node_unref);
    g_clear_pointer(&top.controls, json_node_unref);
    g_free(top.error);
    return MOMCTL_EXIT_OK;
}
