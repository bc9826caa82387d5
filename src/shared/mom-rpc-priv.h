/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Internals of the control API's codec and client, shared by
 * mom-xmlrpc.c, mom-rpc-client.c, mom-rpc-socket.c and the tests.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "mom-rpc.h"

/* Nesting of arrays and structs inside one parameter.  MOM's replies nest
 * three levels at most; libxml2 stops at 256 elements of depth, and each
 * level here costs three elements (<array><data><value>). */
#define MOM_XMLRPC_MAX_DEPTH 32

/**
 * mom_xmlrpc_parse_response_full:
 * Like mom_xmlrpc_parse_response(), but tells a fault the server sent
 * (@is_fault set to TRUE; the error carries the fault's code) from a
 * response that could not be read (@is_fault FALSE; code PARSE or
 * INVALID).  Returns: (transfer full) the result, or NULL with @error.
 */
JsonNode *mom_xmlrpc_parse_response_full(const char *data, gsize len, gboolean *is_fault,
                                         GError **error);

/**
 * mom_xmlrpc_append_value:
 * Appends @node as an XML-RPC <value> element to @out.  A NULL @node or a
 * JSON null becomes <nil/>, and so do infinite and NaN doubles, which
 * XML-RPC cannot carry.
 */
void mom_xmlrpc_append_value(GString *out, JsonNode *node);

/**
 * mom_xmlrpc_format_double:
 * Writes @d into @buf (at least 400 bytes) as XML-RPC's <double> wants
 * it: plain decimal, no exponent, with the fewest digits that read back
 * exactly.  @d must be finite.  Returns: @buf.
 */
char *mom_xmlrpc_format_double(double d, char *buf);
#define MOM_XMLRPC_DOUBLE_BUFSIZE 400

/** mom_rpc_group_name: Returns: (transfer full) the name of group @gid, or its number. */
char *mom_rpc_group_name(guint gid);
