/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The plot directory (mom-plot.h).  Lines go out with write(2), not stdio:
 * a write that fails half-way (a full disk) is cut back with ftruncate(2),
 * so a reader never finds half a line in the middle of a file, and nothing
 * is left in a buffer to come out later in the middle of another line.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mom-history.h"
#include "mom-log.h"
#include "mom-plot.h"

/* Used on the main loop only, as the monitors are: no locks, plain counts. */
struct _MomPlotDir {
    gint refs;
    char *path;
    gint64 max_bytes;
    MomPlotFile *decisions; /* made at the first call (momd makes it at start) */
};

struct _MomPlotFile {
    MomPlotDir *dir;
    gboolean dir_ref; /* holds a reference to @dir (decisions.tsv, owned by it, does not) */
    char *path;
    char *what;
    char *header;
    int fd;          /* -1: closed, reopened at the next line */
    gint64 size;     /* what the file holds, as far as momd wrote it */
    gboolean failed; /* a failure was logged and no line written since */
};

MomPlotDir *
mom_plot_dir_new(const char *path, gint64 max_bytes)
{
    MomPlotDir *dir = g_new0(MomPlotDir, 1);

    dir->refs = 1;
    dir->path = g_strdup(path);
    dir->max_bytes = MAX(max_bytes, 0);
    return dir;
}

MomPlotDir *
mom_plot_dir_ref(MomPlotDir *dir)
{
    dir->refs++;
    return dir;
}

void
mom_plot_dir_unref(MomPlotDir *dir)
{
    if (!dir || --dir->refs > 0)
        return;
    mom_plot_file_free(dir->decisions);
    g_free(dir->path);
    g_free(dir);
}

void
mom_plot_dir_set_max_bytes(MomPlotDir *dir, gint64 max_bytes)
{
    dir->max_bytes = MAX(max_bytes, 0);
}

/* ---- one file ------------------------------------------------------------------- */

/* Writes all of @len bytes or fails with errno set. */
static gboolean
write_all(int fd, const char *p, gsize len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = EIO;
            return FALSE;
        }
        p += n;
        len -= (gsize)n;
    }
    return TRUE;
}

/* Appends @len bytes whole or not at all: what a failed write left is cut off. */
static gboolean
plot_append(MomPlotFile *f, const char *p, gsize len, GError **error)
{
    if (write_all(f->fd, p, len)) {
        f->size += (gint64)len;
        return TRUE;
    }
    int err = errno;
    /* what was written of the line goes; a character device (/dev/full)
     * has no size to go back to, and that is harmless */
    if (ftruncate(f->fd, f->size) < 0)
        g_debug("Cannot cut %s %s back to %" G_GINT64_FORMAT " bytes: %s.", f->what, f->path,
                f->size, g_strerror(errno));
    g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(err), "Cannot write %s %s: %s.",
                f->what, f->path, g_strerror(err));
    return FALSE;
}

static void
plot_close(MomPlotFile *f)
{
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
}

/* Opens f->path, writing the header into a new or empty file; on failure
 * the file stays closed, to be opened again at the next line. */
static gboolean
plot_reopen(MomPlotFile *f, GError **error)
{
    FILE *stream = mom_log_open_file(f->path, f->what, FALSE, MOM_LOG_PLOT_FILE_MODE, error);
    struct stat st;

    if (!stream)
        return FALSE;
    f->fd = dup(fileno(stream));
    fclose(stream);
    if (f->fd < 0 || fstat(f->fd, &st) < 0) {
        int err = errno;
        plot_close(f);
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(err), "Cannot open %s %s: %s.",
                    f->what, f->path, g_strerror(err));
        return FALSE;
    }
    f->size = S_ISREG(st.st_mode) ? (gint64)st.st_size : 0;
    if (f->size == 0 && !plot_append(f, f->header, strlen(f->header), error)) {
        plot_close(f);
        return FALSE;
    }
    return TRUE;
}

/* FILE → FILE.1 (the previous FILE.1 goes), then a new FILE with the header. */
static gboolean
plot_rotate(MomPlotFile *f, GError **error)
{
    g_autofree char *old = g_strdup_printf("%s.1", f->path);

    plot_close(f);
    if (rename(f->path, old) < 0 && errno != ENOENT) {
        int err = errno;
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(err),
                    "Cannot rotate %s %s to %s: %s.", f->what, f->path, old, g_strerror(err));
        return FALSE;
    }
    return plot_reopen(f, error);
}

/* TRUE when the file momd writes is no longer in the directory (removed,
 * or the directory with it): a new one is opened rather than lines sent
 * into a file nobody can read.  Otherwise takes its size now, not the size
 * momd wrote: someone may have emptied it (": > FILE", logrotate's
 * copytruncate), and a rotation by an old size, or a failed line cut back
 * to it, would be wrong (the cut would fill the file with zeros). */
static gboolean
plot_file_gone(MomPlotFile *f)
{
    struct stat st;

    if (fstat(f->fd, &st) != 0 || !S_ISREG(st.st_mode))
        return FALSE;
    if (st.st_nlink == 0)
        return TRUE;
    f->size = (gint64)st.st_size;
    return FALSE;
}

/* A file not opened yet: the first line opens it. */
static MomPlotFile *
plot_file_new(MomPlotDir *dir, gboolean dir_ref, const char *name, const char *what,
              const char *header)
{
    MomPlotFile *f = g_new0(MomPlotFile, 1);

    f->dir = dir_ref ? mom_plot_dir_ref(dir) : dir;
    f->dir_ref = dir_ref;
    f->path = g_build_filename(dir->path, name, NULL);
    f->what = g_strdup(what);
    f->header = g_strdup(header);
    f->fd = -1;
    return f;
}

MomPlotFile *
mom_plot_file_open(MomPlotDir *dir, const char *name, const char *what, const char *header,
                   GError **error)
{
    MomPlotFile *f = plot_file_new(dir, TRUE, name, what, header);

    /* a file that cannot be written now (a full disk, the directory gone)
     * is tried again at each line, and said when it works */
    if (!plot_reopen(f, error))
        f->failed = TRUE;
    return f;
}

gboolean
mom_plot_file_write(MomPlotFile *f, const char *line, gsize len)
{
    g_autoptr(GError) error = NULL;
    gint64 max = f->dir->max_bytes;

    if (f->fd >= 0 && plot_file_gone(f))
        plot_close(f);
    gboolean ok = f->fd >= 0 || plot_reopen(f, &error);
    /* a file always keeps one line after its header, however long */
    if (ok && max > 0 && f->size + (gint64)len > max && f->size > (gint64)strlen(f->header))
        ok = plot_rotate(f, &error);
    if (ok)
        ok = plot_append(f, line, len, &error);
    if (!ok) {
        if (!f->failed)
            g_warning("%s momd goes on without it, and says so when it can write it again.",
                      error->message);
        f->failed = TRUE;
        /* a descriptor whose writes fail is kept: a full disk frees up */
        return FALSE;
    }
    if (f->failed)
        g_message("momd writes %s %s again.", f->what, f->path);
    f->failed = FALSE;
    return TRUE;
}

void
mom_plot_file_free(MomPlotFile *f)
{
    if (!f)
        return;
    plot_close(f);
    if (f->dir_ref)
        mom_plot_dir_unref(f->dir);
    g_free(f->path);
    g_free(f->what);
    g_free(f->header);
    g_free(f);
}

/* ---- decisions ------------------------------------------------------------------- */

static void
append_field(GString *line, const char *text)
{
    g_string_append_c(line, '\t');
    mom_log_escape_append(line, text ? text : "-", -1, MOM_LOG_ESCAPE_NAME);
}

void
mom_plot_dir_write_decisions(MomPlotDir *dir, GPtrArray *decisions)
{
    g_autoptr(GString) line = g_string_new(NULL);

    /* no reference to @dir: it would keep the directory alive for ever */
    if (!dir->decisions)
        dir->decisions = plot_file_new(dir, FALSE, MOM_PLOT_DECISIONS_FILE, "the decisions file",
                                       MOM_PLOT_DECISIONS_HEADER);
    for (guint i = 0; decisions && i < decisions->len; i++) {
        const MomDecision *d = decisions->pdata[i];
        char buf[32];

        g_string_append(line, mom_format_double((double)d->time / 1e6, buf));
        g_string_append_printf(line, "\t%" G_GUINT64_FORMAT, d->cycle);
        append_field(line, d->entity);
        append_field(line, d->control);
        append_field(line, d->before);
        append_field(line, d->requested);
        append_field(line, d->outcome);
        append_field(line, d->origin);
        g_string_append_c(line, '\n');
    }
    /* one write for the cycle: all of it or none (nothing: the file is
     * made, or made again if it was removed) */
    mom_plot_file_write(dir->decisions, line->str, line->len);
}
