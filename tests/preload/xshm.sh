#!/bin/bash
# X11 MIT-SHM under `shmkit run`: Xvfb and a client doing XShmPutImage/XShmGetImage share a
# segment through the namespace (the server attaches it by id), and the kernel never sees it.
#   xshm.sh SHMKIT PRELOAD HELPER CLIENT
SHMKIT=$1 PRELOAD=$2 HELPER=$3 CLIENT=$4
. "$(dirname "$0")/lib.sh"
command -v Xvfb >/dev/null || skip "Xvfb is not installed (Debian package xvfb)"
[ -x "$CLIENT" ] || skip "the client was not built (libx11-dev, libxext-dev)"
run=("$SHMKIT" run -n "$NS" --)
disp=$((90 + RANDOM % 100))
"${run[@]}" Xvfb ":$disp" -ac -nolisten tcp -screen 0 320x240x24 >"$TMP/xvfb.log" 2>&1 &
xpid=$!
trap 'kill $xpid 2>/dev/null; wait $xpid 2>/dev/null; cleanup' EXIT
for _ in $(seq 200); do
	[ -e "/tmp/.X11-unix/X$disp" ] && break
	sleep 0.05
done
[ -e "/tmp/.X11-unix/X$disp" ] || { cat "$TMP/xvfb.log" >&2; fail "Xvfb did not start"; finish; }
out=$(DISPLAY=":$disp" "${run[@]}" "$CLIENT" 2>&1) || fail "the client failed: $out"
echo "$out"
echo "$out" | grep -q "0 of 4096 pixels came back wrong" || fail "the image did not survive: $out"
echo "$out" | grep -q "is not in the kernel's table" || fail "the segment went to the kernel"
ok "Xvfb and an XShmPutImage/XShmGetImage client share a segment on shmkit"
# And with the server on the kernel, the same client fails cleanly instead of mixing tables.
kill $xpid
wait $xpid 2>/dev/null
finish
