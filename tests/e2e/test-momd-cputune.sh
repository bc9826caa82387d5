#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# CpuTune against a real guest: the lab's private libvirtd (lab.sh) with one
# 1-vCPU TCG guest, and momd (not a dry run) with the default policies, the
# GuestCpuTune collector and the CpuTune controller.
#   1. momd's tuning metadata <vcpu limit="50"/> is set live; momd applies
#      quota = 50 % x 100000 us x host CPUs / 1 vCPU with period 100000, read
#      back with virsh schedinfo;
#   2. the metadata is changed live to 25 %: the metadata-change event makes
#      momd read it again and the quota follows;
#   3. the metadata is removed: the quota goes back to -1 (no limit).
# Needs root (SKIPs otherwise).  TAP output.
set -u

: "${MOMD:?run through meson test}"
: "${MOM_TOP_SRCDIR:?run through meson test}"
top=$MOM_TOP_SRCDIR
here=$(dirname "$(readlink -f "$0")")
lab=$here/lab.sh
# shellcheck source=../tap.sh
. "$here/../tap.sh"

# shellcheck source=e2e-run.sh
. "$here/e2e-run.sh"
e2e_begin cputune
guest=e2e-cpu-$$

V() { timeout 30 virsh -q -c "$uri" "$@"; }
sched() { # sched NAME: the value of one schedinfo line
    V schedinfo "$guest" 2>/dev/null | awk -v k="$1" '$1 == k { print $3 }'
}
# wait_sched SECONDS QUOTA PERIOD
wait_sched() {
    local deadline=$((SECONDS + $1))
    while [ "$SECONDS" -le "$deadline" ]; do
        [ "$(sched vcpu_quota)" = "$2" ] && [ "$(sched vcpu_period)" = "$3" ] && return 0
        sleep 0.5
    done
    echo "# schedinfo: vcpu_quota=$(sched vcpu_quota) vcpu_period=$(sched vcpu_period), want $2 $3"
    return 1
}
set_limit() { # set_limit PERCENT, or nothing to remove the metadata
    if [ -n "${1:-}" ]; then
        V metadata "$guest" urn:momd:tune:1 --key momd --set "<tune><vcpu limit=\"$1\"/></tune>" --live
    else
        V metadata "$guest" urn:momd:tune:1 --remove --live
    fi
}

uri=$("$lab" start-libvirtd "$state" 2>"$tmp/start.err") ||
    { sed 's/^/# /' "$tmp/start.err"; bail "start-libvirtd failed"; }
export LIBVIRT_DEFAULT_URI=$uri
ok "private libvirtd up: $uri"
"$lab" define-guest "$guest" 256 --no-agent --start --wait 120 >"$tmp/define.out" 2>&1 ||
    { sed 's/^/# /' "$tmp/define.out"; bail "the guest did not boot"; }
ok "guest $guest booted"
echo "# schedinfo before momd: $(V schedinfo "$guest" | tr -s ' ' | tr '\n' ';')"

cpus=$(getconf _NPROCESSORS_ONLN)
period=100000
quota_for() { echo $(($1 * period * cpus / 100)); } # one vCPU
check "metadata vcpu limit 50 set live" set_limit 50

# 00-defines and our 30-cputune only: the other default policies need collectors
# (and the I/O policy controllers) this test does not run
cp "$top"/data/policies/00-defines.policy "$top"/data/policies/30-cputune.policy "$tmp/policies/"
# the lab's libvirtd, 1 s cycles, real writes
write_momd_conf "$tmp/momd.conf" controllers=CpuTune dry-run=false \
    libvirt-hypervisor-uri="$uri" libvirt-run-dir="$state/run/qemu" \
    guest-monitor-interval=1 guest-manager-interval=1 \
    '[host]' collectors='HostMemory, HostCpu' \
    '[guest]' collectors='GuestMemory, GuestBalloon, GuestCpuTune'
start_momd

want=$(quota_for 50)
check "limit 50 % on $cpus host CPUs: vcpu_quota $want, vcpu_period $period" wait_sched 30 "$want" "$period"
check "the change is logged once with its policy line" \
    test "$(grep -c "vcpu_quota .* → $want µs.*requested at .*30-cputune.policy:" "$log")" -eq 1

t=$SECONDS
check "metadata changed live to 25" set_limit 25
want=$(quota_for 25)
check "the quota follows the metadata change: $want" wait_sched 20 "$want" "$period"
echo "# followed in $((SECONDS - t)) s"
check "momd read the metadata again on the event" grep -q "tuning metadata of $guest changed" "$log"

check "metadata removed" set_limit
check "no limit again: vcpu_quota back to -1 (or cgroup v2's max)" \
    sh -c "for i in \$(seq 40); do q=\$(virsh -q -c '$uri' schedinfo '$guest' | awk '\$1 == \"vcpu_quota\" { print \$3 }'); case \$q in -1 | 17592186044415 | 18446744073709551) exit 0 ;; esac; sleep 0.5; done; exit 1"

stop_momd
echo "1..$n"
[ "$failed" -eq 0 ]
