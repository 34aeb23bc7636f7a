/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * db.c — the dataset's life cycle (a space, its heap, the root) and the
 * keyspace: lookups with lazy expiry, insertion, deletion, renaming, and the
 * TTL heap that active expiry pops from. See db.h.
 */
#include <errno.h>
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

static int root_check(struct kvdb *db)
{
	kv_off r = cow_heap_root(db->heap);
	struct kv_root *root;

	if (!r || r + sizeof *root > db->size)
		return -EBADMSG;
	root = kv_ptr(db, r);
	if (root->magic == KV_MAGIC && root->version == 1) {
		/* issue 15: a version 1 root lacks funcs; grow it in place or move it */
		kv_off n = cow_heap_realloc(db->heap, r, sizeof *root);

		if (!n || cow_heap_set_root(db->heap, n))
			return -ENOMEM;
		root = kv_ptr(db, n);
		root->funcs = 0;
		root->version = KV_VERSION;
	}
	if (root->magic != KV_MAGIC || root->version != KV_VERSION)
		return -EBADMSG;
	db->root = root;
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
	dict_init(&root->keys);
	db->root = root;
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

static kv_off *ttl_arr(struct kvdb *db)
{
	return kv_ptr(db, db->root->ttl.arr);
}

static struct kv_ent *ttl_ent(struct kvdb *db, uint64_t i)
{
	return kv_ptr(db, ttl_arr(db)[i]);
}

static void ttl_place(struct kvdb *db, uint64_t i, kv_off o)
{
	ttl_arr(db)[i] = o;
	((struct kv_ent *)kv_ptr(db, o))->ttl_pos = i;
}

static void ttl_up(struct kvdb *db, uint64_t i)
{
	kv_off o = ttl_arr(db)[i];
	int64_t when = ((struct kv_ent *)kv_ptr(db, o))->expire;

	while (i > 0) {
		uint64_t parent = (i - 1) / 2;

		if (ttl_ent(db, parent)->expire <= when)
			break;
		ttl_place(db, i, ttl_arr(db)[parent]);
		i = parent;
	}
	ttl_place(db, i, o);
}

static void ttl_down(struct kvdb *db, uint64_t i)
{
	uint64_t n = db->root->ttl.count;
	kv_off o = ttl_arr(db)[i];
	int64_t when = ((struct kv_ent *)kv_ptr(db, o))->expire;

	for (;;) {
		uint64_t c = 2 * i + 1;

		if (c >= n)
			break;
		if (c + 1 < n && ttl_ent(db, c + 1)->expire < ttl_ent(db, c)->expire)
			c++;
		if (ttl_ent(db, c)->expire >= when)
			break;
		ttl_place(db, i, ttl_arr(db)[c]);
		i = c;
	}
	ttl_place(db, i, o);
}

static int ttl_reserve(struct kvdb *db)
{
	struct kv_ttl *t = &db->root->ttl;
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

static void ttl_remove(struct kvdb *db, struct kv_ent *e)
{
	struct kv_ttl *t = &db->root->ttl;
	uint64_t i = e->ttl_pos, last = --t->count;

	if (i != last) {
		ttl_place(db, i, ttl_arr(db)[last]);
		ttl_up(db, i);
		ttl_down(db, i);
	}
}

int kv_set_expire(struct kvdb *db, struct kv_ent *e, int64_t when)
{
	struct kv_ttl *t = &db->root->ttl;

	if (when == 0) {
		if (e->expire)
			ttl_remove(db, e);
		e->expire = 0;
		return 0;
	}
	if (e->expire) {
		e->expire = when;
		ttl_up(db, e->ttl_pos);
		ttl_down(db, e->ttl_pos);
		return 0;
	}
	if (ttl_reserve(db))
		return -ENOMEM;
	e->expire = when;
	ttl_place(db, t->count++, kv_offof(db, e));
	ttl_up(db, t->count - 1);
	return 0;
}

/* ---- the keyspace ---------------------------------------------------- */

struct kv_ent *kv_find(struct kvdb *db, const char *key, size_t klen)
{
	struct kv_ent *e = dict_find(db, &db->root->keys, key, klen,
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
	if (dict_link(db, &db->root->keys, e)) {
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
	if (e->expire)
		ttl_remove(db, e);
	dict_unlink(db, &db->root->keys, e);
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
	struct kv_ent *n = ent_new(db, newkey, nlen, kv_hash(db, newkey, nlen), e->type);

	if (!n)
		return NULL;
	if (dict_link(db, &db->root->keys, n)) {
		ent_free(db, n);
		errno = ENOMEM;
		return NULL;
	}
	n->val = e->val;
	n->vlen = e->vlen;
	n->enc = e->enc;	/* the encoding sticks (PART A) */
	if (e->expire) {
		n->expire = e->expire;
		ttl_place(db, e->ttl_pos, kv_offof(db, n));
	}
	dict_unlink(db, &db->root->keys, e);
	cow_heap_free(db->heap, kv_offof(db, e));	/* its value lives on in n */
	if (kv_new_hook)
		kv_new_hook(db, n);
	return n;
}

uint64_t kv_count(const struct kvdb *db)
{
	return db->root->keys.count;
}

uint64_t kv_volatile(const struct kvdb *db)
{
	return db->root->ttl.count;
}

size_t kv_expire_cycle(struct kvdb *db, size_t max)
{
	size_t n = 0;

	while (n < max && db->root->ttl.count) {
		struct kv_ent *e = ttl_ent(db, 0);

		if (e->expire > db->now_ms)
			break;
		delete_expired(db, e);
		n++;
	}
	return n;
}

struct kv_ent *kv_random(struct kvdb *db, uint64_t (*rnd)(void))
{
	for (;;) {
		struct kv_ent *e = dict_random(db, &db->root->keys, rnd);

		if (!e || !kv_expired(db, e))
			return e;
		delete_expired(db, e);
	}
}
