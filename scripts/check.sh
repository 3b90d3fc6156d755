#!/bin/sh
# check.sh BUILD_DIR — run the test suite of a build with ctest.
set -eu
build=$1
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}"
cd "$build"
ctest --output-on-failure -j "${JOBS:-2}" --timeout 600
