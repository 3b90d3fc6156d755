/* SPDX-License-Identifier: MIT */
/*
 * The coordinator: for every pass, for every transport (the order rotates from pass to pass
 * so that slow drift of a noisy machine spreads over all of them), set the transport up,
 * fork and exec its two sides, send them the jobs (every size, round trip and throughput),
 * collect their samples, stop them and tear down. A side that reports a broken message, an
 * error, dies or misses its deadline fails that case only: the pair is stopped and a new
 * one runs the remaining jobs. Every transport gets the same sizes, the same number of
 * samples, the same CPUs and the same message contents.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "msg.h"

enum { TP_BATCHES = 5 }; /* timed batches per pass: the throughput samples */

struct pair {
	pid_t pid[2];
	int ctl[2];
	uint32_t seq; /* next sequence number: never reused while the pair lives */
};

static const char *const side_name[2] = {"client", "server"};

uint64_t bt_count(const struct bt_config *cfg, enum bt_mode m, size_t size)
{
	/* A nominal cost per message (not any transport's): only the duration scales it. */
	double nominal_ns = m == BT_RT ? 20000.0 + (double)size : 5000.0 + (double)size / 4;
	double n = cfg->duration * 1e9 / nominal_ns;
	double lo = 50;
	n = n < lo ? lo : n > 1e8 ? 1e8 : n;
	uint64_t unit = (uint64_t)cfg->passes * (m == BT_TP ? TP_BATCHES : 1);
	return ((uint64_t)n + unit - 1) / unit * unit;
}

static uint64_t warmup(uint64_t per_pass, enum bt_mode m)
{
	uint64_t w = per_pass / 10, lo = m == BT_RT ? 5 : 10, hi = m == BT_RT ? 2000 : 20000;
	return w < lo ? lo : w > hi ? hi : w;
}

/* ---- progress on stderr ---- */

static size_t jobs_total, jobs_done;

static void progress(const struct bt_run *run, int pass, const char *name, const char *what)
{
	int pct = jobs_total ? (int)(100 * jobs_done / jobs_total) : 0;
	if (isatty(2))
		fprintf(stderr, "\r\033[K[%3d%%] pass %d/%d  %-20s %s", pct, pass + 1,
		        run->cfg->passes, name, what);
	else if (!what[0])
		fprintf(stderr, "bench: [%3d%%] pass %d/%d %s\n", pct, pass + 1, run->cfg->passes,
		        name);
}

static void progress_end(void)
{
	if (isatty(2))
		fprintf(stderr, "\r\033[K");
}

/* ---- the two sides ---- */

static void fmt_fds(const struct bt_ctx *c, char *buf, size_t len)
{
	size_t off = 0;
	buf[0] = '\0';
	for (int i = 0; i < c->nfd && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%d", i ? "," : "", c->fd[i]);
}

static void exec_side(const struct bt_row *row, const struct bt_ctx *c, int role, int ctl, int cpu)
{
	char sctl[16], smax[32], sinst[16], fds[128];
	snprintf(sctl, sizeof(sctl), "%d", ctl);
	snprintf(smax, sizeof(smax), "%zu", c->max_size);
	snprintf(sinst, sizeof(sinst), "%u", c->instance);
	fmt_fds(c, fds, sizeof(fds));
	char *argv[] = {"shmkit-bench",
	                "--side",
	                (char *)side_name[role],
	                (char *)row->name,
	                (char *)(row->e->plugin ? row->e->plugin : "-"),
	                sctl,
	                smax,
	                (char *)c->rundir,
	                sinst,
	                fds,
	                (char *)c->arg,
	                NULL};
	/* The rendezvous and this side's control socket cross exec; nothing else does. */
	for (int i = 0; i < c->nfd; i++)
		fcntl(c->fd[i], F_SETFD, 0);
	fcntl(ctl, F_SETFD, 0);
	bn_pin_cpu(cpu);
	execv(bt_self_exe(), argv);
	_exit(127);
}

static int spawn(struct bt_run *run, struct bt_row *row, struct bt_ctx *c, struct pair *p)
{
	pid_t self = getpid();
	for (int role = 0; role < 2; role++) {
		int sv[2];
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
			return -errno;
		pid_t pid = fork();
		if (pid < 0)
			return -errno;
		if (pid == 0) {
			/* Die with the harness (checked after, in case it died before). */
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != self)
				_exit(1);
			exec_side(row, c, role, sv[1], run->cpu[role]);
		}
		close(sv[1]);
		p->pid[role] = pid;
		p->ctl[role] = sv[0];
		char spid[16];
		snprintf(spid, sizeof(spid), "%d", (int)pid);
		bt_host_tracked.track("pid", spid);
	}
	return 0;
}

/* How a side ended, for the reason of a failure. */
static void reap(struct pair *p, int role, bool kill_it, char *why, size_t len)
{
	if (p->pid[role] <= 0)
		return;
	int st = 0;
	if (kill_it)
		kill(p->pid[role], SIGKILL);
	for (int i = 0; i < 500 && waitpid(p->pid[role], &st, WNOHANG) == 0; i++)
		usleep(10000); /* a side given QUIT exits at once; 5 s is generous */
	if (waitpid(p->pid[role], &st, WNOHANG) == 0) {
		kill(p->pid[role], SIGKILL);
		waitpid(p->pid[role], &st, 0);
	}
	if (why && !kill_it && WIFSIGNALED(st))
		snprintf(why, len, "%s killed by signal %d (%s)", side_name[role], WTERMSIG(st),
		         strsignal(WTERMSIG(st)));
	else if (why && !kill_it && WIFEXITED(st) && WEXITSTATUS(st))
		snprintf(why, len, "%s exited with status %d", side_name[role], WEXITSTATUS(st));
	char spid[16];
	snprintf(spid, sizeof(spid), "%d", (int)p->pid[role]);
	bt_host_tracked.untrack("pid", spid);
	p->pid[role] = 0;
	close(p->ctl[role]);
}

static void stop_pair(struct pair *p, bool kill_them)
{
	for (int role = 0; role < 2; role++) {
		if (p->pid[role] > 0 && !kill_them)
			bt_ctl_send(p->ctl[role], BT_F_QUIT, NULL, 0, NULL, 0);
	}
	for (int role = 0; role < 2; role++)
		reap(p, role, kill_them, NULL, 0);
}

/*
 * Wait for one frame from each side (types: what each sent). A side's ERR/NA ends the wait
 * at once: the other may be blocked on a message that will never come. Returns 0 when both
 * answered, or -1 with why set.
 */
static int wait_both(struct pair *p, int timeout_ms, uint32_t type[2], void *pl[2], size_t len[2],
                     char *why, size_t wlen)
{
	bool got[2] = {false, false};
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!got[0] || !got[1]) {
		struct pollfd pfd[2];
		int n = 0, map[2];
		for (int r = 0; r < 2; r++)
			if (!got[r])
				pfd[n] = (struct pollfd){.fd = p->ctl[r], .events = POLLIN},
				map[n++] = r;
		struct timespec t1;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		long left = timeout_ms -
		            ((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
		int k = left > 0 ? poll(pfd, (nfds_t)n, (int)left) : 0;
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			snprintf(why, wlen, "timed out after %d s (%s%s%s did not finish)",
			         timeout_ms / 1000, got[0] ? "" : "client",
			         !got[0] && !got[1] ? ", " : "", got[1] ? "" : "server");
			return -1;
		}
		for (int i = 0; i < n; i++) {
			int r = map[i];
			if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (bt_ctl_recv(p->ctl[r], 10000, &type[r], &pl[r], &len[r]) < 0) {
				reap(p, r, false, why, wlen);
				if (!why[0])
					snprintf(why, wlen, "%s closed its control socket",
					         side_name[r]);
				return -1;
			}
			got[r] = true;
			if (type[r] == BT_F_ERR || type[r] == BT_F_NA)
				return 0;
		}
	}
	return 0;
}

/* ---- jobs ---- */

struct job {
	enum bt_mode mode;
	int size_idx;
};

static int case_deadline_ms(const struct bt_config *cfg, enum bt_mode m, size_t size)
{
	double nominal_s = (double)bt_count(cfg, m, size) / cfg->passes *
	                   (m == BT_RT ? 20e-6 + (double)size * 1e-9 : 5e-6 + (double)size / 4e9);
	return (int)(1000 * (20 + 40 * nominal_s));
}

/* SHMKIT_BENCH_CORRUPT: "N" (every transport) or "NAME:N[,NAME:N...]" (tests only). */
static uint32_t corrupt_at(const struct bt_config *cfg, const char *name)
{
	for (const char *p = cfg->corrupt; p && *p; p += strcspn(p, ","), p += *p == ',') {
		const char *colon = strchr(p, ':'), *end = p + strcspn(p, ",");
		if (!colon || colon > end)
			return (uint32_t)strtoul(p, NULL, 10);
		if ((size_t)(colon - p) == strlen(name) && !strncmp(p, name, strlen(name)))
			return (uint32_t)strtoul(colon + 1, NULL, 10);
	}
	return 0;
}

static void fail_case(struct bt_case *k, enum bt_status st, const char *why)
{
	if (k->status == BT_ST_FAILED)
		return;
	k->status = st;
	snprintf(k->why, sizeof(k->why), "%s", why);
}

/* Add one side's results to the case. */
static void merge(struct bt_case *k, const struct bt_job *j, int role, const void *pl, size_t len)
{
	const struct bt_done *d = pl;
	if (len < sizeof(*d) || len != sizeof(*d) + d->n * sizeof(uint64_t))
		return;
	const uint64_t *v = (const uint64_t *)(d + 1);
	k->cpu_ns += d->cpu_ns;
	if (role != BT_CLIENT)
		return;
	k->msgs += j->count;
	for (uint64_t i = 0; i < d->n; i++) {
		double x = (double)v[i];
		if (j->mode == BT_TP) /* messages per second in this batch */
			x = (double)(j->count / j->batches) * 1e9 / (x > 0 ? x : 1);
		bn_samples_add(&k->s, x);
	}
	if (k->status == BT_ST_PENDING)
		k->status = BT_ST_OK;
}

/* Run job j on the pair: 0 done (results or a failed case), -1 the pair must go. */
static int run_job(struct bt_run *run, struct bt_row *row, struct pair *p, const struct job *jb)
{
	const struct bt_config *cfg = run->cfg;
	size_t size = cfg->sizes[jb->size_idx];
	struct bt_case *k = &row->c[jb->mode][jb->size_idx];
	uint64_t per_pass = bt_count(cfg, jb->mode, size) / (uint64_t)cfg->passes;
	struct bt_job j = {
	    .mode = jb->mode,
	    .batches = jb->mode == BT_TP ? TP_BATCHES : 0,
	    .size = size,
	    .warmup = warmup(per_pass, jb->mode),
	    .count = per_pass,
	    .corrupt_at = corrupt_at(cfg, row->name),
	};
	if (p->seq + j.warmup + j.count + 1 >= BT_SEQ_MAX)
		return -1; /* a fresh pair starts numbering again */
	j.seq0 = p->seq;
	p->seq += (uint32_t)(j.warmup + j.count + 1);
	for (int r = 0; r < 2; r++)
		if (bt_ctl_send(p->ctl[r], BT_F_JOB, &j, sizeof(j), NULL, 0) < 0) {
			fail_case(k, BT_ST_FAILED, "a side is gone");
			return -1;
		}
	uint32_t type[2] = {0, 0};
	void *pl[2] = {NULL, NULL};
	size_t len[2] = {0, 0};
	char why[sizeof(k->why)] = "";
	int r =
	    wait_both(p, case_deadline_ms(cfg, jb->mode, size), type, pl, len, why, sizeof(why));
	for (int s = 0; r == 0 && s < 2; s++)
		if (type[s] == BT_F_ERR || type[s] == BT_F_NA) {
			snprintf(why, sizeof(why), "%s: %s", side_name[s], (char *)pl[s]);
			fail_case(k, type[s] == BT_F_NA ? BT_ST_NA : BT_ST_FAILED, why);
			r = -1;
		}
	if (r == 0)
		for (int s = 0; s < 2; s++)
			merge(k, &j, s, pl[s], len[s]);
	else if (why[0] && k->status != BT_ST_NA)
		fail_case(k, BT_ST_FAILED, why);
	free(pl[0]);
	free(pl[1]);
	return r;
}

static bool job_wanted(const struct bt_row *row, const struct job *jb)
{
	enum bt_status st = row->c[jb->mode][jb->size_idx].status;
	return st == BT_ST_PENDING || st == BT_ST_OK;
}

/* The applicable cases of a row, in the order a pass runs them. */
static int row_jobs(const struct bt_run *run, const struct bt_row *row, struct job *out)
{
	int n = 0;
	for (int m = 0; m < BT_NMODES; m++)
		for (int i = 0; i < run->cfg->nsizes; i++) {
			struct job jb = {(enum bt_mode)m, i};
			if (job_wanted(row, &jb))
				out[n++] = jb;
		}
	return n;
}

/* Sizes beyond what setup can carry, and modes the transport lacks: not applicable. */
static void mark_na(struct bt_run *run, struct bt_row *row, const struct bt_ctx *c)
{
	const struct bt_transport *t = row->e->t;
	for (int i = 0; i < run->cfg->nsizes; i++) {
		size_t size = run->cfg->sizes[i];
		for (int m = 0; m < BT_NMODES; m++) {
			struct bt_case *k = &row->c[m][i];
			if (k->status != BT_ST_PENDING)
				continue;
			if (size > c->max_size)
				fail_case(k, BT_ST_NA,
				          c->why_max[0] ? c->why_max : "size too large");
			else if (m == BT_TP && (t->flags & BT_RT_ONLY))
				fail_case(k, BT_ST_NA,
				          "round trip only: no queue for a one-way stream");
			else if (m == BT_RT && (t->flags & BT_TP_ONLY))
				fail_case(k, BT_ST_NA,
				          "no round trip: it is a copy within one process");
		}
	}
}

static size_t largest_size(const struct bt_config *cfg)
{
	size_t max = 0;
	for (int i = 0; i < cfg->nsizes; i++)
		max = cfg->sizes[i] > max ? cfg->sizes[i] : max;
	return max;
}

/* Start a pair: setup, both sides attached. 0, or -1 with every remaining job failed. */
static int start_pair(struct bt_run *run, struct bt_row *row, struct bt_ctx *c, struct pair *p,
                      bool *setup_done)
{
	const struct bt_transport *t = row->e->t;
	memset(c, 0, sizeof(*c));
	c->host = &bt_host_tracked;
	c->role = BT_PARENT;
	c->max_size = largest_size(run->cfg);
	c->rundir = run->rundir;
	c->instance = ++run->instance;
	char why[sizeof(row->why)] = "";
	int r = t->setup(c);
	*setup_done = true; /* teardown runs even after a failed setup: it removes the part made */
	if (r < 0)
		snprintf(why, sizeof(why), "setup: %s", c->err[0] ? c->err : strerror(-r));
	if (r == 0) {
		mark_na(run, row, c);
		for (int i = 0; i < c->nfd; i++)
			fcntl(c->fd[i], F_SETFD, FD_CLOEXEC); /* only the sides get them, and only
			                                          when exec'ed on purpose */
		r = spawn(run, row, c, p);
		for (int i = 0; i < c->nfd; i++)
			close(c->fd[i]);
		if (r < 0)
			snprintf(why, sizeof(why), "fork: %s", strerror(-r));
	}
	uint32_t type[2] = {0, 0};
	void *pl[2] = {NULL, NULL};
	size_t len[2] = {0, 0};
	if (r == 0 && wait_both(p, 30000, type, pl, len, why, sizeof(why)) == 0)
		for (int s = 0; s < 2; s++)
			if (type[s] != BT_F_READY) {
				snprintf(why, sizeof(why), "%s: %s", side_name[s],
				         pl[s] ? (char *)pl[s] : "no READY");
				r = -1;
			}
	if (r == 0 && why[0])
		r = -1;
	free(pl[0]);
	free(pl[1]);
	if (r == 0) {
		if (t->ready)
			t->ready(c);
		return 0;
	}
	struct job jobs[BT_NMODES * BT_MAX_SIZES];
	int n = row_jobs(run, row, jobs);
	for (int i = 0; i < n; i++)
		fail_case(&row->c[jobs[i].mode][jobs[i].size_idx], BT_ST_FAILED, why);
	return -1;
}

static void run_row_pass(struct bt_run *run, struct bt_row *row, int pass)
{
	struct job jobs[BT_NMODES * BT_MAX_SIZES];
	progress(run, pass, row->name, "");
	for (;;) {
		int n = row_jobs(run, row, jobs), done = 0;
		if (n == 0)
			break;
		struct bt_ctx c;
		struct pair p = {.seq = 1};
		bool setup_done;
		int r = start_pair(run, row, &c, &p, &setup_done);
		for (; r == 0 && done < n; done++) {
			const struct job *jb = &jobs[done];
			if (!job_wanted(row, jb))
				continue; /* setup found it beyond the transport */
			char what[64], sz[16];
			bt_size_name(run->cfg->sizes[jb->size_idx], sz, sizeof(sz));
			snprintf(what, sizeof(what), "%s %s",
			         jb->mode == BT_RT ? "round trip" : "throughput", sz);
			progress(run, pass, row->name, what);
			r = run_job(run, row, &p, jb);
			jobs_done++;
		}
		stop_pair(&p, r < 0);
		if (setup_done && row->e->t->teardown)
			row->e->t->teardown(&c);
		if (r == 0)
			break;
	}
}

/* ---- rows ---- */

static bool selected(const struct bt_config *cfg, const struct bt_entry *e)
{
	if (cfg->nonly == 0)
		return true;
	for (int i = 0; i < cfg->nonly; i++)
		if (bt_entry_matches(e, cfg->only[i]))
			return true;
	return false;
}

static void probe_row(struct bt_run *run, struct bt_row *row)
{
	const struct bt_transport *t = row->e->t;
	if (!t) {
		row->skipped = true;
		snprintf(row->why, sizeof(row->why), "%s", row->e->skip);
		return;
	}
	if ((t->flags & BT_BUSY) && run->ncpus < 2) {
		row->skipped = true;
		snprintf(row->why, sizeof(row->why),
		         "busy-polling needs two CPUs, this run has one");
		return;
	}
	struct bt_ctx c = {.host = &bt_host_tracked, .role = BT_PARENT, .rundir = run->rundir};
	c.max_size = largest_size(run->cfg);
	int r = t->probe ? t->probe(&c) : 0;
	if (r < 0) {
		row->skipped = true;
		snprintf(row->why, sizeof(row->why), "%s", c.err[0] ? c.err : strerror(-r));
	}
}

static int make_rows(struct bt_run *run)
{
	size_t n = bt_registry_count();
	run->rows = calloc(n ? n : 1, sizeof(*run->rows));
	if (!run->rows)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct bt_entry *e = bt_registry_get(i);
		const char *name = e->t ? e->t->name : e->plugin;
		if (!selected(run->cfg, e))
			continue;
		struct bt_row *row = &run->rows[run->nrows++];
		row->e = e;
		row->name = name;
		for (int m = 0; m < BT_NMODES; m++)
			for (int s = 0; s < run->cfg->nsizes; s++)
				bn_samples_init(&row->c[m][s].s, 64);
		probe_row(run, row);
		if (!row->skipped)
			jobs_total += (size_t)(BT_NMODES * run->cfg->nsizes * run->cfg->passes);
	}
	return 0;
}

static void pick_cpus(struct bt_run *run)
{
	cpu_set_t set;
	run->ncpus = 0;
	run->cpu[0] = run->cpu[1] = 0;
	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return;
	for (int i = 0; i < CPU_SETSIZE && run->ncpus < 2; i++)
		if (CPU_ISSET(i, &set))
			run->cpu[run->ncpus++] = i;
	if (run->ncpus == 1)
		run->cpu[1] = run->cpu[0];
	run->ncpus = CPU_COUNT(&set);
}

void bt_case_finish(struct bt_case *c, enum bt_mode m, size_t size)
{
	if (c->status != BT_ST_OK || c->s.n == 0) {
		if (c->status == BT_ST_OK || c->status == BT_ST_PENDING)
			fail_case(c, BT_ST_FAILED, "no samples");
		return;
	}
	bn_stats(&c->s, &c->st);
	c->cpu_per_m = c->msgs ? (double)c->cpu_ns / 1e9 / (double)c->msgs * 1e6 : 0;
	if (m == BT_TP) {
		c->rate = c->st.median;
		c->gbps = c->rate * (double)size / 1e9;
	}
}

/* The 1, 5 and 15 minute load averages: other work on the machine shows in every figure. */
static void read_load(char *buf, size_t len)
{
	FILE *f = fopen("/proc/loadavg", "r");
	double a[3];
	if (f && fscanf(f, "%lf %lf %lf", &a[0], &a[1], &a[2]) == 3)
		snprintf(buf, len, "%.2f %.2f %.2f", a[0], a[1], a[2]);
	else
		snprintf(buf, len, "unknown");
	if (f)
		fclose(f);
}

int bt_run_all(struct bt_run *run)
{
	const struct bt_config *cfg = run->cfg;
	const char *tmp = getenv("TMPDIR");
	snprintf(run->rundir, sizeof(run->rundir), "%s/shmkit-bench.XXXXXX",
	         tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(run->rundir))
		return -errno;
	bt_host_tracked.track("dir", run->rundir);
	pick_cpus(run);
	int r = make_rows(run);
	read_load(run->load_start, sizeof(run->load_start));
	uint64_t t0 = bn_now_ns();
	for (int pass = 0; r == 0 && pass < cfg->passes; pass++)
		for (size_t i = 0; i < run->nrows; i++) {
			struct bt_row *row = &run->rows[(i + (size_t)pass * 7) % run->nrows];
			if (!row->skipped)
				run_row_pass(run, row, pass);
		}
	progress_end();
	run->seconds = (double)(bn_now_ns() - t0) / 1e9;
	read_load(run->load_end, sizeof(run->load_end));
	for (size_t i = 0; i < run->nrows; i++)
		for (int m = 0; m < BT_NMODES; m++)
			for (int s = 0; s < cfg->nsizes; s++)
				if (!run->rows[i].skipped)
					bt_case_finish(&run->rows[i].c[m][s], (enum bt_mode)m,
					               cfg->sizes[s]);
	if (bt_remove_tree(run->rundir) == 0)
		bt_host_tracked.untrack("dir", run->rundir);
	return r;
}

void bt_run_free(struct bt_run *run)
{
	for (size_t i = 0; i < run->nrows; i++)
		for (int m = 0; m < BT_NMODES; m++)
			for (int s = 0; s < run->cfg->nsizes; s++)
				bn_samples_free(&run->rows[i].c[m][s].s);
	free(run->rows);
	run->rows = NULL;
	run->nrows = 0;
}
