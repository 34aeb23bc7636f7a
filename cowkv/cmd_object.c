/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cmd_object.c — the encodings OBJECT ENCODING names (Redis 7.0's choice
 * for the sizes: cowkv stores every type one way, but clients and tests
 * look at the name), and OBJECT, COPY, MOVE, EXPIRETIME, PEXPIRETIME.
 *
 * Redis converts a small encoding (listpack, intset) to the big one when a
 * collection outgrows the limits and never back; kv_ent.enc remembers the
 * conversion so the name sticks as it does in Redis.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "types.h"

struct kv_enc_limits kv_enc = { 512, 64, 512, 128, 64, -2, 0 };

static bool is_int(const char *p, size_t n)
{
	long long v;

	return n <= 20 && resp_str2ll(p, n, &v);
}

void enc_note_add(struct kv_ent *e, const char *p, size_t n)
{
	uint64_t len = obj_len(e);

	switch (e->type) {
	case KV_SET:
		if (!(e->enc & ENC_NOTINT) && !is_int(p, n))
			e->enc |= ENC_NOTINT | ENC_BIG;
		if ((long long)len > kv_enc.set_intset)
			e->enc |= ENC_BIG;
		break;
	case KV_HASH:
		if ((long long)n > kv_enc.hash_value || (long long)len > kv_enc.hash_entries)
			e->enc |= ENC_BIG;
		break;
	case KV_ZSET:
		if ((long long)n > kv_enc.zset_value || (long long)len > kv_enc.zset_entries)
			e->enc |= ENC_BIG;
		break;
	default:
		break;
	}
}

/* Check the whole collection against the limits (for collections written
 * by code that does not call enc_note_add, such as HSET). */
static void enc_field_visit(struct kvdb *db, struct kv_ent *f, void *arg)
{
	struct kv_ent *e = arg;

	(void)db;
	enc_note_add(e, f->key, f->klen);
	if (e->type == KV_HASH)
		enc_note_add(e, "", f->vlen > (uint64_t)kv_enc.hash_value ? (size_t)f->vlen : 0);
}

static void enc_refresh(struct kv_ent *e)
{
	if (e->enc & ENC_BIG)
		return;
	if (e->type == KV_HASH || e->type == KV_SET)
		dict_each(&srv.db, hash_dict(&srv.db, e, false), enc_field_visit, e);
	else if (e->type == KV_ZSET)
		dict_each(&srv.db, &zset_of(&srv.db, e, false)->dict, enc_field_visit, e);
}

bool enc_small(struct kv_ent *e)
{
	enc_refresh(e);
	return !(e->enc & ENC_BIG);
}

const char *enc_name(struct kv_ent *e)
{
	switch (e->type) {
	case KV_STRING:
		if (!(e->enc & (ENC_RAW | ENC_NOTINT)) && is_int(ent_bytes(&srv.db, e), e->vlen))
			return "int";
		return !(e->enc & ENC_RAW) && e->vlen <= 44 ? "embstr" : "raw";
	case KV_LIST:
		return "quicklist";
	case KV_SET:
		return enc_small(e) ? "intset" : "hashtable";
	case KV_HASH:
		return enc_small(e) ? "listpack" : "hashtable";
	case KV_ZSET:
		return enc_small(e) ? "listpack" : "skiplist";
	default:
		return "unknown";
	}
}

static const char *object_help[] = {
	"OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"ENCODING <key>",
	"    Return the kind of internal representation used in order to store the value",
	"    associated with a <key>.",
	"FREQ <key>",
	"    Return the access frequency index of the <key>. The returned integer is",
	"    proportional to the logarithm of the recent access frequency of the key.",
	"IDLETIME <key>",
	"    Return the idle time of the <key>, that is the approximated number of",
	"    seconds elapsed since the last access to the key.",
	"REFCOUNT <key>",
	"    Return the number of references of the value associated with the specified",
	"    <key>.",
	"HELP",
	"    Prints this help.",
};

void cmd_object(struct client *c)
{
	struct kv_ent *e;

	bool known = arg_is(c, 1, "encoding") || arg_is(c, 1, "freq") ||
		     arg_is(c, 1, "idletime") || arg_is(c, 1, "refcount");

	if (known && c->argc != 3) {
		char name[32];

		snprintf(name, sizeof name, "object|%s", c->argv[1].p);
		for (char *p = name; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		reply_arity(c, name);
		return;
	}
	if (arg_is(c, 1, "help") && c->argc != 2) {
		reply_arity(c, "object|help");
		return;
	}
	if (c->argc == 2 && arg_is(c, 1, "help")) {
		size_t n = sizeof object_help / sizeof object_help[0];

		reply_array(c, (long long)n);
		for (size_t i = 0; i < n; i++)
			reply_status(c, object_help[i]);
		return;
	}
	if (!known) {
		reply_subcommand(c, "OBJECT");
		return;
	}
	e = kv_find(&srv.db, c->argv[2].p, c->argv[2].len);
	if (!e) {
		reply_nil(c);
		return;
	}
	if (arg_is(c, 1, "encoding")) {
		reply_bulk_str(c, enc_name(e));
	} else if (arg_is(c, 1, "refcount")) {
		/* Redis shares small integers (0..9999) as one object. */
		long long v;

		reply_int(c, e->type == KV_STRING &&
			     !(e->enc & (ENC_RAW | ENC_NOTINT | ENC_UNSHARED)) &&
			     resp_str2ll(ent_bytes(&srv.db, e), e->vlen, &v) &&
			     v >= 0 && v < 10000 ? 2147483647 : 1);
	} else if (arg_is(c, 1, "freq")) {
		/* maxmemory-policy is never an LFU policy in cowkv (no eviction). */
		reply_error(c, "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.");
	} else {
		/* cowkv keeps no access clock per key: a read would store into
		 * the space and copy its page after every snapshot. */
		reply_int(c, 0);
	}
}

/* EXPIRETIME (seconds) or PEXPIRETIME: -2 no key, -1 no expiry. */
static void expiretime_generic(struct client *c, bool ms)
{
	struct kv_ent *e = lookup_read(c, 1);

	if (!e)
		reply_int(c, -2);
	else if (!e->expire)
		reply_int(c, -1);
	else
		reply_int(c, ms ? e->expire : e->expire / 1000);
}

void cmd_expiretime(struct client *c) { expiretime_generic(c, false); }
void cmd_pexpiretime(struct client *c) { expiretime_generic(c, true); }
