#!/bin/sh
# deps.sh GROUP... — install the Debian packages a make target needs, saying what it installs.
# Groups: build (compiling the library), check (tests, with m32: the 32-bit build the tests
# drive), bench (benchmarks and plots).
set -eu
pkgs_build="pkg-config"
# The bench tests use the peers when they are there (and skip them when not): a few MB.
pkgs_peers="libck-dev libzmq3-dev libnng-dev iceoryx libiceoryx-binding-c-dev"
# The 32-bit build beside the 64-bit one (tests/m32): a multilib compiler and the i386 libc.
pkgs_m32="gcc-multilib libc6-dev-i386 libc6-i386"
# The Python package's tests: Debian's interpreter with cffi and pytest.
pkgs_python="python3 python3-cffi python3-pytest"
pkgs_check="pkg-config libcriterion-dev util-linux procps bsdextrautils spin postgresql-15 php-cli xvfb libx11-dev libxext-dev $pkgs_python $pkgs_peers $pkgs_m32"
pkgs_bench="pkg-config gnuplot-nox libboost-dev $pkgs_peers"
want=""
for g in "$@"; do
	eval "want=\"\$want \$pkgs_$g\""
done
missing=""
for p in $want; do
	case " $missing " in *" $p "*) continue ;; esac
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0
echo "shmkit: installing Debian packages:$missing"
if [ "$(id -u)" != 0 ]; then
	echo "shmkit: not root; run: sudo apt-get install$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
case " $missing " in
*" postgresql-15 "*)
	# The integration test runs its own server in a temporary directory: no system cluster.
	mkdir -p /etc/postgresql-common/createcluster.d
	echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.d/shmkit.conf
	;;
esac
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "shmkit: installed:$missing"
