/* SPDX-License-Identifier: MIT */
/*
 * The shmkit command-line tool on segments of shmkit namespaces: every subcommand against a
 * namespace of this test's own, destroyed at the end.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <signal.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/shm.h>
#include <unistd.h>

#include "cli_run.h"
#include "shmkit.h"
#include "sys/sys.h"
#include "sysv/registry.h"
#include "testutil.h"

static void hexdump_of(const void *data, size_t len, char **out)
{
	char file[128];
	snprintf(file, sizeof(file), "/tmp/%s", tu_name("cli-hex"));
	FILE *f = fopen(file, "w");
	cr_assert(f);
	cr_assert_eq(fwrite(data, 1, len, f), len);
	fclose(f);
	struct result r = sh("hexdump -C %s", file);
	unlink(file);
	free(r.err);
	*out = r.out;
}

static char ns[64];
static pid_t holder; /* a child holding the namespace's registry lock */

/* Whatever happened in the test, the namespace goes: registry and every backing object. */
static void destroy_ns(void)
{
	if (holder > 0) {
		kill(holder, SIGKILL);
		waitpid(holder, NULL, 0);
		holder = 0;
	}
	if (ns[0])
		shmkit_ns_destroy(ns);
	ns[0] = '\0';
}

TestSuite(cli_ns, .fini = destroy_ns);

Test(cli_ns, every_command_on_a_namespace)
{
	snprintf(ns, sizeof(ns), "%s", tu_name("clins"));
	cr_assert_eq(shmkit_ns_use(ns), 0);
	key_t key = unique_key();
	int id = shmkit_shmget(key, 3000, IPC_CREAT | IPC_EXCL | 0640);
	cr_assert(id >= 0, "shmkit_shmget: %s", strerror(errno));
	unsigned char *p = shmkit_shmat(id, NULL, 0);
	cr_assert(p != (void *)-1);
	for (int i = 0; i < 3000; i++)
		p[i] = (unsigned char)(i % 251);

	struct result r = shmkit("ls -r -n -b -o kind,ns,key,id,size,nattch,cpid --ns %s", ns);
	char want[256];
	snprintf(want, sizeof(want), "shmkit %s 0x%08x %d 3000 1 %d\n", ns, (unsigned)key, id,
	         (int)getpid());
	cr_expect_str_eq(r.out, want);
	result_free(&r);

	char json[128];
	snprintf(json, sizeof(json), "/tmp/%s.json", tu_name("cli-ns"));
	r = sh(
	    "%s ls --json --ns %s -o kind,key,id,name,ns,owner,perms,size,nattch,status,cpid,"
	    "lpid,atime,dtime,ctime,command,backing > %s && python3 %s/tests/cli/check_schema.py "
	    "%s/tests/cli/ls.schema.json %s && grep -q '\"kind\": \"shmkit\"' %s",
	    SHMKIT, ns, json, SHMKIT_SOURCE_DIR, SHMKIT_SOURCE_DIR, json, json);
	cr_expect_eq(r.rc, 0, "%s", r.err);
	result_free(&r);
	unlink(json);

	r = shmkit("stat -k shmkit --ns %s %d", ns, id);
	cr_expect_eq(r.rc, 0, "%s", r.err);
	snprintf(want, sizeof(want), "pid %-8d", (int)getpid());
	cr_expect(strstr(r.out, want), "%s", r.out);
	snprintf(want, sizeof(want), "namespace:   %s\n", ns);
	cr_expect(strstr(r.out, want), "%s", r.out);
	result_free(&r);

	char *ref;
	hexdump_of(p, 3000, &ref);
	r = shmkit("dump -k shmkit --ns %s %d", ns, id);
	cr_expect_str_eq(r.out, ref);
	free(ref);
	result_free(&r);

	r = shmkit("ipcs --ns %s", ns);
	snprintf(want, sizeof(want),
	         "------ Shared Memory Segments (shmkit namespace %s) --------\n", ns);
	cr_expect(strstr(r.out, want), "%s", r.out);
	snprintf(want, sizeof(want), "\n0x%08x %-10d", (unsigned)key, id);
	cr_expect(strstr(r.out, want), "%s", r.out);
	result_free(&r);

	r = shmkit("limits -b --ns %s", ns);
	cr_expect_eq(r.rc, 0, "%s", r.err);
	cr_expect(strstr(r.out, "SHMMNI"));
	result_free(&r);

	/* Removal while attached marks it dest; detaching destroys it. */
	r = shmkit("rm -k shmkit --ns %s %d", ns, id);
	cr_expect_eq(r.rc, 0, "%s", r.err);
	result_free(&r);
	r = shmkit("ls -r -n -o status --ns %s", ns);
	cr_expect_str_eq(r.out, "dest\n");
	result_free(&r);
	cr_expect_eq(shmkit_shmdt(p), 0);
	r = shmkit("ls -r -n -o id --ns %s", ns);
	cr_expect_str_empty(r.out);
	result_free(&r);

	/* mk --ns, then gc: the orphan of an exited child goes, ours stays. */
	r = shmkit("mk --ns %s 1K -p 0600", ns);
	int mine = -1;
	cr_expect_eq(r.rc, 0, "%s", r.err);
	cr_expect_eq(sscanf(r.out, "Shared memory id: %d", &mine), 1, "%s", r.out);
	result_free(&r);
	int *slot = tu_shared_alloc(sizeof(int));
	pid_t pid = fork();
	if (pid == 0) {
		*slot = shmkit_shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
		_exit(*slot >= 0 ? 0 : 1);
	}
	cr_assert_eq(tu_wait_timeout(pid, TIMEOUT_MS), 0);
	int orphan = *slot;
	tu_shared_free(slot, sizeof(int));
	int kept = shmkit_shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
	cr_assert(kept >= 0);
	r = shmkit("gc --ns %s", ns);
	cr_expect_eq(r.rc, 0, "%s", r.err);
	/* mk's process has exited too: its segment is just as orphaned. */
	snprintf(want, sizeof(want), "shmkit %s shmid %d ", ns, orphan);
	cr_expect(strstr(r.out, want), "%s", r.out);
	result_free(&r);
	r = shmkit("ls -r -n -o id --ns %s", ns);
	snprintf(want, sizeof(want), "%d\n", kept);
	cr_expect_str_eq(r.out, want);
	result_free(&r);
	(void)mine;
	cr_expect_eq(shmkit_ns_destroy(ns), 0);
	ns[0] = '\0';
}

/* A member holding the registry lock for long does not hang a listing. */
Test(cli_ns, busy_namespace_does_not_hang_listings)
{
	snprintf(ns, sizeof(ns), "%s", tu_name("clibusy"));
	/*
	 * The segment is made by another process: a member of the namespace takes its lock in
	 * fork(), and this test forks while the lock is held.
	 */
	struct result r = shmkit("mk --ns %s 4096", ns);
	int id = -1;
	cr_assert_eq(sscanf(r.out, "Shared memory id: %d", &id), 1, "%s%s", r.out, r.err);
	result_free(&r);
	int p[2];
	cr_assert_eq(pipe(p), 0);
	holder = fork();
	if (holder == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		struct sk_ns n;
		char c = sk_ns_open(&n, ns, 0) == 0 && sk_reg_lock(&n) == 0 ? 'y' : 'n';
		if (write(p[1], &c, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	char c = 0;
	cr_assert_eq(read(p[0], &c, 1), 1);
	close(p[0]);
	cr_assert_eq(c, 'y');

	/* A busy namespace: the listing ends in time, names it, and fails. */
	r = sh("SHMKIT_NS_TIMEOUT=0.3 %s ls -r -n -o kind,id -k sysv,shmkit --ns %s", SHMKIT, ns);
	cr_expect_eq(r.rc, 1, "%s", r.err);
	char busy[160];
	snprintf(busy, sizeof(busy), "namespace %s is busy", ns);
	cr_expect(strstr(r.err, busy), "%s", r.err);
	cr_expect_str_empty(r.out);
	result_free(&r);
	/* limits, rm and gc too, never hanging: past 5 s when asked (the library's own default
	 * wait must not cut SHMKIT_NS_TIMEOUT short). */
	uint64_t t0 = sk_mono_ns();
	r = sh("SHMKIT_NS_TIMEOUT=6 %s limits --ns %s", SHMKIT, ns);
	uint64_t waited = sk_mono_ns() - t0;
	cr_expect_eq(r.rc, 1, "%s", r.err);
	cr_expect(strstr(r.err, busy), "%s", r.err);
	cr_expect_geq(waited, 5900000000ull, "gave up after %llu ms",
	              (unsigned long long)waited / 1000000);
	result_free(&r);
	r = sh("SHMKIT_NS_TIMEOUT=0.3 %s rm --ns %s %d", SHMKIT, ns, id);
	cr_expect_eq(r.rc, 1, "%s", r.err);
	cr_expect(strstr(r.err, busy), "%s", r.err);
	result_free(&r);
	r = sh("SHMKIT_NS_TIMEOUT=0.3 %s gc --ns %s", SHMKIT, ns);
	cr_expect_eq(r.rc, 1, "%s", r.err);
	cr_expect(strstr(r.err, busy), "%s", r.err);
	result_free(&r);

	/* The holder dies with the lock: the next reader repairs and sees the segment. */
	kill(holder, SIGKILL);
	tu_wait_timeout(holder, TIMEOUT_MS);
	holder = 0;
	r = shmkit("ls -r -n -o id --ns %s", ns);
	char want[32];
	snprintf(want, sizeof(want), "%d\n", id);
	cr_expect_str_eq(r.out, want);
	result_free(&r);
	cr_expect_eq(shmkit_ns_destroy(ns), 0);
	ns[0] = '\0';
}

Test(cli_ns, namespaces_are_made_and_removed_by_their_owner)
{
	snprintf(ns, sizeof(ns), "%s", tu_name("climk"));
	struct result r = shmkit("mk --ns %s --mode 0660", ns);
	cr_expect_eq(r.rc, 0, "%s", r.err);
	char want[128];
	snprintf(want, sizeof(want), "Namespace: %s\n", ns);
	cr_expect_str_eq(r.out, want);
	result_free(&r);
	char dir[128];
	struct stat st;
	snprintf(dir, sizeof(dir), "/dev/shm/shmkit.%s", ns);
	cr_assert_eq(stat(dir, &st), 0);
	cr_expect_eq(st.st_mode & 07777, 01770, "a group namespace: sticky, the group's");
	r = shmkit("mk --ns %s", ns);
	cr_expect_eq(r.rc, 1);
	cr_expect(strstr(r.err, "exists already"), "%s", r.err);
	result_free(&r);
	r = shmkit("mk --ns %s --mode 0755", ns);
	cr_expect_eq(r.rc, 2, "%s", r.err);
	result_free(&r);
	r = shmkit("rm --ns %s", ns);
	cr_expect_eq(r.rc, 0, "%s", r.err);
	result_free(&r);
	cr_expect_neq(stat(dir, &st), 0, "removed");
	r = shmkit("rm --ns %s", ns);
	cr_expect_eq(r.rc, 1);
	cr_expect(strstr(r.err, "does not exist"), "%s", r.err);
	result_free(&r);
	ns[0] = '\0';
}

Test(cli_ns, a_damaged_registry_fails_the_listing_and_can_be_removed)
{
	snprintf(ns, sizeof(ns), "%s", tu_name("clibad"));
	cr_assert_eq(shmkit_ns_create(ns, 0600), 0);
	struct result r = shmkit("mk --ns %s 4096", ns);
	cr_expect_eq(r.rc, 0, "%s", r.err);
	result_free(&r);
	char reg[128];
	snprintf(reg, sizeof(reg), "/dev/shm/shmkit.%s/reg", ns);
	FILE *f = fopen(reg, "r+");
	cr_assert(f);
	cr_assert_eq(fwrite("JUNK", 1, 4, f), 4); /* the magic */
	fclose(f);
	r = shmkit("ls");
	cr_expect_eq(r.rc, 1, "a damaged registry must not be hidden");
	char want[128];
	snprintf(want, sizeof(want), "namespace %s is damaged", ns);
	cr_expect(strstr(r.err, want), "%s", r.err);
	result_free(&r);
	r = shmkit("rm --ns %s", ns);
	cr_expect_eq(r.rc, 0, "%s", r.err);
	result_free(&r);
	ns[0] = '\0';
}

Test(cli_ns, dump_of_a_shrinking_object_ends_cleanly)
{
	char name[64], path[128];
	snprintf(name, sizeof(name), "%s", tu_name("clishrink"));
	snprintf(path, sizeof(path), "/dev/shm/%s", name);
	for (int round = 0; round < 5; round++) {
		int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
		cr_assert_geq(fd, 0);
		cr_assert_eq(ftruncate(fd, 16 << 20), 0);
		pid_t pid = fork();
		if (pid == 0) {
			usleep(1000 * (unsigned)round);
			_exit(ftruncate(fd, 4096) ? 1 : 0);
		}
		/* -v: no squeezing, so the dump is long enough to be cut short */
		struct result r = sh("%s dump -v -k posix %s > /dev/null", SHMKIT, name);
		cr_expect(r.rc == 0 || r.rc == 1, "dump died (status %d): %s", r.rc, r.err);
		result_free(&r);
		tu_wait_timeout(pid, TIMEOUT_MS);
		close(fd);
		unlink(path);
	}
}
