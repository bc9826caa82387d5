/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The XML-RPC codec (http://xmlrpc.com/spec.md), values as json-glib
 * nodes.  A call reads:
 *
 *   <?xml version="1.0"?>
 *   <methodCall>
 *     <methodName>setNamedPolicy</methodName>
 *     <params>
 *       <param><value><string>20-ksm</string></value></param>
 *       <param><value>(defvar x 1)</value></param>
 *     </params>
 *   </methodCall>
 *
 * and a response holds one <param>, or a <fault> whose value is a struct
 * of faultCode (int) and faultString (string).
 *
 * Documents come from local clients but are still untrusted: libxml2 reads
 * them without the network, without entity substitution and without DTDs
 * (a document with one is refused), within its default size and depth
 * limits, and we add our own limits on document size and value nesting.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include <glib.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "mom-policy.h"
#include "mom-rpc-priv.h"

G_DEFINE_QUARK(mom - rpc - error - quark, mom_rpc_error)

/* ---- encoding -------------------------------------------------------------- */

/* Characters XML 1.0 can carry at all (§2.2), even as references. */
static gboolean
xmlrpc_char_ok(gunichar c)
{
    return c == 0x9 || c == 0xA || c == 0xD || (c >= 0x20 && c <= 0xD7FF) ||
           (c >= 0xE000 && c <= 0xFFFD) || (c >= 0x10000 && c <= 0x10FFFF);
}

/* Escapes &, < and > as Python's xmlrpc.client does, and CR as a reference
 * so that it survives the parser's end-of-line normalisation.  Invalid
 * UTF-8 and characters XML cannot carry (most C0 controls) become U+FFFD:
 * the alternative, a malformed document, would fail the whole call. */
static void
xmlrpc_append_escaped(GString *out, const char *s)
{
    g_autofree char *valid = NULL;
    const char *run = s; /* start of the characters not yet appended */
    const char *p = s;

    if (!g_utf8_validate(s, -1, NULL))
        run = p = s = valid = g_utf8_make_valid(s, -1);
    /* Runs of characters that need nothing are copied in one append: a
     * snapshot's policy text is megabytes of them. */
    while (*p) {
        const char *escape;
        gunichar c;

        if ((guchar)*p >= 0x20 && (guchar)*p < 0x80 && *p != '&' && *p != '<' && *p != '>') {
            p++;
            continue;
        }
        c = g_utf8_get_char(p);
        switch (c) {
        case '&':
            escape = "&amp;";
            break;
        case '<':
            escape = "&lt;";
            break;
        case '>':
            escape = "&gt;";
            break;
        case '\r':
            escape = "&#13;";
            break;
        default:
            if (xmlrpc_char_ok(c)) {
                p = g_utf8_next_char(p);
                continue;
            }
            escape = "\xef\xbf\xbd"; /* U+FFFD */
        }
        g_string_append_len(out, run, p - run);
        g_string_append(out, escape);
        p = run = g_utf8_next_char(p);
    }
    g_string_append_len(out, run, p - run);
}

/* Appends the decimal digits of @i; a printf per integer was a tenth of
 * getStatistics' cost at 1 000 guests. */
static void
xmlrpc_append_int(GString *out, gint64 i)
{
    char buf[24];
    char *end = buf + sizeof(buf), *p = end;
    guint64 u = i < 0 ? (guint64)0 - (guint64)i : (guint64)i;

    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u > 0);
    if (i < 0)
        *--p = '-';
    g_string_append_len(out, p, end - p);
}

char *
mom_xmlrpc_format_double(double d, char *buf)
{
    char repr[32];
    const char *e;
    char digits[32];
    gsize n = 0;
    int exp10, point;
    GString *out;

    g_return_val_if_fail(isfinite(d), strcpy(buf, "0.0"));
    mom_format_double(d, repr);
    e = strchr(repr, 'e');
    if (e == NULL)
        return strcpy(buf, repr);
    /* "1.5e-07" or "1e+16": lay the significant digits out around the
     * point, since the spec allows no exponent in a <double>. */
    for (const char *p = repr; p < e; p++)
        if (g_ascii_isdigit(*p))
            digits[n++] = *p;
    digits[n] = '\0';
    exp10 = atoi(e + 1);
    point = 1 + exp10; /* digits before the decimal point */
    out = g_string_sized_new(MOM_XMLRPC_DOUBLE_BUFSIZE);
    if (repr[0] == '-')
        g_string_append_c(out, '-');
    if (point <= 0) {
        g_string_append(out, "0.");
        for (int i = 0; i < -point; i++)
            g_string_append_c(out, '0');
        g_string_append(out, digits);
    } else if ((gsize)point >= n) {
        g_string_append(out, digits);
        for (gsize i = n; i < (gsize)point; i++)
            g_string_append_c(out, '0');
        g_string_append(out, ".0");
    } else {
        g_string_append_len(out, digits, point);
        g_string_append_c(out, '.');
        g_string_append(out, digits + point);
    }
    g_strlcpy(buf, out->str, MOM_XMLRPC_DOUBLE_BUFSIZE);
    g_string_free(out, TRUE);
    return buf;
}

void
mom_xmlrpc_write_nil(GString *out)
{
    g_string_append(out, "<value><nil/></value>");
}

void
mom_xmlrpc_write_bool(GString *out, gboolean b)
{
    g_string_append(out, b ? "<value><boolean>1</boolean></value>"
                           : "<value><boolean>0</boolean></value>");
}

void
mom_xmlrpc_write_int(GString *out, gint64 i)
{
    /* Old clients read only 32-bit <int>; Python reads <i8> as well. */
    gboolean small = i >= G_MININT32 && i <= G_MAXINT32;

    g_string_append(out, small ? "<value><int>" : "<value><i8>");
    xmlrpc_append_int(out, i);
    g_string_append(out, small ? "</int></value>" : "</i8></value>");
}

void
mom_xmlrpc_write_double(GString *out, double d)
{
    char buf[MOM_XMLRPC_DOUBLE_BUFSIZE];

    if (!isfinite(d)) {
        mom_xmlrpc_write_nil(out);
        return;
    }
    g_string_append(out, "<value><double>");
    g_string_append(out, mom_xmlrpc_format_double(d, buf));
    g_string_append(out, "</double></value>");
}

void
mom_xmlrpc_write_string(GString *out, const char *s)
{
    g_string_append(out, "<value><string>");
    xmlrpc_append_escaped(out, s ? s : "");
    g_string_append(out, "</string></value>");
}

void
mom_xmlrpc_write_struct_begin(GString *out)
{
    g_string_append(out, "<value><struct>\n");
}

void
mom_xmlrpc_write_member(GString *out, const char *name)
{
    g_string_append(out, "<member>\n<name>");
    xmlrpc_append_escaped(out, name);
    g_string_append(out, "</name>\n");
}

void
mom_xmlrpc_write_member_end(GString *out)
{
    g_string_append(out, "\n</member>\n");
}

void
mom_xmlrpc_write_struct_end(GString *out)
{
    g_string_append(out, "</struct></value>");
}

void
mom_xmlrpc_write_array_begin(GString *out)
{
    g_string_append(out, "<value><array><data>\n");
}

void
mom_xmlrpc_write_item_end(GString *out)
{
    g_string_append_c(out, '\n');
}

void
mom_xmlrpc_write_array_end(GString *out)
{
    g_string_append(out, "</data></array></value>");
}

void
mom_xmlrpc_append_value(GString *out, JsonNode *node)
{
    if (node == NULL || JSON_NODE_HOLDS_NULL(node)) {
        mom_xmlrpc_write_nil(out);
        return;
    }
    switch (json_node_get_node_type(node)) {
    case JSON_NODE_OBJECT: {
        JsonObject *obj = json_node_get_object(node);
        g_autoptr(GList) members = json_object_get_members(obj);

        mom_xmlrpc_write_struct_begin(out);
        for (GList *l = members; l; l = l->next) {
            mom_xmlrpc_write_member(out, l->data);
            mom_xmlrpc_append_value(out, json_object_get_member(obj, l->data));
            mom_xmlrpc_write_member_end(out);
        }
        mom_xmlrpc_write_struct_end(out);
        return;
    }
    case JSON_NODE_ARRAY: {
        JsonArray *arr = json_node_get_array(node);

        mom_xmlrpc_write_array_begin(out);
        for (guint i = 0; i < json_array_get_length(arr); i++) {
            mom_xmlrpc_append_value(out, json_array_get_element(arr, i));
            mom_xmlrpc_write_item_end(out);
        }
        mom_xmlrpc_write_array_end(out);
        return;
    }
    case JSON_NODE_NULL:
        mom_xmlrpc_write_nil(out);
        return;
    case JSON_NODE_VALUE:
        break;
    }

    switch (json_node_get_value_type(node)) {
    case G_TYPE_BOOLEAN:
        mom_xmlrpc_write_bool(out, json_node_get_boolean(node));
        break;
    case G_TYPE_INT64:
        mom_xmlrpc_write_int(out, json_node_get_int(node));
        break;
    case G_TYPE_DOUBLE:
        mom_xmlrpc_write_double(out, json_node_get_double(node));
        break;
    case G_TYPE_STRING:
        mom_xmlrpc_write_string(out, json_node_get_string(node));
        break;
    default:
        /* json-glib stores no other fundamental types. */
        mom_xmlrpc_write_nil(out);
    }
}

char *
mom_xmlrpc_build_call(const char *method, JsonArray *params)
{
    GString *out = g_string_new("<?xml version=\"1.0\"?>\n<methodCall>\n<methodName>");

    xmlrpc_append_escaped(out, method);
    g_string_append(out, "</methodName>\n<params>\n");
    for (guint i = 0; params && i < json_array_get_length(params); i++) {
        g_string_append(out, "<param>\n");
        mom_xmlrpc_append_value(out, json_array_get_element(params, i));
        g_string_append(out, "\n</param>\n");
    }
    g_string_append(out, "</params>\n</methodCall>\n");
    return g_string_free(out, FALSE);
}

GString *
mom_xmlrpc_response_begin(void)
{
    return g_string_new("<?xml version=\"1.0\"?>\n<methodResponse>\n<params>\n<param>\n");
}

char *
mom_xmlrpc_response_end(GString *out)
{
    g_string_append(out, "\n</param>\n</params>\n</methodResponse>\n");
    return g_string_free(out, FALSE);
}

char *
mom_xmlrpc_build_response(JsonNode *result)
{
    GString *out = mom_xmlrpc_response_begin();

    mom_xmlrpc_append_value(out, result);
    return mom_xmlrpc_response_end(out);
}

char *
mom_xmlrpc_build_fault(int code, const char *message)
{
    GString *out = g_string_new("<?xml version=\"1.0\"?>\n<methodResponse>\n<fault>\n");

    g_string_append_printf(out,
                           "<value><struct>\n<member>\n<name>faultCode</name>\n"
                           "<value><int>%d</int></value>\n</member>\n<member>\n"
                           "<name>faultString</name>\n<value><string>",
                           code);
    xmlrpc_append_escaped(out, message ? message : "");
    g_string_append(out, "</string></value>\n</member>\n</struct></value>\n</fault>\n"
                         "</methodResponse>\n");
    return g_string_free(out, FALSE);
}

/* ---- decoding -------------------------------------------------------------- */

/* One step of the path to a value: "param 2", "member 'x'", "item 3",
 * "result" or "fault". */
typedef struct {
    const char *what;   /* "param", "member", "item", "result", "fault" */
    const char *member; /* the member's name (borrowed), for "member" */
    guint index;        /* 1-based, for "param" and "item" */
} XmlrpcStep;

/* Where the reader is.  The path is kept as steps and written out only
 * when something fails: formatting it for every value was most of the
 * cost of reading a large answer.  A param, then one step per level of
 * nesting up to MOM_XMLRPC_MAX_DEPTH + 1, where reading stops. */
typedef struct {
    XmlrpcStep steps[MOM_XMLRPC_MAX_DEPTH + 4];
    guint n;
} XmlrpcCtx;

static void
xmlrpc_push(XmlrpcCtx *ctx, const char *what, guint index, const char *member)
{
    g_assert(ctx->n < G_N_ELEMENTS(ctx->steps));
    ctx->steps[ctx->n++] = (XmlrpcStep){what, member, index};
}

static void
xmlrpc_pop(XmlrpcCtx *ctx)
{
    g_assert(ctx->n > 0);
    ctx->n--;
}

static gboolean G_GNUC_PRINTF(3, 4)
    xmlrpc_fail(XmlrpcCtx *ctx, GError **error, const char *fmt, ...)
{
    g_autoptr(GString) path = g_string_new(NULL);
    g_autofree char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    for (guint i = 0; i < ctx->n; i++) {
        const XmlrpcStep *st = &ctx->steps[i];

        if (i > 0)
            g_string_append(path, ", ");
        if (st->member)
            g_string_append_printf(path, "%s '%s'", st->what, st->member);
        else if (st->index)
            g_string_append_printf(path, "%s %u", st->what, st->index);
        else
            g_string_append(path, st->what);
    }
    if (path->len > 0)
        g_set_error(error, MOM_RPC_ERROR, MOM_RPC_FAULT_INVALID, "%s: %s", path->str, msg);
    else
        g_set_error(error, MOM_RPC_ERROR, MOM_RPC_FAULT_INVALID, "%s", msg);
    return FALSE;
}

/* Element names compare without a namespace prefix, so that Apache's
 * <ex:nil/> reads as <nil/> whether or not "ex" is declared. */
static const char *
xmlrpc_local_name(xmlNode *node)
{
    const char *name = (const char *)node->name;
    const char *colon = strrchr(name, ':');

    return colon ? colon + 1 : name;
}

static gboolean
xmlrpc_is(xmlNode *node, const char *name)
{
    return node && node->type == XML_ELEMENT_NODE && strcmp(xmlrpc_local_name(node), name) == 0;
}

static gboolean
xmlrpc_blank(const xmlChar *s)
{
    for (; s && *s; s++)
        if (!g_ascii_isspace(*s))
            return FALSE;
    return TRUE;
}

/*
 * Collects the element children of @node into @out (in order; NULL: only
 * checks), refusing non-blank text between them: structure elements hold
 * only elements.  Comments and processing instructions are skipped.
 */
static gboolean
xmlrpc_children(XmlrpcCtx *ctx, xmlNode *node, GPtrArray *out, GError **error)
{
    for (xmlNode *c = node->children; c; c = c->next) {
        switch (c->type) {
        case XML_ELEMENT_NODE:
            if (out)
                g_ptr_array_add(out, c);
            break;
        case XML_TEXT_NODE:
            if (!xmlrpc_blank(c->content))
                return xmlrpc_fail(ctx, error, "<%s> holds text where elements belong",
                                   xmlrpc_local_name(node));
            break;
        case XML_CDATA_SECTION_NODE:
        case XML_ENTITY_REF_NODE:
            return xmlrpc_fail(ctx, error, "<%s> holds text where elements belong",
                               xmlrpc_local_name(node));
        default:
            break;
        }
    }
    return TRUE;
}

/* The text of a leaf element; refuses child elements. */
static gboolean
xmlrpc_text(XmlrpcCtx *ctx, xmlNode *node, char **text, GError **error)
{
    GString *s;

    /* The usual leaf: one text node, or none. */
    if (node->children == NULL) {
        *text = g_strdup("");
        return TRUE;
    }
    if (node->children->next == NULL && node->children->type == XML_TEXT_NODE) {
        *text = g_strdup((const char *)node->children->content);
        return TRUE;
    }
    s = g_string_new(NULL);

    for (xmlNode *c = node->children; c; c = c->next) {
        switch (c->type) {
        case XML_TEXT_NODE:
        case XML_CDATA_SECTION_NODE:
            g_string_append(s, (const char *)c->content);
            break;
        case XML_ELEMENT_NODE:
            g_string_free(s, TRUE);
            return xmlrpc_fail(ctx, error, "<%s> holds an element <%s>, not text",
                               xmlrpc_local_name(node), xmlrpc_local_name(c));
        case XML_ENTITY_REF_NODE:
            g_string_free(s, TRUE);
            return xmlrpc_fail(ctx, error, "<%s> holds an entity reference",
                               xmlrpc_local_name(node));
        default:
            break;
        }
    }
    *text = g_string_free(s, FALSE);
    return TRUE;
}

/* Shortens @text for an error message. */
static char *
xmlrpc_quote(const char *text)
{
    g_autofree char *stripped = g_strstrip(g_strdup(text));

    if (g_utf8_strlen(stripped, -1) > 40) {
        g_autofree char *head = g_utf8_substring(stripped, 0, 40);
        return g_strdup_printf("'%s...'", head);
    }
    return g_strdup_printf("'%s'", stripped);
}

static gboolean
xmlrpc_read_int(XmlrpcCtx *ctx, const char *tag, const char *text, JsonNode **out, GError **error)
{
    g_autofree char *s = g_strstrip(g_strdup(text));
    g_autofree char *q = NULL; /* the quoted text, made only for an error */
    const char *p = s;
    char *end = NULL;
    gint64 v;

    if (*p == '+' || *p == '-')
        p++;
    if (*p == '\0')
        return xmlrpc_fail(ctx, error, "<%s> holds %s, not an integer", tag, (q = xmlrpc_quote(text)));
    for (const char *d = p; *d; d++)
        if (!g_ascii_isdigit(*d))
            return xmlrpc_fail(ctx, error, "<%s> holds %s, not an integer", tag, (q = xmlrpc_quote(text)));
    errno = 0;
    v = g_ascii_strtoll(s, &end, 10);
    if (errno == ERANGE)
        return xmlrpc_fail(ctx, error, "<%s> holds %s, out of the 64-bit range", tag, (q = xmlrpc_quote(text)));
    *out = json_node_init_int(json_node_alloc(), v);
    return TRUE;
}

static gboolean
xmlrpc_read_double(XmlrpcCtx *ctx, const char *text, JsonNode **out, GError **error)
{
    g_autofree char *s = g_strstrip(g_strdup(text));
    g_autofree char *q = NULL; /* the quoted text, made only for an error */
    const char *p = s;
    gboolean digits = FALSE;
    double d;

    /* [+-]digits[.digits][e[+-]digits]: the spec's decimal form, plus the
     * exponent Python writes for very large and small values; strtod alone
     * would also take "inf", "nan" and hexadecimal. */
    if (*p == '+' || *p == '-')
        p++;
    for (; g_ascii_isdigit(*p); p++)
        digits = TRUE;
    if (*p == '.')
        for (p++; g_ascii_isdigit(*p); p++)
            digits = TRUE;
    if (digits && (*p == 'e' || *p == 'E')) {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!g_ascii_isdigit(*p))
            digits = FALSE;
        for (; g_ascii_isdigit(*p); p++)
            ;
    }
    if (!digits || *p != '\0')
        return xmlrpc_fail(ctx, error, "<double> holds %s, not a number", (q = xmlrpc_quote(text)));
    d = g_ascii_strtod(s, NULL);
    if (!isfinite(d))
        return xmlrpc_fail(ctx, error, "<double> holds %s, out of range", (q = xmlrpc_quote(text)));
    *out = json_node_init_double(json_node_alloc(), d);
    return TRUE;
}

static gboolean xmlrpc_read_value(XmlrpcCtx *ctx, xmlNode *value, guint depth, JsonNode **out,
                                  GError **error);

static gboolean
xmlrpc_read_array(XmlrpcCtx *ctx, xmlNode *array, guint depth, JsonNode **out, GError **error)
{
    g_autoptr(GPtrArray) kids = g_ptr_array_new();
    g_autoptr(GPtrArray) values = g_ptr_array_new();
    g_autoptr(JsonArray) arr = json_array_new();
    xmlNode *data;

    if (!xmlrpc_children(ctx, array, kids, error))
        return FALSE;
    if (kids->len != 1 || !xmlrpc_is(kids->pdata[0], "data"))
        return xmlrpc_fail(ctx, error, "<array> must hold exactly one <data>");
    data = kids->pdata[0];
    if (!xmlrpc_children(ctx, data, values, error))
        return FALSE;
    for (guint i = 0; i < values->len; i++) {
        JsonNode *item = NULL;
        gboolean ok;

        xmlrpc_push(ctx, "item", i + 1, NULL);
        if (!xmlrpc_is(values->pdata[i], "value"))
            ok = xmlrpc_fail(ctx, error, "<data> holds <%s>, not <value>",
                             xmlrpc_local_name(values->pdata[i]));
        else
            ok = xmlrpc_read_value(ctx, values->pdata[i], depth + 1, &item, error);
        if (!ok)
            return FALSE;
        xmlrpc_pop(ctx);
        json_array_add_element(arr, item);
    }
    *out = json_node_init_array(json_node_alloc(), arr);
    return TRUE;
}

static gboolean
xmlrpc_read_struct(XmlrpcCtx *ctx, xmlNode *st, guint depth, JsonNode **out, GError **error)
{
    g_autoptr(GPtrArray) members = g_ptr_array_new();
    g_autoptr(JsonObject) obj = json_object_new();

    if (!xmlrpc_children(ctx, st, members, error))
        return FALSE;
    for (guint i = 0; i < members->len; i++) {
        g_autoptr(GPtrArray) kids = g_ptr_array_new();
        g_autofree char *name = NULL;
        JsonNode *item = NULL;
        xmlNode *name_node = NULL, *value_node = NULL;

        if (!xmlrpc_is(members->pdata[i], "member"))
            return xmlrpc_fail(ctx, error, "<struct> holds <%s>, not <member>",
                               xmlrpc_local_name(members->pdata[i]));
        if (!xmlrpc_children(ctx, members->pdata[i], kids, error))
            return FALSE;
        for (guint k = 0; k < kids->len; k++) {
            if (xmlrpc_is(kids->pdata[k], "name") && name_node == NULL)
                name_node = kids->pdata[k];
            else if (xmlrpc_is(kids->pdata[k], "value") && value_node == NULL)
                value_node = kids->pdata[k];
            else
                return xmlrpc_fail(ctx, error, "member %u of <struct> holds an unexpected <%s>",
                                   i + 1, xmlrpc_local_name(kids->pdata[k]));
        }
        if (name_node == NULL || value_node == NULL)
            return xmlrpc_fail(ctx, error, "member %u of <struct> lacks a <%s>", i + 1,
                               name_node ? "value" : "name");
        if (!xmlrpc_text(ctx, name_node, &name, error))
            return FALSE;
        xmlrpc_push(ctx, "member", 0, name);
        if (json_object_has_member(obj, name))
            return xmlrpc_fail(ctx, error, "appears twice in the <struct>");
        if (!xmlrpc_read_value(ctx, value_node, depth + 1, &item, error))
            return FALSE;
        xmlrpc_pop(ctx);
        json_object_set_member(obj, name, item);
    }
    *out = json_node_init_object(json_node_alloc(), obj);
    return TRUE;
}

/* Reads a <value> element into @out. */
static gboolean
xmlrpc_read_value(XmlrpcCtx *ctx, xmlNode *value, guint depth, JsonNode **out, GError **error)
{
    g_autofree char *text = NULL;
    xmlNode *typed = NULL;
    guint n_elements = 0;
    const char *tag;

    if (depth > MOM_XMLRPC_MAX_DEPTH)
        return xmlrpc_fail(ctx, error, "arrays and structs nest deeper than %d levels",
                           MOM_XMLRPC_MAX_DEPTH);
    for (xmlNode *c = value->children; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && n_elements++ == 0)
            typed = c;
    if (n_elements == 0) {
        /* <value>text</value> without a type is a string (spec). */
        if (!xmlrpc_text(ctx, value, &text, error))
            return FALSE;
        *out = json_node_init_string(json_node_alloc(), text);
        return TRUE;
    }
    if (n_elements > 1)
        return xmlrpc_fail(ctx, error, "<value> holds %u elements, not one", n_elements);
    if (!xmlrpc_children(ctx, value, NULL, error))
        return FALSE;

    tag = xmlrpc_local_name(typed);
    if (strcmp(tag, "array") == 0)
        return xmlrpc_read_array(ctx, typed, depth, out, error);
    if (strcmp(tag, "struct") == 0)
        return xmlrpc_read_struct(ctx, typed, depth, out, error);
    if (strcmp(tag, "nil") == 0) {
        if (!xmlrpc_text(ctx, typed, &text, error))
            return FALSE;
        if (!xmlrpc_blank(BAD_CAST text))
            return xmlrpc_fail(ctx, error, "<nil/> holds text");
        *out = json_node_init_null(json_node_alloc());
        return TRUE;
    }
    if (!xmlrpc_text(ctx, typed, &text, error))
        return FALSE;
    if (strcmp(tag, "int") == 0 || strcmp(tag, "i4") == 0 || strcmp(tag, "i8") == 0)
        return xmlrpc_read_int(ctx, tag, text, out, error);
    if (strcmp(tag, "boolean") == 0) {
        g_strstrip(text);
        if (strcmp(text, "0") != 0 && strcmp(text, "1") != 0) {
            g_autofree char *q = xmlrpc_quote(text);
            return xmlrpc_fail(ctx, error, "<boolean> holds %s, not 0 or 1", q);
        }
        *out = json_node_init_boolean(json_node_alloc(), text[0] == '1');
        return TRUE;
    }
    if (strcmp(tag, "double") == 0)
        return xmlrpc_read_double(ctx, text, out, error);
    if (strcmp(tag, "string") == 0) {
        *out = json_node_init_string(json_node_alloc(), text);
        return TRUE;
    }
    if (strcmp(tag, "dateTime.iso8601") == 0) {
        /* Kept as the text, "19980717T14:08:55": nothing in MOM's API
         * takes a date, and JSON has no date type. */
        *out = json_node_init_string(json_node_alloc(), g_strstrip(text));
        return TRUE;
    }
    if (strcmp(tag, "base64") == 0) {
        /* Kept encoded, without whitespace: the bytes need not be UTF-8,
         * which a JSON string must be. */
        GString *b = g_string_new(NULL);
        for (const char *p = text; *p; p++)
            if (!g_ascii_isspace(*p))
                g_string_append_c(b, *p);
        *out = json_node_init_string(json_node_alloc(), b->str);
        g_string_free(b, TRUE);
        return TRUE;
    }
    return xmlrpc_fail(ctx, error, "unknown type <%s>", tag);
}

static gsize
xmlrpc_init_once(void)
{
    xmlInitParser();
    return 1;
}

/* Parses @data into a tree; sets a PARSE error naming libxml2's complaint
 * and its line and column. */
static xmlDoc *
xmlrpc_read_doc(const char *data, gsize len, GError **error)
{
    static gsize initialised = 0;
    xmlParserCtxt *pctx;
    xmlDoc *doc;

    if (g_once_init_enter(&initialised))
        g_once_init_leave(&initialised, xmlrpc_init_once());
    if (len > MOM_XMLRPC_MAX_SIZE) {
        g_set_error(error, MOM_RPC_ERROR, MOM_RPC_FAULT_TOO_LARGE,
                    "The document is %" G_GSIZE_FORMAT " bytes, over the limit of %d bytes.", len,
                    MOM_XMLRPC_MAX_SIZE);
        return NULL;
    }
    if (len == 0) {
        g_set_error(error, MOM_RPC_ERROR, MOM_RPC_FAULT_PARSE, "Not XML: the document is empty.");
        return NULL;
    }
    pctx = xmlNewParserCtxt();
    if (pctx == NULL) {
        g_set_error(error, MOM_RPC_ERROR, MOM_RPC_FAULT_PARSE, "Cannot create an XML parser.");
        return NULL;
    }
    /* No XML_PARSE_NOENT (no entity substitution), no DTDLOAD, no HUGE
     * (keep libxml2's depth and text-size limits); errors are returned,
     * not printed. */
    doc = xmlCtxtReadMemory(pctx, data, (int)len, NULL, NULL,
                            XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_COMPACT);
    if (doc == NULL || !pctx->wellFormed) {
        const xmlError *xe = xmlCtxtGetLastError(pctx);
        g_autofree char *msg = g_strstrip(g_strdup(xe && xe->message ? xe->message : "unknown"));

        g_set_error(error, MOM_RPC_ERROR, MOM_RPC_FAULT_PARSE, "Not well-formed XML: line %d: %s",
                    xe ? xe->line : 0, msg);
        g_clear_pointer(&doc, xmlFreeDoc);
    } else if (doc->intSubset != NULL || doc->extSubset != NULL) {
        g_set_error(error, MOM_RPC_ERROR, MOM_RPC_FAULT_INVALID,
                    "XML-RPC documents may not have a DOCTYPE.");
        g_clear_pointer(&doc, xmlFreeDoc);
    }
    xmlFreeParserCtxt(pctx);
    return doc;
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlDoc, xmlFreeDoc)

gboolean
mom_xmlrpc_parse_call(const char *data, gsize len, char **method, JsonArray **params,
                      GError **error)
{
    g_autoptr(xmlDoc) doc = NULL;
    g_autoptr(GPtrArray) kids = g_ptr_array_new();
    g_autoptr(GPtrArray) plist = g_ptr_array_new();
    g_autoptr(JsonArray) result = json_array_new();
    g_autofree char *name = NULL;
    XmlrpcCtx ctx = {.n = 0};
    xmlNode *root, *name_node = NULL, *params_node = NULL;

    g_return_val_if_fail(method != NULL && params != NULL, FALSE);
    doc = xmlrpc_read_doc(data, len, error);
    if (doc == NULL)
        return FALSE;
    root = xmlDocGetRootElement(doc);
    if (!xmlrpc_is(root, "methodCall"))
        return xmlrpc_fail(&ctx, error, "The document is a <%s>, not a <methodCall>.",
                           root ? xmlrpc_local_name(root) : "nothing");
    if (!xmlrpc_children(&ctx, root, kids, error))
        return FALSE;
    for (guint i = 0; i < kids->len; i++) {
        if (xmlrpc_is(kids->pdata[i], "methodName") && name_node == NULL)
            name_node = kids->pdata[i];
        else if (xmlrpc_is(kids->pdata[i], "params") && params_node == NULL)
            params_node = kids->pdata[i];
        else
            return xmlrpc_fail(&ctx, error, "<methodCall> holds an unexpected <%s>.",
                               xmlrpc_local_name(kids->pdata[i]));
    }
    if (name_node == NULL)
        return xmlrpc_fail(&ctx, error, "<methodCall> has no <methodName>.");
    if (!xmlrpc_text(&ctx, name_node, &name, error))
        return FALSE;
    g_strstrip(name);
    if (*name == '\0')
        return xmlrpc_fail(&ctx, error, "<methodName> is empty.");
    /* The spec's identifier characters; also keeps names sane in logs. */
    for (const char *p = name; *p; p++)
        if (!g_ascii_isalnum(*p) && !strchr("_.:/", *p)) {
            g_autofree char *q = xmlrpc_quote(name);
            return xmlrpc_fail(&ctx, error,
                               "<methodName> %s holds a character other than "
                               "letters, digits, '_', '.', ':' and '/'.",
                               q);
        }
    if (params_node && !xmlrpc_children(&ctx, params_node, plist, error))
        return FALSE;
    for (guint i = 0; i < plist->len; i++) {
        g_autoptr(GPtrArray) pk = g_ptr_array_new();
        JsonNode *value = NULL;

        xmlrpc_push(&ctx, "param", i + 1, NULL);
        if (!xmlrpc_is(plist->pdata[i], "param"))
            return xmlrpc_fail(&ctx, error, "<params> holds <%s>, not <param>",
                               xmlrpc_local_name(plist->pdata[i]));
        if (!xmlrpc_children(&ctx, plist->pdata[i], pk, error))
            return FALSE;
        if (pk->len != 1 || !xmlrpc_is(pk->pdata[0], "value"))
            return xmlrpc_fail(&ctx, error, "<param> must hold exactly one <value>");
        if (!xmlrpc_read_value(&ctx, pk->pdata[0], 0, &value, error))
            return FALSE;
        xmlrpc_pop(&ctx);
        json_array_add_element(result, value);
    }
    *method = g_steal_pointer(&name);
    *params = g_steal_pointer(&result);
    return TRUE;
}

JsonNode *
mom_xmlrpc_parse_response_full(const char *data, gsize len, gboolean *is_fault, GError **error)
{
    g_autoptr(xmlDoc) doc = NULL;
    g_autoptr(GPtrArray) kids = g_ptr_array_new();
    g_autoptr(GPtrArray) inner = g_ptr_array_new();
    XmlrpcCtx ctx = {.n = 0};
    xmlNode *root, *body;
    JsonNode *value = NULL;

    if (is_fault)
        *is_fault = FALSE;
    doc = xmlrpc_read_doc(data, len, error);
    if (doc == NULL)
        return NULL;
    root = xmlDocGetRootElement(doc);
    if (!xmlrpc_is(root, "methodResponse")) {
        xmlrpc_fail(&ctx, error, "The document is a <%s>, not a <methodResponse>.",
                    root ? xmlrpc_local_name(root) : "nothing");
        return NULL;
    }
    if (!xmlrpc_children(&ctx, root, kids, error))
        return NULL;
    if (kids->len != 1 ||
        !(xmlrpc_is(kids->pdata[0], "params") || xmlrpc_is(kids->pdata[0], "fault"))) {
        xmlrpc_fail(&ctx, error, "<methodResponse> must hold one <params> or one <fault>.");
        return NULL;
    }
    body = kids->pdata[0];
    if (xmlrpc_is(body, "fault")) {
        g_autoptr(JsonNode) fault = NULL;
        JsonObject *obj;
        JsonNode *code, *msg;

        xmlrpc_push(&ctx, "fault", 0, NULL);
        if (!xmlrpc_children(&ctx, body, inner, error))
            return NULL;
        if (inner->len != 1 || !xmlrpc_is(inner->pdata[0], "value")) {
            xmlrpc_fail(&ctx, error, "<fault> must hold exactly one <value>");
            return NULL;
        }
        if (!xmlrpc_read_value(&ctx, inner->pdata[0], 0, &fault, error))
            return NULL;
        obj = JSON_NODE_HOLDS_OBJECT(fault) ? json_node_get_object(fault) : NULL;
        code = obj ? json_object_get_member(obj, "faultCode") : NULL;
        msg = obj ? json_object_get_member(obj, "faultString") : NULL;
        if (code == NULL || json_node_get_value_type(code) != G_TYPE_INT64 || msg == NULL ||
            json_node_get_value_type(msg) != G_TYPE_STRING) {
            xmlrpc_fail(&ctx, error,
                        "a fault must be a struct of faultCode (int) and "
                        "faultString (string)");
            return NULL;
        }
        if (is_fault)
            *is_fault = TRUE;
        g_set_error_literal(error, MOM_RPC_ERROR, (int)json_node_get_int(code),
                            json_node_get_string(msg));
        return NULL;
    }
    xmlrpc_push(&ctx, "result", 0, NULL);
    if (!xmlrpc_children(&ctx, body, inner, error))
        return NULL;
    if (inner->len != 1 || !xmlrpc_is(inner->pdata[0], "param")) {
        xmlrpc_fail(&ctx, error, "<params> must hold exactly one <param>");
        return NULL;
    }
    g_ptr_array_set_size(kids, 0);
    if (!xmlrpc_children(&ctx, inner->pdata[0], kids, error))
        return NULL;
    if (kids->len != 1 || !xmlrpc_is(kids->pdata[0], "value")) {
        xmlrpc_fail(&ctx, error, "<param> must hold exactly one <value>");
        return NULL;
    }
    if (!xmlrpc_read_value(&ctx, kids->pdata[0], 0, &value, error))
        return NULL;
    return value;
}

JsonNode *
mom_xmlrpc_parse_response(const char *data, gsize len, GError **error)
{
    return mom_xmlrpc_parse_response_full(data, len, NULL, error);
}
