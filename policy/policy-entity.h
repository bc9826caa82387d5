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
    MomValue *samples; /* capacity rows of n_fields values */
    GHashTable *props; /* char* -> MomValue* */
    GHashTable *vars;  /* char* -> MomValue*; persist across evaluations */
    GArray *controls;  /* MomControl of the current/last evaluation */
    char *error;       /* formatted per-guest error of the last evaluation */
    gboolean failed;   /* set during an evaluation once a guest error discarded it */
};

/** mom_entity_find_control: Returns: the index of control @name, or -1. */
int mom_entity_find_control(const MomEntity *e, const char *name);
/** mom_entity_reset_run: Forgets the controls and error of the previous evaluation. */
void mom_entity_reset_run(MomEntity *e);
