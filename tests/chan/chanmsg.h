/* SPDX-License-Identifier: MIT */
/*
 * Self-checking messages for the channel stress, crash, fuzz and thread tests (no Criterion:
 * the plain mt_ programs use it too). A message is a header — who sent it, its number among
 * that sender's messages, its length, a checksum of everything else — then a payload that
 * follows from the sender and the number. A torn, shortened, mixed or misplaced message fails
 * cm_check.
 */
#ifndef SHMKIT_CHANMSG_H
#define SHMKIT_CHANMSG_H

#include <stdint.h>
#include <string.h>
#include <time.h>

struct cm_hdr {
	uint32_t seq;    /* the sender's message number */
	uint16_t sender; /* the sender's number in the test */
	uint16_t magic;
	uint32_t len; /* the whole message's length */
	uint32_t sum; /* of the other header fields and the payload */
};
#define CM_HDR   ((uint32_t)sizeof(struct cm_hdr))
#define CM_MAGIC 0xc4a7u

/* A message's identity, as the tests log it: sender and number in one word. */
static inline uint64_t cm_id(unsigned sender, uint32_t seq)
{
	return (uint64_t)sender << 32 | seq;
}

static inline uint64_t cm_mix(uint64_t x)
{
	x ^= x >> 31;
	x *= 0x7fb5d329728ea185ull;
	x ^= x >> 27;
	x *= 0x81dadef4bc2dd44dull;
	return x ^ (x >> 33);
}

/* The payload's word i, and the checksum over header fields and payload. */
static inline uint32_t cm_sum(const unsigned char *m, uint32_t len)
{
	const struct cm_hdr *h = (const void *)m;
	uint64_t s = cm_mix((uint64_t)h->seq << 32 ^ (uint64_t)h->sender << 16 ^ h->magic ^
	                    (uint64_t)h->len << 40);
	uint32_t i = CM_HDR;
	for (; i + 8 <= len; i += 8) {
		uint64_t w;
		memcpy(&w, m + i, 8);
		s = (s ^ w) * 0x100000001b3ull + i;
	}
	for (; i < len; i++)
		s = (s ^ m[i]) * 0x100000001b3ull;
	return (uint32_t)(cm_mix(s) >> 16);
}

/* Write message (sender, seq) of len bytes (len >= CM_HDR) at buf. */
static inline void cm_fill(void *buf, uint32_t len, unsigned sender, uint32_t seq)
{
	unsigned char *m = buf;
	struct cm_hdr h = {seq, (uint16_t)sender, CM_MAGIC, len, 0};
	memcpy(m, &h, CM_HDR);
	uint64_t x = cm_mix(cm_id(sender, seq) + 1);
	uint32_t i = CM_HDR;
	for (; i + 8 <= len; i += 8, x += 0x9e3779b97f4a7c15ull)
		memcpy(m + i, &x, 8);
	for (; i < len; i++)
		m[i] = (unsigned char)(x >> (8 * (i % 8)));
	h.sum = cm_sum(m, len);
	memcpy(m, &h, CM_HDR);
}

/* Is buf a whole message of len bytes? 0 (and its sender and number) or -1. */
static inline int cm_check(const void *buf, size_t len, unsigned *sender, uint32_t *seq)
{
	struct cm_hdr h;
	if (len < CM_HDR)
		return -1;
	memcpy(&h, buf, CM_HDR);
	if (h.magic != CM_MAGIC || h.len != len || h.sum != cm_sum(buf, (uint32_t)len))
		return -1;
	*sender = h.sender;
	*seq = h.seq;
	return 0;
}

/* xorshift for the tests' choices, one state per process or thread. */
static inline uint32_t cm_rand(uint64_t *s, uint32_t n)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return n ? (uint32_t)(*s % n) : 0;
}

/* A CLOCK_MONOTONIC deadline ms from now. */
static inline struct timespec cm_in_ms(long ms)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	t.tv_sec += ms / 1000;
	t.tv_nsec += (ms % 1000) * 1000000L;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	} else if (t.tv_nsec < 0) { /* ms < 0: a deadline in the past */
		t.tv_sec--;
		t.tv_nsec += 1000000000L;
	}
	return t;
}

#endif
