/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The mapping budget: scattered writes into a space that borrows frames
 * fragment its mapping; it must never use more than its budget of memory
 * mappings (COW_MAPS_MAX), so a process never drifts toward
 * vm.max_map_count. Checked with the library's count and /proc/self/maps.
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
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

/* Is the page at p present in this process's page table (pagemap bit 63)? */
static bool page_present(const void *p)
{
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	uint64_t e = 0;
	off_t off = (off_t)((uintptr_t)p / P) * 8;

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &e, sizeof e, off), (ssize_t)sizeof e);
	close(fd);
	return (e >> 63) & 1;
}

/*
 * Under mprotect, first writes spread over a space split its mapping by
 * protection only (every page is at home). Over the budget, de-fragmenting
 * then protects the space with one call rather than mapping it again, which
 * would drop every page-table entry of the space (and cost a fault per page
 * afterwards): a page never written stays present across it, and nothing is
 * copied. Under uffd the writes split nothing.
 */
static void protection_splits_are_joined_without_a_remap(void **state)
{
	T_START();
	size_t size = 64ul << 20, pages = size / P, writes = 1500;
	cow_space *s = cow_space_create(size, 0);
	unsigned char *b = cow_base(s), *expect = malloc(pages), *hit = calloc(pages, 1);
	struct cow_stats st;
	size_t quiet;
	cow_snap *x;

	memset(b, 1, size);
	memset(expect, 1, pages);
	x = cow_snapshot(s);
	/* Every 5th page of the first half; the second half is never touched
	 * again (a fault maps its neighbours too, 64 KiB around it). */
	for (size_t k = 0; k < writes; k++) {
		size_t i = k * 5;

		b[i * P] = expect[i] = 2;
		hit[i] = 1;
	}
	quiet = pages - 1;
	assert_false(hit[quiet]);
	assert_int_equal(cow_stats_get(s, &st), 0);
	if (!strcmp(cow_backend_name(), "mprotect")) {
		assert_true(st.defrags >= 1);
		assert_int_equal(st.defrag_copies, 0);
	} else {
		assert_int_equal(st.defrags, 0);
	}
	assert_true(st.maps <= COW_MAPS_MAX);
	assert_true(page_present(b + quiet * P));
	for (size_t i = 0; i < pages; i++)
		if (b[i * P] != expect[i])
			fail_msg("page %zu: %u, want %u", i, b[i * P], expect[i]);
	t_check_invariants();
	cow_snap_release(x);
	cow_space_destroy(s);
	free(expect);
	free(hit);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(scattered_writes_on_a_forked_gib),
		cmocka_unit_test(an_orphaned_fork_writes_in_place),
		cmocka_unit_test(protection_splits_are_joined_without_a_remap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
