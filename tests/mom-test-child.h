/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The bounds of a test process that takes host memory (host-hog,
 * ksm-region): it must be the kernel's first victim, end by itself after a
 * set time, and die with its parent.  Plain C, no GLib, so that such a
 * process's memory is nothing but its workload.
 */
#pragma once

/**
 * mom_child_arg:
 * Parses @s, the argument @what of the program @prog, as an integer from
 * @lo to @hi; on anything else prints a sentence naming both and exits 2.
 */
long mom_child_arg(const char *prog, const char *what, const char *s, long lo, long hi);

/**
 * mom_child_bound:
 * Sets oom_score_adj 1000, makes the process die with its parent
 * (PR_SET_PDEATHSIG, SIGKILL) and end after @seconds (alarm(2): SIGALRM's
 * default action), before the first byte of the workload is taken.
 * Returns: 0, or -1 after printing why (then the caller must not take the
 * host's memory).
 */
int mom_child_bound(const char *prog, long seconds);
