/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Internal: the evaluator's entry points, used by the policy set.  The set
 * hands each run what it evaluates (MomEvalProgram); the evaluator keeps
 * no pointer to the set and calls none of its functions, so the calls go
 * one way: policy-set.c -> policy-eval.c.
 */
#pragma once

#include "policy-ast.h"

/* One policy file, as a diagnostic or a control names and quotes it. */
typedef struct {
    const char *name; /* display name; lives as long as the set */
    const char *text; /* the source, or NULL once its policy was replaced or removed */
} MomEvalFile;

/* What one run evaluates, lent by the policy set for the run. */
typedef struct {
    const GPtrArray *policies;     /* MomPolicy, in evaluation order */
    const GArray *files;           /* MomEvalFile, by MomNode.file */
    GPtrArray *atom_names;         /* atom -> name; explanations take a reference */
    const MomPolicyLimits *limits; /* zero fields mean the defaults */
} MomEvalProgram;

/**
 * mom_eval_new: Interns the names the evaluator knows in advance in @atoms,
 * the table the set's policies are parsed against.
 * Returns: (transfer full) an evaluator, reused across runs.
 */
MomEval *mom_eval_new(MomAtoms *atoms);

/**
 * mom_eval_run:
 * Evaluates @program once, on @host and @guests (MomPolicyRun in
 * mom-policy.h says what the outcome holds).
 * Returns: (transfer full) the outcome.
 */
MomPolicyRun *mom_eval_run(MomEval *ev, const MomEvalProgram *program, MomEntity *host,
                           GPtrArray *guests, MomPolicyEvalFlags flags);

/** mom_eval_free: Frees an evaluator. */
void mom_eval_free(MomEval *eval);
