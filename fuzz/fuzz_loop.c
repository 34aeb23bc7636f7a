/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_loop.c — libFuzzer on the persistent-mode harness of
 * examples/fuzz_loop.c.
 *
 * The target's state (4 MiB: a table of slots, set up once) lives in a
 * libcow space, snapshotted after set-up. Every input runs against the state
 * and is undone with cow_restore(), as a fuzzer author would write it. What
 * libFuzzer checks here is libcow's own promise: after the restore the state
 * is the snapshot's again, byte for byte, whatever the input wrote — the
 * pages the input touched after every input, the whole state every 256
 * inputs, against a plain copy of the clean state in malloc'd memory.
 *
 * An input is a list of operations (first byte % 4):
 *   0  set slot: 4 bytes of slot index, 8 bytes of key;
 *   1  fill: 4 bytes of offset, 2 bytes of length, 1 byte of value;
 *   2  move: 4 bytes of source, 4 of destination, 2 of length (memmove);
 *   3  restore in the middle of the input (the rest starts from clean).
 *
 *   build-fuzz/fuzz_loop [libFuzzer options] [corpus]
 */
#include <cow.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STATE (4u << 20)
#define PAGE COW_PAGE_SIZE
#define PAGES (STATE / PAGE)

static cow_space *space;
static cow_snap *clean;
static unsigned char *state, *expect;
static uint64_t touched[PAGES / 64];
static unsigned long inputs;

static void die(const char *what)
{
	fprintf(stderr, "fuzz_loop: %s\n", what);
	abort();
}

/* The expensive set-up, once: every slot numbered. */
static void setup(void)
{
	space = cow_space_create(STATE, 0);
	if (!space)
		die("cow_space_create");
	state = cow_base(space);
	for (size_t k = 0; k < STATE / 8; k++)
		((uint64_t *)(void *)state)[k] = k * 0x9e3779b97f4a7c15ull;
	clean = cow_snapshot(space);
	expect = malloc(STATE);
	if (!clean || !expect)
		die("cow_snapshot");
	memcpy(expect, state, STATE);
}

static uint64_t take(const uint8_t **in, size_t *len, size_t n)
{
	uint64_t v = 0;

	for (size_t k = 0; k < n && *len; k++, (*in)++, (*len)--)
		v |= (uint64_t)**in << (8 * k);
	return v;
}

static void touch(size_t off, size_t n)
{
	for (size_t p = off / PAGE; n && p <= (off + n - 1) / PAGE; p++)
		touched[p / 64] |= 1ull << (p % 64);
}

static void restore(void)
{
	if (cow_restore(space, clean))
		die("cow_restore");
}

/* The pages marked in touched (all of them when every is set) equal the
 * clean state; the marks are cleared. */
static void check(int every)
{
	for (size_t p = 0; p < PAGES; p++) {
		if (!every && !(touched[p / 64] >> (p % 64) & 1))
			continue;
		if (memcmp(state + p * PAGE, expect + p * PAGE, PAGE))
			die("a page differs from the snapshot after cow_restore");
	}
	memset(touched, 0, sizeof touched);
}

/* The target: a small machine writing the state as the input says. */
static void target(const uint8_t *in, size_t len)
{
	while (len) {
		unsigned op = take(&in, &len, 1) % 4;

		if (op == 0) {
			size_t slot = take(&in, &len, 4) % (STATE / 16);
			uint64_t key = take(&in, &len, 8);

			memcpy(state + slot * 16, &key, 8);
			touch(slot * 16, 8);
		} else if (op == 1) {
			size_t off = take(&in, &len, 4) % STATE;
			size_t n = take(&in, &len, 2);

			if (n > STATE - off)
				n = STATE - off;
			memset(state + off, (int)take(&in, &len, 1), n);
			touch(off, n);
		} else if (op == 2) {
			size_t from = take(&in, &len, 4) % STATE, to = take(&in, &len, 4) % STATE;
			size_t n = take(&in, &len, 2);

			if (n > STATE - from)
				n = STATE - from;
			if (n > STATE - to)
				n = STATE - to;
			memmove(state + to, state + from, n);
			touch(to, n);
		} else {
			restore();
			check(0);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!space)
		setup();
	target(data, size);
	restore();
	check(++inputs % 256 == 0);
	return 0;
}
