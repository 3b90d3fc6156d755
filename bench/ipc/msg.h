/* SPDX-License-Identifier: MIT */
/*
 * The messages every transport carries, written and checked by the harness alone.
 *
 *   offset 0        u32 sequence number (BT_REPLY set in replies), u32 checksum
 *   offset 8..      payload: the same pseudo-random bytes for every transport (seeded by size)
 *   last 8 bytes    u64 sequence number again (messages of 16 bytes and more)
 *
 * The checksum covers the sequence number, the size and the payload words the receiver
 * samples: every word up to 256 bytes, 32 words spread over larger messages. Sampling, not
 * hashing every byte, keeps the check's price small beside the transport's (a zero-copy
 * receiver that had to read 4 MiB would measure the hash), while the sequence number at
 * both ends catches the typical shared-memory bugs: a stale, torn, lost, duplicated or
 * reordered message. A mismatch aborts the case.
 */
#ifndef SHMKIT_BENCH_MSG_H
#define SHMKIT_BENCH_MSG_H

#include <stddef.h>
#include <stdint.h>

#define BT_MSG_MIN 8
#define BT_REPLY   0x80000000u
#define BT_SEQ_MAX 0x7fffffffu

/* One size's message as its sender keeps it: payload filled, checksum of the samples. */
struct bt_tmpl {
	size_t size;
	unsigned char *buf; /* size bytes, 64-byte aligned */
	uint32_t base;      /* hash of the sampled payload words */
};

int bt_tmpl_init(struct bt_tmpl *t, size_t size);
void bt_tmpl_free(struct bt_tmpl *t);

/* Write seq into a message whose payload is the template's (the copying sender's buffer). */
void bt_msg_stamp(void *buf, const struct bt_tmpl *t, uint32_t seq);
/* Write a message in place of unknown content (a zero-copy loan): header, trailer and the
 * sampled words only, so that it checks as the full message would. */
void bt_msg_stamp_sparse(void *buf, const struct bt_tmpl *t, uint32_t seq);
/* Turn a received message 'from' into one numbered 'to' without reading its payload (the
 * server's echo). Reads nothing but the header word. */
void bt_msg_restamp(void *buf, size_t size, uint32_t from, uint32_t to);
/* Cheap part of the check (header and trailer sequence numbers): 0 or -EBADMSG. */
int bt_msg_check_seq(const void *buf, size_t size, uint32_t seq, char *why, size_t len);
/* The whole check. 0, or -EBADMSG with the reason in why. */
int bt_msg_check(const void *buf, size_t size, uint32_t seq, char *why, size_t len);
/* The test-only corruption: flip one bit that the check covers. */
void bt_msg_corrupt(void *buf, size_t size);

#endif
