/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The copy-on-write decisions: copy when shared, reuse when exclusive;
 * fork at any depth, snapshots, restore, spaces from snapshots, views.
 * Statistics must tell the truth about each fault.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cow.h>

#include "testlib.h"
#include "internal.h"

#define P COW_PAGE_SIZE

static struct cow_stats stats(cow_space *s)
{
	struct cow_stats st;

	assert_int_equal(cow_stats_get(s, &st), 0);
	return st;
}

static struct cow_page_info page(cow_space *s, size_t i)
{
	struct cow_page_info pi;

	assert_int_equal(cow_page_info(s, i, &pi), 0);
	return pi;
}

static void fill(cow_space *s, unsigned char v)
{
	memset(cow_base(s), v, cow_size(s));
}

static void fork_copies_only_the_written_page(void **state)
{
	T_START();
	cow_space *s = cow_space_create(16 * P, 0), *f;
	unsigned char *a, *b;
	struct cow_stats st;

	fill(s, 'a');
	f = cow_fork(s);
	assert_non_null(f);
	a = cow_base(s);
	b = cow_base(f);
	assert_ptr_not_equal(a, b);
	assert_memory_equal(a, b, 16 * P);
	assert_int_equal(page(s, 3).frame, page(f, 3).frame);
	assert_int_equal(page(s, 3).refcount, 2);
	assert_int_equal(stats(s).shared, 16);

	b[3 * P] = 'b';				/* the child writes page 3 */
	assert_int_equal(a[3 * P], 'a');
	assert_int_not_equal(page(s, 3).frame, page(f, 3).frame);
	assert_int_equal(page(s, 3).refcount, 1);
	assert_int_equal(page(f, 3).refcount, 1);
	assert_true(page(f, 3).home);
	st = stats(f);
	assert_int_equal(st.faults, 1);
	assert_int_equal(st.copies, 1);
	assert_int_equal(st.reuses, 0);
	assert_int_equal(st.shared, 15);

	a[3 * P + 1] = 'c';			/* parent: no longer shared: reuse */
	st = stats(s);
	assert_int_equal(st.faults, 1);
	assert_int_equal(st.copies, 0);
	assert_int_equal(st.reuses, 1);
	b[3 * P + 2] = 'd';			/* already the child's: no fault */
	assert_int_equal(stats(f).faults, 1);

	a[5 * P] = 'e';				/* parent writes a shared page */
	assert_int_equal(b[5 * P], 'a');
	st = stats(s);
	assert_int_equal(st.copies, 1);
	assert_true(page(s, 5).home);		/* the writer stays home */
	b[5 * P] = 'f';				/* the child's copy is its own now */
	st = stats(f);
	assert_int_equal(st.faults, 2);
	assert_int_equal(st.reuses, 1);
	assert_int_equal(a[5 * P], 'e');
	t_check_invariants();
	cow_space_destroy(s);
	assert_int_equal(b[7 * P], 'a');
	b[7 * P] = 'g';				/* the parent is gone: exclusive */
	assert_int_equal(stats(f).reuses, 2);
	t_check_invariants();
	cow_space_destroy(f);
	assert_int_equal(cow_frames_in_use(), 0);
}

static void reuse_when_the_snapshot_is_gone(void **state)
{
	T_START();
	cow_space *s = cow_space_create(4 * P, 0);
	cow_snap *x;
	struct cow_stats st;

	fill(s, 1);
	x = cow_snapshot(s);
	cow_snap_release(x);
	((char *)cow_base(s))[0] = 2;
	st = stats(s);
	assert_int_equal(st.faults, 1);
	assert_int_equal(st.reuses, 1);
	assert_int_equal(st.copies, 0);
	assert_true(page(s, 0).writable);
	assert_false(page(s, 1).writable);
	cow_space_destroy(s);
}

static void snapshots_between_two_writes_share_one_copy(void **state)
{
	T_START();
	cow_space *s = cow_space_create(4 * P, 0);
	cow_snap *x[3];
	struct cow_page_info pi[3];
	char c;

	fill(s, 'o');
	for (int k = 0; k < 3; k++)
		x[k] = cow_snapshot(s);
	((char *)cow_base(s))[P] = 'n';
	for (int k = 0; k < 3; k++) {
		assert_int_equal(cow_snap_page_info(x[k], 1, &pi[k]), 0);
		assert_int_equal(cow_snap_read(x[k], P, &c, 1), 0);
		assert_int_equal(c, 'o');
	}
	assert_int_equal(pi[0].frame, pi[1].frame);
	assert_int_equal(pi[1].frame, pi[2].frame);
	assert_int_equal(pi[0].refcount, 3);
	assert_int_equal(stats(s).copies, 1);
	assert_int_equal(cow_frames_in_use(), 5);
	t_check_invariants();
	for (int k = 0; k < 3; k++)
		cow_snap_release(x[k]);
	cow_space_destroy(s);
}

static void forks_of_forks(void **state)
{
	T_START();
	enum { DEPTH = 6, PAGES = 8 };
	cow_space *g[DEPTH];
	unsigned char *b;

	g[0] = cow_space_create(PAGES * P, 0);
	fill(g[0], 0);
	for (int d = 1; d < DEPTH; d++) {
		g[d] = cow_fork(g[d - 1]);
		assert_non_null(g[d]);
		b = cow_base(g[d]);
		b[d * 100] = (unsigned char)d;	/* each generation marks page 0 */
		b[(size_t)(d % PAGES) * P] = (unsigned char)(0x10 + d);
	}
	for (int d = 0; d < DEPTH; d++) {
		b = cow_base(g[d]);
		for (int e = 1; e < DEPTH; e++)
			assert_int_equal(b[e * 100], e <= d ? e : 0);
	}
	t_check_invariants();
	/* Destroy the middle of the chain: the others keep their content. */
	cow_space_destroy(g[2]);
	cow_space_destroy(g[0]);
	b = cow_base(g[5]);
	assert_int_equal(b[300], 3);
	assert_int_equal(b[5 * P], 0x15);
	b = cow_base(g[1]);
	assert_int_equal(b[100], 1);
	assert_int_equal(b[200], 0);
	t_check_invariants();
	for (int d = 1; d < DEPTH; d++)
		if (d != 2)
			cow_space_destroy(g[d]);
	assert_int_equal(cow_frames_in_use(), 0);
}

static void snapshot_of_a_fork_and_restore(void **state)
{
	T_START();
	cow_space *s = cow_space_create(32 * P, 0), *f;
	cow_snap *x;
	unsigned char *b, *snapc = malloc(32 * P);
	struct cow_stats st;

	fill(s, 'p');
	f = cow_fork(s);
	b = cow_base(f);
	b[0] = 'q';
	x = cow_snapshot(f);
	memcpy(snapc, b, 32 * P);
	for (int i = 0; i < 32; i += 4)		/* rewrite 8 pages */
		b[(size_t)i * P + 7] = 'r';
	((char *)cow_base(s))[P] = 's';		/* parent writes: f and x keep 'p' */
	assert_int_equal(b[P], 'p');
	assert_int_equal(cow_restore(f, x), 0);
	assert_memory_equal(b, snapc, 32 * P);
	st = stats(f);
	assert_int_equal(st.restored, 8);		/* only the pages that differ */
	assert_int_equal(((char *)cow_base(s))[P], 's');
	assert_int_equal(((char *)cow_base(s))[0], 'p');
	t_check_invariants();
	b[0] = 't';				/* writes after a restore work */
	assert_int_equal(cow_restore(f, x), 0);
	assert_int_equal(b[0], 'q');
	cow_snap_release(x);
	cow_space_destroy(f);
	cow_space_destroy(s);
	free(snapc);
	assert_int_equal(cow_frames_in_use(), 0);
}

static void space_from_snapshot(void **state)
{
	T_START();
	cow_space *s = cow_space_create(8 * P, 0), *t;
	cow_snap *x;
	unsigned char *b;

	fill(s, 'x');
	x = cow_snapshot(s);
	((char *)cow_base(s))[0] = 'y';
	t = cow_space_from_snap(x);
	assert_non_null(t);
	b = cow_base(t);
	assert_int_equal(b[0], 'x');
	b[0] = 'z';
	assert_int_equal(((char *)cow_base(s))[0], 'y');
	{
		char c;

		assert_int_equal(cow_snap_read(x, 0, &c, 1), 0);
		assert_int_equal(c, 'x');
	}
	cow_snap_release(x);
	assert_int_equal(b[1], 'x');
	t_check_invariants();
	cow_space_destroy(t);
	cow_space_destroy(s);
	assert_int_equal(cow_frames_in_use(), 0);
}

static void view_stays_frozen(void **state)
{
	T_START();
	cow_space *s = cow_space_create(8 * P, 0);
	cow_snap *x;
	const unsigned char *v;
	unsigned char *b = cow_base(s);

	fill(s, 'v');
	x = cow_snapshot(s);
	v = cow_snap_map(x);
	assert_non_null(v);
	assert_ptr_equal(v, cow_snap_map(x));
	for (int i = 0; i < 8; i++)
		b[(size_t)i * P] = 'w';		/* the view's frames move away */
	for (int i = 0; i < 8; i++)
		assert_int_equal(v[(size_t)i * P], 'v');
	cow_space_destroy(s);			/* and the space goes */
	assert_int_equal(v[7 * P + 5], 'v');
	t_check_invariants();
	cow_snap_release(x);
	assert_int_equal(cow_frames_in_use(), 0);
}

static void prefault_resolves_ahead(void **state)
{
	T_START();
	cow_space *s = cow_space_create(8 * P, 0);
	cow_snap *x;
	unsigned char *b = cow_base(s);
	struct cow_stats st;

	fill(s, 1);
	x = cow_snapshot(s);
	assert_int_equal(cow_prefault(s, b + P + 10, 2 * P), 0); /* pages 1..3 */
	st = stats(s);
	assert_int_equal(st.faults, 3);
	assert_int_equal(st.copies, 3);
	assert_true(page(s, 1).writable);
	assert_true(page(s, 3).writable);
	assert_false(page(s, 4).writable);
	memset(b + P, 2, 3 * P);
	assert_int_equal(stats(s).faults, 3);	/* no more faults */
	{
		char c;

		assert_int_equal(cow_snap_read(x, 2 * P, &c, 1), 0);
		assert_int_equal(c, 1);
	}
	assert_int_equal(cow_prefault(s, b, 0), 0);
	cow_snap_release(x);
	cow_space_destroy(s);
}

struct hooks { int before, after, locked; };

static void hook_before(void *arg)
{
	struct hooks *h = arg;

	h->before++;
	h->locked = 1;
}

/*
 * After a restore the snapshot shares the restored pages with the space
 * again: a loop of writes and restores keeps the frames of the first
 * snapshot, not one more per page ever written, and the next restore has
 * nothing to copy for pages written once.
 */
static void restore_shares_the_pages_again(void **state)
{
	T_START();
	enum { PAGES = 64 };
	cow_space *s = cow_space_create(PAGES * P, 0);
	unsigned char *b = cow_base(s), *copy = malloc(PAGES * P);
	struct cow_page_info pi, xi;
	cow_snap *x;
	uint64_t frames;

	fill(s, 'a');
	for (size_t i = 0; i < PAGES; i++)
		b[i * P] = (unsigned char)i;
	x = cow_snapshot(s);
	memcpy(copy, b, PAGES * P);
	frames = cow_frames_in_use();
	assert_int_equal(frames, PAGES);
	for (int k = 0; k < 40; k++) {
		for (size_t j = 0; j < 5; j++)
			b[((size_t)(k * 7 + (int)j * 13) % PAGES) * P + 9] = (unsigned char)('b' + k);
		assert_int_equal(cow_restore(s, x), 0);
		assert_memory_equal(b, copy, PAGES * P);
		assert_int_equal(cow_frames_in_use(), frames);
		t_check_invariants();
	}
	assert_int_equal(cow_page_info(s, 7, &pi), 0);
	assert_int_equal(cow_snap_page_info(x, 7, &xi), 0);
	assert_int_equal(pi.frame, xi.frame);	/* one frame again */
	assert_int_equal(pi.refcount, 2);
	assert_false(pi.writable);
	b[7 * P] = 'z';				/* the next write copies */
	assert_int_equal(cow_snap_read(x, 7 * P, b + P, 1), 0);
	assert_int_equal(b[P], 7);
	assert_int_equal(cow_restore(s, x), 0);
	assert_memory_equal(b, copy, PAGES * P);
	cow_snap_release(x);
	cow_space_destroy(s);
	free(copy);
	assert_int_equal(cow_frames_in_use(), 0);
}

/*
 * The pages written since a protect or a reference are listed while they
 * are few (then protect and restore cost per page written) and scanned from
 * the bitmaps when there are more than the lists hold: both ways give the
 * same content, against two references, with the invariants (which compare
 * the lists with the bits) after every step.
 */
static void restore_by_list_and_by_bitmap(void **state)
{
	T_START();
	enum { PAGES = 6000 };			/* more than COW__LOG_MAX (4096) */
	cow_space *s = cow_space_create((size_t)PAGES * P, 0);
	unsigned char *b = cow_base(s), *c0 = malloc((size_t)PAGES * P),
		      *c1 = malloc((size_t)PAGES * P);
	cow_snap *x0, *x1;

	for (size_t i = 0; i < PAGES; i++)
		b[i * P] = (unsigned char)i;
	x0 = cow_snapshot(s);
	memcpy(c0, b, (size_t)PAGES * P);
	for (size_t i = 0; i < PAGES; i += 3)
		b[i * P + 1] = 'm';		/* 2,000 pages: listed */
	x1 = cow_snapshot(s);
	memcpy(c1, b, (size_t)PAGES * P);
	t_check_invariants();
	for (int round = 0; round < 4; round++) {
		size_t n = round & 1 ? 5000 : 7;	/* overflowing, then few */

		for (size_t k = 0; k < n; k++)
			b[((k * 7919 + (size_t)round) % PAGES) * P + 2] = (unsigned char)round;
		t_check_invariants();
		assert_int_equal(cow_restore(s, round < 2 ? x0 : x1), 0);
		assert_memory_equal(b, round < 2 ? c0 : c1, (size_t)PAGES * P);
		t_check_invariants();
		assert_int_equal(cow_restore(s, round < 2 ? x1 : x0), 0);
		assert_memory_equal(b, round < 2 ? c1 : c0, (size_t)PAGES * P);
		t_check_invariants();
	}
	cow_snap_release(x0);
	cow_snap_release(x1);
	cow_space_destroy(s);
	free(c0);
	free(c1);
}

/*
 * Frames freed by a released snapshot are kept ready for the next copies,
 * but never given to a new space, which must read zeroes; the invariant
 * checker verifies the ready frames after each step.
 */
static void freed_frames_are_ready_not_zero_pages(void **state)
{
	T_START();
	enum { PAGES = 32 };
	cow_space *s = cow_space_create(PAGES * P, 0), *t;
	unsigned char *z = calloc(1, PAGES * P);
	cow_snap *x;

	for (int round = 0; round < 3; round++) {
		fill(s, (unsigned char)('a' + round));
		x = cow_snapshot(s);
		fill(s, (unsigned char)('k' + round));	/* every page preserved for x */
		for (size_t i = 0; i < PAGES; i++) {
			char c;

			assert_int_equal(cow_snap_read(x, i * P + 5, &c, 1), 0);
			assert_int_equal(c, 'a' + round);
		}
		t_check_invariants();
		cow_snap_release(x);		/* its frames become ready */
		t_check_invariants();
		t = cow_space_create(PAGES * P, 0);
		assert_non_null(t);
		assert_memory_equal(cow_base(t), z, PAGES * P);
		cow_space_destroy(t);
	}
	cow_space_destroy(s);
	assert_int_equal(cow_frames_in_use(), 0);
	t_check_invariants();
	free(z);
}

static void hook_after(void *arg)
{
	struct hooks *h = arg;

	h->after++;
	h->locked = 0;
}

static void freeze_hooks_bracket_freezes(void **state)
{
	T_START();
	cow_space *s = cow_space_create(P, 0), *f;
	struct hooks h = { 0, 0, 0 };
	cow_snap *x;

	assert_int_equal(cow_set_freeze_hooks(s, hook_before, hook_after, &h), 0);
	x = cow_snapshot(s);
	f = cow_fork(s);
	assert_int_equal(cow_restore(s, x), 0);
	assert_int_equal(h.before, 3);
	assert_int_equal(h.after, 3);
	assert_int_equal(h.locked, 0);
	assert_int_equal(cow_set_freeze_hooks(s, NULL, NULL, NULL), 0);
	cow_snap_release(cow_snapshot(s));
	assert_int_equal(h.before, 3);
	cow_snap_release(x);
	cow_space_destroy(f);
	cow_space_destroy(s);
}

/* Bytes of memory the frame store holds. */
static size_t frames_memory(void)
{
	struct stat st;

	assert_int_equal(fstat(cow__frames_fd(), &st), 0);
	return (size_t)st.st_blocks * 512;
}

/* Does frame f hold no page (a hole: zeroes, no memory)? */
static bool frame_is_hole(uint64_t f)
{
	off_t off = (off_t)f * (off_t)P;

	return lseek(cow__frames_fd(), off, SEEK_DATA) != off;
}

/*
 * A parent that wrote a quarter of its pages forks. A page neither ever
 * wrote is a hole of the frame store: the child's first write to one takes
 * one page of memory (its own), and the parent's page stays a hole; the
 * parent's first write to one leaves the child's copy a hole too. (Reading
 * the hole to copy it gave it a page of zeroes for good: two pages a
 * write.)
 */
static void first_writes_to_never_written_pages_take_one_page(void **state)
{
	T_START();
	enum { N = 256, W = 32 };
	cow_space *s = cow_space_create(N * P, 0), *f;
	unsigned char *a = cow_base(s), *b;
	size_t before;

	for (size_t i = 0; i < N; i += 4)
		a[i * P] = 1;
	f = cow_fork(s);
	assert_non_null(f);
	b = cow_base(f);
	before = frames_memory();
	for (size_t k = 0; k < W; k++)
		b[(4 * k + 1) * P + 5] = 2;	/* the child writes */
	for (size_t k = 0; k < W; k++)
		a[(4 * k + 2) * P + 6] = 3;	/* the parent writes */
	assert_true(frames_memory() - before <= 2 * W * P);
	t_check_invariants();
	for (size_t k = 0; k < W; k++) {
		assert_true(frame_is_hole(page(s, 4 * k + 1).frame));
		assert_true(frame_is_hole(page(f, 4 * k + 2).frame));
		assert_true(page(f, 4 * k + 2).home);
	}
	for (size_t k = 0; k < W; k++) {
		size_t c = 4 * k + 1, p = 4 * k + 2;

		assert_int_equal(b[c * P + 5], 2);
		assert_int_equal(b[c * P], 0);
		assert_int_equal(a[c * P + 5], 0);
		assert_int_equal(a[p * P + 6], 3);
		assert_int_equal(b[p * P + 6], 0);
		assert_int_equal(b[(4 * k) * P], 1);
	}
	t_check_invariants();
	cow_space_destroy(f);
	cow_space_destroy(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fork_copies_only_the_written_page),
		cmocka_unit_test(reuse_when_the_snapshot_is_gone),
		cmocka_unit_test(snapshots_between_two_writes_share_one_copy),
		cmocka_unit_test(forks_of_forks),
		cmocka_unit_test(first_writes_to_never_written_pages_take_one_page),
		cmocka_unit_test(snapshot_of_a_fork_and_restore),
		cmocka_unit_test(restore_shares_the_pages_again),
		cmocka_unit_test(freed_frames_are_ready_not_zero_pages),
		cmocka_unit_test(restore_by_list_and_by_bitmap),
		cmocka_unit_test(space_from_snapshot),
		cmocka_unit_test(view_stays_frozen),
		cmocka_unit_test(prefault_resolves_ahead),
		cmocka_unit_test(freeze_hooks_bracket_freezes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
