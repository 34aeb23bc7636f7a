/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cmd_hash.c — hash commands. A hash whose last field is deleted is
 * deleted, as in Redis.
 */
#include <limits.h>

#include "server.h"
#include "types.h"	/* enc_note_add (part A) */

/* The hash at argv[1] for writing, created if missing; NULL after
 * replying (WRONGTYPE, OOM). *created tells whether it is new. */
static struct kv_ent *hash_for_write(struct client *c, bool *created)
{
	struct kv_ent *e = lookup_write(c, 1);

	*created = false;
	if (!check_type(c, e, KV_HASH))
		return NULL;
	if (!e) {
		e = kv_add(&srv.db, c->argv[1].p, c->argv[1].len, KV_HASH);
		if (!e) {
			reply_oom(c);
			return NULL;
		}
		*created = true;
	}
	return e;
}

/* Delete a hash left empty (a failed first write, or HDEL of the last field). */
static void drop_if_empty(struct kv_ent *e)
{
	if (hash_len(&srv.db, e) == 0)
		kv_delete_ent(&srv.db, e);
}

void cmd_hset(struct client *c)
{
	bool hmset = arg_is(c, 0, "hmset"), created;
	long long added = 0;
	struct kv_ent *e;

	if (c->argc % 2 == 1) {
		reply_arity(c, hmset ? "hmset" : "hset");
		return;
	}
	if (!(e = hash_for_write(c, &created)))
		return;
	for (int i = 2; i < c->argc; i += 2) {
		int r = hash_set(&srv.db, e, c->argv[i].p, c->argv[i].len,
				 c->argv[i + 1].p, c->argv[i + 1].len);

		if (r < 0) {
			drop_if_empty(e);
			reply_oom(c);
			return;
		}
		enc_note_add(e, c->argv[i].p, c->argv[i].len);		/* part A */
		enc_note_add(e, c->argv[i + 1].p, c->argv[i + 1].len);
		added += r;
	}
	srv_changed((uint64_t)(c->argc - 2) / 2);
	notify_arg(c, NOTIFY_HASH, "hset", 1);
	if (hmset)
		reply_ok(c);
	else
		reply_int(c, added);
}

void cmd_hsetnx(struct client *c)
{
	struct kv_ent *e;
	bool created;
	int r;

	if (!(e = hash_for_write(c, &created)))
		return;
	if (hash_get(&srv.db, e, c->argv[2].p, c->argv[2].len)) {
		reply_int(c, 0);
		return;
	}
	r = hash_set(&srv.db, e, c->argv[2].p, c->argv[2].len, c->argv[3].p, c->argv[3].len);
	if (r < 0) {
		drop_if_empty(e);
		reply_oom(c);
		return;
	}
	enc_note_add(e, c->argv[2].p, c->argv[2].len);		/* part A */
	enc_note_add(e, c->argv[3].p, c->argv[3].len);
	srv_changed(1);
	notify_arg(c, NOTIFY_HASH, "hset", 1);
	reply_int(c, 1);
}

/* The hash at argv[1] for reading: NULL when missing (*ok true) or after a
 * WRONGTYPE reply (*ok false). */
static struct kv_ent *hash_for_read(struct client *c, bool *ok)
{
	struct kv_ent *e = lookup_read(c, 1);

	*ok = check_type(c, e, KV_HASH);
	return *ok ? e : NULL;
}

/* Reply field argv[i] of hash e (NULL: missing hash), or nil. */
static void reply_field(struct client *c, struct kv_ent *e, int i)
{
	struct kv_ent *f = e ? hash_get(&srv.db, e, c->argv[i].p, c->argv[i].len) : NULL;

	if (f)
		reply_ent_bytes(c, f);
	else
		reply_nil(c);
}

void cmd_hget(struct client *c)
{
	bool ok;
	struct kv_ent *e = hash_for_read(c, &ok);

	if (ok)
		reply_field(c, e, 2);
}

void cmd_hmget(struct client *c)
{
	bool ok;
	struct kv_ent *e = hash_for_read(c, &ok);

	if (!ok)
		return;
	reply_array(c, c->argc - 2);
	for (int i = 2; i < c->argc; i++)
		reply_field(c, e, i);
}

void cmd_hdel(struct client *c)
{
	struct kv_ent *e = lookup_write(c, 1);
	long long n = 0;

	if (!check_type(c, e, KV_HASH))
		return;
	if (e) {
		for (int i = 2; i < c->argc; i++)
			n += hash_del(&srv.db, e, c->argv[i].p, c->argv[i].len);
		if (n)
			notify_arg(c, NOTIFY_HASH, "hdel", 1);
		if (hash_len(&srv.db, e) == 0) {
			kv_delete_ent(&srv.db, e);
			notify_arg(c, NOTIFY_GENERIC, "del", 1);
		}
	}
	srv_changed((uint64_t)n);
	reply_int(c, n);
}

void cmd_hlen(struct client *c)
{
	bool ok;
	struct kv_ent *e = hash_for_read(c, &ok);

	if (ok)
		reply_int(c, e ? (long long)hash_len(&srv.db, e) : 0);
}

void cmd_hexists(struct client *c)
{
	bool ok;
	struct kv_ent *e = hash_for_read(c, &ok);

	if (ok)
		reply_int(c, e && hash_get(&srv.db, e, c->argv[2].p, c->argv[2].len));
}

void cmd_hstrlen(struct client *c)
{
	bool ok;
	struct kv_ent *e = hash_for_read(c, &ok);
	struct kv_ent *f;

	if (!ok)
		return;
	f = e ? hash_get(&srv.db, e, c->argv[2].p, c->argv[2].len) : NULL;
	reply_int(c, f ? (long long)f->vlen : 0);
}

#define H_KEYS 1
#define H_VALS 2

struct hash_walk {
	struct client *c;
	unsigned what;
};

/* HGETALL/HKEYS/HVALS: reply one field's name and/or value. */
static void hash_visit(struct kvdb *db, struct kv_ent *f, void *arg)
{
	struct hash_walk *w = arg;

	(void)db;
	if (w->what & H_KEYS)
		reply_bulk(w->c, f->key, f->klen);
	if (w->what & H_VALS)
		reply_ent_bytes(w->c, f);
}

/* HGETALL, HKEYS or HVALS of the hash at argv[1]. */
static void hash_all(struct client *c, unsigned what)
{
	bool ok;
	struct kv_ent *e = hash_for_read(c, &ok);
	struct hash_walk w = { c, what };
	uint64_t n;

	if (!ok)
		return;
	n = e ? hash_len(&srv.db, e) : 0;
	/* issue 15: HGETALL is a map under RESP3 */
	if (what == (H_KEYS | H_VALS))
		reply_map_len(c, (long long)n);
	else
		reply_array(c, (long long)n);
	if (n)
		dict_each(&srv.db, hash_dict(&srv.db, e, false), hash_visit, &w);
}

void cmd_hgetall(struct client *c)
{
	hash_all(c, H_KEYS | H_VALS);
}

void cmd_hkeys(struct client *c)
{
	hash_all(c, H_KEYS);
}

void cmd_hvals(struct client *c)
{
	hash_all(c, H_VALS);
}

void cmd_hincrby(struct client *c)
{
	long long by, v = 0;
	struct kv_ent *e, *f;
	char buf[24];
	bool created;
	int r;

	if (!arg_ll(c, 3, &by) || !(e = hash_for_write(c, &created)))
		return;
	f = hash_get(&srv.db, e, c->argv[2].p, c->argv[2].len);
	if (f && !resp_str2ll(ent_bytes(&srv.db, f), f->vlen, &v)) {
		reply_error(c, "ERR hash value is not an integer");
		return;
	}
	if ((by < 0 && v < 0 && by < LLONG_MIN - v) ||
	    (by > 0 && v > 0 && by > LLONG_MAX - v)) {
		drop_if_empty(e);
		reply_error(c, "ERR increment or decrement would overflow");
		return;
	}
	v += by;
	r = hash_set(&srv.db, e, c->argv[2].p, c->argv[2].len, buf, resp_ll2str(buf, v));
	if (r < 0) {
		drop_if_empty(e);
		reply_oom(c);
		return;
	}
	srv_changed(1);
	notify_arg(c, NOTIFY_HASH, "hincrby", 1);
	reply_int(c, v);
}
