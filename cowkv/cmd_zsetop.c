/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cmd_zsetop.c — ZUNION, ZINTER, ZDIFF (and their STORE forms), ZINTERCARD.
 * Inputs are sorted sets or sets (a set's members score 1). The result is
 * computed in ordinary memory: every input element is copied with its
 * weighted score and input index, sorted by member, then each group is
 * aggregated in input order (so sums round as Redis's do).
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "types.h"

enum zop { ZOP_UNION, ZOP_INTER, ZOP_DIFF };
enum zagg { AGG_SUM, AGG_MIN, AGG_MAX };

struct zop_item {
	struct sv_item it;
	int input;
};

struct zop_in {
	struct kv_ent *e;       /* NULL: missing key */
	double weight;
};

static int by_member_input(const void *a, const void *b)
{
	const struct zop_item *x = a, *y = b;
	int r = sv_cmp_bytes(&x->it, &y->it);

	return r ? r : (x->input > y->input) - (x->input < y->input);
}

static int by_score_member(const void *a, const void *b)
{
	const struct sv_item *x = a, *y = b;

	if (x->score < y->score)
		return -1;
	if (x->score > y->score)
		return 1;
	return sv_cmp_bytes(x, y);
}

static void agg(enum zagg a, double *acc, double v)
{
	if (a == AGG_SUM) {
		*acc += v;
		if (isnan(*acc))
			*acc = 0.0;	/* inf + -inf, as Redis */
	} else if (a == AGG_MIN) {
		*acc = v < *acc ? v : *acc;
	} else {
		*acc = v > *acc ? v : *acc;
	}
}

struct zop_items {
	struct zop_item *v;
	size_t len, cap;
	bool nomem;
};

static void zi_push(struct zop_items *s, const char *p, size_t n, double score, int input)
{
	struct strvec one = { 0 };

	if (s->nomem)
		return;
	if (s->len == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 64;
		struct zop_item *v = realloc(s->v, cap * sizeof *v);

		if (!v) {
			s->nomem = true;
			return;
		}
		s->v = v;
		s->cap = cap;
	}
	sv_push(&one, p, n, score);
	if (one.nomem) {
		s->nomem = true;
		sv_free(&one);
		return;
	}
	s->v[s->len].it = one.v[0];
	s->v[s->len].input = input;
	s->len++;
	free(one.v);
}

static void zi_free(struct zop_items *s)
{
	for (size_t i = 0; i < s->len; i++)
		free(s->v[i].it.p);
	free(s->v);
}

struct set_walk {
	struct zop_items *out;
	int input;
	double w;
	bool reset_nan;
};

static void set_visit(struct kvdb *db, struct kv_ent *f, void *arg)
{
	struct set_walk *w = arg;
	double s = w->w * 1.0;

	(void)db;
	zi_push(w->out, f->key, f->klen, isnan(s) && w->reset_nan ? 0 : s, w->input);
}

/* Copy every element of input j (weighted) into out. A NaN product
 * (0 * inf) counts as 0 when reset_nan, as Redis does for the first input
 * of an intersection and every input of a union; later inputs of an
 * intersection keep it and the aggregation decides. */
static void input_collect(const struct zop_in *in, int j, struct zop_items *out,
			  bool reset_nan)
{
	if (!in->e)
		return;
	if (in->e->type == KV_SET) {
		struct set_walk w = { out, j, in->weight, reset_nan };

		if (set_len(&srv.db, in->e))
			dict_each(&srv.db, hash_dict(&srv.db, in->e, false), set_visit, &w);
		return;
	}
	for (struct kv_znode *n = zset_at(&srv.db, zset_of(&srv.db, in->e, false), 0); n;
	     n = zn_next(&srv.db, n)) {
		double s = in->weight * n->score;

		zi_push(out, zn_ent(&srv.db, n)->key, zn_ent(&srv.db, n)->klen,
			isnan(s) && reset_nan ? 0 : s, j);
	}
}

static uint64_t input_len(const struct zop_in *in)
{
	if (!in->e)
		return 0;
	return in->e->type == KV_SET ? set_len(&srv.db, in->e) : zset_len(&srv.db, in->e);
}

static bool input_has(const struct zop_in *in, const char *p, size_t n)
{
	if (!in->e)
		return false;
	if (in->e->type == KV_SET)
		return set_has(&srv.db, in->e, p, n);
	return zset_get(&srv.db, in->e, p, n) != NULL;
}

/* Order inputs by cardinality, smallest first, keeping ties in place
 * (insertion sort: a handful of keys). */
static void sort_by_cardinality(struct zop_in *in, int n)
{
	for (int i = 1; i < n; i++) {
		struct zop_in x = in[i];
		int k = i;

		while (k > 0 && input_len(&in[k - 1]) > input_len(&x)) {
			in[k] = in[k - 1];
			k--;
		}
		in[k] = x;
	}
}

/* The result of op over in[0..n) into out (by score, member). limit > 0:
 * ZINTERCARD's early stop (then out is not sorted). */
static void zop_compute(enum zop op, enum zagg a, struct zop_in *in, int n,
			struct strvec *out, long long limit)
{
	struct zop_items all = { 0 };

	if (op == ZOP_DIFF) {
		if (input_len(&in[0])) {
			input_collect(&in[0], 0, &all, true);
			for (size_t i = 0; i < all.len; i++) {
				bool other = false;

				for (int j = 1; j < n && !other; j++)
					other = input_has(&in[j], all.v[i].it.p, all.v[i].it.n);
				if (!other)
					sv_push(out, all.v[i].it.p, all.v[i].it.n, all.v[i].it.score);
			}
		}
	} else {
		if (op == ZOP_INTER)
			for (int j = 0; j < n; j++)
				if (!input_len(&in[j]))
					goto done;
		/* Redis aggregates the inputs from the smallest to the largest
		 * (a stable order): sums then round the same way. */
		sort_by_cardinality(in, n);
		for (int j = 0; j < n; j++)
			input_collect(&in[j], j, &all, op == ZOP_UNION || j == 0);
		if (all.len)
			qsort(all.v, all.len, sizeof all.v[0], by_member_input);
		for (size_t i = 0; i < all.len;) {
			size_t k = i + 1;
			double acc = all.v[i].it.score;

			while (k < all.len && sv_cmp_bytes(&all.v[k].it, &all.v[i].it) == 0)
				agg(a, &acc, all.v[k++].it.score);
			if (op == ZOP_UNION || (int)(k - i) == n) {
				if (limit && (long long)out->len >= limit)
					break;
				sv_push(out, all.v[i].it.p, all.v[i].it.n, acc);
			}
			i = k;
		}
	}
done:
	if (all.nomem)
		out->nomem = true;
	zi_free(&all);
	if (!limit && out->len)
		qsort(out->v, out->len, sizeof out->v[0], by_score_member);
}

/* The inputs argv[first..first+n) (sets or zsets), type-checked. */
static struct zop_in *inputs_of(struct client *c, int first, int n)
{
	struct zop_in *in = calloc((size_t)n, sizeof *in);

	if (!in) {
		reply_oom(c);
		return NULL;
	}
	for (int j = 0; j < n; j++) {
		in[j].e = lookup_read(c, first + j);
		in[j].weight = 1;
		if (in[j].e && in[j].e->type != KV_SET && in[j].e->type != KV_ZSET) {
			reply_wrongtype(c);
			free(in);
			return NULL;
		}
	}
	return in;
}

/* Make argv[dsti] the zset of v (deleted if empty), reply its size. */
static void store_result(struct client *c, int dsti, const struct strvec *v)
{
	struct kv_ent *e = lookup_write(c, dsti);
	bool created;

	if (e)
		kv_delete_ent(&srv.db, e);
	srv_changed(1);
	if (!v->len) {
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

/* ZUNION/ZINTER/ZDIFF numkeys k.. [WEIGHTS..] [AGGREGATE ..] [WITHSCORES],
 * and the STORE forms (dsti = 1, numkeys at argv[2]). */
static void zop_generic(struct client *c, enum zop op, int dsti)
{
	int nki = dsti ? 2 : 1;
	long long numkeys;
	enum zagg a = AGG_SUM;
	bool withscores = false;
	struct zop_in *in;
	struct strvec out = { 0 };

	if (!arg_ll(c, nki, &numkeys))
		return;
	if (numkeys < 1) {
		char name[16];
		size_t k;

		for (k = 0; k < sizeof name - 1 && c->argv[0].p[k]; k++)
			name[k] = (char)tolower((unsigned char)c->argv[0].p[k]);
		name[k] = '\0';
		reply_errorf(c, "ERR at least 1 input key is needed for '%s' command", name);
		return;
	}
	if (numkeys > c->argc - nki - 1) {
		reply_syntax(c);
		return;
	}
	if (!(in = inputs_of(c, nki + 1, (int)numkeys)))
		return;
	for (int i = nki + 1 + (int)numkeys; i < c->argc; i++) {
		int left = c->argc - i - 1;

		if (op != ZOP_DIFF && arg_is(c, i, "weights") && left >= numkeys) {
			for (int j = 0; j < numkeys; j++)
				if (!parse_double(c->argv[i + 1 + j].p, c->argv[i + 1 + j].len,
						  &in[j].weight)) {
					reply_error(c, "ERR weight value is not a float");
					free(in);
					return;
				}
			i += (int)numkeys;
		} else if (op != ZOP_DIFF && arg_is(c, i, "aggregate") && left >= 1) {
			if (arg_is(c, i + 1, "sum")) {
				a = AGG_SUM;
			} else if (arg_is(c, i + 1, "min")) {
				a = AGG_MIN;
			} else if (arg_is(c, i + 1, "max")) {
				a = AGG_MAX;
			} else {
				reply_syntax(c);
				free(in);
				return;
			}
			i++;
		} else if (!dsti && arg_is(c, i, "withscores")) {
			withscores = true;
		} else {
			reply_syntax(c);
			free(in);
			return;
		}
	}
	zop_compute(op, a, in, (int)numkeys, &out, 0);
	free(in);
	if (out.nomem) {
		reply_oom(c);
	} else if (dsti) {
		store_result(c, dsti, &out);
	} else {
		reply_array(c, zpairs_count(c, (long long)out.len, withscores));
		for (size_t i = 0; i < out.len; i++) {
			zpair_begin(c, withscores);
			reply_bulk(c, out.v[i].p, out.v[i].n);
			if (withscores)
				reply_double(c, out.v[i].score);
		}
	}
	sv_free(&out);
}

void cmd_zunion(struct client *c) { zop_generic(c, ZOP_UNION, 0); }
void cmd_zinter(struct client *c) { zop_generic(c, ZOP_INTER, 0); }
void cmd_zdiff(struct client *c) { zop_generic(c, ZOP_DIFF, 0); }
void cmd_zunionstore(struct client *c) { zop_generic(c, ZOP_UNION, 1); }
void cmd_zinterstore(struct client *c) { zop_generic(c, ZOP_INTER, 1); }
void cmd_zdiffstore(struct client *c) { zop_generic(c, ZOP_DIFF, 1); }

void cmd_zintercard(struct client *c)
{
	long long numkeys, limit = 0;
	struct zop_in *in;
	struct strvec out = { 0 };

	if (!arg_ll(c, 1, &numkeys))
		return;
	if (numkeys < 1) {
		reply_error(c, "ERR at least 1 input key is needed for 'zintercard' command");
		return;
	}
	if (numkeys > c->argc - 2) {
		reply_syntax(c);
		return;
	}
	if (!parse_card_limit(c, 2 + (int)numkeys, &limit))
		return;
	if (!(in = inputs_of(c, 2, (int)numkeys)))
		return;
	zop_compute(ZOP_INTER, AGG_SUM, in, (int)numkeys, &out, limit);
	free(in);
	if (out.nomem)
		reply_oom(c);
	else
		reply_int(c, (long long)out.len);
	sv_free(&out);
}
