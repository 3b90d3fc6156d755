/* SPDX-License-Identifier: MIT */
#include "msg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { SAMPLES = 32 };

static uint64_t load64(const unsigned char *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v)); /* receive buffers need not be aligned */
	return v;
}

static void store64(unsigned char *p, uint64_t v)
{
	memcpy(p, &v, sizeof(v));
}

/* End of the sampled region: the trailer takes the last 8 bytes of messages >= 16 bytes. */
static size_t region_end(size_t size)
{
	return size >= 16 ? size - 8 : size;
}

static size_t nsamples(size_t size)
{
	size_t words = (region_end(size) - 8) / 8;
	return words < SAMPLES ? words : SAMPLES;
}

/* Offset of sample k: every word of a small message, evenly spread words of a large one. */
static size_t sample_off(size_t size, size_t k)
{
	size_t words = (region_end(size) - 8) / 8;
	if (words <= SAMPLES)
		return 8 + 8 * k;
	return 8 + 8 * ((words - 1) * k / (SAMPLES - 1));
}

static uint32_t hash_samples(const unsigned char *p, size_t size)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ size;
	size_t n = nsamples(size);
	for (size_t k = 0; k < n; k++)
		h = (h ^ load64(p + sample_off(size, k))) * 0x100000001b3ull;
	return (uint32_t)(h ^ (h >> 32));
}

/* The part of the checksum that depends on the sequence number (and the size). */
static uint32_t mix(uint32_t seq, size_t size)
{
	uint64_t h = ((uint64_t)seq + 1) * 0x9e3779b97f4a7c15ull ^ (uint64_t)size * 0xc2b2ae3dull;
	return (uint32_t)(h >> 29);
}

static void put_header(unsigned char *p, size_t size, uint32_t seq, uint32_t sum)
{
	uint32_t w[2] = {seq, sum};
	memcpy(p, w, sizeof(w));
	if (size >= 16)
		store64(p + size - 8, seq);
}

int bt_tmpl_init(struct bt_tmpl *t, size_t size)
{
	t->size = size;
	size_t alloc = (size + 63) & ~(size_t)63;
	if (posix_memalign((void **)&t->buf, 64, alloc) != 0)
		return -ENOMEM;
	/* xorshift64, seeded by the size: every transport and both sides get the same bytes. */
	uint64_t x = 0x2545f4914f6cdd1dull ^ size;
	for (size_t i = 0; i < alloc; i += 8) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		memcpy(t->buf + i, &x, 8);
	}
	t->base = hash_samples(t->buf, size);
	put_header(t->buf, size, 0, t->base ^ mix(0, size));
	return 0;
}

void bt_tmpl_free(struct bt_tmpl *t)
{
	free(t->buf);
	t->buf = NULL;
}

void bt_msg_stamp(void *buf, const struct bt_tmpl *t, uint32_t seq)
{
	put_header(buf, t->size, seq, t->base ^ mix(seq, t->size));
}

void bt_msg_stamp_sparse(void *buf, const struct bt_tmpl *t, uint32_t seq)
{
	unsigned char *p = buf;
	size_t n = nsamples(t->size);
	for (size_t k = 0; k < n; k++) {
		size_t off = sample_off(t->size, k);
		memcpy(p + off, t->buf + off, 8);
	}
	bt_msg_stamp(buf, t, seq);
}

void bt_msg_restamp(void *buf, size_t size, uint32_t from, uint32_t to)
{
	uint32_t w[2];
	memcpy(w, buf, sizeof(w));
	put_header(buf, size, to, w[1] ^ mix(from, size) ^ mix(to, size));
}

int bt_msg_check_seq(const void *buf, size_t size, uint32_t seq, char *why, size_t len)
{
	const unsigned char *p = buf;
	uint32_t head;
	memcpy(&head, p, sizeof(head));
	if (head != seq) {
		snprintf(why, len, "message %u arrived as message %u", seq, head);
		return -EBADMSG;
	}
	if (size >= 16 && load64(p + size - 8) != seq) {
		snprintf(why, len, "message %u: its last bytes belong to message %llu (torn)", seq,
		         (unsigned long long)load64(p + size - 8));
		return -EBADMSG;
	}
	return 0;
}

int bt_msg_check(const void *buf, size_t size, uint32_t seq, char *why, size_t len)
{
	int r = bt_msg_check_seq(buf, size, seq, why, len);
	if (r < 0)
		return r;
	uint32_t w[2];
	memcpy(w, buf, sizeof(w));
	uint32_t want = hash_samples(buf, size) ^ mix(seq, size);
	if (w[1] != want) {
		snprintf(why, len, "message %u: checksum 0x%08x, expected 0x%08x (corrupted)", seq,
		         w[1], want);
		return -EBADMSG;
	}
	return 0;
}

void bt_msg_corrupt(void *buf, size_t size)
{
	unsigned char *p = buf;
	/* A payload byte the checksum covers, or the checksum itself in an 8-byte message. */
	p[nsamples(size) ? sample_off(size, nsamples(size) / 2) + 3 : 5] ^= 0x10;
}
