#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Host data that cannot be true: the real momd binary, NOT in dry run, on a
# fake /proc whose meminfo says MemTotal: 0 (then -5) and a fake sysfs KSM
# directory, with the shipped KSM policy.  Before momd rejected such
# samples, MemTotal 0 made 20-ksm stop KSM (run 1 -> 0) and -5 made it
# rewrite pages_to_scan and sleep_millisecs.  Now the HostMemory
# collection fails, once in the log with the file and the field, no policy
# runs and the KSM files stay as they were; when meminfo is mended, the
# recovery is logged once and the policy writes again (which shows that
# this test would see a write).  Only files under a temporary directory
# are touched.  TAP output.
set -u

: "${MOMD:?run through meson test}"
: "${MOM_TOP_SRCDIR:?run through meson test}"
top=$MOM_TOP_SRCDIR

here=$(dirname "$(readlink -f "$0")")
# shellcheck source=../tap.sh
. "$here/../tap.sh"
tap_tmp momd-host-data # $tmp; momd stopped at exit
ksm=$tmp/sys/kernel/mm/ksm
meminfo=$tmp/proc/meminfo

count() { # count FILE FIXED-STRING: matching lines
    grep -cF -- "$2" "$1" 2>/dev/null || true
}
# The KSM files as "file:value" lines, to compare before and after.
ksm_state() {
    (cd "$ksm" && grep -H . -- *)
}
# write_meminfo MEMTOTAL: every key HostMemory needs, so the sample would
# be complete (and acted on) if MemTotal were taken at its word.  Renamed
# into place: momd must never read a half-written file.
write_meminfo() {
    cat >"$meminfo.new" <<EOF
MemTotal:       $1 kB
MemFree:        0 kB
Buffers:        0 kB
Cached:         0 kB
AnonPages:      0 kB
SwapTotal:      0 kB
SwapFree:       0 kB
EOF
    mv "$meminfo.new" "$meminfo"
}

mkdir -p "$tmp/proc" "$ksm"
printf 'pswpin 0\npswpout 0\n' >"$tmp/proc/vmstat"
for f in full_scans pages_sharing pages_unshared pages_shared pages_volatile; do
    echo 0 >"$ksm/$f"
done
echo 1 >"$ksm/run"
echo 100 >"$ksm/pages_to_scan"
echo 20 >"$ksm/sleep_millisecs"
echo 1 >"$ksm/merge_across_nodes"
cp "$top/data/policies/00-defines.policy" "$top/data/policies/20-ksm.policy" "$tmp/policies/"
# 1 s cycles, real writes to a fake sysfs
write_momd_conf "$tmp/momd.conf" controllers=KSM dry-run=false \
    proc-root="$tmp/proc" sysfs-root="$tmp/sys" \
    '[host]' collectors='HostMemory, HostKSM'
before=$(ksm_state)

# run_bad MEMTOTAL: momd on that meminfo for a few policy intervals.
run_bad() {
    write_meminfo "$1"
    : >"$log"
    start_momd
    local said="The HostMemory collector of host failed: $meminfo: MemTotal is $1, which cannot be true (it must be at least 1). Retrying with back-off"
    check "MemTotal $1: the failure names the file and the field" wait_for "$log" "$said" 10
    # three engine intervals, each of which would have applied the policy
    sleep 3.5
    check "MemTotal $1: the engine skipped its cycles" \
        grep -qF "The policy engine skips this cycle: the host has no complete sample." "$log"
    check "MemTotal $1: no policy cycle ran" sh -c "! grep -q 'Policy cycle [0-9]' '$log'"
    check "MemTotal $1: the failure is logged once ($(count "$log" "collector of host failed"))" \
        test "$(count "$log" "collector of host failed")" -eq 1
    check "MemTotal $1: no division by zero" sh -c "! grep -qi 'division by zero' '$log'"
    check "MemTotal $1: the KSM files are unchanged" test "$(ksm_state)" = "$before"
}

run_bad 0
stop_momd
check "MemTotal 0: the KSM files are unchanged after the exit" test "$(ksm_state)" = "$before"

run_bad -5
# Mended: the collector is retried after its back-off (at most 8 s here).
write_meminfo 16384000
check "mended: the recovery is logged" \
    wait_for "$log" "The HostMemory collector of host recovered after" 15
check "mended: the recovery is logged once" \
    test "$(count "$log" "The HostMemory collector of host recovered after")" -eq 1
check "mended: a policy cycle runs" wait_for "$log" "Policy cycle 1 succeeded" 10
# 20-ksm under pressure (no free memory) runs KSM; this fake /proc has no
# process that merges, so ksmd gets the idle rate, 50 pages a second.
check "mended: the KSM policy writes again (pages_to_scan 100 → 50)" \
    wait_for "$log" "KSM pages_to_scan: 100 → 50" 10
check "mended: pages_to_scan holds 50" test "$(cat "$ksm/pages_to_scan")" = 50
stop_momd

echo "1..$n"
[ "$failed" -eq 0 ]
