/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_cowkv_clients.c — what real clients found (redis-py 4.3.4's own
 * suite, redis-cli and redis-benchmark 7.0.15; docs/COWKV.md, "Real
 * clients"), compared byte for byte with Debian's redis-server:
 *   - pub/sub lifetimes: PUNSUBSCRIBE of patterns of different lengths, a
 *     client closed after a SUBSCRIBE with arguments (it stayed subscribed:
 *     a freed client on the channel list);
 *   - the commands clients send to any server: ROLE, WAIT, LOLWUT, MODULE,
 *     CLUSTER, READONLY, READWRITE, DEBUG ERROR, MEMORY PURGE, INFO's
 *     Modules and Cluster sections;
 *   - COMMAND GETKEYS of scripts, GETKEYSANDFLAGS, the subcommands COMMAND
 *     LIST shows;
 *   - CLIENT KILL USER, ACL LOG's client-info, ACL GETUSER's rules, ACL
 *     key patterns on keys after a key count and on STORE keys;
 *   - MONITOR's order for scripts;
 *   - RESP3: the set commands reply sets;
 *   - INFO commandstats' rejected_calls and failed_calls, errorstats.
 */
#include "kvharness.h"

/* The next reply of a (cowkv) and of b (redis-server): the same bytes. */
static const char *both_next(struct kc *a, struct kc *b)
{
	char *out = ring[ring_at++ % RING];
	struct resp_reply *ra = kc_read(a), *rb = kc_read(b);

	render(ra, out, sizeof ring[0]);
	if (a->rawlen != b->rawlen || memcmp(a->raw, b->raw, a->rawlen) != 0) {
		char rr[8192];

		render(rb, rr, sizeof rr);
		fail_msg("cowkv %s, redis %s", out, rr);
	}
	resp_reply_free(ra);
	resp_reply_free(rb);
	return out;
}

/* Wait until the server behind c counts n connected clients. */
static void wait_clients(struct kc *c, long long n)
{
	int64_t deadline = now_ms() + IO_TIMEOUT_MS;

	while (info_field(c, "clients", "connected_clients") != n) {
		if (now_ms() > deadline)
			fail_msg("connected_clients never reached %lld", n);
		sleep_ms(5);
	}
}

/* A cowkv and a redis-server that answers DEBUG (kvharness.h's refuses
 * it, Redis 7's default), and a connection to each. */
static bool open_debug_pair(struct pair *p)
{
	struct server *s;
	char portbuf[16];
	const char *args[] = { "--port", portbuf, "--bind", "127.0.0.1", "--save", "",
			       "--appendonly", "no", "--dir", "/tmp",
			       "--enable-debug-command", "yes", NULL };

	if (!have_program("redis-server"))
		return false;
	assert_non_null(s = calloc(1, sizeof *s));
	s->port = free_port();
	snprintf(portbuf, sizeof portbuf, "%d", s->port);
	snprintf(s->log, sizeof s->log, "/tmp/test_cowkv.%d.redis.%d.log", (int)getpid(),
		 s->port);
	p->k = start_cowkv(NULL, NULL);
	p->r = start_prog(s, "redis-server", args);
	p->a = kc_open(p->k->port);
	p->b = kc_open(p->r->port);
	return true;
}

/* PUNSUBSCRIBE (all) names each pattern with its own length; a client
 * closed after "SUBSCRIBE bar" leaves every channel, foo too. */
static void test_pubsub_lifetimes(void **state)
{
	struct pair p = { 0 };
	struct kc *sa, *sb;

	(void)state;
	if (!open_pair(&p))
		skip();
	sa = kc_open(p.k->port);
	sb = kc_open(p.r->port);
	SEND(sa, "PSUBSCRIBE", "a*", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb*", "cc*");
	SEND(sb, "PSUBSCRIBE", "a*", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb*", "cc*");
	for (int i = 0; i < 3; i++)
		both_next(sa, sb);
	SEND(sa, "PUNSUBSCRIBE");
	SEND(sb, "PUNSUBSCRIBE");
	assert_string_equal(both_next(sa, sb), "[\"punsubscribe\",\"a*\",:2]");
	both_next(sa, sb);
	assert_string_equal(both_next(sa, sb), "[\"punsubscribe\",\"cc*\",:0]");

	SEND(sa, "SUBSCRIBE", "foo");
	SEND(sb, "SUBSCRIBE", "foo");
	both_next(sa, sb);
	SEND(sa, "SUBSCRIBE", "bar");
	SEND(sb, "SUBSCRIBE", "bar");
	both_next(sa, sb);
	kc_close(sa);
	kc_close(sb);
	wait_clients(p.a, 1);
	wait_clients(p.b, 1);
	assert_string_equal(BOTH(p.a, p.b, "PUBSUB", "NUMSUB", "foo", "bar"),
			    "[\"foo\",:0,\"bar\",:0]");
	assert_string_equal(BOTH(p.a, p.b, "PUBLISH", "foo", "x"), ":0");
	assert_string_equal(BOTH(p.a, p.b, "PUBSUB", "CHANNELS"), "[]");
	close_pair(&p);
}

/* ROLE, WAIT, LOLWUT, MODULE, CLUSTER, READONLY/READWRITE, DEBUG ERROR,
 * MEMORY PURGE and INFO's sections, as a standalone redis-server 7.0. */
static void test_compat_commands(void **state)
{
	static const char *const cmds[][6] = {
		{ "ROLE" }, { "WAIT", "0", "0" }, { "WAIT", "1", "20" }, { "WAIT", "x", "0" },
		{ "WAIT", "1", "-1" }, { "WAIT", "1", "x" }, { "WAIT", "1" },
		{ "LOLWUT" }, { "LOLWUT", "VERSION", "7" }, { "LOLWUT", "VERSION", "x" },
		{ "LOLWUT", "foo" }, { "MODULE", "LIST" }, { "MODULE", "LOAD", "/x.so" },
		{ "MODULE", "LOADEX", "/x.so" }, { "MODULE", "UNLOAD", "x" },
		{ "MODULE", "foo" }, { "MODULE" }, { "MODULE", "LIST", "x" },
		{ "CLUSTER", "INFO" }, { "CLUSTER", "SLOTS" }, { "CLUSTER", "foo" },
		{ "READONLY" }, { "READWRITE" },
		{ "DEBUG", "ERROR", "LOADING fake message" },
		{ "DEBUG", "ERROR", "READONLY blah\r\nblah" },
		{ "DEBUG", "ERROR", "ERR invalid password" },
		{ "MEMORY", "PURGE" }, { "INFO", "cluster" }, { "INFO", "modules" },
	};
	struct pair p = { 0 };

	(void)state;
	if (!open_debug_pair(&p))
		skip();
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
		BOTH(p.a, p.b, cmds[i][0], cmds[i][1], cmds[i][2], cmds[i][3], cmds[i][4]);
	/* the default INFO has both sections, cluster_enabled among them */
	assert_non_null(strstr(Q(p.a, "INFO"), "# Cluster\r\ncluster_enabled:0\r\n"));
	assert_non_null(strstr(Q(p.a, "INFO"), "# Modules\r\n"));
	/* WAIT in MULTI answers at once */
	BOTH(p.a, p.b, "MULTI");
	BOTH(p.a, p.b, "WAIT", "1", "0");
	assert_string_equal(BOTH(p.a, p.b, "EXEC"), "[:0]");
	close_pair(&p);
}

/* WAIT 1 0 blocks (no replica ever acknowledges) until CLIENT UNBLOCK. */
static void test_wait_blocks(void **state)
{
	struct pair p = { 0 };
	struct kc *wa, *wb;
	char ida[32], idb[32];

	(void)state;
	if (!open_pair(&p))
		skip();
	wa = kc_open(p.k->port);
	wb = kc_open(p.r->port);
	snprintf(ida, sizeof ida, "%s", Q(wa, "CLIENT", "ID") + 1);
	snprintf(idb, sizeof idb, "%s", Q(wb, "CLIENT", "ID") + 1);
	SEND(wa, "WAIT", "1", "0");
	SEND(wb, "WAIT", "1", "0");
	wait_blocked(p.a, 1);
	wait_blocked(p.b, 1);
	assert_string_equal(Q(p.a, "CLIENT", "UNBLOCK", ida), ":1");
	assert_string_equal(Q(p.b, "CLIENT", "UNBLOCK", idb), ":1");
	assert_string_equal(both_next(wa, wb), ":0");
	/* and a timeout ends it with 0 too */
	SEND(wa, "WAIT", "2", "50");
	SEND(wb, "WAIT", "2", "50");
	assert_string_equal(both_next(wa, wb), ":0");
	assert_string_equal(BOTH(wa, wb, "PING"), "+PONG");
	kc_close(wa);
	kc_close(wb);
	close_pair(&p);
}

/* COMMAND GETKEYS of scripts by their key count, GETKEYSANDFLAGS, and the
 * subcommands COMMAND LIST names. */
static void test_command_keys(void **state)
{
	static const char *const lines[][8] = {
		{ "EVAL", "return 1", "3", "k1", "k2", "k3", "a1" },
		{ "EVAL", "return 1", "0", "a" }, { "EVAL", "return 1", "2", "a" },
		{ "EVAL", "return 1", "-1" }, { "EVAL", "return 1", "y" },
		{ "EVALSHA_RO", "x", "2", "a", "b", "c" }, { "FCALL", "f", "1", "k", "a" },
		{ "FCALL_RO", "f", "1", "k" }, { "EVALSHA", "x", "1", "k" },
		{ "MSET", "a", "1", "c", "2" }, { "ZUNIONSTORE", "d", "5", "a" },
		{ "GET", "a", "b" }, { "NOSUCH", "a" }, { "PING", "x" },
	};
	struct pair p = { 0 };
	const char *list;

	(void)state;
	if (!open_pair(&p))
		skip();
	for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
		BOTH(p.a, p.b, "COMMAND", "GETKEYS", lines[i][0], lines[i][1], lines[i][2],
		     lines[i][3], lines[i][4], lines[i][5], lines[i][6]);
	/* cowkv's key flags are generic: these are the ones Redis agrees on */
	assert_string_equal(BOTH(p.a, p.b, "COMMAND", "GETKEYSANDFLAGS", "GET", "k"),
			    "[[\"k\",[+RO,+access]]]");
	BOTH(p.a, p.b, "COMMAND", "GETKEYSANDFLAGS", "NOSUCH", "k");
	BOTH(p.a, p.b, "COMMAND", "GETKEYSANDFLAGS", "GET");
	list = Q(p.a, "COMMAND", "LIST");
	for (const char *const *n = (const char *const[]){ "\"cluster|info\"", "\"acl|setuser\"",
			"\"object|encoding\"", "\"script|load\"", "\"function|load\"",
			"\"module|list\"", "\"command|getkeysandflags\"", "\"role\"", "\"wait\"",
			NULL }; *n; n++)
		if (!strstr(list, *n))
			fail_msg("COMMAND LIST lacks %s", *n);
	close_pair(&p);
}

/* CLIENT KILL USER kills the clients of an existing user; ACL LOG's
 * client-info is the client's CLIENT LIST line. */
static void test_kill_user_acl_log(void **state)
{
	struct pair p = { 0 };
	struct kc *ua, *ub;
	const char *log;

	(void)state;
	if (!open_pair(&p))
		skip();
	BOTH(p.a, p.b, "ACL", "SETUSER", "victim", "on", "nopass", "~*", "+@all");
	ua = kc_open(p.k->port);
	ub = kc_open(p.r->port);
	BOTH(ua, ub, "AUTH", "victim", "x");
	assert_string_equal(BOTH(p.a, p.b, "CLIENT", "KILL", "USER", "victim"), ":1");
	assert_true(kc_closed(ua));
	assert_true(kc_closed(ub));
	kc_close(ua);
	kc_close(ub);
	assert_string_equal(BOTH(p.a, p.b, "CLIENT", "KILL", "USER", "victim"), ":0");
	BOTH(p.a, p.b, "CLIENT", "KILL", "USER", "nobody");
	assert_string_equal(BOTH(p.a, p.b, "CLIENT", "KILL", "USER", "default", "SKIPME", "yes"),
			    ":0");

	/* ACL GETUSER leaves out the rules that change nothing, as Redis 7.0 */
	static const char *const rules[][4] = {
		{ "+@hash", "-@geo", NULL, "\"-@all +@hash\"" },
		{ "+@geo", "-@geo", NULL, "\"-@all\"" },
		{ "+get", "-get", NULL, "\"-@all\"" },
		{ "+@hash", "-hset", "+@hash", "\"-@all +@hash\"" },
		{ "+@string", "-set", NULL, "\"-@all +@string -set\"" },
	};
	for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
		BOTH(p.a, p.b, "ACL", "SETUSER", "r", "reset", rules[i][0], rules[i][1], rules[i][2]);
		if (!strstr(Q(p.a, "ACL", "GETUSER", "r"), rules[i][3]) ||
		    !strstr(Q(p.b, "ACL", "GETUSER", "r"), rules[i][3]))
			fail_msg("%s %s: cowkv %s", rules[i][0], rules[i][1],
				 Q(p.a, "ACL", "GETUSER", "r"));
	}
	BOTH(p.a, p.b, "ACL", "SETUSER", "limited", "on", "nopass", "-@all", "+auth");
	ua = kc_open(p.k->port);
	EXPECT(ua, "+OK", "AUTH", "limited", "x");
	assert_non_null(strstr(Q(ua, "GET", "k"), "NOPERM"));
	kc_close(ua);
	log = Q(p.a, "ACL", "LOG", "1");
	/* redis-py parses it as CLIENT LIST's fields (obl, oll, omem...) */
	for (const char *const *f = (const char *const[]){ " laddr=", " fd=", " age=",
			" idle=", " flags=", " sub=", " psub=", " multi=", " qbuf=",
			" qbuf-free=", " obl=", " oll=", " omem=", " cmd=get ", " user=limited ",
			NULL }; *f; f++)
		if (!strstr(log, *f))
			fail_msg("ACL LOG client-info lacks '%s': %s", *f, log);
	close_pair(&p);
}

/* The MONITOR lines of one client's commands, without the timestamps and
 * addresses: "[db] args" each, joined by '|'. */
static void monitor_lines(struct kc *m, int n, char *out, size_t len)
{
	size_t at = 0;

	out[0] = '\0';
	for (int i = 0; i < n; i++) {
		const char *line = next(m);
		const char *db = strchr(line, '['), *rest = db ? strchr(db, ' ') : NULL;
		const char *args = rest ? strchr(rest, ']') : NULL;

		assert_non_null(args);
		at += (size_t)snprintf(out + at, at < len ? len - at : 0, "%.*s]%s|",
				       (int)(rest - db), db, args + 1);
	}
}

/* MONITOR shows EVAL (even one that fails) before the commands its
 * script calls, FCALL too, as Redis. */
static void test_monitor_scripts(void **state)
{
	struct pair p = { 0 };
	struct kc *ma, *mb;
	char la[2048], lb[2048];
	static const char lib[] = "#!lua name=mlib\n"
		"redis.register_function('mf', function(k, a) return redis.call('get', k[1]) end)";

	(void)state;
	if (!open_pair(&p))
		skip();
	BOTH(p.a, p.b, "FUNCTION", "LOAD", lib);
	ma = kc_open(p.k->port);
	mb = kc_open(p.r->port);
	BOTH(ma, mb, "MONITOR");
	BOTH(p.a, p.b, "SET", "mk", "v");
	BOTH(p.a, p.b, "EVAL", "return redis.call('get', KEYS[1])", "1", "mk");
	BOTH(p.a, p.b, "EVALSHA", "0000000000000000000000000000000000000000", "0");
	BOTH(p.a, p.b, "FCALL", "mf", "1", "mk");
	BOTH(p.a, p.b, "PING");
	monitor_lines(ma, 7, la, sizeof la);
	monitor_lines(mb, 7, lb, sizeof lb);
	assert_string_equal(la, lb);
	assert_string_equal(la, "[0] \"SET\" \"mk\" \"v\"|"
			    "[0] \"EVAL\" \"return redis.call('get', KEYS[1])\" \"1\" \"mk\"|"
			    "[0] \"get\" \"mk\"|"
			    "[0] \"EVALSHA\" \"0000000000000000000000000000000000000000\" \"0\"|"
			    "[0] \"FCALL\" \"mf\" \"1\" \"mk\"|[0] \"get\" \"mk\"|[0] \"PING\"|");
	kc_close(ma);
	kc_close(mb);
	close_pair(&p);
}

/* The bytes c receives for one command sent (its whole reply: replies
 * here are small, and come within 50 ms of the first byte), kept in c->buf
 * and returned NUL-terminated. The harness's reply parser reads RESP2
 * only. */
static const char *raw_exchange(struct kc *c, int argc, const char **argv)
{
	size_t lens[8];

	for (int i = 0; i < argc; i++)
		lens[i] = strlen(argv[i]);
	c->len = 0;
	kc_sendv(c, argc, argv, lens);
	if (kc_fill(c, IO_TIMEOUT_MS) != 1)
		fail_msg("no reply to %s", argv[0]);
	while (kc_fill(c, 50) == 1)
		;
	c->buf[c->len < c->cap ? c->len : c->cap - 1] = '\0';
	return c->buf;
}

/* Under RESP3 the set commands reply sets ('~'), as Redis 7.0. */
static void test_resp3_sets(void **state)
{
	static const char *const cmds[][4] = {
		{ "SADD", "s1", "a" }, { "SADD", "s2", "a" },
		{ "SMEMBERS", "nos" }, { "SMEMBERS", "s1" }, { "SINTER", "nos", "s1" },
		{ "SINTER", "s1", "s2" }, { "SUNION", "nos" }, { "SUNION", "s1", "s2" },
		{ "SDIFF", "nos" }, { "SDIFF", "s1" }, { "SPOP", "nos", "2" },
		{ "SPOP", "s2", "1" }, { "SRANDMEMBER", "nos", "2" }, { "SMISMEMBER", "nos", "a" },
	};
	struct pair p = { 0 };
	const char *hello[] = { "HELLO", "3" };

	(void)state;
	if (!open_pair(&p))
		skip();
	raw_exchange(p.a, 2, hello);
	raw_exchange(p.b, 2, hello);
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
		int argc = 0;
		char ka[256];

		while (argc < 4 && cmds[i][argc])
			argc++;
		snprintf(ka, sizeof ka, "%s", raw_exchange(p.a, argc, (const char **)cmds[i]));
		assert_string_equal(ka, raw_exchange(p.b, argc, (const char **)cmds[i]));
	}
	assert_string_equal(raw_exchange(p.a, 2, (const char *[]){ "SMEMBERS", "nos" }),
			    "~0\r\n");
	close_pair(&p);
}

/* Send the command line `line` (words separated by single spaces) to both
 * servers; fail unless the replies are the same bytes. */
static const char *both_line(struct kc *a, struct kc *b, const char *line)
{
	char buf[512], *save = NULL;
	const char *argv[32];
	size_t lens[32];
	int argc = 0;

	snprintf(buf, sizeof buf, "%s", line);
	for (char *w = strtok_r(buf, " ", &save); w && argc < 32; w = strtok_r(NULL, " ", &save)) {
		argv[argc] = w;
		lens[argc++] = strlen(w);
	}
	kc_sendv(a, argc, argv, lens);
	kc_sendv(b, argc, argv, lens);
	return both_next(a, b);
}

/*
 * ACL key patterns hold for every key a command names, wherever it is:
 * after a key count (LMPOP, ZUNIONSTORE, ZINTER, SINTERCARD, BZMPOP...),
 * SORT's and GEORADIUS's STORE keys. cowkv checked only the keys of the
 * table's first..last positions, so a user held to ~a* could pop, read or
 * overwrite b1 through those commands, where redis-server says NOPERM. A
 * destination needs write access and the keys it is made from read access
 * (%R~a* ~w*: ZUNIONSTORE w9 1 a1 is allowed, as in Redis).
 */
static void test_acl_keys_wherever_they_are(void **state)
{
	static const char *const lines[] = {
		"SORT a1 STORE b1", "SORT a1 LIMIT 0 1 BY nosort GET # STORE b1", "SORT a1",
		"LMPOP 2 a1 b1 LEFT", "BLMPOP 0.01 2 a1 b1 LEFT", "ZMPOP 2 a1 b1 MIN",
		"BZMPOP 0.01 2 a1 b1 MIN", "ZUNIONSTORE a2 2 a1 b1", "ZUNIONSTORE b2 1 a1",
		"ZINTERSTORE a2 2 a1 b1", "ZDIFFSTORE a2 2 a1 b1", "ZUNION 2 a1 b1",
		"ZINTER 2 a1 b1", "ZDIFF 2 a1 b1", "ZINTERCARD 2 a1 b1", "SINTERCARD 2 a3 b1",
		"LMPOP 0 a1 LEFT", "ZUNIONSTORE a2 5 a1", "GEORADIUS a4 0 0 1 km STORE b1",
		"GEOSEARCHSTORE b1 a4 FROMLONLAT 0 0 BYRADIUS 1 km", "ZRANGESTORE b1 a1 0 -1",
		"SUNIONSTORE b1 a3", "COPY a1 b1", "BITOP AND b1 a5", "MGET a5 b1",
		"WATCH a1 b1", "UNWATCH",
	};
	struct pair p = { 0 };
	struct kc *c[2][2];

	(void)state;
	if (!open_pair(&p))
		skip();
	BOTH(p.a, p.b, "ACL", "SETUSER", "u", "on", "nopass", "~a*", "+@all");
	BOTH(p.a, p.b, "ACL", "SETUSER", "w", "on", "nopass", "%R~a*", "~w*", "+@all");
	BOTH(p.a, p.b, "ZADD", "a1", "1", "x", "2", "y");
	BOTH(p.a, p.b, "SADD", "a3", "x", "y");
	BOTH(p.a, p.b, "GEOADD", "a4", "0", "0", "p");
	BOTH(p.a, p.b, "SET", "a5", "v");
	for (int k = 0; k < 2; k++) {
		c[k][0] = kc_open(p.k->port);
		c[k][1] = kc_open(p.r->port);
		BOTH(c[k][0], c[k][1], "AUTH", k ? "w" : "u", "x");
	}
	for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
		char wline[512];

		both_line(c[0][0], c[0][1], lines[i]);
		snprintf(wline, sizeof wline, "%s", lines[i]);
		for (char *b = wline; (b = strstr(b, " b")); b++)
			b[1] = 'w';	/* user w may write w*, only read a* */
		both_line(c[1][0], c[1][1], wline);
	}
	assert_non_null(strstr(both_line(c[0][0], c[0][1], "SORT a1 STORE b1"), "NOPERM"));
	assert_non_null(strstr(both_line(c[0][0], c[0][1], "LMPOP 2 a1 b1 LEFT"), "NOPERM"));
	assert_string_equal(both_line(c[1][0], c[1][1], "ZUNIONSTORE w9 1 a1"), ":2");
	for (int k = 0; k < 2; k++) {
		kc_close(c[k][0]);
		kc_close(c[k][1]);
	}
	close_pair(&p);
}

/* The calls=, rejected_calls= and failed_calls= of cmdstat_<name> in the
 * INFO text s (usec left out: it differs), or "none". */
static void cmdstat_counts(const char *s, const char *name, char *out, size_t len)
{
	char key[64];
	const char *at, *rej;
	long long calls, rejected, failed;

	snprintf(key, sizeof key, "cmdstat_%s:calls=", name);
	if (!(at = strstr(s, key)) || !(rej = strstr(at, "rejected_calls=")) ||
	    sscanf(at + strlen(key), "%lld", &calls) != 1 ||
	    sscanf(rej, "rejected_calls=%lld,failed_calls=%lld", &rejected, &failed) != 2) {
		snprintf(out, len, "none");
		return;
	}
	snprintf(out, len, "calls=%lld rejected=%lld failed=%lld", calls, rejected, failed);
}

/*
 * INFO commandstats' rejected_calls and failed_calls, total_error_replies
 * and errorstats, as redis-server counts them: an arity error is a
 * rejected SET, a WRONGTYPE a failed GEOADD, an error inside EXEC or a
 * script's redis.call/pcall the inner command's (not the EXEC's), an EVAL
 * that returns an error a failed EVAL. cowkv printed 0 for both counts.
 */
static void test_commandstats_failures(void **state)
{
	static const char *const names[] = { "set", "geoadd", "lpush", "exec", "multi", "eval",
					     "get" };
	struct pair p = { 0 };
	char x[128], y[128];
	const char *ia, *ib;

	(void)state;
	if (!open_pair(&p))
		skip();
	BOTH(p.a, p.b, "CONFIG", "RESETSTAT");
	BOTH(p.a, p.b, "SET", "foo", "1");
	BOTH(p.a, p.b, "GEOADD", "foo", "0", "0", "bar");
	BOTH(p.a, p.b, "SET");
	BOTH(p.a, p.b, "NOSUCHCOMMAND");
	BOTH(p.a, p.b, "MULTI");
	BOTH(p.a, p.b, "SET", "a", "b");
	BOTH(p.a, p.b, "LPUSH", "a", "x");
	BOTH(p.a, p.b, "EXEC");
	BOTH(p.a, p.b, "EVAL", "return redis.pcall('lpush','a','x')", "0");
	BOTH(p.a, p.b, "EVAL", "return redis.call('lpush','a','x')", "0");
	BOTH(p.a, p.b, "EVAL", "return redis.call('get','a')", "0");
	BOTH(p.a, p.b, "GET", "a");
	ia = Q(p.a, "INFO", "commandstats");
	ib = Q(p.b, "INFO", "commandstats");
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		cmdstat_counts(ia, names[i], x, sizeof x);
		cmdstat_counts(ib, names[i], y, sizeof y);
		if (strcmp(x, y))
			fail_msg("cmdstat_%s: cowkv %s, redis %s", names[i], x, y);
	}
	cmdstat_counts(ia, "geoadd", x, sizeof x);
	assert_string_equal(x, "calls=1 rejected=0 failed=1");
	assert_int_equal(info_field(p.a, "stats", "total_error_replies"),
			 info_field(p.b, "stats", "total_error_replies"));
	ia = Q(p.a, "INFO", "errorstats");
	ib = Q(p.b, "INFO", "errorstats");
	assert_string_equal(strstr(ia, "errorstat_"), strstr(ib, "errorstat_"));
	close_pair(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_pubsub_lifetimes, teardown),
		cmocka_unit_test_teardown(test_compat_commands, teardown),
		cmocka_unit_test_teardown(test_wait_blocks, teardown),
		cmocka_unit_test_teardown(test_command_keys, teardown),
		cmocka_unit_test_teardown(test_kill_user_acl_log, teardown),
		cmocka_unit_test_teardown(test_monitor_scripts, teardown),
		cmocka_unit_test_teardown(test_resp3_sets, teardown),
		cmocka_unit_test_teardown(test_acl_keys_wherever_they_are, teardown),
		cmocka_unit_test_teardown(test_commandstats_failures, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	atexit(kill_all);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
