#!/bin/sh
# check.sh CC SOURCE_DIR — compile the layout asserts of everything shared (sync objects, heap,
# channel: check.c) for a 32-bit target (-m32) and a 64-bit one (-m64), freestanding with stub
# headers, so no 32-bit libc is needed. Exits 77 (skip) if CC cannot target 32 bits.
set -eu
cc=$1
src=$2
here=$src/tests/sync/layout32
gccinc=$("$cc" -print-file-name=include)
if ! echo 'int x;' | "$cc" -m32 -ffreestanding -x c -fsyntax-only - 2>/dev/null; then
	echo "$cc cannot compile for -m32: skipped"
	exit 77
fi
# -Wno-psabi: GCC 11 changed the alignment of 64-bit atomics on i386 and says so; the offsets
# the layouts rely on are asserted, whatever the compiler.
for bits in 32 64; do
	"$cc" -m$bits -DLAYOUT_BITS=$bits -std=gnu11 -ffreestanding -nostdinc -isystem "$here" \
		-isystem "$gccinc" -I"$src/include" -I"$src/src" -Wno-psabi -fsyntax-only \
		"$here/check.c"
done
echo "32- and 64-bit layouts of the sync, heap and channel objects: OK"
