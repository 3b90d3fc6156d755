# SPDX-License-Identifier: MIT
"""The C library, through cffi's ABI mode: the declarations of <shmkit/chan.h>,
<shmkit/sync.h> and <shmkit/heap.h> this package calls, and the library they are found in.

The library is the one named by the environment variable SHMKIT_LIBRARY (a path), else
libshmkit.so.0 as the dynamic loader finds it. tests/test_abi.py checks these declarations
against the C header's sizes, offsets and constants, compiled by the build.
"""
import os

from cffi import FFI

ffi = FFI()
ffi.cdef(
    """
typedef long time_t;
struct timespec { time_t tv_sec; long tv_nsec; };

typedef struct shmkit_chan shmkit_chan_t;

#define SHMKIT_CHAN_SPSC 1
#define SHMKIT_CHAN_MPMC 2
#define SHMKIT_CHAN_BROADCAST 3
#define SHMKIT_CHAN_SEND 1
#define SHMKIT_CHAN_RECV 2
#define SHMKIT_CHAN_NAME_MAX 128
#define SHMKIT_CHAN_MAX_PEERS 64
#define SHMKIT_CHAN_SPIN_DEFAULT 4000
#define SHMKIT_CHAN_SPIN_MAX 1000000000

struct shmkit_chan_config {
    uint32_t kind;
    uint32_t mode;
    uint64_t msg_size;
    uint64_t capacity;
    uint64_t reserved_[4];
};

struct shmkit_chan_info {
    uint32_t kind, mode;
    uint64_t msg_size, capacity;
    uint64_t depth;
    uint64_t sent;
    uint64_t abandoned;
    uint32_t senders;
    uint32_t receivers;
    uint32_t owner;
    uint32_t reserved_;
    int64_t ctime;
    uint64_t reserved2_[4];
};

struct shmkit_chan_peer {
    int32_t pid;
    uint32_t role;
    uint64_t start;
    char comm[16];
    uint64_t count;
    uint64_t lag;
    uint64_t lost;
    uint64_t abandoned;
};

int shmkit_chan_create(const char *name, const struct shmkit_chan_config *cfg);
int shmkit_chan_open(shmkit_chan_t **out, const char *name, uint32_t role);
int shmkit_chan_close(shmkit_chan_t *c);
int shmkit_chan_unlink(const char *name);
int shmkit_chan_send(shmkit_chan_t *c, const void *msg, size_t len, const struct timespec *abs);
int shmkit_chan_trysend(shmkit_chan_t *c, const void *msg, size_t len);
ssize_t shmkit_chan_recv(shmkit_chan_t *c, void *buf, size_t cap, const struct timespec *abs);
ssize_t shmkit_chan_tryrecv(shmkit_chan_t *c, void *buf, size_t cap);
int shmkit_chan_loan(shmkit_chan_t *c, size_t len, void **slot, const struct timespec *abs);
int shmkit_chan_tryloan(shmkit_chan_t *c, size_t len, void **slot);
int shmkit_chan_commit(shmkit_chan_t *c, void *slot, size_t len);
int shmkit_chan_cancel(shmkit_chan_t *c, void *slot);
ssize_t shmkit_chan_peek(shmkit_chan_t *c, const void **msg, const struct timespec *abs);
ssize_t shmkit_chan_trypeek(shmkit_chan_t *c, const void **msg);
int shmkit_chan_release(shmkit_chan_t *c, const void *msg);
int shmkit_chan_set_spin(shmkit_chan_t *c, uint64_t ns);
int shmkit_chan_fd(shmkit_chan_t *c);
int shmkit_chan_stat(const char *name, struct shmkit_chan_info *info,
                     struct shmkit_chan_peer *peers, size_t max);
int shmkit_chan_stat_handle(shmkit_chan_t *c, struct shmkit_chan_info *info,
                            struct shmkit_chan_peer *peers, size_t max);
int shmkit_chan_list(char (*names)[129], size_t max);

#define SHMKIT_SYNC_OBJ_SIZE 16
#define SHMKIT_SEM_VALUE_MAX 2147483647
typedef union shmkit_mutex { uint32_t opaque_[4]; uint64_t align_; } shmkit_mutex_t;
typedef union shmkit_cond { uint32_t opaque_[4]; uint64_t align_; } shmkit_cond_t;
typedef union shmkit_sem { uint32_t opaque_[4]; uint64_t align_; } shmkit_sem_t;
typedef union shmkit_event { uint32_t opaque_[4]; uint64_t align_; } shmkit_event_t;
int shmkit_mutex_init(shmkit_mutex_t *m);
int shmkit_mutex_lock(shmkit_mutex_t *m);
int shmkit_mutex_trylock(shmkit_mutex_t *m);
int shmkit_mutex_timedlock(shmkit_mutex_t *m, const struct timespec *abs);
int shmkit_mutex_consistent(shmkit_mutex_t *m);
int shmkit_mutex_owned(const shmkit_mutex_t *m);
int shmkit_mutex_unlock(shmkit_mutex_t *m);
int shmkit_cond_init(shmkit_cond_t *c);
int shmkit_cond_timedwait(shmkit_cond_t *c, shmkit_mutex_t *m, const struct timespec *abs);
int shmkit_cond_signal(shmkit_cond_t *c);
int shmkit_cond_broadcast(shmkit_cond_t *c);
int shmkit_sem_init(shmkit_sem_t *s, unsigned value);
int shmkit_sem_post(shmkit_sem_t *s);
int shmkit_sem_trywait(shmkit_sem_t *s);
int shmkit_sem_timedwait(shmkit_sem_t *s, const struct timespec *abs);
int shmkit_sem_getvalue(shmkit_sem_t *s, unsigned *value);
int shmkit_event_init(shmkit_event_t *e, int manual);
int shmkit_event_set(shmkit_event_t *e);
int shmkit_event_reset(shmkit_event_t *e);
int shmkit_event_trywait(shmkit_event_t *e);
int shmkit_event_timedwait(shmkit_event_t *e, const struct timespec *abs);

typedef struct shmkit_heap shmkit_heap_t;
#define SHMKIT_HEAP_RDONLY 1
#define SHMKIT_HEAP_OPEN 2
#define SHMKIT_HEAP_MIN_SIZE 16384
#define SHMKIT_HEAP_MAX_SIZE 1099511627776
#define SHMKIT_HEAP_NAME_MAX 255
#define SHMKIT_HEAP_ALIGN 16
#define SHMKIT_HEAP_CHECK_REPAIR 1
struct shmkit_heap_opts {
    uint64_t size;
    uint64_t max_size;
    uint32_t mode;
    uint32_t flags;
    uint64_t reserved[4];
};
struct shmkit_heap_report {
    uint64_t size, max_size, meta, used, free, slack, leaked, largest_free;
    uint64_t blocks, leaked_blocks, named, damage, repairs, cached;
    uint64_t reserved[2];
    char first_problem[128];
};
typedef int (*shmkit_heap_name_fn)(const char *name, uint64_t off, uint64_t size, void *arg);
int shmkit_heap_create_opts(shmkit_heap_t **out, const char *name,
                            const struct shmkit_heap_opts *o);
int shmkit_heap_create_fd(shmkit_heap_t **out, int fd, const struct shmkit_heap_opts *o);
int shmkit_heap_open(shmkit_heap_t **out, const char *name, uint32_t flags);
int shmkit_heap_open_fd(shmkit_heap_t **out, int fd, uint32_t flags);
int shmkit_heap_close(shmkit_heap_t *h);
int shmkit_heap_unlink(const char *name);
int shmkit_heap_fd(const shmkit_heap_t *h);
int shmkit_heap_alloc(shmkit_heap_t *h, size_t size, uint64_t *off);
int shmkit_heap_free(shmkit_heap_t *h, uint64_t off);
int shmkit_heap_usable_size(shmkit_heap_t *h, uint64_t off, uint64_t *size);
void *shmkit_heap_ptr(shmkit_heap_t *h, uint64_t off);
int shmkit_heap_named(shmkit_heap_t *h, const char *name, size_t size, uint64_t *off);
int shmkit_heap_find(shmkit_heap_t *h, const char *name, uint64_t *off, uint64_t *size);
int shmkit_heap_unname(shmkit_heap_t *h, const char *name);
int shmkit_heap_names(shmkit_heap_t *h, shmkit_heap_name_fn fn, void *arg);
int shmkit_heap_check(shmkit_heap_t *h, struct shmkit_heap_report *r, uint32_t flags);
"""
)

LIBRARY = os.environ.get("SHMKIT_LIBRARY") or "libshmkit.so.0"
lib = ffi.dlopen(LIBRARY)

# Every function, constant and type the package uses, resolved now. cffi resolves them
# lazily, under a lock of its own that is not re-entrant: a signal handler or a finalizer
# that made the first use of one while the same thread was inside another would wait for
# itself for ever.
for _name in dir(lib):
    getattr(lib, _name)
for _type in (
    "char[]", "char *", "char[][129]", "uintptr_t", "unsigned *", "void **",
    "struct timespec *", "shmkit_chan_t **", "struct shmkit_chan_config *",
    "struct shmkit_chan_info *", "struct shmkit_chan_peer[]",
    "shmkit_mutex_t *", "shmkit_cond_t *", "shmkit_sem_t *", "shmkit_event_t *",
    "shmkit_heap_t **", "struct shmkit_heap_opts *", "struct shmkit_heap_report *",
    "uint64_t *", "uint64_t[2]", "shmkit_heap_name_fn",
):
    ffi.typeof(_type)
