/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The tree-walking evaluator.
 *
 * Scoping is dynamic, as in MOM, and implemented by shallow binding: every
 * atom has a "top" index into one binding stack, and each binding links to
 * the binding it shadows.  A lookup is then one array access, and leaving a
 * scope pops its bindings.  Errors propagate as FALSE returns; the first
 * error of a run is kept with its location and a short call trace.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "policy-builtins.h"
#include "policy-entity.h"
#include "policy-eval.h"

/* The evaluator recurses on the C stack; stop well before it runs out.
 * (Bracket nesting is bounded by the parser, so only calls can go deep.) */
#define STACK_BUDGET (4u << 20)
/* Strings and lists made by + and * are bounded so a policy cannot eat
 * the daemon's memory. */
#define MAX_SEQUENCE_BYTES ((gsize)MOM_POLICY_MAX_SEQUENCE_BYTES)
#define MAX_LIST_ITEMS (MAX_SEQUENCE_BYTES / sizeof(MomValue))
/* Freeing, printing, comparing and measuring a list recurse into the lists
 * it holds, on the C stack: a list nested a million deep (a `with` of a
 * `with` ... in a loop) crashed momd when it was freed. */
#define MAX_LIST_DEPTH MOM_POLICY_MAX_LIST_DEPTH
/* (debug ...) lines kept per run, and their bytes; the rest are counted.
 * Not charged as steps: a run must not fail only at debug verbosity. */
#define MAX_DEBUG_LINES 10000
#define MAX_DEBUG_LINE_BYTES (64 * 1024)
#define MAX_DEBUG_BYTES (16 * 1024 * 1024)
/* Call sites shown under a runtime error. */
#define MAX_TRACE 4
/* Explanations: the reads kept for the global assignments being computed,
 * and, per run, for the global variables (what each was computed from). */
#define MAX_PENDING_READS 4096
#define MAX_VARIABLE_READS 16384

typedef struct {
    MomValue v;
    guint atom;
    int prev; /* the binding this one shadows, or -1 */
    guint frame;
    guint deps;             /* a global's inputs: the first of ev->deps (explanations) */
    guint n_deps;           /* and how many */
    const MomEntity *noted; /* the last entity whose explanation has it */
} Binding;

/* An input on its way to the explanations: to the entity being evaluated,
 * and to the global assignments whose values are being computed. */
typedef struct {
    MomInputKind kind;
    const MomEntity *source; /* NULL: a global variable */
    gconstpointer key;       /* tells inputs apart (mom_explanation_add_input()) */
    const char *name;        /* the schema's or the atom table's: valid for the run */
    MomValue value;
} Read;

typedef struct {
    guint atom;
    guint n_params;
    guint *params;
    MomNode *body;
    MomNode *def; /* where it was defined */
} Func;

typedef struct {
    MomEntity *entity;
    char *name;
    gboolean had_old;
    MomControl old;
} JournalEntry;

typedef struct {
    const MomNode *site;
    guint atom;
} CallSite;

struct _MomEval {
    /* what the current run evaluates, lent by the set; NULL between runs */
    const MomEvalProgram *program;
    GArray *bindings; /* Binding */
    GArray *frames;   /* guint: first binding index of each open scope */
    int *top;         /* atom -> innermost binding, or -1 */
    guint n_atoms;
    Func **funcs; /* atom -> function defined this run */
    GPtrArray *func_store;
    GArray *journal; /* JournalEntry, while inside a guest iteration */
    guint isolation;
    GArray *calls; /* CallSite */
    guint64 steps;
    guint64 max_steps;
    guint64 check_at; /* the step count at which the limits are next checked */
    guint max_depth;
    guint max_ms;
    gint64 deadline; /* monotonic µs, or 0 */
    const volatile gint *interrupt;
    gsize bytes; /* of strings and lists made this run */
    gsize max_bytes;
    gsize var_bytes; /* SetVar storage of the run's entities together */
    gsize max_var_bytes;
    gsize debug_bytes;
    const char *stack_base;
    MomPolicyRun *run;
    MomPolicyEvalFlags flags;
    guint debug_dropped;
    guint debug_lines;
    /* explanations (MOM_POLICY_EVAL_EXPLAIN) */
    gboolean explain;
    MomEntity *subject; /* the guest of the current with-iteration, else the host */
    guint tracking;     /* global assignments whose values are being computed */
    GArray *trace;      /* Read: what those values read so far */
    GArray *deps;       /* Read: what each global variable was computed from */
    GPtrArray *files;   /* file index -> its interned name, or NULL; per run */
    /* the pending error */
    gboolean failed;
    gboolean fatal; /* a limit was hit: not confined to one guest */
    MomPolicyDiag *error;
    GPtrArray *notes;
    /* atoms known in advance */
    guint a_nil, a_abs, a_debug, a_host, a_guests;
    guint a_methods[MOM_FN_GET_VAR + 1];
};

static gboolean eval(MomEval *ev, const MomNode *n, MomValue *out);

/* ---- errors ---------------------------------------------------------------- */

static const char *
atom_name(MomEval *ev, guint atom)
{
    return g_ptr_array_index(ev->program->atom_names, atom);
}

/* Policy file @file of the program: its name and text (NULL when gone). */
static const MomEvalFile *
eval_file(MomEval *ev, guint file)
{
    static const MomEvalFile none = {"", NULL};

    return file < ev->program->files->len ? &g_array_index(ev->program->files, MomEvalFile, file)
                                          : &none;
}

static MomPolicyDiag *
diag_at(MomEval *ev, MomDiagSeverity severity, const MomNode *n, char *message)
{
    const MomEvalFile *f = eval_file(ev, n->file);

    return mom_diag_new(severity, f->name, f->text, n->line, n->col, n->end_col, message);
}

static gboolean G_GNUC_PRINTF(3, 4) fail(MomEval *ev, const MomNode *n, const char *fmt, ...)
{
    va_list ap;

    if (ev->failed)
        return FALSE;
    va_start(ap, fmt);
    char *message = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    ev->failed = TRUE;
    ev->error = diag_at(ev, MOM_DIAG_ERROR, n, message);
    ev->notes = g_ptr_array_new_with_free_func((GDestroyNotify)mom_policy_diag_free);
    /* The call trace, innermost first; a run of identical call sites (a
     * recursion) is shown once with its count. */
    for (guint i = ev->calls->len, shown = 0; i-- > 0 && shown < MAX_TRACE; shown++) {
        const CallSite *c = &g_array_index(ev->calls, CallSite, i);
        guint same = 0;
        while (i > 0 && g_array_index(ev->calls, CallSite, i - 1).site == c->site) {
            same++;
            i--;
        }
        char *note = same ? g_strdup_printf("in the call of function '%s' from here, repeated %u "
                                            "more time%s",
                                            atom_name(ev, c->atom), same, same == 1 ? "" : "s")
                          : g_strdup_printf("in the call of function '%s' from here",
                                            atom_name(ev, c->atom));
        g_ptr_array_add(ev->notes, diag_at(ev, MOM_DIAG_NOTE, c->site, note));
    }
    return FALSE;
}

#define fail_fatal(ev, n, ...) (fail(ev, n, __VA_ARGS__), (ev)->fatal = TRUE, FALSE)

/* ---- budgets ------------------------------------------------------------------ */

/*
 * Called when the step count reaches ev->check_at: at the step limit, and
 * every MOM_POLICY_CHECK_STEPS steps in between, when the clock and the
 * interrupt flag are read.  Everything that costs more than a step's worth
 * charges extra steps, so no stretch between two checks takes long.
 */
static gboolean
check_limits(MomEval *ev, const MomNode *n)
{
    if (ev->steps > ev->max_steps)
        return fail_fatal(
            ev, n, "the run took more than the limit of %" G_GUINT64_FORMAT " evaluation steps",
            ev->max_steps);
    if (ev->interrupt && g_atomic_int_get(ev->interrupt)) {
        ev->run->interrupted = TRUE;
        return fail_fatal(ev, n, "the run was interrupted: a stop or a reload was requested");
    }
    if (ev->deadline && g_get_monotonic_time() > ev->deadline)
        return fail_fatal(ev, n, "the run took more than the limit of %u ms", ev->max_ms);
    ev->check_at = MIN(ev->steps + MOM_POLICY_CHECK_STEPS, ev->max_steps + 1);
    return TRUE;
}

/* Charges @steps more steps for work that costs more than one. */
static gboolean
charge_steps(MomEval *ev, const MomNode *n, guint64 steps)
{
    ev->steps += steps;
    return G_LIKELY(ev->steps < ev->check_at) || check_limits(ev, n);
}

/* Charges @bytes about to be made or kept: against the run's memory
 * budget, and one step per MOM_POLICY_STEP_BYTES for the copying. */
static gboolean
charge_bytes(MomEval *ev, const MomNode *n, gsize bytes)
{
    if (bytes > ev->max_bytes - ev->bytes)
        return fail_fatal(ev, n,
                          "the strings, lists and controls of this run would take more than "
                          "the limit of %" G_GSIZE_FORMAT " bytes",
                          ev->max_bytes);
    ev->bytes += bytes;
    return charge_steps(ev, n, bytes / MOM_POLICY_STEP_BYTES);
}

static void
clear_error(MomEval *ev)
{
    ev->failed = FALSE;
    ev->fatal = FALSE;
    g_clear_pointer(&ev->error, mom_policy_diag_free);
    g_clear_pointer(&ev->notes, g_ptr_array_unref);
}

/* Moves the pending error (and its notes) into @errors, naming @entity. */
static MomPolicyDiag *
take_error(MomEval *ev, const char *entity, GPtrArray *errors)
{
    MomPolicyDiag *d = g_steal_pointer(&ev->error);

    d->entity = g_strdup(entity);
    g_ptr_array_add(errors, d);
    for (guint i = 0; i < ev->notes->len; i++)
        g_ptr_array_add(errors, g_steal_pointer(&g_ptr_array_index(ev->notes, i)));
    clear_error(ev);
    return d;
}

/* ---- scopes ----------------------------------------------------------------- */

static void
scope_enter(MomEval *ev)
{
    guint start = ev->bindings->len;
    g_array_append_val(ev->frames, start);
}

static void
scope_leave(MomEval *ev)
{
    guint start = g_array_index(ev->frames, guint, ev->frames->len - 1);

    for (guint i = ev->bindings->len; i-- > start;) {
        Binding *b = &g_array_index(ev->bindings, Binding, i);
        ev->top[b->atom] = b->prev;
        mom_value_clear(&b->v);
    }
    g_array_set_size(ev->bindings, start);
    g_array_set_size(ev->frames, ev->frames->len - 1);
}

static guint
current_frame(MomEval *ev)
{
    return ev->frames->len;
}

/* defvar: binds in the innermost scope unless the name is already there.
 * Takes @v; returns a new reference to the value the name now has. */
static MomValue
scope_defvar(MomEval *ev, guint atom, MomValue v)
{
    int t = ev->top[atom];

    if (t >= 0 && g_array_index(ev->bindings, Binding, t).frame == current_frame(ev)) {
        mom_value_clear(&v);
        return mom_value_copy(&g_array_index(ev->bindings, Binding, t).v);
    }
    Binding b = {v, atom, t, current_frame(ev), 0, 0, NULL};
    g_array_append_val(ev->bindings, b);
    ev->top[atom] = (int)ev->bindings->len - 1;
    return mom_value_copy(&v);
}

/* ---- explanations ------------------------------------------------------------ */

static void
reads_clear(GArray *reads, guint from)
{
    for (guint i = from; i < reads->len; i++)
        mom_value_clear(&g_array_index(reads, Read, i).value);
    g_array_set_size(reads, from);
}

/* Passes an input on: to the explanation of the entity being evaluated,
 * and, but for an entity variable (its name is no stable pointer), to the
 * global assignments being computed. */
static void
note_read(MomEval *ev, MomInputKind kind, const MomEntity *source, gconstpointer key,
          const char *name, const MomValue *v)
{
    if (ev->tracking && kind != MOM_INPUT_ENTITY_VAR && ev->trace->len < MAX_PENDING_READS) {
        Read r = {kind, source, key, name, mom_value_copy(v)};
        g_array_append_val(ev->trace, r);
    }
    if (ev->subject)
        mom_explanation_add_input(mom_entity_explain(ev->subject), kind, source, key, name,
                                  ev->program->atom_names, v);
}

/* A global variable read: the variable, then what it was computed from.
 * Read again for the same entity it is skipped (the first read wins), but
 * for the global assignments being computed. */
static void
note_global(MomEval *ev, Binding *b)
{
    if (b->v.type == MOM_VALUE_FUNCTION || b->v.type == MOM_VALUE_ENTITY ||
        b->atom == ev->a_guests || (b->noted == ev->subject && !ev->tracking))
        return;
    b->noted = ev->subject;
    const char *name = atom_name(ev, b->atom);
    note_read(ev, MOM_INPUT_VARIABLE, NULL, name, name, &b->v);
    for (guint i = 0; i < b->n_deps; i++) {
        const Read *r = &g_array_index(ev->deps, Read, b->deps + i);
        note_read(ev, r->kind, r->source, r->key, r->name, &r->value);
    }
}

/* Field @index of @e read (@kind: newest or average).  The entity's own
 * fields read again are skipped at once: a policy reads balloon_cur of a
 * guest a dozen times. */
static void
note_field(MomEval *ev, MomInputKind kind, MomEntity *e, int index, const MomValue *v)
{
    if (e == ev->subject && index < 64) {
        guint64 *seen = &mom_entity_explain(e)->seen_fields[kind == MOM_INPUT_AVERAGE];
        guint64 bit = G_GUINT64_CONSTANT(1) << index;
        if ((*seen & bit) && !ev->tracking)
            return;
        *seen |= bit;
    }
    const char *field = mom_schema_field(e->schema, (guint)index);
    note_read(ev, kind, e, field, field, v);
}

/* The global @b was just assigned a value that read the trace from @mark
 * on: that is what it was computed from (once each, bounded). */
static void
set_deps(MomEval *ev, Binding *b, guint mark)
{
    guint start = ev->deps->len;

    b->deps = start;
    b->n_deps = 0;
    for (guint i = mark; i < ev->trace->len && b->n_deps < MOM_EXPLANATION_MAX_INPUTS &&
                         ev->deps->len < MAX_VARIABLE_READS;
         i++) {
        const Read *r = &g_array_index(ev->trace, Read, i);
        gboolean seen = FALSE;
        for (guint k = start; k < ev->deps->len && !seen; k++) {
            const Read *o = &g_array_index(ev->deps, Read, k);
            seen = o->kind == r->kind && o->source == r->source && o->key == r->key;
        }
        if (seen)
            continue;
        Read copy = *r;
        copy.value = mom_value_copy(&r->value);
        g_array_append_val(ev->deps, copy);
        b->n_deps++;
    }
}

/* ---- entities ---------------------------------------------------------------- */

/* Resolves @member of the value @v: an entity's method or declared field.
 * Returns FALSE when @v has no such member, so the lookup goes on outward. */
static gboolean
record_member(MomEval *ev, const MomValue *v, guint member, MomValue *out)
{
    MomRecord *r = v->u.r;
    const char *name = atom_name(ev, member);

    for (guint k = 0; k < r->setters->len; k++) {
        if (strcmp(g_array_index(r->setters, MomRecordSetter, k).method, name) == 0) {
            *out = (MomValue){.type = MOM_VALUE_FUNCTION,
                              .fn = (guint16)(MOM_FN_RECORD_SET + k),
                              .u.r = mom_record_ref(r)};
            return TRUE;
        }
    }
    const MomValue *m = mom_record_get(r, name);
    if (!m)
        return FALSE;
    *out = mom_value_copy(m);
    return TRUE;
}

static gboolean
member_of(MomEval *ev, const MomValue *v, const MomNode *sym, MomValue *out)
{
    if (v->type == MOM_VALUE_RECORD)
        return record_member(ev, v, sym->u.sym.member, out);
    if (v->type != MOM_VALUE_ENTITY)
        return FALSE;
    guint member = sym->u.sym.member;
    for (guint fn = MOM_FN_STAT; fn <= MOM_FN_GET_VAR; fn++) {
        if (ev->a_methods[fn] == member) {
            *out = (MomValue){.type = MOM_VALUE_FUNCTION, .fn = (guint16)fn, .u.e = v->u.e};
            return TRUE;
        }
    }
    MomEntity *e = v->u.e;
    MomNode *cache = (MomNode *)sym; /* the per-node schema cache is not policy state */
    /* the serial, not just the address: a freed schema's memory may be reused */
    if (cache->u.sym.cache_schema != e->schema ||
        cache->u.sym.cache_serial != mom_schema_serial(e->schema)) {
        cache->u.sym.cache_schema = e->schema;
        cache->u.sym.cache_serial = mom_schema_serial(e->schema);
        cache->u.sym.cache_index = mom_schema_lookup(e->schema, atom_name(ev, member));
    }
    if (cache->u.sym.cache_index < 0)
        return FALSE;
    *out = mom_value_copy(mom_entity_stat(e, (guint)cache->u.sym.cache_index));
    if (G_UNLIKELY(ev->explain))
        note_field(ev, MOM_INPUT_FIELD, e, cache->u.sym.cache_index, out);
    return TRUE;
}

/* Looks @sym up as a variable, MOM's way: "a.b" finds the innermost "a"
 * that has a member "b".  Returns FALSE (no error set) when nothing matches. */
static gboolean
lookup(MomEval *ev, const MomNode *sym, MomValue *out)
{
    int t = ev->top[sym->u.sym.base];

    if (sym->u.sym.member == 0) {
        if (t < 0)
            return FALSE;
        Binding *b = &g_array_index(ev->bindings, Binding, t);
        *out = mom_value_copy(&b->v);
        if (G_UNLIKELY(ev->explain) && b->frame == 0)
            note_global(ev, b);
        return TRUE;
    }
    /* Nested scopes can shadow a name thousands of times: the links walked
     * are steps too (checked at the next one). */
    for (; t >= 0; t = g_array_index(ev->bindings, Binding, t).prev, ev->steps++)
        if (member_of(ev, &g_array_index(ev->bindings, Binding, t).v, sym, out))
            return TRUE;
    return FALSE;
}

static const char *
entity_label(const MomEntity *e)
{
    return e->kind == MOM_ENTITY_HOST ? "Host" : e->name;
}

static gboolean
field_arg(MomEval *ev, const MomNode *n, MomEntity *e, const char *method, const MomValue *arg,
          int *index)
{
    if (arg->type != MOM_VALUE_STRING)
        return fail(ev, n, "'%s.%s' needs a field name string, got %s", entity_label(e), method,
                    mom_value_type_name(arg->type));
    *index = mom_schema_lookup(e->schema, arg->u.s->data);
    if (*index < 0)
        return fail(ev, n, "%s%s has no field \"%s\"", e->kind == MOM_ENTITY_HOST ? "" : "guest ",
                    entity_label(e), arg->u.s->data);
    return TRUE;
}

static gboolean
name_arg(MomEval *ev, const MomNode *n, MomEntity *e, const char *method, const char *what,
         const MomValue *arg)
{
    if (arg->type != MOM_VALUE_STRING)
        return fail(ev, n, "'%s.%s' needs a %s name string, got %s", entity_label(e), method, what,
                    mom_value_type_name(arg->type));
    return TRUE;
}

static void
journal_clear_entry(JournalEntry *j)
{
    g_free(j->name);
    if (j->had_old) {
        g_free(j->old.name);
        mom_value_clear(&j->old.value);
    }
}

static gboolean
set_control(MomEval *ev, const MomNode *n, MomEntity *e, const char *name, const MomValue *v)
{
    if (e->failed)
        return TRUE; /* this guest's controls are discarded for the cycle */
    /* A control outlives the run (getControls, snapshots show it): its
     * written-out size counts against the run's budget, and so does the
     * search among the entity's controls. */
    gsize size = mom_value_flat_size(v, ev->max_bytes - ev->bytes);
    if (!charge_steps(ev, n, e->controls->len / 4) || !charge_bytes(ev, n, size))
        return FALSE;
    int i = mom_entity_find_control(e, name);
    if (i < 0 && !charge_bytes(ev, n, sizeof(MomControl) + strlen(name)))
        return FALSE;
    if (ev->isolation > 0) {
        JournalEntry j = {e, g_strdup(name), i >= 0, {0}};
        if (i >= 0) {
            MomControl *c = &g_array_index(e->controls, MomControl, i);
            j.old = *c;
            j.old.name = g_strdup(c->name);
            j.old.value = mom_value_copy(&c->value);
            j.old.outcome = NULL; /* only controllers set outcomes, after the run */
        }
        g_array_append_val(ev->journal, j);
    }
    /* interned: the control outlives the policy set (a reload replaces the
     * set while momctl controls still shows the last cycle) */
    MomControl c = {NULL, mom_value_copy(v), g_intern_string(eval_file(ev, n->file)->name), n->line,
                    n->col};
    if (i >= 0) {
        MomControl *old = &g_array_index(e->controls, MomControl, i);
        mom_value_clear(&old->value);
        old->value = c.value;
        old->file = c.file;
        old->line = c.line;
        old->col = c.col;
    } else {
        c.name = g_strdup(name);
        g_array_append_val(e->controls, c);
    }
    return TRUE;
}

/* Undoes the controls set since journal position @mark. */
static void
journal_rollback(MomEval *ev, guint mark)
{
    for (guint k = ev->journal->len; k-- > mark;) {
        JournalEntry *j = &g_array_index(ev->journal, JournalEntry, k);
        int i = mom_entity_find_control(j->entity, j->name);
        if (j->had_old && i >= 0) {
            MomControl *c = &g_array_index(j->entity->controls, MomControl, i);
            mom_value_clear(&c->value);
            c->value = j->old.value;
            c->file = j->old.file;
            c->line = j->old.line;
            c->col = j->old.col;
            j->old.value = (MomValue)MOM_VALUE_INIT;
        } else if (i >= 0) {
            g_array_remove_index(j->entity->controls, i);
        }
        journal_clear_entry(j);
    }
    g_array_set_size(ev->journal, mark);
}

static void
journal_drop(MomEval *ev)
{
    for (guint k = 0; k < ev->journal->len; k++)
        journal_clear_entry(&g_array_index(ev->journal, JournalEntry, k));
    g_array_set_size(ev->journal, 0);
}

/* The name of policy file @file, interned: explanations outlive the set.
 * Looked up once a run per file. */
static const char *
interned_file(MomEval *ev, guint file)
{
    if (file >= ev->files->len)
        g_ptr_array_set_size(ev->files, (gint)file + 1);
    if (!ev->files->pdata[file])
        ev->files->pdata[file] = (gpointer)g_intern_string(eval_file(ev, file)->name);
    return ev->files->pdata[file];
}

/* A (debug ...) line: into the run's list (MOM_POLICY_EVAL_KEEP_DEBUG) and
 * into the explanation of the entity being evaluated (_EXPLAIN), within
 * the run's bounds and the explanation's. */
static gboolean
add_debug(MomEval *ev, const MomNode *n, MomValue *args, guint n_args)
{
    gboolean keep = (ev->flags & MOM_POLICY_EVAL_KEEP_DEBUG) != 0;
    MomExplanation *x = ev->subject ? mom_entity_explain(ev->subject) : NULL;

    if (!keep && !x)
        return TRUE;
    if (ev->debug_lines >= MAX_DEBUG_LINES || ev->debug_bytes >= MAX_DEBUG_BYTES) {
        ev->debug_dropped += keep;
        if (x)
            x->dropped_debug++;
        return TRUE;
    }
    if (!keep && mom_explanation_n_debug(x) >= MOM_EXPLANATION_MAX_DEBUG_LINES) {
        x->dropped_debug++; /* not worth formatting */
        return TRUE;
    }
    GString *msg = g_string_new(NULL);
    for (guint i = 0; i < n_args && msg->len < MAX_DEBUG_LINE_BYTES; i++) {
        if (i)
            g_string_append_c(msg, ' ');
        mom_value_repr_bounded(&args[i], FALSE, msg,
                               MAX_DEBUG_LINE_BYTES - MIN(msg->len, MAX_DEBUG_LINE_BYTES));
    }
    ev->debug_lines++;
    ev->debug_bytes += msg->len;
    char *text = g_string_free(msg, FALSE);
    if (x)
        mom_explanation_add_debug(x, interned_file(ev, n->file), n->line, n->col,
                                  keep ? g_strdup(text) : text);
    if (keep)
        g_ptr_array_add(ev->run->debug, diag_at(ev, MOM_DIAG_DEBUG, n, text));
    return TRUE;
}

/* SetVar: the variables of every entity of the run share one budget, as
 * they stay in momd's memory and in every snapshot for good. */
static gboolean
set_var(MomEval *ev, const MomNode *n, MomEntity *e, const char *name, const MomValue *v)
{
    gsize others = ev->var_bytes - MIN(ev->var_bytes, mom_entity_var_size(e, name));
    gsize room = ev->max_var_bytes - MIN(others, ev->max_var_bytes);
    gsize size = strlen(name) + mom_value_flat_size(v, room);

    if (!charge_steps(ev, n, MIN(size, room) / MOM_POLICY_STEP_BYTES))
        return FALSE;
    if (size > room)
        return fail_fatal(ev, n,
                          "'%s.SetVar' of \"%s\" would make the variables of the host and the "
                          "guests take more than the limit of %" G_GSIZE_FORMAT " bytes",
                          entity_label(e), name, ev->max_var_bytes);
    ev->var_bytes = others + size;
    mom_entity_set_var_sized(e, name, v, size);
    return TRUE;
}

static const char *const native_usage[] = {
    [MOM_FN_ABS] = "(abs NUMBER)",
    [MOM_FN_DEBUG] = "(debug VALUE...)",
    [MOM_FN_STAT] = "(E.Stat \"field\")",
    [MOM_FN_STAT_AVG] = "(E.StatAvg \"field\")",
    [MOM_FN_PROP] = "(E.Prop \"name\")",
    [MOM_FN_CONTROL] = "(E.Control \"name\" VALUE)",
    [MOM_FN_GET_CONTROL] = "(E.GetControl \"name\")",
    [MOM_FN_SET_VAR] = "(E.SetVar \"name\" VALUE)",
    [MOM_FN_GET_VAR] = "(E.GetVar \"name\")",
};

static gboolean builtin_abs(MomEval *ev, const MomNode *n, const MomValue *x, MomValue *out);

/* Calls a native function value with evaluated arguments. */
static gboolean
call_native(MomEval *ev, const MomNode *n, const MomValue *fnv, MomValue *args, guint n_args,
            MomValue *out)
{
    static const guint8 arity[] = {
        [MOM_FN_ABS] = 1,     [MOM_FN_STAT] = 1,        [MOM_FN_STAT_AVG] = 1, [MOM_FN_PROP] = 1,
        [MOM_FN_CONTROL] = 2, [MOM_FN_GET_CONTROL] = 1, [MOM_FN_SET_VAR] = 2,  [MOM_FN_GET_VAR] = 1,
    };
    guint fn = fnv->fn;
    MomEntity *e = fnv->u.e;
    int index = -1;

    if (fn >= MOM_FN_RECORD_SET) {
        MomRecord *r = fnv->u.r;
        guint k = fn - MOM_FN_RECORD_SET;
        const MomRecordSetter *st = &g_array_index(r->setters, MomRecordSetter, k);
        if (n_args != 1)
            return fail(ev, n, "'%s' takes exactly 1 argument, got %u", st->method, n_args);
        if (!r->owner)
            return fail(ev, n, "'%s' has no entity to set '%s' on", st->method, st->control);
        if (!set_control(ev, n, r->owner, st->control, &args[0]))
            return FALSE;
        *out = mom_value_nil();
        return TRUE;
    }
    if (fn == MOM_FN_DEBUG) {
        if (n_args == 0)
            return fail(ev, n, "'debug' takes at least 1 argument, got 0; usage: %s",
                        native_usage[fn]);
        add_debug(ev, n, args, n_args);
        *out = mom_value_copy(&args[n_args - 1]);
        return TRUE;
    }
    if (n_args != arity[fn]) {
        /* "(E.Stat ...)" names the method Stat; say "Host.Stat" */
        const char *method = native_usage[fn] + 3;
        g_autofree char *name =
            fn == MOM_FN_ABS
                ? g_strdup("abs")
                : g_strdup_printf("%s.%.*s", entity_label(e), (int)strcspn(method, " "), method);
        return fail(ev, n, "'%s' takes exactly %u argument%s, got %u; usage: %s", name, arity[fn],
                    arity[fn] == 1 ? "" : "s", n_args, native_usage[fn]);
    }

    switch ((MomNativeFn)fn) {
    case MOM_FN_ABS:
        return builtin_abs(ev, n, &args[0], out);
    case MOM_FN_STAT:
        if (!field_arg(ev, n, e, "Stat", &args[0], &index))
            return FALSE;
        *out = mom_value_copy(mom_entity_stat(e, (guint)index));
        if (ev->explain)
            note_field(ev, MOM_INPUT_FIELD, e, index, out);
        return TRUE;
    case MOM_FN_STAT_AVG:
        /* the history may be 100 000 samples long */
        if (!field_arg(ev, n, e, "StatAvg", &args[0], &index) ||
            !charge_steps(ev, n, mom_entity_n_samples(e) / 8))
            return FALSE;
        *out = mom_value_float(mom_entity_stat_avg(e, (guint)index));
        if (ev->explain)
            note_field(ev, MOM_INPUT_AVERAGE, e, index, out);
        return TRUE;
    case MOM_FN_PROP: {
        if (!name_arg(ev, n, e, "Prop", "property", &args[0]))
            return FALSE;
        const MomValue *p = mom_entity_get_prop(e, args[0].u.s->data);
        if (!p)
            return fail(ev, n, "%s%s has no property \"%s\"",
                        e->kind == MOM_ENTITY_HOST ? "" : "guest ", entity_label(e),
                        args[0].u.s->data);
        *out = mom_value_copy(p);
        return TRUE;
    }
    case MOM_FN_CONTROL:
        if (!name_arg(ev, n, e, "Control", "control", &args[0]))
            return FALSE;
        if (!set_control(ev, n, e, args[0].u.s->data, &args[1]))
            return FALSE;
        *out = mom_value_nil();
        return TRUE;
    case MOM_FN_GET_CONTROL: {
        if (!name_arg(ev, n, e, "GetControl", "control", &args[0]))
            return FALSE;
        const MomValue *c = mom_entity_get_control(e, args[0].u.s->data);
        *out = c ? mom_value_copy(c) : mom_value_nil();
        return TRUE;
    }
    case MOM_FN_SET_VAR:
        if (!name_arg(ev, n, e, "SetVar", "variable", &args[0]) ||
            !set_var(ev, n, e, args[0].u.s->data, &args[1]))
            return FALSE;
        *out = mom_value_nil();
        return TRUE;
    case MOM_FN_GET_VAR: {
        if (!name_arg(ev, n, e, "GetVar", "variable", &args[0]))
            return FALSE;
        const MomValue *v = mom_entity_get_var(e, args[0].u.s->data);
        *out = v ? mom_value_copy(v) : mom_value_nil();
        if (ev->explain)
            note_read(ev, MOM_INPUT_ENTITY_VAR, e, NULL, args[0].u.s->data, out);
        return TRUE;
    }
    case MOM_FN_DEBUG:
    case MOM_FN_RECORD_SET:
        break;
    }
    return fail(ev, n, "internal error: unknown native function %u", fn);
}

/* ---- arithmetic and comparison -------------------------------------------------- */

static gboolean
is_intlike(const MomValue *v)
{
    return v->type == MOM_VALUE_INT || v->type == MOM_VALUE_BOOL;
}

static gboolean
is_number(const MomValue *v)
{
    return is_intlike(v) || v->type == MOM_VALUE_FLOAT;
}

static gint64
as_int(const MomValue *v)
{
    return v->type == MOM_VALUE_BOOL ? (gint64)v->u.b : v->u.i;
}

static double
as_double(const MomValue *v)
{
    return v->type == MOM_VALUE_FLOAT ? v->u.d : (double)as_int(v);
}

static gboolean
type_error(MomEval *ev, const MomNode *n, const char *verb, const MomValue *a, const MomValue *b)
{
    return fail(ev, n, "cannot %s %s and %s", verb, mom_value_type_name(a->type),
                mom_value_type_name(b->type));
}

/* The size cap of one string or list: @bytes is what the result would
 * take (a list's items at sizeof(MomValue) each).  Then the run's budget. */
static gboolean
charge_sequence(MomEval *ev, const MomNode *n, const char *op, gboolean is_string, guint64 bytes)
{
    if (bytes > MAX_SEQUENCE_BYTES) {
        if (is_string)
            return fail_fatal(ev, n,
                              "the string made by '%s' would be longer than the limit of "
                              "%" G_GSIZE_FORMAT " bytes",
                              op, MAX_SEQUENCE_BYTES);
        return fail_fatal(ev, n,
                          "the list made by '%s' would be longer than the limit of "
                          "%" G_GSIZE_FORMAT " items",
                          op, MAX_LIST_ITEMS);
    }
    return charge_bytes(ev, n, (gsize)bytes);
}

static gboolean
repeat(MomEval *ev, const MomNode *n, const MomValue *seq, gint64 count, MomValue *out)
{
    gboolean is_string = seq->type == MOM_VALUE_STRING;
    gsize unit = is_string ? seq->u.s->len : seq->u.l->len * sizeof(MomValue);
    /* an empty sequence repeated any number of times is empty: without
     * this, (* "" 9223372036854775807) would loop 2^63 times */
    if (count < 0 || unit == 0)
        count = 0;
    guint64 bytes = unit > 0 && (guint64)count > MAX_SEQUENCE_BYTES / unit ? G_MAXUINT64
                                                                           : (guint64)count * unit;
    if (!charge_sequence(ev, n, "*", is_string, bytes))
        return FALSE;
    if (is_string) {
        gsize len = seq->u.s->len;
        MomString *s = mom_string_alloc(len * (gsize)count);
        for (gint64 k = 0; k < count; k++)
            memcpy(s->data + len * k, seq->u.s->data, len);
        *out = (MomValue){.type = MOM_VALUE_STRING, .u.s = s};
    } else {
        guint len = seq->u.l->len;
        MomList *l = mom_list_new((guint)(len * count));
        l->depth = seq->u.l->depth;
        for (guint i = 0; i < l->len; i++)
            l->items[i] = mom_value_copy(&seq->u.l->items[i % len]);
        *out = (MomValue){.type = MOM_VALUE_LIST, .u.l = l};
    }
    return TRUE;
}

static gboolean
concat(MomEval *ev, const MomNode *n, const MomValue *a, const MomValue *b, MomValue *out)
{
    if (a->type == MOM_VALUE_STRING) {
        gsize len = (gsize)a->u.s->len + b->u.s->len;
        if (!charge_sequence(ev, n, "+", TRUE, len))
            return FALSE;
        MomString *s = mom_string_alloc(len);
        memcpy(s->data, a->u.s->data, a->u.s->len);
        memcpy(s->data + a->u.s->len, b->u.s->data, b->u.s->len);
        s->data[len] = '\0';
        *out = (MomValue){.type = MOM_VALUE_STRING, .u.s = s};
        return TRUE;
    }
    guint la = a->u.l->len, lb = b->u.l->len;
    if (!charge_sequence(ev, n, "+", FALSE, ((guint64)la + lb) * sizeof(MomValue)))
        return FALSE;
    MomList *l = mom_list_new(la + lb);
    l->depth = MAX(a->u.l->depth, b->u.l->depth);
    for (guint i = 0; i < la; i++)
        l->items[i] = mom_value_copy(&a->u.l->items[i]);
    for (guint i = 0; i < lb; i++)
        l->items[la + i] = mom_value_copy(&b->u.l->items[i]);
    *out = (MomValue){.type = MOM_VALUE_LIST, .u.l = l};
    return TRUE;
}

static gboolean
arith(MomEval *ev, const MomNode *n, guint form, const MomValue *a, const MomValue *b,
      MomValue *out)
{
    static const char *const verbs[] = {[MOM_FORM_ADD] = "add",
                                        [MOM_FORM_SUB] = "subtract",
                                        [MOM_FORM_MUL] = "multiply",
                                        [MOM_FORM_DIV] = "divide"};
    if (is_intlike(a) && is_intlike(b) && form != MOM_FORM_DIV) {
        gint64 x = as_int(a), y = as_int(b), r;
        gboolean overflow = form == MOM_FORM_ADD   ? __builtin_add_overflow(x, y, &r)
                            : form == MOM_FORM_SUB ? __builtin_sub_overflow(x, y, &r)
                                                   : __builtin_mul_overflow(x, y, &r);
        if (overflow)
            return fail(ev, n,
                        "integer overflow: %" G_GINT64_FORMAT " %s %" G_GINT64_FORMAT
                        " does not fit in 64 bits",
                        x, mom_form_get(form)->name, y);
        *out = mom_value_int(r);
        return TRUE;
    }
    if (is_number(a) && is_number(b)) {
        double x = as_double(a), y = as_double(b);
        switch (form) {
        case MOM_FORM_ADD:
            *out = mom_value_float(x + y);
            break;
        case MOM_FORM_SUB:
            *out = mom_value_float(x - y);
            break;
        case MOM_FORM_MUL:
            *out = mom_value_float(x * y);
            break;
        default:
            if (y == 0.0)
                return fail(ev, n, "division by zero");
            if (is_intlike(a) && is_intlike(b))
                *out = mom_value_float((double)((long double)as_int(a) / as_int(b)));
            else
                *out = mom_value_float(x / y);
            break;
        }
        return TRUE;
    }
    if (form == MOM_FORM_ADD && a->type == b->type &&
        (a->type == MOM_VALUE_STRING || a->type == MOM_VALUE_LIST))
        return concat(ev, n, a, b, out);
    if (form == MOM_FORM_MUL) {
        if (is_intlike(a) && (b->type == MOM_VALUE_STRING || b->type == MOM_VALUE_LIST))
            return repeat(ev, n, b, as_int(a), out);
        if (is_intlike(b) && (a->type == MOM_VALUE_STRING || a->type == MOM_VALUE_LIST))
            return repeat(ev, n, a, as_int(b), out);
    }
    return type_error(ev, n, verbs[form], a, b);
}

/* Exact numeric comparison, as Python compares int and float.
 * Returns -1, 0, 1, or 2 when unordered (nan). */
static int
num_cmp(const MomValue *a, const MomValue *b)
{
    if (is_intlike(a) && is_intlike(b)) {
        gint64 x = as_int(a), y = as_int(b);
        return x < y ? -1 : x > y;
    }
    /* long double holds every int64 exactly on the platforms we build for */
    long double x = is_intlike(a) ? (long double)as_int(a) : a->u.d;
    long double y = is_intlike(b) ? (long double)as_int(b) : b->u.d;
    if (isnan(x) || isnan(y))
        return 2;
    return x < y ? -1 : x > y;
}

static int
str_cmp(const MomString *a, const MomString *b)
{
    int c = memcmp(a->data, b->data, MIN(a->len, b->len));
    if (c)
        return c < 0 ? -1 : 1;
    return a->len < b->len ? -1 : a->len > b->len;
}

/* Compares two strings, charging the bytes compared. */
static gboolean
charged_str_cmp(MomEval *ev, const MomNode *n, const MomString *a, const MomString *b, int *cmp)
{
    if (a == b) {
        *cmp = 0;
        return TRUE;
    }
    if (!charge_steps(ev, n, MIN(a->len, b->len) / MOM_POLICY_STEP_BYTES))
        return FALSE;
    *cmp = str_cmp(a, b);
    return TRUE;
}

/* Sets @eq to whether @a == @b.  Returns FALSE (error set) at a limit: two
 * lists that share their items can take very long to compare. */
static gboolean
values_equal(MomEval *ev, const MomNode *n, const MomValue *a, const MomValue *b, gboolean *eq)
{
    int c;

    *eq = FALSE;
    if (is_number(a) && is_number(b)) {
        *eq = num_cmp(a, b) == 0;
        return TRUE;
    }
    if (a->type != b->type)
        return TRUE;
    switch ((MomValueType)a->type) {
    case MOM_VALUE_NIL:
        *eq = TRUE;
        return TRUE;
    case MOM_VALUE_STRING:
        if (!charged_str_cmp(ev, n, a->u.s, b->u.s, &c))
            return FALSE;
        *eq = c == 0;
        return TRUE;
    case MOM_VALUE_LIST:
        if (a->u.l->len != b->u.l->len)
            return TRUE;
        if (!charge_steps(ev, n, a->u.l->len * sizeof(MomValue) / MOM_POLICY_STEP_BYTES))
            return FALSE;
        *eq = TRUE;
        for (guint i = 0; i < a->u.l->len && *eq; i++)
            if (!values_equal(ev, n, &a->u.l->items[i], &b->u.l->items[i], eq))
                return FALSE;
        return TRUE;
    case MOM_VALUE_ENTITY:
        *eq = a->u.e == b->u.e;
        return TRUE;
    case MOM_VALUE_FUNCTION:
        *eq = a->fn == b->fn && a->u.e == b->u.e;
        return TRUE;
    case MOM_VALUE_RECORD:
        *eq = a->u.r == b->u.r;
        return TRUE;
    default:
        return TRUE;
    }
}

/* Orders two values for < > <= >= min max.  Returns FALSE (error set) when
 * they cannot be ordered. */
static gboolean
order(MomEval *ev, const MomNode *n, const char *op, const MomValue *a, const MomValue *b, int *cmp)
{
    if (is_number(a) && is_number(b)) {
        *cmp = num_cmp(a, b);
        return TRUE;
    }
    if (a->type == MOM_VALUE_STRING && b->type == MOM_VALUE_STRING)
        return charged_str_cmp(ev, n, a->u.s, b->u.s, cmp);
    return fail(ev, n, "cannot order %s and %s with '%s'", mom_value_type_name(a->type),
                mom_value_type_name(b->type), op);
}

static gboolean
compare(MomEval *ev, const MomNode *n, guint form, const MomValue *a, const MomValue *b,
        MomValue *out)
{
    int c;

    if (form == MOM_FORM_EQ || form == MOM_FORM_NE) {
        gboolean eq;
        if (!values_equal(ev, n, a, b, &eq))
            return FALSE;
        *out = mom_value_bool(form == MOM_FORM_EQ ? eq : !eq);
        return TRUE;
    }
    if (!order(ev, n, mom_form_get(form)->name, a, b, &c))
        return FALSE;
    gboolean r = FALSE;
    if (c != 2) {
        switch (form) {
        case MOM_FORM_LT:
            r = c < 0;
            break;
        case MOM_FORM_GT:
            r = c > 0;
            break;
        case MOM_FORM_LE:
            r = c <= 0;
            break;
        default:
            r = c >= 0;
            break;
        }
    }
    *out = mom_value_bool(r);
    return TRUE;
}

static gboolean
shift(MomEval *ev, const MomNode *n, guint form, const MomValue *a, const MomValue *b,
      MomValue *out)
{
    const char *op = mom_form_get(form)->name;

    if (!is_intlike(a) || !is_intlike(b))
        return fail(ev, n, "'%s' needs two integers, got %s and %s", op,
                    mom_value_type_name(a->type), mom_value_type_name(b->type));
    gint64 x = as_int(a), c = as_int(b);
    if (c < 0)
        return fail(ev, n, "negative shift count %" G_GINT64_FORMAT, c);
    if (form == MOM_FORM_SHR) {
        *out = mom_value_int(c >= 64 ? (x < 0 ? -1 : 0) : x >> c);
        return TRUE;
    }
    /* x << c fits when x lies in [MIN >> c, MAX >> c]; -1 << 63 is MIN itself. */
    gboolean fits = x == 0 || (c < 63 && x >= (G_MININT64 >> c) && x <= (G_MAXINT64 >> c)) ||
                    (c == 63 && x == -1);
    if (!fits)
        return fail(ev, n,
                    "integer overflow: %" G_GINT64_FORMAT " << %" G_GINT64_FORMAT
                    " does not fit in 64 bits",
                    x, c);
    *out = mom_value_int(x == 0 ? 0 : (gint64)((guint64)x << c));
    return TRUE;
}

static gboolean
builtin_abs(MomEval *ev, const MomNode *n, const MomValue *x, MomValue *out)
{
    if (x->type == MOM_VALUE_FLOAT) {
        *out = mom_value_float(fabs(x->u.d));
        return TRUE;
    }
    if (!is_intlike(x))
        return fail(ev, n, "'abs' needs a number, got %s", mom_value_type_name(x->type));
    gint64 i = as_int(x);
    if (i == G_MININT64)
        return fail(ev, n, "integer overflow: abs(%" G_GINT64_FORMAT ") does not fit in 64 bits",
                    i);
    *out = mom_value_int(i < 0 ? -i : i);
    return TRUE;
}

static gboolean
is_empty(const MomValue *v)
{
    return v->type == MOM_VALUE_NIL || (v->type == MOM_VALUE_STRING && v->u.s->len == 0) ||
           (v->type == MOM_VALUE_LIST && v->u.l->len == 0);
}

/* Forms whose arguments are evaluated first. */
static gboolean
call_function_form(MomEval *ev, const MomNode *n, guint form, MomValue *args, guint n_args,
                   MomValue *out)
{
    switch ((MomFormId)form) {
    case MOM_FORM_ADD:
    case MOM_FORM_SUB:
    case MOM_FORM_MUL:
    case MOM_FORM_DIV:
        return arith(ev, n, form, &args[0], &args[1], out);
    case MOM_FORM_LT:
    case MOM_FORM_GT:
    case MOM_FORM_LE:
    case MOM_FORM_GE:
    case MOM_FORM_EQ:
    case MOM_FORM_NE:
        return compare(ev, n, form, &args[0], &args[1], out);
    case MOM_FORM_SHL:
    case MOM_FORM_SHR:
        return shift(ev, n, form, &args[0], &args[1], out);
    case MOM_FORM_NOT:
        *out = mom_value_bool(!mom_value_truthy(&args[0]));
        return TRUE;
    case MOM_FORM_MIN:
    case MOM_FORM_MAX: {
        guint best = 0;
        for (guint i = 1; i < n_args; i++) {
            int c;
            if (!order(ev, n, mom_form_get(form)->name, &args[i], &args[best], &c))
                return FALSE;
            /* strict, so the first of equal extremes wins */
            if (c != 2 && (form == MOM_FORM_MIN ? c < 0 : c > 0))
                best = i;
        }
        *out = mom_value_copy(&args[best]);
        return TRUE;
    }
    case MOM_FORM_NULL: {
        gboolean all = TRUE;
        for (guint i = 0; i < n_args && all; i++)
            all = is_empty(&args[i]);
        *out = mom_value_bool(all);
        return TRUE;
    }
    case MOM_FORM_VALID: {
        gboolean none_nil = TRUE;
        for (guint i = 0; i < n_args && none_nil; i++)
            none_nil = args[i].type != MOM_VALUE_NIL;
        *out = mom_value_bool(none_nil);
        return TRUE;
    }
    default:
        return fail(ev, n, "internal error: form %u is not a function", form);
    }
}

/* ---- special forms ---------------------------------------------------------------- */

static const MomNode *
arg_node(const MomNode *n, guint i)
{
    return n->u.list.items[i];
}

static const char *
node_kind_name(const MomNode *n)
{
    switch ((MomNodeKind)n->kind) {
    case MOM_NODE_INT:
        return "an integer";
    case MOM_NODE_FLOAT:
        return "a float";
    case MOM_NODE_STRING:
        return "a string";
    case MOM_NODE_SYMBOL:
        return "a symbol";
    case MOM_NODE_OP:
        return "an operator";
    case MOM_NODE_LIST:
        return "a list";
    }
    return "a value";
}

static gboolean
need_symbol(MomEval *ev, const MomNode *form_node, const MomNode *a, const char *form,
            const char *what)
{
    if (a->kind == MOM_NODE_SYMBOL)
        return TRUE;
    return fail(ev, a, "'%s' needs %s here, got %s", form, what, node_kind_name(a));
}

static gboolean
need_list(MomEval *ev, const MomNode *a, const char *form, const char *what)
{
    if (a->kind == MOM_NODE_LIST && a->bracket != '{')
        return TRUE;
    return fail(ev, a, "'%s' needs %s written in ( ) or [ ], got %s", form, what,
                a->kind == MOM_NODE_LIST ? "a { } block" : node_kind_name(a));
}

static gboolean
form_defvar_set(MomEval *ev, const MomNode *n, guint form, MomValue *out)
{
    const char *name = mom_form_get(form)->name;
    const MomNode *sym = arg_node(n, 1);
    MomValue v;

    if (!need_symbol(ev, n, sym, name, "a variable name"))
        return FALSE;
    /* what the value reads is what a global so assigned was computed from */
    guint mark = ev->trace->len;
    ev->tracking += ev->explain;
    gboolean ok = eval(ev, arg_node(n, 2), &v);
    ev->tracking -= ev->explain;
    guint atom = sym->u.sym.atom;
    int t = ev->top[atom];
    if (ok && form == MOM_FORM_DEFVAR) {
        gboolean bound =
            t >= 0 && g_array_index(ev->bindings, Binding, t).frame == current_frame(ev);
        *out = scope_defvar(ev, atom, v);
        if (ev->explain && !bound && current_frame(ev) == 0)
            set_deps(ev, &g_array_index(ev->bindings, Binding, ev->top[atom]), mark);
    } else if (ok && t < 0) {
        mom_value_clear(&v);
        ok = fail(ev, sym, "undefined symbol %s", atom_name(ev, atom));
    } else if (ok) {
        Binding *b = &g_array_index(ev->bindings, Binding, t);
        mom_value_clear(&b->v);
        b->v = v;
        *out = mom_value_copy(&v);
        if (ev->explain && b->frame == 0)
            set_deps(ev, b, mark);
    }
    if (ev->tracking == 0)
        reads_clear(ev->trace, 0);
    return ok;
}

static gboolean
form_def(MomEval *ev, const MomNode *n, guint form, MomValue *out)
{
    const char *fname = mom_form_get(form)->name;
    const MomNode *sym = arg_node(n, 1), *params = arg_node(n, 2);

    if (!need_symbol(ev, n, sym, fname, "a function name") ||
        !need_list(ev, params, fname, "a parameter list"))
        return FALSE;
    for (guint i = 0; i < params->u.list.n; i++) {
        const MomNode *p = params->u.list.items[i];
        if (p->kind != MOM_NODE_SYMBOL)
            return fail(ev, p, "parameter %u of function '%s' must be a name, got %s", i + 1,
                        atom_name(ev, sym->u.sym.atom), node_kind_name(p));
    }
    Func *f = g_new0(Func, 1);
    f->atom = sym->u.sym.atom;
    f->n_params = params->u.list.n;
    f->params = g_new(guint, MAX(f->n_params, 1));
    for (guint i = 0; i < f->n_params; i++)
        f->params[i] = params->u.list.items[i]->u.sym.atom;
    f->body = (MomNode *)arg_node(n, 3);
    f->def = (MomNode *)n;
    g_ptr_array_add(ev->func_store, f);
    ev->funcs[f->atom] = f; /* functions are global, wherever def runs */
    *out = mom_value_string(atom_name(ev, f->atom), -1);
    return TRUE;
}

static gboolean
form_let(MomEval *ev, const MomNode *n, MomValue *out)
{
    const MomNode *binds = arg_node(n, 1);
    gboolean ok = TRUE;

    if (!need_list(ev, binds, "let", "a list of (name value) pairs"))
        return FALSE;
    for (guint i = 0; i < binds->u.list.n; i++) {
        const MomNode *b = binds->u.list.items[i];
        if (b->kind != MOM_NODE_LIST || b->bracket == '{' || b->u.list.n != 2 ||
            b->u.list.items[0]->kind != MOM_NODE_SYMBOL)
            return fail(ev, b, "'let' binding %u must be a (name value) pair", i + 1);
    }
    scope_enter(ev);
    for (guint i = 0; ok && i < binds->u.list.n; i++) {
        const MomNode *b = binds->u.list.items[i];
        MomValue v;
        ok = eval(ev, b->u.list.items[1], &v);
        if (ok) {
            MomValue bound = scope_defvar(ev, b->u.list.items[0]->u.sym.atom, v);
            mom_value_clear(&bound);
        }
    }
    *out = mom_value_nil();
    for (guint i = 2; ok && i < n->u.list.n; i++) {
        mom_value_clear(out);
        ok = eval(ev, arg_node(n, i), out);
    }
    scope_leave(ev);
    return ok;
}

static gboolean
form_with(MomEval *ev, const MomNode *n, MomValue *out)
{
    const MomNode *lsym = arg_node(n, 1), *var = arg_node(n, 2), *body = arg_node(n, 3);
    MomValue list;

    if (!need_symbol(ev, n, lsym, "with", "the name of a list variable") ||
        !need_symbol(ev, n, var, "with", "a loop variable name"))
        return FALSE;
    if (!lookup(ev, lsym, &list))
        return fail(ev, lsym, "undefined symbol %s", atom_name(ev, lsym->u.sym.atom));
    if (list.type != MOM_VALUE_LIST) {
        fail(ev, lsym, "'with' needs a list, but %s is %s", atom_name(ev, lsym->u.sym.atom),
             mom_value_type_name(list.type));
        mom_value_clear(&list);
        return FALSE;
    }
    MomList *items = list.u.l;
    if (!charge_bytes(ev, n, items->len * sizeof(MomValue))) {
        mom_value_clear(&list);
        return FALSE;
    }
    MomList *results = mom_list_new(items->len);
    gboolean ok = TRUE;
    for (guint i = 0; ok && i < items->len; i++) {
        const MomValue *item = &items->items[i];
        gboolean isolate = item->type == MOM_VALUE_ENTITY && item->u.e->kind == MOM_ENTITY_GUEST;
        guint mark = ev->journal->len;

        scope_enter(ev);
        MomValue bound = scope_defvar(ev, var->u.sym.atom, mom_value_copy(item));
        mom_value_clear(&bound);
        MomEntity *subject = ev->subject;
        if (isolate && ev->explain)
            ev->subject = item->u.e;
        ev->isolation += isolate;
        ok = eval(ev, body, &results->items[i]);
        ev->isolation -= isolate;
        ev->subject = subject;
        scope_leave(ev);

        if (!ok && isolate && !ev->fatal) {
            /* Only this guest's decisions are lost; the others go on. */
            MomEntity *g = item->u.e;
            journal_rollback(ev, mark);
            g_array_set_size(g->controls, 0);
            g->failed = TRUE;
            MomPolicyDiag *d = take_error(ev, g->name, ev->run->errors);
            g_free(g->error);
            g->error = mom_policy_diag_format_line(d);
            ok = TRUE;
        }
        if (ev->isolation == 0)
            journal_drop(ev);
    }
    mom_value_clear(&list);
    *out = (MomValue){.type = MOM_VALUE_LIST, .u.l = results};
    for (guint i = 0; ok && i < results->len; i++)
        if (results->items[i].type == MOM_VALUE_LIST)
            results->depth = MAX(results->depth, results->items[i].u.l->depth + 1);
    if (ok && results->depth > MAX_LIST_DEPTH)
        ok = fail_fatal(ev, n,
                        "the list made by 'with' would nest deeper than the limit of %u "
                        "levels",
                        MAX_LIST_DEPTH);
    if (!ok)
        mom_value_clear(out);
    return ok;
}

static gboolean
special_form(MomEval *ev, const MomNode *n, guint form, MomValue *out)
{
    switch ((MomFormId)form) {
    case MOM_FORM_DEFVAR:
    case MOM_FORM_SET:
    case MOM_FORM_SETQ:
        return form_defvar_set(ev, n, form, out);
    case MOM_FORM_DEF:
    case MOM_FORM_DEFUN:
        return form_def(ev, n, form, out);
    case MOM_FORM_LET:
        return form_let(ev, n, out);
    case MOM_FORM_WITH:
        return form_with(ev, n, out);
    case MOM_FORM_IF: {
        MomValue c;
        if (!eval(ev, arg_node(n, 1), &c))
            return FALSE;
        gboolean t = mom_value_truthy(&c);
        mom_value_clear(&c);
        return eval(ev, arg_node(n, t ? 2 : 3), out);
    }
    case MOM_FORM_EVAL:
        *out = mom_value_nil();
        for (guint i = 1; i < n->u.list.n; i++) {
            mom_value_clear(out);
            if (!eval(ev, arg_node(n, i), out))
                return FALSE;
        }
        return TRUE;
    case MOM_FORM_AND:
    case MOM_FORM_OR:
        for (guint i = 1; i < n->u.list.n; i++) {
            if (!eval(ev, arg_node(n, i), out))
                return FALSE;
            gboolean t = mom_value_truthy(out);
            if (i + 1 == n->u.list.n || (form == MOM_FORM_AND ? !t : t))
                return TRUE;
            mom_value_clear(out);
        }
        return TRUE;
    default:
        return fail(ev, n, "internal error: form %u is not special", form);
    }
}

/* ---- calls ------------------------------------------------------------------------ */

/* Evaluates @n's items from @first into @args (which has room for them). */
static gboolean
eval_args(MomEval *ev, const MomNode *n, guint first, MomValue *args)
{
    for (guint i = first; i < n->u.list.n; i++) {
        if (!eval(ev, n->u.list.items[i], &args[i - first])) {
            for (guint k = first; k < i; k++)
                mom_value_clear(&args[k - first]);
            return FALSE;
        }
    }
    return TRUE;
}

/* (valid guest.io_tune), (null Host.psi_mem_some_avg10): in these two
 * forms an entity member that is not declared (its collector is not
 * configured) reads as nil instead of failing, so a policy can test
 * whether a collector runs.  [momd] MOM failed with "undefined symbol". */
static gboolean
eval_args_lenient(MomEval *ev, const MomNode *n, MomValue *args)
{
    for (guint i = 1; i < n->u.list.n; i++) {
        const MomNode *a = n->u.list.items[i];
        gboolean ok;
        if (a->kind == MOM_NODE_SYMBOL && a->u.sym.member != 0) {
            ok = charge_steps(ev, a, 1);
            if (ok && !lookup(ev, a, &args[i - 1]))
                args[i - 1] = mom_value_nil();
        } else {
            ok = eval(ev, a, &args[i - 1]);
        }
        if (!ok) {
            for (guint k = 1; k < i; k++)
                mom_value_clear(&args[k - 1]);
            return FALSE;
        }
    }
    return TRUE;
}

static void
clear_args(MomValue *args, guint n)
{
    for (guint i = 0; i < n; i++)
        mom_value_clear(&args[i]);
}

static gboolean
call_user(MomEval *ev, const MomNode *n, const Func *f, MomValue *out)
{
    guint n_args = n->u.list.n - 1;
    gboolean ok = TRUE;

    if (n_args != f->n_params)
        return fail(ev, n,
                    "Function \"%s\" invoked with incorrect arity: it takes %u argument%s, "
                    "got %u",
                    atom_name(ev, f->atom), f->n_params, f->n_params == 1 ? "" : "s", n_args);
    if (ev->calls->len >= ev->max_depth)
        return fail_fatal(ev, n, "recursion is deeper than the limit of %u calls in '%s'",
                          ev->max_depth, atom_name(ev, f->atom));
    CallSite site = {n, f->atom};
    g_array_append_val(ev->calls, site);
    /* As in MOM, arguments are evaluated inside the callee's new scope, one
     * by one, so a later argument sees the parameters already bound. */
    scope_enter(ev);
    for (guint i = 0; ok && i < n_args; i++) {
        MomValue v;
        ok = eval(ev, n->u.list.items[i + 1], &v);
        if (ok) {
            MomValue bound = scope_defvar(ev, f->params[i], v);
            mom_value_clear(&bound);
        }
    }
    if (ok)
        ok = eval(ev, f->body, out);
    scope_leave(ev);
    g_array_set_size(ev->calls, ev->calls->len - 1);
    return ok;
}

#define MAX_STACK_ARGS 8

static gboolean
eval_list(MomEval *ev, const MomNode *n, MomValue *out)
{
    char probe;
    guint nitems = n->u.list.n;

    if ((guintptr)ev->stack_base - (guintptr)&probe > STACK_BUDGET)
        return fail_fatal(ev, n, "the evaluation is nested too deeply");
    if (n->bracket == '{') {
        if (nitems == 0)
            return fail(ev, n, "'{ }' needs at least one expression");
        *out = mom_value_nil();
        for (guint i = 0; i < nitems; i++) {
            mom_value_clear(out);
            if (!eval(ev, n->u.list.items[i], out))
                return FALSE;
        }
        return TRUE;
    }
    if (nitems == 0)
        return fail(ev, n, "an empty list '()' cannot be evaluated");

    const MomNode *head = n->u.list.items[0];
    guint form = n->form;
    const Func *f = NULL;
    MomValue fnv = MOM_VALUE_INIT;

    if (head->kind == MOM_NODE_SYMBOL) {
        /* 1. a variable holding a function (entity methods, abs, debug) */
        if (ev->top[head->u.sym.base] >= 0 && lookup(ev, head, &fnv)) {
            if (fnv.type != MOM_VALUE_FUNCTION)
                mom_value_clear(&fnv);
        }
        if (fnv.type == MOM_VALUE_FUNCTION)
            form = MOM_FORM_NONE;
        else if (form == MOM_FORM_NONE && !(f = ev->funcs[head->u.sym.atom]))
            return fail(ev, head, "undefined function %s", atom_name(ev, head->u.sym.atom));
    } else if (head->kind != MOM_NODE_OP) {
        return fail(ev, head, "the first item of a list must name a function or operator, not %s",
                    node_kind_name(head));
    }

    if (f)
        return call_user(ev, n, f, out);

    MomValue stack_args[MAX_STACK_ARGS];
    guint n_args = nitems - 1;
    MomValue *args = n_args <= MAX_STACK_ARGS ? stack_args : g_new(MomValue, n_args);
    gboolean ok;

    if (fnv.type == MOM_VALUE_FUNCTION) {
        ok = eval_args(ev, n, 1, args);
        if (ok) {
            ok = call_native(ev, n, &fnv, args, n_args, out);
            clear_args(args, n_args);
        }
    } else {
        const MomForm *fm = mom_form_get(form);
        if ((int)n_args < fm->min_args || (fm->max_args >= 0 && (int)n_args > fm->max_args)) {
            if (fm->min_args == fm->max_args)
                ok = fail(ev, n, "'%s' takes exactly %d argument%s, got %u; usage: %s", fm->name,
                          fm->min_args, fm->min_args == 1 ? "" : "s", n_args, fm->usage);
            else
                ok = fail(ev, n, "'%s' takes at least %d argument%s, got %u; usage: %s", fm->name,
                          fm->min_args, fm->min_args == 1 ? "" : "s", n_args, fm->usage);
        } else if (fm->special) {
            ok = special_form(ev, n, form, out);
        } else {
            ok = form == MOM_FORM_VALID || form == MOM_FORM_NULL ? eval_args_lenient(ev, n, args)
                                                                 : eval_args(ev, n, 1, args);
            if (ok) {
                ok = call_function_form(ev, n, form, args, n_args, out);
                clear_args(args, n_args);
            }
        }
    }
    if (args != stack_args)
        g_free(args);
    mom_value_clear(&fnv); /* a record setter holds its record */
    return ok;
}

static gboolean
eval(MomEval *ev, const MomNode *n, MomValue *out)
{
    if (G_UNLIKELY(++ev->steps >= ev->check_at) && !check_limits(ev, n))
        return FALSE;
    switch ((MomNodeKind)n->kind) {
    case MOM_NODE_INT:
        *out = mom_value_int(n->u.i);
        return TRUE;
    case MOM_NODE_FLOAT:
        *out = mom_value_float(n->u.d);
        return TRUE;
    case MOM_NODE_STRING:
        n->u.s->ref++;
        *out = (MomValue){.type = MOM_VALUE_STRING, .u.s = n->u.s};
        return TRUE;
    case MOM_NODE_SYMBOL:
        if (n->u.sym.atom == ev->a_nil) {
            *out = mom_value_nil();
            return TRUE;
        }
        if (lookup(ev, n, out))
            return TRUE;
        return fail(ev, n, "undefined symbol %s", atom_name(ev, n->u.sym.atom));
    case MOM_NODE_OP:
        return fail(ev, n, "the operator '%s' cannot be used as a value",
                    atom_name(ev, n->u.sym.atom));
    case MOM_NODE_LIST:
        return eval_list(ev, n, out);
    }
    return fail(ev, n, "internal error: unknown node kind %d", n->kind);
}

/* ---- runs ---------------------------------------------------------------------------- */

static void
func_free(gpointer p)
{
    Func *f = p;
    g_free(f->params);
    g_free(f);
}

MomEval *
mom_eval_new(MomAtoms *atoms)
{
    static const char *const methods[] = {
        [MOM_FN_STAT] = "Stat",
        [MOM_FN_STAT_AVG] = "StatAvg",
        [MOM_FN_PROP] = "Prop",
        [MOM_FN_CONTROL] = "Control",
        [MOM_FN_GET_CONTROL] = "GetControl",
        [MOM_FN_SET_VAR] = "SetVar",
        [MOM_FN_GET_VAR] = "GetVar",
    };
    MomEval *ev = g_new0(MomEval, 1);

    ev->bindings = g_array_sized_new(FALSE, FALSE, sizeof(Binding), 256);
    ev->frames = g_array_new(FALSE, FALSE, sizeof(guint));
    ev->func_store = g_ptr_array_new_with_free_func(func_free);
    ev->journal = g_array_new(FALSE, FALSE, sizeof(JournalEntry));
    ev->calls = g_array_new(FALSE, FALSE, sizeof(CallSite));
    ev->trace = g_array_new(FALSE, FALSE, sizeof(Read));
    ev->deps = g_array_new(FALSE, FALSE, sizeof(Read));
    ev->files = g_ptr_array_new();
    ev->a_nil = mom_atoms_intern(atoms, "nil", 3);
    ev->a_abs = mom_atoms_intern(atoms, "abs", 3);
    ev->a_debug = mom_atoms_intern(atoms, "debug", 5);
    ev->a_host = mom_atoms_intern(atoms, "Host", 4);
    ev->a_guests = mom_atoms_intern(atoms, "Guests", 6);
    for (guint fn = MOM_FN_STAT; fn <= MOM_FN_GET_VAR; fn++)
        ev->a_methods[fn] = mom_atoms_intern(atoms, methods[fn], strlen(methods[fn]));
    return ev;
}

void
mom_eval_free(MomEval *ev)
{
    if (!ev)
        return;
    g_array_free(ev->bindings, TRUE);
    g_array_free(ev->frames, TRUE);
    g_ptr_array_free(ev->func_store, TRUE);
    journal_drop(ev);
    g_array_free(ev->journal, TRUE);
    g_array_free(ev->calls, TRUE);
    reads_clear(ev->trace, 0);
    g_array_free(ev->trace, TRUE);
    reads_clear(ev->deps, 0);
    g_array_free(ev->deps, TRUE);
    g_ptr_array_free(ev->files, TRUE);
    g_free(ev->top);
    g_free(ev->funcs);
    clear_error(ev);
    g_free(ev);
}

static void
bind_global(MomEval *ev, guint atom, MomValue v)
{
    MomValue bound = scope_defvar(ev, atom, v);
    mom_value_clear(&bound);
}

static void
run_begin(MomEval *ev, MomEntity *host, GPtrArray *guests, MomPolicyRun *run)
{
    guint n_atoms = ev->program->atom_names->len;

    if (n_atoms > ev->n_atoms) {
        ev->top = g_renew(int, ev->top, n_atoms);
        ev->funcs = g_renew(Func *, ev->funcs, n_atoms);
        ev->n_atoms = n_atoms;
    }
    memset(ev->top, 0xff, sizeof(int) * n_atoms); /* every atom unbound (-1) */
    memset(ev->funcs, 0, sizeof(Func *) * n_atoms);
    const MomPolicyLimits *limits = ev->program->limits;
    ev->run = run;
    ev->steps = 0;
    ev->debug_dropped = 0;
    ev->debug_lines = 0;
    ev->debug_bytes = 0;
    ev->explain = (ev->flags & MOM_POLICY_EVAL_EXPLAIN) != 0;
    ev->subject = ev->explain ? host : NULL;
    ev->tracking = 0;
    ev->bytes = 0;
    ev->max_steps = limits->max_steps ? limits->max_steps : MOM_POLICY_DEFAULT_MAX_STEPS;
    ev->max_depth = limits->max_depth ? limits->max_depth : MOM_POLICY_DEFAULT_MAX_DEPTH;
    ev->max_bytes = limits->max_bytes ? limits->max_bytes : MOM_POLICY_DEFAULT_MAX_BYTES;
    ev->max_var_bytes =
        limits->max_var_bytes ? limits->max_var_bytes : MOM_POLICY_DEFAULT_MAX_VAR_BYTES;
    ev->max_ms = limits->max_ms;
    ev->deadline = limits->max_ms ? g_get_monotonic_time() + (gint64)limits->max_ms * 1000 : 0;
    ev->interrupt = limits->interrupt;
    ev->check_at = MIN(MOM_POLICY_CHECK_STEPS, ev->max_steps + 1);
    ev->var_bytes = host ? mom_entity_var_bytes(host) : 0;
    for (guint i = 0; guests && i < guests->len; i++)
        ev->var_bytes += mom_entity_var_bytes(guests->pdata[i]);

    /* The global scope, fresh for every run. */
    bind_global(ev, ev->a_abs, (MomValue){.type = MOM_VALUE_FUNCTION, .fn = MOM_FN_ABS});
    bind_global(ev, ev->a_debug, (MomValue){.type = MOM_VALUE_FUNCTION, .fn = MOM_FN_DEBUG});
    bind_global(ev, ev->a_host,
                host ? (MomValue){.type = MOM_VALUE_ENTITY, .u.e = host} : mom_value_nil());
    guint n_guests = guests ? guests->len : 0;
    MomList *list = mom_list_new(n_guests);
    for (guint i = 0; i < n_guests; i++)
        list->items[i] = (MomValue){.type = MOM_VALUE_ENTITY, .u.e = guests->pdata[i]};
    bind_global(ev, ev->a_guests, (MomValue){.type = MOM_VALUE_LIST, .u.l = list});
}

static void
run_end(MomEval *ev)
{
    for (guint i = ev->bindings->len; i-- > 0;)
        mom_value_clear(&g_array_index(ev->bindings, Binding, i).v);
    g_array_set_size(ev->bindings, 0);
    g_array_set_size(ev->frames, 0);
    g_array_set_size(ev->calls, 0);
    g_ptr_array_set_size(ev->func_store, 0);
    journal_drop(ev);
    ev->isolation = 0;
    reads_clear(ev->trace, 0);
    reads_clear(ev->deps, 0);
    g_ptr_array_set_size(ev->files, 0);
    ev->tracking = 0;
    ev->subject = NULL;
    clear_error(ev);
    ev->run = NULL;
    ev->program = NULL;
}

MomPolicyRun *
mom_eval_run(MomEval *ev, const MomEvalProgram *program, MomEntity *host, GPtrArray *guests,
             MomPolicyEvalFlags flags)
{
    MomPolicyRun *run = g_new0(MomPolicyRun, 1);
    const GPtrArray *policies = program->policies;
    char stack_base;

    run->ok = TRUE;
    run->errors = g_ptr_array_new_with_free_func((GDestroyNotify)mom_policy_diag_free);
    run->debug = g_ptr_array_new_with_free_func((GDestroyNotify)mom_policy_diag_free);
    run->results = g_array_new(FALSE, FALSE, sizeof(MomValue));
    g_array_set_clear_func(run->results, (GDestroyNotify)mom_value_clear);

    if (host)
        mom_entity_reset_run(host);
    for (guint i = 0; guests && i < guests->len; i++)
        mom_entity_reset_run(guests->pdata[i]);

    ev->stack_base = &stack_base;
    ev->flags = flags;
    ev->program = program;
    run_begin(ev, host, guests, run);
    for (guint p = 0; run->ok && p < policies->len; p++) {
        MomPolicy *policy = policies->pdata[p];
        for (guint i = 0; i < policy->n_top; i++) {
            MomValue v;
            if (!eval(ev, policy->top[i], &v)) {
                take_error(ev, NULL, run->errors);
                run->ok = FALSE;
                break;
            }
            if (flags & MOM_POLICY_EVAL_KEEP_RESULTS)
                g_array_append_val(run->results, v);
            else
                mom_value_clear(&v);
        }
    }
    if (ev->debug_dropped)
        g_ptr_array_add(run->debug, mom_diag_new(MOM_DIAG_NOTE, "", NULL, 0, 0, 0,
                                                 g_strdup_printf("%u more debug lines were dropped",
                                                                 ev->debug_dropped)));
    run->steps = ev->steps;
    run->bytes = ev->bytes;
    run_end(ev);

    /* Errored guests keep no controls; an aborted run applies nothing. */
    for (guint i = 0; guests && i < guests->len; i++) {
        MomEntity *g = guests->pdata[i];
        if (!run->ok || g->failed)
            g_array_set_size(g->controls, 0);
    }
    if (host && !run->ok)
        g_array_set_size(host->controls, 0);
    return run;
}
