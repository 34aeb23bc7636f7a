/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The mapping budget: scattered writes into a space that borrows frames
 * fragment its mapping; it must never use more than its budget of memory
 * mappings (COW_MAPS_MAX), so a process never drifts toward
 * vm.max_map_count. Checked with the library's count and /proc/self/maps.
 */
#include <stdlib.h>
#include <string.h>
#include <cow.h>

#include "testlib.h"

#define P COW_PAGE_SIZE
#define GIB (1024ul * 1024 * 1024)

static void scattered_writes_on_a_forked_gib(void **state)
{
	T_START();
	size_t pages = GIB / P, writes = 100000;
	cow_space *s = cow_space_create(GIB, 0), *f;
	unsigned char *a, *b, *expect_f = malloc(pages), *expect_s = malloc(pages);
	struct cow_stats st;
	struct t_rng r;
	long maps, peak = 0;
	/* The documented budget of a 1 GiB object: one mapping per 64 pages. */
	size_t budget = pages / 64 > COW_MAPS_MAX ? pages / 64 : COW_MAPS_MAX;

	assert_non_null(s);
	a = cow_base(s);
	for (size_t i = 0; i < pages; i++)
		a[i * P] = (unsigned char)i;
	f = cow_fork(s);
	assert_non_null(f);
	b = cow_base(f);
	for (size_t i = 0; i < pages; i++)
		expect_f[i] = expect_s[i] = (unsigned char)i;
	t_rng_seed(&r, t_seed("maps"));
	for (size_t k = 0; k < writes; k++) {
		size_t i = t_rng_below(&r, pages);
		unsigned char v = (unsigned char)t_rng_next(&r);

		if (k & 1) {
			b[i * P] = v;
			expect_f[i] = v;
		} else {
			a[i * P] = v;
			expect_s[i] = v;
		}
		if (k % 5000 == 0) {
			maps = t_maps_in_range(b, GIB);
			if (maps > peak)
				peak = maps;
			assert_int_equal(cow_stats_get(f, &st), 0);
			assert_true(st.maps <= budget);
			assert_true(maps <= (long)budget + 2);
			assert_true(t_maps_in_range(a, GIB) <= (long)budget + 2);
		}
	}
	for (size_t i = 0; i < pages; i++) {
		if (b[i * P] != expect_f[i] || a[i * P] != expect_s[i])
			fail_msg("page %zu: fork %u (want %u), parent %u (want %u)", i,
				 b[i * P], expect_f[i], a[i * P], expect_s[i]);
	}
	assert_int_equal(cow_stats_get(f, &st), 0);
	print_message("fork: %lu faults, %lu copies, %lu defrags (%lu pages), %lu maps now, peak %ld in /proc/self/maps\n",
		      (unsigned long)st.faults, (unsigned long)st.copies,
		      (unsigned long)st.defrags, (unsigned long)st.defrag_copies,
		      (unsigned long)st.maps, peak);
	assert_true(st.defrags >= 1);
	t_check_invariants();
	cow_space_destroy(f);
	cow_space_destroy(s);
	free(expect_f);
	free(expect_s);
	assert_int_equal(cow_frames_in_use(), 0);
}

/*
 * A fork whose parent is gone owns its frames outright: its writes reuse
 * them in place. They must not fragment its mapping (under uffd a fork
 * starts mapped read-only as a whole; the first write in place must not
 * make each later write a mapping of its own), so nothing is copied under
 * uffd.
 */
static void an_orphaned_fork_writes_in_place(void **state)
{
	T_START();
	size_t size = 256ul << 20, pages = size / P, writes = 20000;
	cow_space *s = cow_space_create(size, 0), *f;
	unsigned char *b, *expect = malloc(pages);
	struct cow_stats st;
	struct t_rng r;

	assert_non_null(s);
	memset(cow_base(s), 7, size);
	f = cow_fork(s);
	assert_non_null(f);
	cow_space_destroy(s);
	b = cow_base(f);
	memset(expect, 7, pages);
	t_rng_seed(&r, t_seed("orphan"));
	for (size_t k = 0; k < writes; k++) {
		size_t i = t_rng_below(&r, pages);

		b[i * P] = expect[i] = (unsigned char)t_rng_next(&r);
	}
	for (size_t i = 0; i < pages; i++)
		if (b[i * P] != expect[i])
			fail_msg("page %zu: %u, want %u", i, b[i * P], expect[i]);
	assert_int_equal(cow_stats_get(f, &st), 0);
	assert_int_equal(st.copies, 0);
	/* Under mprotect each writable page is a mapping of its own (the
	 * budget then takes copies); under uffd protection splits nothing. */
	if (!strcmp(cow_backend_name(), "uffd")) {
		assert_int_equal(st.defrag_copies, 0);
		assert_true(st.maps <= 2);
	}
	t_check_invariants();
	cow_space_destroy(f);
	free(expect);
	assert_int_equal(cow_frames_in_use(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(scattered_writes_on_a_forked_gib),
		cmocka_unit_test(an_orphaned_fork_writes_in_place),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
