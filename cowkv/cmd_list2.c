/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cmd_list2.c — the list commands beyond the ends (cmd_list.c): LSET,
 * LREM, LTRIM, LINSERT, LPOS, LMOVE/RPOPLPUSH, LMPOP, LPUSHX/RPUSHX.
 * list_pop_reply() and list_move_reply() are the cores the blocking
 * commands (BLPOP, BLMOVE, BLMPOP) call once a key has data.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "types.h"

void list_pop_reply(struct client *c, struct kv_ent *e, bool left)
{
	struct kv_elem *el = list_pop(&srv.db, e, left);

	reply_bulk(c, el->data, el->len);
	list_elem_free(&srv.db, el);
	obj_drop_if_empty(e);
	srv_changed(1);
}

void list_move_reply(struct client *c, struct kv_ent *src, int dsti, bool from_left,
		     bool to_left)
{
	struct kv_elem *el = list_at(&srv.db, src, from_left ? 0 : list_len(&srv.db, src) - 1);
	struct kv_ent *dst;
	bool created;
	size_t n = el->len;
	char *copy = malloc(n ? n : 1);

	if (!copy) {
		reply_oom(c);
		return;
	}
	memcpy(copy, el->data, n);
	if (!(dst = obj_for_write(c, dsti, KV_LIST, &created))) {
		free(copy);
		return;
	}
	if (dst == src && from_left == to_left) {
		/* Popped and pushed back at the same end: nothing changes. */
		reply_bulk(c, copy, n);
		free(copy);
		return;
	}
	if (list_push(&srv.db, dst, to_left, copy, n)) {
		obj_drop_if_empty(dst);
		free(copy);
		reply_oom(c);
		return;
	}
	/* Pushed first so that a failure leaves src whole; for dst == src the
	 * push went to the other end, so popping from_left takes the original. */
	list_elem_free(&srv.db, list_pop(&srv.db, src, from_left));
	reply_bulk(c, copy, n);
	free(copy);
	if (dst != src)
		obj_drop_if_empty(src);
	srv_changed(2);
}

/* LPUSHX/RPUSHX: push only onto an existing list. */
static void pushx(struct client *c, bool left)
{
	struct kv_ent *e = lookup_write(c, 1);

	if (!check_type(c, e, KV_LIST))
		return;
	if (!e) {
		reply_int(c, 0);
		return;
	}
	for (int i = 2; i < c->argc; i++)
		if (list_push(&srv.db, e, left, c->argv[i].p, c->argv[i].len)) {
			reply_oom(c);
			return;
		}
	srv_changed((uint64_t)c->argc - 2);
	reply_int(c, (long long)list_len(&srv.db, e));
}

void cmd_lpushx(struct client *c) { pushx(c, true); }
void cmd_rpushx(struct client *c) { pushx(c, false); }

void cmd_lset(struct client *c)
{
	long long i;
	struct kv_ent *e;

	e = lookup_write(c, 1);
	if (!e) {
		reply_error(c, "ERR no such key");
		return;
	}
	if (!check_type(c, e, KV_LIST) || !arg_ll(c, 2, &i))
		return;
	if (i < 0)
		i += (long long)list_len(&srv.db, e);
	if (i < 0 || i >= (long long)list_len(&srv.db, e)) {
		reply_error(c, "ERR index out of range");
		return;
	}
	if (list_replace(&srv.db, e, (uint64_t)i, c->argv[3].p, c->argv[3].len)) {
		reply_oom(c);
		return;
	}
	srv_changed(1);
	reply_ok(c);
}

void cmd_lrem(struct client *c)
{
	long long count;
	struct kv_ent *e;
	uint64_t n;

	if (!arg_ll(c, 2, &count))
		return;
	e = lookup_write(c, 1);
	if (!check_type(c, e, KV_LIST))
		return;
	if (!e) {
		reply_int(c, 0);
		return;
	}
	n = list_remove_matching(&srv.db, e, c->argv[3].p, c->argv[3].len, count);
	obj_drop_if_empty(e);
	srv_changed(n);
	reply_int(c, (long long)n);
}

void cmd_ltrim(struct client *c)
{
	long long start, end, len, ltrim, rtrim;
	struct kv_ent *e;

	if (!arg_ll(c, 2, &start) || !arg_ll(c, 3, &end))
		return;
	e = lookup_write(c, 1);
	if (!check_type(c, e, KV_LIST))
		return;
	if (!e) {
		reply_ok(c);
		return;
	}
	len = (long long)list_len(&srv.db, e);
	if (start < 0)
		start += len;
	if (end < 0)
		end += len;
	if (start < 0)
		start = 0;
	if (start > end || start >= len) {
		ltrim = len;
		rtrim = 0;
	} else {
		if (end >= len)
			end = len - 1;
		ltrim = start;
		rtrim = len - end - 1;
	}
	for (long long i = 0; i < ltrim; i++)
		list_elem_free(&srv.db, list_pop(&srv.db, e, true));
	for (long long i = 0; i < rtrim; i++)
		list_elem_free(&srv.db, list_pop(&srv.db, e, false));
	obj_drop_if_empty(e);
	srv_changed(1);
	reply_ok(c);
}

void cmd_linsert(struct client *c)
{
	bool after;
	struct kv_ent *e;
	uint64_t len;

	if (arg_is(c, 2, "after"))
		after = true;
	else if (arg_is(c, 2, "before"))
		after = false;
	else {
		reply_syntax(c);
		return;
	}
	e = lookup_write(c, 1);
	if (!check_type(c, e, KV_LIST))
		return;
	if (!e) {
		reply_int(c, 0);
		return;
	}
	len = list_len(&srv.db, e);
	for (uint64_t i = 0; i < len; i++) {
		struct kv_elem *el = list_at(&srv.db, e, i);

		if (el->len == c->argv[3].len && memcmp(el->data, c->argv[3].p, el->len) == 0) {
			if (list_insert(&srv.db, e, after ? i + 1 : i, c->argv[4].p,
					c->argv[4].len)) {
				reply_oom(c);
				return;
			}
			srv_changed(1);
			reply_int(c, (long long)len + 1);
			return;
		}
	}
	reply_int(c, -1);
}

void cmd_lpos(struct client *c)
{
	long long rank = 1, count = -1, maxlen = 0, len, matches = 0, skip;
	struct kv_ent *e;
	struct obuf *h = NULL;
	const struct kv_arg *a = &c->argv[2];

	for (int i = 3; i < c->argc; i += 2) {
		if (i + 1 >= c->argc) {
			reply_syntax(c);
			return;
		}
		if (arg_is(c, i, "rank")) {
			if (!arg_ll(c, i + 1, &rank))
				return;
			if (rank == 0) {
				reply_error(c, "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list");
				return;
			}
			if (rank == LLONG_MIN) {
				reply_error(c, "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807");
				return;
			}
		} else if (arg_is(c, i, "count")) {
			if (!resp_str2ll(c->argv[i + 1].p, c->argv[i + 1].len, &count) ||
			    count < 0) {
				reply_error(c, "ERR COUNT can't be negative");
				return;
			}
		} else if (arg_is(c, i, "maxlen")) {
			if (!resp_str2ll(c->argv[i + 1].p, c->argv[i + 1].len, &maxlen) ||
			    maxlen < 0) {
				reply_error(c, "ERR MAXLEN can't be negative");
				return;
			}
		} else {
			reply_syntax(c);
			return;
		}
	}
	e = lookup_read(c, 1);
	if (!check_type(c, e, KV_LIST))
		return;
	if (!e) {
		if (count >= 0)
			reply_array(c, 0);
		else
			reply_nil(c);
		return;
	}
	len = (long long)list_len(&srv.db, e);
	skip = (rank < 0 ? -rank : rank) - 1;
	if (count >= 0)
		h = reply_defer(c);
	for (long long k = 0; k < len && (maxlen == 0 || k < maxlen); k++) {
		long long idx = rank > 0 ? k : len - 1 - k;
		struct kv_elem *el = list_at(&srv.db, e, (uint64_t)idx);

		if (el->len != a->len || memcmp(el->data, a->p, a->len))
			continue;
		if (skip > 0) {
			skip--;
			continue;
		}
		reply_int(c, idx);
		matches++;
		if (count <= 0 && count != 0)
			break;		/* no COUNT: the first match only */
		if (count > 0 && matches == count)
			break;
	}
	if (count >= 0)
		reply_defer_set(c, h, matches);
	else if (!matches)
		reply_nil(c);
}

/* "LEFT" or "RIGHT" at argv[i]: *left; false after a syntax error reply. */
static bool where_arg(struct client *c, int i, bool *left)
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

/* LMOVE src dst from to (RPOPLPUSH: right, left). */
static void lmove_generic(struct client *c, bool from_left, bool to_left)
{
	struct kv_ent *src = lookup_write(c, 1), *dst;

	if (!src) {
		reply_nil(c);
		return;
	}
	if (!check_type(c, src, KV_LIST))
		return;
	dst = lookup_write(c, 2);
	if (!check_type(c, dst, KV_LIST))
		return;
	list_move_reply(c, src, 2, from_left, to_left);
}

void cmd_lmove(struct client *c)
{
	bool from, to;

	if (where_arg(c, 3, &from) && where_arg(c, 4, &to))
		lmove_generic(c, from, to);
}

void cmd_rpoplpush(struct client *c)
{
	lmove_generic(c, false, true);
}

void list_mpop_reply(struct client *c, struct kv_ent *e, bool left, long long count)
{
	long long n = count < (long long)list_len(&srv.db, e) ? count
			: (long long)list_len(&srv.db, e);

	reply_array(c, 2);
	reply_bulk(c, e->key, e->klen);
	reply_array(c, n);
	for (long long j = 0; j < n; j++) {
		struct kv_elem *el = list_pop(&srv.db, e, left);

		reply_bulk(c, el->data, el->len);
		list_elem_free(&srv.db, el);
	}
	obj_drop_if_empty(e);
	srv_changed((uint64_t)n);
}

void cmd_lmpop(struct client *c)
{
	long long numkeys, count = 1;
	bool left;
	int i;

	if (!parse_numkeys(c, 1, &numkeys, true))
		return;
	i = 2 + (int)numkeys;
	if (i >= c->argc || !where_arg(c, i, &left))
		return;
	for (i++; i < c->argc; i += 2) {
		if (arg_is(c, i, "count") && i + 1 < c->argc && i == 3 + (int)numkeys) {
			if (!resp_str2ll(c->argv[i + 1].p, c->argv[i + 1].len, &count) ||
			    count <= 0) {
				reply_error(c, "ERR count should be greater than 0");
				return;
			}
		} else {
			reply_syntax(c);
			return;
		}
	}
	for (int k = 2; k < 2 + (int)numkeys; k++) {
		struct kv_ent *e = lookup_write(c, k);

		if (!check_type(c, e, KV_LIST))
			return;
		if (!e)
			continue;
		list_mpop_reply(c, e, left, count);
		keyspace_changed(c->argv[k].p, c->argv[k].len);	/* movable keys */
		return;
	}
	reply_nil_array(c);
}
