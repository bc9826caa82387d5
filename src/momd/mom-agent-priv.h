/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Private to mom-agent.c and its tests (tests/check-agent.c): the reply
 * decoder and the error classification.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "mom-agent.h"

/**
 * mom_agent_parse_reply:
 * Parses @reply, the agent's answer to @command (its name, for messages):
 * {"return": VALUE} gives VALUE; {"error": {"class": ..., "desc": ...}}
 * is classified like a libvirt error (mom_agent_set_error(), with no
 * timeout: the agent did answer).
 * Returns: (transfer full) the "return" value, or NULL with @error.
 */
JsonNode *mom_agent_parse_reply(const char *command, const char *reply, GError **error);

/**
 * mom_agent_decode_b64:
 * Strictly decodes the base64 text @b64 (whole 4-character groups of the
 * standard alphabet, '=' only as padding at the end); @command names the
 * reply in messages.  Returns: (transfer full) the bytes, or NULL with
 * MOM_AGENT_ERROR_PROTOCOL.
 */
GBytes *mom_agent_decode_b64(const char *command, const char *b64, GError **error);

/**
 * mom_agent_parse_read:
 * Decodes a guest-file-read "return" object {"count": N, "buf-b64": ...,
 * "eof": BOOL}, checking that N is the decoded length, and appends the
 * bytes to @buf.  Returns: FALSE with MOM_AGENT_ERROR_PROTOCOL.
 */
gboolean mom_agent_parse_read(JsonNode *ret, GByteArray *buf, gboolean *eof, GError **error);

/**
 * mom_agent_set_error:
 * Sets @error for a failed agent @command, sent with a limit of @timeout
 * seconds (0 when it is not known), from the libvirt error code @vir_code
 * (virErrorNumber, 0 when there is none) and @message: an agent that is
 * not connected or not configured is NO_AGENT, one that timed out TIMEOUT
 * (its message names the timeout), a command the guest's allow/block list
 * refuses ("Command X has been disabled", "not allowed") DISABLED, a
 * missing file NO_FILE, the rest FAILED.
 */
void mom_agent_set_error(GError **error, const char *command, guint timeout, int vir_code,
                         const char *message);

/**
 * mom_agent_parse_memory:
 * Fills @out from the guest's /proc/meminfo text @meminfo, /proc/vmstat
 * text @vmstat and /proc/pressure/memory text @pressure (NULL: no PSI).
 * Returns: FALSE with MOM_COLLECTOR_ERROR_PARSE on malformed text.
 */
gboolean mom_agent_parse_memory(const char *meminfo, const char *vmstat, const char *pressure,
                                MomGuestAgentData *out, GError **error);
