/* SPDX-License-Identifier: MIT */
/* shmkit run: provided by the interposer; this build does not have it. */
#include <stdio.h>

#include "cli.h"

int cmd_run(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "shmkit run: not available in this build\n");
	return 1;
}
