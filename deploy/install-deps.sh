#!/bin/sh
# Installs what memgrade needs to build, run and test on Debian 12 (as root).
# Usage: deploy/install-deps.sh [--test]   (--test adds the test-only tools)
set -eu
pkgs="build-essential cmake pkg-config gcc binutils libc6-dev
      libmicrohttpd-dev libsqlite3-dev libseccomp-dev libjansson-dev zlib1g-dev
      libsodium-dev libssl-dev libcurl4-openssl-dev libpq-dev"
if [ "${1:-}" = "--test" ]; then
  pkgs="$pkgs util-linux iproute2 curl python3 bubblewrap hyperfine wrk valgrind clang
        libclang-rt-dev chromium chromium-driver python3-selenium fonts-dejavu-core
        python3-jwt python3-cryptography postgresql python3-psycopg2
        python3-yaml"
  # The page tests' axe-core comes from npm: Debian's npm unless one is
  # installed already (nodesource's node ships its own).
  command -v npm >/dev/null 2>&1 || pkgs="$pkgs npm"
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
if [ "${1:-}" = "--test" ]; then
  # axe-core at the version pinned in tests/web/package-lock.json.
  web_tests="$(cd "$(dirname "$0")/../tests/web" && pwd)"
  (cd "$web_tests" && npm ci --no-audit --no-fund --loglevel=error)
fi
