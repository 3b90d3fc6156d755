# Shared by determinism.sh, diff.sh and scripts/soak.sh (sourced, not executed).
# Trace files hold sequences "=== seed S" ... "=== end seed S ..."; lines starting with '#'
# are run headers and are not compared.

# first_diff_seed A B: the seed of the first sequence whose traces differ (empty if none).
first_diff_seed() {
	line=$(diff <(grep -v '^#' "$1") <(grep -v '^#' "$2") | head -1 |
		sed -n 's/^\([0-9]*\).*/\1/p' || true)
	[ -n "$line" ] || return 0
	grep -v '^#' "$1" | awk -v l="$line" 'NR <= l && /^=== seed / { s = $3 } END { print s }'
}

# extract FILE SEED: that sequence's trace.
extract() {
	awk -v s="$2" '$1 == "===" && $2 == "seed" { on = ($3 == s) } on { print }
		$1 == "===" && $2 == "end" && $4 == s { on = 0 }' "$1"
}

# show_diff A B SEED LABEL_A LABEL_B: the sequence's traces, unified diff.
show_diff() {
	echo "---- seed $3: diff -u $4 $5 ----"
	diff -u --label "$4 seed $3" --label "$5 seed $3" <(extract "$1" "$3") <(extract "$2" "$3")  || true
	echo "---- end of seed $3 ----"
}

# harness_check FILE LABEL: every kernel sequence must end cleanly and leave nothing.
harness_check() {
	bad=$(grep '^=== end seed ' "$1" | grep -v ' exit:0 left: used_ids=+0 shm_tot=+0$' | head -3 || true)
	if [ -n "$bad" ]; then
		echo "$2: sequences did not end cleanly or left segments:" >&2
		echo "$bad" >&2
		return 1
	fi
	if grep -qE ' (setuid|setup) = | = harness:|fork:' "$1"; then
		echo "$2: the harness itself failed (setuid/fork/pipe):" >&2
		grep -E ' (setuid|setup) = | = harness:|fork:' "$1" | head -3 >&2
		return 1
	fi
	if grep -q '^end rmid-all .* other=[1-9]' "$1"; then
		echo "$2: the final IPC_RMID of some sequence failed:" >&2
		grep '^end rmid-all .* other=[1-9]' "$1" | head -3 >&2
		return 1
	fi
}

# all_diff_seeds A B: every seed whose traces differ, in numeric order.
all_diff_seeds() {
	awk 'FNR == 1 { f++ } /^#/ { next } /^=== seed / { s = $3 }
		{ if (f == 1) a[s] = a[s] $0 "\n"; else b[s] = b[s] $0 "\n" }
		END { for (s in a) if (a[s] != b[s]) print s; for (s in b) if (!(s in a)) print s }' \
		"$1" "$2" | sort -n
}

# first_lines A B SEED: the first differing line of that sequence, from each side.
first_lines() {
	diff <(extract "$1" "$3") <(extract "$2" "$3") | grep '^[<>]' | awk '
		/^</ && !l { l = $0 } /^>/ && !r { r = $0 } END { print "  " l; print "  " r }'  || true
}
