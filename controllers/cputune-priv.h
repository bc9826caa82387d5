/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Internal to the CpuTune controller and its tests (libvirt's -priv.h rule). */
#pragma once

#include <glib.h>

/* The CpuTune controller's state, as returned by mom_controller_cputune.init. */
typedef struct _MomCpuTune MomCpuTune;

/* The bounds libvirt's QEMU driver accepts, in µs. */
#define MOM_CPUTUNE_PERIOD_MIN 1000LL
#define MOM_CPUTUNE_PERIOD_MAX 1000000LL
#define MOM_CPUTUNE_QUOTA_MIN 1000LL
#define MOM_CPUTUNE_QUOTA_MAX 18446744073709551LL
/* The period used when the policy sets only a quota and the guest has none
 * (the kernel's default CFS period). */
#define MOM_CPUTUNE_PERIOD_DEFAULT 100000LL

/**
 * mom_cputune_wait_idle:
 * Blocks until every hypervisor call the controller has queued has
 * finished and its outcome has been logged.
 */
void mom_cputune_wait_idle(MomCpuTune *cputune);

/* What the controller remembers of one guest between cycles (main loop only). */
typedef struct {
    gboolean bad_reported;     /* a control that is not a number was logged */
    gboolean unknown_reported; /* unknown current values were logged */
} MomCpuTuneState;

/* This cycle's view of one guest, and the controller's config. */
typedef struct {
    gboolean has_quota, has_period; /* the policy set vcpu_quota / vcpu_period ... */
    gboolean quota_ok, period_ok;   /* ... to a number of µs: */
    gint64 quota, period;
    gboolean have_cur; /* the guest's vcpu_quota and vcpu_period are known: */
    gint64 cur_quota, cur_period;
    gboolean last_ok; /* the last call succeeded, with: */
    gint64 last_quota, last_period;
    gboolean predates;  /* the sample was taken before the last call returned */
    gboolean in_flight; /* a call is queued or running */
    gboolean dry_run;
} MomCpuTuneInput;

typedef enum {
    MOM_CPUTUNE_NOTHING,   /* neither control set: no outcome */
    MOM_CPUTUNE_UNKNOWN,   /* the current values are unknown */
    MOM_CPUTUNE_BAD_VALUE, /* a control is not a number: the pair is ignored */
    MOM_CPUTUNE_UNCHANGED, /* equal to the current values */
    MOM_CPUTUNE_JUST_SET,  /* the last call set them; the sample predates it */
    MOM_CPUTUNE_DRY_RUN,   /* would set them */
    MOM_CPUTUNE_BUSY,      /* the previous call is running: skipped */
    MOM_CPUTUNE_SET,       /* queue a call */
} MomCpuTuneAction;

/* The range rules that changed the policy's values. */
typedef enum {
    MOM_CPUTUNE_CLAMP_PERIOD_DEFAULT = 1 << 0,
    MOM_CPUTUNE_CLAMP_PERIOD_MIN = 1 << 1,
    MOM_CPUTUNE_CLAMP_PERIOD_MAX = 1 << 2,
    MOM_CPUTUNE_CLAMP_QUOTA_NO_LIMIT = 1 << 3,
    MOM_CPUTUNE_CLAMP_QUOTA_MIN = 1 << 4,
    MOM_CPUTUNE_CLAMP_QUOTA_MAX = 1 << 5,
} MomCpuTuneClamp;

typedef struct {
    MomCpuTuneAction action;
    gint64 cur_quota, cur_period; /* the current values (every negative quota is -1) */
    gint64 quota, period;         /* what to set */
    guint clamped;                /* MomCpuTuneClamp bits */
    char *rules;                  /* "; clamped: R and R", or "" */
    char *quota_outcome;          /* for vcpu_quota, or NULL: none */
    char *period_outcome;         /* for vcpu_period, or NULL: none */
    gboolean warn_unknown, warn_bad_quota, warn_bad_period; /* log lines due */
    MomCpuTuneState state;                                  /* the guest's state after this cycle */
} MomCpuTuneDecision;

/**
 * mom_cputune_decide:
 * The CpuTune controller's judgement of one guest, kept free of logging,
 * entities and the hypervisor so that the range rules and the waiting
 * for read-back can be checked from a table of cases.  @out is filled
 * whole; free it with mom_cputune_decision_clear().
 */
void mom_cputune_decide(const MomCpuTuneState *state, const MomCpuTuneInput *in,
                        MomCpuTuneDecision *out);

/** mom_cputune_decision_clear: Frees what mom_cputune_decide() put in @d. */
void mom_cputune_decision_clear(MomCpuTuneDecision *d);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(MomCpuTuneDecision, mom_cputune_decision_clear)
