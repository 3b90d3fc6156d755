/* SPDX-License-Identifier: MIT */
/* shmkit limits: the limits in force and current usage, like lsipc -g and ipcs -l. */
#include <getopt.h>
#include <inttypes.h>
#include <string.h>
#include <sys/statvfs.h>

#include "cli.h"

static void help(void)
{
	printf("Usage: shmkit limits [options]\n"
	       "Show the System V shared-memory limits in force, current usage, and the size\n"
	       "and usage of /dev/shm.\n\n"
	       "Options:\n"
	       "  -b, --bytes          sizes in bytes rather than human-readable\n"
	       "      --ns NS          the limits and usage of shmkit namespace NS instead\n"
	       "  -h, --help           this help\n");
}

struct row {
	const char *res, *desc;
	bool has_used, bytes;
	uint64_t used, limit;
};

static void size_cell(uint64_t v, bool bytes, bool human, char *buf, size_t len)
{
	if (bytes && human)
		cli_human_size(v, buf, len);
	else
		snprintf(buf, len, "%" PRIu64, v);
}

static void print_row(const struct row *r, bool human)
{
	char used[32] = "-", pct[16] = "-", lim[32];
	if (r->has_used) {
		size_cell(r->used, r->bytes, human, used, sizeof(used));
		if (r->limit)
			snprintf(pct, sizeof(pct), "%.2f%%",
			         100.0 * (double)r->used / (double)r->limit);
	}
	size_cell(r->limit, r->bytes, human, lim, sizeof(lim));
	printf("%-8s %-42s %10s %7s %20s\n", r->res, r->desc, used, pct, lim);
}

int cmd_limits(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"bytes", no_argument, NULL, 'b'},
	    {"ns", required_argument, NULL, 'S'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	bool human = true;
	const char *ns = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "bh", opts, NULL)) != -1) {
		if (c == 'b') {
			human = false;
		} else if (c == 'S') {
			if (!cli_ns_valid(optarg))
				return cli_usage("limits", "invalid namespace name '%s'", optarg);
			ns = optarg;
		} else if (c == 'h') {
			help();
			return EXIT_OK;
		} else {
			return cli_usage("limits", "invalid option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage("limits", "unexpected argument '%s'", argv[optind]);
	struct shmkit_inspect_limits l;
	int r = shmkit_inspect_limits(ns ? SHMKIT_KIND_SHMKIT : SHMKIT_KIND_SYSV, ns, &l);
	if (r < 0) {
		if (ns)
			cli_ns_error("limits", ns, r);
		else
			cli_warn("limits", "cannot read the kernel's limits: %s", strerror(-r));
		return EXIT_FAIL;
	}
	const struct row rows[] = {
	    {"SHMMNI", "Shared memory segments", true, false, l.used_ids, l.shmmni},
	    {"SHMALL", "Shared memory pages", true, false, l.shm_tot, l.shmall},
	    {"SHMMAX", "Max size of shared memory segment (bytes)", false, true, 0, l.shmmax},
	    {"SHMMIN", "Min size of shared memory segment (bytes)", false, true, 0, l.shmmin},
	};
	printf("%-8s %-42s %10s %7s %20s\n", "RESOURCE", "DESCRIPTION", "USED", "USE%", "LIMIT");
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		print_row(&rows[i], human);
	struct statvfs vfs;
	if (!ns && statvfs("/dev/shm", &vfs) == 0) {
		uint64_t total = (uint64_t)vfs.f_blocks * vfs.f_frsize;
		uint64_t used = total - (uint64_t)vfs.f_bfree * vfs.f_frsize;
		struct row posix = {"DEVSHM", "POSIX objects in /dev/shm (bytes)", true, true, used,
		                    total};
		print_row(&posix, human);
	}
	printf("\nshm_rmid_forced = %d (%s)\n", l.rmid_forced,
	       l.rmid_forced ? "unattached segments are destroyed"
	                     : "segments persist until removed");
	printf("page size = %" PRIu64 " bytes\n", l.page_size);
	return EXIT_OK;
}
