/* SPDX-License-Identifier: MIT */
/* shmkit(1): messages, argument parsing and formatting shared by the subcommands. */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <locale.h>
#include <pwd.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static void vwarn(const char *cmd, const char *fmt, va_list ap)
{
	fprintf(stderr, "shmkit %s: ", cmd);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void cli_warn(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vwarn(cmd, fmt, ap);
	va_end(ap);
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vwarn(cmd, fmt, ap);
	va_end(ap);
	fprintf(stderr, "Try 'shmkit %s --help' for more information.\n", cmd);
	return EXIT_USAGE;
}

void cli_getopt_reset(void)
{
	optind = 0; /* glibc: 0 also re-initialises its internal state */
	opterr = 0; /* the subcommands print their own messages */
}

int cli_parse_long(const char *s, long long min, long long max, long long *out)
{
	if (!s || !*s)
		return -EINVAL;
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 0);
	if (errno == ERANGE)
		return -ERANGE;
	if (*end || end == s)
		return -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int cli_parse_key(const char *s, int32_t *out)
{
	long long v;
	int r = cli_parse_long(s, INT32_MIN, UINT32_MAX, &v);
	if (r < 0)
		return r;
	*out = (int32_t)(uint32_t)(v & 0xffffffffLL);
	return 0;
}

int cli_parse_size(const char *s, uint64_t *out)
{
	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	static const char letters[] = "KMGTPE";
	uint64_t mult = 1;
	if (*end) {
		const char *l = strchr(letters, *end >= 'a' ? *end - 32 : *end);
		if (!l || !*end)
			return -EINVAL;
		unsigned base = 1024;
		if (!strcmp(end + 1, "B"))
			base = 1000;
		else if (end[1] && strcmp(end + 1, "iB"))
			return -EINVAL;
		for (int i = 0; i <= l - letters; i++)
			mult *= base;
	}
	if (v && mult > UINT64_MAX / v)
		return -ERANGE;
	*out = v * mult;
	return 0;
}

int cli_parse_mode(const char *s, unsigned *out)
{
	if (!s || !*s || strspn(s, "01234567") != strlen(s))
		return -EINVAL;
	unsigned long v = strtoul(s, NULL, 8);
	if (v > 0777)
		return -ERANGE;
	*out = (unsigned)v;
	return 0;
}

static const struct {
	const char *name;
	uint32_t kind;
} kinds[] = {
    {"sysv", SHMKIT_KIND_SYSV}, {"posix", SHMKIT_KIND_POSIX}, {"shmkit", SHMKIT_KIND_SHMKIT},
    {"heap", SHMKIT_KIND_HEAP}, {"chan", SHMKIT_KIND_CHAN},
};

const char *cli_kind_name(uint32_t kind)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (kinds[i].kind == kind)
			return kinds[i].name;
	return "?";
}

int cli_parse_kinds(const char *s, uint32_t *out)
{
	uint32_t mask = 0;
	const char *p = s;
	while (p && *p) {
		size_t n = strcspn(p, ",");
		size_t i;
		for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
			if (strlen(kinds[i].name) == n && !strncmp(p, kinds[i].name, n))
				break;
		if (i == sizeof(kinds) / sizeof(kinds[0]))
			return -EINVAL;
		mask |= kinds[i].kind;
		p += n;
		if (*p == ',')
			p++;
	}
	if (!mask)
		return -EINVAL;
	*out = mask;
	return 0;
}

int cli_parse_user(const char *s, uid_t *out)
{
	long long v;
	if (cli_parse_long(s, 0, UINT32_MAX - 1, &v) == 0) {
		*out = (uid_t)v;
		return 0;
	}
	struct passwd *pw = getpwnam(s);
	if (!pw)
		return -EINVAL;
	*out = pw->pw_uid;
	return 0;
}

bool cli_ns_valid(const char *s)
{
	char canon[SHMKIT_NS_NAME_MAX + 1];
	return shmkit_ns_canonical(s, canon, sizeof(canon)) == 0;
}

/* Same rounding as util-linux's lib/strutils.c, so that ipcs --human matches. */
void cli_human_size(uint64_t bytes, char *buf, size_t len)
{
	static const char letters[] = "BKMGTPE";
	int exp = 0;
	for (exp = 10; exp <= 60; exp += 10)
		if (bytes < (1ULL << exp))
			break;
	exp -= 10;
	char c = letters[exp ? exp / 10 : 0];
	uint64_t dec = exp ? bytes / (1ULL << exp) : bytes;
	uint64_t frac = exp ? bytes % (1ULL << exp) : 0;
	if (frac) {
		if (frac >= UINT64_MAX / 1000)
			frac = ((frac / 1024) * 1000) / (1ULL << (exp - 10));
		else
			frac = (frac * 1000) / (1ULL << exp);
		frac = ((frac + 50) / 100) * 10; /* one digit after the point, rounded */
		if (frac == 100) {
			dec++;
			frac = 0;
		}
	}
	if (frac) {
		const char *dp = localeconv()->decimal_point;
		if (!dp || !*dp)
			dp = ".";
		char tmp[32];
		int n = snprintf(tmp, sizeof(tmp), "%" PRIu64 "%s%02" PRIu64, dec, dp, frac);
		if (n > 0 && tmp[n - 1] == '0')
			tmp[n - 1] = '\0';
		snprintf(buf, len, "%s%c", tmp, c);
	} else {
		snprintf(buf, len, "%" PRIu64 "%c", dec, c);
	}
}

void cli_user_name(uid_t uid, char *buf, size_t len)
{
	struct passwd *pw = getpwuid(uid);
	if (pw)
		snprintf(buf, len, "%s", pw->pw_name);
	else
		snprintf(buf, len, "%u", (unsigned)uid);
}

void cli_group_name(gid_t gid, char *buf, size_t len)
{
	struct group *gr = getgrgid(gid);
	if (gr)
		snprintf(buf, len, "%s", gr->gr_name);
	else
		snprintf(buf, len, "%u", (unsigned)gid);
}

void cli_perms_string(unsigned mode, char *buf)
{
	static const char rwx[] = "rwxrwxrwx";
	for (int i = 0; i < 9; i++)
		buf[i] = mode & (0400u >> i) ? rwx[i] : '-';
	buf[9] = '\0';
}

void cli_status_string(const struct shmkit_obj *o, const char *sep, char *buf, size_t len)
{
	static const struct {
		uint32_t flag;
		const char *word;
	} words[] = {
	    {SHMKIT_OBJ_DEST, "dest"},         {SHMKIT_OBJ_LOCKED, "locked"},
	    {SHMKIT_OBJ_ORPHANED, "orphaned"}, {SHMKIT_OBJ_DAMAGED, "damaged"},
	    {SHMKIT_OBJ_NOACCESS, "noaccess"}, {SHMKIT_OBJ_INCOMPLETE, "incomplete"},
	};
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (!(o->flags & words[i].flag))
			continue;
		int n = snprintf(buf + used, len - used, "%s%s", used ? sep : "", words[i].word);
		if (n < 0 || (size_t)n >= len - used)
			return;
		used += (size_t)n;
	}
}

void cli_time_string(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!t || !localtime_r(&tt, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(buf, len, "-");
}

void cli_json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			fprintf(f, "\\u%04x",
			        *p); /* bytes, not decoded: keeps the output valid JSON */
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

int cli_self_dir(char *buf, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", buf, len - 1);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	char *slash = strrchr(buf, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	return 0;
}

bool cli_readable_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, R_OK) == 0;
}

/*
 * A read of a shared mapping faults (SIGBUS) when the object's owner truncates it under the
 * reader. The library maps a channel's ring to read it; here such a fault ends the read with
 * -EFAULT instead of the command. What the interrupted call had open stays open: this process
 * is short-lived, and the fault takes a hostile owner.
 */
static sigjmp_buf *guard_env;

static void on_sigbus(int sig)
{
	if (guard_env)
		siglongjmp(*guard_env, 1);
	signal(sig, SIG_DFL);
	raise(sig);
}

int cli_guarded(int (*fn)(void *arg), void *arg)
{
	sigjmp_buf env, *outer = guard_env;
	struct sigaction sa = {.sa_handler = on_sigbus}, old;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, &old);
	int r;
	if (sigsetjmp(env, 1) == 0) {
		guard_env = &env;
		r = fn(arg);
	} else {
		r = -EFAULT;
	}
	guard_env = outer;
	sigaction(SIGBUS, &old, NULL);
	return r;
}
