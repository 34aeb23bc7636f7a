/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * db.h — the dataset, inside one libcow space.
 *
 * Every byte of the dataset lives in the space, allocated from the space
 * heap (cow_heap_*), and every link is an offset (kv_off) from the space's
 * base, never a pointer. So a snapshot of the space is the whole dataset at
 * one instant, a restored space is a whole dataset again, and a checkpoint
 * loaded at another address works as is.
 *
 *   heap root -> struct kv_root: identity, hash seed, the keyspace (a
 *                kv_dict of entries) and the TTL heap (a binary min-heap of
 *                the entries that expire, by expiry time).
 *   kv_dict   -> two bucket arrays (the second one during an incremental
 *                rehash, as in Redis), chains of kv_ent linked by offset.
 *   kv_ent    -> one key: its bytes, type, expiry and value:
 *                string: val = a block of vlen bytes;
 *                hash:   val = a kv_dict of field entries (kv_ent too, whose
 *                        value is the field's bytes);
 *                list:   val = a kv_list (a ring of element offsets).
 *
 * Pointers into the space obtained from these functions stay valid until the
 * block they point into is freed or the space is replaced (FLUSHALL,
 * ROLLBACK to another generation): never across commands.
 *
 * Functions that allocate return -ENOMEM (or NULL with errno ENOMEM) when
 * the heap is full and leave the structure as it was.
 */
#ifndef COWKV_DB_H
#define COWKV_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cow.h>

typedef uint64_t kv_off;

enum kv_type {
	KV_NONE = 0,
	KV_STRING = 1,
	KV_HASH = 2,
	KV_LIST = 3,
	KV_FIELD = 4,   /* an entry of a hash's dict */
};

struct kv_dict {
	uint64_t count;
	kv_off tab[2];          /* bucket arrays of kv_off */
	uint64_t size[2];       /* buckets in each (a power of two), 0 = none */
	int64_t rehash;         /* next bucket of tab[0] to move, -1 when not rehashing */
};

struct kv_ent {
	kv_off next;            /* next entry of the bucket */
	uint64_t hash;
	kv_off val;             /* see above; 0 for an empty string */
	uint64_t vlen;          /* string and field: bytes at val */
	int64_t expire;         /* unix time in ms; 0 = never */
	uint64_t ttl_pos;       /* index in the TTL heap when expire != 0 */
	uint32_t klen;
	uint8_t type;
	uint8_t pad[3];
	char key[];             /* klen bytes, then a NUL */
};

struct kv_list {
	uint64_t head;          /* slot of the first element */
	uint64_t count;
	uint64_t cap;           /* slots in arr (a power of two, or 0) */
	kv_off arr;             /* ring of element offsets (struct kv_elem) */
};

struct kv_elem {
	uint64_t len;
	char data[];
};

struct kv_ttl {
	uint64_t count;
	uint64_t cap;
	kv_off arr;             /* entry offsets, a min-heap on kv_ent.expire */
};

#define KV_MAGIC 0x31766b776f63ull   /* "cowkv1" */
#define KV_VERSION 2u   /* 2: kv_root.funcs (issue 15); version 1 roots are upgraded */

struct kv_root {
	uint64_t magic;
	uint32_t version;
	uint32_t pad;
	uint64_t seed;          /* hash seed, random at creation */
	int64_t created_ms;
	struct kv_dict keys;
	struct kv_ttl ttl;
	/* ---- issue 15 ---- */
	kv_off funcs;           /* FUNCTION libraries (function.c), 0 = none */
};

/* The process-side handle on the dataset. */
struct kvdb {
	cow_space *space;
	cow_heap *heap;
	char *base;             /* cow_base(space) */
	size_t size;            /* cow_size(space) */
	struct kv_root *root;
	uint64_t gen;           /* bumped each time the space is replaced */
	int64_t now_ms;         /* the clock for the current command */
	uint64_t expired;       /* keys removed because they expired */
};

static inline void *kv_ptr(const struct kvdb *db, kv_off off)
{
	return off ? db->base + off : NULL;
}

static inline kv_off kv_offof(const struct kvdb *db, const void *p)
{
	return p ? (kv_off)((const char *)p - db->base) : 0;
}

/* ---- life cycle (db.c) ---------------------------------------------- */

/* A new, empty dataset in a new space of @p size bytes. 0 or -errno. */
int kvdb_create(struct kvdb *db, size_t size);
/* Take over space s (loaded, or a fork of a snapshot), which must hold a
 * dataset. 0; -EBADMSG (not a cowkv dataset), -ENOMEM... On failure s is
 * still the caller's. */
int kvdb_attach(struct kvdb *db, cow_space *s);
/* Close the heap handle and destroy the space. */
void kvdb_close(struct kvdb *db);
/* Make *fresh (created or attached with fresh->gen = db->gen) the dataset
 * in place of *db, which is closed; the counters carry over. */
void kvdb_replace(struct kvdb *db, struct kvdb *fresh);
/* Re-read the root after cow_restore() of the space. 0 or -EBADMSG. */
int kvdb_reload(struct kvdb *db);
/* Bytes allocated in the heap (used_memory), and the heap's size. */
uint64_t kvdb_used(const struct kvdb *db);
/* Empty the dataset in place (FLUSHALL): the heap is formatted again in the
 * same space and a new root made, in time independent of the space's size
 * and of the data (the old blocks are simply forgotten; their pages are
 * reused by later allocations). The space, its generation and SNAPSHOTs of
 * it stay valid. 0 or -errno (then the dataset may be gone: the caller
 * replaces it with kvdb_create()). */
int kvdb_reset(struct kvdb *db);

/* ---- the key-event hook (issue 13 part B) ------------------------------ */

/* Called by db.c just before it deletes an entry because it expired (lazy
 * expiry in kv_find/kv_random, active expiry in kv_expire_cycle), with the
 * entry still whole. The server sets it once at start (WATCH, keyspace
 * notifications); NULL means nobody listens. It must not change the
 * keyspace. Every other change is signalled by the command layer
 * (cmd_call() and keyspace_changed(), see server.h). */
extern void (*kv_expire_hook)(struct kvdb *db, const struct kv_ent *e);
/* Called by kv_add() after a new key entered the keyspace (the "new"
 * keyspace event). Same rules as kv_expire_hook. */
extern void (*kv_new_hook)(struct kvdb *db, const struct kv_ent *e);

/* ---- keyspace ---------------------------------------------------------- */

/* Hash of a key or field with the dataset's seed. */
uint64_t kv_hash(const struct kvdb *db, const void *key, size_t len);

/* True if e has expired at db->now_ms. */
static inline bool kv_expired(const struct kvdb *db, const struct kv_ent *e)
{
	return e->expire != 0 && e->expire <= db->now_ms;
}

/* The live entry of key, or NULL; an expired one is deleted on the way. */
struct kv_ent *kv_find(struct kvdb *db, const char *key, size_t klen);
/* A new entry for key (which must not exist), of the given type, with no
 * value and no expiry. NULL with errno ENOMEM. */
struct kv_ent *kv_add(struct kvdb *db, const char *key, size_t klen,
		      enum kv_type type);
/* Delete key; returns 1 if it existed (and was live), else 0. */
int kv_delete(struct kvdb *db, const char *key, size_t klen);
/* Delete entry e of the keyspace (its value, its expiry). */
void kv_delete_ent(struct kvdb *db, struct kv_ent *e);
/* Free e's value and make it an empty value of a new type. */
void kv_clear_value(struct kvdb *db, struct kv_ent *e, enum kv_type type);
/* Set e's expiry (unix ms; 0 = persist). 0 or -ENOMEM. */
int kv_set_expire(struct kvdb *db, struct kv_ent *e, int64_t when);
/* Move entry e to key newkey (which must not exist): a new entry takes over
 * e's value and expiry; e is freed. Returns the new entry or NULL/ENOMEM. */
struct kv_ent *kv_rename(struct kvdb *db, struct kv_ent *e, const char *newkey,
			 size_t nlen);
/* Keys in the keyspace (expired ones not yet removed included). */
uint64_t kv_count(const struct kvdb *db);
/* Keys that have an expiry. */
uint64_t kv_volatile(const struct kvdb *db);
/* Delete expired keys, oldest first, at most max of them. Returns how many. */
size_t kv_expire_cycle(struct kvdb *db, size_t max);
/* A random live key's entry, or NULL if there is none. rnd: random bits. */
struct kv_ent *kv_random(struct kvdb *db, uint64_t (*rnd)(void));

/* ---- dictionaries (dict.c) --------------------------------------------- */

typedef void kv_visit_fn(struct kvdb *db, struct kv_ent *e, void *arg);

void dict_init(struct kv_dict *d);
/* The entry whose key is key/klen (hash h), or NULL. If link is not NULL it
 * receives the address of the offset that points at the entry. Does one
 * step of an incremental rehash first. */
struct kv_ent *dict_find(struct kvdb *db, struct kv_dict *d, const char *key,
			 size_t klen, uint64_t h, kv_off **link);
/* Link entry e (hash and key set, not in d) into d. Grows d when it can
 * (a failed growth only leaves d fuller). 0, or -ENOMEM when d has no
 * table yet and none could be allocated. */
int dict_link(struct kvdb *db, struct kv_dict *d, struct kv_ent *e);
/* Unlink entry e from d (the caller frees it). */
void dict_unlink(struct kvdb *db, struct kv_dict *d, struct kv_ent *e);
/* Move up to n buckets of an incremental rehash; true if more remain. */
bool dict_rehash(struct kvdb *db, struct kv_dict *d, size_t n);
/* Shrink d's table when it is mostly empty (starts a rehash). */
void dict_maybe_shrink(struct kvdb *db, struct kv_dict *d);
/* Call fn on every entry (fn must not change d). */
void dict_each(struct kvdb *db, struct kv_dict *d, kv_visit_fn *fn, void *arg);
/* One step of a SCAN: visit the bucket(s) at cursor v, return the next
 * cursor (0 when done). Guarantees of Redis's dictScan: every entry present
 * for the whole scan is visited at least once, across resizes. */
uint64_t dict_scan(struct kvdb *db, struct kv_dict *d, uint64_t v,
		   kv_visit_fn *fn, void *arg);
/* A random entry (d not empty): a random non-empty bucket, then a random
 * entry of its chain. */
struct kv_ent *dict_random(struct kvdb *db, struct kv_dict *d, uint64_t (*rnd)(void));
/* Free the bucket arrays (entries are the caller's). */
void dict_free_tables(struct kvdb *db, struct kv_dict *d);

/* ---- values (value.c) -------------------------------------------------- */

/* Allocate an entry block for key with the given type (not linked). */
struct kv_ent *ent_new(struct kvdb *db, const char *key, size_t klen,
		       uint64_t h, enum kv_type type);
/* Free an entry block and its value. */
void ent_free(struct kvdb *db, struct kv_ent *e);
/* The string bytes of e (NULL when empty). */
static inline char *ent_bytes(const struct kvdb *db, const struct kv_ent *e)
{
	return kv_ptr(db, e->val);
}
/* Replace e's bytes with n bytes at p. 0 or -ENOMEM (e unchanged). */
int ent_set_bytes(struct kvdb *db, struct kv_ent *e, const void *p, size_t n);
/* Make e's bytes n long, keeping the first min(n, vlen) and zero-filling
 * the rest; the bytes stay where they were when they fit. 0 or -ENOMEM. */
int ent_resize_bytes(struct kvdb *db, struct kv_ent *e, size_t n);

/* Hashes: the field dict of a hash entry, created on demand. */
struct kv_dict *hash_dict(struct kvdb *db, struct kv_ent *e, bool create);
struct kv_ent *hash_get(struct kvdb *db, struct kv_ent *e, const char *f, size_t flen);
/* Set field f to v; returns 1 (new field), 0 (updated), -ENOMEM. */
int hash_set(struct kvdb *db, struct kv_ent *e, const char *f, size_t flen,
	     const char *v, size_t vlen);
/* Delete field f; 1 if it existed. */
int hash_del(struct kvdb *db, struct kv_ent *e, const char *f, size_t flen);
uint64_t hash_len(struct kvdb *db, struct kv_ent *e);

/* Lists. */
struct kv_list *list_of(struct kvdb *db, struct kv_ent *e, bool create);
/* Push an element at the head (left) or tail. 0 or -ENOMEM. */
int list_push(struct kvdb *db, struct kv_ent *e, bool left, const char *p, size_t n);
/* Pop the head or tail element: returns it (the caller copies the bytes,
 * then frees it with list_elem_free), or NULL when empty. */
struct kv_elem *list_pop(struct kvdb *db, struct kv_ent *e, bool left);
void list_elem_free(struct kvdb *db, struct kv_elem *el);
/* Element i (0 = head), or NULL. */
struct kv_elem *list_at(struct kvdb *db, struct kv_ent *e, uint64_t i);
uint64_t list_len(struct kvdb *db, struct kv_ent *e);

#endif
