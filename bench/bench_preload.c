/* SPDX-License-Identifier: MIT */
/*
 * bench_preload: what the LD_PRELOAD interposer (libshmkit-sysv.so) adds to a call, against
 * calling the library's shmkit_* functions directly.
 *
 * The same loops run in two child processes of this program: one calls shmkit_shmget & co.
 * (linked in), the other, started with LD_PRELOAD=libshmkit-sysv.so, calls plain shmget & co.,
 * which the interposer takes. Children alternate, round after round, so that drift on a noisy
 * machine hits both sides. Each sample is the mean of a batch of calls; medians and p99 are
 * over samples, pooled across rounds.
 *
 *   bench_preload [PRELOAD.so]    default: $SHMKIT_PRELOAD, else the build's interposer
 *                                 (SHMKIT_PRELOAD_PATH, see bench_preload.cmake), else
 *                                 <build>/preload/ next to this program's <build>/bench/
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "shmkit.h"

#define ROUNDS  6
#define SAMPLES 400 /* per round and operation */
#define BATCH   64  /* calls per sample */
#define KEY     0x5b3c0001

enum { OP_LOOKUP, OP_ATTACH, OP_STAT, NOPS };
static const char *const op_names[NOPS] = {
    "shmget (existing key)",
    "shmat + shmdt",
    "shmctl (IPC_STAT)",
};

static void die(const char *what)
{
	fprintf(stderr, "bench_preload: %s: %s\n", what, strerror(errno));
	exit(1);
}

/*
 * The loops, once per API: the macro keeps both sides the same code, one calling the
 * library's names and one calling libc's (which the interposer takes).
 */
#define MEASURE(GET, AT, DT, CTL, out)                                                             \
	do {                                                                                       \
		int id = GET(KEY, 4096, IPC_CREAT | 0600);                                         \
		if (id < 0)                                                                        \
			die("shmget");                                                             \
		struct shmid_ds ds;                                                                \
		for (int s = 0; s < SAMPLES; s++) {                                                \
			uint64_t t0 = bn_now_ns();                                                 \
			for (int i = 0; i < BATCH; i++)                                            \
				if (GET(KEY, 0, 0) != id)                                          \
					die("lookup");                                             \
			uint64_t t1 = bn_now_ns();                                                 \
			for (int i = 0; i < BATCH; i++) {                                          \
				void *p = AT(id, NULL, 0);                                         \
				if (p == (void *)-1 || DT(p) < 0)                                  \
					die("shmat/shmdt");                                        \
			}                                                                          \
			uint64_t t2 = bn_now_ns();                                                 \
			for (int i = 0; i < BATCH; i++)                                            \
				if (CTL(id, IPC_STAT, &ds) < 0)                                    \
					die("shmctl");                                             \
			uint64_t t3 = bn_now_ns();                                                 \
			out[OP_LOOKUP][s] = (double)(t1 - t0) / BATCH;                             \
			out[OP_ATTACH][s] = (double)(t2 - t1) / BATCH;                             \
			out[OP_STAT][s] = (double)(t3 - t2) / BATCH;                               \
		}                                                                                  \
		CTL(id, IPC_RMID, NULL);                                                           \
	} while (0)

/* Child: measure one side, write the samples to stdout (binary). */
static int child(int preload)
{
	static double out[NOPS][SAMPLES];
	if (preload)
		MEASURE(shmget, shmat, shmdt, shmctl, out);
	else
		MEASURE(shmkit_shmget, shmkit_shmat, shmkit_shmdt, shmkit_shmctl, out);
	if (fwrite(out, sizeof(out), 1, stdout) != 1)
		die("write");
	return 0;
}

static int find_preload(int argc, char **argv, char *out)
{
	const char *p = argc > 1 ? argv[1] : getenv("SHMKIT_PRELOAD");
	if (p && *p)
		return realpath(p, out) ? 0 : -1;
#ifdef SHMKIT_PRELOAD_PATH
	if (realpath(SHMKIT_PRELOAD_PATH, out))
		return 0;
#endif
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return -1;
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	char cand[PATH_MAX + 64];
	snprintf(cand, sizeof(cand), "%s/../preload/libshmkit-sysv.so", self);
	return realpath(cand, out) ? 0 : -1;
}

/* Run one side in a child and append its samples. */
static void run_side(int preload, const char *lib, double (*acc)[ROUNDS * SAMPLES], int round)
{
	int fd[2];
	if (pipe(fd) < 0)
		die("pipe");
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		dup2(fd[1], 1);
		close(fd[0]);
		close(fd[1]);
		if (preload)
			setenv("LD_PRELOAD", lib, 1);
		execl("/proc/self/exe", "bench_preload",
		      preload ? "--child-preload" : "--child-direct", (char *)NULL);
		_exit(127);
	}
	close(fd[1]);
	static double in[NOPS][SAMPLES];
	size_t got = 0;
	while (got < sizeof(in)) {
		ssize_t r = read(fd[0], (char *)in + got, sizeof(in) - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd[0]);
	int st;
	waitpid(pid, &st, 0);
	if (got != sizeof(in) || !WIFEXITED(st) || WEXITSTATUS(st)) {
		fprintf(stderr, "bench_preload: the %s child failed\n",
		        preload ? "preload" : "direct");
		exit(1);
	}
	for (int op = 0; op < NOPS; op++)
		memcpy(&acc[op][round * SAMPLES], in[op], sizeof(in[op]));
}

static struct bn_stats stats_of(const double *v, size_t n)
{
	struct bn_samples s;
	bn_samples_init(&s, n);
	for (size_t i = 0; i < n; i++)
		bn_samples_add(&s, v[i]);
	struct bn_stats st;
	bn_stats(&s, &st);
	bn_samples_free(&s);
	return st;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "--child-direct"))
		return child(0);
	if (argc == 2 && !strcmp(argv[1], "--child-preload"))
		return child(1);

	char lib[PATH_MAX];
	if (find_preload(argc, argv, lib) < 0) {
		fprintf(stderr, "bench_preload: libshmkit-sysv.so not found (argument or "
		                "SHMKIT_PRELOAD)\n");
		return 77;
	}
	char ns[64];
	snprintf(ns, sizeof(ns), "bench-preload-%d", (int)getpid());
	setenv(SHMKIT_NS_ENV, ns, 1);

	static double direct[NOPS][ROUNDS * SAMPLES], preload[NOPS][ROUNDS * SAMPLES];
	for (int r = 0; r < ROUNDS; r++) {
		/* Alternate which side goes first. */
		run_side(r & 1, lib, r & 1 ? preload : direct, r);
		run_side(!(r & 1), lib, r & 1 ? direct : preload, r);
	}
	shmkit_ns_destroy(ns);

	char what[512];
	snprintf(
	    what, sizeof(what),
	    "Plain libc calls in a process under LD_PRELOAD=libshmkit-sysv.so against the same "
	    "calls made to shmkit_* directly; ns per call, %d samples of %d calls per side in "
	    "%d alternating rounds (separate processes). Target: interposed median within 5%% "
	    "of direct.",
	    ROUNDS * SAMPLES, BATCH, ROUNDS);
	bn_section("LD_PRELOAD interposer overhead (libshmkit-sysv.so)", what);
	bn_header("operation", "direct median", "direct p99", "preload median", "preload p99",
	          "ratio (median)", "within 5%", NULL);
	for (int op = 0; op < NOPS; op++) {
		struct bn_stats d = stats_of(direct[op], ROUNDS * SAMPLES);
		struct bn_stats p = stats_of(preload[op], ROUNDS * SAMPLES);
		double ratio = p.median / d.median;
		bn_row(op_names[op], bn_fmt("%.0f", d.median), bn_fmt("%.0f", d.p99),
		       bn_fmt("%.0f", p.median), bn_fmt("%.0f", p.p99), bn_fmt("%.3f", ratio),
		       bn_met(ratio, 1.05), NULL);
	}
	return 0;
}
