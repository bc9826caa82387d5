/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * CPU tuning: the per-VM tuning metadata (momd's and oVirt's namespaces),
 * the GuestCpuTune collector, the CpuTune controller against a fake
 * hypervisor, and the libvirt test driver (metadata-change events, the
 * scheduler parameters read).
 *
 * libvirt's test driver has the "fair" scheduler only (weight), so it can
 * neither report nor set vcpu_quota/vcpu_period (virsh schedinfo --set
 * fails there): the controller's set-and-read-back is covered by the fake
 * here and by tests/e2e/test-momd-cputune.sh against real QEMU.
 */
#include "config.h"

#include <check.h>
#include <string.h>

#include <glib.h>
#include <libvirt/libvirt.h>

#include "collector-priv.h"
#include "cputune-priv.h"
#include "mom-collector.h"
#include "mom-controller.h"
#include "mom-libvirt-priv.h"
#include "mom-libvirt.h"
#include "mom-policy.h"
#include "mom-test-log.h"

/* ---- metadata ------------------------------------------------------------------ */

#define DOMAIN_HEAD                                                                                \
    "<domain type='kvm'><name>vm1</name><uuid>6d6f6d64-0000-4000-8000-000000000001</uuid>"
#define DOMAIN_TAIL                                                                                \
    "<memory unit='KiB'>4194304</memory><vcpu placement='static' current='2'>8</vcpu>"             \
    "<memtune><min_guarantee unit='KiB'>524288</min_guarantee></memtune>"                          \
    "<devices><memballoon model='virtio'/></devices></domain>"

static MomDomainInfo *
parse(const char *xml, GPtrArray *warnings)
{
    MomDomainInfo *info = g_new0(MomDomainInfo, 1);
    mom_libvirt_tune_defaults(info);
    ck_assert(mom_libvirt_parse_domain_xml(xml, info, warnings));
    return info;
}

START_TEST(test_meta_none)
{
    g_autoptr(GPtrArray) w = g_ptr_array_new_with_free_func(g_free);
    MomDomainInfo *info = parse(DOMAIN_HEAD DOMAIN_TAIL, w);

    ck_assert_uint_eq(w->len, 0);
    ck_assert(info->tune.vcpu_user_limit == 100);
    ck_assert_int_eq(info->tune.balloon_weight, -1);
    ck_assert_int_eq(info->tune.balloon_min, 524288);
    ck_assert_int_eq(info->tune.vcpu_count, 2);
    ck_assert_uint_eq(info->n_io_tune, 0);
    mom_domain_info_free(info);
}
END_TEST

START_TEST(test_meta_momd)
{
    g_autoptr(GPtrArray) w = g_ptr_array_new_with_free_func(g_free);
    const char *xml = DOMAIN_HEAD "<metadata><momd:tune xmlns:momd='urn:momd:tune:1'>"
                                  "<momd:balloon min-kib='1048576' weight='200'/>"
                                  "<momd:vcpu limit='37.5'/>"
                                  "<momd:io device='vda' path='/img/a.qcow2'>"
                                  "<momd:guaranteed total-bytes-sec='1000000' read-iops-sec='50'/>"
                                  "<momd:maximum total-bytes-sec='5000000' write-iops-sec='500'/>"
                                  "</momd:io></momd:tune></metadata>" DOMAIN_TAIL;
    MomDomainInfo *info = parse(xml, w);

    ck_assert_uint_eq(w->len, 0);
    ck_assert(info->tune.vcpu_user_limit == 37.5);
    ck_assert_int_eq(info->tune.balloon_weight, 200);
    /* the metadata's minimum is larger than min_guarantee: it wins */
    ck_assert_int_eq(info->tune.balloon_min, 1048576);
    ck_assert_uint_eq(info->n_io_tune, 1);
    const MomIoTunePolicy *io = &info->io_tune[0];
    ck_assert_str_eq(io->name, "vda");
    ck_assert_str_eq(io->path, "/img/a.qcow2");
    ck_assert_int_eq(io->guaranteed[MOM_IO_TOTAL_BYTES_SEC], 1000000);
    ck_assert_int_eq(io->guaranteed[MOM_IO_READ_IOPS_SEC], 50);
    ck_assert_int_eq(io->guaranteed[MOM_IO_WRITE_IOPS_SEC], -1);
    ck_assert_int_eq(io->maximum[MOM_IO_TOTAL_BYTES_SEC], 5000000);
    ck_assert_int_eq(io->maximum[MOM_IO_WRITE_IOPS_SEC], 500);
    ck_assert_int_eq(io->maximum[MOM_IO_READ_BYTES_SEC], -1);

    /* a copy is deep */
    MomDomainInfo *c = mom_domain_info_copy(info);
    mom_domain_info_free(info);
    ck_assert_str_eq(c->io_tune[0].name, "vda");
    ck_assert_int_eq(c->io_tune[0].maximum[MOM_IO_WRITE_IOPS_SEC], 500);
    mom_domain_info_free(c);
}
END_TEST

/* A smaller metadata minimum does not lower min_guarantee; unqualified
 * children (as older libvirt stores virsh metadata --set) are accepted. */
START_TEST(test_meta_momd_unqualified)
{
    g_autoptr(GPtrArray) w = g_ptr_array_new_with_free_func(g_free);
    const char *xml = DOMAIN_HEAD "<metadata><momd:tune xmlns:momd='urn:momd:tune:1'>"
                                  "<balloon min-kib='1024'/><vcpu limit='50'/>"
                                  "</momd:tune></metadata>" DOMAIN_TAIL;
    MomDomainInfo *info = parse(xml, w);

    ck_assert_uint_eq(w->len, 0);
    ck_assert(info->tune.vcpu_user_limit == 50);
    ck_assert_int_eq(info->tune.balloon_min, 524288);
    mom_domain_info_free(info);
}
END_TEST

START_TEST(test_meta_ovirt)
{
    g_autoptr(GPtrArray) w = g_ptr_array_new_with_free_func(g_free);
    const char *xml = DOMAIN_HEAD
        "<metadata xmlns:ovirt-tune='http://ovirt.org/vm/tune/1.0'><ovirt-tune:qos>"
        "<ovirt-tune:vcpuLimit>50</ovirt-tune:vcpuLimit>"
        "<ovirt-tune:ioTune><ovirt-tune:device name='vda' path='/rhev/x'>"
        "<ovirt-tune:maximum><ovirt-tune:total_bytes_sec>10485760</ovirt-tune:total_bytes_sec>"
        "</ovirt-tune:maximum>"
        "<ovirt-tune:guaranteed><ovirt-tune:read_iops_sec>100</ovirt-tune:read_iops_sec>"
        "</ovirt-tune:guaranteed></ovirt-tune:device>"
        "<ovirt-tune:device name='vdb'><ovirt-tune:maximum>"
        "<ovirt-tune:write_bytes_sec>1</ovirt-tune:write_bytes_sec></ovirt-tune:maximum>"
        "</ovirt-tune:device></ovirt-tune:ioTune>"
        "</ovirt-tune:qos></metadata>" DOMAIN_TAIL;
    MomDomainInfo *info = parse(xml, w);

    ck_assert_uint_eq(w->len, 0);
    ck_assert(info->tune.vcpu_user_limit == 50);
    ck_assert_uint_eq(info->n_io_tune, 2);
    ck_assert_str_eq(info->io_tune[0].name, "vda");
    ck_assert_str_eq(info->io_tune[0].path, "/rhev/x");
    ck_assert_int_eq(info->io_tune[0].maximum[MOM_IO_TOTAL_BYTES_SEC], 10485760);
    ck_assert_int_eq(info->io_tune[0].guaranteed[MOM_IO_READ_IOPS_SEC], 100);
    ck_assert_str_eq(info->io_tune[1].name, "vdb");
    ck_assert_ptr_null(info->io_tune[1].path);
    ck_assert_int_eq(info->io_tune[1].maximum[MOM_IO_WRITE_BYTES_SEC], 1);
    mom_domain_info_free(info);
}
END_TEST

/* Both namespaces: momd's wins for the limit and for the same disk. */
START_TEST(test_meta_both)
{
    g_autoptr(GPtrArray) w = g_ptr_array_new_with_free_func(g_free);
    const char *xml =
        DOMAIN_HEAD "<metadata>"
                    "<ovirt-tune:qos xmlns:ovirt-tune='http://ovirt.org/vm/tune/1.0'>"
                    "<ovirt-tune:vcpuLimit>20</ovirt-tune:vcpuLimit><ovirt-tune:ioTune>"
                    "<ovirt-tune:device name='vda'><ovirt-tune:maximum>"
                    "<ovirt-tune:total_iops_sec>7</ovirt-tune:total_iops_sec>"
                    "</ovirt-tune:maximum></ovirt-tune:device></ovirt-tune:ioTune>"
                    "</ovirt-tune:qos>"
                    "<momd:tune xmlns:momd='urn:momd:tune:1'><momd:vcpu limit='80'/>"
                    "<momd:io device='vda'><momd:maximum total-iops-sec='9'/></momd:io>"
                    "</momd:tune></metadata>" DOMAIN_TAIL;
    MomDomainInfo *info = parse(xml, w);

    ck_assert(info->tune.vcpu_user_limit == 80);
    ck_assert_uint_eq(info->n_io_tune, 1);
    ck_assert_int_eq(info->io_tune[0].maximum[MOM_IO_TOTAL_IOPS_SEC], 9);
    mom_domain_info_free(info);
}
END_TEST

/* Each bad value keeps its default and gives exactly one warning. */
START_TEST(test_meta_garbage)
{
    g_autoptr(GPtrArray) w = g_ptr_array_new_with_free_func(g_free);
    const char *xml = DOMAIN_HEAD "<metadata><momd:tune xmlns:momd='urn:momd:tune:1'>"
                                  "<momd:balloon min-kib='lots' weight='-3'/>"
                                  "<momd:vcpu limit='150'/>"
                                  "<momd:io device='vda'><momd:maximum total-bytes-sec='1e9x'/>"
                                  "</momd:io></momd:tune></metadata>" DOMAIN_TAIL;
    MomDomainInfo *info = parse(xml, w);

    ck_assert_uint_eq(w->len, 4);
    ck_assert(info->tune.vcpu_user_limit == 100);
    ck_assert_int_eq(info->tune.balloon_weight, -1);
    ck_assert_int_eq(info->tune.balloon_min, 524288);
    ck_assert_int_eq(info->io_tune[0].maximum[MOM_IO_TOTAL_BYTES_SEC], -1);
    ck_assert_ptr_nonnull(strstr(w->pdata[0], "Guest vm1: ignoring balloon min-kib = 'lots'"));
    ck_assert_ptr_nonnull(strstr(w->pdata[2], "vcpu limit = '150'"));
    mom_domain_info_free(info);

    g_ptr_array_set_size(w, 0);
    info = parse(DOMAIN_HEAD
                 "<metadata><ovirt-tune:qos xmlns:ovirt-tune='http://ovirt.org/vm/tune/1.0'>"
                 "<ovirt-tune:vcpuLimit>fifty</ovirt-tune:vcpuLimit></ovirt-tune:qos></"
                 "metadata>" DOMAIN_TAIL,
                 w);
    ck_assert_uint_eq(w->len, 1);
    ck_assert(info->tune.vcpu_user_limit == 100);
    mom_domain_info_free(info);

    /* not XML at all: nothing changes */
    MomDomainInfo blank = {0};
    ck_assert(!mom_libvirt_parse_domain_xml("<domain", &blank, w));
    ck_assert(!blank.have_xml);
}
END_TEST

/* ---- the collector ------------------------------------------------------------ */

START_TEST(test_collector)
{
    g_autoptr(GError) error = NULL;
    MomGuestData d = {0};
    MomCollectorConfig cfg = {.guest = &d};
    const MomCollectorClass *k = mom_collector_lookup("GuestCpuTune");

    ck_assert_ptr_eq(k, &mom_collector_guest_cputune);
    gpointer st = k->init(&cfg, &error);
    ck_assert_ptr_nonnull(st);
    g_autoptr(MomSchema) schema = mom_collector_schema_new(&k, 1);

    d.tune.sched_known = TRUE;
    d.tune.vcpu_quota = -1;
    d.tune.vcpu_period = 100000;
    d.tune.vcpu_count = 4;
    d.tune.vcpu_user_limit = 100;
    g_autoptr(MomSample) s = mom_sample_new(schema);
    ck_assert(k->collect(st, s, &error));
    ck_assert_ptr_null(mom_sample_missing_field(s, k));
    ck_assert_int_eq(mom_sample_get(s, "vcpu_quota")->u.i, -1);
    ck_assert_int_eq(mom_sample_get(s, "vcpu_period")->u.i, 100000);
    ck_assert_int_eq(mom_sample_get(s, "vcpu_user_limit")->type, MOM_VALUE_INT);
    ck_assert_int_eq(mom_sample_get(s, "vcpu_user_limit")->u.i, 100);
    ck_assert_int_eq(mom_sample_get(s, "vcpu_count")->u.i, 4);

    /* a fractional limit is a float; unknown scheduler parameters leave
     * the sample incomplete */
    d.tune.vcpu_user_limit = 12.5;
    d.tune.sched_known = FALSE;
    g_autoptr(MomSample) s2 = mom_sample_new(schema);
    ck_assert(k->collect(st, s2, &error));
    ck_assert_int_eq(mom_sample_get(s2, "vcpu_user_limit")->type, MOM_VALUE_FLOAT);
    ck_assert(mom_sample_get(s2, "vcpu_user_limit")->u.d == 12.5);
    ck_assert_str_eq(mom_sample_missing_field(s2, k), "vcpu_quota");
    k->free(st);

    /* a guest collector */
    MomCollectorConfig host = {0};
    ck_assert_ptr_null(k->init(&host, &error));
    ck_assert(g_error_matches(error, MOM_COLLECTOR_ERROR, MOM_COLLECTOR_ERROR_CONFIG));
}
END_TEST

/* ---- the controller ------------------------------------------------------------ */

static struct {
    GMutex lock;
    GPtrArray *calls; /* "uuid q=Q p=P" */
    gboolean fail;
} fake;

static gboolean
fake_set_cpu_tune(gpointer hv, const char *uuid, gint64 quota, guint64 period, GError **error)
{
    g_mutex_lock(&fake.lock);
    g_ptr_array_add(fake.calls, g_strdup_printf("%s q=%" G_GINT64_FORMAT " p=%" G_GUINT64_FORMAT,
                                                uuid, quota, period));
    g_mutex_unlock(&fake.lock);
    if (fake.fail) {
        g_set_error_literal(error, MOM_CONTROLLER_ERROR, MOM_CONTROLLER_ERROR_APPLY, "no");
        return FALSE;
    }
    return TRUE;
}

static const MomHypervisorOps fake_ops = {.hv = &fake, .set_cpu_tune = fake_set_cpu_tune};

typedef struct {
    const MomControllerClass *klass;
    gpointer state;
    MomEntity *host;
    GPtrArray *guests;
    MomPolicySet *set;
} Ct;

static Ct *
ct_start(gboolean dry_run)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(MomSchema) none = mom_schema_new(NULL, 0);
    MomControllerConfig cfg = {.hypervisor = &fake_ops, .dry_run = dry_run};
    Ct *t = g_new0(Ct, 1);

    g_mutex_lock(&fake.lock);
    g_ptr_array_set_size(fake.calls, 0);
    fake.fail = FALSE;
    g_mutex_unlock(&fake.lock);
    t->klass = mom_controller_lookup("CpuTune");
    ck_assert_ptr_nonnull(t->klass);
    t->state = t->klass->init(&cfg, &error);
    ck_assert_ptr_nonnull(t->state);
    t->host = mom_entity_new(MOM_ENTITY_HOST, "Host", none, 1);
    t->guests = g_ptr_array_new_with_free_func((GDestroyNotify)mom_entity_free);
    t->set = mom_policy_set_new();
    return t;
}

static void
ct_free(Ct *t)
{
    t->klass->free(t->state);
    mom_entity_free(t->host);
    g_ptr_array_free(t->guests, TRUE);
    mom_policy_set_free(t->set);
    g_free(t);
}

static void
guest_sample(MomEntity *e, gint64 quota, gint64 period)
{
    MomValue v[2] = {mom_value_int(quota), mom_value_int(period)};
    mom_entity_push_sample(e, v);
}

static MomEntity *
guest_add(Ct *t, const char *name, gint64 quota, gint64 period)
{
    static const char *const fields[] = {"vcpu_quota", "vcpu_period"};
    g_autoptr(MomSchema) schema = mom_schema_new(fields, G_N_ELEMENTS(fields));
    MomEntity *e = mom_entity_new(MOM_ENTITY_GUEST, name, schema, 1);
    g_autofree char *uuid = g_strdup_printf("uuid-%s", name);
    MomValue u = mom_value_string(uuid, -1);

    mom_entity_set_prop(e, "uuid", &u);
    mom_value_clear(&u);
    guest_sample(e, quota, period);
    g_ptr_array_add(t->guests, e);
    return e;
}

static void
ct_cycle(Ct *t, const char *policy)
{
    g_autoptr(GError) error = NULL;

    ck_assert(mom_policy_set_add_string(t->set, "t", "t.policy", policy, -1, NULL, &error));
    g_autoptr(MomPolicyRun) run = mom_policy_set_evaluate(t->set, t->host, t->guests, 0);
    ck_assert(run->ok);
    ck_assert(t->klass->apply(t->state, t->host, t->guests, &error));
    mom_cputune_wait_idle(t->state);
}

static const char *
outcome(MomEntity *e, const char *name)
{
    for (guint i = 0; i < mom_entity_n_controls(e); i++)
        if (strcmp(mom_entity_control(e, i)->name, name) == 0)
            return mom_entity_control(e, i)->outcome;
    return NULL;
}

static guint
n_calls(void)
{
    g_mutex_lock(&fake.lock);
    guint n = fake.calls->len;
    g_mutex_unlock(&fake.lock);
    return n;
}

static const char *
call(guint i)
{
    return fake.calls->pdata[i];
}

START_TEST(test_controller_apply)
{
    Ct *t = ct_start(FALSE);
    MomEntity *a = guest_add(t, "a", -1, 100000);
    MomEntity *b = guest_add(t, "b", 50000, 100000);

    /* a: quota (a float, truncated) and period; b: quota only, the same
     * as now, so nothing is called */
    ct_cycle(t, "(with Guests g (if (== (g.Prop \"uuid\") \"uuid-a\")\n"
                "  { (g.Control \"vcpu_quota\" 25000.9) (g.Control \"vcpu_period\" 50000) }\n"
                "  (g.Control \"vcpu_quota\" 50000)))");
    ck_assert_uint_eq(n_calls(), 1);
    ck_assert_str_eq(call(0), "uuid-a q=25000 p=50000");
    ck_assert_str_eq(outcome(a, "vcpu_quota"),
                     "requested quota -1 → 25000, period 100000 → 50000 µs");
    ck_assert_str_eq(outcome(a, "vcpu_period"), outcome(a, "vcpu_quota"));
    ck_assert_str_eq(outcome(b, "vcpu_quota"), "unchanged: quota 50000, period 100000 µs");
    ck_assert_uint_eq(
        mom_test_log_count("guest a: vcpu_quota -1 → 25000 µs, vcpu_period 100000 → 50000 µs "
                           "(requested at t.policy:2:5)"),
        1);

    /* the next cycle still sees the old sample (taken before the change
     * returned): the same request is not sent again */
    MomValue at = mom_value_int(0);
    mom_entity_set_prop(a, "sampled_at", &at);
    ct_cycle(t, "(with Guests g (if (== (g.Prop \"uuid\") \"uuid-a\")\n"
                "  { (g.Control \"vcpu_quota\" 25000) (g.Control \"vcpu_period\" 50000) } 0))");
    ck_assert_msg(n_calls() == 1, "%s", call(n_calls() - 1));
    ck_assert_str_eq(outcome(a, "vcpu_quota"),
                     "unchanged: just set; waiting for the guest's new values");

    /* read back: equal, nothing to do */
    guest_sample(a, 25000, 50000);
    at = mom_value_int(G_MAXINT64);
    mom_entity_set_prop(a, "sampled_at", &at);
    ct_cycle(t, "(with Guests g (if (== (g.Prop \"uuid\") \"uuid-a\")\n"
                "  (g.Control \"vcpu_quota\" 25000) 0))");
    ck_assert_uint_eq(n_calls(), 1);
    ck_assert_str_eq(outcome(a, "vcpu_quota"), "unchanged: quota 25000, period 50000 µs");
    ct_free(t);
}
END_TEST

START_TEST(test_controller_clamps)
{
    Ct *t = ct_start(FALSE);
    MomEntity *a = guest_add(t, "a", -1, 100000);
    MomEntity *b = guest_add(t, "b", -1, 100000);
    MomEntity *c = guest_add(t, "c", 1000, 0);

    ct_cycle(t, "(with Guests g (if (== (g.Prop \"uuid\") \"uuid-a\")\n"
                "  { (g.Control \"vcpu_quota\" 10) (g.Control \"vcpu_period\" 50) }\n"
                "  (if (== (g.Prop \"uuid\") \"uuid-b\")\n"
                "    { (g.Control \"vcpu_quota\" -7) (g.Control \"vcpu_period\" 5000000) }\n"
                "    (g.Control \"vcpu_quota\" (* 10000000000.0 10000000000.0)))))");
    ck_assert_uint_eq(n_calls(), 2);
    ck_assert_ptr_nonnull(strstr(outcome(a, "vcpu_quota"), "clamped: period raised to 1000 and "
                                                           "quota raised to 1000"));
    ck_assert_ptr_nonnull(strstr(outcome(b, "vcpu_period"), "period lowered to 1000000 and "
                                                            "negative quota means no limit (-1)"));
    /* 2e19 does not fit a 64-bit integer: ignored, not clamped */
    ck_assert_str_eq(outcome(c, "vcpu_quota"), "ignored: not a number of µs");
    ct_free(t);

    /* a quota alone on a guest without a period: the default period */
    t = ct_start(FALSE);
    c = guest_add(t, "c", 0, 0);
    ct_cycle(t, "(with Guests g (g.Control \"vcpu_quota\" 100000000000000000))");
    ck_assert_uint_eq(n_calls(), 1);
    ck_assert_str_eq(call(0), "uuid-c q=18446744073709551 p=100000");
    ct_free(t);
}
END_TEST

START_TEST(test_controller_dry_run_and_errors)
{
    Ct *t = ct_start(TRUE);
    MomEntity *a = guest_add(t, "a", -1, 100000);

    ct_cycle(t, "(with Guests g (g.Control \"vcpu_quota\" 40000))");
    ck_assert_uint_eq(n_calls(), 0);
    ck_assert_str_eq(outcome(a, "vcpu_quota"), "dry run: would set quota 40000, period 100000 µs");
    ck_assert_uint_eq(mom_test_log_count("would be set (dry run)"), 1);
    /* the same decision next cycle is not logged again; a new one is, and
     * so is the old one after a cycle that decided nothing */
    ct_cycle(t, "(with Guests g (g.Control \"vcpu_quota\" 40000))");
    ck_assert_str_eq(outcome(a, "vcpu_quota"), "dry run: would set quota 40000, period 100000 µs");
    ck_assert_uint_eq(mom_test_log_count("would be set (dry run)"), 1);
    ct_cycle(t, "(with Guests g (g.Control \"vcpu_quota\" 50000))");
    ck_assert_uint_eq(
        mom_test_log_count("guest a: vcpu_quota -1 → 50000 µs, vcpu_period 100000 → 100000 "
                           "µs would be set (dry run) (requested at t.policy:1:16)"),
        1);
    ct_cycle(t, "(defvar quiet 1)");
    ct_cycle(t, "(with Guests g (g.Control \"vcpu_quota\" 50000))");
    ck_assert_uint_eq(mom_test_log_count("vcpu_quota -1 → 50000 µs"), 2);
    ck_assert_uint_eq(mom_test_log_count("would be set (dry run)"), 3);
    ck_assert_uint_eq(n_calls(), 0);
    ct_free(t);

    t = ct_start(FALSE);
    a = guest_add(t, "a", -1, 100000);
    fake.fail = TRUE;
    ct_cycle(t, "(with Guests g (g.Control \"vcpu_quota\" 40000))");
    ct_cycle(t, "(with Guests g (g.Control \"vcpu_quota\" 40000))");
    /* a failure is retried every cycle but logged once */
    ck_assert_uint_eq(n_calls(), 2);
    ck_assert_uint_eq(mom_test_log_count("cannot set vcpu_quota 40000"), 1);
    /* a string is no number; the stats must be there */
    ct_cycle(t, "(with Guests g (g.Control \"vcpu_quota\" \"lots\"))");
    ck_assert_str_eq(outcome(a, "vcpu_quota"), "ignored: not a number of µs");
    ct_free(t);

    /* without GuestCpuTune fields */
    t = ct_start(FALSE);
    g_autoptr(MomSchema) none = mom_schema_new(NULL, 0);
    MomEntity *e = mom_entity_new(MOM_ENTITY_GUEST, "x", none, 1);
    MomValue u = mom_value_string("uuid-x", -1);
    mom_entity_set_prop(e, "uuid", &u);
    mom_value_clear(&u);
    g_ptr_array_add(t->guests, e);
    ct_cycle(t, "(with Guests g (g.Control \"vcpu_period\" 40000))");
    ck_assert_str_eq(outcome(e, "vcpu_period"), "ignored: vcpu_quota/vcpu_period unknown");
    ck_assert_uint_eq(n_calls(), 0);
    ct_free(t);
}
END_TEST

/* ---- the test driver ---------------------------------------------------------- */

static void
on_meta(const char *uuid, gpointer user_data)
{
    (*(guint *)user_data)++;
}

static void
on_connected(gpointer user_data)
{
}

START_TEST(test_driver_metadata_event)
{
    g_autoptr(GError) error = NULL;
    guint changed = 0;
    MomLibvirtCallbacks cb = {.connected = on_connected, .metadata_changed = on_meta};
    g_autoptr(MomLibvirt) lv = mom_libvirt_new("test:///default", "/nonexistent", &cb, &changed);

    mom_libvirt_start(lv);
    ck_assert(mom_libvirt_connected(lv));
    g_autoptr(MomGuestBatch) b = mom_libvirt_collect(lv, NULL, &error);
    ck_assert_ptr_nonnull(b);
    const MomDomainInfo *info = b->domains->pdata[0];
    ck_assert(info->tune.vcpu_user_limit == 100);
    ck_assert(info->tune.sched_known);
    g_autoptr(GHashTable) known =
        g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)mom_domain_info_free);
    MomDomainInfo *copy = mom_domain_info_copy(info);
    g_hash_table_insert(known, copy->uuid, copy);

    /* the same process's other connection shares test:///default */
    g_autoptr(virConnect) other = virConnectOpen("test:///default");
    g_autoptr(virDomain) dom = virDomainLookupByName(other, "test");
    ck_assert_int_eq(virDomainSetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT,
                                          "<tune><vcpu limit='50'/></tune>", "momd", MOM_TUNE_NS,
                                          VIR_DOMAIN_AFFECT_LIVE),
                     0);
    for (int i = 0; i < 100 && changed == 0; i++)
        g_main_context_iteration(NULL, FALSE), g_usleep(10000);
    ck_assert_uint_eq(changed, 1);

    /* the next collection reads the XML again (bulk + list + memory
     * statistics + virDomainGetInfo, the XML's maximum being old + XML) */
    g_autoptr(MomGuestBatch) b2 = mom_libvirt_collect(lv, known, &error);
    ck_assert_ptr_nonnull(b2);
    ck_assert_uint_eq(b2->calls, 5);
    const MomGuestData *d = &g_array_index(b2->data, MomGuestData, 0);
    ck_assert(d->tune.vcpu_user_limit == 50);
    ck_assert_uint_ne(((MomDomainInfo *)b2->domains->pdata[0])->xml_serial, info->xml_serial);

    /* and the one after that does not (bulk + list + memory statistics) */
    g_hash_table_remove_all(known);
    copy = mom_domain_info_copy(b2->domains->pdata[0]);
    g_hash_table_insert(known, copy->uuid, copy);
    g_autoptr(MomGuestBatch) b3 = mom_libvirt_collect(lv, known, &error);
    ck_assert_uint_eq(b3->calls, 3);
    ck_assert(g_array_index(b3->data, MomGuestData, 0).tune.vcpu_user_limit == 50);

    /* put test:///default back for the other tests of this process */
    virDomainSetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, NULL, NULL, MOM_TUNE_NS,
                         VIR_DOMAIN_AFFECT_LIVE);
}
END_TEST

static Suite *
cputune_suite(void)
{
    Suite *s = suite_create("cputune");
    TCase *tc = tcase_create("cputune");

    tcase_add_checked_fixture(tc, mom_test_log_capture, mom_test_log_release);
    tcase_add_test(tc, test_meta_none);
    tcase_add_test(tc, test_meta_momd);
    tcase_add_test(tc, test_meta_momd_unqualified);
    tcase_add_test(tc, test_meta_ovirt);
    tcase_add_test(tc, test_meta_both);
    tcase_add_test(tc, test_meta_garbage);
    tcase_add_test(tc, test_collector);
    tcase_add_test(tc, test_controller_apply);
    tcase_add_test(tc, test_controller_clamps);
    tcase_add_test(tc, test_controller_dry_run_and_errors);
    tcase_add_test(tc, test_driver_metadata_event);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    fake.calls = g_ptr_array_new_with_free_func(g_free);
    SRunner *sr = srunner_create(cputune_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
