/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The state file: a host and its guests with their sample histories, in
 * the JSON format of docs/state-format.md.  momctl's offline policy tester
 * reads it; the daemon's snapshot writes it.
 */
#pragma once

#include <glib.h>

#include "mom-policy.h"

#define MOM_STATE_ERROR (mom_state_error_quark())
GQuark mom_state_error_quark(void);

typedef enum {
    MOM_STATE_ERROR_IO,     /* the file cannot be read */
    MOM_STATE_ERROR_SYNTAX, /* not JSON */
    MOM_STATE_ERROR_FORMAT, /* JSON, but not a state */
} MomStateErrorCode;

typedef struct {
    MomEntity *host;   /* always set; a state without "host" gets an empty one */
    GPtrArray *guests; /* MomEntity, owned, in file order */
} MomState;

/**
 * mom_state_load_data:
 * Builds a state from JSON text.  @origin names the text in messages.
 * Errors name the offending member by its path, e.g.
 * "guests[1].samples[0].mem_unused".  Returns: (transfer full) the state, or NULL.
 */
MomState *mom_state_load_data(const char *data, gssize len, const char *origin, GError **error);

/** mom_state_load_file: Reads and builds a state from @path.  Returns: (transfer full) or NULL. */
MomState *mom_state_load_file(const char *path, GError **error);

/**
 * mom_state_to_json:
 * Writes @host and @guests (MomEntity) in the state format: properties,
 * every sample of the history (oldest first) and the persistent
 * variables, so that `momctl policy test --state` reproduces the daemon's
 * decisions.  Returns: (transfer full) the JSON text.
 */
char *mom_state_to_json(MomEntity *host, GPtrArray *guests);

/** mom_state_free: Frees @state and its entities. */
void mom_state_free(MomState *state);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MomState, mom_state_free)

/**
 * mom_state_report_json:
 * Returns: (transfer full) the outcome of @run over @state as one JSON
 * document: ok, host and guest controls (with the policy location that set
 * each), per-guest errors, debug lines and errors (@load_errors, if any,
 * come first: diagnostics of policies that failed to load).
 */
char *mom_state_report_json(const MomState *state, const MomPolicyRun *run, GPtrArray *load_errors);

/** mom_state_report_text: Returns: (transfer full) the same report for a terminal. */
char *mom_state_report_text(const MomState *state, const MomPolicyRun *run, GPtrArray *load_errors);
