/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dict.c — a chained hash table inside the space, Redis's dict by offsets.
 *
 * Buckets are arrays of kv_off in heap blocks; entries are kv_ent, chained
 * through kv_ent.next. The table grows when it holds as many entries as
 * buckets and shrinks when under 10% full; both move the entries to the new
 * array a few buckets at a time (incremental rehash), one step per lookup
 * and a bounded amount per server tick, so that no command pays for a whole
 * resize. During a rehash, lookups search both arrays and insertions go to
 * the new one.
 *
 * Copy-on-write: a store is made only when a value changes, so that a
 * lookup after a snapshot copies no page, and a rehash step copies the pages
 * of the buckets and entries it moves, no more. While a save is running,
 * resizes wait (as Redis avoids them while its child runs) unless the table
 * is more than five times overfull, and so does a rehash under way: its steps
 * (one per lookup, and the server tick's) would copy the pages of every
 * bucket and entry they move for the sake of the save's snapshot (measured:
 * 4.3 page faults per SET during a BGSAVE of 300,000 keys). Lookups search
 * both arrays meanwhile, as during any rehash.
 */
#include <errno.h>
#include <string.h>

#include "db.h"
#include "server.h"

#define DICT_MIN_SIZE 4u
#define DICT_FORCE_RATIO 5u

void dict_init(struct kv_dict *d)
{
	memset(d, 0, sizeof *d);
	d->rehash = -1;
}

static kv_off *buckets(const struct kvdb *db, const struct kv_dict *d, int t)
{
	return kv_ptr(db, d->tab[t]);
}

static bool rehashing(const struct kv_dict *d)
{
	return d->rehash >= 0;
}

/* May a rehash under way take a step now? Not while a save runs (above),
 * unless the old array is more than five times overfull. */
static bool may_rehash(const struct kv_dict *d)
{
	return !srv_saving() || d->count > d->size[0] * DICT_FORCE_RATIO;
}

static uint64_t pow2_at_least(uint64_t n)
{
	uint64_t s = DICT_MIN_SIZE;

	while (s < n && s < (1ull << 62))
		s <<= 1;
	return s;
}

/* Start moving d's entries into a new array of size buckets. 0 or -ENOMEM. */
static int start_resize(struct kvdb *db, struct kv_dict *d, uint64_t size)
{
	kv_off t;

	if (size > SIZE_MAX / sizeof(kv_off))
		return -ENOMEM;
	t = cow_heap_calloc(db->heap, size, sizeof(kv_off));
	if (!t)
		return -ENOMEM;
	if (!d->tab[0]) {	/* first table: nothing to move */
		d->tab[0] = t;
		d->size[0] = size;
		return 0;
	}
	d->tab[1] = t;
	d->size[1] = size;
	d->rehash = 0;
	return 0;
}

/* Grow before an insertion if d is full. Fails only when d has no table. */
static int maybe_grow(struct kvdb *db, struct kv_dict *d)
{
	if (!d->tab[0])
		return start_resize(db, d, DICT_MIN_SIZE);
	if (rehashing(d) || d->count < d->size[0])
		return 0;
	if (srv_saving() && d->count < d->size[0] * DICT_FORCE_RATIO)
		return 0;
	(void)start_resize(db, d, pow2_at_least(d->count * 2));
	return 0;
}

void dict_maybe_shrink(struct kvdb *db, struct kv_dict *d)
{
	if (rehashing(d) || d->size[0] <= DICT_MIN_SIZE || d->count * 10 >= d->size[0])
		return;
	if (srv_saving())
		return;
	(void)start_resize(db, d, pow2_at_least(d->count));
}

static void finish_rehash(struct kvdb *db, struct kv_dict *d)
{
	cow_heap_free(db->heap, d->tab[0]);
	d->tab[0] = d->tab[1];
	d->size[0] = d->size[1];
	d->tab[1] = 0;
	d->size[1] = 0;
	d->rehash = -1;
}

bool dict_rehash(struct kvdb *db, struct kv_dict *d, size_t n)
{
	size_t empty_left = n * 10;
	kv_off *b0, *b1;
	uint64_t m1;

	if (!rehashing(d))
		return false;
	b0 = buckets(db, d, 0);
	b1 = buckets(db, d, 1);
	m1 = d->size[1] - 1;
	while (n && (uint64_t)d->rehash < d->size[0]) {
		kv_off o = b0[d->rehash];

		if (!o) {
			d->rehash++;
			if (--empty_left == 0)
				return true;
			continue;
		}
		while (o) {
			struct kv_ent *e = kv_ptr(db, o);
			kv_off next = e->next;
			kv_off *slot = &b1[e->hash & m1];

			e->next = *slot;
			*slot = o;
			o = next;
		}
		b0[d->rehash++] = 0;
		n--;
	}
	if ((uint64_t)d->rehash < d->size[0])
		return true;
	finish_rehash(db, d);
	return false;
}

struct kv_ent *dict_find(struct kvdb *db, struct kv_dict *d, const char *key,
			 size_t klen, uint64_t h, kv_off **link)
{
	if (rehashing(d) && may_rehash(d))
		dict_rehash(db, d, 1);
	if (d->count == 0)
		return NULL;
	for (int t = 0; t < 2 && d->tab[t]; t++) {
		kv_off *slot = &buckets(db, d, t)[h & (d->size[t] - 1)];

		while (*slot) {
			struct kv_ent *e = kv_ptr(db, *slot);

			if (e->hash == h && e->klen == klen &&
			    memcmp(e->key, key, klen) == 0) {
				if (link)
					*link = slot;
				return e;
			}
			slot = &e->next;
		}
		if (!rehashing(d))
			break;
	}
	return NULL;
}

int dict_link(struct kvdb *db, struct kv_dict *d, struct kv_ent *e)
{
	int t;
	kv_off *slot;

	if (maybe_grow(db, d))
		return -ENOMEM;
	t = rehashing(d) ? 1 : 0;
	slot = &buckets(db, d, t)[e->hash & (d->size[t] - 1)];
	e->next = *slot;
	*slot = kv_offof(db, e);
	d->count++;
	return 0;
}

void dict_unlink(struct kvdb *db, struct kv_dict *d, struct kv_ent *e)
{
	kv_off me = kv_offof(db, e);

	for (int t = 0; t < 2 && d->tab[t]; t++) {
		kv_off *slot = &buckets(db, d, t)[e->hash & (d->size[t] - 1)];

		while (*slot) {
			if (*slot == me) {
				*slot = e->next;
				d->count--;
				return;
			}
			slot = &((struct kv_ent *)kv_ptr(db, *slot))->next;
		}
	}
}

static void visit_chain(struct kvdb *db, kv_off o, kv_visit_fn *fn, void *arg)
{
	while (o) {
		struct kv_ent *e = kv_ptr(db, o);

		o = e->next;
		fn(db, e, arg);
	}
}

void dict_each(struct kvdb *db, struct kv_dict *d, kv_visit_fn *fn, void *arg)
{
	for (int t = 0; t < 2 && d->tab[t]; t++) {
		kv_off *b = buckets(db, d, t);

		for (uint64_t i = 0; i < d->size[t]; i++)
			if (b[i])
				visit_chain(db, b[i], fn, arg);
	}
}

static uint64_t rev64(uint64_t v)
{
	v = ((v >> 1) & 0x5555555555555555ull) | ((v & 0x5555555555555555ull) << 1);
	v = ((v >> 2) & 0x3333333333333333ull) | ((v & 0x3333333333333333ull) << 2);
	v = ((v >> 4) & 0x0f0f0f0f0f0f0f0full) | ((v & 0x0f0f0f0f0f0f0f0full) << 4);
	v = ((v >> 8) & 0x00ff00ff00ff00ffull) | ((v & 0x00ff00ff00ff00ffull) << 8);
	v = ((v >> 16) & 0x0000ffff0000ffffull) | ((v & 0x0000ffff0000ffffull) << 16);
	return (v >> 32) | (v << 32);
}

/* The cursor after v for a table of mask m: increment the reversed bits. */
static uint64_t next_cursor(uint64_t v, uint64_t m)
{
	v |= ~m;
	v = rev64(v);
	v++;
	return rev64(v);
}

uint64_t dict_scan(struct kvdb *db, struct kv_dict *d, uint64_t v,
		   kv_visit_fn *fn, void *arg)
{
	int small = 0, large = 1;
	uint64_t m0, m1;

	if (d->count == 0 || !d->tab[0])
		return 0;
	if (!rehashing(d)) {
		m0 = d->size[0] - 1;
		visit_chain(db, buckets(db, d, 0)[v & m0], fn, arg);
		return next_cursor(v, m0);
	}
	if (d->size[0] > d->size[1]) {
		small = 1;
		large = 0;
	}
	m0 = d->size[small] - 1;
	m1 = d->size[large] - 1;
	visit_chain(db, buckets(db, d, small)[v & m0], fn, arg);
	/* Every bucket of the large table that the small bucket expands to. */
	do {
		visit_chain(db, buckets(db, d, large)[v & m1], fn, arg);
		v = next_cursor(v, m1);
	} while (v & (m0 ^ m1));
	return v;
}

struct kv_ent *dict_random(struct kvdb *db, struct kv_dict *d, uint64_t (*rnd)(void))
{
	kv_off o = 0;
	uint64_t len = 0, pick;

	if (d->count == 0)
		return NULL;
	while (!o) {
		if (rehashing(d)) {
			uint64_t span = d->size[0] + d->size[1] - (uint64_t)d->rehash;
			uint64_t i = (uint64_t)d->rehash + rnd() % span;

			o = i < d->size[0] ? buckets(db, d, 0)[i]
					   : buckets(db, d, 1)[i - d->size[0]];
		} else {
			o = buckets(db, d, 0)[rnd() & (d->size[0] - 1)];
		}
	}
	for (kv_off x = o; x; x = ((struct kv_ent *)kv_ptr(db, x))->next)
		len++;
	pick = rnd() % len;
	while (pick--)
		o = ((struct kv_ent *)kv_ptr(db, o))->next;
	return kv_ptr(db, o);
}

void dict_free_tables(struct kvdb *db, struct kv_dict *d)
{
	cow_heap_free(db->heap, d->tab[0]);
	cow_heap_free(db->heap, d->tab[1]);
	dict_init(d);
}

uint64_t dict_table_entries(const struct kvdb *db, const struct kv_dict *d, int t,
			    uint64_t *buckets_out)
{
	uint64_t n = 0;
	const kv_off *b;

	*buckets_out = d->tab[t] ? d->size[t] : 0;
	if (!d->tab[t])
		return 0;
	b = buckets(db, d, t);
	for (uint64_t i = 0; i < d->size[t]; i++)
		for (kv_off o = b[i]; o; o = ((const struct kv_ent *)kv_ptr(db, o))->next)
			n++;
	return n;
}
