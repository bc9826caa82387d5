#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# momctl against a live momd: the real momd binary (dry run, 1 s intervals,
# libvirt's test driver with 3 running domains, Balloon and KSM
# controllers) and every momctl command that talks to it, in text and in
# --json (parsed with python3).  Then momctl top live in a tmux pane (keys,
# quitting, the terminal restored), and the control socket's permissions:
# the default 0600 socket refuses uid 65534, a socket with rpc-group
# nogroup lets it in, and momd's own peer check refuses a uid outside the
# group even when the socket's mode is loosened by hand.  TAP output.
set -u

: "${MOMD:?run through meson test}"
: "${MOMCTL:?run through meson test}"
: "${MOM_TOP_SRCDIR:?run through meson test}"
top=$MOM_TOP_SRCDIR
NGUESTS=3
unset MOMCTL_SOCKET

here=$(dirname "$(readlink -f "$0")")
# shellcheck source=../tap.sh
. "$here/../tap.sh"
tap_tmp momctl-live # $tmp; momd and the fake servers ($listener_pid) stopped at exit
tmux_sock=$tmp/tmux.sock
cleanup() {
    if [ -S "$tmux_sock" ]; then
        tmux -S "$tmux_sock" kill-server 2>/dev/null
    fi
    tap_cleanup
}
trap cleanup EXIT
TAP_LOG_LINES=10
# mc ARGS...: momctl on the test socket; stdout in $tmp/out, stderr in
# $tmp/err, the exit status in $rc.
rc=0
mc() {
    "$MOMCTL" --socket "$sock" "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
}
has_out() { grep -qF -- "$1" "$tmp/out"; }
has_err() { grep -qF -- "$1" "$tmp/err"; }
# pyjson 'EXPR': evaluates the Python EXPR with d = the JSON in $tmp/out;
# succeeds when it is true.  A failing EXPR prints its value.
pyjson() {
    python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
r = eval("(" + sys.argv[2] + "\n)")
if not r:
    print("#   false: %s" % sys.argv[2].replace("\n", "\n#   "))
sys.exit(0 if r else 1)
' "$tmp/out" "$1"
}
# write_config FILE [KEY=VALUE...]: momd on $sock, logging to $log, on the
# test driver's guests, 1 s cycles, dry run
write_config() {
    local file=$1
    shift
    write_momd_conf "$file" controllers='Balloon, KSM' libvirt-hypervisor-uri="test://$tmp/guests.xml" \
        guest-monitor-interval=1 guest-manager-interval=1 \
        '[logging]' verbosity=info \
        '[host]' collectors='HostMemory, HostKSM, HostCpu' \
        '[guest]' collectors='GuestMemory, GuestBalloon, GuestCpuTune, GuestIoTuneOptional' \
        '[main]' "$@"
}

cp "$top"/data/policies/*.policy "$tmp/policies/"
if ! python3 "$top/tests/libvirt/make-test-xml.py" "$NGUESTS" "$tmp/guests.xml" 2>"$tmp/err"; then
    not_ok "make-test-xml.py wrote $tmp/guests.xml"
    echo "1..$n"
    exit 1
fi

# --- the daemon ---------------------------------------------------------------------

write_config "$tmp/momd.conf"
check "momd listens on its socket" start_momd
# the first cycle that saw every guest: each has a dry-run balloon decision
deadline=$((SECONDS + 20))
while [ "$SECONDS" -le "$deadline" ]; do
    decided=$(grep -cE "guest vm000[1-3]: balloon .* would be set \(dry run\)" "$log" 2>/dev/null)
    [ "${decided:-0}" -ge "$NGUESTS" ] && break
    sleep 0.2
done
check "the first cycle with the $NGUESTS guests is logged" test "${decided:-0}" -ge "$NGUESTS"
check "the socket is a socket, mode 0600" test "$(stat -c %a "$sock" 2>/dev/null)" = 600

# --- ping ---------------------------------------------------------------------------

mc ping
check "ping: exit 0 ($rc)" test "$rc" -eq 0
check "ping: says momd answered on the socket" grep -qE "^momd answered on $sock in [0-9.]+ ms\.$" "$tmp/out"
mc ping --json
check "ping --json: exit 0 and true" pyjson 'd is True'

# --- status -------------------------------------------------------------------------

mc status
check "status: exit 0 ($rc)" test "$rc" -eq 0
check "status: running on the socket" has_out "momd 0.1.0 is running on $sock"
check "status: pid is momd's" grep -qE "^ +PID: $momd_pid$" "$tmp/out"
check "status: 5 policies" has_out "Policies: 5 loaded: 00-defines 10-balloon 20-ksm 30-cputune 40-iotune"
check "status: 3 guests, 3 ready" has_out "Guests: 3 (3 ready)"
check "status: libvirt connected" has_out "Libvirt: test://$tmp/guests.xml (connected)"
check "status: dry run yes" grep -qE "Dry run: yes" "$tmp/out"
check "status: intervals 1s" has_out "host-monitor 1s, guest-monitor 1s, guest-manager 1s, policy-engine 1s"
check "status: last cycle ok" grep -qE "Last cycle: #[0-9]+ at .*: ok, 0 errors" "$tmp/out"
check "status: KSM monitored" grep -qE "KSM: run [0-2] " "$tmp/out"
check "status: verbosity INFO" has_out "Verbosity: INFO"
mc status --json
check "status --json: exit 0 ($rc)" test "$rc" -eq 0
check "status --json: policies, guests, libvirt, dry_run, pid" pyjson "
d['policies'] == ['00-defines', '10-balloon', '20-ksm', '30-cputune', '40-iotune'] and d['guests'] == 3
and d['guests_ready'] == 3 and d['libvirt']['connected'] is True
and d['libvirt']['uri'] == 'test://$tmp/guests.xml' and d['dry_run'] is True
and d['pid'] == $momd_pid and d['version'] == '0.1.0' and d['verbosity'] == 'INFO'
and d['intervals'] == {'host-monitor': 1, 'guest-monitor': 1, 'guest-manager': 1, 'policy-engine': 1}
and d['last_cycle']['number'] >= 1 and d['last_cycle']['ok'] is True
and d['last_cycle']['errors'] == 0 and isinstance(d['last_cycle']['time'], str)
and set(d['ksm']) >= {'run', 'pages_sharing', 'pages_to_scan', 'sleep_millisecs'}"

# --- guests -------------------------------------------------------------------------

mc guests
check "guests: exit 0 ($rc)" test "$rc" -eq 0
check "guests: header" grep -qE "^NAME +CUR +MAX +MIN +USABLE +UNUSED +AGE +UNCOOP$" "$tmp/out"
check "guests: 3 rows" test "$(grep -cE '^vm000[1-3] ' "$tmp/out")" -eq 3
# make-test-xml.py: max 1024 MiB, cur 768 - i % 8 MiB
check "guests: vm0001 767 MiB of 1 GiB, cooperative" grep -qE "^vm0001 +767 MiB +1 GiB +[0-9.]+ [KMG]iB .* no$" "$tmp/out"
check "guests: the test driver's last_update of 0 is an unknown AGE" grep -qE "^vm0001 .* unknown +no$" "$tmp/out"
check "guests: sorted by name" test "$(grep -oE '^vm000[1-3]' "$tmp/out" | tr '\n' ' ')" = "vm0001 vm0002 vm0003 "
mc guests --json
check "guests --json: the 3 guests with statistics and properties" pyjson "
sorted(d) == ['vm0001', 'vm0002', 'vm0003']
and all(d[g]['statistics']['balloon_cur'] > 0 for g in d)
and d['vm0001']['statistics']['balloon_max'] == 1048576
and d['vm0001']['statistics']['balloon_cur'] == 785408
and all(d[g]['properties']['name'] == g for g in d)
and all(d[g]['properties']['balloon_uncooperative'] is False for g in d)"

# --- stats --------------------------------------------------------------------------

mc stats
check "stats: exit 0 ($rc)" test "$rc" -eq 0
for k in mem_available mem_free mem_unused swap_total; do
    check "stats: host has $k, a size" grep -qE "^$k +[0-9.]+ [KMGTP]iB$" "$tmp/out"
done
for k in ksm_run ksm_pages_sharing; do
    check "stats: host has $k, a count" grep -qE "^$k +-?[0-9]+$" "$tmp/out"
done
check "stats: no header line" sh -c "! grep -q STATISTIC '$tmp/out'"
mc stats --json
check "stats --json: host keys and 3 guests" pyjson "
set(d) == {'host', 'guests'} and sorted(d['guests']) == ['vm0001', 'vm0002', 'vm0003']
and all(isinstance(d['host'][k], int) for k in ('mem_available', 'mem_free', 'mem_unused', 'ksm_run'))
and d['guests']['vm0002']['balloon_cur'] == 784384"
mc stats vm0001
check "stats vm0001: exit 0 ($rc)" test "$rc" -eq 0
check "stats vm0001: title" grep -qx "Guest vm0001" "$tmp/out"
check "stats vm0001: properties with name and uuid, wrapped under the label" \
    sh -c "grep -qE '^ Properties: .*name=vm0001' '$tmp/out' && grep -qE '^ {12} .*uuid=6d6f6d64-0000-4000-8000-000000000001' '$tmp/out'"
check "stats vm0001: no monotonic sampled_at in the text" sh -c "! grep -q sampled_at '$tmp/out'"
check "stats vm0001: no line wider than 80" \
    python3 -c 'import sys; sys.exit(0 if all(len(l.rstrip("\n")) <= 80 for l in open(sys.argv[1])) else 1)' "$tmp/out"
check "stats vm0001: the statistics that do not fit are counted" \
    grep -qE "^[0-9]+ more statistics? not shown: choose with --fields, or widen the terminal\.$" "$tmp/out"
check "stats vm0001: variables line" grep -qE "^  Variables: " "$tmp/out"
check "stats vm0001: N samples, the oldest first" grep -qE "^[0-9]+ samples?, the oldest first:$" "$tmp/out"
nsamples=$(sed -n 's/^\([0-9]*\) samples\{0,1\}, the oldest first:$/\1/p' "$tmp/out")
rows=$(grep -cE '^ *[0-9]+ +[0-9.]+ ' "$tmp/out")
check "stats vm0001: one history row per sample ($rows of ${nsamples:-?})" test "$rows" -eq "${nsamples:--1}"
check "stats vm0001: balloon_cur column" grep -qE "^#.* balloon_cur .*" "$tmp/out"
mc stats vm0001 -f balloon_cur,mem_usable
check "stats vm0001 -f: exit 0 ($rc)" test "$rc" -eq 0
check "stats vm0001 -f: only the # and two columns" grep -qE "^# +balloon_cur +mem_usable$" "$tmp/out"
check "stats vm0001 -f: balloon_cur rows of 767 MiB (785408 KiB)" grep -qE "^ *1 +767 MiB +[0-9.]+ [KMG]iB$" "$tmp/out"
mc stats vm0001 -f nosuchfield
check "stats vm0001 -f nosuchfield: exit 2 ($rc)" test "$rc" -eq 2
check "stats vm0001 -f nosuchfield: names it" has_err "guest vm0001 has no statistic 'nosuchfield'."
mc stats vm0001 --json
check "stats vm0001 --json: properties, variables, samples" pyjson "
set(d) == {'properties', 'variables', 'samples'} and d['properties']['name'] == 'vm0001'
and d['properties']['uuid'] == '6d6f6d64-0000-4000-8000-000000000001'
and isinstance(d['variables'], dict) and len(d['samples']) >= 1
and all(s['balloon_cur'] == 785408 and s['balloon_max'] == 1048576 for s in d['samples'])
and len(d['samples']) >= ${nsamples:-1}"
mc stats vm9999
check "stats vm9999: exit 1 ($rc)" test "$rc" -eq 1
check "stats vm9999: the daemon's message" has_err "momctl: getGuestStatistics: momd manages no guest named 'vm9999'."

# --- controls -----------------------------------------------------------------------

COLUMNS=200 mc controls
check "controls: exit 0 ($rc)" test "$rc" -eq 0
check "controls: cycle line" grep -qE "^Cycle [0-9]+ at .*: ok$" "$tmp/out"
check "controls: header" grep -qE "^ENTITY +CONTROL +VALUE +POLICY +OUTCOME$" "$tmp/out"
for g in vm0001 vm0002 vm0003; do
    check "controls (200 columns): $g balloon_target a size, from 10-balloon:LINE, dry run" \
        grep -qE "^$g +balloon_target +[0-9.]+ [KMG]iB +10-balloon:[0-9]+ +dry run: would set [0-9]+ → [0-9]+ KiB$" "$tmp/out"
done
check "controls: host ksm_run from 20-ksm.policy" \
    grep -qE "^host +ksm_run +[0-9]+ +20-ksm:[0-9]+ +" "$tmp/out"
mc controls
check "controls (80 columns): no line wider than 80" \
    python3 -c 'import sys; sys.exit(0 if all(len(l.rstrip("\n")) <= 80 for l in open(sys.argv[1])) else 1)' "$tmp/out"
check "controls (80 columns): the outcome cut with an ellipsis" grep -qE "^vm0001 +balloon_target .*dry run: .*(…|~)$" "$tmp/out"
mc guests
check "guests (80 columns): no line wider than 80" \
    python3 -c 'import sys; sys.exit(0 if all(len(l.rstrip("\n")) <= 80 for l in open(sys.argv[1])) else 1)' "$tmp/out"

# --- history ------------------------------------------------------------------------

mc history
check "history: exit 0 ($rc)" test "$rc" -eq 0
check "history: header" grep -qE "^TIME +ENTITY +CONTROL +BEFORE +ASKED +OUTCOME$" "$tmp/out"
check "history: the guests' dry-run balloon decisions, sizes before and asked" \
    grep -qE "^[0-9:]{8} +vm0001 +balloon_target +767 MiB +[0-9.]+ [KMG]iB +dry run: " "$tmp/out"
check "history: no line wider than 80" \
    python3 -c 'import sys; sys.exit(0 if all(len(l.rstrip("\n")) <= 80 for l in open(sys.argv[1])) else 1)' "$tmp/out"
mc history vm0002 --json
check "history vm0002 --json: only vm0002's decisions, oldest first, with origin and exact values" pyjson "
len(d) >= 1 and all(x['entity'] == 'vm0002' and x['control'] == 'balloon_target' for x in d)
and all(x['origin'].startswith('$tmp/policies/10-balloon.policy:') for x in d)
and all(x['before'] == '784384' for x in d)
and [x['cycle'] for x in d] == sorted(x['cycle'] for x in d)
and all(set(x) == {'time', 'cycle', 'entity', 'control', 'before', 'requested', 'outcome', 'origin', 'debug'} for x in d)
and all(isinstance(x['debug'], list) and all(isinstance(l, str) for l in x['debug']) for x in d)"
# the cputune policy writes a debug line for each guest: the decisions carry it
check "history vm0002 --json: each decision has its cycle's debug lines for vm0002" pyjson "
all(any(l.startswith('$tmp/policies/30-cputune.policy:') and ': debug: ' in l and l.endswith('vm0002') for l in x['debug']) for x in d)
and not any('vm0001' in l for x in d for l in x['debug'])"
mc history host --json
check "history host --json: only the host, no 'noted' idle parameters" pyjson "
all(x['entity'] == 'host' for x in d) and not any(x['control'].startswith('ksm_idle') for x in d)"
mc history --since 1d --json
n_day=$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))))' "$tmp/out")
mc history --since 0 --json
n_now=$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))))' "$tmp/out")
check "history --since: 1d has decisions ($n_day), 0 s fewer ($n_now)" \
    sh -c "[ '$n_day' -gt 0 ] && [ '$n_now' -lt '$n_day' ]"
mc history --since 5x
check "history --since 5x: exit 2 ($rc)" test "$rc" -eq 2
check "history --since 5x: says what a duration is" has_err "--since '5x' is not a duration such as 90s, 15m, 2h or 1d."
mc history nosuchguest
check "history nosuchguest: exit 0, none" sh -c "[ $rc -eq 0 ] && grep -qx 'No decisions yet.' '$tmp/out'"
check "controls: no errors section" sh -c "! grep -q '^Errors:' '$tmp/out'"
mc controls --json
check "controls --json: cycle, ok, host, 3 guests with balloon_target" pyjson "
d['cycle'] >= 1 and d['ok'] is True and d['errors'] == [] and isinstance(d['time'], str)
and sorted(d['guests']) == ['vm0001', 'vm0002', 'vm0003']
and all(d['guests'][g]['error'] is None for g in d['guests'])
and all(d['guests'][g]['controls']['balloon_target']['origin'].startswith('$tmp/policies/10-balloon.policy:') for g in d['guests'])
and all(len(d['guests'][g]['controls']['balloon_target']['origin'].split(':')) == 3 for g in d['guests'])
and all(d['guests'][g]['controls']['balloon_target']['origin'].split(':')[1].isdigit() for g in d['guests'])
and all(d['guests'][g]['controls']['balloon_target']['origin'].split(':')[2].isdigit() for g in d['guests'])
and all(d['guests'][g]['controls']['balloon_target']['outcome'].startswith('dry run: would set ') for g in d['guests'])
and all(isinstance(d['guests'][g]['controls']['balloon_target']['value'], (int, float)) for g in d['guests'])
and 'ksm_run' in d['host'] and d['host']['ksm_run']['origin'].startswith('$tmp/policies/20-ksm.policy:')"

# --- top --once ---------------------------------------------------------------------

mc top --once
check "top --once: exit 0 ($rc)" test "$rc" -eq 0
check "top --once: header: DRY RUN first, then the daemon, the cycle, libvirt" \
    grep -qE "^DRY RUN - momd 0\.1\.0 - [0-9:]+ up .* - cycle [0-9]+ ok - every 1s - libvirt test:" "$tmp/out"
check "top --once: Mem line says total for MemTotal" grep -qE "^Mem: +total [0-9.]+ [KMGT]iB +free " "$tmp/out"
check "top --once: KSM line" grep -qE "^KSM: +run " "$tmp/out"
check "top --once: Guests line without key help" grep -qxE "Guests: 3 \(3 ready\) +sort: name, A to Z" "$tmp/out"
check "top --once: column header" grep -qE "^NAME +CUR +MAX +MIN +USABLE +TARGET +AGE +LAST ACTION$" "$tmp/out"
check "top --once: 3 guest rows with a dry-run action" \
    test "$(grep -cE '^vm000[1-3] +[0-9.]+ [KMG]iB +1 GiB .* dry run: ' "$tmp/out")" -eq 3
check "top --once: no escapes" sh -c "! grep -q \$'\\033' '$tmp/out'"
mc top
check "top without a terminal: exit 2 ($rc)" test "$rc" -eq 2
check "top without a terminal: says so" has_err "top needs a terminal"

# --- snapshot and policy test reproduce the daemon's decisions ------------------------

# The snapshot is taken between two policy cycles; if a host sample arrived
# in between, the replay sees a newer average, so try a few times.
same=no
for attempt in 1 2 3 4 5 6; do
    mc controls --json
    cp "$tmp/out" "$tmp/controls1.json"
    mc snapshot
    snap_rc=$rc
    cp "$tmp/out" "$tmp/state.json"
    mc controls --json
    cp "$tmp/out" "$tmp/controls2.json"
    "$MOMCTL" policy test "$tmp/policies" --state "$tmp/state.json" --json >"$tmp/test.json" 2>"$tmp/err"
    test_rc=$?
    if python3 - "$tmp/controls1.json" "$tmp/controls2.json" "$tmp/test.json" <<'EOF'; then
import json, sys
c1, c2, t = (json.load(open(p)) for p in sys.argv[1:])
want = {g: v["controls"]["balloon_target"] for g, v in t["guests"].items()}
for c in (c1, c2):
    have = {g: v["controls"]["balloon_target"]["value"] for g, v in c["guests"].items()}
    if have == want and len(want) == 3:
        sys.exit(0)
print("#   attempt: daemon %s / %s, policy test %s" % (
    {g: v["controls"]["balloon_target"]["value"] for g, v in c1["guests"].items()},
    {g: v["controls"]["balloon_target"]["value"] for g, v in c2["guests"].items()}, want))
sys.exit(1)
EOF
        same=yes
        break
    fi
    sleep 0.3
done
check "snapshot: exit 0 ($snap_rc)" test "$snap_rc" -eq 0
cp "$tmp/state.json" "$tmp/out"
check "snapshot: a state file with host and 3 guests" pyjson "
set(d) >= {'host', 'guests'} and len(d['guests']) == 3 and len(d['host']['samples']) >= 1
and sorted(g['properties']['name'] for g in d['guests']) == ['vm0001', 'vm0002', 'vm0003']"
check "policy test on the snapshot: exit 0 ($test_rc)" test "$test_rc" -eq 0
check "policy test --json on the snapshot reproduces the daemon's balloon_target values (attempt $attempt)" \
    test "$same" = yes
cp "$tmp/test.json" "$tmp/out"
check "policy test --json: ok, origins in the policy dir" pyjson "
d['ok'] is True and d['errors'] == []
and all(v['origins']['balloon_target'].startswith('$tmp/policies/10-balloon.policy:') for v in d['guests'].values())"

# --- policy list / get / set / delete / reset -----------------------------------------

mc policy list
check "policy list: exit 0, the 5 policies in order" \
    test "$rc" -eq 0 -a "$(tr '\n' ' ' <"$tmp/out")" = "00-defines 10-balloon 20-ksm 30-cputune 40-iotune "
mc policy list --json
check "policy list --json: an array" pyjson "d == ['00-defines', '10-balloon', '20-ksm', '30-cputune', '40-iotune']"
mc policy get 20-ksm
check "policy get 20-ksm: exit 0, the file's text" \
    sh -c "test $rc -eq 0 && cmp -s '$tmp/out' '$tmp/policies/20-ksm.policy'"
mc policy get 20-ksm --json
check "policy get --json: {name: text}" python3 -c "
import json, sys
d = json.load(open('$tmp/out'))
sys.exit(0 if d == {'20-ksm': open('$tmp/policies/20-ksm.policy').read()} else 1)"
mc policy get nope
check "policy get nope: exit 1 ($rc)" test "$rc" -eq 1
check "policy get nope: names it" has_err "momd has no policy named 'nope'"

printf '# a test policy\n(defvar live_test_marker 42)\n' >"$tmp/30-live.policy"
mc policy set "$tmp/30-live.policy"
check "policy set good: exit 0 ($rc)" test "$rc" -eq 0
check "policy set good: installed" has_out "Policy '30-live' installed from $tmp/30-live.policy."
mc policy list
check "policy set good: listed" grep -qx "30-live" "$tmp/out"
mc policy get 30-live
check "policy set good: get gives the text back" cmp -s "$tmp/out" "$tmp/30-live.policy"
check "policy set good: logged" wait_for "$log" "30-live" 5

printf '(defvar x 1)\n(if (< x 2) = 3)\n' >"$tmp/31-bad.policy"
mc policy set "$tmp/31-bad.policy"
check "policy set bad: exit 1 ($rc)" test "$rc" -eq 1
check "policy set bad: FILE:LINE:COL names the file" has_err "$tmp/31-bad.policy:2:13: error: unexpected character '='"
check "policy set bad: the source line" grep -qxF "  (if (< x 2) = 3)" "$tmp/err"
check "policy set bad: a caret under the column" grep -qxE " {14}\^" "$tmp/err"
check "policy set bad: nothing installed (message)" has_err "$tmp/31-bad.policy has errors; momd keeps its policies unchanged."
check "policy set bad: nothing on stdout" test ! -s "$tmp/out"
mc policy list
check "policy set bad: not listed" sh -c "! grep -qx 31-bad '$tmp/out'"

printf '# parses, fails at run time\n(undefined_function)\n' >"$tmp/32-runtime.policy"
mc policy set "$tmp/32-runtime.policy"
check "policy set run-time error: exit 1 ($rc)" test "$rc" -eq 1
check "policy set run-time error: the error at its FILE:LINE:COL" \
    has_err "$tmp/32-runtime.policy:2:2: error: undefined function undefined_function"
check "policy set run-time error: nothing installed (message)" \
    has_err "$tmp/32-runtime.policy has errors; momd keeps its policies unchanged."
mc policy list
check "policy set run-time error: not listed" sh -c "! grep -qx 32-runtime '$tmp/out'"
mc controls --json
check "policy set run-time error: the daemon's cycles stay ok" pyjson "d['ok'] is True and d['errors'] == []"

mc policy set "$tmp/30-live.policy" --name 35-renamed
check "policy set --name: exit 0 and installed under the name" \
    sh -c "test $rc -eq 0 && grep -qF \"Policy '35-renamed' installed\" '$tmp/out'"
mc policy set "$tmp/nonexistent.policy"
check "policy set unreadable file: exit 2 ($rc)" test "$rc" -eq 2

mc policy delete 30-live
check "policy delete existing: exit 0 ($rc)" test "$rc" -eq 0
check "policy delete existing: says so" has_out "Policy '30-live' deleted."
mc policy list
check "policy delete existing: no longer listed" sh -c "! grep -qx 30-live '$tmp/out'"
mc policy delete nope
check "policy delete unknown: exit 1 ($rc)" test "$rc" -eq 1
check "policy delete unknown: names it" has_err "momd has no policy named 'nope'"
mc policy delete 10-balloon
check "policy delete a file's policy: exit 0 ($rc)" test "$rc" -eq 0
mc policy reset
check "policy reset: exit 0 ($rc)" test "$rc" -eq 0
check "policy reset: says so" has_out "Policies reloaded from the policy files."
mc policy list
check "policy reset: back to the 3 files (35-renamed forgotten, 10-balloon back)" \
    test "$(tr '\n' ' ' <"$tmp/out")" = "00-defines 10-balloon 20-ksm 30-cputune 40-iotune "

# --- explain --------------------------------------------------------------------------

# no_wider FILE N: no line of FILE takes more than N columns
no_wider() {
    python3 -c 'import sys; sys.exit(0 if all(len(l.rstrip("\n")) <= int(sys.argv[2]) for l in open(sys.argv[1])) else 1)' "$1" "$2"
}
mc explain vm0001
check "explain vm0001: exit 0 ($rc)" test "$rc" -eq 0
check "explain vm0001: the last decision, its cycle and time" \
    grep -qE "^Guest vm0001: last decision in cycle [0-9]+ at [0-9-]{10} [0-9:]{8} \([0-9]+s ago\)$" "$tmp/out"
check "explain vm0001: the control, before → asked, the policy line" \
    grep -qE "^  balloon_target: 767 MiB → [0-9.]+ [KMG]iB, asked by 10-balloon:[0-9]+$" "$tmp/out"
check "explain vm0001: what the controller did" grep -qE "^    dry run: would set 785408 → [0-9]+ KiB\.$" "$tmp/out"
check "explain vm0001: the inputs, grouped" sh -c "grep -qx 'What the policies read for vm0001 in that cycle:' '$tmp/out' &&
    grep -qx '  Guest vm0001' '$tmp/out' && grep -qx '  Host' '$tmp/out' && grep -qx '  Policy variables' '$tmp/out'"
check "explain vm0001: the guest's balloon in KiB as a size" grep -qE "^    balloon_cur +767 MiB$" "$tmp/out"
check "explain vm0001: the host's averaged free memory behind host_free_ratio" \
    grep -qE "^    mem_free \(average\) +[0-9.]+ [KMG]iB$" "$tmp/out"
check "explain vm0001: the threshold and the free ratio" \
    sh -c "grep -qE '^    pressure_free_ratio +0.2$' '$tmp/out' && grep -qE '^    host_free_ratio +[0-9.e-]+$' '$tmp/out'"
check "explain vm0001: the cputune debug line for vm0001" \
    grep -qxF "  30-cputune:79: cputune: no vCPU bandwidth control for vm0001" "$tmp/out"
check "explain vm0001: no line wider than 80" no_wider "$tmp/out" 80
COLUMNS=40 "$MOMCTL" --socket "$sock" explain vm0001 >"$tmp/out" 2>"$tmp/err"
rc=$?
check "explain vm0001 at COLUMNS=40: exit 0 ($rc)" test "$rc" -eq 0
check "explain vm0001 at COLUMNS=40: no line wider than 40" no_wider "$tmp/out" 40
mc explain vm0001 --json
check "explain vm0001 --json: the decided cycle with its decisions and inputs, exact" pyjson "
d['entity'] == 'vm0001'
and (d['latest'] is None or (d['latest']['cycle'] > d['decided']['cycle'] and d['latest']['decisions'] == []))
and d['decided']['decisions'][0]['control'] == 'balloon_target'
and d['decided']['decisions'][0]['before'] == '785408'
and all(x['cycle'] == d['decided']['cycle'] for x in d['decided']['decisions'])
and {'kind': 'field', 'entity': 'vm0001', 'name': 'balloon_cur', 'value': 785408} in d['decided']['inputs']
and {'kind': 'variable', 'entity': None, 'name': 'pressure_free_ratio', 'value': 0.2} in d['decided']['inputs']
and any(i['kind'] == 'average' and i['entity'] == 'Host' and i['name'] == 'mem_free' for i in d['decided']['inputs'])
and d['decided']['inputs_left_out'] == 0 and isinstance(d['decided']['debug'], list)"
mc explain host
# whether the host got a KSM decision depends on this machine's memory
check "explain host: exit 0 ($rc), the host's inputs" \
    sh -c "[ $rc -eq 0 ] && grep -qE '^Host: (last decision in cycle|no decision is kept)' '$tmp/out' &&
        grep -qE '^What the policies read for the host in (that|the newest) cycle:$' '$tmp/out' &&
        grep -qE '^    mem_available +[0-9.]+ [KMG]iB$' '$tmp/out'"
check "explain host: no line wider than 80" no_wider "$tmp/out" 80
mc explain host --json
check "explain host --json: KSM decisions if any, the host's own fields" pyjson "
d['entity'] == 'host' and (d['decided'] or d['latest'])
and all(x['entity'] == 'host' and x['control'].startswith('ksm_') for c in (d['decided'], d['latest']) if c for x in c['decisions'])
and all(i['entity'] in ('Host', None) for c in (d['decided'], d['latest']) if c for i in c['inputs'])
and any(i['name'] == 'mem_available' and i['entity'] == 'Host' for c in (d['decided'], d['latest']) if c for i in c['inputs'])"
mc explain nosuchguest
check "explain nosuchguest: exit 1 ($rc)" test "$rc" -eq 1
check "explain nosuchguest: says momd knows no such guest" \
    has_err "momctl: getExplanation: momd knows no guest named 'nosuchguest': no policy cycle saw it lately and no decision about it is kept."
check "explain nosuchguest: nothing on stdout" test ! -s "$tmp/out"
mc explain nosuchguest --json
check "explain nosuchguest --json: exit 1 ($rc), the same message" \
    sh -c "[ $rc -eq 1 ] && grep -qF \"no guest named 'nosuchguest'\" '$tmp/err'"
mc explain
check "explain without GUEST: exit 2 ($rc), says what it needs" \
    sh -c "[ $rc -eq 2 ] && grep -qF 'momctl: explain needs a GUEST name, or host.' '$tmp/err'"
mc explain vm0001 vm0002
check "explain with two guests: exit 2 ($rc)" sh -c "[ $rc -eq 2 ] && grep -qF \"unexpected argument 'vm0002'\" '$tmp/err'"
mc explain vm0001 --frob
check "explain --frob: exit 2 ($rc)" test "$rc" -eq 2
"$MOMCTL" --socket "$tmp/nonexistent.sock" explain vm0001 >"$tmp/out" 2>"$tmp/err"
rc=$?
check "explain, no momd: exit 3 ($rc)" sh -c "[ $rc -eq 3 ] && grep -qF 'nothing listens on $tmp/nonexistent.sock' '$tmp/err'"

# A 10-balloon that leaves vm0002 alone: its last decision stays, and the
# newest cycles say why there is none since.  For vm0002 it reads 60
# variables, more than an explanation keeps.
cat >"$tmp/10-quiet.policy" <<'EOF'
(with Guests g
    (if (== (g.Prop "name") "vm0002")
        (debug "quiet: no balloon decision for" (g.Prop "name"))
        (g.Control "balloon_target" (- g.balloon_cur 65536))))
EOF
for i in $(seq 0 59); do echo "(defvar many$i $i)"; done >>"$tmp/10-quiet.policy"
{
    printf '(with Guests g (if (== (g.Prop "name") "vm0002") {'
    for i in $(seq 0 59); do printf ' many%s' "$i"; done
    printf ' } 0))\n'
} >>"$tmp/10-quiet.policy"
mc policy set "$tmp/10-quiet.policy" --name 10-balloon
check "explain: a quiet 10-balloon installed ($rc)" test "$rc" -eq 0
deadline=$((SECONDS + 15))
while [ "$SECONDS" -le "$deadline" ]; do
    mc explain vm0002 --json
    pyjson "d['latest'] is not None and any('quiet: no balloon' in l for l in d['latest']['debug'])" >/dev/null && break
    sleep 0.3
done
check "explain vm0002 --json: the old decision, and a newer cycle without one" pyjson "
d['decided']['decisions'][0]['control'] == 'balloon_target'
and d['latest']['cycle'] > d['decided']['cycle'] and d['latest']['decisions'] == []
and any(l.endswith('10-quiet.policy:3:9: debug: quiet: no balloon decision for vm0002') or
        l.endswith(':3:9: debug: quiet: no balloon decision for vm0002') for l in d['latest']['debug'])
and not any(i['name'] == 'balloon_cur' for i in d['latest']['inputs'])
and len(d['latest']['inputs']) == 48 and d['latest']['inputs_left_out'] >= 12
and [i['name'] for i in d['latest']['inputs']] == ['many%d' % k for k in range(48)]"
mc explain vm0002
check "explain vm0002: says the newest cycle decided nothing, and why" sh -c "
grep -qE '^Cycle [0-9]+, the newest \([0-9]+s ago\), decided nothing for vm0002\.$' '$tmp/out' &&
grep -qxF '  10-balloon:3: quiet: no balloon decision for vm0002' '$tmp/out' &&
grep -qxF 'Its inputs: momctl explain vm0002 --latest.' '$tmp/out'"
check "explain vm0002: no line wider than 80" no_wider "$tmp/out" 80
mc explain vm0002 --latest
check "explain vm0002 --latest: the newest cycle's inputs and debug lines" sh -c "[ $rc -eq 0 ] &&
grep -qx 'What the policies read for vm0002 in the newest cycle:' '$tmp/out' &&
grep -qxF '  10-balloon:3: quiet: no balloon decision for vm0002' '$tmp/out'"
check "explain vm0002 --latest: says that inputs were left out" \
    grep -qxE "  More inputs were read \([0-9]+ reads\) and left out: only the first 48 are kept\." "$tmp/out"
check "explain vm0002 --latest: no line wider than 80" no_wider "$tmp/out" 80
mc policy reset
check "explain: policies reset ($rc)" test "$rc" -eq 0

# --- verbosity ------------------------------------------------------------------------

mc verbosity
check "verbosity: INFO" sh -c "test $rc -eq 0 && grep -qx INFO '$tmp/out'"
check "no DEBUG line in the log yet" sh -c "! grep -q ' - DEBUG - ' '$log'"
mc verbosity debug
check "verbosity debug: exit 0 ($rc)" test "$rc" -eq 0
check "verbosity debug: says so" has_out "Verbosity set to DEBUG."
mc verbosity
check "verbosity: now DEBUG" grep -qx DEBUG "$tmp/out"
check "the daemon logs DEBUG lines" wait_for "$log" " - DEBUG - " 5
mc verbosity loud
check "verbosity loud: exit 2 ($rc)" test "$rc" -eq 2
mc verbosity 3
check "verbosity 3: exit 0, WARNING" sh -c "test $rc -eq 0 && grep -qi 'Verbosity set to WARN' '$tmp/out'"
mc status --json
check "status --json: verbosity follows" pyjson "d['verbosity'].startswith('WARN')"
mc verbosity info

# --- exit codes -----------------------------------------------------------------------

"$MOMCTL" --socket "$tmp/nonexistent.sock" ping >"$tmp/out" 2>"$tmp/err"
rc=$?
check "missing socket: exit 3 ($rc)" test "$rc" -eq 3
check "missing socket: names the socket" has_err "momd is not running: nothing listens on $tmp/nonexistent.sock."
MOMCTL_SOCKET=$tmp/nonexistent.sock "$MOMCTL" status >"$tmp/out" 2>"$tmp/err"
rc=$?
check "MOMCTL_SOCKET missing: exit 3 ($rc), named" sh -c "test $rc -eq 3 && grep -qF '$tmp/nonexistent.sock' '$tmp/err'"
MOMCTL_SOCKET=$sock "$MOMCTL" ping >"$tmp/out" 2>"$tmp/err"
rc=$?
check "MOMCTL_SOCKET: reaches momd ($rc)" test "$rc" -eq 0
"$MOMCTL" status --socket "$sock" >"$tmp/out" 2>"$tmp/err"
rc=$?
check "--socket after the command: exit 0 ($rc)" test "$rc" -eq 0
mc frobnicate
check "unknown command: exit 2 ($rc)" test "$rc" -eq 2
mc status extra
check "extra argument: exit 2 ($rc)" test "$rc" -eq 2
# a server that is not momd: answers HTTP with something that is no methodResponse
python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
s.listen(8)
while True:
    c, _ = s.accept()
    c.recv(65536)
    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n\r\nhello\n")
    c.close()
' "$tmp/fake.sock" &
listener_pid=$!
for _ in $(seq 100); do [ -S "$tmp/fake.sock" ] && break; sleep 0.05; done
"$MOMCTL" --socket "$tmp/fake.sock" ping >"$tmp/out" 2>"$tmp/err"
rc=$?
check "not momd on the socket: exit 3 ($rc)" test "$rc" -eq 3
check "not momd on the socket: one line on stderr" test "$(wc -l <"$tmp/err")" -eq 1
kill "$listener_pid" 2>/dev/null && wait "$listener_pid" 2>/dev/null
listener_pid=
# a server that answers every call with an XML-RPC fault: reported once, exit 1
python3 -c '
import socket, sys
body = (b"<?xml version=\"1.0\"?><methodResponse><fault><value><struct>"
        b"<member><name>faultCode</name><value><int>-32603</int></value></member>"
        b"<member><name>faultString</name><value><string>The frobnicator broke.</string>"
        b"</value></member></struct></value></fault></methodResponse>")
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
s.listen(8)
while True:
    c, _ = s.accept()
    data = b""
    while b"</methodCall>" not in data:
        chunk = c.recv(65536)
        if not chunk:
            break
        data += chunk
    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: %d\r\n"
              b"Connection: close\r\n\r\n" % len(body) + body)
    c.close()
' "$tmp/fault.sock" &
listener_pid=$!
for _ in $(seq 100); do [ -S "$tmp/fault.sock" ] && break; sleep 0.05; done
for cmd in "verbosity debug" "policy delete 10-x" "policy reset"; do
    # shellcheck disable=SC2086 # the command's words
    "$MOMCTL" --socket "$tmp/fault.sock" $cmd >"$tmp/out" 2>"$tmp/err"
    rc=$?
    check "a fault answering '$cmd': exit 1 ($rc)" test "$rc" -eq 1
    check "a fault answering '$cmd': one line on stderr, the fault's text" \
        test "$(wc -l <"$tmp/err")" -eq 1 -a "$(grep -c 'The frobnicator broke' "$tmp/err")" -eq 1
done
kill "$listener_pid" 2>/dev/null && wait "$listener_pid" 2>/dev/null
listener_pid=

# --- top, live in tmux -------------------------------------------------------------------

tmux_ok=yes
command -v tmux >/dev/null || tmux_ok=no
if [ "$tmux_ok" = yes ]; then
    # (the trap: Ctrl-C reaches this shell too, which must go on to stty)
    cat >"$tmp/top.sh" <<EOF
trap : INT
stty -a > $tmp/stty.before
sh -c 'echo \$\$ > $tmp/top.pid; exec "$MOMCTL" --socket "$sock" top'
echo \$? > $tmp/top.rc.tmp
stty -a > $tmp/stty.after
mv $tmp/top.rc.tmp $tmp/top.rc
EOF
    tmux -S "$tmux_sock" -f /dev/null new-session -d -s momtop -x 80 -y 24 "sh $tmp/top.sh" \; \
        set-option -t momtop remain-on-exit on 2>"$tmp/err"
    cap() { tmux -S "$tmux_sock" capture-pane -p -t momtop >"$tmp/pane" 2>/dev/null; }
    pane_wait() { # pane_wait REGEX SECONDS
        local deadline=$((SECONDS + $2))
        while [ "$SECONDS" -le "$deadline" ]; do
            cap
            grep -qE -- "$1" "$tmp/pane" && return 0
            sleep 0.1
        done
        return 1
    }
    check "top in tmux: a frame with the column header" pane_wait "^NAME +CUR .* LAST ACTION" 15
    check "top in tmux: 3 guest rows" pane_wait "^vm0003 " 5
    check "top in tmux: exactly 3 guest rows" test "$(grep -cE '^vm000[1-3] ' "$tmp/pane")" -eq 3
    check "top in tmux: key help" grep -qF "keys: n c u t sort, r reverse, q quit" "$tmp/pane"
    check "top in tmux 80x24: DRY RUN first in the header" grep -qE "^DRY RUN - momd 0\.1\.0 " "$tmp/pane"
    check "top in tmux 80x24: no line wider than 80" \
        python3 -c 'import sys; sys.exit(0 if all(len(l.rstrip("\n")) <= 80 for l in open(sys.argv[1])) else 1)' "$tmp/pane"
    # (a frame between a policy reload and the next cycle has no action yet)
    cut_action() {
        grep -qE 'TARGET +AGE +LAST ACTION' "$tmp/pane" && pane_wait '^vm0001 .*dry run: .*(…|~)$' 10
    }
    check "top in tmux 80x24: TARGET and LAST ACTION fit, the action cut with an ellipsis" cut_action
    tmux -S "$tmux_sock" resize-window -t momtop -x 200 -y 50 2>/dev/null
    check "top in tmux 200x50: the whole last action, in KiB as the controller wrote it" \
        pane_wait "^vm0001 .* dry run: would set [0-9]+ → [0-9]+ KiB" 5
    tmux -S "$tmux_sock" resize-window -t momtop -x 80 -y 24 2>/dev/null
    pane_wait "^vm0001 .*(…|~)$" 5
    tmux -S "$tmux_sock" send-keys -t momtop c
    check "top in tmux: c sorts by current balloon" pane_wait "sort: cur, largest first" 5
    check "top in tmux: c: vm0001 (767 MiB) first" \
        test "$(grep -oE '^vm000[1-3]' "$tmp/pane" | tr '\n' ' ')" = "vm0001 vm0002 vm0003 "
    tmux -S "$tmux_sock" send-keys -t momtop r
    check "top in tmux: r reverses" pane_wait "sort: cur, smallest first" 5
    check "top in tmux: r: vm0003 (765 MiB) first" \
        test "$(grep -oE '^vm000[1-3]' "$tmp/pane" | tr '\n' ' ')" = "vm0003 vm0002 vm0001 "
    tmux -S "$tmux_sock" send-keys -t momtop q
    check "top in tmux: q quits (the pane's script finished)" wait_for "$tmp/top.rc" "" 10
    check "top in tmux: exit 0 ($(cat "$tmp/top.rc" 2>/dev/null))" grep -qx 0 "$tmp/top.rc"
    dead=$(tmux -S "$tmux_sock" list-panes -t momtop -F '#{pane_dead}' 2>/dev/null)
    for _ in $(seq 50); do
        [ "$dead" = 1 ] && break
        sleep 0.1
        dead=$(tmux -S "$tmux_sock" list-panes -t momtop -F '#{pane_dead}' 2>/dev/null)
    done
    check "top in tmux: the pane's process exited (pane_dead=$dead)" test "$dead" = 1
    check "top in tmux: stty -a after equals before" cmp -s "$tmp/stty.before" "$tmp/stty.after"
    if ! cmp -s "$tmp/stty.before" "$tmp/stty.after"; then
        diff "$tmp/stty.before" "$tmp/stty.after" | sed 's/^/#   /'
    fi
    check "top in tmux: icanon on after" grep -qE "(^| )icanon( |$)" "$tmp/stty.after"
    check "top in tmux: echo on after" grep -qE "(^| )echo( |$)" "$tmp/stty.after"
    cap
    check "top in tmux: the alternate screen is left (no frame on the pane)" \
        sh -c "! grep -qE '^NAME +CUR +MAX' '$tmp/pane'"

    # SIGTERM to momctl top also restores the terminal
    rm -f "$tmp/top.rc" "$tmp/top.pid" "$tmp/stty.before" "$tmp/stty.after"
    tmux -S "$tmux_sock" respawn-pane -k -t momtop "sh $tmp/top.sh" 2>/dev/null
    if pane_wait "^vm0003 " 15; then
        top_pid=$(cat "$tmp/top.pid" 2>/dev/null)
        [ -n "$top_pid" ] && kill -TERM "$top_pid"
        wait_for "$tmp/top.rc" "" 10
        check "top in tmux: SIGTERM: exit 0 ($(cat "$tmp/top.rc" 2>/dev/null))" grep -qx 0 "$tmp/top.rc"
        check "top in tmux: SIGTERM: stty -a after equals before" cmp -s "$tmp/stty.before" "$tmp/stty.after"
    else
        not_ok "top in tmux: respawned top draws a frame"
    fi
    # Ctrl-Z is disabled while top runs (a stopped top would leave the
    # terminal raw); Ctrl-C quits and restores the terminal
    rm -f "$tmp/top.rc" "$tmp/top.pid" "$tmp/stty.before" "$tmp/stty.after"
    tmux -S "$tmux_sock" respawn-pane -k -t momtop "sh $tmp/top.sh" 2>/dev/null
    if pane_wait "^vm0003 " 15; then
        tmux -S "$tmux_sock" send-keys -t momtop C-z
        sleep 0.3
        tmux -S "$tmux_sock" send-keys -t momtop u
        check "top in tmux: after Ctrl-Z, top still answers keys" pane_wait "sort: usable, largest first" 5
        tmux -S "$tmux_sock" send-keys -t momtop C-c
        wait_for "$tmp/top.rc" "" 10
        check "top in tmux: Ctrl-C: exit 0 ($(cat "$tmp/top.rc" 2>/dev/null))" grep -qx 0 "$tmp/top.rc"
        check "top in tmux: Ctrl-C: stty -a after equals before" cmp -s "$tmp/stty.before" "$tmp/stty.after"
    else
        not_ok "top in tmux: respawned top draws a frame"
    fi
    tmux -S "$tmux_sock" kill-server 2>/dev/null
else
    skip "top in tmux" "tmux is not installed"
fi

# --- the control socket's permissions ------------------------------------------------------

if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null || ! getent group nogroup >/dev/null; then
    skip "socket permissions" "needs root, setpriv and a nogroup group"
else
    # uid 65534 must reach the socket's directory: the kernel then checks
    # the socket's own mode.
    chmod 0755 "$tmp"
    as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
    as_nobody "$MOMCTL" --socket "$sock" ping >"$tmp/out" 2>"$tmp/err"
    rc=$?
    check "0600 socket: uid 65534 gets exit 3 ($rc)" test "$rc" -eq 3
    check "0600 socket: Permission denied, only root may connect" \
        has_err "momctl: Permission denied on $sock: only root may connect (momd's rpc-group is not set)."
    "$MOMCTL" --socket "$sock" ping >"$tmp/out" 2>"$tmp/err"
    rc=$?
    check "0600 socket: root still gets in ($rc)" test "$rc" -eq 0
    stop_momd
    rc=$?
    check "momd stops on SIGTERM with exit 0 ($rc)" test "$rc" -eq 0
    check "momd removed its socket" test ! -e "$sock"

    # a second momd with rpc-group: nogroup
    sock=$tmp/group.sock
    log=$tmp/group.log
    write_config "$tmp/group.conf" rpc-group=nogroup
    check "rpc-group nogroup: momd listens" start_momd -c "$tmp/group.conf"
    check "rpc-group nogroup: socket mode 0660 (got $(stat -c %a "$sock" 2>/dev/null))" \
        test "$(stat -c %a "$sock" 2>/dev/null)" = 660
    check "rpc-group nogroup: socket group nogroup (got $(stat -c %G "$sock" 2>/dev/null))" \
        test "$(stat -c %G "$sock" 2>/dev/null)" = nogroup
    as_nobody "$MOMCTL" --socket "$sock" ping >"$tmp/out" 2>"$tmp/err"
    rc=$?
    check "rpc-group nogroup: uid 65534 gid 65534 pings ($rc)" test "$rc" -eq 0
    as_nobody "$MOMCTL" --socket "$sock" status --json >"$tmp/out" 2>"$tmp/err"
    rc=$?
    check "rpc-group nogroup: uid 65534 reads status ($rc)" pyjson "d['pid'] == $momd_pid"
    # a uid outside the group is refused by the kernel (0660)...
    setpriv --reuid=65534 --regid=65533 --clear-groups "$MOMCTL" --socket "$sock" ping \
        >"$tmp/out" 2>"$tmp/err"
    rc=$?
    check "rpc-group nogroup: gid 65533 gets exit 3 ($rc)" test "$rc" -eq 3
    check "rpc-group nogroup: gid 65533 told the group" \
        has_err "Permission denied on $sock: only root and the members of group nogroup may connect."
    # ...and by momd itself when the socket's mode is loosened by hand
    chmod 0666 "$sock"
    setpriv --reuid=65534 --regid=65533 --clear-groups "$MOMCTL" --socket "$sock" ping \
        >"$tmp/out" 2>"$tmp/err"
    rc=$?
    check "0666 by hand: momd's peer check refuses gid 65533 with exit 1 ($rc)" test "$rc" -eq 1
    check "0666 by hand: the PERMISSION fault names the uid and group" \
        grep -qE "Permission denied: uid 65534 is neither root nor a member of group nogroup" "$tmp/err"
    setpriv --reuid=65534 --regid=65533 --clear-groups "$MOMCTL" --socket "$sock" ping \
        >"$tmp/out" 2>"$tmp/err"
    refused=$(grep -c "65534" "$log")
    check "0666 by hand: momd logs one line for the refused uid ($refused)" test "$refused" -eq 1
    # supplementary group membership is enough
    setpriv --reuid=65534 --regid=65533 --groups=65534 "$MOMCTL" --socket "$sock" ping \
        >"$tmp/out" 2>"$tmp/err"
    rc=$?
    check "0666 by hand: uid 65534 with supplementary nogroup pings ($rc)" test "$rc" -eq 0
    stop_momd
    rc=$?
    check "rpc-group momd: exit 0 on SIGTERM ($rc)" test "$rc" -eq 0
fi

# --- a momd before its first cycle ---------------------------------------------------------

# An empty proc-root: no host sample, so no policy cycle and nothing to explain.
sock=$tmp/early.sock
log=$tmp/early.log
mkdir -p "$tmp/noproc"
write_config "$tmp/early.conf" proc-root="$tmp/noproc"
if start_momd -c "$tmp/early.conf"; then
    mc explain host
    check "explain host before the first cycle: exit 1 ($rc)" test "$rc" -eq 1
    check "explain host before the first cycle: says there is nothing to explain yet" \
        has_err "momctl: getExplanation: no policy cycle has run yet, so there is nothing to explain about the host."
    mc explain vm0001
    check "explain vm0001 before the first cycle: exit 1 ($rc), momd knows no such guest yet" \
        sh -c "[ $rc -eq 1 ] && grep -qF \"no guest named 'vm0001'\" '$tmp/err'"
    stop_momd
else
    not_ok "a momd without host samples listens"
    stop_momd
fi

# --- a dead momd's socket ---------------------------------------------------------------

sock=$tmp/dead.sock
log=$tmp/dead.log
write_config "$tmp/dead.conf"
if start_momd -c "$tmp/dead.conf"; then
    kill -KILL "$momd_pid"
    wait "$momd_pid" 2>/dev/null
    momd_pid=
    "$MOMCTL" --socket "$sock" ping >"$tmp/out" 2>"$tmp/err"
    rc=$?
    check "socket left by a killed momd: exit 3 ($rc)" test "$rc" -eq 3
    check "socket left by a killed momd: nothing listens" has_err "momd is not running: nothing listens on $sock."
else
    not_ok "a third momd listens"
fi

echo "1..$n"
[ "$failed" -eq 0 ]
