/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * debug_populate.c — DEBUG POPULATE count [prefix [size]], as redis-server
 * 7.0 answers it: Redis's own tests and many users fill a server with it.
 *
 * Keys prefix:0 ... prefix:count-1 (prefix "key" by default) in the
 * client's database, each a string "value:N" — or, with size, exactly size
 * bytes: "value:N" cut to size, or padded with zero bytes. A key that
 * exists already is left as it is. No expiry, no keyspace notification,
 * and not counted as a change for the save rules (Redis does the same);
 * WATCHed keys are touched. The key is built in a 128-byte buffer, as
 * Redis builds it, so a longer prefix is cut at 127 bytes with it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

/* A non-negative integer argument i (false after replying otherwise: one
 * message for "not a number" and "negative", as Redis gives). */
static bool positive_arg(struct client *c, int i, long long *v)
{
	if (!resp_str2ll(c->argv[i].p, c->argv[i].len, v) || *v < 0) {
		reply_error(c, "ERR value is out of range, must be positive");
		return false;
	}
	return true;
}

/* Store value n of DEBUG POPULATE under key (klen bytes), unless the key
 * exists; val is scratch of size bytes (0: the plain "value:N"). false
 * when the space is full (replied). */
static bool populate_one(struct client *c, const char *key, size_t klen, long long n,
			 char *val, size_t size)
{
	struct kvdb *db = &srv.db;
	struct kv_ent *e = kv_find(db, key, klen);
	char plain[32];
	int plen = snprintf(plain, sizeof plain, "value:%lld", n);
	const char *v = plain;
	size_t vlen = (size_t)plen;

	if (e && !kv_expired(db, e))
		return true;
	if (e)
		kv_delete_ent(db, e);
	if (size) {
		memset(val, 0, size);
		memcpy(val, plain, size < vlen ? size : vlen);
		v = val;
		vlen = size;
	}
	e = kv_add(db, key, klen, KV_STRING);
	if (e && ent_set_bytes(db, e, v, vlen)) {
		kv_delete_ent(db, e);
		e = NULL;
	}
	if (!e) {
		reply_oom(c);
		return false;
	}
	e->enc = 0;
	multi_touch_key(key, klen);
	return true;
}

/*
 * debug_populate — DEBUG POPULATE count [prefix [size]] (argc 3 to 5, the
 * caller checks): replies +OK, an error for a bad count or size (nothing
 * added), or OOM when the space fills (the keys added so far stay).
 */
void debug_populate(struct client *c)
{
	const char *prefix = c->argc >= 4 ? c->argv[3].p : "key";
	long long count, size = 0;
	char key[128], *val = NULL;

	if (!positive_arg(c, 2, &count) || (c->argc == 5 && !positive_arg(c, 4, &size)))
		return;
	if (size && !(val = malloc((size_t)size))) {
		reply_oom(c);
		return;
	}
	for (long long n = 0; n < count; n++) {
		int klen = snprintf(key, sizeof key, "%s:%lld", prefix, n);

		if (klen >= (int)sizeof key)
			klen = (int)sizeof key - 1;
		if (!populate_one(c, key, (size_t)klen, n, val, (size_t)size)) {
			free(val);
			return;
		}
	}
	free(val);
	reply_ok(c);
}
