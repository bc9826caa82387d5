/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The pure decide steps of the Balloon, CpuTune and IoTune controllers,
 * from tables: each case is a guest's remembered state and this cycle's
 * view of it, and the decision expected.  check-balloon.c, check-cputune.c
 * and check-iotune.c drive the whole controllers against a fake
 * hypervisor; these tables reach every branch of the judgement without
 * one, so a new guard rail is a new row.
 *
 * Sizes are KiB: 1 GiB = 1048576, 2 GiB = 2097152, 4 GiB = 4194304.
 */
#include "config.h"

#include <check.h>
#include <math.h>
#include <string.h>

#include <glib.h>

#include "balloon-priv.h"
#include "cputune-priv.h"
#include "iotune-priv.h"
#include "mom-policy.h"
#include "mom-test-tap.h"

/* Each case starts from a base (ASK, CUR, VDA_TOTAL) and overrides the
 * field or two it is about, which is what the table is for. */
#pragma GCC diagnostic ignored "-Woverride-init"

#define GIB 1048576LL

static void
check_str(const char *what, const char *got, const char *want, const char *name)
{
    if (!want)
        ck_assert_msg(!got, "%s: %s: expected none, got \"%s\"", name, what, got);
    else
        ck_assert_msg(got && strcmp(got, want) == 0, "%s: %s: expected \"%s\", got \"%s\"", name,
                      what, want, got ? got : "(none)");
}

/* ---- Balloon ---------------------------------------------------------------- */

/* 256 MiB floor, 10 MiB dead band, no step limit, marked after 3 misses. */
#define RAILS .floor_kib = 262144, .dead_band_kib = 10240, .uncooperative_cycles = 3
/* A fresh sample of a 4 GiB guest at @cur, asked for @target. */
#define ASK(cur_, target_)                                                                         \
    .has_control = TRUE, .target_ok = TRUE, .target = (target_), .have_stats = TRUE,               \
    .cur = (cur_), .max = 4 * GIB, .fresh = TRUE, .sampled_at = 100
/* A request for 1 GiB made when the balloon was at 2 GiB. */
#define ASKED_1G .requested = TRUE, .request_kib = GIB, .cur_at_request = 2 * GIB

typedef struct {
    const char *name;
    MomBalloonRails rails;
    MomBalloonState state;
    MomBalloonInput in;
    /* expected */
    MomBalloonAction action;
    MomBalloonProgress progress;
    gint64 want;
    guint clamped;
    gboolean report;
    const char *outcome;
    gboolean requested; /* after the cycle */
    gint64 request_kib;
    guint missed;
    gboolean uncooperative;
} BalloonCase;

/* One case per paragraph, its fields named: clang-format would give every
 * field of the nested initializers its own line. */
/* clang-format off */
static const BalloonCase balloon_cases[] = {
    {"a plain request is set", {RAILS}, {0}, {ASK(2 * GIB, GIB)},
     .action = MOM_BALLOON_SET, .want = GIB, .outcome = "requested 2097152 → 1048576 KiB",
     .requested = TRUE, .request_kib = GIB},
    {"no control: nothing, and a streak of misses ends", {RAILS}, {ASKED_1G, .missed = 2},
     {.have_stats = TRUE, .cur = 2 * GIB, .max = 4 * GIB, .fresh = TRUE, .in_flight = TRUE},
     .action = MOM_BALLOON_NOTHING, .request_kib = GIB},
    {"bad value: reported the first time", {RAILS}, {ASKED_1G},
     {ASK(2 * GIB, 0), .target_ok = FALSE, .in_flight = TRUE},
     .action = MOM_BALLOON_BAD_VALUE, .report = TRUE, .outcome = "ignored: not a number of KiB",
     .request_kib = GIB},
    {"bad value again: not reported", {RAILS}, {.bad_value_reported = TRUE},
     {ASK(2 * GIB, 0), .target_ok = FALSE},
     .action = MOM_BALLOON_BAD_VALUE, .outcome = "ignored: not a number of KiB"},
    {"no statistics: reported the first time", {RAILS}, {.bad_value_reported = TRUE},
     {ASK(0, GIB), .have_stats = FALSE},
     .action = MOM_BALLOON_NO_STATS, .report = TRUE,
     .outcome = "ignored: balloon_cur/balloon_max unknown"},
    {"no statistics again: not reported", {RAILS}, {.no_stats_reported = TRUE},
     {ASK(0, GIB), .have_stats = FALSE},
     .action = MOM_BALLOON_NO_STATS, .outcome = "ignored: balloon_cur/balloon_max unknown"},
    {"uncooperative: skipped while the balloon stays put", {RAILS},
     {.uncooperative = TRUE, .cur_at_mark = 2 * GIB + 100}, {ASK(2 * GIB, GIB)},
     .action = MOM_BALLOON_UNCOOPERATIVE,
     .outcome = "skipped: the guest does not follow its balloon (uncooperative)",
     .uncooperative = TRUE},
    {"uncooperative balloon moved on its own: it responds, and is asked", {RAILS},
     {.uncooperative = TRUE, .cur_at_mark = 3 * GIB}, {ASK(2 * GIB, GIB)},
     .action = MOM_BALLOON_SET, .progress = MOM_BALLOON_PROGRESS_RESPONDS, .want = GIB,
     .outcome = "requested 2097152 → 1048576 KiB", .requested = TRUE, .request_kib = GIB},
    {"dead band: unchanged", {RAILS}, {0}, {ASK(2 * GIB, 2 * GIB + 5000)},
     .action = MOM_BALLOON_DEAD_BAND, .want = 2 * GIB + 5000,
     .outcome = "unchanged: 2097152 KiB is within the dead band"},
    {"dead band: a request reached is over", {RAILS}, {ASKED_1G, .missed = 1},
     {ASK(GIB + 2000, GIB)},
     .action = MOM_BALLOON_DEAD_BAND, .want = GIB,
     .outcome = "unchanged: 1050576 KiB is within the dead band", .request_kib = GIB},
    {"floor: raised to min-floor-mib", {RAILS}, {0}, {ASK(2 * GIB, 100000)},
     .action = MOM_BALLOON_SET, .want = 262144, .clamped = MOM_BALLOON_CLAMP_FLOOR,
     .outcome = "requested 2097152 → 262144 KiB; clamped by min-floor-mib",
     .requested = TRUE, .request_kib = 262144},
    {"floor: balloon_min above min-floor-mib", {RAILS}, {0},
     {ASK(2 * GIB, 100000), .min = GIB / 2},
     .action = MOM_BALLOON_SET, .want = GIB / 2, .clamped = MOM_BALLOON_CLAMP_MIN,
     .outcome = "requested 2097152 → 524288 KiB; clamped by balloon_min",
     .requested = TRUE, .request_kib = GIB / 2},
    {"floor: clamped into the dead band", {RAILS}, {0}, {ASK(262144, 0)},
     .action = MOM_BALLOON_DEAD_BAND, .want = 262144, .clamped = MOM_BALLOON_CLAMP_FLOOR,
     .outcome = "unchanged: 262144 KiB is within the dead band; clamped by min-floor-mib"},
    {"max: lowered to balloon_max", {RAILS}, {0}, {ASK(2 * GIB, 8 * GIB)},
     .action = MOM_BALLOON_SET, .want = 4 * GIB, .clamped = MOM_BALLOON_CLAMP_MAX,
     .outcome = "requested 2097152 → 4194304 KiB; clamped by balloon_max",
     .requested = TRUE, .request_kib = 4 * GIB},
    {"max: wins over a balloon_min above it", {RAILS}, {0}, {ASK(2 * GIB, GIB), .min = 5 * GIB},
     .action = MOM_BALLOON_SET, .want = 4 * GIB,
     .clamped = MOM_BALLOON_CLAMP_MIN | MOM_BALLOON_CLAMP_MAX,
     .outcome = "requested 2097152 → 4194304 KiB; clamped by balloon_min and balloon_max",
     .requested = TRUE, .request_kib = 4 * GIB},
    {"max-step: a step down", {RAILS, .max_step_kib = 102400}, {0}, {ASK(2 * GIB, GIB)},
     .action = MOM_BALLOON_SET, .want = 2 * GIB - 102400, .clamped = MOM_BALLOON_CLAMP_STEP,
     .outcome = "requested 2097152 → 1994752 KiB; clamped by max-step-mib",
     .requested = TRUE, .request_kib = 2 * GIB - 102400},
    {"max-step: a step up, after the max", {RAILS, .max_step_kib = 102400}, {0},
     {ASK(2 * GIB, 8 * GIB)},
     .action = MOM_BALLOON_SET, .want = 2 * GIB + 102400,
     .clamped = MOM_BALLOON_CLAMP_MAX | MOM_BALLOON_CLAMP_STEP,
     .outcome = "requested 2097152 → 2199552 KiB; clamped by balloon_max and max-step-mib",
     .requested = TRUE, .request_kib = 2 * GIB + 102400},
    {"max-step: a change within one step is not clamped", {RAILS, .max_step_kib = 102400}, {0},
     {ASK(2 * GIB, 2 * GIB + 50000)},
     .action = MOM_BALLOON_SET, .want = 2 * GIB + 50000,
     .outcome = "requested 2097152 → 2147152 KiB", .requested = TRUE, .request_kib = 2 * GIB + 50000},
    {"waiting: moving to the size asked again", {RAILS}, {ASKED_1G}, {ASK(3 * GIB / 2, GIB)},
     .action = MOM_BALLOON_WAIT, .want = GIB,
     .outcome = "waiting: the balloon is moving to 1048576 KiB (now 1572864 KiB)",
     .requested = TRUE, .request_kib = GIB, .missed = 1},
    {"waiting: statistics older than the change", {RAILS}, {ASKED_1G},
     {ASK(2 * GIB, GIB), .fresh = FALSE},
     .action = MOM_BALLOON_WAIT, .want = GIB,
     .outcome = "waiting: the balloon is moving to 1048576 KiB (now 2097152 KiB, older "
                "statistics)",
     .requested = TRUE, .request_kib = GIB},
    {"on the way: a size short of the earlier request waits", {RAILS}, {ASKED_1G},
     {ASK(3 * GIB / 2, 5 * GIB / 4)},
     .action = MOM_BALLOON_ON_THE_WAY, .want = 5 * GIB / 4,
     .outcome = "waiting: the balloon is moving to 1048576 KiB, beyond the 1310720 KiB asked "
                "now (now 1572864 KiB)",
     .requested = TRUE, .request_kib = GIB, .missed = 1},
    {"on the way: the other direction is a change of mind", {RAILS}, {ASKED_1G},
     {ASK(3 * GIB / 2, 3 * GIB)},
     .action = MOM_BALLOON_SET, .want = 3 * GIB, .outcome = "requested 1572864 → 3145728 KiB",
     .requested = TRUE, .request_kib = 3 * GIB, .missed = 1},
    {"on the way: beyond the earlier request goes through", {RAILS}, {ASKED_1G},
     {ASK(3 * GIB / 2, GIB / 2)},
     .action = MOM_BALLOON_SET, .want = GIB / 2, .outcome = "requested 1572864 → 524288 KiB",
     .requested = TRUE, .request_kib = GIB / 2, .missed = 1},
    {"not moving: asked again, one miss", {RAILS}, {ASKED_1G}, {ASK(2 * GIB, GIB)},
     .action = MOM_BALLOON_SET, .want = GIB, .outcome = "requested 2097152 → 1048576 KiB",
     .requested = TRUE, .request_kib = GIB, .missed = 1},
    {"uncooperative: marked after uncooperative-cycles misses", {RAILS},
     {ASKED_1G, .missed = 2, .cur_at_miss = 2 * GIB, .cur_at_streak = 2 * GIB},
     {ASK(2 * GIB, GIB)},
     .action = MOM_BALLOON_UNCOOPERATIVE, .progress = MOM_BALLOON_PROGRESS_MARKED,
     .outcome = "skipped: the guest does not follow its balloon (uncooperative)",
     .request_kib = GIB, .uncooperative = TRUE},
    {"paused: not judged (virsh suspend), no miss counted, not marked", {RAILS},
     {ASKED_1G, .missed = 2, .cur_at_miss = 2 * GIB, .cur_at_streak = 2 * GIB},
     {ASK(2 * GIB, GIB), .paused = TRUE},
     .action = MOM_BALLOON_SET, .want = GIB, .outcome = "requested 2097152 → 1048576 KiB",
     .requested = TRUE, .request_kib = GIB, .missed = 2},
    {"uncooperative: never marked with uncooperative-cycles 0",
     {RAILS, .uncooperative_cycles = 0},
     {ASKED_1G, .missed = 2, .cur_at_miss = 2 * GIB, .cur_at_streak = 2 * GIB},
     {ASK(2 * GIB, GIB)},
     .action = MOM_BALLOON_SET, .want = GIB, .outcome = "requested 2097152 → 1048576 KiB",
     .requested = TRUE, .request_kib = GIB, .missed = 3},
    {"stopped short: the request is over, and the next starts from there", {RAILS},
     {ASKED_1G, .missed = 1, .cur_at_miss = 3 * GIB / 2, .sampled_at_miss = 50,
      .cur_at_streak = 2 * GIB},
     {ASK(3 * GIB / 2, GIB)},
     .action = MOM_BALLOON_SET, .progress = MOM_BALLOON_PROGRESS_STOPPED_SHORT, .want = GIB,
     .outcome = "requested 1572864 → 1048576 KiB", .requested = TRUE, .request_kib = GIB},
    {"moved since the streak began, past the request and on (set by hand): not marked", {RAILS},
     {ASKED_1G, .missed = 2, .cur_at_miss = GIB - GIB / 4, .sampled_at_miss = 50,
      .cur_at_streak = 2 * GIB},
     {ASK(GIB - GIB / 4 - 20480, GIB)},
     .action = MOM_BALLOON_SET, .progress = MOM_BALLOON_PROGRESS_STOPPED_SHORT, .want = GIB,
     .outcome = "requested 765952 → 1048576 KiB", .requested = TRUE, .request_kib = GIB},
    {"the same sample as at the last miss: not judged at all, no miss counted", {RAILS},
     {ASKED_1G, .missed = 1, .cur_at_miss = 3 * GIB / 2, .sampled_at_miss = 100,
      .cur_at_streak = 2 * GIB},
     {ASK(3 * GIB / 2, GIB)},
     .action = MOM_BALLOON_WAIT, .want = GIB,
     .outcome = "waiting: the balloon is moving to 1048576 KiB (now 1572864 KiB)",
     .requested = TRUE, .request_kib = GIB, .missed = 1},
    {"the same sample, two misses in: not marked while no collection lands", {RAILS},
     {ASKED_1G, .missed = 2, .cur_at_miss = 2 * GIB, .sampled_at_miss = 100,
      .cur_at_streak = 2 * GIB},
     {ASK(2 * GIB, GIB)},
     .action = MOM_BALLOON_SET, .want = GIB, .outcome = "requested 2097152 → 1048576 KiB",
     .requested = TRUE, .request_kib = GIB, .missed = 2},
    {"slow progress: the streak starts again", {RAILS},
     {ASKED_1G, .missed = 2, .cur_at_miss = 7 * GIB / 4, .sampled_at_miss = 50},
     {ASK(3 * GIB / 2, GIB)},
     .action = MOM_BALLOON_WAIT, .want = GIB,
     .outcome = "waiting: the balloon is moving to 1048576 KiB (now 1572864 KiB)",
     .requested = TRUE, .request_kib = GIB, .missed = 1},
    {"failed call: the guest was not asked, so no miss", {RAILS}, {ASKED_1G, .missed = 1},
     {ASK(2 * GIB, GIB), .failed = TRUE},
     .action = MOM_BALLOON_SET, .want = GIB, .outcome = "requested 2097152 → 1048576 KiB",
     .requested = TRUE, .request_kib = GIB, .missed = 1},
    {"dry run: the first decision is reported", {RAILS, .dry_run = TRUE}, {0},
     {ASK(2 * GIB, GIB)},
     .action = MOM_BALLOON_DRY_RUN, .want = GIB, .report = TRUE,
     .outcome = "dry run: would set 2097152 → 1048576 KiB"},
    {"dry run: the same size again is not", {RAILS, .dry_run = TRUE},
     {.dry_run_said = TRUE, .dry_run_cur = 2 * GIB, .dry_run_want = GIB + 5000},
     {ASK(2 * GIB, GIB)},
     .action = MOM_BALLOON_DRY_RUN, .want = GIB,
     .outcome = "dry run: would set 2097152 → 1048576 KiB"},
    {"dry run: another size is", {RAILS, .dry_run = TRUE},
     {.dry_run_said = TRUE, .dry_run_cur = 2 * GIB, .dry_run_want = GIB / 2},
     {ASK(2 * GIB, GIB)},
     .action = MOM_BALLOON_DRY_RUN, .want = GIB, .report = TRUE,
     .outcome = "dry run: would set 2097152 → 1048576 KiB"},
    {"dry run: the same after a cycle without one is", {RAILS, .dry_run = TRUE},
     {.dry_run_cur = 2 * GIB, .dry_run_want = GIB}, {ASK(2 * GIB, GIB)},
     .action = MOM_BALLOON_DRY_RUN, .want = GIB, .report = TRUE,
     .outcome = "dry run: would set 2097152 → 1048576 KiB"},
    {"dry run: clamped", {RAILS, .dry_run = TRUE}, {0}, {ASK(2 * GIB, 0)},
     .action = MOM_BALLOON_DRY_RUN, .want = 262144, .clamped = MOM_BALLOON_CLAMP_FLOOR,
     .report = TRUE, .outcome = "dry run: would set 2097152 → 262144 KiB; clamped by min-floor-mib"},
    {"busy: the previous call runs for 5 s, reported once", {RAILS}, {0},
     {ASK(2 * GIB, GIB), .in_flight = TRUE, .busy_us = 5 * G_USEC_PER_SEC},
     .action = MOM_BALLOON_BUSY, .want = GIB, .report = TRUE,
     .outcome = "skipped: the previous change is running"},
    {"busy for less than 5 s: skipped, not reported yet", {RAILS}, {0},
     {ASK(2 * GIB, GIB), .in_flight = TRUE, .busy_us = 5 * G_USEC_PER_SEC - 1},
     .action = MOM_BALLOON_BUSY, .want = GIB,
     .outcome = "skipped: the previous change is running"},
    {"busy again: not reported", {RAILS}, {.busy_reported = TRUE},
     {ASK(2 * GIB, GIB), .in_flight = TRUE},
     .action = MOM_BALLOON_BUSY, .want = GIB, .outcome = "skipped: the previous change is running"},
    {"busy: a call in flight is no miss and no wait", {RAILS}, {ASKED_1G, .missed = 1},
     {ASK(2 * GIB, GIB), .in_flight = TRUE, .busy_us = 6 * G_USEC_PER_SEC},
     .action = MOM_BALLOON_BUSY, .want = GIB, .report = TRUE,
     .outcome = "skipped: the previous change is running",
     .requested = TRUE, .request_kib = GIB, .missed = 1},
};
/* clang-format on */

static void
check_balloon_state(const BalloonCase *t, const MomBalloonDecision *d)
{
    const MomBalloonState *s = &d->state;

    ck_assert_msg(s->requested == t->requested, "%s: requested %d", t->name, s->requested);
    ck_assert_msg(s->request_kib == t->request_kib, "%s: request_kib %" G_GINT64_FORMAT, t->name,
                  s->request_kib);
    ck_assert_msg(s->missed == t->missed, "%s: missed %u", t->name, s->missed);
    ck_assert_msg(s->uncooperative == t->uncooperative, "%s: uncooperative %d", t->name,
                  s->uncooperative);
    /* what was reported stays reported until the condition ends */
    if (d->action == MOM_BALLOON_BAD_VALUE)
        ck_assert(s->bad_value_reported);
    else if (d->action != MOM_BALLOON_NOTHING)
        ck_assert(!s->bad_value_reported);
    if (d->action == MOM_BALLOON_NO_STATS)
        ck_assert(s->no_stats_reported);
    else if (d->action >= MOM_BALLOON_UNCOOPERATIVE)
        ck_assert(!s->no_stats_reported);
    ck_assert(s->dry_run_said == (d->action == MOM_BALLOON_DRY_RUN));
    if (d->action == MOM_BALLOON_BUSY)
        ck_assert(s->busy_reported == (d->report || t->state.busy_reported));
    if (d->action == MOM_BALLOON_SET)
        ck_assert(!s->busy_reported && s->cur_at_request == t->in.cur);
    if (d->progress == MOM_BALLOON_PROGRESS_MARKED)
        ck_assert_uint_eq(d->progress_missed, t->rails.uncooperative_cycles);
}

START_TEST(test_balloon_decide)
{
    const BalloonCase *t = &balloon_cases[_i];
    g_auto(MomBalloonDecision) d = {0};

    mom_balloon_decide(&t->rails, &t->state, &t->in, &d);
    ck_assert_msg(d.action == t->action, "%s: action %d, expected %d", t->name, d.action,
                  t->action);
    ck_assert_msg(d.progress == t->progress, "%s: progress %d, expected %d", t->name, d.progress,
                  t->progress);
    ck_assert_msg(d.want == t->want, "%s: want %" G_GINT64_FORMAT, t->name, d.want);
    ck_assert_msg(d.clamped == t->clamped, "%s: clamped %#x", t->name, d.clamped);
    ck_assert_msg(d.report == t->report, "%s: report %d", t->name, d.report);
    check_str("outcome", d.outcome, t->outcome, t->name);
    ck_assert_msg(d.rules != NULL, "%s: no rules text", t->name);
    check_balloon_state(t, &d);
}
END_TEST

/* ---- CpuTune ---------------------------------------------------------------- */

/* The guest runs at quota 50000 in a 100000 µs period. */
#define CUR .have_cur = TRUE, .cur_quota = 50000, .cur_period = 100000
#define QUOTA(q) .has_quota = TRUE, .quota_ok = TRUE, .quota = (q)
#define PERIOD(p) .has_period = TRUE, .period_ok = TRUE, .period = (p)
#define REQ(q, p) "requested quota 50000 → " q ", period 100000 → " p " µs"

typedef struct {
    const char *name;
    MomCpuTuneState state;
    MomCpuTuneInput in;
    /* expected */
    MomCpuTuneAction action;
    gint64 quota, period;
    guint clamped;
    const char *quota_outcome, *period_outcome;
    gboolean warn_unknown, warn_bad_quota, warn_bad_period;
    MomCpuTuneState next;
} CpuCase;

/* clang-format off */
static const CpuCase cpu_cases[] = {
    {"nothing set: nothing said", {TRUE, TRUE}, {CUR},
     .action = MOM_CPUTUNE_NOTHING, .next = {TRUE, TRUE}},
    {"unknown current values: warned once", {0}, {QUOTA(25000), PERIOD(100000)},
     .action = MOM_CPUTUNE_UNKNOWN, .warn_unknown = TRUE,
     .quota_outcome = "ignored: vcpu_quota/vcpu_period unknown",
     .period_outcome = "ignored: vcpu_quota/vcpu_period unknown", .next = {FALSE, TRUE}},
    {"unknown again: not warned; only the control set has an outcome", {FALSE, TRUE},
     {QUOTA(25000)},
     .action = MOM_CPUTUNE_UNKNOWN, .quota_outcome = "ignored: vcpu_quota/vcpu_period unknown",
     .next = {FALSE, TRUE}},
    {"bad quota: the pair is ignored", {0}, {CUR, QUOTA(0), .quota_ok = FALSE, PERIOD(100000)},
     .action = MOM_CPUTUNE_BAD_VALUE, .warn_bad_quota = TRUE,
     .quota_outcome = "ignored: not a number of µs",
     .period_outcome = "ignored: vcpu_quota is not a number", .next = {TRUE, FALSE}},
    {"bad period: the pair is ignored", {FALSE, TRUE},
     {CUR, QUOTA(25000), PERIOD(0), .period_ok = FALSE},
     .action = MOM_CPUTUNE_BAD_VALUE, .warn_bad_period = TRUE,
     .quota_outcome = "ignored: vcpu_period is not a number",
     .period_outcome = "ignored: not a number of µs", .next = {TRUE, FALSE}},
    {"both bad: warned once, for the quota", {0},
     {CUR, QUOTA(0), .quota_ok = FALSE, PERIOD(0), .period_ok = FALSE},
     .action = MOM_CPUTUNE_BAD_VALUE, .warn_bad_quota = TRUE,
     .quota_outcome = "ignored: not a number of µs",
     .period_outcome = "ignored: not a number of µs", .next = {TRUE, FALSE}},
    {"bad again: not warned", {TRUE, FALSE}, {CUR, QUOTA(0), .quota_ok = FALSE},
     .action = MOM_CPUTUNE_BAD_VALUE, .quota_outcome = "ignored: not a number of µs",
     .next = {TRUE, FALSE}},
    {"unchanged: the warnings are over", {TRUE, TRUE}, {CUR, QUOTA(50000), PERIOD(100000)},
     .action = MOM_CPUTUNE_UNCHANGED, .quota = 50000, .period = 100000,
     .quota_outcome = "unchanged: quota 50000, period 100000 µs",
     .period_outcome = "unchanged: quota 50000, period 100000 µs"},
    {"set: the period the policy left keeps its value", {0}, {CUR, QUOTA(25000)},
     .action = MOM_CPUTUNE_SET, .quota = 25000, .period = 100000,
     .quota_outcome = REQ("25000", "100000")},
    {"set: the quota the policy left keeps its value", {0}, {CUR, PERIOD(200000)},
     .action = MOM_CPUTUNE_SET, .quota = 50000, .period = 200000,
     .period_outcome = REQ("50000", "200000")},
    {"period: defaulted for a quota alone on a guest without one", {0},
     {CUR, .cur_period = 0, QUOTA(25000)},
     .action = MOM_CPUTUNE_SET, .quota = 25000, .period = 100000,
     .clamped = MOM_CPUTUNE_CLAMP_PERIOD_DEFAULT,
     .quota_outcome = "requested quota 50000 → 25000, period 0 → 100000 µs; clamped: period "
                      "defaulted to 100000"},
    {"period: raised to the minimum", {0}, {CUR, QUOTA(25000), PERIOD(10)},
     .action = MOM_CPUTUNE_SET, .quota = 25000, .period = 1000,
     .clamped = MOM_CPUTUNE_CLAMP_PERIOD_MIN,
     .quota_outcome = REQ("25000", "1000") "; clamped: period raised to 1000",
     .period_outcome = REQ("25000", "1000") "; clamped: period raised to 1000"},
    {"period: lowered to the maximum", {0}, {CUR, PERIOD(5000000)},
     .action = MOM_CPUTUNE_SET, .quota = 50000, .period = 1000000,
     .clamped = MOM_CPUTUNE_CLAMP_PERIOD_MAX,
     .period_outcome = REQ("50000", "1000000") "; clamped: period lowered to 1000000"},
    {"quota: any negative means no limit", {0}, {CUR, QUOTA(-5)},
     .action = MOM_CPUTUNE_SET, .quota = -1, .period = 100000,
     .clamped = MOM_CPUTUNE_CLAMP_QUOTA_NO_LIMIT,
     .quota_outcome = REQ("-1", "100000") "; clamped: negative quota means no limit (-1)"},
    {"quota: raised to the minimum", {0}, {CUR, QUOTA(10)},
     .action = MOM_CPUTUNE_SET, .quota = 1000, .period = 100000,
     .clamped = MOM_CPUTUNE_CLAMP_QUOTA_MIN,
     .quota_outcome = REQ("1000", "100000") "; clamped: quota raised to 1000"},
    {"quota: lowered to the maximum, and the period raised", {0},
     {CUR, QUOTA(G_MAXINT64), PERIOD(1)},
     .action = MOM_CPUTUNE_SET, .quota = MOM_CPUTUNE_QUOTA_MAX, .period = 1000,
     .clamped = MOM_CPUTUNE_CLAMP_PERIOD_MIN | MOM_CPUTUNE_CLAMP_QUOTA_MAX,
     .quota_outcome = REQ("18446744073709551", "1000") "; clamped: period raised to 1000 and "
                      "quota lowered to 18446744073709551",
     .period_outcome = REQ("18446744073709551", "1000") "; clamped: period raised to 1000 and "
                       "quota lowered to 18446744073709551"},
    {"quota: a guest's negative quota is -1, so -1 is unchanged", {0},
     {CUR, .cur_quota = -7, QUOTA(-1)},
     .action = MOM_CPUTUNE_UNCHANGED, .quota = -1, .period = 100000,
     .quota_outcome = "unchanged: quota -1, period 100000 µs"},
    {"just set: waiting for the values to be read back", {0},
     {CUR, QUOTA(25000), .last_ok = TRUE, .last_quota = 25000, .last_period = 100000,
      .predates = TRUE},
     .action = MOM_CPUTUNE_JUST_SET, .quota = 25000, .period = 100000,
     .quota_outcome = "unchanged: just set; waiting for the guest's new values"},
    {"just set, but a newer sample disagrees: asked again", {0},
     {CUR, QUOTA(25000), .last_ok = TRUE, .last_quota = 25000, .last_period = 100000},
     .action = MOM_CPUTUNE_SET, .quota = 25000, .period = 100000,
     .quota_outcome = REQ("25000", "100000")},
    {"the last call failed: asked again", {0},
     {CUR, QUOTA(25000), .last_quota = 25000, .last_period = 100000, .predates = TRUE},
     .action = MOM_CPUTUNE_SET, .quota = 25000, .period = 100000,
     .quota_outcome = REQ("25000", "100000")},
    {"dry run", {0}, {CUR, QUOTA(25000), .dry_run = TRUE},
     .action = MOM_CPUTUNE_DRY_RUN, .quota = 25000, .period = 100000,
     .quota_outcome = "dry run: would set quota 25000, period 100000 µs"},
    {"busy: the previous call runs", {0}, {CUR, QUOTA(25000), .in_flight = TRUE},
     .action = MOM_CPUTUNE_BUSY, .quota = 25000, .period = 100000,
     .quota_outcome = "skipped: the previous change is running"},
};
/* clang-format on */

START_TEST(test_cputune_decide)
{
    const CpuCase *t = &cpu_cases[_i];
    g_auto(MomCpuTuneDecision) d = {0};

    mom_cputune_decide(&t->state, &t->in, &d);
    ck_assert_msg(d.action == t->action, "%s: action %d, expected %d", t->name, d.action,
                  t->action);
    ck_assert_msg(d.quota == t->quota && d.period == t->period,
                  "%s: quota %" G_GINT64_FORMAT ", period %" G_GINT64_FORMAT, t->name, d.quota,
                  d.period);
    ck_assert_msg(d.clamped == t->clamped, "%s: clamped %#x", t->name, d.clamped);
    check_str("vcpu_quota outcome", d.quota_outcome, t->quota_outcome, t->name);
    check_str("vcpu_period outcome", d.period_outcome, t->period_outcome, t->name);
    ck_assert_msg(d.warn_unknown == t->warn_unknown && d.warn_bad_quota == t->warn_bad_quota &&
                      d.warn_bad_period == t->warn_bad_period,
                  "%s: warnings %d %d %d", t->name, d.warn_unknown, d.warn_bad_quota,
                  d.warn_bad_period);
    ck_assert_msg(d.state.bad_reported == t->next.bad_reported &&
                      d.state.unknown_reported == t->next.unknown_reported,
                  "%s: state %d %d", t->name, d.state.bad_reported, d.state.unknown_reported);
}
END_TEST

/* ---- IoTune: control names and values ---------------------------------------- */

typedef enum { V_INT, V_FLOAT, V_STRING, V_NIL, V_BOOL } ValueKind;

typedef struct {
    const char *name;
    const char *control;
    ValueKind kind;
    double number;
    /* expected */
    MomIoTuneParse parse;
    const char *disk; /* NULL when not a limit */
    guint limit;
    gint64 value;
} ParseCase;

/* clang-format off */
static const ParseCase parse_cases[] = {
    {"a limit", "io_tune.vda.total_bytes_sec", V_INT, 1000, MOM_IOTUNE_PARSE_OK, "vda", 0, 1000},
    {"a float is truncated", "io_tune.vda.write_iops_sec", V_FLOAT, 12.7, MOM_IOTUNE_PARSE_OK, "vda", 5, 12},
    {"a boolean is 0 or 1", "io_tune.vda.read_iops_sec", V_BOOL, 1, MOM_IOTUNE_PARSE_OK, "vda", 4, 1},
    {"0 is no limit", "io_tune.sda.read_bytes_sec", V_INT, 0, MOM_IOTUNE_PARSE_OK, "sda", 1, 0},
    {"a disk name with a dot", "io_tune.a.b.write_bytes_sec", V_INT, 5, MOM_IOTUNE_PARSE_OK, "a.b", 2, 5},
    {"an unknown limit", "io_tune.vda.bogus", V_INT, 5, MOM_IOTUNE_PARSE_NOT_LIMIT, NULL, 0, 0},
    {"no disk", "io_tune.total_bytes_sec", V_INT, 5, MOM_IOTUNE_PARSE_NOT_LIMIT, NULL, 0, 0},
    {"an empty disk", "io_tune..total_iops_sec", V_INT, 5, MOM_IOTUNE_PARSE_NOT_LIMIT, NULL, 0, 0},
    {"not io_tune", "vcpu_quota", V_INT, 5, MOM_IOTUNE_PARSE_NOT_LIMIT, NULL, 0, 0},
    {"a negative value", "io_tune.vda.total_bytes_sec", V_INT, -1, MOM_IOTUNE_PARSE_BAD_VALUE, "vda", 0, 0},
    {"a string", "io_tune.vda.total_bytes_sec", V_STRING, 0, MOM_IOTUNE_PARSE_BAD_VALUE, "vda", 0, 0},
    {"nil", "io_tune.vda.total_iops_sec", V_NIL, 0, MOM_IOTUNE_PARSE_BAD_VALUE, "vda", 3, 0},
    {"an infinite float", "io_tune.vda.total_iops_sec", V_FLOAT, INFINITY, MOM_IOTUNE_PARSE_BAD_VALUE, "vda", 3, 0},
};
/* clang-format on */

static MomValue
parse_case_value(const ParseCase *t)
{
    switch (t->kind) {
    case V_INT:
        return mom_value_int((gint64)t->number);
    case V_FLOAT:
        return mom_value_float(t->number);
    case V_STRING:
        return mom_value_string("x", -1);
    case V_BOOL:
        return mom_value_bool(t->number != 0);
    case V_NIL:
        break;
    }
    return mom_value_nil();
}

START_TEST(test_iotune_parse)
{
    const ParseCase *t = &parse_cases[_i];
    MomControl c = {.name = (char *)t->control, .value = parse_case_value(t), .file = "p.rules"};
    g_autofree char *disk = NULL;
    guint limit = 99;
    gint64 value = -99;

    MomIoTuneParse p = mom_iotune_parse_control(&c, &disk, &limit, &value);
    mom_value_clear(&c.value);
    ck_assert_msg(p == t->parse, "%s: %d, expected %d", t->name, p, t->parse);
    check_str("disk", disk, t->disk, t->name);
    if (t->disk)
        ck_assert_msg(limit == t->limit, "%s: limit %u", t->name, limit);
    if (p == MOM_IOTUNE_PARSE_OK)
        ck_assert_msg(value == t->value, "%s: value %" G_GINT64_FORMAT, t->name, value);
}
END_TEST

/* ---- IoTune: decisions -------------------------------------------------------- */

static const MomControl total = {
    .name = "io_tune.vda.total_bytes_sec", .file = "p.rules", .line = 3, .col = 5};
static const MomControl riops = {
    .name = "io_tune.vda.read_iops_sec", .file = "p.rules", .line = 4, .col = 7};
static const MomControl total_b = {
    .name = "io_tune.vdb.total_bytes_sec", .file = "p.rules", .line = 9, .col = 1};

/* vda's total_bytes_sec asked to be @v, its current limits all 0 */
#define VDA_TOTAL(v)                                                                               \
    .disk = "vda", .controls = {&total}, .valid = {TRUE}, .wanted = {(v)}, .have_cur = TRUE
#define SET_1000 "total_bytes_sec 0 → 1000 (p.rules:3:5)"

typedef struct {
    const char *name;
    MomIoTuneState state;
    MomIoTuneDiskInput disks[2];
    guint n_disks;
    guint n_bad;
    gboolean in_flight, dry_run;
    /* expected */
    struct {
        MomIoTuneAction action;
        gint64 limits[MOM_IOTUNE_N_LIMITS];
        const char *change;
        const char *outcome;
    } want[2];
    guint n_changes;
    gboolean warn_bad, warn_unknown;
    MomIoTuneState next;
} IoCase;

/* clang-format off */
static const IoCase io_cases[] = {
    {"one limit set, the others kept", {0}, {{VDA_TOTAL(1000)}}, 1,
     .want = {{MOM_IOTUNE_SET, {1000}, SET_1000, "requested " SET_1000}}, .n_changes = 1},
    {"two limits, in the order of the call", {0},
     {{.disk = "vda", .controls = {&total, NULL, NULL, NULL, &riops},
       .valid = {TRUE, FALSE, FALSE, FALSE, TRUE}, .wanted = {1000, 0, 0, 0, 50},
       .have_cur = TRUE, .cur = {0, 0, 0, 7, 0, 0}}}, 1,
     .want = {{MOM_IOTUNE_SET, {1000, 0, 0, 7, 50, 0},
               SET_1000 ", read_iops_sec 0 → 50 (p.rules:4:7)",
               "requested " SET_1000 ", read_iops_sec 0 → 50 (p.rules:4:7)"}},
     .n_changes = 1},
    {"unchanged: the warnings are over", {TRUE, TRUE}, {{VDA_TOTAL(1000), .cur = {1000}}}, 1,
     .want = {{MOM_IOTUNE_UNCHANGED, {1000}, NULL, "unchanged"}}},
    {"every control of the disk bad: warned, no more said", {0},
     {{.disk = "vda", .controls = {&total}, .have_cur = TRUE}}, 1, .n_bad = 1,
     .want = {{MOM_IOTUNE_ALL_BAD}}, .warn_bad = TRUE, .next = {TRUE, FALSE}},
    {"bad again: not warned; the good limit still goes", {TRUE, FALSE}, {{VDA_TOTAL(1000)}}, 1,
     .n_bad = 1, .want = {{MOM_IOTUNE_SET, {1000}, SET_1000, "requested " SET_1000}},
     .n_changes = 1, .next = {TRUE, FALSE}},
    {"a bad name alone: warned, no disk", {0}, {{0}}, 0, .n_bad = 1, .warn_bad = TRUE,
     .next = {TRUE, FALSE}},
    {"unknown current limits: warned", {0}, {{VDA_TOTAL(1000), .have_cur = FALSE}}, 1,
     .want = {{MOM_IOTUNE_UNKNOWN, .outcome = "ignored: the disk's current limits are unknown"}},
     .warn_unknown = TRUE, .next = {FALSE, TRUE}},
    {"unknown again: not warned", {FALSE, TRUE}, {{VDA_TOTAL(1000), .have_cur = FALSE}}, 1,
     .want = {{MOM_IOTUNE_UNKNOWN, .outcome = "ignored: the disk's current limits are unknown"}},
     .next = {FALSE, TRUE}},
    {"just set: waiting for the limits to be read back", {0},
     {{VDA_TOTAL(1000), .last_ok = TRUE, .last = {1000}, .predates = TRUE}}, 1,
     .want = {{MOM_IOTUNE_JUST_SET, {1000}, NULL,
               "unchanged: just set; waiting for the disk's new limits"}}},
    {"just set, but a newer sample disagrees: asked again", {0},
     {{VDA_TOTAL(1000), .last_ok = TRUE, .last = {1000}}}, 1,
     .want = {{MOM_IOTUNE_SET, {1000}, SET_1000, "requested " SET_1000}}, .n_changes = 1},
    {"the last change failed: asked again", {0},
     {{VDA_TOTAL(1000), .last = {1000}, .predates = TRUE}}, 1,
     .want = {{MOM_IOTUNE_SET, {1000}, SET_1000, "requested " SET_1000}}, .n_changes = 1},
    {"dry run", {0}, {{VDA_TOTAL(1000)}}, 1, .dry_run = TRUE,
     .want = {{MOM_IOTUNE_DRY_RUN, {1000}, SET_1000, "dry run: would set " SET_1000}},
     .n_changes = 1},
    {"busy: the previous job runs", {0}, {{VDA_TOTAL(1000)}}, 1, .in_flight = TRUE,
     .want = {{MOM_IOTUNE_BUSY, {1000}, SET_1000, "skipped: the previous change is running"}},
     .n_changes = 1},
    {"two disks: one changes, one's limits unknown", {0},
     {{VDA_TOTAL(1000)}, {.disk = "vdb", .controls = {&total_b}, .valid = {TRUE}, .wanted = {5}}},
     2,
     .want = {{MOM_IOTUNE_SET, {1000}, SET_1000, "requested " SET_1000},
              {MOM_IOTUNE_UNKNOWN, .outcome = "ignored: the disk's current limits are unknown"}},
     .n_changes = 1, .warn_unknown = TRUE, .next = {FALSE, TRUE}},
};
/* clang-format on */

START_TEST(test_iotune_decide)
{
    const IoCase *t = &io_cases[_i];
    MomIoTuneInput in = {.disks = t->disks,
                         .n_disks = t->n_disks,
                         .n_bad = t->n_bad,
                         .in_flight = t->in_flight,
                         .dry_run = t->dry_run};
    g_auto(MomIoTuneDecision) d = {0};

    mom_iotune_decide(&t->state, &in, &d);
    ck_assert_uint_eq(d.n_disks, t->n_disks);
    for (guint i = 0; i < t->n_disks; i++) {
        const MomIoTuneDiskDecision *dd = &d.disks[i];
        ck_assert_msg(dd->action == t->want[i].action, "%s: disk %u: action %d, expected %d",
                      t->name, i, dd->action, t->want[i].action);
        if (dd->action != MOM_IOTUNE_ALL_BAD && dd->action != MOM_IOTUNE_UNKNOWN)
            ck_assert_msg(memcmp(dd->limits, t->want[i].limits, sizeof(dd->limits)) == 0,
                          "%s: disk %u: limits", t->name, i);
        check_str("change", dd->change, t->want[i].change, t->name);
        check_str("outcome", dd->outcome, t->want[i].outcome, t->name);
    }
    ck_assert_msg(d.n_changes == t->n_changes, "%s: %u changes", t->name, d.n_changes);
    ck_assert_msg(d.warn_bad == t->warn_bad && d.warn_unknown == t->warn_unknown,
                  "%s: warnings %d %d", t->name, d.warn_bad, d.warn_unknown);
    ck_assert_msg(d.state.bad_reported == t->next.bad_reported &&
                      d.state.unknown_reported == t->next.unknown_reported,
                  "%s: state %d %d", t->name, d.state.bad_reported, d.state.unknown_reported);
}
END_TEST

static Suite *
decide_suite(void)
{
    Suite *s = suite_create("decide");
    TCase *tc = tcase_create("decide");

    tcase_add_loop_test(tc, test_balloon_decide, 0, (int)G_N_ELEMENTS(balloon_cases));
    tcase_add_loop_test(tc, test_cputune_decide, 0, (int)G_N_ELEMENTS(cpu_cases));
    tcase_add_loop_test(tc, test_iotune_parse, 0, (int)G_N_ELEMENTS(parse_cases));
    tcase_add_loop_test(tc, test_iotune_decide, 0, (int)G_N_ELEMENTS(io_cases));
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return mom_test_run_suite(decide_suite(), NULL, NULL);
}
