/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "controller-jobs.h"

gboolean
mom_jobs_init(MomJobs *j, GFunc work, gpointer user_data, GDestroyNotify free_job, guint threads,
              GError **error)
{
    g_mutex_init(&j->lock);
    g_cond_init(&j->idle);
    j->pending = 0;
    j->pool = g_thread_pool_new_full(work, user_data, free_job, (gint)threads, FALSE, error);
    if (!j->pool) {
        g_mutex_clear(&j->lock);
        g_cond_clear(&j->idle);
        return FALSE;
    }
    return TRUE;
}

void
mom_jobs_done_locked(MomJobs *j)
{
    if (--j->pending == 0)
        g_cond_broadcast(&j->idle);
}

void
mom_jobs_wait_idle(MomJobs *j)
{
    g_mutex_lock(&j->lock);
    while (j->pending > 0)
        g_cond_wait(&j->idle, &j->lock);
    g_mutex_unlock(&j->lock);
}

guint
mom_jobs_pending(MomJobs *j)
{
    g_mutex_lock(&j->lock);
    guint n = j->pending;
    g_mutex_unlock(&j->lock);
    return n;
}

void
mom_jobs_clear(MomJobs *j)
{
    g_thread_pool_free(j->pool, TRUE, TRUE);
    j->pool = NULL;
    g_mutex_clear(&j->lock);
    g_cond_clear(&j->idle);
}
