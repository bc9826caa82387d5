/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libvirt: connection management, the per-cycle bulk statistics call, and
 * the calls controllers make.  The connection pointer is guarded by a
 * mutex and referenced by each worker for the duration of its calls, so a
 * reconnect on the main context never pulls it from under a worker.
 */
#include "config.h"

#include <libvirt-glib/libvirt-glib.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <string.h>

#include "mom-libvirt.h"

G_DEFINE_QUARK(mom - libvirt - error - quark, mom_libvirt_error)

#define KEEPALIVE_INTERVAL 5 /* seconds between keepalive probes */
#define KEEPALIVE_COUNT 3    /* unanswered probes before libvirt closes */
#define MAX_BACKOFF 60       /* seconds between reconnection attempts, at most */

struct _MomLibvirt {
    gint ref;
    char *uri;
    char *run_dir;
    MomLibvirtCallbacks cb;
    gpointer user_data;
    GMutex lock;
    virConnectPtr conn; /* NULL while disconnected */
    int lifecycle_id;
    guint retry_source;
    guint backoff;
    gint64 lost_at;     /* monotonic µs when the connection went, 0 if never */
    gboolean said_down; /* "cannot connect" was logged for this outage */
    MomHypervisorOps ops;
};

static void
silent_error(void *data, virErrorPtr error)
{
    /* errors are turned into GErrors where they happen, and logged once
     * by whoever handles them: libvirt must not print them itself */
}

static void
set_error(GError **error, int code, const char *what)
{
    const char *msg = virGetLastErrorMessage();
    g_set_error(error, MOM_LIBVIRT_ERROR, code, "%s: %s", what, msg ? msg : "unknown error");
}

static gboolean
no_domain_error(void)
{
    int code = virGetLastErrorCode();
    return code == VIR_ERR_NO_DOMAIN || code == VIR_ERR_OPERATION_INVALID;
}

/* Takes a reference on the current connection, or NULL when there is none. */
static virConnectPtr
conn_ref(MomLibvirt *lv)
{
    virConnectPtr c;

    g_mutex_lock(&lv->lock);
    c = lv->conn;
    if (c)
        virConnectRef(c);
    g_mutex_unlock(&lv->lock);
    return c;
}

const char *
mom_libvirt_uri(const MomLibvirt *lv)
{
    return lv->uri ? lv->uri : "";
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
    if (lv->lifecycle_id >= 0)
        virConnectDomainEventDeregisterAny(c, lv->lifecycle_id);
    lv->lifecycle_id = -1;
    virConnectClose(c);
    lv->lost_at = g_get_monotonic_time();
    lv->backoff = 0;
    g_warning("The connection to libvirt (%s) was lost; the guests keep their last samples "
              "and momd reconnects with back-off.",
              uri_name(lv));
    if (lv->cb.disconnected)
        lv->cb.disconnected(lv->user_data);
    schedule_retry(lv);
    return G_SOURCE_REMOVE;
}

static void
on_close(virConnectPtr conn, int reason, void *opaque)
{
    /* libvirt calls this from its event dispatch, with the connection still
     * in use: tear down from an idle callback instead. */
    g_idle_add(on_lost, opaque);
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

static gboolean
try_connect(gpointer data)
{
    MomLibvirt *lv = data;
    virConnectPtr c;

    lv->retry_source = 0;
    c = virConnectOpen(lv->uri && *lv->uri ? lv->uri : NULL);
    if (!c) {
        if (!lv->said_down) {
            g_warning("No libvirt answers at %s (%s); momd manages the host only and connects as "
                      "soon as libvirt is there.",
                      uri_name(lv), virGetLastErrorMessage());
            lv->said_down = TRUE;
        }
        schedule_retry(lv);
        return G_SOURCE_REMOVE;
    }
    if (virConnectSetKeepAlive(c, KEEPALIVE_INTERVAL, KEEPALIVE_COUNT) < 0)
        g_debug("libvirt keepalive is not available on %s: %s", uri_name(lv),
                virGetLastErrorMessage());
    virConnectRegisterCloseCallback(c, on_close, lv, NULL);
    lv->lifecycle_id = virConnectDomainEventRegisterAny(
        c, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE, VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), lv, NULL);
    if (lv->lifecycle_id < 0)
        g_message("libvirt at %s sends no lifecycle events (%s); guests are found by polling.",
                  uri_name(lv), virGetLastErrorMessage());

    g_mutex_lock(&lv->lock);
    lv->conn = c;
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
    return G_SOURCE_REMOVE;
}

void
mom_libvirt_start(MomLibvirt *lv)
{
    try_connect(lv);
}

/* ---- domain XML ------------------------------------------------------------------- */

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

/* Fills the XML-derived part of @info from @dom's live definition. */
static void
read_xml(virDomainPtr dom, MomDomainInfo *info)
{
    char *xml = virDomainGetXMLDesc(dom, 0);

    if (!xml)
        return;
    xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "domain.xml", NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    free(xml); /* libvirt's allocation */
    if (!doc)
        return;
    xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
    g_autofree char *min = xpath_string(ctx, "string(/domain/memtune/min_guarantee)");
    g_autofree char *unit = xpath_string(ctx, "string(/domain/memtune/min_guarantee/@unit)");
    g_autofree char *model = xpath_string(ctx, "string(/domain/devices/memballoon/@model)");
    g_autofree char *period = xpath_string(ctx, "string(/domain/devices/memballoon/stats/@period)");
    xmlXPathObjectPtr nsp =
        xmlXPathEvalExpression((const xmlChar *)"count(/domain/memoryBacking/nosharepages)", ctx);

    info->balloon_min = min ? parse_kib(min, unit) : 0;
    info->has_balloon = model && strcmp(model, "none") != 0;
    info->stats_period = period && g_ascii_strtoll(period, NULL, 10) > 0;
    info->nosharepages = nsp && nsp->type == XPATH_NUMBER && nsp->floatval > 0;
    info->have_xml = TRUE;
    xmlXPathFreeObject(nsp);
    xmlXPathFreeContext(ctx);
    xmlFreeDoc(doc);
}

static gint64
read_pid(MomLibvirt *lv, const char *name)
{
    g_autofree char *file = g_strdup_printf("%s.pid", name);
    g_autofree char *path = g_build_filename(lv->run_dir, file, NULL);
    g_autofree char *text = NULL;

    if (!g_file_get_contents(path, &text, NULL, NULL))
        return -1;
    gint64 pid = g_ascii_strtoll(g_strstrip(text), NULL, 10);
    return pid > 0 ? pid : -1;
}

void
mom_domain_info_free(MomDomainInfo *info)
{
    if (!info)
        return;
    g_free(info->name);
    g_free(info->uuid);
    g_free(info);
}

MomDomainInfo *
mom_domain_info_copy(const MomDomainInfo *info)
{
    MomDomainInfo *c = g_new(MomDomainInfo, 1);
    *c = *info;
    c->name = g_strdup(info->name);
    c->uuid = g_strdup(info->uuid);
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
}

static void
fill_from_params(MomGuestData *d, virTypedParameterPtr params, int n)
{
    for (int i = 0; i < n; i++) {
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

/* The per-domain fallback, for drivers whose bulk call has no balloon data. */
static gboolean
fill_per_domain(virDomainPtr dom, MomGuestData *d, guint *calls)
{
    virDomainInfo info;
    virDomainMemoryStatStruct st[VIR_DOMAIN_MEMORY_STAT_NR];

    (*calls)++;
    if (virDomainGetInfo(dom, &info) < 0)
        return !no_domain_error();
    d->balloon_cur = (gint64)info.memory;
    d->balloon_max = (gint64)info.maxMem;
    (*calls)++;
    int n = virDomainMemoryStats(dom, st, VIR_DOMAIN_MEMORY_STAT_NR, 0);
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
    return TRUE;
}

MomGuestBatch *
mom_libvirt_collect(MomLibvirt *lv, GHashTable *known, GError **error)
{
    virConnectPtr c = conn_ref(lv);
    virDomainStatsRecordPtr *records = NULL;

    if (!c) {
        g_set_error(error, MOM_LIBVIRT_ERROR, MOM_LIBVIRT_ERROR_CONNECT,
                    "momd is not connected to libvirt (%s).", uri_name(lv));
        return NULL;
    }
    MomGuestBatch *b = g_new0(MomGuestBatch, 1);
    b->domains = g_ptr_array_new_with_free_func((GDestroyNotify)mom_domain_info_free);
    b->data = g_array_new(FALSE, TRUE, sizeof(MomGuestData));
    b->calls = 1;
    b->started = g_get_monotonic_time();
    int n = virConnectGetAllDomainStats(
        c, VIR_DOMAIN_STATS_BALLOON | VIR_DOMAIN_STATS_STATE, &records,
        VIR_CONNECT_GET_ALL_DOMAINS_STATS_ACTIVE | VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT);
    if (n < 0) {
        set_error(error, MOM_LIBVIRT_ERROR_CALL, "The bulk statistics call failed");
        virConnectClose(c);
        mom_guest_batch_free(b);
        return NULL;
    }
    gint64 now = g_get_real_time() / G_USEC_PER_SEC;
    for (int i = 0; i < n; i++) {
        virDomainPtr dom = records[i]->dom;
        char uuid[VIR_UUID_STRING_BUFLEN];
        MomGuestData d;

        if (virDomainGetUUIDString(dom, uuid) < 0)
            continue;
        data_init(&d);
        d.now = now;
        fill_from_params(&d, records[i]->params, records[i]->nparams);
        if (d.balloon_cur < 0 && !fill_per_domain(dom, &d, &b->calls))
            continue; /* gone between the listing and the stats: simply dropped */

        const MomDomainInfo *old = known ? g_hash_table_lookup(known, uuid) : NULL;
        int id = virDomainGetID(dom);
        MomDomainInfo *info;
        if (old && old->id == id && old->have_xml) {
            info = mom_domain_info_copy(old);
        } else {
            info = g_new0(MomDomainInfo, 1);
            info->name = g_strdup(virDomainGetName(dom));
            info->uuid = g_strdup(uuid);
            info->id = id;
            b->calls++;
            read_xml(dom, info);
            info->pid = read_pid(lv, info->name);
        }
        d.pid = info->pid;
        d.balloon_min = info->balloon_min;
        d.nosharepages = info->nosharepages;
        g_ptr_array_add(b->domains, info);
        g_array_append_val(b->data, d);
    }
    virDomainStatsRecordListFree(records);
    virConnectClose(c);
    /* name and uuid point into the infos, which no longer move */
    for (guint i = 0; i < b->data->len; i++) {
        MomGuestData *d = &g_array_index(b->data, MomGuestData, i);
        MomDomainInfo *info = b->domains->pdata[i];
        d->name = info->name;
        d->uuid = info->uuid;
    }
    return b;
}

static virDomainPtr
lookup(MomLibvirt *lv, const char *uuid, virConnectPtr *conn, GError **error)
{
    *conn = conn_ref(lv);
    if (!*conn) {
        g_set_error(error, MOM_LIBVIRT_ERROR, MOM_LIBVIRT_ERROR_CONNECT,
                    "momd is not connected to libvirt (%s).", uri_name(lv));
        return NULL;
    }
    virDomainPtr dom = virDomainLookupByUUIDString(*conn, uuid);
    if (!dom) {
        set_error(error, MOM_LIBVIRT_ERROR_NO_DOMAIN, "The guest is gone");
        virConnectClose(*conn);
        *conn = NULL;
    }
    return dom;
}

gboolean
mom_libvirt_set_stats_period(MomLibvirt *lv, const char *uuid, int seconds, GError **error)
{
    virConnectPtr c;
    virDomainPtr dom = lookup(lv, uuid, &c, error);

    if (!dom)
        return FALSE;
    int rc = virDomainSetMemoryStatsPeriod(dom, seconds, VIR_DOMAIN_AFFECT_LIVE);
    if (rc < 0)
        set_error(error, MOM_LIBVIRT_ERROR_CALL, "Cannot set the memory statistics period");
    virDomainFree(dom);
    virConnectClose(c);
    return rc == 0;
}

static gboolean
set_balloon(gpointer hv, const char *uuid, guint64 kib, GError **error)
{
    MomLibvirt *lv = hv;
    virConnectPtr c;
    virDomainPtr dom = lookup(lv, uuid, &c, error);

    if (!dom)
        return FALSE;
    int rc = virDomainSetMemoryFlags(dom, (unsigned long)kib, VIR_DOMAIN_AFFECT_LIVE);
    if (rc < 0)
        set_error(error, no_domain_error() ? MOM_LIBVIRT_ERROR_NO_DOMAIN : MOM_LIBVIRT_ERROR_CALL,
                  "virDomainSetMemoryFlags failed");
    virDomainFree(dom);
    virConnectClose(c);
    return rc == 0;
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
    lv->run_dir = g_strdup(run_dir && *run_dir ? run_dir : "/run/libvirt/qemu");
    if (callbacks)
        lv->cb = *callbacks;
    lv->user_data = user_data;
    lv->lifecycle_id = -1;
    lv->ops.hv = lv;
    lv->ops.set_balloon = set_balloon;
    return lv;
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
    g_free(lv->uri);
    g_free(lv->run_dir);
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
    g_idle_remove_by_data(lv);
    memset(&lv->cb, 0, sizeof(lv->cb));
    g_mutex_lock(&lv->lock);
    c = lv->conn;
    lv->conn = NULL;
    g_mutex_unlock(&lv->lock);
    if (c) {
        virConnectUnregisterCloseCallback(c, on_close);
        if (lv->lifecycle_id >= 0)
            virConnectDomainEventDeregisterAny(c, lv->lifecycle_id);
        virConnectClose(c); /* a worker's own reference keeps it open until it is done */
    }
    mom_libvirt_unref(lv);
}
