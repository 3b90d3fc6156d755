/* Stub for the 32-bit layout check (tests/sync/tests.cmake). */
/* Names the shared headers' inline helpers use (values as on Linux). */
#define EPROTO 71
