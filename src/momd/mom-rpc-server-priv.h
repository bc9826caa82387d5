/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Internals of the control API's server (mom-rpc-server.c), for
 * tests/check-rpc.c.
 */
#pragma once

#include <glib.h>

#include "mom-rpc-server.h"

/* A request's size when MomRpcConfig.max_request is 0. */
#define MOM_RPC_DEFAULT_MAX_REQUEST (1024 * 1024)

/**
 * mom_rpc_peer_allowed:
 * Decides whether a unix peer may call methods: root, or a process whose
 * primary (@gid) or supplementary groups include @allowed_gid (-1: no
 * group is allowed).  @groups are the peer's supplementary groups when
 * known (SO_PEERGROUPS), else NULL and /proc/@pid/status is read.
 * Returns: TRUE if the peer may call.
 */
gboolean mom_rpc_peer_allowed(guint uid, guint gid, guint pid, const guint *groups, gsize n_groups,
                              gint64 allowed_gid);
