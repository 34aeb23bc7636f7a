/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cmd_scan.c — SSCAN, HSCAN and ZSCAN: a cursor over a collection's dict,
 * with MATCH and COUNT. A collection Redis would hold in a small encoding
 * (listpack, intset) is returned whole with cursor 0, as Redis does.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "types.h"

struct cscan {
	struct kv_ent *e;
	struct strvec items;    /* member (and value/score as a second item) */
	const char *pat;
	size_t plen;
};

static void cscan_visit(struct kvdb *db, struct kv_ent *f, void *arg)
{
	struct cscan *s = arg;
	char buf[64];

	if (s->pat && !glob_match(s->pat, s->plen, f->key, f->klen, false))
		return;
	sv_push(&s->items, f->key, f->klen, 0);
	if (s->e->type == KV_HASH) {
		sv_push(&s->items, ent_bytes(db, f), f->vlen, 0);
	} else if (s->e->type == KV_ZSET) {
		double d = zm_score(db, f);
		int n = isinf(d) ? snprintf(buf, sizeof buf, "%s", d > 0 ? "inf" : "-inf")
				 : snprintf(buf, sizeof buf, "%.17g", d);

		sv_push(&s->items, buf, (size_t)n, 0);
	}
}

static struct kv_dict *coll_dict(struct kv_ent *e)
{
	if (e->type == KV_ZSET)
		return &zset_of(&srv.db, e, false)->dict;
	return hash_dict(&srv.db, e, false);
}

/* Redis's parseScanCursorOrReply rules. */
static bool cursor_arg(struct client *c, int i, uint64_t *cur)
{
	const char *s = c->argv[i].p;
	char *end;

	errno = 0;
	*cur = strtoull(s, &end, 10);
	if (isspace((unsigned char)s[0]) || end != s + c->argv[i].len || errno == ERANGE ||
	    end == s) {
		reply_error(c, "ERR invalid cursor");
		return false;
	}
	return true;
}

static void scan_generic(struct client *c, enum kv_type t)
{
	struct cscan s = { 0 };
	long long count = 10;
	uint64_t cur;
	char buf[24];
	struct kv_ent *e;

	if (!cursor_arg(c, 2, &cur))
		return;
	for (int i = 3; i < c->argc; i += 2) {
		if (i + 1 >= c->argc) {
			reply_syntax(c);
			return;
		}
		if (arg_is(c, i, "count")) {
			if (!arg_ll(c, i + 1, &count))
				return;
			if (count < 1) {
				reply_syntax(c);
				return;
			}
		} else if (arg_is(c, i, "match")) {
			s.pat = c->argv[i + 1].p;
			s.plen = c->argv[i + 1].len;
			if (s.plen == 1 && s.pat[0] == '*')
				s.pat = NULL;
		} else {
			reply_syntax(c);
			return;
		}
	}
	e = lookup_read(c, 1);
	if (!check_type(c, e, t))
		return;
	s.e = e;
	if (!e) {
		cur = 0;
	} else if (enc_small(e) && t == KV_ZSET) {
		/* A listpack in Redis: members in score order. */
		for (struct kv_znode *n = zset_at(&srv.db, zset_of(&srv.db, e, false), 0); n;
		     n = zn_next(&srv.db, n))
			cscan_visit(&srv.db, zn_ent(&srv.db, n), &s);
		cur = 0;
	} else if (enc_small(e)) {
		dict_each(&srv.db, coll_dict(e), cscan_visit, &s);
		cur = 0;
	} else {
		long long iters = count * 10;
		size_t want = (size_t)count * (t == KV_SET ? 1 : 2);

		do {
			cur = dict_scan(&srv.db, coll_dict(e), cur, cscan_visit, &s);
		} while (cur && iters-- > 0 && s.items.len < want && !s.items.nomem);
	}
	if (s.items.nomem) {
		sv_free(&s.items);
		reply_oom(c);
		return;
	}
	reply_array(c, 2);
	snprintf(buf, sizeof buf, "%llu", (unsigned long long)cur);
	reply_bulk_str(c, buf);
	reply_array(c, (long long)s.items.len);
	for (size_t i = 0; i < s.items.len; i++)
		reply_bulk(c, s.items.v[i].p, s.items.v[i].n);
	sv_free(&s.items);
}

void cmd_sscan(struct client *c) { scan_generic(c, KV_SET); }
void cmd_hscan(struct client *c) { scan_generic(c, KV_HASH); }
void cmd_zscan(struct client *c) { scan_generic(c, KV_ZSET); }
