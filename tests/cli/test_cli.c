/* SPDX-License-Identifier: MIT */
/*
 * The shmkit command-line tool, run as a separate program against objects these tests create
 * (kernel System V segments, POSIX objects) and always remove. `shmkit ipcs` is compared byte
 * for byte with the real ipcs. Other test programs may create objects meanwhile, so every
 * check looks at this test's own objects only, and names the kinds it looks at (reading
 * another program's shmkit namespace waits for that namespace's lock).
 */
#include <criterion/criterion.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli_run.h"
#include "testutil.h"

TestSuite(cli, .fini = cli_cleanup);

/* ---- objects of this test ---- */

static int mk_sysv(key_t key, size_t size, int mode)
{
	int id = shmget(key, size, IPC_CREAT | IPC_EXCL | mode);
	cr_assert(id >= 0, "shmget: %s", strerror(errno));
	track_sysv(id);
	return id;
}

static bool sysv_exists(int id)
{
	struct shmid_ds ds;
	return shmctl(id, IPC_STAT, &ds) == 0;
}

static void rm_sysv(int id)
{
	shmctl(id, IPC_RMID, NULL);
}

/* A segment created by a child that has exited: nobody attached, creator gone. */
static int mk_orphan(key_t key, size_t size)
{
	int *slot = tu_shared_alloc(sizeof(int));
	pid_t pid = fork();
	if (pid == 0) {
		*slot = shmget(key, size, IPC_CREAT | IPC_EXCL | 0600);
		_exit(*slot >= 0 ? 0 : 1);
	}
	cr_assert_eq(tu_wait_timeout(pid, TIMEOUT_MS), 0);
	int id = *slot;
	tu_shared_free(slot, sizeof(int));
	track_sysv(id);
	return id;
}

static const char *mk_posix(const char *prefix, const void *data, size_t len, size_t size)
{
	static char names[8][128];
	static int next;
	char *name = names[next++ % 8];
	snprintf(name, 128, "%s", tu_name(prefix));
	char path[140];
	snprintf(path, sizeof(path), "/%s", name);
	int fd = shm_open(path, O_RDWR | O_CREAT | O_EXCL, 0640);
	cr_assert(fd >= 0, "shm_open: %s", strerror(errno));
	track_posix(name);
	cr_assert_eq(ftruncate(fd, (off_t)size), 0);
	if (len)
		cr_assert_eq(pwrite(fd, data, len, 0), (ssize_t)len);
	close(fd);
	return name;
}

static bool posix_exists(const char *name)
{
	char path[160];
	snprintf(path, sizeof(path), "/dev/shm/%s", name);
	return access(path, F_OK) == 0;
}

static void rm_posix(const char *name)
{
	char path[160];
	snprintf(path, sizeof(path), "/%s", name);
	shm_unlink(path);
}

/* A child attached to shmid until killed; the pipe tells when it is attached. */
static pid_t attach_child(int id)
{
	int p[2];
	cr_assert_eq(pipe(p), 0);
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a test that failed */
		close(p[0]);
		void *a = shmat(id, NULL, 0);
		char c = a == (void *)-1 ? 'n' : 'y';
		if (write(p[1], &c, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	track_pid(pid);
	char c = 0;
	cr_assert_eq(read(p[0], &c, 1), 1);
	close(p[0]);
	cr_assert_eq(c, 'y');
	return pid;
}

static void kill_child(pid_t pid)
{
	kill(pid, SIGKILL);
	tu_wait_timeout(pid, TIMEOUT_MS);
	untrack_pid(pid);
}

/* ---- usage ---- */

Test(cli, help_of_every_command)
{
	const char *cmds[] = {"ls", "stat", "mk", "rm", "gc", "limits", "dump", "watch", "ipcs"};
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		struct result r = shmkit("%s --help", cmds[i]);
		cr_expect_eq(r.rc, 0, "%s --help: %d", cmds[i], r.rc);
		cr_expect(!strncmp(r.out, "Usage: shmkit ", 14), "%s --help: %s", cmds[i], r.out);
		cr_expect_str_empty(r.err);
		result_free(&r);
	}
	struct result r = shmkit("--help");
	cr_expect_eq(r.rc, 0);
	cr_expect(strstr(r.out, "gc"));
	result_free(&r);
	/* run belongs to the interposer: it is dispatched, whatever this build makes of it. */
	r = shmkit("run --help");
	cr_expect(!strstr(r.err, "unknown command"), "%s", r.err);
	result_free(&r);
}

Test(cli, bad_usage_exits_2_and_changes_nothing)
{
	key_t key = unique_key();
	int id = mk_sysv(key, 4096, 0600);
	const char *name = mk_posix("cli-usage", NULL, 0, 4096);
	const char *bad[] = {
	    "",
	    "nosuchcommand",
	    "ls --bogus",
	    "ls -o NOSUCHCOLUMN",
	    "ls -k nosuchkind",
	    "mk",
	    "mk 0",
	    "mk 12Q",
	    "mk 4096 -p 999",
	    "mk 4096 --key zz",
	    "stat",
	    "dump --offset x 1",
	    "watch --count 0",
	    "watch -i abc",
	    "ipcs -q",
	    "gc extra",
	    "rm",
	    "rm --all 5",
	    "rm --id 5",
	    "rm 0x0",
	    "stat 0x00000000",
	    "limits extra",
	};
	char rmline[512];
	snprintf(rmline, sizeof(rmline), "rm %d 0x%08x %s --bogus", id, (unsigned)key, name);
	for (size_t i = 0; i <= sizeof(bad) / sizeof(bad[0]); i++) {
		const char *args = i < sizeof(bad) / sizeof(bad[0]) ? bad[i] : rmline;
		struct result r = shmkit("%s", args);
		cr_expect_eq(r.rc, 2, "'%s' gave %d", args, r.rc);
		cr_expect_str_not_empty(r.err, "'%s' said nothing on stderr", args);
		result_free(&r);
	}
	/* One operand that names nothing: nothing at all is removed. */
	struct result r =
	    shmkit("rm -k sysv,posix %d %s no-such-object-%d", id, name, (int)getpid());
	cr_expect_eq(r.rc, 1);
	cr_expect(strstr(r.err, "nothing removed"), "%s", r.err);
	result_free(&r);
	cr_expect(sysv_exists(id));
	cr_expect(posix_exists(name));
	rm_sysv(id);
	rm_posix(name);
}

/* ---- ls ---- */

Test(cli, ls_lists_sysv_and_posix)
{
	key_t key = unique_key();
	int id = mk_sysv(key, 12345, 0640);
	const char *name = mk_posix("cli-ls", NULL, 0, 8192);
	struct result r =
	    shmkit("ls -r -n -b -k sysv -o kind,key,id,perms,size,nattch --id %d", id);
	char want[256];
	snprintf(want, sizeof(want), "sysv 0x%08x %d rw-r----- 12345 0\n", (unsigned)key, id);
	cr_expect_eq(r.rc, 0);
	cr_expect_str_eq(r.out, want);
	result_free(&r);

	r = shmkit("ls -r -n -b -o kind,name,size -k posix --name %s", name);
	snprintf(want, sizeof(want), "posix %s 8192\n", name);
	cr_expect_str_eq(r.out, want);
	result_free(&r);

	/* Human sizes and the key filter. */
	r = shmkit("ls -n -k sysv -o size,key --key 0x%08x", (unsigned)key);
	snprintf(want, sizeof(want), "12.1K 0x%08x\n", (unsigned)key);
	cr_expect_str_eq(r.out, want);
	result_free(&r);

	/* Owner filter: root's objects are there, nobody's are not. */
	r = shmkit("ls -r -n -k sysv -o id --id %d -u 65534", id);
	cr_expect_str_empty(r.out);
	result_free(&r);
	r = shmkit("ls -r -n -k sysv -o id --id %d -u %u", id, (unsigned)geteuid());
	snprintf(want, sizeof(want), "%d\n", id);
	cr_expect_str_eq(r.out, want);
	result_free(&r);
	rm_sysv(id);
	rm_posix(name);
}

Test(cli, ls_json_matches_schema)
{
	key_t key = unique_key();
	int id = mk_sysv(key, 4096, 0600);
	pid_t child = attach_child(id);
	const char *name = mk_posix("cli-json", "x", 1, 100);
	const char *all = "kind,key,id,name,ns,owner,uid,group,gid,cuser,cuid,cgroup,cgid,perms,"
	                  "size,nattch,status,cpid,lpid,atime,dtime,ctime,command,backing";
	char out[128];
	snprintf(out, sizeof(out), "/tmp/%s.json", tu_name("cli-json"));
	char args[512];
	snprintf(args, sizeof(args), "-k sysv,posix -o %s", all);
	ls_json_checked(args, out);
	/* And the values of our own objects. */
	struct result r =
	    sh("python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))[\"sharedmemory\"]; "
	       "s=[o for o in d if o[\"id\"]==%d and o[\"kind\"]==\"sysv\"][0]; p=[o for o in d if "
	       "o[\"name\"]==\"%s\"][0]; "
	       "assert s[\"kind\"]==\"sysv\" and s[\"nattch\"]==1 and s[\"perms\"]==\"0600\", s; "
	       "assert s[\"key\"]==\"0x%08x\" and s[\"cpid\"]==%d and s[\"status\"]==[], s; "
	       "assert p[\"kind\"]==\"posix\" and p[\"size\"]==100 and p[\"id\"] is None, p' %s",
	       id, name, (unsigned)key, (int)getpid(), out);
	cr_expect_eq(r.rc, 0, "values: %s", r.err);
	result_free(&r);
	unlink(out);
	kill_child(child);
	rm_sysv(id);
	rm_posix(name);
}

/* ---- stat ---- */

Test(cli, stat_shows_attachers)
{
	key_t key = unique_key();
	int id = mk_sysv(key, 4096, 0600);
	pid_t child = attach_child(id);
	struct result r = shmkit("stat -k sysv %d", id);
	cr_expect_eq(r.rc, 0, "%s", r.err);
	char want[128];
	snprintf(want, sizeof(want), "pid %-8d maps 1", (int)child);
	cr_expect(strstr(r.out, want), "%s", r.out);
	cr_expect(strstr(r.out, "attached:    1 process\n"), "%s", r.out);
	cr_expect(strstr(r.out, "orphaned:    no"), "%s", r.out);
	cr_expect(strstr(r.out, "creator is:  running"), "%s", r.out);
	result_free(&r);

	/* By key too, and after IPC_RMID the segment shows as dest. */
	cr_assert_eq(shmctl(id, IPC_RMID, NULL), 0);
	r = shmkit("stat -k sysv %d", id);
	cr_expect(strstr(r.out, "status:      dest"), "%s", r.out);
	result_free(&r);
	kill_child(child);
	cr_expect(!sysv_exists(id));

	const char *name = mk_posix("cli-stat", NULL, 0, 4096);
	r = shmkit("stat /%s", name);
	cr_expect_eq(r.rc, 0);
	snprintf(want, sizeof(want), "backing:     /dev/shm/%s\n", name);
	cr_expect(strstr(r.out, want), "%s", r.out);
	result_free(&r);
	r = shmkit("stat no-such-%d", (int)getpid());
	cr_expect_eq(r.rc, 1);
	cr_expect(strstr(r.err, "no shared-memory object"));
	result_free(&r);
	rm_posix(name);
}

/* ---- mk / rm ---- */

Test(cli, mk_creates_like_ipcmk)
{
	key_t key = unique_key();
	struct result r = shmkit("mk 10K -p 0600 --key 0x%08x", (unsigned)key);
	int id = -1;
	cr_assert_eq(r.rc, 0, "%s", r.err);
	cr_assert_eq(sscanf(r.out, "Shared memory id: %d\n", &id), 1, "%s", r.out);
	track_sysv(id);
	result_free(&r);
	struct shmid_ds ds;
	cr_assert_eq(shmctl(id, IPC_STAT, &ds), 0);
	cr_expect_eq(ds.shm_segsz, 10240);
	cr_expect_eq(ds.shm_perm.mode & 0777, 0600);
	cr_expect_eq(ds.shm_perm.__key, key);
	/* The same key again fails, and says why. */
	r = shmkit("mk 1 --key 0x%08x", (unsigned)key);
	cr_expect_eq(r.rc, 1);
	cr_expect(strstr(r.err, "already exists"), "%s", r.err);
	result_free(&r);
	rm_sysv(id);

	/* Random key, default mode, binary and decimal suffixes. */
	r = shmkit("mk -M 2KB");
	cr_assert_eq(r.rc, 0);
	cr_assert_eq(sscanf(r.out, "Shared memory id: %d\n", &id), 1);
	track_sysv(id);
	result_free(&r);
	cr_assert_eq(shmctl(id, IPC_STAT, &ds), 0);
	cr_expect_eq(ds.shm_segsz, 2000);
	cr_expect_eq(ds.shm_perm.mode & 0777, 0644);
	cr_expect_neq(ds.shm_perm.__key, IPC_PRIVATE);
	rm_sysv(id);

	const char *name = tu_name("cli-mk");
	track_posix(name);
	r = shmkit("mk --posix %s 1MiB", name);
	cr_expect_eq(r.rc, 0, "%s", r.err);
	result_free(&r);
	struct stat st;
	char path[160];
	snprintf(path, sizeof(path), "/dev/shm/%s", name);
	cr_assert_eq(stat(path, &st), 0);
	cr_expect_eq(st.st_size, 1 << 20);
	cr_expect_eq(st.st_mode & 0777, 0644);
	rm_posix(name);
}

Test(cli, rm_by_id_key_name_and_all)
{
	key_t k1 = unique_key(), k2 = unique_key();
	int id1 = mk_sysv(k1, 4096, 0600);
	int id2 = mk_sysv(k2, 4096, 0600);
	const char *name = mk_posix("cli-rm", NULL, 0, 4096);
	struct result r = shmkit("rm -k sysv,posix %d 0x%08x /%s", id1, (unsigned)k2, name);
	cr_expect_eq(r.rc, 0, "%s", r.err);
	result_free(&r);
	cr_expect(!sysv_exists(id1));
	cr_expect(!sysv_exists(id2));
	cr_expect(!posix_exists(name));

	/* --all with filters removes exactly what they select. */
	int a = mk_sysv(unique_key(), 4096, 0600), b = mk_sysv(unique_key(), 4096, 0600);
	int keep = mk_sysv(unique_key(), 4096, 0600);
	r = shmkit("rm -v --all -k sysv --id %d --id %d", a, b);
	cr_expect_eq(r.rc, 0, "%s", r.err);
	cr_expect(strstr(r.out, "removed sysv shmid"), "%s", r.out);
	result_free(&r);
	cr_expect(!sysv_exists(a));
	cr_expect(!sysv_exists(b));
	cr_expect(sysv_exists(keep));

	/* A permission error is explained, and the segment stays. */
	pid_t pid = fork();
	if (pid == 0) {
		if (tu_become(65534, 65534) < 0)
			_exit(3);
		char arg[32];
		snprintf(arg, sizeof(arg), "%d", keep);
		int fd = open("/dev/null", O_WRONLY);
		dup2(fd, 1);
		dup2(fd, 2);
		execl(SHMKIT, SHMKIT, "rm", "-k", "sysv", arg, (char *)NULL);
		_exit(127);
	}
	cr_expect_eq(tu_wait_timeout(pid, TIMEOUT_MS), 1);
	cr_expect(sysv_exists(keep));
	rm_sysv(keep);
}

/* ---- gc ---- */

struct clone_args_ {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
	uint64_t set_tid, set_tid_size, cgroup;
};

/* A process with exactly this pid (a reused pid), or -1 if the kernel refuses. */
static pid_t spawn_with_pid(pid_t want)
{
#ifdef SYS_clone3
	pid_t tid = want;
	struct clone_args_ ca = {
	    .exit_signal = SIGCHLD, .set_tid = (uint64_t)(uintptr_t)&tid, .set_tid_size = 1};
	long pid = syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;)
			pause();
	}
	if (pid > 0)
		track_pid((pid_t)pid);
	return pid > 0 ? (pid_t)pid : -1;
#else
	(void)want;
	return -1;
#endif
}

Test(cli, gc_removes_exactly_the_orphans)
{
	int orphan = mk_orphan(unique_key(), 4096);
	int mine = mk_sysv(unique_key(), 4096, 0600); /* creator (this process) alive */
	int attached = mk_orphan(unique_key(), 4096); /* creator gone, but attached */
	pid_t child = attach_child(attached);
	char ids[128];
	snprintf(ids, sizeof(ids), "-k sysv --id %d --id %d --id %d", orphan, mine, attached);

	struct result r = shmkit("gc --dry-run %s", ids);
	cr_expect_eq(r.rc, 0);
	char want[128];
	snprintf(want, sizeof(want), "would remove sysv shmid %d ", orphan);
	cr_expect(!strncmp(r.out, want, strlen(want)), "%s", r.out);
	cr_expect_eq(strchr(r.out, '\n') - r.out + 1, (long)strlen(r.out), "one line: %s", r.out);
	result_free(&r);
	cr_expect(sysv_exists(orphan), "dry run removed something");

	r = shmkit("gc %s", ids);
	cr_expect_eq(r.rc, 0, "%s", r.err);
	snprintf(want, sizeof(want), "removed sysv shmid %d ", orphan);
	cr_expect(!strncmp(r.out, want, strlen(want)), "%s", r.out);
	result_free(&r);
	cr_expect(!sysv_exists(orphan));
	cr_expect(sysv_exists(mine));
	cr_expect(sysv_exists(attached));
	kill_child(child);
	rm_sysv(mine);
	rm_sysv(attached);
}

Test(cli, gc_sees_through_pid_reuse)
{
	/* The creator exits; later a new process gets its pid: the segment is still orphaned. */
	int *slot = tu_shared_alloc(sizeof(int));
	pid_t creator = fork();
	if (creator == 0) {
		*slot = shmget(unique_key(), 4096, IPC_CREAT | IPC_EXCL | 0600);
		_exit(*slot >= 0 ? 0 : 1);
	}
	cr_assert_eq(tu_wait_timeout(creator, TIMEOUT_MS), 0);
	int id = *slot;
	track_sysv(id);
	tu_shared_free(slot, sizeof(int));
	struct shmid_ds ds;
	cr_assert_eq(shmctl(id, IPC_STAT, &ds), 0);
	cr_assert_eq(ds.shm_cpid, creator);
	/* A start time provably later than ctime (whole seconds) needs the next second. */
	while (time(NULL) < ds.shm_ctime + 1)
		usleep(20000);
	usleep(50000);
	pid_t impostor = spawn_with_pid(creator);
	if (impostor < 0) {
		rm_sysv(id);
		cr_skip_test("cannot create a process with a chosen pid (clone3 set_tid)");
	}
	cr_assert_eq(impostor, creator);

	struct result r = shmkit("ls -r -n -k sysv -o status --id %d", id);
	cr_expect_str_eq(r.out, "orphaned\n");
	result_free(&r);
	r = shmkit("gc -k sysv --id %d", id);
	cr_expect_eq(r.rc, 0, "%s", r.err);
	cr_expect(strstr(r.out, "removed sysv shmid"), "%s", r.out);
	result_free(&r);
	cr_expect(!sysv_exists(id));
	kill_child(impostor);
	rm_sysv(id);
}

/* ---- dump ---- */

Test(cli, dump_matches_hexdump)
{
	unsigned char data[300];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i < 64 ? 0 : i * 7 + 3); /* a run of equal lines */
	memcpy(data + 100, "shmkit dump \x01\x7f\xff", 15);
	const char *name = mk_posix("cli-dump", data, sizeof(data), sizeof(data));
	int id = mk_sysv(unique_key(), sizeof(data), 0600);
	unsigned char *p = shmat(id, NULL, 0);
	cr_assert(p != (void *)-1);
	memcpy(p, data, sizeof(data));
	shmdt(p);
	char file[128];
	snprintf(file, sizeof(file), "/tmp/%s", tu_name("cli-dump"));
	FILE *f = fopen(file, "w");
	cr_assert(f);
	cr_assert_eq(fwrite(data, 1, sizeof(data), f), sizeof(data));
	fclose(f);

	const char *ranges[][2] = {{"", ""},
	                           {"-s 3 -n 40", "-s 3 -n 40"},
	                           {"--offset 250", "-s 250"},
	                           {"-n 0", "-n 0"},
	                           {"-v", "-v"}};
	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		struct result ref = sh("hexdump -C %s %s", ranges[i][1], file);
		struct result a = shmkit("dump %s %s", ranges[i][0], name);
		struct result b = shmkit("dump -k sysv %s %d", ranges[i][0], id);
		cr_expect_eq(a.rc, 0, "%s", a.err);
		cr_expect_str_eq(a.out, ref.out, "posix '%s'", ranges[i][0]);
		cr_expect_str_eq(b.out, ref.out, "sysv '%s'", ranges[i][0]);
		result_free(&ref);
		result_free(&a);
		result_free(&b);
	}
	struct result r = shmkit("dump --offset 301 %s", name);
	cr_expect_eq(r.rc, 1);
	result_free(&r);
	unlink(file);
	rm_posix(name);
	rm_sysv(id);
}

/* ---- watch, limits ---- */

Test(cli, watch_count_prints_snapshots)
{
	int id = mk_sysv(unique_key(), 4096, 0600);
	struct result r = shmkit("watch --count 2 --interval 0.05 -k sysv --id %d", id);
	cr_expect_eq(r.rc, 0, "%s", r.err);
	int n = 0;
	for (const char *s = r.out; (s = strstr(s, "shmkit watch")); s++)
		n++;
	cr_expect_eq(n, 2, "%s", r.out);
	cr_expect(!strchr(r.out, '\033'), "no terminal escapes when stdout is not a tty");
	char want[32];
	snprintf(want, sizeof(want), " %d ", id);
	cr_expect(strstr(r.out, want), "%s", r.out);
	result_free(&r);
	rm_sysv(id);
}

Test(cli, limits_match_the_kernel)
{
	struct result r = shmkit("limits -b");
	cr_expect_eq(r.rc, 0);
	struct result ref = sh("cat /proc/sys/kernel/shmmni");
	char want[64];
	snprintf(want, sizeof(want), " %s", ref.out);
	cr_expect(strstr(r.out, want), "%s", r.out);
	cr_expect(strstr(r.out, "SHMMNI"));
	result_free(&r);
	result_free(&ref);
}

/* ---- ipcs, byte for byte ---- */

/*
 * Other test programs create and remove segments at any time, so the two listings are taken
 * again until they agree (a format difference never goes away); the lines of this test's own
 * segments must always agree.
 */
static void expect_same_as_ipcs(const char *opts, const int *ids, size_t nids)
{
	struct result ref = {0}, got = {0};
	for (int attempt = 0; attempt < 20; attempt++) {
		result_free(&ref);
		result_free(&got);
		ref = sh("ipcs -m %s", opts);
		got = shmkit("ipcs %s", opts);
		if (!strcmp(ref.out, got.out))
			break;
		usleep(50000);
	}
	cr_expect_eq(got.rc, 0);
	cr_expect_str_eq(got.out, ref.out, "shmkit ipcs %s", opts);
	for (size_t i = 0; i < nids; i++) {
		char pat[32];
		snprintf(pat, sizeof(pat), "%d ", ids[i]);
		const char *a = strstr(ref.out, pat), *b = strstr(got.out, pat);
		cr_expect((a == NULL) == (b == NULL), "id %d in one listing only (%s)", ids[i],
		          opts);
	}
	result_free(&ref);
	result_free(&got);
}

Test(cli, ipcs_matches_util_linux)
{
	int ids[3];
	ids[0] = mk_sysv(unique_key(), 4096, 0600);
	ids[1] = mk_sysv(IPC_PRIVATE, 123456789, 0644);
	ids[2] = mk_orphan(unique_key(), 1);
	pid_t child = attach_child(ids[0]);
	void *a = shmat(ids[1], NULL, 0);
	cr_assert(a != (void *)-1);
	shmdt(a);
	cr_assert_eq(shmctl(ids[1], SHM_LOCK, NULL), 0);
	/* Marked for removal while attached: "dest", key 0. */
	int dest = mk_sysv(unique_key(), 8192, 0666);
	pid_t child2 = attach_child(dest);
	cr_assert_eq(shmctl(dest, IPC_RMID, NULL), 0);
	/* An owner without a passwd entry shows as a number. */
	struct shmid_ds ds;
	cr_assert_eq(shmctl(ids[2], IPC_STAT, &ds), 0);
	ds.shm_perm.uid = 4242;
	ds.shm_perm.gid = 4343;
	cr_assert_eq(shmctl(ids[2], IPC_SET, &ds), 0);

	const char *variants[] = {"",   "-t", "-p",      "-c",    "-l",
	                          "-u", "-b", "--human", "-l -b", "-l --human"};
	for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++)
		expect_same_as_ipcs(variants[i], ids, 3);
	int all[] = {ids[0], ids[1], ids[2], dest};
	for (size_t i = 0; i < 4; i++) {
		char opts[64];
		snprintf(opts, sizeof(opts), "-i %d", all[i]);
		expect_same_as_ipcs(opts, NULL, 0);
		snprintf(opts, sizeof(opts), "-i %d --human", all[i]);
		expect_same_as_ipcs(opts, NULL, 0);
	}
	kill_child(child);
	kill_child(child2);
	for (size_t i = 0; i < 3; i++)
		rm_sysv(ids[i]);
	cr_expect(!sysv_exists(dest));
}

/* ---- documentation ---- */

Test(cli, man_page_and_completion_cover_every_command)
{
	const char *cmds[] = {"ls",     "stat", "mk",    "rm",   "gc",
	                      "limits", "dump", "watch", "ipcs", "run"};
	struct result man = sh("cat %s/man/shmkit.1", SHMKIT_SOURCE_DIR);
	struct result comp = sh("cat %s/completion/shmkit.bash", SHMKIT_SOURCE_DIR);
	cr_assert_eq(man.rc, 0);
	cr_assert_eq(comp.rc, 0);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		char ss[32], arm[32];
		snprintf(ss, sizeof(ss), "\n.SS %s\n", cmds[i]);
		snprintf(arm, sizeof(arm), "\t%s)", cmds[i]);
		cr_expect(strstr(man.out, ss), "man page lacks %s", cmds[i]);
		cr_expect(strstr(comp.out, arm), "completion lacks %s", cmds[i]);
	}
	result_free(&man);
	result_free(&comp);
	struct result r = sh("bash -n %s/completion/shmkit.bash", SHMKIT_SOURCE_DIR);
	cr_expect_eq(r.rc, 0, "%s", r.err);
	result_free(&r);
	r = sh("command -v groff >/dev/null || exit 0; groff -man -ww -z %s/man/shmkit.1 2>&1",
	       SHMKIT_SOURCE_DIR);
	cr_expect_eq(r.rc, 0);
	cr_expect_str_empty(r.out, "groff warnings: %s", r.out);
	result_free(&r);
}

/* word in [from, to) with no letter, digit or '_' either side. */
static bool has_word(const char *from, const char *to, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = from; p && p + n <= to; p++) {
		p = strstr(p, word);
		if (!p || p + n > to)
			return false;
		bool before = p > from && (isalnum((unsigned char)p[-1]) || p[-1] == '_');
		bool after = isalnum((unsigned char)p[n]) || p[n] == '_';
		if (!before && !after)
			return true;
	}
	return false;
}

/* The text of a man page section from its heading to the next one of the same level. */
static void section(const char *text, const char *heading, const char **from, const char **to)
{
	*from = strstr(text, heading);
	cr_assert(*from, "no %s", heading);
	const char *next = strstr(*from + strlen(heading),
	                          heading[1] == 'S' && heading[2] == 'S' ? "\n.SS " : "\n.SH ");
	*to = next ? next : *from + strlen(*from);
}

/* Every column and kind that ls --help names is in the completion and the man page. */
Test(cli, man_page_and_completion_know_every_column_and_kind)
{
	struct result help = shmkit("ls --help");
	struct result man = sh("cat %s/man/shmkit.1", SHMKIT_SOURCE_DIR);
	struct result comp = sh("cat %s/completion/shmkit.bash", SHMKIT_SOURCE_DIR);
	cr_assert_eq(help.rc, 0);
	const char *cols = strstr(help.out, "Columns:\n"), *ls, *ls_end, *filters, *filters_end;
	cr_assert(cols, "%s", help.out);
	section(man.out, "\n.SS ls\n", &ls, &ls_end);
	section(man.out, "\n.SH FILTERS\n", &filters, &filters_end);
	const char *comp_end = comp.out + strlen(comp.out);
	int n = 0;
	for (const char *l = strchr(cols, '\n') + 1; *l; n++) {
		char col[32];
		cr_assert_eq(sscanf(l, " %31s", col), 1);
		cr_expect(has_word(comp.out, comp_end, col), "completion lacks column %s", col);
		cr_expect(has_word(ls, ls_end, col), "man page (ls) lacks column %s", col);
		const char *nl = strchr(l, '\n');
		if (!nl)
			break;
		l = nl + 1;
	}
	cr_expect_geq(n, 30);
	const char *kinds = strstr(help.out, "only these kinds: ");
	const char *comp_kinds = strstr(comp.out, "local kinds=");
	cr_assert(kinds && comp_kinds, "%s", help.out);
	char list[128];
	cr_assert_eq(sscanf(kinds + 18, "%127[a-z,]", list), 1);
	for (char *save, *k = strtok_r(list, ",", &save); k; k = strtok_r(NULL, ",", &save)) {
		cr_expect(has_word(comp_kinds, strchr(comp_kinds, '\n'), k),
		          "completion lacks kind %s", k);
		cr_expect(has_word(filters, filters_end, k), "man page (FILTERS) lacks kind %s", k);
		struct result r = shmkit("ls -r -n -o kind -k %s --name no-such-object-here", k);
		cr_expect_eq(r.rc, 0, "kind %s: %s", k, r.err);
		result_free(&r);
	}
	result_free(&help);
	result_free(&man);
	result_free(&comp);
}
