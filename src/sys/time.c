/* SPDX-License-Identifier: MIT */
/* Clocks. Deadlines are absolute CLOCK_MONOTONIC times throughout shmkit. */
#include <time.h>

#include "sys/sys.h"

#define NS_PER_SEC 1000000000ULL

uint64_t sk_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

uint64_t sk_mono_coarse_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

int64_t sk_real_sec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec;
}

void sk_deadline_after(struct timespec *abs, uint64_t ns)
{
	uint64_t t = sk_mono_ns() + ns;
	abs->tv_sec = (time_t)(t / NS_PER_SEC);
	abs->tv_nsec = (long)(t % NS_PER_SEC);
}

static uint64_t ts_ns(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * NS_PER_SEC + (uint64_t)ts->tv_nsec;
}

uint64_t sk_ns_until(const struct timespec *abs)
{
	uint64_t now = sk_mono_ns(), t = ts_ns(abs);
	return t > now ? t - now : 0;
}

void sk_mono_to_real(const struct timespec *mono, struct timespec *real)
{
	struct timespec rn;
	clock_gettime(CLOCK_REALTIME, &rn);
	uint64_t left = sk_ns_until(mono);
	uint64_t t = ts_ns(&rn) + left;
	real->tv_sec = (time_t)(t / NS_PER_SEC);
	real->tv_nsec = (long)(t % NS_PER_SEC);
}

int sk_timespec_valid(const struct timespec *ts)
{
	return ts && ts->tv_sec >= 0 && ts->tv_nsec >= 0 && ts->tv_nsec < (long)NS_PER_SEC;
}
