/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>

#include "mom-controller.h"

/* G_DEFINE_QUARK stringifies its first argument: clang-format must not space it */
/* clang-format off */
G_DEFINE_QUARK(mom-controller-error-quark, mom_controller_error)
/* clang-format on */

extern const MomControllerClass mom_controller_balloon;
extern const MomControllerClass mom_controller_ksm;
extern const MomControllerClass mom_controller_cputune;
extern const MomControllerClass mom_controller_iotune;

const MomControllerClass *const mom_controller_classes[] = {
    &mom_controller_balloon,
    &mom_controller_ksm,
    &mom_controller_cputune,
    &mom_controller_iotune,
    NULL,
};

const MomControllerClass *
mom_controller_lookup(const char *name)
{
    for (guint i = 0; mom_controller_classes[i]; i++)
        if (strcmp(mom_controller_classes[i]->name, name) == 0)
            return mom_controller_classes[i];
    return NULL;
}

gboolean
mom_control_as_int(const MomValue *v, gint64 *out)
{
    switch (v->type) {
    case MOM_VALUE_INT:
        *out = v->u.i;
        return TRUE;
    case MOM_VALUE_BOOL:
        *out = v->u.b;
        return TRUE;
    case MOM_VALUE_FLOAT:
        /* 2^63 as a double: anything at or beyond it does not fit */
        if (!isfinite(v->u.d) || fabs(v->u.d) >= 9223372036854775808.0)
            return FALSE;
        *out = (gint64)v->u.d; /* C truncates toward zero, as MOM's int() */
        return TRUE;
    default:
        return FALSE;
    }
}

const MomControl *
mom_controller_find_control(MomEntity *e, const char *name)
{
    for (guint i = 0; i < mom_entity_n_controls(e); i++) {
        const MomControl *c = mom_entity_control(e, i);
        if (strcmp(c->name, name) == 0)
            return c;
    }
    return NULL;
}

gboolean
mom_controller_stat_int(MomEntity *e, const char *name, gint64 *out)
{
    int i = mom_schema_lookup(mom_entity_schema(e), name);

    if (i < 0)
        return FALSE;
    const MomValue *v = mom_entity_stat(e, (guint)i);
    return v->type != MOM_VALUE_BOOL && mom_control_as_int(v, out);
}
