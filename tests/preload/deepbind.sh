#!/bin/bash
# A library loaded with RTLD_DEEPBIND binds shmget & co. to libc before the preload; under
# `shmkit run` (libshmkit-audit.so) its segments are the namespace's all the same.
#   deepbind.sh SHMKIT PRELOAD HELPER PROG LIB
SHMKIT=$1 PRELOAD=$2 HELPER=$3 PROG=$4 LIB=$5
. "$(dirname "$0")/lib.sh"
out=$("$PROG" "$LIB") || fail "on the kernel: $out"
[ "$out" = "$(printf 'kernel\nseen')" ] || fail "on the kernel: $out"
out=$("$SHMKIT" run -n "$NS" -- "$PROG" "$LIB") || fail "under shmkit run: $out"
[ "$out" = "$(printf 'not-kernel\nseen')" ] ||
	fail "under shmkit run the RTLD_DEEPBIND library reached the kernel: $out"
ok "an RTLD_DEEPBIND library's System V calls reach the namespace"
finish
