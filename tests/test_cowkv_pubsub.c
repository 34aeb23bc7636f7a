/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_cowkv_pubsub.c — cowkv's pub/sub, keyspace notifications and
 * introspection (issue 13 part B), replies compared byte for byte with
 * Debian's redis-server: SUBSCRIBE/PSUBSCRIBE/UNSUBSCRIBE/PUBLISH, PUBSUB,
 * the RESP2 subscribed mode; notify-keyspace-events and the events of every
 * command cowkv has; CLIENT REPLY ON|OFF|SKIP, CLIENT LIST/KILL filters and
 * errors, CONFIG SET rules, COMMAND GETKEYS/COUNT, MONITOR, SLOWLOG.
 */
#include "kvharness.h"


/* The same scenario on both servers: subscriber s, publisher p. */
static void pubsub_scenario(int port, char *out, size_t len)
{
	struct kc *s = kc_open(port), *p = kc_open(port);
	char part[8192];

	out[0] = '\0';
	SEND(s, "SUBSCRIBE", "ch1", "ch2", "ch1");
	SEND(s, "PSUBSCRIBE", "c*", "x?");
	kc_drain(s, 100, part, sizeof part);
	strncat(out, part, len - strlen(out) - 1);
	strncat(out, Q(p, "PUBLISH", "ch1", "hello"), len - strlen(out) - 1);
	strncat(out, Q(p, "PUBLISH", "xy", "w"), len - strlen(out) - 1);
	strncat(out, Q(p, "PUBLISH", "none", "w"), len - strlen(out) - 1);
	strncat(out, Q(p, "PUBSUB", "NUMSUB", "ch1", "ch2", "zz"), len - strlen(out) - 1);
	strncat(out, Q(p, "PUBSUB", "NUMPAT"), len - strlen(out) - 1);
	strncat(out, Q(p, "PUBSUB", "CHANNELS", "*2"), len - strlen(out) - 1);
	strncat(out, Q(p, "PUBSUB", "NUMSUB"), len - strlen(out) - 1);
	kc_drain(s, 100, part, sizeof part);
	strncat(out, part, len - strlen(out) - 1);
	/* subscribed mode: only the (un)subscribe commands, PING, QUIT, RESET */
	SEND(s, "GET", "k");
	SEND(s, "PING");
	SEND(s, "PING", "x");
	SEND(s, "UNSUBSCRIBE", "ch2", "nosuch");
	SEND(s, "PUNSUBSCRIBE", "x?");
	SEND(s, "UNSUBSCRIBE");
	SEND(s, "PUNSUBSCRIBE");
	SEND(s, "UNSUBSCRIBE");
	SEND(s, "PING");
	kc_drain(s, 100, part, sizeof part);
	strncat(out, part, len - strlen(out) - 1);
	strncat(out, Q(p, "PUBSUB", "NUMPAT"), len - strlen(out) - 1);
	kc_close(s);
	kc_close(p);
}

static void test_pubsub(void **state)
{
	struct pair p;
	static char a[16384], b[16384];

	(void)state;
	if (!open_pair(&p))
		skip();
	pubsub_scenario(p.k->port, a, sizeof a);
	pubsub_scenario(p.r->port, b, sizeof b);
	assert_string_equal(a, b);
	assert_non_null(strstr(a, "[\"pmessage\",\"c*\",\"ch1\",\"hello\"]"));
	close_pair(&p);
}

/* Commands and the keyspace events they send, on both servers. */
static void notify_scenario(int port, const char *flags, char *out, size_t len)
{
	struct kc *s = kc_open(port), *p = kc_open(port);
	char part[16384];
	static const char *const cmds[][8] = {
		{ "SET", "k", "v" }, { "SET", "k", "v", "EX", "100" }, { "SETNX", "k2", "1" },
		{ "SETEX", "k3", "100", "x" }, { "PSETEX", "k4", "100000", "x" },
		{ "GETSET", "k", "w" }, { "MSET", "m1", "1", "m2", "2" },
		{ "MSETNX", "m3", "1", "m4", "2" }, { "INCR", "n" }, { "DECRBY", "n", "5" },
		{ "APPEND", "k", "xx" }, { "SETRANGE", "k", "1", "ab" }, { "GETDEL", "k2" },
		{ "DEL", "m1", "nosuch", "m2" }, { "EXPIRE", "m3", "100" }, { "PERSIST", "m3" },
		{ "PEXPIRE", "m4", "-1" }, { "RENAME", "m3", "r3" }, { "RENAMENX", "r3", "r4" },
		{ "HSET", "h", "f", "1", "g", "2" }, { "HSETNX", "h", "f", "1" },
		{ "HSETNX", "h", "z", "1" }, { "HINCRBY", "h", "f", "3" },
		{ "HDEL", "h", "f", "nosuch" }, { "HDEL", "h", "g", "z" },
		{ "RPUSH", "l", "a", "b", "c" }, { "LPUSH", "l", "z" }, { "LPOP", "l" },
		{ "RPOP", "l", "5" }, { "RPUSH", "s", "1", "2" },
		{ "BLMOVE", "s", "d", "LEFT", "RIGHT", "0" }, { "BRPOPLPUSH", "s", "d", "0" },
		{ "BLPOP", "d", "0" }, { "BLMPOP", "0", "1", "d", "LEFT" },
		{ "SET", "e", "1", "PX", "1" },
	};

	out[0] = '\0';
	Q(p, "FLUSHALL");
	strncat(out, Q(p, "CONFIG", "SET", "notify-keyspace-events", flags), len - strlen(out) - 1);
	strncat(out, Q(p, "CONFIG", "GET", "notify-keyspace-events"), len - strlen(out) - 1);
	SEND(s, "PSUBSCRIBE", "__key*__:*");
	kc_drain(s, 50, part, sizeof part);
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
		int argc = 0;
		size_t lens[8];

		while (argc < 8 && cmds[i][argc]) {
			lens[argc] = strlen(cmds[i][argc]);
			argc++;
		}
		kc_sendv(p, argc, (const char **)cmds[i], lens);
		resp_reply_free(kc_read(p));
	}
	sleep_ms(50);
	strncat(out, Q(p, "GET", "e"), len - strlen(out) - 1);	/* lazy expiry */
	kc_drain(s, 100, part, sizeof part);
	strncat(out, part, len - strlen(out) - 1);
	Q(p, "CONFIG", "SET", "notify-keyspace-events", "");
	kc_close(s);
	kc_close(p);
}

static void test_notifications(void **state)
{
	struct pair p;
	static char a[65536], b[65536];
	static const char *const flags[] = { "KEA", "El", "Kg$", "Ex", "AKE", "KEAn", "En", "Kn", "KEm", "" };

	(void)state;
	if (!open_pair(&p))
		skip();
	for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
		notify_scenario(p.k->port, flags[i], a, sizeof a);
		notify_scenario(p.r->port, flags[i], b, sizeof b);
		assert_string_equal(a, b);
	}
	BOTH(p.a, p.b, "CONFIG", "SET", "notify-keyspace-events", "KEQ");
	close_pair(&p);
}

/* CLIENT REPLY, CLIENT LIST/KILL errors, CONFIG SET rules, COMMAND. */
static void test_introspection(void **state)
{
	struct pair p;

	(void)state;
	if (!open_pair(&p))
		skip();
	/* CLIENT REPLY OFF: nothing until ON; SKIP: the next reply only */
	BOTH(p.a, p.b, "CLIENT", "REPLY", "BOGUS");
	SEND(p.a, "CLIENT", "REPLY", "OFF");
	SEND(p.b, "CLIENT", "REPLY", "OFF");
	SEND(p.a, "SET", "a", "1");
	SEND(p.b, "SET", "a", "1");
	BOTH(p.a, p.b, "CLIENT", "REPLY", "ON");
	SEND(p.a, "CLIENT", "REPLY", "SKIP");
	SEND(p.b, "CLIENT", "REPLY", "SKIP");
	SEND(p.a, "INCR", "a");
	SEND(p.b, "INCR", "a");
	assert_string_equal(BOTH(p.a, p.b, "GET", "a"), "\"2\"");
	/* CLIENT LIST and KILL: filters and their errors */
	BOTH(p.a, p.b, "CLIENT", "LIST", "TYPE", "bogus");
	BOTH(p.a, p.b, "CLIENT", "LIST", "ID", "abc");
	BOTH(p.a, p.b, "CLIENT", "LIST", "ID", "999999");
	BOTH(p.a, p.b, "CLIENT", "LIST", "TYPE", "pubsub");
	BOTH(p.a, p.b, "CLIENT", "LIST", "FOO");
	BOTH(p.a, p.b, "CLIENT", "KILL", "TYPE", "bogus");
	BOTH(p.a, p.b, "CLIENT", "KILL", "USER", "nosuchuser");
	BOTH(p.a, p.b, "CLIENT", "KILL", "ID", "0");
	BOTH(p.a, p.b, "CLIENT", "KILL", "ID", "999999");
	BOTH(p.a, p.b, "CLIENT", "KILL", "ADDR", "1.2.3.4:5");
	BOTH(p.a, p.b, "CLIENT", "KILL", "1.2.3.4:5");
	BOTH(p.a, p.b, "CLIENT", "KILL", "SKIPME", "maybe");
	BOTH(p.a, p.b, "CLIENT", "KILL", "LADDR", "1.2.3.4:5");
	BOTH(p.a, p.b, "CLIENT", "NO-EVICT", "wrong");
	BOTH(p.a, p.b, "CLIENT", "NO-EVICT", "on");
	BOTH(p.a, p.b, "CLIENT", "UNBLOCK", "999999");
	{
		const char *info = Q(p.a, "CLIENT", "INFO");

		assert_non_null(strstr(info, " cmd=client|info "));
		assert_non_null(strstr(info, " flags=e "));
	}
	/* the encoding settings' defaults, one by one (Redis's order of a
	 * pattern's matches differs) */
	{
		static const char *const enc[] = {
			"hash-max-listpack-entries", "hash-max-listpack-value",
			"hash-max-ziplist-entries", "zset-max-listpack-entries",
			"zset-max-listpack-value", "list-max-listpack-size", "list-compress-depth",
			"set-max-intset-entries", "stream-node-max-bytes", "stream-node-max-entries",
			"hll-sparse-max-bytes", "notify-keyspace-events", "slowlog-max-len",
			"slowlog-log-slower-than", "latency-monitor-threshold", "replicaof",
		};

		for (size_t i = 0; i < sizeof enc / sizeof enc[0]; i++)
			BOTH(p.a, p.b, "CONFIG", "GET", enc[i]);
	}
	/* CONFIG SET: several at once, duplicates refused, aliases, encodings */
	BOTH(p.a, p.b, "CONFIG", "SET", "hash-max-listpack-entries", "100",
	     "zset-max-ziplist-entries", "50");
	BOTH(p.a, p.b, "CONFIG", "GET", "hash-max-listpack-entries");
	BOTH(p.a, p.b, "CONFIG", "GET", "hash-max-ziplist-entries");
	BOTH(p.a, p.b, "CONFIG", "GET", "zset-max-listpack-entries");
	BOTH(p.a, p.b, "CONFIG", "SET", "maxmemory-policy", "noeviction",
	     "maxmemory-policy", "noeviction");
	BOTH(p.a, p.b, "CONFIG", "SET", "hash-max-listpack-entries", "1",
	     "hash-max-ziplist-entries", "2");
	BOTH(p.a, p.b, "CONFIG", "GET", "slaveof");
	BOTH(p.a, p.b, "CONFIG", "SET", "slowlog-log-slower-than", "0");
	/* COMMAND GETKEYS and key positions */
	BOTH(p.a, p.b, "COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2");
	BOTH(p.a, p.b, "COMMAND", "GETKEYS", "BLMPOP", "0", "2", "x", "y", "LEFT");
	BOTH(p.a, p.b, "COMMAND", "GETKEYS", "PING");
	BOTH(p.a, p.b, "COMMAND", "GETKEYS", "PING", "x");
	BOTH(p.a, p.b, "COMMAND", "GETKEYS", "NOSUCH", "x");
	BOTH(p.a, p.b, "COMMAND", "GETKEYS", "GET");
	/* key specs: the structure Redis gives (its flags are finer) */
	assert_non_null(strstr(Q(p.a, "COMMAND", "INFO", "blpop"),
			       "[+@write,+@list,+@slow,+@blocking],[],[[\"flags\",[+RW,+update],"
			       "\"begin_search\",[\"type\",\"index\",\"spec\",[\"index\",:1]],"
			       "\"find_keys\",[\"type\",\"range\",\"spec\",[\"lastkey\",:-2,"
			       "\"keystep\",:1,\"limit\",:0]]]],[]]]"));
	BOTH(p.a, p.b, "COMMAND", "INFO", "nosuch");
	/* SLOWLOG keeps the commands (all of them, at threshold 0) */
	BOTH(p.a, p.b, "SLOWLOG", "RESET");
	BOTH(p.a, p.b, "SET", "slow", "1");
	assert_string_equal(BOTH(p.a, p.b, "SLOWLOG", "LEN"), ":2");	/* RESET, SET */
	assert_non_null(strstr(Q(p.a, "SLOWLOG", "GET"), "[\"SET\",\"slow\",\"1\"]"));
	BOTH(p.a, p.b, "CONFIG", "SET", "slowlog-log-slower-than", "10000");
	close_pair(&p);
}

/* MONITOR sees the commands of the other clients, quoted. */
static void test_monitor(void **state)
{
	struct server *s;
	struct kc *m, *c;
	const char *r;

	(void)state;
	s = start_cowkv(NULL, NULL);
	m = kc_open(s->port);
	c = kc_open(s->port);
	EXPECT(m, "+OK", "MONITOR");
	EXPECT(c, "+OK", "SET", "k", "a b\n\"");
	r = next(m);
	if (!strstr(r, "\"SET\" \"k\" \"a b\\n\\\"\""))
		fail_msg("MONITOR line: %s", r);
	kc_close(m);
	kc_close(c);
}

/* ---- client-output-buffer-limit pubsub ---- */

/* A subscriber to ch that never reads. */
static struct kc *lazy_subscriber(int port)
{
	struct kc *s = kc_open(port);

	EXPECT(s, "[\"subscribe\",\"ch\",:1]", "SUBSCRIBE", "ch");
	return s;
}

/* PUBLISH msg on ch every pause_ms until nobody receives it (the
 * subscriber was dropped) or max_ms pass; the milliseconds it took, or -1. */
static long long publish_until_dropped(struct kc *p, const char *msg, int pause_ms, int max_ms)
{
	int64_t t0 = now_ms();

	while (now_ms() - t0 < max_ms) {
		const char *r = Q(p, "PUBLISH", "ch", msg);

		if (strcmp(r, ":0") == 0)
			return now_ms() - t0;
		assert_string_equal(r, ":1");
		if (pause_ms)
			sleep_ms(pause_ms);
	}
	return -1;
}

/* Wait until p is the server's only client (a dropped one is closed at
 * the end of the event loop's turn). */
static void wait_alone(struct kc *p)
{
	int64_t deadline = now_ms() + IO_TIMEOUT_MS;

	while (info_field(p, "clients", "connected_clients") != 1 && now_ms() < deadline)
		sleep_ms(5);
	assert_int_equal(info_field(p, "clients", "connected_clients"), 1);
}

/*
 * Subscribers have Redis's pubsub class of client-output-buffer-limit
 * (normal clients keep theirs): one that never reads is dropped past the
 * hard limit at once, past the soft limit after its seconds; both count in
 * client_output_buffer_limit_disconnections. CONFIG SET errors are Redis's.
 */
static void test_pubsub_output_limit(void **state)
{
	struct server *srvr = start_cowkv(NULL, NULL);
	struct kc *p = kc_open(srvr->port), *s;
	static char msg[16384], big[1 << 20];
	struct resp_reply *r;
	long long ms;

	(void)state;
	memset(msg, 'm', sizeof msg - 1);
	memset(big, 'b', sizeof big - 1);
	EXPECT(p, "[\"client-output-buffer-limit\",\"normal 1073741824 268435456 60 slave "
	       "268435456 67108864 60 pubsub 33554432 8388608 60\"]",
	       "CONFIG", "GET", "client-output-buffer-limit");
	EXPECT(p, "-ERR CONFIG SET failed (possibly related to argument "
	       "'client-output-buffer-limit') - Invalid client class specified in buffer "
	       "limit configuration.", "CONFIG", "SET", "client-output-buffer-limit",
	       "master 1mb 1mb 1");
	EXPECT(p, "-ERR CONFIG SET failed (possibly related to argument "
	       "'client-output-buffer-limit') - Wrong number of arguments in buffer limit "
	       "configuration.", "CONFIG", "SET", "client-output-buffer-limit", "pubsub 1mb 1mb");
	EXPECT(p, "-ERR CONFIG SET failed (possibly related to argument "
	       "'client-output-buffer-limit') - Error in hard, soft or soft_seconds setting in "
	       "buffer limit configuration.", "CONFIG", "SET", "client-output-buffer-limit",
	       "pubsub 1mb 1mb -1");
	/* hard: 256 KiB */
	EXPECT(p, "+OK", "CONFIG", "SET", "client-output-buffer-limit",
	       "pubsub 256kb 0 0 slave 1mb 512kb 5");
	EXPECT(p, "[\"client-output-buffer-limit\",\"normal 1073741824 268435456 60 slave "
	       "1048576 524288 5 pubsub 262144 0 0\"]",
	       "CONFIG", "GET", "client-output-buffer-limit");
	EXPECT(p, "+OK", "SET", "big", big);
	kc_sendv(p, 2, (const char *[]){ "GET", "big" }, (size_t[]){ 3, 3 });
	r = kc_read(p);		/* a normal client: 1 GiB */
	assert_non_null(r);
	assert_int_equal(r->len, sizeof big - 1);
	resp_reply_free(r);
	s = lazy_subscriber(srvr->port);
	ms = publish_until_dropped(p, msg, 0, 10000);
	wait_alone(p);
	kc_close(s);
	assert_int_equal(info_field(p, "stats", "client_output_buffer_limit_disconnections"), 1);
	/* soft: over 64 KiB for more than 1 s */
	EXPECT(p, "+OK", "CONFIG", "SET", "client-output-buffer-limit", "pubsub 0 64kb 1");
	s = lazy_subscriber(srvr->port);
	ms = publish_until_dropped(p, msg, 5, 15000);
	assert_true(ms >= 1000);
	wait_alone(p);
	kc_close(s);
	assert_int_equal(info_field(p, "stats", "client_output_buffer_limit_disconnections"), 2);
	EXPECT(p, "+PONG", "PING");
	kc_close(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_pubsub, teardown),
		cmocka_unit_test_teardown(test_notifications, teardown),
		cmocka_unit_test_teardown(test_introspection, teardown),
		cmocka_unit_test_teardown(test_monitor, teardown),
		cmocka_unit_test_teardown(test_pubsub_output_limit, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	atexit(kill_all);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
