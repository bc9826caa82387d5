/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The decision history: what the controllers were asked to do, and did, in
 * the last policy cycles, bounded in number and in age ([history]), for
 * momctl history (getHistory); and for momctl explain (getExplanation),
 * what the policies read and wrote for each entity in the cycle of each
 * decision and in the newest cycle, decision or not.  docs/rpc.md
 * describes the records.
 */
#pragma once

#include <glib.h>

#include "mom-policy.h"

typedef struct _MomHistory MomHistory;

/* One control of one entity in one cycle. */
typedef struct {
    gint64 time; /* wall clock, µs */
    guint64 cycle;
    char *entity;    /* "host" or the guest's name */
    char *control;   /* balloon_target, ksm_pages_to_scan, ... */
    char *before;    /* the statistic the control changes, as it was ("-": none) */
    char *requested; /* the value the policy asked for */
    char *outcome;   /* what the controller did, as momctl controls says it */
    char *origin;    /* FILE:LINE:COLUMN of the policy line */
    /* what the policies read and the debug lines they wrote for the entity
     * in that cycle, shared by its decisions of the cycle; NULL when the
     * evaluation kept none (MOM_POLICY_EVAL_EXPLAIN) */
    MomExplanation *why;
} MomDecision;

/**
 * mom_history_new:
 * Returns: (transfer full) a history of at most @max_decisions decisions,
 * none older than @max_age_s seconds.
 */
MomHistory *mom_history_new(guint max_decisions, guint max_age_s);

/**
 * mom_history_set_explained:
 * Whether @history keeps the entities' explanations with what it records
 * (the default) or only the decisions, with a NULL why: for a history
 * made to be written out and thrown away, which would copy them for
 * nothing.
 */
void mom_history_set_explained(MomHistory *history, gboolean explained);

/** mom_history_free: Frees @history (NULL is fine). */
void mom_history_free(MomHistory *history);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MomHistory, mom_history_free)

/** mom_history_set_bounds: Changes the bounds (a reload); drops what is now beyond them. */
void mom_history_set_bounds(MomHistory *history, guint max_decisions, guint max_age_s);

/**
 * mom_history_record:
 * Records the controls @entity got in cycle @cycle at @time (wall µs),
 * under @name, with the entity's explanation of the cycle (the decisions:
 * one compact copy, mom_explanation_compact()), which is also kept as
 * @name's newest (mom_history_latest(): a reference), decision or not.  A control whose outcome is
 * "unchanged" (the value was already there) or "noted" (a parameter the controller keeps, such as
 * the KSM watch's idle rate) is no decision and is left out, so that a
 * steady host does not push real decisions out.
 */
void mom_history_record(MomHistory *history, guint64 cycle, gint64 time, const char *name,
                        MomEntity *entity);

/**
 * mom_history_query:
 * Returns: (transfer container) (element-type MomDecision) the decisions
 * about @entity (NULL: all) at or after @since (wall µs), the oldest first.
 * The elements belong to @history and stay valid until the next record.
 */
GPtrArray *mom_history_query(MomHistory *history, const char *entity, gint64 since);

/** mom_history_length: Returns: the decisions held. */
guint mom_history_length(MomHistory *history);

/**
 * mom_history_release_latest:
 * Lets go of @entity's newest explanation, just before a cycle that will
 * record a new one for it (momd calls it for the entities it is about to
 * evaluate, in the same main-loop turn as the record, so nobody can ask in
 * between): the entity then fills the same explanation anew instead of
 * making a second one beside it (the decisions hold copies of their own).
 */
void mom_history_release_latest(MomHistory *history, const char *entity);

/**
 * mom_history_latest:
 * The newest cycle recorded for @entity: its number in *@cycle, its time
 * (wall µs) in *@time, and in *@why (transfer none) (nullable) its
 * explanation.  An entity that went away (a guest) is forgotten here at
 * the second cycle after its last (the first cycle that records anything
 * then walks them all); its decisions keep theirs.
 * Returns: FALSE when @entity is not known.
 */
gboolean mom_history_latest(MomHistory *history, const char *entity, guint64 *cycle, gint64 *time,
                            MomExplanation **why);
