#!/bin/sh
# `memgrade grade` usage errors (SPEC §2): exit 2 with one line on stderr;
# a compile error is a result (exit 0). usage: cli_usage.sh MEMGRADE SOURCE_DIR
set -u
mg=$1 src=$2 tmp=$(mktemp -d) fails=0
trap 'rm -rf "$tmp"' EXIT
check() { # expected-status description command...
    want=$1 what=$2; shift 2
    "$@" >"$tmp/out" 2>"$tmp/err"; got=$?
    lines=$(wc -l <"$tmp/err")
    if [ "$got" != "$want" ] || { [ "$want" = 2 ] && [ "$lines" != 1 ]; }; then
        echo "FAIL $what: exit $got (want $want), stderr lines $lines: $(head -c 300 "$tmp/err")"
        fails=$((fails + 1))
    else
        echo "ok   $what"
    fi
}
printf 'int x;\n' >"$tmp/mystr.c"
printf 'int broken(\n' >"$tmp/broken.c"
cp "$tmp/broken.c" "$tmp/b/mystr.c" 2>/dev/null || { mkdir "$tmp/b" && cp "$tmp/broken.c" "$tmp/b/mystr.c"; }
check 2 "no arguments" "$mg" grade
check 2 "no assignment" "$mg" grade "$tmp/mystr.c"
check 2 "unknown assignment" "$mg" grade --assignment nosuch "$tmp/mystr.c"
check 2 "missing file" "$mg" grade --assignment mystr "$tmp/none/mystr.c"
check 2 "two files for a one-file assignment" "$mg" grade --assignment mystr "$tmp/broken.c" "$tmp/mystr.c"
check 2 "unknown flag" "$mg" grade --assignment mystr --frobnicate "$tmp/mystr.c"
check 2 "flag without value" "$mg" grade --assignment
check 2 "same file twice" "$mg" grade --assignment mystr "$tmp/mystr.c" "$tmp/mystr.c"
check 2 "bad assignments folder" "$mg" grade --assignments "$tmp/none" --assignment mystr "$tmp/mystr.c"
check 0 "compile error is a result" "$mg" grade --json --assignment mystr "$tmp/b/mystr.c"
grep -q '"status": "compile_error"' "$tmp/out" || { echo "FAIL compile error document: $(head -c 300 "$tmp/out")"; fails=$((fails + 1)); }
check 0 "readable report" "$mg" grade --assignment mystr "$src/assignments/mystr/reference/mystr.c"
grep -q 'score 31 / 31' "$tmp/out" || { echo "FAIL report: $(head -c 300 "$tmp/out")"; fails=$((fails + 1)); }
check 0 "report quotes the line" "$mg" grade --assignment mystr "$src/assignments/mystr/variants/dup_no_room_for_nul.c"
grep -q '17 |.*memcpy' "$tmp/out" || grep -q '17 |' "$tmp/out" || { echo "FAIL quoted line missing: $(grep -n heap_overflow "$tmp/out" | head -3)"; fails=$((fails + 1)); }
exit $((fails != 0))
