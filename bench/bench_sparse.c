/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bench_sparse.c — a big space that holds little: do its costs follow the
 * data or the size?
 *
 * cowkv's --maxmemory is the size of its space, and a user sets it to what
 * the machine can give (64 GiB, say) long before the dataset is that big.
 * For spaces of 1 GiB up to --size (default 64 GiB, x4 each step), each
 * holding the same 4 MiB of data (1,024 pages spread evenly), this times:
 *
 *   create   cow_space_create and the data written;
 *   freeze   the first cow_snapshot of another such space (the snapshot
 *            then released), against fork() of a process holding the same
 *            memory: an anonymous mapping of the size with the same pages
 *            written;
 *   save1    the first background save into a new store (cow_save_start +
 *            cow_save_finish: the store's fsyncs included);
 *   save2    the next save after one page changed;
 *   restart  cow_store_open + cow_store_load + cow_space_from_snap;
 *   destroy  cow_space_destroy of the restarted space, the snapshot
 *            released and the store closed;
 *   refork   cow_fork of the space, forked once before, after one page
 *            changed (the earlier fork destroyed);
 *   unfork   cow_space_destroy of that fork.
 *
 * Each figure is printed against the same figure at 1 GiB (1.0 is flat: the
 * cost does not grow with the size) and, for the saves, against writing
 * the data itself in the same run: a pwrite of 4 MiB into a file + fsync.
 * Files go to $COW_BENCH_DIR (default /var/tmp).
 * Usage: bench_sparse [--size N] [--repeat N]
 */
#include <cow.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "benchlib.h"

#define PAGE 4096ul
#define DATA_PAGES 1024ul
#define MAX_SIZES 8
#define MAX_REPEAT 16

enum { CREATE, FREEZE, SAVE1, SAVE2, RESTART, DESTROY, REFORK, UNFORK, NFIG };
static const char *fig_name[NFIG] = { "create", "freeze", "save1", "save2", "restart",
				      "destroy", "refork", "unfork" };

/* Write the data pages of a region of size bytes at b. */
static void write_data(unsigned char *b, size_t size)
{
	size_t step = size / PAGE / DATA_PAGES;

	for (size_t k = 0; k < DATA_PAGES; k++)
		memset(b + k * step * PAGE, (int)(k % 251) + 1, PAGE);
}

/* The first freeze of a new space holding the data, in ns; -1 on error. */
static double freeze_ns(size_t size)
{
	cow_space *s = cow_space_create(size, 0);
	cow_snap *x;
	uint64_t t0;

	if (!s)
		return -1;
	write_data(cow_base(s), size);
	t0 = b_now_ns();
	x = cow_snapshot(s);
	t0 = b_now_ns() - t0;
	cow_snap_release(x);
	cow_space_destroy(s);
	return x ? (double)t0 : -1;
}

/* Its baseline: fork() of this process holding an anonymous mapping of
 * size bytes with the same pages written, in ns; -1 on error. */
static double fork_same_ns(size_t size)
{
	unsigned char *b = mmap(NULL, size, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	double t;

	if (b == MAP_FAILED)
		return -1;
	write_data(b, size);
	t = b_fork_ns();
	munmap(b, size);
	return t;
}

/* A fork of s, forked before, after one page changed: refork and unfork
 * in ns into t[]. 0 or -1. */
static int refork_at(cow_space *s, size_t size, double *t)
{
	unsigned char *b = cow_base(s);
	cow_space *f = cow_fork(s);
	uint64_t t0;

	if (!f)
		return -1;
	cow_space_destroy(f);
	b[(DATA_PAGES / 3) * (size / PAGE / DATA_PAGES) * PAGE + 5] ^= 0x33;
	t0 = b_now_ns();
	f = cow_fork(s);
	t[REFORK] = (double)(b_now_ns() - t0);
	if (!f)
		return -1;
	t0 = b_now_ns();
	cow_space_destroy(f);
	t[UNFORK] = (double)(b_now_ns() - t0);
	return 0;
}

/* One round at one size: the figures in ns into t[]. 0 or -1. */
static int round_at(size_t size, const char *path, double *t)
{
	uint64_t t0 = b_now_ns(), id;
	cow_space *s = cow_space_create(size, 0), *r = NULL;
	cow_store *st = NULL;
	cow_snap *x = NULL;
	unsigned char *b;
	int err = -1;

	if (!s)
		return -1;
	b = cow_base(s);
	write_data(b, size);
	t[CREATE] = (double)(b_now_ns() - t0);
	if ((t[FREEZE] = freeze_ns(size)) < 0)
		goto out;
	unlink(path);
	if (!(st = cow_store_open(path, COW_STORE_CREATE | COW_STORE_EXCL)))
		goto out;
	t0 = b_now_ns();
	if (cow_save_finish(cow_save_start(st, s, 0), &id, NULL))
		goto out;
	t[SAVE1] = (double)(b_now_ns() - t0);
	b[(DATA_PAGES / 2) * (size / PAGE / DATA_PAGES) * PAGE + 9] ^= 0x5a;
	t0 = b_now_ns();
	if (cow_save_finish(cow_save_start(st, s, 0), &id, NULL))
		goto out;
	t[SAVE2] = (double)(b_now_ns() - t0);
	if (refork_at(s, size, t))
		goto out;
	cow_space_destroy(s);
	s = NULL;
	if (cow_store_close(st))
		goto out;
	st = NULL;
	t0 = b_now_ns();
	if (!(st = cow_store_open(path, 0)) || cow_store_latest(st, &id) ||
	    !(x = cow_store_load(st, id)) || !(r = cow_space_from_snap(x)))
		goto out;
	t[RESTART] = (double)(b_now_ns() - t0);
	t0 = b_now_ns();
	cow_space_destroy(r);
	r = NULL;
	cow_snap_release(x);
	x = NULL;
	err = cow_store_close(st);
	st = NULL;
	t[DESTROY] = (double)(b_now_ns() - t0);
out:
	if (err)
		perror("bench_sparse");
	cow_space_destroy(r);
	cow_snap_release(x);
	cow_store_close(st);
	cow_space_destroy(s);
	unlink(path);
	return err ? -1 : 0;
}

/* The baseline: the data itself written to a file and made durable. */
static double write_data_ns(const char *path, const char *buf)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	uint64_t t0 = b_now_ns();
	double t = -1;

	if (fd < 0)
		return -1;
	if (pwrite(fd, buf, DATA_PAGES * PAGE, 0) == (ssize_t)(DATA_PAGES * PAGE) && !fsync(fd))
		t = (double)(b_now_ns() - t0);
	close(fd);
	unlink(path);
	return t;
}

int main(int argc, char **argv)
{
	const char *dir = getenv("COW_BENCH_DIR") ? getenv("COW_BENCH_DIR") : "/var/tmp";
	size_t max = 64ul << 30, sizes[MAX_SIZES];
	static double t[MAX_SIZES][NFIG][MAX_REPEAT], base[MAX_REPEAT], fk[MAX_REPEAT];
	double med[MAX_SIZES][NFIG], v[MAX_REPEAT];
	int repeat = 3, nsizes = 0, r;
	char path[512], *buf = malloc(DATA_PAGES * PAGE);

	if ((r = b_args(argc, argv, "bench_sparse", &max, &repeat)))
		return r < 0 ? 2 : 0;
	if (repeat > MAX_REPEAT)
		repeat = MAX_REPEAT;
	for (size_t z = 1ul << 30; z <= max && nsizes < MAX_SIZES; z *= 4)
		sizes[nsizes++] = z;
	if (!buf || !nsizes) {
		fprintf(stderr, "bench_sparse: --size must be at least 1G\n");
		return 2;
	}
	memset(buf, 7, DATA_PAGES * PAGE);
	snprintf(path, sizeof path, "%s/cow-bench-sparse-%d", dir, (int)getpid());
	printf("# spaces of 1 GiB to %zu GiB, each holding the same %lu MiB (1,024 pages\n"
	       "# spread evenly); medians of %d; files in %s\n",
	       max >> 30, DATA_PAGES * PAGE >> 20, repeat, dir);
	for (int i = 0; i < repeat; i++) {
		if ((base[i] = write_data_ns(path, buf)) < 0)
			return 1;
		for (int z = 0; z < nsizes; z++) {
			double one[NFIG];

			if (round_at(sizes[z], path, one) < 0)
				return 1;
			if (z == nsizes - 1 && (fk[i] = fork_same_ns(sizes[z])) < 0)
				return 1;
			for (int f = 0; f < NFIG; f++)
				t[z][f][i] = one[f];
		}
	}
	for (int z = 0; z < nsizes; z++)
		for (int f = 0; f < NFIG; f++) {
			for (int i = 0; i < repeat; i++)
				v[i] = t[z][f][i];
			med[z][f] = b_median(v, (size_t)repeat);
		}
	printf("# %-8s", "size");
	for (int f = 0; f < NFIG; f++)
		printf(" %10s", fig_name[f]);
	printf("   (ms)\n");
	for (int z = 0; z < nsizes; z++) {
		printf("# %4zu GiB", sizes[z] >> 30);
		for (int f = 0; f < NFIG; f++)
			printf(" %10.2f", med[z][f] / 1e6);
		printf("\n");
	}
	for (int f = 0; f < NFIG; f++) {
		char name[64], bname[64];

		snprintf(name, sizeof name, "sparse_%s_%zug_ms", fig_name[f], sizes[nsizes - 1] >> 30);
		snprintf(bname, sizeof bname, "sparse_%s_1g", fig_name[f]);
		b_result(name, med[nsizes - 1][f] / 1e6, "ms", bname, med[0][f] / 1e6);
	}
	{
		double w = b_median(base, (size_t)repeat) / 1e6;
		char name[64];

		snprintf(name, sizeof name, "sparse_freeze_%zug_ms", sizes[nsizes - 1] >> 30);
		b_result(name, med[nsizes - 1][FREEZE] / 1e6, "ms", "fork_same_memory",
			 b_median(fk, (size_t)repeat) / 1e6);
		snprintf(name, sizeof name, "sparse_refork_%zug_ms", sizes[nsizes - 1] >> 30);
		b_result(name, med[nsizes - 1][REFORK] / 1e6, "ms", "fork_same_memory",
			 b_median(fk, (size_t)repeat) / 1e6);
		for (int f = SAVE1; f <= SAVE2; f++) {
			snprintf(name, sizeof name, "sparse_%s_%zug_ms", fig_name[f],
				 sizes[nsizes - 1] >> 30);
			b_result(name, med[nsizes - 1][f] / 1e6, "ms", "pwrite_fsync_4mib", w);
		}
	}
	free(buf);
	return 0;
}
