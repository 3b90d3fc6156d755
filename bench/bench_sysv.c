/* SPDX-License-Identifier: MIT */
/*
 * bench_sysv: shmkit's System V model against the kernel's SysV calls, same machine, same run.
 * Rounds of each case alternate between the two so that drift on a noisy machine hits both.
 * Each round is the mean of a batch of operations; medians and p99 are over rounds.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <unistd.h>

#include "common.h"
#include "shmkit.h"

struct api {
	const char *name;
	int (*get)(key_t, size_t, int);
	void *(*at)(int, const void *, int);
	int (*dt)(const void *);
	int (*ctl)(int, int, struct shmid_ds *);
};

static const struct api kernel = {"kernel", shmget, shmat, shmdt, shmctl};
static const struct api shmkit = {"shmkit", shmkit_shmget, shmkit_shmat, shmkit_shmdt,
                                  shmkit_shmctl};

static key_t key_base;
static int kernel_id = -1;
static char ns_name[64];

/* Leave nothing behind, even when interrupted (Ctrl-C, a closed pipe). */
static void cleanup(void)
{
	if (kernel_id >= 0)
		shmctl(kernel_id, IPC_RMID, NULL);
	kernel_id = -1;
	shmkit_ns_destroy(ns_name);
}

static void on_signal(int sig)
{
	cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void die(const char *what)
{
	fprintf(stderr, "bench_sysv: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* One round of each case: returns mean ns per operation. */
static double round_lookup(const struct api *a, int id_unused, int batch)
{
	(void)id_unused;
	uint64_t t0 = bn_now_ns();
	for (int i = 0; i < batch; i++)
		if (a->get(key_base, 0, 0) < 0)
			die("lookup");
	return (double)(bn_now_ns() - t0) / batch;
}

static double round_attach(const struct api *a, int id, int batch)
{
	uint64_t t0 = bn_now_ns();
	for (int i = 0; i < batch; i++) {
		void *p = a->at(id, NULL, 0);
		if (p == (void *)-1 || a->dt(p) < 0)
			die("attach");
	}
	return (double)(bn_now_ns() - t0) / batch;
}

static double round_lifecycle(const struct api *a, int id_unused, int batch)
{
	(void)id_unused;
	uint64_t t0 = bn_now_ns();
	for (int i = 0; i < batch; i++) {
		int id = a->get(key_base + 1, 4096, IPC_CREAT | IPC_EXCL | 0600);
		if (id < 0)
			die("create");
		volatile char *p = a->at(id, NULL, 0);
		if (p == (void *)-1)
			die("attach");
		p[0] = 1;
		if (a->dt((void *)p) < 0 || a->ctl(id, IPC_RMID, NULL) < 0)
			die("remove");
	}
	return (double)(bn_now_ns() - t0) / batch;
}

static double round_stat(const struct api *a, int id, int batch)
{
	struct shmid_ds ds;
	uint64_t t0 = bn_now_ns();
	for (int i = 0; i < batch; i++)
		if (a->ctl(id, IPC_STAT, &ds) < 0)
			die("stat");
	return (double)(bn_now_ns() - t0) / batch;
}

typedef double (*round_fn)(const struct api *, int, int);

struct result {
	struct bn_stats k, s;
};

static struct result compare(round_fn fn, int kid, int sid, int rounds, int batch)
{
	struct bn_samples ks, ss;
	struct result res;
	bn_samples_init(&ks, (size_t)rounds);
	bn_samples_init(&ss, (size_t)rounds);
	fn(&kernel, kid, batch); /* warm up */
	fn(&shmkit, sid, batch);
	for (int r = 0; r < rounds; r++) {
		bn_samples_add(&ks, fn(&kernel, kid, batch));
		bn_samples_add(&ss, fn(&shmkit, sid, batch));
	}
	bn_stats(&ks, &res.k);
	bn_stats(&ss, &res.s);
	bn_samples_free(&ks);
	bn_samples_free(&ss);
	return res;
}

static void row(const char *name, struct result r, double target)
{
	double ratio = r.s.median / r.k.median;
	bn_row(name, bn_fmt("%.0f", r.k.median), bn_fmt("%.0f", r.k.p99),
	       bn_fmt("%.0f", r.s.median), bn_fmt("%.0f", r.s.p99), bn_fmt("%.2fx", ratio),
	       bn_fmt("<= %.1fx", target), bn_met(ratio, target), NULL);
}

/* shmkit only: per-operation cost with n live segments in the namespace. */
static double scaled(int n, int rounds)
{
	int *ids = malloc(sizeof(int) * (size_t)n);
	for (int i = 0; i < n; i++) {
		ids[i] = shmkit_shmget(key_base + 100 + i, 1, IPC_CREAT | IPC_EXCL | 0600);
		if (ids[i] < 0)
			die("populate");
	}
	struct bn_samples v;
	struct bn_stats st;
	bn_samples_init(&v, (size_t)rounds);
	struct shmid_ds ds;
	for (int r = 0; r < rounds; r++) {
		uint64_t t0 = bn_now_ns();
		for (int i = 0; i < 100; i++) {
			int k = (int)(((unsigned)r * 7919u + (unsigned)i * 104729u) % (unsigned)n);
			int id = shmkit_shmget(key_base + 100 + k, 0, 0);
			void *p = shmkit_shmat(id, NULL, 0);
			if (id < 0 || p == (void *)-1 || shmkit_shmdt(p) < 0 ||
			    shmkit_shmctl(id, IPC_STAT, &ds) < 0)
				die("scaled op");
		}
		bn_samples_add(&v, (double)(bn_now_ns() - t0) / 100);
	}
	bn_stats(&v, &st);
	for (int i = 0; i < n; i++)
		shmkit_shmctl(ids[i], IPC_RMID, NULL);
	free(ids);
	bn_samples_free(&v);
	return st.median;
}

int main(void)
{
	char *ns = ns_name;
	snprintf(ns_name, sizeof(ns_name), "bench-%d", (int)getpid());
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, on_signal);
	atexit(cleanup);
	key_base = (key_t)(0x6b000000 | ((getpid() & 0xffff) << 8));
	if (shmkit_ns_create(ns, 0600) < 0 || shmkit_ns_use(ns) < 0)
		die("namespace");
	struct shmkit_ns_limits lim = {.shmmni = 32768, .rmid_forced = -1};
	shmkit_ns_set_limits(ns, &lim);
	int kid = kernel_id = shmget(key_base, 4096, IPC_CREAT | IPC_EXCL | 0600);
	int sid = shmkit_shmget(key_base, 4096, IPC_CREAT | IPC_EXCL | 0600);
	if (kid < 0 || sid < 0)
		die("setup");

	bn_section(
	    "System V model vs the kernel's SysV calls",
	    "Each round is the mean of a batch of operations; median and p99 over rounds, in "
	    "ns per operation; ratio = shmkit median / kernel median, kernel and shmkit rounds "
	    "alternating in the same run.");
	bn_header("operation", "kernel median", "kernel p99", "shmkit median", "shmkit p99",
	          "ratio", "target", "met", NULL);
	row("shmget, existing key", compare(round_lookup, kid, sid, 200, 2000), 1.0);
	row("shmat + shmdt", compare(round_attach, kid, sid, 200, 200), 1.5);
	row("shmget + shmat + touch + shmdt + IPC_RMID",
	    compare(round_lifecycle, kid, sid, 100, 50), 1.5);
	row("shmctl IPC_STAT", compare(round_stat, kid, sid, 200, 2000), 1.0);

	double s10 = scaled(10, 100), s30k = scaled(30000, 100);
	printf("\nScaling: shmget + shmat + shmdt + IPC_STAT of a random live key, shmkit, by the "
	       "number of live segments in the namespace.\n\n");
	bn_header("live segments", "median ns per sequence", "growth", "target", "met", NULL);
	bn_row("10", bn_fmt("%.0f", s10), "1.00x", "", "", NULL);
	bn_row("30000", bn_fmt("%.0f", s30k), bn_fmt("%.2fx", s30k / s10), "< 2x",
	       bn_met(s30k / s10, 2.0), NULL);
	printf("\n");

	shmkit_ns_use(NULL);
	cleanup();
	return 0;
}
