# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# TAP helpers shared by the project's shell tests (sourced, not run).
# What a failure shows, from variables the test sets:
#   tap_dir  the directory of the last command's out and err files: their
#            first lines, when not empty;
#   log      momd's log file: its last lines, at the first failure only
#            (TAP_LOG_LINES of them, default 20); the end of the log
#            usually says why, and once is enough.
# A test sets $momd_pid while momd runs so that stop_momd can stop it.

n=0
failed=0

ok() {
    n=$((n + 1))
    echo "ok $n - $1"
}

not_ok() {
    n=$((n + 1))
    failed=$((failed + 1))
    echo "not ok $n - $1"
    if [ -n "${tap_dir:-}" ]; then
        [ -s "$tap_dir/out" ] && head -n 15 "$tap_dir/out" | sed 's/^/#   stdout: /'
        [ -s "$tap_dir/err" ] && head -n 10 "$tap_dir/err" | sed 's/^/#   stderr: /'
    fi
    [ "$failed" -eq 1 ] && [ -f "${log:-}" ] &&
        tail -n "${TAP_LOG_LINES:-20}" "$log" | sed 's/^/#   log: /'
    return 0
}

skip() { # skip NAME REASON
    n=$((n + 1))
    echo "ok $n - $1 # SKIP $2"
}

check() { # check NAME CMD...: ok when CMD succeeds
    local name=$1
    shift
    if "$@"; then ok "$name"; else not_ok "$name"; fi
}

bail() {
    echo "Bail out! $1"
    failed=$((failed + 1))
    exit 1
}

wait_for() { # wait_for FILE FIXED-STRING SECONDS: polls; never waits without bound
    local deadline=$((SECONDS + $3))
    while [ "$SECONDS" -le "$deadline" ]; do
        grep -qF -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# tap_tmp PREFIX: makes $tmp, /tmp/PREFIX.XXXXXX, for the test's files
# (and tap_dir), and at exit stops $momd_pid and $listener_pid, if set,
# and removes $tmp.
tap_tmp() {
    tmp=$(mktemp -d "/tmp/$1.XXXXXX")
    tap_dir=$tmp
    momd_pid=
    listener_pid=
    trap tap_cleanup EXIT
    trap 'exit 1' INT TERM HUP
}

tap_cleanup() {
    local p
    for p in ${momd_pid:-} ${listener_pid:-}; do
        kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
    done
    rm -rf "$tmp"
}

# Stops momd with SIGTERM, then SIGKILL after 10 s.
stop_momd() {
    [ -n "${momd_pid:-}" ] || return 0
    kill -TERM "$momd_pid" 2>/dev/null
    local _
    for _ in $(seq 100); do kill -0 "$momd_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$momd_pid" 2>/dev/null
    wait "$momd_pid" 2>/dev/null
    momd_pid=
}
