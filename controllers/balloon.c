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
    /* main loop only */
    gboolean requested; /* a call was made; its effect is awaited */
    gint64 request_kib; /* what that call asked for */
    guint missed;       /* cycles in a row the request was not reached */
    gboolean uncooperative;
    gint64 cur_at_mark;     /* balloon_cur when marked uncooperative */
    gint64 cur_at_miss;     /* balloon_cur at the last miss, to see progress */
    gint64 sampled_at_miss; /* the sample's time (sampled_at) at the last miss; 0 unknown */
    gint64 cur_at_streak;   /* balloon_cur when the first request of the missed streak was made */
    gint64 cur_at_request;  /* balloon_cur when the last call was made */
    gboolean bad_value_reported;
    gboolean no_stats_reported;
    /* dry run: the decision logged, and whether the previous cycle made it */
    gboolean dry_run_said;
    gint64 dry_run_cur, dry_run_want;
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
    gint64 floor_kib;
    gint64 dead_band_kib;
    gint64 max_step_kib;        /* 0: no limit */
    guint uncooperative_cycles; /* 0: never mark a guest */
    GHashTable *reported;       /* names of guests without a uuid, already logged */
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
within_band(MomBalloon *b, gint64 x, gint64 y)
{
    guint64 d = distance(x, y);
    return d == 0 || d < (guint64)b->dead_band_kib;
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

static gpointer
balloon_init(const MomControllerConfig *cfg, GError **error)
{
    MomBalloon *b = mom_guest_ctl_new(&balloon_class, sizeof(MomBalloon), cfg,
                                      cfg->hypervisor && cfg->hypervisor->set_balloon, error);

    if (!b)
        return NULL;
    b->floor_kib = (gint64)MIN(cfg->balloon_floor_kib, (guint64)G_MAXINT64);
    b->dead_band_kib = (gint64)MIN(cfg->balloon_dead_band_kib, (guint64)G_MAXINT64);
    b->max_step_kib = (gint64)MIN(cfg->balloon_max_step_kib, (guint64)G_MAXINT64);
    b->uncooperative_cycles = cfg->balloon_uncooperative_cycles;
    b->reported = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    return b;
}

/* Nothing is asked of the guest this cycle: a streak of misses ends. */
static void
forget_request(BalloonGuest *g)
{
    g->requested = FALSE;
    g->missed = 0;
}

/*
 * Judges the guest's answer to the last request, before this cycle's
 * decision.  Cycles in which the call is still in flight, or failed, say
 * nothing about the guest: it has not been asked.
 */
static void
check_progress(MomBalloon *b, BalloonGuest *g, const char *name, gint64 cur, gint64 sampled_at,
               gboolean in_flight, gboolean failed)
{
    if (g->uncooperative) {
        if (within_band(b, cur, g->cur_at_mark))
            return;
        g->uncooperative = FALSE;
        forget_request(g);
        balloon_log(G_LOG_LEVEL_MESSAGE, name,
                    "guest %s: the balloon responds again (balloon_cur %" G_GINT64_FORMAT
                    " KiB, %" G_GINT64_FORMAT " KiB when it stopped responding); balloon "
                    "changes resume.",
                    name, cur, g->cur_at_mark);
        return;
    }
    if (!g->requested || in_flight)
        return;
    if (failed) {
        g->requested = FALSE;
        return;
    }
    if (within_band(b, cur, g->request_kib)) {
        forget_request(g);
        return;
    }
    /* still moving toward the request: slow, not uncooperative */
    if (g->missed > 0 && distance(cur, g->request_kib) + (guint64)b->dead_band_kib <
                             distance(g->cur_at_miss, g->request_kib)) {
        g->missed = 0;
    }
    /* it moved after the request, then stopped short of it: the balloon
     * answers (the guest could not give more, or someone else set it, as
     * virsh setmem does), so the guest is not uncooperative; the request
     * is over, and the policy's next decision starts from here */
    if (g->missed == 0)
        g->cur_at_streak = g->cur_at_request;
    if (g->missed > 0 && sampled_at > g->sampled_at_miss && g->sampled_at_miss > 0 &&
        !within_band(b, cur, g->cur_at_streak) && within_band(b, cur, g->cur_at_miss)) {
        balloon_log(G_LOG_LEVEL_DEBUG, name,
                    "guest %s: the balloon stopped at %" G_GINT64_FORMAT
                    " KiB, short of the requested %" G_GINT64_FORMAT " KiB; the request is over.",
                    name, cur, g->request_kib);
        forget_request(g);
        return;
    }
    g->cur_at_miss = cur;
    g->sampled_at_miss = sampled_at;
    g->missed++;
    if (b->uncooperative_cycles == 0 || g->missed < b->uncooperative_cycles)
        return;
    g->uncooperative = TRUE;
    g->cur_at_mark = cur;
    balloon_log(G_LOG_LEVEL_WARNING, name,
                "guest %s: the balloon did not come within %" G_GINT64_FORMAT
                " KiB of the requested %" G_GINT64_FORMAT
                " KiB in %u cycles (balloon_cur %" G_GINT64_FORMAT
                " KiB); the guest is marked balloon_uncooperative and momd "
                "leaves its balloon alone until it moves on its own.",
                name, b->dead_band_kib, g->request_kib, g->missed, cur);
    forget_request(g);
}

static void
add_rule(GString *rules, const char *rule)
{
    g_string_append(rules, rules->len ? " and " : "; clamped by ");
    g_string_append(rules, rule);
}

/* Decides this cycle's change for one guest and queues the call. */
static void
balloon_guest(MomBalloon *b, BalloonGuest *g, MomEntity *e, const MomControl *c)
{
    const char *name = mom_entity_name(e);
    gint64 cur, max, min = 0, target;
    gboolean in_flight, failed;
    gint64 done_at;
    gboolean have_stats = mom_controller_stat_int(e, "balloon_cur", &cur) &&
                          mom_controller_stat_int(e, "balloon_max", &max);
    /* a cycle that decides anything else ends a streak of dry-run decisions */
    gboolean dry_run_said = g->dry_run_said;

    g->dry_run_said = FALSE;
    g_mutex_lock(&b->ctl.jobs.lock);
    in_flight = g->base.in_flight;
    failed = g->failed;
    done_at = g->base.done_at;
    g->failed = FALSE;
    g_mutex_unlock(&b->ctl.jobs.lock);

    /* A sample can be older than the last change (the guest manager samples
     * on its own timer).  Judge the guest only on data taken after its
     * change returned. */
    gboolean fresh = !mom_guest_ctl_sample_predates(e, done_at);
    if (have_stats && fresh) {
        /* when the sample was taken: a stop short of the request needs a
         * newer sample than the last miss's to be seen */
        const MomValue *at = mom_entity_get_prop(e, "sampled_at");
        check_progress(b, g, name, cur, at && at->type == MOM_VALUE_INT ? at->u.i : 0, in_flight,
                       failed);
    }
    if (!c) {
        forget_request(g);
        return;
    }
    if (!mom_control_as_int(&c->value, &target)) {
        if (!g->bad_value_reported) {
            g_autoptr(GString) v = g_string_new(NULL);
            mom_value_repr(&c->value, TRUE, v);
            balloon_log(G_LOG_LEVEL_WARNING, name,
                        "guest %s: ignoring balloon_target = %s set at %s:%d:%d: %s.", name, v->str,
                        c->file, c->line, c->col,
                        c->value.type == MOM_VALUE_FLOAT
                            ? "it is not a finite number within the 64-bit integer range"
                            : "it must be a number of KiB");
            g->bad_value_reported = TRUE;
        }
        mom_entity_set_outcome(e, "balloon_target", "ignored: not a number of KiB");
        forget_request(g);
        return;
    }
    g->bad_value_reported = FALSE;
    if (!have_stats) {
        /* Without them no guard rail can be checked, so nothing is safe. */
        if (!g->no_stats_reported)
            balloon_log(G_LOG_LEVEL_WARNING, name,
                        "guest %s: ignoring balloon_target set at %s:%d:%d: the guest's "
                        "balloon_cur or balloon_max is unknown (the GuestBalloon collector "
                        "provides them).",
                        name, c->file, c->line, c->col);
        g->no_stats_reported = TRUE;
        mom_entity_set_outcome(e, "balloon_target", "ignored: balloon_cur/balloon_max unknown");
        forget_request(g);
        return;
    }
    g->no_stats_reported = FALSE;
    if (g->uncooperative) {
        mom_entity_set_outcome(e, "balloon_target",
                               "skipped: the guest does not follow its balloon (uncooperative)");
        return;
    }

    g_autoptr(GString) rules = g_string_new(NULL);
    gint64 want = target;
    mom_controller_stat_int(e, "balloon_min", &min); /* absent: no guarantee */
    if (want < MAX(min, b->floor_kib)) {
        want = MAX(min, b->floor_kib);
        add_rule(rules, min > b->floor_kib ? "balloon_min" : "min-floor-mib");
    }
    if (want > max) {
        want = max;
        add_rule(rules, "balloon_max");
    }
    if (within_band(b, cur, want)) {
        g_autofree char *o = g_strdup_printf(
            "unchanged: %" G_GINT64_FORMAT " KiB is within the dead band%s", cur, rules->str);
        mom_entity_set_outcome(e, "balloon_target", o);
        forget_request(g);
        return;
    }
    if (b->max_step_kib > 0 && distance(cur, want) > (guint64)b->max_step_kib) {
        want = want > cur ? cur + b->max_step_kib : cur - b->max_step_kib;
        add_rule(rules, "max-step-mib");
    }
    /* The guest is still moving to the size asked for last time (or the
     * statistics predate the change), and the policy asks for the same size
     * again: asking twice changes nothing, so wait.  A guest that stops
     * short is asked again, and one that never moves is marked
     * uncooperative by check_progress().  (The end-to-end test saw such
     * repeats.) */
    gboolean moving = distance(cur, g->request_kib) < distance(g->cur_at_request, g->request_kib);
    if (g->requested && !in_flight && within_band(b, want, g->request_kib) && (moving || !fresh)) {
        g_autofree char *o =
            g_strdup_printf("waiting: the balloon is moving to %" G_GINT64_FORMAT
                            " KiB (now %" G_GINT64_FORMAT " KiB%s)",
                            g->request_kib, cur, fresh ? "" : ", older statistics");
        mom_entity_set_outcome(e, "balloon_target", o);
        return;
    }
    /* Still moving to an earlier request, and the policy now asks for a
     * size on the way there: its step was computed from where the balloon
     * is now, in mid-course, and asking for it would turn the balloon
     * around short of the earlier size (with a policy cycle every second
     * under pressure, the scenario saw balloons bounce by 400 MiB).  The
     * earlier, further request stands; a request in the other direction,
     * or beyond it, is a change of mind and goes through. */
    gboolean on_the_way = (want < cur) == (g->request_kib < cur) &&
                          distance(cur, want) < distance(cur, g->request_kib);
    if (g->requested && !in_flight && on_the_way && (moving || !fresh)) {
        g_autofree char *o = g_strdup_printf("waiting: the balloon is moving to %" G_GINT64_FORMAT
                                             " KiB, beyond the %" G_GINT64_FORMAT
                                             " KiB asked now (now %" G_GINT64_FORMAT " KiB)",
                                             g->request_kib, want, cur);
        mom_entity_set_outcome(e, "balloon_target", o);
        return;
    }
    g_autofree char *detail = g_strdup_printf("target %" G_GINT64_FORMAT " requested at %s:%d:%d%s",
                                              target, c->file, c->line, c->col, rules->str);

    if (b->ctl.dry_run) {
        /* Nothing changes, so the policy asks again every cycle: the same
         * size, as the dead band counts sizes, is logged once. */
        if (!dry_run_said || g->dry_run_cur != cur || !within_band(b, want, g->dry_run_want)) {
            balloon_log(G_LOG_LEVEL_MESSAGE, name,
                        "guest %s: balloon %" G_GINT64_FORMAT " → %" G_GINT64_FORMAT
                        " KiB would be set (dry run) (%s)",
                        name, cur, want, detail);
            g->dry_run_cur = cur;
            g->dry_run_want = want;
        }
        g->dry_run_said = TRUE;
        g_autofree char *o =
            g_strdup_printf("dry run: would set %" G_GINT64_FORMAT " → %" G_GINT64_FORMAT " KiB%s",
                            cur, want, rules->str);
        mom_entity_set_outcome(e, "balloon_target", o);
        return;
    }
    if (in_flight) {
        if (!g->base.busy_reported)
            balloon_log(G_LOG_LEVEL_WARNING, name,
                        "guest %s: the previous balloon change (to %" G_GINT64_FORMAT
                        " KiB) has not returned yet, so this cycle's change to %" G_GINT64_FORMAT
                        " KiB is skipped; the guest's QEMU may be busy.",
                        name, g->request_kib, want);
        g->base.busy_reported = TRUE;
        mom_entity_set_outcome(e, "balloon_target", "skipped: the previous change is running");
        return;
    }

    g_autofree char *o = g_strdup_printf(
        "requested %" G_GINT64_FORMAT " → %" G_GINT64_FORMAT " KiB%s", cur, want, rules->str);
    mom_entity_set_outcome(e, "balloon_target", o);
    BalloonJob *job = g_new0(BalloonJob, 1);
    job->kib = (guint64)want;
    job->old_kib = cur;
    job->detail = g_steal_pointer(&detail);
    g->requested = TRUE;
    g->request_kib = want;
    g->cur_at_request = cur;
    g->base.busy_reported = FALSE;
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
        MomValue v = mom_value_bool(g && g->uncooperative);
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
    .init = balloon_init,
    .apply = balloon_apply,
    .free = balloon_free,
};
