/* SPDX-License-Identifier: MIT */
/*
 * Description: the other process of the seg tests, run by exec so that nothing is inherited
 * but what the test passes on purpose.
 *
 *   helper_seg rw|ro posix|sysv|sock WHERE EXPECT [REPLY]
 *
 * Gets the object (POSIX name, sysv id, or a received descriptor on socket fd WHERE), maps it
 * (read-only for "ro"), checks that it starts with EXPECT and, for "rw", writes REPLY at
 * offset 256. Exit status: 0 done, an errno value when a seg call failed, 101 wrong contents,
 * 2 usage.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shmkit.h"

#define REPLY_OFFSET 256

static int get(const char *kind, const char *where, uint32_t flags, shmkit_seg_t **s)
{
	if (!strcmp(kind, "posix"))
		return shmkit_seg_open(s, SHMKIT_SEG_POSIX, where, flags);
	if (!strcmp(kind, "sysv"))
		return shmkit_seg_open(s, SHMKIT_SEG_SYSV, where, flags);
	if (!strcmp(kind, "sock"))
		return shmkit_seg_recv(atoi(where), s, flags);
	return -EINVAL;
}

int main(int argc, char **argv)
{
	shmkit_seg_t *s;
	char *p;

	if (argc < 5 || (strcmp(argv[1], "rw") && strcmp(argv[1], "ro")))
		return 2;
	int rw = !strcmp(argv[1], "rw");
	if (rw && argc < 6)
		return 2;
	int err = get(argv[2], argv[3], rw ? 0 : SHMKIT_SEG_RDONLY, &s);
	if (err)
		return -err;
	err = shmkit_seg_map(s, NULL, (void **)&p);
	if (err)
		return -err;
	if (strncmp(p, argv[4], strlen(argv[4]) + 1))
		return 101;
	if (rw)
		strcpy(p + REPLY_OFFSET, argv[5]);
	struct shmkit_seg_info info;
	err = shmkit_seg_stat(s, &info);
	if (!err)
		err = shmkit_seg_unmap(s, p, info.size);
	shmkit_seg_close(s);
	return -err;
}
