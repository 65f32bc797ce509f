#!/usr/bin/env bash
# Sets up (Debian packages), builds and runs the whole test suite.
#   scripts/test.sh              the normal build in build/
#   scripts/test.sh --sanitize   AddressSanitizer + UndefinedBehaviorSanitizer in build-sanitize/
set -euo pipefail
cd "$(dirname "$0")/.."

# The tests start their own servers on OS-chosen ports in their own temp dirs, so they run side
# by side; most of their time is waiting on those servers, hence twice the cores.
jobs=$(($(nproc) * 2))

if [ "${1:-}" = "--sanitize" ]; then
  scripts/setup.sh build-sanitize -DDISPATCHER_SANITIZE=address,undefined -DDISPATCHER_BENCH=OFF
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  ctest --test-dir build-sanitize --output-on-failure --timeout 900 -j"$jobs"
else
  scripts/setup.sh build
  ctest --test-dir build --output-on-failure --timeout 900 -j"$jobs"
fi
