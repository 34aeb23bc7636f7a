/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Restore: cow_restore() after 10% of the space's pages (chosen at random)
 * were rewritten, against memcpy of those same pages.
 */
#include <cow.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "benchlib.h"

int b_restore_main(int argc, char **argv)
{
	size_t size = 1ul << 30, pages, dirty;
	int repeat = 5, r;
	double *ours, *base;
	size_t *idx;
	cow_space *s;
	char *src, *dst;

	if ((r = b_args(argc, argv, "bench restore", &size, &repeat)))
		return r < 0 ? 2 : 0;
	pages = size / 4096;
	dirty = pages / 10 ? pages / 10 : 1;
	ours = calloc((size_t)repeat, sizeof *ours);
	base = calloc((size_t)repeat, sizeof *base);
	idx = malloc(dirty * sizeof *idx);
	s = cow_space_create(size, 0);
	if (!s || !ours || !base || !idx) {
		perror("cow_space_create");
		return 1;
	}
	srand(42);
	for (size_t k = 0; k < dirty; k++)
		idx[k] = ((size_t)rand() * 65536u + (size_t)rand()) % pages;
	printf("# restore %zu MiB after rewriting %zu random pages (10%%), backend %s, vs memcpy of those pages\n",
	       size >> 20, dirty, cow_backend_name());
	b_touch(cow_base(s), size, 1);
	src = b_anon_resident(size);
	dst = b_anon_resident(size);
	for (int i = 0; i < repeat; i++) {
		cow_snap *x = cow_snapshot(s);
		uint64_t t0;

		for (size_t k = 0; k < dirty; k++)
			((char *)cow_base(s))[idx[k] * 4096] = (char)(i + 2);
		t0 = b_now_ns();
		if (cow_restore(s, x)) {
			perror("cow_restore");
			return 1;
		}
		ours[i] = (double)(b_now_ns() - t0);
		cow_snap_release(x);
		t0 = b_now_ns();
		for (size_t k = 0; k < dirty; k++)
			memcpy(dst + idx[k] * 4096, src + idx[k] * 4096, 4096);
		base[i] = (double)(b_now_ns() - t0);
	}
	b_result("restore_ms", b_median(ours, (size_t)repeat) / 1e6, "ms",
		 "memcpy_dirty", b_median(base, (size_t)repeat) / 1e6);
	munmap(src, size);
	munmap(dst, size);
	cow_space_destroy(s);
	free(idx);
	free(ours);
	free(base);
	return 0;
}
