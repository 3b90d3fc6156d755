#!/bin/sh
# examples.sh lines|workqueue|ticker BUILD_DIR SOURCE_DIR — the channel examples as tests.
#
#   lines      chan_lines: the consumer prints exactly what the producer read (long and empty
#              lines included), whichever starts first; then scripts/demo-chan.sh kills the
#              consumer with kill -9 many times, mid-line and at random moments, and checks
#              that no line was lost or reordered (only a line held by a killed consumer may
#              come twice).
#   workqueue  chan_workqueue: every job's result arrives exactly once, and right (the Collatz
#              steps are computed again here), and the per-worker counts add up.
#   ticker     chan_ticker: each subscriber's runs of ticks and reported losses tile 1..TICKS
#              exactly, in order (a loss is exactly the gap that follows it); the slow
#              subscriber did lose ticks.
# Each run must leave nothing in /dev/shm.
set -eu
what=$1 build=$2 src=$3
bin=$build/examples/chan
name=shmkit-test-chan-$what-$$
tmp=$(mktemp -d "${TMPDIR:-/tmp}/shmkit-chan-example.XXXXXX")
# The example removes its channel; if it failed half-way, the test does (and has failed).
pid=
cleanup() {
	[ -z "$pid" ] || { kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; } || true
	rm -rf "$tmp" "/dev/shm/shmkit.chan.$name"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
no_leftovers() {
	left=$(ls -A /dev/shm 2>/dev/null | grep -F "$name" || true)
	[ -z "$left" ] || fail "left in /dev/shm: $left"
}

lines_same() { # $1: who starts first
	awk 'BEGIN {
		for (i = 1; i <= 500; i++) {
			s = sprintf("line %d:", i)
			for (j = 0; j < (i * 37) % 300; j++) s = s " " j % 10
			print (i % 50 == 0 ? "" : s)
		}
	}' >"$tmp/in"
	# Started together: each creates the channel unless the other already has.
	if [ "$1" = consumer ]; then
		timeout 30 "$bin/chan_lines" recv "$name" >"$tmp/out" &
		pid=$!
		timeout 30 "$bin/chan_lines" send "$name" <"$tmp/in" || fail "chan_lines send failed"
	else
		timeout 30 "$bin/chan_lines" send "$name" <"$tmp/in" &
		pid=$!
		timeout 30 "$bin/chan_lines" recv "$name" >"$tmp/out" || fail "chan_lines recv failed"
	fi
	wait "$pid" || fail "chan_lines failed ($1 first)"
	pid=
	cmp "$tmp/in" "$tmp/out" || fail "the consumer's output is not the producer's input"
	no_leftovers
	echo "lines: $(wc -l <"$tmp/in") lines through the channel unchanged ($1 first)"
}

case $what in
lines)
	lines_same consumer
	lines_same producer
	# Killed while it works on a line (3 ms each): the line it holds comes again.
	"$src/scripts/demo-chan.sh" "$build" 6 300 3
	# Killed at random moments of a fast consumer (waiting, printing, releasing).
	"$src/scripts/demo-chan.sh" "$build" 8 2000 1
	;;
workqueue)
	jobs=3000 workers=4
	"$bin/chan_workqueue" "$name" $workers $jobs >"$tmp/out" || fail "chan_workqueue failed"
	no_leftovers
	awk -v jobs=$jobs -v workers=$workers '
	function collatz(n, s) { for (s = 0; n > 1; s++) n = n % 2 ? 3 * n + 1 : n / 2; return s }
	/^job / {
		n = $2 + 0; steps = $3; w = $6 + 0
		if (n < 1 || n > jobs || w < 0 || w >= workers) { print "bad line: " $0; bad++ }
		if (steps != collatz(n)) { print "wrong result: " $0; bad++ }
		if (count[n]++) { print "twice: job " n; bad++ }
		did[w]++
		next
	}
	/ jobs, .* results:/ {
		summary = 1
		for (i = 1; i <= NF; i++)
			if ($i == "worker" && did[$(i + 1) + 0] != $(i + 3) + 0) {
				print "worker " $(i + 1) " counted " $(i + 3) ", did " did[$(i + 1) + 0]
				bad++
			}
		next
	}
	{ print "unexpected: " $0; bad++ }
	END {
		for (n = 1; n <= jobs; n++)
			if (!count[n]) { print "missing: job " n; bad++ }
		if (!summary) { print "no summary line"; bad++ }
		if (bad) exit 1
		printf "workqueue: %d jobs, each result once and right; per worker:", jobs
		for (w = 0; w < workers; w++) printf " %d", did[w]
		print ""
	}' "$tmp/out" || fail "chan_workqueue results"
	;;
ticker)
	ticks=500 subs=4
	"$bin/chan_ticker" "$name" $subs $ticks >"$tmp/out" || fail "chan_ticker failed"
	no_leftovers
	awk -v ticks=$ticks -v subs=$subs '
	BEGIN { for (s = 0; s < subs; s++) next_[s] = 1 }
	/^publisher: / { next }
	$1 == "subscriber" {
		s = $2 + 0
		if (done[s]) { print "after the end: " $0; bad++ }
	}
	$1 == "subscriber" && $3 == "ticks" {
		split($4, r, "-")
		if (r[1] != next_[s] + pend[s] || r[2] < r[1]) {
			printf "subscriber %d: %s after tick %d and %d lost\n", s, $4, next_[s] - 1,
			    pend[s]
			bad++
		}
		seen[s] += r[2] - r[1] + 1; next_[s] = r[2] + 1; pend[s] = 0
		next
	}
	$1 == "subscriber" && $3 == "overflow:" {
		if ($5 < 1) { print "a loss of nothing: " $0; bad++ }
		pend[s] += $5; lost[s] += $5
		next
	}
	$1 == "subscriber" && $5 == "seen," {
		done[s] = 1
		if (next_[s] - 1 != ticks || pend[s]) {
			printf "subscriber %d ended after tick %d\n", s, next_[s] - 1; bad++
		}
		if ($3 != seen[s] || $6 != lost[s]) {
			printf "subscriber %d: says %d seen, %d lost; printed %d, %d\n", s, $3, $6,
			    seen[s], lost[s]
			bad++
		}
		next
	}
	{ print "unexpected: " $0; bad++ }
	END {
		for (s = 0; s < subs; s++) {
			if (!done[s]) { print "subscriber " s " did not finish"; bad++ }
			printf "ticker: subscriber %d saw %d of %d ticks in order, lost %d, as reported\n",
			    s, seen[s], ticks, lost[s]
		}
		if (!lost[subs - 1]) { print "the slow subscriber lost nothing"; bad++ }
		exit bad != 0
	}' "$tmp/out" || {
		sed 's/^/  output: /' "$tmp/out" >&2
		fail "chan_ticker output"
	}
	;;
*)
	echo "usage: $0 lines|workqueue|ticker BUILD_DIR SOURCE_DIR" >&2
	exit 2
	;;
esac
