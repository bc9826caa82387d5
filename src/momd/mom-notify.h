/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The systemd notification protocol (sd_notify): one datagram of
 * "KEY=VALUE" lines to $NOTIFY_SOCKET.  Implemented directly, since it is
 * a dozen lines and libsystemd would be a dependency for just this.
 */
#pragma once

#include <glib.h>

/**
 * mom_notify:
 * Sends @state (e.g. "READY=1\nSTATUS=...") to the service manager.
 * Returns: TRUE when sent, FALSE when not running under systemd
 * (no $NOTIFY_SOCKET) or when the send failed; never blocks.
 */
gboolean mom_notify(const char *state);

/**
 * mom_notify_watchdog_usec:
 * Returns: the watchdog interval systemd expects pings at ($WATCHDOG_USEC,
 * when $WATCHDOG_PID is unset or ours), or 0 when there is no watchdog.
 */
guint64 mom_notify_watchdog_usec(void);
