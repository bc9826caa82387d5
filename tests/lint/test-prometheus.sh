#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# data/prometheus/: promtool checks the rules and runs their unit tests
# (tests/prometheus/momd-rules.test.yml: each alert fires on its series);
# the Grafana dashboard is JSON whose every query names only metrics that
# docs/metrics.md documents or rules that momd-rules.yml records.  TAP.
set -u
: "${MOM_TOP_SRCDIR:?run through meson test}"
top=$MOM_TOP_SRCDIR
here=$(dirname "$(readlink -f "$0")")
# shellcheck source=../tap.sh
. "$here/../tap.sh"
tmp=$(mktemp -d /tmp/momd-prometheus.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
tap_dir=$tmp

if ! command -v promtool >/dev/null; then
    echo "1..0 # SKIP promtool is not installed (Debian's prometheus package; scripts/deps.sh test)"
    exit 0
fi
check "promtool check rules data/prometheus/momd-rules.yml" \
    sh -c "promtool check rules '$top/data/prometheus/momd-rules.yml' >'$tmp/out' 2>'$tmp/err'"
check "promtool test rules: every alert fires on its series and not before" \
    sh -c "cd '$top/tests/prometheus' && promtool test rules momd-rules.test.yml >'$tmp/out' 2>'$tmp/err'"
dashboard_ok() {
    python3 - "$top" >"$tmp/out" 2>"$tmp/err" <<'PY'
import json, re, sys
top = sys.argv[1]
dash = json.load(open(top + "/data/prometheus/grafana-momd.json"))
documented = set(re.findall(r"`(momd_[a-z0-9_]+)", open(top + "/docs/metrics.md").read()))
recorded = set(re.findall(r"record: (\S+)", open(top + "/data/prometheus/momd-rules.yml").read()))
bad = []
for p in dash["panels"]:
    assert p["targets"], p["title"]
    for t in p["targets"]:
        for name in re.findall(r"\b(momd[:_][a-z0-9_:]+)", t["expr"]):
            base = re.sub(r"_(bucket|sum|count)$", "", name)
            if name not in recorded and base not in documented:
                bad.append("%s: %s" % (p["title"], name))
if bad:
    print("\n".join(bad))
    sys.exit(1)
PY
}
check "the Grafana dashboard queries only documented metrics and recorded rules" dashboard_ok
echo "1..$n"
[ "$failed" -eq 0 ]
