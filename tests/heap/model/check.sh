#!/bin/sh
# check.sh MODEL.pml... — model-check the heap's lock-free protocols with spin: each model must
# pass an exhaustive safety search (assertions, invalid end states), and each broken variant
# it names in its comment (-DBROKEN_...) must be caught. Exits 77 (skip) without spin.
set -eu
command -v spin >/dev/null 2>&1 || { echo "spin not installed: skipped"; exit 77; }
cc=${CC:-cc}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
# search MODEL DEFINE: prints "ok N" (no error, N states) or "error"
search() {
	dir="$work/$(basename "$1" .pml)$2"
	mkdir -p "$dir"
	cp "$1" "$dir/"
	(
		cd "$dir"
		spin $2 -a "$(basename "$1")" >/dev/null
		"$cc" -O0 -w -DSAFETY -o pan pan.c # tiny state spaces: compiling is the cost
		./pan -m1000000 >out.txt 2>&1 || true
	)
	out="$dir/out.txt"
	if grep -q "max search depth too small" "$out"; then
		echo "depth"
	elif grep -q "errors: 0" "$out" && ! grep -q "^pan:1" "$out"; then
		echo "ok $(grep -o '[0-9]* states, stored' "$out")"
	else
		echo "error"
	fi
}
for model in "$@"; do
	name=$(basename "$model" .pml)
	r=$(search "$model" "")
	case $r in
	ok*) echo "$name: ${r#ok }, no errors" ;;
	*) echo "$name: FAILED ($r)"; cat "$work/$name/out.txt"; status=1 ;;
	esac
	for variant in $(grep -o -- '-DBROKEN_[A-Z_]*' "$model" | sort -u); do
		r=$(search "$model" "$variant")
		if [ "$r" = error ]; then
			echo "$name $variant: caught, as it must be"
		else
			echo "$name $variant: NOT caught ($r)"
			status=1
		fi
	done
done
exit $status
