/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Entities: the Host and the guests as a policy sees them.  Each keeps a
 * ring buffer of samples over a shared schema, its properties, its
 * persistent variables, and the controls and error of the last evaluation.
 */
#include "config.h"

#include <string.h>

#include "policy-entity.h"

/* Slots of the lookup cache below: a power of two, above the fields of
 * any shipped collector list (about 40). */
#define SCHEMA_CACHE_SLOTS 64

/* A cached lookup: the caller's string, by address, and its index + 1. */
typedef struct {
    const char *name;
    int index1;
} SchemaCacheSlot;

struct _MomSchema {
    int ref;
    guint64 serial;
    GPtrArray *names;
    GHashTable *index; /* name -> index + 1 */
    /*
     * The collectors set every field of every sample by name, and callers
     * pass the same string literals each time: at 200 guests, hashing the
     * names was about a tenth of an idle main loop's instructions.  So a
     * lookup first tries the slot of the string's address.  A hit is
     * checked against the field's own name (the address may be a freed
     * string's, reused), and a slot is two relaxed atomic words that a
     * racing lookup can only see half-written, which the check catches.
     */
    SchemaCacheSlot cache[SCHEMA_CACHE_SLOTS];
};

MomSchema *
mom_schema_new(const char *const *fields, guint n_fields)
{
    /* Process-wide, and only ever increasing, so that the evaluator's
     * per-node caches can tell a new schema from a freed one at the same
     * address. */
    static guint64 next_serial = 1;
    MomSchema *s = g_new0(MomSchema, 1);

    s->ref = 1;
    s->serial = __atomic_fetch_add(&next_serial, 1, __ATOMIC_RELAXED);
    s->names = g_ptr_array_new_with_free_func(g_free);
    s->index = g_hash_table_new(g_str_hash, g_str_equal);
    for (guint i = 0; i < n_fields; i++) {
        if (g_hash_table_contains(s->index, fields[i]))
            continue;
        char *name = g_strdup(fields[i]);
        g_ptr_array_add(s->names, name);
        g_hash_table_insert(s->index, name, GUINT_TO_POINTER(s->names->len));
    }
    return s;
}

MomSchema *
mom_schema_ref(MomSchema *schema)
{
    schema->ref++;
    return schema;
}

void
mom_schema_unref(MomSchema *schema)
{
    if (schema && --schema->ref == 0) {
        g_hash_table_destroy(schema->index);
        g_ptr_array_free(schema->names, TRUE);
        g_free(schema);
    }
}

guint64
mom_schema_serial(const MomSchema *schema)
{
    return schema->serial;
}

int
mom_schema_lookup(const MomSchema *schema, const char *name)
{
    SchemaCacheSlot *slot =
        (SchemaCacheSlot *)&schema->cache[((guintptr)name >> 3) % SCHEMA_CACHE_SLOTS];
    int i = __atomic_load_n(&slot->index1, __ATOMIC_RELAXED) - 1;

    if (__atomic_load_n(&slot->name, __ATOMIC_RELAXED) == name && i >= 0 &&
        (guint)i < schema->names->len && strcmp(schema->names->pdata[i], name) == 0)
        return i;
    i = (int)GPOINTER_TO_UINT(g_hash_table_lookup(schema->index, name)) - 1;
    if (i >= 0) {
        __atomic_store_n(&slot->name, name, __ATOMIC_RELAXED);
        __atomic_store_n(&slot->index1, i + 1, __ATOMIC_RELAXED);
    }
    return i;
}

guint
mom_schema_n_fields(const MomSchema *schema)
{
    return schema->names->len;
}

const char *
mom_schema_field(const MomSchema *schema, guint i)
{
    g_return_val_if_fail(i < schema->names->len, NULL);
    return g_ptr_array_index(schema->names, i);
}

static void
value_free(gpointer p)
{
    mom_value_clear(p);
    g_free(p);
}

static void
var_free(gpointer p)
{
    MomVar *var = p;
    mom_value_clear(&var->value);
    g_free(var);
}

static void
control_clear(gpointer p)
{
    MomControl *c = p;
    g_free(c->name);
    g_free(c->outcome);
    mom_value_clear(&c->value);
}

MomEntity *
mom_entity_new(MomEntityKind kind, const char *name, MomSchema *schema, guint history)
{
    MomEntity *e = g_new0(MomEntity, 1);
    gsize old_cells;

    e->kind = kind;
    e->name = g_strdup(name);
    e->schema = mom_schema_ref(schema);
    e->n_fields = mom_schema_n_fields(schema);
    e->capacity = MAX(history, 1);
    e->newest = g_new0(MomValue, MAX(e->n_fields, 1));
    old_cells = (gsize)(e->capacity - 1) * e->n_fields;
    if (old_cells) {
        e->cells = g_new0(guint64, old_cells);
        e->types = g_new0(guint8, old_cells);
    }
    e->props = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, value_free);
    e->vars = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, var_free);
    e->controls = g_array_new(FALSE, TRUE, sizeof(MomControl));
    g_array_set_clear_func(e->controls, control_clear);
    return e;
}

/* The value of an older sample's cell, borrowed: the reference stays the ring's. */
static MomValue
cell_get(const MomEntity *e, gsize cell)
{
    MomValue v = MOM_VALUE_INIT;

    v.type = e->types[cell];
    G_STATIC_ASSERT(sizeof(v.u) == sizeof(e->cells[0]));
    memcpy(&v.u, &e->cells[cell], sizeof(v.u));
    return v;
}

/* Moves @v into @cell, whose old value must be released already. */
static void
cell_set(MomEntity *e, gsize cell, MomValue v)
{
    /* A sample holds data, never a function: its fn would not fit. */
    if (G_UNLIKELY(v.type == MOM_VALUE_FUNCTION)) {
        g_critical("a sample of '%s' holds a function, kept as nil", e->name);
        mom_value_clear(&v);
    }
    e->types[cell] = (guint8)v.type;
    memcpy(&e->cells[cell], &v.u, sizeof(v.u));
}

/* The cell of field @index of older sample @k (0 = the oldest). */
static gsize
cell_index(const MomEntity *e, guint k, guint index)
{
    return (gsize)((e->first + k) % (e->capacity - 1)) * e->n_fields + index;
}

void
mom_entity_free(MomEntity *e)
{
    if (!e)
        return;
    for (guint i = 0; i < e->n_fields; i++)
        mom_value_clear(&e->newest[i]);
    for (gsize c = 0; c < (gsize)(e->capacity - 1) * e->n_fields; c++) {
        MomValue v = cell_get(e, c);
        mom_value_clear(&v);
    }
    g_free(e->newest);
    g_free(e->cells);
    g_free(e->types);
    g_hash_table_destroy(e->props);
    g_hash_table_destroy(e->vars);
    g_array_free(e->controls, TRUE);
    mom_schema_unref(e->schema);
    mom_explanation_unref(e->explanation);
    mom_explanation_unref(e->spare);
    g_free(e->error);
    g_free(e->name);
    g_free(e);
}

const char *
mom_entity_name(const MomEntity *e)
{
    return e->name;
}

MomEntityKind
mom_entity_kind(const MomEntity *e)
{
    return e->kind;
}

MomSchema *
mom_entity_schema(const MomEntity *e)
{
    return e->schema;
}

void
mom_entity_push_sample(MomEntity *e, MomValue *values)
{
    guint n_old = e->count ? e->count - 1 : 0;

    /* The newest so far joins the older ones, in place of the oldest when
     * the ring is full; with a history of one it is simply replaced. */
    if (e->count > 0 && e->capacity > 1) {
        guint row;
        if (n_old == e->capacity - 1) {
            row = e->first;
            e->first = (e->first + 1) % (e->capacity - 1);
        } else {
            row = (e->first + n_old) % (e->capacity - 1);
        }
        for (guint i = 0; i < e->n_fields; i++) {
            gsize cell = (gsize)row * e->n_fields + i;
            MomValue old = cell_get(e, cell);
            mom_value_clear(&old);
            cell_set(e, cell, e->newest[i]);
        }
    } else {
        for (guint i = 0; i < e->n_fields; i++)
            mom_value_clear(&e->newest[i]);
    }
    for (guint i = 0; i < e->n_fields; i++)
        e->newest[i] = values[i];
    e->count = MIN(e->count + 1, e->capacity);
}

guint
mom_entity_n_samples(const MomEntity *e)
{
    return e->count;
}

static const MomValue nil_value = MOM_VALUE_INIT;

const MomValue *
mom_entity_stat(const MomEntity *e, guint index)
{
    g_return_val_if_fail(index < e->n_fields, &nil_value);
    if (e->count == 0)
        return &nil_value;
    return &e->newest[index];
}

/* Adds @v to the mean of mom_entity_stat_avg() when it is a number. */
static void
avg_add(const MomValue *v, double *sum, guint *n)
{
    switch (v->type) {
    case MOM_VALUE_INT:
        *sum += (double)v->u.i;
        break;
    case MOM_VALUE_FLOAT:
        *sum += v->u.d;
        break;
    case MOM_VALUE_BOOL:
        *sum += v->u.b;
        break;
    default:
        return;
    }
    (*n)++;
}

double
mom_entity_stat_avg(const MomEntity *e, guint index)
{
    double sum = 0.0;
    guint n = 0;

    g_return_val_if_fail(index < e->n_fields, 0.0);
    if (e->count == 0)
        return 0.0;
    /* Oldest to newest, so the float sum is the same as MOM's. */
    for (guint k = 0; k + 1 < e->count; k++) {
        MomValue v = cell_get(e, cell_index(e, k, index));
        avg_add(&v, &sum, &n);
    }
    avg_add(&e->newest[index], &sum, &n);
    return n ? sum / n : 0.0;
}

/* Properties and variables outlive an evaluation and even the policy that
 * set them; a reference is enough because string literals are counted too. */
static MomValue *
value_dup(const MomValue *v)
{
    MomValue *copy = g_new(MomValue, 1);
    *copy = mom_value_copy(v);
    return copy;
}

void
mom_entity_set_prop(MomEntity *e, const char *name, const MomValue *value)
{
    MomValue *old = g_hash_table_lookup(e->props, name);

    /* set again every sample (sampled_at, paused): no new key nor box */
    if (old) {
        MomValue v = mom_value_copy(value);
        mom_value_clear(old);
        *old = v;
        return;
    }
    g_hash_table_insert(e->props, g_strdup(name), value_dup(value));
}

const MomValue *
mom_entity_get_prop(const MomEntity *e, const char *name)
{
    return g_hash_table_lookup(e->props, name);
}

gsize
mom_entity_var_size(const MomEntity *e, const char *name)
{
    const MomVar *var = g_hash_table_lookup(e->vars, name);
    return var ? var->size : 0;
}

gsize
mom_entity_var_bytes(const MomEntity *e)
{
    return e->var_bytes;
}

void
mom_entity_set_var_sized(MomEntity *e, const char *name, const MomValue *value, gsize size)
{
    MomVar *var = g_new(MomVar, 1);

    var->value = mom_value_copy(value);
    var->size = size;
    e->var_bytes -= mom_entity_var_size(e, name);
    e->var_bytes += size;
    g_hash_table_replace(e->vars, g_strdup(name), var);
}

void
mom_entity_set_var(MomEntity *e, const char *name, const MomValue *value)
{
    mom_entity_set_var_sized(e, name, value,
                             strlen(name) + mom_value_flat_size(value, G_MAXSIZE / 2));
}

const MomValue *
mom_entity_get_var(const MomEntity *e, const char *name)
{
    return g_hash_table_lookup(e->vars, name);
}

guint
mom_entity_n_controls(const MomEntity *e)
{
    return e->controls->len;
}

const MomControl *
mom_entity_control(const MomEntity *e, guint i)
{
    g_return_val_if_fail(i < e->controls->len, NULL);
    return &g_array_index(e->controls, MomControl, i);
}

int
mom_entity_find_control(const MomEntity *e, const char *name)
{
    for (guint i = 0; i < e->controls->len; i++)
        if (strcmp(g_array_index(e->controls, MomControl, i).name, name) == 0)
            return (int)i;
    return -1;
}

const MomValue *
mom_entity_get_control(const MomEntity *e, const char *name)
{
    int i = mom_entity_find_control(e, name);
    return i < 0 ? NULL : &g_array_index(e->controls, MomControl, i).value;
}

const char *
mom_entity_error(const MomEntity *e)
{
    return e->error;
}

void
mom_entity_set_outcome(MomEntity *e, const char *name, const char *outcome)
{
    int i = mom_entity_find_control(e, name);

    if (i < 0)
        return;
    MomControl *c = &g_array_index(e->controls, MomControl, i);
    g_free(c->outcome);
    c->outcome = g_strdup(outcome);
}

MomValue
mom_entity_sample_value(const MomEntity *e, guint k, guint index)
{
    g_return_val_if_fail(k < e->count && index < e->n_fields, nil_value);
    if (k + 1 == e->count)
        return e->newest[index];
    return cell_get(e, cell_index(e, k, index));
}

GHashTable *
mom_entity_props(const MomEntity *e)
{
    return e->props;
}

GHashTable *
mom_entity_vars(const MomEntity *e)
{
    return e->vars;
}

static void explanation_empty(MomExplanation *x);

void
mom_entity_reset_run(MomEntity *e)
{
    g_array_set_size(e->controls, 0);
    g_clear_pointer(&e->error, g_free);
    /* Nobody else holds the last run's explanation (the history let go of
     * it): emptied and kept as the spare that this run's fills, its
     * buffers with it, rather than freed now and made anew within the same
     * cycle.  Until then the entity has none, as before. */
    if (e->explanation && e->explanation->ref == 1 && !e->spare) {
        explanation_empty(e->explanation);
        e->spare = g_steal_pointer(&e->explanation);
    }
    g_clear_pointer(&e->explanation, mom_explanation_unref);
    e->failed = FALSE;
}

/* ---- explanations ------------------------------------------------------------ */

/* Names are not copied: an explanation holds a reference to what they
 * belong to, the schemas of the entities read and the policy set's atom
 * table, so that an evaluation pays one allocation per entity for them,
 * not one per input (momd explains every guest in every cycle). */

MomExplanation *
mom_entity_explain(MomEntity *e)
{
    if (!e->explanation && e->spare) {
        e->explanation = g_steal_pointer(&e->spare);
    } else if (!e->explanation) {
        MomExplanation *x = g_new0(MomExplanation, 1);
        x->ref = 1;
        e->explanation = x;
    }
    return e->explanation;
}

MomExplanation *
mom_entity_explanation(const MomEntity *e)
{
    return e->explanation;
}

MomExplanation *
mom_explanation_ref(MomExplanation *x)
{
    x->ref++;
    return x;
}

/* What @x holds, let go of; its inputs buffer and debug array are kept. */
static void
explanation_release(MomExplanation *x)
{
    for (guint i = 0; i < x->n_inputs; i++)
        mom_value_clear(&x->inputs[i].pub.value);
    for (guint i = 0; x->debug && i < x->debug->len; i++)
        g_free(g_array_index(x->debug, MomPolicyDiag, i).message);
    if (x->debug)
        g_array_set_size(x->debug, 0);
    g_clear_pointer(&x->atoms, g_ptr_array_unref);
    for (guint i = 0; i < x->n_schemas; i++)
        mom_schema_unref(x->schemas[i]);
    g_clear_pointer(&x->owned, g_ptr_array_unref);
}

/* @x as mom_entity_explain() makes it, with the buffers it had. */
static void
explanation_empty(MomExplanation *x)
{
    MomInputRec *inputs = x->inputs;
    guint cap_inputs = x->cap_inputs;
    GArray *debug = x->debug;

    explanation_release(x);
    memset(x, 0, sizeof(*x));
    x->ref = 1;
    x->inputs = inputs;
    x->cap_inputs = cap_inputs;
    x->debug = debug;
}

void
mom_explanation_unref(MomExplanation *x)
{
    if (!x || --x->ref > 0)
        return;
    explanation_release(x);
    g_free(x->inputs);
    if (x->debug)
        g_array_free(x->debug, TRUE);
    g_free(x);
}

/* Keeps @text alive as long as @x: a copy, unless @x holds it already. */
static const char *
own(MomExplanation *x, const char *text)
{
    if (!x->owned)
        x->owned = g_ptr_array_new_with_free_func(g_free);
    char *copy = g_strdup(text);
    g_ptr_array_add(x->owned, copy);
    return copy;
}

/* @field, a name of @schema, kept alive as long as @x. */
static const char *
field_name(MomExplanation *x, MomSchema *schema, const char *field)
{
    for (guint i = 0; i < x->n_schemas; i++)
        if (x->schemas[i] == schema)
            return field;
    if (x->n_schemas == G_N_ELEMENTS(x->schemas))
        return own(x, field); /* the fields of many other guests: rare */
    x->schemas[x->n_schemas++] = mom_schema_ref(schema);
    return field;
}

/* The name an input of @source shows, kept alive as long as @x. */
static const char *
source_label(MomExplanation *x, const MomEntity *source)
{
    if (source->kind == MOM_ENTITY_HOST)
        return "Host";
    if (source != x->label_source) {
        x->label_source = source;
        if (!x->label &&
            g_strlcpy(x->label_buf, source->name, sizeof(x->label_buf)) < sizeof(x->label_buf))
            x->label = x->label_buf;
        else
            x->label = own(x, source->name);
    }
    return x->label;
}

/* @v as an explanation keeps it: scalars and short strings as they are,
 * anything longer (or a list, a record) as its printed form, cut. */
static MomValue
input_value(const MomValue *v)
{
    if (v->type == MOM_VALUE_LIST || v->type == MOM_VALUE_RECORD ||
        (v->type == MOM_VALUE_STRING && v->u.s->len > MOM_EXPLANATION_MAX_VALUE_BYTES)) {
        g_autoptr(GString) s = g_string_new(NULL);
        mom_value_repr_bounded(v, v->type != MOM_VALUE_STRING, s, MOM_EXPLANATION_MAX_VALUE_BYTES);
        return mom_value_string(s->str, (gssize)s->len);
    }
    return mom_value_copy(v);
}

/* Whether input @r is the one read: by pointer, but an entity variable,
 * whose name is no stable pointer (a SetVar frees it), by name. */
static gboolean
same_input(const MomInputRec *r, MomInputKind kind, const MomEntity *source, gconstpointer key,
           const char *name)
{
    return r->pub.kind == kind && r->source == source &&
           (kind == MOM_INPUT_ENTITY_VAR ? strcmp(r->pub.name, name) == 0 : r->key == key);
}

void
mom_explanation_add_input(MomExplanation *x, MomInputKind kind, const MomEntity *source,
                          gconstpointer key, const char *name, GPtrArray *atoms,
                          const MomValue *value)
{
    /* A guest reads a dozen inputs a few times each: look them up in a
     * small hash of the key's pointer (the entity variables, by name, all
     * start at slot 0), not in a walk of the list. */
    guint slot = kind == MOM_INPUT_ENTITY_VAR
                     ? 0
                     : (guint)((((guintptr)key ^ (guintptr)source) * 0x9E3779B1u) >> 7) %
                           G_N_ELEMENTS(x->slots);
    for (; x->slots[slot]; slot = (slot + 1) % G_N_ELEMENTS(x->slots))
        if (same_input(&x->inputs[x->slots[slot] - 1], kind, source, key, name))
            return; /* the first read wins */
    if (x->n_inputs >= MOM_EXPLANATION_MAX_INPUTS) {
        x->dropped_inputs++;
        return;
    }
    if (x->n_inputs == x->cap_inputs) {
        /* 16 fit malloc's per-thread cache, which makes the allocation
         * and the free of the next cycle cheap; then by 16, as the
         * explanations of 1 000 guests stay in memory */
        x->cap_inputs = MIN(x->cap_inputs + 16, MOM_EXPLANATION_MAX_INPUTS);
        x->inputs = g_renew(MomInputRec, x->inputs, x->cap_inputs);
    }
    const char *kept;
    if (kind == MOM_INPUT_VARIABLE) {
        if (!x->atoms)
            x->atoms = g_ptr_array_ref(atoms);
        kept = x->atoms == atoms ? name : own(x, name);
    } else if (kind == MOM_INPUT_ENTITY_VAR) {
        kept = own(x, name);
    } else {
        kept = field_name(x, source->schema, name);
    }
    x->inputs[x->n_inputs++] = (MomInputRec){
        .pub = {kind, source ? source_label(x, source) : NULL, kept, input_value(value)},
        .source = source,
        .key = key,
    };
    x->slots[slot] = (guint8)x->n_inputs;
}

MomExplanation *
mom_explanation_compact(const MomExplanation *x)
{
    MomExplanation *c = g_new0(MomExplanation, 1);

    c->ref = 1;
    /* What names the inputs, shared, never added to: nothing fills @x
     * again before it is emptied, and the array outlives that.  The one
     * name in @x's own buffer is copied into the copy's. */
    c->atoms = x->atoms ? g_ptr_array_ref(x->atoms) : NULL;
    c->owned = x->owned ? g_ptr_array_ref(x->owned) : NULL;
    for (guint i = 0; i < x->n_schemas; i++)
        c->schemas[i] = mom_schema_ref(x->schemas[i]);
    c->n_schemas = x->n_schemas;
    c->n_inputs = c->cap_inputs = x->n_inputs;
    c->inputs = x->n_inputs ? g_new(MomInputRec, x->n_inputs) : NULL;
    for (guint i = 0; i < x->n_inputs; i++) {
        MomPolicyInput pub = x->inputs[i].pub;
        if (pub.entity == x->label_buf) { /* @x's own buffer, emptied with it */
            memcpy(c->label_buf, x->label_buf, sizeof(c->label_buf));
            pub.entity = c->label_buf;
        }
        pub.value = mom_value_copy(&pub.value);
        c->inputs[i] = (MomInputRec){.pub = pub};
    }
    if (x->debug && x->debug->len) {
        c->debug = g_array_sized_new(FALSE, FALSE, sizeof(MomPolicyDiag), x->debug->len);
        for (guint i = 0; i < x->debug->len; i++) {
            MomPolicyDiag d = g_array_index(x->debug, MomPolicyDiag, i);
            d.message = g_strdup(d.message);
            g_array_append_val(c->debug, d);
        }
    }
    c->debug_bytes = x->debug_bytes;
    c->dropped_inputs = x->dropped_inputs;
    c->dropped_debug = x->dropped_debug;
    return c;
}

void
mom_explanation_add_debug(MomExplanation *x, const char *file, int line, int col, char *message)
{
    gsize len = strlen(message);

    if (!x->debug)
        x->debug = g_array_sized_new(FALSE, FALSE, sizeof(MomPolicyDiag), 2);
    if (x->debug->len >= MOM_EXPLANATION_MAX_DEBUG_LINES ||
        x->debug_bytes + len > MOM_EXPLANATION_MAX_DEBUG_BYTES) {
        x->dropped_debug++;
        g_free(message);
        return;
    }
    x->debug_bytes += len;
    /* one allocation a line, the message's: the file is interned */
    MomPolicyDiag d = {MOM_DIAG_DEBUG, (char *)file, line, col, col, message, NULL, NULL};
    g_array_append_val(x->debug, d);
}

guint
mom_explanation_n_inputs(const MomExplanation *x)
{
    return x->n_inputs;
}

const MomPolicyInput *
mom_explanation_input(const MomExplanation *x, guint i)
{
    g_return_val_if_fail(i < x->n_inputs, NULL);
    return &x->inputs[i].pub;
}

guint
mom_explanation_n_debug(const MomExplanation *x)
{
    return x->debug ? x->debug->len : 0;
}

const MomPolicyDiag *
mom_explanation_debug(const MomExplanation *x, guint i)
{
    g_return_val_if_fail(i < mom_explanation_n_debug(x), NULL);
    return &g_array_index(x->debug, MomPolicyDiag, i);
}

guint
mom_explanation_dropped(const MomExplanation *x, guint *debug)
{
    if (debug)
        *debug = x->dropped_debug;
    return x->dropped_inputs;
}
