/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ksm-region: the KSM benchmark's workload, a process with one region of
 * memory that KSM may merge.
 *
 *     ksm-region SIZE_MIB IDENTICAL_PERCENT SECONDS
 *
 * Maps SIZE_MIB of anonymous memory, marks it MADV_MERGEABLE and writes
 * every page: the first IDENTICAL_PERCENT of the pages all hold the same
 * non-zero byte pattern (so KSM can merge them into one page per
 * max_page_sharing sharers, and neither the zero page nor use_zero_pages
 * is involved), the others hold content that differs from page to page
 * (so KSM can merge none of them).  Transparent huge pages are refused
 * (MADV_NOHUGEPAGE) so that every page is a KSM candidate from the start.
 * Then it prints one line
 *
 *     ready pages=N identical=N
 *
 * and holds the memory until SECONDS have passed, or a signal ends it.
 * Its bounds are its own, whatever calls it:
 *   - oom_score_adj is 1000 before the first byte is taken, so that the
 *     kernel kills it first if it must kill; it refuses to run otherwise;
 *   - SIZE_MIB is at most 4096 and SECONDS at most 3600; alarm(2) ends it
 *     even when its caller has gone, and it dies with its parent
 *     (PR_SET_PDEATHSIG);
 *   - its memory is freed by the kernel at every exit, signal or not.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "mom-test-child.h"

int
main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: ksm-region SIZE_MIB IDENTICAL_PERCENT SECONDS\n");
        return 2;
    }
    long size_mib = mom_child_arg("ksm-region", "SIZE_MIB", argv[1], 1, 4096);
    long identical_pct = mom_child_arg("ksm-region", "IDENTICAL_PERCENT", argv[2], 0, 100);
    long seconds = mom_child_arg("ksm-region", "SECONDS", argv[3], 1, 3600);

    if (mom_child_bound("ksm-region", seconds) < 0)
        return 1;

    long page = sysconf(_SC_PAGESIZE);
    size_t len = (size_t)size_mib << 20;
    size_t pages = len / (size_t)page;
    size_t identical = pages * (size_t)identical_pct / 100;
    char *mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) {
        fprintf(stderr, "ksm-region: cannot map %ld MiB: %s.\n", size_mib, strerror(errno));
        return 1;
    }
    madvise(mem, len, MADV_NOHUGEPAGE); /* advice only: a kernel without THP refuses it */
    if (madvise(mem, len, MADV_MERGEABLE) != 0) {
        fprintf(stderr, "ksm-region: madvise(MADV_MERGEABLE) failed: %s (a kernel without KSM?).\n",
                strerror(errno));
        return 1;
    }
    /* Unique pages: a 64-bit counter mixed (splitmix64) into every word,
     * so no two pages of this or any other run are alike. */
    uint64_t x = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    for (size_t p = 0; p < pages; p++) {
        uint64_t *w = (uint64_t *)(mem + p * (size_t)page);
        size_t words = (size_t)page / sizeof(*w);
        if (p < identical) {
            for (size_t i = 0; i < words; i++)
                w[i] = 0x6b736d2d72656769ull + i; /* "ksm-regi", never zero */
            continue;
        }
        for (size_t i = 0; i < words; i++) {
            uint64_t z = (x += 0x9e3779b97f4a7c15ull);
            z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
            z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
            w[i] = z ^ (z >> 31);
        }
    }
    printf("ready pages=%zu identical=%zu\n", pages, identical);
    fflush(stdout);
    for (;;)
        pause(); /* SIGALRM or the caller's signal ends the process */
}
