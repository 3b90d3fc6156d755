/* SPDX-License-Identifier: MIT */
/*
 * shmkit gc: remove orphaned segments — nobody attached and the creator gone. The creator
 * counts as gone when its pid names no process, or a process that started after the segment's
 * ctime (the pid was reused). Each candidate is checked again just before removal.
 *
 * Channels are named objects, like POSIX objects: one nobody uses is not garbage, and gc never
 * removes a channel. What it removes is a channel's directory that has had no ring for
 * CHAN_GRACE seconds: what a creator that died half-way through shmkit_chan_create() leaves,
 * which keeps the name from being made again. A creator alive makes its ring within
 * moments, and every step of it changes the directory.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/shm.h>
#include <time.h>

#include "cli.h"

#define CHAN_GRACE 60 /* seconds */

static void help(void)
{
	printf("Usage: shmkit gc [options] [filters]\n"
	       "Remove orphaned segments: no process attached and the creating process gone\n"
	       "(PID-reuse safe). Segments someone is attached to are never touched. POSIX\n"
	       "objects record no creator and are never collected. Channels are never\n"
	       "collected either; only a channel's directory that has had no ring for %d\n"
	       "seconds (its creator died while making it) is removed.\n\n"
	       "Options:\n"
	       "  -n, --dry-run        only say what would be removed\n"
	       "%s"
	       "  -h, --help           this help\n",
	       CHAN_GRACE, cli_filter_help);
}

/* A candidate looked for again. A walk returns how many it visited when nothing stops it, so
 * "found" is said here, never by the walk's value. */
struct still {
	const struct shmkit_obj *o;
	bool found;
};

static int same_segment(const struct shmkit_obj *now, void *arg)
{
	struct still *w = arg;
	const struct shmkit_obj *o = w->o;
	w->found = now->id == o->id && now->cpid == o->cpid && now->ctime == o->ctime &&
	           now->nattch == 0 && (now->flags & SHMKIT_OBJ_ORPHANED);
	return w->found; /* stops the walk */
}

/* Looked at again right now: the same segment, still unattached, its creator still gone. */
static bool still_orphaned(const struct shmkit_obj *o)
{
	struct shmkit_inspect_filter f = {.kinds = o->kind, .ns = o->ns[0] ? o->ns : NULL};
	struct still w = {o, false};
	shmkit_inspect_list(&f, same_segment, &w);
	return w.found;
}

/* What dead processes left in every namespace (attachments, unclaimed objects), and what
 * destroyed namespaces left. Returns how many namespaces could not be collected. */
static int collect_namespaces(const struct cli_filter *f, bool dry_run)
{
	char(*names)[SHMKIT_NS_NAME_MAX + 1] = NULL;
	int n = 1, failed = 0;
	if (dry_run || (f->kinds && !(f->kinds & SHMKIT_KIND_SHMKIT)))
		return 0; /* --kind without shmkit: no namespace is looked at */
	if (!f->ns) {
		n = shmkit_ns_list(NULL, 0);
		names = n > 0 ? calloc((size_t)n + 16, sizeof(*names)) : NULL;
		n = names ? shmkit_ns_list(names, (size_t)n + 16) : 0;
		n = n < 0 ? 0 : n;
	}
	for (int i = 0; i < n; i++) {
		const char *ns = names ? names[i] : f->ns;
		int r = shmkit_ns_gc(ns);
		if (r > 0)
			printf("collected %d segment%s of dead processes in namespace %s\n", r,
			       r == 1 ? "" : "s", ns);
		else if (r < 0 && r != -EACCES && r != -ENOENT)
			cli_ns_error("gc", ns, r), failed++;
	}
	free(names);
	int gone = shmkit_ns_gc_destroyed();
	if (gone > 0)
		printf("removed what %d destroyed namespace%s left\n", gone, gone == 1 ? "" : "s");
	return failed;
}

static int same_incomplete(const struct shmkit_obj *now, void *arg)
{
	struct still *w = arg;
	w->found = !strcmp(now->name, w->o->name) && (now->flags & SHMKIT_OBJ_INCOMPLETE) &&
	           now->ctime == w->o->ctime;
	return w->found; /* stops the walk */
}

static int list_incomplete(void *w)
{
	struct shmkit_inspect_filter f = {.kinds = SHMKIT_KIND_CHAN};
	return shmkit_inspect_list(&f, same_incomplete, w);
}

/* Looked at again right now: still without a ring, and its directory unchanged since. */
static bool still_incomplete(const struct shmkit_obj *o)
{
	struct still w = {o, false};
	cli_guarded(list_incomplete, &w); /* channels are read: see cli_guarded */
	return w.found;
}

/* A channel directory without its ring for CHAN_GRACE seconds: 1 removed, 0 not, -1 failed. */
static int collect_chan(const struct shmkit_obj *o, bool dry_run)
{
	char since[64];
	if (!(o->flags & SHMKIT_OBJ_INCOMPLETE) || time(NULL) - o->ctime < CHAN_GRACE)
		return 0;
	cli_time_string(o->ctime, since, sizeof(since));
	if (dry_run) {
		printf("would remove chan %s (no ring since %s)\n", o->name, since);
		return 0;
	}
	if (!still_incomplete(o))
		return 0;
	if (cli_remove("gc", o) < 0)
		return -1;
	printf("removed chan %s (no ring since %s)\n", o->name, since);
	return 1;
}

static int collect(struct cli_objs *objs, bool dry_run)
{
	int failed = 0;
	for (size_t i = 0; i < objs->n; i++) {
		const struct shmkit_obj *o = &objs->v[i];
		if (o->kind == SHMKIT_KIND_CHAN) {
			failed += collect_chan(o, dry_run) < 0;
			continue;
		}
		if (!(o->flags & SHMKIT_OBJ_ORPHANED) || o->nattch)
			continue;
		if (o->kind == SHMKIT_KIND_POSIX)
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
	/* A namespace that could not be read could not be collected either: fail, saying so. */
	if (cli_report_unreadable("gc", &objs) || collect_namespaces(&f, dry_run))
		rc = EXIT_FAIL;
	cli_objs_free(&objs);
	return rc;
}
