#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Scripting throughput, cowkv against redis-server in the same run:
# redis-benchmark (50 clients, no pipelining) on SET, GET, EVAL, EVALSHA and
# FCALL, each server alone on CPU 0, the clients on CPU 1.
#   bench/cowkv_scripting.sh [BUILD_DIR] [REQUESTS]
# Prints requests per second per command and the cowkv/redis ratio.
set -euo pipefail
build=${1:-build}
n=${2:-100000}
cowkv=$(realpath "$build/cowkv")
tmp=$(mktemp -d /tmp/bench_scripting.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_up() { for _ in $(seq 200); do redis-cli -p "$1" ping >/dev/null 2>&1 && return 0; sleep 0.05; done; return 1; }

rp=$(free_port); cp=$(free_port)
taskset -c 0 redis-server --port "$rp" --bind 127.0.0.1 --save "" --appendonly no --dir "$tmp" >/dev/null 2>&1 &
pids+=($!)
taskset -c 0 "$cowkv" --port "$cp" --maxmemory 1gb >"$tmp/cowkv.log" 2>&1 &
pids+=($!)
wait_up "$rp"; wait_up "$cp"

lib='#!lua name=benchlib
redis.register_function("bincr", function(keys, args) return redis.call("incr", keys[1]) end)'
script="return redis.call('incr', KEYS[1])"
for p in "$rp" "$cp"; do
  redis-cli -p "$p" function load replace "$lib" >/dev/null
  sha=$(redis-cli -p "$p" script load "$script")
done

run() { # port, name, command...
  local port=$1 name=$2; shift 2
  taskset -c 1 redis-benchmark -p "$port" -c 50 -n "$n" -q "$@" 2>/dev/null |
    tr '\r' '\n' | grep -E "requests per second" | tail -1 | awk -F': ' '{print $2}' | awk '{print $1}'
}

printf "%-10s %14s %14s %7s\n" command redis-server cowkv ratio
for t in set get eval evalsha fcall; do
  case $t in
    set) args=(-t set) ;;
    get) args=(-t get) ;;
    eval) args=(eval "$script" 1 counter) ;;
    evalsha) args=(evalsha "$sha" 1 counter) ;;
    fcall) args=(fcall bincr 1 counter) ;;
  esac
  r=$(run "$rp" "$t" "${args[@]}")
  c=$(run "$cp" "$t" "${args[@]}")
  printf "%-10s %14s %14s %7.2f\n" "$t" "$r" "$c" "$(echo "$c / $r" | bc -l)"
done
