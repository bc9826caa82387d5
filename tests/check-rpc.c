/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The control API: the XML-RPC codec (round trips, limits, every parse
 * error), then the server and client in one process on a temporary unix
 * socket (the server on this thread's main loop, the client in a thread),
 * then who may connect and call, with children that drop to uid 65534.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <grp.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>

#include "mom-rpc-priv.h"
#include "mom-rpc.h"
#include "mom-rpc-server-priv.h"
#include "mom-test-fs.h"
#include "mom-test-tap.h"

/* ---- helpers -------------------------------------------------------------------- */

static JsonNode *
parse_json(const char *text)
{
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(GError) error = NULL;

    ck_assert_msg(json_parser_load_from_data(parser, text, -1, &error), "%s: %s", text,
                  error ? error->message : "");
    return json_node_copy(json_parser_get_root(parser));
}

static char *
to_json(JsonNode *node)
{
    return json_to_string(node, FALSE);
}

/* Parses @xml as a call expected to fail with @code and a message
 * containing @needle. */
static void
expect_call_error(const char *xml, gsize len, int code, const char *needle)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *method = NULL;
    g_autoptr(JsonArray) params = NULL;

    ck_assert_msg(!mom_xmlrpc_parse_call(xml, len, &method, &params, &error), "accepted: %.200s",
                  xml);
    ck_assert_msg(error->domain == MOM_RPC_ERROR && error->code == code,
                  "%.200s: code %d, not %d: %s", xml, error->code, code, error->message);
    ck_assert_msg(strstr(error->message, needle) != NULL, "'%s' lacks '%s'", error->message,
                  needle);
}

static char *
call_with(const char *values)
{
    return g_strdup_printf("<?xml version='1.0'?><methodCall><methodName>m</methodName>"
                           "<params>%s</params></methodCall>",
                           values);
}

/* The single param of a call document holding @value. */
static JsonNode *
parse_one(const char *value)
{
    g_autofree char *xml =
        g_strdup_printf("<methodCall><methodName>m</methodName><params><param>%s</param>"
                        "</params></methodCall>",
                        value);
    g_autoptr(GError) error = NULL;
    g_autofree char *method = NULL;
    g_autoptr(JsonArray) params = NULL;

    ck_assert_msg(mom_xmlrpc_parse_call(xml, strlen(xml), &method, &params, &error), "%s: %s",
                  value, error ? error->message : "");
    ck_assert_int_eq(json_array_get_length(params), 1);
    return json_array_dup_element(params, 0);
}

/* ---- codec -------------------------------------------------------------------------- */

START_TEST(test_roundtrip_all_types)
{
    static const char *const docs[] = {
        "[1, -7, 0, true, false, 0.1, -2.5, 1e300, \"x\", \"\", null, [], {}]",
        "[{\"a\": {\"b\": [1, [2, [3, {\"c\": null}]]]}, \"\": \"empty name\"}]",
        "[[{\"stats\": {\"mem_free\": 123456, \"ratio\": 0.75, \"names\": [\"vm1\", \"vm2\"]}}]]",
        "[\"<tag> & 'quotes' \\\"dq\\\" ]]> \\r\\n\\t end\", "
        "\"\\u00fcnic\\u00f6de \\u65e5\\u672c \\ud83c\\udf89\", {\"<&>\": \"a&b\"}]",
        "[9223372036854775807, -9223372036854775808, 2147483647, -2147483648, 2147483648, "
        "-2147483649]",
    };

    for (guint i = 0; i < G_N_ELEMENTS(docs); i++) {
        g_autoptr(JsonNode) in = parse_json(docs[i]);
        g_autofree char *xml = mom_xmlrpc_build_call("do.it", json_node_get_array(in));
        g_autofree char *method = NULL;
        g_autoptr(JsonArray) params = NULL;
        g_autoptr(GError) error = NULL;
        g_autoptr(JsonNode) back = NULL;

        ck_assert_msg(mom_xmlrpc_parse_call(xml, strlen(xml), &method, &params, &error), "%s",
                      error ? error->message : "");
        ck_assert_str_eq(method, "do.it");
        back = json_node_init_array(json_node_alloc(), params);
        ck_assert_msg(json_node_equal(in, back), "%s\n-> %s", docs[i], xml);

        /* The same value as a response. */
        g_autofree char *resp = mom_xmlrpc_build_response(in);
        g_autoptr(JsonNode) result = mom_xmlrpc_parse_response(resp, strlen(resp), &error);
        ck_assert_msg(result != NULL, "%s", error ? error->message : "");
        ck_assert(json_node_equal(in, result));
    }
}
END_TEST

START_TEST(test_integer_widths)
{
    static const struct {
        gint64 v;
        const char *xml;
    } cases[] = {
        {0, "<int>0</int>"},
        {G_MAXINT32, "<int>2147483647</int>"},
        {G_MININT32, "<int>-2147483648</int>"},
        {(gint64)G_MAXINT32 + 1, "<i8>2147483648</i8>"},
        {(gint64)G_MININT32 - 1, "<i8>-2147483649</i8>"},
        {G_MAXINT64, "<i8>9223372036854775807</i8>"},
        {G_MININT64, "<i8>-9223372036854775808</i8>"},
    };

    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(JsonNode) n = json_node_init_int(json_node_alloc(), cases[i].v);
        g_autofree char *xml = mom_xmlrpc_build_response(n);
        ck_assert_msg(strstr(xml, cases[i].xml) != NULL, "%s", xml);
    }
    /* Every integer tag reads 64 bits; spaces and '+' as Python's int(). */
    static const struct {
        const char *value;
        gint64 v;
    } reads[] = {
        {"<value><i4>42</i4></value>", 42},
        {"<value><int> -17 </int></value>", -17},
        {"<value><int>+5</int></value>", 5},
        {"<value><int>3000000000</int></value>", 3000000000},
        {"<value><i8>9223372036854775807</i8></value>", G_MAXINT64},
        {"<value><i8>-9223372036854775808</i8></value>", G_MININT64},
    };
    for (guint i = 0; i < G_N_ELEMENTS(reads); i++) {
        g_autoptr(JsonNode) n = parse_one(reads[i].value);
        ck_assert_int_eq(json_node_get_value_type(n), G_TYPE_INT64);
        ck_assert_int_eq(json_node_get_int(n), reads[i].v);
    }
}
END_TEST

START_TEST(test_scalar_forms)
{
    g_autoptr(JsonNode) untyped = parse_one("<value>plain text</value>");
    g_autoptr(JsonNode) empty = parse_one("<value></value>");
    g_autoptr(JsonNode) empty_str = parse_one("<value><string/></value>");
    g_autoptr(JsonNode) spaced = parse_one("<value>\n  <boolean>1</boolean>\n</value>");
    g_autoptr(JsonNode) f = parse_one("<value><boolean>0</boolean></value>");
    g_autoptr(JsonNode) nil = parse_one("<value><nil/></value>");
    g_autoptr(JsonNode) exnil = parse_one("<value><ex:nil/></value>");
    g_autoptr(JsonNode) exnil_ns = parse_one(
        "<value xmlns:ex=\"http://ws.apache.org/xmlrpc/namespaces/extensions\"><ex:nil/></value>");
    g_autoptr(JsonNode) date = parse_one("<value><dateTime.iso8601>19980717T14:08:55"
                                         "</dateTime.iso8601></value>");
    g_autoptr(JsonNode) b64 = parse_one("<value><base64>aGVs\n bG8=</base64></value>");
    g_autoptr(JsonNode) cdata = parse_one("<value><string><![CDATA[<a&b>]]></string></value>");
    g_autoptr(JsonNode) refs =
        parse_one("<value><string>&lt;&#233;&#x1F600;&amp;</string></value>");
    g_autoptr(JsonNode) dbl = parse_one("<value><double> -1.5E+10 </double></value>");
    g_autoptr(JsonNode) dbl2 = parse_one("<value><double>.5</double></value>");
    g_autoptr(JsonNode) ws = parse_one("<value>  </value>");

    ck_assert_str_eq(json_node_get_string(untyped), "plain text");
    ck_assert_str_eq(json_node_get_string(empty), "");
    ck_assert_str_eq(json_node_get_string(empty_str), "");
    ck_assert(json_node_get_boolean(spaced));
    ck_assert(!json_node_get_boolean(f));
    ck_assert(JSON_NODE_HOLDS_NULL(nil));
    ck_assert(JSON_NODE_HOLDS_NULL(exnil));
    ck_assert(JSON_NODE_HOLDS_NULL(exnil_ns));
    ck_assert_str_eq(json_node_get_string(date), "19980717T14:08:55");
    ck_assert_str_eq(json_node_get_string(b64), "aGVsbG8=");
    ck_assert_str_eq(json_node_get_string(cdata), "<a&b>");
    ck_assert_str_eq(json_node_get_string(refs), "<\xc3\xa9\xf0\x9f\x98\x80&");
    ck_assert(json_node_get_double(dbl) == -1.5e10);
    ck_assert(json_node_get_double(dbl2) == 0.5);
    /* Untyped text is a string, whitespace and all. */
    ck_assert_str_eq(json_node_get_string(ws), "  ");
}
END_TEST

START_TEST(test_doubles)
{
    static const struct {
        double d;
        const char *text;
    } cases[] = {
        {0.1, "0.1"},
        {2.0, "2.0"},
        {-0.0, "-0.0"},
        {3984588.8, "3984588.8"},
        {1e16, "10000000000000000.0"},
        {1.5e17, "150000000000000000.0"},
        {1e-5, "0.00001"},
        {-1.25e-7, "-0.000000125"},
        {123456789012345678.0, "123456789012345680.0"},
    };
    char buf[MOM_XMLRPC_DOUBLE_BUFSIZE];

    for (guint i = 0; i < G_N_ELEMENTS(cases); i++)
        ck_assert_str_eq(mom_xmlrpc_format_double(cases[i].d, buf), cases[i].text);

    /* Plain decimal that reads back exactly, at the ends of the range. */
    const double extremes[] = {1e308, -1.7976931348623157e308, 5e-324, 2.2250738585072014e-308,
                               1.0 / 3.0};
    for (guint i = 0; i < G_N_ELEMENTS(extremes); i++) {
        mom_xmlrpc_format_double(extremes[i], buf);
        ck_assert_msg(strpbrk(buf, "eEin") == NULL, "%s", buf);
        ck_assert_msg(g_ascii_strtod(buf, NULL) == extremes[i], "%s", buf);
        g_autofree char *value = g_strdup_printf("<value><double>%s</double></value>", buf);
        g_autoptr(JsonNode) n = parse_one(value);
        ck_assert(json_node_get_double(n) == extremes[i]);
    }

    /* XML-RPC has no infinity or NaN: they go out as <nil/>. */
    const double odd[] = {INFINITY, -INFINITY, NAN};
    for (guint i = 0; i < G_N_ELEMENTS(odd); i++) {
        g_autoptr(JsonNode) n = json_node_init_double(json_node_alloc(), odd[i]);
        g_autofree char *xml = mom_xmlrpc_build_response(n);
        ck_assert_msg(strstr(xml, "<nil/>") && !strstr(xml, "inf") && !strstr(xml, "nan"), "%s",
                      xml);
    }
}
END_TEST

START_TEST(test_string_escaping)
{
    g_autoptr(JsonNode) s =
        json_node_init_string(json_node_alloc(), "a<b>&c \"'\r\n\x01\x1f\xef\xbf\xbe end");
    g_autoptr(JsonNode) bad = json_node_init_string(json_node_alloc(), "x\xff\xfey");
    g_autofree char *xml = mom_xmlrpc_build_response(s);
    g_autofree char *xml_bad = mom_xmlrpc_build_response(bad);
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) back = NULL;
    g_autoptr(JsonNode) back_bad = NULL;

    ck_assert_msg(strstr(xml, "a&lt;b&gt;&amp;c \"'&#13;\n") != NULL, "%s", xml);
    back = mom_xmlrpc_parse_response(xml, strlen(xml), &error);
    ck_assert_msg(back != NULL, "%s", error ? error->message : "");
    /* CR survives; characters XML cannot carry become U+FFFD. */
    ck_assert_str_eq(json_node_get_string(back),
                     "a<b>&c \"'\r\n\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd end");
    back_bad = mom_xmlrpc_parse_response(xml_bad, strlen(xml_bad), &error);
    ck_assert_msg(back_bad != NULL, "%s", error ? error->message : "");
    ck_assert(g_utf8_validate(json_node_get_string(back_bad), -1, NULL));
    ck_assert(g_str_has_prefix(json_node_get_string(back_bad), "x"));

    /* Method names are escaped too. */
    g_autofree char *call = mom_xmlrpc_build_call("a&b", NULL);
    ck_assert(strstr(call, "<methodName>a&amp;b</methodName>") != NULL);
}
END_TEST

/* Written value by value, an answer is byte for byte what the tree gives. */
static void
write_sample(GString *out)
{
    mom_xmlrpc_write_struct_begin(out);
    mom_xmlrpc_write_member(out, "small");
    mom_xmlrpc_write_int(out, -5);
    mom_xmlrpc_write_member_end(out);
    mom_xmlrpc_write_member(out, "big");
    mom_xmlrpc_write_int(out, G_MININT64);
    mom_xmlrpc_write_member_end(out);
    mom_xmlrpc_write_member(out, "ratio");
    mom_xmlrpc_write_double(out, 1.5e-7);
    mom_xmlrpc_write_member_end(out);
    mom_xmlrpc_write_member(out, "inf");
    mom_xmlrpc_write_double(out, INFINITY);
    mom_xmlrpc_write_member_end(out);
    mom_xmlrpc_write_member(out, "a<&>b");
    mom_xmlrpc_write_string(out, "x\ry & \xff");
    mom_xmlrpc_write_member_end(out);
    mom_xmlrpc_write_member(out, "on");
    mom_xmlrpc_write_bool(out, TRUE);
    mom_xmlrpc_write_member_end(out);
    mom_xmlrpc_write_member(out, "none");
    mom_xmlrpc_write_nil(out);
    mom_xmlrpc_write_member_end(out);
    mom_xmlrpc_write_member(out, "empty");
    mom_xmlrpc_write_struct_begin(out);
    mom_xmlrpc_write_struct_end(out);
    mom_xmlrpc_write_member_end(out);
    mom_xmlrpc_write_member(out, "list");
    mom_xmlrpc_write_array_begin(out);
    mom_xmlrpc_write_int(out, 1);
    mom_xmlrpc_write_item_end(out);
    mom_xmlrpc_write_string(out, "a");
    mom_xmlrpc_write_item_end(out);
    mom_xmlrpc_write_array_end(out);
    mom_xmlrpc_write_member_end(out);
    mom_xmlrpc_write_struct_end(out);
}

START_TEST(test_writer_matches_tree)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    g_autoptr(JsonNode) tree = NULL;
    g_autofree char *from_tree = NULL, *written = NULL;
    GString *out = mom_xmlrpc_response_begin();

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "small");
    json_builder_add_int_value(b, -5);
    json_builder_set_member_name(b, "big");
    json_builder_add_int_value(b, G_MININT64);
    json_builder_set_member_name(b, "ratio");
    json_builder_add_double_value(b, 1.5e-7);
    json_builder_set_member_name(b, "inf");
    json_builder_add_double_value(b, INFINITY);
    json_builder_set_member_name(b, "a<&>b");
    json_builder_add_string_value(b, "x\ry & \xff");
    json_builder_set_member_name(b, "on");
    json_builder_add_boolean_value(b, TRUE);
    json_builder_set_member_name(b, "none");
    json_builder_add_null_value(b);
    json_builder_set_member_name(b, "empty");
    json_builder_begin_object(b);
    json_builder_end_object(b);
    json_builder_set_member_name(b, "list");
    json_builder_begin_array(b);
    json_builder_add_int_value(b, 1);
    json_builder_add_string_value(b, "a");
    json_builder_end_array(b);
    json_builder_end_object(b);
    tree = json_builder_get_root(b);
    from_tree = mom_xmlrpc_build_response(tree);
    write_sample(out);
    written = mom_xmlrpc_response_end(out);
    ck_assert_str_eq(written, from_tree);
    ck_assert(strstr(written, "<i8>-9223372036854775808</i8>") != NULL);
    ck_assert(strstr(written, "<double>0.00000015</double>") != NULL);
}
END_TEST

START_TEST(test_python_request)
{
    /* What Python's xmlrpc.client sends for setNamedPolicy("10-x", "(+ 1 2)"). */
    const char *xml = "<?xml version='1.0'?>\n<methodCall>\n<methodName>setNamedPolicy"
                      "</methodName>\n<params>\n<param>\n<value><string>10-x</string></value>\n"
                      "</param>\n<param>\n<value><string>(+ 1 2)</string></value>\n</param>\n"
                      "</params>\n</methodCall>\n";
    g_autofree char *method = NULL;
    g_autoptr(JsonArray) params = NULL;
    g_autoptr(GError) error = NULL;

    ck_assert(mom_xmlrpc_parse_call(xml, strlen(xml), &method, &params, &error));
    ck_assert_str_eq(method, "setNamedPolicy");
    ck_assert_int_eq(json_array_get_length(params), 2);
    ck_assert_str_eq(json_array_get_string_element(params, 1), "(+ 1 2)");

    /* No <params> at all is a call without parameters. */
    const char *bare = "<methodCall><methodName>ping</methodName></methodCall>";
    g_clear_pointer(&method, g_free);
    g_clear_pointer(&params, json_array_unref);
    ck_assert(mom_xmlrpc_parse_call(bare, strlen(bare), &method, &params, &error));
    ck_assert_int_eq(json_array_get_length(params), 0);
}
END_TEST

START_TEST(test_parse_errors)
{
    static const struct {
        const char *values; /* the <params> content, or a whole document */
        gboolean whole;
        int code;
        const char *needle;
    } cases[] = {
        {"this is not XML", TRUE, MOM_RPC_FAULT_PARSE, "Not well-formed XML: line 1"},
        {"<methodCall><methodName>x</methodName>", TRUE, MOM_RPC_FAULT_PARSE, "Not well-formed"},
        {"<methodResponse/>", TRUE, MOM_RPC_FAULT_INVALID,
         "is a <methodResponse>, not a "
         "<methodCall>"},
        {"<methodCall><params/></methodCall>", TRUE, MOM_RPC_FAULT_INVALID,
         "<methodCall> has no <methodName>"},
        {"<methodCall><methodName> </methodName></methodCall>", TRUE, MOM_RPC_FAULT_INVALID,
         "<methodName> is empty"},
        {"<methodCall><methodName>a b</methodName></methodCall>", TRUE, MOM_RPC_FAULT_INVALID,
         "holds a character other than"},
        {"<methodCall><methodName>x</methodName><foo/></methodCall>", TRUE, MOM_RPC_FAULT_INVALID,
         "unexpected <foo>"},
        {"<methodCall>text<methodName>x</methodName></methodCall>", TRUE, MOM_RPC_FAULT_INVALID,
         "holds text where elements belong"},
        {"<!DOCTYPE methodCall [<!ENTITY a \"aaaa\">]><methodCall><methodName>x</methodName>"
         "</methodCall>",
         TRUE, MOM_RPC_FAULT_INVALID, "may not have a DOCTYPE"},
        {"<!DOCTYPE m [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><methodCall><methodName>x"
         "</methodName><params><param><value>&e;</value></param></params></methodCall>",
         TRUE, MOM_RPC_FAULT_INVALID, "DOCTYPE"},
        {"<methodCall><methodName>x</methodName><params><param><value>&undefined;</value>"
         "</param></params></methodCall>",
         TRUE, MOM_RPC_FAULT_PARSE, "Not well-formed"},
        {"<param><value><int>1</int></value></param><param><value><int>x</int></value></param>",
         FALSE, MOM_RPC_FAULT_INVALID, "param 2: <int> holds 'x', not an integer"},
        {"<param><value><int></int></value></param>", FALSE, MOM_RPC_FAULT_INVALID,
         "param 1: <int> holds '', not an integer"},
        {"<param><value><int>1.5</int></value></param>", FALSE, MOM_RPC_FAULT_INVALID,
         "not an integer"},
        {"<param><value><i8>9223372036854775808</i8></value></param>", FALSE, MOM_RPC_FAULT_INVALID,
         "param 1: <i8> holds '9223372036854775808', out of the 64-bit "
         "range"},
        {"<param><value><int>-99999999999999999999</int></value></param>", FALSE,
         MOM_RPC_FAULT_INVALID, "out of the 64-bit range"},
        {"<param><value><boolean>true</boolean></value></param>", FALSE, MOM_RPC_FAULT_INVALID,
         "<boolean> holds 'true', not 0 or 1"},
        {"<param><value><double>abc</double></value></param>", FALSE, MOM_RPC_FAULT_INVALID,
         "<double> holds 'abc', not a number"},
        {"<param><value><double>inf</double></value></param>", FALSE, MOM_RPC_FAULT_INVALID,
         "not a number"},
        {"<param><value><double>nan</double></value></param>", FALSE, MOM_RPC_FAULT_INVALID,
         "not a number"},
        {"<param><value><double>0x10</double></value></param>", FALSE, MOM_RPC_FAULT_INVALID,
         "not a number"},
        {"<param><value><double>1e999</double></value></param>", FALSE, MOM_RPC_FAULT_INVALID,
         "out of range"},
        {"<param><value><float>1</float></value></param>", FALSE, MOM_RPC_FAULT_INVALID,
         "param 1: unknown type <float>"},
        {"<param><value><int>1</int><int>2</int></value></param>", FALSE, MOM_RPC_FAULT_INVALID,
         "holds 2 elements"},
        {"<param><value>x<int>1</int></value></param>", FALSE, MOM_RPC_FAULT_INVALID,
         "holds text where elements belong"},
        {"<param><value><string><b/></string></value></param>", FALSE, MOM_RPC_FAULT_INVALID,
         "<string> holds an element <b>"},
        {"<param></param>", FALSE, MOM_RPC_FAULT_INVALID, "param 1: <param> must hold exactly"},
        {"<value>1</value>", FALSE, MOM_RPC_FAULT_INVALID, "<params> holds <value>"},
        {"<param><value><struct><member><name>x</name><value><int>y</int></value></member>"
         "</struct></value></param>",
         FALSE, MOM_RPC_FAULT_INVALID, "param 1, member 'x': <int> holds 'y'"},
        {"<param><value><struct><member><name>a</name><value><struct><member><name>b</name>"
         "<value><array><data><value>1</value><value><boolean>2</boolean></value></data>"
         "</array></value></member></struct></value></member></struct></value></param>",
         FALSE, MOM_RPC_FAULT_INVALID, "param 1, member 'a', member 'b', item 2: <boolean>"},
        {"<param><value><struct><member><name>x</name></member></struct></value></param>", FALSE,
         MOM_RPC_FAULT_INVALID, "member 1 of <struct> lacks a <value>"},
        {"<param><value><struct><member><value>1</value></member></struct></value></param>", FALSE,
         MOM_RPC_FAULT_INVALID, "lacks a <name>"},
        {"<param><value><struct><foo/></struct></value></param>", FALSE, MOM_RPC_FAULT_INVALID,
         "<struct> holds <foo>, not <member>"},
        {"<param><value><struct><member><name>k</name><value>1</value></member><member><name>k"
         "</name><value>2</value></member></struct></value></param>",
         FALSE, MOM_RPC_FAULT_INVALID, "member 'k': appears twice"},
        {"<param><value><array><value>1</value></array></value></param>", FALSE,
         MOM_RPC_FAULT_INVALID, "<array> must hold exactly one <data>"},
        {"<param><value><array><data><int>1</int></data></array></value></param>", FALSE,
         MOM_RPC_FAULT_INVALID, "param 1, item 1: <data> holds <int>, not <value>"},
        {"<param><value><nil>x</nil></value></param>", FALSE, MOM_RPC_FAULT_INVALID,
         "<nil/> holds text"},
    };

    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *doc =
            cases[i].whole ? g_strdup(cases[i].values) : call_with(cases[i].values);
        expect_call_error(doc, strlen(doc), cases[i].code, cases[i].needle);
    }
    expect_call_error("", 0, MOM_RPC_FAULT_PARSE, "empty");
    /* A NUL inside the document. */
    expect_call_error("<methodCall>\0</methodCall>", 25, MOM_RPC_FAULT_PARSE, "Not well-formed");
}
END_TEST

START_TEST(test_nesting_limits)
{
    GString *doc;

    /* Just within our limit, then one level beyond it. */
    for (int levels = MOM_XMLRPC_MAX_DEPTH; levels <= MOM_XMLRPC_MAX_DEPTH + 1; levels++) {
        g_autofree char *xml = NULL;
        g_autofree char *method = NULL;
        g_autoptr(JsonArray) params = NULL;
        g_autoptr(GError) error = NULL;

        doc = g_string_new("<methodCall><methodName>m</methodName><params><param><value>");
        for (int i = 0; i < levels; i++)
            g_string_append(doc, "<array><data><value>");
        g_string_append(doc, "<int>1</int>");
        for (int i = 0; i < levels; i++)
            g_string_append(doc, "</value></data></array>");
        g_string_append(doc, "</value></param></params></methodCall>");
        xml = g_string_free(doc, FALSE);
        if (levels == MOM_XMLRPC_MAX_DEPTH)
            ck_assert_msg(mom_xmlrpc_parse_call(xml, strlen(xml), &method, &params, &error), "%s",
                          error ? error->message : "");
        else
            expect_call_error(xml, strlen(xml), MOM_RPC_FAULT_INVALID,
                              "param 1, item 1, item 1, item 1");
    }
    {
        g_autofree char *xml = NULL;
        doc = g_string_new("<methodCall><methodName>m</methodName><params><param><value>");
        for (int i = 0; i < MOM_XMLRPC_MAX_DEPTH + 1; i++)
            g_string_append(doc, "<array><data><value>");
        xml = g_string_free(doc, FALSE);
        g_autofree char *full = g_strconcat(xml, "1", NULL);
        /* Unclosed as well: still a clean error. */
        expect_call_error(full, strlen(full), MOM_RPC_FAULT_PARSE, "Not well-formed");
    }
    {
        /* Far deeper than libxml2's own limit of 256 elements. */
        g_autofree char *xml = NULL;
        doc = g_string_new("<methodCall><methodName>m</methodName><params><param><value>");
        for (int i = 0; i < 10000; i++)
            g_string_append(doc, "<struct><member><name>n</name><value>");
        xml = g_string_free(doc, FALSE);
        expect_call_error(xml, strlen(xml), MOM_RPC_FAULT_PARSE, "Not well-formed");
    }
    {
        /* Deep but closed, built as a struct: our limit speaks first. */
        g_autofree char *xml = NULL;
        doc = g_string_new("<methodCall><methodName>m</methodName><params><param><value>");
        for (int i = 0; i < 60; i++)
            g_string_append(doc, "<struct><member><name>n</name><value>");
        for (int i = 0; i < 60; i++)
            g_string_append(doc, "</value></member></struct>");
        g_string_append(doc, "</value></param></params></methodCall>");
        xml = g_string_free(doc, FALSE);
        expect_call_error(xml, strlen(xml), MOM_RPC_FAULT_INVALID, "nest deeper than 32 levels");
    }
}
END_TEST

START_TEST(test_huge_input)
{
    gsize len = MOM_XMLRPC_MAX_SIZE + 1;
    g_autofree char *big = g_malloc(len);
    g_autofree char *head = NULL;
    g_autofree char *doc = NULL;
    GString *s;

    memset(big, ' ', len);
    memcpy(big, "<methodCall>", 12);
    expect_call_error(big, len, MOM_RPC_FAULT_TOO_LARGE, "over the limit of 16777216 bytes");

    /* One 11 MB string, under our document limit: read whole. */
    s = g_string_new("<methodCall><methodName>m</methodName><params><param><value><string>");
    for (int i = 0; i < 11 * 1024; i++)
        g_string_append(s, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
                           "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
                           "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
                           "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
                           "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
                           "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
                           "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
                           "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
                           "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
                           "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
                           "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
                           "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
                           "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
                           "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
                           "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
                           "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
    g_string_append(s, "</string></value></param></params></methodCall>");
    doc = g_string_free(s, FALSE);
    {
        g_autofree char *method = NULL;
        g_autoptr(JsonArray) params = NULL;
        g_autoptr(GError) error = NULL;

        ck_assert_msg(mom_xmlrpc_parse_call(doc, strlen(doc), &method, &params, &error), "%s",
                      error ? error->message : "");
        ck_assert_int_eq(strlen(json_array_get_string_element(params, 0)), 11 * 1024 * 1024);
    }
}
END_TEST

START_TEST(test_fault_round_trip)
{
    g_autofree char *xml = mom_xmlrpc_build_fault(MOM_RPC_FAULT_NO_METHOD, "No <such> & method");
    g_autoptr(GError) error = NULL;
    gboolean is_fault = FALSE;
    JsonNode *n = mom_xmlrpc_parse_response_full(xml, strlen(xml), &is_fault, &error);

    ck_assert(n == NULL);
    ck_assert(is_fault);
    ck_assert(g_error_matches(error, MOM_RPC_ERROR, MOM_RPC_FAULT_NO_METHOD));
    ck_assert_str_eq(error->message, "No <such> & method");
    g_clear_error(&error);

    /* A foreign server's fault (Python's code 1) keeps its code. */
    const char *py = "<?xml version='1.0'?>\n<methodResponse>\n<fault>\n<value><struct>\n"
                     "<member>\n<name>faultCode</name>\n<value><int>1</int></value>\n</member>\n"
                     "<member>\n<name>faultString</name>\n<value><string>&lt;class 'Exception'"
                     "&gt;:boom</string></value>\n</member>\n</struct></value>\n</fault>\n"
                     "</methodResponse>\n";
    ck_assert(mom_xmlrpc_parse_response(py, strlen(py), &error) == NULL);
    ck_assert(g_error_matches(error, MOM_RPC_ERROR, 1));
    ck_assert_str_eq(error->message, "<class 'Exception'>:boom");
}
END_TEST

START_TEST(test_response_errors)
{
    static const struct {
        const char *xml;
        int code;
        const char *needle;
    } cases[] = {
        {"<", MOM_RPC_FAULT_PARSE, "Not well-formed"},
        {"<methodCall/>", MOM_RPC_FAULT_INVALID, "not a <methodResponse>"},
        {"<methodResponse/>", MOM_RPC_FAULT_INVALID, "one <params> or one <fault>"},
        {"<methodResponse><params/></methodResponse>", MOM_RPC_FAULT_INVALID,
         "result: <params> must hold exactly one <param>"},
        {"<methodResponse><params><param><value>1</value></param><param><value>2</value>"
         "</param></params></methodResponse>",
         MOM_RPC_FAULT_INVALID, "exactly one <param>"},
        {"<methodResponse><params><param><value><struct><member><name>a</name><value><i4>z"
         "</i4></value></member></struct></value></param></params></methodResponse>",
         MOM_RPC_FAULT_INVALID, "result, member 'a': <i4> holds 'z'"},
        {"<methodResponse><fault><value><struct><member><name>faultCode</name><value>x</value>"
         "</member><member><name>faultString</name><value>s</value></member></struct></value>"
         "</fault></methodResponse>",
         MOM_RPC_FAULT_INVALID, "fault: a fault must be a struct of faultCode"},
        {"<methodResponse><fault><value>oops</value></fault></methodResponse>",
         MOM_RPC_FAULT_INVALID, "faultCode (int)"},
    };

    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GError) error = NULL;
        gboolean is_fault = TRUE;

        ck_assert(mom_xmlrpc_parse_response_full(cases[i].xml, strlen(cases[i].xml), &is_fault,
                                                 &error) == NULL);
        ck_assert(!is_fault);
        ck_assert_msg(error->code == cases[i].code, "%s: %d %s", cases[i].xml, error->code,
                      error->message);
        ck_assert_msg(strstr(error->message, cases[i].needle) != NULL, "'%s' lacks '%s'",
                      error->message, cases[i].needle);
    }
}
END_TEST

/* A document with several problems is refused for the one the checks
 * meet first, element by element from the root (an element's own
 * children before what they hold), wherever it sits in the text. */
START_TEST(test_check_order)
{
    static const struct {
        const char *xml;
        gboolean whole; /* else the <params> content of a call */
        int code;
        const char *message;
    } cases[] = {
        /* The name after the value: the path still names the member. */
        {"<param><value><struct><member><value><int>z</int></value><name>k</name></member>"
         "</struct></value></param>",
         FALSE, MOM_RPC_FAULT_INVALID, "param 1, member 'k': <int> holds 'z', not an integer"},
        /* Text after the <data> comes before what is wrong inside it. */
        {"<param><value><array><data><value><int>z</int></value></data>oops</array></value>"
         "</param>",
         FALSE, MOM_RPC_FAULT_INVALID, "param 1: <array> holds text where elements belong"},
        {"<param><value><int>z</int><int>2</int></value></param>", FALSE, MOM_RPC_FAULT_INVALID,
         "param 1: <value> holds 2 elements, not one"},
        {"<param><value><struct><member><name>k</name><value>1</value></member><member>"
         "<name>k</name><value><int>z</int></value></member></struct></value></param>",
         FALSE, MOM_RPC_FAULT_INVALID, "param 1, member 'k': appears twice in the <struct>"},
        {"<param><value><array><data><value><int>z</int></value><int>1</int></data></array>"
         "</value></param>",
         FALSE, MOM_RPC_FAULT_INVALID, "param 1, item 1: <int> holds 'z', not an integer"},
        /* The method name is checked before the parameters, wherever it is. */
        {"<methodCall><params><param><value><int>z</int></value></param></params>"
         "<methodName>a b</methodName></methodCall>",
         TRUE, MOM_RPC_FAULT_INVALID,
         "<methodName> 'a b' holds a character other than letters, digits, '_', '.', ':' and "
         "'/'."},
        {"<methodCall><methodName>m</methodName><params><param><value><int>z</int></value>"
         "</param></params><foo/></methodCall>",
         TRUE, MOM_RPC_FAULT_INVALID, "<methodCall> holds an unexpected <foo>."},
        /* Whatever the reader found, a document that is not well-formed is
         * refused as such. */
        {"<methodCall><methodName>m</methodName><params><param><value><int>z</int></value>"
         "</param></params></methodCall><x/>",
         TRUE, MOM_RPC_FAULT_PARSE,
         "Not well-formed XML: line 1: Extra content at the end of the document"},
        {"<methodCall><methodName>m</methodName><params><param><value><int>z</int></value>"
         "</param></params>",
         TRUE, MOM_RPC_FAULT_PARSE, "Not well-formed XML: line 1: "},
    };

    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *doc = cases[i].whole ? g_strdup(cases[i].xml) : call_with(cases[i].xml);
        g_autoptr(GError) error = NULL;
        g_autofree char *method = NULL;
        g_autoptr(JsonArray) params = NULL;

        ck_assert_msg(!mom_xmlrpc_parse_call(doc, strlen(doc), &method, &params, &error),
                      "accepted: %s", doc);
        ck_assert_msg(error->code == cases[i].code, "%s: code %d: %s", doc, error->code,
                      error->message);
        if (cases[i].code == MOM_RPC_FAULT_PARSE)
            ck_assert_msg(g_str_has_prefix(error->message, cases[i].message), "%s", error->message);
        else
            ck_assert_str_eq(error->message, cases[i].message);
    }

    /* In a response, text beside the fault's value comes first. */
    {
        const char *xml = "<methodResponse><fault><value><int>z</int></value>x</fault>"
                          "</methodResponse>";
        g_autoptr(GError) error = NULL;
        gboolean is_fault = TRUE;

        ck_assert(mom_xmlrpc_parse_response_full(xml, strlen(xml), &is_fault, &error) == NULL);
        ck_assert(!is_fault);
        ck_assert_str_eq(error->message, "fault: <fault> holds text where elements belong");
    }
}
END_TEST

/* A text of more than 10 000 000 characters that libxml2 hands over in
 * pieces (here, around each reference) is read whole, as one in a single
 * piece is (test_huge_input). */
START_TEST(test_long_text_in_pieces)
{
    const gsize n = 1100000;
    GString *s = g_string_new("<methodResponse><params><param><value><string>");
    g_autofree char *doc = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) result = NULL;
    const char *text;

    for (gsize i = 0; i < n; i++)
        g_string_append(s, "aaaaaaaaa&amp;");
    g_string_append(s, "</string></value></param></params></methodResponse>");
    doc = g_string_free(s, FALSE);
    result = mom_xmlrpc_parse_response(doc, strlen(doc), &error);
    ck_assert_msg(result != NULL, "%s", error ? error->message : "");
    text = json_node_get_string(result);
    ck_assert_uint_eq(strlen(text), n * 10);
    ck_assert(g_str_has_suffix(text, "aaaaaaaaa&"));
}
END_TEST

START_TEST(test_peer_allowed)
{
    const guint groups[] = {10, 65534};

    ck_assert(mom_rpc_peer_allowed(0, 0, 0, NULL, 0, -1));
    ck_assert(!mom_rpc_peer_allowed(1000, 1000, 0, NULL, 0, -1));
    ck_assert(mom_rpc_peer_allowed(1000, 42, 0, NULL, 0, 42));
    ck_assert(mom_rpc_peer_allowed(1000, 1000, 0, groups, 2, 65534));
    ck_assert(!mom_rpc_peer_allowed(1000, 1000, 0, groups, 2, 42));
    /* No SO_PEERGROUPS: /proc/PID/status of a live process. */
    {
        g_autofree char *status = NULL;
        ck_assert(g_file_get_contents("/proc/self/status", &status, NULL, NULL));
        char *line = strstr(status, "\nGroups:");
        ck_assert(line != NULL);
        guint64 first = g_ascii_strtoull(line + 8, NULL, 10);
        if (line[8] != '\n' && first != 0)
            ck_assert(mom_rpc_peer_allowed(1000, 1000, getpid(), NULL, 0, (gint64)first));
        ck_assert(!mom_rpc_peer_allowed(1000, 1000, getpid(), NULL, 0, 987654));
    }
}
END_TEST

/* ---- server and client ------------------------------------------------------------------ */

static JsonNode *
h_ping(JsonArray *params, gpointer data, GError **error)
{
    return json_node_init_boolean(json_node_alloc(), TRUE);
}

static JsonNode *
h_echo(JsonArray *params, gpointer data, GError **error)
{
    return json_node_init_array(json_node_alloc(), json_array_ref(params));
}

static JsonNode *
h_fail(JsonArray *params, gpointer data, GError **error)
{
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "The frobnicator broke.");
    return NULL;
}

static JsonNode *
h_sleep(JsonArray *params, gpointer data, GError **error)
{
    g_usleep(2500 * 1000);
    return NULL;
}

static gboolean
w_sample(JsonArray *params, gpointer data, GString *out, GError **error)
{
    write_sample(out);
    return TRUE;
}

/* Fails half-way: what it wrote must not reach the client. */
static gboolean
w_fail(JsonArray *params, gpointer data, GString *out, GError **error)
{
    mom_xmlrpc_write_struct_begin(out);
    g_set_error(error, MOM_RPC_ERROR, MOM_RPC_FAULT_PARAMS, "The sample is not ready.");
    return FALSE;
}

/* One byte more than an answer may hold, as a tree and as written. */
static JsonNode *
h_huge(JsonArray *params, gpointer data, GError **error)
{
    g_autofree char *text = g_strnfill(MOM_XMLRPC_MAX_SIZE + 1, 'x');
    return json_node_init_string(json_node_alloc(), text);
}

static gboolean
w_huge(JsonArray *params, gpointer data, GString *out, GError **error)
{
    g_autofree char *text = g_strnfill(MOM_XMLRPC_MAX_SIZE + 1, 'x');
    mom_xmlrpc_write_string(out, text);
    return TRUE;
}

static const MomRpcMethod test_methods[] = {
    {"ping", 0, 0, h_ping, "Answers true."},
    {"huge", 0, 0, h_huge, "Answers too much."},
    {"whuge", 0, 0, NULL, "Writes too much.", w_huge},
    {"sample", 0, 0, NULL, "Written, not built.", w_sample},
    {"wfail", 0, 0, NULL, "Fails while writing.", w_fail},
    {"echo", 0, 5, h_echo, "Returns its parameters."},
    {"fail", 0, 0, h_fail, "Always fails."},
    {"sleep", 0, 0, h_sleep, "Takes 2.5 s."},
    {"setNamedPolicy", 2, 2, h_echo, "Sets a named policy."},
    {NULL},
};

typedef struct {
    char *dir;
    char *path;
    MomRpcServer *server;
} Fixture;

static void
fixture_setup(Fixture *f, const MomRpcConfig *base)
{
    MomRpcConfig cfg = base ? *base : (MomRpcConfig){0};
    g_autoptr(GError) error = NULL;
    g_autofree char *own_group = NULL;

    /* Not root: the server lets this process in through its group. */
    if (geteuid() != 0 && cfg.group == NULL)
        cfg.group = own_group = mom_rpc_group_name(getegid());
    f->dir = g_dir_make_tmp("momd-rpc-XXXXXX", NULL);
    ck_assert(f->dir != NULL);
    /* Searchable, so that uid 65534 reaches the socket in the children. */
    g_chmod(f->dir, 0755);
    f->path = g_build_filename(f->dir, "run", "momd", "momd.sock", NULL);
    cfg.socket_path = f->path;
    f->server = mom_rpc_server_new(&cfg, test_methods, NULL, &error);
    ck_assert_msg(f->server != NULL, "%s", error ? error->message : "");
}

static void
fixture_teardown(Fixture *f)
{
    g_autofree char *run = g_build_filename(f->dir, "run", NULL);
    g_autofree char *momd = g_build_filename(run, "momd", NULL);

    g_clear_pointer(&f->server, mom_rpc_server_free);
    ck_assert(!g_file_test(f->path, G_FILE_TEST_EXISTS));
    g_rmdir(momd);
    g_rmdir(run);
    g_rmdir(f->dir);
    g_free(f->path);
    g_free(f->dir);
}

/* Runs @fn(@data) in a thread while this thread's main loop serves. */
typedef struct {
    void (*fn)(gpointer);
    gpointer data;
    GMainLoop *loop;
} ClientRun;

static gboolean
quit_loop(gpointer data)
{
    g_main_loop_quit(data);
    return G_SOURCE_REMOVE;
}

static gpointer
client_thread(gpointer data)
{
    ClientRun *run = data;

    run->fn(run->data);
    g_main_context_invoke(NULL, quit_loop, run->loop);
    return NULL;
}

static void
run_client(void (*fn)(gpointer), gpointer data)
{
    ClientRun run = {fn, data, g_main_loop_new(NULL, FALSE)};
    GThread *t = g_thread_new("client", client_thread, &run);

    g_main_loop_run(run.loop);
    g_thread_join(t);
    g_main_loop_unref(run.loop);
}

typedef struct {
    const char *path;
    const char *method;
    JsonArray *params;
    guint timeout;
    JsonNode *result;
    GError *error;
} Call;

static void
do_call(gpointer data)
{
    Call *c = data;
    c->result = mom_rpc_call(c->path, c->method, c->params, c->timeout, &c->error);
}

/* Calls @method on @path; returns the result or NULL with *@error. */
static JsonNode *
call(const char *path, const char *method, JsonArray *params, GError **error)
{
    Call c = {path, method, params, 5, NULL, NULL};

    run_client(do_call, &c);
    if (c.error)
        g_propagate_error(error, c.error);
    return c.result;
}

START_TEST(test_server_calls)
{
    Fixture f;
    g_autoptr(GError) error = NULL;
    struct stat st;

    fixture_setup(&f, NULL);
    ck_assert(g_stat(f.path, &st) == 0);
    ck_assert(S_ISSOCK(st.st_mode));
    ck_assert_int_eq(st.st_mode & 0777, geteuid() == 0 ? 0600 : 0660);

    g_autoptr(JsonNode) pong = call(f.path, "ping", NULL, &error);
    ck_assert_msg(pong != NULL, "%s", error ? error->message : "");
    ck_assert(json_node_get_boolean(pong));

    g_autoptr(JsonNode) args = parse_json("[42, 3000000000, \"<&> \\u00e9\", [true, null], "
                                          "{\"x\": 0.1, \"y\": {\"z\": []}}]");
    g_autoptr(JsonNode) echoed = call(f.path, "echo", json_node_get_array(args), &error);
    ck_assert_msg(echoed != NULL, "%s", error ? error->message : "");
    ck_assert(json_node_equal(args, echoed));

    g_autoptr(JsonNode) list = call(f.path, "system.listMethods", NULL, &error);
    ck_assert(list != NULL);
    g_autofree char *names = to_json(list);
    ck_assert_str_eq(names, "[\"echo\",\"fail\",\"huge\",\"ping\",\"sample\",\"setNamedPolicy\","
                            "\"sleep\",\"system.listMethods\",\"system.methodHelp\",\"wfail\","
                            "\"whuge\"]");

    g_autoptr(JsonNode) which = parse_json("[\"ping\"]");
    g_autoptr(JsonNode) help =
        call(f.path, "system.methodHelp", json_node_get_array(which), &error);
    ck_assert(help != NULL);
    ck_assert_str_eq(json_node_get_string(help), "Answers true.");

    ck_assert(call(f.path, "nosuch", NULL, &error) == NULL);
    ck_assert(g_error_matches(error, MOM_RPC_ERROR, MOM_RPC_FAULT_NO_METHOD));
    ck_assert_str_eq(error->message, "No method named 'nosuch'");
    g_clear_error(&error);

    g_autoptr(JsonNode) one = parse_json("[\"10-x\"]");
    ck_assert(call(f.path, "setNamedPolicy", json_node_get_array(one), &error) == NULL);
    ck_assert(g_error_matches(error, MOM_RPC_ERROR, MOM_RPC_FAULT_PARAMS));
    ck_assert_str_eq(error->message, "setNamedPolicy takes 2 parameters, got 1");
    g_clear_error(&error);

    ck_assert(call(f.path, "ping", json_node_get_array(one), &error) == NULL);
    ck_assert_str_eq(error->message, "ping takes no parameters, got 1");
    g_clear_error(&error);

    g_autoptr(JsonNode) six = parse_json("[1, 2, 3, 4, 5, 6]");
    ck_assert(call(f.path, "echo", json_node_get_array(six), &error) == NULL);
    ck_assert_str_eq(error->message, "echo takes 0 to 5 parameters, got 6");
    g_clear_error(&error);

    ck_assert(call(f.path, "fail", NULL, &error) == NULL);
    ck_assert(g_error_matches(error, MOM_RPC_ERROR, MOM_RPC_FAULT_INTERNAL));
    ck_assert_str_eq(error->message, "The frobnicator broke.");
    g_clear_error(&error);

    /* A writer's answer; a writer's failure is a fault with its code. */
    g_autoptr(JsonNode) sample = call(f.path, "sample", NULL, &error);
    ck_assert_msg(sample != NULL, "%s", error ? error->message : "");
    g_autoptr(JsonNode) sample_want =
        parse_json("{\"small\":-5,\"big\":-9223372036854775808,\"ratio\":1.5e-07,"
                   "\"inf\":null,\"a<&>b\":\"x\\ry & \\ufffd\",\"on\":true,\"none\":null,"
                   "\"empty\":{},\"list\":[1,\"a\"]}");
    g_autofree char *sample_json = to_json(sample);
    ck_assert_msg(json_node_equal(sample, sample_want), "%s", sample_json);
    ck_assert(call(f.path, "wfail", NULL, &error) == NULL);
    ck_assert(g_error_matches(error, MOM_RPC_ERROR, MOM_RPC_FAULT_PARAMS));
    ck_assert_str_eq(error->message, "The sample is not ready.");
    g_clear_error(&error);

    fixture_teardown(&f);
}
END_TEST

/* Raw HTTP over the socket with GSocketClient: the answer, up to EOF. */
typedef struct {
    const char *path;
    GBytes *request;
    guint trickle_ms; /* > 0: send one byte at a time, this far apart */
    GString *answer;
    gdouble seconds; /* until the server closed */
} Raw;

static void
do_raw(gpointer data)
{
    Raw *r = data;
    g_autoptr(GSocketClient) client = g_socket_client_new();
    g_autoptr(GSocketAddress) addr = g_unix_socket_address_new(r->path);
    g_autoptr(GError) error = NULL;
    g_autoptr(GSocketConnection) conn = NULL;
    g_autoptr(GTimer) timer = g_timer_new();
    GSocket *sock;
    gsize len;
    const char *data_ = g_bytes_get_data(r->request, &len);
    char buf[4096];

    r->answer = g_string_new(NULL);
    conn = g_socket_client_connect(client, G_SOCKET_CONNECTABLE(addr), NULL, &error);
    ck_assert_msg(conn != NULL, "%s", error ? error->message : "");
    sock = g_socket_connection_get_socket(conn);
    g_socket_set_timeout(sock, 15);
    if (r->trickle_ms) {
        for (gsize i = 0; i < len; i++) {
            if (g_socket_send(sock, data_ + i, 1, NULL, NULL) < 0)
                break;
            g_usleep(r->trickle_ms * 1000);
        }
    } else {
        /* The server may answer (413) and close before taking it all. */
        for (gsize off = 0; off < len;) {
            gssize n = g_socket_send(sock, data_ + off, len - off, NULL, NULL);
            if (n <= 0)
                break;
            off += n;
        }
    }
    for (;;) {
        gssize n = g_socket_receive(sock, buf, sizeof(buf), NULL, NULL);
        if (n <= 0)
            break;
        g_string_append_len(r->answer, buf, n);
    }
    r->seconds = g_timer_elapsed(timer, NULL);
}

static char *
raw(const char *path, const char *request, gsize len, guint trickle_ms, gdouble *seconds)
{
    Raw r = {path, g_bytes_new(request, len), trickle_ms, NULL, 0};

    run_client(do_raw, &r);
    g_bytes_unref(r.request);
    if (seconds)
        *seconds = r.seconds;
    return g_string_free(r.answer, FALSE);
}

static void
assert_still_serving(const char *path)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) pong = call(path, "ping", NULL, &error);

    ck_assert_msg(pong != NULL && json_node_get_boolean(pong), "%s", error ? error->message : "");
}

START_TEST(test_server_http_errors)
{
    Fixture f;
    /* Some garbage leaves libsoup waiting for more: the deadline ends it. */
    MomRpcConfig cfg = {.timeout = 2};
    static const char *const garbage[] = {
        "GARBAGE\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
        "POST / HTTP/9.9\r\n\r\n",
        "\x01\x02\x03\xff\xfe\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc",
    };

    fixture_setup(&f, &cfg);

    g_autofree char *get =
        raw(f.path, "GET /RPC2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 51, 0, NULL);
    ck_assert_msg(g_str_has_prefix(get, "HTTP/1.1 405"), "%s", get);
    ck_assert_msg(strstr(get, "Allow: POST") != NULL, "%s", get);

    for (guint i = 0; i < G_N_ELEMENTS(garbage); i++) {
        g_autofree char *answer = raw(f.path, garbage[i], strlen(garbage[i]), 0, NULL);
        ck_assert_msg(!g_str_has_prefix(answer, "HTTP/1.1 200"), "%s", answer);
        assert_still_serving(f.path);
    }

    /* Well-formed HTTP, broken XML: a fault, HTTP 200 as XML-RPC wants. */
    const char *body = "<methodCall><methodName>ping</methodName><params>";
    g_autofree char *req = g_strdup_printf("POST /RPC2 HTTP/1.1\r\nHost: x\r\nConnection: close"
                                           "\r\nContent-Type: text/xml\r\nContent-Length: %zu"
                                           "\r\n\r\n%s",
                                           strlen(body), body);
    g_autofree char *answer = raw(f.path, req, strlen(req), 0, NULL);
    ck_assert_msg(g_str_has_prefix(answer, "HTTP/1.1 200"), "%s", answer);
    ck_assert_msg(strstr(answer, "<name>faultCode</name>\n<value><int>-32700</int>"), "%s", answer);

    /* Python's client posts to "/"; any path is served. */
    const char *ping = "<methodCall><methodName>ping</methodName></methodCall>";
    g_autofree char *req2 = g_strdup_printf("POST / HTTP/1.0\r\nContent-Type: text/xml\r\n"
                                            "Content-Length: %zu\r\n\r\n%s",
                                            strlen(ping), ping);
    g_autofree char *answer2 = raw(f.path, req2, strlen(req2), 0, NULL);
    ck_assert_msg(strstr(answer2, "<value><boolean>1</boolean></value>"), "%s", answer2);
    fixture_teardown(&f);
}
END_TEST

START_TEST(test_server_too_large)
{
    Fixture f;
    MomRpcConfig cfg = {.max_request = 4096};
    g_autoptr(GError) error = NULL;

    fixture_setup(&f, &cfg);

    /* Through the client: the 413 carries a fault, which it returns. */
    g_autoptr(JsonArray) params = json_array_new();
    g_autofree char *big = g_strnfill(10000, 'x');
    json_array_add_string_element(params, big);
    ck_assert(call(f.path, "echo", params, &error) == NULL);
    ck_assert_msg(g_error_matches(error, MOM_RPC_ERROR, MOM_RPC_FAULT_TOO_LARGE), "%s",
                  error->message);
    ck_assert_str_eq(error->message, "The request declares a Content-Length over the limit of "
                                     "4096 bytes.");
    g_clear_error(&error);

    /* Raw, announcing 100000 bytes: refused on the headers, the body
     * read and dropped. */
    GString *req = g_string_new("POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n"
                                "Connection: close\r\n\r\n");
    for (int i = 0; i < 100000; i++)
        g_string_append_c(req, 'z');
    g_autofree char *head = g_string_free(req, FALSE);
    g_autofree char *answer = raw(f.path, head, strlen(head), 0, NULL);
    ck_assert_msg(g_str_has_prefix(answer, "HTTP/1.1 413"), "%s", answer);
    ck_assert_msg(strstr(answer, "<int>-32001</int>") != NULL, "%s", answer);

    /* Chunked, no length announced: refused once the body passes the limit. */
    GString *chunked = g_string_new("POST /RPC2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                                    "Transfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < 10; i++) {
        g_string_append(chunked, "400\r\n");
        for (int k = 0; k < 0x400; k++)
            g_string_append_c(chunked, 'a');
        g_string_append(chunked, "\r\n");
    }
    g_string_append(chunked, "0\r\n\r\n");
    g_autofree char *creq = g_string_free(chunked, FALSE);
    g_autofree char *canswer = raw(f.path, creq, strlen(creq), 0, NULL);
    ck_assert_msg(g_str_has_prefix(canswer, "HTTP/1.1 413"), "%s", canswer);
    ck_assert_msg(strstr(canswer, "The request body is over the limit of 4096 bytes.") != NULL,
                  "%s", canswer);

    assert_still_serving(f.path);
    fixture_teardown(&f);
}
END_TEST

/* docs/rpc.md: an answer over 16 MiB is the TOO_LARGE fault, not a
 * truncated answer (nor one the client's codec refuses). */
START_TEST(test_server_answer_too_large)
{
    Fixture f;
    static const char *const methods[] = {"huge", "whuge"};

    fixture_setup(&f, NULL);
    for (guint i = 0; i < G_N_ELEMENTS(methods); i++) {
        g_autoptr(GError) error = NULL;
        /* 16 MiB + 1 of 'x', plus the XML around it */
        g_autofree char *want = g_strdup_printf(
            "The answer to %s would be %d bytes, over the limit of 16777216 bytes.", methods[i],
            (int)strlen("<?xml version=\"1.0\"?>\n<methodResponse>\n<params>\n<param>\n"
                        "<value><string></string></value>\n</param>\n</params>\n"
                        "</methodResponse>\n") +
                MOM_XMLRPC_MAX_SIZE + 1);

        ck_assert(call(f.path, methods[i], NULL, &error) == NULL);
        ck_assert_msg(g_error_matches(error, MOM_RPC_ERROR, MOM_RPC_FAULT_TOO_LARGE), "%s: %s",
                      methods[i], error->message);
        ck_assert_str_eq(error->message, want);
    }
    assert_still_serving(f.path);
    fixture_teardown(&f);
}
END_TEST

START_TEST(test_server_timeout)
{
    Fixture f;
    MomRpcConfig cfg = {.timeout = 1};
    gdouble seconds = 0;
    g_autoptr(GError) error = NULL;

    fixture_setup(&f, &cfg);

    /* Half a request line, then silence. */
    g_autofree char *a = raw(f.path, "POST / HTTP/1.1\r\n", 17, 0, &seconds);
    ck_assert_msg(seconds < 4, "held for %.1f s", seconds);

    /* A byte every 200 ms: never idle, still cut off after the deadline. */
    const char *slow = "POST / HTTP/1.1\r\nHost: a-very-slow-client-that-goes-on-and-on\r\n"
                       "X-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    g_autofree char *b = raw(f.path, slow, strlen(slow), 200, &seconds);
    ck_assert_msg(seconds < 5, "held for %.1f s", seconds);

    /* The client's own timeout: a handler slower than it. */
    Call c = {f.path, "sleep", NULL, 1, NULL, NULL};
    run_client(do_call, &c);
    ck_assert(c.result == NULL);
    ck_assert_msg(g_error_matches(c.error, MOM_RPC_ERROR, MOM_RPC_FAULT_PROTOCOL), "%s",
                  c.error->message);
    ck_assert_msg(strstr(c.error->message, "did not answer sleep within 1 seconds") != NULL, "%s",
                  c.error->message);
    g_clear_error(&c.error);

    assert_still_serving(f.path);
    fixture_teardown(&f);
}
END_TEST

START_TEST(test_client_not_running)
{
    g_autofree char *dir = g_dir_make_tmp("momd-rpc-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "momd.sock", NULL);
    g_autofree char *expected =
        g_strdup_printf("momd is not running: nothing listens on %s.", path);
    g_autoptr(GError) error = NULL;
    g_autoptr(GSocket) dead = NULL;
    g_autoptr(GSocketAddress) addr = g_unix_socket_address_new(path);

    ck_assert(mom_rpc_call(path, "ping", NULL, 2, &error) == NULL);
    ck_assert(g_error_matches(error, MOM_RPC_ERROR, MOM_RPC_FAULT_CONNECT));
    ck_assert_str_eq(error->message, expected);
    g_clear_error(&error);

    /* A stale socket: bound, nobody listening (ECONNREFUSED). */
    dead = g_socket_new(G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, 0, NULL);
    ck_assert(g_socket_bind(dead, addr, FALSE, NULL));
    ck_assert(mom_rpc_call(path, "ping", NULL, 2, &error) == NULL);
    ck_assert_msg(g_error_matches(error, MOM_RPC_ERROR, MOM_RPC_FAULT_CONNECT), "%s",
                  error->message);
    ck_assert_str_eq(error->message, expected);
    g_clear_error(&error);

    /* The server replaces the stale socket... */
    MomRpcConfig cfg = {.socket_path = path};
    MomRpcServer *server = mom_rpc_server_new(&cfg, test_methods, NULL, &error);
    ck_assert_msg(server != NULL, "%s", error ? error->message : "");
    /* ...but not a live one, */
    MomRpcServer *second = mom_rpc_server_new(&cfg, test_methods, NULL, &error);
    ck_assert(second == NULL);
    ck_assert_msg(strstr(error->message, "already listens there") != NULL, "%s", error->message);
    g_clear_error(&error);
    mom_rpc_server_free(server);
    ck_assert(!g_file_test(path, G_FILE_TEST_EXISTS));

    /* ...nor a file that is not a socket. */
    ck_assert(g_file_set_contents(path, "precious", -1, NULL));
    ck_assert(mom_rpc_server_new(&cfg, test_methods, NULL, &error) == NULL);
    ck_assert_msg(strstr(error->message, "is not a socket") != NULL, "%s", error->message);
    g_clear_error(&error);
    ck_assert(g_file_test(path, G_FILE_TEST_IS_REGULAR));
    g_unlink(path);

    /* Configuration errors. */
    cfg.group = "no-such-group-momd-test";
    ck_assert(mom_rpc_server_new(&cfg, test_methods, NULL, &error) == NULL);
    ck_assert_str_eq(error->message, "Unknown group 'no-such-group-momd-test' for the RPC "
                                     "socket.");
    g_clear_error(&error);
    MomRpcConfig none = {0};
    ck_assert(mom_rpc_server_new(&none, test_methods, NULL, &error) == NULL);
    g_clear_error(&error);
    g_rmdir(dir);
}
END_TEST

/* ---- the socket's directories -------------------------------------------------------- */

/* mom_rpc_check_socket_dir(@root/@rel/s.sock) for this process's uid. */
static gboolean
check_dir(const char *root, const char *rel, GError **error)
{
    g_autofree char *path = g_build_filename(root, rel, "s.sock", NULL);
    return mom_rpc_check_socket_dir(path, geteuid(), error);
}

static void
make_dir(const char *root, const char *rel, mode_t mode)
{
    g_autofree char *path = g_build_filename(root, rel, NULL);

    ck_assert_int_eq(g_mkdir_with_parents(path, 0700), 0);
    ck_assert_int_eq(g_chmod(path, mode), 0);
}

static void
make_link(const char *root, const char *rel, const char *target)
{
    g_autofree char *path = g_build_filename(root, rel, NULL);

    ck_assert_int_eq(symlink(target, path), 0);
}

START_TEST(test_socket_dir_checks)
{
    g_autofree char *root = g_dir_make_tmp("momd-rpc-XXXXXX", NULL);
    static const struct {
        const char *rel; /* the socket is rel/s.sock */
        int code;        /* 0: safe */
        const char *needle;
    } cases[] = {
        {"safe", 0, NULL},
        {"safe/deeper", 0, NULL},
        {"open", MOM_RPC_FAULT_UNSAFE, "/open is writable by every user (mode 0777)"},
        {"group", MOM_RPC_FAULT_UNSAFE, "/group is writable by the members of group "},
        /* a sticky directory like /tmp may not hold the socket itself ... */
        {"sticky", MOM_RPC_FAULT_UNSAFE, "/sticky is writable by every user (mode 1777)"},
        /* ... but may be on the way to a directory of root's (or ours) */
        {"sticky/safe", 0, NULL},
        {"open/safe", MOM_RPC_FAULT_UNSAFE, "/open is writable by every user (mode 0777)"},
        /* links are followed, and the directories they lead to checked */
        {"to-open", MOM_RPC_FAULT_UNSAFE, "/open is writable by every user"},
        {"to-safe", 0, NULL},
        {"to-safe-relative/deeper", 0, NULL},
        {"safe/../open", MOM_RPC_FAULT_UNSAFE, "/open is writable by every user"},
        {"safe/up/open", MOM_RPC_FAULT_UNSAFE, "/open is writable by every user"},
        {"loop", MOM_RPC_FAULT_UNSAFE, "Too many levels of symbolic links"},
        {"file", MOM_RPC_FAULT_UNSAFE, "/file is not a directory"},
        {"missing", MOM_RPC_FAULT_CONNECT, "/missing of the control socket "},
    };

    make_dir(root, "safe/deeper", 0755);
    make_dir(root, "open", 0777);
    make_dir(root, "open/safe", 0755);
    make_dir(root, "group", 0775);
    make_dir(root, "sticky", 01777);
    make_dir(root, "sticky/safe", 0755);
    make_link(root, "to-open", "open");
    g_autofree char *abs_safe = g_build_filename(root, "safe", NULL);
    make_link(root, "to-safe", abs_safe);
    make_link(root, "to-safe-relative", "./safe/../safe");
    make_link(root, "safe/up", "..");
    make_link(root, "loop", "loop");
    mom_test_write_file(root, "file", "");
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GError) error = NULL;
        gboolean ok = check_dir(root, cases[i].rel, &error);

        if (cases[i].code == 0) {
            ck_assert_msg(ok, "%s: %s", cases[i].rel, error ? error->message : "");
            continue;
        }
        ck_assert_msg(!ok, "%s: accepted", cases[i].rel);
        ck_assert_msg(g_error_matches(error, MOM_RPC_ERROR, cases[i].code), "%s: %d %s",
                      cases[i].rel, error->code, error->message);
        ck_assert_msg(strstr(error->message, cases[i].needle) != NULL, "%s: %s", cases[i].rel,
                      error->message);
    }

    /* The whole message: what is wrong, why it matters, what to do. */
    g_autoptr(GError) error = NULL;
    g_autofree char *sock = g_build_filename(root, "open", "s.sock", NULL);
    g_autofree char *want = NULL;
    g_autofree char *me = geteuid() == 0 ? g_strdup("")
                                         : g_strdup_printf(" or to user %s (uid %u)",
                                                           g_get_user_name(), (guint)geteuid());
    ck_assert(!mom_rpc_check_socket_dir(sock, geteuid(), &error));
    want = g_strdup_printf("The control socket %s is not safe: the directory %s/open is writable "
                           "by every user (mode 0777), who could replace the socket. Every "
                           "directory on the way to it must belong to root%s and be writable by "
                           "its owner only.",
                           sock, root, me);
    ck_assert_str_eq(error->message, want);
    /* a relative path is taken from the working directory */
    g_autofree char *cwd = g_get_current_dir();
    ck_assert_int_eq(chdir(root), 0);
    ck_assert(!mom_rpc_check_socket_dir("open/s.sock", geteuid(), NULL));
    ck_assert(mom_rpc_check_socket_dir("safe/s.sock", geteuid(), NULL));
    ck_assert_int_eq(chdir(cwd), 0);
    mom_test_remove_tree(root);
}
END_TEST

/* The server refuses to start there, and the client sends nothing there. */
START_TEST(test_socket_dir_server_client)
{
    g_autofree char *root = g_dir_make_tmp("momd-rpc-XXXXXX", NULL);
    g_autofree char *open_dir = g_build_filename(root, "open", NULL);
    g_autofree char *path = g_build_filename(open_dir, "momd.sock", NULL);
    g_autoptr(GError) error = NULL;
    MomRpcConfig cfg = {.socket_path = path};

    make_dir(root, "open", 0777);
    ck_assert(mom_rpc_server_new(&cfg, test_methods, NULL, &error) == NULL);
    ck_assert_msg(g_error_matches(error, MOM_RPC_ERROR, MOM_RPC_FAULT_UNSAFE), "%s",
                  error->message);
    ck_assert_msg(strstr(error->message, "is writable by every user (mode 0777)") != NULL, "%s",
                  error->message);
    ck_assert(!g_file_test(path, G_FILE_TEST_EXISTS));
    g_clear_error(&error);

    /* Someone else's listener in that directory: the client refuses
     * before it connects, so the listener never sees a connection. */
    g_autoptr(GSocket) listener =
        g_socket_new(G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT, NULL);
    g_autoptr(GSocketAddress) addr = g_unix_socket_address_new(path);
    ck_assert(g_socket_bind(listener, addr, FALSE, NULL));
    ck_assert(g_socket_listen(listener, NULL));
    g_socket_set_blocking(listener, FALSE);
    ck_assert(mom_rpc_call(path, "ping", NULL, 2, &error) == NULL);
    ck_assert_msg(g_error_matches(error, MOM_RPC_ERROR, MOM_RPC_FAULT_UNSAFE), "%s",
                  error->message);
    ck_assert_msg(g_str_has_suffix(error->message, "writable by its owner only. Nothing was sent "
                                                   "to it."),
                  "%s", error->message);
    g_clear_error(&error);
    g_autoptr(GSocket) peer = g_socket_accept(listener, NULL, &error);
    ck_assert(peer == NULL);
    ck_assert(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK));
    g_clear_error(&error);

    /* Made safe, the same socket is called. */
    ck_assert_int_eq(g_chmod(open_dir, 0755), 0);
    ck_assert(mom_rpc_call(path, "ping", NULL, 1, &error) == NULL);
    ck_assert_msg(!g_error_matches(error, MOM_RPC_ERROR, MOM_RPC_FAULT_UNSAFE), "%s",
                  error->message);
    peer = g_socket_accept(listener, NULL, NULL);
    ck_assert(peer != NULL);
    g_socket_close(listener, NULL);
    mom_test_remove_tree(root);
}
END_TEST

/* Ownership: directories and links of another user (root only: chown). */
START_TEST(test_socket_dir_owners)
{
    g_autofree char *root = g_dir_make_tmp("momd-rpc-XXXXXX", NULL);
    g_autofree char *theirs = g_build_filename(root, "theirs", NULL);
    g_autofree char *sticky = g_build_filename(root, "sticky", NULL);
    g_autofree char *link = g_build_filename(sticky, "link", NULL);
    g_autoptr(GError) error = NULL;

    make_dir(root, "theirs/safe", 0755);
    make_dir(root, "sticky", 01777);
    make_dir(root, "mine", 0755);
    ck_assert_int_eq(chown(theirs, 65534, 65534), 0);
    ck_assert(!check_dir(root, "theirs", &error));
    ck_assert(g_error_matches(error, MOM_RPC_ERROR, MOM_RPC_FAULT_UNSAFE));
    ck_assert_msg(strstr(error->message, "/theirs belongs to user nobody (uid 65534), who could "
                                         "replace the socket.") != NULL,
                  "%s", error->message);
    g_clear_error(&error);
    /* deeper: the other user can rename "safe" away and put their own */
    ck_assert(!check_dir(root, "theirs/safe", &error));
    g_clear_error(&error);
    /* the owner itself may use it (momd or momctl run by that user) */
    g_autofree char *sock = g_build_filename(theirs, "s.sock", NULL);
    ck_assert(mom_rpc_check_socket_dir(sock, 65534, &error));
    /* root's directories are safe for every user */
    g_autofree char *mine = g_build_filename(root, "mine", "s.sock", NULL);
    ck_assert(mom_rpc_check_socket_dir(mine, 65534, NULL));

    /* a link in a sticky directory can be replaced by its owner */
    ck_assert_int_eq(symlink("../mine", link), 0);
    ck_assert(check_dir(sticky, "link", NULL));
    ck_assert_int_eq(lchown(link, 65534, 65534), 0);
    ck_assert(!check_dir(sticky, "link", &error));
    ck_assert_msg(strstr(error->message, "the symbolic link") != NULL &&
                      strstr(error->message, "/sticky/link belongs to user nobody") != NULL,
                  "%s", error->message);
    mom_test_remove_tree(root);
}
END_TEST

/* ---- who may call: children running as uid 65534 ------------------------------------- */

typedef struct {
    int go[2];     /* parent -> child: the server is up */
    int result[2]; /* child -> parent: "CODE\nMESSAGE" */
    pid_t pid;
    GString *out;
    GMainLoop *loop;
} Child;

/*
 * Forks at the start of a test, before the server exists and before GIO
 * starts threads, so the child's GLib is clean.  The child waits for the
 * go-ahead, drops to @uid/@gid/@groups and calls ping.
 */
static void
child_fork(Child *c, uid_t uid, gid_t gid, const gid_t *groups, int n_groups, const char *path)
{
    ck_assert(pipe(c->go) == 0 && pipe(c->result) == 0);
    c->pid = fork();
    ck_assert(c->pid >= 0);
    if (c->pid == 0) {
        char go;
        GError *error = NULL;
        JsonNode *r;

        close(c->go[1]);
        close(c->result[0]);
        if (read(c->go[0], &go, 1) != 1)
            _exit(2);
        if (setgroups(n_groups, groups) < 0 || setgid(gid) < 0 || setuid(uid) < 0) {
            dprintf(c->result[1], "-1\ncannot drop privileges: %s", g_strerror(errno));
            _exit(1);
        }
        r = mom_rpc_call(path, "ping", NULL, 5, &error);
        if (r)
            dprintf(c->result[1], "0\n%s", json_node_get_boolean(r) ? "true" : "false");
        else
            dprintf(c->result[1], "%d\n%s", error->code, error->message);
        _exit(0);
    }
    close(c->go[0]);
    close(c->result[1]);
}

static gboolean
child_result_cb(gint fd, GIOCondition cond, gpointer data)
{
    Child *c = data;
    char buf[1024];
    gssize n = read(fd, buf, sizeof(buf));

    if (n > 0) {
        g_string_append_len(c->out, buf, n);
        return G_SOURCE_CONTINUE;
    }
    g_main_loop_quit(c->loop);
    return G_SOURCE_REMOVE;
}

/* Lets the child go and serves until it reports; returns its report. */
static char *
child_run(Child *c)
{
    int status;

    c->out = g_string_new(NULL);
    c->loop = g_main_loop_new(NULL, FALSE);
    g_unix_fd_add(c->result[0], G_IO_IN | G_IO_HUP | G_IO_ERR, child_result_cb, c);
    ck_assert(write(c->go[1], "g", 1) == 1);
    g_main_loop_run(c->loop);
    g_main_loop_unref(c->loop);
    close(c->go[1]);
    close(c->result[0]);
    ck_assert(waitpid(c->pid, &status, 0) == c->pid);
    return g_string_free(c->out, FALSE);
}

START_TEST(test_perm_socket_mode_denies)
{
    Fixture f;
    Child c;
    const gid_t groups[] = {65534};
    g_autofree char *dir = NULL;
    g_autofree char *report = NULL;
    g_autofree char *expected = NULL;

    /* The path is only known after setup; the child reads it after "go". */
    dir = g_dir_make_tmp("momd-rpc-XXXXXX", NULL);
    g_chmod(dir, 0755);
    g_autofree char *path = g_build_filename(dir, "momd.sock", NULL);
    child_fork(&c, 65534, 65534, groups, 1, path);
    f.dir = g_strdup(dir);
    f.path = g_strdup(path);
    MomRpcConfig cfg = {.socket_path = path};
    g_autoptr(GError) error = NULL;
    f.server = mom_rpc_server_new(&cfg, test_methods, NULL, &error);
    ck_assert(f.server != NULL);

    report = child_run(&c);
    expected = g_strdup_printf("%d\nPermission denied on %s: only root may connect (momd's "
                               "rpc-group is not set).",
                               MOM_RPC_FAULT_CONNECT_DENIED, path);
    ck_assert_str_eq(report, expected);
    mom_rpc_server_free(f.server);
    g_rmdir(dir);
    g_free(f.dir);
    g_free(f.path);
}
END_TEST

/* A child as uid 65534 with @gid and @groups calls ping; with @group the
 * socket must be 0660 root:@group; @open_mode then opens it to all. */
static void
perm_group_case(const char *group, gid_t gid, const gid_t *groups, int n_groups, gboolean open_mode,
                const char *expected)
{
    Child c;
    g_autofree char *dir = g_dir_make_tmp("momd-rpc-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "momd.sock", NULL);
    g_autofree char *report = NULL;
    g_autoptr(GError) error = NULL;
    MomRpcConfig cfg = {.socket_path = path, .group = group};
    MomRpcServer *server;
    struct stat st;

    g_chmod(dir, 0755);
    child_fork(&c, 65534, gid, groups, n_groups, path);
    server = mom_rpc_server_new(&cfg, test_methods, NULL, &error);
    ck_assert_msg(server != NULL, "%s", error ? error->message : "");
    ck_assert(g_stat(path, &st) == 0);
    if (cfg.group) {
        ck_assert_int_eq(st.st_mode & 0777, 0660);
        ck_assert_int_eq(st.st_gid, 65534);
    }
    if (open_mode)
        /* Let anyone connect, so that only SO_PEERCRED decides. */
        g_chmod(path, 0666);
    report = child_run(&c);
    ck_assert_str_eq(report, expected);
    mom_rpc_server_free(server);
    g_rmdir(dir);
}

START_TEST(test_perm_group_member)
{
    const gid_t none[] = {65534};

    perm_group_case("nogroup", 65534, none, 1, FALSE, "0\ntrue");
}
END_TEST

START_TEST(test_perm_peercred_refuses)
{
    const gid_t none[] = {65534};
    const gid_t other[] = {12345};
    const gid_t supplementary[] = {12345, 65534};

    /* No group: only root. */
    perm_group_case(NULL, 65534, none, 1, TRUE,
                    "-32002\nPermission denied: uid 65534 is not root.");
    /* Group nogroup, a peer outside it. */
    perm_group_case("nogroup", 12345, other, 1, TRUE,
                    "-32002\nPermission denied: uid 65534 is neither root nor a member of group "
                    "nogroup.");
    /* Group nogroup, a peer with it as a supplementary group only. */
    perm_group_case("nogroup", 12345, supplementary, 2, TRUE, "0\ntrue");
}
END_TEST

START_TEST(test_tcp)
{
    MomRpcConfig cfg = {.tcp_port = 0};
    g_autoptr(GError) error = NULL;

    /* A port is needed; one in use is a clean error. */
    g_autoptr(GSocketService) busy = g_socket_service_new();
    guint16 port = g_socket_listener_add_any_inet_port(G_SOCKET_LISTENER(busy), NULL, &error);
    ck_assert(port > 0);
    cfg.tcp_port = port;
    ck_assert(mom_rpc_server_new(&cfg, test_methods, NULL, &error) == NULL);
    ck_assert_msg(strstr(error->message, "127.0.0.1") != NULL, "%s", error->message);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("rpc");
    TCase *codec = tcase_create("codec");
    TCase *server = tcase_create("server");

    tcase_add_test(codec, test_roundtrip_all_types);
    tcase_add_test(codec, test_integer_widths);
    tcase_add_test(codec, test_scalar_forms);
    tcase_add_test(codec, test_doubles);
    tcase_add_test(codec, test_string_escaping);
    tcase_add_test(codec, test_writer_matches_tree);
    tcase_add_test(codec, test_python_request);
    tcase_add_test(codec, test_parse_errors);
    tcase_add_test(codec, test_nesting_limits);
    tcase_add_test(codec, test_huge_input);
    tcase_add_test(codec, test_fault_round_trip);
    tcase_add_test(codec, test_response_errors);
    tcase_add_test(codec, test_check_order);
    tcase_add_test(codec, test_long_text_in_pieces);
    tcase_add_test(codec, test_peer_allowed);
    suite_add_tcase(s, codec);

    tcase_add_test(server, test_server_calls);
    tcase_add_test(server, test_server_http_errors);
    tcase_add_test(server, test_server_too_large);
    tcase_add_test(server, test_server_answer_too_large);
    tcase_add_test(server, test_server_timeout);
    tcase_add_test(server, test_client_not_running);
    tcase_add_test(server, test_socket_dir_checks);
    tcase_add_test(server, test_socket_dir_server_client);
    tcase_add_test(server, test_tcp);
    suite_add_tcase(s, server);

    /* Acting as uid 65534, or giving it files, needs root. */
    static const char *const need_root[] = {
        "test_perm_socket_mode_denies",
        "test_perm_group_member",
        "test_perm_peercred_refuses",
        "test_socket_dir_owners",
        NULL,
    };
    if (geteuid() != 0)
        return mom_test_run_suite(s, need_root, "not root: these tests act as uid 65534");
    tcase_add_test(server, test_perm_socket_mode_denies);
    tcase_add_test(server, test_perm_group_member);
    tcase_add_test(server, test_perm_peercred_refuses);
    tcase_add_test(server, test_socket_dir_owners);
    return mom_test_run_suite(s, NULL, NULL);
}
