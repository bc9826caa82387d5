#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The scenario benchmark: real guests on a really overcommitted host.

Run it through scripts/scenario.sh (which builds what it needs); see
docs/scenario.md.  As root, it

  1. starts the e2e lab (tests/e2e/lab.sh): a private libvirtd and N TCG
     guests with a statistics-reporting virtio balloon and a guest agent;
  2. starts the manager under test (none, this checkout's momd, or any
     command given a MOM-format config for the lab);
  3. drives the phases: every guest touches and frees most of its memory
     (QEMU keeps it), a host workload (tests/scenario/host-hog.c) takes the
     host's memory down to a small headroom, then one guest needs a large
     working set while the others idle, then the roles change, then an idle
     guest wakes up and needs its memory back while the host is still short;
  4. records a timeline every 250 ms (host, PSI, KSM, every guest's balloon
     and memory, libvirt's balloon-change events), reads every guest's own
     memory PSI at the phase boundaries, and writes OUT/timeline.json,
     OUT/summary.json and OUT/timeline.svg.

Everything it starts is stopped on every exit path: the manager, the host
workload, the guests, the libvirtd, and KSM is put back as it was.
"""
import argparse
import base64
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time

import libvirt
import libvirt_qemu

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
LAB = os.path.join(TOP, "tests", "e2e", "lab.sh")
SAMPLE_S = 0.25
# the wake-up guest's need when its balloon statistics do not say what it
# used before it woke (see wake_need)
WAKE_MARGIN_MIB = 64
# how long an agent that does not answer is asked again (Agent.command)
AGENT_GONE_S = 90
# each guest's resident set (--resident-fraction), on a tmpfs of its own
RESIDENT_FILE = "/keep/resident"


def log(msg):
    print(f"scenario: {msg}", file=sys.stderr, flush=True)


def read_kv(path, sep=None):
    out = {}
    with open(path, encoding="ascii") as f:
        for line in f:
            parts = line.split(sep)
            if len(parts) >= 2:
                out[parts[0].rstrip(":")] = parts[1]
    return out


def meminfo_mib():
    m = read_kv("/proc/meminfo")
    kib = {k: int(v) for k, v in m.items()}
    return (kib["MemAvailable"] / 1024.0,
            (kib["MemFree"] + kib["Buffers"] + kib["Cached"]) / 1024.0)


def vmstat(field):
    return int(read_kv("/proc/vmstat").get(field, 0))


def psi():
    """(some avg10, full avg10, some total µs, full total µs), or Nones."""
    try:
        out = {}
        with open("/proc/pressure/memory", encoding="ascii") as f:
            for line in f:
                kind, *pairs = line.split()
                kv = dict(p.split("=") for p in pairs)
                out[kind] = (float(kv["avg10"]), int(kv["total"]))
        return out["some"][0], out["full"][0], out["some"][1], out["full"][1]
    except OSError:
        return None, None, None, None


def ksm_sharing():
    try:
        with open("/sys/kernel/mm/ksm/pages_sharing", encoding="ascii") as f:
            return int(f.read())
    except OSError:
        return None


class Lab:
    """The e2e lab's private libvirtd and its guests, always torn down."""

    def __init__(self, run_dir):
        self.env = dict(os.environ, MOMD_E2E_DIR=run_dir)
        self.uri = None
        self.ksm_file = os.path.join(run_dir, "ksm.saved")

    def lab(self, *args, check=True, timeout=300):
        r = subprocess.run([LAB, *args], env=self.env, capture_output=True, text=True,
                           timeout=timeout)
        if check and r.returncode != 0:
            raise RuntimeError(f"lab.sh {' '.join(args)} failed ({r.returncode}): "
                               f"{r.stderr.strip()}")
        return r

    def start(self):
        self.lab("ksm", "save", self.ksm_file)
        # KSM off at the start of every run, so that runs compare; a
        # manager may turn it on.
        with open("/sys/kernel/mm/ksm/run", "w", encoding="ascii") as f:
            f.write("0")
        self.uri = self.lab("start-libvirtd").stdout.strip()
        self.env["LIBVIRT_DEFAULT_URI"] = self.uri
        return self.uri

    def define(self, names, mib, swap_mib=0):
        swap = ["--swap", str(swap_mib)] if swap_mib else []
        procs = [subprocess.Popen([LAB, "define-guest", n, str(mib), "--period", "1", "--start",
                                   "--wait", "180", *swap], env=self.env, stderr=subprocess.PIPE,
                                  text=True) for n in names]
        for n, p in zip(names, procs):
            _, err = p.communicate(timeout=300)
            if p.returncode != 0:
                raise RuntimeError(f"guest {n} did not boot: {err.strip()}")

    def stop(self):
        if self.uri:
            self.lab("stop-libvirtd", check=False, timeout=180)
        if os.path.exists(self.ksm_file):
            self.lab("ksm", "restore", self.ksm_file, check=False)


class AgentGone(Exception):
    """The guest agent has not answered for AGENT_GONE_S."""


class Agent:
    """guest-exec through libvirt's agent API, as lab.sh does it."""

    def __init__(self, conn):
        self.conn = conn

    def command(self, dom, cmd, deadline):
        """One agent command; a guest starved of CPU or memory answers
        late, so a busy or timed-out agent is asked again until deadline,
        but not for longer than AGENT_GONE_S: the lab's guests do not
        restart qemu-ga, so an agent that an OOM kill inside the guest
        ended never answers again."""
        first = None
        while True:
            try:
                return json.loads(libvirt_qemu.qemuAgentCommand(dom, json.dumps(cmd), 30, 0))
            except libvirt.libvirtError as e:
                now = time.time()
                first = first or now
                if now >= deadline or e.get_error_code() not in (
                        libvirt.VIR_ERR_AGENT_UNRESPONSIVE, libvirt.VIR_ERR_OPERATION_TIMEOUT):
                    raise
                if now - first >= AGENT_GONE_S:
                    raise AgentGone(
                        f"the guest agent has not answered for {AGENT_GONE_S} s "
                        f"(last: {e}); an OOM kill in the guest may have ended it")
                time.sleep(1)

    def run(self, name, argv, timeout=240):
        """(exit code, stdout) of argv in the guest; (None, why) when the
        guest or its agent failed or the command outlived timeout."""
        deadline = time.time() + timeout
        try:
            dom = self.conn.lookupByName(name)
            req = {"execute": "guest-exec",
                   "arguments": {"path": argv[0], "arg": argv[1:], "capture-output": True}}
            pid = self.command(dom, req, deadline)["return"]["pid"]
            while time.time() < deadline:
                st = self.command(dom, {"execute": "guest-exec-status",
                                        "arguments": {"pid": pid}}, deadline)["return"]
                if st.get("exited"):
                    out = base64.b64decode(st.get("out-data", "")).decode(errors="replace")
                    return st.get("exitcode", -1), out
                time.sleep(0.2)
        except (libvirt.libvirtError, AgentGone, KeyError, ValueError) as e:
            return None, f"the guest agent failed: {e}"
        return None, f"still running after {timeout} s"


class Timeline(threading.Thread):
    """Samples the host and every guest every SAMPLE_S seconds, and keeps
    libvirt's balloon-change events."""

    def __init__(self, uri, names):
        super().__init__(daemon=True)
        self.conn = libvirt.open(uri)
        self.names = names
        self.doms = {n: self.conn.lookupByName(n) for n in names}
        self.samples = []
        self.events = []
        self.stop_flag = threading.Event()
        self.conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_BALLOON_CHANGE,
                                         self.on_balloon, None)

    def on_balloon(self, conn, dom, actual, opaque):
        self.events.append({"t": time.time(), "guest": dom.name(), "actual_mib": actual / 1024.0})

    def sample(self):
        avail, free = meminfo_mib()
        some, full, some_total, full_total = psi()
        s = {"t": time.time(), "host_available_mib": round(avail, 1),
             "host_free_mib": round(free, 1), "psi_some_avg10": some, "psi_full_avg10": full,
             "psi_some_total_us": some_total, "psi_full_total_us": full_total,
             "ksm_pages_sharing": ksm_sharing(), "guests": {}}
        for n, dom in self.doms.items():
            try:
                st = dom.memoryStats()
            except libvirt.libvirtError:
                continue
            s["guests"][n] = {k: round(st[k] / 1024.0, 1) for k in
                              ("actual", "rss", "unused", "usable") if k in st}
        return s

    def run(self):
        while not self.stop_flag.is_set():
            t0 = time.time()
            self.samples.append(self.sample())
            self.stop_flag.wait(max(0.0, SAMPLE_S - (time.time() - t0)))

    def stop(self):
        self.stop_flag.set()
        self.join(5)


def event_loop():
    while True:
        libvirt.virEventRunDefaultImpl()


def write_manager_conf(path, uri, policies, out, append):
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"""# written by scripts/scenario.py for one run
[main]
host-monitor-interval: 5
guest-monitor-interval: 5
guest-manager-interval: 5
policy-engine-interval: 10
sample-history-length: 10
hypervisor-interface: libvirt
libvirt-hypervisor-uri: {uri}
controllers: Balloon, KSM
policy-dir: {policies}
rpc-port: -1
plot-dir:
[logging]
log: {out}/manager.log
verbosity: info
[host]
collectors: HostMemory, HostKSM, HostPressure
[guest]
collectors: GuestMemory, GuestBalloon
""")
        if append:
            f.write(append.replace("\\n", "\n") + "\n")


class Manager:
    def __init__(self, spec, conf, policies, out, build):
        self.proc = None
        if spec == "none":
            self.argv = None
        elif spec == "momd":
            self.argv = [os.path.join(build, "src", "momd"), "-c", conf, "-P", policies]
        else:
            self.argv = [a.replace("{conf}", conf).replace("{policies}", policies)
                         for a in shlex.split(spec)]
        self.out = out

    def start(self):
        if self.argv:
            self.stdout = open(os.path.join(self.out, "manager.out"), "w", encoding="utf-8")
            self.proc = subprocess.Popen(self.argv, stdout=self.stdout, stderr=subprocess.STDOUT,
                                         start_new_session=True)
            log(f"manager: {' '.join(self.argv)} (pid {self.proc.pid})")

    def alive(self):
        return self.proc is None or self.proc.poll() is None

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


class HostHog:
    """The host workload: tests/scenario/host-hog, which bounds itself."""

    def __init__(self, exe, headroom, max_mib, seconds):
        self.argv = [exe, str(headroom), str(max_mib), str(seconds)]
        self.proc = None
        self.ready = None
        self.held = None
        self.stopped_by_us = False

    def start(self):
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("ready"):
            raise RuntimeError(f"host-hog did not get ready: {line!r}, exit {self.proc.wait()}")
        kv = dict(w.split("=") for w in line.split()[1:])
        self.ready = float(kv["t"])
        self.held = int(kv["held_mib"])
        log(f"host workload holds {self.held} MiB; MemAvailable {kv['available_mib']} MiB")

    def killed(self):
        """True when something other than this script ended it (the OOM
        killer: SIGKILL)."""
        if not self.proc:
            return False
        rc = self.proc.poll()
        return rc is not None and not self.stopped_by_us

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.stopped_by_us = True
            self.proc.kill()
        if self.proc:
            self.proc.wait()


# the phase under way and the --budget, for the message of on_budget
PHASE = ["start"]
BUDGET = [0]


def phase_marks(marks, name):
    marks.append({"t": time.time(), "phase": name})
    PHASE[0] = name
    log(f"phase {name}")


def phase_seconds(marks, t_end):
    """Seconds each phase took, in order, the last one up to t_end."""
    marks = [m for m in marks if m["phase"] != "pressure-onset"]
    ends = [m["t"] for m in marks[1:]] + [t_end]
    return [[m["phase"], round(end - m["t"], 1)] for m, end in zip(marks, ends)]


def run(args):
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    run_dir = tempfile.mkdtemp(prefix="momd-scenario.")
    lab = Lab(run_dir)
    names = [f"scn{os.getpid()}g{i + 1}" for i in range(args.guests)]
    policies = os.path.abspath(args.policy_dir)
    conf = os.path.join(out, "manager.conf")
    build = os.path.abspath(args.build)
    hog_exe = os.path.join(build, "tests", "scenario", "host-hog")
    warm = int(args.guest_mib * args.warm_fraction)
    work = int(args.guest_mib * args.work_fraction)
    marks = []
    psi_reads = []
    results = {"active": {}, "psi_reads": psi_reads}
    manager = hog = timeline = None
    t_start = time.time()
    oom0 = vmstat("oom_kill")
    try:
        phase_marks(marks, "lab")  # the libvirtd and the guests' boot
        uri = lab.start()
        lab.define(names, args.guest_mib, args.guest_swap_mib)
        # errors are handled where they happen; libvirt's default handler
        # would also print every retry of an unanswered agent
        libvirt.registerErrorHandler(lambda *_: None, None)
        libvirt.virEventRegisterDefaultImpl()
        threading.Thread(target=event_loop, daemon=True).start()
        timeline = Timeline(uri, names)
        timeline.start()
        agent = Agent(libvirt.open(uri))
        phase_marks(marks, "boot")
        write_manager_conf(conf, uri, policies, out, args.conf_append)
        manager = Manager(args.manager, conf, policies, out, build)
        manager.start()

        # 1. every guest touches and frees most of its memory: QEMU keeps it
        phase_marks(marks, "warm")
        threads = [threading.Thread(target=agent.run, args=(n, ["/bin/momlab-hog", str(warm),
                                                               "pattern"])) for n in names]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for n in names:
            agent.run(n, ["/bin/momlab-unhog"])
        resident = int(args.guest_mib * args.resident_fraction)
        if resident:
            for n in names:
                code, text = agent.run(n, resident_set(resident))
                if code != 0:
                    raise RuntimeError(f"{n} could not keep its resident set: {text.strip()}")
        time.sleep(args.settle)

        # 2. the host workload takes the host down to the headroom; the
        # measured part starts here, with a first read of the guests' PSI
        read_psi(agent, names, psi_reads, "squeeze")
        phase_marks(marks, "squeeze")
        max_mib = int(open("/proc/meminfo").readline().split()[1]) // 1024
        hog = HostHog(hog_exe, args.headroom_mib, max_mib, args.hog_seconds)
        hog.start()
        marks.append({"t": hog.ready, "phase": "pressure-onset"})
        time.sleep(args.settle)

        # 3. one guest after another needs a large working set
        active = names[:2] if len(names) > 1 else names
        for i, n in enumerate(active):
            read_psi(agent, names, psi_reads, f"active-{i + 1}")
            oom_before = guest_oom(agent, n)
            phase_marks(marks, f"active-{i + 1}:{n}")
            code, text = agent.run(n, timed_work(work, args.hold, touch=bool(resident)),
                                   timeout=args.hold + 240)
            oom_after = guest_oom(agent, n)
            ok = code == 0 and f"hogged {work} MiB" in text and oom_after == oom_before
            results["active"][n] = {"exit": code, "output": text.strip(), "ok": ok,
                                    "guest_oom_kills": None if oom_after is None or
                                    oom_before is None else oom_after - oom_before,
                                    "work_s": work_s(text), "touch_s": work_s(text, "touch")}
            log(f"{n}: working set of {work} MiB {'completed' if ok else 'FAILED'} "
                f"(work {work_s(text)} s): {text.strip()}")

        # 4. an idle guest wakes up and needs its memory back, while the
        # host workload still keeps the host short
        idle = [n for n in names if n not in active]
        if idle:
            n = idle[0]
            wake = int(args.guest_mib * args.wake_fraction)
            read_psi(agent, names, psi_reads, "wake")
            oom_before = guest_oom(agent, n)
            phase_marks(marks, f"wake:{n}")
            results["wake"] = {"guest": n, "mib": wake, "t_start": marks[-1]["t"]}
            code, text = agent.run(n, timed_work(wake, args.wake_hold, touch=bool(resident)),
                                   timeout=args.wake_hold + 120)
            results["wake"]["t_end"] = time.time()
            oom_after = guest_oom(agent, n)
            ok = code == 0 and f"hogged {wake} MiB" in text and oom_after == oom_before
            results["wake"].update({"exit": code, "output": text.strip(), "ok": ok,
                                    "guest_oom_kills": None if oom_after is None or
                                    oom_before is None else oom_after - oom_before,
                                    "work_s": work_s(text), "touch_s": work_s(text, "touch")})
            log(f"{n} woke up: working set of {wake} MiB {'completed' if ok else 'FAILED'} "
                f"(work {work_s(text)} s): {text.strip()}")
        else:
            results["wake"] = {"why": "no idle guest to wake up (--guests 3 or more)"}
        read_psi(agent, names, psi_reads, "end")
        phase_marks(marks, "end")
        results["guest_oom_kills"] = sum(guest_oom(agent, n) or 0 for n in names)
    except Exception as e:  # the run is reported, whatever stopped it
        results["error"] = f"{type(e).__name__}: {e}"
        log(f"the scenario stopped early: {results['error']}")
    finally:
        signal.alarm(0)  # the clean-up is not cut short by the budget
        results["manager_alive"] = manager.alive() if manager else None
        results["host_workload_killed"] = hog.killed() if hog else False
        for stop in (lambda: timeline and timeline.stop(), lambda: manager and manager.stop(),
                     lambda: hog and hog.stop(), lab.stop):
            try:
                stop()
            except Exception as e:  # clean-up goes on whatever failed
                log(f"clean-up: {e}")
        subprocess.run(["rm", "-rf", run_dir], check=False)
    summary = summarize(args, names, results, timeline, marks, hog, oom0, t_start)
    with open(os.path.join(out, "timeline.json"), "w", encoding="utf-8") as f:
        json.dump({"marks": marks, "events": timeline.events if timeline else [],
                   "samples": timeline.samples if timeline else [],
                   "guest_psi_reads": psi_reads}, f)
    with open(os.path.join(out, "summary.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=2)
    if timeline:
        import scenario_svg
        scenario_svg.write(os.path.join(out, "timeline.svg"), timeline.samples,
                           timeline.events, marks, args.headroom_mib, names, summary)
    print(json.dumps(summary, indent=2))
    return summary


def guest_oom(agent, name):
    try:
        code, text = agent.run(name, ["/bin/grep", "oom_kill", "/proc/vmstat"], timeout=60)
        return int(text.split()[1]) if code == 0 else None
    except (libvirt.libvirtError, IndexError, ValueError):
        return None


def timed_work(mib, hold, touch=False):
    """argv that fills mib MiB in the guest, holds it hold seconds and frees
    it; the fill is timed by the guest's own clock (/proc/uptime), so that
    neither the hold nor the agent's round trips are in it.  With touch,
    the guest first reads its resident set (RESIDENT_FILE) back, timed the
    same way: what an idle guest's memory costs it when it wakes, if the
    balloon pushed that memory out to its swap."""
    first = (f"read t _ </proc/uptime && cat {RESIDENT_FILE} >/dev/null && "
             f'read u _ </proc/uptime && echo "touch_uptime $t $u" && ') if touch else ""
    return ["/bin/sh", "-c",
            f"{first}read a _ </proc/uptime && momlab-hog {mib} pattern && read b _ </proc/uptime && "
            f'echo "work_uptime $a $b" && sleep {hold} && momlab-unhog']


def resident_set(mib):
    """argv that keeps mib MiB of random data (KSM cannot merge it) in a
    tmpfs of its own, which momlab-unhog leaves alone and, in a guest with
    swap, the guest can page out."""
    d = os.path.dirname(RESIDENT_FILE)
    return ["/bin/sh", "-c",
            f"mkdir -p {d} && mount -t tmpfs -o size=100% tmpfs {d} && "
            f"dd if=/dev/urandom of={RESIDENT_FILE} bs=1M count={mib} 2>/dev/null && "
            f"echo resident {mib} MiB"]


def work_s(text, what="work"):
    """Seconds the fill of timed_work took (what="touch": its read of the
    resident set), from its output; None when it did not complete."""
    m = re.search(rf"^{what}_uptime (\S+) (\S+)$", text or "", re.M)
    return round(float(m.group(2)) - float(m.group(1)), 2) if m else None


def guest_psi(agent, name):
    """The guest's memory PSI "some" total (µs: the time in which some of
    its tasks stalled on memory since it booted), or None."""
    try:
        code, text = agent.run(name, ["/bin/cat", "/proc/pressure/memory"], timeout=60)
        if code != 0:
            return None
        for line in text.splitlines():
            kind, *pairs = line.split()
            if kind == "some":
                return int(dict(p.split("=") for p in pairs)["total"])
    except (libvirt.libvirtError, KeyError, ValueError):
        pass
    return None


def read_psi(agent, names, reads, phase):
    """Every guest's memory PSI, read in parallel at the start of phase:
    one guest-exec per guest and phase boundary (not in the timeline, which
    a TCG guest's agent could not keep up with)."""
    vals = {}
    threads = [threading.Thread(target=lambda n=n: vals.__setitem__(n, guest_psi(agent, n)))
               for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    reads.append({"t": time.time(), "phase": phase,
                  "some_total_us": {n: vals.get(n) for n in names}})


def guest_outcomes(names, results, samples):
    """Per guest: its role, its memory stall over the measured part (from
    the read at the squeeze to the one at the end) and in each phase, the
    least memory it had left in that part, and how long its working set
    took."""
    reads = results.get("psi_reads", [])
    t0 = reads[0]["t"] if reads else None
    t1 = reads[-1]["t"] if reads and reads[-1]["phase"] == "end" else float("inf")
    active = results.get("active", {})
    wake = results.get("wake", {})
    out = {}
    for n in names:
        vals = [(r["phase"], r["some_total_us"].get(n)) for r in reads]
        by_phase = {p: round((b - a) / 1000.0, 1) if a is not None and b is not None else None
                    for (p, a), (_, b) in zip(vals, vals[1:])}
        first = vals[0][1] if vals and vals[0][0] == "squeeze" else None
        last = vals[-1][1] if vals and vals[-1][0] == "end" else None
        if n in active:
            role, work = f"active-{list(active).index(n) + 1}", active[n].get("work_s")
        elif n == wake.get("guest"):
            role, work = "wake", wake.get("work_s")
        else:
            role, work = "idle", None
        usable = [x["guests"][n]["usable"] for x in samples if t0 is not None and
                  t0 <= x["t"] <= t1 and "usable" in x["guests"].get(n, {})]
        out[n] = {"role": role,
                  "stall_ms": round((last - first) / 1000.0, 1)
                  if first is not None and last is not None else None,
                  "stall_ms_by_phase": by_phase,
                  "min_usable_mib": min(usable, default=None), "work_s": work}
    return out


def wake_need(wake, samples):
    """(need MiB, in use MiB): the balloon the waking guest needs to hold
    its working set: the working set plus what the guest used before it
    woke (actual - usable of its last sample before the phase: its kernel,
    its root file system, the agent), or WAKE_MARGIN_MIB when the sample
    does not say."""
    n = wake["guest"]
    before = [s["guests"][n] for s in samples if s["t"] <= wake["t_start"] and
              "actual" in s["guests"].get(n, {}) and "usable" in s["guests"].get(n, {})]
    used = round(before[-1]["actual"] - before[-1]["usable"], 1) if before else WAKE_MARGIN_MIB
    return round(wake["mib"] + used, 1), used


def wake_back(wake, samples, events):
    """(seconds, why not): from the start of the wake-up until the waking
    guest's balloon (a timeline sample's actual, or a balloon-change event)
    is at least what its working set needs; (None, why) when it never was
    within the phase."""
    n = wake.get("guest")
    if not n or "t_start" not in wake:
        return None, wake.get("why", "the wake-up phase did not run")
    t0, t1 = wake["t_start"], wake.get("t_end") or time.time()
    need, used = wake_need(wake, samples)
    wake.update({"need_mib": need, "in_use_before_mib": used})
    start = [s["guests"][n]["actual"] for s in samples
             if s["t"] <= t0 and "actual" in s["guests"].get(n, {})]
    wake["balloon_at_start_mib"] = start[-1] if start else None
    points = [(s["t"], s["guests"][n]["actual"]) for s in samples
              if t0 <= s["t"] <= t1 and "actual" in s["guests"].get(n, {})]
    points += [(e["t"], e["actual_mib"]) for e in events
               if e["guest"] == n and t0 <= e["t"] <= t1]
    points.sort()
    if start and start[-1] >= need:
        points.insert(0, (t0, start[-1]))
    wake["balloon_max_mib"] = max((a for _, a in points), default=None)
    back = next((t for t, a in points if a >= need), None)
    if back is not None:
        return round(back - t0, 2), None
    if not points:
        return None, f"no balloon sample of {n} during the wake-up"
    return None, (f"the balloon of {n} reached at most {wake['balloon_max_mib']} MiB of the "
                  f"{need} MiB its working set needs ({wake['mib']} MiB + {used} MiB in use "
                  f"before) in the {t1 - t0:.0f} s of the wake-up phase")


def stall_s(samples, key):
    vals = [s[key] for s in samples if s.get(key) is not None]
    return round((vals[-1] - vals[0]) / 1e6, 2) if len(vals) > 1 else None


def summarize(args, names, results, timeline, marks, hog, oom0, t_start):
    samples = timeline.samples if timeline else []
    events = timeline.events if timeline else []
    onset = hog.ready if hog and hog.ready else None
    squeeze = next((m["t"] for m in marks if m["phase"] == "squeeze"), None)
    after = [e for e in events if squeeze and e["t"] >= squeeze]
    reaction = round(after[0]["t"] - onset, 3) if after and onset else None
    # the same from the first sample with MemAvailable under 10 % of
    # MemTotal, when the host first looked short (momd's default floor)
    total = int(open("/proc/meminfo").readline().split()[1]) / 1024.0
    low = next((x["t"] for x in samples if squeeze and x["t"] >= squeeze and
                x["host_available_mib"] < 0.1 * total), None)
    after_low = [e for e in events if low and e["t"] >= low]
    reaction_low = round(after_low[0]["t"] - low, 3) if after_low else None
    reclaimed = None
    if samples and samples[0]["guests"]:
        base = {n: g.get("actual") for n, g in samples[0]["guests"].items()}
        reclaimed = max(sum(base[n] - g.get("actual", base[n])
                            for n, g in s["guests"].items() if n in base) for s in samples)
    active = results.get("active", {})
    outcomes = guest_outcomes(names, results, samples)
    stalls = [g["stall_ms"] for g in outcomes.values()]
    works = [a.get("work_s") for a in active.values()]
    works_known = bool(works) and None not in works
    wake = dict(results.get("wake", {}))
    back, why = wake_back(wake, samples, events)
    wake_summary = {k: wake.get(k) for k in
                    ("guest", "mib", "need_mib", "in_use_before_mib", "balloon_at_start_mib",
                     "balloon_max_mib", "exit", "output", "ok", "guest_oom_kills", "work_s",
                     "touch_s")}
    return {
        "manager": args.manager,
        "guests": args.guests,
        "guest_mib": args.guest_mib,
        "guest_swap_mib": args.guest_swap_mib,
        "resident_mib": int(args.guest_mib * args.resident_fraction),
        "headroom_mib": args.headroom_mib,
        "host_workload_mib": hog.held if hog else None,
        "oom_kills": vmstat("oom_kill") - oom0,
        "host_workload_killed": results.get("host_workload_killed"),
        "guest_oom_kills": results.get("guest_oom_kills"),
        "min_host_available_mib": min((s["host_available_mib"] for s in samples), default=None),
        # time every task of the host was stalled on memory (PSI "full"):
        # thrashing shows here before, or instead of, an OOM kill
        "host_full_stall_s": stall_s(samples, "psi_full_total_us"),
        "host_some_stall_s": stall_s(samples, "psi_some_total_us"),
        "reaction_s": reaction,
        "reaction_below_10pct_s": reaction_low,
        "reclaimed_mib": round(reclaimed, 1) if reclaimed is not None else None,
        "active_guest_ok": bool(active) and all(a["ok"] for a in active.values()),
        "active_guests": active,
        # the guests' own memory PSI "some", read at the phase boundaries
        "guest_stall_ms": round(sum(stalls), 1) if stalls and None not in stalls else None,
        "guest_outcomes": outcomes,
        # the least memory a guest had left (its balloon driver's "usable"):
        # in these guests, with nothing to reclaim, PSI stays at 0 until an
        # OOM kill, so this is how close a guest came to one
        "guest_min_usable_mib": min((g["min_usable_mib"] for g in outcomes.values()
                                     if g["min_usable_mib"] is not None), default=None),
        # the time the active guests took to fill their working sets
        "active_guest_work_s": max(works) if works_known else None,
        "active_guest_work_sum_s": round(sum(works), 2) if works_known else None,
        # the wake-up: an idle guest needs its memory back, the host short
        "wake_guest_ok": wake.get("ok"),
        "wake_work_s": wake.get("work_s"),
        "wake_back_s": back,
        "wake_back_why": why,
        "wake": wake_summary,
        "manager_alive": results.get("manager_alive"),
        "balloon_changes": len(events),
        "phase_s": phase_seconds(marks, time.time()),
        "duration_s": round(time.time() - t_start, 1),
        "error": results.get("error"),
    }


class Stopped(Exception):
    """SIGTERM: the run stops, cleans up and still writes its summary."""


def on_sigterm(*_):
    # once: a second SIGTERM must not break off the clean-up of the first
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.alarm(0)
    raise Stopped("stopped by SIGTERM")


def on_budget(*_):
    # a run that overstays is stopped by the run itself, with its summary
    # and the phase it was stuck in, not killed from outside without either
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Stopped(f"the run's time budget of {BUDGET[0]} s ran out in phase {PHASE[0]}")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--guests", type=int, default=3)
    p.add_argument("--guest-mib", type=int, default=1024)
    p.add_argument("--headroom-mib", type=int, default=256)
    p.add_argument("--manager", default="momd",
                   help="none, momd, or a command in which {conf} and {policies} are replaced")
    p.add_argument("--policy-dir", default=os.path.join(TOP, "data", "policies"))
    p.add_argument("--conf-append", default="",
                   help="text added to the end of the manager's config, \\n for a new line, "
                   "e.g. '[pressure]\\nenabled: false'")
    p.add_argument("--out", default="scenario-out")
    p.add_argument("--build", default=os.path.join(TOP, "build"),
                   help="the meson build directory with src/momd and tests/scenario/host-hog")
    p.add_argument("--guest-swap-mib", type=int, default=0,
                   help="a swap disk of this size in every guest (0: none, the guests run "
                   "from their initramfs and cannot page): their memory PSI then shows "
                   "what a balloon costs them")
    p.add_argument("--resident-fraction", type=float, default=0.0,
                   help="of guest memory every guest keeps in use from the warm-up on "
                   "(random data) and reads back when its turn comes, before its working "
                   "set: with --guest-swap-mib, what a balloon that squeezed an idle guest "
                   "costs it (0: none)")
    p.add_argument("--warm-fraction", type=float, default=0.4,
                   help="of guest memory touched and freed by every guest first")
    p.add_argument("--work-fraction", type=float, default=0.8,
                   help="of guest memory in the active guest's working set")
    p.add_argument("--hold", type=int, default=20, help="seconds the working set is held")
    p.add_argument("--wake-fraction", type=float, default=0.5,
                   help="of guest memory in the working set of the idle guest that wakes up")
    p.add_argument("--wake-hold", type=int, default=5,
                   help="seconds the waking guest holds its working set")
    p.add_argument("--settle", type=int, default=10, help="seconds between phases")
    p.add_argument("--hog-seconds", type=int, default=900, help="the host workload's time bound")
    p.add_argument("--budget", type=int, default=0,
                   help="seconds after which the run stops itself, cleans up and reports "
                   "the phase it was in (0: no bound)")
    args = p.parse_args()
    if os.geteuid() != 0:
        sys.exit("scenario: must run as root (the lab's libvirtd, KSM, host memory).")
    if args.guests < 1 or args.guest_mib < 256 or args.guest_swap_mib < 0 or \
            not 0 <= args.resident_fraction < 1 or not 0 < args.warm_fraction < 1 or \
            not 0 < args.work_fraction < 1 or not 0 < args.wake_fraction < 1:
        sys.exit("scenario: --guests must be >= 1, --guest-mib >= 256, --guest-swap-mib >= 0, "
                 "fractions in (0, 1), --resident-fraction in [0, 1).")
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    signal.signal(signal.SIGTERM, on_sigterm)
    if args.budget > 0:
        BUDGET[0] = args.budget
        signal.signal(signal.SIGALRM, on_budget)
        signal.alarm(args.budget)
    summary = run(args)
    sys.exit(1 if summary.get("error") else 0)


if __name__ == "__main__":
    main()
