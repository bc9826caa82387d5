/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Internal to the IoTune controller and its tests (libvirt's -priv.h rule). */
#pragma once

#include <glib.h>

/* The IoTune controller's state, as returned by mom_controller_iotune.init. */
typedef struct _MomIoTune MomIoTune;

/**
 * mom_iotune_wait_idle:
 * Blocks until every hypervisor call the controller has queued has
 * finished and its outcome has been logged.
 */
void mom_iotune_wait_idle(MomIoTune *iotune);
