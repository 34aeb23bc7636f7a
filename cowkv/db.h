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
 *   heap root -> struct kv_root: identity, hash seed, and the logical
 *                databases (SELECT n): an array of kv_keyspace, each a
 *                keyspace (a kv_dict of entries) and a TTL heap (a binary
 *                min-heap of its entries that expire, by expiry time).
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
	/* ---- sets and sorted sets (t_set.c, t_zset.c) ---- */
	KV_SET = 5,     /* val = a kv_dict of KV_FIELD entries without bytes */
	KV_ZSET = 6,    /* val = a kv_zset */
	KV_ZMEMBER = 7, /* an entry of a zset's dict: val = its skiplist node */
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
	uint8_t enc;            /* ENC_* flags: an encoding that sticks (OBJECT ENCODING) */
	uint8_t pad[2];
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

/* ---- sorted sets (t_zset.c) ----
 * A dict member -> entry (KV_ZMEMBER, whose val is its node) plus a skiplist
 * ordered by (score, member) with spans for ranks, as Redis's zset, by
 * offsets. A node's member bytes are its entry's key. */
#define ZSL_MAXLEVEL 32

struct kv_zlevel {
	kv_off fwd;
	uint64_t span;          /* nodes skipped by fwd */
};

struct kv_znode {
	double score;
	kv_off ent;             /* the member's entry (0 for the header) */
	kv_off back;
	uint32_t level;
	uint32_t pad;
	struct kv_zlevel lv[];
};

struct kv_zset {
	struct kv_dict dict;
	kv_off header;
	kv_off tail;
	uint64_t length;
	uint32_t level;
	uint32_t pad;
};

/* kv_ent.enc flags: Redis converts an encoding one way only. */
#define ENC_BIG    0x01     /* hashtable / skiplist (not listpack/intset) */
#define ENC_RAW    0x02     /* string: raw (APPEND, SETRANGE, SETBIT...) */
#define ENC_NOTINT 0x04     /* set: not an intset any more; string: never "int" */
#define ENC_UNSHARED 0x08   /* string: an own copy (COPY), not a shared integer */

#define KV_MAGIC 0x31766b776f63ull   /* "cowkv1" */
/* 2: kv_root.funcs (issue 15); 3: logical databases (kv_root.dbs). Roots
 * of versions 1 and 2 are upgraded when attached: their keys become db 0. */
#define KV_VERSION 3u

/* One logical database: its keys and the TTL heap of those that expire. An
 * entry does not know its database: MOVE relinks it, SWAPDB swaps two of
 * these structs. */
struct kv_keyspace {
	struct kv_dict keys;
	struct kv_ttl ttl;
};

struct kv_root {
	uint64_t magic;
	uint32_t version;
	uint32_t pad;
	uint64_t seed;          /* hash seed, random at creation */
	int64_t created_ms;
	uint64_t ndb;           /* databases in dbs (the --databases setting) */
	kv_off dbs;             /* array of ndb struct kv_keyspace */
	kv_off funcs;           /* FUNCTION libraries (function.c), 0 = none */
};

/* The number of logical databases (--databases, default 16): the size of
 * the dbs array of a root made or attached from now on. Set once at start,
 * before the dataset is made or loaded. */
extern unsigned kv_databases;
#define KV_DATABASES_MAX (1u << 20)

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
	unsigned cur;           /* the database keyspace functions act on (the
				 * running command's client's SELECTed db) */
};

static inline void *kv_ptr(const struct kvdb *db, kv_off off)
{
	return off ? db->base + off : NULL;
}

static inline kv_off kv_offof(const struct kvdb *db, const void *p)
{
	return p ? (kv_off)((const char *)p - db->base) : 0;
}

/* Database i of the root (i < root->ndb). */
static inline struct kv_keyspace *kv_ks_at(const struct kvdb *db, unsigned i)
{
	return (struct kv_keyspace *)kv_ptr(db, db->root->dbs) + i;
}

/* The current database (db->cur). */
static inline struct kv_keyspace *kv_ks(const struct kvdb *db)
{
	return kv_ks_at(db, db->cur);
}

/* The databases of the dataset (== kv_databases once attached). */
static inline unsigned kv_ndb(const struct kvdb *db)
{
	return (unsigned)db->root->ndb;
}

/* ---- life cycle (db.c) ---------------------------------------------- */

/* A new, empty dataset in a new space of @p size bytes. 0 or -errno. */
int kvdb_create(struct kvdb *db, size_t size);
/* Take over space s (loaded, or a fork of a snapshot), which must hold a
 * dataset. An older root is upgraded in place (versions 1 and 2: the keys
 * become db 0) and the dbs array is grown to kv_databases. 0; -EBADMSG
 * (not a cowkv dataset), -E2BIG (keys in a database >= kv_databases),
 * -ENOMEM... On failure s is still the caller's (maybe upgraded). */
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
/* Keys in the current database (expired ones not yet removed included). */
uint64_t kv_count(const struct kvdb *db);
/* Keys of the current database that have an expiry. */
uint64_t kv_volatile(const struct kvdb *db);
/* Keys in all the databases. */
uint64_t kv_count_all(const struct kvdb *db);
/* Delete expired keys, oldest first in each database, at most max of them
 * in all, visiting at most KV_EXPIRE_DBS databases: from where the last
 * call stopped, in turn (as Redis's cycle visits 16 per call). db->cur is
 * each database while its keys go (the expiry hook sees it), and is
 * restored. Returns how many. */
#define KV_EXPIRE_DBS 16
size_t kv_expire_cycle(struct kvdb *db, size_t max);
/* MOVE: entry e of the current database goes to database to (!= cur, its
 * key not there), value and expiry with it; the entry stays the same block.
 * 0 or -ENOMEM (nothing changed). */
int kv_move(struct kvdb *db, struct kv_ent *e, unsigned to);
/* SWAPDB: databases a and b trade their contents. */
void kv_swap(struct kvdb *db, unsigned a, unsigned b);
/* FLUSHDB: free every entry of database i (O(its keys)); the others and
 * the space stay as they are. */
void kv_flush_one(struct kvdb *db, unsigned i);
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
/* dict_table_entries — entries in d's array t (0: main, 1: the rehash
 * target) by walking its chains, and its buckets in *buckets_out (0: no
 * such array). O(buckets): for DEBUG HTSTATS. */
uint64_t dict_table_entries(const struct kvdb *db, const struct kv_dict *d, int t,
			    uint64_t *buckets_out);
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

/* ---- lists, more (t_list.c) --------------------------------------------- */

/* Insert n bytes at p before position i (0..count). 0 or -ENOMEM. */
int list_insert(struct kvdb *db, struct kv_ent *e, uint64_t i, const char *p, size_t n);
/* Remove and free the element at i (< count). */
void list_remove(struct kvdb *db, struct kv_ent *e, uint64_t i);
/* Replace the element at i (< count) by n bytes at p. 0 or -ENOMEM. */
int list_replace(struct kvdb *db, struct kv_ent *e, uint64_t i, const char *p, size_t n);
/* LREM: remove up to |count| elements equal to p/n (all if 0), from the
 * head (count >= 0) or the tail. Returns how many. */
uint64_t list_remove_matching(struct kvdb *db, struct kv_ent *e, const char *p, size_t n,
			      long long count);

/* ---- sets (t_set.c): a dict of members, like a hash without values ------ */

/* Add member m; 1 (added), 0 (present), -ENOMEM. */
int set_add(struct kvdb *db, struct kv_ent *e, const char *m, size_t mlen);
/* Remove member m; 1 if it was there. */
int set_del(struct kvdb *db, struct kv_ent *e, const char *m, size_t mlen);
bool set_has(struct kvdb *db, struct kv_ent *e, const char *m, size_t mlen);
uint64_t set_len(struct kvdb *db, struct kv_ent *e);
/* A random entry of d (not empty), each as likely as the others (when no
 * chain is longer than 8). */
struct kv_ent *dict_fair_random(struct kvdb *db, struct kv_dict *d, uint64_t (*rnd)(void));
/* A random member's entry (set not empty). */
struct kv_ent *set_random(struct kvdb *db, struct kv_ent *e, uint64_t (*rnd)(void));

/* ---- sorted sets (t_zset.c) -------------------------------------------- */

struct kv_zset *zset_of(struct kvdb *db, struct kv_ent *e, bool create);
/* The member entry of m, or NULL; its score is zm_score(). */
struct kv_ent *zset_get(struct kvdb *db, struct kv_ent *e, const char *m, size_t mlen);
static inline struct kv_znode *zm_node(const struct kvdb *db, const struct kv_ent *m)
{
	return kv_ptr(db, m->val);
}
static inline double zm_score(const struct kvdb *db, const struct kv_ent *m)
{
	return zm_node(db, m)->score;
}
static inline struct kv_ent *zn_ent(const struct kvdb *db, const struct kv_znode *n)
{
	return kv_ptr(db, n->ent);
}
/* Set m's score (adding m if new): 1 added, 0 updated, -ENOMEM. */
int zset_set(struct kvdb *db, struct kv_ent *e, const char *m, size_t mlen, double score);
/* Remove member m: 1 if it was there. */
int zset_del(struct kvdb *db, struct kv_ent *e, const char *m, size_t mlen);
uint64_t zset_len(struct kvdb *db, struct kv_ent *e);
/* 0-based rank of member entry m (ascending). */
uint64_t zset_rank(struct kvdb *db, struct kv_zset *z, struct kv_ent *m);
/* The node at 0-based rank r (< length), or NULL. */
struct kv_znode *zset_at(struct kvdb *db, struct kv_zset *z, uint64_t r);
static inline struct kv_znode *zn_next(const struct kvdb *db, const struct kv_znode *n)
{
	return kv_ptr(db, n->lv[0].fwd);
}
static inline struct kv_znode *zn_prev(const struct kvdb *db, const struct kv_znode *n)
{
	return kv_ptr(db, n->back);
}
/* Score ranges ([min, max], either end exclusive) and lex ranges (an end
 * with inf -1 is "-", +1 is "+"). */
struct zrange_spec {
	double min, max;
	bool minex, maxex;
};
struct zlex_spec {
	const char *min, *max;
	size_t minlen, maxlen;
	bool minex, maxex;
	int mininf, maxinf;
};
bool zspec_gte_min(const struct zrange_spec *r, double v);
bool zspec_lte_max(const struct zrange_spec *r, double v);
bool zlex_gte_min(const struct zlex_spec *r, const char *s, size_t n);
bool zlex_lte_max(const struct zlex_spec *r, const char *s, size_t n);
/* First/last node within the range, or NULL. */
struct kv_znode *zset_first_in(struct kvdb *db, struct kv_zset *z, const struct zrange_spec *r);
struct kv_znode *zset_last_in(struct kvdb *db, struct kv_zset *z, const struct zrange_spec *r);
/* Lex ranges are defined on members of one score; on mixed scores the
 * answer depends on the walk, so these follow Redis's: linear (a listpack:
 * the first node from the start, or the end, passing the near bound) or
 * the skiplist descent, both after Redis's "is the range in the set" test
 * on the first and last members. */
struct kv_znode *zset_first_lex(struct kvdb *db, struct kv_zset *z, const struct zlex_spec *r,
				bool linear);
struct kv_znode *zset_last_lex(struct kvdb *db, struct kv_zset *z, const struct zlex_spec *r,
			       bool linear);
/* Free a zset value (value.c calls it). */
void zset_free(struct kvdb *db, struct kv_zset *z);

#endif
