/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * t_list.c — list operations in the middle of the ring (value.c has the
 * ends): insertion, removal, replacement, and LREM's filtered removal.
 * Moving the offsets after a position is O(n) in 8-byte slots, like a
 * listpack node's memmove in Redis.
 */
#include <errno.h>
#include <string.h>

#include "db.h"

static kv_off *slot(struct kvdb *db, struct kv_list *l, uint64_t i)
{
	return (kv_off *)kv_ptr(db, l->arr) + ((l->head + i) & (l->cap - 1));
}

/* A new element block holding n bytes at p, or 0. */
static kv_off elem_new(struct kvdb *db, const char *p, size_t n)
{
	kv_off o = cow_heap_alloc(db->heap, sizeof(struct kv_elem) + n);
	struct kv_elem *el;

	if (!o)
		return 0;
	el = kv_ptr(db, o);
	el->len = n;
	memcpy(el->data, p, n);
	return o;
}

/* Make room for one more element (a ring twice as large, in order). */
static int grow(struct kvdb *db, struct kv_list *l)
{
	uint64_t cap = l->cap ? 2 * l->cap : 4;
	kv_off o = cow_heap_alloc(db->heap, cap * sizeof(kv_off));
	kv_off *dst;

	if (!o)
		return -ENOMEM;
	dst = kv_ptr(db, o);
	for (uint64_t i = 0; i < l->count; i++)
		dst[i] = *slot(db, l, i);
	cow_heap_free(db->heap, l->arr);
	l->arr = o;
	l->cap = cap;
	l->head = 0;
	return 0;
}

int list_insert(struct kvdb *db, struct kv_ent *e, uint64_t i, const char *p, size_t n)
{
	struct kv_list *l = list_of(db, e, true);
	kv_off o;

	if (!l || !(o = elem_new(db, p, n)))
		return -ENOMEM;
	if (l->count == l->cap && grow(db, l)) {
		cow_heap_free(db->heap, o);
		return -ENOMEM;
	}
	l->count++;
	for (uint64_t k = l->count - 1; k > i; k--)
		*slot(db, l, k) = *slot(db, l, k - 1);
	*slot(db, l, i) = o;
	return 0;
}

void list_remove(struct kvdb *db, struct kv_ent *e, uint64_t i)
{
	struct kv_list *l = list_of(db, e, false);

	cow_heap_free(db->heap, *slot(db, l, i));
	for (uint64_t k = i; k + 1 < l->count; k++)
		*slot(db, l, k) = *slot(db, l, k + 1);
	l->count--;
}

int list_replace(struct kvdb *db, struct kv_ent *e, uint64_t i, const char *p, size_t n)
{
	struct kv_list *l = list_of(db, e, false);
	kv_off o = elem_new(db, p, n);

	if (!o)
		return -ENOMEM;
	cow_heap_free(db->heap, *slot(db, l, i));
	*slot(db, l, i) = o;
	return 0;
}

uint64_t list_remove_matching(struct kvdb *db, struct kv_ent *e, const char *p, size_t n,
			      long long count)
{
	struct kv_list *l = list_of(db, e, false);
	uint64_t len = l ? l->count : 0, w, removed = 0;
	uint64_t max = count == 0 ? UINT64_MAX : (uint64_t)(count < 0 ? -count : count);

	if (!len)
		return 0;
	if (count >= 0) {
		w = 0;
		for (uint64_t r = 0; r < len; r++) {
			kv_off o = *slot(db, l, r);
			struct kv_elem *el = kv_ptr(db, o);

			if (removed < max && el->len == n && memcmp(el->data, p, n) == 0) {
				cow_heap_free(db->heap, o);
				removed++;
			} else {
				if (w != r)
					*slot(db, l, w) = o;
				w++;
			}
		}
	} else {
		/* From the tail: compact towards the tail, then move head. */
		w = len;
		for (uint64_t r = len; r-- > 0;) {
			kv_off o = *slot(db, l, r);
			struct kv_elem *el = kv_ptr(db, o);

			if (removed < max && el->len == n && memcmp(el->data, p, n) == 0) {
				cow_heap_free(db->heap, o);
				removed++;
			} else {
				w--;
				if (w != r)
					*slot(db, l, w) = o;
			}
		}
		l->head = (l->head + removed) & (l->cap - 1);
	}
	l->count -= removed;
	return removed;
}
