#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Checks the e2e lab itself, so that an e2e test failing later is known to
# be momd's fault and not the lab's: a private libvirtd starts, a 512 MiB
# TCG guest boots, its balloon reports the stats momd's collectors read
# (unused, available, usable), a live setmem moves "actual", and a hog run
# through the guest agent lowers "unused".  Then everything is stopped and
# the test checks that nothing of it is left.  Needs root; SKIPs without
# it or when QEMU cannot start at all.  TAP output, timings as comments.
set -u

here=$(dirname "$(readlink -f "$0")")
lab=$here/lab.sh
# shellcheck source=../tap.sh
. "$here/../tap.sh"

if [ "$(id -u)" -ne 0 ]; then
    echo "1..0 # SKIP needs root for a private libvirtd"
    exit 0
fi
# /dev/kvm is not needed (guests run under TCG), but QEMU itself is.
if ! echo quit | timeout 30 qemu-system-x86_64 -M none -accel tcg -display none \
    -nodefaults -monitor stdio >/dev/null 2>&1; then
    echo "1..0 # SKIP qemu-system-x86_64 cannot start here (scripts/deps.sh installs it)"
    exit 0
fi

echo "1..11"
mkdir -p "${MOMD_E2E_CACHE:-/tmp/momd-e2e}"
MOMD_E2E_DIR=$(mktemp -d "${MOMD_E2E_CACHE:-/tmp/momd-e2e}/smoke.XXXXXX")
export MOMD_E2E_DIR
state=$MOMD_E2E_DIR/libvirt
# libvirt's cgroup names are host-wide: the name must differ between runs.
vm=e2e-smoke-$$
unset LIBVIRT_DEFAULT_URI

now_ms() { date +%s%3N; }
secs_since() {
    local d=$(($(now_ms) - $1))
    printf '%d.%d' $((d / 1000)) $((d % 1000 / 100))
}

cleanup() {
    trap - EXIT
    # The logs say why, but stop-libvirtd deletes them: show them first.
    if [ "$failed" -gt 0 ]; then
        tail -n 15 "$state/log/$vm-serial.log" 2>/dev/null | tr -d '\r' | sed 's/^/#   serial: /'
        tail -n 15 "$state/log/libvirtd.log" 2>/dev/null | sed 's/^/#   libvirtd: /'
    fi
    # Through a file: if our stdout is gone, a pipe would kill the stop.
    "$lab" stop-libvirtd "$state" >"$MOMD_E2E_DIR/stop.out" 2>&1
    sed 's/^/# /' "$MOMD_E2E_DIR/stop.out" 2>/dev/null
    rm -rf "$MOMD_E2E_DIR"
}
# On a signal (meson's timeout sends SIGTERM to the whole process group
# and SIGKILL half a second later), clean up from a new session that the
# SIGKILL cannot reach: a libvirtd and its QEMUs outlive us otherwise.
on_signal() {
    trap - EXIT INT TERM HUP
    # shellcheck disable=SC2016 # the inner shell expands its own arguments
    setsid -f /bin/sh -c '"$0" stop-libvirtd "$1"; rm -rf "$2"' \
        "$lab" "$state" "$MOMD_E2E_DIR" </dev/null >/dev/null 2>&1
    exit 1
}
trap cleanup EXIT
trap on_signal INT TERM HUP

V() { timeout 30 virsh -q -c "$uri" "$@"; }
stat_of() { # stat_of KEY [STATS]: one dommemstat value
    local s=${2:-$(V dommemstat "$vm" 2>/dev/null)}
    echo "$s" | awk -v k="$1" '$1 == k { print $2 }'
}
# Balloon stats the guest sent after epoch second T+1: certainly computed
# after whatever happened before T.  They come every 2 s (--period 2).
stats_after() {
    local s _
    for _ in $(seq 200); do
        s=$(V dommemstat "$vm" 2>/dev/null)
        [ "$(stat_of last_update "$s")" -gt $(($1 + 1)) ] 2>/dev/null && { echo "$s"; return 0; }
        sleep 0.1
    done
    return 1
}

t=$(now_ms)
"$lab" build-guest >/dev/null 2>"$MOMD_E2E_DIR/build.err" ||
    { sed 's/^/# /' "$MOMD_E2E_DIR/build.err"; bail "build-guest failed"; }
ok "build-guest (cached in ${MOMD_E2E_CACHE:-/tmp/momd-e2e}/guest, $(secs_since "$t") s)"

t=$(now_ms)
uri=$("$lab" start-libvirtd "$state" 2>"$MOMD_E2E_DIR/start.err") ||
    { sed 's/^/# /' "$MOMD_E2E_DIR/start.err"; bail "start-libvirtd failed"; }
export LIBVIRT_DEFAULT_URI=$uri
ok "start-libvirtd ($(secs_since "$t") s): $uri"

t=$(now_ms)
"$lab" define-guest "$vm" 512 --period 2 --start --wait 60 2>"$MOMD_E2E_DIR/define.err" ||
    { sed 's/^/# /' "$MOMD_E2E_DIR/define.err"; bail "guest $vm did not boot"; }
ok "guest boots to MOMLAB-READY ($(secs_since "$t") s)"
tr -d '\r' <"$state/log/$vm-serial.log" | grep -a MOMLAB-READY | sed 's/^/# /'

# The first stats arrive when the balloon driver loads, just before READY.
has_guest_stats() {
    local s _
    for _ in $(seq 100); do
        s=$(V dommemstat "$vm" 2>/dev/null)
        [ -n "$(stat_of unused "$s")" ] && [ -n "$(stat_of available "$s")" ] &&
            [ -n "$(stat_of usable "$s")" ] && return 0
        sleep 0.1
    done
    echo "#   dommemstat: ${s//$'\n'/ }"
    return 1
}
check "dommemstat has unused, available and usable" has_guest_stats
echo "# $(V dommemstat "$vm" | tr '\n' ' ')"

agent_works() { "$lab" guest-exec "$vm" /bin/momlab-meminfo | grep -q '^MemTotal:'; }
check "guest-exec runs momlab-meminfo through the agent" agent_works

# Balloon to 256 MiB; QEMU's "actual" follows in ~0.4 s.
t=$(now_ms)
t_s=$(date +%s)
V setmem "$vm" 256M --live
actual=
for _ in $(seq 100); do
    actual=$(stat_of actual)
    [ "$actual" = 262144 ] && break
    sleep 0.1
done
check "setmem --live lowers actual to 262144 KiB (took $(secs_since "$t") s, actual=$actual)" \
    test "$actual" = 262144

s=$(stats_after "$t_s")
avail=$(stat_of available "$s")
u0=$(stat_of unused "$s")
check "the guest sees the inflated balloon (available=${avail:-none} KiB < 300000)" \
    test "${avail:-999999}" -lt 300000

# tmpfs pages cannot be reclaimed: "unused" must drop by about the hog.
t=$(now_ms)
"$lab" guest-exec "$vm" /bin/momlab-hog 64 pattern 2>&1 | sed 's/^/# /'
t_s=$(date +%s)
s=$(stats_after "$t_s")
u1=$(stat_of unused "$s")
drop=$((${u0:-0} - ${u1:-0}))
dropped() { [ -n "$u0" ] && [ -n "$u1" ] && [ "$drop" -ge 49152 ]; }
check "momlab-hog 64 lowers unused by >= 48 MiB ($u0 -> $u1 KiB, $(secs_since "$t") s)" dropped

# --swap: a guest that can page (the scenario's stall measurement)
t=$(now_ms)
if "$lab" define-guest "$vm-swap" 256 --swap 64 --start --wait 60 2>"$MOMD_E2E_DIR/define-swap.err"; then
    swaps=$("$lab" guest-exec "$vm-swap" /bin/cat /proc/swaps 2>&1)
else
    sed 's/^/# /' "$MOMD_E2E_DIR/define-swap.err"
    swaps=
fi
check "define-guest --swap 64: the guest swaps on its vda ($(secs_since "$t") s): ${swaps//$'\n'/ }" \
    sh -c "tr -d '\r' <'$state/log/$vm-swap-serial.log' | grep -qa 'MOMLAB-READY.* swap=yes' &&
           printf '%s\n' \"\$1\" | grep -qE '^/dev/vda[[:space:]]+partition[[:space:]]+65532[[:space:]]'" _ "$swaps"
err=$("$lab" define-guest "$vm-both" 256 --swap 64 --disk /dev/null 2>&1)
rc=$?
check "define-guest refuses --disk with --swap, saying why (exit $rc): $err" \
    sh -c "[ $rc -ne 0 ] && printf '%s' \"\$1\" | grep -q 'give one'" _ "$err"

# Stop, and check that nothing of this instance is left on the host.
qpid=$(cat "$state/run/qemu/$vm.pid" 2>/dev/null)
lpid=$(cat "$state/libvirtd.pid" 2>/dev/null)
t=$(now_ms)
"$lab" stop-libvirtd "$state" 2>&1 | sed 's/^/# /'
left=
[ -n "$qpid" ] && kill -0 "$qpid" 2>/dev/null && left="$left qemu($qpid)"
[ -n "$lpid" ] && kill -0 "$lpid" 2>/dev/null && left="$left libvirtd($lpid)"
[ -e "$state" ] && left="$left $state"
grep -qF "$MOMD_E2E_DIR" /proc/mounts && left="$left mounts"
[ -z "$qpid" ] && left="$left (no QEMU pid file was seen)"
check "stop-libvirtd leaves no libvirtd, QEMU, mount or state ($(secs_since "$t") s)${left:+; left:$left}" \
    test -z "$left"

[ "$failed" -eq 0 ]
