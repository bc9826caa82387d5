/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libmompolicy: the MOM policy language.
 *
 * A MomPolicySet holds named policies (parsed ASTs) and evaluates them as
 * one program, in name order, against a host entity and a list of guest
 * entities.  Entities are MomEntity objects owned by the caller (the daemon
 * keeps one per host/guest across cycles; momctl builds them from a state
 * file).  The library has no global state: every set is independent.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define MOM_POLICY_ERROR (mom_policy_error_quark())
GQuark mom_policy_error_quark(void);

typedef enum {
    MOM_POLICY_ERROR_PARSE,   /* the policy text does not parse */
    MOM_POLICY_ERROR_RUNTIME, /* evaluation failed outside any guest iteration */
    MOM_POLICY_ERROR_IO,      /* a policy file or directory cannot be read */
    MOM_POLICY_ERROR_NAME,    /* a policy name is invalid or unknown */
} MomPolicyErrorCode;

/* ---- values ------------------------------------------------------------ */

typedef enum {
    MOM_VALUE_NIL = 0,
    MOM_VALUE_BOOL,
    MOM_VALUE_INT,
    MOM_VALUE_FLOAT,
    MOM_VALUE_STRING,
    MOM_VALUE_LIST,
    MOM_VALUE_ENTITY,
    MOM_VALUE_FUNCTION,
    MOM_VALUE_RECORD, /* named members and setter methods: a guest's io_tune items */
} MomValueType;

typedef struct _MomString MomString;
typedef struct _MomList MomList;
typedef struct _MomEntity MomEntity;
typedef struct _MomRecord MomRecord;

/*
 * A policy value.  Passed by value; strings and lists are reference counted
 * and must be released with mom_value_clear().  Scalars need no cleanup.
 */
typedef struct {
    MomValueType type;
    guint16 fn; /* MOM_VALUE_FUNCTION: which native function (private) */
    union {
        gboolean b;
        gint64 i;
        double d;
        MomString *s;
        MomList *l;
        MomEntity *e; /* ENTITY, and the bound entity of a FUNCTION (may be NULL) */
        MomRecord *r; /* RECORD, and the bound record of a record-setter FUNCTION */
    } u;
} MomValue;

#define MOM_VALUE_INIT                                                                             \
    {                                                                                              \
        MOM_VALUE_NIL, 0,                                                                          \
        {                                                                                          \
            0                                                                                      \
        }                                                                                          \
    }

/** mom_value_nil: Returns: the nil value. */
MomValue mom_value_nil(void);
/** mom_value_int: Returns: an integer value. */
MomValue mom_value_int(gint64 i);
/** mom_value_float: Returns: a float value. */
MomValue mom_value_float(double d);
/** mom_value_bool: Returns: a boolean value. */
MomValue mom_value_bool(gboolean b);
/** mom_value_string: Returns: (transfer full) a new string value copied from @s (@len bytes, or
 * -1). */
MomValue mom_value_string(const char *s, gssize len);
/** mom_value_string_get: Returns: (transfer none) the bytes of a string value, NUL-terminated. */
const char *mom_value_string_get(const MomValue *v);
/** mom_value_list_length: Returns: the number of items of a list value. */
guint mom_value_list_length(const MomValue *v);
/** mom_value_list_get: Returns: (transfer none) item @i of a list value. */
const MomValue *mom_value_list_get(const MomValue *v, guint i);

/** mom_value_copy: Returns: (transfer full) a new reference to @v. */
MomValue mom_value_copy(const MomValue *v);
/** mom_value_clear: Releases what @v holds and makes it nil. */
void mom_value_clear(MomValue *v);
/** mom_value_truthy: Returns: the language's truthiness of @v (§3). */
gboolean mom_value_truthy(const MomValue *v);
/** mom_value_type_name: Returns: a noun for messages, e.g. "an integer". */
const char *mom_value_type_name(MomValueType type);

/* The most mom_value_repr() appends for one value. */
#define MOM_VALUE_REPR_MAX (16 * 1024 * 1024)

/**
 * mom_value_repr:
 * Appends the printed form of @v to @out: integers in decimal, floats in the
 * shortest form that reads back to the same double (always with a '.' or an
 * exponent), strings raw when @quote is FALSE and double-quoted otherwise,
 * nil, true/false, lists as [a, b], entities as Host or Guest(name).  A
 * form longer than MOM_VALUE_REPR_MAX bytes (a list holding one long string
 * many times) is cut there and ends in "...".
 */
void mom_value_repr(const MomValue *v, gboolean quote, GString *out);

/**
 * mom_format_double:
 * Writes the shortest decimal form of @d that parses back to @d into @buf
 * (at least 32 bytes), laid out as Python's repr() (MOM's language): 0.1,
 * 2.0, 100000.0, 1e+16, 1e-05.  inf and nan are written as "inf", "-inf"
 * and "nan".  Returns: @buf.
 */
char *mom_format_double(double d, char *buf);

/* ---- records ----------------------------------------------------------- */

/*
 * A record is a small object a collector hands to the policy as a field
 * value, such as one disk of guest.io_tune: members read as
 * `tune.name` or `max_io.total_bytes_sec`, and setter methods
 * `(tune.setTotalBytesSec 1000)` that set a control of the record's owner
 * entity (for example "io_tune.vda.total_bytes_sec"), so setters go
 * through the same control, rollback and outcome machinery as
 * `(guest.Control ...)`.  Reference counted, one thread at a time.
 */

/** mom_record_new: Returns: (transfer full) an empty record. */
MomRecord *mom_record_new(void);
/** mom_record_ref: Returns: @record with one more reference. */
MomRecord *mom_record_ref(MomRecord *record);
/** mom_record_unref: Drops one reference. */
void mom_record_unref(MomRecord *record);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MomRecord, mom_record_unref)
/** mom_record_set: Sets member @name to @value (its reference is taken). */
void mom_record_set(MomRecord *record, const char *name, MomValue value);
/** mom_record_get: Returns: (transfer none) member @name, or NULL. */
const MomValue *mom_record_get(const MomRecord *record, const char *name);
/** mom_record_n_members: Returns: the number of members. */
guint mom_record_n_members(const MomRecord *record);
/** mom_record_member: Returns: (transfer none) the name of member @i, and its value in @value. */
const char *mom_record_member(const MomRecord *record, guint i, const MomValue **value);
/**
 * mom_record_add_setter:
 * Adds the method @method: calling it with one value sets the control
 * @control of the record's owner entity to that value.
 */
void mom_record_add_setter(MomRecord *record, const char *method, const char *control);
/** mom_record_set_owner: Sets the entity (not owned) whose controls the setters set. */
void mom_record_set_owner(MomRecord *record, MomEntity *owner);
/** mom_value_record: Returns: a record value, taking @record's reference. */
MomValue mom_value_record(MomRecord *record);
/** mom_record_n_setters: Returns: the number of setter methods (mom_record_add_setter()). */
guint mom_record_n_setters(const MomRecord *record);
/**
 * mom_record_setter:
 * Returns: (transfer none) the name of setter @i, and the control it sets
 * in @control.
 */
const char *mom_record_setter(const MomRecord *record, guint i, const char **control);

/**
 * mom_value_list_take:
 * Makes a list of the @n values in @items, taking their references (the
 * array itself stays the caller's).  Its depth, which bounds what a walk
 * of it recurses (MOM_POLICY_MAX_LIST_DEPTH), is worked out from the
 * items.  Returns: the list value.
 */
MomValue mom_value_list_take(const MomValue *items, guint n);

/* ---- entities ---------------------------------------------------------- */

typedef enum {
    MOM_ENTITY_HOST,
    MOM_ENTITY_GUEST,
} MomEntityKind;

/*
 * A field layout: the ordered names of the fields an entity declares (the
 * union of its collectors' mandatory and optional fields).  Schemas are
 * immutable once made and shared by reference between entities, so the
 * evaluator can cache field positions per schema.
 */
typedef struct _MomSchema MomSchema;

/** mom_schema_new: Returns: (transfer full) a schema of the @n_fields names in @fields; duplicates
 * are ignored. */
MomSchema *mom_schema_new(const char *const *fields, guint n_fields);
/** mom_schema_ref: Returns: (transfer full) @schema with one more reference. */
MomSchema *mom_schema_ref(MomSchema *schema);
/** mom_schema_unref: Drops one reference. */
void mom_schema_unref(MomSchema *schema);
/** mom_schema_lookup: Returns: the index of field @name, or -1 when it is not declared. */
int mom_schema_lookup(const MomSchema *schema, const char *name);
/** mom_schema_n_fields: Returns: the number of fields. */
guint mom_schema_n_fields(const MomSchema *schema);
/** mom_schema_field: Returns: (transfer none) the name of field @i. */
const char *mom_schema_field(const MomSchema *schema, guint i);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MomSchema, mom_schema_unref)

/**
 * mom_entity_new:
 * Creates an entity that keeps the last @history samples (at least 1) of the
 * fields of @schema.  @name is the guest's name, or "Host".
 * Returns: (transfer full) the entity.
 */
MomEntity *mom_entity_new(MomEntityKind kind, const char *name, MomSchema *schema, guint history);
/** mom_entity_free: Frees @entity. */
void mom_entity_free(MomEntity *entity);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MomEntity, mom_entity_free)

/** mom_entity_name: Returns: (transfer none) the entity's name. */
const char *mom_entity_name(const MomEntity *entity);
/** mom_entity_kind: Returns: host or guest. */
MomEntityKind mom_entity_kind(const MomEntity *entity);
/** mom_entity_schema: Returns: (transfer none) the entity's field layout. */
MomSchema *mom_entity_schema(const MomEntity *entity);

/**
 * mom_entity_push_sample:
 * Appends a sample (the newest) made of @values, one per schema field in
 * schema order (nil = no data); the oldest sample is dropped when the
 * history is full.  Takes ownership of the values' references.
 */
void mom_entity_push_sample(MomEntity *entity, MomValue *values);
/** mom_entity_n_samples: Returns: the number of samples held. */
guint mom_entity_n_samples(const MomEntity *entity);
/** mom_entity_stat: Returns: (transfer none) the newest value of field @index (nil without
 * samples). */
const MomValue *mom_entity_stat(const MomEntity *entity, guint index);
/** mom_entity_stat_avg: Returns: the mean of field @index over the history, skipping nil and
 * non-numbers; 0.0 when none. */
double mom_entity_stat_avg(const MomEntity *entity, guint index);

/** mom_entity_set_prop: Sets property @name (e.g. "uuid") to @value (copied). */
void mom_entity_set_prop(MomEntity *entity, const char *name, const MomValue *value);
/** mom_entity_get_prop: Returns: (transfer none) property @name, or NULL when unset. */
const MomValue *mom_entity_get_prop(const MomEntity *entity, const char *name);

/** mom_entity_set_var: Sets the per-entity variable @name; variables persist across cycles. */
void mom_entity_set_var(MomEntity *entity, const char *name, const MomValue *value);
/** mom_entity_get_var: Returns: (transfer none) variable @name, or NULL when unset. */
const MomValue *mom_entity_get_var(const MomEntity *entity, const char *name);

/* A control requested by the policy in the last evaluation. */
typedef struct {
    char *name;
    MomValue value;
    const char *file; /* the policy file of the Control call (interned: never freed) */
    int line;
    int col;
    char *outcome; /* what the controller did with it, or NULL (not yet applied) */
} MomControl;

/**
 * mom_entity_set_outcome:
 * Records what a controller did with control @name of the last evaluation
 * ("written 0 → 1", "skipped: within the dead band", ...), for momctl
 * controls.  Does nothing when the entity has no such control.
 */
void mom_entity_set_outcome(MomEntity *entity, const char *name, const char *outcome);

/**
 * mom_entity_sample_value:
 * Returns: (transfer none) field @index of sample @k, 0 = the oldest, by
 * value but borrowed: its reference stays the entity's until the sample
 * goes, so never clear it (mom_value_copy() keeps it).
 */
MomValue mom_entity_sample_value(const MomEntity *entity, guint k, guint index);

/** mom_entity_props: Returns: (transfer none) the properties, name -> MomValue*. */
GHashTable *mom_entity_props(const MomEntity *entity);

/** mom_entity_vars: Returns: (transfer none) the persistent variables, name -> MomValue*. */
GHashTable *mom_entity_vars(const MomEntity *entity);

/** mom_entity_n_controls: Returns: the number of controls set in the last evaluation. */
guint mom_entity_n_controls(const MomEntity *entity);
/** mom_entity_control: Returns: (transfer none) control @i, in the order first set. */
const MomControl *mom_entity_control(const MomEntity *entity, guint i);
/** mom_entity_get_control: Returns: (transfer none) the value of control @name, or NULL. */
const MomValue *mom_entity_get_control(const MomEntity *entity, const char *name);
/**
 * mom_entity_error:
 * Returns: (transfer none) the formatted diagnostic of the error that
 * discarded this guest's controls in the last evaluation, or NULL.
 */
const char *mom_entity_error(const MomEntity *entity);

/* ---- diagnostics ------------------------------------------------------- */

typedef enum {
    MOM_DIAG_ERROR,
    MOM_DIAG_NOTE,
    MOM_DIAG_DEBUG,
} MomDiagSeverity;

/* One located message, nftables' erec style. */
typedef struct {
    MomDiagSeverity severity;
    char *file;        /* display name of the policy file */
    int line;          /* 1-based; 0 when the message has no location */
    int col;           /* 1-based byte column */
    int end_col;       /* last column of the offending token (>= col) */
    char *message;     /* one sentence, no location, no trailing newline */
    char *source_line; /* the text of @line, or NULL */
    char *entity;      /* guest name for per-guest errors, or NULL */
} MomPolicyDiag;

/** mom_policy_diag_free: Frees @diag. */
void mom_policy_diag_free(MomPolicyDiag *diag);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MomPolicyDiag, mom_policy_diag_free)

/**
 * mom_policy_diag_format_line:
 * Returns: (transfer full) "FILE:LINE:COL: error: MESSAGE" on one line
 * (the guest, if any, is named in the message).
 */
char *mom_policy_diag_format_line(const MomPolicyDiag *diag);

/**
 * mom_policy_diag_format:
 * Returns: (transfer full) the one-line form, then the source line and a
 * caret under the offending token, each line ending in '\n'.
 */
char *mom_policy_diag_format(const MomPolicyDiag *diag);

/* ---- explanations ------------------------------------------------------ */

/*
 * What an evaluation with MOM_POLICY_EVAL_EXPLAIN read for one entity, and
 * the (debug ...) lines it wrote for it, so that an operator can be told
 * why a guest got the control it got, or none, without reading the policy.
 * The entity is the guest of the current (with Guests g ...) iteration,
 * else the host.  Reading a global variable (defvar at the top level) also
 * counts what that variable was computed from, at the time it was
 * assigned: a guest that reads host_under_pressure is told the host's free
 * ratio and the threshold it was compared with.  Each input is kept as it
 * was first read, and the lists are bounded (below); what is left out is
 * counted.  Reference counted, one thread at a time, and independent of
 * the policy set: it may outlive a reload.
 */
typedef struct _MomExplanation MomExplanation;

typedef enum {
    MOM_INPUT_FIELD,      /* an entity's newest value of a field: guest.mem_free, (Host.Stat "x") */
    MOM_INPUT_AVERAGE,    /* (E.StatAvg "field") */
    MOM_INPUT_ENTITY_VAR, /* (E.GetVar "name"): a variable kept with the entity */
    MOM_INPUT_VARIABLE,   /* a global variable of the policies (defvar at the top level) */
} MomInputKind;

/* One input of an explanation. */
typedef struct {
    MomInputKind kind;
    const char *entity; /* the field's or variable's entity ("Host" or the guest's name);
                         * NULL for MOM_INPUT_VARIABLE */
    const char *name;   /* the field, or the variable */
    MomValue value;     /* as first read; a string or list longer than
                         * MOM_EXPLANATION_MAX_VALUE_BYTES as its cut printed form */
} MomPolicyInput;

/* The bounds of one entity's explanation, per evaluation. */
#define MOM_EXPLANATION_MAX_INPUTS 48
#define MOM_EXPLANATION_MAX_DEBUG_LINES 32
#define MOM_EXPLANATION_MAX_DEBUG_BYTES 8192
#define MOM_EXPLANATION_MAX_VALUE_BYTES 256

/**
 * mom_entity_explanation:
 * Returns: (transfer none) (nullable) what the last evaluation with
 * MOM_POLICY_EVAL_EXPLAIN read and wrote for @entity; NULL without that
 * flag, or when the policies read nothing for it.  Take a reference to
 * keep it past the next evaluation.
 */
MomExplanation *mom_entity_explanation(const MomEntity *entity);

/** mom_explanation_ref: Returns: @explanation, with one more reference. */
MomExplanation *mom_explanation_ref(MomExplanation *explanation);
/** mom_explanation_unref: Drops one reference (NULL is fine). */
void mom_explanation_unref(MomExplanation *explanation);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MomExplanation, mom_explanation_unref)
/**
 * mom_explanation_compact:
 * A copy of @explanation, whose evaluation is over, to keep for long (the
 * decision history keeps one per decided cycle): its inputs and debug
 * lines in arrays of their size, where the one being filled has room to
 * grow and is reused by the entity's next evaluation.
 * Returns: (transfer full) the copy, which nothing fills any more.
 */
MomExplanation *mom_explanation_compact(const MomExplanation *explanation);
/** mom_explanation_n_inputs: Returns: the inputs kept. */
guint mom_explanation_n_inputs(const MomExplanation *explanation);
/** mom_explanation_input: Returns: (transfer none) input @i, in the order first read. */
const MomPolicyInput *mom_explanation_input(const MomExplanation *explanation, guint i);
/** mom_explanation_n_debug: Returns: the debug lines kept. */
guint mom_explanation_n_debug(const MomExplanation *explanation);
/**
 * mom_explanation_debug:
 * Returns: (transfer none) debug line @i, in the order written, as a
 * diagnostic of severity MOM_DIAG_DEBUG without its source line.
 */
const MomPolicyDiag *mom_explanation_debug(const MomExplanation *explanation, guint i);
/**
 * mom_explanation_dropped:
 * Returns: the reads of inputs left out by MOM_EXPLANATION_MAX_INPUTS
 * (an input not kept may be counted at each read), and in *@debug (when
 * not NULL) the debug lines left out by the bounds.
 */
guint mom_explanation_dropped(const MomExplanation *explanation, guint *debug);

/* ---- policy sets ------------------------------------------------------- */

typedef struct _MomPolicySet MomPolicySet;

/*
 * Evaluation limits; a zero field means the default.  Each bounds one run
 * (all policies together), and a run that reaches one is aborted with an
 * error at the node being evaluated: none is confined to one guest.
 */
typedef struct {
    guint max_depth;     /* nested user-function calls, default 1000 */
    guint64 max_steps;   /* evaluation steps per run, default 10 000 000; creating or
                          * comparing strings and lists costs one more step for
                          * every MOM_POLICY_STEP_BYTES bytes */
    guint max_ms;        /* wall-clock milliseconds per run; 0 = no deadline */
    gsize max_bytes;     /* bytes of strings and lists a run may create, in total,
                          * default 64 MiB */
    gsize max_var_bytes; /* what SetVar may keep in the host's and guests'
                          * variables together, default 8 MiB */
    /* When not NULL, a run stops soon (within MOM_POLICY_CHECK_STEPS steps)
     * after *interrupt becomes non-zero: set it with g_atomic_int_set(),
     * from a signal handler if need be.  The run is then "interrupted". */
    const volatile gint *interrupt;
} MomPolicyLimits;

#define MOM_POLICY_DEFAULT_MAX_DEPTH 1000
#define MOM_POLICY_DEFAULT_MAX_STEPS 10000000
#define MOM_POLICY_DEFAULT_MAX_BYTES (64 * 1024 * 1024)
#define MOM_POLICY_DEFAULT_MAX_VAR_BYTES (8 * 1024 * 1024)
/* The largest string (in bytes) or list (in items times 16) a run may make. */
#define MOM_POLICY_MAX_SEQUENCE_BYTES (16 * 1024 * 1024)
/* How deep lists may nest in lists. */
#define MOM_POLICY_MAX_LIST_DEPTH 1000
/* Bytes created or compared that cost one evaluation step. */
#define MOM_POLICY_STEP_BYTES 64
/* Steps between two looks at the clock and at the interrupt flag. */
#define MOM_POLICY_CHECK_STEPS 1024
/* The name MOM gives the policy of a single rules file (and setPolicy). */
#define MOM_POLICY_DEFAULT_NAME "50_main_"

/** mom_policy_set_new: Returns: (transfer full) an empty policy set. */
MomPolicySet *mom_policy_set_new(void);
/** mom_policy_set_free: Frees @set and every policy in it. */
void mom_policy_set_free(MomPolicySet *set);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MomPolicySet, mom_policy_set_free)

/** mom_policy_set_set_limits: Sets the evaluation limits used by later runs. */
void mom_policy_set_set_limits(MomPolicySet *set, const MomPolicyLimits *limits);

/**
 * mom_policy_set_copy:
 * Returns: (transfer full) a new set with the same policies (names, file
 * names and texts) and limits as @set, to change and try without touching
 * @set.
 */
MomPolicySet *mom_policy_set_copy(const MomPolicySet *set);

/**
 * mom_policy_set_add_string:
 * Parses @text as the policy @name (shown in messages as @file) and, if it
 * parses, adds it or replaces the policy of that name.  On failure the set
 * is unchanged, @error holds the first diagnostic and, when @diags is not
 * NULL, every diagnostic is appended to it (MomPolicyDiag, owned by the array).
 * Returns: TRUE when the policy was installed.
 */
gboolean mom_policy_set_add_string(MomPolicySet *set, const char *name, const char *file,
                                   const char *text, gssize len, GPtrArray *diags, GError **error);

/**
 * mom_policy_set_add_file:
 * Reads @path and adds it under @name, or under the file's basename without
 * its ".policy" suffix when @name is NULL.  Diagnostics name the file as
 * @path.  Returns: TRUE when the policy was installed.
 */
gboolean mom_policy_set_add_file(MomPolicySet *set, const char *path, const char *name,
                                 GPtrArray *diags, GError **error);

/**
 * mom_policy_set_add_dir:
 * Adds every "*.policy" file of @dir (not recursive, hidden files skipped).
 * A file that does not parse is skipped with its diagnostics in @diags and
 * the others are still added, as MOM does.  Returns: FALSE when the
 * directory cannot be read or any file was rejected.
 */
gboolean mom_policy_set_add_dir(MomPolicySet *set, const char *dir, GPtrArray *diags,
                                GError **error);

/** mom_policy_set_remove: Returns: TRUE when the policy @name existed and was removed. */
gboolean mom_policy_set_remove(MomPolicySet *set, const char *name);
/** mom_policy_set_clear: Removes every policy. */
void mom_policy_set_clear(MomPolicySet *set);
/* The names a policy may be given through the control API, in words for
 * messages.  Names from the files of a policy directory are not held to it. */
#define MOM_POLICY_NAME_RULE                                                                       \
    "1 to 64 characters: letters, digits, '-', '_' and '.', the first not a '.'"
/**
 * mom_policy_name_valid:
 * Returns: TRUE when @name follows MOM_POLICY_NAME_RULE, a set that needs
 * no escaping in a log line, a file name or a terminal.
 */
gboolean mom_policy_name_valid(const char *name);
/** mom_policy_set_names: Returns: (transfer container) the policy names in evaluation order. */
GPtrArray *mom_policy_set_names(const MomPolicySet *set);
/** mom_policy_set_get_text: Returns: (transfer none) the source of policy @name, or NULL. */
const char *mom_policy_set_get_text(const MomPolicySet *set, const char *name);

/* The outcome of one evaluation. */
typedef struct {
    gboolean ok;          /* FALSE when an error outside any guest iteration aborted the run */
    GPtrArray *errors;    /* MomPolicyDiag: the aborting error and per-guest errors */
    GPtrArray *debug;     /* MomPolicyDiag (severity DEBUG): one per (debug ...) call,
                           * with MOM_POLICY_EVAL_KEEP_DEBUG */
    GArray *results;      /* MomValue: top-level results in order, if asked for */
    guint64 steps;        /* evaluation steps used */
    gsize bytes;          /* bytes of strings and lists created */
    gboolean interrupted; /* aborted because MomPolicyLimits.interrupt was set */
} MomPolicyRun;

/** mom_policy_run_free: Frees @run. */
void mom_policy_run_free(MomPolicyRun *run);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MomPolicyRun, mom_policy_run_free)

typedef enum {
    MOM_POLICY_EVAL_NONE = 0,
    MOM_POLICY_EVAL_KEEP_RESULTS = 1 << 0, /* fill MomPolicyRun.results */
    /* fill MomPolicyRun.debug; without it (debug ...) only returns its last
     * value, so a daemon not logging at debug level pays nothing for it */
    MOM_POLICY_EVAL_KEEP_DEBUG = 1 << 1,
    /* keep, per entity, what the policies read and the debug lines they
     * wrote for it (mom_entity_explanation()); the debug lines then go
     * to MomPolicyRun.debug only with MOM_POLICY_EVAL_KEEP_DEBUG too */
    MOM_POLICY_EVAL_EXPLAIN = 1 << 2,
} MomPolicyEvalFlags;

/**
 * mom_policy_set_evaluate:
 * Evaluates every policy of @set in name order, from a fresh global scope,
 * with Host bound to @host and Guests to @guests (MomEntity pointers, not
 * owned).  The entities' controls and errors are replaced by this run's.
 * When the run aborts, every entity's controls are cleared: nothing is
 * half-applied.  Returns: (transfer full) the outcome, never NULL.
 */
MomPolicyRun *mom_policy_set_evaluate(MomPolicySet *set, MomEntity *host, GPtrArray *guests,
                                      MomPolicyEvalFlags flags);

G_END_DECLS
