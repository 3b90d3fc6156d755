/* SPDX-License-Identifier: MIT */
/*
 * The cleaner: a process forked before anything is created, which outlives the harness.
 * The coordinator tells it, through a pipe, each object and process it creates ("+kind
 * what") and each one it removed ("-kind what"). When the pipe reads end of file — the
 * harness exited, crashed, got Ctrl-C or SIGKILL — the cleaner stops what is still running
 * and removes what is still recorded, newest first, then exits. It ignores the terminal's
 * signals, which reach the whole process group, so that a Ctrl-C leaves it alive to clean.
 * Records are single lines shorter than PIPE_BUF, so each write is atomic.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <mqueue.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "shmkit.h"

static int cleaner_fd = -1;

struct record {
	char kind[16];
	char what[400];
	int pidfd; /* for "pid": taken when recorded, so a reused pid is never signalled */
	struct record *next;
};

static int send_line(char sign, const char *kind, const char *what)
{
	if (cleaner_fd < 0)
		return 0;
	char line[512];
	int n = snprintf(line, sizeof(line), "%c%s %s\n", sign, kind, what);
	if (n < 0 || (size_t)n >= sizeof(line))
		return -ENAMETOOLONG;
	return bt_write_all(cleaner_fd, line, (size_t)n);
}

static int track(const char *kind, const char *what)
{
	return send_line('+', kind, what);
}

static int untrack(const char *kind, const char *what)
{
	return send_line('-', kind, what);
}

static int track_none(const char *kind, const char *what)
{
	return 0;
}

const struct bt_host bt_host_tracked = {track, untrack};
const struct bt_host bt_host_none = {track_none, track_none};

/* ---- the cleaner process ---- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	remove(path); /* best effort: go on with the rest */
	return 0;
}

int bt_remove_tree(const char *path)
{
	nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return access(path, F_OK) == 0 ? -ENOTEMPTY : 0;
}

static void stop_process(struct record *r)
{
	if (r->pidfd < 0)
		return;
	struct pollfd pfd = {.fd = r->pidfd, .events = POLLIN};
	syscall(SYS_pidfd_send_signal, r->pidfd, SIGTERM, NULL, 0);
	if (poll(&pfd, 1, 2000) <= 0) {
		syscall(SYS_pidfd_send_signal, r->pidfd, SIGKILL, NULL, 0);
		poll(&pfd, 1, 2000);
	}
	close(r->pidfd);
	r->pidfd = -1;
}

static void remove_object(const struct record *r)
{
	const char *k = r->kind, *w = r->what;
	int id = atoi(w);
	if (!strcmp(k, "path"))
		unlink(w);
	else if (!strcmp(k, "dir"))
		bt_remove_tree(w);
	else if (!strcmp(k, "shm"))
		shm_unlink(w);
	else if (!strcmp(k, "mq"))
		mq_unlink(w);
	else if (!strcmp(k, "sysv-shm"))
		shmctl(id, IPC_RMID, NULL);
	else if (!strcmp(k, "sysv-sem"))
		semctl(id, 0, IPC_RMID);
	else if (!strcmp(k, "sysv-msg"))
		msgctl(id, IPC_RMID, NULL);
	else if (!strcmp(k, "shmkit-ns"))
		shmkit_ns_destroy(w);
	else if (!strcmp(k, "shmkit-chan"))
		shmkit_chan_unlink(w);
}

static struct record *handle_line(struct record *head, char *line)
{
	char sign = line[0];
	char *kind = line + 1, *what = strchr(kind, ' ');
	if ((sign != '+' && sign != '-') || !what)
		return head;
	*what++ = '\0';
	if (sign == '-') {
		for (struct record **p = &head; *p; p = &(*p)->next)
			if (!strcmp((*p)->kind, kind) && !strcmp((*p)->what, what)) {
				struct record *gone = *p;
				*p = gone->next;
				if (gone->pidfd >= 0)
					close(gone->pidfd);
				free(gone);
				break;
			}
		return head;
	}
	struct record *r = calloc(1, sizeof(*r));
	if (!r)
		return head;
	snprintf(r->kind, sizeof(r->kind), "%s", kind);
	snprintf(r->what, sizeof(r->what), "%s", what);
	r->pidfd = strcmp(kind, "pid") ? -1 : (int)syscall(SYS_pidfd_open, atoi(what), 0);
	r->next = head; /* newest first: removed in reverse order of creation */
	return r;
}

static void clean_all(struct record *head)
{
	for (struct record *r = head; r; r = r->next)
		if (!strcmp(r->kind, "pid"))
			stop_process(r);
	for (struct record *r = head; r; r = r->next)
		remove_object(r);
}

static void cleaner_main(int fd)
{
	static const int ignored[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGTSTP};
	for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		signal(ignored[i], SIG_IGN);
	prctl(PR_SET_NAME, "shmkit-bench-cl");
	struct record *head = NULL;
	char buf[8192];
	size_t have = 0;
	for (;;) {
		ssize_t n = read(fd, buf + have, sizeof(buf) - 1 - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		have += (size_t)n;
		buf[have] = '\0';
		char *start = buf, *nl;
		while ((nl = strchr(start, '\n'))) {
			*nl = '\0';
			head = handle_line(head, start);
			start = nl + 1;
		}
		have = (size_t)(buf + have - start);
		memmove(buf, start, have);
		if (have == sizeof(buf) - 1)
			have = 0; /* a line longer than any record: drop it */
	}
	clean_all(head);
	_exit(0);
}

int bt_cleaner_start(void)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		close(p[1]);
		/* Hold no one's pipe open: a reader of the harness's output sees its end when the
		 * harness ends, not when the cleaner does. */
		int null = open("/dev/null", O_RDWR);
		for (int fd = 0; fd < 3 && null >= 0; fd++)
			dup2(null, fd);
		cleaner_main(p[0]);
	}
	close(p[0]);
	cleaner_fd = p[1];
	return 0;
}
