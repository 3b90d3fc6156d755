#!/bin/sh
# install.sh BUILD_DIR — `make install` into a staging DESTDIR, then use what was installed the
# way a user would: pkg-config and CMake's find_package, from C and from C++; the shared
# library exports shmkit_* only; the CLI, man pages, the interposer and shmkit bench are in place.
set -eu
build=$1
src=$(cd "$(dirname "$0")/../.." && pwd)
stage=$(mktemp -d "${TMPDIR:-/tmp}/shmkit-install.XXXXXX")
trap 'rm -rf "$stage"' EXIT
prefix=/opt/shmkit-test

DESTDIR=$stage cmake --install "$build" --prefix "$prefix" >/dev/null
root=$stage$prefix
libdir=$(ls -d "$root"/lib* | head -1)
fail() { echo "install: $*" >&2; exit 1; }

for f in include/shmkit.h include/shmkit/sysv.h bin/shmkit share/man/man1/shmkit.1 \
	share/man/man3/shmkit_sysv.3; do
	[ -e "$root/$f" ] || fail "missing $f"
done
[ -e "$libdir/libshmkit.so" ] && [ -e "$libdir/libshmkit.a" ] || fail "missing libraries"
[ -e "$libdir/pkgconfig/shmkit.pc" ] || fail "missing shmkit.pc"
[ -e "$libdir/cmake/shmkit/shmkitConfig.cmake" ] || fail "missing the CMake package"

# Only shmkit_* leaves the shared library.
leaked=$(nm -D --defined-only "$libdir/libshmkit.so" | awk '{print $3}' |
	grep -v -e '^shmkit_' -e '^SHMKIT_' || true)
[ -z "$leaked" ] || fail "exported beyond shmkit_*: $leaked"

cat >"$stage/use.c" <<'C'
#include <shmkit.h>
#include <stdio.h>
#include <string.h>
int main(void)
{
	shmkit_mutex_t m;
	if (shmkit_mutex_init(&m) || shmkit_mutex_lock(&m) || shmkit_mutex_unlock(&m))
		return 1;
	printf("shmkit %s\n", shmkit_version());
	return strcmp(shmkit_version(), "") == 0;
}
C
cp "$stage/use.c" "$stage/use.cc"

# pkg-config, with the staged prefix
export PKG_CONFIG_PATH=$libdir/pkgconfig

cflags=$(pkg-config --cflags shmkit)
libs=$(pkg-config --libs shmkit)
cc -std=c11 -Wall -Werror $cflags "$stage/use.c" $libs -o "$stage/use_c"
c++ -Wall -Werror $cflags "$stage/use.cc" $libs -o "$stage/use_cxx"
LD_LIBRARY_PATH=$libdir "$stage/use_c" >/dev/null || fail "C program failed"
LD_LIBRARY_PATH=$libdir "$stage/use_cxx" >/dev/null || fail "C++ program failed"

# CMake's find_package
mkdir -p "$stage/proj"
cat >"$stage/proj/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.18)
project(use C)
find_package(shmkit REQUIRED)
add_executable(use ../use.c)
target_link_libraries(use shmkit::shmkit)
CM
cmake -S "$stage/proj" -B "$stage/proj/build" -DCMAKE_PREFIX_PATH="$root" >/dev/null
cmake --build "$stage/proj/build" >/dev/null
LD_LIBRARY_PATH=$libdir "$stage/proj/build/use" >/dev/null || fail "CMake-built program failed"

"$root/bin/shmkit" --version >/dev/null || fail "installed CLI does not run"

# shmkit bench finds its harness and the peer plugins that were built, installed in libexec.
[ -x "$root/libexec/shmkit/shmkit-bench" ] || fail "missing libexec/shmkit/shmkit-bench"
list=$("$root/bin/shmkit" bench --list)
for so in "$build"/bench/ipc/shmkit-bench-*.so; do
	[ -e "$so" ] || continue
	[ -e "$root/libexec/shmkit/${so##*/}" ] || fail "missing libexec/shmkit/${so##*/}"
	plugin=${so##*/shmkit-bench-}
	! echo "$list" | grep -q "^${plugin%.so} .*skipped" || fail "installed plugin ${so##*/} not found"
done
"$root/bin/shmkit" bench --only pipe --sizes 64 --duration 0.001 --passes 1 >/dev/null ||
	fail "installed shmkit bench does not run"
echo "install: headers, libraries, pkg-config, CMake package, CLI and man pages work from $prefix"
