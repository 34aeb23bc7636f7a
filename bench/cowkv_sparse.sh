#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# A server sized for a big machine that holds little: cowkv started with
# --maxmemory 64gb (its space is 64 GiB of virtual memory) and two keys.
# Times SAVE, SAVE again after one more key, and a restart from the
# checkpoint until PING answers; the same sequence on redis-server in the
# same run is the baseline (its cost follows its data, not a size).
#   bench/cowkv_sparse.sh [BUILD_DIR] [REPEAT] [MAXMEMORY]
# Prints medians over REPEAT rounds (default 3) and the cowkv/redis ratios.
set -euo pipefail
build=${1:-build}
repeat=${2:-3}
maxmem=${3:-64gb}
cowkv=$(realpath "$build/cowkv")
tmp=$(mktemp -d /tmp/bench_sparse_kv.XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now_us() { echo $(( $(date +%s%N) / 1000 )); }
wait_up() { for _ in $(seq 2000); do redis-cli -p "$1" ping 2>/dev/null | grep -q PONG && return 0; sleep 0.005; done; return 1; }

# start SERVER PORT DIR: the server in the background, its pid in $pid
start() {
	if [ "$1" = redis ]; then
		redis-server --port "$2" --bind 127.0.0.1 --dir "$3" --save "" --appendonly no >/dev/null 2>&1 &
	else
		"$cowkv" --port "$2" --bind 127.0.0.1 --dir "$3" --maxmemory "$maxmem" >/dev/null 2>&1 &
	fi
	pid=$!
}
stop() { redis-cli -p "$1" shutdown nosave >/dev/null 2>&1 || true; wait "$pid" 2>/dev/null || true; pid=; }

# round SERVER: prints "save1 save2 restart" in microseconds
round() {
	local d port t0 s1 s2 r
	d=$(mktemp -d "$tmp/d.XXXXXX"); port=$(free_port)
	start "$1" "$port" "$d"; wait_up "$port"
	redis-cli -p "$port" set a 1 >/dev/null; redis-cli -p "$port" set b 2 >/dev/null
	t0=$(now_us); redis-cli -p "$port" save >/dev/null; s1=$(( $(now_us) - t0 ))
	redis-cli -p "$port" set c 3 >/dev/null
	t0=$(now_us); redis-cli -p "$port" save >/dev/null; s2=$(( $(now_us) - t0 ))
	stop "$port"
	t0=$(now_us); start "$1" "$port" "$d"; wait_up "$port"; r=$(( $(now_us) - t0 ))
	[ "$(redis-cli -p "$port" dbsize)" = 3 ] || { echo "bench: $1 lost keys across the restart" >&2; exit 1; }
	stop "$port"
	echo "$s1 $s2 $r"
}

median() { sort -n | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }

for s in cowkv redis; do : >"$tmp/$s"; done
for _ in $(seq "$repeat"); do
	round cowkv >>"$tmp/cowkv"
	round redis >>"$tmp/redis"
done
echo "# cowkv --maxmemory $maxmem with three keys against redis-server, medians of $repeat"
names=(save1 save2 restart)
for k in 0 1 2; do
	c=$(awk -v k=$((k + 1)) '{print $k}' "$tmp/cowkv" | median)
	r=$(awk -v k=$((k + 1)) '{print $k}' "$tmp/redis" | median)
	awk -v n="${names[$k]}" -v c="$c" -v r="$r" -v m="$maxmem" 'BEGIN {
		printf "RESULT cowkv_sparse_%s_%s_ms %.2f ms baseline=redis_%s %.2f ratio=%.2f\n",
		       n, m, c / 1000, n, r / 1000, c / r }'
done
