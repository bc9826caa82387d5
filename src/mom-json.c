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
    default: {
        g_autoptr(GString) s = g_string_new(NULL);
        mom_value_repr(v, FALSE, s);
        mom_json_append_string(out, s->str);
        break;
    }
    }
}
