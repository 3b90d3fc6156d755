#!/bin/bash
# soak.sh BUILD_DIR — a crash storm of $SOAK_STORM_SECONDS (default 60: random operations,
# lingering fork children and kill -9s, then nattch against /proc/PID/maps), then a long
# randomized conformance run: shmkit against the kernel, batch after batch of fresh seeds,
# until $SOAK_SECONDS (default 600) have passed or $SOAK_COUNT sequences have run; stops at
# the first difference and prints its seed and how to reproduce it.
#   SOAK_SEED   first seed (default: random, printed)     SOAK_BATCH  sequences per batch (500)
#   SOAK_OPS    steps per sequence (40)                   SOAK_BACKEND  backend under test (shmkit)
#   SOAK_ARGS   more diff.sh options, e.g. "--rmid-forced" or "--preload BUILD/preload/libshmkit-sysv.so"
set -euo pipefail
build=${1:?usage: soak.sh BUILD_DIR}
here=$(cd "$(dirname "$0")/.." && pwd)
conform=$build/tests/conform
[ -x "$conform" ] || { echo "soak: $conform not built" >&2; exit 2; }
storm=$build/tests/crash_mt_storm
if [ "${SOAK_STORM_SECONDS:-60}" != 0 ] && [ -x "$storm" ]; then
	echo "soak: crash storm for ${SOAK_STORM_SECONDS:-60}s"
	SHMKIT_STORM_SECONDS=${SOAK_STORM_SECONDS:-60} "$storm" || { echo "soak: storm FAILED"; exit 1; }
fi
seconds=${SOAK_SECONDS:-600}
limit=${SOAK_COUNT:-0}
batch=${SOAK_BATCH:-500}
ops=${SOAK_OPS:-40}
backend=${SOAK_BACKEND:-shmkit}
seed=${SOAK_SEED:-$(( (RANDOM << 15 | RANDOM) * 4096 ))}
echo "soak: backend=$backend ${SOAK_ARGS:-} first seed=$seed batch=$batch ops=$ops for ${seconds}s" \
	"${SOAK_COUNT:+or $limit sequences}"
start=$(date +%s) done=0
while :; do
	now=$(date +%s)
	[ $((now - start)) -lt "$seconds" ] || break
	[ "$limit" -eq 0 ] || [ "$done" -lt "$limit" ] || break
	# shellcheck disable=SC2086 # SOAK_ARGS is a list of options
	if ! out=$("$here/tests/conformance/diff.sh" "$conform" --backend "$backend" \
		--seed "$seed" --count "$batch" --ops "$ops" ${SOAK_ARGS:-} 2>&1); then
		echo "$out"
		echo "soak: FAILED after $done sequences ($((now - start))s)"
		exit 1
	fi
	done=$((done + batch)) seed=$((seed + batch))
	echo "soak: $done sequences ok, next seed $seed, $(( $(date +%s) - start ))s"
done
echo "soak: PASSED $done sequences in $(( $(date +%s) - start ))s"
