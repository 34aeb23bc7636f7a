/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * buf.c — cow_buf: copy-on-write bytes in a reference-counted block
 * (src/value.c does the work; see cow.h for the contracts). Every function
 * here is the block operation with the buffer's shape: 1-byte units.
 */
#include <cow.h>
#include <errno.h>

#include "internal.h"
#include "value_internal.h"

static const struct cow__shape BUF = { 1, false };

/* cow_buf_new — *out = a copy of len bytes at p. */
COW_API int cow_buf_new(cow_buf *out, const void *p, size_t len)
{
	return cow__ref_new(COW__REF(out), BUF, p, len);
}

/* cow_buf_copy — *dst shares *src: O(1). */
COW_API int cow_buf_copy(cow_buf *dst, const cow_buf *src)
{
	return cow__ref_copy(COW__REF(dst), COW__REF(src), 1);
}

/* cow_buf_release — drop the reference; *b becomes empty. */
COW_API void cow_buf_release(cow_buf *b)
{
	cow__ref_release(COW__REF(b));
}

/* cow_buf_data — the bytes. */
COW_API const void *cow_buf_data(const cow_buf *b)
{
	return cow__ref_data(COW__REF(b), 1);
}

/* cow_buf_len — bytes in the buffer. */
COW_API size_t cow_buf_len(const cow_buf *b)
{
	return b ? b->r.len : 0;
}

/* cow_buf_refs — handles sharing the bytes. */
COW_API size_t cow_buf_refs(const cow_buf *b)
{
	return cow__ref_refs(COW__REF(b));
}

/* cow_buf_get_mut — writable bytes, or NULL (EBUSY) when shared. */
COW_API void *cow_buf_get_mut(cow_buf *b)
{
	return cow__ref_get_mut(COW__REF(b), 1);
}

/* cow_buf_make_mut — writable bytes, copied first when shared. */
COW_API void *cow_buf_make_mut(cow_buf *b)
{
	return cow__ref_make_mut(COW__REF(b), BUF);
}

/* cow_buf_append — add n bytes at the end. */
COW_API int cow_buf_append(cow_buf *b, const void *p, size_t n)
{
	return cow__ref_insert(COW__REF(b), BUF, COW__END, p, n);
}

/* cow_buf_insert — add n bytes before byte pos. */
COW_API int cow_buf_insert(cow_buf *b, size_t pos, const void *p, size_t n)
{
	if (pos == COW__END)
		return -EINVAL;
	return cow__ref_insert(COW__REF(b), BUF, pos, p, n);
}

/* cow_buf_erase — remove bytes [pos, pos+n). */
COW_API int cow_buf_erase(cow_buf *b, size_t pos, size_t n)
{
	return cow__ref_erase(COW__REF(b), BUF, pos, n);
}

/* cow_buf_resize — cut, or add zero bytes up to len. */
COW_API int cow_buf_resize(cow_buf *b, size_t len)
{
	return cow__ref_resize(COW__REF(b), BUF, len, 0);
}

/* cow_buf_reserve — room for cap bytes, unshared. */
COW_API int cow_buf_reserve(cow_buf *b, size_t cap)
{
	return cow__ref_reserve(COW__REF(b), BUF, cap);
}

/* cow_buf_slice — *out shares bytes [pos, pos+n) of *b. */
COW_API int cow_buf_slice(cow_buf *out, const cow_buf *b, size_t pos, size_t n)
{
	return cow__ref_slice(COW__REF(out), COW__REF(b), 1, pos, n);
}

/* cow_buf_from_str — *out takes the string's bytes; *s is emptied. O(1). */
COW_API int cow_buf_from_str(cow_buf *out, cow_str *s)
{
	return cow__ref_convert(COW__REF(out), COW__REF(s), 1, BUF);
}

/* cow_buf_from_vec — *out takes the vector's bytes; *v is emptied. O(1). */
COW_API int cow_buf_from_vec(cow_buf *out, cow_vec *v)
{
	return cow__ref_convert(COW__REF(out), COW__REF(v), v ? v->esize : 0,
				BUF);
}
