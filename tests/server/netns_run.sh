#!/bin/sh
# Runs a command in fresh PID, network and mount namespaces with only the
# loopback interface up: server tests listen on 127.0.0.1 in a network of
# their own, so ports never collide and nothing leaves the machine.
# Usage: netns_run.sh COMMAND [ARG]...
set -eu
if [ "${MEMGRADE_IN_NETNS:-}" != 1 ]; then
  MEMGRADE_IN_NETNS=1 exec unshare --pid --fork --net --mount --mount-proc "$0" "$@"
fi
ip link set lo up
exec "$@"
