/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cmd_list.c — list commands. A list whose last element is popped is
 * deleted, as in Redis.
 */
#include <limits.h>

#include "server.h"

/* LPUSH (left) or RPUSH: each argument in turn; replies the new length. */
static void push_generic(struct client *c, bool left)
{
	struct kv_ent *e = lookup_write(c, 1);
	bool created = false;

	if (!check_type(c, e, KV_LIST))
		return;
	if (!e) {
		e = kv_add(&srv.db, c->argv[1].p, c->argv[1].len, KV_LIST);
		if (!e) {
			reply_oom(c);
			return;
		}
		created = true;
	}
	for (int i = 2; i < c->argc; i++) {
		if (list_push(&srv.db, e, left, c->argv[i].p, c->argv[i].len)) {
			if (created && list_len(&srv.db, e) == 0)
				kv_delete_ent(&srv.db, e);
			reply_oom(c);
			return;
		}
	}
	srv_changed((uint64_t)c->argc - 2);
	notify_arg(c, NOTIFY_LIST, left ? "lpush" : "rpush", 1);
	reply_int(c, (long long)list_len(&srv.db, e));
}

void cmd_lpush(struct client *c)
{
	push_generic(c, true);
}

void cmd_rpush(struct client *c)
{
	push_generic(c, false);
}

/* Pop one element of the (non-empty) list e and reply it. */
static void reply_pop(struct client *c, struct kv_ent *e, bool left)
{
	struct kv_elem *el = list_pop(&srv.db, e, left);

	reply_bulk(c, el->data, el->len);
	list_elem_free(&srv.db, el);
}

/* LPOP (left) or RPOP, with an optional count; an emptied list is deleted. */
static void pop_generic(struct client *c, bool left)
{
	const char *name = left ? "lpop" : "rpop";
	long long count = 0, n;
	struct kv_ent *e;

	if (c->argc > 3) {
		reply_arity(c, name);
		return;
	}
	if (c->argc == 3 && (!resp_str2ll(c->argv[2].p, c->argv[2].len, &count) ||
			     count < 0 || count > LONG_MAX)) {
		reply_error(c, "ERR value is out of range, must be positive");
		return;
	}
	e = lookup_write(c, 1);
	if (!e) {
		if (c->argc == 3)
			reply_nil_array(c);
		else
			reply_nil(c);
		return;
	}
	if (!check_type(c, e, KV_LIST))
		return;
	if (c->argc == 2) {
		reply_pop(c, e, left);
		n = 1;
	} else {
		n = count < (long long)list_len(&srv.db, e) ? count : (long long)list_len(&srv.db, e);
		reply_array(c, n);
		for (long long i = 0; i < n; i++)
			reply_pop(c, e, left);
	}
	if (n)
		notify_arg(c, NOTIFY_LIST, left ? "lpop" : "rpop", 1);
	if (list_len(&srv.db, e) == 0) {
		kv_delete_ent(&srv.db, e);
		notify_arg(c, NOTIFY_GENERIC, "del", 1);
	}
	srv_changed((uint64_t)n);
}

void cmd_lpop(struct client *c)
{
	pop_generic(c, true);
}

void cmd_rpop(struct client *c)
{
	pop_generic(c, false);
}

void cmd_llen(struct client *c)
{
	struct kv_ent *e = lookup_read(c, 1);

	if (check_type(c, e, KV_LIST))
		reply_int(c, e ? (long long)list_len(&srv.db, e) : 0);
}

void cmd_lindex(struct client *c)
{
	struct kv_ent *e;
	struct kv_elem *el;
	long long i;

	e = lookup_read(c, 1);
	if (!e) {
		reply_nil(c);
		return;
	}
	if (!check_type(c, e, KV_LIST) || !arg_ll(c, 2, &i))
		return;
	if (i < 0)
		i += (long long)list_len(&srv.db, e);
	el = i < 0 ? NULL : list_at(&srv.db, e, (uint64_t)i);
	if (el)
		reply_bulk(c, el->data, el->len);
	else
		reply_nil(c);
}

void cmd_lrange(struct client *c)
{
	long long start, end, len;
	struct kv_ent *e;

	if (!arg_ll(c, 2, &start) || !arg_ll(c, 3, &end))
		return;
	e = lookup_read(c, 1);
	if (!e) {
		reply_array(c, 0);
		return;
	}
	if (!check_type(c, e, KV_LIST))
		return;
	len = (long long)list_len(&srv.db, e);
	if (start < 0)
		start += len;
	if (end < 0)
		end += len;
	if (start < 0)
		start = 0;
	if (start > end || start >= len) {
		reply_array(c, 0);
		return;
	}
	if (end >= len)
		end = len - 1;
	reply_array(c, end - start + 1);
	for (long long i = start; i <= end; i++) {
		struct kv_elem *el = list_at(&srv.db, e, (uint64_t)i);

		reply_bulk(c, el->data, el->len);
	}
}
