#!/bin/sh
# The sandbox's overhead (issue 2): median and p90 wall time of a trivial
# program and of a small gcc -O0 compile, bare, under bubblewrap and under
# sbx, with the added ms / % against bare. Goal: sbx adds <= 2 ms per run and
# <= 5% per compile. Usage: tests/bench/sandbox_bench.sh [TRIVIAL_RUNS [COMPILE_RUNS]]
# Env: BUILD (build directory, default build-bench). Needs root.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=${BUILD:-$src/build-bench}
runs=${1:-300}
compiles=${2:-30}

cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j2 --target sbx_bench >/dev/null

echo "sandbox overhead: $(uname -r), $(nproc) cores, $(gcc -dumpfullversion) gcc, $(bwrap --version)"
# Fresh PID and mount namespaces so a sandbox bug cannot touch the host; all
# three variants run inside them alike.
unshare --pid --fork --mount --mount-proc \
    "$build/tests/sandbox/sbx_bench" "$here/sandbox_trivial.c" "$here/sandbox_small.c" \
    "$runs" "$compiles"
