/* SPDX-License-Identifier: MIT */
/*
 * shmkit bench: run the IPC comparison harness, shmkit-bench, which lives beside the
 * libraries (libexec) with its peer plugins. This only finds it and execs it, so that its
 * exit status, output and signals are the harness's own.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define HARNESS     "shmkit-bench"
#define HARNESS_ENV "SHMKIT_BENCH_HARNESS"

#ifndef SHMKIT_INSTALL_LIBEXECDIR
#define SHMKIT_INSTALL_LIBEXECDIR "libexec"
#endif

/*
 * $SHMKIT_BENCH_HARNESS, else the build tree's <build>/bench/ipc (this binary is
 * <build>/tools/shmkit/shmkit), else the install layout's <prefix>/<libexecdir>/shmkit.
 */
static int find_harness(char *out, size_t len)
{
	const char *env = getenv(HARNESS_ENV);
	if (env && *env) {
		snprintf(out, len, "%s", env);
		return access(out, X_OK) == 0 ? 0 : -1;
	}
	char dir[PATH_MAX];
	if (cli_self_dir(dir, sizeof(dir)) < 0)
		return -1;
	const char *lx = SHMKIT_INSTALL_LIBEXECDIR;
	snprintf(out, len, "%s/../../bench/ipc/%s", dir, HARNESS);
	if (cli_readable_file(out) && access(out, X_OK) == 0)
		return 0;
	if (lx[0] == '/')
		snprintf(out, len, "%s/shmkit/%s", lx, HARNESS);
	else
		snprintf(out, len, "%s/../%s/shmkit/%s", dir, lx, HARNESS);
	return cli_readable_file(out) && access(out, X_OK) == 0 ? 0 : -1;
}

int cmd_bench(int argc, char **argv)
{
	char path[PATH_MAX + 64];
	if (find_harness(path, sizeof(path)) < 0) {
		cli_warn("bench", "cannot find %s (built with the benchmarks; set %s to its path)",
		         HARNESS, HARNESS_ENV);
		return EXIT_FAIL;
	}
	argv[0] = path;
	execv(path, argv);
	cli_warn("bench", "%s: %s", path, strerror(errno));
	return EXIT_FAIL;
}
