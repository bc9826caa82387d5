/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * How momd asks glibc's allocator to keep its footprint small.
 */
#pragma once

#include <glib.h>

/**
 * mom_malloc_setup:
 * Limits glibc malloc to one arena, unless the environment already says
 * how many (MALLOC_ARENA_MAX, or glibc.malloc.arena_max in
 * GLIBC_TUNABLES).  Call it first thing in main(), before any thread.
 * Returns: TRUE when the limit was set here.
 */
gboolean mom_malloc_setup(void);
