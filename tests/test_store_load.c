/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_store_load.c — cow_store_load() never hands out a page that differs
 * from what was committed: every data block, page-table node, catalog block
 * and root slot is checked against its checksum before the program sees it.
 *
 * Each test commits real snapshots through the engine, damages the file at
 * an offset taken from the store's own page tables (store_format.h), and
 * asserts that the load (or the open) fails with EBADMSG and a message that
 * names the damage, while undamaged checkpoints still load exactly. Also:
 * COW_STORE_FULL_COMMITS writes whole checkpoints.
 */
#include <inttypes.h>

#include "storetest.h"

#define NPG 64u

/* Commit a space whose page p holds ts_fill(seed, p) (page 5 zero). */
static uint64_t commit_space(cow_store *st, cow_space *s, uint64_t seed)
{
	unsigned char *base = cow_base(s);
	cow_snap *snap;
	uint64_t id = 0;

	for (uint64_t p = 0; p < NPG; p++)
		if (p != 5)
			ts_fill(base + p * PG, seed, p);
	snap = cow_snapshot(s);
	assert_non_null(snap);
	assert_int_equal(cow_store_commit(st, snap, &id), 0);
	cow_snap_release(snap);
	return id;
}

/* Assert that checkpoint id loads and holds ts_fill(seed, .) (page 5 zero). */
static void expect_load(cow_store *st, uint64_t id, uint64_t seed)
{
	cow_snap *snap = cow_store_load(st, id);
	unsigned char want[PG], got[PG];

	if (!snap)
		fprintf(stderr, "load %" PRIu64 ": %s (%s)\n", id, strerror(errno),
			cow_store_errmsg(st));
	assert_non_null(snap);
	for (uint64_t p = 0; p < NPG; p++) {
		memset(want, 0, PG);
		if (p != 5)
			ts_fill(want, seed, p);
		assert_int_equal(cow_snap_read(snap, p * PG, got, PG), 0);
		assert_memory_equal(got, want, PG);
	}
	cow_snap_release(snap);
}

/* Assert that loading id fails with EBADMSG and a message holding what. */
static void expect_bad_load(cow_store *st, uint64_t id, const char *what)
{
	errno = 0;
	assert_null(cow_store_load(st, id));
	assert_int_equal(errno, EBADMSG);
	if (!strstr(cow_store_errmsg(st), what)) {
		fprintf(stderr, "message \"%s\" lacks \"%s\"\n", cow_store_errmsg(st), what);
		fail();
	}
}

/* The block of page p of checkpoint id (0: a zero page), and of its root node. */
static uint64_t block_of(cow_store *st, uint64_t id, uint64_t p, uint64_t *root)
{
	struct cow__tree *t = NULL;
	uint64_t blk;

	pthread_mutex_lock(&st->lock);
	assert_int_equal(cow__store_tree(st, cow__store_find(st, id), &t), 0);
	blk = cow__tree_ptr(t, p).blk;
	if (root)
		*root = cow__store_find(st, id)->rec.root.blk;
	cow__tree_put(t);
	pthread_mutex_unlock(&st->lock);
	return blk;
}

/* Flip bit `bit` of byte off of the file. */
static void flip(const char *path, off_t off, int bit)
{
	int fd = open(path, O_RDWR);
	unsigned char c;

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &c, 1, off), 1);
	c ^= (unsigned char)(1u << bit);
	assert_int_equal(pwrite(fd, &c, 1, off), 1);
	close(fd);
}

/* Exchange blocks a and b of the file. */
static void swap_blocks(const char *path, uint64_t a, uint64_t b)
{
	unsigned char x[PG], y[PG];
	int fd = open(path, O_RDWR);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, x, PG, (off_t)(a * PG)), PG);
	assert_int_equal(pread(fd, y, PG, (off_t)(b * PG)), PG);
	assert_int_equal(pwrite(fd, y, PG, (off_t)(a * PG)), PG);
	assert_int_equal(pwrite(fd, x, PG, (off_t)(b * PG)), PG);
	close(fd);
}

/*
 * A store with two full checkpoints (1: seed 1, 2: seed 2, no shared
 * block); *data gets the block of page 7 of checkpoint 2, *other that of
 * page 9, *root the root node of checkpoint 2.
 */
static void make_two(const char *path, uint64_t *data, uint64_t *other, uint64_t *root)
{
	cow_store *st = cow_store_open(path, COW_STORE_CREATE | COW_STORE_FULL_COMMITS);
	cow_space *s = cow_space_create(NPG * PG, 0);

	assert_non_null(st);
	assert_non_null(s);
	assert_int_equal(commit_space(st, s, 1), 1);
	assert_int_equal(commit_space(st, s, 2), 2);
	*data = block_of(st, 2, 7, root);
	*other = block_of(st, 2, 9, NULL);
	assert_int_equal(block_of(st, 2, 5, NULL), 0);	/* a zero page has no block */
	cow_space_destroy(s);
	assert_int_equal(cow_store_close(st), 0);
}

static void test_data_bit_flip(void **state)
{
	char *dir = ts_dir(), what[64];
	const char *path = ts_path(dir, "s");
	uint64_t data, other, root;
	cow_store *st;

	(void)state;
	T_START();
	make_two(path, &data, &other, &root);
	flip(path, (off_t)(data * PG + 1000), 3);
	st = cow_store_open(path, 0);		/* the tables are fine: it opens */
	assert_non_null(st);
	snprintf(what, sizeof what, "page 7 (block %" PRIu64 "): data checksum", data);
	expect_bad_load(st, 2, what);
	expect_bad_load(st, 2, what);		/* again: still refused */
	expect_load(st, 1, 1);			/* the older one is intact */
	assert_int_equal(cow_store_verify(st), -EBADMSG);
	cow_store_close(st);
	st = cow_store_open(path, COW_STORE_RDONLY);
	assert_non_null(st);
	expect_bad_load(st, 2, what);
	expect_load(st, 1, 1);
	cow_store_close(st);
	ts_rmdir(dir);
}

static void test_swapped_and_truncated(void **state)
{
	char *dir = ts_dir();
	const char *path = ts_path(dir, "s");
	uint64_t data, other, root;
	cow_store *st;
	struct stat sb;

	(void)state;
	T_START();
	make_two(path, &data, &other, &root);
	swap_blocks(path, data, other);		/* each checksum valid for the other */
	st = cow_store_open(path, 0);
	assert_non_null(st);
	expect_bad_load(st, 2, "data checksum mismatch");
	expect_load(st, 1, 1);
	cow_store_close(st);
	swap_blocks(path, data, other);		/* back: it loads again */
	st = cow_store_open(path, 0);
	expect_load(st, 2, 2);
	cow_store_close(st);

	/* Cut the file inside checkpoint 2's highest data block. */
	assert_int_equal(stat(path, &sb), 0);
	st = cow_store_open(path, COW_STORE_RDONLY);
	{
		uint64_t top = 0;

		for (uint64_t p = 0; p < NPG; p++) {
			uint64_t b = block_of(st, 2, p, NULL);

			top = b > top ? b : top;
		}
		cow_store_close(st);
		assert_int_equal(truncate(path, (off_t)(top * PG + 100)), 0);
	}
	st = cow_store_open(path, COW_STORE_RDONLY);
	if (st) {	/* its page table may be past the cut: damaged at open */
		assert_null(cow_store_load(st, 2));
		assert_int_equal(errno, EBADMSG);
		cow_store_close(st);
	} else {
		assert_int_equal(errno, EBADMSG);
	}
	ts_rmdir(dir);
}

static void test_node_catalog_slots(void **state)
{
	char *dir = ts_dir();
	const char *path = ts_path(dir, "s"), *copy = ts_path(dir, "c");
	uint64_t data, other, root, latest;
	cow_store *st;

	(void)state;
	T_START();
	make_two(path, &data, &other, &root);
	ts_copy(path, copy);

	/* A page-table node: a writer refuses the file, a reader marks it damaged. */
	flip(path, (off_t)(root * PG + 2000), 0);
	errno = 0;
	assert_null(cow_store_open(path, 0));
	assert_int_equal(errno, EBADMSG);
	assert_non_null(strstr(cow_store_errmsg(NULL), "checkpoint 2"));
	st = cow_store_open(path, COW_STORE_RDONLY);
	assert_non_null(st);
	errno = 0;
	assert_null(cow_store_load(st, 2));
	assert_int_equal(errno, EBADMSG);
	expect_load(st, 1, 1);
	cow_store_close(st);
	/* A salvaging writer opens it, can drop the damaged one and go on. */
	st = cow_store_open(path, COW_STORE_SALVAGE);
	assert_non_null(st);
	{
		struct cow_store_info in;
		cow_space *s = cow_space_create(NPG * PG, 0);

		assert_int_equal(cow_store_info(st, 2, &in), 0);
		assert_int_equal(in.damaged, 1);
		assert_int_equal(cow_store_info(st, 1, &in), 0);
		assert_int_equal(in.damaged, 0);
		assert_null(cow_store_load(st, 2));
		assert_int_equal(errno, EBADMSG);
		assert_int_equal(cow_store_verify(st), -EBADMSG);
		assert_int_equal(cow_store_drop(st, 2), 0);
		assert_int_equal(commit_space(st, s, 4), 3);
		cow_space_destroy(s);
	}
	cow_store_close(st);
	st = cow_store_open(path, 0);
	assert_non_null(st);
	ts_check(st);
	expect_load(st, 1, 1);
	expect_load(st, 3, 4);
	cow_store_close(st);
	assert_null(cow_store_open(path, COW_STORE_SALVAGE | COW_STORE_RDONLY));
	assert_int_equal(errno, EINVAL);

	/* The catalog (the root reaches it directly). */
	ts_copy(copy, path);
	st = cow_store_open(path, 0);
	pthread_mutex_lock(&st->lock);
	data = st->cat[0];
	pthread_mutex_unlock(&st->lock);
	cow_store_close(st);
	flip(path, (off_t)(data * PG + 50), 6);
	errno = 0;
	assert_null(cow_store_open(path, 0));
	assert_int_equal(errno, EBADMSG);
	assert_non_null(strstr(cow_store_errmsg(NULL), "catalog"));
	assert_null(cow_store_open(path, COW_STORE_RDONLY));
	assert_int_equal(errno, EBADMSG);

	/* The newest root slot: the older one wins, with the state before. */
	ts_copy(copy, path);
	st = cow_store_open(path, 0);
	pthread_mutex_lock(&st->lock);
	data = (uint64_t)st->cur;
	pthread_mutex_unlock(&st->lock);
	cow_store_close(st);
	flip(path, (off_t)(data * PG + 20), 1);
	st = cow_store_open(path, 0);
	assert_non_null(st);
	assert_int_equal(cow_store_latest(st, &latest), 0);
	assert_int_equal(latest, 1);	/* the root before checkpoint 2's commit */
	expect_load(st, 1, 1);
	cow_store_close(st);
	/* Both slots. */
	flip(path, (off_t)((data ^ 1) * PG + 20), 1);
	errno = 0;
	assert_null(cow_store_open(path, COW_STORE_RDONLY));
	assert_int_equal(errno, EBADMSG);
	assert_non_null(strstr(cow_store_errmsg(NULL), "root slots"));
	ts_rmdir(dir);
}

/* Every bit of a few data blocks, one at a time: never wrong content. */
static void test_every_bit_of_a_page(void **state)
{
	char *dir = ts_dir();
	const char *path = ts_path(dir, "s"), *copy = ts_path(dir, "c");
	uint64_t data, other, root;

	(void)state;
	T_START();
	make_two(path, &data, &other, &root);
	ts_copy(path, copy);
	for (unsigned k = 0; k < 64; k++) {
		cow_store *st;

		ts_copy(copy, path);
		flip(path, (off_t)(data * PG + k * 61 % PG), (int)(k % 8));
		st = cow_store_open(path, 0);
		assert_non_null(st);
		expect_bad_load(st, 2, "data checksum mismatch");
		cow_store_close(st);
	}
	ts_rmdir(dir);
}

static void test_full_commits(void **state)
{
	char *dir = ts_dir();
	cow_store *st = cow_store_open(ts_path(dir, "s"), COW_STORE_CREATE);
	cow_space *s = cow_space_create(NPG * PG, 0);
	struct cow_store_info in;
	cow_save *job;
	uint64_t id;

	(void)state;
	T_START();
	assert_int_equal(commit_space(st, s, 1), 1);
	((unsigned char *)cow_base(s))[3 * PG] ^= 1;
	commit_space(st, s, 1);		/* same content but page 3 rewritten back */
	assert_int_equal(cow_store_info(st, 2, &in), 0);
	assert_int_equal(in.parent, 1);	/* incremental by default */
	cow_store_close(st);

	st = cow_store_open(ts_path(dir, "s"), COW_STORE_FULL_COMMITS);
	assert_non_null(st);
	id = commit_space(st, s, 3);
	assert_int_equal(cow_store_info(st, id, &in), 0);
	assert_int_equal(in.parent, 0);
	assert_int_equal(in.data_pages, NPG - 1);
	assert_true(in.written_blocks >= NPG - 1);
	expect_load(st, id, 3);
	/* A background save of a space loaded from it is full too. */
	cow_space_destroy(s);
	{
		cow_snap *snap = cow_store_load(st, id);

		s = cow_space_from_snap(snap);
		cow_snap_release(snap);
	}
	assert_non_null(s);
	((unsigned char *)cow_base(s))[0] ^= 2;
	job = cow_save_start(st, s, 1 << 20);
	assert_non_null(job);
	assert_int_equal(cow_save_wait(job, &id), 0);
	assert_int_equal(cow_store_info(st, id, &in), 0);
	assert_int_equal(in.parent, 0);
	assert_int_equal(in.data_pages, NPG - 1);
	assert_int_equal(cow_store_verify(st), 0);
	cow_space_destroy(s);
	cow_store_close(st);
	ts_rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_data_bit_flip),
		cmocka_unit_test(test_swapped_and_truncated),
		cmocka_unit_test(test_node_catalog_slots),
		cmocka_unit_test(test_every_bit_of_a_page),
		cmocka_unit_test(test_full_commits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
