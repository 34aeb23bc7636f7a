/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store_format.c — encoding and decoding of the store's on-disk structures
 * (layout in store_format.h and docs/STORE.md). Pure functions, no I/O.
 */
#include <errno.h>
#include <xxhash.h>

#include "store_format.h"

int cow__store_nosum;

/* cow__sum — the format's checksum: XXH3_64bits (libxxhash). */
uint64_t cow__sum(const void *p, size_t len)
{
	return (uint64_t)XXH3_64bits(p, len);
}

/* cow__sum_ok — 1 if sum is the checksum of block b (or checks are off). */
int cow__sum_ok(const void *b, uint64_t sum)
{
	return cow__store_nosum || cow__sum(b, COW__BLK) == sum;
}

void cow__ptr_encode(unsigned char *p, struct cow__ptr v)
{
	cow__put64(p, v.blk);
	cow__put64(p + 8, v.sum);
}

struct cow__ptr cow__ptr_decode(const unsigned char *p)
{
	struct cow__ptr v = { cow__get64(p), cow__get64(p + 8) };

	return v;
}

/* cow__slot_encode — write slot s at the start of blk, checksum included
 * (s->sum is ignored and computed); the rest of blk is left as it is. */
void cow__slot_encode(unsigned char *blk, const struct cow__slot *s)
{
	memcpy(blk, COW__MAGIC, 8);
	cow__put32(blk + 8, s->version);
	cow__put32(blk + 12, s->block_size);
	cow__put64(blk + 16, s->txid);
	cow__put64(blk + 24, s->next_id);
	cow__put64(blk + 32, s->nblocks);
	cow__put64(blk + 40, s->created);
	cow__put64(blk + 48, s->store_id);
	cow__ptr_encode(blk + 56, s->catalog);
	cow__put32(blk + 72, s->ncatalog);
	cow__put32(blk + 76, s->nckpts);
	for (int i = 0; i < 4; i++)
		cow__put64(blk + 80 + 8 * i, s->reserved[i]);
	cow__put64(blk + 112, cow__sum(blk, 112));
}

/*
 * cow__slot_decode — decode the slot at the start of blk. Returns 0 when its
 * magic and checksum are right, else -EBADMSG with *bad_magic = 1 when the
 * magic is wrong (not a store, or a slot never written). Fields are decoded
 * either way; the caller checks version and values.
 */
int cow__slot_decode(const unsigned char *blk, struct cow__slot *s, int *bad_magic)
{
	memcpy(s->magic, blk, 8);
	s->version = cow__get32(blk + 8);
	s->block_size = cow__get32(blk + 12);
	s->txid = cow__get64(blk + 16);
	s->next_id = cow__get64(blk + 24);
	s->nblocks = cow__get64(blk + 32);
	s->created = cow__get64(blk + 40);
	s->store_id = cow__get64(blk + 48);
	s->catalog = cow__ptr_decode(blk + 56);
	s->ncatalog = cow__get32(blk + 72);
	s->nckpts = cow__get32(blk + 76);
	for (int i = 0; i < 4; i++)
		s->reserved[i] = cow__get64(blk + 80 + 8 * i);
	s->sum = cow__get64(blk + 112);
	*bad_magic = memcmp(s->magic, COW__MAGIC, 8) != 0;
	if (*bad_magic)
		return -EBADMSG;
	if (!cow__store_nosum && cow__sum(blk, 112) != s->sum)
		return -EBADMSG;
	return 0;
}

void cow__rec_encode(unsigned char *p, const struct cow__rec *r)
{
	cow__put64(p, r->id);
	cow__put64(p + 8, r->parent);
	cow__put64(p + 16, r->npages);
	cow__put64(p + 24, r->time_ns);
	cow__put64(p + 32, r->data_pages);
	cow__put64(p + 40, r->written);
	cow__ptr_encode(p + 48, r->root);
	cow__put32(p + 64, r->levels);
	cow__put32(p + 68, r->flags);
}

void cow__rec_decode(const unsigned char *p, struct cow__rec *r)
{
	r->id = cow__get64(p);
	r->parent = cow__get64(p + 8);
	r->npages = cow__get64(p + 16);
	r->time_ns = cow__get64(p + 24);
	r->data_pages = cow__get64(p + 32);
	r->written = cow__get64(p + 40);
	r->root = cow__ptr_decode(p + 48);
	r->levels = cow__get32(p + 64);
	r->flags = cow__get32(p + 68);
}

void cow__node_hdr_encode(unsigned char *p, const struct cow__node_hdr *h)
{
	cow__put32(p, h->magic);
	cow__put16(p + 4, h->level);
	cow__put16(p + 6, h->reserved);
	cow__put32(p + 8, h->count);
	cow__put32(p + 12, h->reserved2);
	cow__put64(p + 16, h->first);
	cow__put64(p + 24, h->birth);
}

void cow__node_hdr_decode(const unsigned char *p, struct cow__node_hdr *h)
{
	h->magic = cow__get32(p);
	h->level = cow__get16(p + 4);
	h->reserved = cow__get16(p + 6);
	h->count = cow__get32(p + 8);
	h->reserved2 = cow__get32(p + 12);
	h->first = cow__get64(p + 16);
	h->birth = cow__get64(p + 24);
}

void cow__cat_hdr_encode(unsigned char *p, const struct cow__cat_hdr *h)
{
	cow__put32(p, h->magic);
	cow__put32(p + 4, h->count);
	cow__put64(p + 8, h->txid);
	cow__put32(p + 16, h->index);
	cow__put32(p + 20, h->reserved);
	cow__ptr_encode(p + 24, h->next);
}

void cow__cat_hdr_decode(const unsigned char *p, struct cow__cat_hdr *h)
{
	h->magic = cow__get32(p);
	h->count = cow__get32(p + 4);
	h->txid = cow__get64(p + 8);
	h->index = cow__get32(p + 16);
	h->reserved = cow__get32(p + 20);
	h->next = cow__ptr_decode(p + 24);
}

/* cow__tree_levels — height of a page table of npages pages (see header). */
unsigned cow__tree_levels(uint64_t npages, uint64_t *count)
{
	unsigned levels = 0;
	uint64_t n = npages;

	if (npages == 0 || npages > COW__MAX_PAGES)
		return 0;
	if (count)
		count[0] = n;
	do {
		n = (n + COW__FANOUT - 1) / COW__FANOUT;
		levels++;
		if (count)
			count[levels] = n;
	} while (n > 1);
	return levels;
}
