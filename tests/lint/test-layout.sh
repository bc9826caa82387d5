#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The seams of the layout (issue 13, docs/architecture.md): each folder's
# internal headers stay in it.  policy-ast.h (the syntax tree and the value
# internals) is included only in policy/; proc-parse.h (the collectors'
# file readers) only in collectors/ and the tests, as libvirt's -priv.h
# rule has it; the policy evaluator calls nothing of the policy set;
# momctl's files include nothing of the daemon's (libvirt, the monitor,
# the engine).  Each rule also checks that the file it guards
# still exists, so a rename cannot make it pass by matching nothing.
set -uo pipefail
top=${MOM_TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top/tests/tap.sh"
cd "$top" || bail "cannot enter $top"

# only_in HEADER PATTERN NAME: HEADER is included nowhere but in the files
# whose path matches PATTERN
only_in() {
    local header=$1 allowed=$2 name=$3 bad
    if ! ls ./*/"$header" >/dev/null 2>&1; then
        not_ok "$name: $header exists"
        return
    fi
    bad=$(grep -rln "#include \"$header\"" --include='*.c' --include='*.h' \
        src policy collectors controllers tests | grep -vE "$allowed")
    if [ -z "$bad" ]; then
        ok "$name"
    else
        not_ok "$name"
        echo "$bad" | sed 's/^/#   includes it: /'
    fi
}

only_in policy-ast.h '^policy/' "policy-ast.h is included only in policy/"
only_in proc-parse.h '^(collectors|tests)/' "proc-parse.h is included only in collectors/ and the tests"

# The policy set calls the evaluator and lends it what a run needs
# (MomEvalProgram); the evaluator names nothing of the set's, so the calls
# go one way.
bad=$(grep -nE 'MomPolicySet|mom_policy_set_' policy/policy-eval.c policy/policy-eval.h)
if [ -z "$bad" ] && ls policy/policy-eval.c policy/policy-set.c >/dev/null 2>&1; then
    ok "policy-eval names nothing of policy-set"
else
    not_ok "policy-eval names nothing of policy-set"
    echo "$bad" | sed 's/^/#   /'
fi

daemon='mom-libvirt|mom-monitor|mom-engine|mom-guests|mom-agent|mom-config|mom-rpc-priv|mom-controller|mom-collector'
bad=$(grep -nE "#include \"($daemon)(-priv)?\.h\"" src/momctl*.c src/momctl-priv.h)
if [ -z "$bad" ] && ls src/momctl.c >/dev/null 2>&1; then
    ok "momctl includes none of the daemon's headers"
else
    not_ok "momctl includes none of the daemon's headers"
    echo "$bad" | sed 's/^/#   /'
fi
echo "1..$n"
[ "$failed" -eq 0 ]
