/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_store_faults.c — failed I/O and allocation, at every call.
 *
 * For each operation (incremental commit, full commit, drop) and each kind
 * of failure — a write failing with EIO or ENOSPC (once, or from then on),
 * short writes (once, or every write), an fsync failing with EIO, an
 * allocation failing with ENOMEM, a read failing with EIO — the Nth call
 * fails, for N = 1, 2, ... until the operation no longer reaches it:
 *   - the operation returns an error (short writes: it completes anyway);
 *   - after a failed fsync or an EIO the handle is failed: the next commit
 *     returns -EIO and makes no fsync (never retry fsync as if nothing
 *     happened); after ENOSPC or ENOMEM it works again at once;
 *   - reopened, the store is the previous state (or, when only the final
 *     fsync failed, possibly the new one), verified, with exact counts.
 * Opening and verifying under the same failures return errors, never crash.
 */
#include "storetest.h"

struct fault {
	enum cow__io_kind kind;
	int err;        /* 0: short transfer */
	int sticky;
	const char *name;
};

static const struct fault faults[] = {
	{ COW__IO_WRITE, EIO, 0, "write EIO" },
	{ COW__IO_WRITE, ENOSPC, 0, "write ENOSPC" },
	{ COW__IO_WRITE, ENOSPC, 1, "disk full" },
	{ COW__IO_WRITE, 0, 0, "short write" },
	{ COW__IO_WRITE, 0, 1, "short writes" },
	{ COW__IO_FSYNC, EIO, 0, "fsync EIO" },
	{ COW__IO_ALLOC, ENOMEM, 0, "ENOMEM" },
	{ COW__IO_READ, EIO, 0, "read EIO" },
};

/* A commit on a failed handle fails at once, without an fsync. */
static void expect_failed_handle(cow_store *st)
{
	struct cow__io_test t = { .sim = NULL };
	struct cow_store_stat ss;
	struct ts_state s = { 0 }, after = { 0 };
	unsigned char *mem = calloc(TS_NP, PG);

	assert_int_equal(cow_store_stat(st, &ss), 0);
	assert_int_equal(ss.failed, 1);
	cow__io_test = &t;
	ts_state_add(&s, 1, mem);
	assert_int_equal(ts_run_op(st, TS_FULL, &s, &after), -EIO);
	assert_int_equal(cow_store_drop(st, 1), -EIO);
	cow__io_test = NULL;
	assert_int_equal(t.calls[COW__IO_FSYNC], 0);
	assert_int_equal(t.calls[COW__IO_WRITE], 0);
	ts_state_free(&s);
	ts_state_free(&after);
	free(mem);
}

/* One run: op with fault f at call n. Returns 1 if the fault fired. */
static int one(const char *dir, enum ts_op op, const struct fault *f, long n,
	       const struct ts_state *base)
{
	const char *work = ts_path(dir, "work");
	struct cow__io_test t = { .sim = NULL };
	struct ts_state after = { 0 }, again = { 0 };
	int err, may_be_old = 0, may_be_new = 1;
	cow_store *st;

	ts_copy(ts_path(dir, "base"), work);
	st = cow_store_open(work, 0);
	assert_non_null(st);
	t.fault[f->kind] = (struct cow__io_fault){ n, f->err, f->sticky };
	cow__io_test = &t;
	err = ts_run_op(st, op, base, &after);	/* after: the state if it works */
	cow__io_test = NULL;
	if (!t.failed || !f->err)
		assert_int_equal(err, 0);	/* nothing failed, or short writes */
	if (err && (f->kind == COW__IO_FSYNC || (f->kind == COW__IO_WRITE && f->err == EIO))) {
		/* The handle cannot know what reached the disk: failed. Only a
		 * failed final fsync (after the root write) may leave the new
		 * state, since the simulated failure lost nothing. */
		expect_failed_handle(st);
		may_be_old = 1;
		may_be_new = f->kind == COW__IO_FSYNC;
	} else if (err) {
		/* ENOSPC, ENOMEM, a failed read: the same operation works at once. */
		assert_int_equal(ts_run_op(st, op, base, &again), 0);
		assert_int_equal(again.n, after.n);
		assert_int_equal(again.id[again.n - 1], after.id[after.n - 1]);
		ts_state_free(&again);
	}
	cow_store_close(st);
	if (!(may_be_old && ts_holds(work, base))) {
		if (!may_be_new)
			fprintf(stderr, "%s at call %ld, op %d: not the old state\n", f->name, n, op);
		assert_true(may_be_new);
		assert_true(ts_holds(work, &after));
	}
	ts_state_free(&after);
	return t.failed != 0;
}

static void test_failing_calls(void **state)
{
	char *dir = ts_dir();
	struct ts_state base;
	unsigned runs = 0;

	ts_make_base(ts_path(dir, "base"), &base);
	for (int op = 0; op < TS_NOPS; op++)
		for (size_t k = 0; k < sizeof faults / sizeof *faults; k++)
			for (long n = 1; one(dir, (enum ts_op)op, &faults[k], n, &base); n++)
				runs++;
	fprintf(stderr, "[store_faults] %u failing runs\n", runs);
	ts_state_free(&base);
	ts_rmdir(dir);
}

/* Opening and verifying with the Nth allocation or read failing. */
static void test_open_verify_failing(void **state)
{
	char *dir = ts_dir();
	const char *path = ts_path(dir, "base");
	struct ts_state base;
	unsigned runs = 0;

	ts_make_base(path, &base);
	for (int kind = COW__IO_READ; kind <= COW__IO_ALLOC; kind += COW__IO_ALLOC - COW__IO_READ)
		for (long n = 1;; n++, runs++) {
			struct cow__io_test t = { .sim = NULL };
			cow_store *st;
			int err;

			t.fault[kind] = (struct cow__io_fault){ n, kind == COW__IO_READ ? EIO : ENOMEM, 0 };
			cow__io_test = &t;
			st = cow_store_open(path, 0);
			err = st ? cow_store_verify(st) : -errno;
			cow__io_test = NULL;
			if (!t.failed) {
				assert_int_equal(err, 0);
				cow_store_close(st);
				break;
			}
			assert_true(err == -EIO || err == -ENOMEM);
			assert_true(cow_store_errmsg(st)[0] || err == -ENOMEM);
			cow_store_close(st);
		}
	fprintf(stderr, "[store_faults] %u failing opens\n", runs);
	assert_true(ts_holds(path, &base));
	ts_state_free(&base);
	ts_rmdir(dir);
}

/* Creating a store under failures leaves no file, or a complete store. */
static void test_create_failing(void **state)
{
	char *dir = ts_dir();
	const char *path = ts_path(dir, "new");
	unsigned runs = 0;

	for (int kind = COW__IO_WRITE; kind <= COW__IO_ALLOC; kind++)
		for (long n = 1;; n++, runs++) {
			struct cow__io_test t = { .sim = NULL };
			cow_store *st;

			t.fault[kind] = (struct cow__io_fault){ n, kind == COW__IO_ALLOC ? ENOMEM : EIO, 0 };
			cow__io_test = &t;
			st = cow_store_open(path, COW_STORE_CREATE);
			cow__io_test = NULL;
			if (!t.failed) {
				assert_non_null(st);
				cow_store_close(st);
				break;
			}
			assert_null(st);
			if (access(path, F_OK) == 0) {	/* created, then failed to open */
				st = cow_store_open(path, 0);
				assert_non_null(st);
				cow_store_close(st);
			}
			unlink(path);
			char cmd[700];

			snprintf(cmd, sizeof cmd, "test $(ls -A '%s' | wc -l) -eq 0", dir);
			assert_int_equal(system(cmd), 0);	/* no temporary left */
		}
	fprintf(stderr, "[store_faults] %u failing creates\n", runs);
	ts_rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_failing_calls),
		cmocka_unit_test(test_open_verify_failing),
		cmocka_unit_test(test_create_failing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
