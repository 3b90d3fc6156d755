#!/bin/bash
# PostgreSQL 15 (a real, unmodified SysV shared-memory user) on shmkit through `shmkit run`:
# its main shared memory (shared_memory_type = sysv) lives in a shmkit namespace, not in the
# kernel. Verified: SQL works, the segment is in the namespace with attachers and not in the
# kernel's table; a backend killed with SIGKILL makes the postmaster reinitialize shared memory
# (it checks shm_nattch of its old segment) and the committed data survives; a clean stop
# leaves nothing behind. Skips (77) without /usr/lib/postgresql/15.
#   postgres.sh SHMKIT PRELOAD HELPER
SHMKIT=$1 PRELOAD=$2 HELPER=$3
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
[ -x "$PGBIN/postgres" ] || { echo "SKIP: no $PGBIN/postgres (package postgresql-15)"; exit 77; }
. "$(dirname "$0")/lib.sh"

# PostgreSQL refuses to run as root: then it runs as user postgres.
if [ "$(id -u)" = 0 ]; then
	id postgres >/dev/null 2>&1 || skip "running as root and there is no user postgres"
	as_pg() { runuser -u postgres -- env SHMKIT_PRELOAD="$SHMKIT_PRELOAD" "$@"; }
	chown postgres "$TMP"
else
	as_pg() { "$@"; }
fi
chmod 755 "$TMP"
for f in "$SHMKIT" "$PRELOAD"; do
	as_pg test -r "$f" || skip "$f is not readable by the postgres user"
done

PORT=$((20000 + $$ % 20000))
DATA="$TMP/data"
SOCK="$TMP"
LOG="$TMP/log"
pg() { as_pg "$SHMKIT" run -n "$NS" -- "$PGBIN/$@"; }
# sql STATEMENT...: each statement is a separate -c, whose result psql prints at once.
sql() {
	local args=()
	for s in "$@"; do args+=(-c "$s"); done
	as_pg "$PGBIN/psql" -X -q -At -h "$SOCK" -p "$PORT" -U postgres -d postgres "${args[@]}"
}
pg_stop() { pg pg_ctl -D "$DATA" -m fast -w -t 30 stop >/dev/null 2>&1; }
# If anything below fails, the server must not outlive the test.
trap 'pg_stop; cleanup' EXIT

pg initdb -D "$DATA" -U postgres --auth=trust --no-sync >"$TMP/initdb.log" 2>&1 ||
	{ cat "$TMP/initdb.log" >&2; fail "initdb failed"; finish; }
cat >>"$DATA/postgresql.conf" <<CONF
shared_memory_type = sysv
dynamic_shared_memory_type = sysv
huge_pages = off
listen_addresses = ''
unix_socket_directories = '$SOCK'
port = $PORT
shared_buffers = 16MB
max_connections = 20
fsync = off
restart_after_crash = on
CONF
pg pg_ctl -D "$DATA" -l "$LOG" -w -t 60 start >/dev/null ||
	{ cat "$LOG" >&2; fail "the server did not start"; finish; }
ok "PostgreSQL started under shmkit run (namespace $NS)"

# ---- SQL works ----
sql "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, 'row ' || g FROM generate_series(1, 1000) g;" ||
	fail "create/insert failed"
got=$(sql "SELECT count(*), sum(id), max(v) FROM t")
[ "$got" = "1000|500500|row 999" ] || fail "query returned '$got'"
ok "created a table, inserted 1000 rows and read them back"

# ---- a parallel query: its workers share dynamic shared memory (also SysV here) ----
got=$(sql "SET max_parallel_workers_per_gather = 2" "SET parallel_setup_cost = 0" \
	"SET parallel_tuple_cost = 0" "SET min_parallel_table_scan_size = 0" \
	"SET parallel_leader_participation = off" \
	"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT sum(id) FROM t" \
	"SELECT sum(id) FROM t")
echo "$got" | grep -q "Workers Launched: [12]" || fail "no parallel worker ran: $got"
[ "$(echo "$got" | tail -1)" = 500500 ] || fail "parallel sum: $got"
ok "a parallel query ran with workers on dynamic SysV shared memory"

# ---- its segment is shmkit's, not the kernel's ----
# postmaster.pid line 7: the shared memory key and id.
read -r key id < <(sed -n 7p "$DATA/postmaster.pid")
hexkey=$(printf '0x%08x' "$key")
seg=$(ns_list | awk -v k="$hexkey" '$1 == k')
[ -n "$seg" ] || fail "segment $hexkey not in the namespace: $(ns_list)"
set -- $seg
[ "$2" -gt 0 ] || fail "segment $hexkey has nattch $2"
ok "main shared memory $hexkey ($3 bytes) is in namespace $NS with nattch $2"
in_kernel "$hexkey" && fail "segment $hexkey is in the kernel's table"
ipcs -m -p | awk 'NR > 3 { print $3 }' | grep -qx "$(head -1 "$DATA/postmaster.pid")" &&
	fail "the postmaster created a kernel segment"
out=$(as_pg "$SHMKIT" run -n "$NS" -- ipcs -m)
echo "$out" | grep -qi "^$hexkey " || fail "ipcs under shmkit run does not show $hexkey: $out"
ok "not in the kernel's table; ipcs under shmkit run shows it"

mainsize=$3

# After a crash: one main segment again, and no segment nobody is attached to (the dead
# server's segments, main and dynamic, were removed rather than leaked).
check_segments() {
	local segs
	segs=$(ns_list)
	[ "$(echo "$segs" | awk -v s="$mainsize" '$3 == s' | wc -l)" = 1 ] ||
		fail "$1: not exactly one main segment: $segs"
	echo "$segs" | awk '$2 == 0' | grep -q . && fail "$1: unattached segments left: $segs"
}

# ---- a backend killed with SIGKILL: crash recovery ----
sql "SELECT pg_backend_pid()" "SELECT pg_sleep(60)" >"$TMP/session" 2>&1 &
session=$!
wait_lines "$TMP/session" 1
victim=$(head -1 "$TMP/session")
case "$victim" in '' | *[!0-9]*) fail "no backend pid: '$victim'"; finish ;; esac
kill -9 "$victim"
wait $session
ok=0
for _ in $(seq 300); do
	if grep -q "all server processes terminated; reinitializing" "$LOG" &&
		[ "$(sql 'SELECT 1' 2>/dev/null)" = 1 ]; then
		ok=1
		break
	fi
	sleep 0.1
done
[ $ok = 1 ] || { tail -20 "$LOG" >&2; fail "no recovery after killing backend $victim"; }
grep -q "server process (PID $victim) was terminated by signal 9" "$LOG" ||
	fail "the log does not show backend $victim killed by signal 9"
got=$(sql "SELECT count(*), sum(id), max(v) FROM t")
[ "$got" = "1000|500500|row 999" ] || fail "after recovery the query returned '$got'"
sql "INSERT INTO t VALUES (1001, 'after recovery')" || fail "insert after recovery failed"
[ "$(sql 'SELECT count(*) FROM t')" = 1001 ] || fail "insert after recovery not visible"
check_segments "after recovery"
ok "killed backend $victim; the postmaster reinitialized shared memory; data intact"

# ---- the whole server killed with SIGKILL: a restart must find the old segment unused ----
# At start the postmaster looks up the segment named in postmaster.pid and refuses to start
# while its shm_nattch says someone is attached: dead processes must not count.
pm=$(head -1 "$DATA/postmaster.pid")
procs="$pm $(ps -o pid= --ppid "$pm" | tr '\n' ' ')"
kill -9 $procs
for _ in $(seq 100); do
	alive=0
	for p in $procs; do kill -0 "$p" 2>/dev/null && alive=1; done
	[ $alive = 0 ] && break
	sleep 0.05
done
[ $alive = 0 ] || fail "server processes survived SIGKILL"
# (pg_ctl notes the stale postmaster.pid on stderr.)
pg pg_ctl -D "$DATA" -l "$LOG" -w -t 60 start >/dev/null 2>&1 ||
	{ tail -20 "$LOG" >&2; fail "no restart after the whole server was killed"; }
[ "$(sql 'SELECT count(*) FROM t')" = 1001 ] || fail "after the restart the data is not intact"
check_segments "after the restart"
ok "killed the postmaster and all its processes; it restarted over its old segment"

# ---- clean stop: nothing left ----
pg_stop || fail "pg_ctl stop failed"
[ ! -e "$DATA/postmaster.pid" ] || fail "the server is still running"
left=$(ns_list)
[ -z "$left" ] || fail "segments left in the namespace after stop: $left"
in_kernel "$hexkey" && fail "segment $hexkey is in the kernel's table after stop"
ok "stopped cleanly; no segment left"
echo "--- the server's log about the crashes ---"
grep -E "terminated by signal|reinitializing|database system is ready|was interrupted" "$LOG"
trap 'cleanup' EXIT
finish
