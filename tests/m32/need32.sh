#!/bin/sh
# need32.sh --why=WHY PROGRAM32 COMMAND...: run COMMAND when this machine has the 32-bit side:
# the build gave no reason WHY not, the 32-bit PROGRAM32 was built, and the kernel runs it. Else
# say why and exit 77 (skip).
why=${1#--why=} prog=$2
shift 2
if [ -n "$why" ]; then
	echo "SKIP: $why"
	exit 77
fi
if [ ! -x "$prog" ]; then
	echo "SKIP: $prog is missing (the 32-bit build failed?)"
	exit 77
fi
"$prog" --usage >/dev/null 2>&1
if [ $? -eq 126 ]; then
	echo "SKIP: this kernel does not run i386 programs (CONFIG_IA32_EMULATION, ia32_emulation=)"
	exit 77
fi
exec "$@"
