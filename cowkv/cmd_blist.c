/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cmd_blist.c — the blocking list commands: BLPOP, BRPOP, BLMOVE,
 * BRPOPLPUSH, BLMPOP. Each tries its keys now; when none holds a list and
 * the client may block (not in MULTI/EXEC), it waits (blocking.c) and runs
 * again when a key it names becomes a list. Keyspace events as Redis 7.0
 * sends them: lpop/rpop on the source (then del when emptied), lpush/rpush
 * on a BLMOVE destination.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

/* The timeout reply of every blocking list command in Redis 7.0 (BLMOVE
 * and BRPOPLPUSH too, though their non-blocking "nothing" is a nil bulk). */
static void timeout_nil_array(struct client *c)
{
	reply_nil_array(c);
}

/* Pop one element of list e (key argument ki, non-empty): reply it as a
 * bulk, send the event, delete the list when emptied. */
static void pop_one(struct client *c, struct kv_ent *e, int ki, bool left)
{
	struct kv_elem *el = list_pop(&srv.db, e, left);

	reply_bulk(c, el->data, el->len);
	list_elem_free(&srv.db, el);
	notify_arg(c, NOTIFY_LIST, left ? "lpop" : "rpop", ki);
	if (list_len(&srv.db, e) == 0) {
		kv_delete_ent(&srv.db, e);
		notify_arg(c, NOTIFY_GENERIC, "del", ki);
	}
	srv_changed(1);
}

/* BLPOP / BRPOP key [key ...] timeout */
static void bpop_generic(struct client *c, bool left)
{
	int64_t deadline;

	if (!arg_timeout(c, c->argc - 1, &deadline))
		return;
	for (int i = 1; i < c->argc - 1; i++) {
		struct kv_ent *e = lookup_write(c, i);

		if (!e)
			continue;
		if (!check_type(c, e, KV_LIST))
			return;
		reply_array(c, 2);
		reply_bulk(c, c->argv[i].p, c->argv[i].len);
		pop_one(c, e, i, left);
		return;
	}
	if (!blocking_may_block(c))
		reply_nil_array(c);
	else
		block_client(c, 1, c->argc - 2, 1, KV_LIST, deadline, timeout_nil_array);
}

void cmd_blpop(struct client *c)
{
	bpop_generic(c, true);
}

void cmd_brpop(struct client *c)
{
	bpop_generic(c, false);
}

/* LEFT or RIGHT at argument i; replies a syntax error otherwise. */
static bool arg_side(struct client *c, int i, bool *left)
{
	if (arg_is(c, i, "left"))
		*left = true;
	else if (arg_is(c, i, "right"))
		*left = false;
	else {
		reply_syntax(c);
		return false;
	}
	return true;
}

/*
 * Move one element from list argv[1] (its from side) to argv[2] (its to
 * side), replying the element; nil/blocking when argv[1] has none.
 */
static void bmove_generic(struct client *c, bool from_left, bool to_left, int ti)
{
	struct kv_ent *src, *dst;
	struct kv_elem *el;
	char *copy;
	size_t n;
	int64_t deadline;

	if (!arg_timeout(c, ti, &deadline))
		return;
	src = lookup_write(c, 1);
	if (!src) {
		if (!blocking_may_block(c))
			reply_nil(c);
		else
			block_client(c, 1, 1, 1, KV_LIST, deadline, timeout_nil_array);
		return;
	}
	if (!check_type(c, src, KV_LIST))
		return;
	dst = lookup_write(c, 2);
	if (!check_type(c, dst, KV_LIST))
		return;
	/* Copy the element out first: the source may be the destination. */
	el = from_left ? list_at(&srv.db, src, 0)
		       : list_at(&srv.db, src, list_len(&srv.db, src) - 1);
	n = el->len;
	if (!(copy = malloc(n ? n : 1))) {
		reply_error(c, "ERR out of memory");
		return;
	}
	memcpy(copy, el->data, n);
	if (!dst) {
		dst = kv_add(&srv.db, c->argv[2].p, c->argv[2].len, KV_LIST);
		if (!dst) {
			free(copy);
			reply_oom(c);
			return;
		}
	}
	if (list_push(&srv.db, dst, to_left, copy, n)) {
		if (list_len(&srv.db, dst) == 0)
			kv_delete_ent(&srv.db, dst);
		free(copy);
		reply_oom(c);
		return;
	}
	notify_arg(c, NOTIFY_LIST, to_left ? "lpush" : "rpush", 2);
	/* src may have moved if it is dst: find it again. */
	src = kv_find(&srv.db, c->argv[1].p, c->argv[1].len);
	list_elem_free(&srv.db, list_pop(&srv.db, src, from_left));
	notify_arg(c, NOTIFY_LIST, from_left ? "lpop" : "rpop", 1);
	if (list_len(&srv.db, src) == 0) {
		kv_delete_ent(&srv.db, src);
		notify_arg(c, NOTIFY_GENERIC, "del", 1);
	}
	srv_changed(1);
	reply_bulk(c, copy, n);
	free(copy);
}

/* BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout */
void cmd_blmove(struct client *c)
{
	bool from, to;

	if (!arg_side(c, 3, &from) || !arg_side(c, 4, &to))
		return;
	bmove_generic(c, from, to, 5);
}

/* BRPOPLPUSH source destination timeout */
void cmd_brpoplpush(struct client *c)
{
	bmove_generic(c, false, true, 3);
}

/* A positive count at argument i (LONG_MAX at most); replies msg if not. */
static bool arg_positive(struct client *c, int i, const char *msg, long long *v)
{
	if (!resp_str2ll(c->argv[i].p, c->argv[i].len, v) || *v < 1 || *v > LONG_MAX) {
		reply_error(c, msg);
		return false;
	}
	return true;
}

/* BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count] */
void cmd_blmpop(struct client *c)
{
	long long numkeys, count = -1;
	int64_t deadline;
	bool left;
	int where;

	if (!arg_timeout(c, 1, &deadline) ||
	    !arg_positive(c, 2, "ERR numkeys should be greater than 0", &numkeys))
		return;
	if (numkeys > c->argc - 4) {
		reply_syntax(c);
		return;
	}
	where = 3 + (int)numkeys;
	if (!arg_side(c, where, &left))
		return;
	for (int j = where + 1; j < c->argc; j++) {
		if (count == -1 && arg_is(c, j, "count") && j + 1 < c->argc) {
			if (!arg_positive(c, ++j, "ERR count should be greater than 0", &count))
				return;
		} else {
			reply_syntax(c);
			return;
		}
	}
	if (count == -1)
		count = 1;
	for (int i = 3; i < where; i++) {
		struct kv_ent *e = lookup_write(c, i);
		long long n;

		if (!e)
			continue;
		if (!check_type(c, e, KV_LIST))
			return;
		n = count < (long long)list_len(&srv.db, e) ? count
							    : (long long)list_len(&srv.db, e);
		reply_array(c, 2);
		reply_bulk(c, c->argv[i].p, c->argv[i].len);
		reply_array(c, n);
		for (long long k = 0; k < n; k++) {
			struct kv_elem *el = list_pop(&srv.db, e, left);

			reply_bulk(c, el->data, el->len);
			list_elem_free(&srv.db, el);
		}
		notify_arg(c, NOTIFY_LIST, left ? "lpop" : "rpop", i);
		if (list_len(&srv.db, e) == 0) {
			kv_delete_ent(&srv.db, e);
			notify_arg(c, NOTIFY_GENERIC, "del", i);
		}
		srv_changed((uint64_t)n);
		/* Keys are movable here: tell the hook ourselves. */
		keyspace_changed(c->argv[i].p, c->argv[i].len);
		return;
	}
	if (!blocking_may_block(c))
		reply_nil_array(c);
	else
		block_client(c, 3, where - 1, 1, KV_LIST, deadline, timeout_nil_array);
}
