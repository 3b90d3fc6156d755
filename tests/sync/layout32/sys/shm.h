/* Stub for the 32-bit layout check (tests/sync/tests.cmake): include/shmkit/sysv.h embeds a
 * struct shmid_ds in a process-local struct; its real layout is checked by tests/m32. */
#ifndef SK_LAYOUT32_SYS_SHM_H
#define SK_LAYOUT32_SYS_SHM_H
struct shmid_ds {
	int stub_;
};
#endif
