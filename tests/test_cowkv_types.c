/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_cowkv_types.c — cowkv's sets, sorted sets and the rest of Redis
 * 7.0's data commands (issue 13, part A), driven from outside:
 *
 *   - a random command sequence over every type replayed against Debian's
 *     redis-server and cowkv, replies compared byte for byte (unordered
 *     replies sorted first, random ones by their shape), then SAVE, a kill
 *     and a restart of cowkv, and every key compared again;
 *   - a dataset using every type (small and big encodings) saved with
 *     BGSAVE while it keeps changing, the server killed, restarted, and
 *     every key read back by type-specific reads and compared with the
 *     dataset as of the save's freeze;
 *   - exact replies of a few commands whose wording or encoding matters.
 *
 * Servers are started and killed by kvharness.h (each test's teardown).
 */
#include "kvharness.h"

/* ---- rendering -------------------------------------------------------------- */

static int cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Render r with its elements sorted in groups of @p group (1: members,
 * 2: field/value pairs). Not an array: rendered as is. */
static void render_group_sorted(const struct resp_reply *r, size_t group, char *out, size_t len)
{
	char **items;
	size_t n, at;

	if (!r || r->type != RESP_ARRAY || r->n % group) {
		render(r, out, len);
		return;
	}
	n = r->n / group;
	items = calloc(n + 1, sizeof *items);
	assert_non_null(items);
	for (size_t i = 0; i < n; i++) {
		items[i] = calloc(1, 1024);
		assert_non_null(items[i]);
		for (size_t k = 0; k < group; k++) {
			size_t l = strlen(items[i]);

			render(r->elem[i * group + k], items[i] + l, 1024 - l);
		}
	}
	qsort(items, n, sizeof *items, cmp_strp);
	at = (size_t)snprintf(out, len, "[");
	for (size_t i = 0; i < n; i++) {
		at += (size_t)snprintf(out + at, at < len ? len - at : 0, "%s%s",
				       i ? "," : "", items[i]);
		free(items[i]);
	}
	snprintf(out + (at < len ? at : len - 1), at < len ? len - at : 1, "]");
	free(items);
}

/* How a reply is compared. */
enum cmp_mode {
	CMP_EXACT = 0,
	CMP_SET = 1,            /* unordered members */
	CMP_PAIRS = 2,          /* unordered field/value pairs */
	CMP_SHAPE = 3,          /* random: type and element count only */
	CMP_SCAN = 4,           /* [cursor, pairs]: the pairs unordered */
	CMP_SCAN1 = 5,          /* [cursor, members]: the members unordered */
};

static void render_mode(const struct resp_reply *r, enum cmp_mode m, char *out, size_t len)
{
	if (m == CMP_SET || m == CMP_PAIRS)
		render_group_sorted(r, (size_t)m, out, len);
	else if ((m == CMP_SCAN || m == CMP_SCAN1) && r && r->type == RESP_ARRAY && r->n == 2) {
		size_t at;

		render(r->elem[0], out, len);
		at = strlen(out);
		render_group_sorted(r->elem[1], m == CMP_SCAN ? 2 : 1, out + at, len - at);
	} else if (m == CMP_SHAPE && r && r->type == RESP_ARRAY)
		snprintf(out, len, "array of %zu", r->n);
	else if (m == CMP_SHAPE && r && r->type == RESP_BULK)
		snprintf(out, len, "bulk");
	else
		render(r, out, len);
}

/* Send argv to c and render the reply into out. */
static void ask(struct kc *c, int argc, const char **argv, enum cmp_mode m, char *out, size_t len)
{
	size_t lens[64];
	struct resp_reply *r;

	for (int i = 0; i < argc; i++)
		lens[i] = strlen(argv[i]);
	kc_sendv(c, argc, argv, lens);
	r = kc_read(c);
	render_mode(r, m, out, len);
	resp_reply_free(r);
}

/* ---- the random generator --------------------------------------------------- */

struct gen {
	struct t_rng rng;
	char nums[16][24];
	int nn;
	bool big;               /* second phase: collections past the small encodings */
};

#define PICK(g, arr) ((arr)[t_rng_below(&(g)->rng, sizeof(arr) / sizeof((arr)[0]))])

static const char *const set_keys[] = { "t0", "t1", "t2" };
static const char *const zset_keys[] = { "z0", "z1", "z2" };
/* Lex ranges are defined only on members of one score (Redis's rule): the
 * lex commands use these, which only ever get score 0. */
static const char *const lex_keys[] = { "zl0", "zl1" };
static const char *const list_keys[] = { "l0", "l1" };
static const char *const hash_keys[] = { "h0", "h1" };
static const char *const str_keys[] = { "s0", "s1", "s2" };
static const char *const any_keys[] = { "t0", "t1", "z0", "z1", "l0", "h0", "s0", "s1", "nokey" };
static const char *const members[] = { "a", "b", "c", "d", "e", "f", "1", "2", "3", "10",
				       "-5", "x y", "" };
static const char *const scores[] = { "0", "1", "2.5", "-1", "3", "1e2", "-inf", "+inf",
				      "0.1", "7", "-0.5", "1.1", "abc" };
static const char *const score_ends[] = { "0", "1", "2.5", "-inf", "+inf", "(1", "(2.5",
					  "(0", "3", "(7", "x" };
static const char *const lex_ends[] = { "-", "+", "[a", "(b", "[d", "(f", "[1", "[c", "a" };
static const char *const ints[] = { "0", "1", "-1", "2", "5", "-3", "100", "abc", "3", "-100" };
static const char *const floats[] = { "1.5", "-2", "0.1", "1e3", "3", "abc", "inf", "-0.25" };

/* Key for a command on type pool p: sometimes a key of another type. */
static const char *key_of(struct gen *g, const char *const *pool, size_t n)
{
	if (t_rng_below(&g->rng, 12) == 0)
		return PICK(g, any_keys);
	return pool[t_rng_below(&g->rng, n)];
}

#define SK(g) key_of(g, set_keys, 3)
#define ZK(g) key_of(g, zset_keys, 3)
#define LK(g) key_of(g, list_keys, 2)
#define HK(g) key_of(g, hash_keys, 2)
#define STK(g) key_of(g, str_keys, 3)

static const char *small_int(struct gen *g, int max);

/* A member: from the small pool, or in the big phase often one of 300
 * generated ones (so sets and sorted sets outgrow intset/listpack). */
static const char *member_of(struct gen *g)
{
	if (g->big && t_rng_below(&g->rng, 4)) {
		char *b = g->nums[g->nn++ % 16];

		snprintf(b, sizeof g->nums[0], "m%d", (int)t_rng_below(&g->rng, 300));
		return b;
	}
	return PICK(g, members);
}

static const char *small_int(struct gen *g, int max)
{
	char *b = g->nums[g->nn++ % 16];

	snprintf(b, sizeof g->nums[0], "%d", (int)t_rng_below(&g->rng, (uint64_t)max));
	return b;
}

/* Set commands. */
static int gen_set(struct gen *g, const char **v, enum cmp_mode *m)
{
	switch (t_rng_below(&g->rng, 17)) {
	case 0: case 1: case 2:
		v[0] = "SADD"; v[1] = SK(g); v[2] = member_of(g); v[3] = member_of(g);
		return 4;
	case 3:
		v[0] = "SREM"; v[1] = SK(g); v[2] = member_of(g); return 3;
	case 4:
		*m = CMP_SET; v[0] = "SMEMBERS"; v[1] = SK(g); return 2;
	case 5:
		v[0] = "SISMEMBER"; v[1] = SK(g); v[2] = member_of(g); return 3;
	case 6:
		v[0] = "SMISMEMBER"; v[1] = SK(g); v[2] = member_of(g); v[3] = member_of(g);
		return 4;
	case 7:
		v[0] = "SCARD"; v[1] = SK(g); return 2;
	case 8:
		v[0] = "SMOVE"; v[1] = SK(g); v[2] = SK(g); v[3] = member_of(g); return 4;
	case 9:
		*m = CMP_SET; v[0] = PICK(g, ((const char *const[]){ "SINTER", "SUNION", "SDIFF" }));
		v[1] = SK(g); v[2] = SK(g); v[3] = SK(g); return 4;
	case 10:
		v[0] = PICK(g, ((const char *const[]){ "SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE" }));
		v[1] = SK(g); v[2] = SK(g); v[3] = SK(g); return 4;
	case 11:
		v[0] = "SINTERCARD"; v[1] = "2"; v[2] = SK(g); v[3] = SK(g);
		if (t_rng_below(&g->rng, 2)) {
			v[4] = "LIMIT"; v[5] = PICK(g, ints); return 6;
		}
		return 4;
	case 12:
		*m = CMP_SHAPE; v[0] = "SRANDMEMBER"; v[1] = SK(g); v[2] = PICK(g, ints); return 3;
	case 13:
		*m = CMP_SET; v[0] = "SPOP"; v[1] = SK(g); v[2] = "1000"; return 3;
	case 14:
		v[0] = "SINTERCARD"; v[1] = PICK(g, ints); v[2] = SK(g); return 3;
	case 15:
		if (t_rng_below(&g->rng, 2)) {
			*m = CMP_SCAN1; v[0] = "SSCAN"; v[1] = SK(g); v[2] = "0"; v[3] = "COUNT";
			v[4] = "1000"; return 5;
		}
		v[0] = "OBJECT"; v[1] = "ENCODING"; v[2] = SK(g); return 3;
	default:
		v[0] = "SORT"; v[1] = SK(g);
		if (t_rng_below(&g->rng, 2)) {
			v[2] = "ALPHA"; return 3;
		}
		return 2;
	}
}

/* ZADD with random options. */
static int gen_zadd(struct gen *g, const char **v)
{
	static const char *const opts[] = { "NX", "XX", "GT", "LT", "CH", "INCR" };
	int n = 2;

	v[0] = "ZADD";
	v[1] = ZK(g);
	if (t_rng_below(&g->rng, 4) == 0) {
		v[1] = PICK(g, lex_keys);
		v[2] = "0";
		v[3] = member_of(g);
		return 4;
	}
	while (t_rng_below(&g->rng, 3) == 0 && n < 5)
		v[n++] = PICK(g, opts);
	v[n++] = PICK(g, scores);
	v[n++] = member_of(g);
	if (t_rng_below(&g->rng, 2)) {
		v[n++] = PICK(g, scores);
		v[n++] = member_of(g);
	}
	return n;
}

/* ZRANGE in its many forms. */
static int gen_zrange(struct gen *g, const char **v)
{
	int n = 0, by = (int)t_rng_below(&g->rng, 3);

	v[n++] = "ZRANGE";
	v[n++] = ZK(g);
	if (by == 0) {
		v[n++] = PICK(g, ints);
		v[n++] = PICK(g, ints);
	} else if (by == 1) {
		v[n++] = PICK(g, score_ends);
		v[n++] = PICK(g, score_ends);
		v[n++] = "BYSCORE";
	} else {
		v[1] = PICK(g, lex_keys);
		v[n++] = PICK(g, lex_ends);
		v[n++] = PICK(g, lex_ends);
		v[n++] = "BYLEX";
	}
	if (t_rng_below(&g->rng, 2))
		v[n++] = "REV";
	if (t_rng_below(&g->rng, 3) == 0) {
		v[n++] = "LIMIT";
		v[n++] = PICK(g, ints);
		v[n++] = PICK(g, ints);
	}
	if (t_rng_below(&g->rng, 2))
		v[n++] = "WITHSCORES";
	return n;
}

/* ZUNION/ZINTER/ZDIFF and their STORE forms. */
static int gen_zsetop(struct gen *g, const char **v)
{
	static const char *const ops[] = { "ZUNION", "ZINTER", "ZDIFF", "ZUNIONSTORE",
					   "ZINTERSTORE", "ZDIFFSTORE" };
	const char *op = PICK(g, ops);
	bool store = strstr(op, "STORE") != NULL, diff = op[1] == 'D';
	int n = 0;

	v[n++] = op;
	if (store)
		v[n++] = ZK(g);
	v[n++] = "2";
	v[n++] = ZK(g);
	v[n++] = t_rng_below(&g->rng, 3) ? ZK(g) : SK(g);
	if (!diff && t_rng_below(&g->rng, 2)) {
		v[n++] = "WEIGHTS";
		v[n++] = PICK(g, floats);
		v[n++] = PICK(g, floats);
	}
	if (!diff && t_rng_below(&g->rng, 2)) {
		v[n++] = "AGGREGATE";
		v[n++] = PICK(g, ((const char *const[]){ "SUM", "MIN", "MAX", "AVG" }));
	}
	if (!store && t_rng_below(&g->rng, 2))
		v[n++] = "WITHSCORES";
	return n;
}

/* Sorted-set commands. */
static int gen_zset(struct gen *g, const char **v, enum cmp_mode *m)
{
	switch (t_rng_below(&g->rng, 26)) {
	case 0: case 1: case 2: case 3:
		return gen_zadd(g, v);
	case 4:
		v[0] = "ZINCRBY"; v[1] = ZK(g); v[2] = PICK(g, scores); v[3] = member_of(g);
		return 4;
	case 5:
		v[0] = "ZREM"; v[1] = ZK(g); v[2] = member_of(g); v[3] = member_of(g);
		return 4;
	case 6:
		v[0] = "ZSCORE"; v[1] = ZK(g); v[2] = member_of(g); return 3;
	case 7:
		v[0] = "ZMSCORE"; v[1] = ZK(g); v[2] = member_of(g); v[3] = member_of(g);
		return 4;
	case 8:
		v[0] = "ZCARD"; v[1] = ZK(g); return 2;
	case 9:
		v[0] = "ZCOUNT"; v[1] = ZK(g); v[2] = PICK(g, score_ends); v[3] = PICK(g, score_ends);
		return 4;
	case 10:
		v[0] = "ZLEXCOUNT"; v[1] = PICK(g, lex_keys); v[2] = PICK(g, lex_ends); v[3] = PICK(g, lex_ends);
		return 4;
	case 11: case 12: case 13:
		return gen_zrange(g, v);
	case 14: {
		static const char *const old[] = { "ZRANGEBYSCORE", "ZREVRANGEBYSCORE" };
		int n = 4;

		v[0] = PICK(g, old); v[1] = ZK(g); v[2] = PICK(g, score_ends);
		v[3] = PICK(g, score_ends);
		if (t_rng_below(&g->rng, 2))
			v[n++] = "WITHSCORES";
		if (t_rng_below(&g->rng, 2)) {
			v[n++] = "LIMIT"; v[n++] = PICK(g, ints); v[n++] = PICK(g, ints);
		}
		return n;
	}
	case 15:
		v[0] = PICK(g, ((const char *const[]){ "ZRANGEBYLEX", "ZREVRANGEBYLEX" }));
		v[1] = PICK(g, lex_keys); v[2] = PICK(g, lex_ends); v[3] = PICK(g, lex_ends);
		return 4;
	case 16:
		v[0] = PICK(g, ((const char *const[]){ "ZRANK", "ZREVRANK" }));
		v[1] = ZK(g); v[2] = member_of(g); return 3;
	case 17:
		v[0] = PICK(g, ((const char *const[]){ "ZPOPMIN", "ZPOPMAX" }));
		v[1] = ZK(g);
		if (t_rng_below(&g->rng, 2)) {
			v[2] = PICK(g, ints); return 3;
		}
		return 2;
	case 18:
		v[0] = "ZMPOP"; v[1] = "2"; v[2] = ZK(g); v[3] = ZK(g);
		v[4] = PICK(g, ((const char *const[]){ "MIN", "MAX" }));
		if (t_rng_below(&g->rng, 2)) {
			v[5] = "COUNT"; v[6] = PICK(g, ints); return 7;
		}
		return 5;
	case 19:
		v[0] = "ZRANGESTORE"; v[1] = ZK(g); v[2] = ZK(g); v[3] = PICK(g, ints);
		v[4] = PICK(g, ints); return 5;
	case 20: case 21:
		return gen_zsetop(g, v);
	case 22:
		v[0] = "ZINTERCARD"; v[1] = "2"; v[2] = ZK(g); v[3] = ZK(g); return 4;
	case 23:
		v[0] = "ZREMRANGEBYSCORE"; v[1] = ZK(g); v[2] = PICK(g, score_ends);
		v[3] = PICK(g, score_ends); return 4;
	case 24:
		v[0] = PICK(g, ((const char *const[]){ "ZREMRANGEBYRANK", "ZREMRANGEBYLEX" }));
		v[1] = ZK(g);
		if (v[0][11] == 'R') {	/* ...BYRANK */
			v[2] = PICK(g, ints); v[3] = PICK(g, ints);
		} else {
			v[1] = PICK(g, lex_keys);
			v[2] = PICK(g, lex_ends); v[3] = PICK(g, lex_ends);
		}
		return 4;
	default:
		if (t_rng_below(&g->rng, 2)) {
			/* A skiplist's order is its dict's: compare as a set. */
			*m = CMP_SCAN; v[0] = "ZSCAN"; v[1] = ZK(g); v[2] = "0"; v[3] = "COUNT";
			v[4] = "1000"; return 5;
		}
		*m = CMP_SHAPE; v[0] = "ZRANDMEMBER"; v[1] = ZK(g); v[2] = PICK(g, ints);
		return 3;
	}
}

/* List commands. */
static int gen_list(struct gen *g, const char **v, enum cmp_mode *m)
{
	(void)m;
	switch (t_rng_below(&g->rng, 16)) {
	case 0: case 1:
		v[0] = PICK(g, ((const char *const[]){ "LPUSH", "RPUSH", "LPUSHX", "RPUSHX" }));
		v[1] = LK(g); v[2] = member_of(g); v[3] = member_of(g); return 4;
	case 2:
		v[0] = "LSET"; v[1] = LK(g); v[2] = PICK(g, ints); v[3] = member_of(g); return 4;
	case 3:
		v[0] = "LREM"; v[1] = LK(g); v[2] = PICK(g, ints); v[3] = member_of(g); return 4;
	case 4:
		v[0] = "LTRIM"; v[1] = LK(g); v[2] = PICK(g, ints); v[3] = PICK(g, ints); return 4;
	case 5:
		v[0] = "LINSERT"; v[1] = LK(g);
		v[2] = PICK(g, ((const char *const[]){ "BEFORE", "AFTER", "MIDDLE" }));
		v[3] = member_of(g); v[4] = member_of(g); return 5;
	case 6: {
		int n = 3;

		v[0] = "LPOS"; v[1] = LK(g); v[2] = member_of(g);
		if (t_rng_below(&g->rng, 2)) {
			v[n++] = "RANK"; v[n++] = PICK(g, ints);
		}
		if (t_rng_below(&g->rng, 2)) {
			v[n++] = "COUNT"; v[n++] = PICK(g, ints);
		}
		if (t_rng_below(&g->rng, 3) == 0) {
			v[n++] = "MAXLEN"; v[n++] = PICK(g, ints);
		}
		return n;
	}
	case 7:
		v[0] = "LMOVE"; v[1] = LK(g); v[2] = LK(g);
		v[3] = PICK(g, ((const char *const[]){ "LEFT", "RIGHT" }));
		v[4] = PICK(g, ((const char *const[]){ "LEFT", "RIGHT", "UP" })); return 5;
	case 8:
		v[0] = "RPOPLPUSH"; v[1] = LK(g); v[2] = LK(g); return 3;
	case 9:
		v[0] = "LMPOP"; v[1] = "2"; v[2] = LK(g); v[3] = LK(g);
		v[4] = PICK(g, ((const char *const[]){ "LEFT", "RIGHT" }));
		if (t_rng_below(&g->rng, 2)) {
			v[5] = "COUNT"; v[6] = PICK(g, ints); return 7;
		}
		return 5;
	case 10: case 11:
		v[0] = "LRANGE"; v[1] = LK(g); v[2] = "0"; v[3] = "-1"; return 4;
	case 12:
		v[0] = "LINDEX"; v[1] = LK(g); v[2] = PICK(g, ints); return 3;
	case 13: {
		int n = 2;
		bool store;

		v[0] = PICK(g, ((const char *const[]){ "SORT", "SORT_RO" })); v[1] = LK(g);
		if (t_rng_below(&g->rng, 2))
			v[n++] = "ALPHA";
		if (t_rng_below(&g->rng, 2))
			v[n++] = "DESC";
		if (t_rng_below(&g->rng, 3) == 0) {
			v[n++] = "BY"; v[n++] = "w_*";
		}
		/* A STORE keeps only GET #: stored weights ("6", "-1", ...)
		 * would be list members without a weight of their own, and
		 * members that tie under BY ... ALPHA have no defined order. */
		store = v[0][4] != '_' && t_rng_below(&g->rng, 3) == 0;
		if (t_rng_below(&g->rng, 3) == 0) {
			v[n++] = "GET"; v[n++] = "#";
			if (!store) {
				v[n++] = "GET"; v[n++] = "w_*";
			}
		}
		if (t_rng_below(&g->rng, 3) == 0) {
			v[n++] = "LIMIT"; v[n++] = PICK(g, ints); v[n++] = PICK(g, ints);
		}
		if (store) {
			v[n++] = "STORE"; v[n++] = LK(g);
		}
		return n;
	}
	case 14:
		v[0] = "OBJECT"; v[1] = "ENCODING"; v[2] = LK(g); return 3;
	default:
		v[0] = PICK(g, ((const char *const[]){ "LPOP", "RPOP" })); v[1] = LK(g); return 2;
	}
}

/* String, bit and hash commands. */
static int gen_str(struct gen *g, const char **v, enum cmp_mode *m)
{
	switch (t_rng_below(&g->rng, 20)) {
	case 0:
		v[0] = "SET"; v[1] = STK(g);
		v[2] = PICK(g, ((const char *const[]){ "10", "1.5", "foobar", "", "abc", "7" }));
		return 3;
	case 1:
		v[0] = "INCRBYFLOAT"; v[1] = STK(g); v[2] = PICK(g, floats); return 3;
	case 2:
		v[0] = "GETEX"; v[1] = STK(g);
		if (t_rng_below(&g->rng, 2)) {
			v[2] = "PERSIST"; return 3;
		}
		v[2] = "EXAT"; v[3] = "4102444800"; return 4;
	case 3: case 4:
		v[0] = "SETBIT"; v[1] = STK(g); v[2] = small_int(g, 40);
		v[3] = PICK(g, ((const char *const[]){ "0", "1", "1", "2" })); return 4;
	case 5:
		v[0] = "GETBIT"; v[1] = STK(g); v[2] = small_int(g, 48); return 3;
	case 6: {
		int n = 2;

		v[0] = "BITCOUNT"; v[1] = STK(g);
		if (t_rng_below(&g->rng, 2)) {
			v[n++] = PICK(g, ints); v[n++] = PICK(g, ints);
			if (t_rng_below(&g->rng, 2))
				v[n++] = PICK(g, ((const char *const[]){ "BYTE", "BIT" }));
		}
		return n;
	}
	case 7: {
		int n = 3;

		v[0] = "BITPOS"; v[1] = STK(g); v[2] = PICK(g, ((const char *const[]){ "0", "1" }));
		if (t_rng_below(&g->rng, 2)) {
			v[n++] = PICK(g, ints);
			if (t_rng_below(&g->rng, 2)) {
				v[n++] = PICK(g, ints);
				if (t_rng_below(&g->rng, 2))
					v[n++] = PICK(g, ((const char *const[]){ "BYTE", "BIT" }));
			}
		}
		return n;
	}
	case 8:
		v[0] = "BITOP"; v[1] = PICK(g, ((const char *const[]){ "AND", "OR", "XOR", "NOT" }));
		v[2] = STK(g); v[3] = STK(g);
		if (v[1][0] == 'N')
			return 4;
		v[4] = STK(g); return 5;
	case 9:
		v[0] = "BITFIELD"; v[1] = STK(g);
		v[2] = "OVERFLOW"; v[3] = PICK(g, ((const char *const[]){ "WRAP", "SAT", "FAIL" }));
		v[4] = "INCRBY"; v[5] = PICK(g, ((const char *const[]){ "i5", "u4", "i8", "u63" }));
		v[6] = small_int(g, 30); v[7] = PICK(g, ints);
		v[8] = "GET"; v[9] = PICK(g, ((const char *const[]){ "i5", "u4", "i64", "u8" }));
		v[10] = small_int(g, 30); return 11;
	case 10:
		v[0] = "BITFIELD"; v[1] = STK(g); v[2] = "SET"; v[3] = "i8"; v[4] = "#1";
		v[5] = PICK(g, ints); return 6;
	case 11:
		v[0] = "LCS"; v[1] = STK(g); v[2] = STK(g);
		if (t_rng_below(&g->rng, 2))
			return 3;
		v[3] = PICK(g, ((const char *const[]){ "LEN", "IDX" }));
		if (v[3][0] == 'I') {
			v[4] = "WITHMATCHLEN"; return 5;
		}
		return 4;
	case 12:
		v[0] = "GET"; v[1] = STK(g); return 2;
	case 13:
		v[0] = "APPEND"; v[1] = STK(g); v[2] = member_of(g); return 3;
	case 14:
		v[0] = "HSET"; v[1] = HK(g); v[2] = member_of(g); v[3] = PICK(g, floats);
		return 4;
	case 15:
		v[0] = "HINCRBYFLOAT"; v[1] = HK(g); v[2] = member_of(g); v[3] = PICK(g, floats);
		return 4;
	case 16:
		*m = CMP_PAIRS; v[0] = "HGETALL"; v[1] = HK(g); return 2;
	case 17:
		*m = CMP_SHAPE; v[0] = "HRANDFIELD"; v[1] = HK(g); v[2] = PICK(g, ints);
		if (t_rng_below(&g->rng, 2)) {
			v[3] = "WITHVALUES"; return 4;
		}
		return 3;
	case 18:
		switch (t_rng_below(&g->rng, 4)) {
		case 0:
			*m = CMP_SCAN; v[0] = "HSCAN"; v[1] = HK(g); v[2] = "0"; v[3] = "COUNT";
			v[4] = "1000"; return 5;
		case 1:
			v[0] = "BITFIELD_RO"; v[1] = STK(g); v[2] = "GET";
			v[3] = PICK(g, ((const char *const[]){ "i5", "u4", "i64", "u8" }));
			v[4] = small_int(g, 30); return 5;
		case 2:
			v[0] = "OBJECT"; v[1] = "REFCOUNT"; v[2] = STK(g); return 3;
		default:
			v[0] = "SUBSTR"; v[1] = STK(g); v[2] = PICK(g, ints); v[3] = PICK(g, ints);
			return 4;
		}
	default:
		v[0] = "HDEL"; v[1] = HK(g); v[2] = member_of(g); return 3;
	}
}

/* Commands on keys of any type. */
static int gen_keys(struct gen *g, const char **v, enum cmp_mode *m)
{
	switch (t_rng_below(&g->rng, 9)) {
	case 0:
		v[0] = "COPY"; v[1] = PICK(g, any_keys); v[2] = PICK(g, any_keys);
		if (t_rng_below(&g->rng, 2)) {
			v[3] = "REPLACE"; return 4;
		}
		return 3;
	case 1:
		v[0] = "EXPIREAT"; v[1] = PICK(g, any_keys); v[2] = "4102444800"; return 3;
	case 2:
		v[0] = PICK(g, ((const char *const[]){ "EXPIRETIME", "PEXPIRETIME" }));
		v[1] = PICK(g, any_keys); return 2;
	case 3:
		v[0] = "TYPE"; v[1] = PICK(g, any_keys); return 2;
	case 4:
		v[0] = "RENAME"; v[1] = PICK(g, any_keys); v[2] = PICK(g, any_keys); return 3;
	case 5:
		v[0] = "DEL"; v[1] = PICK(g, any_keys); return 2;
	case 6:
		*m = CMP_SET; v[0] = "KEYS"; v[1] = "*"; return 2;
	case 7:
		v[0] = "SORT"; v[1] = PICK(g, zset_keys);
		v[2] = PICK(g, ((const char *const[]){ "ALPHA", "DESC", "ASC" })); return 3;
	default:
		v[0] = "EXISTS"; v[1] = PICK(g, any_keys); v[2] = PICK(g, any_keys); return 3;
	}
}

static int gen_command(struct gen *g, const char **v, enum cmp_mode *m)
{
	*m = CMP_EXACT;
	switch (t_rng_below(&g->rng, 10)) {
	case 0: case 1: case 2:
		return gen_zset(g, v, m);
	case 3: case 4:
		return gen_set(g, v, m);
	case 5: case 6:
		return gen_list(g, v, m);
	case 7: case 8:
		return gen_str(g, v, m);
	default:
		return gen_keys(g, v, m);
	}
}

/* ---- whole-dataset reads ------------------------------------------------------ */

/* Every key of c by type-specific reads, sorted by key, one line each:
 * "key type value encoding expiretime". */
static char *dump_all(struct kc *c)
{
	size_t cap = 1 << 20, at = 0;
	char *out = malloc(cap), *keys = malloc(1 << 20);
	const char *argv[8];
	struct resp_reply *r;
	size_t lens[8];
	char **names;
	size_t n;

	assert_non_null(out);
	assert_non_null(keys);
	argv[0] = "KEYS";
	argv[1] = "*";
	lens[0] = 4;
	lens[1] = 1;
	kc_sendv(c, 2, argv, lens);
	r = kc_read(c);
	assert_non_null(r);
	assert_int_equal(r->type, RESP_ARRAY);
	n = r->n;
	names = calloc(n + 1, sizeof *names);
	assert_non_null(names);
	for (size_t i = 0; i < n; i++)
		names[i] = strdup(r->elem[i]->str);
	resp_reply_free(r);
	qsort(names, n, sizeof *names, cmp_strp);
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		char type[64], val[65536], enc[64], ttl[64];
		enum cmp_mode m = CMP_EXACT;
		int argc = 2;

		argv[1] = names[i];
		argv[0] = "TYPE";
		ask(c, 2, argv, CMP_EXACT, type, sizeof type);
		if (!strcmp(type, "+string")) {
			argv[0] = "GET";
		} else if (!strcmp(type, "+list")) {
			argv[0] = "LRANGE"; argv[2] = "0"; argv[3] = "-1"; argc = 4;
		} else if (!strcmp(type, "+hash")) {
			argv[0] = "HGETALL"; m = CMP_PAIRS;
		} else if (!strcmp(type, "+set")) {
			argv[0] = "SMEMBERS"; m = CMP_SET;
		} else {
			argv[0] = "ZRANGE"; argv[2] = "0"; argv[3] = "-1"; argv[4] = "WITHSCORES";
			argc = 5;
		}
		ask(c, argc, argv, m, val, sizeof val);
		argv[0] = "OBJECT"; argv[1] = "ENCODING"; argv[2] = names[i];
		ask(c, 3, argv, CMP_EXACT, enc, sizeof enc);
		argv[0] = "EXPIRETIME"; argv[1] = names[i];
		ask(c, 2, argv, CMP_EXACT, ttl, sizeof ttl);
		while (at + strlen(val) + 512 > cap) {
			cap *= 2;
			out = realloc(out, cap);
			assert_non_null(out);
		}
		at += (size_t)snprintf(out + at, cap - at, "%s %s %s %s %s\n", names[i], type, val,
				       enc, ttl);
		free(names[i]);
	}
	free(names);
	free(keys);
	return out;
}

/* Replies must agree; on a difference show the command and both replies. */
static void compare(const char **v, int n, const char *a, const char *b, int step)
{
	char cmd[512];
	size_t at = 0;

	if (!strcmp(a, b))
		return;
	for (int i = 0; i < n && at < sizeof cmd - 64; i++)
		at += (size_t)snprintf(cmd + at, sizeof cmd - at, "%s'%s'", i ? " " : "", v[i]);
	fail_msg("step %d: %s\n  cowkv: %s\n  redis: %s", step, cmd, a, b);
}

static struct server *restart_at(struct server *s, int sig, const char *dir)
{
	int port = s->port;

	stop_server(s, sig);
	return start_cowkv_at(dir, port, NULL);
}

/* The SORT BY/GET weights, on both servers. */
static void sort_weights(struct kc *a, struct kc *b)
{
	/* Distinct weights for every member: SORT's ties have no defined order. */
	static const char *const w[][2] = {
		{ "w_a", "3" }, { "w_b", "1" }, { "w_c", "2" }, { "w_d", "4.5" }, { "w_e", "-7" },
		{ "w_f", "11" }, { "w_1", "9" }, { "w_2", "0" }, { "w_3", "-2.5" },
		{ "w_10", "-1" }, { "w_-5", "12" }, { "w_x y", "5" }, { "w_", "6" },
	};

	for (size_t i = 0; i < sizeof w / sizeof w[0]; i++) {
		EXPECT(a, "+OK", "SET", w[i][0], w[i][1]);
		EXPECT(b, "+OK", "SET", w[i][0], w[i][1]);
	}
}

#define ORACLE_STEPS 20000

static void test_types_oracle(void **state)
{
	struct gen g = { .nn = 0 };
	struct server *s, *rs;
	struct kc *a, *b;
	char *dir, *before, *after, *ref;
	static char ra[65536], rb[65536];
	const char *v[32];
	uint64_t seed = (uint64_t)time(NULL);

	(void)state;
	if (!have_program("redis-server"))
		skip();
	if (getenv("COWKV_SEED"))
		seed = strtoull(getenv("COWKV_SEED"), NULL, 10);
	print_message("seed %llu (COWKV_SEED=... to replay)\n", (unsigned long long)seed);
	t_rng_seed(&g.rng, seed);
	dir = new_tmpdir();
	s = start_cowkv(dir, "--save", "", NULL);
	rs = start_redis();
	a = kc_open(s->port);
	b = kc_open(rs->port);
	EXPECT(b, "+OK", "FLUSHALL");
	sort_weights(a, b);
	for (int step = 0; step < ORACLE_STEPS; step++) {
		enum cmp_mode m;
		int n = gen_command(&g, v, &m);

		ask(a, n, v, m, ra, sizeof ra);
		ask(b, n, v, m, rb, sizeof rb);
		if (getenv("COWKV_TRACE")) {
			for (int i = 0; i < n; i++)
				fprintf(stderr, "%s'%s'", i ? " " : "", v[i]);
			fprintf(stderr, "\n  -> %.200s\n", rb);
		}
		compare(v, n, ra, rb, step);
		/* Now and then the whole dataset, then growth past the small
		 * encodings' limits. */
		if (step % 4000 == 3999) {
			char *x = dump_all(a), *y = dump_all(b);

			assert_string_equal(x, y);
			free(x);
			free(y);
		}
	}
	/* Then collections past the listpack/intset limits (skiplist,
	 * hashtable): more adds, more members. */
	g.big = true;
	for (int step = 0; step < ORACLE_STEPS / 2; step++) {
		enum cmp_mode m;
		int n = gen_command(&g, v, &m);

		if (!strcmp(v[0], "SREM") || !strcmp(v[0], "ZREM") || !strcmp(v[0], "SPOP") ||
		    !strcmp(v[0], "DEL") || !strncmp(v[0], "ZREMRANGE", 9) || !strcmp(v[0], "ZMPOP") ||
		    !strncmp(v[0], "ZPOP", 4))
			continue;	/* let them grow */
		if (!strncmp(v[0], "SORT", 4)) {
			bool by = false;

			for (int i = 2; i < n; i++)
				by |= !strcmp(v[i], "BY");
			if (by)
				continue;	/* generated members have no weights: ties */
		}
		ask(a, n, v, m, ra, sizeof ra);
		ask(b, n, v, m, rb, sizeof rb);
		compare(v, n, ra, rb, ORACLE_STEPS + step);
	}
	before = dump_all(a);
	ref = dump_all(b);
	assert_string_equal(before, ref);
	EXPECT(a, "+OK", "SAVE");
	kc_close(a);
	s = restart_at(s, SIGKILL, dir);
	a = kc_open(s->port);
	after = dump_all(a);
	assert_string_equal(after, before);
	free(before);
	free(after);
	free(ref);
	kc_close(a);
	kc_close(b);
}

/* ---- a dataset of every type through BGSAVE and a kill ---------------------------- */

/* Send one command without waiting (pipelined); read with drain(). */
static void send_cmd(struct kc *c, int argc, const char **argv)
{
	size_t lens[16];

	for (int i = 0; i < argc; i++)
		lens[i] = strlen(argv[i]);
	kc_sendv(c, argc, argv, lens);
}

static void drain(struct kc *c, int n)
{
	for (int i = 0; i < n; i++) {
		struct resp_reply *r = kc_read(c);

		assert_non_null(r);
		if (r->type == RESP_ERR)
			fail_msg("error while filling: %s", r->str);
		resp_reply_free(r);
	}
}

/* Fill key prefix p: for each of n keys of each type, k elements; big
 * ones every 50th key (past the listpack/intset limits). */
static void fill_all_types(struct kc *c, const char *p, int n, struct t_rng *rng)
{
	char key[64], m[32], sc[32], val[96];
	int pending = 0;

	for (int i = 0; i < n; i++) {
		int k = i % 50 == 0 ? 700 : 1 + (int)t_rng_below(rng, 12);

		for (int j = 0; j < k; j++) {
			snprintf(m, sizeof m, "%s%d", j % 3 ? "m" : "", j);
			snprintf(sc, sizeof sc, "%.3f", (double)(int)t_rng_below(rng, 10000) / 7.0);
			snprintf(key, sizeof key, "%s:set:%d", p, i);
			send_cmd(c, 3, (const char *[]){ "SADD", key, m });
			snprintf(key, sizeof key, "%s:iset:%d", p, i);
			snprintf(val, sizeof val, "%d", j * 3 - 100);
			send_cmd(c, 3, (const char *[]){ "SADD", key, val });
			snprintf(key, sizeof key, "%s:zset:%d", p, i);
			send_cmd(c, 4, (const char *[]){ "ZADD", key, sc, m });
			snprintf(key, sizeof key, "%s:list:%d", p, i);
			send_cmd(c, 3, (const char *[]){ "RPUSH", key, m });
			snprintf(key, sizeof key, "%s:hash:%d", p, i);
			snprintf(val, sizeof val, "v%d-%s", j, sc);
			send_cmd(c, 4, (const char *[]){ "HSET", key, m, val });
			pending += 5;
		}
		snprintf(key, sizeof key, "%s:str:%d", p, i);
		snprintf(val, sizeof val, "%d", i);
		send_cmd(c, 3, (const char *[]){ "SET", key, val });
		send_cmd(c, 4, (const char *[]){ "SETBIT", key, "77", "1" });
		snprintf(key, sizeof key, "%s:float:%d", p, i);
		send_cmd(c, 3, (const char *[]){ "INCRBYFLOAT", key, "0.1" });
		send_cmd(c, 3, (const char *[]){ "EXPIREAT", key, "4102444800" });
		pending += 4;
		if (pending > 2000) {
			drain(c, pending);
			pending = 0;
		}
	}
	drain(c, pending);
}

static void test_types_bgsave_restart(void **state)
{
	char *dir = new_tmpdir();
	struct server *s = start_cowkv(dir, "--save", "", "--save-budget", "0", NULL);
	struct kc *c = kc_open(s->port);
	struct t_rng rng;
	char *before, *after;
	int64_t deadline;

	(void)state;
	t_rng_seed(&rng, 42);
	fill_all_types(c, "k", 300, &rng);
	before = dump_all(c);
	EXPECT(c, "+Background saving started", "BGSAVE");
	/* Changes of every type while the save runs: not in the checkpoint. */
	for (int i = 0; i < 300; i += 7) {
		char key[64];

		snprintf(key, sizeof key, "k:zset:%d", i);
		Q(c, "ZADD", key, "-1000", "late");
		snprintf(key, sizeof key, "k:set:%d", i);
		Q(c, "SPOP", key);
		snprintf(key, sizeof key, "k:list:%d", i);
		Q(c, "LSET", key, "0", "late");
		snprintf(key, sizeof key, "k:hash:%d", i);
		Q(c, "HINCRBYFLOAT", key, "late", "1.5");
		snprintf(key, sizeof key, "k:iset:%d", i);
		Q(c, "DEL", key);
	}
	deadline = now_ms() + IO_TIMEOUT_MS;
	while (info_field(c, "persistence", "rdb_bgsave_in_progress") == 1 && now_ms() < deadline)
		sleep_ms(10);
	assert_non_null(strstr(Q(c, "INFO", "persistence"), "rdb_last_bgsave_status:ok"));
	kc_close(c);
	s = restart_at(s, SIGKILL, dir);
	c = kc_open(s->port);
	after = dump_all(c);
	assert_string_equal(after, before);
	assert_non_null(strstr(after, "k:zset:0 +zset"));
	assert_non_null(strstr(after, "\"skiplist\""));
	assert_non_null(strstr(after, "\"intset\""));
	assert_non_null(strstr(after, "\"hashtable\""));
	assert_non_null(strstr(after, "\"listpack\""));
	free(before);
	free(after);
	/* ROLLBACK brings every type back as of the SNAPSHOT. */
	{
		char id[32];
		char *snap = dump_all(c), *back;

		snprintf(id, sizeof id, "%s", Q(c, "SNAPSHOT") + 1);
		assert_true(atoi(id) > 0);
		EXPECT(c, ":1", "ZADD", "k:zset:0", "5", "new");
		EXPECT(c, ":1", "SADD", "k:set:1", "new");
		EXPECT(c, ":1", "DEL", "k:list:2");
		EXPECT(c, "+OK", "ROLLBACK", id);
		back = dump_all(c);
		assert_string_equal(back, snap);
		free(snap);
		free(back);
	}
	kc_close(c);
}

/* ---- exact replies ------------------------------------------------------------------ */

static void test_types_replies(void **state)
{
	struct server *s = start_cowkv(NULL, NULL);
	struct kc *c = kc_open(s->port);

	(void)state;
	/* Scores as Redis 7.0 prints them (%.17g, inf). */
	EXPECT(c, ":3", "ZADD", "z", "1.1", "a", "inf", "b", "-0", "c");
	EXPECT(c, "\"1.1000000000000001\"", "ZSCORE", "z", "a");
	EXPECT(c, "\"inf\"", "ZSCORE", "z", "b");
	EXPECT(c, "[\"c\",\"0\",\"a\",\"1.1000000000000001\",\"b\",\"inf\"]",
	       "ZRANGE", "z", "0", "-1", "WITHSCORES");
	EXPECT(c, "-ERR resulting score is not a number (NaN)", "ZINCRBY", "z", "-inf", "b");
	EXPECT(c, "-ERR min or max is not a float", "ZCOUNT", "z", "(", "1");
	EXPECT(c, "-ERR min or max not valid string range item", "ZLEXCOUNT", "z", "a", "+");
	EXPECT(c, "\"listpack\"", "OBJECT", "ENCODING", "z");
	EXPECT(c, "-WRONGTYPE Operation against a key holding the wrong kind of value",
	       "SADD", "z", "x");
	EXPECT(c, "+zset", "TYPE", "z");
	/* Encodings follow Redis's limits and stick. */
	EXPECT(c, ":3", "SADD", "s", "1", "2", "3");
	EXPECT(c, "\"intset\"", "OBJECT", "ENCODING", "s");
	EXPECT(c, "[\"1\",\"2\",\"3\"]", "SMEMBERS", "s");
	EXPECT(c, ":1", "SADD", "s", "x");
	EXPECT(c, ":1", "SREM", "s", "x");
	EXPECT(c, "\"hashtable\"", "OBJECT", "ENCODING", "s");
	EXPECT(c, "+OK", "SET", "n", "123");
	EXPECT(c, "\"int\"", "OBJECT", "ENCODING", "n");
	EXPECT(c, ":4", "APPEND", "n", "4");
	EXPECT(c, "\"raw\"", "OBJECT", "ENCODING", "n");
	EXPECT(c, ":1", "RPUSH", "l", "a");
	EXPECT(c, "\"quicklist\"", "OBJECT", "ENCODING", "l");
	/* INCRBYFLOAT's text (long double, trailing zeros trimmed). */
	EXPECT(c, "+OK", "SET", "f", "10.5");
	EXPECT(c, "\"10.6\"", "INCRBYFLOAT", "f", "0.1");
	EXPECT(c, "\"5000\"", "INCRBYFLOAT", "f", "4989.4");
	EXPECT(c, "+OK", "SET", "f", "1.1e4932");
	EXPECT(c, "-ERR increment would produce NaN or Infinity", "INCRBYFLOAT", "f", "1.1e4932");
	/* Bits. */
	EXPECT(c, ":0", "SETBIT", "b", "7", "1");
	EXPECT(c, ":1", "GETBIT", "b", "7");
	EXPECT(c, ":7", "BITPOS", "b", "1");
	EXPECT(c, "[:1,:-128]", "BITFIELD", "b", "GET", "u8", "0", "INCRBY", "i8", "0", "127");
	EXPECT(c, "-ERR BITFIELD_RO only supports the GET subcommand",
	       "BITFIELD_RO", "b", "SET", "u8", "0", "1");
	/* LCS as Redis's example. */
	EXPECT(c, "+OK", "SET", "k1", "ohmytext");
	EXPECT(c, "+OK", "SET", "k2", "mynewtext");
	EXPECT(c, "\"mytext\"", "LCS", "k1", "k2");
	EXPECT(c, "[\"matches\",[[[:4,:7],[:5,:8]],[[:2,:3],[:0,:1]]],\"len\",:6]",
	       "LCS", "k1", "k2", "IDX");
	/* Lists. */
	EXPECT(c, ":4", "RPUSH", "p", "a", "b", "c", "a");
	EXPECT(c, "[:0,:3]", "LPOS", "p", "a", "COUNT", "0");
	EXPECT(c, "\"a\"", "LMOVE", "p", "p", "RIGHT", "LEFT");
	EXPECT(c, "[\"a\",\"a\",\"b\",\"c\"]", "LRANGE", "p", "0", "-1");
	EXPECT(c, "[\"p\",[\"c\",\"b\"]]", "LMPOP", "1", "p", "RIGHT", "COUNT", "2");
	/* SORT. */
	EXPECT(c, ":3", "RPUSH", "sl", "3", "10", "2");
	EXPECT(c, "[\"2\",\"3\",\"10\"]", "SORT", "sl");
	EXPECT(c, "[\"10\",\"2\",\"3\"]", "SORT", "sl", "ALPHA");
	EXPECT(c, "-ERR One or more scores can't be converted into double", "SORT", "p");
	/* COPY keeps the type and the expiry. */
	EXPECT(c, ":1", "EXPIREAT", "z", "4102444800");
	EXPECT(c, ":1", "COPY", "z", "z2");
	EXPECT(c, ":4102444800", "EXPIRETIME", "z2");
	EXPECT(c, ":4102444800000", "PEXPIRETIME", "z2");
	EXPECT(c, "[\"c\",\"a\",\"b\"]", "ZRANGE", "z2", "0", "-1");
	EXPECT(c, "-ERR DB index is out of range", "MOVE", "z", "16");
	EXPECT(c, ":1", "MOVE", "z", "1");	/* type and expiry go with it */
	EXPECT(c, "+OK", "SELECT", "1");
	EXPECT(c, ":4102444800", "EXPIRETIME", "z");
	EXPECT(c, "[\"c\",\"a\",\"b\"]", "ZRANGE", "z", "0", "-1");
	EXPECT(c, "+OK", "SELECT", "0");
	kc_close(c);
}

/* A key's MEMORY USAGE (default SAMPLES 5, and 0 = all). */
static long long mem_usage(struct kc *c, const char *key, const char *samples)
{
	const char *r = samples ? Q(c, "MEMORY", "USAGE", key, "SAMPLES", samples)
				: Q(c, "MEMORY", "USAGE", key);

	assert_int_equal(r[0], ':');
	return atoll(r + 1);
}

/*
 * MEMORY USAGE counts a set's and a sorted set's members (entries, dict
 * tables, skiplist nodes) as it counts a hash's fields: 20,000 members take
 * at least 48 bytes each, SAMPLES 0 and the default estimate agree within
 * 10%, and a set of one member is a few hundred bytes.
 */
static void test_types_memory_usage(void **state)
{
	struct server *s = start_cowkv(NULL, NULL);
	struct kc *c = kc_open(s->port);
	const char *keys[] = { "s", "z", "h" };

	(void)state;
	EXPECT(c, ":1", "EVAL", "for i = 1, 20000 do redis.call('SADD', 's', 'member:' .. i) "
	       "redis.call('ZADD', 'z', i, 'member:' .. i) "
	       "redis.call('HSET', 'h', 'member:' .. i, '') end return 1", "0");
	EXPECT(c, ":1", "SADD", "s1", "member:1");
	EXPECT(c, ":1", "ZADD", "z1", "1", "member:1");
	for (int i = 0; i < 3; i++) {
		long long all = mem_usage(c, keys[i], "0"), est = mem_usage(c, keys[i], NULL);

		assert_true(all >= 20000LL * 48);
		assert_true(est > all * 9 / 10 && est < all * 11 / 10);
	}
	assert_true(mem_usage(c, "z", "0") > mem_usage(c, "s", "0"));	/* + the nodes */
	assert_true(mem_usage(c, "s1", NULL) < 1024);
	assert_true(mem_usage(c, "z1", NULL) < 1024);
	assert_true(mem_usage(c, "z1", NULL) > mem_usage(c, "s1", NULL));
	kc_close(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_types_replies, teardown),
		cmocka_unit_test_teardown(test_types_memory_usage, teardown),
		cmocka_unit_test_teardown(test_types_oracle, teardown),
		cmocka_unit_test_teardown(test_types_bgsave_restart, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	atexit(kill_all);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
