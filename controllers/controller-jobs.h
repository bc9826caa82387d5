/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Internal: the worker pool the Balloon, CpuTune and IoTune controllers
 * share.  Hypervisor calls may block on a busy QEMU, so they run in a few
 * threads; the pending count lets tests (and shutdown) wait for them.
 * @lock also guards each controller's own per-guest state.
 */
#pragma once

#include <glib.h>

typedef struct {
    GThreadPool *pool;
    GMutex lock;
    GCond idle;
    guint pending; /* jobs pushed and not finished, under @lock */
} MomJobs;

/** mom_jobs_init: Starts a pool of at most @threads running @work. Returns: FALSE with @error. */
gboolean mom_jobs_init(MomJobs *jobs, GFunc work, gpointer user_data, GDestroyNotify free_job,
                       guint threads, GError **error);

/** mom_jobs_done_locked: A job finished; call with @jobs->lock held. */
void mom_jobs_done_locked(MomJobs *jobs);

/** mom_jobs_wait_idle: Returns when no job is queued or running. */
void mom_jobs_wait_idle(MomJobs *jobs);

/** mom_jobs_pending: Returns: jobs queued or running. */
guint mom_jobs_pending(MomJobs *jobs);

/**
 * mom_jobs_clear:
 * Drops the jobs not started and waits for the running ones (they use the
 * controller's state; libvirt gives up on a stuck QEMU after ~30 s).
 */
void mom_jobs_clear(MomJobs *jobs);
