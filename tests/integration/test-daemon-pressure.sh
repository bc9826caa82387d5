#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The pressure fast path of the real momd binary: against a fake /proc
# whose meminfo the test rewrites, a fall of MemAvailable below the floor
# runs the policy out of band within a second or two, on a fresh host
# sample that says so (Host.pressure_trigger), although the policy and the
# host monitor wait 60 s between their own runs.  With [pressure] enabled
# false nothing runs early.  A fake /proc cannot signal a PSI trigger, so
# momd falls back to the MemAvailable watch and says why; as root on a
# kernel with PSI, the test also has momd arm a real trigger on
# /proc/pressure/memory.  Dry run, no guests.  TAP output.
set -u

: "${MOMD:?run through meson test}"
: "${MOMCTL:?run through meson test}"
: "${MOM_TOP_SRCDIR:?run through meson test}"
top=$MOM_TOP_SRCDIR

here=$(dirname "$(readlink -f "$0")")
# shellcheck source=../tap.sh
. "$here/../tap.sh"
tap_tmp momd-pressure # $tmp; momd stopped at exit
proc=$tmp/proc
TOTAL_KIB=16384000 # the normal fixture's MemTotal; the floor (10 %) is 1600 MiB

# set_available KIB: rewrites the fake meminfo in one rename, as the
# kernel's file never shows half a write
set_available() {
    sed "s/^MemAvailable:.*/MemAvailable:   $1 kB/" "$top/tests/data/proc/normal/meminfo" \
        >"$proc/meminfo.new"
    mv "$proc/meminfo.new" "$proc/meminfo"
}

# write_config FILE LOG PROC-ROOT [PRESSURE-KEY=VALUE]: the policy and the
# host monitor wait a minute; only the fast path can run the policy sooner.
write_config() {
    write_momd_conf "$1" host-monitor-interval=60 policy-engine-interval=60 proc-root="$3" \
        '[logging]' log="$2" \
        '[host]' collectors='HostMemory, HostPressure' \
        '[pressure]' watch-interval-ms=100 min-interval-ms=1000 ${4:+"$4"}
}

# last_cycle LOG: the highest "Policy cycle N succeeded" (0 if none)
last_cycle() {
    sed -n 's/.*Policy cycle \([0-9]*\) succeeded.*/\1/p' "$1" | tail -n 1 | grep . || echo 0
}

mkdir -p "$proc/pressure"
cp "$top/tests/data/proc/normal/vmstat" "$proc/"
cp "$top/tests/data/proc/normal/pressure/memory" "$proc/pressure/"
set_available 12000000
# what each cycle saw, in the log
echo '(debug "fast" Host.pressure_trigger "avail" Host.mem_avail_real)' \
    >"$tmp/policies/50-show.policy"

# --- the MemAvailable watch -------------------------------------------------------

log=$tmp/momd.log
write_config "$tmp/momd.conf" "$log" "$proc"
start_momd
if wait_for "$log" "Policy cycle 1 succeeded" 20; then
    ok "momd runs its first policy cycle"
else
    not_ok "no first policy cycle within 20 s"
fi
check "the fast path falls back to the MemAvailable watch" \
    grep -qF "The pressure fast path watches MemAvailable every 100 ms, up to 1000 ms far from the floor (below 10 % of MemTotal or a fall of 1024 MiB between two policy cycles); it runs the policy at most once every 1000 ms.  It does not use PSI: $proc/pressure/memory is not on procfs" "$log"
check "the first cycle's sample was a scheduled one (fast 0)" \
    grep -qF 'debug: fast 0 avail 12000000' "$log"

start=$EPOCHREALTIME
set_available 1000000
msg="MemAvailable fell to 976 MiB, below the floor of 1600 MiB (10 % of MemTotal): running the policy now."
if wait_for "$log" "$msg" 10 && wait_for "$log" "Policy cycle 2 succeeded" 5; then
    took=$(awk -v a="$EPOCHREALTIME" -v b="$start" 'BEGIN { printf "%.2f", a - b }')
    ok "MemAvailable below the floor: an out-of-band cycle in $took s"
    # the interval is 60 s; 5 s leaves room for a loaded machine
    check "the out-of-band cycle came well before the 60 s interval ($took s)" \
        awk -v t="$took" 'BEGIN { exit !(t < 5) }'
else
    not_ok "no out-of-band cycle after MemAvailable fell below the floor"
fi
check "the out-of-band cycle read a fresh sample taken for it (fast 1)" \
    grep -qF 'debug: fast 1 avail 1000000' "$log"
"$MOMCTL" --socket "$tmp/momd.sock" status >"$tmp/out" 2>"$tmp/err"
check "momctl status counts the out-of-band cycle" grep -qE 'Last cycle: #2 ' "$tmp/out"
"$MOMCTL" --socket "$tmp/momd.sock" stats >"$tmp/out" 2>"$tmp/err"
check "momctl stats shows the newest sample's pressure_trigger 1" \
    grep -qE '^pressure_trigger +1$' "$tmp/out"

# staying low: a cycle every min-interval-ms, with fresh guest statistics,
# until MemAvailable is back above the floor
check "below the floor, momd says it runs pressure cycles" \
    wait_for "$log" "MemAvailable is below the fast path's floor: momd samples the guests and runs the policy every 1000 ms until it is back above." 5
low_start=$(last_cycle "$log")
sleep 3.5
low_end=$(last_cycle "$log")
check "staying below the floor runs a cycle a second (cycles $low_start to $low_end in 3.5 s)" \
    test "$((low_end - low_start))" -ge 2 -a "$((low_end - low_start))" -le 5
check "the pressure cycles sample the host afresh (fast 1)" \
    test "$(grep -c 'debug: fast 1 avail 1000000' "$log")" -ge 3
set_available 8000000
check "back above the floor, the pressure cycles stop and momd says so" \
    wait_for "$log" "MemAvailable is back above the fast path's floor: the policy runs every 60 s again." 5
back=$(last_cycle "$log")
sleep 1.5
check "... and no cycle runs after that (cycle $back, then $(last_cycle "$log"))" \
    test "$(last_cycle "$log")" -eq "$back"
set_available 6000000
if wait_for "$log" "MemAvailable fell by 1953 MiB to 5859 MiB since the last policy cycle: running the policy now." 10 &&
    wait_for "$log" "Policy cycle $((back + 1)) succeeded" 5; then
    ok "a fall of more than available-drop-mib runs the policy"
else
    not_ok "no out-of-band cycle after a fall of 1953 MiB"
fi
check "no policy cycle failed" sh -c "! grep -q 'Policy cycle [0-9]* failed' '$log'"
stop_momd

# --- [pressure] enabled: false --------------------------------------------------

log=$tmp/off.log
set_available 12000000
write_config "$tmp/off.conf" "$log" "$proc" enabled=false
start_momd -c "$tmp/off.conf"
wait_for "$log" "Policy cycle 1 succeeded" 20
check "enabled: false is said at start" \
    grep -qF "The pressure fast path is off ([pressure] enabled is false): the policy runs every 60 s only." "$log"
set_available 1000000
sleep 3
check "with the fast path off, a fall below the floor waits for the interval" \
    test "$(last_cycle "$log")" -eq 1
check "... and nothing says it runs the policy now" \
    sh -c "! grep -qF 'running the policy now' '$log'"
stop_momd

# --- a bad trigger --------------------------------------------------------------------

write_config "$tmp/bad.conf" "$tmp/bad.log" "$proc" psi-trigger='some 150000 100000'
"$MOMD" -c "$tmp/bad.conf" >"$tmp/out" 2>"$tmp/err"
rc=$?
check "a PSI trigger the kernel would refuse stops momd at start (exit $rc)" \
    test "$rc" -ne 0 -a "$rc" -lt 124
check "the error names the key and says the limit" \
    grep -qF "[pressure] psi-trigger: The PSI trigger 'some 150000 100000' has a window of 100000 µs; the kernel takes 500000 to 10000000 µs." "$tmp/err"

# --- a real PSI trigger -----------------------------------------------------------------

# Without CAP_SYS_RESOURCE (a container, some VMs) the kernel takes only
# windows in multiples of 2 s; momd explains that when it falls back.
cap_eff=$(awk '/^CapEff:/ {print $2}' /proc/self/status)
if [ "$(id -u)" -ne 0 ]; then
    skip "momd arms a real PSI trigger" "not root"
elif ! cat /proc/pressure/memory >/dev/null 2>&1; then
    skip "momd arms a real PSI trigger" "no PSI on this kernel (/proc/pressure/memory cannot be read)"
else
    if (((16#$cap_eff >> 24) & 1)); then
        trigger="some 150000 1000000"
        what="PSI some 150 ms in 1 s"
    else
        trigger="some 300000 2000000"
        what="PSI some 300 ms in 2 s"
        log=$tmp/unpriv.log
        write_config "$tmp/unpriv.conf" "$log" /proc
        start_momd -c "$tmp/unpriv.conf"
        check "without CAP_SYS_RESOURCE, a 1 s window falls back and says why" \
            wait_for "$log" "It does not use PSI: The kernel refused the PSI trigger 'some 150000 1000000' on /proc/pressure/memory: Invalid argument.  Without CAP_SYS_RESOURCE a trigger's window must be a multiple of 2 s" 20
        stop_momd
    fi
    log=$tmp/real.log
    write_config "$tmp/real.conf" "$log" /proc psi-trigger="$trigger"
    start_momd -c "$tmp/real.conf"
    check "momd arms the real PSI trigger '$trigger'" \
        wait_for "$log" "The pressure fast path watches $what on /proc/pressure/memory and MemAvailable every 100 ms" 20
    stop_momd
fi

echo "1..$n"
[ "$failed" -eq 0 ]
