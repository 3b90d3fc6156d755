/* SPDX-License-Identifier: MIT */
/* shmkit — see and manage shared-memory objects. */
#include <stdio.h>
#include <string.h>

#include "shmkit.h"

static void usage(FILE *f)
{
	fprintf(f, "Usage: shmkit [--version] [--help] COMMAND [ARGS]\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("shmkit %s\n", shmkit_version());
		return 0;
	}
	fprintf(stderr, "shmkit: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
