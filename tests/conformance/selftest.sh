#!/bin/bash
# selftest.sh CONFORM — the comparison machinery must catch a difference: a wrapper around
# CONFORM corrupts one line of seed 5 on the "libc" side, and diff.sh must fail, naming seed 5,
# showing the changed line and a command to reproduce it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
conform=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/conform" <<WRAP
#!/bin/bash
case " \$* " in
*" --backend libc "*)
	"$conform" "\$@" | awk '/^=== seed / { s = \$3 } s == 5 && /^3 / { \$0 = \$0 " CORRUPTED" } { print }' ;;
*) exec "$conform" "\$@" ;;
esac
WRAP
chmod +x "$tmp/conform"
rc=0
"$here/diff.sh" "$tmp/conform" --backend libc --seed 1 --count 10 >"$tmp/out" 2>&1 || rc=$?
fail() {
	echo "selftest: $1" >&2
	cat "$tmp/out" >&2
	exit 1
}
[ $rc -eq 1 ] || fail "diff.sh exited $rc, expected 1"
grep -q '^FAIL: libc differs from the kernel at seed 5$' "$tmp/out" || fail "seed 5 not named"
grep -q '^+3 .* CORRUPTED$' "$tmp/out" || fail "the differing line is not shown"
grep -q '^reproduce: .*--seed 5 --count 1' "$tmp/out" || fail "no reproduce command"
"$here/diff.sh" "$conform" --backend libc --seed 1 --count 10 >"$tmp/out" 2>&1 ||
	fail "identical backends reported as different"
echo "ok: diff.sh catches and reports a difference"
