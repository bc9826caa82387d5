#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# momd as a process, the way systemd and an operator see it: it starts,
# cycles, survives a broken policy on SIGHUP (keeping the last good one),
# talks sd_notify, and stops with status 0 on SIGTERM.  Startup errors (bad
# config value, unknown collector) exit non-zero with a message that says
# where.  momd runs in dry-run mode here, so this test cannot change the
# host's KSM settings; test-ksm-real.sh covers real writes.  TAP output.
set -u

: "${MOMD:?run through meson test}"
: "${MOM_TOP_SRCDIR:?run through meson test}"
top=$MOM_TOP_SRCDIR

here=$(dirname "$(readlink -f "$0")")
# shellcheck source=../tap.sh
. "$here/../tap.sh"
tap_tmp momd-lifecycle # $tmp; no momd or sd_notify listener outlives the test
TAP_LOG_LINES=15
# The highest "Policy cycle N succeeded" in the log (0 if none).
last_cycle() {
    sed -n 's/.*Policy cycle \([0-9]*\) succeeded.*/\1/p' "$tmp/momd.log" | tail -n 1 | grep . || echo 0
}
# write_config FILE [KEY=VALUE | '[SECTION]']...: the KSM controller on the
# host alone, dry run, 1 s cycles (write_momd_conf's defaults), and ARGS.
write_config() {
    local file=$1
    shift
    write_momd_conf "$file" controllers=KSM '[host]' collectors='HostMemory, HostKSM' '[main]' "$@"
}

cp "$top"/data/policies/*.policy "$tmp/policies/"
write_config "$tmp/momd.conf"

# --- command line -----------------------------------------------------------

"$MOMD" --help >"$tmp/out" 2>"$tmp/err"
rc=$?
check "momd --help exits 0 (exit $rc)" test "$rc" -eq 0
check "momd --help lists --config-file" grep -qF -- "--config-file" "$tmp/out"

# A config that momd prints must read back as the same config.
"$MOMD" -c "$tmp/momd.conf" --dump-config >"$tmp/dump1" 2>"$tmp/err"
rc=$?
check "--dump-config exits 0 (exit $rc)" test "$rc" -eq 0
check "--dump-config shows the file's values" grep -qE '^policy-engine-interval *[:=] *1$' "$tmp/dump1"
"$MOMD" -c "$tmp/dump1" --dump-config >"$tmp/dump2" 2>"$tmp/err"
rc=$?
if [ "$rc" -eq 0 ] && diff -u "$tmp/dump1" "$tmp/dump2" >"$tmp/diff"; then
    ok "--dump-config output reads back to the same dump"
else
    not_ok "--dump-config round trip (exit $rc)"
    sed 's/^/#   /' "$tmp/diff"
fi

# A bad value stops momd before it starts, naming file and line.
write_config "$tmp/bad.conf" sample-history-length=lots
bad_line=$(grep -n '^sample-history-length' "$tmp/bad.conf" | cut -d: -f1)
"$MOMD" -c "$tmp/bad.conf" >"$tmp/out" 2>"$tmp/err"
rc=$?
check "a bad config value exits non-zero (exit $rc)" test "$rc" -ne 0 -a "$rc" -lt 128
check "the error names $tmp/bad.conf:$bad_line" grep -qF "$tmp/bad.conf:$bad_line" "$tmp/err"
check "the error names the option" grep -qF "sample-history-length" "$tmp/err"
cp "$tmp/err" "$tmp/bad.err"

# An unknown collector is a startup error too (on stderr with log: stdio).
sed -e 's/^collectors: HostMemory, HostKSM$/collectors: HostMemory, NoSuchCollector/' \
    -e "s|^log: .*|log: stdio|" "$tmp/momd.conf" >"$tmp/nocoll.conf"
timeout 20 "$MOMD" -c "$tmp/nocoll.conf" >"$tmp/out" 2>"$tmp/err"
rc=$?
check "an unknown collector exits non-zero, without crashing (exit $rc)" \
    test "$rc" -ne 0 -a "$rc" -lt 124
check "the error names the unknown collector" grep -qF "'NoSuchCollector'" "$tmp/err"
check "the error lists the known collectors" grep -qF "HostMemory" "$tmp/err"
check "a fatal start-up error is logged at CRITICAL" \
    grep -qF " - CRITICAL - Cannot start the host monitor, so momd cannot start:" "$tmp/err"
check "... and nothing at WARNING says it cannot start" \
    sh -c "! grep -F ' - WARNING - ' '$tmp/err' | grep -qF 'cannot start'"
check "a bad config value is logged at CRITICAL too" \
    grep -qE " - CRITICAL - $tmp/bad.conf:$bad_line: .* momd cannot start\.$" "$tmp/bad.err"

# MOM's and vdsm's settings that momd does not honour: one warning each,
# naming file, line and key, at start-up and from --dump-config alike, and
# none of them stops momd (GuestNetworkDaemon did).
write_config "$tmp/vdsm.conf" rpc-port="$tmp/vdsm.sock" \
    hypervisor-interface=vdsmjsonrpcclient libvirt-hypervisor-uri=test:///default \
    '[logging]' log="$tmp/vdsm.log" \
    '[guest]' collectors='GuestNetworkDaemon, GuestBalloon' \
    '[vdsm]' host=127.0.0.1 \
    '[Collector: GuestNetworkDaemon]' name-to-ip-helper=/etc/mom/name-to-ip
line_of() { grep -n "^$1" "$tmp/vdsm.conf" | head -n 1 | cut -d: -f1; }
not_honoured="$tmp/vdsm.conf:$(line_of hypervisor-interface): [main] hypervisor-interface: momd has no 'vdsmjsonrpcclient' interface
$tmp/vdsm.conf:$(line_of '\[vdsm\]'): [vdsm]: momd does not connect to vdsm
$tmp/vdsm.conf:$(line_of 'collectors: GuestNetworkDaemon'): [guest] collectors: momd has no GuestNetworkDaemon collector
$tmp/vdsm.conf:$(line_of name-to-ip-helper): [Collector: GuestNetworkDaemon] name-to-ip-helper: momd has no GuestNetworkDaemon collector"
"$MOMD" -c "$tmp/vdsm.conf" --dump-config >"$tmp/out" 2>"$tmp/err"
rc=$?
check "--dump-config of a vdsm-style config exits 0 (exit $rc)" test "$rc" -eq 0
while IFS= read -r w; do
    check "--dump-config warns: ${w#"$tmp"/}" grep -qF -- " - WARNING - $w" "$tmp/err"
done <<<"$not_honoured"
check "--dump-config: GuestMemory takes GuestNetworkDaemon's place" \
    grep -qx "collectors: GuestMemory, GuestBalloon" "$tmp/out"
start_momd -c "$tmp/vdsm.conf"
check "momd starts with GuestNetworkDaemon configured" \
    wait_for "$tmp/vdsm.log" "Policy cycle 1 succeeded" 20
while IFS= read -r w; do
    check "start-up warns: ${w#"$tmp"/}" grep -qF -- " - WARNING - $w" "$tmp/vdsm.log"
done <<<"$not_honoured"
check "each of them once" test "$(grep -c "WARNING - $tmp/vdsm.conf:" "$tmp/vdsm.log")" -eq 4
# lock-memory (default true): momd's pages stay in RAM under pressure
if [ "$(id -u)" -eq 0 ]; then
    check "as root, momd locks its memory and says so" \
        grep -qF "momd's memory is locked: the kernel will not page it out under pressure." "$tmp/vdsm.log"
    locked=$(awk '/^VmLck:/ {print $2}' "/proc/$momd_pid/status")
    if grep -q libasan "/proc/$momd_pid/maps"; then
        # ASan intercepts mlockall() and does nothing
        skip "the kernel counts momd's locked memory" "AddressSanitizer makes mlockall a no-op"
    else
        check "the kernel counts momd's locked memory (VmLck $locked kB)" test "${locked:-0}" -gt 0
    fi
else
    check "without root, momd says it cannot lock its memory" \
        grep -qF "momd cannot lock its memory" "$tmp/vdsm.log"
fi
stop_momd
sed -i 's/^\[main\]$/[main]\nlock-memory: false/' "$tmp/vdsm.conf"
: >"$tmp/vdsm.log"
start_momd -c "$tmp/vdsm.conf"
wait_for "$tmp/vdsm.log" "Policy cycle 1 succeeded" 20
check "lock-memory: false leaves momd's memory unlocked (VmLck $(awk '/^VmLck:/ {print $2}' "/proc/$momd_pid/status") kB)" \
    test "$(awk '/^VmLck:/ {print $2}' "/proc/$momd_pid/status")" -eq 0
check "... and says so" grep -qF "momd's memory is not locked ([main] lock-memory is false)." "$tmp/vdsm.log"
stop_momd

# -d moves to "/": a relative -c and -P are taken from where momd started,
# so that the policies load and SIGHUP re-reads the config file.
sed -e "s|$tmp/momd.log|$tmp/daemon.log|" -e "s|$tmp/momd.sock|$tmp/daemon.sock|" \
    "$tmp/momd.conf" >"$tmp/daemon.conf"
(cd "$tmp" && exec "$MOMD" -d -c daemon.conf -P policies --pid-file "$tmp/daemon.pid") \
    >"$tmp/out" 2>"$tmp/err"
rc=$?
check "momd -d -c daemon.conf: the parent exits 0 (exit $rc)" test "$rc" -eq 0
for _ in $(seq 100); do [ -s "$tmp/daemon.pid" ] && break; sleep 0.1; done
momd_pid=$(cat "$tmp/daemon.pid" 2>/dev/null)
check "-d: the pid file is written" test -n "$momd_pid"
check "-d: started with the config $tmp/daemon.conf" \
    wait_for "$tmp/daemon.log" "is starting with the config $tmp/daemon.conf in dry-run" 10
check "-d: -P policies loads $tmp/policies" wait_for "$tmp/daemon.log" "Loaded 5 policies" 10
if [ -n "$momd_pid" ]; then
    kill -HUP "$momd_pid"
    check "-d: SIGHUP reloads $tmp/daemon.conf" \
        wait_for "$tmp/daemon.log" "Reloading the configuration from $tmp/daemon.conf" 10
    loaded_twice() {
        local _
        for _ in $(seq 100); do
            [ "$(grep -c 'Loaded 5 policies' "$tmp/daemon.log")" -eq 2 ] && return 0
            sleep 0.1
        done
        return 1
    }
    check "-d: ... and the 5 policies again" loaded_twice
    check "-d: nothing failed to reload" sh -c "! grep -qE 'not reloaded|Cannot read' '$tmp/daemon.log'"
    kill -TERM "$momd_pid"
    for _ in $(seq 100); do kill -0 "$momd_pid" 2>/dev/null || break; sleep 0.1; done
    check "-d: SIGTERM stops it" sh -c "! kill -0 $momd_pid 2>/dev/null"
    check "-d: the pid file is removed" test ! -e "$tmp/daemon.pid"
fi
momd_pid=

# A missing policy directory: momd runs, idle, and says so in the log and
# in momctl status, not only "ok".
sed -e "s|$tmp/momd.log|$tmp/nopol.log|" -e "s|$tmp/momd.sock|$tmp/nopol.sock|" \
    -e "s|^policy-dir: .*|policy-dir: $tmp/no-such-dir|" "$tmp/momd.conf" >"$tmp/nopol.conf"
start_momd -c "$tmp/nopol.conf"
nopol="Cannot read the policy directory $tmp/no-such-dir: "
check "a missing policy-dir: momd keeps running" wait_for "$tmp/nopol.log" "Policy cycle 1 succeeded" 20
check "a missing policy-dir is a warning naming it" grep -qF "WARNING - $nopol" "$tmp/nopol.log"
check "... which says that momd changes nothing" \
    grep -qF "momd evaluates no policy and changes nothing until the directory can be read" "$tmp/nopol.log"
"$MOMCTL" --socket "$tmp/nopol.sock" status >"$tmp/out" 2>"$tmp/err"
rc=$?
check "momctl status exits 0 (exit $rc)" test "$rc" -eq 0
check "momctl status shows the missing policy directory" grep -qE "^ +Warning: $nopol" "$tmp/out"
"$MOMCTL" --socket "$tmp/nopol.sock" status --json >"$tmp/out" 2>"$tmp/err"
check "momctl status --json: policy_problems names it" python3 -c '
import json, sys
p = json.load(open(sys.argv[1])).get("policy_problems", [])
sys.exit(not (len(p) == 1 and p[0].startswith(sys.argv[2])))' "$tmp/out" "$nopol"
stop_momd

# --- a running daemon ---------------------------------------------------------

# sd_notify: a datagram socket standing in for systemd, one line per message.
python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as out:
    while True:
        out.write(s.recv(4096).decode(errors="replace").replace("\n", " | ") + "\n")
' "$tmp/notify.sock" "$tmp/notify.log" &
listener_pid=$!
for _ in $(seq 100); do [ -S "$tmp/notify.sock" ] && break; sleep 0.05; done
touch "$tmp/notify.log"

start=$SECONDS
NOTIFY_SOCKET=$tmp/notify.sock start_momd
if wait_for "$tmp/momd.log" "Policy cycle 1 succeeded" 20; then
    ok "first policy cycle within $((SECONDS - start)) s"
else
    not_ok "no policy cycle within 20 s"
fi
check "the start is logged in dry-run mode" grep -qF "in dry-run mode (nothing is changed)" "$tmp/momd.log"
check "the KSM controller is active in dry-run mode" \
    grep -qF "The KSM controller is active in dry-run mode" "$tmp/momd.log"
check "sd_notify READY=1" wait_for "$tmp/notify.log" "READY=1" 10
check "sd_notify STATUS= with the policy count" wait_for "$tmp/notify.log" "STATUS=5 policies, 1 controllers" 10

# Break 20-ksm: its last line gets a stray '=' at a known line and column.
ksm_policy=$tmp/policies/20-ksm.policy
printf '(defvar broken 1) = 2\n' >>"$ksm_policy"
bad_at="$ksm_policy:$(wc -l <"$ksm_policy"):19: error:"
log_lines=$(wc -l <"$tmp/momd.log")
kill -HUP "$momd_pid"
if wait_for "$tmp/momd.log" "keeps its previous version" 10; then
    ok "SIGHUP with a broken policy: 20-ksm keeps its previous version"
else
    not_ok "SIGHUP with a broken policy: no 'keeps its previous version'"
fi
# the reload's summary comes a moment after the rejection: wait for it
for _ in $(seq 50); do
    tail -n +"$((log_lines + 1))" "$tmp/momd.log" >"$tmp/reload.log"
    grep -qF "Loaded 5 policies" "$tmp/reload.log" && break
    sleep 0.1
done
check "the reload error has file:line:col ($bad_at)" grep -qF "$bad_at" "$tmp/reload.log"
check "the rejected file is named" grep -qF "The policy file $ksm_policy was rejected." "$tmp/reload.log"
check "all five policies stay loaded" \
    grep -qF "Loaded 5 policies: 00-defines, 10-balloon, 20-ksm, 30-cputune, 40-iotune." "$tmp/reload.log"
check "momd still runs after the bad reload" kill -0 "$momd_pid" 2>/dev/null
check "sd_notify RELOADING=1 on SIGHUP" wait_for "$tmp/notify.log" "RELOADING=1" 5

# Still cycling, with the old 20-ksm: the cycle count moves on and the
# policies evaluate without error (the broken text would not even parse).
before=$(last_cycle)
deadline=$((SECONDS + 10))
while [ "$(last_cycle)" -le "$before" ] && [ "$SECONDS" -le "$deadline" ]; do sleep 0.2; done
after=$(last_cycle)
check "policy cycles continue after the reload (cycle $before → $after)" test "$after" -gt "$before"
check "no policy cycle failed" sh -c "! grep -q 'Policy cycle [0-9]* failed' '$tmp/momd.log'"

stop_momd
rc=$?
check "SIGTERM: momd exits 0 (exit $rc)" test "$rc" -eq 0
check "\"momd stopped\" is logged" grep -qF "momd stopped after" "$tmp/momd.log"
check "sd_notify STOPPING=1 on SIGTERM" wait_for "$tmp/notify.log" "STOPPING=1" 5
check "nothing on stderr (everything went to the log file)" test ! -s "$tmp/momd.err"
grep -F "STATUS=" "$tmp/notify.log" | tail -n 1 | sed 's/^/# last status: /'

echo "1..$n"
[ "$failed" -eq 0 ]
