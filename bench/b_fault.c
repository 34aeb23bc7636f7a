/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Write fault: the cost per page of the first write after cow_snapshot(),
 * against the kernel's copy-on-write fault in a fork()ed child writing the
 * same number of pages. Also: two threads faulting on different pages at
 * once (wall time per page), against the same with the kernel's faults in
 * a forked child running two threads: do faults on different pages wait
 * for one another?
 */
#include <cow.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "benchlib.h"

struct half {
	char *p;
	size_t len;
	unsigned char v;
};

static void *touch_half(void *arg)
{
	struct half *h = arg;

	b_touch(h->p, h->len, h->v);
	return NULL;
}

/* Wall ns per page for two threads touching one half of [p, p+len) each. */
static double touch_two_threads(char *p, size_t len, unsigned char v)
{
	struct half h[2] = { { p, len / 2, v }, { p + len / 2, len - len / 2, v } };
	pthread_t t;
	uint64_t t0 = b_now_ns();

	if (pthread_create(&t, NULL, touch_half, &h[1])) {
		touch_half(&h[1]);
		touch_half(&h[0]);
	} else {
		touch_half(&h[0]);
		pthread_join(t, NULL);
	}
	return (double)(b_now_ns() - t0) / (double)(len / 4096);
}

/* The kernel's COW faults taken by two threads of a fork()ed child, wall
 * ns per page; -1 if the child could not report. */
static double kernel_two_threads_ns(char *p, size_t len)
{
	int fd[2];
	double ns = -1;
	pid_t pid;

	if (pipe(fd))
		return -1;
	pid = fork();
	if (pid == 0) {
		double v = touch_two_threads(p, len, 7);

		if (write(fd[1], &v, sizeof v) != sizeof v)
			_exit(1);
		_exit(0);
	}
	close(fd[1]);
	if (pid > 0 && read(fd[0], &ns, sizeof ns) != sizeof ns)
		ns = -1;
	close(fd[0]);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	return ns;
}

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
	/* Two threads, reuse path: against one thread (ratio 0.5 = no waiting). */
	{
		double *two = calloc((size_t)repeat, sizeof *two);
		double *k2 = calloc((size_t)repeat, sizeof *k2);
		double one = b_median(ours, (size_t)repeat), k1 = b_median(kern, (size_t)repeat);

		for (int i = 0; two && k2 && i < repeat; i++) {
			cow_snap_release(cow_snapshot(s));	/* protected, exclusive */
			two[i] = touch_two_threads(cow_base(s), size, (unsigned char)(i + 5));
			k2[i] = kernel_two_threads_ns(anon, size);
		}
		if (two && k2) {
			b_result("fault_reuse_2threads_ns", b_median(two, (size_t)repeat), "ns/page",
				 "fault_reuse_1thread", one);
			b_result("kernel_cow_fault_2threads_ns", b_median(k2, (size_t)repeat), "ns/page",
				 "kernel_cow_fault_1thread", k1);
		}
		free(two);
		free(k2);
	}
	munmap(anon, size);
	cow_space_destroy(s);
	free(ours);
	free(kern);
	return 0;
}
