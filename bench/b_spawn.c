/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bench spawn: the cost of starting a program from a parent that holds a lot
 * of memory, by fork()+exec, vfork()+exec and posix_spawn().
 *
 * fork() copies the parent's page tables (and write-protects every private
 * page, for copy-on-write) only for exec() to throw the copy away; vfork()
 * and posix_spawn() (glibc: clone(CLONE_VM | CLONE_VFORK)) lend the child
 * the parent's memory until it execs, so their cost does not grow with it.
 * Each figure is the median time from the call to the child's exit, against
 * fork()+exec measured in the same run.
 */
#include "benchlib.h"

#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

extern char **environ;

enum { M_FORK, M_VFORK, M_SPAWN, NMETHODS };

static const char *const method_name[NMETHODS] = {
	"spawn_fork_exec", "spawn_vfork_exec", "spawn_posix_spawn",
};

struct spawn_opts {
	size_t size;		/* 0: the default sweep */
	unsigned repeat;
	const char *prog;
	int thp, rewrite;
};

static const char spawn_usage[] =
	"usage: bench_spawn [--size N] [--repeat N] [--prog PATH] [--thp] [--rewrite]\n"
	"  (or: cow bench spawn ...)\n"
	"\n"
	"Time to start PATH (default /bin/true) and wait for it, from a parent\n"
	"holding N bytes resident, by fork()+exec, vfork()+exec and posix_spawn();\n"
	"ratios against fork()+exec in the same run; medians of --repeat runs (5).\n"
	"\n"
	"  --size N    one size (64M, 1G, 1.5G); default: 0.1, 0.5, 1, 2, 4, 8 GiB,\n"
	"              the sizes above half the available memory left out\n"
	"  --thp       back the parent's memory with transparent huge pages\n"
	"              (default: 4 KiB pages, MADV_NOHUGEPAGE)\n"
	"  --rewrite   also time the parent writing all its memory after the\n"
	"              child exited: after fork() every page faults once more\n";

/* "102MiB", "16MiB", "512KiB": the size in RESULT names. */
static void size_tag(size_t size, char *buf, size_t len)
{
	if (size >= 1024 * 1024)
		snprintf(buf, len, "%.0fMiB", (double)size / 1048576.0);
	else
		snprintf(buf, len, "%zuKiB", size / 1024);
}

/* vfork()+exec in a function of its own: the child only calls execve and
 * _exit, and no caller's variable lives across the vfork. */
static pid_t start_vfork(const char *prog, char *const args[])
{
	pid_t pid = vfork();

	if (pid == 0) {
		execve(prog, args, environ);
		_exit(127);
	}
	return pid;
}

static pid_t start_fork(const char *prog, char *const args[])
{
	pid_t pid = fork();

	if (pid == 0) {
		execve(prog, args, environ);
		_exit(127);
	}
	return pid;
}

/* Start prog by method m and wait for it; milliseconds, or -1 on failure. */
static double spawn_once(int m, const char *prog)
{
	char *const args[] = { (char *)prog, NULL };
	uint64_t t0 = b_now_ns();
	pid_t pid = -1;
	int st;

	if (m == M_FORK)
		pid = start_fork(prog, args);
	else if (m == M_VFORK)
		pid = start_vfork(prog, args);
	else if ((errno = posix_spawn(&pid, prog, NULL, NULL, args, environ)))
		pid = -1;
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 127) {
		errno = 0;
		return -1;	/* exec failed in the child */
	}
	return (double)(b_now_ns() - t0) / 1e6;
}

/* Write every page of [p, p+len): milliseconds it took. */
static double rewrite_ms(void *p, size_t len, unsigned char val)
{
	uint64_t t0 = b_now_ns();

	b_touch(p, len, val);
	return (double)(b_now_ns() - t0) / 1e6;
}

/* Measure every method at one size: the parent's memory is [mem, mem+size),
 * resident. Prints the RESULT lines; 0 or 1 (a spawn failed). */
static int measure_size(const struct spawn_opts *o, char *mem, size_t size)
{
	/* t[(m * 2 + k) * repeat + r]: method m, repeat r; k = 0 spawn, 1 rewrite */
	double *t = calloc((size_t)o->repeat * NMETHODS * 2, sizeof *t), med[NMETHODS],
	       rw[NMETHODS];
	char tag[32], name[64], base[64], what[64];
	size_t steps = (size_t)o->repeat * NMETHODS;

	if (!t)
		return 1;
	size_tag(size, tag, sizeof tag);
	snprintf(what, sizeof what, "spawn %s", tag);
	printf("# parent holds %s resident (rss %.0f MiB), %s, %u repeats, program %s\n",
	       tag, (double)b_rss() / 1048576.0, o->thp ? "THP" : "4 KiB pages",
	       o->repeat, o->prog);
	errno = 0;
	for (int m = 0; m < NMETHODS; m++)	/* warm up: page cache, ld.so */
		if (spawn_once(m, o->prog) < 0)
			goto fail;
	b_progress(what, 0, steps);
	for (unsigned r = 0; r < o->repeat; r++) {
		for (int m = 0; m < NMETHODS; m++) {	/* interleaved: fair to noise */
			double *spawn = &t[(size_t)m * 2 * o->repeat + r];

			errno = 0;
			spawn[0] = spawn_once(m, o->prog);
			if (spawn[0] < 0)
				goto fail;
			if (o->rewrite)
				spawn[o->repeat] = rewrite_ms(mem, size, (unsigned char)(r + m));
			b_progress(what, (size_t)r * NMETHODS + (size_t)m + 1, steps);
		}
	}
	for (int m = 0; m < NMETHODS; m++) {
		med[m] = b_median(&t[(size_t)m * 2 * o->repeat], o->repeat);
		rw[m] = b_median(&t[((size_t)m * 2 + 1) * o->repeat], o->repeat);
	}
	snprintf(base, sizeof base, "%s@%s", method_name[M_FORK], tag);
	for (int m = M_VFORK; m < NMETHODS; m++) {
		snprintf(name, sizeof name, "%s@%s", method_name[m], tag);
		b_result(name, med[m], "ms", base, med[M_FORK]);
	}
	if (o->rewrite) {
		snprintf(name, sizeof name, "spawn_rewrite_after_fork@%s", tag);
		snprintf(base, sizeof base, "spawn_rewrite_after_vfork@%s", tag);
		b_result(name, rw[M_FORK], "ms", base, rw[M_VFORK]);
	}
	free(t);
	return 0;
fail:
	b_progress(what, steps, steps);
	fprintf(stderr, "bench spawn: starting %s failed%s%s\n", o->prog,
		errno ? ": " : " (exec failed in the child)", errno ? strerror(errno) : "");
	free(t);
	return 1;
}

/* Parse the options into *o; 0, or 2 after printing why. */
static int parse_opts(int argc, char **argv, struct spawn_opts *o)
{
	*o = (struct spawn_opts){ .repeat = 5, .prog = "/bin/true" };
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		char *end;

		if (!strcmp(a, "--thp")) {
			o->thp = 1;
		} else if (!strcmp(a, "--rewrite")) {
			o->rewrite = 1;
		} else if (!strcmp(a, "--size") && v) {
			o->size = b_size_arg(v, 0);
			if (!o->size)
				goto bad;
			i++;
		} else if (!strcmp(a, "--repeat") && v) {
			unsigned long n = strtoul(v, &end, 10);

			if (*end || n == 0 || n > 100000)
				goto bad;
			o->repeat = (unsigned)n;
			i++;
		} else if (!strcmp(a, "--prog") && v) {
			o->prog = v;
			i++;
		} else {
			goto bad;
		}
		continue;
bad:
		fprintf(stderr, "bench spawn: bad argument '%s'%s%s\n%s", a, v ? " " : "",
			v ? v : "", spawn_usage);
		return 2;
	}
	return 0;
}

int b_spawn_main(int argc, char **argv)
{
	static const double sweep_gib[] = { 0.1, 0.5, 1, 2, 4, 8 };
	size_t sizes[6], n = 0, avail = b_mem_available(), ps = 4096, max;
	struct spawn_opts o;
	int rc = 0;
	char *mem;

	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(spawn_usage, stdout);
			return 0;
		}
	rc = parse_opts(argc, argv, &o);
	if (rc)
		return rc;
	if (access(o.prog, X_OK)) {
		fprintf(stderr, "bench spawn: %s: %s\n", o.prog, strerror(errno));
		return 1;
	}
	if (o.size) {
		sizes[n++] = (o.size + ps - 1) / ps * ps;
		if (avail && sizes[0] > avail) {
			fprintf(stderr, "bench spawn: %zu MiB asked, %zu MiB available\n",
				sizes[0] >> 20, avail >> 20);
			return 1;
		}
	} else {
		for (size_t i = 0; i < 6; i++) {
			size_t s = (size_t)(sweep_gib[i] * 1073741824.0) / ps * ps;

			if (!avail || s <= avail / 2)
				sizes[n++] = s;
			else
				printf("# %.1f GiB left out: %zu MiB available\n", sweep_gib[i],
				       avail >> 20);
		}
		if (!n)
			sizes[n++] = 64u << 20;
	}
	max = sizes[n - 1];
	mem = mmap(NULL, max, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED) {
		fprintf(stderr, "bench spawn: mmap of %zu MiB: %s\n", max >> 20, strerror(errno));
		return 1;
	}
	madvise(mem, max, o.thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	for (size_t i = 0, have = 0; i < n && !rc; i++) {
		/* grow the parent: one madvise is faster than a fault per page */
		if (madvise(mem + have, sizes[i] - have, MADV_POPULATE_WRITE))
			b_touch(mem + have, sizes[i] - have, 1);	/* before Linux 5.14 */
		have = sizes[i];
		rc = measure_size(&o, mem, sizes[i]);
	}
	munmap(mem, max);
	return rc;
}
