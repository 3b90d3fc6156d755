/* SPDX-License-Identifier: MIT */
/*
 * Limits of a namespace: the kernel's live values (/proc/sys/kernel/shm*), or the overrides
 * its owner stored in the registry, as the kernel keeps them per IPC namespace.
 */
#include <errno.h>
#include <linux/capability.h>
#include <string.h>
#include <unistd.h>

#include "sys/sys.h"
#include "sysv/registry.h"

/*
 * The kernel's values are read live, but at most every LIMITS_TTL_NS: reading four /proc files
 * costs more than the operation itself.
 */
#define LIMITS_TTL_NS (20 * 1000 * 1000ULL)

static void live_limits(struct sk_shm_limits *out)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static struct sk_shm_limits cached;
	static uint64_t read_at;
	uint64_t now = sk_mono_ns();
	pthread_mutex_lock(&lock);
	if (!read_at || now - read_at > LIMITS_TTL_NS) {
		sk_shm_limits_read(&cached);
		read_at = now;
	}
	*out = cached;
	pthread_mutex_unlock(&lock);
}

void sk_ns_limits(struct sk_ns *ns, uint64_t *shmmax, uint64_t *shmall, uint64_t *shmmni,
                  int *rmid_forced)
{
	struct sk_shm_limits l;
	live_limits(&l);
	const struct sk_reg_hdr *h = ns->hdr;
	uint32_t z = h->lim_zero;
	*shmmax = z & SHMKIT_NS_ZERO_SHMMAX ? 0 : h->lim_shmmax ? h->lim_shmmax : l.shmmax;
	*shmall = z & SHMKIT_NS_ZERO_SHMALL ? 0 : h->lim_shmall ? h->lim_shmall : l.shmall;
	*shmmni = z & SHMKIT_NS_ZERO_SHMMNI ? 0 : h->lim_shmmni ? h->lim_shmmni : l.shmmni;
	*rmid_forced = h->lim_rmid_forced >= 0 ? h->lim_rmid_forced != 0 : (int)l.rmid_forced;
}

/* Open a namespace for administration and take its lock, waiting at most the process's wait. */
static int admin_open(struct sk_ns *ns, const char *name, int write)
{
	struct timespec deadline;
	int err = sk_ns_open(ns, name, write);
	if (err)
		return err;
	/* Only the owner changes limits, decided by the directory's owner, not the registry. */
	if (write && !sk_ns_is_admin(ns))
		err = -EPERM;
	if (!err)
		err = sk_reg_lock_until(ns, sk_ns_wait_deadline(&deadline));
	if (err)
		sk_ns_close(ns);
	return err;
}

SK_EXPORT int shmkit_ns_set_limits(const char *name, const struct shmkit_ns_limits *l)
{
	struct sk_ns ns;
	if (!l || l->shmmni > SK_REG_SLOTS || l->rmid_forced < -1 || l->rmid_forced > 1 ||
	    (l->zero & ~7u))
		return -EINVAL;
	int err = admin_open(&ns, name, 1);
	if (err)
		return err;
	ns.hdr->lim_shmmax = l->shmmax;
	ns.hdr->lim_shmall = l->shmall;
	ns.hdr->lim_shmmni = l->shmmni;
	ns.hdr->lim_rmid_forced = l->rmid_forced;
	ns.hdr->lim_zero = l->zero;
	ns.hdr->ops++;
	sk_reg_unlock(&ns);
	sk_ns_close(&ns);
	return 0;
}

SK_EXPORT int shmkit_ns_get_limits(const char *name, struct shmkit_ns_limits *l)
{
	struct sk_ns ns;
	if (!l)
		return -EINVAL;
	int err = admin_open(&ns, name, 0);
	if (err)
		return err;
	memset(l, 0, sizeof(*l));
	l->shmmax = ns.hdr->lim_shmmax;
	l->shmall = ns.hdr->lim_shmall;
	l->shmmni = ns.hdr->lim_shmmni;
	l->rmid_forced = ns.hdr->lim_rmid_forced;
	l->zero = ns.hdr->lim_zero & 7u;
	sk_reg_unlock(&ns);
	sk_ns_close(&ns);
	return 0;
}

SK_EXPORT int shmkit_ns_get_next_id(const char *name, int32_t *id)
{
	struct sk_ns ns;
	if (!id)
		return -EINVAL;
	int err = admin_open(&ns, name, 0);
	if (err)
		return err;
	*id = ns.hdr->next_id >= 0 ? ns.hdr->next_id : -1;
	sk_reg_unlock(&ns);
	sk_ns_close(&ns);
	return 0;
}

SK_EXPORT int shmkit_ns_set_next_id(const char *name, int32_t id)
{
	struct sk_ns ns;
	if (id < -1)
		return -EINVAL;
	int err = admin_open(&ns, name, 1);
	if (err)
		return err;
	ns.hdr->next_id = id;
	sk_reg_unlock(&ns);
	sk_ns_close(&ns);
	return 0;
}
