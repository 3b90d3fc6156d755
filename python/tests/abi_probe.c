/* SPDX-License-Identifier: MIT */
/* What the C compiler makes of <shmkit/chan.h>, <shmkit/sync.h> and <shmkit/heap.h>, as JSON,
 * for tests/test_abi.py to hold the Python binding's declarations against. */
#include <stddef.h>
#include <stdio.h>

#include <shmkit.h>

#define FIELD(s, f) printf(",\n  \"offsetof(struct %s, %s)\": %zu", #s, #f, offsetof(struct s, f))
#define SIZE(s)     printf(",\n  \"sizeof(struct %s)\": %zu", #s, sizeof(struct s))
#define CONST(c)    printf(",\n  \"%s\": %llu", #c, (unsigned long long)(c))

int main(void)
{
	printf("{\n  \"sizeof(struct timespec)\": %zu", sizeof(struct timespec));
	SIZE(shmkit_chan_config);
	FIELD(shmkit_chan_config, kind);
	FIELD(shmkit_chan_config, mode);
	FIELD(shmkit_chan_config, msg_size);
	FIELD(shmkit_chan_config, capacity);
	FIELD(shmkit_chan_config, reserved_);
	SIZE(shmkit_chan_info);
	FIELD(shmkit_chan_info, kind);
	FIELD(shmkit_chan_info, mode);
	FIELD(shmkit_chan_info, msg_size);
	FIELD(shmkit_chan_info, capacity);
	FIELD(shmkit_chan_info, depth);
	FIELD(shmkit_chan_info, sent);
	FIELD(shmkit_chan_info, abandoned);
	FIELD(shmkit_chan_info, senders);
	FIELD(shmkit_chan_info, receivers);
	FIELD(shmkit_chan_info, owner);
	FIELD(shmkit_chan_info, ctime);
	SIZE(shmkit_chan_peer);
	FIELD(shmkit_chan_peer, pid);
	FIELD(shmkit_chan_peer, role);
	FIELD(shmkit_chan_peer, start);
	FIELD(shmkit_chan_peer, comm);
	FIELD(shmkit_chan_peer, count);
	FIELD(shmkit_chan_peer, lag);
	FIELD(shmkit_chan_peer, lost);
	FIELD(shmkit_chan_peer, abandoned);
	CONST(SHMKIT_CHAN_SPSC);
	CONST(SHMKIT_CHAN_MPMC);
	CONST(SHMKIT_CHAN_BROADCAST);
	CONST(SHMKIT_CHAN_SEND);
	CONST(SHMKIT_CHAN_RECV);
	CONST(SHMKIT_CHAN_NAME_MAX);
	CONST(SHMKIT_CHAN_MAX_PEERS);
	CONST(SHMKIT_CHAN_SPIN_DEFAULT);
	CONST(SHMKIT_CHAN_SPIN_MAX);
	printf(",\n  \"sizeof(shmkit_mutex_t)\": %zu", sizeof(shmkit_mutex_t));
	printf(",\n  \"sizeof(shmkit_cond_t)\": %zu", sizeof(shmkit_cond_t));
	printf(",\n  \"sizeof(shmkit_sem_t)\": %zu", sizeof(shmkit_sem_t));
	printf(",\n  \"sizeof(shmkit_event_t)\": %zu", sizeof(shmkit_event_t));
	printf(",\n  \"alignof(shmkit_mutex_t)\": %zu", _Alignof(shmkit_mutex_t));
	CONST(SHMKIT_SYNC_OBJ_SIZE);
	SIZE(shmkit_heap_opts);
	FIELD(shmkit_heap_opts, size);
	FIELD(shmkit_heap_opts, max_size);
	FIELD(shmkit_heap_opts, mode);
	FIELD(shmkit_heap_opts, flags);
	FIELD(shmkit_heap_opts, reserved);
	SIZE(shmkit_heap_report);
	FIELD(shmkit_heap_report, size);
	FIELD(shmkit_heap_report, max_size);
	FIELD(shmkit_heap_report, meta);
	FIELD(shmkit_heap_report, used);
	FIELD(shmkit_heap_report, free);
	FIELD(shmkit_heap_report, slack);
	FIELD(shmkit_heap_report, leaked);
	FIELD(shmkit_heap_report, largest_free);
	FIELD(shmkit_heap_report, blocks);
	FIELD(shmkit_heap_report, leaked_blocks);
	FIELD(shmkit_heap_report, named);
	FIELD(shmkit_heap_report, damage);
	FIELD(shmkit_heap_report, repairs);
	FIELD(shmkit_heap_report, cached);
	FIELD(shmkit_heap_report, first_problem);
	CONST(SHMKIT_HEAP_RDONLY);
	CONST(SHMKIT_HEAP_OPEN);
	CONST(SHMKIT_HEAP_MIN_SIZE);
	CONST(SHMKIT_HEAP_MAX_SIZE);
	CONST(SHMKIT_HEAP_NAME_MAX);
	CONST(SHMKIT_HEAP_ALIGN);
	CONST(SHMKIT_HEAP_CHECK_REPAIR);
	CONST(SHMKIT_SEM_VALUE_MAX);
	printf("\n}\n");
	return 0;
}
