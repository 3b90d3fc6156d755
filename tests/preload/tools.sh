#!/bin/bash
# `shmkit run` and the interposer seen from outside:
#  - unmodified ipcs/lsipc under `shmkit run` show the namespace's segments (the virtual
#    /proc/sysvipc/shm), and the kernel's table does not have them;
#  - an interposed program and a program linked with libshmkit share segments both ways;
#  - threads, fork and exit give the kernel's attach counts under the interposer;
#  - LD_PRELOAD is prepended and survives exec in children; bypasses are warned about.
#   tools.sh SHMKIT PRELOAD HELPER EXAMPLES_DIR PLAIN_PEER PLAIN_THREADS STATIC_PROG
SHMKIT=$1 PRELOAD=$2 HELPER=$3 EX=$4 PEER=$5 THREADS=$6 STATIC=$7
. "$(dirname "$0")/lib.sh"
run=("$SHMKIT" run -n "$NS" --)

# ---- ipcs / lsipc ----
kf="$TMP/instance.key"
: >"$kf"
key=$(ftok_key "$kf" I)
mkfifo "$TMP/fifo"
"${run[@]}" "$EX/sysv_instance" "$kf" hold <"$TMP/fifo" >"$TMP/holder" 2>&1 &
hpid=$!
exec 3>"$TMP/fifo"
wait_lines "$TMP/holder" 1 || fail "the holder did not start"

out=$("${run[@]}" ipcs -m)
line=$(echo "$out" | awk -v k="$key" '$1 == k')
[ -n "$line" ] || fail "ipcs -m under shmkit run does not show $key: $out"
set -- $line
id=$2
[ "$5" = 4096 ] && [ "$6" = 1 ] || fail "ipcs -m row: want 4096 bytes, nattch 1: $line"
in_kernel "$key" && fail "$key is in the kernel's table"

out=$("${run[@]}" ipcs -m -i "$id")
echo "$out" | grep -q "shmid=$id\$" || fail "ipcs -m -i $id: no such segment: $out"
echo "$out" | grep -q "bytes=4096.*nattch=1" || fail "ipcs -m -i $id: wrong details: $out"
echo "$out" | grep -q "cpid=$hpid" || fail "ipcs -m -i $id: cpid is not $hpid: $out"

out=$("${run[@]}" lsipc -m --noheadings -o KEY,ID,SIZE,NATTCH --raw)
echo "$out" | grep -qx "$key $id 4K 1" || fail "lsipc -m does not show '$key $id 4K 1': $out"

# The view has the kernel's header and 16 columns per row.
[ "$("${run[@]}" head -1 /proc/sysvipc/shm)" = "$(head -1 /proc/sysvipc/shm)" ] ||
	fail "the header of the virtual /proc/sysvipc/shm differs from the kernel's"
cols=$("${run[@]}" awk 'NR == 2 { print NF }' /proc/sysvipc/shm)
[ "$cols" = 16 ] || fail "rows of the virtual /proc/sysvipc/shm have $cols columns, not 16"
# Writing is refused as the kernel refuses it.
"${run[@]}" sh -c 'echo x >/proc/sysvipc/shm' 2>/dev/null && fail "/proc/sysvipc/shm was writable"

exec 3>&-
wait $hpid || fail "the holder failed"
ok "ipcs, ipcs -i, lsipc and /proc/sysvipc/shm show the namespace's segment"

# ---- ipcmk / ipcrm create and remove in the namespace ----
out=$("${run[@]}" ipcmk -M 8192 -p 0640 2>&1)
mkid=${out##*: }
case "$mkid" in '' | *[!0-9]*) fail "ipcmk under shmkit run: $out" ;; esac
ns_list | grep -q " 0 8192\$" || fail "ipcmk's segment is not in the namespace: $(ns_list)"
"${run[@]}" ipcrm -m "$mkid" || fail "ipcrm -m $mkid under shmkit run failed"
[ -z "$(ns_list)" ] || fail "ipcrm left: $(ns_list)"
ok "ipcmk and ipcrm create and remove segments of the namespace"

# ---- interposed and directly linked processes share segments ----
# hold NAME CMD...: run CMD with its stdin on a fifo kept open by fd 4 (closing fd 4 lets
# it finish) and its output in $TMP/NAME; waits for its first line. Sets HOLD_PID.
hold() {
	local name=$1
	shift
	rm -f "$TMP/$name.fifo"
	mkfifo "$TMP/$name.fifo"
	"$@" <"$TMP/$name.fifo" >"$TMP/$name" 2>&1 &
	HOLD_PID=$!
	exec 4>"$TMP/$name.fifo"
	wait_lines "$TMP/$name" 1 || fail "$name did not start"
}
# release NAME: close its stdin, wait for it; its last line goes to LAST.
release() {
	exec 4>&-
	wait $HOLD_PID || fail "$1 failed: $(cat "$TMP/$1")"
	LAST=$(tail -1 "$TMP/$1")
}

k=0x5eed0001
hold direct "$HELPER" create "$NS" $k from-direct
[ "$(head -1 "$TMP/direct")" = "create: ready" ] || fail "direct creator: $(cat "$TMP/direct")"
got=$("${run[@]}" "$PEER" read $k from-preload 2>&1)
[ "$got" = 'plain: read "from-direct", nattch 2' ] || fail "interposed reader got: $got"
release direct
[ "$LAST" = 'create: now holds "from-preload", nattch 1' ] || fail "direct creator: $LAST"

k=0x5eed0002
hold plain "${run[@]}" "$PEER" create $k from-preload
[ "$(head -1 "$TMP/plain")" = "plain: ready" ] || fail "interposed creator: $(cat "$TMP/plain")"
got=$("$HELPER" direct "$NS" $k from-direct 2>&1)
[ "$got" = 'direct: read "from-preload", nattch 2' ] || fail "direct reader got: $got"
release plain
[ "$LAST" = 'plain: now holds "from-direct", nattch 1' ] || fail "interposed creator: $LAST"
in_kernel 0x5eed0001 && fail "0x5eed0001 is in the kernel's table"
in_kernel 0x5eed0002 && fail "0x5eed0002 is in the kernel's table"
ok "interposed and directly linked processes share segments both ways"

# ---- threads, fork from a thread, exit: the kernel's counts ----
"$THREADS" >"$TMP/threads.kernel" 2>&1 || fail "threads program failed on the kernel"
"${run[@]}" "$THREADS" >"$TMP/threads.shmkit" 2>&1 || fail "threads program failed on shmkit"
diff "$TMP/threads.kernel" "$TMP/threads.shmkit" >&2 ||
	fail "threads: output differs from the kernel's"
ok "threads/fork/exit attach counts match the kernel:"
cat "$TMP/threads.kernel"

# ---- the environment shmkit run gives ----
env=$(LD_PRELOAD=/nonexistent-keep.so "${run[@]}" sh -c 'sh -c "echo \$LD_PRELOAD \$SHMKIT_NAMESPACE"' 2>/dev/null)
lib=$(realpath "$PRELOAD")
[ "$env" = "$lib:/nonexistent-keep.so $NS" ] ||
	fail "grandchild after two execs sees LD_PRELOAD/SHMKIT_NAMESPACE '$env'"
ok "LD_PRELOAD prepended and kept across exec"

# ---- warnings ----
err=$("${run[@]}" "$STATIC" 2>&1 >/dev/null)
echo "$err" | grep -q "statically linked" || fail "no warning for a static program: '$err'"
cp /bin/true "$TMP/suid-true"
# Owned by someone else (chown first: it clears the set-user-ID bit).
if [ "$(id -u)" = 0 ]; then chown nobody "$TMP/suid-true" 2>/dev/null; fi
chmod 4755 "$TMP/suid-true"
if [ "$(stat -c %u "$TMP/suid-true")" != "$(id -u)" ]; then
	err=$("${run[@]}" "$TMP/suid-true" 2>&1)
	echo "$err" | grep -q "set-user-ID" || fail "no warning for a set-user-ID program: '$err'"
fi
# A dynamic 32-bit i386 executable (just its headers): the loader would skip a 64-bit preload.
if command -v python3 >/dev/null && [ "$(uname -m)" = x86_64 ]; then
	python3 -c "
import struct, sys
eh = b'\x7fELF' + bytes([1, 1, 1, 0]) + bytes(8) + struct.pack(
    '<HHIIIIIHHHHHH', 2, 3, 1, 0, 52, 0, 0, 52, 32, 1, 40, 0, 0)
ph = struct.pack('<IIIIIIII', 3, 0, 0, 0, 0, 0, 4, 1)  # PT_INTERP
open(sys.argv[1], 'wb').write(eh + ph)" "$TMP/elf32"
	chmod +x "$TMP/elf32"
	err=$("${run[@]}" "$TMP/elf32" 2>&1 >/dev/null)
	echo "$err" | grep -q "another architecture (32-bit" ||
		fail "no warning for a 32-bit program: '$err'"
fi
err=$("${run[@]}" true 2>&1)
[ -z "$err" ] || fail "a warning for a plain dynamic program: '$err'"
SHMKIT_NAMESPACE='bad name' "$SHMKIT" run true 2>/dev/null
[ $? = 2 ] || fail "an invalid inherited SHMKIT_NAMESPACE is not a usage error"
"${run[@]}" /nonexistent-program 2>/dev/null
[ $? = 127 ] || fail "a missing command does not exit 127"
ok "warnings for static and set-user-ID programs, none for a plain one"

left=$(ns_list)
[ -z "$left" ] || fail "segments left in the namespace: $left"
finish
