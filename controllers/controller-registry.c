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

/* @opt's value in @cfg as a gint64 (a boolean as 0 or 1), or its default. */
static gint64
option_value(const MomControllerConfig *cfg, const MomControllerOption *opt)
{
    g_autoptr(GError) error = NULL;
    gint64 v;

    if (cfg->keyfile == NULL || !g_key_file_has_key(cfg->keyfile, opt->section, opt->key, NULL))
        return opt->def;
    /* The loader wrote "true"/"false" and decimal integers, which is what
     * GKeyFile's own readers take. */
    if (opt->type == MOM_CONTROLLER_OPTION_BOOL)
        v = g_key_file_get_boolean(cfg->keyfile, opt->section, opt->key, &error);
    else
        v = g_key_file_get_int64(cfg->keyfile, opt->section, opt->key, &error);
    if (error != NULL) {
        g_critical("[%s] %s: %s; the default is used.", opt->section, opt->key, error->message);
        return opt->def;
    }
    if (opt->type == MOM_CONTROLLER_OPTION_INT && (v < opt->min || v > opt->max)) {
        g_critical("[%s] %s: %" G_GINT64_FORMAT " is outside %" G_GINT64_FORMAT "-%" G_GINT64_FORMAT
                   "; the default is used.",
                   opt->section, opt->key, v, opt->min, opt->max);
        return opt->def;
    }
    return v;
}

gint64
mom_controller_option_int(const MomControllerConfig *cfg, const MomControllerOption *opt)
{
    g_return_val_if_fail(cfg != NULL && opt != NULL, 0);
    g_return_val_if_fail(opt->type == MOM_CONTROLLER_OPTION_INT, opt->def);

    return option_value(cfg, opt);
}

gboolean
mom_controller_option_bool(const MomControllerConfig *cfg, const MomControllerOption *opt)
{
    g_return_val_if_fail(cfg != NULL && opt != NULL, FALSE);
    g_return_val_if_fail(opt->type == MOM_CONTROLLER_OPTION_BOOL, opt->def != 0);

    return option_value(cfg, opt) != 0;
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
