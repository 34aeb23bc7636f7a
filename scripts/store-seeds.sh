#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Regenerate the fuzzer's seed files (small valid stores) in
# fuzz/seeds/fuzz_store/ from tests/test_store_badfile.c's test_write_seeds.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build >/dev/null
cmake --build build -j2 --target test_store_badfile >/dev/null
mkdir -p fuzz/seeds/fuzz_store
COW_WRITE_SEEDS="$PWD/fuzz/seeds/fuzz_store" build/test_store_badfile >/dev/null 2>&1
ls -l fuzz/seeds/fuzz_store
