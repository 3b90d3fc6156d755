/* SPDX-License-Identifier: MIT */
/*
 * Shared helpers of the benchmark programs (bench/bench_*.c): CLOCK_MONOTONIC timing, sample
 * collection and percentiles, CPU pinning, and markdown output. Each program prints one
 * markdown section to stdout:
 *
 *   ### Title
 *   One line saying what is measured and against what.
 *   | case | median ns | p99 ns | ... |
 *
 * bench/run.sh collects the sections into docs/bench.md.
 *
 * Adding a benchmark: write bench/bench_<name>.c (it is picked up by bench/CMakeLists.txt; extra
 * libraries go in bench/bench_<name>.cmake); measure against a reference in the same run,
 * interleaving the two so both see the same noise; print one section with bn_section,
 * bn_header and bn_row, quoting each target beside the figure (bn_met); keep the runtime to
 * 10-30 s on a 2-core machine; exit non-zero on failure and remove every kernel object you
 * create on every path. Optionally bn_dump raw samples for a CDF plot.
 */
#ifndef SHMKIT_BENCH_COMMON_H
#define SHMKIT_BENCH_COMMON_H

#include <stddef.h>
#include <stdint.h>

/* Nanoseconds on CLOCK_MONOTONIC (no rdtsc: comparable across CPUs and processes). */
uint64_t bn_now_ns(void);

/* A growable set of samples (nanoseconds, or any unit). */
struct bn_samples {
	double *v;
	size_t n, cap;
};
void bn_samples_init(struct bn_samples *s, size_t cap);
void bn_samples_add(struct bn_samples *s, double v);
void bn_samples_free(struct bn_samples *s);

struct bn_stats {
	size_t n;
	double min, mean, median, p99, p999, max;
};
/* Sorts the samples and fills st. p50 == median. */
void bn_stats(struct bn_samples *s, struct bn_stats *st);
/* The q-quantile (0..1) of sorted samples, nearest-rank. */
double bn_quantile(const struct bn_samples *sorted, double q);

/* Pin the calling thread to one CPU (modulo the CPU count). 0 or -errno. */
int bn_pin_cpu(int cpu);
int bn_ncpus(void);

/* Markdown output. bn_section prints the heading and the description line; bn_header prints
 * the column names and the separator; bn_row prints one row of cells (NULL-terminated). */
void bn_section(const char *title, const char *description);
void bn_header(const char *first, ...);
void bn_row(const char *first, ...);
/* printf into one of 16 rotating static buffers, for bn_row cells. */
const char *bn_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "yes" / "no" for a measured ratio against a target (lower is better). */
const char *bn_met(double ratio, double target);

/*
 * Raw samples for plots: when SHMKIT_BENCH_DATA names a directory (bench/run.sh sets it), write
 * up to 1000 points of the CDF of one series to <dir>/<plot>.<series>.dat ("value fraction"
 * per line; the samples must be sorted, as bn_stats leaves them). run.sh
 * draws every <plot> as a latency CDF into docs/plots/<plot>.svg (when gnuplot is installed).
 * Names: [a-z0-9_-] only. Returns 0, or -errno (nothing is written when the variable is unset).
 */
int bn_dump(const char *plot, const char *series, const struct bn_samples *sorted);

/* The raw futex reference: wait until *w is 1, then take it (set 0); post sets it and always
 * calls FUTEX_WAKE (no waiter flag). */
void bn_futex_wait(_Atomic(uint32_t) *w);
void bn_futex_post(_Atomic(uint32_t) *w);

/* Prevent the compiler from optimising a value away. */
#define BN_KEEP(x) __asm__ __volatile__("" : : "g"(x) : "memory")

#endif
