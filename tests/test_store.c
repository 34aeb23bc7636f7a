/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_store.c — the store's behaviour: create/open, commit and read back,
 * incremental commits sharing blocks, zero pages, drop and block reuse,
 * read-only and locking, the build interface (threads, abort, rewrite), and
 * a randomized sequence checked against an oracle (plain copies in memory).
 * Pages come from memory through the build interface; test_store_snap.c
 * does the same with the engine's snapshots.
 */
#include <pthread.h>

#include "storetest.h"

/* ---- create and open --------------------------------------------------------- */

static void test_create_open(void **state)
{
	char *dir = ts_dir();
	const char *path = ts_path(dir, "s");
	struct cow_store_stat ss;
	struct stat sb;
	cow_store *st;
	char cmd[700];
	uint64_t id;

	errno = 0;
	assert_null(cow_store_open(path, 0));
	assert_int_equal(errno, ENOENT);
	st = cow_store_open(path, COW_STORE_CREATE | COW_STORE_EXCL);
	assert_non_null(st);
	assert_int_equal(cow_store_stat(st, &ss), 0);
	assert_int_equal(ss.checkpoints, 0);
	assert_int_equal(ss.file_blocks, 2);
	assert_int_equal(ss.free_blocks, 0);
	assert_int_equal(cow_store_latest(st, &id), -ENOENT);
	assert_int_equal(cow_store_close(st), 0);

	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(sb.st_size, 2 * PG);
	errno = 0;
	assert_null(cow_store_open(path, COW_STORE_CREATE | COW_STORE_EXCL));
	assert_int_equal(errno, EEXIST);
	st = cow_store_open(path, COW_STORE_CREATE);	/* existing: just opened */
	assert_non_null(st);
	cow_store_close(st);
	/* No temporary file left behind. */
	snprintf(cmd, sizeof cmd, "test $(ls -A '%s' | wc -l) -eq 1", dir);
	assert_int_equal(system(cmd), 0);
	ts_rmdir(dir);
}

static void test_bad_arguments(void **state)
{
	char *dir = ts_dir();
	cow_store *st = cow_store_open(ts_path(dir, "s"), COW_STORE_CREATE);
	struct cow_store_info info;
	struct cow_store_stat ss;
	struct cow__build *b;
	uint64_t ids[2], id;
	size_t n;

	assert_non_null(st);
	errno = 0;
	assert_null(cow_store_open(NULL, 0));
	assert_int_equal(errno, EINVAL);
	assert_null(cow_store_open("", COW_STORE_CREATE));
	assert_null(cow_store_open(ts_path(dir, "x"), 0x100));
	assert_null(cow_store_open(ts_path(dir, "x"), COW_STORE_CREATE | COW_STORE_RDONLY));
	assert_null(cow_store_open(ts_path(dir, "x"), COW_STORE_EXCL));
	errno = 0;
	assert_null(cow_store_open(dir, 0));		/* a directory */
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(cow_store_open(dir, COW_STORE_CREATE));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(cow_store_open(dir, COW_STORE_RDONLY));
	assert_int_equal(errno, EINVAL);
	assert_int_equal(cow_store_close(NULL), 0);
	assert_int_equal(cow_store_list(NULL, ids, 2, &n), -EINVAL);
	assert_int_equal(cow_store_list(st, NULL, 2, &n), -EINVAL);
	assert_int_equal(cow_store_list(st, ids, 2, NULL), -EINVAL);
	assert_int_equal(cow_store_list(st, NULL, 0, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(cow_store_drop(NULL, 1), -EINVAL);
	assert_int_equal(cow_store_drop(st, 1), -ENOENT);
	assert_int_equal(cow_store_verify(NULL), -EINVAL);
	assert_int_equal(cow_store_info(NULL, 1, &info), -EINVAL);
	assert_int_equal(cow_store_info(st, 1, NULL), -EINVAL);
	assert_int_equal(cow_store_info(st, 1, &info), -ENOENT);
	assert_int_equal(cow_store_stat(NULL, &ss), -EINVAL);
	assert_int_equal(cow_store_stat(st, NULL), -EINVAL);
	assert_int_equal(cow_store_latest(NULL, &id), -EINVAL);
	assert_int_equal(cow_store_latest(st, NULL), -EINVAL);
	assert_non_null(cow_store_errmsg(NULL));
	assert_non_null(cow_store_errmsg(st));
	assert_int_equal(cow__store_begin(st, 0, 0, &b), -EINVAL);
	assert_int_equal(cow__store_begin(st, COW__MAX_PAGES + 1, 0, &b), -EINVAL);
	assert_int_equal(cow__store_begin(st, 4, 7, &b), -ENOENT);
	assert_int_equal(cow_store_close(st), 0);
	ts_rmdir(dir);
}

/* ---- commit, read back, reopen ---------------------------------------------- */

/* Fill mem with npages pages of (seed) content, every zmod-th page zero. */
static void make_pages(unsigned char *mem, uint64_t npages, uint64_t seed, unsigned zmod)
{
	for (uint64_t i = 0; i < npages; i++)
		if (zmod && i % zmod == 0)
			memset(mem + i * PG, 0, PG);
		else
			ts_fill(mem + i * PG, seed, i);
}

static void test_commit_read(void **state)
{
	const uint64_t np = 300;	/* two leaves and a root */
	unsigned char *mem = malloc(np * PG);
	char *dir = ts_dir();
	const char *path = ts_path(dir, "s");
	cow_store *st = cow_store_open(path, COW_STORE_CREATE);
	struct cow_store_info info;
	uint64_t id = 0, ids[4];
	size_t n;

	make_pages(mem, np, 1, 7);
	assert_int_equal(ts_commit(st, mem, np, 0, NULL, &id), 0);
	assert_int_equal(id, 1);
	assert_int_equal(cow_store_list(st, ids, 4, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(ids[0], 1);
	assert_int_equal(cow_store_info(st, 1, &info), 0);
	assert_int_equal(info.pages, np);
	assert_int_equal(info.size, np * PG);
	assert_int_equal(info.data_pages, np - (np + 6) / 7);
	assert_int_equal(info.written_blocks, info.data_pages + 3);
	assert_int_equal(info.parent, 0);
	assert_true(info.time_ns > 0);
	ts_expect(st, 1, mem, np);
	ts_check(st);
	assert_int_equal(cow_store_close(st), 0);

	st = cow_store_open(path, 0);
	assert_non_null(st);
	ts_expect(st, 1, mem, np);
	ts_check(st);
	assert_int_equal(cow_store_latest(st, &id), 0);
	assert_int_equal(id, 1);
	assert_int_equal(cow__store_next_id(st), 2);
	cow_store_close(st);
	free(mem);
	ts_rmdir(dir);
}

static void test_zero_pages(void **state)
{
	const uint64_t np = 1000;
	unsigned char *mem = calloc(np, PG);
	char *dir = ts_dir();
	cow_store *st = cow_store_open(ts_path(dir, "s"), COW_STORE_CREATE);
	struct cow_store_info info;
	struct cow_store_stat ss;
	uint64_t id;

	assert_int_equal(ts_commit(st, mem, np, 0, NULL, &id), 0);
	assert_int_equal(cow_store_info(st, id, &info), 0);
	assert_int_equal(info.data_pages, 0);
	assert_int_equal(info.written_blocks, 0);	/* not even a node */
	assert_int_equal(cow_store_stat(st, &ss), 0);
	assert_true(ss.file_blocks <= 3);		/* slots + catalog */
	ts_expect(st, id, mem, np);
	ts_check(st);
	cow_store_close(st);
	free(mem);
	ts_rmdir(dir);
}

/*
 * The store's file is moved, deleted or replaced while the handle is open
 * (an operator's "mv store backup"): a checkpoint written into it would be
 * found by no later start, so every write is refused with ENOENT and a
 * message saying why; checkpoints already there still read. Back at its
 * path, the handle writes again.
 */
static void test_moved_file_refuses_writes(void **state)
{
	const uint64_t np = 8;
	unsigned char *mem = calloc(np, PG), *first = calloc(np, PG);
	char *dir = ts_dir();
	char path[600], moved[600];
	cow_store *st;
	uint64_t id, id2;
	int fd;

	snprintf(path, sizeof path, "%s", ts_path(dir, "s"));
	snprintf(moved, sizeof moved, "%s", ts_path(dir, "moved"));
	st = cow_store_open(path, COW_STORE_CREATE);
	assert_non_null(st);
	make_pages(first, np, 1, 0);
	assert_int_equal(ts_commit(st, first, np, 0, NULL, &id), 0);
	make_pages(mem, np, 2, 0);

	assert_int_equal(rename(path, moved), 0);		/* moved */
	assert_int_equal(ts_commit(st, mem, np, 0, NULL, NULL), -ENOENT);
	assert_non_null(strstr(cow_store_errmsg(st), "no longer at"));
	assert_int_equal(cow_store_drop(st, id), -ENOENT);
	ts_expect(st, id, first, np);				/* reads go on */

	fd = open(path, O_CREAT | O_WRONLY, 0600);		/* replaced */
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(ts_commit(st, mem, np, 0, NULL, NULL), -ENOENT);
	assert_int_equal(unlink(path), 0);			/* deleted */
	assert_int_equal(ts_commit(st, mem, np, 0, NULL, NULL), -ENOENT);

	assert_int_equal(rename(moved, path), 0);		/* back */
	assert_int_equal(ts_commit(st, mem, np, 0, NULL, &id2), 0);
	assert_int_equal(cow_store_close(st), 0);
	st = cow_store_open(path, 0);
	assert_non_null(st);
	ts_expect(st, id, first, np);
	ts_expect(st, id2, mem, np);
	cow_store_close(st);
	free(mem);
	free(first);
	ts_rmdir(dir);
}

/*
 * An incremental commit puts its pages elsewhere in the file, so the
 * newest checkpoint's blocks are out of page order: a load reads and checks
 * them in file order (sequential on a cold cache), and a damaged one is
 * still named by its page and block.
 */
static void test_scattered_checkpoint_checked_in_file_order(void **state)
{
	const uint64_t np = 64;
	unsigned char *mem = calloc(np, PG), *blk = malloc(PG), changed[64] = { 0 };
	char *dir = ts_dir();
	char path[600], want[64];
	cow_store *st;
	uint64_t id1, id2;
	cow_snap *x;
	off_t at = -1;
	int fd;

	snprintf(path, sizeof path, "%s", ts_path(dir, "s"));
	st = cow_store_open(path, COW_STORE_CREATE);
	assert_non_null(st);
	make_pages(mem, np, 1, 0);
	assert_int_equal(ts_commit(st, mem, np, 0, NULL, &id1), 0);
	for (uint64_t i = 0; i < np / 2; i++) {
		changed[i] = 1;
		ts_fill(mem + i * PG, 2, i);
	}
	assert_int_equal(ts_commit(st, mem, np, id1, changed, &id2), 0);
	x = cow_store_load(st, id2);
	assert_non_null(x);
	for (uint64_t i = 0; i < np; i++) {
		assert_int_equal(cow_snap_read(x, i * PG, blk, PG), 0);
		assert_memory_equal(blk, mem + i * PG, PG);
	}
	cow_snap_release(x);
	assert_int_equal(cow_store_close(st), 0);

	fd = open(path, O_RDWR);		/* damage page 5 of checkpoint 2 */
	assert_true(fd >= 0);
	for (off_t off = 0; pread(fd, blk, PG, off) == (ssize_t)PG; off += (off_t)PG)
		if (!memcmp(blk, mem + 5 * PG, PG)) {
			at = off;
			break;
		}
	assert_true(at > 0);
	blk[100] ^= 1;
	assert_int_equal(pwrite(fd, blk, PG, at), (ssize_t)PG);
	close(fd);
	st = cow_store_open(path, 0);
	assert_non_null(st);
	errno = 0;
	assert_null(cow_store_load(st, id2));
	assert_int_equal(errno, EBADMSG);
	snprintf(want, sizeof want, "page 5 (block %llu)", (unsigned long long)(at / (off_t)PG));
	assert_non_null(strstr(cow_store_errmsg(st), want));
	x = cow_store_load(st, id1);		/* its page 5 is another block */
	assert_non_null(x);
	cow_snap_release(x);
	cow_store_close(st);
	free(mem);
	free(blk);
	ts_rmdir(dir);
}

static void test_incremental(void **state)
{
	const uint64_t np = 600;	/* three leaves */
	unsigned char *mem = malloc(np * PG), *old = malloc(np * PG);
	unsigned char changed[600] = { 0 };
	char *dir = ts_dir();
	const char *path = ts_path(dir, "s");
	cow_store *st = cow_store_open(path, COW_STORE_CREATE);
	struct cow_store_info info;
	struct cow_store_stat s1, s2;
	uint64_t a, b, c;

	make_pages(mem, np, 1, 0);
	assert_int_equal(ts_commit(st, mem, np, 0, NULL, &a), 0);
	memcpy(old, mem, np * PG);
	for (int i = 0; i < 10; i++) {		/* ten pages, all in the first leaf */
		changed[i * 3] = 1;
		ts_fill(mem + i * 3 * PG, 2, i * 3);
	}
	assert_int_equal(ts_commit(st, mem, np, a, changed, &b), 0);
	assert_int_equal(cow_store_info(st, b, &info), 0);
	assert_int_equal(info.parent, a);
	assert_int_equal(info.written_blocks, 10 + 2);	/* pages, one leaf, the root */
	assert_int_equal(info.data_pages, np);
	ts_expect(st, a, old, np);
	ts_expect(st, b, mem, np);
	ts_check(st);

	/* Dropping a frees only what b does not share. */
	assert_int_equal(cow_store_stat(st, &s1), 0);
	assert_int_equal(cow_store_drop(st, a), 0);
	assert_int_equal(cow_store_stat(st, &s2), 0);
	assert_int_equal(s2.free_blocks - s1.free_blocks, 10 + 2);
	ts_expect(st, b, mem, np);
	ts_check(st);
	/* The next commit reuses them: the file does not grow. */
	memset(changed, 0, sizeof changed);
	for (int i = 0; i < 10; i++) {
		changed[300 + i] = 1;
		ts_fill(mem + (300 + i) * PG, 3, 300 + i);
	}
	assert_int_equal(ts_commit(st, mem, np, b, changed, &c), 0);
	assert_int_equal(cow_store_stat(st, &s1), 0);
	assert_int_equal(s1.file_blocks, s2.file_blocks);
	ts_expect(st, c, mem, np);
	ts_check(st);
	cow_store_close(st);

	st = cow_store_open(path, 0);
	ts_expect(st, c, mem, np);
	ts_check(st);
	assert_int_equal(cow_store_drop(st, b), 0);
	assert_int_equal(cow_store_drop(st, c), 0);
	assert_int_equal(cow_store_stat(st, &s1), 0);
	assert_int_equal(s1.used_blocks, 2);		/* only the root slots */
	ts_check(st);
	cow_store_close(st);
	free(mem);
	free(old);
	ts_rmdir(dir);
}

/* ---- read-only and locking ---------------------------------------------------- */

/* In a child of fork(), the parent's handle refuses to write. */
static void child_drop(void *arg)
{
	struct cow__build *b;

	if (cow_store_drop(arg, 1) != -ESTALE || cow__store_begin(arg, 1, 0, &b) != -ESTALE)
		_exit(1);
}

static void test_readonly_and_locks(void **state)
{
	unsigned char mem[4 * PG];
	char *dir = ts_dir();
	const char *path = ts_path(dir, "s");
	cow_store *w = cow_store_open(path, COW_STORE_CREATE), *r, *r2;
	struct cow__build *b;
	uint64_t id;

	make_pages(mem, 4, 5, 0);
	assert_int_equal(ts_commit(w, mem, 4, 0, NULL, &id), 0);
	assert_int_equal(t_in_child(child_drop, w), 0);
	ts_expect(w, id, mem, 4);
	errno = 0;
	assert_null(cow_store_open(path, 0));		/* second writer */
	assert_int_equal(errno, EBUSY);
	r = cow_store_open(path, COW_STORE_RDONLY);	/* a reader beside the writer */
	assert_non_null(r);
	ts_expect(r, id, mem, 4);
	assert_int_equal(cow_store_close(r), 0);
	assert_int_equal(cow_store_close(w), 0);

	r = cow_store_open(path, COW_STORE_RDONLY);
	r2 = cow_store_open(path, COW_STORE_RDONLY);	/* readers share */
	assert_non_null(r);
	assert_non_null(r2);
	w = cow_store_open(path, 0);			/* readers never lock a writer out */
	assert_non_null(w);
	assert_null(cow_store_open(path, 0));		/* but a second writer is */
	assert_int_equal(errno, EBUSY);
	assert_int_equal(cow_store_close(w), 0);
	assert_int_equal(cow__store_begin(r, 4, 0, &b), -EROFS);
	assert_int_equal(cow_store_drop(r, id), -EROFS);
	ts_expect(r, id, mem, 4);
	assert_int_equal(cow_store_verify(r), 0);
	cow_store_close(r);
	cow_store_close(r2);
	ts_rmdir(dir);
}

/* ---- the build interface -------------------------------------------------------- */

static void test_build_rules(void **state)
{
	unsigned char mem[8 * PG];
	char *dir = ts_dir();
	cow_store *st = cow_store_open(ts_path(dir, "s"), COW_STORE_CREATE);
	struct cow_store_stat ss;
	struct cow__build *b, *b2;
	uint64_t id, id2;

	make_pages(mem, 8, 9, 0);
	/* Every page must be set. */
	assert_int_equal(cow__store_begin(st, 8, 0, &b), 0);
	assert_int_equal(cow__store_write(b, 0, 7, mem), 0);
	assert_int_equal(cow__store_keep(b, 7, 1), -EINVAL);	/* no parent */
	assert_int_equal(cow__store_write(b, 7, 2, mem), -EINVAL);
	assert_int_equal(cow__store_finish(b, &id), -EINVAL);
	assert_int_equal(cow_store_stat(st, &ss), 0);
	assert_int_equal(ss.checkpoints, 0);
	assert_int_equal(ss.used_blocks, 2);		/* the pages were freed */

	/* Abort frees everything; rewriting a page frees its first block. */
	assert_int_equal(cow__store_begin(st, 8, 0, &b), 0);
	assert_int_equal(cow__store_write(b, 0, 8, mem), 0);
	cow__store_abort(b);
	assert_int_equal(cow_store_stat(st, &ss), 0);
	assert_int_equal(ss.used_blocks, 2);
	assert_int_equal(cow__store_begin(st, 8, 0, &b), 0);
	assert_int_equal(cow__store_write(b, 0, 8, mem), 0);
	assert_int_equal(cow__store_write(b, 2, 1, mem), 0);	/* page 2 = page 0 now */
	assert_int_equal(cow__store_zero(b, 3, 1), 0);
	assert_int_equal(cow_store_close(st), -EBUSY);		/* a build is open */
	assert_int_equal(cow__store_finish(b, &id), 0);
	memcpy(mem + 2 * PG, mem, PG);
	memset(mem + 3 * PG, 0, PG);
	ts_expect(st, id, mem, 8);
	ts_check(st);

	/* The parent cannot be dropped during a build that shares it. */
	assert_int_equal(cow__store_begin(st, 8, id, &b), 0);
	assert_int_equal(cow_store_drop(st, id), -EBUSY);
	assert_int_equal(cow__store_begin(st, 8, id, &b2), 0);	/* two builds at once */
	assert_int_equal(cow__store_keep(b, 0, 8), 0);
	assert_int_equal(cow__store_keep(b2, 0, 8), 0);
	assert_int_equal(cow__store_write(b2, 5, 1, mem), 0);
	assert_int_equal(cow__store_finish(b, &id2), 0);
	assert_int_equal(cow__store_finish(b2, &id2), 0);
	assert_int_equal(cow_store_drop(st, id), 0);
	memcpy(mem + 5 * PG, mem, PG);
	ts_expect(st, id2, mem, 8);
	ts_check(st);
	assert_int_equal(cow__store_begin(st, 9, id2, &b), -EINVAL);	/* other size */
	cow_store_close(st);
	ts_rmdir(dir);
}

struct writer {
	struct cow__build *b;
	const unsigned char *mem;
	uint64_t first, n;
	int err;
};

static void *write_thread(void *arg)
{
	struct writer *w = arg;

	for (uint64_t i = w->first; i < w->first + w->n && !w->err; i++)
		w->err = cow__store_write(w->b, i, 1, w->mem + i * PG);
	return NULL;
}

static void test_threads_write(void **state)
{
	const uint64_t np = 2000;
	unsigned char *mem = malloc(np * PG);
	char *dir = ts_dir();
	cow_store *st = cow_store_open(ts_path(dir, "s"), COW_STORE_CREATE);
	struct writer w[4];
	pthread_t th[4];
	struct cow__build *b;
	uint64_t id;

	make_pages(mem, np, 11, 13);
	assert_int_equal(cow__store_begin(st, np, 0, &b), 0);
	for (int i = 0; i < 4; i++) {
		w[i] = (struct writer){ b, mem, i * np / 4, np / 4, 0 };
		assert_int_equal(pthread_create(&th[i], NULL, write_thread, &w[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(w[i].err, 0);
	}
	assert_int_equal(cow__store_finish(b, &id), 0);
	ts_expect(st, id, mem, np);
	ts_check(st);
	cow_store_close(st);
	free(mem);
	ts_rmdir(dir);
}

/* ---- randomized, against an oracle -------------------------------------------------- */

struct oracle {
	uint64_t id;
	uint64_t npages;
	unsigned char *mem;
};

static void test_random_oracle(void **state)
{
	struct t_rng r;
	char *dir = ts_dir();
	const char *path = ts_path(dir, "s");
	cow_store *st = cow_store_open(path, COW_STORE_CREATE);
	struct oracle o[64];
	size_t no = 0;
	unsigned steps = 150 * t_scale();
	uint64_t sizes[3] = { 3, 260, 700 };

	t_rng_seed(&r, t_seed("store_random_oracle"));
	assert_non_null(st);
	for (unsigned s = 0; s < steps; s++) {
		unsigned op = (unsigned)t_rng_below(&r, 10);

		if (op < 6 || no == 0) {		/* commit, usually incremental */
			uint64_t np = sizes[t_rng_below(&r, 3)], parent = 0, id;
			unsigned char *mem = malloc(np * PG), *changed = calloc(np, 1);

			for (size_t k = no; k-- > 0;)
				if (o[k].npages == np) {
					parent = o[k].id;
					memcpy(mem, o[k].mem, np * PG);
					break;
				}
			for (uint64_t i = 0; i < np; i++) {
				if (parent && t_rng_below(&r, 8))
					continue;
				changed[i] = 1;
				if (t_rng_below(&r, 5) == 0)
					memset(mem + i * PG, 0, PG);
				else
					ts_fill(mem + i * PG, t_rng_next(&r), i);
			}
			assert_int_equal(ts_commit(st, mem, np, parent, changed, &id), 0);
			free(changed);
			if (no == 64) {
				assert_int_equal(cow_store_drop(st, o[0].id), 0);
				free(o[0].mem);
				memmove(o, o + 1, --no * sizeof *o);
			}
			o[no++] = (struct oracle){ id, np, mem };
		} else if (op < 9) {			/* drop one */
			size_t k = (size_t)t_rng_below(&r, no);

			assert_int_equal(cow_store_drop(st, o[k].id), 0);
			free(o[k].mem);
			memmove(o + k, o + k + 1, (--no - k) * sizeof *o);
		} else {				/* reopen */
			assert_int_equal(cow_store_close(st), 0);
			st = cow_store_open(path, 0);
			assert_non_null(st);
		}
		if (s % 10 == 0 || s == steps - 1) {
			size_t n;

			assert_int_equal(cow_store_list(st, NULL, 0, &n), 0);
			assert_int_equal(n, no);
			for (size_t k = 0; k < no; k++)
				ts_expect(st, o[k].id, o[k].mem, o[k].npages);
			ts_check(st);
		}
	}
	for (size_t k = 0; k < no; k++)
		free(o[k].mem);
	cow_store_close(st);
	ts_rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_open),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_commit_read),
		cmocka_unit_test(test_zero_pages),
		cmocka_unit_test(test_moved_file_refuses_writes),
		cmocka_unit_test(test_scattered_checkpoint_checked_in_file_order),
		cmocka_unit_test(test_incremental),
		cmocka_unit_test(test_readonly_and_locks),
		cmocka_unit_test(test_build_rules),
		cmocka_unit_test(test_threads_write),
		cmocka_unit_test(test_random_oracle),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
