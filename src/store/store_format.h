/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store_format.h — the on-disk format of a libcow store (docs/STORE.md is the
 * prose version; keep the two in step).
 *
 * A store is one file: an array of 4096-byte blocks. Numbers are little
 * endian. Blocks 0 and 1 are the two root slots; every other block is free, a
 * data block (the raw 4096 bytes of one page), a page-table node, or a
 * catalog block. A pointer to a block is {block number, XXH3_64bits of the
 * block's 4096 bytes}: the checksum of every block lives in the pointer to it
 * (as in ZFS), so a stale, torn, misdirected or flipped block is caught when
 * it is read. Block number 0 in a pointer means "all zeroes, no block".
 *
 *   root slot -> catalog block -> catalog block -> ...   (the checkpoints)
 *   checkpoint record -> page-table root node -> ... -> leaf node -> data
 *
 * Nothing reachable from a durable root slot is ever written again. A
 * transaction writes new blocks, fsyncs, writes the older root slot with
 * txid + 1, fsyncs. At open the valid slot with the higher txid wins.
 */
#ifndef COW_STORE_FORMAT_H
#define COW_STORE_FORMAT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define COW__BLK 4096u                 /* block size == page size */
#define COW__BLK_SHIFT 12
#define COW__SLOTS 2                   /* blocks 0 and 1 are the root slots */
#define COW__MAGIC "COWSTORE"          /* 8 bytes, no terminator on disk */
#define COW__VERSION 1u
#define COW__NODE_MAGIC 0x444e5743u    /* "CWND" little endian */
#define COW__CAT_MAGIC 0x54435743u     /* "CWCT" little endian */

/* Page tables: a radix tree of nodes, 254 pointers per node. */
#define COW__NODE_HDR 32u
#define COW__FANOUT ((COW__BLK - COW__NODE_HDR) / 16u)   /* 254 */
#define COW__MAX_LEVELS 6u                               /* 254^6 > 2^47 */
#define COW__MAX_PAGES (1ull << 36)    /* 256 TiB per checkpoint */

/* Catalog: a chain of blocks of 72-byte checkpoint records. */
#define COW__CAT_HDR 40u
#define COW__CAT_REC 72u
#define COW__CAT_PER_BLOCK ((COW__BLK - COW__CAT_HDR) / COW__CAT_REC)  /* 56 */
#define COW__MAX_CKPTS (1u << 24)

#define COW__SLOT_SIZE 120u            /* bytes of a root slot that matter */

/* A pointer to a block: number (0 = zeroes) and checksum of its content. */
struct cow__ptr {
	uint64_t blk;
	uint64_t sum;
};

/* A root slot, decoded. On disk at offset 0 of block 0 or 1, in this order. */
struct cow__slot {
	char magic[8];            /* COW__MAGIC */
	uint32_t version;         /* COW__VERSION */
	uint32_t block_size;      /* COW__BLK */
	uint64_t txid;            /* +1 per transaction; the higher valid slot wins */
	uint64_t next_id;         /* id of the next checkpoint (ids start at 1) */
	uint64_t nblocks;         /* file size in blocks when the slot was written */
	uint64_t created;         /* CLOCK_REALTIME ns when the store was created */
	uint64_t store_id;        /* random, chosen at creation */
	struct cow__ptr catalog;  /* first catalog block, {0,0} when empty */
	uint32_t ncatalog;        /* catalog blocks in the chain */
	uint32_t nckpts;          /* checkpoint records in the chain */
	uint64_t reserved[4];     /* zero */
	uint64_t sum;             /* XXH3_64bits of the 112 bytes above */
};

/* A checkpoint record, decoded (72 bytes on disk, in this order). */
struct cow__rec {
	uint64_t id;              /* > 0, strictly increasing along the catalog */
	uint64_t parent;          /* checkpoint it was written against, 0 = full */
	uint64_t npages;          /* pages, 1..COW__MAX_PAGES */
	uint64_t time_ns;         /* CLOCK_REALTIME ns at commit */
	uint64_t data_pages;      /* pages stored in a block (not zero) */
	uint64_t written;         /* blocks the commit wrote (data + nodes) */
	struct cow__ptr root;     /* page-table root node, {0,0} = all zero */
	uint32_t levels;          /* height of the page table, cow__tree_levels() */
	uint32_t flags;           /* zero */
};

/* A page-table node header (32 bytes), followed by count pointers. */
struct cow__node_hdr {
	uint32_t magic;           /* COW__NODE_MAGIC */
	uint16_t level;           /* 1 = leaf (points at data), up to levels */
	uint16_t reserved;        /* zero */
	uint32_t count;           /* pointers used, 1..COW__FANOUT */
	uint32_t reserved2;       /* zero */
	uint64_t first;           /* index (at level - 1) of its first pointer */
	uint64_t birth;           /* id of the checkpoint that wrote it */
};

/* A catalog block header (40 bytes), followed by count records. */
struct cow__cat_hdr {
	uint32_t magic;           /* COW__CAT_MAGIC */
	uint32_t count;           /* records in this block, 1..COW__CAT_PER_BLOCK */
	uint64_t txid;            /* transaction that wrote it */
	uint32_t index;           /* position in the chain, from 0 */
	uint32_t reserved;        /* zero */
	struct cow__ptr next;     /* next catalog block, {0,0} for the last */
};

/* ---- little-endian field access ----------------------------------------- */

static inline uint64_t cow__get64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

static inline uint32_t cow__get32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap32(v);
#endif
	return v;
}

static inline uint16_t cow__get16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline void cow__put64(unsigned char *p, uint64_t v)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	memcpy(p, &v, 8);
}

static inline void cow__put32(unsigned char *p, uint32_t v)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap32(v);
#endif
	memcpy(p, &v, 4);
}

static inline void cow__put16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

/* ---- encoding and decoding (store_format.c) ------------------------------ */

/* XXH3_64bits of len bytes; every checksum of the format is this one. */
uint64_t cow__sum(const void *p, size_t len);

/* Fuzzing only: when true, checksums are not compared (so the fuzzer reaches
 * the structure checks behind them). Never set in production. */
extern int cow__store_nosum;

/* 1 when sum is the checksum of the 4096-byte block b (or nosum is set). */
int cow__sum_ok(const void *b, uint64_t sum);

void cow__slot_encode(unsigned char *blk, const struct cow__slot *s);
/* Decode and check magic and checksum: 0, -EBADMSG (bad checksum or magic;
 * *bad_magic is set to 1 when the magic is wrong). */
int cow__slot_decode(const unsigned char *blk, struct cow__slot *s, int *bad_magic);

void cow__rec_encode(unsigned char *p, const struct cow__rec *r);
void cow__rec_decode(const unsigned char *p, struct cow__rec *r);
void cow__ptr_encode(unsigned char *p, struct cow__ptr v);
struct cow__ptr cow__ptr_decode(const unsigned char *p);

void cow__node_hdr_encode(unsigned char *p, const struct cow__node_hdr *h);
void cow__node_hdr_decode(const unsigned char *p, struct cow__node_hdr *h);
void cow__cat_hdr_encode(unsigned char *p, const struct cow__cat_hdr *h);
void cow__cat_hdr_decode(const unsigned char *p, struct cow__cat_hdr *h);

/*
 * Geometry of a page table of npages pages: the number of levels L (>= 1),
 * and count[k] = pointers at level k for k = 0..L (count[0] = npages,
 * count[L] = 1, the root). count may be NULL. Returns 0 for npages 0 or
 * above COW__MAX_PAGES.
 */
unsigned cow__tree_levels(uint64_t npages, uint64_t *count);

#endif
