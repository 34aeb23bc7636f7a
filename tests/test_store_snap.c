/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_store_snap.c — the store with the engine: commit snapshots of a
 * space (incremental through the engine's frame diff), load them back,
 * make spaces from loaded checkpoints and commit those incrementally,
 * drop a loaded checkpoint, and COW_STORE_VERIFY_LOAD on a corrupt block.
 * Every content check is byte for byte against a plain copy (the oracle).
 */
#include "storetest.h"

/* Assert snap holds exactly want (len bytes). */
static void expect_snap(const cow_snap *snap, const unsigned char *want, size_t len)
{
	unsigned char *got = malloc(len);

	assert_int_equal(cow_snap_size(snap), len);
	assert_int_equal(cow_snap_read(snap, 0, got, len), 0);
	assert_memory_equal(got, want, len);
	free(got);
}

/* Write fresh content into n random pages of s (and of the oracle). */
static void scribble(cow_space *s, unsigned char *oracle, size_t npages, size_t n,
		     struct t_rng *r)
{
	unsigned char *base = cow_base(s);

	for (size_t k = 0; k < n; k++) {
		size_t i = (size_t)t_rng_below(r, npages);

		ts_fill(oracle + i * PG, t_rng_next(r), i);
		memcpy(base + i * PG, oracle + i * PG, PG);
	}
}

static void test_commit_incremental_load(void **state)
{
	T_START();
	const size_t np = 1024;
	unsigned char *oracle = calloc(np, PG), *old = malloc(np * PG);
	char *dir = ts_dir();
	const char *path = ts_path(dir, "s");
	cow_store *st = cow_store_open(path, COW_STORE_CREATE);
	cow_space *s = cow_space_create(np * PG, 0);
	struct cow_store_info info;
	struct t_rng r;
	cow_snap *snap, *l1, *l2;
	uint64_t a, b;

	t_rng_seed(&r, t_seed("store_snap"));
	for (size_t i = 0; i < np; i += 2) {	/* half the pages stay zero */
		ts_fill(oracle + i * PG, 1, i);
		memcpy((char *)cow_base(s) + i * PG, oracle + i * PG, PG);
	}
	snap = cow_snapshot(s);
	assert_int_equal(cow_store_commit(st, snap, &a), 0);
	cow_snap_release(snap);
	assert_int_equal(cow_store_info(st, a, &info), 0);
	assert_int_equal(info.data_pages, np / 2);
	assert_int_equal(info.parent, 0);
	memcpy(old, oracle, np * PG);

	/* Rewrite about 10%: only those pages (and their leaves) are written. */
	scribble(s, oracle, np, np / 10, &r);
	snap = cow_snapshot(s);
	assert_int_equal(cow_store_commit(st, snap, &b), 0);
	cow_snap_release(snap);
	assert_int_equal(cow_store_info(st, b, &info), 0);
	assert_int_equal(info.parent, a);
	assert_true(info.written_blocks <= np / 10 + 5 + 1);
	assert_true(info.written_blocks >= 1);
	ts_expect(st, a, old, np);
	ts_expect(st, b, oracle, np);
	ts_check(st);

	/* Nothing changed: nothing but the root is written (the tree is shared). */
	snap = cow_snapshot(s);
	assert_int_equal(cow_store_commit(st, snap, &a), 0);
	cow_snap_release(snap);
	assert_int_equal(cow_store_info(st, a, &info), 0);
	assert_int_equal(info.written_blocks, 0);
	ts_check(st);

	l1 = cow_store_load(st, b);
	assert_non_null(l1);
	expect_snap(l1, oracle, np * PG);
	assert_int_equal(cow_store_close(st), 0);
	expect_snap(l1, oracle, np * PG);		/* outlives the handle */

	/* After a restart: load, make a space, change it, commit incrementally. */
	st = cow_store_open(path, COW_STORE_VERIFY_LOAD);
	assert_non_null(st);
	l2 = cow_store_load(st, b);
	assert_non_null(l2);
	cow_space_destroy(s);
	s = cow_space_from_snap(l2);
	assert_non_null(s);
	memcpy(old, oracle, np * PG);		/* checkpoint b */
	scribble(s, oracle, np, 5, &r);
	snap = cow_snapshot(s);
	assert_int_equal(cow_store_commit(st, snap, &a), 0);
	cow_snap_release(snap);
	assert_int_equal(cow_store_info(st, a, &info), 0);
	assert_int_equal(info.parent, b);
	assert_true(info.written_blocks <= 5 + 5 + 1);
	ts_expect(st, a, oracle, np);
	ts_check(st);

	/* Dropping a loaded checkpoint keeps its blocks while the handle lives. */
	assert_int_equal(cow_store_drop(st, b), 0);
	expect_snap(l2, old, np * PG);
	assert_int_equal(cow_store_verify(st), 0);
	cow_snap_release(l1);
	cow_snap_release(l2);
	cow_space_destroy(s);
	assert_int_equal(cow_store_close(st), 0);
	st = cow_store_open(path, 0);
	ts_check(st);				/* and frees them at the next open */
	cow_store_close(st);
	free(oracle);
	free(old);
	ts_rmdir(dir);
}

static void test_two_spaces(void **state)
{
	T_START();
	const size_t np = 64;
	unsigned char *o1 = calloc(np, PG), *o2 = calloc(np, PG);
	char *dir = ts_dir();
	cow_store *st = cow_store_open(ts_path(dir, "s"), COW_STORE_CREATE);
	cow_space *s1 = cow_space_create(np * PG, 0), *s2 = cow_space_create(np * PG, 0);
	struct cow_store_info info;
	struct t_rng r;
	uint64_t id;

	t_rng_seed(&r, 7);
	/* Alternate commits of two spaces: each finds its own lineage. */
	for (int round = 0; round < 6; round++) {
		cow_space *s = round & 1 ? s2 : s1;
		unsigned char *o = round & 1 ? o2 : o1;
		cow_snap *snap;

		scribble(s, o, np, round < 2 ? np : 3, &r);
		snap = cow_snapshot(s);
		assert_int_equal(cow_store_commit(st, snap, &id), 0);
		cow_snap_release(snap);
		assert_int_equal(cow_store_info(st, id, &info), 0);
		if (round >= 2) {
			assert_int_equal(info.parent, id - 2);
			assert_true(info.written_blocks <= 3 + 1);
		}
		ts_expect(st, id, o, np);
	}
	ts_check(st);
	cow_space_destroy(s1);
	cow_space_destroy(s2);
	cow_store_close(st);
	free(o1);
	free(o2);
	ts_rmdir(dir);
}

static void test_verify_load_finds_corruption(void **state)
{
	T_START();
	const size_t np = 8;
	unsigned char *o = calloc(np, PG);
	char *dir = ts_dir();
	const char *path = ts_path(dir, "s");
	cow_store *st = cow_store_open(path, COW_STORE_CREATE);
	cow_space *s = cow_space_create(np * PG, 0);
	cow_snap *snap;
	uint64_t id;
	int fd;

	scribble(s, o, np, np, &(struct t_rng){ 3 });
	snap = cow_snapshot(s);
	assert_int_equal(cow_store_commit(st, snap, &id), 0);
	cow_snap_release(snap);
	cow_store_close(st);
	/* Flip a byte of the first data block (block 2: just after the slots). */
	fd = open(path, O_RDWR);
	assert_int_equal(pwrite(fd, "X", 1, 2 * PG + 100), 1);
	close(fd);
	st = cow_store_open(path, COW_STORE_VERIFY_LOAD);
	assert_non_null(st);
	errno = 0;
	assert_null(cow_store_load(st, id));
	assert_int_equal(errno, EBADMSG);
	assert_non_null(strstr(cow_store_errmsg(st), "data checksum mismatch"));
	assert_int_equal(cow_store_verify(st), -EBADMSG);
	cow_store_close(st);
	cow_space_destroy(s);
	free(o);
	ts_rmdir(dir);
}

static void test_bad_arguments(void **state)
{
	T_START();
	char *dir = ts_dir();
	cow_store *st = cow_store_open(ts_path(dir, "s"), COW_STORE_CREATE);
	cow_space *s = cow_space_create(PG, 0);
	cow_snap *snap = cow_snapshot(s);
	uint64_t id;

	assert_int_equal(cow_store_commit(NULL, snap, &id), -EINVAL);
	assert_int_equal(cow_store_commit(st, NULL, &id), -EINVAL);
	assert_int_equal(cow_store_commit(st, snap, NULL), 0);	/* id is optional */
	errno = 0;
	assert_null(cow_store_load(NULL, 1));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(cow_store_load(st, 99));
	assert_int_equal(errno, ENOENT);
	cow_snap_release(snap);
	cow_space_destroy(s);
	cow_store_close(st);
	st = cow_store_open(ts_path(dir, "s"), COW_STORE_RDONLY);
	s = cow_space_create(PG, 0);
	snap = cow_snapshot(s);
	assert_int_equal(cow_store_commit(st, snap, &id), -EROFS);
	cow_snap_release(snap);
	cow_space_destroy(s);
	cow_store_close(st);
	ts_rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_commit_incremental_load),
		cmocka_unit_test(test_two_spaces),
		cmocka_unit_test(test_verify_load_finds_corruption),
		cmocka_unit_test(test_bad_arguments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
