/* SPDX-License-Identifier: MIT */
/*
 * shmkit-bench internals: what the harness's parts share. The transports see only
 * transport.h.
 *
 * Processes: shmkit-bench (the coordinator) forks a cleaner first (cleaner.c), then for
 * every transport and pass forks and execs two sides of itself (`shmkit-bench --side ...`,
 * side.c) that run the jobs the coordinator sends them over a control socket (ctl.c) and
 * report samples and CPU time back (run.c). report.c prints and writes the results.
 */
#ifndef SHMKIT_BENCH_HARNESS_H
#define SHMKIT_BENCH_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "transport.h"

#define BT_MAX_SIZES  24
#define BT_MAX_ONLY   64
#define BT_MAX_RATIOS 32
#define BT_SIZE_MAX   ((size_t)64 << 20)

enum bt_mode { BT_RT = 0, BT_TP = 1, BT_NMODES = 2 };

/* Metrics a ratio can compare (report.c). */
enum bt_metric {
	BT_M_RT_P50,
	BT_M_RT_P99,
	BT_M_RT_P999,
	BT_M_TP_MSGS,
	BT_M_TP_GBPS,
	BT_M_CPU_RT,
	BT_M_CPU_TP,
	BT_NMETRICS
};

struct bt_ratio {
	const char *a, *b; /* transport names */
	size_t size;
	size_t
	    size_b; /* B's size, when it differs from A's (one transport across sizes); 0: size */
	enum bt_metric metric;
	double target; /* 0: none; else a <= bound for latency/CPU, a >= bound for throughput */
	const char *what;
};

struct bt_config {
	size_t sizes[BT_MAX_SIZES];
	int nsizes;
	const char *only[BT_MAX_ONLY]; /* fnmatch patterns; none: all */
	int nonly;
	double duration; /* seconds of nominal work per transport, size and mode */
	int passes;
	bool quick, json, list;
	const char *plot_dir, *markdown;
	struct bt_ratio extra[BT_MAX_RATIOS];
	int nextra;
	char command[1024];
	const char *corrupt; /* SHMKIT_BENCH_CORRUPT: "N" or "TRANSPORT:N" (tests only) */
};

/* ---- transports known to this run (registry.c) ---- */
struct bt_entry {
	const struct bt_transport *t; /* NULL: a plugin that could not be loaded */
	const char *plugin;           /* plugin name, NULL for a built-in */
	char skip[256];               /* why it is skipped, "" if usable */
};
/* Built-ins and every plugin found next to the executable; only one plugin when want is
 * set (the sides load just theirs). */
int bt_registry_load(const char *want_plugin);
size_t bt_registry_count(void);
struct bt_entry *bt_registry_get(size_t i);
struct bt_entry *bt_registry_find(const char *name);
/* Does an --only pattern select this entry? */
bool bt_entry_matches(const struct bt_entry *e, const char *pattern);
/* Directory of the running executable. */
const char *bt_self_dir(void);
const char *bt_self_exe(void);

/* ---- cleaner (cleaner.c) ---- */
int bt_cleaner_start(void);
extern const struct bt_host bt_host_tracked; /* coordinator: records go to the cleaner */
extern const struct bt_host bt_host_none;    /* sides: nothing to record */
/* Remove a directory tree (best effort): 0 if it is gone. */
int bt_remove_tree(const char *path);

/* ---- control protocol between the coordinator and the sides (ctl.c) ---- */
enum bt_frame_type {
	BT_F_READY = 1, /* side -> coordinator: attached */
	BT_F_JOB,       /* coordinator -> side: struct bt_job */
	BT_F_DONE,      /* side -> coordinator: struct bt_done + values */
	BT_F_ERR,       /* side -> coordinator: text; the case is broken */
	BT_F_NA,        /* side -> coordinator: text; the size is beyond the transport */
	BT_F_QUIT,      /* coordinator -> side */
};

struct bt_job {
	uint32_t mode;
	uint32_t batches; /* throughput: timed batches, each acknowledged */
	uint64_t size;
	uint64_t warmup; /* untimed messages (round trips, or a first batch) */
	uint64_t count;  /* timed round trips, or timed messages over all batches */
	uint32_t seq0;
	uint32_t corrupt_at; /* test hook: the client corrupts its message number corrupt_at */
};

struct bt_done {
	uint64_t cpu_ns; /* user + system CPU of this side over the timed part */
	uint64_t n;      /* values that follow: ns per round trip, or ns per batch */
};

int bt_ctl_send(int fd, uint32_t type, const void *a, size_t alen, const void *b, size_t blen);
/* Receive one frame within timeout_ms (-1: forever): 0, -ETIMEDOUT, -EPIPE, -EPROTO.
 * *payload is malloc'ed (NUL-terminated for text), the caller frees it. */
int bt_ctl_recv(int fd, int timeout_ms, uint32_t *type, void **payload, size_t *len);

/* ---- a side (side.c) ---- */
int bt_side_main(int argc, char **argv);

/* ---- results (run.c fills them, report.c shows them) ---- */
enum bt_status { BT_ST_PENDING, BT_ST_OK, BT_ST_NA, BT_ST_FAILED };

struct bt_case {
	enum bt_status status;
	char why[300];
	struct bn_samples s; /* round trip: ns per round trip; throughput: messages/s per batch */
	uint64_t msgs;       /* timed round trips or messages */
	uint64_t cpu_ns;     /* both sides, over the timed parts */
	/* derived by bt_case_finish */
	struct bn_stats st;
	double rate, gbps, cpu_per_m;
};

struct bt_row {
	struct bt_entry *e;
	const char *name;
	bool skipped;
	char why[300];
	size_t max_size;
	struct bt_case c[BT_NMODES][BT_MAX_SIZES];
};

struct bt_run {
	const struct bt_config *cfg;
	struct bt_row *rows;
	size_t nrows;
	unsigned instance;
	char rundir[256];
	double seconds;
	char load_start[64], load_end[64]; /* /proc/loadavg: was the machine quiet? */
	int ncpus, cpu[2];
};

int bt_run_all(struct bt_run *run);
void bt_run_free(struct bt_run *run);
void bt_case_finish(struct bt_case *c, enum bt_mode m, size_t size);
/* Round trips and messages per size: the same for every transport. */
uint64_t bt_count(const struct bt_config *cfg, enum bt_mode m, size_t size);

/* ---- output (report.c, plot.c, machine.c) ---- */
struct bt_machine {
	char cpu[128], kernel[200], governor[64];
	int cores;
};
void bt_machine_read(struct bt_machine *m);
void bt_report_table(const struct bt_run *run, FILE *f);
void bt_report_json(const struct bt_run *run, const struct bt_machine *m, FILE *f);
int bt_report_markdown(const struct bt_run *run, const struct bt_machine *m, const char *path,
                       const char *plot_dir);
int bt_plot(const struct bt_run *run, const char *dir);
/* A metric of a transport at a size: 0 and *v, or -ENOENT (not measured), -EINVAL. */
int bt_metric_value(const struct bt_run *run, const char *name, size_t size, enum bt_metric m,
                    double *v);
const char *bt_metric_name(enum bt_metric m);
int bt_metric_parse(const char *s, enum bt_metric *m);
size_t bt_ratio_builtin(const struct bt_ratio **list);
void bt_size_name(size_t size, char *buf, size_t len);
int bt_size_parse(const char *s, size_t *out);

#endif
