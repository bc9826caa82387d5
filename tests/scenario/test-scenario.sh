#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The short scenario (docs/scenario.md) with this build's momd: three TCG
# guests on a host whose memory a host workload takes down to a small
# headroom, then a large working set in one guest and then another, then
# the third guest wakes up and needs half its memory.  It asserts the
# outcome momd exists for: no OOM kill on the host, the host workload
# alive, every active guest's working set and the waking guest's completed
# without a guest OOM kill, the host never below half its headroom.
# Timings (reaction, work and wake-up times, the guests' memory stall,
# duration) are printed, not asserted: they are the benchmark's business
# (scripts/scenario.sh, several runs, docs/scenario.md).
# Root only (a private libvirtd, real host memory); SKIPs otherwise.
set -u
here=$(dirname "$(readlink -f "$0")")
top=$(cd "$here/../.." && pwd)
# shellcheck source=../tap.sh
. "$here/../tap.sh"

if [ "$(id -u)" -ne 0 ]; then
    echo "1..0 # SKIP needs root: a private libvirtd, QEMU guests and the host's memory"
    exit 0
fi
if ! /usr/bin/python3 -c 'import libvirt' 2>/dev/null; then
    echo "1..0 # SKIP python3-libvirt is not installed (scripts/deps.sh test installs it)"
    exit 0
fi
build=${MOMD%/src/momd}
headroom=${SCENARIO_HEADROOM_MIB:-256}
out=$(mktemp -d "${TMPDIR:-/tmp}/momd-scenario-test.XXXXXX")
keep=${MOMD_E2E_CACHE:-/tmp/momd-e2e}/scenario.last-failure
trap 'rm -rf "$out"' EXIT
# killed by meson's timeout: keep what the run wrote, to see why
trap 'rm -rf "$keep"; cp -a "$out" "$keep"; echo "# killed: files kept in $keep"; exit 143' TERM

echo "1..8"
# The run's own budget ends it, cleaned up and with its summary, a minute
# before meson's timeout (420 s) would kill it without either.  Its
# progress is shown as it comes, so that a slow phase shows in CI's log.
exec 3>&1 # the process substitution's output: the test's, not the run's stdout
/usr/bin/python3 "$top/scripts/scenario.py" --manager momd --build "$build" --out "$out" \
    --guests 3 --guest-mib 1024 --headroom-mib "$headroom" --hold 15 --settle 5 \
    --hog-seconds 600 --budget "${SCENARIO_BUDGET_S:-350}" \
    2> >(tee "$out/stderr" | sed -u 's/^/# /' >&3) >"$out/stdout"
rc=$?
wait # for the tee
summary=$out/summary.json
check "the scenario ran to its end (exit $rc)" [ "$rc" -eq 0 -a -s "$summary" ]
field() { /usr/bin/python3 -c "import json,sys; print(json.load(open('$summary')).get('$1'))" 2>/dev/null; }
check "no OOM kill on the host (oom_kills $(field oom_kills))" [ "$(field oom_kills)" = 0 ]
check "the host workload was not killed" [ "$(field host_workload_killed)" = False ]
check "every active guest completed its working set" [ "$(field active_guest_ok)" = True ]
check "the waking guest completed its working set without a guest OOM kill" \
    [ "$(field wake_guest_ok)" = True ]
check "no OOM kill in a guest (guest_oom_kills $(field guest_oom_kills))" \
    [ "$(field guest_oom_kills)" = 0 ]
min=$(field min_host_available_mib)
check "the host stayed above half its headroom (min MemAvailable $min MiB, headroom $headroom)" \
    /usr/bin/python3 -c "import sys; sys.exit(0 if float('$min') >= $headroom / 2 else 1)"
check "momd ran to the end" [ "$(field manager_alive)" = True ]
echo "# reaction_s=$(field reaction_s) reclaimed_mib=$(field reclaimed_mib)" \
    "balloon_changes=$(field balloon_changes) duration_s=$(field duration_s)"
echo "# guest_stall_ms=$(field guest_stall_ms) guest_min_usable_mib=$(field guest_min_usable_mib)" \
    "active_guest_work_s=$(field active_guest_work_s) wake_work_s=$(field wake_work_s)" \
    "wake_back_s=$(field wake_back_s)"
[ "$(field wake_back_why)" = None ] || echo "# wake_back_why: $(field wake_back_why)"
/usr/bin/python3 -c "
import json
for n, g in json.load(open('$summary')).get('guest_outcomes', {}).items():
    print(f'# {n}: {g.get(\"role\")} stall_ms={g.get(\"stall_ms\")} work_s={g.get(\"work_s\")}'
          f' min_usable_mib={g.get(\"min_usable_mib\")}')
" 2>/dev/null
echo "# phases (s): $(/usr/bin/python3 -c "
import json
print(', '.join(f'{p} {s}' for p, s in json.load(open('$summary')).get('phase_s') or []))
" 2>/dev/null)"
if [ "$failed" -gt 0 ]; then
    echo "# momd's warnings and errors (the last 40):"
    grep -E 'WARNING|ERROR|CRITICAL' "$out/manager.log" 2>/dev/null | tail -n 40 | sed 's/^/#   /'
    rm -rf "$keep" && cp -a "$out" "$keep" && echo "# files kept in $keep"
fi
[ "$failed" -eq 0 ]
