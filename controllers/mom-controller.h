/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Controller plugins: they apply the controls a policy evaluation left on
 * the entities (balloon targets, KSM tunables, ...).  As for collectors,
 * plugins are listed in a static table (controller-registry.c).
 */
#pragma once

#include <glib.h>

#include "mom-policy.h"

#define MOM_CONTROLLER_ERROR (mom_controller_error_quark())
GQuark mom_controller_error_quark(void);

/* A guest's change that is still running after this many seconds is worth
 * a warning: a call can wait a second or two behind libvirt's other calls
 * (while another guest's QEMU is frozen, say), which is no news. */
#define MOM_CONTROLLER_BUSY_WARN_S 5

typedef enum {
    MOM_CONTROLLER_ERROR_INIT,  /* the controller cannot work on this host */
    MOM_CONTROLLER_ERROR_APPLY, /* a control could not be applied */
} MomControllerErrorCode;

/*
 * How controllers reach the hypervisor, so this library needs no libvirt:
 * the daemon passes functions backed by its libvirt connection, tests pass
 * fakes.  Each function may block (a guest's QEMU can be busy), so
 * controllers call them from a worker thread, never from the main loop.
 */
typedef struct {
    gpointer hv;
    /* Sets the balloon of the running guest @uuid to @kib
     * (virDomainSetMemoryFlags(VIR_DOMAIN_AFFECT_LIVE)). */
    gboolean (*set_balloon)(gpointer hv, const char *uuid, guint64 kib, GError **error);
    /* Sets the vCPU bandwidth of the running guest @uuid: @quota µs (-1: no
     * limit) every @period µs (virDomainSetSchedulerParametersFlags(LIVE),
     * vcpu_quota and vcpu_period). */
    gboolean (*set_cpu_tune)(gpointer hv, const char *uuid, gint64 quota, guint64 period,
                             GError **error);
    /* Sets the I/O limits of disk @disk ("vda") of the running guest @uuid
     * (virDomainSetBlockIoTune(LIVE)): @limits by MomIoTuneKey order
     * (total/read/write bytes, total/read/write iops per second), 0 = no
     * limit, -1 = leave as it is. */
    gboolean (*set_block_iotune)(gpointer hv, const char *uuid, const char *disk,
                                 const gint64 limits[6], GError **error);
    /* Whether @error, from one of the calls above, says the guest went away
     * under it (destroyed or undefined): churn, not a fault.  NULL: never. */
    gboolean (*is_gone)(const GError *error);
} MomHypervisorOps;

/*
 * An option of a controller, declared in the controller's own table
 * (MomControllerClass.options).  The config loader (src/momd/mom-config.c) reads
 * these tables, so it checks, overrides and dumps a controller's options
 * as it does its own, and a new option touches only its controller's file
 * (and the docs).  Every controller option is a momd addition: MOM's
 * controllers read none.
 */
typedef enum {
    MOM_CONTROLLER_OPTION_INT,  /* an integer within [min, max] */
    MOM_CONTROLLER_OPTION_BOOL, /* ConfigParser's boolean words */
} MomControllerOptionType;

typedef struct {
    const char *section; /* "balloon"; "main" where MOM users already look */
    const char *key;     /* lowercase, as ConfigParser gives keys; NULL ends a table */
    MomControllerOptionType type;
    /* Typed rather than text, so the default needs no parsing and no
     * failure path: 0 or 1 for a boolean. */
    gint64 def;
    gint64 min; /* MOM_CONTROLLER_OPTION_INT only */
    gint64 max;
} MomControllerOption;

typedef struct {
    const char *sysfs_root;             /* "/sys" */
    gboolean dry_run;                   /* log what would change, change nothing */
    const MomHypervisorOps *hypervisor; /* NULL when there is no hypervisor */
    /* The loaded config (MomConfig.keyfile), which holds each controller
     * option the file or the command line set, checked and in canonical
     * form; NULL means every option at its default.  Read it in init
     * only: a reload replaces it. */
    GKeyFile *keyfile;
} MomControllerConfig;

typedef struct {
    const char *name; /* MOM's spelling: "KSM", "Balloon" */
    /* The options this controller reads from @cfg->keyfile with
     * mom_controller_option_int() and _bool(), ended by a NULL key; NULL
     * when it has none. */
    const MomControllerOption *options;
    gpointer (*init)(const MomControllerConfig *cfg, GError **error);
    /* Applies this cycle's controls.  Each control is applied or skipped on
     * its own; FALSE (with @error) only when nothing could be done at all. */
    gboolean (*apply)(gpointer state, MomEntity *host, GPtrArray *guests, GError **error);
    /* Clean exit: undo what the controller changed when configured to. */
    void (*shutdown)(gpointer state);
    void (*free)(gpointer state);
} MomControllerClass;

/* The registry: every built-in controller, NULL-terminated. */
extern const MomControllerClass *const mom_controller_classes[];

/**
 * mom_controller_call_failures:
 * The hypervisor calls of guest controller @name ("Balloon", "CpuTune",
 * "IoTune") that failed since momd started.  A control's outcome says
 * "requested" when its call is queued, before libvirt has answered; this
 * counts the calls libvirt then refused (a guest that went away under the
 * call is churn and is not counted).  Any thread.
 * Returns: the count; 0 for another name.
 */
guint64 mom_controller_call_failures(const char *name);

/**
 * mom_controller_option_int:
 * The value of @opt, an integer option of a controller, in @cfg: the
 * key file's when it has the key, else the declared default.  The config
 * loader has checked the value; one that does not parse or is out of
 * range is a bug (a critical), and the default is returned.
 * Returns: the value.
 */
gint64 mom_controller_option_int(const MomControllerConfig *cfg, const MomControllerOption *opt);

/**
 * mom_controller_option_bool:
 * As mom_controller_option_int(), for a boolean option.
 * Returns: the value.
 */
gboolean mom_controller_option_bool(const MomControllerConfig *cfg, const MomControllerOption *opt);

/** mom_controller_lookup: Returns: (transfer none) the controller named @name, or NULL. */
const MomControllerClass *mom_controller_lookup(const char *name);

/**
 * mom_control_as_int:
 * Converts a control value to an integer as MOM's controllers do: integers
 * and booleans as they are, floats truncated toward zero.  Returns: FALSE
 * for nil, strings, non-finite or out-of-range floats, and other kinds.
 */
gboolean mom_control_as_int(const MomValue *v, gint64 *out);

/** mom_controller_find_control: Returns: (transfer none) @entity's control @name of this cycle, or
 * NULL. */
const MomControl *mom_controller_find_control(MomEntity *entity, const char *name);

/**
 * mom_controller_stat_int:
 * Reads the newest value of field @name as an integer (floats truncated).
 * Returns: FALSE when the field is not declared, has no data or is not a
 * number (booleans included).
 */
gboolean mom_controller_stat_int(MomEntity *entity, const char *name, gint64 *out);
