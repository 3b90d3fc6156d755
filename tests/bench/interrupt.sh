#!/bin/sh
# Description: shmkit bench interrupted mid-run (SIGINT, as Ctrl-C, and SIGKILL of the
# harness) leaves nothing behind: no /dev/shm object, no SysV segment, queue or semaphore
# set, no socket or file, no process (sides, cleaner, iceoryx's RouDi).
. "$(dirname "$0")/lib.sh"

# Is anything of the run there yet? (Then killing it tests the cleanup.)
started() {
	[ -n "$(ls -A /dev/shm)$(ipcs -m -q -s | awk '$1 ~ /^0x/')" ]
}

# kill_mid_run SIGNAL ONLY: start a run in its own session, wait until it has made
# objects (and RouDi is up when iceoryx is in it and can run), signal the harness, then
# wait for its cleaner and check what is left.
kill_mid_run() {
	sig=$1 only=$2
	out="$TMPDIR/../out.$$"
	setsid "$shmkit" bench --only "$only" --sizes 64,64K --duration 2 --passes 2 \
		>"$out" 2>/dev/null &
	pid=$!
	want_roudi=0
	if echo "$only" | grep -q iceoryx && "$shmkit" bench --list | grep -q '^iceoryx-busy ' &&
		! { [ -e /tmp/iox-unique-roudi.lock ] && ! flock -n /tmp/iox-unique-roudi.lock true; }; then
		want_roudi=1
	fi
	i=0
	while :; do
		i=$((i + 1))
		[ $i -le 300 ] || fail "$sig $only: the run made nothing in 30 s"
		if ! kill -0 $pid 2>/dev/null; then
			# Ended by itself: acceptable only when every transport was skipped here.
			wait $pid || true
			n=$(echo "$only" | tr ',' '\n' | wc -l)
			[ "$(grep -c ': skipped: ' "$out")" -eq "$n" ] ||
				fail "$sig $only: the run ended before it was signalled"
			echo "interrupt: $sig during $only: skipped (no such peer here)"
			rm -f "$out"
			return 0
		fi
		if [ $want_roudi = 1 ]; then
			pgrep -s $pid -x iox-roudi >/dev/null && started && break
		else
			started && break
		fi
		sleep 0.1
	done
	kill -s "$sig" $pid
	i=0
	while [ -n "$(leftovers)$(pgrep -s $pid || true)" ]; do
		i=$((i + 1))
		if [ $i -gt 150 ]; then
			echo "left after $sig:" >&2
			leftovers >&2
			pgrep -s $pid -a >&2 || true
			fail "$sig $only: not cleaned up within 15 s"
		fi
		sleep 0.1
	done
	wait $pid 2>/dev/null || true
	rm -f "$out"
	echo "interrupt: $sig during $only: nothing left (after $((i / 10)).$((i % 10)) s)"
}

# Each list starts (in the harness's order) with a transport whose objects are visible at once.
kill_mid_run INT sysv-mq,posix-shm,sysv-shm
kill_mid_run KILL shmkit-sysv
kill_mid_run KILL iceoryx-busy,zmq
kill_mid_run INT iceoryx-waitset,nng
