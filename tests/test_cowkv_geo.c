/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_cowkv_geo.c — cowkv's geo commands against Debian's redis-server
 * 7.0, every reply compared byte for byte: GEOADD (NX/XX/CH) and the
 * scores it makes (ZRANGE WITHSCORES), GEOPOS/GEODIST/GEOHASH, random
 * searches (GEOSEARCH, GEORADIUS, GEORADIUSBYMEMBER and their _RO forms,
 * every option, in random order) over random points crowded near the
 * poles' limits (±85.05112878), on the antimeridian and in clusters a
 * few metres wide searched with tiny radii; STORE/STOREDIST and
 * GEOSEARCHSTORE results (ZRANGE WITHSCORES, TTL, TYPE of the
 * destination), errors, scores no GEOADD made, RESP3, keyspace events,
 * WATCH, and the STORE keys as keys (ACL key patterns, COMMAND GETKEYS).
 *
 * The random runs print their seed; COWKV_GEO_SEED=N repeats one.
 */
#include "kvharness.h"

/* ---- random numbers --------------------------------------------------------- */

static uint64_t rng;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Uniform in [lo, hi). */
static double urand(double lo, double hi)
{
	return lo + (hi - lo) * (double)(rnd() >> 11) * 0x1.0p-53;
}

static bool chance(int percent)
{
	return (int)(rnd() % 100) < percent;
}

static void seed_rng(void)
{
	const char *s = getenv("COWKV_GEO_SEED");

	rng = s ? strtoull(s, NULL, 10) : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
	if (!rng)
		rng = 1;
	print_message("geo seed %llu (COWKV_GEO_SEED repeats it)\n", (unsigned long long)rng);
}

/* ---- commands built at run time ---------------------------------------------- */

#define MAXARGS 256

struct cmd {
	int argc;
	const char *argv[MAXARGS];
	char text[MAXARGS][48];         /* storage for formatted arguments */
};

static void arg(struct cmd *c, const char *s)
{
	assert_true(c->argc < MAXARGS);
	c->argv[c->argc++] = s;
}

/* Append a formatted argument. */
static void argf(struct cmd *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void argf(struct cmd *c, const char *fmt, ...)
{
	va_list ap;

	assert_true(c->argc < MAXARGS);
	va_start(ap, fmt);
	vsnprintf(c->text[c->argc], sizeof c->text[0], fmt, ap);
	va_end(ap);
	c->argv[c->argc] = c->text[c->argc];
	c->argc++;
}

/* The command line, for failure messages. */
static void cmd_line(const struct cmd *c, char *out, size_t len)
{
	size_t n = 0;

	out[0] = '\0';
	for (int i = 0; i < c->argc && n < len; i++)
		n += (size_t)snprintf(out + n, len - n, "%s ", c->argv[i]);
}

/* Send c to both servers; fail unless the replies are the same bytes.
 * Returns cowkv's reply rendered. */
static const char *both_cmd(struct pair *p, const struct cmd *c)
{
	size_t lens[MAXARGS];
	struct resp_reply *ra, *rb;
	char *out = ring[ring_at++ % RING];

	for (int i = 0; i < c->argc; i++)
		lens[i] = strlen(c->argv[i]);
	kc_sendv(p->a, c->argc, (const char **)c->argv, lens);
	kc_sendv(p->b, c->argc, (const char **)c->argv, lens);
	ra = kc_read(p->a);
	rb = kc_read(p->b);
	render(ra, out, sizeof ring[0]);
	if (p->a->rawlen != p->b->rawlen || memcmp(p->a->raw, p->b->raw, p->a->rawlen) != 0) {
		static char line[4096], rr[8192];

		if (!ra)
			print_log(p->k);	/* cowkv went away: why */
		cmd_line(c, line, sizeof line);
		render(rb, rr, sizeof rr);
		fail_msg("%s\ncowkv: %s\nredis: %s", line, out, rr);
	}
	resp_reply_free(ra);
	resp_reply_free(rb);
	return out;
}

/* The raw bytes of the reply to c (RESP3 too, which the test's parser
 * does not read): c is followed by an ECHO of a marker, and what comes
 * before the marker's reply is returned (malloc'd). */
static char *raw_reply(struct kc *k, const struct cmd *c)
{
	static const char marker[] = "$14\r\n--end-marker--\r\n";
	const char *echo[] = { "ECHO", "--end-marker--" };
	size_t lens[MAXARGS], elens[] = { 4, 14 };
	int64_t deadline = now_ms() + IO_TIMEOUT_MS;
	char *end, *out;

	for (int i = 0; i < c->argc; i++)
		lens[i] = strlen(c->argv[i]);
	kc_sendv(k, c->argc, (const char **)c->argv, lens);
	kc_sendv(k, 2, echo, elens);
	for (;;) {
		if (k->len && (end = memmem(k->buf, k->len, marker, sizeof marker - 1)) &&
		    (size_t)(end - k->buf) + sizeof marker - 1 == k->len)
			break;
		if (kc_fill(k, (int)(deadline - now_ms())) <= 0)
			fail_msg("no raw reply in time");
	}
	out = strndup(k->buf, (size_t)(end - k->buf));
	assert_non_null(out);
	k->len = 0;
	return out;
}

/* Send the words (until NULL) to both; fail unless the raw replies are
 * the same bytes. */
static void both_raw(struct pair *p, const char *const *words)
{
	struct cmd c = { 0 };
	char *a, *b;

	for (int i = 0; words[i]; i++)
		arg(&c, words[i]);
	a = raw_reply(p->a, &c);
	b = raw_reply(p->b, &c);
	if (strcmp(a, b))
		fail_msg("%s: cowkv %s\nredis %s", words[0], a, b);
	free(a);
	free(b);
}

#define BOTH_RAW(p, ...) both_raw((p), (const char *const[]){ __VA_ARGS__, NULL })

/* ---- the points --------------------------------------------------------------- */

#define NPOINTS 420

struct point {
	char lon[40], lat[40];
};

static struct point pts[NPOINTS];

/* A coordinate's text: full precision, six decimals, or an exact limit. */
static void coord_text(char *buf, size_t n, double v)
{
	if (chance(30))
		snprintf(buf, n, "%.6f", v);
	else
		snprintf(buf, n, "%.17g", v);
}

/* Point i: where the grid and the searches have their edges; some at
 * the very place of an earlier one (equal distances: the order of ties). */
static void make_point(int i, struct point *pt)
{
	double lon, lat;
	int kind = i % 7;

	if (i >= 14 && chance(8)) {
		*pt = pts[i - 7 - (int)(rnd() % 7)];
		return;
	}
	switch (kind) {
	case 0: /* near the northern limit, some on it */
	case 1: /* near the southern limit */
		lon = urand(-180, 180);
		lat = urand(84.8, 85.05112878);
		coord_text(pt->lon, sizeof pt->lon, lon);
		if (chance(20))
			snprintf(pt->lat, sizeof pt->lat, "%s85.05112878", kind ? "-" : "");
		else
			coord_text(pt->lat, sizeof pt->lat, kind ? -lat : lat);
		return;
	case 2: /* on either side of the antimeridian, some on it */
		lon = urand(179.5, 180);
		lat = urand(-85, 85);
		if (chance(15))
			snprintf(pt->lon, sizeof pt->lon, "%s180", chance(50) ? "-" : "");
		else
			coord_text(pt->lon, sizeof pt->lon, chance(50) ? lon : -lon);
		coord_text(pt->lat, sizeof pt->lat, lat);
		return;
	case 3: /* a cluster a few metres wide */
		snprintf(pt->lon, sizeof pt->lon, "%.17g", 12.4963655 + urand(-5e-5, 5e-5));
		snprintf(pt->lat, sizeof pt->lat, "%.17g", 41.9027835 + urand(-5e-5, 5e-5));
		return;
	case 4: /* around (0, 0): cell edges of every step meet there */
		snprintf(pt->lon, sizeof pt->lon, "%.17g", urand(-1e-3, 1e-3));
		snprintf(pt->lat, sizeof pt->lat, "%.17g", urand(-1e-3, 1e-3));
		return;
	default: /* anywhere */
		coord_text(pt->lon, sizeof pt->lon, urand(-180, 180));
		coord_text(pt->lat, sizeof pt->lat, urand(-85.05112878, 85.05112878));
		return;
	}
}

/* GEOADD every point to key, in batches, on both servers. */
static void add_points(struct pair *p, const char *key)
{
	for (int i = 0; i < NPOINTS; i++)
		make_point(i, &pts[i]);
	for (int i = 0; i < NPOINTS;) {
		struct cmd c = { 0 };

		arg(&c, "GEOADD");
		arg(&c, key);
		for (int k = 0; k < 40 && i < NPOINTS; k++, i++) {
			arg(&c, pts[i].lon);
			arg(&c, pts[i].lat);
			argf(&c, "m%d", i);
		}
		both_cmd(p, &c);
	}
}

/* ---- random searches ---------------------------------------------------------- */

static const char *const units[] = { "m", "km", "mi", "ft", "KM", "M" };
static const double unit_m[] = { 1, 1000, 1609.34, 0.3048, 1000, 1 };

/* A length in metres from tiny to half the earth, as "value unit". */
static void add_length(struct cmd *c, int u)
{
	double m;

	switch (rnd() % 5) {
	case 0: m = urand(0, 20); break;                 /* tiny: the clusters */
	case 1: m = urand(20, 20000); break;
	case 2: m = urand(20000, 1000000); break;
	case 3: m = urand(1000000, 21000000); break;
	default: m = chance(20) ? 0 : urand(0, 500); break;
	}
	argf(c, "%.17g", m / unit_m[u]);
}

/* A search centre: a cluster, a limit, the antimeridian or anywhere. */
static void add_centre(struct cmd *c)
{
	switch (rnd() % 6) {
	case 0:
		argf(c, "%.17g", 12.4963655 + urand(-1e-4, 1e-4));
		argf(c, "%.17g", 41.9027835 + urand(-1e-4, 1e-4));
		break;
	case 1:
		argf(c, "%.17g", urand(-2e-3, 2e-3));
		argf(c, "%.17g", urand(-2e-3, 2e-3));
		break;
	case 2:
		argf(c, "%.17g", urand(-180, 180));
		if (chance(30))
			argf(c, "%s85.05112878", chance(50) ? "-" : "");
		else
			argf(c, "%.17g", chance(50) ? urand(84, 85.05112878) : -urand(84, 85.05112878));
		break;
	case 3:
		if (chance(30))
			argf(c, "%s180", chance(50) ? "-" : "");
		else
			argf(c, "%.17g", chance(50) ? urand(179, 180) : -urand(179, 180));
		argf(c, "%.17g", urand(-85, 85));
		break;
	default:
		argf(c, "%.17g", urand(-180, 180));
		argf(c, "%.17g", urand(-85.05112878, 85.05112878));
		break;
	}
}

/* The options every search takes, in random order. store: a STORE or
 * STOREDIST (GEORADIUS) or STOREDIST flag (GEOSEARCHSTORE) may come. */
static void add_options(struct cmd *c, int store)
{
	const char *opts[8][2];
	char count[16];
	int n = 0;

	if (!store) {
		if (chance(40))
			opts[n++][0] = "WITHCOORD";
		if (chance(40))
			opts[n++][0] = "WITHDIST";
		if (chance(40))
			opts[n++][0] = "WITHHASH";
	}
	if (chance(50)) {
		snprintf(count, sizeof count, "%d", (int)(1 + rnd() % 25));
		opts[n][0] = "COUNT";
		opts[n++][1] = count;
		if (chance(35))
			opts[n++][0] = "ANY";	/* must follow COUNT: kept in order below */
	}
	if (chance(60))
		opts[n++][0] = chance(50) ? "ASC" : "DESC";
	if (store == 1)
		opts[n++][0] = chance(50) ? "STORE" : "STOREDIST";
	if (store == 2 && chance(50))
		opts[n++][0] = "STOREDIST";
	/* shuffle, but COUNT n ANY stays one block */
	for (int i = n - 1; i > 0; i--) {
		int j = (int)(rnd() % (unsigned)(i + 1));
		const char *t0 = opts[i][0], *t1 = opts[i][1];

		if (!strcmp(opts[i][0], "ANY") || !strcmp(opts[j][0], "ANY"))
			continue;
		opts[i][0] = opts[j][0];
		opts[i][1] = opts[j][1];
		opts[j][0] = t0;
		opts[j][1] = t1;
	}
	for (int i = 0; i < n; i++) {
		if (!strcmp(opts[i][0], "COUNT")) {
			arg(c, "COUNT");
			arg(c, opts[i][1]);
		} else if (!strcmp(opts[i][0], "STORE") || !strcmp(opts[i][0], "STOREDIST")) {
			arg(c, opts[i][0]);
			if (store == 1)
				arg(c, "dst");
		} else {
			arg(c, opts[i][0]);
		}
	}
}

/* A random existing member name. */
static void add_member(struct cmd *c)
{
	argf(c, "m%d", (int)(rnd() % NPOINTS));
}

/* One random search of key pts; store: 0 reply, 1 GEORADIUS* STORE, 2
 * GEOSEARCHSTORE. */
static void random_search(struct cmd *c, int store)
{
	int u = (int)(rnd() % 6), kind = (int)(rnd() % 3);

	if (store == 2 || kind == 0) {
		arg(c, store == 2 ? "GEOSEARCHSTORE" : "GEOSEARCH");
		if (store == 2)
			arg(c, "dst");
		arg(c, "pts");
		if (chance(30)) {
			arg(c, "FROMMEMBER");
			add_member(c);
		} else {
			arg(c, "FROMLONLAT");
			add_centre(c);
		}
		if (chance(50)) {
			arg(c, "BYRADIUS");
			add_length(c, u);
		} else {
			arg(c, "BYBOX");
			add_length(c, u);
			add_length(c, u);
		}
		arg(c, units[u]);
		add_options(c, store ? 2 : 0);
		return;
	}
	if (kind == 1) {
		arg(c, store || chance(50) ? "GEORADIUS" : "GEORADIUS_RO");
		arg(c, "pts");
		add_centre(c);
	} else {
		arg(c, store || chance(50) ? "GEORADIUSBYMEMBER" : "GEORADIUSBYMEMBER_RO");
		arg(c, "pts");
		add_member(c);
	}
	add_length(c, u);
	arg(c, units[u]);
	add_options(c, store ? 1 : 0);
}

/* ZRANGE WITHSCORES, TYPE, TTL and encoding of key on both. */
static void same_key(struct pair *p, const char *key)
{
	BOTH(p->a, p->b, "ZRANGE", key, "0", "-1", "WITHSCORES");
	BOTH(p->a, p->b, "TYPE", key);
	BOTH(p->a, p->b, "TTL", key);
	BOTH(p->a, p->b, "OBJECT", "ENCODING", key);
}

/* ---- the tests ------------------------------------------------------------------ */

/* GEOADD's options and scores, then what GEOPOS, GEODIST and GEOHASH say. */
static void test_geo_add(void **state)
{
	struct pair p;

	(void)state;
	if (!open_pair(&p))
		skip();
	BOTH(p.a, p.b, "GEOADD", "Sicily", "13.361389", "38.115556", "Palermo",
	     "15.087269", "37.502669", "Catania");
	BOTH(p.a, p.b, "GEOADD", "Sicily", "13.361389", "38.115556", "Palermo");
	BOTH(p.a, p.b, "GEOADD", "Sicily", "CH", "13.361390", "38.115556", "Palermo",
	     "1", "2", "new");
	BOTH(p.a, p.b, "GEOADD", "Sicily", "NX", "0", "0", "Palermo", "3", "4", "nx");
	BOTH(p.a, p.b, "GEOADD", "Sicily", "XX", "5", "6", "Palermo", "7", "8", "xx");
	BOTH(p.a, p.b, "GEOADD", "Sicily", "XX", "CH", "5", "7", "Palermo", "7", "8", "xx");
	BOTH(p.a, p.b, "GEOADD", "Sicily", "CH", "NX", "9", "9", "nx", "10", "10", "chnx");
	BOTH(p.a, p.b, "GEOADD", "Sicily", "ch", "xx", "ch", "1", "1", "chnx");
	/* the limits and the antimeridian */
	BOTH(p.a, p.b, "GEOADD", "lim", "180", "85.05112878", "ne", "-180", "-85.05112878", "sw",
	     "180", "-85.05112878", "se", "-180", "85.05112878", "nw", "0", "0", "zero",
	     "-0", "-0", "negzero", "179.99999999", "0.00000001", "e", "-179.99999999", "0", "w",
	     "1e-300", "-1e-300", "tiny");
	same_key(&p, "Sicily");
	same_key(&p, "lim");
	BOTH(p.a, p.b, "ZSCORE", "lim", "ne");
	BOTH(p.a, p.b, "GEOPOS", "Sicily", "Palermo", "Catania", "missing", "new", "nx", "xx");
	BOTH(p.a, p.b, "GEOPOS", "lim", "ne", "sw", "se", "nw", "zero", "negzero", "e", "w", "tiny");
	BOTH(p.a, p.b, "GEOPOS", "nokey", "a", "b");
	BOTH(p.a, p.b, "GEOPOS", "Sicily");
	BOTH(p.a, p.b, "GEOHASH", "Sicily", "Palermo", "Catania", "missing");
	BOTH(p.a, p.b, "GEOHASH", "lim", "ne", "sw", "se", "nw", "zero", "negzero", "e", "w");
	BOTH(p.a, p.b, "GEOHASH", "nokey", "a");
	BOTH(p.a, p.b, "GEOHASH", "Sicily");
	BOTH(p.a, p.b, "GEODIST", "Sicily", "Palermo", "Catania");
	BOTH(p.a, p.b, "GEODIST", "lim", "ne", "se");
	BOTH(p.a, p.b, "GEODIST", "lim", "e", "w", "ft");
	BOTH(p.a, p.b, "GEODIST", "lim", "ne", "nw");
	BOTH(p.a, p.b, "GEODIST", "lim", "zero", "negzero", "KM");
	BOTH(p.a, p.b, "GEODIST", "lim", "zero", "tiny", "m");
	BOTH(p.a, p.b, "GEODIST", "lim", "zero", "missing");
	BOTH(p.a, p.b, "GEODIST", "nokey", "a", "b");
	BOTH(p.a, p.b, "GEODIST", "nokey", "a", "b", "km");
	for (int u = 0; u < 6; u++)
		BOTH(p.a, p.b, "GEODIST", "Sicily", "Palermo", "Catania", units[u]);
	/* a geo set is a sorted set */
	BOTH(p.a, p.b, "TYPE", "Sicily");
	BOTH(p.a, p.b, "ZCARD", "Sicily");
	BOTH(p.a, p.b, "OBJECT", "ENCODING", "Sicily");
	BOTH(p.a, p.b, "ZREM", "Sicily", "new");
	BOTH(p.a, p.b, "GEOPOS", "Sicily", "new");
	close_pair(&p);
}

/* Scores no GEOADD made decode as Redis decodes them. */
static void test_geo_foreign_scores(void **state)
{
	struct pair p;

	(void)state;
	if (!open_pair(&p))
		skip();
	BOTH(p.a, p.b, "ZADD", "w", "-1", "neg", "1.5", "frac", "1e300", "huge", "-1e300", "nhuge",
	     "4503599627370496", "p52", "9007199254740993", "p53", "inf", "inf", "-inf", "ninf",
	     "0", "zero", "4503599627370495", "max52", "18446744073709551616", "p64",
	     "9223372036854775808", "p63", "-9223372036854775808", "np63", "12345678901234567", "big");
	BOTH(p.a, p.b, "GEOPOS", "w", "neg", "frac", "huge", "nhuge", "p52", "p53", "inf", "ninf",
	     "zero", "max52", "p64", "p63", "np63", "big");
	BOTH(p.a, p.b, "GEOHASH", "w", "neg", "frac", "huge", "nhuge", "p52", "p53", "inf", "ninf",
	     "zero", "max52", "p64", "p63", "np63", "big");
	BOTH(p.a, p.b, "GEODIST", "w", "neg", "max52", "km");
	BOTH(p.a, p.b, "GEODIST", "w", "inf", "zero");
	BOTH(p.a, p.b, "GEOSEARCH", "w", "FROMLONLAT", "0", "0", "BYRADIUS", "30000", "km",
	     "WITHHASH", "WITHCOORD", "WITHDIST", "ASC");
	BOTH(p.a, p.b, "GEOSEARCH", "w", "FROMMEMBER", "neg", "BYBOX", "40000", "40000", "km",
	     "WITHHASH", "DESC");
	BOTH(p.a, p.b, "GEORADIUSBYMEMBER", "w", "max52", "100", "km", "WITHHASH");
	close_pair(&p);
}

/* Random points, random searches with every option: the same members, in
 * the same order, with the same distances, hashes and coordinates. */
static void test_geo_search_random(void **state)
{
	struct pair p;

	(void)state;
	if (!open_pair(&p))
		skip();
	seed_rng();
	add_points(&p, "pts");
	same_key(&p, "pts");
	for (int i = 0; i < 1500; i++) {
		struct cmd c = { 0 };

		random_search(&c, 0);
		both_cmd(&p, &c);
	}
	/* a listpack-sized geo set too (Redis walks it another way) */
	for (int i = 0; i < 40; i++) {
		struct cmd c = { 0 };

		arg(&c, "GEOADD");
		arg(&c, "small");
		arg(&c, pts[i * 7 % NPOINTS].lon);
		arg(&c, pts[i * 7 % NPOINTS].lat);
		argf(&c, "s%d", i);
		both_cmd(&p, &c);
	}
	BOTH(p.a, p.b, "OBJECT", "ENCODING", "small");
	for (int i = 0; i < 200; i++) {
		struct cmd c = { 0 };

		random_search(&c, 0);
		c.argv[1] = "small";
		if (!strncmp(c.argv[0], "GEORADIUSBYMEMBER", 17))
			c.argv[2] = "s3";
		else if (c.argc > 3 && !strcmp(c.argv[2], "FROMMEMBER"))
			c.argv[3] = "s5";
		both_cmd(&p, &c);
	}
	close_pair(&p);
}

/* STORE, STOREDIST and GEOSEARCHSTORE: the same reply and the same
 * destination, created, replaced (its TTL gone, any type), or deleted by
 * an empty result. */
static void test_geo_store(void **state)
{
	struct pair p;

	(void)state;
	if (!open_pair(&p))
		skip();
	seed_rng();
	add_points(&p, "pts");
	for (int i = 0; i < 300; i++) {
		struct cmd c = { 0 };

		switch (i % 4) {
		case 0:
			BOTH(p.a, p.b, "SET", "dst", "a string", "EX", "1000");
			break;
		case 1:
			BOTH(p.a, p.b, "ZADD", "dst", "1", "old");
			BOTH(p.a, p.b, "EXPIRE", "dst", "500");
			break;
		default:
			break;
		}
		random_search(&c, 1 + (int)(rnd() % 2));
		both_cmd(&p, &c);
		same_key(&p, "dst");
	}
	/* the source as its own destination */
	BOTH(p.a, p.b, "GEOADD", "self", "13.361389", "38.115556", "Palermo",
	     "15.087269", "37.502669", "Catania", "12.758489", "38.788135", "edge1");
	BOTH(p.a, p.b, "GEORADIUS", "self", "15", "37", "200", "km", "STORE", "self");
	same_key(&p, "self");
	BOTH(p.a, p.b, "GEOSEARCHSTORE", "self", "self", "FROMLONLAT", "15", "37", "BYRADIUS",
	     "100", "km", "STOREDIST");
	same_key(&p, "self");
	/* a missing source deletes the destination */
	BOTH(p.a, p.b, "SET", "dst", "x");
	BOTH(p.a, p.b, "GEORADIUSBYMEMBER", "nosrc", "m", "junk", "parsec", "STORE", "dst");
	same_key(&p, "dst");
	BOTH(p.a, p.b, "SET", "dst", "x");
	BOTH(p.a, p.b, "GEOSEARCHSTORE", "dst", "nosrc", "FROMMEMBER", "m", "BYRADIUS", "1", "m");
	same_key(&p, "dst");
	BOTH(p.a, p.b, "SET", "dst", "x");
	BOTH(p.a, p.b, "GEORADIUS", "nosrc", "1", "2", "3", "km", "STOREDIST", "dst");
	same_key(&p, "dst");
	/* the last STORE wins */
	BOTH(p.a, p.b, "GEORADIUS", "pts", "12.4963655", "41.9027835", "10", "m", "STORE", "d1",
	     "STOREDIST", "d2", "COUNT", "3");
	same_key(&p, "d1");
	same_key(&p, "d2");
	BOTH(p.a, p.b, "DBSIZE");
	close_pair(&p);
}

/* Errors and the replies of edge cases. */
static void test_geo_errors(void **state)
{
	static const char *const cases[][16] = {
		{ "GEOADD", "k" },
		{ "GEOADD", "k", "1", "2" },
		{ "GEOADD", "k", "1", "2", "m", "3" },
		{ "GEOADD", "k", "NX", "XX", "1", "2", "m" },
		{ "GEOADD", "k", "GT", "1", "2", "m" },
		{ "GEOADD", "k", "INCR", "1", "2", "m" },
		{ "GEOADD", "k", "CH", "CH", "CH" },
		{ "GEOADD", "k", "x", "2", "m" },
		{ "GEOADD", "k", "1", "nan", "m" },
		{ "GEOADD", "k", "180.0000001", "0", "m" },
		{ "GEOADD", "k", "0", "85.05112879", "m" },
		{ "GEOADD", "k", "0", "-85.05112879", "m" },
		{ "GEOADD", "k", "-inf", "0", "m" },
		{ "GEOADD", "k", "1", "1", "ok", "1e308", "1e308", "m" },
		{ "GEOADD", "str", "1", "1", "m" },
		{ "GEOPOS", "str", "a" },
		{ "GEOPOS" },
		{ "GEOHASH", "str", "a" },
		{ "GEODIST", "str", "a", "b" },
		{ "GEODIST", "k", "a" },
		{ "GEODIST", "k", "a", "b", "parsec" },
		{ "GEODIST", "k", "a", "b", "km", "x" },
		{ "GEODIST", "nokey", "a", "b", "parsec" },
		{ "GEORADIUS", "k", "1", "2", "3" },
		{ "GEORADIUS", "k", "200", "2", "3", "km" },
		{ "GEORADIUS", "k", "1", "2", "x", "km" },
		{ "GEORADIUS", "k", "1", "2", "-1", "km" },
		{ "GEORADIUS", "k", "1", "2", "1", "yard" },
		{ "GEORADIUS", "k", "1", "2", "1", "km", "COUNT" },
		{ "GEORADIUS", "k", "1", "2", "1", "km", "COUNT", "0" },
		{ "GEORADIUS", "k", "1", "2", "1", "km", "COUNT", "-3" },
		{ "GEORADIUS", "k", "1", "2", "1", "km", "COUNT", "1.5" },
		{ "GEORADIUS", "k", "1", "2", "1", "km", "ANY" },
		{ "GEORADIUS", "k", "1", "2", "1", "km", "ANY", "COUNT", "2" },
		{ "GEORADIUS", "k", "1", "2", "1", "km", "STORE" },
		{ "GEORADIUS", "k", "1", "2", "1", "km", "STORE", "d", "WITHCOORD" },
		{ "GEORADIUS", "k", "1", "2", "1", "km", "WITHHASH", "STOREDIST", "d" },
		{ "GEORADIUS", "k", "1", "2", "1", "km", "FROMMEMBER", "a" },
		{ "GEORADIUS", "k", "1", "2", "1", "km", "bogus" },
		{ "GEORADIUS", "str", "1", "2", "1", "km" },
		{ "GEORADIUS", "nokey", "1", "2", "1", "km" },
		{ "GEORADIUS", "nokey", "1", "2", "1", "km", "ANY" },
		{ "GEORADIUS_RO", "k", "1", "2", "1", "km", "STORE", "d" },
		{ "GEORADIUS_RO", "k", "1", "2", "1", "km", "STOREDIST", "d" },
		{ "GEORADIUSBYMEMBER", "k", "nomember", "1", "km" },
		{ "GEORADIUSBYMEMBER", "k", "a", "x", "km" },
		{ "GEORADIUSBYMEMBER", "k", "a", "1", "km", "WITHDIST", "STORE", "d" },
		{ "GEORADIUSBYMEMBER", "nokey", "a", "x", "yard" },
		{ "GEORADIUSBYMEMBER", "nokey", "a", "x", "yard", "bogus" },
		{ "GEORADIUSBYMEMBER", "str", "a", "1", "km" },
		{ "GEORADIUSBYMEMBER_RO", "k", "a", "1", "km", "STORE", "d" },
		{ "GEOSEARCH", "k", "FROMLONLAT", "1", "2" },
		{ "GEOSEARCH", "k", "FROMLONLAT", "1", "2", "COUNT", "2" },
		{ "geosearch", "k", "BYRADIUS", "1", "km", "COUNT", "2" },
		{ "GeoSearch", "k", "FROMLONLAT", "1", "2", "ASC", "DESC" },
		{ "GEOSEARCH", "k", "FROMLONLAT", "1", "2", "FROMMEMBER", "a", "BYRADIUS", "1", "m" },
		{ "GEOSEARCH", "k", "FROMMEMBER", "a", "FROMLONLAT", "1", "2", "BYRADIUS", "1", "m" },
		{ "GEOSEARCH", "k", "FROMMEMBER", "a", "FROMMEMBER", "b", "BYRADIUS", "1", "m" },
		{ "GEOSEARCH", "k", "FROMMEMBER", "a", "BYRADIUS", "1", "m", "BYBOX", "1", "1", "m" },
		{ "GEOSEARCH", "k", "FROMMEMBER", "a", "BYBOX", "1", "1", "m", "BYRADIUS", "1", "m" },
		{ "GEOSEARCH", "k", "FROMMEMBER", "a", "BYBOX", "1", "m" },
		{ "GEOSEARCH", "k", "FROMMEMBER", "a", "BYBOX", "1", "-1", "m" },
		{ "GEOSEARCH", "k", "FROMMEMBER", "a", "BYBOX", "x", "1", "m" },
		{ "GEOSEARCH", "k", "FROMMEMBER", "a", "BYBOX", "1", "x", "m" },
		{ "GEOSEARCH", "k", "FROMMEMBER", "a", "BYBOX", "1", "1", "yard" },
		{ "GEOSEARCH", "k", "FROMMEMBER", "nomember", "BYRADIUS", "1", "m" },
		{ "GEOSEARCH", "k", "FROMLONLAT", "1", "100", "BYRADIUS", "1", "m" },
		{ "GEOSEARCH", "k", "FROMLONLAT", "1", "2", "BYRADIUS", "1", "m", "STORE", "d" },
		{ "GEOSEARCH", "k", "FROMLONLAT", "1", "2", "BYRADIUS", "1", "m", "STOREDIST" },
		{ "GEOSEARCH", "k", "FROMLONLAT", "1", "2", "BYRADIUS", "inf", "m", "COUNT", "3" },
		{ "GEOSEARCH", "k", "FROMLONLAT", "1", "2", "BYBOX", "inf", "inf", "m", "ASC" },
		{ "GEOSEARCH", "k", "FROMLONLAT", "1", "2", "BYRADIUS", "0", "m", "WITHDIST" },
		{ "GEOSEARCH", "k", "FROMMEMBER", "a", "BYRADIUS", "0", "km", "WITHDIST" },
		{ "GEOSEARCH", "k", "FROMMEMBER", "a", "BYBOX", "0", "0", "km", "WITHDIST" },
		{ "GEOSEARCH", "nokey", "FROMMEMBER", "a", "BYRADIUS", "1", "m" },
		{ "GEOSEARCH", "nokey", "FROMMEMBER", "a", "BYRADIUS", "x", "m" },
		{ "GEOSEARCH", "str", "FROMMEMBER", "a", "BYRADIUS", "1", "m" },
		{ "GEOSEARCHSTORE", "d", "k", "FROMMEMBER", "a", "BYRADIUS", "1", "m", "WITHCOORD" },
		{ "GEOSEARCHSTORE", "d", "k", "FROMMEMBER", "a", "BYRADIUS", "1", "m", "STORE", "x" },
		{ "GEOSEARCHSTORE", "d", "k", "FROMMEMBER", "a", "BYRADIUS", "1", "m", "COUNT", "0" },
		{ "GEOSEARCHSTORE", "d", "k", "FROMMEMBER", "a" },
		{ "GEOSEARCHSTORE", "d", "str", "FROMMEMBER", "a", "BYRADIUS", "1", "m" },
		{ "GEOSEARCHSTORE", "str", "k", "FROMMEMBER", "a", "BYRADIUS", "1", "m" },
		{ "GEOSEARCHSTORE", "str", "k", "FROMMEMBER", "a", "BYRADIUS", "0", "m", "STOREDIST" },
		{ "GEORADIUS", "k", "1", "2", "1", "km", "STORE", "str" },
		{ "TYPE", "str" },
	};
	struct pair p;

	(void)state;
	if (!open_pair(&p))
		skip();
	BOTH(p.a, p.b, "SET", "str", "x");
	BOTH(p.a, p.b, "GEOADD", "k", "1", "2", "a", "1.0001", "2.0001", "b");
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct cmd c = { 0 };

		for (int j = 0; j < 16 && cases[i][j]; j++)
			arg(&c, cases[i][j]);
		both_cmd(&p, &c);
	}
	BOTH(p.a, p.b, "INFO", "errorstats");
	close_pair(&p);
}

/* RESP3: coordinates as doubles, missing members as nulls. */
static void test_geo_resp3(void **state)
{
	struct pair p;
	struct cmd hello = { 0 };

	(void)state;
	if (!open_pair(&p))
		skip();
	arg(&hello, "HELLO");
	arg(&hello, "3");
	free(raw_reply(p.a, &hello));	/* the servers' HELLO replies differ (name, version) */
	free(raw_reply(p.b, &hello));
	BOTH_RAW(&p, "GEOADD", "Sicily", "13.361389", "38.115556", "Palermo",
		 "15.087269", "37.502669", "Catania", "180", "85.05112878", "lim");
	BOTH_RAW(&p, "GEOPOS", "Sicily", "Palermo", "missing", "lim");
	BOTH_RAW(&p, "GEOPOS", "nokey", "Palermo");
	BOTH_RAW(&p, "GEOHASH", "Sicily", "Palermo", "missing");
	BOTH_RAW(&p, "GEODIST", "Sicily", "Palermo", "Catania", "mi");
	BOTH_RAW(&p, "GEODIST", "Sicily", "Palermo", "missing");
	BOTH_RAW(&p, "GEODIST", "nokey", "Palermo", "missing");
	BOTH_RAW(&p, "GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km",
		 "WITHCOORD", "WITHDIST", "WITHHASH", "ASC");
	BOTH_RAW(&p, "GEORADIUSBYMEMBER", "Sicily", "Palermo", "200", "km", "WITHCOORD", "DESC",
		 "COUNT", "1");
	BOTH_RAW(&p, "GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "1", "km");
	BOTH_RAW(&p, "GEORADIUS", "nokey", "15", "37", "200", "km", "WITHCOORD");
	BOTH_RAW(&p, "GEOSEARCHSTORE", "d", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS",
		 "200", "km", "STOREDIST");
	BOTH_RAW(&p, "ZRANGE", "d", "0", "-1", "WITHSCORES");
	BOTH_RAW(&p, "GEOADD", "Sicily", "200", "1", "x");
	close_pair(&p);
}

/* The events of the geo commands (and of ZADD under GEOADD), on both. */
static void test_geo_notifications(void **state)
{
	static const char *const cmds[][16] = {
		{ "GEOADD", "g", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania" },
		{ "GEOADD", "g", "NX", "13.361389", "38.115556", "Palermo" },
		{ "GEOADD", "g", "XX", "CH", "13.5", "38.1", "Palermo" },
		{ "GEOADD", "g", "XX", "1", "1", "nobody" },
		{ "GEOPOS", "g", "Palermo" },
		{ "GEOSEARCH", "g", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km" },
		{ "GEOSEARCHSTORE", "d1", "g", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km" },
		{ "GEOSEARCHSTORE", "d1", "g", "FROMLONLAT", "15", "37", "BYRADIUS", "300", "km", "STOREDIST" },
		{ "GEORADIUS", "g", "15", "37", "200", "km", "STORE", "d2" },
		{ "GEORADIUSBYMEMBER", "g", "Palermo", "10", "km", "STOREDIST", "d2" },
		{ "GEORADIUS", "g", "15", "37", "200", "km", "COUNT", "1", "STORE", "d2" },
		{ "GEOSEARCHSTORE", "d1", "g", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "km" },
		{ "GEOSEARCHSTORE", "d1", "g", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "km" },
		{ "GEORADIUS", "nokey", "15", "37", "200", "km", "STORE", "d2" },
		{ "GEORADIUS", "g", "0", "0", "1", "km" },
		{ "SET", "s", "x" },
		{ "GEORADIUS", "g", "15", "37", "200", "km", "STORE", "s" },
		{ "TYPE", "s" },
	};
	struct pair p;
	struct kc *sa, *sb;
	char ea[16384], eb[16384];

	(void)state;
	if (!open_pair(&p))
		skip();
	BOTH(p.a, p.b, "CONFIG", "SET", "notify-keyspace-events", "KEAn");
	sa = kc_open(p.k->port);
	sb = kc_open(p.r->port);
	SEND(sa, "PSUBSCRIBE", "__key*__:*");
	SEND(sb, "PSUBSCRIBE", "__key*__:*");
	kc_drain(sa, 100, ea, sizeof ea);
	kc_drain(sb, 100, eb, sizeof eb);
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
		struct cmd c = { 0 };

		for (int j = 0; j < 16 && cmds[i][j]; j++)
			arg(&c, cmds[i][j]);
		both_cmd(&p, &c);
		kc_drain(sa, 50, ea, sizeof ea);
		kc_drain(sb, 50, eb, sizeof eb);
		if (strcmp(ea, eb))
			fail_msg("events of %s: cowkv %s\nredis %s", cmds[i][0], ea, eb);
	}
	kc_close(sa);
	kc_close(sb);
	close_pair(&p);
}

/* WATCH sees the destination of a store change, not its source; geo
 * commands in MULTI and in scripts. */
static void test_geo_watch_multi_script(void **state)
{
	struct pair p;
	struct kc *wa, *wb;

	(void)state;
	if (!open_pair(&p))
		skip();
	BOTH(p.a, p.b, "GEOADD", "g", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669",
	     "Catania");
	wa = kc_open(p.k->port);
	wb = kc_open(p.r->port);
	/* the source of a GEOSEARCHSTORE is only read */
	BOTH(wa, wb, "WATCH", "g");
	BOTH(wa, wb, "MULTI");
	BOTH(wa, wb, "GEOPOS", "g", "Palermo");
	BOTH(p.a, p.b, "GEOSEARCHSTORE", "d", "g", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km");
	BOTH(wa, wb, "EXEC");
	/* ... its destination changes */
	BOTH(wa, wb, "WATCH", "d");
	BOTH(wa, wb, "MULTI");
	BOTH(wa, wb, "GEOPOS", "g", "Palermo");
	BOTH(p.a, p.b, "GEORADIUS", "g", "15", "37", "100", "km", "STORE", "d");
	BOTH(wa, wb, "EXEC");
	/* ... and so does a deleted one */
	BOTH(wa, wb, "WATCH", "d");
	BOTH(wa, wb, "MULTI");
	BOTH(wa, wb, "GEODIST", "g", "Palermo", "Catania");
	BOTH(p.a, p.b, "GEORADIUS", "g", "0", "0", "1", "km", "STORE", "d");
	BOTH(wa, wb, "EXEC");
	/* a read-only search breaks nothing */
	BOTH(wa, wb, "WATCH", "g");
	BOTH(wa, wb, "MULTI");
	BOTH(wa, wb, "GEOHASH", "g", "Palermo");
	BOTH(p.a, p.b, "GEORADIUS", "g", "15", "37", "200", "km");
	BOTH(wa, wb, "EXEC");
	BOTH(p.a, p.b, "MULTI");
	BOTH(p.a, p.b, "GEOADD", "m", "1", "2", "x");
	BOTH(p.a, p.b, "GEOSEARCH", "m", "FROMMEMBER", "x", "BYRADIUS", "1", "km", "WITHCOORD");
	BOTH(p.a, p.b, "GEOADD", "m", "1", "200", "x");
	BOTH(p.a, p.b, "EXEC");
	BOTH(p.a, p.b, "EVAL", "return redis.call('GEOPOS', KEYS[1], ARGV[1])", "1", "g", "Palermo");
	BOTH(p.a, p.b, "EVAL", "return redis.call('GEOADD', KEYS[1], 1, 2, 'lua')", "1", "g");
	BOTH(p.a, p.b, "EVAL", "return redis.pcall('GEOADD', KEYS[1], 1, 200, 'lua')", "1", "g");
	BOTH(p.a, p.b, "EVAL", "return redis.call('GEOSEARCH', KEYS[1], 'FROMMEMBER', 'lua', "
	     "'BYRADIUS', 1000, 'km', 'WITHDIST', 'ASC')", "1", "g");
	BOTH(p.a, p.b, "EVAL", "return redis.call('GEORADIUS_RO', KEYS[1], 15, 37, 200, 'km')",
	     "1", "g");
	kc_close(wa);
	kc_close(wb);
	close_pair(&p);
}

/* GEORADIUS's STORE and STOREDIST keys are keys: ACL key patterns hold
 * for them and COMMAND GETKEYS finds them, as Redis's key specifications
 * do. */
static void test_geo_store_keys(void **state)
{
	static const char *const cmds[][16] = {
		{ "GEORADIUS", "src", "1", "1", "10", "km", "STORE", "other" },
		{ "GEORADIUS", "src", "1", "1", "10", "km", "STOREDIST", "other" },
		{ "GEORADIUS", "src", "1", "1", "10", "km", "STORE", "src2", "STOREDIST", "other" },
		{ "GEORADIUS", "src", "1", "1", "10", "km", "store", "src2" },
		{ "GEORADIUSBYMEMBER", "src", "a", "10", "km", "STORE", "other" },
		{ "GEORADIUSBYMEMBER", "src", "a", "10", "km", "STOREDIST", "src3" },
		{ "GEOSEARCHSTORE", "other", "src", "FROMMEMBER", "a", "BYRADIUS", "1", "km" },
		{ "GEOSEARCHSTORE", "src4", "src", "FROMMEMBER", "a", "BYRADIUS", "1", "km" },
		{ "GEORADIUS_RO", "src", "1", "1", "10", "km" },
		{ "GEOSEARCH", "other", "FROMLONLAT", "1", "1", "BYRADIUS", "1", "km" },
		{ "GEOADD", "other", "1", "1", "a" },
	};
	static const char *const getkeys[][16] = {
		{ "COMMAND", "GETKEYS", "GEORADIUS", "k", "1", "1", "10", "km", "STORE", "d", "STOREDIST", "e" },
		{ "COMMAND", "GETKEYS", "GEORADIUS", "k", "1", "1", "10", "km", "STOREDIST", "e", "STORE", "d" },
		{ "COMMAND", "GETKEYS", "GEORADIUS", "k", "1", "1", "10", "km", "STORE" },
		{ "COMMAND", "GETKEYS", "GEORADIUS", "k", "1", "1", "10", "km", "COUNT", "3" },
		{ "COMMAND", "GETKEYS", "GEORADIUSBYMEMBER", "k", "m", "10", "km", "storedist", "e" },
		{ "COMMAND", "GETKEYS", "GEORADIUS_RO", "k", "1", "1", "10", "km" },
		{ "COMMAND", "GETKEYS", "GEOSEARCHSTORE", "d", "k", "FROMMEMBER", "a", "BYRADIUS", "1", "m" },
		{ "COMMAND", "GETKEYS", "GEOADD", "k", "1", "1", "a" },
	};
	struct pair p;
	struct kc *ua, *ub;

	(void)state;
	if (!open_pair(&p))
		skip();
	BOTH(p.a, p.b, "ACL", "SETUSER", "lim", "on", ">pw", "~src*", "+@all");
	BOTH(p.a, p.b, "GEOADD", "src", "1", "1", "a");
	ua = kc_open(p.k->port);
	ub = kc_open(p.r->port);
	BOTH(ua, ub, "AUTH", "lim", "pw");
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
		struct cmd c = { 0 };
		struct pair u = { p.k, p.r, ua, ub };

		for (int j = 0; j < 16 && cmds[i][j]; j++)
			arg(&c, cmds[i][j]);
		both_cmd(&u, &c);
	}
	for (size_t i = 0; i < sizeof getkeys / sizeof getkeys[0]; i++) {
		struct cmd c = { 0 };

		for (int j = 0; j < 16 && getkeys[i][j]; j++)
			arg(&c, getkeys[i][j]);
		both_cmd(&p, &c);
	}
	BOTH(p.a, p.b, "EXISTS", "other", "src2", "src3", "src4");
	BOTH(p.a, p.b, "ZRANGE", "src2", "0", "-1", "WITHSCORES");
	kc_close(ua);
	kc_close(ub);
	close_pair(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_geo_add, teardown),
		cmocka_unit_test_teardown(test_geo_foreign_scores, teardown),
		cmocka_unit_test_teardown(test_geo_search_random, teardown),
		cmocka_unit_test_teardown(test_geo_store, teardown),
		cmocka_unit_test_teardown(test_geo_errors, teardown),
		cmocka_unit_test_teardown(test_geo_resp3, teardown),
		cmocka_unit_test_teardown(test_geo_notifications, teardown),
		cmocka_unit_test_teardown(test_geo_watch_multi_script, teardown),
		cmocka_unit_test_teardown(test_geo_store_keys, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	atexit(kill_all);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
