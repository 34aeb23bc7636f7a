/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Write fault: the cost per page of the first write after cow_snapshot(),
 * against the kernel's copy-on-write fault in a fork()ed child writing the
 * same number of pages: every page of the space (copies into new frames),
 * 512 pages per snapshot in a loop (copies into ready frames), and with
 * no snapshot left (reuse). Also: two threads faulting on different pages at
 * once (wall time per page), against the same with the kernel's faults in
 * a forked child running two threads: do faults on different pages wait
 * for one another?
 */
#include <cow.h>
#include <stdbool.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif
#ifndef UFFD_FEATURE_WP_HUGETLBFS_SHMEM
#define UFFD_FEATURE_WP_HUGETLBFS_SHMEM (1 << 12)
#endif

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

/*
 * The floor of a fault resolved in user space, without libcow: a handler
 * that only lifts the protection of the page (uffd: SIGBUS and one
 * UFFDIO_WRITEPROTECT on a memfd mapped shared, as libcow's spaces are;
 * mprotect: SIGSEGV and one mprotect on anonymous memory). No lock, no
 * bookkeeping, no copy: what libcow's reuse path cannot go below.
 */
static int floor_uffd = -1;

static void floor_on_bus(int sig, siginfo_t *si, void *uc)
{
	uintptr_t a = (uintptr_t)si->si_addr & ~(uintptr_t)4095;
	struct uffdio_writeprotect wp = { .range = { a, 4096 }, .mode = 0 };

	(void)sig;
	(void)uc;
	if (ioctl(floor_uffd, UFFDIO_WRITEPROTECT, &wp))
		_exit(3);
}

static void floor_on_segv(int sig, siginfo_t *si, void *uc)
{
	uintptr_t a = (uintptr_t)si->si_addr & ~(uintptr_t)4095;

	(void)sig;
	(void)uc;
	if (mprotect((void *)a, 4096, PROT_READ | PROT_WRITE))
		_exit(3);
}

/* In a child: ns per page of protect-all then touching len bytes. */
static void floor_child(size_t len, int out)
{
	bool uffd = strcmp(cow_backend_name(), "uffd") == 0;
	struct sigaction sa;
	double ns;
	uint64_t t0;
	char *p;

	memset(&sa, 0, sizeof sa);
	sa.sa_flags = SA_SIGINFO;
	if (uffd) {
		int fd = memfd_create("floor", MFD_CLOEXEC);
		struct uffdio_api api = { .api = UFFD_API,
			.features = UFFD_FEATURE_SIGBUS | UFFD_FEATURE_WP_HUGETLBFS_SHMEM };
		struct uffdio_register reg;
		struct uffdio_writeprotect wp;

		if (fd < 0 || ftruncate(fd, (off_t)len))
			_exit(2);
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		floor_uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);
		if (p == MAP_FAILED || floor_uffd < 0 || ioctl(floor_uffd, UFFDIO_API, &api))
			_exit(2);
		b_touch(p, len, 1);
		reg = (struct uffdio_register){ .range = { (uintptr_t)p, len },
						.mode = UFFDIO_REGISTER_MODE_WP };
		wp = (struct uffdio_writeprotect){ .range = { (uintptr_t)p, len },
						   .mode = UFFDIO_WRITEPROTECT_MODE_WP };
		if (ioctl(floor_uffd, UFFDIO_REGISTER, &reg) ||
		    ioctl(floor_uffd, UFFDIO_WRITEPROTECT, &wp))
			_exit(2);
		sa.sa_sigaction = floor_on_bus;
		sigaction(SIGBUS, &sa, NULL);
	} else {
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			_exit(2);
		b_touch(p, len, 1);
		if (mprotect(p, len, PROT_READ))
			_exit(2);
		sa.sa_sigaction = floor_on_segv;
		sigaction(SIGSEGV, &sa, NULL);
	}
	t0 = b_now_ns();
	b_touch(p, len, 2);
	ns = (double)(b_now_ns() - t0) / (double)(len / 4096);
	if (write(out, &ns, sizeof ns) != sizeof ns)
		_exit(1);
	_exit(0);
}

/* The floor, measured in a forked child (its own handlers); -1: failed. */
static double fault_floor_ns(size_t len)
{
	int fd[2], st;
	double ns = -1;
	pid_t pid;

	if (pipe(fd))
		return -1;
	pid = fork();
	if (pid == 0)
		floor_child(len, fd[1]);
	close(fd[1]);
	if (pid > 0 && read(fd[0], &ns, sizeof ns) != sizeof ns)
		ns = -1;
	close(fd[0]);
	if (pid > 0)
		waitpid(pid, &st, 0);
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
	/*
	 * The copy path in a steady state: snapshot, write 512 pages spread
	 * over the space, release, again — as a save loop or a fuzzer loop
	 * runs. The copies then go to frames the last release freed (ready),
	 * not to new pages of the memfd. The first round warms up.
	 */
	{
		size_t pages = size / 4096, n = pages < 512 ? pages : 512;
		char *b = cow_base(s);

		for (int i = 0; i <= repeat; i++) {
			cow_snap *x = cow_snapshot(s);
			uint64_t t0 = b_now_ns();

			for (size_t k = 0; k < n; k++)
				b[(k * (pages / n) + (size_t)i) % pages * 4096] = (char)i;
			if (i)
				ours[i - 1] = (double)(b_now_ns() - t0) / (double)n;
			cow_snap_release(x);
		}
		b_result("fault_copy_ready_ns", b_median(ours, (size_t)repeat), "ns/page",
			 "kernel_cow_fault", b_median(kern, (size_t)repeat));
	}
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
	/* The same against the floor of any user-space resolved fault. */
	{
		double *fl = calloc((size_t)repeat, sizeof *fl), reuse = b_median(ours, (size_t)repeat);

		for (int i = 0; fl && i < repeat; i++)
			fl[i] = fault_floor_ns(size);
		if (fl && b_median(fl, (size_t)repeat) > 0) {
			b_result("fault_reuse_ns", reuse, "ns/page", "user_fault_floor",
				 b_median(fl, (size_t)repeat));
			b_result("user_fault_floor_ns", b_median(fl, (size_t)repeat), "ns/page",
				 "kernel_cow_fault", b_median(kern, (size_t)repeat));
		}
		free(fl);
	}
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
