#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# kill-restart.sh — long runs of tests/test_cowkv_kill.c: cowkv killed with
# SIGKILL at random moments (inside and outside BGSAVE) and restarted on
# the same directory, checked after every restart (consistent, durable,
# exact, no crash).
#
# Usage: scripts/kill-restart.sh [RESTARTS_PER_RUN [RUNS [BACKENDS]]]
#   RESTARTS_PER_RUN  restarts on one directory (default 300, ~5 min)
#   RUNS              runs per backend, each with a fresh seed (default 1)
#   BACKENDS          "uffd mprotect" (default) or one of them
# Extra cowkv options: COWKV_EXTRA_ARGS="--save-incremental no" ...
# Replay a failure: COW_TEST_SEED=<seed printed> with the same RESTARTS.
# Exit status: 0 if every run passed; the failing runs' output is kept in
# kill-restart.<backend>.<run>.log (in the current directory).
set -uo pipefail
restarts=${1:-300}
runs=${2:-1}
backends=${3:-"uffd mprotect"}
root="$(cd "$(dirname "$0")/.." && pwd)"
cmake -S "$root" -B "$root/build" >/dev/null || exit 1
cmake --build "$root/build" -j2 --target test_cowkv_kill cowkv >/dev/null || exit 1
failed=0
for backend in $backends; do
	for run in $(seq 1 "$runs"); do
		log="kill-restart.$backend.$run.log"
		if COW_BACKEND=$backend COWKV_KILL_RESTARTS=$restarts \
		   "$root/build/test_cowkv_kill" >"$log" 2>&1; then
			echo "$backend run $run: ok ($(grep -h 'restarts,' "$log"))"
			rm -f "$log"
		else
			echo "$backend run $run: FAILED ($(grep -h 'seed' "$log" | head -1)); see $log"
			failed=1
		fi
	done
done
exit $failed
