/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The CpuTune controller: applies each guest's vcpu_quota and vcpu_period
 * controls (µs; floats truncated) through MomHypervisorOps.set_cpu_tune,
 * i.e. virDomainSetSchedulerParametersFlags(LIVE).
 *
 * As MOM's controller: a control the policy did not set keeps the guest's
 * current value (the GuestCpuTune fields), and nothing is done when the
 * result equals the current values.  Unlike MOM, the values are brought
 * into the range libvirt accepts before the call instead of letting the
 * call fail every cycle: the period into 1000..1000000, the quota to -1
 * (no limit) or 1000..18446744073709551.  A quota without a period on a
 * guest that reports none (0) gets the kernel's default period, 100000.
 *
 * The current values are read back only at the collection after a change
 * (mom-libvirt marks the guest), so a policy cycle between the change and
 * the read-back still sees the old values and asks again; such a request,
 * equal to the change just made and judged on a sample taken before it
 * returned, is not repeated.
 *
 * The calls run in a small thread pool, at most one per guest, as in the
 * Balloon controller: a guest whose QEMU is stuck must not hold the others.
 */
#include "config.h"

#include <string.h>

#include "cputune-priv.h"
#include "controller-guest.h"
#include "mom-controller.h"

#define CPUTUNE_THREADS 2

#define cputune_log(...) mom_guest_ctl_log("CpuTune", __VA_ARGS__)

/* What the controller remembers of one guest, after the shared part. */
typedef struct {
    MomGuestEntry base;
    MomCpuTuneState st; /* main loop only */
    /* under MomCpuTune.ctl.jobs.lock */
    gboolean last_ok;  /* the last call succeeded ... */
    gint64 last_quota; /* ... with these values */
    gint64 last_period;
} CpuTuneGuest;

/* One set_cpu_tune call. */
typedef struct {
    MomGuestJob base;
    gint64 quota, period, old_quota, old_period;
    char *detail; /* "requested at F:L:C; clamped ..." */
} CpuTuneJob;

struct _MomCpuTune {
    MomGuestCtl ctl;
};

static void
job_clear(MomGuestJob *job)
{
    g_free(((CpuTuneJob *)job)->detail);
}

/* Runs set_cpu_tune on a pool thread. */
static gboolean
cputune_work(MomGuestCtl *ctl, MomGuestJob *base)
{
    CpuTuneJob *job = (CpuTuneJob *)base;
    g_autoptr(GError) error = NULL;
    gboolean ok = ctl->hv.set_cpu_tune(ctl->hv.hv, base->guest->uuid, job->quota,
                                       (guint64)job->period, &error);
    gboolean report = mom_guest_ctl_note_call(ctl, base->guest, base->name, ok, error);

    if (ok)
        cputune_log(G_LOG_LEVEL_MESSAGE, base->name,
                    "guest %s: vcpu_quota %" G_GINT64_FORMAT " → %" G_GINT64_FORMAT
                    " µs, vcpu_period %" G_GINT64_FORMAT " → %" G_GINT64_FORMAT " µs (%s)",
                    base->name, job->old_quota, job->quota, job->old_period, job->period,
                    job->detail);
    else if (report)
        cputune_log(G_LOG_LEVEL_WARNING, base->name,
                    "guest %s: cannot set vcpu_quota %" G_GINT64_FORMAT
                    " µs, vcpu_period %" G_GINT64_FORMAT " µs (%s): %s",
                    base->name, job->quota, job->period, job->detail,
                    error ? error->message : "the hypervisor gave no reason");
    return ok;
}

static void
cputune_done_locked(MomGuestJob *base, gboolean ok)
{
    CpuTuneJob *job = (CpuTuneJob *)base;
    CpuTuneGuest *g = (CpuTuneGuest *)base->guest;

    g->last_ok = ok;
    g->last_quota = job->quota;
    g->last_period = job->period;
}

static const MomGuestCtlClass cputune_class = {
    .name = "CpuTune",
    .changes = "CPU limits",
    .change = "CPU limit change",
    .threads = CPUTUNE_THREADS,
    .entry_size = sizeof(CpuTuneGuest),
    .work = cputune_work,
    .done_locked = cputune_done_locked,
    .job_clear = job_clear,
};

void
mom_cputune_wait_idle(MomCpuTune *t)
{
    mom_jobs_wait_idle(&t->ctl.jobs);
}

static gpointer
cputune_init(const MomControllerConfig *cfg, GError **error)
{
    return mom_guest_ctl_new(&cputune_class, sizeof(MomCpuTune), cfg,
                             cfg->hypervisor && cfg->hypervisor->set_cpu_tune, error);
}

static void
add_rule(GString *rules, const char *rule)
{
    g_string_append(rules, rules->len ? " and " : "; clamped: ");
    g_string_append(rules, rule);
}

/* The same outcome on each of the two controls the policy set. */
static void
both_outcomes(const MomCpuTuneInput *in, MomCpuTuneDecision *d, const char *outcome)
{
    if (in->has_quota)
        d->quota_outcome = g_strdup(outcome);
    if (in->has_period)
        d->period_outcome = g_strdup(outcome);
}

/* "@what quota Q, period P µs@rules" on each control the policy set. */
static void
values_outcomes(const MomCpuTuneInput *in, MomCpuTuneDecision *d, const char *what,
                const char *rules)
{
    g_autofree char *o =
        g_strdup_printf("%s quota %" G_GINT64_FORMAT ", period %" G_GINT64_FORMAT " µs%s", what,
                        d->quota, d->period, rules);
    both_outcomes(in, d, o);
}

/* Brings the values into the range libvirt accepts. */
static void
clamp_values(const MomCpuTuneInput *in, MomCpuTuneDecision *d, GString *rules)
{
    if (!in->has_period && d->period <= 0) {
        d->period = MOM_CPUTUNE_PERIOD_DEFAULT;
        d->clamped |= MOM_CPUTUNE_CLAMP_PERIOD_DEFAULT;
        add_rule(rules, "period defaulted to 100000");
    }
    if (d->period < MOM_CPUTUNE_PERIOD_MIN) {
        d->period = MOM_CPUTUNE_PERIOD_MIN;
        d->clamped |= MOM_CPUTUNE_CLAMP_PERIOD_MIN;
        add_rule(rules, "period raised to 1000");
    } else if (d->period > MOM_CPUTUNE_PERIOD_MAX) {
        d->period = MOM_CPUTUNE_PERIOD_MAX;
        d->clamped |= MOM_CPUTUNE_CLAMP_PERIOD_MAX;
        add_rule(rules, "period lowered to 1000000");
    }
    if (d->quota < 0 && d->quota != -1) {
        d->quota = -1;
        d->clamped |= MOM_CPUTUNE_CLAMP_QUOTA_NO_LIMIT;
        add_rule(rules, "negative quota means no limit (-1)");
    } else if (d->quota >= 0 && d->quota < MOM_CPUTUNE_QUOTA_MIN) {
        d->quota = MOM_CPUTUNE_QUOTA_MIN;
        d->clamped |= MOM_CPUTUNE_CLAMP_QUOTA_MIN;
        add_rule(rules, "quota raised to 1000");
    } else if (d->quota > MOM_CPUTUNE_QUOTA_MAX) {
        d->quota = MOM_CPUTUNE_QUOTA_MAX;
        d->clamped |= MOM_CPUTUNE_CLAMP_QUOTA_MAX;
        add_rule(rules, "quota lowered to 18446744073709551");
    }
}

void
mom_cputune_decision_clear(MomCpuTuneDecision *d)
{
    g_clear_pointer(&d->rules, g_free);
    g_clear_pointer(&d->quota_outcome, g_free);
    g_clear_pointer(&d->period_outcome, g_free);
}

void
mom_cputune_decide(const MomCpuTuneState *state, const MomCpuTuneInput *in, MomCpuTuneDecision *out)
{
    MomCpuTuneState *s = &out->state;
    g_autoptr(GString) rules = g_string_new(NULL);

    memset(out, 0, sizeof(*out));
    *s = *state;
    out->action = MOM_CPUTUNE_NOTHING;
    if (!in->has_quota && !in->has_period)
        goto done;
    if (!in->have_cur) {
        out->action = MOM_CPUTUNE_UNKNOWN;
        out->warn_unknown = !s->unknown_reported;
        s->unknown_reported = TRUE;
        both_outcomes(in, out, "ignored: vcpu_quota/vcpu_period unknown");
        goto done;
    }
    s->unknown_reported = FALSE;
    out->cur_quota = in->cur_quota < 0 ? -1 : in->cur_quota; /* every negative is "no limit" */
    out->cur_period = in->cur_period;
    gboolean q_bad = in->has_quota && !in->quota_ok;
    gboolean p_bad = in->has_period && !in->period_ok;
    if (q_bad || p_bad) {
        /* warned once for the guest, the quota first */
        out->action = MOM_CPUTUNE_BAD_VALUE;
        out->warn_bad_quota = q_bad && !s->bad_reported;
        out->warn_bad_period = p_bad && !s->bad_reported && !q_bad;
        s->bad_reported = TRUE;
        /* half of a pair the policy computed together is not applied alone */
        if (in->has_quota)
            out->quota_outcome = g_strdup(q_bad ? "ignored: not a number of µs"
                                                : "ignored: vcpu_period is not a number");
        if (in->has_period)
            out->period_outcome = g_strdup(p_bad ? "ignored: not a number of µs"
                                                 : "ignored: vcpu_quota is not a number");
        goto done;
    }
    s->bad_reported = FALSE;
    out->quota = in->has_quota ? in->quota : out->cur_quota;
    out->period = in->has_period ? in->period : out->cur_period;
    clamp_values(in, out, rules);

    if (out->quota == out->cur_quota && out->period == out->cur_period) {
        out->action = MOM_CPUTUNE_UNCHANGED;
        values_outcomes(in, out, "unchanged:", rules->str);
        goto done;
    }
    if (in->last_ok && in->last_quota == out->quota && in->last_period == out->period &&
        in->predates) {
        out->action = MOM_CPUTUNE_JUST_SET;
        both_outcomes(in, out, "unchanged: just set; waiting for the guest's new values");
        goto done;
    }
    if (in->dry_run) {
        out->action = MOM_CPUTUNE_DRY_RUN;
        values_outcomes(in, out, "dry run: would set", rules->str);
        goto done;
    }
    if (in->in_flight) {
        out->action = MOM_CPUTUNE_BUSY;
        both_outcomes(in, out, "skipped: the previous change is running");
        goto done;
    }
    out->action = MOM_CPUTUNE_SET;
    {
        g_autofree char *o =
            g_strdup_printf("requested quota %" G_GINT64_FORMAT " → %" G_GINT64_FORMAT
                            ", period %" G_GINT64_FORMAT " → %" G_GINT64_FORMAT " µs%s",
                            out->cur_quota, out->quota, out->cur_period, out->period, rules->str);
        both_outcomes(in, out, o);
    }
done:
    out->rules = g_string_free(g_steal_pointer(&rules), FALSE);
}

/* Reads one control as µs. */
static void
control_input(const MomControl *c, gboolean *has, gboolean *ok, gint64 *value)
{
    *has = c != NULL;
    *ok = c && mom_control_as_int(&c->value, value);
}

/* This cycle's view of the guest. */
static void
cputune_input(MomCpuTune *t, CpuTuneGuest *g, MomEntity *e, const MomControl *qc,
              const MomControl *pc, MomCpuTuneInput *in)
{
    gint64 done_at;

    memset(in, 0, sizeof(*in));
    control_input(qc, &in->has_quota, &in->quota_ok, &in->quota);
    control_input(pc, &in->has_period, &in->period_ok, &in->period);
    in->have_cur = mom_controller_stat_int(e, "vcpu_quota", &in->cur_quota) &&
                   mom_controller_stat_int(e, "vcpu_period", &in->cur_period);
    g_mutex_lock(&t->ctl.jobs.lock);
    in->in_flight = g->base.in_flight;
    in->last_ok = g->last_ok;
    in->last_quota = g->last_quota;
    in->last_period = g->last_period;
    done_at = g->base.done_at;
    g_mutex_unlock(&t->ctl.jobs.lock);
    in->predates = mom_guest_ctl_sample_predates(e, done_at);
    in->dry_run = t->ctl.dry_run;
}

/* Warns that control @c is not a number of µs. */
static void
warn_bad(MomEntity *e, const MomControl *c)
{
    g_autoptr(GString) v = g_string_new(NULL);

    mom_value_repr(&c->value, TRUE, v);
    cputune_log(G_LOG_LEVEL_WARNING, mom_entity_name(e),
                "guest %s: ignoring %s = %s set at %s:%d:%d: it must be a number of µs.",
                mom_entity_name(e), c->name, v->str, c->file, c->line, c->col);
}

/* Decides this cycle's change for one guest, then logs it and queues the call. */
static void
cputune_guest(MomCpuTune *t, CpuTuneGuest *g, MomEntity *e)
{
    const char *name = mom_entity_name(e);
    const MomControl *qc = mom_controller_find_control(e, "vcpu_quota");
    const MomControl *pc = mom_controller_find_control(e, "vcpu_period");
    const MomControl *where = qc ? qc : pc;
    MomCpuTuneInput in;
    g_auto(MomCpuTuneDecision) d = {0};

    cputune_input(t, g, e, qc, pc, &in);
    mom_cputune_decide(&g->st, &in, &d);
    g->st = d.state;
    if (d.warn_unknown)
        cputune_log(G_LOG_LEVEL_WARNING, name,
                    "guest %s: ignoring %s set at %s:%d:%d: the guest's vcpu_quota or "
                    "vcpu_period is unknown (the GuestCpuTune collector provides them).",
                    name, where->name, where->file, where->line, where->col);
    if (d.warn_bad_quota)
        warn_bad(e, qc);
    if (d.warn_bad_period)
        warn_bad(e, pc);
    if (d.quota_outcome)
        mom_entity_set_outcome(e, "vcpu_quota", d.quota_outcome);
    if (d.period_outcome)
        mom_entity_set_outcome(e, "vcpu_period", d.period_outcome);
    if (d.action != MOM_CPUTUNE_DRY_RUN && d.action != MOM_CPUTUNE_BUSY &&
        d.action != MOM_CPUTUNE_SET)
        return;

    g_autofree char *detail =
        g_strdup_printf("requested at %s:%d:%d%s", where->file, where->line, where->col, d.rules);
    if (d.action == MOM_CPUTUNE_DRY_RUN) {
        g_autofree char *change =
            g_strdup_printf("vcpu_quota %" G_GINT64_FORMAT " → %" G_GINT64_FORMAT
                            " µs, vcpu_period %" G_GINT64_FORMAT " → %" G_GINT64_FORMAT " µs",
                            d.cur_quota, d.quota, d.cur_period, d.period);
        if (mom_guest_ctl_dry_run_news(&t->ctl, &g->base, "cpu", change))
            cputune_log(G_LOG_LEVEL_MESSAGE, name, "guest %s: %s would be set (dry run) (%s)", name,
                        change, detail);
        return;
    }
    /* logs the skip once, and forgets it when the call has returned */
    if (mom_guest_ctl_skip_busy(&t->ctl, &g->base, name, d.action == MOM_CPUTUNE_BUSY))
        return;

    CpuTuneJob *job = g_new0(CpuTuneJob, 1);
    job->quota = d.quota;
    job->period = d.period;
    job->old_quota = d.cur_quota;
    job->old_period = d.cur_period;
    job->detail = g_steal_pointer(&detail);
    mom_guest_ctl_queue(&t->ctl, &g->base, name, &job->base);
}

static gboolean
cputune_apply(gpointer state, MomEntity *host G_GNUC_UNUSED, GPtrArray *guests,
              GError **error G_GNUC_UNUSED)
{
    MomCpuTune *t = state;

    for (guint i = 0; guests && i < guests->len; i++) {
        MomEntity *e = guests->pdata[i];
        MomGuestEntry *g = mom_guest_ctl_get(&t->ctl, e);

        if (!g) {
            if (mom_controller_find_control(e, "vcpu_quota") ||
                mom_controller_find_control(e, "vcpu_period")) {
                mom_entity_set_outcome(e, "vcpu_quota", "ignored: the guest has no uuid");
                mom_entity_set_outcome(e, "vcpu_period", "ignored: the guest has no uuid");
            }
            continue;
        }
        cputune_guest(t, (CpuTuneGuest *)g, e);
    }
    mom_guest_ctl_end_cycle(&t->ctl);
    return TRUE;
}

const MomControllerClass mom_controller_cputune = {
    .name = "CpuTune",
    .init = cputune_init,
    .apply = cputune_apply,
    .free = mom_guest_ctl_free,
};
