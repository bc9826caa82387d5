/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The pressure fast path (src/momd/mom-pressure.c): the PSI trigger's syntax,
 * the MemAvailable watch's decisions, the rate limit, the fallback when a
 * PSI trigger cannot be armed (a test tree's file is not procfs), and the
 * sources on a real main loop over a fixture /proc whose meminfo the test
 * rewrites.  The kernel's POLLPRI itself cannot be faked: test-daemon-
 * pressure.sh arms a real trigger where it can.  The [pressure] section of
 * the config is here too, as its one rule lives in mom-pressure.c.
 */
#include "config.h"

#include <check.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>

#include "mom-config.h"
#include "mom-pressure-priv.h"
#include "mom-test-fs.h"
#include "mom-test-log.h"

#define MIB 1024           /* KiB */
#define GIB 1048576        /* KiB */
#define TOTAL_KIB 16384000 /* the normal fixture's MemTotal */

static void
setup(void)
{
    mom_test_log_capture();
}

static void
teardown(void)
{
    mom_test_log_release();
}

/* ---- the trigger's syntax ------------------------------------------------------- */

START_TEST(test_parse_trigger)
{
    static const struct {
        const char *text;
        gboolean full;
        guint64 stall, window;
    } good[] = {
        {"some 150000 1000000", FALSE, 150000, 1000000},
        {"full 1 500000", TRUE, 1, 500000},
        {"  some\t300000   2000000 ", FALSE, 300000, 2000000},
        {"some 10000000 10000000", FALSE, 10000000, 10000000},
    };
    static const struct {
        const char *text;
        const char *message;
    } bad[] = {
        {"", "'' is not a PSI trigger: expected 'some' or 'full'"},
        {"some", "'some' is not a PSI trigger"},
        {"some 1 2 3", "'some 1 2 3' is not a PSI trigger"},
        {"half 150000 1000000", "'half 150000 1000000' is not a PSI trigger"},
        {"some -1 1000000", "'some -1 1000000' is not a PSI trigger"},
        {"some 150ms 1s", "'some 150ms 1s' is not a PSI trigger"},
        {"some 150000 400000",
         "The PSI trigger 'some 150000 400000' has a window of 400000 µs; the kernel takes 500000 "
         "to 10000000 µs."},
        {"some 150000 10000001", "has a window of 10000001 µs"},
        {"some 0 1000000",
         "The PSI trigger 'some 0 1000000' has a stall of 0 µs; it must be at least 1 µs and at "
         "most the window (1000000 µs)."},
        {"full 2000000 1000000", "has a stall of 2000000 µs"},
    };

    for (gsize i = 0; i < G_N_ELEMENTS(good); i++) {
        g_autoptr(GError) error = NULL;
        MomPsiTrigger t = {0};

        ck_assert_msg(mom_pressure_parse_trigger(good[i].text, &t, &error), "%s: %s", good[i].text,
                      error ? error->message : "?");
        ck_assert_int_eq(t.full, good[i].full);
        ck_assert_uint_eq(t.stall_us, good[i].stall);
        ck_assert_uint_eq(t.window_us, good[i].window);
    }
    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) error = NULL;
        MomPsiTrigger t = {0};

        ck_assert_msg(!mom_pressure_parse_trigger(bad[i].text, &t, &error), "'%s' passed",
                      bad[i].text);
        ck_assert(g_error_matches(error, MOM_PRESSURE_ERROR, MOM_PRESSURE_ERROR_TRIGGER));
        ck_assert_msg(strstr(error->message, bad[i].message), "'%s': got \"%s\"", bad[i].text,
                      error->message);
    }
}
END_TEST

START_TEST(test_describe_trigger)
{
    MomPsiTrigger a = {FALSE, 150000, 1000000};
    MomPsiTrigger b = {TRUE, 1500, 2500000};
    g_autofree char *da = mom_pressure_describe_trigger(&a);
    g_autofree char *db = mom_pressure_describe_trigger(&b);

    ck_assert_str_eq(da, "PSI some 150 ms in 1 s");
    ck_assert_str_eq(db, "PSI full 1.5 ms in 2.5 s");
}
END_TEST

/* ---- the MemAvailable watch ------------------------------------------------------ */

/* Feeds @avail_kib of TOTAL_KIB; asserts that the watch fires with a
 * message containing @want, or stays quiet when @want is NULL. */
static void
feed(MomAvailWatch *w, gint64 avail_kib, const char *want)
{
    g_autofree char *why = mom_avail_watch_check(w, TOTAL_KIB, avail_kib);

    if (!want) {
        ck_assert_msg(why == NULL, "%" G_GINT64_FORMAT " KiB fired: %s", avail_kib, why);
        return;
    }
    ck_assert_msg(why != NULL, "%" G_GINT64_FORMAT " KiB did not fire", avail_kib);
    ck_assert_msg(strstr(why, want), "got \"%s\", not \"%s\"", why, want);
}

/* The floor (10 % of 16384000 KiB = 1600 MiB) fires once per crossing:
 * a value hovering just above it does not re-arm it, 1 % more does. */
START_TEST(test_watch_floor)
{
    MomAvailWatch w;

    mom_avail_watch_init(&w, 10, 0);
    feed(&w, 8 * GIB, NULL);
    feed(&w, 1700 * MIB, NULL);
    feed(&w, 1500 * MIB,
         "MemAvailable fell to 1500 MiB, below the floor of 1600 MiB (10 % of MemTotal)");
    feed(&w, 1400 * MIB, NULL);
    feed(&w, 1700 * MIB, NULL); /* above the floor, below 11 % (1760 MiB) */
    feed(&w, 1500 * MIB, NULL);
    feed(&w, 1800 * MIB, NULL); /* re-armed */
    feed(&w, 1599 * MIB, "MemAvailable fell to 1599 MiB");

    /* a host that starts below the floor fires at the first reading */
    mom_avail_watch_init(&w, 10, 0);
    feed(&w, 100 * MIB, "MemAvailable fell to 100 MiB");

    /* floor 0: off */
    mom_avail_watch_init(&w, 0, 0);
    feed(&w, 8 * GIB, NULL);
    feed(&w, 0, NULL);
}
END_TEST

/* A drop is measured from the last policy cycle (or event), or the peak
 * since, not from the previous reading: a slow slide fires too. */
START_TEST(test_watch_drop)
{
    MomAvailWatch w;

    mom_avail_watch_init(&w, 0, 1024);
    feed(&w, 8 * GIB, NULL); /* the baseline */
    feed(&w, 8 * GIB - 600 * MIB, NULL);
    feed(&w, 8 * GIB - 1000 * MIB, NULL);
    feed(&w, 8 * GIB - 1024 * MIB,
         "MemAvailable fell by 1024 MiB to 7168 MiB since the last policy cycle");
    /* the baseline moved to 7168 MiB */
    feed(&w, 7168 * MIB - 1000 * MIB, NULL);
    /* a cycle ran: the baseline is the newest reading, 6168 MiB */
    mom_avail_watch_cycle_ran(&w);
    feed(&w, 6168 * MIB - 1023 * MIB, NULL);
    feed(&w, 6168 * MIB - 1100 * MIB, "fell by 1100 MiB to 5068 MiB");
    /* rising memory never fires, and a fall counts from the peak since */
    feed(&w, 12 * GIB, NULL);
    feed(&w, 11 * GIB + 1, NULL);
    feed(&w, 11 * GIB, "fell by 1024 MiB to 11264 MiB");
    /* a cycle at a low point: the fall counts from there or a later peak */
    feed(&w, 10752 * MIB, NULL);
    mom_avail_watch_cycle_ran(&w);
    feed(&w, 9729 * MIB, NULL);
    feed(&w, 9728 * MIB, "fell by 1024 MiB to 9728 MiB");
    feed(&w, 10240 * MIB, NULL);
    feed(&w, 9216 * MIB, "fell by 1024 MiB to 9216 MiB");

    /* a cycle before any reading keeps the first reading as the baseline */
    mom_avail_watch_init(&w, 0, 1024);
    mom_avail_watch_cycle_ran(&w);
    feed(&w, 8 * GIB, NULL);
    feed(&w, 6 * GIB, "fell by 2048 MiB");

    /* both rules: the floor is the more urgent message */
    mom_avail_watch_init(&w, 10, 1024);
    feed(&w, 8 * GIB, NULL);
    feed(&w, 1 * GIB, "below the floor");
    /* drop 0: off */
    mom_avail_watch_init(&w, 0, 0);
    feed(&w, 8 * GIB, NULL);
    feed(&w, 1 * GIB, NULL);
}
END_TEST

/* The pace: the short interval near the floor, below it, while falling
 * fast and without a reading; in proportion to the distance from the
 * floor (the reach is twice the drop) further up, never above the
 * longest.  Readings PACE_GAP apart unless said. */
#define PACE_GAP 1000000
static gint64
pace(const MomAvailWatch *w, gint64 since_us, gint64 longest)
{
    return mom_avail_watch_pace_us(w, TOTAL_KIB, since_us, 250000, longest);
}

START_TEST(test_watch_pace)
{
    const gint64 interval = 250000, longest = 1000000;
    MomAvailWatch w;

    mom_avail_watch_init(&w, 10, 1024); /* floor 1600 MiB, reach 2 GiB */
    ck_assert_int_eq(pace(&w, 0, longest), interval);
    feed(&w, 8 * GIB, NULL);
    /* (8192 - 1600) / 2048 of the interval */
    ck_assert_int_eq(pace(&w, 0, longest), 804687);
    ck_assert_int_eq(pace(&w, 0, 500000), 500000);
    ck_assert_int_eq(pace(&w, 0, interval), interval);
    ck_assert_int_eq(pace(&w, 0, 0), interval);
    /* falling at 512 MiB/s (a sixteenth of the reach per interval) is not
     * yet falling fast ... */
    feed(&w, 8 * GIB - 512 * MIB, NULL);
    ck_assert_int_eq(pace(&w, PACE_GAP, longest), 742187);
    /* ... faster is, whatever the distance, as long as it lasts */
    feed(&w, 8 * GIB - 1025 * MIB, "fell by 1025 MiB");
    ck_assert_int_eq(pace(&w, PACE_GAP, longest), interval);
    feed(&w, 8 * GIB - 1154 * MIB, NULL); /* 129 MiB in a quarter second */
    ck_assert_int_eq(pace(&w, interval, longest), interval);
    feed(&w, 8 * GIB - 1283 * MIB, NULL); /* the same in a second: slow */
    ck_assert_int_gt(pace(&w, PACE_GAP, longest), interval);
    feed(&w, 8 * GIB - 1283 * MIB, NULL);
    ck_assert_int_gt(pace(&w, PACE_GAP, longest), interval);
    /* a gap of 0 (two readings at once) counts as 1 µs, not a division */
    feed(&w, 8 * GIB - 1284 * MIB, NULL);
    ck_assert_int_eq(pace(&w, 0, longest), interval);
    /* within the reach of the floor, and below it */
    feed(&w, 3648 * MIB, "fell by 3519 MiB"); /* 2048 MiB above */
    feed(&w, 3648 * MIB, NULL);
    ck_assert_int_eq(pace(&w, PACE_GAP, longest), interval);
    feed(&w, 3649 * MIB, NULL);
    ck_assert_int_gt(pace(&w, PACE_GAP, longest), interval);
    feed(&w, 1000 * MIB, "below the floor");
    feed(&w, 1000 * MIB, NULL);
    ck_assert_int_eq(pace(&w, PACE_GAP, longest), interval);
    /* back above it but not re-armed: still below */
    feed(&w, 1700 * MIB, NULL);
    ck_assert_int_eq(pace(&w, PACE_GAP, longest), interval);
    /* far up again: the long pace */
    feed(&w, 14 * GIB, NULL);
    ck_assert_int_eq(pace(&w, PACE_GAP, longest), longest);

    /* no drop rule: the reach is 2 GiB; no floor: the distance is to 0 */
    mom_avail_watch_init(&w, 0, 0);
    feed(&w, 3 * GIB, NULL);
    ck_assert_int_eq(pace(&w, 0, longest), 375000);
    /* a floor without a drop rule: 2 GiB above the floor line */
    mom_avail_watch_init(&w, 10, 0);
    feed(&w, 3648 * MIB, NULL);
    ck_assert_int_eq(pace(&w, 0, longest), interval);
    feed(&w, 5696 * MIB, NULL);
    ck_assert_int_eq(pace(&w, PACE_GAP, longest), 2 * interval);
    /* a drop of 4 GiB: the reach is 8 GiB, and fast is 2 GiB/s */
    mom_avail_watch_init(&w, 0, 4096);
    feed(&w, 12 * GIB, NULL);
    ck_assert_int_eq(pace(&w, 0, longest), 375000);
    feed(&w, 11 * GIB, NULL);
    ck_assert_int_gt(pace(&w, PACE_GAP, longest), interval);
    feed(&w, 9 * GIB - 1, NULL);
    ck_assert_int_eq(pace(&w, PACE_GAP, longest), interval);
    /* a host of a petabyte does not overflow */
    mom_avail_watch_init(&w, 10, 1024);
    ck_assert_ptr_null(
        mom_avail_watch_check(&w, G_GINT64_CONSTANT(1) << 40, G_GINT64_CONSTANT(1) << 39));
    ck_assert_int_eq(mom_avail_watch_pace_us(&w, G_GINT64_CONSTANT(1) << 40, 0, interval, longest),
                     longest);
}
END_TEST

START_TEST(test_delay)
{
    const gint64 s = G_USEC_PER_SEC;

    ck_assert_int_eq(mom_pressure_delay_us(0, 5 * s, s), 0); /* nothing passed yet */
    ck_assert_int_eq(mom_pressure_delay_us(5 * s, 5 * s, s), s);
    ck_assert_int_eq(mom_pressure_delay_us(5 * s, 5 * s + 300000, s), 700000);
    ck_assert_int_eq(mom_pressure_delay_us(5 * s, 6 * s, s), 0);
    ck_assert_int_eq(mom_pressure_delay_us(5 * s, 60 * s, s), 0);
}
END_TEST

/* ---- arming a trigger ---------------------------------------------------------- */

/* A test tree's file takes any write and never signals: not armed. */
START_TEST(test_psi_open_fallback)
{
    g_autofree char *dir = g_dir_make_tmp("momd-pressure-XXXXXX", NULL);
    g_autofree char *file = g_build_filename(dir, "pressure", "memory", NULL);
    g_autofree char *missing = g_build_filename(dir, "nothing", "memory", NULL);
    g_autofree char *text = NULL;
    g_autoptr(GError) error = NULL;
    MomPsiTrigger t = {FALSE, 150000, 1000000};

    mom_test_write_file(dir, "pressure/memory", "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
    ck_assert_int_eq(mom_pressure_psi_open(file, &t, &error), -1);
    ck_assert(g_error_matches(error, MOM_PRESSURE_ERROR, MOM_PRESSURE_ERROR_UNAVAILABLE));
    ck_assert_msg(strstr(error->message, "is not on procfs"), "%s", error->message);
    ck_assert_msg(strstr(error->message, file), "%s", error->message);
    /* nothing was written into the file */
    ck_assert(g_file_get_contents(file, &text, NULL, NULL));
    ck_assert_str_eq(text, "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
    g_clear_error(&error);

    ck_assert_int_eq(mom_pressure_psi_open(missing, &t, &error), -1);
    ck_assert(g_error_matches(error, MOM_PRESSURE_ERROR, MOM_PRESSURE_ERROR_UNAVAILABLE));
    ck_assert_msg(strstr(error->message, "does not exist: this kernel has no PSI"), "%s",
                  error->message);
    mom_test_remove_tree(dir);
}
END_TEST

/* ---- the sources on a main loop ------------------------------------------------- */

typedef struct {
    guint fired;
    MomPressureReason reason;
    char *why;
    gint64 at[8]; /* monotonic µs of each call */
} Fired;

static void
on_fire(MomPressureReason reason, const char *why, gpointer user_data)
{
    Fired *f = user_data;

    if (f->fired < G_N_ELEMENTS(f->at))
        f->at[f->fired] = g_get_monotonic_time();
    f->fired++;
    f->reason = reason;
    g_free(f->why);
    f->why = g_strdup(why);
}

/* Runs the default main context until @f has fired @n times or @ms pass. */
static void
run_until(Fired *f, guint n, guint ms)
{
    gint64 end = g_get_monotonic_time() + (gint64)ms * 1000;

    while (f->fired < n && g_get_monotonic_time() < end) {
        if (!g_main_context_iteration(NULL, FALSE))
            g_usleep(2000);
    }
}

static MomPressureOptions
options(int watch_ms, int min_ms)
{
    MomPressureOptions o = {
        .enabled = TRUE,
        .psi_trigger = (char *)"some 150000 1000000",
        .available_floor_percent = 10,
        .available_drop_mib = 1024,
        .watch_interval_ms = watch_ms,
        .min_interval_ms = min_ms,
    };
    return o;
}

static char *
meminfo(gint64 avail_kib)
{
    return g_strdup_printf("MemTotal:       %d kB\nMemFree:         8192000 kB\n"
                           "MemAvailable:   %" G_GINT64_FORMAT " kB\nBuffers:          100000 kB\n"
                           "Cached:          2000000 kB\n",
                           TOTAL_KIB, avail_kib);
}

static char *
fake_proc(gint64 avail_kib)
{
    char *dir = g_dir_make_tmp("momd-pressure-XXXXXX", NULL);
    g_autofree char *text = meminfo(avail_kib);

    mom_test_write_file(dir, "meminfo", text);
    mom_test_write_file(dir, "pressure/memory", "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
    return dir;
}

static void
set_avail(const char *proc, gint64 avail_kib)
{
    g_autofree char *text = meminfo(avail_kib);
    mom_test_write_file(proc, "meminfo", text);
}

/* Quiet for @quiet_ms at @proc's MemAvailable, then MemAvailable falls to
 * 976 MiB: @f must fire once for the floor within a second of the fall. */
static void
assert_floor_seen(Fired *f, const char *proc, guint quiet_ms)
{
    run_until(f, 1, quiet_ms);
    ck_assert_uint_eq(f->fired, 0);
    set_avail(proc, 1000000);
    gint64 t0 = g_get_monotonic_time();
    run_until(f, 1, 3000);
    ck_assert_uint_eq(f->fired, 1);
    ck_assert_int_eq(f->reason, MOM_PRESSURE_AVAILABLE);
    ck_assert_str_eq(
        f->why, "MemAvailable fell to 976 MiB, below the floor of 1600 MiB (10 % of MemTotal)");
    ck_assert_int_lt(f->at[0] - t0, G_USEC_PER_SEC);
}

/* On a test tree PSI falls back, and the MemAvailable watch alone sees the
 * fall below the floor within a few of its ticks; a read failure is
 * logged once, and so is the recovery. */
START_TEST(test_watch_source)
{
    g_autofree char *proc = fake_proc(12000000);
    g_autofree char *meminfo_path = g_build_filename(proc, "meminfo", NULL);
    MomPressureOptions o = options(20, 100);
    Fired f = {0};
    g_autoptr(MomPressure) p = mom_pressure_new(proc, &o, on_fire, &f);

    ck_assert(!mom_pressure_psi_armed(p));
    ck_assert_uint_eq(
        mom_test_log_count("The pressure fast path watches MemAvailable every 20 ms (below "
                           "10 % of MemTotal or a fall of 1024 MiB between two policy "
                           "cycles); it runs the policy at most once every 100 ms.  It "
                           "does not use PSI: "),
        1);
    ck_assert_uint_eq(mom_test_log_count("is not on procfs"), 1);

    assert_floor_seen(&f, proc, 200);

    /* staying low is not news */
    run_until(&f, 2, 200);
    ck_assert_uint_eq(f.fired, 1);

    /* unreadable meminfo: one warning, one recovery message */
    ck_assert_int_eq(g_unlink(meminfo_path), 0);
    run_until(&f, 2, 200);
    ck_assert_uint_eq(mom_test_log_count("cannot read the host's memory"), 1);
    set_avail(proc, 1000000);
    run_until(&f, 2, 200);
    ck_assert_uint_eq(mom_test_log_count("reads"), 1);
    ck_assert_uint_eq(f.fired, 1);

    /* after a policy cycle the drop rule measures from the newest value */
    set_avail(proc, 8 * GIB);
    run_until(&f, 2, 100);
    mom_pressure_cycle_ran(p);
    set_avail(proc, 6 * GIB);
    run_until(&f, 2, 2000);
    ck_assert_uint_eq(f.fired, 2);
    ck_assert_str_eq(f.why,
                     "MemAvailable fell by 2048 MiB to 6144 MiB since the last policy cycle");
    g_free(f.why);
    mom_test_remove_tree(proc);
}
END_TEST

static void
on_fire_free(MomPressureReason reason, const char *why, gpointer user_data)
{
    MomPressure **p = user_data;

    g_clear_pointer(p, mom_pressure_free);
}

/* The watch thread's life: freed with its event still waiting for the
 * main loop (which then never calls back), freed from inside its own
 * callback, freed at once in the middle of a long sleep, and the pace
 * running on the thread. */
START_TEST(test_watch_lifecycle)
{
    g_autofree char *proc = fake_proc(1000000); /* below the floor: fires at once */
    MomPressureOptions o = options(5, 100);
    MomPressure *p;
    gint64 t0;

    for (int i = 0; i < 50; i++) {
        Fired f = {0};
        p = mom_pressure_new(proc, &o, on_fire, &f);
        g_usleep(20000); /* read, fired, waiting on the main loop */
        mom_pressure_free(p);
        while (g_main_context_iteration(NULL, FALSE))
            ;
        ck_assert_uint_eq(f.fired, 0);
    }

    p = mom_pressure_new(proc, &o, on_fire_free, &p);
    t0 = g_get_monotonic_time();
    while (p && g_get_monotonic_time() - t0 < 2 * G_USEC_PER_SEC)
        if (!g_main_context_iteration(NULL, FALSE))
            g_usleep(2000);
    ck_assert_ptr_null(p);

    o.watch_interval_ms = 60000;
    p = mom_pressure_new(proc, &o, on_fire, NULL);
    g_usleep(10000);
    t0 = g_get_monotonic_time();
    mom_pressure_free(p);
    ck_assert_int_lt(g_get_monotonic_time() - t0, G_USEC_PER_SEC);

    /* paced far from the floor (12.7 GiB above it: 6.4 intervals, 128 ms),
     * short near it: a fall to the floor is still seen within a few ticks */
    Fired f = {0};
    set_avail(proc, 15000000);
    o.watch_interval_ms = 20;
    o.watch_max_interval_ms = 400;
    p = mom_pressure_new(proc, &o, on_fire, &f);
    assert_floor_seen(&f, proc, 1000);
    mom_pressure_free(p);
    g_free(f.why);
    mom_test_remove_tree(proc);
}
END_TEST

/* Neither a floor nor a drop: nothing could fire, so no watch runs, and
 * the start-up warning says why. */
START_TEST(test_watch_no_rules)
{
    g_autofree char *proc = fake_proc(1000000);
    MomPressureOptions o = options(20, 100);
    Fired f = {0};

    o.available_floor_percent = 0;
    o.available_drop_mib = 0;
    g_autoptr(MomPressure) p = mom_pressure_new(proc, &o, on_fire, &f);
    ck_assert_uint_eq(mom_test_log_count("The pressure fast path watches nothing: [pressure] "
                                         "available-floor-percent and available-drop-mib are "
                                         "both 0, and PSI cannot be used: "),
                      1);
    run_until(&f, 1, 200);
    ck_assert_uint_eq(f.fired, 0);
    ck_assert(!mom_pressure_below_floor(p));
    mom_test_remove_tree(proc);
}
END_TEST

/* Events closer than min-interval-ms: the first passes at once, the rest
 * merge into one at the end of the interval, with the newest kind, their
 * first reason and their newest. */
START_TEST(test_rate_limit)
{
    g_autofree char *proc = fake_proc(12000000);
    MomPressureOptions o = options(0, 300);
    Fired f = {0};
    g_autoptr(MomPressure) p = mom_pressure_new(proc, &o, on_fire, &f);

    /* neither watcher can run: said as a warning */
    ck_assert_uint_eq(mom_test_log_count("The pressure fast path watches nothing"), 1);

    mom_pressure_fire_for_test(p, MOM_PRESSURE_PSI, "first");
    ck_assert_uint_eq(f.fired, 1);
    ck_assert_str_eq(f.why, "first");
    for (int i = 0; i < 5; i++)
        mom_pressure_fire_for_test(p, i == 4 ? MOM_PRESSURE_AVAILABLE : MOM_PRESSURE_PSI,
                                   i == 4 ? "last" : "middle");
    ck_assert_uint_eq(f.fired, 1);
    run_until(&f, 2, 2000);
    ck_assert_uint_eq(f.fired, 2);
    ck_assert_str_eq(f.why, "middle; then 4 more, the newest: last");
    ck_assert_int_eq(f.reason, MOM_PRESSURE_AVAILABLE);
    ck_assert_int_ge(f.at[1] - f.at[0], 290000); /* timers run late, never early */
    /* nothing else is pending */
    run_until(&f, 3, 500);
    ck_assert_uint_eq(f.fired, 2);
    /* a second apart is not limited */
    mom_pressure_fire_for_test(p, MOM_PRESSURE_PSI, "later");
    ck_assert_uint_eq(f.fired, 3);
    g_free(f.why);
    mom_test_remove_tree(proc);
}
END_TEST

/* What waits to be passed on keeps its first reason and its newest, and
 * counts the rest: a floor crossed and a fall after it are both said. */
START_TEST(test_reasons)
{
    MomReasons r = {0};

    ck_assert_ptr_null(mom_reasons_take(&r));
    mom_reasons_add(&r, g_strdup("MemAvailable fell below the floor"));
    g_autofree char *one = mom_reasons_take(&r);
    ck_assert_str_eq(one, "MemAvailable fell below the floor");
    ck_assert_ptr_null(mom_reasons_take(&r));

    mom_reasons_add(&r, g_strdup("below the floor"));
    mom_reasons_add(&r, g_strdup("fell by 1024 MiB"));
    g_autofree char *two = mom_reasons_take(&r);
    ck_assert_str_eq(two, "below the floor; then fell by 1024 MiB");

    mom_reasons_add(&r, g_strdup("a"));
    for (int i = 0; i < 1000; i++)
        mom_reasons_add(&r, g_strdup_printf("fall %d", i));
    g_autofree char *many = mom_reasons_take(&r);
    ck_assert_str_eq(many, "a; then 1000 more, the newest: fall 999");
    ck_assert_uint_eq(r.n, 0);

    /* emptied without a word: nothing leaks (ASan) */
    mom_reasons_add(&r, g_strdup("x"));
    mom_reasons_add(&r, g_strdup("y"));
    mom_reasons_clear(&r);
    ck_assert_ptr_null(mom_reasons_take(&r));
}
END_TEST

/* ---- the [pressure] section ------------------------------------------------------ */

START_TEST(test_config)
{
    g_autoptr(MomConfig) def = mom_config_new_defaults();
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(MomConfig) cfg = NULL;
    g_autofree char *dump = NULL;

    ck_assert(def->pressure.enabled);
    ck_assert_str_eq(def->pressure.psi_trigger, "some 150000 1000000");
    ck_assert_int_eq(def->pressure.available_floor_percent, 10);
    ck_assert_int_eq(def->pressure.available_drop_mib, 1024);
    ck_assert_int_eq(def->pressure.watch_interval_ms, 250);
    ck_assert_int_eq(def->pressure.watch_max_interval_ms, 1000);
    ck_assert_int_eq(def->pressure.min_interval_ms, 1000);
    ck_assert(mom_config_validate(def, NULL));

    cfg = mom_config_load_data("[pressure]\nenabled: false\npsi-trigger = full 300000 2000000\n"
                               "available-floor-percent: 5\navailable-drop-mib: 0\n"
                               "watch-interval-ms: 0\nwatch-max-interval-ms: 0\n"
                               "min-interval-ms: 5000\n",
                               -1, "t.conf", warnings, &error);
    ck_assert_msg(cfg != NULL, "%s", error ? error->message : "?");
    ck_assert_uint_eq(warnings->len, 0);
    ck_assert(!cfg->pressure.enabled);
    ck_assert_str_eq(cfg->pressure.psi_trigger, "full 300000 2000000");
    ck_assert_int_eq(cfg->pressure.available_floor_percent, 5);
    ck_assert_int_eq(cfg->pressure.available_drop_mib, 0);
    ck_assert_int_eq(cfg->pressure.watch_interval_ms, 0);
    ck_assert_int_eq(cfg->pressure.watch_max_interval_ms, 0);
    ck_assert_int_eq(cfg->pressure.min_interval_ms, 5000);
    ck_assert(mom_config_validate(cfg, NULL));
    /* the dump reads back */
    dump = mom_config_dump(cfg);
    ck_assert_msg(strstr(dump, "\n[pressure]\n# momd additions (MOM ignores them)\nenabled: false\n"
                               "psi-trigger: full 300000 2000000\n"),
                  "%s", dump);
    g_clear_pointer(&cfg, mom_config_free);
    cfg = mom_config_load_data(dump, -1, "dump", NULL, &error);
    ck_assert_msg(cfg != NULL, "%s", error ? error->message : "?");
    ck_assert_int_eq(cfg->pressure.min_interval_ms, 5000);
    g_clear_pointer(&cfg, mom_config_free);

    /* ranges, with file and line */
    cfg = mom_config_load_data("[pressure]\nmin-interval-ms: 10\n", -1, "t.conf", NULL, &error);
    ck_assert_ptr_null(cfg);
    ck_assert_str_eq(error->message, "t.conf:2: [pressure] min-interval-ms: expected an integer "
                                     "between 100 and 3600000, got '10'.");
    g_clear_error(&error);
    cfg = mom_config_load_data("[pressure]\navailable-floor-percent: 100\n", -1, "t.conf", NULL,
                               &error);
    ck_assert_ptr_null(cfg);
    ck_assert_msg(strstr(error->message, "t.conf:2: [pressure] available-floor-percent"), "%s",
                  error->message);
    g_clear_error(&error);

    /* a trigger the kernel would refuse stops the config, naming the key */
    cfg =
        mom_config_load_data("[pressure]\npsi-trigger: some 150000\n", -1, "t.conf", NULL, &error);
    ck_assert_ptr_nonnull(cfg);
    ck_assert(!mom_config_validate(cfg, &error));
    ck_assert(g_error_matches(error, MOM_CONFIG_ERROR, MOM_CONFIG_ERROR_VALUE));
    ck_assert_str_eq(error->message,
                     "[pressure] psi-trigger: 'some 150000' is not a PSI trigger: expected 'some' "
                     "or 'full', then the stall and the window in microseconds, such as 'some "
                     "150000 1000000'.");
    g_clear_error(&error);
    g_clear_pointer(&cfg, mom_config_free);
    /* empty: no PSI trigger, the MemAvailable watch alone */
    cfg = mom_config_load_data("[pressure]\npsi-trigger:\n", -1, "t.conf", NULL, &error);
    ck_assert(mom_config_validate(cfg, NULL));
}
END_TEST

static Suite *
pressure_suite(void)
{
    Suite *s = suite_create("pressure");
    TCase *tc = tcase_create("pressure");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_parse_trigger);
    tcase_add_test(tc, test_describe_trigger);
    tcase_add_test(tc, test_watch_floor);
    tcase_add_test(tc, test_watch_drop);
    tcase_add_test(tc, test_watch_pace);
    tcase_add_test(tc, test_delay);
    tcase_add_test(tc, test_psi_open_fallback);
    tcase_add_test(tc, test_watch_source);
    tcase_add_test(tc, test_watch_lifecycle);
    tcase_add_test(tc, test_watch_no_rules);
    tcase_add_test(tc, test_rate_limit);
    tcase_add_test(tc, test_reasons);
    tcase_add_test(tc, test_config);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    Suite *s = pressure_suite();
    SRunner *sr = srunner_create(s);
    int failed;

    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
