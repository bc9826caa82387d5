/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The guest-agent file reader (src/momd/mom-agent.c) against a fake qemu-ga
 * that answers the JSON commands with canned replies from an in-memory
 * file system: chunked reads of a 200 KiB file, eof handling, the size
 * cap and the timeout set in [Collector: GuestQemuAgent], bad base64,
 * the agent's "has been disabled" error and libvirt's error texts, the
 * close that must follow every successful open; then the GuestQemuAgent
 * collector over the MomGuestData the reader fills, including its
 * log-once degradation and recovery.
 */
#include "config.h"

#include <check.h>
#include <string.h>

#include <glib.h>
#include <json-glib/json-glib.h>
#include <libvirt/virterror.h>

#include "mom-agent-priv.h"
#include "mom-collector.h"
#include "collector-priv.h"
#include "mom-test-log.h"

/* ---- a fake agent --------------------------------------------------------------- */

typedef struct {
    GHashTable *files;   /* guest path -> GBytes */
    GHashTable *handles; /* handle -> GINT_TO_POINTER(offset + 1), for the open ones */
    GHashTable *paths;   /* handle -> path */
    gint64 next_handle;
    guint opens, reads, closes;
    gint64 largest_count; /* the largest "count" asked for */
    guint timeout;        /* every command must come with this timeout */
    guint commands;       /* commands sent */
    /* faults */
    const char *error_on;    /* this command answers with @error_reply */
    const char *error_reply; /* a whole reply ({"error": ...}) */
    const char *fail_on;     /* this command fails in the transport ... */
    int fail_code;           /* ... with this libvirt code ... */
    const char *fail_msg;    /* ... and message */
    gboolean bad_b64;        /* reads answer with invalid base64 */
    gboolean lie_count;      /* reads say one byte more than they carry */
    gboolean never_eof;      /* reads never set eof (0 bytes at the end) */
} Fake;

static Fake *
fake_new(void)
{
    Fake *f = g_new0(Fake, 1);
    f->files =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_bytes_unref);
    f->handles = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
    f->paths = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
    f->next_handle = 1000;
    f->timeout = MOM_AGENT_DEFAULT_TIMEOUT;
    return f;
}

static void
fake_free(Fake *f)
{
    g_hash_table_destroy(f->files);
    g_hash_table_destroy(f->handles);
    g_hash_table_destroy(f->paths);
    g_free(f);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Fake, fake_free)

static void
fake_add(Fake *f, const char *path, const char *data, gsize len)
{
    g_hash_table_insert(f->files, g_strdup(path), g_bytes_new(data, len));
}

static void
fake_add_fixture(Fake *f, const char *guest_path, const char *fixture)
{
    g_autofree char *file =
        g_build_filename(g_getenv("MOM_TEST_DATA"), "data", "proc", fixture, NULL);
    g_autofree char *text = NULL;
    gsize len;

    ck_assert_msg(g_file_get_contents(file, &text, &len, NULL), "cannot read %s", file);
    fake_add(f, guest_path, text, len);
}

static char *
fake_send(gpointer user_data, const char *name, const char *command, guint timeout, GError **error)
{
    Fake *f = user_data;
    g_autoptr(JsonParser) p = json_parser_new();

    ck_assert_uint_eq(timeout, f->timeout);
    f->commands++;

    ck_assert(json_parser_load_from_data(p, command, -1, NULL));
    JsonObject *o = json_node_get_object(json_parser_get_root(p));
    const char *exec = json_object_get_string_member(o, "execute");
    JsonObject *args = json_object_get_object_member(o, "arguments");
    ck_assert_str_eq(exec, name);

    if (f->fail_on && strcmp(exec, f->fail_on) == 0) {
        mom_agent_set_error(error, name, timeout, f->fail_code, f->fail_msg);
        return NULL;
    }
    if (f->error_on && strcmp(exec, f->error_on) == 0)
        return g_strdup(f->error_reply);
    if (strcmp(exec, "guest-file-open") == 0) {
        const char *path = json_object_get_string_member(args, "path");
        ck_assert_str_eq(json_object_get_string_member(args, "mode"), "r");
        f->opens++;
        if (!g_hash_table_contains(f->files, path))
            return g_strdup_printf("{\"error\":{\"class\":\"GenericError\",\"desc\":\"failed to "
                                   "open file '%s' (mode: 'r'): No such file or directory\"}}",
                                   path);
        gint64 *h = g_new(gint64, 1);
        *h = f->next_handle++;
        g_hash_table_insert(f->handles, h, GINT_TO_POINTER(1));
        g_hash_table_insert(f->paths, g_memdup2(h, sizeof(*h)), g_strdup(path));
        return g_strdup_printf("{\"return\":%" G_GINT64_FORMAT "}", *h);
    }
    gint64 h = json_object_get_int_member(args, "handle");
    ck_assert_msg(g_hash_table_contains(f->handles, &h), "%s on a handle not open", exec);
    if (strcmp(exec, "guest-file-close") == 0) {
        f->closes++;
        g_hash_table_remove(f->handles, &h);
        return g_strdup("{\"return\":{}}");
    }
    ck_assert_str_eq(exec, "guest-file-read");
    f->reads++;
    gint64 count = json_object_get_int_member(args, "count");
    f->largest_count = MAX(f->largest_count, count);
    GBytes *file = g_hash_table_lookup(f->files, g_hash_table_lookup(f->paths, &h));
    gsize off = GPOINTER_TO_SIZE(g_hash_table_lookup(f->handles, &h)) - 1;
    gsize size = g_bytes_get_size(file);
    gsize n = MIN((gsize)count, size - off);
    const guchar *data = (const guchar *)g_bytes_get_data(file, NULL) + off;
    g_autofree char *b64 = n ? g_base64_encode(data, n) : g_strdup("");
    gint64 *key = g_memdup2(&h, sizeof(h));
    g_hash_table_replace(f->handles, key, GSIZE_TO_POINTER(off + n + 1));
    /* qemu-ga's eof is feof() after fread(): set once a read hit the end */
    gboolean eof = !f->never_eof && off + n >= size && n < (gsize)count;
    return g_strdup_printf(
        "{\"return\":{\"count\":%" G_GSIZE_FORMAT ",\"buf-b64\":\"%s\",\"eof\":%s}}",
        n + (f->lie_count ? 1 : 0), f->bad_b64 ? "QUJD*A==" : b64, eof ? "true" : "false");
}

/* ---- reading files ------------------------------------------------------------------ */

static const MomAgentOptions defaults = {MOM_AGENT_DEFAULT_TIMEOUT, MOM_AGENT_DEFAULT_MAX_FILE_KIB};
/* the smallest cap [Collector: GuestQemuAgent] max-file-kib allows */
static const MomAgentOptions small = {MOM_AGENT_DEFAULT_TIMEOUT, 4};

START_TEST(test_read_small)
{
    g_autoptr(Fake) f = fake_new();
    g_autoptr(GError) error = NULL;
    g_autofree char *text = NULL;
    gsize len = 0;

    fake_add_fixture(f, "/proc/meminfo", "normal/meminfo");
    ck_assert(mom_agent_read_file(fake_send, f, "/proc/meminfo", &defaults, &text, &len, &error));
    ck_assert_ptr_null(error);
    ck_assert_uint_eq(len, g_bytes_get_size(g_hash_table_lookup(f->files, "/proc/meminfo")));
    ck_assert(g_str_has_prefix(text, "MemTotal:       16384000 kB\n"));
    ck_assert(g_str_has_suffix(text, "Hugepagesize:       2048 kB\n"));
    /* MOM asked for 1 KiB at a time and stopped after the first */
    ck_assert_uint_gt(len, 512);
    ck_assert_uint_eq(f->opens, 1);
    ck_assert_uint_eq(f->reads, 1);
    ck_assert_uint_eq(f->closes, 1);
    ck_assert_uint_eq(g_hash_table_size(f->handles), 0);
}
END_TEST

/* A 200 KiB file, more than three chunks: every byte arrives, in order. */
START_TEST(test_read_200k)
{
    g_autoptr(Fake) f = fake_new();
    g_autoptr(GError) error = NULL;
    g_autoptr(GString) big = g_string_new(NULL);
    g_autofree char *text = NULL;
    gsize len = 0;

    for (guint i = 0; big->len < 200 * 1024; i++)
        g_string_append_printf(big, "line%06u %u\n", i, i * 7919);
    g_string_truncate(big, 200 * 1024);
    fake_add(f, "/proc/vmstat", big->str, big->len);
    ck_assert(mom_agent_read_file(fake_send, f, "/proc/vmstat", &defaults, &text, &len, &error));
    ck_assert_uint_eq(len, 200 * 1024);
    ck_assert(memcmp(text, big->str, len) == 0);
    ck_assert_int_eq(text[len], '\0');
    /* 64 + 64 + 64 + 8 KiB, the last with eof */
    ck_assert_uint_eq(f->reads, 4);
    ck_assert_int_eq(f->largest_count, MOM_AGENT_READ_CHUNK);
    ck_assert_uint_eq(f->closes, 1);
}
END_TEST

START_TEST(test_read_eof)
{
    g_autoptr(GError) error = NULL;

    /* exactly one chunk: the first read ends at the end but fread() has
     * not seen EOF yet; the second reads 0 bytes with eof */
    {
        g_autoptr(Fake) f = fake_new();
        g_autofree char *buf = g_malloc(MOM_AGENT_READ_CHUNK);
        g_autofree char *text = NULL;
        gsize len = 0;
        memset(buf, 'x', MOM_AGENT_READ_CHUNK);
        fake_add(f, "/f", buf, MOM_AGENT_READ_CHUNK);
        ck_assert(mom_agent_read_file(fake_send, f, "/f", &defaults, &text, &len, &error));
        ck_assert_uint_eq(len, MOM_AGENT_READ_CHUNK);
        ck_assert_uint_eq(f->reads, 2);
    }
    /* an agent that never says eof: 0 bytes end the file too */
    {
        g_autoptr(Fake) f = fake_new();
        g_autofree char *text = NULL;
        gsize len = 0;
        f->never_eof = TRUE;
        fake_add(f, "/f", "abc\n", 4);
        ck_assert(mom_agent_read_file(fake_send, f, "/f", &defaults, &text, &len, &error));
        ck_assert_str_eq(text, "abc\n");
        ck_assert_uint_eq(f->reads, 2);
        ck_assert_uint_eq(f->closes, 1);
    }
    /* an empty file */
    {
        g_autoptr(Fake) f = fake_new();
        g_autofree char *text = NULL;
        gsize len = 7;
        fake_add(f, "/empty", "", 0);
        ck_assert(mom_agent_read_file(fake_send, f, "/empty", &defaults, &text, &len, &error));
        ck_assert_uint_eq(len, 0);
        ck_assert_str_eq(text, "");
    }
    ck_assert_ptr_null(error);
}
END_TEST

START_TEST(test_read_too_large)
{
    g_autoptr(Fake) f = fake_new();
    g_autoptr(GError) error = NULL;
    g_autofree char *text = NULL;
    gsize size = MOM_AGENT_DEFAULT_MAX_FILE_KIB * 1024 + 1;
    g_autofree char *buf = g_malloc0(size);

    fake_add(f, "/big", buf, size);
    ck_assert(!mom_agent_read_file(fake_send, f, "/big", &defaults, &text, NULL, &error));
    ck_assert_ptr_null(text);
    ck_assert(g_error_matches(error, MOM_AGENT_ERROR, MOM_AGENT_ERROR_TOO_LARGE));
    ck_assert_str_eq(error->message, "The guest file /big is larger than 1024 KiB, the "
                                     "[Collector: GuestQemuAgent] max-file-kib limit.");
    ck_assert_uint_eq(f->closes, 1);
    /* a file of exactly the cap is fine */
    g_clear_error(&error);
    fake_add(f, "/cap", buf, size - 1);
    ck_assert(mom_agent_read_file(fake_send, f, "/cap", &defaults, &text, NULL, &error));
}
END_TEST

/* max-file-kib and timeout as an operator sets them: every command
 * carries the timeout (the fake checks each), and the cap is exact.  The
 * timeout's message: test_read_bad_replies. */
START_TEST(test_read_configured)
{
    MomAgentOptions opts = {7, 4};
    g_autofree char *buf = g_malloc(4097);

    memset(buf, 'x', 4097);
    {
        g_autoptr(Fake) f = fake_new();
        g_autoptr(GError) error = NULL;
        g_autofree char *text = NULL;
        gsize len = 0;

        f->timeout = 7;
        fake_add(f, "/proc/vmstat", buf, 4096);
        ck_assert(mom_agent_read_file(fake_send, f, "/proc/vmstat", &opts, &text, &len, &error));
        ck_assert_uint_eq(len, 4096);
        ck_assert_uint_eq(f->commands, 3); /* open, read (all and eof), close */
    }
    {
        g_autoptr(Fake) f = fake_new();
        g_autoptr(GError) error = NULL;
        g_autofree char *text = NULL;

        f->timeout = 7;
        fake_add(f, "/proc/vmstat", buf, 4097);
        ck_assert(!mom_agent_read_file(fake_send, f, "/proc/vmstat", &opts, &text, NULL, &error));
        ck_assert(g_error_matches(error, MOM_AGENT_ERROR, MOM_AGENT_ERROR_TOO_LARGE));
        ck_assert_str_eq(error->message, "The guest file /proc/vmstat is larger than 4 KiB, the "
                                         "[Collector: GuestQemuAgent] max-file-kib limit.");
        /* no more than one byte over the cap is asked for */
        ck_assert_int_eq(f->largest_count, 4097);
        ck_assert_uint_eq(f->closes, 1);
    }
}
END_TEST

START_TEST(test_read_bad_replies)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *text = NULL;

    {
        g_autoptr(Fake) f = fake_new();
        f->bad_b64 = TRUE;
        fake_add(f, "/f", "abc", 3);
        ck_assert(!mom_agent_read_file(fake_send, f, "/f", &small, &text, NULL, &error));
        ck_assert(g_error_matches(error, MOM_AGENT_ERROR, MOM_AGENT_ERROR_PROTOCOL));
        ck_assert_str_eq(error->message,
                         "The guest agent's reply to guest-file-read has invalid base64 data.");
        ck_assert_uint_eq(f->closes, 1); /* closed after the error */
        g_clear_error(&error);
    }
    {
        g_autoptr(Fake) f = fake_new();
        f->lie_count = TRUE;
        fake_add(f, "/f", "abc", 3);
        ck_assert(!mom_agent_read_file(fake_send, f, "/f", &small, &text, NULL, &error));
        ck_assert(g_error_matches(error, MOM_AGENT_ERROR, MOM_AGENT_ERROR_PROTOCOL));
        ck_assert_str_eq(error->message, "The guest agent's reply to guest-file-read says 4 "
                                         "bytes but carries 3.");
        ck_assert_uint_eq(f->closes, 1);
        g_clear_error(&error);
    }
    /* the read times out half-way: the handle is still closed, and the
     * message names the configured timeout */
    {
        g_autoptr(Fake) f = fake_new();
        MomAgentOptions slow = {7, 4};
        f->timeout = 7;
        f->fail_on = "guest-file-read";
        f->fail_code = VIR_ERR_AGENT_UNRESPONSIVE;
        f->fail_msg = "Guest agent is not responding: Guest agent not available for now";
        fake_add(f, "/f", "abc", 3);
        ck_assert(!mom_agent_read_file(fake_send, f, "/f", &slow, &text, NULL, &error));
        ck_assert(g_error_matches(error, MOM_AGENT_ERROR, MOM_AGENT_ERROR_TIMEOUT));
        ck_assert_str_eq(error->message,
                         "The guest agent did not answer guest-file-read within 7 s, the "
                         "[Collector: GuestQemuAgent] timeout (Guest agent is not responding: "
                         "Guest agent not available for now).");
        ck_assert_uint_eq(f->closes, 1);
        g_clear_error(&error);
    }
    /* no such file: nothing to close */
    {
        g_autoptr(Fake) f = fake_new();
        ck_assert(!mom_agent_read_file(fake_send, f, "/proc/pressure/memory", &small, &text, NULL,
                                       &error));
        ck_assert(g_error_matches(error, MOM_AGENT_ERROR, MOM_AGENT_ERROR_NO_FILE));
        ck_assert_uint_eq(f->closes, 0);
        g_clear_error(&error);
    }
    /* a failed close after a good read is still an error (the handle leaks) */
    {
        g_autoptr(Fake) f = fake_new();
        f->error_on = "guest-file-close";
        f->error_reply = "{\"error\":{\"class\":\"GenericError\",\"desc\":\"bad handle\"}}";
        fake_add(f, "/f", "abc", 3);
        ck_assert(!mom_agent_read_file(fake_send, f, "/f", &small, &text, NULL, &error));
        ck_assert(g_error_matches(error, MOM_AGENT_ERROR, MOM_AGENT_ERROR_FAILED));
        /* a full sentence, though the agent's own text has no full stop */
        ck_assert_str_eq(error->message, "The guest agent command guest-file-close failed: bad "
                                         "handle, class GenericError.");
        ck_assert_ptr_null(text);
    }
}
END_TEST

/* qemu-ga -b guest-file-open (or an allow-list without it) */
START_TEST(test_read_disabled)
{
    g_autoptr(Fake) f = fake_new();
    g_autoptr(GError) error = NULL;
    g_autofree char *text = NULL;

    f->error_on = "guest-file-open";
    f->error_reply = "{\"error\":{\"class\":\"CommandNotFound\",\"desc\":\"Command "
                     "guest-file-open has been disabled\"}}";
    fake_add(f, "/proc/meminfo", "MemTotal: 1 kB\n", 15);
    ck_assert(!mom_agent_read_file(fake_send, f, "/proc/meminfo", &small, &text, NULL, &error));
    ck_assert(g_error_matches(error, MOM_AGENT_ERROR, MOM_AGENT_ERROR_DISABLED));
    ck_assert_str_eq(error->message,
                     "The guest agent refuses guest-file-open because the guest's qemu-ga "
                     "allow/block list blocks it (Command guest-file-open has been disabled, "
                     "class CommandNotFound); GuestQemuAgent needs guest-file-open, "
                     "guest-file-read and guest-file-close allowed.");
    ck_assert_uint_eq(f->closes, 0);
    ck_assert_int_eq(mom_agent_state_of(error), MOM_GUEST_AGENT_BLOCKED);
}
END_TEST

/* ---- replies and errors ------------------------------------------------------------- */

START_TEST(test_decode_b64)
{
    static const struct {
        const char *in;
        const char *out; /* NULL: invalid */
    } cases[] = {
        {"", ""},       {"TWFu", "Man"},      {"TWE=", "Ma"},  {"TQ==", "M"},
        {"TWF", NULL},  {"TW=u", NULL},       {"TQ===", NULL}, {"TWFu\n", NULL},
        {"T WF", NULL}, {"TWF*", NULL},       {"====", NULL},  {"bGluZQo=", "line\n"},
        {"-_-_", NULL}, {"A+/=", "\x03\xef"},
    };

    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GError) error = NULL;
        g_autoptr(GBytes) b = mom_agent_decode_b64("guest-file-read", cases[i].in, &error);
        if (!cases[i].out) {
            ck_assert_msg(b == NULL, "\"%s\" decoded", cases[i].in);
            ck_assert(g_error_matches(error, MOM_AGENT_ERROR, MOM_AGENT_ERROR_PROTOCOL));
            continue;
        }
        ck_assert_msg(b != NULL, "\"%s\": %s", cases[i].in, error ? error->message : "?");
        ck_assert_uint_eq(g_bytes_get_size(b), strlen(cases[i].out));
        /* an empty GBytes may hold a NULL pointer: no memcmp on it */
        ck_assert(strlen(cases[i].out) == 0 ||
                  memcmp(g_bytes_get_data(b, NULL), cases[i].out, strlen(cases[i].out)) == 0);
    }
}
END_TEST

START_TEST(test_parse_reply)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) ret = NULL;
    g_autoptr(GByteArray) buf = g_byte_array_new();
    gboolean eof = FALSE;

    ret = mom_agent_parse_reply("guest-file-open", "{\"return\":1001}", &error);
    ck_assert_ptr_nonnull(ret);
    ck_assert_int_eq(json_node_get_int(ret), 1001);
    g_clear_pointer(&ret, json_node_unref);

    ret = mom_agent_parse_reply("guest-file-read",
                                "{\"return\":{\"count\":5,\"buf-b64\":\"bGluZQo=\",\"eof\":true}}",
                                &error);
    ck_assert(mom_agent_parse_read(ret, buf, &eof, &error));
    ck_assert_uint_eq(buf->len, 5);
    ck_assert(memcmp(buf->data, "line\n", 5) == 0);
    ck_assert(eof);
    g_clear_pointer(&ret, json_node_unref);

    /* eof absent: not at the end */
    ret = mom_agent_parse_reply("guest-file-read", "{\"return\":{\"count\":0,\"buf-b64\":\"\"}}",
                                &error);
    ck_assert(mom_agent_parse_read(ret, buf, &eof, &error));
    ck_assert(!eof);
    g_clear_pointer(&ret, json_node_unref);

    ret = mom_agent_parse_reply("guest-file-read", "{\"return\":{\"eof\":true}}", &error);
    ck_assert(!mom_agent_parse_read(ret, buf, &eof, &error));
    ck_assert(g_error_matches(error, MOM_AGENT_ERROR, MOM_AGENT_ERROR_PROTOCOL));
    g_clear_pointer(&ret, json_node_unref);
    g_clear_error(&error);

    ck_assert_ptr_null(mom_agent_parse_reply("guest-file-open", "{\"return\":", &error));
    ck_assert(g_error_matches(error, MOM_AGENT_ERROR, MOM_AGENT_ERROR_PROTOCOL));
    /* json-glib's reason ends without a full stop; the sentence has one */
    ck_assert_msg(g_str_has_prefix(error->message,
                                   "The guest agent's reply to guest-file-open is not JSON: ") &&
                      g_str_has_suffix(error->message, ".") &&
                      !g_str_has_suffix(error->message, ".."),
                  "%s", error->message);
    g_clear_error(&error);
    ck_assert_ptr_null(mom_agent_parse_reply("guest-file-open", NULL, &error));
    ck_assert_str_eq(error->message,
                     "The guest agent's reply to guest-file-open is not JSON: there is no reply.");
    g_clear_error(&error);
    ck_assert_ptr_null(mom_agent_parse_reply("guest-file-open", "{\"id\":1}", &error));
    ck_assert(g_error_matches(error, MOM_AGENT_ERROR, MOM_AGENT_ERROR_PROTOCOL));
    ck_assert_str_eq(error->message, "The guest agent's reply to guest-file-open has neither "
                                     "\"return\" nor \"error\".");
    g_clear_error(&error);
    ck_assert_ptr_null(mom_agent_parse_reply("guest-file-open", "[1,2]", &error));
    ck_assert(g_error_matches(error, MOM_AGENT_ERROR, MOM_AGENT_ERROR_PROTOCOL));
}
END_TEST

/* libvirt's words for each failure, as libvirt 9.0 reports them */
START_TEST(test_classify)
{
    static const struct {
        int code;
        const char *msg;
        MomAgentErrorCode want;
        MomGuestAgentState state;
    } cases[] = {
        {VIR_ERR_AGENT_UNRESPONSIVE,
         "Guest agent is not responding: QEMU guest agent is not connected",
         MOM_AGENT_ERROR_NO_AGENT, MOM_GUEST_AGENT_UNREACHABLE},
        {VIR_ERR_AGENT_UNRESPONSIVE,
         "Guest agent is not responding: Guest agent not available for now",
         MOM_AGENT_ERROR_TIMEOUT, MOM_GUEST_AGENT_UNREACHABLE},
        {VIR_ERR_AGENT_UNRESPONSIVE,
         "Guest agent is not responding: QEMU guest agent is not available due to an error",
         MOM_AGENT_ERROR_NO_AGENT, MOM_GUEST_AGENT_UNREACHABLE},
        {VIR_ERR_ARGUMENT_UNSUPPORTED, "argument unsupported: QEMU guest agent is not configured",
         MOM_AGENT_ERROR_NO_AGENT, MOM_GUEST_AGENT_UNREACHABLE},
        {VIR_ERR_AGENT_UNSYNCED, "Guest agent replied with wrong id to guest-sync command",
         MOM_AGENT_ERROR_NO_AGENT, MOM_GUEST_AGENT_UNREACHABLE},
        {VIR_ERR_INTERNAL_ERROR,
         "internal error: unable to execute QEMU agent command 'guest-file-open': Command "
         "guest-file-open has been disabled",
         MOM_AGENT_ERROR_DISABLED, MOM_GUEST_AGENT_BLOCKED},
        {VIR_ERR_INTERNAL_ERROR,
         "internal error: unable to execute QEMU agent command 'guest-file-read': The command "
         "guest-file-read is not allowed",
         MOM_AGENT_ERROR_DISABLED, MOM_GUEST_AGENT_BLOCKED},
        {VIR_ERR_INTERNAL_ERROR,
         "internal error: unable to execute QEMU agent command 'guest-file-open': failed to "
         "open file '/proc/pressure/memory' (mode: 'r'): No such file or directory",
         MOM_AGENT_ERROR_NO_FILE, MOM_GUEST_AGENT_FAILED},
        {VIR_ERR_OPERATION_INVALID, "Requested operation is not valid: domain is not running",
         MOM_AGENT_ERROR_FAILED, MOM_GUEST_AGENT_FAILED},
        {0, NULL, MOM_AGENT_ERROR_FAILED, MOM_GUEST_AGENT_FAILED},
    };

    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GError) error = NULL;
        mom_agent_set_error(&error, "guest-file-open", MOM_AGENT_DEFAULT_TIMEOUT, cases[i].code,
                            cases[i].msg);
        ck_assert_msg(error->domain == MOM_AGENT_ERROR && error->code == (int)cases[i].want,
                      "case %u (%s): code %d", i, cases[i].msg, error->code);
        ck_assert_int_eq(mom_agent_state_of(error), cases[i].state);
        if (cases[i].msg)
            ck_assert_msg(strstr(error->message, cases[i].msg) != NULL, "%s", error->message);
    }
    {
        g_autoptr(GError) error = NULL;
        mom_agent_set_error(&error, "guest-file-open", MOM_AGENT_DEFAULT_TIMEOUT,
                            VIR_ERR_AGENT_UNRESPONSIVE,
                            "Guest agent is not responding: QEMU guest agent is not connected");
        ck_assert_str_eq(error->message, "The guest agent is not available (Guest agent is not "
                                         "responding: QEMU guest agent is not connected).");
    }
    /* an answer from the agent itself: no timeout of momd's was involved */
    {
        g_autoptr(GError) error = NULL;
        ck_assert_ptr_null(mom_agent_parse_reply(
            "guest-file-read", "{\"error\":{\"class\":\"GenericError\",\"desc\":\"timed out\"}}",
            &error));
        ck_assert(g_error_matches(error, MOM_AGENT_ERROR, MOM_AGENT_ERROR_TIMEOUT));
        ck_assert_str_eq(error->message, "The guest agent reports that guest-file-read timed out "
                                         "(timed out, class GenericError).");
    }
}
END_TEST

/* ---- /proc through the agent ------------------------------------------------------- */

START_TEST(test_read_memory)
{
    g_autoptr(Fake) f = fake_new();
    g_autoptr(GError) error = NULL;
    MomGuestAgentData d = {0};
    gboolean psi = TRUE;

    fake_add_fixture(f, "/proc/meminfo", "normal/meminfo");
    fake_add_fixture(f, "/proc/vmstat", "normal/vmstat");
    fake_add_fixture(f, "/proc/pressure/memory", "normal/pressure/memory");
    ck_assert(mom_agent_read_memory(fake_send, f, &defaults, &psi, &d, &error));
    ck_assert_int_eq(d.state, MOM_GUEST_AGENT_OK);
    ck_assert_int_eq(d.mem_total, 16384000);
    ck_assert_int_eq(d.mem_free, 8192000);
    ck_assert_int_eq(d.buffers, 100000);
    ck_assert_int_eq(d.cached, 2000000);
    ck_assert_int_eq(d.swap_total, 4194300);
    ck_assert_int_eq(d.swap_free, 4000000);
    ck_assert_int_eq(d.pgfault, 99999999);
    ck_assert_int_eq(d.pgmajfault, 500);
    ck_assert_int_eq(d.pswpin, 1000);
    ck_assert_int_eq(d.pswpout, 2000);
    ck_assert(psi && d.psi_some && d.psi_full);
    ck_assert(d.psi_some_avg10 == 1.5 && d.psi_full_avg60 == 0.25);
    ck_assert_int_eq(d.psi_some_total, 123456);
    ck_assert_uint_eq(f->opens, 3);
    ck_assert_uint_eq(f->closes, 3);

    /* a guest without PSI: still a good read, and psi is not asked again */
    g_hash_table_remove(f->files, "/proc/pressure/memory");
    memset(&d, 0, sizeof(d));
    ck_assert(mom_agent_read_memory(fake_send, f, &defaults, &psi, &d, &error));
    ck_assert(!psi && !d.psi_some && !d.psi_full);
    guint opens = f->opens;
    ck_assert(mom_agent_read_memory(fake_send, f, &defaults, &psi, &d, &error));
    ck_assert_uint_eq(f->opens, opens + 2);

    /* a /proc/vmstat over the configured cap fails the whole read */
    {
        g_autoptr(GString) vmstat = g_string_new(NULL);
        MomAgentOptions opts = {MOM_AGENT_DEFAULT_TIMEOUT, 4};

        for (guint i = 0; vmstat->len <= 4096; i++)
            g_string_append_printf(vmstat, "nr_counter_%u %u\n", i, i);
        fake_add(f, "/proc/vmstat", vmstat->str, vmstat->len);
        ck_assert(!mom_agent_read_memory(fake_send, f, &opts, &psi, &d, &error));
        ck_assert(g_error_matches(error, MOM_AGENT_ERROR, MOM_AGENT_ERROR_TOO_LARGE));
        ck_assert_msg(strstr(error->message, "/proc/vmstat is larger than 4 KiB") != NULL, "%s",
                      error->message);
        ck_assert_int_eq(mom_agent_state_of(error), MOM_GUEST_AGENT_FAILED);
        g_clear_error(&error);
        fake_add_fixture(f, "/proc/vmstat", "normal/vmstat");
    }

    /* a garbled meminfo is a parse error, naming the guest's file */
    fake_add(f, "/proc/meminfo", "MemTotal 12\n", 12);
    ck_assert(!mom_agent_read_memory(fake_send, f, &defaults, &psi, &d, &error));
    ck_assert(g_error_matches(error, MOM_COLLECTOR_ERROR, MOM_COLLECTOR_ERROR_PARSE));
    ck_assert_msg(strstr(error->message, "guest:/proc/meminfo") != NULL, "%s", error->message);
    ck_assert_int_eq(mom_agent_state_of(error), MOM_GUEST_AGENT_FAILED);
    g_clear_error(&error);

    /* so are values that cannot be true, as the host's are: a guest's
     * word is not taken for a memory of 0 or a negative counter */
    static const struct {
        const char *meminfo, *vmstat, *message;
    } lies[] = {
        {"MemTotal: 0 kB\nMemFree: 0 kB\n", "pswpin 0\n",
         "guest:/proc/meminfo: MemTotal is 0, which cannot be true (it must be at least 1)."},
        {"MemTotal: 1000 kB\nMemFree: 2000 kB\n", "pswpin 0\n",
         "guest:/proc/meminfo: MemFree is 2000, more than MemTotal (1000), which cannot be true."},
        {"MemTotal: 1000 kB\nMemFree: 500 kB\n", "pgmajfault -3\n",
         "guest:/proc/vmstat: pgmajfault is -3, which cannot be true (it must be at least 0)."},
    };
    for (guint i = 0; i < G_N_ELEMENTS(lies); i++) {
        fake_add(f, "/proc/meminfo", lies[i].meminfo, strlen(lies[i].meminfo));
        fake_add(f, "/proc/vmstat", lies[i].vmstat, strlen(lies[i].vmstat));
        ck_assert(!mom_agent_read_memory(fake_send, f, &defaults, &psi, &d, &error));
        ck_assert(g_error_matches(error, MOM_COLLECTOR_ERROR, MOM_COLLECTOR_ERROR_PARSE));
        ck_assert_str_eq(error->message, lies[i].message);
        ck_assert_int_eq(mom_agent_state_of(error), MOM_GUEST_AGENT_FAILED);
        g_clear_error(&error);
    }
}
END_TEST

/* ---- the collector ------------------------------------------------------------------ */

/* What the collector says at MESSAGE level or above (its info and debug
 * lines are not counted). */
#define SAID (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE)

static void
agent_ok(MomGuestAgentData *a, gint64 pswpin, gint64 pswpout)
{
    *a = (MomGuestAgentData){
        .state = MOM_GUEST_AGENT_OK,
        .mem_total = 500000,
        .mem_free = 400000,
        .buffers = 1000,
        .cached = 20000,
        .swap_total = 100000,
        .swap_free = 90000,
        .pgfault = 7777,
        .pgmajfault = 77,
        .pswpin = pswpin,
        .pswpout = pswpout,
    };
}

static gint64
get_int(MomSample *s, const char *field)
{
    const MomValue *v = mom_sample_get(s, field);
    ck_assert_msg(v->type == MOM_VALUE_INT, "%s is not an integer", field);
    return v->u.i;
}

static MomSample *
collect(const MomCollectorClass *k, gpointer state)
{
    g_autoptr(MomSchema) schema = mom_collector_schema_new(&k, 1);
    MomSample *s = mom_sample_new(schema);
    g_autoptr(GError) error = NULL;

    ck_assert_msg(k->collect(state, s, &error), "collect: %s", error ? error->message : "?");
    return s;
}

START_TEST(test_collector)
{
    const MomCollectorClass *k = mom_collector_lookup("GuestQemuAgent");
    MomGuestAgentData agent = {0};
    MomGuestData g = {.name = "vm1", .uuid = "u1"}; /* no agent read kept yet */
    MomCollectorConfig cfg = {.proc_root = "/nonexistent", .interval = 2, .guest = &g};
    g_autoptr(GError) error = NULL;

    ck_assert_ptr_nonnull(k);
    /* MOM's getFields(): every field mandatory */
    ck_assert_str_eq(k->fields[2], "mem_free");
    ck_assert_str_eq(k->fields[8], "swap_usage");
    ck_assert_ptr_null(k->fields[9]);
    gpointer st = k->init(&cfg, &error);
    ck_assert_ptr_nonnull(st);

    /* before the first read: nil, silent */
    {
        g_autoptr(MomSample) s = collect(k, st);
        ck_assert_str_eq(mom_sample_missing_field(s, k), "mem_available");
        ck_assert_uint_eq(mom_test_log_count_at(SAID, ""), 0);
    }
    /* the guest manager keeps a read, none finished yet: the same */
    g.agent = &agent;
    {
        g_autoptr(MomSample) s = collect(k, st);
        ck_assert_str_eq(mom_sample_missing_field(s, k), "mem_available");
        ck_assert_uint_eq(mom_test_log_count_at(SAID, ""), 0);
    }
    agent_ok(&agent, 100, 200);
    {
        g_autoptr(MomSample) s = collect(k, st);
        ck_assert_ptr_null(mom_sample_missing_field(s, k));
        ck_assert_int_eq(get_int(s, "mem_available"), 500000);
        ck_assert_int_eq(get_int(s, "mem_unused"), 400000);
        ck_assert_int_eq(get_int(s, "mem_free"), 421000);
        ck_assert_int_eq(get_int(s, "swap_total"), 100000);
        ck_assert_int_eq(get_int(s, "swap_usage"), 10000);
        ck_assert_int_eq(get_int(s, "minor_fault"), 7777);
        ck_assert_int_eq(get_int(s, "major_fault"), 77);
        /* deltas, 0 at first (MOM) */
        ck_assert_int_eq(get_int(s, "swap_in"), 0);
        ck_assert_int_eq(get_int(s, "swap_out"), 0);
        ck_assert_int_eq(mom_sample_get(s, "guest_psi_some_avg10")->type, MOM_VALUE_NIL);
    }
    agent_ok(&agent, 130, 250);
    agent.psi_some = TRUE;
    agent.psi_some_avg10 = 2.5;
    agent.psi_some_total = 1000;
    {
        g_autoptr(MomSample) s = collect(k, st);
        ck_assert_int_eq(get_int(s, "swap_in"), 30);
        ck_assert_int_eq(get_int(s, "swap_out"), 50);
        ck_assert(mom_sample_get(s, "guest_psi_some_avg10")->u.d == 2.5);
        ck_assert_int_eq(get_int(s, "guest_psi_some_total"), 0);
        ck_assert_int_eq(mom_sample_get(s, "guest_psi_full_avg10")->type, MOM_VALUE_NIL);
    }
    /* the agent dies: nil, TRUE, one warning for many cycles */
    agent.state = MOM_GUEST_AGENT_UNREACHABLE;
    g_strlcpy(agent.error, "The guest agent is not available (not connected).",
              sizeof(agent.error));
    for (int i = 0; i < 3; i++) {
        g_autoptr(MomSample) s = collect(k, st);
        ck_assert_str_eq(mom_sample_missing_field(s, k), "mem_available");
        ck_assert_int_eq(mom_sample_get(s, "mem_free")->type, MOM_VALUE_NIL);
    }
    ck_assert_uint_eq(
        mom_test_log_count_at(SAID, "GuestQemuAgent has no data for vm1 until its agent answers: "
                                    "The guest agent is not available (not connected)."),
        1);
    /* it comes back with its file commands blocked: that is said once too */
    agent.state = MOM_GUEST_AGENT_BLOCKED;
    g_strlcpy(agent.error, "The guest agent refuses guest-file-open because ...",
              sizeof(agent.error));
    for (int i = 0; i < 2; i++) {
        g_autoptr(MomSample) s = collect(k, st);
    }
    ck_assert_uint_eq(
        mom_test_log_count_at(SAID, "until its agent answers: The guest agent refuses"), 1);
    ck_assert_uint_eq(mom_test_log_count_at(SAID, ""), 2);
    /* recovery: said once; deltas start again from 0 */
    agent_ok(&agent, 900, 900);
    for (int i = 0; i < 2; i++) {
        g_autoptr(MomSample) s = collect(k, st);
        ck_assert_int_eq(get_int(s, "swap_in"), 0);
    }
    ck_assert_uint_eq(mom_test_log_count_at(SAID, "The guest agent of vm1 answers again"), 1);
    ck_assert_uint_eq(mom_test_log_count_at(SAID, ""), 3);
    k->free(st);

    /* a host collector list cannot have it */
    cfg.guest = NULL;
    g_clear_error(&error);
    ck_assert_ptr_null(k->init(&cfg, &error));
    ck_assert(g_error_matches(error, MOM_COLLECTOR_ERROR, MOM_COLLECTOR_ERROR_CONFIG));
}
END_TEST

static Suite *
agent_suite(void)
{
    Suite *s = suite_create("agent");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, mom_test_log_capture, mom_test_log_release);
    tcase_add_test(tc, test_read_small);
    tcase_add_test(tc, test_read_200k);
    tcase_add_test(tc, test_read_eof);
    tcase_add_test(tc, test_read_too_large);
    tcase_add_test(tc, test_read_configured);
    tcase_add_test(tc, test_read_bad_replies);
    tcase_add_test(tc, test_read_disabled);
    tcase_add_test(tc, test_decode_b64);
    tcase_add_test(tc, test_parse_reply);
    tcase_add_test(tc, test_classify);
    tcase_add_test(tc, test_read_memory);
    tcase_add_test(tc, test_collector);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    Suite *s = agent_suite();
    SRunner *sr = srunner_create(s);
    int failed;

    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
