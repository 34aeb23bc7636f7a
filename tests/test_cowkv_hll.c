/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_cowkv_hll.c — cowkv's HyperLogLog (cowkv/t_hll.c) against Debian's
 * redis-server 7.0.15, reply for reply and byte for byte: PFADD/PFCOUNT
 * estimates over many elements, the sparse and dense strings GET returns,
 * the sparse -> dense promotion under several hll-sparse-max-bytes, PFMERGE
 * and multi-key PFCOUNT, values carried between the servers by GET/SET and
 * DUMP/RESTORE, corrupt values (SETRANGE into the header and registers:
 * same errors, no crash), WRONGTYPE, PFDEBUG, PFSELFTEST, keyspace events
 * and WATCH.
 */
#include "kvharness.h"

/* A fixed sequence of pseudo-random numbers (xorshift64*), the same every run. */
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dull;
}

/* Send argv/lens to a and b; fail unless the replies are the same bytes.
 * The rendered reply of a. */
static const char *both_n(struct pair *p, int argc, const char **argv, const size_t *lens)
{
	struct resp_reply *ra, *rb;
	char *out = ring[ring_at++ % RING];

	kc_sendv(p->a, argc, argv, lens);
	kc_sendv(p->b, argc, argv, lens);
	ra = kc_read(p->a);
	rb = kc_read(p->b);
	render(ra, out, sizeof ring[0]);
	if (p->a->rawlen != p->b->rawlen || memcmp(p->a->raw, p->b->raw, p->a->rawlen) != 0) {
		char rr[8192];

		render(rb, rr, sizeof rr);
		fail_msg("%s %s: cowkv %s, redis %s", argv[0], argc > 1 ? argv[1] : "", out, rr);
	}
	resp_reply_free(ra);
	resp_reply_free(rb);
	return out;
}

/* The bytes of string key on c (malloc'd, *n set); NULL for no key. */
static char *get_bytes(struct kc *c, const char *key, size_t *n)
{
	const char *argv[] = { "GET", key };
	size_t lens[] = { 3, strlen(key) };
	struct resp_reply *r;
	char *v = NULL;

	kc_sendv(c, 2, argv, lens);
	r = kc_read(c);
	assert_non_null(r);
	if (r->type == RESP_BULK) {
		v = malloc(r->len + 1);
		assert_non_null(v);
		memcpy(v, r->str, r->len);
		*n = r->len;
	}
	resp_reply_free(r);
	return v;
}

/* SET key to v/n on c (binary-safe). */
static void set_bytes(struct kc *c, const char *key, const char *v, size_t n)
{
	const char *argv[] = { "SET", key, v };
	size_t lens[] = { 3, strlen(key), n };
	struct resp_reply *r;

	kc_sendv(c, 3, argv, lens);
	r = kc_read(c);
	assert_non_null(r);
	assert_int_equal(r->type, RESP_STATUS);
	resp_reply_free(r);
}

/* GET key on both servers: the same bytes (the string representation). */
static void same_value(struct pair *p, const char *key)
{
	BOTH(p->a, p->b, "GET", key);
}

/* PFADD key with n elements "<tag>:<i>" (i from first on), on both. */
static const char *pfadd_n(struct pair *p, const char *key, const char *tag, long first, int n)
{
	static char bufs[128][32];
	const char *argv[130];
	size_t lens[130];

	assert_true(n <= 128);
	argv[0] = "PFADD";
	argv[1] = key;
	lens[0] = 5;
	lens[1] = strlen(key);
	for (int i = 0; i < n; i++) {
		lens[i + 2] = (size_t)snprintf(bufs[i], sizeof bufs[i], "%s:%ld", tag, first + i);
		argv[i + 2] = bufs[i];
	}
	return both_n(p, n + 2, argv, lens);
}

/* Many elements into one HLL, in batches: every PFADD, PFCOUNT and GET the
 * same on both servers, from sparse to dense; the estimate close to the
 * truth. */
static void test_estimates(void **state)
{
	struct pair p;
	long added = 0;

	(void)state;
	if (!open_pair(&p))
		skip();
	assert_string_equal(BOTH(p.a, p.b, "PFADD", "hll"), ":1");
	assert_string_equal(BOTH(p.a, p.b, "PFCOUNT", "hll"), ":0");
	same_value(&p, "hll");
	BOTH(p.a, p.b, "PFADD", "hll", "a", "b", "c");
	assert_string_equal(BOTH(p.a, p.b, "PFADD", "hll", "a", "b", "c"), ":0");
	BOTH(p.a, p.b, "PFADD", "hll", "");
	same_value(&p, "hll");
	BOTH(p.a, p.b, "DEL", "hll");
	while (added < 60000) {
		int n = added < 2000 ? 7 : 128;
		long long card;

		pfadd_n(&p, "hll", "e", added, n);
		added += n;
		card = strtoll(BOTH(p.a, p.b, "PFCOUNT", "hll") + 1, NULL, 10);
		assert_true(llabs(card - added) <= added / 20 + 2);
		BOTH(p.a, p.b, "PFDEBUG", "ENCODING", "hll");
		if (added < 4000 || added % 4096 < 128)
			same_value(&p, "hll");
	}
	assert_string_equal(BOTH(p.a, p.b, "PFDEBUG", "ENCODING", "hll"), "+dense");
	same_value(&p, "hll");
	BOTH(p.a, p.b, "OBJECT", "ENCODING", "hll");
	BOTH(p.a, p.b, "STRLEN", "hll");
	close_pair(&p);
}

/* The promotion follows hll-sparse-max-bytes: the same bytes at every step
 * under small, default and large limits, and when the limit changes. */
static void test_sparse_max_bytes(void **state)
{
	static const char *const limits[] = { "0", "40", "300", "3000", "12000" };
	struct pair p;

	(void)state;
	if (!open_pair(&p))
		skip();
	for (size_t l = 0; l < sizeof limits / sizeof limits[0]; l++) {
		BOTH(p.a, p.b, "CONFIG", "SET", "hll-sparse-max-bytes", limits[l]);
		BOTH(p.a, p.b, "CONFIG", "GET", "hll-sparse-max-bytes");
		BOTH(p.a, p.b, "DEL", "s");
		for (long i = 0; i < 5000; i += 25) {
			pfadd_n(&p, "s", limits[l], i, 25);
			BOTH(p.a, p.b, "PFDEBUG", "ENCODING", "s");
			BOTH(p.a, p.b, "STRLEN", "s");
			if (i % 250 == 0) {
				same_value(&p, "s");
				BOTH(p.a, p.b, "PFCOUNT", "s");
			}
		}
		same_value(&p, "s");
	}
	BOTH(p.a, p.b, "CONFIG", "SET", "hll-sparse-max-bytes", "3000");
	close_pair(&p);
}

/* PFMERGE and PFCOUNT of several keys: sparse with sparse, with dense,
 * missing sources, the destination among the sources, its TTL kept. */
static void test_merge(void **state)
{
	struct pair p;
	const char *reg;

	(void)state;
	if (!open_pair(&p))
		skip();
	BOTH(p.a, p.b, "PFADD", "h1", "a", "b", "c");
	BOTH(p.a, p.b, "PFADD", "h2", "b", "c", "d");
	BOTH(p.a, p.b, "PFADD", "h3", "c", "d", "e");
	assert_string_equal(BOTH(p.a, p.b, "PFMERGE", "u", "h1", "h2", "h3"), "+OK");
	assert_string_equal(BOTH(p.a, p.b, "PFCOUNT", "u"), ":5");
	same_value(&p, "u");
	BOTH(p.a, p.b, "PFCOUNT", "h1", "h2", "h3", "nosuch");
	for (long i = 0; i < 3000; i += 100)
		pfadd_n(&p, "big", "x", i, 100);
	BOTH(p.a, p.b, "PFDEBUG", "TODENSE", "h3");
	BOTH(p.a, p.b, "PFCOUNT", "h1", "big", "h3");
	BOTH(p.a, p.b, "PFMERGE", "v", "h1", "h2");
	same_value(&p, "v");
	BOTH(p.a, p.b, "PFMERGE", "v", "big");
	same_value(&p, "v");
	BOTH(p.a, p.b, "PFMERGE", "w", "h3");	/* a dense source: a dense result */
	same_value(&p, "w");
	BOTH(p.a, p.b, "PFMERGE", "empty");
	BOTH(p.a, p.b, "PFMERGE", "empty2", "nosuch1", "nosuch2");
	same_value(&p, "empty");
	same_value(&p, "empty2");
	BOTH(p.a, p.b, "SET", "t", "x");
	BOTH(p.a, p.b, "DEL", "t");
	BOTH(p.a, p.b, "PFADD", "t", "q");
	BOTH(p.a, p.b, "EXPIRE", "t", "1000");
	BOTH(p.a, p.b, "PFMERGE", "t", "h1", "big");
	BOTH(p.a, p.b, "TTL", "t");
	same_value(&p, "t");
	BOTH(p.a, p.b, "PFADD", "t", "more");
	BOTH(p.a, p.b, "TTL", "t");
	reg = BOTH(p.a, p.b, "PFCOUNT", "t", "t");
	assert_string_equal(reg, BOTH(p.a, p.b, "PFCOUNT", "t"));
	close_pair(&p);
}

/* Copy key's bytes from one server to the other (GET, SET). */
static void copy_value(struct kc *from, struct kc *to, const char *key)
{
	size_t n;
	char *v = get_bytes(from, key, &n);

	assert_non_null(v);
	set_bytes(to, key, v, n);
	free(v);
}

/* DUMP key on from, RESTORE it as dst on to (REPLACE). */
static void dump_restore(struct kc *from, struct kc *to, const char *key, const char *dst)
{
	const char *dargv[] = { "DUMP", key };
	size_t dlens[] = { 4, strlen(key) };
	const char *rargv[5];
	size_t rlens[5];
	struct resp_reply *d, *r;

	kc_sendv(from, 2, dargv, dlens);
	d = kc_read(from);
	assert_non_null(d);
	assert_int_equal(d->type, RESP_BULK);
	rargv[0] = "RESTORE";
	rargv[1] = dst;
	rargv[2] = "0";
	rargv[3] = d->str;
	rargv[4] = "REPLACE";
	rlens[0] = 7;
	rlens[1] = strlen(dst);
	rlens[2] = 1;
	rlens[3] = d->len;
	rlens[4] = 7;
	kc_sendv(to, 5, rargv, rlens);
	r = kc_read(to);
	assert_non_null(r);
	if (r->type != RESP_STATUS)
		fail_msg("RESTORE of %s: %s", key, r->str);
	resp_reply_free(r);
	resp_reply_free(d);
}

/* An HLL made by one server works in the other: GET/SET and DUMP/RESTORE
 * both ways, sparse and dense, then more PFADDs and merges agree. */
static void test_between_servers(void **state)
{
	struct pair p;

	(void)state;
	if (!open_pair(&p))
		skip();
	/* made by redis-server, used by both */
	for (long i = 0; i < 300; i += 100) {
		const char *argv[102];
		size_t lens[102];
		char bufs[100][24];

		argv[0] = "PFADD";
		argv[1] = "r";
		lens[0] = 5;
		lens[1] = 1;
		for (int j = 0; j < 100; j++) {
			lens[j + 2] = (size_t)snprintf(bufs[j], sizeof bufs[j], "r%ld", i + j);
			argv[j + 2] = bufs[j];
		}
		kc_sendv(p.b, 102, argv, lens);
		resp_reply_free(kc_read(p.b));
	}
	copy_value(p.b, p.a, "r");
	same_value(&p, "r");
	BOTH(p.a, p.b, "PFCOUNT", "r");
	pfadd_n(&p, "r", "more", 0, 50);
	same_value(&p, "r");
	/* dense, made by cowkv */
	for (long i = 0; i < 20000; i += 128)
		pfadd_n(&p, "d", "k", i, 128);
	BOTH(p.a, p.b, "DEL", "d");
	for (long i = 0; i < 20000; i += 128) {
		const char *argv[130];
		size_t lens[130];
		char bufs[128][24];

		argv[0] = "PFADD";
		argv[1] = "d";
		lens[0] = 5;
		lens[1] = 1;
		for (int j = 0; j < 128; j++) {
			lens[j + 2] = (size_t)snprintf(bufs[j], sizeof bufs[j], "c%ld", i + j);
			argv[j + 2] = bufs[j];
		}
		kc_sendv(p.a, 130, argv, lens);
		resp_reply_free(kc_read(p.a));
	}
	copy_value(p.a, p.b, "d");
	same_value(&p, "d");
	BOTH(p.a, p.b, "PFCOUNT", "d");
	/* DUMP/RESTORE both ways, sparse and dense */
	dump_restore(p.b, p.a, "r", "r2");
	dump_restore(p.a, p.b, "r", "r2");
	same_value(&p, "r2");
	dump_restore(p.a, p.b, "d", "d2");
	dump_restore(p.b, p.a, "d", "d2");
	same_value(&p, "d2");
	BOTH(p.a, p.b, "PFCOUNT", "d2", "r2");
	BOTH(p.a, p.b, "PFMERGE", "m", "d2", "r2");
	same_value(&p, "m");
	pfadd_n(&p, "d2", "after", 0, 100);
	same_value(&p, "d2");
	close_pair(&p);
}

/* SETRANGE key off to byte b (binary) on both. */
static void setrange_byte(struct pair *p, const char *key, long off, uint8_t b, int n)
{
	char offs[24], val[2] = { (char)b, (char)b };
	const char *argv[] = { "SETRANGE", key, offs, val };
	size_t lens[] = { 8, strlen(key), 0, (size_t)n };

	lens[2] = (size_t)snprintf(offs, sizeof offs, "%ld", off);
	both_n(p, 4, argv, lens);
}

/* Give key the same fresh string on both servers again, from redis-server's
 * bytes (so a byte past a value's end that Redis keeps in memory is NUL on
 * both: see docs/COWKV.md). */
static void refresh(struct pair *p, const char *key)
{
	size_t n;
	char *v = get_bytes(p->b, key, &n);

	if (!v)
		return;
	set_bytes(p->a, key, v, n);
	set_bytes(p->b, key, v, n);
	free(v);
}

/* Every command on corrupt key c: the same replies and bytes after. */
static void exercise_corrupt(struct pair *p)
{
	BOTH(p->a, p->b, "PFCOUNT", "c");
	same_value(p, "c");
	BOTH(p->a, p->b, "PFCOUNT", "c", "ok");
	BOTH(p->a, p->b, "PFMERGE", "dst", "c");
	same_value(p, "dst");
	BOTH(p->a, p->b, "PFDEBUG", "DECODE", "c");
	BOTH(p->a, p->b, "PFDEBUG", "ENCODING", "c");
	pfadd_n(p, "c", "z", (long)(rnd() % 100000), 1 + (int)(rnd() % 60));
	same_value(p, "c");
	refresh(p, "c");
	BOTH(p->a, p->b, "PFDEBUG", "TODENSE", "c");
	same_value(p, "c");
	refresh(p, "c");
	BOTH(p->a, p->b, "PFCOUNT", "c");
}

/* Corrupt HLLs: the header and the registers overwritten, a tail added;
 * both servers reply the same (INVALIDOBJ, WRONGTYPE, or an answer), keep
 * the same bytes, and cowkv keeps running. */
static void test_corrupt(void **state)
{
	struct pair p;

	(void)state;
	if (!open_pair(&p))
		skip();
	BOTH(p.a, p.b, "PFADD", "ok", "x", "y");
	/* Redis's own cases */
	BOTH(p.a, p.b, "PFADD", "c", "a", "b", "c");
	BOTH(p.a, p.b, "APPEND", "c", "hello");
	assert_string_equal(BOTH(p.a, p.b, "PFCOUNT", "c"),
			    "-INVALIDOBJ Corrupted HLL object detected");
	BOTH(p.a, p.b, "DEL", "c");
	BOTH(p.a, p.b, "PFADD", "c", "a", "b", "c");
	BOTH(p.a, p.b, "SETRANGE", "c", "0", "0123");
	assert_string_equal(BOTH(p.a, p.b, "PFCOUNT", "c"),
			    "-WRONGTYPE Key is not a valid HyperLogLog string value.");
	BOTH(p.a, p.b, "DEL", "c");
	BOTH(p.a, p.b, "PFADD", "c", "a", "b", "c");
	BOTH(p.a, p.b, "SETRANGE", "c", "4", "x");
	BOTH(p.a, p.b, "PFCOUNT", "c");
	BOTH(p.a, p.b, "PFADD", "c", "z");
	BOTH(p.a, p.b, "DEL", "c");
	BOTH(p.a, p.b, "PFADD", "c", "a", "b", "c");
	setrange_byte(&p, "c", 4, 0, 1);	/* dense with a sparse length */
	BOTH(p.a, p.b, "PFCOUNT", "c");
	BOTH(p.a, p.b, "PFMERGE", "c", "ok");
	BOTH(p.a, p.b, "PFDEBUG", "GETREG", "c");
	BOTH(p.a, p.b, "SET", "c", "HYLL");
	BOTH(p.a, p.b, "PFCOUNT", "c");
	setrange_byte(&p, "c", 4, 1, 1);
	setrange_byte(&p, "c", 15, 0, 1);
	exercise_corrupt(&p);	/* sparse without any opcode */
	/* random damage to sparse and dense values */
	for (int round = 0; round < 400; round++) {
		int n = (int)(rnd() % 4 == 0 ? 1500 : rnd() % 300);

		BOTH(p.a, p.b, "DEL", "c");
		BOTH(p.a, p.b, "PFADD", "c");
		for (int i = 0; i < n; i += 100)
			pfadd_n(&p, "c", "r", round * 10000L + i, n - i < 100 ? n - i : 100);
		if (rnd() % 4 == 0)
			BOTH(p.a, p.b, "PFDEBUG", "TODENSE", "c");
		for (int k = 0; k < 1 + (int)(rnd() % 4); k++) {
			long len = strtol(BOTH(p.a, p.b, "STRLEN", "c") + 1, NULL, 10);

			setrange_byte(&p, "c", (long)(rnd() % (uint64_t)(len + 2)),
				      (uint8_t)rnd(), 1 + (int)(rnd() % 2));
		}
		exercise_corrupt(&p);
	}
	EXPECT(p.a, "+PONG", "PING");
	close_pair(&p);
}

/* Other types and plain strings: WRONGTYPE with Redis's two texts; the
 * other errors of the commands. */
static void test_errors(void **state)
{
	struct pair p;

	(void)state;
	if (!open_pair(&p))
		skip();
	BOTH(p.a, p.b, "SET", "str", "bar");
	BOTH(p.a, p.b, "LPUSH", "list", "x");
	assert_string_equal(BOTH(p.a, p.b, "PFADD", "str", "1"),
			    "-WRONGTYPE Key is not a valid HyperLogLog string value.");
	assert_string_equal(BOTH(p.a, p.b, "PFADD", "list", "1"),
			    "-WRONGTYPE Operation against a key holding the wrong kind of value");
	BOTH(p.a, p.b, "PFCOUNT", "str");
	BOTH(p.a, p.b, "PFCOUNT", "list");
	BOTH(p.a, p.b, "PFCOUNT", "nosuch", "str");
	BOTH(p.a, p.b, "PFMERGE", "dst", "str");
	BOTH(p.a, p.b, "PFMERGE", "str", "nosuch");
	BOTH(p.a, p.b, "PFMERGE", "list");
	BOTH(p.a, p.b, "EXISTS", "dst");
	BOTH(p.a, p.b, "SET", "num", "12345678901234567890");
	BOTH(p.a, p.b, "PFADD", "num", "a");
	BOTH(p.a, p.b, "SET", "num", "1234");
	BOTH(p.a, p.b, "PFCOUNT", "num");
	BOTH(p.a, p.b, "PFADD");
	BOTH(p.a, p.b, "PFCOUNT");
	BOTH(p.a, p.b, "PFMERGE");
	BOTH(p.a, p.b, "PFDEBUG", "ENCODING");
	BOTH(p.a, p.b, "PFDEBUG", "ENCODING", "a", "b");
	BOTH(p.a, p.b, "PFDEBUG", "ENCODING", "nosuch");
	BOTH(p.a, p.b, "PFDEBUG", "NOSUCH", "nosuch");
	BOTH(p.a, p.b, "PFADD", "h", "a");
	BOTH(p.a, p.b, "PFDEBUG", "NOSUCH", "h");
	BOTH(p.a, p.b, "PFDEBUG", "decode", "h");
	BOTH(p.a, p.b, "PFDEBUG", "todense", "h");
	BOTH(p.a, p.b, "PFDEBUG", "todense", "h");
	BOTH(p.a, p.b, "PFDEBUG", "DECODE", "h");
	BOTH(p.a, p.b, "PFDEBUG", "ENCODING", "str");
	BOTH(p.a, p.b, "PFDEBUG", "GETREG", "list");
	BOTH(p.a, p.b, "PFSELFTEST", "x");
	assert_string_equal(BOTH(p.a, p.b, "PFSELFTEST"), "+OK");
	BOTH(p.a, p.b, "TYPE", "h");
	BOTH(p.a, p.b, "OBJECT", "ENCODING", "h");
	close_pair(&p);
}

/* PFDEBUG GETREG: every register the same (the reply is longer than the
 * harness keeps raw, so compared element by element). */
static void test_getreg(void **state)
{
	const char *argv[] = { "PFDEBUG", "GETREG", "g" };
	size_t lens[] = { 7, 6, 1 };
	struct resp_reply *ra, *rb;
	struct pair p;

	(void)state;
	if (!open_pair(&p))
		skip();
	for (long i = 0; i < 1000; i += 100)
		pfadd_n(&p, "g", "g", i, 100);
	BOTH(p.a, p.b, "PFDEBUG", "ENCODING", "g");
	kc_sendv(p.a, 3, argv, lens);
	kc_sendv(p.b, 3, argv, lens);
	ra = kc_read(p.a);
	rb = kc_read(p.b);
	assert_non_null(ra);
	assert_non_null(rb);
	assert_int_equal(ra->type, RESP_ARRAY);
	assert_int_equal(rb->type, RESP_ARRAY);
	assert_int_equal(ra->n, 16384);
	assert_int_equal(rb->n, 16384);
	for (size_t i = 0; i < ra->n; i++)
		assert_int_equal(ra->elem[i]->integer, rb->elem[i]->integer);
	resp_reply_free(ra);
	resp_reply_free(rb);
	assert_string_equal(BOTH(p.a, p.b, "PFDEBUG", "ENCODING", "g"), "+dense");
	same_value(&p, "g");
	close_pair(&p);
}

/* The HLL commands with every keyspace event on: what a subscriber gets. */
static void notify_scenario(int port, char *out, size_t len)
{
	struct kc *s = kc_open(port), *c = kc_open(port);
	char part[8192];

	Q(c, "CONFIG", "SET", "notify-keyspace-events", "KEA");
	SEND(s, "PSUBSCRIBE", "__key*__:*");
	kc_drain(s, 50, part, sizeof part);
	Q(c, "PFADD", "h", "a");
	Q(c, "PFADD", "h", "a");	/* nothing changed: no event */
	Q(c, "PFADD", "h", "b", "c");
	Q(c, "PFCOUNT", "h");
	Q(c, "PFCOUNT", "h", "nosuch");
	Q(c, "PFMERGE", "m", "h", "nosuch");
	Q(c, "PFMERGE", "m");
	Q(c, "PFDEBUG", "TODENSE", "m");
	Q(c, "PFADD", "new");
	Q(c, "SET", "s", "x");
	Q(c, "PFADD", "s", "x");
	kc_drain(s, 100, out, len);
	Q(c, "CONFIG", "SET", "notify-keyspace-events", "");
	kc_close(s);
	kc_close(c);
}

static void test_notifications(void **state)
{
	static char a[16384], b[16384];
	struct pair p;

	(void)state;
	if (!open_pair(&p))
		skip();
	BOTH(p.a, p.b, "PFADD", "x");
	notify_scenario(p.k->port, a, sizeof a);
	notify_scenario(p.r->port, b, sizeof b);
	assert_string_equal(a, b);
	assert_non_null(strstr(a, "__keyevent@0__:pfadd"));
	close_pair(&p);
}

/* WATCH: PFCOUNT that caches a new estimate breaks a WATCH of its key (it
 * wrote the value); one that reads the cache does not; PFMERGE breaks the
 * destination's, not the sources'. */
static void test_watch(void **state)
{
	static const char *const steps[][4] = {
		{ "PFCOUNT", "w", NULL },		/* cache stale: written */
		{ "PFCOUNT", "w", NULL },		/* cache valid: read only */
		{ "PFMERGE", "dst", "w", NULL },	/* w is a source */
		{ "PFMERGE", "w", "dst", NULL },	/* w is the destination */
		{ "PFADD", "w", "a", NULL },		/* no register changed */
		{ "PFDEBUG", "TODENSE", "w", NULL },
	};
	struct pair p;

	(void)state;
	if (!open_pair(&p))
		skip();
	BOTH(p.a, p.b, "PFADD", "w", "a", "b");
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		struct kc *oa = kc_open(p.k->port), *ob = kc_open(p.r->port);

		BOTH(p.a, p.b, "WATCH", "w");
		BOTH(oa, ob, steps[i][0], steps[i][1], steps[i][2], steps[i][3]);
		BOTH(p.a, p.b, "MULTI");
		BOTH(p.a, p.b, "PING");
		BOTH(p.a, p.b, "EXEC");
		kc_close(oa);
		kc_close(ob);
	}
	close_pair(&p);
}

/* HLL values survive SAVE and a crash, BGSAVE and a restart: the same
 * bytes as redis-server's after, and they keep working. */
static void test_persistence(void **state)
{
	struct pair p;
	struct server *k2;
	char *dir;
	int port;

	(void)state;
	if (!have_program("redis-server"))
		skip();
	dir = new_tmpdir();
	p.k = start_cowkv(dir, "--save", "", NULL);
	p.r = start_redis();
	p.a = kc_open(p.k->port);
	p.b = kc_open(p.r->port);
	BOTH(p.a, p.b, "FLUSHALL");
	pfadd_n(&p, "sparse", "s", 0, 50);
	for (long i = 0; i < 6000; i += 128)
		pfadd_n(&p, "dense", "d", i, 128);
	BOTH(p.a, p.b, "PFCOUNT", "dense");
	EXPECT(p.a, "+OK", "SAVE");
	kc_close(p.a);
	port = p.k->port;
	stop_server(p.k, SIGKILL);
	k2 = start_cowkv_at(dir, port, NULL);
	p.k = k2;
	p.a = kc_open(k2->port);
	same_value(&p, "sparse");
	same_value(&p, "dense");
	pfadd_n(&p, "sparse", "t", 0, 50);
	BOTH(p.a, p.b, "PFCOUNT", "sparse", "dense");
	EXPECT(p.a, "+Background saving started", "BGSAVE");
	while (info_field(p.a, "persistence", "rdb_bgsave_in_progress") != 0)
		sleep_ms(10);
	kc_close(p.a);
	stop_server(p.k, SIGTERM);
	p.k = start_cowkv_at(dir, port, NULL);
	p.a = kc_open(p.k->port);
	same_value(&p, "sparse");
	BOTH(p.a, p.b, "PFCOUNT", "sparse");
	same_value(&p, "sparse");
	close_pair(&p);
}

/* How long PFCOUNT and GET wait under CLIENT PAUSE 400 WRITE: at least
 * 300 ms (held) or not, for each, as a two-letter verdict ("HF": PFCOUNT
 * held, GET free). */
static void pause_verdict(int port, char *out)
{
	struct kc *ctl = kc_open(port), *c = kc_open(port);
	int64_t t0;

	EXPECT(ctl, "+OK", "CLIENT", "PAUSE", "400", "WRITE");
	t0 = now_ms();
	Q(c, "GET", "p");
	out[1] = now_ms() - t0 >= 300 ? 'H' : 'F';
	t0 = now_ms();
	Q(c, "PFCOUNT", "p");
	out[0] = now_ms() - t0 >= 300 ? 'H' : 'F';
	out[2] = '\0';
	kc_close(ctl);
	kc_close(c);
}

/* PFCOUNT may write (its cache): read-only scripts refuse it and CLIENT
 * PAUSE WRITE holds it, as in Redis. */
static void test_pfcount_may_write(void **state)
{
	struct pair p;
	char a[3], b[3];

	(void)state;
	if (!open_pair(&p))
		skip();
	BOTH(p.a, p.b, "PFADD", "p", "a", "b");
	BOTH(p.a, p.b, "EVAL_RO", "return redis.call('pfcount', KEYS[1])", "1", "p");
	BOTH(p.a, p.b, "EVAL", "return redis.call('pfcount', KEYS[1])", "1", "p");
	BOTH(p.a, p.b, "EVAL_RO", "return redis.call('pfadd', KEYS[1], 'x')", "1", "p");
	BOTH(p.a, p.b, "EVAL", "return redis.call('pfmerge', KEYS[1], KEYS[2])", "2", "q", "p");
	same_value(&p, "q");
	pause_verdict(p.k->port, a);
	pause_verdict(p.r->port, b);
	assert_string_equal(a, b);
	assert_string_equal(a, "HF");
	close_pair(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_estimates, teardown),
		cmocka_unit_test_teardown(test_sparse_max_bytes, teardown),
		cmocka_unit_test_teardown(test_merge, teardown),
		cmocka_unit_test_teardown(test_between_servers, teardown),
		cmocka_unit_test_teardown(test_corrupt, teardown),
		cmocka_unit_test_teardown(test_errors, teardown),
		cmocka_unit_test_teardown(test_getreg, teardown),
		cmocka_unit_test_teardown(test_notifications, teardown),
		cmocka_unit_test_teardown(test_watch, teardown),
		cmocka_unit_test_teardown(test_pfcount_may_write, teardown),
		cmocka_unit_test_teardown(test_persistence, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	atexit(kill_all);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
