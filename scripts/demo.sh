#!/bin/sh
# demo.sh BUILD_DIR — the shmkit demo (run by `make demo`, which builds first).
#
# Two processes share a POSIX shared-memory segment made by shmkit and play ping-pong
# through it; afterwards /dev/shm must hold nothing of theirs.
set -eu
build=${1:?usage: demo.sh BUILD_DIR}
pingpong=$build/examples/seg_pingpong
name=shmkit-demo-$$

if [ ! -x "$pingpong" ]; then
	echo "demo: $pingpong is missing; build first (make demo does)" >&2
	exit 1
fi

echo "== shmkit demo: two processes, one shared-memory segment =="
echo "$ $pingpong $name"
status=0
"$pingpong" "$name" || status=$?
echo

echo "== what is left in /dev/shm =="
left=$(ls -A /dev/shm 2>/dev/null | grep -F "$name" || true)
if [ -n "$left" ]; then
	echo "left behind in /dev/shm:"
	echo "$left" | sed 's/^/  /'
	exit 1
fi
echo "nothing left behind in /dev/shm"
[ "$status" -eq 0 ] || echo "demo: the example failed (exit $status)" >&2
exit "$status"
