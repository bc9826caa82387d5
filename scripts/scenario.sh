#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The scenario benchmark (docs/scenario.md): real guests on a really
# overcommitted host, with a manager (none, momd, or any command) or none.
#
#   scripts/scenario.sh [--manager none|momd|'CMD {conf}'] [--guests N] [--guest-mib M]
#                       [--headroom-mib H] [--out DIR] [...]   (--help for all)
#
# As root.  Installs what is missing (scripts/deps.sh test: the lab and
# python3-libvirt), builds momd and the host workload in build/, then runs
# scripts/scenario.py with Debian's python3, which has the libvirt module.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh test
if [ ! -d build ]; then
    out=$(meson setup build 2>&1) || { echo "$out" >&2; echo "scenario.sh: meson setup failed." >&2; exit 1; }
fi
out=$(ninja -C build src/momd tests/scenario/host-hog 2>&1) ||
    { echo "$out" >&2; echo "scenario.sh: the build failed." >&2; exit 1; }
exec /usr/bin/python3 scripts/scenario.py "$@"
