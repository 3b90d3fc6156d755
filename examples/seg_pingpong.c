/* SPDX-License-Identifier: MIT */
/*
 * seg_pingpong — two processes share a POSIX shm segment and take turns writing to it.
 *
 *   seg_pingpong [NAME [ROUNDS]]
 *
 * The parent creates /dev/shm/NAME with the seg layer, starts a fresh copy of this program
 * (fork + exec, so the child shares nothing but the name) and plays ROUNDS of ping-pong
 * through a small struct in the segment. Then it removes the object.
 *
 * The turn word is the only synchronisation: the writer fills the text, then publishes the
 * turn with a release store; the reader acquire-loads the turn before reading the text.
 * Waiting is a short sleep loop with a deadline, to keep the example small (shmkit's sync
 * layer has blocking primitives for real programs).
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <shmkit.h>

enum { TURN_PARENT = 0, TURN_CHILD = 1, TURN_QUIT = 2 };

/* What lives in the segment: fixed-width fields only, the same layout for every process. */
struct board {
	_Atomic uint32_t turn;
	uint32_t round;
	char text[120];
};

static int fail(const char *who, const char *what, int err)
{
	fprintf(stderr, "%s: %s: %s\n", who, what, strerror(-err));
	return 1;
}

/* Wait until it is 'want's turn (or the game is over); 0 or -ETIMEDOUT after 5 s. */
static int wait_turn(struct board *b, uint32_t want, uint32_t *got)
{
	struct timespec nap = {0, 200 * 1000};
	for (int i = 0; i < 25000; i++) {
		/* Acquire: pairs with the other side's release store of turn, so text is complete.
		 */
		*got = atomic_load_explicit(&b->turn, memory_order_acquire);
		if (*got == want || *got == TURN_QUIT)
			return 0;
		nanosleep(&nap, NULL);
	}
	return -ETIMEDOUT;
}

static void pass_turn(struct board *b, uint32_t to)
{
	/* Release: the text written before is visible to whoever acquires this turn. */
	atomic_store_explicit(&b->turn, to, memory_order_release);
}

static int child(const char *name)
{
	shmkit_seg_t *seg;
	struct board *b;
	uint32_t turn;

	int err = shmkit_seg_open(&seg, SHMKIT_SEG_POSIX, name, 0);
	if (err)
		return fail("child ", "open", err);
	err = shmkit_seg_map(seg, NULL, (void **)&b);
	shmkit_seg_close(seg); /* the mapping stays */
	if (err)
		return fail("child ", "map", err);
	printf("child : opened %s by name after exec\n", name);
	while ((err = wait_turn(b, TURN_CHILD, &turn)) == 0 && turn != TURN_QUIT) {
		printf("child : saw \"%s\"\n", b->text);
		snprintf(b->text, sizeof(b->text), "pong %u from pid %d", b->round, (int)getpid());
		pass_turn(b, TURN_PARENT);
	}
	shmkit_seg_unmap(NULL, b, sizeof(*b));
	return err ? fail("child ", "waiting", err) : 0;
}

static int play(struct board *b, unsigned rounds)
{
	uint32_t turn;
	for (unsigned r = 1; r <= rounds; r++) {
		b->round = r;
		snprintf(b->text, sizeof(b->text), "ping %u from pid %d", r, (int)getpid());
		pass_turn(b, TURN_CHILD);
		int err = wait_turn(b, TURN_PARENT, &turn);
		if (err)
			return err;
		printf("parent: saw \"%s\"\n", b->text);
	}
	return 0;
}

static int parent(const char *self, const char *name, unsigned rounds)
{
	struct shmkit_seg_config cfg = SHMKIT_SEG_CONFIG_INIT;
	shmkit_seg_t *seg;
	struct board *b;
	int status = 0;

	cfg.mode = 0600;
	int err = shmkit_seg_create(&seg, name, sizeof(*b), &cfg);
	if (err)
		return fail("parent", "create", err);
	printf("parent: created /dev/shm/%s, mode 0600\n", name + (*name == '/'));
	err = shmkit_seg_map(seg, NULL, (void **)&b);
	if (err) {
		fail("parent", "map", err);
		goto out;
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		execl(self, self, "--child", name, (char *)NULL);
		_exit(127);
	}
	if (pid < 0)
		err = -errno;
	if (!err)
		err = play(b, rounds);
	if (err)
		fail("parent", "playing", err);
	pass_turn(b, TURN_QUIT);
	if (pid > 0 && waitpid(pid, &status, 0) == pid &&
	    (!WIFEXITED(status) || WEXITSTATUS(status)))
		err = err ? err : -ECHILD;
	shmkit_seg_unmap(seg, b, sizeof(*b));
out:
	if (shmkit_seg_remove(seg) == 0)
		printf("parent: removed /dev/shm/%s\n", name + (*name == '/'));
	shmkit_seg_close(seg);
	return err ? 1 : 0;
}

int main(int argc, char **argv)
{
	char name[64];

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && !strcmp(argv[1], "--child"))
		return child(argv[2]);
	if (argc > 3 || (argc > 1 && argv[1][0] == '-')) {
		fprintf(stderr, "usage: %s [NAME [ROUNDS]]\n", argv[0]);
		return 2;
	}
	snprintf(name, sizeof(name), "shmkit-pingpong-%d", (int)getpid());
	unsigned rounds = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 3;
	return parent("/proc/self/exe", argc > 1 ? argv[1] : name, rounds ? rounds : 3);
}
