/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One collector under test: an instance of a collector class over a given
 * MomCollectorConfig, and a fresh sample over the class's own fields for
 * each collect, so that a test reads only what that collect wrote.  Used
 * by the host (check-collectors.c) and guest (check-guest-collectors.c)
 * collector tests.  Failures are check assertions.
 */
#pragma once

#include <glib.h>

#include "mom-collector.h"

typedef struct {
    const MomCollectorClass *klass;
    gpointer state;    /* what klass->init returned */
    MomSample *sample; /* the newest collect's, over klass's fields */
    char *proc_root;   /* copies of the config's roots, kept for the state's life */
    char *sysfs_root;
} MomTestHarness;

/**
 * mom_test_harness_new:
 * Starts the collector @name with @cfg; fails the test when there is no
 * such collector or its init fails.  The roots are copied; the rest of
 * @cfg (guest, config, pressure_trigger) is the caller's and must outlive
 * the harness: a guest test changes *@cfg->guest between collects, as the
 * guest manager does.
 * Returns: (transfer full) the harness.
 */
MomTestHarness *mom_test_harness_new(const char *name, const MomCollectorConfig *cfg);

/** mom_test_harness_free: Frees the collector's state, the sample and @h. */
void mom_test_harness_free(MomTestHarness *h);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MomTestHarness, mom_test_harness_free)

/**
 * mom_test_collect:
 * Collects into a fresh sample.
 * Returns: what the collector's collect returned: FALSE with @error when it failed.
 */
gboolean mom_test_collect(MomTestHarness *h, GError **error);

/** mom_test_collect_ok: Collects into a fresh sample and fails the test on an error. */
void mom_test_collect_ok(MomTestHarness *h);

/**
 * mom_test_assert_collect_error:
 * Collects and fails the test unless the collect fails with the
 * MOM_COLLECTOR_ERROR @code and exactly @message.
 */
void mom_test_assert_collect_error(MomTestHarness *h, int code, const char *message);

/** mom_test_get_int: Returns: @field of the newest sample, which must be an integer. */
gint64 mom_test_get_int(MomTestHarness *h, const char *field);

/** mom_test_get_float: Returns: @field of the newest sample, which must be a float. */
double mom_test_get_float(MomTestHarness *h, const char *field);

/** mom_test_assert_nil: Fails the test unless @field of the newest sample is nil. */
void mom_test_assert_nil(MomTestHarness *h, const char *field);
