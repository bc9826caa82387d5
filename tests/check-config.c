/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The config loader: MOM's files load unchanged, every type accepts what
 * MOM accepted and rejects the rest with a message naming file, line,
 * section and key, and a dump reads back to the same config.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "mom-config.h"
#include "mom-controller.h"

/* Laid out like MOM's doc/mom-balloon+ksm.conf: "key: value", '#'
 * comments, empty values, commented-out options, collector sections. */
static const char mom_style_conf[] =
    "[main]\n"                                               /* 1 */
    "# how often the daemon wakes up\n"                      /* 2 */
    "main-loop-interval: 5\n"                                /* 3 */
    "host-monitor-interval: 5\n"                             /* 4 */
    "guest-monitor-interval: 5\n"                            /* 5 */
    "guest-manager-interval: 5\n"                            /* 6 */
    "hypervisor-interface: libvirt\n"                        /* 7 */
    "policy-engine-interval: 10\n"                           /* 8 */
    "controllers: Balloon, KSM\n"                            /* 9 */
    "sample-history-length: 10\n"                            /* 10 */
    "libvirt-hypervisor-uri:\n"                              /* 11 */
    "plot-dir:\n"                                            /* 12 */
    "rpc-port: -1\n"                                         /* 13 */
    "policy:\n"                                              /* 14 */
    "policy-dir:\n"                                          /* 15 */
    "guest-manager-multi-thread:\n"                          /* 16 */
    "\n"                                                     /* 17 */
    "[logging]\n"                                            /* 18 */
    "log: stdio\n"                                           /* 19 */
    "verbosity: info\n"                                      /* 20 */
    "#log: /var/log/mom.log\n"                               /* 21 */
    "## used only when logging to a file\n"                  /* 22 */
    "#max-bytes: 2097152\n"                                  /* 23 */
    "#backup-count: 5\n"                                     /* 24 */
    "\n"                                                     /* 25 */
    "[host]\n"                                               /* 26 */
    "collectors: HostMemory, HostKSM\n"                      /* 27 */
    "\n"                                                     /* 28 */
    "[guest]\n"                                              /* 29 */
    "collectors: GuestQemuProc, GuestMemory, GuestBalloon\n" /* 30 */
    "\n"                                                     /* 31 */
    "# per-collector settings\n"                             /* 32 */
    "[Collector: GuestQemuAgent]\n"                          /* 33 */
    "socket_path: /var/lib/libvirt/qemu\n"                   /* 34 */
    "socket_name_template: %(name)s.agent\n"                 /* 35 */
    "\n"                                                     /* 36 */
    "[Collector: GuestNetworkDaemon]\n"                      /* 37 */
    "#name-to-ip-helper: doc/name-to-ip\n";                  /* 38 */

/* Laid out like vdsm's mom.conf: a UNIX socket for RPC, a policy
 * directory, a [vdsm] section in "key=value" form, ';' comments. */
static const char vdsm_style_conf[] =
    "### MOM configuration written by vdsm ###\n"
    "\n"
    "[main]\n"
    "main-loop-interval: 15\n"
    "host-monitor-interval: 15\n"
    "guest-monitor-interval: 15\n"
    "guest-manager-interval: 15\n"
    "hypervisor-interface: vdsmjsonrpcclient\n"
    "policy-engine-interval: 15\n"
    "controllers: Balloon, KSM, CpuTune, IoTune\n"
    "sample-history-length: 10\n"
    "plot-dir:\n"
    "; the RPC server listens on a UNIX socket\n"
    "rpc-port: /run/vdsm/mom-vdsm.sock\n"
    "policy-dir: /etc/vdsm/mom.d\n"
    "\n"
    "[vdsm]\n"
    "pki-dir=/etc/pki/vdsm\n"
    "host=127.0.0.1\n"
    "port=54321\n"
    "\n"
    "[logging]\n"
    "log: /var/log/vdsm/mom.log\n"
    "verbosity: info\n"
    "max-bytes: 2097152\n"
    "backup-count: 5\n"
    "\n"
    "[host]\n"
    "collectors: HostMemory, HostKSM, HostCpu\n"
    "\n"
    "[guest]\n"
    "collectors: GuestMemoryOptional, GuestBalloonOptional, GuestCpuTune, GuestIoTuneOptional\n";

static MomConfig *
load(const char *text, GPtrArray *warnings, GError **error)
{
    return mom_config_load_data(text, -1, "t.conf", warnings, error);
}

/* Loads @text, which must succeed without warnings. */
static MomConfig *
load_ok(const char *text)
{
    g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GError) error = NULL;
    MomConfig *c = load(text, warnings, &error);

    ck_assert_msg(c != NULL, "refused: %s", error ? error->message : "?");
    ck_assert_msg(warnings->len == 0, "warning: %s",
                  warnings->len ? (char *)warnings->pdata[0] : "");
    return c;
}

/* Loads @text, which must fail with exactly @message. */
static void
assert_error(const char *text, int code, const char *message)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(MomConfig) c = load(text, NULL, &error);

    ck_assert_msg(c == NULL, "accepted: %s", text);
    ck_assert_msg(g_error_matches(error, MOM_CONFIG_ERROR, code), "code %d for: %s", error->code,
                  error->message);
    ck_assert_str_eq(error->message, message);
}

/* Loads "[SECTION]\nKEY: VALUE\n"; the value must be refused on line 2. */
static void
assert_bad_value(const char *section, const char *key, const char *value, const char *expected)
{
    g_autofree char *text = g_strdup_printf("[%s]\n%s: %s\n", section, key, value);
    g_autofree char *message =
        g_strdup_printf("t.conf:2: [%s] %s: expected %s, got '%s'.", section, key, expected, value);

    assert_error(text, MOM_CONFIG_ERROR_VALUE, message);
}

/* The value controller @name takes for its option @key under @c (NULL:
 * no key file), read as the controller reads it; a boolean is 0 or 1. */
static gint64
ctl_option(const MomConfig *c, const char *name, const char *key)
{
    const MomControllerClass *klass = mom_controller_lookup(name);
    MomControllerConfig cfg = {.keyfile = c ? c->keyfile : NULL};

    ck_assert_ptr_nonnull(klass);
    for (const MomControllerOption *o = klass->options; o && o->key; o++) {
        if (strcmp(o->key, key) != 0)
            continue;
        if (o->type == MOM_CONTROLLER_OPTION_BOOL)
            return mom_controller_option_bool(&cfg, o);
        return mom_controller_option_int(&cfg, o);
    }
    ck_abort_msg("the %s controller has no option %s", name, key);
    return 0;
}

static void
assert_strv(char **got, const char *const *want)
{
    g_autofree char *g = g_strjoinv("|", got);
    g_autofree char *w = g_strjoinv("|", (char **)want);

    ck_assert_str_eq(g, w);
}

START_TEST(test_defaults)
{
    g_autoptr(MomConfig) c = mom_config_new_defaults();
    static const char *const ctl[] = {"Balloon", NULL};
    static const char *const host[] = {"HostMemory", NULL};
    static const char *const guest[] = {"GuestQemuProc", "GuestMemory", NULL};

    ck_assert_int_eq(c->main.main_loop_interval, 5);
    ck_assert_int_eq(c->main.host_monitor_interval, 5);
    ck_assert_int_eq(c->main.guest_monitor_interval, 5);
    ck_assert_int_eq(c->main.guest_manager_interval, 5);
    ck_assert_str_eq(c->main.hypervisor_interface, "libvirt");
    ck_assert_int_eq(c->main.policy_engine_interval, 10);
    ck_assert_int_eq(c->main.sample_history_length, 10);
    ck_assert_str_eq(c->main.libvirt_hypervisor_uri, "");
    assert_strv(c->main.controllers, ctl);
    ck_assert_str_eq(c->main.plot_dir, "");
    /* momd serves its control API on a protected socket unless told not to */
    ck_assert_int_eq(c->main.rpc_port.port, -1);
    ck_assert_str_eq(c->main.rpc_port.socket_path, "/run/momd/momd.sock");
    ck_assert_str_eq(c->main.policy, "");
    ck_assert_str_eq(c->main.policy_dir, "");
    ck_assert(c->main.guest_manager_multi_thread);
    ck_assert(!c->main.dry_run);
    ck_assert_int_eq(ctl_option(c, "KSM", "ksm-restore-on-exit"), TRUE);
    ck_assert_int_eq(ctl_option(c, "KSM", "ksm-advisor-off"), FALSE);
    ck_assert_int_eq(c->main.policy_max_steps, 10000000);
    ck_assert_int_eq(c->main.policy_max_depth, 1000);
    ck_assert_int_eq(c->main.policy_max_ms, 1000);
    ck_assert_str_eq(c->main.rpc_group, "");
    ck_assert_str_eq(c->main.proc_root, "/proc");
    ck_assert_str_eq(c->main.sysfs_root, "/sys");
    /* empty: the QEMU pid is found from the URI and the process list */
    ck_assert_str_eq(c->main.libvirt_run_dir, "");
    ck_assert_str_eq(c->logging.log, "stdio");
    ck_assert_int_eq(c->logging.verbosity, MOM_CONFIG_VERBOSITY_INFO);
    ck_assert_int_eq(c->logging.max_bytes, 2097152);
    ck_assert_int_eq(c->logging.backup_count, 5);
    assert_strv(c->host.collectors, host);
    assert_strv(c->guest.collectors, guest);
    ck_assert_int_eq(c->agent.timeout, 2);
    ck_assert_int_eq(c->agent.max_file_kib, 1024);
    ck_assert_ptr_nonnull(c->keyfile);
    ck_assert(mom_config_validate(c, NULL));

    /* An empty file is the defaults too. */
    g_autoptr(MomConfig) e = load_ok("");
    g_autofree char *d1 = mom_config_dump(c);
    g_autofree char *d2 = mom_config_dump(e);
    ck_assert_str_eq(d1, d2);
}
END_TEST

START_TEST(test_mom_sample)
{
    g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GError) error = NULL;
    g_autoptr(MomConfig) c = load(mom_style_conf, warnings, &error);
    static const char *const ctl[] = {"Balloon", "KSM", NULL};
    static const char *const host[] = {"HostMemory", "HostKSM", NULL};
    static const char *const guest[] = {"GuestQemuProc", "GuestMemory", "GuestBalloon", NULL};
    g_autofree char *template = NULL;

    ck_assert_msg(c != NULL, "%s", error ? error->message : "");
    /* MOM ships guest-manager-multi-thread empty, which MOM itself could
     * not parse: the one warning, and the default stays. */
    ck_assert_int_eq(warnings->len, 1);
    ck_assert_str_eq(g_ptr_array_index(warnings, 0),
                     "t.conf:16: [main] guest-manager-multi-thread: empty value, the default "
                     "'true' is used.");
    ck_assert(c->main.guest_manager_multi_thread);
    assert_strv(c->main.controllers, ctl);
    assert_strv(c->host.collectors, host);
    assert_strv(c->guest.collectors, guest);
    ck_assert_str_eq(c->main.libvirt_hypervisor_uri, "");
    ck_assert_str_eq(c->main.policy_dir, "");
    ck_assert_int_eq(c->logging.verbosity, MOM_CONFIG_VERBOSITY_INFO);
    ck_assert_int_eq(c->logging.max_bytes, 2097152);

    /* Collector sections stay in the key file, raw ("%(name)s" is not
     * interpolated: MOM reads them with raw=True). */
    template = g_key_file_get_string(c->keyfile, "Collector: GuestQemuAgent",
                                     "socket_name_template", NULL);
    ck_assert_str_eq(template, "%(name)s.agent");
    ck_assert(g_key_file_has_group(c->keyfile, "Collector: GuestNetworkDaemon"));
    ck_assert(!g_key_file_has_key(c->keyfile, "Collector: GuestNetworkDaemon", "name-to-ip-helper",
                                  NULL));
}
END_TEST

START_TEST(test_vdsm_sample)
{
    g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(MomConfig) c = load(vdsm_style_conf, warnings, NULL);
    g_autofree char *port = NULL;

    ck_assert_ptr_nonnull(c);
    port = g_key_file_get_string(c->keyfile, "vdsm", "port", NULL);
    /* What momd does not honour is said once each, with what it does instead. */
    ck_assert_int_eq(warnings->len, 2);
    ck_assert_str_eq(g_ptr_array_index(warnings, 0),
                     "t.conf:8: [main] hypervisor-interface: momd has no 'vdsmjsonrpcclient' "
                     "interface; it finds and manages the guests through libvirt at [main] "
                     "libvirt-hypervisor-uri (libvirt's default URI when empty) instead.");
    ck_assert_str_eq(g_ptr_array_index(warnings, 1),
                     "t.conf:17: [vdsm]: momd does not connect to vdsm, so this section is "
                     "ignored; it finds and manages the guests through libvirt instead.");
    ck_assert_int_eq(c->main.main_loop_interval, 15);
    ck_assert_str_eq(c->main.hypervisor_interface, "vdsmjsonrpcclient");
    ck_assert_int_eq(c->main.rpc_port.port, -1);
    ck_assert_str_eq(c->main.rpc_port.socket_path, "/run/vdsm/mom-vdsm.sock");
    ck_assert_str_eq(c->main.policy_dir, "/etc/vdsm/mom.d");
    ck_assert_str_eq(c->logging.log, "/var/log/vdsm/mom.log");
    ck_assert_str_eq(port, "54321");
    ck_assert(mom_config_validate(c, NULL));
}
END_TEST

/* MOM's and vdsm's settings that momd does not honour: one warning each,
 * naming file, line and key, and saying what momd does instead. */
START_TEST(test_not_honoured)
{
    g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(MomConfig) c = load("[main]\n"                                  /* 1 */
                                  "hypervisor-interface: vdsmjsonrpcclient\n" /* 2 */
                                  "[guest]\n"                                 /* 3 */
                                  "collectors: GuestQemuProc, GuestNetworkDaemon, GuestBalloon\n"
                                  "[Collector: GuestNetworkDaemon]\n"        /* 5 */
                                  "name-to-ip-helper: /etc/mom/name-to-ip\n" /* 6 */
                                  "[Collector: NoSuch]\n"                    /* 7 */
                                  "[vdsm]\n"                                 /* 8 */
                                  "host: 127.0.0.1\n"                        /* 9 */
                                  "[nosuch]\n"                               /* 10 */
                                  "[host]\n"                                 /* 11 */
                                  "collector: HostMemory\n",                 /* 12 */
                                  warnings, NULL);
    static const char *const guest[] = {"GuestQemuProc", "GuestMemory", "GuestBalloon", NULL};
    static const char *const expected[] = {
        "t.conf:2: [main] hypervisor-interface: momd has no 'vdsmjsonrpcclient' interface; it "
        "finds and manages the guests through libvirt at [main] libvirt-hypervisor-uri "
        "(libvirt's default URI when empty) instead.",
        "t.conf:4: [guest] collectors: momd has no GuestNetworkDaemon collector (MOM's daemon "
        "inside the guest); GuestMemory takes its place and reads the same fields from the "
        "virtio balloon driver.",
        "t.conf:6: [Collector: GuestNetworkDaemon] name-to-ip-helper: momd has no "
        "GuestNetworkDaemon collector, so the option is ignored; GuestMemory reads the guest's "
        "memory statistics through libvirt instead.",
        "t.conf:7: [Collector: NoSuch]: momd has no collector named 'NoSuch'; the section is "
        "ignored.",
        "t.conf:8: [vdsm]: momd does not connect to vdsm, so this section is ignored; it finds "
        "and manages the guests through libvirt instead.",
        "t.conf:10: [nosuch]: unknown section, ignored.",
        "t.conf:12: [host] collector: unknown option, ignored.",
    };

    ck_assert_ptr_nonnull(c);
    for (guint i = 0; i < MIN(warnings->len, G_N_ELEMENTS(expected)); i++)
        ck_assert_str_eq(g_ptr_array_index(warnings, i), expected[i]);
    ck_assert_uint_eq(warnings->len, G_N_ELEMENTS(expected));
    assert_strv(c->guest.collectors, guest);

    /* Beside GuestMemory it is only left out; "LibVirt" is libvirt (MOM
     * lowercases it), and an empty GuestNetworkDaemon section says nothing. */
    g_ptr_array_set_size(warnings, 0);
    g_autoptr(MomConfig) d = load("[main]\n"
                                  "hypervisor-interface: LibVirt\n"
                                  "[guest]\n"
                                  "collectors: GuestNetworkDaemon, GuestMemoryOptional\n"
                                  "[Collector: GuestNetworkDaemon]\n"
                                  "#name-to-ip-helper: doc/name-to-ip\n",
                                  warnings, NULL);
    static const char *const optional[] = {"GuestMemoryOptional", NULL};
    ck_assert_ptr_nonnull(d);
    ck_assert_uint_eq(warnings->len, 1);
    ck_assert_str_eq(g_ptr_array_index(warnings, 0),
                     "t.conf:4: [guest] collectors: momd has no GuestNetworkDaemon collector "
                     "(MOM's daemon inside the guest); it is left out, and GuestMemoryOptional, "
                     "also listed, reads the same fields from the virtio balloon driver.");
    assert_strv(d->guest.collectors, optional);
}
END_TEST

START_TEST(test_syntax)
{
    g_autoptr(MomConfig) c = load_ok("; a ConfigParser comment\r\n"
                                     "[main]   ; text after the header is ignored\r\n"
                                     "Main-Loop-Interval = 7\r\n"
                                     "policy-dir=/srv/policies ; inline comment\n"
                                     "plot-dir: /tmp/a;b\n"
                                     "libvirt-hypervisor-uri: qemu:///system # not a comment\n"
                                     "hypervisor-interface:libvirt\n"
                                     "controllers: Balloon,\n"
                                     "    # an indented comment\n"
                                     "\n"
                                     "    KSM,, \n"
                                     "  ;also a comment\n"
                                     "[logging]\n"
                                     "  log = stdio\n");
    static const char *const ctl[] = {"Balloon", "KSM", NULL};

    ck_assert_int_eq(c->main.main_loop_interval, 7);
    ck_assert_str_eq(c->main.policy_dir, "/srv/policies");
    /* Python 2 ConfigParser: only a ';' after a blank starts a comment. */
    ck_assert_str_eq(c->main.plot_dir, "/tmp/a;b");
    ck_assert_str_eq(c->main.libvirt_hypervisor_uri, "qemu:///system # not a comment");
    ck_assert_str_eq(c->main.hypervisor_interface, "libvirt");
    assert_strv(c->main.controllers, ctl);
    ck_assert_str_eq(c->logging.log, "stdio");

    /* A key's value may be split on ':' or '=', whichever comes first. */
    g_autoptr(MomConfig) d = load_ok("[main]\n"
                                     "libvirt-hypervisor-uri = qemu+ssh://h/system?a=b\n"
                                     "plot-dir: /a=b\n");
    ck_assert_str_eq(d->main.libvirt_hypervisor_uri, "qemu+ssh://h/system?a=b");
    ck_assert_str_eq(d->main.plot_dir, "/a=b");

    /* A multi-line value keeps its lines, and backslashes are literal. */
    g_autoptr(MomConfig) e = load_ok("[Collector: HostMemory]\n"
                                     "Path: C:\\dir\\n\n"
                                     "text: one\n"
                                     "  two\n");
    g_autofree char *path =
        g_key_file_get_string(e->keyfile, "Collector: HostMemory", "path", NULL);
    g_autofree char *text =
        g_key_file_get_string(e->keyfile, "Collector: HostMemory", "text", NULL);
    ck_assert_str_eq(path, "C:\\dir\\n");
    ck_assert_str_eq(text, "one\ntwo");
}
END_TEST

START_TEST(test_syntax_errors)
{
    assert_error("# nothing yet\nmain-loop-interval: 5\n", MOM_CONFIG_ERROR_SYNTAX,
                 "t.conf:2: 'main-loop-interval: 5' comes before the first [section] header.");
    assert_error("[main]\n\nmain-loop-interval 5\n", MOM_CONFIG_ERROR_SYNTAX,
                 "t.conf:3: expected a '[section]' header, a 'key: value' or 'key = value' "
                 "line or a comment, got 'main-loop-interval 5'.");
    assert_error("[main]\n: 5\n", MOM_CONFIG_ERROR_SYNTAX,
                 "t.conf:2: expected a '[section]' header, a 'key: value' or 'key = value' "
                 "line or a comment, got ': 5'.");
    assert_error("[main]\n[logging\n", MOM_CONFIG_ERROR_SYNTAX,
                 "t.conf:2: the section header '[logging' has no closing ']'.");
    assert_error("[]\n", MOM_CONFIG_ERROR_SYNTAX, "t.conf:1: '[]' is not a valid section name.");
    assert_error("[main]\na[b]: 1\n", MOM_CONFIG_ERROR_SYNTAX,
                 "t.conf:2: the key 'a[b]' contains '[' or ']', which momd does not accept.");
    assert_error("[main]\nplot-dir: \xff\n", MOM_CONFIG_ERROR_SYNTAX,
                 "t.conf:2: the line is not valid UTF-8.");
}
END_TEST

START_TEST(test_int)
{
    g_autoptr(MomConfig) c = load_ok("[main]\n"
                                     "main-loop-interval: 1\n"
                                     "host-monitor-interval: 86400\n"
                                     "guest-monitor-interval: +7\n"
                                     "guest-manager-interval: 007\n"
                                     "policy-max-steps: 123456789012\n"
                                     "policy-max-ms: 250\n"
                                     "[logging]\n"
                                     "max-bytes: 0\n"
                                     "backup-count: 0\n");

    ck_assert_int_eq(c->main.main_loop_interval, 1);
    ck_assert_int_eq(c->main.host_monitor_interval, 86400);
    ck_assert_int_eq(c->main.guest_monitor_interval, 7);
    ck_assert_int_eq(c->main.guest_manager_interval, 7);
    ck_assert(c->main.policy_max_steps == G_GINT64_CONSTANT(123456789012));
    ck_assert_int_eq(c->main.policy_max_ms, 250);
    ck_assert_int_eq(c->logging.max_bytes, 0);
    ck_assert_int_eq(c->logging.backup_count, 0);

    static const char interval[] = "an integer between 1 and 86400";

    assert_bad_value("main", "main-loop-interval", "abc", interval);
    assert_bad_value("main", "main-loop-interval", "0", interval);
    assert_bad_value("main", "policy-engine-interval", "86401", interval);
    assert_bad_value("main", "host-monitor-interval", "-5", interval);
    assert_bad_value("main", "guest-monitor-interval", "5.0", interval);
    assert_bad_value("main", "guest-manager-interval", "1e3", interval);
    assert_bad_value("main", "sample-history-length", "0", "an integer between 1 and 100000");
    assert_bad_value("main", "policy-max-depth", "lots", "an integer between 1 and 100000");
    assert_bad_value("main", "policy-max-steps", "0", "an integer between 1 and 1000000000000");
    assert_bad_value("main", "policy-max-ms", "0", "an integer between 1 and 3600000");
    assert_bad_value("logging", "max-bytes", "2M", "an integer between 0 and 9223372036854775807");
    assert_bad_value("logging", "backup-count", "-1", "an integer between 0 and 10000");

    /* The message names the line, however far down the file it is. */
    assert_error("[main]\n# one\n\n; two\nmain-loop-interval: 5\n[logging]\nbackup-count: x\n",
                 MOM_CONFIG_ERROR_VALUE,
                 "t.conf:7: [logging] backup-count: expected an integer between 0 and 10000, "
                 "got 'x'.");
}
END_TEST

START_TEST(test_bool)
{
    static const char *const yes[] = {"1", "yes", "true", "on", "YES", "True", "oN"};
    static const char *const no[] = {"0", "no", "false", "off", "NO", "False", "OFF"};

    for (gsize i = 0; i < G_N_ELEMENTS(yes); i++) {
        g_autofree char *t =
            g_strdup_printf("[main]\ndry-run: %s\nksm-restore-on-exit: %s\n", yes[i], no[i]);
        g_autoptr(MomConfig) c = load_ok(t);

        ck_assert_msg(c->main.dry_run, "%s", yes[i]);
        ck_assert_msg(!ctl_option(c, "KSM", "ksm-restore-on-exit"), "%s", no[i]);
    }

    static const char expected[] = "a boolean (1, yes, true, on, 0, no, false or off)";

    assert_bad_value("main", "dry-run", "maybe", expected);
    assert_bad_value("main", "guest-manager-multi-thread", "2", expected);
    assert_bad_value("main", "ksm-advisor-off", "y", expected);
}
END_TEST

START_TEST(test_verbosity)
{
    static const struct {
        const char *text;
        MomConfigVerbosity level;
    } good[] = {
        {"debug", MOM_CONFIG_VERBOSITY_DEBUG},
        {"5", MOM_CONFIG_VERBOSITY_DEBUG},
        {"DEBUG", MOM_CONFIG_VERBOSITY_DEBUG},
        {"info", MOM_CONFIG_VERBOSITY_INFO},
        {"4", MOM_CONFIG_VERBOSITY_INFO},
        {"warn", MOM_CONFIG_VERBOSITY_WARN},
        {"warning", MOM_CONFIG_VERBOSITY_WARN},
        {"3", MOM_CONFIG_VERBOSITY_WARN},
        {"error", MOM_CONFIG_VERBOSITY_ERROR},
        {"2", MOM_CONFIG_VERBOSITY_ERROR},
        {"Critical", MOM_CONFIG_VERBOSITY_CRITICAL},
        {"1", MOM_CONFIG_VERBOSITY_CRITICAL},
    };

    for (gsize i = 0; i < G_N_ELEMENTS(good); i++) {
        g_autofree char *t = g_strdup_printf("[logging]\nverbosity: %s\n", good[i].text);
        g_autoptr(MomConfig) c = load_ok(t);

        ck_assert_msg(c->logging.verbosity == good[i].level, "%s", good[i].text);
    }
    ck_assert_str_eq(mom_config_verbosity_to_string(MOM_CONFIG_VERBOSITY_WARN), "warn");
    ck_assert_ptr_null(mom_config_verbosity_to_string(0));

    static const char expected[] = "a log level (debug, info, warn, error or critical, or 5 to 1)";

    assert_bad_value("logging", "verbosity", "loud", expected);
    assert_bad_value("logging", "verbosity", "0", expected);
    assert_bad_value("logging", "verbosity", "6", expected);
}
END_TEST

START_TEST(test_string_list_rpc)
{
    g_autoptr(MomConfig) c = load_ok("[main]\n"
                                     "controllers: , Balloon ,,KSM,  \n"
                                     "rpc-port: 8888\n"
                                     "proc-root: /tmp/proc\n"
                                     "[host]\n"
                                     "collectors:\n"
                                     "[guest]\n"
                                     "collectors: ,\n");
    static const char *const ctl[] = {"Balloon", "KSM", NULL};
    static const char *const none[] = {NULL};

    assert_strv(c->main.controllers, ctl);
    assert_strv(c->host.collectors, none);
    assert_strv(c->guest.collectors, none);
    ck_assert_int_eq(c->main.rpc_port.port, 8888);
    ck_assert_ptr_null(c->main.rpc_port.socket_path);
    ck_assert_str_eq(c->main.proc_root, "/tmp/proc");

    static const char rpc[] =
        "a port number between -1 and 65535 or the absolute path of a UNIX socket";

    assert_bad_value("main", "rpc-port", "65536", rpc);
    assert_bad_value("main", "rpc-port", "mom.sock", rpc);
    assert_bad_value("main", "rpc-port", "-2", rpc);
}
END_TEST

START_TEST(test_empty_values)
{
    g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(MomConfig) c = load("[main]\nmain-loop-interval:\nrpc-port =\n[logging]\n"
                                  "verbosity:\nlog:\n[Collector: GuestQemuAgent]\ntimeout:\n",
                                  warnings, NULL);

    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(c->main.main_loop_interval, 5);
    ck_assert_int_eq(c->main.rpc_port.port, -1);
    ck_assert_int_eq(c->logging.verbosity, MOM_CONFIG_VERBOSITY_INFO);
    ck_assert_str_eq(c->logging.log, ""); /* a string may be empty */
    ck_assert_int_eq(c->agent.timeout, 2);
    ck_assert_int_eq(warnings->len, 4);
    ck_assert_str_eq(g_ptr_array_index(warnings, 0),
                     "t.conf:2: [main] main-loop-interval: empty value, the default '5' is used.");
    ck_assert_str_eq(
        g_ptr_array_index(warnings, 1),
        "t.conf:3: [main] rpc-port: empty value, the default '/run/momd/momd.sock' is used.");
    ck_assert_str_eq(g_ptr_array_index(warnings, 2),
                     "t.conf:5: [logging] verbosity: empty value, the default 'info' is used.");
    ck_assert_str_eq(g_ptr_array_index(warnings, 3),
                     "t.conf:8: [Collector: GuestQemuAgent] timeout: empty value, the default "
                     "'2' is used.");
}
END_TEST

START_TEST(test_unknown)
{
    g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GError) error = NULL;
    g_autoptr(MomConfig) c = load("[main]\n"
                                  "main-loop-interval: 5\n"
                                  "main-loop-intervall: 6\n"
                                  "[Main]\n"
                                  "policy: x\n"
                                  "[Collector: HostKSM]\n"
                                  "anything: goes\n"
                                  "[Collector:HostKSM]\n"
                                  "[__int__]\n"
                                  "running: 1\n"
                                  "[guest]\n"
                                  "Collector: GuestMemory\n"
                                  "[Collector: GuestQemuAgent]\n"
                                  "socket_name_template: %(name)s.agent\n"
                                  "max_file_kib: 4096\n",
                                  warnings, &error);

    ck_assert_msg(c != NULL, "%s", error ? error->message : "");
    /* In line order. */
    ck_assert_int_eq(warnings->len, 6);
    ck_assert_str_eq(g_ptr_array_index(warnings, 0),
                     "t.conf:3: [main] main-loop-intervall: unknown option, ignored.");
    ck_assert_str_eq(g_ptr_array_index(warnings, 1), "t.conf:4: [Main]: unknown section, ignored.");
    ck_assert_str_eq(g_ptr_array_index(warnings, 2),
                     "t.conf:8: [Collector:HostKSM]: unknown section, ignored.");
    ck_assert_str_eq(g_ptr_array_index(warnings, 3),
                     "t.conf:9: [__int__]: unknown section, ignored.");
    /* "Collector" lowercased: keys are case-insensitive, and that is
     * [guest] collector, not collectors. */
    ck_assert_str_eq(g_ptr_array_index(warnings, 4),
                     "t.conf:12: [guest] collector: unknown option, ignored.");
    /* momd has options there: a misspelt one is said, MOM's are not */
    ck_assert_str_eq(g_ptr_array_index(warnings, 5),
                     "t.conf:15: [Collector: GuestQemuAgent] max_file_kib: unknown option, "
                     "ignored.");
    ck_assert_int_eq(c->agent.max_file_kib, 1024);
    ck_assert_str_eq(c->main.policy, "");

    /* Warnings may be discarded. */
    g_autoptr(MomConfig) d = load("[nope]\n", NULL, NULL);
    ck_assert_ptr_nonnull(d);
}
END_TEST

START_TEST(test_duplicates)
{
    g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(MomConfig) c = load("[main]\n"
                                  "policy-engine-interval: 10\n"
                                  "policy-engine-interval: 20\n"
                                  "[logging]\n"
                                  "log: stdio\n"
                                  "[main]\n"
                                  "Policy-Engine-Interval: 30\n"
                                  "[Collector: HostKSM]\n"
                                  "k: 1\n"
                                  "k: 2\n",
                                  warnings, NULL);
    g_autofree char *k = NULL;

    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(c->main.policy_engine_interval, 30);
    ck_assert_int_eq(warnings->len, 3);
    ck_assert_str_eq(
        g_ptr_array_index(warnings, 0),
        "t.conf:3: [main] policy-engine-interval: set again (previously set on line 2); "
        "the last value wins.");
    ck_assert_str_eq(
        g_ptr_array_index(warnings, 1),
        "t.conf:7: [main] policy-engine-interval: set again (previously set on line 3); "
        "the last value wins.");
    ck_assert_str_eq(g_ptr_array_index(warnings, 2),
                     "t.conf:10: [Collector: HostKSM] k: set again (previously set on line 9); "
                     "the last value wins.");
    k = g_key_file_get_string(c->keyfile, "Collector: HostKSM", "k", NULL);
    ck_assert_str_eq(k, "2");
    ck_assert_str_eq(c->logging.log, "stdio");

    /* A bad value overridden later in the file is never parsed. */
    g_autoptr(MomConfig) d = load("[main]\nrpc-port: x\nrpc-port: 1\n", NULL, NULL);
    ck_assert_ptr_nonnull(d);
    ck_assert_int_eq(d->main.rpc_port.port, 1);
}
END_TEST

/* [Collector: GuestQemuAgent]: momd's two typed options next to MOM's
 * socket keys, which are kept and ignored. */
START_TEST(test_agent_section)
{
    g_autoptr(MomConfig) c = load_ok("[Collector: GuestQemuAgent]\n"
                                     "socket_path: /var/lib/libvirt/qemu\n"
                                     "Timeout = 60\n"
                                     "max-file-kib: 4\n");
    g_autofree char *socket = NULL;

    ck_assert_int_eq(c->agent.timeout, 60);
    ck_assert_int_eq(c->agent.max_file_kib, 4);
    socket = g_key_file_get_string(c->keyfile, "Collector: GuestQemuAgent", "socket_path", NULL);
    ck_assert_str_eq(socket, "/var/lib/libvirt/qemu");

    g_autoptr(MomConfig) top = load_ok("[Collector: GuestQemuAgent]\n"
                                       "timeout: 1\n"
                                       "max-file-kib: 65536\n");
    ck_assert_int_eq(top->agent.timeout, 1);
    ck_assert_int_eq(top->agent.max_file_kib, 65536);

    static const struct {
        const char *key;
        const char *value;
    } bad[] = {
        {"timeout", "abc"},     {"timeout", "2.5"},        {"timeout", "0"},
        {"timeout", "61"},      {"max-file-kib", "1M"},    {"max-file-kib", "3"},
        {"max-file-kib", "-1"}, {"max-file-kib", "65537"},
    };

    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++)
        assert_bad_value("Collector: GuestQemuAgent", bad[i].key, bad[i].value,
                         strcmp(bad[i].key, "timeout") == 0 ? "an integer between 1 and 60"
                                                            : "an integer between 4 and 65536");
    assert_error("[Collector: GuestQemuAgent]\nsocket_path: /x\n\ntimeout: 2 s\n",
                 MOM_CONFIG_ERROR_VALUE,
                 "t.conf:4: [Collector: GuestQemuAgent] timeout: expected an integer between 1 "
                 "and 60, got '2 s'.");
    /* Unknown keys and empty values: test_unknown, test_empty_values. */

    /* --dump-config: MOM's keys first, then momd's, and the section once. */
    g_autofree char *dump = mom_config_dump(c);
    const char *at = strstr(dump, "\n[Collector: GuestQemuAgent]\n"
                                  "socket_path: /var/lib/libvirt/qemu\n"
                                  "# momd additions (MOM ignores them)\n"
                                  "timeout: 60\n"
                                  "max-file-kib: 4\n");
    ck_assert_msg(at != NULL, "%s", dump);
    ck_assert_ptr_null(strstr(at + 2, "[Collector: GuestQemuAgent]"));

    /* Checked on the command line too (mom_config_set_override()). */
    g_autoptr(GError) error = NULL;
    ck_assert(mom_config_set_override(c, "Collector: GuestQemuAgent", "TIMEOUT", " 9 ", NULL));
    ck_assert_int_eq(c->agent.timeout, 9);
    ck_assert(
        !mom_config_set_override(c, "Collector: GuestQemuAgent", "max-file-kib", "0", &error));
    ck_assert(g_error_matches(error, MOM_CONFIG_ERROR, MOM_CONFIG_ERROR_VALUE));
    ck_assert_str_eq(error->message, "command line: [Collector: GuestQemuAgent] max-file-kib: "
                                     "expected an integer between 4 and 65536, got '0'.");
    ck_assert_int_eq(c->agent.max_file_kib, 4);
}
END_TEST

/* The controllers' options (MomControllerClass.options) are checked,
 * overridden and dumped as the loader's own, and the controllers read them
 * from the key file. */
START_TEST(test_controller_options)
{
    /* Not set, or no key file at all: the declared defaults. */
    g_autoptr(MomConfig) dflt = mom_config_new_defaults();
    g_autoptr(MomConfig) part = load_ok("[balloon]\nmax-step-mib: 64\n");

    ck_assert_int_eq(ctl_option(NULL, "Balloon", "min-floor-mib"), 128);
    ck_assert_int_eq(ctl_option(NULL, "Balloon", "dead-band-kib"), 1024);
    ck_assert_int_eq(ctl_option(NULL, "Balloon", "max-step-mib"), 512);
    ck_assert_int_eq(ctl_option(NULL, "Balloon", "uncooperative-cycles"), 3);
    ck_assert_int_eq(ctl_option(NULL, "KSM", "ksm-restore-on-exit"), TRUE);
    ck_assert_int_eq(ctl_option(NULL, "KSM", "ksm-advisor-off"), FALSE);
    ck_assert_int_eq(ctl_option(dflt, "Balloon", "min-floor-mib"), 128);
    ck_assert_int_eq(ctl_option(part, "Balloon", "max-step-mib"), 64);
    ck_assert_int_eq(ctl_option(part, "Balloon", "min-floor-mib"), 128);
    ck_assert_int_eq(ctl_option(part, "KSM", "ksm-restore-on-exit"), TRUE);

    /* Written as MOM's users write values, read back as meant. */
    g_autoptr(MomConfig) c = load_ok("[balloon]\n"
                                     "Min-Floor-MiB: +0\n"
                                     "uncooperative-cycles = 007\n"
                                     "[main]\n"
                                     "ksm-restore-on-exit: OFF\n"
                                     "ksm-advisor-off: Yes\n");
    ck_assert_int_eq(ctl_option(c, "Balloon", "min-floor-mib"), 0);
    ck_assert_int_eq(ctl_option(c, "Balloon", "uncooperative-cycles"), 7);
    ck_assert_int_eq(ctl_option(c, "KSM", "ksm-restore-on-exit"), FALSE);
    ck_assert_int_eq(ctl_option(c, "KSM", "ksm-advisor-off"), TRUE);

    /* A bad value fails the load, naming file, line, section and key. */
    assert_bad_value("balloon", "min-floor-mib", "-1", "an integer between 0 and 1048576");
    assert_bad_value("balloon", "dead-band-kib", "1k", "an integer between 0 and 1073741824");
    assert_bad_value("balloon", "max-step-mib", "0", "an integer between 1 and 1048576");
    assert_bad_value("balloon", "uncooperative-cycles", "1001", "an integer between 1 and 1000");
    assert_error("[main]\ndry-run: no\n\n[balloon]\nmin-floor-mib: 64\nmax-step-mib: lots\n",
                 MOM_CONFIG_ERROR_VALUE,
                 "t.conf:6: [balloon] max-step-mib: expected an integer between 1 and 1048576, "
                 "got 'lots'.");

    /* A misspelt key is said, an empty value keeps the default. */
    g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(MomConfig) w = load(
        "[balloon]\nmin-floor-kib: 5\nmax-step-mib:\n[main]\nksm-advisor-off:\n", warnings, NULL);
    ck_assert_ptr_nonnull(w);
    ck_assert_uint_eq(warnings->len, 3);
    ck_assert_str_eq(g_ptr_array_index(warnings, 0),
                     "t.conf:2: [balloon] min-floor-kib: unknown option, ignored.");
    ck_assert_str_eq(g_ptr_array_index(warnings, 1),
                     "t.conf:3: [balloon] max-step-mib: empty value, the default '512' is used.");
    ck_assert_str_eq(g_ptr_array_index(warnings, 2),
                     "t.conf:5: [main] ksm-advisor-off: empty value, the default 'false' is used.");
    ck_assert_int_eq(ctl_option(w, "Balloon", "max-step-mib"), 512);
    ck_assert_int_eq(ctl_option(w, "KSM", "ksm-advisor-off"), FALSE);

    /* The command line (mom_config_set_override()), checked as a file value is. */
    g_autoptr(GError) error = NULL;
    ck_assert(mom_config_set_override(c, "balloon", "Max-Step-MiB", " 32 ", NULL));
    ck_assert(mom_config_set_override(c, "main", "ksm-restore-on-exit", "on", NULL));
    ck_assert_int_eq(ctl_option(c, "Balloon", "max-step-mib"), 32);
    ck_assert_int_eq(ctl_option(c, "KSM", "ksm-restore-on-exit"), TRUE);
    ck_assert(!mom_config_set_override(c, "balloon", "max-step-mib", "0", &error));
    ck_assert(g_error_matches(error, MOM_CONFIG_ERROR, MOM_CONFIG_ERROR_VALUE));
    ck_assert_str_eq(error->message, "command line: [balloon] max-step-mib: expected an integer "
                                     "between 1 and 1048576, got '0'.");
    ck_assert_int_eq(ctl_option(c, "Balloon", "max-step-mib"), 32);
    g_clear_error(&error);
    ck_assert(!mom_config_set_override(c, "balloon", "max-step-kib", "1", &error));
    ck_assert(g_error_matches(error, MOM_CONFIG_ERROR, MOM_CONFIG_ERROR_UNKNOWN));

    /* --dump-config: the section where it was, the values in effect. */
    g_autofree char *d = mom_config_dump(dflt);
    g_autofree char *e = mom_config_dump(c);
    ck_assert_ptr_nonnull(strstr(d, "\n[balloon]\n"
                                    "# momd additions (MOM ignores them)\n"
                                    "min-floor-mib: 128\n"
                                    "dead-band-kib: 1024\n"
                                    "max-step-mib: 512\n"
                                    "uncooperative-cycles: 3\n"
                                    "\n[pressure]\n"));
    ck_assert_ptr_nonnull(strstr(d, "\nksm-restore-on-exit: true\nksm-advisor-off: false\n"));
    ck_assert_ptr_nonnull(strstr(e, "\nmin-floor-mib: 0\n"));
    ck_assert_ptr_nonnull(strstr(e, "\nmax-step-mib: 32\nuncooperative-cycles: 7\n"));
    ck_assert_ptr_nonnull(strstr(e, "\nksm-restore-on-exit: true\nksm-advisor-off: true\n"));
    g_autoptr(MomConfig) again = load_ok(e);
    g_autofree char *e2 = mom_config_dump(again);
    ck_assert_str_eq(e, e2);
}
END_TEST

START_TEST(test_overrides)
{
    g_autoptr(MomConfig) c = load(vdsm_style_conf, NULL, NULL);
    g_autoptr(GError) error = NULL;
    g_autofree char *v = NULL;

    /* momd -r FILE -P DIR -p DIR -l TARGET -v LEVEL */
    ck_assert(mom_config_set_override(c, "main", "policy", "/tmp/a.rules", NULL));
    ck_assert(!mom_config_validate(c, &error));
    ck_assert(g_error_matches(error, MOM_CONFIG_ERROR, MOM_CONFIG_ERROR_INVALID));
    ck_assert_str_eq(error->message, "[main] policy ('/tmp/a.rules') and [main] policy-dir "
                                     "('/etc/vdsm/mom.d') are both set; only one of them may be.");
    g_clear_error(&error);
    ck_assert(mom_config_set_override(c, "main", "policy-dir", "", NULL));
    ck_assert(mom_config_validate(c, NULL));
    ck_assert_str_eq(c->main.policy, "/tmp/a.rules");
    ck_assert(mom_config_set_override(c, "main", "plot-dir", "/tmp/plots", NULL));
    ck_assert(mom_config_set_override(c, "logging", "log", "stdio", NULL));
    ck_assert(mom_config_set_override(c, "logging", "verbosity", "5", NULL));
    ck_assert(mom_config_set_override(c, "main", "DRY-RUN", " yes ", NULL));
    ck_assert_str_eq(c->main.plot_dir, "/tmp/plots");
    ck_assert_str_eq(c->logging.log, "stdio");
    ck_assert_int_eq(c->logging.verbosity, MOM_CONFIG_VERBOSITY_DEBUG);
    ck_assert(c->main.dry_run);

    ck_assert(!mom_config_set_override(c, "logging", "verbosity", "loud", &error));
    ck_assert(g_error_matches(error, MOM_CONFIG_ERROR, MOM_CONFIG_ERROR_VALUE));
    ck_assert_str_eq(error->message,
                     "command line: [logging] verbosity: expected a log level (debug, info, warn, "
                     "error or critical, or 5 to 1), got 'loud'.");
    ck_assert_int_eq(c->logging.verbosity, MOM_CONFIG_VERBOSITY_DEBUG);
    g_clear_error(&error);

    ck_assert(!mom_config_set_override(c, "main", "main-loop-interval", "", &error));
    ck_assert_str_eq(error->message, "command line: [main] main-loop-interval: expected an "
                                     "integer between 1 and 86400, got ''.");
    g_clear_error(&error);

    ck_assert(!mom_config_set_override(c, "main", "no-such-thing", "1", &error));
    ck_assert(g_error_matches(error, MOM_CONFIG_ERROR, MOM_CONFIG_ERROR_UNKNOWN));
    ck_assert_str_eq(error->message, "command line: [main] no-such-thing: unknown option.");
    g_clear_error(&error);

    ck_assert(
        mom_config_set_override(c, "Collector: GuestQemuAgent", "Socket_Path", "/run/q", NULL));
    v = g_key_file_get_string(c->keyfile, "Collector: GuestQemuAgent", "socket_path", NULL);
    ck_assert_str_eq(v, "/run/q");
}
END_TEST

/* dump -> load -> dump gives the same text, and @n_warnings warnings: those
 * of the settings momd keeps for the dump but does not honour. */
static void
assert_round_trip(const MomConfig *c, guint n_warnings)
{
    g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func(g_free);
    g_autofree char *d1 = mom_config_dump(c);
    g_autoptr(MomConfig) again = load(d1, warnings, NULL);
    g_autofree char *d2 = NULL;

    ck_assert_ptr_nonnull(again);
    ck_assert_msg(warnings->len == n_warnings, "%u warnings, the first: %s", warnings->len,
                  warnings->len ? (char *)warnings->pdata[0] : "");
    d2 = mom_config_dump(again);
    ck_assert_str_eq(d1, d2);
}

START_TEST(test_dump)
{
    g_autoptr(MomConfig) defaults = mom_config_new_defaults();
    g_autoptr(MomConfig) mom = load(mom_style_conf, NULL, NULL);
    g_autoptr(MomConfig) vdsm = load(vdsm_style_conf, NULL, NULL);
    g_autofree char *text = mom_config_dump(vdsm);
    g_autofree char *dflt = mom_config_dump(defaults);

    assert_round_trip(defaults, 0);
    assert_round_trip(mom, 0);
    /* hypervisor-interface and [vdsm] are printed back, and warned about again */
    assert_round_trip(vdsm, 2);

    ck_assert_ptr_nonnull(strstr(dflt, "\n[main]\nmain-loop-interval: 5\n"));
    ck_assert_ptr_nonnull(strstr(dflt, "\nlibvirt-hypervisor-uri:\n"));
    ck_assert_ptr_nonnull(strstr(dflt, "\n# momd additions (MOM ignores them)\ndry-run: false\n"));
    ck_assert_ptr_nonnull(strstr(dflt, "\n[logging]\nlog: stdio\nverbosity: info\n"));
    ck_assert_ptr_nonnull(strstr(dflt, "\n[guest]\ncollectors: GuestQemuProc, GuestMemory\n"));
    ck_assert_ptr_nonnull(strstr(dflt, "\n[Collector: GuestQemuAgent]\n"
                                       "# momd additions (MOM ignores them)\n"
                                       "timeout: 2\nmax-file-kib: 1024\n"));
    ck_assert_ptr_nonnull(strstr(text, "\nrpc-port: /run/vdsm/mom-vdsm.sock\n"));
    ck_assert_ptr_nonnull(strstr(text, "\n[vdsm]\npki-dir: /etc/pki/vdsm\n"));
    ck_assert_ptr_nonnull(strstr(text, "\ncontrollers: Balloon, KSM, CpuTune, IoTune\n"));

    /* Multi-line and odd values survive too. */
    ck_assert(mom_config_set_override(vdsm, "main", "plot-dir", "/a\\b #c", NULL));
    ck_assert(mom_config_set_override(vdsm, "Collector: HostCpu", "lines", "one\ntwo", NULL));
    ck_assert(mom_config_set_override(vdsm, "logging", "verbosity", "warning", NULL));
    assert_round_trip(vdsm, 2);
}
END_TEST

START_TEST(test_files)
{
    const char *top = g_getenv("MOM_TOP_SRCDIR");
    g_autofree char *path = NULL;
    g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GError) error = NULL;
    g_autoptr(MomConfig) c = NULL;
    g_autoptr(MomConfig) all = NULL;
    g_autofree char *dflt = NULL;
    g_auto(GStrv) groups = NULL;

    ck_assert_msg(top != NULL, "MOM_TOP_SRCDIR is not set");
    path = g_build_filename(top, "data", "momd.conf", NULL);
    c = mom_config_load_file(path, warnings, &error);
    ck_assert_msg(c != NULL, "%s", error ? error->message : "");
    ck_assert_msg(warnings->len == 0, "%s", warnings->len ? (char *)warnings->pdata[0] : "");
    ck_assert(mom_config_validate(c, NULL));
    ck_assert_str_eq(c->main.policy_dir, "/etc/momd/policies");

    /* Every option is spelled out in data/momd.conf. */
    all = mom_config_new_defaults();
    dflt = mom_config_dump(all);
    g_clear_pointer(&all, mom_config_free);
    all = load_ok(dflt);
    groups = g_key_file_get_groups(all->keyfile, NULL);
    for (char **g = groups; *g; g++) {
        g_auto(GStrv) keys = g_key_file_get_keys(all->keyfile, *g, NULL, NULL);

        for (char **k = keys; *k; k++)
            ck_assert_msg(g_key_file_has_key(c->keyfile, *g, *k, NULL),
                          "data/momd.conf lacks [%s] %s", *g, *k);
    }

    g_clear_error(&error);
    ck_assert_ptr_null(mom_config_load_file("/nonexistent/momd.conf", NULL, &error));
    ck_assert(g_error_matches(error, MOM_CONFIG_ERROR, MOM_CONFIG_ERROR_NOT_FOUND));
    ck_assert_str_eq(error->message, "The config file /nonexistent/momd.conf does not exist.");
    g_clear_error(&error);
    ck_assert_ptr_null(mom_config_load_file(top, NULL, &error));
    ck_assert(g_error_matches(error, MOM_CONFIG_ERROR, MOM_CONFIG_ERROR_IO));
}
END_TEST

static Suite *
config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("config");

    tcase_add_test(tc, test_defaults);
    tcase_add_test(tc, test_mom_sample);
    tcase_add_test(tc, test_vdsm_sample);
    tcase_add_test(tc, test_not_honoured);
    tcase_add_test(tc, test_syntax);
    tcase_add_test(tc, test_syntax_errors);
    tcase_add_test(tc, test_int);
    tcase_add_test(tc, test_bool);
    tcase_add_test(tc, test_verbosity);
    tcase_add_test(tc, test_string_list_rpc);
    tcase_add_test(tc, test_empty_values);
    tcase_add_test(tc, test_unknown);
    tcase_add_test(tc, test_duplicates);
    tcase_add_test(tc, test_agent_section);
    tcase_add_test(tc, test_controller_options);
    tcase_add_test(tc, test_overrides);
    tcase_add_test(tc, test_dump);
    tcase_add_test(tc, test_files);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(config_suite());
    int failed;

    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
