#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""bench-ksm: how fast KSM merges, and what ksmd costs when idle, on this
machine's real KSM, for momd's shipped policies and for fixed rates.

    tests/bench/bench-ksm.py --momd build/src/momd --region build/tests/ksm-region \
        [--runs N] [--only NAME] [--json FILE]

Needs root and a writable /sys/kernel/mm/ksm.  For each strategy, in
every run:

  1. KSM is reset: run=2 unmerges everything, then run=0, and
     pages_to_scan/sleep_millisecs go back to the kernel's defaults
     (100 / 20), so that every strategy starts from the same state;
  2. merge: ksm-region maps 512 MiB (--merge-mib), half of it identical pages, the other
     half unique, MADV_MERGEABLE.  Then at T0 the strategy starts: momd is
     started (the shipped policies, default intervals, the KSM controller
     alone, with a site file that counts the host as short of memory,
     pressure_free_ratio 0.999, as test-ksm-real.sh and the issue's
     measurement do), or the fixed rate is written and run=1.  "merged" is
     the time from T0 until pages_shared + pages_sharing reach 99 % of the
     identical pages (at most 120 s), and ksmd's CPU time over it;
  3. idle: the region is replaced by a 64 MiB region of unique pages
     (nothing to merge).  After 30 s to settle, ksmd's CPU time is taken
     over 30 s and given per minute.

ksmd's CPU time is utime + stime of the ksmd kernel thread, in clock ticks.
Every KSM tunable is saved first and put back on every exit (and the
machine-wide lock of test-ksm-real.sh is taken, so the two never overlap).
Run it on a machine of its own: the reset unmerges every page KSM merged on
the host, the guests' too.
"""
import argparse
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

KSM = "/sys/kernel/mm/ksm"
TICK = os.sysconf("SC_CLK_TCK")
MERGE_MIB, MERGE_PCT = 512, 50
IDLE_MIB = 64
MERGE_DEADLINE_S = 120
SETTLE_S, IDLE_S = 30, 30

# name -> (pages_to_scan, sleep_millisecs), or None for momd
STRATEGIES = [
    ("momd", None),
    ("ksmtuned start (64 / 6 ms)", (64, 6)),
    ("ksmtuned max (1250 / 6 ms)", (1250, 6)),
    ("kernel default (100 / 20 ms)", (100, 20)),
]


def rd(name):
    with open(os.path.join(KSM, name)) as f:
        v = f.read().strip()
    if "[" in v:  # "[none] scan-time"
        v = v[v.index("[") + 1:v.index("]")]
    return v


def wr(name, value):
    with open(os.path.join(KSM, name), "w") as f:
        f.write("%s\n" % value)


def writable():
    out = {}
    for name in sorted(os.listdir(KSM)):
        path = os.path.join(KSM, name)
        if os.path.isfile(path) and os.stat(path).st_mode & 0o200:
            out[name] = rd(name)
    return out


def restore(saved):
    wr("run", 2)  # unmerge what the bench merged, so merge_across_nodes may change
    wait_unmerged()
    for name, value in saved.items():
        if name in ("run", "advisor_mode") or rd(name) == value:
            continue
        try:
            wr(name, value)
        except OSError as e:
            print("# could not restore %s=%s: %s" % (name, value, e), file=sys.stderr)
    if "advisor_mode" in saved and rd("advisor_mode") != saved["advisor_mode"]:
        wr("advisor_mode", saved["advisor_mode"])
    wr("run", saved["run"])


def merged():
    return int(rd("pages_shared")) + int(rd("pages_sharing"))


def scanned():
    """pages_scanned (Linux 6.1+), or None."""
    try:
        return int(rd("pages_scanned"))
    except OSError:
        return None


def wait_unmerged(deadline_s=60):
    end = time.monotonic() + deadline_s
    while merged() > 0 and time.monotonic() < end:
        time.sleep(0.05)


def ksmd_ticks():
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % pid) as f:
                stat = f.read()
        except OSError:
            continue
        if stat[stat.index("(") + 1:stat.rindex(")")] == "ksmd":
            fields = stat[stat.rindex(")") + 2:].split()
            return int(fields[11]) + int(fields[12])
    raise SystemExit("bench-ksm: no ksmd thread in /proc (a kernel without KSM?)")


class Region:
    """A ksm-region child: bounded in size and time, oom_score_adj 1000."""

    def __init__(self, exe, mib, pct):
        self.proc = subprocess.Popen([exe, str(mib), str(pct), "900"], stdout=subprocess.PIPE,
                                     text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("ready"):
            self.stop()
            raise SystemExit("bench-ksm: ksm-region %d MiB did not start: %r" % (mib, line))
        self.identical = int(line.split("identical=")[1].split()[0])

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


class Momd:
    def __init__(self, exe, policy_dir, tmp):
        self.tmp = tmp
        pol = os.path.join(tmp, "policies")
        os.makedirs(pol, exist_ok=True)
        for name in sorted(os.listdir(policy_dir)):
            if name.endswith(".policy"):
                with open(os.path.join(policy_dir, name)) as src, \
                        open(os.path.join(pol, name), "w") as dst:
                    dst.write(src.read())
        with open(os.path.join(pol, "01-bench.policy"), "w") as f:
            f.write("# bench-ksm: the host counts as short of memory.\n"
                    "(set pressure_free_ratio 0.999)\n")
        self.conf = os.path.join(tmp, "momd.conf")
        self.log = os.path.join(tmp, "momd.log")
        with open(self.conf, "w") as f:
            f.write("[main]\nrpc-port: -1\ncontrollers: KSM\nksm-restore-on-exit: true\n"
                    "policy-dir: %s\n[logging]\nlog: %s\nverbosity: info\n"
                    "[host]\ncollectors: HostMemory, HostKSM\n[guest]\ncollectors:\n"
                    % (pol, self.log))
        self.proc = subprocess.Popen([exe, "-c", self.conf], stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(tmp, "momd.err"), "w"))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.returncode not in (0, -signal.SIGTERM):
            with open(os.path.join(self.tmp, "momd.err")) as f:
                sys.stderr.write(f.read())
            raise SystemExit("bench-ksm: momd exited with status %s" % self.proc.returncode)


def reset_ksm():
    wr("run", 2)
    wait_unmerged()
    wr("run", 0)
    wr("pages_to_scan", 100)
    wr("sleep_millisecs", 20)


def one(args, name, rate, tmp):
    reset_ksm()
    region = Region(args.region, args.merge_mib, MERGE_PCT)
    momd = None
    try:
        want = 0.99 * region.identical
        c0 = ksmd_ticks()
        t0 = time.monotonic()
        if rate:
            wr("pages_to_scan", rate[0])
            wr("sleep_millisecs", rate[1])
            wr("run", 1)
        else:
            momd = Momd(args.momd, args.policies, tmp)
        while merged() < want and time.monotonic() - t0 < MERGE_DEADLINE_S:
            time.sleep(0.01)
        merge_s = time.monotonic() - t0 if merged() >= want else None
        merge_cpu = (ksmd_ticks() - c0) / TICK
        region.stop()
        region = Region(args.region, IDLE_MIB, 0)
        time.sleep(SETTLE_S)
        c1, t1, s1 = ksmd_ticks(), time.monotonic(), scanned()
        time.sleep(IDLE_S)
        idle = (ksmd_ticks() - c1) / TICK * 60 / (time.monotonic() - t1)
        idle_scanned = None if s1 is None else scanned() - s1
        return {"strategy": name, "merge_s": merge_s, "merge_cpu_s": merge_cpu,
                "idle_cpu_s_per_min": idle, "idle_pages_scanned": idle_scanned,
                "final_pages_to_scan": int(rd("pages_to_scan")),
                "final_sleep_ms": int(rd("sleep_millisecs"))}
    finally:
        region.stop()
        if momd:
            momd.stop()


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--momd", required=True)
    ap.add_argument("--region", required=True)
    ap.add_argument("--policies",
                    default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                         "data", "policies"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--merge-mib", type=int, default=MERGE_MIB,
                    help="size of the half-identical region (default %(default)s)")
    ap.add_argument("--only")
    ap.add_argument("--json")
    ap.add_argument("--keep-logs", metavar="DIR",
                    help="copy each momd run's log to DIR/momd-RUN.log")
    args = ap.parse_args()
    if os.geteuid() != 0 or not os.access(os.path.join(KSM, "run"), os.W_OK):
        raise SystemExit("bench-ksm: needs root and a writable %s/run." % KSM)
    lock = open("/run/lock/momd-test-ksm-real.lock" if os.path.isdir("/run/lock")
                else "/tmp/momd-test-ksm-real.lock", "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    saved = writable()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    results = []
    try:
        print("%-30s %4s %9s %12s %14s %s" % ("strategy", "run", "merged s", "merge CPU s",
                                               "idle CPU s/min", "idle rate"))
        for run in range(1, args.runs + 1):
            for name, rate in STRATEGIES:
                if args.only and args.only not in name:
                    continue
                with tempfile.TemporaryDirectory(prefix="bench-ksm.") as tmp:
                    r = one(args, name, rate, tmp)
                    log = os.path.join(tmp, "momd.log")
                    if args.keep_logs and os.path.exists(log):
                        os.makedirs(args.keep_logs, exist_ok=True)
                        shutil.copy(log, os.path.join(args.keep_logs, "momd-%d.log" % run))
                r["run"] = run
                results.append(r)
                print("%-30s %4d %9s %12.2f %14.2f %d / %d ms" % (
                    name, run, fmt(r["merge_s"], ".2f"), r["merge_cpu_s"],
                    r["idle_cpu_s_per_min"], r["final_pages_to_scan"], r["final_sleep_ms"]),
                    flush=True)
    finally:
        restore(saved)
        if writable() != saved:
            print("# WARNING: KSM differs from what was saved: %s" % writable(), file=sys.stderr)
    print("\nmedian over %d run(s):" % args.runs)
    for name, _ in STRATEGIES:
        rs = [r for r in results if r["strategy"] == name]
        if not rs:
            continue
        med = lambda k: sorted((r[k] if r[k] is not None else float("inf")) for r in rs)[len(rs) // 2]
        merged = med("merge_s")
        print("%-30s merged %s, merge CPU %5.2f s, idle %5.2f s CPU/min" % (
            name, "%6.2f s" % merged if merged != float("inf") else
            "not within %d s" % MERGE_DEADLINE_S, med("merge_cpu_s"), med("idle_cpu_s_per_min")))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"kernel": os.uname().release, "cpus": os.cpu_count(),
                       "merge_mib": args.merge_mib, "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
