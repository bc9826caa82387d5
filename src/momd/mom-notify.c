/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "mom-notify.h"

gboolean
mom_notify(const char *state)
{
    const char *path = g_getenv("NOTIFY_SOCKET");
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    gsize len;

    if (!path || !*path || (path[0] != '/' && path[0] != '@'))
        return FALSE;
    len = strlen(path);
    if (len >= sizeof(addr.sun_path))
        return FALSE;
    memcpy(addr.sun_path, path, len);
    if (path[0] == '@')
        addr.sun_path[0] = '\0'; /* abstract namespace */

    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return FALSE;
    gssize sent = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&addr,
                         (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len));
    close(fd);
    return sent == (gssize)strlen(state);
}

guint64
mom_notify_watchdog_usec(void)
{
    const char *usec = g_getenv("WATCHDOG_USEC");
    const char *pid = g_getenv("WATCHDOG_PID");

    if (!usec)
        return 0;
    if (pid && g_ascii_strtoll(pid, NULL, 10) != getpid())
        return 0;
    return g_ascii_strtoull(usec, NULL, 10);
}
