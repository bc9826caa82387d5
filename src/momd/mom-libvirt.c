/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libvirt: connection management, the per-cycle bulk statistics call, and
 * the calls controllers make.  The connection pointer is guarded by a
 * mutex and referenced by each worker for the duration of its calls, so a
 * reconnect on the main context never pulls it from under a worker.
 */
#include "config.h"

#include <gio/gio.h>
#include <libvirt-glib/libvirt-glib.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <math.h>
#include <string.h>

#include "mom-libvirt-priv.h"
#include "mom-libvirt.h"

/* G_DEFINE_QUARK stringifies its first argument: clang-format must not space it */
/* clang-format off */
G_DEFINE_QUARK(mom-libvirt-error-quark, mom_libvirt_error)
/* clang-format on */

#define KEEPALIVE_INTERVAL 5 /* seconds between keepalive probes */
#define KEEPALIVE_COUNT 3    /* unanswered probes before libvirt closes */
#define MAX_BACKOFF 60       /* seconds between reconnection attempts, at most */
/* What libvirt reports as vcpu_quota for cgroup v2's "max" (its
 * VIR_CGROUP_CPU_QUOTA_MAX): no limit, which cgroup v1 and the API spell -1. */
#define QUOTA_UNLIMITED_V2 17592186044415LL
/* Scheduler parameters asked for in one call: QEMU has 9, the remote
 * protocol allows 16, so one call always gets them all. */
#define SCHED_PARAMS_MAX 16
/* The domain events momd registers for: events[] below, whose length is
 * checked against it. */
#define N_EVENTS 5

struct _MomLibvirt {
    gint ref;
    char *uri;
    char *run_dir;   /* [main] libvirt-run-dir, NULL when not set */
    char *proc_root; /* where the QEMU processes' cmdline files are */
    MomLibvirtCallbacks cb;
    gpointer user_data;
    GMutex lock;
    virConnectPtr conn;      /* NULL while disconnected */
    int event_ids[N_EVENTS]; /* momd's callbacks on @conn (events[]), -1 if none */
    /* uuids whose XML or scheduler parameters the next collection re-reads
     * (events and CpuTune changes), under @lock */
    GHashTable *stale_xml;
    GHashTable *stale_sched;
    GHashTable *stale_io; /* IoTune: block I/O limits to read again */
    guint xml_serial;     /* atomic */
    guint retry_source;
    guint backoff;
    gint64 lost_at;           /* monotonic µs when the connection went, 0 if never */
    gboolean said_down;       /* "cannot connect" was logged for this outage */
    GCancellable *connecting; /* a reconnect runs in a worker; cancelled by free */
    gboolean said_unanswered; /* a caller warned that libvirt does not answer */
    guint generation;         /* connections installed so far */
    /* The identities of running domains by name (collect_on()), for
     * connection number @idents_generation, under @idents_lock: a
     * collection that finds them taken (another caller's, in flight) asks
     * every domain instead of waiting. */
    GMutex idents_lock;
    GHashTable *idents; /* name -> Ident */
    guint idents_generation;
    MomHypervisorOps ops;
};

static void
silent_error(void *data, virErrorPtr error)
{
    /* errors are turned into GErrors where they happen, and logged once
     * by whoever handles them: libvirt must not print them itself */
}

char *
mom_libvirt_take_error(int *code)
{
    virErrorPtr e = virGetLastError();
    char *msg = g_strdup(e && e->message ? e->message : "unknown error");

    if (code)
        *code = e ? e->code : VIR_ERR_OK;
    virResetLastError();
    return msg;
}

gboolean
mom_libvirt_went_away(virDomainPtr dom, int code)
{
    if (code == VIR_ERR_NO_DOMAIN)
        return TRUE;
    int active = virDomainIsActive(dom);
    int state_error = active < 0 ? virGetLastErrorCode() : VIR_ERR_OK;
    if (active < 0)
        virResetLastError();
    if (code == VIR_ERR_OPERATION_INVALID)
        return active != 1;
    /* A call that the guest's end cut off fails with another code ("Unable
     * to read from monitor: Connection reset by peer" when QEMU died under
     * it, as the churn soak saw): the guest went away if libvirt now says
     * it is not running, or does not know it; not when libvirt itself
     * cannot answer (a lost connection is a fault of its own). */
    return active == 0 || state_error == VIR_ERR_NO_DOMAIN;
}

gboolean
mom_libvirt_error_is_gone(const GError *error)
{
    return g_error_matches(error, MOM_LIBVIRT_ERROR, MOM_LIBVIRT_ERROR_NO_DOMAIN);
}

/* Turns the libvirt error of the call that has just failed into @error. */
static void
set_error(GError **error, int code, const char *what)
{
    g_autofree char *msg = mom_libvirt_take_error(NULL);

    g_set_error(error, MOM_LIBVIRT_ERROR, code, "%s: %s", what, msg);
}

/* Takes a reference on the current connection, or NULL when there is none;
 * with its number in *@generation when that is not NULL. */
static virConnectPtr
conn_ref(MomLibvirt *lv, guint *generation)
{
    virConnectPtr c;

    g_mutex_lock(&lv->lock);
    c = lv->conn;
    if (c)
        virConnectRef(c);
    if (generation)
        *generation = lv->generation;
    g_mutex_unlock(&lv->lock);
    return c;
}

const char *
mom_libvirt_uri(const MomLibvirt *lv)
{
    return lv->uri ? lv->uri : "";
}

void
mom_libvirt_note_unanswered(MomLibvirt *lv, gboolean said)
{
    lv->said_unanswered = said;
}

guint
mom_libvirt_generation(MomLibvirt *lv)
{
    g_mutex_lock(&lv->lock);
    guint g = lv->generation;
    g_mutex_unlock(&lv->lock);
    return g;
}

gboolean
mom_libvirt_alive(MomLibvirt *lv)
{
    g_autoptr(virConnect) c = conn_ref(lv, NULL);

    return c && virConnectIsAlive(c) == 1;
}

gboolean
mom_libvirt_connected(MomLibvirt *lv)
{
    gboolean up;
    g_mutex_lock(&lv->lock);
    up = lv->conn != NULL;
    g_mutex_unlock(&lv->lock);
    return up;
}

static const char *
uri_name(const MomLibvirt *lv)
{
    return lv->uri && *lv->uri ? lv->uri : "libvirt's default URI";
}

/* ---- connection ---------------------------------------------------------------- */

static gboolean try_connect(gpointer data);

static void
schedule_retry(MomLibvirt *lv)
{
    if (lv->retry_source)
        return;
    lv->backoff = lv->backoff ? MIN(lv->backoff * 2, MAX_BACKOFF) : 1;
    lv->retry_source = g_timeout_add_seconds(lv->backoff, try_connect, lv);
    g_source_set_name_by_id(lv->retry_source, "momd libvirt reconnect");
}

/* Takes momd's callbacks off @c: @ids, from events[]. */
static void
deregister_events(virConnectPtr c, int ids[N_EVENTS])
{
    for (guint i = 0; i < N_EVENTS; i++) {
        if (ids[i] >= 0)
            virConnectDomainEventDeregisterAny(c, ids[i]);
        ids[i] = -1;
    }
}

/* What the next collection reads again for a guest: flags. */
typedef enum {
    STALE_NONE = 0,
    STALE_XML = 1 << 0,
    STALE_SCHED = 1 << 1,
    STALE_IO = 1 << 2,
    STALE_ALL = STALE_XML | STALE_SCHED | STALE_IO,
} Stale;

/* Marks @uuid's @what (flags) stale.  The sets are looked up under the
 * lock, all in one hold: a collection swaps them for new ones (under it),
 * from a worker, and must see all of one event's marks or none. */
static void
mark_stale(MomLibvirt *lv, Stale what, const char *uuid)
{
    if (what == STALE_NONE)
        return;
    g_mutex_lock(&lv->lock);
    if (what & STALE_XML)
        g_hash_table_add(lv->stale_xml, g_strdup(uuid));
    if (what & STALE_SCHED)
        g_hash_table_add(lv->stale_sched, g_strdup(uuid));
    if (what & STALE_IO)
        g_hash_table_add(lv->stale_io, g_strdup(uuid));
    g_mutex_unlock(&lv->lock);
}

static gboolean
on_lost(gpointer data)
{
    MomLibvirt *lv = data;
    virConnectPtr c;

    g_mutex_lock(&lv->lock);
    c = lv->conn;
    lv->conn = NULL;
    g_mutex_unlock(&lv->lock);
    if (!c)
        return G_SOURCE_REMOVE;
    deregister_events(c, lv->event_ids);
    virConnectClose(c);
    lv->lost_at = g_get_monotonic_time();
    lv->backoff = 0;
    if (lv->said_unanswered) {
        /* the same outage, already warned about: one warning, one recovery */
        lv->said_down = TRUE;
        g_message("The connection to libvirt (%s) was closed after it stopped answering; momd "
                  "reconnects with back-off.",
                  uri_name(lv));
    } else
        g_warning("The connection to libvirt (%s) was lost; the guests keep their last samples "
                  "and momd reconnects with back-off.",
                  uri_name(lv));
    lv->said_unanswered = FALSE;
    if (lv->cb.disconnected)
        lv->cb.disconnected(lv->user_data);
    schedule_retry(lv);
    return G_SOURCE_REMOVE;
}

static void
on_close(virConnectPtr conn, int reason, void *opaque)
{
    /* libvirt calls this from its event dispatch, with the connection still
     * in use: tear down from an idle callback instead, which holds @lv (the
     * connection of an attempt that momd stopped waiting for may close
     * after mom_libvirt_free()). */
    g_idle_add_full(G_PRIORITY_DEFAULT_IDLE, on_lost, mom_libvirt_ref(opaque),
                    (GDestroyNotify)mom_libvirt_unref);
}

static int
on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
    MomLibvirt *lv = opaque;
    char uuid[VIR_UUID_STRING_BUFLEN];

    if (lv->cb.lifecycle && virDomainGetUUIDString(dom, uuid) == 0)
        lv->cb.lifecycle(uuid, event, lv->user_data);
    return 0;
}

/* Only momd's and oVirt's tuning namespaces matter: vdsm rewrites its own
 * (http://ovirt.org/vm/1.0) often, and each change would cost an XML read. */
static void
on_metadata(virConnectPtr conn, virDomainPtr dom, int type, const char *nsuri, void *opaque)
{
    MomLibvirt *lv = opaque;
    char uuid[VIR_UUID_STRING_BUFLEN];

    if (type != VIR_DOMAIN_METADATA_ELEMENT ||
        (nsuri && strcmp(nsuri, MOM_TUNE_NS) != 0 && strcmp(nsuri, MOM_OVIRT_TUNE_NS) != 0))
        return;
    if (virDomainGetUUIDString(dom, uuid) < 0)
        return;
    const char *name = virDomainGetName(dom);
    g_debug("The tuning metadata of %s changed; it is read again.", name);
    mark_stale(lv, STALE_XML, uuid);
    if (lv->cb.metadata_changed)
        lv->cb.metadata_changed(uuid, lv->user_data);
}

/* Someone (CpuTune, virsh schedinfo, vdsm) changed the domain's tunables:
 * read the scheduler parameters again at the next collection; a change of
 * vCPU pinning may come with a vCPU hot-plug, so the XML too. */
static void
on_tunable(virConnectPtr conn, virDomainPtr dom, virTypedParameterPtr params, int nparams,
           void *opaque)
{
    MomLibvirt *lv = opaque;
    char uuid[VIR_UUID_STRING_BUFLEN];
    gboolean sched = FALSE, pin = FALSE, io = FALSE;

    for (int i = 0; i < nparams; i++) {
        sched |= g_str_has_prefix(params[i].field, "cputune.vcpu_");
        pin |= g_str_has_prefix(params[i].field, "cputune.vcpupin");
        io |= g_str_has_prefix(params[i].field, "blkdeviotune.");
    }
    if ((!sched && !pin && !io) || virDomainGetUUIDString(dom, uuid) < 0)
        return;
    mark_stale(lv, (sched ? STALE_SCHED : 0) | (pin ? STALE_XML : 0) | (io ? STALE_IO : 0), uuid);
}

/* A device came or went (a disk, a memory module): the XML-derived part of
 * the guest (its disks, for IoTune; its maximum memory, where the bulk call
 * does not give it) is read again at the next collection. */
static void
on_device(virConnectPtr conn, virDomainPtr dom, const char *alias, void *opaque)
{
    MomLibvirt *lv = opaque;
    char uuid[VIR_UUID_STRING_BUFLEN];

    if (virDomainGetUUIDString(dom, uuid) == 0)
        mark_stale(lv, STALE_XML | STALE_IO, uuid);
}

/* The events momd asks for, and what it does without each (logged at
 * @level when a driver does not send it). */
static const struct {
    int id;
    const char *name;
    virConnectDomainEventGenericCallback callback;
    GLogLevelFlags level;
    const char *without;
} events[] = {
    {VIR_DOMAIN_EVENT_ID_LIFECYCLE, "lifecycle", VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle),
     G_LOG_LEVEL_MESSAGE, "guests are found by polling"},
    {VIR_DOMAIN_EVENT_ID_METADATA_CHANGE, "metadata-change", VIR_DOMAIN_EVENT_CALLBACK(on_metadata),
     G_LOG_LEVEL_MESSAGE, "tuning metadata is read again only when a guest restarts"},
    {VIR_DOMAIN_EVENT_ID_TUNABLE, "tunable", VIR_DOMAIN_EVENT_CALLBACK(on_tunable),
     G_LOG_LEVEL_DEBUG, "scheduler parameters changed by others are read when a guest restarts"},
    {VIR_DOMAIN_EVENT_ID_DEVICE_ADDED, "device-added", VIR_DOMAIN_EVENT_CALLBACK(on_device),
     G_LOG_LEVEL_DEBUG, "a hot-plugged device is seen when the guest restarts"},
    {VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED, "device-removed", VIR_DOMAIN_EVENT_CALLBACK(on_device),
     G_LOG_LEVEL_DEBUG, "a hot-unplugged device is seen when the guest restarts"},
};
G_STATIC_ASSERT(G_N_ELEMENTS(events) == N_EVENTS);

/* One connection attempt: made in a worker for a reconnect, since a
 * libvirtd that accepts the socket but does not answer (stopped, or stuck)
 * holds virConnectOpen for seconds, and the main loop serves the control
 * API and the host in the meantime. */
typedef struct {
    virConnectPtr conn; /* NULL when the attempt failed */
    char *why;          /* why it failed */
    int event_ids[N_EVENTS];
} Attempt;

static void
attempt_free(Attempt *a)
{
    if (a->conn) {
        /* not installed (momd stopped meanwhile): undo what open_attempt did */
        virConnectUnregisterCloseCallback(a->conn, on_close);
        deregister_events(a->conn, a->event_ids);
        virConnectClose(a->conn);
    }
    g_free(a->why);
    g_free(a);
}

/* Opens the connection and registers momd's callbacks on it; any thread. */
static Attempt *
open_attempt(MomLibvirt *lv)
{
    Attempt *a = g_new0(Attempt, 1);
    virConnectPtr c = virConnectOpen(lv->uri && *lv->uri ? lv->uri : NULL);

    for (guint i = 0; i < N_EVENTS; i++)
        a->event_ids[i] = -1;
    if (!c) {
        a->why = mom_libvirt_take_error(NULL);
        return a;
    }
    if (virConnectSetKeepAlive(c, KEEPALIVE_INTERVAL, KEEPALIVE_COUNT) < 0) {
        g_autofree char *why = mom_libvirt_take_error(NULL);
        g_debug("libvirt keepalive is not available on %s: %s", uri_name(lv), why);
    }
    virConnectRegisterCloseCallback(c, on_close, lv, NULL);
    for (guint i = 0; i < N_EVENTS; i++) {
        a->event_ids[i] =
            virConnectDomainEventRegisterAny(c, NULL, events[i].id, events[i].callback, lv, NULL);
        if (a->event_ids[i] < 0) {
            g_autofree char *why = mom_libvirt_take_error(NULL);
            g_log(G_LOG_DOMAIN, events[i].level, "libvirt at %s sends no %s events (%s); %s.",
                  uri_name(lv), events[i].name, why, events[i].without);
        }
    }
    a->conn = c;
    return a;
}

/* Makes @a's connection momd's, or says (once per outage) that there is
 * none and tries again later; main context. */
static void
install_attempt(MomLibvirt *lv, Attempt *a)
{
    if (a->conn && virConnectIsAlive(a->conn) != 1) {
        /* closed before it was ours: its close callback found nothing to
         * tear down, and would not come again; attempt_free() undoes it */
        g_free(a->why);
        a->why = g_strdup("the connection closed as soon as it was made");
    }
    if (a->why) { /* set exactly when the attempt failed */
        if (!lv->said_down) {
            g_warning("No libvirt answers at %s (%s); momd manages the host only and connects as "
                      "soon as libvirt is there.",
                      uri_name(lv), a->why);
            lv->said_down = TRUE;
        }
        schedule_retry(lv);
        return;
    }
    g_mutex_lock(&lv->lock);
    lv->conn = g_steal_pointer(&a->conn);
    memcpy(lv->event_ids, a->event_ids, sizeof(lv->event_ids));
    lv->generation++;
    g_mutex_unlock(&lv->lock);
    lv->backoff = 0;
    lv->said_down = FALSE;
    if (lv->lost_at)
        g_message("Reconnected to libvirt at %s after %.0f s.", uri_name(lv),
                  (g_get_monotonic_time() - lv->lost_at) / 1e6);
    else
        g_message("Connected to libvirt at %s.", uri_name(lv));
    lv->lost_at = 0;
    if (lv->cb.connected)
        lv->cb.connected(lv->user_data);
}

static void
attempt_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancel)
{
    g_task_return_pointer(task, open_attempt(data), (GDestroyNotify)attempt_free);
}

static void
attempt_done(GObject *source, GAsyncResult *res, gpointer user_data)
{
    MomLibvirt *lv = user_data; /* alive: the task holds a reference */
    /* NULL when mom_libvirt_free() cancelled it: GTask then frees the
     * attempt with attempt_free(), which undoes it */
    Attempt *a = g_task_propagate_pointer(G_TASK(res), NULL);

    if (!a)
        return;
    g_clear_object(&lv->connecting);
    install_attempt(lv, a);
    attempt_free(a);
}

static gboolean
try_connect(gpointer data)
{
    MomLibvirt *lv = data;

    lv->retry_source = 0;
    if (lv->connecting)
        return G_SOURCE_REMOVE;
    lv->connecting = g_cancellable_new();
    g_autoptr(GTask) task = g_task_new(NULL, lv->connecting, attempt_done, lv);
    g_task_set_task_data(task, mom_libvirt_ref(lv), (GDestroyNotify)mom_libvirt_unref);
    g_task_run_in_thread(task, attempt_thread);
    return G_SOURCE_REMOVE;
}

void
mom_libvirt_start(MomLibvirt *lv)
{
    /* The first attempt is made here and now, so that momd starts with the
     * guests of a libvirt that is there; only reconnects run in a worker. */
    Attempt *a = open_attempt(lv);

    install_attempt(lv, a);
    attempt_free(a);
}

/* ---- domain XML ------------------------------------------------------------------- */

/* min_guarantee may carry a unit; libvirt's live XML writes KiB. */
static gint64
parse_kib(const char *value, const char *unit)
{
    gint64 v = g_ascii_strtoll(value, NULL, 10);

    if (!unit || g_ascii_strcasecmp(unit, "KiB") == 0 || g_ascii_strcasecmp(unit, "k") == 0)
        return v;
    if (g_ascii_strcasecmp(unit, "MiB") == 0 || g_ascii_strcasecmp(unit, "M") == 0)
        return v * 1024;
    if (g_ascii_strcasecmp(unit, "GiB") == 0 || g_ascii_strcasecmp(unit, "G") == 0)
        return v * 1024 * 1024;
    if (g_ascii_strcasecmp(unit, "b") == 0 || g_ascii_strcasecmp(unit, "bytes") == 0)
        return v / 1024;
    return v;
}

/* ---- tuning metadata (docs/metadata.md) ------------------------------------------ */

/* The element names of one I/O limit: oVirt's (vdsm's VmDiskDeviceTuneLimits
 * keys, written as child elements) and momd's (attributes), by MomIoTuneKey. */
static const struct {
    const char *ovirt;
    const char *momd;
} io_keys[MOM_IO_N_KEYS] = {
    [MOM_IO_TOTAL_BYTES_SEC] = {"total_bytes_sec", "total-bytes-sec"},
    [MOM_IO_READ_BYTES_SEC] = {"read_bytes_sec", "read-bytes-sec"},
    [MOM_IO_WRITE_BYTES_SEC] = {"write_bytes_sec", "write-bytes-sec"},
    [MOM_IO_TOTAL_IOPS_SEC] = {"total_iops_sec", "total-iops-sec"},
    [MOM_IO_READ_IOPS_SEC] = {"read_iops_sec", "read-iops-sec"},
    [MOM_IO_WRITE_IOPS_SEC] = {"write_iops_sec", "write-iops-sec"},
};

/* What one XML read collects before it lands in MomDomainInfo. */
typedef struct {
    const char *domain; /* for the warnings */
    GPtrArray *warnings;
    gboolean have_limit;
    double limit;
    gint64 balloon_min;
    gint64 weight;
    GArray *io; /* MomIoTunePolicy */
} Tune;

static void
io_policy_clear(gpointer p)
{
    MomIoTunePolicy *io = p;
    g_free(io->name);
    g_free(io->path);
}

static gboolean
is_element(xmlNodePtr n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

/* libvirt puts the namespace on the root of a metadata element; its
 * children carry it too, or none when they were written unqualified
 * (virsh metadata --set '<tune><vcpu/></tune>' on older libvirt). */
static gboolean
in_ns(xmlNodePtr n, const char *uri)
{
    return n->ns == NULL || (n->ns->href && strcmp((const char *)n->ns->href, uri) == 0);
}

static char *
text_of(xmlNodePtr n)
{
    xmlChar *x = xmlNodeGetContent(n);
    char *out = g_strstrip(g_strdup(x ? (const char *)x : ""));
    xmlFree(x);
    return out;
}

static char *
attr_of(xmlNodePtr n, const char *name)
{
    xmlChar *x = xmlGetNoNsProp(n, (const xmlChar *)name);
    char *out = x ? g_strstrip(g_strdup((const char *)x)) : NULL;
    xmlFree(x);
    return out;
}

static void G_GNUC_PRINTF(2, 3) tune_warn(Tune *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (t->warnings)
        g_ptr_array_add(t->warnings, g_strdup_printf("Guest %s: %s", t->domain, msg));
}

/* A whole decimal number in [min, max]; FALSE (and a warning) otherwise. */
static gboolean
tune_int(Tune *t, const char *what, const char *text, gint64 min, gint64 max, gint64 *out)
{
    gint64 v;

    if (!g_ascii_string_to_signed(text, 10, min, max, &v, NULL)) {
        tune_warn(t,
                  "ignoring %s = '%s' in the tuning metadata: it must be a whole number from "
                  "%" G_GINT64_FORMAT " to %" G_GINT64_FORMAT ".",
                  what, text, min, max);
        return FALSE;
    }
    *out = v;
    return TRUE;
}

/* vcpu_user_limit: a percentage of the host's CPUs, 0 < limit <= 100. */
static void
tune_limit(Tune *t, const char *what, const char *text)
{
    char *end = NULL;
    double v = g_ascii_strtod(text, &end);

    if (!*text || *end || !isfinite(v) || v <= 0 || v > 100) {
        tune_warn(t,
                  "ignoring %s = '%s' in the tuning metadata: it must be a number above 0 and at "
                  "most 100 (percent); 100 is used.",
                  what, text);
        return;
    }
    t->limit = v;
    t->have_limit = TRUE;
}

static MomIoTunePolicy *
io_entry(Tune *t, const char *name, const char *path)
{
    /* momd's entry for a disk replaces oVirt's for the same disk */
    for (guint i = 0; i < t->io->len; i++) {
        MomIoTunePolicy *io = &g_array_index(t->io, MomIoTunePolicy, i);
        if ((name && g_strcmp0(io->name, name) == 0) ||
            (!name && path && g_strcmp0(io->path, path) == 0)) {
            io_policy_clear(io);
            g_array_remove_index(t->io, i);
            break;
        }
    }
    MomIoTunePolicy io = {g_strdup(name), g_strdup(path), {0}, {0}};
    for (guint k = 0; k < MOM_IO_N_KEYS; k++)
        io.guaranteed[k] = io.maximum[k] = -1;
    g_array_append_val(t->io, io);
    return &g_array_index(t->io, MomIoTunePolicy, t->io->len - 1);
}

/*
 * oVirt (vdsm's layout):
 *   <ovirt-tune:qos xmlns:ovirt-tune="http://ovirt.org/vm/tune/1.0">
 *     <ovirt-tune:vcpuLimit>50</ovirt-tune:vcpuLimit>
 *     <ovirt-tune:ioTune>
 *       <ovirt-tune:device name="vda" path="/rhev/...">
 *         <ovirt-tune:guaranteed><ovirt-tune:total_bytes_sec>N</..>...</..>
 *         <ovirt-tune:maximum>...</ovirt-tune:maximum>
 */
static void
parse_ovirt(Tune *t, xmlNodePtr qos)
{
    for (xmlNodePtr c = qos->children; c; c = c->next) {
        if (!in_ns(c, MOM_OVIRT_TUNE_NS))
            continue;
        if (is_element(c, "vcpuLimit")) {
            g_autofree char *v = text_of(c);
            tune_limit(t, "vcpuLimit", v);
        } else if (is_element(c, "ioTune")) {
            for (xmlNodePtr d = c->children; d; d = d->next) {
                if (!is_element(d, "device") || !in_ns(d, MOM_OVIRT_TUNE_NS))
                    continue;
                g_autofree char *name = attr_of(d, "name");
                g_autofree char *path = attr_of(d, "path");
                MomIoTunePolicy *io = io_entry(t, name, path);
                for (xmlNodePtr l = d->children; l; l = l->next) {
                    gint64 *vals = is_element(l, "guaranteed") ? io->guaranteed
                                   : is_element(l, "maximum")  ? io->maximum
                                                               : NULL;
                    if (!vals || !in_ns(l, MOM_OVIRT_TUNE_NS))
                        continue;
                    for (xmlNodePtr v = l->children; v; v = v->next)
                        for (guint k = 0; k < MOM_IO_N_KEYS; k++)
                            if (is_element(v, io_keys[k].ovirt)) {
                                g_autofree char *text = text_of(v);
                                g_autofree char *what = g_strdup_printf("ioTune %s %s %s",
                                                                        name   ? name
                                                                        : path ? path
                                                                               : "?",
                                                                        l->name, io_keys[k].ovirt);
                                tune_int(t, what, text, 0, G_MAXINT64, &vals[k]);
                            }
                }
            }
        }
    }
}

/*
 * momd's own (docs/metadata.md):
 *   <momd:tune xmlns:momd="urn:momd:tune:1">
 *     <momd:balloon min-kib="1048576" weight="200"/>
 *     <momd:vcpu limit="50"/>
 *     <momd:io device="vda" path="...">
 *       <momd:guaranteed total-bytes-sec="..." .../>
 *       <momd:maximum .../>
 *     </momd:io>
 *   </momd:tune>
 */
static void
parse_momd(Tune *t, xmlNodePtr tune)
{
    for (xmlNodePtr c = tune->children; c; c = c->next) {
        if (!in_ns(c, MOM_TUNE_NS))
            continue;
        if (is_element(c, "balloon")) {
            g_autofree char *min = attr_of(c, "min-kib");
            g_autofree char *weight = attr_of(c, "weight");
            if (min)
                tune_int(t, "balloon min-kib", min, 0, G_MAXINT64, &t->balloon_min);
            if (weight)
                tune_int(t, "balloon weight", weight, 1, 1000000, &t->weight);
        } else if (is_element(c, "vcpu")) {
            g_autofree char *limit = attr_of(c, "limit");
            if (limit)
                tune_limit(t, "vcpu limit", limit);
        } else if (is_element(c, "io")) {
            g_autofree char *name = attr_of(c, "device");
            g_autofree char *path = attr_of(c, "path");
            if (!name && !path) {
                tune_warn(
                    t, "ignoring an <io> element of the tuning metadata without device or path.");
                continue;
            }
            MomIoTunePolicy *io = io_entry(t, name, path);
            for (xmlNodePtr l = c->children; l; l = l->next) {
                gint64 *vals = is_element(l, "guaranteed") ? io->guaranteed
                               : is_element(l, "maximum")  ? io->maximum
                                                           : NULL;
                if (!vals || !in_ns(l, MOM_TUNE_NS))
                    continue;
                for (guint k = 0; k < MOM_IO_N_KEYS; k++) {
                    g_autofree char *v = attr_of(l, io_keys[k].momd);
                    g_autofree char *what = g_strdup_printf("io %s %s %s", name ? name : path,
                                                            l->name, io_keys[k].momd);
                    if (v)
                        tune_int(t, what, v, 0, G_MAXINT64, &vals[k]);
                }
            }
        }
    }
}

static void
tune_clear(MomDomainInfo *info)
{
    for (guint i = 0; i < info->n_io_tune; i++)
        io_policy_clear(&info->io_tune[i]);
    g_clear_pointer(&info->io_tune, g_free);
    info->n_io_tune = 0;
}

void
mom_libvirt_tune_defaults(MomDomainInfo *info)
{
    tune_clear(info);
    info->tune.vcpu_count = -1;
    info->tune.vcpu_user_limit = 100;
    info->tune.balloon_weight = -1;
}

/* ---- block I/O tune (IoTune) ------------------------------------------------------ */

/* libvirt's typed parameter of each MomIoTuneKey */
static const char *const io_params[MOM_IO_N_KEYS] = {
    [MOM_IO_TOTAL_BYTES_SEC] = VIR_DOMAIN_BLOCK_IOTUNE_TOTAL_BYTES_SEC,
    [MOM_IO_READ_BYTES_SEC] = VIR_DOMAIN_BLOCK_IOTUNE_READ_BYTES_SEC,
    [MOM_IO_WRITE_BYTES_SEC] = VIR_DOMAIN_BLOCK_IOTUNE_WRITE_BYTES_SEC,
    [MOM_IO_TOTAL_IOPS_SEC] = VIR_DOMAIN_BLOCK_IOTUNE_TOTAL_IOPS_SEC,
    [MOM_IO_READ_IOPS_SEC] = VIR_DOMAIN_BLOCK_IOTUNE_READ_IOPS_SEC,
    [MOM_IO_WRITE_IOPS_SEC] = VIR_DOMAIN_BLOCK_IOTUNE_WRITE_IOPS_SEC,
};
/* Parameters asked for in one virDomainGetBlockIoTune call: QEMU has 19,
 * the remote protocol allows 32. */
#define IOTUNE_PARAMS_MAX 32

static void
io_disks_clear(MomDomainInfo *info)
{
    for (guint i = 0; i < info->n_io_disks; i++) {
        g_free(info->io_disks[i].name);
        g_free(info->io_disks[i].path);
    }
    g_clear_pointer(&info->io_disks, g_free);
    info->n_io_disks = 0;
    info->io_known = FALSE;
    info->io_failures = 0;
}

/* The disks a block I/O limit can apply to:
 *   <devices><disk ...><source file='/img' | dev='/dev/sdb'/><target dev='vda'/>
 * A disk without a source (an empty CD-ROM drive) has nothing to throttle.
 * The limits are unknown until read_iotune(). */
static void
io_disks_parse(xmlXPathContextPtr ctx, MomDomainInfo *info)
{
    xmlXPathObjectPtr obj =
        xmlXPathEvalExpression((const xmlChar *)"/domain/devices/disk[target/@dev]", ctx);
    GArray *disks = g_array_new(FALSE, TRUE, sizeof(MomIoTuneDisk));

    io_disks_clear(info);
    for (int i = 0; obj && obj->nodesetval && i < obj->nodesetval->nodeNr; i++) {
        g_autofree char *name = NULL, *path = NULL;
        for (xmlNodePtr c = obj->nodesetval->nodeTab[i]->children; c; c = c->next) {
            if (is_element(c, "target") && !name)
                name = attr_of(c, "dev");
            else if (is_element(c, "source") && !path) {
                path = attr_of(c, "file");
                if (!path)
                    path = attr_of(c, "dev");
            }
        }
        if (!name || !*name || !path || !*path)
            continue;
        MomIoTuneDisk d = {g_steal_pointer(&name), g_steal_pointer(&path), {0}};
        g_array_append_val(disks, d);
    }
    xmlXPathFreeObject(obj);
    info->n_io_disks = disks->len;
    info->io_disks = (MomIoTuneDisk *)(void *)g_array_free(disks, disks->len == 0);
}

static char *
xpath_string(xmlXPathContextPtr ctx, const char *expr)
{
    xmlXPathObjectPtr obj = xmlXPathEvalExpression((const xmlChar *)expr, ctx);
    char *out = NULL;

    if (obj && obj->type == XPATH_STRING && obj->stringval && *obj->stringval)
        out = g_strdup((const char *)obj->stringval);
    xmlXPathFreeObject(obj);
    return out;
}

gboolean
mom_libvirt_parse_domain_xml(const char *xml, MomDomainInfo *info, GPtrArray *warnings)
{
    xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "domain.xml", NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc)
        return FALSE;
    xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
    g_autofree char *name = xpath_string(ctx, "string(/domain/name)");
    g_autofree char *mem = xpath_string(ctx, "string(/domain/memory)");
    g_autofree char *mem_unit = xpath_string(ctx, "string(/domain/memory/@unit)");
    g_autofree char *min = xpath_string(ctx, "string(/domain/memtune/min_guarantee)");
    g_autofree char *unit = xpath_string(ctx, "string(/domain/memtune/min_guarantee/@unit)");
    g_autofree char *model = xpath_string(ctx, "string(/domain/devices/memballoon/@model)");
    g_autofree char *period = xpath_string(ctx, "string(/domain/devices/memballoon/stats/@period)");
    g_autofree char *vcpus = xpath_string(ctx, "string(/domain/vcpu)");
    g_autofree char *vcpu_cur = xpath_string(ctx, "string(/domain/vcpu/@current)");
    xmlXPathObjectPtr nsp =
        xmlXPathEvalExpression((const xmlChar *)"count(/domain/memoryBacking/nosharepages)", ctx);

    info->tune.balloon_min = min ? parse_kib(min, unit) : 0;
    info->max_memory = mem ? parse_kib(mem, mem_unit) : -1;
    if (info->max_memory <= 0)
        info->max_memory = -1;
    info->has_balloon = model && strcmp(model, "none") != 0;
    info->stats_period = period && g_ascii_strtoll(period, NULL, 10) > 0;
    info->tune.nosharepages = nsp && nsp->type == XPATH_NUMBER && nsp->floatval > 0;
    xmlXPathFreeObject(nsp);
    io_disks_parse(ctx, info);
    xmlXPathFreeContext(ctx);

    mom_libvirt_tune_defaults(info);
    const char *nv = vcpu_cur ? vcpu_cur : vcpus;
    gint64 n;
    if (nv && g_ascii_string_to_signed(g_strstrip((char *)nv), 10, 1, G_MAXINT, &n, NULL))
        info->tune.vcpu_count = n;

    Tune t = {name ? name : "?", warnings, FALSE, 100, 0, -1, NULL};
    t.io = g_array_new(FALSE, TRUE, sizeof(MomIoTunePolicy));
    xmlNodePtr root = xmlDocGetRootElement(doc);
    xmlNodePtr ovirt = NULL, momd = NULL;
    for (xmlNodePtr m = root ? root->children : NULL; m; m = m->next) {
        if (!is_element(m, "metadata") || m->ns)
            continue;
        for (xmlNodePtr e = m->children; e; e = e->next) {
            if (e->type != XML_ELEMENT_NODE || !e->ns || !e->ns->href)
                continue;
            if (!ovirt && is_element(e, "qos") &&
                strcmp((const char *)e->ns->href, MOM_OVIRT_TUNE_NS) == 0)
                ovirt = e;
            else if (!momd && is_element(e, "tune") &&
                     strcmp((const char *)e->ns->href, MOM_TUNE_NS) == 0)
                momd = e;
        }
    }
    /* oVirt's first, so that momd's own settings win where both give one */
    if (ovirt)
        parse_ovirt(&t, ovirt);
    if (momd)
        parse_momd(&t, momd);
    if (t.have_limit)
        info->tune.vcpu_user_limit = t.limit;
    info->tune.balloon_weight = t.weight;
    /* the metadata can only raise the guarantee the host already gives */
    info->tune.balloon_min = MAX(info->tune.balloon_min, t.balloon_min);
    info->n_io_tune = t.io->len;
    info->io_tune = info->n_io_tune ? (MomIoTunePolicy *)(void *)g_array_free(t.io, FALSE) : NULL;
    if (!info->io_tune)
        g_array_free(t.io, TRUE);
    info->have_xml = TRUE;
    xmlFreeDoc(doc);
    return TRUE;
}

/* Fills the XML-derived part of @info from @dom's live definition. */
static void
read_xml(MomLibvirt *lv, virDomainPtr dom, MomDomainInfo *info)
{
    char *xml = virDomainGetXMLDesc(dom, 0);
    g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func(g_free);

    /* an old maximum is not trusted past a read that failed: the event
     * that asked for it is used up (fill_per_domain() asks libvirt) */
    info->max_memory = -1;
    if (!xml) {
        virResetLastError();
        return;
    }
    gboolean ok = mom_libvirt_parse_domain_xml(xml, info, warnings);
    free(xml); /* libvirt's allocation */
    if (ok)
        info->xml_serial = (guint)g_atomic_int_add(&lv->xml_serial, 1) + 1;
    for (guint i = 0; i < warnings->len; i++)
        g_log_structured(G_LOG_DOMAIN, G_LOG_LEVEL_WARNING, "MOM_GUEST", info->name, "MESSAGE",
                         "%s", (const char *)warnings->pdata[i]);
}

GLogLevelFlags
mom_libvirt_read_fault(guint failures, gboolean gone)
{
    if (gone || failures != MOM_LIBVIRT_READ_TRIES)
        return G_LOG_LEVEL_DEBUG;
    return G_LOG_LEVEL_WARNING;
}

/* Counts a failed read of @what of @info in @failures and logs it as
 * mom_libvirt_read_fault() says. */
static void
read_failed(MomDomainInfo *info, guint *failures, gboolean gone, const char *what, const char *why)
{
    if (*failures < G_MAXUINT)
        (*failures)++;
    if (mom_libvirt_read_fault(*failures, gone) == G_LOG_LEVEL_WARNING)
        g_log_structured(G_LOG_DOMAIN, G_LOG_LEVEL_WARNING, "MOM_GUEST", info->name, "MESSAGE",
                         "Cannot read %s of guest %s (%u tries in a row): %s; momd tries again "
                         "when libvirt reports a change of the guest.",
                         what, info->name, *failures, why);
    else
        g_log_structured(G_LOG_DOMAIN, G_LOG_LEVEL_DEBUG, "MOM_GUEST", info->name, "MESSAGE",
                         "Cannot read %s of guest %s (try %u): %s.", what, info->name, *failures,
                         why);
}

/* A read of @what of @info worked: says so once if its failure was a
 * warning. */
static void
read_recovered(MomDomainInfo *info, guint *failures, const char *what)
{
    if (*failures >= MOM_LIBVIRT_READ_TRIES)
        g_log_structured(G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "MOM_GUEST", info->name, "MESSAGE",
                         "momd can read %s of guest %s again.", what, info->name);
    *failures = 0;
}

/* The domain's vcpu_quota and vcpu_period (0 when the driver has none, as
 * MOM reports them).  One call, made only when asked for: see
 * mom_libvirt_collect(). */
static void
read_sched(virDomainPtr dom, MomDomainInfo *info)
{
    virTypedParameter params[SCHED_PARAMS_MAX];
    int n = SCHED_PARAMS_MAX;

    memset(params, 0, sizeof(params));
    /* CURRENT is the live state for the running domains collected here.
     * libvirt's test driver refuses the typed-string flag the library adds
     * to the Flags call; its legacy call works. */
    int code = VIR_ERR_OK;
    int rc = virDomainGetSchedulerParametersFlags(dom, params, &n, VIR_DOMAIN_AFFECT_CURRENT);
    g_autofree char *why = rc < 0 ? mom_libvirt_take_error(&code) : NULL;
    if (rc < 0 && code == VIR_ERR_INVALID_ARG) {
        n = SCHED_PARAMS_MAX;
        rc = virDomainGetSchedulerParameters(dom, params, &n);
        g_free(why);
        why = rc < 0 ? mom_libvirt_take_error(&code) : NULL;
    }
    if (rc < 0) {
        read_failed(info, &info->sched_failures, mom_libvirt_went_away(dom, code),
                    "the scheduler parameters", why);
        info->tune.sched_known = FALSE;
        return;
    }
    read_recovered(info, &info->sched_failures, "the scheduler parameters");
    info->tune.vcpu_quota = info->tune.vcpu_period = 0;
    for (int i = 0; i < n; i++) {
        gint64 v;
        if (params[i].type == VIR_TYPED_PARAM_LLONG)
            v = params[i].value.l;
        else if (params[i].type == VIR_TYPED_PARAM_ULLONG)
            v = (gint64)MIN(params[i].value.ul, (unsigned long long)G_MAXINT64);
        else
            continue;
        if (strcmp(params[i].field, VIR_DOMAIN_SCHEDULER_VCPU_QUOTA) == 0)
            info->tune.vcpu_quota = v < 0 || v >= QUOTA_UNLIMITED_V2 ? -1 : v;
        else if (strcmp(params[i].field, VIR_DOMAIN_SCHEDULER_VCPU_PERIOD) == 0)
            info->tune.vcpu_period = v;
    }
    virTypedParamsClear(params, n);
    info->tune.sched_known = TRUE;
}

/* The current limits of each disk of @info, one call per disk (LIVE),
 * made only for guests with I/O metadata and only when asked for: see
 * mom_libvirt_collect(). */
static void
read_iotune(virDomainPtr dom, MomDomainInfo *info, guint *calls)
{
    for (guint i = 0; i < info->n_io_disks; i++) {
        MomIoTuneDisk *d = &info->io_disks[i];
        virTypedParameter params[IOTUNE_PARAMS_MAX];
        int n = IOTUNE_PARAMS_MAX;

        memset(params, 0, sizeof(params));
        (*calls)++;
        if (virDomainGetBlockIoTune(dom, d->name, params, &n, VIR_DOMAIN_AFFECT_LIVE) < 0) {
            int code;
            g_autofree char *why = mom_libvirt_take_error(&code);
            g_autofree char *what = g_strdup_printf("the I/O limits of disk %s", d->name);
            read_failed(info, &info->io_failures, mom_libvirt_went_away(dom, code), what, why);
            info->io_known = FALSE;
            return;
        }
        for (guint k = 0; k < MOM_IO_N_KEYS; k++) {
            unsigned long long v = 0;
            d->current[k] = virTypedParamsGetULLong(params, n, io_params[k], &v) == 1
                                ? (gint64)MIN(v, (unsigned long long)G_MAXINT64)
                                : 0;
        }
        virTypedParamsClear(params, n);
    }
    read_recovered(info, &info->io_failures, "the I/O limits");
    info->io_known = TRUE;
}

/* ---- the QEMU pid ------------------------------------------------------------ */

/* libvirt has no API for a domain's QEMU pid.  Its QEMU driver writes
 * RUNDIR/NAME.pid, where RUNDIR depends on the daemon (system or session,
 * its socket's directory), and starts QEMU with "-uuid UUID".  A pid is
 * taken only from a process whose command line carries the domain's UUID:
 * a pid file of another libvirtd's guest of the same name, or a stale one
 * whose pid was reused, then does not count. */

/* A URI whose QEMU processes are on another host (qemu+ssh://far/system). */
static gboolean
uri_is_remote(const char *uri)
{
    g_autoptr(GUri) u = uri ? g_uri_parse(uri, G_URI_FLAGS_NONE, NULL) : NULL;
    const char *host = u ? g_uri_get_host(u) : NULL;

    return host && *host && g_ascii_strcasecmp(host, "localhost") != 0;
}

char *
mom_libvirt_run_dir_for_uri(const char *uri)
{
    g_autoptr(GUri) u = uri ? g_uri_parse(uri, G_URI_FLAGS_NONE, NULL) : NULL;
    g_autoptr(GHashTable) params = NULL;
    const char *scheme, *path, *query, *socket = NULL;
    gboolean session;

    if (!u)
        return NULL;
    scheme = g_uri_get_scheme(u);
    path = g_uri_get_path(u);
    query = g_uri_get_query(u);
    if (g_ascii_strcasecmp(scheme, "qemu") != 0 && g_ascii_strcasecmp(scheme, "qemu+unix") != 0)
        return NULL;
    if (uri_is_remote(uri))
        return NULL;
    if (strcmp(path, "/system") == 0)
        session = FALSE;
    else if (strcmp(path, "/session") == 0)
        session = TRUE;
    else
        return NULL;
    if (query)
        params = g_uri_parse_params(query, -1, "&", G_URI_PARAMS_NONE, NULL);
    if (params)
        socket = g_hash_table_lookup(params, "socket");
    /* The daemon's socket and its run directory share a parent:
     * /run/libvirt/libvirt-sock and /run/libvirt/qemu for the system
     * daemon, $XDG_RUNTIME_DIR/libvirt/libvirt-sock and .../qemu/run for
     * a session daemon. */
    if (socket && *socket) {
        g_autofree char *parent = g_path_get_dirname(socket);

        return g_build_filename(parent, "qemu", session ? "run" : NULL, NULL);
    }
    if (!session)
        return g_strdup("/run/libvirt/qemu");
    /* libvirt's virGetUserRuntimeDirectory(): ~/.cache without XDG_RUNTIME_DIR */
    const char *runtime = g_getenv("XDG_RUNTIME_DIR");

    return g_build_filename(runtime && *runtime ? runtime : g_get_user_cache_dir(), "libvirt",
                            "qemu", "run", NULL);
}

/* The argument after "-uuid" on the command line of process @pid, or NULL. */
static char *
process_uuid(const char *proc_root, const char *pid)
{
    g_autofree char *path = g_build_filename(proc_root, pid, "cmdline", NULL);
    g_autofree char *text = NULL;
    gsize len = 0;

    if (!g_file_get_contents(path, &text, &len, NULL))
        return NULL;
    /* NUL-separated arguments; g_file_get_contents adds a final NUL */
    for (const char *arg = text; arg < text + len; arg += strlen(arg) + 1) {
        const char *next = arg + strlen(arg) + 1;

        if ((strcmp(arg, "-uuid") == 0 || strcmp(arg, "--uuid") == 0) && next < text + len)
            return g_ascii_strdown(next, -1);
    }
    return NULL;
}

static gboolean
process_has_uuid(const char *proc_root, gint64 pid, const char *uuid)
{
    g_autofree char *name = g_strdup_printf("%" G_GINT64_FORMAT, pid);
    g_autofree char *found = process_uuid(proc_root, name);

    return found && g_ascii_strcasecmp(found, uuid) == 0;
}

gint64
mom_libvirt_pid_from_file(const char *proc_root, const char *run_dir, const char *name,
                          const char *uuid)
{
    g_autofree char *file = g_strdup_printf("%s.pid", name);
    g_autofree char *path = g_build_filename(run_dir, file, NULL);
    g_autofree char *text = NULL;
    gint64 pid;

    if (!g_file_get_contents(path, &text, NULL, NULL))
        return -1;
    if (!g_ascii_string_to_signed(g_strstrip(text), 10, 1, G_MAXINT32, &pid, NULL))
        return -1;
    return process_has_uuid(proc_root, pid, uuid) ? pid : -1;
}

GHashTable *
mom_libvirt_pids_by_uuid(const char *proc_root)
{
    GHashTable *pids = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_autoptr(GDir) dir = g_dir_open(proc_root, 0, NULL);
    const char *entry;

    while (dir && (entry = g_dir_read_name(dir))) {
        gint64 pid;
        char *uuid;

        if (!g_ascii_string_to_signed(entry, 10, 1, G_MAXINT32, &pid, NULL))
            continue;
        uuid = process_uuid(proc_root, entry);
        if (!uuid)
            continue;
        /* two processes with one UUID: the older one, a child of QEMU's
         * own would come later (readdir order is not pid order) */
        gpointer old = g_hash_table_lookup(pids, uuid);
        if (old && GPOINTER_TO_SIZE(old) < (gsize)pid)
            g_free(uuid);
        else
            g_hash_table_replace(pids, uuid, GSIZE_TO_POINTER((gsize)pid));
    }
    return pids;
}

/* Where one collection looks for the QEMU pids of the domains it sees for
 * the first time; the directory and the process list only when needed. */
typedef struct {
    MomLibvirt *lv;
    virConnectPtr conn;
    gboolean derived; /* @uri_dir and @remote were worked out */
    char *uri_dir;    /* the run directory of the connection's URI, or NULL */
    gboolean remote;  /* the URI names another host: its QEMUs are not here */
    GHashTable *scan; /* lowercase uuid -> pid, once made */
} PidFinder;

static void
pid_finder_clear(PidFinder *f)
{
    g_free(f->uri_dir);
    g_clear_pointer(&f->scan, g_hash_table_destroy);
}

/* The run directory of the connection's URI, worked out once per collection. */
static const char *
pid_finder_uri_dir(PidFinder *f)
{
    if (!f->derived) {
        /* libvirt's default URI, resolved, when none is configured */
        char *resolved = f->lv->uri && *f->lv->uri ? NULL : virConnectGetURI(f->conn);
        const char *uri = resolved ? resolved : f->lv->uri;

        f->derived = TRUE;
        f->uri_dir = mom_libvirt_run_dir_for_uri(uri);
        f->remote = uri_is_remote(uri);
        free(resolved); /* libvirt's allocation */
    }
    return f->uri_dir;
}

/* The pid file in [main] libvirt-run-dir, then in the URI's run
 * directory, then the process list (what MOM searched). */
static gint64
find_pid(PidFinder *f, const char *name, const char *uuid)
{
    MomLibvirt *lv = f->lv;
    const char *dirs[] = {lv->run_dir, pid_finder_uri_dir(f)};
    g_autofree char *key = g_ascii_strdown(uuid, -1);
    g_autoptr(GString) looked = g_string_new(NULL);
    g_autofree char *how = NULL;
    gint64 pid = -1;

    for (guint i = 0; i < G_N_ELEMENTS(dirs) && pid < 0; i++) {
        if (!dirs[i] || (i > 0 && g_strcmp0(dirs[i], dirs[0]) == 0))
            continue;
        g_string_append_printf(looked, "%s%s", looked->len ? " nor in " : "no pid file in ",
                               dirs[i]);
        pid = mom_libvirt_pid_from_file(lv->proc_root, dirs[i], name, uuid);
        if (pid > 0)
            how = g_strdup_printf("from its pid file in %s", dirs[i]);
    }
    if (pid < 0 && !f->remote) {
        if (!f->scan)
            f->scan = mom_libvirt_pids_by_uuid(lv->proc_root);
        pid = (gint64)GPOINTER_TO_SIZE(g_hash_table_lookup(f->scan, key));
        how = g_strdup_printf("the process with -uuid %s", key);
    }
    if (pid > 0) {
        g_log_structured(G_LOG_DOMAIN, G_LOG_LEVEL_DEBUG, "MOM_GUEST", name, "MESSAGE",
                         "The QEMU process of guest %s is %" G_GINT64_FORMAT ", %s.", name, pid,
                         how);
        return pid;
    }
    if (f->remote)
        g_log_structured(G_LOG_DOMAIN, G_LOG_LEVEL_DEBUG, "MOM_GUEST", name, "MESSAGE",
                         "No QEMU process of guest %s was looked for: libvirt's URI names "
                         "another host.",
                         name);
    else
        g_log_structured(G_LOG_DOMAIN, G_LOG_LEVEL_DEBUG, "MOM_GUEST", name, "MESSAGE",
                         "No QEMU process of guest %s was found: %s%sno process with -uuid %s "
                         "in %s.",
                         name, looked->str, looked->len ? ", and " : "", key, lv->proc_root);
    return -1;
}

MomDomainInfo *
mom_domain_info_ref(MomDomainInfo *info)
{
    g_atomic_int_inc(&info->extra_refs);
    return info;
}

void
mom_domain_info_free(MomDomainInfo *info)
{
    /* the value before: 0 when this was the last reference */
    if (!info || g_atomic_int_add(&info->extra_refs, -1) > 0)
        return;
    g_free(info->name);
    g_free(info->uuid);
    tune_clear(info);
    io_disks_clear(info);
    g_free(info);
}

MomDomainInfo *
mom_domain_info_copy(const MomDomainInfo *info)
{
    MomDomainInfo *c = g_new(MomDomainInfo, 1);
    *c = *info;
    c->extra_refs = 0;
    c->name = g_strdup(info->name);
    c->uuid = g_strdup(info->uuid);
    c->io_tune = info->n_io_tune ? g_new(MomIoTunePolicy, info->n_io_tune) : NULL;
    for (guint i = 0; i < info->n_io_tune; i++) {
        c->io_tune[i] = info->io_tune[i];
        c->io_tune[i].name = g_strdup(info->io_tune[i].name);
        c->io_tune[i].path = g_strdup(info->io_tune[i].path);
    }
    c->io_disks = info->n_io_disks ? g_new(MomIoTuneDisk, info->n_io_disks) : NULL;
    for (guint i = 0; i < info->n_io_disks; i++) {
        c->io_disks[i] = info->io_disks[i];
        c->io_disks[i].name = g_strdup(info->io_disks[i].name);
        c->io_disks[i].path = g_strdup(info->io_disks[i].path);
    }
    return c;
}

void
mom_guest_batch_free(MomGuestBatch *b)
{
    if (!b)
        return;
    g_ptr_array_free(b->domains, TRUE);
    g_array_free(b->data, TRUE);
    g_free(b);
}

/* ---- the bulk call ------------------------------------------------------------------ */

static const struct {
    const char *param; /* "balloon." + this */
    gsize offset;      /* in MomGuestData */
} balloon_params[] = {
    {"current", G_STRUCT_OFFSET(MomGuestData, balloon_cur)},
    {"maximum", G_STRUCT_OFFSET(MomGuestData, balloon_max)},
    {"swap_in", G_STRUCT_OFFSET(MomGuestData, swap_in)},
    {"swap_out", G_STRUCT_OFFSET(MomGuestData, swap_out)},
    {"major_fault", G_STRUCT_OFFSET(MomGuestData, major_fault)},
    {"minor_fault", G_STRUCT_OFFSET(MomGuestData, minor_fault)},
    {"unused", G_STRUCT_OFFSET(MomGuestData, unused)},
    {"available", G_STRUCT_OFFSET(MomGuestData, available)},
    {"usable", G_STRUCT_OFFSET(MomGuestData, usable)},
    {"disk_caches", G_STRUCT_OFFSET(MomGuestData, disk_caches)},
    {"rss", G_STRUCT_OFFSET(MomGuestData, rss)},
    {"last-update", G_STRUCT_OFFSET(MomGuestData, last_update)},
};

static void
data_init(MomGuestData *d)
{
    memset(d, 0, sizeof(*d));
    d->pid = -1;
    d->balloon_cur = d->balloon_max = d->swap_in = d->swap_out = -1;
    d->major_fault = d->minor_fault = d->unused = d->available = -1;
    d->usable = d->disk_caches = d->rss = d->last_update = -1;
    d->tune.vcpu_count = d->tune.balloon_weight = -1;
    d->tune.vcpu_user_limit = 100;
}

static void
fill_from_params(MomGuestData *d, virTypedParameterPtr params, int n)
{
    for (int i = 0; i < n; i++) {
        if (strcmp(params[i].field, "state.state") == 0 && params[i].type == VIR_TYPED_PARAM_INT)
            d->paused = params[i].value.i == VIR_DOMAIN_PAUSED;
        if (strncmp(params[i].field, "balloon.", 8) != 0)
            continue;
        const char *key = params[i].field + 8;
        gint64 v;
        switch (params[i].type) {
        case VIR_TYPED_PARAM_ULLONG:
            v = (gint64)MIN(params[i].value.ul, (unsigned long long)G_MAXINT64);
            break;
        case VIR_TYPED_PARAM_LLONG:
            v = params[i].value.l;
            break;
        case VIR_TYPED_PARAM_UINT:
            v = params[i].value.ui;
            break;
        case VIR_TYPED_PARAM_INT:
            v = params[i].value.i;
            break;
        default:
            continue;
        }
        for (guint k = 0; k < G_N_ELEMENTS(balloon_params); k++)
            if (strcmp(key, balloon_params[k].param) == 0)
                G_STRUCT_MEMBER(gint64, d, balloon_params[k].offset) = v;
    }
}

/*
 * The per-domain fallback, for drivers whose bulk call has no balloon data
 * (libvirt's test driver): the memory statistics, whose "actual" is the
 * balloon, and the maximum from the XML (@max_memory, KiB; < 0 when not
 * known), re-read on device events.  virDomainGetInfo() is asked only when
 * either is missing: each call on a domain costs libvirt two UUID
 * printings on that driver, and this one was a fifth of an idle minute's
 * collections (docs/performance.md, "Idle cost").  FALSE: the domain went
 * away.
 */
static gboolean
fill_per_domain(virDomainPtr dom, MomGuestData *d, gint64 max_memory, guint *calls)
{
    virDomainInfo info;
    virDomainMemoryStatStruct st[VIR_DOMAIN_MEMORY_STAT_NR];

    (*calls)++;
    int n = virDomainMemoryStats(dom, st, VIR_DOMAIN_MEMORY_STAT_NR, 0);
    if (n < 0) {
        int code;
        g_free(mom_libvirt_take_error(&code));
        if (mom_libvirt_went_away(dom, code))
            return FALSE;
    }
    for (int i = 0; i < n; i++) {
        gint64 v = (gint64)MIN(st[i].val, (unsigned long long)G_MAXINT64);
        switch (st[i].tag) {
        case VIR_DOMAIN_MEMORY_STAT_SWAP_IN:
            d->swap_in = v;
            break;
        case VIR_DOMAIN_MEMORY_STAT_SWAP_OUT:
            d->swap_out = v;
            break;
        case VIR_DOMAIN_MEMORY_STAT_MAJOR_FAULT:
            d->major_fault = v;
            break;
        case VIR_DOMAIN_MEMORY_STAT_MINOR_FAULT:
            d->minor_fault = v;
            break;
        case VIR_DOMAIN_MEMORY_STAT_UNUSED:
            d->unused = v;
            break;
        case VIR_DOMAIN_MEMORY_STAT_AVAILABLE:
            d->available = v;
            break;
        case VIR_DOMAIN_MEMORY_STAT_ACTUAL_BALLOON:
            d->balloon_cur = v;
            break;
        case VIR_DOMAIN_MEMORY_STAT_RSS:
            d->rss = v;
            break;
        case VIR_DOMAIN_MEMORY_STAT_USABLE:
            d->usable = v;
            break;
        case VIR_DOMAIN_MEMORY_STAT_LAST_UPDATE:
            d->last_update = v;
            break;
        case VIR_DOMAIN_MEMORY_STAT_DISK_CACHES:
            d->disk_caches = v;
            break;
        default:
            break;
        }
    }
    /* a balloon above the XML's maximum says the maximum changed unseen */
    if (d->balloon_cur >= 0 && max_memory > 0 && d->balloon_cur <= max_memory) {
        d->balloon_max = max_memory;
        return TRUE;
    }
    (*calls)++;
    if (virDomainGetInfo(dom, &info) < 0) {
        int code;
        g_free(mom_libvirt_take_error(&code));
        return !mom_libvirt_went_away(dom, code);
    }
    if (d->balloon_cur < 0)
        d->balloon_cur = (gint64)info.memory;
    d->balloon_max = (gint64)info.maxMem;
    return TRUE;
}

/* The scheduler parameters change only when someone changes them, and
 * libvirt says so with a tunable event (CpuTune's own changes are marked
 * too): reading them every cycle would add one call per guest to the one
 * bulk call the cycle is allowed. */
static gboolean
need_sched(const MomDomainInfo *info, const char *uuid, GHashTable *stale_sched)
{
    return (!info->tune.sched_known && info->sched_failures < MOM_LIBVIRT_READ_TRIES) ||
           g_hash_table_contains(stale_sched, uuid);
}

/* Block I/O limits, likewise: only guests with I/O metadata have a use for
 * them (GuestIoTune gives nil for the others). */
static gboolean
need_iotune(const MomDomainInfo *info, const char *uuid, GHashTable *stale_io)
{
    return info->n_io_tune && info->n_io_disks &&
           ((!info->io_known && info->io_failures < MOM_LIBVIRT_READ_TRIES) ||
            g_hash_table_contains(stale_io, uuid));
}

/* Whether a known domain has something to read again this collection. */
static gboolean
domain_info_rereads(const MomDomainInfo *info, const char *uuid, GHashTable *stale_sched,
                    GHashTable *stale_io)
{
    return need_sched(info, uuid, stale_sched) || need_iotune(info, uuid, stale_io);
}

/*
 * @raw as libvirt prints a UUID ("6d6f6d64-0000-4000-8000-000000000001").
 * virDomainGetUUIDString() does the same with one snprintf of 16 "%02x",
 * on top of the one in the debug line every libvirt call on a domain
 * formats whatever the log level: per domain per collection, libvirt's
 * UUID formatting was half of an idle momd's instructions on the test
 * driver.  virDomainGetUUID() hands over the bytes.
 */
static void
uuid_format(const unsigned char raw[VIR_UUID_BUFLEN], char out[VIR_UUID_STRING_BUFLEN])
{
    static const char hex[] = "0123456789abcdef";
    char *p = out;

    for (guint i = 0; i < VIR_UUID_BUFLEN; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *p++ = '-';
        *p++ = hex[raw[i] >> 4];
        *p++ = hex[raw[i] & 0xf];
    }
    *p = '\0';
}

/* What a running domain is, as its name tells until its id ends. */
typedef struct {
    char uuid[VIR_UUID_STRING_BUFLEN];
    int id;
} Ident;

/*
 * Each call on a domain prints its UUID into libvirt's debug line, logged
 * or not (see uuid_format()): virDomainGetUUID() and virDomainGetID() for
 * each record of each collection were two of the five printings a guest
 * cost on the test driver (docs/performance.md, "Idle cost").
 * virDomainGetName() prints none.  So a domain is known by its name: the
 * identity stays valid while its id is still among the running domains
 * listed after the bulk call.  Within one run of libvirtd ids are not
 * reused (a libvirtd that starts anew may hand out a stopped guest's id
 * again, which is why a new connection starts with no identities), two
 * domains never share a name, and a running one cannot be renamed; so a
 * name whose id was running both when the identity was taken and after the
 * bulk call named that domain in the call too.  Any other record is asked
 * for its UUID and id, as before.
 */
typedef struct {
    GHashTable *idents; /* name -> Ident; NULL: every record is asked */
    int *ids;           /* the running domains' ids, sorted */
    int n_ids;
} Idents;

static int
compare_ints(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static gboolean
id_running(const Idents *ix, int id)
{
    return bsearch(&id, ix->ids, (size_t)ix->n_ids, sizeof(int), compare_ints) != NULL;
}

/* Lists the running domains' ids after the bulk call of @n records; on
 * failure the identities are not used this time. */
static void
idents_begin(Idents *ix, virConnectPtr c, int n, guint *calls)
{
    /* a truncated list only leaves ids out, whose domains are then asked */
    int max = n + 64;

    if (!ix->idents)
        return;
    ix->ids = g_new(int, max);
    (*calls)++;
    ix->n_ids = virConnectListDomains(c, ix->ids, max);
    if (ix->n_ids < 0) {
        g_autofree char *why = mom_libvirt_take_error(NULL);
        g_debug("Cannot list the running domains (%s); each is asked for its UUID.", why);
        ix->idents = NULL;
        return;
    }
    qsort(ix->ids, (size_t)ix->n_ids, sizeof(int), compare_ints);
}

/* @dom's UUID and id: from its name when that is known and still running,
 * else asked (and remembered).  FALSE: the UUID cannot be had. */
static gboolean
identify(Idents *ix, virDomainPtr dom, char uuid[VIR_UUID_STRING_BUFLEN], int *id, guint *asked)
{
    const char *name = ix->idents ? virDomainGetName(dom) : NULL;
    Ident *known = name ? g_hash_table_lookup(ix->idents, name) : NULL;
    unsigned char raw[VIR_UUID_BUFLEN];

    if (known && id_running(ix, known->id)) {
        memcpy(uuid, known->uuid, VIR_UUID_STRING_BUFLEN);
        *id = known->id;
        return TRUE;
    }
    (*asked)++;
    if (virDomainGetUUID(dom, raw) < 0)
        return FALSE;
    uuid_format(raw, uuid);
    *id = virDomainGetID(dom);
    if (name) {
        Ident *fresh = g_new(Ident, 1);
        memcpy(fresh->uuid, uuid, VIR_UUID_STRING_BUFLEN);
        fresh->id = *id;
        g_hash_table_replace(ix->idents, g_strdup(name), fresh);
    }
    return TRUE;
}

/* Forgets the identities whose domain no longer runs: the table stays as
 * large as the running guests, and a domain forgotten early is only asked
 * again. */
static void
idents_end(Idents *ix)
{
    GHashTableIter it;
    gpointer value;

    if (ix->idents) {
        g_hash_table_iter_init(&it, ix->idents);
        while (g_hash_table_iter_next(&it, NULL, &value))
            if (!id_running(ix, ((Ident *)value)->id))
                g_hash_table_iter_remove(&it);
    }
    g_free(ix->ids);
}

/* mom_libvirt_collect() on the connection @c, with the identities of
 * @idents (NULL: none kept); @fresh: the first collection on a new
 * connection, which reads every known guest's XML again (an event of the
 * outage, a metadata change or a device added, was lost with it). */
static MomGuestBatch *
collect_on(MomLibvirt *lv, virConnectPtr c, GHashTable *idents, gboolean fresh, GHashTable *known,
           GError **error)
{
    Idents ix = {idents, NULL, 0};
    virDomainStatsRecordPtr *records = NULL;
    g_autoptr(GHashTable) stale_xml = NULL;
    g_autoptr(GHashTable) stale_sched = NULL;
    g_autoptr(GHashTable) stale_io = NULL;

    MomGuestBatch *b = g_new0(MomGuestBatch, 1);
    b->calls = 1;
    b->started = g_get_monotonic_time();
    int n = virConnectGetAllDomainStats(
        c, VIR_DOMAIN_STATS_BALLOON | VIR_DOMAIN_STATS_STATE, &records,
        VIR_CONNECT_GET_ALL_DOMAINS_STATS_ACTIVE | VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT);
    if (n < 0) {
        set_error(error, MOM_LIBVIRT_ERROR_CALL, "The bulk statistics call failed");
        g_free(b);
        return NULL;
    }
    /* sized once: grown by doubling, the guests' data (0.9 KiB each) left
     * the heap a trail of freed blocks at every collection */
    b->domains = g_ptr_array_new_full((guint)n, (GDestroyNotify)mom_domain_info_free);
    b->data = g_array_sized_new(FALSE, TRUE, sizeof(MomGuestData), (guint)n);
    /* Taken before any domain is read: an event that comes during this
     * collection marks its domain for the next one. */
    g_mutex_lock(&lv->lock);
    stale_xml = g_steal_pointer(&lv->stale_xml);
    stale_sched = g_steal_pointer(&lv->stale_sched);
    stale_io = g_steal_pointer(&lv->stale_io);
    lv->stale_xml = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    lv->stale_sched = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    lv->stale_io = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_mutex_unlock(&lv->lock);
    gint64 now = g_get_real_time() / G_USEC_PER_SEC;
    PidFinder pids = {lv, c, FALSE, NULL, FALSE, NULL};
    idents_begin(&ix, c, n, &b->calls);
    for (int i = 0; i < n; i++) {
        virDomainPtr dom = records[i]->dom;
        char uuid[VIR_UUID_STRING_BUFLEN];
        MomGuestData d;
        int id;

        if (!identify(&ix, dom, uuid, &id, &b->asked))
            continue;
        data_init(&d);
        d.now = now;
        fill_from_params(&d, records[i]->params, records[i]->nparams);
        MomDomainInfo *old = known ? g_hash_table_lookup(known, uuid) : NULL;
        gboolean same = old && old->id == id && old->have_xml; /* not restarted since */
        gboolean xml_stale = same && (fresh || g_hash_table_contains(stale_xml, uuid));
        if (d.balloon_cur < 0 &&
            !fill_per_domain(dom, &d, same && !xml_stale ? old->max_memory : -1, &b->calls))
            continue; /* gone between the listing and the stats: simply dropped */

        MomDomainInfo *info;
        if (same && !xml_stale && !domain_info_rereads(old, uuid, stale_sched, stale_io)) {
            /* nothing to read again, so nothing changes: shared, not copied */
            info = mom_domain_info_ref(old);
        } else if (same) {
            info = mom_domain_info_copy(old);
            if (xml_stale) {
                b->calls++;
                read_xml(lv, dom, info);
            }
        } else {
            info = g_new0(MomDomainInfo, 1);
            info->name = g_strdup(virDomainGetName(dom));
            info->uuid = g_strdup(uuid);
            info->id = id;
            mom_libvirt_tune_defaults(info);
            b->calls++;
            read_xml(lv, dom, info);
            info->pid = find_pid(&pids, info->name, uuid);
        }
        if (info != old && need_sched(info, uuid, stale_sched)) {
            b->calls++;
            read_sched(dom, info);
        }
        if (info != old && need_iotune(info, uuid, stale_io))
            read_iotune(dom, info, &b->calls);
        d.pid = info->pid;
        d.tune = info->tune;
        g_ptr_array_add(b->domains, info);
        g_array_append_val(b->data, d);
    }
    pid_finder_clear(&pids);
    idents_end(&ix);
    virDomainStatsRecordListFree(records);
    /* name and uuid point into the infos, which no longer move */
    for (guint i = 0; i < b->data->len; i++) {
        MomGuestData *d = &g_array_index(b->data, MomGuestData, i);
        MomDomainInfo *info = b->domains->pdata[i];
        d->name = info->name;
        d->uuid = info->uuid;
        d->io_policy = info->io_tune;
        d->n_io_policy = info->n_io_tune;
        d->io_known = info->io_known;
        d->io_disks = info->io_disks;
        d->n_io_disks = info->n_io_disks;
    }
    return b;
}

static void
set_not_connected(MomLibvirt *lv, GError **error)
{
    g_set_error(error, MOM_LIBVIRT_ERROR, MOM_LIBVIRT_ERROR_CONNECT,
                "momd is not connected to libvirt (%s).", uri_name(lv));
}

/* conn_ref(), or NULL with the error that says there is no connection. */
static virConnectPtr
connection(MomLibvirt *lv, guint *generation, GError **error)
{
    virConnectPtr c = conn_ref(lv, generation);

    if (!c)
        set_not_connected(lv, error);
    return c;
}

MomGuestBatch *
mom_libvirt_collect(MomLibvirt *lv, GHashTable *known, GError **error)
{
    guint generation;
    g_autoptr(virConnect) c = connection(lv, &generation, error);

    if (!c)
        return NULL;
    if (!g_mutex_trylock(&lv->idents_lock))
        return collect_on(lv, c, NULL, FALSE, known, error);
    /* A new connection may be to a libvirtd that started anew, which hands
     * out the ids of stopped guests again. */
    gboolean fresh = generation != lv->idents_generation;
    if (fresh)
        g_hash_table_remove_all(lv->idents);
    lv->idents_generation = generation;
    MomGuestBatch *b = collect_on(lv, c, lv->idents, fresh, known, error);
    g_mutex_unlock(&lv->idents_lock);
    return b;
}

MomGuestBatch *
mom_libvirt_collect_aside(MomLibvirt *lv, GHashTable *known, GError **error)
{
    if (!mom_libvirt_connected(lv)) {
        set_not_connected(lv, error);
        return NULL;
    }
    /* its own connection: no second call in flight on the one libvirt's
     * keepalive may close under the first (two such calls crashed momd
     * when libvirtd was stopped, docs/reliability.md) */
    g_autoptr(virConnect) c = virConnectOpen(lv->uri && *lv->uri ? lv->uri : NULL);
    if (!c) {
        set_error(error, MOM_LIBVIRT_ERROR_CONNECT, "Cannot open a second connection to libvirt");
        return NULL;
    }
    /* the identities are the usual collection's, which may be running */
    return collect_on(lv, c, NULL, FALSE, known, error);
}

void
mom_libvirt_mark_stale(MomLibvirt *lv, const char *uuid)
{
    mark_stale(lv, STALE_ALL, uuid);
}

static virDomainPtr
lookup(MomLibvirt *lv, const char *uuid, virConnectPtr *conn, GError **error)
{
    *conn = connection(lv, NULL, error);
    if (!*conn)
        return NULL;
    virDomainPtr dom = virDomainLookupByUUIDString(*conn, uuid);
    if (!dom) {
        set_error(error, MOM_LIBVIRT_ERROR_NO_DOMAIN, "The guest is gone");
        virConnectClose(*conn);
        *conn = NULL;
    }
    return dom;
}

/* One setter's libvirt call on @dom, with its arguments; < 0 on failure. */
typedef int (*DomainCall)(virDomainPtr dom, gconstpointer args);

/* The four setters: looks @uuid up, makes @call, turns a failure into
 * @error ("@what failed: libvirt's words"; a guest gone under it is
 * MOM_LIBVIRT_ERROR_NO_DOMAIN), and marks @stale so that the next
 * collection reads back what the call changed (even a failed call may
 * have changed part of it). */
static gboolean
domain_call(MomLibvirt *lv, const char *uuid, const char *what, DomainCall call, gconstpointer args,
            Stale stale, GError **error)
{
    g_autoptr(virConnect) c = NULL;
    g_autoptr(virDomain) dom = lookup(lv, uuid, &c, error);

    if (!dom)
        return FALSE;
    int rc = call(dom, args);
    if (rc < 0) {
        int code;
        g_autofree char *msg = mom_libvirt_take_error(&code);
        g_set_error(error, MOM_LIBVIRT_ERROR,
                    mom_libvirt_went_away(dom, code) ? MOM_LIBVIRT_ERROR_NO_DOMAIN
                                                     : MOM_LIBVIRT_ERROR_CALL,
                    "%s: %s", what, msg);
    }
    mark_stale(lv, stale, uuid);
    return rc == 0;
}

static int
call_stats_period(virDomainPtr dom, gconstpointer args)
{
    return virDomainSetMemoryStatsPeriod(dom, *(const int *)args, VIR_DOMAIN_AFFECT_LIVE);
}

gboolean
mom_libvirt_set_stats_period(MomLibvirt *lv, const char *uuid, int seconds, GError **error)
{
    return domain_call(lv, uuid, "virDomainSetMemoryStatsPeriod failed", call_stats_period,
                       &seconds, STALE_NONE, error);
}

static int
call_balloon(virDomainPtr dom, gconstpointer args)
{
    return virDomainSetMemoryFlags(dom, (unsigned long)*(const guint64 *)args,
                                   VIR_DOMAIN_AFFECT_LIVE);
}

static gboolean
set_balloon(gpointer hv, const char *uuid, guint64 kib, GError **error)
{
    return domain_call(hv, uuid, "virDomainSetMemoryFlags failed", call_balloon, &kib, STALE_NONE,
                       error);
}

/* Typed parameters for one call; freed with it. */
typedef struct {
    virTypedParameterPtr params;
    int n, max;
    const char *disk; /* set_block_iotune */
} Params;

static void
params_clear(Params *p)
{
    virTypedParamsFree(p->params, p->n);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Params, params_clear)

static int
call_sched(virDomainPtr dom, gconstpointer args)
{
    const Params *p = args;
    return p->params
               ? virDomainSetSchedulerParametersFlags(dom, p->params, p->n, VIR_DOMAIN_AFFECT_LIVE)
               : -1;
}

/* virDomainSetSchedulerParametersFlags(LIVE) with vcpu_period and
 * vcpu_quota; the next collection reads them back. */
static gboolean
set_cpu_tune(gpointer hv, const char *uuid, gint64 quota, guint64 period, GError **error)
{
    g_auto(Params) p = {0};

    virTypedParamsAddULLong(&p.params, &p.n, &p.max, VIR_DOMAIN_SCHEDULER_VCPU_PERIOD, period);
    virTypedParamsAddLLong(&p.params, &p.n, &p.max, VIR_DOMAIN_SCHEDULER_VCPU_QUOTA, quota);
    return domain_call(hv, uuid, "virDomainSetSchedulerParametersFlags failed", call_sched, &p,
                       STALE_SCHED, error);
}

static int
call_iotune(virDomainPtr dom, gconstpointer args)
{
    const Params *p = args;
    return p->params
               ? virDomainSetBlockIoTune(dom, p->disk, p->params, p->n, VIR_DOMAIN_AFFECT_LIVE)
               : 0;
}

/* virDomainSetBlockIoTune(LIVE) with the limits that are not -1; the next
 * collection reads the disk's limits back. */
static gboolean
set_block_iotune(gpointer hv, const char *uuid, const char *disk, const gint64 limits[6],
                 GError **error)
{
    g_auto(Params) p = {.disk = disk};

    for (guint k = 0; k < MOM_IO_N_KEYS; k++)
        if (limits[k] >= 0)
            virTypedParamsAddULLong(&p.params, &p.n, &p.max, io_params[k],
                                    (unsigned long long)limits[k]);
    return domain_call(hv, uuid, "virDomainSetBlockIoTune failed", call_iotune, &p, STALE_IO,
                       error);
}

const MomHypervisorOps *
mom_libvirt_hypervisor_ops(MomLibvirt *lv)
{
    return &lv->ops;
}

MomLibvirt *
mom_libvirt_new(const char *uri, const char *run_dir, const MomLibvirtCallbacks *callbacks,
                gpointer user_data)
{
    static gsize once = 0;
    MomLibvirt *lv = g_new0(MomLibvirt, 1);

    lv->ref = 1;
    if (g_once_init_enter(&once)) {
        virInitialize();
        virSetErrorFunc(NULL, silent_error);
        /* libvirt's events (keepalive, close, lifecycle) on the GLib main context */
        gvir_event_register();
        g_once_init_leave(&once, 1);
    }
    lv->uri = g_strdup(uri ? uri : "");
    lv->run_dir = run_dir && *run_dir ? g_strdup(run_dir) : NULL;
    lv->proc_root = g_strdup("/proc");
    if (callbacks)
        lv->cb = *callbacks;
    lv->user_data = user_data;
    for (guint i = 0; i < N_EVENTS; i++)
        lv->event_ids[i] = -1;
    lv->stale_xml = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    lv->stale_sched = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    lv->stale_io = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    lv->idents = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    g_mutex_init(&lv->idents_lock);
    lv->ops.hv = lv;
    lv->ops.set_balloon = set_balloon;
    lv->ops.set_cpu_tune = set_cpu_tune;
    lv->ops.set_block_iotune = set_block_iotune;
    lv->ops.is_gone = mom_libvirt_error_is_gone;
    return lv;
}

void
mom_libvirt_set_proc_root(MomLibvirt *lv, const char *proc_root)
{
    g_free(lv->proc_root);
    lv->proc_root = g_strdup(proc_root && *proc_root ? proc_root : "/proc");
}

MomLibvirt *
mom_libvirt_ref(MomLibvirt *lv)
{
    g_atomic_int_inc(&lv->ref);
    return lv;
}

void
mom_libvirt_unref(MomLibvirt *lv)
{
    if (!lv || !g_atomic_int_dec_and_test(&lv->ref))
        return;
    g_mutex_clear(&lv->lock);
    g_hash_table_destroy(lv->stale_xml);
    g_hash_table_destroy(lv->stale_sched);
    g_hash_table_destroy(lv->stale_io);
    g_hash_table_destroy(lv->idents);
    g_mutex_clear(&lv->idents_lock);
    g_free(lv->uri);
    g_free(lv->run_dir);
    g_free(lv->proc_root);
    g_free(lv);
}

void
mom_libvirt_free(MomLibvirt *lv)
{
    virConnectPtr c;

    if (!lv)
        return;
    if (lv->retry_source)
        g_source_remove(lv->retry_source);
    lv->retry_source = 0;
    if (lv->connecting) {
        /* the worker's attempt is undone when it lands */
        g_cancellable_cancel(lv->connecting);
        g_clear_object(&lv->connecting);
    }
    g_idle_remove_by_data(lv);
    memset(&lv->cb, 0, sizeof(lv->cb));
    g_mutex_lock(&lv->lock);
    c = lv->conn;
    lv->conn = NULL;
    g_mutex_unlock(&lv->lock);
    if (c) {
        virConnectUnregisterCloseCallback(c, on_close);
        deregister_events(c, lv->event_ids);
        virConnectClose(c); /* a worker's own reference keeps it open until it is done */
    }
    mom_libvirt_unref(lv);
}

virConnectPtr
mom_libvirt_conn_ref(MomLibvirt *lv)
{
    return conn_ref(lv, NULL);
}
