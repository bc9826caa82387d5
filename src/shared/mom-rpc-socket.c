/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The control socket's safety, which the server (before it listens) and
 * the client (before it connects) both check: every directory on the way
 * to the socket belongs to root or the trusted user and is writable by its
 * owner only, so that nobody else can replace the socket.
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "mom-rpc-priv.h"

/* ---- the socket's directories -------------------------------------------------------- */

/* Symbolic links followed on the way to a socket, as the kernel's limit. */
#define RPC_MAX_SYMLINKS 40

/* "user alice (uid 1000)", or "uid 1000" for a uid without a name. */
static char *
rpc_user_name(uid_t uid)
{
    struct passwd pw, *res = NULL;
    char buf[4096];

    if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res != NULL)
        return g_strdup_printf("user %s (uid %u)", res->pw_name, (guint)uid);
    return g_strdup_printf("uid %u", (guint)uid);
}

char *
mom_rpc_group_name(guint gid)
{
    struct group gr, *res = NULL;
    char buf[4096];

    if (getgrgid_r((gid_t)gid, &gr, buf, sizeof(buf), &res) == 0 && res != NULL)
        return g_strdup(res->gr_name);
    return g_strdup_printf("%u", gid);
}

/* Sets UNSAFE: @problem, then the rule, which names @trusted. */
static void
rpc_unsafe(GError **error, const char *socket, uid_t trusted, const char *problem)
{
    g_autofree char *who = trusted == 0 ? NULL : rpc_user_name(trusted);

    g_set_error(error, MOM_RPC_ERROR, MOM_RPC_FAULT_UNSAFE,
                "The control socket %s is not safe: %s, who could replace the socket. Every "
                "directory on the way to it must belong to root%s%s and be writable by its owner "
                "only.",
                socket, problem, who ? " or to " : "", who ? who : "");
}

/*
 * The rule for one entry on the way to @socket: @path, a directory or a
 * symbolic link; @holds_socket when it is the directory the socket is in.
 */
static gboolean
rpc_check_entry(const char *socket, const char *path, const struct stat *st, gboolean holds_socket,
                uid_t trusted, GError **error)
{
    if (st->st_uid != 0 && st->st_uid != trusted) {
        g_autofree char *owner = rpc_user_name(st->st_uid);
        g_autofree char *problem = g_strdup_printf(
            "%s %s belongs to %s", S_ISLNK(st->st_mode) ? "the symbolic link" : "the directory",
            path, owner);
        rpc_unsafe(error, socket, trusted, problem);
        return FALSE;
    }
    if (S_ISLNK(st->st_mode) || (st->st_mode & (S_IWGRP | S_IWOTH)) == 0)
        return TRUE;
    /* /tmp: others cannot rename or remove what is not theirs in it, and
     * the next directory on the way is checked to be root's. */
    if ((st->st_mode & S_ISVTX) && !holds_socket)
        return TRUE;
    g_autofree char *group = mom_rpc_group_name(st->st_gid);
    g_autofree char *problem =
        g_strdup_printf("the directory %s is writable by %s%s (mode %04o)", path,
                        st->st_mode & S_IWOTH ? "every user" : "the members of group ",
                        st->st_mode & S_IWOTH ? "" : group, (guint)(st->st_mode & 07777));
    rpc_unsafe(error, socket, trusted, problem);
    return FALSE;
}

/* lstat() of @path as an error of mom_rpc_check_socket_dir(). */
static gboolean
rpc_lstat(const char *socket, const char *path, struct stat *st, GError **error)
{
    int e;

    if (g_lstat(path, st) == 0)
        return TRUE;
    e = errno;
    g_set_error(error, MOM_RPC_ERROR,
                e == ENOENT   ? MOM_RPC_FAULT_CONNECT
                : e == EACCES ? MOM_RPC_FAULT_CONNECT_DENIED
                              : MOM_RPC_FAULT_UNSAFE,
                "Cannot check the directory %s of the control socket %s: %s.", path, socket,
                g_strerror(e));
    return FALSE;
}

/* Pushes the components of @path on @todo, the first one last (popped first). */
static void
rpc_push_components(GPtrArray *todo, const char *path)
{
    g_auto(GStrv) parts = g_strsplit(path, "/", -1);

    for (guint i = g_strv_length(parts); i > 0; i--)
        if (*parts[i - 1])
            g_ptr_array_add(todo, g_strdup(parts[i - 1]));
}

gboolean
mom_rpc_check_socket_dir(const char *socket_path, guint trusted_uid, GError **error)
{
    g_autofree char *abs = g_canonicalize_filename(socket_path, NULL);
    g_autofree char *dir = g_path_get_dirname(abs);
    g_autoptr(GPtrArray) todo = g_ptr_array_new_with_free_func(g_free);
    g_autofree char *cur = g_strdup("/");
    guint links = 0;
    struct stat st;

    /* The walk resolves one component at a time, as the kernel does, so
     * that each link and the directory holding it are checked too. */
    rpc_push_components(todo, dir);
    if (!rpc_lstat(socket_path, cur, &st, error) ||
        !rpc_check_entry(socket_path, cur, &st, todo->len == 0, trusted_uid, error))
        return FALSE;
    while (todo->len > 0) {
        g_autofree char *name = g_ptr_array_steal_index(todo, todo->len - 1);
        g_autofree char *next = NULL;

        if (strcmp(name, ".") == 0)
            continue;
        if (strcmp(name, "..") == 0) {
            /* @cur has no links in it: its parent is the real one */
            char *up = g_path_get_dirname(cur);
            g_free(cur);
            cur = up;
            continue;
        }
        next = g_build_filename(cur, name, NULL);
        if (!rpc_lstat(socket_path, next, &st, error) ||
            !rpc_check_entry(socket_path, next, &st, todo->len == 0, trusted_uid, error))
            return FALSE;
        if (S_ISLNK(st.st_mode)) {
            g_autoptr(GError) local = NULL;
            g_autofree char *target = g_file_read_link(next, &local);

            if (target == NULL || ++links > RPC_MAX_SYMLINKS) {
                g_set_error(error, MOM_RPC_ERROR, MOM_RPC_FAULT_UNSAFE,
                            "Cannot follow the symbolic link %s on the way to the control socket "
                            "%s: %s.",
                            next, socket_path, target ? g_strerror(ELOOP) : local->message);
                return FALSE;
            }
            if (g_path_is_absolute(target)) {
                g_free(cur);
                cur = g_strdup("/");
            }
            rpc_push_components(todo, target);
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            g_set_error(error, MOM_RPC_ERROR, MOM_RPC_FAULT_UNSAFE,
                        "The control socket %s cannot be used: %s is not a directory.", socket_path,
                        next);
            return FALSE;
        }
        g_free(cur);
        cur = g_steal_pointer(&next);
    }
    return TRUE;
}
