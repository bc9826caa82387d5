#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The documentation keeps up with the code where a script can tell:
#   - docs/rpc.md has a row for every method of momd's control API;
#   - momd.8 names every policy that ships in data/policies;
#   - docs/configuration.md names every key of the shipped data/momd.conf.
set -uo pipefail
top=${MOM_TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top/tests/tap.sh"
cd "$top" || bail "Cannot enter $top."

missing=()
for m in $(sed -n 's/^    {"\([A-Za-z.]*\)", [0-9].*/\1/p' src/momd/momd-rpc.c); do
    grep -q "^| \`$m\` |" docs/rpc.md || missing+=("$m")
done
count=$(sed -n 's/^    {"\([A-Za-z.]*\)", [0-9].*/\1/p' src/momd/momd-rpc.c | wc -l)
check "docs/rpc.md lists all $count methods of src/momd/momd-rpc.c (missing: ${missing[*]:-none})" \
    [ "$count" -gt 10 -a ${#missing[@]} -eq 0 ]

missing=()
for f in data/policies/*.policy; do
    p=$(basename "$f" .policy)
    grep -q "${p//-/\\\\-}" docs/momd.8 || missing+=("$p")
done
check "momd.8 names every shipped policy (missing: ${missing[*]:-none})" [ ${#missing[@]} -eq 0 ]

missing=()
for k in $(sed -n 's/^\([a-z][a-z-]*\):.*/\1/p' data/momd.conf | sort -u); do
    grep -qE "(\`|\] )$k\`" docs/configuration.md || missing+=("$k")
done
check "docs/configuration.md names every key of data/momd.conf (missing: ${missing[*]:-none})" \
    [ ${#missing[@]} -eq 0 ]

echo "1..$n"
[ "$failed" -eq 0 ]
