/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * host-hog: the scenario benchmark's "host workload", a process that makes
 * the host really short of memory.
 *
 *     host-hog HEADROOM_MIB MAX_MIB SECONDS
 *
 * Reads /proc/meminfo's MemAvailable once, and takes what is above
 * HEADROOM_MIB of it (at most MAX_MIB): it allocates anonymous memory in
 * steps of 64 MiB and writes every page (with content that differs from
 * page to page, so KSM cannot merge it and the zero page cannot stand in
 * for it).  The amount is fixed at the start: memory a manager frees while
 * the hog allocates is not taken too, as a workload of a given size would
 * not take it.  Then it prints
 * one line
 *
 *     ready held_mib=N available_mib=N t=UNIX_SECONDS
 *
 * and holds the memory until SECONDS have passed since it started, or a
 * signal ends it.  Its bounds are its own, whatever calls it:
 *   - oom_score_adj is 1000 before the first byte is taken, so that if the
 *     kernel must kill, it kills this process and nothing of the machine's;
 *     host-hog refuses to run when it cannot set it;
 *   - MAX_MIB caps the size, SECONDS the time (alarm(2): SIGALRM ends it
 *     even when the caller has gone);
 *   - it dies with its parent (PR_SET_PDEATHSIG), so a scenario killed by
 *     SIGKILL does not leave it holding the host's memory.
 * Its memory is freed by the kernel at every exit, signal or not.  It uses
 * no GLib, so that its memory is nothing but the hog.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "mom-test-child.h"

#define STEP_MIB 64

/* MemAvailable in MiB, or -1 when /proc/meminfo cannot be read. */
static long
available_mib(void)
{
    char line[256];
    long kib = -1;
    FILE *f = fopen("/proc/meminfo", "re");

    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "MemAvailable: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib < 0 ? -1 : kib / 1024;
}

int
main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: host-hog HEADROOM_MIB MAX_MIB SECONDS\n");
        return 2;
    }
    long headroom = mom_child_arg("host-hog", "HEADROOM_MIB", argv[1], 0, 1 << 20);
    long max_mib = mom_child_arg("host-hog", "MAX_MIB", argv[2], 1, 1 << 20);
    long seconds = mom_child_arg("host-hog", "SECONDS", argv[3], 1, 24 * 3600);
    long page = sysconf(_SC_PAGESIZE);

    if (mom_child_bound("host-hog", seconds) < 0)
        return 1;

    long avail = available_mib();
    if (avail < 0) {
        fprintf(stderr, "host-hog: cannot read MemAvailable from /proc/meminfo.\n");
        return 1;
    }
    long want = avail - headroom < max_mib ? avail - headroom : max_mib;
    long held = 0;
    unsigned long stamp = 0;
    for (;;) {
        long step = want - held < STEP_MIB ? want - held : STEP_MIB;
        if (step <= 0)
            break;
        size_t len = (size_t)step << 20;
        unsigned char *mem =
            mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (mem == MAP_FAILED) {
            fprintf(stderr, "host-hog: cannot map %ld MiB more: %s.\n", step, strerror(errno));
            break;
        }
        /* a different word at the start of every page: no merging */
        for (size_t off = 0; off < len; off += (size_t)page) {
            memset(mem + off, 0xa5, (size_t)page);
            stamp++;
            memcpy(mem + off, &stamp, sizeof(stamp));
        }
        held += step;
    }
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    printf("ready held_mib=%ld available_mib=%ld t=%ld.%03ld\n", held, available_mib(),
           (long)now.tv_sec, now.tv_nsec / 1000000);
    fflush(stdout);
    for (;;)
        pause();
}
