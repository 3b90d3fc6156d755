# shellcheck shell=bash disable=SC2034
# Shared by the preload test scripts (sourced). Expects SHMKIT, PRELOAD, HELPER set.
# Gives: NS (a unique namespace), TMP (a private directory), fail/skip, runners, cleanup.
set -u
export SHMKIT_PRELOAD="$PRELOAD"
NS="preload-$$-${RANDOM}"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/shmkit-preload.XXXXXX")
FAILED=0

NFAIL=0 NFAIL_SEEN=0
fail() { echo "FAIL: $*" >&2; FAILED=1; NFAIL=$((NFAIL + 1)); }
# ok MSG: "ok: MSG" if nothing failed since the previous ok.
ok() {
	[ "$NFAIL" = "$NFAIL_SEEN" ] && echo "ok: $*"
	NFAIL_SEEN=$NFAIL
}
skip() { echo "SKIP: $*" >&2; exit 77; }

CLEANED=0
cleanup() {
	[ "$CLEANED" = 0 ] || return 0
	CLEANED=1
	"$HELPER" destroy "$NS" || fail "could not destroy namespace $NS"
	local f
	for f in /dev/shm/shmkit."$NS" /dev/shm/.shmkit-gone."$NS".*; do
		[ -e "$f" ] && fail "left in /dev/shm: $f"
	done
	rm -rf "$TMP"
}
# Whatever way the script ends (set -u, a signal), the namespace goes.
trap 'cleanup' EXIT
trap 'cleanup; exit 1' INT TERM
finish() {
	cleanup
	if [ "$FAILED" != 0 ]; then exit 1; fi
	echo "PASS"
	exit 0
}

# The command prefix that runs a program on the kernel (none) or on shmkit (`shmkit run`), as
# the array R. "${R[@]}" prog & then makes $! the program's own pid: shmkit run execs it.
runner() {
	if [ "$1" = on_shmkit ]; then R=("$SHMKIT" run -n "$NS" --); else R=(); fi
}

# The key ftok(PATH, PROJ) gives (glibc and musl): "0x%08x", as ipcs prints it.
ftok_key() {
	local ino dev proj
	ino=$(stat -c %i "$1")
	dev=$(stat -c %d "$1")
	proj=$(printf %d "'$2")
	printf '0x%08x' $(((ino & 0xffff) | ((dev & 0xff) << 16) | ((proj & 0xff) << 24)))
}

# Is a segment with this key in the kernel's table?
in_kernel() { ipcs -m | awk 'NR > 3 { print $1 }' | grep -qix "$1"; }

# Wait (about 10 s at most) until FILE has at least N lines.
wait_lines() {
	local i=0
	while [ "$(cat "$1" 2>/dev/null | wc -l)" -lt "$2" ]; do
		i=$((i + 1))
		if [ $i -gt 1000 ]; then return 1; fi
		sleep 0.01
	done
}

# Segments of the namespace: "key nattch size" lines.
ns_list() { "$HELPER" list "$NS"; }

# server_client SERVER CLIENT RUNNER OUT: the seeds' server/client pair (examples/sysv) on the
# kernel (on_kernel) or under shmkit run (on_shmkit), their outputs and exit codes into the
# directory OUT. On shmkit, while the server waits, its segment is in the namespace, attached
# once, and not in the kernel's table; afterwards it is nowhere.
server_client() {
	local server=$1 client=$2 run=$3 out=$4
	runner "$run"
	mkdir -p "$out"
	local kf="$out.key"
	: >"$kf"
	local key; key=$(ftok_key "$kf" S)
	"${R[@]}" "$server" "$kf" >"$out/server" 2>&1 &
	local spid=$!
	wait_lines "$out/server" 1 || fail "$run: the server did not start"
	if [ "$run" = on_shmkit ]; then
		ns_list | grep -q "^$key 1 " || fail "server's segment $key not in namespace: $(ns_list)"
		in_kernel "$key" && fail "server's segment $key is in the kernel's table"
	fi
	"${R[@]}" "$client" "$kf" >"$out/client" 2>&1
	echo "client exit $?" >>"$out/client"
	wait $spid
	echo "server exit $?" >>"$out/server"
	in_kernel "$key" && fail "$run: segment $key left in the kernel's table"
}
