/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The Balloon controller: applies each guest's balloon_target control (KiB)
 * through MomHypervisorOps.set_balloon, i.e. virDomainSetMemoryFlags(LIVE).
 *
 * MOM's controller passed the policy's number to libvirt unchanged, every
 * cycle.  momd puts guard rails between the policy and the guest, applied
 * in this order, each to what the previous one left:
 *  1. floor: not below the larger of the guest's balloon_min field (its
 *     <memtune><min_guarantee>) and [balloon] min-floor-mib, because a guest
 *     squeezed below what it needs swaps or OOM-kills its workload;
 *  2. ceiling: not above the guest's balloon_max field; libvirt refuses more
 *     than the maximum memory, so the ceiling wins when the two cross;
 *  3. dead band: nothing is done when the result is within dead-band-kib of
 *     balloon_cur, as a balloon that never settles costs the guest more
 *     than the few pages it gains;
 *  4. step: at most max-step-mib of change per guest per cycle, towards the
 *     result, so one wrong policy cannot take gigabytes from a guest at once.
 *
 * set_balloon may block for as long as a busy QEMU holds its job lock, so
 * the calls run in a small thread pool and apply() never waits for them,
 * at most one per guest (controller-guest.h, shared with CpuTune and
 * IoTune).
 *
 * Uncooperative guests: a guest whose balloon driver is gone or stuck
 * accepts set_balloon and then does nothing.  After uncooperative-cycles
 * cycles in a row in which balloon_cur did not come within the dead band of
 * the last request (a balloon that moved and then stopped short of it
 * answers, and is not counted), the guest is marked (property balloon_uncooperative,
 * which policies can read) and left alone until balloon_cur moves by more
 * than the dead band on its own.
 */
#include "config.h"

#include <string.h>

#include "balloon-priv.h"
#include "controller-guest.h"
#include "mom-controller.h"

/* A few threads: each guest uses at most one, so this many guests with a
 * stuck QEMU are needed before the others' calls have to queue. */
#define BALLOON_THREADS 4

#define balloon_log(...) mom_guest_ctl_log("Balloon", __VA_ARGS__)

/* What the controller remembers of one guest, after the shared part. */
typedef struct {
    MomGuestEntry base;
    MomBalloonState st; /* main loop only */
    /* under MomBalloon.ctl.jobs.lock */
    gboolean failed; /* the last call failed: the guest was not asked */
} BalloonGuest;

/* One set_balloon call. */
typedef struct {
    MomGuestJob base;
    guint64 kib;
    gint64 old_kib;
    char *detail; /* "target T requested at F:L:C; clamped by R" */
} BalloonJob;

struct _MomBalloon {
    MomGuestCtl ctl;
    MomBalloonRails rails;
    GHashTable *reported; /* names of guests without a uuid, already logged */
};

static void
job_clear(MomGuestJob *job)
{
    g_free(((BalloonJob *)job)->detail);
}

static guint64
distance(gint64 a, gint64 b)
{
    return a > b ? (guint64)a - (guint64)b : (guint64)b - (guint64)a;
}

/* Equal, or closer than the dead band: not worth a change. */
static gboolean
within_band(const MomBalloonRails *r, gint64 x, gint64 y)
{
    guint64 d = distance(x, y);
    return d == 0 || d < (guint64)r->dead_band_kib;
}

/* Runs set_balloon on a pool thread. */
static gboolean
balloon_work(MomGuestCtl *ctl, MomGuestJob *base)
{
    BalloonJob *job = (BalloonJob *)base;
    g_autoptr(GError) error = NULL;
    gboolean ok = ctl->hv.set_balloon(ctl->hv.hv, base->guest->uuid, job->kib, &error);
    gboolean report = mom_guest_ctl_note_call(ctl, base->guest, base->name, ok, error);

    if (ok)
        balloon_log(G_LOG_LEVEL_MESSAGE, base->name,
                    "guest %s: balloon %" G_GINT64_FORMAT " → %" G_GUINT64_FORMAT " KiB (%s)",
                    base->name, job->old_kib, job->kib, job->detail);
    else if (report)
        balloon_log(G_LOG_LEVEL_WARNING, base->name,
                    "guest %s: cannot set the balloon to %" G_GUINT64_FORMAT " KiB (%s): %s",
                    base->name, job->kib, job->detail,
                    error ? error->message : "the hypervisor gave no reason");
    return ok;
}

static void
balloon_done_locked(MomGuestJob *job, gboolean ok)
{
    ((BalloonGuest *)job->guest)->failed = !ok;
}

static const MomGuestCtlClass balloon_class = {
    .name = "Balloon",
    .changes = "balloons",
    .change = "balloon change",
    .threads = BALLOON_THREADS,
    .entry_size = sizeof(BalloonGuest),
    .work = balloon_work,
    .done_locked = balloon_done_locked,
    .job_clear = job_clear,
};

void
mom_balloon_wait_idle(MomBalloon *b)
{
    mom_jobs_wait_idle(&b->ctl.jobs);
}

guint
mom_balloon_n_pending(MomBalloon *b)
{
    return mom_jobs_pending(&b->ctl.jobs);
}

/* The guard rails, in the [balloon] section (docs/configuration.md), in
 * the units users write them in.  1 TiB caps the sizes: more is a typo,
 * and MiB * 1024 stays far from overflowing. */
enum { OPT_FLOOR, OPT_DEAD_BAND, OPT_MAX_STEP, OPT_UNCOOPERATIVE };
static const MomControllerOption balloon_options[] = {
    [OPT_FLOOR] = {"balloon", "min-floor-mib", MOM_CONTROLLER_OPTION_INT, 128, 0, 1048576},
    [OPT_DEAD_BAND] = {"balloon", "dead-band-kib", MOM_CONTROLLER_OPTION_INT, 1024, 0, 1073741824},
    [OPT_MAX_STEP] = {"balloon", "max-step-mib", MOM_CONTROLLER_OPTION_INT, 512, 1, 1048576},
    [OPT_UNCOOPERATIVE] = {"balloon", "uncooperative-cycles", MOM_CONTROLLER_OPTION_INT, 3, 1,
                           1000},
    {.key = NULL},
};

static gpointer
balloon_init(const MomControllerConfig *cfg, GError **error)
{
    MomBalloon *b = mom_guest_ctl_new(&balloon_class, sizeof(MomBalloon), cfg,
                                      cfg->hypervisor && cfg->hypervisor->set_balloon, error);

    if (!b)
        return NULL;
    b->rails.floor_kib = mom_controller_option_int(cfg, &balloon_options[OPT_FLOOR]) * 1024;
    b->rails.dead_band_kib = mom_controller_option_int(cfg, &balloon_options[OPT_DEAD_BAND]);
    b->rails.max_step_kib = mom_controller_option_int(cfg, &balloon_options[OPT_MAX_STEP]) * 1024;
    b->rails.uncooperative_cycles =
        (guint)mom_controller_option_int(cfg, &balloon_options[OPT_UNCOOPERATIVE]);
    b->rails.dry_run = b->ctl.dry_run;
    b->reported = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    return b;
}

/* Nothing is asked of the guest this cycle: a streak of misses ends. */
static void
forget_request(MomBalloonState *s)
{
    s->requested = FALSE;
    s->missed = 0;
}

/*
 * Judges the guest's answer to the last request, before this cycle's
 * decision.  Cycles in which the call is still in flight, or failed, say
 * nothing about the guest: it has not been asked.
 */
static MomBalloonProgress
check_progress(const MomBalloonRails *r, MomBalloonState *s, const MomBalloonInput *in,
               guint *missed)
{
    gint64 cur = in->cur;

    if (s->uncooperative) {
        if (within_band(r, cur, s->cur_at_mark))
            return MOM_BALLOON_PROGRESS_NONE;
        s->uncooperative = FALSE;
        forget_request(s);
        return MOM_BALLOON_PROGRESS_RESPONDS;
    }
    /* a paused guest has not been able to answer */
    if (!s->requested || in->in_flight || in->paused)
        return MOM_BALLOON_PROGRESS_NONE;
    if (in->failed) {
        s->requested = FALSE;
        return MOM_BALLOON_PROGRESS_NONE;
    }
    if (within_band(r, cur, s->request_kib)) {
        forget_request(s);
        return MOM_BALLOON_PROGRESS_NONE;
    }
    /* the same sample as at the last miss says nothing new: no collection
     * landed since (libvirt did not answer, the e2e fault test saw both
     * guests marked while libvirtd was stopped) */
    if (s->missed > 0 && in->sampled_at > 0 && in->sampled_at <= s->sampled_at_miss)
        return MOM_BALLOON_PROGRESS_NONE;
    /* still moving toward the request: slow, not uncooperative */
    if (s->missed > 0 && distance(cur, s->request_kib) + (guint64)r->dead_band_kib <
                             distance(s->cur_at_miss, s->request_kib)) {
        s->missed = 0;
    }
    /* it moved after the request, then stopped short of it: the balloon
     * answers (the guest could not give more, or someone else set it, as
     * virsh setmem does), so the guest is not uncooperative; the request
     * is over, and the policy's next decision starts from here */
    if (s->missed == 0)
        s->cur_at_streak = s->cur_at_request;
    /* ... or moved anyhow since the streak began (set smaller by hand past
     * the request, the churn soak's virsh setmem): a balloon that moves is
     * no uncooperative one, whichever way it went */
    if (s->missed > 0 && in->sampled_at > s->sampled_at_miss && s->sampled_at_miss > 0 &&
        !within_band(r, cur, s->cur_at_streak)) {
        forget_request(s);
        return MOM_BALLOON_PROGRESS_STOPPED_SHORT;
    }
    s->cur_at_miss = cur;
    s->sampled_at_miss = in->sampled_at;
    s->missed++;
    if (r->uncooperative_cycles == 0 || s->missed < r->uncooperative_cycles)
        return MOM_BALLOON_PROGRESS_NONE;
    s->uncooperative = TRUE;
    s->cur_at_mark = cur;
    *missed = s->missed;
    forget_request(s);
    return MOM_BALLOON_PROGRESS_MARKED;
}

static void
add_rule(GString *rules, const char *rule)
{
    g_string_append(rules, rules->len ? " and " : "; clamped by ");
    g_string_append(rules, rule);
}

/* The guard rails, in order, each on what the previous one left. */
static gint64
clamp_target(const MomBalloonRails *r, const MomBalloonInput *in, guint *clamped, GString *rules)
{
    gint64 want = in->target;

    if (want < MAX(in->min, r->floor_kib)) {
        want = MAX(in->min, r->floor_kib);
        *clamped |= in->min > r->floor_kib ? MOM_BALLOON_CLAMP_MIN : MOM_BALLOON_CLAMP_FLOOR;
        add_rule(rules, in->min > r->floor_kib ? "balloon_min" : "min-floor-mib");
    }
    if (want > in->max) {
        want = in->max;
        *clamped |= MOM_BALLOON_CLAMP_MAX;
        add_rule(rules, "balloon_max");
    }
    return want;
}

/* Whether to wait for the balloon to finish the last request instead of
 * asking for @want; sets the action and outcome when so. */
static gboolean
decide_wait(const MomBalloonRails *r, const MomBalloonState *s, const MomBalloonInput *in,
            gint64 want, MomBalloonDecision *out)
{
    /* The guest is still moving to the size asked for last time (or the
     * statistics predate the change), and the policy asks for the same size
     * again: asking twice changes nothing, so wait.  A guest that stops
     * short is asked again, and one that never moves is marked
     * uncooperative by check_progress().  (The end-to-end test saw such
     * repeats.) */
    gint64 cur = in->cur;
    gboolean moving = distance(cur, s->request_kib) < distance(s->cur_at_request, s->request_kib);
    gboolean waitable = s->requested && !in->in_flight && (moving || !in->fresh);
    if (waitable && within_band(r, want, s->request_kib)) {
        out->action = MOM_BALLOON_WAIT;
        out->outcome = g_strdup_printf("waiting: the balloon is moving to %" G_GINT64_FORMAT
                                       " KiB (now %" G_GINT64_FORMAT " KiB%s)",
                                       s->request_kib, cur, in->fresh ? "" : ", older statistics");
        return TRUE;
    }
    /* Still moving to an earlier request, and the policy now asks for a
     * size on the way there: its step was computed from where the balloon
     * is now, in mid-course, and asking for it would turn the balloon
     * around short of the earlier size (with a policy cycle every second
     * under pressure, the scenario saw balloons bounce by 400 MiB).  The
     * earlier, further request stands; a request in the other direction,
     * or beyond it, is a change of mind and goes through. */
    gboolean on_the_way = (want < cur) == (s->request_kib < cur) &&
                          distance(cur, want) < distance(cur, s->request_kib);
    if (waitable && on_the_way) {
        out->action = MOM_BALLOON_ON_THE_WAY;
        out->outcome = g_strdup_printf("waiting: the balloon is moving to %" G_GINT64_FORMAT
                                       " KiB, beyond the %" G_GINT64_FORMAT
                                       " KiB asked now (now %" G_GINT64_FORMAT " KiB)",
                                       s->request_kib, want, cur);
        return TRUE;
    }
    return FALSE;
}

void
mom_balloon_decision_clear(MomBalloonDecision *d)
{
    g_clear_pointer(&d->rules, g_free);
    g_clear_pointer(&d->outcome, g_free);
}

void
mom_balloon_decide(const MomBalloonRails *r, const MomBalloonState *state,
                   const MomBalloonInput *in, MomBalloonDecision *out)
{
    MomBalloonState *s = &out->state;
    gint64 cur = in->cur;
    g_autoptr(GString) rules = g_string_new(NULL);

    memset(out, 0, sizeof(*out));
    *s = *state;
    /* a cycle that decides anything else ends a streak of dry-run decisions */
    s->dry_run_said = FALSE;
    out->action = MOM_BALLOON_NOTHING;

    /* A sample can be older than the last change (the guest manager samples
     * on its own timer).  Judge the guest only on data taken after its
     * change returned. */
    if (in->have_stats && in->fresh)
        out->progress = check_progress(r, s, in, &out->progress_missed);
    if (!in->has_control) {
        forget_request(s);
        goto done;
    }
    if (!in->target_ok) {
        out->action = MOM_BALLOON_BAD_VALUE;
        out->report = !s->bad_value_reported;
        s->bad_value_reported = TRUE;
        out->outcome = g_strdup("ignored: not a number of KiB");
        forget_request(s);
        goto done;
    }
    s->bad_value_reported = FALSE;
    if (!in->have_stats) {
        /* Without them no guard rail can be checked, so nothing is safe. */
        out->action = MOM_BALLOON_NO_STATS;
        out->report = !s->no_stats_reported;
        s->no_stats_reported = TRUE;
        out->outcome = g_strdup("ignored: balloon_cur/balloon_max unknown");
        forget_request(s);
        goto done;
    }
    s->no_stats_reported = FALSE;
    if (s->uncooperative) {
        out->action = MOM_BALLOON_UNCOOPERATIVE;
        out->outcome = g_strdup("skipped: the guest does not follow its balloon (uncooperative)");
        goto done;
    }

    gint64 want = clamp_target(r, in, &out->clamped, rules);
    out->want = want;
    if (within_band(r, cur, want)) {
        out->action = MOM_BALLOON_DEAD_BAND;
        out->outcome = g_strdup_printf(
            "unchanged: %" G_GINT64_FORMAT " KiB is within the dead band%s", cur, rules->str);
        forget_request(s);
        goto done;
    }
    if (r->max_step_kib > 0 && distance(cur, want) > (guint64)r->max_step_kib) {
        want = want > cur ? cur + r->max_step_kib : cur - r->max_step_kib;
        out->clamped |= MOM_BALLOON_CLAMP_STEP;
        add_rule(rules, "max-step-mib");
    }
    out->want = want;
    if (decide_wait(r, s, in, want, out))
        goto done;
    if (r->dry_run) {
        /* Nothing changes, so the policy asks again every cycle: the same
         * size, as the dead band counts sizes, is logged once. */
        out->action = MOM_BALLOON_DRY_RUN;
        out->report =
            !state->dry_run_said || s->dry_run_cur != cur || !within_band(r, want, s->dry_run_want);
        if (out->report) {
            s->dry_run_cur = cur;
            s->dry_run_want = want;
        }
        s->dry_run_said = TRUE;
        out->outcome =
            g_strdup_printf("dry run: would set %" G_GINT64_FORMAT " → %" G_GINT64_FORMAT " KiB%s",
                            cur, want, rules->str);
        goto done;
    }
    if (in->in_flight) {
        out->action = MOM_BALLOON_BUSY;
        /* a call a second or two late is no news (MOM_CONTROLLER_BUSY_WARN_S) */
        out->report =
            !s->busy_reported && in->busy_us >= MOM_CONTROLLER_BUSY_WARN_S * G_USEC_PER_SEC;
        s->busy_reported |= out->report;
        out->outcome = g_strdup("skipped: the previous change is running");
        goto done;
    }
    out->action = MOM_BALLOON_SET;
    out->outcome = g_strdup_printf("requested %" G_GINT64_FORMAT " → %" G_GINT64_FORMAT " KiB%s",
                                   cur, want, rules->str);
    s->requested = TRUE;
    s->request_kib = want;
    s->cur_at_request = cur;
    s->busy_reported = FALSE;
done:
    out->rules = g_string_free(g_steal_pointer(&rules), FALSE);
}

/* Logs what check_progress() saw; @before is the state it judged. */
static void
log_progress(MomBalloon *b, const char *name, const MomBalloonState *before,
             const MomBalloonInput *in, const MomBalloonDecision *d)
{
    switch (d->progress) {
    case MOM_BALLOON_PROGRESS_NONE:
        break;
    case MOM_BALLOON_PROGRESS_RESPONDS:
        balloon_log(G_LOG_LEVEL_MESSAGE, name,
                    "guest %s: the balloon responds again (balloon_cur %" G_GINT64_FORMAT
                    " KiB, %" G_GINT64_FORMAT " KiB when it stopped responding); balloon "
                    "changes resume.",
                    name, in->cur, before->cur_at_mark);
        break;
    case MOM_BALLOON_PROGRESS_STOPPED_SHORT:
        balloon_log(G_LOG_LEVEL_DEBUG, name,
                    "guest %s: the balloon stopped at %" G_GINT64_FORMAT
                    " KiB, short of the requested %" G_GINT64_FORMAT " KiB; the request is over.",
                    name, in->cur, before->request_kib);
        break;
    case MOM_BALLOON_PROGRESS_MARKED:
        balloon_log(G_LOG_LEVEL_WARNING, name,
                    "guest %s: the balloon did not come within %" G_GINT64_FORMAT
                    " KiB of the requested %" G_GINT64_FORMAT
                    " KiB in %u cycles (balloon_cur %" G_GINT64_FORMAT
                    " KiB); the guest is marked balloon_uncooperative and momd "
                    "leaves its balloon alone until it moves on its own.",
                    name, b->rails.dead_band_kib, before->request_kib, d->progress_missed, in->cur);
        break;
    }
}

/* Reads this cycle's view of the guest; takes the failure of the last call. */
static void
balloon_input(MomBalloon *b, BalloonGuest *g, MomEntity *e, const MomControl *c,
              MomBalloonInput *in)
{
    gint64 done_at;

    memset(in, 0, sizeof(*in));
    in->have_stats = mom_controller_stat_int(e, "balloon_cur", &in->cur) &&
                     mom_controller_stat_int(e, "balloon_max", &in->max);
    mom_controller_stat_int(e, "balloon_min", &in->min); /* absent: no guarantee */
    g_mutex_lock(&b->ctl.jobs.lock);
    in->in_flight = g->base.in_flight;
    in->busy_us = in->in_flight ? g_get_monotonic_time() - g->base.queued_at : 0;
    in->failed = g->failed;
    done_at = g->base.done_at;
    g->failed = FALSE;
    g_mutex_unlock(&b->ctl.jobs.lock);
    in->fresh = !mom_guest_ctl_sample_predates(e, done_at);
    /* when the sample was taken: a stop short of the request needs a newer
     * sample than the last miss's to be seen */
    const MomValue *at = mom_entity_get_prop(e, "sampled_at");
    in->sampled_at = at && at->type == MOM_VALUE_INT ? at->u.i : 0;
    const MomValue *paused = mom_entity_get_prop(e, "paused");
    in->paused = paused && paused->type == MOM_VALUE_BOOL && paused->u.b;
    in->has_control = c != NULL;
    in->target_ok = c && mom_control_as_int(&c->value, &in->target);
}

/* Decides this cycle's change for one guest, then logs it and queues the call. */
static void
balloon_guest(MomBalloon *b, BalloonGuest *g, MomEntity *e, const MomControl *c)
{
    const char *name = mom_entity_name(e);
    MomBalloonInput in;
    g_auto(MomBalloonDecision) d = {0};
    MomBalloonState before = g->st;

    before.busy_reported = g->base.busy_reported;
    balloon_input(b, g, e, c, &in);
    mom_balloon_decide(&b->rails, &before, &in, &d);
    g->st = d.state;
    g->base.busy_reported = d.state.busy_reported;
    log_progress(b, name, &before, &in, &d);
    if (d.outcome)
        mom_entity_set_outcome(e, "balloon_target", d.outcome);
    if (d.action == MOM_BALLOON_BAD_VALUE && d.report) {
        g_autoptr(GString) v = g_string_new(NULL);
        mom_value_repr(&c->value, TRUE, v);
        balloon_log(G_LOG_LEVEL_WARNING, name,
                    "guest %s: ignoring balloon_target = %s set at %s:%d:%d: %s.", name, v->str,
                    c->file, c->line, c->col,
                    c->value.type == MOM_VALUE_FLOAT
                        ? "it is not a finite number within the 64-bit integer range"
                        : "it must be a number of KiB");
    } else if (d.action == MOM_BALLOON_NO_STATS && d.report) {
        balloon_log(G_LOG_LEVEL_WARNING, name,
                    "guest %s: ignoring balloon_target set at %s:%d:%d: the guest's "
                    "balloon_cur or balloon_max is unknown (the GuestBalloon collector "
                    "provides them).",
                    name, c->file, c->line, c->col);
    }
    if (d.action != MOM_BALLOON_DRY_RUN && d.action != MOM_BALLOON_BUSY &&
        d.action != MOM_BALLOON_SET)
        return;

    g_autofree char *detail = g_strdup_printf("target %" G_GINT64_FORMAT " requested at %s:%d:%d%s",
                                              in.target, c->file, c->line, c->col, d.rules);
    if (d.action == MOM_BALLOON_DRY_RUN) {
        if (d.report)
            balloon_log(G_LOG_LEVEL_MESSAGE, name,
                        "guest %s: balloon %" G_GINT64_FORMAT " → %" G_GINT64_FORMAT
                        " KiB would be set (dry run) (%s)",
                        name, in.cur, d.want, detail);
        return;
    }
    if (d.action == MOM_BALLOON_BUSY) {
        if (d.report)
            balloon_log(
                G_LOG_LEVEL_WARNING, name,
                "guest %s: the previous balloon change (to %" G_GINT64_FORMAT
                " KiB) is still running after %.0f s, so this cycle's change to %" G_GINT64_FORMAT
                " KiB is skipped; the guest's QEMU may be busy.",
                name, d.state.request_kib, in.busy_us / 1e6, d.want);
        return;
    }
    BalloonJob *job = g_new0(BalloonJob, 1);
    job->kib = (guint64)d.want;
    job->old_kib = in.cur;
    job->detail = g_steal_pointer(&detail);
    mom_guest_ctl_queue(&b->ctl, &g->base, name, &job->base);
}

static gboolean
balloon_apply(gpointer state, MomEntity *host G_GNUC_UNUSED, GPtrArray *guests,
              GError **error G_GNUC_UNUSED)
{
    MomBalloon *b = state;

    for (guint i = 0; guests && i < guests->len; i++) {
        MomEntity *e = guests->pdata[i];
        const char *name = mom_entity_name(e);
        const MomControl *c = mom_controller_find_control(e, "balloon_target");
        BalloonGuest *g = (BalloonGuest *)mom_guest_ctl_get(&b->ctl, e);

        if (g) {
            balloon_guest(b, g, e, c);
        } else if (c && !g_hash_table_contains(b->reported, name)) {
            /* A guest manager bug, not the policy's: say it once. */
            g_hash_table_add(b->reported, g_strdup(name));
            balloon_log(G_LOG_LEVEL_WARNING, name,
                        "guest %s: ignoring balloon_target set at %s:%d:%d: the guest has no "
                        "uuid property to name it to the hypervisor.",
                        name, c->file, c->line, c->col);
        }
        /* Set every cycle, so a policy can always read it. */
        MomValue v = mom_value_bool(g && g->st.uncooperative);
        mom_entity_set_prop(e, "balloon_uncooperative", &v);
    }
    mom_guest_ctl_end_cycle(&b->ctl);
    return TRUE;
}

static void
balloon_free(gpointer state)
{
    MomBalloon *b = state;

    if (!b)
        return;
    /* no worker reads it, so it need not wait for them */
    g_hash_table_destroy(b->reported);
    mom_guest_ctl_free(b);
}

const MomControllerClass mom_controller_balloon = {
    .name = "Balloon",
    .options = balloon_options,
    .init = balloon_init,
    .apply = balloon_apply,
    .free = balloon_free,
};
