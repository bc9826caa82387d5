#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The end-to-end lab: real QEMU guests with a virtio balloon, behind a
# private libvirtd, for testing momd against the same libvirt APIs and
# guest statistics it meets in production.  Everything runs as root on a
# bare machine (no systemd, no network, no KVM: guests run under TCG).
#
#   lab.sh build-guest [DIR]       kernel + initramfs for the guests (cached)
#   lab.sh start-libvirtd [STATE]  private libvirtd; prints its URI
#   lab.sh stop-libvirtd [STATE]   guests, libvirtd, leftovers: all gone
#   lab.sh define-guest NAME MEM_MIB [--cur MIB] [--period SEC] [--no-agent] [--no-balloon]
#                                  [--disk FILE | --swap MIB] [--start] [--wait SEC]
#   lab.sh guest-exec NAME CMD [ARG...]
#   lab.sh ksm save FILE | ksm restore FILE
#
# Environment:
#   MOMD_E2E_DIR    this run's directory (default /tmp/momd-e2e/run); STATE
#                   defaults to $MOMD_E2E_DIR/libvirt
#   MOMD_E2E_CACHE  what survives runs (default /tmp/momd-e2e): guest/ (the
#                   guest build) and libvirt-cache/ (QEMU capabilities,
#                   which take libvirtd ~8 s to probe on first start)
#   LIBVIRT_DEFAULT_URI  for define-guest/guest-exec (default: the URI of
#                   the instance in $MOMD_E2E_DIR/libvirt)
# See README.md next to this file.
set -euo pipefail

prog=$(basename "$0")
die() {
    echo "$prog${cmd:+ $cmd}: $*" >&2
    exit 1
}
log() { echo "$prog${cmd:+ $cmd}: $*" >&2; }

cache_root=${MOMD_E2E_CACHE:-/tmp/momd-e2e}
run_dir=${MOMD_E2E_DIR:-$cache_root/run}
guest_dir_default=$cache_root/guest
self=$(readlink -f "${BASH_SOURCE[0]}")

# ---------------------------------------------------------------------------
# build-guest [DIR]: DIR/vmlinuz and DIR/initramfs.cpio.gz.
#
# The host's Debian kernel boots the guest; it is never booted on the host.
# Its virtio drivers are modules, so the initramfs carries them along with
# a static busybox, qemu-ga (with the host's libraries) and the helpers the
# tests run through the agent.  The build takes ~0.5 s but is still
# skipped when DIR/stamp says the inputs (this script, kernel, busybox,
# qemu-ga) are unchanged; a lock keeps parallel runs from building twice.
# ---------------------------------------------------------------------------
guest_stamp() { # guest_stamp KVER QGA: one line that changes with any input
    sha256sum "$self" | cut -d' ' -f1
    stat -L -c '%n %s %Y' "/boot/vmlinuz-$1" "$(command -v busybox)" "$2"
}

pick_kver() { # the newest /boot/vmlinuz-* whose modules are installed
    local k kver=
    for k in /boot/vmlinuz-*; do
        k=${k#/boot/vmlinuz-}
        [ -d "/lib/modules/$k/kernel" ] && kver=$(printf '%s\n%s\n' "$kver" "$k" | sort -V | tail -n 1)
    done
    [ -n "$kver" ] || die "no /boot/vmlinuz-* with /lib/modules (apt-get install linux-image-amd64)"
    echo "$kver"
}

build_guest() {
    local out=${1:-$guest_dir_default}
    local kver qga busybox
    kver=${KVER:-$(pick_kver)}
    qga=${QGA_BIN:-/usr/sbin/qemu-ga}
    busybox=$(command -v busybox) || die "busybox not found (apt-get install busybox-static)"
    ldd "$busybox" >/dev/null 2>&1 && die "$busybox is dynamically linked; install busybox-static"
    [ -x "$qga" ] || die "$qga not found (apt-get install qemu-guest-agent)"
    command -v cpio >/dev/null || die "cpio not found (apt-get install cpio)"
    command -v modprobe >/dev/null || die "modprobe not found (apt-get install kmod)"
    [ -r "/boot/vmlinuz-$kver" ] || die "/boot/vmlinuz-$kver is not readable"

    mkdir -p "$out"
    out=$(cd "$out" && pwd)
    exec 8>"$out/.lock"
    flock 8
    if [ -s "$out/vmlinuz" ] && [ -s "$out/initramfs.cpio.gz" ] &&
        [ "$(cat "$out/stamp" 2>/dev/null)" = "$(guest_stamp "$kver" "$qga")" ]; then
        exec 8>&-
        echo "$out"
        return
    fi

    local work r
    work=$(mktemp -d "${TMPDIR:-/tmp}/momd-e2e-initramfs.XXXXXX")
    # shellcheck disable=SC2064 # expand now: $work is local
    trap "rm -rf '$work'" EXIT
    r=$work/root
    mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,run,tmp,hog,root,lib/modules,var/log}
    ln -s ../run "$r/var/run"
    cp "$busybox" "$r/bin/busybox"
    local app
    for app in $("$busybox" --list); do
        [ -e "$r/bin/$app" ] || ln -s busybox "$r/bin/$app"
    done

    # Modules in load order (modprobe resolves the dependencies); built-in
    # ones print no insmod line.
    local m kw path base
    : >"$r/etc/modules.list"
    for m in virtio_pci virtio_balloon virtio_console virtio_blk; do
        while read -r kw path _; do
            [ "$kw" = insmod ] || continue
            base=$(basename "$path")
            case $base in
            *.ko) cp "$path" "$r/lib/modules/$base" ;;
            *.ko.xz) base=${base%.xz} && xz -dc "$path" >"$r/lib/modules/$base" ;;
            *.ko.zst) base=${base%.zst} && zstd -qdc "$path" >"$r/lib/modules/$base" ;;
            *.ko.gz) base=${base%.gz} && gzip -dc "$path" >"$r/lib/modules/$base" ;;
            *) die "unexpected module file $path" ;;
            esac
            base=${base%.ko}
            grep -qx "$base" "$r/etc/modules.list" || echo "$base" >>"$r/etc/modules.list"
        done < <(modprobe -S "$kver" --show-depends "$m")
    done
    grep -qx virtio_balloon "$r/etc/modules.list" ||
        log "note: virtio_balloon is built into $kver"

    # qemu-ga is dynamically linked: bring its libraries and loader along
    # at the paths ldd reports, which is where the loader looks for them.
    local lib
    cp -L "$qga" "$r/usr/sbin/qemu-ga"
    while read -r lib; do
        [ -e "$r$lib" ] && continue
        mkdir -p "$r$(dirname "$lib")"
        cp -L "$lib" "$r$lib"
    done < <(ldd "$qga" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}')
    ldd "$qga" | grep -q 'not found' && die "$qga: shared libraries missing on this host"

    # In-guest helpers.  The hog fills tmpfs, which cannot be swapped or
    # reclaimed, so the guest's "unused" and "usable" drop by exactly MIB.
    # "pattern" and "zero" pages are the same in every guest (KSM merges
    # them), "random" ones are not.
    cat >"$r/bin/momlab-hog" <<'EOF'
#!/bin/sh
# momlab-hog MIB [zero|random|pattern]: occupy MIB MiB of RAM in tmpfs /hog
mib=${1:?usage: momlab-hog MIB [zero|random|pattern]}
n=$(ls /hog | wc -l)
case "${2:-random}" in
  zero)    dd if=/dev/zero of=/hog/h$n bs=1M count="$mib" 2>/dev/null ;;
  random)  dd if=/dev/urandom of=/hog/h$n bs=1M count="$mib" 2>/dev/null ;;
  pattern) yes momlab-ksm-pattern-0123456789abcdef | dd of=/hog/h$n bs=1M count="$mib" iflag=fullblock 2>/dev/null ;;
  *) echo "momlab-hog: unknown kind $2" >&2; exit 2 ;;
esac || exit 1
echo "hogged $(du -sm /hog | cut -f1) MiB"
EOF
    cat >"$r/bin/momlab-unhog" <<'EOF'
#!/bin/sh
rm -f /hog/*
echo "hog released"
EOF
    cat >"$r/bin/momlab-meminfo" <<'EOF'
#!/bin/sh
head -n 8 /proc/meminfo
EOF
    echo 'root:x:0:0:root:/root:/bin/sh' >"$r/etc/passwd"
    echo 'root:x:0:' >"$r/etc/group"

    # /init: no udev runs, so it makes the /dev/virtio-ports/<name> link
    # qemu-ga needs itself.  The READY line on the serial console is what
    # define-guest --wait waits for.
    cat >"$r/init" <<'EOF'
#!/bin/sh
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=755 tmpfs /run
mount -t tmpfs -o size=100% tmpfs /hog
for m in $(cat /etc/modules.list); do
    insmod /lib/modules/$m.ko 2>/dev/null || echo "momlab: insmod $m failed"
done
swap=no
for w in $(cat /proc/cmdline); do
    case "$w" in
    momlab.name=*) hostname "${w#momlab.name=}" ;;
    # define-guest --swap: its disk vda is the guest's swap
    momlab.swap=1)
        i=0; while [ ! -b /dev/vda ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
        mkswap /dev/vda >/dev/null 2>&1 && swapon /dev/vda && swap=yes ||
            echo "momlab: no swap on /dev/vda" ;;
    esac
done
i=0
while [ $i -lt 50 ] && ! ls /sys/class/virtio-ports/ >/dev/null 2>&1; do sleep 0.1; i=$((i+1)); done
mkdir -p /dev/virtio-ports
for p in /sys/class/virtio-ports/*; do
    [ -e "$p/name" ] && ln -sf "/dev/${p##*/}" "/dev/virtio-ports/$(cat "$p/name")"
done
if [ -e /dev/virtio-ports/org.qemu.guest_agent.0 ]; then
    qemu-ga -d -m virtio-serial -p /dev/virtio-ports/org.qemu.guest_agent.0 \
        -f /run/qemu-ga.pid -t /run -l /var/log/qemu-ga.log
    i=0; while [ ! -s /run/qemu-ga.pid ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
fi
balloon=no; [ -d /sys/bus/virtio/drivers/virtio_balloon ] && balloon=yes
qga=no; [ -s /run/qemu-ga.pid ] && qga=yes
echo "MOMLAB-READY name=$(hostname) uptime=$(cut -d' ' -f1 /proc/uptime) balloon=$balloon qga=$qga swap=$swap memtotal_kb=$(awk '/MemTotal/{print $2}' /proc/meminfo)" >/dev/ttyS0
while true; do
    setsid cttyhack /bin/sh -l </dev/ttyS0 >/dev/ttyS0 2>&1
    sleep 1
done
EOF
    chmod 755 "$r/init" "$r"/bin/momlab-*

    # Replace the files atomically: a guest of another run may be starting
    # from them right now.
    (cd "$r" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet -R 0:0) |
        gzip -1 >"$out/.initramfs.new"
    cp "/boot/vmlinuz-$kver" "$out/.vmlinuz.new"
    chmod 644 "$out/.initramfs.new" "$out/.vmlinuz.new"
    mv -f "$out/.initramfs.new" "$out/initramfs.cpio.gz"
    mv -f "$out/.vmlinuz.new" "$out/vmlinuz"
    guest_stamp "$kver" "$qga" >"$out/stamp"
    log "kernel $kver, modules: $(tr '\n' ' ' <"$r/etc/modules.list")"
    rm -rf "$work"
    trap - EXIT
    exec 8>&-
    echo "$out"
}

# ---------------------------------------------------------------------------
# start-libvirtd / stop-libvirtd
#
# libvirtd runs in its own mount namespace where its system directories are
# bind mounts of STATE/*, so it never meets a system libvirtd or another
# run's instance.  QEMU runs as root without relabelling, virtlogd or
# per-domain namespaces: a bare CI machine has none of that.
# ---------------------------------------------------------------------------
state_of() { # state_of [DIR]: the absolute state directory
    local s=${1:-$run_dir/libvirt}
    case $s in /*) ;; *) s=$PWD/$s ;; esac
    echo "${s%/}"
}
uri_of() { echo "qemu:///system?socket=$1/run/libvirt-sock"; }
libvirt_dirs="/etc/libvirt /run/libvirt /var/lib/libvirt /var/log/libvirt /var/cache/libvirt"

# The host-side pieces every instance shares: the mount points above, the
# "machine" cgroups and the capabilities cache.  Starts and stops take
# turns on one host-wide lock, and what the lab created on the host is
# listed in one host-wide file.  Removing a mount point that another
# instance's namespace still uses would silently unmount it there (and
# break that libvirtd), so only the last instance to stop cleans up.
lock_dir=/run/lock
[ -d "$lock_dir" ] || lock_dir=/tmp
host_lock="$lock_dir/momd-e2e-lab.lock"
host_created="$lock_dir/momd-e2e-lab.created"
take_host_lock() {
    exec 8>"$host_lock"
    flock -w 120 8 || die "$host_lock held for 120 s"
}
instances_alive() { # some lab namespace still has a libvirt dir mounted
    local d
    for d in $libvirt_dirs; do
        grep -qsF " $d " /proc/[0-9]*/mountinfo && return 0
    done
    return 1
}

is_up() { # is_up STATE: our libvirtd answers on its socket
    local pidfile=$1/libvirtd.pid
    [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null &&
        [ -S "$1/run/libvirt-sock" ] &&
        timeout 10 virsh -q -c "$(uri_of "$1")" version >/dev/null 2>&1
}

start_libvirtd() {
    [ "$(id -u)" = 0 ] || die "must run as root"
    local b
    for b in libvirtd virsh unshare mount flock qemu-system-x86_64; do
        command -v "$b" >/dev/null || die "$b not found (scripts/deps.sh installs the lab's packages)"
    done
    local state uri pidfile cache
    state=$(state_of "${1:-}")
    case $state in
    /etc/libvirt* | /run/libvirt* | /var/run/libvirt* | /var/lib/libvirt* | /var/log/libvirt* | /var/cache/libvirt*)
        die "STATE must not be under a libvirt system directory" ;;
    esac
    uri=$(uri_of "$state")
    pidfile=$state/libvirtd.pid
    mkdir -p "$state"
    if is_up "$state"; then
        echo "$uri"
        return
    fi
    if [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
        die "libvirtd $(cat "$pidfile") of $state does not answer; run $prog stop-libvirtd $state"
    fi
    rm -f "$pidfile"

    cache=$cache_root/libvirt-cache
    mkdir -p "$state"/{etc,run,lib,log} "$cache"
    chmod 700 "$state/run"
    cat >"$state/etc/libvirtd.conf" <<'EOF'
# momd e2e lab: a private instance; paths as seen in its mount namespace
unix_sock_group = "root"
unix_sock_ro_perms = "0770"
unix_sock_rw_perms = "0770"
unix_sock_admin_perms = "0700"
auth_unix_ro = "none"
auth_unix_rw = "none"
log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
EOF
    cat >"$state/etc/qemu.conf" <<'EOF'
# momd e2e lab: QEMU as root, no relabelling, no virtlogd, no namespaces
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
stdio_handler = "file"
namespaces = [ ]
EOF

    # The lock is held until libvirtd is up: its mounts then exist, and
    # the first libvirtd has written the capabilities cache.
    take_host_lock
    # Bind mounts need their mount points on the host, and without
    # systemd libvirt makes a "machine" cgroup in each hierarchy.
    local d c
    for d in $libvirt_dirs; do
        if [ ! -d "$d" ]; then
            mkdir -p "$d"
            echo "$d" >>"$host_created"
        fi
    done
    for c in /sys/fs/cgroup/*/; do
        [ -d "${c}machine" ] || grep -qxF "${c}machine" "$host_created" 2>/dev/null ||
            echo "${c}machine" >>"$host_created"
    done

    # libvirt looks up its built-in user libvirt-qemu before it reads
    # qemu.conf.  libvirt-daemon-system would create it; we add it only
    # inside the namespace, through copies of /etc/passwd and /etc/group.
    local users=
    if ! getent passwd libvirt-qemu >/dev/null || ! getent group libvirt-qemu >/dev/null; then
        cp /etc/passwd "$state/passwd"
        cp /etc/group "$state/group"
        getent group libvirt-qemu >/dev/null || echo "libvirt-qemu:x:64055:" >>"$state/group"
        getent passwd libvirt-qemu >/dev/null ||
            echo "libvirt-qemu:x:64055:64055:Libvirt Qemu:/var/lib/libvirt:/usr/sbin/nologin" >>"$state/passwd"
        users="mount --bind '$state/passwd' /etc/passwd && mount --bind '$state/group' /etc/group"
    fi

    : >"$state/log/libvirtd.log"
    # libvirtd -d returns once its drivers are initialised (non-zero if
    # that failed).  Its output goes to a file: a test harness waits for
    # its pipes to close, and a daemon holding them would hang it.
    if ! unshare --mount --propagation private -- /bin/sh -c "
        set -e
        mount --bind '$state/etc' /etc/libvirt
        mount --bind '$state/run' /run/libvirt
        mount --bind '$state/lib' /var/lib/libvirt
        mount --bind '$state/log' /var/log/libvirt
        mount --bind '$cache' /var/cache/libvirt
        ${users:-:}
        exec libvirtd -d -f /etc/libvirt/libvirtd.conf -p '$pidfile'
    " </dev/null >"$state/log/libvirtd.stderr" 2>&1 8>&-; then
        cat "$state/log/libvirtd.stderr" >&2
        tail -n 20 "$state/log/libvirtd.log" >&2
        die "libvirtd failed to start"
    fi
    local i
    for i in $(seq 300); do
        is_up "$state" && break
        sleep 0.1
    done
    exec 8>&-
    if ! is_up "$state"; then
        tail -n 20 "$state/log/libvirtd.log" >&2
        die "libvirtd did not answer on $state/run/libvirt-sock within 30 s"
    fi
    echo "$uri" >"$state/uri"
    log "libvirtd $(cat "$pidfile") up; log in $state/log"
    echo "$uri"
}

wait_gone() { # wait_gone PID SECONDS
    local _
    for _ in $(seq $(($2 * 10))); do
        kill -0 "$1" 2>/dev/null || return 0
        sleep 0.1
    done
    return 1
}

# Only processes proven to be this instance's are signalled: libvirtd by
# its pid file and command line, QEMU by libvirt's pid files or by
# having STATE/run as its /run/libvirt (i.e. being in our namespace).
stop_libvirtd() {
    local state uri pidfile lpid
    state=$(state_of "${1:-}")
    if [ ! -d "$state" ]; then
        return 0
    fi
    uri=$(uri_of "$state")
    pidfile=$state/libvirtd.pid
    lpid=$(cat "$pidfile" 2>/dev/null || true)

    if [ -n "$lpid" ] && kill -0 "$lpid" 2>/dev/null && [ -S "$state/run/libvirt-sock" ]; then
        # A TCG QEMU takes ~2 s to exit: destroy the guests in parallel.
        timeout 20 virsh -q -c "$uri" list --name 2>/dev/null | grep . |
            xargs -r -P 8 -I{} timeout 60 virsh -q -c "$uri" destroy {} >/dev/null 2>&1 || true
        local d
        for d in $(timeout 20 virsh -q -c "$uri" list --all --name 2>/dev/null); do
            timeout 20 virsh -q -c "$uri" undefine "$d" >/dev/null 2>&1 || true
        done
    fi
    if [ -n "$lpid" ] && kill -0 "$lpid" 2>/dev/null &&
        tr '\0' ' ' <"/proc/$lpid/cmdline" 2>/dev/null | grep -qF -- "-p $pidfile"; then
        kill -TERM "$lpid" 2>/dev/null || true
        if ! wait_gone "$lpid" 15; then
            log "libvirtd $lpid ignored SIGTERM; SIGKILL"
            kill -KILL "$lpid" 2>/dev/null || true
            wait_gone "$lpid" 5 || log "libvirtd $lpid is still there"
        fi
    fi

    # QEMU left behind, e.g. after libvirtd crashed or was killed.
    local pf qpid qpids=
    for pf in "$state"/run/qemu/*.pid; do
        [ -s "$pf" ] && qpids="$qpids $(cat "$pf")"
    done
    # A QEMU whose /run/libvirt is our STATE/run lives in our namespace;
    # one with a file under STATE open (its serial log) is ours too.
    local ours theirs
    ours=$(stat -c %d:%i "$state/run" 2>/dev/null || true)
    for qpid in $(pgrep qemu-system || true); do
        theirs=$(stat -c %d:%i "/proc/$qpid/root/run/libvirt" 2>/dev/null || true)
        if { [ -n "$ours" ] && [ "$theirs" = "$ours" ]; } ||
            find "/proc/$qpid/fd" -mindepth 1 -lname "$state/*" 2>/dev/null | grep -q .; then
            qpids="$qpids $qpid"
        fi
    done
    local killed=
    for qpid in $qpids; do
        if kill -0 "$qpid" 2>/dev/null &&
            tr '\0' ' ' <"/proc/$qpid/cmdline" 2>/dev/null | grep -q qemu-system; then
            log "killing leftover QEMU $qpid"
            kill -TERM "$qpid" 2>/dev/null || true
            killed="$killed $qpid"
        fi
    done
    for qpid in $killed; do
        wait_gone "$qpid" 10 || { kill -KILL "$qpid" 2>/dev/null; wait_gone "$qpid" 5; } || true
    done

    # Our namespace and its mounts went with its last process.  If it was
    # the last instance, remove the mount points and cgroups the lab made
    # (rmdir only removes what is empty: a cgroup in use stays).
    take_host_lock
    if [ -s "$host_created" ] && ! instances_alive; then
        local c
        while read -r c; do
            case $c in
            /sys/fs/cgroup/*) find "$c" -depth -type d -exec rmdir {} \; 2>/dev/null || true ;;
            *) rmdir "$c" 2>/dev/null || true ;;
            esac
            # Whatever could not go (not empty) stays listed for next time.
            [ ! -d "$c" ] || echo "$c" >>"$host_created.new"
        done <"$host_created"
        if [ -s "$host_created.new" ]; then
            mv -f "$host_created.new" "$host_created"
        else
            rm -f "$host_created" "$host_created.new"
        fi
    fi
    exec 8>&-
    if [ "${KEEP_STATE:-0}" = 1 ]; then
        rm -f "$pidfile" "$state/uri"
    else
        rm -rf "$state"
    fi
}

# ---------------------------------------------------------------------------
# define-guest / guest-exec
# ---------------------------------------------------------------------------
guest_uri() {
    if [ -n "${LIBVIRT_DEFAULT_URI:-}" ]; then
        echo "$LIBVIRT_DEFAULT_URI"
    elif [ -s "$run_dir/libvirt/uri" ]; then
        cat "$run_dir/libvirt/uri"
    else
        die "no LIBVIRT_DEFAULT_URI and no instance in $run_dir/libvirt (start-libvirtd first)"
    fi
}

define_guest() {
    [ $# -ge 2 ] || die "usage: define-guest NAME MEM_MIB [--cur MIB] [--period SEC] [--no-agent] [--no-balloon] [--disk FILE | --swap MIB] [--start] [--wait SEC]"
    local name=$1 max=$2
    shift 2
    # The name is also in libvirt's cgroup names, which are host-wide:
    # callers should make it unique across concurrent runs.
    case $name in '' | *[!A-Za-z0-9_.-]*) die "bad NAME '$name'" ;; esac
    case $max in '' | *[!0-9]*) die "MEM_MIB must be a number" ;; esac
    local cur=$max period=2 agent=1 balloon=1 start=0 wait=60 disk='' swap=0
    while [ $# -gt 0 ]; do
        case $1 in
        --cur) cur=${2:?} && shift ;;
        --period) period=${2:?} && shift ;;
        --no-agent) agent=0 ;;
        --no-balloon) balloon=0 ;;
        --disk) disk=${2:?} && shift ;;
        --swap) swap=${2:?} && shift ;;
        --start) start=1 ;;
        --wait) wait=${2:?} && shift ;;
        *) die "unknown option $1" ;;
        esac
        shift
    done
    [ "$cur" -le "$max" ] || die "--cur must not exceed MEM_MIB"
    case $swap in '' | *[!0-9]*) die "--swap takes a size in MiB" ;; esac
    [ "$swap" = 0 ] || [ -z "$disk" ] || die "--disk and --swap both make the guest's vda: give one"

    local uri state guest emulator
    uri=$(guest_uri)
    # Logs and XML go to the instance's state dir, which stop removes.
    case $uri in
    *socket=*/run/libvirt-sock) state=${uri#*socket=} && state=${state%/run/libvirt-sock} ;;
    *) state=$run_dir ;;
    esac
    mkdir -p "$state/log" "$state/xml"
    guest=$(build_guest "${MOMD_E2E_GUEST:-$guest_dir_default}")
    emulator=$(command -v qemu-system-x86_64) || die "qemu-system-x86_64 not found"
    local serial=$state/log/$name-serial.log

    local agent_xml='' stats_xml='' disk_xml='' balloon_xml
    # --disk FILE: a raw image as virtio disk vda (for I/O limits; the
    # guest runs from its initramfs and never mounts it)
    # --swap MIB: a new sparse raw image of MIB in the state dir as vda,
    # which the guest's /init makes its swap (momlab.swap=1): a guest that
    # can page, so that its memory stall (PSI) shows what a balloon costs it
    local cmdline="console=ttyS0 quiet momlab.name=$name"
    if [ "$swap" != 0 ]; then
        disk=$state/$name-swap.img
        rm -f "$disk"
        truncate -s "${swap}M" "$disk"
        cmdline="$cmdline momlab.swap=1"
    fi
    [ -n "$disk" ] && disk_xml="<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='$(readlink -f "$disk")'/><target dev='vda' bus='virtio'/></disk>"
    [ "$agent" = 1 ] && agent_xml="<channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>"
    # No period: the guest sends stats once at boot and never again.
    [ "$period" != 0 ] && stats_xml="<stats period='$period'/>"
    balloon_xml="<memballoon model='virtio'>$stats_xml</memballoon>"
    # --no-balloon: libvirt refuses to change the guest's memory while it
    # runs (the fault test's refused balloon)
    [ "$balloon" = 1 ] || balloon_xml="<memballoon model='none'/>"
    # type='qemu' is TCG.  KVM here is PVM-nested and a normal kernel
    # never gets past its decompressor under it.
    cat >"$state/xml/$name.xml" <<EOF
<domain type='qemu'>
  <name>$name</name>
  <memory unit='MiB'>$max</memory>
  <currentMemory unit='MiB'>$cur</currentMemory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$guest/vmlinuz</kernel>
    <initrd>$guest/initramfs.cpio.gz</initrd>
    <cmdline>$cmdline</cmdline>
  </os>
  <features><acpi/></features>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>$emulator</emulator>
    <controller type='usb' model='none'/>
    <serial type='pty'>
      <log file='$serial' append='off'/>
      <target port='0'/>
    </serial>
    <console type='pty'><target type='serial' port='0'/></console>
    $agent_xml
    $disk_xml
    $balloon_xml
  </devices>
</domain>
EOF
    virsh -q -c "$uri" define "$state/xml/$name.xml" >/dev/null
    [ "$start" = 1 ] || return 0

    rm -f "$serial"
    local t0=$SECONDS i
    virsh -q -c "$uri" start "$name" >/dev/null
    [ "$wait" -gt 0 ] || return 0
    for i in $(seq $((wait * 10))); do
        grep -qa MOMLAB-READY "$serial" 2>/dev/null && break
        # A guest that died will never be ready: say so at once.
        if [ $((i % 10)) = 0 ] && [ "$(virsh -q -c "$uri" domstate "$name" 2>/dev/null)" != running ]; then
            die "$name is no longer running (see $serial and $state/log)"
        fi
        sleep 0.1
    done
    grep -qa MOMLAB-READY "$serial" 2>/dev/null || die "$name: no MOMLAB-READY within ${wait} s (see $serial)"
    log "$name ready after $((SECONDS - t0)) s: $(grep -a MOMLAB-READY "$serial" | tr -d '\r')"
}

json_str() { # json_str S: S as a JSON string
    local s=$1
    s=${s//\\/\\\\} s=${s//\"/\\\"} s=${s//$'\n'/\\n} s=${s//$'\t'/\\t}
    printf '"%s"' "$s"
}

# Runs CMD through the agent, prints its output and exits with its code
# (125 when the agent itself failed).  GUEST_EXEC_TIMEOUT, default 120 s.
guest_exec() {
    [ $# -ge 2 ] || die "usage: guest-exec NAME CMD [ARG...]"
    local name=$1 uri path args='' a req resp pid st deadline out err code
    shift
    uri=$(guest_uri)
    path=$(json_str "$1")
    shift
    for a in "$@"; do args="$args${args:+,}$(json_str "$a")"; done
    req="{\"execute\":\"guest-exec\",\"arguments\":{\"path\":$path,\"arg\":[$args],\"capture-output\":true}}"
    resp=$(virsh -q -c "$uri" qemu-agent-command "$name" "$req") || { log "guest-exec failed"; exit 125; }
    pid=$(echo "$resp" | sed -n 's/.*"pid":\([0-9]*\).*/\1/p')
    [ -n "$pid" ] || { log "unexpected reply: $resp"; exit 125; }
    deadline=$((SECONDS + ${GUEST_EXEC_TIMEOUT:-120}))
    while :; do
        st=$(virsh -q -c "$uri" qemu-agent-command "$name" \
            "{\"execute\":\"guest-exec-status\",\"arguments\":{\"pid\":$pid}}") ||
            { log "guest-exec-status failed"; exit 125; }
        case $st in *'"exited":true'*) break ;; esac
        [ "$SECONDS" -lt "$deadline" ] || { log "guest pid $pid still running after ${GUEST_EXEC_TIMEOUT:-120} s"; exit 125; }
        sleep 0.2
    done
    out=$(echo "$st" | sed -n 's/.*"out-data":"\([^"]*\)".*/\1/p')
    err=$(echo "$st" | sed -n 's/.*"err-data":"\([^"]*\)".*/\1/p')
    code=$(echo "$st" | sed -n 's/.*"exitcode":\([0-9-]*\).*/\1/p')
    [ -z "$out" ] || printf '%s' "$out" | base64 -d
    [ -z "$err" ] || printf '%s' "$err" | base64 -d >&2
    exit "${code:-125}"
}

# ---------------------------------------------------------------------------
# ksm save FILE | ksm restore FILE: KSM is one per host, so a test that
# changes it puts every writable tunable back, whatever happened.
# ---------------------------------------------------------------------------
ksm=/sys/kernel/mm/ksm
ksm_get() { # a bracketed choice ("[none] scan-time") as the chosen word
    local v
    v=$(cat "$ksm/$1")
    case $v in *\[*\]*) v=${v#*[} v=${v%%]*} ;; esac
    echo "$v"
}

ksm_cmd() {
    local f=${2:-}
    [ -n "$f" ] || die "usage: ksm save FILE | ksm restore FILE"
    [ -e "$ksm/run" ] || die "$ksm missing (kernel without CONFIG_KSM)"
    case ${1:-} in
    save)
        # "Writable" by mode: test -w is true for root even on read-only
        # files, and the counters would then be "restored" with an error.
        local t
        : >"$f"
        for t in "$ksm"/*; do
            if [ -f "$t" ] && [ -n "$(find "$t" -perm -u=w)" ]; then
                echo "${t##*/}=$(ksm_get "${t##*/}")" >>"$f"
            fi
        done
        ;;
    restore)
        [ -s "$f" ] || die "$f is missing or empty"
        local k v run man adv
        run=$(sed -n 's/^run=//p' "$f")
        man=$(sed -n 's/^merge_across_nodes=//p' "$f")
        adv=$(sed -n 's/^advisor_mode=//p' "$f")
        # merge_across_nodes only changes while nothing is merged.
        if [ -n "$man" ] && [ "$(ksm_get merge_across_nodes)" != "$man" ]; then
            echo 2 >"$ksm/run"
        fi
        # advisor_mode after the rest (in scan-time mode the kernel
        # refuses pages_to_scan), run last so ksmd restarts with the old
        # tunables.
        while IFS='=' read -r k v; do
            case $k in run | advisor_mode) continue ;; esac
            [ -e "$ksm/$k" ] || continue
            [ "$(ksm_get "$k")" != "$v" ] || continue
            echo "$v" >"$ksm/$k" 2>/dev/null || log "could not restore $k=$v"
        done <"$f"
        if [ -n "$adv" ] && [ "$(ksm_get advisor_mode)" != "$adv" ]; then
            echo "$adv" >"$ksm/advisor_mode" 2>/dev/null || log "could not restore advisor_mode=$adv"
        fi
        [ -z "$run" ] || [ "$(ksm_get run)" = "$run" ] || echo "$run" >"$ksm/run"
        ;;
    *) die "usage: ksm save FILE | ksm restore FILE" ;;
    esac
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case $cmd in
build-guest) build_guest "$@" ;;
start-libvirtd) start_libvirtd "$@" ;;
stop-libvirtd) stop_libvirtd "$@" ;;
define-guest) define_guest "$@" ;;
guest-exec) guest_exec "$@" ;;
ksm) ksm_cmd "$@" ;;
*)
    sed -n '/^#   lab.sh/,/^#   lab.sh ksm/p' "$self" | sed 's/^#   //' >&2
    exit 2
    ;;
esac
