/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Internal: the syntax tree and the value internals shared by the parser
 * and the evaluator, and the policy set's layout, which the parser interns
 * its atoms in and the evaluator never reads (the set lends it a
 * MomEvalProgram per run, policy-eval.h).  Not installed.
 */
#pragma once

#include <glib.h>

#include "mom-policy.h"

struct _MomString {
    int ref;
    guint len;
    char data[]; /* NUL-terminated */
};

struct _MomList {
    int ref;
    guint len;
    guint depth; /* 1, plus the deepest item that is a list: what a walk recurses */
    MomValue items[];
};

/* Native functions a value of type MOM_VALUE_FUNCTION may hold. */
typedef enum {
    MOM_FN_ABS = 1,
    MOM_FN_DEBUG,
    MOM_FN_STAT, /* entity methods from here on */
    MOM_FN_STAT_AVG,
    MOM_FN_PROP,
    MOM_FN_CONTROL,
    MOM_FN_GET_CONTROL,
    MOM_FN_SET_VAR,
    MOM_FN_GET_VAR,
    /* record setters: MOM_FN_RECORD_SET + the setter's index, bound to u.r */
    MOM_FN_RECORD_SET = 100,
} MomNativeFn;

typedef struct {
    char *method;
    char *control;
} MomRecordSetter;

struct _MomRecord {
    int ref;
    GArray *members; /* MomRecordMember */
    GArray *setters; /* MomRecordSetter */
    MomEntity *owner;
};

typedef struct {
    char *name;
    MomValue value;
} MomRecordMember;

/** mom_value_is_record_setter: Returns: TRUE for a function value bound to a record. */
static inline gboolean
mom_value_is_record_setter(const MomValue *v)
{
    return v->type == MOM_VALUE_FUNCTION && v->fn >= MOM_FN_RECORD_SET;
}

typedef enum {
    MOM_NODE_INT,
    MOM_NODE_FLOAT,
    MOM_NODE_STRING,
    MOM_NODE_SYMBOL,
    MOM_NODE_OP,
    MOM_NODE_LIST,
} MomNodeKind;

typedef struct _MomNode MomNode;
struct _MomNode {
    guint8 kind;    /* MomNodeKind */
    guint8 bracket; /* lists: '(', '[' or '{' */
    guint16 form;   /* lists: built-in form of the head (0 = none); ops: their form */
    guint file;     /* index into the set's file table */
    int line;
    int col;
    int end_col;
    union {
        gint64 i;
        double d;
        MomString *s;
        struct {
            guint atom;   /* the whole name, as set/defvar bind it */
            guint base;   /* the part before the first '.', as lookups search it */
            guint member; /* the part after it, or 0 */
            /* one-entry cache of the member's field index in the last schema seen */
            const MomSchema *cache_schema;
            guint64 cache_serial;
            int cache_index;
        } sym;
        struct {
            MomNode **items;
            guint n;
        } list;
    } u;
    MomNode *next; /* parser scratch: sibling while a list is being built */
};

/* A bump allocator: a parsed policy's nodes live and die together. */
typedef struct {
    GSList *blocks;
    char *cur;
    gsize left;
} MomArena;

/** mom_arena_alloc: Returns: zeroed memory from @arena, aligned for any node. */
gpointer mom_arena_alloc(MomArena *arena, gsize size);
/** mom_arena_clear: Frees every block of @arena. */
void mom_arena_clear(MomArena *arena);

/* One parsed policy file. */
typedef struct {
    char *name;
    const char *file; /* display name, interned in the set */
    guint file_index;
    char *text;
    MomArena arena;
    MomNode **top; /* top-level expressions */
    guint n_top;
    GPtrArray *strings; /* MomString literals to release */
} MomPolicy;

/** mom_schema_serial: Returns: a number no other schema of this process has had. */
guint64 mom_schema_serial(const MomSchema *schema);

/** mom_policy_free: Frees a parsed policy. */
void mom_policy_free(MomPolicy *policy);

/* Per-set symbol table: names are interned to small integers at parse time. */
typedef struct {
    GHashTable *index; /* name -> atom (GUINT_TO_POINTER) */
    GPtrArray *names;  /* atom -> name; atom 0 is unused */
} MomAtoms;

/** mom_atoms_intern: Returns: the atom of the first @len bytes of @name. */
guint mom_atoms_intern(MomAtoms *atoms, const char *name, gsize len);

typedef struct _MomEval MomEval;

struct _MomPolicySet {
    GPtrArray *policies; /* MomPolicy, sorted by name */
    MomAtoms atoms;
    GArray *files;      /* MomEvalFile by file index: name (in strs), text or NULL once replaced */
    GStringChunk *strs; /* display file names; lives as long as the set */
    MomPolicyLimits limits;
    MomEval *eval; /* reused evaluator state */
};

/**
 * mom_policy_parse:
 * Parses @text into @policy (whose name, file and text are set), interning
 * symbols in @set.  Diagnostics are appended to @diags.
 * Returns: TRUE when the text parsed without any error.
 */
gboolean mom_policy_parse(MomPolicySet *set, MomPolicy *policy, GPtrArray *diags);

/** mom_diag_new: Returns: (transfer full) a diagnostic at @line:@col..@end_col of @text. */
MomPolicyDiag *mom_diag_new(MomDiagSeverity severity, const char *file, const char *text, int line,
                            int col, int end_col, char *message);

/** mom_string_alloc: Returns: (transfer full) a string of @len bytes to fill, NUL-terminated. */
MomString *mom_string_alloc(gsize len);
/** mom_string_new: Returns: (transfer full) a string of @len bytes copied from @s. */
MomString *mom_string_new(const char *s, gsize len);
/** mom_string_unref: Drops one reference. */
void mom_string_unref(MomString *s);
/** mom_list_new: Returns: (transfer full) a list of @len nil items. */
MomList *mom_list_new(guint len);

/**
 * mom_value_repr_bounded:
 * Appends the printed form of @v to @out as mom_value_repr() does, but at
 * most @max bytes of it, then "..." when it was cut.  Returns: TRUE when
 * the whole form was appended.
 */
gboolean mom_value_repr_bounded(const MomValue *v, gboolean quote, GString *out, gsize max);

/**
 * mom_value_flat_size:
 * The bytes @v takes written out whole, what a snapshot or an RPC answer
 * holding it costs: sizeof(MomValue) per value, plus a string's bytes, each
 * time it appears (a list holding one string a million times counts it a
 * million times).  The walk stops once the size passes @limit, so it costs
 * at most @limit / sizeof(MomValue) steps.  Returns: the size, or some
 * number above @limit.
 */
gsize mom_value_flat_size(const MomValue *v, gsize limit);

/* Built-in forms (policy-builtins.c). */
typedef struct {
    const char *name;
    int min_args;
    int max_args;     /* -1: no limit */
    gboolean special; /* arguments are passed unevaluated */
    const char *usage;
} MomForm;

/** mom_form_lookup: Returns: the form id of @name (1-based), or 0. */
guint mom_form_lookup(const char *name);
/** mom_form_get: Returns: (transfer none) form @id. */
const MomForm *mom_form_get(guint id);
