/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Internal to the IoTune controller and its tests (libvirt's -priv.h rule). */
#pragma once

#include <glib.h>

#include "mom-policy.h"

/* The IoTune controller's state, as returned by mom_controller_iotune.init. */
typedef struct _MomIoTune MomIoTune;

/**
 * mom_iotune_wait_idle:
 * Blocks until every hypervisor call the controller has queued has
 * finished and its outcome has been logged.
 */
void mom_iotune_wait_idle(MomIoTune *iotune);

/* The six limits of a disk, in the order of MomHypervisorOps.set_block_iotune's @limits. */
#define MOM_IOTUNE_N_LIMITS 6

/* What the controller remembers of one guest between cycles (main loop only). */
typedef struct {
    gboolean bad_reported;     /* bad controls were logged; until a cycle has none */
    gboolean unknown_reported; /* a disk's unknown limits were logged; likewise */
} MomIoTuneState;

typedef enum {
    MOM_IOTUNE_PARSE_OK,
    MOM_IOTUNE_PARSE_NOT_LIMIT, /* not io_tune.DISK.LIMIT with a known LIMIT */
    MOM_IOTUNE_PARSE_BAD_VALUE, /* not a whole number >= 0 */
} MomIoTuneParse;

/**
 * mom_iotune_parse_control:
 * Splits the control @c, "io_tune.DISK.LIMIT", so that a bad name or value
 * is judged the same way here and in the tests.  Sets @disk (transfer full)
 * and @limit unless the name is not a limit, and @value when it is OK.
 */
MomIoTuneParse mom_iotune_parse_control(const MomControl *c, char **disk, guint *limit,
                                        gint64 *value);

/* This cycle's view of one disk the policy set limits for. */
typedef struct {
    const char *disk;
    const MomControl *controls[MOM_IOTUNE_N_LIMITS]; /* NULL: not set */
    gboolean valid[MOM_IOTUNE_N_LIMITS];             /* the control's value is a limit: */
    gint64 wanted[MOM_IOTUNE_N_LIMITS];
    gboolean have_cur; /* the disk's current limits are known: */
    gint64 cur[MOM_IOTUNE_N_LIMITS];
    gboolean last_ok; /* the disk's last change succeeded, with: */
    gint64 last[MOM_IOTUNE_N_LIMITS];
    gboolean predates; /* the sample was taken before that change returned */
} MomIoTuneDiskInput;

/* This cycle's view of one guest, and the controller's config. */
typedef struct {
    const MomIoTuneDiskInput *disks;
    guint n_disks;
    guint n_bad;        /* controls that are not limits or have bad values */
    gboolean in_flight; /* a call is queued or running */
    gboolean dry_run;
} MomIoTuneInput;

typedef enum {
    MOM_IOTUNE_ALL_BAD,   /* every control of the disk was bad: nothing more to say */
    MOM_IOTUNE_UNKNOWN,   /* the disk's current limits are unknown */
    MOM_IOTUNE_UNCHANGED, /* equal to the current limits */
    MOM_IOTUNE_JUST_SET,  /* the last change set them; the sample predates it */
    MOM_IOTUNE_DRY_RUN,   /* would set @limits */
    MOM_IOTUNE_BUSY,      /* the guest's previous job is running: skipped */
    MOM_IOTUNE_SET,       /* change the disk to @limits */
} MomIoTuneAction;

typedef struct {
    MomIoTuneAction action;
    gint64 limits[MOM_IOTUNE_N_LIMITS]; /* what to set */
    char *change;  /* "total_bytes_sec 0 → 1000 (F:L:C), ...", or NULL when nothing changes */
    char *outcome; /* for each of the disk's valid controls, or NULL: none */
} MomIoTuneDiskDecision;

typedef struct {
    MomIoTuneDiskDecision *disks; /* one per input disk */
    guint n_disks;
    guint n_changes;       /* disks to change (DRY_RUN, BUSY or SET) */
    gboolean warn_bad;     /* log the bad controls */
    gboolean warn_unknown; /* log the UNKNOWN disks */
    MomIoTuneState state;  /* the guest's state after this cycle */
} MomIoTuneDecision;

/**
 * mom_iotune_decide:
 * The IoTune controller's judgement of one guest's disks, kept free of
 * logging, entities and the hypervisor so that it can be checked from a
 * table of cases.  @out is filled whole; free it with
 * mom_iotune_decision_clear().
 */
void mom_iotune_decide(const MomIoTuneState *state, const MomIoTuneInput *in,
                       MomIoTuneDecision *out);

/** mom_iotune_decision_clear: Frees what mom_iotune_decide() put in @d. */
void mom_iotune_decision_clear(MomIoTuneDecision *d);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(MomIoTuneDecision, mom_iotune_decision_clear)
