/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The config loader.  MOM read its file with Python's ConfigParser, so this
 * reads ConfigParser's dialect: "key: value" or "key = value", '#' and ';'
 * full-line comments, ';' after a blank as an inline comment (Python 2; '#'
 * is never inline), indented lines continuing the previous value, keys
 * lowercased.  A first pass checks each line and rewrites it in GKeyFile
 * form, one output line per input line, so line numbers survive; GKeyFile
 * then holds the file and a table of typed options, as in oomd-conf,
 * converts the values it knows.  The controllers declare their options in
 * tables of their own, which join this one (config_table()), so that an
 * option of theirs needs no line here.
 */
#include "config.h"

#include <stddef.h>
#include <string.h>

#include <glib.h>

#include "mom-agent.h"
#include "mom-collector.h"
#include "mom-config.h"
#include "mom-controller.h"
#include "mom-plot.h"

/* G_DEFINE_QUARK stringifies its first argument: clang-format must not space it */
/* clang-format off */
G_DEFINE_QUARK(mom-config-error-quark, mom_config_error)
/* clang-format on */

typedef enum {
    OPT_INT,       /* int, within [min, max] */
    OPT_INT64,     /* gint64, within [min, max] */
    OPT_BOOL,      /* ConfigParser's getboolean() words */
    OPT_STRING,    /* char *, never NULL */
    OPT_LIST,      /* char **, comma-separated */
    OPT_VERBOSITY, /* MomConfigVerbosity */
    OPT_RPC_PORT,  /* MomConfigRpcPort */
} OptType;

typedef struct {
    const char *group;
    const char *key;
    OptType type;
    const char *def; /* the default, as it would be written in the file */
    gsize offset;    /* in MomConfig, or IN_KEYFILE */
    gint64 min;
    gint64 max;
    gboolean momd; /* a momd addition, unknown to MOM */
} ConfigOption;

#define F(field) offsetof(MomConfig, field)
/* A controller's option: its value is kept in MomConfig.keyfile, where the
 * controller reads it (mom_controller_option_int()). */
#define IN_KEYFILE G_MAXSIZE
#define INTERVAL 1, 86400
#define AGENT_SECTION "Collector: GuestQemuAgent"

/* MOM's options in the order of MOM's _load_config(), then momd's own.
 * The controllers' options are not here: config_table() adds them from
 * the controllers' own tables. */
static const ConfigOption core_options[] = {
    {"main", "main-loop-interval", OPT_INT, "5", F(main.main_loop_interval), INTERVAL, FALSE},
    {"main", "host-monitor-interval", OPT_INT, "5", F(main.host_monitor_interval), INTERVAL, FALSE},
    {"main", "guest-manager-interval", OPT_INT, "5", F(main.guest_manager_interval), INTERVAL,
     FALSE},
    {"main", "hypervisor-interface", OPT_STRING, "libvirt", F(main.hypervisor_interface), 0, 0,
     FALSE},
    {"main", "guest-monitor-interval", OPT_INT, "5", F(main.guest_monitor_interval), INTERVAL,
     FALSE},
    {"main", "policy-engine-interval", OPT_INT, "10", F(main.policy_engine_interval), INTERVAL,
     FALSE},
    {"main", "sample-history-length", OPT_INT, "10", F(main.sample_history_length), 1, 100000,
     FALSE},
    {"main", "libvirt-hypervisor-uri", OPT_STRING, "", F(main.libvirt_hypervisor_uri), 0, 0, FALSE},
    {"main", "controllers", OPT_LIST, "Balloon", F(main.controllers), 0, 0, FALSE},
    {"main", "plot-dir", OPT_STRING, "", F(main.plot_dir), 0, 0, FALSE},
    {"main", "rpc-port", OPT_RPC_PORT, "/run/momd/momd.sock", F(main.rpc_port), -1, 65535, FALSE},
    {"main", "policy", OPT_STRING, "", F(main.policy), 0, 0, FALSE},
    {"main", "policy-dir", OPT_STRING, "", F(main.policy_dir), 0, 0, FALSE},
    {"main", "guest-manager-multi-thread", OPT_BOOL, "true", F(main.guest_manager_multi_thread), 0,
     0, FALSE},
    {"main", "dry-run", OPT_BOOL, "false", F(main.dry_run), 0, 0, TRUE},
    {"main", "lock-memory", OPT_BOOL, "true", F(main.lock_memory), 0, 0, TRUE},
    {"main", "policy-max-steps", OPT_INT64, "10000000", F(main.policy_max_steps), 1,
     G_GINT64_CONSTANT(1000000000000), TRUE},
    {"main", "policy-max-depth", OPT_INT, "1000", F(main.policy_max_depth), 1, 100000, TRUE},
    /* An evaluation blocks the main loop: the default bounds it at a tenth
     * of the default policy-engine-interval. */
    {"main", "policy-max-ms", OPT_INT, "1000", F(main.policy_max_ms), 1, 3600000, TRUE},
    {"main", "rpc-group", OPT_STRING, "", F(main.rpc_group), 0, 0, TRUE},
    {"main", "proc-root", OPT_STRING, "/proc", F(main.proc_root), 0, 0, TRUE},
    {"main", "sysfs-root", OPT_STRING, "/sys", F(main.sysfs_root), 0, 0, TRUE},
    {"main", "libvirt-run-dir", OPT_STRING, "", F(main.libvirt_run_dir), 0, 0, TRUE},
    /* 1 TiB: more is a typo.  Under MOM_PLOT_MIN_MAX_BYTES is refused in
     * mom_config_validate(), which can say why. */
    {"main", "plot-max-bytes", OPT_INT64, G_STRINGIFY(MOM_PLOT_DEFAULT_MAX_BYTES),
     F(main.plot_max_bytes), 0, G_GINT64_CONSTANT(1099511627776), TRUE},
    {"logging", "log", OPT_STRING, "stdio", F(logging.log), 0, 0, FALSE},
    {"logging", "verbosity", OPT_VERBOSITY, "info", F(logging.verbosity), 0, 0, FALSE},
    {"logging", "max-bytes", OPT_INT64, "2097152", F(logging.max_bytes), 0, G_MAXINT64, FALSE},
    {"logging", "backup-count", OPT_INT, "5", F(logging.backup_count), 0, 10000, FALSE},
    {"host", "collectors", OPT_LIST, "HostMemory", F(host.collectors), 0, 0, FALSE},
    {"guest", "collectors", OPT_LIST, "GuestQemuProc, GuestMemory", F(guest.collectors), 0, 0,
     FALSE},
    /* A stuck agent holds one of the reader pool's few threads for the
     * whole timeout, on each of its commands: a minute is already long.  A
     * file is held whole, twice (base64 and decoded), in a reader thread:
     * 64 MiB is far beyond any /proc file worth reading. */
    {AGENT_SECTION, "timeout", OPT_INT, G_STRINGIFY(MOM_AGENT_DEFAULT_TIMEOUT), F(agent.timeout), 1,
     60, TRUE},
    {AGENT_SECTION, "max-file-kib", OPT_INT, G_STRINGIFY(MOM_AGENT_DEFAULT_MAX_FILE_KIB),
     F(agent.max_file_kib), 4, 65536, TRUE},
    /* The fast path (mom-pressure.h).  A floor of 100 % would fire at
     * once; a rate limit under 100 ms would let a storm of events run the
     * policy back to back. */
    {"pressure", "enabled", OPT_BOOL, "true", F(pressure.enabled), 0, 0, TRUE},
    {"pressure", "psi-trigger", OPT_STRING, "some 150000 1000000", F(pressure.psi_trigger), 0, 0,
     TRUE},
    {"pressure", "available-floor-percent", OPT_INT, "10", F(pressure.available_floor_percent), 0,
     99, TRUE},
    {"pressure", "available-drop-mib", OPT_INT, "1024", F(pressure.available_drop_mib), 0, 1048576,
     TRUE},
    {"pressure", "watch-interval-ms", OPT_INT, "250", F(pressure.watch_interval_ms), 0, 60000,
     TRUE},
    {"pressure", "watch-max-interval-ms", OPT_INT, "1000", F(pressure.watch_max_interval_ms), 0,
     60000, TRUE},
    {"pressure", "min-interval-ms", OPT_INT, "1000", F(pressure.min_interval_ms), 100, 3600000,
     TRUE},
    {"metrics", "listen", OPT_STRING, "", F(metrics.listen), 0, 0, TRUE},
    /* a decision is about 200 bytes: a million is 200 MB, a week the most
     * anyone reads back */
    {"history", "max-decisions", OPT_INT, "1000", F(history.max_decisions), 1, 1000000, TRUE},
    {"history", "max-age-s", OPT_INT, "3600", F(history.max_age_s), 1, 604800, TRUE},
    {"metrics", "textfile", OPT_STRING, "", F(metrics.textfile), 0, 0, TRUE},
};

/* The typed sections in dump order: MOM's, then those the controllers
 * declare (config_table()), then momd's own. */
static const char *const mom_sections[] = {"main", "logging", "host", "guest", NULL};
static const char *const momd_sections[] = {"pressure", "metrics", "history", AGENT_SECTION, NULL};

/* MOM's GuestQemuAgent talked to the agent's socket itself and read these;
 * momd goes through libvirt.  They load without a warning, unused, and a
 * dump prints them back. */
static const char *const agent_mom_keys[] = {"socket_path", "socket_name_template", NULL};

/* A parsed value before it is stored; strings and lists are owned. */
typedef struct {
    gint64 i;
    gboolean b;
    char *s;
    char **l;
    MomConfigRpcPort rpc;
} OptValue;

static const struct {
    const char *name;
    MomConfigVerbosity level;
} verbosity_names[] = {
    /* MOM's LogUtils: names and numbers; "warning" is momd's alias. */
    {"debug", MOM_CONFIG_VERBOSITY_DEBUG}, {"5", MOM_CONFIG_VERBOSITY_DEBUG},
    {"info", MOM_CONFIG_VERBOSITY_INFO},   {"4", MOM_CONFIG_VERBOSITY_INFO},
    {"warn", MOM_CONFIG_VERBOSITY_WARN},   {"warning", MOM_CONFIG_VERBOSITY_WARN},
    {"3", MOM_CONFIG_VERBOSITY_WARN},      {"error", MOM_CONFIG_VERBOSITY_ERROR},
    {"2", MOM_CONFIG_VERBOSITY_ERROR},     {"critical", MOM_CONFIG_VERBOSITY_CRITICAL},
    {"1", MOM_CONFIG_VERBOSITY_CRITICAL},
};

/* Every typed option: core_options, then each controller's. */
typedef struct {
    GArray *options;     /* ConfigOption */
    GPtrArray *sections; /* const char *: the typed sections in dump order, NULL-terminated */
} ConfigTable;

static const ConfigOption *
config_find(const ConfigTable *t, const char *group, const char *key)
{
    for (guint i = 0; i < t->options->len; i++) {
        const ConfigOption *opt = &g_array_index(t->options, ConfigOption, i);

        if (strcmp(opt->group, group) == 0 && strcmp(opt->key, key) == 0)
            return opt;
    }
    return NULL;
}

static void
config_add_section(ConfigTable *t, const char *section)
{
    if (!g_ptr_array_find_with_equal_func(t->sections, section, g_str_equal, NULL))
        g_ptr_array_add(t->sections, (gpointer)section);
}

/* A controller option as a row of the table, checked as the table's own
 * rows are.  Its default is formatted once, for the messages and the dump. */
static void
config_add_controller_option(ConfigTable *t, const MomControllerClass *klass,
                             const MomControllerOption *o)
{
    gboolean is_bool = o->type == MOM_CONTROLLER_OPTION_BOOL;
    g_autofree char *lower = g_ascii_strdown(o->key, -1);
    ConfigOption row = {
        o->section,
        o->key,
        is_bool ? OPT_BOOL : OPT_INT64,
        is_bool ? (o->def ? "true" : "false") : g_strdup_printf("%" G_GINT64_FORMAT, o->def),
        IN_KEYFILE,
        o->min,
        o->max,
        TRUE, /* MOM's controllers read no options */
    };

    /* A clash or an uppercase key (ConfigParser lowercases keys, so it
     * could never be set) is a bug in the controller's table. */
    if (config_find(t, o->section, o->key) != NULL || strcmp(lower, o->key) != 0)
        g_critical("The %s controller's option [%s] %s is taken or not lowercase.", klass->name,
                   o->section, o->key);
    g_array_append_val(t->options, row);
    config_add_section(t, o->section);
}

/* Built once, on first use, and kept for the life of the process: the
 * controllers' tables are static too. */
static const ConfigTable *
config_table(void)
{
    static ConfigTable table;
    static gsize built;

    if (g_once_init_enter(&built)) {
        table.options = g_array_new(FALSE, FALSE, sizeof(ConfigOption));
        table.sections = g_ptr_array_new();
        g_array_append_vals(table.options, core_options, G_N_ELEMENTS(core_options));
        for (const char *const *sec = mom_sections; *sec; sec++)
            config_add_section(&table, *sec);
        for (guint i = 0; mom_controller_classes[i]; i++) {
            const MomControllerClass *klass = mom_controller_classes[i];

            for (const MomControllerOption *o = klass->options; o && o->key; o++)
                config_add_controller_option(&table, klass, o);
        }
        for (const char *const *sec = momd_sections; *sec; sec++)
            config_add_section(&table, *sec);
        g_ptr_array_add(table.sections, NULL);
        g_once_init_leave(&built, 1);
    }
    return &table;
}

static const ConfigOption *
config_lookup(const char *group, const char *key)
{
    return config_find(config_table(), group, key);
}

static const char *const *
config_typed_sections(void)
{
    return (const char *const *)config_table()->sections->pdata;
}

static gboolean
config_is_typed_section(const char *group)
{
    return g_strv_contains(config_typed_sections(), group);
}

/* Sections kept in the key file for their users, unchecked: collector
 * settings (MOM looks up exactly "Collector: " + NAME) and vdsm's [vdsm].
 * [Collector: GuestQemuAgent] is typed as well: its momd options are in
 * the table, MOM's are kept unchecked. */
static gboolean
config_is_free_section(const char *group)
{
    return g_str_has_prefix(group, "Collector: ") || strcmp(group, "vdsm") == 0;
}

/* A key of a typed section that momd accepts without using it. */
static gboolean
config_is_mom_only_key(const char *group, const char *key)
{
    return strcmp(group, AGENT_SECTION) == 0 && g_strv_contains(agent_mom_keys, key);
}

/* ---- values ------------------------------------------------------------ */

static char *
config_expected(const ConfigOption *opt)
{
    switch (opt->type) {
    case OPT_INT:
    case OPT_INT64:
        return g_strdup_printf("an integer between %" G_GINT64_FORMAT " and %" G_GINT64_FORMAT,
                               opt->min, opt->max);
    case OPT_BOOL:
        return g_strdup("a boolean (1, yes, true, on, 0, no, false or off)");
    case OPT_VERBOSITY:
        return g_strdup("a log level (debug, info, warn, error or critical, or 5 to 1)");
    case OPT_RPC_PORT:
        return g_strdup_printf("a port number between %" G_GINT64_FORMAT " and %" G_GINT64_FORMAT
                               " or the absolute path of a UNIX socket",
                               opt->min, opt->max);
    case OPT_STRING:
    case OPT_LIST:
        break;
    }
    return g_strdup("a string");
}

static char **
config_split_list(const char *text)
{
    g_auto(GStrv) items = g_strsplit(text, ",", -1);
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(g_free);

    for (char **p = items; *p; p++) {
        /* Items may be spread over continuation lines: trim newlines too. */
        char *item = g_strstrip(*p);

        if (*item != '\0')
            g_ptr_array_add(out, g_strdup(item));
    }
    g_ptr_array_add(out, NULL);
    return (char **)g_ptr_array_free(g_steal_pointer(&out), FALSE);
}

/* Converts @text for @opt into @out; FALSE if it does not fit.  @text is
 * already stripped, as ConfigParser strips values. */
static gboolean
config_parse_value(const ConfigOption *opt, const char *text, OptValue *out)
{
    memset(out, 0, sizeof(*out));
    switch (opt->type) {
    case OPT_INT:
    case OPT_INT64:
        return g_ascii_string_to_signed(text, 10, opt->min, opt->max, &out->i, NULL);
    case OPT_BOOL: {
        static const char *const yes[] = {"1", "yes", "true", "on"};
        static const char *const no[] = {"0", "no", "false", "off"};

        for (gsize i = 0; i < G_N_ELEMENTS(yes); i++) {
            if (g_ascii_strcasecmp(text, yes[i]) == 0) {
                out->b = TRUE;
                return TRUE;
            }
            if (g_ascii_strcasecmp(text, no[i]) == 0) {
                out->b = FALSE;
                return TRUE;
            }
        }
        return FALSE;
    }
    case OPT_VERBOSITY:
        for (gsize i = 0; i < G_N_ELEMENTS(verbosity_names); i++) {
            if (g_ascii_strcasecmp(text, verbosity_names[i].name) == 0) {
                out->i = verbosity_names[i].level;
                return TRUE;
            }
        }
        return FALSE;
    case OPT_RPC_PORT:
        /* MOM tries getint() first and takes anything else as a socket
         * path; momd asks for an absolute path so a typo is not a socket. */
        if (g_ascii_string_to_signed(text, 10, opt->min, opt->max, &out->i, NULL)) {
            out->rpc.port = (int)out->i;
            return TRUE;
        }
        if (text[0] == '/' && strchr(text, '\n') == NULL) {
            out->rpc.port = -1;
            out->rpc.socket_path = g_strdup(text);
            return TRUE;
        }
        return FALSE;
    case OPT_STRING:
        out->s = g_strdup(text);
        return TRUE;
    case OPT_LIST:
        out->l = config_split_list(text);
        return TRUE;
    }
    g_return_val_if_reached(FALSE);
}

/* Moves @v into @config's field for @opt, freeing the previous value. */
static void
config_store(MomConfig *config, const ConfigOption *opt, OptValue *v)
{
    gpointer field;

    if (opt->offset == IN_KEYFILE) {
        /* Written back in the form GKeyFile's readers take, which is
         * what the controller reads it with. */
        if (opt->type == OPT_BOOL)
            g_key_file_set_boolean(config->keyfile, opt->group, opt->key, v->b);
        else
            g_key_file_set_int64(config->keyfile, opt->group, opt->key, v->i);
        return;
    }
    field = G_STRUCT_MEMBER_P(config, opt->offset);
    switch (opt->type) {
    case OPT_INT:
    case OPT_VERBOSITY:
        *(int *)field = (int)v->i;
        break;
    case OPT_INT64:
        *(gint64 *)field = v->i;
        break;
    case OPT_BOOL:
        *(gboolean *)field = v->b;
        break;
    case OPT_STRING:
        g_free(*(char **)field);
        *(char **)field = g_steal_pointer(&v->s);
        break;
    case OPT_LIST:
        g_strfreev(*(char ***)field);
        *(char ***)field = g_steal_pointer(&v->l);
        break;
    case OPT_RPC_PORT: {
        MomConfigRpcPort *rpc = field;

        g_free(rpc->socket_path);
        rpc->port = v->rpc.port;
        rpc->socket_path = g_steal_pointer(&v->rpc.socket_path);
        break;
    }
    }
}

/* Formats @opt's current value as it would be written in a file. */
static char *
config_format_value(const MomConfig *config, const ConfigOption *opt)
{
    gconstpointer field;

    if (opt->offset == IN_KEYFILE) {
        /* config_store() wrote it in the canonical form already */
        char *value = g_key_file_get_value(config->keyfile, opt->group, opt->key, NULL);

        return value != NULL ? value : g_strdup(opt->def);
    }
    field = G_STRUCT_MEMBER_P(config, opt->offset);
    switch (opt->type) {
    case OPT_INT:
        return g_strdup_printf("%d", *(const int *)field);
    case OPT_INT64:
        return g_strdup_printf("%" G_GINT64_FORMAT, *(const gint64 *)field);
    case OPT_BOOL:
        return g_strdup(*(const gboolean *)field ? "true" : "false");
    case OPT_VERBOSITY:
        return g_strdup(mom_config_verbosity_to_string(*(const int *)field));
    case OPT_STRING:
        return g_strdup(*(char *const *)field);
    case OPT_LIST:
        return g_strjoinv(", ", *(char **const *)field);
    case OPT_RPC_PORT: {
        const MomConfigRpcPort *rpc = field;

        if (rpc->socket_path != NULL)
            return g_strdup(rpc->socket_path);
        return g_strdup_printf("%d", rpc->port);
    }
    }
    g_return_val_if_reached(NULL);
}

/* Parses and stores @text, or sets "WHERE: [group] key: expected ..." */
static gboolean
config_apply(MomConfig *config, const ConfigOption *opt, const char *text, const char *where,
             GError **error)
{
    OptValue v;

    if (!config_parse_value(opt, text, &v)) {
        g_autofree char *expected = config_expected(opt);

        g_set_error(error, MOM_CONFIG_ERROR, MOM_CONFIG_ERROR_VALUE,
                    "%s: [%s] %s: expected %s, got '%s'.", where, opt->group, opt->key, expected,
                    text);
        return FALSE;
    }
    config_store(config, opt, &v);
    return TRUE;
}

/* ---- the ConfigParser dialect ------------------------------------------ */

typedef struct {
    int line;         /* 1-based */
    char *group;      /* section the key is in */
    char *key;        /* lowercased */
    GString *value;   /* stripped; continuation lines joined with '\n' */
    gboolean dropped; /* set again later: the last one wins */
} KeyLine;

static void
key_line_free(KeyLine *k)
{
    g_free(k->group);
    g_free(k->key);
    g_string_free(k->value, TRUE);
    g_free(k);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KeyLine, key_line_free)

typedef struct {
    const char *origin;
    GPtrArray *keys;          /* KeyLine, in file order */
    GHashTable *section_line; /* group -> first header line (GINT_TO_POINTER) */
    GPtrArray *sections;      /* groups in order of first appearance (owned by section_line) */
    GPtrArray *out;           /* char *: line N-1 in GKeyFile syntax, NULL for an empty line */
    GArray *warnings;         /* Warning, sorted by line at the end */
} ParseState;

typedef struct {
    int line;
    guint seq; /* keeps warnings of one line in the order they were made */
    char *msg;
} Warning;

static void
warning_clear(Warning *w)
{
    g_free(w->msg);
}

static gint
warning_cmp(gconstpointer a, gconstpointer b)
{
    const Warning *wa = a, *wb = b;

    if (wa->line != wb->line)
        return wa->line < wb->line ? -1 : 1;
    return wa->seq < wb->seq ? -1 : wa->seq > wb->seq;
}

static void config_warn(ParseState *ps, int line, const char *format, ...) G_GNUC_PRINTF(3, 4);

/* Adds "ORIGIN:LINE: " and the message to the warnings. */
static void
config_warn(ParseState *ps, int line, const char *format, ...)
{
    Warning w = {line, ps->warnings->len, NULL};
    g_autofree char *msg = NULL;
    va_list ap;

    va_start(ap, format);
    msg = g_strdup_vprintf(format, ap);
    va_end(ap);
    w.msg = g_strdup_printf("%s:%d: %s", ps->origin, line, msg);
    g_array_append_val(ps->warnings, w);
}

/* ConfigParser (Python 2) ends a value at a ';' preceded by whitespace. */
static void
strip_inline_comment(char *value)
{
    for (char *p = value; *p; p++) {
        if (*p == ';' && p > value && g_ascii_isspace(p[-1])) {
            *p = '\0';
            break;
        }
    }
    g_strchomp(value);
}

/* Escapes @value so g_key_file_get_string() gives it back unchanged. */
static void
append_escaped(GString *out, const char *value)
{
    for (const char *p = value; *p; p++) {
        if (*p == '\\')
            g_string_append(out, "\\\\");
        else if (*p == '\n')
            g_string_append(out, "\\n");
        else
            g_string_append_c(out, *p);
    }
}

/*
 * First pass: checks every line and records sections and keys.  Lines are
 * split on '\n' (a '\r' before it is dropped), so the Nth element is line N.
 */
static gboolean
config_scan(ParseState *ps, char **lines, GError **error)
{
    g_autofree char *group = NULL;
    KeyLine *current = NULL; /* the key a continuation line extends */

    for (int i = 0; lines[i] != NULL; i++) {
        int lineno = i + 1;
        char *raw = lines[i];
        gsize len = strlen(raw);

        if (len > 0 && raw[len - 1] == '\r')
            raw[len - 1] = '\0';
        if (!g_utf8_validate(raw, -1, NULL)) {
            g_set_error(error, MOM_CONFIG_ERROR, MOM_CONFIG_ERROR_SYNTAX,
                        "%s:%d: the line is not valid UTF-8.", ps->origin, lineno);
            return FALSE;
        }

        g_autofree char *line = g_strstrip(g_strdup(raw));

        /* Blank and comment lines do not end a value: ConfigParser goes on
         * appending indented lines after them. */
        if (*line == '\0' || *line == '#' || *line == ';')
            continue;

        if (g_ascii_isspace(raw[0]) && current != NULL) {
            g_string_append_c(current->value, '\n');
            g_string_append(current->value, line);
            continue;
        }

        if (*line == '[') {
            char *close = strchr(line, ']');

            if (close == NULL) {
                g_set_error(error, MOM_CONFIG_ERROR, MOM_CONFIG_ERROR_SYNTAX,
                            "%s:%d: the section header '%s' has no closing ']'.", ps->origin,
                            lineno, line);
                return FALSE;
            }
            /* Text after the ']' is ignored, as ConfigParser does. */
            *close = '\0';
            if (line[1] == '\0' || strchr(line + 1, '[') != NULL) {
                g_set_error(error, MOM_CONFIG_ERROR, MOM_CONFIG_ERROR_SYNTAX,
                            "%s:%d: '[%s]' is not a valid section name.", ps->origin, lineno,
                            line + 1);
                return FALSE;
            }
            g_free(group);
            group = g_strdup(line + 1);
            if (!g_hash_table_contains(ps->section_line, group)) {
                char *name = g_strdup(group);

                g_hash_table_insert(ps->section_line, name, GINT_TO_POINTER(lineno));
                g_ptr_array_add(ps->sections, name);
            }
            /* A repeated header switches back to the section; GKeyFile
             * merges the two, as ConfigParser (Python 2) did. */
            ps->out->pdata[i] = g_strdup_printf("[%s]", group);
            current = NULL;
            continue;
        }

        char *sep = strpbrk(line, ":=");

        if (sep == NULL || sep == line) {
            g_set_error(error, MOM_CONFIG_ERROR, MOM_CONFIG_ERROR_SYNTAX,
                        "%s:%d: expected a '[section]' header, a 'key: value' or 'key = value' "
                        "line or a comment, got '%s'.",
                        ps->origin, lineno, line);
            return FALSE;
        }
        if (group == NULL) {
            g_set_error(error, MOM_CONFIG_ERROR, MOM_CONFIG_ERROR_SYNTAX,
                        "%s:%d: '%s' comes before the first [section] header.", ps->origin, lineno,
                        line);
            return FALSE;
        }
        *sep = '\0';
        g_strchomp(line);
        if (strpbrk(line, "[]") != NULL) {
            /* GKeyFile would take "key[xx]" for a translation. */
            g_set_error(error, MOM_CONFIG_ERROR, MOM_CONFIG_ERROR_SYNTAX,
                        "%s:%d: the key '%s' contains '[' or ']', which momd does not accept.",
                        ps->origin, lineno, line);
            return FALSE;
        }

        g_autoptr(KeyLine) k = g_new0(KeyLine, 1);
        char *value = g_strchug(sep + 1);

        strip_inline_comment(value);
        k->line = lineno;
        k->group = g_strdup(group);
        k->key = g_ascii_strdown(line, -1);
        k->value = g_string_new(value);
        current = k;
        g_ptr_array_add(ps->keys, g_steal_pointer(&k));
    }
    return TRUE;
}

/* Marks all but the last setting of each key dropped, with a warning. */
static void
config_drop_duplicates(ParseState *ps)
{
    g_autoptr(GHashTable) last = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

    for (guint i = 0; i < ps->keys->len; i++) {
        KeyLine *k = g_ptr_array_index(ps->keys, i);
        char *id = g_strconcat(k->group, "\n", k->key, NULL);
        KeyLine *prev = g_hash_table_lookup(last, id);

        if (prev != NULL) {
            prev->dropped = TRUE;
            config_warn(ps, k->line,
                        "[%s] %s: set again (previously set on line %d); the last value wins.",
                        k->group, k->key, prev->line);
        }
        g_hash_table_replace(last, id, k);
    }
}

/* Second pass: the key lines in GKeyFile's syntax, then the whole text.
 * Comments, continuation lines and dropped keys become empty lines. */
static char *
config_normalise(ParseState *ps)
{
    GString *text = g_string_new(NULL);

    for (guint i = 0; i < ps->keys->len; i++) {
        KeyLine *k = g_ptr_array_index(ps->keys, i);
        GString *kv;

        if (k->dropped)
            continue;
        kv = g_string_new(k->key);
        g_string_append_c(kv, '=');
        append_escaped(kv, k->value->str);
        ps->out->pdata[k->line - 1] = g_string_free(kv, FALSE);
    }
    for (guint i = 0; i < ps->out->len; i++) {
        const char *l = g_ptr_array_index(ps->out, i);

        if (l != NULL)
            g_string_append(text, l);
        g_string_append_c(text, '\n');
    }
    return g_string_free(text, FALSE);
}

/* ---- MOM's and vdsm's settings that momd does not honour ------------------ */

/* MOM's collectors that momd does not have.  GuestNetworkDaemon asked a
 * daemon inside the guest, over TCP, for exactly GuestMemory's mandatory
 * fields; momd reads those from the virtio balloon driver through libvirt. */
#define NETWORK_DAEMON "GuestNetworkDaemon"

/* [main] hypervisor-interface: MOM also had vdsm's interfaces
 * (vdsmjsonrpcclient, vdsmxmlrpc ...); momd always talks to libvirt. */
static void
compat_hypervisor_interface(ParseState *ps, MomConfig *config, const KeyLine *k)
{
    if (g_ascii_strcasecmp(config->main.hypervisor_interface, "libvirt") == 0)
        return;
    config_warn(ps, k->line,
                "[main] hypervisor-interface: momd has no '%s' interface; it finds and manages "
                "the guests through libvirt at [main] libvirt-hypervisor-uri (libvirt's default "
                "URI when empty) instead.",
                config->main.hypervisor_interface);
}

/* [guest] collectors: GuestNetworkDaemon gives way to GuestMemory, which
 * policies written for it read the same way. */
static void
compat_guest_collectors(ParseState *ps, MomConfig *config, const KeyLine *k)
{
    char **list = config->guest.collectors;
    const char *memory = g_strv_contains((const char *const *)list, "GuestMemory") ? "GuestMemory"
                         : g_strv_contains((const char *const *)list, "GuestMemoryOptional")
                             ? "GuestMemoryOptional"
                             : NULL;
    guint out = 0;

    for (guint i = 0; list[i] != NULL; i++) {
        if (strcmp(list[i], NETWORK_DAEMON) != 0) {
            list[out++] = list[i];
            continue;
        }
        if (memory != NULL) {
            config_warn(ps, k->line,
                        "[guest] collectors: momd has no " NETWORK_DAEMON " collector (MOM's "
                        "daemon inside the guest); it is left out, and %s, also listed, reads "
                        "the same fields from the virtio balloon driver.",
                        memory);
            g_free(list[i]);
            continue;
        }
        config_warn(ps, k->line,
                    "[guest] collectors: momd has no " NETWORK_DAEMON " collector (MOM's daemon "
                    "inside the guest); GuestMemory takes its place and reads the same fields "
                    "from the virtio balloon driver.");
        g_free(list[i]);
        list[out++] = g_strdup("GuestMemory");
        memory = "GuestMemory";
    }
    list[out] = NULL;
}

/* Settings momd reads but does not honour as MOM or vdsm did: each adds
 * one warning that says what momd does instead. */
static const struct {
    const char *group;
    const char *key;
    void (*check)(ParseState *ps, MomConfig *config, const KeyLine *k);
} compat_checks[] = {
    {"main", "hypervisor-interface", compat_hypervisor_interface},
    {"guest", "collectors", compat_guest_collectors},
};

static void
config_check_compat(ParseState *ps, MomConfig *config, const KeyLine *k)
{
    for (gsize i = 0; i < G_N_ELEMENTS(compat_checks); i++) {
        if (strcmp(compat_checks[i].group, k->group) == 0 &&
            strcmp(compat_checks[i].key, k->key) == 0)
            compat_checks[i].check(ps, config, k);
    }
}

/* A section outside the typed table: [vdsm] and collector sections are
 * kept for the dump; each one momd has no use for gets a warning. */
static void
config_check_free_section(ParseState *ps, const char *name, int line)
{
    const char *collector;

    if (strcmp(name, "vdsm") == 0) {
        config_warn(ps, line,
                    "[vdsm]: momd does not connect to vdsm, so this section is ignored; it finds "
                    "and manages the guests through libvirt instead.");
        return;
    }
    if (!g_str_has_prefix(name, "Collector: ")) {
        config_warn(ps, line, "[%s]: unknown section, ignored.", name);
        return;
    }
    collector = name + strlen("Collector: ");
    /* MOM's GuestNetworkDaemon section: its keys are warned one by one. */
    if (strcmp(collector, NETWORK_DAEMON) != 0 && mom_collector_lookup(collector) == NULL)
        config_warn(ps, line, "[%s]: momd has no collector named '%s'; the section is ignored.",
                    name, collector);
}

/* ---- public API -------------------------------------------------------- */

const char *
mom_config_verbosity_to_string(MomConfigVerbosity verbosity)
{
    switch (verbosity) {
    case MOM_CONFIG_VERBOSITY_DEBUG:
        return "debug";
    case MOM_CONFIG_VERBOSITY_INFO:
        return "info";
    case MOM_CONFIG_VERBOSITY_WARN:
        return "warn";
    case MOM_CONFIG_VERBOSITY_ERROR:
        return "error";
    case MOM_CONFIG_VERBOSITY_CRITICAL:
        return "critical";
    }
    return NULL;
}

MomConfig *
mom_config_new_defaults(void)
{
    g_autoptr(MomConfig) config = g_new0(MomConfig, 1);

    config->keyfile = g_key_file_new();
    /* The controllers' options need nothing: a key file without them
     * holds their defaults. */
    for (gsize i = 0; i < G_N_ELEMENTS(core_options); i++) {
        if (!config_apply(config, &core_options[i], core_options[i].def, "default", NULL))
            g_return_val_if_reached(NULL);
    }
    return g_steal_pointer(&config);
}

void
mom_config_free(MomConfig *config)
{
    if (config == NULL)
        return;
    for (gsize i = 0; i < G_N_ELEMENTS(core_options); i++) {
        const ConfigOption *opt = &core_options[i];
        gpointer field = G_STRUCT_MEMBER_P(config, opt->offset);

        if (opt->type == OPT_STRING)
            g_free(*(char **)field);
        else if (opt->type == OPT_LIST)
            g_strfreev(*(char ***)field);
        else if (opt->type == OPT_RPC_PORT)
            g_free(((MomConfigRpcPort *)field)->socket_path);
    }
    g_clear_pointer(&config->keyfile, g_key_file_unref);
    g_free(config);
}

MomConfig *
mom_config_load_data(const char *data, gssize len, const char *origin, GPtrArray *warnings,
                     GError **error)
{
    g_autofree char *copy = NULL;
    g_auto(GStrv) lines = NULL;
    g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func((GDestroyNotify)key_line_free);
    g_autoptr(GHashTable) section_line =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_autoptr(GPtrArray) sections = g_ptr_array_new();
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GArray) found = g_array_new(FALSE, FALSE, sizeof(Warning));
    g_autoptr(MomConfig) config = NULL;
    g_autofree char *text = NULL;
    g_autoptr(GError) kf_error = NULL;
    ParseState ps = {origin, keys, section_line, sections, out, found};

    g_return_val_if_fail(data != NULL, NULL);
    g_return_val_if_fail(origin != NULL, NULL);

    g_array_set_clear_func(found, (GDestroyNotify)warning_clear);
    if (len < 0)
        len = strlen(data);
    if (memchr(data, '\0', len) != NULL) {
        g_set_error(error, MOM_CONFIG_ERROR, MOM_CONFIG_ERROR_SYNTAX,
                    "%s: the file contains a NUL byte; it is not a text file.", origin);
        return NULL;
    }
    copy = g_strndup(data, len);
    lines = g_strsplit(copy, "\n", -1);
    g_ptr_array_set_size(out, g_strv_length(lines));
    if (!config_scan(&ps, lines, error))
        return NULL;
    config_drop_duplicates(&ps);

    config = mom_config_new_defaults();
    text = config_normalise(&ps);
    if (!g_key_file_load_from_data(config->keyfile, text, -1, G_KEY_FILE_NONE, &kf_error)) {
        /* config_scan() should have refused anything GKeyFile refuses. */
        g_set_error(error, MOM_CONFIG_ERROR, MOM_CONFIG_ERROR_SYNTAX, "%s: %s", origin,
                    kf_error->message);
        return NULL;
    }

    for (guint i = 0; i < sections->len; i++) {
        const char *name = g_ptr_array_index(sections, i);

        if (!config_is_typed_section(name))
            config_check_free_section(&ps, name,
                                      GPOINTER_TO_INT(g_hash_table_lookup(section_line, name)));
    }

    for (guint i = 0; i < keys->len; i++) {
        KeyLine *k = g_ptr_array_index(keys, i);
        const ConfigOption *opt;
        g_autofree char *where = NULL;
        g_autofree char *value = NULL;

        if (!k->dropped && strcmp(k->group, "Collector: " NETWORK_DAEMON) == 0)
            config_warn(&ps, k->line,
                        "[%s] %s: momd has no " NETWORK_DAEMON " collector, so the option is "
                        "ignored; GuestMemory reads the guest's memory statistics through libvirt "
                        "instead.",
                        k->group, k->key);
        if (k->dropped || !config_is_typed_section(k->group))
            continue;
        opt = config_lookup(k->group, k->key);
        if (opt == NULL && config_is_mom_only_key(k->group, k->key))
            continue;
        if (opt == NULL) {
            config_warn(&ps, k->line, "[%s] %s: unknown option, ignored.", k->group, k->key);
            continue;
        }
        value = g_key_file_get_string(config->keyfile, k->group, k->key, &kf_error);
        if (value == NULL) {
            g_set_error(error, MOM_CONFIG_ERROR, MOM_CONFIG_ERROR_SYNTAX, "%s:%d: %s", origin,
                        k->line, kf_error->message);
            return NULL;
        }
        if (*value == '\0' && opt->type != OPT_STRING && opt->type != OPT_LIST) {
            /* MOM's own sample configs leave guest-manager-multi-thread
             * empty, which MOM itself could not parse. */
            config_warn(&ps, k->line, "[%s] %s: empty value, the default '%s' is used.", k->group,
                        k->key, opt->def);
            if (opt->offset == IN_KEYFILE)
                g_key_file_remove_key(config->keyfile, k->group, k->key, NULL);
            continue;
        }
        where = g_strdup_printf("%s:%d", origin, k->line);
        if (!config_apply(config, opt, value, where, error))
            return NULL;
        config_check_compat(&ps, config, k);
    }

    if (warnings != NULL) {
        g_array_sort(found, warning_cmp);
        for (guint i = 0; i < found->len; i++)
            g_ptr_array_add(warnings, g_steal_pointer(&g_array_index(found, Warning, i).msg));
    }
    return g_steal_pointer(&config);
}

MomConfig *
mom_config_load_file(const char *path, GPtrArray *warnings, GError **error)
{
    g_autofree char *data = NULL;
    gsize len = 0;
    g_autoptr(GError) io_error = NULL;

    g_return_val_if_fail(path != NULL, NULL);

    if (!g_file_get_contents(path, &data, &len, &io_error)) {
        if (g_error_matches(io_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
            g_set_error(error, MOM_CONFIG_ERROR, MOM_CONFIG_ERROR_NOT_FOUND,
                        "The config file %s does not exist.", path);
        else
            g_set_error(error, MOM_CONFIG_ERROR, MOM_CONFIG_ERROR_IO,
                        "Cannot read the config file %s: %s.", path, io_error->message);
        return NULL;
    }
    return mom_config_load_data(data, len, path, warnings, error);
}

gboolean
mom_config_set_override(MomConfig *config, const char *section, const char *key, const char *value,
                        GError **error)
{
    g_autofree char *lkey = NULL;
    const ConfigOption *opt;

    g_return_val_if_fail(config != NULL, FALSE);
    g_return_val_if_fail(section != NULL && key != NULL && value != NULL, FALSE);

    lkey = g_ascii_strdown(key, -1);
    opt = config_lookup(section, lkey);
    if (opt == NULL && config_is_free_section(section)) {
        g_key_file_set_string(config->keyfile, section, lkey, value);
        return TRUE;
    }
    if (opt == NULL) {
        g_set_error(error, MOM_CONFIG_ERROR, MOM_CONFIG_ERROR_UNKNOWN,
                    "command line: [%s] %s: unknown option.", section, lkey);
        return FALSE;
    }

    g_autofree char *stripped = g_strstrip(g_strdup(value));

    return config_apply(config, opt, stripped, "command line", error);
}

gboolean
mom_config_validate(const MomConfig *config, GError **error)
{
    g_return_val_if_fail(config != NULL, FALSE);

    if (*config->main.policy != '\0' && *config->main.policy_dir != '\0') {
        g_set_error(error, MOM_CONFIG_ERROR, MOM_CONFIG_ERROR_INVALID,
                    "[main] policy ('%s') and [main] policy-dir ('%s') are both set; "
                    "only one of them may be.",
                    config->main.policy, config->main.policy_dir);
        return FALSE;
    }
    if (config->main.plot_max_bytes > 0 && config->main.plot_max_bytes < MOM_PLOT_MIN_MAX_BYTES) {
        g_set_error(error, MOM_CONFIG_ERROR, MOM_CONFIG_ERROR_VALUE,
                    "[main] plot-max-bytes: %" G_GINT64_FORMAT " bytes would hold about one "
                    "sample per plot file; write 0 for no rotation, or at least %d.",
                    config->main.plot_max_bytes, MOM_PLOT_MIN_MAX_BYTES);
        return FALSE;
    }
    if (*config->pressure.psi_trigger != '\0') {
        g_autoptr(GError) local = NULL;
        MomPsiTrigger trigger;

        if (!mom_pressure_parse_trigger(config->pressure.psi_trigger, &trigger, &local)) {
            g_set_error(error, MOM_CONFIG_ERROR, MOM_CONFIG_ERROR_VALUE,
                        "[pressure] psi-trigger: %s", local->message);
            return FALSE;
        }
    }
    return TRUE;
}

/* "key: value", continuation lines indented, "key:" when empty. */
static void
dump_pair(GString *out, const char *key, const char *value)
{
    g_string_append_printf(out, "%s:", key);
    if (*value != '\0') {
        g_autofree char *indented = NULL;
        g_auto(GStrv) parts = g_strsplit(value, "\n", -1);

        indented = g_strjoinv("\n    ", parts);
        g_string_append_printf(out, " %s", indented);
    }
    g_string_append_c(out, '\n');
}

/* The keys of @group in @keyfile, in file order; only those of @only
 * when it is not NULL. */
static void
dump_keyfile_keys(GString *out, GKeyFile *keyfile, const char *group, const char *const *only)
{
    g_auto(GStrv) keys = g_key_file_get_keys(keyfile, group, NULL, NULL);

    for (char **k = keys; k && *k; k++) {
        g_autofree char *value = NULL;

        if (only != NULL && !g_strv_contains(only, *k))
            continue;
        value = g_key_file_get_string(keyfile, group, *k, NULL);
        if (value != NULL)
            dump_pair(out, *k, value);
    }
}

char *
mom_config_dump(const MomConfig *config)
{
    GString *out = g_string_new("# Effective configuration (momd --dump-config)\n");
    const ConfigTable *t = config_table();
    g_auto(GStrv) groups = NULL;

    g_return_val_if_fail(config != NULL, NULL);

    for (const char *const *sec = config_typed_sections(); *sec; sec++) {
        gboolean momd_seen = FALSE;

        g_string_append_printf(out, "\n[%s]\n", *sec);
        if (strcmp(*sec, AGENT_SECTION) == 0)
            dump_keyfile_keys(out, config->keyfile, *sec, agent_mom_keys);
        for (guint i = 0; i < t->options->len; i++) {
            const ConfigOption *opt = &g_array_index(t->options, ConfigOption, i);
            g_autofree char *value = NULL;

            if (strcmp(opt->group, *sec) != 0)
                continue;
            if (opt->momd && !momd_seen) {
                g_string_append(out, "# momd additions (MOM ignores them)\n");
                momd_seen = TRUE;
            }
            value = config_format_value(config, opt);
            dump_pair(out, opt->key, value);
        }
    }

    groups = g_key_file_get_groups(config->keyfile, NULL);
    for (char **g = groups; *g; g++) {
        if (!config_is_free_section(*g) || config_is_typed_section(*g))
            continue;
        g_string_append_printf(out, "\n[%s]\n", *g);
        dump_keyfile_keys(out, config->keyfile, *g, NULL);
    }
    return g_string_free(out, FALSE);
}
