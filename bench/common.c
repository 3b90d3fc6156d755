/* SPDX-License-Identifier: MIT */
#include "common.h"

#include <errno.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

uint64_t bn_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void bn_samples_init(struct bn_samples *s, size_t cap)
{
	s->n = 0;
	s->cap = cap ? cap : 16;
	s->v = malloc(s->cap * sizeof(*s->v));
	if (!s->v) {
		perror("malloc");
		exit(1);
	}
}

void bn_samples_add(struct bn_samples *s, double v)
{
	if (s->n == s->cap) {
		s->cap *= 2;
		s->v = realloc(s->v, s->cap * sizeof(*s->v));
		if (!s->v) {
			perror("realloc");
			exit(1);
		}
	}
	s->v[s->n++] = v;
}

void bn_samples_free(struct bn_samples *s)
{
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

double bn_quantile(const struct bn_samples *sorted, double q)
{
	if (sorted->n == 0)
		return 0;
	size_t rank = (size_t)(q * (double)sorted->n + 0.5);
	if (rank > 0)
		rank--;
	if (rank >= sorted->n)
		rank = sorted->n - 1;
	return sorted->v[rank];
}

void bn_stats(struct bn_samples *s, struct bn_stats *st)
{
	qsort(s->v, s->n, sizeof(*s->v), cmp_double);
	double sum = 0;
	for (size_t i = 0; i < s->n; i++)
		sum += s->v[i];
	st->n = s->n;
	st->min = s->n ? s->v[0] : 0;
	st->max = s->n ? s->v[s->n - 1] : 0;
	st->mean = s->n ? sum / (double)s->n : 0;
	st->median = bn_quantile(s, 0.5);
	st->p99 = bn_quantile(s, 0.99);
	st->p999 = bn_quantile(s, 0.999);
}

int bn_ncpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int)n : 1;
}

int bn_pin_cpu(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu % bn_ncpus(), &set);
	return sched_setaffinity(0, sizeof(set), &set) == 0 ? 0 : -errno;
}

void bn_section(const char *title, const char *description)
{
	printf("### %s\n\n%s\n\n", title, description);
}

static void cells(const char *first, va_list ap, int separator)
{
	int n = 0;
	printf("|");
	for (const char *c = first; c; c = va_arg(ap, const char *), n++)
		printf(" %s |", c);
	printf("\n");
	if (separator) {
		printf("|");
		for (int i = 0; i < n; i++)
			printf(i == 0 ? " --- |" : " ---: |");
		printf("\n");
	}
}

void bn_header(const char *first, ...)
{
	va_list ap;
	va_start(ap, first);
	cells(first, ap, 1);
	va_end(ap);
}

void bn_row(const char *first, ...)
{
	va_list ap;
	va_start(ap, first);
	cells(first, ap, 0);
	va_end(ap);
	fflush(stdout);
}

const char *bn_fmt(const char *fmt, ...)
{
	static char buf[16][64];
	static unsigned next;
	char *b = buf[next++ % 16];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(b, sizeof(buf[0]), fmt, ap);
	va_end(ap);
	return b;
}

const char *bn_met(double ratio, double target)
{
	return ratio <= target ? "yes" : "no";
}

int bn_dump(const char *plot, const char *series, const struct bn_samples *sorted)
{
	const char *dir = getenv("SHMKIT_BENCH_DATA");
	if (!dir || !*dir)
		return 0;
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s.%s.dat", dir, plot, series);
	FILE *f = fopen(path, "w");
	if (!f)
		return -errno;
	/* At most 1000 points of the CDF: "value fraction" per line, enough for a plot. */
	size_t points = sorted->n < 1000 ? sorted->n : 1000;
	for (size_t k = 0; k < points; k++) {
		size_t i = points > 1 ? k * (sorted->n - 1) / (points - 1) : 0;
		fprintf(f, "%.0f %.6f\n", sorted->v[i], (double)(i + 1) / (double)sorted->n);
	}
	return fclose(f) == 0 ? 0 : -errno;
}

void bn_futex_wait(_Atomic(uint32_t) *w)
{
	while (atomic_load(w) == 0)
		syscall(SYS_futex, (void *)w, FUTEX_WAIT, 0, NULL, NULL, 0);
	atomic_store(w, 0);
}

void bn_futex_post(_Atomic(uint32_t) *w)
{
	atomic_store(w, 1);
	syscall(SYS_futex, (void *)w, FUTEX_WAKE, 1, NULL, NULL, 0);
}
