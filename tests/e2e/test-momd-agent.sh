#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# GuestQemuAgent against a real guest: the lab's private libvirtd
# (tests/e2e/lab.sh) with one 512 MiB TCG guest whose initramfs starts
# qemu-ga, and momd (dry run) with [guest] collectors GuestQemuAgent,
# GuestBalloon.  The test checks, with bounded polling:
#   1. momd's mem_available, mem_unused, mem_free, swap_total, swap_usage
#      and minor_fault (momctl stats GUEST --json) match the guest's own
#      /proc/meminfo and /proc/vmstat read through guest-exec, and its
#      guest_psi_* fields agree with the guest's /proc/pressure/memory;
#   2. qemu-ga killed inside the guest: momd keeps running and logs the
#      degradation once;
#   3. qemu-ga back with guest-file-open on its block list (-b): momd says
#      once, naming the command, that the guest's allow/block list blocks it;
#   4. qemu-ga back without a block list: momd logs the recovery once and
#      its numbers match the guest's again.
# qemu-ga cannot restart itself, and guest-exec needs it: one guest-exec
# starts a detached in-guest script that kills and restarts qemu-ga on a
# fixed timetable (KILL_AT, BLOCKED_AT, BACK_AT seconds).  Needs root
# (SKIPs otherwise).  TAP output.
set -u

: "${MOMD:?run through meson test}"
: "${MOMCTL:?run through meson test}"
here=$(dirname "$(readlink -f "$0")")
lab=$here/lab.sh
# shellcheck source=../tap.sh
. "$here/../tap.sh"

mem_mib=512
# KiB: the guest's numbers move a little between momd's read and ours
tolerance_kib=$((24 * 1024))


# shellcheck source=e2e-run.sh
. "$here/e2e-run.sh"
e2e_begin agent
g=e2e-agent-$$ # guest names are host-wide (cgroups)

# --- the lab ------------------------------------------------------------------
uri=$("$lab" start-libvirtd "$state" 2>"$tmp/start.err") ||
    { sed 's/^/# /' "$tmp/start.err"; bail "start-libvirtd failed"; }
export LIBVIRT_DEFAULT_URI=$uri
ok "private libvirtd up: $uri"
"$lab" define-guest "$g" "$mem_mib" --period 2 --start --wait 120 >"$tmp/define.out" 2>&1 ||
    { sed 's/^/# /' "$tmp/define.out"; bail "the guest did not boot"; }
ready=$(grep -a MOMLAB-READY "$state/log/$g-serial.log" | tr -d '\r')
echo "# $ready"
case $ready in *qga=yes*) ok "guest $g booted with qemu-ga" ;; *) bail "qemu-ga did not start in $g" ;; esac

# --- momd ---------------------------------------------------------------------
# the lab's libvirtd, 2 s cycles, dry run
write_momd_conf "$tmp/momd.conf" controllers=Balloon \
    libvirt-hypervisor-uri="$uri" libvirt-run-dir="$state/run/qemu" \
    host-monitor-interval=2 guest-monitor-interval=2 guest-manager-interval=2 policy-engine-interval=2 \
    '[guest]' collectors='GuestQemuAgent, GuestBalloon'
start_momd

# newest FIELD of the guest's newest sample ("" while there is none)
stat_of() { momd_stat "$g" "$1"; }
wait_stat() { # wait_stat SECONDS: until the guest has a complete sample
    local deadline=$((SECONDS + $1))
    while [ "$SECONDS" -le "$deadline" ]; do
        [ -n "$(stat_of mem_available)" ] && return 0
        sleep 1
    done
    return 1
}
t0=$SECONDS
wait_stat 60
check "momd has the guest's agent statistics ($((SECONDS - t0)) s after it started)" wait_stat 0

# guest value of a meminfo key / vmstat key, KiB or count
meminfo() { awk -v k="$1:" '$1 == k { print $2 }' "$tmp/meminfo"; }
vmstat() { awk -v k="$1" '$1 == k { print $2 }' "$tmp/vmstat"; }
near() { # near A B: |A - B| <= tolerance
    [ -n "$1" ] && [ -n "$2" ] && [ $(($1 - $2)) -le $tolerance_kib ] && [ $(($2 - $1)) -le $tolerance_kib ]
}
compare() { # compare WHEN
    local avail unused free stotal susage minflt
    avail=$(stat_of mem_available) unused=$(stat_of mem_unused) free=$(stat_of mem_free)
    stotal=$(stat_of swap_total) susage=$(stat_of swap_usage) minflt=$(stat_of minor_fault)
    "$lab" guest-exec "$g" /bin/cat /proc/meminfo >"$tmp/meminfo" 2>"$tmp/exec.err" ||
        { not_ok "$1: guest-exec cat /proc/meminfo" && return; }
    "$lab" guest-exec "$g" /bin/cat /proc/vmstat >"$tmp/vmstat" 2>"$tmp/exec.err" ||
        { not_ok "$1: guest-exec cat /proc/vmstat" && return; }
    local g_total g_free g_cache g_stotal g_sfree g_pgfault
    g_total=$(meminfo MemTotal) g_free=$(meminfo MemFree)
    g_cache=$(($(meminfo MemFree) + $(meminfo Buffers) + $(meminfo Cached)))
    g_stotal=$(meminfo SwapTotal) g_sfree=$(meminfo SwapFree) g_pgfault=$(vmstat pgfault)
    echo "# $1: momd mem_available=$avail mem_unused=$unused mem_free=$free swap_total=$stotal swap_usage=$susage minor_fault=$minflt"
    echo "# $1: guest MemTotal=$g_total MemFree=$g_free Free+Buffers+Cached=$g_cache SwapTotal=$g_stotal SwapFree=$g_sfree pgfault=$g_pgfault"
    check "$1: mem_available = guest MemTotal" test "$avail" = "$g_total"
    check "$1: mem_unused ~ guest MemFree (±$tolerance_kib KiB)" near "$unused" "$g_free"
    check "$1: mem_free ~ guest MemFree+Buffers+Cached (±$tolerance_kib KiB)" near "$free" "$g_cache"
    check "$1: swap_total = guest SwapTotal, swap_usage = SwapTotal - SwapFree" \
        test "$stotal/$susage" = "$g_stotal/$((g_stotal - g_sfree))"
    check "$1: 0 < minor_fault <= the guest's later pgfault" \
        test "${minflt:-0}" -gt 0 -a "${minflt:-0}" -le "${g_pgfault:-0}"
    compare_psi "$1"
}
# PSI: with /proc/pressure/memory in the guest, momd's guest_psi_* fields
# are numbers (averages within 0..100, totals a delta no larger than the
# guest's cumulative total); without it they are nil.
compare_psi() {
    local s10 s60 f10 stot gtot
    s10=$(stat_of guest_psi_some_avg10) s60=$(stat_of guest_psi_some_avg60)
    f10=$(stat_of guest_psi_full_avg10) stot=$(stat_of guest_psi_some_total)
    echo "# $1: momd guest_psi_some_avg10=$s10 some_avg60=$s60 full_avg10=$f10 some_total=$stot"
    if "$lab" guest-exec "$g" /bin/cat /proc/pressure/memory >"$tmp/psi" 2>"$tmp/exec.err"; then
        gtot=$(sed -n 's/^some .*total=\([0-9]*\).*/\1/p' "$tmp/psi")
        echo "# $1: guest /proc/pressure/memory: $(tr '\n' ' ' <"$tmp/psi")"
        check "$1: guest PSI: some/full avg10 and avg60 are numbers within 0..100" python3 -c '
import sys
vals = [float(v) for v in sys.argv[1:]]
sys.exit(0 if all(0 <= v <= 100 for v in vals) else 1)' "$s10" "$s60" "$f10"
        check "$1: guest PSI: 0 <= guest_psi_some_total <= the guest's later total ($gtot)" \
            test -n "$stot" -a "${stot:-0}" -ge 0 -a "${stot:-0}" -le "${gtot:-0}"
    else
        check "$1: the guest has no /proc/pressure/memory: guest_psi_* are nil" \
            test -z "$s10$s60$f10$stot"
    fi
}
compare "before"

# --- the agent goes away, comes back blocked, then comes back -----------------
KILL_AT=1
BLOCKED_AT=16
BACK_AT=32
qga="qemu-ga -d -m virtio-serial -p /dev/virtio-ports/org.qemu.guest_agent.0 -f /run/qemu-ga.pid -t /run -l /var/log/qemu-ga.log"
script="sleep $KILL_AT; kill \$(cat /run/qemu-ga.pid); sleep $((BLOCKED_AT - KILL_AT)); $qga -b guest-file-open;
sleep $((BACK_AT - BLOCKED_AT)); kill \$(cat /run/qemu-ga.pid); sleep 1; $qga"
lines0=$(wc -l <"$log")
t_kill=$SECONDS
"$lab" guest-exec "$g" /bin/sh -c "setsid sh -c '$script' </dev/null >/dev/null 2>&1 &" ||
    not_ok "guest-exec started the in-guest qemu-ga script"
new_log() { tail -n "+$((lines0 + 1))" "$log"; }
wait_log() { # wait_log SECONDS FRAGMENT
    local deadline=$((SECONDS + $1))
    while [ "$SECONDS" -le "$deadline" ]; do
        new_log | grep -qaF -- "$2" && return 0
        sleep 0.5
    done
    return 1
}
new_log_has() { new_log | grep -qaF -- "$1"; }
down="GuestQemuAgent has no data for $g until its agent answers"
blocked="$down: The guest agent refuses guest-file-open because the guest's qemu-ga allow/block list blocks it"
back="The guest agent of $g answers again"

wait_log $((BLOCKED_AT + 2)) "$down"
check "qemu-ga killed: momd logs that $g's agent is gone ($((SECONDS - t_kill)) s after the kill script)" \
    new_log_has "$down"
new_log | grep -aF -- "$down" | head -n 1 | sed 's/^/#   log: /'
check "momd keeps running without the agent" kill -0 "$momd_pid"
wait_log $((BACK_AT - BLOCKED_AT + 8)) "$blocked"
check "qemu-ga -b guest-file-open: momd says the allow/block list blocks guest-file-open ($((SECONDS - t_kill)) s)" \
    new_log_has "$blocked"
new_log | grep -aF -- "$blocked" | head -n 1 | sed 's/^/#   log: /'
# until the blocked line, one line about the agent being gone, not one per cycle
down_once() {
    local c
    c=$(new_log | awk -v d="$down" -v b="$blocked" 'index($0, d) { c++ } index($0, b) { exit } END { print c + 0 }')
    echo "#   lines about the agent until it came back blocked: $c"
    [ "$c" -eq 2 ] # the "gone" one and the "blocked" one
}
check "the degradation was logged once, not every cycle" down_once
wait_log 30 "$back"
check "qemu-ga back without a block list: momd logs the recovery ($((SECONDS - t_kill)) s)" \
    new_log_has "$back"
new_log | grep -aF -- "$back" | sed 's/^/#   log: /'
sleep 5
check "the recovery was logged once" test "$(new_log | grep -caF -- "$back")" -eq 1
check "momd is still running" kill -0 "$momd_pid"
wait_stat 20
compare "after recovery"

stop_momd
echo "1..$n"
[ "$failed" -eq 0 ]
