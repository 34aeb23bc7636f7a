/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The fuzzer loop, and costs that follow the pages touched.
 *
 * b_loop: the persistent-mode loop of a fuzzer or simulator — the target's
 * state is snapshotted once; every iteration writes N random pages and
 * puts the state back. libcow (cow_restore to the snapshot) against
 *   - a fork server: fork(), the child writes N pages and exits, wait();
 *   - the kernel's own copy-on-write reset: a memfd mapped MAP_PRIVATE,
 *     the N pages written (the kernel copies them), then
 *     madvise(MADV_DONTNEED) of each written page (back to the file's
 *     content), as Wasmtime resets instances.
 * for N = 16, 100, 1000, per iteration, medians over repeats.
 *
 * b_scale: restore, re-snapshot and re-fork (cow_fork of a space frozen
 * before) after 100 written pages at 64 MiB,
 * 256 MiB, 1 GiB and 4 GiB (capped by the memory available): flat means
 * proportional to the pages, not the space. The baseline is a memcpy of
 * the 100 pages.
 */
#include <cow.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "benchlib.h"

#define PAGE 4096ul

static uint64_t rng_state = 88172645463325252ull;

static size_t rnd(size_t n)
{
	return b_rand_below(&rng_state, n);
}

static void write_pages(char *base, size_t pages, size_t n, char v)
{
	for (size_t k = 0; k < n; k++)
		base[rnd(pages) * PAGE + 8] = v;
}

/* ns per iteration of the libcow loop. */
static double loop_cow(cow_space *s, cow_snap *x, size_t n, int iters)
{
	size_t pages = cow_size(s) / PAGE;
	uint64_t t0 = b_now_ns();

	for (int k = 0; k < iters; k++) {
		write_pages(cow_base(s), pages, n, (char)k);
		if (cow_restore(s, x)) {
			perror("cow_restore");
			exit(1);
		}
	}
	return (double)(b_now_ns() - t0) / iters;
}

/* ns per iteration of a fork server over resident memory mem. */
static double loop_fork(char *mem, size_t size, size_t n, int iters)
{
	uint64_t t0 = b_now_ns();

	for (int k = 0; k < iters; k++) {
		pid_t pid = fork();
		int st;

		if (pid == 0) {
			write_pages(mem, size / PAGE, n, (char)k);
			_exit(0);
		}
		waitpid(pid, &st, 0);
	}
	return (double)(b_now_ns() - t0) / iters;
}

/* ns per iteration of the kernel's MAP_PRIVATE + MADV_DONTNEED reset. */
static double loop_kernel(char *priv, size_t size, size_t n, int iters, size_t *idx)
{
	uint64_t t0 = b_now_ns();

	for (int k = 0; k < iters; k++) {
		for (size_t j = 0; j < n; j++) {
			idx[j] = rnd(size / PAGE);
			priv[idx[j] * PAGE + 8] = (char)k;
		}
		for (size_t j = 0; j < n; j++)
			madvise(priv + idx[j] * PAGE, PAGE, MADV_DONTNEED);
	}
	return (double)(b_now_ns() - t0) / iters;
}

int b_loop_main(int argc, char **argv)
{
	static const size_t counts[] = { 16, 100, 1000 };
	size_t size = 1ul << 30, idx[1000];
	int repeat = 5, r, iters = 200, fork_iters = 10;
	double *c, *f, *kr;
	cow_space *s;
	cow_snap *x;
	char *mem, *priv;
	int fd;

	if ((r = b_args(argc, argv, "bench loop", &size, &repeat)))
		return r < 0 ? 2 : 0;
	c = calloc((size_t)repeat, sizeof *c);
	f = calloc((size_t)repeat, sizeof *f);
	kr = calloc((size_t)repeat, sizeof *kr);
	s = cow_space_create(size, 0);
	fd = memfd_create("bench-loop", MFD_CLOEXEC);
	if (!c || !f || !kr || !s || fd < 0 || ftruncate(fd, (off_t)size)) {
		perror("bench loop");
		return 1;
	}
	printf("# fuzzer loop over %zu MiB: write N random pages, reset (backend %s); per iteration\n",
	       size >> 20, cow_backend_name());
	b_touch(cow_base(s), size, 1);
	x = cow_snapshot(s);
	mem = b_anon_resident(size);
	priv = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (!x || priv == MAP_FAILED) {
		perror("bench loop");
		return 1;
	}
	{	/* the file's content, then every page mapped (read) once */
		char *sh = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

		b_touch(sh, size, 1);
		munmap(sh, size);
		for (size_t off = 0; off < size; off += PAGE)
			(void)*(volatile char *)(priv + off);
	}
	for (size_t ci = 0; ci < sizeof counts / sizeof *counts; ci++) {
		size_t n = counts[ci];
		char name[64], base[64];

		for (int i = 0; i < repeat; i++) {
			c[i] = loop_cow(s, x, n, iters);
			f[i] = loop_fork(mem, size, n, fork_iters);
			kr[i] = loop_kernel(priv, size, n, iters, idx);
		}
		snprintf(name, sizeof name, "loop_%zu_pages_us", n);
		snprintf(base, sizeof base, "fork_server_%zu", n);
		b_result(name, b_median(c, (size_t)repeat) / 1e3, "us", base,
			 b_median(f, (size_t)repeat) / 1e3);
		snprintf(base, sizeof base, "kernel_private_reset_%zu", n);
		b_result(name, b_median(c, (size_t)repeat) / 1e3, "us", base,
			 b_median(kr, (size_t)repeat) / 1e3);
	}
	cow_snap_release(x);
	cow_space_destroy(s);
	munmap(mem, size);
	munmap(priv, size);
	close(fd);
	free(c);
	free(f);
	free(kr);
	return 0;
}

/* Medians at one size, in ns. */
struct scale_fig {
	double restore, snap, fork, destroy, copy, restore1, copy1;
};

/* Medians of restoring s to x after one written page, and of a memcpy of
 * one page, in ns (into out->restore1, out->copy1). 0 or -1. */
static int scale_one_page(cow_space *s, cow_snap *x, int repeat, struct scale_fig *out)
{
	double *a = calloc((size_t)repeat, sizeof *a), *m = calloc((size_t)repeat, sizeof *m);
	char *src = malloc(PAGE), *dst = malloc(PAGE);
	int err = !a || !m || !src || !dst ? -1 : 0;

	if (!err && cow_restore(s, x))
		err = -1;
	for (int i = 0; !err && i < repeat; i++) {
		uint64_t t0;

		write_pages(cow_base(s), cow_size(s) / PAGE, 1, (char)(i + 1));
		t0 = b_now_ns();
		if (cow_restore(s, x))
			err = -1;
		a[i] = (double)(b_now_ns() - t0);
		memset(src, i, PAGE);
		t0 = b_now_ns();
		memcpy(dst, src, PAGE);
		m[i] = (double)(b_now_ns() - t0);
	}
	if (!err) {
		out->restore1 = b_median(a, (size_t)repeat);
		out->copy1 = b_median(m, (size_t)repeat);
	}
	free(a); free(m); free(src); free(dst);
	return err;
}

/* restore, re-snapshot, re-fork and destroying the fork after 100 written
 * pages, at one size. */
static int scale_one(size_t size, int repeat, struct scale_fig *out)
{
	cow_space *s = cow_space_create(size, 0);
	double *a = calloc((size_t)repeat, sizeof *a), *b = calloc((size_t)repeat, sizeof *b);
	double *m = calloc((size_t)repeat, sizeof *m), *fk = calloc((size_t)repeat, sizeof *fk);
	double *de = calloc((size_t)repeat, sizeof *de);
	char *src = malloc(100 * PAGE), *dst = malloc(100 * PAGE);
	cow_snap *x;

	if (!s || !a || !b || !m || !fk || !de || !src || !dst)
		return -1;
	b_touch(cow_base(s), size, 1);
	x = cow_snapshot(s);
	memset(src, 3, 100 * PAGE);
	for (int i = 0; i < repeat; i++) {
		uint64_t t0;
		cow_snap *y;

		write_pages(cow_base(s), size / PAGE, 100, (char)i);
		t0 = b_now_ns();
		if (cow_restore(s, x))
			return -1;
		a[i] = (double)(b_now_ns() - t0);
		write_pages(cow_base(s), size / PAGE, 100, (char)i);
		t0 = b_now_ns();
		y = cow_snapshot(s);
		b[i] = (double)(b_now_ns() - t0);
		if (!y)
			return -1;
		cow_snap_release(y);
		write_pages(cow_base(s), size / PAGE, 100, (char)i);
		{
			cow_space *f;

			t0 = b_now_ns();
			f = cow_fork(s);
			fk[i] = (double)(b_now_ns() - t0);
			if (!f)
				return -1;
			t0 = b_now_ns();
			cow_space_destroy(f);
			de[i] = (double)(b_now_ns() - t0);
		}
		t0 = b_now_ns();
		memcpy(dst, src, 100 * PAGE);
		m[i] = (double)(b_now_ns() - t0);
	}
	out->restore = b_median(a, (size_t)repeat);
	out->snap = b_median(b, (size_t)repeat);
	out->copy = b_median(m, (size_t)repeat);
	out->fork = b_median(fk, (size_t)repeat);
	out->destroy = b_median(de, (size_t)repeat);
	if (scale_one_page(s, x, repeat, out))
		return -1;
	cow_snap_release(x);
	cow_space_destroy(s);
	free(a); free(b); free(m); free(fk); free(de); free(src); free(dst);
	return 0;
}

int b_scale_main(int argc, char **argv)
{
	static const size_t sizes[] = { 64ul << 20, 256ul << 20, 1ul << 30, 4ul << 30 };
	size_t size = 0, avail = b_mem_available();
	int repeat = 9, r;

	if ((r = b_args(argc, argv, "bench scale", &size, &repeat)))
		return r < 0 ? 2 : 0;
	printf("# restore, re-snapshot, re-fork and destroying the fork after 100 written pages,"
	       " and restore after 1, by space size (backend %s)\n", cow_backend_name());
	for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
		struct scale_fig f;
		char name[64];

		if (size && sizes[k] != size)
			continue;
		if (avail && sizes[k] > avail / 3) {
			printf("# %zu MiB skipped: not enough memory\n", sizes[k] >> 20);
			continue;
		}
		if (scale_one(sizes[k], repeat, &f)) {
			perror("bench scale");
			return 1;
		}
		snprintf(name, sizeof name, "restore_100_pages_%zuM_us", sizes[k] >> 20);
		b_result(name, f.restore / 1e3, "us", "memcpy_100_pages", f.copy / 1e3);
		snprintf(name, sizeof name, "resnapshot_100_pages_%zuM_us", sizes[k] >> 20);
		b_result(name, f.snap / 1e3, "us", "memcpy_100_pages", f.copy / 1e3);
		snprintf(name, sizeof name, "refork_100_pages_%zuM_us", sizes[k] >> 20);
		b_result(name, f.fork / 1e3, "us", "memcpy_100_pages", f.copy / 1e3);
		snprintf(name, sizeof name, "destroy_fork_100_pages_%zuM_us", sizes[k] >> 20);
		b_result(name, f.destroy / 1e3, "us", "memcpy_100_pages", f.copy / 1e3);
		snprintf(name, sizeof name, "restore_1_page_%zuM_us", sizes[k] >> 20);
		b_result(name, f.restore1 / 1e3, "us", "memcpy_1_page", f.copy1 / 1e3);
	}
	return 0;
}
