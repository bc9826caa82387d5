#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# A policy must not stall or bloat momd, and a policy that cannot run is
# not installed.  The real momd binary, with the KSM controller writing to
# a copy of tests/data/sys/normal (not the host's KSM), runs a policy whose
# second cycle would take 2^60 calls, under step and time limits so large
# that only a signal stops it: SIGTERM must then stop momd within a second
# and put KSM back as it found it; SIGHUP must reload within a second.  A
# shorter policy-max-ms stops such a cycle with the policy's FILE:LINE:COL,
# and momd answers in between.  A policy that keeps 16 MB strings with
# SetVar is stopped at the SetVar budget, and the snapshot stays small.  A
# SIGHUP that would load a policy failing on the current state keeps the
# last good policies.  TAP output.
set -u

: "${MOMD:?run through meson test}"
: "${MOMCTL:?run through meson test}"
: "${MOM_TOP_SRCDIR:?run through meson test}"
top=$MOM_TOP_SRCDIR
tmp=$(mktemp -d /tmp/momd-runaway.XXXXXX)
momd_pid=

cleanup() {
    [ -n "$momd_pid" ] && kill -KILL "$momd_pid" 2>/dev/null && wait "$momd_pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

here=$(dirname "$(readlink -f "$0")")
# shellcheck source=../tap.sh
. "$here/../tap.sh"
tap_dir=$tmp
log=$tmp/momd.log
sock=$tmp/momd.sock
ksm=$tmp/sys/kernel/mm/ksm
policy=$tmp/policies/runaway.policy

# The first cycle sets KSM and arms the trap; the second runs away in f
# (line 4), called at line 5.
cat >"$tmp/runaway.policy" <<'EOF'
(Host.Control "ksm_run" 1)
(Host.Control "ksm_pages_to_scan" 1234)
(Host.Control "ksm_sleep_millisecs" 77)
(def f (d) (if d { (f (- d 1)) (f (- d 1)) } 0))
(if (Host.GetVar "armed") (f 60) (Host.SetVar "armed" 1))
EOF
# The same decisions, without the trap.
head -n 3 "$tmp/runaway.policy" >"$tmp/tame.policy"

# fresh_run MAX_MS [POLICY]: a fresh KSM tree (run 0, pages_to_scan 100,
# sleep_millisecs 20), POLICY (by default the runaway one) as
# $tmp/policies/runaway.policy, and a config for momd on them: 1 s cycles,
# real writes to the private KSM tree.
fresh_run() {
    rm -rf "$tmp/sys" "$tmp/policies" "$log"
    mkdir -p "$tmp/policies"
    cp -r "$top/tests/data/sys/normal" "$tmp/sys"
    echo 0 >"$ksm/run"
    cp "${2:-$tmp/runaway.policy}" "$policy"
    write_momd_conf "$tmp/momd.conf" controllers=KSM dry-run=false \
        proc-root="$top/tests/data/proc/normal" sysfs-root="$tmp/sys" \
        policy-max-steps=1000000000000 policy-max-ms="$1" \
        '[host]' collectors='HostMemory, HostKSM'
}

# Waits until the first cycle has written KSM, then until the second is
# under way: the main loop no longer answers a ping.
wait_for_runaway() {
    wait_for "$log" "Policy cycle 1 succeeded" 20 || return 1
    local _
    for _ in $(seq 50); do
        timeout 0.5 "$MOMCTL" --socket "$tmp/momd.sock" ping >/dev/null 2>&1 || return 0
        sleep 0.1
    done
    return 1
}

# ms_until CMD...: milliseconds until CMD succeeds, polled every 10 ms
# for at most 10 s (then 99999).
ms_until() {
    local start now
    start=$(date +%s%N)
    while :; do
        "$@" && break
        now=$(date +%s%N)
        [ $(((now - start) / 1000000)) -gt 10000 ] && { echo 99999; return; }
        sleep 0.01
    done
    now=$(date +%s%N)
    echo $(((now - start) / 1000000))
}
gone() { ! kill -0 "$momd_pid" 2>/dev/null; }
pings() { timeout 5 "$MOMCTL" --socket "$tmp/momd.sock" ping >/dev/null 2>&1; }

# --- SIGTERM during a runaway evaluation ---------------------------------------------

fresh_run 3600000
check "momd listens" start_momd
if wait_for_runaway; then
    ok "the second cycle runs away (momd does not answer a ping)"
else
    not_ok "the second cycle does not run away"
fi
check "the first cycle wrote KSM run 1" test "$(cat "$ksm/run")" = 1
check "the first cycle wrote pages_to_scan 1234" test "$(cat "$ksm/pages_to_scan")" = 1234
kill -TERM "$momd_pid"
ms=$(ms_until gone)
gone || kill -KILL "$momd_pid"
wait "$momd_pid"
rc=$?
momd_pid=
check "SIGTERM stops momd within 1 s of a runaway policy (${ms} ms)" test "$ms" -le 1000
check "momd exits 0 (exit $rc)" test "$rc" -eq 0
check "the evaluation was interrupted where it was" \
    grep -qF "The policy evaluation was interrupted at $policy:4:" "$log"
check "KSM run is put back to 0" test "$(cat "$ksm/run")" = 0
check "KSM pages_to_scan is put back to 100" test "$(cat "$ksm/pages_to_scan")" = 100
check "KSM sleep_millisecs is put back to 20" test "$(cat "$ksm/sleep_millisecs")" = 20
check "\"momd stopped\" is logged" grep -qF "momd stopped after" "$log"

# --- SIGHUP during a runaway evaluation ----------------------------------------------

fresh_run 3600000
check "momd listens again" start_momd
if wait_for_runaway; then
    ok "the second cycle runs away again"
else
    not_ok "the second cycle does not run away again"
fi
cp "$tmp/tame.policy" "$policy"
loaded_before=$(grep -cF "Loaded 1 policy: runaway." "$log")
loaded() { [ "$(grep -cF "Loaded 1 policy: runaway." "$log")" -gt "$loaded_before" ]; }
kill -HUP "$momd_pid"
ms=$(ms_until loaded)
check "SIGHUP reloads within 1 s of a runaway policy (${ms} ms)" test "$ms" -le 1000
cycles=$(grep -c "Policy cycle [0-9]* succeeded" "$log")
more_cycles() { [ "$(grep -c "Policy cycle [0-9]* succeeded" "$log")" -gt "$cycles" ]; }
check "the reloaded policy runs its cycles" test "$(ms_until more_cycles)" -le 5000
check "momd answers a ping again" pings
stop_momd

# --- the deadline: policy-max-ms ---------------------------------------------------------

fresh_run 300
check "momd listens a third time" start_momd
check "a cycle past policy-max-ms fails with the policy's location" \
    wait_for "$log" "$policy:4:" 20
check "... and says which limit" grep -qF "error: the run took more than the limit of 300 ms" "$log"
check "momd answers between the cycles" pings
check "the cycles go on failing, not hanging" wait_for "$log" "Policy cycle 3 failed" 10
stop_momd

# --- SIGHUP and SIGTERM together -------------------------------------------------------

# A reload asked for with the stop must not hold the stop up: here the
# reloaded policy would run away in its trial run too.
fresh_run 3600000
check "momd listens a fourth time" start_momd
if wait_for_runaway; then
    ok "the second cycle runs away once more"
else
    not_ok "the second cycle does not run away once more"
fi
touch "$policy"
kill -HUP "$momd_pid"
kill -TERM "$momd_pid"
ms=$(ms_until gone)
gone || kill -KILL "$momd_pid"
wait "$momd_pid"
rc=$?
momd_pid=
check "SIGHUP with SIGTERM stops momd within 1 s (${ms} ms, exit $rc)" test "$ms" -le 1000 -a "$rc" -eq 0
check "KSM run is put back to 0 again" test "$(cat "$ksm/run")" = 0

# --- memory: what SetVar keeps --------------------------------------------------------

# Fifteen 16 MB variables: 240 MB kept for good, and a snapshot of 200 MB,
# without the SetVar budget.
cat >"$tmp/bloat.policy" <<'EOF'
(def keep (n) (if n { (Host.SetVar (+ "v" (* n "a")) (* "x" 16000000)) (keep (- n 1)) } 0))
(keep 15)
EOF
fresh_run 1000 "$tmp/bloat.policy"
start_momd
check "a cycle that keeps too much fails at the SetVar, with its location" \
    wait_for "$log" "$policy:1:23: error: 'Host.SetVar' of \"vaaaaaaaaaaaaaaa\" would make the variables of the host and the guests take more than the limit of 8388608 bytes" 20
check "the cycles go on failing" wait_for "$log" "Policy cycle 3 failed" 10
rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$momd_pid/status")
check "momd keeps no 16 MB strings (VmRSS ${rss} KiB < 100 MiB)" test "$rss" -lt 102400
"$MOMCTL" --socket "$tmp/momd.sock" snapshot >"$tmp/snapshot.json" 2>"$tmp/err"
rc=$?
check "momctl snapshot answers (exit $rc)" test "$rc" -eq 0
check "the snapshot is small ($(wc -c <"$tmp/snapshot.json") bytes)" \
    test "$(wc -c <"$tmp/snapshot.json")" -lt 1048576
stop_momd

# --- SIGHUP with a policy that cannot run ----------------------------------------------

fresh_run 1000 "$tmp/tame.policy"
start_momd
check "momd runs the tame policy" wait_for "$log" "Policy cycle 1 succeeded" 20
printf '(Host.Control "ksm_run" (+ 1 "x"))\n' >"$tmp/policies/30-broken.policy"
kill -HUP "$momd_pid"
check "SIGHUP: the policies that would fail are refused, naming the error" \
    wait_for "$log" "The policies as loaded now would fail, so the previous ones stay active until the files are fixed: $tmp/policies/30-broken.policy:1:25: error: cannot add an integer and a string" 10
cycles=$(grep -c "Policy cycle [0-9]* succeeded" "$log")
check "the last good policy goes on running" test "$(ms_until more_cycles)" -le 5000
check "30-broken was never loaded" sh -c "! grep -q 'Loaded 2 policies' '$log'"
printf '(Host.Control "ksm_run" (+ 1 0))\n' >"$tmp/policies/30-broken.policy"
kill -HUP "$momd_pid"
check "SIGHUP with the file fixed loads it" \
    wait_for "$log" "Loaded 2 policies: 30-broken, runaway." 10
stop_momd

echo "1..$n"
[ "$failed" -eq 0 ]
