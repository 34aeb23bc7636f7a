/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * heap.c — a memory allocator whose every byte of state lives inside a space.
 *
 * Positions are offsets from the space's base, never pointers, so a
 * snapshot, a fork, a restored or a loaded space is a consistent heap at any
 * address. The handle (struct cow_heap, malloc'd) holds only what belongs to
 * this process: the base address, the lock and the last error.
 *
 * Layout of the space:
 *
 *   [0, 4096)            header page: identity, root, counters, bitmaps and
 *                        every free-list head (struct heap_hdr)
 *   [4096, size - 16)    blocks, one after the other
 *   [size - 16, size)    end sentinel: a used block of size 0
 *
 * A block starts with a 16-byte header: size|flags and a tag, the tag being
 * a hash of the block's offset (salted per heap) xor size|flags. A free or
 * double free checks the tag, so an offset that is not a live block start is
 * refused, never trusted. A free block also holds its free-list links and,
 * in its last 8 bytes, a footer "size | 1" (a 32-byte block has no room for
 * a footer: its last word is its prev link, whose bit 0 is always clear,
 * which is how the next block tells the two apart; the last block has none,
 * the sentinel after it never looks back).
 *
 * Free blocks are kept TLSF-style: two-level segregated lists with bitmaps
 * (first level: the power of two, second level: 16 slices of it), so
 * allocation and free are O(1); boundary tags (the PREV_FREE flag and the
 * footer) make coalescing O(1).
 *
 * Copy-on-write locality: every page written after a snapshot costs a page
 * copy, so an operation writes the header page (always the same one), the
 * block's own header and end, and at most the free-list neighbours it links
 * or unlinks. The head of a list never has its prev link written (it is not
 * read while the block is the head), and a value is only stored when it
 * changes.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <xxhash.h>

#include "internal.h"
#include "heap_internal.h"

/* ---- the layout ------------------------------------------------------ */

#define H_MAGIC      UINT64_C(0x3150414548574f43)	/* "COWHEAP1" little-endian */
#define H_VERSION    1u
#define H_ALIGN      16u
#define H_BHDR       16u	/* block header: size|flags, tag */
#define H_BMIN       32u	/* header + two free-list links */
#define H_SL_LOG2    4
#define H_SL         (1u << H_SL_LOG2)	/* second-level lists per first level */
#define H_SMALL_LOG2 8		/* below 256 B: first level 0, exact 16-byte steps */
#define H_FL         30u	/* first levels: block sizes below 2^37 */
#define H_LAYOUT     ((H_FL << 8) | H_SL_LOG2)
#define H_BMAX       COW__HEAP_BLOCK_MAX
#define H_FIRST      ((uint64_t)COW__HEAP_HEADER)	/* offset of the first block */
#define H_MIN_SIZE   (H_FIRST + H_BMIN + H_BHDR)

#define F_FREE       UINT64_C(1)	/* this block is free */
#define F_PREVFREE   UINT64_C(2)	/* the block before this one is free */
#define F_MASK       UINT64_C(15)
#define FOOT_MARK    UINT64_C(1)

#define FL_BITS      ((1u << H_FL) - 1)	/* the valid bits of fl_map */
#define SCAN_MAX     1024u	/* list elements the slow path looks at */
#define HANDLE_MAGIC UINT64_C(0x454c444e41485748)	/* open handle */

/* The header page, at offset 0 of the space. */
struct heap_hdr {
	/* identity: written once by init, covered by idsum */
	uint64_t magic;
	uint32_t version;
	uint32_t layout;	/* H_LAYOUT: the class geometry */
	uint64_t size;		/* every offset of this heap is below size */
	uint64_t end;		/* offset of the end sentinel: size - 16 */
	uint64_t salt;		/* mixed into every block tag */
	uint64_t idsum;		/* XXH64 of the fields above */
	/* state */
	uint64_t root;		/* the user's root offset, 0 if none */
	uint64_t used_blocks, used_bytes;	/* bytes include block headers */
	uint64_t free_blocks, free_bytes;
	uint32_t fl_map;	/* bit fl: sl_map[fl] != 0 */
	uint16_t sl_map[H_FL];	/* bit sl: head[fl][sl] != 0 */
	uint64_t head[H_FL][H_SL];
};

_Static_assert(sizeof(struct heap_hdr) <= COW__HEAP_HEADER,
	       "the heap header fits in its page");
_Static_assert(H_BMAX == (UINT64_C(1) << (H_FL + H_SMALL_LOG2 - 1)) - H_ALIGN,
	       "the largest block is the top of the last first level");

/* A block as seen at its offset; next/prev only while it is free. */
struct blk {
	uint64_t sf;		/* size | F_ flags */
	uint64_t tag;		/* mix(offset ^ salt) ^ sf */
	uint64_t next;
	uint64_t prev;
};

struct cow_heap {
	uint64_t magic;		/* HANDLE_MAGIC while open */
	unsigned char *base;
	uint64_t span;		/* bytes mapped at base (the space's size) */
	/* the heap's identity, cached from its header (see identity_ok()) */
	uint64_t size;		/* every offset is below size */
	uint64_t end;		/* the end sentinel */
	uint64_t salt;
	cow_space *space;	/* NULL for a bare region */
	unsigned gen;		/* fork(2) generation at open */
	pthread_mutex_t lock;	/* recursive: see cow_heap_lock() */
	int err;		/* last error detected, 0 if none */
	char msg[192];		/* its description */
	struct cow_heap *reg_next;	/* registry of space heaps */
};

/* ---- small helpers --------------------------------------------------- */

static inline struct heap_hdr *hdr(const cow_heap *h)
{
	return (struct heap_hdr *)h->base;
}

static inline struct blk *blk(const cow_heap *h, uint64_t off)
{
	return (struct blk *)(h->base + off);
}

static inline uint64_t sf_size(uint64_t sf)
{
	return sf & ~F_MASK;
}

/* splitmix64's finaliser: a cheap hash that moves every bit. */
static inline uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= UINT64_C(0xbf58476d1ce4e5b9);
	x ^= x >> 27;
	x *= UINT64_C(0x94d049bb133111eb);
	return x ^ (x >> 31);
}

static inline uint64_t tag_of(const cow_heap *h, uint64_t off, uint64_t sf)
{
	return mix64(off ^ h->salt) ^ sf;
}

/* Store a block's size|flags and its matching tag (only what changed). */
static inline void set_sf(const cow_heap *h, uint64_t off, uint64_t sf)
{
	struct blk *b = blk(h, off);

	if (b->sf != sf || b->tag != tag_of(h, off, sf)) {
		b->sf = sf;
		b->tag = tag_of(h, off, sf);
	}
}

/* 1 if off could be a block offset: aligned and inside the block area. */
static inline int off_in_blocks(const cow_heap *h, uint64_t off)
{
	return !(off & (H_ALIGN - 1)) && off >= H_FIRST && off < h->end;
}

/* 1 if a block header with a valid tag sits at off (any state). */
static inline int tag_ok(const cow_heap *h, uint64_t off)
{
	const struct blk *b = blk(h, off);

	return b->tag == tag_of(h, off, b->sf);
}

static inline void *word(const cow_heap *h, uint64_t off)
{
	return h->base + off;
}

static uint64_t *footer(const cow_heap *h, uint64_t off, uint64_t size)
{
	return word(h, off + size - sizeof(uint64_t));
}

/* Record the error found by the current operation (lock held). */
__attribute__((format(printf, 3, 4)))
static int fail(cow_heap *h, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(h->msg, sizeof h->msg, fmt, ap);
	va_end(ap);
	h->err = err;
	return err;
}

/* ---- size classes ------------------------------------------------------ */

/* The list (fl, sl) that holds free blocks of this size. */
static inline void class_of(uint64_t size, unsigned *fl, unsigned *sl)
{
	if (size < (UINT64_C(1) << H_SMALL_LOG2)) {
		*fl = 0;
		*sl = (unsigned)(size >> 4);
		return;
	}
	unsigned f = 63u - (unsigned)__builtin_clzll(size);

	*fl = f - (H_SMALL_LOG2 - 1);
	*sl = (unsigned)(size >> (f - H_SL_LOG2)) ^ H_SL;
}

/* size rounded up to the start of the next list, so that every block of the
 * list found for it is large enough (the "good fit" of TLSF). */
static inline uint64_t round_to_class(uint64_t size)
{
	if (size < (UINT64_C(1) << H_SMALL_LOG2))
		return size;
	unsigned f = 63u - (unsigned)__builtin_clzll(size);
	uint64_t step = UINT64_C(1) << (f - H_SL_LOG2);

	return (size + step - 1) & ~(step - 1);
}

/* Block size for a request of n bytes; 0 if it can never fit. */
static inline uint64_t block_size_for(size_t n)
{
	if (n > H_BMAX - H_BHDR)
		return 0;
	uint64_t need = ((uint64_t)n + H_BHDR + H_ALIGN - 1) & ~(uint64_t)(H_ALIGN - 1);

	return need < H_BMIN ? H_BMIN : need;
}

/* ---- free lists -------------------------------------------------------- */

/* Take free block off (of size size) out of its list. The head's prev link
 * is never read, so popping the head writes only the header page. */
static void list_remove(const cow_heap *h, uint64_t off, uint64_t size)
{
	struct heap_hdr *H = hdr(h);
	struct blk *b = blk(h, off);
	unsigned fl, sl;

	class_of(size, &fl, &sl);
	if (H->head[fl][sl] == off) {
		H->head[fl][sl] = b->next;
		if (!b->next) {
			H->sl_map[fl] &= (uint16_t)~(1u << sl);
			if (!H->sl_map[fl])
				H->fl_map &= ~(1u << fl);
		}
	} else if (off_in_blocks(h, b->prev)) {	/* a damaged link is left */
		blk(h, b->prev)->next = b->next;	/* for the checker to report */
		if (off_in_blocks(h, b->next))
			blk(h, b->next)->prev = b->prev;
	}
	H->free_blocks--;
	H->free_bytes -= size;
}

/* Put free block off at the head of its list (LIFO: recently freed, so
 * recently written, memory is handed out first). */
static void list_insert(const cow_heap *h, uint64_t off, uint64_t size)
{
	struct heap_hdr *H = hdr(h);
	struct blk *b = blk(h, off);
	unsigned fl, sl;

	class_of(size, &fl, &sl);
	uint64_t old = H->head[fl][sl];

	b->next = old;
	b->prev = 0;
	if (off_in_blocks(h, old))
		blk(h, old)->prev = off;
	H->head[fl][sl] = off;
	H->sl_map[fl] |= (uint16_t)(1u << sl);
	H->fl_map |= 1u << fl;
	H->free_blocks++;
	H->free_bytes += size;
}

/* Set or clear the PREV_FREE flag of the block at off (a block or the end
 * sentinel), writing only when it changes. */
static void set_prevfree(const cow_heap *h, uint64_t off, int on)
{
	uint64_t sf = blk(h, off)->sf;
	uint64_t nsf = on ? sf | F_PREVFREE : sf & ~F_PREVFREE;

	if (nsf != sf)
		set_sf(h, off, nsf);
}

/* 1 if the free block [off, off + size) needs a footer: it has room for
 * one, and a block that may be freed follows (the end sentinel never is, so
 * splitting the last block does not write the space's last page). */
static inline int has_footer(const cow_heap *h, uint64_t off, uint64_t size)
{
	return size > H_BMIN && off + size != h->end;
}

/* Make [off, off + size) one free block: header, footer, list, and the
 * PREV_FREE flag of the block after it. prevfree is the block's own flag. */
static void make_free(const cow_heap *h, uint64_t off, uint64_t size,
		      uint64_t prevfree)
{
	set_sf(h, off, size | F_FREE | prevfree);
	if (has_footer(h, off, size) && *footer(h, off, size) != (size | FOOT_MARK))
		*footer(h, off, size) = size | FOOT_MARK;
	list_insert(h, off, size);
	set_prevfree(h, off + size, 1);
}

/* Wipe the header of a block that was merged into another, so a stale
 * offset to it is refused (the tag no longer matches). */
static void scrub(const cow_heap *h, uint64_t off)
{
	struct blk *b = blk(h, off);

	b->sf = 0;
	b->tag = 0;
}

/* The free block just before off (whose PREV_FREE flag is set), or 0 if the
 * boundary tags do not describe one. */
static uint64_t prev_free_block(const cow_heap *h, uint64_t off)
{
	uint64_t w = *(const uint64_t *)word(h, off - sizeof(uint64_t));
	uint64_t psize = (w & FOOT_MARK) ? w & ~F_MASK : H_BMIN;
	uint64_t p = off - psize;

	if (psize > off - H_FIRST || !tag_ok(h, p) ||
	    blk(h, p)->sf != (psize | F_FREE | (blk(h, p)->sf & F_PREVFREE)))
		return 0;
	return p;
}

/* ---- finding a block ----------------------------------------------------- */

/* First block of the smallest non-empty list whose blocks all hold need
 * bytes; else the first block among the first SCAN_MAX of need's own list
 * that happens to (a slow path, taken only when the heap is nearly full).
 * 0 if none. */
static uint64_t find_block(const cow_heap *h, uint64_t need)
{
	const struct heap_hdr *H = hdr(h);
	uint64_t r = round_to_class(need);
	unsigned fl, sl;

	if (r <= H_BMAX) {
		class_of(r, &fl, &sl);
		uint32_t sm = H->sl_map[fl] & (~0u << sl);

		if (!sm) {
			uint32_t fm = fl + 1 < H_FL ? H->fl_map & FL_BITS & (~0u << (fl + 1)) : 0;

			if (fm) {
				fl = (unsigned)__builtin_ctz(fm);
				sm = H->sl_map[fl];
			}
		}
		if (sm)
			return H->head[fl][__builtin_ctz(sm)];
	}
	class_of(need, &fl, &sl);
	for (uint64_t b = H->head[fl][sl], steps = SCAN_MAX; b && steps--;
	     b = blk(h, b)->next) {
		if (!off_in_blocks(h, b))
			break;
		if (sf_size(blk(h, b)->sf) >= need)
			return b;
	}
	return 0;
}

/* Check that the block found in a list really is a free block of the heap
 * before it is taken (a damaged heap must not make us write anywhere). */
static int free_block_ok(const cow_heap *h, uint64_t b)
{
	uint64_t sf;

	if (!off_in_blocks(h, b) || !tag_ok(h, b))
		return 0;
	sf = blk(h, b)->sf;
	return (sf & F_FREE) && sf_size(sf) >= H_BMIN &&
	       sf_size(sf) <= h->end - b;
}

/* ---- the operations (lock held) ---------------------------------------- */

/* The size of block n if it is a free block that can merge with a block
 * of size size before it (valid, and the sum within the largest block); else
 * 0 (used, the end sentinel, too large, or damaged: then it is left alone). */
static uint64_t mergeable_next(const cow_heap *h, uint64_t n, uint64_t size)
{
	uint64_t nsize;

	if (n == h->end || !(blk(h, n)->sf & F_FREE) || !free_block_ok(h, n))
		return 0;
	nsize = sf_size(blk(h, n)->sf);
	return size + nsize <= H_BMAX ? nsize : 0;
}

/* Shrink used block off (size size) to keep bytes, freeing the rest (merged
 * with a free block after it) when the rest is a block of its own. */
static void trim(const cow_heap *h, uint64_t off, uint64_t size, uint64_t keep)
{
	uint64_t sf = blk(h, off)->sf;
	uint64_t rest = size - keep, n = off + size, nsize;

	if (rest < H_BMIN) {
		set_prevfree(h, n, 0);
		set_sf(h, off, size | (sf & F_PREVFREE));
		return;
	}
	set_sf(h, off, keep | (sf & F_PREVFREE));
	nsize = mergeable_next(h, n, rest);
	if (nsize) {
		list_remove(h, n, nsize);
		scrub(h, n);
		rest += nsize;
	}
	make_free(h, off + keep, rest, 0);
}

/* Allocate a block of need bytes; its offset (header), or 0 with errno. */
static uint64_t do_alloc(cow_heap *h, uint64_t need)
{
	struct heap_hdr *H = hdr(h);
	uint64_t b = need ? find_block(h, need) : 0;

	if (!b) {
		fail(h, -ENOMEM, "no free block of %llu bytes",
		     (unsigned long long)need);
		errno = ENOMEM;
		return 0;
	}
	if (!free_block_ok(h, b)) {
		fail(h, -EBADMSG, "free list holds offset %llu, which is not a free block",
		     (unsigned long long)b);
		errno = EBADMSG;
		return 0;
	}
	uint64_t size = sf_size(blk(h, b)->sf);

	list_remove(h, b, size);
	trim(h, b, size, need);		/* rewrites the header: used now */
	H->used_blocks++;
	H->used_bytes += sf_size(blk(h, b)->sf);
	return b;
}

/*
 * Validate a user offset (payload) of a used block: set *blkoff to the
 * block's offset and return 0, or record and return -EINVAL (not a live block
 * start, double free) or -EBADMSG (the blocks around it are damaged).
 */
static int used_block(cow_heap *h, uint64_t uoff, uint64_t *blkoff, const char *op)
{
	uint64_t off = uoff - H_BHDR, sf, n;

	if ((uoff & (H_ALIGN - 1)) || uoff < H_FIRST + H_BHDR || !off_in_blocks(h, off))
		return fail(h, -EINVAL, "%s: offset %llu is not in the heap's blocks or misaligned",
			    op, (unsigned long long)uoff);
	if (!tag_ok(h, off))
		return fail(h, -EINVAL, "%s: offset %llu is not the start of a block "
			    "(a wild offset, or a block already freed and merged)",
			    op, (unsigned long long)uoff);
	sf = blk(h, off)->sf;
	if (sf & F_FREE)
		return fail(h, -EINVAL, "%s: offset %llu is a free block (double free?)",
			    op, (unsigned long long)uoff);
	if (sf_size(sf) < H_BMIN || sf_size(sf) > h->end - off)
		return fail(h, -EBADMSG, "%s: block at %llu has a bad size %llu",
			    op, (unsigned long long)off, (unsigned long long)sf_size(sf));
	n = off + sf_size(sf);
	if (!tag_ok(h, n) || (blk(h, n)->sf & F_PREVFREE))
		return fail(h, -EBADMSG, "%s: the block after %llu (at %llu) is damaged",
			    op, (unsigned long long)off, (unsigned long long)n);
	if ((sf & F_PREVFREE) && !prev_free_block(h, off))
		return fail(h, -EBADMSG, "%s: the free block before %llu is damaged",
			    op, (unsigned long long)off);
	*blkoff = off;
	return 0;
}

/* Free used block off (validated), merging it with free neighbours. */
static void do_free(const cow_heap *h, uint64_t off)
{
	struct heap_hdr *H = hdr(h);
	uint64_t sf = blk(h, off)->sf, size = sf_size(sf), start = off;
	uint64_t prevfree = sf & F_PREVFREE, n = off + size, nsize;

	H->used_blocks--;
	H->used_bytes -= size;
	if (prevfree) {
		uint64_t p = prev_free_block(h, off);
		uint64_t psize = sf_size(blk(h, p)->sf);

		if (psize + size <= H_BMAX) {
			list_remove(h, p, psize);
			scrub(h, off);
			start = p;
			size += psize;
			prevfree = blk(h, p)->sf & F_PREVFREE;
		}
	}
	nsize = mergeable_next(h, n, size);
	if (nsize) {
		list_remove(h, n, nsize);
		scrub(h, n);
		size += nsize;
	}
	make_free(h, start, size, prevfree);
}

/* Grow used block off in place to need bytes by taking the free block after
 * it. Returns 1 when done, 0 when the next block is not free or too small. */
static int grow_in_place(const cow_heap *h, uint64_t off, uint64_t need)
{
	struct heap_hdr *H = hdr(h);
	uint64_t size = sf_size(blk(h, off)->sf), n = off + size;
	uint64_t nsize = mergeable_next(h, n, size);

	if (!nsize || size + nsize < need)
		return 0;
	list_remove(h, n, nsize);
	scrub(h, n);
	H->used_bytes -= size;
	trim(h, off, size + nsize, need);
	H->used_bytes += sf_size(blk(h, off)->sf);
	return 1;
}

/* ---- the header ---------------------------------------------------------- */

static uint64_t idsum_of(const struct heap_hdr *H)
{
	return XXH64(H, offsetof(struct heap_hdr, idsum), 0);
}

/* 0 if [base, base + size) starts with a valid heap header, else -EBADMSG. */
static int header_ok(const unsigned char *base, size_t size)
{
	const struct heap_hdr *H = (const void *)base;

	if (size < H_MIN_SIZE || H->magic != H_MAGIC || H->version != H_VERSION ||
	    H->layout != H_LAYOUT || H->idsum != idsum_of(H) || H->size > size ||
	    H->size < H_MIN_SIZE || (H->size & (H_ALIGN - 1)) ||
	    H->end != H->size - H_BHDR)
		return -EBADMSG;
	return 0;
}

static uint64_t new_salt(const void *base)
{
	uint64_t s;

	if (getrandom(&s, sizeof s, GRND_NONBLOCK) != sizeof s)
		s = mix64((uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)base);
	return s;
}

/* Cache the identity of the heap header at h->base (validated) in h. */
static void identity_load(cow_heap *h)
{
	const struct heap_hdr *H = hdr(h);

	h->size = H->size;
	h->end = H->end;
	h->salt = H->salt;
}

/*
 * 0 if the space still holds the heap whose identity h caches. A restore
 * may have put another heap there (or none): a changed identity is checked
 * in full, then cached; -EBADMSG if it is not a valid heap header. Called
 * by every operation, so the sizes and salt it then trusts are h's own.
 */
static int identity_ok(cow_heap *h)
{
	const struct heap_hdr *H = hdr(h);

	if (H->magic == H_MAGIC && H->salt == h->salt && H->end == h->end &&
	    H->size == h->size)
		return 0;
	if (header_ok(h->base, h->span))
		return fail(h, -EBADMSG, "the space holds no valid heap header "
			    "(overwritten, or restored to content without one)");
	identity_load(h);
	return 0;
}

/* Write an empty heap over the first size bytes at h->base: every block
 * free. The magic is written last, so a half-written header never
 * validates. */
static void format(cow_heap *h, uint64_t size)
{
	struct heap_hdr *H = hdr(h);
	uint64_t off, rest, bsize, prevfree = 0;

	memset(H, 0, COW__HEAP_HEADER);
	H->version = H_VERSION;
	H->layout = H_LAYOUT;
	H->size = size;
	H->end = size - H_BHDR;
	H->salt = new_salt(h->base);
	identity_load(h);
	set_sf(h, H->end, 0);
	for (off = H_FIRST; off < H->end; off += bsize) {
		rest = H->end - off;
		bsize = rest <= H_BMAX ? rest : H_BMAX;
		if (rest > H_BMAX && rest - H_BMAX < H_BMIN)
			bsize = H_BMAX - H_BMIN;
		make_free(h, off, bsize, prevfree);
		prevfree = F_PREVFREE;
	}
	H->magic = H_MAGIC;
	H->idsum = idsum_of(H);
}

/* ---- the checker ---------------------------------------------------------- */

/* Walk every block in address order: tags, sizes, flags, footers, merging,
 * and the counters. */
static int check_blocks(cow_heap *h)
{
	const struct heap_hdr *H = hdr(h);
	uint64_t off = H_FIRST, prev_free = 0, prev_size = 0;
	uint64_t ub = 0, ubytes = 0, fb = 0, fbytes = 0;

	while (off < h->end) {
		const struct blk *b = blk(h, off);
		uint64_t size = sf_size(b->sf);

		if (!tag_ok(h, off))
			return fail(h, -EBADMSG, "block at %llu: bad tag (header overwritten)",
				    (unsigned long long)off);
		if (size < H_BMIN || size > h->end - off || size > H_BMAX)
			return fail(h, -EBADMSG, "block at %llu: bad size %llu",
				    (unsigned long long)off, (unsigned long long)size);
		if (!!(b->sf & F_PREVFREE) != !!prev_free)
			return fail(h, -EBADMSG, "block at %llu: PREV_FREE flag is %d, the block before is %s",
				    (unsigned long long)off, !!(b->sf & F_PREVFREE),
				    prev_free ? "free" : "used");
		if (b->sf & F_FREE) {
			if (prev_free && prev_size + size <= H_BMAX)
				return fail(h, -EBADMSG, "block at %llu: free, after a free block, not merged",
					    (unsigned long long)off);
			if (has_footer(h, off, size) && *footer(h, off, size) != (size | FOOT_MARK))
				return fail(h, -EBADMSG, "block at %llu: footer %llu does not match size %llu",
					    (unsigned long long)off,
					    (unsigned long long)*footer(h, off, size),
					    (unsigned long long)size);
			if (size == H_BMIN && (b->prev & FOOT_MARK))
				return fail(h, -EBADMSG, "block at %llu: 32-byte free block with a marked last word",
					    (unsigned long long)off);
			fb++;
			fbytes += size;
		} else {
			ub++;
			ubytes += size;
		}
		prev_free = b->sf & F_FREE;
		prev_size = size;
		off += size;
	}
	if (off != h->end || !tag_ok(h, off) || sf_size(blk(h, off)->sf) ||
	    (blk(h, off)->sf & F_FREE) || !!(blk(h, off)->sf & F_PREVFREE) != !!prev_free)
		return fail(h, -EBADMSG, "end sentinel at %llu is damaged (blocks end at %llu)",
			    (unsigned long long)h->end, (unsigned long long)off);
	if (ub != H->used_blocks || ubytes != H->used_bytes || fb != H->free_blocks ||
	    fbytes != H->free_bytes)
		return fail(h, -EBADMSG, "counters say %llu used blocks (%llu B), %llu free (%llu B); "
			    "the blocks are %llu used (%llu B), %llu free (%llu B)",
			    (unsigned long long)H->used_blocks, (unsigned long long)H->used_bytes,
			    (unsigned long long)H->free_blocks, (unsigned long long)H->free_bytes,
			    (unsigned long long)ub, (unsigned long long)ubytes,
			    (unsigned long long)fb, (unsigned long long)fbytes);
	return 0;
}

/* Walk one free list: every element a free block of this class, prev links
 * consistent; *seen counts elements (bounded: a cycle is reported). */
static int check_list(cow_heap *h, unsigned fl, unsigned sl, uint64_t *seen)
{
	const struct heap_hdr *H = hdr(h);
	uint64_t prev = 0;

	for (uint64_t b = H->head[fl][sl]; b; prev = b, b = blk(h, b)->next) {
		unsigned f, s;

		if (++*seen > H->free_blocks)
			return fail(h, -EBADMSG, "free lists hold more than the %llu free blocks (a cycle?)",
				    (unsigned long long)H->free_blocks);
		if (!free_block_ok(h, b))
			return fail(h, -EBADMSG, "list (%u,%u) holds %llu, not a free block",
				    fl, sl, (unsigned long long)b);
		class_of(sf_size(blk(h, b)->sf), &f, &s);
		if (f != fl || s != sl)
			return fail(h, -EBADMSG, "block %llu of size %llu is in list (%u,%u), belongs in (%u,%u)",
				    (unsigned long long)b, (unsigned long long)sf_size(blk(h, b)->sf),
				    fl, sl, f, s);
		if (prev && blk(h, b)->prev != prev)
			return fail(h, -EBADMSG, "block %llu: prev link %llu, expected %llu",
				    (unsigned long long)b, (unsigned long long)blk(h, b)->prev,
				    (unsigned long long)prev);
	}
	return 0;
}

/* Bitmaps agree with the lists; every free block is on exactly one list. */
static int check_lists(cow_heap *h)
{
	const struct heap_hdr *H = hdr(h);
	uint64_t seen = 0;
	int e;

	for (unsigned fl = 0; fl < H_FL; fl++) {
		for (unsigned sl = 0; sl < H_SL; sl++) {
			if (!!(H->sl_map[fl] & (1u << sl)) != !!H->head[fl][sl])
				return fail(h, -EBADMSG, "bitmap bit (%u,%u) disagrees with its list", fl, sl);
			if ((e = check_list(h, fl, sl, &seen)))
				return e;
		}
		if (!!(H->fl_map & (1u << fl)) != !!H->sl_map[fl])
			return fail(h, -EBADMSG, "first-level bit %u disagrees with its bitmap", fl);
	}
	if (H->fl_map >> H_FL)
		return fail(h, -EBADMSG, "first-level bitmap has bits beyond level %u", H_FL - 1);
	if (seen != H->free_blocks)
		return fail(h, -EBADMSG, "free lists hold %llu blocks, the heap has %llu free",
			    (unsigned long long)seen, (unsigned long long)H->free_blocks);
	return 0;
}

static int check_all(cow_heap *h)
{
	const struct heap_hdr *H = hdr(h);
	int e;

	if (header_ok(h->base, h->span))
		return fail(h, -EBADMSG, "heap header is damaged (magic, version or checksum)");
	if ((e = identity_ok(h)))
		return e;
	if (H->root && (H->root & (H_ALIGN - 1) || H->root >= h->end))
		return fail(h, -EBADMSG, "root offset %llu is outside the heap",
			    (unsigned long long)H->root);
	if ((e = check_blocks(h)) || (e = check_lists(h)))
		return e;
	return 0;
}

/* ---- handles, locking, fork(2) -------------------------------------------- */

static pthread_once_t fork_once = PTHREAD_ONCE_INIT;
static unsigned fork_gen;	/* bumped in the child of every fork(2) */
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static cow_heap *reg_head;	/* open handles that have a space */

static void child_after_fork(void)
{
	__atomic_add_fetch(&fork_gen, 1, __ATOMIC_RELAXED);
	pthread_mutex_init(&reg_lock, NULL);
	reg_head = NULL;
}

static void fork_setup(void)
{
	pthread_atfork(NULL, NULL, child_after_fork);
}

/* A new handle on base (span bytes), not registered; NULL with errno. The
 * identity is cached by the caller (identity_load(), or format()). */
static cow_heap *handle_new(void *base, uint64_t span, cow_space *s)
{
	pthread_mutexattr_t a;
	cow_heap *h;

	pthread_once(&fork_once, fork_setup);
	h = calloc(1, sizeof *h);
	if (!h) {
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&h->lock, &a);
	pthread_mutexattr_destroy(&a);
	h->magic = HANDLE_MAGIC;
	h->base = base;
	h->span = span;
	h->space = s;
	h->gen = __atomic_load_n(&fork_gen, __ATOMIC_RELAXED);
	return h;
}

static void handle_free(cow_heap *h)
{
	h->magic = 0;
	pthread_mutex_destroy(&h->lock);
	free(h);
}

/* 0 if h is an open handle of this process, else -EINVAL or -ESTALE. */
static int handle_ok(const cow_heap *h)
{
	if (!h || h->magic != HANDLE_MAGIC)
		return -EINVAL;
	if (h->gen != __atomic_load_n(&fork_gen, __ATOMIC_RELAXED))
		return -ESTALE;
	return 0;
}

/* A handle on the heap at base (span bytes, rounded down to 16): for init,
 * checked for size only (the caller formats it); otherwise the header is
 * validated and its identity cached. NULL with errno EINVAL, EBADMSG,
 * ENOMEM. */
static cow_heap *handle_open(void *base, size_t span, cow_space *s, int init)
{
	cow_heap *h;

	span &= ~(size_t)(H_ALIGN - 1);
	if (span < H_MIN_SIZE) {
		errno = EINVAL;
		return NULL;
	}
	if (!init && header_ok(base, span)) {
		errno = EBADMSG;
		return NULL;
	}
	h = handle_new(base, span, s);
	if (h && !init)
		identity_load(h);
	return h;
}

/* Lock h for an operation: 0, or -EINVAL/-ESTALE (not locked), or -EBADMSG
 * (locked no more: the space no longer starts with a heap header). */
static int enter(cow_heap *h)
{
	int e = handle_ok(h);

	if (e)
		return e;
	pthread_mutex_lock(&h->lock);
	if ((e = identity_ok(h)))
		pthread_mutex_unlock(&h->lock);
	return e;
}

static void leave(cow_heap *h)
{
	pthread_mutex_unlock(&h->lock);
}

/* Register h as the heap of its space: 0 or -EBUSY (the space has one). */
static int registry_add(cow_heap *h)
{
	int e = 0;

	pthread_mutex_lock(&reg_lock);
	for (cow_heap *o = reg_head; o; o = o->reg_next)
		if (o->space == h->space)
			e = -EBUSY;
	if (!e) {
		h->reg_next = reg_head;
		reg_head = h;
	}
	pthread_mutex_unlock(&reg_lock);
	return e;
}

static void registry_remove(cow_heap *h)
{
	pthread_mutex_lock(&reg_lock);
	for (cow_heap **p = &reg_head; *p; p = &(*p)->reg_next)
		if (*p == h) {
			*p = h->reg_next;
			break;
		}
	pthread_mutex_unlock(&reg_lock);
}

static void freeze_before(void *arg)
{
	pthread_mutex_lock(&((cow_heap *)arg)->lock);
}

static void freeze_after(void *arg)
{
	pthread_mutex_unlock(&((cow_heap *)arg)->lock);
}

/*
 * Open a handle on space s: formats a new heap (init) or validates the one
 * there. The freeze hooks are set before the heap is written, so a snapshot
 * taken meanwhile sees either no heap or a whole one.
 */
static cow_heap *open_space(cow_space *s, int init)
{
	unsigned char *base;
	cow_heap *h;
	int e;

	if (!s) {
		errno = EINVAL;
		return NULL;
	}
	base = cow_base(s);
	if (!base)
		return NULL;	/* errno from the engine: EINVAL, ESTALE */
	h = handle_open(base, cow_size(s), s, init);
	if (!h)
		return NULL;
	if ((e = registry_add(h)))
		goto err;
	if ((e = cow_set_freeze_hooks(s, freeze_before, freeze_after, h)))
		goto err_reg;
	if (init) {
		pthread_mutex_lock(&h->lock);
		format(h, h->span);
		pthread_mutex_unlock(&h->lock);
	}
	return h;
err_reg:
	registry_remove(h);
err:
	handle_free(h);
	errno = -e;
	return NULL;
}

/* ---- the public functions: contracts in include/cow.h (THE SPACE HEAP) ---- */

cow_heap *cow__heap_open_region(void *base, size_t size, int init)
{
	cow_heap *h;

	if (!base || ((uintptr_t)base & (H_ALIGN - 1))) {
		errno = EINVAL;
		return NULL;
	}
	h = handle_open(base, size, NULL, init);
	if (h && init)
		format(h, h->span);
	return h;
}

COW_API cow_heap *cow_heap_init(cow_space *s)
{
	return open_space(s, 1);
}

COW_API cow_heap *cow_heap_attach(cow_space *s)
{
	return open_space(s, 0);
}

COW_API void cow_heap_close(cow_heap *h)
{
	int e = handle_ok(h);

	if (e == -EINVAL)
		return;
	if (!e && h->space) {
		cow_set_freeze_hooks(h->space, NULL, NULL, NULL);
		registry_remove(h);
		pthread_mutex_lock(&h->lock);	/* a freeze in progress ends */
		pthread_mutex_unlock(&h->lock);
	}
	handle_free(h);
}

COW_API cow_off cow_heap_alloc(cow_heap *h, size_t size)
{
	uint64_t need = block_size_for(size), b = 0;
	int e = enter(h);

	if (e) {
		errno = -e;
		return 0;
	}
	if (need) {
		b = do_alloc(h, need);
	} else {
		fail(h, -ENOMEM, "alloc: %zu bytes is more than one block can hold", size);
		errno = ENOMEM;
	}
	leave(h);
	return b ? b + H_BHDR : 0;
}

COW_API cow_off cow_heap_calloc(cow_heap *h, size_t n, size_t size)
{
	size_t total;
	cow_off off;

	if (__builtin_mul_overflow(n, size, &total)) {
		int e = handle_ok(h);

		errno = e ? -e : ENOMEM;
		return 0;
	}
	off = cow_heap_alloc(h, total);
	if (off)
		memset(h->base + off, 0, total);
	return off;
}

COW_API cow_off cow_heap_realloc(cow_heap *h, cow_off off, size_t size)
{
	uint64_t need = block_size_for(size), b, old, nb;
	int e;

	if (!off)
		return cow_heap_alloc(h, size);
	if ((e = enter(h))) {
		errno = -e;
		return 0;
	}
	if ((e = used_block(h, off, &b, "realloc"))) {
		errno = -e;
		b = 0;
		goto out;
	}
	if (!need) {
		fail(h, -ENOMEM, "realloc: %zu bytes is more than one block can hold", size);
		errno = ENOMEM;
		b = 0;
		goto out;
	}
	old = sf_size(blk(h, b)->sf);
	if (need <= old) {
		hdr(h)->used_bytes -= old;
		trim(h, b, old, need);
		hdr(h)->used_bytes += sf_size(blk(h, b)->sf);
		goto out;
	}
	if (grow_in_place(h, b, need))
		goto out;
	nb = do_alloc(h, need);
	if (nb) {
		memcpy(h->base + nb + H_BHDR, h->base + off, old - H_BHDR);
		do_free(h, b);
	}
	b = nb;
out:
	leave(h);
	return b ? b + H_BHDR : 0;
}

COW_API int cow_heap_free(cow_heap *h, cow_off off)
{
	uint64_t b;
	int e;

	if (!off)
		return handle_ok(h);
	if ((e = enter(h)))
		return e;
	if (!(e = used_block(h, off, &b, "free")))
		do_free(h, b);
	leave(h);
	return e;
}

COW_API size_t cow_heap_usable_size(cow_heap *h, cow_off off)
{
	uint64_t b, n = 0;
	int e;

	if ((e = enter(h))) {
		errno = -e;
		return 0;
	}
	if ((e = used_block(h, off, &b, "usable_size")))
		errno = -e;
	else
		n = sf_size(blk(h, b)->sf) - H_BHDR;
	leave(h);
	return n;
}

COW_API void *cow_heap_ptr(const cow_heap *h, cow_off off)
{
	if (!h || !off || off >= h->size) {
		if (!h || off)
			errno = EINVAL;
		return NULL;
	}
	return h->base + off;
}

COW_API cow_off cow_heap_off(const cow_heap *h, const void *p)
{
	uintptr_t a = (uintptr_t)p, b;

	if (!h || !p) {
		if (!h)
			errno = EINVAL;
		return 0;
	}
	b = (uintptr_t)h->base;
	if (a <= b || a - b >= h->size) {
		errno = EINVAL;
		return 0;
	}
	return a - b;
}

COW_API int cow_heap_set_root(cow_heap *h, cow_off off)
{
	uint64_t b;
	int e;

	if ((e = enter(h)))
		return e;
	if (!off || !(e = used_block(h, off, &b, "set_root")))
		hdr(h)->root = off;
	leave(h);
	return e;
}

COW_API cow_off cow_heap_root(cow_heap *h)
{
	cow_off r;
	int e;

	if ((e = enter(h))) {
		errno = -e;
		return 0;
	}
	r = hdr(h)->root;
	leave(h);
	return r;
}

/* Copy h's last error message into buf (len bytes, NUL-terminated). */
static void copy_msg(const cow_heap *h, char *buf, size_t len)
{
	if (buf && len)
		snprintf(buf, len, "%s", h->err ? h->msg : "ok");
}

COW_API int cow_heap_check(cow_heap *h, char *report, size_t len)
{
	int e = handle_ok(h);

	if (e) {
		if (report && len)
			snprintf(report, len, "%s", cow_strerror(e));
		return e;
	}
	pthread_mutex_lock(&h->lock);
	e = check_all(h);
	if (report && len)
		snprintf(report, len, "%s", e ? h->msg : "ok");
	pthread_mutex_unlock(&h->lock);
	return e;
}

COW_API int cow_heap_last_error(cow_heap *h, char *buf, size_t len)
{
	int e = handle_ok(h);

	if (e)
		return e;
	pthread_mutex_lock(&h->lock);
	e = h->err;
	copy_msg(h, buf, len);
	pthread_mutex_unlock(&h->lock);
	return e;
}

/* Usable bytes of the largest free block: the largest of the first
 * SCAN_MAX blocks of the highest non-empty list. 0 if none. */
static uint64_t largest_free(const cow_heap *h)
{
	const struct heap_hdr *H = hdr(h);
	uint32_t fm = H->fl_map & FL_BITS;
	uint64_t big = 0;
	unsigned fl, sl;

	if (!fm)
		return 0;
	fl = 31u - (unsigned)__builtin_clz(fm);
	if (!H->sl_map[fl])
		return 0;
	sl = 31u - (unsigned)__builtin_clz(H->sl_map[fl]);
	for (uint64_t b = H->head[fl][sl], steps = SCAN_MAX;
	     b && steps-- && off_in_blocks(h, b); b = blk(h, b)->next)
		if (sf_size(blk(h, b)->sf) > big)
			big = sf_size(blk(h, b)->sf);
	return big ? big - H_BHDR : 0;
}

COW_API int cow_heap_stats_get(cow_heap *h, struct cow_heap_stats *out)
{
	const struct heap_hdr *H;
	int e;

	if ((e = handle_ok(h)))
		return e;
	if (!out)
		return -EINVAL;
	if ((e = enter(h)))
		return e;
	H = hdr(h);
	memset(out, 0, sizeof *out);
	out->size = H->size;
	out->used_blocks = H->used_blocks;
	out->used_bytes = H->used_bytes;
	out->free_blocks = H->free_blocks;
	out->free_bytes = H->free_bytes;
	out->largest_free = largest_free(h);
	leave(h);
	return 0;
}

COW_API int cow_heap_lock(cow_heap *h)
{
	return enter(h);
}

COW_API int cow_heap_unlock(cow_heap *h)
{
	int e = handle_ok(h);

	if (e)
		return e;
	if (pthread_mutex_unlock(&h->lock))
		return -EPERM;
	return 0;
}
