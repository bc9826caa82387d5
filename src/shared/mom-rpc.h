/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The control API: XML-RPC over HTTP, as MOM speaks it (method names and
 * types unchanged), served on a protected unix socket by default.
 *
 * Values are json-glib nodes on both sides: an XML-RPC struct is a JSON
 * object, an array an array, <int>/<i4>/<i8> an integer (64 bits), <double>
 * a double, <boolean> a boolean, <string> a string, <nil/> null.
 * Documented for users in docs/rpc.md.
 *
 * This is what momd and momctl share: the codec, the client and the
 * socket checks.  The server is the daemon's alone (mom-rpc-server.h).
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#define MOM_RPC_ERROR (mom_rpc_error_quark())
GQuark mom_rpc_error_quark(void);

/* Fault codes, after the XML-RPC interoperability conventions. */
typedef enum {
    MOM_RPC_FAULT_PARSE = -32700,          /* not well-formed XML */
    MOM_RPC_FAULT_INVALID = -32600,        /* not a valid methodCall */
    MOM_RPC_FAULT_NO_METHOD = -32601,      /* unknown method */
    MOM_RPC_FAULT_PARAMS = -32602,         /* wrong number or types of parameters */
    MOM_RPC_FAULT_INTERNAL = -32603,       /* the method failed */
    MOM_RPC_FAULT_TOO_LARGE = -32001,      /* request over the size limit */
    MOM_RPC_FAULT_PERMISSION = -32002,     /* the peer may not call this */
    MOM_RPC_FAULT_CONNECT = -32003,        /* client side: no daemon at the socket */
    MOM_RPC_FAULT_CONNECT_DENIED = -32004, /* client side: socket permission denied */
    MOM_RPC_FAULT_PROTOCOL = -32005,       /* client side: bad HTTP or response */
    MOM_RPC_FAULT_UNSAFE = -32006,         /* others could replace the socket */
} MomRpcFault;
/* GError codes in MOM_RPC_ERROR are MomRpcFault values. */

/* The codec refuses documents larger than this, whatever the transport
 * allows; a text inside it is read whole, however libxml2 splits it.  The
 * server caps its answers by it too, so that a client can read them. */
#define MOM_XMLRPC_MAX_SIZE (16 * 1024 * 1024)

/* Seconds a call may take, when the caller says 0: the client's wait for
 * an answer, the server's for a whole request. */
#define MOM_RPC_DEFAULT_TIMEOUT 10

/* ---- codec (mom-xmlrpc.c) ----------------------------------------------------- */

/**
 * mom_xmlrpc_parse_call:
 * Parses an XML-RPC methodCall.  Returns: TRUE with the method name and its
 * parameters (transfer full), or FALSE with @error (code PARSE or INVALID,
 * message naming what is wrong, e.g. "param 2: <int> holds 'x', not an
 * integer").
 */
gboolean mom_xmlrpc_parse_call(const char *data, gsize len, char **method, JsonArray **params,
                               GError **error);

/** mom_xmlrpc_build_call: Returns: (transfer full) a methodCall document. */
char *mom_xmlrpc_build_call(const char *method, JsonArray *params);

/** mom_xmlrpc_build_response: Returns: (transfer full) a methodResponse holding @result. */
char *mom_xmlrpc_build_response(JsonNode *result);

/**
 * mom_xmlrpc_response_begin:
 * Starts a methodResponse for a result written value by value with the
 * mom_xmlrpc_write_*() calls below (exactly one value, then
 * mom_xmlrpc_response_end()).  Large answers are written this way so that
 * no tree of the whole result is built first.  Returns: (transfer full).
 */
GString *mom_xmlrpc_response_begin(void);

/** mom_xmlrpc_response_end: Closes @out's document.  Returns: (transfer full) its text. */
char *mom_xmlrpc_response_end(GString *out);

/*
 * The values of a result, appended to @out as XML-RPC <value>s exactly as
 * mom_xmlrpc_build_response() writes the equivalent JSON: integers as
 * <int> or, outside 32 bits, <i8>; a non-finite double as <nil/>; strings
 * escaped (invalid UTF-8 and characters XML cannot carry become U+FFFD).
 * A struct is struct_begin, then per member: member(name), one value,
 * member_end; then struct_end.  An array is array_begin, then per item:
 * one value, item_end; then array_end.
 */
void mom_xmlrpc_write_nil(GString *out);
void mom_xmlrpc_write_bool(GString *out, gboolean b);
void mom_xmlrpc_write_int(GString *out, gint64 i);
void mom_xmlrpc_write_double(GString *out, double d);
void mom_xmlrpc_write_string(GString *out, const char *s);
void mom_xmlrpc_write_struct_begin(GString *out);
void mom_xmlrpc_write_member(GString *out, const char *name);
void mom_xmlrpc_write_member_end(GString *out);
void mom_xmlrpc_write_struct_end(GString *out);
void mom_xmlrpc_write_array_begin(GString *out);
void mom_xmlrpc_write_item_end(GString *out);
void mom_xmlrpc_write_array_end(GString *out);

/** mom_xmlrpc_build_fault: Returns: (transfer full) a methodResponse holding a fault. */
char *mom_xmlrpc_build_fault(int code, const char *message);

/**
 * mom_xmlrpc_parse_response:
 * Parses a methodResponse.  Returns: (transfer full) the result, or NULL
 * with @error: a fault becomes a MOM_RPC_ERROR with the fault's code and
 * string.
 */
JsonNode *mom_xmlrpc_parse_response(const char *data, gsize len, GError **error);

/* ---- the socket's directories (mom-rpc-socket.c), client and server -------------- */

/**
 * mom_rpc_check_socket_dir:
 * Checks that nobody but root and @trusted_uid can replace the unix socket
 * @socket_path: every directory on the way to it, symbolic links followed,
 * must belong to root or @trusted_uid and must not be writable by its
 * group or by others.  A directory with the sticky bit (/tmp) may be
 * writable by all when it does not hold the socket itself, since the
 * next directory then is checked to be root's or @trusted_uid's and
 * nobody else can rename it.  Symbolic links must belong to root or
 * @trusted_uid too.
 * Returns: TRUE when the socket is safe, else FALSE with @error: UNSAFE,
 * naming the directory, its owner or mode and what to do; CONNECT when a
 * directory does not exist; CONNECT_DENIED when one cannot be searched.
 */
gboolean mom_rpc_check_socket_dir(const char *socket_path, guint trusted_uid, GError **error);

/* ---- client (mom-rpc-client.c), for momctl ------------------------------------- */

/**
 * mom_rpc_call:
 * Calls @method with @params (may be NULL) on the daemon at @socket_path,
 * waiting at most @timeout seconds.  Nothing is sent unless the socket's
 * directories pass mom_rpc_check_socket_dir() for the effective uid.
 * Returns: (transfer full) the result, or NULL with @error: CONNECT ("momd
 * is not running: nothing listens on PATH."), CONNECT_DENIED ("Permission
 * denied on PATH: only root and the members of group G may connect."),
 * UNSAFE, PROTOCOL, or the server's fault.
 */
JsonNode *mom_rpc_call(const char *socket_path, const char *method, JsonArray *params,
                       guint timeout, GError **error);
