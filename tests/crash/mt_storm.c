/* SPDX-License-Identifier: MIT */
/*
 * Description: crash storm. Eight processes run random System V operations in one namespace
 * — create, attach, detach, remove, stat, fork children that linger, exit, _exit or exec —
 * while the supervisor kill -9s workers and children at random and starts new workers.
 * Then everyone is stopped between two operations and, for every segment, nattch must equal
 * the mappings the kernel shows in /proc/PID/maps; no mapping may name a destroyed segment.
 * Then everyone is killed: nattch drops to 0, and removing every segment leaves nothing.
 *
 * SHMKIT_STORM_SECONDS (default 6) sets the length; `make soak` runs it for minutes.
 * Exit 0 pass, 1 fail, 77 skip.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "shmkit.h"
#include "sys/sys.h"
#include "sysv/registry.h"

#define WORKERS 8
#define IDS     48
#define PIDS    4096
#define KEYBASE 0x57000000

struct ctl {
	SK_ATOMIC(int) pause;
	SK_ATOMIC(int) ids[IDS];
	SK_ATOMIC(int) npids;
	SK_ATOMIC(int) pids[PIDS];
};

static struct ctl *ctl;
static char ns[64];
static unsigned seed;

static unsigned rnd(unsigned n)
{
	seed ^= seed << 13;
	seed ^= seed >> 17;
	seed ^= seed << 5;
	return n ? seed % n : 0;
}

static void note_pid(pid_t pid)
{
	int i = atomic_fetch_add(&ctl->npids, 1);
	if (i < PIDS)
		atomic_store(&ctl->pids[i], pid);
}

/* Stop between two operations once the supervisor asks: no lock is held here. */
static void maybe_pause(void)
{
	if (atomic_load(&ctl->pause))
		raise(SIGSTOP);
}

struct mine {
	void *addr[16];
	int n;
};

static void one_op(struct mine *m, int depth);

static void linger(struct mine *m, int depth)
{
	seed ^= (unsigned)getpid() * 2654435761u;
	note_pid(getpid());
	int steps = (int)rnd(30);
	for (int i = 0; i < steps; i++) {
		maybe_pause();
		if (rnd(3) == 0)
			one_op(m, depth + 1);
		usleep(1000 * rnd(10));
	}
	switch (rnd(4)) {
	case 0:
		exit(0); /* the destructor detaches */
	case 1:
		_exit(0); /* a sweep collects */
	case 2:
		execl("/bin/true", "true", (char *)NULL);
		_exit(0);
	default:
		for (;;) { /* until killed, or stopped and killed at the end */
			maybe_pause();
			usleep(10000);
		}
	}
}

static void one_op(struct mine *m, int depth)
{
	int slot = (int)rnd(IDS), id = atomic_load(&ctl->ids[slot]);
	struct shmid_ds ds;
	switch (rnd(10)) {
	case 0:
	case 1: {
		size_t size = 1 + rnd(4) * 4096 + rnd(4096);
		int flags = IPC_CREAT | 0600;
		int nid = rnd(4) ? shmkit_shmget(KEYBASE + (int)rnd(16), size, flags)
		                 : shmkit_shmget(IPC_PRIVATE, size, 0600);
		if (nid >= 0)
			atomic_store(&ctl->ids[slot], nid);
		break;
	}
	case 2:
	case 3:
		if (m->n < 16 && id > 0) {
			char *p = shmkit_shmat(id, NULL, 0);
			if (p != (void *)-1) {
				p[0] = 1;
				m->addr[m->n++] = p;
			}
		}
		break;
	case 4:
	case 5:
		if (m->n) {
			int k = (int)rnd((unsigned)m->n);
			shmkit_shmdt(m->addr[k]);
			m->addr[k] = m->addr[--m->n];
		}
		break;
	case 6:
		if (id > 0)
			shmkit_shmctl(id, IPC_RMID, NULL);
		break;
	case 7:
		if (id > 0)
			shmkit_shmctl(id, IPC_STAT, &ds);
		break;
	default:
		if (depth < 2 && rnd(2) == 0) {
			pid_t pid = fork();
			if (pid == 0)
				linger(m, depth); /* inherits every attachment */
		}
		break;
	}
}

static void worker(void)
{
	struct mine m = {.n = 0};
	seed ^= (unsigned)getpid() * 2246822519u;
	note_pid(getpid());
	for (;;) {
		maybe_pause();
		one_op(&m, 0);
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		if (rnd(4) == 0)
			usleep(rnd(2000));
	}
}

static pid_t spawn(void)
{
	pid_t pid = fork();
	if (pid == 0)
		worker();
	return pid;
}

static int fail(const char *what)
{
	fprintf(stderr, "storm: %s\n", what);
	return 1;
}

static char state_of(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

/* Wait until every process of the storm is stopped or gone. */
static int quiesce(void)
{
	for (int tries = 0; tries < 2000; tries++) {
		int busy = 0, n = atomic_load(&ctl->npids);
		for (int i = 0; i < n && i < PIDS; i++) {
			char s = state_of(atomic_load(&ctl->pids[i]));
			busy += s && s != 'T' && s != 't' && s != 'Z' && s != 'X';
		}
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		if (!busy)
			return 0;
		usleep(5000);
	}
	return -1;
}

/* Mappings of each segment's object, from every process's /proc/PID/maps. */
static int count_maps(int *ids, unsigned *counts, int max)
{
	char prefix[128];
	int n = 0;
	snprintf(prefix, sizeof(prefix), "/dev/shm/shmkit.%s/u%u/", ns, (unsigned)geteuid());
	int np = atomic_load(&ctl->npids);
	for (int i = 0; i < np && i < PIDS; i++) {
		char path[64], line[512];
		snprintf(path, sizeof(path), "/proc/%d/maps", (int)atomic_load(&ctl->pids[i]));
		FILE *f = fopen(path, "re");
		while (f && fgets(line, sizeof(line), f)) {
			char *p = strstr(line, prefix);
			if (!p)
				continue;
			int id = atoi(p + strlen(prefix)), k;
			if (strstr(p, "(deleted)"))
				id = -1 - id; /* a mapping of a destroyed segment */
			for (k = 0; k < n && ids[k] != id; k++)
				;
			if (k == n && n < max)
				ids[n] = id, counts[n] = 0, n++;
			if (k < max)
				counts[k]++;
		}
		if (f)
			fclose(f);
	}
	return n;
}

static int compare(void)
{
	static struct shmkit_seg_stat segs[SHMKIT_NS_MAX_SEGMENTS];
	int ids[512];
	unsigned counts[512];
	int nm = count_maps(ids, counts, 512);
	int ns_n = shmkit_ns_segments(ns, segs, SHMKIT_NS_MAX_SEGMENTS);
	if (ns_n < 0)
		return fail("cannot list the namespace");
	int bad = 0, total = 0;
	for (int k = 0; k < nm; k++) {
		if (ids[k] < 0) {
			fprintf(stderr, "storm: %u mappings of destroyed segment %d\n", counts[k],
			        -1 - ids[k]);
			bad++;
		}
	}
	for (int i = 0; i < ns_n; i++) {
		unsigned want = 0;
		for (int k = 0; k < nm; k++)
			if (ids[k] == segs[i].id)
				want = counts[k];
		total += (int)want;
		if (segs[i].ds.shm_nattch != want) {
			fprintf(stderr, "storm: segment %d: nattch %lu, mappings %u\n", segs[i].id,
			        (unsigned long)segs[i].ds.shm_nattch, want);
			bad++;
		}
	}
	fprintf(stderr, "storm: %d segments, %d mappings, %d processes: %s\n", ns_n, total,
	        atomic_load(&ctl->npids), bad ? "MISMATCH" : "nattch exact");
	return bad ? 1 : 0;
}

static int objects_left(void)
{
	char dir[128];
	snprintf(dir, sizeof(dir), "/dev/shm/shmkit.%s/u%u", ns, (unsigned)geteuid());
	DIR *d = opendir(dir);
	int n = 0;
	struct dirent *e;
	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

int main(void)
{
	const char *env = getenv("SHMKIT_STORM_SECONDS");
	double seconds = env ? atof(env) : 6;
	seed = (unsigned)time(NULL) ^ (unsigned)getpid();
	fprintf(stderr, "storm: seed %u, %.0f s\n", seed, seconds);
	snprintf(ns, sizeof(ns), "storm-%d", (int)getpid());
	if (shmkit_ns_create(ns, 0600) || shmkit_ns_use(ns))
		return fail("cannot create the namespace");
	ctl = mmap(NULL, sizeof(*ctl), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (ctl == MAP_FAILED)
		return fail("mmap");
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	pid_t workers[WORKERS];
	for (int i = 0; i < WORKERS; i++)
		workers[i] = spawn();
	uint64_t end = sk_mono_ns() + (uint64_t)(seconds * 1e9), kills = 0;
	while (sk_mono_ns() < end) {
		usleep(2000 + rnd(30000));
		int n = atomic_load(&ctl->npids);
		if (rnd(3) == 0 && n > 0) {
			pid_t victim =
			    atomic_load(&ctl->pids[rnd((unsigned)(n < PIDS ? n : PIDS))]);
			if (victim > 0)
				kill(victim, SIGKILL); /* a lingering child, or a worker */
		} else {
			int w = (int)rnd(WORKERS);
			kill(workers[w], SIGKILL);
			workers[w] = spawn();
		}
		kills++;
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		for (int w = 0; w < WORKERS; w++)
			if (kill(workers[w], 0) < 0 || state_of(workers[w]) == 'Z')
				workers[w] = spawn(); /* one that exited on its own */
		if (atomic_load(&ctl->npids) > PIDS - 64)
			break;
	}
	fprintf(stderr, "storm: %llu kills\n", (unsigned long long)kills);
	atomic_store(&ctl->pause, 1);
	int rc = quiesce() ? fail("processes did not stop") : compare();
	int np = atomic_load(&ctl->npids);
	for (int i = 0; i < np && i < PIDS; i++)
		kill(atomic_load(&ctl->pids[i]), SIGKILL);
	while (wait(NULL) > 0 || errno == EINTR)
		;
	/* Everyone is gone: nothing is attached, and removing everything leaves nothing. */
	static struct shmkit_seg_stat segs[SHMKIT_NS_MAX_SEGMENTS];
	int n = shmkit_ns_segments(ns, segs, SHMKIT_NS_MAX_SEGMENTS);
	for (int i = 0; i < n; i++) {
		if (segs[i].ds.shm_nattch)
			rc = fail("a segment is still attached after everyone died");
		shmkit_shmctl(segs[i].id, IPC_RMID, NULL);
	}
	struct sk_ns reg;
	char why[200] = "";
	if (sk_ns_open(&reg, ns, 0) == 0 && sk_reg_lock(&reg) == 0) {
		sk_reg_sweep(&reg);
		if (sk_reg_check(&reg, why, sizeof(why)))
			rc = fail(why);
		if (reg.hdr->in_use)
			rc = fail("segments left after removing them all");
		sk_reg_unlock(&reg);
		sk_ns_close(&reg);
	}
	if (objects_left())
		rc = fail("backing objects left behind");
	shmkit_ns_use(NULL);
	shmkit_ns_destroy(ns);
	return rc;
}
