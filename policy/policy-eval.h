/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Internal: the evaluator's entry points, used by the policy set. */
#pragma once

#include "policy-ast.h"

/** mom_eval_new: Returns: (transfer full) an evaluator for @set, reused across runs. */
MomEval *mom_eval_new(MomPolicySet *set);

/**
 * mom_eval_run:
 * Evaluates the set's policies once (see mom_policy_set_evaluate()).
 * Returns: (transfer full) the outcome.
 */
MomPolicyRun *mom_eval_run(MomEval *ev, MomEntity *host, GPtrArray *guests,
                           MomPolicyEvalFlags flags);
