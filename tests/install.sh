#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Install the build in BUILD_DIR into a temporary prefix, then build and run
# a program from outside the tree (tests/install/consumer.c) against it three
# ways: pkg-config --static, pkg-config (shared), and a CMake project
# (find_package(libcow): both targets; and pkg_check_modules). Then builds
# the tree itself through FetchContent (tests/install/parent). Also checks
# the installed files (headers, SONAME, man pages when scdoc built them, the
# tools' --version) and that the prefix still works after being moved.
#   tests/install.sh BUILD_DIR CONSUMER_DIR     (run by ctest as "install")
# Env: CC, CMAKE (default cc, cmake); COW_SANITIZE as the build was made;
# COW_SOURCE_DIR: also build the tree itself with FetchContent.
set -euo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
cc=${CC:-cc}
cmake=${CMAKE:-cmake}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cow-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "install test: $*" >&2; exit 1; }
# Output is read whole before grep looks at it: with pipefail, "cmd | grep -q"
# fails whenever grep stops reading first and cmd dies of SIGPIPE.

# Sanitized builds install sanitized libraries: the consumer needs the flags.
flags=()
[ -n "${COW_SANITIZE:-}" ] && flags=(-fsanitize="$COW_SANITIZE")

# 0. The build tree's own libcow.pc, before anything is installed.
# shellcheck disable=SC2046
"$cc" "${flags[@]}" -o "$tmp/c_tree" "$src/consumer.c" \
  $(PKG_CONFIG_PATH=$build pkg-config --cflags --libs libcow) -Wl,-rpath,"$build"
"$tmp/c_tree" >/dev/null || fail "build-tree libcow.pc consumer failed"
# ... and its CMake package (-Dlibcow_DIR=BUILD_DIR).
cflags=${flags[*]:-}
PKG_CONFIG_PATH=$build "$cmake" -S "$src" -B "$tmp/cm-tree" -Dlibcow_DIR="$build" \
  -DCMAKE_C_COMPILER="$cc" -DCMAKE_C_FLAGS="$cflags" -DCMAKE_EXE_LINKER_FLAGS="$cflags" \
  >"$tmp/cm-tree.log" 2>&1 && "$cmake" --build "$tmp/cm-tree" >>"$tmp/cm-tree.log" 2>&1 \
  || { cat "$tmp/cm-tree.log"; fail "find_package(libcow) of the build tree failed"; }
"$tmp/cm-tree/consumer_static" >/dev/null || fail "build-tree find_package consumer failed"

prefix=$tmp/prefix
"$cmake" --install "$build" --prefix "$prefix" >/dev/null
[ -f "$prefix/include/cow.h" ] && [ -f "$prefix/include/cow_version.h" ] || fail "headers not installed"
pcdir=$(dirname "$(find "$prefix" -name libcow.pc | head -1)")
[ -n "$pcdir" ] || fail "libcow.pc not installed"
grep -q '^prefix=${pcfiledir}/' "$pcdir/libcow.pc" || fail "libcow.pc is not relocatable"

# The prefix is moved after installing: nothing may point at the old place.
mv "$prefix" "$tmp/moved"
prefix=$tmp/moved
pcdir=${pcdir/$tmp\/prefix/$prefix}
export PKG_CONFIG_PATH=$pcdir

ver=$(pkg-config --modversion libcow)
out=$("$prefix/bin/cow" --version) && grep -qx "cow $ver" <<<"$out" || fail "cow --version is not $ver"
out=$("$prefix/bin/cowkv" --version) && grep -q "^cowkv $ver " <<<"$out" || fail "cowkv --version is not $ver"
if [ -f "$build/man/cow.1" ]; then
  for page in man1/cow.1 man1/cowkv.1 man3/libcow.3; do
    [ -f "$prefix/share/man/$page" ] || fail "man page $page not installed"
    if command -v man >/dev/null; then
      out=$(MANWIDTH=80 man -l "$prefix/share/man/$page" 2>&1) && grep -q "^NAME" <<<"$out" ||
        fail "man -l $page does not render"
    fi
  done
fi

# 1. pkg-config, static: libcow.a and its private dependencies.
# Both libcow.a and libcow.so lie in libdir: -Bstatic picks the archive.
static_libs=$(pkg-config --libs --static libcow | sed 's/-lcow\b/-Wl,-Bstatic -lcow -Wl,-Bdynamic/')
# shellcheck disable=SC2046,SC2086
"$cc" "${flags[@]}" -o "$tmp/c_static" "$src/consumer.c" $(pkg-config --cflags libcow) $static_libs
! grep -q libcow.so <<<"$(ldd "$tmp/c_static")" || fail "static build links libcow.so"
"$tmp/c_static" || fail "pkg-config static consumer failed"

# 2. pkg-config, shared: libcow.so, found at run time through an rpath.
# shellcheck disable=SC2046
"$cc" "${flags[@]}" -o "$tmp/c_shared" "$src/consumer.c" $(pkg-config --cflags --libs libcow) \
  -Wl,-rpath,"$(pkg-config --variable=libdir libcow)"
soname=$(objdump -p "$(pkg-config --variable=libdir libcow)/libcow.so" | awk '$1 == "SONAME" { print $2 }')
case $ver in 0.*) want=libcow.so.0.$(echo "$ver" | cut -d. -f2) ;; *) want=libcow.so.${ver%%.*} ;; esac
[ "$soname" = "$want" ] || fail "SONAME is $soname, want $want (version $ver)"
grep -q "$soname => $prefix" <<<"$(ldd "$tmp/c_shared")" || fail "shared build does not use the installed libcow.so"
"$tmp/c_shared" || fail "pkg-config shared consumer failed"

# 3. find_package(libcow CONFIG): libcow::cow and libcow::cow_static; and
#    CMake's pkg_check_modules(libcow) in the same project.
"$cmake" -S "$src" -B "$tmp/cm" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_COMPILER="$cc" \
  -DCMAKE_C_FLAGS="$cflags" -DCMAKE_EXE_LINKER_FLAGS="$cflags" >"$tmp/cm.log" 2>&1 \
  || { cat "$tmp/cm.log"; fail "find_package(libcow) failed"; }
"$cmake" --build "$tmp/cm" >>"$tmp/cm.log" 2>&1 || { cat "$tmp/cm.log"; fail "the CMake consumer did not build"; }
"$tmp/cm/consumer_shared" || fail "find_package shared consumer failed"
"$tmp/cm/consumer_static" || fail "find_package static consumer failed"
"$tmp/cm/consumer_pc" || fail "pkg_check_modules consumer failed"
! grep -q libcow.so <<<"$(ldd "$tmp/cm/consumer_static")" || fail "libcow::cow_static links libcow.so"

# 4. FetchContent (add_subdirectory underneath) of the source tree.
if [ -n "${COW_SOURCE_DIR:-}" ]; then
  "$cmake" -S "$src/parent" -B "$tmp/sub" -DCOW_SOURCE_DIR="$COW_SOURCE_DIR" \
    -DCMAKE_C_COMPILER="$cc" -DCMAKE_C_FLAGS="$cflags" -DCMAKE_EXE_LINKER_FLAGS="$cflags" \
    >"$tmp/sub.log" 2>&1 || { cat "$tmp/sub.log"; fail "FetchContent of libcow failed"; }
  "$cmake" --build "$tmp/sub" -j2 --target consumer_sub >>"$tmp/sub.log" 2>&1 \
    || { cat "$tmp/sub.log"; fail "the FetchContent consumer did not build"; }
  [ -f "$tmp/sub/parent-lib/libcow.a" ] || fail "libcow.a is not in the parent's output directory"
  "$tmp/sub/consumer_sub" || fail "FetchContent consumer failed"
fi
echo "install test: pkg-config static, pkg-config shared, find_package, FetchContent: all ran"
