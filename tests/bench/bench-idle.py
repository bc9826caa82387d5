#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""What an idle momd costs: CPU per minute and memory at N guests.

    bench-idle.py [--momd build/src/momd] [--guests 200,1000] [--seconds 60]
                  [--warmup 15] [--runs 3] [--tune-every 10] [--dry-run]
                  [--set SECTION.KEY=VALUE]... [--mom-balloon] [--real-proc]
                  [--keep DIR] [--json FILE]

For each N and run, in a new temporary directory:

  * a libvirt test-driver node file with N running guests, written by
    tests/libvirt/make-test-xml.py: each with a virtio memballoon,
    <memory> 1 GiB and <currentMemory> 1017-1024 MiB (balloons that the
    default policies leave alone once a warm-up cycle has grown them back
    to <memory>: the idle state), every third with a
    <min_guarantee>, every fifth with <nosharepages/>, every
    --tune-every-th with momd's tuning metadata (docs/metadata.md:
    balloon min-kib and weight, vcpu limit 50);
  * a momd.conf that is the shipped data/momd.conf, line for line, with
    only these values replaced: libvirt-hypervisor-uri (test:///that
    file), policy-dir (the source tree's data/policies), rpc-port (a
    socket in the directory), sysfs-root (a copy of the host's
    /sys/kernel/mm/ksm and /sys/devices/system/cpu/online in the
    directory, so that the KSM controller's writes change a file there
    and not the host's KSM), proc-root (a quiet host: /proc/meminfo,
    vmstat and stat copied at the start, MemFree and MemAvailable set to
    3/4 of MemTotal, and the real pressure/memory; --real-proc: /proc,
    whose MemAvailable, on a shared machine, may start the pressure fast
    path and move the balloons), [logging] log (a file in the directory).
    Everything else stays as shipped: the intervals (host, guests and
    guest manager every 5 s, policy every 10 s), the collectors, the
    controllers (Balloon, KSM, CpuTune, IoTune, real controls: the test
    driver takes balloon changes), the pressure fast path (PSI trigger on
    the real /proc/pressure/memory, MemAvailable every 250 ms), the
    history, lock-memory.  --dry-run sets dry-run: true instead, and
    --set SECTION.KEY=VALUE any key the shipped file has (one it does not
    have is an error), to see what a setting costs.

momd (the real binary, in the foreground, as a child that dies with this
script) runs --warmup seconds, then the time its threads ran on a CPU in
the --seconds window is read from /proc/PID/task/TID/schedstat, the
scheduler's own count in ns, once a second (a thread that ends in the
window loses at most a second); the user/system split comes from
/proc/PID/stat (utime + stime, in clock ticks); at the end also VmRSS, RssAnon and
Threads from /proc/PID/status.  The libvirt test driver runs inside
momd's process, so its work and its domains are counted too, as in the
issue's measurement.

After the window (not inside it) the control API is asked, over the
socket, how many guests momd manages (getActiveGuests) and which policy
cycle it is at (getControls): every guest must be managed and at least
one policy cycle must have run, or the run fails.  Then momd gets
SIGTERM and must exit with status 0; the warnings its log holds are
counted and printed.

--mom-balloon runs the shipped policies with MOM's balloon rules
(data/examples/10-balloon-mom.policy) in place of 10-balloon, the
condition issue 13 set its target in.

One line per run, with the CPU of each thread by name under it ("momd" is
the main loop, "momd-watch" the MemAvailable watch, "pool-momd" the guest
collection), then per N the median and the range of the runs.  The
schedstat count is exact; what varies from run to run is the work itself
(cache misses after other processes ran), so compare medians of several
runs on a quiet machine.  Load from other
processes hardly changes a process's own CPU time, which is why this
measures that and not wall time.

Exit status: 0 if every run went through, 1 otherwise.  Needs python3
(stdlib only), and root for the shipped rpc-port rules and the PSI
trigger (as momd on a host).
"""
import argparse
import ctypes
import importlib.util
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import xmlrpc.client

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
XML_SCRIPT = os.path.join(SRC, "tests", "libvirt", "make-test-xml.py")
CONF = os.path.join(SRC, "data", "momd.conf")
POLICIES = os.path.join(SRC, "data", "policies")

READY_TIMEOUT = 60  # s for the control socket to appear
STOP_TIMEOUT = 30   # s for momd to exit after SIGTERM
PR_SET_PDEATHSIG = 1


def load_rpc_client():
    """The control API client of tests/integration/test-rpc-python.py
    (XML-RPC over momd's UNIX socket), not written twice."""
    path = os.path.join(SRC, "tests", "integration", "test-rpc-python.py")
    spec = importlib.util.spec_from_file_location("mom_test_rpc_python", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rpc(path, method, *params):
    return getattr(load_rpc_client().proxy(path), method)(*params)


def proc_cpu_ticks(pid):
    """(utime, stime) of every thread of @pid so far, in clock ticks."""
    with open("/proc/%d/stat" % pid) as f:
        text = f.read()
    # "PID (COMM) S ...": COMM may hold spaces; utime and stime are fields 14, 15
    fields = text[text.rindex(")") + 2:].split()
    return int(fields[11]), int(fields[12])


def threads_runtime_ns(pid, seen, names=None, slices=None):
    """Updates @seen (tid -> ns on a CPU so far, from /proc/PID/task/TID/schedstat,
    the scheduler's exact count) with every thread of @pid that is alive now,
    @slices (tid -> times it was put on a CPU: its wake-ups, near enough) and
    @names (tid -> the thread's name) if given."""
    base = "/proc/%d/task" % pid
    for tid in os.listdir(base):
        try:
            with open("%s/%s/schedstat" % (base, tid)) as f:
                fields = f.read().split()
            seen[tid] = max(seen.get(tid, 0), int(fields[0]))
            if slices is not None:
                slices[tid] = max(slices.get(tid, 0), int(fields[2]))
            if names is not None and tid not in names:
                with open("%s/%s/comm" % (base, tid)) as f:
                    names[tid] = f.read().strip()
        except (OSError, ValueError, IndexError):
            pass  # the thread ended between the listing and the read


def watch_runtime(pid, seconds):
    """Sleeps @seconds and returns the ns @pid's threads ran in them, the
    same per thread name (threads of one name summed), and the times each
    thread name was put on a CPU: read once a second, so that a thread that
    ends in the window loses at most a second."""
    start, seen, names, slices0, slices = {}, {}, {}, {}, {}
    threads_runtime_ns(pid, start, None, slices0)
    end = time.monotonic() + seconds
    while True:
        threads_runtime_ns(pid, seen, names, slices)
        left = end - time.monotonic()
        if left <= 0:
            break
        time.sleep(min(1.0, left))
    per_name, runs = {}, {}
    for tid, ns in seen.items():
        name = names.get(tid, "?")
        per_name[name] = per_name.get(name, 0) + ns - start.get(tid, 0)
        runs[name] = runs.get(name, 0) + slices.get(tid, 0) - slices0.get(tid, 0)
    return sum(ns - start.get(tid, 0) for tid, ns in seen.items()), per_name, runs


def proc_status(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "RssAnon", "RssFile", "Threads"):
                out[key] = int(value.split()[0])
    return out


def fake_sysfs(root):
    """The host's KSM files and online CPUs, copied: momd's writes stay here."""
    ksm = os.path.join(root, "kernel", "mm", "ksm")
    cpu = os.path.join(root, "devices", "system", "cpu")
    os.makedirs(ksm)
    os.makedirs(cpu)
    defaults = {"run": "0\n", "pages_to_scan": "100\n", "sleep_millisecs": "20\n",
                "merge_across_nodes": "1\n", "full_scans": "0\n", "pages_shared": "0\n",
                "pages_sharing": "0\n", "pages_unshared": "0\n", "pages_volatile": "0\n",
                "pages_scanned": "0\n", "ksm_zero_pages": "0\n", "smart_scan": "1\n",
                "advisor_mode": "[none] scan-time\n", "max_page_sharing": "256\n"}
    real = "/sys/kernel/mm/ksm"
    names = os.listdir(real) if os.path.isdir(real) else []
    for name in sorted(set(names) | set(defaults)):
        try:
            with open(os.path.join(real, name)) as f:
                text = f.read()
        except OSError:
            text = defaults.get(name)
        if text is not None:
            with open(os.path.join(ksm, name), "w") as f:
                f.write(text)
    try:
        with open("/sys/devices/system/cpu/online") as f:
            online = f.read()
    except OSError:
        online = "0-%d\n" % (os.cpu_count() - 1)
    with open(os.path.join(cpu, "online"), "w") as f:
        f.write(online)


def fake_proc(root):
    """A quiet host: /proc's meminfo, vmstat and stat as they are now, with
    MemFree and MemAvailable at 3/4 of MemTotal, frozen; pressure/memory is
    the real one (the policies do not read PSI; a trigger is armed on it,
    or refused, as on the host).  No processes: the test driver has no QEMU."""
    os.makedirs(root)
    with open("/proc/meminfo") as f:
        meminfo = f.read()
    total = int(re.search(r"^MemTotal:\s+(\d+)", meminfo, re.M).group(1))
    for key in ("MemFree", "MemAvailable"):
        meminfo = re.sub(r"^(%s:\s+)\d+" % key, lambda m: m.group(1) + str(total * 3 // 4),
                         meminfo, flags=re.M)
    with open(os.path.join(root, "meminfo"), "w") as f:
        f.write(meminfo)
    for name in ("vmstat", "stat"):
        shutil.copyfile("/proc/" + name, os.path.join(root, name))
    os.symlink("/proc/pressure", os.path.join(root, "pressure"))


def write_conf(path, replace, dry_run):
    """data/momd.conf with the values of @replace ((section, key) -> value)."""
    section = None
    done = set()
    out = []
    with open(CONF) as f:
        for line in f:
            m = re.match(r"\[(.*)\]\s*$", line)
            if m:
                section = m.group(1)
            m = re.match(r"([A-Za-z0-9_-]+)\s*[:=]", line)
            if m and (section, m.group(1)) in replace:
                line = "%s: %s\n" % (m.group(1), replace[(section, m.group(1))])
                done.add((section, m.group(1)))
            elif m and dry_run and (section, m.group(1)) == ("main", "dry-run"):
                line = "dry-run: true\n"
            out.append(line)
    missing = set(replace) - done
    if missing:
        raise RuntimeError("data/momd.conf has no %s" % ", ".join("[%s] %s" % k for k in missing))
    with open(path, "w") as f:
        f.write("# data/momd.conf as shipped, with the paths of bench-idle.py\n")
        f.writelines(out)


def conf_setting(text):
    """--set's SECTION.KEY=VALUE as ((section, key), value)."""
    m = re.match(r"([^.=\s]+)\.([A-Za-z0-9_-]+)=(.*)$", text)
    if not m:
        raise argparse.ArgumentTypeError("'%s' is not SECTION.KEY=VALUE" % text)
    return (m.group(1), m.group(2)), m.group(3)


def set_pdeathsig():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def log_tail(path, lines=30):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return ""


def one_run(args, n, keep_dir):
    tmp = tempfile.mkdtemp(prefix="momd-idle-")
    os.chmod(tmp, 0o700)
    xml = os.path.join(tmp, "guests.xml")
    conf = os.path.join(tmp, "momd.conf")
    sock = os.path.join(tmp, "momd.sock")
    log = os.path.join(tmp, "momd.log")
    out = os.path.join(tmp, "momd.out")
    sysfs = os.path.join(tmp, "sys")
    procfs = "/proc" if args.real_proc else os.path.join(tmp, "proc")
    proc = None
    try:
        subprocess.run([sys.executable, XML_SCRIPT, str(n), xml, "--max-mib", "1024",
                        "--cur-mib", "1024", "--tune-every", str(args.tune_every)], check=True)
        fake_sysfs(sysfs)
        if not args.real_proc:
            fake_proc(procfs)
        replace = dict(args.set)
        replace.update({
            ("main", "libvirt-hypervisor-uri"): "test://" + xml,
            ("main", "policy-dir"): args.policy_dir,
            ("main", "rpc-port"): sock,
            ("main", "sysfs-root"): sysfs,
            ("main", "proc-root"): procfs,
            ("logging", "log"): log,
        })
        write_conf(conf, replace, args.dry_run)
        argv = [args.momd, "-c", conf]
        if args.callgrind:
            # counted only within the window (callgrind_control below)
            cg_out = os.path.join(args.callgrind, "callgrind-%d-%d.out" % (n, int(time.time())))
            argv = ["valgrind", "--tool=callgrind", "--instr-atstart=no",
                    "--callgrind-out-file=" + cg_out] + argv
        with open(out, "wb") as o:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=o,
                                    stderr=subprocess.STDOUT, preexec_fn=set_pdeathsig)
        end = time.monotonic() + READY_TIMEOUT
        while not os.path.exists(sock):
            if proc.poll() is not None or time.monotonic() > end:
                raise RuntimeError("momd did not open its control socket:\n" + log_tail(log)
                                   + log_tail(out))
            time.sleep(0.1)
        time.sleep(args.warmup)
        if proc.poll() is not None:
            raise RuntimeError("momd exited during the warm-up:\n" + log_tail(log))
        t0, c0, l0 = time.monotonic(), proc_cpu_ticks(proc.pid), os.path.getsize(log)
        if args.callgrind:
            subprocess.run(["callgrind_control", "-i", "on", str(proc.pid)], check=True,
                           stdout=subprocess.DEVNULL)
        if args.perf:
            # the window under perf: its CPU numbers are not the run's own
            data = os.path.join(args.perf, "perf-%d-%d.data" % (n, int(time.time())))
            subprocess.run(["perf", "record", "-q", "-F", str(args.perf_freq), "--call-graph", "dwarf,16384",
                            "-p", str(proc.pid), "-o", data, "--", "sleep", str(args.seconds)],
                           check=True, stdout=subprocess.DEVNULL)
            print("bench-idle: perf data in %s" % data, flush=True)
            ran_ns, per_thread, thread_runs = None, {}, {}
        else:
            ran_ns, per_thread, thread_runs = watch_runtime(proc.pid, args.seconds)
        t1, c1, l1 = time.monotonic(), proc_cpu_ticks(proc.pid), os.path.getsize(log)
        if args.callgrind:
            subprocess.run(["callgrind_control", "-i", "off", str(proc.pid)], check=True,
                           stdout=subprocess.DEVNULL)
            print("bench-idle: callgrind data in %s (at exit)" % cg_out, flush=True)
        with open(log, "rb") as f:
            f.seek(l0)
            window = f.read(l1 - l0).decode(errors="replace").splitlines()
        st = proc_status(proc.pid)
        guests = rpc(sock, "getActiveGuests")
        cycle = rpc(sock, "getControls").get("cycle", 0)
        if len(guests) != n:
            raise RuntimeError("momd manages %d guests, not %d" % (len(guests), n))
        if cycle < 1:
            raise RuntimeError("momd ran no policy cycle")
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise RuntimeError("momd did not exit within %d s of SIGTERM" % STOP_TIMEOUT)
        if rc != 0:
            raise RuntimeError("momd exited with status %d after SIGTERM:\n%s" % (rc, log_tail(log)))
        with open(log, errors="replace") as f:
            warnings = sum(1 for line in f if "WARNING" in line or "-WARNING" in line)
        per_min = 1000.0 / os.sysconf("SC_CLK_TCK") * 60.0 / (t1 - t0)
        return {
            "guests": n,
            # the scheduler's own count, to the ns (None under perf)
            "cpu_ms_per_min": ran_ns / 1e6 * 60.0 / (t1 - t0) if ran_ns is not None
            else (sum(c1) - sum(c0)) * per_min,
            "ticks_ms_per_min": (sum(c1) - sum(c0)) * per_min,
            # by thread name: "momd" is the main loop
            "threads_ms_per_min": {name: ns / 1e6 * 60.0 / (t1 - t0)
                                   for name, ns in sorted(per_thread.items())},
            # times each thread was put on a CPU, a minute (its wake-ups)
            "thread_runs_per_min": {name: k * 60.0 / (t1 - t0)
                                    for name, k in sorted(thread_runs.items())},
            "user_ms_per_min": (c1[0] - c0[0]) * per_min,
            "sys_ms_per_min": (c1[1] - c0[1]) * per_min,
            "window_s": t1 - t0,
            "vmrss_kib": st["VmRSS"],
            "rssanon_kib": st["RssAnon"],
            "rssfile_kib": st["RssFile"],
            "threads": st["Threads"],
            "cycle": cycle,
            "warnings": warnings,
            # what was not idle in the window: the fast path ran the policy
            # (MemAvailable fell on the host), or a controller changed something
            "fast_path": sum(1 for line in window if "running the policy now" in line),
            "changes": sum(1 for line in window if " - mom-controller - " in line),
        }
    finally:
        if proc and proc.poll() is None:
            proc.kill()
            proc.wait()
        if keep_dir:
            dest = os.path.join(keep_dir, "%d-%d" % (n, int(time.time() * 1000)))
            shutil.copytree(tmp, dest, symlinks=True, ignore=shutil.ignore_patterns("momd.sock"))
        shutil.rmtree(tmp, ignore_errors=True)


def fmt(r):
    runs = r.get("thread_runs_per_min", {})
    by_thread = ", ".join("%s %.1f (%.0f runs)" % (name, ms, runs.get(name, 0))
                          for name, ms in r["threads_ms_per_min"].items())
    return ("guests %5d  CPU %7.1f ms/min (ticks: user %.0f, sys %.0f)  VmRSS %6.1f MiB  RssAnon %5.2f MiB  RssFile %5.1f MiB  "
            "threads %2d  cycle %d  warnings %d  in the window: fast path %d, changes %d" % (
                r["guests"], r["cpu_ms_per_min"], r["user_ms_per_min"], r["sys_ms_per_min"],
                r["vmrss_kib"] / 1024.0,
                r["rssanon_kib"] / 1024.0, r["rssfile_kib"] / 1024.0, r["threads"], r["cycle"],
                r["warnings"], r["fast_path"], r["changes"])
            + ("\n       by thread (ms/min, times on a CPU/min): " + by_thread if by_thread else ""))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--momd", default=os.path.join(SRC, "build", "src", "momd"))
    p.add_argument("--policy-dir", default=POLICIES)
    p.add_argument("--mom-balloon", action="store_true",
                   help="the shipped policies with MOM's balloon rules "
                        "(data/examples/10-balloon-mom.policy) as 10-balloon, as issue 13 measured")
    p.add_argument("--guests", default="200,1000", help="comma-separated guest counts")
    p.add_argument("--seconds", type=float, default=60.0, help="the measured window")
    p.add_argument("--warmup", type=float, default=15.0, help="seconds before the window")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--tune-every", type=int, default=10,
                   help="every K-th guest carries tuning metadata (0: none)")
    p.add_argument("--dry-run", action="store_true", help="dry-run: true in momd.conf")
    p.add_argument("--real-proc", action="store_true",
                   help="the host's own /proc (its MemAvailable may start the fast path)")
    p.add_argument("--set", metavar="SECTION.KEY=VALUE", action="append", default=[],
                   type=conf_setting,
                   help="another value for a key of the shipped config (repeatable), "
                        "e.g. pressure.watch-interval-ms=0")
    p.add_argument("--keep", metavar="DIR", help="copy each run's directory (log, conf) here")
    p.add_argument("--json", metavar="FILE", help="also write every run as JSON")
    p.add_argument("--perf", metavar="DIR",
                   help="record the window with perf into DIR (the CPU then counts perf's part)")
    p.add_argument("--perf-freq", type=int, default=999, metavar="HZ",
                   help="perf's sampling rate (an idle momd runs ~50 ms a minute: "
                        "20000 gives some 1 000 samples)")
    p.add_argument("--callgrind", metavar="DIR",
                   help="run momd under callgrind, counting the window only, into DIR "
                        "(give a longer --warmup; the CPU is then valgrind's)")
    args = p.parse_args()
    args.momd = os.path.abspath(args.momd)
    args.policy_dir = os.path.abspath(args.policy_dir)
    sizes = [int(x) for x in args.guests.split(",") if x]
    if not os.access(args.momd, os.X_OK):
        p.error("%s is not an executable momd (build it, or give --momd)" % args.momd)
    for d in ("keep", "perf", "callgrind"):
        if getattr(args, d):
            setattr(args, d, os.path.abspath(getattr(args, d)))
            os.makedirs(getattr(args, d), exist_ok=True)

    mom_dir = None
    if args.mom_balloon:
        mom_dir = tempfile.mkdtemp(prefix="momd-idle-policies-")
        for name in os.listdir(args.policy_dir):
            if name.endswith(".policy"):
                shutil.copy(os.path.join(args.policy_dir, name), mom_dir)
        shutil.copy(os.path.join(SRC, "data", "examples", "10-balloon-mom.policy"),
                    os.path.join(mom_dir, "10-balloon.policy"))
        args.policy_dir = mom_dir

    results, failed = [], False
    print("bench-idle: momd %s, warm-up %g s, window %g s, %d run(s), %s%s" % (
        args.momd, args.warmup, args.seconds, args.runs,
        "dry run" if args.dry_run else "real controls",
        ", MOM's balloon rules" if args.mom_balloon else ""), flush=True)
    for n in sizes:
        for run in range(args.runs):
            try:
                r = one_run(args, n, args.keep)
            except (RuntimeError, OSError, subprocess.CalledProcessError,
                    xmlrpc.client.Error) as e:
                print("bench-idle: %d guests, run %d failed: %s" % (n, run + 1, e),
                      file=sys.stderr, flush=True)
                failed = True
                continue
            r["run"] = run + 1
            results.append(r)
            print("run %d  %s" % (run + 1, fmt(r)), flush=True)
    for n in sizes:
        rs = [r for r in results if r["guests"] == n]
        if not rs:
            continue
        cpu = [r["cpu_ms_per_min"] for r in rs]
        anon = [r["rssanon_kib"] / 1024.0 for r in rs]
        rss = [r["vmrss_kib"] / 1024.0 for r in rs]
        print("median guests %5d  CPU %7.1f ms/min (%.1f-%.1f)  VmRSS %.1f MiB (%.1f-%.1f)  "
              "RssAnon %.2f MiB (%.2f-%.2f)  threads %s" % (
                  n, statistics.median(cpu), min(cpu), max(cpu), statistics.median(rss),
                  min(rss), max(rss), statistics.median(anon), min(anon), max(anon),
                  "/".join(str(r["threads"]) for r in rs)), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    if mom_dir:
        shutil.rmtree(mom_dir, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(1))
    sys.exit(main())
