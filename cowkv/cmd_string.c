/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cmd_string.c — string commands, with Redis 7's options, replies and
 * error texts.
 */
#include <limits.h>
#include <string.h>

#include "server.h"

void cmd_get(struct client *c)
{
	struct kv_ent *e = lookup_read(c, 1);

	if (!e)
		reply_nil(c);
	else if (check_type(c, e, KV_STRING))
		reply_ent_bytes(c, e);
}

#define SET_NX 0x01
#define SET_XX 0x02
#define SET_GET 0x04
#define SET_KEEPTTL 0x08
#define SET_EX 0x10
#define SET_PX 0x20
#define SET_EXAT 0x40
#define SET_PXAT 0x80
#define SET_ANY_EXPIRE (SET_EX | SET_PX | SET_EXAT | SET_PXAT)

/* Redis's error for an expiry out of range, naming the command. */
static void reply_expire_time(struct client *c, const char *cmd)
{
	reply_errorf(c, "ERR invalid expire time in '%s' command", cmd);
}

/*
 * The expiry given to SET-like commands as an absolute unix time in ms:
 * v in seconds or ms, relative to now unless an AT form. Replies and
 * returns false on a bad value.
 */
static bool expire_arg(struct client *c, int i, unsigned flags, const char *cmd,
		       long long *when)
{
	long long v;
	bool secs = flags & (SET_EX | SET_EXAT);

	if (!arg_ll(c, i, &v))
		return false;
	if (v <= 0 || (secs && v > LLONG_MAX / 1000)) {
		reply_expire_time(c, cmd);
		return false;
	}
	if (secs)
		v *= 1000;
	if (flags & (SET_EX | SET_PX)) {
		if (v > LLONG_MAX - srv.db.now_ms) {
			reply_expire_time(c, cmd);
			return false;
		}
		v += srv.db.now_ms;
	}
	*when = v;
	return true;
}

/* Parse SET's options from argv[3]. Returns false after replying. */
static bool set_options(struct client *c, unsigned *flags, int *exp_arg)
{
	static const struct { const char *name; unsigned flag; } ex[] = {
		{ "ex", SET_EX }, { "px", SET_PX }, { "exat", SET_EXAT }, { "pxat", SET_PXAT },
	};

	for (int i = 3; i < c->argc; i++) {
		unsigned f = *flags;
		bool next = i + 1 < c->argc, done = false;

		if (arg_is(c, i, "nx") && !(f & SET_XX)) {
			*flags |= SET_NX;
			continue;
		}
		if (arg_is(c, i, "xx") && !(f & SET_NX)) {
			*flags |= SET_XX;
			continue;
		}
		if (arg_is(c, i, "get")) {
			*flags |= SET_GET;
			continue;
		}
		if (arg_is(c, i, "keepttl") && !(f & SET_ANY_EXPIRE)) {
			*flags |= SET_KEEPTTL;
			continue;
		}
		for (size_t k = 0; k < 4 && !done; k++) {
			/* As Redis: the same option twice is allowed, the last wins. */
			unsigned others = SET_KEEPTTL | (SET_ANY_EXPIRE & ~ex[k].flag);

			if (arg_is(c, i, ex[k].name) && next && !(f & others)) {
				*flags |= ex[k].flag;
				*exp_arg = ++i;
				done = true;
			}
		}
		if (!done) {
			reply_syntax(c);
			return false;
		}
	}
	return true;
}

/* SET's body, shared with SETEX, PSETEX, SETNX and GETSET. when: absolute
 * expiry or 0. */
static void set_generic(struct client *c, unsigned flags, long long when,
			int vi, bool reply_int_result)
{
	struct kv_ent *e;
	bool found;

	if (flags & SET_GET) {
		e = lookup_read(c, 1);
		if (!check_type(c, e, KV_STRING))
			return;
		if (e)
			reply_ent_bytes(c, e);
		else
			reply_nil(c);
	}
	found = lookup_write(c, 1) != NULL;
	if (((flags & SET_NX) && found) || ((flags & SET_XX) && !found)) {
		if (reply_int_result)
			reply_int(c, 0);
		else if (!(flags & SET_GET))
			reply_nil(c);
		return;
	}
	e = set_string(c, 1, c->argv[vi].p, c->argv[vi].len, flags & SET_KEEPTTL);
	if (!e)
		return;
	if (when && kv_set_expire(&srv.db, e, when)) {
		kv_delete_ent(&srv.db, e);
		reply_oom(c);
		return;
	}
	srv_changed(1);
	notify_arg(c, NOTIFY_STRING, "set", 1);
	if (when)
		notify_arg(c, NOTIFY_GENERIC, "expire", 1);
	if (reply_int_result)
		reply_int(c, 1);
	else if (!(flags & SET_GET))
		reply_ok(c);
}

void cmd_set(struct client *c)
{
	unsigned flags = 0;
	int exp_arg = 0;
	long long when = 0;

	if (!set_options(c, &flags, &exp_arg))
		return;
	if (exp_arg && !expire_arg(c, exp_arg, flags, "set", &when))
		return;
	set_generic(c, flags, when, 2, false);
}

void cmd_setnx(struct client *c)
{
	set_generic(c, SET_NX, 0, 2, true);
}

void cmd_setex(struct client *c)
{
	long long when;

	if (expire_arg(c, 2, SET_EX, "setex", &when))
		set_generic(c, 0, when, 3, false);
}

void cmd_psetex(struct client *c)
{
	long long when;

	if (expire_arg(c, 2, SET_PX, "psetex", &when))
		set_generic(c, 0, when, 3, false);
}

void cmd_getset(struct client *c)
{
	set_generic(c, SET_GET, 0, 2, false);
}

void cmd_getdel(struct client *c)
{
	struct kv_ent *e = lookup_read(c, 1);

	if (!e) {
		reply_nil(c);
		return;
	}
	if (!check_type(c, e, KV_STRING))
		return;
	reply_ent_bytes(c, e);
	kv_delete_ent(&srv.db, e);
	notify_arg(c, NOTIFY_GENERIC, "del", 1);
	srv_changed(1);
}

void cmd_mget(struct client *c)
{
	reply_array(c, c->argc - 1);
	for (int i = 1; i < c->argc; i++) {
		struct kv_ent *e = lookup_read(c, i);

		if (e && e->type == KV_STRING)
			reply_ent_bytes(c, e);
		else
			reply_nil(c);
	}
}

/* MSET, and MSETNX when nx (nothing is set if any key exists). */
static void mset_generic(struct client *c, bool nx)
{
	if (c->argc % 2 == 0) {
		reply_arity(c, nx ? "msetnx" : "mset");
		return;
	}
	if (nx) {
		for (int i = 1; i < c->argc; i += 2) {
			if (lookup_write(c, i)) {
				reply_int(c, 0);
				return;
			}
		}
	}
	for (int i = 1; i < c->argc; i += 2) {
		if (!set_string(c, i, c->argv[i + 1].p, c->argv[i + 1].len, false))
			return;
		notify_arg(c, NOTIFY_STRING, "set", i);
		srv_changed(1);
	}
	reply_ok_or_one(c, nx);
}

void cmd_mset(struct client *c)
{
	mset_generic(c, false);
}

void cmd_msetnx(struct client *c)
{
	mset_generic(c, true);
}

/* The integer a string entry holds (false after replying if it is none). */
static bool ent_ll(struct client *c, const struct kv_ent *e, long long *v)
{
	if (!e) {
		*v = 0;
		return true;
	}
	if (resp_str2ll(ent_bytes(&srv.db, e), e->vlen, v))
		return true;
	reply_not_int(c);
	return false;
}

/* INCR and friends: add by to the integer at argv[1] (0 when missing),
 * keeping its expiry; overflow is an error. */
static void incr_by(struct client *c, long long by)
{
	struct kv_ent *e = lookup_write(c, 1);
	long long v;
	char buf[24];
	size_t n;

	if (!check_type(c, e, KV_STRING) || !ent_ll(c, e, &v))
		return;
	if ((by < 0 && v < 0 && by < LLONG_MIN - v) ||
	    (by > 0 && v > 0 && by > LLONG_MAX - v)) {
		reply_error(c, "ERR increment or decrement would overflow");
		return;
	}
	v += by;
	n = resp_ll2str(buf, v);
	if (!set_string(c, 1, buf, n, true))
		return;
	notify_arg(c, NOTIFY_STRING, "incrby", 1);
	srv_changed(1);
	reply_int(c, v);
}

void cmd_incr(struct client *c)
{
	incr_by(c, 1);
}

void cmd_decr(struct client *c)
{
	incr_by(c, -1);
}

void cmd_incrby(struct client *c)
{
	long long by;

	if (arg_ll(c, 2, &by))
		incr_by(c, by);
}

void cmd_decrby(struct client *c)
{
	long long by;

	if (!arg_ll(c, 2, &by))
		return;
	if (by == LLONG_MIN) {
		reply_error(c, "ERR decrement would overflow");
		return;
	}
	incr_by(c, -by);
}

/* Redis's checkStringLength: may a string grow to size + append bytes? */
static bool length_ok(struct client *c, long long size, long long append)
{
	long long total = (long long)((unsigned long long)size + (unsigned long long)append);

	if (total > (long long)srv.proto_max_bulk_len || total < size || total < append) {
		reply_error(c, "ERR string exceeds maximum allowed size (proto-max-bulk-len)");
		return false;
	}
	return true;
}

void cmd_append(struct client *c)
{
	struct kv_ent *e = lookup_write(c, 1);
	const struct kv_arg *a = &c->argv[2];
	size_t old;

	if (!e) {
		if (!set_string(c, 1, a->p, a->len, false))
			return;
		notify_arg(c, NOTIFY_STRING, "append", 1);
		srv_changed(1);
		reply_int(c, (long long)a->len);
		return;
	}
	if (!check_type(c, e, KV_STRING) ||
	    !length_ok(c, (long long)e->vlen, (long long)a->len))
		return;
	e->enc |= ENC_RAW;	/* Redis unshares the string: "raw" (part A) */
	if (a->len == 0) {
		reply_int(c, (long long)e->vlen);
		return;
	}
	old = e->vlen;
	if (ent_resize_bytes(&srv.db, e, old + a->len)) {
		reply_oom(c);
		return;
	}
	memcpy(ent_bytes(&srv.db, e) + old, a->p, a->len);
	notify_arg(c, NOTIFY_STRING, "append", 1);
	srv_changed(1);
	reply_int(c, (long long)e->vlen);
}

void cmd_strlen(struct client *c)
{
	struct kv_ent *e = lookup_read(c, 1);

	if (check_type(c, e, KV_STRING))
		reply_int(c, e ? (long long)e->vlen : 0);
}

void cmd_getrange(struct client *c)
{
	long long start, end, len;
	struct kv_ent *e;

	if (!arg_ll(c, 2, &start) || !arg_ll(c, 3, &end))
		return;
	e = lookup_read(c, 1);
	if (!e) {
		reply_bulk(c, "", 0);
		return;
	}
	if (!check_type(c, e, KV_STRING))
		return;
	len = (long long)e->vlen;
	if (start < 0 && end < 0 && start > end) {
		reply_bulk(c, "", 0);
		return;
	}
	if (start < 0)
		start += len;
	if (end < 0)
		end += len;
	if (start < 0)
		start = 0;
	if (end < 0)
		end = 0;
	if (end >= len)
		end = len - 1;
	if (start > end || len == 0)
		reply_bulk(c, "", 0);
	else
		reply_bulk(c, ent_bytes(&srv.db, e) + start, (size_t)(end - start + 1));
}

void cmd_setrange(struct client *c)
{
	const struct kv_arg *a = &c->argv[3];
	struct kv_ent *e;
	long long off;

	if (!arg_ll(c, 2, &off))
		return;
	if (off < 0) {
		reply_error(c, "ERR offset is out of range");
		return;
	}
	e = lookup_write(c, 1);
	if (!check_type(c, e, KV_STRING))
		return;
	if (a->len == 0) {
		reply_int(c, e ? (long long)e->vlen : 0);
		return;
	}
	if (!length_ok(c, off, (long long)a->len))
		return;
	if (!e && !(e = set_string(c, 1, "", 0, false)))
		return;
	if ((unsigned long long)off + a->len > e->vlen &&
	    ent_resize_bytes(&srv.db, e, (size_t)off + a->len)) {
		reply_oom(c);
		return;
	}
	memcpy(ent_bytes(&srv.db, e) + off, a->p, a->len);
	e->enc |= ENC_RAW;	/* OBJECT ENCODING "raw" (part A) */
	notify_arg(c, NOTIFY_STRING, "setrange", 1);
	srv_changed(1);
	reply_int(c, (long long)e->vlen);
}
