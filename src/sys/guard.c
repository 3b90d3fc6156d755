/* SPDX-License-Identifier: MIT */
/*
 * Guarded mappings: a shared file that a peer truncates under us must not kill us.
 *
 * A page of a MAP_SHARED file mapping beyond the file's end faults with SIGBUS, and anyone
 * who may write the file may shrink it. For a mapping registered here, the process-wide
 * SIGBUS handler replaces the whole mapping, in place, with private zero pages of the same
 * protection and marks the guard tripped; the faulting instruction then runs again on the
 * zeros. The owner of the mapping checks sk_guard_tripped() after each use and answers
 * -EPROTO from then on: whatever it read or wrote during the use may have been the zeros.
 * No cost on the fast path but one load of sk_guard_trips, which stays 0 until a first trip.
 *
 * A SIGBUS that is not a guarded mapping's goes where it would have gone: to the handler
 * installed before ours (called as a function, SA_SIGINFO or not), or, if that was SIG_DFL or
 * SIG_IGN, to the default action (the fault happens again and kills with a core dump; a
 * SIGBUS sent by kill(2) is raised again, or ignored). A handler the program installs after
 * ours replaces it: the program then decides, and guarded mappings kill again.
 *
 * The registry is read by the handler, so it takes no lock: fixed chunks of entries, chained
 * and never freed; each entry is a seqlock (gen odd while its range changes), so that the
 * handler never matches a torn range. An entry is added and removed by its owner only.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "internal/atomic.h"
#include "sys/sys.h"

#define GUARD_CHUNK 64

struct sk_guard {
	SK_ATOMIC(uint32_t) gen;     /* odd while base, len or prot change; 0 free */
	SK_ATOMIC(uint32_t) tripped; /* the mapping is zeros now */
	SK_ATOMIC(uintptr_t) base;
	SK_ATOMIC(size_t) len;
	SK_ATOMIC(int) prot;
	SK_ATOMIC(uint32_t) used; /* taken by an owner (CAS 0 -> 1) */
};

struct chunk {
	struct sk_guard e[GUARD_CHUNK];
	SK_ATOMIC(struct chunk *) next;
};

SK_ATOMIC(uint32_t) sk_guard_trips;
static struct chunk first;
static struct sigaction previous;
static pthread_once_t installed = PTHREAD_ONCE_INIT;
static int install_err;

/* The entry whose range holds addr, and that range as checked; or NULL. */
static struct sk_guard *find(uintptr_t addr, uintptr_t *at, size_t *size, int *prot)
{
	/* acquire: pairs with take_entry's CAS that links a zeroed chunk */
	for (struct chunk *k = &first; k; k = atomic_load_explicit(&k->next, memory_order_acquire))
		for (int i = 0; i < GUARD_CHUNK; i++) {
			struct sk_guard *g = &k->e[i];
			/* acquire: pairs with sk_guard_add's release of the even gen (the range
			 * before it); the fence below, with its release fence (the odd gen first)
			 */
			uint32_t gen = sk_load_acquire(&g->gen);
			if (!gen || (gen & 1))
				continue;
			uintptr_t base = sk_load_relaxed(&g->base);
			size_t len = sk_load_relaxed(&g->len);
			int p = sk_load_relaxed(&g->prot);
			atomic_thread_fence(memory_order_acquire);
			if (sk_load_relaxed(&g->gen) == gen && addr - base < len) {
				*at = base, *size = len, *prot = p;
				return g;
			}
		}
	return NULL;
}

/* Not ours: what would have happened without us. */
static void pass_on(int sig, siginfo_t *si, void *uc)
{
	if (previous.sa_flags & SA_SIGINFO) {
		previous.sa_sigaction(sig, si, uc);
		return;
	}
	if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN) {
		previous.sa_handler(sig);
		return;
	}
	if (si->si_code <= 0 && previous.sa_handler == SIG_IGN)
		return; /* sent, and ignored before we came */
	signal(sig, SIG_DFL);
	if (si->si_code <= 0)
		raise(sig); /* sent: delivered when we return */
	/* a fault: it happens again on return, and the default action takes it */
}

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	int saved = errno;
	uintptr_t base;
	size_t len;
	int prot;
	struct sk_guard *g =
	    si->si_code > 0 ? find((uintptr_t)si->si_addr, &base, &len, &prot) : NULL;
	if (g) {
		if (mmap((void *)base, len, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) !=
		    MAP_FAILED) {
			/* release: pairs with sk_guard_tripped's acquire (the zeros are in place
			 * before the owner is told) */
			sk_store_release(&g->tripped, 1);
			atomic_fetch_add(&sk_guard_trips, 1);
			errno = saved;
			return;
		}
	}
	errno = saved;
	pass_on(sig, si, uc);
}

static void install(void)
{
	struct sigaction sa = {.sa_sigaction = on_sigbus, .sa_flags = SA_SIGINFO | SA_ONSTACK};
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, &previous) < 0)
		install_err = -errno;
}

static struct sk_guard *take_entry(void)
{
	for (struct chunk *k = &first;;) {
		for (int i = 0; i < GUARD_CHUNK; i++) {
			uint32_t free_ = 0;
			if (atomic_compare_exchange_strong(&k->e[i].used, &free_, 1))
				return &k->e[i];
		}
		struct chunk *next = atomic_load_explicit(&k->next, memory_order_acquire);
		if (!next) {
			struct chunk *fresh = calloc(1, sizeof(*fresh));
			if (!fresh)
				return NULL;
			if (!atomic_compare_exchange_strong(&k->next, &next, fresh))
				free(fresh); /* another thread added one: use it */
			else
				next = fresh;
		}
		k = next;
	}
}

int sk_guard_add(void *base, size_t len, int prot, struct sk_guard **out)
{
	pthread_once(&installed, install);
	if (install_err)
		return install_err;
	struct sk_guard *g = take_entry();
	if (!g)
		return -ENOMEM;
	uint32_t gen = sk_load_relaxed(&g->gen);
	gen += (gen & 1) ? 1 : 2; /* even and nonzero: the next generation */
	sk_store_relaxed(&g->gen, gen - 1);
	atomic_thread_fence(memory_order_release);
	sk_store_relaxed(&g->base, (uintptr_t)base);
	sk_store_relaxed(&g->len, len);
	sk_store_relaxed(&g->prot, prot);
	sk_store_relaxed(&g->tripped, 0);
	sk_store_release(&g->gen, gen); /* pairs with find()'s acquire of gen */
	*out = g;
	return 0;
}

void sk_guard_remove(struct sk_guard *g)
{
	if (!g)
		return;
	uint32_t gen = sk_load_relaxed(&g->gen);
	sk_store_relaxed(&g->gen, gen + 1); /* odd: the handler skips it */
	atomic_thread_fence(memory_order_release);
	sk_store_relaxed(&g->len, 0);
	/* release: pairs with take_entry's CAS (seq_cst) by the entry's next owner */
	sk_store_release(&g->used, 0);
}

int sk_guard_tripped(const struct sk_guard *g)
{
	return g && sk_load_acquire(&g->tripped); /* pairs with on_sigbus's release */
}
