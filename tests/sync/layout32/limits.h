/* Stub for the 32-bit layout check (tests/sync/tests.cmake). */
#define INT_MAX 2147483647
