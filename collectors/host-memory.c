/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * HostMemory: host memory statistics from PROC/meminfo and PROC/vmstat,
 * with MOM's field names and units.
 *
 *   mem_available  MemTotal (KiB); the name is MOM's, not MemAvailable
 *   mem_unused     MemFree (KiB)
 *   mem_free       MemFree + Buffers + Cached (KiB)
 *   swap_in        pswpin pages since the previous sample (0 on the first)
 *   swap_out       pswpout pages since the previous sample (0 on the first)
 *   anon_pages     AnonPages (KiB)
 *   swap_total     SwapTotal (KiB)
 *   swap_usage     SwapTotal - SwapFree (KiB)
 *
 * All fields are mandatory, as in MOM's getFields().  A key missing from
 * an otherwise well-formed file leaves its field nil, which the monitor
 * counts as an incomplete sample; an unreadable or malformed file fails
 * the collection, and so does a value that cannot be true (a MemTotal of 0
 * or less, MemFree above MemTotal, SwapFree above SwapTotal, a negative
 * size or counter: mom_proc_check_keys()), so that no policy acts on it.
 */
#include "config.h"

#include <glib.h>

#include "mom-collector.h"
#include "collector-priv.h"
#include "proc-parse.h"

typedef struct {
    char *meminfo_path;
    char *vmstat_path;
    MomCounter swap_in;
    MomCounter swap_out;
} HostMemory;

enum { MI_MEMTOTAL, MI_MEMFREE, MI_BUFFERS, MI_CACHED, MI_ANON, MI_SWAPTOTAL, MI_SWAPFREE, MI_N };
enum { VM_PSWPIN, VM_PSWPOUT, VM_N };

static const char *const host_memory_fields[] = {
    "mem_available", "mem_unused", "mem_free",   "swap_in", "swap_out",
    "anon_pages",    "swap_total", "swap_usage", NULL,
};

static gpointer
host_memory_init(const MomCollectorConfig *cfg, GError **error)
{
    HostMemory *hm = g_new0(HostMemory, 1);

    hm->meminfo_path = g_build_filename(cfg->proc_root, "meminfo", NULL);
    hm->vmstat_path = g_build_filename(cfg->proc_root, "vmstat", NULL);
    return hm;
}

static void
host_memory_free(gpointer state)
{
    HostMemory *hm = state;

    g_free(hm->meminfo_path);
    g_free(hm->vmstat_path);
    g_free(hm);
}

/* Sets every field, nil included, so a reused sample holds no stale value. */
static void
set_if(MomSample *out, const char *field, gboolean found, gint64 value)
{
    mom_sample_set(out, field, found ? mom_value_int(value) : mom_value_nil());
}

static gboolean
host_memory_collect(gpointer state, MomSample *out, GError **error)
{
    HostMemory *hm = state;
    MomProcKey mi[MI_N] = {
        [MI_MEMTOTAL] = {"MemTotal"}, [MI_MEMFREE] = {"MemFree"}, [MI_BUFFERS] = {"Buffers"},
        [MI_CACHED] = {"Cached"},     [MI_ANON] = {"AnonPages"},  [MI_SWAPTOTAL] = {"SwapTotal"},
        [MI_SWAPFREE] = {"SwapFree"},
    };
    MomProcKey vm[VM_N] = {[VM_PSWPIN] = {"pswpin"}, [VM_PSWPOUT] = {"pswpout"}};

    /* Read both files before touching @out or the counters, so a failed
     * collection leaves no half-updated state behind. */
    if (!mom_proc_read_keys(hm->meminfo_path, TRUE, mi, MI_N, error) ||
        !mom_proc_read_keys(hm->vmstat_path, FALSE, vm, VM_N, error))
        return FALSE;

    set_if(out, "mem_available", mi[MI_MEMTOTAL].found, mi[MI_MEMTOTAL].value);
    set_if(out, "mem_unused", mi[MI_MEMFREE].found, mi[MI_MEMFREE].value);
    set_if(out, "mem_free", mi[MI_MEMFREE].found && mi[MI_BUFFERS].found && mi[MI_CACHED].found,
           mi[MI_MEMFREE].value + mi[MI_BUFFERS].value + mi[MI_CACHED].value);
    set_if(out, "anon_pages", mi[MI_ANON].found, mi[MI_ANON].value);
    set_if(out, "swap_total", mi[MI_SWAPTOTAL].found, mi[MI_SWAPTOTAL].value);
    set_if(out, "swap_usage", mi[MI_SWAPTOTAL].found && mi[MI_SWAPFREE].found,
           mi[MI_SWAPTOTAL].value - mi[MI_SWAPFREE].value);

    /* vmstat counts since boot; MOM reports the change since the last
     * sample, 0 the first time.  A counter that disappears restarts that
     * rule when it comes back. */
    if (!vm[VM_PSWPIN].found)
        mom_counter_reset(&hm->swap_in);
    set_if(out, "swap_in", vm[VM_PSWPIN].found,
           vm[VM_PSWPIN].found ? mom_counter_delta(&hm->swap_in, vm[VM_PSWPIN].value) : 0);
    if (!vm[VM_PSWPOUT].found)
        mom_counter_reset(&hm->swap_out);
    set_if(out, "swap_out", vm[VM_PSWPOUT].found,
           vm[VM_PSWPOUT].found ? mom_counter_delta(&hm->swap_out, vm[VM_PSWPOUT].value) : 0);
    return TRUE;
}

const MomCollectorClass mom_collector_host_memory = {
    .name = "HostMemory",
    .fields = host_memory_fields,
    .optional_fields = NULL,
    .init = host_memory_init,
    .collect = host_memory_collect,
    .free = host_memory_free,
};
