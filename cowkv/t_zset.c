/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * t_zset.c — sorted sets in the space: a dict (member -> entry) and a
 * skiplist ordered by (score, member) whose links carry spans, so ranks are
 * O(log n), as in Redis's zset. Everything is linked by offsets (db.h).
 *
 * Why a skiplist rather than a B-tree: the commands are rank- and
 * range-driven (ZRANGE, ZRANK, ZREMRANGEBYRANK) and Redis's semantics are
 * defined on its skiplist (ties broken by memcmp of members); nodes are
 * small heap blocks, so an insertion after a snapshot copies the pages of
 * the O(log n) nodes it relinks, not a whole B-tree page of keys.
 */
#include <errno.h>
#include <string.h>

#include "db.h"
#include "server.h"

static struct kv_znode *node(const struct kvdb *db, kv_off o)
{
	return kv_ptr(db, o);
}

/* A node of the given level (member entry ment, score s), or 0. */
static kv_off node_new(struct kvdb *db, uint32_t level, kv_off ment, double s)
{
	kv_off o = cow_heap_calloc(db->heap, 1, sizeof(struct kv_znode) +
				   level * sizeof(struct kv_zlevel));
	struct kv_znode *n;

	if (!o)
		return 0;
	n = node(db, o);
	n->score = s;
	n->ent = ment;
	n->level = level;
	return o;
}

struct kv_zset *zset_of(struct kvdb *db, struct kv_ent *e, bool create)
{
	if (!e->val && create) {
		kv_off o = cow_heap_calloc(db->heap, 1, sizeof(struct kv_zset));
		struct kv_zset *z;
		kv_off h;

		if (!o)
			return NULL;
		h = node_new(db, ZSL_MAXLEVEL, 0, 0);
		if (!h) {
			cow_heap_free(db->heap, o);
			return NULL;
		}
		z = kv_ptr(db, o);
		dict_init(&z->dict);
		z->header = h;
		z->level = 1;
		e->val = o;
	}
	return kv_ptr(db, e->val);
}

/* Order of (score a, member a) against (score b, member b): <0, 0, >0. */
static int zcmp(double sa, const char *ma, size_t la, double sb, const char *mb, size_t lb)
{
	int r;

	if (sa < sb)
		return -1;
	if (sa > sb)
		return 1;
	r = memcmp(ma, mb, la < lb ? la : lb);
	if (r)
		return r;
	return la < lb ? -1 : la > lb;
}

/* Does node n come before (score s, member m)? */
static bool node_before(const struct kvdb *db, const struct kv_znode *n, double s,
			const char *m, size_t ml)
{
	const struct kv_ent *ne = zn_ent(db, n);

	return zcmp(n->score, ne->key, ne->klen, s, m, ml) < 0;
}

/* Redis's level distribution: p = 1/4. */
static uint32_t random_level(void)
{
	uint32_t level = 1;
	uint64_t r = srv_random();

	while (level < ZSL_MAXLEVEL && (r & 3) == 0) {
		level++;
		r >>= 2;
		if (!r)
			r = srv_random();
	}
	return level;
}

/* Link node o (score and entry set) into the skiplist. */
static void zsl_insert(struct kvdb *db, struct kv_zset *z, kv_off o)
{
	struct kv_znode *n = node(db, o), *x = node(db, z->header);
	struct kv_ent *ne = zn_ent(db, n);
	kv_off update[ZSL_MAXLEVEL];
	uint64_t rank[ZSL_MAXLEVEL];

	for (int i = (int)z->level - 1; i >= 0; i--) {
		rank[i] = i == (int)z->level - 1 ? 0 : rank[i + 1];
		while (x->lv[i].fwd && node_before(db, node(db, x->lv[i].fwd), n->score,
						   ne->key, ne->klen)) {
			rank[i] += x->lv[i].span;
			x = node(db, x->lv[i].fwd);
		}
		update[i] = kv_offof(db, x);
	}
	if (n->level > z->level) {
		for (uint32_t i = z->level; i < n->level; i++) {
			rank[i] = 0;
			update[i] = z->header;
			node(db, z->header)->lv[i].span = z->length;
		}
		z->level = n->level;
	}
	for (uint32_t i = 0; i < n->level; i++) {
		struct kv_znode *u = node(db, update[i]);

		n->lv[i].fwd = u->lv[i].fwd;
		u->lv[i].fwd = o;
		n->lv[i].span = u->lv[i].span - (rank[0] - rank[i]);
		u->lv[i].span = (rank[0] - rank[i]) + 1;
	}
	for (uint32_t i = n->level; i < z->level; i++)
		node(db, update[i])->lv[i].span++;
	n->back = update[0] == z->header ? 0 : update[0];
	if (n->lv[0].fwd)
		node(db, n->lv[0].fwd)->back = o;
	else
		z->tail = o;
	z->length++;
}

/* Unlink node o from the skiplist (not freed). */
static void zsl_unlink(struct kvdb *db, struct kv_zset *z, kv_off o)
{
	struct kv_znode *n = node(db, o), *x = node(db, z->header);
	struct kv_ent *ne = zn_ent(db, n);
	kv_off update[ZSL_MAXLEVEL];

	for (int i = (int)z->level - 1; i >= 0; i--) {
		while (x->lv[i].fwd && x->lv[i].fwd != o &&
		       node_before(db, node(db, x->lv[i].fwd), n->score, ne->key, ne->klen))
			x = node(db, x->lv[i].fwd);
		update[i] = kv_offof(db, x);
	}
	for (uint32_t i = 0; i < z->level; i++) {
		struct kv_znode *u = node(db, update[i]);

		if (u->lv[i].fwd == o) {
			u->lv[i].span += n->lv[i].span - 1;
			u->lv[i].fwd = n->lv[i].fwd;
		} else {
			u->lv[i].span--;
		}
	}
	if (n->lv[0].fwd)
		node(db, n->lv[0].fwd)->back = n->back;
	else
		z->tail = n->back;
	while (z->level > 1 && !node(db, z->header)->lv[z->level - 1].fwd)
		z->level--;
	z->length--;
}

struct kv_ent *zset_get(struct kvdb *db, struct kv_ent *e, const char *m, size_t mlen)
{
	struct kv_zset *z = zset_of(db, e, false);

	return z ? dict_find(db, &z->dict, m, mlen, kv_hash(db, m, mlen), NULL) : NULL;
}

int zset_set(struct kvdb *db, struct kv_ent *e, const char *m, size_t mlen, double score)
{
	struct kv_zset *z = zset_of(db, e, true);
	uint64_t h = kv_hash(db, m, mlen);
	struct kv_ent *me;
	kv_off o;

	if (!z)
		return -ENOMEM;
	if (score == 0)
		score = 0;	/* -0 is stored as 0, as Redis's listpack does */
	me = dict_find(db, &z->dict, m, mlen, h, NULL);
	if (me) {
		struct kv_znode *n = zm_node(db, me);
		struct kv_znode *p = zn_prev(db, n), *nx = zn_next(db, n);

		if (n->score == score)
			return 0;
		/* Still in order where it is: change the score in place. */
		if ((!p || zcmp(p->score, zn_ent(db, p)->key, zn_ent(db, p)->klen,
				score, m, mlen) < 0) &&
		    (!nx || zcmp(nx->score, zn_ent(db, nx)->key, zn_ent(db, nx)->klen,
				 score, m, mlen) > 0)) {
			n->score = score;
			return 0;
		}
		zsl_unlink(db, z, me->val);
		n->score = score;
		zsl_insert(db, z, me->val);
		return 0;
	}
	me = ent_new(db, m, mlen, h, KV_ZMEMBER);
	if (!me)
		return -ENOMEM;
	o = node_new(db, random_level(), kv_offof(db, me), score);
	if (!o) {
		ent_free(db, me);
		return -ENOMEM;
	}
	me->val = o;
	if (dict_link(db, &z->dict, me)) {
		ent_free(db, me);
		return -ENOMEM;
	}
	zsl_insert(db, z, o);
	return 1;
}

int zset_del(struct kvdb *db, struct kv_ent *e, const char *m, size_t mlen)
{
	struct kv_zset *z = zset_of(db, e, false);
	struct kv_ent *me;

	if (!z || !(me = dict_find(db, &z->dict, m, mlen, kv_hash(db, m, mlen), NULL)))
		return 0;
	zsl_unlink(db, z, me->val);
	dict_unlink(db, &z->dict, me);
	ent_free(db, me);	/* frees its node too (the entry's value) */
	dict_maybe_shrink(db, &z->dict);
	return 1;
}

uint64_t zset_len(struct kvdb *db, struct kv_ent *e)
{
	struct kv_zset *z = zset_of(db, e, false);

	return z ? z->length : 0;
}

uint64_t zset_rank(struct kvdb *db, struct kv_zset *z, struct kv_ent *m)
{
	struct kv_znode *x = node(db, z->header), *n = zm_node(db, m);
	uint64_t rank = 0;

	for (int i = (int)z->level - 1; i >= 0; i--) {
		while (x->lv[i].fwd &&
		       (x->lv[i].fwd == m->val ||
			node_before(db, node(db, x->lv[i].fwd), n->score, m->key, m->klen))) {
			rank += x->lv[i].span;
			x = node(db, x->lv[i].fwd);
		}
		if (x == n)
			return rank - 1;
	}
	return rank - 1;
}

struct kv_znode *zset_at(struct kvdb *db, struct kv_zset *z, uint64_t r)
{
	struct kv_znode *x = node(db, z->header);
	uint64_t traversed = 0;

	if (r >= z->length)
		return NULL;
	r++;
	for (int i = (int)z->level - 1; i >= 0; i--) {
		while (x->lv[i].fwd && traversed + x->lv[i].span <= r) {
			traversed += x->lv[i].span;
			x = node(db, x->lv[i].fwd);
		}
		if (traversed == r)
			return x;
	}
	return NULL;
}

bool zspec_gte_min(const struct zrange_spec *r, double v)
{
	return r->minex ? v > r->min : v >= r->min;
}

bool zspec_lte_max(const struct zrange_spec *r, double v)
{
	return r->maxex ? v < r->max : v <= r->max;
}

static int lexcmp(const char *a, size_t la, const char *b, size_t lb)
{
	int r = memcmp(a, b, la < lb ? la : lb);

	return r ? r : (la < lb ? -1 : la > lb);
}

bool zlex_gte_min(const struct zlex_spec *r, const char *s, size_t n)
{
	int c;

	if (r->mininf)
		return r->mininf < 0;
	c = lexcmp(s, n, r->min, r->minlen);
	return r->minex ? c > 0 : c >= 0;
}

bool zlex_lte_max(const struct zlex_spec *r, const char *s, size_t n)
{
	int c;

	if (r->maxinf)
		return r->maxinf > 0;
	c = lexcmp(s, n, r->max, r->maxlen);
	return r->maxex ? c < 0 : c <= 0;
}

struct kv_znode *zset_first_in(struct kvdb *db, struct kv_zset *z, const struct zrange_spec *r)
{
	struct kv_znode *x = node(db, z->header);

	for (int i = (int)z->level - 1; i >= 0; i--)
		while (x->lv[i].fwd && !zspec_gte_min(r, node(db, x->lv[i].fwd)->score))
			x = node(db, x->lv[i].fwd);
	x = zn_next(db, x);
	return x && zspec_lte_max(r, x->score) ? x : NULL;
}

struct kv_znode *zset_last_in(struct kvdb *db, struct kv_zset *z, const struct zrange_spec *r)
{
	struct kv_znode *x = node(db, z->header);

	for (int i = (int)z->level - 1; i >= 0; i--)
		while (x->lv[i].fwd && zspec_lte_max(r, node(db, x->lv[i].fwd)->score))
			x = node(db, x->lv[i].fwd);
	if (kv_offof(db, x) == z->header)
		return NULL;
	return zspec_gte_min(r, x->score) ? x : NULL;
}

/* Redis's zslIsInLexRange/zzlIsInLexRange, past the empty-range test the
 * callers do: the last member passes min and the first passes max. */
static bool lex_overlaps(struct kvdb *db, struct kv_zset *z, const struct zlex_spec *r)
{
	struct kv_znode *first = zn_next(db, node(db, z->header)), *last = node(db, z->tail);

	return first && last &&
	       zlex_gte_min(r, zn_ent(db, last)->key, zn_ent(db, last)->klen) &&
	       zlex_lte_max(r, zn_ent(db, first)->key, zn_ent(db, first)->klen);
}

struct kv_znode *zset_first_lex(struct kvdb *db, struct kv_zset *z, const struct zlex_spec *r,
				bool linear)
{
	struct kv_znode *x = node(db, z->header);

	if (!lex_overlaps(db, z, r))
		return NULL;
	if (linear) {
		for (x = zn_next(db, x); x; x = zn_next(db, x))
			if (zlex_gte_min(r, zn_ent(db, x)->key, zn_ent(db, x)->klen))
				break;
	} else {
		for (int i = (int)z->level - 1; i >= 0; i--)
			while (x->lv[i].fwd) {
				struct kv_ent *fe = zn_ent(db, node(db, x->lv[i].fwd));

				if (zlex_gte_min(r, fe->key, fe->klen))
					break;
				x = node(db, x->lv[i].fwd);
			}
		x = zn_next(db, x);
	}
	return x && zlex_lte_max(r, zn_ent(db, x)->key, zn_ent(db, x)->klen) ? x : NULL;
}

struct kv_znode *zset_last_lex(struct kvdb *db, struct kv_zset *z, const struct zlex_spec *r,
			       bool linear)
{
	struct kv_znode *x = node(db, z->header);

	if (!lex_overlaps(db, z, r))
		return NULL;
	if (linear) {
		for (x = node(db, z->tail); x; x = zn_prev(db, x))
			if (zlex_lte_max(r, zn_ent(db, x)->key, zn_ent(db, x)->klen))
				break;
		if (!x)
			return NULL;
	} else {
		for (int i = (int)z->level - 1; i >= 0; i--)
			while (x->lv[i].fwd) {
				struct kv_ent *fe = zn_ent(db, node(db, x->lv[i].fwd));

				if (!zlex_lte_max(r, fe->key, fe->klen))
					break;
				x = node(db, x->lv[i].fwd);
			}
		if (kv_offof(db, x) == z->header)
			return NULL;
	}
	return zlex_gte_min(r, zn_ent(db, x)->key, zn_ent(db, x)->klen) ? x : NULL;
}

void zset_free(struct kvdb *db, struct kv_zset *z)
{
	kv_off o = node(db, z->header)->lv[0].fwd;

	while (o) {
		struct kv_znode *n = node(db, o);
		kv_off next = n->lv[0].fwd;

		ent_free(db, zn_ent(db, n));	/* entry and node */
		o = next;
	}
	dict_free_tables(db, &z->dict);
	cow_heap_free(db->heap, z->header);
}
