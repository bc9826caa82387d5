#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The churn soak (issue 15): momd built with ASan+UBSan runs against the
# lab's private libvirtd (lab.sh) with 1 s guest sampling, a 2 s policy
# interval and the default policies (data/policies, plus a site line that
# keeps the host "under pressure" so that momd balloons all the time),
# while three slots churn small TCG guests through define, start, setmem,
# tuning metadata, suspend, resume, destroy and undefine for SOAK_SECONDS
# (default 180).  Some guests are destroyed the moment momd logs a balloon
# change for them, some at a random sub-second offset while momd samples
# every second, some while they boot, and some are undefined while running.
# It asserts:
#   1. no sanitizer report (ASan/UBSan/LSan write into the run directory);
#   2. momd alive throughout (checked every 2 s) and exiting 0 on SIGTERM;
#   3. RSS, open fds and threads flat after the first minute: the median
#      of the last third of the series is at most the median of the first
#      third plus a tolerance (RSS: 5 % or 4 MiB, whichever is larger; fds:
#      2; threads: 4, for GLib's pool workers that come and go);
#   4. every log line valid UTF-8 without control characters;
#   5. every guest that runs for 2 policy cycles (4 s) after its start is
#      "now managed" by then, and after a resume momd has a fresh sample
#      (stats_age <= 3 s) within 2 policy cycles plus the 2 s statistics
#      period (6 s);
#   6. no WARNING, ERROR or CRITICAL for this churn of healthy guests (any
#      that appear are listed).
# The series and the counts are printed as TAP comments.  Needs root and
# QEMU (SKIPs otherwise).  The ASan build of momd is kept in
# $MOMD_E2E_CACHE/soak-asan-* between runs; ninja rebuilds what changed.
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
e2e_begin soak
sampler_pid=
slot_pids=
# The churn loops and the sampler go first, then e2e-run.sh's clean-up.
soak_stop_loops() {
    local p
    for p in $sampler_pid $slot_pids; do kill "$p" 2>/dev/null; done
}
trap 'soak_stop_loops; e2e_cleanup' EXIT
trap 'soak_stop_loops; e2e_on_signal' INT TERM HUP

soak_seconds=${SOAK_SECONDS:-180}
policy_interval=2
now_ms() { date +%s%3N; }
t_all=$(now_ms)
V() { timeout 30 virsh -q -c "$uri" "$@"; }

# 1. momd with ASan+UBSan, built outside the source tree (one build
# directory per source tree, kept between runs).
cache=${MOMD_E2E_CACHE:-/tmp/momd-e2e}
bdir=$cache/soak-asan-$(echo "$top" | sha256sum | cut -c1-12)
t=$(now_ms)
(
    flock -w 300 8 || exit 1
    if [ ! -f "$bdir/build.ninja" ]; then
        rm -rf "$bdir"
        meson setup "$bdir" "$top" -Db_sanitize=address,undefined -Db_lundef=false \
            --buildtype=debug >"$tmp/asan-setup.log" 2>&1 || { cat "$tmp/asan-setup.log"; exit 1; }
    fi
    ninja -C "$bdir" src/momd >"$tmp/asan-build.log" 2>&1 || { tail -n 30 "$tmp/asan-build.log"; exit 1; }
) 8>"$cache/soak-asan.lock" | sed 's/^/# /'
build_rc=${PIPESTATUS[0]}
[ "$build_rc" -eq 0 ] && [ -x "$bdir/src/momd" ] || bail "the ASan+UBSan build of momd failed"
ok "momd built with ASan+UBSan in $bdir ($(($(now_ms) - t)) ms)"

uri=$("$lab" start-libvirtd "$state" 2>"$tmp/start.err") ||
    { sed 's/^/# /' "$tmp/start.err"; bail "start-libvirtd failed"; }
export LIBVIRT_DEFAULT_URI=$uri
"$lab" build-guest >/dev/null 2>"$tmp/build-guest.err" ||
    { sed 's/^/# /' "$tmp/build-guest.err"; bail "build-guest failed"; }
ok "private libvirtd up: $uri"

# The default policies, and the site's pressure line: under pressure
# 10-balloon shrinks every guest at every cycle, so balloon calls never stop.
cp "$top"/data/policies/*.policy "$tmp/policies/"
printf '# test-soak-churn: always under pressure\n(set pressure_free_ratio 0.999)\n' \
    >"$tmp/policies/01-parameters.policy"
# KSM is left out: it is one per machine, and other tests own it.
# the lab's libvirtd, 1 s guest sampling, a 2 s policy interval, real writes
write_momd_conf "$tmp/momd.conf" controllers='Balloon, CpuTune, IoTune' dry-run=false \
    libvirt-hypervisor-uri="$uri" libvirt-run-dir="$state/run/qemu" \
    guest-monitor-interval=1 guest-manager-interval=1 policy-engine-interval="$policy_interval" \
    '[logging]' verbosity=info \
    '[host]' collectors='HostMemory, HostKSM, HostCpu, HostPressure' \
    '[guest]' collectors='GuestMemory, GuestBalloon, GuestCpuTune, GuestIoTuneOptional'

mkdir -p "$tmp/san"
# A small quarantine: ASan's default 256 MiB fills slowly and would look
# like growth in the RSS series.
ASAN_OPTIONS=log_path=$tmp/san/asan:detect_leaks=1:quarantine_size_mb=16 \
    UBSAN_OPTIONS=log_path=$tmp/san/ubsan:print_stacktrace=1 \
    LSAN_OPTIONS=suppressions=$top/tests/lsan.supp \
    "$bdir/src/momd" -c "$tmp/momd.conf" >"$tmp/out" 2>"$tmp/err" &
momd_pid=$!
wait_for "$log" "is starting with the config" 30 || bail "momd did not start"
t_momd=$(now_ms)

# Every 2 s: alive?, VmRSS (KiB), open fds, threads.
series=$tmp/series
(
    while :; do
        if [ -d "/proc/$momd_pid" ]; then
            rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$momd_pid/status" 2>/dev/null)
            thr=$(awk '/^Threads:/ { print $2 }' "/proc/$momd_pid/status" 2>/dev/null)
            fds=$(find "/proc/$momd_pid/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
            echo "$(($(now_ms) - t_momd)) alive ${rss:-0} $fds ${thr:-0}"
        else
            echo "$(($(now_ms) - t_momd)) dead 0 0 0"
        fi
        sleep 2
    done
) >"$series" 2>/dev/null &
sampler_pid=$!

events=$tmp/events
ev() { echo "$(now_ms) $1 $2" >>"$events"; }
# fresh NAME: momd has a sample of NAME at most 3 s old
fresh() {
    timeout 5 "$MOMCTL" --socket "$sock" guests --json 2>/dev/null | python3 -c '
import json, sys
try:
    g = json.load(sys.stdin)[sys.argv[1]]["statistics"]
    sys.exit(0 if g and g.get("stats_age") is not None and g["stats_age"] <= 3 else 1)
except Exception:
    sys.exit(1)' "$1"
}
# wait_fresh NAME: seconds until fresh (in ms), or "never" after 10 s
wait_fresh() {
    local t0 _
    t0=$(now_ms)
    for _ in $(seq 40); do
        fresh "$1" && { echo $(($(now_ms) - t0)); return; }
        sleep 0.25
    done
    echo never
}
# balloon_line NAME SECONDS: waits until momd logs a balloon change of NAME
balloon_line() {
    local deadline=$((SECONDS + $2))
    while [ "$SECONDS" -le "$deadline" ]; do
        grep -qa "guest $1: balloon [0-9]* → " "$log" 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}

# One guest's life; MODE says how it ends.
#   full:     boot, tuning limit, setmem, suspend, resume, destroy, undefine
#   balloon:  boot, destroyed the moment momd logs a balloon change for it
#   sampled:  boot, destroyed at a random offset within momd's 1 s sampling
#   booting:  destroyed 1-2 s into its boot, before it reports anything
#   undefine: boot, undefined while running (transient), then destroyed
life() {
    local name=$1 mode=$2 mem=$3 r
    if [ "$mode" = booting ]; then
        "$lab" define-guest "$name" "$mem" >/dev/null 2>&1 || { ev "$name" define-failed; return; }
        V start "$name" >/dev/null 2>&1 || { ev "$name" start-failed; return; }
        ev "$name" started
        sleep "1.$((RANDOM % 10))"
    else
        ev "$name" starting # momd may manage it before its boot is over
        "$lab" define-guest "$name" "$mem" --start --wait 120 >"$tmp/define-$name.out" 2>&1 ||
            { ev "$name" boot-failed; return; }
        ev "$name" started
    fi
    case $mode in
    full)
        V metadata "$name" urn:momd:tune:1 --key momd --set '<tune><vcpu limit="50"/></tune>' \
            --live >/dev/null 2>&1 && ev "$name" tuned
        sleep 3
        V setmem "$name" $((mem * 1024 * 3 / 4)) --live >/dev/null 2>&1 && ev "$name" setmem
        sleep 3
        V suspend "$name" >/dev/null 2>&1 && ev "$name" suspended
        sleep 3
        V resume "$name" >/dev/null 2>&1 && ev "$name" resumed
        r=$(wait_fresh "$name")
        ev "$name" "fresh-after-resume:$r"
        sleep 2
        ;;
    balloon)
        V metadata "$name" urn:momd:tune:1 --key momd --set '<tune><vcpu limit="30"/></tune>' \
            --live >/dev/null 2>&1 && ev "$name" tuned
        balloon_line "$name" 30 && ev "$name" balloon-seen
        ;;
    sampled)
        sleep "$((3 + RANDOM % 3)).$((RANDOM % 10))"
        ;;
    undefine)
        sleep 4
        V undefine "$name" >/dev/null 2>&1 && ev "$name" undefined-running
        sleep 1
        ;;
    esac
    V destroy "$name" >/dev/null 2>&1 && ev "$name" destroyed
    V undefine "$name" >/dev/null 2>&1
    ev "$name" gone
}

modes=(full balloon sampled booting full undefine sampled balloon)
slot() { # slot N: guests one after another until the deadline
    local i=0 mem
    while [ "$(now_ms)" -lt "$deadline_ms" ]; do
        mem=$((256 + 64 * ((i + $1) % 3))) # 256, 320 or 384 MiB
        life "soak-$$-$1-$i" "${modes[$(((i + 3 * $1) % ${#modes[@]}))]}" "$mem"
        i=$((i + 1))
    done
}
deadline_ms=$(($(now_ms) + soak_seconds * 1000))
slot_pids=
for s in 0 1 2; do
    slot "$s" &
    slot_pids="$slot_pids $!"
    sleep 2 # the boots need not all share the 2 CPUs at once
done
alive_during=yes
for p in $slot_pids; do wait "$p"; done
slot_pids=
kill -0 "$momd_pid" 2>/dev/null || alive_during=no
t_churn=$(($(now_ms) - t_momd))
kill "$sampler_pid" 2>/dev/null && wait "$sampler_pid" 2>/dev/null
sampler_pid=

# Let momd see the last guests go, then stop it: LSan reports at exit.
sleep 3
kill -TERM "$momd_pid"
rc=0
wait "$momd_pid" || rc=$?
momd_pid=

guests=$(awk '$3 == "started" { n++ } END { print n + 0 }' "$events")
echo "# churn: $((t_churn / 1000)) s, $guests guests started, $(grep -c ' destroyed$' "$events") destroyed," \
    "$(grep -c ' resumed$' "$events") suspended and resumed, $(grep -c ' setmem$' "$events") setmem," \
    "$(grep -c ' balloon-seen$' "$events") destroyed right after a balloon change," \
    "$(grep -c ' undefined-running$' "$events") undefined while running;" \
    "$(grep -c 'failed$' "$events") lab failures;" \
    "$(grep -ao 'momd stopped after [0-9]* policy cycle' "$log" | grep -o '[0-9]*') policy cycles"
echo "# momd series (ms since start, state, VmRSS KiB, fds, threads), every 10 s:"
awk 'NR % 5 == 1' "$series" | sed 's/^/#   /'

check "momd stayed alive through the churn (every 2 s: $(grep -c alive "$series") alive, $(grep -c dead "$series") dead)" \
    sh -c "[ '$alive_during' = yes ] && ! grep -q dead '$series'"
check "SIGTERM: momd exits 0 (exit $rc)" test "$rc" -eq 0
check "guests churned: at least 12 started ($guests)" test "$guests" -ge 12
san_clean() {
    if ls "$tmp"/san/* >/dev/null 2>&1; then
        head -n 40 "$tmp"/san/* | sed 's/^/#   sanitizer: /'
        return 1
    fi
    ! grep -aq 'runtime error:\|ERROR: AddressSanitizer\|ERROR: LeakSanitizer' "$tmp/err" "$tmp/out"
}
check "no ASan, UBSan or LSan report" san_clean

flat() {
    python3 - "$series" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
rows = [(int(r[0]), int(r[2]), int(r[3]), int(r[4])) for r in rows if r[1] == "alive"]
late = [r for r in rows if r[0] >= 60000]
if len(late) < 9:
    print(f"#   only {len(late)} samples after the first minute")
    sys.exit(1)
third = len(late) // 3
bad = 0
for i, (name, tol) in enumerate([("VmRSS KiB", None), ("fds", 2), ("threads", 4)], 1):
    first = statistics.median(r[i] for r in late[:third])
    last = statistics.median(r[i] for r in late[-third:])
    allowed = max(first * 0.05, 4096) if tol is None else tol
    lo, hi = min(r[i] for r in late), max(r[i] for r in late)
    ok = last <= first + allowed
    bad |= not ok
    print(f"#   {name}: median of the first third {first:g}, of the last third {last:g} "
          f"(allowed +{allowed:g}); range after 60 s {lo}..{hi}{'' if ok else '  GROWING'}")
sys.exit(bad)
EOF
}
check "RSS, fds and threads are flat after the first minute" flat

clean_lines() {
    python3 - "$log" <<'EOF'
import sys, unicodedata
bad = 0
for n, raw in enumerate(open(sys.argv[1], "rb"), 1):
    try:
        line = raw.decode("utf-8").rstrip("\n")
    except UnicodeDecodeError as e:
        print(f"#   log line {n} is not valid UTF-8 ({e}): {raw[:120]!r}")
        bad += 1
        continue
    if any(unicodedata.category(c) == "Cc" for c in line):
        print(f"#   log line {n} has a control character: {line[:120]!r}")
        bad += 1
print(f"#   {n} log lines read")
sys.exit(1 if bad else 0)
EOF
}
check "every log line is valid UTF-8 without control characters" clean_lines

managed_in_time() {
    python3 - "$events" "$log" "$policy_interval" <<'EOF'
import datetime, re, sys
events, log, interval = sys.argv[1], sys.argv[2], int(sys.argv[3])
bound = 2 * interval * 1000
ev = {}
for l in open(events):
    ms, name, what = l.split()
    ev.setdefault(name, []).append((int(ms), what))
managed = {}
pat = re.compile(r"^(\S+ \S+),(\d{3}) - \S+ - \S+ - Guest (\S+) \(.*\) is now managed\.")
for l in open(log, encoding="utf-8", errors="replace"):
    m = pat.match(l)
    if m:
        t = datetime.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S").timestamp() * 1000
        managed.setdefault(m.group(3), []).append(int(t) + int(m.group(2)))
bad, late, checked, resumes = 0, [], 0, []
for name, es in ev.items():
    start = next((t for t, w in es if w == "started"), None)
    end = next((t for t, w in es if w in ("destroyed", "undefined-running", "gone")), None)
    if start is None or end is None or end - start < bound:
        continue  # it did not run for two cycles
    checked += 1
    since = next((t for t, w in es if w == "starting"), start)
    first = min((t for t in managed.get(name, []) if t >= since), default=None)
    took = None if first is None else max(first - start, 0)
    late.append(took)
    if took is None or took > bound:
        print(f"#   {name}: started, but managed {'never' if took is None else f'after {took} ms'}")
        bad += 1
    for t, w in es:
        if w.startswith("fresh-after-resume:"):
            r = w.split(":")[1]
            resumes.append(r)
            if r == "never" or int(r) > bound + 2000:
                print(f"#   {name}: no fresh sample within {bound + 2000} ms of its resume ({r})")
                bad += 1
took = sorted(t for t in late if t is not None)
if took:
    print(f"#   {checked} guests ran for 2 cycles; managed after {took[0]}..{took[-1]} ms "
          f"(median {took[len(took) // 2]}); fresh after resume (ms): {' '.join(resumes)}")
sys.exit(1 if bad or not checked else 0)
EOF
}
check "every live guest is managed within 2 policy cycles of its start, and sampled again after a resume" \
    managed_in_time

grep -aE ' - (WARNING|ERROR|CRITICAL) - ' "$log" | head -n 20 | sed 's/^/#   warning: /'
check "no WARNING, ERROR or CRITICAL for a churn of healthy guests ($(grep -acE ' - (WARNING|ERROR|CRITICAL) - ' "$log"))" \
    sh -c "! grep -aqE ' - (WARNING|ERROR|CRITICAL) - ' '$log'"
check "momd wrote nothing to stderr" test ! -s "$tmp/err"

echo "# total $((($(now_ms) - t_all) / 1000)) s"
echo "1..$n"
[ "$failed" -eq 0 ]
