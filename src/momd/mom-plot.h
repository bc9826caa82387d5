/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The plot directory ([main] plot-dir): MOM's tab-separated sample files,
 * HostMonitor.dat and GuestMonitor-NAME.dat, and momd's decisions.tsv.
 * Every file starts with a header line "# time\t ..." and gets one line per
 * sample or decision; at [main] plot-max-bytes it is renamed FILE.1 (the
 * previous FILE.1 goes) and a new FILE starts with the header again.  A
 * file that cannot be written is logged once, and once more when it can be
 * again; momd goes on without it meanwhile.  docs/configuration.md.
 */
#pragma once

#include <glib.h>

#include "mom-plot-format.h"

/* The default [main] plot-max-bytes: a host line of HostMemory, HostKSM
 * and HostCpu is about 170 bytes, so at 5 s this is about three days. */
#define MOM_PLOT_DEFAULT_MAX_BYTES 8388608 /* 8 MiB */
/* The smallest limit other than 0: a row of a guest with I/O limits is a
 * few hundred bytes, and a file should hold more than one. */
#define MOM_PLOT_MIN_MAX_BYTES 4096

typedef struct _MomPlotDir MomPlotDir;
typedef struct _MomPlotFile MomPlotFile;

/**
 * mom_plot_dir_new:
 * A plot directory at @path (which must exist), whose files rotate at
 * @max_bytes (0: never).  The monitors and momd share it, so it is
 * reference-counted.
 * Returns: (transfer full)
 */
MomPlotDir *mom_plot_dir_new(const char *path, gint64 max_bytes);

/** mom_plot_dir_ref: Returns: (transfer full) @dir, one more reference. */
MomPlotDir *mom_plot_dir_ref(MomPlotDir *dir);

/** mom_plot_dir_unref: Drops a reference; the last closes decisions.tsv (NULL is fine). */
void mom_plot_dir_unref(MomPlotDir *dir);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MomPlotDir, mom_plot_dir_unref)

/**
 * mom_plot_dir_set_max_bytes:
 * A reload's new [main] plot-max-bytes: every file of @dir rotates at it
 * from its next line on.
 */
void mom_plot_dir_set_max_bytes(MomPlotDir *dir, gint64 max_bytes);

/**
 * mom_plot_dir_write_decisions:
 * Appends @decisions (MomDecision *, mom-history.h; NULL or empty: none)
 * to decisions.tsv, opened with its header at the first call, so that
 * momd makes it at start even before a decision: one line each, the time as
 * in the sample files, the texts escaped as in the log (a tab or newline
 * in a guest's name is "\t", "\n"; a backslash "\\").
 */
void mom_plot_dir_write_decisions(MomPlotDir *dir, GPtrArray *decisions);

/**
 * mom_plot_file_open:
 * Opens @name in @dir for appending, mode 0640 whatever the umask, and
 * writes @header (one line, with its newline) when the file is new.
 * @what names it in messages ("the plot file").
 * When it cannot be opened or its header written now, @error says why
 * (G_FILE_ERROR, "Cannot open WHAT PATH: REASON." or "Cannot write ..."),
 * and the file is tried again at each line mom_plot_file_write() is given,
 * which says when it works.
 * Returns: (transfer full) the file, never NULL.
 */
MomPlotFile *mom_plot_file_open(MomPlotDir *dir, const char *name, const char *what,
                                const char *header, GError **error);

/**
 * mom_plot_file_write:
 * Appends @line (whole lines, with their newline), rotating first when
 * it would take the file past the limit.  A line is written whole or not
 * at all.  A failure (a full disk, a removed directory) is logged here,
 * once until a line is written again; a file removed under momd is
 * created anew.
 * Returns: TRUE when @line was written.
 */
gboolean mom_plot_file_write(MomPlotFile *file, const char *line, gsize len);

/** mom_plot_file_free: Closes @file (NULL is fine). */
void mom_plot_file_free(MomPlotFile *file);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MomPlotFile, mom_plot_file_free)
