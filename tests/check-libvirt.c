/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * MomLibvirt, the guest manager and the Balloon controller against
 * libvirt's test driver, in this process: connecting (and failing to),
 * the bulk collection with its per-domain fallback (the test driver's
 * bulk call has no balloon.* fields), the XML-derived fields, guests
 * offered to a policy, and balloon changes read back from libvirt.
 *
 * Two properties of the test driver shape these tests.  A test:///FILE
 * connection starts from FILE and keeps its own state, so what momd
 * changes is read back through momd's own connection.  test:///default is
 * one shared state for every open connection of the process, so a second
 * connection opened here can destroy a domain under momd.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <signal.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "balloon-priv.h"
#include "mom-controller.h"
#include "mom-guests.h"
#include "mom-libvirt-priv.h"
#include "mom-libvirt.h"
#include "mom-test-fs.h"
#include "mom-test-log.h"

#define DEFAULT_UUID "6695eb01-f6a4-8304-79aa-97f2502e193f"

/* ---- log capture -------------------------------------------------------------- */

static void
dump_log(void)
{
    g_autofree char *all = mom_test_log_dump();
    fprintf(stderr, "# log:%s\n", all);
}

static char *tmp_dir;

static void
setup(void)
{
    mom_test_log_capture();
    tmp_dir = g_dir_make_tmp("momd-libvirt-XXXXXX", NULL);
    ck_assert(tmp_dir != NULL);
}

static void
teardown(void)
{
    mom_test_remove_tree(tmp_dir);
    g_clear_pointer(&tmp_dir, g_free);
    mom_test_log_release();
}

/* ---- the main loop ------------------------------------------------------------ */

static gboolean
expire(gpointer data)
{
    *(gboolean *)data = TRUE;
    return G_SOURCE_REMOVE;
}

/* Iterates the default context until @done(@data) holds or @ms pass. */
static gboolean
run_until(gboolean (*done)(gpointer), gpointer data, guint ms)
{
    gboolean expired = FALSE;
    guint id = g_timeout_add(ms, expire, &expired);

    while (!(done && done(data)) && !expired)
        g_main_context_iteration(NULL, TRUE);
    if (!expired)
        g_source_remove(id);
    return done && done(data);
}

static void
run_for(guint ms)
{
    run_until(NULL, NULL, ms);
}

/* The stats-period calls of the guest manager run in workers that use the
 * MomLibvirt without a reference, and nothing waits for them: freeing it
 * while one runs is a use-after-free (valgrind shows it).  Let them finish
 * before a test frees its MomLibvirt. */
static void
drain_workers(void)
{
    run_for(300);
}

typedef struct {
    MomGuests *gs;
    guint64 until;
} Collections;

static gboolean
collections_reached(gpointer data)
{
    Collections *c = data;
    return mom_guests_collections(c->gs) >= c->until;
}

/* One tick, then the loop until its collection has been merged. */
static void
tick_and_wait(MomGuests *gs)
{
    Collections c = {gs, mom_guests_collections(gs) + 1};

    mom_guests_tick(gs);
    if (!run_until(collections_reached, &c, 10000)) {
        dump_log();
        ck_abort_msg("no collection landed within 10 s");
    }
}

/* ---- fixtures ------------------------------------------------------------------ */

/* Writes a test-driver file of @n domains (tests/libvirt/make-test-xml.py)
 * and returns its URI. */
static char *
make_uri(guint n)
{
    const char *top = g_getenv("MOM_TOP_SRCDIR");
    ck_assert_msg(top != NULL, "MOM_TOP_SRCDIR is not set: run through meson test");
    g_autofree char *script = g_build_filename(top, "tests", "libvirt", "make-test-xml.py", NULL);
    g_autofree char *count = g_strdup_printf("%u", n);
    g_autofree char *name = g_strdup_printf("guests-%u.xml", n);
    g_autofree char *path = g_build_filename(tmp_dir, name, NULL);
    const char *argv[] = {"python3", script, count, path, NULL};
    g_autofree char *err = NULL;
    g_autoptr(GError) error = NULL;
    int status = 0;

    ck_assert_msg(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL,
                               &err, &status, &error),
                  "%s", error ? error->message : "");
    ck_assert_msg(g_spawn_check_wait_status(status, NULL), "make-test-xml.py: %s", err);
    return g_strconcat("test://", path, NULL);
}

/* What make-test-xml.py gives domain @i (1-based), with its default options. */
typedef struct {
    char name[16];
    char uuid[VIR_UUID_STRING_BUFLEN];
    gint64 max_kib, cur_kib, min_kib;
    gboolean nosharepages, stats_period;
} Expected;

static Expected
expected(guint i)
{
    Expected e = {0};
    g_snprintf(e.name, sizeof(e.name), "vm%04u", i);
    g_snprintf(e.uuid, sizeof(e.uuid), "6d6f6d64-0000-4000-8000-%012u", i);
    e.max_kib = 1024 * 1024;
    e.cur_kib = 768 * 1024 - (gint64)(i % 8) * 1024;
    e.min_kib = i % 3 == 0 ? e.cur_kib / 4 : 0;
    e.nosharepages = i % 5 == 0;
    e.stats_period = i % 2 == 1;
    return e;
}

typedef struct {
    guint connected;
    guint disconnected;
    GPtrArray *events; /* "uuid event" */
} Seen;

static void
on_connected(gpointer data)
{
    ((Seen *)data)->connected++;
}

static void
on_disconnected(gpointer data)
{
    ((Seen *)data)->disconnected++;
}

static void
on_lifecycle(const char *uuid, int event, gpointer data)
{
    Seen *s = data;
    if (s->events)
        g_ptr_array_add(s->events, g_strdup_printf("%s %d", uuid, event));
}

static const MomLibvirtCallbacks callbacks = {on_connected, on_disconnected, on_lifecycle};

/* Writes the command line of fake process @pid under TMP/proc, the
 * arguments separated by '|' here and by NUL there, as the kernel has it. */
static void
fake_process(guint pid, const char *args)
{
    g_autofree char *rel = g_strdup_printf("proc/%u/cmdline", pid);
    g_autofree char *text = g_strdup(args);

    for (char *p = text; *p; p++)
        if (*p == '|')
            *p = '\0';
    /* the kernel's cmdline ends with a NUL too: written with its length */
    g_autofree char *path = g_build_filename(tmp_dir, rel, NULL);
    mom_test_write_file(tmp_dir, rel, "");
    ck_assert(g_file_set_contents(path, text, (gssize)strlen(args) + 1, NULL));
}

/* Connects with @run_dir ([main] libvirt-run-dir) and TMP/proc as proc-root. */
static MomLibvirt *
connect_with(const char *uri, const char *run_dir, Seen *seen)
{
    MomLibvirt *lv = mom_libvirt_new(uri, run_dir, &callbacks, seen);
    g_autofree char *proc = g_build_filename(tmp_dir, "proc", NULL);

    mom_libvirt_set_proc_root(lv, proc);
    mom_libvirt_start(lv);
    run_for(50);
    if (!mom_libvirt_connected(lv))
        dump_log();
    ck_assert_msg(mom_libvirt_connected(lv), "not connected to %s", uri);
    ck_assert_uint_eq(seen->connected, 1);
    return lv;
}

static MomLibvirt *
connect_to(const char *uri, Seen *seen)
{
    return connect_with(uri, tmp_dir, seen);
}

static const MomGuestData *
find_data(const MomGuestBatch *b, const char *uuid, const MomDomainInfo **info)
{
    for (guint i = 0; i < b->data->len; i++) {
        const MomGuestData *d = &g_array_index(b->data, MomGuestData, i);
        if (strcmp(d->uuid, uuid) == 0) {
            if (info)
                *info = b->domains->pdata[i];
            return d;
        }
    }
    return NULL;
}

static GHashTable *
known_of(const MomGuestBatch *b)
{
    GHashTable *known =
        g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)mom_domain_info_free);
    for (guint i = 0; i < b->domains->len; i++) {
        MomDomainInfo *c = mom_domain_info_copy(b->domains->pdata[i]);
        g_hash_table_insert(known, c->uuid, c);
    }
    return known;
}

static MomGuests *
guest_manager(MomLibvirt *lv)
{
    char *collectors[] = {"GuestMemory", "GuestBalloon", NULL};
    MomCollectorConfig base = {
        .proc_root = "/nonexistent", .sysfs_root = "/nonexistent", .interval = 1};
    g_autoptr(GError) error = NULL;
    MomGuests *gs = mom_guests_new(lv, collectors, &base, 3, NULL, 2, &error);

    ck_assert_msg(gs != NULL, "%s", error ? error->message : "");
    return gs;
}

static gint64
stat_of(MomEntity *e, const char *field)
{
    int at = mom_schema_lookup(mom_entity_schema(e), field);
    ck_assert_msg(at >= 0, "no field %s", field);
    const MomValue *v = mom_entity_stat(e, (guint)at);
    ck_assert_msg(v->type == MOM_VALUE_INT, "%s is not an integer", field);
    return v->u.i;
}

static gint64
control_int(MomEntity *e, const char *name)
{
    const MomValue *v = mom_entity_get_control(e, name);
    ck_assert_msg(v != NULL, "%s: no control %s", mom_entity_name(e), name);
    ck_assert_msg(v->type == MOM_VALUE_INT, "%s: control %s is a %s", mom_entity_name(e), name,
                  mom_value_type_name(v->type));
    return v->u.i;
}

/* ---- (a) test:///default --------------------------------------------------------- */

/* A collection that knows @prev's guests, which made @calls libvirt calls
 * and asked @asked domains for their UUID. */
static MomGuestBatch *
collect_after(MomLibvirt *lv, const MomGuestBatch *prev, guint calls, guint asked)
{
    g_autoptr(GHashTable) known = known_of(prev);
    g_autoptr(GError) error = NULL;
    MomGuestBatch *b = mom_libvirt_collect(lv, known, &error);

    ck_assert_msg(b != NULL, "%s", error ? error->message : "");
    ck_assert_uint_eq(b->calls, calls);
    ck_assert_uint_eq(b->asked, asked);
    return b;
}

START_TEST(test_default_connect_collect)
{
    Seen seen = {0};
    g_autofree char *pid_file = g_build_filename(tmp_dir, "test.pid", NULL);
    ck_assert(g_file_set_contents(pid_file, "4242\n", -1, NULL));
    fake_process(4242, "qemu-system-x86_64|-name|guest=test|-uuid|" DEFAULT_UUID);
    g_autoptr(MomLibvirt) lv = connect_to("test:///default", &seen);
    g_autoptr(GError) error = NULL;

    ck_assert_str_eq(mom_libvirt_uri(lv), "test:///default");
    ck_assert_uint_eq(mom_test_log_count("Connected to libvirt at test:///default."), 1);

    g_autoptr(MomGuestBatch) b = mom_libvirt_collect(lv, NULL, &error);
    ck_assert_msg(b != NULL, "%s", error ? error->message : "");
    ck_assert_uint_eq(b->data->len, 1);
    const MomDomainInfo *info = NULL;
    const MomGuestData *d = find_data(b, DEFAULT_UUID, &info);
    ck_assert_ptr_nonnull(d);
    ck_assert_str_eq(d->name, "test");
    /* the fallback: virDomainMemoryStats, and virDomainGetInfo for a new domain */
    ck_assert_int_eq(d->balloon_cur, 2097152);
    ck_assert_int_eq(d->balloon_max, 8388608);
    ck_assert_int_eq(d->unused, 1048576);
    ck_assert_int_eq(d->usable, 1048576);
    ck_assert_int_eq(d->disk_caches, 262144);
    ck_assert_int_eq(d->swap_in, 0);
    ck_assert_int_eq(d->major_fault, 0);
    ck_assert_int_gt(d->last_update, 0);
    ck_assert_int_gt(d->now, d->last_update);
    /* one bulk call, the list of running ids, two per-domain fallback
     * calls, one XML read, one scheduler parameter read (a new domain) */
    ck_assert_uint_eq(b->calls, 6);
    ck_assert_uint_eq(b->asked, 1);
    /* the test driver's scheduler is "fair" (weight only): no vCPU
     * bandwidth, reported as MOM does, 0 and 0 */
    ck_assert(d->tune.sched_known);
    ck_assert_int_eq(d->tune.vcpu_quota, 0);
    ck_assert_int_eq(d->tune.vcpu_period, 0);
    ck_assert_int_eq(d->tune.vcpu_count, 2);
    ck_assert(d->tune.vcpu_user_limit == 100);
    /* the XML: a virtio balloon without a stats period, no memtune */
    ck_assert(info->have_xml);
    ck_assert(info->has_balloon);
    ck_assert(!info->stats_period);
    ck_assert(!info->tune.nosharepages);
    ck_assert_int_eq(info->tune.balloon_min, 0);
    ck_assert_int_eq(d->tune.balloon_min, 0);
    ck_assert_int_eq(info->id, 1);
    /* the pid from RUN_DIR/NAME.pid, a process with the domain's -uuid */
    ck_assert_int_eq(info->pid, 4242);
    ck_assert_int_eq(d->pid, 4242);

    ck_assert_int_eq(info->max_memory, 8388608); /* <memory> */

    /* A known guest's XML is not read again, and its maximum is the XML's:
     * the bulk call, the list and the memory statistics; it is known by
     * its name. */
    g_autoptr(MomGuestBatch) b2 = collect_after(lv, b, 3, 0);
    d = find_data(b2, DEFAULT_UUID, &info);
    ck_assert_ptr_nonnull(d);
    ck_assert_int_eq(d->balloon_cur, 2097152);
    ck_assert_int_eq(d->balloon_max, 8388608);
    ck_assert_int_eq(d->unused, 1048576);
    ck_assert_int_eq(info->pid, 4242);
    ck_assert(info->has_balloon);

    /* Marked stale (as a device event does): XML, scheduler and
     * virDomainGetInfo again, since the XML's maximum may be old. */
    mom_libvirt_mark_stale(lv, DEFAULT_UUID);
    g_autoptr(MomGuestBatch) b3 = collect_after(lv, b2, 6, 0);
    d = find_data(b3, DEFAULT_UUID, &info);
    ck_assert_int_eq(d->balloon_max, 8388608);

    /* A balloon above the XML's maximum: the maximum changed unseen, and
     * virDomainGetInfo() is asked for it. */
    g_autoptr(GHashTable) known3 = known_of(b3);
    ((MomDomainInfo *)g_hash_table_lookup(known3, DEFAULT_UUID))->max_memory = 1048576;
    g_autoptr(MomGuestBatch) b4 = mom_libvirt_collect(lv, known3, &error);
    ck_assert_ptr_nonnull(b4);
    ck_assert_uint_eq(b4->calls, 4);
    d = find_data(b4, DEFAULT_UUID, NULL);
    ck_assert_ptr_nonnull(d);
    ck_assert_int_eq(d->balloon_max, 8388608);

    /* The first collection on a new connection reads the XML again (an
     * event may have been missed), so virDomainGetInfo() too, and knows no
     * name. */
    Seen seen2 = {0};
    g_autoptr(MomLibvirt) lv2 = connect_to("test:///default", &seen2);
    g_autoptr(GHashTable) known4 = known_of(b3);
    g_autoptr(MomGuestBatch) b5 = mom_libvirt_collect(lv2, known4, &error);
    ck_assert_ptr_nonnull(b5);
    ck_assert_uint_eq(b5->calls, 5);
    ck_assert_uint_eq(b5->asked, 1);
    d = find_data(b5, DEFAULT_UUID, &info);
    ck_assert_ptr_nonnull(d);
    ck_assert_uint_ne(info->xml_serial,
                      ((MomDomainInfo *)g_hash_table_lookup(known4, DEFAULT_UUID))->xml_serial);
}
END_TEST

/* ---- the QEMU pid without libvirt-run-dir -------------------------------------- */

/* The run directory comes from the URI: the daemon kind, its socket. */
/* A guest destroyed under a read of its scheduler parameters or I/O
 * limits is churn (debug), and so are the first failures of a QEMU still
 * starting; the MOM_LIBVIRT_READ_TRIES-th failure in a row is a warning,
 * once: the reads stop there until an event. */
START_TEST(test_churn_log_levels)
{
    /* and a statistics call held up for a second or two while a guest
     * starts or stops is no stall worth a warning */
    ck_assert(!mom_guests_stall_is_news(2 * G_USEC_PER_SEC, 1));
    ck_assert(!mom_guests_stall_is_news(MOM_GUESTS_STALL_WARN_S * G_USEC_PER_SEC - 1, 1));
    ck_assert(mom_guests_stall_is_news(MOM_GUESTS_STALL_WARN_S * G_USEC_PER_SEC, 1));
    ck_assert(!mom_guests_stall_is_news(9 * G_USEC_PER_SEC, 10));
    ck_assert(mom_guests_stall_is_news(10 * G_USEC_PER_SEC, 10));

    ck_assert_int_eq(mom_libvirt_read_fault(1, FALSE), G_LOG_LEVEL_DEBUG);
    ck_assert_int_eq(mom_libvirt_read_fault(MOM_LIBVIRT_READ_TRIES - 1, FALSE), G_LOG_LEVEL_DEBUG);
    ck_assert_int_eq(mom_libvirt_read_fault(MOM_LIBVIRT_READ_TRIES, FALSE), G_LOG_LEVEL_WARNING);
    ck_assert_int_eq(mom_libvirt_read_fault(MOM_LIBVIRT_READ_TRIES + 1, FALSE), G_LOG_LEVEL_DEBUG);
    ck_assert_int_eq(mom_libvirt_read_fault(MOM_LIBVIRT_READ_TRIES, TRUE), G_LOG_LEVEL_DEBUG);
}
END_TEST

START_TEST(test_run_dir_for_uri)
{
    static const struct {
        const char *uri;
        const char *dir; /* NULL: no local QEMU driver */
    } cases[] = {
        {"qemu:///system", "/run/libvirt/qemu"},
        /* the e2e lab's private libvirtd */
        {"qemu:///system?socket=/tmp/lab/run/libvirt-sock", "/tmp/lab/run/qemu"},
        {"qemu+unix:///system?socket=/srv/lv/virtqemud-sock", "/srv/lv/qemu"},
        {"qemu:///session", "/run/user/1000/libvirt/qemu/run"},
        {"qemu:///session?socket=/home/u/rt/libvirt/libvirt-sock", "/home/u/rt/libvirt/qemu/run"},
        {"qemu://localhost/system", "/run/libvirt/qemu"},
        {"qemu+ssh://root@far/system", NULL},
        {"qemu+tcp://far/system", NULL},
        {"qemu:///embed?root=/x", NULL},
        {"test:///default", NULL},
        {"lxc:///system", NULL},
        {"", NULL},
        {"not a URI", NULL},
    };

    g_setenv("XDG_RUNTIME_DIR", "/run/user/1000", TRUE);
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *dir = mom_libvirt_run_dir_for_uri(cases[i].uri);

        ck_assert_msg(g_strcmp0(dir, cases[i].dir) == 0, "%s: got %s, want %s", cases[i].uri,
                      dir ? dir : "NULL", cases[i].dir ? cases[i].dir : "NULL");
    }
}
END_TEST

/* A pid file counts only for a process with the domain's UUID; failing
 * that, the process list is searched for "-uuid UUID", as MOM did. */
START_TEST(test_pid_discovery)
{
    g_autofree char *proc = g_build_filename(tmp_dir, "proc", NULL);
    g_autofree char *run = g_build_filename(tmp_dir, "run", NULL);
    const char *other = "6d6f6d64-0000-4000-8000-000000000001";
    g_autofree char *other_args = g_strconcat("qemu-system-x86_64|-uuid|", other, NULL);

    /* no such process, a stale pid file, a pid reused by another guest */
    mom_test_write_file(run, "gone.pid", "4343\n");
    mom_test_write_file(run, "test.pid", "4242\n");
    mom_test_write_file(run, "junk.pid", "42abc\n");
    fake_process(4242, other_args);
    ck_assert_int_eq(mom_libvirt_pid_from_file(proc, run, "gone", DEFAULT_UUID), -1);
    ck_assert_int_eq(mom_libvirt_pid_from_file(proc, run, "test", DEFAULT_UUID), -1);
    ck_assert_int_eq(mom_libvirt_pid_from_file(proc, run, "junk", DEFAULT_UUID), -1);
    ck_assert_int_eq(mom_libvirt_pid_from_file(proc, run, "test", other), 4242);

    /* The process list: only the argument after -uuid counts. */
    fake_process(13, "virsh|dominfo|" DEFAULT_UUID);
    fake_process(14, "qemu-system-x86_64|-name|x|-uuid");
    mom_test_write_file(proc, "15/cmdline", ""); /* a kernel thread */
    mom_test_write_file(proc, "self/cmdline", "-uuid");
    g_autoptr(GHashTable) none = mom_libvirt_pids_by_uuid(proc);
    ck_assert_uint_eq(g_hash_table_size(none), 1); /* 4242 */
    fake_process(7777, "/usr/bin/qemu-system-x86_64|-name|guest=test|-uuid|6695EB01-F6A4-8304-"
                       "79AA-97F2502E193F|-smp|1");
    fake_process(7778, "/usr/bin/qemu-system-x86_64|--uuid|" DEFAULT_UUID);
    g_autoptr(GHashTable) pids = mom_libvirt_pids_by_uuid(proc);
    ck_assert_uint_eq(g_hash_table_size(pids), 2);
    ck_assert_uint_eq(GPOINTER_TO_SIZE(g_hash_table_lookup(pids, DEFAULT_UUID)), 7777);
    ck_assert_uint_eq(GPOINTER_TO_SIZE(g_hash_table_lookup(pids, other)), 4242);

    /* Through a collection: the stale test.pid in libvirt-run-dir is
     * passed over for the process list. */
    Seen seen = {0};
    g_autoptr(MomLibvirt) lv = connect_with("test:///default", run, &seen);
    g_autoptr(GError) error = NULL;
    g_autoptr(MomGuestBatch) b = mom_libvirt_collect(lv, NULL, &error);
    ck_assert_msg(b != NULL, "%s", error ? error->message : "");
    const MomGuestData *d = find_data(b, DEFAULT_UUID, NULL);
    ck_assert_ptr_nonnull(d);
    ck_assert_int_eq(d->pid, 7777);
    ck_assert_uint_eq(mom_test_log_count("The QEMU process of guest test is 7777, the process with "
                                         "-uuid " DEFAULT_UUID "."),
                      1);
}
END_TEST

/* Without a pid file or a process, the pid is unknown, and the debug log says
 * where momd looked. */
START_TEST(test_pid_not_found)
{
    Seen seen = {0};
    g_autoptr(MomLibvirt) lv = connect_with("test:///default", NULL, &seen);
    g_autoptr(GError) error = NULL;
    g_autoptr(MomGuestBatch) b = mom_libvirt_collect(lv, NULL, &error);
    g_autofree char *expect = g_strdup_printf("No QEMU process of guest test was found: no "
                                              "process with -uuid %s in %s/proc.",
                                              DEFAULT_UUID, tmp_dir);

    ck_assert_msg(b != NULL, "%s", error ? error->message : "");
    ck_assert_int_eq(find_data(b, DEFAULT_UUID, NULL)->pid, -1);
    if (mom_test_log_count(expect) != 1)
        dump_log();
    ck_assert_uint_eq(mom_test_log_count(expect), 1);
}
END_TEST

/* ---- (b) 50 generated domains ------------------------------------------------------ */

START_TEST(test_generated_discovery)
{
    g_autofree char *uri = make_uri(50);
    Seen seen = {0};
    g_autoptr(MomLibvirt) lv = connect_to(uri, &seen);
    g_autoptr(GError) error = NULL;

    g_autoptr(MomGuestBatch) b = mom_libvirt_collect(lv, NULL, &error);
    ck_assert_msg(b != NULL, "%s", error ? error->message : "");
    ck_assert_uint_eq(b->data->len, 50);
    ck_assert_uint_eq(b->domains->len, 50);
    for (guint i = 1; i <= 50; i++) {
        Expected e = expected(i);
        const MomDomainInfo *info = NULL;
        const MomGuestData *d = find_data(b, e.uuid, &info);
        ck_assert_msg(d != NULL, "%s (%s) not discovered", e.name, e.uuid);
        ck_assert_str_eq(d->name, e.name);
        ck_assert_str_eq(info->name, e.name);
        ck_assert_int_eq(d->balloon_cur, e.cur_kib);
        ck_assert_int_eq(d->balloon_max, e.max_kib);
        ck_assert_int_eq(d->tune.balloon_min, e.min_kib);
        ck_assert_int_eq(info->tune.balloon_min, e.min_kib);
        ck_assert_int_eq(d->tune.nosharepages, e.nosharepages);
        ck_assert_int_eq(info->stats_period, e.stats_period);
        ck_assert(info->has_balloon);
        ck_assert_int_eq(d->pid, -1); /* no pid file in the run dir */
    }
    /* 1 bulk + 1 list + 2 per domain (fallback) + 1 XML per new domain */
    ck_assert_uint_eq(b->calls, 2 + 50 * 2 + 50 + 50);
    ck_assert_uint_eq(b->asked, 50);

    g_autoptr(GHashTable) known = known_of(b);
    g_autoptr(MomGuestBatch) b2 = mom_libvirt_collect(lv, known, &error);
    ck_assert_uint_eq(b2->data->len, 50);
    ck_assert_uint_eq(b2->calls, 2 + 50); /* the memory statistics only */
    ck_assert_uint_eq(b2->asked, 0);
}
END_TEST

/* ---- (c) the guest manager and a policy ------------------------------------------- */

static const char guest_policy[] = "(with Guests g (g.Control \"cur\" g.balloon_cur))\n"
                                   "(with Guests g (g.Control \"max\" g.balloon_max))\n"
                                   "(with Guests g (g.Control \"min\" g.balloon_min))\n"
                                   "(with Guests g (g.Control \"unused\" g.mem_unused))\n"
                                   "(with Guests g (g.Control \"name\" (g.Prop \"name\")))\n";

START_TEST(test_guest_manager_policy)
{
    g_autofree char *uri = make_uri(50);
    Seen seen = {0};
    g_autoptr(MomLibvirt) lv = connect_to(uri, &seen);
    g_autoptr(MomGuests) gs = guest_manager(lv);
    g_autoptr(GError) error = NULL;

    ck_assert_uint_eq(mom_guests_count(gs), 0);
    tick_and_wait(gs);
    ck_assert_uint_eq(mom_guests_collections(gs), 1);
    ck_assert_uint_eq(mom_guests_count(gs), 50);
    ck_assert_uint_eq(mom_test_log_count("is now managed."), 50);
    ck_assert_uint_eq(mom_guests_calls(gs), 2 + 50 * 2 + 50 + 50);
    /* even domains have no stats period: momd sets one (2 s here) */
    ck_assert_uint_eq(mom_test_log_count("had no balloon statistics period; setting it to 2 s."),
                      25);

    g_autoptr(GPtrArray) entities = mom_guests_entities(gs);
    ck_assert_uint_eq(entities->len, 50);
    for (guint i = 0; i < entities->len; i++) {
        MomEntity *e = entities->pdata[i];
        Expected x = expected(i + 1); /* entities come in name order */
        ck_assert_str_eq(mom_entity_name(e), x.name);
        const MomValue *v = mom_entity_get_prop(e, "name");
        ck_assert(v && v->type == MOM_VALUE_STRING);
        ck_assert_str_eq(mom_value_string_get(v), x.name);
        v = mom_entity_get_prop(e, "uuid");
        ck_assert(v && v->type == MOM_VALUE_STRING);
        ck_assert_str_eq(mom_value_string_get(v), x.uuid);
        v = mom_entity_get_prop(e, "nosharepages");
        ck_assert(v && v->type == MOM_VALUE_BOOL);
        ck_assert_int_eq(mom_value_truthy(v), x.nosharepages);
        v = mom_entity_get_prop(e, "pid");
        ck_assert(v && v->type == MOM_VALUE_NIL);
        ck_assert_int_eq(stat_of(e, "balloon_cur"), x.cur_kib);
    }

    g_autoptr(MomPolicySet) set = mom_policy_set_new();
    ck_assert_msg(
        mom_policy_set_add_string(set, "guests", "guests.policy", guest_policy, -1, NULL, &error),
        "%s", error ? error->message : "");
    g_autoptr(MomPolicyRun) run = mom_policy_set_evaluate(set, NULL, entities, 0);
    ck_assert(run->ok);
    ck_assert_uint_eq(run->errors->len, 0);
    for (guint i = 0; i < entities->len; i++) {
        MomEntity *e = entities->pdata[i];
        Expected x = expected(i + 1);
        ck_assert_int_eq(control_int(e, "cur"), x.cur_kib);
        ck_assert_int_eq(control_int(e, "max"), x.max_kib);
        ck_assert_int_eq(control_int(e, "min"), x.min_kib);
        ck_assert_int_eq(control_int(e, "unused"), x.cur_kib / 2);
        const MomValue *n = mom_entity_get_control(e, "name");
        ck_assert(n && n->type == MOM_VALUE_STRING);
        ck_assert_str_eq(mom_value_string_get(n), x.name);
    }

    /* The period calls run in workers; none may fail on the test driver. */
    drain_workers();
    ck_assert_uint_eq(mom_test_log_count("Cannot set the balloon statistics period"), 0);

    /* The next collection reads no XML and keeps the same guests. */
    tick_and_wait(gs);
    ck_assert_uint_eq(mom_guests_count(gs), 50);
    ck_assert_uint_eq(mom_guests_calls(gs), 2 + 50);
    ck_assert_uint_eq(mom_test_log_count("is now managed."), 50);

    /* forget drops a guest at once; it is back when still running */
    mom_guests_forget(gs, expected(7).uuid);
    ck_assert_uint_eq(mom_guests_count(gs), 49);
    ck_assert_uint_eq(mom_test_log_count("Guest vm0007 stopped; it is dropped."), 1);
    mom_guests_forget(gs, "00000000-0000-0000-0000-000000000000");
    ck_assert_uint_eq(mom_guests_count(gs), 49);
    tick_and_wait(gs);
    ck_assert_uint_eq(mom_guests_count(gs), 50);
    ck_assert_uint_eq(mom_test_log_count("Guest vm0007 ("
                                         "6d6f6d64-0000-4000-8000-000000000007) is now managed."),
                      2);
    ck_assert_uint_eq(mom_test_log_count_at(G_LOG_LEVEL_WARNING, ""), 0);
    ck_assert_uint_eq(mom_test_log_count_at(G_LOG_LEVEL_CRITICAL, ""), 0);
}
END_TEST

/* Whether each domain's XML has a balloon statistics period now. */
static guint
count_with_period(MomLibvirt *lv)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(MomGuestBatch) b = mom_libvirt_collect(lv, NULL, &error); /* reads every XML */
    guint n = 0;

    ck_assert_msg(b != NULL, "%s", error ? error->message : "");
    for (guint i = 0; i < b->domains->len; i++)
        n += ((MomDomainInfo *)b->domains->pdata[i])->stats_period;
    return n;
}

/* A dry run leaves a guest without a statistics period as it is, says so
 * once per guest, and not again at the next collection; without dry run
 * the same guests get one (the check can fail). */
START_TEST(test_guest_manager_dry_run)
{
    g_autofree char *uri = make_uri(4);
    Seen seen = {0};
    g_autoptr(MomLibvirt) lv = connect_to(uri, &seen);

    ck_assert_uint_eq(count_with_period(lv), 2); /* vm0001, vm0003 */
    {
        g_autoptr(MomGuests) gs = guest_manager(lv);
        mom_guests_set_dry_run(gs, TRUE);
        tick_and_wait(gs);
        tick_and_wait(gs);
        drain_workers();
    }
    ck_assert_uint_eq(
        mom_test_log_count("Guest vm0002 has no balloon statistics period; 2 s would be "
                           "set (dry run)."),
        1);
    ck_assert_uint_eq(mom_test_log_count("would be set (dry run)."), 2);
    ck_assert_uint_eq(mom_test_log_count("setting it to"), 0);
    ck_assert_uint_eq(count_with_period(lv), 2);

    {
        g_autoptr(MomGuests) gs = guest_manager(lv);
        tick_and_wait(gs);
        drain_workers();
    }
    ck_assert_uint_eq(mom_test_log_count("had no balloon statistics period; setting it to 2 s."),
                      2);
    ck_assert_uint_eq(count_with_period(lv), 4);
}
END_TEST

/* ---- (d) domains that go away ----------------------------------------------------- */

/* libvirt's error: every API call, virDomainGetName() included, resets the
 * thread's error and frees the message a virGetLastErrorMessage() pointer
 * still points at.  mom_libvirt_take_error() copies it, so a later call
 * cannot free it (under ASan the old pattern was a use-after-free). */
START_TEST(test_take_error_survives_later_calls)
{
    g_autoptr(virConnect) c = virConnectOpen("test:///default");
    ck_assert_ptr_nonnull(c);
    g_autoptr(virDomain) dom = virDomainLookupByUUIDString(c, DEFAULT_UUID);
    ck_assert_ptr_nonnull(dom);

    ck_assert_ptr_null(virDomainLookupByName(c, "no-such-guest"));
    int code = -1;
    g_autofree char *msg = mom_libvirt_take_error(&code);
    ck_assert_int_eq(code, VIR_ERR_NO_DOMAIN);
    ck_assert_ptr_null(virGetLastError());
    /* the call that used to free the message before it was read */
    ck_assert_str_eq(virDomainGetName(dom), "test");
    ck_assert_msg(g_str_has_prefix(msg, "Domain not found"), "%s", msg);

    /* nothing failed: a message all the same, and no code */
    g_autofree char *none = mom_libvirt_take_error(&code);
    ck_assert_int_eq(code, VIR_ERR_OK);
    ck_assert_str_eq(none, "unknown error");
    g_free(mom_libvirt_take_error(NULL));
}
END_TEST

/* A balloon change refused by libvirt (the guest is defined but not
 * running) is a "no domain" error carrying libvirt's own words. */
START_TEST(test_refused_call_error)
{
    Seen seen = {0};
    g_autoptr(MomLibvirt) lv = connect_to("test:///default", &seen);
    const MomHypervisorOps *ops = mom_libvirt_hypervisor_ops(lv);
    g_autoptr(virConnect) other = virConnectOpen("test:///default");
    g_autoptr(GError) error = NULL;

    ck_assert_ptr_nonnull(other);
    g_autoptr(virDomain) dom = virDomainLookupByUUIDString(other, DEFAULT_UUID);
    ck_assert_ptr_nonnull(dom);
    ck_assert_int_eq(virDomainDestroy(dom), 0);
    ck_assert(!ops->set_balloon(ops->hv, DEFAULT_UUID, 100000, &error));
    ck_assert_msg(g_error_matches(error, MOM_LIBVIRT_ERROR, MOM_LIBVIRT_ERROR_NO_DOMAIN), "%s",
                  error->message);
    ck_assert_msg(g_str_has_prefix(error->message, "virDomainSetMemoryFlags failed: ") &&
                      strstr(error->message, "not running") != NULL,
                  "%s", error->message);
    /* the controllers hear it as churn, not as a fault */
    ck_assert(ops->is_gone(error));
    ck_assert_ptr_null(virGetLastError());
    ck_assert_int_eq(virDomainCreate(dom), 0);
}
END_TEST

/* "Operation invalid" is a guest gone only when the guest is not running:
 * libvirt says it too when it refuses a request on a running guest (the
 * e2e fault test's guest without a balloon device). */
/* The collection on a second connection (a frozen QEMU holds the first
 * call) sees the same guests through a connection of its own, and a
 * thrown-away batch's reads are made again by the next collection. */
START_TEST(test_collect_aside)
{
    Seen seen = {0};
    g_autoptr(MomLibvirt) lv = connect_to("test:///default", &seen);
    g_autoptr(GError) error = NULL;

    g_autoptr(MomGuestBatch) b = mom_libvirt_collect_aside(lv, NULL, &error);
    ck_assert_msg(b != NULL, "%s", error ? error->message : "");
    const MomDomainInfo *info = NULL;
    const MomGuestData *d = find_data(b, DEFAULT_UUID, &info);
    ck_assert_ptr_nonnull(d);
    ck_assert_int_eq(d->balloon_cur, 2097152);
    ck_assert(info->have_xml);

    /* known and not stale: no XML read; marked stale: read again */
    g_autoptr(GHashTable) known =
        g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)mom_domain_info_free);
    MomDomainInfo *copy = mom_domain_info_copy(info);
    g_hash_table_insert(known, copy->uuid, copy);
    g_autoptr(MomGuestBatch) quiet = mom_libvirt_collect(lv, known, &error);
    ck_assert_ptr_nonnull(quiet);
    mom_libvirt_mark_stale(lv, DEFAULT_UUID);
    g_autoptr(MomGuestBatch) again = mom_libvirt_collect(lv, known, &error);
    ck_assert_ptr_nonnull(again);
    ck_assert_uint_gt(again->calls, quiet->calls);
    ck_assert_uint_eq(b->asked, 1);
    /* the usual collections know the domain by name; one aside asks it */
    ck_assert_uint_eq(again->asked, 0);
    g_autoptr(MomGuestBatch) aside = mom_libvirt_collect_aside(lv, known, &error);
    ck_assert_ptr_nonnull(aside);
    ck_assert_uint_eq(aside->data->len, 1);
    ck_assert_uint_eq(aside->asked, 1);
    ck_assert_uint_eq(mom_test_log_count_at(G_LOG_LEVEL_WARNING, ""), 0);
}
END_TEST

START_TEST(test_went_away)
{
    g_autoptr(virConnect) c = virConnectOpen("test:///default");
    ck_assert_ptr_nonnull(c);
    g_autoptr(virDomain) dom = virDomainLookupByUUIDString(c, DEFAULT_UUID);
    ck_assert_ptr_nonnull(dom);

    ck_assert(!mom_libvirt_went_away(dom, VIR_ERR_OPERATION_INVALID));
    ck_assert(!mom_libvirt_went_away(dom, VIR_ERR_INTERNAL_ERROR));
    ck_assert(mom_libvirt_went_away(dom, VIR_ERR_NO_DOMAIN));
    ck_assert(!mom_libvirt_went_away(dom, VIR_ERR_OPERATION_FAILED));
    ck_assert_int_eq(virDomainDestroy(dom), 0);
    ck_assert(mom_libvirt_went_away(dom, VIR_ERR_OPERATION_INVALID));
    /* a call cut off by the guest's end: QEMU's monitor closed under it */
    ck_assert(mom_libvirt_went_away(dom, VIR_ERR_INTERNAL_ERROR));
    ck_assert(mom_libvirt_went_away(dom, VIR_ERR_OPERATION_FAILED));
    ck_assert_int_eq(virDomainCreate(dom), 0);
    ck_assert_ptr_null(virGetLastError());
}
END_TEST

START_TEST(test_missing_domain)
{
    g_autofree char *uri = make_uri(3);
    Seen seen = {0};
    g_autoptr(MomLibvirt) lv = connect_to(uri, &seen);
    const MomHypervisorOps *ops = mom_libvirt_hypervisor_ops(lv);
    g_autoptr(GError) error = NULL;

    ck_assert_ptr_eq(ops->hv, lv);
    ck_assert(!ops->set_balloon(ops->hv, "00000000-0000-4000-8000-000000000000", 100000, &error));
    ck_assert_msg(g_error_matches(error, MOM_LIBVIRT_ERROR, MOM_LIBVIRT_ERROR_NO_DOMAIN), "%s",
                  error->message);
    g_clear_error(&error);
    ck_assert(!mom_libvirt_set_stats_period(lv, "00000000-0000-4000-8000-000000000000", 2, &error));
    ck_assert(g_error_matches(error, MOM_LIBVIRT_ERROR, MOM_LIBVIRT_ERROR_NO_DOMAIN));
    g_clear_error(&error);
    /* a malformed uuid is no domain either */
    ck_assert(!ops->set_balloon(ops->hv, "not-a-uuid", 100000, &error));
    ck_assert(error != NULL);
    ck_assert_int_eq(error->domain, MOM_LIBVIRT_ERROR);
    g_clear_error(&error);
    /* only "no domain" is a guest gone */
    g_set_error(&error, MOM_LIBVIRT_ERROR, MOM_LIBVIRT_ERROR_CALL, "refused");
    ck_assert(!ops->is_gone(error));
    g_clear_error(&error);
    g_set_error(&error, G_FILE_ERROR, MOM_LIBVIRT_ERROR_NO_DOMAIN, "another domain");
    ck_assert(!ops->is_gone(error));
    g_clear_error(&error);
    /* errors are returned, not printed by libvirt or logged here */
    ck_assert_uint_eq(mom_test_log_count_at(G_LOG_LEVEL_WARNING, ""), 0);
}
END_TEST

/* The bulk call's state says when a guest is paused (virsh suspend): the
 * Balloon controller does not count a paused guest's balloon against it. */
START_TEST(test_paused_state)
{
    Seen seen = {0};
    g_autoptr(MomLibvirt) lv = connect_to("test:///default", &seen);
    g_autoptr(virConnect) other = virConnectOpen("test:///default");
    g_autoptr(GError) error = NULL;

    ck_assert_ptr_nonnull(other);
    g_autoptr(virDomain) dom = virDomainLookupByUUIDString(other, DEFAULT_UUID);
    ck_assert_ptr_nonnull(dom);
    g_autoptr(MomGuestBatch) running = mom_libvirt_collect(lv, NULL, &error);
    ck_assert_msg(running != NULL, "%s", error ? error->message : "");
    ck_assert(!find_data(running, DEFAULT_UUID, NULL)->paused);
    ck_assert_int_eq(virDomainSuspend(dom), 0);
    g_autoptr(MomGuestBatch) paused = mom_libvirt_collect(lv, NULL, &error);
    ck_assert_int_eq(virDomainResume(dom), 0);
    ck_assert_msg(paused != NULL, "%s", error ? error->message : "");
    const MomGuestData *d = find_data(paused, DEFAULT_UUID, NULL);
    ck_assert_ptr_nonnull(d);
    ck_assert(d->paused);
    ck_assert_uint_eq(paused->asked, 0); /* a paused domain keeps its id */
    drain_workers();
}
END_TEST

/* A stop event that comes while a collection is running: that collection
 * began before the stop and still lists the guest, and must not bring it
 * back (the churn soak saw "stopped; it is dropped", then "is now
 * managed" and "is no longer running" within 300 ms).  The next
 * collection, begun after the stop, is believed again. */
START_TEST(test_stop_during_collection)
{
    Seen seen = {0};
    g_autoptr(MomLibvirt) lv = connect_to("test:///default", &seen);
    g_autoptr(MomGuests) gs = guest_manager(lv);

    tick_and_wait(gs);
    ck_assert_uint_eq(mom_guests_count(gs), 1);
    guint managed_before = mom_test_log_count("is now managed");
    Collections c = {gs, mom_guests_collections(gs) + 1};
    mom_guests_tick(gs);
    /* the bulk call is made in a worker; its result waits for the loop */
    g_usleep(300 * 1000);
    mom_guests_forget(gs, DEFAULT_UUID);
    ck_assert_uint_eq(mom_guests_count(gs), 0);
    ck_assert(run_until(collections_reached, &c, 10000));
    ck_assert_uint_eq(mom_guests_count(gs), 0);
    ck_assert_uint_eq(mom_test_log_count("is now managed"), managed_before);

    /* the domain is still running here: a new collection finds it */
    tick_and_wait(gs);
    ck_assert_uint_eq(mom_guests_count(gs), 1);
    ck_assert_uint_eq(mom_test_log_count("is now managed"), managed_before + 1);
    drain_workers();
}
END_TEST

/* A domain is known by its name while its id runs: one that restarted, or
 * another under the same name, is asked for its UUID again. */
START_TEST(test_identity_by_name)
{
    static const char other_uuid[] = "6d6f6d64-0000-4000-8000-00000000abcd";
    Seen seen = {0};
    g_autoptr(MomLibvirt) lv = connect_to("test:///default", &seen);
    g_autoptr(virConnect) other = virConnectOpen("test:///default");
    g_autoptr(GError) error = NULL;
    const MomDomainInfo *info = NULL;

    g_autoptr(MomGuestBatch) b1 = mom_libvirt_collect(lv, NULL, &error);
    ck_assert_ptr_nonnull(b1);
    ck_assert_uint_eq(b1->asked, 1);
    ck_assert_ptr_nonnull(find_data(b1, DEFAULT_UUID, &info));
    int first_id = info->id;
    guint first_serial = info->xml_serial;

    /* restarted: a new id, so asked, and its XML read again */
    g_autoptr(virDomain) dom = virDomainLookupByUUIDString(other, DEFAULT_UUID);
    ck_assert_int_eq(virDomainDestroy(dom), 0);
    ck_assert_int_eq(virDomainCreate(dom), 0);
    g_autoptr(GHashTable) known1 = known_of(b1);
    g_autoptr(MomGuestBatch) b2 = mom_libvirt_collect(lv, known1, &error);
    ck_assert_ptr_nonnull(b2);
    ck_assert_uint_eq(b2->asked, 1);
    ck_assert_ptr_nonnull(find_data(b2, DEFAULT_UUID, &info));
    ck_assert_int_ne(info->id, first_id);
    ck_assert_uint_ne(info->xml_serial, first_serial);

    /* another domain under the same name between two collections */
    g_autofree char *xml = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE);
    ck_assert_ptr_nonnull(xml);
    g_autofree char *uuid_tag = g_strdup_printf("<uuid>%s</uuid>", DEFAULT_UUID);
    ck_assert_ptr_nonnull(strstr(xml, uuid_tag));
    g_autoptr(GString) swapped = g_string_new(xml);
    g_autofree char *other_tag = g_strdup_printf("<uuid>%s</uuid>", other_uuid);
    g_string_replace(swapped, uuid_tag, other_tag, 1);
    ck_assert_int_eq(virDomainDestroy(dom), 0);
    ck_assert_int_eq(virDomainUndefine(dom), 0);
    g_autoptr(virDomain) impostor = virDomainDefineXML(other, swapped->str);
    ck_assert_ptr_nonnull(impostor);
    ck_assert_int_eq(virDomainCreate(impostor), 0);
    g_autoptr(GHashTable) known2 = known_of(b2);
    g_autoptr(MomGuestBatch) b3 = mom_libvirt_collect(lv, known2, &error);
    ck_assert_ptr_nonnull(b3);
    ck_assert_uint_eq(b3->asked, 1);
    ck_assert_uint_eq(b3->data->len, 1);
    ck_assert_ptr_null(find_data(b3, DEFAULT_UUID, NULL));
    const MomGuestData *d3 = find_data(b3, other_uuid, &info);
    ck_assert_ptr_nonnull(d3);
    ck_assert_str_eq(info->name, "test");

    /* and it is known by its name from then on */
    g_autoptr(GHashTable) known3 = known_of(b3);
    g_autoptr(MomGuestBatch) b4 = mom_libvirt_collect(lv, known3, &error);
    ck_assert_ptr_nonnull(b4);
    ck_assert_uint_eq(b4->asked, 0);
    ck_assert_ptr_nonnull(find_data(b4, other_uuid, NULL));

    /* test:///default as it was, for the other tests of this process */
    ck_assert_int_eq(virDomainDestroy(impostor), 0);
    ck_assert_int_eq(virDomainUndefine(impostor), 0);
    g_autoptr(virDomain) back = virDomainDefineXML(other, xml);
    ck_assert_ptr_nonnull(back);
    ck_assert_int_eq(virDomainCreate(back), 0);
}
END_TEST

/* test:///default is shared by this process's connections: a domain
 * destroyed through a second connection leaves momd's view. */
START_TEST(test_destroyed_domain_dropped)
{
    Seen seen = {0};
    seen.events = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(MomLibvirt) lv = connect_to("test:///default", &seen);
    g_autoptr(MomGuests) gs = guest_manager(lv);
    g_autoptr(virConnect) other = virConnectOpen("test:///default");
    ck_assert_ptr_nonnull(other);

    tick_and_wait(gs);
    ck_assert_uint_eq(mom_guests_count(gs), 1);
    g_autoptr(virDomain) dom = virDomainLookupByUUIDString(other, DEFAULT_UUID);
    ck_assert_ptr_nonnull(dom);
    ck_assert_int_eq(virDomainDestroy(dom), 0);

    /* the lifecycle event reaches momd's callback on the main loop */
    g_autofree char *stopped = g_strdup_printf("%s %d", DEFAULT_UUID, VIR_DOMAIN_EVENT_STOPPED);
    for (int i = 0; i < 50 && seen.events->len == 0; i++)
        run_for(20);
    gboolean got_stop = FALSE;
    for (guint i = 0; i < seen.events->len; i++)
        got_stop |= strcmp(seen.events->pdata[i], stopped) == 0;
    ck_assert_msg(got_stop, "no STOPPED lifecycle event (%u events)", seen.events->len);

    /* without acting on the event, the next collection drops the guest */
    tick_and_wait(gs);
    ck_assert_uint_eq(mom_guests_count(gs), 0);
    ck_assert_uint_eq(mom_test_log_count("Guest test is no longer running; it is dropped."), 1);
    g_autoptr(GPtrArray) entities = mom_guests_entities(gs);
    ck_assert_uint_eq(entities->len, 0);

    /* and the balloon of a destroyed domain cannot be set */
    const MomHypervisorOps *ops = mom_libvirt_hypervisor_ops(lv);
    g_autoptr(GError) error = NULL;
    ck_assert(!ops->set_balloon(ops->hv, DEFAULT_UUID, 1048576, &error));
    ck_assert_msg(g_error_matches(error, MOM_LIBVIRT_ERROR, MOM_LIBVIRT_ERROR_NO_DOMAIN), "%s",
                  error->message);

    /* start it again for other users of the shared state */
    ck_assert_int_eq(virDomainCreate(dom), 0);
    drain_workers();
    g_clear_pointer(&seen.events, g_ptr_array_unref);
}
END_TEST

/* ---- (e) the Balloon controller on the test driver ------------------------------- */

/* Targets by guest (see expected(): cur_kib = 786432 - (i % 8) * 1024):
 *   vm0001 cur 785408: 700000, inside every guard rail;
 *   vm0002 cur 784384: 100, under the floor (131072), then the step (614400);
 *   vm0003 cur 783360, min 195840: 150000, raised to balloon_min;
 *   vm0004 cur 782336, max 1048576: 2000000, lowered to balloon_max;
 *   vm0005 cur 781312: 781812, inside the dead band (1024): no call;
 *   vm0006: no balloon_target. */
static const char balloon_policy[] =
    "(with Guests g (if (== (g.Prop \"name\") \"vm0001\") (g.Control \"balloon_target\" 700000) "
    "0))\n"
    "(with Guests g (if (== (g.Prop \"name\") \"vm0002\") (g.Control \"balloon_target\" 100) 0))\n"
    "(with Guests g (if (== (g.Prop \"name\") \"vm0003\") (g.Control \"balloon_target\" 150000) "
    "0))\n"
    "(with Guests g (if (== (g.Prop \"name\") \"vm0004\") (g.Control \"balloon_target\" 2000000) "
    "0))\n"
    "(with Guests g (if (== (g.Prop \"name\") \"vm0005\") (g.Control \"balloon_target\" 781812) "
    "0))\n";

static const gint64 balloon_expect[] = {0,       700000, 784384 - 614400, 195840,
                                        1048576, 781312, 780288};

static gint64
cur_of(MomLibvirt *lv, guint i)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(MomGuestBatch) b = mom_libvirt_collect(lv, NULL, &error);
    ck_assert_msg(b != NULL, "%s", error ? error->message : "");
    const MomGuestData *d = find_data(b, expected(i).uuid, NULL);
    ck_assert_ptr_nonnull(d);
    return d->balloon_cur;
}

static void
balloon_cycle(gboolean dry_run)
{
    g_autofree char *uri = make_uri(6);
    Seen seen = {0};
    g_autoptr(MomLibvirt) lv = connect_to(uri, &seen);
    g_autoptr(MomGuests) gs = guest_manager(lv);
    g_autoptr(GError) error = NULL;
    const MomControllerClass *klass = mom_controller_lookup("Balloon");
    /* the [balloon] defaults, but for steps of up to 600 MiB */
    g_autoptr(GKeyFile) keyfile = g_key_file_new();
    MomControllerConfig cfg = {
        .dry_run = dry_run,
        .hypervisor = mom_libvirt_hypervisor_ops(lv),
        .keyfile = keyfile,
    };

    g_key_file_set_int64(keyfile, "balloon", "max-step-mib", 600);

    ck_assert_ptr_nonnull(klass);
    gpointer state = klass->init(&cfg, &error);
    ck_assert_msg(state != NULL, "%s", error ? error->message : "");
    tick_and_wait(gs);
    g_autoptr(GPtrArray) entities = mom_guests_entities(gs);
    ck_assert_uint_eq(entities->len, 6);
    g_autoptr(MomPolicySet) set = mom_policy_set_new();
    ck_assert_msg(mom_policy_set_add_string(set, "balloon", "balloon.policy", balloon_policy, -1,
                                            NULL, &error),
                  "%s", error ? error->message : "");
    g_autoptr(MomPolicyRun) run = mom_policy_set_evaluate(set, NULL, entities, 0);
    ck_assert(run->ok);
    ck_assert_uint_eq(run->errors->len, 0);

    ck_assert(klass->apply(state, NULL, entities, &error));
    mom_balloon_wait_idle(state);
    for (guint i = 0; i < entities->len; i++) {
        const MomValue *v = mom_entity_get_prop(entities->pdata[i], "balloon_uncooperative");
        ck_assert(v && v->type == MOM_VALUE_BOOL && !mom_value_truthy(v));
    }

    for (guint i = 1; i <= 6; i++) {
        gint64 want = dry_run ? expected(i).cur_kib : balloon_expect[i];
        ck_assert_msg(cur_of(lv, i) == want,
                      "vm%04u: balloon_cur %" G_GINT64_FORMAT ", expected %" G_GINT64_FORMAT, i,
                      cur_of(lv, i), want);
    }
    const char *suffix = dry_run ? " KiB would be set (dry run)" : " KiB (target";
    const char *lines[][2] = {
        {"guest vm0001: balloon 785408 → 700000", NULL},
        {"guest vm0002: balloon 784384 → 169984", "clamped by min-floor-mib and max-step-mib"},
        {"guest vm0003: balloon 783360 → 195840", "clamped by balloon_min"},
        {"guest vm0004: balloon 782336 → 1048576", "clamped by balloon_max"},
    };
    for (guint i = 0; i < G_N_ELEMENTS(lines); i++) {
        g_autofree char *line = g_strconcat(lines[i][0], suffix, NULL);
        if (mom_test_log_count_at(G_LOG_LEVEL_MESSAGE, line) != 1)
            dump_log();
        ck_assert_msg(mom_test_log_count_at(G_LOG_LEVEL_MESSAGE, line) == 1, "not logged once: %s",
                      line);
        if (lines[i][1])
            ck_assert_uint_eq(mom_test_log_count(lines[i][1]), 1);
    }
    /* the controller's lines: "guest NAME: balloon ..." */
    ck_assert_uint_eq(mom_test_log_count("guest vm0005: "), 0);
    ck_assert_uint_eq(mom_test_log_count("guest vm0006: "), 0);
    ck_assert_uint_eq(mom_test_log_count_at(G_LOG_LEVEL_WARNING, ""), 0);

    if (!dry_run) {
        /* The next collection sees the new sizes: requests reached, nothing more to do
         * for vm0001, vm0003 and vm0004; vm0002 takes its second step to the floor. */
        tick_and_wait(gs);
        g_autoptr(GPtrArray) again = mom_guests_entities(gs);
        g_autoptr(MomPolicyRun) run2 = mom_policy_set_evaluate(set, NULL, again, 0);
        ck_assert(run2->ok);
        ck_assert(klass->apply(state, NULL, again, &error));
        mom_balloon_wait_idle(state);
        ck_assert_int_eq(stat_of(again->pdata[0], "balloon_cur"), 700000);
        ck_assert_int_eq(cur_of(lv, 1), 700000);
        ck_assert_int_eq(cur_of(lv, 2), 131072);
        ck_assert_int_eq(cur_of(lv, 3), 195840);
        ck_assert_int_eq(cur_of(lv, 4), 1048576);
        ck_assert_uint_eq(mom_test_log_count("guest vm0001: "), 1);
        ck_assert_uint_eq(mom_test_log_count("guest vm0002: balloon 169984 → 131072 KiB"), 1);
    }
    klass->free(state);
    drain_workers();
}

START_TEST(test_balloon_applies)
{
    balloon_cycle(FALSE);
}
END_TEST

START_TEST(test_balloon_dry_run)
{
    balloon_cycle(TRUE);
}
END_TEST

/* ---- (f) no libvirt ------------------------------------------------------------------ */

/* A listener that accepts and closes at once: each reconnection attempt
 * of momd shows up as one accepted connection. */
typedef struct {
    int fd;
    gint accepted;
} Listener;

static gpointer
listen_thread(gpointer data)
{
    Listener *l = data;
    int c;

    while ((c = accept(l->fd, NULL, NULL)) >= 0) {
        g_atomic_int_inc(&l->accepted);
        close(c);
    }
    return NULL;
}

static gboolean
accepted_one(gpointer data)
{
    return g_atomic_int_get(&((Listener *)data)->accepted) > 0;
}

START_TEST(test_unreachable)
{
    g_autofree char *sock = g_build_filename(tmp_dir, "libvirt-sock", NULL);
    g_autofree char *uri = g_strdup_printf("qemu+unix:///system?socket=%s", sock);
    Seen seen = {0};
    g_autoptr(MomLibvirt) lv = mom_libvirt_new(uri, NULL, &callbacks, &seen);
    g_autoptr(GError) error = NULL;

    mom_libvirt_start(lv);
    ck_assert(!mom_libvirt_connected(lv));
    ck_assert_uint_eq(seen.connected, 0);
    g_autofree char *said = g_strdup_printf("No libvirt answers at %s", uri);
    ck_assert_uint_eq(mom_test_log_count_at(G_LOG_LEVEL_WARNING, said), 1);
    ck_assert_uint_eq(mom_test_log_count("momd manages the host only"), 1);

    /* Host-only: no guests, clear errors, no collection started. */
    g_autoptr(MomGuests) gs = guest_manager(lv);
    mom_guests_tick(gs);
    g_autoptr(GPtrArray) entities = mom_guests_entities(gs);
    ck_assert_uint_eq(entities->len, 0);
    ck_assert_uint_eq(mom_guests_collections(gs), 0);
    ck_assert_ptr_null(mom_libvirt_collect(lv, NULL, &error));
    ck_assert(g_error_matches(error, MOM_LIBVIRT_ERROR, MOM_LIBVIRT_ERROR_CONNECT));
    g_clear_error(&error);
    const MomHypervisorOps *ops = mom_libvirt_hypervisor_ops(lv);
    ck_assert(!ops->set_balloon(ops->hv, DEFAULT_UUID, 1024, &error));
    ck_assert(g_error_matches(error, MOM_LIBVIRT_ERROR, MOM_LIBVIRT_ERROR_CONNECT));
    g_clear_error(&error);

    /* The Balloon controller still starts and applies an empty cycle. */
    MomControllerConfig cfg = {.hypervisor = ops};
    const MomControllerClass *klass = mom_controller_lookup("Balloon");
    gpointer state = klass->init(&cfg, &error);
    ck_assert_ptr_nonnull(state);
    ck_assert(klass->apply(state, NULL, entities, &error));
    klass->free(state);

    /* A retry comes after 1 s: a socket that accepts and hangs up sees it.
     * libvirt then writes to a closed socket; a client of libvirt's remote
     * driver must ignore SIGPIPE, as virsh does (momd does not yet: see
     * test-daemon-guests.sh). */
    signal(SIGPIPE, SIG_IGN);
    Listener l = {socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), 0};
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    ck_assert_int_ge(l.fd, 0);
    ck_assert_uint_lt(strlen(sock), sizeof(addr.sun_path));
    strcpy(addr.sun_path, sock);
    ck_assert_int_eq(bind(l.fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    ck_assert_int_eq(listen(l.fd, 8), 0);
    GThread *t = g_thread_new("listener", listen_thread, &l);
    ck_assert_msg(run_until(accepted_one, &l, 3000), "no reconnection attempt within 3 s");
    run_for(200);
    ck_assert(!mom_libvirt_connected(lv));
    /* still the one warning for the whole outage */
    ck_assert_uint_eq(mom_test_log_count("No libvirt answers at"), 1);
    shutdown(l.fd, SHUT_RDWR);
    close(l.fd);
    g_thread_join(t);
}
END_TEST

/* A libvirtd that accepts the connection but never answers (stopped with
 * SIGSTOP, or stuck) holds virConnectOpen: the reconnect runs in a worker,
 * so the main loop, which serves the control API and the host, keeps
 * running; freeing the MomLibvirt meanwhile undoes the attempt when it
 * lands. */
typedef struct {
    int fd;
    gint accepted;
    int held[16]; /* accepted, never answered, closed at the end */
} Mute;

static gpointer
mute_thread(gpointer data)
{
    Mute *m = data;
    int c;

    while ((c = accept(m->fd, NULL, NULL)) >= 0) {
        gint i = g_atomic_int_add(&m->accepted, 1);
        if (i < (gint)G_N_ELEMENTS(m->held))
            m->held[i] = c;
        else
            close(c);
    }
    return NULL;
}

static gboolean
mute_accepted(gpointer data)
{
    return g_atomic_int_get(&((Mute *)data)->accepted) > 0;
}

typedef struct {
    gint64 last, worst;
} Beat;

static gboolean
beat(gpointer data)
{
    Beat *b = data;
    gint64 now = g_get_monotonic_time();

    if (b->last)
        b->worst = MAX(b->worst, now - b->last);
    b->last = now;
    return G_SOURCE_CONTINUE;
}

START_TEST(test_reconnect_in_worker)
{
    g_autofree char *sock = g_build_filename(tmp_dir, "mute-sock", NULL);
    g_autofree char *uri = g_strdup_printf("qemu+unix:///system?socket=%s", sock);
    Seen seen = {0};
    MomLibvirt *lv = mom_libvirt_new(uri, NULL, &callbacks, &seen);

    mom_libvirt_start(lv); /* nobody there: a retry in 1 s */
    ck_assert(!mom_libvirt_connected(lv));
    signal(SIGPIPE, SIG_IGN);
    Mute m = {.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    ck_assert_int_ge(m.fd, 0);
    ck_assert_uint_lt(strlen(sock), sizeof(addr.sun_path));
    strcpy(addr.sun_path, sock);
    ck_assert_int_eq(bind(m.fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    ck_assert_int_eq(listen(m.fd, 8), 0);
    GThread *t = g_thread_new("mute", mute_thread, &m);

    Beat b = {0};
    guint id = g_timeout_add(100, beat, &b);
    ck_assert_msg(run_until(mute_accepted, &m, 3000), "no reconnection attempt within 3 s");
    run_for(2000); /* the attempt hangs all that time */
    g_source_remove(id);
    ck_assert(!mom_libvirt_connected(lv));
    ck_assert_msg(b.worst < G_USEC_PER_SEC, "the main loop stood still for %" G_GINT64_FORMAT " ms",
                  b.worst / 1000);

    /* stop while the attempt hangs, then let it fail and land */
    mom_libvirt_free(lv);
    shutdown(m.fd, SHUT_RDWR);
    close(m.fd);
    g_thread_join(t);
    for (gint i = 0; i < MIN(g_atomic_int_get(&m.accepted), (gint)G_N_ELEMENTS(m.held)); i++)
        close(m.held[i]);
    run_for(500);
    ck_assert_uint_eq(seen.connected, 0);
}
END_TEST

static Suite *
libvirt_suite(void)
{
    Suite *s = suite_create("libvirt");
    TCase *tc = tcase_create("test-driver");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_default_connect_collect);
    tcase_add_test(tc, test_run_dir_for_uri);
    tcase_add_test(tc, test_churn_log_levels);
    tcase_add_test(tc, test_pid_discovery);
    tcase_add_test(tc, test_pid_not_found);
    tcase_add_test(tc, test_generated_discovery);
    tcase_add_test(tc, test_guest_manager_policy);
    tcase_add_test(tc, test_guest_manager_dry_run);
    tcase_add_test(tc, test_take_error_survives_later_calls);
    tcase_add_test(tc, test_refused_call_error);
    tcase_add_test(tc, test_collect_aside);
    tcase_add_test(tc, test_went_away);
    tcase_add_test(tc, test_missing_domain);
    tcase_add_test(tc, test_identity_by_name);
    tcase_add_test(tc, test_destroyed_domain_dropped);
    tcase_add_test(tc, test_stop_during_collection);
    tcase_add_test(tc, test_paused_state);
    tcase_add_test(tc, test_balloon_applies);
    tcase_add_test(tc, test_balloon_dry_run);
    tcase_add_test(tc, test_unreachable);
    tcase_add_test(tc, test_reconnect_in_worker);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(libvirt_suite());
    int failed;

    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
