/* SPDX-License-Identifier: MIT */
/*
 * shmkit run: execute a command with libshmkit-sysv.so preloaded, so that its System V
 * shared-memory calls (and those of every program it starts) use shmkit's model in a
 * namespace instead of the kernel. The command replaces this process (exec): its pid, exit
 * status and signals are the command's own.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cli.h"

#define PRELOAD_NAME "libshmkit-sysv.so"
#define PRELOAD_ENV  "SHMKIT_PRELOAD"
#define AUDIT_NAME   "libshmkit-audit.so" /* beside the interposer */

static void usage(void)
{
	printf("Usage: shmkit run [options] [--] COMMAND [ARGS...]\n"
	       "\n"
	       "Run COMMAND with " PRELOAD_NAME " preloaded: its shmget/shmat/shmdt/shmctl\n"
	       "calls, and those of the programs it starts, use a shmkit namespace instead of the\n"
	       "kernel. ipcs and lsipc started under it show the namespace's segments.\n"
	       "\n"
	       "Options:\n"
	       "  -n, --namespace NS   use namespace NS (default: $" SHMKIT_NS_ENV
	       " or \"" SHMKIT_NS_DEFAULT "\")\n"
	       "      --ns NS          same as --namespace\n"
	       "  -h, --help           show this help\n"
	       "\n"
	       "Environment:\n"
	       "  " PRELOAD_ENV "       path of the interposer to use, or paths (colon-separated)\n"
	       "                       of one interposer per ELF class, e.g. 64- and 32-bit\n"
	       "\n"
	       "With interposers of both classes (a 32-bit build beside the 64-bit one), each\n"
	       "program loads the one of its own class, also across exec.\n"
	       "\n"
	       "Statically linked programs, set-user-ID/set-group-ID programs and programs that\n"
	       "make the system calls themselves (syscall(2)) bypass the interposer and use the\n"
	       "kernel; shmkit run warns about the first two.\n");
}

/* ---- finding the interposers ---- */

/* Class and machine of an ELF file ("64-bit x86-64"): the same offsets in both classes. */
struct elf_arch {
	unsigned char cls;
	uint16_t machine;
};
static int elf_arch(int fd, struct elf_arch *a)
{
	unsigned char h[20];
	if (pread(fd, h, sizeof(h), 0) != (ssize_t)sizeof(h) || memcmp(h, ELFMAG, SELFMAG))
		return -1;
	a->cls = h[EI_CLASS];
	memcpy(&a->machine, h + 18, sizeof(a->machine)); /* e_machine, host byte order */
	return 0;
}

static int path_arch(const char *path, struct elf_arch *a)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int r = elf_arch(fd, a);
	close(fd);
	return r;
}

/* The interposers found: at most one per ELF class and machine, in the order found. */
#define MAX_PRELOADS 4
struct preloads {
	int n;
	struct preload {
		char path[PATH_MAX];
		struct elf_arch arch;
	} p[MAX_PRELOADS];
};

/* Add path (resolved) unless an interposer of its class and machine is there already. */
static void add_preload(struct preloads *l, const char *path)
{
	struct preload c;
	if (l->n == MAX_PRELOADS || !realpath(path, c.path) || path_arch(c.path, &c.arch) < 0)
		return;
	for (int i = 0; i < l->n; i++)
		if (l->p[i].arch.cls == c.arch.cls && l->p[i].arch.machine == c.arch.machine)
			return;
	l->p[l->n++] = c;
}

/* Each of the colon-separated paths of $SHMKIT_PRELOAD must be there. 0 or -1. */
static int preloads_from_env(struct preloads *l, const char *env)
{
	char buf[PATH_MAX * 2];
	snprintf(buf, sizeof(buf), "%s", env);
	for (char *save = NULL, *p = strtok_r(buf, ":", &save); p; p = strtok_r(NULL, ":", &save)) {
		char real[PATH_MAX];
		if (!realpath(p, real)) {
			cli_warn("run", "%s: %s: %s", PRELOAD_ENV, p, strerror(errno));
			return -1;
		}
		add_preload(l, real);
	}
	return l->n ? 0 : -1;
}

/*
 * The interposers: $SHMKIT_PRELOAD, else the build tree's <build>/preload and, from the -m32
 * sub-build, <build>/m32/preload (this binary is <build>/tools/shmkit/shmkit), else the install
 * layout's <prefix>/<libdir> next to <prefix>/bin, with the 32-bit ones of the usual biarch and
 * multiarch directories. 0, or -1 when none can be found.
 */
static int find_preloads(struct preloads *l)
{
	const char *env = getenv(PRELOAD_ENV);
	memset(l, 0, sizeof(*l));
	if (env && *env)
		return preloads_from_env(l, env);
	char dir[PATH_MAX];
	if (cli_self_dir(dir, sizeof(dir)) < 0)
		return -1;
	char cand[PATH_MAX + 64];
	static const char *const builds[] = {"preload", "m32/preload"};
	for (size_t i = 0; i < sizeof(builds) / sizeof(builds[0]); i++) {
		snprintf(cand, sizeof(cand), "%s/../../%s/%s", dir, builds[i], PRELOAD_NAME);
		if (cli_readable_file(cand))
			add_preload(l, cand);
	}
	if (l->n)
		return 0;
	/* Installed: <prefix>/bin/shmkit and <prefix>/<libdir>/ (libdir may be absolute). */
	static const char *const libdirs[] = {
#ifdef SHMKIT_INSTALL_LIBDIR
	    SHMKIT_INSTALL_LIBDIR,
#endif
	    "lib",
	    "lib64",
	    "lib32",
	    "lib/i386-linux-gnu",
	};
	for (size_t i = 0; i < sizeof(libdirs) / sizeof(libdirs[0]); i++) {
		if (libdirs[i][0] == '/')
			snprintf(cand, sizeof(cand), "%s/%s", libdirs[i], PRELOAD_NAME);
		else
			snprintf(cand, sizeof(cand), "%s/../%s/%s", dir, libdirs[i], PRELOAD_NAME);
		if (cli_readable_file(cand))
			add_preload(l, cand);
	}
	return l->n ? 0 : -1;
}

/* ---- predicting a bypass ---- */

/* COMMAND as execvp would find it; 0 or -1. */
static int resolve_command(const char *cmd, char *out, size_t len)
{
	if (strchr(cmd, '/')) {
		snprintf(out, len, "%s", cmd);
		return 0;
	}
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/bin:/usr/bin";
	while (*path) {
		size_t n = strcspn(path, ":");
		struct stat st;
		if (n == 0)
			snprintf(out, len, "./%s", cmd);
		else
			snprintf(out, len, "%.*s/%s", (int)n, path, cmd);
		if (stat(out, &st) == 0 && S_ISREG(st.st_mode) && access(out, X_OK) == 0)
			return 0;
		path += n + (path[n] == ':');
	}
	return -1;
}

enum elf_kind { ELF_NOT, ELF_DYNAMIC, ELF_STATIC };

/* Dynamic executables name an interpreter (PT_INTERP); static and static-pie ones do not. */
static enum elf_kind elf_kind(int fd)
{
	unsigned char id[EI_NIDENT];
	if (pread(fd, id, sizeof(id), 0) != (ssize_t)sizeof(id) || memcmp(id, ELFMAG, SELFMAG))
		return ELF_NOT;
	uint64_t phoff;
	unsigned phnum, phentsize;
	if (id[EI_CLASS] == ELFCLASS64) {
		Elf64_Ehdr eh;
		if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh))
			return ELF_NOT;
		phoff = eh.e_phoff, phnum = eh.e_phnum, phentsize = eh.e_phentsize;
	} else if (id[EI_CLASS] == ELFCLASS32) {
		Elf32_Ehdr eh;
		if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh))
			return ELF_NOT;
		phoff = eh.e_phoff, phnum = eh.e_phnum, phentsize = eh.e_phentsize;
	} else {
		return ELF_NOT;
	}
	/* Only the type field is read, at offset 0 in both classes. */
	if (phentsize < sizeof(uint32_t) || phnum > 4096)
		return ELF_NOT;
	for (unsigned i = 0; i < phnum; i++) {
		uint32_t type;
		if (pread(fd, &type, sizeof(type), (off_t)(phoff + (uint64_t)i * phentsize)) !=
		    (ssize_t)sizeof(type))
			return ELF_NOT;
		if (type == PT_INTERP)
			return ELF_DYNAMIC;
	}
	return ELF_STATIC;
}

/*
 * Warn when the dynamic loader will load none of the interposers l for path: a static
 * executable, secure mode (set-user-ID/set-group-ID that changes our ids, file capabilities), or
 * another class or machine than all of them. Follows "#!" to the interpreter, which is what
 * actually runs.
 */
static void warn_bypass(const char *path, const struct preloads *l, int depth)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		if (fd >= 0)
			close(fd);
		return;
	}
	if ((st.st_mode & S_ISUID) && st.st_uid != geteuid())
		cli_warn("run",
		         "warning: %s is set-user-ID: the loader ignores LD_PRELOAD, it will use "
		         "the kernel's System V shared memory",
		         path);
	else if ((st.st_mode & S_ISGID) && (st.st_mode & S_IXGRP) && st.st_gid != getegid())
		cli_warn("run",
		         "warning: %s is set-group-ID: the loader ignores LD_PRELOAD, it will use "
		         "the kernel's System V shared memory",
		         path);
	else if (fgetxattr(fd, "security.capability", NULL, 0) > 0)
		cli_warn("run",
		         "warning: %s has file capabilities: the loader ignores LD_PRELOAD, it "
		         "will use the kernel's System V shared memory",
		         path);

	char head[PATH_MAX + 2];
	ssize_t n = pread(fd, head, sizeof(head) - 1, 0);
	if (n >= 2 && head[0] == '#' && head[1] == '!') {
		head[n] = '\0';
		char *interp = head + 2 + strspn(head + 2, " \t");
		interp[strcspn(interp, " \t\n")] = '\0';
		close(fd);
		if (*interp == '/' && depth < 4)
			warn_bypass(interp, l, depth + 1);
		return;
	}
	enum elf_kind kind = elf_kind(fd);
	if (kind == ELF_STATIC)
		cli_warn("run",
		         "warning: %s is statically linked: LD_PRELOAD cannot apply, it will use "
		         "the kernel's System V shared memory",
		         path);
	/* The loader skips a preload of another class or machine ("wrong ELF class"). */
	struct elf_arch have;
	int match = 0;
	if (kind == ELF_DYNAMIC && elf_arch(fd, &have) == 0) {
		for (int i = 0; i < l->n; i++)
			match |=
			    l->p[i].arch.cls == have.cls && l->p[i].arch.machine == have.machine;
		if (!match)
			cli_warn(
			    "run",
			    "warning: %s is built for another architecture (%d-bit, machine %u) "
			    "than %s (%d-bit, machine %u)%s: the loader will not load it there, "
			    "the program will use the kernel's System V shared memory",
			    path, have.cls == ELFCLASS64 ? 64 : 32, have.machine, l->p[0].path,
			    l->p[0].arch.cls == ELFCLASS64 ? 64 : 32, l->p[0].arch.machine,
			    l->n > 1 ? " and the others" : "");
	}
	close(fd);
}

/* ---- the command ---- */

/* var (LD_PRELOAD, LD_AUDIT) with lib first, keeping what was there. */
static int prepend(const char *var, const char *lib)
{
	const char *old = getenv(var);
	if (!old || !*old)
		return setenv(var, lib, 1);
	size_t len = strlen(lib) + 1 + strlen(old) + 1;
	char *v = malloc(len);
	if (!v)
		return -1;
	snprintf(v, len, "%s:%s", lib, old);
	int r = setenv(var, v, 1);
	free(v);
	return r;
}

/* The auditor that routes RTLD_DEEPBIND libraries (audit.c), beside the interposer. */
static int find_audit(const char *lib, char out[PATH_MAX])
{
	char cand[PATH_MAX + 32];
	snprintf(cand, sizeof(cand), "%s", lib);
	char *slash = strrchr(cand, '/');
	if (!slash)
		return -1;
	snprintf(slash + 1, sizeof(cand) - (size_t)(slash + 1 - cand), "%s", AUDIT_NAME);
	return cli_readable_file(cand) && realpath(cand, out) ? 0 : -1;
}

/* One interposer: LD_PRELOAD and LD_AUDIT name it and its auditor. 0 or -1 (errno). */
static int set_preload_env(const char *lib)
{
	char audit[PATH_MAX];
	if (find_audit(lib, audit) == 0 && prepend("LD_AUDIT", audit) < 0)
		return -1;
	return prepend("LD_PRELOAD", lib);
}

/*
 * Interposers of several classes: LD_PRELOAD and LD_AUDIT name them without a directory and
 * LD_LIBRARY_PATH holds their directories, so that the loader of each process searches them
 * and takes the one of its own class, silently passing over the others, whatever the process
 * execs later (the loader says "wrong ELF class" only for a path it was given). 0, -1 (errno),
 * or -EINVAL when they cannot be named alike (said here).
 */
static int set_preloads_env(const struct preloads *l)
{
	char dirs[MAX_PRELOADS * (PATH_MAX + 1)] = "", audit[PATH_MAX];
	size_t n = 0;
	int audits = 0;
	for (int i = 0; i < l->n; i++) {
		const char *base = strrchr(l->p[i].path, '/');
		if (strcmp(base + 1, PRELOAD_NAME)) {
			cli_warn("run",
			         "%s: interposers of several classes must all be named %s: %s",
			         PRELOAD_ENV, PRELOAD_NAME, l->p[i].path);
			return -EINVAL;
		}
		audits += find_audit(l->p[i].path, audit) == 0;
		n += (size_t)snprintf(dirs + n, sizeof(dirs) - n, "%s%.*s", i ? ":" : "",
		                      (int)(base - l->p[i].path), l->p[i].path);
	}
	/* The auditor only if each class has one: else the loader would say it is missing. */
	if (audits == l->n && prepend("LD_AUDIT", AUDIT_NAME) < 0)
		return -1;
	return prepend("LD_LIBRARY_PATH", dirs) < 0 ? -1 : prepend("LD_PRELOAD", PRELOAD_NAME);
}

/*
 * The namespace the command will use must be usable: a squatted or unsafe one would fail
 * every call of the command, so say who squats it instead. A namespace shared with us by
 * another user is noted.
 */
static int check_namespace(const char *ns)
{
	struct shmkit_ns_info in;
	char who[64];
	if (shmkit_ns_info(ns, &in) < 0)
		return 0;
	cli_user_name(in.owner, who, sizeof(who));
	if (in.flags & SHMKIT_NS_SQUATTED) {
		cli_warn("run",
		         "namespace %s cannot be used: %s belongs to %s (uid %u), not to you; "
		         "someone took its name first. Remove it (as root: rm -r %s) and run again",
		         in.name, in.path, who, in.owner, in.path);
		return -1;
	}
	if (in.flags & SHMKIT_NS_UNSAFE) {
		cli_warn("run",
		         "namespace %s cannot be used: %s has mode %04o, which lets others replace "
		         "its objects",
		         in.name, in.path, in.mode);
		return -1;
	}
	if (in.error && in.error != -ENOENT) {
		cli_warn("run", "namespace %s cannot be used: %s", in.name, strerror(-in.error));
		return -1;
	}
	if (in.flags & SHMKIT_NS_SHARED)
		cli_warn("run", "note: namespace %s belongs to %s (uid %u) and is shared with you",
		         in.name, who, in.owner);
	return 0;
}

int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"namespace", required_argument, NULL, 'n'},
	    {"ns", required_argument, NULL, 'n'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	const char *ns = NULL;
	int c;
	/* '+': options end at COMMAND, whose own options are its business. */
	while ((c = getopt_long(argc, argv, "+n:h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			ns = optarg;
			break;
		case 'h':
			usage();
			return EXIT_OK;
		default:
			return cli_usage("run", "invalid option");
		}
	}
	if (optind >= argc)
		return cli_usage("run", "no command given");
	if (ns && !cli_ns_valid(ns))
		return cli_usage("run", "invalid namespace name '%s' (1..%d of [A-Za-z0-9_-])", ns,
		                 SHMKIT_NS_NAME_MAX);
	/* An inherited bad name would make every shmget of the command fail: say so now. */
	const char *env_ns = getenv(SHMKIT_NS_ENV);
	if (!ns && env_ns && !cli_ns_valid(env_ns))
		return cli_usage("run", "invalid namespace name in $%s: '%s'", SHMKIT_NS_ENV,
		                 env_ns);
	char **cmd = argv + optind;

	struct preloads l;
	if (find_preloads(&l) < 0) {
		cli_warn("run", "cannot find %s (set %s to its path)", PRELOAD_NAME, PRELOAD_ENV);
		return EXIT_FAIL;
	}
	char path[PATH_MAX];
	if (resolve_command(cmd[0], path, sizeof(path)) == 0)
		warn_bypass(path, &l, 0);

	if (check_namespace(ns ? ns : env_ns && *env_ns ? env_ns : SHMKIT_NS_DEFAULT) < 0)
		return EXIT_FAIL;
	int r = l.n == 1 ? set_preload_env(l.p[0].path) : set_preloads_env(&l);
	if (r == -EINVAL)
		return EXIT_FAIL;
	if (r < 0 || (ns && setenv(SHMKIT_NS_ENV, ns, 1) < 0)) {
		cli_warn("run", "cannot set the environment: %s", strerror(errno));
		return EXIT_FAIL;
	}
	execvp(cmd[0], cmd);
	int err = errno;
	cli_warn("run", "%s: %s", cmd[0], strerror(err));
	/* The shell's convention: 127 command not found, 126 found but not executable. */
	return err == ENOENT ? 127 : 126;
}
