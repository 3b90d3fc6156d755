#!/bin/sh
# leftovers.sh snapshot FILE | check FILE
# Records the shared-memory objects present before the tests (POSIX objects in /dev/shm and
# kernel SysV segment ids), and after them fails if any new object is still there.
set -eu
mode=$1 file=$2
list() {
	ls -A /dev/shm 2>/dev/null | sed 's|^|posix |'
	if [ -r /proc/sysvipc/shm ]; then
		awk 'NR>1 { print "sysv " $2 }' /proc/sysvipc/shm
	fi
}
case $mode in
snapshot)
	list | sort >"$file"
	;;
check)
	list | sort >"$file.after"
	new=$(comm -13 "$file" "$file.after")
	if [ -n "$new" ]; then
		echo "tests left shared-memory objects behind:" >&2
		echo "$new" | sed 's/^/  /' >&2
		exit 1
	fi
	echo "no shared-memory objects left behind"
	;;
*)
	echo "usage: $0 snapshot|check FILE" >&2
	exit 2
	;;
esac
