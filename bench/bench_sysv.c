/* SPDX-License-Identifier: MIT */
/*
 * bench_sysv: shmkit's System V model against the kernel's SysV calls, same machine, same run.
 * Rounds of each case alternate between the two so that drift on a noisy machine hits both.
 * Each round is the mean of a batch of operations; medians and p99 are over rounds.
 */
#include <errno.h>
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

static void die(const char *what)
{
	fprintf(stderr, "bench_sysv: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* One round of each case: returns mean ns per operation. */
static double round_lookup(const struct api *a, int id_unused, int batch)
{
	(void)id_unused;
	uint64_t t0 = bench_now_ns();
	for (int i = 0; i < batch; i++)
		if (a->get(key_base, 0, 0) < 0)
			die("lookup");
	return (double)(bench_now_ns() - t0) / batch;
}

static double round_attach(const struct api *a, int id, int batch)
{
	uint64_t t0 = bench_now_ns();
	for (int i = 0; i < batch; i++) {
		void *p = a->at(id, NULL, 0);
		if (p == (void *)-1 || a->dt(p) < 0)
			die("attach");
	}
	return (double)(bench_now_ns() - t0) / batch;
}

static double round_lifecycle(const struct api *a, int id_unused, int batch)
{
	(void)id_unused;
	uint64_t t0 = bench_now_ns();
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
	return (double)(bench_now_ns() - t0) / batch;
}

static double round_stat(const struct api *a, int id, int batch)
{
	struct shmid_ds ds;
	uint64_t t0 = bench_now_ns();
	for (int i = 0; i < batch; i++)
		if (a->ctl(id, IPC_STAT, &ds) < 0)
			die("stat");
	return (double)(bench_now_ns() - t0) / batch;
}

typedef double (*round_fn)(const struct api *, int, int);

struct result {
	struct bench_stats k, s;
};

static struct result compare(round_fn fn, int kid, int sid, int rounds, int batch)
{
	double *kr = calloc((size_t)rounds, sizeof(double));
	double *sr = calloc((size_t)rounds, sizeof(double));
	fn(&kernel, kid, batch); /* warm up */
	fn(&shmkit, sid, batch);
	for (int r = 0; r < rounds; r++) {
		kr[r] = fn(&kernel, kid, batch);
		sr[r] = fn(&shmkit, sid, batch);
	}
	struct result res = {bench_stats(kr, (size_t)rounds), bench_stats(sr, (size_t)rounds)};
	free(kr);
	free(sr);
	return res;
}

static void row(const char *name, struct result r, double target)
{
	double ratio = r.s.median / r.k.median;
	printf("| %s | %.0f | %.0f | %.0f | %.0f | %.2fx | <= %.1fx | %s |\n", name, r.k.median,
	       r.k.p99, r.s.median, r.s.p99, ratio, target, ratio <= target ? "met" : "NOT met");
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
	double *v = calloc((size_t)rounds, sizeof(double));
	struct shmid_ds ds;
	for (int r = 0; r < rounds; r++) {
		uint64_t t0 = bench_now_ns();
		for (int i = 0; i < 100; i++) {
			int k = (int)(((unsigned)r * 7919u + (unsigned)i * 104729u) % (unsigned)n);
			int id = shmkit_shmget(key_base + 100 + k, 0, 0);
			void *p = shmkit_shmat(id, NULL, 0);
			if (id < 0 || p == (void *)-1 || shmkit_shmdt(p) < 0 ||
			    shmkit_shmctl(id, IPC_STAT, &ds) < 0)
				die("scaled op");
		}
		v[r] = (double)(bench_now_ns() - t0) / 100;
	}
	struct bench_stats s = bench_stats(v, (size_t)rounds);
	for (int i = 0; i < n; i++)
		shmkit_shmctl(ids[i], IPC_RMID, NULL);
	free(ids);
	free(v);
	return s.median;
}

int main(void)
{
	char ns[64];
	snprintf(ns, sizeof(ns), "bench-%d", (int)getpid());
	key_base = (key_t)(0x6b000000 | ((getpid() & 0xffff) << 8));
	if (shmkit_ns_create(ns, 0600) < 0 || shmkit_ns_use(ns) < 0)
		die("namespace");
	struct shmkit_ns_limits lim = {.shmmni = 32768, .rmid_forced = -1};
	shmkit_ns_set_limits(ns, &lim);
	int kid = shmget(key_base, 4096, IPC_CREAT | IPC_EXCL | 0600);
	int sid = shmkit_shmget(key_base, 4096, IPC_CREAT | IPC_EXCL | 0600);
	if (kid < 0 || sid < 0)
		die("setup");

	printf("### System V model vs the kernel's SysV calls\n\n");
	printf(
	    "Each round is the mean of a batch; median and p99 over rounds, in ns per operation; "
	    "ratio = shmkit median / kernel median.\n\n");
	printf("| operation | kernel median | kernel p99 | shmkit median | shmkit p99 | ratio | "
	       "target | |\n|---|---|---|---|---|---|---|---|\n");
	row("shmget, existing key", compare(round_lookup, kid, sid, 200, 2000), 1.0);
	row("shmat + shmdt", compare(round_attach, kid, sid, 200, 200), 1.5);
	row("shmget + shmat + touch + shmdt + IPC_RMID",
	    compare(round_lifecycle, kid, sid, 100, 50), 1.5);
	row("shmctl IPC_STAT", compare(round_stat, kid, sid, 200, 2000), 1.0);

	double s10 = scaled(10, 100), s30k = scaled(30000, 100);
	printf("\nScaling (shmkit; shmget + shmat + shmdt + IPC_STAT on a random live key):\n\n");
	printf(
	    "| live segments | ns per op sequence |\n|---|---|\n| 10 | %.0f |\n| 30000 | %.0f |\n",
	    s10, s30k);
	printf("\ngrowth 10 -> 30000: %.2fx (target < 2x: %s)\n\n", s30k / s10,
	       s30k / s10 < 2.0 ? "met" : "NOT met");

	shmctl(kid, IPC_RMID, NULL);
	shmkit_ns_use(NULL);
	shmkit_ns_destroy(ns);
	return 0;
}
