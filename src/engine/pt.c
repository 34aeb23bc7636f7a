/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pt.c — page tables: radix trees of nodes that members share, copied one
 * node at a time when a member changes what it shares.
 *
 * A page table maps page index -> frame. It is a tree of 4 KiB nodes of
 * 1,024 entries: a leaf holds frames (4 MiB of a space), an inner node holds
 * nodes; a space of up to 4 GiB has one inner level, up to 4 TiB two. Each
 * node has a reference count: the page tables (roots) and inner nodes that
 * point at it. Taking a snapshot or forking shares the root (one count + 1);
 * a member about to change an entry first makes the path to it its own
 * (cow__pt_own), copying each shared node on the way — the copy takes a
 * reference to everything the node points at. So the cost of a snapshot is
 * one node reference, and the cost of writing after it is one copied node
 * per level per 4 MiB written, whatever the size of the space. This is what
 * the store does on disk (src/store: never overwrite a node something still
 * references), done in memory.
 *
 * Frame reference counts count LEAVES: a frame held by one leaf that three
 * members share has a count of 1. So a page of a member is shared when its
 * frame's count is above 1 or a node on its path is shared
 * (cow__pt_shared); once the member owns the path, the frame count alone
 * tells, as the seed's decision needs it (page.c).
 *
 * A leaf whose 1,024 frames are consecutive (a space that writes in place
 * stays in its home range, so nearly all of its leaves are) is remembered
 * as one run (node_run), so that finding the runs to map — every fork and
 * space made from a snapshot does — costs a look per leaf, not per page.
 * The mark is the node's: it is cleared when an entry of the leaf changes,
 * and a copy of the leaf inherits it.
 *
 * A leaf's entry k holds its frame less the leaf's base and k (uint32
 * arithmetic: exact both ways), so a leaf whose entries are all 0 is the
 * run base, base+1, ... (RUN_ZERO): filling a leaf with a run — what
 * creating a space or loading a checkpoint does for every leaf — sets the
 * base and never writes the entries, whose memory stays the kernel's zero
 * page until a page of the leaf changes. A 64 GiB space's table is then
 * 16,384 counts and bases, not 64 MiB of entries.
 *
 * Nodes live in one reserved range of address space (MAP_NORESERVE: memory
 * is used as nodes are), numbered from 1; number 0 is "no node", an empty
 * subtree whose pages hold no frame. Free nodes are kept on a list,
 * linked through their bases (not their entries: a freed RUN_ZERO leaf's
 * stay untouched). Nothing here calls malloc (the fault handler copies
 * nodes); everything runs with the engine lock held.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "internal.h"

uint32_t *cow__pt_pool;		/* node n: COW__PT_FAN entries at n * COW__PT_FAN */
uint32_t *cow__pt_base;		/* per leaf: entry k holds frame - base - k */
static uint32_t *node_ref;	/* reference count per node */
static uint8_t *node_run;	/* per leaf: RUN_UNKNOWN, RUN_YES or RUN_NO */
static uint32_t pool_nodes;	/* nodes the reserved range can hold */
static uint32_t pool_next = 1;	/* nodes handed out so far (0 is "none") */
static uint32_t free_head;	/* free nodes, linked through entry 0 */
static uint32_t live_nodes;

#define POOL_NODES_MAX (1u << 22)	/* 16 GiB of nodes: 16 TiB of pages */

/* Is a leaf one run of frames? RUN_ZERO: yes, and every entry is 0 (the
 * frames are base, base+1, ...; the entries need not be read). */
enum { RUN_UNKNOWN, RUN_YES, RUN_NO, RUN_ZERO };

static inline uint32_t *entries(cow__node n)
{
	return cow__pt_pool + (size_t)n * COW__PT_FAN;
}

/* The frame entry k of leaf n holds, and storing one there. */
static inline cow__frame leaf_frame(cow__node n, unsigned k)
{
	return entries(n)[k] + cow__pt_base[n] + k;
}

static inline void leaf_store(cow__node n, unsigned k, cow__frame f)
{
	entries(n)[k] = f - cow__pt_base[n] - k;
}

/* The first frame of leaf n, without reading a RUN_ZERO leaf's entries. */
static inline cow__frame leaf_first(cow__node n)
{
	return node_run[n] == RUN_ZERO ? cow__pt_base[n] : leaf_frame(n, 0);
}

/* Reserve the node range: as large as the kernel allows, up to the max. */
static int pool_init(void)
{
	for (uint32_t n = POOL_NODES_MAX; n >= 1024; n /= 2) {
		size_t bytes = (size_t)n * COW__PT_FAN * sizeof(uint32_t);
		void *p = cow__engine_mem(bytes), *r, *u, *b;

		if (!p)
			continue;
		r = cow__engine_mem((size_t)n * sizeof(uint32_t));
		u = cow__engine_mem(n);
		b = cow__engine_mem((size_t)n * sizeof(uint32_t));
		if (!r || !u || !b) {
			munmap(p, bytes);
			if (r)
				munmap(r, (size_t)n * sizeof(uint32_t));
			if (u)
				munmap(u, n);
			if (b)
				munmap(b, (size_t)n * sizeof(uint32_t));
			continue;
		}
		cow__pt_pool = p;
		cow__pt_base = b;
		node_ref = r;
		node_run = u;
		pool_nodes = n;
		return 0;
	}
	return -ENOMEM;
}

/* In a fork() child: the node range was not inherited. */
static void pt_reset(void)
{
	cow__pt_pool = NULL;
	cow__pt_base = NULL;
	node_ref = NULL;
	node_run = NULL;
	pool_nodes = 0;
	pool_next = 1;
	free_head = 0;
	live_nodes = 0;
}
COW__AT_FORK_CHILD(pt_reset)

/* A new node with a count of 1 and a base of 0, its entries uninitialised
 * unless *zero is set (a node never handed out: the kernel's zeroes).
 * 0 when none. */
static cow__node node_alloc_zero(bool *zero)
{
	cow__node n;

	*zero = !free_head;
	if (free_head) {
		n = free_head;
		free_head = cow__pt_base[n];
	} else {
		if (pool_next >= pool_nodes)
			return 0;
		n = pool_next++;
	}
	node_ref[n] = 1;
	node_run[n] = RUN_UNKNOWN;
	cow__pt_base[n] = 0;
	live_nodes++;
	return n;
}

static cow__node node_alloc(void)
{
	bool zero;

	return node_alloc_zero(&zero);
}

/* A new leaf holding the run first, first+1, ... (RUN_ZERO): its entries
 * are written only when they are not the kernel's zeroes already. */
static cow__node leaf_alloc_run(cow__frame first)
{
	bool zero;
	cow__node n = node_alloc_zero(&zero);

	if (!n)
		return 0;
	if (!zero)
		memset(entries(n), 0, COW__PT_FAN * sizeof(uint32_t));
	cow__pt_base[n] = first;
	node_run[n] = RUN_ZERO;
	return n;
}

/* Leaf n (its own) now holds the run first, first+1, ...: rebased, its
 * entries zeroed. Counts are the caller's. */
static void leaf_rebase_run(cow__node n, cow__frame first)
{
	memset(entries(n), 0, COW__PT_FAN * sizeof(uint32_t));
	cow__pt_base[n] = first;
	node_run[n] = RUN_ZERO;
}

static void node_free(cow__node n)
{
	cow__pt_base[n] = free_head;	/* not an entry: a lazy leaf's stay untouched */
	free_head = n;
	node_ref[n] = 0;
	live_nodes--;
}

static bool leaf_is_run(cow__node n);

/* Take (get) or let go of (put) the frames of entries [k0, k0+n) of leaf
 * node: one run at a time; a whole leaf that is one run in one call,
 * without reading a RUN_ZERO leaf's entries. */
static void leaf_counts(cow__node node, size_t k0, size_t n, bool get)
{
	void (*run)(cow__frame, size_t) = get ? cow__frames_get_run : cow__frames_put_run;

	if (n == COW__PT_FAN && leaf_is_run(node)) {
		run(leaf_first(node), n);
		return;
	}
	for (size_t k = k0, end = k0 + n; k < end;) {
		cow__frame f = leaf_frame(node, (unsigned)k);
		size_t j = k + 1;

		if (f == COW__NO_FRAME) {
			k++;
			continue;
		}
		while (j < end && leaf_frame(node, (unsigned)j) == f + (j - k))
			j++;
		run(f, j - k);
		k = j;
	}
}

/* Leaf n (its own) holds no frame at entries [k0, k0+n); counts are the caller's. */
static void leaf_store_none(cow__node node, size_t k0, size_t n)
{
	for (size_t k = k0; k < k0 + n; k++)
		leaf_store(node, (unsigned)k, COW__NO_FRAME);
	node_run[node] = RUN_UNKNOWN;
}

/* Drop one reference to node n at level (0: a leaf), freeing what it alone held. */
static void node_put(cow__node n, unsigned level)
{
	uint32_t *e;

	if (!n || --node_ref[n])
		return;
	e = entries(n);
	if (!level)
		leaf_counts(n, 0, COW__PT_FAN, false);
	else
		for (unsigned k = 0; k < COW__PT_FAN; k++)
			node_put(e[k], level - 1);
	node_free(n);
}

/*
 * cow__pt_init — t becomes an empty page table of npages pages (every page
 * holds no frame). 0, or -ENOMEM when no node range can be reserved.
 */
int cow__pt_init(struct cow__pt *t, size_t npages)
{
	unsigned depth = 0;

	if (!cow__pt_pool && pool_init())
		return -ENOMEM;
	while (((size_t)COW__PT_FAN << (COW__PT_BITS * depth)) < npages)
		depth++;
	t->root = 0;
	t->depth = depth;
	return 0;
}

/*
 * A node of its own for the parent entry *slot at level: an empty subtree
 * gets a fresh node, a shared node is copied (the copy references all its
 * children), an exclusive one is kept. 0 or -ENOMEM.
 */
static int own_node(uint32_t *slot, unsigned level)
{
	cow__node old = *slot, n;
	uint32_t *e;

	if (old && node_ref[old] == 1)
		return 0;
	if (!(n = node_alloc()))
		return -ENOMEM;
	e = entries(n);
	if (!old && level) {
		memset(e, 0, COW__PT_FAN * sizeof *e);
	} else if (!old) {
		leaf_store_none(n, 0, COW__PT_FAN);
	} else if (level) {
		memcpy(e, entries(old), COW__PT_FAN * sizeof *e);
		for (unsigned k = 0; k < COW__PT_FAN; k++)
			if (e[k])
				node_ref[e[k]]++;
		node_ref[old]--;	/* was above 1: still referenced */
	} else {
		if (node_run[old] == RUN_ZERO)
			memset(e, 0, COW__PT_FAN * sizeof *e);	/* not read: zeroes */
		else
			memcpy(e, entries(old), COW__PT_FAN * sizeof *e);
		cow__pt_base[n] = cow__pt_base[old];
		node_run[n] = node_run[old];
		leaf_counts(n, 0, COW__PT_FAN, true);
		node_ref[old]--;	/* was above 1: still referenced */
	}
	*slot = n;
	return 0;
}

/*
 * cow__pt_own — make every node on the path to page i of t t's alone
 * (copying the shared ones), so that cow__pt_set changes t and nothing
 * else. Costs nothing when the path is already t's. 0 or -ENOMEM (no node
 * left; t unchanged past the nodes already copied, which is harmless).
 */
static cow__node leaf_node(const struct cow__pt *t, size_t i);

/* Make the inner nodes on the path to page i of t t's alone; *leaf gets
 * the slot of t's own inner node (or root) that holds page i's leaf.
 * 0 or -ENOMEM. */
static int own_path(struct cow__pt *t, size_t i, uint32_t **leaf)
{
	uint32_t *slot = &t->root;
	int err;

	for (unsigned l = t->depth; l; l--) {
		if ((err = own_node(slot, l)))
			return err;
		slot = &entries(*slot)[(i >> (COW__PT_BITS * l)) & (COW__PT_FAN - 1)];
	}
	*leaf = slot;
	return 0;
}

int cow__pt_own(struct cow__pt *t, size_t i)
{
	uint32_t *slot;
	int err = own_path(t, i, &slot);

	return err ? err : own_node(slot, 0);
}

/*
 * cow__pt_room — can a cow__pt_fill of t be made now without running out
 * of nodes (it takes at most one per level)? 0 or -ENOMEM.
 */
int cow__pt_room(const struct cow__pt *t)
{
	unsigned want = t->depth + 1, have = 0;

	for (uint32_t n = free_head; n && have < want; n = cow__pt_base[n])
		have++;
	if (have < want && pool_nodes - pool_next < want - have)
		return -ENOMEM;
	return 0;
}

/*
 * cow__pt_fill — pages [i, i+n) of t, within one leaf, now hold frames
 * first, first+1, ... and t references them (one count each); the frames
 * they held lose t's reference (freed at 0: batch the call). Only t
 * changes: the path to the leaf is made t's, and a shared leaf that is
 * replaced whole is not copied (it just loses t). This is cow__pt_own,
 * cow__pt_set and the counts of n pages, at the cost of one node. 0, or
 * -ENOMEM (no node: t's pages unchanged, some inner nodes of the path
 * maybe copied, which is harmless).
 */
int cow__pt_fill(struct cow__pt *t, size_t i, size_t n, cow__frame first)
{
	uint32_t *slot;
	cow__node old, leaf;
	int err;

	if ((err = own_path(t, i, &slot)))
		return err;
	old = *slot;
	if (n == COW__PT_FAN && (!old || node_ref[old] > 1)) {
		if (!(leaf = leaf_alloc_run(first)))
			return -ENOMEM;
		if (old)
			node_ref[old]--;	/* was above 1: its other holders keep it */
		*slot = leaf;
		cow__frames_get_run(first, n);
		return 0;
	}
	if ((err = own_node(slot, 0)))
		return err;
	cow__frames_get_run(first, n);	/* before the old go: they may overlap */
	leaf_counts(*slot, i & (COW__PT_FAN - 1), n, false);
	if (n == COW__PT_FAN) {
		leaf_rebase_run(*slot, first);
		return 0;
	}
	for (size_t k = 0; k < n; k++)
		leaf_store(*slot, (unsigned)((i & (COW__PT_FAN - 1)) + k), first + (cow__frame)k);
	node_run[*slot] = RUN_UNKNOWN;
	return 0;
}

/*
 * cow__pt_clear — pages [i, i+n) of t, within one leaf, hold no frame any
 * more; the frames they held lose t's reference (freed at 0: batch the
 * call). A leaf cleared whole is let go (a shared one just loses t: no
 * copy, no count changes). 0, or -ENOMEM (no node to copy a shared path
 * or leaf into: t's pages unchanged).
 */
int cow__pt_clear(struct cow__pt *t, size_t i, size_t n)
{
	uint32_t *slot;
	int err;

	if (!leaf_node(t, i))
		return 0;	/* an empty subtree: nothing to clear */
	if ((err = own_path(t, i, &slot)))
		return err;
	if (n == COW__PT_FAN) {
		node_put(*slot, 0);
		*slot = 0;
		return 0;
	}
	if ((err = own_node(slot, 0)))
		return err;
	leaf_counts(*slot, i & (COW__PT_FAN - 1), n, false);
	leaf_store_none(*slot, i & (COW__PT_FAN - 1), n);
	return 0;
}

/*
 * cow__pt_set — page i of t now holds frame f (reference counts are the
 * caller's to move). The entry is changed in the leaf t reaches: every
 * member sharing that leaf sees the change. Call cow__pt_own first unless
 * that is what is wanted (page.c's preserve). The leaf must exist (page i
 * holds a frame, or the path is owned).
 */

void cow__pt_set(struct cow__pt *t, size_t i, cow__frame f)
{
	cow__node n = leaf_node(t, i);

	leaf_store(n, i & (COW__PT_FAN - 1), f);
	node_run[n] = RUN_UNKNOWN;
}

/* The leaf for page i of t, or 0 (an empty subtree). */
static cow__node leaf_node(const struct cow__pt *t, size_t i)
{
	cow__node n = t->root;

	for (unsigned l = t->depth; l && n; l--)
		n = entries(n)[(i >> (COW__PT_BITS * l)) & (COW__PT_FAN - 1)];
	return n;
}

/* Are leaf n's frames f, f+1, ..., f+1023 (its entries all equal)? */
static bool entries_are_run(cow__node n)
{
	const uint32_t *e = entries(n);
	unsigned k = 1;

	if (leaf_frame(n, 0) == COW__NO_FRAME)	/* frame numbers stay below 2^30: no wrap */
		return false;
	while (k < COW__PT_FAN && e[k] == e[0])
		k++;
	return k == COW__PT_FAN;
}

/* Is leaf n marked as one run already (no look at its entries)? */
static inline bool leaf_known_run(cow__node n)
{
	return node_run[n] == RUN_YES || node_run[n] == RUN_ZERO;
}

/* Is leaf n one run of frames? Looked at once per change of the leaf. */
static bool leaf_is_run(cow__node n)
{
	if (node_run[n] == RUN_UNKNOWN)
		node_run[n] = entries_are_run(n) ? RUN_YES : RUN_NO;
	return leaf_known_run(n);
}

/*
 * cow__pt_run — where the run of consecutive frames that starts at page i
 * of t ends: the first j in (i, end] such that page j's frame is not page
 * j-1's plus one (end if none). Scans the leaves directly, a node walk per
 * 1,024 pages; a leaf known to be one run that continues the run is passed
 * over whole.
 */
size_t cow__pt_run(const struct cow__pt *t, size_t i, size_t end)
{
	cow__node n = leaf_node(t, i);
	cow__frame want;
	size_t j;

	if (!n)
		return i + 1;
	if (leaf_is_run(n)) {		/* to the leaf's end without a look */
		j = (i | (COW__PT_FAN - 1)) + 1;
		want = leaf_first(n) + COW__PT_FAN;
		if (j >= end)
			return end;
	} else {
		j = i + 1;
		want = leaf_frame(n, i & (COW__PT_FAN - 1)) + 1;
	}
	for (; j < end; j++, want++) {
		if (!(j & (COW__PT_FAN - 1))) {
			if (!(n = leaf_node(t, j)))
				break;
			if (j + COW__PT_FAN <= end && leaf_is_run(n) && leaf_first(n) == want) {
				j += COW__PT_FAN - 1;	/* the loop adds the last one */
				want += COW__PT_FAN - 1;
				continue;
			}
		}
		if (leaf_frame(n, j & (COW__PT_FAN - 1)) != want)
			break;
	}
	return j;
}

/* cow__pt_full — does every one of pages [i, i+n) of t (within one leaf)
 * hold a frame? A whole leaf known to be one run does, without a scan. */
bool cow__pt_full(const struct cow__pt *t, size_t i, size_t n)
{
	cow__node node = leaf_node(t, i);

	if (!node)
		return false;
	if (leaf_known_run(node) || (n == COW__PT_FAN && leaf_is_run(node)))
		return true;	/* a run holds a frame in every entry */
	for (size_t k = i & (COW__PT_FAN - 1), end = k + n; k < end; k++)
		if (leaf_frame(node, (unsigned)k) == COW__NO_FRAME)
			return false;
	return true;
}

/* cow__pt_shared — does some node on the path to page i of t have other holders? */
bool cow__pt_shared(const struct cow__pt *t, size_t i)
{
	cow__node n = t->root;

	for (unsigned l = t->depth;; l--) {
		if (!n)
			return false;
		if (node_ref[n] > 1)
			return true;
		if (!l)
			return false;
		n = entries(n)[(i >> (COW__PT_BITS * l)) & (COW__PT_FAN - 1)];
	}
}

/* The pages under node n (at level, covering from first, below npages)
 * that cow__pt_shared_pages counts; via: a node above n is held twice. */
static uint64_t shared_under(cow__node n, unsigned level, size_t first, size_t npages, bool via)
{
	size_t span = (size_t)1 << (COW__PT_BITS * level), m;
	uint64_t c = 0;

	if (!n || first >= npages)
		return 0;
	via = via || node_ref[n] > 1;
	if (level) {
		for (unsigned k = 0; k < COW__PT_FAN && first + k * span < npages; k++)
			c += shared_under(entries(n)[k], level - 1, first + k * span, npages, via);
		return c;
	}
	m = npages - first < COW__PT_FAN ? npages - first : COW__PT_FAN;
	if (leaf_is_run(n))		/* every entry holds a frame */
		return via ? m : cow__frames_held_more(leaf_first(n), m);
	for (unsigned k = 0; k < m; k++) {
		cow__frame f = leaf_frame(n, k);

		c += f != COW__NO_FRAME && (via || cow__frame_ref(f) > 1);
	}
	return c;
}

/*
 * cow__pt_shared_pages — how many of pages [0, npages) of t are shared:
 * their frame is held by more than one leaf, or a node on their path by
 * more than one table (what cow__pt_shared and the frame's count say page
 * by page). A subtree held twice counts its pages with a frame without a
 * look at their counts, a leaf that is one run its frames' counts a bitmap
 * word at a time: the cost follows the leaves, not the pages.
 */
uint64_t cow__pt_shared_pages(const struct cow__pt *t, size_t npages)
{
	return shared_under(t->root, t->depth, 0, npages, false);
}

/*
 * cow__pt_share — dst (empty, of src's size) becomes the same page table as
 * src: one more reference to src's root, nothing copied.
 */
void cow__pt_share(struct cow__pt *dst, const struct cow__pt *src)
{
	dst->root = src->root;
	dst->depth = src->depth;
	if (dst->root)
		node_ref[dst->root]++;
}

/*
 * cow__pt_release — t lets go of its nodes; the nodes and frames only t
 * held are released (frames to the frame store). t is empty afterwards.
 */
void cow__pt_release(struct cow__pt *t)
{
	node_put(t->root, t->depth);
	t->root = 0;
	if (live_nodes == 0 && pool_next > 1) {
		/* No table left: the nodes' memory goes back to the kernel. */
		madvise(cow__pt_pool, (size_t)pool_next * COW__PT_FAN * sizeof(uint32_t),
			MADV_DONTNEED);
		pool_next = 1;
		free_head = 0;
	}
}

/* Mark the pages under nodes a and b (at level, covering from first) that differ. */
static void diff_nodes(cow__node a, cow__node b, unsigned level, size_t first,
		       size_t npages, uint64_t *bits)
{
	size_t span = (size_t)1 << (COW__PT_BITS * level);

	if (a == b)
		return;		/* one node: the same pages */
	for (unsigned k = 0; k < COW__PT_FAN && first + k * span < npages; k++) {
		size_t i = first + k * span;

		if (level) {
			diff_nodes(a ? entries(a)[k] : 0, b ? entries(b)[k] : 0,
				   level - 1, i, npages, bits);
		} else {
			cow__frame fa = a ? leaf_frame(a, k) : COW__NO_FRAME;
			cow__frame fb = b ? leaf_frame(b, k) : COW__NO_FRAME;

			if (fa != fb)
				bits[i >> 6] |= 1ull << (i & 63);
		}
	}
}

/*
 * cow__pt_diff — set bit i of bits for every page i < npages whose frame
 * differs between a and b (same size). Shared subtrees are skipped whole:
 * the cost follows what differs.
 */
void cow__pt_diff(const struct cow__pt *a, const struct cow__pt *b, size_t npages,
		  uint64_t *bits)
{
	diff_nodes(a->root, b->root, a->depth, 0, npages, bits);
}

/* cow__pt_nodes_live — nodes in use by all page tables. */
uint64_t cow__pt_nodes_live(void)
{
	return live_nodes;
}

/* ---- the census, for the invariant checker (check.c) -------------------- */

struct cow__pt_census {
	uint32_t *refs;		/* references counted per node */
	uint32_t nodes;
	cow__node bad;		/* a node number out of range (0: none) */
	cow__node badrun;	/* a leaf whose run mark is wrong (0: none) */
};

/* cow__pt_census_new — an empty count of node references. NULL: no memory. */
struct cow__pt_census *cow__pt_census_new(void)
{
	struct cow__pt_census *c = calloc(1, sizeof *c);

	if (!c)
		return NULL;
	c->nodes = pool_next;
	c->refs = calloc(c->nodes ? c->nodes : 1, sizeof *c->refs);
	if (!c->refs) {
		free(c);
		return NULL;
	}
	return c;
}

static void census_node(struct cow__pt_census *c, cow__node n, unsigned level,
			uint32_t *frames)
{
	const uint32_t *e;

	if (n >= c->nodes) {
		c->bad = n;	/* reported by cow__pt_census_check */
		return;
	}
	if (!n || c->refs[n]++)
		return;		/* none, or seen */
	e = entries(n);
	for (unsigned k = 0; k < COW__PT_FAN; k++) {
		if (level)
			census_node(c, e[k], level - 1, frames);
		else if (leaf_frame(n, k) != COW__NO_FRAME)
			frames[leaf_frame(n, k)]++;
	}
	if (level || node_run[n] == RUN_UNKNOWN)
		return;
	if (entries_are_run(n) != (node_run[n] != RUN_NO) ||
	    (node_run[n] == RUN_ZERO && e[0] != 0))
		c->badrun = n;
}

/*
 * cow__pt_census_add — count t's root, and (once per node) every node and
 * frame below it: frames[f] grows by the number of distinct leaves that
 * hold f.
 */
void cow__pt_census_add(struct cow__pt_census *c, const struct cow__pt *t, uint32_t *frames)
{
	census_node(c, t->root, t->depth, frames);
}

/*
 * cow__pt_census_check — every node's count equals the references counted
 * (roots and inner entries), free nodes have none; c is freed. 0 or
 * -EBADMSG naming the first node that disagrees (in msg).
 */
int cow__pt_census_check(struct cow__pt_census *c, char *msg, size_t len,
			 int (*bad)(char *, size_t, const char *, ...))
{
	int err = 0;
	uint64_t live = 0;

	if (c->bad)
		err = bad(msg, len, "page-table node %u: referenced, never handed out", c->bad);
	else if (c->badrun)
		err = bad(msg, len, "page-table leaf %u: marked %s",
			  c->badrun, node_run[c->badrun] == RUN_NO ? "as not one run of frames" :
			  node_run[c->badrun] == RUN_YES ? "as one run of frames" :
			  "as one run of zero entries");
	for (uint32_t n = 1; n < c->nodes && !err; n++) {
		live += node_ref[n] != 0;
		if (node_ref[n] != c->refs[n])
			err = bad(msg, len, "page-table node %u: count %u, referenced %u times",
				  n, node_ref[n], c->refs[n]);
	}
	if (!err && live != live_nodes)
		err = bad(msg, len, "page-table nodes: %llu live, %u counted",
			  (unsigned long long)live_nodes, (unsigned)live);
	free(c->refs);
	free(c);
	return err;
}
