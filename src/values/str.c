/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * str.c — cow_str: a copy-on-write string. Bytes plus a NUL, in a
 * reference-counted block (src/value.c does the work; see cow.h for the
 * contracts). Every function here is the block operation with the string's
 * shape: 1-byte units followed by a NUL.
 */
#include <cow.h>
#include <errno.h>
#include <string.h>

#include "internal.h"
#include "value_internal.h"

static const struct cow__shape STR = { 1, true };

/* cow_str_new — *out = a copy of the C string s. */
COW_API int cow_str_new(cow_str *out, const char *s)
{
	if (!s)
		return -EINVAL;
	return cow__ref_new(COW__REF(out), STR, s, strlen(s));
}

/* cow_str_newn — *out = a copy of len bytes at p, plus a NUL. */
COW_API int cow_str_newn(cow_str *out, const char *p, size_t len)
{
	return cow__ref_new(COW__REF(out), STR, p, len);
}

/* cow_str_copy — *dst shares *src: O(1). */
COW_API int cow_str_copy(cow_str *dst, const cow_str *src)
{
	return cow__ref_copy(COW__REF(dst), COW__REF(src), 1);
}

/* cow_str_release — drop the reference; *s becomes "". */
COW_API void cow_str_release(cow_str *s)
{
	cow__ref_release(COW__REF(s));
}

/* cow_str_data — the NUL-terminated bytes. */
COW_API const char *cow_str_data(const cow_str *s)
{
	return cow__ref_data(COW__REF(s), 1);
}

/* cow_str_len — bytes before the NUL that ends the string. */
COW_API size_t cow_str_len(const cow_str *s)
{
	return s ? s->r.len : 0;
}

/* cow_str_refs — handles sharing the bytes. */
COW_API size_t cow_str_refs(const cow_str *s)
{
	return cow__ref_refs(COW__REF(s));
}

/* cow_str_get_mut — writable bytes, or NULL (EBUSY) when shared. */
COW_API char *cow_str_get_mut(cow_str *s)
{
	return cow__ref_get_mut(COW__REF(s), 1);
}

/* cow_str_make_mut — writable bytes, copied first when shared. */
COW_API char *cow_str_make_mut(cow_str *s)
{
	return cow__ref_make_mut(COW__REF(s), STR);
}

/* cow_str_append — add n bytes at the end. */
COW_API int cow_str_append(cow_str *s, const char *p, size_t n)
{
	return cow__ref_insert(COW__REF(s), STR, COW__END, p, n);
}

/* cow_str_insert — add n bytes before byte pos. */
COW_API int cow_str_insert(cow_str *s, size_t pos, const char *p, size_t n)
{
	if (pos == COW__END)
		return -EINVAL;
	return cow__ref_insert(COW__REF(s), STR, pos, p, n);
}

/* cow_str_erase — remove bytes [pos, pos+n). */
COW_API int cow_str_erase(cow_str *s, size_t pos, size_t n)
{
	return cow__ref_erase(COW__REF(s), STR, pos, n);
}

/* cow_str_resize — cut or pad with fill to len bytes. */
COW_API int cow_str_resize(cow_str *s, size_t len, char fill)
{
	return cow__ref_resize(COW__REF(s), STR, len, (unsigned char)fill);
}

/* cow_str_reserve — room for cap bytes and the NUL, unshared. */
COW_API int cow_str_reserve(cow_str *s, size_t cap)
{
	return cow__ref_reserve(COW__REF(s), STR, cap);
}

/*
 * cow_str_sub — *out = bytes [pos, pos+n) of *s: shared when it is a suffix
 * (its NUL is already there), else copied.
 */
COW_API int cow_str_sub(cow_str *out, const cow_str *s, size_t pos, size_t n)
{
	cow_str t;
	int err;

	if (!out || !s || pos > s->r.len || n > s->r.len - pos)
		return -EINVAL;
	if (pos + n == s->r.len)
		return cow__ref_slice(&out->r, &s->r, 1, pos, n);
	err = cow_str_newn(&t, cow_str_data(s) + pos, n);
	if (err)
		return err;
	if (out == s)
		cow_str_release(out);
	*out = t;
	return 0;
}

/* cow_str_from_buf — *out = *b as a string (stolen when unshared); *b is
 * emptied. */
COW_API int cow_str_from_buf(cow_str *out, cow_buf *b)
{
	return cow__ref_convert(COW__REF(out), COW__REF(b), 1, STR);
}
