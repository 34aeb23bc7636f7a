#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The man pages keep up with the code: cow(1) names every subcommand and
# every benchmark that `cow --help` lists, libcow(3) every function that
# include/cow.h declares (cow_str_*, cow_buf_*, cow_vec_* as families), and
# each page renders with man -l.
#   tests/man.sh BUILD_DIR SOURCE_DIR     (run by ctest as "man")
set -euo pipefail
build=$1
src=$2
fail() { echo "man test: $*" >&2; exit 1; }
render() { MANWIDTH=200 man -l "$build/man/$1" 2>/dev/null; }

for page in cow.1 cowkv.1 libcow.3; do
  [ -f "$build/man/$page" ] || fail "$page was not built"
  # read whole first: with pipefail, grep -q quitting early would SIGPIPE man
  grep -q "^NAME" <<<"$(render "$page")" || fail "$page does not render"
done

cow1=$(render cow.1)
help=$("$build/cow" --help)
# Subcommands: the lines "  NAME  summary" under "commands:".
for cmd in $(echo "$help" | sed -n '/^commands:/,/^$/p' | awk 'NF > 1 && /^  / { print $1 }'); do
  grep -qE "^ +$cmd( |$)" <<<"$cow1" || fail "cow(1) does not describe the subcommand $cmd"
done
# Benchmarks: the comma-separated line under "benchmarks".
for b in $(echo "$help" | sed -n '/^benchmarks/{n;p}' | tr ',' ' '); do
  grep -qw -- "$b" <<<"$(sed -n '/^BENCHMARKS/,/^[A-Z]/p' <<<"$cow1")" \
    || fail "cow(1) does not list the benchmark $b"
done

lib3=$(render libcow.3)
for f in $(grep -oE '\bcow_[a-z0-9_]+\(' "$src/include/cow.h" | tr -d '(' | sort -u); do
  case $f in
    cow_str_*) grep -qF 'cow_str_*' <<<"$lib3" && continue ;;
    cow_buf_*) grep -qF 'cow_buf_*' <<<"$lib3" && continue ;;
    cow_vec_*) grep -qF 'cow_vec_*' <<<"$lib3" && continue ;;
  esac
  # Only declarations: a name followed by '(' at the start of a prototype.
  decl=$(grep -E "^[a-z].*[ *]$f\(" "$src/include/cow.h" || true)
  [ -n "$decl" ] && grep -qv '^typedef' <<<"$decl" || continue
  grep -qw -- "$f" <<<"$lib3" || fail "libcow(3) does not index $f (declared in cow.h)"
done
echo "man test: cow(1), cowkv(1), libcow(3) render and cover every subcommand, benchmark and function"
