/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * momd's log writer: stdio, a rotating file, or the systemd journal, with
 * MOM's verbosity levels.  It is a GLib structured-log writer, so every
 * g_message()/g_log_structured() in the daemon and its libraries goes
 * through it, and fields such as MOM_GUEST reach journald intact.
 */
#pragma once

#include <glib.h>

#define MOM_LOG_ERROR (mom_log_error_quark())
GQuark mom_log_error_quark(void);

typedef enum {
    MOM_LOG_ERROR_OPEN,      /* the log file cannot be opened */
    MOM_LOG_ERROR_VERBOSITY, /* an unknown verbosity */
} MomLogErrorCode;

/* MOM's verbosity levels, numbered as MOM numbers them (-v 5 is debug),
 * the same values as MomConfigVerbosity: a message shows when its level
 * is at most the verbosity. */
typedef enum {
    MOM_LOG_CRITICAL = 1,
    MOM_LOG_ERROR_LEVEL,
    MOM_LOG_WARNING,
    MOM_LOG_INFO,
    MOM_LOG_DEBUG,
} MomLogLevel;

/**
 * mom_log_parse_verbosity:
 * Reads a verbosity as MOM's config and -v accept it: a name (debug, info,
 * warn, warning, error, critical; any case) or a number 1 (critical) to 5
 * (debug).
 * Returns: FALSE with @error for anything else.
 */
gboolean mom_log_parse_verbosity(const char *text, MomLogLevel *out, GError **error);

/** mom_log_level_name: Returns: the upper-case name of @level, as MOM prints it. */
const char *mom_log_level_name(MomLogLevel level);

/**
 * mom_log_setup:
 * Routes all logging to @target: "stdio" (stderr), "journal" (or "journald"),
 * or a file path, rotated when it grows past @max_bytes, keeping
 * @backup_count old files (PATH.1 is the newest), as MOM's
 * RotatingFileHandler does.  May be called again to switch (on SIGHUP).
 * Returns: FALSE with @error when the file cannot be opened; logging then
 * stays where it was.
 */
gboolean mom_log_setup(const char *target, MomLogLevel verbosity, gint64 max_bytes,
                       int backup_count, GError **error);

/** mom_log_set_verbosity: Changes the verbosity at run time (momctl verbosity, SIGHUP). */
void mom_log_set_verbosity(MomLogLevel verbosity);

/** mom_log_get_verbosity: Returns: the current verbosity. */
MomLogLevel mom_log_get_verbosity(void);

/**
 * mom_log_fatal:
 * Logs why momd cannot start, at MOM's CRITICAL level (journald priority
 * "crit").  GLib's own levels do not fit: G_LOG_LEVEL_ERROR aborts, and
 * G_LOG_LEVEL_CRITICAL means a programming error (fatal in the tests).
 * Without mom_log_setup() the message goes to GLib's default writer.
 */
void mom_log_fatal(const char *format, ...) G_GNUC_PRINTF(1, 2);

/** mom_log_shutdown: Flushes and closes the log file, if any. */
void mom_log_shutdown(void);
