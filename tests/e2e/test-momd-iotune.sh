#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# IoTune against a real guest: the lab's private libvirtd (tests/e2e/lab.sh)
# with one TCG guest that has a 16 MiB raw disk (vda) and momd I/O tuning
# metadata (docs/metadata.md) giving vda maximum limits, and the real momd
# (not a dry run) with [guest] collectors including GuestIoTune, the
# IoTune controller and the default policies (data/policies, whose
# 40-iotune applies each disk's maximum).  The test checks, with bounded
# polling:
#   1. momd applies the metadata's maximum limits: virsh blkdeviotune shows
#      them, and momd logged the change once with the policy location;
#   2. the metadata changed on the running guest (virsh metadata --live):
#      momd re-reads it on the metadata-change event and applies the new
#      limits.
# Needs root (SKIPs otherwise).  TAP output.
set -u

: "${MOMD:?run through meson test}"
: "${MOM_TOP_SRCDIR:?run through meson test}"
top=$MOM_TOP_SRCDIR
here=$(dirname "$(readlink -f "$0")")
lab=$here/lab.sh
# shellcheck source=../tap.sh
. "$here/../tap.sh"

mem_mib=256
ns=urn:momd:tune:1
# first and second maximum limits of vda: bytes/s total, read iops/s
bytes1=1048576 iops1=200
bytes2=2097152 iops2=300


# shellcheck source=e2e-run.sh
. "$here/e2e-run.sh"
e2e_begin iotune
g=e2e-iotune-$$ # guest names are host-wide (cgroups)

metadata() { # metadata BYTES IOPS: momd's tuning metadata for vda
    printf '<tune><io device="vda"><guaranteed total-bytes-sec="%d"/><maximum total-bytes-sec="%d" read-iops-sec="%d"/></io></tune>' \
        $(($1 / 4)) "$1" "$2"
}
limit() { # limit KEY: vda's current KEY from virsh blkdeviotune
    virsh -q blkdeviotune "$g" vda 2>/dev/null | awk -v k="$1" '$1 == k || $1 == k":" { print $NF }'
}
limits_are() { # limits_are BYTES IOPS
    [ "$(limit total_bytes_sec)" = "$1" ] && [ "$(limit read_iops_sec)" = "$2" ] &&
        [ "$(limit write_bytes_sec)" = 0 ]
}
wait_limits() { # wait_limits SECONDS BYTES IOPS
    local deadline=$((SECONDS + $1))
    while [ "$SECONDS" -le "$deadline" ]; do
        limits_are "$2" "$3" && return 0
        sleep 1
    done
    return 1
}

# --- the lab ------------------------------------------------------------------
uri=$("$lab" start-libvirtd "$state" 2>"$tmp/start.err") ||
    { sed 's/^/# /' "$tmp/start.err"; bail "start-libvirtd failed"; }
export LIBVIRT_DEFAULT_URI=$uri
ok "private libvirtd up: $uri"
truncate -s 16M "$MOMD_E2E_DIR/vda.raw"
"$lab" define-guest "$g" "$mem_mib" --no-agent --disk "$MOMD_E2E_DIR/vda.raw" >"$tmp/define.out" 2>&1 ||
    { sed 's/^/# /' "$tmp/define.out"; bail "define-guest failed"; }
virsh -q metadata "$g" "$ns" --key momd --config --set "$(metadata $bytes1 $iops1)" >/dev/null ||
    bail "cannot set the tuning metadata"
virsh -q start "$g" >/dev/null || bail "the guest did not start"
check "guest $g runs with vda unthrottled" limits_are 0 0

# --- momd ---------------------------------------------------------------------
cp "$top"/data/policies/*.policy "$tmp/policies/"
# the lab's libvirtd, 1 s cycles, real writes
write_momd_conf "$tmp/momd.conf" controllers=IoTune dry-run=false \
    libvirt-hypervisor-uri="$uri" libvirt-run-dir="$state/run/qemu" \
    guest-monitor-interval=1 guest-manager-interval=1 \
    '[host]' collectors='HostMemory, HostKSM, HostCpu' \
    '[guest]' collectors='GuestMemoryOptional, GuestBalloonOptional, GuestCpuTune, GuestIoTune'
start_momd

t0=$SECONDS
wait_limits 30 $bytes1 $iops1
check "momd set vda to its maximum ($bytes1 B/s, $iops1 read IO/s) in $((SECONDS - t0)) s" \
    limits_are $bytes1 $iops1
check "the change is logged once, with the policy location" \
    test "$(grep -c "disk vda: total_bytes_sec 0 → $bytes1 (.*40-iotune.policy:[0-9]*:[0-9]*)" "$log")" = 1
sleep 3
check "and not repeated" test "$(grep -c "disk vda: total_bytes_sec" "$log")" = 1

virsh -q metadata "$g" "$ns" --key momd --live --set "$(metadata $bytes2 $iops2)" >/dev/null ||
    bail "cannot change the tuning metadata"
t0=$SECONDS
wait_limits 30 $bytes2 $iops2
check "new metadata on the running guest: momd applied it in $((SECONDS - t0)) s" \
    limits_are $bytes2 $iops2

check "momd is still running" kill -0 "$momd_pid"
stop_momd
check "no critical message" test "$(cat "$log" "$tmp/momd.err" | grep -c CRITICAL)" = 0
echo "1..$n"
[ "$failed" -eq 0 ]
