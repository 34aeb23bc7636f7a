/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Images: exec of a file image (cow_exec_file) and lazy loading
 * (cow_snap_open + cow_space_from_snap), against read(2) of the same file
 * into memory; and the memory of N spaces made from one image, against N
 * copies of it.
 */
#include <cow.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "benchlib.h"

/* Pss of this process in bytes. */
static size_t pss(void)
{
	FILE *f = fopen("/proc/self/smaps_rollup", "r");
	char line[256];
	long v = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "Pss: %ld kB", &v) == 1)
			break;
	fclose(f);
	return (size_t)v << 10;
}

static int make_image(char *path, size_t size)
{
	int fd = mkstemp(path);
	char *buf = malloc(1 << 20);

	if (fd < 0 || !buf)
		return -1;
	for (size_t i = 0; i < (1u << 20); i++)
		buf[i] = (char)(i * 13);
	for (size_t off = 0; off < size; off += 1 << 20)
		if (write(fd, buf, 1 << 20) != 1 << 20)
			return -1;
	fsync(fd);
	close(fd);
	free(buf);
	return 0;
}

static double read_file_ns(const char *path, char *dst, size_t size)
{
	uint64_t t0 = b_now_ns();
	int fd = open(path, O_RDONLY);
	size_t done = 0;

	while (fd >= 0 && done < size) {
		ssize_t r = read(fd, dst + done, size - done);

		if (r <= 0)
			break;
		done += (size_t)r;
	}
	close(fd);
	return (double)(b_now_ns() - t0);
}

int b_image_main(int argc, char **argv)
{
	size_t size = 1ul << 30;
	int repeat = 5, r, clones = 10;
	char path[] = "/tmp/cow-bench-image-XXXXXX";
	double *ex, *ld, *rd;
	cow_space *s;
	char *dst;

	if ((r = b_args(argc, argv, "bench image", &size, &repeat)))
		return r < 0 ? 2 : 0;
	ex = calloc((size_t)repeat, sizeof *ex);
	ld = calloc((size_t)repeat, sizeof *ld);
	rd = calloc((size_t)repeat, sizeof *rd);
	if (!ex || !ld || !rd || make_image(path, size)) {
		perror("bench image");
		return 1;
	}
	printf("# images of %zu MiB (backend %s): exec and load against read(2) (page cache warm)\n",
	       size >> 20, cow_backend_name());
	s = cow_space_create(size, 0);
	dst = b_anon_resident(size);
	for (int i = 0; i < repeat; i++) {
		uint64_t t0 = b_now_ns();
		cow_snap *x;
		cow_space *t;

		if (cow_exec_file(s, path, 0)) {
			perror("cow_exec_file");
			return 1;
		}
		ex[i] = (double)(b_now_ns() - t0);
		t0 = b_now_ns();
		x = cow_snap_open(path, 0, 0);
		t = x ? cow_space_from_snap(x) : NULL;
		ld[i] = (double)(b_now_ns() - t0);
		if (!t) {
			perror("cow_snap_open");
			return 1;
		}
		cow_space_destroy(t);
		cow_snap_release(x);
		rd[i] = read_file_ns(path, dst, size);
	}
	b_result("exec_ms", b_median(ex, (size_t)repeat) / 1e6, "ms",
		 "read", b_median(rd, (size_t)repeat) / 1e6);
	b_result("load_ms", b_median(ld, (size_t)repeat) / 1e6, "ms",
		 "read", b_median(rd, (size_t)repeat) / 1e6);
	cow_space_destroy(s);
	munmap(dst, size);

	/* Memory: N spaces from one image, every page read, one written. */
	{
		cow_snap *x = cow_snap_open(path, 0, 0);
		cow_space **sp = calloc((size_t)clones, sizeof *sp);
		size_t before = pss(), shared, copies;
		volatile unsigned long sum = 0;

		for (int k = 0; k < clones && x; k++) {
			sp[k] = cow_space_from_snap(x);
			for (size_t off = 0; off < size; off += 4096)
				sum += (unsigned char)((char *)cow_base(sp[k]))[off];
			((char *)cow_base(sp[k]))[0] = 1;
		}
		(void)sum;	/* read only to touch every page */
		shared = pss() - before;
		for (int k = 0; k < clones; k++)
			cow_space_destroy(sp[k]);
		cow_snap_release(x);
		before = pss();
		for (int k = 0; k < clones; k++) {
			sp[k] = (cow_space *)b_anon_resident(size);
			read_file_ns(path, (char *)sp[k], size);
		}
		copies = pss() - before;
		for (int k = 0; k < clones; k++)
			munmap(sp[k], size);
		free(sp);
		printf("# %d spaces from one image vs %d copies read(2) into memory\n", clones, clones);
		b_result("clones_mib", (double)shared / (1 << 20), "MiB",
			 "copies", (double)copies / (1 << 20));
	}
	unlink(path);
	free(ex);
	free(ld);
	free(rd);
	return 0;
}
