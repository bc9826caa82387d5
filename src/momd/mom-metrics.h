/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Prometheus metrics: momd's state in the text exposition format, served
 * over HTTP at /metrics and/or written to a node_exporter textfile after
 * every policy cycle.  docs/metrics.md lists every metric.
 */
#pragma once

#include <glib.h>

#include "mom-policy.h"

typedef struct _MomMetrics MomMetrics;

/* [metrics] of the configuration. */
typedef struct {
    char *listen;   /* "ADDRESS:PORT" ("[ADDRESS]:PORT" for IPv6); empty: no HTTP */
    char *textfile; /* a path; empty: no textfile */
} MomMetricsOptions;

/* What one policy cycle hands over. */
typedef struct {
    MomEntity *host;   /* may be NULL */
    GPtrArray *guests; /* MomEntity *, each with the "name" property */
    gboolean ok;       /* the evaluation succeeded */
    double seconds;    /* wall time of the evaluation and the controllers */
} MomMetricsCycle;

/**
 * mom_metrics_new:
 * Returns: (transfer full) the metrics' counters, with no output yet:
 * mom_metrics_configure() starts the HTTP listener and the textfile.  The
 * counters live as long as the daemon, across reloads.
 */
MomMetrics *mom_metrics_new(void);

/**
 * mom_metrics_configure:
 * Makes the outputs what @options ask for: an HTTP listener on [metrics]
 * listen (a warning is logged when it is not a loopback address; the same
 * address keeps its listener) and/or the textfile (a textfile no longer
 * asked for is removed).  The new outputs are ready before the old ones
 * go, so a refusal changes nothing.
 * Returns: FALSE with @error when the address is malformed or cannot be
 * bound, or the textfile's directory does not exist.
 */
gboolean mom_metrics_configure(MomMetrics *metrics, const MomMetricsOptions *options,
                               GError **error);

/** mom_metrics_active: Returns: TRUE when there is a listener or a textfile. */
gboolean mom_metrics_active(MomMetrics *metrics);

/** mom_metrics_free: Stops listening, removes the textfile and frees @metrics (NULL is fine). */
void mom_metrics_free(MomMetrics *metrics);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MomMetrics, mom_metrics_free)

/**
 * mom_metrics_cycle:
 * Counts one policy cycle (its result, duration and the controllers'
 * outcomes), renders the exposition from the entities' newest samples,
 * serves it from now on, and writes the textfile (temporary file, then
 * rename, mode 0644).  A textfile that cannot be written is logged once,
 * and again after it was written successfully in between.
 */
void mom_metrics_cycle(MomMetrics *metrics, const MomMetricsCycle *cycle);

/**
 * mom_metrics_text:
 * Returns: (transfer none) the exposition of the last cycle (or of the
 * daemon alone before the first one).
 */
const char *mom_metrics_text(MomMetrics *metrics);

/**
 * mom_metrics_port:
 * Returns: the TCP port the HTTP listener is bound to (useful with port
 * 0, which lets the kernel choose), or 0 without a listener.
 */
guint mom_metrics_port(MomMetrics *metrics);

/**
 * mom_metrics_outcome_result:
 * Classifies a controller's outcome text (what momctl controls shows) as
 * one of "applied", "clamped", "skipped" or "failed", the result label of
 * momd_controller_actions_total.  Returns: a static string.
 */
const char *mom_metrics_outcome_result(const char *outcome);

/**
 * mom_metrics_control_controller:
 * Returns: the controller that applies the control @name ("Balloon",
 * "KSM", "CpuTune", "IoTune"), or "other" for a name no controller takes.
 */
const char *mom_metrics_control_controller(const char *name);
