/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Internal: the per-guest bookkeeping the Balloon, CpuTune and IoTune
 * controllers share.  Each keeps a record per guest, by uuid, forgotten
 * when a cycle no longer lists the guest (one that comes back starts
 * afresh: it may have rebooted).  Hypervisor calls may block on a busy
 * QEMU, so they run in a MomJobs pool, at most one job per guest: a guest
 * whose QEMU is stuck must not fill the pool with calls that will all
 * block.  A worker touches only its job and the records' shared fields
 * (under jobs.lock), never a MomEntity, which belongs to the main loop.
 *
 * A controller puts MomGuestEntry first in its record and MomGuestJob
 * first in its job, and describes both with a MomGuestCtlClass.
 */
#pragma once

#include <glib.h>

#include "controller-jobs.h"
#include "mom-controller.h"

typedef struct _MomGuestCtlClass MomGuestCtlClass;
typedef struct _MomGuestCtl MomGuestCtl;

/* The head of a controller's record of one guest.  Reference counted,
 * because a job may outlive the guest's entry in the table. */
typedef struct {
    char *uuid;
    const MomGuestCtlClass *klass;
    /* main loop only */
    guint64 seen;           /* the apply() cycle that last listed the guest */
    gboolean busy_reported; /* "the previous change has not returned" was logged */
    GHashTable *dry_said;   /* what -> the dry-run decision logged for it, or NULL */
    /* under MomGuestCtl.jobs.lock */
    gboolean in_flight;      /* a job is queued or running */
    gboolean error_reported; /* a failed call was logged; until one succeeds */
    gint64 done_at;          /* monotonic µs when the last job finished */
    gint64 queued_at;        /* monotonic µs when the job in flight was queued */
} MomGuestEntry;

/* The head of one job, owned by the worker that runs it. */
typedef struct {
    MomGuestEntry *guest; /* a reference */
    char *name;           /* the guest's name, for the log */
} MomGuestJob;

struct _MomGuestCtlClass {
    const char *name;    /* "CpuTune": the MOM_CONTROLLER log field */
    const char *changes; /* "CPU limits", as in "guest CPU limits cannot be changed" */
    const char *change;  /* "CPU limit change", as in "the previous CPU limit change" */
    guint threads;       /* of the pool */
    gsize entry_size;    /* of the controller's record */
    void (*entry_init)(MomGuestEntry *entry);  /* after zeroing, or NULL */
    void (*entry_clear)(MomGuestEntry *entry); /* frees what entry_init made, or NULL */
    /* On a pool thread: makes the job's calls and logs their outcomes.
     * Returns: whether the (last) call succeeded, for @done_locked. */
    gboolean (*work)(MomGuestCtl *ctl, MomGuestJob *job);
    /* With jobs.lock held, as the job ends, or NULL. */
    void (*done_locked)(MomGuestJob *job, gboolean ok);
    void (*job_clear)(MomGuestJob *job); /* frees the controller's part of a job, or NULL */
};

/* The head of the controller's state. */
struct _MomGuestCtl {
    const MomGuestCtlClass *klass;
    MomHypervisorOps hv;
    gboolean dry_run;
    MomJobs jobs;       /* the worker pool; its lock also guards the records' shared fields */
    GHashTable *guests; /* uuid -> MomGuestEntry (a reference) */
    guint64 cycle;
};

/** mom_guest_ctl_log: Logs @fmt with the controller and the guest as structured fields. */
void mom_guest_ctl_log(const char *controller, GLogLevelFlags level, const char *guest,
                       const char *fmt, ...) G_GNUC_PRINTF(4, 5);

/**
 * mom_guest_ctl_new:
 * Allocates the zeroed state, of @size bytes with MomGuestCtl first, of
 * the controller @klass.  @supported says whether @cfg->hypervisor offers
 * the call the controller makes.
 * Returns: (transfer full) the state, or NULL with @error when the call is
 * missing or the pool cannot start.
 */
gpointer mom_guest_ctl_new(const MomGuestCtlClass *klass, gsize size,
                           const MomControllerConfig *cfg, gboolean supported, GError **error);

/**
 * mom_guest_ctl_free:
 * Frees a state from mom_guest_ctl_new(): drops the jobs not started and
 * waits for the running ones (they use the state; libvirt gives up on a
 * stuck QEMU after ~30 s).  A MomControllerClass.free.
 */
void mom_guest_ctl_free(gpointer state);

/**
 * mom_guest_ctl_get:
 * Marks guest @e as listed in this cycle.
 * Returns: (transfer none) its record, created on first sight, or NULL
 * when it has no uuid to name it to the hypervisor.
 */
MomGuestEntry *mom_guest_ctl_get(MomGuestCtl *ctl, MomEntity *e);

/** mom_guest_ctl_end_cycle: Forgets the guests this cycle did not list. */
void mom_guest_ctl_end_cycle(MomGuestCtl *ctl);

/**
 * mom_guest_ctl_note_call:
 * Records whether a hypervisor call for @g (named @name) succeeded (@ok), and @error
 * when it did not.  Returns: TRUE when it failed after a success, so a
 * guest whose calls keep failing is warned about once until one succeeds
 * again; FALSE for a guest that went away under the call (the hypervisor's
 * is_gone), which is churn: that is logged at debug level here.
 */
gboolean mom_guest_ctl_note_call(MomGuestCtl *ctl, MomGuestEntry *g, const char *name, gboolean ok,
                                 const GError *error);

/**
 * mom_guest_ctl_skip_busy:
 * Returns: @in_flight (read under jobs.lock): this cycle's change for @g
 * is then skipped, which is logged once while the job keeps running.
 */
gboolean mom_guest_ctl_skip_busy(MomGuestCtl *ctl, MomGuestEntry *g, const char *name,
                                 gboolean in_flight);

/**
 * mom_guest_ctl_dry_run_news:
 * A dry run changes nothing, so the policy asks for the same change of @g
 * every cycle.  @decision is this cycle's (what the dry run would set) for
 * @what, one part of the guest (its CPU limits, a disk).
 * Returns: TRUE when it is worth logging: the first one, one that differs
 * from the previous cycle's, or one after a cycle without any.
 */
gboolean mom_guest_ctl_dry_run_news(MomGuestCtl *ctl, MomGuestEntry *g, const char *what,
                                    const char *decision);

/**
 * mom_guest_ctl_queue:
 * Hands @job, allocated and filled by the controller but for its head,
 * to a worker; @g is in flight until it ends.
 */
void mom_guest_ctl_queue(MomGuestCtl *ctl, MomGuestEntry *g, const char *name, MomGuestJob *job);

/**
 * mom_guest_ctl_sample_predates:
 * Returns: whether @e's newest sample was taken no later than the
 * monotonic time @when, so it cannot show a change that returned then.
 * "sampled_at" is the guest manager's monotonic time of the sample;
 * without it every sample counts as fresh.
 */
gboolean mom_guest_ctl_sample_predates(MomEntity *e, gint64 when);
