/* SPDX-License-Identifier: MIT */
/*
 * helper_trust NS ID RFD WFD WAIT_MS: attach segment ID of namespace NS, say so with a byte on
 * WFD, wait for a byte on RFD, then exit() with the attachment held — the library's destructor
 * detaches, waiting at most WAIT_MS for the registry lock. A program of its own, so that nothing
 * but shmkit runs at exit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "shmkit.h"

int main(int argc, char **argv)
{
	if (argc != 6)
		return 2;
	char c = 'a';
	if (shmkit_ns_use(argv[1]) || shmkit_shmat(atoi(argv[2]), NULL, 0) == (void *)-1)
		return 3;
	shmkit_ns_set_wait((uint64_t)atoll(argv[5]) * 1000 * 1000);
	if (write(atoi(argv[4]), &c, 1) != 1 || read(atoi(argv[3]), &c, 1) != 1)
		return 4;
	exit(0);
}
