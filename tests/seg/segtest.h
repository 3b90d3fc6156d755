/* SPDX-License-Identifier: MIT */
/* Helpers shared by the seg test programs. */
#ifndef SHMKIT_TESTS_SEGTEST_H
#define SHMKIT_TESTS_SEGTEST_H

#include <dirent.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "shmkit.h"
#include "testutil.h"

#define NOBODY       65534
#define REPLY_OFFSET 256 /* where helper_seg writes its reply */
#define HELPER_MS    10000

/*
 * Run helper_seg with argv (argv[0] is filled in) in a child that first becomes uid/gid
 * 'as' (0: stays root). Returns its exit status as tu_wait_timeout does.
 */
static inline int run_helper(const char **argv, uid_t as)
{
	argv[0] = tu_helper("helper_seg");
	pid_t pid = fork();
	if (pid == 0) {
		if (as && tu_become(as, as))
			_exit(120);
		execv(argv[0], (char **)argv);
		_exit(127);
	}
	return pid < 0 ? -1 : tu_wait_timeout(pid, HELPER_MS);
}

/* Open descriptors of this process. */
static inline int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* An address range that is free right now (a fixed mapping may go there). */
static inline void *free_range(size_t len)
{
	void *p = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	munmap(p, len);
	return p;
}

static inline struct shmkit_seg_config seg_cfg(uint32_t backend, uint32_t mode)
{
	struct shmkit_seg_config c = SHMKIT_SEG_CONFIG_INIT;
	c.backend = backend;
	c.mode = mode;
	return c;
}

#endif
