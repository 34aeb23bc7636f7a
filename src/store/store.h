/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store.h — the store's internals, shared by src/store*.c, the tests and
 * background save. The format is in store_format.h, the I/O layer in
 * store_io.h, the public interface in include/cow.h.
 *
 * Concepts:
 *   blocks      the free-space map: a reference count per block of the file,
 *               rebuilt at open from the checkpoints (store_blocks.c);
 *   tree        a checkpoint's page table (page -> block), in memory as
 *               leaves shared between trees and one pointer array per upper
 *               level, on disk as nodes (store_tree.c);
 *   build       a checkpoint being written: begin, write/keep/zero pages
 *               (from any thread), finish or abort (store.c);
 *   lineage     the page table of a recent checkpoint and, when the engine
 *               is there, a clone of the snapshot it was written from, so
 *               the next commit of the same space writes only what changed.
 */
#ifndef COW_STORE_H
#define COW_STORE_H

#include <pthread.h>
#include <sys/types.h>
#include <stdint.h>

#include "internal.h"
#include "store_format.h"
#include "store_io.h"

/* ---- blocks: reference counts and allocation (store_blocks.c) ------------ */

struct cow__blocks {
	pthread_mutex_t lock;  /* guards everything below */
	uint32_t *rc;          /* references per block; the slots hold 1 forever */
	uint64_t n;            /* blocks in the file (high-water mark) */
	uint64_t cap;          /* entries allocated in rc */
	uint64_t cursor;       /* where the search for a free block starts */
	uint64_t nfree;        /* blocks below n whose count is 0 */
	int64_t promised;      /* blocks reserved by builds in progress */
};

/* Set up for a file of n blocks (n >= COW__SLOTS), every count 0 but the
 * slots'. 0 or -ENOMEM. */
int cow__blocks_init(struct cow__blocks *b, uint64_t n);
void cow__blocks_destroy(struct cow__blocks *b);

/* Promise extra more blocks (a build's pages and nodes): the map keeps
 * room for the file's blocks plus every promise, so allocating them later
 * needs no memory allocation. A negative extra takes a promise back.
 * Takes the lock. 0 or -ENOMEM. */
int cow__blocks_reserve(struct cow__blocks *b, int64_t extra);

/*
 * The functions below expect b->lock held.
 *
 * cow__blocks_alloc: a run of 1..want consecutive free blocks (*got of them),
 * each count set to 1; reuses freed blocks first, else grows the file.
 * Returns the first block, or 0 with errno ENOMEM.
 */
uint64_t cow__blocks_alloc(struct cow__blocks *b, uint64_t want, uint64_t *got);
/* Count + 1. */
void cow__blocks_ref(struct cow__blocks *b, uint64_t blk);
/* Count - 1; at 0 the block is free for reuse. Returns the new count. */
uint32_t cow__blocks_unref(struct cow__blocks *b, uint64_t blk);

/* ---- trees: page tables (store_tree.c) ----------------------------------- */

struct cow__slab;

/*
 * A leaf of a page table in memory: the pointers of the (up to) COW__FANOUT
 * pages of one level-1 node. Trees share leaves the way checkpoints share
 * nodes on disk: a build starts with its parent's leaves and copies one the
 * first time it changes a page of it (cow__tree_own), so a save costs the
 * leaves it changes, not the pages of the space. A leaf held by more than
 * one tree is never written.
 */
struct cow__leaf {
	struct cow__ptr p[COW__FANOUT];
	struct cow__slab *slab;   /* the tree's slab it lives in */
	int refs;                 /* trees holding it (atomic) */
	uint32_t ndata;           /* non-zero pointers (set by cow__tree_seal) */
};

struct cow__tree {
	uint64_t id;                                /* checkpoint, 0 while built */
	uint64_t npages;
	unsigned levels;                            /* >= 1 */
	uint64_t count[COW__MAX_LEVELS + 1];        /* pointers per level */
	struct cow__leaf **leaf;                    /* count[1] leaves; NULL: zeroes */
	struct cow__ptr *lvl[COW__MAX_LEVELS + 1];  /* lvl[1..levels]: nodes
						       (lvl[levels][0]: root);
						       lvl[0] is NULL: pages are
						       in the leaves */
	struct cow__slab *slab;                     /* room for a leaf of its own
						       at every position j */
	int refs;                                   /* holders (under the store lock) */
};

/* A tree for npages pages, every pointer {0,0} (no leaf), refs 1. Its
 * slab is address space only: memory is taken as leaves are made. NULL,
 * errno ENOMEM or EINVAL (npages 0 or above COW__MAX_PAGES). */
struct cow__tree *cow__tree_new(uint64_t npages);
/* Drop a reference (under the store lock); frees at 0, and with it the
 * leaves no other tree holds. NULL is ignored. */
void cow__tree_put(struct cow__tree *t);

/* Pages in leaf j of t (COW__FANOUT but for the last). */
uint32_t cow__tree_leaf_pages(const struct cow__tree *t, uint64_t j);
/* Page i's pointer ({0,0} for a zero page). */
struct cow__ptr cow__tree_ptr(const struct cow__tree *t, uint64_t i);
/* The pointers of leaf j, or NULL when its pages are all zeroes. */
const struct cow__ptr *cow__tree_leaf(const struct cow__tree *t, uint64_t j);
/*
 * Leaf j of t made t's own, to be written: a copy of the leaf it shared
 * (zeroes for none). Allocates nothing (a page of t's slab is touched), so
 * it may run in a fault handler. Returns the leaf.
 */
struct cow__leaf *cow__tree_own(struct cow__tree *t, uint64_t j);
/* Leaf j of t becomes from's leaf j (shared), or zeroes with from NULL.
 * The leaf t had is dropped: release the blocks it held first. */
void cow__tree_share(struct cow__tree *t, uint64_t j, const struct cow__tree *from);
/* 1 if leaf j of t is its own (cow__tree_own), not shared or absent. */
int cow__tree_owns(const struct cow__tree *t, uint64_t j);
/* 1 if t and u hold the same leaf j (or both none). */
int cow__tree_same_leaf(const struct cow__tree *t, const struct cow__tree *u, uint64_t j);
/* Count the data pointers of t's own leaf j (ndata), and drop it in favour
 * of none when all its pointers are zero. Before a tree is shared. */
void cow__tree_seal(struct cow__tree *t, uint64_t j);
/* Data pages of leaf j (a sealed or read tree). */
uint32_t cow__tree_leaf_data(const struct cow__tree *t, uint64_t j);

struct cow_store;

/*
 * Read checkpoint r's page table from the file, checking every node.
 * *out gets a new tree (refs 1). 0, -EBADMSG (st->msg says what), -EIO,
 * -ENOMEM.
 */
int cow__tree_read(struct cow_store *st, const struct cow__rec *r,
		   struct cow__tree **out);

/* Drop the catalog's reference to t's root and what dies with it (see
 * store_tree.c). Clobbers t's pointers. */
void cow__tree_unref(struct cow_store *st, struct cow__tree *t);

/*
 * Read the blocks of n pointers into buf (n * COW__BLK bytes; zeroes for
 * {0,0}), one read per run of consecutive blocks, and check each checksum.
 * 0, -EIO..., or -EBADMSG with *bad the index of the first wrong block (no
 * message recorded: the caller knows what the blocks are).
 */
int cow__read_blocks(struct cow_store *st, const struct cow__ptr *p, size_t n,
		     unsigned char *buf, size_t *bad);

/* The same, only checking: reads in pieces of COW__READ_CHUNK blocks into
 * scratch (that many blocks). */
#define COW__READ_CHUNK 16u
int cow__check_blocks(struct cow_store *st, const struct cow__ptr *p, size_t n,
		      unsigned char *scratch, size_t *bad);

/*
 * Walk checkpoint r's page table adding one reference per pointer held by a
 * distinct node (and one for the root), into rc[] (n blocks). kind[] records
 * what each block was reached as, to catch a block reached as two things.
 * With check_data every data block is read once and its checksum checked.
 * 0, -EBADMSG (st->msg says what), -EIO, -ENOMEM.
 */
struct cow__walk {
	struct cow_store *st;
	uint32_t *rc;
	uint8_t *kind;
	uint64_t n;
	int check_data;
	unsigned char *buf;         /* scratch: COW__READ_CHUNK blocks */
	const struct cow__rec *rec;
};
int cow__walk_tree(struct cow__walk *w);

/* Kinds of block for cow__walk (and verify). */
enum { COW__K_FREE, COW__K_SLOT, COW__K_CAT, COW__K_DATA, COW__K_NODE /* + level - 1 */ };

/* ---- the store ----------------------------------------------------------- */

struct cow__ckpt {
	struct cow__rec rec;
	int damaged;        /* read-only opens: the error found at open, else 0 */
	int pinned;         /* loaded through this handle: blocks kept until close */
};

#define COW__LINEAGES 4

struct cow__lineage {
	struct cow__tree *tree;      /* page table of checkpoint tree->id */
	void *snap;                  /* what that checkpoint was written from, or NULL */
	void (*release)(void *snap); /* releases snap */
	uint64_t used;               /* LRU stamp */
};

struct cow__build;

struct cow_store {
	uint64_t serial;             /* unique among this process's handles: a space
	                                remembers (handle, serial, checkpoint) of its
	                                last save, and a new handle at the same
	                                address must not pass for the old one */
	int fd;                      /* reads and writes, holds the flock */
	int rfd;                     /* a second open file for loaded snapshots */
	int flags;
	pthread_mutex_t lock;        /* transactions, catalog, lineages, builders, msg */
	struct cow__blocks blocks;
	struct cow__slot slot;       /* the durable root */
	int cur;                     /* its slot, 0 or 1 */
	struct cow__ckpt *ck;        /* the catalog, ids increasing */
	size_t nck;
	uint64_t *cat;               /* blocks of the catalog chain */
	size_t ncat;
	struct cow__build *builders; /* checkpoints being written */
	struct cow__lineage lin[COW__LINEAGES];
	uint64_t clock;              /* LRU clock of lin */
	int failed;                  /* -EIO once an fsync failed: writes refused
					(atomic: writer threads may set it) */
	pid_t pid;                   /* the process that opened it */
	char *path;                  /* the file's absolute path at open, and */
	dev_t dev;                   /* its device and inode: a write is refused */
	ino_t ino;                   /* once the path names another file, or none */
	unsigned held;               /* dropped checkpoints whose blocks are held */
	char msg[256];               /* what the last failure was */
};

/* Record a description of a failure in st->msg (printf-style); returns err. */
int cow__store_fail(struct cow_store *st, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The in-memory record of checkpoint id, or NULL. Under st->lock. */
struct cow__ckpt *cow__store_find(struct cow_store *st, uint64_t id);

/* Put the handle in the failed state (from any thread). */
void cow__store_set_failed(struct cow_store *st);

/* 0 if st may be written; else -EROFS, -ESTALE (a child of fork()) or
 * -EIO (failed handle), with a message. */
int cow__store_writable(struct cow_store *st);

/* Make ck[0..n) (and next_id) the durable catalog: catalog blocks, fsync,
 * older root slot, fsync (store.c). Under st->lock. On success st owns ck. */
int cow__store_txn(struct cow_store *st, struct cow__ckpt *ck, size_t n,
		   uint64_t next_id);

/* Checkpoint ck's page table (a lineage's or read from the file), with a
 * reference for the caller. Under st->lock. */
int cow__store_tree(struct cow_store *st, const struct cow__ckpt *ck,
		    struct cow__tree **out);

/* Read every page of t into buf, checking checksums (buf NULL: only check).
 * Under st->lock. 0, -EBADMSG (message set), -EIO, -ENOMEM. */
int cow__store_read_tree(struct cow_store *st, const struct cow__tree *t,
			 unsigned char *buf);

/* Times a read-only handle starts reading again when a writer committed
 * under it (see load_view() in store.c). */
#define COW__RELOADS 32

/* 1 if the newest root on disk is not the one st read (a writer committed
 * since), else 0. Under st->lock. */
int cow__store_moved(struct cow_store *st);

/* A read-only handle moves to the newest root on disk (on failure it keeps
 * its view). Under st->lock. 0, -EBADMSG, -EAGAIN, -EIO, -ENOMEM. */
int cow__store_refresh(struct cow_store *st);

/* 1 if a build in progress has checkpoint id as its parent. Under st->lock. */
int cow__store_parent_busy(struct cow_store *st, uint64_t id);

/* ---- building a checkpoint (hooks for background save) ------------------- */

/*
 * Begin a checkpoint of npages pages. parent is 0, or a committed checkpoint
 * of the same size whose pages cow__store_keep() may share (it cannot be
 * dropped until the build ends: -EBUSY). Allocates the in-memory page table
 * (sharing the parent's leaves) and reserves room in the block map so that
 * later writes call no allocator; no block is allocated yet. *out is the
 * builder.
 * 0, -EINVAL, -EROFS, -EIO (failed handle), -ENOENT (no such parent, or
 * any parent on a store opened with COW_STORE_FULL_COMMITS: callers then
 * begin again without one),
 * -ENOMEM, -EBADMSG (the parent's page table is corrupt).
 */
int cow__store_begin(struct cow_store *st, uint64_t npages, uint64_t parent,
		     struct cow__build **out);

/*
 * Write pages [first, first + n) of the checkpoint from buf (n * 4096
 * bytes). Zero pages get no block. Thread-safe: several threads may write
 * different pages at once; writing a page again replaces it. Takes only the
 * block map's mutex and calls no allocator: a leaf of the page table it
 * changes takes a page of the tree's reserved slab (async-signal-safe as
 * long as the interrupted thread cannot hold that mutex: the store never
 * runs user code or touches a space while holding it).
 * 0, -EINVAL (range), -EIO, -ENOSPC... (the write's error; the build is
 * then failed: finish returns the error).
 */
int cow__store_write(struct cow__build *b, uint64_t first, uint64_t n,
		     const void *buf);

/* The same for n pages in any order: page idx[k] is the k-th page of buf
 * (n * 4096 bytes). Consecutive blocks in the file, one write per 64 pages
 * whatever the indices: the way to write scattered changed pages. */
int cow__store_write_pages(struct cow__build *b, const uint64_t *idx, uint64_t n,
			   const void *buf);

/* Pages [first, first + n) are those of the parent (-EINVAL without one). */
int cow__store_keep(struct cow__build *b, uint64_t first, uint64_t n);

/* Pages [first, first + n) are zero. */
int cow__store_zero(struct cow__build *b, uint64_t first, uint64_t n);

/*
 * Commit the checkpoint: write its page table and the catalog, fsync, write
 * the root slot, fsync. Every page must have been written, kept or zeroed,
 * and every write must have returned. Always consumes b (on failure the
 * checkpoint is aborted). On success *id is its id and its page table
 * becomes a lineage (replacing the parent's). 0, -EINVAL (a page was never
 * set), the build's write error, -EIO (the handle is then failed), -ENOSPC,
 * -ENOMEM.
 */
int cow__store_finish(struct cow__build *b, uint64_t *id);

/* Forget the checkpoint: its blocks become free. NULL is ignored. */
void cow__store_abort(struct cow__build *b);

/* The id the next checkpoint will get (tests). */
uint64_t cow__store_next_id(struct cow_store *st);

/*
 * Attach what checkpoint id was written from to its lineage (the engine's
 * clone of the snapshot). Takes ownership of snap: release(snap) is called
 * when the lineage is replaced, dropped or closed (or now, when id has no
 * lineage). Under no lock.
 */
void cow__store_lineage_attach(struct cow_store *st, uint64_t id, void *snap,
			       void (*release)(void *));

/*
 * Remember tree (a checkpoint's page table) as a lineage, replacing the one
 * of checkpoint replace (if any, else the least recently used). Takes a
 * reference on tree. Under st->lock.
 */
void cow__store_lineage_put(struct cow_store *st, struct cow__tree *tree,
			    uint64_t replace);

/* Read the whole content of checkpoint id into buf (its size), checking
 * every checksum (tests, cow_store_load with COW_STORE_VERIFY_LOAD). */
int cow__store_read(struct cow_store *st, uint64_t id, void *buf, size_t len);

/* Compare the in-memory block counts with a recount from the file (tests).
 * 0, or -EBADMSG naming the first block that differs. */
int cow__store_check_counts(struct cow_store *st);

#endif
