#!/bin/sh
# Description: a tiny run (a few transports, tiny duration, --json) gives valid JSON with every
# expected field, the same sample count everywhere, every message checked, peers skipped
# cleanly when missing, and nothing left behind.
. "$(dirname "$0")/lib.sh"
dir=$(dirname "$0")
only=pipe,unix-dgram,eventfd,memcpy,ref-pingpong,ref-ring,ref-futex,posix-shm,shmkit-sysv,ck-ring,zmq
only=$only,iceoryx-busy-zc
"$shmkit" bench --only "$only" --sizes 8,64,4K --duration 0.003 --passes 1 --json \
	>"$TMPDIR/report.json" 2>"$TMPDIR/err" || { cat "$TMPDIR/err" >&2; fail "exit status $?"; }
python3 "$dir/check_json.py" "$TMPDIR/report.json" pipe unix-dgram eventfd memcpy ref-pingpong ref-ring \
	ref-futex posix-shm shmkit-sysv
grep -q 'pass 1/1 pipe' "$TMPDIR/err" || fail "no progress line on stderr"
rm -f "$TMPDIR/report.json" "$TMPDIR/err"
left=$(leftovers)
[ -z "$left" ] || fail "left behind: $left"
echo "json: report checked, nothing left behind"
