/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cmd_geo.c — Redis 7.0's geo commands on sorted sets (geohash.c holds the
 * arithmetic): a geo set is a plain sorted set whose scores are 52-bit
 * cell numbers, so ZRANGE, ZREM and the rest work on it, and any sorted
 * set can be searched (its scores decoded as cells, as Redis does).
 *
 *   GEOADD key [NX|XX] [CH] lon lat member ...   ZADD with computed scores
 *   GEOPOS, GEOHASH, GEODIST                     decode members' scores
 *   GEOSEARCH, GEOSEARCHSTORE, GEORADIUS[_RO],
 *   GEORADIUSBYMEMBER[_RO]                       one search (geo_search)
 *
 * A search reads the score ranges of the nine cells covering its shape
 * (geo_cover), keeps the members inside the shape, sorts them by distance
 * when asked, and replies or stores them. Matches are copied before
 * anything is written: a STORE may replace its own source.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "geohash.h"
#include "types.h"

/* ---- arguments --------------------------------------------------------------- */

/* Longitude and latitude at argv[i], argv[i+1], within the Web Mercator
 * limits; replies Redis's error otherwise. */
static bool arg_lonlat(struct client *c, int i, double xy[2])
{
	if (!arg_double(c, i, &xy[0]) || !arg_double(c, i + 1, &xy[1]))
		return false;
	if (xy[0] < GEO_LONG_MIN || xy[0] > GEO_LONG_MAX || xy[1] < GEO_LAT_MIN ||
	    xy[1] > GEO_LAT_MAX) {
		char msg[1024];	/* "%f" of 1e308 is 316 characters */

		snprintf(msg, sizeof msg, "ERR invalid longitude,latitude pair %f,%f", xy[0], xy[1]);
		reply_error(c, msg);
		return false;
	}
	return true;
}

/* Metres per unit of argv[i] (m, km, ft, mi), or -1 after replying. */
static double arg_unit(struct client *c, int i)
{
	static const struct { const char *name; double metres; } units[] = {
		{ "m", 1 }, { "km", 1000 }, { "ft", 0.3048 }, { "mi", 1609.34 },
	};

	for (size_t k = 0; k < sizeof units / sizeof units[0]; k++)
		if (arg_is(c, i, units[k].name))
			return units[k].metres;
	reply_error(c, "ERR unsupported unit provided. please use M, KM, FT, MI");
	return -1;
}

/* A non-negative number at argv[i] ("ERR <what>" when it is not one). */
static bool arg_length(struct client *c, int i, const char *what, double *out)
{
	if (!parse_double(c->argv[i].p, c->argv[i].len, out)) {
		reply_errorf(c, "ERR %s", what);
		return false;
	}
	return true;
}

/* "radius unit" at argv[i]: a circle of shape s. */
static bool arg_radius(struct client *c, int i, struct geo_shape *s)
{
	double r, conv;

	if (!arg_length(c, i, "need numeric radius", &r))
		return false;
	if (r < 0) {
		reply_error(c, "ERR radius cannot be negative");
		return false;
	}
	if ((conv = arg_unit(c, i + 1)) < 0)
		return false;
	s->type = GEO_CIRCLE;
	s->radius = r;
	s->conversion = conv;
	return true;
}

/* "width height unit" at argv[i]: a box of shape s. */
static bool arg_box(struct client *c, int i, struct geo_shape *s)
{
	double w, h, conv;

	if (!arg_length(c, i, "need numeric width", &w) ||
	    !arg_length(c, i + 1, "need numeric height", &h))
		return false;
	if (h < 0 || w < 0) {
		reply_error(c, "ERR height or width cannot be negative");
		return false;
	}
	if ((conv = arg_unit(c, i + 2)) < 0)
		return false;
	s->type = GEO_BOX;
	s->width = w;
	s->height = h;
	s->conversion = conv;
	return true;
}

/* The point of member argv[i] of zset e into xy; replies Redis's error
 * when it is not there. */
static bool member_point(struct client *c, struct kv_ent *e, int i, double xy[2])
{
	struct kv_ent *m = zset_get(&srv.db, e, c->argv[i].p, c->argv[i].len);

	if (!m) {
		reply_error(c, "ERR could not decode requested zset member");
		return false;
	}
	geo_point_of(zm_score(&srv.db, m), xy);
	return true;
}

/* ---- replies ------------------------------------------------------------------- */

/* A coordinate as Redis writes it ("%.17Lf" trimmed): a bulk in RESP2, a
 * double in RESP3. */
static void reply_coord(struct client *c, double v)
{
	char buf[128];

	reply_double_text(c, buf, ld2str(buf, sizeof buf - 2, (long double)v));
}

/* A distance as a bulk with exactly four decimals, rounded as llrint()
 * rounds d * 10^4 (Redis's fixed-point formatting). */
static void reply_distance(struct client *c, double d)
{
	char buf[64];
	long long v;
	unsigned long long u;
	int n;

	if (d == 0) {
		reply_bulk(c, "0.0000", 6);
		return;
	}
	v = llrint(d * 10000.0);
	u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
	n = snprintf(buf, sizeof buf, "%s%llu.%04llu", v < 0 ? "-" : "", u / 10000, u % 10000);
	reply_bulk(c, buf, (size_t)n);
}

/* The integer a score converts to in C on x86-64 (WITHHASH's reply):
 * LLONG_MIN for what does not fit. */
static long long score_ll(double s)
{
	if (s >= -9223372036854775808.0 && s < 9223372036854775808.0)
		return (long long)s;
	return LLONG_MIN;
}

/* ---- GEOADD, GEOPOS, GEOHASH, GEODIST ----------------------------------------------- */

/* The zset at argv[i] for reading: NULL when missing (*ok) or after
 * WRONGTYPE (!*ok). */
static struct kv_ent *geo_for_read(struct client *c, int i, bool *ok)
{
	struct kv_ent *e = lookup_read(c, i);

	*ok = check_type(c, e, KV_ZSET);
	return *ok ? e : NULL;
}

/* Run ZADD on argv (argc arguments) as if the client had sent it, then
 * give the client its own arguments back (Redis's GEOADD rewrites its
 * command into a ZADD the same way). */
static void run_as_zadd(struct client *c, struct kv_arg *argv, int argc)
{
	struct kv_arg *own = c->argv;
	int own_argc = c->argc;

	c->argv = argv;
	c->argc = argc;
	cmd_zadd(c);
	c->argv = own;
	c->argc = own_argc;
}

/* The ZADD command line of GEOADD's elements from argv[first] on (first:
 * after the options): "zadd key [options] score member ...", each score
 * the cell number of its coordinates, written in the same block (free it
 * once). NULL after replying (a bad coordinate, OOM). */
static struct kv_arg *zadd_line(struct client *c, int first, int *zargc)
{
	static char zadd_name[] = "zadd";
	int n = (c->argc - first) / 3;
	struct kv_arg *zargv;
	char (*scores)[24];

	*zargc = first + 2 * n;
	zargv = malloc((size_t)*zargc * sizeof *zargv + (size_t)n * sizeof *scores + 1);
	if (!zargv) {
		reply_oom(c);
		return NULL;
	}
	scores = (char (*)[24])(zargv + *zargc);
	zargv[0] = (struct kv_arg){ zadd_name, 4 };
	memcpy(zargv + 1, c->argv + 1, (size_t)(first - 1) * sizeof *zargv);
	for (int j = 0; j < n; j++) {
		double xy[2];
		int at = first + 3 * j;
		struct kv_arg *score = &zargv[first + 2 * j];

		if (!arg_lonlat(c, at, xy)) {
			free(zargv);
			return NULL;
		}
		score->p = scores[j];
		score->len = (size_t)snprintf(scores[j], sizeof scores[j], "%llu",
					      (unsigned long long)geo_score_of(xy[0], xy[1]));
		zargv[first + 2 * j + 1] = c->argv[at + 2];
	}
	return zargv;
}

/*
 * GEOADD key [NX|XX] [CH] lon lat member [lon lat member ...]: every
 * coordinate is checked first, then the members are added by ZADD with
 * their cells' numbers as scores (ZADD's replies, events and options).
 */
void cmd_geoadd(struct client *c)
{
	int first = 2, zargc;
	bool nx = false, xx = false;
	struct kv_arg *zargv;

	for (; first < c->argc; first++) {
		if (arg_is(c, first, "nx"))
			nx = true;
		else if (arg_is(c, first, "xx"))
			xx = true;
		else if (!arg_is(c, first, "ch"))	/* CH is ZADD's to count */
			break;
	}
	if ((c->argc - first) % 3 || (nx && xx)) {
		reply_syntax(c);
		return;
	}
	if (!(zargv = zadd_line(c, first, &zargc)))
		return;
	run_as_zadd(c, zargv, zargc);
	free(zargv);
}

/* GEOPOS key member...: [lon, lat] of each member, a null array for
 * those missing. */
void cmd_geopos(struct client *c)
{
	bool ok;
	struct kv_ent *e = geo_for_read(c, 1, &ok);

	if (!ok)
		return;
	reply_array(c, c->argc - 2);
	for (int j = 2; j < c->argc; j++) {
		struct kv_ent *m = e ? zset_get(&srv.db, e, c->argv[j].p, c->argv[j].len) : NULL;
		double xy[2];

		if (!m) {
			reply_nil_array(c);
			continue;
		}
		geo_point_of(zm_score(&srv.db, m), xy);
		reply_array(c, 2);
		reply_coord(c, xy[0]);
		reply_coord(c, xy[1]);
	}
}

/* GEOHASH key member...: the standard 11-character geohash of each
 * member, nil for those missing. */
void cmd_geohash(struct client *c)
{
	bool ok;
	struct kv_ent *e = geo_for_read(c, 1, &ok);

	if (!ok)
		return;
	reply_array(c, c->argc - 2);
	for (int j = 2; j < c->argc; j++) {
		struct kv_ent *m = e ? zset_get(&srv.db, e, c->argv[j].p, c->argv[j].len) : NULL;
		char buf[12];

		if (!m) {
			reply_nil(c);
			continue;
		}
		geo_hash_string(zm_score(&srv.db, m), buf);
		reply_bulk(c, buf, 11);
	}
}

/* GEODIST key m1 m2 [unit]: the distance between two members, nil when
 * the key or either member is missing. */
void cmd_geodist(struct client *c)
{
	double conv = 1, a[2], b[2];
	struct kv_ent *e, *m1, *m2;

	if (c->argc == 5 && (conv = arg_unit(c, 4)) < 0)
		return;
	if (c->argc > 5) {
		reply_syntax(c);
		return;
	}
	e = lookup_read(c, 1);
	if (!e) {
		reply_nil(c);
		return;
	}
	if (!check_type(c, e, KV_ZSET))
		return;
	m1 = zset_get(&srv.db, e, c->argv[2].p, c->argv[2].len);
	m2 = zset_get(&srv.db, e, c->argv[3].p, c->argv[3].len);
	if (!m1 || !m2) {
		reply_nil(c);
		return;
	}
	geo_point_of(zm_score(&srv.db, m1), a);
	geo_point_of(zm_score(&srv.db, m2), b);
	reply_distance(c, geo_distance(a[0], a[1], b[0], b[1]) / conv);
}

/* ---- searches -------------------------------------------------------------------- */

/* Which command a search serves. */
#define GS_COORDS 1     /* GEORADIUS: centre at argv[2..3], radius at argv[4..5] */
#define GS_MEMBER 2     /* GEORADIUSBYMEMBER: centre member argv[2], radius argv[3..4] */
#define GS_NOSTORE 4    /* the _RO variants: no STORE/STOREDIST */
#define GS_SEARCH 8     /* GEOSEARCH: FROM... and BY... options */
#define GS_STORE 16     /* GEOSEARCHSTORE: destination argv[1], STOREDIST flag */

enum geo_sort { SORT_NONE, SORT_ASC, SORT_DESC };

/* A search as its arguments ask it. */
struct geo_query {
	unsigned flags;
	struct geo_shape shape;
	bool withdist, withhash, withcoord, any, storedist;
	bool frommember, fromlonlat, byradius, bybox;
	enum geo_sort sort;
	long long count;        /* 0: all */
	int storei;             /* argv index of the destination, 0 for none */
};

/* A member inside the shape (its bytes copied). */
struct geo_hit {
	double xy[2], dist, score;
	char *m;
	size_t mlen;
};

struct geo_hits {
	struct geo_hit *v;
	size_t len, cap;
	bool nomem;
};

/* Append a copy of member m with its point, distance and score. */
static void hits_push(struct geo_hits *h, const double xy[2], double dist, double score,
		      const char *m, size_t mlen)
{
	struct geo_hit *x;

	if (h->nomem)
		return;
	if (h->len == h->cap) {
		size_t cap = h->cap ? 2 * h->cap : 8;
		struct geo_hit *v = realloc(h->v, cap * sizeof *v);

		if (!v) {
			h->nomem = true;
			return;
		}
		h->v = v;
		h->cap = cap;
	}
	x = &h->v[h->len];
	if (!(x->m = malloc(mlen + 1))) {
		h->nomem = true;
		return;
	}
	memcpy(x->m, m, mlen);
	x->m[mlen] = '\0';
	x->mlen = mlen;
	x->xy[0] = xy[0];
	x->xy[1] = xy[1];
	x->dist = dist;
	x->score = score;
	h->len++;
}

/* Free the hits and their members' copies. */
static void hits_free(struct geo_hits *h)
{
	for (size_t i = 0; i < h->len; i++)
		free(h->v[i].m);
	free(h->v);
}

/* Have the hits reached limit (0: no limit; ANY)? */
static bool hits_full(const struct geo_hits *h, size_t limit)
{
	return h->len && limit && h->len >= limit;
}

/* Append the members of zset z in cell (its scores from the cell's first
 * to the next cell's, excluded) that are inside s, in score order,
 * stopping at limit hits. */
static void hits_of_cell(struct kv_zset *z, struct geo_cell cell, const struct geo_shape *s,
			 struct geo_hits *h, size_t limit)
{
	struct kvdb *db = &srv.db;
	struct geo_cell next = { cell.bits + 1, cell.step };
	struct zrange_spec r = { .min = (double)geo_cell_score(cell),
				 .max = (double)geo_cell_score(next), .maxex = true };

	for (struct kv_znode *n = zset_first_in(db, z, &r); n && zspec_lte_max(&r, n->score);
	     n = zn_next(db, n)) {
		double xy[2], dist = 0;

		if (geo_in_shape(s, n->score, xy, &dist)) {
			struct kv_ent *m = zn_ent(db, n);

			hits_push(h, xy, dist, n->score, m->key, m->klen);
		}
		if (hits_full(h, limit))
			break;
	}
}

/* Same cell (bits and step)? */
static bool cell_eq(struct geo_cell a, struct geo_cell b)
{
	return a.bits == b.bits && a.step == b.step;
}

/* The members of zset e inside q's shape, cell after cell of its cover.
 * A cell equal to the one read just before it is skipped (huge radii make
 * neighbours coincide), as Redis skips it: the first cell is never
 * compared. */
static void hits_of_shape(struct kv_ent *e, struct geo_query *q, struct geo_hits *h)
{
	struct kv_zset *z = zset_of(&srv.db, e, false);
	size_t limit = q->any ? (size_t)q->count : 0;
	struct geo_cover cv;
	int last = 0;

	geo_cover(&q->shape, &cv);
	for (int i = 0; i < 9; i++) {
		if (cv.cell[i].bits == 0 && cv.cell[i].step == 0)
			continue;	/* left out */
		if (last && cell_eq(cv.cell[i], cv.cell[last]))
			continue;
		if (hits_full(h, limit))
			break;
		hits_of_cell(z, cv.cell[i], &q->shape, h, limit);
		last = i;
	}
}

/* qsort orders of hits by distance. */
static int hit_asc(const void *a, const void *b)
{
	double da = ((const struct geo_hit *)a)->dist, db = ((const struct geo_hit *)b)->dist;

	return da > db ? 1 : da == db ? 0 : -1;
}

static int hit_desc(const void *a, const void *b)
{
	return -hit_asc(a, b);
}

/*
 * ---- sorting the nearest COUNT ----
 *
 * With COUNT (and no ANY) Redis sorts only the first COUNT places of the
 * matches, with a partial quicksort (Bentley and McIlroy's "Engineering a
 * Sort Function", 1993, pruned to the ranks asked for): members at equal
 * distances — common, since points sit on the grid's cell centres — come
 * in the order that algorithm leaves them. To give the same order, and the
 * same members where the cut falls among equals, the same algorithm is
 * used here: its choice of pivots, its split into less / equal / greater
 * and its insertion sort of short runs.
 */

typedef int (*hit_cmp)(const void *, const void *);

/* Exchange v[i] and v[j]. */
static void hit_swap(struct geo_hit *v, size_t i, size_t j)
{
	struct geo_hit t = v[i];

	v[i] = v[j];
	v[j] = t;
}

/* Swap the runs v[i..i+k) and v[j..j+k), place by place. */
static void hit_swap_run(struct geo_hit *v, size_t i, size_t j, size_t k)
{
	for (size_t x = 0; x < k; x++)
		hit_swap(v, i + x, j + x);
}

/* The index of the median of v[a], v[b], v[c]. */
static size_t hit_median(const struct geo_hit *v, size_t a, size_t b, size_t c, hit_cmp cmp)
{
	if (cmp(&v[a], &v[b]) < 0)
		return cmp(&v[b], &v[c]) < 0 ? b : cmp(&v[a], &v[c]) < 0 ? c : a;
	return cmp(&v[b], &v[c]) > 0 ? b : cmp(&v[a], &v[c]) < 0 ? a : c;
}

/* Insertion sort of v[0..n). */
static void hit_insertion_sort(struct geo_hit *v, size_t n, hit_cmp cmp)
{
	for (size_t m = 1; m < n; m++)
		for (size_t l = m; l > 0 && cmp(&v[l - 1], &v[l]) > 0; l--)
			hit_swap(v, l, l - 1);
}

/* The pivot of v[0..n) (n >= 7): the middle one, or the median of the
 * ends and the middle, or of three such medians for long runs. */
static size_t hit_pivot(const struct geo_hit *v, size_t n, hit_cmp cmp)
{
	size_t l = 0, m = n / 2, r = n - 1;

	if (n == 7)
		return m;
	if (n > 40) {
		size_t d = n / 8;

		l = hit_median(v, l, l + d, l + 2 * d, cmp);
		m = hit_median(v, m - d, m, m + d, cmp);
		r = hit_median(v, r - 2 * d, r - d, r, cmp);
	}
	return hit_median(v, l, m, r, cmp);
}

/* Split v[0..n) around the pivot put at v[0]: on return v[0..*less) is
 * less than it, v[n - *more..n) greater, and the equals in between. */
static void hit_split(struct geo_hit *v, size_t n, hit_cmp cmp, size_t *less, size_t *more)
{
	long pa = 1, pb = 1, pc = (long)n - 1, pd = (long)n - 1, r;
	int k;

	for (;;) {
		/* equals to the pivot gather at both ends as they are met */
		while (pb <= pc && (k = cmp(&v[pb], &v[0])) <= 0) {
			if (k == 0)
				hit_swap(v, (size_t)pa++, (size_t)pb);
			pb++;
		}
		while (pb <= pc && (k = cmp(&v[pc], &v[0])) >= 0) {
			if (k == 0)
				hit_swap(v, (size_t)pc, (size_t)pd--);
			pc--;
		}
		if (pb > pc)
			break;
		hit_swap(v, (size_t)pb++, (size_t)pc--);
	}
	/* ... and move to the middle */
	r = pa < pb - pa ? pa : pb - pa;
	hit_swap_run(v, 0, (size_t)(pb - r), (size_t)r);
	r = pd - pc < (long)n - pd - 1 ? pd - pc : (long)n - pd - 1;
	hit_swap_run(v, (size_t)pb, n - (size_t)r, (size_t)r);
	*less = (size_t)(pb - pa);
	*more = (size_t)(pd - pc);
}

/* Does the run of n places from base meet the ranks lo..hi? */
static bool run_meets(size_t base, size_t n, size_t lo, size_t hi)
{
	return !((lo < base && hi < base) || (lo >= base + n && hi >= base + n));
}

/* Sort v[base..base+n) far enough that the places lo..hi of v hold what
 * a full sort puts there (the rest stays partly sorted). */
static void hits_sort_ranks(struct geo_hit *v, size_t base, size_t n, hit_cmp cmp, size_t lo,
			    size_t hi)
{
	for (;;) {
		struct geo_hit *a = v + base;
		size_t less, more;

		if (n < 7) {
			hit_insertion_sort(a, n, cmp);
			return;
		}
		hit_swap(a, 0, hit_pivot(a, n, cmp));
		hit_split(a, n, cmp, &less, &more);
		if (less > 1 && run_meets(base, less, lo, hi))
			hits_sort_ranks(v, base, less, cmp, lo, hi);
		if (more <= 1 || !run_meets(base + n - more, more, lo, hi))
			return;
		base += n - more;	/* the greater side: iterate */
		n = more;
	}
}

/* Reply the first n hits with the fields q asks for. */
static void reply_hits(struct client *c, const struct geo_query *q, struct geo_hits *h,
		       size_t n)
{
	int fields = q->withdist + q->withhash + q->withcoord;

	reply_array(c, (long long)n);
	for (size_t i = 0; i < n; i++) {
		const struct geo_hit *x = &h->v[i];

		if (fields)
			reply_array(c, fields + 1);
		reply_bulk(c, x->m, x->mlen);
		if (q->withdist)
			reply_distance(c, x->dist / q->shape.conversion);
		if (q->withhash)
			reply_int(c, score_ll(x->score));
		if (q->withcoord) {
			reply_array(c, 2);
			reply_coord(c, x->xy[0]);
			reply_coord(c, x->xy[1]);
		}
	}
}

/* The destination key argv[dsti] is gone (if it was there): Redis's
 * delete, its event and its change count. */
static void store_nothing(struct client *c, int dsti)
{
	struct kv_ent *d = lookup_write(c, dsti);

	if (d) {
		kv_delete_ent(&srv.db, d);
		keyspace_changed(c->argv[dsti].p, c->argv[dsti].len);
		notify_arg(c, NOTIFY_GENERIC, "del", dsti);
		srv_changed(1);
	}
	reply_int(c, 0);
}

/* The destination key argv[dsti], emptied into a sorted set (created,
 * or its old value and expiry dropped), or NULL after replying OOM. */
static struct kv_ent *store_target(struct client *c, int dsti)
{
	struct kv_ent *d = lookup_write(c, dsti);

	if (!d) {
		d = kv_add(&srv.db, c->argv[dsti].p, c->argv[dsti].len, KV_ZSET);
		if (!d)
			reply_oom(c);
		return d;
	}
	kv_clear_value(&srv.db, d, KV_ZSET);
	kv_set_expire(&srv.db, d, 0);
	d->enc = 0;
	return d;
}

/* Make argv[q->storei] the sorted set of the first n hits (scores: their
 * cells, or with STOREDIST their distances in the query's unit); an empty
 * result deletes it. Replies n. */
static void store_hits(struct client *c, const struct geo_query *q, struct geo_hits *h,
		       size_t n)
{
	int dsti = q->storei;
	struct kv_ent *d;

	cmd_keys_signalled();	/* the destination only: argv[1] of GEORADIUS is the source */
	if (n == 0) {
		store_nothing(c, dsti);
		return;
	}
	if (!(d = store_target(c, dsti)))
		return;
	for (size_t i = 0; i < n; i++) {
		const struct geo_hit *x = &h->v[i];
		double score = q->storedist ? x->dist / q->shape.conversion : x->score;

		if (zset_set(&srv.db, d, x->m, x->mlen, score) < 0) {
			kv_delete_ent(&srv.db, d);
			keyspace_changed(c->argv[dsti].p, c->argv[dsti].len);
			reply_oom(c);
			return;
		}
		enc_note_add(d, x->m, x->mlen);
	}
	keyspace_changed(c->argv[dsti].p, c->argv[dsti].len);
	notify_arg(c, NOTIFY_ZSET, (q->flags & GS_SEARCH) ? "geosearchstore" : "georadiusstore",
		   dsti);
	srv_changed(n);
	reply_int(c, (long long)n);
}

/* Search zset e (it exists) as q asks, then reply or store. */
static void geo_run(struct client *c, struct kv_ent *e, struct geo_query *q)
{
	struct geo_hits h = { 0 };
	size_t n;

	if (q->count && q->sort == SORT_NONE && !q->any)
		q->sort = SORT_ASC;	/* the nearest COUNT, not any COUNT */
	hits_of_shape(e, q, &h);
	if (h.nomem) {
		hits_free(&h);
		reply_oom(c);
		return;
	}
	n = h.len;
	if (q->count && (size_t)q->count < n)
		n = (size_t)q->count;
	if (q->sort != SORT_NONE && h.len > 1) {
		hit_cmp cmp = q->sort == SORT_ASC ? hit_asc : hit_desc;

		/* all of them: the C library's sort (glibc's is stable); the
		 * nearest n: the partial sort above, as Redis */
		if (n == h.len)
			qsort(h.v, h.len, sizeof *h.v, cmp);
		else
			hits_sort_ranks(h.v, 0, h.len, cmp, 0, n - 1);
	}
	if (q->storei)
		store_hits(c, q, &h, n);
	else
		reply_hits(c, q, &h, n);
	hits_free(&h);
}

/* GEOSEARCH's own options at argv[i] (FROMMEMBER, FROMLONLAT, BYRADIUS,
 * BYBOX), as geo_option() takes options. */
static int geo_search_option(struct client *c, int i, struct kv_ent *e, struct geo_query *q)
{
	int left = c->argc - i - 1;

	if (arg_is(c, i, "frommember") && left >= 1 && !q->fromlonlat) {
		if (e && !member_point(c, e, i + 1, q->shape.xy))
			return 0;
		return q->frommember = true, 2;
	}
	if (arg_is(c, i, "fromlonlat") && left >= 2 && !q->frommember) {
		if (!arg_lonlat(c, i + 1, q->shape.xy))
			return 0;
		return q->fromlonlat = true, 3;
	}
	if (arg_is(c, i, "byradius") && left >= 2 && !q->bybox) {
		if (!arg_radius(c, i + 1, &q->shape))
			return 0;
		return q->byradius = true, 3;
	}
	if (arg_is(c, i, "bybox") && left >= 3 && !q->byradius) {
		if (!arg_box(c, i + 1, &q->shape))
			return 0;
		return q->bybox = true, 4;
	}
	reply_syntax(c);
	return 0;
}

/* One option of a search at argv[i] into q (e: the source, NULL when it
 * is missing: FROMMEMBER is then not looked up). Returns how many
 * arguments it took, or 0 after replying. */
static int geo_option(struct client *c, int i, struct kv_ent *e, struct geo_query *q)
{
	int left = c->argc - i - 1;	/* arguments after this one */
	bool search = q->flags & GS_SEARCH;
	bool store_ok = !(q->flags & (GS_NOSTORE | GS_SEARCH));

	if (arg_is(c, i, "withdist"))
		return q->withdist = true, 1;
	if (arg_is(c, i, "withhash"))
		return q->withhash = true, 1;
	if (arg_is(c, i, "withcoord"))
		return q->withcoord = true, 1;
	if (arg_is(c, i, "any"))
		return q->any = true, 1;
	if (arg_is(c, i, "asc"))
		return q->sort = SORT_ASC, 1;
	if (arg_is(c, i, "desc"))
		return q->sort = SORT_DESC, 1;
	if (arg_is(c, i, "count") && left >= 1) {
		if (!arg_ll(c, i + 1, &q->count))
			return 0;
		if (q->count <= 0) {
			reply_error(c, "ERR COUNT must be > 0");
			return 0;
		}
		return 2;
	}
	if ((arg_is(c, i, "store") || arg_is(c, i, "storedist")) && left >= 1 && store_ok) {
		q->storei = i + 1;
		q->storedist = arg_is(c, i, "storedist");
		return 2;
	}
	if (arg_is(c, i, "storedist") && (q->flags & GS_STORE))
		return q->storedist = true, 1;
	if (search)
		return geo_search_option(c, i, e, q);
	reply_syntax(c);
	return 0;
}

/* The checks Redis makes once every option is read; false after replying. */
static bool geo_query_ok(struct client *c, const struct geo_query *q)
{
	if (q->storei && (q->withdist || q->withhash || q->withcoord)) {
		reply_errorf(c, "ERR %s is not compatible with WITHDIST, WITHHASH and WITHCOORD options",
			     (q->flags & GS_STORE) ? "GEOSEARCHSTORE" : "STORE option in GEORADIUS");
		return false;
	}
	if ((q->flags & GS_SEARCH) && !(q->frommember || q->fromlonlat)) {
		reply_errorf(c, "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for %s",
			     c->argv[0].p);
		return false;
	}
	if ((q->flags & GS_SEARCH) && !(q->byradius || q->bybox)) {
		reply_errorf(c, "ERR exactly one of BYRADIUS and BYBOX can be specified for %s",
			     c->argv[0].p);
		return false;
	}
	if (q->any && !q->count) {
		reply_error(c, "ERR the ANY argument requires COUNT argument");
		return false;
	}
	return true;
}

/* The centre and radius GEORADIUS and GEORADIUSBYMEMBER take before their
 * options (nothing of BYMEMBER's is read when the source is missing).
 * Returns the index of the first option, or 0 after replying. */
static int geo_fixed_args(struct client *c, struct kv_ent *e, struct geo_query *q)
{
	if (q->flags & GS_COORDS) {
		if (!arg_lonlat(c, 2, q->shape.xy) || !arg_radius(c, 4, &q->shape))
			return 0;
		return 6;
	}
	if (q->flags & GS_MEMBER) {
		if (e && (!member_point(c, e, 2, q->shape.xy) || !arg_radius(c, 3, &q->shape)))
			return 0;
		return 5;
	}
	if (q->flags & GS_STORE) {
		q->storei = 1;
		return 3;
	}
	return 2;
}

/*
 * The search behind GEOSEARCH[STORE] and GEORADIUS[BYMEMBER][_RO], source
 * key argv[srci]: arguments are checked in Redis's order (the source's
 * type, the fixed arguments, each option as it comes, then the rules
 * between options); a missing source gives an empty array, or with a
 * destination deletes it and replies 0.
 */
static void geo_search(struct client *c, int srci, unsigned flags)
{
	struct geo_query q = { .flags = flags };
	bool ok;
	struct kv_ent *e = geo_for_read(c, srci, &ok);
	int i;

	if (!ok || !(i = geo_fixed_args(c, e, &q)))
		return;
	while (i < c->argc) {
		int took = geo_option(c, i, e, &q);

		if (!took)
			return;
		i += took;
	}
	if (!geo_query_ok(c, &q))
		return;
	if (!e) {
		if (q.storei) {
			cmd_keys_signalled();
			store_nothing(c, q.storei);
		} else {
			reply_array(c, 0);
		}
		return;
	}
	geo_run(c, e, &q);
}

/* The first argument from argv[from] to argv[argc - 2] that is word
 * (case-insensitively), or 0: Redis's keyword search of a key
 * specification, which never looks at the last argument. */
static int find_keyword(int argc, const struct kv_arg *argv, int from, const char *word)
{
	for (int i = from; i < argc - 1; i++)
		if (!strcasecmp(argv[i].p, word))
			return i;
	return 0;
}

bool geo_has_store_keys(const char *name)
{
	return !strcmp(name, "georadius") || !strcmp(name, "georadiusbymember");
}

int geo_store_keys(const char *name, int argc, const struct kv_arg *argv, int idx[2])
{
	int from = !strcmp(name, "georadius") ? 6 : 5, n = 0, at;

	if (!geo_has_store_keys(name))
		return 0;
	if ((at = find_keyword(argc, argv, from, "store")))
		idx[n++] = at + 1;
	if ((at = find_keyword(argc, argv, from, "storedist")))
		idx[n++] = at + 1;
	return n;
}

/* The six search commands: which arguments they take (GS_*). */
void cmd_georadius(struct client *c) { geo_search(c, 1, GS_COORDS); }
void cmd_georadius_ro(struct client *c) { geo_search(c, 1, GS_COORDS | GS_NOSTORE); }
void cmd_georadiusbymember(struct client *c) { geo_search(c, 1, GS_MEMBER); }
void cmd_georadiusbymember_ro(struct client *c) { geo_search(c, 1, GS_MEMBER | GS_NOSTORE); }
void cmd_geosearch(struct client *c) { geo_search(c, 1, GS_SEARCH); }
void cmd_geosearchstore(struct client *c) { geo_search(c, 2, GS_SEARCH | GS_STORE); }
