#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""momctl takes only what it uses (issue 13): its build target links the
shared library (libmomshared) and no libvirt, libvirt-qemu or libvirt-glib,
and compiles without their include directories and without the daemon's
folder, src/momd/; the shared library compiles with neither program's
folder.  Read from the build directory's build.ninja (MOM_BUILD_ROOT),
where meson writes each target's link and compile edges; momd's edges are
checked to take libvirt and src/momd/, so that a build.ninja this test
cannot read fails rather than passes.  TAP output."""
import os
import re
import sys

root = os.environ.get("MOM_BUILD_ROOT")
n = 0
failed = 0


def result(good, name, detail=""):
    global n, failed
    n += 1
    failed += not good
    print(("ok" if good else "not ok") + f" {n} - {name}")
    if detail and not good:
        print(f"#   {detail}")


def edge(text, target):
    """The 'build TARGET: c_LINKER ...' line and its indented variables."""
    m = re.search(r"^build " + re.escape(target) + r": c_LINKER .*?(?=^\S)", text, re.M | re.S)
    return m.group(0) if m else None


def compiles(target_dir):
    """The compile edges of the objects in build.ninja's TARGET_DIR."""
    return re.findall(r"^build " + re.escape(target_dir) + r"/\S+\.o: c_COMPILER .*?(?=^\S)",
                      ninja, re.M | re.S)


def include_dirs(c):
    """The -I directories of compile edge c, as meson writes them."""
    return re.findall(r"(?<=\s)-I(\S+)", c)


def takes(c, folder):
    """Whether compile edge c has src/FOLDER (source or build tree) on its include path."""
    return any(re.search(r"(^|/)src/" + folder + r"$", d) for d in include_dirs(c))


if not root:
    print("1..0 # SKIP MOM_BUILD_ROOT is not set: run it through meson test")
    sys.exit(0)
try:
    with open(os.path.join(root, "build.ninja")) as f:
        ninja = f.read()
except OSError as e:
    result(False, "build.ninja is readable", f"{root}/build.ninja: {e.strerror}")
    print(f"1..{n}")
    sys.exit(1)

LIBVIRT = re.compile(r"libvirt(-qemu|-glib-1\.0)?\.so|-lvirt|libvirt-glib-1\.0")
momd = edge(ninja, "src/momd")
momctl = edge(ninja, "src/momctl")
result(momd is not None and LIBVIRT.search(momd) is not None,
       "momd's link edge is found and takes libvirt (the check below can see it)",
       "no link edge for src/momd with libvirt in build.ninja")
result(momctl is not None, "momctl's link edge is found", "no link edge for src/momctl")
if momctl is not None:
    hit = LIBVIRT.search(momctl)
    result(hit is None, "momctl links no libvirt library",
           f"its link edge names {hit.group(0) if hit else ''}")
    result("libmomshared.a" in momctl and "libmomcore.a" not in momctl,
           "momctl links libmomshared, not the daemon's libmomcore",
           "its link edge: " + momctl.splitlines()[1].strip()[:300] if len(momctl.splitlines()) > 1 else momctl[:300])

momctl_c = compiles("src/momctl.p")
momd_c = compiles("src/momd.p") + compiles("src/libmomcore.a.p")
shared_c = compiles("src/shared/libmomshared.a.p")
result(len(momctl_c) >= 4, f"momctl's {len(momctl_c)} compile edges are found", "fewer than 4")
bad = [c.split(":")[0] for c in momctl_c if "libvirt" in c]
result(not bad, "momctl compiles without libvirt's include directories", ", ".join(bad))
result(len(momd_c) >= 4 and all(takes(c, "momd") for c in momd_c),
       f"momd's {len(momd_c)} compile edges are found and take src/momd (the checks below can "
       "see it)", "fewer than 4 edges, or one without -I.../src/momd")
bad = [c.split(":")[0] for c in momctl_c if takes(c, "momd")]
result(not bad, "momctl compiles without the daemon's folder src/momd on its include path",
       ", ".join(bad))
result(len(shared_c) >= 4, f"libmomshared's {len(shared_c)} compile edges are found",
       "fewer than 4")
bad = [c.split(":")[0] for c in shared_c
       if "libvirt" in c or takes(c, "momd") or takes(c, "momctl")]
result(not bad, "libmomshared compiles without libvirt, src/momd or src/momctl on its include path",
       ", ".join(bad))
print(f"1..{n}")
sys.exit(1 if failed else 0)
