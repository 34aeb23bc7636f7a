/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Every checkpoint equals the space's content at its freeze, whatever came
 * before. Two parts:
 *
 * - The reproductions of issue #11 (each was a checkpoint that missed
 *   writes with every checksum valid): save after fork, after a vfork
 *   child's writes, after de-fragmentation, after a restart from a loaded
 *   checkpoint (lazy and copied).
 * - A randomized oracle: spaces, snapshots and checkpoints each have a plain
 *   copy beside them. Random operations (writes, scattered writes that
 *   de-fragment, fork, vfork with exit/exec, snapshot, restore, space from
 *   snapshot, prefault, exec of a file, destroy, saves with budgets of 0, a
 *   few pages or plenty while the space is written, loads of old
 *   checkpoints as spaces, store reopened) are applied; after each save the
 *   checkpoint is loaded and compared byte for byte with the copy taken at
 *   its freeze, again after every reopen; the engine's invariants are
 *   checked after every step.
 *
 * COW_TEST_SEED replays a run; COW_TEST_SCALE multiplies its length.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cow.h>

#include "testlib.h"
#include "internal.h"

#define P COW_PAGE_SIZE
#define MAXOBJ 8
#define MAXCK 12

static char path[64];
static struct t_rng rng;

static int setup(void **state)
{
	strcpy(path, "/tmp/cow-save-oracle-XXXXXX");
	close(mkstemp(path));
	unlink(path);
	return 0;
}

static int teardown(void **state)
{
	unlink(path);
	return 0;
}

/* Fail unless checkpoint id of st holds exactly want. */
static void expect_checkpoint(cow_store *st, uint64_t id, const unsigned char *want,
			      size_t len, const char *what)
{
	cow_snap *x = cow_store_load(st, id);
	unsigned char *got = malloc(len);
	size_t stale = 0;

	if (!x)
		fail_msg("%s: checkpoint %llu does not load: %s", what,
			 (unsigned long long)id, cow_strerror(-errno));
	assert_int_equal(cow_snap_size(x), len);
	assert_int_equal(cow_snap_read(x, 0, got, len), 0);
	for (size_t p = 0; p < len / P; p++)
		stale += memcmp(got + p * P, want + p * P, P) != 0;
	if (stale)
		fail_msg("%s: checkpoint %llu: %zu of %zu pages differ from the content at the freeze",
			 what, (unsigned long long)id, stale, len / P);
	cow_snap_release(x);
	free(got);
}

/* Save s (no writes during the save) and check the checkpoint; its id. */
static uint64_t save_and_check(cow_store *st, cow_space *s, const char *what)
{
	size_t len = cow_size(s);
	unsigned char *want = malloc(len);
	cow_save *job;
	uint64_t id;

	memcpy(want, cow_base(s), len);
	job = cow_save_start(st, s, 1 << 30);
	assert_non_null(job);
	assert_int_equal(cow_save_wait(job, &id), 0);
	expect_checkpoint(st, id, want, len, what);
	free(want);
	return id;
}

static void write_all(cow_space *s, unsigned char v)
{
	unsigned char *b = cow_base(s);

	for (size_t off = 0; off < cow_size(s); off += P)
		b[off + 7] = v;
}

/* ---- the reproductions --------------------------------------------------- */

/* Save; write page 0; fork; save the fork. */
static void fork_after_save(void **state)
{
	T_START();
	cow_store *st = cow_store_open(path, COW_STORE_CREATE);
	cow_space *s = cow_space_create(64 * P, 0), *f;

	write_all(s, 1);
	save_and_check(st, s, "parent");
	((char *)cow_base(s))[0] = 'w';
	f = cow_fork(s);
	assert_non_null(f);
	t_check_invariants();
	save_and_check(st, f, "fork of a saved space");
	((char *)cow_base(f))[P] = 'x';
	save_and_check(st, f, "fork, second save");
	save_and_check(st, s, "parent after the fork");
	cow_space_destroy(f);
	cow_space_destroy(s);
	cow_store_close(st);
}

/* Save; a vfork child writes and exits; save the parent. */
static void vfork_child_writes(void **state)
{
	T_START();
	cow_store *st = cow_store_open(path, COW_STORE_CREATE);
	cow_space *s = cow_space_create(64 * P, 0), *c;

	write_all(s, 1);
	save_and_check(st, s, "parent");
	c = cow_vfork(s);
	assert_non_null(c);
	for (int p = 0; p < 64; p += 3)
		((char *)cow_base(c))[p * P + 1] = 'c';
	t_check_invariants();
	cow_space_destroy(c);
	save_and_check(st, s, "parent after its vfork child wrote");
	cow_space_destroy(s);
	cow_store_close(st);
}

/* Touch n pages spread over s so that none is next to another. */
static void scattered_writes(cow_space *s, size_t n, unsigned char v)
{
	unsigned char *b = cow_base(s);
	size_t pages = cow_size(s) / P, step = pages / n;

	for (size_t k = 0; k < n; k++)
		b[(k * step + (k & 1)) * P + 3] = v;
}

/* Save; ~700 scattered first writes (de-fragmentation); rewrite all; save. */
static void defragmented_space(void **state)
{
	T_START();
	cow_store *st = cow_store_open(path, COW_STORE_CREATE);
	cow_space *s = cow_space_create(16384 * P, 0), *f;
	struct cow_stats stt;

	write_all(s, 1);
	save_and_check(st, s, "first");
	scattered_writes(s, 700, 2);
	write_all(s, 3);
	save_and_check(st, s, "after scattered writes and a rewrite");
	/* A fork written the same way fragments its mapping under uffd too. */
	f = cow_fork(s);
	assert_non_null(f);
	scattered_writes(f, 1500, 4);
	assert_int_equal(cow_stats_get(f, &stt), 0);
	print_message("fork: %llu de-fragmentations\n", (unsigned long long)stt.defrags);
	t_check_invariants();
	write_all(f, 5);
	save_and_check(st, f, "fragmented fork");
	cow_space_destroy(f);
	cow_space_destroy(s);
	cow_store_close(st);
}

/*
 * A restart: a checkpoint whose blocks are scattered in the file (many
 * incremental saves of scattered pages), the store closed and reopened,
 * the newest loaded as a space, everything rewritten, saved.
 */
static void restart_from_checkpoint(void **state)
{
	T_START();
	cow_store *st = cow_store_open(path, COW_STORE_CREATE);
	cow_space *s = cow_space_create(16384 * P, 0), *r;
	cow_snap *x;
	uint64_t id;

	write_all(s, 1);
	save_and_check(st, s, "first");
	for (int round = 0; round < 6; round++) {
		scattered_writes(s, 700, (unsigned char)(10 + round));
		save_and_check(st, s, "incremental");
	}
	cow_space_destroy(s);
	cow_store_close(st);

	for (int again = 0; again < 3; again++) {
		st = cow_store_open(path, 0);
		assert_non_null(st);
		assert_int_equal(cow_store_latest(st, &id), 0);
		x = cow_store_load(st, id);
		assert_non_null(x);
		r = cow_space_from_snap(x);
		assert_non_null(r);
		cow_snap_release(x);
		t_check_invariants();
		write_all(r, (unsigned char)(40 + again));
		t_check_invariants();
		save_and_check(st, r, "restarted space, everything rewritten");
		scattered_writes(r, 900, (unsigned char)(50 + again));
		save_and_check(st, r, "restarted space, scattered writes");
		cow_space_destroy(r);
		cow_store_close(st);
	}
}

/* ---- the randomized oracle ------------------------------------------------ */

struct obj { cow_space *s; cow_snap *x; unsigned char *o; size_t len; };
struct ck { uint64_t id; unsigned char *o; size_t len; };

static struct obj spaces[MAXOBJ], snaps[MAXOBJ];
static struct ck cks[MAXCK];
static size_t ncks;
static cow_store *store;
static uint64_t saves, loads, reopens;

static const size_t sizes[] = { P, 5 * P, 64 * P, 512 * P, 3000 * P };

static struct obj *pick(struct obj *set, bool used)
{
	size_t start = t_rng_below(&rng, MAXOBJ);

	for (size_t k = 0; k < MAXOBJ; k++) {
		struct obj *o = &set[(start + k) % MAXOBJ];

		if ((o->o != NULL) == used)
			return o;
	}
	return NULL;
}

static void set_obj(struct obj *d, cow_space *s, cow_snap *x, const unsigned char *src, size_t len)
{
	d->s = s;
	d->x = x;
	d->len = len;
	d->o = malloc(len);
	if (src)
		memcpy(d->o, src, len);
	else
		memset(d->o, 0, len);
}

static void drop_obj(struct obj *o)
{
	free(o->o);
	memset(o, 0, sizeof *o);
}

/* Compare space o with its oracle: through its mapping when small or at
 * the end, else sparsely (t_space_matches_sparsely). buf holds o->len. */
static void compare_space(const struct obj *o, long step, const char *what,
			  unsigned char *buf, bool whole)
{
	bool same = whole || o->len < 1024 * P ? !memcmp(cow_base(o->s), o->o, o->len)
					      : t_space_matches_sparsely(o->s, o->o, buf);

	if (!same)
		fail_msg("step %ld (%s): a space differs from its oracle", step, what);
}

static void compare_all(long step, bool whole)
{
	unsigned char *buf = malloc(3000 * P);

	for (int k = 0; k < MAXOBJ; k++) {
		if (spaces[k].o)
			compare_space(&spaces[k], step, "all", buf, whole);
		if (snaps[k].o) {
			assert_int_equal(cow_snap_read(snaps[k].x, 0, buf, snaps[k].len), 0);
			if (memcmp(buf, snaps[k].o, snaps[k].len))
				fail_msg("step %ld: a snapshot differs from its oracle", step);
		}
	}
	free(buf);
}

/* A write of a few bytes to a few KiB, in the space and its oracle. */
static void random_write(unsigned char *base, unsigned char *oracle, size_t len)
{
	size_t off = t_rng_below(&rng, len), n = 1 + t_rng_below(&rng, t_rng_below(&rng, 4) ? 64 : 2 * P);
	unsigned char v = (unsigned char)t_rng_next(&rng);

	if (n > len - off)
		n = len - off;
	for (size_t i = 0; i < n; i++)
		base[off + i] = oracle[off + i] = (unsigned char)(v + i);
}

/* One byte in each of many pages spread over the space (fragments it). */
static void scatter(struct obj *a)
{
	size_t pages = a->len / P, n = pages / 3 + 1, stride = 2 + t_rng_below(&rng, 3);
	unsigned char v = (unsigned char)t_rng_next(&rng);
	unsigned char *b = cow_base(a->s);

	for (size_t k = 0, p = t_rng_below(&rng, 2); k < n && p < pages; k++, p += stride) {
		b[p * P + 11] = v;
		a->o[p * P + 11] = v;
	}
}

static void remember(uint64_t id, const unsigned char *o, size_t len)
{
	struct ck *c = ncks < MAXCK ? &cks[ncks++] : &cks[t_rng_below(&rng, MAXCK)];

	free(c->o);
	c->id = id;
	c->len = len;
	c->o = malloc(len);
	memcpy(c->o, o, len);
}

struct bg { unsigned char *base, *oracle; size_t len; uint64_t seed; };

/* A writer thread during a save: writes its pages in the space and oracle. */
static void *bg_writer(void *arg)
{
	struct bg *w = arg;
	struct t_rng r;

	t_rng_seed(&r, w->seed);
	for (int k = 0; k < 300; k++) {
		size_t off = t_rng_below(&r, w->len);
		unsigned char v = (unsigned char)t_rng_next(&r);

		w->base[off] = v;
		w->oracle[off] = v;
	}
	return NULL;
}

/*
 * Save space a with a random budget while it is written (by this thread
 * between starting and waiting, or by another thread), then check the
 * checkpoint against the copy taken at the freeze.
 */
static void save_op(struct obj *a, long step)
{
	static const size_t budgets[] = { 0, 4 * P, 1 << 30 };
	unsigned char *want = malloc(a->len);
	size_t budget = budgets[t_rng_below(&rng, 3)];
	bool threaded = t_rng_below(&rng, 4) == 0;
	cow_save *job;
	pthread_t th;
	struct bg w;
	uint64_t id;
	int err;

	memcpy(want, a->o, a->len);
	job = cow_save_start(store, a->s, budget);
	if (!job)
		fail_msg("step %ld: cow_save_start: %s", step, cow_strerror(-errno));
	if (threaded) {
		w = (struct bg){ cow_base(a->s), a->o, a->len, t_rng_next(&rng) };
		assert_int_equal(pthread_create(&th, NULL, bg_writer, &w), 0);
		pthread_join(th, NULL);
	} else {
		for (unsigned k = (unsigned)t_rng_below(&rng, 6); k; k--)
			random_write(cow_base(a->s), a->o, a->len);
	}
	err = cow_save_wait(job, &id);
	if (err)
		fail_msg("step %ld: save: %s", step, cow_strerror(err));
	expect_checkpoint(store, id, want, a->len, "a save");
	remember(id, want, a->len);
	saves++;
	free(want);
}

/* Every remembered checkpoint, after reopening the store. */
static void reopen_op(long step)
{
	assert_int_equal(cow_store_close(store), 0);
	store = cow_store_open(path, 0);
	if (!store)
		fail_msg("step %ld: reopen: %s", step, cow_strerror(-errno));
	for (size_t k = 0; k < ncks; k++)
		expect_checkpoint(store, cks[k].id, cks[k].o, cks[k].len, "after reopening");
	reopens++;
}

/* A remembered checkpoint becomes a space (as a restarted program does). */
static void load_op(struct obj *slot)
{
	struct ck *c = &cks[t_rng_below(&rng, ncks)];
	cow_snap *x = cow_store_load(store, c->id);
	cow_space *s;

	assert_non_null(x);
	s = cow_space_from_snap(x);
	assert_non_null(s);
	if (t_rng_below(&rng, 2)) {
		cow_snap_release(x);
	} else {
		struct obj *ss = pick(snaps, false);

		if (ss)
			set_obj(ss, NULL, x, c->o, c->len);
		else
			cow_snap_release(x);
	}
	set_obj(slot, s, NULL, c->o, c->len);
	loads++;
}

static char *random_file(size_t len, unsigned char **content)
{
	char *p = strdup("/tmp/cow-save-oracle-img-XXXXXX");
	int fd = mkstemp(p);

	assert_true(fd >= 0);
	*content = malloc(len);
	for (size_t k = 0; k < len; k++)
		(*content)[k] = (unsigned char)t_rng_next(&rng);
	assert_int_equal(write(fd, *content, len), (ssize_t)len);
	close(fd);
	return p;
}

/* vfork a; the child writes (a's oracle changes), then exits or execs. */
static void vfork_op(struct obj *a)
{
	cow_space *c = cow_vfork(a->s);
	struct obj *slot, *x;

	assert_non_null(c);
	for (int k = 0; k < 4; k++)
		random_write(cow_base(c), a->o, a->len);
	if (t_rng_below(&rng, 3) == 0 && (slot = pick(spaces, false)) &&
	    (x = pick(snaps, true)) && x->len == a->len) {
		assert_int_equal(cow_restore(c, x->x), 0);
		set_obj(slot, c, NULL, x->o, x->len);
		random_write(cow_base(c), slot->o, slot->len);
	} else {
		cow_space_destroy(c);
	}
}

static void step_once(long step)
{
	struct obj *a, *b;
	unsigned op = (unsigned)t_rng_below(&rng, 100);

	if (op < 30) {
		if ((a = pick(spaces, true)))
			random_write(cow_base(a->s), a->o, a->len);
	} else if (op < 34) {
		if ((a = pick(spaces, true)))
			scatter(a);
	} else if (op < 38) {
		if ((a = pick(spaces, false))) {
			size_t len = sizes[t_rng_below(&rng, 5)];

			set_obj(a, cow_space_create(len, 0), NULL, NULL, len);
			assert_non_null(a->s);
		}
	} else if (op < 44) {
		if ((a = pick(spaces, true)) && (b = pick(spaces, false))) {
			set_obj(b, cow_fork(a->s), NULL, a->o, a->len);
			assert_non_null(b->s);
		}
	} else if (op < 47) {
		if ((a = pick(spaces, true)))
			vfork_op(a);
	} else if (op < 52) {
		if ((a = pick(spaces, true)) && (b = pick(snaps, false))) {
			set_obj(b, NULL, cow_snapshot(a->s), a->o, a->len);
			assert_non_null(b->x);
		}
	} else if (op < 56) {
		if ((a = pick(spaces, true)) && (b = pick(snaps, true)) && a->len == b->len) {
			assert_int_equal(cow_restore(a->s, b->x), 0);
			memcpy(a->o, b->o, a->len);
		}
	} else if (op < 59) {
		if ((b = pick(snaps, true)) && (a = pick(spaces, false))) {
			set_obj(a, cow_space_from_snap(b->x), NULL, b->o, b->len);
			assert_non_null(a->s);
		}
	} else if (op < 62) {
		if ((a = pick(spaces, true))) {
			cow_space_destroy(a->s);
			drop_obj(a);
		}
	} else if (op < 65) {
		if ((b = pick(snaps, true))) {
			cow_snap_release(b->x);
			drop_obj(b);
		}
	} else if (op < 67) {
		if ((a = pick(spaces, true))) {
			size_t off = t_rng_below(&rng, a->len), n = 1 + t_rng_below(&rng, a->len - off);

			assert_int_equal(cow_prefault(a->s, (char *)cow_base(a->s) + off, n), 0);
		}
	} else if (op < 68) {
		if ((a = pick(spaces, true))) {
			unsigned char *content;
			char *p = random_file(a->len, &content);

			assert_int_equal(cow_exec_file(a->s, p, 0), 0);
			unlink(p);
			free(p);
			memcpy(a->o, content, a->len);
			free(content);
		}
	} else if (op < 88) {
		if ((a = pick(spaces, true)))
			save_op(a, step);
	} else if (op < 94) {
		if (ncks && (a = pick(spaces, false)))
			load_op(a);
	} else if (op < 95) {
		reopen_op(step);
	} else {
		if ((a = pick(spaces, true)) && a->len <= 64 * P)
			for (size_t off = 0; off < a->len; off += P)
				((unsigned char *)cow_base(a->s))[off] = a->o[off] = (unsigned char)step;
	}
}

/* The second and fourth seeds of a run have a mapping budget of 8 to 64
 * mappings: members de-fragment, and loaded checkpoints are taken home, all
 * the time. Drawn from the seed's bits, so that COW_TEST_SEED still
 * replays a run. */
static size_t tight_budget(uint64_t seed, int nth)
{
	return nth & 1 ? 8 + (size_t)((seed >> 8) % 57) : 0;
}

static void run_seed(uint64_t seed, int nth, long steps)
{
	t_rng_seed(&rng, seed);
	cow__test_maps_budget = tight_budget(seed, nth);
	store = cow_store_open(path, COW_STORE_CREATE);
	assert_non_null(store);
	for (long step = 0; step < steps; step++) {
		step_once(step);
		t_check_invariants();
		if (step % 32 == 31)
			compare_all(step, false);
	}
	compare_all(steps, true);
	reopen_op(steps);
	assert_int_equal(cow_store_verify(store), 0);
	for (int k = 0; k < MAXOBJ; k++) {
		if (spaces[k].o) {
			cow_space_destroy(spaces[k].s);
			drop_obj(&spaces[k]);
		}
		if (snaps[k].o) {
			cow_snap_release(snaps[k].x);
			drop_obj(&snaps[k]);
		}
	}
	for (size_t k = 0; k < ncks; k++)
		free(cks[k].o);
	memset(cks, 0, sizeof cks);
	ncks = 0;
	cow_store_close(store);
	unlink(path);
	cow__test_maps_budget = 0;
	assert_int_equal(cow_frames_in_use(), 0);
}

static void save_oracle(void **state)
{
	T_START();
	uint64_t seed = t_seed("save_oracle");
	long steps = 2500L * t_scale();

	/* Several seeds in one run: 4 x 2500 steps on each backend (20,000 over both) by default. */
	for (int k = 0; k < 4; k++) {
		run_seed(seed + (uint64_t)k * 0x9e3779b97f4a7c15ull, k, steps);
		print_message("seed %llu: %ld steps, %llu saves, %llu loads, %llu reopens, "
			      "mapping budget %zu\n",
			      (unsigned long long)(seed + (uint64_t)k * 0x9e3779b97f4a7c15ull),
			      steps, (unsigned long long)saves, (unsigned long long)loads,
			      (unsigned long long)reopens,
			      tight_budget(seed + (uint64_t)k * 0x9e3779b97f4a7c15ull, k));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(fork_after_save, setup, teardown),
		cmocka_unit_test_setup_teardown(vfork_child_writes, setup, teardown),
		cmocka_unit_test_setup_teardown(defragmented_space, setup, teardown),
		cmocka_unit_test_setup_teardown(restart_from_checkpoint, setup, teardown),
		cmocka_unit_test_setup_teardown(save_oracle, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
