/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The pressure fast path (mom-pressure.h).  The decisions (the trigger's
 * syntax, the MemAvailable watch, the rate limit) are plain functions over
 * plain state, tested in tests/check-pressure.c; the GLib sources around
 * them only read files and pass events on.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <string.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <glib-unix.h>
#include <glib.h>

#include "mom-collector.h"
#include "mom-pressure-priv.h"
#include "mom-pressure.h"

/* G_DEFINE_QUARK stringifies its first argument: clang-format must not space it */
/* clang-format off */
G_DEFINE_QUARK(mom-pressure-error-quark, mom_pressure_error)
/* clang-format on */

/* The kernel's limits on a trigger's window (kernel/sched/psi.c), and the
 * rule for a writer without CAP_SYS_RESOURCE (Linux 6.5+). */
#define PSI_WINDOW_MIN_US 500000
#define PSI_WINDOW_MAX_US 10000000
#define PSI_UNPRIVILEGED_WINDOW_US 2000000

#define KIB_PER_MIB 1024

/* ---- the trigger's syntax ---------------------------------------------------- */

gboolean
mom_pressure_parse_trigger(const char *text, MomPsiTrigger *out, GError **error)
{
    g_auto(GStrv) words = g_strsplit_set(text, " \t", -1);
    const char *w[3];
    guint n = 0;
    guint64 stall, window;

    for (char **p = words; *p; p++) {
        if (**p == '\0')
            continue;
        if (n == G_N_ELEMENTS(w)) {
            n++;
            break;
        }
        w[n++] = *p;
    }
    if (n != 3 || (strcmp(w[0], "some") != 0 && strcmp(w[0], "full") != 0) ||
        !g_ascii_string_to_unsigned(w[1], 10, 0, G_MAXUINT32, &stall, NULL) ||
        !g_ascii_string_to_unsigned(w[2], 10, 0, G_MAXUINT32, &window, NULL)) {
        g_set_error(error, MOM_PRESSURE_ERROR, MOM_PRESSURE_ERROR_TRIGGER,
                    "'%s' is not a PSI trigger: expected 'some' or 'full', then the stall and "
                    "the window in microseconds, such as 'some 150000 1000000'.",
                    text);
        return FALSE;
    }
    if (window < PSI_WINDOW_MIN_US || window > PSI_WINDOW_MAX_US) {
        g_set_error(error, MOM_PRESSURE_ERROR, MOM_PRESSURE_ERROR_TRIGGER,
                    "The PSI trigger '%s' has a window of %" G_GUINT64_FORMAT
                    " µs; the kernel takes %d to %d µs.",
                    text, window, PSI_WINDOW_MIN_US, PSI_WINDOW_MAX_US);
        return FALSE;
    }
    if (stall == 0 || stall > window) {
        g_set_error(error, MOM_PRESSURE_ERROR, MOM_PRESSURE_ERROR_TRIGGER,
                    "The PSI trigger '%s' has a stall of %" G_GUINT64_FORMAT
                    " µs; it must be at least 1 µs and at most the window (%" G_GUINT64_FORMAT
                    " µs).",
                    text, stall, window);
        return FALSE;
    }
    out->full = strcmp(w[0], "full") == 0;
    out->stall_us = stall;
    out->window_us = window;
    return TRUE;
}

/* "150 ms", "1 s", "2.5 s" */
static char *
format_us(guint64 us)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE];

    if (us >= G_USEC_PER_SEC)
        return g_strdup_printf("%s s", g_ascii_dtostr(buf, sizeof(buf), us / 1e6));
    return g_strdup_printf("%s ms", g_ascii_dtostr(buf, sizeof(buf), us / 1e3));
}

char *
mom_pressure_describe_trigger(const MomPsiTrigger *trigger)
{
    g_autofree char *stall = format_us(trigger->stall_us);
    g_autofree char *window = format_us(trigger->window_us);

    return g_strdup_printf("PSI %s %s in %s", trigger->full ? "full" : "some", stall, window);
}

/* ---- the MemAvailable watch -------------------------------------------------- */

void
mom_avail_watch_init(MomAvailWatch *watch, int floor_percent, int drop_mib)
{
    watch->floor_percent = floor_percent;
    watch->drop_kib = (gint64)drop_mib * KIB_PER_MIB;
    watch->baseline_kib = -1;
    watch->last_kib = -1;
    watch->prev_kib = -1;
    watch->below = FALSE;
}

/* The floor line, in KiB of @total_kib. */
static gint64
floor_line_kib(const MomAvailWatch *w, gint64 total_kib)
{
    return total_kib / 100 * w->floor_percent;
}

char *
mom_avail_watch_check(MomAvailWatch *w, gint64 total_kib, gint64 avail_kib)
{
    gint64 floor_kib = floor_line_kib(w, total_kib);
    /* re-armed 1 % of MemTotal above the floor: a hovering value fires once */
    gint64 rearm_kib = total_kib / 100 * (w->floor_percent + 1);
    gint64 baseline = w->baseline_kib;

    w->prev_kib = w->last_kib;
    w->last_kib = avail_kib;
    /* memory that came back and goes again is a fall too */
    if (avail_kib > baseline)
        w->baseline_kib = avail_kib;
    if (w->floor_percent > 0 && w->below && avail_kib >= rearm_kib)
        w->below = FALSE;
    if (w->floor_percent > 0 && !w->below && avail_kib < floor_kib) {
        w->below = TRUE;
        w->baseline_kib = avail_kib;
        return g_strdup_printf("MemAvailable fell to %" G_GINT64_FORMAT
                               " MiB, below the floor of %" G_GINT64_FORMAT
                               " MiB (%d %% of MemTotal)",
                               avail_kib / KIB_PER_MIB, floor_kib / KIB_PER_MIB, w->floor_percent);
    }
    if (w->drop_kib > 0 && baseline >= 0 && baseline - avail_kib >= w->drop_kib) {
        w->baseline_kib = avail_kib;
        return g_strdup_printf("MemAvailable fell by %" G_GINT64_FORMAT " MiB to %" G_GINT64_FORMAT
                               " MiB since the last policy cycle",
                               (baseline - avail_kib) / KIB_PER_MIB, avail_kib / KIB_PER_MIB);
    }
    return NULL;
}

void
mom_avail_watch_cycle_ran(MomAvailWatch *watch)
{
    watch->baseline_kib = watch->last_kib;
}

/* The reach without a drop rule: what the shipped drop (1 GiB) gives. */
#define WATCH_REACH_DEFAULT_KIB (2 * 1024 * KIB_PER_MIB)

gint64
mom_avail_watch_pace_us(const MomAvailWatch *w, gint64 total_kib, gint64 since_us,
                        gint64 interval_us, gint64 max_us)
{
    double reach_kib = (double)(w->drop_kib > 0 ? 2 * w->drop_kib : WATCH_REACH_DEFAULT_KIB);

    if (max_us <= interval_us || w->below || w->last_kib < 0)
        return interval_us;
    /* falling faster than a sixteenth of the reach per interval; in
     * floating point, as below: KiB times µs can overflow 64 bits */
    if (w->prev_kib >= 0 && (double)(w->prev_kib - w->last_kib) * (double)interval_us >
                                reach_kib / 16 * (double)MAX(since_us, 1))
        return interval_us;
    double room_kib = (double)(w->last_kib - floor_line_kib(w, total_kib));
    if (room_kib <= reach_kib)
        return interval_us;
    double pace = (double)interval_us * (room_kib / reach_kib);
    return pace >= (double)max_us ? max_us : (gint64)pace;
}

/* ---- the rate limit ------------------------------------------------------------ */

gint64
mom_pressure_delay_us(gint64 last_us, gint64 now_us, gint64 min_interval_us)
{
    if (last_us == 0 || now_us - last_us >= min_interval_us)
        return 0;
    return last_us + min_interval_us - now_us;
}

/* ---- arming a PSI trigger ------------------------------------------------------- */

int
mom_pressure_psi_open(const char *path, const MomPsiTrigger *trigger, GError **error)
{
    g_autofree char *text =
        g_strdup_printf("%s %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT,
                        trigger->full ? "full" : "some", trigger->stall_us, trigger->window_us);
    struct statfs fs;
    int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    int err;

    if (fd < 0) {
        err = errno;
        g_set_error(error, MOM_PRESSURE_ERROR, MOM_PRESSURE_ERROR_UNAVAILABLE,
                    err == ENOENT ? "%s does not exist: this kernel has no PSI (CONFIG_PSI)."
                    : err == EOPNOTSUPP
                        ? "%s cannot be opened: PSI is disabled (the kernel needs psi=1)."
                        : "%s cannot be opened for writing: %s.",
                    path, g_strerror(err));
        return -1;
    }
    if (fstatfs(fd, &fs) < 0 || fs.f_type != PROC_SUPER_MAGIC) {
        g_set_error(error, MOM_PRESSURE_ERROR, MOM_PRESSURE_ERROR_UNAVAILABLE,
                    "%s is not on procfs (a test tree?), so it cannot signal a PSI trigger.", path);
        close(fd);
        return -1;
    }
    /* The kernel reads the trigger as a C string: without the NUL it
     * would drop the last digit. */
    if (write(fd, text, strlen(text) + 1) < 0) {
        err = errno;
        if (err == EINVAL && trigger->window_us % PSI_UNPRIVILEGED_WINDOW_US != 0)
            g_set_error(error, MOM_PRESSURE_ERROR, MOM_PRESSURE_ERROR_UNAVAILABLE,
                        "The kernel refused the PSI trigger '%s' on %s: %s.  Without "
                        "CAP_SYS_RESOURCE a trigger's window must be a multiple of 2 s, such "
                        "as 'some 300000 2000000'.",
                        text, path, g_strerror(err));
        else if (err == EOPNOTSUPP)
            g_set_error(error, MOM_PRESSURE_ERROR, MOM_PRESSURE_ERROR_UNAVAILABLE,
                        "The kernel refused the PSI trigger '%s' on %s: PSI is disabled (the "
                        "kernel needs psi=1).",
                        text, path);
        else
            g_set_error(error, MOM_PRESSURE_ERROR, MOM_PRESSURE_ERROR_UNAVAILABLE,
                        "The kernel refused the PSI trigger '%s' on %s: %s.", text, path,
                        g_strerror(err));
        close(fd);
        return -1;
    }
    return fd;
}

/* ---- the sources ------------------------------------------------------------------ */

struct _MomPressure {
    MomPressureFunc func;
    gpointer user_data;
    GMainContext *context; /* where func runs: the thread-default context at creation */
    gint64 min_interval_us;
    gint64 last_us; /* monotonic time the last event was passed on; 0: never */
    /* PSI */
    char *psi_path;
    char *psi_what; /* "PSI some 150 ms in 1 s" */
    int psi_fd;
    GSource *psi_source;
    /* MemAvailable, read on a thread of its own (watch_run) */
    char *meminfo_path;
    int meminfo_fd; /* kept open when it is procfs's, else -1 */
    gint64 watch_interval_us;
    gint64 watch_max_us; /* the longest sleep, far from the floor */
    GThread *watch_thread;
    /* the watch thread's alone */
    gboolean watch_failing; /* its failure was logged */
    gint64 watch_read_us;   /* monotonic time of its newest reading; 0: none */
    /* events held back by the rate limit (the main loop's alone) */
    GSource *defer_source;
    MomPressureReason pending_reason; /* the newest's */
    MomReasons pending;
    /* shared by the main loop and the watch thread, under the lock */
    GMutex lock;
    GCond stop_cond;
    gboolean stop;
    MomAvailWatch watch;
    MomReasons watch_reasons; /* events the watch fired, not yet on the main loop */
    GSource *watch_notify;    /* the idle source that carries it there */
};

static void
pressure_pass_on(MomPressure *p)
{
    g_autofree char *why = mom_reasons_take(&p->pending);

    p->last_us = g_get_monotonic_time();
    p->func(p->pending_reason, why, p->user_data);
}

static gboolean
pressure_deferred(gpointer user_data)
{
    MomPressure *p = user_data;

    g_clear_pointer(&p->defer_source, g_source_unref);
    pressure_pass_on(p);
    return G_SOURCE_REMOVE;
}

/* @source, named @name, on the context @p was made on (not the global
 * default: a test or a caller may run the fast path on its own). */
static GSource *
attach(MomPressure *p, GSource *source, GSourceFunc func, const char *name)
{
    g_source_set_callback(source, func, p, NULL);
    g_source_set_name(source, name);
    g_source_attach(source, p->context);
    return source;
}

/* Takes @source (one of attach()'s) off its context and drops it. */
static void
detach(GSource **source)
{
    if (*source) {
        g_source_destroy(*source);
        g_clear_pointer(source, g_source_unref);
    }
}

void
mom_reasons_add(MomReasons *r, char *why)
{
    if (r->n++ == 0) {
        r->first = why;
        return;
    }
    g_free(r->newest);
    r->newest = why;
}

char *
mom_reasons_take(MomReasons *r)
{
    char *out;

    if (r->n <= 1)
        out = g_steal_pointer(&r->first);
    else if (r->n == 2)
        out = g_strdup_printf("%s; then %s", r->first, r->newest);
    else
        out = g_strdup_printf("%s; then %u more, the newest: %s", r->first, r->n - 1, r->newest);
    mom_reasons_clear(r);
    return out;
}

void
mom_reasons_clear(MomReasons *r)
{
    g_clear_pointer(&r->first, g_free);
    g_clear_pointer(&r->newest, g_free);
    r->n = 0;
}

/* Passes an event on now, or at the end of the rate limit's interval,
 * together with those already waiting there. */
static void
pressure_event(MomPressure *p, MomPressureReason reason, char *why)
{
    gint64 delay = mom_pressure_delay_us(p->last_us, g_get_monotonic_time(), p->min_interval_us);

    mom_reasons_add(&p->pending, why);
    p->pending_reason = reason;
    if (p->defer_source)
        return;
    if (delay == 0) {
        pressure_pass_on(p);
        return;
    }
    p->defer_source = attach(p, g_timeout_source_new((guint)((delay + 999) / 1000)),
                             pressure_deferred, "momd pressure rate limit");
}

void
mom_pressure_fire_for_test(MomPressure *pressure, MomPressureReason reason, const char *why)
{
    pressure_event(pressure, reason, g_strdup(why));
}

static void
psi_close(MomPressure *p)
{
    detach(&p->psi_source);
    if (p->psi_fd >= 0)
        close(p->psi_fd);
    p->psi_fd = -1;
}

static gboolean
psi_ready(gint fd, GIOCondition condition, gpointer user_data)
{
    MomPressure *p = user_data;

    if (condition & (G_IO_ERR | G_IO_HUP | G_IO_NVAL)) {
        /* the kernel tore the trigger down: polling on would spin */
        g_warning("The PSI trigger on %s reported an error; the pressure fast path no longer "
                  "watches PSI%s.",
                  p->psi_path, p->watch_thread ? ", only MemAvailable" : "");
        psi_close(p);
        return G_SOURCE_REMOVE;
    }
    if (condition & G_IO_PRI)
        pressure_event(p, MOM_PRESSURE_PSI,
                       g_strdup_printf("Host memory pressure (%s)", p->psi_what));
    return G_SOURCE_CONTINUE;
}

/* /proc/meminfo's size is about 1.5 KiB; a larger one is read the long way. */
#define MEMINFO_BUF 8192

/*
 * Up to four times a second: procfs makes the file's text anew at every
 * read from offset 0, so /proc/meminfo stays open and a tick is one
 * pread() into the stack, not open, read, read, close and a heap buffer.
 * A file elsewhere (a test tree, whose file a test may replace) is opened
 * at every tick.
 */
static gboolean
watch_read(MomPressure *p, gint64 *total, gint64 *avail, GError **error)
{
    char buf[MEMINFO_BUF];

    if (p->meminfo_fd >= 0) {
        ssize_t n = pread(p->meminfo_fd, buf, sizeof(buf), 0);

        if (n > 0 && (gsize)n < sizeof(buf)) {
            buf[n] = '\0';
            return mom_collector_parse_mem_available(p->meminfo_path, buf, total, avail, error);
        }
    }
    return mom_collector_read_mem_available(p->meminfo_path, total, avail, error);
}

/* On the main loop: passes on what the watch thread fired. */
static gboolean
watch_notified(gpointer user_data)
{
    MomPressure *p = user_data;
    char *why;

    g_mutex_lock(&p->lock);
    why = mom_reasons_take(&p->watch_reasons);
    g_clear_pointer(&p->watch_notify, g_source_unref);
    g_mutex_unlock(&p->lock);
    if (why)
        pressure_event(p, MOM_PRESSURE_AVAILABLE, why);
    return G_SOURCE_REMOVE;
}

/* One reading, on the watch thread.  Returns: the µs to sleep until the next. */
static gint64
watch_tick(MomPressure *p)
{
    g_autoptr(GError) error = NULL;
    gint64 total, avail, pace;

    if (!watch_read(p, &total, &avail, &error)) {
        if (!p->watch_failing)
            g_warning("The MemAvailable watch of the pressure fast path cannot read the host's "
                      "memory: %s%s It tries again at every tick.",
                      error->message, mom_collector_full_stop(error->message));
        p->watch_failing = TRUE;
        return p->watch_interval_us;
    }
    if (p->watch_failing)
        g_message("The MemAvailable watch of the pressure fast path reads %s again.",
                  p->meminfo_path);
    p->watch_failing = FALSE;

    g_mutex_lock(&p->lock);
    char *why = mom_avail_watch_check(&p->watch, total, avail);
    if (why) {
        /* joins those the main loop has not taken yet: a floor crossed
         * and then a fall are both said */
        mom_reasons_add(&p->watch_reasons, why);
        if (!p->watch_notify) {
            GSource *idle = g_idle_source_new();
            g_source_set_priority(idle, G_PRIORITY_DEFAULT);
            p->watch_notify = attach(p, idle, watch_notified, "momd MemAvailable watch");
        }
    }
    gint64 now = g_get_monotonic_time();
    pace = mom_avail_watch_pace_us(&p->watch, total, p->watch_read_us ? now - p->watch_read_us : 0,
                                   p->watch_interval_us, p->watch_max_us);
    p->watch_read_us = now;
    g_mutex_unlock(&p->lock);
    return pace;
}

/*
 * The watch's own thread.  Four wake-ups a second on the main loop cost
 * an idle momd more than all of its collections and policy cycles did: the
 * loop prepares, polls and checks every source at each one, about 190 µs
 * a wake-up on a 2-vCPU VM against 140 µs for this thread's sleep and
 * read (docs/performance.md, "Idle cost").  The main loop wakes only when
 * the watch fires; far from the floor the watch also sleeps longer
 * (mom_avail_watch_pace_us).
 */
static gpointer
watch_run(gpointer user_data)
{
    MomPressure *p = user_data;
    gint64 due = g_get_monotonic_time() + p->watch_interval_us;

    g_mutex_lock(&p->lock);
    for (;;) {
        while (!p->stop && g_get_monotonic_time() < due)
            g_cond_wait_until(&p->stop_cond, &p->lock, due);
        if (p->stop)
            break;
        g_mutex_unlock(&p->lock);
        gint64 pace = watch_tick(p);
        due = g_get_monotonic_time() + pace;
        g_mutex_lock(&p->lock);
    }
    g_mutex_unlock(&p->lock);
    return NULL;
}

/* What the MemAvailable watch looks for, for the start-up message. */
static char *
describe_watch(const MomPressureOptions *o)
{
    g_autoptr(GString) s = g_string_new(NULL);

    g_string_append_printf(s, "MemAvailable every %d ms", o->watch_interval_ms);
    if (o->watch_max_interval_ms > o->watch_interval_ms)
        g_string_append_printf(s, ", up to %d ms far from the floor", o->watch_max_interval_ms);
    g_string_append(s, " (");
    if (o->available_floor_percent > 0)
        g_string_append_printf(s, "below %d %% of MemTotal", o->available_floor_percent);
    if (o->available_floor_percent > 0 && o->available_drop_mib > 0)
        g_string_append(s, " or ");
    if (o->available_drop_mib > 0)
        g_string_append_printf(s, "a fall of %d MiB between two policy cycles",
                               o->available_drop_mib);
    g_string_append_c(s, ')');
    return g_string_free(g_steal_pointer(&s), FALSE);
}

MomPressure *
mom_pressure_new(const char *proc_root, const MomPressureOptions *options, MomPressureFunc func,
                 gpointer user_data)
{
    MomPressure *p = g_new0(MomPressure, 1);
    g_autoptr(GError) psi_error = NULL;
    g_autofree char *watch_what = NULL;
    g_autoptr(GError) thread_error = NULL;
    MomPsiTrigger trigger;

    p->func = func;
    p->user_data = user_data;
    p->context = g_main_context_ref_thread_default();
    g_mutex_init(&p->lock);
    g_cond_init(&p->stop_cond);
    p->min_interval_us = (gint64)options->min_interval_ms * 1000;
    p->psi_fd = -1;
    p->psi_path = g_build_filename(proc_root, "pressure", "memory", NULL);
    p->meminfo_path = g_build_filename(proc_root, "meminfo", NULL);

    if (*options->psi_trigger == '\0')
        g_set_error(&psi_error, MOM_PRESSURE_ERROR, MOM_PRESSURE_ERROR_UNAVAILABLE,
                    "[pressure] psi-trigger is empty.");
    else if (mom_pressure_parse_trigger(options->psi_trigger, &trigger, &psi_error))
        p->psi_fd = mom_pressure_psi_open(p->psi_path, &trigger, &psi_error);
    if (p->psi_fd >= 0) {
        p->psi_what = mom_pressure_describe_trigger(&trigger);
        p->psi_source = attach(p, g_unix_fd_source_new(p->psi_fd, G_IO_PRI | G_IO_ERR),
                               G_SOURCE_FUNC(psi_ready), "momd PSI trigger");
    }

    mom_avail_watch_init(&p->watch, options->available_floor_percent, options->available_drop_mib);
    p->meminfo_fd = -1;
    /* without a floor and a drop nothing could fire: no thread to wake */
    gboolean watch_rules = options->available_floor_percent > 0 || options->available_drop_mib > 0;
    if (options->watch_interval_ms > 0 && watch_rules) {
        struct statfs fs;
        int fd = open(p->meminfo_path, O_RDONLY | O_CLOEXEC);

        if (fd >= 0 && fstatfs(fd, &fs) == 0 && fs.f_type == PROC_SUPER_MAGIC)
            p->meminfo_fd = fd;
        else if (fd >= 0)
            close(fd);
        watch_what = describe_watch(options);
        p->watch_interval_us = (gint64)options->watch_interval_ms * 1000;
        p->watch_max_us = (gint64)options->watch_max_interval_ms * 1000;
        p->watch_thread = g_thread_try_new("momd-watch", watch_run, p, &thread_error);
        if (!p->watch_thread) {
            /* a reload under a thread limit (pids.max, RLIMIT_NPROC) must not stop momd */
            g_warning("The MemAvailable watch of the pressure fast path cannot start its thread: "
                      "%s%s The fast path runs without it.",
                      thread_error->message, mom_collector_full_stop(thread_error->message));
            g_clear_pointer(&watch_what, g_free);
        }
    }

    const char *no_watch =
        options->watch_interval_ms <= 0 ? "[pressure] watch-interval-ms is 0"
        : !watch_rules ? "[pressure] available-floor-percent and available-drop-mib are both 0"
                       : "the MemAvailable watch could not start";
    if (p->psi_fd >= 0 && watch_what)
        g_message("The pressure fast path watches %s on %s and %s; it runs the policy at most "
                  "once every %d ms.",
                  p->psi_what, p->psi_path, watch_what, options->min_interval_ms);
    else if (p->psi_fd >= 0)
        g_message("The pressure fast path watches %s on %s (%s); it runs the policy at most once "
                  "every %d ms.",
                  p->psi_what, p->psi_path, no_watch, options->min_interval_ms);
    else if (watch_what)
        g_message("The pressure fast path watches %s; it runs the policy at most once every %d "
                  "ms.  It does not use PSI: %s",
                  watch_what, options->min_interval_ms, psi_error->message);
    else
        g_warning("The pressure fast path watches nothing: %s, and PSI cannot be used: %s",
                  no_watch, psi_error->message);
    return p;
}

void
mom_pressure_free(MomPressure *p)
{
    if (!p)
        return;
    psi_close(p);
    if (p->watch_thread) {
        g_mutex_lock(&p->lock);
        p->stop = TRUE;
        g_cond_signal(&p->stop_cond);
        g_mutex_unlock(&p->lock);
        g_thread_join(p->watch_thread);
    }
    /* the thread is gone: nothing attaches a source any more */
    detach(&p->watch_notify);
    mom_reasons_clear(&p->watch_reasons);
    if (p->meminfo_fd >= 0)
        close(p->meminfo_fd);
    detach(&p->defer_source);
    mom_reasons_clear(&p->pending);
    g_free(p->psi_path);
    g_free(p->psi_what);
    g_free(p->meminfo_path);
    g_main_context_unref(p->context);
    g_mutex_clear(&p->lock);
    g_cond_clear(&p->stop_cond);
    g_free(p);
}

void
mom_pressure_cycle_ran(MomPressure *pressure)
{
    g_mutex_lock(&pressure->lock);
    mom_avail_watch_cycle_ran(&pressure->watch);
    g_mutex_unlock(&pressure->lock);
}

gboolean
mom_pressure_psi_armed(const MomPressure *pressure)
{
    return pressure->psi_fd >= 0;
}

gboolean
mom_pressure_below_floor(MomPressure *pressure)
{
    g_mutex_lock(&pressure->lock);
    gboolean below = pressure->watch_thread && pressure->watch.below;
    g_mutex_unlock(&pressure->lock);
    return below;
}
