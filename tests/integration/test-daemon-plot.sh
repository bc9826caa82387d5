#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# [main] plot-dir on a live momd (dry run, 1 s intervals, libvirt's test
# driver with 3 domains, plot-max-bytes at its least, 4096): MOM's sample
# files keep MOM's format, decisions.tsv gets the cycles' decisions, every
# file rotates to FILE.1 at the limit with its header again, and momctl
# plot --dir (and over the control API) draws a chart that parses as XML
# with one polyline per series.  Then the error paths: the run directory
# removed under momd is logged once per file, not every cycle, and momd
# keeps running; a bad plot-max-bytes stops momd at start, and is refused
# by a reload, with a sentence naming the key.  TAP output.
set -u

: "${MOMD:?run through meson test}"
: "${MOMCTL:?run through meson test}"
: "${MOM_TOP_SRCDIR:?run through meson test}"
top=$MOM_TOP_SRCDIR
unset MOMCTL_SOCKET

here=$(dirname "$(readlink -f "$0")")
# shellcheck source=../tap.sh
. "$here/../tap.sh"
tap_tmp momd-plot # $tmp; momd stopped at exit
plot=$tmp/plots
run=$plot/momplot-000

write_config() { # write_config FILE PLOT-MAX-BYTES: 1 s cycles, dry run, test driver
    write_momd_conf "$1" plot-dir="$plot" plot-max-bytes="$2" \
        controllers='Balloon, KSM' policy-dir="$top/data/policies" \
        libvirt-hypervisor-uri="test://$tmp/guests.xml" guest-monitor-interval=1 guest-manager-interval=1 \
        '[logging]' verbosity=info \
        '[host]' collectors='HostMemory, HostKSM, HostCpu' \
        '[guest]' collectors='GuestMemory, GuestBalloon'
}
# svg_check FILE EXPR: python3 with root = the parsed SVG, series =
# {data-series: number of points}, decisions = the decision markers.
svg_check() {
    python3 - "$1" "$2" <<'EOF'
import sys, xml.etree.ElementTree as ET
S = "{http://www.w3.org/2000/svg}"
root = ET.parse(sys.argv[1]).getroot()
series = {p.get("data-series"): len(p.get("points").split()) for p in root.iter(S + "polyline")}
decisions = [p for p in root.iter(S + "path") if p.get("class") == "decision"]
r = eval(sys.argv[2])
if not r:
    print("#   false: %s; series %s, %d decisions" % (sys.argv[2], series, len(decisions)))
sys.exit(0 if r else 1)
EOF
}

if ! python3 "$top/tests/libvirt/make-test-xml.py" 3 "$tmp/guests.xml" 2>"$tmp/err"; then
    bail "make-test-xml.py could not write $tmp/guests.xml"
fi

# --- a bad limit stops momd, naming the key ------------------------------------------
write_config "$tmp/bad.conf" 100
"$MOMD" -c "$tmp/bad.conf" >"$tmp/out" 2>"$tmp/err"
rc=$?
check "plot-max-bytes 100: momd exits with status 1 (got $rc)" [ "$rc" -eq 1 ]
check "... saying why, naming [main] plot-max-bytes" \
    grep -qF "[main] plot-max-bytes: 100 bytes would hold about one sample per plot file; write 0 for no rotation, or at least 4096." "$tmp/err"
write_config "$tmp/bad.conf" 8MiB
"$MOMD" -c "$tmp/bad.conf" >"$tmp/out" 2>"$tmp/err"
rc=$?
check "plot-max-bytes 8MiB: momd exits with status 1 (got $rc)" [ "$rc" -eq 1 ]
check "... saying what it expected" \
    grep -qF "[main] plot-max-bytes: expected an integer between 0 and 1099511627776, got '8MiB'." "$tmp/err"
rm -rf "$plot"

# --- the daemon ------------------------------------------------------------------------
write_config "$tmp/momd.conf" 4096
start_momd
check "momd plots into $run" wait_for "$log" "Plotting samples into $run." 15
# 4096 bytes hold about 30 host rows: wait for every file to have rotated once
for f in HostMonitor.dat GuestMonitor-vm0001.dat decisions.tsv; do
    deadline=$((SECONDS + 90))
    while [ "$SECONDS" -le "$deadline" ] && [ ! -s "$run/$f.1" ]; do sleep 0.5; done
    check "$f rotated to $f.1" [ -s "$run/$f.1" ]
done

check "HostMonitor.dat keeps MOM's header: '# time', then the fields by name" \
    grep -qxP '# time\t anon_pages\t .*\t mem_free\t .*' "$run/HostMonitor.dat"
check "... in the rotated file too" \
    grep -qxP '# time\t anon_pages\t .*\t mem_free\t .*' "$run/HostMonitor.dat.1"
check "... and rows of a time and as many values as the header has fields" \
    awk -F'\t' 'NR == 1 { n = NF; next } NF != n || $1 !~ /^[0-9]+\.[0-9]+$/ { exit 1 }' \
    "$run/HostMonitor.dat"
check "GuestMonitor-vm0001.dat has MOM's header with balloon_cur" \
    grep -qxP '# time\t balloon_cur\t .*' "$run/GuestMonitor-vm0001.dat"
check "decisions.tsv starts with its header, again after rotation" \
    sh -c "head -n 1 '$run/decisions.tsv' | grep -qxP '# time\tcycle\tentity\tcontrol\tbefore\trequested\toutcome\torigin' &&
           head -n 1 '$run/decisions.tsv.1' | grep -qxP '# time\tcycle\tentity\tcontrol\tbefore\trequested\toutcome\torigin'"
check "decisions.tsv has the guests' dry-run balloon decisions, with their policy line" \
    grep -qP '^\d+\.\d+\t\d+\tvm0001\tballoon_target\t\d+\t[\d.]+\tdry run: .*\t.*/10-balloon\.policy:\d+:\d+$' \
    "$run/decisions.tsv.1"
check "every row of decisions.tsv has 8 columns" \
    awk -F'\t' 'NF != 8 { exit 1 }' "$run/decisions.tsv" "$run/decisions.tsv.1"
big=$(find "$run" -type f -size +4096c | head -n 1)
check "no plot file is over 4096 bytes (${big:-none})" [ -z "$big" ]
check "the files are mode 0640" \
    sh -c "[ \"\$(stat -c %a '$run/HostMonitor.dat' '$run/decisions.tsv' '$run/HostMonitor.dat.1' | sort -u)\" = 640 ]"

# --- momctl plot ----------------------------------------------------------------------
"$MOMCTL" plot --dir "$plot" -o "$tmp/dir.svg" >"$tmp/out" 2>"$tmp/err"
rc=$?
check "momctl plot --dir on the plot-dir: exit 0 (got $rc)" [ "$rc" -eq 0 ]
check "... an SVG with the host's and the three guests' polylines" \
    svg_check "$tmp/dir.svg" 'sorted(series) == ["host", "vm0001", "vm0002", "vm0003"]'
rows=$(($(grep -cvP '^#|None' "$run/HostMonitor.dat.1") + $(grep -cvP '^#' "$run/HostMonitor.dat")))
check "... the host's points are at most the rows of both files ($rows), and many" \
    svg_check "$tmp/dir.svg" "20 <= series['host'] <= $rows"
check "... with decision markers" svg_check "$tmp/dir.svg" 'len(decisions) > 0'
"$MOMCTL" --socket "$sock" plot --since 1h >"$tmp/rpc.svg" 2>"$tmp/err"
rc=$?
check "momctl plot over the control API: exit 0 (got $rc)" [ "$rc" -eq 0 ]
check "... an SVG with the host and the three guests, and decisions" \
    svg_check "$tmp/rpc.svg" 'sorted(series) == ["host", "vm0001", "vm0002", "vm0003"] and len(decisions) > 0'

# --- the run directory removed under momd ----------------------------------------------
cycles_before=$(grep -c . "$log")
rm -rf "$plot"
sleep 4
# answers: momd answers ping; its output goes to the TAP comments only on failure
answers() {
    "$MOMCTL" --socket "$sock" ping >"$tmp/ping.out" 2>&1 || { sed 's/^/#   ping: /' "$tmp/ping.out"; return 1; }
}
check "momd still answers after its plot directory went" answers
n_host=$(grep -cF "Cannot open the plot file $run/HostMonitor.dat: No such file or directory." "$log")
n_dec=$(grep -cF "Cannot open the decisions file $run/decisions.tsv: No such file or directory." "$log")
check "the host's plot file is said once in 4 cycles (got $n_host)" [ "$n_host" -eq 1 ]
check "decisions.tsv is said once (got $n_dec)" [ "$n_dec" -eq 1 ]
check "... saying that momd goes on" grep -qF "momd goes on without it, and says so when it can write it again." "$log"
check "the log did not grow with a message per cycle" \
    [ $(($(grep -c . "$log") - cycles_before)) -lt 40 ]
mkdir -p "$run"
check "the directory back: the host's file is written again, and said" \
    wait_for "$log" "momd writes the plot file $run/HostMonitor.dat again." 10
check "... with its header first" grep -qxP '# time\t anon_pages\t .*' "$run/HostMonitor.dat"

# --- a reload with a bad limit keeps the running configuration -------------------------
write_config "$tmp/momd.conf" 10
kill -HUP "$momd_pid"
check "a reload with plot-max-bytes 10 is refused, naming the key" \
    wait_for "$log" "The configuration was not reloaded, the previous one stays active: [main] plot-max-bytes: 10 bytes" 10
check "momd still answers" answers
write_config "$tmp/momd.conf" 0
kill -HUP "$momd_pid"
reloaded() {
    [ "$(grep -c 'Reloading the configuration' "$log")" -eq 2 ] &&
        [ "$(grep -c 'Loaded 5 policies' "$log")" -ge 3 ]
}
deadline=$((SECONDS + 10))
until reloaded || [ "$SECONDS" -gt "$deadline" ]; do sleep 0.2; done
check "a reload with plot-max-bytes 0 is taken" reloaded
check "... with no complaint" [ "$(grep -c 'was not reloaded' "$log")" -eq 1 ]

stop_momd
echo "1..$n"
[ "$failed" -eq 0 ]
