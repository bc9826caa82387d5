#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# momd's local attack surface, as a hostile local user sees it:
#   - the control socket in a directory that another user can write to:
#     momd refuses to start, and momctl refuses to send anything there
#     (a listener of uid 65534 stands in for the attacker);
#   - names with control characters (libvirt test-driver guests named
#     "evil\n2026-...", "cr\rtab\tx" and "host", a policy file named
#     "odd\nname"): no forged log lines, escaped in momctl's output, one
#     plot file each, the guest "host" apart from the host; policy names
#     outside the documented set refused through the control API;
#   - the modes of the files momd creates: pid file 0644, plot files 0640,
#     whatever the umask.
# Dry run; the root-only steps SKIP otherwise.  TAP output.
set -u

: "${MOMD:?run through meson test}"
: "${MOMCTL:?run through meson test}"
: "${MOM_TOP_SRCDIR:?run through meson test}"
top=$MOM_TOP_SRCDIR
here=$(dirname "$(readlink -f "$0")")
# shellcheck source=../tap.sh
. "$here/../tap.sh"
tap_tmp momd-surface
root=false
[ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null && getent group nogroup >/dev/null && root=true
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
# a python3 that uid 65534 can run (not one under /root)
system_python=python3
[ -x /usr/bin/python3 ] && system_python=/usr/bin/python3
# uid 65534 must reach what it owns under $tmp
chmod 0755 "$tmp"

# write_config FILE SOCKET [KEY=VALUE | '[SECTION]']...: dry run, 1 s cycles,
# host only, the log on stderr (write_momd_conf's defaults), and ARGS.
write_config() {
    local file=$1 socket=$2
    shift 2
    write_momd_conf "$file" rpc-port="$socket" controllers=Balloon '[logging]' log=stdio '[main]' "$@"
}
cp "$top"/data/policies/*.policy "$tmp/policies/"

# --- momd: the socket's directories -----------------------------------------------

# refused NAME DIR WANT: momd with its socket in DIR must not start, and say WANT.
refused() {
    local sock=$2/momd.sock rc
    write_config "$tmp/refused.conf" "$sock"
    timeout 20 "$MOMD" -c "$tmp/refused.conf" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    check "$1: momd refuses to start (exit $rc)" test "$rc" -ne 0 -a "$rc" -lt 124
    check "$1: the error says why" grep -qF -- "$3" "$tmp/err"
    check "$1: the error says what to do" \
        grep -qF "Every directory on the way to it must belong to root and be writable by its owner only." "$tmp/err"
    check "$1: no socket was made" test ! -e "$sock"
}
mkdir -m 0777 "$tmp/open"
chmod 0777 "$tmp/open" # whatever the umask
refused "a 0777 directory" "$tmp/open" \
    "The control socket $tmp/open/momd.sock is not safe: the directory $tmp/open is writable by every user (mode 0777), who could replace the socket."
mkdir "$tmp/sticky" && chmod 1777 "$tmp/sticky"
refused "a 1777 directory holding the socket" "$tmp/sticky" \
    "the directory $tmp/sticky is writable by every user (mode 1777)"
mkdir -p "$tmp/open/deeper" && chmod 0755 "$tmp/open/deeper"
refused "a 0755 directory inside a 0777 one" "$tmp/open/deeper" \
    "the directory $tmp/open is writable by every user (mode 0777)"
ln -s open "$tmp/link"
refused "a link to a 0777 directory" "$tmp/link" \
    "the directory $tmp/open is writable by every user (mode 0777)"
if $root; then
    mkdir "$tmp/theirs" && chown 65534:65534 "$tmp/theirs"
    refused "a directory of uid 65534" "$tmp/theirs" \
        "the directory $tmp/theirs belongs to user nobody (uid 65534), who could replace the socket."
    mkdir "$tmp/group" && chgrp nogroup "$tmp/group" && chmod 0775 "$tmp/group"
    refused "a group-writable directory" "$tmp/group" \
        "the directory $tmp/group is writable by the members of group nogroup (mode 0775)"
else
    skip "a directory of uid 65534: momd refuses" "needs root, setpriv and a nogroup group"
fi

# --- momctl: nothing is sent to a socket others could have replaced ---------------

# listen SOCKET [RUN-AS...]: a listener that writes what it received to
# SOCKET's directory (which RUN-AS can write to), file "heard".
listen() {
    local sock=$1
    shift
    heard_file=$(dirname "$sock")/heard
    rm -f "$heard_file" "$sock"
    "$@" "$system_python" -c '
import socket, sys, os
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); os.chmod(sys.argv[1], 0o666); s.listen(5); s.settimeout(15)
got = b""
try:
    c, _ = s.accept()
    c.settimeout(2)
    while True:
        b = c.recv(65536)
        if not b:
            break
        got += b
except OSError:
    pass
with open(sys.argv[2], "wb") as f:
    f.write(b"%d bytes\n" % len(got) + got)
' "$sock" "$heard_file" &
    listener_pid=$!
    for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
}
heard() { # the listener's report, once it stopped
    kill "$listener_pid" 2>/dev/null
    wait "$listener_pid" 2>/dev/null
    listener_pid=
    cat "$heard_file" 2>/dev/null || echo "0 bytes (no connection)"
}
echo '(defvar secret_policy_text 1)' >"$tmp/secret.policy"

listen "$tmp/open/momd.sock"
"$MOMCTL" --socket "$tmp/open/momd.sock" policy set "$tmp/secret.policy" >"$tmp/out" 2>"$tmp/err"
rc=$?
check "0777 directory: momctl policy set exits 3 ($rc)" test "$rc" -eq 3
check "0777 directory: momctl says why and that nothing was sent" grep -qF \
    "momctl: The control socket $tmp/open/momd.sock is not safe: the directory $tmp/open is writable by every user (mode 0777), who could replace the socket. Every directory on the way to it must belong to root" "$tmp/err"
check "0777 directory: ...Nothing was sent to it." grep -qF "Nothing was sent to it." "$tmp/err"
what=$(heard)
check "0777 directory: the listener received nothing ($(head -n 1 <<<"$what"))" \
    test "$(head -n 1 <<<"$what")" = "0 bytes (no connection)"

if $root; then
    # The attack of the report: uid 65534 owns the directory and listens.
    mkdir "$tmp/trap" && chown 65534:65534 "$tmp/trap"
    listen "$tmp/trap/momd.sock" as_nobody
    check "uid 65534 listens in its own directory" test -S "$tmp/trap/momd.sock"
    "$MOMCTL" --socket "$tmp/trap/momd.sock" policy set "$tmp/secret.policy" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    check "directory of uid 65534: momctl exits 3 ($rc)" test "$rc" -eq 3
    check "directory of uid 65534: momctl names its owner" grep -qF \
        "the directory $tmp/trap belongs to user nobody (uid 65534), who could replace the socket." "$tmp/err"
    what=$(heard)
    check "directory of uid 65534: the policy text never reached it ($(head -n 1 <<<"$what"))" \
        test "$(head -n 1 <<<"$what")" = "0 bytes (no connection)"
    # uid 65534 itself may talk to its own socket (it is its momd's user)
    listen "$tmp/trap/momd.sock" as_nobody
    as_nobody "$MOMCTL" --socket "$tmp/trap/momd.sock" ping >"$tmp/out" 2>"$tmp/err"
    what=$(heard)
    check "its owner's momctl does send ($(head -n 1 <<<"$what"))" grep -qF "POST /RPC2" <<<"$what"
else
    skip "a listener of uid 65534 receives nothing" "needs root, setpriv and a nogroup group"
fi

# --- a running momd: names with control characters, file modes ---------------------

if ! python3 "$top/tests/libvirt/make-test-xml.py" 3 "$tmp/guests.xml" 2>"$tmp/err"; then
    bail "make-test-xml.py wrote $tmp/guests.xml"
fi
# XML carries newline, CR and tab as character references; libvirt's test
# driver takes them in names.
forged='2026-01-01 00:00:00,000 - momd - INFO - forged'
sed -i -e "s|<name>vm0001</name>|<name>host</name>|" \
    -e "s|<name>vm0002</name>|<name>evil\&#10;$forged</name>|" \
    -e "s|<name>vm0003</name>|<name>cr\&#13;tab\&#9;x</name>|" "$tmp/guests.xml"
printf '(defvar odd_var 1)\n' >"$tmp/policies/odd"$'\n'"name.policy"
mkdir -m 0755 "$tmp/run"
sock=$tmp/run/momd.sock
log=$tmp/momd.log
write_config "$tmp/momd.conf" "$sock" guest-monitor-interval=1 guest-manager-interval=1 \
    libvirt-hypervisor-uri="test://$tmp/guests.xml" plot-dir="$tmp/plots" \
    '[logging]' log="$log" '[guest]' collectors='GuestMemory, GuestBalloon'
(umask 0077 && exec "$MOMD" -c "$tmp/momd.conf" --pid-file "$tmp/run/momd.pid") \
    >"$tmp/out" 2>"$tmp/err" &
momd_pid=$!
check "momd listens on $sock" wait_for "$log" "The control API listens on $sock." 20
check "momd manages the three guests" wait_for "$log" "Guest cr\\rtab\\tx (" 20
check "momd writes the host's plot" wait_for "$log" "Plotting samples into" 5
sleep 2 # a sample or two for every guest

check "the pid file holds momd's pid" test "$(cat "$tmp/run/momd.pid" 2>/dev/null)" = "$momd_pid"
check "the pid file is 0644 under umask 077 ($(stat -c %a "$tmp/run/momd.pid"))" \
    test "$(stat -c %a "$tmp/run/momd.pid")" = 644

plots=$tmp/plots/momplot-000
check "the host plots into HostMonitor.dat" test -s "$plots/HostMonitor.dat"
check "the guest named host plots into GuestMonitor-host.dat" test -s "$plots/GuestMonitor-host.dat"
check "a name with a newline is one file name, escaped" \
    test -s "$plots/GuestMonitor-evil\\n$forged.dat"
check "CR and tab escaped in a file name" test -s "$plots/GuestMonitor-cr\\rtab\\tx.dat"
n_plots=$(find "$plots" -mindepth 1 -printf . | wc -c)
check "four plot files and decisions.tsv, no other ($n_plots)" \
    test "$n_plots" -eq 5 -a -f "$plots/decisions.tsv"
check "decisions.tsv: every line has 8 columns, the names' tabs and newlines escaped" \
    awk -F'\t' 'NF != 8 { exit 1 }' "$plots/decisions.tsv"
check "HostMonitor.dat has the host's header only once" \
    test "$(grep -c '^# time' "$plots/HostMonitor.dat")" -eq 1
check "HostMonitor.dat has host fields, not a guest's" grep -q 'mem_unused' "$plots/HostMonitor.dat"
bad_modes=$(find "$plots" -type f ! -perm 0640 | wc -l)
check "every plot file is 0640 under umask 077 ($bad_modes are not)" test "$bad_modes" -eq 0

# Every line of the log is a record, or an indented continuation.
strays=$(grep -cvE '^([0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8},[0-9]{3} - | )' "$log")
check "every log line starts with a time stamp or a space ($strays do not)" test "$strays" -eq 0
check "no log line starts with the forged text" test "$(grep -c "^$forged" "$log")" -eq 0
check "the guest's name is in the log, escaped" grep -qF "Guest evil\\n$forged (" "$log"
check "the policy file's name is in the log, escaped" grep -qF "odd\\nname" "$log"

mc() { "$MOMCTL" --socket "$sock" "$@" >"$tmp/out" 2>"$tmp/err"; }
COLUMNS=300 mc guests # wide enough for the whole escaped name
check "momctl guests: a header and three rows ($(wc -l <"$tmp/out") lines)" \
    test "$(wc -l <"$tmp/out")" -eq 4
check "momctl guests: the newline escaped" grep -qF "evil\\n$forged" "$tmp/out"
check "momctl guests: CR and tab escaped" grep -qF 'cr\rtab\tx' "$tmp/out"
check "momctl guests: no control character reaches the terminal" \
    test "$(LC_ALL=C grep -c $'[\r\t\x1b]' "$tmp/out")" -eq 0
mc policy list
check "momctl policy list: the newline escaped" grep -qxF 'odd\nname' "$tmp/out"
n_policies=$(find "$tmp/policies" -name '*.policy' -printf . | wc -c)
check "momctl policy list: one line per policy ($n_policies)" test "$(wc -l <"$tmp/out")" -eq "$n_policies"
mc status
check "momctl status: the policies on one line" grep -qE '^ *Policies: .* odd\\nname' "$tmp/out"

# Policy names through the control API: the documented set only.
python3 - "$sock" >"$tmp/out" 2>"$tmp/err" <<'EOF'
import http.client, socket, sys, xmlrpc.client

class Conn(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(sys.argv[1])

class Transport(xmlrpc.client.Transport):
    def make_connection(self, host):
        return Conn("localhost")

m = xmlrpc.client.ServerProxy("http://localhost/", transport=Transport(), allow_none=True)
for name in ["x\n2026-01-01 00:00:00,000 - momd - INFO - forged", "a b", "../x", ".hidden",
             "", "x" * 65, "caf\u00e9", "tab\there"]:
    try:
        print("accepted %r: %r" % (name, m.setNamedPolicy(name, "(defvar z 1)")))
    except xmlrpc.client.Fault as f:
        print("fault %d %s" % (f.faultCode, f.faultString))
print("valid: %r" % m.setNamedPolicy("30-ok_v1.2", "(defvar z 1)"))
print("delete file's: %r" % m.setNamedPolicy("odd\nname", None))
try:
    print("delete unknown: %r" % m.setNamedPolicy("no such\n", None))
except xmlrpc.client.Fault as f:
    print("fault %d %s" % (f.faultCode, f.faultString))
EOF
check "setNamedPolicy: eight bad names and an unknown deletion refused, none accepted" \
    test "$(grep -c '^fault -32602 setNamedPolicy: ' "$tmp/out")" -eq 9 -a "$(grep -c '^accepted' "$tmp/out")" -eq 0
check "setNamedPolicy: the refusal escapes the name and states the rule" grep -qF \
    "fault -32602 setNamedPolicy: 'x\\n2026-01-01 00:00:00,000 - momd - INFO - forged' is not a valid policy name: a name has 1 to 64 characters: letters, digits, '-', '_' and '.', the first not a '.'." "$tmp/out"
check "setNamedPolicy: a name in the set is taken" grep -qxF "valid: True" "$tmp/out"
check "setNamedPolicy: a policy file's odd name can still be deleted" \
    grep -qxF "delete file's: True" "$tmp/out"
check "no log line starts with the forged text after the calls" \
    test "$(grep -c "^2026-01-01" "$log")" -eq 0

mc policy set "$tmp/secret.policy" --name 'a b'
rc=$?
check "momctl policy set --name 'a b': exit 2 ($rc)" test "$rc" -eq 2
check "momctl policy set --name 'a b': states the rule" grep -qF \
    "momctl: 'a b' is not a valid policy name: a name has 1 to 64 characters: letters, digits, '-', '_' and '.', the first not a '.'. Choose one with --name." "$tmp/err"

stop_momd
check "momd removed its pid file" test ! -e "$tmp/run/momd.pid"

echo "1..$n"
[ "$failed" -eq 0 ]
