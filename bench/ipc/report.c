/* SPDX-License-Identifier: MIT */
/*
 * Output: the fixed-column table on the terminal, JSON with every figure, and markdown for
 * docs/bench.md. A case that failed, or was not applicable, shows no figure — only its
 * reason, listed under the tables.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

/* ---- what a table shows ---- */

struct view {
	const char *title;
	enum bt_mode mode;
	enum bt_metric metric;
	double scale; /* the metric's unit -> the table's */
};

static const struct view views[] = {
    {"Round trip, median (p50), µs", BT_RT, BT_M_RT_P50, 1e-3},
    {"Round trip, p99, µs", BT_RT, BT_M_RT_P99, 1e-3},
    {"Round trip, p99.9, µs", BT_RT, BT_M_RT_P999, 1e-3},
    {"One-way throughput, million messages/s", BT_TP, BT_M_TP_MSGS, 1e-6},
    {"One-way throughput, GB/s", BT_TP, BT_M_TP_GBPS, 1},
    {"CPU, seconds per million round trips (user + system, both sides)", BT_RT, BT_M_CPU_RT, 1},
    {"CPU, seconds per million one-way messages (user + system, both sides)", BT_TP, BT_M_CPU_TP,
     1},
};
enum { NVIEWS = sizeof(views) / sizeof(views[0]) };

/* Three significant digits without an exponent: 0.312, 11.0, 324, 3510. */
static void fmt_value(double v, char *buf, size_t len)
{
	if (v == 0)
		snprintf(buf, len, "0");
	else if (v < 0.01)
		snprintf(buf, len, "%.4f", v);
	else if (v < 1)
		snprintf(buf, len, "%.3f", v);
	else if (v < 10)
		snprintf(buf, len, "%.2f", v);
	else if (v < 100)
		snprintf(buf, len, "%.1f", v);
	else
		snprintf(buf, len, "%.0f", v);
}

static void cell(const struct bt_run *run, const struct bt_row *row, const struct view *v, int s,
                 char *buf, size_t len)
{
	const struct bt_case *k = &row->c[v->mode][s];
	double x;
	if (row->skipped)
		snprintf(buf, len, "skip");
	else if (k->status == BT_ST_FAILED)
		snprintf(buf, len, "FAIL");
	else if (k->status != BT_ST_OK)
		snprintf(buf, len, "-");
	else if (bt_metric_value(run, row->name, run->cfg->sizes[s], v->metric, &x) == 0)
		fmt_value(x * v->scale, buf, len);
	else
		snprintf(buf, len, "-");
}

/* ---- terminal ---- */

/* A row is shown in a view unless the transport has no such mode at all (memcpy: no round
 * trip); a failed case shows FAIL. */
static bool has_mode(const struct bt_run *run, const struct bt_row *row, enum bt_mode m)
{
	for (int s = 0; s < run->cfg->nsizes; s++)
		if (row->c[m][s].status != BT_ST_NA)
			return true;
	return false;
}

/* One table: a row per transport, a column per size; fixed columns or markdown. */
static void print_view(const struct bt_run *run, const struct view *v, FILE *f, bool md)
{
	char sz[16], buf[32];
	if (md)
		fprintf(f, "\n#### %s\n\n| transport |", v->title);
	else
		fprintf(f, "\n%s\n%-20s", v->title, "transport");
	for (int s = 0; s < run->cfg->nsizes; s++) {
		bt_size_name(run->cfg->sizes[s], sz, sizeof(sz));
		fprintf(f, md ? " %s |" : " %9s", sz);
	}
	fprintf(f, md ? "\n| --- |" : "\n");
	for (int s = 0; md && s < run->cfg->nsizes; s++)
		fprintf(f, " ---: |%s", s + 1 == run->cfg->nsizes ? "\n" : "");
	for (size_t i = 0; i < run->nrows; i++) {
		const struct bt_row *row = &run->rows[i];
		if (row->skipped || !has_mode(run, row, v->mode))
			continue;
		fprintf(f, md ? "| %s |" : "%-20s", row->name);
		for (int s = 0; s < run->cfg->nsizes; s++) {
			cell(run, row, v, s, buf, sizeof(buf));
			fprintf(f, md ? " %s |" : " %9s", buf);
		}
		fprintf(f, "\n");
	}
}

/* One line per transport and distinct reason: "4 MiB rt+tp: why". */
static void reasons(const struct bt_run *run, FILE *f, const char *bullet)
{
	for (size_t i = 0; i < run->nrows; i++) {
		const struct bt_row *row = &run->rows[i];
		if (row->skipped) {
			fprintf(f, "%s%s: skipped: %s\n", bullet, row->name, row->why);
			continue;
		}
		bool shown[BT_NMODES][BT_MAX_SIZES] = {{false}};
		for (int m = 0; m < BT_NMODES; m++)
			for (int s = 0; s < run->cfg->nsizes; s++) {
				const struct bt_case *k = &row->c[m][s];
				if (k->status == BT_ST_OK || shown[m][s])
					continue;
				fprintf(f, "%s%s: %s", bullet, row->name,
				        k->status == BT_ST_FAILED ? "FAILED " : "");
				const char *sep = "";
				for (int m2 = 0; m2 < BT_NMODES; m2++)
					for (int s2 = 0; s2 < run->cfg->nsizes; s2++) {
						const struct bt_case *k2 = &row->c[m2][s2];
						if (k2->status != k->status ||
						    strcmp(k2->why, k->why))
							continue;
						char sz[16];
						bt_size_name(run->cfg->sizes[s2], sz, sizeof(sz));
						fprintf(f, "%s%s %s", sep,
						        m2 == BT_RT ? "rt" : "tp", sz);
						sep = ", ";
						shown[m2][s2] = true;
					}
				fprintf(f, ": %s\n", k->why);
			}
	}
}

struct ratio_result {
	double value;
	bool ok, met;
	char pending[160];
};

static bool higher_better(enum bt_metric m)
{
	return m == BT_M_TP_MSGS || m == BT_M_TP_GBPS;
}

static size_t ratio_size_b(const struct bt_ratio *r)
{
	return r->size_b ? r->size_b : r->size;
}

/* "64 B", or "1 MiB / 64 B" for one transport across two sizes. */
static void ratio_sizes(const struct bt_ratio *r, char *buf, size_t len)
{
	char a[16], b[16];
	bt_size_name(r->size, a, sizeof(a));
	bt_size_name(ratio_size_b(r), b, sizeof(b));
	if (ratio_size_b(r) == r->size)
		snprintf(buf, len, "%s", a);
	else
		snprintf(buf, len, "%s / %s", a, b);
}

static struct ratio_result ratio_eval(const struct bt_run *run, const struct bt_ratio *r)
{
	struct ratio_result res = {0};
	double a, b;
	const char *missing = NULL;
	if (bt_metric_value(run, r->a, r->size, r->metric, &a) < 0)
		missing = r->a;
	else if (bt_metric_value(run, r->b, ratio_size_b(r), r->metric, &b) < 0 || b == 0)
		missing = r->b;
	if (missing) {
		snprintf(res.pending, sizeof(res.pending), "pending: %s not measured in this run",
		         missing);
		return res;
	}
	res.ok = true;
	res.value = a / b;
	res.met = higher_better(r->metric) ? res.value >= r->target : res.value <= r->target;
	return res;
}

static void ratio_target(const struct bt_ratio *r, char *buf, size_t len)
{
	if (r->target > 0)
		snprintf(buf, len, "%s %.2fx", higher_better(r->metric) ? ">=" : "<=", r->target);
	else
		snprintf(buf, len, "-");
}

static void ratio_lines(const struct bt_run *run, FILE *f, bool md)
{
	const struct bt_ratio *list;
	size_t n = bt_ratio_builtin(&list);
	if (md)
		fprintf(f, "| A / B | size | metric | ratio | target | met | what |\n"
		           "| --- | ---: | --- | ---: | ---: | --- | --- |\n");
	else
		fprintf(f, "\nRatios (A / B, same run)\n%-38s %8s %-8s %9s %9s  %s\n", "A / B",
		        "size", "metric", "ratio", "target", "what");
	for (size_t i = 0; i < n + (size_t)run->cfg->nextra; i++) {
		const struct bt_ratio *r = i < n ? &list[i] : &run->cfg->extra[i - n];
		struct ratio_result res = ratio_eval(run, r);
		char ab[80], sz[40], val[32], tgt[32];
		snprintf(ab, sizeof(ab), "%s / %s", r->a, r->b);
		ratio_sizes(r, sz, sizeof(sz));
		ratio_target(r, tgt, sizeof(tgt));
		if (res.ok)
			snprintf(val, sizeof(val), "%.3gx", res.value);
		const char *met = !res.ok || r->target <= 0 ? "" : res.met ? "yes" : "no";
		if (md)
			fprintf(f, "| %s | %s | %s | %s | %s | %s | %s |\n", ab, sz,
			        bt_metric_name(r->metric), res.ok ? val : res.pending, tgt, met,
			        r->what);
		else
			fprintf(f, "%-38s %8s %-8s %9s %9s  %s%s%s\n", ab, sz,
			        bt_metric_name(r->metric), res.ok ? val : "pending", tgt,
			        met[0] ? met : "", met[0] ? "; " : "",
			        res.ok ? r->what : res.pending);
	}
}

static void header_line(const struct bt_run *run, FILE *f)
{
	fprintf(f,
	        "shmkit bench: %d pass%s, %.3g s nominal per case, client on CPU %d, server on CPU "
	        "%d; %.0f s; load average %s at the start, %s at the end\n",
	        run->cfg->passes, run->cfg->passes == 1 ? "" : "es", run->cfg->duration,
	        run->cpu[0], run->cpu[1], run->seconds, run->load_start, run->load_end);
}

void bt_report_table(const struct bt_run *run, FILE *f)
{
	header_line(run, f);
	for (int v = 0; v < NVIEWS; v++)
		print_view(run, &views[v], f, false);
	fprintf(f, "\nNot measured (a figure is shown only for a case whose every message "
	           "checked):\n");
	reasons(run, f, "  ");
	ratio_lines(run, f, false);
}

/* ---- JSON ---- */

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

static const char *group_name(int order)
{
	return order < BT_ORDER_KERNEL ? "reference"
	       : order < BT_ORDER_SHM  ? "kernel"
	       : order < BT_ORDER_CHAN ? "shared-memory"
	       : order < BT_ORDER_PEER ? "shmkit-channel"
	                               : "peer";
}

static const char *status_name(enum bt_status s)
{
	return s == BT_ST_OK ? "ok" : s == BT_ST_NA ? "not-applicable" : "failed";
}

static void json_case(const struct bt_row *row, enum bt_mode m, int s, size_t size, FILE *f)
{
	const struct bt_case *k = &row->c[m][s];
	fprintf(f, "{\"size\": %zu, \"status\": \"%s\"", size, status_name(k->status));
	if (k->status != BT_ST_OK) {
		fprintf(f, ", \"reason\": ");
		json_str(f, k->why);
		fprintf(f, "}");
		return;
	}
	if (m == BT_RT)
		fprintf(f,
		        ", \"samples\": %zu, \"validated_messages\": %llu, \"p50_ns\": %.1f, "
		        "\"p99_ns\": %.1f, \"p999_ns\": %.1f, \"max_ns\": %.1f, \"min_ns\": %.1f, "
		        "\"mean_ns\": %.1f",
		        k->st.n, (unsigned long long)(2 * k->msgs), k->st.median, k->st.p99,
		        k->st.p999, k->st.max, k->st.min, k->st.mean);
	else
		fprintf(f,
		        ", \"messages\": %llu, \"batches\": %zu, \"validated_messages\": %llu, "
		        "\"msgs_per_s\": %.1f, \"gb_per_s\": %.4f, \"batch_msgs_per_s_min\": %.1f, "
		        "\"batch_msgs_per_s_max\": %.1f",
		        (unsigned long long)k->msgs, k->st.n,
		        (unsigned long long)(k->msgs + k->st.n), k->rate, k->gbps, k->st.min,
		        k->st.max);
	fprintf(f, ", \"cpu_s_per_million\": %.4f}", k->cpu_per_m);
}

static void json_row(const struct bt_run *run, const struct bt_row *row, FILE *f)
{
	const struct bt_transport *t = row->e->t;
	fprintf(f, "    {\"name\": ");
	json_str(f, row->name);
	fprintf(f, ", \"plugin\": ");
	if (row->e->plugin)
		json_str(f, row->e->plugin);
	else
		fprintf(f, "null");
	fprintf(f, ", \"status\": \"%s\"", row->skipped ? "skipped" : "measured");
	if (row->skipped) {
		fprintf(f, ", \"reason\": ");
		json_str(f, row->why);
		fprintf(f, "}");
		return;
	}
	fprintf(f, ", \"what\": ");
	json_str(f, t->what);
	fprintf(f, ", \"group\": \"%s\", \"busy\": %s, \"zero_copy\": %s, \"sleeping\": %s",
	        group_name(t->order), t->flags & BT_BUSY ? "true" : "false",
	        t->flags & BT_ZEROCOPY ? "true" : "false",
	        t->flags & BT_SLEEPING ? "true" : "false");
	for (int m = 0; m < BT_NMODES; m++) {
		fprintf(f, ",\n     \"%s\": [", m == BT_RT ? "round_trip" : "throughput");
		for (int s = 0; s < run->cfg->nsizes; s++) {
			fprintf(f, "%s\n       ", s ? "," : "");
			json_case(row, (enum bt_mode)m, s, run->cfg->sizes[s], f);
		}
		fprintf(f, "]");
	}
	fprintf(f, "}");
}

static void json_ratios(const struct bt_run *run, FILE *f)
{
	const struct bt_ratio *list;
	size_t n = bt_ratio_builtin(&list);
	fprintf(f, "  \"ratios\": [");
	for (size_t i = 0; i < n + (size_t)run->cfg->nextra; i++) {
		const struct bt_ratio *r = i < n ? &list[i] : &run->cfg->extra[i - n];
		struct ratio_result res = ratio_eval(run, r);
		fprintf(f, "%s\n    {\"a\": ", i ? "," : "");
		json_str(f, r->a);
		fprintf(f, ", \"b\": ");
		json_str(f, r->b);
		fprintf(f,
		        ", \"size\": %zu, \"size_b\": %zu, \"metric\": \"%s\", \"what\": ", r->size,
		        ratio_size_b(r), bt_metric_name(r->metric));
		json_str(f, r->what);
		if (r->target > 0)
			fprintf(f, ", \"target\": %g, \"higher_is_better\": %s", r->target,
			        higher_better(r->metric) ? "true" : "false");
		if (res.ok)
			fprintf(f, ", \"value\": %.4g", res.value);
		else {
			fprintf(f, ", \"value\": null, \"pending\": ");
			json_str(f, res.pending);
		}
		if (res.ok && r->target > 0)
			fprintf(f, ", \"met\": %s", res.met ? "true" : "false");
		fprintf(f, "}");
	}
	fprintf(f, "\n  ]\n");
}

void bt_report_json(const struct bt_run *run, const struct bt_machine *m, FILE *f)
{
	const struct bt_config *cfg = run->cfg;
	fprintf(f, "{\n  \"format\": \"shmkit-bench 1\",\n  \"command\": ");
	json_str(f, cfg->command);
	fprintf(f, ",\n  \"machine\": {\"cpu\": ");
	json_str(f, m->cpu);
	fprintf(f, ", \"cores\": %d, \"kernel\": ", m->cores);
	json_str(f, m->kernel);
	fprintf(f, ", \"governor\": ");
	if (m->governor[0])
		json_str(f, m->governor);
	else
		fprintf(f, "null");
	fprintf(f, ", \"loadavg_start\": \"%s\", \"loadavg_end\": \"%s\"", run->load_start,
	        run->load_end);
	fprintf(f, "},\n  \"config\": {\"sizes\": [");
	for (int s = 0; s < cfg->nsizes; s++)
		fprintf(f, "%s%zu", s ? ", " : "", cfg->sizes[s]);
	fprintf(f, "], \"duration_s\": %g, \"passes\": %d, \"quick\": %s, \"cpus\": [%d, %d]},\n",
	        cfg->duration, cfg->passes, cfg->quick ? "true" : "false", run->cpu[0],
	        run->cpu[1]);
	fprintf(f, "  \"samples\": {\"round_trip\": {");
	for (int s = 0; s < cfg->nsizes; s++)
		fprintf(f, "%s\"%zu\": %llu", s ? ", " : "", cfg->sizes[s],
		        (unsigned long long)bt_count(cfg, BT_RT, cfg->sizes[s]));
	fprintf(f, "}, \"throughput_messages\": {");
	for (int s = 0; s < cfg->nsizes; s++)
		fprintf(f, "%s\"%zu\": %llu", s ? ", " : "", cfg->sizes[s],
		        (unsigned long long)bt_count(cfg, BT_TP, cfg->sizes[s]));
	fprintf(f, "}},\n  \"seconds\": %.1f,\n  \"transports\": [\n", run->seconds);
	for (size_t i = 0; i < run->nrows; i++) {
		json_row(run, &run->rows[i], f);
		fprintf(f, "%s\n", i + 1 < run->nrows ? "," : "");
	}
	fprintf(f, "  ],\n");
	json_ratios(run, f);
	fprintf(f, "}\n");
}

/* ---- markdown ---- */

static void md_legend(const struct bt_run *run, FILE *f)
{
	fprintf(f, "\n#### Transports\n\n| transport | what |\n| --- | --- |\n");
	for (size_t i = 0; i < run->nrows; i++) {
		const struct bt_row *row = &run->rows[i];
		if (!row->skipped)
			fprintf(f, "| %s | %s |\n", row->name, row->e->t->what);
	}
}

int bt_report_markdown(const struct bt_run *run, const struct bt_machine *m, const char *path,
                       const char *plot_dir)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "shmkit bench: %s: %s\n", path, strerror(errno));
		return -1;
	}
	fprintf(f, "### IPC mechanisms side by side (`shmkit bench`)\n\n");
	fprintf(f,
	        "`%s`: %d pass%s interleaved, %.3g s nominal per case, client on CPU %d, "
	        "server on CPU %d, %.0f s in all. Machine: %s, %d cores, kernel %s%s%s; load "
	        "average %s at the start, %s at the end.\n",
	        run->cfg->command, run->cfg->passes, run->cfg->passes == 1 ? "" : "es",
	        run->cfg->duration, run->cpu[0], run->cpu[1], run->seconds, m->cpu, m->cores,
	        m->kernel, m->governor[0] ? ", governor " : "", m->governor, run->load_start,
	        run->load_end);
	fprintf(f, "\nEvery transport carries the same messages (sequence number at both ends and "
	           "a checksum, checked by the receiver) with the same number of samples per "
	           "size; a case with one bad message shows no figure. Latency is client-side, "
	           "request sent to reply received; throughput is one-way, each batch "
	           "acknowledged. Zero-copy rows (-zc) hand over a buffer in place: their GB/s is "
	           "the payload handed over per second, not bytes copied.\n");
	md_legend(run, f);
	for (int v = 0; v < NVIEWS; v++)
		print_view(run, &views[v], f, true);
	fprintf(f, "\n#### Ratios (same run)\n\n");
	ratio_lines(run, f, true);
	fprintf(f, "\n#### Not measured\n\n");
	reasons(run, f, "- ");
	if (plot_dir)
		fprintf(
		    f, "\n#### Charts\n\n![round-trip latency vs size](plots/ipc-latency.svg)\n\n"
		       "![one-way throughput vs size](plots/ipc-throughput.svg)\n\n"
		       "![round-trip latency CDF at 64 B](plots/ipc-cdf-64.svg)\n\n"
		       "![round-trip latency CDF at 64 B, the shmkit channels and their references]"
		       "(plots/ipc-cdf-64-chan.svg)\n");
	return fclose(f) == 0 ? 0 : -1;
}
