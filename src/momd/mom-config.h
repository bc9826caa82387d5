/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The daemon's configuration, read from MOM's config files unchanged
 * (docs/configuration.md).  The input is Python ConfigParser's INI dialect:
 *
 *   [main]
 *   # full-line comment            ; this one too
 *   main-loop-interval: 5
 *   policy-dir = /etc/momd/policies    ; inline comment after blank
 *   controllers: Balloon,
 *       KSM                        (indented line continues the value)
 *
 *   [Collector: GuestQemuAgent]
 *   socket_path: /var/lib/libvirt/qemu   (MOM's; momd accepts and ignores it)
 *   timeout = 2                          (momd's, typed like [main])
 *
 * Keys are case-insensitive (ConfigParser lowercases them), sections are
 * not.  The text is normalised to GKeyFile form in memory, line for line,
 * so every message points at the line of the original file.
 */
#pragma once

#include <glib.h>

#include "mom-metrics.h"
#include "mom-pressure.h"

#define MOM_CONFIG_ERROR (mom_config_error_quark())
GQuark mom_config_error_quark(void);

typedef enum {
    MOM_CONFIG_ERROR_NOT_FOUND, /* the file does not exist (MOM ignored that) */
    MOM_CONFIG_ERROR_IO,        /* the file exists but cannot be read */
    MOM_CONFIG_ERROR_SYNTAX,    /* a line is not a section, comment or key-value pair */
    MOM_CONFIG_ERROR_VALUE,     /* a value does not fit its option's type or range */
    MOM_CONFIG_ERROR_UNKNOWN,   /* an override names an option momd does not know */
    MOM_CONFIG_ERROR_INVALID,   /* options that cannot be used together */
} MomConfigErrorCode;

/* [logging] verbosity, numbered as MOM numbers it. */
typedef enum {
    MOM_CONFIG_VERBOSITY_CRITICAL = 1,
    MOM_CONFIG_VERBOSITY_ERROR = 2,
    MOM_CONFIG_VERBOSITY_WARN = 3,
    MOM_CONFIG_VERBOSITY_INFO = 4,
    MOM_CONFIG_VERBOSITY_DEBUG = 5,
} MomConfigVerbosity;

/* [main] rpc-port: MOM takes a TCP port on localhost (-1: no RPC server)
 * or, when the value is not an integer, the path of a UNIX socket (vdsm
 * uses "/run/vdsm/mom-vdsm.sock"). */
typedef struct {
    int port;          /* -1 when disabled or when @socket_path is set */
    char *socket_path; /* NULL unless a UNIX socket was given */
} MomConfigRpcPort;

/*
 * Every option with a typed value.  Strings are never NULL (an empty value
 * is ""); lists are NULL-terminated and may be empty.  Fields marked momd
 * are momd's additions; MOM ignores them in a config file.
 */
typedef struct {
    struct {
        int main_loop_interval;     /* seconds */
        int host_monitor_interval;  /* seconds */
        int guest_monitor_interval; /* seconds */
        int guest_manager_interval; /* seconds */
        char *hypervisor_interface; /* "libvirt"; MOM compares it lowercased */
        int policy_engine_interval; /* seconds */
        int sample_history_length;
        char *libvirt_hypervisor_uri; /* "" means libvirt's default */
        char **controllers;           /* "Balloon", "KSM", ... */
        char *plot_dir;
        gint64 plot_max_bytes; /* momd: rotation of the plot files, 0: none */
        MomConfigRpcPort rpc_port;
        char *policy;     /* a single rules file */
        char *policy_dir; /* a directory of *.policy files */
        gboolean guest_manager_multi_thread;
        gboolean dry_run;        /* momd */
        gboolean lock_memory;    /* momd: mlockall, see momd.c */
        gint64 policy_max_steps; /* momd */
        int policy_max_depth;    /* momd */
        int policy_max_ms;       /* momd: wall-clock limit of one evaluation */
        char *rpc_group;         /* momd */
        char *proc_root;         /* momd */
        char *sysfs_root;        /* momd */
        char *libvirt_run_dir;   /* momd: the QEMU driver's pid files; "" derives it */
    } main;
    struct {
        char *log; /* "stdio" (any case) or a file name */
        MomConfigVerbosity verbosity;
        gint64 max_bytes;
        int backup_count;
    } logging;
    struct {
        char **collectors;
    } host;
    struct {
        char **collectors;
    } guest;
    /* [Collector: GuestQemuAgent]'s typed options (momd).  MOM's own keys
     * there (socket_path, socket_name_template) stay in @keyfile only:
     * momd reaches the agent through libvirt, not its socket. */
    struct {
        int timeout;      /* seconds libvirt waits for each agent command */
        int max_file_kib; /* the largest guest file read whole */
    } agent;
    /* [pressure]: the fast path that runs the policy out of band (momd). */
    MomPressureOptions pressure;
    /* [metrics]: Prometheus metrics over HTTP and/or a textfile (momd). */
    MomMetricsOptions metrics;
    /* [history]: the decisions kept for momctl history (momd). */
    struct {
        int max_decisions;
        int max_age_s;
    } history;
    /* The file as loaded, normalised: keys lowercased, values as
     * ConfigParser returns them (read them with g_key_file_get_string).
     * Collectors read their "[Collector: NAME]" section from here; vdsm's
     * [vdsm] section is kept too.  The controllers' options (the
     * [balloon] section, [main] ksm-restore-on-exit, ...) live only here:
     * each controller declares them (MomControllerClass.options), the
     * loader and mom_config_set_override() check them and write them
     * back as "true"/"false" or a decimal integer, and the controller
     * reads them with mom_controller_option_int() or _bool().  Never NULL. */
    GKeyFile *keyfile;
} MomConfig;

/**
 * mom_config_new_defaults:
 * Returns: (transfer full) a config holding MOM's built-in defaults and
 * momd's defaults for its own options, with an empty @keyfile.
 */
MomConfig *mom_config_new_defaults(void);

/**
 * mom_config_load_data:
 * Reads config text over the defaults.  @len may be -1 for a NUL-terminated
 * @data; @origin names the text in messages ("/etc/momd.conf").
 *
 * Unknown sections and keys (in [Collector: GuestQemuAgent] too, apart
 * from MOM's socket_path and socket_name_template; the keys of other
 * collector sections are not checked, but a section of a collector momd
 * does not have is), duplicate keys (the last one wins, as in MOM's
 * Python 2 ConfigParser), empty values of non-string options (the default
 * is kept), and MOM's and vdsm's settings that momd does not honour (a
 * hypervisor-interface other than libvirt, the [vdsm] section, the
 * GuestNetworkDaemon collector, which GuestMemory replaces in [guest]
 * collectors, and its section's keys) are not errors: each adds one full
 * sentence "ORIGIN:LINE: ..." to @warnings (char *, owned by the array,
 * which should free with g_free; may be NULL to discard them) for the
 * caller to log.
 *
 * A bad value fails the whole load with MOM_CONFIG_ERROR_VALUE, e.g.
 * "ORIGIN:3: [main] main-loop-interval: expected an integer between 1 and
 * 86400, got 'abc'."  A line that is not a section header, comment or
 * key-value pair fails with MOM_CONFIG_ERROR_SYNTAX.
 *
 * Returns: (transfer full) the config, or NULL with @error set.
 */
MomConfig *mom_config_load_data(const char *data, gssize len, const char *origin,
                                GPtrArray *warnings, GError **error);

/**
 * mom_config_load_file:
 * Reads @path as mom_config_load_data() does.  A missing file fails with
 * MOM_CONFIG_ERROR_NOT_FOUND (MOM silently ran on its defaults instead;
 * the caller decides), any other read failure with MOM_CONFIG_ERROR_IO.
 * Returns: (transfer full) the config, or NULL with @error set.
 */
MomConfig *mom_config_load_file(const char *path, GPtrArray *warnings, GError **error);

/**
 * mom_config_set_override:
 * Sets one option from the command line (momd's -r sets [main] policy,
 * -P [main] policy-dir, -p [main] plot-dir, -l [logging] log and -v
 * [logging] verbosity), checked as a file value would be.  Other options
 * of a "[Collector: NAME]" section than the typed ones of
 * [Collector: GuestQemuAgent], and those of [vdsm], go to @keyfile
 * unchecked.
 * Errors are MOM_CONFIG_ERROR_VALUE ("command line: [logging] verbosity:
 * expected ...") or MOM_CONFIG_ERROR_UNKNOWN; @config is unchanged then.
 * Returns: TRUE on success.
 */
gboolean mom_config_set_override(MomConfig *config, const char *section, const char *key,
                                 const char *value, GError **error);

/**
 * mom_config_validate:
 * Checks rules that span options, after the overrides are applied: MOM
 * refuses to start when both [main] policy and [main] policy-dir are set.
 * [pressure] psi-trigger, when not empty, must be a trigger the kernel
 * takes (mom_pressure_parse_trigger()); that fails with
 * MOM_CONFIG_ERROR_VALUE.
 * Returns: TRUE if @config is usable, else FALSE with @error set.
 */
gboolean mom_config_validate(const MomConfig *config, GError **error);

/**
 * mom_config_dump:
 * Formats every effective value (with MOM's keys of
 * [Collector: GuestQemuAgent], kept in @keyfile), and then the sections
 * kept only in @keyfile, as a config file in MOM's "key: value" format that both MOM
 * and mom_config_load_data() read back to the same config.
 * Returns: (transfer full) the text.
 */
char *mom_config_dump(const MomConfig *config);

/**
 * mom_config_verbosity_to_string:
 * Returns: (transfer none) MOM's name of @verbosity ("debug", "info",
 * "warn", "error", "critical"), or NULL when it is out of range.
 */
const char *mom_config_verbosity_to_string(MomConfigVerbosity verbosity);

/** mom_config_free: Frees @config, its strings, lists and key file. */
void mom_config_free(MomConfig *config);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MomConfig, mom_config_free)
