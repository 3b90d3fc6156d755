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
	       "  -k, --kind KIND      look only at this kind (sysv, posix, shmkit, heap, chan)\n"
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

/*
 * hexdump -C of [start, end), read in chunks: a shared object can shrink under us, and then
 * the dump ends where the object now ends (said on stderr) instead of faulting.
 */
static int hexdump(struct shmkit_inspect_reader *r, uint64_t start, uint64_t end, bool squeeze)
{
	unsigned char buf[65536], prev[16];
	bool have_prev = false, starred = false;
	uint64_t off = start;
	while (off < end) {
		size_t want = end - off < sizeof(buf) ? (size_t)(end - off) : sizeof(buf);
		ssize_t n = shmkit_inspect_read(r, off, buf, want);
		if (n <= 0) {
			if (n < 0)
				cli_warn("dump", "read failed at %" PRIu64 ": %s", off,
				         strerror((int)-n));
			else
				cli_warn("dump", "the object shrank to %" PRIu64 " bytes meanwhile",
				         off);
			end = off;
			break;
		}
		for (size_t i = 0; i < (size_t)n; i += 16) {
			size_t len = (size_t)n - i < 16 ? (size_t)n - i : 16;
			const unsigned char *cur = buf + i;
			if (squeeze && len == 16 && have_prev && !memcmp(prev, cur, 16)) {
				if (!starred)
					printf("*\n");
				starred = true;
				continue;
			}
			line(cur, len, off + i);
			have_prev = len == 16;
			if (have_prev)
				memcpy(prev, cur, 16);
			starred = false;
		}
		off += (uint64_t)n;
	}
	if (end > start)
		printf("%08" PRIx64 "\n", end);
	return off < end ? -1 : 0;
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
	struct shmkit_inspect_reader rd;
	r = shmkit_inspect_open(&o, &rd);
	if (r < 0) {
		cli_warn("dump", "cannot read '%s': %s", argv[optind], strerror(-r));
		return EXIT_FAIL;
	}
	int rc = EXIT_OK;
	if (offset > rd.size) {
		cli_warn("dump", "offset %" PRIu64 " is past the end (%" PRIu64 " bytes)", offset,
		         rd.size);
		rc = EXIT_FAIL;
	} else {
		uint64_t end = length > rd.size - offset ? rd.size : offset + length;
		if (hexdump(&rd, offset, end, squeeze) < 0)
			rc = EXIT_FAIL;
	}
	shmkit_inspect_close(&rd);
	return rc;
}
