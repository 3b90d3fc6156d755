/* SPDX-License-Identifier: MIT */
/*
 * The one header through which shmkit uses atomics.
 *
 * Every acquire/release at a call site names the operation it pairs with in a comment.
 * Shared words are declared with SK_ATOMIC(T) so that their size and alignment are those of the
 * plain type (asserted below): a 32-bit and a 64-bit process see the same layout.
 */
#ifndef SHMKIT_INTERNAL_ATOMIC_H
#define SHMKIT_INTERNAL_ATOMIC_H

#include <stdatomic.h>
#include <stdint.h>

#define SK_ATOMIC(T) _Atomic(T)

_Static_assert(sizeof(_Atomic(uint32_t)) == 4 && _Alignof(_Atomic(uint32_t)) == 4,
               "atomic u32 layout");
_Static_assert(sizeof(_Atomic(uint64_t)) == 8, "atomic u64 layout");

#define sk_load_relaxed(p)     atomic_load_explicit((p), memory_order_relaxed)
#define sk_load_acquire(p)     atomic_load_explicit((p), memory_order_acquire)
#define sk_store_relaxed(p, v) atomic_store_explicit((p), (v), memory_order_relaxed)
#define sk_store_release(p, v) atomic_store_explicit((p), (v), memory_order_release)

/*
 * One load of a plain field of shared memory that another process may write at any time
 * (a hostile member does not take the lock): bounds-check the value read, then use that value,
 * never the field again. Relaxed: it orders nothing, it only keeps the compiler from loading
 * the field twice.
 */
#define SK_ONCE(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

static inline void sk_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#endif
}

#endif
