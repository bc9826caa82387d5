#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# momd's Prometheus metrics, end to end: the real momd (dry run, 1 s
# intervals, libvirt's test driver with 3 domains) with [metrics] listen
# and textfile; promtool checks what both give; a real Prometheus server
# (Debian's prometheus, on loopback, with its own configuration and
# storage in a temporary directory) scrapes momd, and the value its HTTP
# API returns for a guest's maximum balloon must be what momctl reports.
# Then the error paths: a malformed address stops momd with a sentence
# naming it, a non-loopback address is warned about, and a reload with an
# address that cannot be bound keeps the running listener.  TAP output.
set -u

: "${MOMD:?run through meson test}"
: "${MOMCTL:?run through meson test}"
: "${MOM_TOP_SRCDIR:?run through meson test}"
top=$MOM_TOP_SRCDIR
unset MOMCTL_SOCKET

here=$(dirname "$(readlink -f "$0")")
# shellcheck source=../tap.sh
. "$here/../tap.sh"
tap_tmp momd-metrics # $tmp; momd and the Prometheus server ($listener_pid) stopped at exit

for tool in prometheus promtool; do
    if ! command -v $tool >/dev/null; then
        echo "1..0 # SKIP $tool is not installed (Debian's prometheus package; scripts/deps.sh test)"
        exit 0
    fi
done

# free_port: a TCP port nobody listens on now, on 127.0.0.1
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# http METHOD URL: the status code on the first line of $tmp/out, the
# body after it; the headers in $tmp/err
http() {
    python3 - "$1" "$2" >"$tmp/out" 2>"$tmp/err" <<'EOF'
import sys, urllib.request, urllib.error
req = urllib.request.Request(sys.argv[2], method=sys.argv[1], data=b"" if sys.argv[1] == "POST" else None)
try:
    r = urllib.request.urlopen(req, timeout=10)
    code, body, headers = r.status, r.read(), r.headers
except urllib.error.HTTPError as e:
    code, body, headers = e.code, e.read(), e.headers
print(code)
sys.stdout.flush()
sys.stdout.buffer.write(body)
sys.stderr.write(str(headers))
EOF
}
body() { tail -n +2 "$tmp/out"; }

write_config() { # write_config FILE LISTEN TEXTFILE: 1 s cycles, dry run, test driver
    write_momd_conf "$1" controllers='Balloon, KSM' policy-dir="$top/data/policies" \
        libvirt-hypervisor-uri="test://$tmp/guests.xml" guest-monitor-interval=1 guest-manager-interval=1 \
        '[logging]' verbosity=info \
        '[host]' collectors='HostMemory, HostKSM, HostCpu' \
        '[guest]' collectors='GuestMemory, GuestBalloon' \
        '[metrics]' listen="$2" textfile="$3"
}
if ! python3 "$top/tests/libvirt/make-test-xml.py" 3 "$tmp/guests.xml" 2>"$tmp/err"; then
    bail "make-test-xml.py could not write $tmp/guests.xml"
fi

# --- the endpoint and the textfile -----------------------------------------------------

port=$(free_port)
write_config "$tmp/momd.conf" "127.0.0.1:$port" "$tmp/momd.prom"
start_momd
check "momd says where the metrics are" \
    wait_for "$log" "Metrics are served at /metrics on port $port ([metrics] listen 127.0.0.1:$port)." 15
check "momd says where the textfile is" \
    grep -qF "Metrics are written to $tmp/momd.prom after every policy cycle." "$log"
# the first cycle with every guest
deadline=$((SECONDS + 20))
while [ "$SECONDS" -le "$deadline" ]; do
    http GET "http://127.0.0.1:$port/metrics"
    [ "$(grep -c '^momd_guest_balloon_maximum_bytes{domain="vm000[1-3]"}' "$tmp/out")" = 3 ] && break
    sleep 0.3
done
check "GET /metrics: 200" test "$(head -n 1 "$tmp/out")" = 200
check "GET /metrics: the exposition format's content type" \
    grep -qF "Content-Type: text/plain; version=0.0.4; charset=utf-8" "$tmp/err"
body >"$tmp/scrape.prom"
check "GET /metrics: promtool check metrics passes" sh -c "promtool check metrics <'$tmp/scrape.prom' >'$tmp/promtool.out' 2>&1"
sed 's/^/#   promtool: /' "$tmp/promtool.out"
for metric in 'momd_build_info{version="0.1.0"} 1' 'momd_guests 3' \
    'momd_guest_balloon_maximum_bytes{domain="vm0001"} 1073741824' \
    'momd_policy_cycle_duration_seconds_bucket{le="+Inf"}' \
    'momd_controller_actions_total{controller="Balloon",result="skipped"}' \
    'momd_host_memory_total_bytes' 'momd_ksm_run'; do
    check "GET /metrics: has $metric" grep -qF -- "$metric" "$tmp/scrape.prom"
done
# a dry run changes nothing: its balloon decisions count as skipped
check "dry run: Balloon's decisions counted as skipped, none as applied" sh -c "
    grep -qE '^momd_controller_actions_total\{controller=\"Balloon\",result=\"skipped\"\} [1-9]' '$tmp/scrape.prom' &&
    grep -qE '^momd_controller_actions_total\{controller=\"Balloon\",result=\"applied\"\} 0$' '$tmp/scrape.prom'"
http GET "http://127.0.0.1:$port/other"
check "GET /other: 404" test "$(head -n 1 "$tmp/out")" = 404
http POST "http://127.0.0.1:$port/metrics"
check "POST /metrics: 405" test "$(head -n 1 "$tmp/out")" = 405
check "POST /metrics: the 405 says what is allowed" grep -qF "Allow: GET, HEAD" "$tmp/err"
# a big body is read but not kept: momd's memory must not grow with it
rss_before=$(awk '/^VmRSS/ {print $2}' "/proc/$momd_pid/status")
python3 - "$port" >"$tmp/big.out" 2>&1 <<'EOF'
import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=20)
c.putrequest("POST", "/metrics")
c.putheader("Content-Length", str(64 << 20))
c.endheaders()
chunk = b"x" * (1 << 20)
try:
    for _ in range(64):
        c.send(chunk)
    print(c.getresponse().status)
except OSError as e:
    print("closed", e)
EOF
rss_after=$(awk '/^VmRSS/ {print $2}' "/proc/$momd_pid/status")
check "a 64 MiB POST body is refused ($(head -n 1 "$tmp/big.out"))" grep -qE "^(405|closed)" "$tmp/big.out"
if grep -q libasan "/proc/$momd_pid/maps"; then
    # ASan holds freed memory in its quarantine: RSS says nothing there
    skip "and not kept (VmRSS $rss_before → $rss_after KiB)" "ASan's quarantine keeps freed memory; step 1 of CI checks it"
else
    check "and not kept: VmRSS $rss_before → $rss_after KiB (less than 8 MiB more)" \
        test "$((rss_after - rss_before))" -lt 8192
fi
http POST "http://127.0.0.1:$port/RPC2"
check "the metrics port does not answer the control API (POST /RPC2: 404)" \
    test "$(head -n 1 "$tmp/out")" = 404

check "the textfile is there" test -s "$tmp/momd.prom"
check "the textfile: promtool check metrics passes" sh -c "promtool check metrics <'$tmp/momd.prom'"
check "the textfile is mode 0644" test "$(stat -c %a "$tmp/momd.prom")" = 644
check "the textfile leaves no temporary file behind" \
    test "$(find "$tmp" -maxdepth 1 -name 'momd.prom*' | wc -l)" = 1

# --- a real Prometheus -----------------------------------------------------------------

prom_port=$(free_port)
mkdir "$tmp/tsdb"
cat >"$tmp/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: momd
    static_configs:
      - targets: ['127.0.0.1:$port']
EOF
prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/tsdb" \
    --web.listen-address="127.0.0.1:$prom_port" >"$tmp/prometheus.log" 2>&1 &
listener_pid=$!
query='momd_guest_balloon_maximum_bytes{domain="vm0002"}'
value=
deadline=$((SECONDS + 60))
while [ "$SECONDS" -le "$deadline" ] && kill -0 "$listener_pid" 2>/dev/null; do
    http GET "http://127.0.0.1:$prom_port/api/v1/query?query=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$query")"
    value=$(body | python3 -c '
import json, sys
try:
    r = json.load(sys.stdin)["data"]["result"]
    print(r[0]["value"][1] if r else "")
except Exception:
    print("")')
    [ -n "$value" ] && break
    sleep 0.5
done
check "Prometheus scraped momd: $query = ${value:-nothing}" test -n "$value"
"$MOMCTL" --socket "$tmp/momd.sock" guests --json >"$tmp/out" 2>"$tmp/err"
want=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["vm0002"]["statistics"]["balloon_max"] * 1024)' "$tmp/out")
check "Prometheus's value is momctl's balloon_max of vm0002 in bytes ($value = $want)" \
    test "${value:-x}" = "$want"
http GET "http://127.0.0.1:$prom_port/api/v1/query?query=up"
check "Prometheus sees the target up" sh -c "tail -n +2 '$tmp/out' | grep -q '\"value\":\[[0-9.]*,\"1\"\]'"
kill "$listener_pid" 2>/dev/null && wait "$listener_pid" 2>/dev/null
listener_pid=

# --- reload and errors -----------------------------------------------------------------

# A reload whose address cannot be used keeps the running listener.
write_config "$tmp/momd.conf" "127.0.0.1:99999" "$tmp/momd.prom"
kill -HUP "$momd_pid"
check "reload with port 99999: refused with a sentence naming it" \
    wait_for "$log" "[metrics] listen: '127.0.0.1:99999' is not ADDRESS:PORT (for example 127.0.0.1:9177 or [::1]:9177). The metrics stay as they were." 10
http GET "http://127.0.0.1:$port/metrics"
check "after the refused reload the old listener still answers" test "$(head -n 1 "$tmp/out")" = 200
# a port another process holds
busy=$(free_port)
python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1); print("held", flush=True); time.sleep(60)' \
    "$busy" >"$tmp/holder.out" 2>&1 &
holder=$!
wait_for "$tmp/holder.out" held 10
write_config "$tmp/momd.conf" "127.0.0.1:$busy" "$tmp/momd.prom"
kill -HUP "$momd_pid"
check "reload with a port in use: refused, naming the address" \
    wait_for "$log" "Cannot serve metrics on 127.0.0.1:$busy: " 10
http GET "http://127.0.0.1:$port/metrics"
check "after that reload the old listener still answers" test "$(head -n 1 "$tmp/out")" = 200
kill "$holder" 2>/dev/null && wait "$holder" 2>/dev/null
# a good reload moves the listener and drops the textfile
write_config "$tmp/momd.conf" "127.0.0.1:$busy" ""
kill -HUP "$momd_pid"
check "reload to a free port: served there" \
    wait_for "$log" "Metrics are served at /metrics on port $busy ([metrics] listen 127.0.0.1:$busy)." 10
http GET "http://127.0.0.1:$busy/metrics"
check "the new port answers" test "$(head -n 1 "$tmp/out")" = 200
http GET "http://127.0.0.1:$port/metrics"
check "the old port is closed" test "$(head -n 1 "$tmp/out")" != 200
stop_momd

write_config "$tmp/bad.conf" "nonsense" ""
"$MOMD" -c "$tmp/bad.conf" >"$tmp/out" 2>"$tmp/err"
rc=$?
check "listen 'nonsense': momd does not start (exit $rc)" test "$rc" -ne 0
check "listen 'nonsense': the reason names the setting and the value" \
    grep -qF "Cannot start [metrics], so momd cannot start: [metrics] listen: 'nonsense' is not ADDRESS:PORT" "$log"

write_config "$tmp/bad.conf" "" "$tmp/no/such/dir/momd.prom"
"$MOMD" -c "$tmp/bad.conf" >"$tmp/out" 2>"$tmp/err"
rc=$?
check "textfile in a missing directory: momd does not start (exit $rc)" test "$rc" -ne 0
check "textfile in a missing directory: the reason names it" \
    grep -qF "[metrics] textfile: the directory $tmp/no/such/dir of $tmp/no/such/dir/momd.prom does not exist." "$log"

write_config "$tmp/wide.conf" "0.0.0.0:$(free_port)" ""
start_momd -c "$tmp/wide.conf"
check "listen 0.0.0.0: warned as not loopback" \
    wait_for "$log" "which is not a loopback address: anyone who can reach it reads momd's metrics" 10
stop_momd

echo "1..$n"
[ "$failed" -eq 0 ]
