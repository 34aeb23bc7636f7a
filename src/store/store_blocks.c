/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store_blocks.c — the free-space map of a store: one reference count per
 * block of the file. A block is free when its count is 0. The map is never
 * stored: it is rebuilt at open from the checkpoints, so it cannot be wrong
 * after a crash.
 *
 * A block's count is the number of pointers to it from the catalog (page
 * table roots) and from distinct page-table nodes, plus one while a build
 * holds it (a page written, a node or catalog block not yet committed).
 * A node shared by several checkpoints holds its children once.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

/*
 * grow — make rc hold at least want entries (zeroed). 0 or -ENOMEM. The
 * counts live in an anonymous mapping grown with mremap: new entries are
 * zero pages, taken only when a block is counted, so a build's promise of
 * a block per page of a big space costs address space, not memory (a
 * 64 GiB space promised 64 MiB of counts, all of it touched).
 */
static int grow(struct cow__blocks *b, uint64_t want)
{
	uint64_t cap = b->cap ? b->cap : 1024;
	void *rc;

	if (want <= b->cap)
		return 0;
	while (cap < want)
		cap *= 2;
	if (cap > SIZE_MAX / sizeof *b->rc)
		return -ENOMEM;
	rc = cow__io_map_grow(b->rc, b->cap * sizeof *b->rc, cap * sizeof *b->rc);
	if (!rc)
		return -ENOMEM;
	b->rc = rc;
	b->cap = cap;
	return 0;
}

int cow__blocks_init(struct cow__blocks *b, uint64_t n)
{
	int err;

	memset(b, 0, sizeof *b);
	pthread_mutex_init(&b->lock, NULL);
	if (n < COW__SLOTS)
		n = COW__SLOTS;
	err = grow(b, n);
	if (err)
		return err;
	b->n = n;
	b->rc[0] = b->rc[1] = 1;
	b->nfree = n - COW__SLOTS;
	b->cursor = COW__SLOTS;
	return 0;
}

void cow__blocks_destroy(struct cow__blocks *b)
{
	cow__io_map_free(b->rc, b->cap * sizeof *b->rc);
	b->rc = NULL;
	b->cap = 0;
	pthread_mutex_destroy(&b->lock);
}

int cow__blocks_reserve(struct cow__blocks *b, int64_t extra)
{
	int err = 0;

	pthread_mutex_lock(&b->lock);
	b->promised += extra;
	if (extra > 0)
		err = grow(b, b->n + b->promised);
	if (err)
		b->promised -= extra;
	pthread_mutex_unlock(&b->lock);
	return err;
}

/* find_free — the first free block at or after from, below b->n; 0 if none. */
static uint64_t find_free(const struct cow__blocks *b, uint64_t from)
{
	for (uint64_t i = from; i < b->n; i++)
		if (!b->rc[i])
			return i;
	return 0;
}

uint64_t cow__blocks_alloc(struct cow__blocks *b, uint64_t want, uint64_t *got)
{
	uint64_t first = 0, len = 0;

	if (b->nfree) {
		first = find_free(b, b->cursor);
		if (!first)
			first = find_free(b, COW__SLOTS);
	}
	if (!first)
		first = b->n;
	/* Extend the run over free blocks, and past the end of the file. */
	while (len < want && (first + len >= b->n || !b->rc[first + len]))
		len++;
	if (grow(b, first + len)) {
		errno = ENOMEM;
		return 0;
	}
	for (uint64_t i = first; i < first + len; i++) {
		if (i < b->n)
			b->nfree--;
		b->rc[i] = 1;
	}
	if (first + len > b->n)
		b->n = first + len;
	b->cursor = first + len;
	*got = len;
	return first;
}

void cow__blocks_ref(struct cow__blocks *b, uint64_t blk)
{
	b->rc[blk]++;
}

uint32_t cow__blocks_unref(struct cow__blocks *b, uint64_t blk)
{
	if (--b->rc[blk] == 0) {
		b->nfree++;
		if (blk < b->cursor)
			b->cursor = blk;
	}
	return b->rc[blk];
}
