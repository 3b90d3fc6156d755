/* SPDX-License-Identifier: MIT */
/*
 * shmkit gc: remove orphaned segments — nobody attached and the creator gone. The creator
 * counts as gone when its pid names no process, or a process that started after the segment's
 * ctime (the pid was reused). Each candidate is checked again just before removal.
 */
#include <errno.h>
#include <getopt.h>
#include <string.h>
#include <sys/shm.h>

#include "cli.h"

static void help(void)
{
	printf("Usage: shmkit gc [options] [filters]\n"
	       "Remove orphaned segments: no process attached and the creating process gone\n"
	       "(PID-reuse safe). Segments someone is attached to are never touched. POSIX\n"
	       "objects record no creator and are never collected.\n\n"
	       "Options:\n"
	       "  -n, --dry-run        only say what would be removed\n"
	       "%s"
	       "  -h, --help           this help\n",
	       cli_filter_help);
}

/* The kernel's view right now: the same segment, still unattached, creator still gone. */
static bool still_orphaned(const struct shmkit_obj *o)
{
	struct shmid_ds ds;
	if (shmctl(o->id, IPC_STAT, &ds) < 0)
		return false;
	if (ds.shm_nattch != 0 || ds.shm_cpid != o->cpid || ds.shm_ctime != o->ctime)
		return false;
	int r = shmkit_inspect_pid_started_after(o->cpid, o->ctime);
	return r == 1 || r == -ESRCH;
}

static int collect(struct cli_objs *objs, bool dry_run)
{
	int failed = 0;
	for (size_t i = 0; i < objs->n; i++) {
		const struct shmkit_obj *o = &objs->v[i];
		if (!(o->flags & SHMKIT_OBJ_ORPHANED) || o->nattch)
			continue;
		if (o->kind != SHMKIT_KIND_SYSV)
			continue;
		char d[400];
		cli_describe(o, d, sizeof(d));
		if (dry_run) {
			printf("would remove %s (creator pid %d gone)\n", d, o->cpid);
			continue;
		}
		if (!still_orphaned(o))
			continue;
		if (cli_remove("gc", o) < 0) {
			failed++;
			continue;
		}
		printf("removed %s (creator pid %d gone)\n", d, o->cpid);
	}
	return failed ? EXIT_FAIL : EXIT_OK;
}

int cmd_gc(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"dry-run", no_argument, NULL, 'n'},
	    {"help", no_argument, NULL, 'h'},
	    CLI_FILTER_OPTS,
	    {NULL, 0, NULL, 0},
	};
	struct cli_filter f = {0};
	bool dry_run = false;
	int c;
	while ((c = getopt_long(argc, argv, "nh" CLI_FILTER_SHORT, opts, NULL)) != -1) {
		int r = cli_filter_opt("gc", &f, c, optarg);
		if (r < 0)
			return EXIT_USAGE;
		if (r)
			continue;
		if (c == 'n') {
			dry_run = true;
		} else if (c == 'h') {
			help();
			return EXIT_OK;
		} else {
			return cli_usage("gc", "invalid option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage("gc", "unexpected argument '%s'", argv[optind]);
	struct cli_objs objs;
	int r = cli_collect(&f, &objs);
	if (r < 0) {
		cli_warn("gc", "cannot list objects: %s", strerror(-r));
		return EXIT_FAIL;
	}
	int rc = collect(&objs, dry_run);
	cli_objs_free(&objs);
	return rc;
}
