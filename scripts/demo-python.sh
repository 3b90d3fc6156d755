#!/bin/sh
# demo-python.sh BUILD_DIR — two examples of python/examples from Python. The work queue:
# three worker processes, one of them killed with kill -9 half-way; every job is done (the one
# the killed worker held goes back to the queue). The letter counts: workers tally into a
# table in a shared heap under a robust mutex there, one killed in the middle of an update;
# the counts come out right. Nothing is left in /dev/shm. Exits 1 if not.
set -eu
build=${1:?usage: demo-python.sh BUILD_DIR}
lib=$build/src/libshmkit.so.0
here=$(cd "$(dirname "$0")/.." && pwd)
py=
for p in python3 /usr/bin/python3; do
	if command -v "$p" >/dev/null && "$p" -c 'import cffi' 2>/dev/null; then
		py=$p
		break
	fi
done
if [ -z "$py" ]; then
	echo "demo-python: no python3 with cffi (make deps-check installs python3-cffi)" >&2
	exit 1
fi
echo "== Python: a work queue over an MPMC channel, one of 3 workers killed with kill -9 =="
SHMKIT_LIBRARY=$lib PYTHONPATH=$here/python "$py" "$here/python/examples/workqueue.py" \
	--kill 3 3000
echo "== Python: letter counts in a shared heap, a worker killed holding its mutex =="
SHMKIT_LIBRARY=$lib PYTHONPATH=$here/python "$py" "$here/python/examples/letters.py" --kill
left=$(ls -A /dev/shm 2>/dev/null | grep -E 'workqueue|letters' || true)
if [ -n "$left" ]; then
	echo "demo-python: left behind in /dev/shm: $left" >&2
	exit 1
fi
echo "every job done, every letter counted; nothing left in /dev/shm"
