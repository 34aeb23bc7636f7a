/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fork: cow_fork() of a fully written space, against memcpy of the whole
 * space and against fork() of this process holding the same memory.
 */
#include <cow.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "benchlib.h"

int b_fork_main(int argc, char **argv)
{
	size_t size = 1ul << 30;
	int repeat = 5, r;
	double *ours, *mcp, *frk;
	cow_space *s;
	char *src, *dst;

	if ((r = b_args(argc, argv, "bench fork", &size, &repeat)))
		return r < 0 ? 2 : 0;
	ours = calloc((size_t)repeat, sizeof *ours);
	mcp = calloc((size_t)repeat, sizeof *mcp);
	frk = calloc((size_t)repeat, sizeof *frk);
	s = cow_space_create(size, 0);
	if (!s || !ours || !mcp || !frk) {
		perror("cow_space_create");
		return 1;
	}
	printf("# cow_fork of %zu MiB (backend %s) vs memcpy of it, and vs fork()\n",
	       size >> 20, cow_backend_name());
	for (int i = 0; i < repeat; i++) {
		cow_space *f;
		uint64_t t0;

		b_touch(cow_base(s), size, (unsigned char)i);
		t0 = b_now_ns();
		f = cow_fork(s);
		ours[i] = (double)(b_now_ns() - t0);
		if (!f) {
			perror("cow_fork");
			return 1;
		}
		cow_space_destroy(f);
	}
	cow_space_destroy(s);
	src = b_anon_resident(size);
	dst = b_anon_resident(size);
	for (int i = 0; i < repeat; i++) {
		uint64_t t0 = b_now_ns();

		memcpy(dst, src, size);
		mcp[i] = (double)(b_now_ns() - t0);
	}
	munmap(dst, size);
	for (int i = 0; i < repeat; i++)
		frk[i] = b_fork_ns();
	munmap(src, size);
	b_result("cow_fork_ms", b_median(ours, (size_t)repeat) / 1e6, "ms",
		 "memcpy", b_median(mcp, (size_t)repeat) / 1e6);
	b_result("cow_fork_ms", b_median(ours, (size_t)repeat) / 1e6, "ms",
		 "fork", b_median(frk, (size_t)repeat) / 1e6);
	free(ours);
	free(mcp);
	free(frk);
	return 0;
}
