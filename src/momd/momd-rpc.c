/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The daemon's control API methods: MOM's (ping, setPolicy,
 * setNamedPolicy, getPolicy, getNamedPolicies, resetPolicies,
 * setVerbosity, getStatistics, getActiveGuests) with MOM's names and
 * types, and momd's additions (getStatus, getGuestStatistics, getControls,
 * getHistory, getExplanation, getSnapshot, setPolicyParameters,
 * checkPolicy).  Handlers run on the
 * main loop and only read the daemon's state or change policies, so they
 * are quick.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "mom-json.h"
#include "mom-log.h"
#include "mom-state.h"
#include "momd-priv.h"

static JsonNode *
node_bool(gboolean b)
{
    JsonNode *n = json_node_new(JSON_NODE_VALUE);
    json_node_set_boolean(n, b);
    return n;
}

static JsonNode *
node_string(const char *s)
{
    JsonNode *n = json_node_new(JSON_NODE_VALUE);
    json_node_set_string(n, s);
    return n;
}

static JsonNode *
node_value(const MomValue *v)
{
    JsonNode *n;

    switch (v->type) {
    case MOM_VALUE_INT:
        n = json_node_new(JSON_NODE_VALUE);
        json_node_set_int(n, v->u.i);
        return n;
    case MOM_VALUE_FLOAT:
        n = json_node_new(JSON_NODE_VALUE);
        json_node_set_double(n, v->u.d);
        return n;
    case MOM_VALUE_BOOL:
        return node_bool(v->u.b);
    case MOM_VALUE_STRING:
        return node_string(mom_value_string_get(v));
    case MOM_VALUE_NIL:
        return json_node_new(JSON_NODE_NULL);
    default: {
        g_autoptr(GString) s = g_string_new(NULL);
        mom_value_repr(v, FALSE, s);
        return node_string(s->str);
    }
    }
}

static gboolean
param_string(JsonArray *params, guint i, const char *method, const char **out, GError **error)
{
    JsonNode *n = json_array_get_element(params, i);

    if (JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING) {
        *out = json_node_get_string(n);
        return TRUE;
    }
    g_set_error(error, MOM_RPC_ERROR, MOM_RPC_FAULT_PARAMS, "%s: parameter %u must be a string.",
                method, i + 1);
    return FALSE;
}

static GPtrArray *
ready_guests(Momd *d)
{
    return mom_guests_entities(d->guests);
}

/* ---- MOM's methods --------------------------------------------------------------- */

static JsonNode *
rpc_ping(JsonArray *params, gpointer data, GError **error)
{
    return node_bool(TRUE);
}

/* Installs or deletes the policy @name for @method.  A text that does not
 * parse is false, as in MOM; a change the engine's trial run refuses (the
 * policies would fail on the current state) is a fault that names the
 * policy and the error, so that the caller knows nothing changed. */
static JsonNode *
install(Momd *d, const char *method, const char *name, const char *text, GError **error)
{
    g_autoptr(GError) refused = NULL;

    if (mom_engine_set_policy(d->engine, name, text, NULL, &refused))
        return node_bool(TRUE);
    if (g_error_matches(refused, MOM_POLICY_ERROR, MOM_POLICY_ERROR_RUNTIME)) {
        g_set_error(error, MOM_RPC_ERROR, MOM_RPC_FAULT_PARAMS, "%s: %s", method, refused->message);
        return NULL;
    }
    return node_bool(FALSE);
}

static JsonNode *
set_named(Momd *d, const char *method, const char *name, JsonNode *text_node, GError **error)
{
    const char *text = NULL;

    if (text_node && !JSON_NODE_HOLDS_NULL(text_node)) {
        if (!JSON_NODE_HOLDS_VALUE(text_node) ||
            json_node_get_value_type(text_node) != G_TYPE_STRING) {
            g_set_error(error, MOM_RPC_ERROR, MOM_RPC_FAULT_PARAMS,
                        "The policy text must be a string, or nil to delete the policy.");
            return NULL;
        }
        text = json_node_get_string(text_node);
    }
    /* MOM returns a plain boolean; the diagnostics go to the log and to
     * checkPolicy, which momctl calls first.  Deleting a policy that does
     * not exist is false too. */
    return install(d, method, name, text, error);
}

static JsonNode *
rpc_set_policy(JsonArray *params, gpointer data, GError **error)
{
    /* Unlike MOM, only the single-file policy is replaced: MOM cleared every
     * named policy first, which wiped vdsm's parameters. */
    return set_named(data, "setPolicy", MOM_POLICY_DEFAULT_NAME, json_array_get_element(params, 0),
                     error);
}

static JsonNode *
rpc_set_named_policy(JsonArray *params, gpointer data, GError **error)
{
    const char *name;

    if (!param_string(params, 0, "setNamedPolicy", &name, error))
        return NULL;
    /* Names reach the log, momctl's output and the terminals they are
     * read on.  A policy file's name outside the rule can still be
     * deleted (nil text). */
    if (!mom_policy_name_valid(name) &&
        !(JSON_NODE_HOLDS_NULL(json_array_get_element(params, 1)) &&
          mom_policy_set_get_text(mom_engine_policies(((Momd *)data)->engine), name))) {
        g_autofree char *shown = mom_log_escape(name, MOM_LOG_ESCAPE_NAME);
        g_set_error(error, MOM_RPC_ERROR, MOM_RPC_FAULT_PARAMS,
                    "setNamedPolicy: '%s' is not a valid policy name: a name has %s.", shown,
                    MOM_POLICY_NAME_RULE);
        return NULL;
    }
    return set_named(data, "setNamedPolicy", name, json_array_get_element(params, 1), error);
}

static JsonNode *
rpc_get_policy(JsonArray *params, gpointer data, GError **error)
{
    Momd *d = data;
    MomPolicySet *set = mom_engine_policies(d->engine);
    g_autoptr(GPtrArray) names = mom_policy_set_names(set);
    g_autoptr(GString) all = g_string_new(NULL);

    /* MOM's getPolicy: every policy's text, in evaluation order */
    for (guint i = 0; i < names->len; i++) {
        if (i)
            g_string_append_c(all, '\n');
        g_string_append(all, mom_policy_set_get_text(set, names->pdata[i]));
    }
    return node_string(all->str);
}

static JsonNode *
rpc_get_named_policies(JsonArray *params, gpointer data, GError **error)
{
    Momd *d = data;
    MomPolicySet *set = mom_engine_policies(d->engine);
    g_autoptr(GPtrArray) names = mom_policy_set_names(set);
    JsonObject *o = json_object_new();

    for (guint i = 0; i < names->len; i++)
        json_object_set_string_member(o, names->pdata[i],
                                      mom_policy_set_get_text(set, names->pdata[i]));
    JsonNode *n = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(n, o);
    return n;
}

static JsonNode *
rpc_reset_policies(JsonArray *params, gpointer data, GError **error)
{
    return node_bool(momd_reset_policies(data));
}

static JsonNode *
rpc_set_verbosity(JsonArray *params, gpointer data, GError **error)
{
    JsonNode *n = json_array_get_element(params, 0);
    g_autofree char *text = NULL;
    MomLogLevel level;

    if (JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING)
        text = g_strdup(json_node_get_string(n));
    else if (JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_INT64)
        text = g_strdup_printf("%" G_GINT64_FORMAT, json_node_get_int(n));
    g_autoptr(GError) bad = NULL;
    if (!text || !mom_log_parse_verbosity(text, &level, &bad)) {
        g_set_error(error, MOM_RPC_ERROR, MOM_RPC_FAULT_PARAMS, "setVerbosity: %s",
                    bad ? bad->message : "the verbosity must be a name or a number 1-5.");
        return NULL;
    }
    /* MOM's setVerbosity changed a logger nobody read; this one takes effect */
    mom_log_set_verbosity(level);
    g_message("Verbosity set to %s through the control API.", mom_log_level_name(level));
    return node_bool(TRUE);
}

/* @v as node_value() makes it, written straight into an answer. */
static void
write_value(GString *out, const MomValue *v)
{
    switch (v->type) {
    case MOM_VALUE_INT:
        mom_xmlrpc_write_int(out, v->u.i);
        return;
    case MOM_VALUE_FLOAT:
        mom_xmlrpc_write_double(out, v->u.d);
        return;
    case MOM_VALUE_BOOL:
        mom_xmlrpc_write_bool(out, v->u.b);
        return;
    case MOM_VALUE_STRING:
        mom_xmlrpc_write_string(out, mom_value_string_get(v));
        return;
    case MOM_VALUE_NIL:
        mom_xmlrpc_write_nil(out);
        return;
    default: {
        g_autoptr(GString) s = g_string_new(NULL);
        mom_value_repr(v, FALSE, s);
        mom_xmlrpc_write_string(out, s->str);
    }
    }
}

/* The newest sample of @e as a struct, nil fields as <nil/> (MOM crashed on them). */
static void
write_newest_sample(GString *out, MomEntity *e)
{
    MomSchema *schema = mom_entity_schema(e);

    mom_xmlrpc_write_struct_begin(out);
    for (guint f = 0; f < mom_schema_n_fields(schema); f++) {
        mom_xmlrpc_write_member(out, mom_schema_field(schema, f));
        write_value(out, mom_entity_stat(e, f));
        mom_xmlrpc_write_member_end(out);
    }
    mom_xmlrpc_write_struct_end(out);
}

/* Written, not built as a tree: at 1 000 guests the tree of 15 000 values
 * was most of the call's cost (docs/performance.md, "Control API"). */
static gboolean
rpc_get_statistics(JsonArray *params, gpointer data, GString *out, GError **error)
{
    Momd *d = data;
    g_autoptr(GPtrArray) list = ready_guests(d);

    mom_xmlrpc_write_struct_begin(out);
    mom_xmlrpc_write_member(out, "host");
    write_newest_sample(out, mom_monitor_entity(d->host));
    mom_xmlrpc_write_member_end(out);
    mom_xmlrpc_write_member(out, "guests");
    mom_xmlrpc_write_struct_begin(out);
    for (guint i = 0; i < list->len; i++) {
        mom_xmlrpc_write_member(out, mom_entity_name(list->pdata[i]));
        write_newest_sample(out, list->pdata[i]);
        mom_xmlrpc_write_member_end(out);
    }
    mom_xmlrpc_write_struct_end(out);
    mom_xmlrpc_write_member_end(out);
    mom_xmlrpc_write_struct_end(out);
    return TRUE;
}

static JsonNode *
rpc_get_active_guests(JsonArray *params, gpointer data, GError **error)
{
    g_autoptr(GPtrArray) list = ready_guests(data);
    JsonArray *a = json_array_new();

    for (guint i = 0; i < list->len; i++)
        json_array_add_string_element(a, mom_entity_name(list->pdata[i]));
    JsonNode *n = json_node_new(JSON_NODE_ARRAY);
    json_node_take_array(n, a);
    return n;
}

/* ---- momd's additions ------------------------------------------------------------------ */

static JsonObject *
table_object(GHashTable *table)
{
    JsonObject *o = json_object_new();
    GHashTableIter it;
    gpointer k, v;

    g_hash_table_iter_init(&it, table);
    while (g_hash_table_iter_next(&it, &k, &v))
        json_object_set_member(o, k, node_value(v));
    return o;
}

static JsonNode *
rpc_get_guest_statistics(JsonArray *params, gpointer data, GError **error)
{
    Momd *d = data;
    const char *name;
    MomEntity *e = NULL;

    if (!param_string(params, 0, "getGuestStatistics", &name, error))
        return NULL;
    g_autoptr(GPtrArray) list = ready_guests(d);
    for (guint i = 0; i < list->len && !e; i++)
        if (strcmp(mom_entity_name(list->pdata[i]), name) == 0)
            e = list->pdata[i];
    if (!e) {
        g_set_error(error, MOM_RPC_ERROR, MOM_RPC_FAULT_PARAMS,
                    "getGuestStatistics: momd manages no guest named '%s'.", name);
        return NULL;
    }
    MomSchema *schema = mom_entity_schema(e);
    JsonObject *o = json_object_new();
    JsonArray *samples = json_array_new();
    for (guint k = 0; k < mom_entity_n_samples(e); k++) {
        JsonObject *s = json_object_new();
        for (guint f = 0; f < mom_schema_n_fields(schema); f++) {
            MomValue v = mom_entity_sample_value(e, k, f);
            json_object_set_member(s, mom_schema_field(schema, f), node_value(&v));
        }
        json_array_add_object_element(samples, s);
    }
    json_object_set_object_member(o, "properties", table_object(mom_entity_props(e)));
    json_object_set_object_member(o, "variables", table_object(mom_entity_vars(e)));
    json_object_set_array_member(o, "samples", samples);
    JsonNode *n = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(n, o);
    return n;
}

/* Writes member @name holding the string @value. */
static void
write_string_member(GString *out, const char *name, const char *value)
{
    mom_xmlrpc_write_member(out, name);
    mom_xmlrpc_write_string(out, value);
    mom_xmlrpc_write_member_end(out);
}

/* The controls @e got in the last cycle: name -> {value, origin, outcome}. */
static void
write_controls(GString *out, MomEntity *e)
{
    mom_xmlrpc_write_struct_begin(out);
    for (guint i = 0; i < mom_entity_n_controls(e); i++) {
        const MomControl *c = mom_entity_control(e, i);
        g_autofree char *origin = g_strdup_printf("%s:%d:%d", c->file, c->line, c->col);

        mom_xmlrpc_write_member(out, c->name);
        mom_xmlrpc_write_struct_begin(out);
        mom_xmlrpc_write_member(out, "value");
        write_value(out, &c->value);
        mom_xmlrpc_write_member_end(out);
        write_string_member(out, "origin", origin);
        write_string_member(out, "outcome", c->outcome ? c->outcome : "not applied");
        mom_xmlrpc_write_struct_end(out);
        mom_xmlrpc_write_member_end(out);
    }
    mom_xmlrpc_write_struct_end(out);
}

/* @time (wall µs) as ISO 8601 in the local time zone. */
static char *
iso_time(gint64 time)
{
    g_autoptr(GDateTime) t = g_date_time_new_from_unix_local(time / G_USEC_PER_SEC);
    return g_date_time_format_iso8601(t);
}

/* The debug lines of @why ("FILE:LINE:COL: debug: MESSAGE"), and a last
 * line saying how many the bounds left out. */
static JsonArray *
debug_array(const MomExplanation *why)
{
    JsonArray *a = json_array_new();
    guint dropped = 0;

    for (guint i = 0; why && i < mom_explanation_n_debug(why); i++) {
        g_autofree char *line = mom_policy_diag_format_line(mom_explanation_debug(why, i));
        json_array_add_string_element(a, line);
    }
    if (why)
        mom_explanation_dropped(why, &dropped);
    if (dropped) {
        g_autofree char *note = g_strdup_printf("%u more debug lines were left out.", dropped);
        json_array_add_string_element(a, note);
    }
    return a;
}

/* A decision as getHistory and getExplanation give it. */
static JsonObject *
decision_object(const MomDecision *dec)
{
    JsonObject *o = json_object_new();
    g_autofree char *iso = iso_time(dec->time);

    json_object_set_string_member(o, "time", iso);
    json_object_set_int_member(o, "cycle", (gint64)dec->cycle);
    json_object_set_string_member(o, "entity", dec->entity);
    json_object_set_string_member(o, "control", dec->control);
    json_object_set_string_member(o, "before", dec->before);
    json_object_set_string_member(o, "requested", dec->requested);
    json_object_set_string_member(o, "outcome", dec->outcome);
    json_object_set_string_member(o, "origin", dec->origin);
    json_object_set_array_member(o, "debug", debug_array(dec->why));
    return o;
}

/* getHistory([entity], [seconds]): the decisions about one entity ("host",
 * a guest's name; "" or none: all) of the last @seconds (none: all kept),
 * the oldest first. */
static JsonNode *
rpc_get_history(JsonArray *params, gpointer data, GError **error)
{
    Momd *d = data;
    const char *entity = NULL;
    gint64 since = G_MININT64;

    if (json_array_get_length(params) > 0 && !param_string(params, 0, "getHistory", &entity, error))
        return NULL;
    if (json_array_get_length(params) > 1) {
        JsonNode *n = json_array_get_element(params, 1);
        if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_INT64 ||
            json_node_get_int(n) < 0) {
            g_set_error(error, MOM_RPC_ERROR, MOM_RPC_FAULT_PARAMS,
                        "getHistory: the second parameter, the seconds to look back, must be an "
                        "integer of 0 or more.");
            return NULL;
        }
        since = g_get_real_time() - json_node_get_int(n) * G_USEC_PER_SEC;
    }
    g_autoptr(GPtrArray) list =
        mom_history_query(d->history, entity && *entity ? entity : NULL, since);
    JsonArray *a = json_array_new();
    for (guint i = 0; i < list->len; i++)
        json_array_add_object_element(a, decision_object(list->pdata[i]));
    JsonNode *n = json_node_new(JSON_NODE_ARRAY);
    json_node_take_array(n, a);
    return n;
}

static const char *const input_kinds[] = {
    [MOM_INPUT_FIELD] = "field",
    [MOM_INPUT_AVERAGE] = "average",
    [MOM_INPUT_ENTITY_VAR] = "entity variable",
    [MOM_INPUT_VARIABLE] = "variable",
};

/* One cycle of an entity: when, its decisions (@decisions, the
 * MomDecisions of that cycle), and what the policies read and wrote for
 * it (@why, may be NULL). */
static JsonObject *
cycle_object(guint64 cycle, gint64 time, GPtrArray *decisions, const MomExplanation *why)
{
    JsonObject *o = json_object_new();
    g_autofree char *iso = iso_time(time);
    JsonArray *decided = json_array_new();
    JsonArray *inputs = json_array_new();
    guint dropped = 0, dropped_debug = 0;

    json_object_set_int_member(o, "cycle", (gint64)cycle);
    json_object_set_string_member(o, "time", iso);
    for (guint i = 0; decisions && i < decisions->len; i++)
        json_array_add_object_element(decided, decision_object(decisions->pdata[i]));
    json_object_set_array_member(o, "decisions", decided);
    for (guint i = 0; why && i < mom_explanation_n_inputs(why); i++) {
        const MomPolicyInput *in = mom_explanation_input(why, i);
        JsonObject *io = json_object_new();
        json_object_set_string_member(io, "kind", input_kinds[in->kind]);
        if (in->entity)
            json_object_set_string_member(io, "entity", in->entity);
        else
            json_object_set_null_member(io, "entity");
        json_object_set_string_member(io, "name", in->name);
        json_object_set_member(io, "value", node_value(&in->value));
        json_array_add_object_element(inputs, io);
    }
    json_object_set_array_member(o, "inputs", inputs);
    if (why)
        dropped = mom_explanation_dropped(why, &dropped_debug);
    json_object_set_int_member(o, "inputs_left_out", dropped);
    /* the decisions' debug lines are the cycle's: once here */
    json_object_set_array_member(o, "debug", debug_array(why));
    return o;
}

/* getExplanation(entity): the entity's last cycle with decisions, and its
 * newest cycle when that is a later one, each with what the policies read
 * and wrote for it. */
static JsonNode *
rpc_get_explanation(JsonArray *params, gpointer data, GError **error)
{
    Momd *d = data;
    const char *entity;
    guint64 cycle = 0;
    gint64 time = 0;
    MomExplanation *why = NULL;

    if (!param_string(params, 0, "getExplanation", &entity, error))
        return NULL;
    gboolean current = mom_history_latest(d->history, entity, &cycle, &time, &why);
    g_autoptr(GPtrArray) all = mom_history_query(d->history, entity, G_MININT64);
    if (!current && all->len == 0) {
        if (strcmp(entity, "host") == 0)
            g_set_error(error, MOM_RPC_ERROR, MOM_RPC_FAULT_PARAMS,
                        "getExplanation: no policy cycle has run yet, so there is nothing to "
                        "explain about the host.");
        else
            g_set_error(error, MOM_RPC_ERROR, MOM_RPC_FAULT_PARAMS,
                        "getExplanation: momd knows no guest named '%s': no policy cycle saw it "
                        "lately and no decision about it is kept.",
                        entity);
        return NULL;
    }
    /* the decisions of the last cycle that had any */
    g_autoptr(GPtrArray) last = g_ptr_array_new();
    const MomDecision *newest = all->len ? all->pdata[all->len - 1] : NULL;
    for (guint i = 0; i < all->len; i++)
        if (((MomDecision *)all->pdata[i])->cycle == newest->cycle)
            g_ptr_array_add(last, all->pdata[i]);

    JsonObject *o = json_object_new();
    json_object_set_string_member(o, "entity", entity);
    if (newest)
        json_object_set_object_member(o, "decided",
                                      cycle_object(newest->cycle, newest->time, last, newest->why));
    else
        json_object_set_null_member(o, "decided");
    if (current && (!newest || cycle != newest->cycle))
        json_object_set_object_member(o, "latest", cycle_object(cycle, time, NULL, why));
    else
        json_object_set_null_member(o, "latest");
    JsonNode *n = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(n, o);
    return n;
}

/* Written, not built as a tree, like getStatistics: 600 KB at 1 000 guests. */
static gboolean
rpc_get_controls(JsonArray *params, gpointer data, GString *out, GError **error)
{
    Momd *d = data;
    const MomEngineRun *last = mom_engine_last_run(d->engine);
    g_autoptr(GPtrArray) list = ready_guests(d);

    mom_xmlrpc_write_struct_begin(out);
    mom_xmlrpc_write_member(out, "cycle");
    mom_xmlrpc_write_int(out, (gint64)last->cycle);
    mom_xmlrpc_write_member_end(out);
    mom_xmlrpc_write_member(out, "time");
    if (last->cycle) {
        g_autoptr(GDateTime) t = g_date_time_new_from_unix_local(last->time / G_USEC_PER_SEC);
        g_autofree char *iso = g_date_time_format_iso8601(t);
        mom_xmlrpc_write_string(out, iso);
    } else {
        mom_xmlrpc_write_nil(out);
    }
    mom_xmlrpc_write_member_end(out);
    mom_xmlrpc_write_member(out, "ok");
    mom_xmlrpc_write_bool(out, last->ok);
    mom_xmlrpc_write_member_end(out);
    mom_xmlrpc_write_member(out, "errors");
    mom_xmlrpc_write_array_begin(out);
    for (guint i = 0; i < last->errors->len; i++) {
        mom_xmlrpc_write_string(out, last->errors->pdata[i]);
        mom_xmlrpc_write_item_end(out);
    }
    mom_xmlrpc_write_array_end(out);
    mom_xmlrpc_write_member_end(out);
    mom_xmlrpc_write_member(out, "host");
    write_controls(out, mom_monitor_entity(d->host));
    mom_xmlrpc_write_member_end(out);
    mom_xmlrpc_write_member(out, "guests");
    mom_xmlrpc_write_struct_begin(out);
    for (guint i = 0; i < list->len; i++) {
        MomEntity *g = list->pdata[i];

        mom_xmlrpc_write_member(out, mom_entity_name(g));
        mom_xmlrpc_write_struct_begin(out);
        mom_xmlrpc_write_member(out, "controls");
        write_controls(out, g);
        mom_xmlrpc_write_member_end(out);
        mom_xmlrpc_write_member(out, "error");
        if (mom_entity_error(g))
            mom_xmlrpc_write_string(out, mom_entity_error(g));
        else
            mom_xmlrpc_write_nil(out);
        mom_xmlrpc_write_member_end(out);
        mom_xmlrpc_write_struct_end(out);
        mom_xmlrpc_write_member_end(out);
    }
    mom_xmlrpc_write_struct_end(out);
    mom_xmlrpc_write_member_end(out);
    mom_xmlrpc_write_struct_end(out);
    return TRUE;
}

static JsonNode *
rpc_get_snapshot(JsonArray *params, gpointer data, GError **error)
{
    Momd *d = data;
    g_autoptr(GPtrArray) list = ready_guests(d);
    g_autofree char *json = mom_state_to_json(mom_monitor_entity(d->host), list);

    /* the state file's text, as momctl policy test --state reads it */
    return node_string(json);
}

/* True when @name can stand in a policy as a variable name. */
static gboolean
is_symbol(const char *name)
{
    if (!g_ascii_isalpha(*name) && *name != '_')
        return FALSE;
    for (const char *p = name + 1; *p; p++)
        if (!g_ascii_isalnum(*p) && !strchr("_.-", *p))
            return FALSE;
    return TRUE;
}

static JsonNode *
rpc_set_policy_parameters(JsonArray *params, gpointer data, GError **error)
{
    JsonNode *n = json_array_get_element(params, 0);
    g_autoptr(GString) text = g_string_new("# Set through setPolicyParameters.\n");

    if (!JSON_NODE_HOLDS_OBJECT(n)) {
        g_set_error(error, MOM_RPC_ERROR, MOM_RPC_FAULT_PARAMS,
                    "setPolicyParameters: the parameter must be a struct of name: value.");
        return NULL;
    }
    JsonObject *o = json_node_get_object(n);
    g_autoptr(GList) names = json_object_get_members(o);
    names = g_list_sort(names, (GCompareFunc)strcmp);
    for (GList *l = names; l; l = l->next) {
        const char *name = l->data;
        JsonNode *v = json_object_get_member(o, name);
        if (!is_symbol(name)) {
            g_set_error(error, MOM_RPC_ERROR, MOM_RPC_FAULT_PARAMS,
                        "setPolicyParameters: '%s' is not a valid variable name.", name);
            return NULL;
        }
        g_string_append_printf(text, "(set %s ", name);
        GType t = JSON_NODE_HOLDS_VALUE(v) ? json_node_get_value_type(v) : G_TYPE_INVALID;
        if (t == G_TYPE_INT64) {
            g_string_append_printf(text, "%" G_GINT64_FORMAT, json_node_get_int(v));
        } else if (t == G_TYPE_DOUBLE) {
            char buf[32];
            g_string_append(text, mom_format_double(json_node_get_double(v), buf));
        } else if (t == G_TYPE_BOOLEAN) {
            /* vdsm writes True/False, which its 00-defines define as 1/0 */
            g_string_append(text, json_node_get_boolean(v) ? "1" : "0");
        } else if (t == G_TYPE_STRING && !strpbrk(json_node_get_string(v), "\"\\\n")) {
            g_string_append_printf(text, "\"%s\"", json_node_get_string(v));
        } else {
            g_set_error(error, MOM_RPC_ERROR, MOM_RPC_FAULT_PARAMS,
                        "setPolicyParameters: the value of '%s' must be a number, a boolean or a "
                        "string without quotes, backslashes or newlines.",
                        name);
            return NULL;
        }
        g_string_append(text, ")\n");
    }
    return install(data, "setPolicyParameters", "01-parameters", text->str, error);
}

/* Tries the active policies with @name replaced by @text (the engine's
 * trial run, as setNamedPolicy does it), and adds to @out the run-time
 * errors that the active policies alone do not have: a policy is not
 * blamed for another's error.  Returns: TRUE when it adds none. */
static gboolean
trial_run(Momd *d, const char *name, const char *file, const char *text, JsonArray *out)
{
    g_autoptr(MomPolicySet) candidate = mom_policy_set_copy(mom_engine_policies(d->engine));
    g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GError) error = NULL;

    if (!mom_policy_set_add_string(candidate, name, file, text, -1, NULL, NULL))
        return FALSE;
    if (mom_engine_try(d->engine, candidate, problems, &error))
        return TRUE;
    for (guint i = 0; i < problems->len; i++)
        json_array_add_string_element(out, problems->pdata[i]);
    if (problems->len == 0) /* interrupted */
        json_array_add_string_element(out, error->message);
    return FALSE;
}

static JsonNode *
rpc_check_policy(JsonArray *params, gpointer data, GError **error)
{
    const char *text, *name = "policy", *file = NULL;
    g_autoptr(GPtrArray) diags =
        g_ptr_array_new_with_free_func((GDestroyNotify)mom_policy_diag_free);

    if (!param_string(params, 0, "checkPolicy", &text, error))
        return NULL;
    if (json_array_get_length(params) > 1 && !param_string(params, 1, "checkPolicy", &name, error))
        return NULL;
    if (json_array_get_length(params) > 2 && !param_string(params, 2, "checkPolicy", &file, error))
        return NULL;
    if (!file)
        file = name; /* how the diagnostics name it: the user's file, when given */
    g_autoptr(MomPolicySet) set = mom_policy_set_new();
    gboolean ok = mom_policy_set_add_string(set, name, file, text, -1, diags, NULL);
    JsonObject *o = json_object_new();
    JsonArray *a = json_array_new();
    for (guint i = 0; i < diags->len; i++) {
        g_autofree char *s = mom_policy_diag_format(diags->pdata[i]);
        json_array_add_string_element(a, s);
    }
    /* A policy that parses can still fail every cycle (an undefined name,
     * a type error): try it, with the others, on the current state. */
    if (ok)
        ok = trial_run(data, name, file, text, a);
    json_object_set_boolean_member(o, "ok", ok);
    json_object_set_array_member(o, "errors", a);
    JsonNode *n = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(n, o);
    return n;
}

static JsonNode *
rpc_get_status(JsonArray *params, gpointer data, GError **error)
{
    Momd *d = data;
    JsonObject *o = json_object_new();
    JsonObject *intervals = json_object_new();
    JsonObject *libvirt = json_object_new();
    JsonArray *policies = json_array_new();
    MomEntity *host = mom_monitor_entity(d->host);
    g_autoptr(GPtrArray) names = mom_policy_set_names(mom_engine_policies(d->engine));
    g_autoptr(GPtrArray) list = ready_guests(d);
    const MomEngineRun *last = mom_engine_last_run(d->engine);

    json_object_set_string_member(o, "version", PACKAGE_VERSION);
    json_object_set_int_member(o, "pid", getpid());
    json_object_set_int_member(o, "uptime", (g_get_real_time() - d->started) / G_USEC_PER_SEC);
    json_object_set_boolean_member(o, "dry_run", d->config->main.dry_run);
    json_object_set_string_member(o, "verbosity", mom_log_level_name(mom_log_get_verbosity()));
    for (guint i = 0; i < names->len; i++)
        json_array_add_string_element(policies, names->pdata[i]);
    json_object_set_array_member(o, "policies", policies);
    /* a missing policy directory leaves momd idle, which "ok" alone would hide */
    GPtrArray *problems = mom_engine_problems(d->engine);
    JsonArray *pp = json_array_new();
    for (guint i = 0; i < problems->len; i++)
        json_array_add_string_element(pp, problems->pdata[i]);
    json_object_set_array_member(o, "policy_problems", pp);
    json_object_set_int_member(intervals, "host-monitor", d->config->main.host_monitor_interval);
    json_object_set_int_member(intervals, "guest-monitor", d->config->main.guest_monitor_interval);
    json_object_set_int_member(intervals, "guest-manager", d->config->main.guest_manager_interval);
    json_object_set_int_member(intervals, "policy-engine", d->config->main.policy_engine_interval);
    json_object_set_object_member(o, "intervals", intervals);
    json_object_set_string_member(libvirt, "uri", mom_libvirt_uri(d->libvirt));
    json_object_set_boolean_member(libvirt, "connected", mom_libvirt_connected(d->libvirt));
    json_object_set_object_member(o, "libvirt", libvirt);
    json_object_set_int_member(o, "guests", mom_guests_count(d->guests));
    json_object_set_int_member(o, "guests_ready", list->len);
    JsonObject *ksm = json_object_new();
    static const char *const ksm_fields[] = {"ksm_run", "ksm_pages_sharing", "ksm_pages_shared",
                                             "ksm_pages_to_scan", "ksm_sleep_millisecs"};
    for (guint i = 0; i < G_N_ELEMENTS(ksm_fields); i++) {
        int f = mom_schema_lookup(mom_entity_schema(host), ksm_fields[i]);
        if (f >= 0)
            json_object_set_member(ksm, ksm_fields[i] + 4, node_value(mom_entity_stat(host, f)));
    }
    json_object_set_object_member(o, "ksm", ksm);
    JsonObject *cycle = json_object_new();
    json_object_set_int_member(cycle, "number", (gint64)last->cycle);
    json_object_set_boolean_member(cycle, "ok", last->ok);
    json_object_set_int_member(cycle, "errors", last->errors->len);
    if (last->cycle) {
        g_autoptr(GDateTime) t = g_date_time_new_from_unix_local(last->time / G_USEC_PER_SEC);
        g_autofree char *iso = g_date_time_format_iso8601(t);
        json_object_set_string_member(cycle, "time", iso);
    } else {
        json_object_set_null_member(cycle, "time");
    }
    json_object_set_object_member(o, "last_cycle", cycle);
    JsonNode *n = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(n, o);
    return n;
}

static const MomRpcMethod methods[] = {
    {"ping", 0, 0, rpc_ping, "Returns true."},
    {"setPolicy", 1, 1, rpc_set_policy,
     "Replaces the single-file policy (50_main_) with the text; false if it does not parse, a "
     "fault if the policies would then fail on the current state."},
    {"setNamedPolicy", 2, 2, rpc_set_named_policy,
     "Installs the text as the named policy, or deletes it when the text is nil; false if it "
     "does not parse, a fault if the policies would then fail on the current state."},
    {"getPolicy", 0, 0, rpc_get_policy, "Returns every policy's text, in evaluation order."},
    {"getNamedPolicies", 0, 0, rpc_get_named_policies, "Returns a struct of name: text."},
    {"resetPolicies", 0, 0, rpc_reset_policies,
     "Forgets the policies set through this API and reloads the policy files."},
    {"setVerbosity", 1, 1, rpc_set_verbosity,
     "Sets the log verbosity (debug, info, warn, error, critical, or 5..1)."},
    {"getStatistics", 0, 0, NULL, "Returns the newest sample of the host and of every guest.",
     rpc_get_statistics},
    {"getActiveGuests", 0, 0, rpc_get_active_guests, "Returns the names of the guests."},
    {"getStatus", 0, 0, rpc_get_status, "momd: the daemon's state, for momctl status."},
    {"getGuestStatistics", 1, 1, rpc_get_guest_statistics,
     "momd: a guest's properties, variables and whole sample history."},
    {"getControls", 0, 0, NULL,
     "momd: the last cycle's controls, where each was set, and what was done.", rpc_get_controls},
    {"getHistory", 0, 2, rpc_get_history,
     "momd: the decisions of the last cycles (getHistory(entity, seconds), both optional: one "
     "entity, \"host\" or a guest, and how far back), the oldest first."},
    {"getExplanation", 1, 1, rpc_get_explanation,
     "momd: why an entity (\"host\" or a guest) got its last decision, and what its newest "
     "cycle did: the decisions, the inputs the policies read for it and their debug lines."},
    {"getSnapshot", 0, 0, rpc_get_snapshot,
     "momd: the state as a JSON text for momctl policy test --state."},
    {"setPolicyParameters", 1, 1, rpc_set_policy_parameters,
     "momd: writes a struct of name: value as (set NAME VALUE) lines into 01-parameters; a fault "
     "if the policies would then fail on the current state."},
    {"checkPolicy", 1, 3, rpc_check_policy,
     "momd: parses a policy text (checkPolicy(text, name, file): name and the file name shown in "
     "messages are optional) and tries it with the "
     "other policies on a copy of the current state, without installing it; returns ok and the "
     "errors."},
    {NULL},
};

/* Another momd listening on the socket must not lose it to us. */
static gboolean
socket_in_use(const char *path)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    int fd;
    gboolean used;

    if (strlen(path) >= sizeof(addr.sun_path))
        return FALSE;
    strcpy(addr.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return FALSE;
    used = connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0;
    close(fd);
    return used;
}

gboolean
momd_rpc_start(Momd *d, GError **error)
{
    const MomConfigRpcPort *p = &d->config->main.rpc_port;
    MomRpcConfig cfg = {
        .socket_path = p->socket_path,
        .tcp_port = p->port,
        .group = d->config->main.rpc_group,
    };

    if (!p->socket_path && p->port <= 0) {
        g_message("The control API is off (rpc-port -1).");
        return TRUE;
    }
    if (p->socket_path && socket_in_use(p->socket_path)) {
        g_set_error(error, MOM_RPC_ERROR, MOM_RPC_FAULT_INTERNAL,
                    "Another momd already serves the control API on %s.", p->socket_path);
        return FALSE;
    }
    d->rpc = mom_rpc_server_new(&cfg, methods, d, error);
    if (!d->rpc)
        return FALSE;
    if (p->socket_path)
        g_message("The control API listens on %s.", p->socket_path);
    return TRUE;
}
