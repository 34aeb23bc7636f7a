#!/usr/bin/env bash
# Give every source file of the tree (C .c .h, shell .sh, CMake) the line
#   SPDX-License-Identifier: BSD-2-Clause
# as its first comment line: line 1, or line 2 after a #! line. Files that
# already have it (in their first 3 lines) are left alone, so the script can
# be re-run at will, after every merge.
#   scripts/spdx.sh           add the line where it is missing
#   scripts/spdx.sh --check   list the files without it; exit 1 if any
# Works on the files git knows (tracked, or new and not ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
tag="SPDX-License-Identifier: BSD-2-Clause"
check=0
[ "${1:-}" = "--check" ] && check=1

# The comment syntax of a file: "c" or "hash"; nothing for other files.
style() {
  case $1 in
    *.c|*.h|*.h.in) echo c ;;
    *.sh|*/CMakeLists.txt|CMakeLists.txt|*.cmake|*.cmake.in) echo hash ;;
  esac
}

missing=0
while IFS= read -r -d '' f; do
  [ -f "$f" ] || continue
  s=$(style "$f")
  [ -n "$s" ] || continue
  head -n 3 "$f" | grep -q "SPDX-License-Identifier:" && continue
  missing=$((missing + 1))
  if [ $check = 1 ]; then
    echo "$f"
    continue
  fi
  if [ "$s" = c ]; then
    line="/* $tag */"
  else
    line="# $tag"
  fi
  tmp=$(mktemp "$f.spdx.XXXXXX")
  if head -n 1 "$f" | grep -q '^#!'; then
    { head -n 1 "$f"; echo "$line"; tail -n +2 "$f"; } >"$tmp"
  else
    { echo "$line"; cat "$f"; } >"$tmp"
  fi
  chmod --reference="$f" "$tmp"
  mv "$tmp" "$f"
done < <(git ls-files -z --cached --others --exclude-standard)

if [ $check = 1 ]; then
  [ $missing = 0 ] || { echo "$missing file(s) without '$tag': run scripts/spdx.sh" >&2; exit 1; }
  echo "every source file has '$tag'"
elif [ $missing -gt 0 ]; then
  echo "spdx: added '$tag' to $missing file(s)"
fi
