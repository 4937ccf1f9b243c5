#!/bin/sh
# grade_bench.sh: for each bundled assignment's reference solution, the whole
# `memgrade grade` (median of RUNS runs, warm object cache) against, in the
# same run, (a) the floor: bare `gcc -g -O0` compiling and linking the same
# student file with the test driver (function-level) or alone (programs), and
# (b) valgrind --leak-check=full running the same tests. Goals (issue 3):
# memgrade <= 3x the floor, >= 10x faster than valgrind.
#
# usage: [VG_RUNS=3] tests/bench/grade_bench.sh [BUILD_DIR] [RUNS]
# Runs the references, which are student-style code: it puts itself in
# fresh namespaces (unshare --pid --fork --net --mount --mount-proc).
set -eu
# The references run under valgrind here, outside the sandbox: only ever in
# fresh namespaces (as pid 1 of our own PID namespace, we already are).
if [ "$$" != 1 ]; then
    exec unshare --pid --fork --net --mount --mount-proc sh "$0" "$@"
fi
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=${1:-$src/build}
runs=${2:-5}
vg_runs=${VG_RUNS:-3}   # valgrind is slow: fewer runs of it by default
mg=$build/memgrade
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
[ -x "$mg" ] || { echo "no $mg: build first" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "valgrind missing" >&2; exit 2; }

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
ms() { date +%s%N | cut -c1-13; }
# time_ms CMD...: median wall milliseconds of $runs runs ($n_runs if set)
time_ms() {
    i=0 n=${n_runs:-$runs}
    while [ $i -lt "$n" ]; do
        t0=$(ms); "$@" >/dev/null 2>&1 || true; t1=$(ms)
        echo $((t1 - t0)); i=$((i + 1))
    done | median
}

printf '%-10s %10s %10s %10s %9s %11s\n' assignment memgrade floor valgrind x_floor valgrind/mg
for dir in "$src"/assignments/*/; do
    a=$(basename "$dir")
    [ -f "$dir/manifest.json" ] || continue
    file=$(python3 -c "import json,sys;print(json.load(open(sys.argv[1]))['files'][0])" "$dir/manifest.json")
    kind=$(python3 -c "import json,sys;print(json.load(open(sys.argv[1]))['kind'])" "$dir/manifest.json")
    ref=$dir/reference/$file
    # warm the object cache once, then measure
    "$mg" grade --json --assignment "$a" "$ref" >"$tmp/doc.json"
    score=$(python3 -c "import json,sys;d=json.load(open(sys.argv[1]));print(d['score'],'/',d['max_score'])" "$tmp/doc.json")
    t_mg=$(time_ms "$mg" grade --json --assignment "$a" "$ref")

    if [ "$kind" = functions ]; then
        floor() { gcc -g -O0 -I"$dir" -I"$src/graders/rt" -o "$tmp/floor" "$ref" "$dir/driver.c" "$here/grade_floor_main.c"; }
    else
        floor() { gcc -g -O0 -o "$tmp/floor" "$ref"; }
    fi
    t_floor=$(time_ms floor)
    floor >/dev/null 2>&1
    # valgrind runs the same tests: all driver tests in one process, or the
    # program once per manifest test with its arguments.
    if [ "$kind" = functions ]; then
        vg() { valgrind -q --leak-check=full "$tmp/floor"; }
    else
        python3 -c "
import json,sys,shlex
for t in json.load(open(sys.argv[1]))['tests']:
    print(' '.join(shlex.quote(x) for x in t.get('args', [])))" "$dir/manifest.json" >"$tmp/args"
        vg() {
            while IFS= read -r line; do
                eval "set -- $line"
                valgrind -q --leak-check=full "$tmp/floor" "$@" </dev/null || true
            done <"$tmp/args"
        }
    fi
    t_vg=$(n_runs=$vg_runs time_ms vg)
    printf '%-10s %8sms %8sms %8sms %8.2fx %10.1fx   (score %s)\n' "$a" "$t_mg" "$t_floor" "$t_vg" \
        "$(awk -v a="$t_mg" -v b="$t_floor" 'BEGIN{print a/b}')" \
        "$(awk -v a="$t_vg" -v b="$t_mg" 'BEGIN{print a/b}')" "$score"
done
