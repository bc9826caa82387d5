/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Internal: the entity layout, shared with the evaluator. */
#pragma once

#include "policy-ast.h"

struct _MomEntity {
    MomEntityKind kind;
    char *name;
    MomSchema *schema;
    guint n_fields;
    guint capacity; /* samples kept */
    guint first;    /* ring index of the oldest sample */
    guint count;
    MomValue *samples;           /* capacity rows of n_fields values */
    GHashTable *props;           /* char* -> MomValue* */
    GHashTable *vars;            /* char* -> MomVar*; persist across evaluations */
    gsize var_bytes;             /* the sizes of the vars, summed */
    GArray *controls;            /* MomControl of the current/last evaluation */
    char *error;                 /* formatted per-guest error of the last evaluation */
    gboolean failed;             /* set during an evaluation once a guest error discarded it */
    MomExplanation *explanation; /* of the last evaluation with MOM_POLICY_EVAL_EXPLAIN */
};

/* An input and what tells it from the others while the run goes on: the
 * entity and the name as pointers, valid during the run only. */
typedef struct {
    MomPolicyInput pub;
    gconstpointer source; /* the entity read, or NULL */
    gconstpointer key;    /* the schema's field name, or the atom's name */
} MomInputRec;

struct _MomExplanation {
    int ref;
    GArray *inputs;      /* MomInputRec */
    GPtrArray *debug;    /* MomPolicyDiag */
    GStringChunk *names; /* the inputs' entity and names */
    gsize debug_bytes;
    guint dropped_inputs;
    guint dropped_debug;
};

/** mom_entity_explain: Returns: (transfer none) @e's explanation of this run, made on first use. */
MomExplanation *mom_entity_explain(MomEntity *e);

/**
 * mom_explanation_add_input:
 * Keeps @value (copied, long ones cut) as input @name of @source (NULL: a
 * global variable) unless that input was read before in this run, or the
 * explanation is full (then it is counted as dropped).  @source_name is
 * the entity's name shown; @key and @source tell inputs apart by pointer,
 * and an entity variable also by name.
 */
void mom_explanation_add_input(MomExplanation *x, MomInputKind kind, const MomEntity *source,
                               const char *source_name, gconstpointer key, const char *name,
                               const MomValue *value);

/**
 * mom_explanation_add_debug:
 * Keeps a debug line (takes @message) written at @file:@line:@col, within
 * MOM_EXPLANATION_MAX_DEBUG_LINES and _BYTES; beyond them it is counted.
 */
void mom_explanation_add_debug(MomExplanation *x, const char *file, int line, int col,
                               char *message);

/** mom_entity_find_control: Returns: the index of control @name, or -1. */
int mom_entity_find_control(const MomEntity *e, const char *name);
/** mom_entity_reset_run: Forgets the controls and error of the previous evaluation. */
void mom_entity_reset_run(MomEntity *e);

/* A persistent variable: the value first, so that a MomVar* is also the
 * MomValue* that mom_entity_get_var() and mom_entity_vars() hand out. */
typedef struct {
    MomValue value;
    gsize size; /* the name's bytes plus mom_value_flat_size() of the value */
} MomVar;

/** mom_entity_var_size: Returns: the size SetVar accounted for variable @name, or 0. */
gsize mom_entity_var_size(const MomEntity *e, const char *name);
/** mom_entity_var_bytes: Returns: the sizes of all of @e's variables, summed. */
gsize mom_entity_var_bytes(const MomEntity *e);
/** mom_entity_set_var_sized: Sets variable @name to @value, whose size the caller measured. */
void mom_entity_set_var_sized(MomEntity *e, const char *name, const MomValue *value, gsize size);
