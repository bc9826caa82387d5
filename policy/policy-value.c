/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Policy values: construction, reference counting, truthiness and printing.
 * Reference counts are not atomic: a set and the values it produces belong
 * to one thread at a time.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy-ast.h"

/* G_DEFINE_QUARK stringifies its first argument: clang-format must not space it */
/* clang-format off */
G_DEFINE_QUARK(mom-policy-error-quark, mom_policy_error)
/* clang-format on */

MomString *
mom_string_alloc(gsize len)
{
    MomString *str = g_malloc(sizeof(MomString) + len + 1);

    str->ref = 1;
    str->len = (guint)len;
    str->data[len] = '\0';
    return str;
}

MomString *
mom_string_new(const char *s, gsize len)
{
    MomString *str = mom_string_alloc(len);

    memcpy(str->data, s, len);
    return str;
}

void
mom_string_unref(MomString *s)
{
    if (s && --s->ref == 0)
        g_free(s);
}

MomList *
mom_list_new(guint len)
{
    MomList *l = g_malloc0(sizeof(MomList) + sizeof(MomValue) * len);

    l->ref = 1;
    l->len = len;
    l->depth = 1;
    return l;
}

static void
list_unref(MomList *l)
{
    if (l && --l->ref == 0) {
        for (guint i = 0; i < l->len; i++)
            mom_value_clear(&l->items[i]);
        g_free(l);
    }
}

MomValue
mom_value_nil(void)
{
    return (MomValue)MOM_VALUE_INIT;
}

MomValue
mom_value_int(gint64 i)
{
    MomValue v = {.type = MOM_VALUE_INT, .u.i = i};
    return v;
}

MomValue
mom_value_float(double d)
{
    MomValue v = {.type = MOM_VALUE_FLOAT, .u.d = d};
    return v;
}

MomValue
mom_value_bool(gboolean b)
{
    MomValue v = {.type = MOM_VALUE_BOOL, .u.b = !!b};
    return v;
}

MomValue
mom_value_string(const char *s, gssize len)
{
    MomValue v = {.type = MOM_VALUE_STRING};
    v.u.s = mom_string_new(s, len < 0 ? strlen(s) : (gsize)len);
    return v;
}

const char *
mom_value_string_get(const MomValue *v)
{
    g_return_val_if_fail(v->type == MOM_VALUE_STRING, NULL);
    return v->u.s->data;
}

guint
mom_value_list_length(const MomValue *v)
{
    g_return_val_if_fail(v->type == MOM_VALUE_LIST, 0);
    return v->u.l->len;
}

const MomValue *
mom_value_list_get(const MomValue *v, guint i)
{
    g_return_val_if_fail(v->type == MOM_VALUE_LIST && i < v->u.l->len, NULL);
    return &v->u.l->items[i];
}

MomValue
mom_value_copy(const MomValue *v)
{
    if (v->type == MOM_VALUE_STRING)
        v->u.s->ref++;
    else if (v->type == MOM_VALUE_LIST)
        v->u.l->ref++;
    else if (v->type == MOM_VALUE_RECORD || mom_value_is_record_setter(v))
        v->u.r->ref++;
    return *v;
}

void
mom_value_clear(MomValue *v)
{
    if (v->type == MOM_VALUE_STRING)
        mom_string_unref(v->u.s);
    else if (v->type == MOM_VALUE_LIST)
        list_unref(v->u.l);
    else if (v->type == MOM_VALUE_RECORD || mom_value_is_record_setter(v))
        mom_record_unref(v->u.r);
    *v = (MomValue)MOM_VALUE_INIT;
}

/* ---- records ---- */

static void
member_clear(gpointer p)
{
    MomRecordMember *m = p;
    g_free(m->name);
    mom_value_clear(&m->value);
}

static void
setter_clear(gpointer p)
{
    MomRecordSetter *s = p;
    g_free(s->method);
    g_free(s->control);
}

MomRecord *
mom_record_new(void)
{
    MomRecord *r = g_new0(MomRecord, 1);

    r->ref = 1;
    r->members = g_array_new(FALSE, TRUE, sizeof(MomRecordMember));
    g_array_set_clear_func(r->members, member_clear);
    r->setters = g_array_new(FALSE, TRUE, sizeof(MomRecordSetter));
    g_array_set_clear_func(r->setters, setter_clear);
    return r;
}

MomRecord *
mom_record_ref(MomRecord *r)
{
    r->ref++;
    return r;
}

void
mom_record_unref(MomRecord *r)
{
    if (r && --r->ref == 0) {
        g_array_free(r->members, TRUE);
        g_array_free(r->setters, TRUE);
        g_free(r);
    }
}

void
mom_record_set(MomRecord *r, const char *name, MomValue value)
{
    for (guint i = 0; i < r->members->len; i++) {
        MomRecordMember *m = &g_array_index(r->members, MomRecordMember, i);
        if (strcmp(m->name, name) == 0) {
            mom_value_clear(&m->value);
            m->value = value;
            return;
        }
    }
    MomRecordMember m = {g_strdup(name), value};
    g_array_append_val(r->members, m);
}

const MomValue *
mom_record_get(const MomRecord *r, const char *name)
{
    for (guint i = 0; i < r->members->len; i++) {
        const MomRecordMember *m = &g_array_index(r->members, MomRecordMember, i);
        if (strcmp(m->name, name) == 0)
            return &m->value;
    }
    return NULL;
}

guint
mom_record_n_members(const MomRecord *r)
{
    return r->members->len;
}

const char *
mom_record_member(const MomRecord *r, guint i, const MomValue **value)
{
    g_return_val_if_fail(i < r->members->len, NULL);
    const MomRecordMember *m = &g_array_index(r->members, MomRecordMember, i);
    if (value)
        *value = &m->value;
    return m->name;
}

void
mom_record_add_setter(MomRecord *r, const char *method, const char *control)
{
    MomRecordSetter s = {g_strdup(method), g_strdup(control)};
    g_array_append_val(r->setters, s);
}

void
mom_record_set_owner(MomRecord *r, MomEntity *owner)
{
    r->owner = owner;
}

guint
mom_record_n_setters(const MomRecord *r)
{
    return r->setters->len;
}

const char *
mom_record_setter(const MomRecord *r, guint i, const char **control)
{
    const MomRecordSetter *st = &g_array_index(r->setters, MomRecordSetter, i);

    if (control)
        *control = st->control;
    return st->method;
}

MomValue
mom_value_list_take(const MomValue *items, guint n)
{
    MomList *l = mom_list_new(n);

    for (guint i = 0; i < n; i++) {
        l->items[i] = items[i];
        if (items[i].type == MOM_VALUE_LIST)
            l->depth = MAX(l->depth, items[i].u.l->depth + 1);
    }
    return (MomValue){.type = MOM_VALUE_LIST, .u.l = l};
}

MomValue
mom_value_record(MomRecord *r)
{
    MomValue v = {.type = MOM_VALUE_RECORD, .u.r = r};
    return v;
}

gboolean
mom_value_truthy(const MomValue *v)
{
    switch ((MomValueType)v->type) {
    case MOM_VALUE_NIL:
        return FALSE;
    case MOM_VALUE_BOOL:
        return v->u.b;
    case MOM_VALUE_INT:
        return v->u.i != 0;
    case MOM_VALUE_FLOAT:
        return v->u.d != 0.0;
    case MOM_VALUE_STRING:
        return v->u.s->len > 0;
    case MOM_VALUE_LIST:
        return v->u.l->len > 0;
    case MOM_VALUE_ENTITY:
    case MOM_VALUE_FUNCTION:
    case MOM_VALUE_RECORD:
        return TRUE;
    }
    return FALSE;
}

const char *
mom_value_type_name(MomValueType type)
{
    switch (type) {
    case MOM_VALUE_NIL:
        return "nil";
    case MOM_VALUE_BOOL:
        return "a boolean";
    case MOM_VALUE_INT:
        return "an integer";
    case MOM_VALUE_FLOAT:
        return "a float";
    case MOM_VALUE_STRING:
        return "a string";
    case MOM_VALUE_LIST:
        return "a list";
    case MOM_VALUE_ENTITY:
        return "an entity";
    case MOM_VALUE_FUNCTION:
        return "a function";
    case MOM_VALUE_RECORD:
        return "a record";
    }
    return "a value";
}

char *
mom_format_double(double d, char *buf)
{
    char digits[40];
    int prec, exp10;

    if (isnan(d))
        return strcpy(buf, "nan");
    if (isinf(d))
        return strcpy(buf, d > 0 ? "inf" : "-inf");
    /* The fewest significant digits that read back exactly... */
    for (prec = 1; prec < 17; prec++) {
        g_snprintf(digits, sizeof(digits), "%.*e", prec - 1, d);
        if (g_ascii_strtod(digits, NULL) == d)
            break;
    }
    g_snprintf(digits, sizeof(digits), "%.*e", prec - 1, d);
    exp10 = atoi(strchr(digits, 'e') + 1);
    /* ...laid out as Python's repr() does: positional for 1e-4 <= |d| < 1e16,
     * scientific otherwise, and a float always shows a '.' or an exponent. */
    if (exp10 >= -4 && exp10 < 16) {
        int decimals = MAX(prec - 1 - exp10, 1);
        g_snprintf(buf, 32, "%.*f", decimals, d);
    } else {
        char *e = strchr(digits, 'e');
        *e = '\0';
        g_snprintf(buf, 32, "%se%c%02d", digits, exp10 < 0 ? '-' : '+', ABS(exp10));
    }
    return buf;
}

static const char *
fn_name(guint fn)
{
    static const char *const names[] = {
        [MOM_FN_ABS] = "abs",
        [MOM_FN_DEBUG] = "debug",
        [MOM_FN_STAT] = "Stat",
        [MOM_FN_STAT_AVG] = "StatAvg",
        [MOM_FN_PROP] = "Prop",
        [MOM_FN_CONTROL] = "Control",
        [MOM_FN_GET_CONTROL] = "GetControl",
        [MOM_FN_SET_VAR] = "SetVar",
        [MOM_FN_GET_VAR] = "GetVar",
    };
    return fn < G_N_ELEMENTS(names) && names[fn] ? names[fn] : "?";
}

static void
entity_repr(const MomEntity *e, GString *out)
{
    if (mom_entity_kind(e) == MOM_ENTITY_HOST)
        g_string_append(out, "Host");
    else
        g_string_append_printf(out, "Guest(%s)", mom_entity_name(e));
}

/* Appends @v's printed form to @out, stopping once @out reaches @stop
 * bytes.  Returns: FALSE when it stopped before the end. */
static gboolean
repr_to(const MomValue *v, gboolean quote, GString *out, gsize stop)
{
    char buf[32];

    if (out->len >= stop)
        return FALSE;
    switch ((MomValueType)v->type) {
    case MOM_VALUE_NIL:
        g_string_append(out, "nil");
        break;
    case MOM_VALUE_BOOL:
        g_string_append(out, v->u.b ? "true" : "false");
        break;
    case MOM_VALUE_INT:
        g_string_append_printf(out, "%" G_GINT64_FORMAT, v->u.i);
        break;
    case MOM_VALUE_FLOAT:
        g_string_append(out, mom_format_double(v->u.d, buf));
        break;
    case MOM_VALUE_STRING: {
        gsize room = stop - out->len;
        if (quote)
            g_string_append_c(out, '"');
        g_string_append_len(out, v->u.s->data, MIN(v->u.s->len, room));
        if (v->u.s->len > room)
            return FALSE;
        if (quote)
            g_string_append_c(out, '"');
        break;
    }
    case MOM_VALUE_LIST:
        g_string_append_c(out, '[');
        for (guint i = 0; i < v->u.l->len; i++) {
            if (i)
                g_string_append(out, ", ");
            if (!repr_to(&v->u.l->items[i], TRUE, out, stop))
                return FALSE;
        }
        g_string_append_c(out, ']');
        break;
    case MOM_VALUE_ENTITY:
        entity_repr(v->u.e, out);
        break;
    case MOM_VALUE_RECORD:
        g_string_append_c(out, '{');
        for (guint i = 0; i < v->u.r->members->len; i++) {
            const MomRecordMember *m = &g_array_index(v->u.r->members, MomRecordMember, i);
            g_string_append_printf(out, "%s%s: ", i ? ", " : "", m->name);
            if (!repr_to(&m->value, TRUE, out, stop))
                return FALSE;
        }
        g_string_append_c(out, '}');
        break;
    case MOM_VALUE_FUNCTION:
        if (mom_value_is_record_setter(v)) {
            guint k = v->fn - MOM_FN_RECORD_SET;
            g_string_append_printf(out, "<function %s>",
                                   k < v->u.r->setters->len
                                       ? g_array_index(v->u.r->setters, MomRecordSetter, k).method
                                       : "?");
            break;
        }
        g_string_append(out, "<function ");
        if (v->u.e) {
            entity_repr(v->u.e, out);
            g_string_append_c(out, '.');
        }
        g_string_append(out, fn_name(v->fn));
        g_string_append_c(out, '>');
        break;
    }
    return out->len <= stop;
}

gboolean
mom_value_repr_bounded(const MomValue *v, gboolean quote, GString *out, gsize max)
{
    gsize stop = out->len + MIN(max, G_MAXSIZE / 2);

    if (repr_to(v, quote, out, stop))
        return TRUE;
    /* A list may hold the same long string a million times: its printed
     * form would be far larger than anything that holds it. */
    g_string_truncate(out, stop);
    g_string_append(out, "...");
    return FALSE;
}

void
mom_value_repr(const MomValue *v, gboolean quote, GString *out)
{
    mom_value_repr_bounded(v, quote, out, MOM_VALUE_REPR_MAX);
}

gsize
mom_value_flat_size(const MomValue *v, gsize limit)
{
    gsize size = sizeof(MomValue);

    switch ((MomValueType)v->type) {
    case MOM_VALUE_STRING:
        size += v->u.s->len;
        break;
    case MOM_VALUE_LIST:
        /* every item adds at least sizeof(MomValue), so stopping past
         * @limit bounds the walk however the items are shared */
        for (guint i = 0; i < v->u.l->len && size <= limit; i++)
            size += mom_value_flat_size(&v->u.l->items[i], limit - MIN(size, limit));
        break;
    case MOM_VALUE_RECORD:
        for (guint i = 0; i < v->u.r->members->len && size <= limit; i++) {
            const MomRecordMember *m = &g_array_index(v->u.r->members, MomRecordMember, i);
            size += strlen(m->name) + mom_value_flat_size(&m->value, limit - MIN(size, limit));
        }
        break;
    default:
        break;
    }
    return size;
}
