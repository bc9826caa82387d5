/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Guest files through qemu-guest-agent (see mom-agent.h), and the pool of
 * worker threads that reads them for every guest in the background.
 */
#include "config.h"

#include <string.h>

#include <glib.h>
#include <json-glib/json-glib.h>
#include <libvirt/libvirt-qemu.h>
#include <libvirt/virterror.h>

#include "mom-agent-priv.h"
#include "mom-libvirt.h"
#include "mom-proc-text.h"

/* clang-format off */
/* G_DEFINE_QUARK stringifies its first argument: clang-format must not space it */
/* clang-format off */
G_DEFINE_QUARK(mom-agent-error-quark, mom_agent_error)
/* clang-format on */
/* clang-format on */

#define AGENT_THREADS 4

/* ---- errors ------------------------------------------------------------------ */

static gboolean
contains(const char *haystack, const char *needle)
{
    return haystack && strstr(haystack, needle) != NULL;
}

void
mom_agent_set_error(GError **error, const char *command, guint timeout, int vir_code,
                    const char *message)
{
    const char *msg = message && *message ? message : "unknown error";
    gboolean timed_out = contains(msg, "not available for now") || contains(msg, "timed out") ||
                         contains(msg, "Timed out");

    /* The allow/block list first: libvirt reports the agent's own error
     * ("Command guest-file-open has been disabled") as a generic failure. */
    if (contains(msg, "has been disabled") || contains(msg, "not allowed") ||
        contains(msg, "CommandDisabled")) {
        g_set_error(error, MOM_AGENT_ERROR, MOM_AGENT_ERROR_DISABLED,
                    "The guest agent refuses %s because the guest's qemu-ga allow/block list "
                    "blocks it (%s); GuestQemuAgent needs guest-file-open, guest-file-read and "
                    "guest-file-close allowed.",
                    command, msg);
    } else if (timed_out && timeout > 0) {
        /* naming the option: the operator's fix for a slow guest */
        g_set_error(error, MOM_AGENT_ERROR, MOM_AGENT_ERROR_TIMEOUT,
                    "The guest agent did not answer %s within %u s, the "
                    "[Collector: GuestQemuAgent] timeout (%s).",
                    command, timeout, msg);
    } else if (timed_out) {
        g_set_error(error, MOM_AGENT_ERROR, MOM_AGENT_ERROR_TIMEOUT,
                    "The guest agent reports that %s timed out (%s).", command, msg);
    } else if (vir_code == VIR_ERR_AGENT_UNRESPONSIVE || vir_code == VIR_ERR_AGENT_UNSYNCED ||
               contains(msg, "agent is not connected") ||
               contains(msg, "agent is not configured") || contains(msg, "not responding")) {
        g_set_error(error, MOM_AGENT_ERROR, MOM_AGENT_ERROR_NO_AGENT,
                    "The guest agent is not available (%s).", msg);
    } else if (contains(msg, "No such file or directory")) {
        g_set_error(error, MOM_AGENT_ERROR, MOM_AGENT_ERROR_NO_FILE,
                    "The guest agent command %s failed: %s%s", command, msg,
                    mom_collector_full_stop(msg));
    } else {
        g_set_error(error, MOM_AGENT_ERROR, MOM_AGENT_ERROR_FAILED,
                    "The guest agent command %s failed: %s%s", command, msg,
                    mom_collector_full_stop(msg));
    }
}

MomGuestAgentState
mom_agent_state_of(const GError *error)
{
    if (!error || error->domain != MOM_AGENT_ERROR)
        return MOM_GUEST_AGENT_FAILED;
    switch (error->code) {
    case MOM_AGENT_ERROR_NO_AGENT:
    case MOM_AGENT_ERROR_TIMEOUT:
        return MOM_GUEST_AGENT_UNREACHABLE;
    case MOM_AGENT_ERROR_DISABLED:
        return MOM_GUEST_AGENT_BLOCKED;
    default:
        return MOM_GUEST_AGENT_FAILED;
    }
}

/* ---- replies ------------------------------------------------------------------ */

JsonNode *
mom_agent_parse_reply(const char *command, const char *reply, GError **error)
{
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(GError) json_error = NULL;

    if (!reply || !json_parser_load_from_data(parser, reply, -1, &json_error)) {
        const char *why = json_error ? json_error->message : "there is no reply";
        g_set_error(error, MOM_AGENT_ERROR, MOM_AGENT_ERROR_PROTOCOL,
                    "The guest agent's reply to %s is not JSON: %s%s", command, why,
                    mom_collector_full_stop(why));
        return NULL;
    }
    JsonNode *root = json_parser_get_root(parser);
    JsonObject *obj = root && JSON_NODE_HOLDS_OBJECT(root) ? json_node_get_object(root) : NULL;
    if (obj && json_object_has_member(obj, "return"))
        return json_node_copy(json_object_get_member(obj, "return"));
    if (obj && json_object_has_member(obj, "error")) {
        JsonNode *e = json_object_get_member(obj, "error");
        JsonObject *eo = JSON_NODE_HOLDS_OBJECT(e) ? json_node_get_object(e) : NULL;
        const char *klass = eo ? json_object_get_string_member_with_default(eo, "class", "") : "";
        const char *desc = eo ? json_object_get_string_member_with_default(eo, "desc", "") : "";
        g_autofree char *msg = g_strdup_printf("%s%s%s", desc, *klass ? ", class " : "", klass);
        mom_agent_set_error(error, command, 0, 0, msg);
        return NULL;
    }
    g_set_error(error, MOM_AGENT_ERROR, MOM_AGENT_ERROR_PROTOCOL,
                "The guest agent's reply to %s has neither \"return\" nor \"error\".", command);
    return NULL;
}

static gboolean
b64_char(char c)
{
    return g_ascii_isalnum(c) || c == '+' || c == '/';
}

GBytes *
mom_agent_decode_b64(const char *command, const char *b64, GError **error)
{
    gsize len = strlen(b64);
    gsize pad = 0;

    /* g_base64_decode() skips what it does not know: a corrupt reply
     * would silently become a shorter, wrong file */
    if (len % 4 != 0)
        goto bad;
    while (pad < 2 && pad < len && b64[len - 1 - pad] == '=')
        pad++;
    for (gsize i = 0; i < len - pad; i++)
        if (!b64_char(b64[i]))
            goto bad;
    if (len == 0)
        return g_bytes_new(NULL, 0);
    gsize out_len;
    guchar *out = g_base64_decode(b64, &out_len);
    return g_bytes_new_take(out, out_len);

bad:
    g_set_error(error, MOM_AGENT_ERROR, MOM_AGENT_ERROR_PROTOCOL,
                "The guest agent's reply to %s has invalid base64 data.", command);
    return NULL;
}

gboolean
mom_agent_parse_read(JsonNode *ret, GByteArray *buf, gboolean *eof, GError **error)
{
    JsonObject *obj = ret && JSON_NODE_HOLDS_OBJECT(ret) ? json_node_get_object(ret) : NULL;
    JsonNode *b64 = obj ? json_object_get_member(obj, "buf-b64") : NULL;
    JsonNode *count = obj ? json_object_get_member(obj, "count") : NULL;

    if (!b64 || json_node_get_value_type(b64) != G_TYPE_STRING || !count ||
        json_node_get_value_type(count) != G_TYPE_INT64) {
        g_set_error(error, MOM_AGENT_ERROR, MOM_AGENT_ERROR_PROTOCOL,
                    "The guest agent's reply to guest-file-read lacks \"count\" or \"buf-b64\".");
        return FALSE;
    }
    g_autoptr(GBytes) bytes =
        mom_agent_decode_b64("guest-file-read", json_node_get_string(b64), error);
    if (!bytes)
        return FALSE;
    gint64 n = json_node_get_int(count);
    if (n < 0 || (guint64)n != g_bytes_get_size(bytes)) {
        g_set_error(error, MOM_AGENT_ERROR, MOM_AGENT_ERROR_PROTOCOL,
                    "The guest agent's reply to guest-file-read says %" G_GINT64_FORMAT
                    " bytes but carries %" G_GSIZE_FORMAT ".",
                    n, g_bytes_get_size(bytes));
        return FALSE;
    }
    g_byte_array_append(buf, g_bytes_get_data(bytes, NULL), (guint)g_bytes_get_size(bytes));
    *eof = json_object_get_boolean_member_with_default(obj, "eof", FALSE);
    return TRUE;
}

/* ---- files -------------------------------------------------------------------- */

static JsonNode *
agent_call(MomAgentSendFunc send, gpointer user_data, guint timeout, const char *name,
           JsonBuilder *args, GError **error)
{
    g_autoptr(JsonBuilder) b = json_builder_new();

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "execute");
    json_builder_add_string_value(b, name);
    json_builder_set_member_name(b, "arguments");
    json_builder_add_value(b, json_builder_get_root(args));
    json_builder_end_object(b);
    g_autoptr(JsonNode) root = json_builder_get_root(b);
    g_autofree char *command = json_to_string(root, FALSE);
    g_autofree char *reply = send(user_data, name, command, timeout, error);
    if (!reply)
        return NULL;
    return mom_agent_parse_reply(name, reply, error);
}

static JsonBuilder *
args_begin(void)
{
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    return b;
}

static gboolean
read_chunks(MomAgentSendFunc send, gpointer user_data, const char *path, gint64 handle,
            const MomAgentOptions *options, GByteArray *buf, GError **error)
{
    gsize max_size = (gsize)options->max_file_kib * 1024;

    for (;;) {
        g_autoptr(JsonBuilder) a = args_begin();
        json_builder_set_member_name(a, "handle");
        json_builder_add_int_value(a, handle);
        json_builder_set_member_name(a, "count");
        /* one byte over the cap is enough to tell a file that is too large */
        json_builder_add_int_value(a, MIN(MOM_AGENT_READ_CHUNK, max_size + 1 - buf->len));
        json_builder_end_object(a);
        g_autoptr(JsonNode) ret =
            agent_call(send, user_data, options->timeout, "guest-file-read", a, error);
        guint before = buf->len;
        gboolean eof = FALSE;
        if (!ret || !mom_agent_parse_read(ret, buf, &eof, error))
            return FALSE;
        if (buf->len > max_size) {
            g_set_error(error, MOM_AGENT_ERROR, MOM_AGENT_ERROR_TOO_LARGE,
                        "The guest file %s is larger than %u KiB, the "
                        "[Collector: GuestQemuAgent] max-file-kib limit.",
                        path, options->max_file_kib);
            return FALSE;
        }
        /* an agent that reports no eof but sends nothing is at the end too */
        if (eof || buf->len == before)
            return TRUE;
    }
}

gboolean
mom_agent_read_file(MomAgentSendFunc send, gpointer user_data, const char *path,
                    const MomAgentOptions *options, char **contents, gsize *length, GError **error)
{
    g_return_val_if_fail(options != NULL && options->timeout > 0 && options->max_file_kib > 0,
                         FALSE);

    g_autoptr(JsonBuilder) a = args_begin();
    json_builder_set_member_name(a, "path");
    json_builder_add_string_value(a, path);
    json_builder_set_member_name(a, "mode");
    json_builder_add_string_value(a, "r");
    json_builder_end_object(a);
    g_autoptr(JsonNode) h =
        agent_call(send, user_data, options->timeout, "guest-file-open", a, error);
    if (!h)
        return FALSE;
    if (json_node_get_value_type(h) != G_TYPE_INT64) {
        g_set_error(error, MOM_AGENT_ERROR, MOM_AGENT_ERROR_PROTOCOL,
                    "The guest agent's reply to guest-file-open has no file handle.");
        return FALSE;
    }
    gint64 handle = json_node_get_int(h);
    g_autoptr(GByteArray) buf = g_byte_array_new();
    gboolean ok = read_chunks(send, user_data, path, handle, options, buf, error);

    /* always closed: qemu-ga keeps a handle until it is told, and has a
     * limit on open handles */
    g_autoptr(JsonBuilder) c = args_begin();
    json_builder_set_member_name(c, "handle");
    json_builder_add_int_value(c, handle);
    json_builder_end_object(c);
    g_autoptr(GError) close_error = NULL;
    g_autoptr(JsonNode) closed =
        agent_call(send, user_data, options->timeout, "guest-file-close", c, &close_error);
    if (!closed && ok) {
        g_propagate_error(error, g_steal_pointer(&close_error));
        return FALSE;
    }
    if (!ok)
        return FALSE;
    if (length)
        *length = buf->len;
    g_byte_array_append(buf, (const guint8 *)"", 1);
    *contents = (char *)g_byte_array_free(g_steal_pointer(&buf), FALSE);
    return TRUE;
}

/* ---- /proc ------------------------------------------------------------------- */

gboolean
mom_agent_parse_memory(const char *meminfo, const char *vmstat, const char *pressure,
                       MomGuestAgentData *out, GError **error)
{
    MomProcKey mem[] = {{"MemTotal"}, {"MemFree"},   {"Buffers"},
                        {"Cached"},   {"SwapTotal"}, {"SwapFree"}};
    MomProcKey vm[] = {{"pgfault"}, {"pgmajfault"}, {"pswpin"}, {"pswpout"}};
    MomPsiLine some = {0}, full = {0};

    /* the guest's own word: what cannot be true is refused, as from the host's files */
    if (!mom_proc_parse_meminfo("guest:/proc/meminfo", meminfo, mem, G_N_ELEMENTS(mem), error) ||
        !mom_proc_check_keys("guest:/proc/meminfo", mem, G_N_ELEMENTS(mem), error) ||
        !mom_proc_parse_vmstat("guest:/proc/vmstat", vmstat, vm, G_N_ELEMENTS(vm), error) ||
        !mom_proc_check_keys("guest:/proc/vmstat", vm, G_N_ELEMENTS(vm), error))
        return FALSE;
    if (pressure &&
        !mom_proc_parse_pressure("guest:/proc/pressure/memory", pressure, &some, &full, error))
        return FALSE;
#define KEY(k) ((k).found ? (k).value : -1)
    out->mem_total = KEY(mem[0]);
    out->mem_free = KEY(mem[1]);
    out->buffers = KEY(mem[2]);
    out->cached = KEY(mem[3]);
    out->swap_total = KEY(mem[4]);
    out->swap_free = KEY(mem[5]);
    out->pgfault = KEY(vm[0]);
    out->pgmajfault = KEY(vm[1]);
    out->pswpin = KEY(vm[2]);
    out->pswpout = KEY(vm[3]);
#undef KEY
    out->psi_some = some.present;
    out->psi_full = full.present;
    out->psi_some_avg10 = some.avg10;
    out->psi_some_avg60 = some.avg60;
    out->psi_some_total = (gint64)MIN(some.total, (guint64)G_MAXINT64);
    out->psi_full_avg10 = full.avg10;
    out->psi_full_avg60 = full.avg60;
    out->psi_full_total = (gint64)MIN(full.total, (guint64)G_MAXINT64);
    return TRUE;
}

gboolean
mom_agent_read_memory(MomAgentSendFunc send, gpointer user_data, const MomAgentOptions *options,
                      gboolean *psi, MomGuestAgentData *out, GError **error)
{
    g_autofree char *meminfo = NULL;
    g_autofree char *vmstat = NULL;
    g_autofree char *pressure = NULL;

    if (!mom_agent_read_file(send, user_data, "/proc/meminfo", options, &meminfo, NULL, error) ||
        !mom_agent_read_file(send, user_data, "/proc/vmstat", options, &vmstat, NULL, error))
        return FALSE;
    if (*psi) {
        g_autoptr(GError) psi_error = NULL;
        if (!mom_agent_read_file(send, user_data, "/proc/pressure/memory", options, &pressure, NULL,
                                 &psi_error)) {
            /* a kernel without PSI (or with psi=0) has no such file, or
             * refuses to open it (EOPNOTSUPP) */
            if (!g_error_matches(psi_error, MOM_AGENT_ERROR, MOM_AGENT_ERROR_NO_FILE) &&
                !contains(psi_error->message, "not supported")) {
                g_propagate_error(error, g_steal_pointer(&psi_error));
                return FALSE;
            }
            *psi = FALSE;
        }
    }
    if (!mom_agent_parse_memory(meminfo, vmstat, pressure, out, error))
        return FALSE;
    out->state = MOM_GUEST_AGENT_OK;
    out->error[0] = '\0';
    return TRUE;
}

/* ---- the poller ------------------------------------------------------------------ */

typedef struct {
    gint ref;
    char *uuid;
    char *name;
    gint64 started;         /* monotonic µs when the last read began (main context) */
    gboolean psi;           /* try /proc/pressure/memory (the running read's) */
    gboolean running;       /* a read is queued or running; under the poller's lock */
    MomGuestAgentData data; /* the newest result; under the poller's lock */
} AgentGuest;

struct _MomAgentPoller {
    gint ref;
    MomLibvirt *lv;
    guint interval;
    MomAgentOptions options; /* main context only: each job takes a copy */
    GThreadPool *pool;
    GMutex lock;
    GHashTable *guests; /* uuid -> AgentGuest; main context only */
};

typedef struct {
    MomAgentPoller *poller;
    AgentGuest *guest;
    MomAgentOptions options; /* as they were when the read was queued */
} AgentJob;

static AgentGuest *
agent_guest_ref(AgentGuest *g)
{
    g_atomic_int_inc(&g->ref);
    return g;
}

static void
agent_guest_unref(gpointer p)
{
    AgentGuest *g = p;
    if (!g_atomic_int_dec_and_test(&g->ref))
        return;
    g_free(g->uuid);
    g_free(g->name);
    g_free(g);
}

static MomAgentPoller *
poller_ref(MomAgentPoller *p)
{
    g_atomic_int_inc(&p->ref);
    return p;
}

static void
poller_unref(MomAgentPoller *p)
{
    if (!g_atomic_int_dec_and_test(&p->ref))
        return;
    mom_libvirt_unref(p->lv);
    g_mutex_clear(&p->lock);
    g_free(p);
}

static void
agent_job_free(gpointer data)
{
    AgentJob *j = data;
    agent_guest_unref(j->guest);
    poller_unref(j->poller);
    g_free(j);
}

static char *
agent_send_libvirt(gpointer user_data, const char *name, const char *command, guint timeout,
                   GError **error)
{
    char *reply = virDomainQemuAgentCommand(user_data, command, (int)timeout, 0);

    if (!reply) {
        int code;
        g_autofree char *why = mom_libvirt_take_error(&code);
        mom_agent_set_error(error, name, timeout, code, why);
        return NULL;
    }
    char *out = g_strdup(reply);
    free(reply); /* libvirt's allocation */
    return out;
}

static void
agent_thread(gpointer data, gpointer unused)
{
    AgentJob *j = data;
    AgentGuest *g = j->guest;
    virConnectPtr conn = mom_libvirt_conn_ref(j->poller->lv);
    virDomainPtr dom = conn ? virDomainLookupByUUIDString(conn, g->uuid) : NULL;
    MomGuestAgentData d;
    g_autoptr(GError) error = NULL;
    gboolean ok = FALSE;

    memset(&d, 0, sizeof(d));
    if (dom)
        ok = mom_agent_read_memory(agent_send_libvirt, dom, &j->options, &g->psi, &d, &error);
    g_mutex_lock(&j->poller->lock);
    if (!dom) {
        /* libvirt is gone or the guest stopped: the guest manager hears of
         * both on its own, and the data it has is as good as any */
    } else if (ok) {
        d.reads = g->data.reads + 1;
        g->data = d;
    } else {
        g->data.state = mom_agent_state_of(error);
        g_strlcpy(g->data.error, error->message, sizeof(g->data.error));
        g->psi = TRUE; /* look again once it answers: it may be a new boot */
    }
    g->running = FALSE;
    g_mutex_unlock(&j->poller->lock);
    if (error)
        g_debug("Guest agent read of %s failed: %s", g->name, error->message);
    if (dom)
        virDomainFree(dom);
    if (conn)
        virConnectClose(conn);
    agent_job_free(j);
}

MomAgentPoller *
mom_agent_poller_new(MomLibvirt *lv, guint interval, const MomAgentOptions *options)
{
    MomAgentPoller *p = g_new0(MomAgentPoller, 1);

    p->ref = 1;
    p->lv = mom_libvirt_ref(lv);
    p->interval = MAX(interval, 1);
    mom_agent_poller_set_options(p, options);
    g_mutex_init(&p->lock);
    p->guests = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, agent_guest_unref);
    /* a few threads: one guest whose agent hangs (the timeout on each
     * command) must not hold up the others */
    p->pool =
        g_thread_pool_new_full(agent_thread, NULL, agent_job_free, AGENT_THREADS, FALSE, NULL);
    return p;
}

void
mom_agent_poller_set_options(MomAgentPoller *p, const MomAgentOptions *options)
{
    g_return_if_fail(options != NULL && options->timeout > 0 && options->max_file_kib > 0);

    p->options = *options;
}

void
mom_agent_poller_free(MomAgentPoller *p)
{
    if (!p)
        return;
    /* queued reads are dropped; running ones hold their own references */
    g_thread_pool_free(p->pool, TRUE, FALSE);
    g_hash_table_destroy(p->guests);
    poller_unref(p);
}

void
mom_agent_poller_update(MomAgentPoller *p, const char *uuid, const char *name,
                        MomGuestAgentData *out)
{
    AgentGuest *g = g_hash_table_lookup(p->guests, uuid);
    gint64 now = g_get_monotonic_time();
    gboolean start;

    if (!g) {
        g = g_new0(AgentGuest, 1);
        g->ref = 1;
        g->uuid = g_strdup(uuid);
        g->name = g_strdup(name);
        g->psi = TRUE;
        g_hash_table_insert(p->guests, g->uuid, g);
    }
    g_mutex_lock(&p->lock);
    *out = g->data;
    /* The monitor and manager timers both merge: a little slack keeps a
     * read from slipping a whole interval when they meet. */
    start = !g->running &&
            (g->started == 0 || now - g->started >= (gint64)p->interval * G_USEC_PER_SEC - 250000);
    if (start)
        g->running = TRUE;
    g_mutex_unlock(&p->lock);
    if (!start)
        return;
    g->started = now;
    AgentJob *j = g_new0(AgentJob, 1);
    j->poller = poller_ref(p);
    j->guest = agent_guest_ref(g);
    j->options = p->options;
    g_thread_pool_push(p->pool, j, NULL);
}

void
mom_agent_poller_forget(MomAgentPoller *p, const char *uuid)
{
    if (p)
        g_hash_table_remove(p->guests, uuid);
}
