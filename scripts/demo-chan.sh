#!/bin/sh
# demo-chan.sh BUILD_DIR [KILLS [LINES [MS]]] — a consumer killed with kill -9 loses nothing.
#
# examples/chan/chan_lines: a producer sends LINES numbered lines (default 30) over an SPSC
# channel; the consumer prints each one and works on it for MS milliseconds (default 80)
# before it lets it go. The consumer is killed with kill -9 KILLS times (default 1) and
# started again each time. At the end the lines the consumers printed, run after run, must be
# the producer's, in order, none missing; the one thing allowed is what the channel promises
# for a receiver that dies holding a message: that line is delivered again, so the line a
# killed consumer was printing may be printed a second time, first thing by the next one.
# Afterwards nothing may be left in /dev/shm. Exits 1 if any of that fails.
#
# `make demo` runs it as it is; the tests run it with more kills at random moments.
set -eu
build=${1:?usage: demo-chan.sh BUILD_DIR [KILLS [LINES [MS]]]}
kills=${2:-1} nlines=${3:-30} ms=${4:-80}
prog=$build/examples/chan/chan_lines
if [ ! -x "$prog" ]; then
	echo "demo-chan: $prog is missing; build first (make demo does)" >&2
	exit 1
fi
# With no KILLS argument it is the demo and says what happens; a test passes arguments.
demo=$([ $# -le 1 ] && echo 1 || echo 0)
name=shmkit-demo-chan-$$
tmp=$(mktemp -d "${TMPDIR:-/tmp}/shmkit-demo-chan.XXXXXX")
producer= consumer=
cleanup() {
	for p in $consumer $producer; do kill -9 "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
	# Only if something above failed: the consumer removes the channel when it is done.
	rm -rf "/dev/shm/shmkit.chan.$name"
	rm -rf "$tmp"
}
trap cleanup EXIT
say() { [ "$demo" != 1 ] || echo "$@"; }
lines() { [ -f "$1" ] && wc -l <"$1" || echo 0; }
alive() { kill -0 "$1" 2>/dev/null; }
msleep() { sleep "$(awk -v m="$1" 'BEGIN { printf "%.3f", m / 1000 }')"; }

awk -v n="$nlines" 'BEGIN { for (i = 1; i <= n; i++) printf "line %d of %d\n", i, n }' \
	>"$tmp/sent"

echo "== shmkit demo: a channel, and a consumer killed with kill -9 =="
say "chan_lines send sends $nlines numbered lines over a one-to-one channel that holds 16;"
say "chan_lines recv prints each line, works on it for $ms ms, and only then lets it go."
run=1
say "\$ chan_lines recv $name $ms > consumer$run.out &"
"$prog" recv "$name" "$ms" >"$tmp/out.$run" 2>"$tmp/err.$run" &
consumer=$!
say "\$ chan_lines send $name < lines &"
"$prog" send "$name" <"$tmp/sent" 2>"$tmp/err.producer" &
producer=$!

# Kill the consumer KILLS times: once it has printed some lines (the demo: a third of them;
# a test: two, then a random moment within the next few lines' work).
while [ "$run" -le "$kills" ]; do
	want=$([ "$demo" = 1 ] && echo $((nlines / 3)) || echo 2)
	for _ in $(seq 1000); do
		[ "$(lines "$tmp/out.$run")" -ge "$want" ] && break
		alive "$consumer" && [ ! -s "$tmp/err.producer" ] || break
		sleep 0.01
	done
	if [ -s "$tmp/err.producer" ] || [ -s "$tmp/err.$run" ]; then
		cat "$tmp"/err.* >&2
		echo "demo-chan: the producer or consumer $run failed" >&2
		exit 1
	fi
	[ "$demo" = 1 ] || msleep "$(awk -v r="$(od -An -N2 -tu2 /dev/urandom)" -v m="$ms" \
		'BEGIN { print r % (3 * m + 1) }')"
	alive "$consumer" || break # it got to the end first: no more kills
	say "\$ kill -9 $consumer    (consumer $run, after it printed $(lines "$tmp/out.$run") lines)"
	kill -9 "$consumer"
	wait "$consumer" 2>/dev/null || true
	if [ "$demo" = 1 ]; then
		echo "consumer $run printed, before it was killed:"
		sed 's/^/  /' "$tmp/out.$run"
		echo "With no consumer, the producer goes on: lines queue in the channel; once it is"
		echo "full, send says -EPIPE (nobody to make room) and the producer polls the channel's"
		echo "descriptor until there is room again. The channel now:"
		echo "\$ ls /dev/shm"
		ls -A /dev/shm | grep -F "$name" | sed 's/^/  /'
	fi
	msleep "$((ms * 5))"
	run=$((run + 1))
	say "\$ chan_lines recv $name $ms > consumer$run.out &"
	"$prog" recv "$name" "$ms" >"$tmp/out.$run" 2>"$tmp/err.$run" &
	consumer=$!
done

# The last consumer ends by itself once the producer is done and it has printed every line.
status=0
for p in $producer $consumer; do
	for _ in $(seq 6000); do alive "$p" || break; sleep 0.01; done
	if alive "$p"; then
		echo "demo-chan: process $p did not finish within a minute" >&2
		status=1
	elif ! wait "$p"; then
		status=1
	fi
done
producer= consumer=
cat "$tmp"/err.* >&2
if [ "$status" -ne 0 ]; then
	echo "demo-chan: the producer or the last consumer failed" >&2
	exit 1
fi
if [ "$demo" = 1 ]; then
	echo "consumer $run printed:"
	sed 's/^/  /' "$tmp/out.$run"
fi

echo
echo "== the check: every line, in order; only a line held by a killed consumer twice =="
# Each consumer's output must go on where the one before left off; it may start with the
# last line its predecessor printed (the one it was holding when killed), nowhere else.
# shellcheck disable=SC2046 # the run files' names have no blanks (mktemp's template)
awk -v sent="$tmp/sent" '
BEGIN {
	while ((getline l < sent) > 0)
		want[++n] = l
	nx = 1; ok = 1
	for (r = 1; r < ARGC && ok; r++) {
		first = ""; k = 0
		while (ok && (getline l < ARGV[r]) > 0) {
			if (++k == 1 && nx > 1 && l == want[nx - 1]) {
				again = again " " (nx - 1); first = last = nx - 1
				continue
			}
			if (nx > n || l != want[nx]) {
				printf "consumer %d printed \"%s\" where \"%s\" was due\n", r, l,
				    (nx > n ? "(nothing more)" : want[nx])
				ok = 0
				break
			}
			if (first == "")
				first = nx
			last = nx++
		}
		if (ok)
			printf "  consumer %d printed %s\n", r, (first == "" ? "nothing" : \
			    first == last ? "line " first : "lines " first "-" last)
	}
	if (ok && nx <= n) {
		printf "lines %d-%d never arrived\n", nx, n
		ok = 0
	}
	if (!ok)
		exit 1
	printf "%d lines sent, all %d printed, in order", n, n
	if (again == "")
		print "; none twice."
	else
		print "; printed again after a kill (held by the killed consumer):" again "."
	exit 0
}' $(seq 1 "$run" | sed "s|^|$tmp/out.|") || {
	echo "demo-chan: FAILED: lines lost or out of order" >&2
	exit 1
}

echo
echo "== what is left in /dev/shm =="
left=$(ls -A /dev/shm 2>/dev/null | grep -F "$name" || true)
if [ -n "$left" ]; then
	echo "left behind in /dev/shm: $left" >&2
	exit 1
fi
echo "nothing: the last consumer removed the channel"
