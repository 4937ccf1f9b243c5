#!/bin/sh
# Builds the graders' libFuzzer target (fuzz_report.c) with clang in a build
# tree of its own and runs it for a few seconds from the seed corpus.
# Usage: run_fuzz.sh BUILD_DIR [SECONDS]   (exit status: 0 = no finding)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=${1:?usage: run_fuzz.sh BUILD_DIR [SECONDS]}
secs=${2:-5}
mkdir -p "$build"
cmake -S "$src" -B "$build" -DCMAKE_C_COMPILER=clang -DMEMGRADE_FUZZ=ON \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$build/configure.log" 2>&1 ||
  { cat "$build/configure.log"; exit 1; }
cmake --build "$build" -j2 --target fuzz_report
work="$build/fuzz-corpus-report"
mkdir -p "$work"
# Findings go to the build tree, never into the source tree.
"$build/tests/graders/fuzz_report" -max_total_time="$secs" -timeout=20 -rss_limit_mb=4096 \
    -artifact_prefix="$build/fuzz-report-" -print_final_stats=1 "$work" "$here/fuzz_corpus"
