/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_engine — the persistent-mode fuzzer loop of examples/fuzz_loop.c,
 * with libcow's engine as the target.
 *
 * The state lives in one space, set up once and snapshotted; every input
 * runs on it and the space is restored to that snapshot afterwards (the
 * loop a fuzzer author builds on libcow). The input drives the engine:
 * writes to spaces, snapshots, restores, cow_fork, spaces made from
 * snapshots, mapped views, releases — over 1,536 pages, so that page
 * tables have inner nodes and two leaves and are shared and copied node by
 * node. A plain copy (the oracle) follows every live member.
 *
 * Must hold: after every operation the page it touched reads as its
 * oracle; every 32 operations and at the end of the input every member
 * reads as its oracle in full; every 128 operations and at the end of
 * every 8th input cow__check() finds the engine's invariants true; after
 * the final restore the space equals its state at start-up.
 *
 * Input: 3-byte records: op, a, b.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cow.h>
#include "internal.h"

#define PAGES 1536u
#define SIZE ((size_t)PAGES * COW_PAGE_SIZE)
#define SNAPS 4
#define SPACES 3		/* 0: the state; 1, 2: forks or made from snapshots */

struct member {
	void *h;		/* cow_space * or cow_snap * */
	unsigned char *oracle;
};

static cow_space *state;
static cow_snap *base;
static unsigned char *base_oracle;
static struct member sp[SPACES], sn[SNAPS];

static void die(const char *what)
{
	char msg[256] = "";

	cow__check(msg, sizeof msg);
	fprintf(stderr, "fuzz_engine: %s (%s)\n", what, msg);
	abort();
}

/* A slot's oracle (allocated once, kept for the next member there). */
static unsigned char *oracle_set(struct member *m, const unsigned char *from)
{
	if (!m->oracle && !(m->oracle = malloc(SIZE)))
		die("out of memory");
	memcpy(m->oracle, from, SIZE);
	return m->oracle;
}

/* Set up the state once: every page written, so every frame is at home. */
static void setup(void)
{
	unsigned char *b;

	state = cow_space_create(SIZE, 0);
	if (!state)
		die("cow_space_create");
	b = cow_base(state);
	for (size_t i = 0; i < SIZE; i += 64)
		b[i] = (unsigned char)(i * 2654435761u >> 24);
	base = cow_snapshot(state);
	if (!base)
		die("cow_snapshot");
	base_oracle = malloc(SIZE);
	if (!base_oracle)
		die("out of memory");
	memcpy(base_oracle, b, SIZE);
	sp[0].h = state;
	oracle_set(&sp[0], b);
}

static void drop_space(unsigned k)
{
	if (k && sp[k].h) {
		cow_space_destroy(sp[k].h);
		sp[k].h = NULL;
	}
}

static void drop_snap(unsigned k)
{
	if (sn[k].h) {
		cow_snap_release(sn[k].h);
		sn[k].h = NULL;
	}
}

/* Does page i of every live member read as its oracle? (all: every page) */
static void compare(bool all, size_t i)
{
	static unsigned char buf[SIZE];
	size_t first = all ? 0 : i, end = all ? PAGES : i + 1;
	size_t off = first * COW_PAGE_SIZE, len = (end - first) * COW_PAGE_SIZE;

	for (unsigned k = 0; k < SPACES; k++)
		if (sp[k].h && memcmp((unsigned char *)cow_base(sp[k].h) + first * COW_PAGE_SIZE,
				      sp[k].oracle + first * COW_PAGE_SIZE,
				      (end - first) * COW_PAGE_SIZE))
			die("a space differs from its oracle");
	for (unsigned k = 0; k < SNAPS; k++) {
		if (!sn[k].h)
			continue;
		if (cow_snap_read(sn[k].h, off, buf, len))
			die("cow_snap_read");
		if (memcmp(buf, sn[k].oracle + off, len))
			die("a snapshot differs from its oracle");
	}
}

/* Every member in full; the engine's invariants too when deep. */
static void check(bool deep)
{
	char msg[256];

	compare(true, 0);
	if (deep && cow__check(msg, sizeof msg)) {
		fprintf(stderr, "fuzz_engine: invariant: %s\n", msg);
		abort();
	}
}

/* One operation; returns the page it touched (for the quick compare). */
static size_t step(uint8_t op, uint8_t a, uint8_t b)
{
	unsigned t = a % SPACES, k = b % SNAPS;
	size_t page = ((size_t)a * 256 + b) % PAGES;

	switch (op % 10) {
	case 0: case 1: case 2: case 3:	/* write a byte */
		if (!sp[t].h)
			t = 0;
		{
			size_t off = page * COW_PAGE_SIZE + (size_t)(b * 16u % COW_PAGE_SIZE);

			((unsigned char *)cow_base(sp[t].h))[off] = (unsigned char)(op ^ b);
			sp[t].oracle[off] = (unsigned char)(op ^ b);
		}
		break;
	case 4:				/* snapshot a space */
		if (!sp[t].h)
			t = 0;
		drop_snap(k);
		if (!(sn[k].h = cow_snapshot(sp[t].h)))
			die("cow_snapshot");
		oracle_set(&sn[k], sp[t].oracle);
		break;
	case 5:				/* restore a space to a snapshot */
		if (!sp[t].h)
			t = 0;
		if (!sn[k].h)
			break;
		if (cow_restore(sp[t].h, sn[k].h))
			die("cow_restore");
		memcpy(sp[t].oracle, sn[k].oracle, SIZE);
		break;
	case 6:
		drop_snap(k);
		break;
	case 7:				/* fork a space */
		if (!sp[t].h)
			t = 0;
		k = 1 + b % (SPACES - 1);
		if (k == t)
			break;
		drop_space(k);
		if (!(sp[k].h = cow_fork(sp[t].h)))
			die("cow_fork");
		oracle_set(&sp[k], sp[t].oracle);
		break;
	case 8:				/* a space made from a snapshot */
		if (!sn[k].h)
			break;
		t = 1 + a % (SPACES - 1);
		drop_space(t);
		if (!(sp[t].h = cow_space_from_snap(sn[k].h)))
			die("cow_space_from_snap");
		oracle_set(&sp[t], sn[k].oracle);
		break;
	case 9:				/* a mapped view of a snapshot, or a space gone */
		if (a & 1) {
			drop_space(1 + b % (SPACES - 1));
		} else if (sn[k].h) {
			const unsigned char *v = cow_snap_map(sn[k].h);

			if (!v || memcmp(v + page * COW_PAGE_SIZE, sn[k].oracle + page * COW_PAGE_SIZE,
					 COW_PAGE_SIZE))
				die("a snapshot's view differs from its oracle");
		}
		break;
	}
	return page;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned inputs;
	size_t n = 0;

	if (!state)
		setup();
	inputs++;
	for (size_t r = 0; r + 3 <= size && r < 3 * 512; r += 3) {
		compare(false, step(data[r], data[r + 1], data[r + 2]));
		if (++n % 32 == 0)
			check(n % 128 == 0);
	}
	check(inputs % 8 == 0);	/* the invariant check is the slow part */
	for (unsigned k = 1; k < SPACES; k++)
		drop_space(k);
	for (unsigned k = 0; k < SNAPS; k++)
		drop_snap(k);
	/* The loop: back to the state at start-up, for the next input. */
	if (cow_restore(state, base))
		die("cow_restore to the start-up snapshot");
	memcpy(sp[0].oracle, base_oracle, SIZE);
	if (memcmp(cow_base(state), base_oracle, SIZE))
		die("the state after the restore differs from its start");
	check(false);
	return 0;
}
