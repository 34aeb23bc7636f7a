/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bench_load.c — what checking every block at load costs.
 *
 * cow_store_load() reads every data block of the checkpoint once and checks
 * its XXH3 checksum before it returns. This measures, in one run, on one
 * checkpoint of --size bytes (every page written, so every page has a
 * block), with the file in the page cache (warm) and dropped from it
 * (cold, posix_fadvise DONTNEED after fsync):
 *
 *   - load:  cow_store_load() through a writable handle (page table, every
 *            block read and checked; the pages are then mapped from the
 *            page cache): what cowkv does at start;
 *   - load_ro: the same through a read-only handle, which copies the checked
 *            pages into memory;
 *   - read:  a plain sequential pread() of the whole store file, 1 MiB at
 *            a time: the baseline, what any check of the data must pay;
 *   - open:  cow_store_open(), which reads every page table: about what a
 *            lazy load (no data read) would cost;
 *   - touch: reading every page of the loaded snapshot afterwards
 *            (cow_snap_read), which a program pays anyway on first use.
 *
 * Files go to $COW_BENCH_DIR (default /var/tmp: a disk, not tmpfs).
 * Usage: bench_load [--size N] [--repeat N]
 */
#include <cow.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "benchlib.h"

/* Drop path from the page cache (its pages are clean after the commit's
 * fsync). */
static void drop_cache(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		fdatasync(fd);
		posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
		close(fd);
	}
}

struct times {
	double read, open, load, load_ro, touch;
};

/* cow_store_load() of id through a handle opened with flags, released at
 * once: ns, or -1. */
static double load_once(const char *store, uint64_t id, int flags, int cold)
{
	cow_store *st = cow_store_open(store, flags);
	cow_snap *snap;
	uint64_t t0;

	if (!st)
		return -1;
	if (cold)
		drop_cache(store);
	t0 = b_now_ns();
	snap = cow_store_load(st, id);
	t0 = b_now_ns() - t0;
	if (!snap)
		fprintf(stderr, "cow_store_load: %s\n", cow_store_errmsg(st));
	cow_snap_release(snap);
	cow_store_close(st);
	return snap ? (double)t0 : -1;
}

/* One measurement, warm or cold. */
static int measure(const char *store, uint64_t id, size_t size, int cold, char *buf,
		   struct times *t)
{
	cow_store *st;
	cow_snap *snap;
	uint64_t t0;

	if (cold)
		drop_cache(store);
	if ((t->read = b_read_file_ns(store, buf)) < 0)
		return -1;
	if (cold)
		drop_cache(store);
	if ((t->load_ro = load_once(store, id, COW_STORE_RDONLY, cold)) < 0)
		return -1;
	if (cold)
		drop_cache(store);
	t0 = b_now_ns();
	st = cow_store_open(store, 0);
	t->open = (double)(b_now_ns() - t0);
	if (!st)
		return -1;
	if (cold)
		drop_cache(store);
	t0 = b_now_ns();
	snap = cow_store_load(st, id);
	t->load = (double)(b_now_ns() - t0);
	if (!snap) {
		fprintf(stderr, "cow_store_load: %s\n", cow_store_errmsg(st));
		cow_store_close(st);
		return -1;
	}
	t0 = b_now_ns();
	for (size_t off = 0; off < size; off += 1u << 20)
		if (cow_snap_read(snap, off, buf, size - off < (1u << 20) ? size - off : 1u << 20))
			return -1;
	t->touch = (double)(b_now_ns() - t0);
	cow_snap_release(snap);
	cow_store_close(st);
	return 0;
}

/* Write a checkpoint of size bytes, every page different and non-zero. */
static int make_store(const char *store, size_t size, uint64_t *id)
{
	cow_space *s = cow_space_create(size, 0);
	cow_store *st = cow_store_open(store, COW_STORE_CREATE | COW_STORE_EXCL);
	cow_snap *snap;
	int err;

	if (!s || !st)
		return -1;
	for (size_t i = 0; i < size / 8; i++)
		((uint64_t *)cow_base(s))[i] = i * 0x9e3779b97f4a7c15ull + 1;
	snap = cow_snapshot(s);
	err = snap ? cow_store_commit(st, snap, id) : -1;
	cow_snap_release(snap);
	cow_space_destroy(s);
	cow_store_close(st);
	return err;
}

int main(int argc, char **argv)
{
	const char *dir = getenv("COW_BENCH_DIR") ? getenv("COW_BENCH_DIR") : "/var/tmp";
	size_t size = 512ul << 20;
	int repeat = 3, r;
	char store[512], *buf = malloc(1u << 20);
	struct times t[2][16];
	double v[5][16];
	uint64_t id;

	if ((r = b_args(argc, argv, "bench_load", &size, &repeat)))
		return r < 0 ? 2 : 0;
	if (repeat > 16)
		repeat = 16;
	snprintf(store, sizeof store, "%s/cow-bench-load-%d", dir, (int)getpid());
	if (!buf || make_store(store, size, &id)) {
		perror("making the store");
		unlink(store);
		return 1;
	}
	printf("# cow_store_load of a %zu MiB checkpoint (every block checked) vs a plain\n"
	       "# pread of the store file; files in %s\n", size >> 20, dir);
	for (int i = 0; i < repeat; i++)
		for (int cold = 0; cold < 2; cold++)
			if (measure(store, id, size, cold, buf, &t[cold][i])) {
				perror("measure");
				unlink(store);
				return 1;
			}
	unlink(store);
	for (int cold = 0; cold < 2; cold++) {
		const char *how = cold ? "cold" : "warm";
		char name[64], base[64];

		for (int i = 0; i < repeat; i++) {
			v[0][i] = t[cold][i].load;
			v[1][i] = t[cold][i].read;
			v[2][i] = t[cold][i].open;
			v[3][i] = t[cold][i].touch;
			v[4][i] = t[cold][i].load_ro;
		}
		printf("# %s: load %.1f ms (%.0f MiB/s), read-only load (copies) %.1f ms, "
		       "read %.1f ms, open %.1f ms, touch after load %.1f ms\n", how,
		       b_median(v[0], (size_t)repeat) / 1e6,
		       (double)size / 1048576 / (b_median(v[0], (size_t)repeat) / 1e9),
		       b_median(v[4], (size_t)repeat) / 1e6,
		       b_median(v[1], (size_t)repeat) / 1e6, b_median(v[2], (size_t)repeat) / 1e6,
		       b_median(v[3], (size_t)repeat) / 1e6);
		snprintf(name, sizeof name, "store_load_checked_%s_ms", how);
		snprintf(base, sizeof base, "pread_file_%s", how);
		b_result(name, b_median(v[0], (size_t)repeat) / 1e6, "ms", base,
			 b_median(v[1], (size_t)repeat) / 1e6);
		snprintf(name, sizeof name, "store_load_readonly_%s_ms", how);
		b_result(name, b_median(v[4], (size_t)repeat) / 1e6, "ms", base,
			 b_median(v[1], (size_t)repeat) / 1e6);
		snprintf(name, sizeof name, "store_open_tables_%s_ms", how);
		b_result(name, b_median(v[2], (size_t)repeat) / 1e6, "ms", base,
			 b_median(v[1], (size_t)repeat) / 1e6);
	}
	free(buf);
	return 0;
}
