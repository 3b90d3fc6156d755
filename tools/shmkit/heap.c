/* SPDX-License-Identifier: MIT */
/*
 * shmkit heap: check a heap, list its named objects; and what ls and stat show of heaps
 * (POSIX objects that hold a shmkit heap, recognised by their header).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define NAMES_SHOWN 100

const char *cli_obj_kind(const struct shmkit_obj *o)
{
	return o->flags & SHMKIT_OBJ_HEAP ? "heap" : cli_kind_name(o->kind);
}

/* Reports of the heaps of one listing, read once each (a table asks for every cell twice). */
static struct {
	const struct shmkit_obj *obj;
	int err;
	struct shmkit_heap_report r;
} cache[32];
static unsigned cache_next;
#define CACHE (sizeof(cache) / sizeof(cache[0]))

const struct shmkit_heap_report *cli_heap_report(const struct shmkit_obj *o)
{
	if (!(o->flags & SHMKIT_OBJ_HEAP))
		return NULL;
	for (size_t i = 0; i < CACHE; i++)
		if (cache[i].obj == o)
			return cache[i].err ? NULL : &cache[i].r;
	unsigned i = cache_next++ % CACHE;
	cache[i].obj = o;
	cache[i].err = shmkit_inspect_heap(o, &cache[i].r);
	return cache[i].err ? NULL : &cache[i].r;
}

static void size_line(const char *label, uint64_t bytes, const char *more)
{
	char buf[32];
	cli_human_size(bytes, buf, sizeof(buf));
	printf("%-12s %" PRIu64 " (%s)%s\n", label, bytes, buf, more);
}

static void print_report(const struct shmkit_heap_report *r)
{
	char max[64], buf[32];
	cli_human_size(r->max_size, buf, sizeof(buf));
	snprintf(max, sizeof(max), r->max_size > r->size ? ", grows to %s" : "", buf);
	size_line("heap size:", r->size, max);
	printf("%-12s %" PRIu64 " in %" PRIu64 " block%s, %" PRIu64 " named\n", "used:", r->used,
	       r->blocks, r->blocks == 1 ? "" : "s", r->named);
	char cached[64] = "";
	if (r->cached)
		snprintf(cached, sizeof(cached), ", %" PRIu64 " of it in handles' caches",
		         r->cached);
	size_line("free:", r->free, cached);
	size_line("largest:", r->largest_free, " (largest free block)");
	size_line("metadata:", r->meta, "");
	size_line("slack:", r->slack, "");
	printf("%-12s %" PRIu64 " bytes in %" PRIu64 " block%s\n", "leaked:", r->leaked,
	       r->leaked_blocks, r->leaked_blocks == 1 ? "" : "s");
	printf("%-12s %" PRIu64 "\n", "damage:", r->damage);
	printf("%-12s %" PRIu64 "\n", "repairs:", r->repairs);
}

static int print_name(const char *name, uint64_t off, uint64_t size, void *arg)
{
	int *n = arg;
	if (++*n > NAMES_SHOWN)
		return 0;
	printf("  %#-12" PRIx64 " %10" PRIu64 "  %s\n", off, size, name);
	return 0;
}

void cli_heap_stat(const struct shmkit_obj *o)
{
	const struct shmkit_heap_report *r = cli_heap_report(o);
	if (!r) {
		printf("%-12s unreadable\n", "heap:");
		return;
	}
	print_report(r);
	int n = 0;
	printf("%-12s %" PRIu64 "\n", "named:", r->named);
	if (shmkit_inspect_heap_names(o, print_name, &n) >= 0 && n > NAMES_SHOWN)
		printf("  ... and %d more\n", n - NAMES_SHOWN);
}

/* ---- shmkit heap ---- */

static void help(void)
{
	printf("Usage: shmkit heap check [--repair] NAME\n"
	       "       shmkit heap names NAME\n"
	       "Check the shmkit heap in the POSIX object NAME (leaks, damage, used and free\n"
	       "bytes), or list its named objects (offset, size, name).\n\n"
	       "check takes every lock of the heap in turn, so its figures are exact while no\n"
	       "process allocates; without write access it reads without locks. With --repair\n"
	       "it also gives back what it finds leaked. Exit status: 0 clean, 1 leaks or\n"
	       "damage (or an error), 2 usage.\n");
}

/* Read-write where the caller may (the check then takes the locks), else read-only. */
static int open_heap(const char *name, shmkit_heap_t **h, bool *rdonly)
{
	int err = shmkit_heap_open(h, name, 0);
	*rdonly = err == -EACCES;
	if (*rdonly)
		err = shmkit_heap_open(h, name, SHMKIT_HEAP_RDONLY);
	if (err)
		cli_warn("heap", "%s: %s", name,
		         err == -EBADMSG ? "not a shmkit heap (or damaged)" : strerror(-err));
	return err;
}

static int heap_check(const char *name, bool repair)
{
	shmkit_heap_t *h;
	bool rdonly;
	struct shmkit_heap_report r;
	if (open_heap(name, &h, &rdonly))
		return EXIT_FAIL;
	if (repair && rdonly) {
		shmkit_heap_close(h);
		cli_warn("heap", "%s: --repair needs write access", name);
		return EXIT_FAIL;
	}
	int c = shmkit_heap_check(h, &r, repair ? SHMKIT_HEAP_CHECK_REPAIR : 0);
	shmkit_heap_close(h);
	if (c < 0 && c != -EBADMSG) {
		cli_warn("heap", "%s: %s", name, strerror(-c));
		return EXIT_FAIL;
	}
	printf("%-12s %s%s\n", "heap:", name, rdonly ? " (read-only: read without locks)" : "");
	print_report(&r);
	printf("%-12s %s%s%s\n", "status:",
	       c == 0   ? "clean"
	       : c == 1 ? "leaks"
	                : "damaged",
	       r.first_problem[0] ? ": " : "", r.first_problem);
	return c == 0 ? EXIT_OK : EXIT_FAIL;
}

static int heap_names(const char *name)
{
	shmkit_heap_t *h;
	bool rdonly;
	int n = 0;
	if (open_heap(name, &h, &rdonly))
		return EXIT_FAIL;
	printf("  %-12s %10s  %s\n", "OFFSET", "SIZE", "NAME");
	int r = shmkit_heap_names(h, print_name, &n);
	shmkit_heap_close(h);
	if (r < 0) {
		cli_warn("heap", "%s: %s", name, strerror(-r));
		return EXIT_FAIL;
	}
	if (n > NAMES_SHOWN)
		printf("  ... and %d more\n", n - NAMES_SHOWN);
	return EXIT_OK;
}

int cmd_heap(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"repair", no_argument, NULL, 'r'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	bool repair = false;
	int c;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		if (c != 'h')
			return cli_usage("heap", "invalid option '%s'", argv[optind - 1]);
		help();
		return EXIT_OK;
	}
	if (optind == argc)
		return cli_usage("heap", "missing subcommand: check or names");
	const char *sub = argv[optind++];
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'r' && !strcmp(sub, "check")) {
			repair = true;
			continue;
		}
		if (c == 'h') {
			help();
			return EXIT_OK;
		}
		return cli_usage("heap", "invalid option '%s'", argv[optind - 1]);
	}
	if (optind + 1 != argc)
		return cli_usage("heap", optind == argc ? "missing NAME" : "expected one NAME");
	if (!strcmp(sub, "check"))
		return heap_check(argv[optind], repair);
	if (!strcmp(sub, "names"))
		return heap_names(argv[optind]);
	return cli_usage("heap", "unknown subcommand '%s' (check, names)", sub);
}
