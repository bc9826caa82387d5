/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * momd: the Memory Overcommitment Manager daemon.
 *
 * One GLib main loop drives everything: the host monitor samples the host
 * every host-monitor-interval, the policy engine evaluates the policies
 * every policy-engine-interval (and once as soon as the first complete
 * host sample exists, and out of band, on a fresh host sample, when the
 * pressure fast path sees acute memory pressure), and the controllers
 * apply each successful evaluation.  SIGHUP reloads the configuration and
 * the policies; SIGINT and SIGTERM stop momd cleanly, after the
 * controllers have put back what they changed.  momd exits non-zero only
 * for a startup error it cannot work around (a bad config file, an
 * unknown collector).
 */
#include "config.h"

#include <errno.h>
#include <sys/mman.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mom-config.h"
#include "mom-engine.h"
#include "mom-guests.h"
#include "mom-malloc.h"
#include "mom-libvirt.h"
#include "mom-log.h"
#include "mom-monitor.h"
#include "mom-notify.h"
#include "momd-priv.h"

#define DEFAULT_CONFIG MOM_SYSCONFDIR "/momd.conf"

static void
override_clear(gpointer p)
{
    g_free(((Override *)p)->value);
}

/* ---- configuration ------------------------------------------------------------ */

static MomConfig *
load_config(Momd *d, GPtrArray *warnings, GError **error)
{
    g_autoptr(GError) local = NULL;
    g_autoptr(MomConfig) cfg = mom_config_load_file(d->config_path, warnings, &local);

    if (!cfg) {
        /* MOM ran on its defaults when its default config file was missing;
         * a file named on the command line must exist. */
        if (!d->config_explicit &&
            g_error_matches(local, MOM_CONFIG_ERROR, MOM_CONFIG_ERROR_NOT_FOUND)) {
            g_ptr_array_add(warnings,
                            g_strdup_printf("The config file %s does not exist; momd uses the "
                                            "built-in defaults.",
                                            d->config_path));
            cfg = mom_config_new_defaults();
        } else {
            g_propagate_error(error, g_steal_pointer(&local));
            return NULL;
        }
    }
    for (guint i = 0; i < d->overrides->len; i++) {
        Override *o = &g_array_index(d->overrides, Override, i);
        if (!mom_config_set_override(cfg, o->section, o->key, o->value, error))
            return NULL;
    }
    if (!mom_config_validate(cfg, error))
        return NULL;
    return g_steal_pointer(&cfg);
}

static gboolean
setup_logging(const MomConfig *cfg, GError **error)
{
    return mom_log_setup(cfg->logging.log, (MomLogLevel)cfg->logging.verbosity,
                         cfg->logging.max_bytes, cfg->logging.backup_count, error);
}

static void
log_warnings(GPtrArray *warnings)
{
    for (guint i = 0; i < warnings->len; i++)
        g_warning("%s", (char *)warnings->pdata[i]);
}

/* Set by the signal handler (see "signals" below) and polled by every
 * policy evaluation, which then stops at once. */
static gint signal_interrupt;

MomPolicyLimits
momd_policy_limits(const Momd *d)
{
    MomPolicyLimits l = {
        .max_depth = (guint)d->config->main.policy_max_depth,
        .max_steps = (guint64)d->config->main.policy_max_steps,
        .max_ms = (guint)d->config->main.policy_max_ms,
        .interrupt = &signal_interrupt,
    };
    return l;
}

static MomAgentOptions
agent_options_of(const MomConfig *cfg)
{
    MomAgentOptions o = {(guint)cfg->agent.timeout, (guint)cfg->agent.max_file_kib};
    return o;
}

/* MOM plots into PLOT-DIR/momplot-NNN, a new directory for every run. */
static char *
make_plot_subdir(const char *plot_dir)
{
    if (!plot_dir || !*plot_dir)
        return NULL;
    if (g_mkdir_with_parents(plot_dir, 0755) < 0) {
        int err = errno;
        g_warning("Cannot create the plot directory %s: %s; nothing is plotted.", plot_dir,
                  g_strerror(err));
        return NULL;
    }
    for (int n = 0; n < 1000; n++) {
        g_autofree char *name = g_strdup_printf("momplot-%03d", n);
        g_autofree char *path = g_build_filename(plot_dir, name, NULL);
        if (mkdir(path, 0755) == 0) {
            g_message("Plotting samples into %s.", path);
            return g_steal_pointer(&path);
        }
        if (errno != EEXIST) {
            int err = errno;
            g_warning("Cannot create the plot directory %s: %s; nothing is plotted.", path,
                      g_strerror(err));
            return NULL;
        }
    }
    g_warning("The plot directory %s already holds momplot-000 to momplot-999; nothing is "
              "plotted.",
              plot_dir);
    return NULL;
}

/* ---- the cycle ------------------------------------------------------------------ */

static void
update_status(Momd *d)
{
    g_autoptr(GPtrArray) names = mom_policy_set_names(mom_engine_policies(d->engine));
    g_autoptr(GDateTime) now = g_date_time_new_now_local();
    g_autofree char *stamp = g_date_time_format(now, "%H:%M:%S");
    g_autofree char *guests = mom_libvirt_connected(d->libvirt)
                                  ? g_strdup_printf("%u guests", mom_guests_count(d->guests))
                                  : g_strdup("libvirt not connected");
    g_autofree char *status = g_strdup_printf(
        "STATUS=%u policies, %u controllers, %s; cycle %" G_GUINT64_FORMAT " at %s %s", names->len,
        mom_engine_n_controllers(d->engine), guests, d->cycles, stamp,
        d->cycles == 0 ? "waiting for the first host sample"
        : d->last_ok   ? "ok"
                       : "failed");
    mom_notify(status);
}

/* The name a guest's decisions are kept under. */
static const char *
history_name(MomEntity *guest)
{
    const MomValue *name = mom_entity_get_prop(guest, "name");

    return name && name->type == MOM_VALUE_STRING ? mom_value_string_get(name)
                                                  : mom_entity_name(guest);
}

/* The cycle's decisions into @history, each guest under its name. */
static void
record_cycle(Momd *d, MomHistory *history, gint64 now, GPtrArray *guests)
{
    mom_history_record(history, d->cycles, now, "host", mom_monitor_entity(d->host));
    for (guint i = 0; i < guests->len; i++)
        mom_history_record(history, d->cycles, now, history_name(guests->pdata[i]),
                           guests->pdata[i]);
}

/* The explanations about to be replaced, let go of before the evaluation
 * makes the new ones: each entity then fills its own again, and momd does
 * not hold two explanations per guest at its peak (2-3 KiB each). */
static void
release_explanations(Momd *d, GPtrArray *guests)
{
    mom_history_release_latest(d->history, "host");
    for (guint i = 0; i < guests->len; i++)
        mom_history_release_latest(d->history, history_name(guests->pdata[i]));
}

/* The cycle's decisions into the history and, with a plot directory,
 * into its decisions.tsv.  The file gets them from a history of this
 * cycle alone, unbounded: the kept history's bounds ([history]) could
 * cut a cycle of many guests short, and what a decision is stays decided
 * in one place (mom_history_record). */
static void
record_history(Momd *d, GPtrArray *guests)
{
    gint64 now = g_get_real_time();

    record_cycle(d, d->history, now, guests);
    if (d->plot) {
        g_autoptr(MomHistory) cycle = mom_history_new(G_MAXUINT, G_MAXUINT);
        mom_history_set_explained(cycle, FALSE); /* the file has no room for them */
        record_cycle(d, cycle, now, guests);
        g_autoptr(GPtrArray) decisions = mom_history_query(cycle, NULL, G_MININT64);
        mom_plot_dir_write_decisions(d->plot, decisions);
    }
}

static void
run_policy(Momd *d)
{
    if (!mom_monitor_ready(d->host)) {
        g_debug("The policy engine skips this cycle: the host has no complete sample.");
        return;
    }
    if (g_atomic_int_get(&signal_interrupt)) {
        g_debug("The policy engine skips this cycle: a signal is about to be handled.");
        return;
    }
    d->cycles++;
    g_autoptr(GPtrArray) guests = mom_guests_entities(d->guests);
    gint64 t0 = g_get_monotonic_time();
    release_explanations(d, guests);
    d->last_ok = mom_engine_run(d->engine, mom_monitor_entity(d->host), guests);
    record_history(d, guests);
    mom_metrics_cycle(d->metrics, &(MomMetricsCycle){
                                      .host = mom_monitor_entity(d->host),
                                      .guests = guests,
                                      .ok = d->last_ok,
                                      .seconds = (double)(g_get_monotonic_time() - t0) / 1e6,
                                  });
    if (d->pressure)
        mom_pressure_cycle_ran(d->pressure);
    g_debug("Policy cycle %" G_GUINT64_FORMAT " %s.", d->cycles,
            d->last_ok ? "succeeded" : "failed");
    update_status(d);
}

/* What the engine tries a policy set on before it installs it: the
 * entities of the next cycle, once the host has a complete sample. */
static gboolean
live_state(gpointer user_data, MomEntity **host, GPtrArray **guests)
{
    Momd *d = user_data;

    if (!mom_monitor_ready(d->host))
        return FALSE;
    *host = mom_monitor_entity(d->host);
    *guests = mom_guests_entities(d->guests);
    return TRUE;
}

static gboolean
first_run(gpointer user_data)
{
    Momd *d = user_data;
    d->first_run_source = 0;
    run_policy(d);
    return G_SOURCE_REMOVE;
}

static gboolean
host_tick(gpointer user_data)
{
    Momd *d = user_data;

    if (mom_monitor_collect(d->host) && d->cycles == 0 && !d->first_run_source) {
        /* The first evaluation does not wait for the engine's interval. */
        d->first_run_source = g_idle_add(first_run, d);
        g_source_set_name_by_id(d->first_run_source, "momd first policy run");
    }
    return G_SOURCE_CONTINUE;
}

static gboolean
engine_tick(gpointer user_data)
{
    run_policy(user_data);
    return G_SOURCE_CONTINUE;
}

static gboolean
guest_tick(gpointer user_data)
{
    Momd *d = user_data;
    mom_guests_tick(d->guests);
    return G_SOURCE_CONTINUE;
}

static gboolean
guest_soon(gpointer user_data)
{
    Momd *d = user_data;
    d->soon_source = 0;
    mom_guests_tick(d->guests);
    return G_SOURCE_REMOVE;
}

/* A guest started or libvirt came back: look at the guests now rather
 * than at the next interval (coalesced, and after a second so that a
 * starting guest has a QEMU to ask). */
static void
collect_guests_soon(Momd *d)
{
    if (!d->soon_source) {
        d->soon_source = g_timeout_add_seconds(1, guest_soon, d);
        g_source_set_name_by_id(d->soon_source, "momd guest discovery");
    }
}

static void
on_connected(gpointer user_data)
{
    collect_guests_soon(user_data);
}

static void
on_lifecycle(const char *uuid, int event, gpointer user_data)
{
    Momd *d = user_data;

    switch (event) {
    case VIR_DOMAIN_EVENT_STOPPED:
    case VIR_DOMAIN_EVENT_SHUTDOWN:
    case VIR_DOMAIN_EVENT_CRASHED:
        mom_guests_forget(d->guests, uuid);
        break;
    case VIR_DOMAIN_EVENT_STARTED:
    case VIR_DOMAIN_EVENT_RESUMED:
    case VIR_DOMAIN_EVENT_DEFINED:
        collect_guests_soon(d);
        break;
    default:
        break;
    }
}

/* The tuning metadata changed: mom-libvirt re-reads it at the next
 * collection; make that one now, so CpuTune follows within a second. */
static void
on_metadata_changed(const char *uuid, gpointer user_data)
{
    collect_guests_soon(user_data);
}

static gboolean
watchdog_tick(gpointer user_data)
{
    mom_notify("WATCHDOG=1");
    return G_SOURCE_CONTINUE;
}

static gboolean
start_engine_timer(gpointer user_data)
{
    Momd *d = user_data;

    d->engine_offset_source = 0;
    d->engine_source =
        g_timeout_add((guint)d->config->main.policy_engine_interval * 1000, engine_tick, d);
    g_source_set_name_by_id(d->engine_source, "momd policy engine");
    return G_SOURCE_REMOVE;
}

static void
arm_timers(Momd *d)
{
    if (d->host_source)
        g_source_remove(d->host_source);
    if (d->engine_source)
        g_source_remove(d->engine_source);
    if (d->guest_source)
        g_source_remove(d->guest_source);
    if (d->manager_source)
        g_source_remove(d->manager_source);
    /* The bulk statistics call lists the running domains too, so the guest
     * manager's reconciliation is the same call on its own interval. */
    d->guest_source =
        g_timeout_add_seconds((guint)d->config->main.guest_monitor_interval, guest_tick, d);
    g_source_set_name_by_id(d->guest_source, "momd guest monitor");
    d->manager_source =
        g_timeout_add_seconds((guint)d->config->main.guest_manager_interval, guest_tick, d);
    g_source_set_name_by_id(d->manager_source, "momd guest manager");
    d->host_source =
        g_timeout_add_seconds((guint)d->config->main.host_monitor_interval, host_tick, d);
    g_source_set_name_by_id(d->host_source, "momd host monitor");
    /* The policy runs half a guest-monitor interval after the guests are
     * sampled, not on the same tick: otherwise it decides from the sample
     * taken while its previous balloon change was still being made (the
     * end-to-end test saw repeated requests and guests wrongly marked
     * uncooperative). */
    if (d->engine_offset_source)
        g_source_remove(d->engine_offset_source);
    d->engine_source = 0;
    d->engine_offset_source =
        g_timeout_add((guint)d->config->main.guest_monitor_interval * 500, start_engine_timer, d);
    g_source_set_name_by_id(d->engine_offset_source, "momd policy engine start");
    mom_monitor_set_interval(d->host, (guint)d->config->main.host_monitor_interval);
}

/* ---- the pressure fast path ------------------------------------------------------ */

/* the MOM_PRESSURE field of the log line, for journalctl MOM_PRESSURE=psi */
static const char *const pressure_reason_names[] = {
    [MOM_PRESSURE_PSI] = "psi",
    [MOM_PRESSURE_AVAILABLE] = "available",
};

static void
pressure_policy_now(Momd *d)
{
    d->pressure_sample = TRUE;
    mom_monitor_collect(d->host);
    d->pressure_sample = FALSE;
    run_policy(d);
}

/* While MemAvailable stays below the floor, a guest whose working set
 * grows must be given memory in seconds, not at the next interval: the
 * guests are asked for fresh statistics and the policy runs every
 * min-interval-ms on what the previous request brought (at most that
 * old), until MemAvailable is back above the floor. */
static gboolean
pressure_cycle(gpointer user_data)
{
    Momd *d = user_data;

    if (!d->pressure || !mom_pressure_below_floor(d->pressure)) {
        g_message("MemAvailable is back above the fast path's floor: the policy runs every %d s "
                  "again.",
                  d->config->main.policy_engine_interval);
        d->pressure_cycle_source = 0;
        return G_SOURCE_REMOVE;
    }
    mom_guests_tick(d->guests);
    pressure_policy_now(d);
    return G_SOURCE_CONTINUE;
}

/* Acute pressure: the policy decides now, from a sample taken now, rather
 * than at the next interval from one up to host-monitor-interval old. */
static void
on_pressure(MomPressureReason reason, const char *why, gpointer user_data)
{
    Momd *d = user_data;

    g_log_structured(G_LOG_DOMAIN, G_LOG_LEVEL_INFO, "MOM_PRESSURE", pressure_reason_names[reason],
                     "MESSAGE", "%s: running the policy now.", why);
    mom_guests_tick(d->guests);
    pressure_policy_now(d);
    if (!d->pressure_cycle_source && mom_pressure_below_floor(d->pressure)) {
        int ms = MAX(d->config->pressure.min_interval_ms, 100);
        g_message("MemAvailable is below the fast path's floor: momd samples the guests and runs "
                  "the policy every %d ms until it is back above.",
                  ms);
        d->pressure_cycle_source = g_timeout_add((guint)ms, pressure_cycle, d);
        g_source_set_name_by_id(d->pressure_cycle_source, "momd pressure cycles");
    }
}

/* (Re)starts the fast path as the current config says. */
static void
start_pressure(Momd *d)
{
    g_clear_handle_id(&d->pressure_cycle_source, g_source_remove);
    g_clear_pointer(&d->pressure, mom_pressure_free);
    if (!d->config->pressure.enabled) {
        g_message("The pressure fast path is off ([pressure] enabled is false): the policy runs "
                  "every %d s only.",
                  d->config->main.policy_engine_interval);
        return;
    }
    d->pressure = mom_pressure_new(d->config->main.proc_root, &d->config->pressure, on_pressure, d);
}

/* ---- metrics -------------------------------------------------------------------- */

/* Makes [metrics] what the config says; on a reload that cannot, the
 * running outputs stay, and so do the counters. */
static gboolean
start_metrics(Momd *d, GError **error)
{
    gboolean was = mom_metrics_active(d->metrics);
    guint port = mom_metrics_port(d->metrics);

    if (!mom_metrics_configure(d->metrics, &d->config->metrics, error))
        return FALSE;
    if (mom_metrics_port(d->metrics) && mom_metrics_port(d->metrics) != port)
        g_message("Metrics are served at /metrics on port %u ([metrics] listen %s).",
                  mom_metrics_port(d->metrics), d->config->metrics.listen);
    if (*d->config->metrics.textfile)
        g_message("Metrics are written to %s after every policy cycle.",
                  d->config->metrics.textfile);
    if (was && !mom_metrics_active(d->metrics))
        g_message("Metrics are no longer served nor written ([metrics] is empty).");
    return TRUE;
}

/* ---- memory --------------------------------------------------------------------- */

/* momd is needed most when the host is out of memory, and that is when the
 * kernel evicts the pages of its code and data: a momd that must page
 * itself back in acts late, or not at all.  Its pages stay in memory
 * (MCL_ONFAULT: only those it touches, so thread stacks and reserved but
 * untouched heap cost nothing). */
static void
lock_memory(Momd *d)
{
    if (!d->config->main.lock_memory) {
        g_info("momd's memory is not locked ([main] lock-memory is false).");
        return;
    }
    if (mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) == 0) {
        g_info("momd's memory is locked: the kernel will not page it out under pressure.");
        return;
    }
    int err = errno;
    g_message("momd cannot lock its memory (%s), so under memory pressure the kernel may page it "
              "out; running as root, or with CAP_IPC_LOCK, allows it.",
              g_strerror(err));
}

/* ---- signals ---------------------------------------------------------------------- */

gboolean
momd_reset_policies(Momd *d)
{
    MomPolicyLimits limits = momd_policy_limits(d);
    return mom_engine_reset(d->engine, d->config->main.policy, d->config->main.policy_dir, &limits);
}

static gboolean
on_quit(gpointer user_data)
{
    Momd *d = user_data;
    g_message("momd is stopping (signal received).");
    mom_notify("STOPPING=1");
    g_main_loop_quit(d->loop);
    return G_SOURCE_CONTINUE;
}

static gboolean
strv_equal(char **a, char **b)
{
    return g_strv_equal((const char *const *)a, (const char *const *)b);
}

static gboolean
on_reload(gpointer user_data)
{
    Momd *d = user_data;
    g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GError) error = NULL;

    /* systemd 253+ wants the monotonic time with RELOADING=1 (Type=notify-reload) */
    g_autofree char *reloading =
        g_strdup_printf("RELOADING=1\nMONOTONIC_USEC=%" G_GINT64_FORMAT, g_get_monotonic_time());
    mom_notify(reloading);
    g_message("Reloading the configuration from %s and the policies (SIGHUP).", d->config_path);
    g_autoptr(MomConfig) cfg = load_config(d, warnings, &error);
    if (!cfg) {
        g_warning("The configuration was not reloaded, the previous one stays active: %s",
                  error->message);
    } else {
        log_warnings(warnings);
        if (!setup_logging(cfg, &error)) {
            g_warning("%s Logging stays as it was.", error->message);
            g_clear_error(&error);
        }
        if (!strv_equal(cfg->host.collectors, d->config->host.collectors) ||
            !strv_equal(cfg->main.controllers, d->config->main.controllers))
            g_message("Changes to [host] collectors and [main] controllers take effect when "
                      "momd restarts.");
        MomConfig *old = d->config;
        d->config = g_steal_pointer(&cfg);
        if (old->main.host_monitor_interval != d->config->main.host_monitor_interval ||
            old->main.policy_engine_interval != d->config->main.policy_engine_interval ||
            old->main.guest_monitor_interval != d->config->main.guest_monitor_interval ||
            old->main.guest_manager_interval != d->config->main.guest_manager_interval)
            arm_timers(d);
        if (old->agent.timeout != d->config->agent.timeout ||
            old->agent.max_file_kib != d->config->agent.max_file_kib) {
            MomAgentOptions agent = agent_options_of(d->config);

            /* the guest manager lives on across reloads: tell its reader */
            if (mom_guests_set_agent_options(d->guests, &agent))
                g_message("GuestQemuAgent now waits up to %d s for each agent command and reads "
                          "guest files of up to %d KiB ([Collector: GuestQemuAgent]).",
                          d->config->agent.timeout, d->config->agent.max_file_kib);
        }
        if (!start_metrics(d, &error)) {
            g_warning("%s The metrics stay as they were.", error->message);
            g_clear_error(&error);
        }
        mom_history_set_bounds(d->history, (guint)d->config->history.max_decisions,
                               (guint)d->config->history.max_age_s);
        if (d->plot)
            mom_plot_dir_set_max_bytes(d->plot, d->config->main.plot_max_bytes);
        mom_config_free(old);
        start_pressure(d);
    }
    MomPolicyLimits limits = momd_policy_limits(d);
    mom_engine_load(d->engine, d->config->main.policy, d->config->main.policy_dir, &limits);
    mom_notify("READY=1");
    update_status(d);
    return G_SOURCE_CONTINUE;
}

/*
 * GLib's g_unix_signal_add() runs its callback from the main loop, so it
 * cannot reach a policy evaluation that holds the loop: a runaway policy
 * kept SIGTERM waiting, and KSM unrestored, for as long as it ran.  A
 * plain handler sets signal_interrupt instead, which every evaluation
 * polls (MomPolicyLimits.interrupt), and wakes the main loop through a
 * pipe; the loop then stops or reloads.
 */
static int signal_pipe[2] = {-1, -1};
static volatile sig_atomic_t signal_quit, signal_reload;

static void
signal_handler(int signo)
{
    int saved = errno;

    if (signo == SIGHUP)
        signal_reload = 1;
    else
        signal_quit = 1;
    g_atomic_int_set(&signal_interrupt, 1);
    if (write(signal_pipe[1], "", 1) < 0) {
        /* full: the main loop has a wake-up coming already */
    }
    errno = saved;
}

static gboolean
on_signal(gint fd, GIOCondition condition, gpointer user_data)
{
    Momd *d = user_data;
    char buf[64];

    while (read(fd, buf, sizeof(buf)) > 0) {
        /* drained: one wake-up is enough for any number of signals */
    }
    /* Cleared before acting: a signal from here on interrupts what the
     * reload evaluates, and is handled at the next wake-up. */
    g_atomic_int_set(&signal_interrupt, 0);
    if (signal_quit) {
        /* a reload asked for at the same time would only delay the stop */
        signal_quit = signal_reload = 0;
        on_quit(d);
    }
    if (signal_reload) {
        signal_reload = 0;
        on_reload(d);
    }
    return G_SOURCE_CONTINUE;
}

/* Blocks (@how SIG_BLOCK) or unblocks the signals momd handles. */
static void
hold_signals(int how)
{
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigprocmask(how, &set, NULL);
}

/* SIGINT and SIGTERM stop momd, SIGHUP reloads, within a second whatever
 * a policy does. */
static gboolean
watch_signals(Momd *d, GError **error)
{
    struct sigaction sa = {.sa_handler = signal_handler, .sa_flags = SA_RESTART};

    if (!g_unix_open_pipe(signal_pipe, FD_CLOEXEC, error) ||
        !g_unix_set_fd_nonblocking(signal_pipe[0], TRUE, error) ||
        !g_unix_set_fd_nonblocking(signal_pipe[1], TRUE, error))
        return FALSE;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    /* what came since run() held them is delivered now, to the handler */
    hold_signals(SIG_UNBLOCK);
    guint id = g_unix_fd_add(signal_pipe[0], G_IO_IN, on_signal, d);
    g_source_set_name_by_id(id, "momd signals");
    return TRUE;
}

/* ---- startup ------------------------------------------------------------------------ */

static gboolean
daemonize(GError **error)
{
    pid_t pid = fork();

    if (pid < 0) {
        int err = errno;
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(err), "Cannot fork: %s.",
                    g_strerror(err));
        return FALSE;
    }
    if (pid > 0)
        _exit(0);
    setsid();
    if (chdir("/") < 0) {
        /* nothing holds us in the old directory; carry on */
    }
    int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (fd >= 0) {
        dup2(fd, STDIN_FILENO);
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        if (fd > STDERR_FILENO)
            close(fd);
    }
    return TRUE;
}

/* 0644 whatever the umask, as init scripts and monitors expect to read it. */
static gboolean
write_pid_file(const char *path, GError **error)
{
    FILE *f = mom_log_open_file(path, "the pid file", TRUE, MOM_LOG_PID_FILE_MODE, error);

    if (f == NULL)
        return FALSE;
    fprintf(f, "%d\n", (int)getpid());
    if (fclose(f) != 0) {
        int err = errno;
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(err),
                    "Cannot write the pid file %s: %s.", path, g_strerror(err));
        return FALSE;
    }
    return TRUE;
}

typedef struct {
    char *config;
    char *rules;
    char *policy_dir;
    char *plot_dir;
    char *log;
    char *verbose;
    char *pid_file;
    gboolean daemon;
    gboolean dry_run;
    gboolean dump;
    gboolean version;
} Args;

/* Makes a relative, non-empty *@path absolute against the current directory. */
static void
make_absolute(char **path)
{
    if (*path && **path && !g_path_is_absolute(*path)) {
        char *abs = g_canonicalize_filename(*path, NULL);

        g_free(*path);
        *path = abs;
    }
}

static void
add_override(Momd *d, const char *section, const char *key, const char *value)
{
    if (!value)
        return;
    Override o = {section, key, g_strdup(value)};
    g_array_append_val(d->overrides, o);
}

static int
run(Momd *d, Args *a)
{
    g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GError) error = NULL;

    /* Held until watch_signals() has its handlers: a SIGHUP that comes
     * while momd reads its config would otherwise kill it. */
    hold_signals(SIG_BLOCK);

    /* Until the config says where the log goes: standard error, so that
     * a fatal error in the config has a level there (and under systemd a
     * journal priority) like any other. */
    mom_log_setup("stdio", MOM_LOG_INFO, 0, 0, NULL);
    d->config = load_config(d, warnings, &error);
    if (!d->config) {
        mom_log_fatal("%s momd cannot start.", error->message);
        return EXIT_FAILURE;
    }
    if (a->dump) {
        g_autofree char *text = mom_config_dump(d->config);

        /* the check the docs recommend: it must say what start-up would */
        log_warnings(warnings);
        fputs(text, stdout);
        return EXIT_SUCCESS;
    }
    if (!setup_logging(d->config, &error)) {
        mom_log_fatal("%s momd cannot start.", error->message);
        return EXIT_FAILURE;
    }
    if (a->daemon && !daemonize(&error)) {
        mom_log_fatal("%s momd cannot start.", error->message);
        return EXIT_FAILURE;
    }
    /* Before the slow part of the start: a SIGHUP or SIGTERM sent meanwhile
     * (a reload right after "Loaded N policies", a stop) waits for the main
     * loop instead of killing momd, SIGHUP's default action. */
    d->loop = g_main_loop_new(NULL, FALSE);
    if (!watch_signals(d, &error)) {
        mom_log_fatal("Cannot watch for signals, so momd cannot start: %s", error->message);
        return EXIT_FAILURE;
    }
    if (a->pid_file) {
        if (!write_pid_file(a->pid_file, &error)) {
            mom_log_fatal("Cannot write the pid file %s, so momd cannot start: %s", a->pid_file,
                          error->message);
            return EXIT_FAILURE;
        }
        d->pid_file = g_strdup(a->pid_file);
    }
    g_message("momd %s is starting with the config %s%s.", PACKAGE_VERSION, d->config_path,
              d->config->main.dry_run ? " in dry-run mode (nothing is changed)" : "");
    log_warnings(warnings);

    g_autofree char *plot_subdir = make_plot_subdir(d->config->main.plot_dir);
    if (plot_subdir) {
        d->plot = mom_plot_dir_new(plot_subdir, d->config->main.plot_max_bytes);
        mom_plot_dir_write_decisions(d->plot, NULL); /* the file, with its header */
    }
    MomCollectorConfig ccfg = {
        .proc_root = d->config->main.proc_root,
        .sysfs_root = d->config->main.sysfs_root,
        .interval = (guint)d->config->main.host_monitor_interval,
        .config = d->config->keyfile,
        .pressure_trigger = &d->pressure_sample,
    };
    d->host = mom_monitor_new(MOM_ENTITY_HOST, "host", d->config->host.collectors, &ccfg,
                              (guint)d->config->main.sample_history_length, d->plot, &error);
    if (!d->host) {
        mom_log_fatal("Cannot start the host monitor, so momd cannot start: %s", error->message);
        return EXIT_FAILURE;
    }
    MomEntity *host = mom_monitor_entity(d->host);
    MomValue interval = mom_value_int(d->config->main.host_monitor_interval);
    mom_entity_set_prop(host, "interval", &interval);
    MomLibvirtCallbacks lcb = {
        .connected = on_connected,
        .lifecycle = on_lifecycle,
        .metadata_changed = on_metadata_changed,
    };
    d->libvirt = mom_libvirt_new(d->config->main.libvirt_hypervisor_uri,
                                 d->config->main.libvirt_run_dir, &lcb, d);
    mom_libvirt_set_proc_root(d->libvirt, d->config->main.proc_root);
    MomCollectorConfig gcfg = ccfg;
    gcfg.interval = (guint)d->config->main.guest_monitor_interval;
    d->guests = mom_guests_new(d->libvirt, d->config->guest.collectors, &gcfg,
                               (guint)d->config->main.sample_history_length, d->plot,
                               d->config->main.guest_monitor_interval, &error);
    if (!d->guests) {
        mom_log_fatal("Cannot start the guest manager, so momd cannot start: %s", error->message);
        return EXIT_FAILURE;
    }
    MomAgentOptions agent = agent_options_of(d->config);
    mom_guests_set_agent_options(d->guests, &agent);
    /* as for the controllers, read at start only */
    mom_guests_set_dry_run(d->guests, d->config->main.dry_run);

    d->engine = mom_engine_new();
    mom_engine_set_state_func(d->engine, live_state, d);
    MomControllerConfig kcfg = {
        .sysfs_root = d->config->main.sysfs_root,
        .dry_run = d->config->main.dry_run,
        .hypervisor = mom_libvirt_hypervisor_ops(d->libvirt),
        .keyfile = d->config->keyfile,
    };
    mom_engine_add_controllers(d->engine, d->config->main.controllers, &kcfg);
    MomPolicyLimits limits = momd_policy_limits(d);
    mom_engine_load(d->engine, d->config->main.policy, d->config->main.policy_dir, &limits);

    if (!momd_rpc_start(d, &error)) {
        mom_log_fatal("Cannot start the control API, so momd cannot start: %s", error->message);
        return EXIT_FAILURE;
    }

    d->history = mom_history_new((guint)d->config->history.max_decisions,
                                 (guint)d->config->history.max_age_s);
    /* the history keeps each decision's inputs and debug lines */
    mom_engine_set_explain(d->engine, TRUE);
    d->metrics = mom_metrics_new();
    if (!start_metrics(d, &error)) {
        mom_log_fatal("Cannot start [metrics], so momd cannot start: %s", error->message);
        return EXIT_FAILURE;
    }

    lock_memory(d);
    arm_timers(d);
    start_pressure(d);
    guint64 wd = mom_notify_watchdog_usec();
    if (wd) {
        /* Ping at half the timeout, from the main loop: a wedged loop stops pinging. */
        d->watchdog_source = g_timeout_add((guint)MAX(wd / 2000, 1), watchdog_tick, d);
        g_source_set_name_by_id(d->watchdog_source, "momd watchdog");
    }
    if (d->config->guest.collectors && d->config->guest.collectors[0])
        mom_libvirt_start(d->libvirt);
    else
        g_message("No [guest] collectors are configured: momd manages the host only and does "
                  "not connect to libvirt.");
    host_tick(d); /* the first sample right away, not after one interval */
    mom_notify("READY=1");
    update_status(d);

    g_main_loop_run(d->loop);

    mom_engine_shutdown(d->engine);
    g_message("momd stopped after %" G_GUINT64_FORMAT " policy cycle%s.", d->cycles,
              d->cycles == 1 ? "" : "s");
    return EXIT_SUCCESS;
}

static void
momd_clear(Momd *d)
{
    if (d->pid_file)
        unlink(d->pid_file);
    g_free(d->pid_file);
    if (d->loop)
        g_main_loop_unref(d->loop);
    g_clear_handle_id(&d->pressure_cycle_source, g_source_remove);
    mom_pressure_free(d->pressure);
    mom_rpc_server_free(d->rpc);
    mom_metrics_free(d->metrics);
    mom_history_free(d->history);
    mom_engine_free(d->engine);
    mom_guests_free(d->guests);
    mom_libvirt_free(d->libvirt);
    mom_monitor_free(d->host);
    mom_config_free(d->config);
    g_array_free(d->overrides, TRUE);
    mom_plot_dir_unref(d->plot);
    g_free(d->config_path);
    mom_log_shutdown();
}

int
main(int argc, char **argv)
{
    Args a = {0};
    GOptionEntry entries[] = {
        {"config-file", 'c', 0, G_OPTION_ARG_FILENAME, &a.config,
         "The configuration file (default " DEFAULT_CONFIG ")", "FILE"},
        {"rules-file", 'r', 0, G_OPTION_ARG_FILENAME, &a.rules,
         "Evaluate this single policy file ([main] policy)", "FILE"},
        {"policy-dir", 'P', 0, G_OPTION_ARG_FILENAME, &a.policy_dir,
         "Evaluate the *.policy files of this directory ([main] policy-dir)", "DIR"},
        {"plot-dir", 'p', 0, G_OPTION_ARG_FILENAME, &a.plot_dir,
         "Write sample plots under this directory ([main] plot-dir)", "DIR"},
        {"log", 'l', 0, G_OPTION_ARG_FILENAME, &a.log,
         "Log to stdio, journal, or this file ([logging] log)", "TARGET"},
        {"verbose", 'v', 0, G_OPTION_ARG_STRING, &a.verbose,
         "Verbosity: debug, info, warn, error, critical, or 5..1 ([logging] verbosity)", "LEVEL"},
        {"daemon", 'd', 0, G_OPTION_ARG_NONE, &a.daemon, "Detach and run in the background", NULL},
        {"pid-file", 0, 0, G_OPTION_ARG_FILENAME, &a.pid_file, "Write the process id to FILE",
         "FILE"},
        {"dry-run", 0, 0, G_OPTION_ARG_NONE, &a.dry_run,
         "Log what the controllers would change, change nothing", NULL},
        {"dump-config", 0, 0, G_OPTION_ARG_NONE, &a.dump,
         "Print the effective configuration and exit", NULL},
        {"version", 0, 0, G_OPTION_ARG_NONE, &a.version, "Print the version and exit", NULL},
        {NULL},
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new("- Memory Overcommitment Manager daemon");
    g_autoptr(GError) error = NULL;
    Momd d = {0};
    int rc;

    mom_malloc_setup(); /* before any thread: one malloc arena */
    setlocale(LC_ALL, "");
    setlocale(LC_NUMERIC, "C");
    /* a peer that hangs up (libvirt mid-handshake, an RPC client) must not kill momd */
    signal(SIGPIPE, SIG_IGN);
    g_option_context_set_summary(ctx, "Balances memory between a KVM host and its guests with "
                                      "policies in MOM's language.");
    g_option_context_add_main_entries(ctx, entries, NULL);
    if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
        fprintf(stderr, "momd: %s\nRun 'momd --help' for usage.\n", error->message);
        return 2;
    }
    if (argc > 1) {
        fprintf(stderr, "momd: unexpected argument '%s'.\nRun 'momd --help' for usage.\n", argv[1]);
        return 2;
    }
    if (a.version) {
        printf("momd %s\n", PACKAGE_VERSION);
        return 0;
    }
    /* -d moves to "/" before anything is opened, and SIGHUP opens the
     * config file again: every path given here is taken from where momd
     * was started. */
    make_absolute(&a.config);
    make_absolute(&a.rules);
    make_absolute(&a.policy_dir);
    make_absolute(&a.plot_dir);
    make_absolute(&a.pid_file);
    if (a.log && g_ascii_strcasecmp(a.log, "stdio") != 0 && strcmp(a.log, "journal") != 0 &&
        strcmp(a.log, "journald") != 0)
        make_absolute(&a.log);
    d.started = g_get_real_time();
    d.config_explicit = a.config != NULL;
    d.config_path = a.config ? g_steal_pointer(&a.config) : g_strdup(DEFAULT_CONFIG);
    d.overrides = g_array_new(FALSE, TRUE, sizeof(Override));
    g_array_set_clear_func(d.overrides, override_clear);
    /* -r and -P each replace whichever policy source the file names */
    add_override(&d, "main", "policy", a.rules ? a.rules : a.policy_dir ? "" : NULL);
    add_override(&d, "main", "policy-dir", a.policy_dir ? a.policy_dir : a.rules ? "" : NULL);
    add_override(&d, "main", "plot-dir", a.plot_dir);
    add_override(&d, "logging", "log", a.log);
    add_override(&d, "logging", "verbosity", a.verbose);
    add_override(&d, "main", "dry-run", a.dry_run ? "true" : NULL);

    rc = run(&d, &a);
    momd_clear(&d);
    g_free(a.rules);
    g_free(a.policy_dir);
    g_free(a.plot_dir);
    g_free(a.log);
    g_free(a.verbose);
    g_free(a.pid_file);
    return rc;
}
