#!/bin/sh
# Builds memgrade twice and runs every test in both builds:
#   build/       the release build (RelWithDebInfo), -Werror
#   build-asan/  our own C code under AddressSanitizer + UndefinedBehaviorSanitizer
# Student programs are never built with sanitizers: they run under our own
# instrumented allocator inside the sandbox in both builds.
# Needs root (the sandbox uses namespaces, mounts and a box uid).
set -eu
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)

run_build() {
    dir=$1
    shift
    cmake -S . -B "$dir" -DMEMGRADE_WERROR=ON "$@" >/dev/null
    cmake --build "$dir" -j"$jobs"
    ctest --test-dir "$dir" --output-on-failure -j"$jobs" --timeout 600
}

echo "== release build"
run_build build -DCMAKE_BUILD_TYPE=RelWithDebInfo
echo "== ASan + UBSan build"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_build build-asan -DCMAKE_BUILD_TYPE=Debug -DMEMGRADE_SANITIZE=ON
