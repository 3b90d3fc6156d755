#!/bin/bash
# 32-bit programs under `shmkit run`, beside 64-bit ones: each process loads the interposer of
# its own class (found by shmkit run, or given as SHMKIT_PRELOAD=P64:P32), also across exec
# from one class to the other, without a word from the loader; the seeds' server/client pair
# with one side 32-bit prints what it prints on the kernel.
#   run.sh SHMKIT PRELOAD HELPER EXAMPLES_DIR CHAIN64 M32_BIN [WHY]
SHMKIT=$1 PRELOAD=$2 HELPER=$3 EX=$4 CHAIN64=$5 BIN32=$6 WHY=${7:-}
. "$(dirname "$0")/../preload/lib.sh"

[ -z "$WHY" ] || skip "$WHY"
[ -x "$BIN32/plain_chain" ] || skip "$BIN32/plain_chain is missing (the 32-bit build failed?)"
"$BIN32/plain_chain" >/dev/null 2>&1 # usage: exit 2, if it runs at all
[ $? -ne 126 ] || skip "this kernel does not run i386 programs (CONFIG_IA32_EMULATION)"
PRELOAD32=$(dirname "$BIN32")/preload/libshmkit-sysv.so
[ -r "$PRELOAD32" ] || skip "$PRELOAD32 is missing"

# ---- what shmkit run sets up ----
unset SHMKIT_PRELOAD
env=$("$SHMKIT" run -n "$NS" -- sh -c 'echo "$LD_PRELOAD|$LD_AUDIT|$LD_LIBRARY_PATH"' 2>&1)
want="libshmkit-sysv.so|libshmkit-audit.so|$(dirname "$(realpath "$PRELOAD")"):$(dirname "$(realpath "$PRELOAD32")")"
[ "$env" = "$want" ] || fail "found both interposers: the environment is '$env', want '$want'"
ok "shmkit run finds the 64- and the 32-bit interposer and lets each loader pick its own"

# ---- a chain 64 -> 32 -> 64 -> 32 by exec, each interposed, the loader silent ----
K=$((0x32000000 | ($$ & 0xffff) << 8)) # keys of this run: the kernel's table may be shared
chain() {
	"${R[@]}" "$CHAIN64" $((K + 1)) "$BIN32/plain_chain" $((K + 2)) \
		"$CHAIN64" $((K + 3)) "$BIN32/plain_chain" $((K + 4)) >"$TMP/chain.out" 2>"$TMP/chain.err"
}
expect_chain=$(printf '%s-bit key=0x%08x created\n' 64 $((K + 1)) 32 $((K + 2)) 64 $((K + 3)) \
	32 $((K + 4)))
for how in found listed; do
	if [ $how = listed ]; then export SHMKIT_PRELOAD="$PRELOAD:$PRELOAD32"; else unset SHMKIT_PRELOAD; fi
	runner on_shmkit
	chain || fail "$how: the chain failed: $(cat "$TMP/chain.err")"
	[ "$(cat "$TMP/chain.out")" = "$expect_chain" ] || fail "$how: chain printed: $(cat "$TMP/chain.out")"
	[ ! -s "$TMP/chain.err" ] || fail "$how: something spoke on stderr: $(cat "$TMP/chain.err")"
	for k in 1 2 3 4; do
		key=$(printf '0x%08x' $((K + k)))
		ns_list | grep -q "^$key 0 4096$" || fail "$how: $key (link $k) is not in the namespace: $(ns_list)"
		in_kernel "$key" && fail "$how: $key (link $k) went to the kernel"
	done
	"$HELPER" destroy "$NS" || fail "cannot reset namespace $NS"
done
ok "a chain of execs across classes is interposed in every process, the loader silent"

# The same chain on the kernel, to be sure it means something: all four are the kernel's.
runner on_kernel
chain || fail "kernel: the chain failed: $(cat "$TMP/chain.err")"
for k in 1 2 3 4; do
	key=$(printf '0x%08x' $((K + k)))
	in_kernel "$key" || fail "kernel: $key (link $k) is not in the kernel's table"
	ipcrm -M "$key" 2>/dev/null
done

# ---- bad and partial interposer lists ----
mkdir -p "$TMP/other"
cp "$PRELOAD32" "$TMP/other/libother.so"
export SHMKIT_PRELOAD="$PRELOAD:$TMP/other/libother.so"
err=$("$SHMKIT" run -n "$NS" -- true 2>&1) && fail "differently named interposers were accepted"
echo "$err" | grep -q "must all be named libshmkit-sysv.so" || fail "unclear error: '$err'"
export SHMKIT_PRELOAD="$PRELOAD"
err=$("$SHMKIT" run -n "$NS" -- "$BIN32/plain_chain" 2>&1 >/dev/null)
echo "$err" | grep -q "another architecture (32-bit" ||
	fail "no warning for a 32-bit program with a 64-bit interposer only: '$err'"
export SHMKIT_PRELOAD="$PRELOAD:$PRELOAD32"
err=$("$SHMKIT" run -n "$NS" -- "$BIN32/plain_chain" 2>&1 >/dev/null)
[ -z "$err" ] || fail "a warning for a 32-bit program with both interposers: '$err'"
ok "SHMKIT_PRELOAD lists of interposers: one name for all, a warning only for a class not in it"
unset SHMKIT_PRELOAD

# ---- the seeds' server/client pair, one side 32-bit ----
for mix in "32 64" "64 32"; do
	set -- $mix
	s=$EX/sysv_server c=$EX/sysv_client
	[ "$1" = 32 ] && s=$BIN32/sysv_server
	[ "$2" = 32 ] && c=$BIN32/sysv_client
	for run in on_kernel on_shmkit; do
		server_client "$s" "$c" $run "$TMP/$1-$2/$run"
	done
	if diff -r "$TMP/$1-$2/on_kernel" "$TMP/$1-$2/on_shmkit" >"$TMP/diff"; then
		echo "ok: $1-bit server, $2-bit client: the same on shmkit as on the kernel"
	else
		fail "$1-bit server, $2-bit client: output differs from the kernel's:"
		cat "$TMP/diff" >&2
	fi
	grep -qx "server exit 0" "$TMP/$1-$2/on_kernel/server" &&
		grep -qx "client exit 0" "$TMP/$1-$2/on_kernel/client" ||
		fail "$1-bit server, $2-bit client: the kernel run itself failed"
	left=$(ns_list)
	[ -z "$left" ] || fail "segments left in the namespace: $left"
done
echo "--- kernel outputs (32-bit server, 64-bit client) ---"
cat "$TMP/32-64/on_kernel/server" "$TMP/32-64/on_kernel/client"
finish
