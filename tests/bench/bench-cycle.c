/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench-cycle: what one host cycle of momd costs, in-process and on the
 * real host.
 *
 *   bench-cycle [--cycles N] [POLICY_DIR]
 *
 * It builds what momd builds at start-up: a host MomMonitor with the
 * HostMemory, HostKSM, HostCpu, HostTime and HostPressure collectors over
 * the real /proc and /sys, and a MomEngine with the default policies and
 * the KSM controller in dry-run mode (it reads sysfs, never writes it).
 * Then it runs N cycles (10 000 by default) back to back, each one a
 * mom_monitor_collect() followed by a mom_engine_run(), as the daemon's
 * host and policy timers would if both fired every time.
 *
 * It prints the CPU time per cycle (getrusage user+sys over the whole
 * loop), the wall time per cycle, the split between collecting and
 * evaluating+controlling (CLOCK_THREAD_CPUTIME_ID around each half), and
 * VmRSS after 100, 1 000 and 10 000 cycles, so that a leak shows as growth.
 *
 * Every cycle must produce a complete host sample and a successful
 * evaluation; otherwise the program exits with status 1, as bench-policy
 * does, so that a broken setup cannot report fast numbers.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <glib.h>

#include "mom-engine.h"
#include "mom-log.h"
#include "mom-monitor.h"

#ifndef MOM_BENCH_POLICY_DIR
#error "MOM_BENCH_POLICY_DIR must name the source tree's data/policies"
#endif

/* momd's defaults: [main] sample-history-length and host-monitor-interval. */
#define HISTORY 10
#define INTERVAL 5

/* The targets of docs/performance.md, "Host cycle". */
#define TARGET_CPU_US 200.0
#define TARGET_RSS_KIB (5 * 1024)

static double
timespec_us(const struct timespec *ts)
{
    return ts->tv_sec * 1e6 + ts->tv_nsec / 1e3;
}

static double
clock_us(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return timespec_us(&ts);
}

static double
rusage_cpu_us(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 + ru.ru_utime.tv_usec +
           ru.ru_stime.tv_usec;
}

/* The "VmRSS:   1234 kB" line of /proc/self/status, in KiB; -1 if absent. */
static long
vm_rss_kib(void)
{
    g_autofree char *text = NULL;
    const char *line;

    if (!g_file_get_contents("/proc/self/status", &text, NULL, NULL))
        return -1;
    line = strstr(text, "\nVmRSS:");
    return line ? strtol(line + strlen("\nVmRSS:"), NULL, 10) : -1;
}

/* HostKSM reads the stat file of every process (ksm_shareable), so the
 * cost of a cycle grows with the number of processes: print it. */
static guint
count_processes(void)
{
    g_autoptr(GDir) dir = g_dir_open("/proc", 0, NULL);
    const char *name;
    guint n = 0;

    while (dir && (name = g_dir_read_name(dir)))
        n += g_ascii_isdigit(name[0]) ? 1 : 0;
    return n;
}

/* CPU µs per collect() of each collector on its own, to show which one a
 * slow cycle comes from. */
static gboolean
time_collectors(char **names, const MomCollectorConfig *cfg, guint rounds)
{
    for (guint i = 0; names[i]; i++) {
        const MomCollectorClass *k = mom_collector_lookup(names[i]);
        g_autoptr(MomSchema) schema = mom_collector_schema_new(&k, 1);
        g_autoptr(GError) error = NULL;
        gpointer state = k->init(cfg, &error);

        if (!state) {
            fprintf(stderr, "bench-cycle: %s: %s\n", k->name, error->message);
            return FALSE;
        }
        double t0 = clock_us(CLOCK_THREAD_CPUTIME_ID);
        for (guint r = 0; r < rounds; r++) {
            g_autoptr(MomSample) sample = mom_sample_new(schema);
            if (!k->collect(state, sample, &error)) {
                fprintf(stderr, "bench-cycle: %s: %s\n", k->name, error->message);
                k->free(state);
                return FALSE;
            }
        }
        printf("  %-13s %8.1f us\n", k->name, (clock_us(CLOCK_THREAD_CPUTIME_ID) - t0) / rounds);
        k->free(state);
    }
    return TRUE;
}

static gboolean
is_checkpoint(guint64 cycle)
{
    return cycle == 100 || cycle == 1000 || cycle == 10000 || cycle == 100000;
}

int
main(int argc, char **argv)
{
    gint64 cycles = 10000;
    GOptionEntry entries[] = {
        {"cycles", 'n', 0, G_OPTION_ARG_INT64, &cycles, "Host cycles to run (default 10000)", "N"},
        {NULL},
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new("[POLICY_DIR] - benchmark the host cycle");
    g_autoptr(GError) error = NULL;

    g_option_context_add_main_entries(ctx, entries, NULL);
    if (!g_option_context_parse(ctx, &argc, &argv, &error) || argc > 2 || cycles < 1) {
        fprintf(stderr, "bench-cycle: %s\n",
                error ? error->message : "usage: bench-cycle [--cycles N] [POLICY_DIR]");
        return 2;
    }
    const char *policy_dir = argc == 2 ? argv[1] : MOM_BENCH_POLICY_DIR;

    /* Silence the daemon's messages (dry-run "would be written" lines and
     * the like) so that the terminal is not part of the measurement; the
     * engine then also skips formatting debug lines, as momd does at info. */
    if (!mom_log_setup("stdio", MOM_LOG_CRITICAL, 0, 0, &error)) {
        fprintf(stderr, "bench-cycle: %s\n", error->message);
        return 2;
    }

    char *collectors[] = {"HostMemory", "HostKSM", "HostCpu", "HostTime", "HostPressure", NULL};
    MomCollectorConfig ccfg = {
        .proc_root = "/proc",
        .sysfs_root = "/sys",
        .interval = INTERVAL,
    };
    long rss_start = vm_rss_kib();
    g_autoptr(MomMonitor) host =
        mom_monitor_new(MOM_ENTITY_HOST, "host", collectors, &ccfg, HISTORY, NULL, &error);
    if (!host) {
        fprintf(stderr, "bench-cycle: cannot start the host monitor: %s\n", error->message);
        return 1;
    }
    MomValue interval = mom_value_int(INTERVAL);
    mom_entity_set_prop(mom_monitor_entity(host), "interval", &interval);

    g_autoptr(MomEngine) engine = mom_engine_new();
    /* as momd, which keeps a decision history */
    mom_engine_set_explain(engine, TRUE);
    char *controllers[] = {"KSM", NULL};
    MomControllerConfig kcfg = {
        .sysfs_root = "/sys", .dry_run = TRUE, /* never touch the host's KSM */
        /* no key file: ksm-restore-on-exit and the rest at their defaults */
    };
    mom_engine_add_controllers(engine, controllers, &kcfg);
    if (mom_engine_n_controllers(engine) != 1) {
        fputs("bench-cycle: the KSM controller did not start (no /sys/kernel/mm/ksm?).\n", stderr);
        return 1;
    }
    MomPolicyLimits limits = {0, 0};
    mom_engine_load(engine, NULL, policy_dir, &limits);
    g_autoptr(GPtrArray) names = mom_policy_set_names(mom_engine_policies(engine));
    if (names->len == 0) {
        fprintf(stderr, "bench-cycle: cannot load the policies of %s.\n", policy_dir);
        return 1;
    }
    g_autoptr(GPtrArray) guests = g_ptr_array_new();

    printf("bench-cycle: %" G_GINT64_FORMAT " host cycles; policies %s\n", cycles, policy_dir);
    printf("collectors HostMemory, HostKSM, HostCpu, HostTime, HostPressure; KSM (dry run)\n");
    printf("processes in /proc: %u; VmRSS before setup %ld KiB, after setup %ld KiB\n",
           count_processes(), rss_start, vm_rss_kib());
    printf("%9s %10s %10s %12s %12s %10s\n", "cycles", "CPU us", "wall us", "collect us",
           "eval+ctl us", "VmRSS KiB");

    double collect_us = 0, engine_us = 0;
    double cpu0 = rusage_cpu_us(), wall0 = clock_us(CLOCK_MONOTONIC);
    long rss_first = -1, rss_last = -1;
    for (gint64 i = 1; i <= cycles; i++) {
        double t0 = clock_us(CLOCK_THREAD_CPUTIME_ID);
        if (!mom_monitor_collect(host)) {
            fprintf(stderr,
                    "bench-cycle: cycle %" G_GINT64_FORMAT ": the host sample is incomplete.\n", i);
            return 1;
        }
        double t1 = clock_us(CLOCK_THREAD_CPUTIME_ID);
        if (!mom_engine_run(engine, mom_monitor_entity(host), guests)) {
            fprintf(stderr, "bench-cycle: cycle %" G_GINT64_FORMAT ": the evaluation failed.\n", i);
            return 1;
        }
        double t2 = clock_us(CLOCK_THREAD_CPUTIME_ID);
        collect_us += t1 - t0;
        engine_us += t2 - t1;
        if (is_checkpoint((guint64)i) || i == cycles) {
            double cpu = rusage_cpu_us() - cpu0, wall = clock_us(CLOCK_MONOTONIC) - wall0;
            rss_last = vm_rss_kib();
            if (rss_first < 0)
                rss_first = rss_last;
            printf("%9" G_GINT64_FORMAT " %10.1f %10.1f %12.1f %12.1f %10ld\n", i, cpu / i,
                   wall / i, collect_us / i, engine_us / i, rss_last);
        }
    }
    double cpu_per = (rusage_cpu_us() - cpu0) / cycles;

    mom_engine_shutdown(engine);
    printf("processes in /proc at the end: %u\n", count_processes());
    printf("CPU per collect, each collector alone (1000 rounds):\n");
    if (!time_collectors(collectors, &ccfg, 1000))
        return 1;
    printf("CPU per cycle %.1f us (target <= %.0f): %s\n", cpu_per, TARGET_CPU_US,
           cpu_per <= TARGET_CPU_US ? "met" : "MISSED");
    printf("VmRSS %ld KiB (target <= %d KiB): %s; growth from the first checkpoint %+ld KiB\n",
           rss_last, TARGET_RSS_KIB, rss_last <= TARGET_RSS_KIB ? "met" : "MISSED",
           rss_last - rss_first);
    return 0;
}
