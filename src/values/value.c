/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * value.c — the reference-counted block behind cow_str, cow_buf and cow_vec.
 *
 * A block is a header (an atomic reference count, the capacity) followed by
 * the bytes; a handle is a view into it (cow.h: struct cow__ref). Copying a
 * handle adds a reference. Every write goes through ref_edit(), which makes
 * the copy-on-write decision in one place:
 *
 *   shared (count > 1)     copy the view into a new block of our own, apply
 *                          the edit there, drop our reference to the old one;
 *   exclusive (count 1)    edit in place, growing the block with realloc()
 *                          when it has no room.
 *
 * Memory ordering. A new reference is always made from an existing one,
 * which keeps the block alive, so the increment can be relaxed. Dropping a
 * reference is acq_rel, and the uniqueness test is an acquire load: whoever
 * sees the count reach 1 (then writes in place) or 0 (then frees) sees every
 * access the other holders made before they let go.
 */
#include <cow.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "value_internal.h"

/* ---- statistics and fault injection ---------------------------------- */

static struct {
	_Atomic uint64_t allocs, frees, shares, bytes_shared, detaches,
		bytes_detached, reuses, steals;
} stats;

#define STAT_ADD(field, n) \
	atomic_fetch_add_explicit(&stats.field, (n), memory_order_relaxed)

static atomic_long alloc_fail_after = -1;

void cow__value_alloc_fail_after(long n)
{
	atomic_store(&alloc_fail_after, n < 0 ? -1 : n);
}

/* Should this allocation fail? Counts down the test hook's budget. */
static bool alloc_should_fail(void)
{
	long n = atomic_load_explicit(&alloc_fail_after, memory_order_relaxed);

	if (n < 0)
		return false;
	if (n == 0)
		return true;
	atomic_store_explicit(&alloc_fail_after, n - 1, memory_order_relaxed);
	return false;
}

/*
 * cow_value_stats_get — copy the process-wide counters into *out.
 * Returns 0 or -EINVAL.
 */
COW_API int cow_value_stats_get(struct cow_value_stats *out)
{
	if (!out)
		return -EINVAL;
	out->allocs = atomic_load(&stats.allocs);
	out->frees = atomic_load(&stats.frees);
	out->shares = atomic_load(&stats.shares);
	out->bytes_shared = atomic_load(&stats.bytes_shared);
	out->detaches = atomic_load(&stats.detaches);
	out->bytes_detached = atomic_load(&stats.bytes_detached);
	out->reuses = atomic_load(&stats.reuses);
	out->steals = atomic_load(&stats.steals);
	return 0;
}

/* cow_value_stats_reset — every counter back to 0. */
COW_API void cow_value_stats_reset(void)
{
	atomic_store(&stats.allocs, 0);
	atomic_store(&stats.frees, 0);
	atomic_store(&stats.shares, 0);
	atomic_store(&stats.bytes_shared, 0);
	atomic_store(&stats.detaches, 0);
	atomic_store(&stats.bytes_detached, 0);
	atomic_store(&stats.reuses, 0);
	atomic_store(&stats.steals, 0);
}

/* ---- blocks ---------------------------------------------------------- */

/* What an empty value's data pointer points at: "" for strings. */
static const union {
	max_align_t align;
	unsigned char bytes[1];
} empty_data;

/*
 * block_alloc — a new block with room for cap bytes (<= COW__VALUE_MAX),
 * count 1, the caller's. NULL when out of memory.
 */
static struct cow__block *block_alloc(size_t cap)
{
	struct cow__block *b;

	if (alloc_should_fail())
		return NULL;
	b = malloc(COW__BLOCK_HDR + cap);
	if (!b)
		return NULL;
	atomic_init(&b->b_refs, 1);
	b->b_cap = cap;
	STAT_ADD(allocs, 1);
	return b;
}

/*
 * block_resize — give the exclusive block *bp room for cap bytes, keeping
 * its content (it may move). Returns 0, or -ENOMEM with *bp untouched.
 */
static int block_resize(struct cow__block **bp, size_t cap)
{
	struct cow__block *b;

	if (alloc_should_fail())
		return -ENOMEM;
	b = realloc(*bp, COW__BLOCK_HDR + cap);
	if (!b)
		return -ENOMEM;
	b->b_cap = cap;
	*bp = b;
	return 0;
}

/* block_unique — true when the caller's reference is the only one. */
static bool block_unique(struct cow__block *b)
{
	return atomic_load_explicit(&b->b_refs, memory_order_acquire) == 1;
}

/*
 * block_put — drop one reference; the last one frees the block. A count of
 * 1 is ours alone (no one else can add a reference), so it needs no RMW.
 */
static void block_put(struct cow__block *b)
{
	if (block_unique(b) ||
	    atomic_fetch_sub_explicit(&b->b_refs, 1, memory_order_acq_rel) == 1) {
		free(b);
		STAT_ADD(frees, 1);
	}
}

/* ---- helpers on views ------------------------------------------------ */

/* Most units a value of this shape may hold. */
static size_t unit_max(struct cow__shape sh)
{
	return (COW__VALUE_MAX - sh.nul) / sh.esize;
}

static bool ref_unique(const struct cow__ref *r)
{
	return r->blk && block_unique(r->blk);
}

/* Does [p, p+n) touch r's block? (Then an in-place edit could move it.) */
static bool ref_overlaps(const struct cow__ref *r, const void *p, size_t n)
{
	uintptr_t b = (uintptr_t)r->blk, a = (uintptr_t)p;

	return r->blk && p && n && a < b + COW__BLOCK_HDR + r->blk->b_cap &&
	       a + n > b;
}

/* Capacity to allocate for need bytes when a value of cur bytes grows:
 * 1.5x, so appends are amortized O(1). */
static size_t grow(size_t cur, size_t need)
{
	size_t cap = cur + cur / 2;

	if (cap < 32)
		cap = 32;
	if (cap < need)
		cap = need;
	return cap > COW__VALUE_MAX ? COW__VALUE_MAX : cap;
}

static void copy_bytes(unsigned char *to, const unsigned char *from, size_t n)
{
	if (n)
		memcpy(to, from, n);
}

/* ---- the edit: every write to a value goes through here -------------- */

/* Replace units [pos, pos+del) by ins units from src, or by ins units of
 * fill bytes when src is NULL. */
struct edit {
	size_t pos, del, ins;
	const void *src;
	unsigned char fill;
};

static void put_inserted(unsigned char *to, const struct edit *e, size_t es)
{
	if (e->src)
		copy_bytes(to, e->src, e->ins * es);
	else if (e->ins)
		memset(to, e->fill, e->ins * es);
}

/* edit_in_place — apply e inside r's exclusive block, which has room. */
static void edit_in_place(struct cow__ref *r, struct cow__shape sh,
			  const struct edit *e)
{
	size_t es = sh.esize, tail = r->len - e->pos - e->del;
	unsigned char *d = cow__block_data(r->blk) + r->off * es;

	if (tail && e->ins != e->del)
		memmove(d + (e->pos + e->ins) * es, d + (e->pos + e->del) * es,
			tail * es);
	put_inserted(d + e->pos * es, e, es);
	r->len = r->len - e->del + e->ins;
	if (sh.nul)
		d[r->len * es] = 0;
}

/*
 * edit_copy — apply e into a new block of cap bytes: head, inserted units,
 * tail; then drop r's reference to its old block. The detach is counted
 * when the old block was shared. Returns 0 or -ENOMEM (r unchanged).
 */
static int edit_copy(struct cow__ref *r, struct cow__shape sh,
		     const struct edit *e, size_t cap, bool shared)
{
	size_t es = sh.esize, tail = r->len - e->pos - e->del;
	struct cow__block *nb = block_alloc(cap), *old = r->blk;
	unsigned char *to;

	if (!nb)
		return -ENOMEM;
	to = cow__block_data(nb);
	if (old) {
		const unsigned char *from = cow__block_data(old) + r->off * es;

		copy_bytes(to, from, e->pos * es);
		copy_bytes(to + (e->pos + e->ins) * es,
			   from + (e->pos + e->del) * es, tail * es);
	}
	put_inserted(to + e->pos * es, e, es);
	if (shared) {
		STAT_ADD(detaches, 1);
		STAT_ADD(bytes_detached, (r->len - e->del) * es);
	}
	*r = (struct cow__ref){ nb, 0, r->len - e->del + e->ins };
	if (sh.nul)
		to[r->len * es] = 0;
	if (old)
		block_put(old);
	return 0;
}

/*
 * ref_edit — apply e to *r, copy-on-write, leaving room for at least `room`
 * units (0: no reservation). Validates the range and the resulting length.
 * Returns 0, -EINVAL, -EOVERFLOW, -ENOMEM; on error *r is unchanged.
 */
static int ref_edit(struct cow__ref *r, struct cow__shape sh,
		    const struct edit *e, size_t room)
{
	size_t keep, len, need, at;

	if (!r || !sh.esize || e->pos > r->len || e->del > r->len - e->pos)
		return -EINVAL;
	keep = r->len - e->del;
	if (e->ins > unit_max(sh) - keep || room > unit_max(sh))
		return -EOVERFLOW;
	len = keep + e->ins;
	need = (len > room ? len : room) * sh.esize + sh.nul;
	if (!r->blk && len == 0 && room == 0)
		return 0;	/* still the empty value: no block needed */

	if (!ref_unique(r))	/* shared (or no block yet): copy */
		return edit_copy(r, sh, e, r->blk && len > r->len && !room ?
				 grow(r->len * sh.esize, need) : need,
				 r->blk != NULL);
	if (!ref_overlaps(r, e->src, e->ins * sh.esize)) {
		/* exclusive: reuse the block, grown by realloc() if need be */
		at = r->off * sh.esize;
		if (at + need > r->blk->b_cap && at == 0) {
			int err = block_resize(&r->blk, room ? need :
					       grow(r->blk->b_cap, need));
			if (err)
				return err;
		}
		if (at + need <= r->blk->b_cap) {
			edit_in_place(r, sh, e);
			STAT_ADD(reuses, 1);
			return 0;
		}
	}
	/* exclusive, but the source lies in the block or the view starts
	 * past a cut prefix: rebuild compactly (not a detach) */
	return edit_copy(r, sh, e, room || len <= r->len ? need :
			 grow(r->len * sh.esize, need), false);
}

/* ---- operations -------------------------------------------------------- */

/* cow__ref_new — *out = a new value holding n units copied from src.
 * *out is written only on success. */
int cow__ref_new(struct cow__ref *out, struct cow__shape sh, const void *src,
		 size_t n)
{
	struct cow__ref t = { 0 };
	int err;

	if (!out || (n && !src))
		return -EINVAL;
	err = ref_edit(&t, sh, &(struct edit){ .ins = n, .src = src }, 0);
	if (!err)
		*out = t;
	return err;
}

/* ref_assign — *out = t, where t holds its own reference; when out is the
 * source handle itself, the source's reference is dropped first. */
static void ref_assign(struct cow__ref *out, const struct cow__ref *src,
		       struct cow__ref t)
{
	if (out == src)
		cow__ref_release(out);
	*out = t;
}

/* ref_share — a new reference to the block of view v (which holds one,
 * keeping the block alive: relaxed is enough); counts v's bytes shared. */
static struct cow__ref ref_share(struct cow__ref v, size_t esize)
{
	if (v.blk) {
		atomic_fetch_add_explicit(&v.blk->b_refs, 1,
					  memory_order_relaxed);
		STAT_ADD(shares, 1);
		STAT_ADD(bytes_shared, v.len * esize);
	}
	return v;
}

/* cow__ref_copy — *dst shares *src (count + 1). O(1), cannot run out of
 * memory. Returns 0 or -EINVAL. */
int cow__ref_copy(struct cow__ref *dst, const struct cow__ref *src,
		  size_t esize)
{
	if (!dst || !src || !esize)
		return -EINVAL;
	if (dst != src)
		*dst = ref_share(*src, esize);
	return 0;
}

/* cow__ref_release — drop r's reference (the last frees the block); *r
 * becomes the empty value. NULL is ignored. */
void cow__ref_release(struct cow__ref *r)
{
	if (!r)
		return;
	if (r->blk)
		block_put(r->blk);
	*r = (struct cow__ref){ 0 };
}

/* cow__ref_refs — handles sharing r's block (0: empty or NULL). */
size_t cow__ref_refs(const struct cow__ref *r)
{
	if (!r || !r->blk)
		return 0;
	return atomic_load_explicit(&r->blk->b_refs, memory_order_acquire);
}

/* cow__ref_data — the first unit of the view (a static zero byte for the
 * empty value). NULL with errno EINVAL for a NULL r. */
const void *cow__ref_data(const struct cow__ref *r, size_t esize)
{
	if (!r) {
		errno = EINVAL;
		return NULL;
	}
	if (!r->blk)
		return empty_data.bytes;
	return cow__block_data(r->blk) + r->off * esize;
}

/* cow__ref_get_mut — the units, writable, if r's block is not shared;
 * else NULL with errno EBUSY (or EINVAL for NULL r / esize 0). */
void *cow__ref_get_mut(struct cow__ref *r, size_t esize)
{
	if (!r || !esize) {
		errno = EINVAL;
		return NULL;
	}
	if (r->blk && !block_unique(r->blk)) {
		errno = EBUSY;
		return NULL;
	}
	if (r->blk)
		STAT_ADD(reuses, 1);
	/* The empty value's pointer is read-only: it has no unit to write. */
	return (void *)cow__ref_data(r, esize);
}

/* cow__ref_make_mut — the units, writable, after copying them into a block
 * of r's own if they were shared. NULL with errno EINVAL or ENOMEM. */
void *cow__ref_make_mut(struct cow__ref *r, struct cow__shape sh)
{
	int err;

	if (!r || !sh.esize) {
		errno = EINVAL;
		return NULL;
	}
	err = ref_edit(r, sh, &(struct edit){ .pos = 0 }, 0);
	if (err) {
		errno = -err;
		return NULL;
	}
	return (void *)cow__ref_data(r, sh.esize);
}

/* cow__ref_insert — insert n units from src before unit pos (COW__END: at
 * the end). Returns 0, -EINVAL, -EOVERFLOW, -ENOMEM. */
int cow__ref_insert(struct cow__ref *r, struct cow__shape sh, size_t pos,
		    const void *src, size_t n)
{
	if (!r || (n && !src))
		return -EINVAL;
	if (pos == COW__END)
		pos = r->len;
	return ref_edit(r, sh, &(struct edit){ .pos = pos, .ins = n, .src = src },
			0);
}

/*
 * cow__ref_erase — remove units [pos, pos+n). A prefix, or a suffix of a
 * value with no NUL to write, is cut by narrowing the view: no copy even
 * when shared. Returns 0, -EINVAL, -ENOMEM.
 */
int cow__ref_erase(struct cow__ref *r, struct cow__shape sh, size_t pos,
		   size_t n)
{
	if (!r || !sh.esize || pos > r->len || n > r->len - pos)
		return -EINVAL;
	if (n && pos == 0) {
		r->off += n;
		r->len -= n;
		return 0;
	}
	if (n && pos + n == r->len && !sh.nul) {
		r->len -= n;
		return 0;
	}
	if (n == 0)
		return 0;
	return ref_edit(r, sh, &(struct edit){ .pos = pos, .del = n }, 0);
}

/* cow__ref_resize — set the length to n units: cut the end, or append
 * units of fill bytes. Returns 0, -EINVAL, -EOVERFLOW, -ENOMEM. */
int cow__ref_resize(struct cow__ref *r, struct cow__shape sh, size_t n,
		    unsigned char fill)
{
	if (!r)
		return -EINVAL;
	if (n <= r->len)
		return cow__ref_erase(r, sh, n, r->len - n);
	return ref_edit(r, sh, &(struct edit){ .pos = r->len,
			.ins = n - r->len, .fill = fill }, 0);
}

/* cow__ref_reserve — room for cap units in a block of r's own (copies when
 * shared or too small). Returns 0, -EINVAL, -EOVERFLOW, -ENOMEM. */
int cow__ref_reserve(struct cow__ref *r, struct cow__shape sh, size_t cap)
{
	if (!r)
		return -EINVAL;
	return ref_edit(r, sh, &(struct edit){ .pos = r->len }, cap);
}

/* cow__ref_slice — *out = units [pos, pos+n) of *r, sharing the block (an
 * empty slice holds nothing). Returns 0 or -EINVAL. */
int cow__ref_slice(struct cow__ref *out, const struct cow__ref *r,
		   size_t esize, size_t pos, size_t n)
{
	struct cow__ref t = { 0 };

	if (!out || !r || !esize || pos > r->len || n > r->len - pos)
		return -EINVAL;
	if (n)
		t = ref_share((struct cow__ref){ r->blk, r->off + pos, n }, esize);
	ref_assign(out, r, t);
	return 0;
}

/*
 * can_steal — may the byte view t (offset and length in bytes) become a
 * value of shape sh without a copy? Its start must be a multiple of the
 * new unit size (alignment), and a string needs to write its NUL: only in
 * an exclusive block, with room or growable in place.
 */
static bool can_steal(const struct cow__ref *t, struct cow__shape sh)
{
	if (t->off % sh.esize)
		return false;
	if (!sh.nul)
		return true;
	return ref_unique(t) && (t->off == 0 || t->off + t->len < t->blk->b_cap);
}

/*
 * cow__ref_convert — move *in (units of in_esize bytes) into *out as a
 * value of shape sh. Steals the block when possible (see can_steal), else
 * copies and releases *in. On success *in is the empty value. Returns 0,
 * -EINVAL (NULL, or the byte length is not a multiple of sh.esize),
 * -EOVERFLOW, -ENOMEM (*in unchanged).
 */
int cow__ref_convert(struct cow__ref *out, struct cow__ref *in, size_t in_esize,
		     struct cow__shape sh)
{
	struct cow__ref t, res = { 0 };
	int err = 0;

	if (!out || !in || !in_esize || !sh.esize)
		return -EINVAL;
	/* t: the same view, counted in bytes */
	t = (struct cow__ref){ in->blk, in->off * in_esize, in->len * in_esize };
	if (t.len % sh.esize)
		return -EINVAL;
	if (t.blk && can_steal(&t, sh)) {
		if (sh.nul)	/* strings: write the NUL, in place or realloc() */
			err = ref_edit(&t, sh, &(struct edit){ .pos = t.len }, 0);
		if (err)
			return err;
		STAT_ADD(steals, 1);
		res = (struct cow__ref){ t.blk, t.off / sh.esize,
					 t.len / sh.esize };
	} else if (t.blk) {
		err = cow__ref_new(&res, sh, cow__block_data(t.blk) + t.off,
				   t.len / sh.esize);
		if (err)
			return err;
		cow__ref_release(in);
	}
	*in = (struct cow__ref){ 0 };
	*out = res;
	return 0;
}
