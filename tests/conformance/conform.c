/* SPDX-License-Identifier: MIT */
/*
 * conform — differential conformance driver for the System V shared-memory model.
 *
 * Every sequence is generated from its seed alone: each step draws a fixed number of random
 * words, and operands are chosen as ordinals among the entities the sequence knows (ids in
 * order of first appearance, attachments in order of creation). Two backends that behave alike
 * therefore run the same steps and print the same normalized trace; the first divergence shows
 * up as the first differing line. See tests/conformance/README.md.
 *
 * Process layout: the driver runs each sequence in a forked "sequence process", so that every
 * mapping it made disappears with it; children forked by a sequence (fork steps, non-root
 * steps, crash probes) report their trace lines to it through a pipe. The driver then checks
 * that the sequence left nothing behind and removes whatever it did leave.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/random.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef CONFORM_SHMKIT
#include <shmkit.h>
/* Weak: the driver builds before the sysv layer exists; --backend shmkit then exits 77. */
#pragma weak shmkit_shmget
#pragma weak shmkit_shmat
#pragma weak shmkit_shmdt
#pragma weak shmkit_shmctl
#pragma weak shmkit_ns_create
#pragma weak shmkit_ns_use
#pragma weak shmkit_ns_destroy
#pragma weak shmkit_ns_set_limits
#endif

#define NKEYS      4
#define MAX_IDS    512
#define MAX_ATTS   512
#define MAX_KIDS   256
#define GUARD_LEN  (4u << 20)
#define NOBODY     65534
#define CHILD_MS   10000
#define SEQ_MS     60000
#define ANNOUNCE   '\001'
#define REG_SLOTS  4000
#define LINE_MAX_C 4096

#ifndef SHM_STAT_ANY
#define SHM_STAT_ANY 15
#endif
#ifndef SHM_EXEC
#define SHM_EXEC 0100000
#endif
#ifndef IPC_64
#define IPC_64 0x100
#endif

/* The operations under test, as a table so that the same program drives any implementation. */
struct backend {
	const char *name;
	int (*get)(key_t key, size_t size, int flg);
	void *(*at)(int id, const void *addr, int flg);
	int (*dt)(const void *addr);
	int (*ctl)(int id, int cmd, struct shmid_ds *buf);
	int (*open)(void);   /* 0 or -errno; 77-style skip reported as -ENOSYS */
	void (*close)(void); /* must be safe to call more than once */
	bool kernel_table;   /* may use a private IPC namespace */
};

/* --rmid-forced: kernel.shm_rmid_forced=1, every segment is destroyed when unattached. */
static bool rmid_forced;

/* The sysctl is per IPC namespace: main() only lets this run in a private one. */
static int kernel_open(void)
{
	if (!rmid_forced)
		return 0;
	int fd = open("/proc/sys/kernel/shm_rmid_forced", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int e = write(fd, "1\n", 2) == 2 ? 0 : -errno;
	close(fd);
	return e;
}

static void noop_close(void) {}

static const struct backend be_kernel = {"kernel", shmget,      shmat,      shmdt,
                                         shmctl,   kernel_open, noop_close, true};
static const struct backend be_libc = {"libc", shmget,      shmat,      shmdt,
                                       shmctl, kernel_open, noop_close, true};

#ifdef CONFORM_SHMKIT
static char ns_name[SHMKIT_NS_NAME_MAX + 1];
static pid_t ns_owner;

static int shmkit_open(void)
{
	unsigned r = 0;
	if (!shmkit_shmget || !shmkit_shmat || !shmkit_shmdt || !shmkit_shmctl ||
	    !shmkit_ns_create || !shmkit_ns_use || !shmkit_ns_destroy || !shmkit_ns_set_limits)
		return -ENOSYS;
	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		r = (unsigned)getpid() * 2654435761u;
	snprintf(ns_name, sizeof(ns_name), "conform-%d-%08x", (int)getpid(), r);
	/* 0666: the non-root steps must be able to join the namespace. */
	int e = shmkit_ns_create(ns_name, 0666);
	if (e < 0)
		return e;
	ns_owner = getpid();
	if (rmid_forced) {
		/* 0: the kernel's live value for the other limits. */
		struct shmkit_ns_limits l = {.rmid_forced = 1};
		e = shmkit_ns_set_limits(ns_name, &l);
		if (e < 0)
			return e;
	}
	return shmkit_ns_use(ns_name);
}

static void shmkit_close(void)
{
	/* Only the driver that created the namespace removes it, once. */
	if (ns_owner && ns_owner == getpid())
		shmkit_ns_destroy(ns_name);
	ns_owner = 0;
}

static const struct backend be_shmkit = {"shmkit",      shmkit_shmget, shmkit_shmat, shmkit_shmdt,
                                         shmkit_shmctl, shmkit_open,   shmkit_close, false};
#endif

static const struct backend *const backends[] = {
    &be_kernel,
    &be_libc,
#ifdef CONFORM_SHMKIT
    &be_shmkit,
#endif
};

/* Ids every process of a sequence learned, in memory shared with the driver for cleanup. */
struct id_registry {
	int n;
	int ids[REG_SLOTS];
};

struct idrec {
	int id;
	size_t size; /* requested size at creation; 0 if unknown */
	bool rmid;   /* this process removed it (it may live on while attached) */
};

struct att {
	char *addr;
	size_t len; /* mapped length: the segment size rounded up to pages */
	size_t size;
	bool alive; /* still mapped by this process, as an attachment of its own segment */
	bool rdonly;
};

/* Everything a sequence knows, symbolically; copied into children by fork. */
struct ctx {
	const struct backend *be;
	uint64_t rng;
	int step, sub;
	char tag[16];
	int out_fd;
	bool in_child;
	key_t keys[NKEYS];
	struct idrec ids[MAX_IDS];
	int nids;
	struct att atts[MAX_ATTS];
	int natts;
	pid_t kids[MAX_KIDS];
	int nkids;
	pid_t self, parent;
	int nfree;
	char *guard;
	long base_used;
	unsigned long base_tot;
	char line[LINE_MAX_C];
	size_t len;
};

/* Run-wide settings. */
static struct {
	const struct backend *be;
	long seed, count;
	int ops;
	const char *trace_dir;
	bool verbose, root, private_ns;
	uint32_t key_base;
	size_t page;
	size_t shmmax;
	struct id_registry *reg;
} run;

static volatile sig_atomic_t stop;

/* ---- output ---------------------------------------------------------------------------- */

static void write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EPIPE)
			stop = SIGPIPE; /* the reader is gone: finish this sequence, run no more */
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

static void say(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct ctx *c, const char *fmt, ...)
{
	va_list ap;
	if (c->len >= sizeof(c->line) - 2)
		return;
	va_start(ap, fmt);
	int n = vsnprintf(c->line + c->len, sizeof(c->line) - 2 - c->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		c->len += (size_t)n;
	if (c->len > sizeof(c->line) - 2)
		c->len = sizeof(c->line) - 2;
}

static void endl(struct ctx *c)
{
	c->line[c->len++] = '\n';
	write_all(c->out_fd, c->line, c->len);
	c->len = 0;
}

static void begin(struct ctx *c, const char *op)
{
	c->len = 0;
	if (c->in_child)
		say(c, "%d.%d %s %s", c->step, c->sub, c->tag, op);
	else
		say(c, "%d %s", c->step, op);
}

static void vlog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void vlog(const char *fmt, ...)
{
	char b[512];
	va_list ap;
	if (!run.verbose)
		return;
	va_start(ap, fmt);
	int n = vsnprintf(b, sizeof(b), fmt, ap);
	va_end(ap);
	if (n > 0)
		write_all(2, b, (size_t)n < sizeof(b) ? (size_t)n : sizeof(b) - 1);
}

/* A symbolic name from the libc when it has one, else the number. */
static const char *sym(const char *name, char prefix, int v)
{
	static char b[16];
	if (name)
		return name;
	snprintf(b, sizeof(b), "%c%d", prefix, v);
	return b;
}

#ifndef __GLIBC__
#define strerrorname_np(e) NULL
#define sigabbrev_np(s)    NULL
#endif

static const char *errname(int e)
{
	return sym(strerrorname_np(e), 'E', e);
}

static const char *signame(int s)
{
	return sym(sigabbrev_np(s), '#', s);
}

static void say_status(struct ctx *c, int st, bool timed_out)
{
	if (timed_out)
		say(c, "TIMEOUT");
	else if (WIFEXITED(st))
		say(c, "exit:%d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		say(c, "signal:%s", signame(WTERMSIG(st)));
	else
		say(c, "status:%#x", st);
}

/* ---- randomness ------------------------------------------------------------------------ */

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

#define NDRAW 6
/* A fixed number of draws per step keeps later steps aligned even after a divergence. */
static void draw(struct ctx *c, uint64_t r[NDRAW])
{
	for (int i = 0; i < NDRAW; i++)
		r[i] = splitmix(&c->rng);
}

/* ---- symbolic names -------------------------------------------------------------------- */

static size_t round_page(size_t n)
{
	return (n + run.page - 1) & ~(run.page - 1);
}

static void announce(struct ctx *c, char kind, long a, unsigned long b)
{
	char m[64];
	if (!c->in_child)
		return;
	int n = snprintf(m, sizeof(m), "%c%c %ld %lu\n", ANNOUNCE, kind, a, b);
	write_all(c->out_fd, m, (size_t)n);
}

static void registry_add(int id)
{
	int i = __atomic_fetch_add(&run.reg->n, 1, __ATOMIC_RELAXED);
	if (i >= 0 && i < REG_SLOTS)
		run.reg->ids[i] = id;
}

static int ordinal(struct ctx *c, int id)
{
	for (int i = 0; i < c->nids; i++)
		if (c->ids[i].id == id)
			return i;
	return -1;
}

/* The ordinal of id, registering it (with its creation size) on first appearance. */
static int learn_id(struct ctx *c, int id, size_t size)
{
	int k = ordinal(c, id);
	if (k >= 0 || c->nids >= MAX_IDS)
		return k;
	k = c->nids++;
	c->ids[k] = (struct idrec){id, size, false};
	registry_add(id);
	announce(c, 'I', id, size);
	return k;
}

static void say_id(struct ctx *c, int id)
{
	int k = ordinal(c, id);
	if (k >= 0)
		say(c, "id#%d", k);
	else
		say(c, "id?");
}

static void say_key(struct ctx *c, key_t key)
{
	if (key == IPC_PRIVATE) {
		say(c, "PRIVATE");
		return;
	}
	for (int k = 0; k < NKEYS; k++)
		if (c->keys[k] == key) {
			say(c, "key#%d", k);
			return;
		}
	say(c, "key?");
}

static void say_pid(struct ctx *c, pid_t p)
{
	if (p == 0)
		say(c, "0");
	else if (p == c->self)
		say(c, "self");
	else if (p == c->parent)
		say(c, "parent");
	else {
		for (int k = 0; k < c->nkids; k++)
			if (c->kids[k] == p) {
				say(c, "child#%d", k + 1);
				return;
			}
		say(c, "other");
	}
}

static void say_err(struct ctx *c, int e)
{
	say(c, " = %s", errname(e));
}

static void say_stat(struct ctx *c, const struct shmid_ds *d)
{
	say(c, " {key=");
	say_key(c, d->shm_perm.__key);
	say(c, " uid=%u gid=%u cuid=%u cgid=%u mode=%04o segsz=%zu nattch=%lu cpid=",
	    (unsigned)d->shm_perm.uid, (unsigned)d->shm_perm.gid, (unsigned)d->shm_perm.cuid,
	    (unsigned)d->shm_perm.cgid, (unsigned)d->shm_perm.mode, (size_t)d->shm_segsz,
	    (unsigned long)d->shm_nattch);
	say_pid(c, d->shm_cpid);
	say(c, " lpid=");
	say_pid(c, d->shm_lpid);
	say(c, " atime=%s dtime=%s ctime=%s}", d->shm_atime ? "set" : "0",
	    d->shm_dtime ? "set" : "0", d->shm_ctime ? "set" : "0");
}

/* ---- operand choice -------------------------------------------------------------------- */

struct idpick {
	int id;
	int k; /* ordinal, or -1 for a synthetic id */
	size_t size;
};

/* Ordinal of a known id: mostly one not removed yet, biased to recent ones. */
static int pick_known(struct ctx *c, uint64_t r)
{
	int live[MAX_IDS], n = 0;
	for (int i = 0; i < c->nids; i++)
		if (!c->ids[i].rmid)
			live[n++] = i;
	if (n == 0 || r % 5 == 0)
		return (int)((r / 5) % (uint64_t)c->nids);
	r /= 5;
	if (r % 2 && n > 3)
		return live[n - 1 - (int)((r / 2) % 3)];
	return live[(r / 2) % (uint64_t)n];
}

/* A known id, -1, INT_MIN, or a known id with a foreign sequence number. */
static struct idpick pick_id(struct ctx *c, uint64_t r)
{
	unsigned v = r % 24;
	r /= 24;
	if (c->nids == 0 || v == 0) {
		say(c, " -1");
		return (struct idpick){-1, -1, 0};
	}
	if (v == 1) {
		say(c, " INT_MIN");
		return (struct idpick){INT_MIN, -1, 0};
	}
	int k = pick_known(c, r);
	if (v == 2) {
		say(c, " forged(id#%d)", k);
		return (struct idpick){c->ids[k].id ^ (1 << 30), -1, 0};
	}
	say(c, " id#%d", k);
	return (struct idpick){c->ids[k].id, k, c->ids[k].size};
}

static int pick_att(struct ctx *c, uint64_t r, bool alive_only)
{
	int live[MAX_ATTS], n = 0;
	for (int i = 0; i < c->natts; i++)
		if (c->atts[i].addr && (c->atts[i].alive || !alive_only))
			live[n++] = i;
	return n ? live[r % (uint64_t)n] : -1;
}

/* An address nothing is mapped at, big enough for len: reserve it, then give it back. */
static char *free_addr(size_t len)
{
	void *p = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	munmap(p, len);
	return p;
}

/* Forget attachments whose memory another mapping has replaced (SHM_REMAP). */
static void kill_overlaps(struct ctx *c, const char *a, size_t len)
{
	for (int i = 0; i < c->natts; i++) {
		struct att *t = &c->atts[i];
		if (t->alive && t->addr < a + len && a < t->addr + t->len)
			t->alive = false;
	}
}

/*
 * Keep a detached attachment's range reserved, so that no later attachment lands there and a
 * stale address keeps meaning "nothing attached here" whatever the mapping layout is.
 */
static void placeholder(const struct att *t)
{
	void *p = mmap(t->addr, t->len, PROT_NONE,
	               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
	if (p != MAP_FAILED && p != t->addr)
		munmap(p, t->len);
}

static int add_att(struct ctx *c, char *addr, size_t size, bool rdonly)
{
	if (c->natts >= MAX_ATTS)
		return -1;
	int k = c->natts++;
	c->atts[k] = (struct att){addr, round_page(size ? size : 1), size, true, rdonly};
	if (size == 0)
		c->atts[k].alive = false; /* length unknown: never touch it */
	announce(c, 'A', k, 0);
	return k;
}

/* ---- steps ----------------------------------------------------------------------------- */

static const size_t sizes[] = {1, 4095, 4096, 4096, 4097, 65536, 1 << 20, 0, 4096, 100, 8192, 0};
static const int modes[] = {0600, 0640, 0644, 0400, 0000, 0666};

static void say_flags(struct ctx *c, int flg)
{
	say(c, " ");
	if (flg & IPC_CREAT)
		say(c, "CREAT|");
	if (flg & IPC_EXCL)
		say(c, "EXCL|");
	if (flg & SHM_NORESERVE)
		say(c, "NORESERVE|");
	say(c, "%04o", flg & 0777);
}

static void op_get(struct ctx *c, const uint64_t *r)
{
	unsigned kv = r[0] % 10;
	key_t key = kv == 0 ? IPC_PRIVATE : c->keys[(r[0] / 10) % NKEYS];
	/* A 32-bit size_t has no SHMMAX+1 past the kernel's default SHMMAX: the draw is 0 there. */
	bool over = r[1] % 16 == 15 && run.shmmax < SIZE_MAX;
	size_t size = over ? run.shmmax + 1 : r[1] % 16 == 15 ? 0 : sizes[(r[1] / 16) % 12];
	int flg = modes[r[2] % 6];
	if ((r[2] / 6) % 4 != 0)
		flg |= IPC_CREAT;
	if ((r[2] / 24) % 4 == 0)
		flg |= IPC_EXCL;
	if ((r[2] / 96) % 16 == 0)
		flg |= SHM_NORESERVE;
	begin(c, "shmget ");
	say_key(c, key);
	if (over)
		say(c, " SHMMAX+1");
	else
		say(c, " %zu", size);
	say_flags(c, flg);
	int id = c->be->get(key, size, flg);
	if (id < 0) {
		say_err(c, errno);
	} else {
		bool fresh = ordinal(c, id) < 0;
		learn_id(c, id, size);
		say(c, " = ");
		say_id(c, id);
		if (fresh)
			say(c, " new");
	}
	endl(c);
}

/* Where to attach: the address and its symbolic name; may adjust flags to stay memory-safe. */
static char *at_addr(struct ctx *c, uint64_t r, size_t len, int *flg)
{
	unsigned mode = r % 20;
	r /= 20;
	int a;
	switch (mode) {
	case 10:
	case 11:
	case 19: {
		char *p = free_addr(len + run.page);
		say(c, " free#%d", c->nfree++);
		return p;
	}
	case 12: {
		char *p = free_addr(len + run.page);
		if (r % 2)
			*flg |= SHM_RND;
		say(c, " free#%d+0x123", c->nfree++);
		return p ? p + 0x123 : NULL;
	}
	case 13: /* rounds down to 0: with SHM_REMAP the kernel refuses (see the zero-page probe) */
		*flg |= SHM_RND | SHM_REMAP;
		say(c, " 0x123");
		return (char *)0x123;
	case 16:
		*flg &= ~SHM_REMAP;
		/* fall through */
	case 14:
	case 15:
		a = pick_att(c, r, true);
		/* SHM_REMAP replaces what is there: only over an attachment at least as long. */
		if (a >= 0 && (!(*flg & SHM_REMAP) || len <= c->atts[a].len)) {
			size_t off = (mode == 16 && c->atts[a].len > run.page) ? run.page : 0;
			say(c, " att#%d+%zu", a, off);
			return c->atts[a].addr + off;
		}
		/* Nothing safe to overlap: use the guard region. */
		/* fall through */
	case 17:
	case 18: {
		size_t off = (r % 16) * run.page;
		if ((r / 16) % 2)
			*flg |= SHM_REMAP;
		if (off + len > GUARD_LEN) {
			char *p = free_addr(len + run.page);
			say(c, " free#%d", c->nfree++);
			return p;
		}
		say(c, " guard+%zu", off);
		return c->guard + off;
	}
	default:
		say(c, " NULL");
		return NULL;
	}
}

static void say_shmat_flags(struct ctx *c, int flg)
{
	say(c, " ");
	if (!(flg & (SHM_RDONLY | SHM_EXEC | SHM_REMAP | SHM_RND)))
		say(c, "0");
	const char *sep = "";
	if (flg & SHM_RDONLY)
		say(c, "%sRDONLY", sep), sep = "|";
	if (flg & SHM_EXEC)
		say(c, "%sEXEC", sep), sep = "|";
	if (flg & SHM_REMAP)
		say(c, "%sREMAP", sep), sep = "|";
	if (flg & SHM_RND)
		say(c, "%sRND", sep);
}

static void op_at(struct ctx *c, const uint64_t *r)
{
	begin(c, "shmat");
	struct idpick p = pick_id(c, r[0]);
	size_t len = round_page(p.size ? p.size : (1 << 20) + 1);
	int flg = 0;
	if (r[2] % 4 == 0)
		flg |= SHM_RDONLY;
	if ((r[2] / 4) % 10 == 0)
		flg |= SHM_EXEC;
	if ((r[2] / 40) % 8 == 0)
		flg |= SHM_REMAP;
	if ((r[2] / 320) % 6 == 0)
		flg |= SHM_RND;
	char *addr = at_addr(c, r[1], len, &flg);
	say_shmat_flags(c, flg);
	char *res = c->be->at(p.id, addr, flg);
	if (res == (char *)-1) {
		say_err(c, errno);
		endl(c);
		return;
	}
	vlog("shmat(%d, %p, %#x) = %p\n", p.id, (void *)addr, flg, (void *)res);
	kill_overlaps(c, res, len);
	int k = add_att(c, res, p.size, flg & SHM_RDONLY);
	say(c, " = att#%d", k);
	if (addr) {
		char *want = (flg & SHM_RND) ? (char *)((uintptr_t)addr & ~(run.page - 1)) : addr;
		say(c, res == want ? " @req" : " @other");
	}
	endl(c);
}

static void op_dt(struct ctx *c, const uint64_t *r)
{
	static char heap_page[8192] __attribute__((aligned(4096)));
	unsigned mode = r[0] % 12;
	int a = pick_att(c, r[1], mode != 6);
	char *addr;
	begin(c, "shmdt");
	if (a < 0 && mode < 9)
		mode = 9;
	switch (mode) {
	case 7: {
		/* Inside the attachment; its end could be the start of a neighbour. */
		size_t off = c->atts[a].len > run.page ? run.page : 1;
		say(c, " att#%d+%zu", a, off);
		addr = c->atts[a].addr + off;
		break;
	}
	case 8:
		say(c, " att#%d+1", a);
		addr = c->atts[a].addr + 1;
		break;
	case 9:
		say(c, " free#%d", c->nfree++);
		addr = free_addr(run.page);
		break;
	case 10:
		say(c, " guard+%zu", run.page);
		addr = c->guard + run.page;
		break;
	case 11:
		say(c, " static");
		addr = heap_page;
		break;
	default:
		say(c, " att#%d", a);
		addr = c->atts[a].addr;
		break;
	}
	if (c->be->dt(addr) < 0) {
		say_err(c, errno);
	} else {
		say(c, " = ok");
		for (int i = 0; i < c->natts; i++)
			if (c->atts[i].alive && c->atts[i].addr == addr) {
				c->atts[i].alive = false;
				placeholder(&c->atts[i]);
			}
	}
	endl(c);
}

/* Few distinct offsets, so that reads meet earlier writes (persistence, sharing). */
static size_t pick_offset(const struct att *t, uint64_t r)
{
	switch (r % 8) {
	case 0:
		return 0;
	case 1:
		return t->size - 1;
	case 2:
		return t->len - 1; /* past segsz, inside the last page */
	case 3:
	case 4:
		return t->len > run.page ? run.page : t->len / 2;
	case 5:
		return (r / 8) % t->len;
	default:
		return 0;
	}
}

/* Start a step on a live attachment; prints "none" and returns -1 if there is none. */
static int begin_att(struct ctx *c, const char *op, uint64_t r)
{
	begin(c, op);
	int a = pick_att(c, r, true);
	if (a < 0) {
		say(c, " none");
		endl(c);
	}
	return a;
}

static void op_rw(struct ctx *c, const uint64_t *r, bool wr)
{
	int a = begin_att(c, wr ? "write" : "read", r[0]);
	if (a < 0)
		return;
	struct att *t = &c->atts[a];
	size_t off = pick_offset(t, r[1]);
	say(c, " att#%d+%zu", a, off);
	volatile unsigned char *p = (volatile unsigned char *)t->addr + off;
	if (!wr) {
		say(c, " = 0x%02x", *p);
	} else if (t->rdonly) {
		say(c, " = skipped(rdonly)");
	} else {
		unsigned char v = (unsigned char)(1 + r[2] % 255);
		*p = v;
		say(c, " 0x%02x = ok", v);
	}
	endl(c);
}

static void op_mprotect(struct ctx *c, const uint64_t *r)
{
	int a = begin_att(c, "mprotect", r[0]);
	if (a < 0)
		return;
	struct att *t = &c->atts[a];
	say(c, " att#%d RW", a);
	/* The whole attachment: a partial change would split the VMA and change nattch. */
	if (mprotect(t->addr, t->len, PROT_READ | PROT_WRITE) < 0) {
		say_err(c, errno);
	} else {
		say(c, " = ok");
		t->rdonly = false;
	}
	endl(c);
}

static void finish_stat(struct ctx *c, int ret, const struct shmid_ds *d, bool ret_is_id)
{
	if (ret < 0) {
		say_err(c, errno);
		return;
	}
	if (ret_is_id) {
		say(c, " = ");
		learn_id(c, ret, 0);
		say_id(c, ret);
	} else {
		say(c, ret == 0 ? " = ok" : " = ret%d", ret);
	}
	say_stat(c, d);
}

static void op_stat(struct ctx *c, const uint64_t *r)
{
	struct shmid_ds d;
	memset(&d, 0, sizeof(d));
	begin(c, "shmctl");
	struct idpick p = pick_id(c, r[0]);
	bool null_buf = r[1] % 16 == 0;
	say(c, " IPC_STAT%s", null_buf ? " NULL" : "");
	int ret = c->be->ctl(p.id, IPC_STAT, null_buf ? NULL : &d);
	if (null_buf)
		ret < 0 ? say_err(c, errno) : say(c, " = ok");
	else
		finish_stat(c, ret, &d, false);
	endl(c);
}

static void op_set(struct ctx *c, const uint64_t *r)
{
	static const unsigned set_modes[] = {0600, 0640, 0644, 0400, 0000, 0666, 0700, 0755, 01644};
	struct shmid_ds d;
	memset(&d, 0, sizeof(d));
	begin(c, "shmctl");
	struct idpick p = pick_id(c, r[0]);
	d.shm_perm.mode = (unsigned short)set_modes[r[1] % 9];
	switch (r[2] % 20) {
	case 0:
	case 1:
	case 2:
		d.shm_perm.uid = NOBODY;
		d.shm_perm.gid = NOBODY;
		break;
	case 3:
	case 4:
		d.shm_perm.gid = NOBODY; /* group access through gid, not cgid */
		break;
	case 5:
		d.shm_perm.uid = NOBODY; /* owner access through uid, not cuid */
		break;
	case 6:
		d.shm_perm.uid = (uid_t)-1;
		break;
	default:
		break;
	}
	bool null_buf = r[3] % 24 == 0;
	if (null_buf)
		say(c, " IPC_SET NULL");
	else
		say(c, " IPC_SET mode=%04o uid=%d gid=%d", d.shm_perm.mode, (int)d.shm_perm.uid,
		    (int)d.shm_perm.gid);
	if (c->be->ctl(p.id, IPC_SET, null_buf ? NULL : &d) < 0)
		say_err(c, errno);
	else
		say(c, " = ok");
	endl(c);
}

static void op_simple_ctl(struct ctx *c, const uint64_t *r, int cmd, const char *name)
{
	begin(c, "shmctl");
	struct idpick p = pick_id(c, r[0]);
	say(c, " %s", name);
	if (c->be->ctl(p.id, cmd, NULL) < 0) {
		say_err(c, errno);
	} else {
		say(c, " = ok");
		if (cmd == IPC_RMID && p.k >= 0)
			c->ids[p.k].rmid = true;
	}
	endl(c);
}

static void op_rmid(struct ctx *c, const uint64_t *r)
{
	op_simple_ctl(c, r, IPC_RMID, "IPC_RMID");
}

static void op_lock(struct ctx *c, const uint64_t *r)
{
	if (r[1] % 2)
		op_simple_ctl(c, r, SHM_LOCK, "SHM_LOCK");
	else
		op_simple_ctl(c, r, SHM_UNLOCK, "SHM_UNLOCK");
}

static int shm_info(const struct backend *be, struct shm_info *si)
{
	memset(si, 0, sizeof(*si));
	return be->ctl(0, SHM_INFO, (struct shmid_ds *)(void *)si);
}

static void op_info(struct ctx *c, const uint64_t *r)
{
	unsigned v = r[0] % 5;
	int id = v == 4 ? -1 : 0;
	if (v == 3 && c->nids)
		id = c->ids[c->nids - 1].id; /* the id is ignored */
	int cmd = v % 2 ? SHM_INFO : IPC_INFO;
	begin(c, "shmctl");
	say(c, " %s %s",
	    v == 4              ? "-1"
	    : v == 3 && c->nids ? "id#last"
	                        : "0",
	    cmd == SHM_INFO ? "SHM_INFO" : "IPC_INFO");
	if (cmd == IPC_INFO) {
		struct shminfo si;
		memset(&si, 0, sizeof(si));
		if (c->be->ctl(id, IPC_INFO, (struct shmid_ds *)(void *)&si) < 0)
			say_err(c, errno);
		else
			say(c, " = ok {shmmax=%lu shmmin=%lu shmmni=%lu shmseg=%lu shmall=%lu}",
			    si.shmmax, si.shmmin, si.shmmni, si.shmseg, si.shmall);
	} else {
		struct shm_info si;
		memset(&si, 0, sizeof(si));
		if (c->be->ctl(id, SHM_INFO, (struct shmid_ds *)(void *)&si) < 0)
			say_err(c, errno);
		else
			say(c,
			    " = ok {used_ids=%+ld shm_tot=%+ld swap_attempts=%lu "
			    "swap_successes=%lu}",
			    (long)si.used_ids - c->base_used, (long)(si.shm_tot - c->base_tot),
			    si.swap_attempts, si.swap_successes);
	}
	endl(c);
}

static void op_shmstat(struct ctx *c, const uint64_t *r)
{
	struct shmid_ds d;
	memset(&d, 0, sizeof(d));
	bool any = r[1] % 2;
	begin(c, "shmctl");
	if (c->nids == 0) {
		say(c, " none");
		endl(c);
		return;
	}
	int k = (int)(r[0] % (uint64_t)c->nids);
	/* Only indexes of this sequence's own segments: others are global state. */
	bool full = r[2] % 4 == 0; /* the whole id: only its index bits count */
	say(c, " %s(id#%d) %s", full ? "fullid" : "idx", k, any ? "SHM_STAT_ANY" : "SHM_STAT");
	int idx = full ? c->ids[k].id : c->ids[k].id & 0x7fff;
	int ret = c->be->ctl(idx, any ? SHM_STAT_ANY : SHM_STAT, &d);
	finish_stat(c, ret, &d, true);
	endl(c);
}

static void op_badcmd(struct ctx *c, const uint64_t *r)
{
	static const struct {
		int cmd;
		const char *name;
		bool neg_id;
	} bad[] = {
	    {4, "cmd4", false},           {100, "cmd100", false},
	    {-1, "cmd-1", false},         {IPC_STAT | IPC_64, "IPC_STAT|IPC_64", false},
	    {IPC_STAT, "IPC_STAT", true}, {IPC_RMID, "IPC_RMID", true},
	    {SHM_LOCK, "SHM_LOCK", true}, {IPC_INFO, "IPC_INFO", true},
	};
	unsigned v = r[1] % 8;
	struct shmid_ds d;
	memset(&d, 0, sizeof(d));
	begin(c, "shmctl");
	struct idpick p = {-1, -1, 0};
	if (bad[v].neg_id)
		say(c, " -1");
	else
		p = pick_id(c, r[0]);
	say(c, " %s", bad[v].name);
	int ret = c->be->ctl(p.id, bad[v].cmd, &d);
	if (ret < 0)
		say_err(c, errno);
	else if (bad[v].cmd == (IPC_STAT | IPC_64) || bad[v].cmd == IPC_STAT)
		finish_stat(c, ret, &d, false);
	else
		say(c, " = ok");
	endl(c);
}

/* ---- children -------------------------------------------------------------------------- */

enum where { MAIN = 1, CHILD = 2, NOBODY_CHILD = 4 };
enum op {
	OP_GET,
	OP_AT,
	OP_DT,
	OP_WRITE,
	OP_READ,
	OP_MPROT,
	OP_STAT,
	OP_SET,
	OP_RMID,
	OP_LOCK,
	OP_INFO,
	OP_SHMSTAT,
	OP_BADCMD,
	OP_FORK,
	OP_NOBODY,
	OP_ROWRITE,
	OP_ZEROPAGE,
};

static const struct {
	enum op op;
	unsigned weight;
	unsigned where;
} optab[] = {
    {OP_GET, 14, MAIN | CHILD | NOBODY_CHILD},
    {OP_AT, 20, MAIN | CHILD | NOBODY_CHILD},
    {OP_DT, 7, MAIN | CHILD | NOBODY_CHILD},
    {OP_WRITE, 7, MAIN | CHILD | NOBODY_CHILD},
    {OP_READ, 7, MAIN | CHILD | NOBODY_CHILD},
    {OP_MPROT, 2, MAIN | CHILD | NOBODY_CHILD},
    {OP_STAT, 9, MAIN | CHILD | NOBODY_CHILD},
    {OP_SET, 4, MAIN | CHILD | NOBODY_CHILD},
    {OP_RMID, 7, MAIN | CHILD | NOBODY_CHILD},
    {OP_LOCK, 2, MAIN | CHILD | NOBODY_CHILD},
    {OP_INFO, 2, MAIN | CHILD | NOBODY_CHILD},
    {OP_SHMSTAT, 3, MAIN | CHILD | NOBODY_CHILD},
    {OP_BADCMD, 2, MAIN | NOBODY_CHILD},
    {OP_FORK, 5, MAIN},
    {OP_NOBODY, 5, MAIN},
    {OP_ROWRITE, 1, MAIN},
    {OP_ZEROPAGE, 1, MAIN},
};

static void run_step(struct ctx *c, unsigned where);

/*
 * Wait for a child to end, SIGKILLing it after ms (false on timeout). With group, SIGKILL its
 * process group too, before reaping it: the unreaped leader keeps the group id from reuse.
 */
static bool wait_child(pid_t pid, int ms, int *st, bool group)
{
	bool ok = true;
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pfd >= 0) {
		struct pollfd p = {.fd = pfd, .events = POLLIN};
		int r;
		while ((r = poll(&p, 1, ms)) < 0 && errno == EINTR && !stop)
			;
		if (r <= 0) {
			kill(pid, SIGKILL);
			ok = false;
		}
		close(pfd);
	} else {
		siginfo_t si;
		while (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) < 0 && errno == EINTR)
			;
	}
	if (group)
		kill(-pid, SIGKILL);
	while (waitpid(pid, st, 0) < 0)
		if (errno != EINTR) {
			*st = 0;
			return false;
		}
	return ok;
}

/* Copy a child's report into the trace; learn the ids and attachments it announced. */
static void relay(struct ctx *c, int fd)
{
	static char buf[1 << 16];
	size_t n = 0;
	ssize_t r;
	while (n < sizeof(buf) - 1 &&
	       ((r = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0 || (r < 0 && errno == EINTR)))
		if (r > 0)
			n += (size_t)r;
	buf[n] = 0;
	for (char *l = buf, *e; l < buf + n; l = e + 1) {
		e = strchr(l, '\n');
		if (!e)
			e = buf + n;
		if (*l == ANNOUNCE) {
			long a;
			unsigned long b;
			if (sscanf(l + 1, "I %ld %lu", &a, &b) == 2 && ordinal(c, (int)a) < 0 &&
			    c->nids < MAX_IDS)
				c->ids[c->nids++] = (struct idrec){(int)a, b, false};
			else if (sscanf(l + 1, "A %ld", &a) == 1 && c->natts < MAX_ATTS)
				c->atts[c->natts++] = (struct att){0};
			continue;
		}
		write_all(c->out_fd, l, (size_t)(e - l) + (e < buf + n));
	}
}

/* Fork a child that runs body(c, r) with its output going through a pipe; wait and relay. */
static void in_child(struct ctx *c, const char *tag, void (*body)(struct ctx *, const uint64_t *),
                     const uint64_t *r)
{
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0 || c->nkids >= MAX_KIDS) {
		say(c, " = harness:%s", errname(errno));
		endl(c);
		return;
	}
	int label = c->nkids + 1;
	say(c, " %s%d", tag, label);
	endl(c);
	pid_t pid = fork();
	if (pid == 0) {
		close(pfd[0]);
		c->parent = c->self;
		c->self = getpid();
		c->out_fd = pfd[1];
		c->in_child = true;
		snprintf(c->tag, sizeof(c->tag), "%s%d", tag, label);
		body(c, r);
		_exit(0);
	}
	close(pfd[1]);
	int st = 0;
	bool ok = pid > 0 && wait_child(pid, CHILD_MS, &st, false);
	if (pid > 0)
		c->kids[c->nkids++] = pid;
	relay(c, pfd[0]);
	close(pfd[0]);
	c->len = 0;
	say(c, "%d %s%d ", c->step, tag, label);
	if (pid < 0)
		say(c, "fork:%s", errname(errno));
	else
		say_status(c, st, !ok);
	endl(c);
}

static void child_steps(struct ctx *c, int n, unsigned where)
{
	for (c->sub = 1; c->sub <= n; c->sub++)
		run_step(c, where);
}

static void fork_body(struct ctx *c, const uint64_t *r)
{
	c->rng = r[3];
	child_steps(c, 1 + (int)(r[1] % 4), CHILD);
	c->sub = 0;
	begin(c, "end");
	switch (r[2] % 4) {
	case 0:
		say(c, " exit");
		endl(c);
		exit(0);
	case 1:
		say(c, " _exit");
		endl(c);
		_exit(0);
	case 2:
		say(c, " SIGKILL");
		endl(c);
		raise(SIGKILL);
		_exit(1);
	default:
		say(c, " exec");
		endl(c);
		execl("/bin/true", "true", (char *)NULL);
		_exit(127);
	}
}

static void op_fork(struct ctx *c, const uint64_t *r)
{
	begin(c, "fork");
	in_child(c, "c", fork_body, r);
}

/*
 * The memlock limit of a non-root child is 0 or the hard limit. The kernel charges SHM_LOCK
 * to the user across all processes (other runs' children included), so only the 0 case and
 * small locks far below the hard limit are independent of who else is running.
 */
static void nobody_body(struct ctx *c, const uint64_t *r)
{
	struct rlimit rl;
	getrlimit(RLIMIT_MEMLOCK, &rl);
	rl.rlim_cur = r[2] % 4 == 0 ? 0 : rl.rlim_max;
	rl.rlim_max = rl.rlim_cur;
	if (setrlimit(RLIMIT_MEMLOCK, &rl) < 0 || setgroups(0, NULL) < 0 || setgid(NOBODY) < 0 ||
	    setuid(NOBODY) < 0) {
		begin(c, "setuid");
		say_err(c, errno);
		endl(c);
		_exit(1);
	}
	c->rng = r[3];
	child_steps(c, 1 + (int)(r[1] % 3), NOBODY_CHILD);
	_exit(0);
}

static void op_nobody(struct ctx *c, const uint64_t *r)
{
	begin(c, "as-nobody");
	if (!run.root) {
		say(c, " skipped(not root)");
		endl(c);
		return;
	}
	say(c, " memlock=%s", r[2] % 4 == 0 ? "0" : "max");
	in_child(c, "u", nobody_body, r);
}

/*
 * Default action for the fault, even under a sanitizer that intercepts signal() and
 * sigaction(): an all-zero kernel sigaction is SIG_DFL, no flags, empty mask on every ABI.
 */
static void default_fault_action(void)
{
	uint64_t ksa[4] = {0};
	syscall(SYS_rt_sigaction, SIGSEGV, ksa, NULL, 8);
	syscall(SYS_rt_sigaction, SIGBUS, ksa, NULL, 8);
}

static void rowrite_body(struct ctx *c, const uint64_t *r)
{
	default_fault_action();
	*(volatile char *)c->atts[r[4]].addr = 0x5a;
	_exit(0);
}

/* A write through a read-only attachment must fault: probe it in a child. */
static void op_rowrite(struct ctx *c, const uint64_t *r)
{
	uint64_t rr[NDRAW];
	memcpy(rr, r, sizeof(rr));
	begin(c, "write-probe");
	int a = -1;
	for (int i = c->natts - 1; i >= 0 && a < 0; i--)
		if (c->atts[i].alive && c->atts[i].rdonly)
			a = i;
	if (a < 0)
		a = pick_att(c, r[0], true);
	if (a < 0) {
		say(c, " none");
		endl(c);
		return;
	}
	say(c, " att#%d+0", a);
	rr[4] = (uint64_t)a;
	in_child(c, "w", rowrite_body, rr);
}

static void zeropage_body(struct ctx *c, const uint64_t *r)
{
	begin(c, "shmat");
	struct idpick p = pick_id(c, r[0]);
	say(c, " 0x123 RND");
	char *res = c->be->at(p.id, (void *)0x123, SHM_RND);
	if (res == (char *)-1)
		say_err(c, errno);
	else
		say(c, " = %s", res == NULL ? "address0" : "other");
	endl(c);
	_exit(0);
}

/* SHM_RND rounding to 0 without SHM_REMAP maps page 0: only ever in a throw-away child. */
static void op_zeropage(struct ctx *c, const uint64_t *r)
{
	begin(c, "zero-page-probe");
	in_child(c, "z", zeropage_body, r);
}

static void run_step(struct ctx *c, unsigned where)
{
	uint64_t r[NDRAW];
	unsigned total = 0;
	draw(c, r);
	for (size_t i = 0; i < sizeof(optab) / sizeof(optab[0]); i++)
		if (optab[i].where & where)
			total += optab[i].weight;
	unsigned w = (unsigned)(r[5] % total);
	size_t i = 0;
	for (;; i++) {
		if (!(optab[i].where & where))
			continue;
		if (w < optab[i].weight)
			break;
		w -= optab[i].weight;
	}
	/* Without any id most steps only probe EINVAL: get to a segment sooner. */
	if (c->nids == 0 && r[5] % 2)
		i = 0;
	switch (optab[i].op) {
	case OP_GET:
		return op_get(c, r);
	case OP_AT:
		return op_at(c, r);
	case OP_DT:
		return op_dt(c, r);
	case OP_WRITE:
		return op_rw(c, r, true);
	case OP_READ:
		return op_rw(c, r, false);
	case OP_MPROT:
		return op_mprotect(c, r);
	case OP_STAT:
		return op_stat(c, r);
	case OP_SET:
		return op_set(c, r);
	case OP_RMID:
		return op_rmid(c, r);
	case OP_LOCK:
		return op_lock(c, r);
	case OP_INFO:
		return op_info(c, r);
	case OP_SHMSTAT:
		return op_shmstat(c, r);
	case OP_BADCMD:
		return op_badcmd(c, r);
	case OP_FORK:
		return op_fork(c, r);
	case OP_NOBODY:
		return op_nobody(c, r);
	case OP_ROWRITE:
		return op_rowrite(c, r);
	case OP_ZEROPAGE:
		return op_zeropage(c, r);
	}
}

/* ---- sequences ------------------------------------------------------------------------- */

static void seq_keys(struct ctx *c, long seed)
{
	for (int k = 0; k < NKEYS; k++) {
		uint32_t v = run.key_base + (uint32_t)seed * 2654435761u + (uint32_t)k;
		c->keys[k] = (key_t)(v ? v : 0x5eed);
	}
}

/* The sequence process: run the steps, then remove every segment it knows. */
static void seq_main(long seed, int out_fd)
{
	static struct ctx c;
	memset(&c, 0, sizeof(c));
	c.be = run.be;
	c.out_fd = out_fd;
	c.rng = (uint64_t)seed * 0xd1342543de82ef95ULL + 1;
	c.self = getpid();
	c.parent = getppid();
	seq_keys(&c, seed);
	c.guard =
	    mmap(NULL, GUARD_LEN, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	struct shm_info si;
	if (c.guard == MAP_FAILED || shm_info(c.be, &si) < 0) {
		c.len = 0;
		say(&c, "0 setup = %s", errname(errno));
		endl(&c);
		_exit(2);
	}
	c.base_used = si.used_ids;
	c.base_tot = si.shm_tot;
	for (c.step = 1; c.step <= run.ops; c.step++)
		run_step(&c, MAIN);
	int ok = 0, einval = 0, other = 0;
	for (int k = 0; k < c.nids; k++) {
		if (c.be->ctl(c.ids[k].id, IPC_RMID, NULL) == 0)
			ok++;
		else if (errno == EINVAL)
			einval++;
		else
			other++;
	}
	c.len = 0;
	say(&c, "end rmid-all ok=%d EINVAL=%d other=%d", ok, einval, other);
	endl(&c);
	_exit(0);
}

static int open_trace(long seed)
{
	if (!run.trace_dir)
		return 1;
	char path[4096];
	snprintf(path, sizeof(path), "%s/%ld.trace", run.trace_dir, seed);
	return open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
}

/* Remove what a sequence left, by the ids it registered (never anyone else's). */
static void cleanup_ids(void)
{
	int n = run.reg->n < REG_SLOTS ? run.reg->n : REG_SLOTS;
	for (int i = 0; i < n; i++)
		run.be->ctl(run.reg->ids[i], IPC_RMID, NULL);
}

/* Children of a dead sequence that were left running come to us (subreaper): reap them. */
static void reap_orphans(pid_t pgid)
{
	int st;
	while (waitpid(-pgid, &st, 0) > 0 || errno == EINTR)
		;
}

/* One sequence: returns false if the harness itself failed. */
static bool one_sequence(long seed)
{
	int fd = open_trace(seed);
	if (fd < 0) {
		perror("conform: trace file");
		return false;
	}
	char hdr[64];
	int n = snprintf(hdr, sizeof(hdr), "=== seed %ld\n", seed);
	write_all(fd, hdr, (size_t)n);
	run.reg->n = 0;
	struct shm_info before, after;
	int e0 = shm_info(run.be, &before);
	pid_t pid = fork();
	if (pid == 0) {
		setpgid(0, 0);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		seq_main(seed, fd);
	}
	int st = 0;
	bool ok = pid > 0 && wait_child(pid, SEQ_MS, &st, true);
	if (pid > 0)
		reap_orphans(pid);
	int e1 = shm_info(run.be, &after);
	struct ctx c = {.out_fd = fd};
	say(&c, "=== end seed %ld ", seed);
	say_status(&c, st, !ok);
	if (e0 < 0 || e1 < 0)
		say(&c, " shm_info=%s", errname(errno));
	else
		say(&c, " left: used_ids=%+ld shm_tot=%+ld", (long)after.used_ids - before.used_ids,
		    (long)(after.shm_tot - before.shm_tot));
	endl(&c);
	cleanup_ids();
	if (fd != 1)
		close(fd);
	return pid > 0;
}

/* ---- driver ---------------------------------------------------------------------------- */

static void on_signal(int s)
{
	stop = s;
}

static void usage(void)
{
	fprintf(stderr, "usage: conform --backend B --seed S --count N [--ops M] [--trace-dir D]"
	                " [--ipcns private|shared] [--verbose]\nbackends:");
	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
		fprintf(stderr, " %s", backends[i]->name);
	fprintf(stderr, "\n");
	exit(2);
}

/* The kernel's SHMMAX, at most SIZE_MAX (a 32-bit process's size_t cannot say more). */
static size_t read_shmmax(void)
{
	unsigned long long v = 0;
	FILE *f = fopen("/proc/sys/kernel/shmmax", "r");
	if (!f || fscanf(f, "%llu", &v) != 1)
		v = ULLONG_MAX - (1ULL << 24);
	if (f)
		fclose(f);
	return v < SIZE_MAX ? (size_t)v : SIZE_MAX;
}

#ifdef CONFORM_SHMKIT
/*
 * --ns-create NAME [--rmid-forced] | --ns-destroy NAME: namespace set-up for runs of
 * conform_libc under the preload.
 */
static void ns_tool(int argc, char **argv)
{
	if (argc < 3 || (strcmp(argv[1], "--ns-create") && strcmp(argv[1], "--ns-destroy")))
		return;
	if (!shmkit_ns_create || !shmkit_ns_destroy || !shmkit_ns_set_limits)
		exit(77);
	int e;
	if (!strcmp(argv[1], "--ns-destroy")) {
		e = shmkit_ns_destroy(argv[2]);
	} else {
		e = shmkit_ns_create(argv[2], 0666);
		if (e == 0 && argc > 3 && !strcmp(argv[3], "--rmid-forced")) {
			struct shmkit_ns_limits l = {.rmid_forced = 1};
			e = shmkit_ns_set_limits(argv[2], &l);
		}
	}
	if (e < 0)
		fprintf(stderr, "conform: %s %s: %s\n", argv[1], argv[2], strerror(-e));
	exit(e < 0);
}
#else
static void ns_tool(int argc, char **argv) {}
#endif

static void parse_args(int argc, char **argv)
{
	const char *bname = NULL, *ipcns = "private";
	ns_tool(argc, argv);
	run.count = 1;
	run.ops = 40;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--verbose")) {
			run.verbose = true;
			continue;
		}
		if (!strcmp(a, "--rmid-forced")) {
			rmid_forced = true;
			continue;
		}
		if (!v)
			usage();
		i++;
		if (!strcmp(a, "--backend"))
			bname = v;
		else if (!strcmp(a, "--seed"))
			run.seed = strtol(v, NULL, 0);
		else if (!strcmp(a, "--count"))
			run.count = strtol(v, NULL, 0);
		else if (!strcmp(a, "--ops"))
			run.ops = atoi(v);
		else if (!strcmp(a, "--trace-dir"))
			run.trace_dir = v;
		else if (!strcmp(a, "--ipcns"))
			ipcns = v;
		else
			usage();
	}
	for (size_t i = 0; bname && i < sizeof(backends) / sizeof(backends[0]); i++)
		if (!strcmp(bname, backends[i]->name))
			run.be = backends[i];
	if (!run.be || run.count < 0 || run.ops < 0)
		usage();
	run.private_ns = !strcmp(ipcns, "private");
}

int main(int argc, char **argv)
{
	parse_args(argc, argv);
	run.page = (size_t)sysconf(_SC_PAGESIZE);
	run.shmmax = read_shmmax();
	run.root = geteuid() == 0;
	if (getrandom(&run.key_base, sizeof(run.key_base), 0) != sizeof(run.key_base))
		run.key_base = (uint32_t)getpid() * 2654435761u;
	run.reg =
	    mmap(NULL, sizeof(*run.reg), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (run.reg == MAP_FAILED)
		return perror("conform: mmap"), 2;
	/* A private IPC namespace keeps SHM_INFO's counts and the id space free of other users. */
	bool private_ns =
	    run.be->kernel_table && run.private_ns && run.root && unshare(CLONE_NEWIPC) == 0;
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	/* A closed output must not kill a sequence before it removed its segments. */
	signal(SIGPIPE, SIG_IGN);
	if (rmid_forced && run.be->kernel_table && !private_ns) {
		fprintf(stderr, "conform: --rmid-forced needs a private IPC namespace (root)\n");
		return 77;
	}
	int e = run.be->open();
	if (e < 0) {
		fprintf(stderr, "conform: backend %s: %s\n", run.be->name, strerror(-e));
		run.be->close();
		return e == -ENOSYS ? 77 : 2;
	}
	printf("# conform backend=%s seed=%ld count=%ld ops=%d ipcns=%s rmid_forced=%d"
	       " nobody-steps=%s\n",
	       run.be->name, run.seed, run.count, run.ops,
	       !run.be->kernel_table ? "-"
	       : private_ns          ? "private"
	                             : "shared",
	       rmid_forced, run.root ? "on" : "skipped(not root)");
	fflush(stdout);
	int rc = 0;
	for (long i = 0; i < run.count && !stop; i++)
		if (!one_sequence(run.seed + i)) {
			rc = 2;
			break;
		}
	run.be->close();
	if (stop) {
		fprintf(stderr, "conform: interrupted by signal %d\n", (int)stop);
		rc = 130;
	}
	return rc;
}
