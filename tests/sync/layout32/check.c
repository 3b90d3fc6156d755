/* SPDX-License-Identifier: MIT */
/* Compiled with -m32 by tests/sync/tests.cmake: the layout asserts of src/sync/sync.h (16-byte
 * objects, fixed offsets, 8-byte alignment) and of src/heap/layout.h (the heap header, page
 * descriptors, name entries, relptrs) must hold for 32-bit processes too. */
#include "heap/layout.h"
#include "shmkit/heap.h"
#include "sync/sync.h"

_Static_assert(sizeof(void *) == 4, "this check is meant for a 32-bit target");
_Static_assert(sizeof(SHMKIT_RELPTR(int)) == 8 && _Alignof(SHMKIT_RELPTR(int)) == 8,
               "relptr layout");
