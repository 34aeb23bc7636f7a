/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Spills off the lock: a background save over its memory budget makes a
 * writer's fault write the old page into the checkpoint (a spill). That disk
 * write must not hold up other threads' faults. One thread rewrites a space
 * being saved with a budget of 0 (every write spills); another thread takes
 * first-write faults on a second space (a snapshot shares its pages, so
 * each first write copies). Its p50 and p99 per-write latency are compared
 * with the same thread's figures while nothing spills (same run).
 */
#include <cow.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "benchlib.h"

#define PAGE 4096

struct prober { cow_space *s; double *lat; size_t n; };

/* First write to every page of s, each timed alone. */
static void *probe(void *arg)
{
	struct prober *p = arg;
	volatile unsigned char *b = cow_base(p->s);

	for (size_t i = 0; i < p->n; i++) {
		uint64_t t0 = b_now_ns();

		b[i * PAGE] = (unsigned char)(b[i * PAGE] + 1);
		p->lat[i] = (double)(b_now_ns() - t0);
	}
	return NULL;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double q)
{
	qsort(v, n, sizeof *v, cmp);
	return v[(size_t)(q * (double)(n - 1))];
}

/* One probe run on s (freshly snapshotted), with or without a spilling
 * writer on big; p50 and p99 in ns. */
static int run(cow_space *s, size_t n, cow_space *big, cow_store *st, bool spill,
	       double *p50, double *p99, uint64_t *spilled)
{
	struct prober pr = { s, malloc(n * sizeof(double)), n };
	cow_snap *x = cow_snapshot(s);
	cow_save *job = NULL;
	pthread_t th;

	if (!pr.lat || !x)
		return -1;
	if (spill) {
		job = cow_save_start(st, big, 0);
		if (!job)
			return -1;
	}
	pthread_create(&th, NULL, probe, &pr);
	if (spill) {
		/* From the end, ahead of the saver: every write spills. */
		unsigned char *b = cow_base(big);
		size_t pages = cow_size(big) / PAGE;

		for (size_t i = pages; i-- > 0;)
			b[i * PAGE]++;
	}
	pthread_join(th, NULL);
	if (job) {
		struct cow_save_stats ss;

		if (cow_save_finish(job, NULL, &ss))
			return -1;
		*spilled = ss.spilled_pages;
	}
	*p50 = pct(pr.lat, n, 0.50);
	*p99 = pct(pr.lat, n, 0.99);
	cow_snap_release(x);
	free(pr.lat);
	return 0;
}

int b_spill_main(int argc, char **argv)
{
	size_t size = 256ul << 20, n;
	int repeat = 5, r;
	char path[] = "/tmp/cow-bench-spill-XXXXXX";
	double *i50, *i99, *b50, *b99;
	cow_space *s, *big;
	cow_store *st;
	uint64_t spilled = 0;

	if ((r = b_args(argc, argv, "bench spill", &size, &repeat)))
		return r < 0 ? 2 : 0;
	close(mkstemp(path));
	unlink(path);
	st = cow_store_open(path, COW_STORE_CREATE);
	big = cow_space_create(size, 0);
	n = (size / 4) / PAGE;
	s = cow_space_create(n * PAGE, 0);
	i50 = calloc((size_t)repeat, sizeof(double));
	i99 = calloc((size_t)repeat, sizeof(double));
	b50 = calloc((size_t)repeat, sizeof(double));
	b99 = calloc((size_t)repeat, sizeof(double));
	if (!st || !big || !s || !i50 || !i99 || !b50 || !b99) {
		perror("bench spill");
		return 1;
	}
	printf("# first-write latency of one thread (%zu pages, copy faults) while another thread's writes spill a %zu MiB save with budget 0 (backend %s)\n",
	       n, size >> 20, cow_backend_name());
	b_touch(cow_base(big), size, 1);
	b_touch(cow_base(s), n * PAGE, 1);
	for (int k = 0; k < repeat; k++) {
		if (run(s, n, big, st, false, &i50[k], &i99[k], &spilled) ||
		    run(s, n, big, st, true, &b50[k], &b99[k], &spilled)) {
			perror("bench spill");
			return 1;
		}
	}
	printf("# last save: %llu pages spilled\n", (unsigned long long)spilled);
	b_result("first_write_p50_while_spilling", b_median(b50, (size_t)repeat), "ns",
		 "first_write_p50_quiet", b_median(i50, (size_t)repeat));
	b_result("first_write_p99_while_spilling", b_median(b99, (size_t)repeat), "ns",
		 "first_write_p99_quiet", b_median(i99, (size_t)repeat));
	cow_space_destroy(s);
	cow_space_destroy(big);
	cow_store_close(st);
	unlink(path);
	free(i50); free(i99); free(b50); free(b99);
	return 0;
}
