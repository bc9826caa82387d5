/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The plot directory's files as momd writes them (mom-plot.h) and momctl
 * plot reads them: MOM's tab-separated HostMonitor.dat and
 * GuestMonitor-NAME.dat, and momd's decisions.tsv.  Every file starts with
 * a header line "# time\t ..." naming its columns, then one line per
 * sample or decision; a full file is renamed FILE.1.  docs/configuration.md.
 */
#pragma once

/* The decisions' file and its header. */
#define MOM_PLOT_DECISIONS_FILE "decisions.tsv"
#define MOM_PLOT_DECISIONS_HEADER                                                                  \
    "# time\tcycle\tentity\tcontrol\tbefore\trequested\toutcome\torigin\n"
