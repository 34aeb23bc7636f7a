/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bench_kvflush.c — what cowkv's FLUSHALL costs, at the libcow level:
 *   baseline: a new space of the same size and a new heap in it, the old
 *             space destroyed (FLUSHALL until issue 13);
 *   reset:    the heap formatted again in place (kvdb_reset(), FLUSHALL now).
 * Each on a space of SIZE bytes (default 4 GiB) whose heap holds N blocks of
 * 64 bytes (default 1,000,000), median of REPEAT runs (default 5).
 *
 *   build/bench_kvflush [SIZE] [REPEAT] [N]
 */
#include <stdio.h>
#include <stdlib.h>

#include <cow.h>

#include "benchlib.h"

/* A space of size bytes with a heap holding n blocks. */
static cow_space *filled(size_t size, size_t n, cow_heap **h)
{
	cow_space *s = cow_space_create(size, 0);

	if (!s || !(*h = cow_heap_init(s))) {
		perror("space");
		exit(1);
	}
	for (size_t i = 0; i < n; i++)
		if (!cow_heap_alloc(*h, 64)) {
			fprintf(stderr, "heap full after %zu blocks\n", i);
			break;
		}
	return s;
}

int main(int argc, char **argv)
{
	size_t size = b_size_arg(argc > 1 ? argv[1] : NULL, 4ull << 30);
	int repeat = argc > 2 ? atoi(argv[2]) : 5;
	size_t n = argc > 3 ? (size_t)atoll(argv[3]) : 1000000;
	double base[64], reset[64];

	if (repeat < 1 || repeat > 64)
		repeat = 5;
	for (int r = 0; r < repeat; r++) {
		cow_heap *h, *h2;
		cow_space *s = filled(size, n, &h), *s2;
		uint64_t t0 = b_now_ns();

		/* baseline: what FLUSHALL did */
		s2 = cow_space_create(size, 0);
		h2 = s2 ? cow_heap_init(s2) : NULL;
		cow_heap_close(h);
		cow_space_destroy(s);
		base[r] = (double)(b_now_ns() - t0) / 1e6;
		if (!h2) {
			perror("new space");
			return 1;
		}
		cow_heap_close(h2);
		cow_space_destroy(s2);

		/* reset in place: what it does now */
		s = filled(size, n, &h);
		t0 = b_now_ns();
		cow_heap_close(h);
		h = cow_heap_init(s);
		reset[r] = (double)(b_now_ns() - t0) / 1e6;
		if (!h || !cow_heap_alloc(h, 64)) {
			perror("reset");
			return 1;
		}
		cow_heap_close(h);
		cow_space_destroy(s);
	}
	printf("space %zu bytes, %zu blocks of 64 bytes, median of %d\n", size, n, repeat);
	b_result("flush: new space (baseline)", b_median(base, (size_t)repeat), "ms",
		 "new space", b_median(base, (size_t)repeat));
	b_result("flush: heap reset in place", b_median(reset, (size_t)repeat), "ms",
		 "new space", b_median(base, (size_t)repeat));
	return 0;
}
