#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# run-fuzz.sh SECONDS BUILD_DIR
#
# Runs BUILD_DIR/tests/fuzz/fuzz-policy for SECONDS on a copy of
# tests/fuzz/corpus in a temporary directory, so that the inputs libFuzzer
# adds never land in the source tree.  Exits non-zero on any crash, leak,
# sanitizer report or timeout; the offending inputs are then copied to
# BUILD_DIR/fuzz-artifacts/ (minimize one with
#     BUILD_DIR/tests/fuzz/fuzz-policy -minimize_crash=1 -runs=10000 FILE
# and keep it under tests/policy/bogons/).  Prints one summary line.
set -u

if [ $# -ne 2 ]; then
    echo "usage: $0 SECONDS BUILD_DIR" >&2
    exit 2
fi
seconds=$1
build=$2
here=$(cd "$(dirname "$0")" && pwd)
fuzzer=$build/tests/fuzz/fuzz-policy

if [ ! -x "$fuzzer" ]; then
    echo "$0: $fuzzer not found; configure with CC=clang meson setup $build -Dfuzzing=true" >&2
    exit 2
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/momd-fuzz.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT INT TERM
mkdir "$tmp/corpus" "$tmp/artifacts"
cp "$here"/corpus/* "$tmp/corpus/"

# -timeout: one input over 10 s is a hang (the harness limits runs to
# 100 000 steps, a few milliseconds).  -max_len: policies are small, and
# longer inputs only slow the search down.
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
    mkdir -p "$build/fuzz-artifacts"
    cp "$tmp"/artifacts/* "$build/fuzz-artifacts/" 2>/dev/null
    cp "$tmp/log" "$build/fuzz-artifacts/fuzz.log"
    grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)' "$tmp/log" | head -n 5 >&2
    echo "fuzz-policy: FAILED after ${execs:-?} executions (exit $rc, $found artifact(s)," \
        "log and inputs in $build/fuzz-artifacts/)"
    exit 1
fi
echo "fuzz-policy: ok, ${execs:-?} executions in ${seconds}s, coverage ${cov:-?} edges," \
    "${ft:-?} features, corpus $corpus inputs"
