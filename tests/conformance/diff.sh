#!/bin/bash
# diff.sh CONFORM [--seed S] [--count N] [--ops M] [--random KxN] [--backend B] [--preload SO]
#                  [--libc PROG] [--rmid-forced] [--keep-going]
# Runs the kernel and backend B (default shmkit) over the same seeds and fails at the first
# sequence whose normalized traces differ, printing its diff -u, the seed and a command that
# reproduces it. --random KxN adds K ranges of N sequences at random seeds (printed first).
# --preload SO: the other side is conform_libc (next to CONFORM) run with LD_PRELOAD=SO in a
# fresh namespace (created and removed with CONFORM --ns-create/--ns-destroy).
# --libc PROG (with --preload): PROG instead, for the kernel's run and the preloaded one (say, a
# conform_libc built with another time_t); CONFORM then only makes and removes the namespace.
# --rmid-forced runs both sides with shm_rmid_forced=1 semantics.
# --keep-going lists every differing seed with its first differing lines instead of stopping.
# Exit 77 if the backend is not available in this build.
set -euo pipefail
here=$(dirname "$0")
. "$here/lib.sh"
conform=$1
shift
seed=1 count=1000 ops=40 random= backend=shmkit keep= preload= forced= libc=
while [ $# -gt 0 ]; do
	case $1 in
	--keep-going) keep=1; shift; continue ;;
	--rmid-forced) forced=--rmid-forced; shift; continue ;;
	--preload) preload=$2 ;;
	--libc) libc=$2 ;;
	--seed) seed=$2 ;;
	--count) count=$2 ;;
	--ops) ops=$2 ;;
	--random) random=$2 ;;
	--backend) backend=$2 ;;
	*) echo "usage: $0 CONFORM [--seed S] [--count N] [--ops M] [--random KxN]" >&2; exit 2 ;;
	esac
	shift 2
done
tmp=$(mktemp -d)
ns=
cleanup() {
	[ -z "$ns" ] || "$conform" --ns-destroy "$ns" || true
	rm -rf "$tmp"
}
trap cleanup EXIT

# run_other ARGS...: the side compared with the kernel.
run_other() {
	if [ -n "$preload" ]; then
		SHMKIT_NAMESPACE=$ns LD_PRELOAD=$preload "${libc:-$(dirname "$conform")/conform_libc}" \
			--backend libc "$@"
	else
		"$conform" --backend "$backend" "$@"
	fi
}
[ -z "$libc" ] || [ -n "$preload" ] || { echo "$0: --libc needs --preload" >&2; exit 2; }
if [ -n "$preload" ]; then
	backend=preload
	[ -r "$preload" ] || { echo "SKIP: $preload not built" >&2; exit 77; }
	ns=conform-preload-$$
	"$conform" --ns-create "$ns" $forced || { rc=$?; ns=; exit $rc; }
fi

if ! run_other --count 0 >/dev/null 2>"$tmp/err"; then
	rc=$?
	cat "$tmp/err" >&2
	[ $rc -eq 77 ] && echo "SKIP: backend $backend not available" >&2
	exit $rc
fi

ranges="$seed:$count"
if [ -n "$random" ]; then
	for _ in $(seq "${random%x*}"); do
		ranges="$ranges $(( (RANDOM << 15 | RANDOM) * 64 )):${random#*x}"
	done
fi
echo "seed ranges (start:count): $ranges, ops=$ops"

total=0 failed=0
for r in $ranges; do
	s=${r%:*} n=${r#*:}
	args=(--seed "$s" --count "$n" --ops "$ops" $forced)
	"${libc:-$conform}" --backend kernel "${args[@]}" >"$tmp/kernel" &
	k=$!
	brc=0
	run_other "${args[@]}" >"$tmp/$backend" 2>"$tmp/err" || brc=$?
	krc=0
	wait $k || krc=$?
	if [ $krc -ne 0 ]; then
		echo "kernel run exited with status $krc (seeds $s..$((s + n - 1)))" >&2
		exit $krc
	fi
	harness_check "$tmp/kernel" kernel
	if [ -n "$keep" ]; then
		for b in $(all_diff_seeds "$tmp/kernel" "$tmp/$backend"); do
			echo "seed $b:"
			first_lines "$tmp/kernel" "$tmp/$backend" "$b"
			failed=1
		done
		total=$((total + n))
		continue
	fi
	bad=$(first_diff_seed "$tmp/kernel" "$tmp/$backend")
	if [ -n "$bad" ]; then
		echo "FAIL: $backend differs from the kernel at seed $bad"
		show_diff "$tmp/kernel" "$tmp/$backend" "$bad" kernel "$backend"
		if [ -n "$preload" ]; then
			echo "reproduce: $here/diff.sh $conform --preload $preload ${libc:+--libc $libc} --seed $bad --count 1 --ops $ops $forced"
		else
			echo "reproduce: $here/diff.sh $conform --backend $backend --seed $bad --count 1 --ops $ops $forced"
			echo "     or:   $conform --backend $backend --seed $bad --count 1 --ops $ops $forced --verbose"
		fi
		exit 1
	fi
	if [ $brc -ne 0 ]; then
		echo "FAIL: $backend run exited with status $brc (seeds $s..$((s + n - 1)))"
		cat "$tmp/err"
		exit 1
	fi
	total=$((total + n))
done
if [ $failed -ne 0 ]; then
	echo "FAIL: $backend differs from the kernel (seeds listed above)"
	exit 1
fi
echo "ok: $total sequences, $backend matches the kernel"
