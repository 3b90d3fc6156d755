/* SPDX-License-Identifier: MIT */
/*
 * Helpers of the 32/64-bit tests: peers (helper_m32 processes of either class) driven one
 * command line at a time, and the skip that says why a machine cannot run the tests.
 */
#ifndef SHMKIT_M32TEST_H
#define SHMKIT_M32TEST_H

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "m32proto.h"
#include "shmkit.h"
#include "testutil.h"

#define PEER_MS 20000 /* longest wait for any reply */

extern char **environ;

/* Helpers still running (started, not yet stopped or killed): peers_reap() ends them. */
static pid_t peer_pids[32];

static inline void peer_track(pid_t pid, pid_t old)
{
	for (size_t i = 0; i < sizeof(peer_pids) / sizeof(peer_pids[0]); i++)
		if (peer_pids[i] == old) {
			peer_pids[i] = pid;
			return;
		}
}

/* For a suite's .fini: a test that failed half-way leaves no helper behind. */
static inline void peers_reap(void)
{
	for (size_t i = 0; i < sizeof(peer_pids) / sizeof(peer_pids[0]); i++)
		if (peer_pids[i] > 0) {
			kill(peer_pids[i], SIGKILL);
			waitpid(peer_pids[i], NULL, 0);
			peer_pids[i] = 0;
		}
}

struct peer {
	int bits; /* 32 or 64 */
	pid_t pid;
	int in, out; /* its stdin (we write), its stdout (we read) */
	char buf[4096];
	size_t len;
	char line[4096]; /* the last reply */
};

/* The helper of that class: <build>/tests/helper_m32 or <build>/m32/bin/helper_m32. */
static inline const char *peer_path(int bits)
{
	static char p32[512];
	if (bits == 64)
		return tu_helper("helper_m32");
	const char *bin = getenv("M32_BIN");
	snprintf(p32, sizeof(p32), "%s/helper_m32", bin ? bin : "?");
	return p32;
}

/* Start a helper of class bits with fd keep inherited (-1: none). 0 or -errno. */
static inline int peer_try_start(struct peer *p, int bits, int keep)
{
	int in[2], out[2];
	memset(p, 0, sizeof(*p));
	p->bits = bits;
	if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC))
		return -errno;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	if (keep >= 0) {
		int fl = fcntl(keep, F_GETFD);
		fcntl(keep, F_SETFD, fl & ~FD_CLOEXEC);
	}
	const char *path = peer_path(bits);
	char *argv[] = {(char *)path, NULL};
	int e = posix_spawn(&p->pid, path, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (keep >= 0)
		fcntl(keep, F_SETFD, fcntl(keep, F_GETFD) | FD_CLOEXEC);
	close(in[0]);
	close(out[1]);
	if (e) {
		close(in[1]);
		close(out[0]);
		return -e;
	}
	p->in = in[1];
	p->out = out[0];
	peer_track(p->pid, 0);
	return 0;
}

/* The next reply line, waiting at most ms; NULL on timeout or end of file. */
static inline const char *peer_reply(struct peer *p, int ms)
{
	for (;;) {
		char *nl = memchr(p->buf, '\n', p->len);
		if (nl) {
			size_t n = (size_t)(nl - p->buf);
			memcpy(p->line, p->buf, n);
			p->line[n] = '\0';
			memmove(p->buf, nl + 1, p->len - n - 1);
			p->len -= n + 1;
			return p->line;
		}
		struct pollfd pf = {p->out, POLLIN, 0};
		if (p->len == sizeof(p->buf) || poll(&pf, 1, ms) != 1)
			return NULL;
		ssize_t r = read(p->out, p->buf + p->len, sizeof(p->buf) - p->len);
		if (r <= 0)
			return NULL;
		p->len += (size_t)r;
	}
}

static inline void peer_send(struct peer *p, const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(cmd, sizeof(cmd) - 1, fmt, ap);
	va_end(ap);
	cr_assert(n > 0 && n < (int)sizeof(cmd) - 1);
	cmd[n++] = '\n';
	cr_assert_eq(write(p->in, cmd, (size_t)n), n, "%d-bit helper: cannot send '%.*s'", p->bits,
	             n - 1, cmd);
}

/* Send the command fmt..., formatted into cmd; its reply (a "bad" or no reply fails the test). */
static inline const char *peer_vcmd(struct peer *p, char *cmd, size_t len, const char *fmt,
                                    va_list ap)
{
	vsnprintf(cmd, len, fmt, ap);
	peer_send(p, "%s", cmd);
	const char *r = peer_reply(p, PEER_MS);
	cr_assert(r, "%d-bit helper: no reply to '%s'", p->bits, cmd);
	cr_assert(strncmp(r, M32_BAD, 3), "%d-bit helper: '%s': %s", p->bits, cmd, r);
	return r;
}

#define PEER_VCMD(p, cmd, fmt)                                                                     \
	({                                                                                         \
		va_list ap_;                                                                       \
		va_start(ap_, fmt);                                                                \
		const char *r_ = peer_vcmd(p, cmd, sizeof(cmd), fmt, ap_);                         \
		va_end(ap_);                                                                       \
		r_;                                                                                \
	})

/* Send a command and return its reply. */
static inline const char *peer_cmd(struct peer *p, const char *fmt, ...)
{
	char cmd[512];
	return PEER_VCMD(p, cmd, fmt);
}

/* The same, and the reply must be exactly want. */
static inline void peer_expect(struct peer *p, const char *want, const char *fmt, ...)
{
	char cmd[512];
	const char *r = PEER_VCMD(p, cmd, fmt);
	cr_assert_str_eq(r, want, "%d-bit helper: '%s' gave '%s', want '%s'", p->bits, cmd, r,
	                 want);
}

/* An "ok N" reply's number. */
static inline long long peer_num(struct peer *p, const char *fmt, ...)
{
	char cmd[512];
	const char *r = PEER_VCMD(p, cmd, fmt);
	cr_assert(!strncmp(r, "ok ", 3), "%d-bit helper: '%s' gave '%s'", p->bits, cmd, r);
	return strtoll(r + 3, NULL, 0);
}

static inline void peer_close_pipes(struct peer *p)
{
	if (p->in > 0)
		close(p->in);
	if (p->out > 0)
		close(p->out);
	p->in = p->out = -1;
}

static inline void peer_stop(struct peer *p)
{
	if (p->pid <= 0)
		return;
	peer_send(p, "quit");
	peer_close_pipes(p);
	int st = tu_wait_timeout(p->pid, PEER_MS);
	peer_track(0, p->pid);
	p->pid = 0;
	cr_assert_eq(st, 0, "%d-bit helper ended with status %d", p->bits, st);
}

static inline void peer_kill9(struct peer *p)
{
	kill(p->pid, SIGKILL);
	int st = tu_wait_timeout(p->pid, PEER_MS);
	peer_track(0, p->pid);
	p->pid = 0;
	peer_close_pipes(p);
	cr_assert_eq(st, 128 + SIGKILL, "%d-bit helper: status %d after SIGKILL", p->bits, st);
}

/* The value of field key= in a reply ("... key=VALUE ..."), as a number; fails if absent. */
static inline unsigned long long reply_field(const char *r, const char *key)
{
	char k[64];
	snprintf(k, sizeof(k), " %s=", key);
	const char *at = strstr(r, k);
	cr_assert(at, "no %s= in '%s'", key, r);
	return strtoull(at + strlen(k), NULL, 0);
}

/* The same as text (up to the next space), into buf. */
static inline const char *reply_word(const char *r, const char *key, char *buf, size_t len)
{
	char k[64];
	snprintf(k, sizeof(k), " %s=", key);
	const char *at = strstr(r, k);
	cr_assert(at, "no %s= in '%s'", key, r);
	at += strlen(k);
	size_t n = strcspn(at, " ");
	cr_assert_lt(n, len);
	memcpy(buf, at, n);
	buf[n] = '\0';
	return buf;
}

/* CLOCK_MONOTONIC in milliseconds. */
static inline long long mono_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/*
 * Skip the test, saying why, when this machine cannot build or run 32-bit programs: the build
 * said so in $M32_WHY, or the 32-bit helper is missing, or the kernel does not run it. ctest
 * counts a test that prints "m32 tests skipped:" as skipped.
 */
static inline void m32_require(void)
{
	static char why[1400];
	const char *w = getenv("M32_WHY");
	struct stat st;
	if (w && *w)
		snprintf(why, sizeof(why), "%s", w);
	else if (!getenv("M32_BIN"))
		snprintf(why, sizeof(why), "M32_BIN is not set (run under ctest)");
	else if (stat(peer_path(32), &st) < 0)
		snprintf(why, sizeof(why), "%s: %s (the 32-bit build failed?)", peer_path(32),
		         strerror(errno));
	if (!why[0]) {
		struct peer p;
		int e = peer_try_start(&p, 32, -1);
		const char *r = e ? NULL : peer_cmd(&p, "abi");
		if (e == -ENOEXEC || (!e && !r))
			snprintf(why, sizeof(why),
			         "this kernel does not run i386 programs (CONFIG_IA32_EMULATION, "
			         "ia32_emulation=)");
		else if (e)
			snprintf(why, sizeof(why), "%s: %s", peer_path(32), strerror(-e));
		else if (strncmp(r, "ok ptr=32 time=64 off=64", 24))
			snprintf(why, sizeof(why), "%s is not a 32-bit time64 program: %s",
			         peer_path(32), r);
		if (!e)
			peer_stop(&p);
	}
	if (why[0]) {
		fprintf(stderr, "m32 tests skipped: %s\n", why);
		cr_skip_test("%s", why);
	}
}

/* Start a helper (after m32_require). */
static inline void peer_start(struct peer *p, int bits, int keep)
{
	int e = peer_try_start(p, bits, keep);
	cr_assert_eq(e, 0, "cannot start the %d-bit helper %s: %s", bits, peer_path(bits),
	             strerror(-e));
}

#endif
