#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# GuestQemuProc finds the guest's QEMU without [main] libvirt-run-dir, as
# MOM's stock mom-balloon.conf needs (GuestQemuProc is mandatory there):
# the lab's private libvirtd keeps its run directory under its state
# directory, not in /run/libvirt/qemu.  One 256 MiB TCG guest, and momd
# (dry run, [guest] collectors GuestQemuProc, GuestBalloon) twice:
#   1. with the lab's URI, qemu:///system?socket=STATE/run/libvirt-sock:
#      the pid comes from the URI's run directory, STATE/run/qemu/NAME.pid;
#   2. with the same socket through a symlink in a directory that has no
#      qemu/ beside it: the pid comes from the process list (-uuid UUID).
# Each time momd's pid is the one in libvirt's pid file, GuestQemuProc
# reports the process's rss (momctl stats), and the guest is ready.
# Needs root (SKIPs otherwise).  TAP output.
set -u

: "${MOMD:?run through meson test}"
: "${MOMCTL:?run through meson test}"
here=$(dirname "$(readlink -f "$0")")
lab=$here/lab.sh
# shellcheck source=../tap.sh
. "$here/../tap.sh"

# shellcheck source=e2e-run.sh
. "$here/e2e-run.sh"
e2e_begin qemupid
g=e2e-pid-$$ # guest names are host-wide (cgroups)

uri=$("$lab" start-libvirtd "$state" 2>"$tmp/start.err") ||
    { sed 's/^/# /' "$tmp/start.err"; bail "start-libvirtd failed"; }
export LIBVIRT_DEFAULT_URI=$uri
ok "private libvirtd up: $uri"
"$lab" define-guest "$g" 256 --no-agent --start --wait 120 >"$tmp/define.out" 2>&1 ||
    { sed 's/^/# /' "$tmp/define.out"; bail "the guest did not boot"; }
ok "guest $g booted"
uuid=$(timeout 30 virsh -q -c "$uri" domuuid "$g" | tr -d ' \n')
qpid=$(cat "$state/run/qemu/$g.pid" 2>/dev/null)
check "libvirt's pid file is in $state/run/qemu, not /run/libvirt/qemu" \
    test -n "$qpid" -a ! -e "/run/libvirt/qemu/$g.pid"
echo "# uuid $uuid, QEMU pid $qpid"

# newest FIELD of the guest's newest sample ("" while there is none)
stat_of() { momd_stat "$g" "$1"; }
wait_rss() { # wait_rss SECONDS: until GuestQemuProc has reported rss
    local deadline=$((SECONDS + $1))
    while [ "$SECONDS" -le "$deadline" ]; do
        [ -n "$(stat_of rss)" ] && return 0
        sleep 1
    done
    return 1
}

# run_momd WHAT URI: one momd, no libvirt-run-dir, until GuestQemuProc has data
run_momd() {
    # no libvirt-run-dir, 1 s cycles, dry run
    write_momd_conf "$tmp/momd.conf" controllers=Balloon libvirt-hypervisor-uri="$2" \
        guest-monitor-interval=1 guest-manager-interval=1 \
        '[guest]' collectors='GuestQemuProc, GuestBalloon'
    : >"$log"
    start_momd
    local t0=$SECONDS
    wait_rss 60
    check "$1: GuestQemuProc reports rss ($((SECONDS - t0)) s after momd started)" wait_rss 0
    local rss real
    rss=$(stat_of rss)
    real=$(awk '{ print $24 }' "/proc/$qpid/stat" 2>/dev/null)
    echo "# $1: momd rss $rss pages, /proc/$qpid/stat rss $real pages"
    # QEMU's rss moves a little between momd's read and ours
    check "$1: it is QEMU's rss (within 10 %)" \
        test -n "$rss" -a -n "$real" -a $((rss * 10)) -ge $((real * 9)) -a $((rss * 9)) -le $((real * 10))
    check "$1: the guest is ready" \
        sh -c "timeout 10 '$MOMCTL' --socket '$sock' status | grep -qE 'Guests: 1 \(1 ready\)'"
    check "$1: no GuestQemuProc failure is logged" \
        sh -c "! grep -q 'GuestQemuProc collector of .* failed' '$log'"
}

# 1. The URI's socket has the run directory beside it.
run_momd "the lab's URI" "$uri"
check "the pid is found in the URI's run directory, $state/run/qemu" grep -qF \
    "The QEMU process of guest $g is $qpid, from its pid file in $state/run/qemu." "$log"
stop_momd

# 2. The same daemon through a socket path with no qemu/ beside it.
mkdir -p "$tmp/elsewhere"
ln -s "$state/run/libvirt-sock" "$tmp/elsewhere/libvirt-sock"
run_momd "a socket elsewhere" "qemu:///system?socket=$tmp/elsewhere/libvirt-sock"
check "the pid is found in the process list by the domain's UUID" grep -qF \
    "The QEMU process of guest $g is $qpid, the process with -uuid $uuid." "$log"
check "no pid file was used (there is none beside that socket)" \
    sh -c "! grep -q 'from its pid file' '$log'"
stop_momd

echo "1..$n"
[ "$failed" -eq 0 ]
