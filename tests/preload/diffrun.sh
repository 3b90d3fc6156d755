#!/bin/bash
# diffrun.sh SHMKIT PRELOAD HELPER PROGRAM: PROGRAM (plain libc) prints the same on the kernel
# and under `shmkit run`, and leaves nothing behind.
SHMKIT=$1 PRELOAD=$2 HELPER=$3 PROG=$4
. "$(dirname "$0")/lib.sh"
"$PROG" >"$TMP/kernel" 2>&1 || fail "$PROG failed on the kernel: $(cat "$TMP/kernel")"
"$SHMKIT" run -n "$NS" -- "$PROG" >"$TMP/shmkit" 2>&1 || fail "$PROG failed on shmkit"
if diff -u "$TMP/kernel" "$TMP/shmkit" >&2; then
	ok "$(basename "$PROG"): same output on shmkit as on the kernel"
	cat "$TMP/kernel"
else
	fail "$(basename "$PROG"): output differs from the kernel's"
fi
left=$(ns_list)
[ -z "$left" ] || fail "segments left in the namespace: $left"
finish
