/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The collector registry: a static table of every built-in collector (the
 * tmux cmd_table pattern), so the linker and the tests see every plugin.
 */
#include "config.h"

#include <string.h>

#include <glib.h>

#include "mom-collector.h"
#include "collector-priv.h"

/* clang-format off */
/* G_DEFINE_QUARK stringifies its first argument: clang-format must not space it */
/* clang-format off */
G_DEFINE_QUARK(mom-collector-error-quark, mom_collector_error)
/* clang-format on */
/* clang-format on */

const MomCollectorClass *const mom_collector_classes[] = {
    &mom_collector_host_memory,
    &mom_collector_host_ksm,
    &mom_collector_host_cpu,
    &mom_collector_host_time,
    &mom_collector_host_pressure,
    &mom_collector_guest_memory,
    &mom_collector_guest_memory_optional,
    &mom_collector_guest_balloon,
    &mom_collector_guest_balloon_optional,
    &mom_collector_guest_qemu_proc,
    &mom_collector_guest_cputune,
    &mom_collector_guest_agent,
    &mom_collector_guest_agent_optional,
    &mom_collector_guest_iotune,
    &mom_collector_guest_iotune_optional,
    NULL,
};

const char *
mom_collector_full_stop(const char *message)
{
    gsize len = message ? strlen(message) : 0;

    return len == 0 || strchr(".!?", message[len - 1]) ? "" : ".";
}

const MomCollectorClass *
mom_collector_lookup(const char *name)
{
    g_return_val_if_fail(name != NULL, NULL);
    for (guint i = 0; mom_collector_classes[i]; i++)
        if (strcmp(mom_collector_classes[i]->name, name) == 0)
            return mom_collector_classes[i];
    return NULL;
}

gboolean
mom_collector_require_guest(const MomCollectorConfig *cfg, const char *name, GError **error)
{
    /* Without guest data a guest collector would have nothing to read; a
     * config error at startup beats a sample that is nil forever. */
    if (cfg->guest == NULL) {
        g_set_error(error, MOM_COLLECTOR_ERROR, MOM_COLLECTOR_ERROR_CONFIG,
                    "%s is a guest collector and cannot be used in [host] collectors.", name);
        return FALSE;
    }
    return TRUE;
}

MomSchema *
mom_collector_schema_new(const MomCollectorClass *const *classes, guint n_classes)
{
    g_autoptr(GPtrArray) names = g_ptr_array_new();

    for (guint c = 0; c < n_classes; c++) {
        for (guint i = 0; classes[c]->fields && classes[c]->fields[i]; i++)
            g_ptr_array_add(names, (gpointer)classes[c]->fields[i]);
        for (guint i = 0; classes[c]->optional_fields && classes[c]->optional_fields[i]; i++)
            g_ptr_array_add(names, (gpointer)classes[c]->optional_fields[i]);
    }
    return mom_schema_new((const char *const *)names->pdata, names->len);
}
