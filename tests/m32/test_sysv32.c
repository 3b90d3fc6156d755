/* SPDX-License-Identifier: MIT */
/*
 * Description: a 32-bit and a 64-bit process in one System V namespace: each creates, the other
 * finds, attaches, writes, stats, IPC_SETs and IPC_RMIDs; struct shmid_ds reads the same in
 * both, field for field, on shmkit as on the kernel; times past 2038 through the time64
 * interface and what a 32-bit time_t program gets for them.
 */
#include <limits.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>

#include "m32test.h"
#include "sysv/registry.h"

/* Keys of this test process: the kernel's table may be the machine's (no private IPC namespace). */
#define KEY_BASE (0x32000000 | (getpid() & 0xffff) << 8)

static char ns[64];

static void ns_setup(void)
{
	m32_require(); /* before anything that the skip would leave behind */
	snprintf(ns, sizeof(ns), "m32-%d-%u", (int)getpid(), tu_rand(1u << 30));
	cr_assert_eq(shmkit_ns_create(ns, 0600), 0);
	setenv(SHMKIT_NS_ENV, ns, 1);
}

static void ns_teardown(void)
{
	cr_assert_eq(shmkit_ns_destroy(ns), 0);
}

TestSuite(m32_sysv, .init = ns_setup, .fini = ns_teardown, .timeout = 60);

/* ---- transcripts ---- */

/*
 * What a scenario saw, normalized so that the kernel's run and shmkit's can be compared line for
 * line: ids as ID, the peers' pids as A/B, times as set/0 (unless exact), seq checked against
 * the id and dropped.
 */
struct transcript {
	char text[8192];
	size_t len;
	int id;
	pid_t pid_a, pid_b;
	int exact_times;
};

static void norm_word(struct transcript *t, const char *w, char *out, size_t len)
{
	char key[32];
	long long v;
	const char *eq = strchr(w, '=');
	snprintf(out, len, "%s", w);
	if (!eq || (size_t)(eq - w) >= sizeof(key))
		return;
	snprintf(key, sizeof(key), "%.*s", (int)(eq - w), w);
	v = strtoll(eq + 1, NULL, 0);
	if (!strcmp(key, "cpid") || !strcmp(key, "lpid"))
		snprintf(out, len, "%s=%s", key,
		         v == t->pid_a   ? "A"
		         : v == t->pid_b ? "B"
		         : v == 0        ? "0"
		                         : "other");
	else if (!t->exact_times &&
	         (!strcmp(key, "atime") || !strcmp(key, "dtime") || !strcmp(key, "ctime")))
		snprintf(out, len, "%s=%s", key, v ? "set" : "0");
	else if (!strcmp(key, "seq"))
		snprintf(out, len, "seq=%s",
		         v == (((unsigned)t->id >> 15) & 0xffff) ? "of-id" : "not-of-id");
}

/* Record "WHO CMD = REPLY", the reply normalized (a get's id as ID). */
static void note(struct transcript *t, const char *who, const char *cmd, const char *reply)
{
	char line[1024], word[256], id[16], copy[1024];
	size_t n = (size_t)snprintf(line, sizeof(line), "%s %s =", who, cmd);
	int is_get = !strncmp(cmd, "get ", 4);
	snprintf(id, sizeof(id), "%d", t->id);
	snprintf(copy, sizeof(copy), "%s", reply);
	for (char *save = NULL, *w = strtok_r(copy, " ", &save); w;
	     w = strtok_r(NULL, " ", &save)) {
		if (is_get && !strcmp(w, id))
			snprintf(word, sizeof(word), "ID");
		else
			norm_word(t, w, word, sizeof(word));
		n += (size_t)snprintf(line + n, sizeof(line) - n, " %s", word);
	}
	t->len += (size_t)snprintf(t->text + t->len, sizeof(t->text) - t->len, "%s\n", line);
	cr_assert_lt(t->len, sizeof(t->text) - 1, "transcript too long");
}

/* Run cmd in p, the word ID standing for the segment's id; record it; return the raw reply. */
static const char *step(struct transcript *t, struct peer *p, const char *who, const char *fmt, ...)
{
	char shown[512], cmd[600], copy[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(shown, sizeof(shown), fmt, ap);
	va_end(ap);
	size_t n = 0;
	snprintf(copy, sizeof(copy), "%s", shown);
	for (char *save = NULL, *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save))
		n += (size_t)snprintf(cmd + n, sizeof(cmd) - n, "%s%s", n ? " " : "", w);
	if (t->id >= 0) {
		/* the real command: each word ID replaced by the id */
		char real[600];
		size_t m = 0;
		snprintf(copy, sizeof(copy), "%s", shown);
		for (char *save = NULL, *w = strtok_r(copy, " ", &save); w;
		     w = strtok_r(NULL, " ", &save)) {
			if (!strcmp(w, "ID"))
				m += (size_t)snprintf(real + m, sizeof(real) - m, "%s%d",
				                      m ? " " : "", t->id);
			else
				m += (size_t)snprintf(real + m, sizeof(real) - m, "%s%s",
				                      m ? " " : "", w);
		}
		snprintf(cmd, sizeof(cmd), "%s", real);
	}
	const char *r = peer_cmd(p, "%s", cmd);
	note(t, who, shown, r);
	return r;
}

static const char *field(const char *reply, const char *key, char *out, size_t len)
{
	char k[40];
	snprintf(k, sizeof(k), " %s=", key);
	const char *p = strstr(reply, k);
	cr_assert(p, "no %s in '%s'", key, reply);
	p += strlen(k);
	snprintf(out, len, "%.*s", (int)strcspn(p, " "), p);
	return out;
}

/*
 * One process creates, the other does the rest, on backend be ("kernel" or "shmkit"); the two
 * stat lines after each change must be identical. Returns the transcript.
 */
/* A fresh transcript and two peers, A of class bits_a and B of class bits_b, on backend be. */
static void start_pair(struct transcript *t, struct peer *a, struct peer *b, int bits_a, int bits_b,
                       const char *be)
{
	memset(t, 0, sizeof(*t));
	t->id = -1;
	peer_start(a, bits_a, -1);
	peer_start(b, bits_b, -1);
	t->pid_a = (pid_t)peer_num(a, "pid");
	t->pid_b = (pid_t)peer_num(b, "pid");
	peer_expect(a, "ok", "backend %s", be);
	peer_expect(b, "ok", "backend %s", be);
}

static void create_here_use_there(struct transcript *t, int bits_a, int bits_b, const char *be)
{
	struct peer a, b;
	char sa[1024];
	key_t key = KEY_BASE + bits_a;
	start_pair(t, &a, &b, bits_a, bits_b, be);

	const char *r = peer_cmd(&a, "get %d 5000 %d", (int)key, IPC_CREAT | IPC_EXCL | 0666);
	cr_assert(!strncmp(r, "ok ", 3), "%s: A's shmget: %s", be, r);
	t->id = atoi(r + 3);
	note(t, "A", "get KEY 5000 CREAT|EXCL|0666", r);
	step(t, &b, "B", "get %d 0 0", (int)key);
	step(t, &b, "B", "at ID 0");
	step(t, &b, "B", "poke 0 100 written-by-B");
	step(t, &a, "A", "at ID %d", SHM_RDONLY);
	r = step(t, &a, "A", "peek 0 100 12");
	cr_assert_str_eq(r, "ok written-by-B", "%s: A reads '%s'", be, r);

	/* The same shmid_ds in both classes, after each change. */
	snprintf(sa, sizeof(sa), "%s", step(t, &a, "A", "stat ID"));
	r = step(t, &b, "B", "stat ID");
	cr_assert_str_eq(sa, r, "%s: %d-bit and %d-bit IPC_STAT differ", be, bits_a, bits_b);
	char v[64];
	cr_assert_str_eq(field(sa, "nattch", v, sizeof(v)), "2");
	cr_assert_str_eq(field(sa, "segsz", v, sizeof(v)), "5000");
	cr_assert_eq(atoi(field(sa, "cpid", v, sizeof(v))), t->pid_a);
	cr_assert_eq(atoi(field(sa, "lpid", v, sizeof(v))), t->pid_a);

	step(t, &b, "B", "set ID 4242 4343 0640");
	snprintf(sa, sizeof(sa), "%s", step(t, &a, "A", "stat ID"));
	cr_assert_str_eq(sa, step(t, &b, "B", "stat ID"));
	cr_assert_str_eq(field(sa, "uid", v, sizeof(v)), "4242");
	cr_assert_str_eq(field(sa, "gid", v, sizeof(v)), "4343");
	cr_assert_str_eq(field(sa, "mode", v, sizeof(v)), "640");

	/* IPC_RMID by B while both are attached: marked, key gone, still usable. */
	step(t, &b, "B", "rmid ID");
	snprintf(sa, sizeof(sa), "%s", step(t, &a, "A", "stat ID"));
	cr_assert_str_eq(sa, step(t, &b, "B", "stat ID"));
	cr_assert_str_eq(field(sa, "mode", v, sizeof(v)), "1640");
	cr_assert_str_eq(field(sa, "key", v, sizeof(v)), "0");
	step(t, &b, "B", "get %d 0 0", (int)key);
	step(t, &a, "A", "dt 0");
	step(t, &b, "B", "stat ID");
	step(t, &b, "B", "dt 0");
	/* The last detach destroyed it, for both. */
	r = step(t, &a, "A", "stat ID");
	cr_assert_str_eq(r, "err EINVAL", "%s: after the last detach: %s", be, r);
	cr_assert_str_eq(step(t, &b, "B", "stat ID"), "err EINVAL");
	peer_stop(&a);
	peer_stop(&b);
}

/* A scenario with a peer A of class bits_a and a peer B of class bits_b on backend be. */
typedef void scenario(struct transcript *t, int bits_a, int bits_b, const char *be);

/* Run it on the kernel and on shmkit: the transcripts must be the same. */
static void on_both(scenario *fn, const char *what, int bits_a, int bits_b)
{
	m32_require();
	static struct transcript k, s;
	fn(&k, bits_a, bits_b, "kernel");
	fn(&s, bits_a, bits_b, "shmkit");
	cr_assert_str_eq(s.text, k.text, "%s, A %d-bit, B %d-bit: shmkit\n%s\nkernel\n%s", what,
	                 bits_a, bits_b, s.text, k.text);
	printf("%s, A %d-bit, B %d-bit, the same on shmkit as on the kernel:\n%s", what, bits_a,
	       bits_b, s.text);
}

Test(m32_sysv, created_by_32_used_by_64)
{
	on_both(create_here_use_there, "A creates, B uses", 32, 64);
}

Test(m32_sysv, created_by_64_used_by_32)
{
	on_both(create_here_use_there, "A creates, B uses", 64, 32);
}

/*
 * B attaches A's segment and is killed: A sees it detached (nattch 0, lpid B, dtime set), the
 * token of a process of the other class read right (OFD locks past 2^40 in a 32-bit process).
 */
static void attacher_killed(struct transcript *t, int bits_a, int bits_b, const char *be)
{
	struct peer a, b;
	start_pair(t, &a, &b, bits_a, bits_b, be);
	const char *r = peer_cmd(&a, "get 0 4096 %d", IPC_CREAT | 0600);
	cr_assert(!strncmp(r, "ok ", 3), "%s: shmget: %s", be, r);
	t->id = atoi(r + 3);
	note(t, "A", "get PRIVATE 4096 0600", r);
	step(t, &b, "B", "at ID 0");
	step(t, &b, "B", "poke 0 0 alive");
	step(t, &a, "A", "stat ID");
	peer_kill9(&b);
	note(t, "B", "killed", "");
	r = step(t, &a, "A", "stat ID");
	cr_assert(strstr(r, " lpid=") && strstr(r, " nattch=0"), "%s: after kill -9: %s", be, r);
	step(t, &a, "A", "rmid ID");
	step(t, &a, "A", "stat ID");
	peer_stop(&a);
}

Test(m32_sysv, attacher_32_killed)
{
	on_both(attacher_killed, "B attaches and is killed", 64, 32);
}

Test(m32_sysv, attacher_64_killed)
{
	on_both(attacher_killed, "B attaches and is killed", 32, 64);
}

/* ---- times past 2038 ---- */

/* Write the segment's times into the registry directly, under its lock: shared memory. */
static void set_times(int id, int64_t atime, int64_t dtime, int64_t ctime)
{
	struct sk_ns reg;
	cr_assert_eq(sk_ns_open(&reg, ns, 0), 0);
	cr_assert_eq(sk_reg_lock(&reg), 0);
	struct sk_seg_rec *g = &reg.segs[(uint32_t)id & SK_IDX_MASK];
	cr_assert_eq(g->id, id);
	g->atime = atime;
	g->dtime = dtime;
	g->ctime = ctime;
	sk_reg_unlock(&reg);
	sk_ns_close(&reg);
}

/* Run a plain program of the 32-bit build, under the 32-bit interposer if preload; its output. */
static void run_plain(const char *prog, int preload, char *out, size_t len, char *const args[])
{
	char path[512], lib[512], env_pre[600], env_ns[128];
	const char *bin = getenv("M32_BIN");
	snprintf(path, sizeof(path), "%s/%s", bin, prog);
	snprintf(lib, sizeof(lib), "%s/../preload/libshmkit-sysv.so", bin);
	snprintf(env_pre, sizeof(env_pre), "LD_PRELOAD=%s", lib);
	snprintf(env_ns, sizeof(env_ns), "%s=%s", SHMKIT_NS_ENV, ns);
	char *envp[] = {preload ? env_pre : "X=1", env_ns, NULL};
	char *argv[8] = {path};
	for (int i = 0; args[i] && i < 6; i++)
		argv[i + 1] = args[i];
	int fd[2];
	cr_assert_eq(pipe(fd), 0);
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fd[1], 1);
	posix_spawn_file_actions_addclose(&fa, fd[0]);
	pid_t pid;
	int e = posix_spawn(&pid, path, &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	close(fd[1]);
	cr_assert_eq(e, 0, "%s: %s", path, strerror(e));
	size_t n = 0;
	ssize_t r;
	while (n < len - 1 && (r = read(fd[0], out + n, len - 1 - n)) > 0)
		n += (size_t)r;
	out[n] = '\0';
	close(fd[0]);
	cr_assert_eq(tu_wait_timeout(pid, PEER_MS), 0, "%s failed: %s", prog, out);
	out[strcspn(out, "\n")] = '\0';
}

Test(m32_sysv, times_past_2038)
{
	m32_require();
	/* 2038-01-19T03:14:08Z (INT32_MAX + 1), 2100-01-01, and one past 2^32 (2106). */
	const int64_t t1 = (int64_t)INT32_MAX + 1, t2 = 4102444800, t3 = ((int64_t)1 << 32) + 7;
	struct peer a, b;
	peer_start(&a, 64, -1);
	peer_start(&b, 32, -1);
	int id = (int)peer_num(&a, "get %d 4096 %d", KEY_BASE + 2038, IPC_CREAT | 0600);
	set_times(id, t1, t2, t3);

	/* Both classes through the time64 interface: the exact times. */
	char sa[1024], want[200];
	snprintf(sa, sizeof(sa), "%s", peer_cmd(&a, "stat %d", id));
	cr_assert_str_eq(peer_cmd(&b, "stat %d", id), sa);
	snprintf(want, sizeof(want), "atime=%lld dtime=%lld ctime=%lld", (long long)t1,
	         (long long)t2, (long long)t3);
	cr_assert(strstr(sa, want), "IPC_STAT: '%s', want '%s'", sa, want);

	/* A plain time64 32-bit program under the interposer (glibc's __shmctl64): the same. */
	char out[1024], ids[16];
	snprintf(ids, sizeof(ids), "%d", id);
	run_plain("plain_shmstat", 1, out, sizeof(out), (char *[]){ids, NULL});
	cr_assert(strstr(out, "r=0 errno=0 time_t=64") && strstr(out, want), "time64: '%s'", out);
	run_plain("plain_shmstat", 1, out, sizeof(out), (char *[]){ids, "IPC_STAT|IPC_64", NULL});
	cr_assert(strstr(out, "r=0 errno=0 time_t=64") && strstr(out, want), "time64: '%s'", out);

	/*
	 * A 32-bit time_t program (glibc's shmctl): glibc narrows each time to its low 32 bits and
	 * sets the high words to 0, with no error (sysdeps/unix/sysv/linux/shmctl.c,
	 * shmid64_to_shmid); the kernel gives glibc the whole time. The interposer does the same.
	 */
	snprintf(want, sizeof(want),
	         "atime=%d dtime=%d ctime=%d atime_high=0 dtime_high=0 ctime_high=0",
	         (int32_t)(uint32_t)t1, (int32_t)(uint32_t)t2, (int32_t)(uint32_t)t3);
	run_plain("plain_shmstat_t32", 1, out, sizeof(out), (char *[]){ids, NULL});
	cr_assert(strstr(out, "r=0 errno=0 time_t=32 mode=600 segsz=4096 nattch=0") &&
	              strstr(out, want),
	          "32-bit time_t: '%s', want '%s'", out, want);
	printf("a 32-bit time_t program under the interposer: %s\n", out);
	peer_expect(&a, "ok 0", "rmid %d", id);
	peer_stop(&a);
	peer_stop(&b);
}

/*
 * glibc's shmctl for 32-bit time_t programs with IPC_64 in cmd: __shmctl64 masks it and
 * succeeds, but the result is copied back for the plain commands only, so the caller's buffer
 * stays as it was. The kernel's run and the interposer's must agree.
 */
Test(m32_sysv, ipc_64_in_cmd_32bit_time)
{
	m32_require();
	char ids[16], kern[1024], ours[1024], out[1024];
	/* On the kernel: the plain programs are not interposed without LD_PRELOAD. */
	int kid = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
	cr_assert_geq(kid, 0);
	snprintf(ids, sizeof(ids), "%d", kid);
	run_plain("plain_shmstat_t32", 0, kern, sizeof(kern),
	          (char *[]){ids, "IPC_STAT|IPC_64", NULL});
	run_plain("plain_shmstat", 0, out, sizeof(out), (char *[]){ids, "IPC_STAT|IPC_64", NULL});
	cr_assert(strstr(out, "r=0 errno=0 time_t=64 mode=600 segsz=4096"), "kernel: %s", out);
	shmctl(kid, IPC_RMID, NULL);
	int id = shmkit_shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
	cr_assert_geq(id, 0);
	snprintf(ids, sizeof(ids), "%d", id);
	run_plain("plain_shmstat_t32", 1, ours, sizeof(ours),
	          (char *[]){ids, "IPC_STAT|IPC_64", NULL});
	run_plain("plain_shmstat", 1, out, sizeof(out), (char *[]){ids, "IPC_STAT|IPC_64", NULL});
	cr_assert(strstr(out, "r=0 errno=0 time_t=64 mode=600 segsz=4096"), "shmkit: %s", out);
	cr_assert_eq(shmkit_shmctl(id, IPC_RMID, NULL), 0);
	cr_assert_str_eq(ours, kern, "IPC_STAT|IPC_64, 32-bit time_t: interposer '%s', kernel '%s'",
	                 ours, kern);
	/* untouched: 0x5a5a5a5a in every field */
	cr_assert(strstr(kern, "r=0 errno=0 time_t=32 mode=13226455132 segsz=1515870810"),
	          "kernel: %s", kern);
}

/*
 * IPC_INFO and SHM_INFO as each class sees them: a 32-bit caller gets shmmax capped at INT_MAX
 * and shmall cut to 32 bits (the kernel's compat path), the same from shmkit as from the kernel.
 */
static void info_of(int bits, const char *be, char *out, size_t len)
{
	struct peer p;
	peer_start(&p, bits, -1);
	peer_expect(&p, "ok", "backend %s", be);
	const char *r = peer_cmd(&p, "info");
	cr_assert(!strncmp(r, "ok ", 3), "%d-bit %s info: %s", bits, be, r);
	/* the limits only: used_ids and shm_tot depend on what else is in the table */
	snprintf(out, len, "%.*s", (int)(strstr(r, " used_ids=") - r), r);
	peer_stop(&p);
}

Test(m32_sysv, ipc_info_as_each_class_sees_it)
{
	m32_require();
	char k32[512], k64[512], s32[512], s64[512], v[64];
	info_of(32, "kernel", k32, sizeof(k32));
	info_of(64, "kernel", k64, sizeof(k64));
	info_of(32, "shmkit", s32, sizeof(s32));
	info_of(64, "shmkit", s64, sizeof(s64));
	cr_assert_str_eq(s64, k64, "64-bit IPC_INFO: shmkit '%s', kernel '%s'", s64, k64);
	cr_assert_str_eq(s32, k32, "32-bit IPC_INFO: shmkit '%s', kernel '%s'", s32, k32);
	unsigned long long max64 = strtoull(field(k64, "shmmax", v, sizeof(v)), NULL, 10);
	unsigned long long all64 = strtoull(field(k64, "shmall", v, sizeof(v)), NULL, 10);
	cr_assert_eq(strtoull(field(s32, "shmmax", v, sizeof(v)), NULL, 10),
	             max64 > INT_MAX ? INT_MAX : max64);
	cr_assert_eq(strtoull(field(s32, "shmall", v, sizeof(v)), NULL, 10), all64 & 0xffffffffu);
	printf("IPC_INFO, 64-bit: %s\nIPC_INFO, 32-bit: %s\n", s64, s32);
}

/*
 * A segment larger than a 32-bit address space, made by a 64-bit process: a 32-bit process's
 * IPC_STAT shows segsz cut to 32 bits (its size_t) and its shmat fails with ENOMEM, as on the
 * kernel; the 64-bit process maps it all.
 */
static void big(struct transcript *t, int bits_a, int bits_b, const char *be)
{
	struct peer a, b;
	start_pair(t, &a, &b, bits_a, bits_b, be);
	const char *r = peer_cmd(&a, "get 0 %llu %d", 5ull << 30, IPC_CREAT | SHM_NORESERVE | 0600);
	cr_assert(!strncmp(r, "ok ", 3), "%s: 5 GiB shmget: %s", be, r);
	t->id = atoi(r + 3);
	note(t, "A", "get PRIVATE 5GiB NORESERVE|0600", r);
	step(t, &a, "A", "at ID 0");
	step(t, &a, "A", "poke 0 %llu past-4GiB", (9ull << 29) + 123);
	step(t, &b, "B", "stat ID");
	r = step(t, &b, "B", "at ID 0");
	cr_assert_str_eq(r, "err ENOMEM", "%s: a 32-bit shmat of 5 GiB: %s", be, r);
	step(t, &b, "B", "at ID %d", SHM_RDONLY);
	step(t, &a, "A", "stat ID");
	step(t, &a, "A", "peek 0 %llu 10", (9ull << 29) + 123);
	step(t, &b, "B", "rmid ID");
	step(t, &a, "A", "dt 0");
	step(t, &b, "B", "stat ID");
	peer_stop(&a);
	peer_stop(&b);
}

Test(m32_sysv, segment_beyond_32bit_address_space)
{
	on_both(big, "a 5 GiB segment of A", 64, 32);
}

/* The same for a POSIX object mapped whole by a 32-bit process: ENOMEM, not a short map. */
Test(m32_sysv, object_beyond_32bit_address_space)
{
	m32_require();
	char name[64];
	snprintf(name, sizeof(name), "m32-big-%d", (int)getpid());
	shmkit_seg_t *s;
	struct shmkit_seg_config cfg = SHMKIT_SEG_CONFIG_INIT;
	cr_assert_eq(shmkit_seg_create(&s, name, (size_t)5 << 30, &cfg), 0);
	struct peer b;
	peer_start(&b, 32, -1);
	peer_expect(&b, "err ENOMEM", "seg-map %s 0", name);
	peer_expect(&b, "ok", "seg-map %s 4096", name);
	peer_stop(&b);
	cr_assert_eq(shmkit_seg_remove(s), 0);
	shmkit_seg_close(s);
}
