#!/bin/sh
# Installs what memgrade needs to build, run and test on Debian 12 (as root).
# Usage: deploy/install-deps.sh [--test]   (--test adds the test-only tools)
set -eu
pkgs="build-essential cmake pkg-config gcc binutils libc6-dev
      libmicrohttpd-dev libsqlite3-dev libseccomp-dev libjansson-dev zlib1g-dev
      libsodium-dev"
if [ "${1:-}" = "--test" ]; then
  pkgs="$pkgs util-linux iproute2 curl python3 bubblewrap hyperfine wrk valgrind clang
        libclang-rt-dev"
fi
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing
fi
