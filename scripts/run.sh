#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The README's run command: install what is missing, build, and run momd's
# policy engine on the shipped default policies against the shipped sample
# state (the daemon itself arrives with the daemon issue).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh
[ -d build ] || meson setup build >/dev/null
ninja -C build >/dev/null
exec build/src/momctl policy test data/policies --state "${1:-data/examples/state-pressure.json}"
