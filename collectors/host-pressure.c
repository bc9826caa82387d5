/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * HostPressure (momd addition, not in MOM): memory pressure as the kernel
 * measures it, which is a better overcommit signal than free memory.
 *
 * Mandatory (present on every kernel momd supports, >= 3.14):
 *   mem_avail_real      MemAvailable of PROC/meminfo (KiB): what can be
 *                       allocated without swapping, unlike HostMemory's
 *                       mem_available, which is MemTotal for MOM's sake
 *   pgmajfault          major faults since the previous sample (PROC/vmstat)
 *   pressure_trigger    1 when the daemon took this sample at once because
 *                       its pressure fast path fired (src/momd/mom-pressure.c),
 *                       else 0
 * Optional (PROC/pressure/memory, absent without CONFIG_PSI or with psi=0):
 *   psi_mem_some_avg10, psi_mem_some_avg60   percent of time some task
 *   psi_mem_full_avg10, psi_mem_full_avg60   ... all tasks stalled on memory
 *   psi_mem_some_total, psi_mem_full_total   stall microseconds since the
 *                                            previous sample
 * Deltas are 0 on the first sample, as MOM's swap_in/swap_out.  A value
 * that cannot be true (MemAvailable above MemTotal, a negative one) fails
 * the collection, as in HostMemory.
 */
#include "config.h"

#include <glib.h>

#include "mom-collector.h"
#include "collector-priv.h"
#include "proc-parse.h"

typedef struct {
    char *meminfo_path;
    char *vmstat_path;
    char *pressure_path;
    MomCounter pgmajfault;
    MomCounter some_total;
    MomCounter full_total;
    const gboolean *pressure_trigger; /* the daemon's, or NULL */
} HostPressure;

static const char *const host_pressure_fields[] = {"mem_avail_real", "pgmajfault",
                                                   "pressure_trigger", NULL};

static const char *const host_pressure_optional_fields[] = {
    "psi_mem_some_avg10",
    "psi_mem_some_avg60",
    "psi_mem_full_avg10",
    "psi_mem_full_avg60",
    "psi_mem_some_total",
    "psi_mem_full_total",
    NULL,
};

static gpointer
host_pressure_init(const MomCollectorConfig *cfg, GError **error)
{
    HostPressure *hp = g_new0(HostPressure, 1);

    hp->meminfo_path = g_build_filename(cfg->proc_root, "meminfo", NULL);
    hp->vmstat_path = g_build_filename(cfg->proc_root, "vmstat", NULL);
    hp->pressure_path = g_build_filename(cfg->proc_root, "pressure", "memory", NULL);
    hp->pressure_trigger = cfg->pressure_trigger;
    return hp;
}

static void
host_pressure_free(gpointer state)
{
    HostPressure *hp = state;

    g_free(hp->meminfo_path);
    g_free(hp->vmstat_path);
    g_free(hp->pressure_path);
    g_free(hp);
}

static void
set_psi(MomSample *out, const MomPsiLine *line, MomCounter *total, const char *avg10,
        const char *avg60, const char *total_field)
{
    /* nil too, so a reused sample holds no stale value */
    if (!line->present) {
        mom_counter_reset(total);
        mom_sample_set(out, avg10, mom_value_nil());
        mom_sample_set(out, avg60, mom_value_nil());
        mom_sample_set(out, total_field, mom_value_nil());
        return;
    }
    mom_sample_set_float(out, avg10, line->avg10);
    mom_sample_set_float(out, avg60, line->avg60);
    /* total is a u64 of microseconds since boot: it fits gint64 for
     * 292 000 years of stall. */
    mom_sample_set_int(out, total_field, mom_counter_delta(total, (gint64)line->total));
}

static gboolean
host_pressure_collect(gpointer state, MomSample *out, GError **error)
{
    HostPressure *hp = state;
    /* MemTotal only to check MemAvailable against it (mom_proc_check_keys) */
    MomProcKey mi[] = {{"MemAvailable"}, {"MemTotal"}};
    MomProcKey vm[] = {{"pgmajfault"}};
    g_autofree char *psi_text = NULL;
    MomPsiLine some = {0}, full = {0};

    /* Everything is read and parsed before any counter moves, so a failed
     * collection does not eat a delta. */
    if (!mom_proc_read_keys(hp->meminfo_path, TRUE, mi, G_N_ELEMENTS(mi), error) ||
        !mom_proc_read_keys(hp->vmstat_path, FALSE, vm, G_N_ELEMENTS(vm), error) ||
        !mom_proc_read_file(hp->pressure_path, MOM_PROC_MAX_SMALL_FILE, MOM_PROC_READ_OPTIONAL,
                            &psi_text, NULL, error))
        return FALSE;
    if (psi_text && !mom_proc_parse_pressure(hp->pressure_path, psi_text, &some, &full, error))
        return FALSE;

    mom_sample_set(out, "mem_avail_real",
                   mi[0].found ? mom_value_int(mi[0].value) : mom_value_nil());
    if (vm[0].found) {
        mom_sample_set_int(out, "pgmajfault", mom_counter_delta(&hp->pgmajfault, vm[0].value));
    } else {
        mom_counter_reset(&hp->pgmajfault);
        mom_sample_set(out, "pgmajfault", mom_value_nil());
    }
    set_psi(out, &some, &hp->some_total, "psi_mem_some_avg10", "psi_mem_some_avg60",
            "psi_mem_some_total");
    set_psi(out, &full, &hp->full_total, "psi_mem_full_avg10", "psi_mem_full_avg60",
            "psi_mem_full_total");
    mom_sample_set_int(out, "pressure_trigger", hp->pressure_trigger && *hp->pressure_trigger);
    return TRUE;
}

const MomCollectorClass mom_collector_host_pressure = {
    .name = "HostPressure",
    .fields = host_pressure_fields,
    .optional_fields = host_pressure_optional_fields,
    .init = host_pressure_init,
    .collect = host_pressure_collect,
    .free = host_pressure_free,
};

gboolean
mom_collector_parse_mem_available(const char *meminfo_path, const char *text, gint64 *total_kib,
                                  gint64 *available_kib, GError **error)
{
    MomProcKey mi[] = {{"MemTotal"}, {"MemAvailable"}};

    if (!mom_proc_parse_meminfo(meminfo_path, text, mi, G_N_ELEMENTS(mi), error) ||
        !mom_proc_check_keys(meminfo_path, mi, G_N_ELEMENTS(mi), error))
        return FALSE;
    for (guint i = 0; i < G_N_ELEMENTS(mi); i++) {
        if (!mi[i].found) {
            g_set_error(error, MOM_COLLECTOR_ERROR, MOM_COLLECTOR_ERROR_PARSE, "%s has no %s line.",
                        meminfo_path, mi[i].name);
            return FALSE;
        }
    }
    *total_kib = mi[0].value;
    *available_kib = mi[1].value;
    return TRUE;
}

gboolean
mom_collector_read_mem_available(const char *meminfo_path, gint64 *total_kib, gint64 *available_kib,
                                 GError **error)
{
    g_autofree char *text = NULL;

    return mom_proc_read_file(meminfo_path, MOM_PROC_MAX_FILE_SIZE, MOM_PROC_READ_REQUIRED, &text,
                              NULL, error) &&
           mom_collector_parse_mem_available(meminfo_path, text, total_kib, available_kib, error);
}
