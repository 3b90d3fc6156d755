/* SPDX-License-Identifier: MIT */
/*
 * chan_workqueue — a work queue: one process hands out jobs, several worker processes take
 * them, and the results come back to the first one.
 *
 *   chan_workqueue [NAME [WORKERS [JOBS]]]
 *
 * Two MPMC channels: NAME.jobs (one sender, WORKERS receivers: each job goes to one worker,
 * whichever is free) and NAME.results (WORKERS senders, one receiver). A feeder process sends
 * the jobs and closes; a worker that finds the queue empty with no sender left gets -EPIPE
 * and exits, and the collector's receive says -EPIPE once every worker is gone. The job is a
 * small computation (the Collatz steps of a number) that also takes a millisecond, as a real
 * one would, so that the jobs spread over the workers. The collector prints each result,
 * then checks that every job came back exactly once with the right answer.
 *
 * Every process opens its own handles (an inherited one is refused in a fork child).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <shmkit.h>

#define MAX_WORKERS 16

struct job {
	uint64_t n;
};
struct result {
	uint64_t n, steps;
	uint32_t worker, pad;
};

static int fail(const char *what, int err)
{
	fprintf(stderr, "chan_workqueue: %s: %s\n", what, strerror(-err));
	return 1;
}

/* The work: how many steps n takes to reach 1 (n -> n/2 or 3n+1). */
static uint64_t collatz(uint64_t n)
{
	uint64_t steps = 0;
	for (; n > 1; steps++)
		n = n % 2 ? 3 * n + 1 : n / 2;
	return steps;
}

/*
 * Send a job. This blocks while the queue is full and a worker lives; when it is full and no
 * worker is there (not yet, or not any more), send says -EPIPE at once: wait for room then,
 * for ten seconds at most.
 */
static int send_job(shmkit_chan_t *jobs_c, uint64_t n)
{
	int err;
	while ((err = shmkit_chan_send(jobs_c, &(struct job){n}, sizeof(struct job), NULL)) ==
	       -EPIPE) {
		struct pollfd p = {.fd = shmkit_chan_fd(jobs_c), .events = POLLOUT};
		if (p.fd < 0)
			return p.fd;
		if (poll(&p, 1, 10000) == 0)
			return -EPIPE;
	}
	return err;
}

static int feeder(const char *jobs_name, uint64_t jobs)
{
	shmkit_chan_t *jobs_c;
	int err = shmkit_chan_open(&jobs_c, jobs_name, SHMKIT_CHAN_SEND);
	if (err < 0)
		return fail("open jobs", err);
	for (uint64_t n = 1; n <= jobs && err >= 0; n++)
		err = send_job(jobs_c, n);
	shmkit_chan_close(jobs_c); /* the workers' -EPIPE, once they have taken every job */
	return err < 0 ? fail("send job", err) : 0;
}

static int worker(uint32_t id, const char *jobs_name, const char *results_name)
{
	shmkit_chan_t *jobs_c, *results_c;
	int err = shmkit_chan_open(&jobs_c, jobs_name, SHMKIT_CHAN_RECV);
	if (err < 0)
		return fail("open jobs", err);
	err = shmkit_chan_open(&results_c, results_name, SHMKIT_CHAN_SEND);
	if (err < 0) {
		shmkit_chan_close(jobs_c);
		return fail("open results", err);
	}
	struct job j;
	ssize_t len;
	while ((len = shmkit_chan_recv(jobs_c, &j, sizeof(j), NULL)) == sizeof(j)) {
		struct result r = {j.n, collatz(j.n), id, 0};
		nanosleep(&(struct timespec){0, 1000 * 1000}, NULL); /* as a real job would */
		err = shmkit_chan_send(results_c, &r, sizeof(r), NULL);
		if (err < 0)
			break;
	}
	shmkit_chan_close(results_c);
	shmkit_chan_close(jobs_c);
	if (err < 0)
		return fail("send result", err);
	if (len != -EPIPE) /* -EPIPE: no job left and the feeder is gone: done */
		return fail("receive job", len < 0 ? (int)len : -EBADMSG);
	return 0;
}

/* Receive every result; 0 if each job came back once with the right answer. */
static int collect(shmkit_chan_t *results_c, uint64_t jobs, uint32_t workers)
{
	unsigned char *seen = calloc(jobs + 1, 1);
	uint64_t got = 0, wrong = 0, twice = 0, per_worker[MAX_WORKERS] = {0};
	struct result r;
	ssize_t len;
	if (!seen)
		return fail("calloc", -ENOMEM);
	while ((len = shmkit_chan_recv(results_c, &r, sizeof(r), NULL)) == sizeof(r)) {
		if (r.n < 1 || r.n > jobs || r.worker >= workers) {
			wrong++;
			continue;
		}
		printf("job %4llu: %3llu steps (worker %u)\n", (unsigned long long)r.n,
		       (unsigned long long)r.steps, r.worker);
		got++;
		twice += seen[r.n]++ > 0;
		wrong += r.steps != collatz(r.n);
		per_worker[r.worker]++;
	}
	uint64_t missing = 0;
	for (uint64_t n = 1; n <= jobs; n++)
		missing += !seen[n];
	free(seen);
	if (len != -EPIPE) /* -EPIPE: every worker has closed */
		return fail("receive result", len < 0 ? (int)len : -EBADMSG);
	printf("%llu jobs, %llu results:", (unsigned long long)jobs, (unsigned long long)got);
	for (uint32_t w = 0; w < workers; w++)
		printf(" worker %u did %llu;", w, (unsigned long long)per_worker[w]);
	printf(" %llu missing, %llu twice, %llu wrong\n", (unsigned long long)missing,
	       (unsigned long long)twice, (unsigned long long)wrong);
	return missing || twice || wrong;
}

int main(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : "shmkit-workqueue";
	uint32_t workers = argc > 2 ? (uint32_t)atoi(argv[2]) : 3;
	uint64_t jobs = argc > 3 ? strtoull(argv[3], NULL, 10) : 20;
	if (argc > 4 || workers < 1 || workers > MAX_WORKERS || jobs < 1 || jobs > 1u << 24) {
		fprintf(stderr, "usage: chan_workqueue [NAME [WORKERS (1-%d) [JOBS]]]\n",
		        MAX_WORKERS);
		return 2;
	}
	char jobs_name[SHMKIT_CHAN_NAME_MAX + 1], results_name[SHMKIT_CHAN_NAME_MAX + 1];
	snprintf(jobs_name, sizeof(jobs_name), "%s.jobs", name);
	snprintf(results_name, sizeof(results_name), "%s.results", name);

	struct shmkit_chan_config jcfg = {
	    .kind = SHMKIT_CHAN_MPMC, .msg_size = sizeof(struct job), .capacity = 64};
	struct shmkit_chan_config rcfg = {
	    .kind = SHMKIT_CHAN_MPMC, .msg_size = sizeof(struct result), .capacity = 64};
	int err = shmkit_chan_create(jobs_name, &jcfg);
	if (err < 0)
		return fail("create jobs", err);
	if ((err = shmkit_chan_create(results_name, &rcfg)) < 0) {
		shmkit_chan_unlink(jobs_name);
		return fail("create results", err);
	}
	shmkit_chan_t *results_c;
	if ((err = shmkit_chan_open(&results_c, results_name, SHMKIT_CHAN_RECV)) < 0) {
		shmkit_chan_unlink(jobs_name);
		shmkit_chan_unlink(results_name);
		return fail("open results", err);
	}
	fflush(stdout); /* nothing buffered twice into the children */

	pid_t pids[MAX_WORKERS + 1];
	uint32_t started = 0;
	for (; started <= workers; started++) {
		pids[started] = fork();
		if (pids[started] == 0) /* workers 0..WORKERS-1, then the feeder */
			_exit(started < workers ? worker(started, jobs_name, results_name)
			                        : feeder(jobs_name, jobs));
		if (pids[started] < 0)
			break;
	}
	int status;
	if (started == workers + 1) {
		status = collect(results_c, jobs, workers);
	} else { /* a fork failed: stop the others */
		status = fail("fork", -errno);
		for (uint32_t i = 0; i < started; i++)
			kill(pids[i], SIGKILL);
	}
	shmkit_chan_close(results_c); /* (if collect gave up, a worker still sending: -EPIPE) */
	for (uint32_t i = 0; i < started; i++) {
		int ws;
		if (waitpid(pids[i], &ws, 0) != pids[i] || !WIFEXITED(ws) || WEXITSTATUS(ws))
			status = 1;
	}
	shmkit_chan_unlink(jobs_name);
	shmkit_chan_unlink(results_name);
	return status;
}
