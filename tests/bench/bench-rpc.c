/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench-rpc: what the control API's large answers cost, measured on the
 * real momd binary against libvirt's test driver with 10, 100 and 1 000
 * running domains.  Issue 5's target: getStatistics with 1 000 guests in
 * at most 10 ms per call.
 *
 *   bench-rpc [--only N] [--calls C] [--min-time SEC] [--method NAME]
 *
 * For each size it writes, in a temporary directory, a test-driver node
 * file (tests/libvirt/make-test-xml.py) and a momd.conf: 1 s intervals,
 * the shipped data/policies, host collectors HostMemory, HostKSM, HostCpu,
 * guest collectors GuestMemory and GuestBalloon, the Balloon controller in
 * dry-run mode, no plots, the control socket and the log file in the
 * temporary directory.  It starts momd in the foreground as a child and
 * waits (at most READY_TIMEOUT) until getActiveGuests names N guests,
 * getStatistics has a balloon_cur for each of them, the histories are
 * full (HISTORY samples, which getSnapshot carries) and a policy cycle has
 * run since, so that getControls covers every guest: the steady state.
 *
 * Then, per method (getStatistics, and getSnapshot and getControls, the
 * other large answers), one warm-up call and timed calls through the
 * project's client, mom_rpc_call(), which opens one connection per call
 * as momctl does: at least C calls (200; 100 from 1 000 guests on) and at
 * least SEC seconds (5), so that the window spans several of momd's
 * cycles.  It prints, in ms per call:
 *   median, p95, max  the wall latency of each call on the client;
 *   decode  of that, the client's reading of one answer back into JSON
 *           (mom_xmlrpc_parse_response() alone, median of DECODE_ROUNDS);
 *   raw     the wall latency of a client that reads the answer and does not
 *           decode it: one HTTP POST on a fresh connection, timed until the
 *           last byte (median of DECODE_ROUNDS): what momd itself takes;
 *   client  this process's CPU (getrusage): building the request,
 *           libsoup, reading the answer into JSON and freeing it;
 *   server  momd's CPU (utime + stime of /proc/PID/stat, all threads)
 *           over the calls.  This includes momd's own cycles, which go on
 *           during the calls, so
 *   idle    momd's CPU over the same wall time right after, without calls
 *           (its cycles alone), and
 *   net     server - idle: what answering costs.
 * /proc counts in clock ticks (10 ms at USER_HZ 100), so server and idle
 * are exact to 10 ms / calls per call.  Also the size of one answer (the
 * methodResponse body, rebuilt from the answer with momd's own codec)
 * and momd's VmRSS and RssAnon after the calls.
 *
 * momd is stopped with SIGTERM and must exit with status 0.  Any failure
 * (momd not starting, not seeing the guests in time, a call failing, a
 * wrong answer) prints a sentence and the tail of momd's log, and the
 * program exits with status 1.  The temporary directory is removed in every
 * case; momd gets SIGTERM if this program dies (PR_SET_PDEATHSIG).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "mom-rpc.h"

/* tests/bench/meson.build passes the paths of the build and source trees */
#if !defined(MOM_BENCH_MOMD) || !defined(MOM_BENCH_POLICY_DIR) || !defined(MOM_BENCH_XML_SCRIPT)
#error "MOM_BENCH_MOMD (src/momd), MOM_BENCH_POLICY_DIR and MOM_BENCH_XML_SCRIPT must be defined"
#endif

#define READY_TIMEOUT 60 /* seconds for momd to report every guest */
#define CALL_TIMEOUT 30  /* seconds per call: generous, a slow call is a result */
#define STOP_TIMEOUT 30  /* seconds for momd to exit after SIGTERM */
#define DECODE_ROUNDS 31 /* decodes of one answer, for the median */
#define HISTORY 10       /* [main] sample-history-length, written in momd.conf */

/* Issue 5: getStatistics with 1 000 guests, for the median latency and
 * for momd's net CPU per call alike. */
#define TARGET_MS 10.0
#define TARGET_GUESTS 1000

static const guint sizes[] = {10, 100, 1000};
static const char *const methods[] = {"getStatistics", "getSnapshot", "getControls", NULL};

/* Set by SIGINT, SIGTERM and SIGHUP: the loops stop and clean up. */
static volatile sig_atomic_t interrupted;

static void
on_signal(int sig)
{
    interrupted = sig;
}

/* One momd child and its temporary directory. */
typedef struct {
    char *tmp;
    char *socket;
    char *log;
    char *out; /* momd's stdout and stderr */
    GPid pid;  /* 0 once reaped */
    int status;
} BenchMomd;

typedef struct {
    guint calls;
    gsize bytes;
    double median, p95, max;     /* wall ms per call */
    double decode;               /* wall ms to read one answer, median */
    double raw;                  /* wall ms of a call whose answer is not decoded, median */
    double client, server, idle; /* CPU ms per call */
    long rss_kib, anon_kib;      /* momd's, after the calls */
} BenchResult;

/* utime + stime of every thread of @pid so far, in ms; -1 if unreadable. */
static double
proc_cpu_ms(GPid pid)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/stat", pid);
    g_autofree char *text = NULL;
    unsigned long long utime, stime;
    const char *p;

    /* "PID (COMM) S ..." where COMM may hold spaces and parentheses */
    if (!g_file_get_contents(path, &text, NULL, NULL) || !(p = strrchr(text, ')')))
        return -1;
    /* after the comm: fields 3 (state) to 13, then 14 utime and 15 stime */
    if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) !=
        2)
        return -1;
    return (double)(utime + stime) * 1000.0 / (double)sysconf(_SC_CLK_TCK);
}

/* A "KEY:   1234 kB" line of /proc/@pid/status, in KiB; -1 if absent. */
static long
proc_status_kib(GPid pid, const char *key)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/status", pid);
    g_autofree char *text = NULL;
    g_autofree char *needle = g_strdup_printf("\n%s:", key);
    const char *at;

    if (!g_file_get_contents(path, &text, NULL, NULL) || !(at = strstr(text, needle)))
        return -1;
    return strtol(at + strlen(needle), NULL, 10);
}

/* This process's user + system CPU so far, in ms. */
static double
self_cpu_ms(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static double
now_ms(void)
{
    return (double)g_get_monotonic_time() / 1e3;
}

/* Sleeps @ms, in short steps so that a signal ends it early. */
static void
sleep_ms(double ms)
{
    double end = now_ms() + ms;

    while (!interrupted && now_ms() < end)
        g_usleep((gulong)(MIN(100.0, end - now_ms()) * 1000));
}

/* "exited with status 3" or "was killed by signal 9", for messages. */
static char *
describe_exit(int status)
{
    if (WIFEXITED(status))
        return g_strdup_printf("exited with status %d", WEXITSTATUS(status));
    if (WIFSIGNALED(status))
        return g_strdup_printf("was killed by signal %d", WTERMSIG(status));
    return g_strdup_printf("ended with wait status 0x%x", (guint)status);
}

/* Reaps momd if it has exited.  Returns: TRUE while it runs. */
static gboolean
momd_running(BenchMomd *b)
{
    if (b->pid > 0 && waitpid(b->pid, &b->status, WNOHANG) == b->pid)
        b->pid = 0;
    return b->pid > 0;
}

static void
momd_child_setup(gpointer data)
{
    /* momd must not outlive this program, even when it is killed */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
}

/* Writes the test-driver file for @n domains and momd.conf into b->tmp. */
static gboolean
write_setup(BenchMomd *b, guint n, GError **error)
{
    g_autofree char *count = g_strdup_printf("%u", n);
    g_autofree char *xml = g_build_filename(b->tmp, "guests.xml", NULL);
    g_autofree char *conf = g_build_filename(b->tmp, "momd.conf", NULL);
    const char *argv[] = {"python3", MOM_BENCH_XML_SCRIPT, count, xml, NULL};
    int status = 0;

    if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL,
                      &status, error) ||
        !g_spawn_check_wait_status(status, error)) {
        g_prefix_error(error, "make-test-xml.py could not write %s: ", xml);
        return FALSE;
    }
    /* 1 s intervals, so that the guests are ready within seconds; the
     * cycles keep running during the calls, as on a real host */
    g_autofree char *text = g_strdup_printf("# Written by bench-rpc.\n"
                                            "[main]\n"
                                            "rpc-port: %s\n"
                                            "host-monitor-interval: 1\n"
                                            "guest-monitor-interval: 1\n"
                                            "guest-manager-interval: 1\n"
                                            "policy-engine-interval: 1\n"
                                            "sample-history-length: %d\n"
                                            "controllers: Balloon\n"
                                            "dry-run: true\n"
                                            "plot-dir:\n"
                                            "policy-dir: %s\n"
                                            "libvirt-hypervisor-uri: test://%s\n"
                                            "[logging]\n"
                                            "log: %s\n"
                                            "verbosity: info\n"
                                            "[host]\n"
                                            "collectors: HostMemory, HostKSM, HostCpu\n"
                                            "[guest]\n"
                                            "collectors: GuestMemory, GuestBalloon\n",
                                            b->socket, HISTORY, MOM_BENCH_POLICY_DIR, xml, b->log);
    return g_file_set_contents(conf, text, -1, error);
}

/* Starts momd on b->tmp/momd.conf, in the foreground, as a child. */
static gboolean
start_momd(BenchMomd *b, GError **error)
{
    g_autofree char *conf = g_build_filename(b->tmp, "momd.conf", NULL);
    const char *argv[] = {MOM_BENCH_MOMD, "-c", conf, NULL};
    int fd = g_open(b->out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    gboolean ok;

    if (fd < 0) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "Cannot create %s: %s", b->out,
                    g_strerror(errno));
        return FALSE;
    }
    ok = g_spawn_async_with_pipes_and_fds(NULL, argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD,
                                          momd_child_setup, NULL, -1, fd, fd, NULL, NULL, 0,
                                          &b->pid, NULL, NULL, NULL, error);
    close(fd);
    if (!ok)
        g_prefix_error(error, "Cannot start %s: ", MOM_BENCH_MOMD);
    return ok;
}

/* SIGTERM, then waits.  Returns: TRUE if momd exited with status 0. */
static gboolean
stop_momd(BenchMomd *b, GError **error)
{
    double end = now_ms() + STOP_TIMEOUT * 1e3;

    if (b->pid > 0)
        kill(b->pid, SIGTERM);
    while (momd_running(b) && now_ms() < end)
        g_usleep(20 * 1000);
    if (momd_running(b)) {
        kill(b->pid, SIGKILL);
        waitpid(b->pid, &b->status, 0);
        b->pid = 0;
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                    "momd did not exit within %d s of SIGTERM and was killed.", STOP_TIMEOUT);
        return FALSE;
    }
    if (!WIFEXITED(b->status) || WEXITSTATUS(b->status) != 0) {
        g_autofree char *how = describe_exit(b->status);
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "momd %s after SIGTERM.", how);
        return FALSE;
    }
    return TRUE;
}

/* The last @lines lines of @path on stderr, to show why momd failed. */
static void
print_tail(const char *path, guint lines)
{
    g_autofree char *text = NULL;
    gsize len = 0;
    const char *start;
    guint seen = 0;

    if (!g_file_get_contents(path, &text, &len, NULL) || len == 0)
        return;
    start = text + len;
    while (start > text && seen <= lines)
        if (*--start == '\n')
            seen++;
    if (*start == '\n')
        start++;
    fprintf(stderr, "bench-rpc: the end of %s:\n%s", path, start);
}

/* Kills momd if it still runs, and removes the temporary directory (it
 * has no subdirectories: momd's files and rotated logs only). */
static void
bench_momd_free(BenchMomd *b)
{
    if (momd_running(b)) {
        kill(b->pid, SIGKILL);
        waitpid(b->pid, &b->status, 0);
    }
    if (b->tmp) {
        g_autoptr(GDir) dir = g_dir_open(b->tmp, 0, NULL);
        const char *name;
        while (dir && (name = g_dir_read_name(dir))) {
            g_autofree char *path = g_build_filename(b->tmp, name, NULL);
            g_unlink(path);
        }
        g_rmdir(b->tmp);
    }
    g_free(b->tmp);
    g_free(b->socket);
    g_free(b->log);
    g_free(b->out);
}

/* The object member @name of @node, or NULL. */
static JsonObject *
member_object(JsonNode *node, const char *name)
{
    JsonObject *o = JSON_NODE_HOLDS_OBJECT(node) ? json_node_get_object(node) : NULL;
    JsonNode *m = o ? json_object_get_member(o, name) : NULL;

    return m && JSON_NODE_HOLDS_OBJECT(m) ? json_node_get_object(m) : NULL;
}

/*
 * How many guests an answer of @method covers: for getStatistics, those
 * whose newest sample has an integer balloon_cur (a guest with data); for
 * getControls, the guests it lists; for getSnapshot, the "guests" array
 * of the state it carries.  Returns: the count, or -1 for a malformed
 * answer.
 */
static int
answer_guests(const char *method, JsonNode *result)
{
    if (strcmp(method, "getSnapshot") == 0) {
        g_autoptr(JsonParser) parser = json_parser_new();
        JsonNode *guests;

        if (!JSON_NODE_HOLDS_VALUE(result) || json_node_get_value_type(result) != G_TYPE_STRING ||
            !json_parser_load_from_data(parser, json_node_get_string(result), -1, NULL) ||
            !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser)))
            return -1;
        guests =
            json_object_get_member(json_node_get_object(json_parser_get_root(parser)), "guests");
        return guests && JSON_NODE_HOLDS_ARRAY(guests)
                   ? (int)json_array_get_length(json_node_get_array(guests))
                   : -1;
    }

    JsonObject *guests = member_object(result, "guests");
    if (!guests)
        return -1;
    if (strcmp(method, "getControls") == 0)
        return (int)json_object_get_size(guests);

    g_autoptr(GList) names = json_object_get_members(guests);
    int with_data = 0;
    for (GList *l = names; l; l = l->next) {
        JsonNode *sample = json_object_get_member(guests, l->data);
        JsonObject *o = JSON_NODE_HOLDS_OBJECT(sample) ? json_node_get_object(sample) : NULL;
        JsonNode *cur = o ? json_object_get_member(o, "balloon_cur") : NULL;
        if (cur && JSON_NODE_HOLDS_VALUE(cur) && json_node_get_value_type(cur) == G_TYPE_INT64)
            with_data++;
    }
    return with_data;
}

/* getControls' "cycle": the number of the last policy cycle; -1 on error. */
static gint64
policy_cycle(BenchMomd *b, GError **error)
{
    g_autoptr(JsonNode) result = mom_rpc_call(b->socket, "getControls", NULL, CALL_TIMEOUT, error);
    JsonObject *o = result && JSON_NODE_HOLDS_OBJECT(result) ? json_node_get_object(result) : NULL;

    if (!result)
        return -1;
    if (!o || !json_object_has_member(o, "cycle")) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                    "getControls answered without a \"cycle\" member.");
        return -1;
    }
    return json_object_get_int_member(o, "cycle");
}

/* How many samples getGuestStatistics has for guest @name; -1 on error. */
static int
history_length(BenchMomd *b, const char *name, GError **error)
{
    g_autoptr(JsonArray) params = json_array_new();
    json_array_add_string_element(params, name);
    g_autoptr(JsonNode) result =
        mom_rpc_call(b->socket, "getGuestStatistics", params, CALL_TIMEOUT, error);
    JsonObject *o = result && JSON_NODE_HOLDS_OBJECT(result) ? json_node_get_object(result) : NULL;
    JsonNode *samples = o ? json_object_get_member(o, "samples") : NULL;

    if (!result)
        return -1;
    if (!samples || !JSON_NODE_HOLDS_ARRAY(samples)) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                    "getGuestStatistics %s answered without a \"samples\" array.", name);
        return -1;
    }
    return (int)json_array_get_length(json_node_get_array(samples));
}

/*
 * Waits until momd names @n active guests, has statistics for all of
 * them, full histories (HISTORY samples: getSnapshot carries them), and
 * has run a policy cycle since, so that getControls covers every guest.
 * Sets @data_s and @ready_s to the seconds it took until every guest had
 * data, and until all of this.  Returns: FALSE with @error when momd
 * exits, a call fails other than by momd not listening yet, or
 * READY_TIMEOUT passes.
 */
static gboolean
wait_ready(BenchMomd *b, guint n, double *data_s, double *ready_s, GError **error)
{
    double start = now_ms(), end = start + READY_TIMEOUT * 1e3;
    int active = -1, with_data = -1, history = -1;
    gint64 cycle = -1;

    *data_s = 0;
    while (!interrupted) {
        g_autoptr(GError) local = NULL;
        g_autoptr(JsonNode) list = NULL;
        g_autoptr(JsonNode) stats = NULL;
        JsonArray *names;

        if (!momd_running(b)) {
            g_autofree char *how = describe_exit(b->status);
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
                        "momd %s before it reported %u guests.", how, n);
            return FALSE;
        }
        if (now_ms() > end) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                        "momd did not report %u guests with statistics, %d-sample histories "
                        "and a policy cycle within %d s (last seen: %d active, %d with data, "
                        "%d samples).",
                        n, HISTORY, READY_TIMEOUT, active, with_data, history);
            return FALSE;
        }
        list = mom_rpc_call(b->socket, "getActiveGuests", NULL, CALL_TIMEOUT, &local);
        if (!list && g_error_matches(local, MOM_RPC_ERROR, MOM_RPC_FAULT_CONNECT)) {
            sleep_ms(100); /* not listening yet */
            continue;
        }
        if (!list) {
            g_propagate_prefixed_error(error, g_steal_pointer(&local), "getActiveGuests: ");
            return FALSE;
        }
        names = JSON_NODE_HOLDS_ARRAY(list) ? json_node_get_array(list) : NULL;
        active = names ? (int)json_array_get_length(names) : -1;
        if (active == (int)n) {
            stats = mom_rpc_call(b->socket, "getStatistics", NULL, CALL_TIMEOUT, error);
            if (!stats) {
                g_prefix_error(error, "getStatistics: ");
                return FALSE;
            }
            with_data = answer_guests("getStatistics", stats);
        }
        if (active == (int)n && with_data == (int)n) {
            /* one collection samples every guest: the last one stands for all */
            if (*data_s == 0)
                *data_s = (now_ms() - start) / 1e3;
            history = history_length(b, json_array_get_string_element(names, n - 1), error);
            if (history < 0)
                return FALSE;
        }
        if (active == (int)n && with_data == (int)n && history >= HISTORY) {
            /* the first cycle seen here may predate some guests: wait for the next */
            gint64 now = policy_cycle(b, error);
            if (now < 0)
                return FALSE;
            if (cycle < 0)
                cycle = now;
            else if (now > cycle)
                break;
        }
        sleep_ms(100);
    }
    *ready_s = (now_ms() - start) / 1e3;
    return !interrupted;
}

static int
compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/*
 * One call of @method as a client that does not decode the answer: an
 * HTTP POST on a new connection to @socket_path, read to the end, which
 * must be at least @body_bytes.  Returns: the wall ms until the last
 * byte, or -1 with @error.
 */
static double
raw_call_ms(const char *socket_path, const char *method, gsize body_bytes, GError **error)
{
    g_autofree char *body = mom_xmlrpc_build_call(method, NULL);
    g_autofree char *request = g_strdup_printf("POST /RPC2 HTTP/1.1\r\nHost: localhost\r\n"
                                               "Content-Type: text/xml\r\nContent-Length: %zu\r\n"
                                               "Connection: close\r\n\r\n%s",
                                               strlen(body), body);
    g_autoptr(GSocketAddress) addr = g_unix_socket_address_new(socket_path);
    g_autoptr(GSocket) sock = NULL;
    char buf[65536], head[16] = "";
    gsize got = 0;
    gssize k;
    double t0 = now_ms();

    sock =
        g_socket_new(G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT, error);
    if (!sock || !g_socket_connect(sock, addr, NULL, error))
        return -1;
    g_socket_set_timeout(sock, CALL_TIMEOUT);
    for (gsize off = 0; off < strlen(request); off += (gsize)k)
        if ((k = g_socket_send(sock, request + off, strlen(request) - off, NULL, error)) <= 0)
            return -1;
    while ((k = g_socket_receive(sock, buf, sizeof(buf), NULL, error)) > 0) {
        if (got < sizeof(head) - 1)
            memcpy(head + got, buf, MIN((gsize)k, sizeof(head) - 1 - got));
        got += (gsize)k;
    }
    if (k < 0)
        return -1;
    double ms = now_ms() - t0;
    if (!g_str_has_prefix(head, "HTTP/1.1 200") || got < body_bytes) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                    "momd answered a raw %s with %zu bytes starting \"%s\", not HTTP 200 and "
                    "a body of %zu bytes.",
                    method, got, head, body_bytes);
        return -1;
    }
    return ms;
}

/*
 * One warm-up call of @method, then timed calls until there have been at
 * least @calls and @min_s seconds have passed, then as long again without
 * calls for momd's idle CPU; fills @r.  The window spans several of momd's
 * 1 s cycles, so that the idle baseline is a fair one and /proc's ticks
 * are small against it.  The last answer must cover @n guests.  Returns:
 * FALSE with @error when a call fails.
 */
static gboolean
measure(BenchMomd *b, const char *method, guint n, guint calls, double min_s, BenchResult *r,
        GError **error)
{
    g_autoptr(GArray) wall = g_array_sized_new(FALSE, FALSE, sizeof(double), calls);
    g_autoptr(JsonNode) warm = mom_rpc_call(b->socket, method, NULL, CALL_TIMEOUT, error);
    g_autoptr(JsonNode) last = NULL;
    int covered;

    if (!warm) {
        g_prefix_error(error, "%s: ", method);
        return FALSE;
    }
    g_autofree char *xml = mom_xmlrpc_build_response(warm);
    r->bytes = strlen(xml);

    /* the client's share of a call: reading the answer back into JSON,
     * after one untimed round (the first ones grow the heap) */
    double decode[DECODE_ROUNDS];
    for (int i = -1; i < DECODE_ROUNDS; i++) {
        double t0 = now_ms();
        g_autoptr(JsonNode) back = mom_xmlrpc_parse_response(xml, r->bytes, error);
        if (!back) {
            g_prefix_error(error, "Cannot read back the answer to %s: ", method);
            return FALSE;
        }
        if (i >= 0)
            decode[i] = now_ms() - t0;
    }
    qsort(decode, DECODE_ROUNDS, sizeof(*decode), compare_double);
    r->decode = decode[DECODE_ROUNDS / 2];

    double raw[DECODE_ROUNDS];
    for (int i = 0; i < DECODE_ROUNDS; i++)
        if ((raw[i] = raw_call_ms(b->socket, method, r->bytes, error)) < 0) {
            g_prefix_error(error, "A raw HTTP call of %s failed: ", method);
            return FALSE;
        }
    qsort(raw, DECODE_ROUNDS, sizeof(*raw), compare_double);
    r->raw = raw[DECODE_ROUNDS / 2];

    double server0 = proc_cpu_ms(b->pid), client0 = self_cpu_ms(), start = now_ms();
    while (!interrupted && (wall->len < calls || now_ms() - start < min_s * 1e3)) {
        g_clear_pointer(&last, json_node_unref); /* outside the timed call */
        double t0 = now_ms();
        last = mom_rpc_call(b->socket, method, NULL, CALL_TIMEOUT, error);
        double ms = now_ms() - t0;
        if (!last) {
            g_prefix_error(error, "%s, call %u: ", method, wall->len + 1);
            return FALSE;
        }
        g_array_append_val(wall, ms);
    }
    double elapsed = now_ms() - start;
    double server1 = proc_cpu_ms(b->pid), client1 = self_cpu_ms();
    r->rss_kib = proc_status_kib(b->pid, "VmRSS");
    r->anon_kib = proc_status_kib(b->pid, "RssAnon");

    /* momd's cycles alone, over the same wall time */
    double idle0 = proc_cpu_ms(b->pid);
    sleep_ms(elapsed);
    double idle1 = proc_cpu_ms(b->pid);
    if (interrupted)
        return FALSE;
    if (server0 < 0 || server1 < 0 || idle0 < 0 || idle1 < 0) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
                    "Cannot read /proc/%d/stat: momd has exited.", b->pid);
        return FALSE;
    }
    if ((covered = answer_guests(method, last)) != (int)n) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                    "%s answered for %d guests, not %u.", method, covered, n);
        return FALSE;
    }

    guint k = wall->len;
    double *w = (double *)wall->data;
    qsort(w, k, sizeof(*w), compare_double);
    r->calls = k;
    r->median = k % 2 ? w[k / 2] : (w[k / 2 - 1] + w[k / 2]) / 2;
    r->p95 = w[(k * 95 + 99) / 100 - 1]; /* nearest rank */
    r->max = w[k - 1];
    r->client = (client1 - client0) / k;
    r->server = (server1 - server0) / k;
    r->idle = (idle1 - idle0) / k;
    return TRUE;
}

/* One size: momd with @n guests, every method.  Returns: an exit status. */
static int
run_size(guint n, guint calls, double min_s, const char *only_method)
{
    g_autoptr(GError) error = NULL;
    BenchMomd b = {0};
    int rc = EXIT_FAILURE;
    double data_s = 0, ready_s = 0;

    b.tmp = g_dir_make_tmp("momd-bench-rpc-XXXXXX", &error);
    if (!b.tmp) {
        fprintf(stderr, "bench-rpc: Cannot create a temporary directory: %s\n", error->message);
        return rc;
    }
    b.socket = g_build_filename(b.tmp, "momd.sock", NULL);
    b.log = g_build_filename(b.tmp, "momd.log", NULL);
    b.out = g_build_filename(b.tmp, "momd.out", NULL);
    if (!write_setup(&b, n, &error) || !start_momd(&b, &error) ||
        !wait_ready(&b, n, &data_s, &ready_s, &error))
        goto out;
    printf("# %u guests: every guest had data after %.1f s, full histories after %.1f s; momd "
           "VmRSS %ld KiB, RssAnon %ld KiB before the calls\n",
           n, data_s, ready_s, proc_status_kib(b.pid, "VmRSS"), proc_status_kib(b.pid, "RssAnon"));
    fflush(stdout);

    for (guint m = 0; methods[m]; m++) {
        BenchResult r = {0};
        if (only_method && strcmp(only_method, methods[m]) != 0)
            continue;
        if (!measure(&b, methods[m], n, calls, min_s, &r, &error))
            goto out;
        printf(
            "%6u %-13s %5u %9zu %7.2f %7.2f %7.2f %7.2f %7.2f %7.2f %7.2f %7.2f %7.2f %8ld %8ld\n",
            n, methods[m], r.calls, r.bytes, r.median, r.p95, r.max, r.decode, r.raw, r.client,
            r.server, r.idle, r.server - r.idle, r.rss_kib, r.anon_kib);
        if (n == TARGET_GUESTS && strcmp(methods[m], "getStatistics") == 0)
            printf("# %u guests: getStatistics: momd answers in %.2f ms (raw) with %.2f ms of CPU "
                   "(net): the %.0f ms target is %s; with momd's own client decoding the answer "
                   "a call takes %.2f ms (median)\n",
                   n, r.raw, r.server - r.idle, TARGET_MS,
                   r.raw <= TARGET_MS && r.server - r.idle <= TARGET_MS ? "met" : "not met",
                   r.median);
        fflush(stdout);
    }
    if (!stop_momd(&b, &error))
        goto out;
    rc = EXIT_SUCCESS;
out:
    if (momd_running(&b))
        stop_momd(&b, NULL); /* a clean stop, on failure too */
    if (interrupted)
        fprintf(stderr, "bench-rpc: Interrupted by signal %d; momd is stopped.\n",
                (int)interrupted);
    else if (rc != EXIT_SUCCESS) {
        fprintf(stderr, "bench-rpc: %u guests: %s\n", n,
                error ? error->message : "failed for an unknown reason.");
        print_tail(b.out, 10);
        print_tail(b.log, 20);
    }
    bench_momd_free(&b);
    return rc;
}

/* --calls, or at least 200 timed calls per method (100 from 1 000 guests
 * on, whose calls are slower; --min-time makes them more anyway). */
static guint
default_calls(guint n, gint calls)
{
    return calls > 0 ? (guint)calls : n >= 1000 ? 100 : 200;
}

int
main(int argc, char **argv)
{
    gint only = 0, calls = 0;
    double min_s = 5.0;
    g_autofree char *method = NULL;
    GOptionEntry entries[] = {
        {"only", 0, 0, G_OPTION_ARG_INT, &only, "Run only this many guests", "N"},
        {"calls", 0, 0, G_OPTION_ARG_INT, &calls,
         "At least this many timed calls per method (default 200; 100 from 1 000 guests on)", "C"},
        {"min-time", 0, 0, G_OPTION_ARG_DOUBLE, &min_s,
         "Keep calling for at least this many seconds per method (default 5; 0: exactly C calls)",
         "SEC"},
        {"method", 0, 0, G_OPTION_ARG_STRING, &method,
         "Time only this method (getStatistics, getSnapshot or getControls), e.g. for perf",
         "NAME"},
        {NULL},
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new("- control API benchmark");
    g_autoptr(GError) error = NULL;
    struct sigaction sa = {.sa_handler = on_signal};
    int rc = EXIT_SUCCESS;

    g_option_context_add_main_entries(ctx, entries, NULL);
    if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
        fprintf(stderr, "bench-rpc: %s\n", error->message);
        return 2;
    }
    if (only < 0 || calls < 0 || min_s < 0) {
        fprintf(stderr, "bench-rpc: --only, --calls and --min-time take a positive number.\n");
        return 2;
    }
    if (method && !g_strv_contains((const char *const *)methods, method)) {
        fprintf(stderr, "bench-rpc: --method takes getStatistics, getSnapshot or getControls.\n");
        return 2;
    }
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);

    printf("bench-rpc: momd (%s) on libvirt's test driver, 1 s intervals, default policies, "
           "Balloon controller (dry run); one mom_rpc_call() connection per call\n",
           MOM_BENCH_MOMD);
    printf("# ms per call: wall median/p95/max on the client; decode: reading one answer back "
           "(median of %d); raw: wall of a call whose answer is read but not decoded (median of "
           "%d); CPU of this client, of momd during the calls (server), of momd over "
           "as long without calls (idle), and server - idle (net); bytes of one answer; momd's "
           "VmRSS and RssAnon in KiB after the calls\n",
           DECODE_ROUNDS, DECODE_ROUNDS);
    printf("%6s %-13s %5s %9s %7s %7s %7s %7s %7s %7s %7s %7s %7s %8s %8s\n", "guests", "method",
           "calls", "bytes", "median", "p95", "max", "decode", "raw", "client", "server", "idle",
           "net", "rss", "anon");
    fflush(stdout);
    if (only > 0)
        rc = run_size((guint)only, default_calls((guint)only, calls), min_s, method);
    for (guint i = 0; i < G_N_ELEMENTS(sizes) && only == 0 && !interrupted; i++)
        if (run_size(sizes[i], default_calls(sizes[i], calls), min_s, method) != EXIT_SUCCESS)
            rc = EXIT_FAILURE;
    return interrupted ? EXIT_FAILURE : rc;
}
