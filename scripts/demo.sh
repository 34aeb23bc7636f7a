#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The main job: install what is needed, build, and run `cow demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target cow_tool >/dev/null
exec build/cow demo "$@"
