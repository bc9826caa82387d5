/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Internal to the Balloon controller and its tests (libvirt's -priv.h rule). */
#pragma once

#include <glib.h>

/* The Balloon controller's state, as returned by mom_controller_balloon.init. */
typedef struct _MomBalloon MomBalloon;

/**
 * mom_balloon_wait_idle:
 * Blocks until every hypervisor call the controller has queued has
 * finished and its outcome has been logged, so a test can check the calls
 * and log lines of a cycle.  A call that never returns blocks this too.
 */
void mom_balloon_wait_idle(MomBalloon *balloon);

/**
 * mom_balloon_n_pending:
 * Returns: how many hypervisor calls are queued or running, so a test can
 * wait for all but a deliberately blocked one.
 */
guint mom_balloon_n_pending(MomBalloon *balloon);
