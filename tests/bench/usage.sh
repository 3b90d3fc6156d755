#!/bin/sh
# Description: shmkit bench refuses bad arguments with a usage message and exit status 2.
. "$(dirname "$0")/lib.sh"
expect_usage() {
	set +e
	"$shmkit" bench "$@" >"$TMPDIR/out" 2>"$TMPDIR/err"
	rc=$?
	set -e
	[ $rc -eq 2 ] || fail "shmkit bench $*: exit status $rc, expected 2"
	grep -q '^Usage: shmkit bench' "$TMPDIR/err" || fail "shmkit bench $*: no usage message"
	[ ! -s "$TMPDIR/out" ] || fail "shmkit bench $*: wrote to stdout"
	rm -f "$TMPDIR/out" "$TMPDIR/err"
}
expect_usage --bogus
expect_usage extra-argument
expect_usage --sizes
expect_usage --sizes 4
expect_usage --sizes 8,abc
expect_usage --sizes 128M
expect_usage --duration 0
expect_usage --duration -1
expect_usage --duration soon
expect_usage --passes 0
expect_usage --passes 1.5
expect_usage --only no-such-transport
expect_usage --only ''
expect_usage --ratio pipe
expect_usage --ratio pipe/fifo@64:speed
"$shmkit" bench --help | grep -q '^Usage: shmkit bench' || fail "--help"
"$shmkit" bench --list | grep -q '^pipe ' || fail "--list does not show pipe"
echo "usage: every bad argument gets the usage message and exit status 2"
