#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Installs momd's build and test dependencies from Debian's archive, but
# only when some are missing, so repeated runs cost nothing.
set -euo pipefail

packages=(
    meson ninja-build pkg-config gcc libc6-dev flex bison
    libglib2.0-dev libjson-glib-dev check python3
    clang libclang-rt-14-dev   # the libFuzzer target and its sanitizers
    libvirt-dev libvirt-glib-1.0-dev libxml2-dev   # guests through libvirt
    tmux   # tests/integration/test-momctl-live.sh drives momctl top in a tmux pane
    # The end-to-end lab (tests/e2e): a private libvirtd with QEMU guests.
    # linux-image-amd64 is only the guests' kernel; it is never booted here.
    libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86
    linux-image-amd64 busybox-static cpio kmod qemu-guest-agent
)

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
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
