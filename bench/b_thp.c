/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Anonymous THP spaces (issue 12): could a space that is only ever
 * snapshotted (never forked, never mapped twice) live in anonymous memory
 * with transparent huge pages, write-protected by userfaultfd?
 *
 * At 256 MiB, 1 GiB and 4 GiB (sizes above half the memory available left
 * out; --size N measures N alone), anonymous memory every page of which was
 * written, in huge pages (MADV_HUGEPAGE) and in 4 KiB pages
 * (MADV_NOHUGEPAGE), each repeat on fresh memory:
 *
 *  1. UFFDIO_WRITEPROTECT of the whole range (after UFFDIO_REGISTER in
 *     MODE_WP, timed apart), against fork() + _exit + wait of this process
 *     holding the same memory (and against fork() of 4 KiB memory, the
 *     issue's comparison). AnonHugePages (smaps_rollup) shows THP backs it.
 *  2. The first write per page after that, with UFFD_FEATURE_SIGBUS: the
 *     SIGBUS handler copies the old 4 KiB out into a preallocated buffer and
 *     un-protects that page (UFFDIO_WRITEPROTECT, mode 0), as libcow's uffd
 *     backend resolves a fault; 1,000 random pages, then a sequential
 *     stretch of up to 64 MiB. AnonHugePages after the 1,000 says whether
 *     un-protecting 4 KiB splits the huge page. Baseline: the kernel's COW
 *     fault of a fork()ed child writing the same pages.
 *  3. The same with UFFD_FEATURE_WP_ASYNC (the kernel resolves the write
 *     itself), and one PAGEMAP_SCAN (PAGE_IS_WRITTEN) of the whole range
 *     after the first 100 random pages: timed against fork(), and checked
 *     to report exactly the pages written.
 * And libcow as it is: cow_snapshot() of a written space of the same size.
 *
 * A refused kernel feature is reported ("# refused: ...") and its figures
 * left out; the rest is measured.
 */
#include <cow.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "benchlib.h"

#define PAGE 4096ul
#define HUGE (2ul << 20)
#define NRAND 1000		/* random first writes per repeat */
#define NSCAN 100		/* of which written before the PAGEMAP_SCAN */
#define SEQ_MAX (64ul << 20)	/* the sequential stretch */

/* Spelled out: Debian 12's headers (Linux 6.1) predate these (6.7). */
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif
#ifndef USERFAULTFD_IOC_NEW
#define USERFAULTFD_IOC_NEW _IO(0xAA, 0x00)
#endif
#define THP_UFFD_WP_ASYNC (1ull << 15)	/* UFFD_FEATURE_WP_ASYNC */
#define THP_PAGE_IS_WRITTEN (1ull << 1)
struct thp_region {
	uint64_t start, end, categories;
};
struct thp_scan_arg {
	uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
	uint64_t category_inverted, category_mask, category_anyof_mask;
	uint64_t return_mask;
};
#define THP_PAGEMAP_SCAN _IOWR('f', 16, struct thp_scan_arg)

/* The figures of one size, one slot per repeat (medians taken at the end). */
enum {
	M_FORK_THP, M_FORKP_THP, M_FORK_4K, M_FORKP_4K,
	M_REG_THP, M_WP_THP, M_REG_4K, M_WP_4K,
	M_KR_THP, M_KS_THP, M_KR_4K, M_KS_4K,		/* kernel COW, random/seq */
	M_SR_THP, M_SS_THP, M_SR_4K, M_SS_4K,		/* SIGBUS copy-out */
	M_AR_THP, M_AS_THP, M_AR_4K, M_AS_4K,		/* WP_ASYNC */
	M_SCAN_THP, M_SCAN_4K,
	M_HUGE0, M_HUGE_SIG, M_HUGE_ASYNC,		/* AnonHugePages, bytes */
	M_SNAP,						/* libcow cow_snapshot */
	NMET
};

/* What the kernel refused, so each refusal is printed once. */
static struct {
	int uffd, sigbus, async, scan;
	int exact;		/* this size: PAGEMAP_SCAN reported exactly the pages */
	size_t scan_pages[2];	/* pages it reported last, 4 KiB [0] and THP [1] */
} st;

/* Fault state the SIGBUS handler works on (set before each run). */
static struct {
	char *base;
	size_t len;
	int fd;
	char *save;		/* preallocated copy-out buffer */
	size_t saved, cap;
} sb;

/* xorshift64: the same random pages for every kind and phase of a size. */
static uint64_t rng = 88172645463325252ull;

/*
 * rnd — a pseudo-random number below n (n > 0), from the xorshift state.
 */
static size_t rnd(size_t n)
{
	return b_rand_below(&rng, n);
}

/*
 * anon_huge — AnonHugePages of this process (/proc/self/smaps_rollup), in
 * bytes; 0 if it cannot be read.
 */
static size_t anon_huge(void)
{
	char line[256];
	size_t kb = 0;
	FILE *f = fopen("/proc/self/smaps_rollup", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "AnonHugePages: %zu kB", &kb) == 1)
			break;
	fclose(f);
	return kb * 1024;
}

/*
 * map_written — len bytes of anonymous memory aligned to 2 MiB, advised
 * MADV_HUGEPAGE (thp) or MADV_NOHUGEPAGE, every page written. NULL (message
 * printed) if it cannot be mapped. Free with munmap(p, len).
 */
static char *map_written(size_t len, int thp)
{
	char *raw = mmap(NULL, len + HUGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	char *p;
	size_t head;

	if (raw == MAP_FAILED) {
		perror("bench thp: mmap");
		return NULL;
	}
	p = (char *)(((uintptr_t)raw + HUGE - 1) & ~(uintptr_t)(HUGE - 1));
	head = (size_t)(p - raw);
	if (head)
		munmap(raw, head);
	if (HUGE - head)
		munmap(p + len, HUGE - head);
	if (madvise(p, len, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE) && thp)
		printf("# refused: madvise(MADV_HUGEPAGE): %s\n", strerror(errno));
	b_touch(p, len, 1);
	return p;
}

/*
 * write_pages — one byte into each of the n pages pg[] of base; returns the
 * time it took per page, ns.
 */
static double write_pages(char *base, const size_t *pg, size_t n, char v)
{
	uint64_t t0 = b_now_ns();

	for (size_t k = 0; k < n; k++)
		((volatile char *)base)[pg[k] * PAGE + 8] = v;
	return n ? (double)(b_now_ns() - t0) / (double)n : 0;
}

/*
 * write_seq — one byte into each page of [p, p+len); returns ns per page.
 */
static double write_seq(char *p, size_t len, char v)
{
	uint64_t t0 = b_now_ns();

	for (size_t off = 0; off < len; off += PAGE)
		((volatile char *)p)[off + 8] = v;
	return (double)(b_now_ns() - t0) / (double)(len / PAGE);
}

/*
 * fork_baseline — fork() this process (holding mem), the child _exits at
 * once, wait: *total is fork to wait's return, *pause fork to fork's return
 * in the parent, ns. 0, or -1 (message printed).
 */
static int fork_baseline(double *total, double *pause)
{
	uint64_t t0 = b_now_ns(), t1;
	pid_t pid = fork();
	int ws;

	if (pid == 0)
		_exit(0);
	t1 = b_now_ns();
	if (pid < 0) {
		perror("bench thp: fork");
		return -1;
	}
	waitpid(pid, &ws, 0);
	*total = (double)(b_now_ns() - t0);
	*pause = (double)(t1 - t0);
	return 0;
}

/*
 * kernel_cow — the kernel's COW fault: fork(), and the child writes one
 * byte in each of the n pages pg[] of base (*rand, ns per page), then in
 * each page of [seq, seq+seq_len) (*seq_ns). 0, or -1 (message printed).
 */
static int kernel_cow(char *base, const size_t *pg, size_t n, char *seq, size_t seq_len,
		      double *rand_ns, double *seq_ns)
{
	double out[2];
	int fds[2], ws;
	pid_t pid;

	if (pipe(fds)) {
		perror("bench thp: pipe");
		return -1;
	}
	pid = fork();
	if (pid == 0) {
		out[0] = write_pages(base, pg, n, 2);
		out[1] = write_seq(seq, seq_len, 2);
		_exit(write(fds[1], out, sizeof out) == sizeof out ? 0 : 1);
	}
	close(fds[1]);
	if (pid < 0 || read(fds[0], out, sizeof out) != sizeof out) {
		perror("bench thp: kernel COW child");
		close(fds[0]);
		if (pid > 0)
			waitpid(pid, &ws, 0);
		return -1;
	}
	close(fds[0]);
	waitpid(pid, &ws, 0);
	*rand_ns = out[0];
	*seq_ns = out[1];
	return 0;
}

/*
 * uffd_new — a userfaultfd with the features asked for (UFFDIO_API done):
 * opened with UFFD_USER_MODE_ONLY, else plainly, else through
 * /dev/userfaultfd. Returns the descriptor, or -1 with what was refused
 * printed once per *refused flag (set to 1).
 */
static int uffd_new(uint64_t features, const char *what, int *refused)
{
	struct uffdio_api api = { .api = UFFD_API, .features = features };
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);
	int e = errno;

	if (fd < 0)
		fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC);
	if (fd < 0) {
		int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);

		if (dev >= 0) {
			fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC);
			close(dev);
		}
	}
	if (fd < 0) {
		if (!st.uffd) {
			FILE *f = fopen("/proc/sys/vm/unprivileged_userfaultfd", "r");
			int v = -1;

			if (f) {
				if (fscanf(f, "%d", &v) != 1)
					v = -1;
				fclose(f);
			}
			printf("# refused: userfaultfd(UFFD_USER_MODE_ONLY): %s; "
			       "/proc/sys/vm/unprivileged_userfaultfd = %d\n", strerror(e), v);
		}
		st.uffd = 1;
		return -1;
	}
	if (ioctl(fd, UFFDIO_API, &api)) {
		if (!*refused)
			printf("# refused: UFFDIO_API with %s: %s\n", what, strerror(errno));
		*refused = 1;
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * uffd_wp — set (on) or lift write protection of [p, p+len) on fd, retrying
 * EAGAIN. 0 or -1 (errno set). Async-signal-safe.
 */
static int uffd_wp(int fd, void *p, size_t len, int on)
{
	struct uffdio_writeprotect wp = {
		.range = { (uintptr_t)p, len },
		.mode = on ? UFFDIO_WRITEPROTECT_MODE_WP : 0,
	};

	while (ioctl(fd, UFFDIO_WRITEPROTECT, &wp))
		if (errno != EAGAIN)
			return -1;
	return 0;
}

/*
 * protect — register [p, p+len) on fd in MODE_WP (*reg_ns) and write-protect
 * it all (*wp_ns). 0, or -1 (what failed printed).
 */
static int protect(int fd, char *p, size_t len, double *reg_ns, double *wp_ns)
{
	struct uffdio_register reg = {
		.range = { (uintptr_t)p, len },
		.mode = UFFDIO_REGISTER_MODE_WP,
	};
	uint64_t t0 = b_now_ns(), t1;

	if (ioctl(fd, UFFDIO_REGISTER, &reg)) {
		printf("# refused: UFFDIO_REGISTER (MODE_WP) on anonymous memory: %s\n",
		       strerror(errno));
		return -1;
	}
	t1 = b_now_ns();
	if (uffd_wp(fd, p, len, 1)) {
		printf("# refused: UFFDIO_WRITEPROTECT on anonymous memory: %s\n",
		       strerror(errno));
		return -1;
	}
	*reg_ns = (double)(t1 - t0);
	*wp_ns = (double)(b_now_ns() - t1);
	return 0;
}

/*
 * on_sigbus — the write fault of UFFD_FEATURE_SIGBUS: copy the old 4 KiB out
 * into sb.save and un-protect that page; the write then retries. A SIGBUS
 * that is not ours (or a failed ioctl) restores the default action, so the
 * re-executed access kills the process as it would have.
 */
static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	char *a = si->si_addr, *pg;
	int saved_errno = errno;

	(void)uc;
	if (si->si_code != BUS_ADRERR || a < sb.base || a >= sb.base + sb.len ||
	    sb.saved >= sb.cap) {
		signal(sig, SIG_DFL);
		return;
	}
	pg = (char *)((uintptr_t)a & ~(uintptr_t)(PAGE - 1));
	memcpy(sb.save + sb.saved++ * PAGE, pg, PAGE);
	if (uffd_wp(sb.fd, pg, PAGE, 0))
		signal(sig, SIG_DFL);
	errno = saved_errno;
}

/*
 * scan_written — one PAGEMAP_SCAN of [p, p+len) for PAGE_IS_WRITTEN; *ns the
 * time it took (every call, if the vector fills). Checks the pages reported
 * are exactly the n sorted pages want[] (st.exact cleared if not; the
 * number of pages reported in *pages). 0, or -1 (refusal printed once).
 */
static int scan_written(int pm, char *p, size_t len, const size_t *want, size_t n,
			double *ns, size_t *pages)
{
	static struct thp_region vec[1024];
	uint64_t at = (uintptr_t)p, end = at + len, t0 = b_now_ns(), spent = 0;
	size_t got = 0, k = 0;
	int exact = 1;

	while (at < end) {
		struct thp_scan_arg a = {
			.size = sizeof a, .start = at, .end = end,
			.vec = (uintptr_t)vec, .vec_len = 1024,
			.category_mask = THP_PAGE_IS_WRITTEN,
			.return_mask = THP_PAGE_IS_WRITTEN,
		};
		long r = ioctl(pm, THP_PAGEMAP_SCAN, &a);

		if (r < 0) {
			if (!st.scan)
				printf("# refused: PAGEMAP_SCAN on /proc/self/pagemap: %s\n",
				       strerror(errno));
			st.scan = 1;
			return -1;
		}
		spent += b_now_ns() - t0;
		for (long i = 0; i < r; i++)	/* the check, off the clock */
			for (uint64_t q = vec[i].start; q < vec[i].end; q += PAGE, got++) {
				size_t idx = (size_t)(q - (uintptr_t)p) / PAGE;

				if (k < n && want[k] == idx)
					k++;
				else
					exact = 0;
			}
		if (a.walk_end <= at)
			break;
		at = a.walk_end;
		t0 = b_now_ns();
	}
	if (k != n || got != n)
		exact = 0;
	st.exact &= exact;
	*pages = got;
	*ns = (double)spent;
	return 0;
}

/*
 * cmp_size — qsort order of size_t.
 */
static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return (x > y) - (x < y);
}

/* One size's run: the pages written and where results go. */
struct run {
	size_t size, nrand, seq_off, seq_len;
	size_t *pg, *sorted100;		/* random pages in write order; first NSCAN sorted */
	double *v[NMET];		/* [metric][repeat] */
	int pm;				/* /proc/self/pagemap */
};

/*
 * phase_baseline — fresh memory of kind thp: fork() baselines and the
 * kernel's COW fault into slot i. 0 or -1.
 */
static int phase_baseline(struct run *r, int thp, int i)
{
	char *m = map_written(r->size, thp);
	int rc;

	if (!m)
		return -1;
	if (thp)
		r->v[M_HUGE0][i] = (double)anon_huge();
	rc = fork_baseline(&r->v[thp ? M_FORK_THP : M_FORK_4K][i],
			   &r->v[thp ? M_FORKP_THP : M_FORKP_4K][i]);
	if (!rc)
		rc = kernel_cow(m, r->pg, r->nrand, m + r->seq_off, r->seq_len,
				&r->v[thp ? M_KR_THP : M_KR_4K][i],
				&r->v[thp ? M_KS_THP : M_KS_4K][i]);
	munmap(m, r->size);
	return rc;
}

/*
 * phase_sigbus — fresh memory of kind thp: register and write-protect it
 * (timed), then the SIGBUS copy-out first writes, into slot i. Returns 0,
 * 1 (a feature refused: figures left at 0), or -1.
 */
static int phase_sigbus(struct run *r, int thp, int i)
{
	struct sigaction sa = { 0 }, old;
	int fd = uffd_new(UFFD_FEATURE_SIGBUS, "UFFD_FEATURE_SIGBUS", &st.sigbus);
	char *m;

	if (fd < 0)
		return 1;
	m = map_written(r->size, thp);
	if (!m) {
		close(fd);
		return -1;
	}
	if (protect(fd, m, r->size, &r->v[thp ? M_REG_THP : M_REG_4K][i],
		    &r->v[thp ? M_WP_THP : M_WP_4K][i])) {
		st.sigbus = 1;
		munmap(m, r->size);
		close(fd);
		return 1;
	}
	sb.base = m;
	sb.len = r->size;
	sb.fd = fd;
	sb.saved = 0;
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, &old);
	r->v[thp ? M_SR_THP : M_SR_4K][i] = write_pages(m, r->pg, r->nrand, 3);
	if (thp)
		r->v[M_HUGE_SIG][i] = (double)anon_huge();
	r->v[thp ? M_SS_THP : M_SS_4K][i] = write_seq(m + r->seq_off, r->seq_len, 3);
	sigaction(SIGBUS, &old, NULL);
	if (sb.saved != r->nrand + r->seq_len / PAGE)
		printf("# warning: %zu faults for %zu first writes\n", sb.saved,
		       r->nrand + r->seq_len / PAGE);
	munmap(m, r->size);
	close(fd);
	return 0;
}

/*
 * phase_async — fresh memory of kind thp, UFFD_FEATURE_WP_ASYNC: first
 * writes resolved by the kernel, and one PAGEMAP_SCAN after the first NSCAN
 * of them, into slot i. Returns 0, 1 (refused), or -1.
 */
static int phase_async(struct run *r, int thp, int i)
{
	int fd = uffd_new(THP_UFFD_WP_ASYNC, "UFFD_FEATURE_WP_ASYNC", &st.async);
	double reg, wp, a, b;
	size_t n1 = r->nrand < NSCAN ? r->nrand : NSCAN;
	char *m;

	if (fd < 0)
		return 1;
	m = map_written(r->size, thp);
	if (!m) {
		close(fd);
		return -1;
	}
	if (protect(fd, m, r->size, &reg, &wp)) {
		st.async = 1;
		munmap(m, r->size);
		close(fd);
		return 1;
	}
	a = write_pages(m, r->pg, n1, 4);
	if (r->pm >= 0)
		scan_written(r->pm, m, r->size, r->sorted100, n1,
			     &r->v[thp ? M_SCAN_THP : M_SCAN_4K][i], &st.scan_pages[thp]);
	b = write_pages(m, r->pg + n1, r->nrand - n1, 4);
	r->v[thp ? M_AR_THP : M_AR_4K][i] =
		(a * (double)n1 + b * (double)(r->nrand - n1)) / (double)r->nrand;
	if (thp)
		r->v[M_HUGE_ASYNC][i] = (double)anon_huge();
	r->v[thp ? M_AS_THP : M_AS_4K][i] = write_seq(m + r->seq_off, r->seq_len, 4);
	munmap(m, r->size);
	close(fd);
	return 0;
}

/*
 * phase_libcow — libcow today: a space of the size, written, and
 * cow_snapshot() timed repeat times (released in between). 0 or -1.
 */
static int phase_libcow(struct run *r, int repeat)
{
	cow_space *s = cow_space_create(r->size, 0);

	if (!s) {
		perror("bench thp: cow_space_create");
		return -1;
	}
	b_touch(cow_base(s), r->size, 1);
	for (int i = 0; i < repeat; i++) {
		uint64_t t0 = b_now_ns();
		cow_snap *x = cow_snapshot(s);

		r->v[M_SNAP][i] = (double)(b_now_ns() - t0);
		if (!x) {
			perror("bench thp: cow_snapshot");
			cow_space_destroy(s);
			return -1;
		}
		cow_snap_release(x);
		b_touch(cow_base(s), r->size, (unsigned char)(i + 2));
	}
	cow_space_destroy(s);
	return 0;
}

/*
 * pick_pages — r->nrand distinct random pages of the first half of the
 * range (write order in r->pg; the first NSCAN sorted in r->sorted100), and
 * the sequential stretch: the last min(64 MiB, half) of the range.
 * 0 or -1.
 */
static int pick_pages(struct run *r)
{
	size_t half = r->size / 2 / PAGE, n = 0, n1;
	unsigned char *used = calloc(half, 1);

	r->nrand = half / 2 < NRAND ? half / 2 : NRAND;
	r->pg = calloc(r->nrand ? r->nrand : 1, sizeof *r->pg);
	r->sorted100 = calloc(NSCAN, sizeof *r->sorted100);
	if (!used || !r->pg || !r->sorted100) {
		free(used);
		return -1;
	}
	rng = 88172645463325252ull;
	while (n < r->nrand) {
		size_t p = rnd(half);

		if (!used[p]) {
			used[p] = 1;
			r->pg[n++] = p;
		}
	}
	free(used);
	n1 = r->nrand < NSCAN ? r->nrand : NSCAN;
	memcpy(r->sorted100, r->pg, n1 * sizeof *r->pg);
	qsort(r->sorted100, n1, sizeof *r->sorted100, cmp_size);
	r->seq_len = r->size / 2 < SEQ_MAX ? (r->size / 2) & ~(PAGE - 1) : SEQ_MAX;
	r->seq_off = r->size - r->seq_len;
	return 0;
}

/* Medians of one size, for the table and conclusions. */
struct med {
	size_t size;
	int exact;	/* PAGEMAP_SCAN exact at this size (both kinds, every repeat) */
	double v[NMET];
};

/*
 * huge_pages_touched — distinct 2 MiB regions among the n pages pg[].
 */
static size_t huge_pages_touched(const size_t *pg, size_t n)
{
	size_t *h = malloc((n ? n : 1) * sizeof *h), d = 0;

	if (!h)
		return 0;
	for (size_t k = 0; k < n; k++)
		h[k] = pg[k] / (HUGE / PAGE);
	qsort(h, n, sizeof *h, cmp_size);
	for (size_t k = 0; k < n; k++)
		d += !k || h[k] != h[k - 1];
	free(h);
	return d;
}

/*
 * report — the RESULT lines of one size (medians of r over repeat), filled
 * into *md. Figures of refused features (all 0) are left out.
 */
static void report(struct run *r, int repeat, struct med *md)
{
	size_t mib = r->size >> 20;
	char n[96], b[96];

	md->size = r->size;
	md->exact = st.exact;
	for (int k = 0; k < NMET; k++)
		md->v[k] = b_median(r->v[k], (size_t)repeat);
#define R(name, unit, met, scale, bname, bmet)                                  \
	do {                                                                    \
		if (md->v[met] > 0 && md->v[bmet] > 0) {                        \
			snprintf(n, sizeof n, "%s_%zuM_%s", name, mib, unit);   \
			snprintf(b, sizeof b, "%s_%zuM", bname, mib);           \
			b_result(n, md->v[met] / (scale), unit, b,              \
				 md->v[bmet] / (scale));                        \
		}                                                               \
	} while (0)
	R("uffd_register_thp", "ms", M_REG_THP, 1e6, "fork_exit_wait_thp", M_FORK_THP);
	R("wp_thp", "ms", M_WP_THP, 1e6, "fork_exit_wait_thp", M_FORK_THP);
	R("wp_thp", "ms", M_WP_THP, 1e6, "fork_pause_thp", M_FORKP_THP);
	R("wp_thp", "ms", M_WP_THP, 1e6, "fork_exit_wait_4k", M_FORK_4K);
	R("uffd_register_4k", "ms", M_REG_4K, 1e6, "fork_exit_wait_4k", M_FORK_4K);
	R("wp_4k", "ms", M_WP_4K, 1e6, "fork_exit_wait_4k", M_FORK_4K);
	R("wp_4k", "ms", M_WP_4K, 1e6, "fork_pause_4k", M_FORKP_4K);
	R("libcow_snapshot", "ms", M_SNAP, 1e6, "fork_exit_wait_4k", M_FORK_4K);
	R("fault_sigbus_thp_random", "us", M_SR_THP, 1e3, "kernel_cow_thp_random", M_KR_THP);
	R("fault_sigbus_thp_seq", "us", M_SS_THP, 1e3, "kernel_cow_thp_seq", M_KS_THP);
	R("fault_sigbus_4k_random", "us", M_SR_4K, 1e3, "kernel_cow_4k_random", M_KR_4K);
	R("fault_sigbus_4k_seq", "us", M_SS_4K, 1e3, "kernel_cow_4k_seq", M_KS_4K);
	R("fault_async_thp_random", "us", M_AR_THP, 1e3, "kernel_cow_thp_random", M_KR_THP);
	R("fault_async_thp_seq", "us", M_AS_THP, 1e3, "kernel_cow_thp_seq", M_KS_THP);
	R("fault_async_4k_random", "us", M_AR_4K, 1e3, "kernel_cow_4k_random", M_KR_4K);
	R("fault_async_4k_seq", "us", M_AS_4K, 1e3, "kernel_cow_4k_seq", M_KS_4K);
	R("pagemap_scan_thp", "us", M_SCAN_THP, 1e3, "fork_exit_wait_thp", M_FORK_THP);
	R("pagemap_scan_4k", "us", M_SCAN_4K, 1e3, "fork_exit_wait_4k", M_FORK_4K);
	R("anon_huge_after_sigbus", "MiB", M_HUGE_SIG, 1048576.0, "anon_huge_written",
	  M_HUGE0);
	R("anon_huge_after_async", "MiB", M_HUGE_ASYNC, 1048576.0, "anon_huge_written",
	  M_HUGE0);
#undef R
	printf("# %zu MiB: AnonHugePages %.0f MiB after writing; after %zu first writes "
	       "(in %zu huge pages): %.0f MiB (SIGBUS), %.0f MiB (WP_ASYNC); "
	       "PAGEMAP_SCAN reported %zu (THP) / %zu (4 KiB) pages for %d written, "
	       "exact every time: %s\n",
	       mib, md->v[M_HUGE0] / 1048576, r->nrand, huge_pages_touched(r->pg, r->nrand),
	       md->v[M_HUGE_SIG] / 1048576, md->v[M_HUGE_ASYNC] / 1048576, st.scan_pages[1],
	       st.scan_pages[0],
	       r->nrand < NSCAN ? (int)r->nrand : NSCAN,
	       st.scan ? "not run" : st.exact ? "yes" : "NO");
}

/*
 * cell — "value (ratio x)" of figure met against bmet, scaled, into buf;
 * "-" for a figure not measured.
 */
static const char *cell(char *buf, size_t cap, const struct med *md, int met, int bmet,
			double scale)
{
	if (md->v[met] <= 0)
		snprintf(buf, cap, "-");
	else if (bmet < 0 || md->v[bmet] <= 0)
		snprintf(buf, cap, "%.3g", md->v[met] / scale);
	else
		snprintf(buf, cap, "%.3g (%.3gx)", md->v[met] / scale,
			 md->v[met] / md->v[bmet]);
	return buf;
}

/*
 * table — the medians of every size measured, one row per figure, with its
 * ratio to its baseline; then the one-line conclusions, from the largest
 * size.
 */
static void table(const struct med *md, size_t nm)
{
	static const struct {
		const char *what;
		int met, bmet;
		double scale;
	} rows[] = {
		{ "fork+_exit+wait, THP memory (ms)", M_FORK_THP, -1, 1e6 },
		{ "fork+_exit+wait, 4 KiB memory (ms)", M_FORK_4K, -1, 1e6 },
		{ "fork() pause, THP / 4 KiB (ms)", M_FORKP_THP, M_FORKP_4K, 1e6 },
		{ "UFFDIO_REGISTER, THP (ms) vs fork THP", M_REG_THP, M_FORK_THP, 1e6 },
		{ "write-protect, THP (ms) vs fork THP", M_WP_THP, M_FORK_THP, 1e6 },
		{ "write-protect, THP (ms) vs fork 4 KiB", M_WP_THP, M_FORK_4K, 1e6 },
		{ "write-protect, 4 KiB (ms) vs fork 4 KiB", M_WP_4K, M_FORK_4K, 1e6 },
		{ "libcow cow_snapshot (ms) vs fork 4 KiB", M_SNAP, M_FORK_4K, 1e6 },
		{ "kernel COW fault, THP, random (us)", M_KR_THP, -1, 1e3 },
		{ "kernel COW fault, THP, sequential (us)", M_KS_THP, -1, 1e3 },
		{ "kernel COW fault, 4 KiB, random (us)", M_KR_4K, -1, 1e3 },
		{ "kernel COW fault, 4 KiB, sequential (us)", M_KS_4K, -1, 1e3 },
		{ "SIGBUS copy-out, THP, random (us)", M_SR_THP, M_KR_THP, 1e3 },
		{ "SIGBUS copy-out, THP, sequential (us)", M_SS_THP, M_KS_THP, 1e3 },
		{ "SIGBUS copy-out, 4 KiB, random (us)", M_SR_4K, M_KR_4K, 1e3 },
		{ "SIGBUS copy-out, 4 KiB, sequential (us)", M_SS_4K, M_KS_4K, 1e3 },
		{ "WP_ASYNC write, THP, random (us)", M_AR_THP, M_KR_THP, 1e3 },
		{ "WP_ASYNC write, THP, sequential (us)", M_AS_THP, M_KS_THP, 1e3 },
		{ "WP_ASYNC write, 4 KiB, random (us)", M_AR_4K, M_KR_4K, 1e3 },
		{ "WP_ASYNC write, 4 KiB, sequential (us)", M_AS_4K, M_KS_4K, 1e3 },
		{ "PAGEMAP_SCAN, THP (us) vs fork THP", M_SCAN_THP, M_FORK_THP, 1e3 },
		{ "PAGEMAP_SCAN, 4 KiB (us) vs fork 4 KiB", M_SCAN_4K, M_FORK_4K, 1e3 },
		{ "AnonHugePages written (MiB)", M_HUGE0, -1, 1048576.0 },
		{ "  after 1000 SIGBUS faults (MiB)", M_HUGE_SIG, M_HUGE0, 1048576.0 },
		{ "  after 1000 WP_ASYNC writes (MiB)", M_HUGE_ASYNC, M_HUGE0, 1048576.0 },
	};
	const struct med *L;
	char buf[48];

	if (!nm)
		return;
	printf("\n%-42s", "figure (median; ratio to its baseline)");
	for (size_t s = 0; s < nm; s++)
		printf(" %20zuM", md[s].size >> 20);
	putchar('\n');
	for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++) {
		printf("%-42s", rows[k].what);
		for (size_t s = 0; s < nm; s++)
			printf(" %21s", cell(buf, sizeof buf, &md[s], rows[k].met, rows[k].bmet,
					    rows[k].scale));
		putchar('\n');
	}
	L = &md[nm - 1];
	printf("\nconclusions (%zu MiB):\n", L->size >> 20);
	if (L->v[M_WP_THP] > 0)
		printf("- write-protecting THP memory took %.3g ms: %.3gx fork() of the same memory "
		       "(%.3g ms), %.3gx fork() of 4 KiB memory (%.3g ms); libcow's cow_snapshot "
		       "%.3g ms\n",
		       L->v[M_WP_THP] / 1e6, L->v[M_WP_THP] / L->v[M_FORK_THP],
		       L->v[M_FORK_THP] / 1e6, L->v[M_WP_THP] / L->v[M_FORK_4K],
		       L->v[M_FORK_4K] / 1e6, L->v[M_SNAP] / 1e6);
	if (L->v[M_HUGE0] > 0 && L->v[M_SR_THP] > 0)
		printf("- un-protecting 4 KiB of a huge page %s it: AnonHugePages %.0f -> %.0f MiB "
		       "after 1000 faults\n",
		       L->v[M_HUGE_SIG] < L->v[M_HUGE0] ? "splits" : "does not split",
		       L->v[M_HUGE0] / 1048576, L->v[M_HUGE_SIG] / 1048576);
	else if (L->v[M_HUGE0] <= 0)
		printf("- THP did not back the MADV_HUGEPAGE memory (AnonHugePages 0)\n");
	if (L->v[M_SR_THP] > 0)
		printf("- SIGBUS copy-out first write on THP: %.3g us/page random, %.3g sequential: "
		       "%.3gx / %.3gx the kernel's COW fault\n",
		       L->v[M_SR_THP] / 1e3, L->v[M_SS_THP] / 1e3,
		       L->v[M_SR_THP] / L->v[M_KR_THP], L->v[M_SS_THP] / L->v[M_KS_THP]);
	if (L->v[M_AR_THP] > 0)
		printf("- WP_ASYNC first write on THP: %.3g us/page random (%.3gx the kernel's COW "
		       "fault), but it copies nothing: the old content is lost unless saved "
		       "before the write\n",
		       L->v[M_AR_THP] / 1e3, L->v[M_AR_THP] / L->v[M_KR_THP]);
	if (L->v[M_SCAN_THP] > 0)
		printf("- PAGEMAP_SCAN of %zu MiB after 100 writes: %.3g us (THP), %.3g us "
		       "(4 KiB); the pages reported %s the pages written\n",
		       L->size >> 20, L->v[M_SCAN_THP] / 1e3, L->v[M_SCAN_4K] / 1e3,
		       L->exact ? "are exactly" : "are NOT exactly");
}

int b_thp_main(int argc, char **argv)
{
	static const size_t sizes[] = { 256ul << 20, 1ul << 30, 4ul << 30 };
	size_t size = 0, avail = b_mem_available(), nm = 0;
	struct med md[4];
	int repeat = 3, r;

	if ((r = b_args(argc, argv, "bench thp", &size, &repeat)))
		return r < 0 ? 2 : 0;
	if (size && size < 4 * HUGE) {
		fprintf(stderr, "bench thp: --size is at least 8M\n");
		return 2;
	}
	size &= ~(HUGE - 1);
	printf("# anonymous memory, THP (MADV_HUGEPAGE) and 4 KiB (MADV_NOHUGEPAGE), every page "
	       "written: uffd write-protect vs fork(); first writes (SIGBUS copy-out, WP_ASYNC) "
	       "vs the kernel's COW fault; %d repeats, medians\n", repeat);
	for (size_t k = 0; k < (size ? 1 : sizeof sizes / sizeof *sizes); k++) {
		struct run run = { .size = size ? size : sizes[k], .pm = -1 };
		int rc = 0;

		st.exact = 1;
		if (avail && run.size > avail / 2) {
			printf("# %zu MiB skipped: %zu MiB available\n", run.size >> 20,
			       avail >> 20);
			continue;
		}
		if (pick_pages(&run))
			return 1;
		for (int m = 0; m < NMET; m++)
			if (!(run.v[m] = calloc((size_t)repeat, sizeof(double))))
				return 1;
		sb.cap = run.nrand + run.seq_len / PAGE;
		sb.save = malloc(sb.cap * PAGE);
		if (!sb.save)
			return 1;
		memset(sb.save, 0, sb.cap * PAGE);
		run.pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
		if (run.pm < 0)
			printf("# refused: open /proc/self/pagemap: %s\n", strerror(errno));
		for (int i = 0; i < repeat && rc >= 0; i++) {
			b_progress("bench thp", (size_t)i, (size_t)repeat);
			for (int thp = 1; thp >= 0 && rc >= 0; thp--) {
				rc = phase_baseline(&run, thp, i);
				if (rc >= 0)
					rc = phase_sigbus(&run, thp, i);
				if (rc >= 0)
					rc = phase_async(&run, thp, i);
			}
		}
		b_progress("bench thp", (size_t)repeat, (size_t)repeat);
		if (rc >= 0)
			rc = phase_libcow(&run, repeat);
		if (rc < 0)
			return 1;
		report(&run, repeat, &md[nm++]);
		if (run.pm >= 0)
			close(run.pm);
		for (int m = 0; m < NMET; m++)
			free(run.v[m]);
		free(run.pg);
		free(run.sorted100);
		free(sb.save);
		sb.save = NULL;
	}
	table(md, nm);
	return 0;
}
