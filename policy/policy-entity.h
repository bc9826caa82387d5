/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Internal: the entity layout, shared with the evaluator. */
#pragma once

#include "policy-ast.h"

struct _MomEntity {
    MomEntityKind kind;
    char *name;
    MomSchema *schema;
    guint n_fields;
    guint capacity;   /* samples kept */
    guint count;      /* samples held: the newest and count - 1 older ones */
    MomValue *newest; /* n_fields values, read by every evaluation */
    /* The older samples, a ring of capacity - 1 rows in 9 bytes a field
     * rather than a MomValue's 16 (a third of an idle momd's heap at 200
     * guests was its history): each field's type, and its payload, which
     * holds the reference of a string, list or record. */
    guint first;                 /* ring row of the oldest */
    guint8 *types;               /* (capacity - 1) rows of n_fields */
    guint64 *cells;              /* (capacity - 1) rows of n_fields */
    GHashTable *props;           /* char* -> MomValue* */
    GHashTable *vars;            /* char* -> MomVar*; persist across evaluations */
    gsize var_bytes;             /* the sizes of the vars, summed */
    GArray *controls;            /* MomControl of the current/last evaluation */
    char *error;                 /* formatted per-guest error of the last evaluation */
    gboolean failed;             /* set during an evaluation once a guest error discarded it */
    MomExplanation *explanation; /* of the last evaluation with MOM_POLICY_EVAL_EXPLAIN */
    MomExplanation *spare;       /* the one before, emptied, for the next to reuse; or NULL */
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
    MomInputRec *inputs; /* n_inputs of cap_inputs */
    guint n_inputs;
    guint cap_inputs;
    GArray *debug;         /* MomPolicyDiag, their file interned; NULL until the first */
    GPtrArray *atoms;      /* a reference to the atom table the variables' names are in */
    MomSchema *schemas[4]; /* references: the fields' names are theirs */
    guint n_schemas;
    GPtrArray *owned; /* names copied (char *); NULL until the first */
    gsize debug_bytes;
    guint dropped_inputs;
    guint dropped_debug;
    /* the evaluator's shortcut: the fields (the first 64 of the schema) of
     * the explained entity already read this run, newest and averaged */
    guint64 seen_fields[2];
    /* the inputs by their key's pointer: index + 1, open addressing */
    guint8 slots[128];
    /* the guest whose name the last input copied, and the copy: in
     * label_buf when it fits (no allocation for the usual short name) */
    gconstpointer label_source;
    const char *label;
    char label_buf[48];
};

/** mom_entity_explain: Returns: (transfer none) @e's explanation of this run, made on first use. */
MomExplanation *mom_entity_explain(MomEntity *e);

/**
 * mom_explanation_add_input:
 * Keeps @value (copied, long ones cut) as input @name of @source (NULL: a
 * global variable) unless that input was read before in this run, or the
 * explanation is full (then it is counted as dropped).  @name is a field
 * of @source's schema, a name of the atom table @atoms (a variable), or
 * anything (an entity variable: copied).  @key and @source tell inputs
 * apart by pointer, and an entity variable by name.
 */
void mom_explanation_add_input(MomExplanation *x, MomInputKind kind, const MomEntity *source,
                               gconstpointer key, const char *name, GPtrArray *atoms,
                               const MomValue *value);

/**
 * mom_explanation_add_debug:
 * Keeps a debug line (takes @message) written at @file:@line:@col, within
 * MOM_EXPLANATION_MAX_DEBUG_LINES and _BYTES; beyond them it is counted.
 * @file must be an interned string (g_intern_string()).
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
