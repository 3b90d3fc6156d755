/* SPDX-License-Identifier: MIT */
/*
 * Small compiler helpers shared by every layer. Internal: never installed.
 */
#ifndef SHMKIT_INTERNAL_COMPILER_H
#define SHMKIT_INTERNAL_COMPILER_H

#include <stddef.h>

#define SK_EXPORT __attribute__((visibility("default")))
/* On an extern declaration of internal data: addressed directly, not through the GOT. */
#define SK_HIDDEN         __attribute__((visibility("hidden")))
#define SK_LIKELY(x)      __builtin_expect(!!(x), 1)
#define SK_UNLIKELY(x)    __builtin_expect(!!(x), 0)
#define SK_ARRAY_SIZE(a)  (sizeof(a) / sizeof((a)[0]))
#define SK_CACHELINE      64
#define SK_ALIGN_UP(x, a) (((x) + ((a)-1)) & ~((__typeof__(x))(a)-1))

/* Layout checks for anything placed in shared memory. */
#define SK_ASSERT_SIZE(type, size)                                                                 \
	_Static_assert(sizeof(type) == (size), #type " must be " #size " bytes")
#define SK_ASSERT_OFFSET(type, field, off)                                                         \
	_Static_assert(offsetof(type, field) == (off), #type "." #field " must be at " #off)

#endif
