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

#define NP 300u

/* A state of the store: the checkpoints and their content. */
struct state {
	size_t n;
	uint64_t id[8];
	unsigned char *mem[8];
};

/* 1 if the store at path holds exactly state s. */
static int holds(const char *path, const struct state *s)
{
	cow_store *st = cow_store_open(path, 0);
	unsigned char *got = malloc(NP * PG);
	uint64_t ids[8];
	size_t n;
	int same;

	if (!st)
		fprintf(stderr, "open: %s (%s)\n", strerror(errno), cow_store_errmsg(NULL));
	assert_non_null(st);
	assert_int_equal(cow_store_list(st, ids, 8, &n), 0);
	same = n == s->n;
	for (size_t i = 0; i < n && same; i++) {
		same = ids[i] == s->id[i] && cow__store_read(st, ids[i], got, NP * PG) == 0 &&
		       memcmp(got, s->mem[i], NP * PG) == 0;
	}
	if (same)
		ts_check(st);
	cow_store_close(st);
	free(got);
	return same;
}

static void state_add(struct state *s, uint64_t id, const unsigned char *mem)
{
	s->id[s->n] = id;
	s->mem[s->n] = malloc(NP * PG);
	memcpy(s->mem[s->n++], mem, NP * PG);
}

static void state_copy(struct state *to, const struct state *from)
{
	to->n = 0;
	for (size_t i = 0; i < from->n; i++)
		state_add(to, from->id[i], from->mem[i]);
}

static void state_free(struct state *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->mem[i]);
	s->n = 0;
}

enum op { INCREMENTAL, FULL, DROP, NOPS };

/* Run op on the open store; the state it leads to goes to after. */
static int run_op(cow_store *st, enum op op, const struct state *before,
		  struct state *after)
{
	unsigned char *mem = malloc(NP * PG), changed[NP] = { 0 };
	uint64_t last = before->id[before->n - 1], id = 0;
	int err = 0;

	state_copy(after, before);
	memcpy(mem, before->mem[before->n - 1], NP * PG);
	switch (op) {
	case INCREMENTAL:
		for (unsigned p = 0; p < NP; p += 13) {
			changed[p] = 1;
			ts_fill(mem + p * PG, 77, p);
		}
		err = ts_commit(st, mem, NP, last, changed, &id);
		state_add(after, cow__store_next_id(st) - (err == 0), mem);
		break;
	case FULL:
		for (unsigned p = 0; p < NP; p++)
			if (p % 5)
				ts_fill(mem + p * PG, 78, p);
			else
				memset(mem + p * PG, 0, PG);
		err = ts_commit(st, mem, NP, 0, NULL, &id);
		state_add(after, cow__store_next_id(st) - (err == 0), mem);
		break;
	default:
		err = cow_store_drop(st, before->id[0]);
		free(after->mem[0]);
		after->n--;
		memmove(after->id, after->id + 1, after->n * sizeof *after->id);
		memmove(after->mem, after->mem + 1, after->n * sizeof *after->mem);
		break;
	}
	free(mem);
	return err;
}

/* The base store: three checkpoints, the second and third incremental. */
static void make_base(const char *path, struct state *s)
{
	cow_store *st = cow_store_open(path, COW_STORE_CREATE);
	unsigned char *mem = malloc(NP * PG), changed[NP];
	uint64_t id = 0;

	s->n = 0;
	for (int k = 0; k < 3; k++) {
		for (unsigned p = 0; p < NP; p++) {
			changed[p] = k == 0 || p % (k + 2) == 0;
			if (changed[p])
				ts_fill(mem + p * PG, (uint64_t)k + 1, p);
		}
		assert_int_equal(ts_commit(st, mem, NP, id, changed, &id), 0);
		state_add(s, id, mem);
	}
	assert_int_equal(cow_store_close(st), 0);
	free(mem);
}

/* One crash point: run op until the crash_at-th write or fsync, then check
 * every image. Returns the number of writes and fsyncs the op made. */
static long crash_at(const char *dir, enum op op, const struct state *base, long at,
		     uint64_t seed, int *completed)
{
	const char *work = ts_path(dir, "work"), *img = ts_path(dir, "img");
	struct cow__io_test t = { .sim = NULL };
	struct state after = { 0 };
	cow_store *st;
	long ops;
	int err, fd;

	ts_copy(ts_path(dir, "base"), work);
	st = cow_store_open(work, 0);
	assert_non_null(st);
	t.sim = cow__io_sim_start(st->fd, at);
	assert_non_null(t.sim);
	cow__io_test = &t;
	err = run_op(st, op, base, &after);
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
		is_old = holds(img, base);
		is_new = !is_old && holds(img, &after);
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
	state_free(&after);
	return ops;
}

static void test_power_loss(void **state)
{
	char *dir = ts_dir();
	struct state base;
	struct t_rng r;
	unsigned points = 0;

	t_rng_seed(&r, t_seed("store_power"));
	make_base(ts_path(dir, "base"), &base);
	for (int op = 0; op < NOPS; op++) {
		int completed = 0;
		long total = crash_at(dir, (enum op)op, &base, 0, 1, &completed);

		assert_true(completed);
		assert_true(total >= 4);	/* data, fsync, root, fsync at least */
		for (long at = 1; at <= total; at++, points++) {
			crash_at(dir, (enum op)op, &base, at, t_rng_next(&r), &completed);
			assert_false(completed);
		}
	}
	fprintf(stderr, "[store_power] %u crash points, 12 images each\n", points);
	state_free(&base);
	ts_rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_power_loss),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
