#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# momd with guests: the real momd binary against libvirt's test driver
# (test:///FILE, 10 running domains from tests/libvirt/make-test-xml.py,
# inside momd's own process), dry run, 1 s intervals.  A 01-parameters
# policy puts the host under "pressure" whatever this machine's memory
# looks like, so the default 10-balloon policy shrinks every guest and the
# Balloon controller logs what it would do.  Then momd without a libvirt
# (an unreachable socket) must keep managing the host alone.  TAP output.
set -u

: "${MOMD:?run through meson test}"
: "${MOM_TOP_SRCDIR:?run through meson test}"
top=$MOM_TOP_SRCDIR
NGUESTS=10

here=$(dirname "$(readlink -f "$0")")
# shellcheck source=../tap.sh
. "$here/../tap.sh"
tap_tmp momd-guests # $tmp; momd and the hanging-up listener stopped at exit
count() { # count FILE FIXED-STRING: matching lines
    grep -cF -- "$2" "$1" 2>/dev/null || true
}
# write_config FILE URI LOG: momd on the guests at URI, 1 s cycles, dry run
write_config() {
    write_momd_conf "$1" controllers='Balloon, KSM' libvirt-hypervisor-uri="$2" \
        guest-monitor-interval=1 guest-manager-interval=1 \
        '[logging]' log="$3" \
        '[host]' collectors='HostMemory, HostKSM, HostCpu' \
        '[guest]' collectors='GuestMemory, GuestBalloon, GuestCpuTune, GuestIoTuneOptional'
}

cp "$top"/data/policies/*.policy "$tmp/policies/"
echo '(set pressure_free_ratio 0.999)' >"$tmp/policies/01-parameters.policy"
if ! python3 "$top/tests/libvirt/make-test-xml.py" "$NGUESTS" "$tmp/guests.xml" 2>"$tmp/err"; then
    not_ok "make-test-xml.py wrote $tmp/guests.xml"
    echo "1..$n"
    exit 1
fi

# --- momd with 10 guests ----------------------------------------------------------

log=$tmp/momd.log
write_config "$tmp/momd.conf" "test://$tmp/guests.xml" "$log"
start_momd

check "connected to the test driver" wait_for "$log" "Connected to libvirt at test://$tmp/guests.xml." 15
# guests are taken on in hash order, not by name: wait for the count
for _ in $(seq 150); do
    [ "$(count "$log" "is now managed.")" -ge "$NGUESTS" ] && break
    sleep 0.1
done
managed=$(count "$log" "is now managed.")
check "$NGUESTS guests are managed (log says $managed)" test "$managed" -eq "$NGUESTS"
for i in 1 3 5 $NGUESTS; do
    name=$(printf 'vm%04d' "$i")
    check "$name was discovered with its uuid" \
        grep -qF "Guest $name (6d6f6d64-0000-4000-8000-$(printf %012d "$i")) is now managed." "$log"
done
check "the policies load with 01-parameters" \
    wait_for "$log" "Loaded 6 policies: 00-defines, 01-parameters, 10-balloon, 20-ksm, 30-cputune, 40-iotune." 5
check "the Balloon controller is active in dry-run mode" \
    grep -qF "The Balloon controller is active in dry-run mode" "$log"

# Under forced pressure, every guest gets a dry-run shrink from 10-balloon.
check "a balloon decision is logged in dry-run mode" wait_for "$log" "would be set (dry run)" 20
# Wait until every guest had one (at most a few policy cycles).
deadline=$((SECONDS + 20))
while [ "$SECONDS" -le "$deadline" ]; do
    guests_decided=0
    for i in $(seq 1 "$NGUESTS"); do
        grep -qE "guest $(printf 'vm%04d' "$i"): balloon [0-9]+ → [0-9]+ KiB would be set \(dry run\)" "$log" &&
            guests_decided=$((guests_decided + 1))
    done
    [ "$guests_decided" -eq "$NGUESTS" ] && break
    sleep 0.3
done
check "every guest has a dry-run balloon decision ($guests_decided of $NGUESTS)" \
    test "$guests_decided" -eq "$NGUESTS"
# 10-balloon shrinks by at most balloon_max_step (5 %) of balloon_cur per
# cycle times the guest's step factor, which is at most
# balloon_step_factor_max (2): vm0001 has 785408 KiB, so its first target
# is 706867 KiB or more.  (The test driver reports every guest's usable
# memory as half its balloon, so the factors are all near 1: vm0001's is
# about 1.003.)
first=$(sed -n 's/.*guest vm0001: balloon 785408 → \([0-9]*\) KiB would be set (dry run).*/\1/p' "$log" | head -n 1)
check "vm0001 shrinks by at most 10 % (785408 → ${first:-none})" \
    test -n "$first" -a "${first:-0}" -lt 785408 -a "${first:-0}" -ge 706867
# Dry run changes nothing, so every cycle makes the same decision again:
# it is logged once, not once per cycle.
cycle_now=$(sed -n 's/.*Policy cycle \([0-9]*\) succeeded.*/\1/p' "$log" | tail -n 1)
check "three more policy cycles" wait_for "$log" "Policy cycle $((${cycle_now:-0} + 3)) succeeded" 10
check "dry run: the same decision is logged once ($(count "$log" "guest vm0001: balloon 785408 →"))" \
    test "$(count "$log" "guest vm0001: balloon 785408 →")" -eq 1
check "no real balloon change in dry-run mode" \
    sh -c "! grep -qE 'guest vm[0-9]+: balloon [0-9]+ → [0-9]+ KiB \\(target' '$log'"
# nor a statistics period: said once per guest, not set
check "dry run: a guest without a stats period keeps none, said once" \
    test "$(count "$log" "Guest vm0002 has no balloon statistics period; 1 s would be set (dry run).")" -eq 1
check "dry run: no stats period is set" sh -c "! grep -qF 'setting it to' '$log'"
check "policy cycles succeed" wait_for "$log" "Policy cycle 3 succeeded" 10
check "no policy cycle failed" sh -c "! grep -q 'Policy cycle [0-9]* failed' '$log'"
kill -0 "$momd_pid" 2>/dev/null && ok "momd still runs" || not_ok "momd still runs"

stop_momd
rc=$?
check "SIGTERM: momd exits 0 (exit $rc)" test "$rc" -eq 0
check "\"momd stopped\" is logged" grep -qF "momd stopped after" "$log"
# GLib writes WARNING/CRITICAL/ERROR with these words in the log file.
errors=$(grep -ciE 'warning|critical|error' "$log" || true)
check "no warnings or errors in the log ($errors)" test "$errors" -eq 0
[ "$errors" -gt 0 ] && grep -iE 'warning|critical|error' "$log" | head -n 5 | sed 's/^/#   /'
check "nothing on stderr" test ! -s "$tmp/momd.err"

# --- momd without libvirt ----------------------------------------------------------

log=$tmp/nolibvirt.log
write_config "$tmp/nolibvirt.conf" "qemu+unix:///system?socket=$tmp/nonexistent/sock" "$log"
start_momd -c "$tmp/nolibvirt.conf"
check "unreachable libvirt: policy cycles still run" wait_for "$log" "Policy cycle 3 succeeded" 15
said=$(count "$log" "No libvirt answers at")
check "unreachable libvirt: said once ($said) after several retries" test "$said" -eq 1
check "unreachable libvirt: no guest is managed" sh -c "! grep -qF 'is now managed' '$log'"
stop_momd
rc=$?
check "unreachable libvirt: SIGTERM exits 0 (exit $rc)" test "$rc" -eq 0

# A socket that accepts and hangs up at once, like a libvirtd that dies
# during the handshake: libvirt's client then writes to a closed socket.
# A libvirt client must ignore SIGPIPE (virsh does); momd does not yet.
log=$tmp/hangup.log
python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
s.listen(8)
while True:
    c, _ = s.accept()
    c.close()
' "$tmp/hangup.sock" &
listener_pid=$!
for _ in $(seq 100); do [ -S "$tmp/hangup.sock" ] && break; sleep 0.05; done
write_config "$tmp/hangup.conf" "qemu+unix:///system?socket=$tmp/hangup.sock" "$log"
start_momd -c "$tmp/hangup.conf"
wait_for "$log" "Policy cycle 3 succeeded" 8 >/dev/null
if kill -0 "$momd_pid" 2>/dev/null; then
    alive=yes
    kill -TERM "$momd_pid"
    wait "$momd_pid"
    rc=$?
else
    alive=no
    wait "$momd_pid"
    rc=$?
fi
momd_pid=
check "libvirt hanging up: momd survives and exits 0 (alive=$alive, exit $rc)" \
    test "$alive" = yes -a "$rc" -eq 0

echo "1..$n"
[ "$failed" -eq 0 ]
