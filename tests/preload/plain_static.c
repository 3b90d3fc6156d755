/* SPDX-License-Identifier: MIT */
/* A statically linked program: LD_PRELOAD cannot reach it; shmkit run must say so. */
#include <stdio.h>

int main(void)
{
	puts("static");
	return 0;
}
