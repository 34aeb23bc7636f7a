/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * value.c — entries and the values they hold, inside the space: string
 * bytes, hashes (a dict of field entries) and lists (a ring of elements).
 * See db.h for the layout.
 */
#include <errno.h>
#include <string.h>

#include "db.h"

struct kv_ent *ent_new(struct kvdb *db, const char *key, size_t klen,
		       uint64_t h, enum kv_type type)
{
	struct kv_ent *e;
	kv_off o;

	if (klen > UINT32_MAX) {
		errno = ENOMEM;
		return NULL;
	}
	o = cow_heap_alloc(db->heap, sizeof *e + klen + 1);
	if (!o) {
		errno = ENOMEM;
		return NULL;
	}
	e = kv_ptr(db, o);
	memset(e, 0, sizeof *e);
	e->hash = h;
	e->klen = (uint32_t)klen;
	e->type = (uint8_t)type;
	memcpy(e->key, key, klen);
	e->key[klen] = '\0';
	return e;
}

static void hash_free(struct kvdb *db, struct kv_dict *d);
static void list_free(struct kvdb *db, struct kv_list *l);

/* Free the value e holds (not e). */
static void value_free(struct kvdb *db, struct kv_ent *e)
{
	if (!e->val)
		return;
	if (e->type == KV_HASH || e->type == KV_SET)	/* sets: PART A */
		hash_free(db, kv_ptr(db, e->val));
	else if (e->type == KV_ZSET)			/* sorted sets: PART A */
		zset_free(db, kv_ptr(db, e->val));
	else if (e->type == KV_LIST)
		list_free(db, kv_ptr(db, e->val));
	cow_heap_free(db->heap, e->val);
	e->val = 0;
	e->vlen = 0;
}

void ent_free(struct kvdb *db, struct kv_ent *e)
{
	value_free(db, e);
	cow_heap_free(db->heap, kv_offof(db, e));
}

void kv_clear_value(struct kvdb *db, struct kv_ent *e, enum kv_type type)
{
	value_free(db, e);
	e->type = (uint8_t)type;
}

int ent_set_bytes(struct kvdb *db, struct kv_ent *e, const void *p, size_t n)
{
	size_t cap = e->val ? cow_heap_usable_size(db->heap, e->val) : 0;
	kv_off o;

	if (n == 0) {
		value_free(db, e);
		return 0;
	}
	/* Reuse the block when it fits and is not much too large. */
	if (n <= cap && cap <= 2 * n + 64) {
		memmove(kv_ptr(db, e->val), p, n);
		if (e->vlen != n)	/* no store, no page copied after a snapshot */
			e->vlen = n;
		return 0;
	}
	o = cow_heap_alloc(db->heap, n);
	if (!o)
		return -ENOMEM;
	memcpy(kv_ptr(db, o), p, n);
	cow_heap_free(db->heap, e->val);
	e->val = o;
	e->vlen = n;
	return 0;
}

int ent_resize_bytes(struct kvdb *db, struct kv_ent *e, size_t n)
{
	size_t cap = e->val ? cow_heap_usable_size(db->heap, e->val) : 0;

	if (n > cap) {
		/* Grow greedily, as Redis's sds does: appends stay amortized O(1). */
		size_t want = n < (1u << 20) ? 2 * n : n + (1u << 20);
		kv_off o = cow_heap_realloc(db->heap, e->val, want);

		if (!o)
			o = cow_heap_realloc(db->heap, e->val, n);
		if (!o)
			return -ENOMEM;
		e->val = o;
	}
	if (n > e->vlen)
		memset((char *)kv_ptr(db, e->val) + e->vlen, 0, n - e->vlen);
	e->vlen = n;
	return 0;
}

/* ---- hashes ------------------------------------------------------------ */

static void field_free(struct kvdb *db, struct kv_ent *f, void *arg)
{
	(void)arg;
	ent_free(db, f);
}

static void hash_free(struct kvdb *db, struct kv_dict *d)
{
	dict_each(db, d, field_free, NULL);
	dict_free_tables(db, d);
}

struct kv_dict *hash_dict(struct kvdb *db, struct kv_ent *e, bool create)
{
	if (!e->val && create) {
		kv_off o = cow_heap_alloc(db->heap, sizeof(struct kv_dict));

		if (!o)
			return NULL;
		dict_init(kv_ptr(db, o));
		e->val = o;
	}
	return kv_ptr(db, e->val);
}

struct kv_ent *hash_get(struct kvdb *db, struct kv_ent *e, const char *f, size_t flen)
{
	struct kv_dict *d = hash_dict(db, e, false);

	return d ? dict_find(db, d, f, flen, kv_hash(db, f, flen), NULL) : NULL;
}

int hash_set(struct kvdb *db, struct kv_ent *e, const char *f, size_t flen,
	     const char *v, size_t vlen)
{
	struct kv_dict *d = hash_dict(db, e, true);
	uint64_t h = kv_hash(db, f, flen);
	struct kv_ent *fe;

	if (!d)
		return -ENOMEM;
	fe = dict_find(db, d, f, flen, h, NULL);
	if (fe)
		return ent_set_bytes(db, fe, v, vlen);
	fe = ent_new(db, f, flen, h, KV_FIELD);
	if (!fe)
		return -ENOMEM;
	if (ent_set_bytes(db, fe, v, vlen) || dict_link(db, d, fe)) {
		ent_free(db, fe);
		return -ENOMEM;
	}
	return 1;
}

int hash_del(struct kvdb *db, struct kv_ent *e, const char *f, size_t flen)
{
	struct kv_dict *d = hash_dict(db, e, false);
	struct kv_ent *fe;

	if (!d || !(fe = dict_find(db, d, f, flen, kv_hash(db, f, flen), NULL)))
		return 0;
	dict_unlink(db, d, fe);
	ent_free(db, fe);
	dict_maybe_shrink(db, d);
	return 1;
}

uint64_t hash_len(struct kvdb *db, struct kv_ent *e)
{
	struct kv_dict *d = hash_dict(db, e, false);

	return d ? d->count : 0;
}

/* ---- lists ------------------------------------------------------------- */

static kv_off *ring(struct kvdb *db, struct kv_list *l)
{
	return kv_ptr(db, l->arr);
}

static void list_free(struct kvdb *db, struct kv_list *l)
{
	for (uint64_t i = 0; i < l->count; i++)
		cow_heap_free(db->heap, ring(db, l)[(l->head + i) & (l->cap - 1)]);
	cow_heap_free(db->heap, l->arr);
}

struct kv_list *list_of(struct kvdb *db, struct kv_ent *e, bool create)
{
	if (!e->val && create) {
		kv_off o = cow_heap_calloc(db->heap, 1, sizeof(struct kv_list));

		if (!o)
			return NULL;
		e->val = o;
	}
	return kv_ptr(db, e->val);
}

/* Move l's elements, in order, into a new ring of cap slots. */
static int list_reshape(struct kvdb *db, struct kv_list *l, uint64_t cap)
{
	kv_off o;
	kv_off *dst;

	if (cap > SIZE_MAX / sizeof(kv_off))
		return -ENOMEM;
	o = cow_heap_alloc(db->heap, cap * sizeof(kv_off));
	if (!o)
		return -ENOMEM;
	dst = kv_ptr(db, o);
	for (uint64_t i = 0; i < l->count; i++)
		dst[i] = ring(db, l)[(l->head + i) & (l->cap - 1)];
	cow_heap_free(db->heap, l->arr);
	l->arr = o;
	l->cap = cap;
	l->head = 0;
	return 0;
}

int list_push(struct kvdb *db, struct kv_ent *e, bool left, const char *p, size_t n)
{
	struct kv_list *l = list_of(db, e, true);
	struct kv_elem *el;
	kv_off o;

	if (!l)
		return -ENOMEM;
	o = cow_heap_alloc(db->heap, sizeof *el + n);
	if (!o)
		return -ENOMEM;
	if (l->count == l->cap && list_reshape(db, l, l->cap ? l->cap * 2 : 4)) {
		cow_heap_free(db->heap, o);
		return -ENOMEM;
	}
	el = kv_ptr(db, o);
	el->len = n;
	memcpy(el->data, p, n);
	if (left) {
		l->head = (l->head - 1) & (l->cap - 1);
		ring(db, l)[l->head] = o;
	} else {
		ring(db, l)[(l->head + l->count) & (l->cap - 1)] = o;
	}
	l->count++;
	return 0;
}

struct kv_elem *list_pop(struct kvdb *db, struct kv_ent *e, bool left)
{
	struct kv_list *l = list_of(db, e, false);
	kv_off o;

	if (!l || l->count == 0)
		return NULL;
	if (left) {
		o = ring(db, l)[l->head];
		l->head = (l->head + 1) & (l->cap - 1);
	} else {
		o = ring(db, l)[(l->head + l->count - 1) & (l->cap - 1)];
	}
	l->count--;
	/* Give memory back when the ring is mostly empty (a failure keeps it). */
	if (l->cap > 16 && l->count * 8 < l->cap)
		(void)list_reshape(db, l, l->cap / 4);
	return kv_ptr(db, o);
}

void list_elem_free(struct kvdb *db, struct kv_elem *el)
{
	cow_heap_free(db->heap, kv_offof(db, el));
}

struct kv_elem *list_at(struct kvdb *db, struct kv_ent *e, uint64_t i)
{
	struct kv_list *l = list_of(db, e, false);

	if (!l || i >= l->count)
		return NULL;
	return kv_ptr(db, ring(db, l)[(l->head + i) & (l->cap - 1)]);
}

uint64_t list_len(struct kvdb *db, struct kv_ent *e)
{
	struct kv_list *l = list_of(db, e, false);

	return l ? l->count : 0;
}
