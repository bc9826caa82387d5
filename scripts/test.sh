#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The README's test command: install what is missing, then
#   1. build with warnings as errors and run every test, the 'soak' suite
#      included (3 minutes of guest churn against its own ASan+UBSan momd,
#      docs/reliability.md);
#   2. build with AddressSanitizer + UndefinedBehaviorSanitizer and run the
#      tests again, but for the 'host' suite (the real KSM of this machine),
#      the 'e2e', 'scenario' and 'soak' suites (real QEMU guests), which run once,
#      in step 1, and 'glibc-malloc' (ASan replaces the allocator it tests);
#   3. build the libFuzzer targets with clang and fuzz the policy parser and
#      evaluator, then the XML-RPC codec, for FUZZ_SECONDS each (default 60).
# Ends with one line "N passed, N failed" counting every test case.
set -uo pipefail
cd "$(dirname "$0")/.."
top=$PWD

scripts/deps.sh test || exit 1

status=0
logs=()
step() {
    echo "==> $*" >&2
}
# quiet LOG CMD...: runs CMD with its output in LOG; quiet when it works,
# and when it fails, says so and prints LOG, so that no failure is hidden.
quiet() {
    local log=$1
    shift
    mkdir -p "$(dirname "$log")"
    if "$@" >"$log" 2>&1; then
        return 0
    fi
    echo "FAILED: $* (its output, from $log:)" >&2
    cat "$log" >&2
    return 1
}

step "build (werror) and test"
rm -rf build-ci ci-logs
quiet ci-logs/setup-ci.log meson setup build-ci -Dwerror=true &&
    quiet ci-logs/ninja-ci.log ninja -C build-ci || status=1
meson test -C build-ci --print-errorlogs --num-processes 2 || status=1
logs+=(build-ci/meson-logs/testlog.json)

step "ASan+UBSan build and test"
rm -rf build-asan
quiet ci-logs/setup-asan.log meson setup build-asan -Dwerror=true \
    -Db_sanitize=address,undefined -Db_lundef=false --buildtype=debug &&
    quiet ci-logs/ninja-asan.log ninja -C build-asan || status=1
# libsoup leaks on malformed requests (tests/lsan.supp); the slow unwinder
# lets the suppression see through libsoup, which has no frame pointers.
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    LSAN_OPTIONS=suppressions=$top/tests/lsan.supp:fast_unwind_on_malloc=0 \
    meson test -C build-asan --print-errorlogs --num-processes 2 --no-suite host --no-suite e2e --no-suite scenario \
        --no-suite soak --no-suite glibc-malloc || status=1
logs+=(build-asan/meson-logs/testlog.json)

step "libFuzzer: policy parse+evaluate and the XML-RPC codec, ${FUZZ_SECONDS:-60} s each"
rm -rf build-fuzz
fuzz_extras=()
if CC=clang quiet ci-logs/setup-fuzz.log meson setup build-fuzz -Dfuzzing=true \
    --buildtype=debugoptimized &&
    quiet ci-logs/ninja-fuzz.log ninja -C build-fuzz tests/fuzz/fuzz-policy tests/fuzz/fuzz-xmlrpc; then
    for target in fuzz-policy fuzz-xmlrpc; do
        if tests/fuzz/run-fuzz.sh "${FUZZ_SECONDS:-60}" build-fuzz "$target"; then
            fuzz_extras+=(--extra "$target:pass")
        else
            fuzz_extras+=(--extra "$target:fail")
            status=1
        fi
    done
else
    echo "The fuzz build (clang, -Dfuzzing=true) failed; its log is above." >&2
    fuzz_extras=(--extra "fuzz-policy:fail" --extra "fuzz-xmlrpc:fail")
    status=1
fi

python3 scripts/test-summary.py "${fuzz_extras[@]}" "${logs[@]}" || status=1
exit $status
