/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <math.h>

#include "mom-json.h"

void
mom_json_append_string(GString *out, const char *s)
{
    g_string_append_c(out, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':
            g_string_append(out, "\\\"");
            break;
        case '\\':
            g_string_append(out, "\\\\");
            break;
        case '\n':
            g_string_append(out, "\\n");
            break;
        case '\t':
            g_string_append(out, "\\t");
            break;
        case '\r':
            g_string_append(out, "\\r");
            break;
        default:
            if (*p < 0x20 || *p == 0x7f)
                g_string_append_printf(out, "\\u%04x", *p);
            else
                g_string_append_c(out, (char)*p);
        }
    }
    g_string_append_c(out, '"');
}

void
mom_json_append_value(GString *out, const MomValue *v)
{
    char buf[32];

    switch (v->type) {
    case MOM_VALUE_NIL:
        g_string_append(out, "null");
        break;
    case MOM_VALUE_BOOL:
        g_string_append(out, v->u.b ? "true" : "false");
        break;
    case MOM_VALUE_INT:
        g_string_append_printf(out, "%" G_GINT64_FORMAT, v->u.i);
        break;
    case MOM_VALUE_FLOAT:
        mom_format_double(v->u.d, buf);
        if (isfinite(v->u.d))
            g_string_append(out, buf);
        else
            mom_json_append_string(out, buf);
        break;
    case MOM_VALUE_STRING:
        mom_json_append_string(out, mom_value_string_get(v));
        break;
    case MOM_VALUE_LIST:
        g_string_append_c(out, '[');
        for (guint i = 0; i < mom_value_list_length(v); i++) {
            if (i)
                g_string_append(out, ", ");
            mom_json_append_value(out, mom_value_list_get(v, i));
        }
        g_string_append_c(out, ']');
        break;
    case MOM_VALUE_RECORD:
        g_string_append_c(out, '{');
        for (guint i = 0; i < mom_record_n_members(v->u.r); i++) {
            const MomValue *m;
            const char *name = mom_record_member(v->u.r, i, &m);
            g_string_append(out, i ? ", " : "");
            mom_json_append_string(out, name);
            g_string_append(out, ": ");
            mom_json_append_value(out, m);
        }
        /* the setters too, so that a snapshot replays (tune.setX v) calls */
        if (mom_record_n_setters(v->u.r)) {
            g_string_append(out, mom_record_n_members(v->u.r) ? ", " : "");
            g_string_append(out, "\"@setters\": {");
            for (guint i = 0; i < mom_record_n_setters(v->u.r); i++) {
                const char *control;
                const char *method = mom_record_setter(v->u.r, i, &control);
                g_string_append(out, i ? ", " : "");
                mom_json_append_string(out, method);
                g_string_append(out, ": ");
                mom_json_append_string(out, control);
            }
            g_string_append_c(out, '}');
        }
        g_string_append_c(out, '}');
        break;
    default: {
        g_autoptr(GString) s = g_string_new(NULL);
        mom_value_repr(v, FALSE, s);
        mom_json_append_string(out, s->str);
        break;
    }
    }
}

static void
indent(GString *out, guint depth)
{
    g_string_append_c(out, '\n');
    for (guint i = 0; i < depth; i++)
        g_string_append(out, "  ");
}

static void
append_node(GString *out, JsonNode *node, guint depth)
{
    char buf[32];

    switch (JSON_NODE_TYPE(node)) {
    case JSON_NODE_NULL:
        g_string_append(out, "null");
        break;
    case JSON_NODE_VALUE: {
        GType t = json_node_get_value_type(node);
        if (t == G_TYPE_INT64)
            g_string_append_printf(out, "%" G_GINT64_FORMAT, json_node_get_int(node));
        else if (t == G_TYPE_DOUBLE) {
            double d = json_node_get_double(node);
            mom_format_double(d, buf);
            if (isfinite(d))
                g_string_append(out, buf);
            else
                mom_json_append_string(out, buf);
        } else if (t == G_TYPE_BOOLEAN)
            g_string_append(out, json_node_get_boolean(node) ? "true" : "false");
        else
            mom_json_append_string(out, json_node_get_string(node));
        break;
    }
    case JSON_NODE_ARRAY: {
        JsonArray *a = json_node_get_array(node);
        guint n = json_array_get_length(a);
        g_string_append_c(out, '[');
        for (guint i = 0; i < n; i++) {
            g_string_append(out, i ? "," : "");
            indent(out, depth + 1);
            append_node(out, json_array_get_element(a, i), depth + 1);
        }
        if (n)
            indent(out, depth);
        g_string_append_c(out, ']');
        break;
    }
    case JSON_NODE_OBJECT: {
        JsonObject *o = json_node_get_object(node);
        g_autoptr(GList) members = json_object_get_members(o);
        g_string_append_c(out, '{');
        for (GList *m = members; m; m = m->next) {
            g_string_append(out, m != members ? "," : "");
            indent(out, depth + 1);
            mom_json_append_string(out, m->data);
            g_string_append(out, ": ");
            append_node(out, json_object_get_member(o, m->data), depth + 1);
        }
        if (members)
            indent(out, depth);
        g_string_append_c(out, '}');
        break;
    }
    }
}

char *
mom_json_node_to_string(JsonNode *node)
{
    GString *out = g_string_new(NULL);
    append_node(out, node, 0);
    return g_string_free(out, FALSE);
}
