#!/bin/bash
# Classic System V programs (examples/sysv, plain libc) run unmodified under `shmkit run` and
# print exactly what they print on the kernel; neither run leaves anything behind.
#   classic.sh SHMKIT PRELOAD HELPER EXAMPLES_DIR
SHMKIT=$1 PRELOAD=$2 HELPER=$3 EX=$4
. "$(dirname "$0")/lib.sh"

# Each scenario: scenario RUNNER OUT; writes its programs' outputs and exit codes into OUT.

server_client_pair() {
	server_client "$EX/sysv_server" "$EX/sysv_client" "$1" "$2"
}

producer_consumer() {
	local run=$1 out=$2
	runner $run
	local kf="$TMP/$1.ring.key"
	: >"$kf"
	local key; key=$(ftok_key "$kf" P)
	# The consumer starts first and waits for the producer's segment.
	"${R[@]}" "$EX/sysv_consumer" "$kf" >"$out/consumer" 2>&1 &
	local cpid=$!
	"${R[@]}" "$EX/sysv_producer" "$kf" >"$out/producer" 2>&1
	echo "producer exit $?" >>"$out/producer"
	wait $cpid
	echo "consumer exit $?" >>"$out/consumer"
	in_kernel "$key" && fail "$run: segment $key left in the kernel's table"
}

workers() {
	local run=$1 out=$2
	runner $run
	"${R[@]}" "$EX/sysv_workers" >"$out/workers" 2>&1
	echo "workers exit $?" >>"$out/workers"
}

instance() {
	local run=$1 out=$2
	runner $run
	local kf="$TMP/$1.instance.key"
	: >"$kf"
	local key; key=$(ftok_key "$kf" I)
	# A: the running instance, held open by a fifo.
	mkfifo "$TMP/$run.fifo"
	"${R[@]}" "$EX/sysv_instance" "$kf" hold <"$TMP/$run.fifo" >"$out/instance-a" 2>&1 &
	local apid=$!
	exec 3>"$TMP/$run.fifo"
	wait_lines "$out/instance-a" 1 || fail "$run: first instance did not start"
	# B sees A.
	"${R[@]}" "$EX/sysv_instance" "$kf" >"$out/instance-b" 2>&1
	echo "b exit $?" >>"$out/instance-b"
	# A ends normally; C is alone and removes the segment.
	exec 3>&-
	wait $apid
	echo "a exit $?" >>"$out/instance-a"
	"${R[@]}" "$EX/sysv_instance" "$kf" >"$out/instance-c" 2>&1
	echo "c exit $?" >>"$out/instance-c"
	# D crashes (kill -9) while holding; E must not count it and removes the segment.
	rm -f "$TMP/$run.fifo"
	mkfifo "$TMP/$run.fifo"
	"${R[@]}" "$EX/sysv_instance" "$kf" hold <"$TMP/$run.fifo" >"$out/instance-d" 2>&1 &
	local dpid=$!
	exec 3>"$TMP/$run.fifo"
	wait_lines "$out/instance-d" 1 || fail "$run: crashing instance did not start"
	kill -9 $dpid
	wait $dpid
	echo "d exit $?" >>"$out/instance-d"
	exec 3>&-
	"${R[@]}" "$EX/sysv_instance" "$kf" >"$out/instance-e" 2>&1
	echo "e exit $?" >>"$out/instance-e"
	in_kernel "$key" && fail "$run: segment $key left in the kernel's table"
}

for scenario in server_client_pair producer_consumer workers instance; do
	for run in on_kernel on_shmkit; do
		mkdir -p "$TMP/$run/$scenario"
		$scenario $run "$TMP/$run/$scenario"
	done
	if diff -r "$TMP/on_kernel/$scenario" "$TMP/on_shmkit/$scenario" >"$TMP/diff"; then
		echo "ok: $scenario: same output on shmkit as on the kernel"
	else
		fail "$scenario: output differs from the kernel's:"
		cat "$TMP/diff" >&2
	fi
	# Everything the programs created they also removed.
	left=$(ns_list)
	[ -z "$left" ] || fail "$scenario: segments left in the namespace: $left"
done
# The kernel's run itself went as the programs intend (else the comparison proves little).
for want in "server exit 0" "client exit 0" "producer exit 0" "consumer exit 0" \
	"workers exit 0" "b exit 1" "c exit 0" "d exit 137" "e exit 0"; do
	grep -rqx "$want" "$TMP/on_kernel" || fail "the kernel run did not give '$want'"
done
echo "--- kernel outputs ---"
for f in "$TMP"/on_kernel/*/*; do echo "== ${f#$TMP/on_kernel/}"; cat "$f"; done
finish
