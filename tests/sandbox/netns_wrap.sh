#!/bin/sh
# Runs a sandbox test inside the fresh namespaces ctest gives it (unshare
# --pid --fork --net --mount --mount-proc): brings up loopback for the
# listener the network attacks aim at, plants a canary in the environment of
# pid 1 for the /proc/1/environ attack, then becomes the test (so the test is
# pid 1 and every other process it sees was left behind by the sandbox).
set -e
ip link set lo up
MG_CANARY="memgrade-canary-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"
export MG_CANARY
exec "$@"
