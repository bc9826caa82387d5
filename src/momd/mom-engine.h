/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The policy engine: the active policy set, its (re)loading from the
 * configured policy file or directory, one evaluation per cycle, and the
 * controllers that apply each successful evaluation.
 */
#pragma once

#include <glib.h>

#include "mom-controller.h"
#include "mom-policy.h"

typedef struct _MomEngine MomEngine;

/** mom_engine_new: Returns: (transfer full) an engine with no policies and no controllers. */
MomEngine *mom_engine_new(void);
/** mom_engine_free: Frees @engine; call mom_engine_shutdown() first on a clean exit. */
void mom_engine_free(MomEngine *engine);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MomEngine, mom_engine_free)

/**
 * mom_engine_add_controllers:
 * Starts the controllers named in @names (MOM's spelling).  A controller
 * this build does not have, or that cannot start on this host, is logged
 * and skipped: momd keeps running with the others.
 */
void mom_engine_add_controllers(MomEngine *engine, char **names, const MomControllerConfig *cfg);

/** mom_engine_n_controllers: Returns: the number of running controllers. */
guint mom_engine_n_controllers(const MomEngine *engine);

/**
 * MomEngineStateFunc:
 * Gives the live entities a policy set is tried on before it is
 * installed: @host (transfer none) and @guests (transfer container), those
 * of the next cycle.  Returns: FALSE when there is no state yet (no
 * complete host sample); nothing is tried then.
 */
typedef gboolean (*MomEngineStateFunc)(gpointer data, MomEntity **host, GPtrArray **guests);

/** mom_engine_set_state_func: Sets what mom_engine_try() tries policy sets on. */
void mom_engine_set_state_func(MomEngine *engine, MomEngineStateFunc func, gpointer data);

/**
 * mom_engine_try:
 * Evaluates @candidate, a whole policy set, on a copy of the live state,
 * and the active policies on another copy.  The errors @candidate has that
 * the active policies do not have are its own: each is appended to
 * @problems (when not NULL) in full (the location line, the source line, a
 * caret), once for all the guests it happens in.  Returns: TRUE when there
 * are none, or when there is no state to try on; FALSE with @error
 * (MOM_POLICY_ERROR_RUNTIME) holding the first as one line ("FILE:LINE:COL:
 * error: ...", "(and N more errors)"), or saying that a stop or reload
 * interrupted the trial.
 */
gboolean mom_engine_try(MomEngine *engine, MomPolicySet *candidate, GPtrArray *problems,
                        GError **error);

/**
 * mom_engine_load:
 * (Re)loads the policies: @policy_file alone (named "50_main_") when set,
 * as MOM does, else every *.policy file of @policy_dir.  A file that does
 * not parse is logged with its diagnostics and the previously loaded
 * version of that policy, if any, stays active.  The set built is tried
 * first (mom_engine_try()): if it would fail where the active one does
 * not, it is logged with its errors and the active set stays.  Returns:
 * FALSE when a file was rejected, a source could not be read (the engine
 * still has the best set it could build) or the set was refused.
 */
gboolean mom_engine_load(MomEngine *engine, const char *policy_file, const char *policy_dir,
                         const MomPolicyLimits *limits);

/** mom_engine_policies: Returns: (transfer none) the active policy set. */
MomPolicySet *mom_engine_policies(MomEngine *engine);

/**
 * mom_engine_run:
 * Evaluates the policies against @host and @guests, logs errors (a repeated
 * error once, then with its repetition count) and debug lines, and hands a
 * successful evaluation to every controller.  Returns: TRUE when the
 * evaluation succeeded.
 */
gboolean mom_engine_run(MomEngine *engine, MomEntity *host, GPtrArray *guests);

/**
 * mom_engine_set_explain:
 * With @explain, every later mom_engine_run() keeps, per entity, what the
 * policies read and the debug lines they wrote for it
 * (mom_entity_explanation()), for the decision history; it costs time in
 * every cycle, so only a daemon that keeps a history asks for it.
 */
void mom_engine_set_explain(MomEngine *engine, gboolean explain);

/**
 * mom_engine_set_policy:
 * Installs @text as the policy @name (the control API's setNamedPolicy),
 * or removes it when @text is NULL.  A policy that does not parse changes
 * nothing: its diagnostics are appended to @diags, and @error is
 * MOM_POLICY_ERROR_PARSE.  Nor does a change that would make the policies
 * fail on the current state (mom_engine_try()): @error is then
 * MOM_POLICY_ERROR_RUNTIME, naming the policy and the error, and the
 * errors are logged.  Policies set this way survive a reload from the
 * policy files (SIGHUP) until mom_engine_reset().  Returns: TRUE when the
 * set changed as asked; FALSE without @error when the policy to delete did
 * not exist.
 */
gboolean mom_engine_set_policy(MomEngine *engine, const char *name, const char *text,
                               GPtrArray *diags, GError **error);

/**
 * mom_engine_reset:
 * Forgets every policy set through the control API and reloads the
 * policy files (the control API's resetPolicies).  When nothing is
 * installed (the files cannot be read, or would fail), the control API's
 * policies stay, for later reloads too.  Returns: as mom_engine_load().
 */
gboolean mom_engine_reset(MomEngine *engine, const char *policy_file, const char *policy_dir,
                          const MomPolicyLimits *limits);

/* The last evaluation, for the control API. */
typedef struct {
    guint64 cycle;     /* 0 before the first */
    gint64 time;       /* wall clock, µs */
    gboolean ok;       /* the run was not aborted */
    GPtrArray *errors; /* formatted one-line diagnostics (char *) */
} MomEngineRun;

/** mom_engine_last_run: Returns: (transfer none) the last evaluation. */
const MomEngineRun *mom_engine_last_run(const MomEngine *engine);

/**
 * mom_engine_problems:
 * Why the policies in force are not what the configured files say, from
 * the last mom_engine_load() or mom_engine_reset(): a source that cannot
 * be read, a rejected file, no source configured.  Each is a full
 * sentence, also logged as a warning when it was found.
 * Returns: (transfer none) (element-type utf8) the sentences; empty when
 * every file loaded.
 */
GPtrArray *mom_engine_problems(const MomEngine *engine);

/** mom_engine_shutdown: Lets every controller undo its changes (KSM restore). */
void mom_engine_shutdown(MomEngine *engine);
