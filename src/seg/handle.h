/* SPDX-License-Identifier: MIT */
/*
 * The process-local handle behind shmkit_seg_t and the per-backend pieces of the seg API.
 * Private to src/seg. All functions return 0 or -errno.
 */
#ifndef SHMKIT_SEG_HANDLE_H
#define SHMKIT_SEG_HANDLE_H

#include <stdint.h>

#include "seg/seg.h"
#include "shmkit/seg.h"

struct shmkit_seg {
	int fd;                         /* -1 for kernel SysV */
	int sysv_id;                    /* -1 unless kernel SysV */
	uint32_t backend;               /* SHMKIT_SEG_* */
	uint32_t rdonly;                /* maps are read-only: the descriptor (or sysv open) is */
	uint64_t huge_page_size;        /* hugetlb: the page size; 0 otherwise */
	char name[SK_SHM_NAME_MAX + 1]; /* POSIX: the name without '/' when known, else "" */
};

/* A handle owning fd (or -1 for sysv). -ENOMEM leaves fd to the caller. */
int sk_seg_new(struct shmkit_seg **out, uint32_t backend, int fd);
/* The granule of the object's size and offsets: the page or huge page size. */
uint64_t sk_seg_granule(const struct shmkit_seg *s);

/* memfd.c: memfd and hugetlb objects; cfg already validated. Returns a descriptor. */
int sk_seg_memfd_create(const char *label, uint64_t size, const struct shmkit_seg_config *c,
                        mode_t mode, uint64_t *huge_page_size);
/* An unnamed file on a hugetlbfs mount of that page size (0: any); -EOPNOTSUPP if none. */
int sk_hugetlbfs_tmpfile(uint64_t huge_page_size);
/* Allocate huge pages for [from, to) now, so a short pool is -ENOMEM here, not SIGBUS later. */
int sk_seg_huge_reserve(int fd, uint64_t from, uint64_t to);

/* kernsysv.c: the kernel's own System V shm. */
int sk_seg_sysv_create(struct shmkit_seg **out, uint64_t size, const struct shmkit_seg_config *c,
                       mode_t mode);
int sk_seg_sysv_id(const char *name, int *id);
int sk_seg_sysv_open(struct shmkit_seg **out, const char *name, uint32_t flags);
int sk_seg_sysv_map(struct shmkit_seg *s, const struct shmkit_map_opts *o, void **addr);
int sk_seg_sysv_stat(const struct shmkit_seg *s, struct shmkit_seg_info *info);

/* fdpass.c: the message that carries a descriptor (shmkit_seg_send/recv). */
#define SK_SEG_MSG_MAGIC 0x53475331u /* "1SGS" */
struct sk_seg_msg {
	uint32_t magic;
	uint32_t backend;
	char name[SK_SHM_NAME_MAX + 8]; /* POSIX: the sender's name for it, NUL-terminated */
};

/* fdpass.c: what a descriptor is: backend and, for hugetlbfs, the page size. */
int sk_seg_classify(int fd, uint32_t *backend, uint64_t *huge_page_size, char *name,
                    size_t name_len);

#endif
