/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Write fault: the cost per page of the first write after cow_snapshot(),
 * against the kernel's copy-on-write fault in a fork()ed child writing the
 * same number of pages.
 */
#include <cow.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "benchlib.h"

int b_fault_main(int argc, char **argv)
{
	size_t size = 64ul << 20;
	int repeat = 7, r;
	double *ours, *kern;
	cow_space *s;
	void *anon;

	if ((r = b_args(argc, argv, "bench fault", &size, &repeat)))
		return r < 0 ? 2 : 0;
	ours = calloc((size_t)repeat, sizeof *ours);
	kern = calloc((size_t)repeat, sizeof *kern);
	s = cow_space_create(size, 0);
	if (!s || !ours || !kern) {
		perror("cow_space_create");
		return 1;
	}
	printf("# first write per page after a snapshot, %zu MiB (backend %s) vs the kernel's COW fault after fork()\n",
	       size >> 20, cow_backend_name());
	b_touch(cow_base(s), size, 1);
	anon = b_anon_resident(size);
	for (int i = 0; i < repeat; i++) {
		cow_snap *x = cow_snapshot(s);
		uint64_t t0 = b_now_ns();

		b_touch(cow_base(s), size, (unsigned char)(i + 2));
		ours[i] = (double)(b_now_ns() - t0) / (double)(size / 4096);
		cow_snap_release(x);
		kern[i] = b_kernel_cow_fault_ns(anon, size);
	}
	b_result("fault_copy_ns", b_median(ours, (size_t)repeat), "ns/page",
		 "kernel_cow_fault", b_median(kern, (size_t)repeat));
	/* The reuse path: no snapshot holds the pages any more. */
	for (int i = 0; i < repeat; i++) {
		cow_snap *x = cow_snapshot(s);
		uint64_t t0;

		cow_snap_release(x);
		t0 = b_now_ns();
		b_touch(cow_base(s), size, (unsigned char)(i + 3));
		ours[i] = (double)(b_now_ns() - t0) / (double)(size / 4096);
	}
	b_result("fault_reuse_ns", b_median(ours, (size_t)repeat), "ns/page",
		 "kernel_cow_fault", b_median(kern, (size_t)repeat));
	munmap(anon, size);
	cow_space_destroy(s);
	free(ours);
	free(kern);
	return 0;
}
