/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * IoTune: the GuestIoTune collectors (records, their members and setters,
 * owned by the sampled guest through the monitor), the IoTune controller
 * against a fake hypervisor, and the libvirt side (disk limits read and
 * set) against libvirt's test driver.
 */
#include "config.h"

#include <check.h>
#include <string.h>

#include <libvirt/libvirt.h>

#include "iotune-priv.h"
#include "mom-controller.h"
#include "mom-libvirt-priv.h"
#include "mom-libvirt.h"
#include "mom-monitor.h"
#include "mom-test-log.h"

#define DEFAULT_UUID "6695eb01-f6a4-8304-79aa-97f2502e193f"

/* ---- a guest as the guest manager would describe it ---------------------------- */

static MomIoTunePolicy policies[3];
static MomIoTuneDisk disks[3];
static MomGuestData guest;

static void
fill_guest(void)
{
    static const gint64 none[MOM_IO_N_KEYS] = {-1, -1, -1, -1, -1, -1};

    memset(&guest, 0, sizeof(guest));
    guest.name = "vm1";
    guest.uuid = "00000000-0000-4000-8000-000000000001";
    /* vda by name; vdb by path; vdz does not exist */
    policies[0] = (MomIoTunePolicy){"vda", NULL, {0}, {0}};
    policies[1] = (MomIoTunePolicy){NULL, "/img/b.raw", {0}, {0}};
    policies[2] = (MomIoTunePolicy){"vdz", NULL, {0}, {0}};
    for (guint i = 0; i < 3; i++) {
        memcpy(policies[i].guaranteed, none, sizeof(none));
        memcpy(policies[i].maximum, none, sizeof(none));
    }
    policies[0].guaranteed[MOM_IO_TOTAL_BYTES_SEC] = 100;
    policies[0].maximum[MOM_IO_TOTAL_BYTES_SEC] = 1000;
    policies[0].maximum[MOM_IO_READ_IOPS_SEC] = 7;
    policies[1].maximum[MOM_IO_WRITE_BYTES_SEC] = 5000;
    disks[0] = (MomIoTuneDisk){"vda", "/img/a.raw", {0}};
    disks[1] = (MomIoTuneDisk){"vdb", "/img/b.raw", {0}};
    disks[2] = (MomIoTuneDisk){"vdc", "/img/c.raw", {0}};
    disks[1].current[MOM_IO_WRITE_BYTES_SEC] = 5000; /* vdb is already at its maximum */
    guest.io_policy = policies;
    guest.n_io_policy = 3;
    guest.io_disks = disks;
    guest.n_io_disks = 3;
    guest.io_known = TRUE;
}

static MomMonitor *
monitor_for(const char *collector)
{
    char *names[] = {(char *)collector, NULL};
    MomCollectorConfig cfg = {
        .proc_root = "/proc", .sysfs_root = "/sys", .interval = 1, .guest = &guest};
    g_autoptr(GError) error = NULL;
    MomMonitor *m = mom_monitor_new(MOM_ENTITY_GUEST, "vm1", names, &cfg, 3, NULL, &error);

    ck_assert_msg(m != NULL, "%s", error ? error->message : "");
    MomValue uuid = mom_value_string(guest.uuid, -1);
    mom_entity_set_prop(mom_monitor_entity(m), "uuid", &uuid);
    mom_value_clear(&uuid);
    return m;
}

static const MomValue *
field(MomEntity *e, const char *name)
{
    int i = mom_schema_lookup(mom_entity_schema(e), name);
    ck_assert_int_ge(i, 0);
    return mom_entity_stat(e, (guint)i);
}

static gint64
member_int(const MomRecord *r, const char *name)
{
    const MomValue *v = mom_record_get(r, name);
    ck_assert_msg(v && v->type == MOM_VALUE_INT, "member %s", name);
    return v->u.i;
}

static const MomRecord *
member_record(const MomRecord *r, const char *name)
{
    const MomValue *v = mom_record_get(r, name);
    ck_assert_msg(v && v->type == MOM_VALUE_RECORD, "member %s", name);
    return v->u.r;
}

/* Evaluates @policy over @guest_entity (and an empty host). */
static void
evaluate(MomEntity *guest_entity, const char *policy)
{
    g_autoptr(MomSchema) schema = mom_schema_new(NULL, 0);
    g_autoptr(MomEntity) host = mom_entity_new(MOM_ENTITY_HOST, "Host", schema, 1);
    /* kept: the controls name their policy file, which the set owns */
    static MomPolicySet *set;
    g_autoptr(GPtrArray) guests = g_ptr_array_new();
    g_autoptr(GError) error = NULL;

    if (!set)
        set = mom_policy_set_new();

    ck_assert_msg(mom_policy_set_add_string(set, "p", "test.policy", policy, -1, NULL, &error),
                  "%s", error ? error->message : "");
    g_ptr_array_add(guests, guest_entity);
    g_autoptr(MomPolicyRun) run = mom_policy_set_evaluate(set, host, guests, MOM_POLICY_EVAL_NONE);
    ck_assert(run->ok);
    ck_assert_msg(run->errors->len == 0, "%s",
                  run->errors->len ? ((MomPolicyDiag *)run->errors->pdata[0])->message : "");
}

/* vdsm's set_io_limits, as our 40-iotune.policy does it */
static const char *const apply_maximum =
    "(with Guests guest (if (valid guest.io_tune) (with guest.io_tune tune {\n"
    "  (defvar max_io tune.maximum)\n"
    "  (tune.setTotalBytesSec max_io.total_bytes_sec)\n"
    "  (tune.setReadBytesSec max_io.read_bytes_sec)\n"
    "  (tune.setWriteBytesSec max_io.write_bytes_sec)\n"
    "  (tune.setTotalIopsSec max_io.total_iops_sec)\n"
    "  (tune.setReadIopsSec max_io.read_iops_sec)\n"
    "  (tune.setWriteIopsSec max_io.write_iops_sec)\n"
    "}) 0))\n";

/* ---- the collectors ------------------------------------------------------------ */

START_TEST(test_collector_records)
{
    fill_guest();
    g_autoptr(MomMonitor) m = monitor_for("GuestIoTune");
    MomEntity *e = mom_monitor_entity(m);

    ck_assert(mom_monitor_collect(m));
    const MomValue *tunes = field(e, "io_tune");
    ck_assert_int_eq(tunes->type, MOM_VALUE_LIST);
    /* vda and vdb have a policy and exist; vdz has no disk, vdc no policy */
    ck_assert_uint_eq(mom_value_list_length(tunes), 2);
    const MomRecord *a = mom_value_list_get(tunes, 0)->u.r;
    const MomRecord *b = mom_value_list_get(tunes, 1)->u.r;
    ck_assert_str_eq(mom_value_string_get(mom_record_get(a, "name")), "vda");
    ck_assert_str_eq(mom_value_string_get(mom_record_get(a, "path")), "/img/a.raw");
    ck_assert_str_eq(mom_value_string_get(mom_record_get(b, "name")), "vdb");
    ck_assert_int_eq(member_int(member_record(a, "guaranteed"), "total_bytes_sec"), 100);
    ck_assert_int_eq(member_int(member_record(a, "maximum"), "total_bytes_sec"), 1000);
    ck_assert_int_eq(member_int(member_record(a, "maximum"), "read_iops_sec"), 7);
    /* a limit the metadata leaves out is 0, "no limit" */
    ck_assert_int_eq(member_int(member_record(a, "maximum"), "write_iops_sec"), 0);
    ck_assert_int_eq(member_int(member_record(a, "current"), "total_bytes_sec"), 0);
    ck_assert_int_eq(member_int(member_record(b, "current"), "write_bytes_sec"), 5000);

    const MomValue *cur = field(e, "io_tune_current");
    ck_assert_uint_eq(mom_value_list_length(cur), 2);
    const MomRecord *ca = mom_value_list_get(cur, 0)->u.r;
    ck_assert_str_eq(mom_value_string_get(mom_record_get(ca, "name")), "vda");
    ck_assert_int_eq(member_int(member_record(ca, "current"), "total_bytes_sec"), 0);

    /* the setters set the guest's controls (the monitor made it the owner) */
    evaluate(e, apply_maximum);
    const MomValue *v = mom_entity_get_control(e, "io_tune.vda.total_bytes_sec");
    ck_assert_ptr_nonnull(v);
    ck_assert_int_eq(v->u.i, 1000);
    v = mom_entity_get_control(e, "io_tune.vda.read_iops_sec");
    ck_assert_int_eq(v->u.i, 7);
    v = mom_entity_get_control(e, "io_tune.vdb.write_bytes_sec");
    ck_assert_int_eq(v->u.i, 5000);
    ck_assert_uint_eq(mom_entity_n_controls(e), 12);
    ck_assert_ptr_null(mom_entity_get_control(e, "io_tune.vdc.total_bytes_sec"));
}
END_TEST

START_TEST(test_collector_nil)
{
    fill_guest();
    /* no I/O metadata: nil, as MOM; a GuestIoTune sample is then incomplete */
    guest.n_io_policy = 0;
    g_autoptr(MomMonitor) m = monitor_for("GuestIoTune");
    ck_assert(!mom_monitor_collect(m));

    g_autoptr(MomMonitor) o = monitor_for("GuestIoTuneOptional");
    ck_assert(mom_monitor_collect(o));
    ck_assert_int_eq(field(mom_monitor_entity(o), "io_tune")->type, MOM_VALUE_NIL);
    ck_assert_int_eq(field(mom_monitor_entity(o), "io_tune_current")->type, MOM_VALUE_NIL);
    evaluate(mom_monitor_entity(o), apply_maximum);
    ck_assert_uint_eq(mom_entity_n_controls(mom_monitor_entity(o)), 0);

    /* limits not read (yet): nil too */
    fill_guest();
    guest.io_known = FALSE;
    ck_assert(mom_monitor_collect(o));
    ck_assert_int_eq(field(mom_monitor_entity(o), "io_tune")->type, MOM_VALUE_NIL);

    /* policies, but none of their disks exists: empty lists */
    fill_guest();
    guest.n_io_policy = 1;
    policies[0].name = "vdq";
    ck_assert(mom_monitor_collect(o));
    ck_assert_int_eq(field(mom_monitor_entity(o), "io_tune")->type, MOM_VALUE_LIST);
    ck_assert_uint_eq(mom_value_list_length(field(mom_monitor_entity(o), "io_tune")), 0);
}
END_TEST

/* ---- the controller with a fake hypervisor ------------------------------------- */

typedef struct {
    GMutex lock;
    GCond cond;
    GPtrArray *calls; /* "uuid disk l0 l1 l2 l3 l4 l5" */
    char *block_uuid; /* calls for this guest wait until released */
    gboolean released;
    gboolean fail;
} Fake;

static Fake fake;

static gboolean
fake_set(gpointer hv, const char *uuid, const char *disk, const gint64 l[6], GError **error)
{
    Fake *f = hv;

    g_mutex_lock(&f->lock);
    while (f->block_uuid && strcmp(uuid, f->block_uuid) == 0 && !f->released)
        g_cond_wait(&f->cond, &f->lock);
    g_ptr_array_add(f->calls, g_strdup_printf("%s %s %" G_GINT64_FORMAT " %" G_GINT64_FORMAT
                                              " %" G_GINT64_FORMAT " %" G_GINT64_FORMAT
                                              " %" G_GINT64_FORMAT " %" G_GINT64_FORMAT,
                                              uuid, disk, l[0], l[1], l[2], l[3], l[4], l[5]));
    g_cond_broadcast(&f->cond);
    gboolean fail = f->fail;
    g_mutex_unlock(&f->lock);
    if (fail)
        g_set_error_literal(error, MOM_CONTROLLER_ERROR, MOM_CONTROLLER_ERROR_APPLY, "no");
    return !fail;
}

static const MomHypervisorOps fake_ops = {.hv = &fake, .set_block_iotune = fake_set};

static void
setup(void)
{
    g_mutex_init(&fake.lock);
    g_cond_init(&fake.cond);
    fake.calls = g_ptr_array_new_with_free_func(g_free);
    fake.block_uuid = NULL;
    fake.released = FALSE;
    fake.fail = FALSE;
}

static void
teardown(void)
{
    g_ptr_array_free(fake.calls, TRUE);
    g_free(fake.block_uuid);
    mom_test_log_release();
}

static gpointer
controller_new(gboolean dry_run)
{
    const MomControllerClass *k = mom_controller_lookup("IoTune");
    MomControllerConfig cfg = {.dry_run = dry_run, .hypervisor = &fake_ops};
    g_autoptr(GError) error = NULL;

    ck_assert_ptr_nonnull(k);
    gpointer state = k->init(&cfg, &error);
    ck_assert_msg(state != NULL, "%s", error ? error->message : "");
    return state;
}

static void
apply(gpointer state, MomEntity *e)
{
    g_autoptr(GPtrArray) guests = g_ptr_array_new();
    g_autoptr(GError) error = NULL;

    g_ptr_array_add(guests, e);
    ck_assert(mom_controller_lookup("IoTune")->apply(state, NULL, guests, &error));
}

static const char *
outcome(MomEntity *e, const char *name)
{
    for (guint i = 0; i < mom_entity_n_controls(e); i++) {
        const MomControl *c = mom_entity_control(e, i);
        if (strcmp(c->name, name) == 0)
            return c->outcome;
    }
    return NULL;
}

START_TEST(test_controller_changed_disks_only)
{
    fill_guest();
    g_autoptr(MomMonitor) m = monitor_for("GuestIoTune");
    MomEntity *e = mom_monitor_entity(m);
    gpointer state = controller_new(FALSE);

    ck_assert(mom_monitor_collect(m));
    evaluate(e, apply_maximum);
    apply(state, e);
    mom_iotune_wait_idle(state);
    /* vdb is already at its maximum: only vda changes, all six limits in one call */
    ck_assert_uint_eq(fake.calls->len, 1);
    ck_assert_str_eq(fake.calls->pdata[0],
                     "00000000-0000-4000-8000-000000000001 vda 1000 0 0 0 7 0");
    ck_assert_str_eq(outcome(e, "io_tune.vdb.write_bytes_sec"), "unchanged");
    const char *o = outcome(e, "io_tune.vda.total_bytes_sec");
    ck_assert_msg(g_str_has_prefix(o, "requested total_bytes_sec 0 → 1000 (test.policy:3:"), "%s",
                  o);
    ck_assert_ptr_nonnull(strstr(o, "read_iops_sec 0 → 7"));
    ck_assert_str_eq(outcome(e, "io_tune.vda.read_iops_sec"), o);

    /* the next cycle, on a sample from before the change returned: not repeated */
    evaluate(e, apply_maximum);
    MomValue at = mom_value_int(0);
    mom_entity_set_prop(e, "sampled_at", &at);
    apply(state, e);
    mom_iotune_wait_idle(state);
    ck_assert_uint_eq(fake.calls->len, 1);
    ck_assert_str_eq(outcome(e, "io_tune.vda.total_bytes_sec"),
                     "unchanged: just set; waiting for the disk's new limits");

    /* read back: nothing to do */
    disks[0].current[MOM_IO_TOTAL_BYTES_SEC] = 1000;
    disks[0].current[MOM_IO_READ_IOPS_SEC] = 7;
    ck_assert(mom_monitor_collect(m));
    evaluate(e, apply_maximum);
    apply(state, e);
    mom_iotune_wait_idle(state);
    ck_assert_uint_eq(fake.calls->len, 1);
    ck_assert_str_eq(outcome(e, "io_tune.vda.total_bytes_sec"), "unchanged");
    mom_controller_lookup("IoTune")->free(state);
}
END_TEST

START_TEST(test_controller_values)
{
    fill_guest();
    g_autoptr(MomMonitor) m = monitor_for("GuestIoTune");
    MomEntity *e = mom_monitor_entity(m);
    gpointer state = controller_new(FALSE);

    ck_assert(mom_monitor_collect(m));
    /* a float is truncated; nil, negative and strings are ignored, the rest applied;
     * an unknown disk and an unknown limit are ignored too */
    evaluate(e, "(with Guests guest (with guest.io_tune tune (if (== tune.name \"vda\") {\n"
                "  (tune.setTotalBytesSec 1500.9)\n"
                "  (tune.setReadBytesSec nil)\n"
                "  (tune.setWriteBytesSec -3)\n"
                "  (tune.setTotalIopsSec \"x\")\n"
                "} 0)))\n"
                "(with Guests guest { (guest.Control \"io_tune.vdq.total_bytes_sec\" 5)\n"
                "  (guest.Control \"io_tune.vda.bogus\" 5) })\n");
    apply(state, e);
    mom_iotune_wait_idle(state);
    ck_assert_uint_eq(fake.calls->len, 1);
    ck_assert_str_eq(fake.calls->pdata[0],
                     "00000000-0000-4000-8000-000000000001 vda 1500 0 0 0 0 0");
    ck_assert_str_eq(outcome(e, "io_tune.vda.read_bytes_sec"), "ignored: not a number >= 0");
    ck_assert_str_eq(outcome(e, "io_tune.vda.write_bytes_sec"), "ignored: not a number >= 0");
    ck_assert_str_eq(outcome(e, "io_tune.vda.total_iops_sec"), "ignored: not a number >= 0");
    ck_assert_str_eq(outcome(e, "io_tune.vda.bogus"), "ignored: not an I/O limit");
    ck_assert_str_eq(outcome(e, "io_tune.vdq.total_bytes_sec"),
                     "ignored: the disk's current limits are unknown");
    ck_assert(g_str_has_prefix(outcome(e, "io_tune.vda.total_bytes_sec"),
                               "requested total_bytes_sec 0 → 1500"));
    mom_controller_lookup("IoTune")->free(state);
}
END_TEST

START_TEST(test_controller_dry_run)
{
    fill_guest();
    g_autoptr(MomMonitor) m = monitor_for("GuestIoTune");
    MomEntity *e = mom_monitor_entity(m);
    gpointer state = controller_new(TRUE);

    ck_assert(mom_monitor_collect(m));
    evaluate(e, apply_maximum);
    apply(state, e);
    mom_iotune_wait_idle(state);
    ck_assert_uint_eq(fake.calls->len, 0);
    ck_assert(g_str_has_prefix(outcome(e, "io_tune.vda.total_bytes_sec"),
                               "dry run: would set total_bytes_sec 0 → 1000"));
    mom_controller_lookup("IoTune")->free(state);
}
END_TEST

/* The same dry-run decision, cycle after cycle, is logged once; a disk's
 * new decision is logged again. */
START_TEST(test_controller_dry_run_logged_once)
{
    mom_test_log_capture();
    fill_guest();
    g_autoptr(MomMonitor) m = monitor_for("GuestIoTune");
    MomEntity *e = mom_monitor_entity(m);
    gpointer state = controller_new(TRUE);

    for (int i = 0; i < 3; i++) {
        ck_assert(mom_monitor_collect(m));
        evaluate(e, apply_maximum);
        apply(state, e);
    }
    g_auto(GStrv) dry_run = mom_test_log_lines("(dry run)");
    ck_assert_uint_eq(g_strv_length(dry_run), 1);
    ck_assert_str_eq(dry_run[0], "guest vm1: disk vda: total_bytes_sec 0 → 1000 (test.policy:3:3), "
                                 "read_iops_sec 0 → 7 (test.policy:7:3) would be set (dry run)");
    ck_assert(g_str_has_prefix(outcome(e, "io_tune.vda.total_bytes_sec"),
                               "dry run: would set total_bytes_sec 0 → 1000"));

    policies[0].maximum[MOM_IO_TOTAL_BYTES_SEC] = 2000;
    for (int i = 0; i < 2; i++) {
        ck_assert(mom_monitor_collect(m));
        evaluate(e, apply_maximum);
        apply(state, e);
    }
    g_auto(GStrv) dry_run_again = mom_test_log_lines("(dry run)");
    ck_assert_uint_eq(g_strv_length(dry_run_again), 2);
    ck_assert(strstr(dry_run_again[1], "disk vda: total_bytes_sec 0 → 2000") != NULL);
    ck_assert_uint_eq(fake.calls->len, 0);
    mom_controller_lookup("IoTune")->free(state);
}
END_TEST

START_TEST(test_controller_blocked_guest)
{
    fill_guest();
    g_autoptr(MomMonitor) m1 = monitor_for("GuestIoTune");
    guest.uuid = "00000000-0000-4000-8000-000000000002";
    g_autoptr(MomMonitor) m2 = monitor_for("GuestIoTune");
    MomEntity *e1 = mom_monitor_entity(m1), *e2 = mom_monitor_entity(m2);
    gpointer state = controller_new(FALSE);
    g_autoptr(GPtrArray) guests = g_ptr_array_new();
    g_autoptr(GError) error = NULL;

    fake.block_uuid = g_strdup("00000000-0000-4000-8000-000000000001");
    ck_assert(mom_monitor_collect(m1));
    ck_assert(mom_monitor_collect(m2));
    evaluate(e1, apply_maximum);
    evaluate(e2, apply_maximum);
    g_ptr_array_add(guests, e1);
    g_ptr_array_add(guests, e2);
    ck_assert(mom_controller_lookup("IoTune")->apply(state, NULL, guests, &error));

    /* the second guest's change is made while the first one's hangs */
    gint64 deadline = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
    g_mutex_lock(&fake.lock);
    while (fake.calls->len < 1 && g_cond_wait_until(&fake.cond, &fake.lock, deadline))
        ;
    ck_assert_uint_eq(fake.calls->len, 1);
    ck_assert(g_str_has_prefix(fake.calls->pdata[0], "00000000-0000-4000-8000-000000000002 vda"));
    g_mutex_unlock(&fake.lock);

    /* the next cycle skips the busy guest */
    evaluate(e1, apply_maximum);
    MomValue at = mom_value_int(G_MAXINT64);
    mom_entity_set_prop(e1, "sampled_at", &at);
    g_ptr_array_set_size(guests, 1);
    ck_assert(mom_controller_lookup("IoTune")->apply(state, NULL, guests, &error));
    ck_assert_str_eq(outcome(e1, "io_tune.vda.total_bytes_sec"),
                     "skipped: the previous change is running");

    g_mutex_lock(&fake.lock);
    fake.released = TRUE;
    g_cond_broadcast(&fake.cond);
    g_mutex_unlock(&fake.lock);
    mom_iotune_wait_idle(state);
    ck_assert_uint_eq(fake.calls->len, 2);
    mom_controller_lookup("IoTune")->free(state);
}
END_TEST

START_TEST(test_controller_needs_hypervisor)
{
    MomControllerConfig cfg = {0};
    g_autoptr(GError) error = NULL;

    ck_assert_ptr_null(mom_controller_lookup("IoTune")->init(&cfg, &error));
    ck_assert_ptr_nonnull(error);
}
END_TEST

/* ---- libvirt's test driver ------------------------------------------------------ */

static const MomGuestData *
find_default(MomGuestBatch *b, const MomDomainInfo **info)
{
    for (guint i = 0; i < b->data->len; i++) {
        const MomGuestData *d = &g_array_index(b->data, MomGuestData, i);
        if (strcmp(d->uuid, DEFAULT_UUID) == 0) {
            *info = b->domains->pdata[i];
            return d;
        }
    }
    return NULL;
}

static GHashTable *
known_of(MomGuestBatch *b)
{
    GHashTable *known =
        g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)mom_domain_info_free);
    for (guint i = 0; i < b->domains->len; i++) {
        MomDomainInfo *info = mom_domain_info_copy(b->domains->pdata[i]);
        g_hash_table_insert(known, info->uuid, info);
    }
    return known;
}

START_TEST(test_libvirt_read_and_set)
{
    g_autoptr(MomLibvirt) lv = mom_libvirt_new("test:///default", NULL, NULL, NULL);
    g_autoptr(GError) error = NULL;
    const MomDomainInfo *info = NULL;

    mom_libvirt_start(lv);
    ck_assert(mom_libvirt_connected(lv));
    /* test:///default is one state per process: this connection sees momd's domain */
    virConnectPtr c = virConnectOpen("test:///default");
    ck_assert_ptr_nonnull(c);
    virDomainPtr dom = virDomainLookupByUUIDString(c, DEFAULT_UUID);
    ck_assert_ptr_nonnull(dom);

    /* without I/O metadata the limits are not read */
    g_autoptr(MomGuestBatch) b0 = mom_libvirt_collect(lv, NULL, &error);
    ck_assert_ptr_nonnull(b0);
    const MomGuestData *d = find_default(b0, &info);
    ck_assert_uint_eq(d->n_io_disks, 1);
    ck_assert_str_eq(d->io_disks[0].name, "vda");
    ck_assert_str_eq(d->io_disks[0].path, "/guest/diskimage1");
    ck_assert(!d->io_known);

    ck_assert_int_eq(virDomainSetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT,
                                          "<tune><io device='vda'><maximum total-bytes-sec='1000'/>"
                                          "</io></tune>",
                                          "momd", MOM_TUNE_NS, VIR_DOMAIN_AFFECT_LIVE),
                     0);
    g_autoptr(MomGuestBatch) b = mom_libvirt_collect(lv, NULL, &error);
    ck_assert_ptr_nonnull(b);
    d = find_default(b, &info);
    ck_assert_uint_eq(d->n_io_policy, 1);
    ck_assert_int_eq(d->io_policy[0].maximum[MOM_IO_TOTAL_BYTES_SEC], 1000);
    ck_assert(d->io_known);
    for (guint k = 0; k < MOM_IO_N_KEYS; k++)
        ck_assert_int_eq(d->io_disks[0].current[k], 0);

    /* The test driver refuses a limit above its burst (_max) limit even
     * when that is 0 (QEMU does not): give it a burst limit first. */
    virTypedParameterPtr params = NULL;
    int n = 0, max = 0;
    virTypedParamsAddULLong(&params, &n, &max, VIR_DOMAIN_BLOCK_IOTUNE_TOTAL_BYTES_SEC_MAX, 4096);
    ck_assert_int_eq(virDomainSetBlockIoTune(dom, "vda", params, n, VIR_DOMAIN_AFFECT_LIVE), 0);
    virTypedParamsFree(params, n);

    const MomHypervisorOps *ops = mom_libvirt_hypervisor_ops(lv);
    const gint64 limits[6] = {1000, -1, -1, -1, -1, -1};
    ck_assert_msg(ops->set_block_iotune(ops->hv, DEFAULT_UUID, "vda", limits, &error), "%s",
                  error ? error->message : "");
    /* a known guest's limits are read again only after a change (or event) */
    g_autoptr(GHashTable) known = known_of(b);
    g_autoptr(MomGuestBatch) b2 = mom_libvirt_collect(lv, known, &error);
    d = find_default(b2, &info);
    ck_assert(d->io_known);
    ck_assert_int_eq(d->io_disks[0].current[MOM_IO_TOTAL_BYTES_SEC], 1000);
    g_autoptr(GHashTable) known2 = known_of(b2);
    g_autoptr(MomGuestBatch) b3 = mom_libvirt_collect(lv, known2, &error);
    ck_assert_uint_eq(b3->calls + 1, b2->calls);

    /* an unknown disk is the caller's error, not a crash */
    ck_assert(!ops->set_block_iotune(ops->hv, DEFAULT_UUID, "vdq", limits, &error) && error);
    virDomainFree(dom);
    virConnectClose(c);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("iotune");
    TCase *tc = tcase_create("iotune");
    SRunner *sr;
    int failed;

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_collector_records);
    tcase_add_test(tc, test_collector_nil);
    tcase_add_test(tc, test_controller_changed_disks_only);
    tcase_add_test(tc, test_controller_values);
    tcase_add_test(tc, test_controller_dry_run);
    tcase_add_test(tc, test_controller_dry_run_logged_once);
    tcase_add_test(tc, test_controller_blocked_guest);
    tcase_add_test(tc, test_controller_needs_hypervisor);
    tcase_add_test(tc, test_libvirt_read_and_set);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
