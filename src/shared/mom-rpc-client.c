/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The control API client, for momctl: one XML-RPC call over HTTP/1.1 on
 * momd's unix socket (libsoup with a unix "remote-connectable"), with the
 * connection failures turned into messages that say what to do.
 */
#include "config.h"

#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <libsoup/soup.h>

#include "mom-rpc-priv.h"

/* EACCES on connect: the socket's mode and group say who may connect. */
static void
rpc_client_denied(const char *path, GError **error)
{
    struct stat st;
    g_autofree char *group = NULL;

    if (g_stat(path, &st) < 0) {
        g_set_error(error, MOM_RPC_ERROR, MOM_RPC_FAULT_CONNECT_DENIED,
                    "Permission denied on %s: only root and the members of the socket's group "
                    "may connect.",
                    path);
        return;
    }
    if ((st.st_mode & 0060) != 0060) {
        g_set_error(error, MOM_RPC_ERROR, MOM_RPC_FAULT_CONNECT_DENIED,
                    "Permission denied on %s: only root may connect (momd's rpc-group is not "
                    "set).",
                    path);
        return;
    }
    group = mom_rpc_group_name(st.st_gid);
    g_set_error(error, MOM_RPC_ERROR, MOM_RPC_FAULT_CONNECT_DENIED,
                "Permission denied on %s: only root and the members of group %s may connect.", path,
                group);
}

JsonNode *
mom_rpc_call(const char *socket_path, const char *method, JsonArray *params, guint timeout,
             GError **error)
{
    g_autoptr(GSocketAddress) addr = NULL;
    g_autoptr(SoupSession) session = NULL;
    g_autoptr(SoupMessage) msg = NULL;
    g_autoptr(GBytes) request = NULL;
    g_autoptr(GBytes) reply = NULL;
    g_autoptr(GError) local = NULL;
    g_autoptr(GError) parse_error = NULL;
    char *xml;
    const char *data;
    gsize len;
    guint status;
    gboolean is_fault = FALSE;
    JsonNode *result;

    g_return_val_if_fail(socket_path != NULL && method != NULL, NULL);
    if (timeout == 0)
        timeout = MOM_RPC_DEFAULT_TIMEOUT;
    /* Before a byte is sent: whoever could have replaced the socket would
     * read the call, a whole policy text perhaps. */
    if (!mom_rpc_check_socket_dir(socket_path, geteuid(), &local)) {
        if (g_error_matches(local, MOM_RPC_ERROR, MOM_RPC_FAULT_CONNECT))
            g_set_error(error, MOM_RPC_ERROR, MOM_RPC_FAULT_CONNECT,
                        "momd is not running: nothing listens on %s.", socket_path);
        else if (g_error_matches(local, MOM_RPC_ERROR, MOM_RPC_FAULT_CONNECT_DENIED))
            rpc_client_denied(socket_path, error);
        else
            g_set_error(error, MOM_RPC_ERROR, local->code, "%s Nothing was sent to it.",
                        local->message);
        return NULL;
    }
    addr = g_unix_socket_address_new(socket_path);
    /* No proxy: the host in the URI is only a name for the socket. */
    session = soup_session_new_with_options("remote-connectable", addr, "proxy-resolver", NULL,
                                            "timeout", timeout, "idle-timeout", timeout,
                                            "user-agent", "momctl/" PACKAGE_VERSION, NULL);
    msg = soup_message_new(SOUP_METHOD_POST, "http://localhost/RPC2");
    xml = mom_xmlrpc_build_call(method, params);
    request = g_bytes_new_take(xml, strlen(xml));
    soup_message_set_request_body_from_bytes(msg, "text/xml", request);

    reply = soup_session_send_and_read(session, msg, NULL, &local);
    if (reply == NULL) {
        if (g_error_matches(local, G_IO_ERROR, G_IO_ERROR_NOT_FOUND) ||
            g_error_matches(local, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED))
            g_set_error(error, MOM_RPC_ERROR, MOM_RPC_FAULT_CONNECT,
                        "momd is not running: nothing listens on %s.", socket_path);
        else if (g_error_matches(local, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED))
            rpc_client_denied(socket_path, error);
        else if (g_error_matches(local, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
            g_set_error(error, MOM_RPC_ERROR, MOM_RPC_FAULT_PROTOCOL,
                        "momd did not answer %s within %u seconds on %s.", method, timeout,
                        socket_path);
        else
            g_set_error(error, MOM_RPC_ERROR, MOM_RPC_FAULT_PROTOCOL, "Cannot call %s on %s: %s",
                        method, socket_path, local->message);
        return NULL;
    }

    status = soup_message_get_status(msg);
    data = g_bytes_get_data(reply, &len);
    result = mom_xmlrpc_parse_response_full(data ? data : "", len, &is_fault, &parse_error);
    if (is_fault) {
        /* The server's fault, even with an HTTP error status (413). */
        g_propagate_error(error, g_steal_pointer(&parse_error));
        return NULL;
    }
    if (status != SOUP_STATUS_OK) {
        g_clear_pointer(&result, json_node_unref);
        g_set_error(error, MOM_RPC_ERROR, MOM_RPC_FAULT_PROTOCOL,
                    "momd answered %s on %s with HTTP %u %s.", method, socket_path, status,
                    soup_message_get_reason_phrase(msg) ? soup_message_get_reason_phrase(msg) : "");
        return NULL;
    }
    if (result == NULL) {
        g_set_error(error, MOM_RPC_ERROR, MOM_RPC_FAULT_PROTOCOL,
                    "Cannot read momd's answer to %s on %s: %s", method, socket_path,
                    parse_error->message);
        return NULL;
    }
    return result;
}
