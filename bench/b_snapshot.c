/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Freeze: cow_snapshot() of a fully written space, against fork() of this
 * process holding the same amount of anonymous memory resident (4 KiB pages).
 * Before each snapshot the space is rewritten (every page), as a database is
 * between two background saves.
 */
#include <cow.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "benchlib.h"

int b_snapshot_main(int argc, char **argv)
{
	size_t size = 1ul << 30;
	int repeat = 5, r;
	double *snap, *frk;
	cow_space *s;
	void *anon;

	if ((r = b_args(argc, argv, "bench snapshot", &size, &repeat)))
		return r < 0 ? 2 : 0;
	snap = calloc((size_t)repeat, sizeof *snap);
	frk = calloc((size_t)repeat, sizeof *frk);
	s = cow_space_create(size, 0);
	if (!s || !snap || !frk) {
		perror("cow_space_create");
		return 1;
	}
	printf("# freeze %zu MiB: cow_snapshot (backend %s) vs fork() with the same resident memory\n",
	       size >> 20, cow_backend_name());
	for (int i = 0; i < repeat; i++) {
		uint64_t t0;
		cow_snap *x;

		b_touch(cow_base(s), size, (unsigned char)i);
		t0 = b_now_ns();
		x = cow_snapshot(s);
		snap[i] = (double)(b_now_ns() - t0);
		cow_snap_release(x);
	}
	cow_space_destroy(s);
	anon = b_anon_resident(size);
	for (int i = 0; i < repeat; i++)
		frk[i] = b_fork_ns();
	munmap(anon, size);
	b_result("snapshot_ms", b_median(snap, (size_t)repeat) / 1e6, "ms",
		 "fork", b_median(frk, (size_t)repeat) / 1e6);
	free(snap);
	free(frk);
	return 0;
}
