#!/bin/bash
# PHP's shmop and sysvshm under `shmkit run`. PHP loads its extensions with RTLD_DEEPBIND, so
# their shmget & co. bind to libc first: libshmkit-audit.so must route them to the namespace.
#   php.sh SHMKIT PRELOAD HELPER
SHMKIT=$1 PRELOAD=$2 HELPER=$3
. "$(dirname "$0")/lib.sh"
command -v php >/dev/null || skip "php is not installed (Debian package php-cli)"
php -m | grep -qx shmop || skip "php has no shmop"
run=("$SHMKIT" run -n "$NS" --)
key=$((0x5eed0000 + RANDOM))
mkfifo "$TMP/go"
"${run[@]}" php -r '
	$k = (int)$argv[1];
	$id = shmop_open($k, "c", 0600, 4096);
	shmop_write($id, "hello from php", 0);
	echo shmop_read($id, 0, 14), "\n";
	if (function_exists("shm_attach")) {
		$v = shm_attach($k + 1, 8192, 0600);
		shm_put_var($v, 1, array("a" => 42));
		echo "sysvshm ", shm_get_var($v, 1)["a"], "\n";
	}
	flush();
	file_get_contents($argv[2]);
	shmop_delete($id);
	if (isset($v)) shm_remove($v);
' "$key" "$TMP/go" >"$TMP/php.out" 2>&1 &
pid=$!
wait_lines "$TMP/php.out" 1 || fail "php did not start: $(cat "$TMP/php.out")"
sleep 0.2
hex=$(printf '0x%08x' "$key")
ns_list | grep -q "^$hex " || fail "php's shmop segment is not in the namespace: $(ns_list)"
in_kernel "$hex" && fail "php's shmop segment went to the kernel's table"
echo go >"$TMP/go"
wait $pid || fail "php failed: $(cat "$TMP/php.out")"
cat "$TMP/php.out"
grep -qx "hello from php" "$TMP/php.out" || fail "shmop did not read back what it wrote"
if grep -q "^sysvshm" "$TMP/php.out"; then
	grep -qx "sysvshm 42" "$TMP/php.out" || fail "sysvshm did not read back its variable"
fi
[ -z "$(ns_list)" ] || fail "php left segments: $(ns_list)"
ok "PHP's shmop (and sysvshm) run on the namespace, loaded with RTLD_DEEPBIND"
finish
