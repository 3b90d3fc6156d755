#!/bin/sh
# check.sh MODEL.pml... — model-check each Promela model with spin: generate the verifier,
# compile it, run an exhaustive safety search (assertions and invalid end states). Fails on
# any error; exits 77 (skip) when spin is not installed.
set -eu
command -v spin >/dev/null 2>&1 || { echo "spin not installed: skipped"; exit 77; }
cc=${CC:-cc}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
for model in "$@"; do
	name=$(basename "$model" .pml)
	mkdir "$work/$name"
	cp "$model" "$work/$name/"
	(
		cd "$work/$name"
		spin -a "$name.pml" >/dev/null
		"$cc" -O2 -w -DSAFETY -o pan pan.c
		./pan -m1000000 >out.txt 2>&1 || true
	)
	out="$work/$name/out.txt"
	if grep -q "errors: 0" "$out" && ! grep -q "^pan:1" "$out" &&
		! grep -q "max search depth too small" "$out"; then
		echo "$name: $(grep -o '[0-9]* states, stored' "$out"), no errors"
	else
		echo "$name: FAILED"
		cat "$out"
		status=1
	fi
done
exit $status
