/* SPDX-License-Identifier: MIT */
/*
 * Description: every bad input to the seg API gets its precise -errno, and a hostile peer on
 * the descriptor-passing socket can neither crash the receiver nor leak descriptors into it.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal/compiler.h"
#include "seg/handle.h"
#include "sys/sys.h"
#include "segtest.h"

#define PAGE 4096u

/* A name one byte longer than allowed. */
static const char *long_name(void)
{
	static char name[SK_SHM_NAME_MAX + 2];
	memset(name, 'n', sizeof(name) - 1);
	return name;
}

Test(create, bad_names)
{
	static const char *const bad[] = {"", "/", "a/b", "/a/", ".", "..", "/.."};
	shmkit_seg_t *s = (shmkit_seg_t *)1;
	cr_assert_eq(shmkit_seg_create(&s, NULL, PAGE, NULL), -EINVAL);
	cr_assert_null(s, "*out is cleared on failure");
	for (size_t i = 0; i < SK_ARRAY_SIZE(bad); i++)
		cr_assert_eq(shmkit_seg_create(&s, bad[i], PAGE, NULL), -EINVAL, "'%s'", bad[i]);
	cr_assert_eq(shmkit_seg_create(&s, long_name(), PAGE, NULL), -ENAMETOOLONG);
	struct shmkit_seg_config c = seg_cfg(SHMKIT_SEG_MEMFD, 0);
	cr_assert_eq(shmkit_seg_create(&s, long_name(), PAGE, &c), -ENAMETOOLONG);
	cr_assert_eq(shmkit_seg_create(&s, "a/b", PAGE, &c), -EINVAL);
}

Test(create, bad_sizes)
{
	static const uint32_t backends[] = {SHMKIT_SEG_POSIX, SHMKIT_SEG_MEMFD, SHMKIT_SEG_HUGETLB,
	                                    SHMKIT_SEG_SYSV};
	static const size_t sizes[] = {0, SK_SEG_SIZE_MAX + 1, SIZE_MAX};
	shmkit_seg_t *s;
	for (size_t b = 0; b < SK_ARRAY_SIZE(backends); b++) {
		struct shmkit_seg_config c = seg_cfg(backends[b], 0);
		for (size_t i = 0; i < SK_ARRAY_SIZE(sizes); i++)
			cr_assert_eq(shmkit_seg_create(&s, "x", sizes[i], &c), -EINVAL,
			             "backend %u size %zu", backends[b], sizes[i]);
	}
}

Test(create, bad_config)
{
	struct {
		const char *what;
		struct shmkit_seg_config c;
	} bad[] = {
	    {"NULL out", SHMKIT_SEG_CONFIG_INIT},
	    {"backend 5", {.backend = 5, .uid = -1, .gid = -1}},
	    {"backend ~0", {.backend = ~0u, .uid = -1, .gid = -1}},
	    {"unknown flag", {.flags = 0x4, .uid = -1, .gid = -1}},
	    {"EXCL|OPEN", {.flags = SHMKIT_SEG_EXCL | SHMKIT_SEG_OPEN, .uid = -1, .gid = -1}},
	    {"OPEN memfd",
	     {.backend = SHMKIT_SEG_MEMFD, .flags = SHMKIT_SEG_OPEN, .uid = -1, .gid = -1}},
	    {"mode 01777", {.mode = 01777, .uid = -1, .gid = -1}},
	    {"mode 04600", {.mode = 04600, .uid = -1, .gid = -1}},
	    {"seals posix", {.seals = SHMKIT_SEAL_WRITE, .uid = -1, .gid = -1}},
	    {"seals sysv",
	     {.backend = SHMKIT_SEG_SYSV, .seals = SHMKIT_SEAL_GROW, .uid = -1, .gid = -1}},
	    {"unknown seal", {.backend = SHMKIT_SEG_MEMFD, .seals = 0x20, .uid = -1, .gid = -1}},
	    {"uid -2", {.uid = -2, .gid = -1}},
	    {"uid 2^32", {.uid = 1ll << 32, .gid = -1}},
	    {"gid 2^32-1", {.uid = -1, .gid = (1ll << 32) - 1}},
	    {"huge page size on posix", {.huge_page_size = 1 << 21, .uid = -1, .gid = -1}},
	    {"key on memfd", {.backend = SHMKIT_SEG_MEMFD, .sysv_key = 7, .uid = -1, .gid = -1}},
	    {"reserved", {.reserved_ = 1, .uid = -1, .gid = -1}},
	};
	shmkit_seg_t *s;
	cr_assert_eq(shmkit_seg_create(NULL, "x", PAGE, &bad[0].c), -EINVAL);
	for (size_t i = 1; i < SK_ARRAY_SIZE(bad); i++)
		cr_assert_eq(shmkit_seg_create(&s, "x", PAGE, &bad[i].c), -EINVAL, "%s",
		             bad[i].what);
}

Test(open, bad_arguments)
{
	static const char *const ids[] = {"", "abc", "-1", "12x", "99999999999", "2147483648"};
	shmkit_seg_t *s;
	cr_assert_eq(shmkit_seg_open(NULL, SHMKIT_SEG_POSIX, "x", 0), -EINVAL);
	cr_assert_eq(shmkit_seg_open(&s, SHMKIT_SEG_POSIX, NULL, 0), -EINVAL);
	cr_assert_eq(shmkit_seg_open(&s, SHMKIT_SEG_POSIX, "x", 0x2), -EINVAL);
	cr_assert_eq(shmkit_seg_open(&s, SHMKIT_SEG_MEMFD, "x", 0), -EINVAL);
	cr_assert_eq(shmkit_seg_open(&s, SHMKIT_SEG_HUGETLB, "x", 0), -EINVAL);
	cr_assert_eq(shmkit_seg_open(&s, 9, "x", 0), -EINVAL);
	cr_assert_eq(shmkit_seg_open(&s, SHMKIT_SEG_POSIX, "a/b", 0), -EINVAL);
	cr_assert_eq(shmkit_seg_open(&s, SHMKIT_SEG_POSIX, tu_name("sk-none"), 0), -ENOENT);
	for (size_t i = 0; i < SK_ARRAY_SIZE(ids); i++)
		cr_assert_eq(shmkit_seg_open(&s, SHMKIT_SEG_SYSV, ids[i], 0), -EINVAL, "'%s'",
		             ids[i]);
}

Test(from_fd, refuses_what_is_not_shared_memory)
{
	shmkit_seg_t *s;
	int p[2];
	cr_assert_eq(pipe(p), 0);
	cr_assert_eq(shmkit_seg_from_fd(NULL, p[0], 0), -EINVAL);
	cr_assert_eq(shmkit_seg_from_fd(&s, -1, 0), -EBADF);
	cr_assert_eq(shmkit_seg_from_fd(&s, p[0], 0), -EINVAL);
	cr_assert_geq(fcntl(p[0], F_GETFD), 0, "the caller keeps fd on failure");
	int dir = open("/dev/shm", O_RDONLY | O_DIRECTORY);
	cr_assert_eq(shmkit_seg_from_fd(&s, dir, 0), -EINVAL);
	int exe = open("/proc/self/exe", O_RDONLY);
	cr_assert_eq(shmkit_seg_from_fd(&s, exe, 0), -EINVAL, "a disk file");
	int mfd = memfd_create("x", MFD_CLOEXEC);
	cr_assert_eq(shmkit_seg_from_fd(&s, mfd, 0x2), -EINVAL);
	int path = sk_fd_reopen(mfd, O_PATH);
	cr_assert_geq(path, 0);
	cr_assert_eq(shmkit_seg_from_fd(&s, path, 0), -EINVAL, "O_PATH opens nothing");
	close(path);
	int wo = sk_fd_reopen(mfd, O_WRONLY);
	cr_assert_geq(wo, 0);
	cr_assert_eq(shmkit_seg_from_fd(&s, wo, 0), -EACCES, "write-only cannot be mapped");
	close(p[0]);
	close(p[1]);
	close(dir);
	close(exe);
	close(mfd);
	close(wo);
}

Test(map, bad_options)
{
	shmkit_seg_t *s;
	void *p;
	void *aligned = free_range(PAGE);
	cr_assert_eq(shmkit_seg_create(&s, tu_name("sk-seg"), 2 * PAGE, NULL), 0);
	struct {
		const char *what;
		struct shmkit_map_opts o;
	} bad[] = {
	    {"unknown flag 0x4", {.flags = 0x4}},
	    {"unknown flag 0x100", {.flags = 0x100}},
	    {"FIXED without address", {.flags = SHMKIT_MAP_FIXED}},
	    {"FIXED unaligned", {.flags = SHMKIT_MAP_FIXED, .addr = (char *)aligned + 1}},
	    {"address without FIXED", {.addr = aligned}},
	    {"offset unaligned", {.offset = 1}},
	    {"offset at the end", {.offset = 2 * PAGE}},
	    {"offset far beyond", {.offset = 1ull << 62}},
	    {"length past the end", {.length = 2 * PAGE + 1}},
	    {"length absurd", {.length = UINT64_MAX}},
	    {"offset+length overflow", {.offset = PAGE, .length = UINT64_MAX - PAGE + 1}},
	};
	cr_assert_eq(shmkit_seg_map(NULL, NULL, &p), -EINVAL);
	cr_assert_eq(shmkit_seg_map(s, NULL, NULL), -EINVAL);
	for (size_t i = 0; i < SK_ARRAY_SIZE(bad); i++)
		cr_assert_eq(shmkit_seg_map(s, &bad[i].o, &p), -EINVAL, "%s", bad[i].what);
	shmkit_seg_remove(s);
	shmkit_seg_close(s);
}

Test(map, sysv_attaches_whole_segments_only)
{
	struct shmkit_seg_config c = seg_cfg(SHMKIT_SEG_SYSV, 0600);
	struct shmkit_map_opts at_offset = {.offset = PAGE}, too_long = {.length = 3 * PAGE};
	shmkit_seg_t *s;
	void *p;
	cr_assert_eq(shmkit_seg_create(&s, NULL, 2 * PAGE, &c), 0);
	cr_assert_eq(shmkit_seg_map(s, &at_offset, &p), -EINVAL);
	cr_assert_eq(shmkit_seg_map(s, &too_long, &p), -EINVAL);
	cr_assert_eq(shmkit_seg_remove(s), 0);
	shmkit_seg_close(s);
}

Test(handle, bad_arguments_everywhere_else)
{
	struct shmkit_seg_info info;
	shmkit_seg_t *s;
	cr_assert_eq(shmkit_seg_create(&s, tu_name("sk-seg"), PAGE, NULL), 0);
	cr_assert_eq(shmkit_seg_unmap(s, NULL, PAGE), -EINVAL);
	cr_assert_eq(shmkit_seg_unmap(s, (void *)(uintptr_t)(PAGE + 1), PAGE), -EINVAL);
	cr_assert_eq(shmkit_seg_unmap(s, (void *)(uintptr_t)PAGE, 0), -EINVAL);
	cr_assert_eq(shmkit_seg_resize(NULL, PAGE), -EINVAL);
	cr_assert_eq(shmkit_seg_resize(s, 0), -EINVAL);
	cr_assert_eq(shmkit_seg_resize(s, SK_SEG_SIZE_MAX + 1), -EINVAL);
	cr_assert_eq(shmkit_seg_seal(NULL, SHMKIT_SEAL_GROW), -EINVAL);
	cr_assert_eq(shmkit_seg_seal(s, SHMKIT_SEAL_GROW), -EINVAL, "POSIX objects have no seals");
	cr_assert_eq(shmkit_seg_stat(NULL, &info), -EINVAL);
	cr_assert_eq(shmkit_seg_stat(s, NULL), -EINVAL);
	cr_assert_eq(shmkit_seg_remove(NULL), -EINVAL);
	cr_assert_eq(shmkit_seg_fd(NULL), -EINVAL);
	shmkit_seg_close(NULL);
	cr_assert_eq(shmkit_seg_remove(s), 0);
	shmkit_seg_close(s);

	struct shmkit_seg_config c = seg_cfg(SHMKIT_SEG_MEMFD, 0);
	cr_assert_eq(shmkit_seg_create(&s, NULL, PAGE, &c), 0);
	cr_assert_eq(shmkit_seg_seal(s, 0), -EINVAL);
	cr_assert_eq(shmkit_seg_seal(s, 0x40), -EINVAL);
	shmkit_seg_close(s);
}

Test(handle, unlink_bad_arguments)
{
	cr_assert_eq(shmkit_seg_unlink(SHMKIT_SEG_POSIX, NULL), -EINVAL);
	cr_assert_eq(shmkit_seg_unlink(SHMKIT_SEG_POSIX, "a/b"), -EINVAL);
	cr_assert_eq(shmkit_seg_unlink(SHMKIT_SEG_POSIX, long_name()), -ENAMETOOLONG);
	cr_assert_eq(shmkit_seg_unlink(SHMKIT_SEG_POSIX, tu_name("sk-none")), -ENOENT);
	cr_assert_eq(shmkit_seg_unlink(SHMKIT_SEG_MEMFD, "x"), -EINVAL);
	cr_assert_eq(shmkit_seg_unlink(SHMKIT_SEG_SYSV, "x"), -EINVAL);
	cr_assert_eq(shmkit_seg_unlink(42, "x"), -EINVAL);
}

/* ---- descriptor passing: misuse and hostile senders ---- */

struct pair {
	int sv[2];
	shmkit_seg_t *memfd;
};

static void pair_open(struct pair *p, int type)
{
	struct shmkit_seg_config c = seg_cfg(SHMKIT_SEG_MEMFD, 0);
	cr_assert_eq(socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, p->sv), 0);
	cr_assert_eq(shmkit_seg_create(&p->memfd, "pass", PAGE, &c), 0);
}

static void pair_close(struct pair *p)
{
	close(p->sv[0]);
	close(p->sv[1]);
	shmkit_seg_close(p->memfd);
}

Test(fdpass, misuse)
{
	struct shmkit_seg_config c = seg_cfg(SHMKIT_SEG_SYSV, 0600);
	shmkit_seg_t *sysv, *r;
	struct pair p;
	pair_open(&p, SOCK_STREAM);
	cr_assert_eq(shmkit_seg_send(p.sv[0], NULL), -EINVAL);
	cr_assert_eq(shmkit_seg_send(-1, p.memfd), -EBADF);
	cr_assert_eq(shmkit_seg_send(shmkit_seg_fd(p.memfd), p.memfd), -ENOTSOCK);
	cr_assert_eq(shmkit_seg_create(&sysv, NULL, PAGE, &c), 0);
	cr_assert_eq(shmkit_seg_send(p.sv[0], sysv), -EOPNOTSUPP);
	shmkit_seg_remove(sysv);
	shmkit_seg_close(sysv);
	cr_assert_eq(shmkit_seg_recv(p.sv[1], NULL, 0), -EINVAL);
	cr_assert_eq(shmkit_seg_recv(-1, &r, 0), -EBADF);
	cr_assert_eq(shmkit_seg_recv(p.sv[1], &r, 0x8), -EINVAL);
	fcntl(p.sv[1], F_SETFL, O_NONBLOCK);
	cr_assert_eq(shmkit_seg_recv(p.sv[1], &r, 0), -EAGAIN, "nothing queued");
	pair_close(&p);
}

Test(fdpass, dead_peer_is_an_error_not_a_signal)
{
	shmkit_seg_t *r;
	struct pair p;
	pair_open(&p, SOCK_STREAM);
	close(p.sv[1]);
	p.sv[1] = -1;
	/* The default SIGPIPE action would kill this test process. */
	cr_assert_eq(shmkit_seg_send(p.sv[0], p.memfd), -EPIPE);
	pair_close(&p);
	pair_open(&p, SOCK_STREAM);
	close(p.sv[0]);
	p.sv[0] = -1;
	cr_assert_eq(shmkit_seg_recv(p.sv[1], &r, 0), -ECONNRESET);
	pair_close(&p);
}

/* Send msg (len bytes) with nfds copies of fd, as a hostile peer would. */
static void send_raw(int sock, const void *msg, size_t len, int fd, int nfds)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * 32)];
	} u;
	struct iovec iov = {.iov_base = (void *)msg, .iov_len = len};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	memset(&u, 0, sizeof(u));
	if (nfds) {
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		for (int i = 0; i < nfds; i++)
			memcpy(CMSG_DATA(c) + i * sizeof(int), &fd, sizeof(int));
	}
	cr_assert_eq(sendmsg(sock, &mh, 0), (ssize_t)len);
}

#define assert_refused(...) assert_refused_at(__LINE__, __VA_ARGS__)

/* The receiver refuses msg with -EPROTO and holds no more descriptors than before. */
static void assert_refused_at(int line, int type, const struct sk_seg_msg *m, size_t len, int nfds,
                              int fd)
{
	struct pair p;
	shmkit_seg_t *r = (shmkit_seg_t *)1;
	pair_open(&p, type);
	send_raw(p.sv[0], m, len, fd < 0 ? shmkit_seg_fd(p.memfd) : fd, nfds);
	int before = count_fds();
	int got = shmkit_seg_recv(p.sv[1], &r, 0);
	cr_assert_eq(got, -EPROTO, "line %d: %d", line, got);
	cr_assert_null(r);
	cr_assert_eq(count_fds(), before, "no descriptor leaked");
	pair_close(&p);
}

Test(fdpass, hostile_senders_are_refused_without_leaks)
{
	struct sk_seg_msg good = {.magic = SK_SEG_MSG_MAGIC, .backend = SHMKIT_SEG_MEMFD};
	struct sk_seg_msg m = good;
	int types[] = {SOCK_STREAM, SOCK_SEQPACKET, SOCK_DGRAM};
	for (size_t t = 0; t < SK_ARRAY_SIZE(types); t++) {
		assert_refused(types[t], &good, sizeof(good), 0, -1);  /* no descriptor */
		assert_refused(types[t], &good, sizeof(good), 2, -1);  /* two */
		assert_refused(types[t], &good, sizeof(good), 20, -1); /* more than fit: CTRUNC */
		assert_refused(types[t], &good, 4, 1, -1);             /* short message */
	}
	m.magic ^= 1;
	assert_refused(SOCK_SEQPACKET, &m, sizeof(m), 1, -1);
	m = good;
	m.backend = SHMKIT_SEG_POSIX; /* a lie about what it is */
	assert_refused(SOCK_SEQPACKET, &m, sizeof(m), 1, -1);
	m = good;
	memset(m.name, 'x', sizeof(m.name)); /* unterminated */
	assert_refused(SOCK_SEQPACKET, &m, sizeof(m), 1, -1);
	int pfd[2];
	cr_assert_eq(pipe(pfd), 0);
	assert_refused(SOCK_SEQPACKET, &good, sizeof(good), 1, pfd[0]); /* not shared memory */
	close(pfd[0]);
	close(pfd[1]);
	int exe = open("/proc/self/exe", O_RDONLY);
	assert_refused(SOCK_SEQPACKET, &good, sizeof(good), 1, exe);
	close(exe);
	int mfd = memfd_create("path", MFD_CLOEXEC), path = sk_fd_reopen(mfd, O_PATH);
	cr_assert_geq(path, 0);
	assert_refused(SOCK_SEQPACKET, &good, sizeof(good), 1, path); /* opens nothing */
	close(path);
	close(mfd);
}

Test(fdpass, a_false_name_is_not_adopted)
{
	char other[128];
	snprintf(other, sizeof(other), "%s", tu_name("sk-seg")); /* tu_name reuses its buffer */
	struct sk_seg_msg m = {.magic = SK_SEG_MSG_MAGIC, .backend = SHMKIT_SEG_POSIX};
	shmkit_seg_t *victim, *mine, *r;
	struct pair p;
	cr_assert_eq(shmkit_seg_create(&victim, other, PAGE, NULL), 0);
	cr_assert_eq(shmkit_seg_create(&mine, tu_name("sk-seg"), PAGE, NULL), 0);
	pair_open(&p, SOCK_SEQPACKET);
	strcpy(m.name, other);
	send_raw(p.sv[0], &m, sizeof(m), shmkit_seg_fd(mine), 1);
	cr_assert_eq(shmkit_seg_recv(p.sv[1], &r, 0), 0);
	cr_assert_eq(shmkit_seg_remove(r), -ENOENT, "it cannot remove someone else's object");
	cr_assert_eq(shmkit_seg_remove(victim), 0);
	cr_assert_eq(shmkit_seg_remove(mine), 0);
	shmkit_seg_close(r);
	shmkit_seg_close(victim);
	shmkit_seg_close(mine);
	pair_close(&p);
}
