/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The Balloon controller against a fake hypervisor.
 *
 * Guests are MomEntity objects with the fields the GuestBalloon collector
 * gives (balloon_cur, balloon_max, balloon_min) and the uuid and name
 * properties the guest manager sets.  Controls are set the way momd sets
 * them, by evaluating a small policy, so the file:line:col in the log lines
 * is real.  The fake set_balloon runs on the controller's pool threads: it
 * records each call under a lock and can fail, or block until released, for
 * one chosen uuid.  The fake never changes balloon_cur: each test pushes
 * the samples a guest would report, which is how uncooperative guests are
 * made.  Log lines are captured (from any thread) with their structured
 * fields, so a test can check that a problem is logged once per guest.
 */
#include "config.h"

#include <check.h>
#include <string.h>

#include <glib.h>

#include "balloon-priv.h"
#include "mom-controller.h"
#include "mom-policy.h"
#include "mom-test-log.h"

#define MIB 1024
#define GIB (1024 * 1024)

/* ---- captured logs ---------------------------------------------------------- */

/* "LEVEL|CONTROLLER|GUEST|message" for every mom-controller log line, from
 * the pool threads too. */
static const char *const log_fields[] = {"MOM_CONTROLLER", "MOM_GUEST", NULL};

/* ---- the fake hypervisor ------------------------------------------------------ */

typedef struct {
    GMutex lock;
    GCond cond;
    GPtrArray *calls;       /* "uuid=kib", in the order the calls started */
    const char *fail_uuid;  /* its calls fail */
    const char *gone_uuid;  /* its calls fail: the guest went away */
    const char *block_uuid; /* its calls wait until @released */
    gboolean released;
} FakeHv;

static FakeHv fake;

static gboolean
fake_set_balloon(gpointer hv, const char *uuid, guint64 kib, GError **error)
{
    FakeHv *f = hv;
    gboolean fail;

    g_mutex_lock(&f->lock);
    g_ptr_array_add(f->calls, g_strdup_printf("%s=%" G_GUINT64_FORMAT, uuid, kib));
    g_cond_broadcast(&f->cond);
    while (f->block_uuid && strcmp(uuid, f->block_uuid) == 0 && !f->released)
        g_cond_wait(&f->cond, &f->lock);
    fail = f->fail_uuid && strcmp(uuid, f->fail_uuid) == 0;
    gboolean gone = f->gone_uuid && strcmp(uuid, f->gone_uuid) == 0;
    g_mutex_unlock(&f->lock);
    if (gone) {
        g_set_error_literal(error, g_quark_from_static_string("fake-hv"), 1,
                            "Requested operation is not valid: domain is not running");
        return FALSE;
    }
    if (fail) {
        g_set_error_literal(error, g_quark_from_static_string("fake-hv"), 0,
                            "Timed out during operation: cannot acquire state change lock");
        return FALSE;
    }
    return TRUE;
}

/* The fake's "the guest went away" is its error code 1. */
static gboolean
fake_is_gone(const GError *error)
{
    return error->domain == g_quark_from_static_string("fake-hv") && error->code == 1;
}

static const MomHypervisorOps fake_ops = {
    .hv = &fake, .set_balloon = fake_set_balloon, .is_gone = fake_is_gone};

static guint
n_calls(void)
{
    g_mutex_lock(&fake.lock);
    guint n = fake.calls->len;
    g_mutex_unlock(&fake.lock);
    return n;
}

static gint
cmp_strings(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The calls so far, joined with spaces, sorted (pool threads run guests
 * in any order). */
static char *
joined_calls(void)
{
    g_mutex_lock(&fake.lock);
    g_autoptr(GPtrArray) sorted = g_ptr_array_copy(fake.calls, NULL, NULL);
    g_ptr_array_set_free_func(sorted, NULL); /* the strings stay in fake.calls */
    g_mutex_unlock(&fake.lock);
    g_ptr_array_sort(sorted, cmp_strings);
    g_autoptr(GString) s = g_string_new(NULL);
    for (guint i = 0; i < sorted->len; i++)
        g_string_append_printf(s, "%s%s", i ? " " : "", (char *)sorted->pdata[i]);
    return g_string_free(g_steal_pointer(&s), FALSE);
}

#define assert_calls(want)                                                                         \
    do {                                                                                           \
        g_autofree char *got_ = joined_calls();                                                    \
        ck_assert_str_eq(got_, want);                                                              \
    } while (0)

static void
clear_calls(void)
{
    g_mutex_lock(&fake.lock);
    g_ptr_array_set_size(fake.calls, 0);
    g_mutex_unlock(&fake.lock);
}

/* Waits up to 5 s for the call @want to start; TRUE when it did. */
static gboolean
wait_for_call(const char *want)
{
    gint64 deadline = g_get_monotonic_time() + 5 * G_TIME_SPAN_SECOND;
    gboolean found = FALSE;

    g_mutex_lock(&fake.lock);
    while (!found) {
        for (guint i = 0; i < fake.calls->len && !found; i++)
            found = strcmp(fake.calls->pdata[i], want) == 0;
        if (!found && !g_cond_wait_until(&fake.cond, &fake.lock, deadline))
            break;
    }
    g_mutex_unlock(&fake.lock);
    return found;
}

static void
release_blocked(void)
{
    g_mutex_lock(&fake.lock);
    fake.released = TRUE;
    g_cond_broadcast(&fake.cond);
    g_mutex_unlock(&fake.lock);
}

/* ---- the controller under test ---------------------------------------------- */

typedef struct {
    const MomControllerClass *klass;
    gpointer state;
    MomEntity *host;
    GPtrArray *guests; /* MomEntity, owned */
    MomPolicySet *set;
} Bt;

static void
bt_free(Bt *t)
{
    if (!t)
        return;
    /* A blocked call would keep free() waiting for ever. */
    release_blocked();
    if (t->state)
        t->klass->free(t->state);
    mom_entity_free(t->host);
    g_ptr_array_unref(t->guests);
    mom_policy_set_free(t->set);
    g_free(t);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Bt, bt_free)

/* The defaults of the [balloon] section (no key file): a floor of 128
 * MiB, a dead band of 1024 KiB, steps of at most 512 MiB, 3 cycles. */
static MomControllerConfig
default_cfg(void)
{
    MomControllerConfig cfg = {.hypervisor = &fake_ops};

    return cfg;
}

static Bt *
bt_start(const MomControllerConfig *cfg)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(MomSchema) none = mom_schema_new(NULL, 0);
    Bt *t = g_new0(Bt, 1);

    t->klass = mom_controller_lookup("Balloon");
    ck_assert_ptr_nonnull(t->klass);
    t->state = t->klass->init(cfg, &error);
    ck_assert_msg(t->state != NULL, "init: %s", error ? error->message : "?");
    t->host = mom_entity_new(MOM_ENTITY_HOST, "Host", none, 1);
    t->guests = g_ptr_array_new_with_free_func((GDestroyNotify)mom_entity_free);
    t->set = mom_policy_set_new();
    return t;
}

/* A new sample of the guest's balloon; @min < 0 leaves balloon_min nil. */
static void
guest_sample(MomEntity *e, gint64 cur, gint64 max, gint64 min)
{
    MomValue v[3] = {mom_value_int(cur), mom_value_int(max),
                     min < 0 ? mom_value_nil() : mom_value_int(min)};
    mom_entity_push_sample(e, v);
}

static MomEntity *
guest_add(Bt *t, const char *name, const char *uuid, gint64 cur, gint64 max, gint64 min)
{
    static const char *const fields[] = {"balloon_cur", "balloon_max", "balloon_min"};
    g_autoptr(MomSchema) schema = mom_schema_new(fields, G_N_ELEMENTS(fields));
    MomEntity *e = mom_entity_new(MOM_ENTITY_GUEST, name, schema, 1);
    MomValue n = mom_value_string(name, -1);

    mom_entity_set_prop(e, "name", &n);
    mom_value_clear(&n);
    if (uuid) {
        MomValue u = mom_value_string(uuid, -1);
        mom_entity_set_prop(e, "uuid", &u);
        mom_value_clear(&u);
    }
    guest_sample(e, cur, max, min);
    g_ptr_array_add(t->guests, e);
    return e;
}

/* One momd cycle: evaluate @policy (as t.policy), apply, and wait for the
 * hypervisor calls unless @wait is FALSE. */
static void
bt_cycle_full(Bt *t, const char *policy, gboolean wait)
{
    g_autoptr(GError) error = NULL;

    ck_assert_msg(mom_policy_set_add_string(t->set, "t", "t.policy", policy, -1, NULL, &error),
                  "policy: %s", error ? error->message : "?");
    g_autoptr(MomPolicyRun) run = mom_policy_set_evaluate(t->set, t->host, t->guests, 0);
    ck_assert_msg(run->ok && run->errors->len == 0, "the policy failed: %s",
                  run->errors->len ? ((MomPolicyDiag *)run->errors->pdata[0])->message : "?");
    ck_assert(t->klass->apply(t->state, t->host, t->guests, &error));
    if (wait)
        mom_balloon_wait_idle(t->state);
}

static void
bt_cycle(Bt *t, const char *policy)
{
    bt_cycle_full(t, policy, TRUE);
}

static gboolean
uncooperative(MomEntity *e)
{
    const MomValue *v = mom_entity_get_prop(e, "balloon_uncooperative");
    ck_assert_ptr_nonnull(v);
    ck_assert_int_eq(v->type, MOM_VALUE_BOOL);
    return v->u.b;
}

/* Every guest gets the same target; the Control call is at 1:16. */
#define ALL(target) "(with Guests g (g.Control \"balloon_target\" " target "))"

static void
setup(void)
{
    mom_test_log_capture_fields("mom-controller", log_fields);
    clear_calls();
    fake.fail_uuid = NULL;
    fake.gone_uuid = NULL;
    fake.block_uuid = NULL;
    fake.released = FALSE;
}

/* ---- tests ---------------------------------------------------------------- */

START_TEST(test_lookup_and_init)
{
    extern const MomControllerClass mom_controller_balloon;
    MomControllerConfig cfg = default_cfg();
    g_autoptr(GError) error = NULL;

    ck_assert_ptr_eq(mom_controller_lookup("Balloon"), &mom_controller_balloon);
    cfg.hypervisor = NULL;
    ck_assert_ptr_null(mom_controller_balloon.init(&cfg, &error));
    ck_assert(g_error_matches(error, MOM_CONTROLLER_ERROR, MOM_CONTROLLER_ERROR_INIT));
    ck_assert_msg(
        g_str_has_prefix(error->message, "The Balloon controller needs a hypervisor connection; "),
        "%s", error->message);
}
END_TEST

/* Floats go toward zero as MOM's int(); the line names the origin. */
START_TEST(test_truncation_and_log_line)
{
    MomControllerConfig cfg = default_cfg();
    g_autoptr(Bt) t = bt_start(&cfg);

    guest_add(t, "vm1", "uuid-1", 1 * GIB, 4 * GIB, 0);
    bt_cycle(t, ALL("1000000.7"));
    assert_calls("uuid-1=1000000");
    mom_test_log_assert_count(
        G_LOG_LEVEL_MESSAGE,
        "MESSAGE|Balloon|vm1|guest vm1: balloon 1048576 → 1000000 KiB (target 1000000 "
        "requested at t.policy:1:16)",
        1);
    g_autofree char *all = mom_test_log_dump();
    ck_assert_msg(mom_test_log_count("") == 1, "one line per change, got:%s", all);
}
END_TEST

/* Never below min-floor-mib nor the guest's balloon_min, whichever is larger. */
START_TEST(test_floor_and_min)
{
    MomControllerConfig cfg = default_cfg();
    g_autoptr(Bt) t = bt_start(&cfg);

    guest_add(t, "low", "uuid-low", 300 * MIB, 4 * GIB, 64 * MIB);
    guest_add(t, "guaranteed", "uuid-g", 300 * MIB, 4 * GIB, 256 * MIB);
    guest_add(t, "nomin", "uuid-n", 300 * MIB, 4 * GIB, -1);
    bt_cycle(t, ALL("1000"));
    assert_calls("uuid-g=262144 uuid-low=131072 uuid-n=131072");
    mom_test_log_assert_count(
        G_LOG_LEVEL_MESSAGE,
        "guest low: balloon 307200 → 131072 KiB (target 1000 requested at t.policy:1:16; "
        "clamped by min-floor-mib)",
        1);
    mom_test_log_assert_count(
        G_LOG_LEVEL_MESSAGE,
        "guest guaranteed: balloon 307200 → 262144 KiB (target 1000 requested at "
        "t.policy:1:16; clamped by balloon_min)",
        1);

    /* negative targets are raised too, and an unclamped one says nothing */
    clear_calls();
    mom_test_log_clear();
    bt_cycle(t, ALL("-5.5"));
    assert_calls("uuid-g=262144 uuid-low=131072 uuid-n=131072");
    mom_test_log_assert_count(
        G_LOG_LEVEL_MESSAGE, "(target -5 requested at t.policy:1:16; clamped by min-floor-mib)", 2);
    mom_test_log_clear();
    bt_cycle(t, ALL("200000"));
    mom_test_log_assert_count(G_LOG_LEVEL_MESSAGE,
                              "guest low: balloon 307200 → 200000 KiB (target 200000 requested at "
                              "t.policy:1:16)",
                              1);
}
END_TEST

/* A guest on its way to the size asked for is not asked again (the
 * end-to-end test saw a request per cycle while the balloon inflated); a
 * guest that stops short is left to the uncooperative rule. */
START_TEST(test_no_repeat_while_moving)
{
    MomControllerConfig cfg = default_cfg();
    g_autoptr(Bt) t = bt_start(&cfg);
    MomEntity *e = guest_add(t, "vm", "uuid-v", 2 * GIB, 4 * GIB, 0);

    bt_cycle(t, ALL("1900000"));
    assert_calls("uuid-v=1900000");
    clear_calls();
    guest_sample(e, 2000000, 4 * GIB, 0); /* on its way down */
    bt_cycle(t, ALL("1900000"));
    ck_assert_uint_eq(n_calls(), 0);
    const MomValue *v = mom_entity_get_control(e, "balloon_target");
    ck_assert(v != NULL);
    ck_assert_msg(g_str_has_prefix(mom_entity_control(e, 0)->outcome,
                                   "waiting: the balloon is moving to 1900000 KiB"),
                  "%s", mom_entity_control(e, 0)->outcome);
    /* still closer than when it was asked: still not asked twice */
    bt_cycle(t, ALL("1900000"));
    ck_assert_uint_eq(n_calls(), 0);
    guest_sample(e, 1900000, 4 * GIB, 0); /* arrived */
    bt_cycle(t, ALL("1800000"));
    assert_calls("uuid-v=1800000");
}
END_TEST

/* A shrink in progress is not cut short by a step computed from where the
 * balloon is in mid-course; a turn the other way, or a deeper target, goes
 * through (the scenario's 1 s pressure cycles bounced balloons by 400 MiB). */
START_TEST(test_no_turn_in_mid_course)
{
    MomControllerConfig cfg = default_cfg();
    g_autoptr(Bt) t = bt_start(&cfg);
    MomEntity *e = guest_add(t, "vm", "uuid-v", 4 * GIB, 4 * GIB, 0);

    bt_cycle(t, ALL("3700000"));
    assert_calls("uuid-v=3700000");
    clear_calls();
    guest_sample(e, 4100000, 4 * GIB, 0); /* on its way down */
    bt_cycle(t, ALL("3900000"));          /* 5 % below where it is now */
    ck_assert_uint_eq(n_calls(), 0);
    ck_assert_msg(g_str_has_prefix(mom_entity_control(e, 0)->outcome,
                                   "waiting: the balloon is moving to 3700000 KiB, beyond the "
                                   "3900000 KiB asked now"),
                  "%s", mom_entity_control(e, 0)->outcome);
    guest_sample(e, 4000000, 4 * GIB, 0);
    bt_cycle(t, ALL("3650000")); /* deeper: goes through */
    assert_calls("uuid-v=3650000");
    clear_calls();
    guest_sample(e, 3900000, 4 * GIB, 0);
    bt_cycle(t, ALL("4100000")); /* the other way: goes through */
    assert_calls("uuid-v=4100000");
}
END_TEST

/* Never above balloon_max, which also wins over the floor. */
START_TEST(test_max)
{
    MomControllerConfig cfg = default_cfg();
    g_autoptr(Bt) t = bt_start(&cfg);

    guest_add(t, "big", "uuid-big", 4 * GIB - 100 * MIB, 4 * GIB, 0);
    guest_add(t, "tiny", "uuid-tiny", 60 * MIB, 64 * MIB, 0);
    bt_cycle(t, ALL("(* 10 1048576)"));
    assert_calls("uuid-big=4194304 uuid-tiny=65536");
    mom_test_log_assert_count(
        G_LOG_LEVEL_MESSAGE,
        "guest big: balloon 4091904 → 4194304 KiB (target 10485760 requested at "
        "t.policy:1:16; clamped by balloon_max)",
        1);

    /* the floor (128 MiB) is above this guest's maximum: the maximum wins */
    clear_calls();
    mom_test_log_clear();
    bt_cycle(t, ALL("1"));
    mom_test_log_assert_count(G_LOG_LEVEL_MESSAGE,
                              "guest tiny: balloon 61440 → 65536 KiB (target 1 requested at "
                              "t.policy:1:16; clamped by min-floor-mib and balloon_max)",
                              1);
}
END_TEST

/* A change smaller than dead-band-kib is skipped; equal to it is made. */
START_TEST(test_dead_band)
{
    MomControllerConfig cfg = default_cfg();
    g_autoptr(Bt) t = bt_start(&cfg);

    guest_add(t, "vm1", "uuid-1", 1 * GIB, 4 * GIB, 0);
    bt_cycle(t, ALL("1048576"));
    bt_cycle(t, ALL("(+ 1048576 1023)"));
    bt_cycle(t, ALL("(+ 1048576 1023.9)")); /* truncated to 1049599: 1023 away */
    ck_assert_uint_eq(n_calls(), 0);
    ck_assert_uint_eq(mom_test_log_count(""), 0);
    bt_cycle(t, ALL("(- 1048576 1024)"));
    assert_calls("uuid-1=1047552");

    /* a dead band of 0 still skips a target equal to balloon_cur */
    MomControllerConfig zero = default_cfg();
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_key_file_set_int64(kf, "balloon", "dead-band-kib", 0);
    zero.keyfile = kf;
    g_autoptr(Bt) z = bt_start(&zero);
    clear_calls();
    guest_add(z, "vm1", "uuid-1", 1 * GIB, 4 * GIB, 0);
    bt_cycle(z, ALL("1048576"));
    ck_assert_uint_eq(n_calls(), 0);
    bt_cycle(z, ALL("1048577"));
    assert_calls("uuid-1=1048577");
}
END_TEST

/* At most max-step-mib per cycle, toward the target. */
START_TEST(test_max_step)
{
    MomControllerConfig cfg = default_cfg();
    g_autoptr(Bt) t = bt_start(&cfg);
    MomEntity *e = guest_add(t, "vm1", "uuid-1", 2 * GIB, 4 * GIB, 0);

    bt_cycle(t, ALL("0"));
    assert_calls("uuid-1=1572864");
    mom_test_log_assert_count(G_LOG_LEVEL_MESSAGE,
                              "guest vm1: balloon 2097152 → 1572864 KiB (target 0 requested at "
                              "t.policy:1:16; clamped by min-floor-mib and max-step-mib)",
                              1);

    /* the guest follows; the next step reaches the floor */
    guest_sample(e, 1572864, 4 * GIB, 0);
    clear_calls();
    bt_cycle(t, ALL("0"));
    assert_calls("uuid-1=1048576");
    guest_sample(e, 1048576, 4 * GIB, 0);
    clear_calls();
    bt_cycle(t, ALL("0"));
    assert_calls("uuid-1=524288");
    guest_sample(e, 524288, 4 * GIB, 0);
    clear_calls();
    mom_test_log_clear();
    bt_cycle(t, ALL("0"));
    assert_calls("uuid-1=131072");
    mom_test_log_assert_count(
        G_LOG_LEVEL_MESSAGE,
        "524288 → 131072 KiB (target 0 requested at t.policy:1:16; clamped by "
        "min-floor-mib)",
        1);

    /* upwards too */
    guest_sample(e, 131072, 4 * GIB, 0);
    clear_calls();
    bt_cycle(t, ALL("4194304"));
    assert_calls("uuid-1=655360");
    ck_assert(!uncooperative(e));
}
END_TEST

/* Values that are not numbers are skipped with one warning per guest. */
START_TEST(test_bad_values)
{
    MomControllerConfig cfg = default_cfg();
    g_autoptr(Bt) t = bt_start(&cfg);

    guest_add(t, "vm1", "uuid-1", 1 * GIB, 4 * GIB, 0);
    guest_add(t, "vm2", "uuid-2", 1 * GIB, 4 * GIB, 0);
    for (int i = 0; i < 4; i++)
        bt_cycle(t, ALL("nil"));
    bt_cycle(t, ALL("\"1G\""));
    bt_cycle(t, ALL("1e30"));
    ck_assert_uint_eq(n_calls(), 0);
    mom_test_log_assert_count(G_LOG_LEVEL_WARNING,
                              "|Balloon|vm1|guest vm1: ignoring balloon_target = nil set at "
                              "t.policy:1:16: it must be a number of KiB.",
                              1);
    mom_test_log_assert_count(G_LOG_LEVEL_WARNING, "|vm2|guest vm2: ignoring balloon_target = nil",
                              1);
    mom_test_log_assert_count(G_LOG_LEVEL_WARNING, "ignoring balloon_target", 2);

    /* a good value re-arms the warning */
    bt_cycle(t, ALL("900000"));
    ck_assert_uint_eq(n_calls(), 2);
    bt_cycle(t, ALL("1e30"));
    mom_test_log_assert_count(
        G_LOG_LEVEL_WARNING,
        "guest vm1: ignoring balloon_target = 1e+30 set at t.policy:1:16: it is "
        "not a finite number within the 64-bit integer range.",
        1);
    ck_assert_uint_eq(n_calls(), 2);

    /* a guest without stats or without a uuid is skipped, also once */
    mom_test_log_clear();
    MomEntity *nostats = guest_add(t, "nostats", "uuid-3", 0, 0, 0);
    MomValue nil = mom_value_nil();
    MomValue v[3] = {nil, nil, nil};
    mom_entity_push_sample(nostats, v);
    guest_add(t, "nouuid", NULL, 1 * GIB, 4 * GIB, 0);
    bt_cycle(t, ALL("600000"));
    bt_cycle(t, ALL("600000"));
    mom_test_log_assert_count(G_LOG_LEVEL_WARNING,
                              "guest nostats: ignoring balloon_target set at t.policy:1:16: the "
                              "guest's balloon_cur or balloon_max is unknown",
                              1);
    mom_test_log_assert_count(
        G_LOG_LEVEL_WARNING,
        "guest nouuid: ignoring balloon_target set at t.policy:1:16: the guest "
        "has no uuid property",
        1);
    /* vm1 and vm2 did not follow 600000 after the first call: asked again */
    assert_calls("uuid-1=600000 uuid-1=600000 uuid-1=900000 uuid-2=600000 uuid-2=600000 "
                 "uuid-2=900000");
}
END_TEST

START_TEST(test_dry_run)
{
    MomControllerConfig cfg = default_cfg();
    cfg.dry_run = TRUE;
    g_autoptr(Bt) t = bt_start(&cfg);
    MomEntity *e = guest_add(t, "vm1", "uuid-1", 2 * GIB, 4 * GIB, 0);

    for (int i = 0; i < 5; i++)
        bt_cycle(t, ALL("0"));
    ck_assert_uint_eq(n_calls(), 0);
    /* the same decision every cycle is logged once; the outcome stays */
    mom_test_log_assert_count(
        G_LOG_LEVEL_MESSAGE,
        "MESSAGE|Balloon|vm1|guest vm1: balloon 2097152 → 1572864 KiB would be "
        "set (dry run) (target 0 requested at t.policy:1:16; clamped by "
        "min-floor-mib and max-step-mib)",
        1);
    ck_assert_str_eq(mom_entity_control(e, 0)->outcome,
                     "dry run: would set 2097152 → 1572864 KiB; clamped by min-floor-mib and "
                     "max-step-mib");
    /* nothing was asked of the guest, so it cannot be uncooperative */
    ck_assert(!uncooperative(e));

    /* a new size is news; one within the dead band (1024 KiB) of the size
     * logged is the same decision */
    mom_test_log_clear();
    bt_cycle(t, ALL("1800000"));
    bt_cycle(t, ALL("1800500"));
    bt_cycle(t, ALL("1798000"));
    mom_test_log_assert_count(G_LOG_LEVEL_MESSAGE, "would be set (dry run)", 2);
    mom_test_log_assert_count(G_LOG_LEVEL_MESSAGE,
                              "balloon 2097152 → 1800000 KiB would be set (dry run)", 1);
    mom_test_log_assert_count(G_LOG_LEVEL_MESSAGE,
                              "balloon 2097152 → 1798000 KiB would be set (dry run)", 1);
    /* so is the same size after a cycle that asked for nothing */
    bt_cycle(t, "(defvar quiet 1)");
    bt_cycle(t, ALL("1798000"));
    mom_test_log_assert_count(G_LOG_LEVEL_MESSAGE,
                              "balloon 2097152 → 1798000 KiB would be set (dry run)", 2);
    /* and after the guest's balloon moved on its own */
    guest_sample(e, 2 * GIB - 4096, 4 * GIB, 0);
    bt_cycle(t, ALL("1798000"));
    mom_test_log_assert_count(G_LOG_LEVEL_MESSAGE,
                              "balloon 2093056 → 1798000 KiB would be set (dry run)", 1);
    mom_test_log_assert_count(G_LOG_LEVEL_MESSAGE, "would be set (dry run)", 4);
    ck_assert_uint_eq(n_calls(), 0);
}
END_TEST

/*
 * A guest whose balloon does not follow is marked after
 * uncooperative-cycles cycles, left alone, and taken back when its balloon
 * moves on its own.
 */
START_TEST(test_uncooperative)
{
    MomControllerConfig cfg = default_cfg();
    g_autoptr(Bt) t = bt_start(&cfg);
    MomEntity *stuck = guest_add(t, "stuck", "uuid-s", 2 * GIB, 4 * GIB, 0);
    MomEntity *good = guest_add(t, "good", "uuid-g", 2 * GIB, 4 * GIB, 0);
    /* the policy reads the mark: it must always be there */
    const char *policy = "(with Guests g (if (g.Prop \"balloon_uncooperative\") 0 "
                         "(g.Control \"balloon_target\" 1800000)))";

    for (int i = 0; i < 3; i++) {
        /* the property exists once the controller has run: not before */
        bt_cycle(t, i == 0 ? ALL("1800000") : policy);
        ck_assert(!uncooperative(stuck));
        guest_sample(good, 1800000 + 100, 4 * GIB, 0); /* within the dead band */
    }
    /* three requests, three cycles without result: marked at the fourth */
    assert_calls("uuid-g=1800000 uuid-s=1800000 uuid-s=1800000 uuid-s=1800000");
    ck_assert_uint_eq(mom_test_log_count_at(G_LOG_LEVEL_WARNING, "marked"), 0);
    clear_calls();
    bt_cycle(t, ALL("1800000"));
    ck_assert(uncooperative(stuck));
    ck_assert(!uncooperative(good));
    ck_assert_uint_eq(n_calls(), 0);
    mom_test_log_assert_count(
        G_LOG_LEVEL_WARNING,
        "|stuck|guest stuck: the balloon did not come within 1024 KiB of the "
        "requested 1800000 KiB in 3 cycles (balloon_cur 2097152 KiB); the guest "
        "is marked balloon_uncooperative",
        1);

    /* left alone: no calls, no more warnings; the policy sees the mark */
    for (int i = 0; i < 3; i++)
        bt_cycle(t, ALL("1800000"));
    bt_cycle(t, policy);
    ck_assert_uint_eq(n_calls(), 0);
    ck_assert_uint_eq(mom_test_log_count_at(G_LOG_LEVEL_WARNING, "uncooperative"), 1);

    /* a move within the dead band is not a sign of life */
    guest_sample(stuck, 2 * GIB - 1000, 4 * GIB, 0);
    bt_cycle(t, ALL("1800000"));
    ck_assert(uncooperative(stuck));
    ck_assert_uint_eq(n_calls(), 0);

    /* more than the dead band is: the mark goes, changes resume */
    guest_sample(stuck, 1900000, 4 * GIB, 0);
    bt_cycle(t, ALL("1800000"));
    ck_assert(!uncooperative(stuck));
    mom_test_log_assert_count(G_LOG_LEVEL_MESSAGE,
                              "guest stuck: the balloon responds again (balloon_cur 1900000 KiB, "
                              "2097152 KiB when it stopped responding)",
                              1);
    assert_calls("uuid-s=1800000");

    /* a guest that leaves the list is forgotten: back, it starts afresh */
    for (int i = 0; i < 3; i++)
        bt_cycle(t, ALL("1800000"));
    ck_assert(uncooperative(stuck));
    g_ptr_array_remove_index(t->guests, 0); /* "stuck" goes away */
    bt_cycle(t, ALL("1800000"));
    stuck = guest_add(t, "stuck", "uuid-s", 2 * GIB, 4 * GIB, 0);
    clear_calls();
    bt_cycle(t, ALL("1800000"));
    ck_assert(!uncooperative(stuck));
    assert_calls("uuid-s=1800000");
}
END_TEST

/* A guest whose call blocks delays nobody else, and gets no second call. */
START_TEST(test_blocked_guest)
{
    MomControllerConfig cfg = default_cfg();
    g_autoptr(Bt) t = bt_start(&cfg);

    guest_add(t, "busy", "uuid-busy", 2 * GIB, 4 * GIB, 0);
    guest_add(t, "free", "uuid-free", 2 * GIB, 4 * GIB, 0);
    fake.block_uuid = "uuid-busy";

    gint64 start = g_get_monotonic_time();
    bt_cycle_full(t, ALL("2000000"), FALSE);
    /* apply() itself never waits for the hypervisor */
    ck_assert_int_lt(g_get_monotonic_time() - start, G_TIME_SPAN_SECOND);
    ck_assert(wait_for_call("uuid-busy=2000000"));
    ck_assert(wait_for_call("uuid-free=2000000"));
    /* the free guest's call finishes while busy's blocks */
    for (int i = 0; i < 500 && mom_balloon_n_pending(t->state) > 1; i++)
        g_usleep(10000);
    ck_assert_uint_eq(mom_balloon_n_pending(t->state), 1);
    mom_test_log_assert_count(G_LOG_LEVEL_MESSAGE, "guest free: balloon 2097152 → 2000000 KiB", 1);
    mom_test_log_assert_count(G_LOG_LEVEL_MESSAGE, "guest busy:", 0);

    /* next cycles: busy is skipped (said once), free goes on */
    bt_cycle_full(t, ALL("1900000"), FALSE);
    ck_assert(wait_for_call("uuid-free=1900000"));
    for (int i = 0; i < 500 && mom_balloon_n_pending(t->state) > 1; i++)
        g_usleep(10000);
    bt_cycle_full(t, ALL("1800000"), FALSE);
    ck_assert(wait_for_call("uuid-free=1800000"));
    /* a call a second or two late is no news: not a warning yet */
    mom_test_log_assert_count(G_LOG_LEVEL_WARNING, "is still running", 0);
    /* one still running after MOM_CONTROLLER_BUSY_WARN_S is, once */
    g_usleep(MOM_CONTROLLER_BUSY_WARN_S * G_USEC_PER_SEC);
    bt_cycle_full(t, ALL("1800000"), FALSE);
    bt_cycle_full(t, ALL("1800000"), FALSE);
    mom_test_log_assert_count(G_LOG_LEVEL_WARNING,
                              "|busy|guest busy: the previous balloon change (to 2000000 KiB) is "
                              "still running after ",
                              1);
    mom_test_log_assert_count(G_LOG_LEVEL_WARNING, "is still running", 1);

    release_blocked();
    mom_balloon_wait_idle(t->state);
    mom_test_log_assert_count(G_LOG_LEVEL_MESSAGE, "guest busy: balloon 2097152 → 2000000 KiB", 1);
    assert_calls("uuid-busy=2000000 uuid-free=1800000 uuid-free=1900000 uuid-free=2000000");
    /* the next cycle calls it again */
    bt_cycle(t, ALL("1700000"));
    ck_assert(wait_for_call("uuid-busy=1700000"));
}
END_TEST

/* A balloon that moves after the request and stops short of it (the guest
 * could not give more, or virsh setmem set it elsewhere: the churn soak saw
 * it) answers its balloon: the guest is not marked, and the next request
 * starts from where it stopped. */
START_TEST(test_stopped_short_is_not_uncooperative)
{
    MomControllerConfig cfg = default_cfg();
    g_autoptr(Bt) t = bt_start(&cfg);
    MomEntity *g = guest_add(t, "short", "uuid-short", 2 * GIB, 4 * GIB, 0);
    gint64 at = g_get_monotonic_time();

    bt_cycle(t, ALL("1800000"));
    assert_calls("uuid-short=1800000");
    /* it moves to 1950000 and stays there, a new sample each cycle, three
     * cycles (before, that marked it): the request is over at the second,
     * and the next starts from there */
    for (int i = 0; i < 3; i++) {
        guest_sample(g, 1950000, 4 * GIB, 0);
        MomValue v = mom_value_int(at += 1000000);
        mom_entity_set_prop(g, "sampled_at", &v);
        bt_cycle(t, ALL("1800000"));
    }
    ck_assert(!uncooperative(g));
    /* asked from there, it follows */
    guest_sample(g, 1800000, 4 * GIB, 0);
    MomValue v = mom_value_int(at += 1000000);
    mom_entity_set_prop(g, "sampled_at", &v);
    bt_cycle(t, ALL("1800000"));
    ck_assert(!uncooperative(g));
    ck_assert_uint_eq(mom_test_log_count_at(G_LOG_LEVEL_WARNING, "uncooperative"), 0);

    /* a balloon that stopped short and then never moves again is still
     * caught: three requests from where it stopped, three misses */
    g_autoptr(Bt) t2 = bt_start(&cfg);
    MomEntity *h = guest_add(t2, "stops", "uuid-stops", 2 * GIB, 4 * GIB, 0);
    bt_cycle(t2, ALL("1800000"));
    for (int i = 0; i < 6; i++) {
        guest_sample(h, 1950000, 4 * GIB, 0);
        MomValue w = mom_value_int(at += 1000000);
        mom_entity_set_prop(h, "sampled_at", &w);
        bt_cycle(t2, ALL("1800000"));
    }
    ck_assert(uncooperative(h));
}
END_TEST

/* Failures are logged once per guest until a call succeeds again, and do
 * not count against the guest. */
START_TEST(test_errors_once)
{
    MomControllerConfig cfg = default_cfg();
    g_autoptr(Bt) t = bt_start(&cfg);
    MomEntity *bad = guest_add(t, "bad", "uuid-bad", 2 * GIB, 4 * GIB, 0);

    MomEntity *ok = guest_add(t, "ok", "uuid-ok", 2 * GIB, 4 * GIB, 0);
    guint64 failures0 = mom_controller_call_failures("Balloon");
    fake.fail_uuid = "uuid-bad";
    for (int i = 0; i < 5; i++) {
        bt_cycle(t, ALL("2000000"));
        guest_sample(ok, 2000000, 4 * GIB, 0); /* this one follows */
    }
    /* bad is asked every cycle (failures do not count against it); ok once */
    ck_assert_uint_eq(n_calls(), 6);
    mom_test_log_assert_count(
        G_LOG_LEVEL_WARNING,
        "WARNING|Balloon|bad|guest bad: cannot set the balloon to 2000000 KiB "
        "(target 2000000 requested at t.policy:1:16): Timed out during "
        "operation: cannot acquire state change lock",
        1);
    mom_test_log_assert_count(G_LOG_LEVEL_MESSAGE, "guest bad:", 0);
    ck_assert(!uncooperative(bad));
    /* each refused call is counted for the metrics, though said once */
    ck_assert_uint_eq(mom_controller_call_failures("Balloon") - failures0, 5);
    ck_assert_uint_eq(mom_controller_call_failures("CpuTune"), 0);
    ck_assert_uint_eq(mom_controller_call_failures("nonsense"), 0);

    /* success, then failure again: the new failure is news */
    fake.fail_uuid = NULL;
    bt_cycle(t, ALL("2000000"));
    mom_test_log_assert_count(G_LOG_LEVEL_MESSAGE, "guest bad: balloon 2097152 → 2000000 KiB", 1);
    fake.fail_uuid = "uuid-bad";
    bt_cycle(t, ALL("2000000"));
    bt_cycle(t, ALL("2000000"));
    mom_test_log_assert_count(G_LOG_LEVEL_WARNING, "guest bad: cannot set the balloon", 2);
}
END_TEST

/* A guest destroyed under its balloon call is churn: nothing above debug
 * level, and its next failure for another reason is still news. */
START_TEST(test_gone_is_not_a_fault)
{
    MomControllerConfig cfg = default_cfg();
    g_autoptr(Bt) t = bt_start(&cfg);
    MomEntity *g = guest_add(t, "gone", "uuid-gone", 2 * GIB, 4 * GIB, 0);
    guint64 failures0 = mom_controller_call_failures("Balloon");

    fake.gone_uuid = "uuid-gone";
    bt_cycle(t, ALL("2000000"));
    bt_cycle(t, ALL("2000000"));
    ck_assert_uint_eq(n_calls(), 2);
    mom_test_log_assert_count(G_LOG_LEVEL_WARNING, "gone", 0);
    mom_test_log_assert_count(G_LOG_LEVEL_DEBUG, "guest gone went away under the balloon change",
                              2);
    /* churn is no failure */
    ck_assert_uint_eq(mom_controller_call_failures("Balloon"), failures0);
    ck_assert(!uncooperative(g));
    fake.gone_uuid = NULL;
    fake.fail_uuid = "uuid-gone";
    bt_cycle(t, ALL("2000000"));
    mom_test_log_assert_count(G_LOG_LEVEL_WARNING, "guest gone: cannot set the balloon", 1);
    fake.fail_uuid = NULL;
}
END_TEST

static Suite *
balloon_suite(void)
{
    Suite *s = suite_create("balloon");
    TCase *tc = tcase_create("balloon");

    tcase_add_checked_fixture(tc, setup, mom_test_log_release);
    tcase_add_test(tc, test_lookup_and_init);
    tcase_add_test(tc, test_truncation_and_log_line);
    tcase_add_test(tc, test_floor_and_min);
    tcase_add_test(tc, test_no_repeat_while_moving);
    tcase_add_test(tc, test_no_turn_in_mid_course);
    tcase_add_test(tc, test_max);
    tcase_add_test(tc, test_dead_band);
    tcase_add_test(tc, test_max_step);
    tcase_add_test(tc, test_bad_values);
    tcase_add_test(tc, test_dry_run);
    tcase_add_test(tc, test_uncooperative);
    tcase_add_test(tc, test_stopped_short_is_not_uncooperative);
    tcase_add_test(tc, test_blocked_guest);
    tcase_add_test(tc, test_errors_once);
    tcase_add_test(tc, test_gone_is_not_a_fault);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    int failed;

    fake.calls = g_ptr_array_new_with_free_func(g_free);
    SRunner *sr = srunner_create(balloon_suite());
    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    g_ptr_array_unref(fake.calls);
    return failed == 0 ? 0 : 1;
}
