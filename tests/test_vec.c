/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_vec.c — cow_vec, function by function: results, sharing, element
 * size and alignment, and the errors. The randomized oracle, out-of-memory
 * and thread tests of all values are in test_values.c.
 */
#include <cow.h>
#include <errno.h>
#include <stdalign.h>
#include <stdint.h>
#include <string.h>

#include "testlib.h"
#include "value_internal.h"

struct point { double x, y; int tag; };	/* 24 bytes, 8-aligned */

/* *v holds exactly the n uint64_t at want. */
static void check(const cow_vec *v, const uint64_t *want, size_t n)
{
	assert_int_equal(cow_vec_len(v), n);
	assert_int_equal(cow_vec_esize(v), sizeof(uint64_t));
	assert_non_null(cow_vec_data(v));
	if (n)
		assert_memory_equal(cow_vec_data(v), want, n * sizeof *want);
}

static void test_init_new_release(void **state)
{
	cow_vec v = COW_VEC_INIT(8), w;
	uint64_t a[3] = { 10, 20, 30 };

	check(&v, NULL, 0);
	assert_int_equal(cow_vec_init(&w, 8), 0);
	assert_memory_equal(&w, &v, sizeof v);
	assert_int_equal(cow_vec_new(&v, 8, a, 3), 0);
	check(&v, a, 3);
	assert_int_equal(*(const uint64_t *)cow_vec_at(&v, 2), 30);
	assert_int_equal(cow_vec_refs(&v), 1);
	cow_vec_release(&v);
	check(&v, NULL, 0);	/* esize kept: usable again */
	assert_int_equal(cow_vec_push(&v, &a[1]), 0);
	check(&v, a + 1, 1);
	cow_vec_release(&v);
	cow_vec_release(NULL);
	assert_int_equal(cow_vec_new(&v, 8, NULL, 0), 0);
	assert_null(v.r.blk);
}

static void test_bad_arguments(void **state)
{
	cow_vec v, z = { { 0, 0, 0 }, 0 }, t = COW_VEC_INIT(8);
	cow_buf b = COW_BUF_INIT;
	uint64_t x = 1;

	assert_int_equal(cow_vec_init(NULL, 8), -EINVAL);
	assert_int_equal(cow_vec_init(&v, 0), -EINVAL);
	assert_int_equal(cow_vec_new(NULL, 8, &x, 1), -EINVAL);
	assert_int_equal(cow_vec_new(&v, 0, &x, 1), -EINVAL);
	assert_int_equal(cow_vec_new(&v, 8, NULL, 1), -EINVAL);
	assert_int_equal(cow_vec_new(&v, SIZE_MAX, &x, 2), -EOVERFLOW);
	assert_int_equal(cow_vec_new(&v, (size_t)1 << 40, &x, (size_t)1 << 40),
			 -EOVERFLOW);
	/* a zeroed handle (no element size) is refused everywhere */
	errno = 0;
	assert_null(cow_vec_data(&z));
	assert_int_equal(errno, EINVAL);
	assert_null(cow_vec_at(&z, 0));
	assert_null(cow_vec_get_mut(&z));
	assert_null(cow_vec_make_mut(&z));
	assert_int_equal(cow_vec_push(&z, &x), -EINVAL);
	assert_int_equal(cow_vec_append(&z, &x, 1), -EINVAL);
	assert_int_equal(cow_vec_insert(&z, 0, &x, 1), -EINVAL);
	assert_int_equal(cow_vec_erase(&z, 0, 0), -EINVAL);
	assert_int_equal(cow_vec_resize(&z, 1), -EINVAL);
	assert_int_equal(cow_vec_reserve(&z, 1), -EINVAL);
	assert_int_equal(cow_vec_copy(&t, &z), -EINVAL);
	assert_int_equal(cow_vec_slice(&t, &z, 0, 0), -EINVAL);
	assert_int_equal(cow_buf_from_vec(&b, &z), -EINVAL);
	/* NULL everywhere */
	assert_null(cow_vec_data(NULL));
	assert_null(cow_vec_at(NULL, 0));
	assert_int_equal(cow_vec_len(NULL), 0);
	assert_int_equal(cow_vec_esize(NULL), 0);
	assert_int_equal(cow_vec_refs(NULL), 0);
	assert_null(cow_vec_get_mut(NULL));
	assert_null(cow_vec_make_mut(NULL));
	assert_int_equal(cow_vec_copy(NULL, &t), -EINVAL);
	assert_int_equal(cow_vec_copy(&t, NULL), -EINVAL);
	assert_int_equal(cow_vec_push(NULL, &x), -EINVAL);
	assert_int_equal(cow_vec_push(&t, NULL), -EINVAL);
	assert_int_equal(cow_vec_append(NULL, &x, 1), -EINVAL);
	assert_int_equal(cow_vec_insert(NULL, 0, &x, 1), -EINVAL);
	assert_int_equal(cow_vec_erase(NULL, 0, 0), -EINVAL);
	assert_int_equal(cow_vec_resize(NULL, 0), -EINVAL);
	assert_int_equal(cow_vec_reserve(NULL, 0), -EINVAL);
	assert_int_equal(cow_vec_slice(NULL, &t, 0, 0), -EINVAL);
	assert_int_equal(cow_vec_slice(&t, NULL, 0, 0), -EINVAL);
	assert_int_equal(cow_vec_from_buf(NULL, &b, 8), -EINVAL);
	assert_int_equal(cow_vec_from_buf(&t, NULL, 8), -EINVAL);
	assert_int_equal(cow_vec_from_buf(&t, &b, 0), -EINVAL);
	/* ranges and overflow on a real vector */
	assert_int_equal(cow_vec_new(&v, 8, &x, 1), 0);
	assert_null(cow_vec_at(&v, 1));
	assert_null(cow_vec_at(&v, SIZE_MAX));
	assert_int_equal(cow_vec_insert(&v, 2, &x, 1), -EINVAL);
	assert_int_equal(cow_vec_insert(&v, SIZE_MAX, &x, 1), -EINVAL);
	assert_int_equal(cow_vec_erase(&v, 0, 2), -EINVAL);
	assert_int_equal(cow_vec_slice(&t, &v, 1, 1), -EINVAL);
	assert_int_equal(cow_vec_append(&v, &x, SIZE_MAX / 8), -EOVERFLOW);
	assert_int_equal(cow_vec_resize(&v, SIZE_MAX / 8 + 1), -EOVERFLOW);
	assert_int_equal(cow_vec_resize(&v, (size_t)PTRDIFF_MAX / 8), -EOVERFLOW);
	assert_int_equal(cow_vec_reserve(&v, SIZE_MAX), -EOVERFLOW);
	check(&v, &x, 1);
	cow_vec_release(&v);
}

static void test_copy_and_mut_access(void **state)
{
	cow_vec a, b = COW_VEC_INIT(8);
	uint64_t x[2] = { 1, 2 }, *p;

	assert_int_equal(cow_vec_new(&a, 8, x, 2), 0);
	assert_int_equal(cow_vec_copy(&b, &a), 0);
	assert_ptr_equal(cow_vec_data(&a), cow_vec_data(&b));
	assert_int_equal(cow_vec_refs(&b), 2);
	errno = 0;
	assert_null(cow_vec_get_mut(&a));
	assert_int_equal(errno, EBUSY);
	p = cow_vec_make_mut(&a);
	p[1] = 99;
	check(&b, x, 2);
	x[1] = 99;
	check(&a, x, 2);
	p = cow_vec_get_mut(&b);
	assert_ptr_equal(p, cow_vec_data(&b));
	cow_vec_release(&a);
	cow_vec_release(&b);
	/* copy takes the source's element size */
	a = (cow_vec)COW_VEC_INIT(4);
	b = (cow_vec)COW_VEC_INIT(2);
	assert_int_equal(cow_vec_copy(&b, &a), 0);
	assert_int_equal(cow_vec_esize(&b), 4);
}

static void test_push_append_insert(void **state)
{
	cow_vec v = COW_VEC_INIT(8), c = COW_VEC_INIT(8);
	uint64_t want[2000];

	for (uint64_t i = 0; i < 1000; i++) {	/* amortized growth */
		assert_int_equal(cow_vec_push(&v, &i), 0);
		want[i] = i;
	}
	check(&v, want, 1000);
	assert_int_equal(cow_vec_copy(&c, &v), 0);
	assert_int_equal(cow_vec_append(&v, cow_vec_data(&v), 1000), 0);
	memcpy(want + 1000, want, 1000 * sizeof *want);
	check(&v, want, 2000);
	check(&c, want, 1000);
	assert_int_equal(cow_vec_insert(&c, 1, cow_vec_at(&c, 999), 1), 0);
	assert_int_equal(*(const uint64_t *)cow_vec_at(&c, 1), 999);
	assert_int_equal(*(const uint64_t *)cow_vec_at(&c, 2), 1);
	assert_int_equal(cow_vec_len(&c), 1001);
	assert_int_equal(cow_vec_append(&c, NULL, 0), 0);
	cow_vec_release(&v);
	cow_vec_release(&c);
}

static void test_erase_resize_reserve(void **state)
{
	uint64_t x[6] = { 0, 1, 2, 3, 4, 5 }, zero[3] = { 0 };
	cow_vec v, c = COW_VEC_INIT(8);
	struct cow_value_stats st0, st1;

	assert_int_equal(cow_vec_new(&v, 8, x, 6), 0);
	assert_int_equal(cow_vec_copy(&c, &v), 0);
	assert_int_equal(cow_value_stats_get(&st0), 0);
	assert_int_equal(cow_vec_erase(&c, 0, 1), 0);	/* prefix: shared */
	assert_int_equal(cow_vec_resize(&c, 4), 0);	/* suffix: shared */
	assert_int_equal(cow_value_stats_get(&st1), 0);
	assert_int_equal(st1.allocs, st0.allocs);
	check(&c, x + 1, 4);
	assert_int_equal(cow_vec_refs(&v), 2);
	assert_int_equal(cow_vec_erase(&c, 1, 2), 0);	/* middle: copies */
	assert_int_equal(*(const uint64_t *)cow_vec_at(&c, 1), 4);
	check(&v, x, 6);
	assert_int_equal(cow_vec_resize(&c, 5), 0);	/* zero-filled */
	assert_memory_equal((const uint64_t *)cow_vec_data(&c) + 2, zero,
			    sizeof zero);
	cow_vec_release(&c);
	assert_int_equal(cow_vec_reserve(&v, 100), 0);
	assert_int_equal(cow_value_stats_get(&st0), 0);
	for (int i = 0; i < 94; i++)
		assert_int_equal(cow_vec_push(&v, x), 0);
	assert_int_equal(cow_value_stats_get(&st1), 0);
	assert_int_equal(st1.allocs, st0.allocs);
	cow_vec_release(&v);
}

static void test_slice_and_alignment(void **state)
{
	cow_vec v = COW_VEC_INIT(sizeof(struct point)), s = COW_VEC_INIT(1);
	struct point p = { 1.5, -2.5, 7 };
	const struct point *q;

	for (int i = 0; i < 10; i++) {
		p.tag = i;
		assert_int_equal(cow_vec_push(&v, &p), 0);
	}
	assert_int_equal(cow_vec_slice(&s, &v, 3, 4), 0);
	assert_int_equal(cow_vec_esize(&s), sizeof(struct point));
	assert_int_equal(cow_vec_len(&s), 4);
	q = cow_vec_at(&s, 0);
	assert_int_equal(q->tag, 3);
	assert_true(q->x == 1.5);
	assert_int_equal((uintptr_t)q % alignof(struct point), 0);
	assert_int_equal((uintptr_t)cow_vec_data(&v) % alignof(max_align_t), 0);
	assert_int_equal(cow_vec_refs(&v), 2);
	cow_vec_release(&v);
	assert_int_equal(((const struct point *)cow_vec_at(&s, 3))->tag, 6);
	assert_int_equal(cow_vec_slice(&s, &s, 1, 1), 0);	/* out == source */
	assert_int_equal(((const struct point *)cow_vec_at(&s, 0))->tag, 4);
	assert_int_equal(cow_vec_refs(&s), 1);
	cow_vec_release(&s);
}

static void test_from_buf(void **state)
{
	uint32_t w[4] = { 1, 2, 3, 4 };
	cow_buf b;
	cow_vec v = COW_VEC_INIT(1);
	const void *p;

	assert_int_equal(cow_buf_new(&b, w, sizeof w), 0);
	assert_int_equal(cow_vec_from_buf(&v, &b, 3), -EINVAL);	/* 16 % 3 */
	p = cow_buf_data(&b);
	assert_int_equal(cow_vec_from_buf(&v, &b, 4), 0);	/* stolen */
	assert_ptr_equal(cow_vec_data(&v), p);
	assert_int_equal(cow_vec_esize(&v), 4);
	assert_int_equal(cow_vec_len(&v), 4);
	assert_null(b.r.blk);
	/* back to bytes, cut 2 of them: now misaligned, so copied */
	assert_int_equal(cow_buf_from_vec(&b, &v), 0);
	assert_int_equal(cow_buf_erase(&b, 0, 2), 0);
	assert_int_equal(cow_buf_resize(&b, 12), 0);
	assert_int_equal(cow_vec_from_buf(&v, &b, 4), 0);
	assert_memory_equal(cow_vec_data(&v), (const char *)w + 2, 12);
	assert_int_equal((uintptr_t)cow_vec_data(&v) % 4, 0);
	cow_vec_release(&v);
	/* empty */
	assert_int_equal(cow_vec_from_buf(&v, &b, 8), 0);
	assert_int_equal(cow_vec_esize(&v), 8);
	assert_int_equal(cow_vec_len(&v), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_new_release),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_copy_and_mut_access),
		cmocka_unit_test(test_push_append_insert),
		cmocka_unit_test(test_erase_resize_reserve),
		cmocka_unit_test(test_slice_and_alignment),
		cmocka_unit_test(test_from_buf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
