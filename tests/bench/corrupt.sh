#!/bin/sh
# Description: a deliberately corrupted message (the test hook SHMKIT_BENCH_CORRUPT) fails
# its case with a reason instead of a figure, copying and zero-copy; the others still measure.
. "$(dirname "$0")/lib.sh"
dir=$(dirname "$0")
only=pipe,unix-stream,ref-pingpong
expect="--expect-fail pipe --expect-fail ref-pingpong"
if "$shmkit" bench --list | grep -q '^iceoryx-busy-zc '; then
	only=$only,iceoryx-busy-zc
	expect="$expect --expect-fail iceoryx-busy-zc"
fi
set +e
SHMKIT_BENCH_CORRUPT=pipe:3,ref-pingpong:7,iceoryx-busy-zc:5 "$shmkit" bench --only "$only" \
	--sizes 8,4K --duration 0.003 --passes 1 --json >"$TMPDIR/report.json" 2>"$TMPDIR/err"
rc=$?
set -e
[ $rc -eq 1 ] || { cat "$TMPDIR/err" >&2; fail "exit status $rc, expected 1 (a case failed)"; }
# An iceoryx that could not run here is reported as skipped, and check_json accepts that.
python3 "$dir/check_json.py" "$TMPDIR/report.json" $expect unix-stream
rm -f "$TMPDIR/report.json" "$TMPDIR/err"
left=$(leftovers)
[ -z "$left" ] || fail "left behind: $left"
echo "corrupt: every corrupted case failed with its reason, no figure"
