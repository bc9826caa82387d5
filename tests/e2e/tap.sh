# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# TAP helpers shared by the e2e tests (sourced, not run).  A test sets
# $log to momd's log file so that the first failure shows its end, and
# $momd_pid while momd runs so that stop_momd can stop it.

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
    # the end of momd's log usually says why; once is enough
    [ "$failed" -eq 1 ] && [ -f "${log:-}" ] && tail -n 25 "$log" | sed 's/^/#   log: /'
    return 0
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
