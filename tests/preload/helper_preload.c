/* SPDX-License-Identifier: MIT */
/*
 * helper_preload: what the preload tests need from a program linked with libshmkit itself.
 *
 *   helper_preload list NS             one line per segment: "key nattch size"
 *   helper_preload destroy NS          remove the namespace (0 also if it did not exist)
 *   helper_preload direct NS KEY MSG   attach segment KEY of NS through the library, print the
 *                                      string it holds and its nattch, write MSG into it
 *   helper_preload create NS KEY MSG   create segment KEY (4096 bytes) holding MSG, then wait
 *                                      for stdin to close, print nattch, remove it
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shmkit.h"

static unsigned long nattch(int id)
{
	struct shmid_ds ds;
	if (shmkit_shmctl(id, IPC_STAT, &ds) < 0) {
		perror("shmkit_shmctl");
		exit(1);
	}
	return (unsigned long)ds.shm_nattch;
}

static int list(const char *ns)
{
	struct shmkit_seg_stat v[64];
	int n = shmkit_ns_segments(ns, v, 64);
	if (n == -ENOENT)
		return 0;
	if (n < 0) {
		fprintf(stderr, "shmkit_ns_segments: %s\n", strerror(-n));
		return 1;
	}
	for (int i = 0; i < n && i < 64; i++)
		printf("0x%08x %lu %lu\n", (unsigned)v[i].ds.shm_perm.__key,
		       (unsigned long)v[i].ds.shm_nattch, (unsigned long)v[i].ds.shm_segsz);
	return 0;
}

static int use(const char *ns, const char *keys, key_t *key)
{
	int err = shmkit_ns_use(ns);
	if (err) {
		fprintf(stderr, "shmkit_ns_use: %s\n", strerror(-err));
		return -1;
	}
	*key = (key_t)strtoul(keys, NULL, 0);
	return 0;
}

static int direct(const char *ns, const char *keys, const char *msg)
{
	key_t key;
	if (use(ns, keys, &key))
		return 1;
	int id = shmkit_shmget(key, 0, 0);
	char *p = id < 0 ? (void *)-1 : shmkit_shmat(id, NULL, 0);
	if (p == (void *)-1) {
		perror("direct: shmget/shmat");
		return 1;
	}
	printf("direct: read \"%s\", nattch %lu\n", p, nattch(id));
	snprintf(p, 4096, "%s", msg);
	shmkit_shmdt(p);
	return 0;
}

static int create(const char *ns, const char *keys, const char *msg)
{
	key_t key;
	if (use(ns, keys, &key))
		return 1;
	int id = shmkit_shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0600);
	char *p = id < 0 ? (void *)-1 : shmkit_shmat(id, NULL, 0);
	if (p == (void *)-1) {
		perror("create: shmget/shmat");
		return 1;
	}
	snprintf(p, 4096, "%s", msg);
	printf("create: ready\n");
	fflush(stdout);
	char buf[64];
	while (read(0, buf, sizeof(buf)) > 0)
		;
	printf("create: now holds \"%s\", nattch %lu\n", p, nattch(id));
	shmkit_shmdt(p);
	shmkit_shmctl(id, IPC_RMID, NULL);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "list"))
		return list(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "destroy")) {
		int err = shmkit_ns_destroy(argv[2]);
		if (err && err != -ENOENT) {
			fprintf(stderr, "shmkit_ns_destroy: %s\n", strerror(-err));
			return 1;
		}
		return 0;
	}
	if (argc == 5 && !strcmp(argv[1], "direct"))
		return direct(argv[2], argv[3], argv[4]);
	if (argc == 5 && !strcmp(argv[1], "create"))
		return create(argv[2], argv[3], argv[4]);
	fprintf(stderr, "usage: helper_preload list|destroy NS | direct|create NS KEY MSG\n");
	return 2;
}
