#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Installs what momd needs from Debian's archive, but only what is missing,
# so repeated runs cost nothing.
#
#   scripts/deps.sh [run|test]     install the packages of that set (default: test)
#   scripts/deps.sh --list [SET]   print the set's packages, one a line
#
# 'run' is what building and running momd needs (scripts/run.sh); 'test'
# adds what the test command needs (scripts/test.sh, CI): the sanitizer and
# fuzzing toolchain, the formatter, and the end-to-end lab's libvirtd, QEMU
# and guest kernel.  tests/lint/test-deps.py fails when a dependency() of a
# meson.build comes from a package that is in neither set.
set -euo pipefail

run_packages=(
    meson ninja-build pkg-config gcc libc6-dev flex bison
    libglib2.0-dev libjson-glib-dev
    libvirt-dev libvirt-glib-1.0-dev libxml2-dev   # guests through libvirt
    libsoup-3.0-dev   # the control API (src/shared/mom-rpc-*.c, src/momd/mom-rpc-server.c)
)
test_packages=(
    check python3   # the unit tests (meson's 'tests' feature) and the RPC client test
    python3-libvirt   # the scenario benchmark (scripts/scenario.py)
    clang libclang-rt-14-dev   # the libFuzzer targets and their sanitizers
    clang-format               # tests/lint/test-format.sh
    tmux   # tests/integration/test-momctl-live.sh drives momctl top in a tmux pane
    prometheus   # promtool and a real server: tests/integration/test-metrics.sh, lint/test-prometheus.sh
    # The end-to-end lab (tests/e2e): a private libvirtd with QEMU guests.
    # linux-image-amd64 is only the guests' kernel; it is never booted here.
    libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86
    linux-image-amd64 busybox-static cpio kmod qemu-guest-agent
)

list=0
if [ "${1:-}" = --list ]; then
    list=1
    shift
fi
case "${1:-test}" in
run) packages=("${run_packages[@]}") ;;
test) packages=("${run_packages[@]}" "${test_packages[@]}") ;;
*)
    echo "deps.sh: unknown set '$1'; the sets are 'run' and 'test'." >&2
    exit 2
    ;;
esac
if [ $list -eq 1 ]; then
    printf '%s\n' "${packages[@]}"
    exit 0
fi

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null; then
        exec sudo "$0" "$@"
    fi
    echo "deps.sh: these packages are missing and installing them needs root: ${missing[*]}" >&2
    exit 1
fi
echo "deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp /tmp/momd-deps.XXXXXX)
# quiet when it works; apt's own words when it does not
if ! { apt-get update -q && apt-get install -y -q --no-install-recommends "${missing[@]}"; } \
    >"$log" 2>&1; then
    echo "deps.sh: apt-get failed; its output follows." >&2
    cat "$log" >&2
    rm -f "$log"
    exit 1
fi
rm -f "$log"
