#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Build everything and run every test: the release build on both backends
# (uffd and mprotect), then an ASan+UBSan build on both backends, then a
# ThreadSanitizer build of the value tests, then a short fuzzing run of each
# fuzz target. Exits non-zero on the first failure.
#   scripts/test.sh          everything
#   scripts/test.sh quick    release build only
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
jobs=$(nproc)
mode=${1:-all}

run_suite() { # build-dir, extra cmake args...
  local dir=$1; shift
  cmake -S . -B "$dir" "$@" >/dev/null
  cmake --build "$dir" -j"$jobs" >/dev/null
  (cd "$dir" && ctest --output-on-failure -j"$jobs")
}

echo "== release build, both backends"
run_suite build -DCMAKE_BUILD_TYPE=RelWithDebInfo
[ "$mode" = quick ] && exit 0

echo "== ASan+UBSan build, both backends"
ASAN_OPTIONS=detect_leaks=1:handle_segv=0:handle_sigbus=0:allow_user_segv_handler=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  run_suite build-asan -DCMAKE_BUILD_TYPE=Debug -DCOW_SANITIZE=address,undefined

echo "== ThreadSanitizer build, value tests only (str, buf, vec, values)"
# The values do not use the engine: one backend is enough, and the engine's
# signal-based tests do not belong under TSan.
cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCOW_SANITIZE=thread >/dev/null
cmake --build build-tsan -j"$jobs" --target test_str test_buf test_vec test_values >/dev/null
(cd build-tsan && TSAN_OPTIONS=halt_on_error=1 \
  ctest --output-on-failure --no-tests=error -R '^test_(str|buf|vec|values)\.uffd$')

if ls fuzz/fuzz_*.c >/dev/null 2>&1; then
  echo "== fuzzing (short runs)"
  CC=clang cmake -S . -B build-fuzz -DCOW_FUZZ=ON -DCOW_TESTS=OFF -DCMAKE_BUILD_TYPE=Debug >/dev/null
  cmake --build build-fuzz -j"$jobs" >/dev/null
  for f in build-fuzz/fuzz_*; do
    [ -x "$f" ] || continue
    name=$(basename "$f")
    mkdir -p "build-fuzz/corpus-$name"
    seeds=""
    [ -d "fuzz/seeds/$name" ] && seeds="fuzz/seeds/$name"
    "$f" -max_total_time="${COW_FUZZ_SECONDS:-30}" -rss_limit_mb=4096 \
      "build-fuzz/corpus-$name" $seeds >"build-fuzz/$name.log" 2>&1 \
      || { tail -50 "build-fuzz/$name.log"; exit 1; }
    echo "$name: $(grep -c . "build-fuzz/$name.log") log lines, no crash"
  done
fi
echo "all test suites passed"
