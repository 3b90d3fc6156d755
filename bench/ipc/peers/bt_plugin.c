/* SPDX-License-Identifier: MIT */
/* Linked into every plugin: exports the transports its files registered with BT_REGISTER. */
#include "transport.h"

extern const struct bt_transport *const __start_bt_transports[]
    __attribute__((visibility("hidden")));
extern const struct bt_transport *const __stop_bt_transports[]
    __attribute__((visibility("hidden")));

__attribute__((visibility("default"))) struct bt_plugin shmkit_bench_plugin = {
    .abi = BT_ABI,
    .n = 0, /* set by the constructor below: the section's bounds are not constants */
    .list = NULL,
};

__attribute__((constructor)) static void count(void)
{
	shmkit_bench_plugin.list = __start_bt_transports;
	shmkit_bench_plugin.n = (size_t)(__stop_bt_transports - __start_bt_transports);
}
