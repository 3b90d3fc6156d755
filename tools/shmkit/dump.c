/* SPDX-License-Identifier: MIT */
/* shmkit dump: hexdump -C of an object's bytes, through a read-only mapping. */
#include <getopt.h>
#include <inttypes.h>
#include <string.h>

#include "cli.h"

static void help(void)
{
	printf("Usage: shmkit dump [options] ID|KEY|NAME\n"
	       "Print an object's bytes as 'hexdump -C' does, attached read-only.\n\n"
	       "Options:\n"
	       "  -s, --offset N       start at byte N (suffixes as in 'shmkit mk')\n"
	       "  -n, --length N       dump at most N bytes\n"
	       "  -v, --no-squeezing   print repeated lines instead of '*'\n"
	       "  -k, --kind KIND      look only at this kind (sysv, posix, shmkit)\n"
	       "      --ns NS          look in shmkit namespace NS\n"
	       "  -h, --help           this help\n");
}

static void line(const unsigned char *p, size_t n, uint64_t addr)
{
	printf("%08" PRIx64 " ", addr);
	for (size_t i = 0; i < 16; i++) {
		if (i == 8)
			putchar(' ');
		if (i < n)
			printf(" %02x", p[i]);
		else
			printf("   ");
	}
	printf("  |");
	for (size_t i = 0; i < n; i++)
		putchar(p[i] >= 0x20 && p[i] < 0x7f ? p[i] : '.');
	printf("|\n");
}

static void hexdump(const unsigned char *base, uint64_t start, uint64_t end, bool squeeze)
{
	const unsigned char *prev = NULL;
	bool starred = false;
	for (uint64_t off = start; off < end; off += 16) {
		size_t n = end - off < 16 ? (size_t)(end - off) : 16;
		const unsigned char *cur = base + off;
		if (squeeze && n == 16 && prev && !memcmp(prev, cur, 16)) {
			if (!starred)
				printf("*\n");
			starred = true;
			continue;
		}
		line(cur, n, off);
		prev = n == 16 ? cur : NULL;
		starred = false;
	}
	if (end > start)
		printf("%08" PRIx64 "\n", end);
}

int cmd_dump(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"offset", required_argument, NULL, 's'},
	    {"length", required_argument, NULL, 'n'},
	    {"no-squeezing", no_argument, NULL, 'v'},
	    {"kind", required_argument, NULL, 'k'},
	    {"ns", required_argument, NULL, 'S'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct cli_filter f = {0};
	uint64_t offset = 0, length = UINT64_MAX;
	bool squeeze = true;
	int c;
	while ((c = getopt_long(argc, argv, "s:n:vk:h", opts, NULL)) != -1) {
		int r = cli_filter_opt("dump", &f, c, optarg);
		if (r < 0)
			return EXIT_USAGE;
		if (r)
			continue;
		switch (c) {
		case 's':
			if (cli_parse_size(optarg, &offset) < 0)
				return cli_usage("dump", "invalid offset '%s'", optarg);
			break;
		case 'n':
			if (cli_parse_size(optarg, &length) < 0)
				return cli_usage("dump", "invalid length '%s'", optarg);
			break;
		case 'v':
			squeeze = false;
			break;
		case 'h':
			help();
			return EXIT_OK;
		default:
			return cli_usage("dump", "invalid option '%s'", argv[optind - 1]);
		}
	}
	if (optind + 1 != argc)
		return cli_usage("dump", optind == argc ? "missing ID|KEY|NAME"
		                                        : "expected one ID|KEY|NAME");
	struct shmkit_obj o;
	int r = cli_resolve(argv[optind], f.kinds, f.ns, &o);
	if (r < 0)
		return cli_resolve_error("dump", argv[optind], r);
	struct shmkit_inspect_view v;
	r = shmkit_inspect_map(&o, &v);
	if (r < 0) {
		cli_warn("dump", "cannot attach '%s' read-only: %s", argv[optind], strerror(-r));
		return EXIT_FAIL;
	}
	int rc = EXIT_OK;
	if (offset > v.size) {
		cli_warn("dump", "offset %" PRIu64 " is past the end (%" PRIu64 " bytes)", offset,
		         v.size);
		rc = EXIT_FAIL;
	} else {
		uint64_t end = length > v.size - offset ? v.size : offset + length;
		hexdump(v.addr, offset, end, squeeze);
	}
	shmkit_inspect_unmap(&v);
	return rc;
}
