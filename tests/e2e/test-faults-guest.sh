#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Faults of one guest on the real lab (issue 15, step 3), beside those of
# test-faults.sh: the lab's private libvirtd (lab.sh) with two 256 MiB TCG
# guests, g1 a usual one and g2 one without a balloon device
# (<memballoon model='none'/>), and momd (not a dry run) with 1 s guest
# sampling, a 2 s policy interval, the guest collectors GuestMemory,
# GuestBalloon and GuestQemuAgentOptional (a 2 s agent timeout: the agent
# adds its fields, optional so that a hung agent does not take the guest
# out of the policy; where the balloon reports none, as for g2, the
# agent's fill them)
# and a policy that asks every guest for 32 MiB less at each cycle, down to
# 160 MiB.  With bounded polling,
# the test checks:
#   1. a balloon change libvirt refuses (g2 has no balloon device): momd
#      says it once, naming the guest and libvirt's reason, over many
#      cycles of asking; it counts the refusals in
#      momd_controller_call_failures_total{controller="Balloon"} (the
#      metrics textfile); and it balloons g1 meanwhile;
#   2. g1's guest agent hung (qemu-ga stopped with SIGSTOP inside the guest
#      for 20 s, then continued): momd says once that the agent has no data
#      and once that it answers again, its control API answers throughout,
#      and it balloons g1 during the hang (the balloon does not go through
#      the agent, and GuestMemory has the guest's statistics).
# Nothing else is said above INFO.  Needs root (SKIPs otherwise).  TAP.
set -u

: "${MOMD:?run through meson test}"
: "${MOMCTL:?run through meson test}"
here=$(dirname "$(readlink -f "$0")")
lab=$here/lab.sh
# shellcheck source=../tap.sh
. "$here/../tap.sh"
# shellcheck source=e2e-run.sh
. "$here/e2e-run.sh"
e2e_begin faults-guest

V() { timeout 30 virsh -q -c "$uri" "$@"; }
g1=e2e-fg1-$$
g2=e2e-fg2-$$
mem=256
floor=160

uri=$("$lab" start-libvirtd "$state" 2>"$tmp/start.err") ||
    { sed 's/^/# /' "$tmp/start.err"; bail "start-libvirtd failed"; }
export LIBVIRT_DEFAULT_URI=$uri
"$lab" define-guest "$g1" $mem --start --wait 120 >"$tmp/define-$g1.out" 2>&1 &
"$lab" define-guest "$g2" $mem --no-balloon --start --wait 120 >"$tmp/define-$g2.out" 2>&1 &
wait || true
for g in $g1 $g2; do
    [ "$(V domstate "$g" 2>/dev/null)" = running ] ||
        { sed 's/^/# /' "$tmp/define-$g.out"; bail "guest $g did not boot"; }
done
# libvirt's own refusal, asked by hand: what momd must meet
if V setmem "$g2" $((200 * 1024)) --live >"$tmp/setmem.out" 2>&1; then
    bail "libvirt changed the memory of $g2, which has no balloon device"
fi
refusal=$(tr -d '\n' <"$tmp/setmem.out")
ok "private libvirtd up with $g1, and $g2 whose balloon libvirt refuses (${refusal#error: })"

cat >"$tmp/policies/10-shrink.policy" <<EOF
# test-faults-guest: every guest 32 MiB smaller at each cycle, to $floor MiB
(with Guests g
    (if (> g.balloon_cur $((floor * 1024)))
        (g.Control "balloon_target" (max $((floor * 1024)) (- g.balloon_cur 32768)))
        0))
EOF
metrics=$tmp/momd.prom
# the lab's libvirtd, 1 s guest sampling, a 2 s policy interval, real writes
write_momd_conf "$tmp/momd.conf" controllers=Balloon dry-run=false \
    libvirt-hypervisor-uri="$uri" libvirt-run-dir="$state/run/qemu" \
    guest-monitor-interval=1 guest-manager-interval=1 policy-engine-interval=2 \
    '[logging]' verbosity=info \
    '[guest]' collectors='GuestMemory, GuestBalloon, GuestQemuAgentOptional' \
    '[Collector: GuestQemuAgent]' timeout=2 \
    '[metrics]' textfile="$metrics"
start_momd
# shrunk GUEST SECONDS: momd took GUEST's balloon below its maximum
shrunk() { balloon_below "$1" $((mem * 1024 - 2048)) "$2"; }
warnings() { grep -a ' - WARNING - ' "$log"; }

# 1. The refused balloon.  Ten policy cycles of asking.
check "momd balloons $g1" shrunk "$g1" 60
sleep 20
refused=$(warnings | grep -a "$g2" | grep -ac 'cannot set the balloon')
warnings | grep -a "$g2" | head -n 3 | sed 's/^/#   log: /'
check "the refusal was said once over ten cycles of asking ($refused lines)" test "$refused" -eq 1
named() { warnings | grep -aF "guest $g2: cannot set the balloon to" | grep -aqF "balloon device"; }
check "naming $g2 and libvirt's reason" named
failures=$(awk '/^momd_controller_call_failures_total\{controller="Balloon"\}/ { print $2 }' \
    "$metrics" 2>/dev/null)
check "the refusals are counted (momd_controller_call_failures_total{controller=\"Balloon\"} ${failures:-missing})" \
    test "${failures:-0}" -ge 5
check "no other warning ($(warnings | grep -avc "$g2"))" test "$(warnings | grep -avc "$g2")" -eq 0

# 2. g1's agent hung for 20 s.  qemu-ga cannot be continued through
# itself: one guest-exec starts a detached in-guest script that stops it
# a second later and continues it 20 s after that.
down="GuestQemuAgent has no data for $g1 until its agent answers"
back="The guest agent of $g1 answers again"
lines=$(wc -l <"$log")
new_log() { tail -n "+$((lines + 1))" "$log"; }
script='sleep 1; kill -STOP $(cat /run/qemu-ga.pid); sleep 20; kill -CONT $(cat /run/qemu-ga.pid)'
"$lab" guest-exec "$g1" /bin/sh -c "setsid sh -c '$script' </dev/null >/dev/null 2>&1 &" \
    >"$tmp/exec.out" 2>&1 || { sed 's/^/# /' "$tmp/exec.out"; not_ok "the in-guest script started"; }
t0=$SECONDS
# during the hang: the API answers, g1 is ballooned
sleep 6
V setmem "$g1" $((mem * 1024)) --live >/dev/null 2>&1
status_answers() { timeout 3 "$MOMCTL" --socket "$sock" status >"$tmp/status.out" 2>&1 ||
    { sed 's/^/#   status: /' "$tmp/status.out"; return 1; }; }
check "momctl status answers with $g1's agent hung" status_answers
check "momd balloons $g1 while its agent hangs (set to its maximum, shrunk again)" shrunk "$g1" 10
echo "# $((SECONDS - t0)) s after the hang began"
wait_back() { # the agent answers 21 s after the script began; momd's next read sees it
    local deadline=$((SECONDS + 40))
    while [ "$SECONDS" -le "$deadline" ]; do
        new_log | grep -qaF -- "$back" && return 0
        sleep 0.5
    done
    return 1
}
wait_back
new_log | grep -aE ' - (WARNING|MESSAGE) - ' | grep -av 'balloon [0-9]* →' | head -n 8 |
    sed 's/^/#   log: /'
check "the hang was said once ($(new_log | grep -acF -- "$down") lines)" \
    test "$(new_log | grep -acF -- "$down")" -eq 1
check "and its end once, $((SECONDS - t0)) s after the hang began ($(new_log | grep -acF -- "$back") lines)" \
    test "$(new_log | grep -acF -- "$back")" -eq 1
others=$(new_log | grep -a ' - WARNING - ' | grep -avF -- "$down" | grep -avc "$g2")
check "no other warning during the hang ($others)" test "$others" -eq 0
check "momd is still running" kill -0 "$momd_pid"

stop_momd
echo "1..$n"
[ "$failed" -eq 0 ]
