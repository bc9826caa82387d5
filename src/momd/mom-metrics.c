/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Prometheus metrics (mom-metrics.h).
 *
 * The exposition is rendered once per policy cycle, on the main loop, and
 * kept: a scrape is answered with that text and nothing else, so a slow or
 * hostile scraper costs momd a copy of a string, never a collection or a
 * policy run.  The HTTP listener is a SoupServer of its own, not the
 * control API's: the control API lives on a UNIX socket whose peer is
 * checked, and a metrics port must never answer its methods.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <glib/gstdio.h>
#include <libsoup/soup.h>
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mom-controller.h"
#include "mom-log.h"
#include "mom-metrics.h"
#include "mom-monitor.h"

/* Upper bounds of the cycle-duration histogram, seconds: a host-only
 * cycle takes about 0.1 ms, 1 000 guests about 2 ms (performance.md). */
static const double duration_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                         0.05,   0.1,   0.25,   0.5,   1.0,  2.5};
#define N_BOUNDS G_N_ELEMENTS(duration_bounds)

static const char *const results[] = {"applied", "clamped", "skipped", "failed"};
static const char *const controllers[] = {"Balloon", "KSM", "CpuTune", "IoTune", "other"};
#define N_RESULTS G_N_ELEMENTS(results)
#define N_CONTROLLERS G_N_ELEMENTS(controllers)

struct _MomMetrics {
    SoupServer *server;
    guint port;
    char *listen;              /* what server listens on, as configured; NULL: no server */
    char *textfile;            /* NULL: none */
    gboolean textfile_failing; /* said once until it works again */
    GString *text;
    guint64 cycles, errors;
    guint64 buckets[N_BOUNDS]; /* not cumulative: one per bound */
    guint64 duration_count;
    double duration_sum;
    guint64 actions[N_CONTROLLERS][N_RESULTS];
    gint64 last_cycle; /* wall µs of the last cycle; 0: none yet */
};

/* A scrape must be over in this many seconds, or its connection is shut
 * down: a client cannot hold momd's sockets by sending slowly. */
#define REQUEST_TIMEOUT_S 5

const char *
mom_metrics_outcome_result(const char *outcome)
{
    if (!outcome || g_str_has_prefix(outcome, "dry run"))
        return "skipped"; /* nothing was changed */
    if (strstr(outcome, "clamped by"))
        return "clamped";
    if (g_str_has_prefix(outcome, "requested") || g_str_has_prefix(outcome, "written"))
        return "applied";
    if (g_str_has_prefix(outcome, "failed") || g_str_has_prefix(outcome, "refused") ||
        g_str_has_prefix(outcome, "ignored"))
        return "failed";
    return "skipped"; /* unchanged, waiting, skipped, dry run, not applied */
}

const char *
mom_metrics_control_controller(const char *name)
{
    if (strcmp(name, "balloon_target") == 0)
        return "Balloon";
    if (g_str_has_prefix(name, "ksm_"))
        return "KSM";
    if (g_str_has_prefix(name, "vcpu_"))
        return "CpuTune";
    if (g_str_has_prefix(name, "io_tune."))
        return "IoTune";
    return "other";
}

static guint
index_of(const char *const *names, guint n, const char *name)
{
    for (guint i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0)
            return i;
    return n - 1;
}

/* ---- rendering ---------------------------------------------------------- */

/* A label value as the exposition format wants it: \, " and newline escaped. */
static void
append_label(GString *out, const char *value)
{
    for (const char *p = value; *p; p++) {
        if (*p == '\\' || *p == '"')
            g_string_append_c(out, '\\');
        if (*p == '\n') {
            g_string_append(out, "\\n");
            continue;
        }
        g_string_append_c(out, *p);
    }
}

/* A sample value: integers as such, other numbers in their shortest form,
 * infinities and NaN as the exposition format spells them. */
static const char *
fmt_value(double v, char *buf)
{
    if (isnan(v))
        return "NaN";
    if (isinf(v))
        return v > 0 ? "+Inf" : "-Inf";
    if (v == floor(v) && fabs(v) < 1e15) {
        g_snprintf(buf, 32, "%" G_GINT64_FORMAT, (gint64)v);
        return buf;
    }
    return mom_format_double(v, buf);
}

static void
help(GString *out, const char *name, const char *type, const char *text)
{
    g_string_append_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, text, name, type);
}

static void
sample_double(GString *out, const char *name, const char *domain, double v)
{
    char buf[40];

    g_string_append(out, name);
    if (domain) {
        g_string_append(out, "{domain=\"");
        append_label(out, domain);
        g_string_append(out, "\"}");
    }
    g_string_append_printf(out, " %s\n", fmt_value(v, buf));
}

/* The newest value of @field as a double; FALSE when it is absent or nil. */
static gboolean
stat_double(MomEntity *e, const char *field, double *out)
{
    int i = mom_schema_lookup(mom_entity_schema(e), field);
    const MomValue *v = i >= 0 ? mom_entity_stat(e, (guint)i) : NULL;

    if (!v)
        return FALSE;
    if (v->type == MOM_VALUE_INT)
        *out = (double)v->u.i;
    else if (v->type == MOM_VALUE_FLOAT)
        *out = v->u.d;
    else if (v->type == MOM_VALUE_BOOL)
        *out = v->u.b ? 1 : 0;
    else
        return FALSE;
    return TRUE;
}

/* One gauge of the host, from @field times @scale; left out when absent. */
typedef struct {
    const char *metric, *field;
    double scale;
    const char *type, *help;
} HostMetric;

static const HostMetric host_metrics[] = {
    {"momd_host_memory_total_bytes", "mem_available", 1024, "gauge",
     "Host memory (MemTotal, MOM's mem_available)."},
    {"momd_host_memory_free_bytes", "mem_free", 1024, "gauge",
     "Host free memory as MOM counts it: MemFree + Buffers + Cached."},
    {"momd_host_memory_available_bytes", "mem_avail_real", 1024, "gauge",
     "The kernel's MemAvailable."},
    {"momd_host_swap_used_bytes", "swap_usage", 1024, "gauge", "Host swap in use."},
    {"momd_host_memory_pressure_some_avg10_ratio", "psi_mem_some_avg10", 0.01, "gauge",
     "Share of the last 10 s in which some task stalled on memory (PSI)."},
    {"momd_host_memory_pressure_full_avg10_ratio", "psi_mem_full_avg10", 0.01, "gauge",
     "Share of the last 10 s in which all non-idle tasks stalled on memory (PSI)."},
    {"momd_host_memory_pressure_some_avg60_ratio", "psi_mem_some_avg60", 0.01, "gauge",
     "Share of the last 60 s in which some task stalled on memory (PSI)."},
    {"momd_ksm_run", "ksm_run", 1, "gauge", "KSM's run setting: 0 stopped, 1 running, 2 unmerge."},
    {"momd_ksm_pages_shared", "ksm_pages_shared", 1, "gauge", "KSM pages in use (shared)."},
    {"momd_ksm_pages_sharing", "ksm_pages_sharing", 1, "gauge",
     "Pages that share a KSM page: the pages saved."},
    {"momd_ksm_saved_bytes", "ksm_pages_sharing", 0, "gauge",
     "Memory KSM saves (pages_sharing times the page size)."},
    {"momd_ksm_profit_bytes", "ksm_general_profit", 1, "gauge",
     "KSM's general_profit: what it saves minus its own metadata."},
    {"momd_ksm_mergeable_bytes", "ksm_mergeable", 1024, "gauge",
     "Memory of the processes that merge, which ksmd scans."},
    {"momd_ksm_pages_to_scan", "ksm_pages_to_scan", 1, "gauge", "ksmd's pages per wake-up."},
    {"momd_ksm_sleep_seconds", "ksm_sleep_millisecs", 0.001, "gauge",
     "ksmd's pause between wake-ups."},
    {"momd_ksm_full_scans_total", "ksm_full_scans", 1, "counter", "Full scans ksmd completed."},
};

typedef struct {
    const char *metric, *field;
    double scale;
    const char *help;
} GuestMetric;

static const GuestMetric guest_metrics[] = {
    {"momd_guest_balloon_current_bytes", "balloon_cur", 1024, "Memory the guest has now."},
    {"momd_guest_balloon_maximum_bytes", "balloon_max", 1024, "The guest's maximum memory."},
    {"momd_guest_balloon_minimum_bytes", "balloon_min", 1024, "The guest's guaranteed memory."},
    {"momd_guest_memory_unused_bytes", "mem_unused", 1024,
     "Memory unused inside the guest (its balloon statistics)."},
    {"momd_guest_memory_available_bytes", "mem_available", 1024,
     "Memory the guest's kernel sees (its balloon statistics)."},
    {"momd_guest_rss_bytes", "rss", 1024, "Resident memory of the guest's QEMU process."},
};

static const char *
guest_name(MomEntity *g)
{
    const MomValue *v = mom_entity_get_prop(g, "name");
    return v && v->type == MOM_VALUE_STRING ? mom_value_string_get(v) : mom_entity_name(g);
}

static void
render_host(GString *out, MomEntity *host)
{
    for (guint i = 0; host && i < G_N_ELEMENTS(host_metrics); i++) {
        const HostMetric *m = &host_metrics[i];
        double v;
        if (!stat_double(host, m->field, &v))
            continue;
        help(out, m->metric, m->type, m->help);
        /* scale 0: pages, times the page size; a scale under 1 divides, so
         * that 1.1 % is 0.011 and not 0.011000000000000001 */
        if (m->scale == 0)
            v *= (double)sysconf(_SC_PAGESIZE);
        else if (m->scale < 1)
            v /= 1 / m->scale;
        else
            v *= m->scale;
        sample_double(out, m->metric, NULL, v);
    }
}

static void
render_guests(GString *out, GPtrArray *guests)
{
    for (guint i = 0; guests && i < G_N_ELEMENTS(guest_metrics); i++) {
        const GuestMetric *m = &guest_metrics[i];
        gboolean said = FALSE;
        for (guint k = 0; k < guests->len; k++) {
            double v;
            if (!stat_double(guests->pdata[k], m->field, &v))
                continue;
            if (!said)
                help(out, m->metric, "gauge", m->help);
            said = TRUE;
            sample_double(out, m->metric, guest_name(guests->pdata[k]), v * m->scale);
        }
    }
    /* the target asked in the last cycle, where one was */
    gboolean said = FALSE;
    for (guint k = 0; guests && k < guests->len; k++) {
        const MomValue *t = mom_entity_get_control(guests->pdata[k], "balloon_target");
        double v;
        if (!t || (t->type != MOM_VALUE_INT && t->type != MOM_VALUE_FLOAT))
            continue;
        v = t->type == MOM_VALUE_INT ? (double)t->u.i : t->u.d;
        if (!said)
            help(out, "momd_guest_balloon_target_bytes", "gauge",
                 "The balloon size the policy asked for in the last cycle.");
        said = TRUE;
        sample_double(out, "momd_guest_balloon_target_bytes", guest_name(guests->pdata[k]),
                      v * 1024);
    }
}

static void
render_counters(MomMetrics *m, GString *out)
{
    char buf[40];
    guint64 cumulative = 0;

    if (m->last_cycle) {
        help(out, "momd_last_cycle_timestamp_seconds", "gauge",
             "When the last policy cycle ran (Unix time): a stale textfile shows here.");
        g_string_append_printf(out, "momd_last_cycle_timestamp_seconds %s\n",
                               fmt_value((double)(m->last_cycle / G_USEC_PER_SEC), buf));
    }
    help(out, "momd_policy_cycles_total", "counter", "Policy cycles run.");
    g_string_append_printf(out, "momd_policy_cycles_total %" G_GUINT64_FORMAT "\n", m->cycles);
    help(out, "momd_policy_errors_total", "counter",
         "Policy cycles that failed (their decisions were dropped).");
    g_string_append_printf(out, "momd_policy_errors_total %" G_GUINT64_FORMAT "\n", m->errors);
    help(out, "momd_policy_cycle_duration_seconds", "histogram",
         "Wall time of a policy evaluation and its controllers.");
    for (guint i = 0; i < N_BOUNDS; i++) {
        cumulative += m->buckets[i];
        g_string_append_printf(
            out, "momd_policy_cycle_duration_seconds_bucket{le=\"%s\"} %" G_GUINT64_FORMAT "\n",
            fmt_value(duration_bounds[i], buf), cumulative);
    }
    g_string_append_printf(
        out,
        "momd_policy_cycle_duration_seconds_bucket{le=\"+Inf\"} %" G_GUINT64_FORMAT
        "\nmomd_policy_cycle_duration_seconds_sum %s\n"
        "momd_policy_cycle_duration_seconds_count %" G_GUINT64_FORMAT "\n",
        m->duration_count, fmt_value(m->duration_sum, buf), m->duration_count);
    help(out, "momd_controller_actions_total", "counter",
         "Controls the controllers handled, by what they did with them.");
    for (guint c = 0; c < N_CONTROLLERS; c++)
        for (guint r = 0; r < N_RESULTS; r++)
            g_string_append_printf(out,
                                   "momd_controller_actions_total{controller=\"%s\",result=\"%s\"} "
                                   "%" G_GUINT64_FORMAT "\n",
                                   controllers[c], results[r], m->actions[c][r]);
}

typedef struct {
    GString *out;
    gboolean said;
} FailureWalk;

static void
render_failure(const char *collector, guint64 count, gpointer data)
{
    FailureWalk *w = data;

    if (!w->said)
        help(w->out, "momd_collector_failures_total", "counter",
             "Collections that failed, by collector.");
    w->said = TRUE;
    g_string_append(w->out, "momd_collector_failures_total{collector=\"");
    append_label(w->out, collector);
    g_string_append_printf(w->out, "\"} %" G_GUINT64_FORMAT "\n", count);
}

static void
render_process(GString *out)
{
    struct rusage ru;
    char buf[40];
    g_autofree char *statm = NULL;
    long pages = 0;

    help(out, "momd_build_info", "gauge", "momd's version, as a label; the value is 1.");
    g_string_append(out, "momd_build_info{version=\"");
    append_label(out, PACKAGE_VERSION);
    g_string_append(out, "\"} 1\n");
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
                     ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
        help(out, "momd_process_cpu_seconds_total", "counter", "CPU time momd used.");
        g_string_append_printf(out, "momd_process_cpu_seconds_total %s\n", fmt_value(cpu, buf));
    }
    if (g_file_get_contents("/proc/self/statm", &statm, NULL, NULL) &&
        sscanf(statm, "%*d %ld", &pages) == 1) {
        help(out, "momd_process_resident_memory_bytes", "gauge", "momd's resident memory.");
        g_string_append_printf(out, "momd_process_resident_memory_bytes %ld\n",
                               pages * sysconf(_SC_PAGESIZE));
    }
}

static void
render(MomMetrics *m, const MomMetricsCycle *c)
{
    FailureWalk fw = {m->text, FALSE};

    g_string_truncate(m->text, 0);
    render_process(m->text);
    render_counters(m, m->text);
    mom_monitor_foreach_failure(render_failure, &fw);
    help(m->text, "momd_controller_call_failures_total", "counter",
         "Hypervisor calls that libvirt refused after the control was requested, by controller.");
    for (guint i = 0; i < N_CONTROLLERS; i++) {
        if (strcmp(controllers[i], "KSM") == 0 || strcmp(controllers[i], "other") == 0)
            continue; /* KSM writes sysfs at once: its failures are in its outcomes */
        g_string_append_printf(
            m->text,
            "momd_controller_call_failures_total{controller=\"%s\"} %" G_GUINT64_FORMAT "\n",
            controllers[i], mom_controller_call_failures(controllers[i]));
    }
    if (c) {
        render_host(m->text, c->host);
        help(m->text, "momd_guests", "gauge", "Guests momd manages.");
        g_string_append_printf(m->text, "momd_guests %u\n", c->guests ? c->guests->len : 0);
        render_guests(m->text, c->guests);
    }
}

/* ---- counting ----------------------------------------------------------- */

static void
count_actions(MomMetrics *m, MomEntity *e)
{
    for (guint i = 0; e && i < mom_entity_n_controls(e); i++) {
        const MomControl *c = mom_entity_control(e, i);
        guint ctl = index_of(controllers, N_CONTROLLERS, mom_metrics_control_controller(c->name));
        guint res = index_of(results, N_RESULTS, mom_metrics_outcome_result(c->outcome));
        m->actions[ctl][res]++;
    }
}

/* ---- output ------------------------------------------------------------- */

/* A temporary file in the same directory, mode 0644 whatever the umask
 * (node_exporter runs as another user), then renamed over the textfile:
 * node_exporter never reads half a file. */
static gboolean
write_textfile(MomMetrics *m, GError **error)
{
    g_autofree char *tmp = g_strconcat(m->textfile, ".XXXXXX", NULL);
    int fd = g_mkstemp_full(tmp, O_WRONLY | O_CLOEXEC, 0644);
    int err = 0;

    if (fd < 0) {
        err = errno;
        goto fail;
    }
    const char *p = m->text->str;
    gsize left = m->text->len;
    while (left > 0) {
        gssize n = write(fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            err = n < 0 ? errno : EIO;
            break;
        }
        p += n;
        left -= (gsize)n;
    }
    if (!err && fchmod(fd, 0644) != 0)
        err = errno;
    if (close(fd) != 0 && !err)
        err = errno;
    if (!err && rename(tmp, m->textfile) != 0)
        err = errno;
    if (!err)
        return TRUE;
    g_unlink(tmp);
fail:
    g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(err), "%s", g_strerror(err));
    return FALSE;
}

static void
publish(MomMetrics *m)
{
    g_autoptr(GError) error = NULL;

    if (!m->textfile)
        return;
    if (!write_textfile(m, &error)) {
        if (!m->textfile_failing)
            g_warning("Cannot write the metrics textfile %s: %s; momd tries again after every "
                      "policy cycle.",
                      m->textfile, error->message);
        m->textfile_failing = TRUE;
        return;
    }
    if (m->textfile_failing)
        g_message("The metrics textfile %s is written again.", m->textfile);
    m->textfile_failing = FALSE;
}

void
mom_metrics_cycle(MomMetrics *m, const MomMetricsCycle *c)
{
    guint b;

    if (!m)
        return;
    m->cycles++;
    if (!c->ok)
        m->errors++;
    for (b = 0; b < N_BOUNDS && c->seconds > duration_bounds[b]; b++)
        ;
    if (b < N_BOUNDS)
        m->buckets[b]++;
    m->duration_count++;
    m->duration_sum += c->seconds;
    m->last_cycle = g_get_real_time();
    count_actions(m, c->host);
    for (guint i = 0; c->guests && i < c->guests->len; i++)
        count_actions(m, c->guests->pdata[i]);
    if (!mom_metrics_active(m))
        return; /* counted, for when they are switched on */
    render(m, c);
    publish(m);
}

const char *
mom_metrics_text(MomMetrics *m)
{
    return m->text->str;
}

guint
mom_metrics_port(MomMetrics *m)
{
    return m ? m->port : 0;
}

/* ---- HTTP ----------------------------------------------------------------- */

/* Refuses, on the headers alone, what is not a scrape: another path,
 * another method, or a request with a body.  libsoup still reads a body
 * (HTTP/1.1 cannot skip it), but it is not kept, and the connection is
 * closed after the answer; the deadline bounds the time it may take. */
static void
early_check(SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
            gpointer data)
{
    const char *method = soup_server_message_get_method(msg);
    SoupMessageHeaders *req = soup_server_message_get_request_headers(msg);
    SoupMessageHeaders *resp = soup_server_message_get_response_headers(msg);
    SoupEncoding enc = soup_message_headers_get_encoding(req);
    gboolean body =
        enc == SOUP_ENCODING_CHUNKED ||
        (enc == SOUP_ENCODING_CONTENT_LENGTH && soup_message_headers_get_content_length(req) > 0);
    guint status = strcmp(path, "/metrics") != 0 ? SOUP_STATUS_NOT_FOUND
                   : strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0
                       ? SOUP_STATUS_METHOD_NOT_ALLOWED
                   : body ? SOUP_STATUS_BAD_REQUEST
                          : 0;

    if (!status)
        return;
    if (status == SOUP_STATUS_METHOD_NOT_ALLOWED)
        soup_message_headers_replace(resp, "Allow", "GET, HEAD");
    soup_message_headers_replace(resp, "Connection", "close");
    soup_message_body_set_accumulate(soup_server_message_get_request_body(msg), FALSE);
    soup_server_message_set_status(msg, status, NULL);
}

static gboolean
request_deadline(gpointer data)
{
    GSocket *socket = data;

    g_socket_shutdown(socket, TRUE, TRUE, NULL);
    return G_SOURCE_REMOVE;
}

static void
request_finished(SoupServerMessage *msg, gpointer data)
{
    g_source_destroy(data);
}

static void
request_started(SoupServer *server, SoupServerMessage *msg, gpointer data)
{
    GSocket *socket = soup_server_message_get_socket(msg);

    if (!socket)
        return;
    GSource *deadline = g_timeout_source_new_seconds(REQUEST_TIMEOUT_S);
    g_source_set_name(deadline, "momd metrics request deadline");
    g_source_set_callback(deadline, request_deadline, g_object_ref(socket), g_object_unref);
    g_source_attach(deadline, NULL);
    g_signal_connect_data(msg, "finished", G_CALLBACK(request_finished), deadline,
                          (GClosureNotify)(void (*)(void))g_source_unref, 0);
}

static void
serve_metrics(SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
              gpointer data)
{
    MomMetrics *m = data;

    if (soup_server_message_get_status(msg) != SOUP_STATUS_NONE)
        return; /* refused by early_check */
    soup_server_message_set_status(msg, SOUP_STATUS_OK, NULL);
    soup_server_message_set_response(msg, "text/plain; version=0.0.4; charset=utf-8",
                                     SOUP_MEMORY_COPY, m->text->str, m->text->len);
}

/* "127.0.0.1:9177", "[::1]:9177", "localhost:9177" → address and port. */
static GSocketAddress *
parse_listen(const char *listen, GError **error)
{
    g_autofree char *host = NULL;
    const char *colon = strrchr(listen, ':');
    char *end = NULL;
    guint64 port;

    if (!colon || colon == listen)
        goto bad;
    port = g_ascii_strtoull(colon + 1, &end, 10);
    if (end == colon + 1 || *end != '\0' || port > 65535)
        goto bad;
    host = g_strndup(listen, (gsize)(colon - listen));
    if (host[0] == '[') {
        gsize n = strlen(host);
        if (n < 3 || host[n - 1] != ']')
            goto bad;
        memmove(host, host + 1, n - 2);
        host[n - 2] = '\0';
    }
    if (strcmp(host, "localhost") == 0) {
        g_free(host);
        host = g_strdup("127.0.0.1");
    }
    GSocketAddress *addr = g_inet_socket_address_new_from_string(host, (guint)port);
    if (addr)
        return addr;
bad:
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                "[metrics] listen: '%s' is not ADDRESS:PORT (for example 127.0.0.1:9177 or "
                "[::1]:9177).",
                listen);
    return NULL;
}

/* A listener on @listen serving @m; NULL with @error when it cannot be. */
static SoupServer *
start_server(MomMetrics *m, const char *listen, guint *port, GError **error)
{
    g_autoptr(GSocketAddress) addr = parse_listen(listen, error);
    g_autoptr(GError) local = NULL;

    if (!addr)
        return NULL;
    g_autoptr(SoupServer) server = soup_server_new("server-header", "momd", NULL);
    soup_server_add_early_handler(server, NULL, early_check, NULL, NULL);
    soup_server_add_handler(server, NULL, serve_metrics, m, NULL);
    g_signal_connect(server, "request-started", G_CALLBACK(request_started), NULL);
    if (!soup_server_listen(server, addr, 0, &local)) {
        g_set_error(error, G_IO_ERROR, local->code, "Cannot serve metrics on %s: %s.", listen,
                    local->message);
        return NULL;
    }
    GInetAddress *ip = g_inet_socket_address_get_address(G_INET_SOCKET_ADDRESS(addr));
    if (!g_inet_address_get_is_loopback(ip))
        g_warning("[metrics] listen is %s, which is not a loopback address: anyone who can reach "
                  "it reads momd's metrics (the guests' names and sizes) without authentication.",
                  listen);
    GSList *uris = soup_server_get_uris(server);
    *port = uris ? (guint)g_uri_get_port(uris->data) : 0;
    g_slist_free_full(uris, (GDestroyNotify)g_uri_unref);
    return g_steal_pointer(&server);
}

static void
stop_server(MomMetrics *m)
{
    if (m->server) {
        soup_server_disconnect(m->server);
        g_clear_object(&m->server);
    }
    g_clear_pointer(&m->listen, g_free);
    m->port = 0;
}

MomMetrics *
mom_metrics_new(void)
{
    MomMetrics *m = g_new0(MomMetrics, 1);

    m->text = g_string_new(NULL);
    render(m, NULL);
    return m;
}

static const char *
or_empty(const char *s)
{
    return s ? s : "";
}

gboolean
mom_metrics_configure(MomMetrics *m, const MomMetricsOptions *options, GError **error)
{
    const char *listen = or_empty(options->listen), *textfile = or_empty(options->textfile);
    SoupServer *server = NULL;
    guint port = 0;

    if (*textfile) {
        g_autofree char *dir = g_path_get_dirname(textfile);
        if (!g_file_test(dir, G_FILE_TEST_IS_DIR)) {
            g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NOENT,
                        "[metrics] textfile: the directory %s of %s does not exist.", dir,
                        textfile);
            return FALSE;
        }
    }
    /* the same address keeps its listener; a new one must start before
     * the old one goes, so that a refused change leaves things as they were */
    if (*listen && strcmp(listen, or_empty(m->listen)) != 0) {
        server = start_server(m, listen, &port, error);
        if (!server)
            return FALSE;
    }
    if (server || !*listen) {
        stop_server(m);
        if (server) {
            m->server = server;
            m->port = port;
            m->listen = g_strdup(listen);
        }
    }
    if (strcmp(textfile, or_empty(m->textfile)) != 0) {
        if (m->textfile)
            g_unlink(m->textfile); /* node_exporter must not export it frozen */
        g_free(m->textfile);
        m->textfile = *textfile ? g_strdup(textfile) : NULL;
        m->textfile_failing = FALSE;
        publish(m);
    }
    return TRUE;
}

gboolean
mom_metrics_active(MomMetrics *m)
{
    return m && (m->server || m->textfile);
}

void
mom_metrics_free(MomMetrics *m)
{
    if (!m)
        return;
    stop_server(m);
    if (m->textfile)
        g_unlink(m->textfile); /* a stopped momd exports nothing */
    g_string_free(m->text, TRUE);
    g_free(m->textfile);
    g_free(m);
}
