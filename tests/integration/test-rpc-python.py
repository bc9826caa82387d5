#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""momd's control API as vdsm uses it: Python's xmlrpc.client over the unix
socket (an http.client.HTTPConnection whose connect() opens AF_UNIX), with
allow_none=True, against the real momd binary (dry run, 1 s intervals,
libvirt's test driver with 3 domains).  Then malformed requests on raw
sockets, after which momd must still answer.  Python's standard library
only; TAP output.  Run through meson test (MOMD, MOM_TOP_SRCDIR).
"""
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import xmlrpc.client

MOMD = os.environ.get("MOMD")
TOP = os.environ.get("MOM_TOP_SRCDIR")
NGUESTS = 3
GUESTS = ["vm%04d" % i for i in range(1, NGUESTS + 1)]

n = 0
failed = 0
log_path = None


def ok(cond, name, detail=None):
    global n, failed
    n += 1
    if cond:
        print("ok %d - %s" % (n, name))
    else:
        failed += 1
        print("not ok %d - %s" % (n, name))
        if detail is not None:
            for line in str(detail).splitlines()[:15]:
                print("#   %s" % line)
        if failed == 1 and log_path and os.path.exists(log_path):
            with open(log_path, errors="replace") as f:
                for line in f.readlines()[-10:]:
                    print("#   log: %s" % line.rstrip())
    sys.stdout.flush()
    return cond


def attempt(name, fn, check, show=repr):
    """Calls fn(); ok when check(result) holds.  An exception is a failure."""
    try:
        r = fn()
    except Exception as e:  # noqa: BLE001 - every error is a test failure
        return ok(False, name, "%s: %s" % (type(e).__name__, e))
    good = False
    try:
        good = bool(check(r))
    except Exception as e:  # noqa: BLE001
        return ok(False, name, "check raised %s: %s; result %s" % (type(e).__name__, e, show(r)))
    return ok(good, name, None if good else "got %s" % show(r))


def expect_fault(name, fn, code):
    try:
        r = fn()
    except xmlrpc.client.Fault as f:
        return ok(f.faultCode == code, "%s: Fault %d" % (name, code),
                  "got Fault %d %r" % (f.faultCode, f.faultString)), f
    except Exception as e:  # noqa: BLE001
        return ok(False, "%s: Fault %d" % (name, code), "%s: %s" % (type(e).__name__, e)), None
    return ok(False, "%s: Fault %d" % (name, code), "no fault, got %r" % (r,)), None


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=10):
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


class UnixTransport(xmlrpc.client.Transport):
    def __init__(self, path):
        super().__init__()
        self.path = path

    def make_connection(self, host):
        # one connection kept alive between calls, as xmlrpc.client expects
        if self._connection and host == self._connection[0]:
            return self._connection[1]
        self._connection = host, UnixHTTPConnection(self.path)
        return self._connection[1]


def proxy(path):
    return xmlrpc.client.ServerProxy("http://localhost/", transport=UnixTransport(path),
                                     allow_none=True)


def raw_exchange(path, data, timeout=5.0):
    """Sends data on a fresh connection; returns what comes back until
    momd closes the connection or the timeout passes."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    out = b""
    try:
        s.sendall(data)
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
            # a complete answer with Content-Length: stop reading
            head, sep, body = out.partition(b"\r\n\r\n")
            if sep:
                for line in head.split(b"\r\n")[1:]:
                    k, _, v = line.partition(b":")
                    if k.strip().lower() == b"content-length" and len(body) >= int(v):
                        return out
    except socket.timeout:
        pass
    finally:
        s.close()
    return out


def post(path, body, extra=b""):
    req = (b"POST /RPC2 HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml\r\n"
           b"Connection: close\r\n" + extra + b"Content-Length: %d\r\n\r\n" % len(body) + body)
    return raw_exchange(path, req)


def status_of(answer):
    first = answer.split(b"\r\n", 1)[0].split()
    return int(first[1]) if len(first) >= 2 and first[1].isdigit() else None


def fault_of(answer):
    """(faultCode, faultString) of an HTTP answer holding a fault, else None."""
    body = answer.partition(b"\r\n\r\n")[2]
    try:
        xmlrpc.client.loads(body)
    except xmlrpc.client.Fault as f:
        return f.faultCode, f.faultString
    except Exception:  # noqa: BLE001 - not XML-RPC at all
        return None
    return None


def wait_for(path, text, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with open(path, errors="replace") as f:
                if text in f.read():
                    return True
        except FileNotFoundError:
            pass
        time.sleep(0.1)
    return False


def die_with_parent():
    """In momd's child: SIGTERM when this test dies, even by SIGKILL."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - only a safety net
        pass


def on_signal(signum, frame):
    # meson test's timeout sends SIGTERM: leave through the finally blocks
    raise SystemExit(1)


def main(tmp):
    global log_path
    if not MOMD or not TOP:
        print("Bail out! run through meson test (MOMD and MOM_TOP_SRCDIR)")
        return 1
    policies = os.path.join(tmp, "policies")
    os.mkdir(policies)
    src = os.path.join(TOP, "data", "policies")
    for name in sorted(os.listdir(src)):
        if name.endswith(".policy"):
            shutil.copy(os.path.join(src, name), policies)
    xml = os.path.join(tmp, "guests.xml")
    subprocess.run([sys.executable, os.path.join(TOP, "tests", "libvirt", "make-test-xml.py"),
                    str(NGUESTS), xml], check=True)
    sock = os.path.join(tmp, "momd.sock")
    log_path = os.path.join(tmp, "momd.log")
    conf = os.path.join(tmp, "momd.conf")
    with open(conf, "w") as f:
        f.write("""# Written by test-rpc-python.py: 1 s cycles, dry run, test driver.
[main]
rpc-port: {sock}
host-monitor-interval: 1
guest-monitor-interval: 1
guest-manager-interval: 1
policy-engine-interval: 1
controllers: Balloon, KSM
dry-run: true
policy-dir: {policies}
libvirt-hypervisor-uri: test://{xml}

[logging]
log: {log}
verbosity: info

[host]
collectors: HostMemory, HostKSM, HostCpu

[guest]
collectors: GuestMemory, GuestBalloon, GuestCpuTune, GuestIoTuneOptional
""".format(sock=sock, policies=policies, xml=xml, log=log_path))

    err = open(os.path.join(tmp, "momd.err"), "w")
    momd = subprocess.Popen([MOMD, "-c", conf], stdout=err, stderr=err,
                            preexec_fn=die_with_parent)
    try:
        return run(momd, sock, tmp)
    finally:
        if momd.poll() is None:
            momd.send_signal(signal.SIGTERM)
            try:
                momd.wait(10)
            except subprocess.TimeoutExpired:
                momd.kill()
                momd.wait()
        err.close()


def run(momd, sock, tmp):
    ok(wait_for(log_path, "The control API listens on %s." % sock, 15), "momd listens on its socket")
    # wait until every guest is ready and a cycle has decided for it
    m = proxy(sock)
    deadline = time.monotonic() + 20
    guests = []
    while time.monotonic() < deadline:
        try:
            guests = m.getActiveGuests()
            if len(guests) == NGUESTS and m.getStatus()["last_cycle"]["number"] > 0:
                break
        except (OSError, xmlrpc.client.Error):
            pass
        time.sleep(0.2)
    ok(len(guests) == NGUESTS, "the %d guests become ready" % NGUESTS, guests)

    # --- MOM's methods, as vdsm calls them ---
    attempt("ping → True", m.ping, lambda r: r is True)
    attempt("getStatistics → {host, guests}", m.getStatistics,
            lambda r: isinstance(r, dict) and set(r) == {"host", "guests"}
            and isinstance(r["host"], dict) and isinstance(r["guests"], dict))
    stats = m.getStatistics()
    attempt("getStatistics: host has mem_available and mem_free (ints)", lambda: stats["host"],
            lambda h: isinstance(h["mem_available"], int) and isinstance(h["mem_free"], int))
    attempt("getStatistics: the 3 guests", lambda: sorted(stats["guests"]),
            lambda g: g == GUESTS)
    attempt("getStatistics: every guest has balloon_cur as an int", lambda: stats["guests"],
            lambda g: all(isinstance(v["balloon_cur"], int) and not isinstance(v["balloon_cur"], bool)
                          for v in g.values()))
    attempt("getStatistics: vm0001's balloon_cur and balloon_max (KiB)", lambda: stats["guests"]["vm0001"],
            lambda v: v["balloon_cur"] == 785408 and v["balloon_max"] == 1048576)
    attempt("getStatistics: a statistic the guest lacks is None (<nil/>)",
            lambda: stats["guests"]["vm0001"], lambda v: "swap_total" in v and v["swap_total"] is None)

    attempt("setNamedPolicy('01-parameters', ...) → True",
            lambda: m.setNamedPolicy("01-parameters", "(set pressure_free_ratio 0.5)"),
            lambda r: r is True)
    attempt("getNamedPolicies contains 01-parameters with its text", m.getNamedPolicies,
            lambda r: r.get("01-parameters") == "(set pressure_free_ratio 0.5)"
            and {"00-defines", "10-balloon", "20-ksm"} <= set(r), show=lambda r: sorted(r))
    attempt("getPolicy contains the text", m.getPolicy,
            lambda r: isinstance(r, str) and "(set pressure_free_ratio 0.5)" in r
            and "balloon_target" in r, show=lambda r: r[:200])
    attempt("setPolicyParameters({pressure_free_ratio: 0.3}) → True",
            lambda: m.setPolicyParameters({"pressure_free_ratio": 0.3}), lambda r: r is True)
    attempt("setPolicyParameters wrote 01-parameters", m.getNamedPolicies,
            lambda r: "(set pressure_free_ratio 0.3)" in r.get("01-parameters", ""),
            show=lambda r: r.get("01-parameters"))
    # setPolicyParameters writes (set NAME VALUE): the names must be defined
    # first, as vdsm's 00-defines defines its parameters
    attempt("setNamedPolicy('00-extra') defines variables → True",
            lambda: m.setNamedPolicy("00-extra", '(defvar a_int 0)\n(defvar b_bool 0)\n'
                                                 '(defvar c_str "")\n'),
            lambda r: r is True)
    attempt("setPolicyParameters: ints, booleans and strings",
            lambda: m.setPolicyParameters({"a_int": 7, "b_bool": True, "c_str": "x y"}),
            lambda r: r is True)
    attempt("setPolicyParameters: the values as policy text", m.getNamedPolicies,
            lambda r: all(s in r.get("01-parameters", "")
                          for s in ("(set a_int 7)", "(set b_bool 1)", '(set c_str "x y")')),
            show=lambda r: r.get("01-parameters"))
    # Nothing installs a policy that cannot run: a misspelt parameter would
    # fail every cycle ("undefined symbol"), so it is a fault that names the
    # policy, the place and the error, and the last good 01-parameters stays.
    f = expect_fault("setPolicyParameters with a misspelt name",
                     lambda: m.setPolicyParameters({"pressure_free_ratoi": 0.3}), -32602)[1]
    ok(f is not None and f.faultString.startswith(
        "setPolicyParameters: Policy 01-parameters would fail on the current state")
       and "01-parameters:2:6: error: undefined symbol pressure_free_ratoi" in f.faultString,
       "the fault names the policy, the place and the error", f and f.faultString)
    attempt("01-parameters keeps its last good text", m.getNamedPolicies,
            lambda r: "(set a_int 7)" in r.get("01-parameters", "")
            and "ratoi" not in r.get("01-parameters", ""), show=lambda r: r.get("01-parameters"))
    expect_fault("setPolicyParameters with a bad name",
                 lambda: m.setPolicyParameters({"1 bad": 1}), -32602)
    expect_fault("setPolicyParameters with a quote in a string",
                 lambda: m.setPolicyParameters({"x": 'a"b'}), -32602)
    attempt("setVerbosity('info') → True", lambda: m.setVerbosity("info"), lambda r: r is True)
    attempt("setVerbosity(5) → True (a number, as in momd.conf)", lambda: m.setVerbosity(5),
            lambda r: r is True)
    attempt("getStatus: verbosity DEBUG after setVerbosity(5)", m.getStatus,
            lambda r: r["verbosity"] == "DEBUG", show=lambda r: r.get("verbosity"))
    attempt("setVerbosity('info') again → True", lambda: m.setVerbosity("info"), lambda r: r is True)
    expect_fault("setVerbosity('loud')", lambda: m.setVerbosity("loud"), -32602)
    attempt("getActiveGuests → the 3 names", m.getActiveGuests,
            lambda r: isinstance(r, list) and sorted(r) == GUESTS)
    mom_methods = {"ping", "setPolicy", "setNamedPolicy", "getPolicy", "getNamedPolicies",
                   "resetPolicies", "setVerbosity", "getStatistics", "getActiveGuests"}
    attempt("system.listMethods contains MOM's methods", m.system.listMethods,
            lambda r: mom_methods <= set(r) and "system.listMethods" in r and r == sorted(r))
    attempt("system.methodHelp('ping')", lambda: m.system.methodHelp("ping"),
            lambda r: isinstance(r, str) and r)

    f = expect_fault("an unknown method", lambda: m.frobnicate(1), -32601)[1]
    ok(f is not None and "frobnicate" in f.faultString, "the unknown method's fault names it",
       f and f.faultString)
    expect_fault("ping with a parameter", lambda: m.ping(1), -32602)
    expect_fault("setNamedPolicy with one parameter", lambda: m.setNamedPolicy("x"), -32602)
    expect_fault("setNamedPolicy with a number as the text", lambda: m.setNamedPolicy("x", 3), -32602)
    expect_fault("setNamedPolicy with a '/' in the name",
                 lambda: m.setNamedPolicy("../x", "(+ 1 1)"), -32602)
    attempt("setNamedPolicy with a bad policy → False",
            lambda: m.setNamedPolicy("31-bad", "(if (< x 2) = 3)"), lambda r: r is False)
    attempt("the bad policy is not installed", m.getNamedPolicies, lambda r: "31-bad" not in r,
            show=lambda r: sorted(r))
    attempt("checkPolicy on the bad policy: ok false, an error with its line and column",
            lambda: m.checkPolicy("(if (< x 2) = 3)", "31-bad", "31-bad.policy"),
            lambda r: r["ok"] is False and any("31-bad.policy:1:13" in e for e in r["errors"]))
    attempt("setNamedPolicy(name, None) on an unknown policy → False",
            lambda: m.setNamedPolicy("nope", None), lambda r: r is False)
    attempt("getGuestStatistics('vm0002'): properties, variables, samples",
            lambda: m.getGuestStatistics("vm0002"),
            lambda r: set(r) == {"properties", "variables", "samples"}
            and r["properties"]["name"] == "vm0002" and len(r["samples"]) >= 1)
    expect_fault("getGuestStatistics of an unknown guest", lambda: m.getGuestStatistics("vm9"), -32602)
    # vm0002 may have been ready after the first cycle: wait for one that saw it
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            m.getExplanation("vm0002")
            break
        except xmlrpc.client.Fault:
            time.sleep(0.2)
    attempt("getExplanation('vm0002'): the entity, a cycle with inputs",
            lambda: m.getExplanation("vm0002"),
            lambda r: r["entity"] == "vm0002" and (r["decided"] or r["latest"]) is not None
            and any(i["name"] == "balloon_cur" and i["entity"] == "vm0002"
                    for c in (r["decided"], r["latest"]) if c for i in c["inputs"]))
    fault = expect_fault("getExplanation of an unknown guest", lambda: m.getExplanation("vm9"),
                         -32602)[1]
    ok(fault is not None and "momd knows no guest named 'vm9'" in fault.faultString,
       "getExplanation of an unknown guest: the fault names it",
       fault.faultString if fault else "no fault")
    expect_fault("getExplanation of a number", lambda: m.getExplanation(3), -32602)
    expect_fault("getExplanation without a parameter", lambda: m.getExplanation(), -32602)
    attempt("getHistory: every decision has its debug lines, a list of strings",
            lambda: m.getHistory(),
            lambda r: all(isinstance(x["debug"], list) and all(isinstance(l, str) for l in x["debug"])
                          for x in r))

    # A text that parses but would fail at run time is refused (unlike MOM):
    # a fault that names the policy and the error, and the cycles go on with
    # the last good policies.  So is deleting a policy the others need.
    f = expect_fault("setNamedPolicy with a run-time error",
                     lambda: m.setNamedPolicy("40-undef", "(undefined_fn)"), -32602)[1]
    ok(f is not None and f.faultString.startswith("setNamedPolicy: Policy 40-undef would fail")
       and "40-undef:1:2: error: undefined function undefined_fn" in f.faultString,
       "the fault names the policy and the error", f and f.faultString)
    f = expect_fault("setPolicy with a run-time error",
                     lambda: m.setPolicy("(undefined_fn)"), -32602)[1]
    ok(f is not None and "50_main_:1:2: error: undefined function undefined_fn" in f.faultString,
       "setPolicy's fault names 50_main_ and the error", f and f.faultString)
    f = expect_fault("deleting 00-defines, which the others need",
                     lambda: m.setNamedPolicy("00-defines", None), -32602)[1]
    ok(f is not None and f.faultString.startswith(
        "setNamedPolicy: Without policy 00-defines the other policies would fail")
       and "error: undefined symbol" in f.faultString, "the fault says what would fail",
       f and f.faultString)
    attempt("the refused changes changed nothing", m.getNamedPolicies,
            lambda r: "40-undef" not in r and "50_main_" not in r and "00-defines" in r,
            show=lambda r: sorted(r))
    c = {}
    cycle = m.getControls()["cycle"]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        c = m.getControls()
        if c["cycle"] > cycle:
            break
        time.sleep(0.2)
    ok(c.get("ok") is True and c.get("cycle", 0) > cycle,
       "getControls: the next cycle succeeds with the last good policies", c.get("errors"))

    # A failure the trial cannot see (this one starts at the third cycle)
    # still gets in; it is logged once for all the guests it hits, not once
    # per guest.
    later = ('(Host.SetVar "n" (+ 1 (or (Host.GetVar "n") 0)))\n'
             '(with Guests g (if (> (Host.GetVar "n") 2) (undefined_fn) 0))\n')
    attempt("setNamedPolicy('40-later') passes its trial → True",
            lambda: m.setNamedPolicy("40-later", later), lambda r: r is True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        c = m.getControls()
        if all(g["error"] for g in c["guests"].values()):
            break
        time.sleep(0.2)
    ok(all("undefined_fn" in (g["error"] or "") for g in c["guests"].values()),
       "getControls: every guest has the error", c.get("guests"))
    time.sleep(1.5)  # another cycle or two with the same error
    with open(log_path, errors="replace") as lf:
        logged = [l for l in lf if "40-later:" in l and "undefined function" in l]
    ok(len(logged) == 1 and re.search(r"40-later:2:\d+: error: guests vm000\d, vm000\d and "
                                      r"vm000\d: undefined function undefined_fn", logged[0]),
       "the error is logged once, naming the 3 guests", logged)
    # A policy that is fine on its own must pass checkPolicy even while
    # another installed policy fails at run time: momctl policy set relies on
    # it.  momd's trial run does not blame the new text for 40-later's error.
    r = m.checkPolicy("(defvar fine_policy 1)\n", "30-fine", "30-fine.policy")
    ok(r.get("ok") is True,
       "checkPolicy of a good policy while another policy fails at run time: ok true", r)
    attempt("setNamedPolicy('40-later', None) deletes it → True",
            lambda: m.setNamedPolicy("40-later", None), lambda r: r is True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        c = m.getControls()
        if c["ok"] and not any(g["error"] for g in c["guests"].values()):
            break
        time.sleep(0.2)
    ok(c.get("ok") is True and all("balloon_target" in g["controls"] for g in c["guests"].values()),
       "getControls: the cycles succeed again, every guest has a balloon_target", c)

    attempt("setPolicy (MOM's single policy) → True", lambda: m.setPolicy("(defvar single 1)"),
            lambda r: r is True)
    attempt("setPolicy keeps 01-parameters (unlike MOM)", m.getNamedPolicies,
            lambda r: "01-parameters" in r and r.get("50_main_") == "(defvar single 1)",
            show=lambda r: sorted(r))
    attempt("resetPolicies → True", m.resetPolicies, lambda r: r is True)
    attempt("resetPolicies: back to the policy files", m.getNamedPolicies,
            lambda r: sorted(r) == ["00-defines", "10-balloon", "20-ksm", "30-cputune", "40-iotune"], show=lambda r: sorted(r))

    # --- malformed requests on raw sockets ---
    a = post(sock, b"<methodCall><methodName>ping</methodName><params><param><value><int>abc")
    ok(status_of(a) == 200 and (fault_of(a) or (None,))[0] == -32700,
       "truncated XML: 200 with the PARSE fault", a[:400])
    a = post(sock, b"<methodCall><methodName>ping</methodName><params><param><value><int>abc"
                   b"</int></value></param></params></methodCall>")
    ok((fault_of(a) or (None,))[0] == -32600, "an <int> that holds no integer: INVALID fault", a[:400])
    a = post(sock, b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY e 'boom'>]>"
                   b"<methodCall><methodName>&e;</methodName></methodCall>")
    ok(fault_of(a) is not None, "a DTD with an entity: a fault, nothing expanded", a[:400])
    a = post(sock, b"\xff\xfe\x00garbage\x00")
    ok(fault_of(a) is not None, "binary garbage as the body: a fault", a[:400])
    a = post(sock, b"")
    ok(fault_of(a) is not None, "an empty body: a fault", a[:400])
    a = raw_exchange(sock, b"GARBAGE\r\n\r\n")
    ok(status_of(a) == 400, "not HTTP at all: 400", a[:200])
    a = raw_exchange(sock, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    ok(status_of(a) == 405 and b"allow: post" in a.lower(), "GET: 405 with Allow: POST", a[:300])
    big = b"<methodCall>" + b" " * (2 * 1024 * 1024)
    a = raw_exchange(sock, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n"
                           b"Connection: close\r\n\r\n" % len(big) + big, timeout=8)
    ok(status_of(a) == 413 and (fault_of(a) or (None,))[0] == -32001,
       "a 2 MiB body (over the 1 MiB limit): 413 with TOO_LARGE", a[:300])
    # a client that connects, sends half a request and goes away
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock)
    s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n<methodCall>")
    s.close()
    # a malformed request through xmlrpc.client itself: a struct key twice
    # cannot be built by xmlrpc.client, so send it raw and read it back with
    # xmlrpc.client's parser
    body = (b"<?xml version='1.0'?><methodCall><methodName>setPolicyParameters</methodName>"
            b"<params><param><value><struct>"
            b"<member><name>a</name><value><int>1</int></value></member>"
            b"<member><name>a</name><value><int>2</int></value></member>"
            b"</struct></value></param></params></methodCall>")
    a = post(sock, body)
    ok((fault_of(a) or (None,))[0] == -32600, "a struct member twice: INVALID fault", a[:400])

    # --- the daemon still answers ---
    m2 = proxy(sock)
    attempt("after the malformed requests, ping still answers True (new connection)", m2.ping,
            lambda r: r is True)
    attempt("the first proxy still works too", m.ping, lambda r: r is True)
    attempt("getStatistics still lists the 3 guests", m2.getStatistics,
            lambda r: sorted(r["guests"]) == GUESTS)
    ok(momd.poll() is None, "momd still runs")

    momd.send_signal(signal.SIGTERM)
    try:
        rc = momd.wait(10)
    except subprocess.TimeoutExpired:
        rc = None
    ok(rc == 0, "momd exits 0 on SIGTERM", rc)
    ok(not os.path.exists(sock), "momd removed its socket")
    with open(os.path.join(tmp, "momd.err")) as f:
        err = f.read()
    ok(err == "", "nothing on momd's stderr", err)
    with open(log_path, errors="replace") as f:
        bad = [line for line in f if " - CRITICAL - " in line or " - ERROR - " in line]
    ok(not bad, "no ERROR or CRITICAL lines in momd's log", "".join(bad[:5]))

    print("1..%d" % n)
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, on_signal)
    tmpdir = tempfile.mkdtemp(prefix="momd-rpc-python.")
    code = 1
    try:
        code = main(tmpdir)
    except Exception as e:  # noqa: BLE001 - report, clean up, fail
        import traceback
        print("not ok %d - the test raised %s: %s" % (n + 1, type(e).__name__, e))
        for line in traceback.format_exc().splitlines():
            print("#   %s" % line)
        print("1..%d" % (n + 1))
        code = 1
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    sys.exit(code)
