#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Counts test cases in meson's testlog.json files and prints the line CI
reads: "N passed, N failed[, N skipped]".  A TAP test counts each of its
"ok"/"not ok" lines; a test that crashed or exited non-zero after its TAP
lines counts one more failure, so a crash never hides behind passed cases."""
import argparse
import json
import re
import sys

TAP = re.compile(r"^(not ok|ok)\b(.*)$")


def count(path, totals):
    try:
        with open(path) as f:
            lines = [json.loads(line) for line in f if line.strip()]
    except OSError as e:
        print(f"test-summary: cannot read {path}: {e.strerror}", file=sys.stderr)
        totals["failed"] += 1
        return
    for t in lines:
        result = t.get("result")
        passed = failed = skipped = 0
        # testlog.json does not record the protocol; every test here speaks TAP.
        for line in (t.get("stdout") or "").splitlines():
            m = TAP.match(line.strip())
            if not m:
                continue
            if "# SKIP" in m.group(2).upper():
                skipped += 1
            elif m.group(1) == "ok":
                passed += 1
            else:
                failed += 1
        if passed + failed + skipped == 0:
            if result == "SKIP":
                skipped = 1
            elif result in ("OK", "EXPECTEDFAIL"):
                passed = 1
            else:
                failed = 1
        elif result not in ("OK", "SKIP", "EXPECTEDFAIL") and failed == 0:
            failed = 1
        totals["passed"] += passed
        totals["failed"] += failed
        totals["skipped"] += skipped


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--extra", action="append", default=[], help="NAME:pass|fail")
    ap.add_argument("logs", nargs="+")
    args = ap.parse_args()
    totals = {"passed": 0, "failed": 0, "skipped": 0}
    for path in args.logs:
        count(path, totals)
    for extra in args.extra:
        name, _, res = extra.partition(":")
        totals["passed" if res == "pass" else "failed"] += 1
    line = f"{totals['passed']} passed, {totals['failed']} failed"
    if totals["skipped"]:
        line += f", {totals['skipped']} skipped"
    print(line)
    return 1 if totals["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
