/* SPDX-License-Identifier: MIT */
/* shmkit mk: create a segment, like ipcmk. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

static void help(void)
{
	printf(
	    "Usage: shmkit mk [options] SIZE\n"
	    "       shmkit mk --ns NS [--mode MODE] [--group GROUP]\n"
	    "Create a shared-memory segment of SIZE bytes (suffixes K, M, G, T, P, E or KiB,\n"
	    "MiB... for powers of 1024; KB, MB... for powers of 1000).\n"
	    "By default a kernel System V segment with a random key.\n\n"
	    "Options:\n"
	    "  -M, --shmem SIZE     the size, as ipcmk spells it\n"
	    "  -p, --mode MODE      octal permissions (default 0644)\n"
	    "  -K, --key KEY        System V key (0x hex, 0 octal or decimal); fails if it exists\n"
	    "      --private        key IPC_PRIVATE\n"
	    "      --posix NAME     a POSIX object /dev/shm/NAME instead\n"
	    "      --ns NS          a segment of shmkit namespace NS instead; without SIZE,\n"
	    "                       the namespace NS itself, MODE saying who may be a member\n"
	    "                       (0600 you alone, 0660 GROUP, 0666 everyone; default 0600)\n"
	    "  -g, --group GROUP    the group of a new namespace (default: yours)\n"
	    "  -h, --help           this help\n");
}

static int random_key(int32_t *key)
{
	uint32_t v = 0;
	while (v == 0) /* 0 is IPC_PRIVATE */
		if (getrandom(&v, sizeof(v), 0) != sizeof(v))
			return -errno;
	*key = (int32_t)v;
	return 0;
}

/* shmget: the kernel's, or shmkit_shmget in the namespace selected before. */
typedef int (*getter)(key_t key, size_t size, int flags);

static int mk_sysv(getter get, uint64_t size, unsigned mode, bool has_key, int32_t key)
{
	for (int tries = 0; tries < 100; tries++) {
		if (!has_key && random_key(&key) < 0) {
			cli_warn("mk", "no random key: %s", strerror(errno));
			return EXIT_FAIL;
		}
		int flags = (int)mode | IPC_CREAT | (key ? IPC_EXCL : 0);
		int id = get(key, (size_t)size, flags);
		if (id >= 0) {
			printf("Shared memory id: %d\n", id);
			return EXIT_OK;
		}
		if (errno == EEXIST && !has_key)
			continue; /* random key taken: draw another */
		if (errno == EEXIST)
			cli_warn("mk", "key 0x%08x already exists", (uint32_t)key);
		else if (errno == EINVAL)
			cli_warn("mk", "size %llu is outside the limits (see 'shmkit limits')",
			         (unsigned long long)size);
		else if (errno == ENOSPC)
			cli_warn("mk", "no segment left: the system-wide limit is reached");
		else
			cli_warn("mk", "shmget failed: %s", strerror(errno));
		return EXIT_FAIL;
	}
	cli_warn("mk", "no free random key found");
	return EXIT_FAIL;
}

static int mk_posix(const char *name, uint64_t size, unsigned mode)
{
	char path[300];
	snprintf(path, sizeof(path), "/%s", name);
	mode_t old = umask(0); /* the mode asked for, as ipcmk does */
	int fd = shm_open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	umask(old);
	if (fd < 0) {
		cli_warn("mk", "cannot create POSIX object '%s': %s", name, strerror(errno));
		return EXIT_FAIL;
	}
	if (ftruncate(fd, (off_t)size) < 0) {
		cli_warn("mk", "cannot size POSIX object '%s': %s", name, strerror(errno));
		shm_unlink(path);
		close(fd);
		return EXIT_FAIL;
	}
	close(fd);
	printf("POSIX shared memory name: %s\n", name);
	return EXIT_OK;
}

/* shmkit mk --ns NS: a namespace of its own, private unless MODE shares it. */
static int mk_ns(const char *ns, unsigned mode, const char *group)
{
	gid_t gid = (gid_t)-1;
	if (group) {
		struct group *gr = getgrnam(group);
		long long v;
		if (gr)
			gid = gr->gr_gid;
		else if (cli_parse_long(group, 0, UINT32_MAX - 1, &v) == 0)
			gid = (gid_t)v;
		else
			return cli_usage("mk", "unknown group '%s'", group);
	}
	if ((mode & 0600) != 0600 || (mode & 0111))
		return cli_usage("mk",
		                 "a namespace's mode is rw bits with rw for you (0600, 0660, "
		                 "0666): not %04o",
		                 mode);
	int r = shmkit_ns_create_group(ns, mode, gid);
	if (r == -EEXIST) {
		struct shmkit_ns_info in;
		char who[64] = "?";
		if (shmkit_ns_info(ns, &in) == 0)
			cli_user_name(in.owner, who, sizeof(who));
		cli_warn("mk", "namespace %s exists already (its owner is %s)", ns, who);
		return EXIT_FAIL;
	}
	if (r < 0) {
		cli_warn("mk", "cannot create namespace %s: %s", ns, strerror(-r));
		return EXIT_FAIL;
	}
	printf("Namespace: %s\n", ns);
	return EXIT_OK;
}

int cmd_mk(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"shmem", required_argument, NULL, 'M'},
	    {"mode", required_argument, NULL, 'p'},
	    {"key", required_argument, NULL, 'K'},
	    {"private", no_argument, NULL, 'P'},
	    {"posix", required_argument, NULL, 'x'},
	    {"ns", required_argument, NULL, 'S'},
	    {"group", required_argument, NULL, 'g'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *size_arg = NULL, *posix = NULL, *ns = NULL, *group = NULL;
	unsigned mode = 0644;
	bool has_mode = false;
	int32_t key = 0;
	bool has_key = false;
	int c;
	while ((c = getopt_long(argc, argv, "M:p:K:g:h", opts, NULL)) != -1) {
		switch (c) {
		case 'M':
			size_arg = optarg;
			break;
		case 'p':
			if (cli_parse_mode(optarg, &mode) < 0)
				return cli_usage("mk", "invalid mode '%s' (octal, e.g. 0600)",
				                 optarg);
			has_mode = true;
			break;
		case 'g':
			group = optarg;
			break;
		case 'K':
			if (cli_parse_key(optarg, &key) < 0)
				return cli_usage("mk", "invalid key '%s'", optarg);
			has_key = true;
			break;
		case 'P':
			key = 0;
			has_key = true;
			break;
		case 'x':
			posix = optarg[0] == '/' ? optarg + 1 : optarg;
			if (!*posix || strchr(posix, '/') || strlen(posix) > SHMKIT_OBJ_NAME_MAX)
				return cli_usage("mk", "invalid POSIX name '%s'", optarg);
			break;
		case 'S':
			if (!cli_ns_valid(optarg))
				return cli_usage("mk", "invalid namespace name '%s'", optarg);
			ns = optarg;
			break;
		case 'h':
			help();
			return EXIT_OK;
		default:
			return cli_usage("mk", "invalid option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc && !size_arg)
		size_arg = argv[optind++];
	if (optind < argc)
		return cli_usage("mk", "unexpected argument '%s'", argv[optind]);
	if (!size_arg && ns && !posix && !has_key)
		return mk_ns(ns, has_mode ? mode : 0600, group);
	if (group)
		return cli_usage("mk", "--group goes with --ns NS and no SIZE");
	if (!size_arg)
		return cli_usage("mk", "missing SIZE");
	uint64_t size;
	if (cli_parse_size(size_arg, &size) < 0 || size == 0 || size > SIZE_MAX)
		return cli_usage("mk", "invalid size '%s'", size_arg);
	if (posix && ns)
		return cli_usage("mk", "--posix and --ns exclude each other");
	if (posix && has_key)
		return cli_usage("mk", "a POSIX object has no key");
	if (posix)
		return mk_posix(posix, size, mode);
	if (ns) {
		int r = shmkit_ns_use(ns);
		if (r < 0) {
			cli_warn("mk", "cannot use namespace '%s': %s", ns, strerror(-r));
			return EXIT_FAIL;
		}
		return mk_sysv(shmkit_shmget, size, mode, has_key, key);
	}
	return mk_sysv(shmget, size, mode, has_key, key);
}
