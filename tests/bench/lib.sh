# Shared by the bench script tests. Usage: . lib.sh SHMKIT_BINARY "$@"
# Runs the test in a private mount and IPC namespace with its own empty /dev/shm and TMPDIR,
# so that whatever is found there afterwards was left by this test, and concurrent test runs
# cannot see each other's objects. Skips (77) where no namespace can be made.
set -eu
shmkit=$1
if [ -z "${SHMKIT_BENCH_ISOLATED:-}" ]; then
	export SHMKIT_BENCH_ISOLATED=1
	if ! unshare -m -i --propagation private true 2>/dev/null; then
		echo "bench tests: cannot make a private mount/IPC namespace (needs root): skipped"
		exit 77
	fi
	exec unshare -m -i --propagation private sh -c \
		'mount -t tmpfs -o mode=1777 tmpfs /dev/shm && exec "$0" "$@"' "$0" "$@"
fi
TMPDIR=$(mktemp -d "${TMPDIR:-/tmp}/shmkit-benchtest.XXXXXX")
export TMPDIR
trap 'rm -rf "$TMPDIR"' EXIT
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
# Everything the harness could leave: objects in this namespace, files in TMPDIR,
# iceoryx's files in /tmp (only when no RouDi of somebody else holds its lock).
leftovers() {
	ls -A /dev/shm
	ipcs -m | awk '$1 ~ /^0x/'
	ipcs -q | awk '$1 ~ /^0x/'
	ipcs -s | awk '$1 ~ /^0x/'
	ls -A "$TMPDIR"
	if [ -e /tmp/iox-unique-roudi.lock ] && flock -n /tmp/iox-unique-roudi.lock true; then
		echo "/tmp/iox-unique-roudi.lock"
	fi
}
