#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# momd against real guests: the lab's private libvirtd (tests/e2e/lab.sh)
# with three 512 MiB TCG guests whose virtio balloons report statistics
# every 2 s, and the real momd (not a dry run) with the default policies
# plus a 01-parameters policy that sets pressure_free_ratio, as a site
# would.  The test checks, with bounded polling:
#   1. pressure on (0.999): every balloon shrinks, never below the floor,
#      and the guest with a 200 MiB hog keeps more than an idle one; each
#      change is logged once with the policy line that asked for it;
#   2. pressure off (0.0, SIGHUP): the balloons grow back to their maximum;
#   3. libvirtd killed for ~5 s and restarted: momd stays up, logs the loss
#      once and the reconnection, and controls the guests again;
#   4. KSM: without pressure KSM runs only while it saves memory; identical
#      128 MiB hogs in every guest, pressure on: momd runs KSM and ksmd
#      merges them (pages_sharing grows);
#   5. SIGTERM: momd exits 0 and puts the KSM tunables back.
# QEMU refuses <memtune><min_guarantee> ("not supported by QEMU"), both in
# the XML and with virsh memtune, so the floor that is checked is
# [balloon] min-floor-mib (200 MiB).  KSM is saved first and restored on
# any exit.  Needs root (SKIPs otherwise).  TAP output; the measured
# balloon sizes, page counts and timings are printed as comments.
set -u

: "${MOMD:?run through meson test}"
: "${MOM_TOP_SRCDIR:?run through meson test}"
top=$MOM_TOP_SRCDIR
here=$(dirname "$(readlink -f "$0")")
lab=$here/lab.sh
# shellcheck source=../tap.sh
. "$here/../tap.sh"
ksm=/sys/kernel/mm/ksm

if [ "$(id -u)" -ne 0 ]; then
    echo "1..0 # SKIP needs root for a private libvirtd and the host's KSM"
    exit 0
fi

# Sizes in KiB.  Every guest has 512 MiB; the floor is min-floor-mib.
mem_mib=512
max_kib=$((mem_mib * 1024))
# 200 MiB: below what the hog's guest needs (a 200 MiB hog plus the
# guest's own ~70 MiB), so the hog's guest must stay clearly above it
floor_mib=200
floor_kib=$((floor_mib * 1024))
hog_mib=200
ksm_hog_mib=128
# Three 128 MiB hogs are 98304 identical pages (9 distinct contents: the
# pattern is 36 bytes long); 20000 is a fifth of that, far above noise.
sharing_min=20000

now_ms() { date +%s%3N; }
secs_since() {
    local d=$(($(now_ms) - $1))
    printf '%d.%d' $((d / 1000)) $((d % 1000 / 100))
}

# KSM is one per machine: take turns with test-ksm-real.sh (and with
# another run of this test), which would otherwise save each other's
# changes as "the original".  fd 9 is closed for every long-lived child.
lock_dir=/run/lock
[ -d "$lock_dir" ] || lock_dir=/tmp
exec 9>"$lock_dir/momd-test-ksm-real.lock"
flock -w 240 9 || bail "$lock_dir/momd-test-ksm-real.lock held for 240 s"

mkdir -p "${MOMD_E2E_CACHE:-/tmp/momd-e2e}"
MOMD_E2E_DIR=$(mktemp -d "${MOMD_E2E_CACHE:-/tmp/momd-e2e}/guests.XXXXXX")
export MOMD_E2E_DIR
state=$MOMD_E2E_DIR/libvirt
tmp=$MOMD_E2E_DIR/momd
mkdir -p "$tmp"
log=$tmp/momd.log
sock=$tmp/momd.sock # write_momd_conf's rpc-port
samples=$tmp/samples
pdir=$tmp/policies
unset LIBVIRT_DEFAULT_URI
# Guest names are host-wide (cgroups): unique per run.
hog=e2e-hog-$$
idle=e2e-idle-$$
floorvm=e2e-floor-$$
guests="$hog $idle $floorvm"
momd_pid=
sampler_pid=

"$lab" ksm save "$tmp/ksm.saved" 9>&- || bail "lab.sh ksm save failed"

cleanup() {
    trap - EXIT
    [ -n "$sampler_pid" ] && kill "$sampler_pid" 2>/dev/null && wait "$sampler_pid" 2>/dev/null
    stop_momd
    if [ "$failed" -gt 0 ]; then
        # stop-libvirtd and the rm below delete the evidence: keep a copy
        local keep=${MOMD_E2E_CACHE:-/tmp/momd-e2e}/momd-guests.last-failure
        rm -rf "$keep" && mkdir -p "$keep" && cp -a "$tmp"/. "$keep"/ 2>/dev/null &&
            cp -a "$state/log" "$keep/libvirt-log" 2>/dev/null
        echo "# momd's log, the samples and libvirt's logs are kept in $keep"
        for g in $guests; do
            tail -n 5 "$state/log/$g-serial.log" 2>/dev/null | tr -d '\r' | sed "s/^/#   $g serial: /"
        done
        tail -n 10 "$state/log/libvirtd.log" 2>/dev/null | sed 's/^/#   libvirtd: /'
    fi
    # Through a file: if our stdout is gone, a pipe would kill the stop.
    "$lab" stop-libvirtd "$state" >"$MOMD_E2E_DIR/stop.out" 2>&1 9>&-
    sed 's/^/# /' "$MOMD_E2E_DIR/stop.out" 2>/dev/null
    "$lab" ksm restore "$tmp/ksm.saved" 9>&- || echo "# WARNING: KSM restore failed" >&2
    rm -rf "$MOMD_E2E_DIR"
}
# On a signal (meson's timeout: SIGTERM to the process group, SIGKILL
# 0.5 s later) the cleanup runs in a new session the SIGKILL cannot reach.
on_signal() {
    trap - EXIT INT TERM HUP
    [ -n "$sampler_pid" ] && kill "$sampler_pid" 2>/dev/null
    # shellcheck disable=SC2016 # the inner shell expands its own arguments
    setsid -f /bin/sh -c '
        if [ -n "$4" ]; then
            kill -TERM "$4" 2>/dev/null
            i=0; while kill -0 "$4" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
            kill -KILL "$4" 2>/dev/null
        fi
        "$0" stop-libvirtd "$1"; "$0" ksm restore "$3/ksm.saved"; rm -rf "$2"' \
        "$lab" "$state" "$MOMD_E2E_DIR" "$tmp" "$momd_pid" </dev/null >/dev/null 2>&1 9>&-
    exit 1
}
trap cleanup EXIT
trap on_signal INT TERM HUP

V() { timeout 30 virsh -q -c "$uri" "$@"; }
actual_of() { # actual_of GUEST: the balloon size in KiB, empty if unknown
    timeout 10 virsh -q -c "$uri" dommemstat "$1" 2>/dev/null | awk '$1 == "actual" { print $2 }'
}
actuals() { # "name=KiB ..." for the comments
    local g out=
    for g in $guests; do out="$out ${g%-"$$"}=$(actual_of "$g")"; done
    echo "${out# }"
}
min_seen() { # min_seen GUEST: the smallest actual the sampler saw
    awk -v g="$1" '$2 == g && (m == "" || $3 < m) { m = $3 } END { print m }' "$samples"
}
set_pressure() { # set_pressure RATIO: rewrite 01-parameters and SIGHUP momd
    cat >"$pdir/.01.new" <<EOF
# test-momd-guests: the site's pressure line (1.0 = always under pressure)
(set pressure_free_ratio $1)
EOF
    mv -f "$pdir/.01.new" "$pdir/01-parameters.policy"
    kill -HUP "$momd_pid"
}
cycles() { grep -c 'Policy cycle [0-9]* succeeded' "$log"; }
# wait_all SECONDS TEST: until TEST GUEST ACTUAL holds for every guest
wait_all() {
    local deadline=$((SECONDS + $1)) test=$2 g a all
    while [ "$SECONDS" -le "$deadline" ]; do
        all=1
        for g in $guests; do
            a=$(actual_of "$g")
            if [ -z "$a" ] || ! "$test" "$g" "$a"; then all=0 && break; fi
        done
        [ "$all" = 1 ] && return 0
        sleep 0.5
    done
    return 1
}

t_all=$(now_ms)

# --- the lab ------------------------------------------------------------------
t=$(now_ms)
uri=$("$lab" start-libvirtd "$state" 2>"$tmp/start.err" 9>&-) ||
    { sed 's/^/# /' "$tmp/start.err"; bail "start-libvirtd failed"; }
export LIBVIRT_DEFAULT_URI=$uri
ok "private libvirtd up ($(secs_since "$t") s): $uri"

# Boot in parallel: 2 vCPUs share three TCG guests.
t=$(now_ms)
for g in $guests; do
    "$lab" define-guest "$g" "$mem_mib" --period 2 --start --wait 120 \
        >"$tmp/define-$g.out" 2>&1 9>&- &
    pids="${pids:-} $!"
done
boot_failed=
for p in $pids; do wait "$p" || boot_failed=1; done
for g in $guests; do
    grep -a MOMLAB-READY "$state/log/$g-serial.log" 2>/dev/null | tr -d '\r' | sed 's/^/# /'
done
if [ -n "$boot_failed" ]; then
    cat "$tmp"/define-*.out | sed 's/^/# /'
    bail "a guest did not boot"
fi
ok "3 guests of $mem_mib MiB booted ($(secs_since "$t") s)"

# <memtune><min_guarantee> would be the per-guest floor, but QEMU does not
# support it: record that (and what libvirt says) instead of pretending.
if V memtune "$floorvm" --min-guarantee 400000 --config >"$tmp/memtune.out" 2>&1; then
    echo "# virsh memtune --min-guarantee was accepted (libvirt now supports it for QEMU)"
else
    echo "# min_guarantee: $(tr '\n' ' ' <"$tmp/memtune.out"); the floor checked is min-floor-mib $floor_mib MiB"
fi

# The statistics the policy needs, for every guest.
has_stats() {
    local g s _
    for g in $guests; do
        for _ in $(seq 100); do
            s=$(V dommemstat "$g" 2>/dev/null)
            echo "$s" | grep -q '^unused ' && echo "$s" | grep -q '^actual ' && continue 2
            sleep 0.1
        done
        return 1
    done
}
check "every guest reports actual and unused" has_stats

t=$(now_ms)
hog_out=$(GUEST_EXEC_TIMEOUT=60 "$lab" guest-exec "$hog" /bin/momlab-hog "$hog_mib" pattern 2>&1)
check "momlab-hog $hog_mib pattern in $hog ($(secs_since "$t") s): $hog_out" \
    test "$hog_out" = "hogged $hog_mib MiB"
sleep 4 # two statistics periods: the first samples include the hog

# --- momd -------------------------------------------------------------------
mkdir "$pdir"
cp "$top"/data/policies/*.policy "$pdir/"
run_dir=$state/run/qemu # libvirtd's /run/libvirt/qemu, seen from the host
# the lab's libvirtd, real writes, 2 s cycles
write_momd_conf "$tmp/momd.conf" main-loop-interval=2 host-monitor-interval=2 \
    guest-monitor-interval=2 guest-manager-interval=2 policy-engine-interval=2 \
    sample-history-length=3 libvirt-hypervisor-uri="$uri" libvirt-run-dir="$run_dir" \
    controllers='Balloon, KSM' policy-dir="$pdir" dry-run=false ksm-restore-on-exit=true \
    '[host]' collectors='HostMemory, HostKSM, HostCpu' \
    '[guest]' collectors='GuestMemory, GuestBalloon, GuestCpuTune, GuestIoTuneOptional' \
    '[balloon]' min-floor-mib="$floor_mib" max-step-mib=64
set_pressure_file() {
    printf '# test-momd-guests: the site pressure line\n(set pressure_free_ratio %s)\n' "$1" \
        >"$pdir/01-parameters.policy"
}
set_pressure_file 0.999

declare -A start
for g in $guests; do start[$g]=$(actual_of "$g"); done
echo "# before momd: $(actuals); KSM run=$(cat $ksm/run) pages_sharing=$(cat $ksm/pages_sharing)"

# Every guest's actual, every second, for the whole run ("epoch name KiB").
(
    while :; do
        ts=$(date +%s)
        for g in $guests; do
            a=$(actual_of "$g")
            [ -n "$a" ] && echo "$ts $g $a"
        done
        sleep 1
    done
) >"$samples" 2>/dev/null 9>&- &
sampler_pid=$!

t_momd=$(now_ms)
start_momd

# 1. Under pressure: every balloon shrinks.
below_start() { [ "$2" -lt "${start[$1]}" ]; }
t=$(now_ms)
wait_all 60 below_start
check "pressure 0.999: every guest's actual dropped below its start value ($(secs_since "$t") s after momd started): $(actuals)" \
    wait_all 0 below_start

# The idle guests settle on the floor: about 11 cycles of 5 %.
at_floor() { [ "$1" = "$hog" ] || [ "$2" -le $((floor_kib + 1024)) ]; }
t=$(now_ms)
for _ in $(seq 12); do
    sleep 5
    echo "# t=$(secs_since "$t_momd") s cycle $(cycles): $(actuals)"
    wait_all 0 at_floor && break
done
check "the idle guests reached the floor of $floor_mib MiB ($(secs_since "$t_momd") s after momd started)" \
    wait_all 10 at_floor
# The hog's guest converges on its used memory plus the margin: give it
# three more cycles after the idle ones are done.
sleep 6
a_hog=$(actual_of "$hog")
a_idle=$(actual_of "$idle")
echo "# after $(cycles) cycles: $(actuals)"
check "the hog's guest keeps more than an idle one after $(cycles) cycles ($a_hog > $a_idle + 16 MiB)" \
    test "${a_hog:-0}" -gt $((${a_idle:-0} + 16384))
tail -n 40 "$log" | grep -a 'Guest\|guest' | tail -n 3 | sed 's/^/#   log: /'

# The log: one line per change, each with the policy line that asked.
changes() { grep -a "guest $1: balloon [0-9]* → [0-9]* KiB" "$log"; }
check_log_lines() {
    local g bad=0 lines last a
    for g in $guests; do
        lines=$(changes "$g" | wc -l)
        last=$(changes "$g" | tail -n 1 | sed 's/.* → \([0-9]*\) KiB.*/\1/')
        a=$(actual_of "$g")
        echo "#   $g: $lines change lines, last to ${last:-none} KiB, actual $a KiB"
        # QEMU rounds a target to whole 4 KiB pages
        if [ "$lines" -eq 0 ] || [ -z "$a" ] || [ $((last - a)) -gt 4 ] || [ $((a - last)) -gt 4 ]; then
            bad=1
        fi
    done
    # no change line without the policy location
    if grep -a ': balloon [0-9]* → ' "$log" | grep -avF "requested at $pdir/10-balloon.policy:" | grep -q .; then
        grep -a ': balloon [0-9]* → ' "$log" | grep -avF "requested at $pdir/10-balloon.policy:" | head -n 3 | sed 's/^/#   no location: /'
        bad=1
    fi
    return $bad
}
check "one log line per guest and change, the last one is the guest's balloon" check_log_lines
no_repeats() { # a line that asks again for the size of the previous one is no change
    local g rep=0 r
    for g in $guests; do
        r=$(changes "$g" | sed 's/.*: balloon \([0-9]*\) → \([0-9]*\) KiB.*/\1 \2/' |
            awk 'p == $2 || $1 == $2 { n++ } { p = $2 } END { print n + 0 }')
        [ "$r" -gt 0 ] && echo "#   $g: $r lines repeat the previous size" && rep=1
    done
    return $rep
}
check "no change line repeats the previous request (each line is a change)" no_repeats
located() {
    grep -aqE "balloon [0-9]+ → [0-9]+ KiB \(target [0-9.e+-]+ requested at $pdir/10-balloon.policy:[0-9]+:[0-9]+" "$log"
}
check "change lines name the policy location (10-balloon.policy:LINE:COL)" located
grep -a "guest $hog: balloon" "$log" | head -n 2 | sed 's/^/#   log: /'

# 2. Pressure off: the balloons grow back to their maximum.  0.0 ("never
# under pressure") once made 10-balloon divide by zero in every cycle, so
# it is checked first; then 0.001 (0.1 % of the host free) stands for "no
# pressure", as before.
log_lines=$(wc -l <"$log")
set_pressure 0.0
c0=$(cycles)
for _ in $(seq 40); do [ "$(cycles)" -ge $((c0 + 2)) ] && break; sleep 0.2; done
sleep 2.5
zero_ok() { ! tail -n "+$((log_lines + 1))" "$log" | grep -qa 'division by zero'; }
tail -n "+$((log_lines + 1))" "$log" | grep -a 'division by zero\|Policy cycle [0-9]* failed' | head -n 2 | sed 's/^/#   log: /'
check "pressure_free_ratio 0.0 evaluates without error" zero_ok
set_pressure 0.001
at_max() { [ "$2" -ge $((max_kib - 1024)) ]; }
t=$(now_ms)
for _ in $(seq 18); do
    sleep 5
    echo "# grow t=$(secs_since "$t") s: $(actuals)"
    wait_all 0 at_max && break
done
check "pressure 0.0 (SIGHUP): every balloon grew back to $max_kib KiB ($(secs_since "$t") s)" \
    wait_all 10 at_max
check "SIGHUP reloaded the policies" grep -qa 'Reloading the configuration' "$log"

# 3. libvirtd killed and restarted.
lpid=$(cat "$state/libvirtd.pid" 2>/dev/null)
check "the lab's libvirtd pid file names a running libvirtd ($lpid)" \
    sh -c "[ -n '$lpid' ] && tr '\0' ' ' </proc/$lpid/cmdline | grep -q libvirtd"
t=$(now_ms)
kill -KILL "$lpid"
for _ in $(seq 50); do kill -0 "$lpid" 2>/dev/null || break; sleep 0.1; done
sleep 5
alive_during=no
kill -0 "$momd_pid" 2>/dev/null && alive_during=yes
t_restart=$(now_ms)
uri2=$("$lab" start-libvirtd "$state" 2>"$tmp/restart.err" 9>&-) ||
    { sed 's/^/# /' "$tmp/restart.err"; bail "start-libvirtd (again) failed"; }
echo "# libvirtd killed (SIGKILL) for $(secs_since "$t") s, restarted in $(secs_since "$t_restart") s"
check "momd outlived libvirtd's death ($alive_during)" test "$alive_during" = yes
check "the same URI after the restart" test "$uri2" = "$uri"
running() {
    local g
    for g in $guests; do [ "$(V domstate "$g" 2>/dev/null)" = running ] || return 1; done
}
check "the guests survived the restart of libvirtd" running
reconnected() {
    local _
    for _ in $(seq 600); do
        grep -qa 'Reconnected to libvirt' "$log" && return 0
        sleep 0.1
    done
    return 1
}
check "momd logged \"Reconnected to libvirt\" ($(secs_since "$t") s after the kill)" reconnected
grep -a 'Reconnected to libvirt\|connection to libvirt\|No libvirt answers' "$log" | sed 's/^/#   log: /'
lost=$(grep -ac 'The connection to libvirt .* was lost' "$log")
check "the loss is logged once ($lost)" test "$lost" = 1
check "momd is still running" kill -0 "$momd_pid"

# 4. KSM.  The identical hogs go in while the balloons are at their
# maximum: a guest ballooned down to its used memory plus the margin has no
# room for 128 MiB more, and without deflate-on-oom the guest's OOM killer
# would take qemu-ga.  Without pressure 20-ksm stops KSM unless it saves
# memory (pages_sharing > 0), when it keeps it at its idle rate.
run_now=$(cat $ksm/run) sharing_now=$(cat $ksm/pages_sharing) ksm_rule=broken
{ [ "$run_now" = 0 ] || [ "$sharing_now" -gt 0 ]; } && ksm_rule=kept
check "without pressure KSM runs only while it saves memory (run=$run_now pages_sharing=$sharing_now)" \
    test "$ksm_rule" = kept
# Unmerge what ksmd merged so far (the 200 MiB hog, the guests' zero
# pages), so that what is counted below is the hogs.  momd may start KSM
# again before the pressure (its next sample may predate the unmerge, and
# the guests' zero pages merge again), so the growth is counted from here.
echo 2 >"$ksm/run"
sharing0=$(cat $ksm/pages_sharing)
echo "# unmerged (run=2): pages_sharing=$sharing0"
t=$(now_ms)
hogs_failed=
for g in $guests; do
    a=$(actual_of "$g")
    if [ "${a:-0}" -lt $((max_kib - 1024)) ]; then
        # no room for the hog: the guest's OOM killer would take qemu-ga
        echo "$g: not hogged, its balloon is at ${a:-?} KiB" >"$tmp/hog2-$g.out"
        hogs_failed=1
        continue
    fi
    GUEST_EXEC_TIMEOUT=90 "$lab" guest-exec "$g" /bin/momlab-hog "$ksm_hog_mib" pattern \
        >"$tmp/hog2-$g.out" 2>&1 9>&- &
    pids2="${pids2:-} $!"
done
for p in ${pids2:-}; do wait "$p" || hogs_failed=1; done
echo "# $(cat "$tmp"/hog2-*.out | tr '\n' ' ')"
check "momlab-hog $ksm_hog_mib pattern in every guest ($(secs_since "$t") s)" test -z "$hogs_failed"
sleep 6 # three statistics periods: the averages include the hogs
run_before=$(cat $ksm/run)
echo "# before the pressure: KSM run=$run_before pages_sharing=$sharing0 pages_shared=$(cat $ksm/pages_shared)"

# Control resumes after the reconnection: pressure on, balloons drop.
declare -A before
for g in $guests; do before[$g]=$(actual_of "$g"); done
echo "# before the pressure: $(actuals)"
set_pressure 0.999
below_before() { [ "$2" -lt "${before[$1]}" ]; }
t=$(now_ms)
wait_all 60 below_before
check "after the reconnection, pressure 0.999 (SIGHUP) shrinks every guest again ($(secs_since "$t") s): $(actuals)" \
    wait_all 0 below_before

# ksmd merges the hogs once momd runs it.
t=$(now_ms)
max_sharing=0
run_after=
threshold_after=
next_print=0
deadline=$((SECONDS + 120))
while [ "$SECONDS" -le "$deadline" ]; do
    [ -z "$run_after" ] && [ "$(cat $ksm/run)" = 1 ] && run_after=$(secs_since "$t")
    s=$(($(cat $ksm/pages_sharing) - sharing0))
    [ "$s" -gt "$max_sharing" ] && max_sharing=$s
    if [ "$SECONDS" -ge "$next_print" ]; then
        echo "# ksm t=$(secs_since "$t") s: run=$(cat $ksm/run) pages_to_scan=$(cat $ksm/pages_to_scan)" \
            "sleep_millisecs=$(cat $ksm/sleep_millisecs) pages_sharing=$(cat $ksm/pages_sharing)" \
            "pages_shared=$(cat $ksm/pages_shared) full_scans=$(cat $ksm/full_scans)"
        next_print=$((SECONDS + 5))
    fi
    if [ -z "$threshold_after" ] && [ "$s" -gt "$sharing_min" ]; then
        threshold_after=$(secs_since "$t")
        deadline=$((SECONDS + 10)) # a little longer, for the record
    fi
    sleep 0.2
done
check "under pressure momd runs KSM (run=1 after ${run_after:-never} s)" test -n "$run_after"
check "pages_sharing grew by more than $sharing_min after ${threshold_after:-never} s (by $max_sharing)" \
    test "$max_sharing" -gt "$sharing_min"
grep -a 'KSM run: [0-9] → 1, requested at' "$log" | tail -n 1 | sed 's/^/#   log: /'
grep -a 'KSM pages_to_scan: .*, requested at' "$log" | tail -n 3 | sed 's/^/#   log: /'
echo "# after the KSM phase: $(actuals); pages_sharing=$(cat $ksm/pages_sharing) pages_shared=$(cat $ksm/pages_shared) (largest growth $max_sharing)"

# The floor held all along (sampled every second).
for g in $guests; do
    m=$(min_seen "$g")
    echo "#   $g: $(awk -v g="$g" '$2 == g' "$samples" | wc -l) samples, smallest actual ${m:-none} KiB"
done
floor_held() {
    local g m
    for g in $guests; do
        m=$(min_seen "$g")
        [ -n "$m" ] && [ "$m" -ge "$floor_kib" ] || return 1
    done
    ! grep -a ': balloon [0-9]* → [0-9]* KiB' "$log" |
        sed 's/.* → \([0-9]*\) KiB.*/\1/' | awk -v f="$floor_kib" '$1 < f { bad = 1 } END { exit !bad }'
}
check "no balloon ever went below the floor of $floor_kib KiB (sampled every second and in the log)" floor_held

# 5. SIGTERM: exit 0 and KSM as it was.
t=$(now_ms)
stop_momd
rc=$?
check "SIGTERM: momd exits 0 (exit $rc, $(secs_since "$t") s)" test "$rc" -eq 0
check "\"momd stopped\" is logged" grep -qaF "momd stopped after" "$log"
"$lab" ksm save "$tmp/ksm.after-momd" 9>&-
if diff "$tmp/ksm.saved" "$tmp/ksm.after-momd" >"$tmp/ksm.diff"; then
    ok "momd put every KSM tunable back"
else
    not_ok "KSM tunables differ after momd stopped"
    sed 's/^/#   /' "$tmp/ksm.diff"
fi
"$lab" ksm restore "$tmp/ksm.saved" 9>&-
"$lab" ksm save "$tmp/ksm.now" 9>&-
check "KSM tunables equal the saved ones after lab.sh ksm restore" cmp -s "$tmp/ksm.saved" "$tmp/ksm.now"
grep -a 'restored' "$log" | sed 's/^/#   log: /'

check "momd logged no ERROR or CRITICAL" sh -c "! grep -aqE ' - (ERROR|CRITICAL) - ' '$log'"
grep -a ' - WARNING - ' "$log" | sed 's/^/#   warning: /'
known='has not been ready for|division by zero|Cannot collect guest statistics: The bulk statistics call failed|is marked balloon_uncooperative'
unexpected() {
    ! grep -a ' - WARNING - ' "$log" |
        grep -avE "The connection to libvirt .* was lost|No libvirt answers at|$known" | grep -q .
}
check "momd's only warnings are about the libvirtd outage " unexpected
no_busy_unready() { ! grep -qaE 'is not ready yet: its sample lacks the mandatory fields|has not been ready for' "$log"; }
check "no guest is \"not ready\" while its balloon changes ($(grep -ac 'is not ready' "$log") warnings)" \
    no_busy_unready
never_uncooperative() { ! grep -qa 'is marked balloon_uncooperative' "$log"; }
check "no guest is marked balloon_uncooperative ($(grep -ac 'is marked balloon_uncooperative' "$log") times; each followed its request within a second)" \
    never_uncooperative
loss_once() { ! grep -qa 'Cannot collect guest statistics: The bulk statistics call failed' "$log"; }
check "the loss of libvirtd is not also logged as a failed statistics call" loss_once
check "momd wrote nothing to stderr" test ! -s "$tmp/momd.err"

echo "# total $(secs_since "$t_all") s"
echo "1..$n"
[ "$failed" -eq 0 ]
