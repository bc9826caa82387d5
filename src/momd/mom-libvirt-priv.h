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

/**
 * mom_libvirt_run_dir_for_uri:
 * Where the QEMU driver behind @uri writes NAME.pid: for qemu:///system
 * /run/libvirt/qemu, for qemu:///session $XDG_RUNTIME_DIR/libvirt/qemu/run
 * (~/.cache/libvirt/qemu/run without XDG_RUNTIME_DIR), and with
 * "?socket=DIR/SOCK" DIR/qemu, or DIR/qemu/run for a session.
 * Returns: (transfer full) the directory, or NULL when @uri is not a
 * QEMU driver on this host (test:///, qemu+ssh://host/ ...).
 */
char *mom_libvirt_run_dir_for_uri(const char *uri);

/**
 * mom_libvirt_pid_from_file:
 * Reads @run_dir/@name.pid, and takes the pid only if
 * @proc_root/PID/cmdline has "-uuid @uuid" (a stale file, or another
 * libvirtd's guest of the same name, has not).
 * Returns: the pid, or -1.
 */
gint64 mom_libvirt_pid_from_file(const char *proc_root, const char *run_dir, const char *name,
                                 const char *uuid);

/**
 * mom_libvirt_pids_by_uuid:
 * Reads the command line of every process under @proc_root.
 * Returns: (transfer full) lowercase UUID -> pid (GSIZE_TO_POINTER) for
 * each process started with "-uuid UUID"; the lowest pid when several are.
 */
GHashTable *mom_libvirt_pids_by_uuid(const char *proc_root);

/* Reads of a guest's scheduler parameters or I/O limits are tried at this
 * many collections in a row; after that only an event brings a new try. */
#define MOM_LIBVIRT_READ_TRIES 3

/**
 * mom_libvirt_went_away:
 * Whether the call on @dom that has just failed with libvirt's @code failed
 * because the guest went away under it.  "No domain" says so; "operation
 * invalid" is what libvirt says of a guest that is no longer running, but
 * also of a request refused on a running one ("without the balloon device",
 * "cgroup CPU controller is not mounted"), which is a fault to report: only
 * the guest's state tells them apart.  Any other error is the guest going
 * away when libvirt then says the guest is not running or does not know it
 * (a call cut off by QEMU's end), and a fault otherwise.  Call it once the
 * error is taken: it makes a libvirt call, which resets the thread's last
 * error.
 */
gboolean mom_libvirt_went_away(virDomainPtr dom, int code);

/**
 * mom_libvirt_read_fault:
 * How loudly to report the @failures-th failure in a row (1 is the first)
 * of a per-guest read; @gone says the guest went away under the call,
 * which is churn, not a fault (a read libvirt refuses on a running guest is
 * not gone, whatever its error code).  A QEMU that is still starting
 * fails a read or two (its cgroups are not there yet), so only the
 * MOM_LIBVIRT_READ_TRIES-th failure in a row is a warning, and it is said
 * once.
 * Returns: G_LOG_LEVEL_WARNING or G_LOG_LEVEL_DEBUG.
 */
GLogLevelFlags mom_libvirt_read_fault(guint failures, gboolean gone);
