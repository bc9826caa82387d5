#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# momd drives this machine's real KSM: with a policy parameter that puts
# the host "under pressure" (01-parameters.policy sets pressure_free_ratio
# 0.999, as a vdsm site file would), the default 20-ksm policy must switch
# ksmd on and tune it, ksmd must then merge the identical pages of
# ksm-region, and on SIGTERM momd must put run, pages_to_scan and
# sleep_millisecs back as it found them.  This needs root and a writable
# /sys/kernel/mm/ksm, and SKIPs without them.  Every writable KSM tunable
# is saved first and restored on any exit, so a failing run does not
# leave the host's KSM changed.  TAP output; the measured times and page
# counts are printed as comments.
set -u

: "${MOMD:?run through meson test}"
: "${KSM_REGION:?run through meson test}"
: "${MOM_TOP_SRCDIR:?run through meson test}"
top=$MOM_TOP_SRCDIR
ksm=/sys/kernel/mm/ksm

# The hog (ksm-region, all pages identical) maps 64 MiB of one repeated
# page (16384 pages of 4 KiB); with max_page_sharing 256 at most 16320 of
# them count as pages_sharing.  At the policy's merge rate (one full scan
# of the mergeable memory in 0.5 s) ksmd merges all of it in about a
# second after momd started on the 2-vCPU CI machine (see the
# "# measured" comments).  12000 pages is 3/4 of the hog: well clear
# of noise, and the 60 s deadline gives a slow or busy machine 40x room.
hog_mib=64
sharing_min=12000
run_deadline=60
merge_deadline=60

if [ "$(id -u)" -ne 0 ]; then
    echo "1..0 # SKIP needs root to write $ksm"
    exit 0
fi
# -w is true for root on a read-only mount: write the current value back.
if [ ! -e "$ksm/run" ] || ! (v=$(cat "$ksm/run") && echo "$v" >"$ksm/run") 2>/dev/null; then
    echo "1..0 # SKIP $ksm/run is missing or not writable (no CONFIG_KSM, or a read-only /sys)"
    exit 0
fi

# KSM is one per machine: two runs of this test (two build trees, or a
# parallel meson invocation) would save each other's changes as "the
# original" and restore the wrong values.  Take turns, machine-wide.
lock_dir=/run/lock
[ -d "$lock_dir" ] || lock_dir=/tmp
exec 9>"$lock_dir/momd-test-ksm-real.lock"
if ! flock -w 240 9; then
    echo "Bail out! another test-ksm-real.sh has held $lock_dir/momd-test-ksm-real.lock for 240 s"
    exit 1
fi

tmp=$(mktemp -d /tmp/momd-ksm-real.XXXXXX)
momd_pid=
hog_pid=

ksm_get() { # ksm_get NAME: the value; a bracketed choice as the chosen word
    local v
    v=$(cat "$ksm/$1")
    case $v in *\[*\]*) v=${v#*[} v=${v%%]*} ;; esac
    echo "$v"
}
# Every tunable this kernel lets us write, as NAME=VALUE lines ("[none]
# scan-time" is saved as "none"); read-only counters are left out.
ksm_snapshot() {
    local f
    for f in "$ksm"/*; do
        if [ -f "$f" ] && [ -n "$(find "$f" -perm -u=w)" ]; then
            echo "$(basename "$f")=$(ksm_get "$(basename "$f")")"
        fi
    done
}

ksm_snapshot >"$tmp/saved"
baseline_sharing=$(cat "$ksm/pages_sharing")

# Puts every saved tunable back; run last, so ksmd restarts (if it ran)
# with its old tunables.  merge_across_nodes only changes with nothing
# merged, and anything merged since we started is ours: unmerge (run=2)
# first in both cases.  Idempotent: a tunable already right is not written.
ksm_restore() {
    local k v saved_run saved_merge
    saved_run=$(sed -n 's/^run=//p' "$tmp/saved")
    saved_merge=$(sed -n 's/^merge_across_nodes=//p' "$tmp/saved")
    if [ -n "$saved_merge" ] && [ "$(ksm_get merge_across_nodes)" != "$saved_merge" ]; then
        echo 2 >"$ksm/run"
    elif [ "$saved_run" != 1 ] && [ "$(cat "$ksm/pages_sharing")" -gt "$baseline_sharing" ]; then
        echo 2 >"$ksm/run"
    fi
    # advisor_mode last among the tunables: while it is scan-time the
    # kernel refuses pages_to_scan.
    while IFS='=' read -r k v; do
        case $k in run | advisor_mode) continue ;; esac
        [ "$(ksm_get "$k")" = "$v" ] && continue
        echo "$v" >"$ksm/$k" 2>/dev/null || echo "# could not restore $k=$v" >&2
    done <"$tmp/saved"
    v=$(sed -n 's/^advisor_mode=//p' "$tmp/saved")
    if [ -n "$v" ] && [ "$(ksm_get advisor_mode)" != "$v" ]; then
        echo "$v" >"$ksm/advisor_mode" 2>/dev/null || echo "# could not restore advisor_mode=$v" >&2
    fi
    [ "$(ksm_get run)" = "$saved_run" ] || echo "$saved_run" >"$ksm/run"
}

cleanup() {
    for p in $momd_pid $hog_pid; do
        kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
    done
    ksm_restore
    if ! diff -q "$tmp/saved" <(ksm_snapshot) >/dev/null; then
        echo "# WARNING: KSM differs from what was saved:" >&2
        diff "$tmp/saved" <(ksm_snapshot) | sed 's/^/# /' >&2
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

here=$(dirname "$(readlink -f "$0")")
# shellcheck source=../tap.sh
. "$here/../tap.sh"
log=$tmp/momd.log
sock=$tmp/momd.sock
TAP_LOG_LINES=15
now_ms() { date +%s%3N; }
secs_since() { # secs_since START_MS: seconds with one decimal
    local d=$(($(now_ms) - $1))
    printf '%d.%d' $((d / 1000)) $((d % 1000 / 100))
}

sed 's/^/# saved: /' "$tmp/saved"

# Start from KSM off, and note what momd will find (and must restore).
echo 0 >"$ksm/run"
start_run=$(cat "$ksm/run")
start_pages=$(cat "$ksm/pages_to_scan")
start_sleep=$(cat "$ksm/sleep_millisecs")
start_merge=$(cat "$ksm/merge_across_nodes")
echo "# before momd: run=$start_run pages_to_scan=$start_pages sleep_millisecs=$start_sleep" \
    "merge_across_nodes=$start_merge pages_sharing=$baseline_sharing"

# The hog first, so ksmd has work the moment momd switches it on.
"$KSM_REGION" "$hog_mib" 100 600 >"$tmp/hog.out" 2>&1 9>&- &
hog_pid=$!
for _ in $(seq 100); do grep -qs '^ready' "$tmp/hog.out" && break; sleep 0.1; done
check "ksm-region mapped ${hog_mib} MiB and is ready" grep -q '^ready' "$tmp/hog.out"
sed 's/^/# hog: /' "$tmp/hog.out"

mkdir "$tmp/policies"
cp "$top"/data/policies/*.policy "$tmp/policies/"
cat >"$tmp/policies/01-parameters.policy" <<'EOF'
# test-ksm-real: count this host as short of memory whatever it has free,
# so that 20-ksm runs KSM (a site parameter, as vdsm's 01-parameters).
(set pressure_free_ratio 0.999)
EOF
# real writes, 1 s cycles, KSM only
write_momd_conf "$tmp/momd.conf" controllers=KSM dry-run=false ksm-restore-on-exit=true \
    '[host]' collectors='HostMemory, HostKSM'

t0=$(now_ms)
start_momd # (without fd 9, the lock)

# run=1, within a bounded time.
deadline=$((SECONDS + run_deadline))
while [ "$(cat "$ksm/run")" != 1 ] && [ "$SECONDS" -le "$deadline" ] && kill -0 "$momd_pid" 2>/dev/null; do
    sleep 0.1
done
run_after=$(secs_since "$t0")
check "momd switched KSM on (run=1) after ${run_after} s" test "$(cat "$ksm/run")" = 1

# ksmd merges the hog: pages_sharing past the threshold.  The loop goes
# on (not asserted) until the hog is fully merged, for the record: with
# max_page_sharing M, N identical pages end as N/M shared + N - N/M sharing.
hog_pages=$((hog_mib * 256))
chain=$(cat "$ksm/max_page_sharing" 2>/dev/null || echo "$hog_pages")
full=$((hog_pages - (hog_pages + chain - 1) / chain))
max_sharing=0
threshold_after=
full_after=
deadline=$((SECONDS + merge_deadline))
# Count the hog's own merged pages where the kernel says (Linux 5.19+):
# pages_sharing covers every mergeable area on the host (QEMU guests of
# other tests, whose merged pages may go away meanwhile), so its change
# since the start says little on a busy machine.
hog_merging() {
    if [ -r "/proc/$hog_pid/ksm_merging_pages" ]; then
        cat "/proc/$hog_pid/ksm_merging_pages"
    else
        echo $(($(cat "$ksm/pages_sharing") - baseline_sharing))
    fi
}
[ -r "/proc/$hog_pid/ksm_merging_pages" ] && full=$((hog_pages * 99 / 100))
while [ "$SECONDS" -le "$deadline" ]; do
    s=$(hog_merging)
    [ "$s" -gt "$max_sharing" ] && max_sharing=$s
    [ -z "$threshold_after" ] && [ "$s" -gt "$sharing_min" ] && threshold_after=$(secs_since "$t0")
    if [ "$s" -ge "$full" ]; then
        full_after=$(secs_since "$t0")
        break
    fi
    sleep 0.1
done
check "pages_sharing grew past $sharing_min of $hog_pages after ${threshold_after:-never} s" \
    test "$max_sharing" -gt "$sharing_min"
echo "# measured: run=1 after ${run_after} s; pages_sharing > $sharing_min after" \
    "${threshold_after:-never} s; $max_sharing (full: $full) after ${full_after:-never} s;" \
    "pages_shared=$(cat "$ksm/pages_shared") full_scans=$(cat "$ksm/full_scans")"
echo "# momd tuned ksmd to pages_to_scan=$(cat "$ksm/pages_to_scan")" \
    "sleep_millisecs=$(cat "$ksm/sleep_millisecs")"
fast=$(sed -n "s/.*KSM pages_to_scan: $start_pages → \([0-9]*\), requested.*/\1/p" "$tmp/momd.log" | head -1)
check "momd merged at a fast pages_to_scan (${fast:-none} > $start_pages)" test "${fast:-0}" -gt "$start_pages"
# Nothing is left to merge: within 30 s ksmd is at 20-ksm's idle rate
# (ksm_idle_pages_to_scan 50 every ksm_idle_sleep_ms 1000).
deadline=$((SECONDS + 30))
while [ "$(cat "$ksm/pages_to_scan")/$(cat "$ksm/sleep_millisecs")" != 50/1000 ] &&
    [ "$SECONDS" -le "$deadline" ]; do
    sleep 0.2
done
idle_after=$(secs_since "$t0")
rate="$(cat "$ksm/pages_to_scan") / $(cat "$ksm/sleep_millisecs") ms"
check "ksmd idles at 50 pages / 1000 ms once merged (at ${idle_after} s: $rate)" \
    test "$(cat "$ksm/pages_to_scan")/$(cat "$ksm/sleep_millisecs")" = 50/1000
check "the writes are logged with the policy line" grep -qF "KSM run: 0 → 1, requested at $tmp/policies/20-ksm.policy:" "$tmp/momd.log"
check "momd is still running" kill -0 "$momd_pid" 2>/dev/null

# A clean stop puts back what momd changed.
kill -TERM "$momd_pid"
wait "$momd_pid"
rc=$?
momd_pid=
check "SIGTERM: momd exits 0 (exit $rc)" test "$rc" -eq 0
check "\"momd stopped\" is logged" grep -qF "momd stopped after" "$tmp/momd.log"
for t in run:$start_run pages_to_scan:$start_pages sleep_millisecs:$start_sleep merge_across_nodes:$start_merge; do
    name=${t%%:*}
    want=${t#*:}
    got=$(cat "$ksm/$name")
    check "$name is back to $want after momd stopped (it is $got)" test "$got" = "$want"
done
grep -F "restored:" "$tmp/momd.log" | sed 's/^/# /'
check "momd logged no warning" sh -c "! grep -q ' - WARNING - ' '$tmp/momd.log'"

# Leave the host as found, and prove it.
kill "$hog_pid" 2>/dev/null && wait "$hog_pid" 2>/dev/null
hog_pid=
ksm_restore
if diff "$tmp/saved" <(ksm_snapshot) >"$tmp/diff"; then
    ok "every saved KSM tunable is as it was before the test"
else
    not_ok "KSM tunables differ from before the test"
    sed 's/^/#   /' "$tmp/diff"
fi
echo "# total $(secs_since "$t0") s"

echo "1..$n"
[ "$failed" -eq 0 ]
