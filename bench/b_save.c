/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Background save of a space while a writer rewrites every page, against
 * Redis's way: fork() and the child writes the data while the parent
 * rewrites it. Figures: freeze time, peak extra memory (libcow: preserved
 * copies; fork: anonymous memory the kernel's COW faults added, sampled from
 * /proc/meminfo), save duration. Then the save's throughput without writers
 * against a plain sequential write+fsync of the same bytes.
 */
#include <cow.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "benchlib.h"

static long anon_kib(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	long v = 0;

	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "AnonPages: %ld kB", &v) == 1)
			break;
	if (f)
		fclose(f);
	return v;
}

struct sampler {
	atomic_bool stop;
	long base, peak;
};

static void *sample_main(void *arg)
{
	struct sampler *s = arg;

	while (!atomic_load(&s->stop)) {
		long v = anon_kib() - s->base;

		if (v > s->peak)
			s->peak = v;
		usleep(2000);
	}
	return NULL;
}

struct rewriter {
	char *base;
	size_t size;
};

static void *rewrite_main(void *arg)
{
	struct rewriter *w = arg;

	b_touch(w->base, w->size, 0x5a);
	return NULL;
}

/* Write len bytes of p to a new file and fsync it; returns ns. */
static double write_file(const char *path, const char *p, size_t len)
{
	uint64_t t0 = b_now_ns();
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	for (size_t off = 0; fd >= 0 && off < len;) {
		ssize_t n = write(fd, p + off, len - off > (1 << 20) ? 1 << 20 : len - off);

		if (n <= 0)
			break;
		off += (size_t)n;
	}
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	return (double)(b_now_ns() - t0);
}

int b_save_main(int argc, char **argv)
{
	size_t size = 1ul << 30, budget;
	int repeat = 3, r;
	char store_path[] = "/tmp/cow-bench-save-XXXXXX", file_path[] = "/tmp/cow-bench-plain-XXXXXX";
	double *frz, *dur, *mem, *ffrz, *fdur, *fmem, *thr, *plain;

	if ((r = b_args(argc, argv, "bench save", &size, &repeat)))
		return r < 0 ? 2 : 0;
	budget = size / 16;
	frz = calloc((size_t)repeat, sizeof *frz); dur = calloc((size_t)repeat, sizeof *dur);
	mem = calloc((size_t)repeat, sizeof *mem); ffrz = calloc((size_t)repeat, sizeof *ffrz);
	fdur = calloc((size_t)repeat, sizeof *fdur); fmem = calloc((size_t)repeat, sizeof *fmem);
	thr = calloc((size_t)repeat, sizeof *thr); plain = calloc((size_t)repeat, sizeof *plain);
	close(mkstemp(store_path));
	close(mkstemp(file_path));
	printf("# background save of %zu MiB under a writer rewriting every page, budget %zu MiB (backend %s), vs fork()+write\n",
	       size >> 20, budget >> 20, cow_backend_name());
	for (int i = 0; i < repeat; i++) {
		cow_space *s = cow_space_create(size, 0);
		cow_store *st;
		struct cow_save_stats ss;
		struct rewriter w = { NULL, size };
		pthread_t th;
		uint64_t t0, id;
		cow_save *job;
		char *anon;
		pid_t pid;
		struct sampler smp;
		pthread_t sth;

		unlink(store_path);
		st = cow_store_open(store_path, COW_STORE_CREATE);
		if (!s || !st) {
			perror("bench save");
			return 1;
		}
		b_touch(cow_base(s), size, (unsigned char)(i + 1));
		w.base = cow_base(s);
		t0 = b_now_ns();
		job = cow_save_start(st, s, budget);
		pthread_create(&th, NULL, rewrite_main, &w);
		if (cow_save_finish(job, &id, &ss)) {
			perror("cow_save");
			return 1;
		}
		dur[i] = (double)(b_now_ns() - t0);
		pthread_join(th, NULL);
		frz[i] = (double)ss.freeze_ns;
		mem[i] = (double)ss.peak_preserved_pages * 4096.0 / (1 << 20);
		/* Without writers: the save's throughput. */
		b_touch(cow_base(s), size, (unsigned char)(i + 2));
		t0 = b_now_ns();
		unlink(store_path);
		cow_store_close(st);
		st = cow_store_open(store_path, COW_STORE_CREATE);
		t0 = b_now_ns();
		cow_save_wait(cow_save_start(st, s, budget), &id);
		thr[i] = (double)(b_now_ns() - t0);
		cow_store_close(st);
		cow_space_destroy(s);

		/* fork(): the child writes the data, the parent rewrites it. */
		anon = b_anon_resident(size);
		smp.base = anon_kib();
		smp.peak = 0;
		atomic_init(&smp.stop, false);
		pthread_create(&sth, NULL, sample_main, &smp);
		t0 = b_now_ns();
		pid = fork();
		if (pid == 0) {
			write_file(file_path, anon, size);
			_exit(0);
		}
		ffrz[i] = (double)(b_now_ns() - t0);
		b_touch(anon, size, 0x5a);
		waitpid(pid, NULL, 0);
		fdur[i] = (double)(b_now_ns() - t0);
		atomic_store(&smp.stop, true);
		pthread_join(sth, NULL);
		fmem[i] = (double)smp.peak / 1024.0;
		plain[i] = write_file(file_path, anon, size);
		munmap(anon, size);
	}
	b_result("save_freeze_ms", b_median(frz, (size_t)repeat) / 1e6, "ms",
		 "fork_freeze", b_median(ffrz, (size_t)repeat) / 1e6);
	b_result("save_peak_extra_mib", b_median(mem, (size_t)repeat), "MiB",
		 "fork_peak_extra", b_median(fmem, (size_t)repeat));
	b_result("save_duration_ms", b_median(dur, (size_t)repeat) / 1e6, "ms",
		 "fork_save_duration", b_median(fdur, (size_t)repeat) / 1e6);
	b_result("save_quiet_ms", b_median(thr, (size_t)repeat) / 1e6, "ms",
		 "plain_write_fsync", b_median(plain, (size_t)repeat) / 1e6);
	unlink(store_path);
	unlink(file_path);
	free(frz); free(dur); free(mem); free(ffrz); free(fdur); free(fmem); free(thr); free(plain);
	return 0;
}
