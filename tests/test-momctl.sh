#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# momctl's command line, as an operator uses it: exit codes (0 success,
# 1 policy error, 2 usage or unreadable input), where messages go, and
# what they say.  TAP output.
set -u

: "${MOMCTL:?run through meson test}"
: "${MOM_TOP_SRCDIR:?run through meson test}"
top=$MOM_TOP_SRCDIR
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

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
    sed 's/^/# /' "$tmp/out" "$tmp/err" 2>/dev/null | head -20
}
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
has "check says how many parsed" out "3 policies parsed without errors."
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
has "text report shows a balloon target" out "balloon_target           3984588.8"
has "text report shows where it was set" out "10-balloon.policy:"
expect "policy test --json" 0 "$MOMCTL" policy test --json "$pol" --state "$st"
if python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["ok"] is True; assert d["host"]["controls"]["ksm_run"] == 1; assert d["guests"]["web1"]["controls"]["balloon_target"] == 3984588.8' "$tmp/out"; then
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

echo "1..$n"
[ "$failed" -eq 0 ]
