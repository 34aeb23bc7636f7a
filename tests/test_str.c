/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_str.c — cow_str, function by function: results, sharing (which
 * calls copy and which share), the NUL, and the errors. The randomized
 * oracle, out-of-memory and thread tests of all values are in test_values.c.
 */
#include <cow.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "testlib.h"
#include "value_internal.h"

/* *s holds exactly want (a C string), NUL-terminated. */
static void check(const cow_str *s, const char *want)
{
	assert_int_equal(cow_str_len(s), strlen(want));
	assert_string_equal(cow_str_data(s), want);
}

static uint64_t stat_of(size_t field)
{
	struct cow_value_stats st;

	assert_int_equal(cow_value_stats_get(&st), 0);
	return *(const uint64_t *)((const char *)&st + field);
}
#define STAT(f) stat_of(offsetof(struct cow_value_stats, f))

static void test_new_data_len_release(void **state)
{
	cow_str s = COW_STR_INIT, e = COW_STR_INIT;

	check(&e, "");
	assert_int_equal(cow_str_refs(&e), 0);
	assert_int_equal(cow_str_new(&s, "hello"), 0);
	check(&s, "hello");
	assert_int_equal(cow_str_refs(&s), 1);
	cow_str_release(&s);
	check(&s, "");
	assert_int_equal(cow_str_refs(&s), 0);
	cow_str_release(&s);	/* harmless on the empty value */
	cow_str_release(&e);
	cow_str_release(NULL);

	assert_int_equal(cow_str_new(&s, ""), 0);	/* empty: no block */
	assert_null(s.r.blk);
	check(&s, "");
}

static void test_newn_embedded_nul(void **state)
{
	cow_str s;

	assert_int_equal(cow_str_newn(&s, "a\0b", 3), 0);
	assert_int_equal(cow_str_len(&s), 3);
	assert_memory_equal(cow_str_data(&s), "a\0b\0", 4);
	cow_str_release(&s);
	assert_int_equal(cow_str_newn(&s, NULL, 0), 0);
	check(&s, "");
}

static void test_bad_arguments(void **state)
{
	cow_str s = COW_STR_INIT, t = COW_STR_INIT;
	cow_buf b = COW_BUF_INIT;

	assert_int_equal(cow_str_new(NULL, "x"), -EINVAL);
	assert_int_equal(cow_str_new(&s, NULL), -EINVAL);
	assert_int_equal(cow_str_newn(NULL, "x", 1), -EINVAL);
	assert_int_equal(cow_str_newn(&s, NULL, 1), -EINVAL);
	assert_int_equal(cow_str_copy(NULL, &s), -EINVAL);
	assert_int_equal(cow_str_copy(&s, NULL), -EINVAL);
	errno = 0;
	assert_null(cow_str_data(NULL));
	assert_int_equal(errno, EINVAL);
	assert_int_equal(cow_str_len(NULL), 0);
	assert_int_equal(cow_str_refs(NULL), 0);
	errno = 0;
	assert_null(cow_str_get_mut(NULL));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(cow_str_make_mut(NULL));
	assert_int_equal(errno, EINVAL);
	assert_int_equal(cow_str_append(NULL, "x", 1), -EINVAL);
	assert_int_equal(cow_str_insert(NULL, 0, "x", 1), -EINVAL);
	assert_int_equal(cow_str_erase(NULL, 0, 0), -EINVAL);
	assert_int_equal(cow_str_resize(NULL, 1, 'x'), -EINVAL);
	assert_int_equal(cow_str_reserve(NULL, 1), -EINVAL);
	assert_int_equal(cow_str_sub(NULL, &s, 0, 0), -EINVAL);
	assert_int_equal(cow_str_sub(&t, NULL, 0, 0), -EINVAL);
	assert_int_equal(cow_str_from_buf(NULL, &b), -EINVAL);
	assert_int_equal(cow_str_from_buf(&s, NULL), -EINVAL);

	assert_int_equal(cow_str_new(&s, "abc"), 0);
	assert_int_equal(cow_str_append(&s, NULL, 1), -EINVAL);
	assert_int_equal(cow_str_insert(&s, 4, "x", 1), -EINVAL);
	assert_int_equal(cow_str_insert(&s, SIZE_MAX, "x", 1), -EINVAL);
	assert_int_equal(cow_str_insert(&s, 0, NULL, 1), -EINVAL);
	assert_int_equal(cow_str_erase(&s, 4, 0), -EINVAL);
	assert_int_equal(cow_str_erase(&s, 1, 3), -EINVAL);
	assert_int_equal(cow_str_erase(&s, 1, SIZE_MAX), -EINVAL);
	assert_int_equal(cow_str_sub(&t, &s, 2, 2), -EINVAL);
	assert_int_equal(cow_str_sub(&t, &s, SIZE_MAX, 1), -EINVAL);
	/* lengths past the limit: refused before any allocation */
	assert_int_equal(cow_str_append(&s, "x", SIZE_MAX), -EOVERFLOW);
	assert_int_equal(cow_str_append(&s, "x", SIZE_MAX - 2), -EOVERFLOW);
	assert_int_equal(cow_str_append(&s, "x", PTRDIFF_MAX), -EOVERFLOW);
	assert_int_equal(cow_str_resize(&s, SIZE_MAX, 'x'), -EOVERFLOW);
	assert_int_equal(cow_str_reserve(&s, SIZE_MAX), -EOVERFLOW);
	assert_int_equal(cow_str_newn(&t, "x", SIZE_MAX), -EOVERFLOW);
	check(&s, "abc");	/* every failure left it alone */
	cow_str_release(&s);
}

static void test_copy_shares(void **state)
{
	cow_str a, b = COW_STR_INIT, c = COW_STR_INIT, e = COW_STR_INIT;
	uint64_t shares = STAT(shares);

	assert_int_equal(cow_str_new(&a, "shared bytes"), 0);
	assert_int_equal(cow_str_copy(&b, &a), 0);
	assert_ptr_equal(cow_str_data(&a), cow_str_data(&b));	/* O(1) */
	assert_int_equal(cow_str_refs(&a), 2);
	assert_int_equal(cow_str_copy(&c, &b), 0);
	assert_int_equal(cow_str_refs(&a), 3);
	assert_int_equal(STAT(shares), shares + 2);
	assert_int_equal(cow_str_copy(&a, &a), 0);		/* no-op */
	assert_int_equal(cow_str_refs(&a), 3);
	cow_str_release(&a);
	assert_int_equal(cow_str_refs(&b), 2);
	check(&b, "shared bytes");
	cow_str_release(&b);
	assert_int_equal(cow_str_refs(&c), 1);
	check(&c, "shared bytes");
	cow_str_release(&c);
	assert_int_equal(cow_str_copy(&a, &e), 0);		/* empty */
	assert_null(a.r.blk);
}

static void test_get_mut(void **state)
{
	cow_str a, b = COW_STR_INIT, e = COW_STR_INIT;
	char *p;

	assert_int_equal(cow_str_new(&a, "abc"), 0);
	p = cow_str_get_mut(&a);
	assert_ptr_equal(p, cow_str_data(&a));
	p[1] = 'X';
	check(&a, "aXc");
	assert_int_equal(cow_str_copy(&b, &a), 0);
	errno = 0;
	assert_null(cow_str_get_mut(&a));	/* shared: fail, copy nothing */
	assert_int_equal(errno, EBUSY);
	assert_null(cow_str_get_mut(&b));
	assert_int_equal(cow_str_refs(&a), 2);
	cow_str_release(&b);
	assert_non_null(cow_str_get_mut(&a));	/* unshared again */
	assert_non_null(cow_str_get_mut(&e));	/* empty: 0 bytes to write */
	cow_str_release(&a);
}

static void test_make_mut_detaches_only_when_shared(void **state)
{
	cow_str a, b = COW_STR_INIT;
	uint64_t detaches = STAT(detaches), reuses = STAT(reuses);
	char *p;

	assert_int_equal(cow_str_new(&a, "original"), 0);
	p = cow_str_make_mut(&a);			/* unshared: reuse */
	assert_ptr_equal(p, cow_str_data(&a));
	assert_int_equal(STAT(detaches), detaches);
	assert_int_equal(STAT(reuses), reuses + 1);
	assert_int_equal(cow_str_copy(&b, &a), 0);
	p = cow_str_make_mut(&b);			/* shared: detach */
	assert_ptr_not_equal(p, cow_str_data(&a));
	assert_int_equal(STAT(detaches), detaches + 1);
	memcpy(p, "ORIG", 4);
	check(&b, "ORIGinal");
	check(&a, "original");
	assert_int_equal(cow_str_refs(&a), 1);
	assert_int_equal(cow_str_refs(&b), 1);
	cow_str_release(&a);
	cow_str_release(&b);
}

static void test_append(void **state)
{
	cow_str a, b = COW_STR_INIT;
	char big[1000];

	assert_int_equal(cow_str_new(&a, "ab"), 0);
	assert_int_equal(cow_str_append(&a, "cd", 2), 0);
	check(&a, "abcd");
	assert_int_equal(cow_str_append(&a, NULL, 0), 0);
	assert_int_equal(cow_str_append(&a, cow_str_data(&a), 4), 0);	/* itself */
	check(&a, "abcdabcd");
	assert_int_equal(cow_str_copy(&b, &a), 0);
	assert_int_equal(cow_str_append(&b, "!", 1), 0);	/* shared: detach */
	check(&a, "abcdabcd");
	check(&b, "abcdabcd!");
	assert_int_equal(cow_str_append(&b, cow_str_data(&a) + 4, 4), 0);
	check(&b, "abcdabcd!abcd");
	memset(big, 'z', sizeof big - 1);
	big[sizeof big - 1] = 0;
	for (int i = 0; i < 50; i++)	/* growth */
		assert_int_equal(cow_str_append(&b, big, sizeof big - 1), 0);
	assert_int_equal(cow_str_len(&b), 13 + 50 * 999);
	assert_int_equal(strlen(cow_str_data(&b)), cow_str_len(&b));
	cow_str_release(&a);
	cow_str_release(&b);

	a = (cow_str)COW_STR_INIT;		/* append to the empty value */
	assert_int_equal(cow_str_append(&a, "x", 1), 0);
	check(&a, "x");
	cow_str_release(&a);
}

static void test_insert(void **state)
{
	cow_str a, b = COW_STR_INIT;

	assert_int_equal(cow_str_new(&a, "ace"), 0);
	assert_int_equal(cow_str_insert(&a, 1, "b", 1), 0);
	assert_int_equal(cow_str_insert(&a, 3, "d", 1), 0);
	assert_int_equal(cow_str_insert(&a, 5, "f", 1), 0);
	assert_int_equal(cow_str_insert(&a, 0, ">", 1), 0);
	check(&a, ">abcdef");
	assert_int_equal(cow_str_insert(&a, 3, cow_str_data(&a), 3), 0);
	check(&a, ">ab>abcdef");
	assert_int_equal(cow_str_copy(&b, &a), 0);
	assert_int_equal(cow_str_insert(&b, 0, "<", 1), 0);
	check(&a, ">ab>abcdef");
	check(&b, "<>ab>abcdef");
	cow_str_release(&a);
	cow_str_release(&b);
}

static void test_erase(void **state)
{
	cow_str a, b = COW_STR_INIT;
	const char *p;

	assert_int_equal(cow_str_new(&a, "0123456789"), 0);
	assert_int_equal(cow_str_erase(&a, 2, 3), 0);
	check(&a, "0156789");
	assert_int_equal(cow_str_erase(&a, 5, 2), 0);	/* suffix */
	check(&a, "01567");
	assert_int_equal(cow_str_erase(&a, 1, 0), 0);
	check(&a, "01567");
	/* a prefix of a shared string: the rest is shared, not copied */
	assert_int_equal(cow_str_copy(&b, &a), 0);
	p = cow_str_data(&a);
	assert_int_equal(cow_str_erase(&b, 0, 2), 0);
	assert_ptr_equal(cow_str_data(&b), p + 2);
	assert_int_equal(cow_str_refs(&a), 2);
	check(&b, "567");
	/* a suffix of a shared string needs its own NUL: copied */
	assert_int_equal(cow_str_erase(&b, 2, 1), 0);
	check(&b, "56");
	check(&a, "01567");
	assert_int_equal(cow_str_refs(&a), 1);
	assert_int_equal(cow_str_erase(&b, 0, 2), 0);
	check(&b, "");
	cow_str_release(&a);
	cow_str_release(&b);
}

static void test_resize_and_reserve(void **state)
{
	cow_str a, b = COW_STR_INIT;
	uint64_t allocs;

	assert_int_equal(cow_str_new(&a, "abc"), 0);
	assert_int_equal(cow_str_resize(&a, 6, '.'), 0);
	check(&a, "abc...");
	assert_int_equal(cow_str_resize(&a, 2, '.'), 0);
	check(&a, "ab");
	assert_int_equal(cow_str_resize(&a, 2, '.'), 0);
	check(&a, "ab");
	assert_int_equal(cow_str_copy(&b, &a), 0);
	assert_int_equal(cow_str_resize(&b, 1, 0), 0);
	check(&a, "ab");
	check(&b, "a");

	assert_int_equal(cow_str_reserve(&a, 1000), 0);
	check(&a, "ab");
	allocs = STAT(allocs);
	for (int i = 0; i < 998; i++)
		assert_int_equal(cow_str_append(&a, "+", 1), 0);
	assert_int_equal(STAT(allocs), allocs);	/* no allocation */
	assert_int_equal(cow_str_len(&a), 1000);
	assert_int_equal(cow_str_reserve(&a, 10), 0);	/* smaller: nothing */
	assert_int_equal(cow_str_len(&a), 1000);
	/* reserving a shared string detaches it */
	cow_str_release(&b);
	assert_int_equal(cow_str_copy(&b, &a), 0);
	assert_int_equal(cow_str_reserve(&b, 1001), 0);
	assert_int_equal(cow_str_refs(&a), 1);
	assert_int_equal(cow_str_refs(&b), 1);
	assert_string_equal(cow_str_data(&a), cow_str_data(&b));
	cow_str_release(&a);
	cow_str_release(&b);
}

static void test_sub(void **state)
{
	cow_str a, t = COW_STR_INIT, u = COW_STR_INIT;

	assert_int_equal(cow_str_new(&a, "hello world"), 0);
	assert_int_equal(cow_str_sub(&t, &a, 6, 5), 0);	/* suffix: shared */
	check(&t, "world");
	assert_ptr_equal(cow_str_data(&t), cow_str_data(&a) + 6);
	assert_int_equal(cow_str_refs(&a), 2);
	assert_int_equal(cow_str_sub(&u, &a, 0, 5), 0);	/* middle: copied */
	check(&u, "hello");
	assert_int_equal(cow_str_refs(&u), 1);
	cow_str_release(&u);
	assert_int_equal(cow_str_sub(&u, &a, 11, 0), 0);
	check(&u, "");
	assert_int_equal(cow_str_sub(&u, &a, 3, 0), 0);
	check(&u, "");
	/* out is the source itself: replaced */
	assert_int_equal(cow_str_sub(&a, &a, 1, 3), 0);
	check(&a, "ell");
	assert_int_equal(cow_str_sub(&t, &t, 1, 4), 0);
	check(&t, "orld");
	assert_int_equal(cow_str_refs(&t), 1);
	cow_str_release(&a);
	cow_str_release(&t);
}

static void test_from_buf(void **state)
{
	cow_buf b, keep = COW_BUF_INIT;
	cow_str s = COW_STR_INIT;
	const void *p;
	uint64_t steals = STAT(steals);

	/* unshared: stolen (it has room for the NUL after a cut suffix) */
	assert_int_equal(cow_buf_new(&b, "bytes!", 6), 0);
	assert_int_equal(cow_buf_resize(&b, 5), 0);
	p = cow_buf_data(&b);
	assert_int_equal(cow_str_from_buf(&s, &b), 0);
	assert_ptr_equal(cow_str_data(&s), p);
	assert_int_equal(STAT(steals), steals + 1);
	check(&s, "bytes");
	assert_int_equal(cow_buf_len(&b), 0);
	assert_null(b.r.blk);
	cow_str_release(&s);
	/* unshared, no room: grown in place, still no copy of ours */
	assert_int_equal(cow_buf_new(&b, "abc", 3), 0);
	assert_int_equal(cow_str_from_buf(&s, &b), 0);
	check(&s, "abc");
	cow_str_release(&s);
	/* shared: copied, the other buffer untouched */
	assert_int_equal(cow_buf_new(&b, "xyz", 3), 0);
	assert_int_equal(cow_buf_copy(&keep, &b), 0);
	assert_int_equal(cow_str_from_buf(&s, &b), 0);
	check(&s, "xyz");
	assert_int_equal(cow_buf_refs(&keep), 1);
	assert_memory_equal(cow_buf_data(&keep), "xyz", 3);
	cow_buf_release(&keep);
	cow_str_release(&s);
	/* empty */
	assert_int_equal(cow_str_from_buf(&s, &b), 0);
	check(&s, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_data_len_release),
		cmocka_unit_test(test_newn_embedded_nul),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_copy_shares),
		cmocka_unit_test(test_get_mut),
		cmocka_unit_test(test_make_mut_detaches_only_when_shared),
		cmocka_unit_test(test_append),
		cmocka_unit_test(test_insert),
		cmocka_unit_test(test_erase),
		cmocka_unit_test(test_resize_and_reserve),
		cmocka_unit_test(test_sub),
		cmocka_unit_test(test_from_buf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
