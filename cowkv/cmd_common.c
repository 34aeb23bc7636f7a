/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cmd_common.c — what the data commands share: key lookups with the hit and
 * miss counters, type checks, and storing a string under a key.
 */
#include "server.h"

struct kv_ent *lookup_read(struct client *c, int i)
{
	struct kv_ent *e = kv_find(&srv.db, c->argv[i].p, c->argv[i].len);

	if (e) {
		srv.hits++;
	} else {
		srv.misses++;
		notify_arg(c, NOTIFY_KEY_MISS, "keymiss", i);	/* issue 13 part B */
	}
	return e;
}

struct kv_ent *lookup_write(struct client *c, int i)
{
	return kv_find(&srv.db, c->argv[i].p, c->argv[i].len);
}

bool check_type(struct client *c, const struct kv_ent *e, enum kv_type type)
{
	if (!e || e->type == type)
		return true;
	reply_wrongtype(c);
	return false;
}

struct kv_ent *set_string(struct client *c, int i, const char *v, size_t n,
			  bool keepttl)
{
	struct kvdb *db = &srv.db;
	struct kv_ent *e = lookup_write(c, i);
	bool fresh = !e;

	if (fresh) {
		e = kv_add(db, c->argv[i].p, c->argv[i].len, KV_STRING);
		if (!e) {
			reply_oom(c);
			return NULL;
		}
	} else if (e->type != KV_STRING) {
		kv_clear_value(db, e, KV_STRING);
	}
	if (ent_set_bytes(db, e, v, n)) {
		if (fresh)
			kv_delete_ent(db, e);
		reply_oom(c);
		return NULL;
	}
	if (!keepttl)
		kv_set_expire(db, e, 0);
	e->enc = 0;	/* a new string object: int/embstr by its bytes (part A) */
	return e;
}

void reply_ent_bytes(struct client *c, const struct kv_ent *e)
{
	reply_bulk(c, ent_bytes(&srv.db, e), e->vlen);
}
