/* SPDX-License-Identifier: MIT */
/*
 * sysv_producer: writes RING_ITEMS numbers into a ring buffer in a System V segment that
 * sysv_consumer reads, then removes the segment once the consumer has read everything.
 *
 *   sysv_producer [PATH]   PATH is the ftok file shared with the consumer (default ".")
 */
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
	int shmid = shmget(key, sizeof(struct ring), IPC_CREAT | 0600);
	if (shmid < 0) {
		perror("shmget");
		return 1;
	}
	struct ring *r = shmat(shmid, NULL, 0);
	if (r == (void *)-1) {
		perror("shmat");
		return 1;
	}
	unsigned long long sum = 0;
	for (unsigned i = 0; i < RING_ITEMS; i++) {
		while (r->head - r->tail == RING_SLOTS) /* full */
			usleep(100);
		r->items[i % RING_SLOTS] = ring_item(i);
		__sync_synchronize(); /* the item before the index that publishes it */
		r->head = i + 1;
		sum += (unsigned)ring_item(i);
	}
	printf("producer: wrote %d items, checksum %llu\n", RING_ITEMS, sum);

	while (!r->done)
		usleep(1000);
	printf("producer: the consumer read them all\n");
	shmdt(r);
	if (shmctl(shmid, IPC_RMID, NULL) < 0) {
		perror("shmctl IPC_RMID");
		return 1;
	}
	printf("producer: segment removed\n");
	return 0;
}
