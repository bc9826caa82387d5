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
#
# momd for a test (the helpers the integration and e2e tests share):
#   write_momd_conf FILE [KEY=VALUE | '[SECTION]']...
#       writes a momd.conf: the defaults the tests share, then each argument
#       in order.  The defaults:
#         [main]     rpc-port: $sock (never /run/momd, which a real momd
#                    may hold), host-monitor-interval: 1,
#                    policy-engine-interval: 1, controllers: (none),
#                    dry-run: true, policy-dir: $tmp/policies
#         [logging]  log: $log, verbosity: debug
#         [host]     collectors: HostMemory
#         [guest]    collectors: (none: momd does not connect to libvirt)
#       KEY=VALUE sets KEY in the current section ([main] until a '[SECTION]'
#       argument, quoted: it is a glob): in a default's place, or after the
#       section's last key; a new section goes last; KEY= leaves it empty.
#       So what is special about a test stands where it writes its config:
#         write_momd_conf "$tmp/momd.conf" controllers=KSM dry-run=false \
#             '[host]' collectors='HostMemory, HostKSM'
#       A test's own wrapper puts its settings first, then '[main]' "$@".
#       The file has MOM's `key: value` lines, which the tests grep and sed.
#   start_momd [-c FILE] [ARGS...]
#       starts $MOMD -c FILE ARGS (FILE by default $tmp/momd.conf) as
#       $momd_pid, with stdout and stderr in $tmp/momd.out and momd.err, and
#       waits up to 20 s until its log (stderr with log: stdio) says that the
#       control API listens on FILE's rpc-port (a socket path).  If momd
#       exits first or does not listen in time, it says so with the ends of
#       momd's stderr and log, and returns 1 ($momd_pid stays set).
#   stop_momd
#       SIGTERM, then SIGKILL after 10 s; returns momd's exit status.
# tap_tmp names $log and $sock in $tmp; e2e_begin (e2e/e2e-run.sh) does too.

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
# (and tap_dir), with an empty policies/ for momd; names momd's log and
# control socket in it ($log, $sock); and at exit stops $momd_pid and
# $listener_pid, if set, and removes $tmp.
tap_tmp() {
    tmp=$(mktemp -d "/tmp/$1.XXXXXX")
    tap_dir=$tmp
    mkdir "$tmp/policies"
    log=$tmp/momd.log
    sock=$tmp/momd.sock
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

# Stops momd with SIGTERM, then SIGKILL after 10 s; returns its exit status.
stop_momd() {
    [ -n "${momd_pid:-}" ] || return 0
    kill -TERM "$momd_pid" 2>/dev/null
    local _ status
    for _ in $(seq 100); do kill -0 "$momd_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$momd_pid" 2>/dev/null
    wait "$momd_pid" 2>/dev/null
    status=$?
    momd_pid=
    return "$status"
}

# write_momd_conf FILE [KEY=VALUE | '[SECTION]']...: see the top of this file.
write_momd_conf() {
    local file=$1 section=main arg i j k
    shift
    # the defaults, as three parallel lists: section, key, value
    local -a sec=(main main main main main main logging logging host guest)
    local -a key=(rpc-port host-monitor-interval policy-engine-interval controllers dry-run
        policy-dir log verbosity collectors collectors)
    local -a val=("$sock" 1 1 "" true "$tmp/policies" "$log" debug HostMemory "")
    for arg; do
        case $arg in
        \[*\]) section=${arg#\[} section=${section%\]} && continue ;;
        *=*) k=${arg%%=*} ;;
        *) echo "write_momd_conf: '$arg' is neither KEY=VALUE nor [SECTION]" >&2 && return 1 ;;
        esac
        for i in "${!key[@]}"; do
            if [ "${sec[i]}" = "$section" ] && [ "${key[i]}" = "$k" ]; then
                val[i]=${arg#*=}
                continue 2
            fi
        done
        sec+=("$section") key+=("$k") val+=("${arg#*=}")
    done
    {
        echo "# Written by ${0##*/} with write_momd_conf (tests/tap.sh)."
        for i in "${!sec[@]}"; do
            # each section once, where it first appears, with all its keys
            for ((j = 0; j < i; j++)); do [ "${sec[j]}" = "${sec[i]}" ] && continue 2; done
            [ "$i" -gt 0 ] && echo
            echo "[${sec[i]}]"
            for j in "${!sec[@]}"; do
                [ "${sec[j]}" = "${sec[i]}" ] && echo "${key[j]}:${val[j]:+ ${val[j]}}"
            done
        done
    } >"$file"
}

# momd_conf_get FILE KEY: the first KEY's value in a momd.conf
momd_conf_get() {
    sed -n "s/^$2[[:space:]]*[:=][[:space:]]*//p" "$1" | head -n 1
}

# start_momd [-c FILE] [ARGS...]: see the top of this file.  Only a
# "listens" line that is new in the log counts: tests start momd again on
# the same log.  fd 9 (the KSM tests' lock) is not passed on.
# shellcheck disable=SC2120 # the arguments are optional
start_momd() {
    local conf=$tmp/momd.conf
    if [ "${1:-}" = -c ]; then
        conf=$2
        shift 2
    fi
    local mlog msock listens seen=0 now deadline why
    mlog=$(momd_conf_get "$conf" log)
    msock=$(momd_conf_get "$conf" rpc-port)
    listens="The control API listens on $msock."
    case $mlog in
    stdio | '') mlog=$tmp/momd.err ;;
    *) seen=$(grep -cF -- "$listens" "$mlog" 2>/dev/null) || seen=${seen:-0} ;;
    esac
    "$MOMD" -c "$conf" "$@" >"$tmp/momd.out" 2>"$tmp/momd.err" 9>&- &
    momd_pid=$!
    deadline=$((SECONDS + 20))
    while :; do
        now=$(grep -cF -- "$listens" "$mlog" 2>/dev/null) || now=${now:-0}
        [ "$now" -gt "$seen" ] && return 0
        if ! kill -0 "$momd_pid" 2>/dev/null; then
            why="exited before its control API listened"
            break
        fi
        if [ "$SECONDS" -gt "$deadline" ]; then
            why="did not say \"$listens\" within 20 s"
            break
        fi
        sleep 0.1
    done
    echo "# momd -c $conf $* (pid $momd_pid) $why"
    tail -n 10 "$tmp/momd.err" 2>/dev/null | sed 's/^/#   momd stderr: /'
    [ "$mlog" != "$tmp/momd.err" ] && tail -n 10 "$mlog" 2>/dev/null | sed 's/^/#   momd log: /'
    return 1
}
