/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store_snap.c — the store meets the engine: committing a snapshot as a
 * checkpoint, loading a checkpoint as a snapshot.
 *
 * A commit diffs the snapshot against the clones the handle keeps of what it
 * committed or loaded last (its lineages): pages backed by the same frame
 * are certainly unchanged and keep their block; only the others are read
 * and written. The clone of the lineage that needs the fewest writes wins.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

#define CHUNK 256u	/* pages read from the snapshot per write */

static void release_snap(void *snap)
{
	cow_snap_release(snap);
}

static uint64_t popcount(const uint64_t *bits, size_t words)
{
	uint64_t n = 0;

	for (size_t i = 0; i < words; i++)
		n += (uint64_t)__builtin_popcountll(bits[i]);
	return n;
}

/*
 * pick_parent — the lineage of npages pages whose clone differs from snap
 * in the fewest pages: its id, with bits set to the pages that differ.
 * 0 when no lineage shares a page (bits untouched): a clone of another
 * space would gain nothing, and its lineage would be replaced by ours.
 * tmp is scratch like bits.
 */
static uint64_t pick_parent(struct cow_store *st, const cow_snap *snap, uint64_t npages,
			    uint64_t *bits, uint64_t *tmp)
{
	size_t words = (npages + 63) / 64;
	uint64_t best = 0, fewest = npages;	/* a parent must share something */

	pthread_mutex_lock(&st->lock);
	for (int i = 0; i < COW__LINEAGES; i++) {
		struct cow__lineage *l = &st->lin[i];
		uint64_t n;

		if (!l->snap || l->tree->npages != npages)
			continue;
		memset(tmp, 0, words * sizeof *tmp);
		if (cow__snap_diff(l->snap, snap, tmp))
			continue;
		n = popcount(tmp, words);
		if (n < fewest) {
			fewest = n;
			best = l->tree->id;
			memcpy(bits, tmp, words * sizeof *tmp);
		}
	}
	pthread_mutex_unlock(&st->lock);
	return best;
}

/* changed — 1 if page i must be written (no parent, or its bit is set). */
static int changed(const uint64_t *bits, uint64_t parent, uint64_t i)
{
	return !parent || (bits[i >> 6] >> (i & 63) & 1);
}

/*
 * write_pages — every page of snap into b: the changed ones are read (one
 * read per run of consecutive pages) into a buffer of CHUNK pages and
 * written together wherever they are (cow__store_write_pages), the others
 * kept.
 */
static int write_pages(struct cow__build *b, const cow_snap *snap, uint64_t npages,
		       uint64_t parent, const uint64_t *bits)
{
	unsigned char *buf = cow__io_malloc(CHUNK * COW__BLK);
	uint64_t *idx = cow__io_malloc(CHUNK * sizeof *idx), n = 0;
	int err = buf && idx ? 0 : -ENOMEM;

	for (uint64_t i = 0, run; i < npages && !err; i += run) {
		int write = changed(bits, parent, i);

		/* A leaf of pages never written reads as zeroes: not read. */
		if (write && !(i & (COW__PT_FAN - 1)) && npages - i >= COW__PT_FAN &&
		    cow__snap_never_written(snap, i, COW__PT_FAN)) {
			run = COW__PT_FAN;
			err = cow__store_zero(b, i, run);
			continue;
		}
		for (run = 1; i + run < npages && (!write || n + run < CHUNK) &&
			      ((i + run) & (COW__PT_FAN - 1)); run++)	/* a run ends at a leaf's end */
			if (changed(bits, parent, i + run) != write)
				break;
		if (!write) {
			err = cow__store_keep(b, i, run);
			continue;
		}
		err = cow_snap_read(snap, i * COW__BLK, buf + n * COW__BLK, run * COW__BLK);
		for (uint64_t k = 0; k < run; k++)
			idx[n++] = i + k;
		if (!err && (n == CHUNK || i + run == npages)) {
			err = cow__store_write_pages(b, idx, n, buf);
			n = 0;
		}
	}
	if (!err && n)
		err = cow__store_write_pages(b, idx, n, buf);
	free(buf);
	free(idx);
	return err;
}

COW_API int cow_store_commit(cow_store *st, cow_snap *snap, uint64_t *id)
{
	uint64_t npages, parent, nid = 0, *bits, *tmp;
	struct cow__build *b = NULL;
	cow_snap *clone;
	int err;

	if (!st || !snap)
		return -EINVAL;
	npages = cow__snap_pages(snap);
	if (!npages) {	/* a stale or released handle: let the engine say which */
		err = cow_snap_read(snap, 0, NULL, 0);
		return err ? err : -EINVAL;
	}
	bits = cow__io_calloc((npages + 63) / 64, sizeof *bits);
	tmp = cow__io_calloc((npages + 63) / 64, sizeof *tmp);
	if (!bits || !tmp) {
		free(bits);
		free(tmp);
		return -ENOMEM;
	}
	parent = pick_parent(st, snap, npages, bits, tmp);
	err = cow__store_begin(st, npages, parent, &b);
	if (err == -ENOENT && parent)	/* dropped meanwhile: write it all */
		err = cow__store_begin(st, npages, parent = 0, &b);
	if (!err)
		err = write_pages(b, snap, npages, parent, bits);
	free(bits);
	free(tmp);
	if (err) {
		cow__store_abort(b);
		return err;
	}
	err = cow__store_finish(b, &nid);
	if (err)
		return err;
	clone = st->flags & COW_STORE_FULL_COMMITS ? NULL : cow__snap_clone(snap);
	if (clone)
		cow__store_lineage_attach(st, nid, clone, release_snap);
	if (id)
		*id = nid;
	return 0;
}

/* has_clone — 1 if checkpoint id's lineage already holds a snapshot. */
static int has_clone(struct cow_store *st, uint64_t id)
{
	for (int i = 0; i < COW__LINEAGES; i++)
		if (st->lin[i].tree && st->lin[i].tree->id == id && st->lin[i].snap)
			return 1;
	return 0;
}

_Static_assert(COW__ZERO_BLOCK == UINT64_MAX, "offsets() fills zero pages with 0xff");

/* Pages [a, b) of t: the first and last span bit of the engine's they touch. */
static inline void span_bits(uint64_t a, uint64_t b, uint64_t *lo, uint64_t *hi)
{
	*lo = a / COW__FILE_SPAN;
	*hi = (b - 1) / COW__FILE_SPAN;
}

static bool span_any(const uint64_t *spans, uint64_t lo, uint64_t hi)
{
	for (uint64_t j = lo; j <= hi; j++)
		if ((spans[j >> 6] >> (j & 63)) & 1)
			return true;
	return false;
}

/*
 * offsets — the file offset of every page of t that cow__snap_from_file
 * will look at (COW__ZERO_BLOCK for zeroes), and in *spans (calloc'd, the
 * caller's) the engine's spans that hold data. offs comes from calloc, so
 * for a big space it is fresh memory from the kernel: the spans without
 * data are never written (nor read), and a 64 GiB space holding 4 MiB
 * costs the leaves that hold data, not 128 MiB of entries. NULL (ENOMEM).
 */
static uint64_t *offsets(const struct cow__tree *t, uint64_t **spans)
{
	uint64_t nspans = (t->npages + COW__FILE_SPAN - 1) / COW__FILE_SPAN, lo, hi;
	uint64_t *offs = cow__io_calloc(t->npages, sizeof *offs);
	uint64_t *used = cow__io_calloc((nspans + 63) / 64, sizeof *used);

	if (!offs || !used) {
		free(offs);
		free(used);
		return NULL;
	}
	for (uint64_t j = 0; j < t->count[1]; j++) {	/* the spans with data */
		if (!cow__tree_leaf(t, j))
			continue;
		span_bits(j * COW__FANOUT, j * COW__FANOUT + cow__tree_leaf_pages(t, j), &lo, &hi);
		for (uint64_t k = lo; k <= hi; k++)
			used[k >> 6] |= 1ull << (k & 63);
	}
	for (uint64_t j = 0; j < t->count[1]; j++) {	/* their entries */
		const struct cow__ptr *ent = cow__tree_leaf(t, j);
		uint64_t *o = offs + j * COW__FANOUT;
		uint32_t n = cow__tree_leaf_pages(t, j);

		if (!ent) {	/* every byte 0xff: COW__ZERO_BLOCK, where it is read */
			span_bits(j * COW__FANOUT, j * COW__FANOUT + n, &lo, &hi);
			if (span_any(used, lo, hi))
				memset(o, 0xff, n * sizeof *o);
			continue;
		}
		for (uint32_t i = 0; i < n; i++)
			o[i] = ent[i].blk ? ent[i].blk << COW__BLK_SHIFT : COW__ZERO_BLOCK;
	}
	*spans = used;
	return offs;
}

/* bad_block — the message of a failed read of t's pages [i, i + n): a
 * checksum mismatch names the page and block. Returns err. */
static int bad_block(struct cow_store *st, const struct cow__tree *t, uint64_t i,
		     size_t bad, int err)
{
	if (err == -EBADMSG)
		return cow__store_fail(st, err, "checkpoint %" PRIu64 ": page %" PRIu64
				       " (block %" PRIu64 "): data checksum mismatch",
				       t->id, i + bad, cow__tree_ptr(t, i + bad).blk);
	return cow__store_fail(st, err, "checkpoint %" PRIu64 ": reading: %s", t->id,
			       cow_strerror(err));
}

/*
 * copy_pages — read every data block of t once, check it, and copy it into
 * a new space (zero pages stay untouched: no frame); *out is a snapshot of
 * it. What a read-only handle loads: the snapshot then needs nothing from
 * the file, which a writer in another process may reuse once it drops the
 * checkpoint. 0, -EBADMSG (message set), -EIO, -ENOMEM.
 */
static int copy_pages(struct cow_store *st, const struct cow__tree *t, cow_snap **out)
{
	unsigned char *buf = cow__io_malloc((size_t)COW__FANOUT * COW__BLK), *base;
	cow_space *s = buf ? cow_space_create(t->npages * COW__BLK, 0) : NULL;
	int err = s ? 0 : -ENOMEM;

	base = s ? cow_base(s) : NULL;
	for (uint64_t j = 0; j < t->count[1] && !err; j++) {
		const struct cow__ptr *ent = cow__tree_leaf(t, j);
		uint64_t i = j * COW__FANOUT;
		size_t n = cow__tree_leaf_pages(t, j), bad = 0;

		if (!ent)
			continue;
		err = cow__read_blocks(st, ent, n, buf, &bad);
		if (err)
			err = bad_block(st, t, i, bad, err);
		for (size_t k = 0; k < n && !err; k++)
			if (ent[k].blk)
				memcpy(base + (i + k) * COW__BLK, buf + k * COW__BLK, COW__BLK);
	}
	if (!err && !(*out = cow_snapshot(s)))
		err = -errno;
	cow_space_destroy(s);
	free(buf);
	return err;
}

/*
 * tree_checked — checkpoint id's page table with a reference for the
 * caller, every data block read and checked against its checksum: a page
 * the program will see was right on disk when it was loaded. With copy
 * (read-only handles) the checked pages are copied into *copy. A read-only
 * handle whose writer committed meanwhile (and may have reused blocks of a
 * dropped checkpoint) moves to the newest root and tries again. Under
 * st->lock. 0, -ENOENT, -EBADMSG (message set), -EAGAIN, -EIO, -ENOMEM.
 */
static int tree_checked(struct cow_store *st, uint64_t id, struct cow__ckpt **ckp,
			struct cow__tree **out, cow_snap **copy)
{
	int err = 0;

	for (int i = 0; i < COW__RELOADS; i++) {
		struct cow__ckpt *ck = cow__store_find(st, id);
		struct cow__tree *t = NULL;

		err = ck ? cow__store_tree(st, ck, &t)
			 : cow__store_fail(st, -ENOENT, "no checkpoint %" PRIu64, id);
		if (!err)
			err = copy ? copy_pages(st, t, copy) : cow__store_read_tree(st, t, NULL);
		if (!err) {
			*ckp = ck;
			*out = t;
			return 0;
		}
		cow__tree_put(t);
		if (!(st->flags & COW_STORE_RDONLY) || err != -EBADMSG || !cow__store_moved(st))
			return err;
		err = cow__store_refresh(st);
		if (err)
			return err;
	}
	return cow__store_fail(st, -EAGAIN, "the store changed %d times while checkpoint %"
			       PRIu64 " was read", COW__RELOADS, id);
}

/*
 * map_file — the snapshot of a writable handle's checkpoint t: its pages
 * mapped from the file when first touched (they were just checked, and the
 * handle pins the checkpoint's blocks until it is closed). A space made
 * from it counts as saved in checkpoint ck, and the handle keeps a clone
 * for the next incremental commit. Under st->lock. NULL with errno.
 */
static cow_snap *map_file(struct cow_store *st, struct cow__ckpt *ck, struct cow__tree *t,
			  cow_snap **clone)
{
	uint64_t *spans, *offs = offsets(t, &spans);
	cow_snap *snap;

	if (!offs) {
		errno = ENOMEM;
		return NULL;
	}
	ck->pinned = 1;	/* its blocks must not change while snap reads them */
	snap = cow__snap_from_file(st->rfd, t->npages, offs, spans);	/* takes offs */
	free(spans);
	if (!snap)
		return NULL;
	cow__snap_set_origin(snap, st, st->serial, ck->rec.id);
	*clone = !has_clone(st, ck->rec.id) && !(st->flags & COW_STORE_FULL_COMMITS)
		 ? cow__snap_clone(snap) : NULL;
	if (*clone)
		cow__store_lineage_put(st, t, ck->rec.id);
	return snap;
}

COW_API cow_snap *cow_store_load(cow_store *st, uint64_t id)
{
	int ro = st && (st->flags & COW_STORE_RDONLY);
	struct cow__tree *t = NULL;
	struct cow__ckpt *ck = NULL;
	cow_snap *snap = NULL, *clone = NULL;
	int err;

	if (!st) {
		errno = EINVAL;
		return NULL;
	}
	pthread_mutex_lock(&st->lock);
	err = tree_checked(st, id, &ck, &t, ro ? &snap : NULL);
	if (!err && !ro && !(snap = map_file(st, ck, t, &clone)))
		err = -errno;
	cow__tree_put(t);
	pthread_mutex_unlock(&st->lock);
	if (clone)
		cow__store_lineage_attach(st, id, clone, release_snap);
	if (err)
		errno = -err;
	return snap;
}
