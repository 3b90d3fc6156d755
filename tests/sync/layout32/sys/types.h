/* Stub for the 32-bit layout check (tests/sync/tests.cmake): the types the public headers'
 * prototypes name. None of them is in a shared layout. */
#ifndef SK_LAYOUT32_SYS_TYPES_H
#define SK_LAYOUT32_SYS_TYPES_H
typedef long ssize_t;
typedef int pid_t;
typedef long long off_t;
typedef unsigned uid_t, gid_t, mode_t;
typedef int key_t;
#endif
