/* SPDX-License-Identifier: MIT */
/*
 * Channels: where they live, who takes part, and the public calls that pick a kind's code.
 *
 * Participants. A sender or receiver that may write the ring takes a participant record and
 * holds the token of its index in "live" (sys/live.c), through a carrier of its own that no
 * mapping and no fork child holds: the kernel drops it when the process dies or execs. A
 * record whose token nobody holds is dead, and is reaped by whoever finds it so. The record
 * says what the participant is doing that others may have to finish for it: the position a
 * sender claims (so that a slot it died writing is skipped, as abandoned), the position a
 * receiver holds (so that a message it died holding is delivered again).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chan/chan.h"
#include "chan/spsc.h"
#include "seg/seg.h"
#include "sync/sync.h"
#include "sys/sys.h"

/* ---- names ---- */

static int name_ok(const char *name, const char **bare)
{
	if (!name)
		return 0;
	if (*name == '/')
		name++;
	size_t n = strnlen(name, SHMKIT_CHAN_NAME_MAX + 1);
	if (n == 0 || n > SHMKIT_CHAN_NAME_MAX || !strcmp(name, ".") || !strcmp(name, ".."))
		return 0;
	for (size_t i = 0; i < n; i++) {
		char ch = name[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == '.'))
			return 0;
	}
	*bare = name;
	return 1;
}

static void dir_path(char *buf, size_t len, const char *bare)
{
	snprintf(buf, len, SK_SHM_DIR "/" SK_CHAN_DIR "%s", bare);
}

/* The channel's directory, O_PATH, checked: a directory nobody but its owner may change. */
static int dir_open(const char *bare, struct stat *st)
{
	char path[sizeof(SK_SHM_DIR) + sizeof(SK_CHAN_DIR) + SHMKIT_CHAN_NAME_MAX + 2];
	dir_path(path, sizeof(path), bare);
	int fd = open(path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOTDIR || errno == ELOOP ? -EBADMSG : -errno;
	if (fstat(fd, st) < 0 || !S_ISDIR(st->st_mode) || (st->st_mode & 022)) {
		close(fd);
		return -EBADMSG;
	}
	return fd;
}

/* ---- creation ---- */

static uint64_t pow2_up(uint64_t v)
{
	uint64_t p = 1;
	while (p < v)
		p <<= 1;
	return p;
}

struct geometry {
	uint64_t cap, size;
	uint32_t slot_size;
};

static int geometry_of(const struct shmkit_chan_config *cfg, struct geometry *g)
{
	if (!cfg || cfg->kind < SHMKIT_CHAN_SPSC || cfg->kind > SHMKIT_CHAN_BROADCAST ||
	    (cfg->mode & ~0666u) || cfg->msg_size == 0 || cfg->msg_size > SK_CHAN_MSG_MAX ||
	    cfg->capacity == 0 || cfg->capacity > SK_CHAN_CAP_MAX)
		return -EINVAL;
	for (size_t i = 0; i < SK_ARRAY_SIZE(cfg->reserved_); i++)
		if (cfg->reserved_[i])
			return -EINVAL;
	g->cap = pow2_up(cfg->capacity);
	/* MPMC: a slot's "published for pos" (pos + 1) is its "free for the next lap"
	 * (pos + capacity) when there is one slot: a sender would take an unread message's. */
	if (cfg->kind == SHMKIT_CHAN_MPMC && g->cap < 2)
		g->cap = 2;
	uint64_t slot = SK_ALIGN_UP(sizeof(struct sk_chan_slot) + cfg->msg_size, (uint64_t)64);
	if (slot > UINT32_MAX || g->cap * slot > SK_CHAN_SIZE_MAX - SK_CHAN_SLOTS)
		return -EINVAL;
	g->slot_size = (uint32_t)slot;
	uint64_t page = sk_page_size();
	g->size = SK_ALIGN_UP(SK_CHAN_SLOTS + g->cap * slot, page);
	return 0;
}

struct init_args {
	const struct shmkit_chan_config *cfg;
	const struct geometry *g;
	mode_t mode;
};

static int ring_init(void *map, void *arg)
{
	const struct init_args *a = arg;
	struct sk_chan_hdr *h = map;
	struct sk_chan_part *parts = (void *)((char *)map + SK_CHAN_HDR);
	h->kind = a->cfg->kind;
	h->nparts = SK_CHAN_PARTS;
	h->msg_size = a->cfg->msg_size;
	h->capacity = a->g->cap;
	h->slot_size = a->g->slot_size;
	h->mode = (uint32_t)a->mode;
	h->slots_off = SK_CHAN_SLOTS;
	h->size = a->g->size;
	h->ctime = sk_real_sec();
	for (uint32_t i = 0; i < SK_CHAN_REDO; i++)
		sk_store_relaxed(&h->redo[i], SK_CHAN_NONE);
	for (uint32_t i = 0; i < SK_CHAN_PARTS; i++) {
		sk_store_relaxed(&parts[i].claim, SK_CHAN_NONE);
		sk_store_relaxed(&parts[i].hold, SK_CHAN_NONE);
	}
	/* MPMC: slot i is free for position i. Broadcast: positions start at capacity, and slot
	 * i looks published for position i, the lap before the first (nobody reads it). SPSC:
	 * 0, published for no position. */
	unsigned char *slots = (unsigned char *)map + SK_CHAN_SLOTS;
	for (uint64_t i = 0; i < a->g->cap; i++) {
		struct sk_chan_slot *s = (void *)(slots + i * a->g->slot_size);
		uint64_t seq = a->cfg->kind == SHMKIT_CHAN_SPSC ? 0 : i; /* SPSC: nothing yet */
		sk_store_relaxed(&s->seq, a->cfg->kind == SHMKIT_CHAN_BROADCAST ? i + 1 : seq);
	}
	if (a->cfg->kind == SHMKIT_CHAN_BROADCAST) {
		sk_store_relaxed(&h->tail, a->g->cap);
		sk_store_relaxed(&h->start, a->g->cap);
	}
	sk_hdr_publish(&h->magic, &h->version, SK_CHAN_MAGIC, SK_CHAN_VERSION);
	return 0;
}

static int unlink_entry(int dfd, const char *name)
{
	return unlinkat(dfd, name, 0) == 0 || errno == ENOENT ? 0 : -errno;
}

/* Remove a build directory (its files first). */
static void remove_build(const char *path)
{
	int dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd >= 0) {
		unlink_entry(dfd, SK_CHAN_RING);
		unlink_entry(dfd, SK_CHAN_LIVE);
		close(dfd);
	}
	rmdir(path);
}

/* Build directories of ours whose builder died (a creator killed half-way): gone. */
static void sweep_builds(void)
{
	DIR *d = opendir(SK_SHM_DIR);
	if (!d)
		return;
	struct dirent *e;
	size_t plen = sizeof(SK_CHAN_BUILD) - 1;
	while ((e = readdir(d))) {
		int pid;
		unsigned long long start;
		struct stat st;
		char path[sizeof(SK_SHM_DIR) + 256 + 2];
		if (strncmp(e->d_name, SK_CHAN_BUILD, plen) ||
		    sscanf(e->d_name + plen, "%d.%llu.", &pid, &start) != 2 || pid <= 0)
			continue;
		snprintf(path, sizeof(path), SK_SHM_DIR "/%s", e->d_name);
		if (lstat(path, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
		    sk_proc_alive(pid, start) != 0)
			continue;
		remove_build(path);
	}
	closedir(d);
}

/*
 * The channel is built whole in a directory of a name of its own (SK_CHAN_BUILD PID.START.RND),
 * then renamed into place if the name is free (RENAME_NOREPLACE): a channel's name appears
 * only when it can be opened, of racing creators exactly one wins, and a creator killed
 * half-way leaves no name behind (the next creator of that user sweeps its directory away).
 */
SK_EXPORT int shmkit_chan_create(const char *name, const struct shmkit_chan_config *cfg)
{
	const char *bare;
	struct geometry g;
	char path[sizeof(SK_SHM_DIR) + sizeof(SK_CHAN_DIR) + SHMKIT_CHAN_NAME_MAX + 2];
	char build[sizeof(SK_SHM_DIR) + sizeof(SK_CHAN_BUILD) + 48];
	if (!name_ok(name, &bare))
		return -EINVAL;
	int err = geometry_of(cfg, &g);
	if (err)
		return err;
	mode_t mode = cfg->mode ? cfg->mode : 0600;
	dir_path(path, sizeof(path), bare);
	uint32_t rnd = 0;
	uint64_t start = 0;
	sk_getrandom(&rnd, sizeof(rnd));
	sk_proc_starttime(sk_self_pid(), &start);
	snprintf(build, sizeof(build), SK_SHM_DIR "/" SK_CHAN_BUILD "%d.%llu.%08x",
	         (int)sk_self_pid(), (unsigned long long)start, rnd);
	sweep_builds();
	if (mkdir(build, 0700) < 0)
		return -errno;
	int dfd = open(build, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0) {
		err = -errno;
		rmdir(build);
		return err;
	}
	struct init_args a = {cfg, &g, mode};
	SK_CRASH_POINT();
	/* Tokens: write for whoever may write the ring, read for nobody. */
	err = sk_obj_build_at(dfd, SK_CHAN_LIVE, 0, 0200 | (mode & 022), (gid_t)-1, NULL, NULL);
	SK_CRASH_POINT();
	if (!err)
		err = sk_obj_build_at(dfd, SK_CHAN_RING, g.size, mode, (gid_t)-1, ring_init, &a);
	SK_CRASH_POINT();
	/* Searchable by those the mode lets in, once complete. */
	char self[64];
	snprintf(self, sizeof(self), "/proc/self/fd/%d", dfd);
	if (!err && chmod(self, mode & 066 ? 0711 : 0700) < 0)
		err = -errno;
	close(dfd);
	SK_CRASH_POINT();
	if (!err && renameat2(AT_FDCWD, build, AT_FDCWD, path, RENAME_NOREPLACE) < 0)
		err = errno == ENOTEMPTY || errno == EPERM ? -EEXIST : -errno;
	if (err)
		remove_build(build);
	return err;
}

SK_EXPORT int shmkit_chan_unlink(const char *name)
{
	const char *bare;
	struct stat st;
	char path[sizeof(SK_SHM_DIR) + sizeof(SK_CHAN_DIR) + SHMKIT_CHAN_NAME_MAX + 2];
	if (!name_ok(name, &bare))
		return -EINVAL;
	dir_path(path, sizeof(path), bare);
	int dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	/* Not a directory (a file or a link planted or left there): the name itself goes, which
	 * the sticky /dev/shm lets only its owner or root do. */
	if (dfd < 0 && (errno == ENOTDIR || errno == ELOOP))
		return unlink(path) == 0 ? 0 : -errno;
	if (dfd < 0)
		return -errno;
	int err = fstat(dfd, &st) < 0 ? -errno : 0;
	/* The ring first: once it is gone the channel is, whatever else is left. */
	if (!err)
		err = unlink_entry(dfd, SK_CHAN_RING);
	if (!err)
		err = unlink_entry(dfd, SK_CHAN_LIVE);
	close(dfd);
	if (!err && rmdir(path) < 0)
		err = -errno;
	return err;
}

SK_EXPORT int shmkit_chan_list(char (*names)[SHMKIT_CHAN_NAME_MAX + 1], size_t max)
{
	DIR *d = opendir(SK_SHM_DIR);
	if (!d)
		return -errno;
	int count = 0;
	struct dirent *e;
	size_t plen = sizeof(SK_CHAN_DIR) - 1;
	while ((e = readdir(d))) {
		const char *bare;
		if (strncmp(e->d_name, SK_CHAN_DIR, plen) || !name_ok(e->d_name + plen, &bare))
			continue;
		if ((size_t)count < max && names)
			snprintf(names[count], SHMKIT_CHAN_NAME_MAX + 1, "%s", bare);
		count++;
	}
	closedir(d);
	return count;
}

/* ---- mapping a ring ---- */

/* Check what a header claims (a copy: a peer may change the ring meanwhile) against what its
 * file is: a lie gives -EBADMSG. */
static int geometry_ok(const struct sk_chan_hdr *h, uint64_t file_size)
{
	uint64_t cap = h->capacity, slot = h->slot_size, msg = h->msg_size;
	if (h->kind < SHMKIT_CHAN_SPSC || h->kind > SHMKIT_CHAN_BROADCAST ||
	    h->nparts != SK_CHAN_PARTS || h->slots_off != SK_CHAN_SLOTS)
		return 0;
	if (!cap || cap > SK_CHAN_CAP_MAX || (cap & (cap - 1)) || !msg || msg > SK_CHAN_MSG_MAX ||
	    (h->kind == SHMKIT_CHAN_MPMC && cap < 2))
		return 0;
	if (slot < sizeof(struct sk_chan_slot) + msg || slot % 16 || slot > UINT32_MAX)
		return 0;
	return SK_CHAN_SLOTS + cap * slot <= h->size && h->size <= file_size &&
	       h->size <= SK_CHAN_SIZE_MAX && h->size <= SIZE_MAX;
}

/*
 * Map the ring of dfd into c: read-write, read-only, or (RING_COPY, for inspection) a private
 * copy of its header and participants, read with pread: an owner that truncates the ring
 * under an inspector gets it an error, not a SIGBUS.
 */
enum { RING_RW, RING_RO, RING_COPY };
static int ring_map(shmkit_chan_t *c, int dfd, const struct stat *dir, int how)
{
	struct stat st;
	struct sk_chan_hdr geo;
	int fd = sk_open_own_at(dfd, SK_CHAN_RING, how == RING_RW ? O_RDWR : O_RDONLY, dir, &st);
	if (fd < 0)
		return fd == -EPERM ? -EBADMSG : fd;
	int err = 0;
	void *p = MAP_FAILED;
	size_t len = how == RING_COPY ? SK_CHAN_SLOTS : (size_t)st.st_size;
	if ((uint64_t)st.st_size < SK_CHAN_SLOTS || (uint64_t)st.st_size > SK_CHAN_SIZE_MAX)
		err = -EBADMSG;
	else if (how != RING_COPY && (uint64_t)st.st_size > SIZE_MAX)
		err = -ENOMEM; /* a 32-bit process: a 4 GiB ring would be a length of 0 to mmap */
	if (!err && how == RING_COPY) {
		p = aligned_alloc(64, len);
		if (!p)
			err = -ENOMEM, p = MAP_FAILED;
		else if (pread(fd, p, len, 0) != (ssize_t)len)
			err = -EBADMSG;
		c->copied = 1;
	} else if (!err) {
		int prot = how == RING_RO ? PROT_READ : PROT_READ | PROT_WRITE;
		if ((p = mmap(NULL, len, prot, MAP_SHARED, fd, 0)) == MAP_FAILED)
			err = -errno;
		else if ((err = sk_guard_add(p, len, prot, &c->guard)) < 0)
			c->guard = NULL; /* before the first read: the owner may truncate it now */
	}
	if (!err) {
		struct sk_chan_hdr *h = p;
		c->size = len;
		c->hdr = h;
		err = sk_hdr_check(&h->magic, &h->version, SK_CHAN_MAGIC, SK_CHAN_VERSION);
		if (!err) {
			/* The geometry is read once, into this copy, and checked: never read from
			 * the ring again (a peer may rewrite it after the check). */
			memcpy(&geo, (const void *)h,
			       offsetof(struct sk_chan_hdr, tail)); /* line 0 */
			if (!geometry_ok(&geo, (uint64_t)st.st_size))
				err = -EBADMSG;
		}
		if (!err && sk_chan_broken(c))
			err = -EBADMSG; /* truncated while we read it: the geometry was zeros */
	}
	if (err) {
		if (p != MAP_FAILED && c->copied)
			free(p);
		else if (p != MAP_FAILED)
			sk_guard_remove(c->guard), munmap(p, len);
		c->guard = NULL;
		c->hdr = NULL;
		c->copied = 0;
		close(fd);
		return err;
	}
	c->kind = geo.kind;
	c->cap = geo.capacity;
	c->mask = c->cap - 1;
	c->msg_size = geo.msg_size;
	c->slot_size = geo.slot_size;
	c->parts = (struct sk_chan_part *)(void *)((char *)p + SK_CHAN_HDR);
	c->slots = c->copied ? NULL : (unsigned char *)p + SK_CHAN_SLOTS;
	c->ringfd = sk_fd_high(fd);
	return 0;
}

/* ---- participants ---- */

static int token_held(const shmkit_chan_t *c, uint32_t i)
{
	if (i == c->self)
		return 1;
	if (c->carrier >= 0)
		return sk_live_held(c->carrier, SK_CHAN_TOKEN(i));
	/* Passive (read-only, no carrier): the pid and its start time, PID-reuse safe. */
	const struct sk_chan_part *p = &c->parts[i];
	return sk_proc_alive(SK_ONCE(p->pid), SK_ONCE(p->start)) != 0;
}

/* Is pos in the redo table already? */
static int in_redo(const shmkit_chan_t *c, uint64_t pos)
{
	for (uint32_t r = 0; r < SK_CHAN_REDO; r++)
		if (sk_load_relaxed(&c->hdr->redo[r]) == pos)
			return 1;
	return 0;
}

int sk_chan_redo_pending(const shmkit_chan_t *c)
{
	if (!sk_load_relaxed(&c->hdr->nredo))
		return 0;
	for (uint32_t r = 0; r < SK_CHAN_REDO; r++)
		if (sk_load_relaxed(&c->hdr->redo[r]) != SK_CHAN_NONE)
			return 1;
	return 0;
}

/*
 * MPMC: a message a receiver held and will not release goes to the next receiver. A record's
 * hold is announced before the receiver's CAS on head (BARRIER_C3), so it may name a position
 * the receiver never took (it died before its CAS, or the CAS failed); and two dead records
 * may name the same one. The position is given back only if it is a message nobody has: head
 * is past it, its slot still holds it unreleased, no live receiver holds it, and it is not in
 * the table already. Reapers hold the reap token, so two never decide at once.
 *
 * A live receiver's hold on the same position cannot tell who has it: it may have taken it
 * (the dead one's announcement was stale), or be about to fail its CAS on head (the dead one
 * took it). Either way it is undecided, not done: 1 says so, and the caller tries again later
 * (a reaper leaves the record dead for the next look; tests/chan/model/mpmc.pml found the
 * message lost, and the ring wedged, when that was taken for "a live receiver has it").
 * force (the live holder's own close, after waiting a while): the others' holds are not
 * looked at.
 */
static int give_back(shmkit_chan_t *c, uint32_t dead, uint64_t hold, int force)
{
	if (c->kind != SHMKIT_CHAN_MPMC || hold == SK_CHAN_NONE || hold > SK_SEQ_POS - c->cap)
		return 0;
	if (atomic_load(&c->hdr->head) <= hold)
		return 0; /* never taken */
	if (atomic_load_explicit(&sk_chan_slot(c, hold)->seq, memory_order_acquire) != hold + 1)
		return 0; /* released already, or abandoned and freed */
	for (uint32_t i = 0; i < SK_CHAN_PARTS && !force; i++)
		if (i != dead && sk_load_relaxed(&c->parts[i].state) != SK_PART_FREE &&
		    atomic_load(&c->parts[i].hold) == hold && token_held(c, i))
			return 1; /* a live receiver names it: undecided */
	if (in_redo(c, hold))
		return 0;
	/* The count first: a crash between the two steps leaves it too high (receivers look at
	 * the table for nothing), never an entry that receivers do not know to look for. */
	atomic_fetch_add(&c->hdr->nredo, 1);
	SK_CRASH_POINT();
	for (uint32_t r = 0; r < SK_CHAN_REDO; r++) {
		uint64_t none = SK_CHAN_NONE;
		if (atomic_compare_exchange_strong(&c->hdr->redo[r], &none, hold)) {
			sk_wake_masked(&c->hdr->rx_seq, c->hdr->rx_sleep,
			               2); /* not woke(): we reap */
			return 0;
		}
	}
	atomic_fetch_sub(&c->hdr->nredo, 1);
	/* A full table (64 messages held by receivers that all died): the slot stays taken until
	 * the channel is made again. */
	return 0;
}

/*
 * SPSC: a dead sender whose claim is still tail died writing that slot (or holding its loan):
 * nothing of it is published; the slot is counted abandoned. The claim is taken with one
 * exchange, so that of those who note the death (a reaper, the sender taking the role) one
 * counts it: twice never, and not at all only if that one dies between the two instructions.
 */
static void spsc_abandon(shmkit_chan_t *c, struct sk_chan_part *p)
{
	if (c->kind != SHMKIT_CHAN_SPSC)
		return;
	uint64_t claim = atomic_exchange(&p->claim, SK_CHAN_NONE);
	if (claim == SK_CHAN_NONE || claim != atomic_load(&c->hdr->tail))
		return;
	/* One that died after publishing the slot, before storing tail, abandoned nothing: the
	 * tail it owed is stored for it (a CAS: the next sender may be doing the same). */
	if (atomic_load(&sk_chan_slot(c, claim)->seq) == claim + 1)
		atomic_compare_exchange_strong(&c->hdr->tail, &claim, claim + 1);
	else
		atomic_fetch_add(&c->hdr->abandoned, 1);
}

/* A record whose holder is gone: free it, finishing what it left (its loan, its hold). */
static void reap(shmkit_chan_t *c, uint32_t i)
{
	struct sk_chan_part *p = &c->parts[i];
	uint32_t st = sk_load_relaxed(&p->state);
	if (c->passive || st == SK_PART_FREE || token_held(c, i))
		return;
	/* One reaper at a time, and the kernel's lock says so even if it dies. */
	if (sk_live_hold(c->carrier, SK_CHAN_REAP_TOKEN) < 0)
		return; /* someone else is reaping: they will do this one too, or we later */
	/* Its token, held by us while we finish for it: if we cannot, it is not dead after all
	 * (a claim in progress took it meanwhile). */
	if (sk_load_relaxed(&p->state) == SK_PART_FREE ||
	    sk_live_hold(c->carrier, SK_CHAN_TOKEN(i)) < 0) {
		sk_live_drop(c->carrier, SK_CHAN_REAP_TOKEN);
		return;
	}
	/* A message it held goes to the next receiver (BARRIER_C3 made it findable); while that
	 * is undecided the record stays as it is, dead, for a later look to reap. */
	if (give_back(c, i, sk_load_relaxed(&p->hold), 0)) {
		sk_live_drop(c->carrier, SK_CHAN_TOKEN(i));
		sk_live_drop(c->carrier, SK_CHAN_REAP_TOKEN);
		return;
	}
	sk_store_relaxed(&p->state, SK_PART_CLAIMING);
	SK_CRASH_POINT();
	spsc_abandon(c, p);
	SK_CRASH_POINT();
	sk_store_relaxed(&p->hold, SK_CHAN_NONE);
	uint32_t me = i + 1;
	atomic_compare_exchange_strong(&c->hdr->tx_owner, &me, 0);
	me = i + 1;
	atomic_compare_exchange_strong(&c->hdr->rx_owner, &me, 0);
	sk_store_relaxed(&p->claim, SK_CHAN_NONE);
	/* It may have died asleep: its bits go, or every waker would wake nobody for ever. */
	for (int k = 0; k < 2; k++) {
		atomic_fetch_and(&c->hdr->rx_sleep[k], ~((uint64_t)1 << i));
		atomic_fetch_and(&c->hdr->tx_sleep[k], ~((uint64_t)1 << i));
	}
	uint32_t role = SK_ONCE(p->role);
	atomic_store(&p->state, SK_PART_FREE);
	sk_live_drop(c->carrier, SK_CHAN_TOKEN(i));
	atomic_fetch_add(&c->hdr->leaves[role == SHMKIT_CHAN_RECV], 1);
	sk_live_drop(c->carrier, SK_CHAN_REAP_TOKEN);
}

static uint32_t count_live(shmkit_chan_t *c, uint32_t role, int reaping)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < SK_CHAN_PARTS; i++) {
		struct sk_chan_part *p = &c->parts[i];
		if (sk_load_relaxed(&p->state) == SK_PART_FREE || i == c->self)
			continue;
		if (!token_held(c, i)) {
			if (reaping)
				reap(c, i);
			continue;
		}
		n += SK_ONCE(p->role) == role;
	}
	return n;
}

uint32_t sk_chan_live(shmkit_chan_t *c, uint32_t role)
{
	return count_live(c, role, 1);
}

uint32_t sk_chan_live_noreap(shmkit_chan_t *c, uint32_t role)
{
	return count_live(c, role, 0);
}

/* 1 if no live participant announces, as its claim (sender) or hold (receiver), a position
 * of pos's slot in [from, pos]. */
static int unannounced(shmkit_chan_t *c, int receiver, uint64_t from, uint64_t pos)
{
	for (uint32_t i = 0; i < SK_CHAN_PARTS; i++) {
		struct sk_chan_part *p = &c->parts[i];
		if (sk_load_relaxed(&p->state) == SK_PART_FREE)
			continue;
		uint64_t at = receiver ? atomic_load(&p->hold) : atomic_load(&p->claim);
		if (at >= from && at <= pos && !((at ^ pos) & c->mask) && token_held(c, i))
			return 0; /* a live one has it (or is about to let go): wait */
	}
	return 1;
}

int sk_chan_unclaimed(shmkit_chan_t *c, uint64_t pos, int receiver)
{
	return unannounced(c, receiver, pos, pos);
}

int sk_chan_unclaimed_laps(shmkit_chan_t *c, uint64_t from, uint64_t pos)
{
	return unannounced(c, 0, from, pos); /* a live sender owes the slot a lap */
}

int sk_chan_peers_gone(shmkit_chan_t *c, int look)
{
	uint32_t role = c->role == SHMKIT_CHAN_SEND ? SHMKIT_CHAN_RECV : SHMKIT_CHAN_SEND;
	uint32_t side = sk_chan_other_side(c);
	/* before the scan: an opener counts itself after */
	uint32_t seen = atomic_load(&c->hdr->opens[side]);
	if (c->gone_known && seen == c->gone_opens)
		return 1;
	/* Someone of that side left since we last looked: look now, whatever the clock says. */
	uint32_t left = atomic_load(&c->hdr->leaves[side]);
	if (left != c->seen_leaves)
		look = 1;
	if (!look)
		return 0;
	c->seen_leaves = left;
	if (sk_chan_live(c, role)) {
		/* Someone of that side opened since: spsc.h's idle calls may answer again. */
		c->gone_known = 0;
		return 0;
	}
	c->gone_opens = seen;
	c->gone_known = 1;
	return 1;
}

int sk_chan_time_to_check(shmkit_chan_t *c)
{
	uint64_t now = sk_mono_coarse_ns(); /* a spinning waiter calls this: the cheap clock */
	/* look_now (relaxed: a hint from the descriptor's helper, ring.c slot_ready; it
	 * publishes no data, the look that follows reads the ring with its own acquires) */
	if (c->last_live_check && now - c->last_live_check < SK_CHAN_LIVE_NS &&
	    !(sk_load_relaxed(&c->look_now) && atomic_exchange(&c->look_now, 0)))
		return 0;
	c->last_live_check = now;
	return 1;
}

static int claim_record(shmkit_chan_t *c)
{
	for (uint32_t i = 0; i < SK_CHAN_PARTS; i++) {
		struct sk_chan_part *p = &c->parts[i];
		uint32_t st = sk_load_relaxed(&p->state);
		if (st != SK_PART_FREE) {
			if (token_held(c, i))
				continue;
			reap(c, i);
			st = SK_PART_FREE;
		}
		if (!atomic_compare_exchange_strong(&p->state, &st, SK_PART_CLAIMING))
			continue;
		/* A token still held is someone who has not let go yet: try the next record. The
		 * record goes back only if still in the state we left it in: a reaper may have
		 * taken our claim for a dead one's and freed it, and the token's holder (another
		 * opener that claimed it since) made it LIVE; a plain store would hide it. */
		if (sk_live_hold(c->carrier, SK_CHAN_TOKEN(i)) < 0) {
			uint32_t mine = SK_PART_CLAIMING;
			atomic_compare_exchange_strong(&p->state, &mine, SK_PART_FREE);
			continue;
		}
		SK_CRASH_POINT();
		p->role = c->role;
		p->pid = sk_self_pid();
		p->uid = (uint32_t)geteuid();
		uint64_t start = 0;
		sk_proc_starttime(p->pid, &start);
		p->start = start;
		if (sk_proc_comm(p->pid, p->comm, sizeof(p->comm)) < 0)
			p->comm[0] = '\0';
		sk_store_relaxed(&p->claim, SK_CHAN_NONE);
		sk_store_relaxed(&p->hold, SK_CHAN_NONE);
		sk_store_relaxed(&p->lost, 0);
		sk_store_relaxed(&p->abandoned, 0);
		sk_store_relaxed(&p->count, 0);
		/* A broadcast receiver starts with the first message sent after it is counted
		 * (stat says LIVE only after this): its cursor is fixed first. */
		uint64_t from = sk_load_acquire(&c->hdr->tail);
		sk_store_relaxed(&c->cursor, from);
		sk_store_relaxed(&p->cursor, from);
		atomic_store(&p->state, SK_PART_LIVE);
		c->self = i;
		return 0;
	}
	return -EAGAIN;
}

/* Give up the record we hold: free (a close counts the leave; a failed open, whose open was
 * not counted, does not; reap would pass the record over: we hold its token). */
static void release_record(shmkit_chan_t *c)
{
	struct sk_chan_part *p = &c->parts[c->self];
	sk_store_relaxed(&p->claim, SK_CHAN_NONE);
	sk_store_relaxed(&p->hold, SK_CHAN_NONE);
	atomic_store(&p->state, SK_PART_FREE);
	sk_live_drop(c->carrier, SK_CHAN_TOKEN(c->self));
	c->self = UINT32_MAX;
}

/* SPSC: take the role, from nobody or from a dead holder. */
static int take_role(shmkit_chan_t *c)
{
	SK_ATOMIC(uint32_t) *owner =
	    c->role == SHMKIT_CHAN_SEND ? &c->hdr->tx_owner : &c->hdr->rx_owner;
	for (int tries = 0; tries < 4; tries++) {
		uint32_t seen = sk_load_relaxed(owner), cur = seen;
		/* Nonsense, or a record of the other role (owners clear their word before their
		 * record goes): nobody's. The exchange is from the word as seen. */
		if (cur > SK_CHAN_PARTS || (cur && SK_ONCE(c->parts[cur - 1].role) != c->role))
			cur = 0;
		else if (cur && token_held(c, cur - 1))
			return -EBUSY;
		else if (cur)
			reap(c, cur - 1);
		SK_CRASH_POINT();
		if (atomic_compare_exchange_strong(owner, &seen, c->self + 1)) {
			/* From a dead sender its reaper may not have finished: before we write. */
			if (cur && c->role == SHMKIT_CHAN_SEND)
				spsc_abandon(c, &c->parts[cur - 1]);
			return 0;
		}
	}
	return -EBUSY;
}

static void handle_free(shmkit_chan_t *c)
{
	if (c->pid != sk_self_pid())
		sk_chan_fd_forget(c);
	if (c->hdr && c->copied)
		free(c->hdr);
	else if (c->hdr)
		sk_guard_remove(c->guard), munmap(c->hdr, c->size);
	if (c->ringfd >= 0)
		close(c->ringfd);
	if (c->carrier >= 0 && sk_live_close(c->carrier) < 0 && c->pid == sk_self_pid())
		close(c->carrier);
	free(c);
}

/*
 * SPSC takes its position from the header once, at open, and counts on from it. Positions
 * stay far below 2^62 (a message a nanosecond for a century; MPMC and broadcast check the
 * same bound at every claim): one beyond it is a liar's, and would wrap, or meet the handle's
 * "none" (a loan at UINT64_MAX could never be committed).
 */
static int pos_ok(const shmkit_chan_t *c, uint64_t pos)
{
	return pos <= SK_SEQ_POS - c->cap;
}

static int lied_at_open(shmkit_chan_t *c)
{
	shmkit_chan_close(c); /* counted in and out as any participant */
	return -EPROTO;
}

SK_EXPORT int shmkit_chan_open(shmkit_chan_t **out, const char *name, uint32_t role)
{
	const char *bare;
	struct stat dir, lst;
	if (!out || !name_ok(name, &bare) || (role != SHMKIT_CHAN_SEND && role != SHMKIT_CHAN_RECV))
		return -EINVAL;
	shmkit_chan_t *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	snprintf(c->name, sizeof(c->name), "%s", bare);
	c->role = role;
	c->ringfd = c->carrier = -1;
	c->self = UINT32_MAX;
	c->pid = sk_self_pid();
	c->loan_pos = c->peek_pos = SK_CHAN_NONE;
	c->spin_ns = SK_CHAN_SPIN_NS;
	c->asym = sk_asym_register();
	int dfd = dir_open(bare, &dir), err = dfd < 0 ? dfd : 0;
	if (!err) {
		err = ring_map(c, dfd, &dir, RING_RW);
		/* A receiver that may only read: passive, if the kind allows receiving so. */
		if (err == -EACCES && role == SHMKIT_CHAN_RECV) {
			err = ring_map(c, dfd, &dir, RING_RO);
			if (!err && c->kind != SHMKIT_CHAN_BROADCAST)
				err = -EACCES;
			c->passive = !err;
		}
	}
	if (!err && !c->passive) {
		int fd = sk_open_own_at(dfd, SK_CHAN_LIVE, O_WRONLY, &dir, &lst);
		err = fd < 0 ? (fd == -EPERM ? -EBADMSG : fd) : 0;
		if (!err && (err = sk_live_adopt(c->carrier = sk_fd_high(fd))) < 0)
			close(c->carrier), c->carrier = -1;
	}
	if (dfd >= 0)
		close(dfd);
	if (!err && !c->passive)
		err = claim_record(c);
	SK_CRASH_POINT();
	if (!err && !c->passive && c->kind == SHMKIT_CHAN_SPSC)
		err = take_role(c);
	if (!err && !c->passive)
		sk_chan_live(c, SHMKIT_CHAN_SEND); /* reap whoever died: their holds, bits, roles */
	if (!err && c->kind == SHMKIT_CHAN_SPSC)
		c->fast = role == SHMKIT_CHAN_SEND ? SK_CHAN_FAST_TX : SK_CHAN_FAST_RX;
	if (err) {
		if (c->self != UINT32_MAX)
			release_record(c);
		handle_free(c);
		return err;
	}
	struct sk_chan_hdr *h = c->hdr;
	if (!c->passive)
		atomic_fetch_add(&h->opens[role == SHMKIT_CHAN_RECV], 1); /* after our record */
	if (role == SHMKIT_CHAN_SEND) {
		atomic_store(&h->ever_senders, 1);
		c->pos = sk_load_acquire(&h->tail); /* SPSC: the position the last sender left */
		c->other = sk_load_acquire(&h->head);
		if (c->kind == SHMKIT_CHAN_SPSC && (!pos_ok(c, c->pos) || !pos_ok(c, c->other)))
			return lied_at_open(c);
		/* SPSC: one that died between publishing a slot and storing tail left it behind. */
		for (uint64_t n = 0;
		     c->kind == SHMKIT_CHAN_SPSC && n < c->cap && c->pos >= c->other &&
		     sk_load_acquire(&sk_chan_slot(c, c->pos)->seq) == c->pos + 1;
		     n++)
			c->pos++;
		if (c->kind == SHMKIT_CHAN_SPSC && c->pos != sk_load_relaxed(&h->tail))
			sk_store_release(&h->tail,
			                 c->pos); /* the role is ours: tail is ours to fix */
	} else {
		c->pos = sk_load_acquire(&h->head);
		c->other = sk_load_acquire(&h->tail);
		if (c->kind == SHMKIT_CHAN_SPSC && !pos_ok(c, c->pos))
			return lied_at_open(c);
		/* Broadcast: from the first message sent after we opened (a participant's cursor
		 * was fixed before its record was counted: claim_record). */
		if (c->passive)
			sk_store_relaxed(&c->cursor, c->other);
		/* A sender facing a full ring with nobody to empty it learns there is someone. */
		sk_chan_wake_tx(c);
	}
	*out = c;
	return 0;
}

int sk_chan_inspect(const char *name, shmkit_chan_t **out)
{
	const char *bare;
	struct stat dir, lst;
	if (!out || !name_ok(name, &bare))
		return -EINVAL;
	shmkit_chan_t *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	snprintf(c->name, sizeof(c->name), "%s", bare);
	c->ringfd = c->carrier = -1;
	c->self = UINT32_MAX;
	c->pid = sk_self_pid();
	c->passive = 1; /* holds no record, reaps nothing, writes nothing */
	c->loan_pos = c->peek_pos = SK_CHAN_NONE;
	int dfd = dir_open(bare, &dir), err = dfd < 0 ? dfd : 0;
	if (!err)
		err = ring_map(c, dfd, &dir, RING_COPY);
	if (!err) {
		/* Tokens tell who is alive exactly, for those who may open them; pid and start
		 * time tell the others. Never adopted: this handle never forks into anything. */
		int fd = sk_open_own_at(dfd, SK_CHAN_LIVE, O_WRONLY, &dir, &lst);
		c->carrier = fd >= 0 ? fd : -1;
	}
	if (dfd >= 0)
		close(dfd);
	if (err) {
		handle_free(c);
		return err;
	}
	*out = c;
	return 0;
}

void sk_chan_uninspect(shmkit_chan_t *c)
{
	if (c->carrier >= 0)
		close(c->carrier);
	c->carrier = -1;
	handle_free(c);
}

int sk_chan_token_held(const shmkit_chan_t *c, uint32_t i)
{
	return token_held(c, i);
}

/* Close with a peeked MPMC message: it goes back for the next receiver. */
static void redo_own(shmkit_chan_t *c, uint64_t pos)
{
	/* Reapers hold the token only for a moment: wait for it (bounded; a dead holder drops it).
	 * Another receiver naming our position fails its CAS soon (we took it): wait for that
	 * too, but not for a record that names it for good (a lie): then the message goes back
	 * all the same (at worst seen twice, as documented), rather than never. */
	for (int tries = 0; tries < 100000; tries++) {
		if (sk_live_hold(c->carrier, SK_CHAN_REAP_TOKEN) == 0) {
			int undecided = give_back(c, c->self, pos, tries >= 1000);
			sk_live_drop(c->carrier, SK_CHAN_REAP_TOKEN);
			if (!undecided)
				return;
		}
		sched_yield();
	}
}

/* Close with a loan out: nothing of it is delivered. */
static void unloan(shmkit_chan_t *c, uint64_t pos)
{
	switch (c->kind) {
	case SHMKIT_CHAN_SPSC:
		spsc_abandon(c, &c->parts[c->self]); /* tail never passed it */
		break;
	case SHMKIT_CHAN_MPMC:
		sk_mpmc_unloan(c, pos);
		break;
	default:
		sk_bcast_unloan(c, pos);
	}
	c->loan_pos = SK_CHAN_NONE;
}

SK_EXPORT int shmkit_chan_close(shmkit_chan_t *c)
{
	if (!c)
		return -EINVAL;
	if (c->pid == sk_self_pid()) {
		sk_chan_fd_close(c);
		if (c->self != UINT32_MAX) {
			struct sk_chan_part *p = &c->parts[c->self];
			uint32_t me = c->self + 1;
			if (c->role == SHMKIT_CHAN_SEND)
				atomic_compare_exchange_strong(&c->hdr->tx_owner, &me, 0);
			else
				atomic_compare_exchange_strong(&c->hdr->rx_owner, &me, 0);
			/* A message we hold goes back; a loan we have is given up as abandoned. */
			SK_CRASH_POINT();
			if (c->peek_pos != SK_CHAN_NONE && c->kind == SHMKIT_CHAN_MPMC)
				redo_own(c, c->peek_pos);
			sk_store_relaxed(&p->hold, SK_CHAN_NONE);
			SK_CRASH_POINT();
			if (c->loan_pos != SK_CHAN_NONE)
				unloan(c, c->loan_pos);
			SK_CRASH_POINT();
			release_record(c);
			atomic_fetch_add(&c->hdr->leaves[c->role == SHMKIT_CHAN_RECV], 1);
		}
		/* Whoever waits for us (to send, to make room) learns we are gone. */
		if (c->role == SHMKIT_CHAN_SEND)
			sk_chan_wake_rx(c);
		else
			sk_chan_wake_tx(c);
	}
	handle_free(c);
	return 0;
}

int sk_chan_usable(const shmkit_chan_t *c)
{
	if (!c)
		return -EINVAL;
	if (c->pid != sk_self_pid())
		return -EBADF;
	return sk_chan_broken(c) ? -EPROTO : 0;
}

/* ---- waking ---- */

/*
 * A sleeper's bit with nobody asleep is one about to sleep, or one killed asleep: every so
 * often (by the clock: these are the fast path's only system calls) the dead are reaped, and
 * their bits go with them, so that a dead sleeper does not cost every send a wake-up.
 */
static void woke(shmkit_chan_t *c, int r)
{
	if (SK_UNLIKELY(r == -ESRCH) && !c->passive && c->self != UINT32_MAX &&
	    sk_chan_time_to_check(c))
		sk_chan_live(c, SHMKIT_CHAN_SEND);
}

void sk_chan_wake_rx(shmkit_chan_t *c)
{
	woke(c, sk_wake_masked(&c->hdr->rx_seq, c->hdr->rx_sleep, 2)); /* BARRIER_C4 */
}

void sk_chan_wake_tx(shmkit_chan_t *c)
{
	woke(c, sk_wake_masked(&c->hdr->tx_seq, c->hdr->tx_sleep, 2)); /* BARRIER_C4 */
}

/* ---- the public calls ---- */

static int send_any(shmkit_chan_t *c, const void *msg, size_t len, const struct timespec *abs,
                    int wait, void **loan)
{
	int err = sk_chan_usable(c);
	if (err)
		return err;
	if (c->role != SHMKIT_CHAN_SEND)
		return -EBADF;
	if (len > c->msg_size)
		return -EMSGSIZE;
	if (!loan && len && !msg)
		return -EFAULT;
	if (abs && !sk_timespec_valid(abs))
		return -EINVAL;
	if (c->loan_pos != SK_CHAN_NONE)
		return -EBUSY; /* one loan at a time, and no copying send while a loan waits */
	switch (c->kind) {
	case SHMKIT_CHAN_SPSC:
		err = sk_spsc_send(c, msg, len, abs, wait, loan);
		break;
	case SHMKIT_CHAN_MPMC:
		err = sk_mpmc_send(c, msg, len, abs, wait, loan);
		break;
	default:
		err = sk_bcast_send(c, msg, len, abs, wait, loan);
	}
	if (c->fdh)
		sk_chan_fd_settle(c);
	return sk_chan_verdict(c, err);
}

SK_EXPORT int shmkit_chan_send(shmkit_chan_t *c, const void *msg, size_t len,
                               const struct timespec *abs)
{
	return send_any(c, msg, len, abs, 1, NULL);
}

/* The fast path of the try calls: an SPSC handle of this process with nothing outstanding,
 * the ring neither full (send) nor empty (receive); anything else goes the checked way. */
static inline int fast_ok(const shmkit_chan_t *c, uint32_t fast)
{
	return c && c->fast == fast && !c->fdh && c->pid == sk_self_pid_inline();
}

SK_EXPORT int shmkit_chan_trysend(shmkit_chan_t *c, const void *msg, size_t len)
{
	if (SK_LIKELY(fast_ok(c, SK_CHAN_FAST_TX) && c->loan_pos == SK_CHAN_NONE &&
	              len <= c->msg_size && (msg || !len))) {
		int room = sk_spsc_room(c);
		if (SK_LIKELY(room == 1))
			return sk_chan_verdict(c, sk_spsc_put(c, c->pos, msg, len));
		if (room == 0 && sk_spsc_idle(c))
			return -EAGAIN;
	}
	return send_any(c, msg, len, NULL, 0, NULL);
}

static ssize_t recv_any(shmkit_chan_t *c, void *buf, size_t cap, const struct timespec *abs,
                        int wait, const void **peek)
{
	ssize_t err = sk_chan_usable(c);
	if (err)
		return err;
	if (c->role != SHMKIT_CHAN_RECV)
		return -EBADF;
	if (!peek && cap && !buf)
		return -EFAULT;
	if (abs && !sk_timespec_valid(abs))
		return -EINVAL;
	if (c->peek_pos != SK_CHAN_NONE)
		return -EBUSY; /* one peek at a time, and no copying receive while a peek waits */
	switch (c->kind) {
	case SHMKIT_CHAN_SPSC:
		err = sk_spsc_recv(c, buf, cap, abs, wait, peek);
		break;
	case SHMKIT_CHAN_MPMC:
		err = sk_mpmc_recv(c, buf, cap, abs, wait, peek);
		break;
	default:
		err = sk_bcast_recv(c, buf, cap, abs, wait, peek);
	}
	if (c->fdh)
		sk_chan_fd_settle(c);
	return sk_chan_verdict(c, err);
}

SK_EXPORT ssize_t shmkit_chan_recv(shmkit_chan_t *c, void *buf, size_t cap,
                                   const struct timespec *abs)
{
	return recv_any(c, buf, cap, abs, 1, NULL);
}

SK_EXPORT ssize_t shmkit_chan_tryrecv(shmkit_chan_t *c, void *buf, size_t cap)
{
	if (SK_LIKELY(fast_ok(c, SK_CHAN_FAST_RX) && c->peek_pos == SK_CHAN_NONE &&
	              (buf || !cap))) {
		int got = sk_spsc_seq(c, c->pos);
		if (SK_LIKELY(got == 1))
			return sk_chan_verdict(c, sk_spsc_take(c, c->pos, buf, cap));
		if (got == 0 && sk_spsc_idle(c))
			return -EAGAIN;
	}
	return recv_any(c, buf, cap, NULL, 0, NULL);
}

SK_EXPORT ssize_t shmkit_chan_peek(shmkit_chan_t *c, const void **msg, const struct timespec *abs)
{
	if (!msg)
		return -EFAULT;
	return recv_any(c, NULL, 0, abs, 1, msg);
}

SK_EXPORT ssize_t shmkit_chan_trypeek(shmkit_chan_t *c, const void **msg)
{
	if (!msg)
		return -EFAULT;
	return recv_any(c, NULL, 0, NULL, 0, msg);
}

SK_EXPORT int shmkit_chan_set_spin(shmkit_chan_t *c, uint64_t ns)
{
	int err = sk_chan_usable(c);
	if (err)
		return err;
	if (ns > SHMKIT_CHAN_SPIN_MAX)
		return -EINVAL;
	c->spin_ns = ns;
	return 0;
}

SK_EXPORT int shmkit_chan_release(shmkit_chan_t *c, const void *msg)
{
	int err = sk_chan_usable(c);
	if (err)
		return err;
	if (c->peek_pos == SK_CHAN_NONE || msg != c->peek_slot)
		return -EINVAL;
	uint64_t pos = c->peek_pos;
	c->peek_pos = SK_CHAN_NONE;
	c->peek_slot = NULL;
	switch (c->kind) {
	case SHMKIT_CHAN_SPSC:
		sk_spsc_release(c, pos);
		err = 0;
		break;
	case SHMKIT_CHAN_MPMC:
		err = sk_mpmc_release(c, pos);
		break;
	default:
		err = sk_bcast_release(c, pos);
	}
	if (c->fdh)
		sk_chan_fd_settle(c);
	return sk_chan_verdict(c, err);
}

SK_EXPORT int shmkit_chan_loan(shmkit_chan_t *c, size_t len, void **slot,
                               const struct timespec *abs)
{
	if (!slot)
		return -EFAULT;
	int err = send_any(c, NULL, len, abs, 1, &c->loan_slot);
	if (!err)
		*slot = c->loan_slot;
	return err;
}

SK_EXPORT int shmkit_chan_tryloan(shmkit_chan_t *c, size_t len, void **slot)
{
	if (!slot)
		return -EFAULT;
	int err = send_any(c, NULL, len, NULL, 0, &c->loan_slot);
	if (!err)
		*slot = c->loan_slot;
	return err;
}

/*
 * Give a loan back unpublished. SPSC: the position is still ours (tail never passed it), so
 * the next send writes the same slot and nothing is lost or counted. MPMC and broadcast: the
 * position was claimed from the other senders, so it is given up as a dead sender's would be
 * (skipped by receivers, counted as abandoned), as close does with a loan.
 */
SK_EXPORT int shmkit_chan_cancel(shmkit_chan_t *c, void *slot)
{
	int err = sk_chan_usable(c);
	if (err)
		return err;
	if (c->loan_pos == SK_CHAN_NONE || slot != c->loan_slot)
		return -EINVAL;
	c->loan_slot = NULL;
	if (c->kind == SHMKIT_CHAN_SPSC) {
		/* Relaxed, as the claim's store in the loan: only a reaper reads it, after our
		 * token is gone (the kernel's lock release orders it before). */
		sk_store_relaxed(&c->parts[c->self].claim, SK_CHAN_NONE);
		c->loan_pos = SK_CHAN_NONE;
	} else {
		unloan(c, c->loan_pos);
	}
	if (c->fdh)
		sk_chan_fd_settle(c);
	return sk_chan_verdict(c, 0);
}

SK_EXPORT int shmkit_chan_commit(shmkit_chan_t *c, void *slot, size_t len)
{
	int err = sk_chan_usable(c);
	if (err)
		return err;
	if (c->loan_pos == SK_CHAN_NONE || slot != c->loan_slot)
		return -EINVAL;
	if (len > c->msg_size)
		return -EMSGSIZE;
	uint64_t pos = c->loan_pos;
	c->loan_pos = SK_CHAN_NONE;
	c->loan_slot = NULL;
	switch (c->kind) {
	case SHMKIT_CHAN_SPSC:
		err = sk_spsc_commit(c, pos, len);
		break;
	case SHMKIT_CHAN_MPMC:
		err = sk_mpmc_commit(c, pos, len);
		break;
	default:
		err = sk_bcast_commit(c, pos, len);
	}
	return sk_chan_verdict(c, err);
}
