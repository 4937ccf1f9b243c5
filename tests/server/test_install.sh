#!/bin/sh
# `cmake --install` into a temporary prefix, then memgrade run from there
# with the source and build trees hidden (a tmpfs over each, in this test's
# own mount namespace): the installed binary must find its runtime sources
# and the bundled assignments beside itself, grade the reference, and serve.
# Usage: test_install.sh BUILD_DIR SOURCE_DIR   (run by netns_run.sh)
set -u
build=$1 src=$2
fail=0
ok() { echo "ok   $1"; }
no() { echo "FAIL $1"; fail=1; }

prefix=$(mktemp -d /tmp/mginstall.XXXXXX)
trap 'rm -rf "$prefix"' EXIT
if cmake --install "$build" --prefix "$prefix" >"$prefix.log" 2>&1; then
  ok "cmake --install --prefix $prefix"
else
  no "cmake --install failed: $(tail -3 "$prefix.log")"
fi
rm -f "$prefix.log"
for f in bin/memgrade share/memgrade/rt/mgrt.c share/memgrade/rt/mgt.h \
         share/memgrade/assignments/mystr/manifest.json share/memgrade/memgrade.service; do
  [ -e "$prefix/$f" ] && ok "installed $f" || no "missing $f"
done

cp "$src/assignments/mystr/reference/mystr.c" "$prefix/mystr.c"
cd "$prefix"
# Hide both trees: nothing of them may be needed from here on.
mount -t tmpfs -o size=1m none "$src" || no "cannot hide the source tree"
case "$build" in "$src"/*) ;; *) mount -t tmpfs -o size=1m none "$build" ;; esac
[ ! -e "$src/graders/rt/mgrt.c" ] && ok "the source tree is hidden" || no "the source tree is visible"

out=$(env -u MEMGRADE_ASSIGNMENTS "$prefix/bin/memgrade" grade --assignment mystr mystr.c 2>&1)
rc=$?
echo "$out" | tail -3
if [ $rc -eq 0 ] && echo "$out" | grep -q "graded, score 31 / 31"; then
  ok "the installed binary grades the reference with its own runtime and assignments"
else
  no "grading from the prefix (exit $rc)"
fi

db=$prefix/var/memgrade.db
mkdir -p "$prefix/var"
chmod 755 "$prefix" "$prefix/var"
env -u MEMGRADE_ASSIGNMENTS "$prefix/bin/memgrade" serve --db "$db" --port 18099 \
  --access-log off 2>"$prefix/serve.err" &
pid=$!
up=0
for _ in $(seq 1 100); do
  if curl -sf http://127.0.0.1:18099/healthz >/dev/null 2>&1; then up=1; break; fi
  sleep 0.1
done
[ $up = 1 ] && ok "serve from the prefix answers /healthz" || no "serve did not come up: $(cat "$prefix/serve.err")"
grep -q "assignments $prefix/share/memgrade/assignments" "$prefix/serve.err" &&
  ok "serve uses the installed assignments" ||
  no "serve's assignments: $(grep listening "$prefix/serve.err")"
kill -TERM $pid; wait $pid
[ $fail = 0 ] && echo "test_install.sh: all passed" || echo "test_install.sh: failures"
exit $fail
