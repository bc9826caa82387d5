/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * momd's log writer: stdio, a rotating file, or the systemd journal, with
 * MOM's verbosity levels.  It is a GLib structured-log writer, so every
 * g_message()/g_log_structured() in the daemon and its libraries goes
 * through it, and fields such as MOM_GUEST reach journald intact.
 */
#pragma once

#include <stdio.h>
#include <sys/types.h>

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

/* What mom_log_escape() escapes besides the control characters (C0, DEL,
 * C1, U+2028 and U+2029) and the bytes that are not UTF-8, which it always
 * escapes. */
typedef enum {
    MOM_LOG_ESCAPE_TEXT = 0,       /* only those */
    MOM_LOG_ESCAPE_NAME = 1 << 0,  /* and '\\', so that the escaped form reads back */
    MOM_LOG_ESCAPE_SLASH = 1 << 1, /* and '/', for a name used as a file name */
    MOM_LOG_ESCAPE_LINES = 1 << 2, /* but not a newline that begins an indented
                                    * line (a diagnostic's source line and caret),
                                    * nor the tabs on such lines */
} MomLogEscapeFlags;

/**
 * mom_log_escape_append:
 * Appends @text (@len bytes, or up to its NUL when @len < 0) to @out with
 * what @flags says escaped, C-style: "\n", "\r", "\t", "\\", "\x1b" for
 * other bytes and "\u0085" for other characters.  Names that come from
 * guests or clients (a guest named "vm\n2026-01-01 ...") then cannot start
 * a line of their own in the log, in a plot file or in momctl's output,
 * nor drive a terminal.
 */
void mom_log_escape_append(GString *out, const char *text, gssize len, MomLogEscapeFlags flags);

/** mom_log_escape: Returns: (transfer full) @text escaped as @flags says, or NULL for NULL. */
char *mom_log_escape(const char *text, MomLogEscapeFlags flags);

/* The modes momd gives the files it creates, whatever its umask: the log
 * and the plot files tell what the guests do, for root and the file's
 * group; the pid file is for everyone. */
#define MOM_LOG_FILE_MODE 0640
#define MOM_LOG_PLOT_FILE_MODE 0640
#define MOM_LOG_PID_FILE_MODE 0644

/**
 * mom_log_open_file:
 * Opens @path for appending, or with @truncate for writing from its
 * start.  A file that does not exist is created with exactly @mode,
 * whatever the umask; an existing file keeps its mode.  @what names the
 * file in the error ("the plot file").
 * Returns: (transfer full) the stream, or NULL with @error (G_FILE_ERROR),
 * "Cannot open WHAT PATH: REASON."
 */
FILE *mom_log_open_file(const char *path, const char *what, gboolean truncate, mode_t mode,
                        GError **error);
