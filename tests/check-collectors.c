/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The host collectors against fixture trees (tests/data/proc/<case>,
 * tests/data/sys/<case>, described in tests/data/README.md), against
 * copies of them rewritten between samples (for deltas), and once
 * against this machine's real /proc and /sys.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>

#include "mom-collector.h"
#include "collector-priv.h"
#include "proc-parse.h"
#include "mom-test-collector.h"
#include "mom-test-fs.h"
#include "mom-test-log.h"

/* ---- harness ------------------------------------------------------------ */

static char *
data_path(const char *kind, const char *fixture)
{
    const char *top = g_getenv("MOM_TEST_DATA");

    ck_assert_msg(top != NULL, "MOM_TEST_DATA is not set");
    return g_build_filename(top, "data", kind, fixture, NULL);
}

/* Starts collector @name over the given roots (mom-test-collector.h). */
static MomTestHarness *
host_harness_at(const char *name, const char *proc_root, const char *sysfs_root, guint interval)
{
    MomCollectorConfig cfg = {
        .proc_root = proc_root, .sysfs_root = sysfs_root, .interval = interval};

    return mom_test_harness_new(name, &cfg);
}

/* Starts collector @name over the fixtures tests/data/{proc/@proc_case,sys/@sys_case}. */
static MomTestHarness *
host_harness(const char *name, const char *proc_case, const char *sys_case, guint interval)
{
    g_autofree char *proc = data_path("proc", proc_case);
    g_autofree char *sys = data_path("sys", sys_case);

    return host_harness_at(name, proc, sys, interval);
}

/* ---- temporary fixture copies ------------------------------------------- */

/* A writable copy of tests/data/{proc,sys}/@fixture under a fresh temp dir. */
typedef struct {
    char *dir;
    char *proc;
    char *sys;
} TmpTree;

static void
tmp_tree_free(TmpTree *t)
{
    mom_test_remove_tree(t->dir);
    g_free(t->dir);
    g_free(t->proc);
    g_free(t->sys);
    g_free(t);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TmpTree, tmp_tree_free)

static TmpTree *
tmp_tree_new(const char *fixture)
{
    TmpTree *t = g_new0(TmpTree, 1);
    g_autofree char *proc = data_path("proc", fixture);
    g_autofree char *sys = data_path("sys", fixture);

    t->dir = g_dir_make_tmp("momd-collectors-XXXXXX", NULL);
    ck_assert_ptr_nonnull(t->dir);
    t->proc = g_build_filename(t->dir, "proc", NULL);
    t->sys = g_build_filename(t->dir, "sys", NULL);
    mom_test_copy_tree(proc, t->proc);
    if (g_file_test(sys, G_FILE_TEST_IS_DIR))
        mom_test_copy_tree(sys, t->sys);
    else
        ck_assert_int_eq(g_mkdir_with_parents(t->sys, 0755), 0);
    return t;
}

static void
remove_file(const char *root, const char *rel)
{
    g_autofree char *path = g_build_filename(root, rel, NULL);

    ck_assert_int_eq(g_remove(path), 0);
}

/* Replaces file @rel by a directory: read() then fails with EISDIR, an
 * unreadable file even for root (who ignores permission bits). */
static void
make_unreadable(const char *root, const char *rel)
{
    g_autofree char *path = g_build_filename(root, rel, NULL);

    ck_assert_int_eq(g_remove(path), 0);
    ck_assert_int_eq(g_mkdir(path, 0755), 0);
}

static char *
stat_line(gint64 pid, const char *comm, guint64 flags, guint64 utime, guint64 stime, guint64 vsize)
{
    return g_strdup_printf("%" G_GINT64_FORMAT " (%s) S 2 0 0 0 -1 %" G_GUINT64_FORMAT
                           " 0 0 0 0 %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT
                           " 0 0 20 0 1 0 24 %" G_GUINT64_FORMAT " 0 18446744073709551615 0 0\n",
                           pid, comm, flags, utime, stime, vsize);
}

/* ---- registry and samples ----------------------------------------------- */

START_TEST(test_registry)
{
    static const char *const names[] = {"HostMemory", "HostKSM", "HostCpu", "HostTime",
                                        "HostPressure"};
    guint n = 0;

    for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
        const MomCollectorClass *k = mom_collector_lookup(names[i]);

        ck_assert_ptr_nonnull(k);
        ck_assert_str_eq(k->name, names[i]);
        ck_assert_ptr_nonnull(k->fields);
        ck_assert_ptr_nonnull(k->init);
        ck_assert_ptr_nonnull(k->collect);
        ck_assert_ptr_nonnull(k->free);
    }
    /* the host collectors are the table's first entries; guest ones follow */
    for (; mom_collector_classes[n]; n++)
        ;
    ck_assert_uint_eq(n, G_N_ELEMENTS(names) + 10); /* and the guest collectors */
    for (guint i = 0; i < G_N_ELEMENTS(names); i++)
        ck_assert_str_eq(mom_collector_classes[i]->name, names[i]);
    ck_assert_ptr_null(mom_collector_lookup("HostMemory2"));
    ck_assert_ptr_null(mom_collector_lookup("hostmemory"));
    ck_assert_ptr_eq(mom_collector_lookup("HostMemory"), &mom_collector_host_memory);
}
END_TEST

START_TEST(test_sample)
{
    const MomCollectorClass *classes[] = {&mom_collector_host_cpu, &mom_collector_host_pressure};
    g_autoptr(MomSchema) schema = mom_collector_schema_new(classes, 2);
    g_autoptr(MomSample) s = mom_sample_new(schema);

    /* mandatory then optional, class by class */
    ck_assert_uint_eq(mom_schema_n_fields(schema), 1 + 3 + 6);
    ck_assert_str_eq(mom_schema_field(schema, 0), "cpu_count");
    ck_assert_str_eq(mom_schema_field(schema, 1), "mem_avail_real");
    ck_assert_str_eq(mom_schema_field(schema, 3), "pressure_trigger");
    ck_assert_str_eq(mom_schema_field(schema, 4), "psi_mem_some_avg10");

    ck_assert_int_eq(mom_sample_get(s, "cpu_count")->type, MOM_VALUE_NIL);
    ck_assert_int_eq(mom_sample_get(s, "no_such_field")->type, MOM_VALUE_NIL);
    ck_assert_str_eq(mom_sample_missing_field(s, &mom_collector_host_cpu), "cpu_count");
    mom_sample_set_int(s, "cpu_count", 4);
    ck_assert_int_eq(mom_sample_get(s, "cpu_count")->u.i, 4);
    ck_assert_ptr_null(mom_sample_missing_field(s, &mom_collector_host_cpu));
    /* replacing a string value releases the old one (valgrind setup) */
    mom_sample_set(s, "psi_mem_some_avg10", mom_value_string("x", -1));
    mom_sample_set_float(s, "psi_mem_some_avg10", 1.5);
    ck_assert(mom_sample_get(s, "psi_mem_some_avg10")->u.d == 1.5);
    ck_assert_str_eq(mom_sample_missing_field(s, &mom_collector_host_pressure), "mem_avail_real");
}
END_TEST

/* ---- proc-parse ---------------------------------------------------------- */

START_TEST(test_parse_pid_stat)
{
    g_autoptr(GError) error = NULL;
    MomProcStat st;
    g_autofree char *evil = stat_line(77, "a) b (c) ", MOM_PROC_PF_KTHREAD, 3, 4, 8192);

    ck_assert(mom_proc_parse_pid_stat("x", evil, &st, &error));
    ck_assert_int_eq(st.pid, 77);
    ck_assert_str_eq(st.comm, "a) b (c) ");
    ck_assert_int_eq(st.state, 'S');
    ck_assert_int_eq(st.ppid, 2);
    ck_assert_uint_eq(st.flags, MOM_PROC_PF_KTHREAD);
    ck_assert_uint_eq(st.utime, 3);
    ck_assert_uint_eq(st.stime, 4);
    ck_assert_uint_eq(st.vsize, 8192);

    /* the fixture's qemu, for GuestQemuProc's fields */
    {
        g_autofree char *root = data_path("proc", "normal");
        ck_assert(mom_proc_read_pid_stat(root, 1000, &st, &error));
        ck_assert_str_eq(st.comm, "qemu-kvm");
        ck_assert_uint_eq(st.minflt, 5000);
        ck_assert_uint_eq(st.majflt, 7);
        ck_assert_int_eq(st.rss, 262144);
        ck_assert_uint_eq(st.starttime, 1000);
        ck_assert(!mom_proc_read_pid_stat(root, 1004, &st, &error));
        ck_assert(g_error_matches(error, MOM_COLLECTOR_ERROR, MOM_COLLECTOR_ERROR_READ));
        g_clear_error(&error);
    }

    static const char *const bad[] = {
        "",
        "garbage",
        "12 (x S 1",
        "12 (x) S 1 2 3",                                                     /* too few fields */
        "x (y) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22",   /* pid */
        "12 (y) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 -20 21 22", /* vsize */
        "12 (y)  S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22", /* blank */
    };
    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        ck_assert_msg(!mom_proc_parse_pid_stat("/proc/12/stat", bad[i], &st, &error), "%s", bad[i]);
        ck_assert(g_error_matches(error, MOM_COLLECTOR_ERROR, MOM_COLLECTOR_ERROR_PARSE));
        ck_assert(g_str_has_prefix(error->message, "/proc/12/stat: expected"));
        g_clear_error(&error);
    }
    ck_assert(mom_proc_parse_pid_stat(
        "p", "12 (y) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22\n", &st, NULL));
    ck_assert_int_eq(st.rss, 21);
    ck_assert_uint_eq(st.vsize, 20);
}
END_TEST

START_TEST(test_parse_cpu_list)
{
    static const struct {
        const char *text;
        guint count;
    } good[] = {{"0\n", 1},     {"0-3,8,10-11\n", 7}, {"\n", 0},
                {"0-127", 128}, {"1,3,5", 3},         {"4-4\n", 1}};
    static const char *const bad[] = {"3-1", "a", "0-", "-1", "0,,1", "0-3 x", "99999999"};
    g_autoptr(GError) error = NULL;
    guint n;

    for (guint i = 0; i < G_N_ELEMENTS(good); i++) {
        ck_assert_msg(mom_proc_parse_cpu_list("f", good[i].text, &n, NULL), "%s", good[i].text);
        ck_assert_uint_eq(n, good[i].count);
    }
    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        ck_assert_msg(!mom_proc_parse_cpu_list("online", bad[i], &n, &error), "%s", bad[i]);
        ck_assert(g_str_has_prefix(error->message, "online: expected a CPU list"));
        g_clear_error(&error);
    }
}
END_TEST

START_TEST(test_parse_lines)
{
    MomProcKey keys[] = {{"A(b)"}, {"Hp"}, {"Neg"}, {"absent"}};
    g_autoptr(GError) error = NULL;
    MomPsiLine some, full;
    gint64 v;

    ck_assert(
        mom_proc_parse_meminfo("m", "A(b):   12 kB\nHp: 0\nNeg: -5 kB\nHp: 9\n", keys, 4, &error));
    ck_assert(keys[0].found && keys[0].value == 12);
    ck_assert(keys[1].found && keys[1].value == 0); /* the first occurrence wins */
    ck_assert(keys[2].found && keys[2].value == -5);
    ck_assert(!keys[3].found);
    ck_assert_ptr_eq(mom_proc_key_find(keys, 4, "Hp"), &keys[1]);
    ck_assert_ptr_null(mom_proc_key_find(keys, 4, "nope"));

    static const char *const bad_meminfo[] = {
        "", "A 1 kB\n", "A: 1 MB\n", "A: kB\n", "A: 1 kB \n", ": 1\n", "A: 99999999999999999999\n"};
    for (guint i = 0; i < G_N_ELEMENTS(bad_meminfo); i++) {
        ck_assert_msg(!mom_proc_parse_meminfo("m", bad_meminfo[i], keys, 4, &error), "%s",
                      bad_meminfo[i]);
        ck_assert(g_error_matches(error, MOM_COLLECTOR_ERROR, MOM_COLLECTOR_ERROR_PARSE));
        g_clear_error(&error);
    }
    /* quoted lines are escaped and cut */
    ck_assert(!mom_proc_parse_meminfo("m", "A: 1 kB\n\tbad\x01\n", keys, 4, &error));
    ck_assert_str_eq(error->message, "m: line 2: expected 'Name: value kB', got '\\tbad\\001'");
    g_clear_error(&error);

    ck_assert(!mom_proc_parse_vmstat("v", "pswpin 1\npswpout\n", keys, 4, &error));
    ck_assert_str_eq(error->message, "v: line 2: expected 'name value', got 'pswpout'");
    g_clear_error(&error);
    ck_assert(!mom_proc_parse_vmstat("v", "", keys, 4, &error));
    ck_assert_str_eq(error->message, "v: file is empty");
    g_clear_error(&error);

    /* what cannot be true: checked apart from the shape, for the keys asked */
    MomProcKey mem[] = {{"MemTotal", 100, TRUE}, {"MemFree", 100, TRUE}, {"SwapFree", 9, TRUE}};
    ck_assert(mom_proc_check_keys("m", mem, G_N_ELEMENTS(mem), NULL)); /* no SwapTotal */
    mem[1].value = 101;
    ck_assert(!mom_proc_check_keys("m", mem, G_N_ELEMENTS(mem), &error));
    ck_assert_str_eq(error->message,
                     "m: MemFree is 101, more than MemTotal (100), which cannot be true.");
    g_clear_error(&error);
    mem[1].found = FALSE; /* absent: its field is nil, not wrong */
    ck_assert(mom_proc_check_keys("m", mem, G_N_ELEMENTS(mem), NULL));
    mem[0].value = 0;
    ck_assert(!mom_proc_check_keys("m", mem, G_N_ELEMENTS(mem), &error));
    ck_assert(g_error_matches(error, MOM_COLLECTOR_ERROR, MOM_COLLECTOR_ERROR_PARSE));
    ck_assert_str_eq(error->message,
                     "m: MemTotal is 0, which cannot be true (it must be at least 1).");
    g_clear_error(&error);
    ck_assert(mom_proc_check_min("f", NULL, 0, 0, NULL));
    ck_assert(mom_proc_check_min("f", NULL, G_MININT64, G_MININT64, NULL));
    ck_assert(!mom_proc_check_min("f", NULL, -1, 0, &error));
    ck_assert_str_eq(error->message, "f: the value -1 cannot be true (it must be at least 0).");
    g_clear_error(&error);

    ck_assert(mom_proc_parse_int("i", " 42\n", &v, NULL));
    ck_assert_int_eq(v, 42);
    ck_assert(mom_proc_parse_int("i", "-4096\n", &v, NULL));
    ck_assert_int_eq(v, -4096);
    ck_assert(!mom_proc_parse_int("i", "4 2\n", &v, &error));
    ck_assert_str_eq(error->message, "i: expected an integer, got '4 2'");
    g_clear_error(&error);

    ck_assert(mom_proc_parse_pressure("p", "some avg10=1.00 avg60=2.00 avg300=3.00 total=4\n",
                                      &some, &full, NULL));
    ck_assert(some.present && !full.present);
    ck_assert(some.avg300 == 3.0 && some.total == 4);
    ck_assert(!mom_proc_parse_pressure("p", "full avg10=1.00 avg60=2.00 avg300=3.00 total=4\n",
                                       &some, &full, &error));
    ck_assert_str_eq(error->message, "p: no 'some' line found");
    g_clear_error(&error);
    ck_assert(!mom_proc_parse_pressure("p", "some avg10=1.00 avg60=2.00 total=4\n", &some, &full,
                                       &error));
    ck_assert(g_str_has_prefix(error->message, "p: line 1: expected 'some|full"));
    g_clear_error(&error);
}
END_TEST

START_TEST(test_read_file)
{
    g_autoptr(TmpTree) t = tmp_tree_new("normal");
    g_autoptr(GError) error = NULL;
    g_autofree char *path = g_build_filename(t->proc, "nope", NULL);
    g_autofree char *big = g_build_filename(t->proc, "meminfo", NULL);
    g_autofree char *cmdline = g_build_filename(t->proc, "1000", "cmdline", NULL);
    char *text = (char *)"sentinel";
    gsize len;

    ck_assert(mom_proc_read_file(path, 100, MOM_PROC_READ_OPTIONAL, &text, NULL, &error));
    ck_assert_ptr_null(text);
    ck_assert(!mom_proc_read_file(path, 100, MOM_PROC_READ_REQUIRED, &text, NULL, &error));
    ck_assert_ptr_null(text);
    {
        g_autofree char *msg = g_strdup_printf("Cannot read %s: %s", path, g_strerror(ENOENT));
        ck_assert_str_eq(error->message, msg);
    }
    g_clear_error(&error);

    ck_assert(!mom_proc_read_file(big, 16, MOM_PROC_READ_OPTIONAL, &text, NULL, &error));
    ck_assert(g_error_matches(error, MOM_COLLECTOR_ERROR, MOM_COLLECTOR_ERROR_PARSE));
    {
        g_autofree char *msg = g_strdup_printf("%s: file is larger than 16 bytes", big);
        ck_assert_str_eq(error->message, msg);
    }
    g_clear_error(&error);

    ck_assert(mom_proc_read_file(cmdline, 4096, 0, &text, &len, NULL));
    ck_assert_uint_eq(len, 38);
    ck_assert_str_eq(text, "/usr/libexec/qemu-kvm");
    g_free(text);
}
END_TEST

START_TEST(test_counter)
{
    MomCounter c = {0};

    ck_assert_int_eq(mom_counter_delta(&c, 100), 0);
    ck_assert_int_eq(mom_counter_delta(&c, 130), 30);
    ck_assert_int_eq(mom_counter_delta(&c, 130), 0);
    ck_assert_int_eq(mom_counter_delta(&c, 5), 0); /* went backwards */
    ck_assert_int_eq(mom_counter_delta(&c, 7), 2);
    mom_counter_reset(&c);
    ck_assert_int_eq(mom_counter_delta(&c, 1000), 0);
}
END_TEST

/* ---- HostMemory --------------------------------------------------------- */

START_TEST(test_host_memory_normal)
{
    g_autoptr(MomTestHarness) h = host_harness("HostMemory", "normal", "normal", 10);

    mom_test_collect_ok(h);
    ck_assert_int_eq(mom_test_get_int(h, "mem_available"), 16384000);
    ck_assert_int_eq(mom_test_get_int(h, "mem_unused"), 8192000);
    ck_assert_int_eq(mom_test_get_int(h, "mem_free"), 8192000 + 100000 + 2000000);
    ck_assert_int_eq(mom_test_get_int(h, "anon_pages"), 3000000);
    ck_assert_int_eq(mom_test_get_int(h, "swap_total"), 4194300);
    ck_assert_int_eq(mom_test_get_int(h, "swap_usage"), 4194300 - 4000000);
    /* MOM: the first sample's swap deltas are 0, not the boot totals */
    ck_assert_int_eq(mom_test_get_int(h, "swap_in"), 0);
    ck_assert_int_eq(mom_test_get_int(h, "swap_out"), 0);
    ck_assert_ptr_null(mom_sample_missing_field(h->sample, h->klass));
    /* unchanged counters: zero deltas */
    mom_test_collect_ok(h);
    ck_assert_int_eq(mom_test_get_int(h, "swap_in"), 0);
    ck_assert_int_eq(mom_test_get_int(h, "mem_available"), 16384000);
}
END_TEST

START_TEST(test_host_memory_deltas)
{
    g_autoptr(TmpTree) t = tmp_tree_new("normal");
    g_autoptr(MomTestHarness) h = host_harness_at("HostMemory", t->proc, t->sys, 10);
    g_autoptr(GError) error = NULL;

    mom_test_collect_ok(h);
    mom_test_write_file(t->proc, "vmstat", "pswpin 1250\npswpout 2010\npgmajfault 500\n");
    mom_test_collect_ok(h);
    ck_assert_int_eq(mom_test_get_int(h, "swap_in"), 250);
    ck_assert_int_eq(mom_test_get_int(h, "swap_out"), 10);
    mom_test_write_file(t->proc, "vmstat", "pswpin 1300\npswpout 2010\n");
    mom_test_collect_ok(h);
    ck_assert_int_eq(mom_test_get_int(h, "swap_in"), 50);
    ck_assert_int_eq(mom_test_get_int(h, "swap_out"), 0);

    /* a failed collection leaves the counters where they were */
    mom_test_write_file(t->proc, "vmstat", "pswpin 9999\npswpout x\n");
    ck_assert(!mom_test_collect(h, &error));
    g_clear_error(&error);
    mom_test_write_file(t->proc, "vmstat", "pswpin 1400\npswpout 2020\n");
    mom_test_collect_ok(h);
    ck_assert_int_eq(mom_test_get_int(h, "swap_in"), 100);
    ck_assert_int_eq(mom_test_get_int(h, "swap_out"), 10);

    /* a counter that vanishes is nil, and restarts at 0 */
    mom_test_write_file(t->proc, "vmstat", "pswpout 2030\n");
    mom_test_collect_ok(h);
    mom_test_assert_nil(h, "swap_in");
    ck_assert_int_eq(mom_test_get_int(h, "swap_out"), 10);
    ck_assert_str_eq(mom_sample_missing_field(h->sample, h->klass), "swap_in");
    mom_test_write_file(t->proc, "vmstat", "pswpin 5000\npswpout 2030\n");
    mom_test_collect_ok(h);
    ck_assert_int_eq(mom_test_get_int(h, "swap_in"), 0);
}
END_TEST

START_TEST(test_host_memory_oldkernel)
{
    g_autoptr(MomTestHarness) h = host_harness("HostMemory", "oldkernel", "oldkernel", 10);

    mom_test_collect_ok(h);
    ck_assert_int_eq(mom_test_get_int(h, "mem_available"), 8192000);
    ck_assert_int_eq(mom_test_get_int(h, "mem_free"), 1024000 + 50000 + 500000);
    ck_assert_int_eq(mom_test_get_int(h, "swap_usage"), 0);
    ck_assert_ptr_null(mom_sample_missing_field(h->sample, h->klass));
}
END_TEST

START_TEST(test_host_memory_missing_keys)
{
    g_autoptr(TmpTree) t = tmp_tree_new("normal");
    g_autoptr(MomTestHarness) h = host_harness_at("HostMemory", t->proc, t->sys, 10);

    /* well-formed but incomplete: fields nil, the sample incomplete */
    mom_test_write_file(t->proc, "meminfo",
                        "MemTotal: 1000 kB\nMemFree: 500 kB\nSwapTotal: 0 kB\n");
    mom_test_collect_ok(h);
    ck_assert_int_eq(mom_test_get_int(h, "mem_available"), 1000);
    ck_assert_int_eq(mom_test_get_int(h, "mem_unused"), 500);
    mom_test_assert_nil(h, "mem_free");
    mom_test_assert_nil(h, "anon_pages");
    mom_test_assert_nil(h, "swap_usage");
    ck_assert_str_eq(mom_sample_missing_field(h->sample, h->klass), "mem_free");
}
END_TEST

START_TEST(test_host_memory_errors)
{
    g_autoptr(TmpTree) t = tmp_tree_new("normal");
    g_autoptr(MomTestHarness) h = host_harness_at("HostMemory", t->proc, t->sys, 10);
    g_autoptr(MomTestHarness) g = host_harness("HostMemory", "garbage", "garbage", 10);
    g_autofree char *gpath = data_path("proc", "garbage");
    g_autofree char *meminfo = g_build_filename(t->proc, "meminfo", NULL);
    g_autofree char *vmstat = g_build_filename(t->proc, "vmstat", NULL);
    g_autofree char *msg = NULL;

    msg = g_strdup_printf("%s/meminfo: line 3: expected 'Name: value kB', got 'garbage'", gpath);
    mom_test_assert_collect_error(g, MOM_COLLECTOR_ERROR_PARSE, msg);
    /* nothing was written to the sample */
    mom_test_assert_nil(g, "mem_available");

    mom_test_write_file(t->proc, "vmstat", "pswpin 1000\npswpout two thousand\n");
    g_free(msg);
    msg = g_strdup_printf("%s: line 2: expected 'name value', got 'pswpout two thousand'", vmstat);
    mom_test_assert_collect_error(h, MOM_COLLECTOR_ERROR_PARSE, msg);

    mom_test_write_file(t->proc, "meminfo", "");
    g_free(msg);
    msg = g_strdup_printf("%s: file is empty", meminfo);
    mom_test_assert_collect_error(h, MOM_COLLECTOR_ERROR_PARSE, msg);

    remove_file(t->proc, "meminfo");
    g_free(msg);
    msg = g_strdup_printf("Cannot read %s: %s", meminfo, g_strerror(ENOENT));
    mom_test_assert_collect_error(h, MOM_COLLECTOR_ERROR_READ, msg);

    mom_test_write_file(t->proc, "meminfo", "MemTotal: 1 kB\n");
    make_unreadable(t->proc, "meminfo");
    g_free(msg);
    msg = g_strdup_printf("Cannot read %s: %s", meminfo, g_strerror(EISDIR));
    mom_test_assert_collect_error(h, MOM_COLLECTOR_ERROR_READ, msg);

    if (geteuid() != 0) {
        g_rmdir(meminfo);
        mom_test_write_file(t->proc, "meminfo", "MemTotal: 1 kB\n");
        ck_assert_int_eq(g_chmod(meminfo, 0), 0);
        g_free(msg);
        msg = g_strdup_printf("Cannot read %s: %s", meminfo, g_strerror(EACCES));
        mom_test_assert_collect_error(h, MOM_COLLECTOR_ERROR_READ, msg);
    }
}
END_TEST

/* Values that cannot be true fail the collection, naming the file and
 * the key, and leave the sample and the swap baselines alone; a key that
 * is absent is still only a nil field. */
START_TEST(test_host_memory_impossible)
{
    g_autoptr(TmpTree) t = tmp_tree_new("normal");
    g_autoptr(MomTestHarness) h = host_harness_at("HostMemory", t->proc, t->sys, 10);
    static const struct {
        const char *file, *text, *message;
    } bad[] = {
        {"meminfo", "MemTotal: 0 kB\nMemFree: 0 kB\n",
         "MemTotal is 0, which cannot be true (it must be at least 1)."},
        {"meminfo", "MemTotal: -5 kB\nMemFree: 0 kB\n",
         "MemTotal is -5, which cannot be true (it must be at least 1)."},
        {"meminfo", "MemTotal: 1000 kB\nMemFree: 1001 kB\n",
         "MemFree is 1001, more than MemTotal (1000), which cannot be true."},
        {"meminfo", "MemTotal: 1000 kB\nBuffers: -1 kB\n",
         "Buffers is -1, which cannot be true (it must be at least 0)."},
        {"meminfo", "MemTotal: 1000 kB\nSwapTotal: 10 kB\nSwapFree: 11 kB\n",
         "SwapFree is 11, more than SwapTotal (10), which cannot be true."},
        {"vmstat", "pswpin -7\npswpout 2000\n",
         "pswpin is -7, which cannot be true (it must be at least 0)."},
    };

    mom_test_collect_ok(h);
    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(TmpTree) b = tmp_tree_new("normal");
        g_autoptr(MomTestHarness) hb = host_harness_at("HostMemory", b->proc, b->sys, 10);
        g_autofree char *path = g_build_filename(b->proc, bad[i].file, NULL);
        g_autofree char *msg = g_strdup_printf("%s: %s", path, bad[i].message);

        mom_test_write_file(b->proc, bad[i].file, bad[i].text);
        mom_test_assert_collect_error(hb, MOM_COLLECTOR_ERROR_PARSE, msg);
        mom_test_assert_nil(hb, "mem_available");
        mom_test_assert_nil(hb, "swap_in");
    }

    /* the counters' baseline survives a rejected sample: the next good
     * one reports the change since the last good one */
    mom_test_write_file(t->proc, "vmstat", "pswpin 1500\npswpout -1\n");
    ck_assert(!mom_test_collect(h, NULL));
    mom_test_write_file(t->proc, "vmstat", "pswpin 1600\npswpout 2000\n");
    mom_test_collect_ok(h);
    ck_assert_int_eq(mom_test_get_int(h, "swap_in"), 600);

    /* the limits themselves can be true: all free, no swap at all */
    mom_test_write_file(t->proc, "meminfo",
                        "MemTotal: 1 kB\nMemFree: 1 kB\nBuffers: 0 kB\nCached: 0 kB\n"
                        "AnonPages: 0 kB\nSwapTotal: 0 kB\nSwapFree: 0 kB\n");
    mom_test_collect_ok(h);
    ck_assert_int_eq(mom_test_get_int(h, "mem_available"), 1);
    ck_assert_int_eq(mom_test_get_int(h, "swap_usage"), 0);
}
END_TEST

START_TEST(test_host_memory_missing_vmstat)
{
    g_autoptr(MomTestHarness) h = host_harness("HostMemory", "normal", "normal", 10);
    g_autoptr(TmpTree) t = tmp_tree_new("normal");
    g_autoptr(MomTestHarness) m = host_harness_at("HostMemory", t->proc, t->sys, 10);
    g_autofree char *vmstat = g_build_filename(t->proc, "vmstat", NULL);
    g_autofree char *msg = g_strdup_printf("Cannot read %s: %s", vmstat, g_strerror(ENOENT));

    /* vmstat backs mandatory fields: its absence is a failure */
    remove_file(t->proc, "vmstat");
    mom_test_assert_collect_error(m, MOM_COLLECTOR_ERROR_READ, msg);
    mom_test_collect_ok(h);
}
END_TEST

/* ---- HostKSM ------------------------------------------------------------ */

START_TEST(test_host_ksm_normal)
{
    g_autoptr(MomTestHarness) h = host_harness("HostKSM", "normal", "normal", 10);

    mom_test_collect_ok(h);
    ck_assert_int_eq(mom_test_get_int(h, "ksm_full_scans"), 12);
    ck_assert_int_eq(mom_test_get_int(h, "ksm_pages_sharing"), 5000);
    ck_assert_int_eq(mom_test_get_int(h, "ksm_pages_unshared"), 300);
    ck_assert_int_eq(mom_test_get_int(h, "ksm_run"), 1);
    ck_assert_int_eq(mom_test_get_int(h, "ksm_pages_shared"), 1200);
    ck_assert_int_eq(mom_test_get_int(h, "ksm_pages_to_scan"), 100);
    ck_assert_int_eq(mom_test_get_int(h, "ksm_pages_volatile"), 40);
    ck_assert_int_eq(mom_test_get_int(h, "ksm_sleep_millisecs"), 20);
    ck_assert_int_eq(mom_test_get_int(h, "ksm_merge_across_nodes"), 1);
    ck_assert_int_eq(mom_test_get_int(h, "ksm_general_profit"), -4096);
    ck_assert_int_eq(mom_test_get_int(h, "ksm_zero_pages"), 7);
    ck_assert_str_eq(mom_value_string_get(mom_sample_get(h->sample, "ksm_advisor_mode")), "none");
    /* qemu-kvm 4 GiB + qemu-system-x86 2 GiB + "my qemu) x" 1 MiB, in KiB;
     * the fake user-space "ksmd" and the broken entries count for nothing */
    ck_assert_int_eq(mom_test_get_int(h, "ksm_shareable"), 4194304 + 2097152 + 1024);
    /* ksmd did not run since init */
    ck_assert_int_eq(mom_test_get_int(h, "ksmd_cpu_usage"), 0);
    ck_assert_ptr_null(mom_sample_missing_field(h->sample, h->klass));
    /* the first sample's deltas are 0; this fixture's kernel has no
     * pages_scanned, smart_scan nor ksm_stat (before 6.5) */
    ck_assert_int_eq(mom_test_get_int(h, "ksm_full_scans_delta"), 0);
    ck_assert_int_eq(mom_test_get_int(h, "ksm_general_profit_delta"), 0);
    mom_test_assert_nil(h, "ksm_pages_scanned");
    mom_test_assert_nil(h, "ksm_pages_scanned_delta");
    mom_test_assert_nil(h, "ksm_smart_scan");
    mom_test_assert_nil(h, "ksm_mergeable");
    mom_test_assert_nil(h, "ksm_mergeable_added");
    mom_test_assert_nil(h, "ksm_page_kib");
    mom_test_assert_nil(h, "ksm_full_scan_s");
}
END_TEST

/* What a feedback tuner reads: deltas since the previous sample (signed
 * for levels, never negative for counters), the memory of the processes
 * that merge, and the time a full scan of it takes. */
START_TEST(test_host_ksm_feedback)
{
    g_autoptr(TmpTree) t = tmp_tree_new("normal");
    g_autoptr(MomTestHarness) h = NULL;
    g_autofree char *region = stat_line(4000, "ksm-region", 0, 0, 0, 600 << 20);
    g_autofree char *other = stat_line(4001, "other", 0, 0, 0, 600 << 20);
    g_autofree char *late = stat_line(4002, "late", 0, 0, 0, 100 << 20);
    gint64 page_kib = sysconf(_SC_PAGESIZE) / 1024;

    mom_test_write_file(t->sys, "kernel/mm/ksm/pages_scanned", "1000\n");
    mom_test_write_file(t->sys, "kernel/mm/ksm/smart_scan", "1\n");
    mom_test_write_file(t->proc, "4000/stat", region);
    mom_test_write_file(t->proc, "4000/ksm_stat",
                        "ksm_rmap_items 0\nksm_merge_any: no\nksm_mergeable: yes\n");
    /* statm: size resident shared ...: 131000 anonymous pages */
    mom_test_write_file(t->proc, "4000/statm", "150000 131200 200 1 0 131000 0\n");
    mom_test_write_file(t->proc, "4001/stat", other);
    mom_test_write_file(t->proc, "4001/ksm_stat", "ksm_merge_any: no\nksm_mergeable: no\n");
    mom_test_write_file(t->proc, "4001/statm", "150000 100000 0 1 0 100000 0\n");
    h = host_harness_at("HostKSM", t->proc, t->sys, 10);
    mom_test_collect_ok(h);
    ck_assert_int_eq(mom_test_get_int(h, "ksm_pages_scanned"), 1000);
    ck_assert_int_eq(mom_test_get_int(h, "ksm_smart_scan"), 1);
    ck_assert_int_eq(mom_test_get_int(h, "ksm_pages_scanned_delta"), 0);
    ck_assert_int_eq(mom_test_get_int(h, "ksm_mergeable"), 131000 * page_kib);
    /* the first sample counts what merges as added */
    ck_assert_int_eq(mom_test_get_int(h, "ksm_mergeable_added"), 131000 * page_kib);
    /* 131000 pages at 100 pages every 20 ms: 26.2 s */
    const MomValue *scan_s = mom_sample_get(h->sample, "ksm_full_scan_s");
    ck_assert_int_eq(scan_s->type, MOM_VALUE_FLOAT);
    ck_assert_double_eq_tol(scan_s->u.d, 26.2, 1e-9);

    /* a process's growth is added, its shrinking is not taken off */
    mom_test_write_file(t->proc, "4000/statm", "150000 131300 200 1 0 131100 0\n");
    mom_test_collect_ok(h);
    ck_assert_int_eq(mom_test_get_int(h, "ksm_mergeable_added"), 131100 * page_kib);
    mom_test_write_file(t->proc, "4000/statm", "150000 131200 200 1 0 131000 0\n");
    mom_test_collect_ok(h);
    ck_assert_int_eq(mom_test_get_int(h, "ksm_mergeable"), 131000 * page_kib);
    ck_assert_int_eq(mom_test_get_int(h, "ksm_mergeable_added"), 131100 * page_kib);
    /* taken again up to the most it held: nothing new; beyond: the excess */
    mom_test_write_file(t->proc, "4000/statm", "150000 131300 200 1 0 131100 0\n");
    mom_test_collect_ok(h);
    ck_assert_int_eq(mom_test_get_int(h, "ksm_mergeable_added"), 131100 * page_kib);
    mom_test_write_file(t->proc, "4000/statm", "150000 131400 200 1 0 131200 0\n");
    mom_test_collect_ok(h);
    ck_assert_int_eq(mom_test_get_int(h, "ksm_mergeable_added"), 131200 * page_kib);
    ck_assert_int_eq(mom_test_get_int(h, "ksm_page_kib"), page_kib);
    mom_test_write_file(t->proc, "4000/statm", "150000 131200 200 1 0 131000 0\n");
    mom_test_collect_ok(h);

    /* levels move both ways, counters only up */
    mom_test_write_file(t->sys, "kernel/mm/ksm/pages_sharing", "4000\n");
    mom_test_write_file(t->sys, "kernel/mm/ksm/pages_shared", "1300\n");
    mom_test_write_file(t->sys, "kernel/mm/ksm/full_scans", "15\n");
    mom_test_write_file(t->sys, "kernel/mm/ksm/pages_scanned", "9000\n");
    mom_test_write_file(t->sys, "kernel/mm/ksm/general_profit", "-8192\n");
    mom_test_write_file(t->sys, "kernel/mm/ksm/pages_to_scan", "0\n");
    mom_test_collect_ok(h);
    ck_assert_int_eq(mom_test_get_int(h, "ksm_pages_sharing_delta"), -1000);
    ck_assert_int_eq(mom_test_get_int(h, "ksm_pages_shared_delta"), 100);
    ck_assert_int_eq(mom_test_get_int(h, "ksm_full_scans_delta"), 3);
    ck_assert_int_eq(mom_test_get_int(h, "ksm_pages_scanned_delta"), 8000);
    ck_assert_int_eq(mom_test_get_int(h, "ksm_general_profit_delta"), -4096);
    ck_assert_int_eq(mom_test_get_int(h, "ksm_pages_unshared_delta"), 0);
    /* no rate (pages_to_scan 0): no scan time */
    mom_test_assert_nil(h, "ksm_full_scan_s");

    mom_test_write_file(t->sys, "kernel/mm/ksm/full_scans", "2\n");
    mom_test_write_file(t->sys, "kernel/mm/ksm/pages_to_scan", "100\n");
    mom_test_collect_ok(h);
    ck_assert_int_eq(mom_test_get_int(h, "ksm_full_scans_delta"), 0);
    /* a file that went away: its delta is nil, then 0 again */
    remove_file(t->sys, "kernel/mm/ksm/pages_scanned");
    mom_test_collect_ok(h);
    mom_test_assert_nil(h, "ksm_pages_scanned_delta");
    mom_test_write_file(t->sys, "kernel/mm/ksm/pages_scanned", "5\n");
    mom_test_collect_ok(h);
    ck_assert_int_eq(mom_test_get_int(h, "ksm_pages_scanned_delta"), 0);

    /* a process that starts to merge: found when the host's AnonPages
     * grew by 32 MiB, at the next sample, not six samples later (a new
     * harness, so that no scheduled full scan of /proc comes between) */
    g_clear_pointer(&h, mom_test_harness_free);
    h = host_harness_at("HostKSM", t->proc, t->sys, 10);
    mom_test_collect_ok(h);
    mom_test_write_file(t->proc, "4002/stat", late);
    mom_test_write_file(t->proc, "4002/ksm_stat", "ksm_merge_any: yes\nksm_mergeable: yes\n");
    mom_test_write_file(t->proc, "4002/statm", "30000 25600 0 1 0 25600 0\n");
    mom_test_collect_ok(h);
    ck_assert_int_eq(mom_test_get_int(h, "ksm_mergeable"), 131000 * page_kib);
    mom_test_write_file(t->proc, "meminfo", "MemTotal: 16000000 kB\nAnonPages: 3032768 kB\n");
    mom_test_collect_ok(h);
    ck_assert_int_eq(mom_test_get_int(h, "ksm_mergeable"), (131000 + 25600) * page_kib);
    /* the new harness counted 4000 once, then 4002 whole */
    ck_assert_int_eq(mom_test_get_int(h, "ksm_mergeable_added"), (131000 + 25600) * page_kib);

    /* it stops merging: its ksm_stat (which takes its mmap lock) is read
     * again at the next full scan of /proc, within six samples */
    mom_test_write_file(t->proc, "4002/ksm_stat", "ksm_merge_any: no\nksm_mergeable: no\n");
    for (int i = 0; i < 6; i++)
        mom_test_collect_ok(h);
    ck_assert_int_eq(mom_test_get_int(h, "ksm_mergeable"), 131000 * page_kib);

    /* 4001, long settled as not merging, starts to: a full scan of /proc
     * (every sixth sample) does not read its ksm_stat again, the sweep of
     * every tenth full scan does */
    for (int i = 0; i < 24; i++)
        mom_test_collect_ok(h);
    mom_test_write_file(t->proc, "4001/ksm_stat", "ksm_merge_any: no\nksm_mergeable: yes\n");
    int samples = 0;
    do {
        mom_test_collect_ok(h);
        samples++;
    } while (mom_test_get_int(h, "ksm_mergeable") == 131000 * page_kib && samples < 100);
    ck_assert_int_eq(mom_test_get_int(h, "ksm_mergeable"), (131000 + 100000) * page_kib);
    ck_assert_int_gt(samples, 6);
    ck_assert_int_le(samples, 60);
    /* and a growth of AnonPages sweeps at once */
    mom_test_write_file(t->proc, "4001/ksm_stat", "ksm_merge_any: no\nksm_mergeable: no\n");
    mom_test_collect_ok(h);
    for (int i = 0; i < 20; i++)
        mom_test_collect_ok(h);
    mom_test_write_file(t->proc, "4001/ksm_stat", "ksm_merge_any: yes\nksm_mergeable: yes\n");
    mom_test_write_file(t->proc, "meminfo", "MemTotal: 16000000 kB\nAnonPages: 3070000 kB\n");
    mom_test_collect_ok(h);
    ck_assert_int_eq(mom_test_get_int(h, "ksm_mergeable"), (131000 + 100000) * page_kib);
}
END_TEST

/* A new qemu process is counted at the next full scan of /proc, at most
 * six samples later; between scans only the known processes are read. */
START_TEST(test_host_ksm_rescan)
{
    g_autoptr(TmpTree) t = tmp_tree_new("normal");
    g_autoptr(MomTestHarness) h = host_harness_at("HostKSM", t->proc, t->sys, 10);
    g_autofree char *qemu = stat_line(3000, "qemu-kvm", 0, 0, 0, 1024 * 1024 * 1024);
    const gint64 before = 4194304 + 2097152 + 1024;
    int samples = 0;

    mom_test_collect_ok(h);
    ck_assert_int_eq(mom_test_get_int(h, "ksm_shareable"), before);
    mom_test_write_file(t->proc, "3000/stat", qemu);
    do {
        mom_test_collect_ok(h);
        samples++;
    } while (mom_test_get_int(h, "ksm_shareable") == before && samples < 10);
    ck_assert_int_eq(mom_test_get_int(h, "ksm_shareable"), before + 1048576);
    ck_assert_int_le(samples, 6);
}
END_TEST

START_TEST(test_host_ksm_deltas)
{
    g_autoptr(TmpTree) t = tmp_tree_new("normal");
    g_autoptr(MomTestHarness) h = host_harness_at("HostKSM", t->proc, t->sys, 10);
    gint64 tck = sysconf(_SC_CLK_TCK);
    g_autofree char *ksmd = NULL;
    g_autofree char *ksmd2 = NULL;
    g_autofree char *qemu = stat_line(2000, "qemu-kvm", 0, 0, 0, 1024 * 1024 * 1024);

    /* init saw 150+50 ticks; 2.5 s of CPU over a 10 s interval is 25 % */
    ksmd = stat_line(37, "ksmd", 2097216, 150 + 2 * tck, 50 + tck / 2, 0);
    mom_test_write_file(t->proc, "37/stat", ksmd);
    mom_test_write_file(t->proc, "2000/stat", qemu);
    remove_file(t->proc, "1001/stat");
    mom_test_collect_ok(h);
    ck_assert_int_eq(mom_test_get_int(h, "ksmd_cpu_usage"), 100 * (2 * tck + tck / 2) / (tck * 10));
    ck_assert_int_eq(mom_test_get_int(h, "ksm_shareable"), 4194304 + 1048576 + 1024);

    /* no new ticks */
    mom_test_collect_ok(h);
    ck_assert_int_eq(mom_test_get_int(h, "ksmd_cpu_usage"), 0);

    /* a whole CPU for the interval */
    g_free(ksmd);
    ksmd = stat_line(37, "ksmd", 2097216, 150 + 2 * tck + 10 * tck, 50 + tck / 2, 0);
    mom_test_write_file(t->proc, "37/stat", ksmd);
    mom_test_collect_ok(h);
    ck_assert_int_eq(mom_test_get_int(h, "ksmd_cpu_usage"), 100);

    /* a different ksmd (new pid) has no baseline: 0, then deltas again */
    remove_file(t->proc, "37/stat");
    ksmd2 = stat_line(38, "ksmd", 2097216, 5000, 0, 0);
    mom_test_write_file(t->proc, "38/stat", ksmd2);
    mom_test_collect_ok(h);
    ck_assert_int_eq(mom_test_get_int(h, "ksmd_cpu_usage"), 0);
    g_free(ksmd2);
    ksmd2 = stat_line(38, "ksmd", 2097216, 5000 + tck, 0, 0);
    mom_test_write_file(t->proc, "38/stat", ksmd2);
    mom_test_collect_ok(h);
    ck_assert_int_eq(mom_test_get_int(h, "ksmd_cpu_usage"), 10);

    /* no ksmd at all: 0, as MOM reports without a pid */
    remove_file(t->proc, "38/stat");
    mom_test_collect_ok(h);
    ck_assert_int_eq(mom_test_get_int(h, "ksmd_cpu_usage"), 0);

    /* KSM switched off and files rewritten */
    mom_test_write_file(t->sys, "kernel/mm/ksm/run", "0\n");
    mom_test_write_file(t->sys, "kernel/mm/ksm/advisor_mode", "none [scan-time]\n");
    mom_test_collect_ok(h);
    ck_assert_int_eq(mom_test_get_int(h, "ksm_run"), 0);
    ck_assert_str_eq(mom_value_string_get(mom_sample_get(h->sample, "ksm_advisor_mode")),
                     "scan-time");
}
END_TEST

START_TEST(test_host_ksm_interval_zero)
{
    g_autoptr(MomTestHarness) h = host_harness("HostKSM", "normal", "normal", 0);

    /* without an interval the measured time is used; no ticks, so 0 */
    mom_test_collect_ok(h);
    ck_assert_int_eq(mom_test_get_int(h, "ksmd_cpu_usage"), 0);
}
END_TEST

START_TEST(test_host_ksm_oldkernel)
{
    g_autoptr(MomTestHarness) h = host_harness("HostKSM", "normal", "oldkernel", 10);

    mom_test_collect_ok(h);
    ck_assert_int_eq(mom_test_get_int(h, "ksm_pages_sharing"), 5000);
    mom_test_assert_nil(h, "ksm_general_profit");
    mom_test_assert_nil(h, "ksm_zero_pages");
    mom_test_assert_nil(h, "ksm_advisor_mode");
    /* before 3.9 (or without CONFIG_NUMA) there is no merge_across_nodes,
     * which MOM declares mandatory */
    mom_test_assert_nil(h, "ksm_merge_across_nodes");
    ck_assert_str_eq(mom_sample_missing_field(h->sample, h->klass), "ksm_merge_across_nodes");
}
END_TEST

START_TEST(test_host_ksm_missing)
{
    /* no KSM in the kernel, no processes: not an error */
    g_autoptr(MomTestHarness) h = host_harness("HostKSM", "missing", "missing", 10);

    mom_test_collect_ok(h);
    mom_test_assert_nil(h, "ksm_run");
    mom_test_assert_nil(h, "ksm_pages_sharing");
    mom_test_assert_nil(h, "ksm_advisor_mode");
    ck_assert_int_eq(mom_test_get_int(h, "ksm_shareable"), 0);
    ck_assert_int_eq(mom_test_get_int(h, "ksmd_cpu_usage"), 0);
    ck_assert_str_eq(mom_sample_missing_field(h->sample, h->klass), "ksm_full_scans");
}
END_TEST

START_TEST(test_host_ksm_errors)
{
    g_autoptr(MomTestHarness) g = host_harness("HostKSM", "garbage", "garbage", 10);
    g_autoptr(TmpTree) t = tmp_tree_new("normal");
    g_autoptr(MomTestHarness) h = host_harness_at("HostKSM", t->proc, t->sys, 10);
    g_autofree char *gsys = data_path("sys", "garbage");
    g_autofree char *mode = g_build_filename(t->sys, "kernel/mm/ksm/advisor_mode", NULL);
    g_autofree char *run = g_build_filename(t->sys, "kernel/mm/ksm/run", NULL);
    g_autofree char *msg = NULL;
    g_autoptr(GError) error = NULL;
    MomCollectorConfig cfg = {.proc_root = "/nonexistent/proc", .sysfs_root = "/sys"};

    msg = g_strdup_printf("%s/kernel/mm/ksm/run: expected an integer, got 'garbage'", gsys);
    mom_test_assert_collect_error(g, MOM_COLLECTOR_ERROR_PARSE, msg);
    mom_test_assert_nil(g, "ksm_full_scans");
    mom_test_assert_nil(g, "ksm_shareable");

    mom_test_write_file(t->sys, "kernel/mm/ksm/advisor_mode", "none scan-time\n");
    g_free(msg);
    msg = g_strdup_printf("%s: expected a choice such as '[none] scan-time', got 'none scan-time'",
                          mode);
    mom_test_assert_collect_error(h, MOM_COLLECTOR_ERROR_PARSE, msg);
    mom_test_write_file(t->sys, "kernel/mm/ksm/advisor_mode", "[none] scan-time\n");

    /* a negative count cannot be true; general_profit may be negative
     * (the normal fixture has -4096) */
    mom_test_write_file(t->sys, "kernel/mm/ksm/pages_shared", "-5\n");
    g_free(msg);
    msg = g_strdup_printf("%s/kernel/mm/ksm/pages_shared: the value -5 cannot be true (it must be "
                          "at least 0).",
                          t->sys);
    mom_test_assert_collect_error(h, MOM_COLLECTOR_ERROR_PARSE, msg);
    mom_test_assert_nil(h, "ksm_full_scans");
    mom_test_write_file(t->sys, "kernel/mm/ksm/pages_shared", "0\n");
    mom_test_collect_ok(h);
    ck_assert_int_eq(mom_test_get_int(h, "ksm_general_profit"), -4096);

    /* a negative ksm_zero_pages is a kernel bug (Linux 6.6-6.9): the
     * optional field is left out, said once, and the sample still counts */
    mom_test_log_capture();
    mom_test_write_file(t->sys, "kernel/mm/ksm/ksm_zero_pages", "-3\n");
    mom_test_collect_ok(h);
    mom_test_collect_ok(h);
    mom_test_assert_nil(h, "ksm_zero_pages");
    ck_assert_int_eq(mom_test_get_int(h, "ksm_pages_shared"), 0);
    ck_assert_uint_eq(mom_test_log_count("ksm_zero_pages is -3, which cannot be true"), 1);
    mom_test_write_file(t->sys, "kernel/mm/ksm/ksm_zero_pages", "7\n");
    mom_test_collect_ok(h);
    ck_assert_int_eq(mom_test_get_int(h, "ksm_zero_pages"), 7);
    mom_test_log_release();

    make_unreadable(t->sys, "kernel/mm/ksm/run");
    g_free(msg);
    msg = g_strdup_printf("Cannot read %s: %s", run, g_strerror(EISDIR));
    mom_test_assert_collect_error(h, MOM_COLLECTOR_ERROR_READ, msg);

    /* a /proc that cannot be listed fails init */
    ck_assert_ptr_null(mom_collector_host_ksm.init(&cfg, &error));
    ck_assert(g_error_matches(error, MOM_COLLECTOR_ERROR, MOM_COLLECTOR_ERROR_READ));
    ck_assert(g_str_has_prefix(error->message, "Cannot list /nonexistent/proc: "));
}
END_TEST

/* ---- HostCpu ------------------------------------------------------------ */

START_TEST(test_host_cpu)
{
    g_autoptr(MomTestHarness) normal = host_harness("HostCpu", "normal", "normal", 10);
    g_autoptr(MomTestHarness) old = host_harness("HostCpu", "normal", "oldkernel", 10);
    g_autoptr(MomTestHarness) fallback = host_harness("HostCpu", "missing", "missing", 10);

    mom_test_collect_ok(normal);
    ck_assert_int_eq(mom_test_get_int(normal, "cpu_count"), 7); /* 0-3,8,10-11 */
    mom_test_collect_ok(old);
    ck_assert_int_eq(mom_test_get_int(old, "cpu_count"), 1);
    /* no sysfs list: the cpuN lines of /proc/stat */
    mom_test_collect_ok(fallback);
    ck_assert_int_eq(mom_test_get_int(fallback, "cpu_count"), 2);
}
END_TEST

START_TEST(test_host_cpu_errors)
{
    g_autoptr(MomTestHarness) g = host_harness("HostCpu", "garbage", "garbage", 10);
    g_autoptr(MomTestHarness) gstat = host_harness("HostCpu", "garbage", "missing", 10);
    g_autoptr(MomTestHarness) nostat = host_harness("HostCpu", "nopsi", "missing", 10);
    g_autoptr(TmpTree) t = tmp_tree_new("normal");
    g_autoptr(MomTestHarness) h = host_harness_at("HostCpu", t->proc, t->sys, 10);
    g_autofree char *gsys = data_path("sys", "garbage");
    g_autofree char *gproc = data_path("proc", "garbage");
    g_autofree char *nproc = data_path("proc", "nopsi");
    g_autofree char *online = g_build_filename(t->sys, "devices/system/cpu/online", NULL);
    g_autofree char *msg = NULL;

    msg = g_strdup_printf(
        "%s/devices/system/cpu/online: expected a CPU list such as '0-3,8', got '0-3,x'", gsys);
    mom_test_assert_collect_error(g, MOM_COLLECTOR_ERROR_PARSE, msg);
    g_free(msg);
    msg = g_strdup_printf("%s/stat: no 'cpuN' lines found", gproc);
    mom_test_assert_collect_error(gstat, MOM_COLLECTOR_ERROR_PARSE, msg);
    g_free(msg);
    msg = g_strdup_printf("Cannot read %s/stat: %s", nproc, g_strerror(ENOENT));
    mom_test_assert_collect_error(nostat, MOM_COLLECTOR_ERROR_READ, msg);

    mom_test_write_file(t->sys, "devices/system/cpu/online", "\n");
    g_free(msg);
    msg = g_strdup_printf("%s: the list of online CPUs is empty", online);
    mom_test_assert_collect_error(h, MOM_COLLECTOR_ERROR_PARSE, msg);
    make_unreadable(t->sys, "devices/system/cpu/online");
    g_free(msg);
    msg = g_strdup_printf("Cannot read %s: %s", online, g_strerror(EISDIR));
    mom_test_assert_collect_error(h, MOM_COLLECTOR_ERROR_READ, msg);
}
END_TEST

/* ---- HostTime ----------------------------------------------------------- */

static GDateTime *
fixed_clock(gpointer user_data)
{
    return user_data ? g_date_time_ref(user_data) : NULL;
}

START_TEST(test_host_time)
{
    g_autoptr(MomTestHarness) h = host_harness("HostTime", "normal", "normal", 10);
    g_autoptr(GDateTime) base = g_date_time_new_local(2024, 2, 29, 23, 59, 58.0);
    g_autoptr(GDateTime) now = g_date_time_add(base, 1 * G_USEC_PER_SEC + 123456);
    g_autoptr(GError) error = NULL;

    mom_host_time_set_clock(h->state, fixed_clock, now);
    mom_test_collect_ok(h);
    ck_assert_int_eq(mom_test_get_int(h, "time_year"), 2024);
    ck_assert_int_eq(mom_test_get_int(h, "time_month"), 2);
    ck_assert_int_eq(mom_test_get_int(h, "time_day"), 29);
    ck_assert_int_eq(mom_test_get_int(h, "time_hour"), 23);
    ck_assert_int_eq(mom_test_get_int(h, "time_minute"), 59);
    ck_assert_int_eq(mom_test_get_int(h, "time_second"), 59);
    ck_assert_int_eq(mom_test_get_int(h, "time_microsecond"), 123456);
    ck_assert_ptr_null(mom_sample_missing_field(h->sample, h->klass));

    /* a clock that cannot produce a local time */
    mom_host_time_set_clock(h->state, fixed_clock, NULL);
    ck_assert(!mom_test_collect(h, &error));
    ck_assert(g_error_matches(error, MOM_COLLECTOR_ERROR, MOM_COLLECTOR_ERROR_READ));
    g_clear_error(&error);

    /* back to the real clock */
    mom_host_time_set_clock(h->state, NULL, NULL);
    mom_test_collect_ok(h);
    ck_assert_int_ge(mom_test_get_int(h, "time_year"), 2024);
}
END_TEST

/* ---- HostPressure ------------------------------------------------------- */

START_TEST(test_host_pressure_normal)
{
    g_autoptr(MomTestHarness) h = host_harness("HostPressure", "normal", "normal", 10);

    mom_test_collect_ok(h);
    ck_assert_int_eq(mom_test_get_int(h, "mem_avail_real"), 12000000);
    ck_assert_int_eq(mom_test_get_int(h, "pgmajfault"), 0);
    ck_assert(mom_test_get_float(h, "psi_mem_some_avg10") == 1.5);
    ck_assert(mom_test_get_float(h, "psi_mem_some_avg60") == 0.75);
    ck_assert(mom_test_get_float(h, "psi_mem_full_avg10") == 0.5);
    ck_assert(mom_test_get_float(h, "psi_mem_full_avg60") == 0.25);
    ck_assert_int_eq(mom_test_get_int(h, "psi_mem_some_total"), 0);
    ck_assert_int_eq(mom_test_get_int(h, "psi_mem_full_total"), 0);
    /* not sampled for the daemon's fast path */
    ck_assert_int_eq(mom_test_get_int(h, "pressure_trigger"), 0);
    ck_assert_ptr_null(mom_sample_missing_field(h->sample, h->klass));
}
END_TEST

/* pressure_trigger follows the daemon's flag at each collection. */
START_TEST(test_host_pressure_trigger)
{
    g_autofree char *proc = data_path("proc", "normal");
    gboolean fast = FALSE;
    MomCollectorConfig cfg = {.proc_root = proc, .sysfs_root = "/sys", .pressure_trigger = &fast};
    g_autoptr(MomTestHarness) h = mom_test_harness_new("HostPressure", &cfg);

    for (int i = 0; i < 3; i++) {
        fast = i == 1;
        mom_test_collect_ok(h);
        ck_assert_int_eq(mom_test_get_int(h, "pressure_trigger"), i == 1);
    }
}
END_TEST

/* The fast path's MemAvailable read: the two keys, or an error naming the file. */
START_TEST(test_read_mem_available)
{
    g_autofree char *normal = data_path("proc", "normal/meminfo");
    g_autofree char *old = data_path("proc", "oldkernel/meminfo");
    g_autofree char *msg = g_strdup_printf("%s has no MemAvailable line.", old);
    g_autoptr(GError) error = NULL;
    gint64 total = 0, avail = 0;

    ck_assert(mom_collector_read_mem_available(normal, &total, &avail, NULL));
    ck_assert_int_eq(total, 16384000);
    ck_assert_int_eq(avail, 12000000);
    ck_assert(!mom_collector_read_mem_available(old, &total, &avail, &error));
    ck_assert(g_error_matches(error, MOM_COLLECTOR_ERROR, MOM_COLLECTOR_ERROR_PARSE));
    ck_assert_str_eq(error->message, msg);
    g_clear_error(&error);
    ck_assert(!mom_collector_read_mem_available("/nonexistent/meminfo", &total, &avail, &error));
    ck_assert(g_error_matches(error, MOM_COLLECTOR_ERROR, MOM_COLLECTOR_ERROR_READ));
}
END_TEST

START_TEST(test_host_pressure_deltas)
{
    g_autoptr(TmpTree) t = tmp_tree_new("normal");
    g_autoptr(MomTestHarness) h = host_harness_at("HostPressure", t->proc, t->sys, 10);

    mom_test_collect_ok(h);
    mom_test_write_file(t->proc, "vmstat", "pswpin 1000\npgmajfault 540\n");
    mom_test_write_file(t->proc, "pressure/memory",
                        "some avg10=9.25 avg60=3.00 avg300=1.00 total=223456\n"
                        "full avg10=4.00 avg60=1.00 avg300=0.50 total=66432\n");
    mom_test_collect_ok(h);
    ck_assert_int_eq(mom_test_get_int(h, "pgmajfault"), 40);
    ck_assert_int_eq(mom_test_get_int(h, "psi_mem_some_total"), 100000);
    ck_assert_int_eq(mom_test_get_int(h, "psi_mem_full_total"), 1000);
    ck_assert(mom_test_get_float(h, "psi_mem_some_avg10") == 9.25);

    /* PSI disappears (psi=0 after a reboot into a new root): nil, then a
     * fresh baseline when it returns */
    remove_file(t->proc, "pressure/memory");
    /* into the same sample: the collector must overwrite, not keep, old values */
    ck_assert(h->klass->collect(h->state, h->sample, NULL));
    mom_test_assert_nil(h, "psi_mem_some_total");
    mom_test_assert_nil(h, "psi_mem_some_avg10");
    ck_assert_int_eq(mom_test_get_int(h, "pgmajfault"), 0);
    mom_test_write_file(t->proc, "pressure/memory",
                        "some avg10=0.00 avg60=0.00 avg300=0.00 total=999999\n");
    mom_test_collect_ok(h);
    ck_assert_int_eq(mom_test_get_int(h, "psi_mem_some_total"), 0);
    /* a kernel without the "full" line */
    mom_test_assert_nil(h, "psi_mem_full_total");
    mom_test_assert_nil(h, "psi_mem_full_avg10");
}
END_TEST

START_TEST(test_host_pressure_nopsi)
{
    g_autoptr(MomTestHarness) h = host_harness("HostPressure", "nopsi", "normal", 10);
    g_autoptr(MomTestHarness) old = host_harness("HostPressure", "oldkernel", "oldkernel", 10);

    mom_test_collect_ok(h);
    ck_assert_int_eq(mom_test_get_int(h, "mem_avail_real"), 12000000);
    ck_assert_int_eq(mom_test_get_int(h, "pgmajfault"), 0);
    for (guint i = 0; mom_collector_host_pressure.optional_fields[i]; i++)
        mom_test_assert_nil(h, mom_collector_host_pressure.optional_fields[i]);
    ck_assert_ptr_null(mom_sample_missing_field(h->sample, h->klass));

    /* before 3.14 there is no MemAvailable: incomplete, not an error */
    mom_test_collect_ok(old);
    mom_test_assert_nil(old, "mem_avail_real");
    ck_assert_int_eq(mom_test_get_int(old, "pgmajfault"), 0);
    ck_assert_str_eq(mom_sample_missing_field(old->sample, old->klass), "mem_avail_real");
}
END_TEST

START_TEST(test_host_pressure_errors)
{
    g_autoptr(MomTestHarness) g = host_harness("HostPressure", "garbage", "garbage", 10);
    g_autoptr(TmpTree) t = tmp_tree_new("normal");
    g_autoptr(MomTestHarness) h = host_harness_at("HostPressure", t->proc, t->sys, 10);
    g_autofree char *gproc = data_path("proc", "garbage");
    g_autofree char *psi = g_build_filename(t->proc, "pressure", "memory", NULL);
    g_autofree char *msg = NULL;

    msg = g_strdup_printf("%s/meminfo: line 3: expected 'Name: value kB', got 'garbage'", gproc);
    mom_test_assert_collect_error(g, MOM_COLLECTOR_ERROR_PARSE, msg);

    mom_test_write_file(t->proc, "pressure/memory",
                        "some avg10=x avg60=0.75 avg300=0.25 total=123456\n");
    g_free(msg);
    msg = g_strdup_printf("%s: line 1: expected 'some|full avg10=N avg60=N avg300=N total=N', got "
                          "'some avg10=x avg60=0.75 avg300=0.25 total=123456'",
                          psi);
    mom_test_assert_collect_error(h, MOM_COLLECTOR_ERROR_PARSE, msg);
    mom_test_assert_nil(h, "mem_avail_real");

    /* MemAvailable is checked against MemTotal, which HostPressure reads
     * for that alone */
    mom_test_write_file(t->proc, "pressure/memory",
                        "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
    mom_test_write_file(t->proc, "meminfo", "MemTotal: 1000 kB\nMemAvailable: 1200 kB\n");
    g_free(msg);
    msg = g_strdup_printf("%s/meminfo: MemAvailable is 1200, more than MemTotal (1000), which "
                          "cannot be true.",
                          t->proc);
    mom_test_assert_collect_error(h, MOM_COLLECTOR_ERROR_PARSE, msg);
    mom_test_write_file(t->proc, "meminfo", "MemTotal: 0 kB\nMemAvailable: 0 kB\n");
    g_free(msg);
    msg = g_strdup_printf(
        "%s/meminfo: MemTotal is 0, which cannot be true (it must be at least 1).", t->proc);
    mom_test_assert_collect_error(h, MOM_COLLECTOR_ERROR_PARSE, msg);
    mom_test_write_file(t->proc, "meminfo", "MemTotal: 1000 kB\nMemAvailable: 1000 kB\n");
    mom_test_collect_ok(h);
    ck_assert_int_eq(mom_test_get_int(h, "mem_avail_real"), 1000);

    make_unreadable(t->proc, "pressure/memory");
    g_free(msg);
    msg = g_strdup_printf("Cannot read %s: %s", psi, g_strerror(EISDIR));
    mom_test_assert_collect_error(h, MOM_COLLECTOR_ERROR_READ, msg);
}
END_TEST

/* ---- this machine ------------------------------------------------------- */

START_TEST(test_real_system)
{
    MomSchema *schema;
    g_autoptr(MomTestHarness) mem = host_harness_at("HostMemory", "/proc", "/sys", 1);
    g_autoptr(MomTestHarness) ksm = host_harness_at("HostKSM", "/proc", "/sys", 1);
    g_autoptr(MomTestHarness) cpu = host_harness_at("HostCpu", "/proc", "/sys", 1);
    g_autoptr(MomTestHarness) tim = host_harness_at("HostTime", "/proc", "/sys", 1);
    g_autoptr(MomTestHarness) psi = host_harness_at("HostPressure", "/proc", "/sys", 1);

    for (int round = 0; round < 2; round++) {
        mom_test_collect_ok(mem);
        mom_test_collect_ok(ksm);
        mom_test_collect_ok(cpu);
        mom_test_collect_ok(tim);
        mom_test_collect_ok(psi);
    }

    ck_assert_int_gt(mom_test_get_int(mem, "mem_available"), 0);
    ck_assert_int_le(mom_test_get_int(mem, "mem_unused"), mom_test_get_int(mem, "mem_available"));
    ck_assert_int_ge(mom_test_get_int(mem, "mem_free"), mom_test_get_int(mem, "mem_unused"));
    ck_assert_int_ge(mom_test_get_int(mem, "swap_in"), 0);
    ck_assert_int_ge(mom_test_get_int(mem, "swap_usage"), 0);
    ck_assert_int_le(mom_test_get_int(mem, "swap_usage"), mom_test_get_int(mem, "swap_total"));
    ck_assert_ptr_null(mom_sample_missing_field(mem->sample, mem->klass));

    ck_assert_int_eq(mom_test_get_int(cpu, "cpu_count"), sysconf(_SC_NPROCESSORS_ONLN));

    ck_assert_int_ge(mom_test_get_int(tim, "time_year"), 2024);
    ck_assert_int_le(mom_test_get_int(tim, "time_microsecond"), 999999);

    ck_assert_int_ge(mom_test_get_int(ksm, "ksm_shareable"), 0);
    ck_assert_int_ge(mom_test_get_int(ksm, "ksmd_cpu_usage"), 0);
    if (g_file_test("/sys/kernel/mm/ksm/run", G_FILE_TEST_EXISTS)) {
        gint64 run = mom_test_get_int(ksm, "ksm_run");
        ck_assert(run >= 0 && run <= 2);
        ck_assert_int_ge(mom_test_get_int(ksm, "ksm_pages_to_scan"), 0);
    }

    ck_assert_int_gt(mom_test_get_int(psi, "mem_avail_real"), 0);
    ck_assert_int_le(mom_test_get_int(psi, "mem_avail_real"),
                     mom_test_get_int(mem, "mem_available"));
    ck_assert_int_ge(mom_test_get_int(psi, "pgmajfault"), 0);
    if (g_file_test("/proc/pressure/memory", G_FILE_TEST_EXISTS) &&
        mom_sample_get(psi->sample, "psi_mem_some_avg10")->type != MOM_VALUE_NIL) {
        double a = mom_test_get_float(psi, "psi_mem_some_avg10");
        ck_assert(a >= 0.0 && a <= 100.0);
        ck_assert_int_ge(mom_test_get_int(psi, "psi_mem_some_total"), 0);
    }

    /* one schema over every host collector, as the host monitor builds it */
    {
        const MomCollectorClass *all[] = {
            &mom_collector_host_memory, &mom_collector_host_ksm,      &mom_collector_host_cpu,
            &mom_collector_host_time,   &mom_collector_host_pressure,
        };
        schema = mom_collector_schema_new(all, G_N_ELEMENTS(all));
        ck_assert_int_ge(mom_schema_lookup(schema, "ksmd_cpu_usage"), 0);
        ck_assert_int_ge(mom_schema_lookup(schema, "time_microsecond"), 0);
        mom_schema_unref(schema);
    }
}
END_TEST

static Suite *
collectors_suite(void)
{
    Suite *s = suite_create("collectors");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_registry);
    tcase_add_test(tc, test_sample);
    tcase_add_test(tc, test_parse_pid_stat);
    tcase_add_test(tc, test_parse_cpu_list);
    tcase_add_test(tc, test_parse_lines);
    tcase_add_test(tc, test_read_file);
    tcase_add_test(tc, test_counter);
    tcase_add_test(tc, test_host_memory_normal);
    tcase_add_test(tc, test_host_memory_deltas);
    tcase_add_test(tc, test_host_memory_oldkernel);
    tcase_add_test(tc, test_host_memory_missing_keys);
    tcase_add_test(tc, test_host_memory_errors);
    tcase_add_test(tc, test_host_memory_impossible);
    tcase_add_test(tc, test_host_memory_missing_vmstat);
    tcase_add_test(tc, test_host_ksm_normal);
    tcase_add_test(tc, test_host_ksm_deltas);
    tcase_add_test(tc, test_host_ksm_feedback);
    tcase_add_test(tc, test_host_ksm_rescan);
    tcase_add_test(tc, test_host_ksm_interval_zero);
    tcase_add_test(tc, test_host_ksm_oldkernel);
    tcase_add_test(tc, test_host_ksm_missing);
    tcase_add_test(tc, test_host_ksm_errors);
    tcase_add_test(tc, test_host_cpu);
    tcase_add_test(tc, test_host_cpu_errors);
    tcase_add_test(tc, test_host_time);
    tcase_add_test(tc, test_host_pressure_normal);
    tcase_add_test(tc, test_host_pressure_trigger);
    tcase_add_test(tc, test_read_mem_available);
    tcase_add_test(tc, test_host_pressure_deltas);
    tcase_add_test(tc, test_host_pressure_nopsi);
    tcase_add_test(tc, test_host_pressure_errors);
    tcase_add_test(tc, test_real_system);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    Suite *s = collectors_suite();
    SRunner *sr = srunner_create(s);
    int failed;

    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
