#!/bin/sh
# Description: every shmkit channel transport (chan-*) moves its messages intact, round trip
# and one-way, small and large, copying and zero-copy (every message checked by the harness);
# a corrupted message through a channel fails its case; nothing is left in /dev/shm.
. "$(dirname "$0")/lib.sh"
dir=$(dirname "$0")
names=$("$shmkit" bench --list | awk '$1 ~ /^chan-/ { print $1 }')
[ -n "$names" ] || fail "no chan-* transport in this build"
"$shmkit" bench --only 'chan-*' --sizes 8,64,4K,1M --duration 0.003 --passes 1 --json \
	>"$TMPDIR/report.json" 2>"$TMPDIR/err" || { cat "$TMPDIR/err" >&2; fail "exit status $?"; }
# shellcheck disable=SC2086 # one argument per transport
python3 "$dir/check_json.py" "$TMPDIR/report.json" $names
set +e
SHMKIT_BENCH_CORRUPT=chan-spsc-busy:3,chan-spsc-zc-busy:5 "$shmkit" bench \
	--only chan-spsc-busy,chan-spsc-zc-busy --sizes 64,4K --duration 0.003 --passes 1 \
	--json >"$TMPDIR/report.json" 2>"$TMPDIR/err"
rc=$?
set -e
[ $rc -eq 1 ] || { cat "$TMPDIR/err" >&2; fail "exit status $rc, expected 1 (a case failed)"; }
python3 "$dir/check_json.py" "$TMPDIR/report.json" --expect-fail chan-spsc-busy \
	--expect-fail chan-spsc-zc-busy
rm -f "$TMPDIR/report.json" "$TMPDIR/err"
left=$(leftovers)
[ -z "$left" ] || fail "left behind: $left"
echo "chan: every channel transport moved its messages intact, nothing left behind"
