#!/bin/sh
# check.sh MODEL.pml... — model-check each Promela model with spin: generate the verifier,
# compile it, run an exhaustive safety search (assertions and invalid end states). Fails on
# any error. A model may name broken variants of itself in its comment (-DBROKEN_...): each
# is built too and must be caught. Exits 77 (skip) when spin is not installed.
set -eu
command -v spin >/dev/null 2>&1 || { echo "spin not installed: skipped"; exit 77; }
cc=${CC:-cc}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
# search MODEL [DEFINE]: the search's output file. A broken variant stops at its first error,
# soon: its verifier is built unoptimized, which compiles three times as fast.
search() {
	dir="$work/$(basename "$1" .pml)${2:-}"
	mkdir "$dir"
	cp "$1" "$dir/"
	(
		cd "$dir"
		spin ${2:-} -a "$(basename "$1")" >/dev/null
		"$cc" $([ -n "${2:-}" ] && echo -O0 || echo -O2) -w -DSAFETY -o pan pan.c
		./pan -m1000000 >out.txt 2>&1 || true
	)
	echo "$dir/out.txt"
}
clean() {
	grep -q "errors: 0" "$1" && ! grep -q "^pan:1" "$1" &&
		! grep -q "max search depth too small" "$1"
}
for model in "$@"; do
	name=$(basename "$model" .pml)
	out=$(search "$model")
	if clean "$out"; then
		echo "$name: $(grep -o '[0-9]* states, stored' "$out"), no errors"
	else
		echo "$name: FAILED"
		cat "$out"
		status=1
	fi
	for variant in $(grep -o -- '-DBROKEN_[A-Z_]*' "$model" | sort -u); do
		out=$(search "$model" "$variant")
		if clean "$out" || grep -q "max search depth too small" "$out"; then
			echo "$name $variant: NOT caught"
			status=1
		else
			echo "$name $variant: caught, as it must be"
		fi
	done
done
exit $status
