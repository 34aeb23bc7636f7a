/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Store: committing a snapshot of a written space as a checkpoint, against
 * a plain sequential write()+fsync() of the same bytes; then, after 10% of
 * the pages were rewritten, an incremental commit against the full one.
 * Files go to $COW_BENCH_DIR (default /var/tmp: a disk, not tmpfs).
 */
#include <cow.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "benchlib.h"

/* Plain sequential write of [p, p+len) to path, fsync: ns. */
static double plain_write(const char *path, const char *p, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	uint64_t t0 = b_now_ns();

	if (fd < 0)
		return -1;
	for (size_t off = 0; off < len;) {
		size_t n = len - off < (1u << 20) ? len - off : 1u << 20;
		ssize_t w = write(fd, p + off, n);

		if (w <= 0) {
			close(fd);
			return -1;
		}
		off += (size_t)w;
	}
	if (fsync(fd)) {
		close(fd);
		return -1;
	}
	close(fd);
	unlink(path);
	return (double)(b_now_ns() - t0);
}

/* Snapshot s and commit it to st: ns (the snapshot is not timed). */
static double commit(cow_store *st, cow_space *s)
{
	cow_snap *x = cow_snapshot(s);
	uint64_t t0, id;
	int err;

	if (!x)
		return -1;
	t0 = b_now_ns();
	err = cow_store_commit(st, x, &id);
	t0 = b_now_ns() - t0;
	cow_snap_release(x);
	if (err)
		fprintf(stderr, "cow_store_commit: %s (%s)\n", cow_strerror(err), cow_store_errmsg(st));
	return err ? -1 : (double)t0;
}

int b_store_main(int argc, char **argv)
{
	const char *dir = getenv("COW_BENCH_DIR") ? getenv("COW_BENCH_DIR") : "/var/tmp";
	size_t size = 1ul << 30, pages;
	int repeat = 3, r;
	double *plain, *full, *incr;
	char path[512], store[512];
	cow_space *s;
	char *base;

	if ((r = b_args(argc, argv, "bench store", &size, &repeat)))
		return r < 0 ? 2 : 0;
	pages = size / 4096;
	snprintf(path, sizeof path, "%s/cow-bench-plain-%d", dir, (int)getpid());
	snprintf(store, sizeof store, "%s/cow-bench-store-%d", dir, (int)getpid());
	plain = calloc((size_t)repeat, sizeof *plain);
	full = calloc((size_t)repeat, sizeof *full);
	incr = calloc((size_t)repeat, sizeof *incr);
	s = cow_space_create(size, 0);
	if (!s || !plain || !full || !incr) {
		perror("cow_space_create");
		return 1;
	}
	base = cow_base(s);
	for (size_t i = 0; i < pages; i++)		/* no zero page: all are written */
		memset(base + i * 4096, (int)(i % 255) + 1, 4096);
	printf("# store commit of %zu MiB (backend %s, files in %s) vs write()+fsync();\n"
	       "# then 10%% of the pages rewritten: incremental commit vs the full one\n",
	       size >> 20, cow_backend_name(), dir);
	for (int i = 0; i < repeat; i++) {
		cow_store *st;

		plain[i] = plain_write(path, base, size);
		unlink(store);
		st = cow_store_open(store, COW_STORE_CREATE | COW_STORE_EXCL);
		if (plain[i] < 0 || !st) {
			perror(st ? "write" : "cow_store_open");
			return 1;
		}
		full[i] = commit(st, s);
		for (size_t k = 0; k < pages; k += 10)
			base[k * 4096] = (char)(i + 3);
		incr[i] = commit(st, s);
		cow_store_close(st);
		unlink(store);
		if (full[i] < 0 || incr[i] < 0)
			return 1;
	}
	printf("# write+fsync %.0f MiB/s, full commit %.0f MiB/s\n",
	       (double)size / 1048576 / (b_median(plain, (size_t)repeat) / 1e9),
	       (double)size / 1048576 / (b_median(full, (size_t)repeat) / 1e9));
	b_result("store_commit_ms", b_median(full, (size_t)repeat) / 1e6, "ms",
		 "write_fsync", b_median(plain, (size_t)repeat) / 1e6);
	b_result("store_commit_10pct_ms", b_median(incr, (size_t)repeat) / 1e6, "ms",
		 "store_commit_full", b_median(full, (size_t)repeat) / 1e6);
	cow_space_destroy(s);
	free(plain);
	free(full);
	free(incr);
	return 0;
}
