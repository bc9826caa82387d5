#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# libvirt's last error belongs to the calling thread and is reset, its
# message freed, by the next libvirt call of that thread, virDomainGetName()
# included.  momd reads it in one place, mom_libvirt_take_error(), which
# copies it; a virGetLastErrorMessage() or virGetLastError() anywhere else,
# or a libvirt call in the argument list of a log call, is the
# use-after-free of issue 15 waiting to happen again.
set -uo pipefail
top=${MOM_TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top/tests/tap.sh"

sources=$(cd "$top" && ls src/*/*.[ch] collectors/*.[ch] controllers/*.[ch] policy/*.[ch])
# The lists below are empty, and pass, if the files moved and the globs
# found none: the helper's file must be among them.
case "$sources" in
*src/momd/mom-libvirt.c*) ;;
*) bail "src/momd/mom-libvirt.c is not among the sources the globs find" ;;
esac

# 1. the raw getters of the message, outside the helper
bad=$(cd "$top" && grep -nE 'virGetLastErrorMessage|virGetLastError[[:space:]]*\(' $sources |
    grep -vE '^[^:]+:[0-9]+:[[:space:]]*(/?\*)' |
    grep -v '^src/momd/mom-libvirt.c:.*virErrorPtr e = virGetLastError();')
if [ -z "$bad" ]; then
    ok "libvirt's error message is read only by mom_libvirt_take_error()"
else
    not_ok "libvirt's error message is read only by mom_libvirt_take_error()"
    echo "$bad" | sed 's/^/#   /'
fi

# 2. the helper itself is still there, exactly once (the exemption above
#    must not silently cover a renamed copy)
count=$(cd "$top" && grep -c 'virErrorPtr e = virGetLastError();' src/momd/mom-libvirt.c)
check "mom_libvirt_take_error() reads virGetLastError() once" [ "$count" -eq 1 ]

# 3. no libvirt call in a log call's argument list: C does not order the
#    evaluation of arguments, so one may reset what another reads.  A log
#    call is followed to its closing ';'.
bad=$(cd "$top" && awk '
    /g_(log_structured|warning|message|info|debug|critical)[[:space:]]*\(/ { inlog = 1; text = "" }
    inlog { text = text $0 "\n"; if ($0 ~ /;[[:space:]]*$/) {
            if (text ~ /vir[A-Z][A-Za-z]*[[:space:]]*\(/) printf "%s:%d: %s", FILENAME, FNR, text
            inlog = 0 } }' $sources)
if [ -z "$bad" ]; then
    ok "no libvirt call inside the arguments of a log call"
else
    not_ok "no libvirt call inside the arguments of a log call"
    echo "$bad" | sed 's/^/#   /'
fi

echo "1..$n"
[ "$failed" -eq 0 ]
