/* SPDX-License-Identifier: MIT */
/* shmkit ls: one table of every shared-memory object, in lsipc's conventions. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "table.h"

static const char *const default_columns =
    "KIND,KEY,ID,NAME,OWNER,PERMS,SIZE,NATTCH,STATUS,CTIME,CPID,LPID,COMMAND";
/* When heaps or channels are listed, their figures follow SIZE. */
static const char *const first_columns = "KIND,KEY,ID,NAME,OWNER,PERMS,SIZE";
static const char *const heap_columns = ",USED,FREE,LARGEST,NAMED";
static const char *const chan_columns = ",TYPE,CAPACITY,MSGSIZE,DEPTH,SENDERS,RECEIVERS";
static const char *const last_columns = ",NATTCH,STATUS,CTIME,CPID,LPID,COMMAND";

/* The default columns for these objects. */
static void pick_columns(const struct cli_objs *objs, struct table_opts *to)
{
	bool heaps = false, chans = false;
	for (size_t i = 0; i < objs->n; i++) {
		heaps |= (objs->v[i].flags & SHMKIT_OBJ_HEAP) != 0;
		chans |= objs->v[i].kind == SHMKIT_KIND_CHAN;
	}
	char list[256];
	snprintf(list, sizeof(list), "%s%s%s%s", first_columns, heaps ? heap_columns : "",
	         chans ? chan_columns : "", last_columns);
	table_parse_columns(list, to);
}

static void help(void)
{
	printf("Usage: shmkit ls [options]\n"
	       "List kernel System V segments, POSIX objects in /dev/shm, shmkit channels and\n"
	       "shmkit segments. POSIX objects that hold a shmkit heap are shown as kind heap,\n"
	       "with their USED, FREE, LARGEST and NAMED figures; channels (kind chan) with\n"
	       "their TYPE, CAPACITY, MSGSIZE, DEPTH, SENDERS and RECEIVERS.\n\n"
	       "Options:\n"
	       "  -J, --json           JSON output\n"
	       "  -r, --raw            unaligned output, one object per line\n"
	       "  -n, --noheadings     no header line\n"
	       "  -o, --output LIST    columns to show (default: %s)\n"
	       "  -b, --bytes          sizes in bytes rather than human-readable\n"
	       "%s"
	       "  -h, --help           this help\n\n"
	       "Columns:\n",
	       default_columns, cli_filter_help);
	table_print_columns(stdout);
}

int cmd_ls(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'J'},
	    {"raw", no_argument, NULL, 'r'},
	    {"noheadings", no_argument, NULL, 'n'},
	    {"output", required_argument, NULL, 'o'},
	    {"bytes", no_argument, NULL, 'b'},
	    {"help", no_argument, NULL, 'h'},
	    CLI_FILTER_OPTS,
	    {NULL, 0, NULL, 0},
	};
	struct cli_filter f = {0};
	struct table_opts to = {.mode = TABLE_ALIGNED};
	const char *columns = default_columns;
	int c;
	while ((c = getopt_long(argc, argv, "Jrno:bh" CLI_FILTER_SHORT, opts, NULL)) != -1) {
		int r = cli_filter_opt("ls", &f, c, optarg);
		if (r < 0)
			return EXIT_USAGE;
		if (r)
			continue;
		switch (c) {
		case 'J':
			to.mode = TABLE_JSON;
			break;
		case 'r':
			to.mode = TABLE_RAW;
			break;
		case 'n':
			to.noheadings = true;
			break;
		case 'o':
			columns = optarg;
			break;
		case 'b':
			to.bytes = true;
			break;
		case 'h':
			help();
			return EXIT_OK;
		default:
			return cli_usage("ls", "invalid option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage("ls", "unexpected argument '%s'", argv[optind]);
	if (table_parse_columns(columns, &to) < 0)
		return cli_usage("ls", "invalid column list '%s'", columns);

	struct cli_objs objs;
	int r = cli_collect(&f, &objs);
	if (r < 0) {
		cli_warn("ls", "cannot list objects: %s", strerror(-r));
		return EXIT_FAIL;
	}
	if (columns == default_columns)
		pick_columns(&objs, &to);
	table_print(stdout, &to, objs.v, objs.n);
	/* A namespace that could not be read is said so, and fails the listing. */
	int rc = cli_report_unreadable("ls", &objs) ? EXIT_FAIL : EXIT_OK;
	cli_objs_free(&objs);
	return rc;
}
