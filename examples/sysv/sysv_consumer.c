/* SPDX-License-Identifier: MIT */
/*
 * sysv_consumer: reads the numbers sysv_producer writes into the shared ring buffer and
 * checks that they arrive complete and in order. Starts before or after the producer.
 *
 *   sysv_consumer [PATH]
 */
#include <errno.h>
#include <stdio.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <unistd.h>

#include "sysv_ring.h"

int main(int argc, char **argv)
{
	key_t key = ftok(argc > 1 ? argv[1] : ".", RING_PROJ);
	if (key == -1) {
		perror("ftok");
		return 1;
	}
	int shmid;
	int waited = 0;
	while ((shmid = shmget(key, sizeof(struct ring), 0600)) < 0) {
		if (errno != ENOENT || waited++ > 10000) { /* about ten seconds */
			perror("shmget");
			return 1;
		}
		usleep(1000);
	}
	struct ring *r = shmat(shmid, NULL, 0);
	if (r == (void *)-1) {
		perror("shmat");
		return 1;
	}
	unsigned long long sum = 0;
	unsigned bad = 0;
	for (unsigned i = 0; i < RING_ITEMS; i++) {
		while (r->head == i) /* empty */
			usleep(100);
		__sync_synchronize(); /* the index before the item it publishes */
		int v = r->items[i % RING_SLOTS];
		if (v != ring_item(i))
			bad++;
		sum += (unsigned)v;
		__sync_synchronize(); /* done with the slot before giving it back */
		r->tail = i + 1;
	}
	printf("consumer: read %d items, checksum %llu, %u out of order\n", RING_ITEMS, sum, bad);
	r->done = 1;
	shmdt(r);
	return bad != 0;
}
