#!/bin/sh
# Builds the server's libFuzzer targets with clang in a build tree of their
# own and runs each for a few seconds from the seed corpus.
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
cmake --build "$build" -j2 --target fuzz_submit fuzz_request fuzz_upload fuzz_jwt
for t in submit request upload jwt; do
  work="$build/fuzz-corpus-$t"
  mkdir -p "$work"
  echo "== fuzz_$t for ${secs}s"
  # Findings go to the build tree, never into the source tree.
  MEMGRADE_FUZZ_DB="$build/fuzz-request.db" "$build/tests/fuzz/fuzz_$t" -max_total_time="$secs" -timeout=20 -rss_limit_mb=4096 \
      -artifact_prefix="$build/fuzz-$t-" -print_final_stats=1 \
      -dict="$here/http.dict" "$work" "$here/corpus/$t"
done
rm -f "$build/fuzz-request.db" "$build/fuzz-request.db-wal" "$build/fuzz-request.db-shm"
