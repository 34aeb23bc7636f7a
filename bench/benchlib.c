/* SPDX-License-Identifier: BSD-2-Clause */
#include "benchlib.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

uint64_t b_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double b_median(const double *v, size_t n)
{
	double *c = malloc(n * sizeof *c), m;

	if (!c)
		abort();
	memcpy(c, v, n * sizeof *c);
	qsort(c, n, sizeof *c, cmp_double);
	m = n % 2 ? c[n / 2] : (c[n / 2 - 1] + c[n / 2]) / 2;
	free(c);
	return m;
}

void b_result(const char *name, double value, const char *unit,
	      const char *base_name, double base)
{
	printf("RESULT %s %.4g %s baseline=%s %.4g ratio=%.3f\n", name, value,
	       unit, base_name, base, base > 0 ? value / base : 0.0);
	fflush(stdout);
}

void b_touch(void *p, size_t len, unsigned char val)
{
	volatile unsigned char *c = p;

	for (size_t i = 0; i < len; i += 4096)
		c[i] = val;
}

size_t b_size_arg(const char *s, size_t def)
{
	char *end;
	double v;

	if (!s)
		return def;
	v = strtod(s, &end);
	switch (*end) {
	case 'K': case 'k': v *= 1024; break;
	case 'M': case 'm': v *= 1024 * 1024; break;
	case 'G': case 'g': v *= 1024.0 * 1024 * 1024; break;
	default: break;
	}
	return v > 0 ? (size_t)v : def;
}

size_t b_rss(void)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
			rss = 0;
		fclose(f);
	}
	return (size_t)rss * (size_t)sysconf(_SC_PAGESIZE);
}

size_t b_mem_available(void)
{
	char line[256];
	size_t kb = 0;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "MemAvailable: %zu kB", &kb) == 1)
			break;
	fclose(f);
	return kb * 1024;
}

void b_progress(const char *what, size_t done, size_t total)
{
	static int tty = -1, drawn;
	static uint64_t start, last;
	uint64_t now = b_now_ns();
	size_t fill;

	if (tty < 0)
		tty = isatty(STDERR_FILENO);
	if (!tty || total == 0)
		return;
	if (done == 0 || !start)
		start = now;
	if (done >= total) {
		if (drawn)
			fputs("\r\033[K", stderr);	/* erase the bar */
		drawn = 0;
		start = 0;
		return;
	}
	if (now - start < 500000000ull || now - last < 100000000ull)
		return;		/* short runs get no bar; redraw 10 times/s */
	last = now;
	drawn = 1;
	fill = done * 30 / total;
	fprintf(stderr, "\r%s [%.*s%.*s] %zu/%zu", what, (int)fill,
		"##############################", (int)(30 - fill),
		"..............................", done, total);
	fflush(stderr);
}

#include <errno.h>
#include <sys/mman.h>
#include <sys/wait.h>

int b_args(int argc, char **argv, const char *name, size_t *size, int *repeat)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("usage: %s [--size BYTES] [--repeat N]\n"
			       "  sizes take K, M, G suffixes; default size %zu, repeat %d\n",
			       name, *size, *repeat);
			return 1;
		}
		if (i + 1 >= argc)
			goto bad;
		if (!strcmp(argv[i], "--size")) {
			*size = b_size_arg(argv[++i], 0);
			if (*size < 4096)
				goto bad;
		} else if (!strcmp(argv[i], "--repeat")) {
			*repeat = atoi(argv[++i]);
			if (*repeat < 1)
				goto bad;
		} else {
			goto bad;
		}
	}
	*size = (*size + 4095) & ~(size_t)4095;
	return 0;
bad:
	fprintf(stderr, "%s: bad arguments (try --help)\n", name);
	return -1;
}

void *b_anon_resident(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	madvise(p, len, MADV_NOHUGEPAGE);
	b_touch(p, len, 1);
	return p;
}

double b_fork_ns(void)
{
	uint64_t t0 = b_now_ns(), t1;
	pid_t pid = fork();
	int st;

	if (pid == 0)
		_exit(0);
	t1 = b_now_ns();
	if (pid < 0) {
		perror("fork");
		exit(1);
	}
	waitpid(pid, &st, 0);
	return (double)(t1 - t0);
}

double b_kernel_cow_fault_ns(void *p, size_t len)
{
	int fds[2];
	pid_t pid;
	double ns = 0;
	int st;

	if (pipe(fds)) {
		perror("pipe");
		exit(1);
	}
	pid = fork();
	if (pid == 0) {
		uint64_t t0 = b_now_ns();

		b_touch(p, len, 2);
		ns = (double)(b_now_ns() - t0) / (double)(len / 4096);
		if (write(fds[1], &ns, sizeof ns) != sizeof ns)
			_exit(1);
		_exit(0);
	}
	if (pid < 0 || read(fds[0], &ns, sizeof ns) != sizeof ns) {
		perror("fork/read");
		exit(1);
	}
	waitpid(pid, &st, 0);
	close(fds[0]);
	close(fds[1]);
	return ns;
}

size_t b_rand_below(uint64_t *state, size_t n)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return (size_t)(*state % n);
}

double b_read_file_ns(const char *path, char *buf)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	uint64_t t0 = b_now_ns();
	off_t off = 0;
	ssize_t n;

	if (fd < 0)
		return -1;
	while ((n = pread(fd, buf, 1u << 20, off)) > 0)
		off += n;
	close(fd);
	return n < 0 ? -1 : (double)(b_now_ns() - t0);
}
