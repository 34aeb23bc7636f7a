/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Many threads write one space while another thread snapshots, forks and
 * restores it: correct, and no deadlock.
 *
 * Each writer owns a stripe of pages and writes a sweep number into its
 * pages in order, page after page, sweep after sweep. A write lands either
 * before a snapshot or after it, and a writer's writes are in program order,
 * so every snapshot must show, for each stripe, pages [0, j) at sweep v and
 * pages [j, n) at sweep v - 1: a consistent cut.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cow.h>

#include "internal.h"
#include "testlib.h"

#define P COW_PAGE_SIZE
#define WRITERS 4
#define STRIPE 64

struct writer {
	cow_space *s;
	unsigned idx;
	atomic_bool *stop;
	uint64_t sweeps;
};

static uint64_t *slot(cow_space *s, unsigned w, size_t page)
{
	return (uint64_t *)((char *)cow_base(s) + ((size_t)w * STRIPE + page) * P);
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;

	for (uint64_t v = 1; !atomic_load(w->stop); v++) {
		for (size_t p = 0; p < STRIPE; p++)
			*slot(w->s, w->idx, p) = v;
		w->sweeps = v;
	}
	return NULL;
}

/* Check that a copy of the space is a consistent cut of every stripe. */
static void check_cut(const unsigned char *img)
{
	for (unsigned w = 0; w < WRITERS; w++) {
		const uint64_t *first = (const uint64_t *)(img + (size_t)w * STRIPE * P);
		uint64_t v = *first;
		bool lower = false;

		for (size_t p = 1; p < STRIPE; p++) {
			uint64_t x = *(const uint64_t *)(img + ((size_t)w * STRIPE + p) * P);

			if (x == v && !lower)
				continue;
			if (v > 0 && x == v - 1) {
				lower = true;
				continue;
			}
			fail_msg("stripe %u page %zu: %llu after %llu: not a consistent cut",
				 w, p, (unsigned long long)x, (unsigned long long)v);
		}
	}
}

static void writers_and_a_snapshotter(void **state)
{
	T_START();
	size_t len = (size_t)WRITERS * STRIPE * P;
	cow_space *s = cow_space_create(len, 0);
	atomic_bool stop = false;
	pthread_t th[WRITERS];
	struct writer w[WRITERS];
	unsigned char *img = malloc(len);
	unsigned rounds = 150 * t_scale();

	for (unsigned i = 0; i < WRITERS; i++) {
		w[i] = (struct writer){ s, i, &stop, 0 };
		assert_int_equal(pthread_create(&th[i], NULL, writer_main, &w[i]), 0);
	}
	for (unsigned r = 0; r < rounds; r++) {
		cow_snap *x = cow_snapshot(s);
		cow_space *f;

		assert_non_null(x);
		assert_int_equal(cow_snap_read(x, 0, img, len), 0);
		check_cut(img);
		if (r % 3 == 0) {		/* a fork is a consistent cut too */
			f = cow_fork(s);
			assert_non_null(f);
			memcpy(img, cow_base(f), len);
			check_cut(img);
			((char *)cow_base(f))[8] = 1;	/* the fork is writable */
			cow_space_destroy(f);
		}
		if (r % 7 == 0) {		/* a view is the same cut */
			const void *v = cow_snap_map(x);

			assert_non_null(v);
			check_cut(v);
		}
		cow_snap_release(x);
	}
	/*
	 * Restores under writers: a writer then goes on mid-sweep over pages
	 * that went back, so later images are no longer prefix cuts; what must
	 * hold is that nobody deadlocks, every writer keeps going, and every
	 * value is one some writer wrote.
	 */
	for (unsigned r = 0; r < rounds / 3; r++) {
		cow_snap *x = cow_snapshot(s);
		uint64_t before[WRITERS];

		for (unsigned i = 0; i < WRITERS; i++)
			before[i] = w[i].sweeps;
		assert_int_equal(cow_restore(s, x), 0);
		assert_int_equal(cow_snap_read(x, 0, img, len), 0);
		for (unsigned i = 0; i < WRITERS; i++)
			for (size_t p = 0; p < STRIPE; p++)
				assert_true(*(uint64_t *)(img + ((size_t)i * STRIPE + p) * P) <=
					    before[i] + 1);
		cow_snap_release(x);
	}
	atomic_store(&stop, true);
	for (unsigned i = 0; i < WRITERS; i++) {
		pthread_join(th[i], NULL);
		assert_true(w[i].sweeps > 0);
	}
	/* Quiet now: a final snapshot and restore are exact. */
	{
		cow_snap *x = cow_snapshot(s);

		memcpy(img, cow_base(s), len);
		memset(cow_base(s), 0xee, len);
		assert_int_equal(cow_restore(s, x), 0);
		assert_memory_equal(cow_base(s), img, len);
		cow_snap_release(x);
	}
	t_check_invariants();
	cow_space_destroy(s);
	free(img);
	assert_int_equal(cow_frames_in_use(), 0);
}

struct hammer {
	cow_space *s;
	unsigned idx;
	atomic_bool *stop;
};

/* Write, over and over, into every page of the writer's stripe. */
static void *hammer_main(void *arg)
{
	struct hammer *h = arg;

	for (uint64_t v = 1; !atomic_load(h->stop); v++)
		for (size_t p = 0; p < STRIPE; p++)
			*slot(h->s, h->idx, p) = v;
	return NULL;
}

/*
 * A restore copies the snapshot's content into the pages still writable
 * before it protects them, through the space's own mapping; writers racing
 * it can change such a page once more before the protection. The snapshot
 * then shares the page again only if it does equal the snapshot's: its
 * content never changes, restore after restore, and once the writers stop
 * a restore is exact.
 */
static void restores_racing_writers_leave_the_snapshot_alone(void **state)
{
	T_START();
	size_t len = (size_t)WRITERS * STRIPE * P;
	cow_space *s = cow_space_create(len, 0);
	atomic_bool stop = false;
	pthread_t th[WRITERS];
	struct hammer h[WRITERS];
	unsigned char *want = malloc(len), *img = malloc(len);
	unsigned rounds = 400 * t_scale();
	cow_snap *x;

	for (size_t k = 0; k < len; k++)
		want[k] = (unsigned char)(k * 7 + k / P);
	memcpy(cow_base(s), want, len);
	x = cow_snapshot(s);
	assert_non_null(x);
	for (unsigned i = 0; i < WRITERS; i++) {
		h[i] = (struct hammer){ s, i, &stop };
		assert_int_equal(pthread_create(&th[i], NULL, hammer_main, &h[i]), 0);
	}
	for (unsigned r = 0; r < rounds; r++) {
		assert_int_equal(cow_restore(s, x), 0);
		assert_int_equal(cow_snap_read(x, 0, img, len), 0);
		assert_memory_equal(img, want, len);
	}
	atomic_store(&stop, true);
	for (unsigned i = 0; i < WRITERS; i++)
		pthread_join(th[i], NULL);
	t_check_invariants();
	assert_int_equal(cow_restore(s, x), 0);
	assert_memory_equal(cow_base(s), want, len);
	assert_int_equal(cow_snap_read(x, 0, img, len), 0);
	assert_memory_equal(img, want, len);
	t_check_invariants();
	cow_snap_release(x);
	cow_space_destroy(s);
	free(want);
	free(img);
	assert_int_equal(cow_frames_in_use(), 0);
}

struct scribe {
	cow_space *s;
	unsigned idx, pages;
};

/* Write a mark into every page of the thread's share of the space. */
static void *scribe_main(void *arg)
{
	struct scribe *w = arg;
	unsigned char *base = cow_base(w->s);

	for (unsigned p = w->idx; p < w->pages; p += WRITERS)
		base[(size_t)p * P + w->idx] = (unsigned char)(0x80 + w->idx);
	return NULL;
}

/*
 * WRITERS scribes write space s (pages pages), started one after another,
 * so that a thread's first write meets the remap another's caused; then
 * joined.
 */
static void scribes_write(cow_space *s, unsigned pages)
{
	pthread_t th[WRITERS];
	struct scribe w[WRITERS];

	for (unsigned i = 0; i < WRITERS; i++) {
		w[i] = (struct scribe){ s, i, pages };
		assert_int_equal(pthread_create(&th[i], NULL, scribe_main, &w[i]), 0);
	}
	for (unsigned i = 0; i < WRITERS; i++)
		pthread_join(th[i], NULL);
}

/* A new space of len bytes holding a pattern, which *want gets too. */
static cow_space *patterned_space(size_t len, unsigned char **want)
{
	cow_space *s = cow_space_create(len, 0);

	assert_non_null(s);
	*want = malloc(len);
	for (size_t k = 0; k < len; k++)
		(*want)[k] = (unsigned char)(k / P + k);
	memcpy(cow_base(s), *want, len);
	return s;
}

/* A snapshot of s whose frames lie in as many runs as s has pages: s's
 * odd pages are written after it, so it keeps copies of them all over. */
static cow_snap *scattered_snapshot(cow_space *s, unsigned pages)
{
	cow_snap *x = cow_snapshot(s);

	assert_non_null(x);
	for (unsigned p = 1; p < pages; p += 2)
		((unsigned char *)cow_base(s))[(size_t)p * P] ^= 1;
	return x;
}

/*
 * Threads write a fresh fork while its first write remaps it (a fork starts
 * as one read-only mapping, and leaves it at the first write) and while
 * de-fragmentation remaps it: no write may pass through a page that is
 * protected in libcow's books, even for the moment between mapping a range
 * again and protecting it. Such a write would land in the parent's frame:
 * the parent would change, and the fork's copy would never be made.
 */
static void forks_written_by_threads_leave_the_parent_alone(void **state)
{
	T_START();
	unsigned pages = 512, rounds = 60 * t_scale();
	size_t len = (size_t)pages * P;
	unsigned char *want;
	cow_space *s = patterned_space(len, &want);

	for (unsigned r = 0; r < rounds; r++) {
		cow_space *f = cow_fork(s);
		const unsigned char *fb;

		assert_non_null(f);
		scribes_write(f, pages);
		assert_memory_equal(cow_base(s), want, len);
		fb = cow_base(f);
		for (unsigned p = 0; p < pages; p++)
			for (size_t b = 0; b < P; b++) {
				unsigned char v = b == p % WRITERS ? (unsigned char)(0x80 + b)
								     : want[(size_t)p * P + b];

				if (fb[(size_t)p * P + b] != v)
					fail_msg("round %u: fork page %u byte %zu: %02x, not %02x",
						 r, p, b, fb[(size_t)p * P + b], v);
			}
		t_check_invariants();
		cow_space_destroy(f);
	}
	cow_space_destroy(s);
	free(want);
	assert_int_equal(cow_frames_in_use(), 0);
}

/*
 * A space made from a snapshot whose frames lie in many runs takes private
 * copies of them all (it would need too many mappings) and starts as one
 * read-only mapping; its first write maps it again, page-protected. Threads
 * that write it meanwhile must still fault: a write that went through
 * between the new mapping and its protection would land in a frame a fork
 * shares (the fork would change), unmarked (the invariants would catch a
 * page changed since its snapshot that says it is not).
 */
static void threads_write_a_space_leaving_its_read_only_mapping(void **state)
{
	T_START();
	unsigned pages = 4096, rounds = 60 * t_scale();
	size_t len = (size_t)pages * P;
	unsigned char *want;
	cow_space *s = patterned_space(len, &want);
	cow_snap *x = scattered_snapshot(s, pages);

	for (unsigned r = 0; r < rounds; r++) {
		cow_space *a = cow_space_from_snap(x), *f;
		const unsigned char *ab;

		assert_non_null(a);
		f = cow_fork(a);
		assert_non_null(f);
		scribes_write(a, pages);
		assert_memory_equal(cow_base(f), want, len);
		ab = cow_base(a);
		for (unsigned p = 0; p < pages; p++)
			assert_int_equal(ab[(size_t)p * P + p % WRITERS], 0x80 + p % WRITERS);
		t_check_invariants();
		cow_space_destroy(f);
		cow_space_destroy(a);
	}
	cow_snap_release(x);
	cow_space_destroy(s);
	free(want);
	assert_int_equal(cow_frames_in_use(), 0);
}

/* The prober: one write to probe_at, as soon as the hook says go. */
static unsigned char *probe_at;
static atomic_int probe_go, probe_done;

static void *prober_main(void *arg)
{
	(void)arg;
	while (!atomic_load(&probe_go))
		;
	*probe_at = 0x5a;
	atomic_store(&probe_done, 1);
	return NULL;
}

/* Between mapping a range that holds probe_at and arming it: let the
 * prober write, and give its write up to 20 ms to land. */
static void probe_in_the_gap(void *addr, size_t len)
{
	struct timespec ms = { 0, 1000000 };

	if (!probe_at || atomic_load(&probe_go) || probe_at < (unsigned char *)addr ||
	    probe_at >= (unsigned char *)addr + len)
		return;
	atomic_store(&probe_go, 1);
	for (int k = 0; k < 20 && !atomic_load(&probe_done); k++)
		nanosleep(&ms, NULL);
}

/*
 * The same, made certain: a hook stops the engine while a's leaf leaves its
 * read-only mapping — between arming it for userfaultfd and making it
 * writable — and another thread writes a protected page that a fork
 * shares right then. The write must fault (and wait for the engine),
 * not land in the fork's frame.
 */
static void a_write_between_mapping_and_protecting_faults(void **state)
{
	T_START();
	unsigned pages = 4096;	/* more runs than the mapping budget: a takes copies */
	size_t len = (size_t)pages * P;
	unsigned char *want;
	cow_space *s = patterned_space(len, &want), *a, *f;
	cow_snap *x = scattered_snapshot(s, pages);
	pthread_t th;

	a = cow_space_from_snap(x);		/* at home, one read-only mapping */
	f = cow_fork(a);			/* shares a's frames */
	assert_non_null(a);
	assert_non_null(f);
	probe_at = (unsigned char *)cow_base(a) + 5 * P + 7;
	atomic_store(&probe_go, 0);
	atomic_store(&probe_done, 0);
	assert_int_equal(pthread_create(&th, NULL, prober_main, NULL), 0);
	cow__test_mapped_hook = probe_in_the_gap;
	((unsigned char *)cow_base(a))[3] = 0xa5;	/* a leaves its read-only mapping */
	cow__test_mapped_hook = NULL;
	/* Under uffd, a's leaf left its read-only mapping (armed for
	 * userfaultfd, then made writable: the hook ran in between); under
	 * mprotect nothing changes mappings (a protected page is mapped
	 * read-only): the prober's write is then an ordinary first write. */
	if (!strcmp(cow_backend_name(), "uffd"))
		assert_true(atomic_load(&probe_go));
	atomic_store(&probe_go, 1);
	pthread_join(th, NULL);
	assert_memory_equal(cow_base(f), want, len);
	assert_int_equal(((unsigned char *)cow_base(a))[5 * P + 7], 0x5a);
	assert_int_equal(((unsigned char *)cow_base(a))[3], 0xa5);
	t_check_invariants();
	probe_at = NULL;
	cow_space_destroy(f);
	cow_space_destroy(a);
	cow_snap_release(x);
	cow_space_destroy(s);
	free(want);
	assert_int_equal(cow_frames_in_use(), 0);
}

/* Threads that create, fork and destroy their own spaces all at once. */
static void *churn_main(void *arg)
{
	uint64_t seed = (uintptr_t)arg;
	struct t_rng r;

	t_rng_seed(&r, seed);
	for (int k = 0; k < 100; k++) {
		cow_space *s = cow_space_create((1 + t_rng_below(&r, 8)) * P, 0);
		cow_space *f;
		cow_snap *x;

		if (!s)
			return (void *)1;
		memset(cow_base(s), k, cow_size(s));
		x = cow_snapshot(s);
		f = cow_fork(s);
		memset(cow_base(f), k + 1, cow_size(f));
		memset(cow_base(s), k + 2, P);
		if (((unsigned char *)cow_snap_map(x))[0] != (unsigned char)k)
			return (void *)2;
		cow_snap_release(x);
		cow_space_destroy(s);
		if (((unsigned char *)cow_base(f))[0] != (unsigned char)(k + 1))
			return (void *)3;
		cow_space_destroy(f);
	}
	return NULL;
}

static void threads_churn_independent_spaces(void **state)
{
	T_START();
	pthread_t th[6];
	void *ret;

	for (uintptr_t i = 0; i < 6; i++)
		assert_int_equal(pthread_create(&th[i], NULL, churn_main, (void *)(i + 1)), 0);
	for (int i = 0; i < 6; i++) {
		pthread_join(th[i], &ret);
		assert_null(ret);
	}
	t_check_invariants();
	assert_int_equal(cow_frames_in_use(), 0);
}

/*
 * Leaves never written are protected by a read-only mapping when a space
 * is frozen, found by asking the kernel where the frame store holds data.
 * Writers making their first writes into such leaves while another thread
 * snapshots must still see consistent cuts: each writer writes FIRST_K
 * pages of its own leaf in order, so a snapshot shows, per leaf, pages
 * [0, j) written and the rest zeroes; and what a snapshot showed when it
 * was taken it shows after every later write.
 */
#define FIRST_K 48
#define LEAF_PAGES 1024

struct first_writer {
	cow_space *s;
	unsigned idx;
	atomic_int *go;
};

static uint64_t *first_slot(cow_space *s, unsigned w, size_t k)
{
	return (uint64_t *)((char *)cow_base(s) + ((size_t)w * LEAF_PAGES + k * 16) * P);
}

static void *first_writer_main(void *arg)
{
	struct first_writer *w = arg;

	while (!atomic_load(w->go))
		;
	for (size_t k = 0; k < FIRST_K; k++)
		*first_slot(w->s, w->idx, k) = k + 1;
	return NULL;
}

/* Check that snapshot x is a prefix cut of every writer's leaf. */
static void check_first_cut(cow_snap *x)
{
	for (unsigned w = 0; w < WRITERS; w++) {
		bool seen_zero = false;

		for (size_t k = 0; k < FIRST_K; k++) {
			uint64_t v;

			assert_int_equal(cow_snap_read(x, ((size_t)w * LEAF_PAGES + k * 16) * P,
						       &v, sizeof v), 0);
			if (v == 0) {
				seen_zero = true;
				continue;
			}
			if (v != k + 1 || seen_zero)
				fail_msg("leaf %u page %zu: %llu: not a prefix cut", w, k * 16,
					 (unsigned long long)v);
		}
	}
}

static void first_writes_into_unwritten_leaves_race_snapshots(void **state)
{
	T_START();
	size_t len = (size_t)WRITERS * LEAF_PAGES * P;
	unsigned rounds = 40 * t_scale();
	unsigned char *img = malloc(len), *again = malloc(len);

	assert_non_null(img);
	assert_non_null(again);
	for (unsigned r = 0; r < rounds; r++) {
		cow_space *s = cow_space_create(len, 0);
		pthread_t th[WRITERS];
		struct first_writer w[WRITERS];
		atomic_int go = 0;
		cow_snap *x[4];

		assert_non_null(s);
		for (unsigned i = 0; i < WRITERS; i++) {
			w[i] = (struct first_writer){ s, i, &go };
			assert_int_equal(pthread_create(&th[i], NULL, first_writer_main, &w[i]), 0);
		}
		atomic_store(&go, 1);
		for (unsigned k = 0; k < 4; k++) {
			assert_non_null(x[k] = cow_snapshot(s));
			check_first_cut(x[k]);
		}
		assert_int_equal(cow_snap_read(x[0], 0, img, len), 0);
		for (unsigned i = 0; i < WRITERS; i++)
			pthread_join(th[i], NULL);
		/* Quiet: every write is in the space, none reached a snapshot. */
		for (unsigned i = 0; i < WRITERS; i++)
			for (size_t k = 0; k < FIRST_K; k++)
				assert_int_equal(*first_slot(s, i, k), k + 1);
		memset(cow_base(s), 0xee, P);	/* and one more write, after all */
		assert_int_equal(cow_snap_read(x[0], 0, again, len), 0);
		assert_memory_equal(img, again, len);
		for (unsigned k = 0; k < 4; k++) {
			check_first_cut(x[k]);
			cow_snap_release(x[k]);
		}
		if (r % 8 == 0)
			t_check_invariants();
		cow_space_destroy(s);
	}
	free(img);
	free(again);
	t_check_invariants();
	assert_int_equal(cow_frames_in_use(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(first_writes_into_unwritten_leaves_race_snapshots),
		cmocka_unit_test(writers_and_a_snapshotter),
		cmocka_unit_test(restores_racing_writers_leave_the_snapshot_alone),
		cmocka_unit_test(forks_written_by_threads_leave_the_parent_alone),
		cmocka_unit_test(threads_write_a_space_leaving_its_read_only_mapping),
		cmocka_unit_test(a_write_between_mapping_and_protecting_faults),
		cmocka_unit_test(threads_churn_independent_spaces),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
