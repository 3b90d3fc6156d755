/* SPDX-License-Identifier: MIT */
/*
 * Description: channels in the shmkit tool. ls lists them (kind chan, their type, capacity,
 * depth, message size and live senders and receivers), stat shows each live participant
 * (pid, role, count; a receiver's lag, lost and abandoned), both also as JSON that matches
 * the schema; rm removes them (only their owner or root), gc leaves them alone but removes a
 * directory a creator left without its ring; names that do not read as channels are listed as
 * such and never as POSIX objects. The participants are other processes.
 */
#include <fcntl.h>
#include <pwd.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>

#include "cli_run.h"
#include "shmkit.h"

/* ---- what a test made, undone whatever happens ---- */

static char chans[16][128];
static int nchans;

/* Remove /dev/shm/shmkit.chan.NAME whatever it is: a channel, a damaged one, a file. */
static void rm_chan_entry(const char *name)
{
	char path[200], in[220];
	snprintf(path, sizeof(path), "/dev/shm/shmkit.chan.%s", name);
	if (shmkit_chan_unlink(name) == 0)
		return;
	const char *files[] = {"ring", "live"};
	for (size_t i = 0; i < 2; i++) {
		snprintf(in, sizeof(in), "%s/%s", path, files[i]);
		unlink(in);
	}
	if (rmdir(path) < 0)
		unlink(path);
}

static void chan_cleanup(void)
{
	cli_cleanup();
	for (int i = 0; i < nchans; i++)
		rm_chan_entry(chans[i]);
	nchans = 0;
}

TestSuite(cli_chan, .fini = chan_cleanup);

static const char *track_chan(const char *prefix)
{
	cr_assert_lt(nchans, 16);
	char *name = chans[nchans++];
	snprintf(name, 128, "%s", tu_name(prefix));
	return name;
}

static const char *mk_chan(const char *prefix, uint32_t kind, uint64_t msg, uint64_t cap,
                           uint32_t mode)
{
	const char *name = track_chan(prefix);
	struct shmkit_chan_config cfg = {
	    .kind = kind, .mode = mode, .msg_size = msg, .capacity = cap};
	int err = shmkit_chan_create(name, &cfg);
	cr_assert_eq(err, 0, "create %s: %s", name, strerror(-err));
	return name;
}

static bool chan_exists(const char *name)
{
	char path[200];
	snprintf(path, sizeof(path), "/dev/shm/shmkit.chan.%s", name);
	return access(path, F_OK) == 0;
}

/* This process's user name, as the tool shows owners. */
static const char *me(void)
{
	static char buf[64];
	struct passwd *pw = getpwuid(geteuid());
	if (pw)
		snprintf(buf, sizeof(buf), "%s", pw->pw_name);
	else
		snprintf(buf, sizeof(buf), "%u", (unsigned)geteuid());
	return buf;
}

/* This process's command name, which its fork children share. */
static const char *my_comm(void)
{
	static char buf[32];
	int fd = open("/proc/self/comm", O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n - 1 : 0] = '\0'; /* without its newline */
	return buf;
}

/* ---- participants in other processes ---- */

struct peer {
	pid_t pid;
	int go;   /* write end: let it do its operations */
	int done; /* read end: their results */
	int results[16];
};

/*
 * A process that opens name as role, says so, waits for go (if wait), then sends or receives
 * n messages (each with a 5 s deadline), reports each result, and stays until killed.
 */
static void peer_start(struct peer *p, const char *name, uint32_t role, int n, bool wait)
{
	int go[2], done[2];
	cr_assert_eq(pipe(go), 0);
	cr_assert_eq(pipe(done), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a test that failed */
		close(go[1]);
		close(done[0]);
		shmkit_chan_t *c;
		int r = shmkit_chan_open(&c, name, role);
		if (write(done[1], &r, sizeof(r)) != sizeof(r) || r < 0)
			_exit(1);
		char byte;
		if (wait && read(go[0], &byte, 1) != 1)
			_exit(1);
		for (int i = 0; i < n; i++) {
			struct timespec dl;
			clock_gettime(CLOCK_MONOTONIC, &dl);
			dl.tv_sec += 5;
			char msg[32];
			int len = snprintf(msg, sizeof(msg), "message %d", i);
			r = role == SHMKIT_CHAN_SEND
			        ? shmkit_chan_send(c, msg, (size_t)len, &dl)
			        : (int)shmkit_chan_recv(c, msg, sizeof(msg), &dl);
			if (write(done[1], &r, sizeof(r)) != sizeof(r))
				_exit(1);
		}
		for (;;)
			pause();
	}
	close(go[0]);
	close(done[1]);
	track_pid(pid);
	*p = (struct peer){.pid = pid, .go = go[1], .done = done[0]};
	int r = -1;
	cr_assert_eq(read(p->done, &r, sizeof(r)), (ssize_t)sizeof(r));
	cr_assert_eq(r, 0, "open %s: %s", name, strerror(-r));
}

/* Let p do its operations (if it waits) and collect their n results. */
static void peer_run(struct peer *p, int n)
{
	if (p->go >= 0) {
		cr_assert_eq(write(p->go, "g", 1), 1);
		close(p->go);
		p->go = -1;
	}
	for (int i = 0; i < n; i++)
		cr_assert_eq(read(p->done, &p->results[i], sizeof(int)), (ssize_t)sizeof(int));
}

static void peer_stop(struct peer *p)
{
	kill(p->pid, SIGKILL);
	tu_wait_timeout(p->pid, TIMEOUT_MS);
	untrack_pid(p->pid);
	if (p->go >= 0)
		close(p->go);
	close(p->done);
}

/* python3 -c CODE FILE: the JSON checks, with the document in d. */
static void json_check(const char *file, const char *code)
{
	struct result r =
	    sh("python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); %s' %s", code, file);
	cr_expect_eq(r.rc, 0, "%s\n%s", code, r.err);
	result_free(&r);
}

static void schema_check(const char *file)
{
	struct result r = sh("python3 %s/tests/cli/check_schema.py %s/tests/cli/ls.schema.json %s",
	                     SHMKIT_SOURCE_DIR, SHMKIT_SOURCE_DIR, file);
	cr_expect_eq(r.rc, 0, "schema: %s", r.err);
	result_free(&r);
}

/* ---- the three kinds, used by other processes ---- */

struct scene {
	const char *spsc, *mpmc, *bcast;
	struct peer stx, srx, mtx[2], mrx, btx, brx_read, brx_idle;
};

/*
 * spsc (capacity 8): 3 sent, 1 received: depth 2.
 * mpmc (capacity 16): two senders of 2 each, 1 received: depth 3.
 * broadcast (capacity 4): two receivers open, 10 sent (6 overwritten); one receiver then reads
 * twice: -EOVERFLOW (6 lost), then the oldest left: lag 3; the other never reads: lag 4.
 */
static void scene_start(struct scene *s)
{
	s->spsc = mk_chan("clichan-spsc", SHMKIT_CHAN_SPSC, 32, 8, 0640);
	s->mpmc = mk_chan("clichan-mpmc", SHMKIT_CHAN_MPMC, 100, 16, 0600);
	s->bcast = mk_chan("clichan-bcast", SHMKIT_CHAN_BROADCAST, 64, 4, 0644);

	peer_start(&s->stx, s->spsc, SHMKIT_CHAN_SEND, 3, false);
	peer_run(&s->stx, 3);
	peer_start(&s->srx, s->spsc, SHMKIT_CHAN_RECV, 1, true);
	peer_run(&s->srx, 1);
	cr_assert_eq(s->srx.results[0], 9, "received 'message 0'");

	for (int i = 0; i < 2; i++) {
		peer_start(&s->mtx[i], s->mpmc, SHMKIT_CHAN_SEND, 2, false);
		peer_run(&s->mtx[i], 2);
	}
	peer_start(&s->mrx, s->mpmc, SHMKIT_CHAN_RECV, 1, true);
	peer_run(&s->mrx, 1);
	cr_assert_eq(s->mrx.results[0], 9);

	peer_start(&s->brx_read, s->bcast, SHMKIT_CHAN_RECV, 2, true);
	peer_start(&s->brx_idle, s->bcast, SHMKIT_CHAN_RECV, 0, true);
	peer_start(&s->btx, s->bcast, SHMKIT_CHAN_SEND, 10, false);
	peer_run(&s->btx, 10);
	for (int i = 0; i < 10; i++)
		cr_assert_eq(s->btx.results[i], 0);
	peer_run(&s->brx_read, 2);
	cr_assert_eq(s->brx_read.results[0], -EOVERFLOW);
	cr_assert_eq(s->brx_read.results[1], 9, "the oldest left, 'message 6'");
}

static void scene_stop(struct scene *s)
{
	struct peer *all[] = {&s->stx, &s->srx, &s->mtx[0],   &s->mtx[1],
	                      &s->mrx, &s->btx, &s->brx_read, &s->brx_idle};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		peer_stop(all[i]);
	cr_expect_eq(shmkit_chan_unlink(s->spsc), 0);
	cr_expect_eq(shmkit_chan_unlink(s->mpmc), 0);
	cr_expect_eq(shmkit_chan_unlink(s->bcast), 0);
}

Test(cli_chan, ls_shows_every_kind_with_its_participants)
{
	struct scene s;
	scene_start(&s);
	struct result r =
	    shmkit("ls -r -n -b -k chan -o kind,name,type,capacity,msgsize,depth,"
	           "sent,senders,receivers,nattch,perms,owner,status --name clichan-*-%d-*",
	           (int)getpid());
	cr_assert_eq(r.rc, 0, "%s", r.err);
	char want[1024];
	/* sorted by name: bcast, mpmc, spsc */
	snprintf(want, sizeof(want),
	         "chan %s broadcast 4 64 4 10 1 2 3 rw-r--r-- %s -\n"
	         "chan %s mpmc 16 100 3 4 2 1 3 rw------- %s -\n"
	         "chan %s spsc 8 32 2 3 1 1 2 rw-r----- %s -\n",
	         s.bcast, me(), s.mpmc, me(), s.spsc, me());
	cr_expect_str_eq(r.out, want);
	result_free(&r);

	/* By default, the channel columns follow SIZE when channels are listed. */
	r = shmkit("ls -k chan --name %s", s.bcast);
	cr_expect_eq(r.rc, 0);
	const char *cols[] = {"TYPE", "CAPACITY", "MSGSIZE", "DEPTH", "SENDERS", "RECEIVERS"};
	const char *at = strstr(r.out, "SIZE ");
	for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++) {
		const char *c = at ? strstr(at, cols[i]) : NULL;
		cr_expect(c, "%s after %s: %s", cols[i], i ? cols[i - 1] : "SIZE", r.out);
		at = c ? c : at;
	}
	cr_expect(strstr(r.out, " broadcast "), "%s", r.out);
	result_free(&r);

	/* Without --kind too; and a channel is no POSIX object. */
	r = shmkit("ls -r -n -o kind,name --name %s", s.mpmc);
	snprintf(want, sizeof(want), "chan %s\n", s.mpmc);
	cr_expect_str_eq(r.out, want);
	result_free(&r);
	r = shmkit("ls -r -n -k posix -o name");
	cr_expect(!strstr(r.out, "shmkit.chan."), "%s", r.out);
	cr_expect(!strstr(r.out, s.mpmc), "%s", r.out);
	result_free(&r);
	r = shmkit("ls -r -n -k sysv,posix,heap -o name --name %s", s.mpmc);
	cr_expect_str_empty(r.out);
	result_free(&r);
	scene_stop(&s);
}

Test(cli_chan, ls_json_matches_schema)
{
	struct scene s;
	scene_start(&s);
	char out[128], args[512];
	snprintf(out, sizeof(out), "/tmp/%s.json", tu_name("clichan-ls"));
	snprintf(args, sizeof(args),
	         "-k chan -o kind,key,id,name,owner,uid,perms,size,type,capacity,msgsize,depth,"
	         "sent,abandoned,senders,receivers,nattch,status,ctime,cpid,command,backing");
	ls_json_checked(args, out);
	char code[2048];
	snprintf(
	    code, sizeof(code),
	    "m={o[\"name\"]:o for o in d[\"sharedmemory\"]}; b=m[\"%s\"]; p=m[\"%s\"]; "
	    "q=m[\"%s\"]; "
	    "assert b[\"kind\"]==\"chan\" and b[\"type\"]==\"broadcast\", b; "
	    "assert (b[\"capacity\"],b[\"msgsize\"],b[\"depth\"],b[\"sent\"])==(4,64,4,10), b; "
	    "assert (b[\"senders\"],b[\"receivers\"],b[\"nattch\"])==(1,2,3), b; "
	    "assert b[\"key\"] is None and b[\"id\"] is None and b[\"cpid\"] is None, b; "
	    "assert b[\"perms\"]==\"0644\" and b[\"uid\"]==%u and b[\"status\"]==[], b; "
	    "assert b[\"backing\"]==\"/dev/shm/shmkit.chan.%s/ring\" and b[\"size\"]>12288, b; "
	    "assert b[\"abandoned\"]==0 and abs(b[\"ctime\"]-%lld)<60, b; "
	    "assert (p[\"type\"],p[\"capacity\"],p[\"depth\"],p[\"senders\"])==(\"mpmc\",16,3,2), "
	    "p; "
	    "assert (q[\"type\"],q[\"depth\"],q[\"sent\"],q[\"msgsize\"])==(\"spsc\",2,3,32), q",
	    s.bcast, s.mpmc, s.spsc, (unsigned)geteuid(), s.bcast, (long long)time(NULL));
	json_check(out, code);
	unlink(out);
	scene_stop(&s);
}

Test(cli_chan, stat_shows_each_participant)
{
	struct scene s;
	scene_start(&s);
	struct result r = shmkit("stat %s", s.bcast);
	cr_assert_eq(r.rc, 0, "%s", r.err);
	const char *lines[] = {"kind:        chan\n",
	                       "type:        broadcast\n",
	                       "capacity:    4 messages\n",
	                       "msg size:    64 (64B)\n",
	                       "depth:       4\n",
	                       "sent:        10\n",
	                       "abandoned:   0\n",
	                       "senders:     1\n",
	                       "receivers:   2\n",
	                       "peers:       3\n",
	                       "mode:        0644 (rw-r--r--)\n",
	                       "attached:    3 processes\n"};
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		cr_expect(strstr(r.out, lines[i]), "no '%s' in:\n%s", lines[i], r.out);
	char want[256];
	snprintf(want, sizeof(want), "  pid %-8d receiver count 1        lag 3      lost 6      ",
	         (int)s.brx_read.pid);
	cr_expect(strstr(r.out, want), "no '%s' in:\n%s", want, r.out);
	snprintf(want, sizeof(want), "  pid %-8d receiver count 0        lag 4      lost 0      ",
	         (int)s.brx_idle.pid);
	cr_expect(strstr(r.out, want), "no '%s' in:\n%s", want, r.out);
	snprintf(want, sizeof(want), "  pid %-8d sender   count 10       ", (int)s.btx.pid);
	cr_expect(strstr(r.out, want), "no '%s' in:\n%s", want, r.out);
	result_free(&r);

	/* JSON: every participant of every kind, with its pid, role and counts. */
	const char *names[] = {s.spsc, s.mpmc, s.bcast};
	char expect[3][512];
	snprintf(expect[0], sizeof(expect[0]),
	         "{%d:(\"sender\",3,None,None),%d:(\"receiver\",1,2,0)}", (int)s.stx.pid,
	         (int)s.srx.pid);
	snprintf(
	    expect[1], sizeof(expect[1]),
	    "{%d:(\"sender\",2,None,None),%d:(\"sender\",2,None,None),%d:(\"receiver\",1,3,0)}",
	    (int)s.mtx[0].pid, (int)s.mtx[1].pid, (int)s.mrx.pid);
	snprintf(expect[2], sizeof(expect[2]),
	         "{%d:(\"sender\",10,None,None),%d:(\"receiver\",1,3,6),%d:(\"receiver\",0,4,0)}",
	         (int)s.btx.pid, (int)s.brx_read.pid, (int)s.brx_idle.pid);
	for (int k = 0; k < 3; k++) {
		char out[128], code[2048];
		snprintf(out, sizeof(out), "/tmp/%s.json", tu_name("clichan-stat"));
		r = sh("%s stat --json -k chan %s > %s", SHMKIT, names[k], out);
		cr_expect_eq(r.rc, 0, "%s", r.err);
		result_free(&r);
		schema_check(out);
		snprintf(
		    code, sizeof(code),
		    "o=d[\"sharedmemory\"][0]; assert o[\"name\"]==\"%s\", o; "
		    "got={p[\"pid\"]:(p[\"role\"],p[\"count\"],p[\"lag\"],p[\"lost\"]) for p in "
		    "o[\"peers\"]}; want=%s; assert got==want, (got, want); "
		    "cmd=lambda p: open(\"/proc/%%d/cmdline\" %% p).read().replace(chr(0), "
		    "\" \").strip(); "
		    "assert all(p[\"abandoned\"] in (None,0) and p[\"comm\"]==\"%s\" and "
		    "p[\"command\"]==cmd(p[\"pid\"]) for p in o[\"peers\"]), o[\"peers\"]; "
		    "assert sorted(a[\"pid\"] for a in o[\"attached\"])==sorted(got), o",
		    names[k], expect[k], my_comm());
		json_check(out, code);
		unlink(out);
	}
	/* Objects without participants have null peers; the schema covers stat of every kind. */
	const char *posix = track_chan("clichan-posix"); /* only a name */
	char path[200], out[128];
	snprintf(path, sizeof(path), "/dev/shm/%s", posix);
	int fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0600);
	cr_assert_geq(fd, 0);
	close(fd);
	snprintf(out, sizeof(out), "/tmp/%s.json", tu_name("clichan-stat"));
	r = sh("%s stat --json %s > %s", SHMKIT, posix, out);
	cr_expect_eq(r.rc, 0, "%s", r.err);
	result_free(&r);
	schema_check(out);
	json_check(out, "o=d[\"sharedmemory\"][0]; assert o[\"kind\"]==\"posix\" and "
	                "o[\"peers\"] is None and o[\"type\"] is None and o[\"attached\"]==[], o");
	unlink(out);
	unlink(path);
	scene_stop(&s);
}

Test(cli_chan, participants_that_die_leave_the_listing)
{
	const char *name = mk_chan("clichan-die", SHMKIT_CHAN_MPMC, 16, 4, 0600);
	struct peer tx, rx;
	peer_start(&tx, name, SHMKIT_CHAN_SEND, 1, false);
	peer_run(&tx, 1);
	peer_start(&rx, name, SHMKIT_CHAN_RECV, 0, false);
	struct result r =
	    shmkit("ls -r -n -k chan -o senders,receivers,nattch,depth --name %s", name);
	cr_expect_str_eq(r.out, "1 1 2 1\n");
	result_free(&r);
	peer_stop(&tx); /* kill -9: the kernel drops its token */
	r = shmkit("ls -r -n -k chan -o senders,receivers,nattch,depth --name %s", name);
	cr_expect_str_eq(r.out, "0 1 1 1\n");
	result_free(&r);
	char want[64];
	snprintf(want, sizeof(want), "  pid %-8d receiver", (int)rx.pid);
	r = shmkit("stat -k chan %s", name);
	cr_expect(strstr(r.out, "peers:       1\n") && strstr(r.out, want), "%s", r.out);
	result_free(&r);
	peer_stop(&rx);
	cr_expect_eq(shmkit_chan_unlink(name), 0);
}

/* ---- rm ---- */

Test(cli_chan, rm_by_name_kind_and_all)
{
	const char *a = mk_chan("clichan-rm", SHMKIT_CHAN_SPSC, 8, 2, 0600);
	const char *b = mk_chan("clichan-rm", SHMKIT_CHAN_BROADCAST, 8, 2, 0600);
	const char *c = mk_chan("clichan-rm", SHMKIT_CHAN_MPMC, 8, 2, 0600);
	struct peer rx;
	peer_start(&rx, a, SHMKIT_CHAN_RECV, 0, false);
	/* A channel in use is removed all the same: its users keep their handles. */
	struct result r = shmkit("rm -v %s /%s", a, b);
	cr_expect_eq(r.rc, 0, "%s", r.err);
	char want[256];
	snprintf(want, sizeof(want), "removed chan %s\nremoved chan %s\n", a, b);
	cr_expect_str_eq(r.out, want);
	result_free(&r);
	cr_expect(!chan_exists(a) && !chan_exists(b));
	peer_stop(&rx);

	/* A POSIX object of the same name: the name alone is ambiguous, --kind decides. */
	char path[200];
	snprintf(path, sizeof(path), "/dev/shm/%s", c);
	int fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0600);
	cr_assert_geq(fd, 0);
	close(fd);
	r = shmkit("rm %s", c);
	cr_expect_eq(r.rc, 1);
	cr_expect(strstr(r.err, "several kinds"), "%s", r.err);
	result_free(&r);
	cr_expect(chan_exists(c) && access(path, F_OK) == 0, "nothing removed");
	r = shmkit("rm -k chan %s", c);
	cr_expect_eq(r.rc, 0, "%s", r.err);
	result_free(&r);
	cr_expect(!chan_exists(c));
	cr_expect_eq(access(path, F_OK), 0, "the POSIX object stays");
	unlink(path);

	/* --all with filters. */
	const char *d = mk_chan("clichan-rmall", SHMKIT_CHAN_SPSC, 8, 2, 0600);
	const char *e = mk_chan("clichan-rmall", SHMKIT_CHAN_SPSC, 8, 2, 0600);
	const char *keep = mk_chan("clichan-keep", SHMKIT_CHAN_SPSC, 8, 2, 0600);
	r = shmkit("rm --all -k chan --name clichan-rmall-%d-*", (int)getpid());
	cr_expect_eq(r.rc, 0, "%s", r.err);
	result_free(&r);
	cr_expect(!chan_exists(d) && !chan_exists(e));
	cr_expect(chan_exists(keep));
	r = shmkit("rm -k chan no-such-channel-%d", (int)getpid());
	cr_expect_eq(r.rc, 1);
	result_free(&r);
	r = shmkit("rm -k chan %s", keep);
	cr_expect_eq(r.rc, 0);
	result_free(&r);
}

/* Run shmkit as nobody; its stdout and stderr in r. */
static struct result as_nobody(const char *args)
{
	char line[1024];
	snprintf(line, sizeof(line), "%s %s", SHMKIT, args);
	int out = memfd_create("out", MFD_CLOEXEC), err = memfd_create("err", MFD_CLOEXEC);
	cr_assert(out >= 0 && err >= 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		dup2(out, 1);
		dup2(err, 2);
		if (tu_become(65534, 65534) < 0)
			_exit(3);
		execl("/bin/sh", "sh", "-c", line, (char *)NULL);
		_exit(127);
	}
	struct result r = {.rc = tu_wait_timeout(pid, TIMEOUT_MS)};
	r.out = slurp_fd(out);
	r.err = slurp_fd(err);
	return r;
}

Test(cli_chan, only_the_owner_removes_and_others_see_what_they_may)
{
	const char *closed = mk_chan("clichan-perm", SHMKIT_CHAN_MPMC, 8, 2, 0600);
	const char *open_ = mk_chan("clichan-perm", SHMKIT_CHAN_BROADCAST, 16, 2, 0644);
	struct peer tx;
	peer_start(&tx, open_, SHMKIT_CHAN_SEND, 3, false);
	peer_run(&tx, 3);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(tx.results[i], 0);
	char args[256];
	snprintf(args, sizeof(args), "rm -k chan %s", closed);
	struct result r = as_nobody(args);
	cr_expect_eq(r.rc, 1, "%s", r.err);
	char owner[96];
	snprintf(owner, sizeof(owner), "only its owner (%s)", me());
	cr_expect(strstr(r.err, "permission denied") && strstr(r.err, owner), "%s", r.err);
	result_free(&r);
	snprintf(args, sizeof(args), "rm -k chan %s", open_);
	r = as_nobody(args);
	cr_expect_eq(r.rc, 1, "%s", r.err);
	result_free(&r);
	cr_expect(chan_exists(closed) && chan_exists(open_));

	/* Nobody sees both: the closed one without figures, the readable one with them (its
	 * sender's liveness by pid and start time, as nobody may not test its token). */
	snprintf(
	    args, sizeof(args),
	    "ls -r -n -k chan -o name,type,depth,senders,nattch,status --name clichan-perm-%d-*",
	    (int)getpid());
	r = as_nobody(args);
	cr_expect_eq(r.rc, 0, "%s", r.err);
	char want[512];
	bool closed_first = strcmp(closed, open_) < 0;
	char l1[200], l2[200];
	snprintf(l1, sizeof(l1), "%s - - - 0 noaccess\n", closed);
	snprintf(l2, sizeof(l2), "%s broadcast 2 1 1 -\n", open_); /* 3 sent, 2 kept */
	snprintf(want, sizeof(want), "%s%s", closed_first ? l1 : l2, closed_first ? l2 : l1);
	cr_expect_str_eq(r.out, want);
	result_free(&r);
	snprintf(args, sizeof(args), "stat -k chan %s", closed);
	r = as_nobody(args);
	cr_expect_eq(r.rc, 0, "%s", r.err);
	cr_expect(strstr(r.out, "channel:     unreadable: permission denied"), "%s", r.out);
	result_free(&r);
	peer_stop(&tx);
	r = shmkit("rm -k chan %s %s", closed, open_);
	cr_expect_eq(r.rc, 0, "%s", r.err);
	result_free(&r);
	cr_expect(!chan_exists(closed) && !chan_exists(open_));
}

/* ---- what does not read as a channel ---- */

static const char *mk_entry(const char *prefix, char *path, size_t len)
{
	const char *name = track_chan(prefix);
	snprintf(path, len, "/dev/shm/shmkit.chan.%s", name);
	return name;
}

Test(cli_chan, damaged_channels_are_listed_and_removable)
{
	char file[200], link[200], bad[200], open_[200], tmp[240];
	/* A regular file, a symbolic link, a ring with a bad magic, a directory anyone may write.
	 */
	const char *nfile = mk_entry("clichan-dmg", file, sizeof(file));
	int fd = open(file, O_CREAT | O_EXCL | O_WRONLY, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "junk", 4), 4);
	close(fd);
	const char *nlink = mk_entry("clichan-dmg", link, sizeof(link));
	cr_assert_eq(symlink("/etc", link), 0);
	const char *nbad = mk_chan("clichan-dmg", SHMKIT_CHAN_SPSC, 8, 2, 0600);
	snprintf(bad, sizeof(bad), "/dev/shm/shmkit.chan.%s/ring", nbad);
	fd = open(bad, O_WRONLY);
	cr_assert_geq(fd, 0);
	cr_assert_eq(pwrite(fd, "XXXX", 4, 0), 4);
	close(fd);
	const char *nopen = mk_chan("clichan-dmg", SHMKIT_CHAN_SPSC, 8, 2, 0600);
	snprintf(open_, sizeof(open_), "/dev/shm/shmkit.chan.%s", nopen);
	cr_assert_eq(chmod(open_, 0777), 0);
	const char *good = mk_chan("clichan-dmg", SHMKIT_CHAN_SPSC, 8, 2, 0600);

	struct result r =
	    shmkit("ls -r -n -k chan -o name,type,status --name clichan-dmg-%d-*", (int)getpid());
	cr_expect_eq(r.rc, 0, "%s", r.err);
	const char *damaged[] = {nfile, nlink, nbad, nopen};
	for (size_t i = 0; i < 4; i++) {
		snprintf(tmp, sizeof(tmp), "%s - damaged\n", damaged[i]);
		cr_expect(strstr(r.out, tmp), "no '%s' in:\n%s", tmp, r.out);
	}
	snprintf(tmp, sizeof(tmp), "%s spsc -\n", good);
	cr_expect(strstr(r.out, tmp), "no '%s' in:\n%s", tmp, r.out);
	result_free(&r);
	/* Every column of them, in every format, and stat, without a crash. */
	char out[128];
	snprintf(out, sizeof(out), "/tmp/%s.json", tu_name("clichan-dmg"));
	ls_json_checked("-k chan -o kind,name,owner,perms,size,type,capacity,depth,nattch,status,"
	                "ctime,backing",
	                out);
	char code[512];
	snprintf(
	    code, sizeof(code),
	    "m={o[\"name\"]:o for o in d[\"sharedmemory\"]}; f=m[\"%s\"]; "
	    "assert f[\"status\"]==[\"damaged\"] and f[\"size\"]==4 and f[\"type\"] is None, f; "
	    "assert f[\"backing\"]==\"%s\" and f[\"perms\"]==\"0600\", f",
	    nfile, file);
	json_check(out, code);
	unlink(out);
	for (size_t i = 0; i < 4; i++) {
		r = shmkit("stat -k chan %s", damaged[i]);
		cr_expect_eq(r.rc, 0, "%s", r.err);
		cr_expect(strstr(r.out, "channel:     damaged: "), "%s", r.out);
		result_free(&r);
	}
	r = shmkit("ls -r -n -k posix -o name");
	cr_expect(!strstr(r.out, "shmkit.chan."), "%s", r.out);
	result_free(&r);
	r = shmkit("dump -k chan %s", nfile);
	cr_expect_eq(r.rc, 0, "%s", r.err);
	cr_expect(strstr(r.out, "|junk|"), "%s", r.out);
	result_free(&r);

	/* Each can be removed, the link itself (not what it points to) too. */
	r = shmkit("rm -v -k chan %s %s %s %s %s", nfile, nlink, nbad, nopen, good);
	cr_expect_eq(r.rc, 0, "%s", r.err);
	result_free(&r);
	for (size_t i = 0; i < 4; i++)
		cr_expect(!chan_exists(damaged[i]), "%s stays", damaged[i]);
	cr_expect(!chan_exists(good));
	cr_expect_eq(access("/etc/passwd", F_OK), 0);
}

/* ---- gc ---- */

Test(cli_chan, gc_keeps_channels_and_removes_what_a_dead_creator_left)
{
	const char *idle = mk_chan("clichan-gc", SHMKIT_CHAN_SPSC, 8, 2, 0600);
	const char *used = mk_chan("clichan-gc", SHMKIT_CHAN_MPMC, 8, 2, 0600);
	struct peer rx;
	peer_start(&rx, used, SHMKIT_CHAN_RECV, 0, false);
	/* What a creator killed between mkdir and its ring leaves: long ago, and just now. */
	char old[200], fresh[200];
	const char *nold = mk_entry("clichan-gc", old, sizeof(old));
	const char *nfresh = mk_entry("clichan-gc", fresh, sizeof(fresh));
	cr_assert_eq(mkdir(old, 0700), 0);
	cr_assert_eq(mkdir(fresh, 0700), 0);
	struct timespec times[2] = {{.tv_nsec = UTIME_OMIT}, {.tv_sec = time(NULL) - 3600}};
	cr_assert_eq(utimensat(AT_FDCWD, old, times, 0), 0);

	struct result r =
	    shmkit("ls -r -n -k chan -o name,status --name clichan-gc-%d-*", (int)getpid());
	char want[200];
	snprintf(want, sizeof(want), "%s incomplete\n", nold);
	cr_expect(strstr(r.out, want), "%s", r.out);
	snprintf(want, sizeof(want), "%s incomplete\n", nfresh);
	cr_expect(strstr(r.out, want), "%s", r.out);
	result_free(&r);

	r = shmkit("gc --dry-run -k chan");
	cr_expect_eq(r.rc, 0, "%s", r.err);
	snprintf(want, sizeof(want), "would remove chan %s (no ring since ", nold);
	cr_expect(strstr(r.out, want), "%s", r.out);
	cr_expect(!strstr(r.out, nfresh) && !strstr(r.out, idle) && !strstr(r.out, used), "%s",
	          r.out);
	result_free(&r);
	cr_expect(chan_exists(nold), "a dry run removed it");

	r = shmkit("gc -k chan");
	cr_expect_eq(r.rc, 0, "%s", r.err);
	snprintf(want, sizeof(want), "removed chan %s (no ring since ", nold);
	cr_expect(strstr(r.out, want), "%s", r.out);
	result_free(&r);
	cr_expect(!chan_exists(nold));
	cr_expect(chan_exists(nfresh), "a channel being made now is left alone");
	cr_expect(chan_exists(idle), "a channel nobody uses is no garbage");
	cr_expect(chan_exists(used));
	/* rm removes a half-made one at once. */
	r = shmkit("rm -k chan %s", nfresh);
	cr_expect_eq(r.rc, 0, "%s", r.err);
	result_free(&r);
	cr_expect(!chan_exists(nfresh));
	peer_stop(&rx);
	cr_expect_eq(shmkit_chan_unlink(idle), 0);
	cr_expect_eq(shmkit_chan_unlink(used), 0);
}

/* A ring its owner truncates while the tool reads it: an error at worst, never a crash. */
Test(cli_chan, a_ring_truncated_under_the_tool_does_not_crash_it)
{
	const char *name = mk_chan("clichan-trunc", SHMKIT_CHAN_MPMC, 64, 64, 0600);
	char ring[200];
	snprintf(ring, sizeof(ring), "/dev/shm/shmkit.chan.%s/ring", name);
	pid_t pid = tu_truncator(ring, 0, 0);
	cr_assert_gt(pid, 0);
	track_pid(pid);
	int ok = 0, failed = 0;
	for (int i = 0; i < 60; i++) {
		struct result r = i % 2 ? shmkit("stat -k chan %s", name)
		                        : shmkit("ls -k chan -o name,type,depth --name %s", name);
		cr_expect(r.rc == 0 || r.rc == 1, "run %d: exit %d: %s", i, r.rc, r.err);
		ok += r.rc == 0;
		failed += r.rc == 1;
		result_free(&r);
	}
	cr_expect_eq(ok + failed, 60);
	kill(pid, SIGKILL);
	tu_wait_timeout(pid, TIMEOUT_MS);
	untrack_pid(pid);
	cr_expect_eq(shmkit_chan_unlink(name), 0);
}
