/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <check.h>
#include <glib.h>

#include "mom-test-collector.h"

MomTestHarness *
mom_test_harness_new(const char *name, const MomCollectorConfig *cfg)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(MomSchema) schema = NULL;
    MomTestHarness *h = g_new0(MomTestHarness, 1);
    MomCollectorConfig own = *cfg;

    h->klass = mom_collector_lookup(name);
    ck_assert_msg(h->klass != NULL, "no collector %s", name);
    h->proc_root = g_strdup(cfg->proc_root);
    h->sysfs_root = g_strdup(cfg->sysfs_root);
    own.proc_root = h->proc_root;
    own.sysfs_root = h->sysfs_root;
    h->state = h->klass->init(&own, &error);
    ck_assert_msg(h->state != NULL, "%s init: %s", name, error ? error->message : "?");
    schema = mom_collector_schema_new(&h->klass, 1);
    h->sample = mom_sample_new(schema);
    return h;
}

void
mom_test_harness_free(MomTestHarness *h)
{
    if (!h)
        return;
    if (h->state)
        h->klass->free(h->state);
    mom_sample_free(h->sample);
    g_free(h->proc_root);
    g_free(h->sysfs_root);
    g_free(h);
}

gboolean
mom_test_collect(MomTestHarness *h, GError **error)
{
    MomSchema *schema = mom_schema_ref(h->sample->schema);

    mom_sample_free(h->sample);
    h->sample = mom_sample_new(schema);
    mom_schema_unref(schema);
    return h->klass->collect(h->state, h->sample, error);
}

void
mom_test_collect_ok(MomTestHarness *h)
{
    g_autoptr(GError) error = NULL;

    ck_assert_msg(mom_test_collect(h, &error), "%s collect: %s", h->klass->name,
                  error ? error->message : "?");
    ck_assert_ptr_null(error);
}

void
mom_test_assert_collect_error(MomTestHarness *h, int code, const char *message)
{
    g_autoptr(GError) error = NULL;

    ck_assert(!mom_test_collect(h, &error));
    ck_assert_ptr_nonnull(error);
    ck_assert_msg(g_error_matches(error, MOM_COLLECTOR_ERROR, code), "wrong error: %s",
                  error->message);
    ck_assert_str_eq(error->message, message);
}

/* @field of the newest sample, asserted to be of @type (@what names it). */
static const MomValue *
typed_field(MomTestHarness *h, const char *field, MomValueType type, const char *what)
{
    const MomValue *v = mom_sample_get(h->sample, field);

    ck_assert_msg(v->type == type, "%s: %s is %s, not %s", h->klass->name, field,
                  mom_value_type_name(v->type), what);
    return v;
}

gint64
mom_test_get_int(MomTestHarness *h, const char *field)
{
    return typed_field(h, field, MOM_VALUE_INT, "an integer")->u.i;
}

double
mom_test_get_float(MomTestHarness *h, const char *field)
{
    return typed_field(h, field, MOM_VALUE_FLOAT, "a float")->u.d;
}

void
mom_test_assert_nil(MomTestHarness *h, const char *field)
{
    typed_field(h, field, MOM_VALUE_NIL, "nil");
}
