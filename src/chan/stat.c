/* SPDX-License-Identifier: MIT */
/*
 * What a channel holds and who uses it, for shmkit_chan_stat() and the CLI. Read from a
 * read-only mapping; every number is the ring's word, clamped to what it can be.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "chan/chan.h"
#include "sys/sys.h"

static uint64_t clamp(uint64_t v, uint64_t max)
{
	return v > max ? max : v;
}

static void fill_info(shmkit_chan_t *c, struct shmkit_chan_info *info)
{
	struct sk_chan_hdr *h = c->hdr;
	struct stat st;
	memset(info, 0, sizeof(*info));
	info->kind = c->kind;
	info->msg_size = c->msg_size;
	info->capacity = c->cap;
	if (fstat(c->ringfd, &st) == 0) {
		info->mode = st.st_mode & 0777;
		info->owner = st.st_uid;
	}
	info->ctime = h->ctime;
	uint64_t tail = sk_load_acquire(&h->tail);
	if (c->kind == SHMKIT_CHAN_BROADCAST) {
		uint64_t start = sk_load_relaxed(&h->start);
		info->sent = tail >= start ? tail - start : 0;
		info->depth = clamp(info->sent, c->cap);
	} else {
		uint64_t head = sk_load_acquire(&h->head);
		info->sent = tail;
		info->depth = tail >= head ? clamp(tail - head, c->cap) : 0;
	}
	info->abandoned = sk_load_relaxed(&h->abandoned);
}

static void fill_peer(shmkit_chan_t *c, const struct sk_chan_part *p, uint64_t tail, uint64_t head,
                      struct shmkit_chan_peer *out)
{
	memset(out, 0, sizeof(*out));
	out->pid = SK_ONCE(p->pid);
	out->role = SK_ONCE(p->role) == SHMKIT_CHAN_RECV ? SHMKIT_CHAN_RECV : SHMKIT_CHAN_SEND;
	out->start = SK_ONCE(p->start);
	memcpy(out->comm, (const void *)p->comm, sizeof(out->comm));
	out->comm[sizeof(out->comm) - 1] = '\0';
	out->count = sk_load_relaxed(&p->count);
	if (out->role != SHMKIT_CHAN_RECV)
		return;
	uint64_t from = c->kind == SHMKIT_CHAN_BROADCAST ? sk_load_relaxed(&p->cursor) : head;
	out->lag = tail >= from ? clamp(tail - from, c->cap) : 0;
	out->lost = sk_load_relaxed(&p->lost);
	out->abandoned = sk_load_relaxed(&p->abandoned);
}

static int stat_of(shmkit_chan_t *c, struct shmkit_chan_info *info, struct shmkit_chan_peer *peers,
                   size_t max)
{
	struct shmkit_chan_info tmp;
	if (!info)
		info = &tmp;
	if (max && !peers)
		return -EFAULT;
	fill_info(c, info);
	uint64_t tail = sk_load_acquire(&c->hdr->tail), head = sk_load_acquire(&c->hdr->head);
	int n = 0;
	for (uint32_t i = 0; i < SK_CHAN_PARTS; i++) {
		const struct sk_chan_part *p = &c->parts[i];
		if (sk_load_relaxed(&p->state) != SK_PART_LIVE || !sk_chan_token_held(c, i))
			continue;
		struct shmkit_chan_peer peer;
		fill_peer(c, p, tail, head, &peer);
		if (peer.role == SHMKIT_CHAN_RECV)
			info->receivers++;
		else
			info->senders++;
		if ((size_t)n < max)
			peers[n] = peer;
		n++;
	}
	return n;
}

SK_EXPORT int shmkit_chan_stat(const char *name, struct shmkit_chan_info *info,
                               struct shmkit_chan_peer *peers, size_t max)
{
	shmkit_chan_t *c;
	int err = sk_chan_inspect(name, &c);
	if (err)
		return err;
	int n = stat_of(c, info, peers, max);
	sk_chan_uninspect(c);
	return n;
}

SK_EXPORT int shmkit_chan_stat_handle(shmkit_chan_t *c, struct shmkit_chan_info *info,
                                      struct shmkit_chan_peer *peers, size_t max)
{
	int err = sk_chan_usable(c);
	return err ? err : stat_of(c, info, peers, max);
}
