#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""momctl plot --dir on plot directories written here by hand: the SVG
parses as XML, has one polyline per series with one point per sample in
the time shown, the values where they belong, names escaped, and every
way the input can be wrong (no directory, no plot files, a bad header, a
bad row, an overlong line, a truncated last line, too many samples) is
said on stderr naming the file, and line where there is one.  The files
as a live momd writes them: tests/integration/test-daemon-plot.sh.
TAP output; run through meson test (MOMCTL).
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

MOMCTL = os.environ.get("MOMCTL")
SVG = "{http://www.w3.org/2000/svg}"
# the chart's plot area, as src/momctl/momctl-plot.c lays it out
TOP, BOTTOM = 56, 540 - 60

n = 0
failed = 0


def ok(cond, name, detail=None):
    global n, failed
    n += 1
    print("%s %d - %s" % ("ok" if cond else "not ok", n, name))
    if not cond:
        failed += 1
        if detail:
            for line in str(detail).splitlines()[:12]:
                print("#   " + line)


def momctl(*args):
    r = subprocess.run([MOMCTL, *args], capture_output=True, text=True, timeout=60)
    return r.returncode, r.stdout, r.stderr


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def host_file(rows, cols=("mem_available", "mem_free", "mem_unused")):
    """MOM's layout: '# time\\t name\\t name', rows of values by column."""
    lines = ["# time\t" + "\t ".join(" " + c if i == 0 else c for i, c in enumerate(cols))]
    for t, values in rows:
        lines.append("\t".join([repr(float(t))] + [str(values.get(c, "None")) for c in cols]))
    return "\n".join(lines) + "\n"


def guest_file(rows):
    return host_file(rows, ("balloon_cur", "balloon_max", "mem_unused"))


def parse(svg_text):
    """The SVG's series: {data-series: [(x, y), ...]}, its decisions' titles
    and its legend texts; raises on XML that does not parse."""
    root = ET.fromstring(svg_text)
    series = {}
    for pl in root.iter(SVG + "polyline"):
        pts = [tuple(map(float, p.split(","))) for p in pl.get("points").split()]
        series[pl.get("data-series")] = pts
    decisions = [p.find(SVG + "title").text for p in root.iter(SVG + "path")
                 if p.get("class") == "decision"]
    legend = []
    for g in root.iter(SVG + "g"):
        if g.get("class") == "legend":
            legend = [t.text for t in g.iter(SVG + "text")]
    return root, series, decisions, legend


def chart(name, *args, want_rc=0):
    """Runs momctl plot ARGS; returns (series, decisions, legend, stderr),
    or None when it did not exit with want_rc or the SVG did not parse."""
    rc, out, err = momctl("plot", *args)
    if rc != want_rc:
        ok(False, "%s: exit %d, want %d" % (name, rc, want_rc), err)
        return None
    try:
        _, series, decisions, legend = parse(out)
    except ET.ParseError as e:
        ok(False, "%s: the SVG parses as XML (%s)" % (name, e), out[:500])
        return None
    return series, decisions, legend, err


def main():
    if not MOMCTL:
        print("Bail out! run through meson test (MOMCTL)")
        return 1
    tmp = tempfile.mkdtemp(prefix="momctl-plot.")
    try:
        run(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("1..%d" % n)
    return 1 if failed else 0


def run(tmp):
    t0 = 1700000000.0

    # -- errors before any data -------------------------------------------------------
    missing = os.path.join(tmp, "nope")
    rc, out, err = momctl("plot", "--dir", missing)
    ok(rc == 2 and out == "" and
       "Cannot read the plot directory %s: No such file or directory." % missing in err,
       "a missing directory: exit 2, named", (rc, err))
    a_file = os.path.join(tmp, "a-file")
    write(a_file, "x\n")
    rc, out, err = momctl("plot", "--dir", a_file)
    ok(rc == 2 and "Cannot read the plot directory %s: Not a directory." % a_file in err,
       "a file for --dir: exit 2, named", (rc, err))
    empty = os.path.join(tmp, "empty")
    os.makedirs(empty)
    write(os.path.join(empty, "notes.txt"), "x\n")
    rc, out, err = momctl("plot", "--dir", empty)
    ok(rc == 2 and "The plot directory %s holds no plot files" % empty in err,
       "a directory without plot files: exit 2, named", (rc, err))
    rc, out, err = momctl("plot", "--dir", empty, "--since", "5 parsecs")
    ok(rc == 2 and "--since '5 parsecs' is not a duration" in err, "a bad --since: exit 2", err)
    rc, out, err = momctl("plot", "--dir", empty, "extra")
    ok(rc == 2, "an extra argument: exit 2", err)
    rc, out, err = momctl("--socket", os.path.join(tmp, "no.sock"), "plot")
    ok(rc == 3, "without --dir and no momd: exit 3", (rc, err))
    header_only = os.path.join(tmp, "header-only")
    write(os.path.join(header_only, "HostMonitor.dat"), host_file([]))
    rc, out, err = momctl("plot", "--dir", header_only)
    ok(rc == 2 and "%s has no samples and no decisions" % header_only in err,
       "files with headers only: exit 2, the directory named", (rc, err))

    # -- a run: host, two guests (one with awkward characters), decisions -------------
    plot = os.path.join(tmp, "plot")
    run_dir = os.path.join(plot, "momplot-001")
    os.makedirs(os.path.join(plot, "momplot-000"))  # an older, empty run
    rows = [(t0 + 10 * i, {"mem_available": 8 << 20, "mem_free": (1 + i) << 20,
                           "mem_unused": 5}) for i in range(5)]
    # a rotated pair: the oldest three rows in .1, and the columns in
    # another order there (MOM's order is by name; read the header)
    write(os.path.join(run_dir, "HostMonitor.dat.1"),
          host_file(rows[:3], ("mem_free", "mem_unused", "mem_available")))
    # ... and a last line momd was writing: no newline, left out
    write(os.path.join(run_dir, "HostMonitor.dat"),
          host_file(rows[3:]) + repr(t0 + 50) + "\t1")
    write(os.path.join(run_dir, "GuestMonitor-vm1.dat"),
          guest_file([(t0 + 10 * i, {"balloon_cur": 1 << 20, "balloon_max": 2 << 20,
                                     "mem_unused": 1}) for i in range(3)]))
    # a guest named a/b<&"'x: its file name escapes '/', the SVG the rest
    odd = 'a\\x2fb<&"\'x'
    write(os.path.join(run_dir, "GuestMonitor-%s.dat" % odd),
          guest_file([(t0, {"balloon_cur": 512 << 10}), (t0 + 20, {"balloon_cur": "None"}),
                      (t0 + 40, {"balloon_cur": 768 << 10})]))
    write(os.path.join(run_dir, "decisions.tsv"),
          "# time\tcycle\tentity\tcontrol\tbefore\trequested\toutcome\torigin\n"
          "%r\t3\tvm1\tballoon_target\t1048576\t917504\tapplied\t/p/10-balloon.policy:3:5\n"
          "%r\t3\ta/b<&\"'x\tballoon_target\t524288\t600000\tdry run: would set\tp:1:1\n"
          "%r\t4\thost\tksm_run\t0\t1\tapplied\t/p/20-ksm.policy:9:1\n" % (t0 + 10, t0 + 10,
                                                                         t0 + 30))
    write(os.path.join(run_dir, "junk.txt"), "not a plot file\n")

    got = chart("the newest run of a plot-dir", "--dir", plot)
    if got:
        series, decisions, legend, err = got
        ok(sorted(series) == sorted(["host", "vm1", odd]),
           "one polyline per series: host, vm1 and the odd name", sorted(series))
        host = series.get("host", [])
        ok(len(host) == 5, "host: 5 points from the rotated pair, the truncated line left out",
           host)
        xs = [p[0] for p in host]
        ys = [p[1] for p in host]
        ok(xs == sorted(xs) and len(set(xs)) == 5, "host: FILE.1 first, in time order", xs)
        ok(ys == sorted(ys, reverse=True), "host: free memory grows, so y falls (read by name)",
           ys)
        ok(len(series.get("vm1", [])) == 3, "vm1: 3 points", series.get("vm1"))
        ok(len(series.get(odd, [])) == 2, "the odd guest: 2 points, None left out",
           series.get(odd))
        ok(len(decisions) == 3, "three decision markers", decisions)
        ok(any("vm1 balloon_target: 1 GiB → 896 MiB, applied (/p/10-balloon.policy:3:5)" in d
               for d in decisions), "a marker's title: sizes in binary units, outcome, origin",
           decisions)
        ok(any(odd in d for d in decisions),
           "the odd guest's decision is matched to its series", decisions)
        ok(any(l.startswith(odd) for l in legend), "the legend has the name, XML-escaped", legend)
        ok(any(l == "host: free memory" for l in legend), "the legend names the host's series",
           legend)
        ok(err == "", "nothing on stderr", err)
    rc, out, _ = momctl("plot", "--dir", plot)
    ok("momplot-001" in out and "&lt;&amp;&quot;" in out,
       "the title names the run read; markup in names is escaped in the text", out[:300])
    ok(re.search(r">\d+ (KiB|MiB|GiB)</text>", out) is not None,
       "the memory axis is labelled in binary units")

    # --since: the last 20 s of the data (t0+20 .. t0+40)
    got = chart("--since 20s", "--dir", run_dir, "--since", "20s")
    if got:
        series, decisions, _, _ = got
        ok(len(series.get("host", [])) == 3, "--since 20s: 3 host points",
           series.get("host"))
        ok(len(decisions) == 1, "--since 20s: the one decision at t0+30", decisions)

    # -o FILE; and a FILE that cannot be written
    out_file = os.path.join(tmp, "chart.svg")
    rc, out, err = momctl("plot", "--dir", run_dir, "-o", out_file)
    ok(rc == 0 and out == "" and os.path.exists(out_file), "-o writes the file, not stdout",
       err)
    with open(out_file) as f:
        ok(parse(f.read())[1].get("host") is not None, "the file written is the chart")
    bad_out = os.path.join(tmp, "no-such-dir", "chart.svg")
    rc, out, err = momctl("plot", "--dir", run_dir, "-o", bad_out)
    ok(rc == 2 and "cannot write the chart to %s: No such file or directory" % bad_out in err,
       "-o into a missing directory: exit 2, named", err)

    # -- bad input ------------------------------------------------------------------------
    bad = os.path.join(tmp, "bad-header")
    write(os.path.join(bad, "HostMonitor.dat"), "time\tmem_free\n1\t2\n")
    rc, out, err = momctl("plot", "--dir", bad)
    ok(rc == 2 and "%s/HostMonitor.dat:1: expected a header line starting with '#'" % bad in err,
       "a header without '#': exit 2, file:1 named", err)
    nocol = os.path.join(tmp, "no-column")
    write(os.path.join(nocol, "GuestMonitor-vm1.dat"), "# time\t mem_free\n1\t2\n")
    rc, out, err = momctl("plot", "--dir", nocol)
    ok(rc == 2 and "GuestMonitor-vm1.dat:1: the header has no column 'balloon_cur'; "
       "it has time, mem_free." in err, "a missing column: exit 2, named with the columns", err)

    isdir = os.path.join(tmp, "is-dir")
    os.makedirs(os.path.join(isdir, "HostMonitor.dat"))
    rc, out, err = momctl("plot", "--dir", isdir)
    ok(rc == 2 and "Cannot read %s/HostMonitor.dat: Is a directory." % isdir in err,
       "a plot file that cannot be read: exit 2, named with the reason", err)

    rows_dir = os.path.join(tmp, "bad-rows")
    text = host_file(rows[:2])
    text += "not-a-time\t1\t2\t3\n"            # line 4
    text += "%r\t1\n" % (t0 + 30)              # line 5: too few columns
    text += "%r\t%s\t1\t1\n" % (t0 + 40, "x" * (70 * 1024))  # line 6: overlong
    text += "%r\t1\t%d\t1\n" % (t0 + 50, 3 << 20)  # line 7: fine
    write(os.path.join(rows_dir, "HostMonitor.dat"), text)
    got = chart("bad rows", "--dir", rows_dir)
    if got:
        series, _, _, err = got
        ok(len(series.get("host", [])) == 3, "bad rows are left out, good ones kept",
           series.get("host"))
        path = os.path.join(rows_dir, "HostMonitor.dat")
        ok("momctl: %s:4: the time 'not-a-time' is not a number. That line and 2 more are "
           "left out." % path in err, "the first bad row is named with file:line, the rest "
           "counted", err)
        ok(err.count("\n") == 1, "one message per file", err)

    # numbers a corrupt file may hold: a time of 1e300 or a value of
    # 1.7e308 is left out (they made the scale infinite and the chart hang)
    wild = os.path.join(tmp, "wild")
    write(os.path.join(wild, "HostMonitor.dat"),
          "# time\t mem_free\n%r\t1024\n1e300\t2048\n%r\t1.7e308\n%r\t4096\n"
          % (t0, t0 + 10, t0 + 20))
    try:
        got = chart("wild numbers", "--dir", wild)
    except subprocess.TimeoutExpired:
        got = None
        ok(False, "wild numbers: momctl plot ends", "it ran for 60 s")
    if got:
        series = got[0]
        ok(len(series.get("host", [])) == 2, "a time of 1e300 and a value of 1.7e308 are left out",
           series.get("host"))

    # a guest named "host" is a guest, not the host's line
    named = os.path.join(tmp, "named-host")
    write(os.path.join(named, "HostMonitor.dat"),
          host_file([(t0, {"mem_free": 1 << 20}), (t0 + 10, {"mem_free": 1 << 20})]))
    write(os.path.join(named, "GuestMonitor-host.dat"),
          guest_file([(t0, {"balloon_cur": 1 << 19}), (t0 + 10, {"balloon_cur": 1 << 19})]))
    rc, out, err = momctl("plot", "--dir", named)
    kinds = []
    if rc == 0:
        root = ET.fromstring(out)
        kinds = sorted((p.get("data-kind"), p.get("data-series"), len(p.get("points").split()))
                       for p in root.iter(SVG + "polyline"))
    ok(kinds == [("guest", "host", 2), ("host", "host", 2)],
       "a guest named host has a polyline of its own (data-kind guest)", kinds or err)

    # a huge file: at most 100 000 points kept, the newest, and said
    big = os.path.join(tmp, "big")
    os.makedirs(big)
    with open(os.path.join(big, "HostMonitor.dat"), "w") as f:
        f.write("# time\t mem_free\n")
        for i in range(100005):
            f.write("%d\t%d\n" % (1700000000 + i, 1000 + i))
    got = chart("a huge file", "--dir", big)
    if got:
        series, _, _, err = got
        ok(len(series.get("host", [])) == 100000, "at most 100000 points per series",
           len(series.get("host", [])))
        ok("has 5 more samples than the 100000 the chart keeps" in err,
           "the cap is said", err)


if __name__ == "__main__":
    sys.exit(main())
