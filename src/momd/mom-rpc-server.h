/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The control API's server, momd's side of mom-rpc.h: it listens on the
 * socket and answers each methodCall with the method's result or a fault.
 * momctl has only the client (mom_rpc_call()), so this is the daemon's.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "mom-rpc.h"

/* A method: @params already checked against @min_params..@max_params. */
typedef JsonNode *(*MomRpcHandler)(JsonArray *params, gpointer user_data, GError **error);

/* A method that writes its result itself: exactly one value, with the
 * mom_xmlrpc_write_*() calls, appended to @out.  FALSE with @error
 * discards what it wrote and answers a fault, as for a handler. */
typedef gboolean (*MomRpcWriter)(JsonArray *params, gpointer user_data, GString *out,
                                 GError **error);

typedef struct {
    const char *name;
    guint min_params;
    guint max_params;
    MomRpcHandler handler; /* NULL when @writer answers */
    const char *help;      /* one line, for system.methodHelp and docs */
    MomRpcWriter writer;   /* for results too large to build as a tree first */
} MomRpcMethod;

typedef struct _MomRpcServer MomRpcServer;

typedef struct {
    const char *socket_path; /* unix socket, or NULL with @tcp_port */
    int tcp_port;            /* > 0: 127.0.0.1 only, unauthenticated (MOM's numeric rpc-port) */
    const char *group;       /* also allow this group (socket mode 0660), or NULL/"" */
    gsize max_request;       /* bytes; 0 = default 1 MiB */
    guint timeout;           /* seconds for a whole request; 0 = default 10 */
} MomRpcConfig;

/**
 * mom_rpc_server_new:
 * Listens as @cfg says and serves @methods (NULL-terminated by name) on
 * the thread-default main context; system.listMethods is added.  The
 * socket's directories must pass mom_rpc_check_socket_dir() for the
 * effective uid.  Each request's peer credentials (SO_PEERCRED) must be
 * root or a member of @cfg->group.  Returns: (transfer full) the server,
 * or NULL with @error (e.g. the socket directory cannot be created, or
 * others could replace the socket).
 */
MomRpcServer *mom_rpc_server_new(const MomRpcConfig *cfg, const MomRpcMethod *methods,
                                 gpointer user_data, GError **error);

/** mom_rpc_server_free: Stops listening, removes the socket file, frees @server. */
void mom_rpc_server_free(MomRpcServer *server);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MomRpcServer, mom_rpc_server_free)
