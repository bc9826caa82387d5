/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench-guests: what one guest cycle of momd costs, in-process, against
 * libvirt's test driver with 10, 100, 500 and 1 000 running domains.
 *
 *   bench-guests [--only N] [--cycles C] [--libvirtd SOCKET]
 *
 * Each size runs in a fresh child process (this program with --only N),
 * so the RSS of one size does not carry what an earlier size left.  The
 * child builds what momd builds: a MomLibvirt on test:///TMP/guests.xml
 * (written by tests/libvirt/make-test-xml.py), a MomGuests with the
 * GuestMemory and GuestBalloon collectors, a host MomMonitor (HostMemory,
 * HostKSM, real /proc and /sys, sampled once), and a MomEngine with the
 * default policies plus an 01-parameters policy that forces host
 * pressure, so that 10-balloon gives every guest a balloon_target, and
 * the Balloon controller in dry-run mode.  One cycle is
 *
 *     mom_guests_tick() + the main loop until the collection is merged
 *     + mom_engine_run() over the host and every guest
 *
 * It prints, per guest per cycle:
 *   total   process CPU (getrusage user+sys: the worker thread's collection
 *           and the main loop's merge, collectors, policy and controller);
 *   collect CPU of mom_libvirt_collect() alone, timed by calling it
 *           directly with CLOCK_THREAD_CPUTIME_ID (steady state: every
 *           domain known).  On the test driver this includes the driver
 *           itself, which runs inside this process;
 *   own     total - collect: momd's own work, the number the target is for;
 *   engine  CPU of mom_engine_run() alone (policy + Balloon controller).
 * and the libvirt calls of a cycle (mom_guests_calls()), VmRSS at start,
 * after connecting (the test driver has parsed its domains, in this
 * process) and after the cycles, RssAnon, and the growth over the cycles,
 * which is momd's own guest state (monitors, histories, controller).
 *
 * The test driver's bulk call has no balloon.* fields, so momd falls back
 * to virDomainGetInfo + virDomainMemoryStats per domain: calls = 1 + 2 N
 * here, and 1 on a QEMU host.
 *
 * With --libvirtd SOCKET the test driver runs in that libvirtd instead
 * (URI test+unix:///TMP/guests.xml?socket=SOCKET), as a QEMU host's
 * domains live in libvirtd and not in momd: VmRSS is then momd's whole
 * footprint, and collect is the client side of libvirt's RPC.  Any
 * libvirtd that can read the file will do, e.g. the project's private one:
 *     tests/e2e/lab.sh start-libvirtd /tmp/lab    (as root)
 *     bench-guests --libvirtd /tmp/lab/run/libvirt-sock
 *
 * A cycle must merge N guests, offer N guests to the policy and evaluate
 * successfully; otherwise the program exits with status 1.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "mom-engine.h"
#include "mom-guests.h"
#include "mom-libvirt.h"
#include "mom-log.h"
#include "mom-malloc.h"
#include "mom-monitor.h"

#ifndef MOM_BENCH_POLICY_DIR
#error "MOM_BENCH_POLICY_DIR must name the source tree's data/policies"
#endif
#ifndef MOM_BENCH_XML_SCRIPT
#error "MOM_BENCH_XML_SCRIPT must name tests/libvirt/make-test-xml.py"
#endif

#define HISTORY 10 /* [main] sample-history-length */
#define INTERVAL 5 /* [main] guest-monitor-interval */

/* The targets of docs/performance.md, "Guests". */
#define TARGET_OWN_US 20.0
#define TARGET_RSS_KIB (10 * 1024)

static const guint sizes[] = {10, 100, 500, 1000};

/* --libvirtd: the socket of a libvirtd that serves the test driver, or NULL. */
static char *libvirtd_socket;

static double
clock_us(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static double
rusage_cpu_us(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 + ru.ru_utime.tv_usec +
           ru.ru_stime.tv_usec;
}

/* A "KEY:   1234 kB" line of /proc/self/status (VmRSS, RssAnon), in KiB; -1 if absent. */
static long
status_kib(const char *key)
{
    g_autofree char *text = NULL;
    g_autofree char *needle = g_strdup_printf("\n%s:", key);
    const char *line;

    if (!g_file_get_contents("/proc/self/status", &text, NULL, NULL))
        return -1;
    line = strstr(text, needle);
    return line ? strtol(line + strlen(needle), NULL, 10) : -1;
}

static long
vm_rss_kib(void)
{
    return status_kib("VmRSS");
}

static void
remove_tree(const char *dir)
{
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    const char *e;
    while (d && (e = g_dir_read_name(d))) {
        g_autofree char *p = g_build_filename(dir, e, NULL);
        if (g_file_test(p, G_FILE_TEST_IS_DIR))
            remove_tree(p);
        else
            g_unlink(p);
    }
    g_rmdir(dir);
}

/* The default policies plus 01-parameters forcing pressure, in @dir. */
static gboolean
write_policies(const char *dir)
{
    g_autoptr(GDir) src = g_dir_open(MOM_BENCH_POLICY_DIR, 0, NULL);
    const char *e;

    while (src && (e = g_dir_read_name(src))) {
        g_autofree char *from = g_build_filename(MOM_BENCH_POLICY_DIR, e, NULL);
        g_autofree char *to = g_build_filename(dir, e, NULL);
        g_autofree char *text = NULL;
        gsize len;
        if (!g_str_has_suffix(e, ".policy"))
            continue;
        if (!g_file_get_contents(from, &text, &len, NULL) ||
            !g_file_set_contents(to, text, (gssize)len, NULL))
            return FALSE;
    }
    g_autofree char *params = g_build_filename(dir, "01-parameters.policy", NULL);
    return src && g_file_set_contents(params, "(set pressure_free_ratio 0.999)\n", -1, NULL);
}

static char *
write_xml(const char *dir, guint n)
{
    g_autofree char *count = g_strdup_printf("%u", n);
    g_autofree char *path = g_build_filename(dir, "guests.xml", NULL);
    const char *argv[] = {"python3", MOM_BENCH_XML_SCRIPT, count, path, NULL};
    g_autoptr(GError) error = NULL;
    int status = 0;

    if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL,
                      &status, &error) ||
        !g_spawn_check_wait_status(status, &error)) {
        fprintf(stderr, "bench-guests: make-test-xml.py: %s\n", error->message);
        return NULL;
    }
    if (libvirtd_socket)
        return g_strdup_printf("test+unix://%s?socket=%s", path, libvirtd_socket);
    return g_strconcat("test://", path, NULL);
}

static gboolean
tick_and_wait(MomGuests *gs)
{
    guint64 want = mom_guests_collections(gs) + 1;
    gint64 deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;

    mom_guests_tick(gs);
    while (mom_guests_collections(gs) < want && g_get_monotonic_time() < deadline)
        g_main_context_iteration(NULL, TRUE);
    return mom_guests_collections(gs) >= want;
}

/* One size, in this process; prints one result line. */
static int
run_size(guint n, guint cycles)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *tmp = g_dir_make_tmp("momd-bench-guests-XXXXXX", &error);
    int rc = EXIT_FAILURE;

    if (!tmp) {
        fprintf(stderr, "bench-guests: %s\n", error->message);
        return rc;
    }
    g_autofree char *policy_dir = g_build_filename(tmp, "policies", NULL);
    g_mkdir(policy_dir, 0755);
    g_autofree char *uri = write_xml(tmp, n);
    if (!uri || !write_policies(policy_dir)) {
        fprintf(stderr, "bench-guests: cannot prepare %s\n", tmp);
        remove_tree(tmp);
        return rc;
    }
    long rss_start = vm_rss_kib();

    /* The host, as momd samples it. */
    char *host_collectors[] = {"HostMemory", "HostKSM", NULL};
    MomCollectorConfig hcfg = {.proc_root = "/proc", .sysfs_root = "/sys", .interval = INTERVAL};
    g_autoptr(MomMonitor) host =
        mom_monitor_new(MOM_ENTITY_HOST, "host", host_collectors, &hcfg, HISTORY, NULL, &error);
    if (!host || !mom_monitor_collect(host)) {
        fprintf(stderr, "bench-guests: no host sample: %s\n", error ? error->message : "");
        remove_tree(tmp);
        return rc;
    }

    g_autoptr(MomLibvirt) lv = mom_libvirt_new(uri, tmp, NULL, NULL);
    mom_libvirt_start(lv);
    if (!mom_libvirt_connected(lv)) {
        fprintf(stderr, "bench-guests: cannot open %s\n", uri);
        remove_tree(tmp);
        return rc;
    }
    char *guest_collectors[] = {"GuestMemory", "GuestBalloon", NULL};
    MomCollectorConfig gcfg = hcfg;
    g_autoptr(MomGuests) gs =
        mom_guests_new(lv, guest_collectors, &gcfg, HISTORY, NULL, INTERVAL, &error);
    g_autoptr(MomEngine) engine = mom_engine_new();
    /* as momd, which keeps a decision history */
    mom_engine_set_explain(engine, TRUE);
    char *controllers[] = {"Balloon", NULL};
    MomControllerConfig kcfg = {
        .sysfs_root = "/sys", .dry_run = TRUE, .hypervisor = mom_libvirt_hypervisor_ops(lv),
        /* no key file: the [balloon] defaults, as in momd */
    };
    mom_engine_add_controllers(engine, controllers, &kcfg);
    MomPolicyLimits limits = {0, 0};
    mom_engine_load(engine, NULL, policy_dir, &limits);
    if (!gs || mom_engine_n_controllers(engine) != 1) {
        fprintf(stderr, "bench-guests: cannot build the guest manager or the controller\n");
        remove_tree(tmp);
        return rc;
    }
    long rss_connected = vm_rss_kib();
    g_autoptr(GHashTable) known = NULL; /* here: the gotos below must not skip it */

    /* Warm-up: discovery (XML reads, stats periods) and a full history. */
    for (guint i = 0; i < HISTORY + 1; i++) {
        if (!tick_and_wait(gs)) {
            fprintf(stderr, "bench-guests: a collection did not land\n");
            goto out;
        }
        g_autoptr(GPtrArray) guests = mom_guests_entities(gs);
        mom_engine_run(engine, mom_monitor_entity(host), guests);
    }

    double engine_us = 0;
    double cpu0 = rusage_cpu_us();
    double wall0 = clock_us(CLOCK_MONOTONIC);
    guint calls = 0;
    for (guint c = 0; c < cycles; c++) {
        if (!tick_and_wait(gs)) {
            fprintf(stderr, "bench-guests: a collection did not land\n");
            goto out;
        }
        g_autoptr(GPtrArray) guests = mom_guests_entities(gs);
        double t0 = clock_us(CLOCK_THREAD_CPUTIME_ID);
        gboolean ok = mom_engine_run(engine, mom_monitor_entity(host), guests);
        engine_us += clock_us(CLOCK_THREAD_CPUTIME_ID) - t0;
        if (!ok || guests->len != n || mom_guests_count(gs) != n) {
            fprintf(stderr,
                    "bench-guests: cycle %u: ok=%d, %u guests offered, %u known, %u "
                    "expected\n",
                    c, ok, guests->len, mom_guests_count(gs), n);
            goto out;
        }
        calls = mom_guests_calls(gs);
    }
    double total_us = rusage_cpu_us() - cpu0;
    double wall_us = clock_us(CLOCK_MONOTONIC) - wall0;
    long rss_end = vm_rss_kib();
    long anon_end = status_kib("RssAnon");

    /* The collection alone, as the worker makes it in steady state. */
    known =
        g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)mom_domain_info_free);
    {
        g_autoptr(MomGuestBatch) b = mom_libvirt_collect(lv, NULL, &error);
        for (guint i = 0; b && i < b->domains->len; i++) {
            MomDomainInfo *copy = mom_domain_info_copy(b->domains->pdata[i]);
            g_hash_table_insert(known, copy->uuid, copy);
        }
    }
    double collect_us = 0;
    for (guint c = 0; c < cycles; c++) {
        double t0 = clock_us(CLOCK_THREAD_CPUTIME_ID);
        g_autoptr(MomGuestBatch) b = mom_libvirt_collect(lv, known, &error);
        collect_us += clock_us(CLOCK_THREAD_CPUTIME_ID) - t0;
        if (!b || b->data->len != n) {
            fprintf(stderr, "bench-guests: mom_libvirt_collect failed\n");
            goto out;
        }
    }

    double per = (double)cycles * n;
    double own = (total_us - collect_us) / per;
    printf("%6u %6u %9.2f %9.2f %9.2f %9.2f %9.0f %7u %8ld %8ld %8ld %8ld %8ld\n", n, cycles,
           total_us / per, collect_us / per, own, engine_us / per, wall_us / cycles, calls,
           rss_start, rss_connected, rss_end, anon_end, rss_end - rss_connected);
    rc = EXIT_SUCCESS;
    if (own > TARGET_OWN_US)
        printf("# %u guests: momd's own work %.2f µs per guest per cycle is above the %.0f µs "
               "target\n",
               n, own, TARGET_OWN_US);
    if (n == 1000 && rss_end > TARGET_RSS_KIB && !libvirtd_socket)
        printf("# 1000 guests: VmRSS %ld KiB is above the %d KiB target (the test driver's "
               "domains live in this process: %ld KiB were there before the first cycle; "
               "--libvirtd moves them out)\n",
               rss_end, TARGET_RSS_KIB, rss_connected);
    else if (n == 1000 && rss_end > TARGET_RSS_KIB)
        printf("# 1000 guests: VmRSS %ld KiB is above the %d KiB target\n", rss_end,
               TARGET_RSS_KIB);
out:
    remove_tree(tmp);
    return rc;
}

int
main(int argc, char **argv)
{
    gint only = 0, cycles = 0;
    GOptionEntry entries[] = {
        {"only", 0, 0, G_OPTION_ARG_INT, &only, "Run this many guests in this process", "N"},
        {"cycles", 0, 0, G_OPTION_ARG_INT, &cycles, "Timed cycles (default 20000 / N, ≥ 20)", "C"},
        {"libvirtd", 0, 0, G_OPTION_ARG_FILENAME, &libvirtd_socket,
         "Run the test driver in the libvirtd at this socket", "SOCKET"},
        {NULL},
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new("- guest cycle benchmark");
    g_autoptr(GError) error = NULL;

    mom_malloc_setup(); /* as momd does */
    g_option_context_add_main_entries(ctx, entries, NULL);
    if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
        fprintf(stderr, "bench-guests: %s\n", error->message);
        return 2;
    }
    /* Only criticals are printed (BENCH_VERBOSE=1: everything): the
     * dry-run balloon lines are still formatted, as momd formats them. */
    if (!mom_log_setup("stdio", g_getenv("BENCH_VERBOSE") ? MOM_LOG_DEBUG : MOM_LOG_CRITICAL, 0, 0,
                       &error)) {
        fprintf(stderr, "bench-guests: %s\n", error->message);
        return 1;
    }
    if (only > 0) {
        int rc = run_size((guint)only, cycles > 0 ? (guint)cycles : MAX(20000u / only, 20u));
        mom_log_shutdown();
        return rc;
    }

    printf("bench-guests: libvirt test driver (%s), GuestMemory + GuestBalloon, default policies "
           "under pressure, Balloon controller (dry run)\n",
           libvirtd_socket ? libvirtd_socket : "in this process");
    printf("# µs are CPU per guest per cycle; wall is µs per cycle; KiB: VmRSS at start, "
           "after connect, after the cycles, RssAnon after the cycles, and rss-end - rss-conn "
           "(momd's guest state)\n");
    printf("%6s %6s %9s %9s %9s %9s %9s %7s %8s %8s %8s %8s %8s\n", "guests", "cycles", "total",
           "collect", "own", "engine", "wall", "calls", "rss0", "rss-conn", "rss-end", "anon-end",
           "guests");
    fflush(stdout);
    int rc = EXIT_SUCCESS;
    for (guint i = 0; i < G_N_ELEMENTS(sizes); i++) {
        g_autofree char *n = g_strdup_printf("%u", sizes[i]);
        g_autofree char *c = cycles > 0 ? g_strdup_printf("%d", cycles) : NULL;
        const char *child[8] = {"/proc/self/exe", "--only", n};
        guint k = 3;
        if (c) {
            child[k++] = "--cycles";
            child[k++] = c;
        }
        if (libvirtd_socket) {
            child[k++] = "--libvirtd";
            child[k++] = libvirtd_socket;
        }
        int status = 0;
        if (!g_spawn_sync(NULL, (char **)child, NULL, G_SPAWN_CHILD_INHERITS_STDIN, NULL, NULL,
                          NULL, NULL, &status, &error)) {
            fprintf(stderr, "bench-guests: %s\n", error->message);
            return 1;
        }
        if (!g_spawn_check_wait_status(status, NULL))
            rc = EXIT_FAILURE;
    }
    mom_log_shutdown();
    return rc;
}
