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
    /* main loop only */
    gboolean bad_reported;
    gboolean unknown_reported;
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

/* The same outcome on each of the two controls the policy set. */
static void
set_outcomes(MomEntity *e, const MomControl *qc, const MomControl *pc, const char *outcome)
{
    if (qc)
        mom_entity_set_outcome(e, "vcpu_quota", outcome);
    if (pc)
        mom_entity_set_outcome(e, "vcpu_period", outcome);
}

static void
add_rule(GString *rules, const char *rule)
{
    g_string_append(rules, rules->len ? " and " : "; clamped: ");
    g_string_append(rules, rule);
}

/* Reads one control as µs; FALSE (logged once) when it is not a number. */
static gboolean
control_value(CpuTuneGuest *g, MomEntity *e, const MomControl *c, gint64 *out)
{
    if (mom_control_as_int(&c->value, out))
        return TRUE;
    if (!g->bad_reported) {
        g_autoptr(GString) v = g_string_new(NULL);
        mom_value_repr(&c->value, TRUE, v);
        cputune_log(G_LOG_LEVEL_WARNING, mom_entity_name(e),
                    "guest %s: ignoring %s = %s set at %s:%d:%d: it must be a number of µs.",
                    mom_entity_name(e), c->name, v->str, c->file, c->line, c->col);
    }
    g->bad_reported = TRUE;
    mom_entity_set_outcome(e, c->name, "ignored: not a number of µs");
    return FALSE;
}

static void
cputune_guest(MomCpuTune *t, CpuTuneGuest *g, MomEntity *e)
{
    const char *name = mom_entity_name(e);
    const MomControl *qc = mom_controller_find_control(e, "vcpu_quota");
    const MomControl *pc = mom_controller_find_control(e, "vcpu_period");
    gint64 cur_q, cur_p, quota, period;

    if (!qc && !pc)
        return;
    if (!mom_controller_stat_int(e, "vcpu_quota", &cur_q) ||
        !mom_controller_stat_int(e, "vcpu_period", &cur_p)) {
        const MomControl *c = qc ? qc : pc;
        if (!g->unknown_reported)
            cputune_log(G_LOG_LEVEL_WARNING, name,
                        "guest %s: ignoring %s set at %s:%d:%d: the guest's vcpu_quota or "
                        "vcpu_period is unknown (the GuestCpuTune collector provides them).",
                        name, c->name, c->file, c->line, c->col);
        g->unknown_reported = TRUE;
        set_outcomes(e, qc, pc, "ignored: vcpu_quota/vcpu_period unknown");
        return;
    }
    g->unknown_reported = FALSE;
    if (cur_q < 0)
        cur_q = -1; /* every negative quota is "no limit" */
    quota = cur_q;
    period = cur_p;
    gboolean q_ok = !qc || control_value(g, e, qc, &quota);
    gboolean p_ok = !pc || control_value(g, e, pc, &period);
    if (!q_ok || !p_ok) {
        /* half of a pair the policy computed together is not applied alone */
        if (qc && q_ok)
            mom_entity_set_outcome(e, "vcpu_quota", "ignored: vcpu_period is not a number");
        if (pc && p_ok)
            mom_entity_set_outcome(e, "vcpu_period", "ignored: vcpu_quota is not a number");
        return;
    }
    g->bad_reported = FALSE;

    g_autoptr(GString) rules = g_string_new(NULL);
    if (!pc && period <= 0) {
        period = MOM_CPUTUNE_PERIOD_DEFAULT;
        add_rule(rules, "period defaulted to 100000");
    }
    if (period < MOM_CPUTUNE_PERIOD_MIN) {
        period = MOM_CPUTUNE_PERIOD_MIN;
        add_rule(rules, "period raised to 1000");
    } else if (period > MOM_CPUTUNE_PERIOD_MAX) {
        period = MOM_CPUTUNE_PERIOD_MAX;
        add_rule(rules, "period lowered to 1000000");
    }
    if (quota < 0 && quota != -1) {
        quota = -1;
        add_rule(rules, "negative quota means no limit (-1)");
    } else if (quota >= 0 && quota < MOM_CPUTUNE_QUOTA_MIN) {
        quota = MOM_CPUTUNE_QUOTA_MIN;
        add_rule(rules, "quota raised to 1000");
    } else if (quota > MOM_CPUTUNE_QUOTA_MAX) {
        quota = MOM_CPUTUNE_QUOTA_MAX;
        add_rule(rules, "quota lowered to 18446744073709551");
    }

    if (quota == cur_q && period == cur_p) {
        g_autofree char *o = g_strdup_printf("unchanged: quota %" G_GINT64_FORMAT
                                             ", period %" G_GINT64_FORMAT " µs%s",
                                             quota, period, rules->str);
        set_outcomes(e, qc, pc, o);
        return;
    }

    g_mutex_lock(&t->ctl.jobs.lock);
    gboolean in_flight = g->base.in_flight;
    gboolean same_as_last = g->last_ok && g->last_quota == quota && g->last_period == period;
    gint64 done_at = g->base.done_at;
    g_mutex_unlock(&t->ctl.jobs.lock);
    if (same_as_last && mom_guest_ctl_sample_predates(e, done_at)) {
        set_outcomes(e, qc, pc, "unchanged: just set; waiting for the guest's new values");
        return;
    }

    const MomControl *where = qc ? qc : pc;
    g_autofree char *detail = g_strdup_printf("requested at %s:%d:%d%s", where->file, where->line,
                                              where->col, rules->str);
    if (t->ctl.dry_run) {
        g_autofree char *change =
            g_strdup_printf("vcpu_quota %" G_GINT64_FORMAT " → %" G_GINT64_FORMAT
                            " µs, vcpu_period %" G_GINT64_FORMAT " → %" G_GINT64_FORMAT " µs",
                            cur_q, quota, cur_p, period);
        if (mom_guest_ctl_dry_run_news(&t->ctl, &g->base, "cpu", change))
            cputune_log(G_LOG_LEVEL_MESSAGE, name, "guest %s: %s would be set (dry run) (%s)", name,
                        change, detail);
        g_autofree char *o = g_strdup_printf("dry run: would set quota %" G_GINT64_FORMAT
                                             ", period %" G_GINT64_FORMAT " µs%s",
                                             quota, period, rules->str);
        set_outcomes(e, qc, pc, o);
        return;
    }
    if (mom_guest_ctl_skip_busy(&t->ctl, &g->base, name, in_flight)) {
        set_outcomes(e, qc, pc, "skipped: the previous change is running");
        return;
    }
    g_autofree char *o =
        g_strdup_printf("requested quota %" G_GINT64_FORMAT " → %" G_GINT64_FORMAT
                        ", period %" G_GINT64_FORMAT " → %" G_GINT64_FORMAT " µs%s",
                        cur_q, quota, cur_p, period, rules->str);
    set_outcomes(e, qc, pc, o);

    CpuTuneJob *job = g_new0(CpuTuneJob, 1);
    job->quota = quota;
    job->period = period;
    job->old_quota = cur_q;
    job->old_period = cur_p;
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
