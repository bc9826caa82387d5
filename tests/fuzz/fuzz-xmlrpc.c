/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz-xmlrpc: a libFuzzer target for the XML-RPC codec, the part of the
 * control API that reads what a client sends (HTTP itself is libsoup's).
 *
 * Each input is read both as a methodCall, as momd's server does with a
 * request body, and as a methodResponse, as momctl does with an answer.
 * Whatever parses is written back with our encoder and read again, and the
 * second reading must equal the first: the encoder must be able to carry
 * every value the decoder accepts (a parameter echoed by getPolicy, a
 * fault string holding a client's text).  A difference aborts, so libFuzzer
 * keeps the input as a crash.  The parsed values are also printed as JSON,
 * as `momctl --json` does with a result.
 *
 * Build with clang (see tests/fuzz/meson.build) and run with
 * tests/fuzz/run-fuzz.sh SECONDS BUILD_DIR fuzz-xmlrpc.
 */
#include "config.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <json-glib/json-glib.h>

#include "mom-rpc-priv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Strict equality: doubles by value and sign (the encoder must keep -0.0),
 * objects member by member in any order. */
static gboolean
same(JsonNode *a, JsonNode *b)
{
    if (json_node_get_node_type(a) != json_node_get_node_type(b))
        return FALSE;
    switch (json_node_get_node_type(a)) {
    case JSON_NODE_NULL:
        return TRUE;
    case JSON_NODE_ARRAY: {
        JsonArray *x = json_node_get_array(a), *y = json_node_get_array(b);

        if (json_array_get_length(x) != json_array_get_length(y))
            return FALSE;
        for (guint i = 0; i < json_array_get_length(x); i++)
            if (!same(json_array_get_element(x, i), json_array_get_element(y, i)))
                return FALSE;
        return TRUE;
    }
    case JSON_NODE_OBJECT: {
        JsonObject *x = json_node_get_object(a), *y = json_node_get_object(b);
        g_autoptr(GList) names = json_object_get_members(x);

        if (json_object_get_size(x) != json_object_get_size(y))
            return FALSE;
        for (GList *l = names; l; l = l->next) {
            JsonNode *other = json_object_get_member(y, l->data);

            if (other == NULL || !same(json_object_get_member(x, l->data), other))
                return FALSE;
        }
        return TRUE;
    }
    case JSON_NODE_VALUE:
        break;
    }
    if (json_node_get_value_type(a) != json_node_get_value_type(b))
        return FALSE;
    switch (json_node_get_value_type(a)) {
    case G_TYPE_BOOLEAN:
        return json_node_get_boolean(a) == json_node_get_boolean(b);
    case G_TYPE_INT64:
        return json_node_get_int(a) == json_node_get_int(b);
    case G_TYPE_DOUBLE: {
        double x = json_node_get_double(a), y = json_node_get_double(b);

        return x == y && signbit(x) == signbit(y);
    }
    case G_TYPE_STRING:
        return strcmp(json_node_get_string(a), json_node_get_string(b)) == 0;
    default:
        return FALSE;
    }
}

/* Prints @node as JSON; only its length is used, to keep the call. */
static gsize
print_json(JsonNode *node)
{
    g_autofree char *text = json_to_string(node, TRUE);

    return strlen(text);
}

static void
fail(const char *what, const char *first, const char *second)
{
    g_printerr("fuzz-xmlrpc: %s changed on re-encoding.\n--- first encoding:\n%s\n"
               "--- second reading came from:\n%s\n",
               what, first, second);
    /* abort(), not g_error()'s trap: libFuzzer saves the input on SIGABRT. */
    abort();
}

static void
fuzz_call(const char *text, gsize len)
{
    g_autofree char *method = NULL, *method2 = NULL, *again = NULL;
    g_autoptr(JsonArray) params = NULL, params2 = NULL;
    g_autoptr(JsonNode) node = NULL, node2 = NULL;
    g_autoptr(GError) error = NULL;

    if (!mom_xmlrpc_parse_call(text, len, &method, &params, &error)) {
        /* Every refusal names what is wrong; the server sends it as a fault. */
        g_assert(error != NULL && error->message[0] != '\0');
        g_free(mom_xmlrpc_build_fault(error->code, error->message));
        return;
    }
    again = mom_xmlrpc_build_call(method, params);
    if (!mom_xmlrpc_parse_call(again, strlen(again), &method2, &params2, &error)) {
        g_printerr("fuzz-xmlrpc: our own methodCall is refused: %s\n", error->message);
        fail("a methodCall", text, again);
    }
    node = json_node_init_array(json_node_alloc(), params);
    node2 = json_node_init_array(json_node_alloc(), params2);
    if (strcmp(method, method2) != 0 || !same(node, node2))
        fail("a methodCall", text, again);
    print_json(node);
}

static void
fuzz_response(const char *text, gsize len)
{
    g_autoptr(JsonNode) result = NULL, result2 = NULL;
    g_autoptr(GError) error = NULL, error2 = NULL;
    g_autofree char *again = NULL;
    gboolean fault = FALSE, fault2 = FALSE;

    result = mom_xmlrpc_parse_response_full(text, len, &fault, &error);
    if (result == NULL && !fault) {
        g_assert(error != NULL && error->message[0] != '\0');
        return;
    }
    if (fault) {
        again = mom_xmlrpc_build_fault(error->code, error->message);
        result2 = mom_xmlrpc_parse_response_full(again, strlen(again), &fault2, &error2);
        if (!fault2 || error2->code != error->code || strcmp(error2->message, error->message) != 0)
            fail("a fault", text, again);
        return;
    }
    again = mom_xmlrpc_build_response(result);
    result2 = mom_xmlrpc_parse_response_full(again, strlen(again), &fault2, &error2);
    if (result2 == NULL) {
        g_printerr("fuzz-xmlrpc: our own methodResponse is refused: %s\n", error2->message);
        fail("a methodResponse", text, again);
    }
    if (!same(result, result2))
        fail("a methodResponse", text, again);
    print_json(result);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The server hands the codec the body as it came, not NUL-terminated;
     * an exact-size copy lets ASan see a read past its end. */
    g_autofree char *copy = g_malloc(size > 0 ? size : 1);

    if (size > 0)
        memcpy(copy, data, size);

    fuzz_call(copy, size);
    fuzz_response(copy, size);
    return 0;
}
