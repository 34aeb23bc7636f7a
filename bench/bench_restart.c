/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bench_restart.c — a server's restart from a checkpoint that incremental
 * saves have scattered over the file.
 *
 * A space of --size bytes (default 4 GiB of virtual size, as cowkv's
 * --maxmemory) holds data in its first quarter; it is committed once, then
 * three times more after rewriting a random quarter of its data pages each
 * time (incremental commits: the rewritten pages get new blocks elsewhere in
 * the file). Then, as cowkv does at start, through a writable handle:
 * cow_store_open(), cow_store_load() of the newest checkpoint (every block
 * read and checked) and cow_space_from_snap(). The space's pages are too
 * scattered to be mapped from the file within the mapping budget, so the
 * engine copies them into memory (de-fragmentation); its never-written
 * three quarters must cost neither time nor memory.
 *
 * Baselines in the same run: a plain sequential pread() of the store file
 * (what any load that checks its data pays), and the same restart of a
 * checkpoint committed once (mapped from the file, nothing copied). Memory:
 * what the frame store (libcow's memfd) holds once the space is made,
 * against the data's size. Files go to $COW_BENCH_DIR (default /var/tmp).
 * Usage: bench_restart [--size N] [--repeat N]
 */
#include <cow.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "benchlib.h"

#define PAGE 4096ul

static uint64_t rng = 0x2545f4914f6cdd1dull;

/* Bytes of memory libcow's frame store holds: the blocks of its memfd
 * ("memfd:libcow-frames" among this process's descriptors). */
static size_t frames_memory(void)
{
	size_t bytes = 0;

	for (int fd = 0; fd < 1024; fd++) {
		char link[64], target[256];
		struct stat st;
		ssize_t n;

		snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
		n = readlink(link, target, sizeof target - 1);
		if (n <= 0)
			continue;
		target[n] = 0;
		if (strstr(target, "memfd:libcow-frames") && fstat(fd, &st) == 0)
			bytes += (size_t)st.st_blocks * 512;
	}
	return bytes;
}

static int commit(cow_store *st, cow_space *s)
{
	cow_snap *x = cow_snapshot(s);
	int err = x ? cow_store_commit(st, x, NULL) : -1;

	cow_snap_release(x);
	return err;
}

/* The store at path: data in the first quarter of a space of size bytes,
 * committed once and then `rounds` more times after random rewrites. */
static int make_store(const char *path, size_t size, int rounds)
{
	cow_space *s = cow_space_create(size, 0);
	cow_store *st = cow_store_open(path, COW_STORE_CREATE | COW_STORE_EXCL);
	size_t data = size / 4 / PAGE;
	char *b;
	int err = -1;

	if (!s || !st)
		goto out;
	b = cow_base(s);
	for (size_t i = 0; i < data; i++)
		memset(b + i * PAGE, (int)(i % 251) + 1, PAGE);
	if (commit(st, s))
		goto out;
	for (int r = 0; r < rounds; r++) {
		for (size_t k = 0; k < data / 4; k++)
			b[b_rand_below(&rng, data) * PAGE + 16] = (char)(r + 2);
		if (commit(st, s))
			goto out;
	}
	err = 0;
out:
	cow_space_destroy(s);
	if (cow_store_close(st))
		err = -1;
	return err;
}

/* A restart: open, load the newest checkpoint, make the space. ns, or -1;
 * *mem gets the Shmem growth while the space lives, *copies its
 * de-fragmentation copies. */
static double restart(const char *path, size_t *mem, uint64_t *copies)
{
	size_t before = frames_memory();
	uint64_t t0 = b_now_ns(), id;
	cow_store *st = cow_store_open(path, 0);
	cow_snap *x = NULL;
	cow_space *s = NULL;
	struct cow_stats stats;
	double t = -1;

	if (!st || cow_store_latest(st, &id) || !(x = cow_store_load(st, id)))
		goto out;
	if (!(s = cow_space_from_snap(x)))
		goto out;
	t = (double)(b_now_ns() - t0);
	*mem = frames_memory() - before;
	*copies = cow_stats_get(s, &stats) ? 0 : stats.defrag_copies;
out:
	if (t < 0)
		perror("restart");
	cow_space_destroy(s);
	cow_snap_release(x);
	cow_store_close(st);
	return t;
}

int main(int argc, char **argv)
{
	const char *dir = getenv("COW_BENCH_DIR") ? getenv("COW_BENCH_DIR") : "/var/tmp";
	size_t size = 4ul << 30, mem[2][16];
	int repeat = 3, r;
	char path[2][512], *buf = malloc(1u << 20);
	double t[3][16];
	uint64_t copies[2] = { 0, 0 };

	if ((r = b_args(argc, argv, "bench_restart", &size, &repeat)))
		return r < 0 ? 2 : 0;
	if (repeat > 16)
		repeat = 16;
	for (int k = 0; k < 2; k++)
		snprintf(path[k], sizeof path[k], "%s/cow-bench-restart-%d-%d", dir, (int)getpid(), k);
	if (!buf || make_store(path[0], size, 3) || make_store(path[1], size, 0)) {
		perror("making the stores");
		unlink(path[0]);
		unlink(path[1]);
		return 1;
	}
	printf("# restart (open, load, cow_space_from_snap) of a %zu MiB space with %zu MiB\n"
	       "# of data, its checkpoint scattered by 3 incremental commits, vs a plain read\n"
	       "# of the store file and vs a checkpoint committed once; files in %s\n",
	       size >> 20, size >> 22, dir);
	for (int i = 0; i < repeat; i++) {
		if ((t[2][i] = b_read_file_ns(path[0], buf)) < 0 ||
		    (t[0][i] = restart(path[0], &mem[0][i], &copies[0])) < 0 ||
		    (t[1][i] = restart(path[1], &mem[1][i], &copies[1])) < 0) {
			unlink(path[0]);
			unlink(path[1]);
			return 1;
		}
	}
	unlink(path[0]);
	unlink(path[1]);
	{
		double m0[16], m1[16];

		for (int i = 0; i < repeat; i++) {
			m0[i] = (double)mem[0][i] / 1048576;
			m1[i] = (double)mem[1][i] / 1048576;
		}
		printf("# scattered: %llu pages copied into memory; committed once: %llu\n",
		       (unsigned long long)copies[0], (unsigned long long)copies[1]);
		b_result("restart_scattered_ms", b_median(t[0], (size_t)repeat) / 1e6, "ms",
			 "pread_store_file", b_median(t[2], (size_t)repeat) / 1e6);
		b_result("restart_scattered_ms", b_median(t[0], (size_t)repeat) / 1e6, "ms",
			 "restart_committed_once", b_median(t[1], (size_t)repeat) / 1e6);
		b_result("restart_scattered_memory_mib", b_median(m0, (size_t)repeat), "MiB",
			 "data", (double)(size >> 22));
		b_result("restart_committed_once_memory_mib", b_median(m1, (size_t)repeat), "MiB",
			 "data", (double)(size >> 22));
	}
	free(buf);
	return 0;
}
