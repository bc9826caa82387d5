/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The control API server: XML-RPC over HTTP/1.1 (libsoup), on a unix
 * socket whose mode and the peer's SO_PEERCRED decide who may call, or on
 * MOM's unauthenticated TCP port on 127.0.0.1.
 *
 * Every request runs on the thread-default main context of the caller of
 * mom_rpc_server_new(): libsoup reads it, and the handlers (quick by
 * contract) run right there.  A unix connection is accepted by us
 * (rpc_incoming_cb: credentials, inactivity timeout), then handed to
 * libsoup.  A request goes through:
 *   1. request-started: a deadline of cfg->timeout seconds that shuts the
 *      connection down, so a slow or idle client cannot hold it;
 *   2. the early handler, on the headers: POST only, Content-Length within
 *      max_request, the peer's credentials; a refused request's body is
 *      read but not kept;
 *   3. got-chunk: the body so far within max_request (chunked requests);
 *   4. the handler, on the whole body: parse, dispatch, answer.
 */
/* struct ucred and SO_PEERGROUPS (glibc exposes them under _GNU_SOURCE). */
#define _GNU_SOURCE 1
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <libsoup/soup.h>

#include "mom-rpc-server-priv.h"

struct _MomRpcServer {
    SoupServer *soup;
    GSocketService *service; /* accepts on the unix socket */
    GMainContext *context;
    const MomRpcMethod *methods;
    gpointer user_data;
    char *socket_path; /* the socket we created, removed on free */
    dev_t socket_dev;
    ino_t socket_ino;
    char *group;
    gint64 gid; /* -1: no group */
    gsize max_request;
    guint timeout;
    GHashTable *refused_uids; /* uids already logged as refused */
};

/* Per-request state, attached to the SoupServerMessage. */
typedef struct {
    MomRpcServer *server;
    guint timeout;
    GSocket *socket;
    GSource *deadline;
    gsize received;
    gboolean over_limit;
} RpcRequest;

static void
rpc_request_free(gpointer data)
{
    RpcRequest *req = data;

    if (req->deadline) {
        g_source_destroy(req->deadline);
        g_source_unref(req->deadline);
    }
    g_clear_object(&req->socket);
    g_free(req);
}

/* ---- answers ------------------------------------------------------------------- */

static void
rpc_answer_xml(SoupServerMessage *msg, guint status, char *xml)
{
    soup_server_message_set_status(msg, status, NULL);
    soup_server_message_set_response(msg, "text/xml", SOUP_MEMORY_TAKE, xml, strlen(xml));
}

static void
rpc_answer_fault(SoupServerMessage *msg, guint status, int code, const char *message)
{
    rpc_answer_xml(msg, status, mom_xmlrpc_build_fault(code, message));
}

/* ---- peer credentials -------------------------------------------------------------- */

/* "Groups:\t10 27 1000" in /proc/PID/status. */
static gboolean
rpc_proc_groups_contain(guint pid, guint gid)
{
    g_autofree char *path = g_strdup_printf("/proc/%u/status", pid);
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;

    if (pid == 0 || !g_file_get_contents(path, &text, NULL, NULL))
        return FALSE;
    lines = g_strsplit(text, "\n", -1);
    for (guint i = 0; lines[i]; i++) {
        g_auto(GStrv) ids = NULL;

        if (!g_str_has_prefix(lines[i], "Groups:"))
            continue;
        ids = g_strsplit_set(lines[i] + strlen("Groups:"), " \t", -1);
        for (guint k = 0; ids[k]; k++)
            if (*ids[k] && g_ascii_strtoull(ids[k], NULL, 10) == gid)
                return TRUE;
        return FALSE;
    }
    return FALSE;
}

gboolean
mom_rpc_peer_allowed(guint uid, guint gid, guint pid, const guint *groups, gsize n_groups,
                     gint64 allowed_gid)
{
    if (uid == 0)
        return TRUE;
    if (allowed_gid < 0)
        return FALSE;
    if (gid == (guint)allowed_gid)
        return TRUE;
    if (groups) {
        for (gsize i = 0; i < n_groups; i++)
            if (groups[i] == (guint)allowed_gid)
                return TRUE;
        return FALSE;
    }
    return rpc_proc_groups_contain(pid, (guint)allowed_gid);
}

/* What we learnt about a unix peer when it connected. */
typedef struct {
    GSocket *socket;
    gboolean known; /* FALSE: SO_PEERCRED failed, refuse */
    guint uid, gid, pid;
    guint *groups; /* SO_PEERGROUPS, or NULL */
    gsize n_groups;
} RpcPeer;

static void
rpc_peer_free(gpointer data)
{
    RpcPeer *peer = data;

    g_clear_object(&peer->socket);
    g_free(peer->groups);
    g_free(peer);
}

/*
 * The supplementary groups the peer had when it connected (SO_PEERGROUPS,
 * Linux 4.13), which unlike /proc/PID/status cannot race with the peer
 * exiting and its pid being reused.  Returns NULL when unsupported.
 */
static guint *
rpc_peer_groups(GSocket *socket, gsize *n_groups)
{
#ifdef SO_PEERGROUPS
    gid_t buf[64];
    socklen_t len = sizeof(buf);
    g_autofree gid_t *big = NULL;
    gid_t *groups = buf;
    guint *out;

    if (getsockopt(g_socket_get_fd(socket), SOL_SOCKET, SO_PEERGROUPS, buf, &len) < 0) {
        if (errno != ERANGE)
            return NULL;
        /* @len now holds the size needed. */
        big = g_malloc(len);
        groups = big;
        if (getsockopt(g_socket_get_fd(socket), SOL_SOCKET, SO_PEERGROUPS, big, &len) < 0)
            return NULL;
    }
    *n_groups = len / sizeof(gid_t);
    out = g_new0(guint, *n_groups + 1);
    for (gsize i = 0; i < *n_groups; i++)
        out[i] = groups[i];
    return out;
#else
    return NULL;
#endif
}

static RpcPeer *
rpc_peer_new(GSocket *socket)
{
    RpcPeer *peer = g_new0(RpcPeer, 1);
    g_autoptr(GCredentials) creds = NULL;
    g_autoptr(GError) error = NULL;
    struct ucred *uc;

    peer->socket = g_object_ref(socket);
    creds = g_socket_get_credentials(socket, &error);
    uc = creds ? g_credentials_get_native(creds, G_CREDENTIALS_TYPE_LINUX_UCRED) : NULL;
    if (uc == NULL) {
        g_warning("Cannot read the credentials of an RPC peer: %s",
                  error ? error->message : "unsupported");
        return peer;
    }
    peer->known = TRUE;
    peer->uid = uc->uid;
    peer->gid = uc->gid;
    peer->pid = uc->pid;
    peer->groups = rpc_peer_groups(socket, &peer->n_groups);
    return peer;
}

/* The unix peer of @msg, or NULL for a TCP peer. */
static RpcPeer *
rpc_msg_peer(SoupServerMessage *msg)
{
    GSocketAddress *remote = soup_server_message_get_remote_address(msg);

    return remote ? g_object_get_data(G_OBJECT(remote), "mom-rpc-peer") : NULL;
}

/*
 * Checks the peer of @msg; on refusal sets the PERMISSION fault on @msg
 * and returns FALSE.  TCP peers are not checked: MOM's TCP port has no
 * authentication, and loopback TCP tells nothing about the peer.
 */
static gboolean
rpc_check_peer(MomRpcServer *server, SoupServerMessage *msg)
{
    RpcPeer *peer = rpc_msg_peer(msg);
    g_autofree char *fault = NULL;

    if (peer == NULL)
        return TRUE;
    if (!peer->known) {
        rpc_answer_fault(msg, SOUP_STATUS_OK, MOM_RPC_FAULT_PERMISSION,
                         "Permission denied: momd cannot read your credentials.");
        return FALSE;
    }
    if (mom_rpc_peer_allowed(peer->uid, peer->gid, peer->pid, peer->groups, peer->n_groups,
                             server->gid))
        return TRUE;

    if (server->gid >= 0)
        fault = g_strdup_printf("Permission denied: uid %u is neither root nor a member of "
                                "group %s.",
                                peer->uid, server->group);
    else
        fault = g_strdup_printf("Permission denied: uid %u is not root.", peer->uid);
    /* Once per uid: a refused client retrying must not flood the log. */
    if (g_hash_table_add(server->refused_uids, GUINT_TO_POINTER(peer->uid)))
        g_message("Refused RPC calls from uid %u (pid %u): %s", peer->uid, peer->pid, fault);
    rpc_answer_fault(msg, SOUP_STATUS_OK, MOM_RPC_FAULT_PERMISSION, fault);
    return FALSE;
}

/*
 * A connection on the unix socket.  We accept it ourselves rather than
 * through soup_server_listen_socket() for three reasons: SO_PEERCRED is
 * read here, once; the inactivity timeout is set before the first byte
 * (libsoup starts a request, and our deadline, only on its first byte);
 * and libsoup wants inet addresses (an HTTP/1.0 request without Host
 * makes it read the local address as one), so it gets loopback
 * placeholders, the remote one carrying the RpcPeer.
 */
static gboolean
rpc_incoming_cb(GSocketService *service, GSocketConnection *conn, GObject *source, gpointer data)
{
    MomRpcServer *server = data;
    GSocket *socket = g_socket_connection_get_socket(conn);
    g_autoptr(GSocketAddress) local = g_inet_socket_address_new_from_string("127.0.0.1", 0);
    g_autoptr(GSocketAddress) remote = g_inet_socket_address_new_from_string("127.0.0.1", 0);
    g_autoptr(GError) error = NULL;

    g_socket_set_timeout(socket, server->timeout);
    g_object_set_data_full(G_OBJECT(remote), "mom-rpc-peer", rpc_peer_new(socket), rpc_peer_free);
    if (!soup_server_accept_iostream(server->soup, G_IO_STREAM(conn), local, remote, &error)) {
        g_debug("Cannot take an RPC connection: %s", error->message);
        g_io_stream_close(G_IO_STREAM(conn), NULL, NULL);
    }
    return TRUE;
}

/* ---- request phases ---------------------------------------------------------------- */

static gboolean
rpc_deadline_cb(gpointer data)
{
    RpcRequest *req = data;

    g_debug("RPC connection idle or slow beyond %u s: closing it", req->timeout);
    /* Shutting down, not closing: libsoup still owns the descriptor, and
     * sees end-of-file on its next read or an error on its next write. */
    if (req->socket)
        g_socket_shutdown(req->socket, TRUE, TRUE, NULL);
    g_clear_pointer(&req->deadline, g_source_unref);
    return G_SOURCE_REMOVE;
}

static void
rpc_finished_cb(SoupServerMessage *msg, gpointer data)
{
    RpcRequest *req = g_object_get_data(G_OBJECT(msg), "mom-rpc-request");

    if (req && req->deadline) {
        g_source_destroy(req->deadline);
        g_clear_pointer(&req->deadline, g_source_unref);
    }
}

static void
rpc_request_started_cb(SoupServer *soup, SoupServerMessage *msg, gpointer data)
{
    MomRpcServer *server = data;
    RpcRequest *req = g_new0(RpcRequest, 1);
    RpcPeer *peer = rpc_msg_peer(msg);
    GSocket *socket = peer ? peer->socket : soup_server_message_get_socket(msg);

    req->server = server;
    req->timeout = server->timeout;
    req->socket = socket ? g_object_ref(socket) : NULL;
    /* Counted from the start of the request: that is, for a kept-alive
     * connection, from the end of the previous answer. */
    req->deadline = g_timeout_source_new_seconds(server->timeout);
    g_source_set_name(req->deadline, "mom-rpc-deadline");
    g_source_set_callback(req->deadline, rpc_deadline_cb, req, NULL);
    g_source_attach(req->deadline, server->context);
    g_object_set_data_full(G_OBJECT(msg), "mom-rpc-request", req, rpc_request_free);
    g_signal_connect(msg, "finished", G_CALLBACK(rpc_finished_cb), NULL);
}

static void
rpc_too_large(MomRpcServer *server, SoupServerMessage *msg, const char *what)
{
    g_autofree char *text = g_strdup_printf(
        "The request %s over the limit of %" G_GSIZE_FORMAT " bytes.", what, server->max_request);

    g_debug("RPC request refused: %s", text);
    rpc_answer_fault(msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, MOM_RPC_FAULT_TOO_LARGE, text);
}

static void
rpc_got_chunk_cb(SoupServerMessage *msg, GBytes *chunk, gpointer data)
{
    MomRpcServer *server = data;
    RpcRequest *req = g_object_get_data(G_OBJECT(msg), "mom-rpc-request");
    SoupMessageBody *body = soup_server_message_get_request_body(msg);

    if (req == NULL || req->over_limit)
        return;
    req->received += g_bytes_get_size(chunk);
    if (req->received > server->max_request) {
        /* Keep reading (HTTP needs it) but no longer keep the bytes; the
         * deadline bounds how long the client may go on sending. */
        req->over_limit = TRUE;
        soup_message_body_set_accumulate(body, FALSE);
        soup_message_body_truncate(body);
        rpc_too_large(server, msg, "body is");
    }
}

/* The checks that need only the headers; returns FALSE with an answer set. */
static gboolean
rpc_early_checks(MomRpcServer *server, SoupServerMessage *msg)
{
    SoupMessageHeaders *headers = soup_server_message_get_request_headers(msg);
    const char *method = soup_server_message_get_method(msg);
    goffset length;

    if (method != SOUP_METHOD_POST && g_strcmp0(method, "POST") != 0) {
        const char *text = "momd speaks XML-RPC: POST a methodCall.\n";

        soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Allow",
                                     "POST");
        soup_server_message_set_status(msg, SOUP_STATUS_METHOD_NOT_ALLOWED, NULL);
        soup_server_message_set_response(msg, "text/plain", SOUP_MEMORY_STATIC, text, strlen(text));
        return FALSE;
    }
    if (soup_message_headers_get_encoding(headers) == SOUP_ENCODING_CONTENT_LENGTH) {
        length = soup_message_headers_get_content_length(headers);
        if (length < 0 || (guint64)length > server->max_request) {
            rpc_too_large(server, msg, "declares a Content-Length");
            return FALSE;
        }
    }
    return rpc_check_peer(server, msg);
}

static void
rpc_early_handler(SoupServer *soup, SoupServerMessage *msg, const char *path, GHashTable *query,
                  gpointer data)
{
    MomRpcServer *server = data;

    if (!rpc_early_checks(server, msg)) {
        /* libsoup still reads the body before it answers (HTTP/1.1 has no
         * other way to keep the connection in step); drop it as it comes.
         * The deadline bounds how long that may take. */
        soup_message_body_set_accumulate(soup_server_message_get_request_body(msg), FALSE);
        return;
    }
    g_signal_connect(msg, "got-chunk", G_CALLBACK(rpc_got_chunk_cb), server);
}

static const MomRpcMethod *
rpc_lookup(MomRpcServer *server, const char *name)
{
    for (const MomRpcMethod *m = server->methods; m && m->name; m++)
        if (strcmp(m->name, name) == 0)
            return m;
    return NULL;
}

static gint
rpc_compare_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static JsonNode *
rpc_list_methods(MomRpcServer *server)
{
    g_autoptr(GPtrArray) names = g_ptr_array_new();
    g_autoptr(JsonArray) arr = json_array_new();

    g_ptr_array_add(names, (gpointer) "system.listMethods");
    g_ptr_array_add(names, (gpointer) "system.methodHelp");
    for (const MomRpcMethod *m = server->methods; m && m->name; m++)
        if (!g_str_has_prefix(m->name, "system."))
            g_ptr_array_add(names, (gpointer)m->name);
    g_ptr_array_sort(names, rpc_compare_names);
    for (guint i = 0; i < names->len; i++)
        json_array_add_string_element(arr, names->pdata[i]);
    return json_node_init_array(json_node_alloc(), arr);
}

static char *
rpc_count_message(const char *name, guint min, guint max, guint got)
{
    if (min == max && min == 0)
        return g_strdup_printf("%s takes no parameters, got %u", name, got);
    if (min == max)
        return g_strdup_printf("%s takes %u parameter%s, got %u", name, min, min == 1 ? "" : "s",
                               got);
    if (max == G_MAXUINT)
        return g_strdup_printf("%s takes at least %u parameter%s, got %u", name, min,
                               min == 1 ? "" : "s", got);
    return g_strdup_printf("%s takes %u to %u parameters, got %u", name, min, max, got);
}

/* Runs one parsed call; returns the response document. */
static char *
rpc_dispatch(MomRpcServer *server, const char *name, JsonArray *params)
{
    guint n = json_array_get_length(params);
    const MomRpcMethod *m;
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) result = NULL;

    if (strcmp(name, "system.listMethods") == 0) {
        if (n != 0) {
            g_autofree char *text = rpc_count_message(name, 0, 0, n);
            return mom_xmlrpc_build_fault(MOM_RPC_FAULT_PARAMS, text);
        }
        result = rpc_list_methods(server);
        return mom_xmlrpc_build_response(result);
    }
    if (strcmp(name, "system.methodHelp") == 0) {
        JsonNode *arg = n == 1 ? json_array_get_element(params, 0) : NULL;
        const char *which;

        if (n != 1) {
            g_autofree char *text = rpc_count_message(name, 1, 1, n);
            return mom_xmlrpc_build_fault(MOM_RPC_FAULT_PARAMS, text);
        }
        if (json_node_get_value_type(arg) != G_TYPE_STRING)
            return mom_xmlrpc_build_fault(MOM_RPC_FAULT_PARAMS,
                                          "system.methodHelp: param 1 must be a string");
        which = json_node_get_string(arg);
        m = rpc_lookup(server, which);
        if (m == NULL && strcmp(which, "system.listMethods") == 0)
            result = json_node_init_string(json_node_alloc(), "Lists the methods momd serves.");
        else if (m == NULL && strcmp(which, "system.methodHelp") == 0)
            result = json_node_init_string(json_node_alloc(), "Describes a method in one line.");
        else if (m == NULL) {
            g_autofree char *text = g_strdup_printf("No method named '%s'", which);
            return mom_xmlrpc_build_fault(MOM_RPC_FAULT_NO_METHOD, text);
        } else
            result = json_node_init_string(json_node_alloc(), m->help ? m->help : "");
        return mom_xmlrpc_build_response(result);
    }

    m = rpc_lookup(server, name);
    if (m == NULL) {
        g_autofree char *text = g_strdup_printf("No method named '%s'", name);
        return mom_xmlrpc_build_fault(MOM_RPC_FAULT_NO_METHOD, text);
    }
    if (n < m->min_params || n > m->max_params) {
        g_autofree char *text = rpc_count_message(name, m->min_params, m->max_params, n);
        return mom_xmlrpc_build_fault(MOM_RPC_FAULT_PARAMS, text);
    }
    if (m->writer) {
        GString *out = mom_xmlrpc_response_begin();

        if (m->writer(params, server->user_data, out, &error))
            return mom_xmlrpc_response_end(out);
        g_string_free(out, TRUE);
        g_assert(error != NULL);
    } else
        result = m->handler(params, server->user_data, &error);
    if (result == NULL && error != NULL) {
        /* A handler may pick a fault code (PARAMS for a bad argument). */
        int code = error->domain == MOM_RPC_ERROR ? error->code : MOM_RPC_FAULT_INTERNAL;
        g_debug("RPC %s failed: %s", name, error->message);
        return mom_xmlrpc_build_fault(code, error->message);
    }
    return mom_xmlrpc_build_response(result);
}

/*
 * Answers are capped like requests (MOM_XMLRPC_MAX_SIZE): a client's codec
 * refuses anything larger, momctl's included, so a larger answer is sent
 * as the TOO_LARGE fault, which says what happened, never cut short.
 */
static char *
rpc_cap_answer(const char *method, char *answer)
{
    gsize len = strlen(answer);

    if (len <= MOM_XMLRPC_MAX_SIZE)
        return answer;
    g_free(answer);
    g_autofree char *text =
        g_strdup_printf("The answer to %s would be %" G_GSIZE_FORMAT " bytes, over the limit of "
                        "%d bytes.",
                        method, len, MOM_XMLRPC_MAX_SIZE);
    g_message("RPC %s refused: %s", method, text);
    return mom_xmlrpc_build_fault(MOM_RPC_FAULT_TOO_LARGE, text);
}

static void
rpc_handler(SoupServer *soup, SoupServerMessage *msg, const char *path, GHashTable *query,
            gpointer data)
{
    MomRpcServer *server = data;
    SoupMessageBody *body = soup_server_message_get_request_body(msg);
    g_autoptr(GBytes) bytes = soup_message_body_flatten(body);
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonArray) params = NULL;
    g_autofree char *name = NULL;
    RpcPeer *peer = rpc_msg_peer(msg);
    gsize len;
    const char *text = g_bytes_get_data(bytes, &len);
    guint uid = peer ? peer->uid : G_MAXUINT;

    if (soup_server_message_get_status(msg) != 0)
        return; /* answered early */
    if (len > server->max_request) {
        rpc_too_large(server, msg, "body is");
        return;
    }
    if (!mom_xmlrpc_parse_call(text ? text : "", len, &name, &params, &error)) {
        g_debug("RPC request from uid %d refused: %s", uid == G_MAXUINT ? -1 : (int)uid,
                error->message);
        rpc_answer_fault(msg, SOUP_STATUS_OK, error->code, error->message);
        return;
    }
    if (uid == G_MAXUINT)
        g_debug("RPC call %s from %s (TCP)", name, soup_server_message_get_remote_host(msg));
    else
        g_debug("RPC call %s from uid %u", name, uid);
    rpc_answer_xml(msg, SOUP_STATUS_OK, rpc_cap_answer(name, rpc_dispatch(server, name, params)));
}

/* ---- listening --------------------------------------------------------------------- */

/* Refuses to take over a socket that a live momd still listens on, and
 * anything that is not a socket; removes a stale socket. */
static gboolean
rpc_remove_stale(const char *path, GError **error)
{
    struct stat st;
    g_autoptr(GSocket) probe = NULL;
    g_autoptr(GSocketAddress) addr = NULL;

    if (g_lstat(path, &st) < 0)
        return TRUE;
    if (!S_ISSOCK(st.st_mode)) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                    "Cannot listen on %s: the file exists and is not a socket.", path);
        return FALSE;
    }
    probe =
        g_socket_new(G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT, NULL);
    addr = g_unix_socket_address_new(path);
    if (probe && g_socket_connect(probe, addr, NULL, NULL)) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE,
                    "Cannot listen on %s: another server (momd?) already listens there.", path);
        return FALSE;
    }
    if (g_unlink(path) < 0 && errno != ENOENT) {
        int e = errno;
        g_set_error(error, G_IO_ERROR, g_io_error_from_errno(e),
                    "Cannot remove the stale socket %s: %s.", path, g_strerror(e));
        return FALSE;
    }
    return TRUE;
}

static gboolean
rpc_listen_unix(MomRpcServer *server, const char *path, GError **error)
{
    g_autofree char *dir = g_path_get_dirname(path);
    g_autoptr(GSocket) socket = NULL;
    g_autoptr(GSocketAddress) addr = NULL;
    mode_t old_mask;
    gboolean bound;
    struct stat st;
    mode_t mode = server->gid >= 0 ? 0660 : 0600;

    if (g_mkdir_with_parents(dir, 0755) < 0) {
        int e = errno;
        g_set_error(error, G_IO_ERROR, g_io_error_from_errno(e),
                    "Cannot create the socket directory %s: %s.", dir, g_strerror(e));
        return FALSE;
    }
    /* Before anything is removed or bound: a user who can replace the
     * socket would receive root's calls, policies included. */
    if (!mom_rpc_check_socket_dir(path, geteuid(), error))
        return FALSE;
    if (!rpc_remove_stale(path, error))
        return FALSE;
    socket =
        g_socket_new(G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT, error);
    if (socket == NULL)
        return FALSE;
    addr = g_unix_socket_address_new(path);
    /* The socket is born owner-only, so that nobody connects in the
     * moment between bind() and chmod(); momd binds at startup, before
     * any thread creates files. */
    old_mask = umask(0177);
    bound = g_socket_bind(socket, addr, FALSE, error);
    umask(old_mask);
    if (!bound) {
        g_prefix_error(error, "Cannot bind %s: ", path);
        return FALSE;
    }
    server->socket_path = g_strdup(path);
    if (g_lstat(path, &st) == 0) {
        server->socket_dev = st.st_dev;
        server->socket_ino = st.st_ino;
    }
    if (server->gid >= 0 && chown(path, (uid_t)-1, (gid_t)server->gid) < 0) {
        int e = errno;
        g_set_error(error, G_IO_ERROR, g_io_error_from_errno(e),
                    "Cannot give the socket %s to group %s: %s.", path, server->group,
                    g_strerror(e));
        return FALSE;
    }
    if (g_chmod(path, mode) < 0) {
        int e = errno;
        g_set_error(error, G_IO_ERROR, g_io_error_from_errno(e), "Cannot chmod %s: %s.", path,
                    g_strerror(e));
        return FALSE;
    }
    if (!g_socket_listen(socket, error)) {
        g_prefix_error(error, "Cannot listen on %s: ", path);
        return FALSE;
    }
    server->service = g_socket_service_new();
    if (!g_socket_listener_add_socket(G_SOCKET_LISTENER(server->service), socket, NULL, error)) {
        g_prefix_error(error, "Cannot serve on %s: ", path);
        return FALSE;
    }
    g_signal_connect(server->service, "incoming", G_CALLBACK(rpc_incoming_cb), server);
    g_socket_service_start(server->service);
    return TRUE;
}

static gboolean
rpc_resolve_group(MomRpcServer *server, const char *group, GError **error)
{
    struct group gr, *res = NULL;
    char buf[4096];
    int rc;

    server->gid = -1;
    if (group == NULL || *group == '\0')
        return TRUE;
    rc = getgrnam_r(group, &gr, buf, sizeof(buf), &res);
    if (res == NULL) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                    "Unknown group '%s' for the RPC socket%s%s.", group, rc ? ": " : "",
                    rc ? g_strerror(rc) : "");
        return FALSE;
    }
    server->group = g_strdup(group);
    server->gid = gr.gr_gid;
    return TRUE;
}

MomRpcServer *
mom_rpc_server_new(const MomRpcConfig *cfg, const MomRpcMethod *methods, gpointer user_data,
                   GError **error)
{
    g_autoptr(MomRpcServer) server = g_new0(MomRpcServer, 1);

    g_return_val_if_fail(cfg != NULL, NULL);
    server->methods = methods;
    server->user_data = user_data;
    server->max_request = cfg->max_request ? cfg->max_request : MOM_RPC_DEFAULT_MAX_REQUEST;
    server->timeout = cfg->timeout ? cfg->timeout : MOM_RPC_DEFAULT_TIMEOUT;
    server->refused_uids = g_hash_table_new(NULL, NULL);
    server->context = g_main_context_ref_thread_default();
    if (!rpc_resolve_group(server, cfg->group, error))
        return NULL;
    if ((cfg->socket_path == NULL || *cfg->socket_path == '\0') && cfg->tcp_port <= 0) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "The RPC server needs a socket path or a TCP port.");
        return NULL;
    }

    server->soup = soup_server_new("server-header", "momd/" PACKAGE_VERSION " ", NULL);
    g_signal_connect(server->soup, "request-started", G_CALLBACK(rpc_request_started_cb), server);
    /* Any path: MOM's clients post to "/" or "/RPC2". */
    soup_server_add_early_handler(server->soup, NULL, rpc_early_handler, server, NULL);
    soup_server_add_handler(server->soup, NULL, rpc_handler, server, NULL);

    if (cfg->socket_path && *cfg->socket_path && !rpc_listen_unix(server, cfg->socket_path, error))
        return NULL;
    if (cfg->tcp_port > 0) {
        if (!soup_server_listen_local(server->soup, cfg->tcp_port, SOUP_SERVER_LISTEN_IPV4_ONLY,
                                      error)) {
            g_prefix_error(error, "Cannot listen on 127.0.0.1:%d: ", cfg->tcp_port);
            return NULL;
        }
        g_warning("The RPC server listens on TCP 127.0.0.1:%d WITHOUT AUTHENTICATION: every "
                  "local user can change momd's policy (MOM compatibility). Set rpc-port to a "
                  "socket path to restrict it to root and the rpc-group.",
                  cfg->tcp_port);
    }
    return g_steal_pointer(&server);
}

void
mom_rpc_server_free(MomRpcServer *server)
{
    struct stat st;

    if (server == NULL)
        return;
    if (server->service) {
        g_socket_service_stop(server->service);
        g_socket_listener_close(G_SOCKET_LISTENER(server->service));
        g_clear_object(&server->service);
    }
    if (server->soup) {
        soup_server_disconnect(server->soup);
        g_object_unref(server->soup);
    }
    /* Only our own socket: a newer momd may have replaced it. */
    if (server->socket_path && g_lstat(server->socket_path, &st) == 0 &&
        st.st_dev == server->socket_dev && st.st_ino == server->socket_ino)
        g_unlink(server->socket_path);
    g_free(server->socket_path);
    g_free(server->group);
    g_clear_pointer(&server->refused_uids, g_hash_table_unref);
    g_clear_pointer(&server->context, g_main_context_unref);
    g_free(server);
}
