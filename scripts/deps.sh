#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Install the Debian packages libcow needs to build, test and benchmark.
# Does nothing when they are all present. Needs root (or sudo) only then.
set -euo pipefail
pkgs=(build-essential cmake pkg-config libcmocka-dev libxxhash-dev clang
      redis-server redis-tools gnuplot-nox procps python3 scdoc man-db
      liblua5.1-0-dev lua-cjson-dev lua-bitop-dev libssl-dev python3-redis tcl)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
