/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vec.c — cow_vec: a copy-on-write array of fixed-size elements in a
 * reference-counted block (src/value.c does the work; see cow.h for the
 * contracts). Every function here is the block operation with the vector's
 * shape: units of esize bytes. A zeroed handle has esize 0 and every
 * operation on it fails with -EINVAL (the block layer checks).
 */
#include <cow.h>
#include <errno.h>

#include "internal.h"
#include "value_internal.h"

/* The vector's shape; esize 0 (NULL or unset) makes every operation fail. */
static struct cow__shape shape(const cow_vec *v)
{
	return (struct cow__shape){ v ? v->esize : 0, false };
}

/* cow_vec_init — *v = the empty vector of esize-byte elements. */
COW_API int cow_vec_init(cow_vec *v, size_t esize)
{
	if (!v || !esize)
		return -EINVAL;
	*v = (cow_vec)COW_VEC_INIT(esize);
	return 0;
}

/* cow_vec_new — *out = a copy of n elements of esize bytes at elems. */
COW_API int cow_vec_new(cow_vec *out, size_t esize, const void *elems,
			size_t n)
{
	cow_vec t = COW_VEC_INIT(esize);
	int err;

	if (!out)
		return -EINVAL;
	err = cow__ref_new(&t.r, shape(&t), elems, n);
	if (!err)
		*out = t;
	return err;
}

/* cow_vec_copy — *dst shares *src: O(1); dst takes src's element size. */
COW_API int cow_vec_copy(cow_vec *dst, const cow_vec *src)
{
	int err = cow__ref_copy(COW__REF(dst), COW__REF(src), shape(src).esize);

	if (!err)
		dst->esize = src->esize;
	return err;
}

/* cow_vec_release — drop the reference; *v becomes empty (esize kept). */
COW_API void cow_vec_release(cow_vec *v)
{
	cow__ref_release(COW__REF(v));
}

/* cow_vec_data — the elements. */
COW_API const void *cow_vec_data(const cow_vec *v)
{
	if (v && !v->esize) {
		errno = EINVAL;
		return NULL;
	}
	return cow__ref_data(COW__REF(v), shape(v).esize);
}

/* cow_vec_len — elements in the vector. */
COW_API size_t cow_vec_len(const cow_vec *v)
{
	return v ? v->r.len : 0;
}

/* cow_vec_esize — bytes per element. */
COW_API size_t cow_vec_esize(const cow_vec *v)
{
	return v ? v->esize : 0;
}

/* cow_vec_refs — handles sharing the elements. */
COW_API size_t cow_vec_refs(const cow_vec *v)
{
	return cow__ref_refs(COW__REF(v));
}

/* cow_vec_at — element i, read-only. */
COW_API const void *cow_vec_at(const cow_vec *v, size_t i)
{
	if (!v || !v->esize || i >= v->r.len) {
		errno = EINVAL;
		return NULL;
	}
	return (const unsigned char *)cow__ref_data(&v->r, v->esize) +
	       i * v->esize;
}

/* cow_vec_get_mut — writable elements, or NULL (EBUSY) when shared. */
COW_API void *cow_vec_get_mut(cow_vec *v)
{
	return cow__ref_get_mut(COW__REF(v), shape(v).esize);
}

/* cow_vec_make_mut — writable elements, copied first when shared. */
COW_API void *cow_vec_make_mut(cow_vec *v)
{
	return cow__ref_make_mut(COW__REF(v), shape(v));
}

/* cow_vec_push — add one element at the end. */
COW_API int cow_vec_push(cow_vec *v, const void *elem)
{
	if (!elem)
		return -EINVAL;
	return cow__ref_insert(COW__REF(v), shape(v), COW__END, elem, 1);
}

/* cow_vec_append — add n elements at the end. */
COW_API int cow_vec_append(cow_vec *v, const void *elems, size_t n)
{
	return cow__ref_insert(COW__REF(v), shape(v), COW__END, elems, n);
}

/* cow_vec_insert — add n elements before element pos. */
COW_API int cow_vec_insert(cow_vec *v, size_t pos, const void *elems, size_t n)
{
	if (pos == COW__END)
		return -EINVAL;
	return cow__ref_insert(COW__REF(v), shape(v), pos, elems, n);
}

/* cow_vec_erase — remove elements [pos, pos+n). */
COW_API int cow_vec_erase(cow_vec *v, size_t pos, size_t n)
{
	return cow__ref_erase(COW__REF(v), shape(v), pos, n);
}

/* cow_vec_resize — cut, or add zeroed elements up to n. */
COW_API int cow_vec_resize(cow_vec *v, size_t n)
{
	return cow__ref_resize(COW__REF(v), shape(v), n, 0);
}

/* cow_vec_reserve — room for cap elements, unshared. */
COW_API int cow_vec_reserve(cow_vec *v, size_t cap)
{
	return cow__ref_reserve(COW__REF(v), shape(v), cap);
}

/* cow_vec_slice — *out shares elements [pos, pos+n) of *v. */
COW_API int cow_vec_slice(cow_vec *out, const cow_vec *v, size_t pos, size_t n)
{
	int err = cow__ref_slice(COW__REF(out), COW__REF(v), shape(v).esize,
				 pos, n);

	if (!err)
		out->esize = v->esize;
	return err;
}

/* cow_vec_from_buf — *out takes the buffer's bytes as esize-byte elements
 * (stolen when aligned, else copied); *b is emptied. */
COW_API int cow_vec_from_buf(cow_vec *out, cow_buf *b, size_t esize)
{
	int err = cow__ref_convert(COW__REF(out), COW__REF(b), 1,
				   (struct cow__shape){ esize, false });

	if (!err)
		out->esize = esize;
	return err;
}
