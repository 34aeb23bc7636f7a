/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Randomized test: every space and snapshot has an oracle beside it, a plain
 * malloc'd copy of what it must contain. Thousands of random operations
 * (write, fork, snapshot, restore, release, destroy, space from snapshot,
 * views, reads, prefault, multi-threaded writes) are applied to both; after
 * each, every space and snapshot is compared with its oracle byte for byte,
 * and the engine's invariants are checked.
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

#define MAXOBJ 10
#define P COW_PAGE_SIZE

struct obj {
	cow_space *s;		/* a space, or NULL */
	cow_snap *x;		/* or a snapshot */
	unsigned char *o;	/* the oracle */
	size_t len;
};

static struct obj spaces[MAXOBJ], snaps[MAXOBJ];
static struct t_rng rng;

static const size_t sizes[] = { P, 3 * P, 16 * P, 64 * P };
/* One space in eight is larger than two page-table leaves (1,024 pages
 * each), written a few pages at a time: freezes then meet whole leaves that
 * were never written, which are protected by a read-only mapping. */
#define BIG (2100 * P)

static size_t random_size(void)
{
	return t_rng_below(&rng, 8) ? sizes[t_rng_below(&rng, 4)] : BIG;
}

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

/*
 * Does space a hold its oracle? A small one is read through its mapping,
 * a big one sparsely (t_space_matches_sparsely) but whole at the end.
 */
static bool space_matches(const struct obj *a, unsigned char *buf, bool whole)
{
	if (a->len < BIG || whole)
		return !memcmp(cow_base(a->s), a->o, a->len);
	return t_space_matches_sparsely(a->s, a->o, buf);
}

/* Compare every member with its oracle; the big ones (8 MiB each) every
 * eighth step only, and all of them, whole, at the end. */
static void compare_all(long step, bool whole)
{
	unsigned char *buf = malloc(BIG);
	bool big = whole || step % 8 == 0;

	for (int k = 0; k < MAXOBJ; k++) {
		if (spaces[k].o && (big || spaces[k].len < BIG) &&
		    !space_matches(&spaces[k], buf, whole))
			fail_msg("step %ld: space %d differs from its oracle", step, k);
		if (snaps[k].o && (big || snaps[k].len < BIG)) {
			assert_int_equal(cow_snap_read(snaps[k].x, 0, buf, snaps[k].len), 0);
			if (memcmp(buf, snaps[k].o, snaps[k].len))
				fail_msg("step %ld: snapshot %d differs from its oracle", step, k);
		}
	}
	free(buf);
}

static void random_write(unsigned char *base, unsigned char *oracle, size_t len)
{
	size_t off = t_rng_below(&rng, len), n = 1 + t_rng_below(&rng, t_rng_below(&rng, 4) ? 64 : 2 * P);
	unsigned char v = (unsigned char)t_rng_next(&rng);

	if (n > len - off)
		n = len - off;
	for (size_t i = 0; i < n; i++) {
		base[off + i] = (unsigned char)(v + i);
		oracle[off + i] = (unsigned char)(v + i);
	}
}

struct writer { unsigned char *base, *oracle; size_t first, n; uint64_t seed; };

/* Each thread writes only its own pages, in the space and in the oracle. */
static void *writer_main(void *arg)
{
	struct writer *w = arg;
	struct t_rng r;

	t_rng_seed(&r, w->seed);
	for (int k = 0; k < 200; k++) {
		size_t off = w->first * P + t_rng_below(&r, w->n * P);
		unsigned char v = (unsigned char)t_rng_next(&r);

		w->base[off] = v;
		w->oracle[off] = v;
	}
	return NULL;
}

static void threaded_writes(struct obj *o)
{
	size_t pages = o->len / P, nthreads = pages >= 4 ? 4 : pages;
	pthread_t th[4];
	struct writer w[4];

	for (size_t t = 0; t < nthreads; t++) {
		w[t] = (struct writer){ cow_base(o->s), o->o, t * (pages / nthreads),
					pages / nthreads, t_rng_next(&rng) };
		assert_int_equal(pthread_create(&th[t], NULL, writer_main, &w[t]), 0);
	}
	for (size_t t = 0; t < nthreads; t++)
		pthread_join(th[t], NULL);
}

static void set_obj(struct obj *dst, cow_space *s, cow_snap *x, const unsigned char *src, size_t len)
{
	dst->s = s;
	dst->x = x;
	dst->len = len;
	dst->o = malloc(len);
	if (src)
		memcpy(dst->o, src, len);
	else
		memset(dst->o, 0, len);
}

static void drop_obj(struct obj *o)
{
	free(o->o);
	memset(o, 0, sizeof *o);
}

/* A file holding len random bytes (also returned in *content). */
static char *random_file(size_t len, unsigned char **content)
{
	char *path = strdup("/tmp/cow-oracle-XXXXXX");
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	*content = malloc(len);
	for (size_t k = 0; k < len; k++)
		(*content)[k] = (unsigned char)t_rng_next(&rng);
	assert_int_equal(write(fd, *content, len), (ssize_t)len);
	close(fd);
	return path;
}

/*
 * vfork a space, write through the child (the parent's oracle changes), then
 * the child exits, execs a snapshot, or execs a file. The parent is not
 * written while the child lives (that would wait for the child: this test
 * is one thread).
 */
static void vfork_episode(struct obj *a)
{
	cow_space *c = cow_vfork(a->s);
	unsigned how = (unsigned)t_rng_below(&rng, 3);
	struct obj *slot, *x;

	assert_non_null(c);
	for (int k = 0; k < 4; k++)
		random_write(cow_base(c), a->o, a->len);
	if (how == 1 && (slot = pick(spaces, false)) && (x = pick(snaps, true)) &&
	    x->len == a->len) {
		assert_int_equal(cow_restore(c, x->x), 0);	/* exec a snapshot */
		set_obj(slot, c, NULL, x->o, x->len);
		random_write(cow_base(c), slot->o, slot->len);
	} else if (how == 2 && (slot = pick(spaces, false))) {
		unsigned char *content;
		char *path = random_file(a->len, &content);

		assert_int_equal(cow_exec_file(c, path, 0), 0);	/* exec a file */
		unlink(path);
		free(path);
		set_obj(slot, c, NULL, content, a->len);
		free(content);
		random_write(cow_base(c), slot->o, slot->len);
	} else {
		cow_space_destroy(c);				/* exit */
	}
}

static void step_once(long step)
{
	struct obj *a, *b;
	unsigned op = (unsigned)t_rng_below(&rng, 108);

	if (op < 40) {				/* write */
		if ((a = pick(spaces, true)))
			random_write(cow_base(a->s), a->o, a->len);
	} else if (op < 45) {			/* create */
		if ((a = pick(spaces, false))) {
			size_t len = random_size();
			cow_space *s = cow_space_create(len, 0);

			assert_non_null(s);
			set_obj(a, s, NULL, NULL, len);
			/* A big one is often frozen soon, while most of its
			 * leaves were never written. */
			for (unsigned k = len == BIG ? (unsigned)t_rng_below(&rng, 3) : 0; k; k--)
				random_write(cow_base(s), a->o, len);
			if (len == BIG && t_rng_below(&rng, 2) && (b = pick(snaps, false))) {
				cow_snap *x = cow_snapshot(s);

				assert_non_null(x);
				set_obj(b, NULL, x, a->o, len);
			}
		}
	} else if (op < 53) {			/* fork */
		if ((a = pick(spaces, true)) && (b = pick(spaces, false))) {
			cow_space *f = cow_fork(a->s);

			assert_non_null(f);
			set_obj(b, f, NULL, a->o, a->len);
		}
	} else if (op < 63) {			/* snapshot */
		if ((a = pick(spaces, true)) && (b = pick(snaps, false))) {
			cow_snap *x = cow_snapshot(a->s);

			assert_non_null(x);
			set_obj(b, NULL, x, a->o, a->len);
		}
	} else if (op < 70) {			/* restore */
		if ((a = pick(spaces, true)) && (b = pick(snaps, true))) {
			int err = cow_restore(a->s, b->x);

			if (a->len != b->len) {
				assert_int_equal(err, -EINVAL);
			} else {
				assert_int_equal(err, 0);
				memcpy(a->o, b->o, a->len);
			}
		}
	} else if (op < 76) {			/* release */
		if ((a = pick(snaps, true))) {
			cow_snap_release(a->x);
			drop_obj(a);
		}
	} else if (op < 81) {			/* destroy */
		if ((a = pick(spaces, true))) {
			cow_space_destroy(a->s);
			drop_obj(a);
		}
	} else if (op < 85) {			/* space from snapshot */
		if ((a = pick(snaps, true)) && (b = pick(spaces, false))) {
			cow_space *s = cow_space_from_snap(a->x);

			assert_non_null(s);
			set_obj(b, s, NULL, a->o, a->len);
		}
	} else if (op < 89) {			/* view */
		if ((a = pick(snaps, true))) {
			const void *v = cow_snap_map(a->x);

			assert_non_null(v);
			if (memcmp(v, a->o, a->len))
				fail_msg("step %ld: view differs from its oracle", step);
		}
	} else if (op < 93) {			/* partial read */
		if ((a = pick(snaps, true))) {
			size_t off = t_rng_below(&rng, a->len);
			size_t n = t_rng_below(&rng, a->len - off + 1);
			unsigned char *buf = malloc(n + 1);

			assert_int_equal(cow_snap_read(a->x, off, buf, n), 0);
			assert_memory_equal(buf, a->o + off, n);
			free(buf);
		}
	} else if (op < 96) {			/* prefault */
		if ((a = pick(spaces, true))) {
			size_t off = t_rng_below(&rng, a->len);

			assert_int_equal(cow_prefault(a->s, (char *)cow_base(a->s) + off,
						      t_rng_below(&rng, a->len - off + 1)), 0);
		}
	} else if (op < 100) {			/* threads */
		if ((a = pick(spaces, true)))
			threaded_writes(a);
	} else if (op < 103) {			/* vfork, then exit or exec */
		if ((a = pick(spaces, true)))
			vfork_episode(a);
	} else if (op < 105) {			/* exec a file */
		if ((a = pick(spaces, true))) {
			unsigned char *content;
			char *path = random_file(a->len, &content);

			assert_int_equal(cow_exec_file(a->s, path, 0), 0);
			memcpy(a->o, content, a->len);
			unlink(path);
			free(path);
			free(content);
		}
	} else {				/* a snapshot from a file */
		if ((b = pick(snaps, false))) {
			size_t len = sizes[t_rng_below(&rng, 4)];
			unsigned char *content;
			char *path = random_file(len, &content);
			cow_snap *x = cow_snap_open(path, 0, 0);

			assert_non_null(x);
			unlink(path);
			free(path);
			set_obj(b, NULL, x, content, len);
			free(content);
		}
	}
}

static void oracle_run(void **state)
{
	T_START();
	long steps = 4000L * t_scale();
	uint64_t seed = t_seed("oracle");

	/* Half the seeds run with a mapping budget of 8 to 64 mappings, so
	 * that members de-fragment all the time (drawn from the seed's bits:
	 * the seed alone replays a run). */
	cow__test_maps_budget = (seed >> 7) & 1 ? 8 + (size_t)((seed >> 8) % 57) : 0;
	print_message("mapping budget %zu\n", cow__test_maps_budget);
	t_rng_seed(&rng, seed);
	for (long step = 0; step < steps; step++) {
		step_once(step);
		compare_all(step, false);
		if (step % 50 == 0)
			t_check_invariants();
	}
	compare_all(steps, true);
	t_check_invariants();
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
	cow__test_maps_budget = 0;
	assert_int_equal(cow_frames_in_use(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(oracle_run),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
