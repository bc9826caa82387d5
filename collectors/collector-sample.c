/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * MomSample: the values one round of collectors produces for an entity,
 * laid out by the entity's schema so the monitor can hand them to
 * mom_entity_push_sample() without reshuffling.
 */
#include "config.h"

#include <glib.h>

#include "mom-collector.h"
#include "collector-priv.h"

MomSample *
mom_sample_new(MomSchema *schema)
{
    MomSample *sample;

    g_return_val_if_fail(schema != NULL, NULL);
    sample = g_new0(MomSample, 1);
    sample->schema = mom_schema_ref(schema);
    /* MOM_VALUE_NIL is 0, so zeroed memory is all-nil. */
    sample->values = g_new0(MomValue, mom_schema_n_fields(schema));
    return sample;
}

void
mom_sample_free(MomSample *sample)
{
    if (!sample)
        return;
    for (guint i = 0; i < mom_schema_n_fields(sample->schema); i++)
        mom_value_clear(&sample->values[i]);
    g_free(sample->values);
    mom_schema_unref(sample->schema);
    g_free(sample);
}

void
mom_sample_set(MomSample *sample, const char *field, MomValue value)
{
    int i = mom_schema_lookup(sample->schema, field);

    if (i < 0) {
        /* Schemas are built from the collectors' own field lists, so this
         * is a collector setting a field it never declared. */
        g_critical("collector field '%s' is not in the entity's schema", field);
        mom_value_clear(&value);
        return;
    }
    mom_value_clear(&sample->values[i]);
    sample->values[i] = value;
}

void
mom_sample_set_int(MomSample *sample, const char *field, gint64 v)
{
    mom_sample_set(sample, field, mom_value_int(v));
}

void
mom_sample_set_float(MomSample *sample, const char *field, double v)
{
    mom_sample_set(sample, field, mom_value_float(v));
}

const MomValue *
mom_sample_get(const MomSample *sample, const char *field)
{
    static const MomValue nil = MOM_VALUE_INIT;
    int i = mom_schema_lookup(sample->schema, field);

    return i < 0 ? &nil : &sample->values[i];
}

const char *
mom_sample_missing_field(const MomSample *sample, const MomCollectorClass *klass)
{
    for (guint i = 0; klass->fields && klass->fields[i]; i++)
        if (mom_sample_get(sample, klass->fields[i])->type == MOM_VALUE_NIL)
            return klass->fields[i];
    return NULL;
}

void
mom_sample_set_reported(MomSample *sample, const char *field, gint64 v)
{
    /* Always set, nil included, so a reused sample holds no stale value. */
    mom_sample_set(sample, field, v >= 0 ? mom_value_int(v) : mom_value_nil());
}
