#!/bin/bash
# Under `shmkit run`, /proc/sys/kernel/shm{max,all,mni,_rmid_forced,_next_id} are the
# namespace's, read and written with cat, echo, sysctl(8) and ipcs -l, as an IPC namespace's
# own files are; the kernel's stay untouched. /proc/sysvipc/shm stays well-formed while it
# grows.   sysctl.sh SHMKIT PRELOAD HELPER
SHMKIT=$1 PRELOAD=$2 HELPER=$3
. "$(dirname "$0")/lib.sh"
run=("$SHMKIT" run -n "$NS" --)
k=/proc/sys/kernel
before=$(cat $k/shmmax $k/shmall $k/shmmni $k/shm_rmid_forced)

[ "$("${run[@]}" cat $k/shmmax)" = "$(cat $k/shmmax)" ] ||
	fail "a fresh namespace should show the kernel's shmmax"
"${run[@]}" sh -c "echo 8192 > $k/shmmax" || fail "writing shmmax failed"
[ "$("${run[@]}" cat $k/shmmax)" = 8192 ] || fail "shmmax did not become 8192"
out=$("${run[@]}" ipcmk -M 9000 2>&1) && fail "a 9000-byte segment was created past shmmax 8192: $out"
"${run[@]}" ipcmk -M 8192 >/dev/null || fail "an 8192-byte segment was refused under shmmax 8192"
for id in $("${run[@]}" awk 'NR > 1 { print $2 }' /proc/sysvipc/shm); do "${run[@]}" ipcrm -m "$id"; done
"${run[@]}" sh -c "echo 1 > $k/shm_rmid_forced" || fail "writing shm_rmid_forced failed"
[ "$("${run[@]}" cat $k/shm_rmid_forced)" = 1 ] || fail "shm_rmid_forced did not become 1"
"${run[@]}" sh -c "echo 2 > $k/shm_rmid_forced" 2>/dev/null &&
	fail "shm_rmid_forced accepted 2 (the kernel's range is 0..1)"
"${run[@]}" sh -c "echo nonsense > $k/shmmni" 2>/dev/null && fail "shmmni accepted nonsense"
"${run[@]}" sh -c "echo 0 > $k/shmmni" || fail "writing shmmni=0 failed"
[ "$("${run[@]}" cat $k/shmmni)" = 0 ] || fail "shmmni 0 reads back as $("${run[@]}" cat $k/shmmni)"
"${run[@]}" sh -c "echo 100 > $k/shmmni"
if command -v sysctl >/dev/null; then
	"${run[@]}" sysctl -q -w kernel.shmall=4242 || fail "sysctl -w kernel.shmall failed"
	[ "$("${run[@]}" sysctl -n kernel.shmall)" = 4242 ] || fail "sysctl -n kernel.shmall"
fi
"${run[@]}" ipcs -l | grep -q "max number of segments = 100" ||
	fail "ipcs -l does not show the namespace's shmmni: $("${run[@]}" ipcs -l)"
"${run[@]}" sh -c "echo $((77 << 15 | 5)) > $k/shm_next_id" || fail "writing shm_next_id failed"
[ "$("${run[@]}" cat $k/shm_next_id)" = $((77 << 15 | 5)) ] || fail "shm_next_id did not stick"
id=$("${run[@]}" ipcmk -M 4096 2>&1)
id=${id##*: }
[ "$id" = $((77 << 15 | 5)) ] || fail "ipcmk's segment got id $id, not the one shm_next_id asked"
[ "$("${run[@]}" cat $k/shm_next_id)" = -1 ] || fail "shm_next_id is used once"
"${run[@]}" ipcrm -m "$id"
[ "$(cat $k/shmmax $k/shmall $k/shmmni $k/shm_rmid_forced)" = "$before" ] ||
	fail "the kernel's own values changed"
ok "the namespace's limits through /proc/sys/kernel: cat, echo, sysctl, ipcs -l, ipcmk"

# /proc/sysvipc/shm while the namespace grows: every row has the kernel's 16 columns.
"${run[@]}" sh -c "echo 0 > $k/shm_rmid_forced; echo 4096 > $k/shmmni"
( for i in $(seq 300); do "${run[@]}" ipcmk -M 4096 >/dev/null 2>&1; done ) &
grower=$!
bad=0
while kill -0 $grower 2>/dev/null; do
	n=$("${run[@]}" awk 'NR > 1 && NF != 16' /proc/sysvipc/shm | wc -l)
	bad=$((bad + n))
done
wait $grower
[ "$bad" = 0 ] || fail "$bad malformed rows in the virtual /proc/sysvipc/shm"
rows=$("${run[@]}" awk 'NR > 1' /proc/sysvipc/shm | wc -l)
[ "$rows" -ge 300 ] || fail "only $rows rows for 300 segments"
for id in $("${run[@]}" awk 'NR > 1 { print $2 }' /proc/sysvipc/shm); do
	"${run[@]}" ipcrm -m "$id"
done
ok "the virtual /proc/sysvipc/shm stays well-formed while segments are created"
finish
