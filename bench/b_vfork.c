/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vfork: a child that writes some pages and exits. cow_vfork lends the
 * parent's frames (no copies, no protection to set up for the child);
 * cow_fork shares them copy-on-write (the child's writes copy). Each against
 * the other, the child writing 1% of the pages.
 */
#include <cow.h>
#include <stdio.h>
#include <stdlib.h>

#include "benchlib.h"

int b_vfork_main(int argc, char **argv)
{
	size_t size = 256ul << 20, pages;
	int repeat = 5, r;
	double *vf, *fk;
	cow_space *p;

	if ((r = b_args(argc, argv, "bench vfork", &size, &repeat)))
		return r < 0 ? 2 : 0;
	pages = size / 4096;
	vf = calloc((size_t)repeat, sizeof *vf);
	fk = calloc((size_t)repeat, sizeof *fk);
	p = cow_space_create(size, 0);
	if (!p || !vf || !fk) {
		perror("bench vfork");
		return 1;
	}
	printf("# vfork+write vs fork+write of %zu MiB, the child writing %zu pages (backend %s)\n",
	       size >> 20, pages / 100 ? pages / 100 : 1, cow_backend_name());
	for (int i = 0; i < repeat; i++) {
		uint64_t t0;
		cow_space *c;

		b_touch(cow_base(p), size, (unsigned char)i);
		t0 = b_now_ns();
		c = cow_vfork(p);
		for (size_t k = 0; c && k < pages; k += 100)
			((char *)cow_base(c))[k * 4096] = 1;
		cow_space_destroy(c);
		vf[i] = (double)(b_now_ns() - t0);
		b_touch(cow_base(p), size, (unsigned char)i);
		t0 = b_now_ns();
		c = cow_fork(p);
		for (size_t k = 0; c && k < pages; k += 100)
			((char *)cow_base(c))[k * 4096] = 1;
		cow_space_destroy(c);
		fk[i] = (double)(b_now_ns() - t0);
	}
	b_result("vfork_write_ms", b_median(vf, (size_t)repeat) / 1e6, "ms",
		 "fork_write", b_median(fk, (size_t)repeat) / 1e6);
	cow_space_destroy(p);
	free(vf);
	free(fk);
	return 0;
}
