/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Spaces and snapshots through the public API: creation, sizes, bad input.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <cow.h>

#include "testlib.h"
#include "internal.h"

static void create_rounds_up_and_zero_fills(void **state)
{
	T_START();
	cow_space *s = cow_space_create(5000, 0);
	unsigned char *b;

	assert_non_null(s);
	assert_int_equal(cow_size(s), 8192);
	b = cow_base(s);
	assert_non_null(b);
	assert_int_equal((uintptr_t)b % COW_PAGE_SIZE, 0);
	for (size_t i = 0; i < 8192; i++)
		assert_int_equal(b[i], 0);
	memset(b, 0x5a, 8192);
	assert_int_equal(b[8191], 0x5a);
	t_check_invariants();
	cow_space_destroy(s);
}

static void bad_arguments(void **state)
{
	T_START();
	cow_space *s = cow_space_create(4096, 0);
	cow_snap *x;
	char buf[16];
	struct cow_stats st;
	struct cow_page_info pi;

	errno = 0;
	assert_null(cow_space_create(0, 0));
	assert_int_equal(errno, EINVAL);
	assert_null(cow_space_create(4096, 1));
	assert_int_equal(errno, EINVAL);
	assert_null(cow_space_create(SIZE_MAX, 0));
	assert_int_equal(errno, EINVAL);
	assert_null(cow_base(NULL));
	assert_int_equal(errno, EINVAL);
	assert_int_equal(cow_size(NULL), 0);
	assert_null(cow_fork(NULL));
	assert_int_equal(errno, EINVAL);
	assert_null(cow_snapshot(NULL));
	assert_null(cow_space_from_snap(NULL));
	assert_null(cow_snap_map(NULL));
	assert_int_equal(cow_snap_size(NULL), 0);
	assert_int_equal(cow_snap_read(NULL, 0, buf, 1), -EINVAL);
	assert_int_equal(cow_restore(NULL, NULL), -EINVAL);
	assert_int_equal(cow_restore(s, NULL), -EINVAL);
	assert_int_equal(cow_stats_get(NULL, &st), -EINVAL);
	assert_int_equal(cow_stats_get(s, NULL), -EINVAL);
	assert_int_equal(cow_prefault(NULL, buf, 1), -EINVAL);
	assert_int_equal(cow_prefault(s, NULL, 1), -EINVAL);
	assert_int_equal(cow_prefault(s, buf, 1), -EINVAL);            /* not in s */
	assert_int_equal(cow_prefault(s, cow_base(s), 4097), -EINVAL); /* past the end */
	assert_int_equal(cow_page_info(s, 1, &pi), -EINVAL);
	assert_int_equal(cow_page_info(NULL, 0, &pi), -EINVAL);
	assert_int_equal(cow_set_freeze_hooks(s, NULL, (cow_freeze_fn *)abort, NULL), -EINVAL);
	cow_space_destroy(NULL);
	cow_snap_release(NULL);

	x = cow_snapshot(s);
	assert_non_null(x);
	assert_int_equal(cow_snap_size(x), 4096);
	assert_int_equal(cow_snap_read(x, 4096, buf, 1), -EINVAL);
	assert_int_equal(cow_snap_read(x, 4000, buf, 97), -EINVAL);
	assert_int_equal(cow_snap_read(x, SIZE_MAX, buf, 2), -EINVAL);
	assert_int_equal(cow_snap_read(x, 0, NULL, 1), -EINVAL);
	assert_int_equal(cow_snap_read(x, 4096, buf, 0), 0);
	assert_int_equal(cow_snap_page_info(x, 1, &pi), -EINVAL);

	/* A snapshot is not a space and vice versa. */
	assert_null(cow_fork((cow_space *)x));
	assert_int_equal(errno, EINVAL);
	assert_int_equal(cow_snap_read((cow_snap *)s, 0, buf, 1), -EINVAL);

	/* Sizes that differ. */
	{
		cow_space *big = cow_space_create(8192, 0);

		assert_int_equal(cow_restore(big, x), -EINVAL);
		cow_space_destroy(big);
	}
	cow_snap_release(x);
	cow_snap_release(x);	/* double release: detected, ignored */
	assert_int_equal(cow_snap_size(x), 0);
	t_check_invariants();
	cow_space_destroy(s);
	cow_space_destroy(s);	/* double destroy: detected, ignored */
	assert_null(cow_base(s));
	assert_int_equal(cow_frames_in_use(), 0);
}

static void strerror_names_everything(void **state)
{
	T_START();
	assert_string_equal(cow_strerror(0), "success");
	assert_non_null(strstr(cow_strerror(-ESTALE), "fork"));
	assert_non_null(cow_strerror(-EINVAL));
	assert_non_null(cow_strerror(EINVAL));
	assert_non_null(cow_strerror(-99999));
}

static void backend_is_the_one_asked_for(void **state)
{
	T_START();
	const char *want = getenv("COW_BACKEND");
	const char *name = cow_backend_name();

	assert_non_null(name);
	if (want && *want)
		assert_string_equal(name, want);
}

static void frames_are_freed(void **state)
{
	T_START();
	cow_space *s = cow_space_create(64 * 4096, 0);
	cow_snap *x;

	assert_int_equal(cow_frames_in_use(), 64);
	memset(cow_base(s), 1, 64 * 4096);
	x = cow_snapshot(s);
	assert_int_equal(cow_frames_in_use(), 64);	/* shared, not copied */
	memset(cow_base(s), 2, 10 * 4096);
	assert_int_equal(cow_frames_in_use(), 74);	/* 10 preserved copies */
	cow_space_destroy(s);
	assert_int_equal(cow_frames_in_use(), 64);	/* the snapshot's */
	{
		char c;

		assert_int_equal(cow_snap_read(x, 9 * 4096, &c, 1), 0);
		assert_int_equal(c, 1);
	}
	cow_snap_release(x);
	assert_int_equal(cow_frames_in_use(), 0);
	t_check_invariants();
}

#define P COW_PAGE_SIZE

/* Chunks of the frame store that hold nothing are given back. */
static void frame_store_shrinks(void **state)
{
	T_START();
	uint64_t before;
	cow_space *s;
	cow_snap *x;

	s = cow_space_create(P, 0);		/* the store exists */
	cow_space_destroy(s);
	before = cow__frames_span();
	s = cow_space_create((size_t)3 << 30, 0);	/* 3 more chunks at least */
	assert_non_null(s);
	memset(cow_base(s), 1, 64 * P);
	x = cow_snapshot(s);
	memset(cow_base(s), 2, 64 * P);		/* preserved copies for x */
	assert_true(cow__frames_span() > before);
	cow_space_destroy(s);
	cow_snap_release(x);
	assert_int_equal(cow__frames_span(), before);
	assert_int_equal(cow_frames_in_use(), 0);
	t_check_invariants();
}

/*
 * Page tables are shared between a space and its snapshots and copied a
 * node at a time: a 64 GiB space keeps 1,000 snapshots when a few pages
 * change between them, each snapshot costing the nodes its changes copied,
 * not a page table of its own. Every snapshot still reads as it was taken.
 */
static void thousand_snapshots_of_64g(void **state)
{
	T_START();
	enum { SNAPS = 1000, WRITES = 8 };
	const size_t size = (size_t)64 << 30, pages = size / P;
	static cow_snap *x[SNAPS];
	static size_t where[SNAPS][WRITES];
	uint64_t nodes0, per_snap_max = WRITES * 3 + 1;
	uint64_t rng = 12345;
	cow_space *s = cow_space_create(size, 0);
	char *b, page[P];

	assert_non_null(s);
	b = cow_base(s);
	nodes0 = cow__pt_nodes_live();
	for (int k = 0; k < SNAPS; k++) {
		for (int w = 0; w < WRITES; w++) {
			rng = rng * 6364136223846793005ull + 1442695040888963407ull;
			where[k][w] = (size_t)(rng >> 20) % pages;
			memcpy(b + where[k][w] * P, &k, sizeof k);
		}
		x[k] = cow_snapshot(s);
		assert_non_null(x[k]);
	}
	/* Nodes: the space's own table, plus at most a path per write. */
	assert_true(cow__pt_nodes_live() <= nodes0 + SNAPS * per_snap_max);
	for (int k = 0; k < SNAPS; k += 97) {
		for (int w = 0; w < WRITES; w++) {
			int v;

			assert_int_equal(cow_snap_read(x[k], where[k][w] * P, page, P), 0);
			memcpy(&v, page, sizeof v);
			assert_int_equal(v, k);
		}
	}
	cow_space_destroy(s);
	for (int k = 0; k < SNAPS; k++)
		cow_snap_release(x[k]);
	assert_int_equal(cow__pt_nodes_live(), 0);
	assert_int_equal(cow_frames_in_use(), 0);
	t_check_invariants();
}

/* Pages of the memfd among frames [first, first+n) (one lseek each). */
static size_t data_pages(cow__frame first, size_t n)
{
	size_t d = 0;

	for (size_t k = 0; k < n; k++)
		d += cow__frames_data_at(first + (cow__frame)k, 1) == 0;
	return d;
}

/*
 * Destroying a big space gives its memory back although a long run of
 * frames is punched only where it holds data (frame.c, punch_data): with
 * few stretches of data (each punched) and with more than it punches one
 * by one (the rest in one call). Only the frames kept ready for the next
 * copies may keep a page. Another space holds frames meanwhile, so the
 * store is neither emptied nor shrunk, which would hide a page left over.
 */
static void destroying_a_big_space_gives_its_pages_back(void **state)
{
	T_START();
	const size_t n = 16384, per = 3000;	/* 64 MiB, 3,000 pages written */
	const size_t stretches[] = { 5, 100 };
	cow_space *keep = cow_space_create(P, 0);

	assert_non_null(keep);
	memset(cow_base(keep), 1, P);
	for (size_t t = 0; t < sizeof stretches / sizeof *stretches; t++) {
		cow_space *s = cow_space_create(n * P, 0);
		size_t len = per / stretches[t], gap = n / stretches[t];
		cow__frame home;

		assert_non_null(s);
		home = ((struct cow__member *)s)->home;
		for (size_t k = 0; k < stretches[t]; k++)
			memset((char *)cow_base(s) + k * gap * P, 7, len * P);
		assert_true(data_pages(home, n) >= per);
		t_check_invariants();
		cow_space_destroy(s);
		assert_true(data_pages(home, n) <= COW__READY_MAX);
		t_check_invariants();
	}
	cow_space_destroy(keep);
	assert_int_equal(cow_frames_in_use(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(create_rounds_up_and_zero_fills),
		cmocka_unit_test(bad_arguments),
		cmocka_unit_test(strerror_names_everything),
		cmocka_unit_test(backend_is_the_one_asked_for),
		cmocka_unit_test(frames_are_freed),
		cmocka_unit_test(frame_store_shrinks),
		cmocka_unit_test(thousand_snapshots_of_64g),
		cmocka_unit_test(destroying_a_big_space_gives_its_pages_back),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
