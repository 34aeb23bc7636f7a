/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * b_str.c — what a COW string saves, and what its first write costs.
 *
 *   copy   pass a string of --size bytes (default 1 MiB) to --count holders
 *          in turn (default 1000), each keeping it until the ring of 8
 *          holders comes back round: cow_str_copy() against strdup().
 *   detach the first write to a shared copy (cow_str_make_mut(): allocate
 *          and copy --size bytes) against memcpy() of --size bytes into a
 *          buffer already in memory: the price of copy-on-write when it
 *          does copy.
 *   reuse  a write to an unshared string (cow_str_make_mut() finds the count
 *          at 1: no copy) against the same memcpy().
 *
 * Each figure is the median over --repeat runs (default 11); the detach
 * and memcpy figures over 51 single timed writes per run.
 *   bench_str [--size N] [--count N] [--repeat N]
 */
#include <cow.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchlib.h"

int b_str_main(int argc, char **argv);

#define RING 8

static volatile unsigned char sink;

/* What a holder does with the string it is given: keep it, look at it. */
static void hold_cow(cow_str *ring, size_t i, const cow_str *s)
{
	cow_str_release(&ring[i % RING]);
	if (cow_str_copy(&ring[i % RING], s))
		abort();
	sink = (unsigned char)cow_str_data(&ring[i % RING])[i % 4096];
}

static void hold_dup(char **ring, size_t i, const char *s)
{
	free(ring[i % RING]);
	ring[i % RING] = strdup(s);
	if (!ring[i % RING])
		abort();
	sink = (unsigned char)ring[i % RING][i % 4096];
}

/* ns per pass, over count passes: cow_str (dup == 0) or strdup. */
static double time_passes(const cow_str *s, size_t count, int dup)
{
	cow_str cring[RING] = { 0 };
	char *dring[RING] = { 0 };
	uint64_t t0 = b_now_ns();

	for (size_t i = 0; i < count; i++) {
		if (dup)
			hold_dup(dring, i, cow_str_data(s));
		else
			hold_cow(cring, i, s);
	}
	for (int i = 0; i < RING; i++) {
		cow_str_release(&cring[i]);
		free(dring[i]);
	}
	return (double)(b_now_ns() - t0) / (double)count;
}

/* ns of the first write to a fresh copy of s (a detach). */
static double time_detach(const cow_str *s)
{
	cow_str c = COW_STR_INIT;
	uint64_t t0, t1;
	char *p;

	if (cow_str_copy(&c, s))
		abort();
	t0 = b_now_ns();
	p = cow_str_make_mut(&c);
	if (!p)
		abort();
	p[0] = 'w';
	t1 = b_now_ns();
	cow_str_release(&c);
	return (double)(t1 - t0);
}

/* ns per write to the unshared string *s (a reuse), over count writes. */
static double time_reuse(cow_str *s, size_t count)
{
	uint64_t t0 = b_now_ns();

	for (size_t i = 0; i < count; i++) {
		char *p = cow_str_make_mut(s);

		if (!p)
			abort();
		p[i % 4096] = 'r';
	}
	return (double)(b_now_ns() - t0) / (double)count;
}

static double time_memcpy(char *dst, const char *src, size_t n)
{
	uint64_t t0 = b_now_ns();

	memcpy(dst, src, n);
	sink = (unsigned char)dst[n / 2];
	return (double)(b_now_ns() - t0);
}

static int usage(void)
{
	fprintf(stderr, "usage: bench_str [--size N] [--count N] [--repeat N]\n");
	return 2;
}

int b_str_main(int argc, char **argv)
{
	size_t size = 1 << 20, count = 1000, repeat = 11, inner = 51;
	double *cow, *dup, *det, *reu, *cpy;
	cow_str s = COW_STR_INIT, own = COW_STR_INIT;
	char *text, *dst, name[64];

	for (int i = 1; i < argc; i++) {
		if (i + 1 < argc && !strcmp(argv[i], "--size"))
			size = b_size_arg(argv[++i], size);
		else if (i + 1 < argc && !strcmp(argv[i], "--count"))
			count = b_size_arg(argv[++i], count);
		else if (i + 1 < argc && !strcmp(argv[i], "--repeat"))
			repeat = b_size_arg(argv[++i], repeat);
		else
			return usage();
	}
	text = malloc(size + 1);
	dst = malloc(size);
	cow = calloc(repeat, sizeof *cow);
	dup = calloc(repeat, sizeof *dup);
	det = calloc(repeat * inner, sizeof *det);
	reu = calloc(repeat, sizeof *reu);
	cpy = calloc(repeat * inner, sizeof *cpy);
	if (!text || !dst || !cow || !dup || !det || !reu || !cpy)
		return 1;
	for (size_t i = 0; i < size; i++)
		text[i] = (char)('a' + i % 26);
	text[size] = 0;
	memset(dst, 1, size);
	if (cow_str_newn(&s, text, size) || cow_str_newn(&own, text, size))
		return 1;

	for (size_t r = 0; r < repeat; r++) {
		cow[r] = time_passes(&s, count, 0);
		dup[r] = time_passes(&s, count, 1);
		reu[r] = time_reuse(&own, count);
		for (size_t j = 0; j < inner; j++) {
			det[r * inner + j] = time_detach(&s);
			cpy[r * inner + j] = time_memcpy(dst, text, size);
		}
	}
	snprintf(name, sizeof name, "str_copy_%zuB", size);
	b_result(name, b_median(cow, repeat), "ns/pass", "strdup",
		 b_median(dup, repeat));
	printf("# a cow_str copy costs 1/%.0f of a strdup of %zu bytes\n",
	       b_median(dup, repeat) / b_median(cow, repeat), size);
	snprintf(name, sizeof name, "str_first_write_%zuB", size);
	b_result(name, b_median(det, repeat * inner), "ns", "memcpy",
		 b_median(cpy, repeat * inner));
	snprintf(name, sizeof name, "str_write_unshared_%zuB", size);
	b_result(name, b_median(reu, repeat), "ns", "memcpy",
		 b_median(cpy, repeat * inner));

	cow_str_release(&s);
	cow_str_release(&own);
	free(text);
	free(dst);
	free(cow);
	free(dup);
	free(det);
	free(reu);
	free(cpy);
	return 0;
}
