/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * t_set.c — sets in the space: a kv_dict of member entries (KV_FIELD, no
 * bytes), the same dict a hash uses; only the value bytes are absent.
 */
#include "db.h"

int set_add(struct kvdb *db, struct kv_ent *e, const char *m, size_t mlen)
{
	if (hash_get(db, e, m, mlen))
		return 0;
	return hash_set(db, e, m, mlen, "", 0);
}

int set_del(struct kvdb *db, struct kv_ent *e, const char *m, size_t mlen)
{
	return hash_del(db, e, m, mlen);
}

bool set_has(struct kvdb *db, struct kv_ent *e, const char *m, size_t mlen)
{
	return hash_get(db, e, m, mlen) != NULL;
}

uint64_t set_len(struct kvdb *db, struct kv_ent *e)
{
	return hash_len(db, e);
}

/* Entry at position k of the chain starting at o, or NULL. */
static struct kv_ent *chain_at(struct kvdb *db, kv_off o, uint64_t k)
{
	while (o && k--)
		o = ((struct kv_ent *)kv_ptr(db, o))->next;
	return kv_ptr(db, o);
}

#define FAIR_CHAIN 8

struct kv_ent *dict_fair_random(struct kvdb *db, struct kv_dict *d, uint64_t (*rnd)(void))
{
	/* Every bucket slot of both tables equally likely, then a position in
	 * [0, FAIR_CHAIN): each entry of a chain no longer than that has the
	 * same chance, unlike "a random bucket, then a random entry of its
	 * chain", which favours entries of short chains (SRANDMEMBER's
	 * distribution is tested by Redis's suite). */
	uint64_t slots = d->size[0] + d->size[1];

	for (int tries = 0; tries < 1000 && d->count; tries++) {
		uint64_t i = rnd() % slots;
		kv_off o = i < d->size[0] ? ((kv_off *)kv_ptr(db, d->tab[0]))[i]
					  : ((kv_off *)kv_ptr(db, d->tab[1]))[i - d->size[0]];
		struct kv_ent *e = o ? chain_at(db, o, rnd() % FAIR_CHAIN) : NULL;

		if (e)
			return e;
	}
	return dict_random(db, d, rnd);
}

struct kv_ent *set_random(struct kvdb *db, struct kv_ent *e, uint64_t (*rnd)(void))
{
	return dict_fair_random(db, hash_dict(db, e, false), rnd);
}
