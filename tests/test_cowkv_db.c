/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_cowkv_db.c — cowkv's logical databases (SELECT n, --databases):
 *
 *   errors       SELECT, MOVE, SWAPDB, COPY ... DB, CONFIG databases: the
 *                replies of redis-server 7.0, byte for byte;
 *   oracle       a random sequence of SELECT/MOVE/SWAPDB/COPY DB/RENAME/
 *                FLUSHDB/EXPIREAT/WATCH-MULTI-EXEC over several databases,
 *                on cowkv and redis-server side by side: every reply the
 *                same, and every database's keys and INFO keyspace the same
 *                at checkpoints (COWKV_SEED=n replays a run);
 *   semantics    WATCH, blocking commands, keyspace notifications, scripts,
 *                MULTI, RESET/HELLO, expiry (lazy and active) per database,
 *                CLIENT INFO db=N, DEBUG HTSTATS and DIGEST-VALUE;
 *   restart      several databases back after SIGKILL and a restart on the
 *                same store; --databases smaller than the store's refused,
 *                larger accepted;
 *   rdb          --export writes SELECTDB for each database (redis-server
 *                loads it), --import of redis-server's multi-db RDB;
 *   old store    stores of KV_VERSION 1 and 2 (one keyspace), built here
 *                page by page with libcow, load as database 0 and are
 *                upgraded.
 */
#include <xxhash.h>

#include "kvharness.h"
#include "db.h"

/* ---- helpers ------------------------------------------------------------- */

/* INFO keyspace of c without the avg_ttl fields (Redis estimates them from
 * its expire cycle's samples, cowkv computes them): "db0:keys=1,expires=0;..." */
static void keyspace_lines(struct kc *c, char *out, size_t len)
{
	const char *s = Q(c, "INFO", "keyspace");
	size_t at = 0;

	out[0] = '\0';
	for (const char *p = strstr(s, "db"); p; p = strstr(p + 1, "\ndb")) {
		const char *line = *p == '\n' ? p + 1 : p, *end = strstr(line, ",avg_ttl");

		if (!end)
			break;
		at += (size_t)snprintf(out + at, len - at, "%.*s;", (int)(end - line), line);
		if (at >= len)
			break;
	}
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* KEYS * of c's current database, sorted, joined by spaces. */
static void sorted_keys(struct kc *c, char *out, size_t len)
{
	const char *argv[] = { "KEYS", "*" };
	size_t lens[] = { 4, 1 }, at = 0;
	struct resp_reply *r;
	char **v;

	kc_sendv(c, 2, argv, lens);
	r = kc_read(c);
	assert_non_null(r);
	assert_int_equal(r->type, RESP_ARRAY);
	v = calloc(r->n + 1, sizeof *v);
	assert_non_null(v);
	for (size_t i = 0; i < r->n; i++)
		v[i] = r->elem[i]->str;
	qsort(v, r->n, sizeof *v, cmp_str);
	out[0] = '\0';
	for (size_t i = 0; i < r->n && at < len; i++)
		at += (size_t)snprintf(out + at, len - at, "%s ", v[i]);
	free(v);
	resp_reply_free(r);
}

/* Every database 0..ndb-1 of a (cowkv) and b (redis-server) holds the same
 * keys with the same values (read by type); INFO keyspace agrees. Both are
 * left in database back. */
static void compare_dbs(struct kc *a, struct kc *b, int ndb, int back)
{
	char ka[4096], kb[4096], db[16];

	for (int d = 0; d < ndb; d++) {
		snprintf(db, sizeof db, "%d", d);
		BOTH(a, b, "SELECT", db);
		sorted_keys(a, ka, sizeof ka);
		sorted_keys(b, kb, sizeof kb);
		if (strcmp(ka, kb))
			fail_msg("db %d: cowkv has keys [%s], redis [%s]", d, ka, kb);
		for (char *k = strtok(ka, " "); k; k = strtok(NULL, " ")) {
			const char *t = BOTH(a, b, "TYPE", k);

			if (!strcmp(t, "+string"))
				BOTH(a, b, "GET", k);
			else if (!strcmp(t, "+list"))
				BOTH(a, b, "LRANGE", k, "0", "-1");
			else if (!strcmp(t, "+hash"))
				BOTH(a, b, "HGET", k, "f");
			else if (!strcmp(t, "+set"))
				BOTH(a, b, "SCARD", k);
			BOTH(a, b, "EXPIRETIME", k);
		}
	}
	keyspace_lines(a, ka, sizeof ka);
	keyspace_lines(b, kb, sizeof kb);
	if (strcmp(ka, kb))
		fail_msg("INFO keyspace: cowkv %s, redis %s", ka, kb);
	snprintf(db, sizeof db, "%d", back);
	BOTH(a, b, "SELECT", db);
}

/* Run cowkv with args (NULL-terminated) to its exit; its exit status. The
 * output goes to log. */
static int run_cowkv(const char *log, const char **args)
{
	const char *argv[32];
	int n = 0, status;
	pid_t pid;

	argv[n++] = cowkv_path();
	for (int i = 0; args[i]; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(argv[0], (char **)argv);
		_exit(127);
	}
	for (int64_t deadline = now_ms() + IO_TIMEOUT_MS; waitpid(pid, &status, WNOHANG) != pid;) {
		if (now_ms() > deadline) {	/* it did not exit: it serves, a failure */
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
		sleep_ms(5);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Does file path contain needle? */
static bool file_has(const char *path, const char *needle)
{
	char buf[65536];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return false;
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strstr(buf, needle) != NULL;
}

/* ---- errors ------------------------------------------------------------- */

static void test_db_errors(void **state)
{
	struct pair p;

	(void)state;
	if (!open_pair(&p))
		skip();
	assert_string_equal(BOTH(p.a, p.b, "SELECT", "16"), "-ERR DB index is out of range");
	BOTH(p.a, p.b, "SELECT", "-1");
	BOTH(p.a, p.b, "SELECT", "x");
	BOTH(p.a, p.b, "SELECT", "1.5");
	BOTH(p.a, p.b, "SELECT", "99999999999");
	assert_string_equal(BOTH(p.a, p.b, "SELECT", "15"), "+OK");
	BOTH(p.a, p.b, "SELECT", "0");
	BOTH(p.a, p.b, "SWAPDB", "100", "abc");
	BOTH(p.a, p.b, "SWAPDB", "abc", "1");
	BOTH(p.a, p.b, "SWAPDB", "0", "16");
	BOTH(p.a, p.b, "SWAPDB", "-1", "0");
	BOTH(p.a, p.b, "SWAPDB", "1", "99999999999");
	BOTH(p.a, p.b, "SWAPDB", "1", "1");
	BOTH(p.a, p.b, "SWAPDB", "1");
	BOTH(p.a, p.b, "SET", "k", "v");
	BOTH(p.a, p.b, "MOVE", "k", "0");
	BOTH(p.a, p.b, "MOVE", "k", "16");
	BOTH(p.a, p.b, "MOVE", "k", "x");
	BOTH(p.a, p.b, "MOVE", "k", "99999999999");
	BOTH(p.a, p.b, "MOVE", "nokey", "0");
	BOTH(p.a, p.b, "MOVE", "nokey", "3");
	BOTH(p.a, p.b, "COPY", "k", "k2", "DB", "16");
	BOTH(p.a, p.b, "COPY", "k", "k2", "DB", "x");
	BOTH(p.a, p.b, "COPY", "k", "k", "DB", "0");
	BOTH(p.a, p.b, "COPY", "k", "k");
	BOTH(p.a, p.b, "COPY", "k", "k", "DB");
	assert_string_equal(BOTH(p.a, p.b, "COPY", "k", "k", "DB", "1"), ":1");
	BOTH(p.a, p.b, "COPY", "k", "k", "DB", "1");
	BOTH(p.a, p.b, "COPY", "k", "k", "DB", "1", "REPLACE");
	BOTH(p.a, p.b, "FLUSHDB", "x");
	BOTH(p.a, p.b, "FLUSHDB", "SYNC", "ASYNC");
	assert_string_equal(BOTH(p.a, p.b, "CONFIG", "GET", "databases"),
			    "[\"databases\",\"16\"]");
	BOTH(p.a, p.b, "CONFIG", "SET", "databases", "4");
	/* (COMMAND INFO's categories come in another order than Redis's) */
	assert_non_null(strstr(Q(p.a, "COMMAND", "INFO", "swapdb"), "[\"swapdb\",:3,[+write,+fast]"));
	close_pair(&p);
}

/* ---- the random sequence against redis-server ------------------------------- */

static uint64_t rng;

static unsigned rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

#define NDB 4
#define NKEYS 5

static void test_db_oracle(void **state)
{
	struct pair p;
	struct kc *wa, *wb;     /* a second client on each side: WATCH ... EXEC */
	const char *env = getenv("COWKV_SEED");
	char k[8], k2[8], d[8], d2[8], num[24];
	int cur = 0, wdb = -1;

	(void)state;
	if (!open_pair(&p))
		skip();
	wa = kc_open(p.k->port);
	wb = kc_open(p.r->port);
	rng = env ? strtoull(env, NULL, 10) : (uint64_t)time(NULL) * 2654435761u;
	if (!rng)
		rng = 1;
	fprintf(stderr, "seed %llu (COWKV_SEED=... to replay)\n", (unsigned long long)rng);
	for (int step = 0; step < 4000; step++) {
		unsigned op = rnd(30);

		snprintf(k, sizeof k, "k%u", rnd(NKEYS));
		snprintf(k2, sizeof k2, "k%u", rnd(NKEYS));
		snprintf(d, sizeof d, "%u", rnd(NDB));
		snprintf(d2, sizeof d2, "%u", rnd(NDB));
		switch (op) {
		case 0: case 1:
			if (rnd(40) == 0)
				snprintf(d, sizeof d, "%s", rnd(2) ? "15" : "16");
			if (!strcmp(BOTH(p.a, p.b, "SELECT", d), "+OK"))
				cur = atoi(d);
			break;
		case 2: BOTH(p.a, p.b, "SET", k, d); break;
		case 3: BOTH(p.a, p.b, "GET", k); break;
		case 4: BOTH(p.a, p.b, "INCR", k); break;
		case 5: BOTH(p.a, p.b, "RPUSH", k, d); break;
		case 6: BOTH(p.a, p.b, "HSET", k, "f", d); break;
		case 7: BOTH(p.a, p.b, "SADD", k, d); break;
		case 8: BOTH(p.a, p.b, "DEL", k); break;
		case 9: BOTH(p.a, p.b, "EXISTS", k, k2); break;
		case 10: BOTH(p.a, p.b, "TYPE", k); break;
		case 11: case 12: BOTH(p.a, p.b, "MOVE", k, d); break;
		case 13: BOTH(p.a, p.b, "SWAPDB", d, d2); break;
		case 14:
			if (rnd(2))
				BOTH(p.a, p.b, "COPY", k, k2, "DB", d);
			else
				BOTH(p.a, p.b, "COPY", k, k2, "DB", d, "REPLACE");
			break;
		case 15: BOTH(p.a, p.b, "COPY", k, k2); break;
		case 16: BOTH(p.a, p.b, "RENAME", k, k2); break;
		case 17:
			if (rnd(8) == 0)
				BOTH(p.a, p.b, rnd(4) ? "FLUSHDB" : "FLUSHALL");
			else
				BOTH(p.a, p.b, "DBSIZE");
			break;
		case 18:
			snprintf(num, sizeof num, "%u", 4102444800u + rnd(1000));
			BOTH(p.a, p.b, "EXPIREAT", k, num);
			break;
		case 19: BOTH(p.a, p.b, "EXPIRETIME", k); break;
		case 20: BOTH(p.a, p.b, "PERSIST", k); break;
		case 21: BOTH(p.a, p.b, "PEXPIREAT", k, "1"); break;	/* gone at once */
		case 22: BOTH(p.a, p.b, "LRANGE", k, "0", "-1"); break;
		case 23: BOTH(p.a, p.b, "RENAMENX", k, k2); break;
		case 24:
			if (wdb < 0) {
				wdb = atoi(d);
				BOTH(wa, wb, "SELECT", d);
				BOTH(wa, wb, "WATCH", k);
			} else {
				BOTH(wa, wb, "WATCH", k);
			}
			break;
		case 25:
			if (wdb >= 0) {
				BOTH(wa, wb, "MULTI");
				BOTH(wa, wb, "INCR", "wcount");
				BOTH(wa, wb, "EXEC");
				wdb = -1;
			}
			break;
		case 26: BOTH(p.a, p.b, "DBSIZE"); break;
		case 27: BOTH(p.a, p.b, "SCARD", k); break;
		case 28:
			/* a transaction that changes database half-way */
			BOTH(p.a, p.b, "MULTI");
			BOTH(p.a, p.b, "SET", k, "m");
			BOTH(p.a, p.b, "SELECT", d);
			BOTH(p.a, p.b, "MOVE", k, d2);
			BOTH(p.a, p.b, "EXEC");
			cur = atoi(d);
			break;
		case 29: BOTH(p.a, p.b, "HGET", k, "f"); break;
		}
		if (step % 250 == 249)
			compare_dbs(p.a, p.b, NDB, cur);
	}
	compare_dbs(p.a, p.b, 16, cur);
	kc_close(wa);
	kc_close(wb);
	close_pair(&p);
}

/* ---- WATCH, blocking, notifications, scripts, expiry -------------------------- */

/* Read messages from both subscribers until the one on channel "end"; the
 * two sequences must be the same. */
static void same_messages(struct kc *a, struct kc *b)
{
	for (int i = 0; i < 200; i++) {
		char ra[8192];
		const char *rb;

		snprintf(ra, sizeof ra, "%s", next(a));
		rb = next(b);
		if (strcmp(ra, rb))
			fail_msg("message %d: cowkv %s, redis %s", i, ra, rb);
		if (strstr(ra, "\"end\""))
			return;
	}
	fail_msg("no end message");
}

/* Messages from c until the one on channel "end", sorted, joined by '\n'
 * into out (the order of expiry across databases is the server's). */
static void sorted_messages(struct kc *c, char *out, size_t len)
{
	char *v[256];
	size_t n = 0, at = 0;

	for (;;) {
		const char *m = next(c);

		if (strstr(m, "\"end\""))
			break;
		assert_true(n < 256);
		v[n] = strdup(m);
		assert_non_null(v[n]);
		n++;
	}
	qsort(v, n, sizeof *v, cmp_str);
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (at < len)
			at += (size_t)snprintf(out + at, len - at, "%s\n", v[i]);
		free(v[i]);
	}
}

static void test_db_semantics(void **state)
{
	struct pair p;
	struct kc *a2, *b2, *sa, *sb;
	const char *s;

	(void)state;
	if (!open_pair(&p))
		skip();
	a2 = kc_open(p.k->port);
	b2 = kc_open(p.r->port);

	/* WATCH is of (database, key) */
	BOTH(a2, b2, "SELECT", "1");
	BOTH(a2, b2, "WATCH", "x");
	BOTH(p.a, p.b, "SET", "x", "0");		/* db 0: not the watched key */
	BOTH(a2, b2, "MULTI");
	BOTH(a2, b2, "SET", "y", "1");
	assert_string_equal(BOTH(a2, b2, "EXEC"), "[+OK]");
	BOTH(a2, b2, "WATCH", "x");
	assert_string_equal(BOTH(p.a, p.b, "MOVE", "x", "1"), ":1");	/* into db 1 */
	BOTH(a2, b2, "MULTI");
	BOTH(a2, b2, "SET", "y", "2");
	assert_string_equal(BOTH(a2, b2, "EXEC"), "(nilarray)");
	BOTH(a2, b2, "WATCH", "x");
	BOTH(p.a, p.b, "SELECT", "2");
	BOTH(p.a, p.b, "FLUSHDB");			/* db 2: does not touch db 1 */
	BOTH(a2, b2, "MULTI");
	BOTH(a2, b2, "GET", "x");
	assert_string_equal(BOTH(a2, b2, "EXEC"), "[\"0\"]");
	BOTH(a2, b2, "WATCH", "x");
	BOTH(p.a, p.b, "SWAPDB", "1", "2");		/* x leaves db 1 */
	BOTH(a2, b2, "MULTI");
	BOTH(a2, b2, "GET", "x");
	assert_string_equal(BOTH(a2, b2, "EXEC"), "(nilarray)");
	BOTH(a2, b2, "WATCH", "y");			/* y is in db 2 now */
	BOTH(p.a, p.b, "SELECT", "1");
	BOTH(p.a, p.b, "FLUSHDB");
	BOTH(a2, b2, "MULTI");
	BOTH(a2, b2, "PING");
	BOTH(a2, b2, "EXEC");
	BOTH(a2, b2, "WATCH", "cp");
	BOTH(p.a, p.b, "SELECT", "2");
	BOTH(p.a, p.b, "COPY", "x", "cp", "DB", "1");
	BOTH(a2, b2, "MULTI");
	BOTH(a2, b2, "GET", "cp");
	assert_string_equal(BOTH(a2, b2, "EXEC"), "(nilarray)");
	BOTH(p.a, p.b, "FLUSHALL");

	/* a transaction and a script change their own database */
	BOTH(p.a, p.b, "SELECT", "0");
	BOTH(p.a, p.b, "MULTI");
	BOTH(p.a, p.b, "SELECT", "3");
	BOTH(p.a, p.b, "SET", "m", "1");
	assert_string_equal(BOTH(p.a, p.b, "EXEC"), "[+OK,+OK]");
	assert_string_equal(BOTH(p.a, p.b, "GET", "m"), "\"1\"");
	assert_string_equal(BOTH(p.a, p.b, "EVAL", "redis.call('SELECT', 4); "
				 "redis.call('SET', 'sk', 'v'); return redis.call('GET', 'sk')",
				 "0"), "\"v\"");
	assert_string_equal(BOTH(p.a, p.b, "GET", "sk"), "(nil)");	/* still db 3 */
	assert_string_equal(BOTH(p.a, p.b, "EVAL", "return redis.call('GET', KEYS[1])",
				 "1", "m"), "\"1\"");
	BOTH(p.a, p.b, "SELECT", "4");
	assert_string_equal(BOTH(p.a, p.b, "GET", "sk"), "\"v\"");
	assert_string_equal(BOTH(p.a, p.b, "DBSIZE"), ":1");
	/* RESET goes back to db 0; HELLO does not (as redis-server 7.0) */
	BOTH(p.a, p.b, "SELECT", "4");
	s = Q(p.a, "CLIENT", "INFO");
	assert_non_null(strstr(s, " db=4 "));
	s = Q(p.a, "CLIENT", "LIST");
	assert_non_null(strstr(s, " db=4 "));
	Q(p.a, "HELLO", "2", "SETNAME", "x");	/* (its id differs) */
	Q(p.b, "HELLO", "2", "SETNAME", "x");
	assert_string_equal(BOTH(p.a, p.b, "GET", "sk"), "\"v\"");
	BOTH(p.a, p.b, "RESET");
	assert_string_equal(BOTH(p.a, p.b, "GET", "sk"), "(nil)");
	s = Q(p.a, "CLIENT", "INFO");
	assert_non_null(strstr(s, " db=0 "));
	/* DEBUG HTSTATS of any database (redis-server refuses DEBUG here) */
	s = Q(p.a, "DEBUG", "HTSTATS", "4");
	assert_non_null(strstr(s, "number of elements: 1"));
	assert_string_equal(Q(p.a, "DEBUG", "HTSTATS", "16"), "-ERR Out of range database");
	/* DEBUG DIGEST-VALUE: a copy in another database digests the same */
	{
		char d4[128];

		EXPECT(p.a, "+OK", "SELECT", "4");
		EXPECT(p.a, ":2", "RPUSH", "dl", "a", "b");
		EXPECT(p.a, ":1", "COPY", "dl", "dl", "DB", "5");
		snprintf(d4, sizeof d4, "%s", Q(p.a, "DEBUG", "DIGEST-VALUE", "dl", "nokey"));
		assert_non_null(strstr(d4, ",+0000000000000000000000000000000000000000]"));
		EXPECT(p.a, "+OK", "SELECT", "5");
		assert_string_equal(Q(p.a, "DEBUG", "DIGEST-VALUE", "dl", "nokey"), d4);
		EXPECT(p.a, ":3", "RPUSH", "dl", "c");
		assert_string_not_equal(Q(p.a, "DEBUG", "DIGEST-VALUE", "dl", "nokey"), d4);
		EXPECT(p.a, "+OK", "SELECT", "0");
	}

	/* blocked clients wake on their database only */
	BOTH(a2, b2, "SELECT", "2");
	SEND(a2, "BLPOP", "q", "0");
	SEND(b2, "BLPOP", "q", "0");
	wait_blocked(p.a, 1);
	wait_blocked(p.b, 1);
	BOTH(p.a, p.b, "RPUSH", "q", "db0");		/* p is in db 0: no wake-up */
	assert_string_equal(BOTH(p.a, p.b, "LLEN", "q"), ":1");
	BOTH(p.a, p.b, "SELECT", "2");
	BOTH(p.a, p.b, "RPUSH", "q", "db2");
	assert_string_equal(next(a2), "[\"q\",\"db2\"]");
	assert_string_equal(next(b2), "[\"q\",\"db2\"]");
	/* ...and on SWAPDB and MOVE that bring a value */
	BOTH(a2, b2, "SELECT", "3");
	SEND(a2, "BLPOP", "sw", "0");
	SEND(b2, "BLPOP", "sw", "0");
	wait_blocked(p.a, 1);
	wait_blocked(p.b, 1);
	BOTH(p.a, p.b, "SELECT", "5");
	BOTH(p.a, p.b, "RPUSH", "sw", "z");
	BOTH(p.a, p.b, "SWAPDB", "3", "5");
	assert_string_equal(next(a2), "[\"sw\",\"z\"]");
	assert_string_equal(next(b2), "[\"sw\",\"z\"]");
	SEND(a2, "BZPOPMIN", "zz", "0");
	SEND(b2, "BZPOPMIN", "zz", "0");
	wait_blocked(p.a, 1);
	wait_blocked(p.b, 1);
	BOTH(p.a, p.b, "ZADD", "zz", "1", "m");
	BOTH(p.a, p.b, "MOVE", "zz", "3");
	assert_string_equal(next(a2), "[\"zz\",\"m\",\"1\"]");
	assert_string_equal(next(b2), "[\"zz\",\"m\",\"1\"]");

	/* keyspace notifications name the database */
	sa = kc_open(p.k->port);
	sb = kc_open(p.r->port);
	BOTH(p.a, p.b, "CONFIG", "SET", "notify-keyspace-events", "KEA");
	BOTH(sa, sb, "PSUBSCRIBE", "__key*__:*");
	BOTH(sa, sb, "SUBSCRIBE", "end");
	BOTH(p.a, p.b, "SELECT", "6");
	BOTH(p.a, p.b, "SET", "n", "1");
	BOTH(p.a, p.b, "MOVE", "n", "7");
	BOTH(p.a, p.b, "SELECT", "7");
	BOTH(p.a, p.b, "COPY", "n", "n2", "DB", "8");
	BOTH(p.a, p.b, "EXPIRE", "n", "100");
	BOTH(p.a, p.b, "SWAPDB", "7", "8");
	BOTH(p.a, p.b, "DEL", "n2");
	BOTH(p.a, p.b, "PEXPIREAT", "nope", "1");
	BOTH(p.a, p.b, "PUBLISH", "end", "x");
	same_messages(sa, sb);

	/* expiry in every database: lazy... */
	for (int d = 0; d < 16; d++) {
		char db[8];

		snprintf(db, sizeof db, "%d", d);
		BOTH(p.a, p.b, "SELECT", db);
		BOTH(p.a, p.b, "SET", "ex", "v", "PX", "20");
	}
	sleep_ms(60);
	for (int d = 0; d < 16; d++) {
		char db[8];

		snprintf(db, sizeof db, "%d", d);
		BOTH(p.a, p.b, "SELECT", db);
		assert_string_equal(BOTH(p.a, p.b, "EXISTS", "ex"), ":0");
	}
	BOTH(p.a, p.b, "PUBLISH", "end", "x");
	{
		/* "expired" in each database (lazily or not: in any order) */
		static char ma[65536], mb[65536];

		sorted_messages(sa, ma, sizeof ma);
		sorted_messages(sb, mb, sizeof mb);
		if (strcmp(ma, mb))
			fail_msg("expiry events: cowkv\n%s\nredis\n%s", ma, mb);
		assert_non_null(strstr(ma, "__keyevent@15__:expired"));
	}
	/* ...and active, without touching the keys */
	for (int d = 10; d < 16; d++) {
		char db[8];

		snprintf(db, sizeof db, "%d", d);
		EXPECT(p.a, "+OK", "SELECT", db);
		EXPECT(p.a, "+OK", "SET", "act", "v", "PX", "20");
	}
	{
		int64_t deadline = now_ms() + 5000;
		char ks[4096];

		for (;;) {
			bool left = false;

			keyspace_lines(p.a, ks, sizeof ks);
			for (int d = 10; d < 16; d++) {
				char name[8];

				snprintf(name, sizeof name, "db%d:", d);
				left |= strstr(ks, name) != NULL;
			}
			if (!left)
				break;
			if (now_ms() > deadline)
				fail_msg("active expiry left keys: %s", ks);
			sleep_ms(20);
		}
		/* an "expired" event in each of those databases, in any order */
		for (unsigned seen = 0; seen != 0x3f;) {
			s = next(sa);
			for (int d = 10; d < 16; d++) {
				char ev[64];

				snprintf(ev, sizeof ev, "__keyevent@%d__:expired", d);
				if (strstr(s, ev))
					seen |= 1u << (d - 10);
			}
		}
	}
	kc_close(sa);
	kc_close(sb);
	kc_close(a2);
	kc_close(b2);
	close_pair(&p);
}

/* ---- restart, persistence ----------------------------------------------------- */

/* The keys test_db_restart writes, checked in cowkv c. */
static void check_restart_data(struct kc *c)
{
	EXPECT(c, "+OK", "SELECT", "0");
	EXPECT(c, "\"zero\"", "GET", "s");
	EXPECT(c, ":1", "DBSIZE");
	EXPECT(c, "+OK", "SELECT", "3");
	EXPECT(c, "[\"a\",\"b\"]", "LRANGE", "s", "0", "-1");
	EXPECT(c, "\"v\"", "HGET", "h", "f");
	EXPECT(c, ":4102444800", "EXPIRETIME", "h");
	EXPECT(c, ":2", "DBSIZE");
	EXPECT(c, "+OK", "SELECT", "15");
	EXPECT(c, ":2", "SCARD", "s");
	EXPECT(c, "[\"m\",\"2\"]", "ZRANGE", "z", "0", "-1", "WITHSCORES");
	EXPECT(c, ":2", "DBSIZE");
	EXPECT(c, "+OK", "SELECT", "7");
	EXPECT(c, ":0", "DBSIZE");
}

static void test_db_restart(void **state)
{
	char *dir = new_tmpdir(), log[300], ks[4096];
	struct server *s;
	struct kc *c;
	int port;

	(void)state;
	s = start_cowkv(dir, NULL);
	port = s->port;
	c = kc_open(port);
	EXPECT(c, "+OK", "SET", "s", "zero");
	EXPECT(c, "+OK", "SELECT", "3");
	EXPECT(c, ":2", "RPUSH", "s", "a", "b");
	EXPECT(c, ":1", "HSET", "h", "f", "v");
	EXPECT(c, ":1", "EXPIREAT", "h", "4102444800");
	EXPECT(c, "+OK", "SELECT", "15");
	EXPECT(c, ":2", "SADD", "s", "x", "y");
	EXPECT(c, ":1", "ZADD", "z", "2", "m");
	EXPECT(c, "+OK", "SAVE");
	kc_close(c);
	stop_server(s, SIGKILL);
	/* back after a crash */
	s = start_cowkv_at(dir, port, NULL);
	c = kc_open(port);
	check_restart_data(c);
	keyspace_lines(c, ks, sizeof ks);
	assert_string_equal(ks, "db0:keys=1,expires=0;db3:keys=2,expires=1;db15:keys=2,expires=0;");
	kc_close(c);
	stop_server(s, SIGTERM);
	/* fewer databases than the store uses: refused, and the store is kept */
	snprintf(log, sizeof log, "/tmp/test_cowkv_db.%d.log", (int)getpid());
	assert_int_equal(run_cowkv(log, (const char *[]){ "--port", "0", "--dir", dir,
							  "--databases", "4", NULL }), 1);
	assert_true(file_has(log, "--databases"));
	unlink(log);
	/* more databases: fine */
	s = start_cowkv_at(dir, port, "--databases", "32", NULL);
	c = kc_open(port);
	check_restart_data(c);
	EXPECT(c, "+OK", "SELECT", "31");
	EXPECT(c, "-ERR DB index is out of range", "SELECT", "32");
	EXPECT(c, "[\"databases\",\"32\"]", "CONFIG", "GET", "databases");
	EXPECT(c, "+OK", "SET", "in31", "1");
	/* active expiry reaches databases past 16 too (16 a cycle, in turn) */
	EXPECT(c, "+OK", "SET", "gone", "1", "PX", "10");
	EXPECT(c, "+OK", "SELECT", "20");
	EXPECT(c, "+OK", "SET", "gone", "1", "PX", "10");
	for (int64_t deadline = now_ms() + 5000;;) {
		keyspace_lines(c, ks, sizeof ks);
		if (!strstr(ks, "db20:") && !strstr(ks, "db31:keys=2"))
			break;
		if (now_ms() > deadline)
			fail_msg("active expiry left keys: %s", ks);
		sleep_ms(20);
	}
	EXPECT(c, "+OK", "SAVE");
	kc_close(c);
	stop_server(s, SIGKILL);
	s = start_cowkv_at(dir, port, "--databases", "32", NULL);
	c = kc_open(port);
	check_restart_data(c);
	EXPECT(c, "+OK", "SELECT", "31");
	EXPECT(c, "\"1\"", "GET", "in31");
	kc_close(c);
	stop_server(s, SIGTERM);
}

/* ---- RDB export and import ------------------------------------------------------- */

/* The keys test_db_rdb puts in databases 0, 2 and 9, as a server that loaded
 * them shows them (c starts in db 0 and ends in db 9). */
static void expect_rdb_dbs(struct kc *c)
{
	EXPECT(c, "\"db0\"", "GET", "a");
	EXPECT(c, "+OK", "SELECT", "2");
	EXPECT(c, "\"db2\"", "GET", "a");
	EXPECT(c, "[\"1\",\"2\",\"3\"]", "LRANGE", "l", "0", "-1");
	EXPECT(c, "+OK", "SELECT", "9");
	EXPECT(c, "\"nine\"", "HGET", "h", "f");
	EXPECT(c, ":4102444800", "EXPIRETIME", "h");
}

static void test_db_rdb(void **state)
{
	char *dir = new_tmpdir(), path[300], log[300], port_s[16];
	struct server *s, *r;
	struct kc *c;

	(void)state;
	if (!have_program("redis-server"))
		skip();
	s = start_cowkv(dir, NULL);
	c = kc_open(s->port);
	EXPECT(c, "+OK", "SET", "a", "db0");
	EXPECT(c, "+OK", "SELECT", "2");
	EXPECT(c, "+OK", "SET", "a", "db2");
	EXPECT(c, ":3", "RPUSH", "l", "1", "2", "3");
	EXPECT(c, "+OK", "SELECT", "9");
	EXPECT(c, ":1", "HSET", "h", "f", "nine");
	EXPECT(c, ":1", "EXPIREAT", "h", "4102444800");
	EXPECT(c, "+OK", "SAVE");
	kc_close(c);
	stop_server(s, SIGTERM);
	/* cowkv --dir D --export x.rdb; redis-server loads x.rdb */
	snprintf(path, sizeof path, "%s/x.rdb", dir);
	snprintf(log, sizeof log, "/tmp/test_cowkv_db.%d.export.log", (int)getpid());
	if (run_cowkv(log, (const char *[]){ "--dir", dir, "--export", path, NULL })) {
		(void)!system("cat /tmp/test_cowkv_db.*.export.log >&2");
		fail_msg("cowkv --export failed");
	}
	unlink(log);
	r = calloc(1, sizeof *r);
	assert_non_null(r);
	r->port = free_port();
	snprintf(port_s, sizeof port_s, "%d", r->port);
	snprintf(r->log, sizeof r->log, "/tmp/test_cowkv_db.%d.redis.log", (int)getpid());
	start_prog(r, "redis-server", (const char *[]){ "--port", port_s, "--bind", "127.0.0.1",
							"--save", "", "--appendonly", "no",
							"--dir", dir, "--dbfilename", "x.rdb",
							NULL });
	c = kc_open(r->port);
	expect_rdb_dbs(c);
	/* redis-server adds db 11 and saves x.rdb again; cowkv --import it */
	EXPECT(c, "+OK", "SELECT", "11");
	EXPECT(c, "+OK", "SET", "eleven", "11");
	EXPECT(c, "+OK", "SAVE");
	kc_close(c);
	stop_server(r, SIGTERM);
	s = start_cowkv(NULL, "--import", path, NULL);
	c = kc_open(s->port);
	EXPECT(c, ":1", "DBSIZE");
	expect_rdb_dbs(c);
	EXPECT(c, "+OK", "SELECT", "11");
	EXPECT(c, "\"11\"", "GET", "eleven");
	kc_close(c);
	stop_server(s, SIGTERM);
	/* an RDB with keys in a database past --databases is refused */
	assert_int_equal(run_cowkv(log, (const char *[]){ "--port", "0", "--databases", "4",
							  "--import", path, NULL }), 1);
	assert_true(file_has(log, "database 9"));
	unlink(log);
}

/* ---- old stores ------------------------------------------------------------------ */

/* The root of KV_VERSION 2, and of version 1 (the same without funcs).
 * Written out here rather than taken from cowkv/db.c on purpose: the test
 * pins the old on-disk layout, so a change to db.c's copy shows. */
struct root_v2 {
	uint64_t magic;
	uint32_t version;
	uint32_t pad;
	uint64_t seed;
	int64_t created_ms;
	struct kv_dict keys;
	struct kv_ttl ttl;
	kv_off funcs;
};

/* A new entry in heap h of the space at base, linked into dict d (4
 * buckets); val/vlen: its value block. */
static struct kv_ent *old_ent(cow_heap *h, char *base, struct kv_dict *d, uint64_t seed,
			      const char *key, enum kv_type type, kv_off val, uint64_t vlen)
{
	size_t klen = strlen(key);
	kv_off o = cow_heap_calloc(h, 1, sizeof(struct kv_ent) + klen + 1);
	struct kv_ent *e = (struct kv_ent *)(base + o);
	kv_off *tab = (kv_off *)(base + d->tab[0]);

	assert_true(o != 0);
	e->hash = XXH3_64bits_withSeed(key, klen, seed);
	e->klen = (uint32_t)klen;
	e->type = (uint8_t)type;
	e->val = val;
	e->vlen = vlen;
	memcpy(e->key, key, klen + 1);
	e->next = tab[e->hash & (d->size[0] - 1)];
	tab[e->hash & (d->size[0] - 1)] = o;
	d->count++;
	return e;
}

/* A dict with 4 buckets, made in place at d. */
static void old_dict(cow_heap *h, struct kv_dict *d)
{
	memset(d, 0, sizeof *d);
	d->tab[0] = cow_heap_calloc(h, 4, sizeof(kv_off));
	assert_true(d->tab[0] != 0);
	d->size[0] = 4;
	d->rehash = -1;
}

/* A value block holding s. */
static kv_off old_bytes(cow_heap *h, char *base, const char *s)
{
	kv_off o = cow_heap_alloc(h, strlen(s));

	assert_true(o != 0);
	memcpy(base + o, s, strlen(s));
	return o;
}

/* Write, as cowkv of KV_VERSION version (1 or 2) did, a store at path
 * holding: str = "old", h = {f: "hv"} expiring at 4102444800 s, n = "42". */
static void write_old_store(const char *path, uint32_t version)
{
	cow_space *s = cow_space_create(32u << 20, 0);
	cow_heap *h;
	cow_store *st;
	cow_snap *snap;
	char *base;
	kv_off r, hd, arr;
	struct root_v2 *root;
	struct kv_ent *e;
	uint64_t seed = 0x1234567890abcdefull;

	assert_non_null(s);
	h = cow_heap_init(s);
	assert_non_null(h);
	base = cow_base(s);
	r = cow_heap_calloc(h, 1, version == 1 ? offsetof(struct root_v2, funcs)
					       : sizeof(struct root_v2));
	assert_true(r != 0);
	root = (struct root_v2 *)(base + r);
	root->magic = KV_MAGIC;
	root->version = version;
	root->seed = seed;
	root->created_ms = 1700000000000;
	old_dict(h, &root->keys);
	old_ent(h, base, &root->keys, seed, "str", KV_STRING, old_bytes(h, base, "old"), 3);
	old_ent(h, base, &root->keys, seed, "n", KV_STRING, old_bytes(h, base, "42"), 2);
	hd = cow_heap_calloc(h, 1, sizeof(struct kv_dict));
	assert_true(hd != 0);
	old_dict(h, (struct kv_dict *)(base + hd));
	old_ent(h, base, (struct kv_dict *)(base + hd), seed, "f", KV_FIELD,
		old_bytes(h, base, "hv"), 2);
	e = old_ent(h, base, &root->keys, seed, "h", KV_HASH, hd, 0);
	e->expire = 4102444800000;
	e->ttl_pos = 0;
	arr = cow_heap_calloc(h, 16, sizeof(kv_off));
	assert_true(arr != 0);
	((kv_off *)(base + arr))[0] = (kv_off)((char *)e - base);
	root->ttl.arr = arr;
	root->ttl.cap = 16;
	root->ttl.count = 1;
	assert_int_equal(cow_heap_set_root(h, r), 0);
	st = cow_store_open(path, COW_STORE_CREATE);
	assert_non_null(st);
	snap = cow_snapshot(s);
	assert_non_null(snap);
	assert_int_equal(cow_store_commit(st, snap, NULL), 0);
	cow_snap_release(snap);
	assert_int_equal(cow_store_close(st), 0);
	cow_heap_close(h);
	cow_space_destroy(s);
}

static void check_old_data(struct kc *c)
{
	EXPECT(c, "+OK", "SELECT", "0");
	EXPECT(c, "\"old\"", "GET", "str");
	EXPECT(c, ":43", "INCR", "n");
	EXPECT(c, "\"hv\"", "HGET", "h", "f");
	EXPECT(c, ":4102444800", "EXPIRETIME", "h");
	EXPECT(c, ":3", "DBSIZE");
}

static void test_db_old_store(void **state)
{
	(void)state;
	for (uint32_t version = 1; version <= 2; version++) {
		char *dir = new_tmpdir(), path[300];
		struct server *s;
		struct kc *c;
		int port;

		snprintf(path, sizeof path, "%s/cowkv.store", dir);
		write_old_store(path, version);
		s = start_cowkv(dir, NULL);
		port = s->port;
		c = kc_open(port);
		check_old_data(c);
		EXPECT(c, "+OK", "SELECT", "1");
		EXPECT(c, ":0", "DBSIZE");
		EXPECT(c, "+OK", "SET", "new", "in1");
		EXPECT(c, "+OK", "SAVE");
		kc_close(c);
		stop_server(s, SIGKILL);
		/* the upgraded root was saved: both databases back */
		s = start_cowkv_at(dir, port, NULL);
		c = kc_open(port);
		EXPECT(c, "\"43\"", "GET", "n");
		EXPECT(c, "\"old\"", "GET", "str");
		EXPECT(c, "+OK", "SELECT", "1");
		EXPECT(c, "\"in1\"", "GET", "new");
		kc_close(c);
		stop_server(s, SIGTERM);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_db_errors, teardown),
		cmocka_unit_test_teardown(test_db_oracle, teardown),
		cmocka_unit_test_teardown(test_db_semantics, teardown),
		cmocka_unit_test_teardown(test_db_restart, teardown),
		cmocka_unit_test_teardown(test_db_rdb, teardown),
		cmocka_unit_test_teardown(test_db_old_store, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	atexit(kill_all);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
