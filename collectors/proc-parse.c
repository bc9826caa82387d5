/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * procfs/sysfs readers and parsers (see proc-parse.h for the formats).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

#include "mom-collector.h"
#include "proc-parse.h"

/* Longest excerpt of a bad line quoted in a message: enough to recognise
 * it, short enough that a binary file does not flood the log. */
#define EXCERPT_MAX 64

/* A bad line as it goes into a message: truncated, and escaped so that
 * control characters and non-UTF-8 bytes cannot corrupt the log. */
static char *
excerpt(const char *line, gsize len)
{
    g_autofree char *cut = g_strndup(line, MIN(len, EXCERPT_MAX));
    g_autofree char *esc = g_strescape(cut, NULL);

    return len > EXCERPT_MAX ? g_strconcat(esc, "...", NULL) : g_steal_pointer(&esc);
}

static gboolean
missing_errno(int err)
{
    return err == ENOENT || err == ENOTDIR || err == ESRCH || err == EOPNOTSUPP;
}

gboolean
mom_proc_read_file(const char *path, gsize max_size, MomProcReadFlags flags, char **contents,
                   gsize *length, GError **error)
{
    g_autoptr(GByteArray) buf = NULL;
    int fd;
    int err = 0;

    *contents = NULL;
    if (length)
        *length = 0;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        err = errno;
        goto fail;
    }

    buf = g_byte_array_sized_new(MIN(max_size + 1, 4096));
    for (;;) {
        guint8 chunk[4096];
        ssize_t n = read(fd, chunk, sizeof(chunk));

        if (n < 0) {
            if (errno == EINTR)
                continue;
            err = errno;
            close(fd);
            goto fail;
        }
        if (n == 0)
            break;
        if (buf->len + (gsize)n > max_size) {
            close(fd);
            g_set_error(error, MOM_COLLECTOR_ERROR, MOM_COLLECTOR_ERROR_PARSE,
                        "%s: file is larger than %" G_GSIZE_FORMAT " bytes", path, max_size);
            return FALSE;
        }
        g_byte_array_append(buf, chunk, (guint)n);
    }
    close(fd);

    if (length)
        *length = buf->len;
    g_byte_array_append(buf, (const guint8 *)"", 1);
    *contents = (char *)g_byte_array_free(g_steal_pointer(&buf), FALSE);
    return TRUE;

fail:
    /* ESRCH and EOPNOTSUPP may also come from read(): a process that exits
     * between open and read, or a PSI file whose feature is disabled. */
    if ((flags & MOM_PROC_READ_OPTIONAL) && missing_errno(err))
        return TRUE;
    g_set_error(error, MOM_COLLECTOR_ERROR, MOM_COLLECTOR_ERROR_READ, "Cannot read %s: %s", path,
                g_strerror(err));
    return FALSE;
}

MomProcKey *
mom_proc_key_find(MomProcKey *keys, guint n_keys, const char *name)
{
    for (guint i = 0; i < n_keys; i++)
        if (strcmp(keys[i].name, name) == 0)
            return &keys[i];
    return NULL;
}

/* Parses [-]digits spanning exactly [s, s+len) into *out. */
static gboolean
parse_int_span(const char *s, gsize len, gint64 *out)
{
    char tmp[32];
    gsize i = 0;

    if (len == 0 || len >= sizeof(tmp))
        return FALSE;
    if (s[0] == '-')
        i = 1;
    if (i == len)
        return FALSE;
    for (; i < len; i++)
        if (!g_ascii_isdigit(s[i]))
            return FALSE;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    return g_ascii_string_to_signed(tmp, 10, G_MININT64, G_MAXINT64, out, NULL);
}

static gboolean
parse_uint_span(const char *s, gsize len, guint64 *out)
{
    char tmp[32];

    if (len == 0 || len >= sizeof(tmp))
        return FALSE;
    for (gsize i = 0; i < len; i++)
        if (!g_ascii_isdigit(s[i]))
            return FALSE;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    return g_ascii_string_to_unsigned(tmp, 10, 0, G_MAXUINT64, out, NULL);
}

/* The key named [name, name+len) among @keys that is not found yet, or NULL. */
static MomProcKey *
wanted_key(MomProcKey *keys, guint n_keys, const char *name, gsize name_len)
{
    for (guint i = 0; i < n_keys; i++)
        if (!keys[i].found && strncmp(keys[i].name, name, name_len) == 0 &&
            keys[i].name[name_len] == '\0')
            return &keys[i];
    return NULL;
}

/* The value [s, s+len) of a line: converted for a wanted key, otherwise
 * only checked as parse_int_span() would (a caller wants a handful of the
 * hundred-odd lines, and the conversion is most of a line's cost).  Up to
 * 18 digits always fit in a gint64; longer ones are converted to find out. */
static gboolean
take_value(MomProcKey *key, const char *s, gsize len)
{
    gsize digits = len - (len > 0 && s[0] == '-');
    gint64 value;

    if (!key && digits > 0 && digits <= 18)
        return TRUE; /* the caller has checked that they are digits */
    if (!parse_int_span(s, len, &value))
        return FALSE;
    if (key) {
        key->value = value;
        key->found = TRUE;
    }
    return TRUE;
}

/* One line of /proc/meminfo: "Name:" spaces [-]digits, then " kB" or
 * nothing.  Names contain '(' and ')' ("Active(anon)"), never blanks. */
static gboolean
parse_meminfo_line(const char *line, gsize len, MomProcKey *keys, guint n_keys)
{
    const char *end = line + len;
    const char *colon = memchr(line, ':', len);
    const char *p, *num;

    if (!colon || colon == line)
        return FALSE;
    for (p = line; p < colon; p++)
        if (g_ascii_isspace(*p) || !g_ascii_isprint(*p))
            return FALSE;
    p = colon + 1;
    while (p < end && *p == ' ')
        p++;
    num = p;
    while (p < end && (g_ascii_isdigit(*p) || (p == num && *p == '-')))
        p++;
    if (p != end && !(end - p == 3 && memcmp(p, " kB", 3) == 0))
        return FALSE;
    return take_value(wanted_key(keys, n_keys, line, colon - line), num, p - num);
}

/* One line of /proc/vmstat: name, one space, [-]digits.  The counters are
 * unsigned in the kernel but per-CPU drift can print small negatives. */
static gboolean
parse_vmstat_line(const char *line, gsize len, MomProcKey *keys, guint n_keys)
{
    const char *sp = memchr(line, ' ', len);
    const char *num, *p;

    if (!sp || sp == line)
        return FALSE;
    for (p = line; p < sp; p++)
        if (!g_ascii_isalnum(*p) && *p != '_')
            return FALSE;
    num = p = sp + 1;
    if (p < line + len && *p == '-')
        p++;
    for (; p < line + len; p++)
        if (!g_ascii_isdigit(*p))
            return FALSE;
    return take_value(wanted_key(keys, n_keys, line, sp - line), num, line + len - num);
}

typedef gboolean (*LineParser)(const char *line, gsize len, MomProcKey *keys, guint n_keys);

static gboolean
parse_key_lines(const char *path, const char *text, LineParser parse_line, const char *shape,
                MomProcKey *keys, guint n_keys, GError **error)
{
    const char *line = text;
    guint lineno = 0;

    for (guint i = 0; i < n_keys; i++)
        keys[i].found = FALSE;
    if (*text == '\0') {
        g_set_error(error, MOM_COLLECTOR_ERROR, MOM_COLLECTOR_ERROR_PARSE, "%s: file is empty",
                    path);
        return FALSE;
    }
    while (*line) {
        const char *nl = strchr(line, '\n');
        gsize len = nl ? (gsize)(nl - line) : strlen(line);

        lineno++;
        if (!parse_line(line, len, keys, n_keys)) {
            g_autofree char *bad = excerpt(line, len);
            g_set_error(error, MOM_COLLECTOR_ERROR, MOM_COLLECTOR_ERROR_PARSE,
                        "%s: line %u: expected '%s', got '%s'", path, lineno, shape, bad);
            return FALSE;
        }
        if (!nl)
            break;
        line = nl + 1;
    }
    return TRUE;
}

gboolean
mom_proc_parse_meminfo(const char *path, const char *text, MomProcKey *keys, guint n_keys,
                       GError **error)
{
    return parse_key_lines(path, text, parse_meminfo_line, "Name: value kB", keys, n_keys, error);
}

gboolean
mom_proc_parse_vmstat(const char *path, const char *text, MomProcKey *keys, guint n_keys,
                      GError **error)
{
    return parse_key_lines(path, text, parse_vmstat_line, "name value", keys, n_keys, error);
}

gboolean
mom_proc_read_keys(const char *path, gboolean meminfo, MomProcKey *keys, guint n_keys,
                   GError **error)
{
    g_autofree char *text = NULL;

    if (!mom_proc_read_file(path, MOM_PROC_MAX_FILE_SIZE, MOM_PROC_READ_REQUIRED, &text, NULL,
                            error))
        return FALSE;
    gboolean parsed = meminfo ? mom_proc_parse_meminfo(path, text, keys, n_keys, error)
                              : mom_proc_parse_vmstat(path, text, keys, n_keys, error);
    return parsed && mom_proc_check_keys(path, keys, n_keys, error);
}

gboolean
mom_proc_check_min(const char *path, const char *name, gint64 value, gint64 min, GError **error)
{
    if (value >= min)
        return TRUE;
    if (name)
        g_set_error(error, MOM_COLLECTOR_ERROR, MOM_COLLECTOR_ERROR_PARSE,
                    "%s: %s is %" G_GINT64_FORMAT ", which cannot be true (it must be at least "
                    "%" G_GINT64_FORMAT ").",
                    path, name, value, min);
    else
        g_set_error(error, MOM_COLLECTOR_ERROR, MOM_COLLECTOR_ERROR_PARSE,
                    "%s: the value %" G_GINT64_FORMAT " cannot be true (it must be at least "
                    "%" G_GINT64_FORMAT ").",
                    path, value, min);
    return FALSE;
}

/* Pairs where the part cannot be larger than the whole. */
static const struct {
    const char *part;
    const char *whole;
} key_bounds[] = {
    {"MemFree", "MemTotal"},
    {"MemAvailable", "MemTotal"},
    {"SwapFree", "SwapTotal"},
};

gboolean
mom_proc_check_keys(const char *path, const MomProcKey *keys, guint n_keys, GError **error)
{
    for (guint i = 0; i < n_keys; i++) {
        /* a machine without memory runs no momd */
        gint64 min = strcmp(keys[i].name, "MemTotal") == 0 ? 1 : 0;
        if (keys[i].found && !mom_proc_check_min(path, keys[i].name, keys[i].value, min, error))
            return FALSE;
    }
    for (guint b = 0; b < G_N_ELEMENTS(key_bounds); b++) {
        const MomProcKey *part = NULL, *whole = NULL;

        for (guint i = 0; i < n_keys; i++) {
            if (keys[i].found && strcmp(keys[i].name, key_bounds[b].part) == 0)
                part = &keys[i];
            else if (keys[i].found && strcmp(keys[i].name, key_bounds[b].whole) == 0)
                whole = &keys[i];
        }
        if (part && whole && part->value > whole->value) {
            g_set_error(error, MOM_COLLECTOR_ERROR, MOM_COLLECTOR_ERROR_PARSE,
                        "%s: %s is %" G_GINT64_FORMAT ", more than %s (%" G_GINT64_FORMAT
                        "), which cannot be true.",
                        path, part->name, part->value, whole->name, whole->value);
            return FALSE;
        }
    }
    return TRUE;
}

static gboolean
stat_fail(const char *path, const char *text, GError **error)
{
    const char *nl = strchr(text, '\n');
    g_autofree char *bad = excerpt(text, nl ? (gsize)(nl - text) : strlen(text));

    g_set_error(error, MOM_COLLECTOR_ERROR, MOM_COLLECTOR_ERROR_PARSE,
                "%s: expected 'pid (comm) state ...' with at least 24 fields, got '%s'", path, bad);
    return FALSE;
}

gboolean
mom_proc_parse_pid_stat(const char *path, const char *text, MomProcStat *out, GError **error)
{
    /* Fields after comm, counted from field 3 (state); rss is field 24. */
    enum {
        F_STATE = 0,
        F_PPID = 1,
        F_FLAGS = 6,
        F_MINFLT = 7,
        F_MAJFLT = 9,
        F_UTIME = 11,
        F_STIME = 12,
        F_STARTTIME = 19,
        F_VSIZE = 20,
        F_RSS = 21,
        F_NEEDED = 22,
    };
    const char *open_paren = strchr(text, '(');
    const char *close_paren = strrchr(text, ')');
    const char *p;
    const char *fields[F_NEEDED];
    gsize lens[F_NEEDED];
    guint n = 0;
    gsize comm_len;

    memset(out, 0, sizeof(*out));
    if (!open_paren || !close_paren || close_paren < open_paren || open_paren == text ||
        open_paren[-1] != ' ')
        return stat_fail(path, text, error);
    if (!parse_int_span(text, open_paren - 1 - text, &out->pid) || out->pid <= 0)
        return stat_fail(path, text, error);
    comm_len = MIN((gsize)(close_paren - open_paren - 1), sizeof(out->comm) - 1);
    memcpy(out->comm, open_paren + 1, comm_len);
    out->comm[comm_len] = '\0';

    p = close_paren + 1;
    while (n < F_NEEDED) {
        const char *start;

        if (*p != ' ')
            return stat_fail(path, text, error);
        start = ++p;
        while (*p && *p != ' ' && *p != '\n')
            p++;
        if (p == start)
            return stat_fail(path, text, error);
        fields[n] = start;
        lens[n] = p - start;
        n++;
    }

    if (lens[F_STATE] != 1)
        return stat_fail(path, text, error);
    out->state = fields[F_STATE][0];
    if (!parse_int_span(fields[F_PPID], lens[F_PPID], &out->ppid) ||
        !parse_uint_span(fields[F_FLAGS], lens[F_FLAGS], &out->flags) ||
        !parse_uint_span(fields[F_MINFLT], lens[F_MINFLT], &out->minflt) ||
        !parse_uint_span(fields[F_MAJFLT], lens[F_MAJFLT], &out->majflt) ||
        !parse_uint_span(fields[F_UTIME], lens[F_UTIME], &out->utime) ||
        !parse_uint_span(fields[F_STIME], lens[F_STIME], &out->stime) ||
        !parse_uint_span(fields[F_STARTTIME], lens[F_STARTTIME], &out->starttime) ||
        !parse_uint_span(fields[F_VSIZE], lens[F_VSIZE], &out->vsize) ||
        !parse_int_span(fields[F_RSS], lens[F_RSS], &out->rss))
        return stat_fail(path, text, error);
    return TRUE;
}

gboolean
mom_proc_read_pid_stat(const char *proc_root, gint64 pid, MomProcStat *out, GError **error)
{
    g_autofree char *name = g_strdup_printf("%" G_GINT64_FORMAT, pid);
    g_autofree char *path = g_build_filename(proc_root, name, "stat", NULL);
    g_autofree char *text = NULL;

    if (!mom_proc_read_file(path, MOM_PROC_MAX_SMALL_FILE, MOM_PROC_READ_REQUIRED, &text, NULL,
                            error))
        return FALSE;
    return mom_proc_parse_pid_stat(path, text, out, error);
}

gboolean
mom_proc_parse_int(const char *path, const char *text, gint64 *out, GError **error)
{
    g_autofree char *copy = g_strstrip(g_strdup(text));

    if (!parse_int_span(copy, strlen(copy), out)) {
        g_autofree char *bad = excerpt(copy, strlen(copy));
        g_set_error(error, MOM_COLLECTOR_ERROR, MOM_COLLECTOR_ERROR_PARSE,
                    "%s: expected an integer, got '%s'", path, bad);
        return FALSE;
    }
    return TRUE;
}

gboolean
mom_proc_parse_cpu_list(const char *path, const char *text, guint *count, GError **error)
{
    g_autofree char *copy = g_strstrip(g_strdup(text));
    g_auto(GStrv) ranges = NULL;
    guint64 total = 0;

    *count = 0;
    if (*copy == '\0')
        return TRUE;
    ranges = g_strsplit(copy, ",", -1);
    for (guint i = 0; ranges[i]; i++) {
        const char *dash = strchr(ranges[i], '-');
        guint64 lo, hi;
        gboolean ok;

        if (dash)
            ok = parse_uint_span(ranges[i], dash - ranges[i], &lo) &&
                 parse_uint_span(dash + 1, strlen(dash + 1), &hi) && lo <= hi;
        else
            ok = parse_uint_span(ranges[i], strlen(ranges[i]), &lo) && ((hi = lo), TRUE);
        /* The kernel caps CPU ids at NR_CPUS (8192 today); a larger id
         * means the file is not a CPU list. */
        if (!ok || hi >= 1u << 20) {
            g_autofree char *bad = excerpt(copy, strlen(copy));
            g_set_error(error, MOM_COLLECTOR_ERROR, MOM_COLLECTOR_ERROR_PARSE,
                        "%s: expected a CPU list such as '0-3,8', got '%s'", path, bad);
            return FALSE;
        }
        total += hi - lo + 1;
    }
    *count = (guint)total;
    return TRUE;
}

static const char PSI_SHAPE[] = "some|full avg10=N avg60=N avg300=N total=N";

/* "avg10=0.00 avg60=0.00 avg300=0.00 total=123" after "some " or "full ". */
static gboolean
parse_psi_fields(const char *s, MomPsiLine *out)
{
    g_auto(GStrv) tok = g_strsplit(s, " ", -1);
    static const char *const names[] = {"avg10=", "avg60=", "avg300=", "total="};
    double *avgs[] = {&out->avg10, &out->avg60, &out->avg300};

    if (g_strv_length(tok) != G_N_ELEMENTS(names))
        return FALSE;
    for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
        const char *v = tok[i] + strlen(names[i]);

        if (!g_str_has_prefix(tok[i], names[i]))
            return FALSE;
        if (i < 3) {
            char *end = NULL;

            if (!g_ascii_isdigit(*v))
                return FALSE;
            *avgs[i] = g_ascii_strtod(v, &end);
            if (*end != '\0' || !isfinite(*avgs[i]))
                return FALSE;
        } else if (!parse_uint_span(v, strlen(v), &out->total)) {
            return FALSE;
        }
    }
    out->present = TRUE;
    return TRUE;
}

gboolean
mom_proc_parse_pressure(const char *path, const char *text, MomPsiLine *some, MomPsiLine *full,
                        GError **error)
{
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);

    memset(some, 0, sizeof(*some));
    memset(full, 0, sizeof(*full));
    for (guint i = 0; lines[i]; i++) {
        MomPsiLine *dst = NULL;

        if (lines[i][0] == '\0' && lines[i + 1] == NULL)
            break; /* the final newline */
        if (g_str_has_prefix(lines[i], "some "))
            dst = some;
        else if (g_str_has_prefix(lines[i], "full "))
            dst = full;
        if (!dst || dst->present || !parse_psi_fields(lines[i] + 5, dst)) {
            g_autofree char *bad = excerpt(lines[i], strlen(lines[i]));
            g_set_error(error, MOM_COLLECTOR_ERROR, MOM_COLLECTOR_ERROR_PARSE,
                        "%s: line %u: expected '%s', got '%s'", path, i + 1, PSI_SHAPE, bad);
            return FALSE;
        }
    }
    if (!some->present) {
        g_set_error(error, MOM_COLLECTOR_ERROR, MOM_COLLECTOR_ERROR_PARSE,
                    "%s: no 'some' line found", path);
        return FALSE;
    }
    return TRUE;
}

gint64
mom_counter_delta(MomCounter *counter, gint64 cur)
{
    gint64 delta = 0;

    if (counter->valid && cur >= counter->prev)
        delta = cur - counter->prev;
    counter->prev = cur;
    counter->valid = TRUE;
    return delta;
}

void
mom_counter_reset(MomCounter *counter)
{
    counter->valid = FALSE;
    counter->prev = 0;
}
