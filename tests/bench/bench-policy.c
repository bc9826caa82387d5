/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench-policy: how long the default policies take to parse and to evaluate
 * over synthetic hosts with 10 to 10 000 guests.
 *
 *   bench-policy [--min-time SEC] [--explain] [POLICY_DIR]
 *   bench-policy --guests N --iterations N [--regime pressure|relaxed] [--explain] [POLICY_DIR]
 *
 * The first form prints one line per (regime, size) and then the parse time
 * and the peak RSS.  The second form runs exactly N evaluations of one size
 * and skips the parse benchmark; it is meant for
 * "valgrind --tool=callgrind --toggle-collect=mom_policy_set_evaluate".
 *
 * Every run is checked against the decisions the default policies must make
 * for the synthetic guests, and the program exits with status 1 on any
 * mismatch: a broken interpreter must not report fast numbers.  With
 * --explain every evaluation also keeps each entity's explanation
 * (MOM_POLICY_EVAL_EXPLAIN), as momd's do.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <glib.h>

#include "mom-policy.h"

#ifndef MOM_BENCH_POLICY_DIR
#error "MOM_BENCH_POLICY_DIR must name the source tree's data/policies"
#endif

/* The sample history momd keeps by default (MOM's sample-history-length). */
#define HISTORY 10
/* A fixed seed, so every run and every machine sees the same guests. */
#define SEED 0x6d6f6d64u

/*
 * Fields as the collectors declare them.  The default policies read
 * mem_free, mem_available, ksm_shareable and ksm_pages_to_scan of the host,
 * and balloon_cur, balloon_min, balloon_max and mem_unused of guests; the
 * other fields are there because real entities carry them, which makes the
 * schema lookups as large as in the daemon.
 */
enum {
    H_MEM_AVAILABLE,
    H_MEM_UNUSED,
    H_MEM_FREE,
    H_SWAP_IN,
    H_SWAP_OUT,
    H_ANON_PAGES,
    H_SWAP_TOTAL,
    H_SWAP_USAGE,
    H_KSM_RUN,
    H_KSM_PAGES_TO_SCAN,
    H_KSM_SLEEP_MILLISECS,
    H_KSM_PAGES_SHARED,
    H_KSM_PAGES_SHARING,
    H_KSM_PAGES_UNSHARED,
    H_KSM_PAGES_VOLATILE,
    H_KSM_FULL_SCANS,
    H_KSM_MERGE_ACROSS_NODES,
    H_KSM_SHAREABLE,
    H_KSMD_CPU_USAGE,
    H_N_FIELDS
};

static const char *const host_fields[H_N_FIELDS] = {
    "mem_available",
    "mem_unused",
    "mem_free",
    "swap_in",
    "swap_out",
    "anon_pages",
    "swap_total",
    "swap_usage",
    "ksm_run",
    "ksm_pages_to_scan",
    "ksm_sleep_millisecs",
    "ksm_pages_shared",
    "ksm_pages_sharing",
    "ksm_pages_unshared",
    "ksm_pages_volatile",
    "ksm_full_scans",
    "ksm_merge_across_nodes",
    "ksm_shareable",
    "ksmd_cpu_usage",
};

enum {
    G_BALLOON_CUR,
    G_BALLOON_MAX,
    G_BALLOON_MIN,
    G_MEM_AVAILABLE,
    G_MEM_UNUSED,
    G_MAJOR_FAULT,
    G_MINOR_FAULT,
    G_SWAP_IN,
    G_SWAP_OUT,
    G_SWAP_TOTAL,
    G_SWAP_USAGE,
    G_RSS,
    G_N_FIELDS
};

static const char *const guest_fields[G_N_FIELDS] = {
    "balloon_cur", "balloon_max", "balloon_min", "mem_available", "mem_unused", "major_fault",
    "minor_fault", "swap_in",     "swap_out",    "swap_total",    "swap_usage", "rss",
};

typedef enum {
    REGIME_RELAXED,  /* host free memory ~45 %: balloons grow back, KSM off */
    REGIME_PRESSURE, /* host free memory ~10 %: balloons shrink, KSM on */
    N_REGIMES
} Regime;

static const char *const regime_names[N_REGIMES] = {"relaxed", "pressure"};

/*
 * What a guest looks like, and therefore what 10-balloon must decide for it.
 * The kind is drawn from the PRNG with the weights of kind_weights.
 */
typedef enum {
    KIND_NO_STATS,  /* no guest agent: mem_unused is nil -> no control */
    KIND_BELOW_MIN, /* balloon below balloon_min -> raised to balloon_min */
    KIND_STEADY,    /* at balloon_max, little unused -> shrink skipped / no control */
    KIND_IDLE,      /* at balloon_max, much unused -> shrinks under pressure */
    KIND_BALLOONED, /* below balloon_max -> shrinks under pressure, grows otherwise */
    N_KINDS
} GuestKind;

static const guint kind_weights[N_KINDS] = {1, 1, 2, 3, 3};

typedef struct {
    GuestKind kind;
    gint64 cur, min, max;
} GuestSpec;

/* Decisions seen in one run, printed so a reader can see the mix. */
typedef struct {
    guint shrink, grow, raise, none;
} Tally;

/* ---- PRNG ----------------------------------------------------------------- */

/* splitmix64: tiny, good enough for test data, identical on every libc. */
static guint64
rng_next(guint64 *state)
{
    guint64 z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Returns a double in [lo, hi). */
static double
rng_range(guint64 *state, double lo, double hi)
{
    return lo + (hi - lo) * ((double)(rng_next(state) >> 11) / (double)(1ull << 53));
}

/* ---- synthetic entities ------------------------------------------------------ */

static MomEntity *
make_host(MomSchema *schema, Regime regime, guint64 *rng)
{
    MomEntity *host = mom_entity_new(MOM_ENTITY_HOST, "Host", schema, HISTORY);
    const gint64 total = G_GINT64_CONSTANT(268435456); /* 256 GiB in KiB */
    double free_ratio = regime == REGIME_PRESSURE ? 0.10 : 0.45;
    double shareable = regime == REGIME_PRESSURE ? 0.30 : 0.10;
    MomValue interval = mom_value_int(5);

    mom_entity_set_prop(host, "interval", &interval);
    for (guint s = 0; s < HISTORY; s++) {
        MomValue v[H_N_FIELDS];
        for (guint f = 0; f < H_N_FIELDS; f++)
            v[f] = mom_value_int((gint64)rng_range(rng, 0, 1000));
        gint64 free_kib = (gint64)(total * free_ratio * rng_range(rng, 0.9, 1.1));
        v[H_MEM_AVAILABLE] = mom_value_int(total);
        v[H_MEM_FREE] = mom_value_int(free_kib);
        v[H_MEM_UNUSED] = mom_value_int(free_kib / 4);
        v[H_ANON_PAGES] = mom_value_int(total - free_kib);
        v[H_SWAP_TOTAL] = mom_value_int(G_GINT64_CONSTANT(8388604));
        v[H_KSM_RUN] = mom_value_int(regime == REGIME_PRESSURE);
        v[H_KSM_PAGES_TO_SCAN] = mom_value_int(100);
        v[H_KSM_SLEEP_MILLISECS] = mom_value_int(20);
        v[H_KSM_MERGE_ACROSS_NODES] = mom_value_int(1);
        v[H_KSM_SHAREABLE] = mom_value_int((gint64)(total * shareable));
        /* relaxed: KSM saves nothing either, so 20-ksm stops it */
        if (regime == REGIME_RELAXED)
            v[H_KSM_PAGES_SHARING] = mom_value_int(0);
        mom_entity_push_sample(host, v);
    }
    return host;
}

static GuestKind
draw_kind(guint64 *rng)
{
    guint sum = 0;
    for (guint k = 0; k < N_KINDS; k++)
        sum += kind_weights[k];
    guint r = (guint)(rng_next(rng) % sum);
    for (guint k = 0; k < N_KINDS; k++) {
        if (r < kind_weights[k])
            return (GuestKind)k;
        r -= kind_weights[k];
    }
    return KIND_BALLOONED;
}

static MomEntity *
make_guest(MomSchema *schema, guint index, GuestKind kind, guint64 *rng, GuestSpec *spec)
{
    g_autofree char *name = g_strdup_printf("vm%05u", index);
    g_autofree char *uuid = g_strdup_printf("00000000-0000-4000-8000-%012u", index);
    MomEntity *g = mom_entity_new(MOM_ENTITY_GUEST, name, schema, HISTORY);
    MomValue prop;

    prop = mom_value_string(name, -1);
    mom_entity_set_prop(g, "name", &prop);
    mom_value_clear(&prop);
    prop = mom_value_string(uuid, -1);
    mom_entity_set_prop(g, "uuid", &prop);
    mom_value_clear(&prop);
    prop = mom_value_int(2000 + index);
    mom_entity_set_prop(g, "pid", &prop);
    /* as the daemon gives every guest: a weight for one in eight, nil for
     * the others */
    prop = index % 8 == 0 ? mom_value_int(1 + index % 3) : mom_value_nil();
    mom_entity_set_prop(g, "balloon_weight", &prop);

    /* 1 to 16 GiB in steps of 256 MiB; balloon_min is half of it. */
    gint64 max = (gint64)(1 + rng_next(rng) % 64) * 262144;
    gint64 min = max / 2;
    gint64 cur = max;
    double unused_ratio = rng_range(rng, 0.2, 0.4);

    switch (kind) {
    case KIND_BELOW_MIN:
        cur = min - (gint64)rng_range(rng, 1, (double)min / 4);
        break;
    case KIND_STEADY:
        unused_ratio = rng_range(rng, 0.005, 0.02);
        break;
    case KIND_IDLE:
        unused_ratio = rng_range(rng, 0.3, 0.6);
        break;
    case KIND_BALLOONED:
        cur = (gint64)(max * rng_range(rng, 0.6, 0.9));
        break;
    default:
        break;
    }
    *spec = (GuestSpec){kind, cur, min, max};

    for (guint s = 0; s < HISTORY; s++) {
        MomValue v[G_N_FIELDS];
        gint64 unused = (gint64)(cur * unused_ratio * rng_range(rng, 0.95, 1.05));
        v[G_BALLOON_CUR] = mom_value_int(cur);
        v[G_BALLOON_MAX] = mom_value_int(max);
        v[G_BALLOON_MIN] = mom_value_int(min);
        v[G_MEM_AVAILABLE] = mom_value_int(cur - cur / 25);
        v[G_MEM_UNUSED] = kind == KIND_NO_STATS ? mom_value_nil() : mom_value_int(unused);
        v[G_MAJOR_FAULT] = mom_value_int((gint64)rng_range(rng, 0, 200));
        v[G_MINOR_FAULT] = mom_value_int((gint64)rng_range(rng, 1e4, 5e4));
        v[G_SWAP_IN] = mom_value_int(0);
        v[G_SWAP_OUT] = mom_value_int(0);
        v[G_SWAP_TOTAL] = mom_value_int(1048572);
        v[G_SWAP_USAGE] = mom_value_int((gint64)rng_range(rng, 0, 10240));
        v[G_RSS] = mom_value_int(cur - unused / 2);
        mom_entity_push_sample(g, v);
    }
    return g;
}

/* ---- checking ---------------------------------------------------------------- */

static gboolean
as_number(const MomValue *v, double *out)
{
    switch (v->type) {
    case MOM_VALUE_INT:
        *out = (double)v->u.i;
        return TRUE;
    case MOM_VALUE_FLOAT:
        *out = v->u.d;
        return TRUE;
    default:
        return FALSE;
    }
}

static gboolean G_GNUC_PRINTF(1, 2) check_failed(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fputs("bench-policy: wrong result: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return FALSE;
}

/*
 * Checks @run against what 00-defines, 10-balloon and 20-ksm must decide
 * for these entities.  Only the direction and bounds of each balloon move
 * are checked, not the exact target: the point is to catch an interpreter
 * that does less work than it should, not to be a second golden test.
 */
static gboolean
check_run(const MomPolicyRun *run, MomEntity *host, GPtrArray *guests, const GuestSpec *specs,
          Regime regime, Tally *tally)
{
    *tally = (Tally){0};
    if (!run->ok || run->errors->len > 0) {
        for (guint i = 0; i < run->errors->len; i++) {
            g_autofree char *text = mom_policy_diag_format(run->errors->pdata[i]);
            fputs(text, stderr);
        }
        return check_failed("the run reported %u error(s)", run->errors->len);
    }

    const MomValue *ksm_run = mom_entity_get_control(host, "ksm_run");
    double x;
    if (!ksm_run || !as_number(ksm_run, &x) || x != (regime == REGIME_PRESSURE))
        return check_failed("Host ksm_run is missing or not %d", regime == REGIME_PRESSURE);
    if (regime == REGIME_PRESSURE && !mom_entity_get_control(host, "ksm_pages_to_scan"))
        return check_failed("Host ksm_pages_to_scan is missing under pressure");

    for (guint i = 0; i < guests->len; i++) {
        MomEntity *g = guests->pdata[i];
        const GuestSpec *s = &specs[i];
        const MomValue *t = mom_entity_get_control(g, "balloon_target");
        gboolean want_none = s->kind == KIND_NO_STATS || s->kind == KIND_STEADY ||
                             (s->kind == KIND_IDLE && regime == REGIME_RELAXED);

        if (mom_entity_error(g))
            return check_failed("%s: %s", mom_entity_name(g), mom_entity_error(g));
        if (want_none) {
            if (mom_entity_n_controls(g) != 0)
                return check_failed("%s (kind %d) has a control", mom_entity_name(g), s->kind);
            tally->none++;
            continue;
        }
        /* Under pressure a guest with little idle memory next to the
         * others may get a step below balloon_min_step, and no control
         * (10-balloon rule 5, the step factor). */
        if (!t && regime == REGIME_PRESSURE && s->kind != KIND_BELOW_MIN) {
            tally->none++;
            continue;
        }
        if (!t || !as_number(t, &x))
            return check_failed("%s (kind %d) has no numeric balloon_target", mom_entity_name(g),
                                s->kind);
        if (s->kind == KIND_BELOW_MIN) {
            if (x != (double)s->min)
                return check_failed("%s: target %.0f, expected balloon_min %" G_GINT64_FORMAT,
                                    mom_entity_name(g), x, s->min);
            tally->raise++;
        } else if (regime == REGIME_PRESSURE) {
            if (!(x < (double)s->cur && x >= (double)s->min))
                return check_failed("%s: shrink target %.0f not in [%" G_GINT64_FORMAT
                                    ", %" G_GINT64_FORMAT ")",
                                    mom_entity_name(g), x, s->min, s->cur);
            tally->shrink++;
        } else {
            if (!(x > (double)s->cur && x <= (double)s->max))
                return check_failed("%s: grow target %.0f not in (%" G_GINT64_FORMAT
                                    ", %" G_GINT64_FORMAT "]",
                                    mom_entity_name(g), x, s->cur, s->max);
            tally->grow++;
        }
    }
    /* Every size has at least ten guests, so an empty tally column means the
     * data, not the interpreter, lost a case: still worth failing on. */
    if (regime == REGIME_PRESSURE ? tally->shrink == 0 : tally->grow == 0)
        return check_failed("no guest was %s", regime == REGIME_PRESSURE ? "shrunk" : "grown");
    return TRUE;
}

/* ---- timing -------------------------------------------------------------------- */

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef struct {
    MomSchema *host_schema;
    MomSchema *guest_schema;
    MomPolicySet *set;
    MomPolicyEvalFlags flags;
} Bench;

/*
 * Builds @n_guests guests and evaluates them under @regime: once to warm
 * caches and check the result, then @iterations times (or, when 0, as many
 * times as fit in @min_time seconds, at least 3), then checks the last run.
 * Returns: FALSE when a result is wrong.
 */
static gboolean
bench_size(Bench *b, Regime regime, guint n_guests, guint iterations, double min_time)
{
    guint64 rng = SEED ^ ((guint64)n_guests << 32);
    g_autoptr(GPtrArray) guests = g_ptr_array_new_with_free_func((GDestroyNotify)mom_entity_free);
    g_autofree GuestSpec *specs = g_new0(GuestSpec, n_guests);
    Tally tally;

    for (guint i = 0; i < n_guests; i++)
        g_ptr_array_add(guests, make_guest(b->guest_schema, i, draw_kind(&rng), &rng, &specs[i]));
    g_autoptr(MomEntity) host = make_host(b->host_schema, regime, &rng);

    double t0 = now_s();
    g_autoptr(MomPolicyRun) warm = mom_policy_set_evaluate(b->set, host, guests, b->flags);
    double once = now_s() - t0;
    if (!check_run(warm, host, guests, specs, regime, &tally))
        return FALSE;
    guint64 steps = warm->steps;

    if (iterations == 0)
        iterations = (guint)MAX(3.0, ceil(min_time / MAX(once, 1e-7)));
    double elapsed;
    for (;;) {
        t0 = now_s();
        for (guint k = 0; k < iterations; k++)
            mom_policy_run_free(mom_policy_set_evaluate(b->set, host, guests, b->flags));
        elapsed = now_s() - t0;
        /* The warm-up run can be slow (page faults), so the first estimate may
         * fall short; retry with a scaled count rather than report noise. */
        if (min_time <= 0 || elapsed >= min_time)
            break;
        iterations = (guint)ceil(iterations * 1.2 * min_time / MAX(elapsed, 1e-7));
    }

    g_autoptr(MomPolicyRun) last = mom_policy_set_evaluate(b->set, host, guests, b->flags);
    if (!check_run(last, host, guests, specs, regime, &tally))
        return FALSE;

    double us = elapsed * 1e6 / iterations;
    printf("%-8s  %6u  %10u  %12.1f  %13.3f  %10" G_GUINT64_FORMAT "  %u/%u/%u/%u\n",
           regime_names[regime], n_guests, iterations, us, us / n_guests, steps, tally.shrink,
           tally.grow, tally.raise, tally.none);
    fflush(stdout);
    return TRUE;
}

/* Reads the *.policy files of @dir, sorted, as the set would see them. */
static GPtrArray *
read_policies(const char *dir, GPtrArray *names, GError **error)
{
    g_autoptr(GDir) d = g_dir_open(dir, 0, error);
    g_autoptr(GPtrArray) texts = g_ptr_array_new_with_free_func(g_free);
    const char *entry;

    if (!d)
        return NULL;
    while ((entry = g_dir_read_name(d)))
        if (entry[0] != '.' && g_str_has_suffix(entry, ".policy"))
            g_ptr_array_add(names, g_strdup(entry));
    g_ptr_array_sort(names, (GCompareFunc)g_strcmp0);
    for (guint i = 0; i < names->len; i++) {
        g_autofree char *path = g_build_filename(dir, names->pdata[i], NULL);
        char *text;
        if (!g_file_get_contents(path, &text, NULL, error))
            return NULL;
        g_ptr_array_add(texts, text);
    }
    return g_steal_pointer(&texts);
}

/* Prints the mean time to parse every policy of @dir into a fresh set. */
static gboolean
bench_parse(const char *dir, double min_time)
{
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) texts = read_policies(dir, names, &error);
    gsize bytes = 0;

    if (!texts) {
        fprintf(stderr, "bench-policy: %s\n", error->message);
        return FALSE;
    }
    for (guint i = 0; i < texts->len; i++)
        bytes += strlen(texts->pdata[i]);

    guint iterations = 0;
    double t0 = now_s(), elapsed;
    do {
        /* Fresh sets, because a reload parses into a new set; their
         * creation and teardown are part of what a reload costs. */
        MomPolicySet *set = mom_policy_set_new();
        for (guint i = 0; i < texts->len; i++) {
            if (!mom_policy_set_add_string(set, names->pdata[i], names->pdata[i], texts->pdata[i],
                                           -1, NULL, &error)) {
                fprintf(stderr, "bench-policy: %s\n", error->message);
                mom_policy_set_free(set);
                return FALSE;
            }
        }
        mom_policy_set_free(set);
        iterations++;
        elapsed = now_s() - t0;
    } while (elapsed < min_time || iterations < 100);

    printf("parse     %u files, %zu bytes: %.1f us per parse (%u parses into fresh sets)\n",
           texts->len, bytes, elapsed * 1e6 / iterations, iterations);
    return TRUE;
}

int
main(int argc, char **argv)
{
    static const guint sizes[] = {10, 100, 1000, 10000};
    gint opt_guests = 0, opt_iterations = 0;
    gboolean opt_explain = FALSE;
    double opt_min_time = 0.5;
    g_autofree char *opt_regime = NULL;
    const GOptionEntry entries[] = {
        {"guests", 'g', 0, G_OPTION_ARG_INT, &opt_guests, "Benchmark only N guests", "N"},
        {"iterations", 'n', 0, G_OPTION_ARG_INT, &opt_iterations,
         "Run exactly N timed evaluations per size (no parse benchmark)", "N"},
        {"regime", 'r', 0, G_OPTION_ARG_STRING, &opt_regime,
         "Only this host regime: pressure or relaxed", "REGIME"},
        {"explain", 'e', 0, G_OPTION_ARG_NONE, &opt_explain,
         "Keep each entity's explanation, as momd does (MOM_POLICY_EVAL_EXPLAIN)", NULL},
        {"min-time", 't', 0, G_OPTION_ARG_DOUBLE, &opt_min_time,
         "Time each size for at least SEC seconds (default 0.5)", "SEC"},
        {NULL},
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new("[POLICY_DIR]");
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) diags =
        g_ptr_array_new_with_free_func((GDestroyNotify)mom_policy_diag_free);

    g_option_context_set_summary(ctx, "Benchmarks parsing and evaluating the default policies.");
    g_option_context_add_main_entries(ctx, entries, NULL);
    if (!g_option_context_parse(ctx, &argc, &argv, &error) || argc > 2 || opt_guests < 0 ||
        opt_iterations < 0) {
        fprintf(stderr, "bench-policy: %s\n", error ? error->message : "bad arguments");
        return 2;
    }
    const char *dir = argc == 2 ? argv[1] : MOM_BENCH_POLICY_DIR;
    int only_regime = -1;
    if (opt_regime) {
        only_regime = g_str_equal(opt_regime, "pressure")  ? REGIME_PRESSURE
                      : g_str_equal(opt_regime, "relaxed") ? REGIME_RELAXED
                                                           : -2;
        if (only_regime == -2) {
            fprintf(stderr, "bench-policy: unknown regime '%s'\n", opt_regime);
            return 2;
        }
    }

    Bench b = {
        .host_schema = mom_schema_new(host_fields, H_N_FIELDS),
        .guest_schema = mom_schema_new(guest_fields, G_N_FIELDS),
        .set = mom_policy_set_new(),
        .flags = opt_explain ? MOM_POLICY_EVAL_EXPLAIN : MOM_POLICY_EVAL_NONE,
    };
    if (!mom_policy_set_add_dir(b.set, dir, diags, &error)) {
        for (guint i = 0; i < diags->len; i++) {
            g_autofree char *text = mom_policy_diag_format(diags->pdata[i]);
            fputs(text, stderr);
        }
        fprintf(stderr, "bench-policy: %s\n", error->message);
        return 1;
    }
    g_autoptr(GPtrArray) names = mom_policy_set_names(b.set);
    if (names->len == 0) {
        fprintf(stderr, "bench-policy: no *.policy file in %s\n", dir);
        return 1;
    }

    printf("# policies: %s (%u files), history %u, seed 0x%x%s\n", dir, names->len, HISTORY, SEED,
           opt_explain ? ", with explanations" : "");
    printf("# decisions = shrink/grow/raise/none\n");
    printf("%-8s  %6s  %10s  %12s  %13s  %10s  %s\n", "regime", "guests", "iterations", "us/eval",
           "us/guest/eval", "steps/eval", "decisions");

    gboolean ok = TRUE;
    for (int r = 0; ok && r < N_REGIMES; r++) {
        if (only_regime >= 0 && r != only_regime)
            continue;
        if (opt_guests > 0) {
            ok = bench_size(&b, (Regime)r, (guint)opt_guests, (guint)opt_iterations,
                            opt_iterations ? 0 : opt_min_time);
            continue;
        }
        for (guint i = 0; ok && i < G_N_ELEMENTS(sizes); i++)
            ok = bench_size(&b, (Regime)r, sizes[i], (guint)opt_iterations,
                            opt_iterations ? 0 : opt_min_time);
    }
    if (ok && opt_iterations == 0)
        ok = bench_parse(dir, opt_min_time);

    mom_policy_set_free(b.set);
    mom_schema_unref(b.host_schema);
    mom_schema_unref(b.guest_schema);

    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("peak RSS  %ld KiB\n", ru.ru_maxrss);
    return ok ? 0 : 1;
}
