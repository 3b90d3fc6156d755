#!/bin/bash
# demo-sysv.sh BUILD_DIR — System V shared memory without the kernel's SysV IPC.
#
# A classic SysV server/client pair, compiled against plain libc and knowing nothing of
# shmkit, runs unmodified under `shmkit run`: their shmget/shmat/shmdt/shmctl calls go to a
# shmkit namespace. While they run, shmkit's tools show the segment and who is attached; the
# kernel's table never sees it; afterwards nothing is left anywhere.
set -eu
build=${1:?usage: demo-sysv.sh BUILD_DIR}
shmkit=$build/tools/shmkit/shmkit
server=$build/examples/sysv/sysv_server
client=$build/examples/sysv/sysv_client
for f in "$shmkit" "$server" "$client"; do
	if [ ! -x "$f" ]; then
		echo "demo-sysv: $f is missing; build first (make demo does)" >&2
		exit 1
	fi
done
export SHMKIT_PRELOAD=${SHMKIT_PRELOAD:-$build/preload/libshmkit-sysv.so}

ns=demo-$$
tmp=$(mktemp -d "${TMPDIR:-/tmp}/shmkit-demo.XXXXXX")
keyfile=$tmp/keyfile
: >"$keyfile"
# The key ftok(keyfile, 'S') gives, as the server computes it.
key=$(printf '0x%08x' $((($(stat -c %i "$keyfile") & 0xffff) |
	(($(stat -c %d "$keyfile") & 0xff) << 16) | (0x53 << 24))))
server_pid=
cleanup() {
	[ -z "$server_pid" ] || kill "$server_pid" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

step() { printf '\n== %s ==\n' "$*"; }
# Paths shortened for reading: shmkit, sysv_server, keyfile.
short() { sed -e "s|$build/tools/shmkit/||g" -e "s|$build/examples/sysv/||g" -e "s|$tmp/||g"; }
show() {
	echo "\$ $*" | short
	"$@" 2>&1 | short | sed 's/^/  /'
}

step "1. Two ordinary System V programs"
echo "sysv_server creates a segment from an ftok key (IPC_CREAT|IPC_EXCL) and waits;"
echo "sysv_client finds it by the same key and writes a message into it."
echo "Neither is linked with shmkit:"
show ldd "$server"

step "2. Start the server under 'shmkit run' (namespace $ns)"
echo "\$ shmkit run --namespace $ns -- sysv_server keyfile &"
"$shmkit" run --namespace "$ns" -- "$server" "$keyfile" >"$tmp/server.out" 2>&1 &
server_pid=$!
for _ in $(seq 500); do
	[ -s "$tmp/server.out" ] && break
	sleep 0.01
done
sed 's/^/  /' "$tmp/server.out"

step "3. shmkit sees the segment and who is attached"
show "$shmkit" ls --ns "$ns"
show "$shmkit" stat --ns "$ns" "$key"

step "4. The kernel does not: its table has no segment with key $key"
if ipcs -m | grep -qi "^$key "; then
	echo "demo-sysv: the segment is in the kernel's table" >&2
	exit 1
fi
echo "\$ ipcs -m | grep $key"
echo "  (nothing)"
echo "...while the unmodified ipcs, run under shmkit run, shows shmkit's table:"
show "$shmkit" run --namespace "$ns" -- ipcs -m

step "5. Run the client under shmkit run too"
show "$shmkit" run --namespace "$ns" -- "$client" "$keyfile" "hello through shmkit"
echo "The server's output:"
status=0
wait "$server_pid" || status=$?
server_pid=
sed 's/^/  /' "$tmp/server.out"
if [ "$status" -ne 0 ]; then
	echo "demo-sysv: the server failed (exit $status)" >&2
	exit 1
fi

step "6. Nothing is left"
show "$shmkit" ls --ns "$ns"
segs=$("$shmkit" ls --ns "$ns" --noheadings)
# The namespace itself is a directory with its registry and tokens file; with no segment
# left it holds no object, and removing it is what 'shmkit rm --ns' (shmkit_ns_destroy) does.
left=$(find "/dev/shm/shmkit.$ns" -type f ! -name reg ! -name live 2>/dev/null || true)
"$shmkit" rm --ns "$ns" >/dev/null 2>&1 || rm -rf "/dev/shm/shmkit.$ns"
[ -e "/dev/shm/shmkit.$ns" ] && left="$left shmkit.$ns"
kernel=$(ipcs -m | grep -i "^$key " || true)
if [ -n "$left" ] || [ -n "$kernel" ] || [ -n "$segs" ]; then
	echo "LEFT BEHIND:" ${segs:+"$segs"} ${left:+"$left"} ${kernel:+"kernel: $kernel"}
	exit 1
fi
echo "nothing left: no segment in namespace $ns, nothing in /dev/shm, nothing in the kernel's table"
