/* SPDX-License-Identifier: MIT */
/*
 * shmkit-bench: every IPC mechanism a user could pick, measured side by side on this
 * machine. `shmkit bench` execs this program (installed in libexec). See bench/README.md.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define EXIT_USAGE 2

static const char default_sizes[] = "8,64,1K,4K,64K,1M,4M";

static void usage(FILE *f)
{
	fprintf(f,
	        "Usage: shmkit bench [options]\n"
	        "\n"
	        "Measure every IPC mechanism side by side on this machine: round-trip latency\n"
	        "(p50, p99, p99.9, max), one-way throughput and CPU cost, two processes pinned\n"
	        "to two CPUs, every message checked.\n"
	        "\n"
	        "Options:\n"
	        "  -q, --quick           a short run (under a minute): 1 pass, 0.025 s per case\n"
	        "  -s, --sizes LIST      message sizes, e.g. 8,64,1K,4K,64K,1M,4M (the default)\n"
	        "  -o, --only LIST       transports to run: names or patterns, e.g. 'pipe,unix-*'\n"
	        "  -d, --duration S      nominal seconds per transport, size and mode (default 1)\n"
	        "  -p, --passes N        split every case into N interleaved passes (default 5)\n"
	        "  -j, --json            print every figure and the machine as JSON\n"
	        "      --plot DIR        write gnuplot charts (PNG and SVG) into DIR\n"
	        "      --markdown FILE   write the report as markdown (make bench)\n"
	        "  -r, --ratio A/B@SIZE:METRIC\n"
	        "                        also report a ratio; metrics: rt_p50 rt_p99 rt_p999\n"
	        "                        tp_msgs tp_gbps cpu_rt cpu_tp\n"
	        "  -l, --list            list the transports and whether they can run here\n"
	        "  -h, --help            show this help\n"
	        "\n"
	        "Exit status: 0 all measured (or skipped), 1 a case failed, 2 bad arguments.\n");
}

__attribute__((format(printf, 1, 2))) static int bad(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "shmkit bench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	usage(stderr);
	return -1;
}

static int parse_sizes(struct bt_config *cfg, const char *list)
{
	char *dup = strdup(list), *save = NULL;
	cfg->nsizes = 0;
	for (char *tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		size_t v;
		if (cfg->nsizes == BT_MAX_SIZES || bt_size_parse(tok, &v) < 0 || v < 8 ||
		    v > BT_SIZE_MAX) {
			free(dup);
			return bad("invalid --sizes '%s' (8 B .. 64 MiB, at most 24 sizes)", list);
		}
		cfg->sizes[cfg->nsizes++] = v;
	}
	free(dup);
	return cfg->nsizes ? 0 : bad("invalid --sizes '%s'", list);
}

static int parse_only(struct bt_config *cfg, char *list)
{
	char *save = NULL;
	for (char *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (cfg->nonly == BT_MAX_ONLY)
			return bad("too many --only patterns");
		cfg->only[cfg->nonly++] = tok;
	}
	return cfg->nonly ? 0 : bad("empty --only");
}

/* "A/B@SIZE:METRIC" */
static int parse_ratio(struct bt_config *cfg, char *spec)
{
	char *slash = strchr(spec, '/'), *at = strchr(spec, '@'), *colon = strrchr(spec, ':');
	struct bt_ratio *r = &cfg->extra[cfg->nextra];
	if (cfg->nextra == BT_MAX_RATIOS || !slash || !at || !colon || !(slash < at && at < colon))
		return bad("invalid --ratio '%s' (A/B@SIZE:METRIC)", spec);
	*slash = *at = *colon = '\0';
	r->a = spec;
	r->b = slash + 1;
	r->what = "requested with --ratio";
	if (bt_size_parse(at + 1, &r->size) < 0 || bt_metric_parse(colon + 1, &r->metric) < 0)
		return bad("invalid --ratio size or metric '%s'", at + 1);
	cfg->nextra++;
	return 0;
}

static int parse_number(const char *s, double lo, double hi, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= lo && v <= hi))
		return -1;
	*out = v;
	return 0;
}

static int parse_args(struct bt_config *cfg, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"quick", no_argument, NULL, 'q'},        {"sizes", required_argument, NULL, 's'},
	    {"only", required_argument, NULL, 'o'},   {"duration", required_argument, NULL, 'd'},
	    {"passes", required_argument, NULL, 'p'}, {"json", no_argument, NULL, 'j'},
	    {"plot", required_argument, NULL, 'P'},   {"markdown", required_argument, NULL, 'M'},
	    {"ratio", required_argument, NULL, 'r'},  {"list", no_argument, NULL, 'l'},
	    {"help", no_argument, NULL, 'h'},         {0},
	};
	/* The command as typed, before parsing cuts the lists (where the report goes is left
	 * out: it is not how the figures were made). */
	size_t off = 0;
	for (int i = 0; i < argc && off < sizeof(cfg->command); i++) {
		if (!strcmp(argv[i], "--markdown") && i + 1 < argc) {
			i++;
			continue;
		}
		off += (size_t)snprintf(cfg->command + off, sizeof(cfg->command) - off, "%s%s",
		                        i ? " " : "", i ? argv[i] : "shmkit bench");
	}
	double duration = 0, passes = 0;
	const char *sizes = default_sizes;
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":qs:o:d:p:jr:lh", opts, NULL)) != -1) {
		int r = 0;
		switch (c) {
		case 'q':
			cfg->quick = true;
			break;
		case 's':
			sizes = optarg;
			break;
		case 'o':
			r = parse_only(cfg, optarg);
			break;
		case 'd':
			if (parse_number(optarg, 1e-4, 3600, &duration) < 0)
				r = bad("invalid --duration '%s' (seconds, 0.0001 .. 3600)",
				        optarg);
			break;
		case 'p':
			if (parse_number(optarg, 1, 100, &passes) < 0 || passes != (int)passes)
				r = bad("invalid --passes '%s' (1 .. 100)", optarg);
			break;
		case 'j':
			cfg->json = true;
			break;
		case 'P':
			cfg->plot_dir = optarg;
			break;
		case 'M':
			cfg->markdown = optarg;
			break;
		case 'r':
			r = parse_ratio(cfg, optarg);
			break;
		case 'l':
			cfg->list = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case ':':
			r = bad("option '%s' needs an argument", argv[optind - 1]);
			break;
		default:
			r = bad("invalid option '%s'", argv[optind - 1]);
			break;
		}
		if (r < 0)
			return -1;
	}
	if (optind < argc)
		return bad("unexpected argument '%s'", argv[optind]);
	if (parse_sizes(cfg, sizes) < 0)
		return -1;
	cfg->duration = duration ? duration : cfg->quick ? 0.025 : 1.0;
	cfg->passes = passes ? (int)passes : cfg->quick ? 1 : 5;
	cfg->corrupt = getenv("SHMKIT_BENCH_CORRUPT");
	return 0;
}

/* Every --only pattern must name something this build knows. */
static int check_only(const struct bt_config *cfg)
{
	for (int i = 0; i < cfg->nonly; i++) {
		bool hit = false;
		for (size_t k = 0; k < bt_registry_count() && !hit; k++)
			hit = bt_entry_matches(bt_registry_get(k), cfg->only[i]);
		if (!hit) {
			bad("no transport matches --only '%s' (see --list)", cfg->only[i]);
			return -1;
		}
	}
	return 0;
}

static void list_transports(void)
{
	for (size_t k = 0; k < bt_registry_count(); k++) {
		struct bt_entry *e = bt_registry_get(k);
		if (!e->t) {
			printf("%-22s skipped: %s\n", e->plugin, e->skip);
			continue;
		}
		printf("%-22s %s\n", e->t->name, e->t->what);
	}
}

static void on_interrupt(int sig)
{
	/* The cleaner removes what is left; end the progress line and die of the signal. */
	if (isatty(2))
		(void)!write(2, "\n", 1);
	signal(sig, SIG_DFL);
	raise(sig);
}

static bool any_failed(const struct bt_run *run)
{
	for (size_t i = 0; i < run->nrows; i++)
		for (int m = 0; m < BT_NMODES; m++)
			for (int s = 0; s < run->cfg->nsizes; s++)
				if (run->rows[i].c[m][s].status == BT_ST_FAILED)
					return true;
	return false;
}

static int report(const struct bt_run *run)
{
	const struct bt_config *cfg = run->cfg;
	struct bt_machine m;
	bt_machine_read(&m);
	int r = 0;
	if (cfg->json)
		bt_report_json(run, &m, stdout);
	else
		bt_report_table(run, stdout);
	if (cfg->plot_dir && bt_plot(run, cfg->plot_dir) < 0)
		r = -1;
	if (cfg->markdown && bt_report_markdown(run, &m, cfg->markdown, cfg->plot_dir) < 0)
		r = -1;
	return r;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--side"))
		return bt_side_main(argc, argv);
	static struct bt_config cfg;
	if (parse_args(&cfg, argc, argv) < 0)
		return EXIT_USAGE;
	signal(SIGPIPE, SIG_IGN);
	/* First, before anything exists that could be left behind. */
	if (bt_cleaner_start() < 0) {
		perror("shmkit bench: cleaner");
		return 1;
	}
	bt_registry_load(NULL);
	if (check_only(&cfg) < 0)
		return EXIT_USAGE;
	if (cfg.list) {
		list_transports();
		return 0;
	}
	signal(SIGINT, on_interrupt);
	signal(SIGTERM, on_interrupt);
	struct bt_run run = {.cfg = &cfg};
	int r = bt_run_all(&run);
	if (r < 0) {
		fprintf(stderr, "shmkit bench: %s\n", strerror(-r));
		bt_run_free(&run);
		return 1;
	}
	int status = report(&run) < 0 || any_failed(&run) ? 1 : 0;
	bt_run_free(&run);
	return status;
}
