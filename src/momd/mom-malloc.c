/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * glibc gives each thread that allocates its own arena (up to 8 per CPU).
 * momd's threads (the guest collection, the controllers' workers, the
 * agent readers) allocate in bursts and hand the results to the main
 * loop, so every arena keeps its high-water mark of pages: with 1 000
 * guests that was 15 MiB of RssAnon growth against 5 MiB with a single
 * arena, for the same CPU (docs/performance.md, "Guests").  The threads
 * allocate rarely enough that sharing one arena costs nothing measurable.
 */
#include "config.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "mom-malloc.h"

gboolean
mom_malloc_setup(void)
{
    const char *tunables = g_getenv("GLIBC_TUNABLES");

    /* An administrator's own setting wins. */
    if (g_getenv("MALLOC_ARENA_MAX") || (tunables && strstr(tunables, "arena_max")))
        return FALSE;
    return mallopt(M_ARENA_MAX, 1) == 1;
}
