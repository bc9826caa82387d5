/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Internal to the Balloon controller and its tests (libvirt's -priv.h rule). */
#pragma once

#include <glib.h>

/* The Balloon controller's state, as returned by mom_controller_balloon.init. */
typedef struct _MomBalloon MomBalloon;

/**
 * mom_balloon_wait_idle:
 * Blocks until every hypervisor call the controller has queued has
 * finished and its outcome has been logged, so a test can check the calls
 * and log lines of a cycle.  A call that never returns blocks this too.
 */
void mom_balloon_wait_idle(MomBalloon *balloon);

/**
 * mom_balloon_n_pending:
 * Returns: how many hypervisor calls are queued or running, so a test can
 * wait for all but a deliberately blocked one.
 */
guint mom_balloon_n_pending(MomBalloon *balloon);

/* The guard rails, from [balloon] and --dry-run; see balloon.c. */
typedef struct {
    gint64 floor_kib;
    gint64 dead_band_kib;
    gint64 max_step_kib;        /* 0: no limit */
    guint uncooperative_cycles; /* 0: never mark a guest */
    gboolean dry_run;
} MomBalloonRails;

/* What the controller remembers of one guest between cycles (main loop only). */
typedef struct {
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
    gboolean busy_reported; /* "the previous change has not returned" was logged */
    /* dry run: the decision logged, and whether the previous cycle made it */
    gboolean dry_run_said;
    gint64 dry_run_cur, dry_run_want;
} MomBalloonState;

/* This cycle's view of one guest. */
typedef struct {
    gboolean has_control; /* the policy set balloon_target */
    gboolean target_ok;   /* ... to a number of KiB, @target */
    gint64 target;
    gboolean have_stats; /* balloon_cur and balloon_max are known */
    gint64 cur, max;
    gint64 min;                 /* balloon_min; 0 when absent */
    gboolean fresh;             /* the sample was taken after the last call returned */
    gint64 sampled_at;          /* the sample's time; 0 unknown */
    gboolean in_flight, failed; /* the last call is still running / failed */
    gint64 busy_us;             /* how long the call in flight has been running */
    gboolean paused;            /* the guest is paused: its balloon cannot move */
} MomBalloonInput;

typedef enum {
    MOM_BALLOON_NOTHING,       /* no balloon_target: no outcome */
    MOM_BALLOON_BAD_VALUE,     /* not a number of KiB */
    MOM_BALLOON_NO_STATS,      /* balloon_cur or balloon_max unknown */
    MOM_BALLOON_UNCOOPERATIVE, /* the guest is marked: skipped */
    MOM_BALLOON_DEAD_BAND,     /* within the dead band: unchanged */
    MOM_BALLOON_WAIT,          /* the balloon is moving to the same size */
    MOM_BALLOON_ON_THE_WAY,    /* the balloon is moving beyond this size */
    MOM_BALLOON_DRY_RUN,       /* would set @want */
    MOM_BALLOON_BUSY,          /* the previous call is still running: skipped */
    MOM_BALLOON_SET,           /* queue a call for @want */
} MomBalloonAction;

/* What the guest's answer to the last request showed, before this cycle's decision. */
typedef enum {
    MOM_BALLOON_PROGRESS_NONE,
    MOM_BALLOON_PROGRESS_RESPONDS,      /* an uncooperative balloon moved on its own */
    MOM_BALLOON_PROGRESS_STOPPED_SHORT, /* it moved, then stopped short: the request is over */
    MOM_BALLOON_PROGRESS_MARKED,        /* it did not move: marked uncooperative */
} MomBalloonProgress;

/* The guard rails that changed the policy's target, in the order they apply. */
typedef enum {
    MOM_BALLOON_CLAMP_MIN = 1 << 0,   /* the guest's balloon_min */
    MOM_BALLOON_CLAMP_FLOOR = 1 << 1, /* min-floor-mib */
    MOM_BALLOON_CLAMP_MAX = 1 << 2,   /* balloon_max */
    MOM_BALLOON_CLAMP_STEP = 1 << 3,  /* max-step-mib */
} MomBalloonClamp;

typedef struct {
    MomBalloonAction action;
    MomBalloonProgress progress;
    guint progress_missed; /* MARKED: after this many cycles */
    gint64 want;           /* the size after the guard rails */
    guint clamped;         /* MomBalloonClamp bits */
    char *rules;           /* "; clamped by R and R", or "" */
    char *outcome;         /* for the entity, or NULL (NOTHING) */
    gboolean report;       /* the action's log line is due (said once, or news in a dry run) */
    MomBalloonState state; /* the guest's state after this cycle */
} MomBalloonDecision;

/**
 * mom_balloon_decide:
 * The Balloon controller's whole judgement of one guest, kept free of
 * logging, entities and the hypervisor so that every guard rail and
 * waiting rule can be checked from a table of cases; balloon.c only
 * gathers @in and carries @out through (logs, outcome, the call).
 * @out is filled whole; free it with mom_balloon_decision_clear().
 */
void mom_balloon_decide(const MomBalloonRails *rails, const MomBalloonState *state,
                        const MomBalloonInput *in, MomBalloonDecision *out);

/** mom_balloon_decision_clear: Frees what mom_balloon_decide() put in @d. */
void mom_balloon_decision_clear(MomBalloonDecision *d);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(MomBalloonDecision, mom_balloon_decision_clear)
