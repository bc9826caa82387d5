#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Every C source and header is as clang-format (.clang-format, version 14,
# which scripts/deps.sh installs) leaves it.  A failure names each file
# and shows clang-format's first complaints about it.
set -uo pipefail
top=${MOM_TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top/tests/tap.sh"

if ! command -v clang-format >/dev/null; then
    not_ok "clang-format is installed (scripts/deps.sh installs it)"
    echo "1..$n"
    exit 1
fi
cd "$top" || bail "Cannot enter $top."
files=$(find src policy collectors controllers tests -name '*.[ch]' | sort)
[ -n "$files" ] || bail "No C files under $top."
bad=()
for f in $files; do
    clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if [ ${#bad[@]} -eq 0 ]; then
    ok "all $(echo "$files" | wc -l) C files are formatted"
else
    not_ok "all C files are formatted: ${#bad[@]} are not (clang-format -i FILE)"
    for f in "${bad[@]}"; do
        echo "# $f:"
        clang-format --dry-run "$f" 2>&1 | head -n 6 | sed 's/^/#   /'
    done
fi
echo "1..$n"
[ "$failed" -eq 0 ]
