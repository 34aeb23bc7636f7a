/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store_tree.c — page tables of checkpoints (page -> block).
 *
 * On disk a page table is a radix tree of nodes. A leaf (level 1) holds up to
 * 254 pointers to data blocks; a node of level k holds up to 254 pointers to
 * nodes of level k - 1; the root is the one node of the top level. A {0,0}
 * pointer is a page (or a whole subtree) of zeroes. Node j of level k holds
 * the pointers [j * 254, j * 254 + count) of level k - 1, so the shape of a
 * tree depends only on its number of pages (cow__tree_levels()).
 *
 * In memory the pages' pointers are in leaves of 254, shared between trees
 * and copied on write (a build starts with its parent's leaves), and each
 * level above is one array of node pointers. A commit writes only the nodes
 * whose pointers differ from the parent checkpoint's; the others are shared
 * (copy-on-write, as in a COW file system), and a leaf the build never
 * touched is known equal without comparing.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "store.h"

/* ---- leaves and their slabs ----------------------------------------------- */

/* A leaf takes one page of its slab, so a dead leaf's memory is given back
 * with one madvise. */
#define LEAF_BYTES 4096u
_Static_assert(sizeof(struct cow__leaf) <= LEAF_BYTES, "a leaf fits a page");

/*
 * A slab: the address space for one tree's own leaves, leaf j at page j.
 * Leaves outlive their tree when a later tree shares them, so the slab is
 * counted: one for the tree, one per leaf alive in it. Memory is taken only
 * where a leaf is written (MAP_NORESERVE), which is what lets a build make a
 * leaf its own inside a fault handler without allocating.
 */
struct cow__slab {
	void *base;
	size_t len;
	long live;	/* atomic */
};

/* slab_new — room for n leaves; NULL, errno ENOMEM. */
static struct cow__slab *slab_new(uint64_t n)
{
	struct cow__slab *sl = cow__io_malloc(sizeof *sl);

	if (!sl)
		return NULL;
	sl->len = (size_t)n * LEAF_BYTES;
	sl->base = mmap(NULL, sl->len, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (sl->base == MAP_FAILED) {
		free(sl);
		errno = ENOMEM;
		return NULL;
	}
	sl->live = 1;
	return sl;
}

/* slab_put — drop one count; the last unmaps it. */
static void slab_put(struct cow__slab *sl)
{
	if (__atomic_sub_fetch(&sl->live, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	munmap(sl->base, sl->len);
	free(sl);
}

/* leaf_put — drop a tree's hold on l; a leaf no tree holds gives its page
 * back (trim) and its count in the slab. */
static void leaf_put(struct cow__leaf *l, int trim)
{
	struct cow__slab *sl;

	if (!l || __atomic_sub_fetch(&l->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	sl = l->slab;
	if (trim)
		madvise(l, LEAF_BYTES, MADV_DONTNEED);
	slab_put(sl);
}

static void leaf_get(struct cow__leaf *l)
{
	if (l)
		__atomic_add_fetch(&l->refs, 1, __ATOMIC_RELAXED);
}

/* slot — the page of t's slab for leaf j. */
static struct cow__leaf *slot(const struct cow__tree *t, uint64_t j)
{
	return (struct cow__leaf *)((char *)t->slab->base + j * LEAF_BYTES);
}

int cow__tree_owns(const struct cow__tree *t, uint64_t j)
{
	return t->leaf[j] == slot(t, j);
}

uint32_t cow__tree_leaf_pages(const struct cow__tree *t, uint64_t j)
{
	uint64_t left = t->npages - j * COW__FANOUT;

	return (uint32_t)(left < COW__FANOUT ? left : COW__FANOUT);
}

struct cow__ptr cow__tree_ptr(const struct cow__tree *t, uint64_t i)
{
	const struct cow__leaf *l = t->leaf[i / COW__FANOUT];

	return l ? l->p[i % COW__FANOUT] : (struct cow__ptr){ 0, 0 };
}

const struct cow__ptr *cow__tree_leaf(const struct cow__tree *t, uint64_t j)
{
	return t->leaf[j] ? t->leaf[j]->p : NULL;
}

uint32_t cow__tree_leaf_data(const struct cow__tree *t, uint64_t j)
{
	return t->leaf[j] ? t->leaf[j]->ndata : 0;
}

struct cow__leaf *cow__tree_own(struct cow__tree *t, uint64_t j)
{
	struct cow__leaf *was = t->leaf[j], *l = slot(t, j);
	uint32_t n = cow__tree_leaf_pages(t, j);

	if (was == l)
		return l;
	memset(l, 0, sizeof *l);
	if (was)
		memcpy(l->p, was->p, n * sizeof *l->p);
	l->slab = t->slab;
	l->refs = 1;
	__atomic_add_fetch(&t->slab->live, 1, __ATOMIC_RELAXED);
	t->leaf[j] = l;
	leaf_put(was, 1);	/* never its last hold: the parent has it too */
	return l;
}

void cow__tree_share(struct cow__tree *t, uint64_t j, const struct cow__tree *from)
{
	struct cow__leaf *was = t->leaf[j], *l = from ? from->leaf[j] : NULL;

	if (was == l)
		return;
	leaf_get(l);
	t->leaf[j] = l;
	leaf_put(was, 1);
}

int cow__tree_same_leaf(const struct cow__tree *t, const struct cow__tree *u, uint64_t j)
{
	return t->leaf[j] == u->leaf[j];
}

void cow__tree_seal(struct cow__tree *t, uint64_t j)
{
	struct cow__leaf *l = t->leaf[j];
	uint32_t n = cow__tree_leaf_pages(t, j), data = 0;

	if (!l)
		return;
	for (uint32_t i = 0; i < n; i++)
		data += l->p[i].blk != 0;
	l->ndata = data;
	if (!data)
		cow__tree_share(t, j, NULL);
}

struct cow__tree *cow__tree_new(uint64_t npages)
{
	struct cow__tree *t;
	uint64_t total = 0;
	unsigned levels;

	t = cow__io_calloc(1, sizeof *t);
	if (!t)
		return NULL;
	levels = cow__tree_levels(npages, t->count);
	if (!levels) {
		free(t);
		errno = EINVAL;
		return NULL;
	}
	for (unsigned k = 1; k <= levels; k++)
		total += t->count[k];
	t->lvl[1] = cow__io_calloc(total, sizeof(struct cow__ptr));
	t->leaf = cow__io_calloc(t->count[1], sizeof *t->leaf);
	t->slab = t->lvl[1] && t->leaf ? slab_new(t->count[1]) : NULL;
	if (!t->slab) {
		free(t->leaf);
		free(t->lvl[1]);
		free(t);
		errno = ENOMEM;
		return NULL;
	}
	for (unsigned k = 2; k <= levels; k++)
		t->lvl[k] = t->lvl[k - 1] + t->count[k - 1];
	t->npages = npages;
	t->levels = levels;
	t->refs = 1;
	return t;
}

/*
 * trim_dead — after t dropped its leaves, give back the pages of the ones
 * of its slab that died, in runs; unless no leaf of the slab lives on, when
 * unmapping it (slab_put) gives everything back at once.
 */
static void trim_dead(struct cow__tree *t, const uint8_t *own)
{
	if (__atomic_load_n(&t->slab->live, __ATOMIC_ACQUIRE) == 1)
		return;
	for (uint64_t j = 0, e; j < t->count[1]; j = e + 1) {
		for (e = j; e < t->count[1] && own[e] && !__atomic_load_n(&slot(t, e)->refs,
									  __ATOMIC_ACQUIRE); e++)
			;
		if (e > j)
			madvise(slot(t, j), (size_t)(e - j) * LEAF_BYTES, MADV_DONTNEED);
	}
}

void cow__tree_put(struct cow__tree *t)
{
	uint8_t *own;

	if (!t || --t->refs > 0)
		return;
	/* Own leaves that die are trimmed after the loop, in runs (or not at
	 * all when the slab dies with them); others' leaves at once. The marks
	 * reuse the node array, no longer needed (count[1] bytes fit in it). */
	own = (uint8_t *)t->lvl[1];
	for (uint64_t j = 0; j < t->count[1]; j++) {
		own[j] = cow__tree_owns(t, j);
		leaf_put(t->leaf[j], !own[j]);
	}
	trim_dead(t, own);
	slab_put(t->slab);
	free(t->leaf);
	free(t->lvl[1]);
	free(t);
}

/* ptr_ok — a pointer is {0,0} or names a block after the slots, inside n. */
static int ptr_ok(struct cow__ptr p, uint64_t n)
{
	return p.blk == 0 ? p.sum == 0 || cow__store_nosum
			  : p.blk >= COW__SLOTS && p.blk < n;
}

/* children — pointers held by node j of level k (count[k - 1] below it). */
static uint32_t children(const uint64_t *count, unsigned k, uint64_t j)
{
	uint64_t left = count[k - 1] - j * COW__FANOUT;

	return (uint32_t)(left < COW__FANOUT ? left : COW__FANOUT);
}

/*
 * node_check — the header and pointers of node blk (already read and its
 * checksum checked) against what its position says. Returns NULL if fine,
 * else what is wrong.
 */
static const char *node_check(const unsigned char *blk, unsigned level, uint64_t j,
			      uint32_t want, uint64_t birth_max, uint64_t n)
{
	struct cow__node_hdr h;

	cow__node_hdr_decode(blk, &h);
	if (h.magic != COW__NODE_MAGIC)
		return "not a page-table node (bad magic)";
	if (h.level != level || h.reserved || h.reserved2)
		return "wrong level";
	if (h.count != want || h.first != j * COW__FANOUT)
		return "wrong position or count";
	if (h.birth == 0 || h.birth > birth_max)
		return "written by a later checkpoint";
	for (uint32_t i = 0; i < COW__FANOUT; i++) {
		struct cow__ptr p = cow__ptr_decode(blk + COW__NODE_HDR + 16 * i);

		if (i < want ? !ptr_ok(p, n) : p.blk || p.sum)
			return "pointer out of range";
	}
	return NULL;
}

/*
 * node_load — read node p found at level k, position j, of checkpoint r's
 * page table, check it, and decode its pointers into out. blk is a
 * COW__BLK scratch buffer. 0, -EBADMSG (st->msg says what), -EIO.
 */
static int node_load(struct cow_store *st, const struct cow__rec *r,
		     const uint64_t *count, struct cow__ptr p, unsigned k,
		     uint64_t j, unsigned char *blk, struct cow__ptr *out)
{
	uint32_t want = children(count, k, j);
	const char *bad = NULL;
	ssize_t got = cow__io_pread(st->fd, blk, COW__BLK, (off_t)(p.blk << COW__BLK_SHIFT));

	if (got < 0)
		return cow__store_fail(st, (int)got, "checkpoint %" PRIu64
				       ": reading block %" PRIu64 ": %s", r->id, p.blk,
				       cow_strerror((int)got));
	if (got != COW__BLK)
		bad = "beyond the end of the file";
	else if (!cow__sum_ok(blk, p.sum))
		bad = "checksum mismatch";
	else
		bad = node_check(blk, k, j, want, r->id, st->blocks.n);
	if (bad)
		return cow__store_fail(st, -EBADMSG, "checkpoint %" PRIu64 ": page-table node "
				       "(level %u, #%" PRIu64 ") at block %" PRIu64 ": %s",
				       r->id, k, j, p.blk, bad);
	for (uint32_t i = 0; i < want; i++)
		out[i] = cow__ptr_decode(blk + COW__NODE_HDR + 16 * i);
	return 0;
}

/* rec_check — the record's shape and root pointer; NULL if fine. */
static const char *rec_check(const struct cow__rec *r, uint64_t n)
{
	if (r->npages == 0 || r->npages > COW__MAX_PAGES)
		return "impossible size";
	if (r->levels != cow__tree_levels(r->npages, NULL))
		return "wrong page-table height";
	if (!ptr_ok(r->root, n))
		return "page-table root out of range";
	return NULL;
}

int cow__tree_read(struct cow_store *st, const struct cow__rec *r,
		   struct cow__tree **out)
{
	const char *bad = rec_check(r, st->blocks.n);
	unsigned char *blk;
	struct cow__tree *t;
	int err = 0;

	if (bad)
		return cow__store_fail(st, -EBADMSG, "checkpoint %" PRIu64 ": %s", r->id, bad);
	t = cow__tree_new(r->npages);
	blk = cow__io_malloc(COW__BLK);
	if (!t || !blk) {
		free(blk);
		cow__tree_put(t);
		return -ENOMEM;
	}
	t->id = r->id;
	t->lvl[t->levels][0] = r->root;
	for (unsigned k = t->levels; k >= 1 && !err; k--)
		for (uint64_t j = 0; j < t->count[k] && !err; j++) {
			struct cow__ptr p = t->lvl[k][j];

			if (!p.blk)
				continue;
			if (k > 1) {
				err = node_load(st, r, t->count, p, k, j, blk,
						t->lvl[k - 1] + j * COW__FANOUT);
				continue;
			}
			err = node_load(st, r, t->count, p, 1, j, blk, cow__tree_own(t, j)->p);
			cow__tree_seal(t, j);
		}
	free(blk);
	if (err) {
		cow__tree_put(t);
		return err;
	}
	*out = t;
	return 0;
}

/*
 * cow__read_blocks — see store.h. On a checksum mismatch *bad is the index
 * of the pointer whose block is wrong (-EBADMSG; no message is recorded,
 * the caller knows what the block is).
 */
int cow__read_blocks(struct cow_store *st, const struct cow__ptr *p, size_t n,
		     unsigned char *buf, size_t *bad)
{
	for (size_t i = 0, run; i < n; i += run) {
		unsigned char *dst = buf + i * COW__BLK;
		ssize_t got;

		run = 1;
		if (!p[i].blk) {
			memset(dst, 0, COW__BLK);
			continue;
		}
		while (i + run < n && p[i + run].blk == p[i].blk + run)
			run++;
		got = cow__io_pread(st->fd, dst, run * COW__BLK, (off_t)(p[i].blk << COW__BLK_SHIFT));
		if (got < 0)
			return (int)got;
		for (size_t k = 0; k < run; k++)
			if ((size_t)got < (k + 1) * COW__BLK || !cow__sum_ok(dst + k * COW__BLK, p[i + k].sum)) {
				*bad = i + k;
				return -EBADMSG;
			}
	}
	return 0;
}

/* cow__check_blocks — see store.h. */
int cow__check_blocks(struct cow_store *st, const struct cow__ptr *p, size_t n,
		      unsigned char *scratch, size_t *bad)
{
	for (size_t i = 0; i < n; i += COW__READ_CHUNK) {
		size_t cnt = n - i < COW__READ_CHUNK ? n - i : COW__READ_CHUNK;
		int err = cow__read_blocks(st, p + i, cnt, scratch, bad);

		if (err) {
			*bad += i;
			return err;
		}
	}
	return 0;
}

static const char *kind_name(uint8_t kind)
{
	switch (kind) {
	case COW__K_SLOT: return "root slot";
	case COW__K_CAT: return "catalog block";
	case COW__K_DATA: return "data block";
	default: return "page-table node";
	}
}

/* visit — count one more pointer to p, reached as kind; 1 on its first
 * visit, 0 on later ones, or -EBADMSG when reached as two kinds. */
static int visit(struct cow__walk *w, struct cow__ptr p, uint8_t kind)
{
	uint8_t was = w->kind[p.blk];

	if (was && was != kind)
		return cow__store_fail(w->st, -EBADMSG, "checkpoint %" PRIu64 ": block %"
				       PRIu64 " is both a %s and a %s", w->rec->id, p.blk,
				       kind_name(was), kind_name(kind));
	if (w->rc[p.blk] == UINT32_MAX)
		return cow__store_fail(w->st, -EBADMSG, "block %" PRIu64 ": too many references",
				       p.blk);
	w->kind[p.blk] = kind;
	return w->rc[p.blk]++ == 0;
}

/* check_leaf_data — read the data blocks a leaf reached first, check them. */
static int check_leaf_data(struct cow__walk *w, const struct cow__ptr *first,
			   const uint64_t *page, size_t n)
{
	size_t bad = 0;
	int err = cow__check_blocks(w->st, first, n, w->buf, &bad);

	if (err == -EBADMSG)
		return cow__store_fail(w->st, err, "checkpoint %" PRIu64 ": page %" PRIu64
				       " (block %" PRIu64 "): data checksum mismatch",
				       w->rec->id, page[bad], first[bad].blk);
	if (err)
		return cow__store_fail(w->st, err, "checkpoint %" PRIu64 ": reading data: %s",
				       w->rec->id, cow_strerror(err));
	return 0;
}

/* walk — count node p (level k >= 1, position j) and, on its first visit,
 * everything below it. */
static int walk(struct cow__walk *w, const uint64_t *count, struct cow__ptr p,
		unsigned k, uint64_t j)
{
	struct cow__ptr ent[COW__FANOUT], fresh[COW__FANOUT];
	uint64_t page[COW__FANOUT];
	uint32_t n = children(count, k, j);
	size_t nfresh = 0;
	int err;

	if (!p.blk)
		return 0;
	err = visit(w, p, (uint8_t)(COW__K_NODE + k - 1));
	if (err <= 0)
		return err;
	err = node_load(w->st, w->rec, count, p, k, j, w->buf, ent);
	for (uint32_t i = 0; i < n && !err; i++) {
		if (k > 1) {
			err = walk(w, count, ent[i], k - 1, j * COW__FANOUT + i);
			continue;
		}
		if (!ent[i].blk)
			continue;
		err = visit(w, ent[i], COW__K_DATA);
		if (err == 1) {
			page[nfresh] = j * COW__FANOUT + i;
			fresh[nfresh++] = ent[i];
			err = 0;
		}
	}
	if (!err && w->check_data && nfresh)
		err = check_leaf_data(w, fresh, page, nfresh);
	return err;
}

int cow__walk_tree(struct cow__walk *w)
{
	const struct cow__rec *r = w->rec;
	const char *bad = rec_check(r, w->n);
	uint64_t count[COW__MAX_LEVELS + 1];

	if (bad)
		return cow__store_fail(w->st, -EBADMSG, "checkpoint %" PRIu64 ": %s", r->id, bad);
	cow__tree_levels(r->npages, count);
	return walk(w, count, r->root, r->levels, 0);
}

/*
 * cow__tree_unref — t's checkpoint no longer points at t's root: drop that
 * reference and, for every node that dies (count 0), the references it held,
 * top down. A node that survives keeps its children. Clobbers t's pointers,
 * so t must be its own: read by cow__tree_read for this, shared with no
 * other tree. Call only once the transaction that removed the checkpoint
 * is durable.
 */
void cow__tree_unref(struct cow_store *st, struct cow__tree *t)
{
	struct cow__blocks *b = &st->blocks;

	pthread_mutex_lock(&b->lock);
	for (unsigned k = t->levels; k >= 1; k--)
		for (uint64_t j = 0; j < t->count[k]; j++) {
			struct cow__ptr p = t->lvl[k][j];
			uint32_t n = children(t->count, k, j);

			if (p.blk)
				cow__blocks_unref(b, p.blk);
			if (p.blk && b->rc[p.blk] == 0)	/* died: so do its holds */
				continue;
			if (k > 1)
				memset(t->lvl[k - 1] + j * COW__FANOUT, 0, n * sizeof(struct cow__ptr));
			else
				cow__tree_share(t, j, NULL);
		}
	for (uint64_t j = 0; j < t->count[1]; j++) {
		const struct cow__ptr *leaf = cow__tree_leaf(t, j);

		for (uint32_t i = 0; leaf && i < cow__tree_leaf_pages(t, j); i++)
			if (leaf[i].blk)
				cow__blocks_unref(b, leaf[i].blk);
	}
	pthread_mutex_unlock(&b->lock);
}
