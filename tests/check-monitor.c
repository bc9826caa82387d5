/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The host monitor and the policy engine on fixture trees: readiness,
 * incomplete samples, back-off and recovery of a failing collector (logged
 * once each), MOM-format plot files, and policy reloads that keep the last
 * good version of a rejected file.
 */
#include "config.h"

#include <check.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mom-engine.h"
#include "mom-monitor.h"
#include "mom-test-fs.h"
#include "mom-test-log.h"

/* ---- log capture -------------------------------------------------------------- */

static char *
data_path(const char *rel)
{
    return g_build_filename(g_getenv("MOM_TEST_DATA"), "data", rel, NULL);
}

/* A writable copy of a fixture /proc, so a test can break and mend it. */
static char *
copy_proc(const char *fixture)
{
    g_autofree char *src = data_path(fixture);
    char *dir = g_dir_make_tmp("momd-monitor-XXXXXX", NULL);
    const char *files[] = {"meminfo", "vmstat"};

    for (guint i = 0; i < G_N_ELEMENTS(files); i++) {
        g_autofree char *from = g_build_filename(src, files[i], NULL);
        g_autofree char *to = g_build_filename(dir, files[i], NULL);
        g_autofree char *text = NULL;
        ck_assert(g_file_get_contents(from, &text, NULL, NULL));
        ck_assert(g_file_set_contents(to, text, -1, NULL));
    }
    return dir;
}

static MomMonitor *
host_monitor(const char *proc_root, const char *plot_dir, GError **error)
{
    char *collectors[] = {"HostMemory", NULL};
    MomCollectorConfig cfg = {.proc_root = proc_root, .sysfs_root = "/nonexistent", .interval = 1};
    g_autoptr(MomPlotDir) plot = plot_dir ? mom_plot_dir_new(plot_dir, 0) : NULL;

    return mom_monitor_new(MOM_ENTITY_HOST, "host", collectors, &cfg, 3, plot, error);
}

/* Collects every 100 ms until a sample is kept, for at most @tenths tries:
 * a mended collector is only tried again after its back-off. */
static gboolean
collect_until_kept(MomMonitor *m, guint tenths)
{
    for (guint i = 0; i < tenths; i++) {
        g_usleep(100 * 1000);
        if (mom_monitor_collect(m))
            return TRUE;
    }
    return FALSE;
}

START_TEST(test_ready_and_history)
{
    g_autofree char *proc = data_path("proc/normal");
    g_autoptr(GError) error = NULL;
    g_autoptr(MomMonitor) m = host_monitor(proc, NULL, &error);

    ck_assert_msg(m != NULL, "%s", error ? error->message : "");
    ck_assert(!mom_monitor_ready(m));
    for (int i = 0; i < 5; i++)
        ck_assert(mom_monitor_collect(m));
    ck_assert(mom_monitor_ready(m));
    MomEntity *e = mom_monitor_entity(m);
    /* sample-history-length 3 */
    ck_assert_uint_eq(mom_entity_n_samples(e), 3);
    int at = mom_schema_lookup(mom_entity_schema(e), "mem_available");
    ck_assert_int_ge(at, 0);
    ck_assert_int_eq(mom_entity_stat(e, (guint)at)->u.i, 16384000);
    ck_assert_uint_eq(mom_test_log_count("host is ready."), 1);
}
END_TEST

START_TEST(test_unknown_collector)
{
    char *collectors[] = {"HostMemory", "NoSuchThing", NULL};
    MomCollectorConfig cfg = {.proc_root = "/proc", .sysfs_root = "/sys", .interval = 1};
    g_autoptr(GError) error = NULL;
    g_autoptr(MomMonitor) m =
        mom_monitor_new(MOM_ENTITY_HOST, "host", collectors, &cfg, 3, NULL, &error);

    ck_assert(m == NULL);
    ck_assert_msg(strstr(error->message, "The collector 'NoSuchThing' configured for host does "
                                         "not exist; the known collectors are HostMemory") != NULL,
                  "%s", error->message);
}
END_TEST

/* A failing collector: logged once, retried with back-off, logged once on
 * recovery; meanwhile the host is not ready and keeps its old samples. */
START_TEST(test_failure_backoff_recovery)
{
    g_autofree char *proc = copy_proc("proc/normal");
    g_autofree char *meminfo = g_build_filename(proc, "meminfo", NULL);
    g_autofree char *good = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(MomMonitor) m = host_monitor(proc, NULL, &error);

    ck_assert(g_file_get_contents(meminfo, &good, NULL, NULL));
    ck_assert(mom_monitor_collect(m));
    ck_assert(g_file_set_contents(meminfo, "MemTotal: garbage\n", -1, NULL));
    for (int i = 0; i < 4; i++)
        ck_assert(!mom_monitor_collect(m));
    ck_assert(!mom_monitor_ready(m));
    ck_assert_uint_eq(mom_test_log_count("The HostMemory collector of host failed"), 1);
    /* the parser's reason has no full stop of its own: the log line adds it */
    ck_assert_uint_eq(
        mom_test_log_count("got 'MemTotal: garbage'. Retrying with back-off (next in 1 s)."), 1);
    ck_assert_uint_eq(
        mom_test_log_count("host is not ready: its sample lacks the mandatory fields"), 1);
    ck_assert_uint_eq(mom_entity_n_samples(mom_monitor_entity(m)), 1);

    /* mended: the next attempt waits for the back-off (1 s at interval 1) */
    ck_assert(g_file_set_contents(meminfo, good, -1, NULL));
    ck_assert(collect_until_kept(m, 40));
    ck_assert_uint_eq(mom_test_log_count("The HostMemory collector of host recovered"), 1);
    ck_assert_uint_eq(mom_test_log_count("host is ready."), 2);
    mom_test_remove_tree(proc);
}
END_TEST

/* Host data that cannot be true is a failed sample: logged once for the
 * outage with the file and the field, whatever else goes wrong meanwhile,
 * the host is not ready (so momd runs no policy and no controller acts),
 * and the recovery is logged once. */
START_TEST(test_impossible_host_data)
{
    g_autofree char *proc = copy_proc("proc/normal");
    g_autofree char *meminfo = g_build_filename(proc, "meminfo", NULL);
    g_autofree char *good = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(MomMonitor) m = host_monitor(proc, NULL, &error);
    g_autofree char *said =
        g_strdup_printf("The HostMemory collector of host failed: %s: MemTotal is 0, which cannot "
                        "be true (it must be at least 1). Retrying with back-off (next in 1 s).",
                        meminfo);

    ck_assert(g_file_get_contents(meminfo, &good, NULL, NULL));
    ck_assert(mom_monitor_collect(m));
    ck_assert(g_file_set_contents(meminfo, "MemTotal: 0 kB\nMemFree: 0 kB\n", -1, NULL));
    ck_assert(!mom_monitor_collect(m));
    ck_assert(!mom_monitor_ready(m));
    ck_assert_msg(mom_test_log_count(said) == 1, "wanted: %s", said);
    /* a full stop of its own is not doubled */
    ck_assert_uint_eq(mom_test_log_count(".. Retrying"), 0);

    /* the same outage, another impossible value: nothing new is logged */
    ck_assert(g_file_set_contents(meminfo, "MemTotal: -5 kB\n", -1, NULL));
    for (int i = 0; i < 15; i++) {
        g_usleep(100 * 1000);
        ck_assert(!mom_monitor_collect(m));
    }
    ck_assert(!mom_monitor_ready(m));
    ck_assert_uint_eq(mom_test_log_count("The HostMemory collector of host failed"), 1);
    ck_assert_uint_eq(mom_entity_n_samples(mom_monitor_entity(m)), 1);

    ck_assert(g_file_set_contents(meminfo, good, -1, NULL));
    ck_assert(collect_until_kept(m, 60));
    ck_assert(mom_monitor_ready(m));
    ck_assert_uint_eq(mom_test_log_count("The HostMemory collector of host recovered after"), 1);
    mom_test_remove_tree(proc);
}
END_TEST

START_TEST(test_plot_file)
{
    g_autofree char *proc = data_path("proc/normal");
    g_autofree char *dir = g_dir_make_tmp("momd-plot-XXXXXX", NULL);
    g_autofree char *file = g_build_filename(dir, "HostMonitor.dat", NULL);
    g_autofree char *text = NULL;
    g_autoptr(GError) error = NULL;
    mode_t old = umask(0);
    MomMonitor *m = host_monitor(proc, dir, &error);
    struct stat st;

    umask(old);
    ck_assert(mom_monitor_collect(m));
    ck_assert(mom_monitor_collect(m));
    mom_monitor_free(m);
    /* 0640 whatever the umask: the samples tell what the guests do */
    ck_assert_int_eq(g_stat(file, &st), 0);
    ck_assert_int_eq(st.st_mode & 07777, 0640);
    ck_assert(g_file_get_contents(file, &text, NULL, NULL));
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    /* MOM's header: "# time" then the fields in name order, tab-separated */
    ck_assert_str_eq(lines[0], "# time\t anon_pages\t mem_available\t mem_free\t mem_unused\t "
                               "swap_in\t swap_out\t swap_total\t swap_usage");
    g_auto(GStrv) cols = g_strsplit(lines[1], "\t", -1);
    ck_assert_uint_eq(g_strv_length(cols), 9);
    ck_assert_str_eq(cols[2], "16384000");
    ck_assert(lines[2] != NULL && *lines[2]);
    mom_test_remove_tree(dir);
}
END_TEST

static guint
count_lines(const char *text)
{
    guint n = 0;

    for (const char *p = text; *p; p++)
        n += *p == '\n';
    return n;
}

/* MOM's file names, one file per entity: a guest named "host", or named
 * like a path, neither writes into the host's file nor leaves the directory. */
START_TEST(test_plot_file_names)
{
    g_autofree char *proc = data_path("proc/normal");
    g_autofree char *dir = g_dir_make_tmp("momd-plot-XXXXXX", NULL);
    char *collectors[] = {"HostMemory", NULL};
    MomCollectorConfig cfg = {.proc_root = proc, .sysfs_root = "/nonexistent", .interval = 1};
    static const struct {
        const char *guest;
        const char *file;
    } guests[] = {
        {"host", "GuestMonitor-host.dat"},
        {"../HostMonitor", "GuestMonitor-..\\x2fHostMonitor.dat"},
        {"vm\n1", "GuestMonitor-vm\\n1.dat"},
    };
    g_autoptr(GError) error = NULL;
    g_autoptr(MomPlotDir) plot = mom_plot_dir_new(dir, 0);
    MomMonitor *host = host_monitor(proc, dir, &error);

    ck_assert(mom_monitor_collect(host));
    for (guint i = 0; i < G_N_ELEMENTS(guests); i++) {
        MomMonitor *g =
            mom_monitor_new(MOM_ENTITY_GUEST, guests[i].guest, collectors, &cfg, 3, plot, &error);
        g_autofree char *path = g_build_filename(dir, guests[i].file, NULL);
        g_autofree char *text = NULL;

        ck_assert_msg(g != NULL, "%s", error ? error->message : "");
        ck_assert(mom_monitor_collect(g));
        mom_monitor_free(g);
        ck_assert_msg(g_file_get_contents(path, &text, NULL, NULL), "%s", guests[i].file);
        ck_assert_uint_eq(count_lines(text), 2); /* the header and one row */
    }
    mom_monitor_free(host);
    g_autofree char *host_file = g_build_filename(dir, "HostMonitor.dat", NULL);
    g_autofree char *host_text = NULL;
    ck_assert(g_file_get_contents(host_file, &host_text, NULL, NULL));
    ck_assert_uint_eq(count_lines(host_text), 2);

    /* every file is in the plot directory, and nothing else is there */
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    guint n = 0;
    while (g_dir_read_name(d))
        n++;
    ck_assert_uint_eq(n, G_N_ELEMENTS(guests) + 1);
    g_autofree char *parent = g_path_get_dirname(dir);
    g_autofree char *escaped = g_build_filename(parent, "HostMonitor.dat", NULL);
    ck_assert(!g_file_test(escaped, G_FILE_TEST_EXISTS));
    mom_test_remove_tree(dir);
}
END_TEST

/* ---- the engine ------------------------------------------------------------------- */

START_TEST(test_engine_reload_keeps_last_good)
{
    g_autofree char *dir = g_dir_make_tmp("momd-engine-XXXXXX", NULL);
    g_autoptr(MomEngine) e = mom_engine_new();
    MomPolicyLimits limits = {0};

    mom_test_write_file(dir, "10-a.policy", "(defvar a 1)");
    mom_test_write_file(dir, "20-b.policy", "(defvar b 2)");
    mom_test_write_file(dir, "notes.txt", "(this is not a policy");
    ck_assert(mom_engine_load(e, NULL, dir, &limits));
    ck_assert_str_eq(mom_policy_set_get_text(mom_engine_policies(e), "20-b"), "(defvar b 2)");
    ck_assert_uint_eq(mom_test_log_count("Loaded 2 policies: 10-a, 20-b."), 1);

    /* a broken edit is rejected with its location; the old text stays */
    mom_test_write_file(dir, "20-b.policy", "(defvar b 3");
    ck_assert(!mom_engine_load(e, NULL, dir, &limits));
    ck_assert_str_eq(mom_policy_set_get_text(mom_engine_policies(e), "20-b"), "(defvar b 2)");
    ck_assert_uint_eq(mom_test_log_count("20-b.policy:1:1: error: '(' is never closed"), 1);
    ck_assert_uint_eq(mom_test_log_count("The policy 20-b keeps its previous version"), 1);

    /* a new file that is broken from the start is simply absent */
    mom_test_write_file(dir, "30-c.policy", "(+ 1 2) = 3");
    ck_assert(!mom_engine_load(e, NULL, dir, &limits));
    ck_assert(mom_policy_set_get_text(mom_engine_policies(e), "30-c") == NULL);

    /* fixed and removed files take effect */
    mom_test_write_file(dir, "20-b.policy", "(defvar b 4)");
    g_autofree char *c = g_build_filename(dir, "30-c.policy", NULL);
    g_unlink(c);
    ck_assert(mom_engine_load(e, NULL, dir, &limits));
    ck_assert_str_eq(mom_policy_set_get_text(mom_engine_policies(e), "20-b"), "(defvar b 4)");

    /* a single rules file wins over the directory and is named 50_main_ */
    g_autofree char *rules = g_build_filename(dir, "10-a.policy", NULL);
    ck_assert(mom_engine_load(e, rules, dir, &limits));
    g_autoptr(GPtrArray) names = mom_policy_set_names(mom_engine_policies(e));
    ck_assert_uint_eq(names->len, 1);
    ck_assert_str_eq(names->pdata[0], MOM_POLICY_DEFAULT_NAME);

    /* an unreadable directory keeps what was loaded */
    ck_assert(!mom_engine_load(e, NULL, "/nonexistent/policies", &limits));
    ck_assert(mom_policy_set_get_text(mom_engine_policies(e), MOM_POLICY_DEFAULT_NAME) != NULL);
    mom_test_remove_tree(dir);
}
END_TEST

/* The same guest error every cycle is logged once, then at 10, 100, ...
 * repetitions, and once more when it stops. */
START_TEST(test_engine_error_repetition)
{
    g_autofree char *dir = g_dir_make_tmp("momd-engine-XXXXXX", NULL);
    g_autoptr(MomEngine) e = mom_engine_new();
    g_autoptr(MomSchema) schema = mom_schema_new((const char *[]){"x"}, 1);
    g_autoptr(MomEntity) host = mom_entity_new(MOM_ENTITY_HOST, "Host", schema, 1);
    g_autoptr(MomEntity) vm = mom_entity_new(MOM_ENTITY_GUEST, "vm1", schema, 1);
    g_autoptr(GPtrArray) guests = g_ptr_array_new();
    MomPolicyLimits limits = {0};
    MomValue row[1] = {mom_value_int(0)};

    mom_entity_push_sample(vm, row);
    g_ptr_array_add(guests, vm);
    mom_test_write_file(dir, "p.policy", "(with Guests g (/ 1 g.x))");
    ck_assert(mom_engine_load(e, NULL, dir, &limits));
    for (int i = 0; i < 12; i++)
        ck_assert(mom_engine_run(e, host, guests)); /* a guest error is not a failed run */
    ck_assert_uint_eq(mom_test_log_count("error: guest vm1: division by zero"), 2);
    ck_assert_uint_eq(mom_test_log_count("(repeated 10 times)"), 1);

    mom_test_write_file(dir, "p.policy", "(with Guests g (/ 1 (+ g.x 1)))");
    ck_assert(mom_engine_load(e, NULL, dir, &limits));
    ck_assert(mom_engine_run(e, host, guests));
    ck_assert_uint_eq(mom_test_log_count("This error no longer occurs after 12 times"), 1);

    /* an error outside any guest fails the run */
    mom_test_write_file(dir, "p.policy", "(undefined_function)");
    ck_assert(mom_engine_load(e, NULL, dir, &limits));
    ck_assert(!mom_engine_run(e, host, guests));
    ck_assert_uint_eq(mom_test_log_count("no controls are applied this cycle"), 1);
    mom_test_remove_tree(dir);
}
END_TEST

/* Three guests whose x is 0, 1 and 2, and the host: what a trial runs on. */
typedef struct {
    MomSchema *schema;
    MomEntity *host;
    GPtrArray *guests;
    gboolean ready;
} TrialState;

static gboolean
trial_state(gpointer data, MomEntity **host, GPtrArray **guests)
{
    TrialState *t = data;

    if (!t->ready)
        return FALSE;
    *host = t->host;
    *guests = g_ptr_array_ref(t->guests);
    return TRUE;
}

static void
trial_state_init(TrialState *t)
{
    t->schema = mom_schema_new((const char *[]){"x"}, 1);
    t->host = mom_entity_new(MOM_ENTITY_HOST, "Host", t->schema, 1);
    MomValue hrow[1] = {mom_value_int(0)};
    mom_entity_push_sample(t->host, hrow);
    t->guests = g_ptr_array_new_with_free_func((GDestroyNotify)mom_entity_free);
    for (int i = 0; i < 3; i++) {
        g_autofree char *name = g_strdup_printf("vm%d", i + 1);
        MomEntity *g = mom_entity_new(MOM_ENTITY_GUEST, name, t->schema, 1);
        MomValue row[1] = {mom_value_int(i)};
        MomValue prop = mom_value_string(name, -1);
        mom_entity_set_prop(g, "name", &prop);
        mom_value_clear(&prop);
        mom_entity_push_sample(g, row);
        g_ptr_array_add(t->guests, g);
    }
    t->ready = TRUE;
}

static void
trial_state_clear(TrialState *t)
{
    g_ptr_array_unref(t->guests);
    mom_entity_free(t->host);
    mom_schema_unref(t->schema);
}

/* Nothing installs a policy that cannot run (issue 9, section 3). */
START_TEST(test_engine_refuses_what_cannot_run)
{
    g_autofree char *dir = g_dir_make_tmp("momd-engine-XXXXXX", NULL);
    g_autoptr(MomEngine) e = mom_engine_new();
    MomPolicyLimits limits = {0};
    TrialState t = {0};
    g_autoptr(GError) error = NULL;

    trial_state_init(&t);
    mom_engine_set_state_func(e, trial_state, &t);
    mom_test_write_file(dir, "00-a.policy", "(defvar step 5)");
    mom_test_write_file(dir, "20-b.policy", "(with Guests g (g.Control \"c\" (+ g.x step)))");
    ck_assert(mom_engine_load(e, NULL, dir, &limits));

    /* a text that parses but would fail: refused, naming it, nothing changes */
    ck_assert(!mom_engine_set_policy(e, "30-bad", "(undefined_fn)", NULL, &error));
    ck_assert(g_error_matches(error, MOM_POLICY_ERROR, MOM_POLICY_ERROR_RUNTIME));
    ck_assert_str_eq(error->message, "Policy 30-bad would fail on the current state, so it is not "
                                     "installed and the policies stay as they were: 30-bad:1:2: "
                                     "error: undefined function undefined_fn");
    ck_assert(mom_policy_set_get_text(mom_engine_policies(e), "30-bad") == NULL);
    g_clear_error(&error);

    /* a misspelt parameter, and deleting what others need */
    ck_assert(!mom_engine_set_policy(e, "01-parameters", "(set setp 1)", NULL, &error));
    ck_assert_msg(
        g_str_has_suffix(error->message, "01-parameters:1:6: error: undefined symbol setp"), "%s",
        error->message);
    g_clear_error(&error);
    ck_assert(!mom_engine_set_policy(e, "00-a", NULL, NULL, &error));
    /* one error for the three guests that hit it */
    g_autofree char *want = g_strdup_printf(
        "Without policy 00-a the other policies would fail on the current state, so it is not "
        "deleted: %s/20-b.policy:1:38: error: guests vm1, vm2 and vm3: undefined symbol step",
        dir);
    ck_assert_str_eq(error->message, want);
    g_clear_error(&error);
    ck_assert(mom_policy_set_get_text(mom_engine_policies(e), "00-a") != NULL);
    /* the refusal, then the error in full: never once per guest */
    ck_assert_uint_eq(mom_test_log_count("error: guests vm1, vm2 and vm3: undefined symbol step"),
                      2);
    ck_assert_uint_eq(mom_test_log_count("error: guest vm"), 0);

    /* a change that runs goes in */
    ck_assert(mom_engine_set_policy(e, "01-parameters", "(set step 2)", NULL, &error));
    ck_assert_msg(error == NULL, "%s", error ? error->message : "");

    /* a reload is tried too: the files that would fail are not installed */
    mom_test_write_file(dir, "00-a.policy", "(defvar stpe 5)");
    ck_assert(!mom_engine_load(e, NULL, dir, &limits));
    ck_assert_str_eq(mom_policy_set_get_text(mom_engine_policies(e), "00-a"), "(defvar step 5)");
    ck_assert_uint_eq(
        mom_test_log_count("The policies as loaded now would fail, so the previous ones "
                           "stay active until the files are fixed"),
        1);
    /* the control API's policies are still in force after a refused reset */
    ck_assert(!mom_engine_reset(e, NULL, dir, &limits));
    ck_assert_str_eq(mom_policy_set_get_text(mom_engine_policies(e), "01-parameters"),
                     "(set step 2)");

    /* with no state to try on (no host sample yet), nothing is refused */
    t.ready = FALSE;
    ck_assert(mom_engine_set_policy(e, "30-bad", "(undefined_fn)", NULL, &error));
    ck_assert_msg(error == NULL, "%s", error ? error->message : "");
    trial_state_clear(&t);
    mom_test_remove_tree(dir);
}
END_TEST

/* A guest error that every guest hits is one warning, not one per guest. */
/* A guest that has just booted has no balloon statistics yet: that is
 * said at INFO once, and a warning comes only if it lasts past the grace
 * period (issue 15: every boot logged a WARNING). */
START_TEST(test_guest_unready_grace)
{
    char *collectors[] = {"GuestMemory", NULL};
    /* a booted guest whose balloon driver has reported nothing yet */
    MomGuestData data = {.name = "vm-boot",
                         .uuid = "4b1e2d3c-0000-4000-8000-000000000002",
                         .pid = 1000,
                         .balloon_cur = 1048576,
                         .balloon_max = 1048576,
                         .tune.balloon_min = 0,
                         .swap_in = -1,
                         .swap_out = -1,
                         .major_fault = -1,
                         .minor_fault = -1,
                         .unused = -1,
                         .available = -1,
                         .usable = -1,
                         .disk_caches = -1,
                         .rss = -1,
                         .last_update = -1};
    MomCollectorConfig cfg = {
        .proc_root = "/nonexistent", .sysfs_root = "/nonexistent", .interval = 1, .guest = &data};
    g_autoptr(GError) error = NULL;
    MomMonitor *g = mom_monitor_new(MOM_ENTITY_GUEST, "vm-boot", collectors, &cfg, 3, NULL, &error);

    ck_assert_msg(g != NULL, "%s", error ? error->message : "");
    for (int i = 0; i < 6; i++)
        ck_assert(!mom_monitor_collect(g));
    ck_assert_uint_eq(mom_test_log_count_at(G_LOG_LEVEL_MESSAGE,
                                            "vm-boot is not ready yet: its sample "
                                            "lacks the mandatory fields"),
                      1);
    ck_assert_uint_eq(mom_test_log_count_at(G_LOG_LEVEL_WARNING, "vm-boot"), 0);
    /* past the grace period: one warning, however long it lasts */
    mom_monitor_set_unready_grace(g, 0);
    ck_assert(!mom_monitor_collect(g));
    ck_assert(!mom_monitor_collect(g));
    ck_assert_uint_eq(mom_test_log_count_at(G_LOG_LEVEL_WARNING, "vm-boot has not been ready for "),
                      1);
    mom_monitor_free(g);
}
END_TEST

START_TEST(test_engine_error_once_for_all_guests)
{
    g_autofree char *dir = g_dir_make_tmp("momd-engine-XXXXXX", NULL);
    g_autoptr(MomEngine) e = mom_engine_new();
    MomPolicyLimits limits = {0};
    TrialState t = {0};

    trial_state_init(&t);
    mom_test_write_file(dir, "p.policy", "(with Guests g (/ 1 (- g.x g.x)))");
    ck_assert(mom_engine_load(e, NULL, dir, &limits));
    ck_assert(mom_engine_run(e, t.host, t.guests));
    ck_assert_uint_eq(mom_test_log_count("division by zero"), 1);
    ck_assert_uint_eq(
        mom_test_log_count("p.policy:1:16: error: guests vm1, vm2 and vm3: division by zero"), 1);
    trial_state_clear(&t);
    mom_test_remove_tree(dir);
}
END_TEST

START_TEST(test_engine_unknown_controller)
{
    g_autoptr(MomEngine) e = mom_engine_new();
    char *names[] = {"Balloon", "NoSuch", NULL};
    MomControllerConfig cfg = {.sysfs_root = "/nonexistent"};

    mom_engine_add_controllers(e, names, &cfg);
    ck_assert_uint_eq(mom_engine_n_controllers(e), 0);
    ck_assert_uint_eq(mom_test_log_count("The controller 'NoSuch' is not available"), 1);
    char *ksm[] = {"KSM", NULL};
    mom_engine_add_controllers(e, ksm, &cfg);
    ck_assert_uint_eq(mom_test_log_count("The KSM controller cannot start and is skipped: The KSM "
                                         "controller needs /nonexistent/kernel/mm/ksm/run"),
                      1);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("monitor");
    TCase *tc = tcase_create("monitor");
    tcase_add_checked_fixture(tc, mom_test_log_capture, mom_test_log_release);
    tcase_add_test(tc, test_ready_and_history);
    tcase_add_test(tc, test_unknown_collector);
    tcase_add_test(tc, test_failure_backoff_recovery);
    tcase_add_test(tc, test_impossible_host_data);
    tcase_add_test(tc, test_plot_file);
    tcase_add_test(tc, test_plot_file_names);
    tcase_add_test(tc, test_engine_reload_keeps_last_good);
    tcase_add_test(tc, test_engine_error_repetition);
    tcase_add_test(tc, test_engine_refuses_what_cannot_run);
    tcase_add_test(tc, test_guest_unready_grace);
    tcase_add_test(tc, test_engine_error_once_for_all_guests);
    tcase_add_test(tc, test_engine_unknown_controller);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
