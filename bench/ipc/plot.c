/* SPDX-License-Identifier: MIT */
/*
 * Charts with gnuplot, PNG and SVG of each: round-trip latency (p50) against message size,
 * log-log, one line per transport; one-way throughput (GB/s) against size; the CDF of the
 * round-trip samples at 64 B, of every transport and of the shmkit channels beside their
 * references. The data files go to a temporary directory, removed after.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

struct chart {
	const char *name, *title, *xlabel, *ylabel, *logscale;
	int (*data)(const struct bt_run *run, const struct bt_row *row, FILE *f);
	const char *const *only; /* NULL-terminated fnmatch patterns of the rows; NULL: all */
};

static const char *const chan_and_refs[] = {"chan-*",        "ref-*", "ck-ring",
                                            "iceoryx-busy*", "pipe",  NULL};

static bool row_wanted(const struct chart *c, const struct bt_row *row)
{
	for (const char *const *p = c->only; p && *p; p++)
		if (fnmatch(*p, row->name, 0) == 0)
			return true;
	return !c->only;
}

static int series(const struct bt_run *run, const struct bt_row *row, enum bt_metric m,
                  double scale, FILE *f)
{
	int n = 0;
	for (int s = 0; s < run->cfg->nsizes; s++) {
		double v;
		if (bt_metric_value(run, row->name, run->cfg->sizes[s], m, &v) == 0 && v > 0)
			n += fprintf(f, "%zu %g\n", run->cfg->sizes[s], v * scale) > 0;
	}
	return n;
}

static int latency(const struct bt_run *run, const struct bt_row *row, FILE *f)
{
	return series(run, row, BT_M_RT_P50, 1e-3, f);
}

static int throughput(const struct bt_run *run, const struct bt_row *row, FILE *f)
{
	return series(run, row, BT_M_TP_GBPS, 1, f);
}

static int cdf64(const struct bt_run *run, const struct bt_row *row, FILE *f)
{
	for (int s = 0; s < run->cfg->nsizes; s++) {
		const struct bt_case *k = &row->c[BT_RT][s];
		if (run->cfg->sizes[s] != 64 || k->status != BT_ST_OK || k->s.n == 0)
			continue;
		size_t points = k->s.n < 1000 ? k->s.n : 1000; /* the samples are sorted */
		for (size_t p = 0; p < points; p++) {
			size_t i = points > 1 ? p * (k->s.n - 1) / (points - 1) : 0;
			fprintf(f, "%g %g\n", k->s.v[i] / 1e3, (double)(i + 1) / (double)k->s.n);
		}
		return (int)points;
	}
	return 0;
}

static const struct chart charts[] = {
    {"ipc-latency", "Round-trip latency (p50) vs message size", "message size (bytes)",
     "round trip, µs", "xy", latency, NULL},
    {"ipc-throughput", "One-way throughput vs message size", "message size (bytes)", "GB/s", "xy",
     throughput, NULL},
    {"ipc-cdf-64", "Round-trip latency CDF, 64 B", "round trip, µs", "fraction of samples", "x",
     cdf64, NULL},
    {"ipc-cdf-64-chan", "Round-trip latency CDF, 64 B: shmkit channels and references",
     "round trip, µs", "fraction of samples", "x", cdf64, chan_and_refs},
};

/* The gnuplot commands of one chart, for one terminal. */
static void script(FILE *g, const struct bt_run *run, const struct chart *c, const char *tmp,
                   const char *dir, const char *term, const char *ext, const char *const *names,
                   int n)
{
	/* reset: the charts share one script, and a chart's log axes and tics would carry on */
	fprintf(g, "reset\nset terminal %s\nset output '%s/%s.%s'\n", term, dir, c->name, ext);
	fprintf(g, "set title '%s'\nset xlabel '%s'\nset ylabel '%s'\nset logscale %s\n", c->title,
	        c->xlabel, c->ylabel, c->logscale);
	fprintf(g, "set grid\nset format y '%%g'\nset key outside right top font ',9'\n");
	if (c->data != cdf64) { /* the run's sizes as the x tics: 8 B ... 4 MiB */
		fprintf(g, "set xtics (");
		for (int s = 0; s < run->cfg->nsizes; s++) {
			char sz[16];
			bt_size_name(run->cfg->sizes[s], sz, sizeof(sz));
			fprintf(g, "%s\"%s\" %zu", s ? ", " : "", sz, run->cfg->sizes[s]);
		}
		fprintf(g, ")\n");
	}
	fprintf(g, "plot ");
	for (int i = 0; i < n; i++)
		fprintf(g, "%s'%s/%s.%s.dat' using 1:2 with %s lw 2 dt %d title '%s'",
		        i ? ", " : "", tmp, c->name, names[i],
		        c->data == cdf64 ? "lines" : "linespoints", i / 8 + 1, names[i]);
	fprintf(g, "\n");
}

static int chart(const struct bt_run *run, const struct chart *c, const char *tmp, const char *dir,
                 FILE *g)
{
	const char *names[256];
	int n = 0;
	for (size_t i = 0; i < run->nrows && n < 256; i++) {
		const struct bt_row *row = &run->rows[i];
		if (row->skipped || !row_wanted(c, row))
			continue;
		char path[512];
		snprintf(path, sizeof(path), "%s/%s.%s.dat", tmp, c->name, row->name);
		FILE *f = fopen(path, "w");
		if (!f)
			return -errno;
		int points = c->data(run, row, f);
		fclose(f);
		if (points > 0)
			names[n++] = row->name;
	}
	if (n == 0)
		return 0;
	script(g, run, c, tmp, dir, "pngcairo size 1200,720 noenhanced", "png", names, n);
	script(g, run, c, tmp, dir, "svg size 1200,720 dynamic noenhanced", "svg", names, n);
	return 0;
}

int bt_plot(const struct bt_run *run, const char *dir)
{
	char tmp[256];
	const char *t = getenv("TMPDIR");
	snprintf(tmp, sizeof(tmp), "%s/shmkit-plot.XXXXXX", t && *t ? t : "/tmp");
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "shmkit bench: --plot %s: %s\n", dir, strerror(errno));
		return -1;
	}
	if (!mkdtemp(tmp))
		return -1;
	bt_host_tracked.track("dir", tmp);
	char path[300];
	snprintf(path, sizeof(path), "%s/charts.gp", tmp);
	FILE *g = fopen(path, "w");
	int r = g ? 0 : -errno;
	for (size_t i = 0; r == 0 && i < sizeof(charts) / sizeof(charts[0]); i++)
		r = chart(run, &charts[i], tmp, dir, g);
	if (g)
		fclose(g);
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "gnuplot '%s'", path);
	if (r == 0 && system(cmd) != 0) {
		fprintf(stderr, "shmkit bench: gnuplot failed or is not installed (Debian: "
		                "gnuplot-nox); no charts written\n");
		r = -1;
	}
	if (bt_remove_tree(tmp) == 0)
		bt_host_tracked.untrack("dir", tmp);
	return r < 0 ? -1 : 0;
}
