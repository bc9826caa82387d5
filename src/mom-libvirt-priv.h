/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Internal to mom-libvirt.c and its tests (libvirt's -priv.h rule). */
#pragma once

#include <glib.h>

#include "mom-libvirt.h"

/* The namespaces of the per-VM tuning metadata (docs/metadata.md). */
#define MOM_TUNE_NS "urn:momd:tune:1"
#define MOM_OVIRT_TUNE_NS "http://ovirt.org/vm/tune/1.0"

/**
 * mom_libvirt_parse_domain_xml:
 * Fills the XML-derived fields of @info (balloon_min, nosharepages,
 * has_balloon, stats_period, vcpu_count, vcpu_user_limit, balloon_weight,
 * io_tune) from the domain definition @xml.  A tuning value that is not a
 * valid number keeps its default and adds one message to @warnings (owned
 * strings); a missing value is not a warning.
 * Returns: FALSE when @xml is not XML at all (@info is left unchanged).
 */
gboolean mom_libvirt_parse_domain_xml(const char *xml, MomDomainInfo *info, GPtrArray *warnings);

/**
 * mom_libvirt_tune_defaults:
 * Sets the tuning fields of @info to "no metadata": vcpu_user_limit 100,
 * balloon_weight -1, no I/O policies, vcpu_count -1.
 */
void mom_libvirt_tune_defaults(MomDomainInfo *info);
