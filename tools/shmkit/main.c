/* SPDX-License-Identifier: MIT */
/* shmkit — see and manage shared-memory objects: kernel System V, POSIX, shmkit namespaces. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *what;
} commands[] = {
    {"ls", cmd_ls, "list shared-memory objects of every kind"},
    {"stat", cmd_stat, "show everything known about one object"},
    {"mk", cmd_mk, "create a segment"},
    {"rm", cmd_rm, "remove objects"},
    {"gc", cmd_gc, "remove orphaned segments"},
    {"limits", cmd_limits, "show limits in force and current usage"},
    {"dump", cmd_dump, "hex dump of an object's bytes (read-only)"},
    {"watch", cmd_watch, "live view of segments and their attach counts"},
    {"ipcs", cmd_ipcs, "util-linux ipcs compatible output"},
    {"run", cmd_run, "run a program on shmkit's System V model"},
    {"bench", cmd_bench, "measure every IPC mechanism side by side on this machine"},
    {"heap", cmd_heap, "check a shmkit heap, list its named objects"},
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: shmkit [--version] [--help] COMMAND [ARGS]\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].what);
	fprintf(f, "\nRun 'shmkit COMMAND --help' for a command's options. See shmkit(1).\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("shmkit %s\n", shmkit_version());
		return EXIT_OK;
	}
	/* Every wait of ours for a namespace's lock ends with $SHMKIT_NS_TIMEOUT. */
	shmkit_ns_set_wait((uint64_t)(cli_ns_timeout() * 1e9));
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name)) {
			cli_getopt_reset();
			return commands[i].fn(argc - 1, argv + 1);
		}
	fprintf(stderr, "shmkit: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
