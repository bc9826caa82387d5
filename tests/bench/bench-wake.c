/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What a wake-up costs on this machine: the floor under the pressure
 * watch's share of an idle momd (docs/performance.md, "Idle cost").
 *
 * A thread wakes every --interval-ms for --seconds, as the watch thread
 * does (g_cond_wait_until() on a deadline), in three ways one after the
 * other: doing nothing, reading /proc/meminfo with pread() on a file kept
 * open (the watch on a host), and that read plus the watch's own parse.
 * Each prints the thread's CPU time a wake-up, from the scheduler's own
 * count in /proc/thread-self/schedstat (ns), and per minute at one
 * wake-up a second.
 *
 *     build/tests/bench/bench-wake [--interval-ms MS] [--seconds S] [--meminfo PATH]
 */
#include "config.h"

#include <fcntl.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "mom-collector.h"

typedef enum { WAKE_ONLY, WAKE_READ, WAKE_READ_PARSE } WakeKind;

static const char *const kind_names[] = {"wake only", "wake + pread", "wake + pread + parse"};

typedef struct {
    WakeKind kind;
    gint64 interval_us;
    guint wakes;
    const char *meminfo;
    gint64 run_ns; /* out: the thread's CPU time over the wake-ups */
    gboolean ok;   /* out */
} Job;

/* The calling thread's time on a CPU so far, in ns; -1 when unknown. */
static gint64
thread_run_ns(void)
{
    g_autofree char *text = NULL;

    if (!g_file_get_contents("/proc/thread-self/schedstat", &text, NULL, NULL))
        return -1;
    return g_ascii_strtoll(text, NULL, 10);
}

static gpointer
wake_run(gpointer data)
{
    Job *job = data;
    GMutex lock;
    GCond cond;
    char buf[8192];
    int fd = job->kind == WAKE_ONLY ? -1 : open(job->meminfo, O_RDONLY | O_CLOEXEC);

    if (job->kind != WAKE_ONLY && fd < 0) {
        g_printerr("bench-wake: cannot open %s.\n", job->meminfo);
        return NULL;
    }
    g_mutex_init(&lock);
    g_cond_init(&cond);
    gint64 start = thread_run_ns();
    gint64 due = g_get_monotonic_time() + job->interval_us;
    g_mutex_lock(&lock);
    for (guint i = 0; i < job->wakes; i++) {
        while (g_get_monotonic_time() < due)
            g_cond_wait_until(&cond, &lock, due);
        if (fd >= 0) {
            ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
            if (n <= 0) {
                g_printerr("bench-wake: cannot read %s.\n", job->meminfo);
                break;
            }
            buf[n] = '\0';
            gint64 total, avail;
            if (job->kind == WAKE_READ_PARSE &&
                !mom_collector_parse_mem_available(job->meminfo, buf, &total, &avail, NULL)) {
                g_printerr("bench-wake: %s has no MemTotal and MemAvailable.\n", job->meminfo);
                break;
            }
        }
        due = g_get_monotonic_time() + job->interval_us;
        if (i + 1 == job->wakes)
            job->ok = TRUE;
    }
    g_mutex_unlock(&lock);
    job->run_ns = thread_run_ns() - start;
    if (fd >= 0)
        close(fd);
    g_cond_clear(&cond);
    g_mutex_clear(&lock);
    return NULL;
}

int
main(int argc, char **argv)
{
    gint interval_ms = 1000, seconds = 60;
    g_autofree char *meminfo = g_strdup("/proc/meminfo");
    GOptionEntry entries[] = {
        {"interval-ms", 0, 0, G_OPTION_ARG_INT, &interval_ms, "Between two wake-ups", "MS"},
        {"seconds", 0, 0, G_OPTION_ARG_INT, &seconds, "How long each way runs", "S"},
        {"meminfo", 0, 0, G_OPTION_ARG_FILENAME, &meminfo, "The file read", "PATH"},
        {NULL},
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new("- the CPU cost of a wake-up");
    g_autoptr(GError) error = NULL;

    g_option_context_add_main_entries(ctx, entries, NULL);
    if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
        g_printerr("bench-wake: %s\n", error->message);
        return 2;
    }
    if (interval_ms < 1 || seconds < 1 || seconds * 1000 / interval_ms < 1) {
        g_printerr("bench-wake: --interval-ms and --seconds must make at least one wake-up.\n");
        return 2;
    }
    printf("%-22s %8s %12s %14s\n", "way", "wakes", "µs a wake", "ms a minute@1/s");
    for (WakeKind k = WAKE_ONLY; k <= WAKE_READ_PARSE; k++) {
        Job job = {
            k,    (gint64)interval_ms * 1000, (guint)(seconds * 1000 / interval_ms), meminfo, 0,
            FALSE};
        g_thread_join(g_thread_new("bench-wake", wake_run, &job));
        if (!job.ok || job.run_ns < 0)
            return 1;
        double us = job.run_ns / 1000.0 / job.wakes;
        printf("%-22s %8u %12.1f %14.2f\n", kind_names[k], job.wakes, us, us * 60 / 1000);
        fflush(stdout);
    }
    return 0;
}
