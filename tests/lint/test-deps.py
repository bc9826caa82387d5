#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A fresh machine must build and test: every dependency() that a meson.build
requires, and every external program it finds with find_program(), must come
from a Debian package that scripts/deps.sh installs.  Each is resolved the
way a fresh machine would meet it: pkg-config names the .pc file, dpkg -S
the package that owns it.  Also: the 'run' set builds momd without the test
set, and does not pull in the end-to-end lab (QEMU, a guest kernel, busybox).
TAP output, one line per dependency."""
import os
import re
import shutil
import subprocess
import sys

top = os.environ.get("MOM_TOP_SRCDIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
n = 0
failed = 0


def result(good, name, detail=None):
    global n, failed
    n += 1
    if not good:
        failed += 1
    print(("ok" if good else "not ok") + f" {n} - {name}")
    if detail and not good:
        for line in detail.splitlines():
            print(f"#   {line}")


def meson_files():
    """The project's meson.build files, not those of build directories."""
    for root, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs
                   if not d.startswith(".") and
                   not os.path.exists(os.path.join(root, d, "meson-private"))]
        if "meson.build" in files:
            yield os.path.join(root, "meson.build")


def calls(text, func):
    """(first string argument, whole argument text) of each call of func."""
    for m in re.finditer(r"(?<![\w.])" + func + r"\(", text):
        depth, i = 1, m.end()
        while i < len(text) and depth:
            depth += {"(": 1, ")": -1}.get(text[i], 0)
            i += 1
        args = text[m.end():i - 1]
        name = re.match(r"\s*'([^']+)'", args)
        if name:
            yield name.group(1), args


def owner(path):
    """The Debian package that installed path, or None."""
    cands = [os.path.realpath(path), path]
    # merged /usr: dpkg knows /bin/sed, PATH finds /usr/bin/sed
    cands += [c[4:] for c in cands if c.startswith(("/usr/bin/", "/usr/sbin/"))]
    for p in cands:
        r = subprocess.run(["dpkg", "-S", p], capture_output=True, text=True)
        if r.returncode == 0 and r.stdout:
            return r.stdout.splitlines()[0].split(":")[0].split(",")[0].strip()
    return None


def essential(pkg):
    r = subprocess.run(["dpkg-query", "-W", "-f=${Essential}", pkg],
                       capture_output=True, text=True)
    return r.stdout.strip() == "yes"


def deps_list(which):
    r = subprocess.run([os.path.join(top, "scripts", "deps.sh"), "--list", which],
                       capture_output=True, text=True)
    if r.returncode != 0:
        result(False, f"scripts/deps.sh --list {which} works", r.stderr)
        return set()
    return set(r.stdout.split())


run_set = deps_list("run")
test_set = deps_list("test")

# Only the tests may need what the 'run' set lacks: a dependency required
# through get_option('tests') is the test set's.
for path in sorted(meson_files()):
    rel = os.path.relpath(path, top)
    text = open(path, encoding="utf-8").read()
    for name, args in calls(text, "dependency"):
        if re.search(r"required\s*:\s*false", args):
            continue
        for_tests = "get_option('tests')" in args
        want, set_name = (test_set, "test") if for_tests else (run_set, "run")
        what = f"{rel}: dependency '{name}'"
        r = subprocess.run(["pkg-config", "--path", name], capture_output=True, text=True)
        pc = r.stdout.strip()
        if r.returncode != 0 or not pc:
            result(False, f"{what} is known to pkg-config",
                   f"pkg-config does not know '{name}': its -dev package is not installed, "
                   "and scripts/deps.sh must install it.")
            continue
        pkg = owner(pc)
        if not pkg:
            result(False, f"{what} comes from a Debian package",
                   f"No Debian package owns {pc}.")
            continue
        result(pkg in want, f"{what} comes from {pkg}, in the '{set_name}' set of scripts/deps.sh",
               f"scripts/deps.sh does not install {pkg} in its '{set_name}' set.")
    for name, args in calls(text, "find_program"):
        if re.search(r"required\s*:\s*false", args) or name.endswith((".sh", ".py")):
            continue
        exe = shutil.which(name)
        what = f"{rel}: find_program('{name}')"
        if not exe:
            result(False, f"{what} is installed", f"{name} is not on PATH.")
            continue
        pkg = owner(exe)
        if pkg and essential(pkg):
            continue
        result(pkg is not None and pkg in run_set,
               f"{what} comes from {pkg}, in the 'run' set of scripts/deps.sh",
               f"{exe} belongs to {pkg or 'no Debian package'}, which the 'run' set lacks.")

lab = {"qemu-system-x86", "linux-image-amd64", "busybox-static", "libvirt-daemon",
       "qemu-guest-agent"}
result(not (run_set & lab), "the 'run' set installs no part of the end-to-end lab",
       f"scripts/deps.sh run installs {sorted(run_set & lab)}.")
result(run_set <= test_set, "the 'test' set includes the 'run' set",
       f"missing from 'test': {sorted(run_set - test_set)}")

print(f"1..{n}")
sys.exit(1 if failed else 0)
