/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The hypervisor interface: one libvirt connection, kept alive and
 * re-established with back-off when it drops, with libvirt's events
 * dispatched on our GLib main context.  Domains are always named by UUID
 * outside this file: no virDomainPtr survives a reconnect.
 */
#pragma once

#include <glib.h>
#include <libvirt/libvirt.h>

#include "mom-collector.h"
#include "mom-controller.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC(virConnect, virConnectClose)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(virDomain, virDomainFree)

#define MOM_LIBVIRT_ERROR (mom_libvirt_error_quark())
GQuark mom_libvirt_error_quark(void);

typedef enum {
    MOM_LIBVIRT_ERROR_CONNECT,   /* no connection */
    MOM_LIBVIRT_ERROR_NO_DOMAIN, /* the domain is gone */
    MOM_LIBVIRT_ERROR_CALL,      /* a libvirt call failed */
} MomLibvirtErrorCode;

typedef struct _MomLibvirt MomLibvirt;

/* What the connection tells its user, on the main context. */
typedef struct {
    void (*connected)(gpointer user_data);
    void (*disconnected)(gpointer user_data);
    /* A domain started, stopped, crashed, was defined ... (virDomainEventType). */
    void (*lifecycle)(const char *uuid, int event, gpointer user_data);
    /* The <metadata> of a running domain changed (VIR_DOMAIN_EVENT_ID_METADATA_CHANGE).
     * The next mom_libvirt_collect() re-reads that domain's XML by itself;
     * this only lets the user collect sooner. */
    void (*metadata_changed)(const char *uuid, gpointer user_data);
} MomLibvirtCallbacks;

/**
 * mom_libvirt_new:
 * Prepares a connection to @uri ("" or NULL: libvirt's default).  Each
 * guest's QEMU pid is looked for in @run_dir/NAME.pid when @run_dir is
 * set, then in the QEMU driver's run directory for the URI
 * (/run/libvirt/qemu for qemu:///system, the socket's directory when the
 * URI names one, the user's runtime directory for qemu:///session), then
 * in the process list: the process whose command line has "-uuid UUID".
 * Nothing is connected until mom_libvirt_start().
 * Returns: (transfer full) the interface.
 */
MomLibvirt *mom_libvirt_new(const char *uri, const char *run_dir,
                            const MomLibvirtCallbacks *callbacks, gpointer user_data);

/**
 * mom_libvirt_set_proc_root:
 * Where the QEMU processes' PID/cmdline files are ([main] proc-root;
 * "/proc" by default).  Call it before mom_libvirt_start().
 */
void mom_libvirt_set_proc_root(MomLibvirt *lv, const char *proc_root);

/**
 * mom_libvirt_free:
 * Closes the connection and drops the caller's reference.  Worker threads
 * that still hold a reference (mom_libvirt_ref()) keep the object alive
 * and see "not connected" from then on.
 */
void mom_libvirt_free(MomLibvirt *lv);

/** mom_libvirt_ref: Returns: @lv with one more reference, for a worker thread. */
MomLibvirt *mom_libvirt_ref(MomLibvirt *lv);

/** mom_libvirt_unref: Drops a reference taken with mom_libvirt_ref(). */
void mom_libvirt_unref(MomLibvirt *lv);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MomLibvirt, mom_libvirt_free)

/**
 * mom_libvirt_start:
 * Connects now, or keeps retrying with back-off (1 s doubling to 60 s)
 * until libvirt answers; the failure is logged once, the recovery once.
 */
void mom_libvirt_start(MomLibvirt *lv);

/** mom_libvirt_connected: Returns: TRUE while a connection is open. */
gboolean mom_libvirt_connected(MomLibvirt *lv);

/** mom_libvirt_uri: Returns: (transfer none) the URI as configured, or "" for the default. */
const char *mom_libvirt_uri(const MomLibvirt *lv);

/* What one domain looked like when the guest manager last asked. */
typedef struct {
    char *name;
    char *uuid;
    int id;                /* libvirt's domain id; it changes when the guest restarts */
    gint64 pid;            /* QEMU's pid (see mom_libvirt_new()), -1 when unknown */
    gboolean have_xml;     /* the XML was read: tune's XML fields are known */
    gboolean has_balloon;  /* <memballoon model='virtio'> (not 'none') */
    gboolean stats_period; /* <memballoon><stats period> is set */
    guint xml_serial;      /* a new number each time the XML is read */
    gint64 max_memory;     /* <memory> in KiB, <= 0 when not known: the balloon's
                            * ceiling where the bulk call does not carry it */
    /* From the XML (<memtune>, <memoryBacking>, <vcpu current>) and the
     * tuning metadata in momd's and oVirt's namespaces (docs/metadata.md);
     * the scheduler parameters are read when the domain is new and again
     * after a tunable event or a CpuTune change, never every cycle.  Copied
     * whole into MomGuestData. */
    MomGuestTune tune;
    MomIoTunePolicy *io_tune;
    guint n_io_tune;
    guint sched_failures; /* reads of the scheduler parameters failed in a row
                           * (see mom_libvirt_read_fault) */
    /* IoTune: the disks of the same XML, and their current limits, read
     * (only for a guest with I/O metadata) when the domain is new or its
     * XML was read again, and after a tunable event or an IoTune change. */
    MomIoTuneDisk *io_disks;
    guint n_io_disks;
    gboolean io_known;
    guint io_failures; /* reads failed in a row (see mom_libvirt_read_fault) */
    /* References beyond the first (atomic): a domain that did not change
     * is shared between the guest manager, the collection thread and the
     * next batch, not copied twice per guest per collection.  A shared
     * info is never changed; one to change is copied first. */
    gint extra_refs;
} MomDomainInfo;

/** mom_domain_info_ref: Returns: @info with one more reference. */
MomDomainInfo *mom_domain_info_ref(MomDomainInfo *info);
/** mom_domain_info_free: Drops a reference to @info; the last frees it. */
void mom_domain_info_free(MomDomainInfo *info);
/** mom_domain_info_copy: Returns: (transfer full) a copy of @info. */
MomDomainInfo *mom_domain_info_copy(const MomDomainInfo *info);

/* One cycle's data for every active domain (MomGuestData, strings owned). */
typedef struct {
    GPtrArray *domains; /* MomDomainInfo, one per guest */
    GArray *data;       /* MomGuestData, same order; name/uuid point into domains */
    guint calls;        /* libvirt calls made, for the benchmark */
    guint asked;        /* domains asked for their UUID and id (not known by name) */
    gint64 started;     /* monotonic µs when the bulk call was made */
} MomGuestBatch;

/** mom_guest_batch_free: Frees @batch. */
void mom_guest_batch_free(MomGuestBatch *batch);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MomGuestBatch, mom_guest_batch_free)

/**
 * mom_libvirt_collect:
 * Gathers every active domain's balloon and memory statistics with ONE
 * virConnectGetAllDomainStats() call (NOWAIT: a domain whose QEMU is busy
 * is skipped this cycle instead of delaying the others).  Only where that
 * call lacks balloon data (libvirt's test driver) are per-domain calls
 * made.  Domain XML (min_guarantee, nosharepages, balloon and stats
 * period) is read only for domains not in @known (uuid -> MomDomainInfo)
 * or whose id changed; @pid_of known guests likewise.  Records are matched
 * to domains by name where an earlier collection on the same connection
 * saw the domain's id and it still runs (one virConnectListDomains() call);
 * a collection made while another is in flight asks every domain for its
 * UUID instead.  May block: call it from a worker thread.  Returns:
 * (transfer full) the batch, or NULL with @error when libvirt is not
 * reachable.
 */
MomGuestBatch *mom_libvirt_collect(MomLibvirt *lv, GHashTable *known, GError **error);

/**
 * mom_libvirt_collect_aside:
 * mom_libvirt_collect() on a connection of its own, opened and closed for
 * this call, for when a collection has not returned: its bulk call skips
 * (NOWAIT) the guest whose job the stuck call holds, a frozen QEMU's, and
 * brings the other guests' statistics.  May block: call it from a worker
 * thread.  Returns: (transfer full) the batch, or NULL with @error.
 */
MomGuestBatch *mom_libvirt_collect_aside(MomLibvirt *lv, GHashTable *known, GError **error);

/**
 * mom_libvirt_mark_stale:
 * Makes the next collection read @uuid's XML, scheduler parameters and I/O
 * limits again: for a batch thrown away (a late one, older than what was
 * merged), which took the marks its reads would have answered.
 */
void mom_libvirt_mark_stale(MomLibvirt *lv, const char *uuid);

/**
 * mom_libvirt_set_stats_period:
 * Asks the balloon driver of @uuid to refresh its statistics every
 * @seconds (live only).  May block.  Returns: FALSE with @error.
 */
gboolean mom_libvirt_set_stats_period(MomLibvirt *lv, const char *uuid, int seconds,
                                      GError **error);

/**
 * mom_libvirt_note_unanswered:
 * Tells @lv that its caller has warned (@said TRUE) that a call has not
 * returned, or that the call has returned since (FALSE): if libvirt's
 * keepalive then closes the connection, that is the same outage, and the
 * loss is said at info level so that one outage is one warning.  Main
 * context.
 */
void mom_libvirt_note_unanswered(MomLibvirt *lv, gboolean said);

/**
 * mom_libvirt_generation:
 * Returns: how many connections momd has made so far, so that a caller can
 * tell that a reconnection came (and was said) while it waited.
 */
guint mom_libvirt_generation(MomLibvirt *lv);

/**
 * mom_libvirt_alive:
 * Returns: whether momd has a connection and libvirt's keepalive has not
 * closed it (the close callback comes later, on the main loop).
 */
gboolean mom_libvirt_alive(MomLibvirt *lv);

/**
 * mom_libvirt_error_is_gone:
 * Returns: whether @error, from a call of this module, says the guest went
 * away under it (MOM_LIBVIRT_ERROR_NO_DOMAIN), which guest churn makes
 * normal: the controllers then say nothing above debug level.
 */
gboolean mom_libvirt_error_is_gone(const GError *error);

/** mom_libvirt_hypervisor_ops: Returns: (transfer none) the controllers' view of @lv. */
const MomHypervisorOps *mom_libvirt_hypervisor_ops(MomLibvirt *lv);

/**
 * mom_libvirt_conn_ref:
 * For code that makes its own libvirt calls in a worker thread (the guest
 * agent reads of mom-agent.c): the current connection with a reference
 * the caller drops with virConnectClose().
 * Returns: (transfer full) the connection, or NULL while disconnected.
 */
virConnectPtr mom_libvirt_conn_ref(MomLibvirt *lv);

/**
 * mom_libvirt_take_error:
 * Copies the calling thread's last libvirt error and clears it.  Call it
 * right after the call that failed and before any other libvirt call:
 * every libvirt API, virDomainGetName() included, resets the thread's
 * error and frees the message virGetLastErrorMessage() pointed to.  This
 * is the one place in momd that reads libvirt's error (a lint test checks).
 * @code: (out) (optional): the virErrorNumber, VIR_ERR_OK when none was set.
 * Returns: (transfer full) the message, "unknown error" when libvirt gave none.
 */
char *mom_libvirt_take_error(int *code);
