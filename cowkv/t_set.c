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

struct kv_ent *set_random(struct kvdb *db, struct kv_ent *e, uint64_t (*rnd)(void))
{
	return dict_random(db, hash_dict(db, e, false), rnd);
}
