#!/bin/sh
# memgrade-entrypoint: the container image's entrypoint (Containerfile).
#
# For a worker (root, CAP_SYS_ADMIN, its own cgroup namespace) on a cgroup v2
# host, container runtimes mount /sys/fs/cgroup read-only unless the
# container is privileged. The sandbox makes one cgroup per box below the
# container's own (memory.max, cpu.stat), so it needs that mount writable:
# remount it read-write. The cgroup namespace makes the container's cgroup
# the root of what it sees, so this exposes nothing above it.
# The API (non-root, no capabilities) skips all of this.
#
# Then exec the command: memgrade must be PID 1 and the only process in the
# container's cgroup (cgroup v2's "no internal processes" rule: it moves
# itself into a leaf, memgrade-service, before enabling +memory below).
set -eu
cg=/sys/fs/cgroup
if [ "$(id -u)" = 0 ] && [ -f "$cg/cgroup.controllers" ] && \
   ! [ -w "$cg/cgroup.subtree_control" ]; then
    mount -o remount,rw "$cg" 2>/dev/null ||
        mount -t cgroup2 -o rw,nosuid,nodev,noexec cgroup2 "$cg" 2>/dev/null ||
        echo "memgrade-entrypoint: $cg is read-only and could not be remounted;" \
             "box memory limits will NOT be enforced (see memgrade's sandbox line)" >&2
fi
exec "$@"
