/* SPDX-License-Identifier: MIT */
/* The ring buffer sysv_producer and sysv_consumer share: one writer, one reader. */
#ifndef SYSV_RING_H
#define SYSV_RING_H

#define RING_PROJ  'P'
#define RING_SLOTS 256
#define RING_ITEMS 200000

struct ring {
	volatile unsigned head; /* items written; only the producer changes it */
	volatile unsigned tail; /* items read; only the consumer changes it */
	volatile int done;      /* the consumer has read everything */
	int items[RING_SLOTS];
};

/* The value of item i: anything the consumer can recompute. */
static inline int ring_item(unsigned i)
{
	return (int)(i * 2654435761u >> 8);
}

#endif
