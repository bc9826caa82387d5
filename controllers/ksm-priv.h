/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Internal to the KSM controller and its tests (libvirt's -priv.h rule). */
#pragma once

#include <glib.h>

/* The KSM controller's state, as returned by mom_controller_ksm.init. */
typedef struct _MomKsm MomKsm;

/* Writes @text to the sysfs file @path; returns 0 or an errno value. */
typedef int (*MomKsmWriteFn)(const char *path, const char *text);

/**
 * mom_ksm_set_write_hook:
 * Replaces how the controller writes sysfs files (NULL restores the real
 * write), so tests can make a write fail with EINVAL or EBUSY as the
 * kernel does.
 */
void mom_ksm_set_write_hook(MomKsm *ksm, MomKsmWriteFn fn);

/**
 * mom_ksm_watching:
 * Returns: TRUE while the controller watches ksmd between policy cycles
 * to switch it to the policy's idle rate (ksm_idle_* controls).
 */
gboolean mom_ksm_watching(MomKsm *ksm);
