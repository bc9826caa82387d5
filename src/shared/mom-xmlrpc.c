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

/* G_DEFINE_QUARK stringifies its first argument: clang-format must not space it */
/* clang-format off */
G_DEFINE_QUARK(mom-rpc-error-quark, mom_rpc_error)
/* clang-format on */

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

/*
 * The reader streams: libxml2's SAX2 callbacks build the json-glib values
 * as the elements close, and no tree of the document is made (building a
 * DOM of a 1 MB answer, walking it and freeing it took two thirds of the
 * reading).  SAX2 rather than xmlTextReader, which makes and frees a node
 * per element on top of the same callbacks; and with SAX2 the document
 * still goes through the xmlCtxtReadMemory() call the DOM reader made, so
 * libxml2 refuses the same documents with the same messages.
 *
 * The checks come in the order of the tree walk this reader replaced, so
 * that a document with several problems is refused for the same one as
 * before: from the root down, an element's own checks (text between its
 * children, how many children and which) before anything inside them,
 * and then the children in order (a <methodName> or a member's <name>
 * first).  A stream meets the inside of a child before that child's next
 * siblings, so each open element keeps what its checks need and decides
 * when it closes; a problem found inside waits in each element around it
 * until that one closes, and gathers its path on the way up ("param 2,
 * member 'x', item 3"), which also serves a <name> after its <value>.
 */

/* A problem found in the document, on its way up to the root. */
typedef struct {
    GString *path;
    char *msg;
} XmlrpcProblem;

static XmlrpcProblem *G_GNUC_PRINTF(1, 2) xmlrpc_problem(const char *fmt, ...)
{
    XmlrpcProblem *p = g_new(XmlrpcProblem, 1);
    va_list ap;

    va_start(ap, fmt);
    p->msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    p->path = g_string_new(NULL);
    return p;
}

static void
xmlrpc_problem_free(XmlrpcProblem *p)
{
    g_string_free(p->path, TRUE);
    g_free(p->msg);
    g_free(p);
}

/* Puts a step, "param 2", "member 'x'" or "result", in front of @p's path. */
static XmlrpcProblem *
xmlrpc_at(XmlrpcProblem *p, const char *what, guint index, const char *member)
{
    g_autofree char *step = NULL;

    if (member)
        step = g_strdup_printf("%s '%s'", what, member);
    else if (index)
        step = g_strdup_printf("%s %u", what, index);
    else
        step = g_strdup(what);
    if (p->path->len > 0)
        g_string_prepend(p->path, ", ");
    g_string_prepend(p->path, step);
    return p;
}

/* Sets @error (INVALID) from @p, and frees @p.  Returns: FALSE. */
static gboolean
xmlrpc_fail(XmlrpcProblem *p, GError **error)
{
    if (p->path->len > 0)
        g_set_error(error, MOM_RPC_ERROR, MOM_RPC_FAULT_INVALID, "%s: %s", p->path->str, p->msg);
    else
        g_set_error(error, MOM_RPC_ERROR, MOM_RPC_FAULT_INVALID, "%s", p->msg);
    xmlrpc_problem_free(p);
    return FALSE;
}

typedef enum {
    XMLRPC_CALL,        /* <methodCall> */
    XMLRPC_RESPONSE,    /* <methodResponse> */
    XMLRPC_METHOD_NAME, /* <methodName> */
    XMLRPC_PARAMS,      /* a call's <params> */
    XMLRPC_RESULT,      /* a response's <params> */
    XMLRPC_FAULT,       /* <fault> */
    XMLRPC_PARAM,       /* <param> */
    XMLRPC_VALUE,       /* <value> */
    XMLRPC_ARRAY,       /* <array> */
    XMLRPC_DATA,        /* <data> */
    XMLRPC_STRUCT,      /* <struct> */
    XMLRPC_MEMBER,      /* <member> */
    XMLRPC_NAME,        /* a member's <name> */
    XMLRPC_SCALAR,      /* any other type in a <value>: <int>, <string>, <nil/>, unknown ones */
} XmlrpcKind;

/* An open element that is being read. */
typedef struct {
    XmlrpcKind kind;
    const char *tag;             /* its local name (libxml2's dictionary), for messages */
    guint index;                 /* its place among its parent's elements, from 1 */
    guint depth;                 /* the arrays and structs its <value> is in */
    guint n_elements;            /* element children so far */
    gboolean text;               /* its text goes to the reader's buffer */
    gboolean bad_text;           /* text or CDATA between its elements */
    const char *odd;             /* the first element child out of place */
    char *name;                  /* <methodCall>, <member>: the text of the name... */
    XmlrpcProblem *name_problem; /* ...or what is wrong with it */
    XmlrpcProblem *problem;      /* the first problem among the children */
    JsonNode *node;              /* the value of the child it reads */
    JsonArray *array;            /* <params>, <data>: the values so far */
    JsonObject *object;          /* <struct>: the members so far */
} XmlrpcFrame;

/* <methodCall><params><param>, then <value><struct><member> (or <array>
 * <data>) at each of the MOM_XMLRPC_MAX_DEPTH + 1 levels a value may be
 * read at, then a <name> or a scalar.  Deeper elements are skipped. */
#define XMLRPC_MAX_FRAMES (3 + 3 * (MOM_XMLRPC_MAX_DEPTH + 1) + 1)

typedef struct {
    gboolean response; /* reading a methodResponse, not a methodCall */
    XmlrpcFrame frames[XMLRPC_MAX_FRAMES];
    guint n;            /* open frames */
    guint skip;         /* open elements that are ignored, inside frames[n - 1] */
    gboolean rooted;    /* the root element has started */
    GString *text;      /* the text of frames[n - 1] when it keeps text */
    xmlSAXHandler tree; /* libxml2's own callbacks, which build a tree */
    /* What the document holds, once the root has closed: */
    XmlrpcProblem *problem;
    char *method;
    JsonArray *params;
    JsonNode *result;
    gboolean fault; /* @result is a <fault>'s value */
} XmlrpcReader;

static void
xmlrpc_frame_clear(XmlrpcFrame *f)
{
    g_clear_pointer(&f->name, g_free);
    g_clear_pointer(&f->name_problem, xmlrpc_problem_free);
    g_clear_pointer(&f->problem, xmlrpc_problem_free);
    g_clear_pointer(&f->node, json_node_unref);
    g_clear_pointer(&f->array, json_array_unref);
    g_clear_pointer(&f->object, json_object_unref);
}

static void
xmlrpc_reader_clear(XmlrpcReader *r)
{
    while (r->n > 0)
        xmlrpc_frame_clear(&r->frames[--r->n]);
    g_string_free(r->text, TRUE);
    g_clear_pointer(&r->problem, xmlrpc_problem_free);
    g_clear_pointer(&r->method, g_free);
    g_clear_pointer(&r->params, json_array_unref);
    g_clear_pointer(&r->result, json_node_unref);
}

/* Element names compare without a namespace prefix, so that Apache's
 * <ex:nil/> reads as <nil/> whether or not "ex" is declared.  libxml2
 * passes the prefix apart, but a local name may still hold a colon
 * (<x:a:nil/> gives "a:nil"), and the tree walk went by the last one. */
static const char *
xmlrpc_local_name(const xmlChar *name)
{
    const char *colon = strrchr((const char *)name, ':');

    return colon ? colon + 1 : (const char *)name;
}

static gboolean
xmlrpc_blank(const char *s, gsize len)
{
    for (gsize i = 0; i < len; i++)
        if (!g_ascii_isspace(s[i]))
            return FALSE;
    return TRUE;
}

/* The text of the element closing, without surrounding whitespace. */
static char *
xmlrpc_stripped(GString *text)
{
    gsize start = 0, end = text->len;

    while (start < end && g_ascii_isspace(text->str[start]))
        start++;
    while (end > start && g_ascii_isspace(text->str[end - 1]))
        end--;
    g_string_truncate(text, end);
    return text->str + start;
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

/* @s: the stripped text of an <int>, <i4> or <i8>. */
static JsonNode *
xmlrpc_read_int(const char *tag, const char *s, XmlrpcProblem **problem)
{
    g_autofree char *q = NULL; /* the quoted text, made only for an error */
    const char *p = s;
    gint64 v;

    if (*p == '+' || *p == '-')
        p++;
    if (*p == '\0') {
        *problem = xmlrpc_problem("<%s> holds %s, not an integer", tag, (q = xmlrpc_quote(s)));
        return NULL;
    }
    for (const char *d = p; *d; d++)
        if (!g_ascii_isdigit(*d)) {
            *problem = xmlrpc_problem("<%s> holds %s, not an integer", tag, (q = xmlrpc_quote(s)));
            return NULL;
        }
    errno = 0;
    v = g_ascii_strtoll(s, NULL, 10);
    if (errno == ERANGE) {
        *problem =
            xmlrpc_problem("<%s> holds %s, out of the 64-bit range", tag, (q = xmlrpc_quote(s)));
        return NULL;
    }
    return json_node_init_int(json_node_alloc(), v);
}

/* @s: the stripped text of a <double>. */
static JsonNode *
xmlrpc_read_double(const char *s, XmlrpcProblem **problem)
{
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
    if (!digits || *p != '\0') {
        *problem = xmlrpc_problem("<double> holds %s, not a number", (q = xmlrpc_quote(s)));
        return NULL;
    }
    d = g_ascii_strtod(s, NULL);
    if (!isfinite(d)) {
        *problem = xmlrpc_problem("<double> holds %s, out of range", (q = xmlrpc_quote(s)));
        return NULL;
    }
    return json_node_init_double(json_node_alloc(), d);
}

/* What is wrong with an element that holds only text: an element. */
static XmlrpcProblem *
xmlrpc_text_problem(const XmlrpcFrame *f)
{
    if (f->odd)
        return xmlrpc_problem("<%s> holds an element <%s>, not text", f->tag, f->odd);
    return NULL;
}

/* The value of a scalar type element, from its @text. */
static JsonNode *
xmlrpc_read_scalar(const XmlrpcFrame *f, GString *text, XmlrpcProblem **problem)
{
    const char *tag = f->tag;
    char *s;

    if ((*problem = xmlrpc_text_problem(f)))
        return NULL;
    if (strcmp(tag, "nil") == 0) {
        if (!xmlrpc_blank(text->str, text->len)) {
            *problem = xmlrpc_problem("<nil/> holds text");
            return NULL;
        }
        return json_node_init_null(json_node_alloc());
    }
    if (strcmp(tag, "string") == 0)
        return json_node_init_string(json_node_alloc(), text->str);
    if (strcmp(tag, "base64") == 0) {
        /* Kept encoded, without whitespace: the bytes need not be UTF-8,
         * which a JSON string must be. */
        gsize n = 0;

        for (gsize i = 0; i < text->len; i++)
            if (!g_ascii_isspace(text->str[i]))
                text->str[n++] = text->str[i];
        g_string_truncate(text, n);
        return json_node_init_string(json_node_alloc(), text->str);
    }
    s = xmlrpc_stripped(text);
    if (strcmp(tag, "int") == 0 || strcmp(tag, "i4") == 0 || strcmp(tag, "i8") == 0)
        return xmlrpc_read_int(tag, s, problem);
    if (strcmp(tag, "boolean") == 0) {
        if (strcmp(s, "0") != 0 && strcmp(s, "1") != 0) {
            g_autofree char *q = xmlrpc_quote(s);
            *problem = xmlrpc_problem("<boolean> holds %s, not 0 or 1", q);
            return NULL;
        }
        return json_node_init_boolean(json_node_alloc(), s[0] == '1');
    }
    if (strcmp(tag, "double") == 0)
        return xmlrpc_read_double(s, problem);
    if (strcmp(tag, "dateTime.iso8601") == 0) {
        /* Kept as the text, "19980717T14:08:55": nothing in MOM's API
         * takes a date, and JSON has no date type. */
        return json_node_init_string(json_node_alloc(), s);
    }
    *problem = xmlrpc_problem("unknown type <%s>", tag);
    return NULL;
}

static XmlrpcFrame *
xmlrpc_open(XmlrpcReader *r, XmlrpcKind kind, const char *tag, guint index, guint depth)
{
    XmlrpcFrame *f;

    g_assert(r->n < G_N_ELEMENTS(r->frames));
    f = &r->frames[r->n++];
    *f = (XmlrpcFrame){.kind = kind, .tag = tag, .index = index, .depth = depth};
    switch (kind) {
    case XMLRPC_METHOD_NAME:
    case XMLRPC_VALUE:
    case XMLRPC_NAME:
    case XMLRPC_SCALAR:
        f->text = TRUE;
        g_string_truncate(r->text, 0);
        break;
    case XMLRPC_PARAMS:
    case XMLRPC_DATA:
        f->array = json_array_new();
        break;
    case XMLRPC_STRUCT:
        f->object = json_object_new();
        break;
    default:
        break;
    }
    return f;
}

/* How the path names a child of <params> or <data>. */
static const char *
xmlrpc_step(const XmlrpcFrame *list)
{
    return list->kind == XMLRPC_DATA ? "item" : "param";
}

/* Hands the outcome of a closed child, its value or its problem, to @parent. */
static void
xmlrpc_hand_up(XmlrpcFrame *parent, guint index, JsonNode *node, XmlrpcProblem *problem)
{
    switch (parent->kind) {
    case XMLRPC_PARAMS:
    case XMLRPC_DATA:
        /* Lists skip their children after a problem: this is the first. */
        if (problem)
            parent->problem = xmlrpc_at(problem, xmlrpc_step(parent), index, NULL);
        else
            json_array_add_element(parent->array, node);
        break;
    default:
        /* The one child the parent reads. */
        parent->node = node;
        parent->problem = problem;
    }
}

/* Opens a <value> at @depth, or refuses it when that nests too deep. */
static void
xmlrpc_open_value(XmlrpcReader *r, XmlrpcFrame *parent, const char *tag, guint index, guint depth)
{
    if (depth > MOM_XMLRPC_MAX_DEPTH) {
        xmlrpc_hand_up(
            parent, index, NULL,
            xmlrpc_problem("arrays and structs nest deeper than %d levels", MOM_XMLRPC_MAX_DEPTH));
        r->skip = 1;
        return;
    }
    xmlrpc_open(r, XMLRPC_VALUE, tag, index, depth);
}

/* The elements that hold exactly one element, and what that one may be:
 * only a first child of the right kind is read, and the parent refuses
 * any other arrangement when it closes (xmlrpc_only_child). */
static const struct {
    XmlrpcKind parent;
    const char *tag;
    XmlrpcKind child;
} xmlrpc_holds_one[] = {
    {XMLRPC_RESPONSE, "params", XMLRPC_RESULT}, {XMLRPC_RESPONSE, "fault", XMLRPC_FAULT},
    {XMLRPC_RESULT, "param", XMLRPC_PARAM},     {XMLRPC_PARAM, "value", XMLRPC_VALUE},
    {XMLRPC_FAULT, "value", XMLRPC_VALUE},      {XMLRPC_ARRAY, "data", XMLRPC_DATA},
};

static void
xmlrpc_sax_start(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri,
                 int n_namespaces, const xmlChar **namespaces, int n_attributes, int n_defaulted,
                 const xmlChar **attributes)
{
    XmlrpcReader *r = ((xmlParserCtxt *)ctx)->_private;
    const char *tag = xmlrpc_local_name(localname);
    XmlrpcFrame *f;

    if (r->skip > 0 || (r->n == 0 && r->rooted)) {
        r->skip++;
        return;
    }
    if (r->n == 0) {
        const char *root = r->response ? "methodResponse" : "methodCall";

        r->rooted = TRUE;
        if (strcmp(tag, root) != 0) {
            r->problem = xmlrpc_problem("The document is a <%s>, not a <%s>.", tag, root);
            r->skip = 1;
        } else {
            xmlrpc_open(r, r->response ? XMLRPC_RESPONSE : XMLRPC_CALL, tag, 0, 0);
        }
        return;
    }
    f = &r->frames[r->n - 1];
    f->n_elements++;
    switch (f->kind) {
    case XMLRPC_CALL:
    case XMLRPC_MEMBER: {
        /* A name and a body, <methodName> and <params> or <name> and
         * <value>: the first of each, in either order. */
        gboolean call = f->kind == XMLRPC_CALL;

        if (strcmp(tag, call ? "methodName" : "name") == 0 && !f->name && !f->name_problem) {
            xmlrpc_open(r, call ? XMLRPC_METHOD_NAME : XMLRPC_NAME, tag, 0, 0);
            return;
        }
        if (strcmp(tag, call ? "params" : "value") == 0 && !f->node && !f->problem) {
            if (call)
                xmlrpc_open(r, XMLRPC_PARAMS, tag, 0, 0);
            else
                xmlrpc_open_value(r, f, tag, 0, f->depth + 1);
            return;
        }
        if (!f->odd)
            f->odd = tag;
        break;
    }
    case XMLRPC_RESPONSE:
    case XMLRPC_RESULT:
    case XMLRPC_PARAM:
    case XMLRPC_FAULT:
    case XMLRPC_ARRAY:
        for (gsize i = 0; f->n_elements == 1 && i < G_N_ELEMENTS(xmlrpc_holds_one); i++)
            if (xmlrpc_holds_one[i].parent == f->kind &&
                strcmp(tag, xmlrpc_holds_one[i].tag) == 0) {
                r->fault |= xmlrpc_holds_one[i].child == XMLRPC_FAULT;
                xmlrpc_open(r, xmlrpc_holds_one[i].child, tag, 0, f->depth);
                return;
            }
        break;
    case XMLRPC_PARAMS:
    case XMLRPC_DATA: {
        const char *want = f->kind == XMLRPC_DATA ? "value" : "param";

        if (f->problem)
            break;
        if (strcmp(tag, want) != 0) {
            f->problem = xmlrpc_at(xmlrpc_problem("<%s> holds <%s>, not <%s>", f->tag, tag, want),
                                   xmlrpc_step(f), f->n_elements, NULL);
            break;
        }
        if (f->kind == XMLRPC_DATA)
            xmlrpc_open_value(r, f, tag, f->n_elements, f->depth + 1);
        else
            xmlrpc_open(r, XMLRPC_PARAM, tag, f->n_elements, 0);
        return;
    }
    case XMLRPC_VALUE:
        if (f->n_elements > 1)
            break;
        /* Typed after all: the text so far must have been blank. */
        f->text = FALSE;
        if (!xmlrpc_blank(r->text->str, r->text->len))
            f->bad_text = TRUE;
        if (strcmp(tag, "array") == 0)
            xmlrpc_open(r, XMLRPC_ARRAY, tag, 0, f->depth);
        else if (strcmp(tag, "struct") == 0)
            xmlrpc_open(r, XMLRPC_STRUCT, tag, 0, f->depth);
        else
            xmlrpc_open(r, XMLRPC_SCALAR, tag, 0, f->depth);
        return;
    case XMLRPC_STRUCT:
        if (f->problem)
            break;
        if (strcmp(tag, "member") != 0) {
            f->problem = xmlrpc_problem("<struct> holds <%s>, not <member>", tag);
            break;
        }
        xmlrpc_open(r, XMLRPC_MEMBER, tag, f->n_elements, f->depth);
        return;
    case XMLRPC_METHOD_NAME:
    case XMLRPC_NAME:
    case XMLRPC_SCALAR:
        if (!f->odd)
            f->odd = tag;
        break;
    }
    /* Not read: what it holds cannot change the outcome. */
    r->skip = 1;
}

/* The outcome of an element that must hold one element and blank text. */
static JsonNode *
xmlrpc_only_child(XmlrpcFrame *f, const char *msg, XmlrpcProblem **problem)
{
    if (f->bad_text)
        *problem = xmlrpc_problem("<%s> holds text where elements belong", f->tag);
    else if (f->n_elements != 1 || (f->node == NULL && f->problem == NULL))
        *problem = xmlrpc_problem("%s", msg);
    else
        *problem = g_steal_pointer(&f->problem);
    return *problem ? NULL : g_steal_pointer(&f->node);
}

/* The outcome of <params>, <data> or <struct>: blank text, then in order
 * the children. */
static JsonNode *
xmlrpc_list(XmlrpcFrame *f, XmlrpcProblem **problem)
{
    if (f->bad_text)
        *problem = xmlrpc_problem("<%s> holds text where elements belong", f->tag);
    else if (f->problem)
        *problem = g_steal_pointer(&f->problem);
    else if (f->object)
        return json_node_init_object(json_node_alloc(), f->object);
    else
        return json_node_init_array(json_node_alloc(), f->array);
    return NULL;
}

/* A closing <member>: its value joins the struct @st, or its problem
 * becomes the struct's. */
static void
xmlrpc_close_member(XmlrpcFrame *f, XmlrpcFrame *st)
{
    XmlrpcProblem *problem = NULL;

    if (f->bad_text)
        problem = xmlrpc_problem("<%s> holds text where elements belong", f->tag);
    else if (f->odd)
        problem =
            xmlrpc_problem("member %u of <struct> holds an unexpected <%s>", f->index, f->odd);
    else if ((!f->name && !f->name_problem) || (!f->node && !f->problem))
        problem = xmlrpc_problem("member %u of <struct> lacks a <%s>", f->index,
                                 f->name || f->name_problem ? "value" : "name");
    else if (f->name_problem)
        problem = g_steal_pointer(&f->name_problem);
    else if (json_object_has_member(st->object, f->name))
        problem = xmlrpc_at(xmlrpc_problem("appears twice in the <struct>"), "member", 0, f->name);
    else if (f->problem)
        problem = xmlrpc_at(g_steal_pointer(&f->problem), "member", 0, f->name);
    else
        json_object_set_member(st->object, f->name, g_steal_pointer(&f->node));
    st->problem = problem;
}

static void
xmlrpc_close_call(XmlrpcReader *r, XmlrpcFrame *f)
{
    if (f->bad_text)
        r->problem = xmlrpc_problem("<%s> holds text where elements belong", f->tag);
    else if (f->odd)
        r->problem = xmlrpc_problem("<methodCall> holds an unexpected <%s>.", f->odd);
    else if (!f->name && !f->name_problem)
        r->problem = xmlrpc_problem("<methodCall> has no <methodName>.");
    else if (f->name_problem)
        r->problem = g_steal_pointer(&f->name_problem);
    else if (f->problem)
        r->problem = g_steal_pointer(&f->problem);
    else {
        r->method = g_steal_pointer(&f->name);
        r->params = f->node ? json_node_dup_array(f->node) : json_array_new();
    }
}

/* The name in a <methodName>: the spec's identifier characters, which
 * also keep names sane in logs. */
static XmlrpcProblem *
xmlrpc_check_method(const char *name)
{
    if (*name == '\0')
        return xmlrpc_problem("<methodName> is empty.");
    for (const char *p = name; *p; p++)
        if (!g_ascii_isalnum(*p) && !strchr("_.:/", *p)) {
            g_autofree char *q = xmlrpc_quote(name);
            return xmlrpc_problem("<methodName> %s holds a character other than letters, digits, "
                                  "'_', '.', ':' and '/'.",
                                  q);
        }
    return NULL;
}

static void
xmlrpc_close(XmlrpcReader *r)
{
    XmlrpcFrame *f = &r->frames[--r->n];
    XmlrpcFrame *parent = r->n > 0 ? &r->frames[r->n - 1] : NULL;
    XmlrpcProblem *problem = NULL;
    JsonNode *node = NULL;

    switch (f->kind) {
    case XMLRPC_CALL:
        xmlrpc_close_call(r, f);
        break;
    case XMLRPC_RESPONSE:
        r->result = xmlrpc_only_child(f, "<methodResponse> must hold one <params> or one <fault>.",
                                      &r->problem);
        break;
    case XMLRPC_METHOD_NAME:
    case XMLRPC_NAME:
        if (!(problem = xmlrpc_text_problem(f))) {
            char *name = f->kind == XMLRPC_NAME ? r->text->str : xmlrpc_stripped(r->text);

            if (f->kind == XMLRPC_METHOD_NAME)
                problem = xmlrpc_check_method(name);
            if (!problem)
                parent->name = g_strdup(name);
        }
        parent->name_problem = problem;
        break;
    case XMLRPC_MEMBER:
        xmlrpc_close_member(f, parent);
        break;
    case XMLRPC_PARAMS:
    case XMLRPC_DATA:
    case XMLRPC_STRUCT:
        node = xmlrpc_list(f, &problem);
        xmlrpc_hand_up(parent, f->index, node, problem);
        break;
    case XMLRPC_RESULT:
        node = xmlrpc_only_child(f, "<params> must hold exactly one <param>", &problem);
        xmlrpc_hand_up(parent, 0, node, problem ? xmlrpc_at(problem, "result", 0, NULL) : NULL);
        break;
    case XMLRPC_FAULT:
        node = xmlrpc_only_child(f, "<fault> must hold exactly one <value>", &problem);
        xmlrpc_hand_up(parent, 0, node, problem ? xmlrpc_at(problem, "fault", 0, NULL) : NULL);
        break;
    case XMLRPC_PARAM:
        node = xmlrpc_only_child(f, "<param> must hold exactly one <value>", &problem);
        xmlrpc_hand_up(parent, f->index, node, problem);
        break;
    case XMLRPC_ARRAY:
        node = xmlrpc_only_child(f, "<array> must hold exactly one <data>", &problem);
        xmlrpc_hand_up(parent, 0, node, problem);
        break;
    case XMLRPC_VALUE:
        if (f->n_elements == 0) {
            /* <value>text</value> without a type is a string (spec). */
            node = json_node_init_string(json_node_alloc(), r->text->str);
        } else if (f->n_elements > 1) {
            problem = xmlrpc_problem("<value> holds %u elements, not one", f->n_elements);
        } else if (f->bad_text) {
            problem = xmlrpc_problem("<%s> holds text where elements belong", f->tag);
        } else {
            node = g_steal_pointer(&f->node);
            problem = g_steal_pointer(&f->problem);
        }
        xmlrpc_hand_up(parent, f->index, node, problem);
        break;
    case XMLRPC_SCALAR:
        node = xmlrpc_read_scalar(f, r->text, &problem);
        xmlrpc_hand_up(parent, 0, node, problem);
        break;
    }
    xmlrpc_frame_clear(f);
}

static void
xmlrpc_sax_end(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri)
{
    XmlrpcReader *r = ((xmlParserCtxt *)ctx)->_private;

    if (r->skip > 0)
        r->skip--;
    else if (r->n > 0)
        xmlrpc_close(r);
}

/* Text is kept in a leaf and checked where elements belong, where even
 * an empty CDATA section counts as text. */
static void
xmlrpc_take_text(void *ctx, const xmlChar *ch, int len, gboolean cdata)
{
    XmlrpcReader *r = ((xmlParserCtxt *)ctx)->_private;
    XmlrpcFrame *f;

    if (r->skip > 0 || r->n == 0)
        return;
    f = &r->frames[r->n - 1];
    if (f->text)
        g_string_append_len(r->text, (const char *)ch, len);
    else if (!f->bad_text && !xmlrpc_blank((const char *)ch, len))
        f->bad_text = TRUE;
    if (cdata)
        f->bad_text = TRUE;
}

static void
xmlrpc_sax_text(void *ctx, const xmlChar *ch, int len)
{
    xmlrpc_take_text(ctx, ch, len, FALSE);
}

static void
xmlrpc_sax_cdata(void *ctx, const xmlChar *ch, int len)
{
    xmlrpc_take_text(ctx, ch, len, TRUE);
}

/* Comments and processing instructions are skipped, but through callbacks:
 * without one, libxml2 keeps no copy of a comment, and its errors about
 * the comment then read differently. */
static void
xmlrpc_sax_comment(void *ctx, const xmlChar *value)
{
}

static void
xmlrpc_sax_pi(void *ctx, const xmlChar *target, const xmlChar *data)
{
}

/*
 * A document with a DOCTYPE is refused once libxml2 has read it whole (if
 * it is not well-formed, that is said instead).  From the DOCTYPE on,
 * libxml2's own callbacks build a tree, as they did before this reader.
 * They keep each entity's expansion; with callbacks that keep nothing,
 * libxml2 parses an entity's text again at every reference, and its guard
 * against entity expansion then calls a few nested entities a "loop" and
 * the document not well-formed.
 */
static void
xmlrpc_sax_doctype(void *ctx, const xmlChar *name, const xmlChar *external_id,
                   const xmlChar *system_id)
{
    XmlrpcReader *r = ((xmlParserCtxt *)ctx)->_private;
    xmlSAXHandler *sax = ((xmlParserCtxt *)ctx)->sax;

    sax->startElementNs = r->tree.startElementNs;
    sax->endElementNs = r->tree.endElementNs;
    sax->characters = r->tree.characters;
    sax->ignorableWhitespace = r->tree.ignorableWhitespace;
    sax->cdataBlock = r->tree.cdataBlock;
    sax->reference = r->tree.reference;
    sax->comment = r->tree.comment;
    sax->processingInstruction = r->tree.processingInstruction;
    r->tree.internalSubset(ctx, name, external_id, system_id);
}

static gsize
xmlrpc_init_once(void)
{
    xmlInitParser();
    return 1;
}

/*
 * Reads @data into @r.  Returns: TRUE, or FALSE with @error: PARSE naming
 * libxml2's complaint and its line, TOO_LARGE, or INVALID for a DOCTYPE
 * or for what the reader found wrong.
 */
static gboolean
xmlrpc_read(XmlrpcReader *r, const char *data, gsize len, GError **error)
{
    static gsize initialised = 0;
    xmlParserCtxt *pctx;
    xmlSAXHandler *sax;
    xmlDoc *doc;
    gboolean ok = FALSE;

    if (g_once_init_enter(&initialised))
        g_once_init_leave(&initialised, xmlrpc_init_once());
    if (len > MOM_XMLRPC_MAX_SIZE) {
        g_set_error(error, MOM_RPC_ERROR, MOM_RPC_FAULT_TOO_LARGE,
                    "The document is %" G_GSIZE_FORMAT " bytes, over the limit of %d bytes.", len,
                    MOM_XMLRPC_MAX_SIZE);
        return FALSE;
    }
    if (len == 0) {
        g_set_error(error, MOM_RPC_ERROR, MOM_RPC_FAULT_PARSE, "Not XML: the document is empty.");
        return FALSE;
    }
    pctx = xmlNewParserCtxt();
    if (pctx == NULL) {
        g_set_error(error, MOM_RPC_ERROR, MOM_RPC_FAULT_PARSE, "Cannot create an XML parser.");
        return FALSE;
    }
    sax = pctx->sax;
    r->tree = *sax;
    sax->startElementNs = xmlrpc_sax_start;
    sax->endElementNs = xmlrpc_sax_end;
    sax->characters = xmlrpc_sax_text;
    sax->ignorableWhitespace = xmlrpc_sax_text;
    sax->cdataBlock = xmlrpc_sax_cdata;
    /* Only an entity the document declares is passed as a reference,
     * and a declaration needs a DOCTYPE: xmlrpc_sax_doctype(). */
    sax->reference = NULL;
    sax->comment = xmlrpc_sax_comment;
    sax->processingInstruction = xmlrpc_sax_pi;
    sax->internalSubset = xmlrpc_sax_doctype;
    pctx->_private = r;
    /* No XML_PARSE_NOENT (no entity substitution), no DTDLOAD, no HUGE
     * (keep libxml2's limits on depth and lengths); errors are returned,
     * not printed.  libxml2 reads to the end even when the reader has
     * found a problem, so that a document that is not well-formed is
     * always refused as such.  The xmlDoc it returns holds only a DTD,
     * if any. */
    doc = xmlCtxtReadMemory(pctx, data, (int)len, NULL, NULL,
                            XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (doc == NULL || !pctx->wellFormed) {
        const xmlError *xe = xmlCtxtGetLastError(pctx);
        g_autofree char *msg = g_strstrip(g_strdup(xe && xe->message ? xe->message : "unknown"));

        g_set_error(error, MOM_RPC_ERROR, MOM_RPC_FAULT_PARSE, "Not well-formed XML: line %d: %s",
                    xe ? xe->line : 0, msg);
    } else if (doc->intSubset != NULL || doc->extSubset != NULL) {
        g_set_error(error, MOM_RPC_ERROR, MOM_RPC_FAULT_INVALID,
                    "XML-RPC documents may not have a DOCTYPE.");
    } else if (r->problem) {
        xmlrpc_fail(g_steal_pointer(&r->problem), error);
    } else if (!r->rooted || r->n > 0 || r->skip > 0) {
        /* libxml2 stopped early without calling it an error (out of memory). */
        g_set_error(error, MOM_RPC_ERROR, MOM_RPC_FAULT_PARSE,
                    "Not well-formed XML: the document ends early.");
    } else {
        ok = TRUE;
    }
    if (doc)
        xmlFreeDoc(doc);
    xmlFreeParserCtxt(pctx);
    return ok;
}

gboolean
mom_xmlrpc_parse_call(const char *data, gsize len, char **method, JsonArray **params,
                      GError **error)
{
    XmlrpcReader r = {.response = FALSE, .text = g_string_new(NULL)};
    gboolean ok;

    g_return_val_if_fail(method != NULL && params != NULL, FALSE);
    ok = xmlrpc_read(&r, data, len, error);
    if (ok) {
        *method = g_steal_pointer(&r.method);
        *params = g_steal_pointer(&r.params);
    }
    xmlrpc_reader_clear(&r);
    return ok;
}

/* Sets @error from a <fault>'s value: the fault's code and string, or
 * INVALID if the value is not a fault. */
static void
xmlrpc_fault_error(JsonNode *fault, gboolean *is_fault, GError **error)
{
    JsonObject *obj = JSON_NODE_HOLDS_OBJECT(fault) ? json_node_get_object(fault) : NULL;
    JsonNode *code = obj ? json_object_get_member(obj, "faultCode") : NULL;
    JsonNode *msg = obj ? json_object_get_member(obj, "faultString") : NULL;

    if (code == NULL || json_node_get_value_type(code) != G_TYPE_INT64 || msg == NULL ||
        json_node_get_value_type(msg) != G_TYPE_STRING) {
        xmlrpc_fail(
            xmlrpc_at(xmlrpc_problem(
                          "a fault must be a struct of faultCode (int) and faultString (string)"),
                      "fault", 0, NULL),
            error);
        return;
    }
    if (is_fault)
        *is_fault = TRUE;
    g_set_error_literal(error, MOM_RPC_ERROR, (int)json_node_get_int(code),
                        json_node_get_string(msg));
}

JsonNode *
mom_xmlrpc_parse_response_full(const char *data, gsize len, gboolean *is_fault, GError **error)
{
    XmlrpcReader r = {.response = TRUE, .text = g_string_new(NULL)};
    JsonNode *result = NULL;

    if (is_fault)
        *is_fault = FALSE;
    if (xmlrpc_read(&r, data, len, error)) {
        if (r.fault)
            xmlrpc_fault_error(r.result, is_fault, error);
        else
            result = g_steal_pointer(&r.result);
    }
    xmlrpc_reader_clear(&r);
    return result;
}

JsonNode *
mom_xmlrpc_parse_response(const char *data, gsize len, GError **error)
{
    return mom_xmlrpc_parse_response_full(data, len, NULL, error);
}
