/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * State files, read with json-glib, and the policy tester's reports.
 *
 *   {"host":   {"properties": {"interval": 5},
 *               "samples": [{"mem_available": 16777216, "mem_free": 2000000}, ...]},
 *    "guests": [{"properties": {"name": "vm1", "uuid": "...", "pid": 1234},
 *                "samples": [{"balloon_cur": 4194304, "mem_unused": null}, ...]}]}
 *
 * Samples are oldest first.  A field is declared for an entity when it is
 * a key of any of its samples; null means "no data" in that sample.
 */
#include "config.h"

#include <errno.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "mom-json.h"
#include "mom-state.h"

/* G_DEFINE_QUARK stringifies its first argument: clang-format must not space it */
/* clang-format off */
G_DEFINE_QUARK(mom-state-error-quark, mom_state_error)
/* clang-format on */

typedef struct {
    const char *origin;
    GHashTable *schemas; /* joined field names -> MomSchema, shared by equal layouts */
} Loader;

static gboolean G_GNUC_PRINTF(3, 4)
    format_error(GError **error, const Loader *ld, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error(error, MOM_STATE_ERROR, MOM_STATE_ERROR_FORMAT, "%s: %s", ld->origin, msg);
    return FALSE;
}

static const char *
node_kind(JsonNode *node)
{
    switch (JSON_NODE_TYPE(node)) {
    case JSON_NODE_OBJECT:
        return "an object";
    case JSON_NODE_ARRAY:
        return "an array";
    case JSON_NODE_NULL:
        return "null";
    case JSON_NODE_VALUE:
        break;
    }
    GType t = json_node_get_value_type(node);
    if (t == G_TYPE_STRING)
        return "a string";
    if (t == G_TYPE_BOOLEAN)
        return "a boolean";
    return "a number";
}

/* Converts a JSON value: scalars, arrays (lists) and objects (records, as
 * collectors hand them to the policy; "@setters" maps method names to the
 * controls they set on @owner).  FALSE for an object member that is not
 * such a value. */
/* Lists and records in a state are nested at most this deep, as the
 * policy's lists are: the walks that copy, print and free them recurse. */
#define MAX_NESTING MOM_POLICY_MAX_LIST_DEPTH

static gboolean
json_value_at(JsonNode *node, MomEntity *owner, MomValue *out, guint depth)
{
    if ((JSON_NODE_HOLDS_ARRAY(node) || JSON_NODE_HOLDS_OBJECT(node)) && depth >= MAX_NESTING)
        return FALSE;
    if (JSON_NODE_HOLDS_NULL(node)) {
        *out = mom_value_nil();
        return TRUE;
    }
    if (JSON_NODE_HOLDS_ARRAY(node)) {
        JsonArray *a = json_node_get_array(node);
        guint n = json_array_get_length(a);
        g_autofree MomValue *items = g_new0(MomValue, MAX(n, 1));
        for (guint i = 0; i < n; i++) {
            if (!json_value_at(json_array_get_element(a, i), owner, &items[i], depth + 1)) {
                for (guint k = 0; k < i; k++)
                    mom_value_clear(&items[k]);
                return FALSE;
            }
        }
        *out = mom_value_list_take(items, n);
        return TRUE;
    }
    if (JSON_NODE_HOLDS_OBJECT(node)) {
        JsonObject *o = json_node_get_object(node);
        g_autoptr(MomRecord) r = mom_record_new();
        g_autoptr(GList) keys = json_object_get_members(o);
        mom_record_set_owner(r, owner);
        for (GList *k = keys; k; k = k->next) {
            JsonNode *m = json_object_get_member(o, k->data);
            if (strcmp(k->data, "@setters") == 0 && JSON_NODE_HOLDS_OBJECT(m)) {
                JsonObject *so = json_node_get_object(m);
                g_autoptr(GList) names = json_object_get_members(so);
                for (GList *sn = names; sn; sn = sn->next) {
                    const char *control = json_object_get_string_member(so, sn->data);
                    if (control)
                        mom_record_add_setter(r, sn->data, control);
                }
                continue;
            }
            MomValue v;
            if (!json_value_at(m, owner, &v, depth + 1))
                return FALSE;
            mom_record_set(r, k->data, v);
        }
        *out = mom_value_record(g_steal_pointer(&r));
        return TRUE;
    }
    GType t = json_node_get_value_type(node);
    if (t == G_TYPE_INT64)
        *out = mom_value_int(json_node_get_int(node));
    else if (t == G_TYPE_DOUBLE)
        *out = mom_value_float(json_node_get_double(node));
    else if (t == G_TYPE_BOOLEAN)
        *out = mom_value_bool(json_node_get_boolean(node));
    else
        *out = mom_value_string(json_node_get_string(node), -1);
    return TRUE;
}

static gboolean
json_value(JsonNode *node, MomEntity *owner, MomValue *out)
{
    return json_value_at(node, owner, out, 0);
}

/* Converts a JSON scalar; FALSE for arrays and objects. */
static gboolean
scalar_value(JsonNode *node, MomValue *out)
{
    if (!JSON_NODE_HOLDS_NULL(node) && !JSON_NODE_HOLDS_VALUE(node))
        return FALSE;
    return json_value(node, NULL, out);
}

static JsonObject *
member_object(JsonObject *obj, const char *member, const char *path, const Loader *ld, gboolean *ok,
              GError **error)
{
    JsonNode *n = json_object_get_member(obj, member);

    *ok = TRUE;
    if (!n || JSON_NODE_HOLDS_NULL(n))
        return NULL;
    if (!JSON_NODE_HOLDS_OBJECT(n)) {
        *ok =
            format_error(error, ld, "%s.%s must be an object, not %s.", path, member, node_kind(n));
        return NULL;
    }
    return json_node_get_object(n);
}

static MomSchema *
shared_schema(Loader *ld, GPtrArray *fields)
{
    g_autoptr(GString) key = g_string_new(NULL);

    for (guint i = 0; i < fields->len; i++) {
        g_string_append(key, fields->pdata[i]);
        g_string_append_c(key, '\n');
    }
    MomSchema *s = g_hash_table_lookup(ld->schemas, key->str);
    if (!s) {
        s = mom_schema_new((const char *const *)fields->pdata, fields->len);
        g_hash_table_insert(ld->schemas, g_strdup(key->str), s);
    }
    return s;
}

/* Guest properties the daemon always sets, nil when the guest has none. */
static const char *const guest_nil_props[] = {"balloon_weight"};

static MomEntity *
load_entity(Loader *ld, JsonNode *node, MomEntityKind kind, const char *path, GError **error)
{
    gboolean ok;

    if (!JSON_NODE_HOLDS_OBJECT(node)) {
        format_error(error, ld, "%s must be an object, not %s.", path, node_kind(node));
        return NULL;
    }
    JsonObject *obj = json_node_get_object(node);
    JsonObject *props = member_object(obj, "properties", path, ld, &ok, error);
    if (!ok)
        return NULL;

    const char *name = "Host";
    if (kind == MOM_ENTITY_GUEST) {
        JsonNode *n = props ? json_object_get_member(props, "name") : NULL;
        if (!n || !JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING ||
            !*json_node_get_string(n)) {
            format_error(error, ld,
                         "%s.properties.name must be the guest's name, a non-empty "
                         "string.",
                         path);
            return NULL;
        }
        name = json_node_get_string(n);
    }

    JsonNode *samples_node = json_object_get_member(obj, "samples");
    JsonArray *samples = NULL;
    if (samples_node && !JSON_NODE_HOLDS_NULL(samples_node)) {
        if (!JSON_NODE_HOLDS_ARRAY(samples_node)) {
            format_error(error, ld, "%s.samples must be an array of objects, not %s.", path,
                         node_kind(samples_node));
            return NULL;
        }
        samples = json_node_get_array(samples_node);
    }
    guint n_samples = samples ? json_array_get_length(samples) : 0;

    /* The declared fields: every key of every sample, in order of appearance. */
    g_autoptr(GPtrArray) fields = g_ptr_array_new();
    g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
    for (guint i = 0; i < n_samples; i++) {
        JsonNode *s = json_array_get_element(samples, i);
        if (!JSON_NODE_HOLDS_OBJECT(s)) {
            format_error(error, ld, "%s.samples[%u] must be an object, not %s.", path, i,
                         node_kind(s));
            return NULL;
        }
        g_autoptr(GList) keys = json_object_get_members(json_node_get_object(s));
        for (GList *k = keys; k; k = k->next) {
            if (g_hash_table_add(seen, k->data))
                g_ptr_array_add(fields, k->data);
        }
    }

    MomSchema *schema = shared_schema(ld, fields);
    g_autoptr(MomEntity) e = mom_entity_new(kind, name, schema, MAX(n_samples, 1));
    for (guint i = 0; i < n_samples; i++) {
        JsonObject *s = json_array_get_object_element(samples, i);
        g_autofree MomValue *row = g_new0(MomValue, MAX(fields->len, 1));
        for (guint f = 0; f < fields->len; f++) {
            JsonNode *v = json_object_get_member(s, fields->pdata[f]);
            if (v && !json_value(v, e, &row[f])) {
                for (guint k = 0; k < f; k++)
                    mom_value_clear(&row[k]);
                format_error(error, ld,
                             "%s.samples[%u].%s must be a number, string, boolean, null, list or "
                             "record (nested at most " G_STRINGIFY(MAX_NESTING) " deep), not %s.",
                             path, i, (char *)fields->pdata[f], node_kind(v));
                return NULL;
            }
        }
        mom_entity_push_sample(e, row);
    }

    JsonObject *vars = member_object(obj, "variables", path, ld, &ok, error);
    if (!ok)
        return NULL;
    if (vars) {
        g_autoptr(GList) keys = json_object_get_members(vars);
        for (GList *k = keys; k; k = k->next) {
            MomValue v;
            JsonNode *n = json_object_get_member(vars, k->data);
            if (!scalar_value(n, &v)) {
                format_error(error, ld,
                             "%s.variables.%s must be a number, string, boolean or null, not %s.",
                             path, (char *)k->data, node_kind(n));
                return NULL;
            }
            mom_entity_set_var(e, k->data, &v);
            mom_value_clear(&v);
        }
    }
    if (props) {
        g_autoptr(GList) keys = json_object_get_members(props);
        for (GList *k = keys; k; k = k->next) {
            MomValue v;
            JsonNode *n = json_object_get_member(props, k->data);
            if (!scalar_value(n, &v)) {
                format_error(error, ld,
                             "%s.properties.%s must be a number, string, boolean or null, not "
                             "%s.",
                             path, (char *)k->data, node_kind(n));
                return NULL;
            }
            mom_entity_set_prop(e, k->data, &v);
            mom_value_clear(&v);
        }
    }
    /* the daemon gives every guest these, nil when the guest has none: a
     * state saved before momd had them still runs the default policies */
    for (guint i = 0; kind == MOM_ENTITY_GUEST && i < G_N_ELEMENTS(guest_nil_props); i++)
        if (!mom_entity_get_prop(e, guest_nil_props[i])) {
            MomValue nil = mom_value_nil();
            mom_entity_set_prop(e, guest_nil_props[i], &nil);
        }
    return g_steal_pointer(&e);
}

void
mom_state_free(MomState *state)
{
    if (!state)
        return;
    mom_entity_free(state->host);
    if (state->guests)
        g_ptr_array_free(state->guests, TRUE);
    g_free(state);
}

/* json-glib wraps integers beyond 64 bits silently (99999999999999999999
 * reads as -1) and turns 1e400 into inf, so numbers are checked in the
 * text first.  Returns FALSE with @error naming the line and column. */
static gboolean
check_numbers(const char *data, gsize len, const char *origin, GError **error)
{
    int line = 1, col = 1;

    for (gsize i = 0; i < len;) {
        char c = data[i];
        if (c == '"') {
            for (i++, col++; i < len && data[i] != '"'; i++, col++) {
                if (data[i] == '\\' && i + 1 < len) {
                    i++;
                    col++;
                } else if (data[i] == '\n') {
                    line++;
                    col = 0;
                }
            }
            i++;
            col++;
            continue;
        }
        if (c == '-' || g_ascii_isdigit(c)) {
            gsize start = i;
            gboolean integral = TRUE;
            while (i < len && (g_ascii_isdigit(data[i]) || strchr("+-.eE", data[i]))) {
                integral &= !strchr(".eE", data[i]) || data[i] == '-' || data[i] == '+';
                i++;
            }
            g_autofree char *num = g_strndup(data + start, i - start);
            gboolean bad;
            if (integral) {
                errno = 0;
                g_ascii_strtoll(num, NULL, 10);
                bad = errno == ERANGE;
            } else {
                bad = !isfinite(g_ascii_strtod(num, NULL));
            }
            if (bad) {
                g_set_error(error, MOM_STATE_ERROR, MOM_STATE_ERROR_FORMAT,
                            "%s:%d:%d: the number %s does not fit %s.", origin, line, col, num,
                            integral ? "in a 64-bit integer; write it as a float, with a '.'"
                                     : "in a double");
                return FALSE;
            }
            col += (int)(i - start);
            continue;
        }
        if (c == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
        i++;
    }
    return TRUE;
}

MomState *
mom_state_load_data(const char *data, gssize len, const char *origin, GError **error)
{
    g_autoptr(JsonParser) parser = json_parser_new_immutable();
    g_autoptr(GError) local = NULL;
    g_autoptr(GHashTable) schemas =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)mom_schema_unref);
    Loader ld = {origin, schemas};

    if (len < 0)
        len = (gssize)strlen(data);
    if (!json_parser_load_from_data(parser, data, len, &local)) {
        g_set_error(error, MOM_STATE_ERROR, MOM_STATE_ERROR_SYNTAX, "%s is not valid JSON: %s.",
                    origin, local->message);
        return NULL;
    }
    if (!check_numbers(data, (gsize)len, origin, error))
        return NULL;
    JsonNode *root = json_parser_get_root(parser);
    if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
        format_error(error, &ld, "the state must be a JSON object with \"host\" and \"guests\".");
        return NULL;
    }
    JsonObject *obj = json_node_get_object(root);
    g_autoptr(MomState) state = g_new0(MomState, 1);
    state->guests = g_ptr_array_new_with_free_func((GDestroyNotify)mom_entity_free);

    JsonNode *host = json_object_get_member(obj, "host");
    if (host && !JSON_NODE_HOLDS_NULL(host)) {
        state->host = load_entity(&ld, host, MOM_ENTITY_HOST, "host", error);
        if (!state->host)
            return NULL;
    } else {
        g_autoptr(MomSchema) empty = mom_schema_new(NULL, 0);
        state->host = mom_entity_new(MOM_ENTITY_HOST, "Host", empty, 1);
    }

    JsonNode *guests = json_object_get_member(obj, "guests");
    if (guests && !JSON_NODE_HOLDS_NULL(guests)) {
        if (!JSON_NODE_HOLDS_ARRAY(guests)) {
            format_error(error, &ld, "\"guests\" must be an array, not %s.", node_kind(guests));
            return NULL;
        }
        JsonArray *arr = json_node_get_array(guests);
        g_autoptr(GHashTable) names = g_hash_table_new(g_str_hash, g_str_equal);
        for (guint i = 0; i < json_array_get_length(arr); i++) {
            g_autofree char *path = g_strdup_printf("guests[%u]", i);
            MomEntity *g =
                load_entity(&ld, json_array_get_element(arr, i), MOM_ENTITY_GUEST, path, error);
            if (!g)
                return NULL;
            g_ptr_array_add(state->guests, g);
            if (!g_hash_table_add(names, (gpointer)mom_entity_name(g))) {
                format_error(error, &ld, "%s.properties.name \"%s\" is used by another guest.",
                             path, mom_entity_name(g));
                return NULL;
            }
        }
    }
    return g_steal_pointer(&state);
}

MomState *
mom_state_load_file(const char *path, GError **error)
{
    g_autofree char *data = NULL;
    g_autoptr(GError) local = NULL;
    gsize len;

    if (!g_file_get_contents(path, &data, &len, &local)) {
        g_set_error(error, MOM_STATE_ERROR, MOM_STATE_ERROR_IO,
                    "Cannot read the state file %s: %s.", path, local->message);
        return NULL;
    }
    return mom_state_load_data(data, (gssize)len, path, error);
}

/* ---- snapshots ------------------------------------------------------------------ */

static gint
compare_keys(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A name -> MomValue* table as a JSON object, keys sorted for stable output. */
static void
json_table(GString *out, GHashTable *table)
{
    g_autoptr(GPtrArray) keys = g_ptr_array_new();
    GHashTableIter it;
    gpointer k;

    g_hash_table_iter_init(&it, table);
    while (g_hash_table_iter_next(&it, &k, NULL))
        g_ptr_array_add(keys, k);
    g_ptr_array_sort(keys, compare_keys);
    g_string_append_c(out, '{');
    for (guint i = 0; i < keys->len; i++) {
        g_string_append(out, i ? ", " : "");
        mom_json_append_string(out, keys->pdata[i]);
        g_string_append(out, ": ");
        mom_json_append_value(out, g_hash_table_lookup(table, keys->pdata[i]));
    }
    g_string_append_c(out, '}');
}

static void
json_entity(GString *out, MomEntity *e)
{
    MomSchema *schema = mom_entity_schema(e);

    g_string_append(out, "{\"properties\": ");
    json_table(out, mom_entity_props(e));
    g_string_append(out, ",\n   \"variables\": ");
    json_table(out, mom_entity_vars(e));
    g_string_append(out, ",\n   \"samples\": [");
    for (guint k = 0; k < mom_entity_n_samples(e); k++) {
        g_string_append(out, k ? ",\n     {" : "\n     {");
        for (guint f = 0; f < mom_schema_n_fields(schema); f++) {
            g_string_append(out, f ? ", " : "");
            mom_json_append_string(out, mom_schema_field(schema, f));
            g_string_append(out, ": ");
            MomValue v = mom_entity_sample_value(e, k, f);
            mom_json_append_value(out, &v);
        }
        g_string_append_c(out, '}');
    }
    g_string_append(out, "]}");
}

char *
mom_state_to_json(MomEntity *host, GPtrArray *guests)
{
    GString *out = g_string_new("{\"host\": ");

    json_entity(out, host);
    g_string_append(out, ",\n \"guests\": [");
    for (guint i = 0; guests && i < guests->len; i++) {
        g_string_append(out, i ? ",\n  " : "\n  ");
        json_entity(out, guests->pdata[i]);
    }
    g_string_append(out, "]}\n");
    return g_string_free(out, FALSE);
}

/* ---- reports ------------------------------------------------------------------ */

/* The controls MOM's controllers consume (the language reference, §7).  A
 * policy may set any control, but one nobody consumes is usually a typo. */
static const char *const host_controls[] = {"ksm_run", "ksm_pages_to_scan", "ksm_sleep_millisecs",
                                            "ksm_merge_across_nodes", NULL};
static const char *const guest_controls[] = {"balloon_target", "vcpu_quota", "vcpu_period", NULL};

static void
unconsumed(const MomEntity *e, GPtrArray *out)
{
    const char *const *known =
        mom_entity_kind(e) == MOM_ENTITY_HOST ? host_controls : guest_controls;

    for (guint i = 0; i < mom_entity_n_controls(e); i++) {
        const MomControl *c = mom_entity_control(e, i);
        if (g_strv_contains(known, c->name))
            continue;
        /* IoTune: "io_tune.<disk>.<limit>", set by guest.io_tune's setters */
        if (mom_entity_kind(e) == MOM_ENTITY_GUEST && g_str_has_prefix(c->name, "io_tune."))
            continue;
        g_ptr_array_add(out,
                        g_strdup_printf("%s:%d:%d: warning: no controller consumes the %s "
                                        "control '%s'; it is shown but would not be applied.",
                                        c->file, c->line, c->col,
                                        mom_entity_kind(e) == MOM_ENTITY_HOST ? "host" : "guest",
                                        c->name));
    }
}

static GPtrArray *
warnings_for(const MomState *state)
{
    GPtrArray *w = g_ptr_array_new_with_free_func(g_free);

    unconsumed(state->host, w);
    for (guint i = 0; i < state->guests->len; i++)
        unconsumed(state->guests->pdata[i], w);
    return w;
}

static void
json_controls(GString *out, const MomEntity *e)
{
    g_string_append(out, "{\"controls\": {");
    for (guint i = 0; i < mom_entity_n_controls(e); i++) {
        const MomControl *c = mom_entity_control(e, i);
        g_string_append(out, i ? ", " : "");
        mom_json_append_string(out, c->name);
        g_string_append(out, ": ");
        mom_json_append_value(out, &c->value);
    }
    g_string_append(out, "}, \"origins\": {");
    for (guint i = 0; i < mom_entity_n_controls(e); i++) {
        const MomControl *c = mom_entity_control(e, i);
        g_autofree char *where = g_strdup_printf("%s:%d:%d", c->file, c->line, c->col);
        g_string_append(out, i ? ", " : "");
        mom_json_append_string(out, c->name);
        g_string_append(out, ": ");
        mom_json_append_string(out, where);
    }
    g_string_append(out, "}");
}

static void
json_diags(GString *out, const char *key, GPtrArray *a, GPtrArray *b)
{
    gboolean first = TRUE;

    g_string_append_printf(out, ",\n \"%s\": [", key);
    for (int pass = 0; pass < 2; pass++) {
        GPtrArray *arr = pass ? b : a;
        for (guint i = 0; arr && i < arr->len; i++) {
            g_autofree char *line = mom_policy_diag_format_line(arr->pdata[i]);
            g_string_append(out, first ? "" : ", ");
            mom_json_append_string(out, line);
            first = FALSE;
        }
    }
    g_string_append(out, "]");
}

char *
mom_state_report_json(const MomState *state, const MomPolicyRun *run, GPtrArray *load_errors)
{
    GString *out = g_string_new(NULL);
    gboolean ok = run->ok && run->errors->len == 0 && (!load_errors || load_errors->len == 0);

    g_string_append_printf(out, "{\"ok\": %s,\n \"host\": ", ok ? "true" : "false");
    json_controls(out, state->host);
    g_string_append(out, "},\n \"guests\": {");
    for (guint i = 0; i < state->guests->len; i++) {
        const MomEntity *g = state->guests->pdata[i];
        g_string_append(out, i ? ",\n   " : "\n   ");
        mom_json_append_string(out, mom_entity_name(g));
        g_string_append(out, ": ");
        json_controls(out, g);
        g_string_append(out, ", \"error\": ");
        if (mom_entity_error(g))
            mom_json_append_string(out, mom_entity_error(g));
        else
            g_string_append(out, "null");
        g_string_append(out, "}");
    }
    g_string_append(out, "}");
    json_diags(out, "debug", run->debug, NULL);
    g_autoptr(GPtrArray) warnings = warnings_for(state);
    g_string_append(out, ",\n \"warnings\": [");
    for (guint i = 0; i < warnings->len; i++) {
        g_string_append(out, i ? ", " : "");
        mom_json_append_string(out, warnings->pdata[i]);
    }
    g_string_append(out, "]");
    json_diags(out, "errors", load_errors, run->errors);
    g_string_append(out, "}\n");
    return g_string_free(out, FALSE);
}

static void
text_entity(GString *out, const char *title, const MomEntity *e)
{
    g_string_append_printf(out, "%s\n", title);
    if (mom_entity_error(e))
        g_string_append_printf(out, "  no controls: %s\n", mom_entity_error(e));
    else if (mom_entity_n_controls(e) == 0)
        g_string_append(out, "  no controls\n");
    for (guint i = 0; i < mom_entity_n_controls(e); i++) {
        const MomControl *c = mom_entity_control(e, i);
        g_autoptr(GString) v = g_string_new(NULL);
        mom_value_repr(&c->value, TRUE, v);
        g_string_append_printf(out, "  %-24s %-22s # %s:%d:%d\n", c->name, v->str, c->file, c->line,
                               c->col);
    }
}

static void
text_diags(GString *out, GPtrArray *arr, gboolean with_source)
{
    for (guint i = 0; arr && i < arr->len; i++) {
        g_autofree char *s = with_source ? mom_policy_diag_format(arr->pdata[i])
                                         : mom_policy_diag_format_line(arr->pdata[i]);
        g_string_append(out, s);
        if (!with_source)
            g_string_append_c(out, '\n');
    }
}

char *
mom_state_report_text(const MomState *state, const MomPolicyRun *run, GPtrArray *load_errors)
{
    GString *out = g_string_new(NULL);

    text_entity(out, "Host", state->host);
    for (guint i = 0; i < state->guests->len; i++) {
        const MomEntity *g = state->guests->pdata[i];
        g_autofree char *title = g_strdup_printf("Guest %s", mom_entity_name(g));
        text_entity(out, title, g);
    }
    if (run->debug->len) {
        g_string_append(out, "\n");
        text_diags(out, run->debug, FALSE);
    }
    g_autoptr(GPtrArray) warnings = warnings_for(state);
    if (warnings->len) {
        g_string_append(out, "\n");
        for (guint i = 0; i < warnings->len; i++)
            g_string_append_printf(out, "%s\n", (char *)warnings->pdata[i]);
    }
    if (!run->ok)
        g_string_append(out, "\nThe run was aborted: no controls would be applied.\n");
    if ((load_errors && load_errors->len) || run->errors->len) {
        g_string_append(out, "\n");
        text_diags(out, load_errors, TRUE);
        text_diags(out, run->errors, TRUE);
    }
    return g_string_free(out, FALSE);
}
