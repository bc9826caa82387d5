/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The log writer.  Lines look like MOM's:
 *   2026-11-21 23:59:01,123 - momd - INFO - KSM run: 0 → 1, requested at ...
 * followed by " [guest=vm1]" when the message names a guest.  The writer
 * keeps process-wide state because GLib's log writer is process-wide; only
 * the daemon installs it.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mom-log.h"

/* G_DEFINE_QUARK stringifies its first argument: clang-format must not space it */
/* clang-format off */
G_DEFINE_QUARK(mom-log-error-quark, mom_log_error)
/* clang-format on */

typedef enum { TARGET_STDIO, TARGET_FILE, TARGET_JOURNAL } Target;

/* mom_log_fatal()'s level: a user level of GLib's, which nothing else uses. */
#define LEVEL_FATAL (1 << G_LOG_LEVEL_USER_SHIFT)

/* target, stderr_is_journal and verbosity are also read without the lock,
 * by every thread that logs (the collection pool, the MemAvailable watch)
 * while a reload may set them: atomically, through the helpers below. */
static struct {
    GMutex lock;
    Target target;
    gboolean stderr_is_journal; /* run by systemd: stdio means the journal */
    MomLogLevel verbosity;
    char *path;
    FILE *file;
    gint64 max_bytes;
    int backup_count;
} logger = {.target = TARGET_STDIO, .verbosity = MOM_LOG_INFO};

static const char *const level_names[] = {
    [MOM_LOG_DEBUG] = "DEBUG",       [MOM_LOG_INFO] = "INFO",         [MOM_LOG_WARNING] = "WARNING",
    [MOM_LOG_ERROR_LEVEL] = "ERROR", [MOM_LOG_CRITICAL] = "CRITICAL",
};

const char *
mom_log_level_name(MomLogLevel level)
{
    return level >= MOM_LOG_CRITICAL && level <= MOM_LOG_DEBUG ? level_names[level] : "INFO";
}

gboolean
mom_log_parse_verbosity(const char *text, MomLogLevel *out, GError **error)
{
    static const struct {
        const char *name;
        MomLogLevel level;
    } names[] = {
        {"debug", MOM_LOG_DEBUG},       {"info", MOM_LOG_INFO},
        {"warn", MOM_LOG_WARNING},      {"warning", MOM_LOG_WARNING},
        {"error", MOM_LOG_ERROR_LEVEL}, {"critical", MOM_LOG_CRITICAL},
    };
    g_autofree char *t = g_strstrip(g_ascii_strdown(text, -1));

    for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
        if (strcmp(t, names[i].name) == 0) {
            *out = names[i].level;
            return TRUE;
        }
    }
    if (strlen(t) == 1 && t[0] >= '1' && t[0] <= '5') {
        *out = (MomLogLevel)(t[0] - '0');
        return TRUE;
    }
    g_set_error(error, MOM_LOG_ERROR, MOM_LOG_ERROR_VERBOSITY,
                "The verbosity '%s' is not one of debug, info, warn, error, critical or 1 "
                "(critical) to 5 (debug).",
                text);
    return FALSE;
}

static MomLogLevel
level_of(GLogLevelFlags flags)
{
    if (flags & (G_LOG_LEVEL_ERROR | LEVEL_FATAL))
        return MOM_LOG_CRITICAL;
    if (flags & G_LOG_LEVEL_CRITICAL)
        return MOM_LOG_ERROR_LEVEL;
    if (flags & G_LOG_LEVEL_WARNING)
        return MOM_LOG_WARNING;
    if (flags & (G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO))
        return MOM_LOG_INFO;
    return MOM_LOG_DEBUG;
}

/* ---- escaping ------------------------------------------------------------------ */

/* Control characters, and the two that some viewers take for line breaks. */
static gboolean
is_control(gunichar c)
{
    return c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) || c == 0x2028 || c == 0x2029;
}

static void
append_escape(GString *out, gunichar c)
{
    switch (c) {
    case '\n':
        g_string_append(out, "\\n");
        break;
    case '\r':
        g_string_append(out, "\\r");
        break;
    case '\t':
        g_string_append(out, "\\t");
        break;
    case '\\':
        g_string_append(out, "\\\\");
        break;
    default:
        g_string_append_printf(out, c < 0x80 ? "\\x%02x" : "\\u%04x", (guint)c);
        break;
    }
}

void
mom_log_escape_append(GString *out, const char *text, gssize len, MomLogEscapeFlags flags)
{
    const char *p = text, *end = text + (len < 0 ? strlen(text) : (gsize)len);
    const char *run = p;       /* copied as is, up to p */
    gboolean indented = FALSE; /* on a line after a newline kept (LINES) */

    while (p < end) {
        gunichar c = (guchar)*p;
        const char *next = p + 1;
        gboolean escape;

        if (c >= 0x80) {
            c = g_utf8_get_char_validated(p, end - p);
            if (c == (gunichar)-1 || c == (gunichar)-2) {
                /* not UTF-8: the byte itself */
                g_string_append_len(out, run, p - run);
                g_string_append_printf(out, "\\x%02x", (guint)(guchar)*p);
                run = ++p;
                continue;
            }
            next = g_utf8_next_char(p);
        }
        escape = is_control(c) || (c == '\\' && (flags & MOM_LOG_ESCAPE_NAME)) ||
                 (c == '/' && (flags & MOM_LOG_ESCAPE_SLASH));
        if (escape && (flags & MOM_LOG_ESCAPE_LINES) &&
            ((c == '\t' && indented) ||
             (c == '\n' && next < end && (*next == ' ' || *next == '\t'))))
            escape = FALSE;
        if (c == '\n' && !escape)
            indented = TRUE;
        if (escape) {
            g_string_append_len(out, run, p - run);
            append_escape(out, c);
            run = next;
        }
        p = next;
    }
    g_string_append_len(out, run, p - run);
}

char *
mom_log_escape(const char *text, MomLogEscapeFlags flags)
{
    GString *out;

    if (text == NULL)
        return NULL;
    out = g_string_sized_new(strlen(text));
    mom_log_escape_append(out, text, -1, flags);
    return g_string_free(out, FALSE);
}

/* ---- files ----------------------------------------------------------------------- */

FILE *
mom_log_open_file(const char *path, const char *what, gboolean truncate, mode_t mode,
                  GError **error)
{
    int flags = O_WRONLY | O_CLOEXEC | (truncate ? O_TRUNC : O_APPEND);
    int fd = open(path, flags | O_CREAT | O_EXCL, mode);
    gboolean created = fd >= 0;
    FILE *f;

    if (fd < 0 && errno == EEXIST)
        fd = open(path, flags);
    /* open() applies the umask: the mode is set again, on the descriptor
     * (a path could be swapped in between). */
    if (fd >= 0 && created && fchmod(fd, mode) < 0) {
        int err = errno;
        close(fd);
        errno = err;
        fd = -1;
    }
    f = fd >= 0 ? fdopen(fd, truncate ? "w" : "a") : NULL;
    if (f == NULL) {
        int err = errno;
        if (fd >= 0)
            close(fd);
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(err), "Cannot open %s %s: %s.",
                    what, path, g_strerror(err));
    }
    return f;
}

/* RotatingFileHandler: PATH → PATH.1 → ... → PATH.N, the oldest dropped. */
static void
rotate_locked(void)
{
    if (logger.backup_count <= 0 || !logger.file)
        return;
    fclose(logger.file);
    logger.file = NULL;
    for (int i = logger.backup_count - 1; i >= 1; i--) {
        g_autofree char *from = g_strdup_printf("%s.%d", logger.path, i);
        g_autofree char *to = g_strdup_printf("%s.%d", logger.path, i + 1);
        rename(from, to);
    }
    g_autofree char *first = g_strdup_printf("%s.1", logger.path);
    rename(logger.path, first);
    logger.file = mom_log_open_file(logger.path, "the log file", FALSE, MOM_LOG_FILE_MODE, NULL);
}

#define LOAD(field) __atomic_load_n(&logger.field, __ATOMIC_RELAXED)
#define STORE(field, value) __atomic_store_n(&logger.field, (value), __ATOMIC_RELAXED)

static GLogWriterOutput
writer(GLogLevelFlags flags, const GLogField *fields, gsize n_fields, gpointer user_data)
{
    MomLogLevel level = level_of(flags);
    const char *message = NULL, *domain = NULL, *guest = NULL;
    Target target = LOAD(target);

    if (level > LOAD(verbosity))
        return G_LOG_WRITER_HANDLED;
    /* Under systemd, stderr is the journal: send structured entries there
     * so priorities and fields such as MOM_GUEST survive. */
    if (target == TARGET_JOURNAL || (target == TARGET_STDIO && LOAD(stderr_is_journal)))
        return g_log_writer_journald(flags, fields, n_fields, user_data);

    for (gsize i = 0; i < n_fields; i++) {
        if (strcmp(fields[i].key, "MESSAGE") == 0)
            message = fields[i].value;
        else if (strcmp(fields[i].key, "GLIB_DOMAIN") == 0)
            domain = fields[i].value;
        else if (strcmp(fields[i].key, "MOM_GUEST") == 0)
            guest = fields[i].value;
    }
    /* some libraries end their messages with a newline; the line has one */
    g_autofree char *msg = g_strchomp(g_strdup(message ? message : ""));
    g_autoptr(GDateTime) now = g_date_time_new_now_local();
    g_autofree char *stamp = g_date_time_format(now, "%Y-%m-%d %H:%M:%S");
    g_autoptr(GString) line = g_string_new(NULL);

    g_string_append_printf(line, "%s,%03d - %s - %s - ", stamp,
                           g_date_time_get_microsecond(now) / 1000, domain ? domain : "momd",
                           mom_log_level_name(level));
    /* Messages carry names from guests and clients: every line of the log
     * starts with a time stamp, or with a space for a diagnostic's source
     * line and caret. */
    mom_log_escape_append(line, msg, -1, MOM_LOG_ESCAPE_LINES);
    if (guest) {
        g_string_append(line, " [guest=");
        mom_log_escape_append(line, guest, -1, MOM_LOG_ESCAPE_NAME);
        g_string_append_c(line, ']');
    }
    g_string_append_c(line, '\n');

    g_mutex_lock(&logger.lock);
    if (logger.target == TARGET_FILE && logger.file) {
        fputs(line->str, logger.file);
        fflush(logger.file);
        if (logger.max_bytes > 0 && ftell(logger.file) >= logger.max_bytes)
            rotate_locked();
    } else {
        fputs(line->str, stderr);
    }
    g_mutex_unlock(&logger.lock);
    return G_LOG_WRITER_HANDLED;
}

gboolean
mom_log_setup(const char *target, MomLogLevel verbosity, gint64 max_bytes, int backup_count,
              GError **error)
{
    Target t = TARGET_FILE;
    FILE *f = NULL;
    static gsize installed = 0;

    if (!target || !*target || strcmp(target, "stdio") == 0)
        t = TARGET_STDIO;
    else if (strcmp(target, "journal") == 0 || strcmp(target, "journald") == 0)
        t = TARGET_JOURNAL;
    if (t == TARGET_FILE) {
        g_autoptr(GError) local = NULL;

        f = mom_log_open_file(target, "the log file", FALSE, MOM_LOG_FILE_MODE, &local);
        if (!f) {
            g_set_error_literal(error, MOM_LOG_ERROR, MOM_LOG_ERROR_OPEN, local->message);
            return FALSE;
        }
    }
    g_mutex_lock(&logger.lock);
    if (logger.file)
        fclose(logger.file);
    g_free(logger.path);
    logger.file = f;
    logger.path = t == TARGET_FILE ? g_strdup(target) : NULL;
    STORE(target, t);
    STORE(stderr_is_journal, g_log_writer_is_journald(fileno(stderr)));
    STORE(verbosity, verbosity);
    logger.max_bytes = max_bytes;
    logger.backup_count = backup_count;
    g_mutex_unlock(&logger.lock);

    if (g_once_init_enter(&installed)) {
        g_log_set_writer_func(writer, NULL, NULL);
        g_once_init_leave(&installed, 1);
    }
    /* GLib drops g_debug() unless told otherwise; our verbosity decides. */
    g_log_set_debug_enabled(verbosity == MOM_LOG_DEBUG);
    return TRUE;
}

void
mom_log_set_verbosity(MomLogLevel verbosity)
{
    STORE(verbosity, verbosity);
    g_log_set_debug_enabled(verbosity == MOM_LOG_DEBUG);
}

MomLogLevel
mom_log_get_verbosity(void)
{
    return LOAD(verbosity);
}

void
mom_log_fatal(const char *format, ...)
{
    g_autofree char *msg = NULL;
    va_list ap;

    va_start(ap, format);
    msg = g_strdup_vprintf(format, ap);
    va_end(ap);
    /* g_log_structured() would add its own PRIORITY for a user level */
    const GLogField fields[] = {
        {"PRIORITY", "2", -1},
        {"GLIB_DOMAIN", G_LOG_DOMAIN, -1},
        {"MESSAGE", msg, -1},
    };
    g_log_structured_array(LEVEL_FATAL, fields, G_N_ELEMENTS(fields));
}

void
mom_log_shutdown(void)
{
    g_mutex_lock(&logger.lock);
    if (logger.file)
        fclose(logger.file);
    logger.file = NULL;
    STORE(target, TARGET_STDIO);
    g_mutex_unlock(&logger.lock);
}
