#!/bin/bash
# Python's ctypes calling the C library's shmget/shmat/shmdt/shmctl (as the System V modules
# of PyPI do from C) under `shmkit run`: the calls reach the namespace, not the kernel, and a
# second Python process attaches by key and reads what the first wrote.
#   python.sh SHMKIT PRELOAD HELPER
SHMKIT=$1 PRELOAD=$2 HELPER=$3
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
[ -x "$PY" ] || skip "no $PY"
run=("$SHMKIT" run -n "$NS" --)
key=$((0x5eed0000 + RANDOM))
mkfifo "$TMP/go"
prelude='
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.shmget.argtypes = [ctypes.c_int, ctypes.c_size_t, ctypes.c_int]
libc.shmat.restype = ctypes.c_void_p
libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
libc.shmdt.argtypes = [ctypes.c_void_p]
libc.shmctl.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_void_p]
def check(r, what):
    if r == -1 or r == ctypes.c_void_p(-1).value:
        sys.exit("%s: errno %d" % (what, ctypes.get_errno()))
    return r
key = int(sys.argv[1])
'
"${run[@]}" "$PY" -c "$prelude"'
id = check(libc.shmget(key, 4096, 0o1000 | 0o600), "shmget")  # IPC_CREAT
addr = check(libc.shmat(id, None, 0), "shmat")
msg = b"hello from python"
ctypes.memmove(addr, msg, len(msg))
print("written", flush=True)
open(sys.argv[2]).read()
check(libc.shmctl(id, 0, None), "shmctl IPC_RMID")
check(libc.shmdt(addr), "shmdt")
print("removed", flush=True)
' "$key" "$TMP/go" >"$TMP/writer.out" 2>&1 &
pid=$!
wait_lines "$TMP/writer.out" 1 || fail "python did not start: $(cat "$TMP/writer.out")"
hex=$(printf '0x%08x' "$key")
ns_list | grep -q "^$hex 1 " || fail "python's segment is not in the namespace: $(ns_list)"
in_kernel "$hex" && fail "python's segment went to the kernel's table"
"${run[@]}" "$PY" -c "$prelude"'
id = check(libc.shmget(key, 0, 0), "shmget")
addr = check(libc.shmat(id, None, 0o10000), "shmat")  # SHM_RDONLY
print(ctypes.string_at(addr, 17).decode())
check(libc.shmdt(addr), "shmdt")
' "$key" >"$TMP/reader.out" 2>&1 || fail "the reader failed: $(cat "$TMP/reader.out")"
grep -qx "hello from python" "$TMP/reader.out" ||
	fail "the reader did not read what the writer wrote: $(cat "$TMP/reader.out")"
echo go >"$TMP/go"
wait $pid || fail "the writer failed: $(cat "$TMP/writer.out")"
grep -qx removed "$TMP/writer.out" || fail "the writer did not finish: $(cat "$TMP/writer.out")"
[ -z "$(ns_list)" ] || fail "python left segments: $(ns_list)"
in_kernel "$hex" && fail "a segment with python's key is in the kernel's table"
ok "Python's ctypes calls of shmget/shmat/shmdt/shmctl run on the namespace"
finish
