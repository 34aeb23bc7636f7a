/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cmd_sort.c — COPY and MOVE (a deep copy of a value inside the space),
 * SORT and SORT_RO.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "types.h"

struct copy_walk {
	struct kv_ent *dst;
	int err;
};

static void copy_field(struct kvdb *db, struct kv_ent *f, void *arg)
{
	struct copy_walk *w = arg;

	if (!w->err && hash_set(db, w->dst, f->key, f->klen, ent_bytes(db, f), f->vlen) < 0)
		w->err = -ENOMEM;
}

/* Copy src's value into dst (a fresh entry of the same type). 0 or -ENOMEM
 * (dst partly filled: the caller deletes it). */
static int value_copy(struct kvdb *db, struct kv_ent *src, struct kv_ent *dst)
{
	struct copy_walk w = { dst, 0 };

	dst->enc = src->enc | (src->type == KV_STRING ? ENC_UNSHARED : 0);
	switch (src->type) {
	case KV_STRING:
		return ent_set_bytes(db, dst, ent_bytes(db, src), src->vlen);
	case KV_HASH:
	case KV_SET:
		if (hash_len(db, src))
			dict_each(db, hash_dict(db, src, false), copy_field, &w);
		return w.err;
	case KV_LIST:
		for (uint64_t i = 0; i < list_len(db, src); i++) {
			struct kv_elem *el = list_at(db, src, i);

			if (list_push(db, dst, false, el->data, el->len))
				return -ENOMEM;
		}
		return 0;
	case KV_ZSET:
		for (struct kv_znode *n = zset_at(db, zset_of(db, src, false), 0); n;
		     n = zn_next(db, n)) {
			struct kv_ent *m = zn_ent(db, n);

			if (zset_set(db, dst, m->key, m->klen, n->score) < 0)
				return -ENOMEM;
		}
		return 0;
	default:
		return -EINVAL;
	}
}

/*
 * COPY src dst [DB n] [REPLACE]: a deep copy of src's value (and expiry)
 * at dst in database n (the client's by default), as Redis 7.0: 1, or 0
 * when src is missing or dst exists without REPLACE. The destination is
 * signalled in its database; src does not change.
 */
void cmd_copy(struct client *c)
{
	bool replace = false;
	unsigned srcdb = srv.db.cur, dstdb = srcdb;
	struct kv_ent *src, *dst;
	int64_t expire;

	for (int i = 3; i < c->argc; i++) {
		if (arg_is(c, i, "replace")) {
			replace = true;
		} else if (arg_is(c, i, "db") && i + 1 < c->argc) {
			if (!arg_db(c, i + 1, &dstdb))
				return;
			i++;
		} else {
			reply_syntax(c);
			return;
		}
	}
	if (srcdb == dstdb && c->argv[1].len == c->argv[2].len &&
	    memcmp(c->argv[1].p, c->argv[2].p, c->argv[1].len) == 0) {
		reply_error(c, "ERR source and destination objects are the same");
		return;
	}
	cmd_keys_signalled();		/* only dst changes, in dstdb */
	src = lookup_write(c, 1);
	if (!src) {
		reply_int(c, 0);
		return;
	}
	expire = src->expire;
	srv.db.cur = dstdb;
	dst = lookup_write(c, 2);
	if (dst) {
		if (!replace) {
			srv.db.cur = srcdb;
			reply_int(c, 0);
			return;
		}
		kv_delete_ent(&srv.db, dst);
		srv.db.cur = srcdb;
		src = lookup_write(c, 1);	/* (the same entry: a delete moves nothing) */
		srv.db.cur = dstdb;
	}
	dst = kv_add(&srv.db, c->argv[2].p, c->argv[2].len, (enum kv_type)src->type);
	if (!dst || value_copy(&srv.db, src, dst) ||
	    (expire && kv_set_expire(&srv.db, dst, expire))) {
		if (dst)
			kv_delete_ent(&srv.db, dst);
		srv.db.cur = srcdb;
		reply_oom(c);
		return;
	}
	keyspace_changed(c->argv[2].p, c->argv[2].len);
	notify_arg(c, NOTIFY_GENERIC, "copy_to", 2);
	srv.db.cur = srcdb;
	srv_changed(1);
	reply_int(c, 1);
}

/*
 * MOVE key n: key goes from the client's database to database n, with its
 * expiry, unless n holds key already (0). Both databases see the change
 * (WATCH, blocked clients), and the events are new (in n), move_from and
 * move_to, as Redis 7.0 gives them.
 */
void cmd_move(struct client *c)
{
	unsigned from = srv.db.cur, to;
	struct kv_ent *e;

	if (!arg_db(c, 2, &to))
		return;
	if (to == from) {
		reply_error(c, "ERR source and destination objects are the same");
		return;
	}
	cmd_keys_signalled();
	if (!(e = lookup_write(c, 1))) {
		reply_int(c, 0);
		return;
	}
	srv.db.cur = to;
	if (lookup_write(c, 1)) {
		srv.db.cur = from;
		reply_int(c, 0);
		return;
	}
	srv.db.cur = from;
	if (kv_move(&srv.db, e, to)) {
		reply_oom(c);
		return;
	}
	keyspace_changed(c->argv[1].p, c->argv[1].len);
	srv.db.cur = to;
	notify_arg(c, NOTIFY_NEW, "new", 1);
	keyspace_changed(c->argv[1].p, c->argv[1].len);
	srv.db.cur = from;
	notify_arg(c, NOTIFY_GENERIC, "move_from", 1);
	srv.db.cur = to;
	notify_arg(c, NOTIFY_GENERIC, "move_to", 1);
	srv.db.cur = from;
	srv_changed(1);
	reply_int(c, 1);
}

/* ---- SORT ----------------------------------------------------------------- */

struct sort_el {
	char *p;                /* the element (copied) */
	size_t n;
	double score;
	char *cmp;              /* ALPHA BY: the value to compare, or NULL */
	size_t cmplen;
};

struct sort_opts {
	bool alpha, desc, bypattern, store;
};

static struct sort_opts sort_cur;	/* qsort has no argument (one thread) */

static int bytes_cmp(const char *a, size_t la, const char *b, size_t lb)
{
	int r = memcmp(a, b, la < lb ? la : lb);

	return r ? r : (la < lb ? -1 : la > lb);
}

/* Redis's sortCompare (strcoll in the C locale for ALPHA without STORE). */
static int sort_cmp(const void *x, const void *y)
{
	const struct sort_el *a = x, *b = y;
	int cmp;

	if (!sort_cur.alpha) {
		cmp = a->score > b->score ? 1 : a->score < b->score ? -1
		      : bytes_cmp(a->p, a->n, b->p, b->n);
	} else if (sort_cur.bypattern) {
		if (!a->cmp || !b->cmp)
			cmp = a->cmp == b->cmp ? 0 : !a->cmp ? -1 : 1;
		else
			cmp = sort_cur.store ? bytes_cmp(a->cmp, a->cmplen, b->cmp, b->cmplen)
					     : strcoll(a->cmp, b->cmp);
	} else {
		cmp = sort_cur.store ? bytes_cmp(a->p, a->n, b->p, b->n) : strcoll(a->p, b->p);
	}
	return sort_cur.desc ? -cmp : cmp;
}

/* Redis's lookupKeyByPattern: "#" is the element; the first '*' takes the
 * element; "->field" after it reads a hash field. NULL: no value. */
static const char *pattern_value(const struct kv_arg *pat, const struct sort_el *el,
				 size_t *len)
{
	const char *star, *arrow;
	char *key;
	size_t klen, flen = 0;
	const char *field = NULL;
	struct kv_ent *e;
	const char *out = NULL;

	if (pat->len == 1 && pat->p[0] == '#') {
		*len = el->n;
		return el->p;
	}
	star = memchr(pat->p, '*', pat->len);
	if (!star)
		return NULL;
	arrow = NULL;
	for (const char *q = star; q + 1 < pat->p + pat->len; q++)
		if (q[0] == '-' && q[1] == '>') {
			arrow = q;
			break;
		}
	if (arrow && arrow + 2 < pat->p + pat->len) {
		field = arrow + 2;
		flen = (size_t)(pat->p + pat->len - field);
	} else {
		arrow = NULL;
	}
	klen = (size_t)((arrow ? arrow : pat->p + pat->len) - pat->p) - 1 + el->n;
	if (!(key = malloc(klen + 1)))
		return NULL;
	{
		size_t pre = (size_t)(star - pat->p);
		size_t post = (size_t)((arrow ? arrow : pat->p + pat->len) - star - 1);

		memcpy(key, pat->p, pre);
		memcpy(key + pre, el->p, el->n);
		memcpy(key + pre + el->n, star + 1, post);
	}
	e = kv_find(&srv.db, key, klen);
	free(key);
	if (!e)
		return NULL;
	if (field) {
		struct kv_ent *f;

		if (e->type != KV_HASH || !(f = hash_get(&srv.db, e, field, flen)))
			return NULL;
		*len = f->vlen;
		out = f->vlen ? ent_bytes(&srv.db, f) : "";
	} else {
		if (e->type != KV_STRING)
			return NULL;
		*len = e->vlen;
		out = e->vlen ? ent_bytes(&srv.db, e) : "";
	}
	return out;
}

static char *dupn(const char *p, size_t n)
{
	char *s = malloc(n + 1);

	if (s) {
		memcpy(s, p, n);
		s[n] = '\0';
	}
	return s;
}

struct sort_collect {
	struct sort_el *v;
	size_t len;
	bool nomem;
};

static void sort_add(struct sort_collect *s, const char *p, size_t n)
{
	struct sort_el *el = &s->v[s->len];

	memset(el, 0, sizeof *el);
	if (!(el->p = dupn(p, n))) {
		s->nomem = true;
		return;
	}
	el->n = n;
	s->len++;
}

static void sort_visit(struct kvdb *db, struct kv_ent *f, void *arg)
{
	(void)db;
	sort_add(arg, f->key, f->klen);
}

/* Redis's numeric conversion for SORT: strtod must use the whole string
 * (an empty string is 0). */
static bool sort_score(const char *p, size_t n, double *out)
{
	char *s = dupn(p, n), *end;
	bool ok;

	if (!s)
		return false;
	errno = 0;
	*out = strtod(s, &end);
	ok = end[0] == '\0' && errno != ERANGE && !isnan(*out);
	free(s);
	return ok;
}

static void sort_free(struct sort_collect *s)
{
	for (size_t i = 0; i < s->len; i++) {
		free(s->v[i].p);
		free(s->v[i].cmp);
	}
	free(s->v);
}

static void sort_generic(struct client *c, bool ro)
{
	struct sort_opts o = { 0 };
	const struct kv_arg *by = NULL;
	long long start = 0, count = -1;
	int *gets = calloc((size_t)c->argc, sizeof *gets), ngets = 0, storei = 0;
	bool dontsort = false, ok = true;
	struct kv_ent *e;
	struct sort_collect s = { 0 };
	uint64_t n;

	if (!gets) {
		reply_oom(c);
		return;
	}
	for (int i = 2; i < c->argc && ok; i++) {
		int left = c->argc - i - 1;

		if (arg_is(c, i, "asc")) {
			o.desc = false;
		} else if (arg_is(c, i, "desc")) {
			o.desc = true;
		} else if (arg_is(c, i, "alpha")) {
			o.alpha = true;
		} else if (arg_is(c, i, "limit") && left >= 2) {
			ok = arg_ll(c, i + 1, &start) && arg_ll(c, i + 2, &count);
			i += 2;
			if (!ok)
				goto out;
		} else if (arg_is(c, i, "store") && left >= 1 && !ro) {
			storei = i + 1;
			i++;
		} else if (arg_is(c, i, "by") && left >= 1) {
			by = &c->argv[i + 1];
			if (!memchr(by->p, '*', by->len))
				dontsort = true;
			else if (!acl_all_keys_readable(c)) {	/* it reads keys by pattern */
				reply_error(c, "ERR BY option of SORT denied due to insufficient "
					    "ACL permissions.");
				goto out;
			}
			i++;
		} else if (arg_is(c, i, "get") && left >= 1) {
			if (!acl_all_keys_readable(c)) {
				reply_error(c, "ERR GET option of SORT denied due to insufficient "
					    "ACL permissions.");
				goto out;
			}
			gets[ngets++] = i + 1;
			i++;
		} else {
			reply_syntax(c);
			goto out;
		}
	}
	o.store = storei != 0;
	o.bypattern = by != NULL;
	e = lookup_read(c, 1);
	if (e && e->type != KV_LIST && e->type != KV_SET && e->type != KV_ZSET) {
		reply_wrongtype(c);
		goto out;
	}
	/* Redis sorts a set "by nosort" into a STORE alphabetically (stable
	 * across replicas), and converts a sorted set to a skiplist for good. */
	if (e && e->type == KV_SET && dontsort && storei) {
		dontsort = false;
		o.alpha = true;
		o.bypattern = false;
		by = NULL;
	}
	if (e && e->type == KV_ZSET)
		e->enc |= ENC_BIG;
	n = e ? obj_len(e) : 0;
	s.v = calloc(n ? n : 1, sizeof *s.v);
	if (!s.v) {
		reply_oom(c);
		goto out;
	}
	if (e && e->type == KV_LIST) {
		for (uint64_t i = 0; i < n; i++) {
			struct kv_elem *el = list_at(&srv.db, e, i);

			sort_add(&s, el->data, el->len);
		}
	} else if (e && e->type == KV_SET) {
		dict_each(&srv.db, hash_dict(&srv.db, e, false), sort_visit, &s);
	} else if (e) {
		for (struct kv_znode *z = zset_at(&srv.db, zset_of(&srv.db, e, false), 0); z;
		     z = zn_next(&srv.db, z))
			sort_add(&s, zn_ent(&srv.db, z)->key, zn_ent(&srv.db, z)->klen);
		if (dontsort && o.desc)	/* zset order reversed, as Redis does */
			for (size_t i = 0; i < s.len / 2; i++) {
				struct sort_el t = s.v[i];

				s.v[i] = s.v[s.len - 1 - i];
				s.v[s.len - 1 - i] = t;
			}
	}
	if (s.nomem) {
		reply_oom(c);
		goto out;
	}
	if (!dontsort) {
		for (size_t i = 0; i < s.len; i++) {
			const char *val = s.v[i].p;
			size_t vlen = s.v[i].n;

			if (by && !(val = pattern_value(by, &s.v[i], &vlen)))
				continue;
			if (o.alpha) {
				if (by && !(s.v[i].cmp = dupn(val, vlen))) {
					reply_oom(c);
					goto out;
				}
				s.v[i].cmplen = vlen;
			} else if (!sort_score(val, vlen, &s.v[i].score)) {
				reply_error(c, "ERR One or more scores can't be converted into double");
				goto out;
			}
		}
		sort_cur = o;
		if (s.len)
			qsort(s.v, s.len, sizeof s.v[0], sort_cmp);
	}
	{
		long long len = (long long)s.len, from = start < 0 ? 0 : start, k;

		if (from > len)
			from = len;
		k = count < 0 ? len - from : count;
		if (from + k > len)
			k = len - from;
		if (storei) {
			struct kv_ent *dst = lookup_write(c, storei);
			bool created;

			if (dst)
				kv_delete_ent(&srv.db, dst);
			srv_changed(1);
			/* the destination is not among the declared keys */
			keyspace_changed(c->argv[storei].p, c->argv[storei].len);
			if (k * (ngets ? ngets : 1) == 0) {
				reply_int(c, 0);
				goto out;
			}
			if (!(dst = obj_for_write(c, storei, KV_LIST, &created)))
				goto out;
			for (long long i = from; i < from + k; i++)
				for (int g = 0; g < (ngets ? ngets : 1); g++) {
					const char *p = s.v[i].p;
					size_t pl = s.v[i].n;

					if (ngets && !(p = pattern_value(&c->argv[gets[g]], &s.v[i], &pl))) {
						p = "";
						pl = 0;
					}
					if (list_push(&srv.db, dst, false, p, pl)) {
						kv_delete_ent(&srv.db, dst);
						reply_oom(c);
						goto out;
					}
				}
			reply_int(c, (long long)list_len(&srv.db, dst));
		} else {
			reply_array(c, k * (ngets ? ngets : 1));
			for (long long i = from; i < from + k; i++) {
				if (!ngets) {
					reply_bulk(c, s.v[i].p, s.v[i].n);
					continue;
				}
				for (int g = 0; g < ngets; g++) {
					size_t pl;
					const char *p = pattern_value(&c->argv[gets[g]], &s.v[i], &pl);

					if (p)
						reply_bulk(c, p, pl);
					else
						reply_nil(c);
				}
			}
		}
	}
out:
	sort_free(&s);
	free(gets);
}

void cmd_sort(struct client *c) { sort_generic(c, false); }
void cmd_sort_ro(struct client *c) { sort_generic(c, true); }
