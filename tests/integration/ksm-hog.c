/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ksm-hog: gives KSM something to merge without a virtual machine.
 *
 *     ksm-hog MIB
 *
 * Maps MIB MiB of anonymous memory, marks it MADV_MERGEABLE, fills every
 * page with the same non-zero bytes (so ksmd can fold them all into one
 * page, and use_zero_pages plays no part), prints "ready" on stdout and
 * sleeps until a signal kills it.  test-ksm-real.sh starts it, waits for
 * "ready", and watches /sys/kernel/mm/ksm/pages_sharing grow while momd
 * runs KSM.  It uses no GLib so that its memory is nothing but the hog.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
    long page = sysconf(_SC_PAGESIZE);
    char *end = NULL;
    long mib = argc == 2 ? strtol(argv[1], &end, 10) : 0;

    if (argc != 2 || *end != '\0' || mib <= 0 || mib > 65536) {
        fprintf(stderr, "usage: ksm-hog MIB (1 .. 65536)\n");
        return 2;
    }
    size_t len = (size_t)mib << 20;
    unsigned char *mem =
        mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) {
        fprintf(stderr, "ksm-hog: mmap %ld MiB: %s\n", mib, strerror(errno));
        return 1;
    }
#ifdef MADV_NOHUGEPAGE
    /* ksmd skips the insides of transparent huge pages until they are
     * split; small pages make the merge count predictable. */
    madvise(mem, len, MADV_NOHUGEPAGE);
#endif
    if (madvise(mem, len, MADV_MERGEABLE) < 0) {
        fprintf(stderr, "ksm-hog: madvise(MADV_MERGEABLE): %s (kernel without KSM?)\n",
                strerror(errno));
        return 1;
    }
    /* Touch every page with identical content: all but one can merge. */
    for (size_t off = 0; off < len; off += (size_t)page)
        memset(mem + off, 0x5a, (size_t)page);
    printf("ready pid=%ld pages=%zu\n", (long)getpid(), len / (size_t)page);
    fflush(stdout);
    /* pause() returns only for a handled signal; the default action of
     * SIGTERM/SIGKILL ends the process, which is what the test wants. */
    for (;;)
        pause();
}
