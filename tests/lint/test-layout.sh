#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The seams of the layout (issue 13, docs/architecture.md): each folder's
# internal headers stay in it.  policy-ast.h (the syntax tree and the value
# internals) is included only in policy/; proc-parse.h (the collectors'
# file readers) only in collectors/ and the tests, and each -priv.h of
# src/ only in its folder and the tests, as libvirt's -priv.h rule has it;
# the policy evaluator calls nothing of the policy set.  src/ holds its
# code in three folders, shared/, momd/ and momctl/: momctl's files
# include no header of the daemon's (src/momd/, collectors/,
# controllers/), and shared/'s none of either program's.  The build gives
# each program only its own folder and shared/ (src/meson.build), so
# these fail at compile time too; this says which seam a change crossed,
# and catches a header that only one of the programs compiles.  Each rule
# also checks that the files it guards still exist, so a rename cannot
# make it pass by matching nothing.
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

# src/ is three folders and the meson.build that declares the programs.
loose=$(find src -maxdepth 1 -name '*.[ch]')
missing=$(for d in shared momd momctl; do ls src/$d/*.c >/dev/null 2>&1 || echo "src/$d/"; done)
if [ -z "$loose" ] && [ -z "$missing" ]; then
    ok "src/ keeps its C files in shared/, momd/ and momctl/"
else
    not_ok "src/ keeps its C files in shared/, momd/ and momctl/"
    echo "$loose" | sed '/^$/d; s/^/#   loose in src\/: /'
    echo "$missing" | sed '/^$/d; s/^/#   missing or empty: /'
fi

# headers DIR...: the names of the headers in DIR...
headers() {
    local d
    for d in "$@"; do
        ls "$d"/*.h 2>/dev/null
    done | xargs -r -n1 basename | sort -u
}

# includes_none NAME GUARD FILES_DIR HEADER_DIR...: no C file of FILES_DIR
# includes a header of HEADER_DIR...; GUARD is a header that must be
# among them (the rule sees the folders it is about).
includes_none() {
    local name=$1 guard=$2 files=$3 bad names
    shift 3
    names=$(headers "$@")
    if ! echo "$names" | grep -qx "$guard" || ! ls "$files"/*.c >/dev/null 2>&1; then
        not_ok "$name: $guard and the C files of $files/ exist"
        return
    fi
    bad=$(grep -nE "#include \"($(echo "$names" | sed 's/\./\\./g' | paste -sd'|'))\"" \
        "$files"/*.[ch])
    if [ -z "$bad" ]; then
        ok "$name"
    else
        not_ok "$name"
        echo "$bad" | sed 's/^/#   /'
    fi
}

includes_none "momctl includes none of the daemon's headers" mom-libvirt.h \
    src/momctl src/momd collectors controllers
includes_none "src/shared/ includes none of the daemon's or momctl's headers" momctl-priv.h \
    src/shared src/momd src/momctl collectors controllers

# Each -priv.h of src/ is its folder's and the tests'.
privs=$(ls src/*/*-priv.h 2>/dev/null)
bad=$(for p in $privs; do
    grep -rln "#include \"${p##*/}\"" --include='*.c' --include='*.h' \
        src policy collectors controllers tests | grep -vE "^(${p%/*}/|tests/)" |
        sed "s|\$| includes $p|"
done)
if [ "$(echo "$privs" | wc -w)" -ge 3 ] && [ -z "$bad" ]; then
    ok "each -priv.h of src/ is included only in its folder and the tests"
else
    not_ok "each -priv.h of src/ is included only in its folder and the tests"
    echo "${bad:-only $(echo "$privs" | wc -w) -priv.h found}" | sed 's/^/#   /'
fi
echo "1..$n"
[ "$failed" -eq 0 ]
