/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_cowkv_multi.c — cowkv's transactions and blocking commands (issue 13
 * part B), replies compared byte for byte with Debian's redis-server where
 * the scenario is deterministic: MULTI/EXEC/DISCARD/WATCH with their
 * errors, WATCH broken by other clients, expiry and FLUSHALL; BLPOP, BRPOP,
 * BLMOVE, BRPOPLPUSH, BLMPOP with timeouts, fairness, wake-up after EXEC and
 * CLIENT UNBLOCK; redis-py's default pipeline() (MULTI/EXEC); FLUSHALL's
 * cost on a large, empty space.
 */
#include "kvharness.h"

static void test_multi_exec(void **state)
{
	struct pair p;

	(void)state;
	if (!open_pair(&p))
		skip();
	BOTH(p.a, p.b, "RPUSH", "l", "a", "b", "c");
	assert_string_equal(BOTH(p.a, p.b, "MULTI"), "+OK");
	assert_string_equal(BOTH(p.a, p.b, "LRANGE", "l", "0", "-1"), "+QUEUED");
	BOTH(p.a, p.b, "SET", "k", "1");
	BOTH(p.a, p.b, "INCR", "k");
	BOTH(p.a, p.b, "INCR", "l");		/* runtime error: in the EXEC reply */
	BOTH(p.a, p.b, "PING");
	assert_string_equal(BOTH(p.a, p.b, "EXEC"),
			    "[[\"a\",\"b\",\"c\"],+OK,:2,-WRONGTYPE Operation against a key "
			    "holding the wrong kind of value,+PONG]");
	/* nothing applied before EXEC; EXECABORT after a refused command */
	BOTH(p.a, p.b, "MULTI");
	BOTH(p.a, p.b, "SET", "x", "1");
	BOTH(p.a, p.b, "NOSUCHCOMMAND", "a");
	BOTH(p.a, p.b, "GET");
	assert_string_equal(BOTH(p.a, p.b, "EXISTS", "x"), "+QUEUED");
	assert_string_equal(BOTH(p.a, p.b, "EXEC"),
			    "-EXECABORT Transaction discarded because of previous errors.");
	assert_string_equal(BOTH(p.a, p.b, "EXISTS", "x"), ":0");
	/* the errors of the transaction commands themselves */
	BOTH(p.a, p.b, "EXEC");
	BOTH(p.a, p.b, "DISCARD");
	BOTH(p.a, p.b, "MULTI");
	BOTH(p.a, p.b, "MULTI");
	BOTH(p.a, p.b, "WATCH", "x");
	BOTH(p.a, p.b, "SET", "x", "2");
	assert_string_equal(BOTH(p.a, p.b, "DISCARD"), "+OK");
	assert_string_equal(BOTH(p.a, p.b, "EXISTS", "x"), ":0");
	BOTH(p.a, p.b, "UNWATCH");
	/* blocking commands do not block inside MULTI */
	BOTH(p.a, p.b, "MULTI");
	BOTH(p.a, p.b, "BLPOP", "empty", "0");
	BOTH(p.a, p.b, "BLMOVE", "empty", "x", "LEFT", "RIGHT", "0");
	assert_string_equal(BOTH(p.a, p.b, "EXEC"), "[(nilarray),(nil)]");
	/* an empty transaction */
	BOTH(p.a, p.b, "MULTI");
	assert_string_equal(BOTH(p.a, p.b, "EXEC"), "[]");
	close_pair(&p);
}

/* WATCH on both servers, a change by another client (or none), EXEC. */
static void watch_case(struct pair *p, struct kc *oa, struct kc *ob, const char *want,
		       const char *c1, const char *c2, const char *c3, const char *c4)
{
	BOTH(p->a, p->b, "WATCH", "w");
	if (c1)
		BOTH(oa, ob, c1, c2, c3, c4);
	BOTH(p->a, p->b, "MULTI");
	BOTH(p->a, p->b, "PING");
	assert_string_equal(BOTH(p->a, p->b, "EXEC"), want);
}

static void test_watch(void **state)
{
	struct pair p;
	struct kc *oa, *ob;

	(void)state;
	if (!open_pair(&p))
		skip();
	oa = kc_open(p.k->port);
	ob = kc_open(p.r->port);
	BOTH(p.a, p.b, "SET", "w", "1");
	watch_case(&p, oa, ob, "[+PONG]", NULL, NULL, NULL, NULL);
	watch_case(&p, oa, ob, "(nilarray)", "SET", "w", "2", NULL);
	watch_case(&p, oa, ob, "(nilarray)", "DEL", "w", NULL, NULL);
	watch_case(&p, oa, ob, "[+PONG]", "DEL", "w", NULL, NULL);	/* gone already */
	watch_case(&p, oa, ob, "(nilarray)", "RPUSH", "w", "a", NULL);
	watch_case(&p, oa, ob, "(nilarray)", "EXPIRE", "w", "100", NULL);
	watch_case(&p, oa, ob, "(nilarray)", "RENAME", "w", "w2", NULL);
	watch_case(&p, oa, ob, "(nilarray)", "RENAME", "w2", "w", NULL);
	watch_case(&p, oa, ob, "[+PONG]", "SET", "other", "1", NULL);
	watch_case(&p, oa, ob, "(nilarray)", "FLUSHALL", NULL, NULL, NULL);
	watch_case(&p, oa, ob, "[+PONG]", "FLUSHALL", NULL, NULL, NULL);	/* w absent */
	/* a failed command does not touch; one without effect neither */
	BOTH(p.a, p.b, "SET", "w", "x");
	watch_case(&p, oa, ob, "[+PONG]", "LPUSH", "w", "a", NULL);	/* WRONGTYPE */
	watch_case(&p, oa, ob, "[+PONG]", "DEL", "nothere", NULL, NULL);
	/* the key expires between WATCH and EXEC */
	BOTH(p.a, p.b, "SET", "w", "1", "PX", "50");
	BOTH(p.a, p.b, "WATCH", "w");
	sleep_ms(120);
	BOTH(p.a, p.b, "MULTI");
	BOTH(p.a, p.b, "PING");
	assert_string_equal(BOTH(p.a, p.b, "EXEC"), "(nilarray)");
	/* UNWATCH forgets; the client's own change in the transaction is fine */
	BOTH(p.a, p.b, "SET", "w", "1");
	BOTH(p.a, p.b, "WATCH", "w");
	BOTH(oa, ob, "SET", "w", "2");
	BOTH(p.a, p.b, "UNWATCH");
	BOTH(p.a, p.b, "MULTI");
	BOTH(p.a, p.b, "INCR", "w");
	assert_string_equal(BOTH(p.a, p.b, "EXEC"), "[:3]");
	kc_close(oa);
	kc_close(ob);
	close_pair(&p);
}

/* Append s and a separator to out (calls in order: C leaves the order of
 * a call's arguments open). */
static void add(char *out, size_t len, const char *s)
{
	size_t n = strlen(out);

	snprintf(out + n, len - n, "%s|", s);
}

/* One blocking scenario on one server (port); every reply, in order. */
static void blocking_scenario(int port, char *out, size_t len)
{
	struct kc *w1 = kc_open(port), *w2 = kc_open(port), *p = kc_open(port);
	char w1id[32];

	out[0] = '\0';
	snprintf(w1id, sizeof w1id, "%s", Q(w1, "CLIENT", "ID") + 1);
	Q(p, "FLUSHALL");
	/* fairness: the first to block is served first */
	SEND(w1, "BLPOP", "q1", "q2", "0");
	wait_blocked(p, 1);
	SEND(w2, "BRPOP", "q2", "0");
	wait_blocked(p, 2);
	add(out, len, Q(p, "RPUSH", "q2", "a", "b", "c"));
	add(out, len, next(w1));
	add(out, len, next(w2));
	/* served after EXEC, with the state EXEC left */
	SEND(w1, "BLPOP", "m", "0");
	wait_blocked(p, 1);
	Q(p, "MULTI");
	Q(p, "LPUSH", "m", "x");
	Q(p, "LPUSH", "m", "y");
	Q(p, "LPUSH", "m", "z");
	add(out, len, Q(p, "EXEC"));
	add(out, len, next(w1));
	add(out, len, Q(p, "LRANGE", "m", "0", "-1"));
	/* BLMOVE and a chain: the moved element wakes the next client */
	SEND(w1, "BLMOVE", "src", "dst", "RIGHT", "LEFT", "0");
	wait_blocked(p, 1);
	SEND(w2, "BLPOP", "dst", "0");
	wait_blocked(p, 2);
	add(out, len, Q(p, "RPUSH", "src", "e1", "e2"));
	add(out, len, next(w1));
	add(out, len, next(w2));
	add(out, len, Q(p, "LRANGE", "src", "0", "-1"));
	/* a wrong destination type: the waiting client gets the error */
	Q(p, "SET", "str", "x");
	SEND(w1, "BRPOPLPUSH", "src2", "str", "0");
	wait_blocked(p, 1);
	add(out, len, Q(p, "RPUSH", "src2", "v"));
	add(out, len, next(w1));
	add(out, len, Q(p, "LRANGE", "src2", "0", "-1"));
	/* timeouts: float seconds */
	add(out, len, Q(w1, "BLPOP", "none", "0.05"));
	add(out, len, Q(w1, "BRPOPLPUSH", "none", "d", "0.05"));
	add(out, len, Q(w1, "BLMPOP", "0.05", "2", "none", "none2", "LEFT", "COUNT", "2"));
	/* BLMPOP served */
	SEND(w1, "BLMPOP", "0", "2", "a1", "a2", "RIGHT", "COUNT", "5");
	wait_blocked(p, 1);
	add(out, len, Q(p, "RPUSH", "a2", "1", "2", "3"));
	add(out, len, next(w1));
	/* CLIENT UNBLOCK */
	SEND(w1, "BLPOP", "u", "0");
	wait_blocked(p, 1);
	add(out, len, Q(p, "CLIENT", "UNBLOCK", w1id, "WRONG"));
	add(out, len, Q(p, "CLIENT", "UNBLOCK", w1id));
	add(out, len, next(w1));
	SEND(w1, "BLPOP", "u", "0");
	wait_blocked(p, 1);
	add(out, len, Q(p, "CLIENT", "UNBLOCK", w1id, "ERROR"));
	add(out, len, next(w1));
	add(out, len, Q(p, "CLIENT", "UNBLOCK", w1id));
	/* argument errors */
	add(out, len, Q(p, "BLPOP", "x", "-1"));
	add(out, len, Q(p, "BLPOP", "x", "abc"));
	add(out, len, Q(p, "BLMPOP", "0", "0", "x", "LEFT"));
	add(out, len, Q(p, "BLMOVE", "a", "b", "UP", "LEFT", "0"));
	kc_close(w1);
	kc_close(w2);
	kc_close(p);
}

static void test_blocking(void **state)
{
	struct pair p;
	static char ok[4096], or[4096];

	(void)state;
	if (!open_pair(&p))
		skip();
	blocking_scenario(p.k->port, ok, sizeof ok);
	blocking_scenario(p.r->port, or, sizeof or);
	assert_string_equal(ok, or);
	/* a sample of what both said, so a shared mistake shows too */
	assert_non_null(strstr(ok, ":3|[\"q2\",\"a\"]|[\"q2\",\"c\"]|"));
	assert_non_null(strstr(ok, "[:1,:2,:3]|[\"m\",\"z\"]|[\"y\",\"x\"]|"));
	close_pair(&p);
}

/* redis-py's default pipeline() wraps the commands in MULTI/EXEC. */
static void test_redis_py(void **state)
{
	struct server *s;
	char cmd[1024];

	(void)state;
	if (system("/usr/bin/python3 -c 'import redis' 2>/dev/null") != 0)
		skip();
	s = start_cowkv(NULL, NULL);
	snprintf(cmd, sizeof cmd,
		 "/usr/bin/python3 -c '\n"
		 "import redis\n"
		 "r = redis.Redis(port=%d)\n"
		 "p = r.pipeline()\n"
		 "p.set(\"a\", 1).incr(\"a\").rpush(\"l\", \"x\", \"y\").lrange(\"l\", 0, -1)\n"
		 "assert p.execute() == [True, 2, 2, [b\"x\", b\"y\"]], \"pipeline\"\n"
		 "p = r.pipeline()\n"
		 "p.set(\"b\", 1).lpush(\"b\", 2)\n"
		 "try:\n"
		 "    p.execute()\n"
		 "    raise SystemExit(\"no error\")\n"
		 "except redis.ResponseError:\n"
		 "    pass\n"
		 "assert r.get(\"b\") == b\"1\", \"set in the transaction applied\"\n"
		 "def t(pipe):\n"
		 "    v = int(pipe.get(\"a\"))\n"
		 "    pipe.multi()\n"
		 "    pipe.set(\"a\", v + 10)\n"
		 "r.transaction(t, \"a\")\n"
		 "assert r.get(\"a\") == b\"12\", \"transaction\"\n"
		 "'", s->port);
	assert_int_equal(system(cmd), 0);
}

/* FLUSHALL costs what the data costs, not what the space's size does. */
static void test_flush_cost(void **state)
{
	struct server *s;
	struct kc *c;
	int64_t t0, dt;

	(void)state;
	s = start_cowkv(NULL, "--maxmemory", "4gb", NULL);
	c = kc_open(s->port);
	EXPECT(c, "+OK", "SET", "a", "1");
	t0 = now_ms();
	for (int i = 0; i < 10; i++)
		EXPECT(c, "+OK", "FLUSHALL");
	dt = now_ms() - t0;
	EXPECT(c, ":0", "DBSIZE");
	EXPECT(c, "+OK", "SET", "a", "2");
	EXPECT(c, "\"2\"", "GET", "a");
	print_message("10 FLUSHALL of a 4 GiB space: %lld ms\n", (long long)dt);
	assert_true(dt < 1000);		/* was 1.1 s each */
	kc_close(c);
}

/* CLIENT PAUSE WRITE holds writes (not reads) until it ends or UNPAUSE. */
static void test_pause(void **state)
{
	struct server *s;
	struct kc *a, *b;
	int64_t t0;

	(void)state;
	s = start_cowkv(NULL, NULL);
	a = kc_open(s->port);
	b = kc_open(s->port);
	EXPECT(a, "-ERR timeout is not an integer or out of range", "CLIENT", "PAUSE", "x");
	EXPECT(a, "-ERR CLIENT PAUSE mode must be WRITE or ALL", "CLIENT", "PAUSE", "10", "NO");
	EXPECT(a, "+OK", "CLIENT", "PAUSE", "300", "WRITE");
	t0 = now_ms();
	EXPECT(b, "(nil)", "GET", "k");
	assert_true(now_ms() - t0 < 200);
	EXPECT(b, "+OK", "SET", "k", "1");
	assert_true(now_ms() - t0 >= 250);
	EXPECT(a, "+OK", "CLIENT", "PAUSE", "10000", "WRITE");
	SEND(b, "INCR", "k");
	sleep_ms(50);
	t0 = now_ms();
	EXPECT(a, "+OK", "CLIENT", "UNPAUSE");
	assert_string_equal(next(b), ":2");
	assert_true(now_ms() - t0 < 1000);
	kc_close(a);
	kc_close(b);
}

/* ROLLBACK changes keys: WATCHes break, blocked clients are served. */
static void test_rollback_events(void **state)
{
	struct server *s;
	struct kc *a, *b;

	(void)state;
	s = start_cowkv(NULL, NULL);
	a = kc_open(s->port);
	b = kc_open(s->port);
	EXPECT(a, ":2", "RPUSH", "l", "x", "y");
	EXPECT(a, ":1", "SNAPSHOT");
	EXPECT(a, ":1", "DEL", "l");
	SEND(b, "BLPOP", "l", "0");
	wait_blocked(a, 1);
	EXPECT(a, "+OK", "WATCH", "l");
	EXPECT(a, "+OK", "ROLLBACK", "1");
	assert_string_equal(next(b), "[\"l\",\"x\"]");
	EXPECT(a, "+OK", "MULTI");
	EXPECT(a, "+QUEUED", "LRANGE", "l", "0", "-1");
	EXPECT(a, "(nilarray)", "EXEC");
	kc_close(a);
	kc_close(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_multi_exec, teardown),
		cmocka_unit_test_teardown(test_watch, teardown),
		cmocka_unit_test_teardown(test_blocking, teardown),
		cmocka_unit_test_teardown(test_redis_py, teardown),
		cmocka_unit_test_teardown(test_flush_cost, teardown),
		cmocka_unit_test_teardown(test_pause, teardown),
		cmocka_unit_test_teardown(test_rollback_events, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	atexit(kill_all);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
