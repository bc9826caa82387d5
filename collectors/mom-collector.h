/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Collector plugins.  A collector reads one source (a /proc file, a sysfs
 * directory, later libvirt) and fills named fields of a sample.  Plugins
 * are listed in a static table (collector-registry.c), not loaded with
 * GModule: every plugin is in-tree, so there is no ABI to keep and no
 * dlopen failure mode.
 */
#pragma once

#include <glib.h>

#include "mom-policy.h"

#define MOM_COLLECTOR_ERROR (mom_collector_error_quark())
GQuark mom_collector_error_quark(void);

typedef enum {
    MOM_COLLECTOR_ERROR_READ,   /* a source file cannot be read */
    MOM_COLLECTOR_ERROR_PARSE,  /* a source file has unexpected content */
    MOM_COLLECTOR_ERROR_CONFIG, /* a [Collector: NAME] option is invalid */
} MomCollectorErrorCode;

/**
 * mom_collector_full_stop:
 * A collector error often ends with a text quoted from the kernel, libvirt
 * or the guest agent, which need not end a sentence; a log line that goes
 * on after it ("... Retrying ...") must put in the full stop.
 * Returns: (transfer none) "" when @message ends with '.', '!' or '?' (or
 * is empty), else ".".
 */
const char *mom_collector_full_stop(const char *message);

/* How the newest qemu-guest-agent read of a guest went (GuestQemuAgent). */
typedef enum {
    MOM_GUEST_AGENT_UNKNOWN = 0, /* no read has finished yet (or the collector is not used) */
    MOM_GUEST_AGENT_OK,
    MOM_GUEST_AGENT_UNREACHABLE, /* no agent, not connected, or it did not answer in time */
    MOM_GUEST_AGENT_BLOCKED,     /* the guest's qemu-ga allow/block list refuses a command */
    MOM_GUEST_AGENT_FAILED,      /* anything else (a reply momd cannot use, ...) */
} MomGuestAgentState;

/*
 * The guest's own /proc, read through qemu-guest-agent by the guest
 * manager in a worker thread (src/momd/mom-agent.c) and copied by value, under
 * the poller's lock, into the guest manager's buffer for the guest, which
 * MomGuestData.agent points at; so it owns no pointers.  Values are
 * as the guest prints them (KiB, or counts); -1 means "not in the file".
 */
typedef struct {
    MomGuestAgentState state;
    char error[512]; /* why the newest read failed (state > OK), else "" */
    guint64 reads;   /* successful reads so far: tells a new read from a repeated one */
    /* /proc/meminfo */
    gint64 mem_total, mem_free, buffers, cached, swap_total, swap_free;
    /* /proc/vmstat, cumulative */
    gint64 pgfault, pgmajfault, pswpin, pswpout;
    /* /proc/pressure/memory, when the guest kernel has PSI enabled */
    gboolean psi_some, psi_full; /* the line was present */
    double psi_some_avg10, psi_some_avg60, psi_full_avg10, psi_full_avg60;
    gint64 psi_some_total, psi_full_total; /* microseconds, cumulative */
} MomGuestAgentData;

/*
 * CpuTune/IoTune: one disk's I/O limits from the guest's tuning metadata
 * (docs/metadata.md).  Indices of guaranteed[] and maximum[] are
 * MomIoTuneKey; a value is bytes or operations per second, -1 when the
 * metadata does not give it.
 */
typedef enum {
    MOM_IO_TOTAL_BYTES_SEC,
    MOM_IO_READ_BYTES_SEC,
    MOM_IO_WRITE_BYTES_SEC,
    MOM_IO_TOTAL_IOPS_SEC,
    MOM_IO_READ_IOPS_SEC,
    MOM_IO_WRITE_IOPS_SEC,
    MOM_IO_N_KEYS,
} MomIoTuneKey;

typedef struct {
    char *name; /* the disk's target dev ("vda"), or NULL */
    char *path; /* its source path, or NULL */
    gint64 guaranteed[MOM_IO_N_KEYS];
    gint64 maximum[MOM_IO_N_KEYS];
} MomIoTunePolicy;

/*
 * IoTune: one disk of the guest (a <disk> of the domain XML with a
 * <target dev> and a <source file|dev>) and libvirt's current limits for
 * it (virDomainGetBlockIoTune, by MomIoTuneKey; 0 is "no limit").
 */
typedef struct {
    char *name; /* target dev, "vda" */
    char *path; /* source file or dev, or NULL */
    gint64 current[MOM_IO_N_KEYS];
} MomIoTuneDisk;

/*
 * What momd knows of a guest's tuning: from its domain XML and tuning
 * metadata (docs/metadata.md), and its scheduler parameters.  Kept once,
 * in the guest manager's view of the domain (MomDomainInfo), and copied
 * whole into each collection's MomGuestData.
 */
typedef struct {
    gint64 balloon_min;     /* KiB: <memtune><min_guarantee> or the metadata's minimum,
                             * the larger; 0 when absent */
    gboolean nosharepages;  /* <memoryBacking><nosharepages/> */
    gint64 vcpu_count;      /* current vCPUs; -1 unknown */
    double vcpu_user_limit; /* percent, from the tuning metadata; 100 without */
    gint64 balloon_weight;  /* from the tuning metadata; -1 without */
    gboolean sched_known;   /* vcpu_quota and vcpu_period below were read */
    gint64 vcpu_quota;  /* scheduler parameter, µs; 0 when libvirt has none (MOM), -1 no limit */
    gint64 vcpu_period; /* µs; 0 when libvirt has none */
} MomGuestTune;

/*
 * What the hypervisor reported about one guest this cycle.  The guest
 * manager fills it from ONE bulk libvirt call for all guests (per-domain
 * calls only where the bulk call lacks data), so guest collectors never
 * call libvirt themselves.  Memory values are KiB; -1 means "not
 * reported" (the field becomes nil).
 */
typedef struct {
    const char *name;
    const char *uuid;
    gint64 pid;         /* the QEMU process, from libvirt's pid file; -1 unknown */
    gint64 balloon_cur; /* current balloon size (libvirt's "actual") */
    gint64 balloon_max; /* maximum memory */
    gint64 swap_in;     /* the guest's cumulative counters, from the balloon driver */
    gint64 swap_out;
    gint64 major_fault;
    gint64 minor_fault;
    gint64 unused;    /* guest MemFree */
    gint64 available; /* guest MemTotal as the balloon driver sees it */
    gint64 usable;    /* guest MemAvailable-like: what can be reclaimed without swapping */
    gint64 disk_caches;
    gint64 rss;         /* of the QEMU process, as libvirt reports it */
    gint64 last_update; /* seconds since the epoch of the guest's last stats update */
    gint64 now;         /* seconds since the epoch when this data was taken */
    gboolean paused;    /* libvirt's state: paused (virsh suspend, an I/O error) */
    MomGuestTune tune;  /* the domain's tuning, as the guest manager knows it */
    /* GuestQemuAgent */
    /* the newest background read, copied into the guest manager's buffer
     * before collect(), which this points at; NULL when no
     * collector reads the agent, so that the many copies of this struct (the
     * collections' batches, the guests) stay small */
    const MomGuestAgentData *agent;
    /* per-disk I/O limits from the tuning metadata (owned by MomDomainInfo) */
    const MomIoTunePolicy *io_policy;
    guint n_io_policy;
    /* IoTune */
    gboolean io_known;             /* io_disks[].current were read */
    const MomIoTuneDisk *io_disks; /* owned by MomDomainInfo */
    guint n_io_disks;
} MomGuestData;

/* Where and how a collector reads.  Readers take roots so tests can point
 * them at fixture trees (tests/data/...). */
typedef struct {
    const char *proc_root;  /* "/proc" */
    const char *sysfs_root; /* "/sys" */
    guint interval;         /* seconds between samples, for rates */
    GKeyFile *config;       /* the daemon's config, or NULL */
    const char *section;    /* "Collector: NAME", the plugin's own section */
    /* Guest collectors only: this guest's data, refreshed by the guest
     * manager before every collect() (the pointer stays valid). */
    const MomGuestData *guest;
    /* Host collectors only (HostPressure): TRUE while the daemon samples
     * the host out of band because its pressure fast path fired; NULL
     * reads as FALSE. */
    const gboolean *pressure_trigger;
} MomCollectorConfig;

/* One sample being filled: values in the order of @schema. */
typedef struct {
    MomSchema *schema;
    MomValue *values;
} MomSample;

/**
 * mom_sample_new: Returns: (transfer full) a sample of all-nil values over @schema.
 */
MomSample *mom_sample_new(MomSchema *schema);
/** mom_sample_free: Frees @sample and its values. */
void mom_sample_free(MomSample *sample);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MomSample, mom_sample_free)
/**
 * mom_sample_set: Sets @field to @value (taking its reference).  A field
 * outside the schema is a programmer error (g_critical).
 */
void mom_sample_set(MomSample *sample, const char *field, MomValue value);
/** mom_sample_set_int: Sets @field to the integer @v. */
void mom_sample_set_int(MomSample *sample, const char *field, gint64 v);
/** mom_sample_set_float: Sets @field to the float @v. */
void mom_sample_set_float(MomSample *sample, const char *field, double v);
/** mom_sample_get: Returns: (transfer none) the value of @field (nil if unset or unknown). */
const MomValue *mom_sample_get(const MomSample *sample, const char *field);

typedef struct {
    const char *name;                   /* MOM's spelling: "HostMemory" */
    const char *const *fields;          /* mandatory, NULL-terminated */
    const char *const *optional_fields; /* NULL-terminated, or NULL */
    /* The guest manager reads the guest's agent in the background for it
     * (MomGuestData.agent): agent calls can hang, so a collection never
     * makes them itself. */
    gboolean needs_agent;
    /* Returns the plugin's state (never NULL on success). */
    gpointer (*init)(const MomCollectorConfig *cfg, GError **error);
    /* Fills the plugin's fields of @out; FALSE with @error when the source
     * failed.  A mandatory field left nil makes the sample incomplete. */
    gboolean (*collect)(gpointer state, MomSample *out, GError **error);
    void (*free)(gpointer state);
} MomCollectorClass;

/* The registry: every built-in collector, NULL-terminated. */
extern const MomCollectorClass *const mom_collector_classes[];

/** mom_collector_lookup: Returns: (transfer none) the collector named @name (MOM's spelling), or
 * NULL. */
const MomCollectorClass *mom_collector_lookup(const char *name);

/**
 * mom_collector_schema_new:
 * The field layout of an entity monitored by the @n_classes collectors of
 * @classes: their mandatory then optional fields, in class order.
 * Returns: (transfer full) the schema.
 */
MomSchema *mom_collector_schema_new(const MomCollectorClass *const *classes, guint n_classes);

/**
 * mom_sample_missing_field:
 * Finds the first mandatory field of @klass that @sample left nil, which
 * makes the sample incomplete (MOM's rule for getFields()).
 * Returns: (transfer none) the field name, or NULL when all are set.
 */
const char *mom_sample_missing_field(const MomSample *sample, const MomCollectorClass *klass);

/**
 * mom_collector_read_mem_available:
 * Reads MemTotal and MemAvailable (KiB) from @meminfo_path, a file in
 * /proc/meminfo's format, as HostPressure does, for a watcher that needs
 * nothing else between two samples (the daemon's pressure fast path).
 * Returns: FALSE with @error when the file cannot be read or parsed, holds
 * a value that cannot be true, or lacks either key.
 */
gboolean mom_collector_read_mem_available(const char *meminfo_path, gint64 *total_kib,
                                          gint64 *available_kib, GError **error);

/**
 * mom_collector_parse_mem_available:
 * As mom_collector_read_mem_available(), for @text already read from
 * @meminfo_path (named in errors).
 * Returns: FALSE with @error as mom_collector_read_mem_available() does.
 */
gboolean mom_collector_parse_mem_available(const char *meminfo_path, const char *text,
                                           gint64 *total_kib, gint64 *available_kib,
                                           GError **error);
