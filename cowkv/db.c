/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * db.c — the dataset's life cycle (a space, its heap, the root) and the
 * keyspace: lookups with lazy expiry, insertion, deletion, renaming, and the
 * TTL heap that active expiry pops from. See db.h.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <xxhash.h>

#include "db.h"

static int64_t unix_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

unsigned kv_databases = 16;

/* The root of KV_VERSION 2 (one keyspace), as it was laid out. */
struct kv_root_v2 {
	uint64_t magic;
	uint32_t version;
	uint32_t pad;
	uint64_t seed;
	int64_t created_ms;
	struct kv_dict keys;
	struct kv_ttl ttl;
	kv_off funcs;
};

/* The root of version 1 is version 2 without funcs. */
#define KV_ROOT_V1_SIZE offsetof(struct kv_root_v2, funcs)
_Static_assert(sizeof(struct kv_root) <= KV_ROOT_V1_SIZE, "a v3 root fits in a v1 block");

/* A new dbs array of n empty databases. Its offset, or 0 (ENOMEM). */
static kv_off dbs_new(struct kvdb *db, unsigned n)
{
	kv_off o = cow_heap_calloc(db->heap, n, sizeof(struct kv_keyspace));
	struct kv_keyspace *k = kv_ptr(db, o);

	for (unsigned i = 0; o && i < n; i++)
		dict_init(&k[i].keys);
	return o;
}

/*
 * upgrade_v2 — rewrite the version 1 or 2 root at r in place as a version 3
 * root (which is smaller): its keyspace and TTL heap become db 0 of a new
 * dbs array. The entries themselves do not move. 0 or -ENOMEM (the root as
 * it was).
 */
static int upgrade_v2(struct kvdb *db, kv_off r)
{
	struct kv_root_v2 old = { 0 };
	struct kv_root *root = kv_ptr(db, r);
	kv_off dbs;

	memcpy(&old, root, root->version == 1 ? KV_ROOT_V1_SIZE : sizeof old);
	if (!(dbs = dbs_new(db, kv_databases)))
		return -ENOMEM;
	((struct kv_keyspace *)kv_ptr(db, dbs))[0].keys = old.keys;
	((struct kv_keyspace *)kv_ptr(db, dbs))[0].ttl = old.ttl;
	memset(root, 0, sizeof *root);
	root->magic = KV_MAGIC;
	root->version = KV_VERSION;
	root->seed = old.seed;
	root->created_ms = old.created_ms;
	root->ndb = kv_databases;
	root->dbs = dbs;
	root->funcs = old.version == 1 ? 0 : old.funcs;
	return 0;
}

/*
 * fit_databases — make root's dbs array kv_databases long: grown with empty
 * databases, or shrunk when the databases past the end are empty (their
 * tables freed). 0, -ENOMEM, or -E2BIG when one of them holds keys.
 */
static int fit_databases(struct kvdb *db, struct kv_root *root)
{
	struct kv_keyspace *k = kv_ptr(db, root->dbs);
	kv_off n;

	if (root->ndb > kv_databases) {
		for (uint64_t i = kv_databases; i < root->ndb; i++)
			if (k[i].keys.count)
				return -E2BIG;
		for (uint64_t i = kv_databases; i < root->ndb; i++) {
			dict_free_tables(db, &k[i].keys);
			cow_heap_free(db->heap, k[i].ttl.arr);
		}
		root->ndb = kv_databases;
	} else if (root->ndb < kv_databases) {
		n = cow_heap_realloc(db->heap, root->dbs, kv_databases * sizeof *k);
		if (!n)
			return -ENOMEM;
		k = kv_ptr(db, n);
		for (uint64_t i = root->ndb; i < kv_databases; i++) {
			memset(&k[i], 0, sizeof k[i]);
			dict_init(&k[i].keys);
		}
		root->dbs = n;
		root->ndb = kv_databases;
	}
	return 0;
}

static int root_check(struct kvdb *db)
{
	kv_off r = cow_heap_root(db->heap);
	struct kv_root *root;
	int err;

	if (!r || r + KV_ROOT_V1_SIZE > db->size)
		return -EBADMSG;
	root = kv_ptr(db, r);
	if (root->magic == KV_MAGIC && (root->version == 1 || root->version == 2) &&
	    (err = upgrade_v2(db, r)))
		return err;
	if (root->magic != KV_MAGIC || root->version != KV_VERSION ||
	    !root->dbs || !root->ndb || root->dbs + root->ndb * sizeof(struct kv_keyspace) > db->size)
		return -EBADMSG;
	db->root = root;
	if ((err = fit_databases(db, root))) {
		db->root = NULL;
		return err;
	}
	if (db->cur >= kv_databases)
		db->cur = 0;
	return 0;
}

static int root_make(struct kvdb *db);

static void bind_space(struct kvdb *db, cow_space *s, cow_heap *h)
{
	db->space = s;
	db->heap = h;
	db->base = cow_base(s);
	db->size = cow_size(s);
	db->gen++;
}

int kvdb_create(struct kvdb *db, size_t size)
{
	cow_space *s = cow_space_create(size, 0);
	cow_heap *h;
	int err;

	if (!s)
		return -errno;
	if (!(h = cow_heap_init(s))) {
		err = -errno;
		cow_space_destroy(s);
		return err;
	}
	bind_space(db, s, h);
	if (root_make(db)) {
		kvdb_close(db);
		return -ENOMEM;
	}
	return 0;
}

int kvdb_attach(struct kvdb *db, cow_space *s)
{
	cow_heap *h = cow_heap_attach(s);
	struct kvdb old = *db;
	int err;

	if (!h)
		return -errno;
	bind_space(db, s, h);
	if ((err = root_check(db))) {
		cow_heap_close(h);
		*db = old;
		return err;
	}
	return 0;
}

void kvdb_close(struct kvdb *db)
{
	cow_heap_close(db->heap);
	cow_space_destroy(db->space);
	db->heap = NULL;
	db->space = NULL;
	db->base = NULL;
	db->root = NULL;
}

void kvdb_replace(struct kvdb *db, struct kvdb *fresh)
{
	fresh->expired = db->expired;
	fresh->now_ms = db->now_ms;
	fresh->cur = db->cur < kv_ndb(fresh) ? db->cur : 0;
	kvdb_close(db);
	*db = *fresh;
}

int kvdb_reload(struct kvdb *db)
{
	return root_check(db);
}

uint64_t kvdb_used(const struct kvdb *db)
{
	struct cow_heap_stats hs;

	if (cow_heap_stats_get(db->heap, &hs))
		return 0;
	return hs.used_bytes;
}

void (*kv_expire_hook)(struct kvdb *db, const struct kv_ent *e);
void (*kv_new_hook)(struct kvdb *db, const struct kv_ent *e);

/* Delete e because it expired: tell the hook, then count it. */
static void delete_expired(struct kvdb *db, struct kv_ent *e)
{
	if (kv_expire_hook)
		kv_expire_hook(db, e);
	kv_delete_ent(db, e);
	db->expired++;
}

/* A new root (identity, fresh seed, empty keyspace) in db's heap. 0 or
 * -ENOMEM. */
static int root_make(struct kvdb *db)
{
	kv_off r = cow_heap_calloc(db->heap, 1, sizeof(struct kv_root));
	struct kv_root *root;

	if (!r || cow_heap_set_root(db->heap, r))
		return -ENOMEM;
	root = kv_ptr(db, r);
	root->magic = KV_MAGIC;
	root->version = KV_VERSION;
	if (getrandom(&root->seed, sizeof root->seed, 0) != sizeof root->seed)
		root->seed = (uint64_t)unix_ms() * 0x9e3779b97f4a7c15ull;
	root->created_ms = unix_ms();
	if (!(root->dbs = dbs_new(db, kv_databases)))
		return -ENOMEM;
	root->ndb = kv_databases;
	db->root = root;
	if (db->cur >= kv_databases)
		db->cur = 0;
	return 0;
}

int kvdb_reset(struct kvdb *db)
{
	cow_heap *h;

	cow_heap_close(db->heap);
	db->heap = NULL;
	db->root = NULL;
	if (!(h = cow_heap_init(db->space)))
		return -errno;
	db->heap = h;
	return root_make(db);
}

uint64_t kv_hash(const struct kvdb *db, const void *key, size_t len)
{
	return XXH3_64bits_withSeed(key, len, db->root->seed);
}

/* ---- the TTL heap: a binary min-heap of entries on their expiry ------- */

static kv_off *ttl_arr(struct kvdb *db, struct kv_ttl *t)
{
	return kv_ptr(db, t->arr);
}

static struct kv_ent *ttl_ent(struct kvdb *db, struct kv_ttl *t, uint64_t i)
{
	return kv_ptr(db, ttl_arr(db, t)[i]);
}

static void ttl_place(struct kvdb *db, struct kv_ttl *t, uint64_t i, kv_off o)
{
	ttl_arr(db, t)[i] = o;
	((struct kv_ent *)kv_ptr(db, o))->ttl_pos = i;
}

static void ttl_up(struct kvdb *db, struct kv_ttl *t, uint64_t i)
{
	kv_off o = ttl_arr(db, t)[i];
	int64_t when = ((struct kv_ent *)kv_ptr(db, o))->expire;

	while (i > 0) {
		uint64_t parent = (i - 1) / 2;

		if (ttl_ent(db, t, parent)->expire <= when)
			break;
		ttl_place(db, t, i, ttl_arr(db, t)[parent]);
		i = parent;
	}
	ttl_place(db, t, i, o);
}

static void ttl_down(struct kvdb *db, struct kv_ttl *t, uint64_t i)
{
	uint64_t n = t->count;
	kv_off o = ttl_arr(db, t)[i];
	int64_t when = ((struct kv_ent *)kv_ptr(db, o))->expire;

	for (;;) {
		uint64_t c = 2 * i + 1;

		if (c >= n)
			break;
		if (c + 1 < n && ttl_ent(db, t, c + 1)->expire < ttl_ent(db, t, c)->expire)
			c++;
		if (ttl_ent(db, t, c)->expire >= when)
			break;
		ttl_place(db, t, i, ttl_arr(db, t)[c]);
		i = c;
	}
	ttl_place(db, t, i, o);
}

/* Room in t for one more entry. 0 or -ENOMEM. */
static int ttl_reserve(struct kvdb *db, struct kv_ttl *t)
{
	uint64_t cap = t->cap ? t->cap * 2 : 16;
	kv_off o;

	if (t->count < t->cap)
		return 0;
	o = cow_heap_realloc(db->heap, t->arr, cap * sizeof(kv_off));
	if (!o)
		return -ENOMEM;
	t->arr = o;
	t->cap = cap;
	return 0;
}

static void ttl_remove(struct kvdb *db, struct kv_ttl *t, struct kv_ent *e)
{
	uint64_t i = e->ttl_pos, last = --t->count;

	if (i != last) {
		ttl_place(db, t, i, ttl_arr(db, t)[last]);
		ttl_up(db, t, i);
		ttl_down(db, t, i);
	}
}

/* Add e (expire set, not in t) to t, which has room (ttl_reserve). */
static void ttl_insert(struct kvdb *db, struct kv_ttl *t, struct kv_ent *e)
{
	ttl_place(db, t, t->count++, kv_offof(db, e));
	ttl_up(db, t, t->count - 1);
}

int kv_set_expire(struct kvdb *db, struct kv_ent *e, int64_t when)
{
	struct kv_ttl *t = &kv_ks(db)->ttl;

	if (when == 0) {
		if (e->expire)
			ttl_remove(db, t, e);
		e->expire = 0;
		return 0;
	}
	if (e->expire) {
		e->expire = when;
		ttl_up(db, t, e->ttl_pos);
		ttl_down(db, t, e->ttl_pos);
		return 0;
	}
	if (ttl_reserve(db, t))
		return -ENOMEM;
	e->expire = when;
	ttl_insert(db, t, e);
	return 0;
}

/* ---- the keyspace ---------------------------------------------------- */

struct kv_ent *kv_find(struct kvdb *db, const char *key, size_t klen)
{
	struct kv_ent *e = dict_find(db, &kv_ks(db)->keys, key, klen,
				     kv_hash(db, key, klen), NULL);

	if (e && kv_expired(db, e)) {
		delete_expired(db, e);
		return NULL;
	}
	return e;
}

struct kv_ent *kv_add(struct kvdb *db, const char *key, size_t klen,
		      enum kv_type type)
{
	struct kv_ent *e = ent_new(db, key, klen, kv_hash(db, key, klen), type);

	if (!e)
		return NULL;
	if (dict_link(db, &kv_ks(db)->keys, e)) {
		ent_free(db, e);
		errno = ENOMEM;
		return NULL;
	}
	if (kv_new_hook)
		kv_new_hook(db, e);
	return e;
}

void kv_delete_ent(struct kvdb *db, struct kv_ent *e)
{
	struct kv_keyspace *k = kv_ks(db);

	if (e->expire)
		ttl_remove(db, &k->ttl, e);
	dict_unlink(db, &k->keys, e);
	ent_free(db, e);
}

int kv_delete(struct kvdb *db, const char *key, size_t klen)
{
	struct kv_ent *e = kv_find(db, key, klen);

	if (!e)
		return 0;
	kv_delete_ent(db, e);
	return 1;
}

struct kv_ent *kv_rename(struct kvdb *db, struct kv_ent *e, const char *newkey,
			 size_t nlen)
{
	struct kv_keyspace *k = kv_ks(db);
	struct kv_ent *n = ent_new(db, newkey, nlen, kv_hash(db, newkey, nlen), e->type);

	if (!n)
		return NULL;
	if (dict_link(db, &k->keys, n)) {
		ent_free(db, n);
		errno = ENOMEM;
		return NULL;
	}
	n->val = e->val;
	n->vlen = e->vlen;
	n->enc = e->enc;	/* the encoding sticks (PART A) */
	if (e->expire) {
		n->expire = e->expire;
		ttl_place(db, &k->ttl, e->ttl_pos, kv_offof(db, n));
	}
	dict_unlink(db, &k->keys, e);
	cow_heap_free(db->heap, kv_offof(db, e));	/* its value lives on in n */
	if (kv_new_hook)
		kv_new_hook(db, n);
	return n;
}

int kv_move(struct kvdb *db, struct kv_ent *e, unsigned to)
{
	struct kv_keyspace *from = kv_ks(db), *dst = kv_ks_at(db, to);

	if (e->expire && ttl_reserve(db, &dst->ttl))
		return -ENOMEM;
	dict_unlink(db, &from->keys, e);
	e->next = 0;
	if (dict_link(db, &dst->keys, e)) {
		dict_link(db, &from->keys, e);	/* has a table: cannot fail */
		return -ENOMEM;
	}
	if (e->expire) {
		ttl_remove(db, &from->ttl, e);
		ttl_insert(db, &dst->ttl, e);
	}
	return 0;
}

void kv_swap(struct kvdb *db, unsigned a, unsigned b)
{
	struct kv_keyspace t = *kv_ks_at(db, a);

	*kv_ks_at(db, a) = *kv_ks_at(db, b);
	*kv_ks_at(db, b) = t;
}

/* kv_flush_one's visitor: collect the entries (freeing while walking would
 * break the walk). */
struct ent_list {
	kv_off *v;
	size_t n;
};

/* Bucket order for kv_flush_one's fallback (dict_random's rnd). */
static uint64_t flush_rnd(void)
{
	static uint64_t x;

	return x++;
}

static void flush_visit(struct kvdb *db, struct kv_ent *e, void *arg)
{
	struct ent_list *l = arg;

	l->v[l->n++] = kv_offof(db, e);
}

void kv_flush_one(struct kvdb *db, unsigned i)
{
	struct kv_keyspace *k = kv_ks_at(db, i);
	struct ent_list l = { malloc((k->keys.count + 1) * sizeof(kv_off)), 0 };

	if (l.v) {
		dict_each(db, &k->keys, flush_visit, &l);
		for (size_t j = 0; j < l.n; j++)
			ent_free(db, kv_ptr(db, l.v[j]));
		free(l.v);
	} else {
		/* no memory for the list: one entry at a time from a bucket */
		while (k->keys.count) {
			struct kv_ent *e = dict_random(db, &k->keys, flush_rnd);

			dict_unlink(db, &k->keys, e);
			ent_free(db, e);
		}
	}
	dict_free_tables(db, &k->keys);
	cow_heap_free(db->heap, k->ttl.arr);
	memset(&k->ttl, 0, sizeof k->ttl);
}

uint64_t kv_count(const struct kvdb *db)
{
	return kv_ks(db)->keys.count;
}

uint64_t kv_volatile(const struct kvdb *db)
{
	return kv_ks(db)->ttl.count;
}

uint64_t kv_count_all(const struct kvdb *db)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < kv_ndb(db); i++)
		n += kv_ks_at(db, i)->keys.count;
	return n;
}

size_t kv_expire_cycle(struct kvdb *db, size_t max)
{
	static unsigned first;	/* where the last cycle stopped: each db gets its turn */
	unsigned cur = db->cur, ndb = kv_ndb(db);
	unsigned visit = ndb < KV_EXPIRE_DBS ? ndb : KV_EXPIRE_DBS, start = first % ndb;
	size_t n = 0;

	for (unsigned k = 0; k < visit && n < max; k++) {
		unsigned i = (start + k) % ndb;
		struct kv_ttl *t = &kv_ks_at(db, i)->ttl;

		db->cur = i;
		first = (i + 1) % ndb;	/* the next call starts after this one... */
		while (n < max && t->count) {
			struct kv_ent *e = ttl_ent(db, t, 0);

			if (e->expire > db->now_ms)
				break;
			delete_expired(db, e);
			n++;
		}
		if (n == max)
			first = i;	/* ...unless it stopped with keys left here */
	}
	db->cur = cur;
	return n;
}

struct kv_ent *kv_random(struct kvdb *db, uint64_t (*rnd)(void))
{
	for (;;) {
		struct kv_ent *e = dict_random(db, &kv_ks(db)->keys, rnd);

		if (!e || !kv_expired(db, e))
			return e;
		delete_expired(db, e);
	}
}
