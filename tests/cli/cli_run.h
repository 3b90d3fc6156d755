/* SPDX-License-Identifier: MIT */
/* Running the shmkit program from the CLI tests: capture its output and exit status. */
#ifndef SHMKIT_TESTS_CLI_RUN_H
#define SHMKIT_TESTS_CLI_RUN_H

#include <criterion/criterion.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

#define CLI_UNUSED __attribute__((unused))

#define SHMKIT     SHMKIT_BUILD_DIR "/tools/shmkit/shmkit"
#define TIMEOUT_MS 20000

struct result {
	int rc;
	char *out, *err;
};

static CLI_UNUSED char *slurp_fd(int fd)
{
	off_t n = lseek(fd, 0, SEEK_END);
	char *buf = malloc((size_t)n + 1);
	cr_assert(buf);
	cr_assert_eq(pread(fd, buf, (size_t)n, 0), n);
	buf[n] = '\0';
	close(fd);
	return buf;
}

/* Run argv (argv[0] is a path), capturing stdout and stderr. */
static CLI_UNUSED struct result run_argv(char *const argv[])
{
	int out = memfd_create("out", MFD_CLOEXEC), err = memfd_create("err", MFD_CLOEXEC);
	cr_assert(out >= 0 && err >= 0);
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		dup2(out, 1);
		dup2(err, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	struct result r = {.rc = tu_wait_timeout(pid, TIMEOUT_MS)};
	r.out = slurp_fd(out);
	r.err = slurp_fd(err);
	return r;
}

/* Run shmkit with a printf-built, space-separated argument list (no quoting). */
static struct result shmkit(const char *fmt, ...) __attribute__((format(printf, 1, 2), unused));
static CLI_UNUSED struct result shmkit(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	char *argv[64] = {(char *)SHMKIT};
	int n = 1;
	for (char *save, *t = strtok_r(line, " ", &save); t && n < 63;
	     t = strtok_r(NULL, " ", &save))
		argv[n++] = t;
	argv[n] = NULL;
	return run_argv(argv);
}

static struct result sh(const char *fmt, ...) __attribute__((format(printf, 1, 2), unused));
static CLI_UNUSED struct result sh(const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	char *argv[] = {"/bin/sh", "-c", line, NULL};
	return run_argv(argv);
}

static CLI_UNUSED void result_free(struct result *r)
{
	free(r->out);
	free(r->err);
}

/* `shmkit ls --json ARGS > out`, and out checked against tests/cli/ls.schema.json. */
static CLI_UNUSED void ls_json_checked(const char *args, const char *out)
{
	struct result r = sh("%s ls --json %s > %s", SHMKIT, args, out);
	cr_expect_eq(r.rc, 0, "%s", r.err);
	result_free(&r);
	r = sh("python3 %s/tests/cli/check_schema.py %s/tests/cli/ls.schema.json %s",
	       SHMKIT_SOURCE_DIR, SHMKIT_SOURCE_DIR, out);
	cr_expect_eq(r.rc, 0, "schema: %s", r.err);
	result_free(&r);
}

/* A key no kernel segment uses now. */
static CLI_UNUSED key_t unique_key(void)
{
	for (;;) {
		key_t k = (key_t)(0x5c000000u | (tu_rand(1u << 24)));
		int id = shmget(k, 0, 0);
		if (id < 0 && errno == ENOENT)
			return k;
	}
}

/*
 * What a test created, undone by cli_cleanup() (the suites' .fini), so that a failed
 * assertion half-way through a test leaves no segment, object or process behind.
 */
#define CLI_TRACK_MAX 32
static struct {
	int sysv[CLI_TRACK_MAX], nsysv;
	char posix[CLI_TRACK_MAX][160];
	int nposix;
	pid_t pids[CLI_TRACK_MAX];
	int npids;
} cli_tracked;

static CLI_UNUSED void track_sysv(int id)
{
	if (cli_tracked.nsysv < CLI_TRACK_MAX)
		cli_tracked.sysv[cli_tracked.nsysv++] = id;
}

/* name without the leading '/' */
static CLI_UNUSED void track_posix(const char *name)
{
	if (cli_tracked.nposix < CLI_TRACK_MAX)
		snprintf(cli_tracked.posix[cli_tracked.nposix++], 160, "/%s", name);
}

static CLI_UNUSED void track_pid(pid_t pid)
{
	if (cli_tracked.npids < CLI_TRACK_MAX)
		cli_tracked.pids[cli_tracked.npids++] = pid;
}

/* A reaped child's pid may be reused at once: forget it, never signal it again. */
static CLI_UNUSED void untrack_pid(pid_t pid)
{
	for (int i = 0; i < cli_tracked.npids; i++)
		if (cli_tracked.pids[i] == pid)
			cli_tracked.pids[i] = 0;
}

/* Removing what is already gone fails harmlessly (EINVAL, ENOENT). */
static CLI_UNUSED void cli_cleanup(void)
{
	for (int i = 0; i < cli_tracked.npids; i++) {
		if (cli_tracked.pids[i] <= 0)
			continue;
		kill(cli_tracked.pids[i], SIGKILL);
		waitpid(cli_tracked.pids[i], NULL, 0);
	}
	for (int i = 0; i < cli_tracked.nsysv; i++)
		shmctl(cli_tracked.sysv[i], IPC_RMID, NULL);
	for (int i = 0; i < cli_tracked.nposix; i++)
		shm_unlink(cli_tracked.posix[i]);
	cli_tracked.npids = cli_tracked.nsysv = cli_tracked.nposix = 0;
}

#endif
