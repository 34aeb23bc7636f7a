/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cmd_zset.c — sorted-set commands (t_zset.c holds the structure). Results
 * of ranges are collected as copies first (struct strvec), then replied or
 * stored: ZRANGESTORE and the *STORE forms may replace their own source.
 * An emptied sorted set is deleted, as in Redis.
 */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "types.h"

#define ZADD_NX 1
#define ZADD_XX 2
#define ZADD_GT 4
#define ZADD_LT 8
#define ZADD_CH 16
#define ZADD_INCR 32

/* The zset at argv[i] for reading: NULL when missing (*ok) or after
 * WRONGTYPE (!*ok). */
static struct kv_ent *zset_for_read(struct client *c, int i, bool *ok)
{
	struct kv_ent *e = lookup_read(c, i);

	*ok = check_type(c, e, KV_ZSET);
	return *ok ? e : NULL;
}

/* One ZADD element: apply the flags. Returns -ENOMEM, else sets *added /
 * *changed and *out (the new score); *skipped when the flags refused. */
static int zadd_one(struct kv_ent *e, unsigned fl, double score, const struct kv_arg *m,
		    bool *added, bool *changed, bool *skipped, double *out, bool *nan)
{
	struct kv_ent *me = zset_get(&srv.db, e, m->p, m->len);
	int r;

	*added = *changed = *skipped = *nan = false;
	if (me) {
		double cur = zm_score(&srv.db, me);

		if (fl & ZADD_NX) {
			*skipped = true;
			return 0;
		}
		if (fl & ZADD_INCR) {
			score += cur;
			if (isnan(score)) {
				*nan = true;
				return 0;
			}
		}
		if (((fl & ZADD_GT) && score <= cur) || ((fl & ZADD_LT) && score >= cur)) {
			*skipped = true;
			return 0;
		}
		*out = score;
		if (score != cur) {
			if ((r = zset_set(&srv.db, e, m->p, m->len, score)) < 0)
				return r;
			*changed = true;
		}
		return 0;
	}
	if (fl & ZADD_XX) {
		*skipped = true;
		return 0;
	}
	if ((r = zset_set(&srv.db, e, m->p, m->len, score)) < 0)
		return r;
	enc_note_add(e, m->p, m->len);
	*added = true;
	*out = score;
	return 0;
}

/* ZADD's options from argv[2]; returns the index of the first score, or -1
 * after replying. */
static int zadd_flags(struct client *c, unsigned *fl)
{
	static const struct { const char *name; unsigned bit; } opts[] = {
		{ "nx", ZADD_NX }, { "xx", ZADD_XX }, { "gt", ZADD_GT },
		{ "lt", ZADD_LT }, { "ch", ZADD_CH }, { "incr", ZADD_INCR },
	};
	int i = 2;

	for (; i < c->argc; i++) {
		size_t k;

		for (k = 0; k < sizeof opts / sizeof opts[0]; k++)
			if (arg_is(c, i, opts[k].name))
				break;
		if (k == sizeof opts / sizeof opts[0])
			break;
		*fl |= opts[k].bit;
	}
	if (i == c->argc || (c->argc - i) % 2) {
		reply_syntax(c);
		return -1;
	}
	if ((*fl & ZADD_NX) && (*fl & ZADD_XX)) {
		reply_error(c, "ERR XX and NX options at the same time are not compatible");
		return -1;
	}
	if (((*fl & ZADD_GT) && (*fl & (ZADD_NX | ZADD_LT))) ||
	    ((*fl & ZADD_LT) && (*fl & ZADD_NX))) {
		reply_error(c, "ERR GT, LT, and/or NX options at the same time are not compatible");
		return -1;
	}
	if ((*fl & ZADD_INCR) && c->argc - i > 2) {
		reply_error(c, "ERR INCR option supports a single increment-element pair");
		return -1;
	}
	return i;
}

static void zadd_generic(struct client *c, unsigned fl, int first)
{
	int pairs = (c->argc - first) / 2;
	double *scores = malloc((size_t)pairs * sizeof *scores), out = 0;
	long long added = 0, changed = 0;
	bool created, a, ch, skip = false, nan;
	struct kv_ent *e;

	if (!scores) {
		reply_oom(c);
		return;
	}
	for (int j = 0; j < pairs; j++)
		if (!parse_double(c->argv[first + 2 * j].p, c->argv[first + 2 * j].len, &scores[j])) {
			free(scores);
			reply_error(c, "ERR value is not a valid float");
			return;
		}
	e = lookup_write(c, 1);
	if (!check_type(c, e, KV_ZSET)) {
		free(scores);
		return;
	}
	if (!e && (fl & ZADD_XX)) {
		free(scores);
		if (fl & ZADD_INCR)
			reply_nil(c);
		else
			reply_int(c, 0);
		return;
	}
	if (!(e = obj_for_write(c, 1, KV_ZSET, &created))) {
		free(scores);
		return;
	}
	for (int j = 0; j < pairs; j++) {
		if (zadd_one(e, fl, scores[j], &c->argv[first + 2 * j + 1], &a, &ch, &skip,
			     &out, &nan) < 0) {
			obj_drop_if_empty(e);
			free(scores);
			reply_oom(c);
			return;
		}
		if (nan) {
			obj_drop_if_empty(e);
			free(scores);
			reply_error(c, "ERR resulting score is not a number (NaN)");
			return;
		}
		added += a;
		changed += ch;
	}
	free(scores);
	obj_drop_if_empty(e);
	if (added + changed)
		notify_arg(c, NOTIFY_ZSET, (fl & ZADD_INCR) ? "zincr" : "zadd", 1);
	srv_changed((uint64_t)(added + changed));
	if (fl & ZADD_INCR) {
		if (skip)
			reply_nil(c);
		else
			reply_double(c, out);
	} else {
		reply_int(c, (fl & ZADD_CH) ? added + changed : added);
	}
}

void cmd_zadd(struct client *c)
{
	unsigned fl = 0;
	int first = zadd_flags(c, &fl);

	if (first > 0)
		zadd_generic(c, fl, first);
}

void cmd_zincrby(struct client *c)
{
	zadd_generic(c, ZADD_INCR, 2);
}

void cmd_zrem(struct client *c)
{
	struct kv_ent *e = lookup_write(c, 1);
	long long n = 0;

	if (!check_type(c, e, KV_ZSET))
		return;
	if (e) {
		bool empty;

		for (int i = 2; i < c->argc && zset_len(&srv.db, e); i++)
			n += zset_del(&srv.db, e, c->argv[i].p, c->argv[i].len);
		empty = zset_len(&srv.db, e) == 0;
		obj_drop_if_empty(e);
		if (n)
			notify_arg(c, NOTIFY_ZSET, "zrem", 1);
		if (empty)
			notify_arg(c, NOTIFY_GENERIC, "del", 1);
	}
	srv_changed((uint64_t)n);
	reply_int(c, n);
}

void cmd_zscore(struct client *c)
{
	bool ok;
	struct kv_ent *e = zset_for_read(c, 1, &ok), *m;

	if (!ok)
		return;
	m = e ? zset_get(&srv.db, e, c->argv[2].p, c->argv[2].len) : NULL;
	if (m)
		reply_double(c, zm_score(&srv.db, m));
	else
		reply_nil(c);
}

void cmd_zmscore(struct client *c)
{
	bool ok;
	struct kv_ent *e = zset_for_read(c, 1, &ok);

	if (!ok)
		return;
	reply_array(c, c->argc - 2);
	for (int i = 2; i < c->argc; i++) {
		struct kv_ent *m = e ? zset_get(&srv.db, e, c->argv[i].p, c->argv[i].len) : NULL;

		if (m)
			reply_double(c, zm_score(&srv.db, m));
		else
			reply_nil(c);
	}
}

void cmd_zcard(struct client *c)
{
	bool ok;
	struct kv_ent *e = zset_for_read(c, 1, &ok);

	if (ok)
		reply_int(c, e ? (long long)zset_len(&srv.db, e) : 0);
}

/* ---- range parsing ------------------------------------------------------- */

/* One end of a score range: "(1.5", "-inf", "3". */
static bool score_end(const struct kv_arg *a, double *v, bool *ex)
{
	const char *p = a->p;
	size_t n = a->len;

	*ex = false;
	if (n && p[0] == '(') {
		*ex = true;
		p++;
		n--;
	}
	if (!n)
		return false;
	{
		/* strtod accepts more than parse_double forbids (NaN is refused). */
		double d;

		if (!parse_double(p, n, &d))
			return false;
		*v = d;
	}
	return true;
}

static bool parse_score_range(struct client *c, int imin, int imax, struct zrange_spec *r)
{
	if (!score_end(&c->argv[imin], &r->min, &r->minex) ||
	    !score_end(&c->argv[imax], &r->max, &r->maxex)) {
		reply_error(c, "ERR min or max is not a float");
		return false;
	}
	return true;
}

static bool lex_end(const struct kv_arg *a, const char **p, size_t *n, bool *ex, int *inf)
{
	*inf = 0;
	*ex = false;
	if (a->len == 0)
		return false;
	switch (a->p[0]) {
	case '+':
		if (a->len != 1)
			return false;
		*inf = 1;
		return true;
	case '-':
		if (a->len != 1)
			return false;
		*inf = -1;
		return true;
	case '(':
		*ex = true;
		/* fall through */
	case '[':
		*p = a->p + 1;
		*n = a->len - 1;
		return true;
	default:
		return false;
	}
}

static bool parse_lex_range(struct client *c, int imin, int imax, struct zlex_spec *r)
{
	if (!lex_end(&c->argv[imin], &r->min, &r->minlen, &r->minex, &r->mininf) ||
	    !lex_end(&c->argv[imax], &r->max, &r->maxlen, &r->maxex, &r->maxinf)) {
		reply_error(c, "ERR min or max not valid string range item");
		return false;
	}
	return true;
}

/* Is the lex range empty by its ends alone? */
static bool lex_empty(const struct zlex_spec *r)
{
	int cmp;

	if (r->mininf > 0 || r->maxinf < 0)
		return true;
	if (r->mininf || r->maxinf)
		return false;
	cmp = memcmp(r->min, r->max, r->minlen < r->maxlen ? r->minlen : r->maxlen);
	if (!cmp)
		cmp = r->minlen < r->maxlen ? -1 : r->minlen > r->maxlen;
	return cmp > 0 || (cmp == 0 && (r->minex || r->maxex));
}

/* ---- ZRANGE and friends ---------------------------------------------------- */

enum zr_by { ZR_RANK, ZR_SCORE, ZR_LEX };

struct zr_query {
	enum zr_by by;
	bool rev, withscores;
	long long offset, limit;    /* limit < 0: all */
	long long start, end;       /* ZR_RANK */
	struct zrange_spec sr;
	struct zlex_spec lr;
};

/* Does node n pass the range end (the far end, in the direction walked)? */
static bool zr_in(const struct zr_query *q, struct kv_znode *n)
{
	struct kv_ent *m = zn_ent(&srv.db, n);

	if (q->by == ZR_SCORE)
		return q->rev ? zspec_gte_min(&q->sr, n->score) : zspec_lte_max(&q->sr, n->score);
	return q->rev ? zlex_gte_min(&q->lr, m->key, m->klen)
		      : zlex_lte_max(&q->lr, m->key, m->klen);
}

/*
 * Replies of (member, score) lists as Redis 7.0 gives them: under RESP2 a
 * flat array (member, score, member, score...); under RESP3 with scores an
 * array of [member, score] pairs. zpairs_count is the array's length for n
 * members; zpair_begin starts one member's entry.
 */
long long zpairs_count(const struct client *c, long long n, bool withscores)
{
	return withscores && c->resp != 3 ? 2 * n : n;
}

void zpair_begin(struct client *c, bool withscores)
{
	if (withscores && c->resp == 3)
		reply_array(c, 2);
}

/* One selected element: copied into out, or replied directly to c. */
static void zr_emit(struct strvec *out, struct client *c, const struct zr_query *q,
		    struct kv_znode *n, size_t *count)
{
	struct kv_ent *m = zn_ent(&srv.db, n);

	if (c) {
		zpair_begin(c, q->withscores);
		reply_bulk(c, m->key, m->klen);
		if (q->withscores)
			reply_double(c, n->score);
	} else {
		sv_push(out, m->key, m->klen, n->score);
	}
	(*count)++;
}

/* The elements of zset e that q selects, in order: into out (copies), or
 * replied to direct when not NULL (the caller wrote a deferred length).
 * Returns how many. */
static size_t zr_walk(struct kv_ent *e, const struct zr_query *q, struct strvec *out,
		      struct client *direct)
{
	size_t count = 0;

	struct kv_zset *z = zset_of(&srv.db, e, false);
	struct kvdb *db = &srv.db;
	struct kv_znode *n;
	long long off = q->offset, lim = q->limit;
	long long len = (long long)z->length;

	if (q->by == ZR_RANK) {
		long long s = q->start, t = q->end;

		if (s < 0)
			s += len;
		if (t < 0)
			t += len;
		if (s < 0)
			s = 0;
		if (s > t || s >= len)
			return 0;
		if (t >= len)
			t = len - 1;
		n = zset_at(db, z, (uint64_t)(q->rev ? len - 1 - s : s));
		for (long long i = s; i <= t && n; i++) {
			zr_emit(out, direct, q, n, &count);
			n = q->rev ? zn_prev(db, n) : zn_next(db, n);
		}
		return count;
	}
	if (off > 0 && off >= len)
		return 0;
	if (q->by == ZR_SCORE)
		n = q->rev ? zset_last_in(db, z, &q->sr) : zset_first_in(db, z, &q->sr);
	else
		n = lex_empty(&q->lr) ? NULL
		    : q->rev ? zset_last_lex(db, z, &q->lr, enc_small(e))
			     : zset_first_lex(db, z, &q->lr, enc_small(e));
	while (n && off--)	/* a negative offset skips everything, as in Redis */
		n = q->rev ? zn_prev(db, n) : zn_next(db, n);
	while (n && lim-- && zr_in(q, n)) {
		zr_emit(out, direct, q, n, &count);
		n = q->rev ? zn_prev(db, n) : zn_next(db, n);
	}
	return count;
}

static void reply_zitems(struct client *c, const struct strvec *v, bool withscores)
{
	reply_array(c, zpairs_count(c, (long long)v->len, withscores));
	for (size_t i = 0; i < v->len; i++) {
		zpair_begin(c, withscores);
		reply_bulk(c, v->v[i].p, v->v[i].n);
		if (withscores)
			reply_double(c, v->v[i].score);
	}
}

/* Make key argv[dsti] the zset of v's items (deleted if none); replies the
 * count. */
static void zset_store(struct client *c, int dsti, const struct strvec *v)
{
	struct kv_ent *e = lookup_write(c, dsti);
	bool created;

	if (e)
		kv_delete_ent(&srv.db, e);
	srv_changed(1);
	if (v->len == 0) {
		reply_int(c, 0);
		return;
	}
	if (!(e = obj_for_write(c, dsti, KV_ZSET, &created)))
		return;
	for (size_t i = 0; i < v->len; i++) {
		if (zset_set(&srv.db, e, v->v[i].p, v->v[i].n, v->v[i].score) < 0) {
			kv_delete_ent(&srv.db, e);
			reply_oom(c);
			return;
		}
		enc_note_add(e, v->v[i].p, v->v[i].n);
	}
	reply_int(c, (long long)v->len);
}

/* Run query q on the zset argv[srci]: reply the result, or store it at
 * argv[dsti] when dsti > 0. The range was parsed already. */
static void zr_run(struct client *c, int srci, int dsti, const struct zr_query *q)
{
	struct strvec out = { 0 };
	bool ok;
	struct kv_ent *e = dsti ? lookup_write(c, srci) : zset_for_read(c, srci, &ok);

	if (dsti)
		ok = check_type(c, e, KV_ZSET);
	if (!ok)
		return;
	if (e && !dsti) {
		/* Straight from the nodes into the reply. */
		struct obuf *h = reply_defer(c);
		size_t n = zr_walk(e, q, NULL, c);

		reply_defer_set(c, h, zpairs_count(c, (long long)n, q->withscores));
		return;
	}
	if (e)
		zr_walk(e, q, &out, NULL);
	if (out.nomem)
		reply_oom(c);
	else if (dsti)
		zset_store(c, dsti, &out);
	else
		reply_zitems(c, &out, q->withscores);
	sv_free(&out);
}

/* Parse the range arguments argv[i], argv[i+1] of q (after REV swapped
 * them where needed). */
static bool zr_parse_range(struct client *c, int i, struct zr_query *q)
{
	int lo = q->rev ? i + 1 : i, hi = q->rev ? i : i + 1;

	switch (q->by) {
	case ZR_RANK:
		return arg_ll(c, i, &q->start) && arg_ll(c, i + 1, &q->end);
	case ZR_SCORE:
		return parse_score_range(c, lo, hi, &q->sr);
	default:
		return parse_lex_range(c, lo, hi, &q->lr);
	}
}

/* ZRANGE [dst] src min max [BYSCORE|BYLEX] [REV] [LIMIT o n] [WITHSCORES]
 * (store: ZRANGESTORE, srci = 2). */
static void zrange_generic(struct client *c, int srci, int dsti)
{
	struct zr_query q = { .by = ZR_RANK, .limit = -1 };
	bool has_limit = false;

	for (int i = srci + 3; i < c->argc; i++) {
		if (!dsti && arg_is(c, i, "withscores")) {
			q.withscores = true;
		} else if (arg_is(c, i, "limit") && i + 2 < c->argc) {
			if (!arg_ll(c, i + 1, &q.offset) || !arg_ll(c, i + 2, &q.limit))
				return;
			has_limit = true;
			i += 2;
		} else if (arg_is(c, i, "rev")) {
			q.rev = true;
		} else if (arg_is(c, i, "bylex")) {
			q.by = ZR_LEX;
		} else if (arg_is(c, i, "byscore")) {
			q.by = ZR_SCORE;
		} else {
			reply_syntax(c);
			return;
		}
	}
	if (has_limit && q.limit != -1 && q.by == ZR_RANK) {
		reply_error(c, "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
		return;
	}
	if (q.withscores && q.by == ZR_LEX) {
		reply_error(c, "ERR syntax error, WITHSCORES not supported in combination with BYLEX");
		return;
	}
	if (!zr_parse_range(c, srci + 1, &q))
		return;
	zr_run(c, srci, dsti, &q);
}

void cmd_zrange(struct client *c) { zrange_generic(c, 1, 0); }
void cmd_zrangestore(struct client *c) { zrange_generic(c, 2, 1); }

void cmd_zrevrange(struct client *c)
{
	struct zr_query q = { .by = ZR_RANK, .rev = true, .limit = -1 };

	if (c->argc == 5 && arg_is(c, 4, "withscores")) {
		q.withscores = true;
	} else if (c->argc >= 5) {
		reply_syntax(c);
		return;
	}
	if (zr_parse_range(c, 2, &q))
		zr_run(c, 1, 0, &q);
}

/* ZRANGEBYSCORE/ZREVRANGEBYSCORE/ZRANGEBYLEX/ZREVRANGEBYLEX: the old forms,
 * whose range comes first ("max min" when rev). */
static void zrangeby_generic(struct client *c, enum zr_by by, bool rev)
{
	struct zr_query q = { .by = by, .rev = rev, .limit = -1 };

	for (int i = 4; i < c->argc; i++) {
		if (by == ZR_SCORE && arg_is(c, i, "withscores")) {
			q.withscores = true;
		} else if (arg_is(c, i, "limit") && i + 2 < c->argc) {
			if (!arg_ll(c, i + 1, &q.offset) || !arg_ll(c, i + 2, &q.limit))
				return;
			i += 2;
		} else {
			reply_syntax(c);
			return;
		}
	}
	if (zr_parse_range(c, 2, &q))
		zr_run(c, 1, 0, &q);
}

void cmd_zrangebyscore(struct client *c) { zrangeby_generic(c, ZR_SCORE, false); }
void cmd_zrevrangebyscore(struct client *c) { zrangeby_generic(c, ZR_SCORE, true); }
void cmd_zrangebylex(struct client *c) { zrangeby_generic(c, ZR_LEX, false); }
void cmd_zrevrangebylex(struct client *c) { zrangeby_generic(c, ZR_LEX, true); }

/* Elements from first to last (inclusive) as Redis counts them: from
 * first to the end, less what follows last (all of it when no last). */
static long long span_count(struct kv_zset *z, struct kv_znode *first, struct kv_znode *last)
{
	long long n;

	if (!first)
		return 0;
	n = (long long)(z->length - zset_rank(&srv.db, z, zn_ent(&srv.db, first)));
	if (last)
		n -= (long long)(z->length - zset_rank(&srv.db, z, zn_ent(&srv.db, last)) - 1);
	return n;
}

void cmd_zcount(struct client *c)
{
	struct zrange_spec r;
	struct kv_ent *e;
	struct kv_zset *z;
	bool ok;

	if (!parse_score_range(c, 2, 3, &r) || !(e = zset_for_read(c, 1, &ok), ok))
		return;
	if (!e) {
		reply_int(c, 0);
		return;
	}
	z = zset_of(&srv.db, e, false);
	reply_int(c, span_count(z, zset_first_in(&srv.db, z, &r), zset_last_in(&srv.db, z, &r)));
}

void cmd_zlexcount(struct client *c)
{
	struct zlex_spec r;
	struct kv_ent *e;
	struct kv_zset *z;
	bool ok;

	if (!parse_lex_range(c, 2, 3, &r) || !(e = zset_for_read(c, 1, &ok), ok))
		return;
	if (!e || lex_empty(&r)) {
		reply_int(c, 0);
		return;
	}
	z = zset_of(&srv.db, e, false);
	if (enc_small(e)) {
		/* A listpack in Redis: counted by walking from the first in range. */
		long long n = 0;

		for (struct kv_znode *x = zset_first_lex(&srv.db, z, &r, true);
		     x && zlex_lte_max(&r, zn_ent(&srv.db, x)->key, zn_ent(&srv.db, x)->klen);
		     x = zn_next(&srv.db, x))
			n++;
		reply_int(c, n);
		return;
	}
	reply_int(c, span_count(z, zset_first_lex(&srv.db, z, &r, false),
				zset_last_lex(&srv.db, z, &r, false)));
}

static void zrank_generic(struct client *c, bool rev)
{
	bool ok;
	struct kv_ent *e = zset_for_read(c, 1, &ok), *m;
	uint64_t r;

	if (!ok)
		return;
	m = e ? zset_get(&srv.db, e, c->argv[2].p, c->argv[2].len) : NULL;
	if (!m) {
		reply_nil(c);
		return;
	}
	r = zset_rank(&srv.db, zset_of(&srv.db, e, false), m);
	reply_int(c, (long long)(rev ? zset_len(&srv.db, e) - 1 - r : r));
}

void cmd_zrank(struct client *c) { zrank_generic(c, false); }
void cmd_zrevrank(struct client *c) { zrank_generic(c, true); }

/* ---- removal by range ------------------------------------------------------- */

static void zrem_collected(struct client *c, struct kv_ent *e, struct strvec *v)
{
	for (size_t i = 0; i < v->len; i++)
		zset_del(&srv.db, e, v->v[i].p, v->v[i].n);
	obj_drop_if_empty(e);
	srv_changed(v->len);
	reply_int(c, (long long)v->len);
}

static void zremrange_generic(struct client *c, enum zr_by by)
{
	struct zr_query q = { .by = by, .limit = -1 };
	struct strvec out = { 0 };
	struct kv_ent *e;

	if (!zr_parse_range(c, 2, &q))
		return;
	e = lookup_write(c, 1);
	if (!check_type(c, e, KV_ZSET))
		return;
	if (!e) {
		reply_int(c, 0);
		return;
	}
	zr_walk(e, &q, &out, NULL);
	if (out.nomem)
		reply_oom(c);
	else
		zrem_collected(c, e, &out);
	sv_free(&out);
}

void cmd_zremrangebyscore(struct client *c) { zremrange_generic(c, ZR_SCORE); }
void cmd_zremrangebyrank(struct client *c) { zremrange_generic(c, ZR_RANK); }
void cmd_zremrangebylex(struct client *c) { zremrange_generic(c, ZR_LEX); }

/* ---- pops ------------------------------------------------------------------------ */

void zset_pop_reply(struct client *c, struct kv_ent *e, bool max, long long count,
		    enum zpop_form form)
{
	bool with_key = form != ZPOP_FLAT && form != ZPOP_COUNTED;
	bool flat = form == ZPOP_FLAT || form == ZPOP_KEYED ||
		    (form == ZPOP_COUNTED && c->resp != 3);
	struct kv_zset *z = zset_of(&srv.db, e, false);
	struct strvec v = { 0 };
	char *key = NULL;
	size_t klen = e->klen;

	if (count > (long long)z->length)
		count = (long long)z->length;
	for (struct kv_znode *n = max ? kv_ptr(&srv.db, z->tail) : zset_at(&srv.db, z, 0);
	     n && (long long)v.len < count; n = max ? zn_prev(&srv.db, n) : zn_next(&srv.db, n))
		sv_push(&v, zn_ent(&srv.db, n)->key, zn_ent(&srv.db, n)->klen, n->score);
	if (with_key && !(key = malloc(klen + 1)))
		v.nomem = true;
	if (v.nomem) {
		free(key);
		sv_free(&v);
		reply_oom(c);
		return;
	}
	if (form == ZPOP_KEYED) {
		memcpy(key, e->key, klen);
		reply_array(c, 1 + 2 * (long long)v.len);
		reply_bulk(c, key, klen);
	} else if (with_key) {
		memcpy(key, e->key, klen);
		reply_array(c, 2);
		reply_bulk(c, key, klen);
	}
	if (form != ZPOP_KEYED)
		reply_array(c, (long long)(flat ? 2 * v.len : v.len));
	for (size_t i = 0; i < v.len; i++) {
		if (!flat)
			reply_array(c, 2);
		reply_bulk(c, v.v[i].p, v.v[i].n);
		reply_double(c, v.v[i].score);
		zset_del(&srv.db, e, v.v[i].p, v.v[i].n);
	}
	srv_changed(v.len);
	obj_drop_if_empty(e);
	free(key);
	sv_free(&v);
}

static void zpop_generic(struct client *c, bool max)
{
	long long count = 1;
	struct kv_ent *e;

	if (c->argc > 3) {
		reply_syntax(c);
		return;
	}
	if (c->argc == 3) {
		if (!resp_str2ll(c->argv[2].p, c->argv[2].len, &count) || count < 0) {
			reply_error(c, "ERR value is out of range, must be positive");
			return;
		}
	}
	e = lookup_write(c, 1);
	if (!check_type(c, e, KV_ZSET))
		return;
	if (!e || count == 0) {
		reply_array(c, 0);
		return;
	}
	zset_pop_reply(c, e, max, count, c->argc == 3 ? ZPOP_COUNTED : ZPOP_FLAT);
}

void cmd_zpopmin(struct client *c) { zpop_generic(c, false); }
void cmd_zpopmax(struct client *c) { zpop_generic(c, true); }

void cmd_zmpop(struct client *c)
{
	long long numkeys, count = 1;
	int i;
	bool max;

	if (!parse_numkeys(c, 1, &numkeys, true))
		return;
	i = 2 + (int)numkeys;
	if (i >= c->argc || !(arg_is(c, i, "min") || arg_is(c, i, "max"))) {
		reply_syntax(c);
		return;
	}
	max = arg_is(c, i, "max");
	for (i++; i < c->argc; i += 2) {
		if (arg_is(c, i, "count") && i + 1 < c->argc && count == 1 && i == 3 + (int)numkeys) {
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

		if (!check_type(c, e, KV_ZSET))
			return;
		if (e) {
			zset_pop_reply(c, e, max, count, ZPOP_MPOP);
			keyspace_changed(c->argv[k].p, c->argv[k].len);	/* movable keys */
			return;
		}
	}
	reply_nil_array(c);
}

void cmd_zrandmember(struct client *c)
{
	long long count;
	bool ok, withscores = false;
	struct kv_ent *e;
	struct kv_zset *z;
	struct strvec all = { 0 };

	if (c->argc > 4 || (c->argc == 4 && !arg_is(c, 3, "withscores"))) {
		reply_syntax(c);
		return;
	}
	withscores = c->argc == 4;
	if (c->argc >= 3) {
		if (!arg_ll(c, 2, &count))
			return;
		if (count < -LONG_MAX / 2 || (withscores && count > LONG_MAX / 2)) {
			reply_error(c, "ERR value is out of range");
			return;
		}
	}
	e = zset_for_read(c, 1, &ok);
	if (!ok)
		return;
	if (c->argc == 2) {
		if (!e) {
			reply_nil(c);
			return;
		}
		z = zset_of(&srv.db, e, false);
		{
			struct kv_znode *n = zset_at(&srv.db, z, srv_random() % z->length);

			reply_bulk(c, zn_ent(&srv.db, n)->key, zn_ent(&srv.db, n)->klen);
		}
		return;
	}
	if (!e || count == 0) {
		reply_array(c, 0);
		return;
	}
	z = zset_of(&srv.db, e, false);
	for (struct kv_znode *n = zset_at(&srv.db, z, 0); n; n = zn_next(&srv.db, n))
		sv_push(&all, zn_ent(&srv.db, n)->key, zn_ent(&srv.db, n)->klen, n->score);
	if (all.nomem) {
		sv_free(&all);
		reply_oom(c);
		return;
	}
	if (count > 0) {
		if ((size_t)count > all.len)
			count = (long long)all.len;
		for (size_t i = 0; i < (size_t)count && i + 1 < all.len; i++) {
			size_t j = i + (size_t)(srv_random() % (all.len - i));
			struct sv_item t = all.v[i];

			all.v[i] = all.v[j];
			all.v[j] = t;
		}
		reply_array(c, zpairs_count(c, count, withscores));
		for (long long i = 0; i < count; i++) {
			zpair_begin(c, withscores);
			reply_bulk(c, all.v[i].p, all.v[i].n);
			if (withscores)
				reply_double(c, all.v[i].score);
		}
	} else {
		reply_array(c, zpairs_count(c, -count, withscores));
		for (long long i = 0; i < -count; i++) {
			struct sv_item *it = &all.v[srv_random() % all.len];

			zpair_begin(c, withscores);
			reply_bulk(c, it->p, it->n);
			if (withscores)
				reply_double(c, it->score);
		}
	}
	sv_free(&all);
}
