/* SPDX-License-Identifier: MIT */
/*
 * The inspection API (shmkit/inspect.h) used directly: listing with filters, attachers found
 * through /proc, PID-reuse-safe start times, read-only views and limits.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <time.h>
#include <unistd.h>

#include "inspect/inspect.h"
#include "shmkit.h"
#include "testutil.h"

struct find {
	uint32_t kind;
	int32_t id;
	const char *name;
	struct shmkit_obj obj;
	int seen;
};

static int find_cb(const struct shmkit_obj *o, void *arg)
{
	struct find *f = arg;
	if (o->kind != f->kind)
		return 0;
	if (f->name ? strcmp(o->name, f->name) != 0 : o->id != f->id)
		return 0;
	f->obj = *o;
	f->seen++;
	return 0;
}

static int find(uint32_t kinds, uint32_t kind, int32_t id, const char *name, struct shmkit_obj *out)
{
	/* Not other programs' namespaces: reading one waits for its lock. */
	struct shmkit_inspect_filter filt = {.kinds = kinds ? kinds
	                                                    : SHMKIT_KIND_SYSV | SHMKIT_KIND_POSIX};
	struct find f = {.kind = kind, .id = id, .name = name};
	int r = shmkit_inspect_list(&filt, find_cb, &f);
	cr_assert(r >= 0, "list: %d", r);
	if (out && f.seen)
		*out = f.obj;
	return f.seen;
}

static int stop_cb(const struct shmkit_obj *o, void *arg)
{
	(void)o;
	++*(int *)arg;
	return 42;
}

Test(inspect, list_filters_kinds_and_stops)
{
	key_t key = (key_t)(0x5d000000 | tu_rand(1 << 24));
	int id = shmget(key, 5000, IPC_CREAT | IPC_EXCL | 0640);
	cr_assert(id >= 0);
	char name[128], path[140];
	snprintf(name, sizeof(name), "%s", tu_name("insp-list"));
	snprintf(path, sizeof(path), "/%s", name);
	int fd = shm_open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	cr_assert(fd >= 0);
	cr_assert_eq(ftruncate(fd, 777), 0);
	close(fd);

	struct shmkit_obj o;
	cr_expect_eq(find(0, SHMKIT_KIND_SYSV, id, NULL, &o), 1);
	cr_expect_eq(o.key, key);
	cr_expect_eq(o.size, 5000);
	cr_expect_eq(o.mode & 0777, 0640);
	cr_expect_eq(o.cpid, getpid());
	cr_expect(o.flags & SHMKIT_OBJ_CREATOR_ALIVE);
	cr_expect(!(o.flags & SHMKIT_OBJ_ORPHANED), "our own segment is not orphaned");
	cr_expect(strlen(o.comm) > 0, "the creator's command line is known");
	cr_expect_eq(find(SHMKIT_KIND_POSIX, SHMKIT_KIND_SYSV, id, NULL, NULL), 0);

	cr_expect_eq(find(0, SHMKIT_KIND_POSIX, -1, name, &o), 1);
	cr_expect_eq(o.size, 777);
	cr_expect_eq(o.id, -1);
	char backing[160];
	snprintf(backing, sizeof(backing), "/dev/shm/%s", name);
	cr_expect_str_eq(o.backing, backing);
	cr_expect_eq(find(SHMKIT_KIND_SYSV, SHMKIT_KIND_POSIX, -1, name, NULL), 0);

	/* A non-zero callback value stops the walk and is returned. */
	int calls = 0;
	cr_expect_eq(shmkit_inspect_list(NULL, stop_cb, &calls), 42);
	cr_expect_eq(calls, 1);
	struct shmkit_inspect_filter bad = {.kinds = 0x80};
	cr_expect_eq(shmkit_inspect_list(&bad, stop_cb, &calls), -EINVAL);

	shmctl(id, IPC_RMID, NULL);
	shm_unlink(path);
}

Test(inspect, attachers_of_sysv_and_posix)
{
	int id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
	cr_assert(id >= 0);
	char path[140];
	snprintf(path, sizeof(path), "/%s", tu_name("insp-att"));
	int fd = shm_open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	cr_assert(fd >= 0);
	cr_assert_eq(ftruncate(fd, 4096), 0);

	int p[2];
	cr_assert_eq(pipe(p), 0);
	pid_t child = fork();
	if (child == 0) {
		/* Two attachments of the segment, one mapping and one descriptor of the object. */
		void *a = shmat(id, NULL, 0), *b = shmat(id, NULL, SHM_RDONLY);
		void *m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
		char c = a != (void *)-1 && b != (void *)-1 && m != MAP_FAILED ? 'y' : 'n';
		if (write(p[1], &c, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(fd); /* only the child holds it now */
	char c = 0;
	cr_assert_eq(read(p[0], &c, 1), 1);
	cr_assert_eq(c, 'y');

	struct shmkit_obj o;
	cr_assert_eq(find(SHMKIT_KIND_SYSV, SHMKIT_KIND_SYSV, id, NULL, &o), 1);
	struct shmkit_inspect_proc procs[8];
	int n = shmkit_inspect_attachers(&o, procs, 8);
	cr_expect_eq(n, 1);
	cr_expect_eq(procs[0].pid, child);
	cr_expect_eq(procs[0].maps, 2);
	cr_expect_gt(procs[0].start, 0);

	cr_assert_eq(find(SHMKIT_KIND_POSIX, SHMKIT_KIND_POSIX, -1, path + 1, &o), 1);
	cr_expect_eq(o.nattch, 1, "one process maps it");
	n = shmkit_inspect_attachers(&o, procs, 8);
	cr_expect_eq(n, 1);
	cr_expect_eq(procs[0].pid, child);
	cr_expect_eq(procs[0].maps, 1);
	cr_expect_eq(procs[0].fds, 1);

	kill(child, SIGKILL);
	tu_wait_timeout(child, 10000);
	cr_expect_eq(shmkit_inspect_attachers(&o, procs, 8), 0);
	shmctl(id, IPC_RMID, NULL);
	shm_unlink(path);
}

Test(inspect, pid_started_after)
{
	time_t now = time(NULL);
	cr_expect_eq(shmkit_inspect_pid_started_after(getpid(), now), 0, "we started before now");
	cr_expect_eq(shmkit_inspect_pid_started_after(getpid(), 0), 1, "and after 1970");
	pid_t child = fork();
	if (child == 0)
		_exit(0);
	tu_wait_timeout(child, 10000);
	cr_expect_eq(shmkit_inspect_pid_started_after(child, now), -ESRCH);
}

Test(inspect, read_only_view)
{
	int id = shmget(IPC_PRIVATE, 100, IPC_CREAT | 0600);
	cr_assert(id >= 0);
	char *p = shmat(id, NULL, 0);
	cr_assert(p != (void *)-1);
	strcpy(p, "inspect me");
	struct shmkit_obj o;
	cr_assert_eq(find(SHMKIT_KIND_SYSV, SHMKIT_KIND_SYSV, id, NULL, &o), 1);
	struct shmkit_inspect_view v;
	cr_assert_eq(shmkit_inspect_map(&o, &v), 0);
	cr_expect_eq(v.size, 100);
	cr_expect_str_eq(v.addr, "inspect me");
	shmkit_inspect_unmap(&v);
	shmdt(p);
	shmctl(id, IPC_RMID, NULL);
	cr_expect_eq(shmkit_inspect_map(&o, &v), -EINVAL, "removed: no view");
}

Test(inspect, kernel_limits)
{
	struct shmkit_inspect_limits l;
	cr_assert_eq(shmkit_inspect_limits(SHMKIT_KIND_SYSV, NULL, &l), 0);
	FILE *f = fopen("/proc/sys/kernel/shmmni", "r");
	unsigned long long mni = 0;
	cr_assert(f);
	cr_assert_eq(fscanf(f, "%llu", &mni), 1);
	fclose(f);
	cr_expect_eq(l.shmmni, mni);
	cr_expect_eq(l.shmmin, 1);
	cr_expect_eq(l.page_size, (uint64_t)sysconf(_SC_PAGESIZE));
	cr_expect_eq(shmkit_inspect_limits(SHMKIT_KIND_POSIX, NULL, &l), -EINVAL);
}

/* ---- parsers of /proc text: malformed input is refused, never trusted ---- */

Test(inspect, shm_line_parser)
{
	struct shmkit_obj o;
	const char *good = " 1543993987   13926439   1600                  4096 23095 23098      1"
	                   "     0     0     0     0 1795613433          0 1795613433       4096"
	                   "        0\n";
	cr_assert_eq(sk_insp_parse_shm_line(good, &o), 0);
	cr_expect_eq(o.key, 1543993987);
	cr_expect_eq(o.id, 13926439);
	cr_expect_eq(o.mode, 01600);
	cr_expect(o.flags & SHMKIT_OBJ_DEST);
	cr_expect_eq(o.size, 4096);
	cr_expect_eq(o.cpid, 23095);
	cr_expect_eq(o.lpid, 23098);
	cr_expect_eq(o.nattch, 1);
	cr_expect_eq(o.ctime, 1795613433);
	cr_expect_eq(o.rss, 4096);
	/* 14 columns: kernels before rss/swap. Negative keys are keys >= 0x80000000. */
	cr_expect_eq(sk_insp_parse_shm_line("-5 1 600 1 1 1 0 0 0 0 0 0 0 0", &o), 0);
	cr_expect_eq((uint32_t)o.key, 0xfffffffbu);

	const char *bad[] = {
	    "",
	    "\n",
	    "       key      shmid perms size cpid lpid nattch uid gid cuid cgid atime dtime ctime",
	    "1 2 600 4096 1 1 0 0 0 0 0 0 0",                      /* 13 columns */
	    "1 -2 600 4096 1 1 0 0 0 0 0 0 0 0",                   /* negative id */
	    "1 2 900 4096 1 1 0 0 0 0 0 0 0 0",                    /* 9 is not octal */
	    "1 2 600 4096 1 1 0 0 0 0 0 0 0 0x",                   /* junk after a number */
	    "1 2147483648 600 1 1 1 0 0 0 0 0 0 0 0",              /* id out of range */
	    "1 2 600 99999999999999999999999 1 1 0 0 0 0 0 0 0 0", /* overflow */
	    "1 2 600 1 4294967296 1 0 0 0 0 0 0 0 0",              /* pid out of range */
	    "4294967296 2 600 1 1 1 0 0 0 0 0 0 0 0",              /* key out of range */
	    "1 2 600 1 1 1 0 0 0 0 0 9223372036854775808 0 0",     /* time out of range */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(sk_insp_parse_shm_line(bad[i], &o), -EPROTO, "accepted '%s'", bad[i]);
}

Test(inspect, maps_line_parser)
{
	uint64_t ino;
	const char *path;
	char l1[] = "7f366a5e6000-7f366a5e7000 rw-s 00000000 00:01 13926439                   "
	            "/SYSV5c077a83 (deleted)\n";
	cr_assert_eq(sk_insp_parse_maps_line(l1, &ino, &path), 0);
	cr_expect_eq(ino, 13926439);
	cr_expect_str_eq(path, "/SYSV5c077a83 (deleted)");
	char l2[] = "7f0000000000-7f0000001000 r--s 00000000 00:19 42 /dev/shm/a name with spaces";
	cr_assert_eq(sk_insp_parse_maps_line(l2, &ino, &path), 0);
	cr_expect_eq(ino, 42);
	cr_expect_str_eq(path, "/dev/shm/a name with spaces");

	char bad[][96] = {
	    "",
	    "7f0000000000-7f0000001000 rw-p 00000000 00:00 0 ",
	    "7f0000000000-7f0000001000 rw-p 00000000 00:00 0                          [heap]",
	    "7f0000000000-7f0000001000 rw-s 00000000 00:01 -5 /SYSV00000000",
	    "7f0000000000-7f0000001000 rw-s 00000000 00:01 x /SYSV00000000",
	    "7f0000000000-7f0000001000 rw-s",
	    "garbage",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(sk_insp_parse_maps_line(bad[i], &ino, &path), -EPROTO, "accepted '%s'",
		             bad[i]);
}

Test(inspect, parsers_survive_random_input)
{
	char line[128];
	struct shmkit_obj o;
	uint64_t ino;
	const char *path;
	const char alphabet[] = "0123456789 -/x\t\n(deleted)SYSV:";
	for (int round = 0; round < 20000; round++) {
		size_t n = tu_rand(sizeof(line));
		for (size_t i = 0; i < n; i++)
			line[i] = round & 1 ? (char)(1 + tu_rand(255))
			                    : alphabet[tu_rand(sizeof(alphabet) - 1)];
		line[n] = '\0';
		int r = sk_insp_parse_shm_line(line, &o);
		cr_assert(r == 0 || r == -EPROTO);
		if (r == 0)
			cr_assert(o.id >= 0);
		r = sk_insp_parse_maps_line(line, &ino, &path);
		cr_assert(r == 0 || r == -EPROTO);
		if (r == 0)
			cr_assert(path[0] == '/' && path >= line && path < line + sizeof(line));
	}
}

static int count_chan_names(const struct shmkit_obj *o, void *arg)
{
	*(int *)arg += !strncmp(o->name, "shmkit.chan.", 12);
	return 0;
}

/* Channels: listed as kind chan from their ring, never as POSIX objects; a name that is not a
 * channel this library reads is listed flagged, with what the kernel says of it. */
Test(inspect, channels_listed_with_their_figures)
{
	char name[128], bad[128], path[200];
	snprintf(name, sizeof(name), "%s", tu_name("insp-chan"));
	snprintf(bad, sizeof(bad), "%s", tu_name("insp-chan-file"));
	struct shmkit_chan_config cfg = {
	    .kind = SHMKIT_CHAN_MPMC, .mode = 0640, .msg_size = 100, .capacity = 5};
	cr_assert_eq(shmkit_chan_create(name, &cfg), 0);
	snprintf(path, sizeof(path), "/dev/shm/shmkit.chan.%s", bad);
	int fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "not a ring", 10), 10);
	close(fd);
	shmkit_chan_t *tx, *rx;
	cr_assert_eq(shmkit_chan_open(&tx, name, SHMKIT_CHAN_SEND), 0);
	cr_assert_eq(shmkit_chan_open(&rx, name, SHMKIT_CHAN_RECV), 0);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(shmkit_chan_trysend(tx, "abc", 3), 0);

	struct shmkit_obj o;
	cr_assert_eq(find(SHMKIT_KIND_CHAN, SHMKIT_KIND_CHAN, -1, name, &o), 1);
	cr_expect_eq(o.id, -1);
	cr_expect_eq(o.key, 0);
	cr_expect_eq(o.flags, 0);
	cr_expect_eq(o.mode & 0777, 0640);
	cr_expect_eq(o.uid, geteuid());
	cr_expect_eq(o.nattch, 2, "a sender and a receiver");
	cr_expect_gt(o.size, 12288);
	snprintf(path, sizeof(path), "/dev/shm/shmkit.chan.%s/ring", name);
	cr_expect_str_eq(o.backing, path);
	struct shmkit_chan_info info;
	struct shmkit_chan_peer peers[4];
	cr_expect_eq(shmkit_inspect_chan(&o, &info, peers, 4), 2);
	cr_expect_eq(info.kind, SHMKIT_CHAN_MPMC);
	cr_expect_eq(info.capacity, 8, "rounded up to a power of two");
	cr_expect_eq(info.msg_size, 100);
	cr_expect_eq(info.depth, 3);
	cr_expect_eq(o.ctime, info.ctime);
	for (int i = 0; i < 2; i++)
		cr_expect_eq(peers[i].pid, getpid());
	/* Its ring maps in this process, twice (sender and receiver). */
	struct shmkit_inspect_proc procs[4];
	cr_expect_eq(shmkit_inspect_attachers(&o, procs, 4), 1);
	cr_expect_eq(procs[0].maps, 2);

	/* A regular file under a channel's name: listed, damaged, no figures. */
	cr_assert_eq(find(SHMKIT_KIND_CHAN, SHMKIT_KIND_CHAN, -1, bad, &o), 1);
	cr_expect_eq(o.flags, SHMKIT_OBJ_DAMAGED);
	cr_expect_eq(o.size, 10);
	cr_expect_eq(o.mode & 0777, 0600);
	cr_expect_eq(shmkit_inspect_chan(&o, &info, NULL, 0), -EBADMSG);
	/* Neither is a POSIX object, and the heap filter passes channels through. */
	cr_expect_eq(find(SHMKIT_KIND_POSIX, SHMKIT_KIND_POSIX, -1, name, NULL), 0);
	int posix_chans = 0;
	struct shmkit_inspect_filter pf = {.kinds = SHMKIT_KIND_POSIX};
	cr_expect_geq(shmkit_inspect_list(&pf, count_chan_names, &posix_chans), 0);
	cr_expect_eq(posix_chans, 0, "a channel's name listed as a POSIX object");
	cr_expect_eq(find(SHMKIT_KIND_HEAP | SHMKIT_KIND_CHAN, SHMKIT_KIND_CHAN, -1, name, NULL),
	             1);
	o.kind = SHMKIT_KIND_POSIX;
	cr_expect_eq(shmkit_inspect_chan(&o, &info, NULL, 0), -EINVAL);

	shmkit_chan_close(tx);
	shmkit_chan_close(rx);
	cr_expect_eq(shmkit_chan_unlink(name), 0);
	snprintf(path, sizeof(path), "/dev/shm/shmkit.chan.%s", bad);
	cr_expect_eq(unlink(path), 0);
	cr_expect_eq(find(SHMKIT_KIND_CHAN, SHMKIT_KIND_CHAN, -1, name, NULL), 0);
}
