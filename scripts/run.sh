#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The README's run command: install what is missing, build, and run momd in
# the foreground with the shipped configuration (data/momd.conf) and the
# default policies (data/policies).  Extra arguments go to momd, e.g.
# --dry-run or -v debug.  Stop it with Ctrl+C: momd then puts back the KSM
# settings it found.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh run
# quiet when it works, the tool's own words when it does not
if [ ! -d build ]; then
    out=$(meson setup build 2>&1) || { echo "$out" >&2; echo "run.sh: meson setup failed." >&2; exit 1; }
fi
out=$(ninja -C build 2>&1) || { echo "$out" >&2; echo "run.sh: the build failed." >&2; exit 1; }
exec build/src/momd -c data/momd.conf -P data/policies "$@"
