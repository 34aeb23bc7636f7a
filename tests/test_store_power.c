/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_store_power.c — power loss at every point of a transaction.
 *
 * The I/O layer's simulation records the writes that no fsync has made
 * durable yet. For each operation (an incremental commit, a full commit, a
 * drop) and each crash point N (the Nth write or fsync never happens, nor
 * anything after it), the disk images a power loss could leave are built:
 * the pending writes all lost, all kept, a random subset of whole writes,
 * a random subset of 512-byte sectors (torn and reordered writes), and the
 * same with sectors themselves torn (only their first bytes written).
 * Each image must open as the state before the operation or the state
 * after it — the same ids, each byte for byte — never a mix; verify passes
 * and the block counts are exact.
 */
#include "storetest.h"

/* One crash point: run op until the crash_at-th write or fsync, then check
 * every image. Returns the number of writes and fsyncs the op made. */
static long crash_at(const char *dir, enum ts_op op, const struct ts_state *base, long at,
		     uint64_t seed, int *completed)
{
	const char *work = ts_path(dir, "work"), *img = ts_path(dir, "img");
	struct cow__io_test t = { .sim = NULL };
	struct ts_state after = { 0 };
	cow_store *st;
	long ops;
	int err, fd;

	ts_copy(ts_path(dir, "base"), work);
	st = cow_store_open(work, 0);
	assert_non_null(st);
	t.sim = cow__io_sim_start(st->fd, at);
	assert_non_null(t.sim);
	cow__io_test = &t;
	err = ts_run_op(st, op, base, &after);
	cow__io_test = NULL;
	ops = cow__io_sim_ops(t.sim);
	*completed = !cow__io_sim_dead(t.sim);
	assert_int_equal(err == 0, *completed);	/* failed exactly when cut */
	cow_store_close(st);

	fd = open(img, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	for (int k = 0; k < 12; k++) {
		enum cow__sim_mode mode = k == 0 ? COW__SIM_DROP : k == 1 ? COW__SIM_ALL
					: k < 4 ? COW__SIM_WRITES : k < 7 ? COW__SIM_SECTORS
					: COW__SIM_TORN;
		int is_old, is_new;

		assert_int_equal(cow__io_sim_image(t.sim, mode, seed + (uint64_t)k, fd), 0);
		is_old = ts_holds(img, base);
		is_new = !is_old && ts_holds(img, &after);
		if (!is_old && !is_new)
			fprintf(stderr, "op %d, crash at %ld, mode %d: a mix\n", op, at, mode);
		assert_true(is_old || is_new);
		if (*completed)
			assert_true(is_new);	/* durable once it returned */
		if (mode == COW__SIM_DROP && !*completed)
			assert_true(is_old);	/* nothing reached the disk without a sync */
	}
	close(fd);
	cow__io_sim_free(t.sim);
	ts_state_free(&after);
	return ops;
}

static void test_power_loss(void **state)
{
	char *dir = ts_dir();
	struct ts_state base;
	struct t_rng r;
	unsigned points = 0;

	t_rng_seed(&r, t_seed("store_power"));
	ts_make_base(ts_path(dir, "base"), &base);
	for (int op = 0; op < TS_NOPS; op++) {
		int completed = 0;
		long total = crash_at(dir, (enum ts_op)op, &base, 0, 1, &completed);

		assert_true(completed);
		assert_true(total >= 4);	/* data, fsync, root, fsync at least */
		for (long at = 1; at <= total; at++, points++) {
			crash_at(dir, (enum ts_op)op, &base, at, t_rng_next(&r), &completed);
			assert_false(completed);
		}
	}
	fprintf(stderr, "[store_power] %u crash points, 12 images each\n", points);
	ts_state_free(&base);
	ts_rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_power_loss),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
