#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Faults on the real lab (issue 15, step 3): the lab's private libvirtd
# (lab.sh) with two 256 MiB TCG guests, and momd (not a dry run) with 1 s
# guest sampling, a 2 s policy interval, the default policies and a site
# line that keeps the host "under pressure", so that momd balloons the
# guests all the time.  With bounded polling, the test checks:
#   1. libvirtd frozen (SIGSTOP) for 30 s, then resumed: momd's control API
#      answers throughout (momctl status, every 2 s, within 3 s each), momd
#      says once that libvirt is not answering and once that it is back,
#      and it balloons the guests again afterwards;
#   2. one guest's QEMU frozen (SIGSTOP) for 20 s: the API answers, the
#      other guest is ballooned meanwhile (momd collects on a second
#      connection while the bulk call waits for the frozen QEMU), a stall
#      is said once and its end once, both guests are ballooned again
#      afterwards.
# Every fault and every recovery is logged once (counted in the log).
# Needs root (SKIPs otherwise).  TAP output.
set -u

: "${MOMD:?run through meson test}"
: "${MOMCTL:?run through meson test}"
: "${MOM_TOP_SRCDIR:?run through meson test}"
top=$MOM_TOP_SRCDIR
here=$(dirname "$(readlink -f "$0")")
lab=$here/lab.sh
# shellcheck source=../tap.sh
. "$here/../tap.sh"
# shellcheck source=e2e-run.sh
. "$here/e2e-run.sh"
e2e_begin faults
frozen=
# a frozen process must not outlive the test
thaw() { [ -n "$frozen" ] && kill -CONT "$frozen" 2>/dev/null; frozen=; }
trap 'thaw; e2e_cleanup' EXIT
trap 'thaw; e2e_on_signal' INT TERM HUP

V() { timeout 30 virsh -q -c "$uri" "$@"; }
now_ms() { date +%s%3N; }
g1=e2e-fault1-$$
g2=e2e-fault2-$$
mem=256

uri=$("$lab" start-libvirtd "$state" 2>"$tmp/start.err") ||
    { sed 's/^/# /' "$tmp/start.err"; bail "start-libvirtd failed"; }
export LIBVIRT_DEFAULT_URI=$uri
for g in $g1 $g2; do
    "$lab" define-guest "$g" $mem --start --wait 120 >"$tmp/define-$g.out" 2>&1 &
done
wait || true
for g in $g1 $g2; do
    [ "$(V domstate "$g" 2>/dev/null)" = running ] || bail "guest $g did not boot"
done
ok "private libvirtd up with guests $g1 and $g2"

cp "$top"/data/policies/*.policy "$tmp/policies/"
printf '# test-faults: always under pressure\n(set pressure_free_ratio 0.999)\n' \
    >"$tmp/policies/01-parameters.policy"
# the lab's libvirtd, 1 s guest sampling, a 2 s policy interval, real writes
write_momd_conf "$tmp/momd.conf" controllers='Balloon, CpuTune, IoTune' dry-run=false \
    libvirt-hypervisor-uri="$uri" libvirt-run-dir="$state/run/qemu" \
    guest-monitor-interval=1 guest-manager-interval=1 policy-engine-interval=2 \
    '[logging]' verbosity=info \
    '[host]' collectors='HostMemory, HostKSM, HostCpu' \
    '[guest]' collectors='GuestMemory, GuestBalloon'
start_momd
# shrunk GUEST SECONDS: momd took GUEST's balloon below its maximum
shrunk() { balloon_below "$1" $((mem * 1024 - 2048)) "$2"; }
both_shrunk() { shrunk "$g1" 60 && shrunk "$g2" 30; }
check "momd balloons both guests" both_shrunk

# 1. libvirtd frozen for 30 s.
lpid=$(cat "$state/libvirtd.pid")
lines=$(wc -l <"$log")
kill -STOP "$lpid" && frozen=$lpid
t0=$(now_ms)
slow=0
worst=0
while [ $(($(now_ms) - t0)) -lt 30000 ]; do
    t=$(now_ms)
    timeout 10 "$MOMCTL" --socket "$sock" status >/dev/null 2>&1 || slow=$((slow + 1))
    d=$(($(now_ms) - t))
    [ "$d" -gt "$worst" ] && worst=$d
    [ "$d" -gt 3000 ] && slow=$((slow + 1))
    sleep 2
done
thaw
echo "# libvirtd frozen for $((($(now_ms) - t0) / 1000)) s; slowest momctl status $worst ms"
check "momctl status answered within 3 s throughout the freeze (slowest $worst ms)" test "$slow" -eq 0
sleep 12
during=$(tail -n "+$((lines + 1))" "$log")
echo "$during" | grep -aE ' - (WARNING|MESSAGE|INFO) - ' | grep -aiv 'balloon [0-9]* →' | head -n 12 | sed 's/^/#   log: /'
down=$(echo "$during" | grep -ac ' - WARNING - ')
up=$(echo "$during" | grep -acE 'Reconnected to libvirt|flowing again')
check "momd warned once, that libvirt is not answering ($down warnings)" test "$down" -eq 1
check "momd said once that libvirt is back ($up lines)" test "$up" -eq 1
V setmem "$g2" $((mem * 1024)) --live >/dev/null 2>&1
check "after the freeze momd balloons again ($g2 set to its maximum, shrunk again)" shrunk "$g2" 30

# 2. One guest's QEMU frozen for 20 s.  libvirt's bulk statistics call,
# NOWAIT or not, waits for the frozen QEMU's balloon statistics when it
# reaches it first; after MOM_GUESTS_ASIDE_AFTER_S momd then collects on a
# second connection, whose call skips the guest whose job the first one
# holds.  (When a balloon call of momd's reaches the QEMU first and holds
# it, the bulk call itself skips it.)
qpid=$(cat "$state/run/qemu/$g1.pid")
lines=$(wc -l <"$log")
kill -STOP "$qpid" && frozen=$qpid
t0=$(now_ms)
sleep 2
V setmem "$g2" $((mem * 1024)) --live >/dev/null 2>&1
check "with $g1's QEMU frozen, momd still balloons $g2 (set to its maximum, shrunk again)" \
    shrunk "$g2" 16
status_answers() { timeout 3 "$MOMCTL" --socket "$sock" status >"$tmp/status.out" 2>&1 ||
    { sed 's/^/#   status: /' "$tmp/status.out"; return 1; }; }
check "momctl status answers with $g1's QEMU frozen" status_answers
while [ $(($(now_ms) - t0)) -lt 20000 ]; do sleep 0.5; done
thaw
check "after the thaw momd balloons $g2 again" shrunk "$g2" 30
V setmem "$g1" $((mem * 1024)) --live >/dev/null 2>&1
check "and $g1 (set to its maximum, shrunk again)" shrunk "$g1" 30
during=$(tail -n "+$((lines + 1))" "$log")
echo "$during" | grep -aE ' - (WARNING|MESSAGE) - ' | grep -av 'balloon [0-9]* →' | head -n 12 | sed 's/^/#   log: /'
# The fault may be said as a stall of the statistics call, as the frozen
# guest not following its balloon (marked uncooperative), and as a balloon
# change that has not returned: libvirtd serves a client a few calls at a
# time, and the calls held by the frozen QEMU can hold the other guest's
# too.  Each at most once a guest, nothing else.
warnings=$(echo "$during" | grep -a ' - WARNING - ')
stalls=$(echo "$warnings" | grep -ac 'has not returned for')
frozen_said=$(echo "$warnings" | grep -a "$g1" | grep -avc 'is still running after')
held=$(echo "$warnings" | grep -a 'is still running after' | grep -ao "guest [^ :]*:" | sort | uniq -c |
    awk '$1 > 1' | wc -l)
others=$(printf '%s' "$warnings" | grep -av 'has not returned for' | grep -av 'is still running after' |
    grep -avc "$g1")
back=$(echo "$during" | grep -ac 'flowing again')
check "the stall said at most once ($stalls), the frozen guest at most once ($frozen_said)" \
    test "$stalls" -le 1 -a "$frozen_said" -le 1
check "a held balloon change said at most once a guest ($held guests more often)" test "$held" -eq 0
check "no warning about anything else ($others)" test "$others" -eq 0
check "the stall's end said as often as the stall ($back lines)" test "$back" -eq "$stalls"
check "momd is still running" kill -0 "$momd_pid"

stop_momd
echo "1..$n"
[ "$failed" -eq 0 ]
