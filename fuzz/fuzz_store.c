/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_store.c — libFuzzer target for the store's file parser.
 *
 * Each input is written to a temporary file and opened as a store: read-only
 * (list, info, stat, read every small checkpoint, load it, verify) and, when
 * that works, writable (drop the oldest checkpoint, commit a new one, verify
 * again). Everything runs twice: with checksums, and without them
 * (cow__store_nosum) so that mutated inputs get past the checksums to the
 * structure checks behind them. Seeds: fuzz/seeds/fuzz_store/ (small valid
 * stores, written by scripts/store-seeds.sh).
 */
#include <cow.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"

#define MAX_PAGES 256u	/* larger checkpoints are listed, not read */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[128];

static void cleanup(void)
{
	unlink(path);
}

/* write_input — the input becomes the file at path. */
static int write_input(const uint8_t *data, size_t size)
{
	int fd;

	if (!path[0]) {
		snprintf(path, sizeof path, "%s/fuzz_store-%d",
			 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", (int)getpid());
		atexit(cleanup);
	}
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return -1;
	if (size && write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* read_all — list, describe, read and load every small checkpoint. */
static void read_all(cow_store *st)
{
	static unsigned char buf[MAX_PAGES * COW_PAGE_SIZE];
	struct cow_store_stat ss;
	uint64_t ids[16], latest;
	size_t n;

	cow_store_stat(st, &ss);
	cow_store_latest(st, &latest);
	if (cow_store_list(st, ids, 16, &n))
		return;
	for (size_t i = 0; i < n && i < 16; i++) {
		struct cow_store_info info;
		cow_snap *snap;

		if (cow_store_info(st, ids[i], &info) || info.pages > MAX_PAGES)
			continue;
		cow__store_read(st, ids[i], buf, info.pages * COW_PAGE_SIZE);
		snap = cow_store_load(st, ids[i]);
		cow_snap_release(snap);
	}
	cow_store_verify(st);
}

/* write_some — drop the oldest checkpoint, commit a small one. */
static void write_some(void)
{
	static const unsigned char page[COW_PAGE_SIZE] = { 1, 2, 3 };
	cow_store *st = cow_store_open(path, 0);
	struct cow__build *b;
	uint64_t id;
	size_t n;

	if (!st)
		return;
	if (cow_store_list(st, &id, 1, &n) == 0 && n)
		cow_store_drop(st, id);
	if (cow__store_begin(st, 2, 0, &b) == 0) {
		cow__store_write(b, 0, 1, page);
		cow__store_zero(b, 1, 1);
		cow__store_finish(b, &id);
	}
	cow_store_verify(st);
	cow_store_close(st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (int nosum = 0; nosum < 2; nosum++) {
		cow_store *st;

		if (write_input(data, size))
			return 0;
		cow__store_nosum = nosum;
		st = cow_store_open(path, COW_STORE_RDONLY);
		if (st) {
			read_all(st);
			cow_store_close(st);
			write_some();
		}
	}
	cow__store_nosum = 0;
	return 0;
}
