/* Stub for the 32-bit layout check (tests/sync/tests.cmake): no 32-bit libc is needed. */
#ifndef SK_LAYOUT32_TIME_H
#define SK_LAYOUT32_TIME_H
struct timespec {
	long tv_sec;
	long tv_nsec;
};
#endif
