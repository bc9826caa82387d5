/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Internal to the CpuTune controller and its tests (libvirt's -priv.h rule). */
#pragma once

#include <glib.h>

/* The CpuTune controller's state, as returned by mom_controller_cputune.init. */
typedef struct _MomCpuTune MomCpuTune;

/* The bounds libvirt's QEMU driver accepts, in µs. */
#define MOM_CPUTUNE_PERIOD_MIN 1000LL
#define MOM_CPUTUNE_PERIOD_MAX 1000000LL
#define MOM_CPUTUNE_QUOTA_MIN 1000LL
#define MOM_CPUTUNE_QUOTA_MAX 18446744073709551LL
/* The period used when the policy sets only a quota and the guest has none
 * (the kernel's default CFS period). */
#define MOM_CPUTUNE_PERIOD_DEFAULT 100000LL

/**
 * mom_cputune_wait_idle:
 * Blocks until every hypervisor call the controller has queued has
 * finished and its outcome has been logged.
 */
void mom_cputune_wait_idle(MomCpuTune *cputune);
