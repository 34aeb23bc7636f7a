/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Helpers for libcow's benchmarks. Every benchmark measures its figure and a
 * baseline in the same run (the machine is shared and noisy), repeats both,
 * and prints medians and their ratio, one result per line:
 *
 *   RESULT <name> <value> <unit> baseline=<name> <value> ratio=<x>
 *
 * so that scripts (and `cow bench`) can parse the output.
 */
#ifndef COW_BENCHLIB_H
#define COW_BENCHLIB_H

#include <stddef.h>
#include <stdint.h>

/* Monotonic time in nanoseconds. */
uint64_t b_now_ns(void);

/* Median of n values (sorts a copy). n > 0. */
double b_median(const double *v, size_t n);

/* Print one RESULT line; ratio = value / base. */
void b_result(const char *name, double value, const char *unit,
	      const char *base_name, double base);

/* Write every page of [p, p+len) (one byte per page) so it is resident. */
void b_touch(void *p, size_t len, unsigned char val);

/* A pseudo-random number below n (n > 0) from the xorshift64 state *state
 * (not 0): the same sequence from the same state, for every run. */
size_t b_rand_below(uint64_t *state, size_t n);

/* Time a sequential pread(2) of the whole file at path, 1 MiB at a time into
 * buf (1 MiB): ns, or -1 if it cannot be read. */
double b_read_file_ns(const char *path, char *buf);

/* Parse "--size N" style sizes (K/M/G suffixes); returns def on NULL. */
size_t b_size_arg(const char *s, size_t def);

/* Resident set size of this process in bytes (from /proc/self/statm). */
size_t b_rss(void);

/* MemAvailable from /proc/meminfo, in bytes; 0 if unknown. */
size_t b_mem_available(void);

/*
 * Progress of a long run, on stderr: "what [#####.....] done/total". Drawn
 * only when stderr is a terminal and the run has lasted half a second;
 * erased when done == total. Call with done = 0 to start a new run.
 */
void b_progress(const char *what, size_t done, size_t total);

/* Parse --size N and --repeat N (and --help); returns 0, 1 for help, -1 on
 * bad usage (message printed). */
int b_args(int argc, char **argv, const char *name, size_t *size, int *repeat);

/* Anonymous memory in 4 KiB pages (no THP), every page written. */
void *b_anon_resident(size_t len);

/* Time one fork() of this process (parent side, until fork returns), ns.
 * The child exits at once. */
double b_fork_ns(void);

/* Per-page cost (ns) of the kernel's COW fault: fork(), and the child
 * writes one byte in each page of [p, p+len). */
double b_kernel_cow_fault_ns(void *p, size_t len);

/*
 * Benchmark bodies. Each lives in bench/b_<name>.c as
 *   int b_<name>_main(int argc, char **argv);
 * and is run both by the thin program bench/bench_<name>.c and by
 * `cow bench <name>`. Common options: --size N, --repeat N.
 * Each returns 0, 1 (the measurement failed) or 2 (bad usage).
 */
int b_snapshot_main(int argc, char **argv);
int b_fault_main(int argc, char **argv);
int b_restore_main(int argc, char **argv);
int b_fork_main(int argc, char **argv);
int b_save_main(int argc, char **argv);
int b_spawn_main(int argc, char **argv);
int b_str_main(int argc, char **argv);

/* The space heap's benchmark body (bench/b_heap.c). */
int b_heap_main(int argc, char **argv);
int b_image_main(int argc, char **argv);
int b_vfork_main(int argc, char **argv);
int b_store_main(int argc, char **argv);
int b_cowkv_main(int argc, char **argv);
int b_spill_main(int argc, char **argv);
int b_loop_main(int argc, char **argv);
int b_scale_main(int argc, char **argv);
int b_cowkv_types_main(int argc, char **argv);	/* issue 13 part A */
int b_thp_main(int argc, char **argv);	/* issue 12: anonymous THP spaces */

#endif
