/* SPDX-License-Identifier: MIT */
/* shmkit watch: a refreshing view of segments and their attach counts. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "table.h"

static void help(void)
{
	printf("Usage: shmkit watch [options] [filters]\n"
	       "Show the objects and their attach counts, refreshed every interval. On a\n"
	       "terminal the screen is redrawn; otherwise snapshots follow each other,\n"
	       "separated by a blank line.\n\n"
	       "Options:\n"
	       "  -i, --interval S     seconds between refreshes (default 1, may be fractional)\n"
	       "  -c, --count N        stop after N snapshots (default: run until interrupted)\n"
	       "  -b, --bytes          sizes in bytes\n"
	       "%s"
	       "  -h, --help           this help\n",
	       cli_filter_help);
}

static int snapshot(const struct cli_filter *f, const struct table_opts *to, bool tty,
                    double interval, long n)
{
	struct cli_objs objs;
	int r = cli_collect(f, &objs);
	if (r < 0) {
		cli_warn("watch", "cannot list objects: %s", strerror(-r));
		return EXIT_FAIL;
	}
	uint64_t attached = 0;
	for (size_t i = 0; i < objs.n; i++)
		attached += objs.v[i].nattch;
	char now[64];
	cli_time_string(time(NULL), now, sizeof(now));
	if (tty)
		fputs("\033[H\033[2J", stdout);
	else if (n > 0)
		putchar('\n');
	printf("shmkit watch  %s  every %gs  objects: %zu  attachments: %llu\n\n", now, interval,
	       objs.n, (unsigned long long)attached);
	table_print(stdout, to, objs.v, objs.n);
	fflush(stdout);
	cli_objs_free(&objs);
	return EXIT_OK;
}

int cmd_watch(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"interval", required_argument, NULL, 'i'},
	    {"count", required_argument, NULL, 'c'},
	    {"bytes", no_argument, NULL, 'b'},
	    {"help", no_argument, NULL, 'h'},
	    CLI_FILTER_OPTS,
	    {NULL, 0, NULL, 0},
	};
	struct cli_filter f = {0};
	struct table_opts to = {.mode = TABLE_ALIGNED};
	double interval = 1.0;
	long long count = 0;
	int c;
	while ((c = getopt_long(argc, argv, "i:c:bh" CLI_FILTER_SHORT, opts, NULL)) != -1) {
		int r = cli_filter_opt("watch", &f, c, optarg);
		if (r < 0)
			return EXIT_USAGE;
		if (r)
			continue;
		char *end;
		switch (c) {
		case 'i':
			interval = strtod(optarg, &end);
			if (*end || end == optarg || !isfinite(interval) || interval < 0.01 ||
			    interval > 86400)
				return cli_usage("watch", "invalid interval '%s'", optarg);
			break;
		case 'c':
			if (cli_parse_long(optarg, 1, 1000000000, &count) < 0)
				return cli_usage("watch", "invalid count '%s'", optarg);
			break;
		case 'b':
			to.bytes = true;
			break;
		case 'h':
			help();
			return EXIT_OK;
		default:
			return cli_usage("watch", "invalid option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage("watch", "unexpected argument '%s'", argv[optind]);
	table_parse_columns("KIND,KEY,ID,NAME,OWNER,SIZE,NATTCH,STATUS,LPID,ATIME,COMMAND", &to);
	bool tty = isatty(STDOUT_FILENO);
	for (long n = 0; count == 0 || n < count; n++) {
		if (n > 0) {
			time_t whole = (time_t)interval;
			struct timespec ts = {whole, (long)((interval - (double)whole) * 1e9)};
			while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
				;
		}
		int rc = snapshot(&f, &to, tty, interval, n);
		if (rc != EXIT_OK)
			return rc;
	}
	return EXIT_OK;
}
