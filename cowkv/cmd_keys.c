/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cmd_keys.c — commands on keys whatever their type: DEL, EXISTS, TYPE,
 * expiry, KEYS, SCAN, RANDOMKEY, RENAME, DBSIZE, FLUSHDB/FLUSHALL.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server.h"

void cmd_del(struct client *c)
{
	long long n = 0;

	for (int i = 1; i < c->argc; i++) {
		if (kv_delete(&srv.db, c->argv[i].p, c->argv[i].len)) {
			notify_arg(c, NOTIFY_GENERIC, "del", i);
			n++;
		}
	}
	srv_changed((uint64_t)n);
	reply_int(c, n);
}

void cmd_exists(struct client *c)
{
	long long n = 0;

	for (int i = 1; i < c->argc; i++)
		n += lookup_read(c, i) != NULL;
	reply_int(c, n);
}

void cmd_touch(struct client *c)
{
	long long n = 0;

	for (int i = 1; i < c->argc; i++)
		n += lookup_write(c, i) != NULL;
	reply_int(c, n);
}

/* TYPE's name for e's type ("none" for NULL). */
static const char *type_name(const struct kv_ent *e)
{
	switch (e ? e->type : KV_NONE) {
	case KV_STRING: return "string";
	case KV_HASH: return "hash";
	case KV_LIST: return "list";
	case KV_SET: return "set";	/* part A */
	case KV_ZSET: return "zset";	/* part A */
	default: return "none";
	}
}

void cmd_type(struct client *c)
{
	reply_status(c, type_name(lookup_read(c, 1)));
}

/* ---- expiry ----------------------------------------------------------- */

#define EX_NX 1
#define EX_XX 2
#define EX_GT 4
#define EX_LT 8

/* Parse EXPIRE's NX/XX/GT/LT from argv[3]; replies and returns false on error. */
static bool expire_flags(struct client *c, unsigned *flags)
{
	for (int i = 3; i < c->argc; i++) {
		if (arg_is(c, i, "nx"))
			*flags |= EX_NX;
		else if (arg_is(c, i, "xx"))
			*flags |= EX_XX;
		else if (arg_is(c, i, "gt"))
			*flags |= EX_GT;
		else if (arg_is(c, i, "lt"))
			*flags |= EX_LT;
		else {
			reply_errorf(c, "ERR Unsupported option %s", c->argv[i].p);
			return false;
		}
	}
	if ((*flags & EX_NX) && (*flags & (EX_XX | EX_GT | EX_LT))) {
		reply_error(c, "ERR NX and XX, GT or LT options at the same time are not compatible");
		return false;
	}
	if ((*flags & EX_GT) && (*flags & EX_LT)) {
		reply_error(c, "ERR GT and LT options at the same time are not compatible");
		return false;
	}
	return true;
}

/* Do the NX/XX/GT/LT conditions allow setting expiry when on e? */
static bool expire_allowed(const struct kv_ent *e, unsigned flags, long long when)
{
	long long cur = e->expire ? e->expire : -1;

	if ((flags & EX_NX) && cur != -1)
		return false;
	if ((flags & EX_XX) && cur == -1)
		return false;
	if ((flags & EX_GT) && (cur == -1 || when <= cur))
		return false;
	if ((flags & EX_LT) && cur != -1 && when >= cur)
		return false;
	return true;
}

/* EXPIRE and friends: argv[2] in seconds (secs) or ms, relative to base. */
static void expire_generic(struct client *c, long long base, bool secs, const char *name)
{
	unsigned flags = 0;
	long long when;
	struct kv_ent *e;

	if (!expire_flags(c, &flags) || !arg_ll(c, 2, &when))
		return;
	if (secs) {
		if (when > LLONG_MAX / 1000 || when < LLONG_MIN / 1000) {
			reply_errorf(c, "ERR invalid expire time in '%s' command", name);
			return;
		}
		when *= 1000;
	}
	if (when > LLONG_MAX - base) {
		reply_errorf(c, "ERR invalid expire time in '%s' command", name);
		return;
	}
	when += base;
	e = lookup_write(c, 1);
	if (!e || !expire_allowed(e, flags, when)) {
		reply_int(c, 0);
		return;
	}
	if (when <= srv.db.now_ms) {
		kv_delete_ent(&srv.db, e);	/* already expired */
		notify_arg(c, NOTIFY_GENERIC, "del", 1);
	} else if (kv_set_expire(&srv.db, e, when)) {
		reply_oom(c);
		return;
	} else {
		notify_arg(c, NOTIFY_GENERIC, "expire", 1);
	}
	srv_changed(1);
	reply_int(c, 1);
}

void cmd_expire(struct client *c)
{
	expire_generic(c, srv.db.now_ms, true, "expire");
}

void cmd_pexpire(struct client *c)
{
	expire_generic(c, srv.db.now_ms, false, "pexpire");
}

void cmd_expireat(struct client *c)
{
	expire_generic(c, 0, true, "expireat");
}

void cmd_pexpireat(struct client *c)
{
	expire_generic(c, 0, false, "pexpireat");
}

/* TTL (seconds, rounded) or PTTL (ms): -2 no key, -1 no expiry. */
static void ttl_generic(struct client *c, bool ms)
{
	struct kv_ent *e = lookup_read(c, 1);
	long long t;

	if (!e) {
		reply_int(c, -2);
		return;
	}
	if (!e->expire) {
		reply_int(c, -1);
		return;
	}
	t = e->expire - srv.db.now_ms;
	if (t < 0)
		t = 0;
	reply_int(c, ms ? t : (t + 500) / 1000);
}

void cmd_ttl(struct client *c)
{
	ttl_generic(c, false);
}

void cmd_pttl(struct client *c)
{
	ttl_generic(c, true);
}

void cmd_persist(struct client *c)
{
	struct kv_ent *e = lookup_write(c, 1);

	if (!e || !e->expire) {
		reply_int(c, 0);
		return;
	}
	kv_set_expire(&srv.db, e, 0);
	notify_arg(c, NOTIFY_GENERIC, "persist", 1);
	srv_changed(1);
	reply_int(c, 1);
}

/* ---- KEYS and SCAN ------------------------------------------------------- */

struct key_filter {
	struct client *c;
	const char *pat;
	size_t plen;
	bool all;               /* no pattern, or "*" */
	const char *type;       /* SCAN TYPE, or NULL */
	long long n;            /* keys replied (KEYS) */
	struct kv_ent **keys;   /* keys collected (SCAN) */
	size_t nkeys, cap;
	bool nomem;
};

/* Does e pass KEYS/SCAN's filters (live, type, pattern)? */
static bool key_wanted(const struct key_filter *f, const struct kv_ent *e)
{
	if (kv_expired(&srv.db, e))
		return false;
	if (f->type && strcasecmp(f->type, type_name(e)) != 0)
		return false;
	return f->all || glob_match(f->pat, f->plen, e->key, e->klen, false);
}

/* KEYS: reply each wanted key as it is found. */
static void keys_visit(struct kvdb *db, struct kv_ent *e, void *arg)
{
	struct key_filter *f = arg;

	(void)db;
	if (key_wanted(f, e)) {
		reply_bulk(f->c, e->key, e->klen);
		f->n++;
	}
}

void cmd_keys(struct client *c)
{
	struct key_filter f = { .c = c, .pat = c->argv[1].p, .plen = c->argv[1].len };
	struct obuf *h = reply_defer(c);

	f.all = f.plen == 1 && f.pat[0] == '*';
	dict_each(&srv.db, &kv_ks(&srv.db)->keys, keys_visit, &f);
	reply_defer_set(c, h, f.n);
}

/* SCAN: collect the keys of the buckets visited (filtered later). */
static void scan_visit(struct kvdb *db, struct kv_ent *e, void *arg)
{
	struct key_filter *f = arg;

	(void)db;
	if (f->nkeys == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 32;
		struct kv_ent **k = realloc(f->keys, cap * sizeof *k);

		if (!k) {
			f->nomem = true;
			return;
		}
		f->keys = k;
		f->cap = cap;
	}
	f->keys[f->nkeys++] = e;
}

/* Redis's parseScanCursorOrReply: strtoul's syntax, whole string. */
static bool scan_cursor(struct client *c, uint64_t *cur)
{
	const char *s = c->argv[1].p;
	char *end;

	errno = 0;
	*cur = strtoull(s, &end, 10);
	if (isspace((unsigned char)s[0]) || end != s + c->argv[1].len || *end ||
	    errno == ERANGE || end == s) {
		reply_error(c, "ERR invalid cursor");
		return false;
	}
	return true;
}

/* Parse SCAN's COUNT, MATCH and TYPE; replies and returns false on error. */
static bool scan_options(struct client *c, struct key_filter *f, long long *count)
{
	for (int i = 2; i < c->argc; i += 2) {
		if (i + 1 >= c->argc) {
			reply_syntax(c);
			return false;
		}
		if (arg_is(c, i, "count")) {
			if (!arg_ll(c, i + 1, count))
				return false;
			if (*count < 1) {
				reply_syntax(c);
				return false;
			}
		} else if (arg_is(c, i, "match")) {
			f->pat = c->argv[i + 1].p;
			f->plen = c->argv[i + 1].len;
			f->all = f->plen == 1 && f->pat[0] == '*';
		} else if (arg_is(c, i, "type")) {
			f->type = c->argv[i + 1].p;
		} else {
			reply_syntax(c);
			return false;
		}
	}
	return true;
}

void cmd_scan(struct client *c)
{
	struct key_filter f = { .c = c, .all = true };
	long long count = 10, iters;
	uint64_t cur;
	char buf[24];
	size_t kept = 0;

	if (!scan_cursor(c, &cur) || !scan_options(c, &f, &count))
		return;
	iters = count * 10;
	do {
		cur = dict_scan(&srv.db, &kv_ks(&srv.db)->keys, cur, scan_visit, &f);
	} while (cur && iters-- > 0 && f.nkeys < (size_t)count && !f.nomem);
	if (f.nomem) {
		free(f.keys);
		reply_error(c, "ERR out of memory");
		return;
	}
	for (size_t i = 0; i < f.nkeys; i++)
		if (key_wanted(&f, f.keys[i]))
			f.keys[kept++] = f.keys[i];
	reply_array(c, 2);
	snprintf(buf, sizeof buf, "%llu", (unsigned long long)cur);
	reply_bulk_str(c, buf);
	reply_array(c, (long long)kept);
	for (size_t i = 0; i < kept; i++)
		reply_bulk(c, f.keys[i]->key, f.keys[i]->klen);
	free(f.keys);
}

void cmd_randomkey(struct client *c)
{
	struct kv_ent *e = kv_random(&srv.db, srv_random);

	if (e)
		reply_bulk(c, e->key, e->klen);
	else
		reply_nil(c);
}

/* ---- RENAME ------------------------------------------------------------- */

static void rename_generic(struct client *c, bool nx)
{
	struct kv_ent *e = lookup_write(c, 1), *dst;

	if (!e) {
		reply_error(c, "ERR no such key");
		return;
	}
	if (c->argv[1].len == c->argv[2].len &&
	    memcmp(c->argv[1].p, c->argv[2].p, c->argv[1].len) == 0) {
		if (nx)
			reply_int(c, 0);
		else
			reply_ok(c);
		return;
	}
	dst = lookup_write(c, 2);
	if (dst) {
		if (nx) {
			reply_int(c, 0);
			return;
		}
		kv_delete_ent(&srv.db, dst);
	}
	if (!kv_rename(&srv.db, e, c->argv[2].p, c->argv[2].len)) {
		reply_oom(c);
		return;
	}
	srv_changed(1);
	notify_arg(c, NOTIFY_GENERIC, "rename_from", 1);
	notify_arg(c, NOTIFY_GENERIC, "rename_to", 2);
	reply_ok_or_one(c, nx);
}

void cmd_rename(struct client *c)
{
	rename_generic(c, false);
}

void cmd_renamenx(struct client *c)
{
	rename_generic(c, true);
}

void cmd_dbsize(struct client *c)
{
	reply_int(c, (long long)kv_count(&srv.db));
}

/* True if every database but dbi is empty (then FLUSHDB of dbi may empty
 * the whole space at once). */
static bool others_empty(unsigned dbi)
{
	for (unsigned i = 0; i < kv_ndb(&srv.db); i++)
		if (i != dbi && kv_ks_at(&srv.db, i)->keys.count)
			return false;
	return true;
}

/*
 * FLUSHALL empties every database, FLUSHDB the client's: when the others
 * are empty already that is the same, done by formatting the heap again
 * (persist_flush, time independent of the data); else FLUSHDB frees the
 * database's entries one by one, as Redis does.
 */
void cmd_flushdb(struct client *c)
{
	bool all = arg_is(c, 0, "flushall");
	unsigned dbi = srv.db.cur;
	int err;

	if (c->argc > 2 || (c->argc == 2 && !arg_is(c, 1, "sync") && !arg_is(c, 1, "async"))) {
		reply_syntax(c);
		return;
	}
	if (all || others_empty(dbi)) {
		srv_changed(kv_count_all(&srv.db));
		keyspace_all_changed();		/* WATCHes of existing keys break */
		if ((err = persist_flush())) {
			reply_errorf(c, "ERR FLUSH failed: %s", cow_strerror(err));
			return;
		}
		srv.db.cur = dbi;
	} else {
		srv_changed(kv_count(&srv.db));
		multi_touch_db(dbi, -1);
		kv_flush_one(&srv.db, dbi);
	}
	srv_changed(1);
	if (all && srv.store && srv.nsave > 0) {
		kv_bgsave_wait();
		if (persist_save() == 0)
			srv.dirty = 0;
	}
	reply_ok(c);
}

/* Parse argument i as an int (Redis's getIntFromObjectOrReply); replies
 * "ERR invalid <name>" and returns false when it is not one. */
static bool arg_int_named(struct client *c, int i, const char *name, long long *v)
{
	if (!resp_str2ll(c->argv[i].p, c->argv[i].len, v) || *v < INT_MIN || *v > INT_MAX) {
		reply_errorf(c, "ERR invalid %s", name);
		return false;
	}
	return true;
}

/*
 * SWAPDB a b: the two databases trade contents, for every client (those
 * that SELECTed a now see b's keys). WATCHes of keys that exist in either
 * break; clients blocked on a key that now holds a value are served.
 */
void cmd_swapdb(struct client *c)
{
	long long va, vb;
	unsigned a, b;

	if (!arg_int_named(c, 1, "first DB index", &va) ||
	    !arg_int_named(c, 2, "second DB index", &vb))
		return;
	if (!db_index_ok(va) || !db_index_ok(vb)) {
		reply_error(c, "ERR DB index is out of range");
		return;
	}
	a = (unsigned)va;
	b = (unsigned)vb;
	if (a != b) {
		multi_touch_db(a, (int)b);
		multi_touch_db(b, (int)a);
		kv_swap(&srv.db, a, b);
		blocking_db_changed(a);
		blocking_db_changed(b);
	}
	srv_changed(1);
	reply_ok(c);
}
