# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# The run directory and clean-up that the single-guest e2e tests share
# (sourced after tap.sh, with $lab set to lab.sh).  e2e_begin NAME SKIPs
# the whole test (exit 0) unless it runs as root with QEMU, then sets
#   MOMD_E2E_DIR  this run's directory (exported: lab.sh keeps its guests
#                 there), under $MOMD_E2E_CACHE (default /tmp/momd-e2e);
#   state         the private libvirtd's directory;
#   tmp           momd's directory, with an empty policies/;
#   log, sock     momd's log file and control socket in it;
# and installs the clean-up: momd stopped, libvirtd and its guests stopped,
# the directory removed, also on meson's timeout; after a failure momd's
# files and libvirt's logs are first copied to
# $MOMD_E2E_CACHE/momd-NAME.last-failure.  momd_stat reads a guest's
# newest sample from that momd.

e2e_begin() {
    if [ "$(id -u)" -ne 0 ]; then
        echo "1..0 # SKIP needs root for a private libvirtd"
        exit 0
    fi
    command -v qemu-system-x86_64 >/dev/null || { echo "1..0 # SKIP no qemu-system-x86_64"; exit 0; }
    e2e_name=$1
    mkdir -p "${MOMD_E2E_CACHE:-/tmp/momd-e2e}"
    MOMD_E2E_DIR=$(mktemp -d "${MOMD_E2E_CACHE:-/tmp/momd-e2e}/$e2e_name.XXXXXX")
    export MOMD_E2E_DIR
    state=$MOMD_E2E_DIR/libvirt
    tmp=$MOMD_E2E_DIR/momd
    mkdir -p "$tmp/policies"
    log=$tmp/momd.log
    sock=$tmp/momd.sock
    unset LIBVIRT_DEFAULT_URI
    momd_pid=
    trap e2e_cleanup EXIT
    trap e2e_on_signal INT TERM HUP
}

# momd_stat GUEST FIELD: FIELD of GUEST's newest sample from the momd on
# $sock, through momctl ("" while there is none).
momd_stat() {
    timeout 10 "$MOMCTL" --socket "$sock" stats "$1" --json 2>/dev/null | python3 -c '
import json, sys
try:
    s = json.load(sys.stdin)["samples"]
    v = s[-1].get(sys.argv[1]) if s else None
except Exception:
    v = None
print("" if v is None else v)' "$2"
}

# balloon_actual GUEST: GUEST's balloon now (libvirt's "actual", KiB) on
# $uri, "" when libvirt does not say.
balloon_actual() {
    timeout 30 virsh -q -c "$uri" dommemstat "$1" 2>/dev/null | awk '$1 == "actual" { print $2 }'
}

# balloon_below GUEST KIB SECONDS: polls, for at most SECONDS, until
# GUEST's balloon is below KIB (momd took it down).
balloon_below() {
    local deadline=$((SECONDS + $3)) a
    while [ "$SECONDS" -le "$deadline" ]; do
        a=$(balloon_actual "$1")
        [ -n "$a" ] && [ "$a" -lt "$2" ] && return 0
        sleep 0.5
    done
    return 1
}

e2e_cleanup() {
    trap - EXIT
    stop_momd
    if [ "$failed" -gt 0 ]; then
        local keep=${MOMD_E2E_CACHE:-/tmp/momd-e2e}/momd-$e2e_name.last-failure
        rm -rf "$keep" && mkdir -p "$keep" && cp -a "$tmp"/. "$keep"/ 2>/dev/null &&
            cp -a "$state/log" "$keep/libvirt-log" 2>/dev/null
        echo "# momd's log and libvirt's logs are kept in $keep"
    fi
    "$lab" stop-libvirtd "$state" >"$MOMD_E2E_DIR/stop.out" 2>&1
    sed 's/^/# /' "$MOMD_E2E_DIR/stop.out" 2>/dev/null
    rm -rf "$MOMD_E2E_DIR"
}

# meson's timeout: SIGTERM, then SIGKILL 0.5 s later; clean up in a new
# session that the SIGKILL cannot reach
e2e_on_signal() {
    trap - EXIT INT TERM HUP
    # shellcheck disable=SC2016 # the inner shell expands its own arguments
    setsid -f /bin/sh -c '
        [ -n "$3" ] && kill -KILL "$3" 2>/dev/null
        "$0" stop-libvirtd "$1"; rm -rf "$2"' \
        "$lab" "$state" "$MOMD_E2E_DIR" "$momd_pid" </dev/null >/dev/null 2>&1
    exit 1
}
