/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reading guest files through qemu-guest-agent, by libvirt's agent
 * passthrough (virDomainQemuAgentCommand, with a bounded timeout), for the
 * GuestQemuAgent collector.  The agent protocol, one JSON command and one
 * JSON reply at a time:
 *
 *     {"execute":"guest-file-open","arguments":{"path":"/proc/meminfo","mode":"r"}}
 *     {"return":1000}
 *     {"execute":"guest-file-read","arguments":{"handle":1000,"count":65536}}
 *     {"return":{"count":1432,"buf-b64":"TWVtVG90YWw6...","eof":true}}
 *     {"execute":"guest-file-close","arguments":{"handle":1000}}
 *     {"return":{}}
 *
 * Reads never run on the main context: a MomAgentPoller runs them in a
 * small thread pool, one at a time per guest, and hands the newest result
 * to the guest manager, which copies it into its buffer for the guest,
 * where MomGuestData.agent points.
 */
#pragma once

#include <glib.h>

#include "mom-collector.h"
#include "mom-libvirt.h"

#define MOM_AGENT_ERROR (mom_agent_error_quark())
GQuark mom_agent_error_quark(void);

typedef enum {
    MOM_AGENT_ERROR_NO_AGENT,  /* no agent configured, not connected, or not answering */
    MOM_AGENT_ERROR_TIMEOUT,   /* the agent did not answer within the timeout */
    MOM_AGENT_ERROR_DISABLED,  /* the guest's qemu-ga allow/block list refuses the command */
    MOM_AGENT_ERROR_NO_FILE,   /* the guest has no such file */
    MOM_AGENT_ERROR_PROTOCOL,  /* a reply momd cannot use (bad JSON, bad base64) */
    MOM_AGENT_ERROR_TOO_LARGE, /* the file is larger than the cap */
    MOM_AGENT_ERROR_FAILED,    /* anything else */
} MomAgentErrorCode;

#define MOM_AGENT_READ_CHUNK (64 * 1024) /* bytes asked per guest-file-read */

/* The defaults of [Collector: GuestQemuAgent] timeout and max-file-kib
 * (src/momd/mom-config.c has the same numbers, as text). */
#define MOM_AGENT_DEFAULT_TIMEOUT 2
#define MOM_AGENT_DEFAULT_MAX_FILE_KIB 1024

/* The limits of every read, from [Collector: GuestQemuAgent]. */
typedef struct {
    guint timeout;      /* seconds to wait for the answer to each command, > 0 */
    guint max_file_kib; /* a larger guest file fails with TOO_LARGE, > 0 */
} MomAgentOptions;

/*
 * The transport: sends one agent @command (JSON text; @name is its
 * "execute", for messages), waits at most @timeout seconds, and returns
 * the agent's reply (JSON text, transfer full), or NULL with @error in
 * MOM_AGENT_ERROR.  libvirt's in production, canned replies in tests.
 */
typedef char *(*MomAgentSendFunc)(gpointer user_data, const char *name, const char *command,
                                  guint timeout, GError **error);

/**
 * mom_agent_read_file:
 * Reads all of the guest file @path through @send: guest-file-open,
 * guest-file-read in chunks of MOM_AGENT_READ_CHUNK until the agent says
 * eof, then guest-file-close, which is sent whenever the open succeeded,
 * also after an error.  Each command may take @options' timeout.
 * *@contents is NUL-terminated; @length (nullable) receives its byte count.
 * Returns: TRUE on success; FALSE with MOM_AGENT_ERROR (TOO_LARGE beyond
 * @options' max_file_kib).  *@contents is (transfer full).
 */
gboolean mom_agent_read_file(MomAgentSendFunc send, gpointer user_data, const char *path,
                             const MomAgentOptions *options, char **contents, gsize *length,
                             GError **error);

/**
 * mom_agent_read_memory:
 * Reads and parses the guest's /proc/meminfo and /proc/vmstat, and
 * /proc/pressure/memory when *@psi is TRUE, within @options' limits; a
 * guest without that file (no PSI) sets *@psi to FALSE, which is not an
 * error.  @out gets state MOM_GUEST_AGENT_OK on success; its other
 * bookkeeping is the caller's.
 * Returns: FALSE with @error (MOM_AGENT_ERROR, or MOM_COLLECTOR_ERROR_PARSE
 * for a file of the wrong shape).
 */
gboolean mom_agent_read_memory(MomAgentSendFunc send, gpointer user_data,
                               const MomAgentOptions *options, gboolean *psi,
                               MomGuestAgentData *out, GError **error);

/**
 * mom_agent_state_of:
 * Returns: the MomGuestAgentState that the read failure @error stands for.
 */
MomGuestAgentState mom_agent_state_of(const GError *error);

/* Background reads of every guest's agent. */
typedef struct _MomAgentPoller MomAgentPoller;

/**
 * mom_agent_poller_new:
 * Creates the pool that reads the agents of @lv's guests, each at most
 * once per @interval seconds, within @options' limits (copied).
 * Returns: (transfer full) the poller.
 */
MomAgentPoller *mom_agent_poller_new(MomLibvirt *lv, guint interval,
                                     const MomAgentOptions *options);

/**
 * mom_agent_poller_set_options:
 * Replaces the limits of the reads that start from now on (a config
 * reload); a read already queued or running keeps the ones it started
 * with.  Main context only.
 */
void mom_agent_poller_set_options(MomAgentPoller *poller, const MomAgentOptions *options);

/**
 * mom_agent_poller_free:
 * Drops queued reads and returns at once; a read still running finishes
 * in its thread and its result is discarded.
 */
void mom_agent_poller_free(MomAgentPoller *poller);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MomAgentPoller, mom_agent_poller_free)

/**
 * mom_agent_poller_update:
 * Copies the newest result for the guest @uuid (named @name) into @out
 * (state MOM_GUEST_AGENT_UNKNOWN until a read has finished), then starts
 * a read of its agent unless one is running or the last one started less
 * than an interval ago.  Main context only.
 */
void mom_agent_poller_update(MomAgentPoller *poller, const char *uuid, const char *name,
                             MomGuestAgentData *out);

/** mom_agent_poller_forget: Drops what is known about the guest @uuid (NULL @poller: no-op). */
void mom_agent_poller_forget(MomAgentPoller *poller, const char *uuid);
