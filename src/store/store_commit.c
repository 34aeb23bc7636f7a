/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store_commit.c — writing a checkpoint: begin, then write / keep / zero
 * every page (from any number of threads), then finish (or abort).
 *
 * Pages go to blocks nobody references (count 0), so a crash at any point
 * leaves the committed checkpoints untouched. A kept page shares the
 * parent's block. finish() writes the page table, sharing every node whose
 * pointers equal the parent's, then runs the transaction (catalog, fsync,
 * root slot, fsync). References to shared blocks are added only once the
 * new root is durable: until then the parent holds them, and it cannot be
 * dropped while the build runs.
 *
 * A page's block is fresh (written by this build, count 1 held by the build)
 * when it differs from the parent's pointer for that page; otherwise it is
 * the parent's.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store.h"

#define SET_WORDS ((COW__FANOUT + 63) / 64)

struct cow__build {
	struct cow_store *st;
	struct cow__tree *tree;      /* the new page table; leaves set by the writes */
	struct cow__tree *parent;    /* the parent's page table, or NULL */
	uint64_t (*set)[SET_WORDS];  /* per leaf: its pages written, kept or
					zeroed so far (bits; block map lock) */
	int err;                     /* first write error: finish returns it (atomic) */
	int64_t promised;            /* blocks reserved in the block map */
	uint64_t unsynced;           /* blocks written since the last writeback (atomic) */
	struct cow__build *next;     /* st->builders */
};

#define BATCH 64u	/* pages per write system call (COW__IOV_MAX) */
#define WRITEBACK 2048u	/* start writeback every 8 MiB written */

/* fresh — 1 if pointer p of page i is a block this build wrote. */
static int fresh(const struct cow__build *b, uint64_t i, struct cow__ptr p)
{
	return p.blk && (!b->parent || cow__tree_ptr(b->parent, i).blk != p.blk);
}

/* fresh_node — 1 if node pointer p (level k >= 1, position j) is a block
 * this build wrote. */
static int fresh_node(const struct cow__build *b, unsigned k, uint64_t j, struct cow__ptr p)
{
	return p.blk && (!b->parent || b->parent->lvl[k][j].blk != p.blk);
}

int cow__store_parent_busy(struct cow_store *st, uint64_t id)
{
	for (struct cow__build *b = st->builders; b; b = b->next)
		if (b->parent && b->parent->id == id)
			return 1;
	return 0;
}

/* begin_parent — the parent's page table, checked against npages. */
static int begin_parent(struct cow_store *st, uint64_t npages, uint64_t parent,
			struct cow__tree **out)
{
	struct cow__ckpt *ck = cow__store_find(st, parent);

	if (!ck)
		return cow__store_fail(st, -ENOENT, "no checkpoint %" PRIu64, parent);
	if (ck->rec.npages != npages)
		return cow__store_fail(st, -EINVAL, "checkpoint %" PRIu64 " has %" PRIu64
				       " pages, not %" PRIu64, parent, ck->rec.npages, npages);
	return cow__store_tree(st, ck, out);
}

int cow__store_begin(struct cow_store *st, uint64_t npages, uint64_t parent,
		     struct cow__build **out)
{
	struct cow__build *b;
	int err;

	if (!st || !out || npages == 0 || npages > COW__MAX_PAGES)
		return -EINVAL;
	b = cow__io_calloc(1, sizeof *b);
	if (!b)
		return -ENOMEM;
	b->st = st;
	pthread_mutex_lock(&st->lock);
	err = cow__store_writable(st);
	/* A store opened with COW_STORE_FULL_COMMITS shares no block with an
	 * earlier checkpoint: a parent is refused as if it had been dropped,
	 * and every caller then writes the whole checkpoint. */
	if (!err && parent && (st->flags & COW_STORE_FULL_COMMITS))
		err = -ENOENT;
	if (!err && parent)
		err = begin_parent(st, npages, parent, &b->parent);
	if (!err) {
		b->tree = cow__tree_new(npages);
		b->set = b->tree ? cow__io_calloc(b->tree->count[1], sizeof *b->set) : NULL;
		err = b->set ? 0 : -ENOMEM;
	}
	/* Room for every page and node, so writes call no allocator. */
	if (!err) {
		b->promised = (int64_t)(npages + npages / (COW__FANOUT - 1) + 64);
		err = cow__blocks_reserve(&st->blocks, b->promised);
	}
	if (err) {
		cow__tree_put(b->parent);
		cow__tree_put(b->tree);
		pthread_mutex_unlock(&st->lock);
		free(b->set);
		free(b);
		return err;
	}
	b->next = st->builders;
	st->builders = b;
	pthread_mutex_unlock(&st->lock);
	*out = b;
	return 0;
}

/* drop_fresh — free the blocks the build wrote for pages [from, to) of
 * leaf j (only a leaf of its own can hold any). Block map lock held. */
static void drop_fresh(struct cow__build *b, uint64_t j, uint32_t from, uint32_t to)
{
	const struct cow__ptr *ent = cow__tree_owns(b->tree, j) ? cow__tree_leaf(b->tree, j) : NULL;

	for (uint32_t i = from; ent && i < to; i++)
		if (fresh(b, j * COW__FANOUT + i, ent[i]))
			cow__blocks_unref(&b->st->blocks, ent[i].blk);
}

/* bits — the bits [from, to) of word w of a leaf's set marks. */
static uint64_t bits(unsigned w, uint32_t from, uint32_t to)
{
	uint32_t lo = w * 64, hi = lo + 64;

	if (to <= lo || from >= hi)
		return 0;
	lo = from > lo ? from - lo : 0;
	hi = to < hi ? to - w * 64 : 64;
	return (hi == 64 ? ~0ull : (1ull << hi) - 1) & ~((1ull << lo) - 1);
}

/* mark_set — pages [from, to) of leaf j count as set. */
static void mark_set(struct cow__build *b, uint64_t j, uint32_t from, uint32_t to)
{
	for (unsigned w = 0; w < SET_WORDS; w++)
		b->set[j][w] |= bits(w, from, to);
}

/* none_set — 1 if no page of leaf j was set yet (its content is then
 * whatever it started as, and may be replaced whole). */
static int none_set(const struct cow__build *b, uint64_t j)
{
	for (unsigned w = 0; w < SET_WORDS; w++)
		if (b->set[j][w])
			return 0;
	return 1;
}

/* set_page — page i becomes p, in a leaf made the build's own; a block
 * the build wrote for it before is freed. Block map lock held. */
static void set_page(struct cow__build *b, uint64_t i, struct cow__ptr p)
{
	struct cow__leaf *l = cow__tree_own(b->tree, i / COW__FANOUT);
	struct cow__ptr *e = &l->p[i % COW__FANOUT];

	if (fresh(b, i, *e))
		cow__blocks_unref(&b->st->blocks, e->blk);
	*e = p;
	mark_set(b, i / COW__FANOUT, (uint32_t)(i % COW__FANOUT), (uint32_t)(i % COW__FANOUT) + 1);
}

/* set_written — pages idx[0..n) (or, with idx NULL, [first, first + n))
 * become p[0..n), blocks the build just wrote. Takes the block map's lock. */
static void set_written(struct cow__build *b, uint64_t first, const uint64_t *idx,
			uint64_t n, const struct cow__ptr *p)
{
	pthread_mutex_lock(&b->st->blocks.lock);
	for (uint64_t k = 0; k < n; k++)
		set_page(b, idx ? idx[k] : first + k, p[k]);
	pthread_mutex_unlock(&b->st->blocks.lock);
}

/*
 * set_run — pages [first, first + n) become the parent's (keep) or zeroes.
 * A leaf is shared with the parent (or dropped) rather than copied when the
 * run covers it whole or none of its pages was set yet (the set marks say
 * which pages count): keeping the unchanged pages of a big space costs its
 * leaves, not its pages, even where the saver's runs (engine leaves of 1,024
 * pages) cut the store's leaves of 254. Takes the block map's lock.
 */
static void set_run(struct cow__build *b, uint64_t first, uint64_t n, int keep)
{
	struct cow__tree *t = b->tree, *from = keep ? b->parent : NULL;

	pthread_mutex_lock(&b->st->blocks.lock);
	for (uint64_t i = first, end; i < first + n; i = end) {
		uint64_t j = i / COW__FANOUT, start = j * COW__FANOUT;
		uint32_t cnt = cow__tree_leaf_pages(t, j);

		end = first + n < start + cnt ? first + n : start + cnt;
		if ((i == start && end == start + cnt) || none_set(b, j)) {
			drop_fresh(b, j, 0, cnt);
			cow__tree_share(t, j, from);
		} else if (keep ? !cow__tree_same_leaf(t, from, j) : !!t->leaf[j]) {
			for (uint64_t k = i; k < end; k++)
				set_page(b, k, from ? cow__tree_ptr(from, k) : (struct cow__ptr){ 0, 0 });
		}
		mark_set(b, j, (uint32_t)(i - start), (uint32_t)(end - start));
	}
	pthread_mutex_unlock(&b->st->blocks.lock);
}

/* is_zero — 1 if the page is all zero bytes. */
static int is_zero(const unsigned char *page)
{
	static const unsigned char zero[COW__BLK];

	return memcmp(page, zero, COW__BLK) == 0;
}

/*
 * write_batch — write n <= BATCH pages from buf: sum them, allocate blocks
 * for the non-zero ones (runs of consecutive blocks), one pwritev per run.
 * p[i] receives each page's pointer (count 1, held by the build; {0,0} for
 * a zero page). On failure some p[i] may already hold blocks.
 */
static int write_batch(struct cow__build *b, uint64_t n, const unsigned char *buf,
		       struct cow__ptr *p)
{
	struct cow_store *st = b->st;
	struct iovec iov[BATCH];
	unsigned char data[BATCH];
	uint64_t want = 0, i = 0;

	for (uint64_t k = 0; k < n; k++) {
		const unsigned char *pg = buf + k * COW__BLK;

		data[k] = !is_zero(pg);
		p[k].blk = 0;
		p[k].sum = data[k] ? cow__sum(pg, COW__BLK) : 0;
		want += data[k];
	}
	while (want) {
		uint64_t got, first;
		int cnt = 0, err;

		pthread_mutex_lock(&st->blocks.lock);
		first = cow__blocks_alloc(&st->blocks, want, &got);
		pthread_mutex_unlock(&st->blocks.lock);
		if (!first)
			return -ENOMEM;
		/* The run's blocks go to the next got non-zero pages. */
		for (uint64_t blk = first; blk < first + got; i++) {
			if (!data[i])
				continue;
			p[i].blk = blk++;
			iov[cnt].iov_base = (void *)(buf + i * COW__BLK);
			iov[cnt++].iov_len = COW__BLK;
		}
		want -= got;
		err = cow__io_pwritev(st->fd, iov, cnt, (off_t)(first << COW__BLK_SHIFT));
		if (err)
			return err;
	}
	return 0;
}

/* write_at — write n pages from buf to pages idx[] (or first..). */
static int write_at(struct cow__build *b, uint64_t first, const uint64_t *idx, uint64_t n,
		    const unsigned char *buf)
{
	struct cow__ptr p[BATCH];

	int err = __atomic_load_n(&b->err, __ATOMIC_RELAXED);

	for (uint64_t i = 0; i < n && !err; i += BATCH) {
		uint64_t cnt = n - i < BATCH ? n - i : BATCH;

		err = write_batch(b, cnt, buf + i * COW__BLK, p);
		/* Even on failure: the blocks are the build's, abort frees them. */
		set_written(b, first + i, idx ? idx + i : NULL, cnt, p);
	}
	/* Let the disk work while the caller reads the next pages. */
	if (__atomic_add_fetch(&b->unsynced, n, __ATOMIC_RELAXED) >= WRITEBACK) {
		__atomic_store_n(&b->unsynced, 0, __ATOMIC_RELAXED);
		cow__io_writeback(b->st->fd);
	}
	if (err == -EIO)
		cow__store_set_failed(b->st);
	if (err)	/* the first error stays */
		__atomic_compare_exchange_n(&b->err, &(int){ 0 }, err, 0, __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED);
	return err;
}

int cow__store_write(struct cow__build *b, uint64_t first, uint64_t n, const void *buf)
{
	if (!b || !buf || first > b->tree->npages || n > b->tree->npages - first)
		return -EINVAL;
	return write_at(b, first, NULL, n, buf);
}

int cow__store_write_pages(struct cow__build *b, const uint64_t *idx, uint64_t n,
			   const void *buf)
{
	if (!b || (n && (!buf || !idx)))
		return -EINVAL;
	for (uint64_t k = 0; k < n; k++)
		if (idx[k] >= b->tree->npages)
			return -EINVAL;
	return write_at(b, 0, idx, n, buf);
}

int cow__store_keep(struct cow__build *b, uint64_t first, uint64_t n)
{
	if (!b || !b->parent || first > b->tree->npages || n > b->tree->npages - first)
		return -EINVAL;
	set_run(b, first, n, 1);
	return 0;
}

int cow__store_zero(struct cow__build *b, uint64_t first, uint64_t n)
{
	if (!b || first > b->tree->npages || n > b->tree->npages - first)
		return -EINVAL;
	set_run(b, first, n, 0);
	return 0;
}

/* ---- finish: the page table, then the transaction ------------------------ */

/* A batch of consecutive node blocks written with one system call. */
struct nodes {
	unsigned char *buf;     /* BATCH blocks */
	uint64_t first;         /* block of buf[0] */
	unsigned n;
};

static int nodes_flush(struct cow_store *st, struct nodes *nb)
{
	int err = nb->n ? cow__io_pwrite(st->fd, nb->buf, nb->n * COW__BLK,
					 (off_t)(nb->first << COW__BLK_SHIFT)) : 0;

	nb->n = 0;
	return err;
}

/* write_node — node j of level k of b's tree, from the cnt pointers below
 * it (ent), into a new block; *out points at it. */
static int write_node(struct cow__build *b, struct nodes *nb, unsigned k, uint64_t j,
		      const struct cow__ptr *ent, uint32_t cnt, uint64_t birth,
		      struct cow__ptr *out)
{
	struct cow_store *st = b->st;
	struct cow__node_hdr h = { .magic = COW__NODE_MAGIC, .level = (uint16_t)k,
				   .count = cnt, .first = j * COW__FANOUT, .birth = birth };
	uint64_t got, blk;
	unsigned char *node;
	int err = 0;

	pthread_mutex_lock(&st->blocks.lock);
	blk = cow__blocks_alloc(&st->blocks, 1, &got);
	pthread_mutex_unlock(&st->blocks.lock);
	if (!blk)
		return -ENOMEM;
	if (nb->n && (nb->n == BATCH || blk != nb->first + nb->n))
		err = nodes_flush(st, nb);
	if (!nb->n)
		nb->first = blk;
	node = nb->buf + nb->n++ * COW__BLK;
	memset(node, 0, COW__BLK);
	cow__node_hdr_encode(node, &h);
	for (uint32_t i = 0; i < cnt; i++)
		cow__ptr_encode(node + COW__NODE_HDR + 16 * i, ent[i]);
	out->blk = blk;
	out->sum = cow__sum(node, COW__BLK);
	return err;
}

/* all_zero — 1 if the n pointers are {0,0}. */
static int all_zero(const struct cow__ptr *p, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (p[i].blk)
			return 0;
	return 1;
}

/*
 * leaf_node — level-1 node j of b's tree: the parent's when the leaf is
 * the parent's (untouched: nothing compared), or equal to it (then the
 * leaf is shared again, and its copy freed); {0,0} for zeroes; else
 * written. Seals the leaf.
 */
static int leaf_node(struct cow__build *b, struct nodes *nb, uint64_t j, uint64_t birth,
		     uint64_t *written)
{
	struct cow__tree *t = b->tree, *par = b->parent;
	uint32_t cnt = cow__tree_leaf_pages(t, j);
	const struct cow__ptr *ent, *pent;

	if (par && cow__tree_same_leaf(t, par, j)) {
		t->lvl[1][j] = par->lvl[1][j];
		return 0;
	}
	cow__tree_seal(t, j);
	ent = cow__tree_leaf(t, j);
	pent = par ? cow__tree_leaf(par, j) : NULL;
	if (!ent) {
		t->lvl[1][j] = (struct cow__ptr){ 0, 0 };
	} else if (pent && !memcmp(ent, pent, cnt * sizeof *ent)) {
		cow__tree_share(t, j, par);
		t->lvl[1][j] = par->lvl[1][j];
	} else {
		++*written;
		return write_node(b, nb, 1, j, ent, cnt, birth, &t->lvl[1][j]);
	}
	return 0;
}

/*
 * build_nodes — fill levels 1..L of b's tree bottom up: a node of zeroes is
 * {0,0}, a node equal to the parent's is the parent's, any other is
 * written. *written counts the nodes written.
 */
static int build_nodes(struct cow__build *b, uint64_t birth, uint64_t *written)
{
	struct cow__tree *t = b->tree, *par = b->parent;
	struct nodes nb = { .buf = cow__io_malloc(BATCH * COW__BLK) };
	int err = nb.buf ? 0 : -ENOMEM;

	for (uint64_t j = 0; j < t->count[1] && !err; j++)
		err = leaf_node(b, &nb, j, birth, written);
	for (unsigned k = 2; k <= t->levels && !err; k++)
		for (uint64_t j = 0; j < t->count[k] && !err; j++) {
			uint64_t left = t->count[k - 1] - j * COW__FANOUT;
			uint32_t cnt = (uint32_t)(left < COW__FANOUT ? left : COW__FANOUT);
			const struct cow__ptr *ent = t->lvl[k - 1] + j * COW__FANOUT;

			if (all_zero(ent, cnt))
				t->lvl[k][j] = (struct cow__ptr){ 0, 0 };
			else if (par && !memcmp(ent, par->lvl[k - 1] + j * COW__FANOUT,
						cnt * sizeof *ent))
				t->lvl[k][j] = par->lvl[k][j];
			else {
				err = write_node(b, &nb, k, j, ent, cnt, birth, &t->lvl[k][j]);
				++*written;
			}
		}
	if (!err)
		err = nodes_flush(b->st, &nb);
	free(nb.buf);
	return err;
}

/* share_leaf_refs — new level-1 node j takes a reference to each data
 * block it shares with the parent. Block map lock held. */
static void share_leaf_refs(struct cow__build *b, uint64_t j)
{
	const struct cow__ptr *ent = cow__tree_leaf(b->tree, j);

	for (uint32_t i = 0; ent && i < cow__tree_leaf_pages(b->tree, j); i++)
		if (ent[i].blk && !fresh(b, j * COW__FANOUT + i, ent[i]))
			cow__blocks_ref(&b->st->blocks, ent[i].blk);
}

/*
 * share_refs — once the new root is durable: every new node takes a
 * reference to each child it shares with the parent, and the catalog to the
 * root if the whole tree is the parent's. (Fresh children already hold the
 * count 1 the build gave them.)
 */
static void share_refs(struct cow__build *b)
{
	struct cow__tree *t = b->tree;
	struct cow__blocks *bm = &b->st->blocks;
	struct cow__ptr root = t->lvl[t->levels][0];

	if (!b->parent)
		return;
	pthread_mutex_lock(&bm->lock);
	for (uint64_t j = 0; j < t->count[1]; j++)
		if (fresh_node(b, 1, j, t->lvl[1][j]))
			share_leaf_refs(b, j);
	for (unsigned k = 2; k <= t->levels; k++)
		for (uint64_t j = 0; j < t->count[k]; j++) {
			uint64_t from = j * COW__FANOUT, left = t->count[k - 1] - from;

			if (!fresh_node(b, k, j, t->lvl[k][j]))
				continue;
			for (uint64_t i = from; i < from + (left < COW__FANOUT ? left : COW__FANOUT); i++)
				if (t->lvl[k - 1][i].blk && !fresh_node(b, k - 1, i, t->lvl[k - 1][i]))
					cow__blocks_ref(bm, t->lvl[k - 1][i].blk);
		}
	if (root.blk && !fresh_node(b, t->levels, 0, root))
		cow__blocks_ref(bm, root.blk);
	pthread_mutex_unlock(&bm->lock);
}

/* free_nodes — the transaction failed: give the new nodes' blocks back. */
static void free_nodes(struct cow__build *b)
{
	struct cow__tree *t = b->tree;
	struct cow__blocks *bm = &b->st->blocks;

	pthread_mutex_lock(&bm->lock);
	for (unsigned k = 1; k <= t->levels; k++)
		for (uint64_t j = 0; j < t->count[k]; j++)
			if (fresh_node(b, k, j, t->lvl[k][j]))
				cow__blocks_unref(bm, t->lvl[k][j].blk);
	pthread_mutex_unlock(&bm->lock);
}

/* unlink_build — remove b from st->builders. Under st->lock. */
static void unlink_build(struct cow__build *b)
{
	struct cow__build **pp = &b->st->builders;

	while (*pp && *pp != b)
		pp = &(*pp)->next;
	if (*pp)
		*pp = b->next;
}

/* new_record — the catalog record of b's checkpoint. */
static struct cow__rec new_record(const struct cow__build *b, uint64_t id, uint64_t nodes)
{
	const struct cow__tree *t = b->tree;
	struct cow__rec r = { .id = id, .npages = t->npages, .levels = t->levels,
			      .written = nodes, .root = t->lvl[t->levels][0] };
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	r.time_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	r.parent = b->parent ? b->parent->id : 0;
	for (uint64_t j = 0; j < t->count[1]; j++) {
		const struct cow__ptr *ent = cow__tree_owns(t, j) ? cow__tree_leaf(t, j) : NULL;

		r.data_pages += cow__tree_leaf_data(t, j);
		for (uint32_t i = 0; ent && i < cow__tree_leaf_pages(t, j); i++)
			r.written += fresh(b, j * COW__FANOUT + i, ent[i]);
	}
	return r;
}

/* check_all_set — every page was written, kept or zeroed; else an error
 * naming the first that was not. */
static int check_all_set(struct cow__build *b)
{
	struct cow__tree *t = b->tree;

	for (uint64_t j = 0; j < t->count[1]; j++)
		for (unsigned w = 0; w < SET_WORDS; w++) {
			uint64_t want = bits(w, 0, cow__tree_leaf_pages(t, j));
			uint64_t missing = want & ~b->set[j][w];

			if (missing)
				return cow__store_fail(b->st, -EINVAL, "page %" PRIu64 " was "
						       "never written, kept or zeroed",
						       j * COW__FANOUT + w * 64 +
						       (unsigned)__builtin_ctzll(missing));
		}
	return 0;
}

/* commit — b's page table and the transaction. Under st->lock. */
static int commit(struct cow__build *b, uint64_t *id)
{
	struct cow_store *st = b->st;
	uint64_t nid = st->slot.next_id, nodes = 0;
	struct cow__ckpt *ck;
	int err = cow__store_writable(st);

	if (err || (err = __atomic_load_n(&b->err, __ATOMIC_RELAXED)))
		return err;
	if ((err = check_all_set(b)))
		return err;
	err = build_nodes(b, nid, &nodes);
	ck = err ? NULL : cow__io_malloc((st->nck + 1) * sizeof *ck);
	if (!err && !ck)
		err = -ENOMEM;
	if (!err) {
		memcpy(ck, st->ck, st->nck * sizeof *ck);
		memset(&ck[st->nck], 0, sizeof *ck);
		ck[st->nck].rec = new_record(b, nid, nodes);
		err = cow__store_txn(st, ck, st->nck + 1, nid + 1);
	}
	if (err) {
		if (err == -EIO)
			cow__store_set_failed(st);
		free(ck);
		free_nodes(b);
		return err;
	}
	share_refs(b);
	b->tree->id = nid;
	cow__store_lineage_put(st, b->tree, b->parent ? b->parent->id : 0);
	*id = nid;
	return 0;
}

/* release — forget the build: fresh data blocks are freed unless committed. */
static void release(struct cow__build *b, int committed)
{
	struct cow_store *st = b->st;

	if (!committed) {
		pthread_mutex_lock(&st->blocks.lock);
		for (uint64_t j = 0; j < b->tree->count[1]; j++)
			drop_fresh(b, j, 0, cow__tree_leaf_pages(b->tree, j));
		pthread_mutex_unlock(&st->blocks.lock);
	}
	cow__blocks_reserve(&st->blocks, -b->promised);
	pthread_mutex_lock(&st->lock);
	unlink_build(b);
	cow__tree_put(b->parent);
	cow__tree_put(b->tree);
	pthread_mutex_unlock(&st->lock);
	free(b->set);
	free(b);
}

int cow__store_finish(struct cow__build *b, uint64_t *id)
{
	uint64_t nid = 0;
	int err;

	if (!b)
		return -EINVAL;
	pthread_mutex_lock(&b->st->lock);
	err = commit(b, &nid);
	pthread_mutex_unlock(&b->st->lock);
	release(b, !err);
	if (!err && id)
		*id = nid;
	return err;
}

void cow__store_abort(struct cow__build *b)
{
	if (b)
		release(b, 0);
}
