/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * GuestQemuProc: what the guest's QEMU process costs the host, from
 * PROC/PID/stat, where PID is the QEMU pid the guest manager found
 * (MomGuestData.pid: libvirt's pid file, or the process with -uuid UUID).  All fields are
 * mandatory, as in MOM:
 *
 *   host_minor_faults  minflt (stat field 10) since the previous sample
 *   host_major_faults  majflt (stat field 12) since the previous sample
 *   rss                stat field 24, in PAGES, not KiB: MOM reports the
 *                      raw field, and policies written for MOM compare it
 *                      as such
 *
 * The first sample of a process reports 0 faults, as MOM does (it seeds
 * the previous value with the current one).  When the guest restarts, its
 * QEMU process is a new one: a different pid, or the same pid reused with
 * a different start time.  Either resets the baseline, so the new
 * process's fault totals are never reported as one huge delta.
 *
 * MOM silently returned no fields when it had no pid; momd fails the
 * collection instead (READ), so the log says why the guest is skipped.
 */
#include "config.h"

#include <glib.h>

#include "mom-collector.h"
#include "collector-priv.h"
#include "proc-parse.h"

typedef struct {
    char *proc_root;
    const MomGuestData *guest; /* owned by the guest manager, refreshed in place */
    /* The process the counters below belong to; pid -1 before the first
     * successful read. */
    gint64 pid;
    guint64 starttime;
    MomCounter minflt;
    MomCounter majflt;
} GuestQemuProc;

static const char *const guest_qemu_proc_fields[] = {
    "host_minor_faults",
    "host_major_faults",
    "rss",
    NULL,
};

static gpointer
guest_qemu_proc_init(const MomCollectorConfig *cfg, GError **error)
{
    GuestQemuProc *gq;

    if (!mom_collector_require_guest(cfg, "GuestQemuProc", error))
        return NULL;
    gq = g_new0(GuestQemuProc, 1);
    gq->proc_root = g_strdup(cfg->proc_root);
    gq->guest = cfg->guest;
    gq->pid = -1;
    return gq;
}

static void
guest_qemu_proc_free(gpointer state)
{
    GuestQemuProc *gq = state;

    g_free(gq->proc_root);
    g_free(gq);
}

static gboolean
guest_qemu_proc_collect(gpointer state, MomSample *out, GError **error)
{
    GuestQemuProc *gq = state;
    const MomGuestData *g = gq->guest;
    const char *name = g->name ? g->name : "(unnamed)";
    MomProcStat st;

    if (g->pid < 0) {
        g_set_error(error, MOM_COLLECTOR_ERROR, MOM_COLLECTOR_ERROR_READ,
                    "guest %s: no QEMU process was found for it, neither through libvirt's pid "
                    "file nor in the process list by its UUID.",
                    name);
        return FALSE;
    }
    /* Read before touching the counters, so a failed read (the process
     * exiting under us) leaves no half-updated state. */
    if (!mom_proc_read_pid_stat(gq->proc_root, g->pid, &st, error)) {
        g_prefix_error(error, "guest %s: ", name);
        return FALSE;
    }

    if (g->pid != gq->pid || st.starttime != gq->starttime) {
        mom_counter_reset(&gq->minflt);
        mom_counter_reset(&gq->majflt);
        gq->pid = g->pid;
        gq->starttime = st.starttime;
    }
    mom_sample_set_int(out, "host_minor_faults", mom_counter_delta(&gq->minflt, (gint64)st.minflt));
    mom_sample_set_int(out, "host_major_faults", mom_counter_delta(&gq->majflt, (gint64)st.majflt));
    mom_sample_set_int(out, "rss", st.rss);
    return TRUE;
}

const MomCollectorClass mom_collector_guest_qemu_proc = {
    .name = "GuestQemuProc",
    .fields = guest_qemu_proc_fields,
    .optional_fields = NULL,
    .init = guest_qemu_proc_init,
    .collect = guest_qemu_proc_collect,
    .free = guest_qemu_proc_free,
};
