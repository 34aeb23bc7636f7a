/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_loop.c — a persistent-mode fuzzing harness on libcow.
 *
 * The target keeps its state (here: a toy key-value table of 64 MiB, set up
 * once at a cost) in a libcow space. The harness snapshots the state after
 * set-up, runs the target on one input, and restores the snapshot: the next
 * input starts from exactly the same state, and the restore costs the pages
 * the input wrote, not the 64 MiB. A fork server does the same isolation
 * with one fork() per input; both run here on the same inputs, and the
 * iterations per second of each are printed.
 *
 *   build/example_fuzz_loop [iterations]
 */
#include <cow.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define STATE_SIZE (64u << 20)
#define SLOTS (STATE_SIZE / 64)

struct slot { uint64_t key; char val[56]; };

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The target: applies one input (a list of "set key" operations) to the
 * state. A real target would be a parser, an interpreter, a protocol stack. */
static int target(struct slot *table, const uint8_t *in, size_t len)
{
	for (size_t k = 0; k + 8 <= len; k += 8) {
		uint64_t key;

		memcpy(&key, in + k, 8);
		struct slot *s = &table[key % SLOTS];

		s->key = key;
		snprintf(s->val, sizeof s->val, "v%llu", (unsigned long long)(key >> 3));
	}
	return 0;
}

/* One input from a seeded generator (a fuzzer's mutator stands here). */
static size_t next_input(uint8_t *buf, size_t cap, uint64_t *seed)
{
	size_t len = 8 * (1 + (*seed % 64));

	for (size_t k = 0; k < len && k < cap; k++) {
		*seed = *seed * 6364136223846793005ull + 1442695040888963407ull;
		buf[k] = (uint8_t)(*seed >> 56);
	}
	return len < cap ? len : cap;
}

int main(int argc, char **argv)
{
	long iters = argc > 1 ? atol(argv[1]) : 20000, fork_iters;
	uint8_t input[512];
	uint64_t seed = 1;
	cow_space *s = cow_space_create(STATE_SIZE, 0);
	struct slot *table, *plain;
	struct cow_stats st;
	cow_snap *clean;
	double t0, cow_rate, fork_rate;

	if (!s || iters <= 0) {
		fprintf(stderr, "usage: %s [iterations]; %s\n", argv[0], cow_strerror(-errno));
		return 2;
	}
	table = cow_base(s);
	for (size_t k = 0; k < SLOTS; k++)		/* the expensive set-up, once */
		table[k].key = k;
	clean = cow_snapshot(s);
	if (!clean) {
		perror("cow_snapshot");
		return 1;
	}

	t0 = now();
	for (long i = 0; i < iters; i++) {
		size_t len = next_input(input, sizeof input, &seed);

		target(table, input, len);
		if (cow_restore(s, clean)) {		/* back to the clean state */
			perror("cow_restore");
			return 1;
		}
	}
	cow_rate = (double)iters / (now() - t0);

	/*
	 * The fork server: same inputs, one fork() per input, the state in
	 * ordinary memory (spaces are not inherited by fork(2) children).
	 */
	plain = malloc(STATE_SIZE);
	if (!plain) {
		perror("malloc");
		return 1;
	}
	memcpy(plain, table, STATE_SIZE);
	fork_iters = iters / 20 ? iters / 20 : 1;
	seed = 1;
	t0 = now();
	for (long i = 0; i < fork_iters; i++) {
		size_t len = next_input(input, sizeof input, &seed);
		pid_t pid = fork();
		int status;

		if (pid == 0)	/* the kernel copies what the input writes */
			_exit(target(plain, input, len));
		if (pid < 0 || waitpid(pid, &status, 0) < 0) {
			perror("fork");
			return 1;
		}
	}
	fork_rate = (double)fork_iters / (now() - t0);

	printf("libcow restore: %.0f exec/s; fork server: %.0f exec/s (%.1fx)\n",
	       cow_rate, fork_rate, cow_rate / fork_rate);
	if (cow_stats_get(s, &st) == 0)
		printf("libcow: %.1f pages restored per input, %llu write faults in all\n",
		       (double)st.restored / (double)iters, (unsigned long long)st.faults);
	free(plain);
	cow_snap_release(clean);
	cow_space_destroy(s);
	return 0;
}
