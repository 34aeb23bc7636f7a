/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cmd_set.c — set commands. A set whose last member goes is deleted, as in
 * Redis. Set algebra copies members out of the space first (a STORE may
 * replace one of its own sources).
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "types.h"

void cmd_sadd(struct client *c)
{
	bool created;
	long long added = 0;
	struct kv_ent *e = obj_for_write(c, 1, KV_SET, &created);

	if (!e)
		return;
	for (int i = 2; i < c->argc; i++) {
		int r = set_add(&srv.db, e, c->argv[i].p, c->argv[i].len);

		if (r < 0) {
			obj_drop_if_empty(e);
			reply_oom(c);
			return;
		}
		if (r)
			enc_note_add(e, c->argv[i].p, c->argv[i].len);
		added += r;
	}
	if (added)
		notify_arg(c, NOTIFY_SET, "sadd", 1);
	srv_changed((uint64_t)added);
	reply_int(c, added);
}

void cmd_srem(struct client *c)
{
	struct kv_ent *e = lookup_write(c, 1);
	long long n = 0;

	if (!check_type(c, e, KV_SET))
		return;
	if (e) {
		bool empty;

		for (int i = 2; i < c->argc && set_len(&srv.db, e); i++)
			n += set_del(&srv.db, e, c->argv[i].p, c->argv[i].len);
		empty = set_len(&srv.db, e) == 0;
		obj_drop_if_empty(e);
		if (n)
			notify_arg(c, NOTIFY_SET, "srem", 1);
		if (empty)
			notify_arg(c, NOTIFY_GENERIC, "del", 1);
	}
	srv_changed((uint64_t)n);
	reply_int(c, n);
}

/* The set at argv[i] for reading: NULL when missing (*ok) or after a
 * WRONGTYPE reply (!*ok). */
static struct kv_ent *set_for_read(struct client *c, int i, bool *ok)
{
	struct kv_ent *e = lookup_read(c, i);

	*ok = check_type(c, e, KV_SET);
	return *ok ? e : NULL;
}

static void member_reply(struct kvdb *db, struct kv_ent *f, void *arg)
{
	(void)db;
	reply_bulk(arg, f->key, f->klen);
}

static void collect_visit(struct kvdb *db, struct kv_ent *f, void *arg);

/* Numeric order of integer members (an intset's order). */
static int by_int(const void *a, const void *b)
{
	const struct sv_item *x = a, *y = b;
	long long u = 0, v = 0;

	resp_str2ll(x->p, x->n, &u);
	resp_str2ll(y->p, y->n, &v);
	return (u > v) - (u < v);
}

void cmd_smembers(struct client *c)
{
	bool ok;
	struct kv_ent *e = set_for_read(c, 1, &ok);

	if (!ok)
		return;
	if (!e) {
		reply_set_len(c, 0);
		return;
	}
	if (enc_small(e)) {
		/* An intset in Redis: members come in numeric order. */
		struct strvec v = { 0 };

		dict_each(&srv.db, hash_dict(&srv.db, e, false), collect_visit, &v);
		if (v.nomem) {
			sv_free(&v);
			reply_oom(c);
			return;
		}
		qsort(v.v, v.len, sizeof v.v[0], by_int);
		reply_set_len(c, (long long)v.len);
		for (size_t i = 0; i < v.len; i++)
			reply_bulk(c, v.v[i].p, v.v[i].n);
		sv_free(&v);
		return;
	}
	reply_set_len(c, (long long)set_len(&srv.db, e));
	dict_each(&srv.db, hash_dict(&srv.db, e, false), member_reply, c);
}

void cmd_sismember(struct client *c)
{
	bool ok;
	struct kv_ent *e = set_for_read(c, 1, &ok);

	if (ok)
		reply_int(c, e && set_has(&srv.db, e, c->argv[2].p, c->argv[2].len));
}

void cmd_smismember(struct client *c)
{
	bool ok;
	struct kv_ent *e = set_for_read(c, 1, &ok);

	if (!ok)
		return;
	reply_array(c, c->argc - 2);
	for (int i = 2; i < c->argc; i++)
		reply_int(c, e && set_has(&srv.db, e, c->argv[i].p, c->argv[i].len));
}

void cmd_scard(struct client *c)
{
	bool ok;
	struct kv_ent *e = set_for_read(c, 1, &ok);

	if (ok)
		reply_int(c, e ? (long long)set_len(&srv.db, e) : 0);
}

/* Collect every member of set e. */
static void collect_visit(struct kvdb *db, struct kv_ent *f, void *arg)
{
	(void)db;
	sv_push(arg, f->key, f->klen, 0);
}

static void set_collect(struct kv_ent *e, struct strvec *out)
{
	if (e && set_len(&srv.db, e))
		dict_each(&srv.db, hash_dict(&srv.db, e, false), collect_visit, out);
}

/* Shuffle v's first k items out of its len (Fisher-Yates, partial). */
static void sv_shuffle(struct strvec *v, size_t k)
{
	for (size_t i = 0; i < k && i + 1 < v->len; i++) {
		size_t j = i + (size_t)(srv_random() % (v->len - i));
		struct sv_item t = v->v[i];

		v->v[i] = v->v[j];
		v->v[j] = t;
	}
}

void cmd_spop(struct client *c)
{
	long long count = 1;
	struct kv_ent *e;
	struct strvec all = { 0 };

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
	if (!e) {
		if (c->argc == 3)
			reply_set_len(c, 0);
		else
			reply_nil(c);
		return;
	}
	if (!check_type(c, e, KV_SET))
		return;
	if (c->argc == 2) {
		struct kv_ent *m = set_random(&srv.db, e, srv_random);

		reply_bulk(c, m->key, m->klen);
		set_del(&srv.db, e, m->key, m->klen);
		obj_drop_if_empty(e);
		srv_changed(1);
		return;
	}
	set_collect(e, &all);
	if (all.nomem) {
		sv_free(&all);
		reply_oom(c);
		return;
	}
	if ((size_t)count > all.len)
		count = (long long)all.len;
	sv_shuffle(&all, (size_t)count);
	reply_set_len(c, count);
	for (long long i = 0; i < count; i++) {
		reply_bulk(c, all.v[i].p, all.v[i].n);
		set_del(&srv.db, e, all.v[i].p, all.v[i].n);
	}
	obj_drop_if_empty(e);
	srv_changed((uint64_t)count);
	sv_free(&all);
}

void cmd_srandmember(struct client *c)
{
	long long count;
	struct kv_ent *e;
	struct strvec all = { 0 };
	bool ok;

	if (c->argc > 3) {
		reply_syntax(c);
		return;
	}
	if (c->argc == 3) {
		if (!arg_ll(c, 2, &count))
			return;
		if (count < -LONG_MAX) {
			reply_error(c, "ERR value is out of range");
			return;
		}
	}
	e = set_for_read(c, 1, &ok);
	if (!ok)
		return;
	if (c->argc == 2) {
		struct kv_ent *m = e ? set_random(&srv.db, e, srv_random) : NULL;

		if (m)
			reply_bulk(c, m->key, m->klen);
		else
			reply_nil(c);
		return;
	}
	if (!e || count == 0) {
		reply_array(c, 0);
		return;
	}
	if (count > 0 && (uint64_t)count * 3 < set_len(&srv.db, e) && count <= 64) {
		/* A few distinct members of a big set: random picks, no copy. */
		struct kv_ent *picked[64];
		long long k = 0;

		while (k < count) {
			struct kv_ent *m = set_random(&srv.db, e, srv_random);
			long long j;

			for (j = 0; j < k && picked[j] != m; j++)
				;
			if (j == k)
				picked[k++] = m;
		}
		reply_array(c, count);
		for (long long j = 0; j < count; j++)
			reply_bulk(c, picked[j]->key, picked[j]->klen);
		return;
	}
	set_collect(e, &all);
	if (all.nomem) {
		sv_free(&all);
		reply_oom(c);
		return;
	}
	if (count < 0) {	/* repetitions allowed */
		reply_array(c, -count);
		for (long long i = 0; i < -count; i++) {
			struct sv_item *it = &all.v[srv_random() % all.len];

			reply_bulk(c, it->p, it->n);
		}
	} else {
		if ((size_t)count > all.len)
			count = (long long)all.len;
		sv_shuffle(&all, (size_t)count);
		reply_array(c, count);
		for (long long i = 0; i < count; i++)
			reply_bulk(c, all.v[i].p, all.v[i].n);
	}
	sv_free(&all);
}

void cmd_smove(struct client *c)
{
	struct kv_ent *src = lookup_write(c, 1), *dst;
	const struct kv_arg *m = &c->argv[3];
	bool created;

	if (!src) {
		reply_int(c, 0);
		return;
	}
	dst = lookup_write(c, 2);
	if (!check_type(c, src, KV_SET) || !check_type(c, dst, KV_SET))
		return;
	if (src == dst) {
		reply_int(c, set_has(&srv.db, src, m->p, m->len));
		return;
	}
	if (!set_has(&srv.db, src, m->p, m->len)) {
		reply_int(c, 0);
		return;
	}
	if (!(dst = obj_for_write(c, 2, KV_SET, &created)))
		return;
	if (set_add(&srv.db, dst, m->p, m->len) < 0) {
		obj_drop_if_empty(dst);
		reply_oom(c);
		return;
	}
	enc_note_add(dst, m->p, m->len);
	set_del(&srv.db, src, m->p, m->len);
	obj_drop_if_empty(src);
	srv_changed(1);
	reply_int(c, 1);
}

/* ---- algebra ------------------------------------------------------------- */

enum setop { SOP_INTER, SOP_UNION, SOP_DIFF };

/* The sets of argv[first .. first+n), type-checked (NULL for missing ones);
 * returns a malloc'd array or NULL after replying. */
static struct kv_ent **sets_of(struct client *c, int first, int n)
{
	struct kv_ent **s = calloc((size_t)n ? (size_t)n : 1, sizeof *s);

	if (!s) {
		reply_oom(c);
		return NULL;
	}
	for (int j = 0; j < n; j++) {
		s[j] = lookup_read(c, first + j);
		if (!check_type(c, s[j], KV_SET)) {
			free(s);
			return NULL;
		}
	}
	return s;
}

/* Order of copied strings by their bytes. */
int sv_cmp_bytes(const void *a, const void *b)
{
	const struct sv_item *x = a, *y = b;
	int r = memcmp(x->p, y->p, x->n < y->n ? x->n : y->n);

	return r ? r : (x->n < y->n ? -1 : x->n > y->n);
}

/* Is p/n a member of every set of s[0..n) but skip? */
static bool in_all(struct kv_ent **s, int n, int skip, const char *p, size_t len)
{
	/* The same set twice: no lookup (a lookup may step a rehash of the
	 * dict being walked). */
	for (int j = 0; j < n; j++)
		if (j != skip && s[j] != s[skip] && !set_has(&srv.db, s[j], p, len))
			return false;
	return true;
}

/* Is p/n a member of one of s[1..n)? */
static bool in_other(struct kv_ent **s, int n, const char *p, size_t len)
{
	for (int j = 1; j < n; j++)
		if (s[j] && set_has(&srv.db, s[j], p, len))
			return true;
	return false;
}

struct inter_walk {
	struct kv_ent **s;
	int n, small;
	struct strvec *out;     /* NULL: count only */
	long long count, limit;
};

/* A member of the smallest set: kept if every other set has it. */
static void inter_visit(struct kvdb *db, struct kv_ent *f, void *arg)
{
	struct inter_walk *w = arg;

	(void)db;
	if (w->limit && w->count >= w->limit)
		return;
	if (!in_all(w->s, w->n, w->small, f->key, f->klen))
		return;
	w->count++;
	if (w->out)
		sv_push(w->out, f->key, f->klen, 0);
}

/* SINTER's core: walk the smallest set, keep members present in all. */
static long long set_inter(struct kv_ent **s, int n, struct strvec *out, long long limit)
{
	struct inter_walk w = { s, n, 0, out, 0, limit };

	for (int j = 0; j < n; j++) {
		if (!s[j])
			return 0;
		if (set_len(&srv.db, s[j]) < set_len(&srv.db, s[w.small]))
			w.small = j;
	}
	dict_each(&srv.db, hash_dict(&srv.db, s[w.small], false), inter_visit, &w);
	return w.count;
}

/* The members of op over sets s[0..n) into out (copies). limit: stop after
 * that many (0 = no limit, for SINTERCARD). */
static void setop_compute(enum setop op, struct kv_ent **s, int n, struct strvec *out,
			  long long limit)
{
	struct strvec cand = { 0 };

	if (op == SOP_UNION) {
		for (int j = 0; j < n; j++)
			set_collect(s[j], &cand);
		if (cand.len)
			qsort(cand.v, cand.len, sizeof cand.v[0], sv_cmp_bytes);
		for (size_t i = 0; i < cand.len; i++)
			if (i == 0 || sv_cmp_bytes(&cand.v[i], &cand.v[i - 1]))
				sv_push(out, cand.v[i].p, cand.v[i].n, 0);
	} else if (op == SOP_INTER) {
		set_inter(s, n, out, limit);
	} else {
		set_collect(s[0], &cand);
		for (size_t i = 0; i < cand.len; i++)
			if (!in_other(s, n, cand.v[i].p, cand.v[i].n))
				sv_push(out, cand.v[i].p, cand.v[i].n, 0);
	}
	if (cand.nomem)
		out->nomem = true;
	sv_free(&cand);
}

/* Make key argv[dsti] the set of members in v (deleted if v is empty);
 * replies the count. */
static void set_store(struct client *c, int dsti, struct strvec *v)
{
	struct kv_ent *e = lookup_write(c, dsti);
	bool created;

	if (e)
		kv_delete_ent(&srv.db, e);
	if (v->len == 0) {
		srv_changed(1);
		reply_int(c, 0);
		return;
	}
	if (!(e = obj_for_write(c, dsti, KV_SET, &created)))
		return;
	for (size_t i = 0; i < v->len; i++) {
		if (set_add(&srv.db, e, v->v[i].p, v->v[i].n) < 0) {
			kv_delete_ent(&srv.db, e);
			reply_oom(c);
			return;
		}
		enc_note_add(e, v->v[i].p, v->v[i].n);
	}
	srv_changed(1);
	reply_int(c, (long long)v->len);
}

/* SINTER, SUNION, SDIFF and their STORE forms (dsti > 0: the destination). */
static void setop_cmd(struct client *c, enum setop op, int dsti)
{
	int first = dsti ? 2 : 1;
	struct kv_ent **s = sets_of(c, first, c->argc - first);
	struct strvec out = { 0 };

	if (!s)
		return;
	setop_compute(op, s, c->argc - first, &out, 0);
	free(s);
	if (out.nomem) {
		reply_oom(c);
	} else if (dsti) {
		set_store(c, dsti, &out);
	} else {
		reply_set_len(c, (long long)out.len);	/* RESP3: a set, as Redis */
		for (size_t i = 0; i < out.len; i++)
			reply_bulk(c, out.v[i].p, out.v[i].n);
	}
	sv_free(&out);
}

void cmd_sinter(struct client *c) { setop_cmd(c, SOP_INTER, 0); }
void cmd_sinterstore(struct client *c) { setop_cmd(c, SOP_INTER, 1); }
void cmd_sunion(struct client *c) { setop_cmd(c, SOP_UNION, 0); }
void cmd_sunionstore(struct client *c) { setop_cmd(c, SOP_UNION, 1); }
void cmd_sdiff(struct client *c) { setop_cmd(c, SOP_DIFF, 0); }
void cmd_sdiffstore(struct client *c) { setop_cmd(c, SOP_DIFF, 1); }

bool parse_numkeys(struct client *c, int i, long long *numkeys, bool mpop)
{
	if (!resp_str2ll(c->argv[i].p, c->argv[i].len, numkeys) || *numkeys <= 0) {
		reply_error(c, "ERR numkeys should be greater than 0");
		return false;
	}
	if (*numkeys > c->argc - i - 1) {
		if (mpop)
			reply_syntax(c);
		else
			reply_error(c, "ERR Number of keys can't be greater than number of args");
		return false;
	}
	return true;
}

/* LIMIT n after the keys of SINTERCARD/ZINTERCARD (from argv[i]). */
bool parse_card_limit(struct client *c, int i, long long *limit)
{
	for (; i < c->argc; i += 2) {
		if (arg_is(c, i, "limit") && i + 1 < c->argc) {
			if (!resp_str2ll(c->argv[i + 1].p, c->argv[i + 1].len, limit) ||
			    *limit < 0) {
				reply_error(c, "ERR LIMIT can't be negative");
				return false;
			}
		} else {
			reply_syntax(c);
			return false;
		}
	}
	return true;
}

void cmd_sintercard(struct client *c)
{
	long long numkeys, limit = 0;
	struct kv_ent **s;

	if (!parse_numkeys(c, 1, &numkeys, false) ||
	    !parse_card_limit(c, 2 + (int)numkeys, &limit))
		return;
	if (!(s = sets_of(c, 2, (int)numkeys)))
		return;
	reply_int(c, set_inter(s, (int)numkeys, NULL, limit));
	free(s);
}
