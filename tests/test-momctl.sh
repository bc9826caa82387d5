#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# momctl's command line, as an operator uses it: exit codes (0 success,
# 1 policy error or daemon refusal, 2 usage or unreadable input, 3 the
# daemon cannot be reached), where messages go, and what they say.  Only
# what needs no daemon; commands against a running momd are tested
# elsewhere.  TAP output.
set -u

: "${MOMCTL:?run through meson test}"
: "${MOM_TOP_SRCDIR:?run through meson test}"
top=$MOM_TOP_SRCDIR
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

here=$(dirname "$(readlink -f "$0")")
# shellcheck source=tap.sh
. "$here/tap.sh"
tap_dir=$tmp
# expect NAME RC CMD...: runs CMD, checks its exit status.
expect() {
    local name=$1 want=$2
    shift 2
    "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    if [ "$rc" -eq "$want" ]; then ok "$name (exit $rc)"; else not_ok "$name: exit $rc, want $want"; fi
}
# has NAME FILE PATTERN: the output file contains the fixed string.
has() {
    if grep -qF -- "$3" "$tmp/$2"; then ok "$1"; else not_ok "$1: '$3' not in $2"; fi
}

pol=$top/data/policies
st=$top/data/examples/state-pressure.json

expect "help" 0 "$MOMCTL" --help
has "help lists policy" out "policy"
expect "no arguments is a usage error" 2 "$MOMCTL"
expect "unknown command" 2 "$MOMCTL" frobnicate
has "unknown command is named" err "unknown command 'frobnicate'"
expect "version" 0 "$MOMCTL" --version
has "version prints the version" out "momctl "

expect "policy check on the defaults" 0 "$MOMCTL" policy check "$pol"
has "check says how many parsed" out "5 policies parsed without errors."
expect "policy check without a path" 2 "$MOMCTL" policy check
expect "policy check with a bad option" 2 "$MOMCTL" policy check --frob "$pol"
expect "policy check on a missing file" 2 "$MOMCTL" policy check "$tmp/nope.policy"
has "missing file is named" err "Cannot read the policy file $tmp/nope.policy"
expect "policy check on a missing directory" 2 "$MOMCTL" policy check "$tmp/nodir/"

printf '(defvar a 1)\n(if (< a 2)\n    (set a 3) = 4)\n' >"$tmp/bad.policy"
expect "policy check on a bad policy" 1 "$MOMCTL" policy check "$tmp/bad.policy"
has "error has file:line:col" err "$tmp/bad.policy:3:15: error: unexpected character '='"
has "error shows the source line" err "      (set a 3) = 4)"
has "error shows a caret" err "                ^"
expect "policy check --json on a bad policy" 1 "$MOMCTL" policy check --json "$tmp/bad.policy"
has "json check is not ok" out '"ok": false'

expect "policy test on the defaults" 0 "$MOMCTL" policy test "$pol" --state "$st"
has "text report names the host" out "Host"
has "text report shows a balloon target" out "balloon_target           3788625.4163934425"
has "text report shows where it was set" out "10-balloon.policy:"
expect "policy test --json" 0 "$MOMCTL" policy test --json "$pol" --state "$st"
if python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["ok"] is True; assert d["host"]["controls"]["ksm_run"] == 1; assert d["guests"]["web1"]["controls"]["balloon_target"] == 3788625.4163934425' "$tmp/out"; then
    ok "json report is valid JSON with the expected controls"
else
    not_ok "json report is valid JSON with the expected controls"
fi
expect "policy test without --state" 2 "$MOMCTL" policy test "$pol"
has "missing --state is explained" err "policy test needs --state STATE.json."
expect "policy test with a missing state" 2 "$MOMCTL" policy test "$pol" --state "$tmp/none.json"
has "missing state is named" err "Cannot read the state file $tmp/none.json"
echo '{"guests": [{"properties": {}}]}' >"$tmp/badstate.json"
expect "policy test with a malformed state" 2 "$MOMCTL" policy test "$pol" --state "$tmp/badstate.json"
has "malformed state names the member" err "guests[0].properties.name must be the guest's name"
expect "negative limit" 2 "$MOMCTL" policy test "$pol" --state "$st" --max-steps -1

# Several paths merge by policy name: a later file replaces the default of that name.
printf '(defvar ksm_npages_boost 1000)\n' >"$tmp/00-defines.policy"
expect "merge by name: a later 00-defines replaces the shipped one" 1 \
    "$MOMCTL" policy test "$pol" "$tmp/00-defines.policy" --state "$st"
has "the replaced constants are really gone" out "undefined symbol"

# A runtime error in one guest: exit 1, the other guests keep their controls.
printf '(with Guests g (g.Control "t" (/ 1 (- g.balloon_cur 4194304))))\n' >"$tmp/div.policy"
expect "per-guest runtime error" 1 "$MOMCTL" policy test "$tmp/div.policy" --state "$st"
has "guest error is reported with its location" out "div.policy:1:31: error: guest web1: division by zero"
has "other guests are still controlled" out "Guest db1"

expect "step limit" 1 "$MOMCTL" policy test "$pol" --state "$st" --max-steps 50
has "step limit is explained" out "evaluation steps"

# ---- commands that talk to the daemon, without one ----------------------------------
nosock=/nonexistent/sock
daemon_cmds=(ping status guests stats controls history explain top snapshot verbosity)
for c in "${daemon_cmds[@]}"; do
    expect "$c --help" 0 "$MOMCTL" "$c" --help
    has "$c --help names the socket option" out "--socket=PATH"
done
for c in list get set delete reset; do
    expect "policy $c --help" 0 "$MOMCTL" policy "$c" --help
    has "policy $c --help names the socket option" out "--socket=PATH"
done
expect "policy check --help" 0 "$MOMCTL" policy check --help
expect "policy test --help" 0 "$MOMCTL" policy test --help
expect "policy --help" 0 "$MOMCTL" policy --help
has "policy --help lists set" out "set        FILE [--name NAME]"
expect "help lists every command" 0 "$MOMCTL" --help
for c in "${daemon_cmds[@]}" policy; do
    has "help lists $c" out "  $c "
done
has "help documents exit status 3" out "3 momd cannot be reached"

# Exit 3 and one line naming the socket, for every command that needs momd.
not_running() {
    local name=$1
    shift
    expect "$name without a daemon" 3 "$@"
    has "$name says momd is not running" err "momctl: momd is not running: nothing listens on $nosock."
    if [ "$(wc -l <"$tmp/err")" -eq 1 ]; then ok "$name: one line"; else not_ok "$name: one line"; fi
}
not_running "ping" "$MOMCTL" --socket "$nosock" ping
not_running "ping, --socket after" "$MOMCTL" ping --socket "$nosock"
not_running "ping, --socket=PATH" "$MOMCTL" --socket="$nosock" ping
not_running "status" "$MOMCTL" status --socket "$nosock"
not_running "status --json" "$MOMCTL" status --json --socket "$nosock"
not_running "guests" "$MOMCTL" guests --socket "$nosock"
not_running "stats" "$MOMCTL" stats --socket "$nosock"
not_running "stats GUEST" "$MOMCTL" stats vm1 --socket "$nosock"
not_running "controls" "$MOMCTL" controls --socket "$nosock"
not_running "history" "$MOMCTL" history --socket "$nosock"
not_running "explain GUEST" "$MOMCTL" explain vm1 --socket "$nosock"
not_running "explain host --json" "$MOMCTL" explain host --json --socket "$nosock"
expect "explain without GUEST (usage error, nothing sent)" 2 "$MOMCTL" explain --socket "$nosock"
has "explain without GUEST says what it needs" err "momctl: explain needs a GUEST name, or host."
expect "explain --latest --help" 0 "$MOMCTL" explain --latest --help
has "explain --help names --latest" out "--latest"
not_running "top --once" "$MOMCTL" top --once --socket "$nosock"
not_running "snapshot" "$MOMCTL" snapshot --socket "$nosock"
not_running "verbosity" "$MOMCTL" verbosity --socket "$nosock"
not_running "verbosity LEVEL" "$MOMCTL" verbosity debug --socket "$nosock"
not_running "policy list" "$MOMCTL" policy list --socket "$nosock"
not_running "policy list, --socket first" "$MOMCTL" --socket "$nosock" policy list
not_running "policy list, --socket after policy" "$MOMCTL" policy --socket "$nosock" list
not_running "policy get" "$MOMCTL" policy get 00-defines --socket "$nosock"
not_running "policy delete" "$MOMCTL" policy delete 00-defines --socket "$nosock"
not_running "policy reset" "$MOMCTL" policy reset --socket "$nosock"
not_running "policy set" "$MOMCTL" policy set "$pol/00-defines.policy" --socket "$nosock"
not_running "MOMCTL_SOCKET" env MOMCTL_SOCKET="$nosock" "$MOMCTL" ping
not_running "--socket beats MOMCTL_SOCKET" env MOMCTL_SOCKET="$tmp/other" "$MOMCTL" ping --socket "$nosock"

# Usage errors come before any call to the daemon: exit 2, not 3.
expect "ping with an argument" 2 "$MOMCTL" ping extra --socket "$nosock"
has "the extra argument is named" err "unexpected argument 'extra'"
expect "status with a bad option" 2 "$MOMCTL" status --frob --socket "$nosock"
expect "stats with two guests" 2 "$MOMCTL" stats a b --socket "$nosock"
expect "stats --fields without a guest" 2 "$MOMCTL" stats --fields mem_free --socket "$nosock"
has "--fields without a guest is explained" err "--fields needs a GUEST."
expect "top -d 0.01" 2 "$MOMCTL" top -d 0.01 --once --socket "$nosock"
expect "top -d -1" 2 "$MOMCTL" top -d -1 --once --socket "$nosock"
expect "top -d x" 2 "$MOMCTL" top -d x --once --socket "$nosock"
expect "top without a terminal" 2 "$MOMCTL" top --socket "$nosock"
has "top without a terminal points to --once" err "momctl top --once"
expect "verbosity with a bad level" 2 "$MOMCTL" verbosity loud --socket "$nosock"
has "bad level is named" err "'loud'"
expect "policy get without NAME" 2 "$MOMCTL" policy get --socket "$nosock"
has "missing NAME is explained" err "policy get needs a policy NAME."
expect "policy delete without NAME" 2 "$MOMCTL" policy delete --socket "$nosock"
expect "policy set without FILE" 2 "$MOMCTL" policy set --socket "$nosock"
expect "policy set on a missing file" 2 "$MOMCTL" policy set "$tmp/nope.policy" --socket "$nosock"
has "missing policy file is named" err "Cannot read the policy file $tmp/nope.policy"
expect "policy set with a bad name" 2 "$MOMCTL" policy set "$pol/00-defines.policy" --name a/b --socket "$nosock"
expect "policy reset with an argument" 2 "$MOMCTL" policy reset now --socket "$nosock"
expect "unknown policy command" 2 "$MOMCTL" policy frob
has "unknown policy command is named" err "unknown command 'policy frob'"
expect "--socket without PATH" 2 "$MOMCTL" --socket

echo "1..$n"
[ "$failed" -eq 0 ]
