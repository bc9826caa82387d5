/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * HostCpu: cpu_count (mandatory), the number of online CPUs.
 *
 * MOM counts the "processor" lines of /proc/cpuinfo, which lists online
 * CPUs on x86 but has a different shape on other architectures; the
 * kernel's own list of online CPUs is SYSFS/devices/system/cpu/online
 * ("0-3,8,10-11").  Without sysfs we count the "cpuN" lines of PROC/stat,
 * which also lists online CPUs only.
 */
#include "config.h"

#include <string.h>

#include <glib.h>

#include "mom-collector.h"
#include "collector-priv.h"
#include "proc-parse.h"

typedef struct {
    char *online_path;
    char *stat_path;
} HostCpu;

static const char *const host_cpu_fields[] = {"cpu_count", NULL};

static gpointer
host_cpu_init(const MomCollectorConfig *cfg, GError **error)
{
    HostCpu *hc = g_new0(HostCpu, 1);

    hc->online_path = g_build_filename(cfg->sysfs_root, "devices", "system", "cpu", "online", NULL);
    hc->stat_path = g_build_filename(cfg->proc_root, "stat", NULL);
    return hc;
}

static void
host_cpu_free(gpointer state)
{
    HostCpu *hc = state;

    g_free(hc->online_path);
    g_free(hc->stat_path);
    g_free(hc);
}

/* Counts the lines of PROC/stat that start with "cpu" and a digit; the
 * aggregate "cpu " line is not a CPU. */
static gboolean
count_stat_cpus(const char *path, guint *count, GError **error)
{
    g_autofree char *text = NULL;
    guint n = 0;

    if (!mom_proc_read_file(path, MOM_PROC_MAX_FILE_SIZE, MOM_PROC_READ_REQUIRED, &text, NULL,
                            error))
        return FALSE;
    for (const char *line = text; line && *line; line = strchr(line, '\n')) {
        if (*line == '\n')
            line++;
        if (g_str_has_prefix(line, "cpu") && g_ascii_isdigit(line[3]))
            n++;
    }
    if (n == 0) {
        g_set_error(error, MOM_COLLECTOR_ERROR, MOM_COLLECTOR_ERROR_PARSE,
                    "%s: no 'cpuN' lines found", path);
        return FALSE;
    }
    *count = n;
    return TRUE;
}

static gboolean
host_cpu_collect(gpointer state, MomSample *out, GError **error)
{
    HostCpu *hc = state;
    g_autofree char *text = NULL;
    guint count;

    if (!mom_proc_read_file(hc->online_path, MOM_PROC_MAX_SMALL_FILE, MOM_PROC_READ_OPTIONAL, &text,
                            NULL, error))
        return FALSE;
    if (text) {
        if (!mom_proc_parse_cpu_list(hc->online_path, text, &count, error))
            return FALSE;
        if (count == 0) {
            g_set_error(error, MOM_COLLECTOR_ERROR, MOM_COLLECTOR_ERROR_PARSE,
                        "%s: the list of online CPUs is empty", hc->online_path);
            return FALSE;
        }
    } else if (!count_stat_cpus(hc->stat_path, &count, error)) {
        return FALSE;
    }
    mom_sample_set_int(out, "cpu_count", count);
    return TRUE;
}

const MomCollectorClass mom_collector_host_cpu = {
    .name = "HostCpu",
    .fields = host_cpu_fields,
    .optional_fields = NULL,
    .init = host_cpu_init,
    .collect = host_cpu_collect,
    .free = host_cpu_free,
};
