/* Stub for the 32-bit layout check (tests/sync/tests.cmake). */
