#!/bin/bash
# determinism.sh CONFORM [conform args...] — run the kernel backend twice over the same seeds;
# the two traces must be identical, and every sequence must end cleanly.
set -euo pipefail
here=$(dirname "$0")
. "$here/lib.sh"
conform=$1
shift
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$conform" --backend kernel "$@" >"$tmp/a" &
a=$!
rc=0
"$conform" --backend kernel "$@" >"$tmp/b" || rc=$?
wait $a || rc=$?
if [ $rc -ne 0 ]; then
	echo "kernel run exited with status $rc" >&2
	exit $rc
fi
harness_check "$tmp/a" "kernel run 1"
seed=$(first_diff_seed "$tmp/a" "$tmp/b")
if [ -n "$seed" ]; then
	echo "FAIL: two kernel runs differ (the generator or normalizer is not deterministic)"
	show_diff "$tmp/a" "$tmp/b" "$seed" kernel-run1 kernel-run2
	echo "reproduce: $conform --backend kernel --seed $seed --count 1 $*"
	exit 1
fi
echo "ok: $(grep -c '^=== seed ' "$tmp/a") kernel sequences, identical traces"
