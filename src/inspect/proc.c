/* SPDX-License-Identifier: MIT */
/*
 * inspect: walking /proc. Every line is untrusted text: a line that does not parse is skipped,
 * and a process that exits during the walk is simply not seen.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "inspect/inspect.h"
#include "sys/sys.h"

static int parse_pid(const char *s, pid_t *pid)
{
	uint64_t v;
	if (sk_parse_u64(s, &v) < 0 || v == 0 || v > INT32_MAX)
		return -EINVAL;
	*pid = (pid_t)v;
	return 0;
}

int sk_insp_each_pid(int (*fn)(pid_t pid, void *arg), void *arg)
{
	DIR *d = opendir("/proc");
	if (!d)
		return -errno;
	struct dirent *e;
	int r = 0;
	while (!r && (e = readdir(d))) {
		pid_t pid;
		if (parse_pid(e->d_name, &pid) == 0)
			r = fn(pid, arg);
	}
	closedir(d);
	return r;
}

/*
 * "start-end perms offset dev inode   path": the path starts after the fifth field and its run
 * of spaces; it may itself contain spaces.
 */
int sk_insp_parse_maps_line(char *line, uint64_t *ino, const char **path)
{
	char *p = line;
	for (int field = 0; field < 4; field++) {
		p = strchr(p, ' ');
		if (!p)
			return -EPROTO;
		p++;
	}
	if (*p < '0' || *p > '9')
		return -EPROTO;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(p, &end, 10);
	if (errno || *end != ' ')
		return -EPROTO;
	while (*end == ' ')
		end++;
	if (*end != '/')
		return -EPROTO; /* anonymous, [heap], [stack]... */
	size_t n = strlen(end);
	if (n && end[n - 1] == '\n')
		end[n - 1] = '\0';
	*ino = v;
	*path = end;
	return 0;
}

struct maps_scan {
	sk_maps_fn fn;
	void *arg;
};

static int scan_one(pid_t pid, void *arg)
{
	struct maps_scan *s = arg;
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	char *line = NULL;
	size_t cap = 0;
	int r = 0;
	while (!r && getline(&line, &cap, f) > 0) {
		uint64_t ino;
		const char *p;
		if (sk_insp_parse_maps_line(line, &ino, &p) == 0)
			r = s->fn(pid, ino, p, s->arg);
	}
	free(line);
	fclose(f);
	return r;
}

int sk_insp_scan_maps(pid_t pid, sk_maps_fn fn, void *arg)
{
	struct maps_scan s = {fn, arg};
	return pid ? scan_one(pid, &s) : sk_insp_each_pid(scan_one, &s);
}

int sk_insp_cmdline(pid_t pid, char *buf, size_t len)
{
	char path[64];
	if (len < 2)
		return -EINVAL;
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = SK_RETRY_EINTR(read(fd, buf, len - 1));
	close(fd);
	if (n <= 0)
		return sk_proc_comm(pid, buf, len); /* kernel threads, zombies */
	while (n > 0 && buf[n - 1] == '\0')
		n--;
	for (ssize_t i = 0; i < n; i++)
		if (buf[i] == '\0' || !isprint((unsigned char)buf[i]))
			buf[i] = ' ';
	buf[n] = '\0';
	return (int)n;
}

SK_EXPORT int shmkit_inspect_proc_cmdline(int32_t pid, char *buf, size_t len)
{
	return pid > 0 && buf ? sk_insp_cmdline(pid, buf, len) : -EINVAL;
}

/*
 * Boot time on the realtime clock, to place a /proc start time (ticks since boot, counted on
 * CLOCK_BOOTTIME) on the epoch. /proc/stat's btime is rounded down to a second; this is exact.
 */
static double boot_epoch(void)
{
	struct timespec real, boot;
	clock_gettime(CLOCK_REALTIME, &real);
	clock_gettime(CLOCK_BOOTTIME, &boot);
	return (double)(real.tv_sec - boot.tv_sec) + (real.tv_nsec - boot.tv_nsec) / 1e9;
}

SK_EXPORT int shmkit_inspect_pid_started_after(int32_t pid, int64_t t)
{
	uint64_t start;
	int r = sk_proc_starttime(pid, &start);
	if (r < 0)
		return r;
	long hz = sysconf(_SC_CLK_TCK);
	if (hz <= 0)
		hz = 100;
	/*
	 * The start tick is rounded down, so 'began' is never later than the real start. A time
	 * stamp t covers [t, t+1): only a start at or after t+1 proves "after".
	 */
	double began = boot_epoch() + (double)start / (double)hz;
	return began >= (double)t + 1.0;
}

void sk_insp_creator(struct shmkit_obj *o)
{
	if (o->cpid <= 0)
		return;
	int r = shmkit_inspect_pid_started_after(o->cpid, o->ctime);
	if (r == 1 || r == -ESRCH)
		return;
	/* An unreadable process (hidepid, EACCES) counts as alive: never call it orphaned. */
	o->flags |= SHMKIT_OBJ_CREATOR_ALIVE;
	if (r < 0 || sk_insp_cmdline(o->cpid, o->comm, sizeof(o->comm)) < 0)
		o->comm[0] = '\0';
}
