/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The plot directory's writer (src/momd/mom-plot.c): headers, whole lines,
 * rotation at [main] plot-max-bytes with one previous generation, the
 * failures (a full disk, a removed directory) logged once and the
 * recovery once, decisions.tsv's format and escaping, and the option's
 * checks.  Reading the files back (momctl plot) is tested in
 * tests/test-momctl-plot.py; a live momd in
 * tests/integration/test-daemon-plot.sh.
 */
#include "config.h"

#include <check.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mom-config.h"
#include "mom-history.h"
#include "mom-plot.h"
#include "mom-test-fs.h"
#include "mom-test-log.h"

#define HEADER "# time\t a\t b\n"

static char *dir;

static void
setup(void)
{
    mom_test_log_capture();
    dir = g_dir_make_tmp("momd-plot-XXXXXX", NULL);
    ck_assert(dir != NULL);
}

static void
teardown(void)
{
    mom_test_remove_tree(dir);
    g_clear_pointer(&dir, g_free);
    mom_test_log_release();
}

static char *
read_text(const char *name)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    char *text = NULL;

    if (!g_file_get_contents(path, &text, NULL, NULL))
        return NULL;
    return text;
}

static guint
count_char(const char *text, char c)
{
    guint n = 0;

    for (const char *p = text; p && *p; p++)
        n += *p == c;
    return n;
}

/* Writes rows "I\tI\tI\n" for I in [from, to). */
static void
write_rows(MomPlotFile *f, int from, int to)
{
    for (int i = from; i < to; i++) {
        g_autofree char *line = g_strdup_printf("%d\t%d\t%d\n", i, i, i);
        ck_assert(mom_plot_file_write(f, line, strlen(line)));
    }
}

/* p.dat in @pd, opened as the monitors open theirs. */
static MomPlotFile *
open_p(MomPlotDir *pd)
{
    g_autoptr(GError) error = NULL;
    MomPlotFile *f = mom_plot_file_open(pd, "p.dat", "the plot file", HEADER, &error);

    ck_assert_msg(f != NULL, "%s", error ? error->message : "");
    return f;
}

START_TEST(test_header_once)
{
    g_autoptr(MomPlotDir) pd = mom_plot_dir_new(dir, 0);
    g_autoptr(GError) error = NULL;
    mode_t old = umask(0);
    MomPlotFile *f = mom_plot_file_open(pd, "HostMonitor.dat", "the plot file", HEADER, &error);
    struct stat st;

    umask(old);
    ck_assert_msg(f != NULL, "%s", error ? error->message : "");
    write_rows(f, 0, 3);
    mom_plot_file_free(f);
    /* opened again (a guest that comes back): appended, no second header */
    f = mom_plot_file_open(pd, "HostMonitor.dat", "the plot file", HEADER, &error);
    write_rows(f, 3, 4);
    mom_plot_file_free(f);
    g_autofree char *text = read_text("HostMonitor.dat");
    ck_assert_str_eq(text, HEADER "0\t0\t0\n1\t1\t1\n2\t2\t2\n3\t3\t3\n");
    g_autofree char *path = g_build_filename(dir, "HostMonitor.dat", NULL);
    ck_assert_int_eq(g_stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 07777, 0640);
}
END_TEST

START_TEST(test_rotation)
{
    /* the header is 13 bytes, a row 6 ("10\t10\t10\n" is 9) */
    g_autoptr(MomPlotDir) pd = mom_plot_dir_new(dir, 100);
    g_autoptr(MomPlotFile) f = open_p(pd);

    write_rows(f, 0, 10); /* 13 + 60 = 73 bytes */
    ck_assert_ptr_null(read_text("p.dat.1"));
    write_rows(f, 10, 15); /* 73 + 9 + 9 + 9 = 100, the limit: 13 goes into a new file */
    g_autofree char *one = read_text("p.dat.1");
    g_autofree char *now = read_text("p.dat");
    ck_assert_ptr_nonnull(one);
    ck_assert(g_str_has_prefix(one, HEADER "0\t0\t0\n"));
    ck_assert(g_str_has_suffix(one, "12\t12\t12\n"));
    ck_assert_str_eq(now, HEADER "13\t13\t13\n14\t14\t14\n");
    ck_assert_uint_eq(strlen(one), 100);

    /* a second rotation replaces FILE.1: one previous generation */
    write_rows(f, 15, 30);
    g_autofree char *one2 = read_text("p.dat.1");
    g_autofree char *now2 = read_text("p.dat");
    ck_assert(g_str_has_prefix(one2, HEADER "13\t13\t13\n"));
    ck_assert(g_str_has_prefix(now2, HEADER));
    ck_assert_uint_le(strlen(one2), 100);
    ck_assert_uint_le(strlen(now2), 100);
    /* no row lost between the two generations, none twice */
    ck_assert_uint_eq(count_char(one2, '\n') + count_char(now2, '\n') - 2, 30 - 13);
    ck_assert_ptr_null(read_text("p.dat.2"));
}
END_TEST

/* Someone empties the file under momd (": > FILE", copytruncate): the
 * rotation goes by the size the file has now, not by what momd wrote. */
START_TEST(test_emptied_under_momd)
{
    g_autoptr(MomPlotDir) pd = mom_plot_dir_new(dir, 100);
    g_autoptr(MomPlotFile) f = open_p(pd);
    g_autofree char *path = g_build_filename(dir, "p.dat", NULL);

    write_rows(f, 0, 10); /* 73 bytes */
    ck_assert_int_eq(truncate(path, 0), 0);
    write_rows(f, 10, 14); /* 36 bytes: no rotation, though momd wrote 109 in all */
    ck_assert_ptr_null(read_text("p.dat.1"));
    g_autofree char *now = read_text("p.dat");
    ck_assert_str_eq(now, "10\t10\t10\n11\t11\t11\n12\t12\t12\n13\t13\t13\n");
}
END_TEST

START_TEST(test_rotation_off_and_changed)
{
    g_autoptr(MomPlotDir) pd = mom_plot_dir_new(dir, 0);
    g_autoptr(MomPlotFile) f = open_p(pd);

    write_rows(f, 0, 100);
    ck_assert_ptr_null(read_text("p.dat.1"));
    /* a reload's new limit applies from the next line */
    mom_plot_dir_set_max_bytes(pd, 200);
    write_rows(f, 100, 101);
    g_autofree char *one = read_text("p.dat.1");
    g_autofree char *now = read_text("p.dat");
    ck_assert_uint_eq(count_char(one, '\n'), 101);
    ck_assert_str_eq(now, HEADER "100\t100\t100\n");
}
END_TEST

START_TEST(test_line_longer_than_limit)
{
    g_autoptr(MomPlotDir) pd = mom_plot_dir_new(dir, 20);
    g_autoptr(MomPlotFile) f = open_p(pd);
    g_autofree char *row = g_strnfill(50, 'x');
    g_autofree char *line = g_strconcat(row, "\n", NULL);

    /* a file always keeps its header and one line, however long: no
     * rotation loop, no line lost */
    ck_assert(mom_plot_file_write(f, line, strlen(line)));
    ck_assert(mom_plot_file_write(f, line, strlen(line)));
    g_autofree char *one = read_text("p.dat.1");
    g_autofree char *now = read_text("p.dat");
    g_autofree char *want = g_strconcat(HEADER, line, NULL);
    ck_assert_str_eq(one, want);
    ck_assert_str_eq(now, want);
}
END_TEST

/* A full disk: /dev/full answers every write with ENOSPC. */
START_TEST(test_disk_full_logged_once)
{
    g_autoptr(MomPlotDir) pd = mom_plot_dir_new(dir, 0);
    g_autofree char *path = g_build_filename(dir, "p.dat", NULL);
    g_autoptr(GError) error = NULL;

    if (access("/dev/full", W_OK) != 0)
        return; /* no /dev/full in this sandbox: nothing to test with */
    ck_assert_int_eq(symlink("/dev/full", path), 0);
    g_autoptr(MomPlotFile) f = mom_plot_file_open(pd, "p.dat", "the plot file", HEADER, &error);
    /* the header could not be written: the open says so, and the file is
     * tried again at each line, quietly until it works */
    ck_assert_ptr_nonnull(f);
    ck_assert_msg(error && strstr(error->message, "Cannot write the plot file") &&
                      strstr(error->message, "No space left on device"),
                  "%s", error ? error->message : "no error");
    for (int i = 0; i < 3; i++)
        ck_assert(!mom_plot_file_write(f, "9\t9\t9\n", 6));
    ck_assert_uint_eq(mom_test_log_count("momd goes on without it"), 0);

    /* decisions.tsv is opened at its first line, and fails there */
    g_autofree char *dpath = g_build_filename(dir, MOM_PLOT_DECISIONS_FILE, NULL);
    ck_assert_int_eq(symlink("/dev/full", dpath), 0);
    MomDecision d = {1000000, 1, "vm1", "balloon_target", "1024", "512", "applied", "p:1:1"};
    g_autoptr(GPtrArray) list = g_ptr_array_new();
    g_ptr_array_add(list, &d);
    for (int i = 0; i < 5; i++)
        mom_plot_dir_write_decisions(pd, list);
    ck_assert_uint_eq(mom_test_log_count("Cannot write the decisions file"), 1);
    ck_assert_uint_eq(mom_test_log_count("momd goes on without it"), 1);
}
END_TEST

/* The directory removed under momd: said once, the file made again (with
 * its header) once the directory is back, and that said once. */
START_TEST(test_directory_removed)
{
    g_autofree char *sub = g_build_filename(dir, "momplot-000", NULL);
    ck_assert_int_eq(g_mkdir(sub, 0755), 0);
    g_autoptr(MomPlotDir) pd = mom_plot_dir_new(sub, 0);
    g_autoptr(MomPlotFile) f = open_p(pd);

    write_rows(f, 0, 2);
    mom_test_remove_tree(sub);
    for (int i = 0; i < 5; i++)
        ck_assert(!mom_plot_file_write(f, "9\t9\t9\n", 6));
    ck_assert_uint_eq(mom_test_log_count("Cannot open the plot file"), 1);
    ck_assert_uint_eq(mom_test_log_count("No such file or directory"), 1);

    ck_assert_int_eq(g_mkdir(sub, 0755), 0);
    write_rows(f, 2, 4);
    ck_assert_uint_eq(mom_test_log_count("momd writes the plot file"), 1);
    g_autofree char *path = g_build_filename(sub, "p.dat", NULL);
    g_autofree char *text = NULL;
    ck_assert(g_file_get_contents(path, &text, NULL, NULL));
    ck_assert_str_eq(text, HEADER "2\t2\t2\n3\t3\t3\n");
}
END_TEST

/* A file that cannot be opened at all: the error the monitor logs. */
START_TEST(test_open_fails)
{
    g_autofree char *gone = g_build_filename(dir, "no-such-dir", NULL);
    g_autoptr(MomPlotDir) pd = mom_plot_dir_new(gone, 0);
    g_autoptr(GError) error = NULL;
    g_autoptr(MomPlotFile) f = mom_plot_file_open(pd, "p.dat", "the plot file", HEADER, &error);

    ck_assert_ptr_nonnull(f);
    ck_assert_msg(error && strstr(error->message, "Cannot open the plot file ") &&
                      strstr(error->message, "/no-such-dir/p.dat: No such file or directory."),
                  "%s", error ? error->message : "no error");
    /* the directory comes: the next line makes the file, header first,
     * and says so */
    ck_assert(!mom_plot_file_write(f, "0\t0\t0\n", 6));
    ck_assert_int_eq(g_mkdir(gone, 0755), 0);
    ck_assert(mom_plot_file_write(f, "1\t1\t1\n", 6));
    ck_assert_uint_eq(mom_test_log_count("momd writes the plot file"), 1);
    g_autofree char *path = g_build_filename(gone, "p.dat", NULL);
    g_autofree char *text = NULL;
    ck_assert(g_file_get_contents(path, &text, NULL, NULL));
    ck_assert_str_eq(text, HEADER "1\t1\t1\n");
}
END_TEST

/* FILE.1 cannot be replaced (here a directory is in its way): said once,
 * the lines lost meanwhile, and the file rotated once it can be. */
START_TEST(test_rotation_fails)
{
    g_autoptr(MomPlotDir) pd = mom_plot_dir_new(dir, 40);
    g_autoptr(MomPlotFile) f = open_p(pd);
    g_autofree char *old = g_build_filename(dir, "p.dat.1", NULL);

    mom_test_write_file(dir, "p.dat.1/in-the-way", "x\n");
    write_rows(f, 0, 4); /* 13 + 24 = 37 bytes */
    for (int i = 0; i < 3; i++)
        ck_assert(!mom_plot_file_write(f, "9\t9\t9\n", 6));
    ck_assert_uint_eq(mom_test_log_count("Cannot rotate the plot file"), 1);
    ck_assert_uint_eq(mom_test_log_count("p.dat.1: Is a directory."), 1);
    mom_test_remove_tree(old);
    write_rows(f, 4, 5);
    ck_assert_uint_eq(mom_test_log_count("momd writes the plot file"), 1);
    g_autofree char *one = read_text("p.dat.1");
    g_autofree char *now = read_text("p.dat");
    ck_assert_str_eq(one, HEADER "0\t0\t0\n1\t1\t1\n2\t2\t2\n3\t3\t3\n");
    ck_assert_str_eq(now, HEADER "4\t4\t4\n");
}
END_TEST

/* A file removed (not its directory), by hand or by logrotate: a new one. */
START_TEST(test_file_removed)
{
    g_autoptr(MomPlotDir) pd = mom_plot_dir_new(dir, 0);
    g_autoptr(MomPlotFile) f = open_p(pd);
    g_autofree char *path = g_build_filename(dir, "p.dat", NULL);

    write_rows(f, 0, 2);
    ck_assert_int_eq(g_unlink(path), 0);
    write_rows(f, 2, 3);
    g_autofree char *text = read_text("p.dat");
    ck_assert_str_eq(text, HEADER "2\t2\t2\n");
    ck_assert_uint_eq(mom_test_log_count("Cannot"), 0);
}
END_TEST

START_TEST(test_decisions_format)
{
    g_autoptr(MomPlotDir) pd = mom_plot_dir_new(dir, 0);
    MomDecision a = {1700000000250000, 7,         "web\t1\\a/b",       "balloon_target",
                     "2097152",        "1572864", "applied (clamped)", "/p/10-balloon.policy:3:5"};
    MomDecision b = {
        1700000000250000,      7, "host", "ksm_run", "0", "1", "dry run: would write\n",
        "/p/20-ksm.policy:9:1"};
    g_autoptr(GPtrArray) list = g_ptr_array_new();

    /* none: the file is made, with its header (momd does so at start) */
    mom_plot_dir_write_decisions(pd, list);
    g_autofree char *none = read_text(MOM_PLOT_DECISIONS_FILE);
    ck_assert_str_eq(none, MOM_PLOT_DECISIONS_HEADER);
    g_ptr_array_add(list, &a);
    g_ptr_array_add(list, &b);
    mom_plot_dir_write_decisions(pd, list);
    g_autofree char *text = read_text(MOM_PLOT_DECISIONS_FILE);
    ck_assert_str_eq(text, "# time\tcycle\tentity\tcontrol\tbefore\trequested\toutcome\torigin\n"
                           "1700000000.25\t7\tweb\\t1\\\\a/b\tballoon_target\t2097152\t1572864\t"
                           "applied (clamped)\t/p/10-balloon.policy:3:5\n"
                           "1700000000.25\t7\thost\tksm_run\t0\t1\tdry run: would write\\n\t"
                           "/p/20-ksm.policy:9:1\n");
}
END_TEST

/* The option: its default, 0, and the values refused, each naming the key. */
START_TEST(test_config_option)
{
    static const struct {
        const char *value;
        const char *error; /* NULL: accepted */
        gint64 want;
    } cases[] = {
        {NULL, NULL, MOM_PLOT_DEFAULT_MAX_BYTES},
        {"0", NULL, 0},
        {"4096", NULL, 4096},
        {"1099511627776", NULL, G_GINT64_CONSTANT(1099511627776)},
        {"100", "[main] plot-max-bytes: 100 bytes would hold about one sample", 0},
        {"-1", "[main] plot-max-bytes: expected an integer between 0 and 1099511627776, got '-1'",
         0},
        {"8M", "[main] plot-max-bytes: expected an integer between 0 and 1099511627776, got '8M'",
         0},
        {"1099511627777", "expected an integer between 0 and 1099511627776", 0},
    };

    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *text =
            cases[i].value ? g_strdup_printf("[main]\nplot-max-bytes: %s\n", cases[i].value)
                           : g_strdup("[main]\n");
        g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func(g_free);
        g_autoptr(GError) error = NULL;
        g_autoptr(MomConfig) c = mom_config_load_data(text, -1, "t.conf", warnings, &error);
        gboolean ok = c && mom_config_validate(c, &error);

        if (!cases[i].error) {
            ck_assert_msg(ok, "%s: %s", cases[i].value, error ? error->message : "");
            ck_assert_int_eq(c->main.plot_max_bytes, cases[i].want);
        } else {
            ck_assert_msg(!ok, "%s was accepted", cases[i].value);
            ck_assert_msg(strstr(error->message, cases[i].error), "%s: %s", cases[i].value,
                          error->message);
        }
    }
}
END_TEST

static Suite *
plot_suite(void)
{
    Suite *s = suite_create("plot");
    TCase *tc = tcase_create("plot");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_header_once);
    tcase_add_test(tc, test_rotation);
    tcase_add_test(tc, test_emptied_under_momd);
    tcase_add_test(tc, test_rotation_off_and_changed);
    tcase_add_test(tc, test_line_longer_than_limit);
    tcase_add_test(tc, test_disk_full_logged_once);
    tcase_add_test(tc, test_directory_removed);
    tcase_add_test(tc, test_file_removed);
    tcase_add_test(tc, test_open_fails);
    tcase_add_test(tc, test_rotation_fails);
    tcase_add_test(tc, test_decisions_format);
    tcase_add_test(tc, test_config_option);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(plot_suite());
    int failed;

    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
