#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# run-fuzz.sh SECONDS BUILD_DIR [TARGET]
#
# Runs BUILD_DIR/tests/fuzz/TARGET (fuzz-policy or fuzz-xmlrpc; default
# fuzz-policy) for SECONDS on a copy of its seed corpus,
# tests/fuzz/corpus/<TARGET without "fuzz-">, in a temporary directory, so
# that the inputs libFuzzer adds never land in the source tree.  Exits
# non-zero on any crash, leak, sanitizer report or timeout; the offending
# inputs are then copied to BUILD_DIR/fuzz-artifacts/TARGET/ (minimize one
# with
#     BUILD_DIR/tests/fuzz/TARGET -minimize_crash=1 -runs=10000 FILE
# and keep policies under tests/policy/bogons/, XML-RPC documents as a
# case in tests/check-rpc.c).  Prints one summary line.
set -u

if [ $# -lt 2 ] || [ $# -gt 3 ]; then
    echo "usage: $0 SECONDS BUILD_DIR [fuzz-policy|fuzz-xmlrpc]" >&2
    exit 2
fi
seconds=$1
build=$2
target=${3:-fuzz-policy}
here=$(cd "$(dirname "$0")" && pwd)
fuzzer=$build/tests/fuzz/$target
seeds=$here/corpus/${target#fuzz-}
if [ ! -d "$seeds" ]; then
    echo "$0: no seed corpus $seeds for $target" >&2
    exit 2
fi

if [ ! -x "$fuzzer" ]; then
    echo "$0: $fuzzer not found; configure with CC=clang meson setup $build -Dfuzzing=true" >&2
    exit 2
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/momd-fuzz.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT INT TERM
mkdir "$tmp/corpus" "$tmp/artifacts"
cp "$seeds"/* "$tmp/corpus/"

# -timeout: one input over 10 s is a hang (fuzz-policy limits runs to
# 100 000 steps, a few milliseconds; a document of 4 KiB parses in
# microseconds).  -max_len: policies and requests are small, and longer
# inputs only slow the search down.
"$fuzzer" -max_total_time="$seconds" -max_len=4096 -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$tmp/artifacts/" \
    "$tmp/corpus" >"$tmp/log" 2>&1
rc=$?

execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$tmp/log" | tail -n 1)
cov=$(grep -o 'cov: [0-9]*' "$tmp/log" | tail -n 1 | cut -d' ' -f2)
ft=$(grep -o 'ft: [0-9]*' "$tmp/log" | tail -n 1 | cut -d' ' -f2)
corpus=$(ls "$tmp/corpus" | wc -l)
found=$(ls "$tmp/artifacts" | wc -l)

if [ "$rc" -ne 0 ] || [ "$found" -ne 0 ]; then
    mkdir -p "$build/fuzz-artifacts/$target"
    cp "$tmp"/artifacts/* "$build/fuzz-artifacts/$target/" 2>/dev/null
    cp "$tmp/log" "$build/fuzz-artifacts/$target/fuzz.log"
    grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)' "$tmp/log" | head -n 5 >&2
    echo "$target: FAILED after ${execs:-?} executions (exit $rc, $found artifact(s)," \
        "log and inputs in $build/fuzz-artifacts/$target/)"
    exit 1
fi
echo "$target: ok, ${execs:-?} executions in ${seconds}s, coverage ${cov:-?} edges," \
    "${ft:-?} features, corpus $corpus inputs"
