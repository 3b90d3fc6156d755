/* Stub for the 32-bit layout check (tests/sync/tests.cmake): src/chan/chan.h includes it for
 * its process-local side only. */
