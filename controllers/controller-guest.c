/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <string.h>

#include "controller-guest.h"

void
mom_guest_ctl_log(const char *controller, GLogLevelFlags level, const char *guest, const char *fmt,
                  ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_log_structured(G_LOG_DOMAIN, level, "MOM_CONTROLLER", controller, "MOM_GUEST", guest,
                     "MESSAGE", "%s", msg);
}

/* One dry-run decision, as logged. */
typedef struct {
    guint64 cycle; /* the apply() cycle that made it last */
    char *decision;
} DryRunSaid;

static void
dry_run_said_free(gpointer p)
{
    DryRunSaid *s = p;

    g_free(s->decision);
    g_free(s);
}

static void
entry_clear(gpointer data)
{
    MomGuestEntry *g = data;

    if (g->klass->entry_clear)
        g->klass->entry_clear(g);
    g_clear_pointer(&g->dry_said, g_hash_table_destroy);
    g_free(g->uuid);
}

static void
entry_unref(gpointer g)
{
    g_atomic_rc_box_release_full(g, entry_clear);
}

static void
job_free(gpointer data)
{
    MomGuestJob *job = data;

    if (job->guest->klass->job_clear)
        job->guest->klass->job_clear(job);
    entry_unref(job->guest);
    g_free(job->name);
    g_free(job);
}

/* Runs one job on a pool thread. */
static void
guest_ctl_work(gpointer data, gpointer user_data)
{
    MomGuestJob *job = data;
    MomGuestCtl *ctl = user_data;
    MomGuestEntry *g = job->guest;
    gboolean ok = ctl->klass->work(ctl, job);

    /* Only now, so that the job's log lines come before the next job's and
     * mom_jobs_wait_idle() returns after them. */
    g_mutex_lock(&ctl->jobs.lock);
    g->in_flight = FALSE;
    g->done_at = g_get_monotonic_time();
    if (ctl->klass->done_locked)
        ctl->klass->done_locked(job, ok);
    mom_jobs_done_locked(&ctl->jobs);
    g_mutex_unlock(&ctl->jobs.lock);
    job_free(job);
}

gpointer
mom_guest_ctl_new(const MomGuestCtlClass *klass, gsize size, const MomControllerConfig *cfg,
                  gboolean supported, GError **error)
{
    g_return_val_if_fail(size >= sizeof(MomGuestCtl), NULL);

    if (!supported) {
        g_set_error(error, MOM_CONTROLLER_ERROR, MOM_CONTROLLER_ERROR_INIT,
                    "The %s controller needs a hypervisor connection; momd has none (it runs "
                    "host-only), so guest %s cannot be changed.",
                    klass->name, klass->changes);
        return NULL;
    }
    MomGuestCtl *ctl = g_malloc0(size);
    ctl->klass = klass;
    ctl->hv = *cfg->hypervisor;
    ctl->dry_run = cfg->dry_run;
    ctl->guests = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, entry_unref);
    if (!mom_jobs_init(&ctl->jobs, guest_ctl_work, ctl, job_free, klass->threads, error)) {
        g_hash_table_destroy(ctl->guests);
        g_free(ctl);
        return NULL;
    }
    return ctl;
}

void
mom_guest_ctl_free(gpointer state)
{
    MomGuestCtl *ctl = state;

    if (!ctl)
        return;
    mom_jobs_clear(&ctl->jobs);
    g_hash_table_destroy(ctl->guests);
    g_free(ctl);
}

MomGuestEntry *
mom_guest_ctl_get(MomGuestCtl *ctl, MomEntity *e)
{
    const MomValue *uuid = mom_entity_get_prop(e, "uuid");

    if (!uuid || uuid->type != MOM_VALUE_STRING)
        return NULL;
    MomGuestEntry *g = g_hash_table_lookup(ctl->guests, mom_value_string_get(uuid));
    if (!g) {
        g = g_atomic_rc_box_alloc0(ctl->klass->entry_size);
        g->uuid = g_strdup(mom_value_string_get(uuid));
        g->klass = ctl->klass;
        if (ctl->klass->entry_init)
            ctl->klass->entry_init(g);
        g_hash_table_insert(ctl->guests, g->uuid, g);
    }
    g->seen = ctl->cycle;
    return g;
}

static gboolean
forget_unseen(gpointer key G_GNUC_UNUSED, gpointer value, gpointer user_data)
{
    const MomGuestEntry *g = value;
    const MomGuestCtl *ctl = user_data;

    return g->seen != ctl->cycle;
}

void
mom_guest_ctl_end_cycle(MomGuestCtl *ctl)
{
    g_hash_table_foreach_remove(ctl->guests, forget_unseen, ctl);
    ctl->cycle++;
}

/* Hypervisor calls refused, by guest controller (mom_controller_call_failures). */
static const char *const failure_names[] = {"Balloon", "CpuTune", "IoTune"};
static guint64 failures[G_N_ELEMENTS(failure_names)];
static GMutex failures_lock; /* workers count, the main loop reads */

static guint
failure_index(const char *name)
{
    for (guint i = 0; i < G_N_ELEMENTS(failure_names); i++)
        if (g_strcmp0(name, failure_names[i]) == 0)
            return i;
    return G_N_ELEMENTS(failure_names);
}

guint64
mom_controller_call_failures(const char *name)
{
    guint i = failure_index(name);
    guint64 n = 0;

    g_mutex_lock(&failures_lock);
    if (i < G_N_ELEMENTS(failures))
        n = failures[i];
    g_mutex_unlock(&failures_lock);
    return n;
}

gboolean
mom_guest_ctl_note_call(MomGuestCtl *ctl, MomGuestEntry *g, const char *name, gboolean ok,
                        const GError *error)
{
    if (!ok && error && ctl->hv.is_gone && ctl->hv.is_gone(error)) {
        mom_guest_ctl_log(ctl->klass->name, G_LOG_LEVEL_DEBUG, name,
                          "guest %s went away under the %s: %s", name, ctl->klass->change,
                          error->message);
        return FALSE;
    }
    guint i = failure_index(ctl->klass->name);
    if (!ok && i < G_N_ELEMENTS(failures)) {
        g_mutex_lock(&failures_lock);
        failures[i]++;
        g_mutex_unlock(&failures_lock);
    }
    g_mutex_lock(&ctl->jobs.lock);
    gboolean report = !ok && !g->error_reported;
    g->error_reported = !ok;
    g_mutex_unlock(&ctl->jobs.lock);
    return report;
}

gboolean
mom_guest_ctl_skip_busy(MomGuestCtl *ctl, MomGuestEntry *g, const char *name, gboolean in_flight)
{
    if (!in_flight) {
        g->busy_reported = FALSE;
        return FALSE;
    }
    /* queued_at is written on this thread, by mom_guest_ctl_queue() */
    gint64 running = g_get_monotonic_time() - g->queued_at;
    if (!g->busy_reported && running >= MOM_CONTROLLER_BUSY_WARN_S * G_USEC_PER_SEC) {
        mom_guest_ctl_log(ctl->klass->name, G_LOG_LEVEL_WARNING, name,
                          "guest %s: the previous %s is still running after %.0f s, so this "
                          "cycle's change is skipped; the guest's QEMU may be busy.",
                          name, ctl->klass->change, running / 1e6);
        g->busy_reported = TRUE;
    } else if (!g->busy_reported) {
        mom_guest_ctl_log(ctl->klass->name, G_LOG_LEVEL_DEBUG, name,
                          "guest %s: the previous %s is still running; this cycle's change is "
                          "skipped.",
                          name, ctl->klass->change);
    }
    return TRUE;
}

gboolean
mom_guest_ctl_dry_run_news(MomGuestCtl *ctl, MomGuestEntry *g, const char *what,
                           const char *decision)
{
    if (!g->dry_said)
        g->dry_said = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, dry_run_said_free);
    DryRunSaid *s = g_hash_table_lookup(g->dry_said, what);
    if (!s) {
        s = g_new0(DryRunSaid, 1);
        g_hash_table_insert(g->dry_said, g_strdup(what), s);
    }
    /* the first decision, one after a cycle without any, or a different one */
    gboolean news = !s->decision || s->cycle + 1 < ctl->cycle || strcmp(s->decision, decision) != 0;
    if (news) {
        g_free(s->decision);
        s->decision = g_strdup(decision);
    }
    s->cycle = ctl->cycle;
    return news;
}

void
mom_guest_ctl_queue(MomGuestCtl *ctl, MomGuestEntry *g, const char *name, MomGuestJob *job)
{
    g_autoptr(GError) error = NULL;

    job->guest = g_atomic_rc_box_acquire(g);
    job->name = g_strdup(name);
    g_mutex_lock(&ctl->jobs.lock);
    g->in_flight = TRUE;
    g->queued_at = g_get_monotonic_time();
    ctl->jobs.pending++;
    g_mutex_unlock(&ctl->jobs.lock);
    /* On failure the job is still queued; it runs when a thread is free. */
    if (!g_thread_pool_push(ctl->jobs.pool, job, &error))
        mom_guest_ctl_log(ctl->klass->name, G_LOG_LEVEL_WARNING, name,
                          "guest %s: no new thread for the %s: %s; it waits for a busy one.", name,
                          ctl->klass->change, error->message);
}

gboolean
mom_guest_ctl_sample_predates(MomEntity *e, gint64 when)
{
    const MomValue *at = mom_entity_get_prop(e, "sampled_at");

    return at && at->type == MOM_VALUE_INT && at->u.i <= when;
}
