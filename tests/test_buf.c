/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_buf.c — cow_buf, function by function: results, sharing (which
 * calls copy and which share), and the errors. The randomized oracle,
 * out-of-memory and thread tests of all values are in test_values.c.
 */
#include <cow.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "testlib.h"
#include "value_internal.h"

/* *b holds exactly the n bytes at want. */
static void check(const cow_buf *b, const void *want, size_t n)
{
	assert_int_equal(cow_buf_len(b), n);
	assert_non_null(cow_buf_data(b));
	if (n)
		assert_memory_equal(cow_buf_data(b), want, n);
}

static void test_new_copy_release(void **state)
{
	cow_buf a, b = COW_BUF_INIT, e = COW_BUF_INIT;

	check(&e, NULL, 0);
	assert_int_equal(cow_buf_refs(&e), 0);
	assert_int_equal(cow_buf_new(&a, "\0\1\2\3", 4), 0);
	check(&a, "\0\1\2\3", 4);
	assert_int_equal(cow_buf_refs(&a), 1);
	assert_int_equal(cow_buf_copy(&b, &a), 0);
	assert_ptr_equal(cow_buf_data(&a), cow_buf_data(&b));
	assert_int_equal(cow_buf_refs(&b), 2);
	assert_int_equal(cow_buf_copy(&b, &b), 0);
	assert_int_equal(cow_buf_refs(&b), 2);
	cow_buf_release(&a);
	check(&a, NULL, 0);
	check(&b, "\0\1\2\3", 4);
	assert_int_equal(cow_buf_refs(&b), 1);
	cow_buf_release(&b);
	cow_buf_release(&b);
	cow_buf_release(NULL);
	assert_int_equal(cow_buf_new(&a, NULL, 0), 0);
	assert_null(a.r.blk);
}

static void test_bad_arguments(void **state)
{
	cow_buf a, t = COW_BUF_INIT;
	cow_str s = COW_STR_INIT;
	cow_vec v = COW_VEC_INIT(4);

	assert_int_equal(cow_buf_new(NULL, "x", 1), -EINVAL);
	assert_int_equal(cow_buf_new(&a, NULL, 1), -EINVAL);
	assert_int_equal(cow_buf_copy(NULL, &t), -EINVAL);
	assert_int_equal(cow_buf_copy(&t, NULL), -EINVAL);
	errno = 0;
	assert_null(cow_buf_data(NULL));
	assert_int_equal(errno, EINVAL);
	assert_int_equal(cow_buf_len(NULL), 0);
	assert_int_equal(cow_buf_refs(NULL), 0);
	errno = 0;
	assert_null(cow_buf_get_mut(NULL));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(cow_buf_make_mut(NULL));
	assert_int_equal(errno, EINVAL);
	assert_int_equal(cow_buf_append(NULL, "x", 1), -EINVAL);
	assert_int_equal(cow_buf_insert(NULL, 0, "x", 1), -EINVAL);
	assert_int_equal(cow_buf_erase(NULL, 0, 0), -EINVAL);
	assert_int_equal(cow_buf_resize(NULL, 0), -EINVAL);
	assert_int_equal(cow_buf_reserve(NULL, 0), -EINVAL);
	assert_int_equal(cow_buf_slice(NULL, &t, 0, 0), -EINVAL);
	assert_int_equal(cow_buf_slice(&t, NULL, 0, 0), -EINVAL);
	assert_int_equal(cow_buf_from_str(NULL, &s), -EINVAL);
	assert_int_equal(cow_buf_from_str(&t, NULL), -EINVAL);
	assert_int_equal(cow_buf_from_vec(NULL, &v), -EINVAL);
	assert_int_equal(cow_buf_from_vec(&t, NULL), -EINVAL);
	v.esize = 0;
	assert_int_equal(cow_buf_from_vec(&t, &v), -EINVAL);

	assert_int_equal(cow_buf_new(&a, "abcd", 4), 0);
	assert_int_equal(cow_buf_append(&a, NULL, 2), -EINVAL);
	assert_int_equal(cow_buf_insert(&a, 5, "x", 1), -EINVAL);
	assert_int_equal(cow_buf_insert(&a, SIZE_MAX, "x", 1), -EINVAL);
	assert_int_equal(cow_buf_erase(&a, 2, 3), -EINVAL);
	assert_int_equal(cow_buf_erase(&a, SIZE_MAX, 1), -EINVAL);
	assert_int_equal(cow_buf_slice(&t, &a, 3, 2), -EINVAL);
	assert_int_equal(cow_buf_slice(&t, &a, 5, 0), -EINVAL);
	assert_int_equal(cow_buf_append(&a, "x", SIZE_MAX), -EOVERFLOW);
	assert_int_equal(cow_buf_insert(&a, 0, "x", SIZE_MAX - 3), -EOVERFLOW);
	assert_int_equal(cow_buf_resize(&a, SIZE_MAX), -EOVERFLOW);
	assert_int_equal(cow_buf_resize(&a, (size_t)PTRDIFF_MAX), -EOVERFLOW);
	assert_int_equal(cow_buf_reserve(&a, SIZE_MAX / 2 + 1), -EOVERFLOW);
	check(&a, "abcd", 4);
	assert_int_equal(cow_buf_refs(&a), 1);
	cow_buf_release(&a);
}

static void test_mut_access(void **state)
{
	cow_buf a, b = COW_BUF_INIT, e = COW_BUF_INIT;
	unsigned char *p;

	assert_int_equal(cow_buf_new(&a, "abcd", 4), 0);
	p = cow_buf_get_mut(&a);
	assert_ptr_equal(p, cow_buf_data(&a));
	p[0] = 'A';
	assert_int_equal(cow_buf_copy(&b, &a), 0);
	errno = 0;
	assert_null(cow_buf_get_mut(&b));
	assert_int_equal(errno, EBUSY);
	p = cow_buf_make_mut(&b);
	assert_non_null(p);
	assert_ptr_not_equal(p, cow_buf_data(&a));
	p[3] = 'D';
	check(&a, "Abcd", 4);
	check(&b, "AbcD", 4);
	assert_non_null(cow_buf_get_mut(&e));
	assert_non_null(cow_buf_make_mut(&e));
	assert_null(e.r.blk);
	cow_buf_release(&a);
	cow_buf_release(&b);
}

static void test_append_insert(void **state)
{
	cow_buf a, b = COW_BUF_INIT;

	assert_int_equal(cow_buf_new(&a, "ad", 2), 0);
	assert_int_equal(cow_buf_insert(&a, 1, "bc", 2), 0);
	assert_int_equal(cow_buf_append(&a, "ef", 2), 0);
	assert_int_equal(cow_buf_insert(&a, 0, "_", 1), 0);
	check(&a, "_abcdef", 7);
	assert_int_equal(cow_buf_copy(&b, &a), 0);
	assert_int_equal(cow_buf_append(&b, cow_buf_data(&b), 3), 0);
	check(&a, "_abcdef", 7);
	check(&b, "_abcdef_ab", 10);
	assert_int_equal(cow_buf_insert(&b, 5, cow_buf_data(&b), 10), 0);
	check(&b, "_abcd_abcdef_abef_ab", 20);
	assert_int_equal(cow_buf_append(&b, NULL, 0), 0);
	cow_buf_release(&a);
	cow_buf_release(&b);
}

static void test_erase_narrows_shared_views(void **state)
{
	cow_buf a, b = COW_BUF_INIT;
	const unsigned char *p;
	struct cow_value_stats st0, st1;

	assert_int_equal(cow_buf_new(&a, "0123456789", 10), 0);
	assert_int_equal(cow_buf_copy(&b, &a), 0);
	p = cow_buf_data(&a);
	assert_int_equal(cow_value_stats_get(&st0), 0);
	assert_int_equal(cow_buf_erase(&b, 0, 2), 0);	/* prefix */
	assert_int_equal(cow_buf_erase(&b, 6, 2), 0);	/* suffix */
	assert_int_equal(cow_value_stats_get(&st1), 0);
	assert_int_equal(st1.allocs, st0.allocs);	/* no copy */
	assert_ptr_equal(cow_buf_data(&b), p + 2);
	check(&b, "234567", 6);
	assert_int_equal(cow_buf_erase(&b, 2, 2), 0);	/* middle: copy */
	check(&b, "2367", 4);
	check(&a, "0123456789", 10);
	assert_int_equal(cow_buf_refs(&a), 1);
	assert_int_equal(cow_buf_erase(&b, 0, 4), 0);
	check(&b, NULL, 0);
	assert_int_equal(cow_buf_erase(&b, 0, 0), 0);
	cow_buf_release(&a);
	cow_buf_release(&b);
}

static void test_resize_reserve(void **state)
{
	cow_buf a, b = COW_BUF_INIT;
	struct cow_value_stats st0, st1;

	assert_int_equal(cow_buf_new(&a, "ab", 2), 0);
	assert_int_equal(cow_buf_resize(&a, 5), 0);
	check(&a, "ab\0\0\0", 5);
	assert_int_equal(cow_buf_copy(&b, &a), 0);
	assert_int_equal(cow_buf_resize(&b, 1), 0);
	assert_int_equal(cow_buf_resize(&b, 3), 0);
	check(&b, "a\0\0", 3);
	check(&a, "ab\0\0\0", 5);
	cow_buf_release(&b);
	assert_int_equal(cow_buf_reserve(&a, 4096), 0);
	assert_int_equal(cow_value_stats_get(&st0), 0);
	for (int i = 0; i < 4091; i++)
		assert_int_equal(cow_buf_append(&a, "z", 1), 0);
	assert_int_equal(cow_value_stats_get(&st1), 0);
	assert_int_equal(st1.allocs, st0.allocs);
	assert_int_equal(cow_buf_len(&a), 4096);
	cow_buf_release(&a);
	assert_int_equal(cow_buf_reserve(&a, 0), 0);	/* empty stays empty */
	assert_null(a.r.blk);
	assert_int_equal(cow_buf_resize(&a, 0), 0);
	assert_null(a.r.blk);
}

static void test_slice(void **state)
{
	cow_buf a, s = COW_BUF_INIT, t = COW_BUF_INIT;

	assert_int_equal(cow_buf_new(&a, "0123456789", 10), 0);
	assert_int_equal(cow_buf_slice(&s, &a, 3, 4), 0);
	check(&s, "3456", 4);
	assert_ptr_equal(cow_buf_data(&s), (const char *)cow_buf_data(&a) + 3);
	assert_int_equal(cow_buf_refs(&a), 2);
	assert_int_equal(cow_buf_slice(&t, &s, 1, 2), 0);	/* of a slice */
	check(&t, "45", 2);
	assert_int_equal(cow_buf_refs(&a), 3);
	/* writing a slice detaches it alone */
	((unsigned char *)cow_buf_make_mut(&t))[0] = 'X';
	check(&t, "X5", 2);
	check(&s, "3456", 4);
	check(&a, "0123456789", 10);
	assert_int_equal(cow_buf_refs(&a), 2);
	/* the slice outlives its parent */
	cow_buf_release(&a);
	check(&s, "3456", 4);
	assert_int_equal(cow_buf_refs(&s), 1);
	/* out == source */
	assert_int_equal(cow_buf_slice(&s, &s, 1, 2), 0);
	check(&s, "45", 2);
	assert_int_equal(cow_buf_refs(&s), 1);
	assert_int_equal(cow_buf_slice(&s, &s, 2, 0), 0);
	assert_null(s.r.blk);
	cow_buf_release(&t);
}

static void test_from_str_and_vec(void **state)
{
	cow_str s, keep = COW_STR_INIT;
	cow_buf b = COW_BUF_INIT;
	cow_vec v;
	uint32_t w[3] = { 1, 2, 3 };
	const void *p;

	/* from a shared string: still O(1), the reference moves */
	assert_int_equal(cow_str_new(&s, "text"), 0);
	assert_int_equal(cow_str_copy(&keep, &s), 0);
	p = cow_str_data(&s);
	assert_int_equal(cow_buf_from_str(&b, &s), 0);
	assert_ptr_equal(cow_buf_data(&b), p);
	check(&b, "text", 4);
	assert_int_equal(cow_str_len(&s), 0);
	assert_null(s.r.blk);
	assert_int_equal(cow_buf_refs(&b), 2);
	assert_int_equal(cow_buf_append(&b, "!", 1), 0);	/* detaches */
	assert_string_equal(cow_str_data(&keep), "text");
	cow_buf_release(&b);
	cow_str_release(&keep);

	assert_int_equal(cow_vec_new(&v, sizeof w[0], w, 3), 0);
	p = cow_vec_data(&v);
	assert_int_equal(cow_buf_from_vec(&b, &v), 0);
	assert_ptr_equal(cow_buf_data(&b), p);
	check(&b, w, sizeof w);
	assert_int_equal(cow_vec_len(&v), 0);
	assert_int_equal(cow_vec_esize(&v), sizeof w[0]);
	cow_buf_release(&b);
	/* a vector slice keeps its byte offset */
	assert_int_equal(cow_vec_new(&v, sizeof w[0], w, 3), 0);
	assert_int_equal(cow_vec_erase(&v, 0, 1), 0);
	assert_int_equal(cow_buf_from_vec(&b, &v), 0);
	check(&b, w + 1, 2 * sizeof w[0]);
	cow_buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_copy_release),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_mut_access),
		cmocka_unit_test(test_append_insert),
		cmocka_unit_test(test_erase_narrows_shared_views),
		cmocka_unit_test(test_resize_reserve),
		cmocka_unit_test(test_slice),
		cmocka_unit_test(test_from_str_and_vec),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
