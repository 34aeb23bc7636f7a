/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * value_internal.h — the reference-counted block shared by cow_str, cow_buf
 * and cow_vec (src/value.c), as the three of them and the tests see it.
 *
 * A value is a view (struct cow__ref, in cow.h: block, offset, length) into
 * a block: a header holding an atomic reference count and the capacity,
 * followed by the bytes. Offsets and lengths count units: bytes for strings
 * and buffers, elements for vectors. A shape says how big a unit is and
 * whether a NUL byte must follow the view (strings).
 */
#ifndef COW_VALUE_INTERNAL_H
#define COW_VALUE_INTERNAL_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "internal.h"

struct cow__block {
	atomic_size_t b_refs;	/* handles that reference the block */
	size_t b_cap;		/* bytes of data after the header */
};

/* The data starts this far into the block, aligned for any type. */
#define COW__BLOCK_HDR \
	((sizeof(struct cow__block) + alignof(max_align_t) - 1) & \
	 ~(alignof(max_align_t) - 1))

/* Largest block data in bytes: offsets, lengths and the header never
 * overflow ptrdiff_t. */
#define COW__VALUE_MAX ((size_t)PTRDIFF_MAX - COW__BLOCK_HDR)

/* Position meaning "the end of the value" for cow__ref_insert(). */
#define COW__END SIZE_MAX

struct cow__shape {
	size_t esize;	/* bytes per unit, > 0 */
	bool nul;	/* a NUL byte follows the units (strings) */
};

static inline unsigned char *cow__block_data(struct cow__block *b)
{
	return (unsigned char *)b + COW__BLOCK_HDR;
}

/* NULL when the handle pointer is NULL, without touching it. */
#define COW__REF(h) ((h) ? &(h)->r : NULL)

/*
 * The operations, in units of sh.esize. Every one validates its arguments
 * (NULL r, esize 0, ranges) and leaves *r unchanged when it fails.
 * Pointer-returning ones set errno.
 */
int cow__ref_new(struct cow__ref *out, struct cow__shape sh, const void *src,
		 size_t n);
int cow__ref_copy(struct cow__ref *dst, const struct cow__ref *src,
		  size_t esize);
void cow__ref_release(struct cow__ref *r);
size_t cow__ref_refs(const struct cow__ref *r);
const void *cow__ref_data(const struct cow__ref *r, size_t esize);
void *cow__ref_get_mut(struct cow__ref *r, size_t esize);
void *cow__ref_make_mut(struct cow__ref *r, struct cow__shape sh);
int cow__ref_insert(struct cow__ref *r, struct cow__shape sh, size_t pos,
		    const void *src, size_t n);
int cow__ref_erase(struct cow__ref *r, struct cow__shape sh, size_t pos,
		   size_t n);
int cow__ref_resize(struct cow__ref *r, struct cow__shape sh, size_t n,
		    unsigned char fill);
int cow__ref_reserve(struct cow__ref *r, struct cow__shape sh, size_t cap);
int cow__ref_slice(struct cow__ref *out, const struct cow__ref *r,
		   size_t esize, size_t pos, size_t n);
int cow__ref_convert(struct cow__ref *out, struct cow__ref *in, size_t in_esize,
		     struct cow__shape sh);

/*
 * Test hook (fault injection): after this call, the next n block
 * allocations succeed and every later one fails, until it is called with a
 * negative n (the default: never fail).
 */
void cow__value_alloc_fail_after(long n);

#endif
