/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_cowkv_deploy.c — cowkv's scripting, functions, RESP3, ACLs and RDB,
 * driven from outside: build/cowkv and Debian's redis-server side by side
 * on free ports of 127.0.0.1.
 *
 *   - Lua scripts: the replies of cowkv and redis-server compared (type and
 *     bytes) over conversions, errors, the sandbox, cjson/bit/cmsgpack;
 *   - a script past busy-reply-threshold: other clients get -BUSY, SCRIPT
 *     KILL stops it, a script that wrote is UNKILLABLE;
 *   - functions: kept across FLUSHALL, a restart and ROLLBACK; FUNCTION
 *     DUMP/RESTORE payloads exchanged with redis-server both ways;
 *   - RESP3 (HELLO 3): raw bytes compared with redis-server;
 *   - requirepass, AUTH, ACL users and key patterns, ACL SAVE/LOAD files,
 *     protected mode;
 *   - RDB: redis-server's dump.rdb imported (every encoding Redis 7 writes),
 *     compared key by key; exported again, checked by redis-check-rdb and
 *     loaded by redis-server with the same DEBUG DIGEST; DUMP/RESTORE
 *     payloads exchanged with redis-server both ways; Redis < 7 encodings
 *     (ziplist, quicklist 1) built by hand, read as redis-server reads them;
 *   - sets and sorted sets: redis-server's DUMP of every encoding RESTOREd,
 *     its SAVE of them in three databases imported; RDB_TYPE_ZSET, ziplist
 *     zsets and intsets built by hand read the same by both; truncated,
 *     bit-flipped and repeated-member payloads refused by both alike;
 *   - SYNC: `redis-cli --rdb` of keys of every type in three databases,
 *     and `--functions-rdb`, loaded by redis-server and compared; PSYNC by
 *     hand (the RDB is the dataset at PSYNC despite later writes); bad
 *     SYNC/PSYNC/REPLCONF get redis-server's replies, the server stays up;
 *   - redis-py (Debian's python3-redis) running its own pipelines, Lock and
 *     register_script against cowkv (tests/cowkv_redispy.py).
 *
 * Every server is started with PR_SET_PDEATHSIG and killed at teardown.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "testlib.h"
#include "resp.h"
#include "rdbfmt.h"

#define IO_TIMEOUT_MS 10000

/* ---- servers ------------------------------------------------------------------ */

struct srvp {
	pid_t pid;
	int port;
	char log[128];
};

static struct srvp servers[4];
static char tmpdir[64];

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static const char *cowkv_path(void)
{
	static char path[PATH_MAX];
	ssize_t n;

	if (path[0])
		return path;
	n = readlink("/proc/self/exe", path, sizeof path - 16);
	assert_true(n > 0);
	path[n] = '\0';
	strcpy(strrchr(path, '/') + 1, "cowkv");
	return path;
}

static int free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static int try_connect(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa)) {
		close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

static pid_t spawn(const char *prog, const char **argv, const char *log)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execvp(prog, (char **)argv);
		_exit(127);
	}
	return pid;
}

/* Start prog (cowkv or redis-server) on port with extra arguments
 * (NULL-terminated) and wait until it accepts connections. */
static struct srvp *start_at(int slot, const char *prog, int port, const char **extra)
{
	struct srvp *s = &servers[slot];
	const char *argv[40];
	char portbuf[16];
	int n = 0;
	int64_t deadline = now_ms() + IO_TIMEOUT_MS;

	s->port = port ? port : free_port();
	snprintf(portbuf, sizeof portbuf, "%d", s->port);
	snprintf(s->log, sizeof s->log, "/tmp/test_cowkv_deploy.%d.%d.log", (int)getpid(), s->port);
	argv[n++] = prog;
	argv[n++] = "--port";
	argv[n++] = portbuf;
	if (strcmp(prog, "redis-server") == 0) {
		static const char *r[] = { "--bind", "127.0.0.1", "--save", "", "--appendonly",
					   "no", "--dir", "/tmp", NULL };

		for (int i = 0; r[i]; i++)
			argv[n++] = r[i];
	} else {
		argv[n++] = "--maxmemory";
		argv[n++] = "256mb";
	}
	for (int i = 0; extra && extra[i]; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	s->pid = spawn(prog, argv, s->log);
	for (;;) {
		int fd = try_connect(s->port), status;

		if (fd >= 0) {
			close(fd);
			return s;
		}
		if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
			s->pid = 0;
			fail_msg("%s exited at start (status %d, log %s)", prog, status, s->log);
		}
		if (now_ms() > deadline)
			fail_msg("%s did not accept connections in time", prog);
		sleep_ms(5);
	}
}

/* Wait for s to exit (up to the timeout, then kill it); its status. */
static int wait_exit(struct srvp *s)
{
	int64_t deadline = now_ms() + IO_TIMEOUT_MS;
	int status = -1;

	while (s->pid && waitpid(s->pid, &status, WNOHANG) != s->pid) {
		if (now_ms() > deadline) {
			kill(s->pid, SIGKILL);
			waitpid(s->pid, &status, 0);
			break;
		}
		sleep_ms(5);
	}
	s->pid = 0;
	unlink(s->log);
	return status;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	for (int i = 0; i < 4; i++)
		if (servers[i].pid) {
			kill(servers[i].pid, SIGKILL);
			waitpid(servers[i].pid, NULL, 0);
			unlink(servers[i].log);
			servers[i].pid = 0;
		}
	if (tmpdir[0]) {
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
		(void)!system(cmd);
		tmpdir[0] = '\0';
	}
	return 0;
}

static const char *new_tmpdir(void)
{
	strcpy(tmpdir, "/tmp/test_cowkv_deploy.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	return tmpdir;
}

static bool have_redis(void)
{
	return system("command -v redis-server >/dev/null 2>&1") == 0;
}

/* cowkv in slot 0 and redis-server in slot 1, for tests that compare them
 * (skipped without redis-server). */
static void start_both(struct srvp **ck, struct srvp **rs)
{
	if (!have_redis())
		skip();
	*ck = start_at(0, cowkv_path(), 0, NULL);
	*rs = start_at(1, "redis-server", 0, NULL);
}

/* ---- a client ------------------------------------------------------------------- */

struct kc {
	int fd;
	char *buf;
	size_t len, cap;
};

static struct kc *kc_open(int port)
{
	struct kc *c = calloc(1, sizeof *c);

	assert_non_null(c);
	c->fd = try_connect(port);
	assert_true(c->fd >= 0);
	return c;
}

static void kc_close(struct kc *c)
{
	if (c) {
		close(c->fd);
		free(c->buf);
		free(c);
	}
}

/* Read more bytes within timeout_ms: 1, 0 at EOF, -1 on timeout. */
static int kc_fill(struct kc *c, int timeout_ms)
{
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
	ssize_t k;

	if (poll(&pfd, 1, timeout_ms) != 1)
		return -1;
	if (c->cap - c->len < 65536) {
		c->cap = c->cap * 2 + 65536;
		c->buf = realloc(c->buf, c->cap);
		assert_non_null(c->buf);
	}
	k = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
	if (k <= 0)
		return 0;
	c->len += (size_t)k;
	return 1;
}

/* Send a command given as words (NULL-terminated; each a C string). */
static void kc_sendv(struct kc *c, const char **words)
{
	size_t lens[64], n;
	int argc = 0;
	char *req;

	while (words[argc]) {
		lens[argc] = strlen(words[argc]);
		argc++;
	}
	req = resp_encode(argc, words, lens, &n);
	assert_non_null(req);
	assert_int_equal(send(c->fd, req, n, MSG_NOSIGNAL), (ssize_t)n);
	free(req);
}

/* The next RESP2 reply. */
static struct resp_reply *kc_read(struct kc *c)
{
	int64_t deadline = now_ms() + IO_TIMEOUT_MS;

	for (;;) {
		struct resp_reply *r;
		size_t used;
		int k = resp_reply_parse(c->buf, c->len, &r, &used);

		assert_true(k >= 0);
		if (k == 1) {
			memmove(c->buf, c->buf + used, c->len - used);
			c->len -= used;
			return r;
		}
		if (kc_fill(c, (int)(deadline - now_ms())) <= 0)
			fail_msg("no reply in time");
	}
}

#define CMD(c, ...) cmd_words((c), (const char *[]){ __VA_ARGS__, NULL })

static struct resp_reply *cmd_words(struct kc *c, const char **words)
{
	kc_sendv(c, words);
	return kc_read(c);
}

/* Raw reply bytes of a command (RESP3 too): the command is followed by
 * ECHO of a marker, and the bytes before the marker's reply are returned
 * (malloc'd, NUL-terminated). */
static char *cmd_raw(struct kc *c, const char **words)
{
	static const char marker[] = "$14\r\n--end-marker--\r\n";
	int64_t deadline = now_ms() + IO_TIMEOUT_MS;
	char *end, *out;

	kc_sendv(c, words);
	kc_sendv(c, (const char *[]){ "ECHO", "--end-marker--", NULL });
	for (;;) {
		if (c->len && (end = memmem(c->buf, c->len, marker, sizeof marker - 1)) &&
		    (size_t)(end - c->buf) + sizeof marker - 1 == c->len)
			break;
		if (kc_fill(c, (int)(deadline - now_ms())) <= 0)
			fail_msg("no raw reply in time");
	}
	out = strndup(c->buf, (size_t)(end - c->buf));
	c->len = 0;
	return out;
}

#define RAW(c, ...) cmd_raw((c), (const char *[]){ __VA_ARGS__, NULL })

static bool reply_equal(const struct resp_reply *a, const struct resp_reply *b)
{
	if (a->type != b->type)
		return false;
	switch (a->type) {
	case RESP_INT:
		return a->integer == b->integer;
	case RESP_STATUS: case RESP_ERR: case RESP_BULK:
		return a->len == b->len && !memcmp(a->str, b->str, a->len);
	case RESP_ARRAY:
		if (a->n != b->n)
			return false;
		for (size_t i = 0; i < a->n; i++)
			if (!reply_equal(a->elem[i], b->elem[i]))
				return false;
		return true;
	default:
		return true;
	}
}

static void expect_str(struct resp_reply *r, enum resp_type t, const char *pattern)
{
	if (r->type != t || !r->str || !strstr(r->str, pattern))
		fail_msg("expected %c containing '%s', got %c '%s'", t, pattern, r->type,
			 r->str ? r->str : "");
	resp_reply_free(r);
}

static void expect_int(struct resp_reply *r, long long v)
{
	if (r->type != RESP_INT || r->integer != v)
		fail_msg("expected :%lld, got %c %lld '%s'", v, r->type, r->integer,
			 r->str ? r->str : "");
	resp_reply_free(r);
}

/* ---- scripts, compared with redis-server ------------------------------------------ */

static const char *const scripts[] = {
	"return 1", "return 'hello'", "return {1,2,3,'ciao',{1,2}}", "return 3.99",
	"return -3.99", "return true", "return false", "return nil",
	"return {1,2,nil,4}", "return {err='My Error'}", "return {ok='FINE'}",
	"return redis.error_reply('My Error')", "return redis.error_reply('x')",
	"return redis.status_reply('OK2')", "return redis.sha1hex('')",
	"return redis.sha1hex('Pizza & Mandolino')",
	"return redis.call('set', KEYS[1], ARGV[1])", "return redis.call('get', KEYS[1])",
	"return redis.call('incr', KEYS[1])", "return redis.pcall('incr', KEYS[1])",
	"return redis.call('lpush', 'l', 1, 2, 3)", "return redis.call('lrange', 'l', 0, -1)",
	"return redis.call('get', 'nosuchkey')", "return type(redis.call('get', 'nosuchkey'))",
	"return redis.call('nosuchcommand')", "return redis.pcall('nosuchcommand')",
	"return redis.call()", "return redis.call('get')", "return redis.call('save')",
	"return redis.call('set', 'x', {})", "return redis.call('set', 'x', 1.5)",
	"return redis.call('set', 'x', 10000000000)", "return redis.call('get', 'x')",
	"a = 1", "return b", "return loadfile", "return dofile", "return print",
	"redis.call = nil", "setmetatable(_G, {})", "x(", "error('my error')",
	"error({err='CUSTOM an error'})", "return cjson.encode({1,2,{a=1}})",
	"return cjson.decode('[1,2,3,\"x\"]')", "return bit.band(0xff, 0x0f)",
	"return bit.tohex(65535)", "return cmsgpack.unpack(cmsgpack.pack({1,2,3}))",
	"local h = '' local e = cmsgpack.pack(0.1, -1099511627776, 'x', {a=1}) "
	"for i = 1, #e do h = h .. string.format('%02x', string.byte(e, i)) end return h",
	"return {KEYS[1], ARGV[1], #KEYS, #ARGV}", "return string.rep('x', 3)",
	"return math.floor(2.5)", "return table.concat({'a','b'}, '-')",
	"return redis.call('hset', 'h', 'f', 'v')", "return redis.call('hgetall', 'h')",
	"redis.setresp(3) return redis.call('hgetall', 'h')",
	"redis.setresp(3) return redis.call('get', 'nosuchkey')",
	"return {double=3.14}", "redis.setresp(3) return {map={a=1}}",
	"redis.setresp(3) return true", "redis.setresp(3) return false",
	"return redis.setresp(4)", "return redis.log(redis.LOG_WARNING, 'from a test')",
	"return loadstring(string.dump(function() return 1 end))()",
	"local s = struct.pack('>iHb<d', -5, 65535, -1, 1.5) return {struct.unpack('>iHb<d', s)}",
	"local s = struct.pack('<i8', 1099511627776) return {#s, struct.unpack('<i8', s)}",
	"return {struct.unpack('BBc0s', struct.pack('BBc0s', 1, 3, 'abc', 'zt'))}",
	"return {struct.size('!4bi'), struct.size('>hhl')}",
	"return {struct.unpack('>I2', '\\1\\2')}",
	"return {struct.pack('i9', -1), struct.pack('>i10', 258)}", "return struct.pack('q', 1)",
	"return {struct.unpack('>i', 'ab')}", "return struct.size('s')",
	/* time stands still during a script: a 1 ms key is still there */
	"redis.call('set', 'tk', 'v', 'px', 1) local i = 0 while i < 3000000 do i = i + 1 end "
	"return redis.call('exists', 'tk')",
};

static void test_eval_matches_redis(void **state)
{
	struct srvp *ck, *rs;
	struct kc *a, *b;

	(void)state;
	start_both(&ck, &rs);
	a = kc_open(ck->port);
	b = kc_open(rs->port);
	for (size_t i = 0; i < sizeof scripts / sizeof scripts[0]; i++) {
		struct resp_reply *x = CMD(a, "EVAL", scripts[i], "1", "k", "v");
		struct resp_reply *y = CMD(b, "EVAL", scripts[i], "1", "k", "v");

		if (!reply_equal(x, y))
			fail_msg("script %zu '%s': cowkv %c '%s', redis %c '%s'", i, scripts[i],
				 x->type, x->str ? x->str : "", y->type, y->str ? y->str : "");
		resp_reply_free(x);
		resp_reply_free(y);
	}
	/* EVALSHA, SCRIPT LOAD/EXISTS/FLUSH */
	{
		struct resp_reply *x = CMD(a, "SCRIPT", "LOAD", "return 'loaded'");
		char sha[41];

		assert_int_equal(x->type, RESP_BULK);
		assert_int_equal(x->len, 40);
		memcpy(sha, x->str, 41);
		resp_reply_free(x);
		expect_str(CMD(a, "EVALSHA", sha, "0"), RESP_BULK, "loaded");
		x = CMD(a, "SCRIPT", "EXISTS", sha, "0000000000000000000000000000000000000000");
		assert_int_equal(x->n, 2);
		assert_int_equal(x->elem[0]->integer, 1);
		assert_int_equal(x->elem[1]->integer, 0);
		resp_reply_free(x);
		expect_str(CMD(a, "SCRIPT", "FLUSH"), RESP_STATUS, "OK");
		expect_str(CMD(a, "EVALSHA", sha, "0"), RESP_ERR, "NOSCRIPT");
		expect_str(CMD(a, "EVAL_RO", "return redis.call('set','a','b')", "0"), RESP_ERR,
			   "Write commands are not allowed from read-only scripts");
		expect_str(CMD(a, "EVAL", "#!lua flags=no-writes\nreturn redis.call('set','a','b')",
			       "0"), RESP_ERR, "Write commands are not allowed");
		expect_str(CMD(a, "EVAL", "return 1", "-1"), RESP_ERR, "can't be negative");
		expect_str(CMD(a, "EVAL", "return 1", "2", "k"), RESP_ERR, "greater than");
	}
	kc_close(a);
	kc_close(b);
}

/* ---- busy scripts -------------------------------------------------------------------- */

static void test_busy_script_kill(void **state)
{
	struct srvp *ck;
	struct kc *a, *b;
	int64_t t0;

	(void)state;
	ck = start_at(0, cowkv_path(), 0, (const char *[]){ "--busy-reply-threshold", "100", NULL });
	a = kc_open(ck->port);
	b = kc_open(ck->port);
	expect_str(CMD(b, "SCRIPT", "KILL"), RESP_ERR, "NOTBUSY");
	kc_sendv(a, (const char *[]){ "EVAL", "local i = 0 while true do i = i + 1 end", "0", NULL });
	sleep_ms(300);
	t0 = now_ms();
	expect_str(CMD(b, "PING"), RESP_ERR, "BUSY Redis is busy running a script");
	assert_true(now_ms() - t0 < 1000);	/* served while the script runs */
	expect_str(CMD(b, "FUNCTION", "KILL"), RESP_ERR, "BUSY");
	expect_str(CMD(b, "SCRIPT", "KILL"), RESP_STATUS, "OK");
	expect_str(kc_read(a), RESP_ERR, "Script killed by user with SCRIPT KILL");
	expect_str(CMD(b, "PING"), RESP_STATUS, "PONG");
	/* pcall does not hold a kill */
	kc_sendv(a, (const char *[]){ "EVAL", "while true do pcall(function() while true do end end) end",
				      "0", NULL });
	sleep_ms(300);
	expect_str(CMD(b, "SCRIPT", "KILL"), RESP_STATUS, "OK");
	expect_str(kc_read(a), RESP_ERR, "Script killed");
	/* a script that wrote cannot be killed; SHUTDOWN NOSAVE ends the server */
	kc_sendv(a, (const char *[]){ "EVAL", "redis.call('set','x','y') while true do end", "0", NULL });
	sleep_ms(300);
	expect_str(CMD(b, "SCRIPT", "KILL"), RESP_ERR, "UNKILLABLE");
	kc_sendv(b, (const char *[]){ "SHUTDOWN", "NOSAVE", NULL });
	assert_true(WIFEXITED(wait_exit(ck)));
	kc_close(a);
	kc_close(b);
}

/* ---- functions ------------------------------------------------------------------------- */

static const char lib_code[] =
	"#!lua name=mylib\n"
	"local function helper(k) return redis.call('get', k) end\n"
	"redis.register_function('setit', function(keys, args) return redis.call('set', keys[1], args[1]) end)\n"
	"redis.register_function{function_name='getit', callback=function(keys) return helper(keys[1]) end,"
	" flags={'no-writes'}, description='reads'}\n";

static void test_functions_persist(void **state)
{
	const char *dir = new_tmpdir();
	struct srvp *ck;
	struct kc *a;
	struct resp_reply *r;
	long long snap;

	(void)state;
	ck = start_at(0, cowkv_path(), 0, (const char *[]){ "--dir", dir, NULL });
	a = kc_open(ck->port);
	expect_str(CMD(a, "FUNCTION", "LOAD", lib_code), RESP_BULK, "mylib");
	expect_str(CMD(a, "FUNCTION", "LOAD", lib_code), RESP_ERR, "already exists");
	expect_str(CMD(a, "FCALL", "setit", "1", "k", "v1"), RESP_STATUS, "OK");
	expect_str(CMD(a, "FCALL_RO", "getit", "1", "k"), RESP_BULK, "v1");
	expect_str(CMD(a, "FCALL_RO", "setit", "1", "k", "x"), RESP_ERR, "write flag");
	expect_str(CMD(a, "FCALL", "nosuch", "0"), RESP_ERR, "Function not found");
	expect_str(CMD(a, "FUNCTION", "LOAD", "#!lua name=bad\nredis.call('ping')"), RESP_ERR,
		   "nonexistent global variable 'call'");
	/* FLUSHALL keeps the libraries */
	expect_str(CMD(a, "FLUSHALL"), RESP_STATUS, "OK");
	expect_str(CMD(a, "FCALL", "setit", "1", "k", "v2"), RESP_STATUS, "OK");
	/* a restart from the saved checkpoint has them */
	expect_str(CMD(a, "SAVE"), RESP_STATUS, "OK");
	kc_close(a);
	kill(ck->pid, SIGTERM);
	wait_exit(ck);
	ck = start_at(0, cowkv_path(), 0, (const char *[]){ "--dir", dir, NULL });
	a = kc_open(ck->port);
	expect_str(CMD(a, "FCALL_RO", "getit", "1", "k"), RESP_BULK, "v2");
	r = CMD(a, "FUNCTION", "LIST");
	assert_int_equal(r->type, RESP_ARRAY);
	assert_int_equal(r->n, 1);
	resp_reply_free(r);
	/* ROLLBACK brings a deleted library back */
	r = CMD(a, "SNAPSHOT");
	assert_int_equal(r->type, RESP_INT);
	snap = r->integer;
	resp_reply_free(r);
	expect_str(CMD(a, "FUNCTION", "DELETE", "mylib"), RESP_STATUS, "OK");
	expect_str(CMD(a, "FCALL", "getit", "1", "k"), RESP_ERR, "Function not found");
	{
		char id[24];

		snprintf(id, sizeof id, "%lld", snap);
		expect_str(CMD(a, "ROLLBACK", id), RESP_STATUS, "OK");
	}
	expect_str(CMD(a, "FCALL", "getit", "1", "k"), RESP_BULK, "v2");
	expect_str(CMD(a, "FUNCTION", "FLUSH"), RESP_STATUS, "OK");
	expect_str(CMD(a, "FCALL", "getit", "1", "k"), RESP_ERR, "Function not found");
	kc_close(a);
}

/* A bulk reply's bytes (malloc'd) and length. */
static char *take_bulk(struct resp_reply *r, size_t *n)
{
	char *p;

	assert_int_equal(r->type, RESP_BULK);
	p = malloc(r->len + 1);
	memcpy(p, r->str, r->len + 1);
	*n = r->len;
	resp_reply_free(r);
	return p;
}

static void test_function_dump_restore_with_redis(void **state)
{
	struct srvp *ck, *rs;
	struct kc *a, *b;
	size_t n;
	char *payload;
	size_t lens[4];
	const char *words[4];
	char *req;
	size_t reqlen;

	(void)state;
	start_both(&ck, &rs);
	a = kc_open(ck->port);
	b = kc_open(rs->port);
	/* redis-server -> cowkv (Redis compresses the code with LZF) */
	expect_str(CMD(b, "FUNCTION", "LOAD", lib_code), RESP_BULK, "mylib");
	payload = take_bulk(CMD(b, "FUNCTION", "DUMP"), &n);
	words[0] = "FUNCTION"; words[1] = "RESTORE"; words[2] = payload;
	lens[0] = 8; lens[1] = 7; lens[2] = n;
	req = resp_encode(3, words, lens, &reqlen);
	assert_int_equal(send(a->fd, req, reqlen, 0), (ssize_t)reqlen);
	free(req);
	expect_str(kc_read(a), RESP_STATUS, "OK");
	expect_str(CMD(a, "FCALL", "setit", "1", "k", "v"), RESP_STATUS, "OK");
	free(payload);
	/* a damaged payload is refused */
	expect_str(CMD(a, "FUNCTION", "RESTORE", "garbage-payload"), RESP_ERR, "checksum");
	/* cowkv -> redis-server */
	payload = take_bulk(CMD(a, "FUNCTION", "DUMP"), &n);
	expect_str(CMD(b, "FUNCTION", "FLUSH"), RESP_STATUS, "OK");
	words[2] = payload;
	lens[2] = n;
	req = resp_encode(3, words, lens, &reqlen);
	assert_int_equal(send(b->fd, req, reqlen, 0), (ssize_t)reqlen);
	free(req);
	expect_str(kc_read(b), RESP_STATUS, "OK");
	expect_str(CMD(b, "FCALL", "setit", "1", "k", "v"), RESP_STATUS, "OK");
	free(payload);
	kc_close(a);
	kc_close(b);
}

/* ---- RESP3 ------------------------------------------------------------------------------ */

static void test_resp3_matches_redis(void **state)
{
	static const char *const cmds[][6] = {
		{ "HSET", "h", "f", "v" }, { "HGETALL", "h" }, { "GET", "nosuchkey" },
		{ "HGETALL", "nosuchkey" }, { "CONFIG", "GET", "timeout" },
		{ "EVAL", "return {double=1.5}", "0" }, { "EVAL", "return true", "0" },
		{ "EVAL", "redis.setresp(3) return false", "0" },
		{ "EVAL", "redis.setresp(3) return redis.call('hgetall','h')", "0" },
		{ "EVAL", "return {big_number='1234567890123456789012'}", "0" },
		{ "EVAL", "redis.setresp(3) return {set={a=true}}", "0" },
		{ "LRANGE", "nosuchkey", "0", "-1" }, { "PING" },
	};
	struct srvp *ck, *rs;
	struct kc *a, *b;
	char *x, *y;

	(void)state;
	start_both(&ck, &rs);
	a = kc_open(ck->port);
	b = kc_open(rs->port);
	x = RAW(a, "HELLO", "3");
	assert_true(strncmp(x, "%7\r\n$6\r\nserver\r\n", 16) == 0);
	assert_non_null(strstr(x, "$5\r\nproto\r\n:3\r\n"));
	free(x);
	free(RAW(b, "HELLO", "3"));
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
		x = cmd_raw(a, (const char **)cmds[i]);
		y = cmd_raw(b, (const char **)cmds[i]);
		if (strcmp(x, y))
			fail_msg("%s: cowkv '%s' redis '%s'", cmds[i][0], x, y);
		free(x);
		free(y);
	}
	x = RAW(a, "HELLO", "2");
	assert_true(x[0] == '*');
	free(x);
	x = RAW(a, "GET", "nosuchkey");
	assert_string_equal(x, "$-1\r\n");
	free(x);
	x = RAW(a, "HELLO", "4");
	assert_non_null(strstr(x, "NOPROTO"));
	free(x);
	kc_close(a);
	kc_close(b);
}

/* ---- authentication and ACLs --------------------------------------------------------------- */

static void test_auth_and_acl(void **state)
{
	const char *dir = new_tmpdir();
	char aclfile[128];
	struct srvp *ck;
	struct kc *a, *b;
	struct resp_reply *r;
	struct stat st;
	int fd;

	(void)state;
	snprintf(aclfile, sizeof aclfile, "%s/users.acl", dir);
	fd = open(aclfile, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	ck = start_at(0, cowkv_path(), 0, (const char *[]){ "--requirepass", "s3cret", "--aclfile",
						       aclfile, NULL });
	a = kc_open(ck->port);
	expect_str(CMD(a, "GET", "x"), RESP_ERR, "NOAUTH");
	expect_str(CMD(a, "AUTH", "wrong"), RESP_ERR, "WRONGPASS");
	expect_str(CMD(a, "HELLO", "2", "AUTH", "default", "wrong"), RESP_ERR, "WRONGPASS");
	expect_str(CMD(a, "AUTH", "s3cret"), RESP_STATUS, "OK");
	expect_str(CMD(a, "ACL", "WHOAMI"), RESP_BULK, "default");
	expect_str(CMD(a, "ACL", "SETUSER", "alice", "on", ">pw", "~a*", "%R~r*", "+get", "+set",
		       "+@scripting"), RESP_STATUS, "OK");
	expect_str(CMD(a, "ACL", "SETUSER", "alice", "+nosuchcommand"), RESP_ERR, "Unknown command");
	expect_str(CMD(a, "SET", "rkey", "1"), RESP_STATUS, "OK");
	b = kc_open(ck->port);
	r = CMD(b, "HELLO", "2", "AUTH", "alice", "pw");
	assert_int_equal(r->type, RESP_ARRAY);
	resp_reply_free(r);
	expect_str(CMD(b, "ACL", "WHOAMI"), RESP_ERR, "NOPERM");
	expect_str(CMD(b, "SET", "akey", "1"), RESP_STATUS, "OK");
	expect_str(CMD(b, "GET", "rkey"), RESP_BULK, "1");
	expect_str(CMD(b, "SET", "rkey", "2"), RESP_ERR, "NOPERM");
	expect_str(CMD(b, "SET", "bkey", "2"), RESP_ERR, "NOPERM");
	expect_str(CMD(b, "HSET", "akey2", "f", "v"), RESP_ERR, "NOPERM this user has no permissions to run the 'hset' command");
	expect_str(CMD(b, "EVAL", "return redis.call('set','bkey','1')", "0"), RESP_ERR,
		   "can't access at least one of the keys");
	r = CMD(a, "ACL", "DRYRUN", "alice", "set", "bkey", "1");
	assert_non_null(strstr(r->str, "no permissions to access the 'bkey' key"));
	resp_reply_free(r);
	r = CMD(a, "ACL", "LOG");
	assert_int_equal(r->type, RESP_ARRAY);
	assert_true(r->n >= 3);
	resp_reply_free(r);
	/* ACL SAVE writes a 0600 file with digests only; LOAD reads it back */
	expect_str(CMD(a, "ACL", "SAVE"), RESP_STATUS, "OK");
	assert_int_equal(stat(aclfile, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	{
		char buf[4096];
		FILE *f = fopen(aclfile, "r");
		size_t n = fread(buf, 1, sizeof buf - 1, f);

		fclose(f);
		buf[n] = '\0';
		assert_non_null(strstr(buf, "user alice on #"));
		assert_null(strstr(buf, "pw "));
	}
	expect_int(CMD(a, "ACL", "DELUSER", "alice"), 1);
	expect_str(CMD(a, "ACL", "LOAD"), RESP_STATUS, "OK");
	r = CMD(a, "ACL", "USERS");
	assert_int_equal(r->n, 2);
	resp_reply_free(r);
	expect_str(CMD(a, "ACL", "DELUSER", "default"), RESP_ERR, "cannot be removed");
	kc_close(a);
	kc_close(b);
}

static void test_protected_mode(void **state)
{
	char log[128];
	const char *argv[] = { cowkv_path(), "--port", "0", "--bind", "0.0.0.0", NULL };
	char port[16];
	pid_t pid;
	int status;

	(void)state;
	snprintf(port, sizeof port, "%d", free_port());
	argv[2] = port;
	snprintf(log, sizeof log, "/tmp/test_cowkv_deploy.%d.protected.log", (int)getpid());
	pid = spawn(cowkv_path(), argv, log);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_not_equal(WEXITSTATUS(status), 0);
	{
		char buf[4096] = "";
		FILE *f = fopen(log, "r");
		size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;

		if (f)
			fclose(f);
		buf[n] = '\0';
		assert_non_null(strstr(buf, "Protected mode"));
	}
	unlink(log);
}

/* ---- RDB ------------------------------------------------------------------------------------ */

/* Fill a server with every type and encoding cowkv has. */
static void fill_dataset(struct kc *c)
{
	char num[32], val[256];
	char *big = malloc(30001);

	assert_non_null(big);
	for (int i = 0; i < 30000; i++)
		big[i] = "abcabcabd"[i % 9];
	big[30000] = '\0';
	expect_str(CMD(c, "SET", "str", "hello"), RESP_STATUS, "OK");
	expect_str(CMD(c, "SET", "int", "12345"), RESP_STATUS, "OK");
	expect_str(CMD(c, "SET", "neg", "-70000"), RESP_STATUS, "OK");
	expect_str(CMD(c, "SET", "big", big), RESP_STATUS, "OK");
	expect_str(CMD(c, "SET", "empty", ""), RESP_STATUS, "OK");
	expect_str(CMD(c, "SET", "vol", "v", "PX", "5000000"), RESP_STATUS, "OK");
	expect_int(CMD(c, "RPUSH", "small", "a", "1", "-2", "300", "70000", "4294967296", "x y"), 7);
	for (int i = 0; i < 2000; i++) {
		snprintf(num, sizeof num, "%d", i % 3 ? i : -i * 1000);
		resp_reply_free(CMD(c, "RPUSH", "longlist", num));
	}
	expect_int(CMD(c, "RPUSH", "bigelems", big, "tail"), 2);
	expect_int(CMD(c, "HSET", "hsmall", "a", "1", "b", "two"), 2);
	for (int i = 0; i < 600; i++) {
		snprintf(num, sizeof num, "field%d", i);
		snprintf(val, sizeof val, "%*d", i % 100 + 1, i);
		resp_reply_free(CMD(c, "HSET", "hbig", num, val));
	}
	expect_int(CMD(c, "EXPIRE", "hbig", "100000"), 1);
	free(big);
}

/* Compare every key of a (the reference) with b: type, value, expiry. */
static void compare_datasets(struct kc *a, struct kc *b)
{
	struct resp_reply *ka = CMD(a, "KEYS", "*"), *kb = CMD(b, "KEYS", "*");

	assert_int_equal(ka->n, kb->n);
	for (size_t i = 0; i < ka->n; i++) {
		const char *k = ka->elem[i]->str;
		struct resp_reply *x, *y;
		char *tb;

		x = CMD(b, "TYPE", k);
		assert_int_equal(x->type, RESP_STATUS);
		tb = strdup(x->str);
		resp_reply_free(x);
		x = CMD(a, "TYPE", k);
		if (strcmp(x->str, tb))
			fail_msg("key %s: type %s vs %s", k, x->str, tb);
		if (!strcmp(tb, "string")) {
			x = (resp_reply_free(x), CMD(a, "GET", k));
			y = CMD(b, "GET", k);
		} else if (!strcmp(tb, "list")) {
			x = (resp_reply_free(x), CMD(a, "LRANGE", k, "0", "-1"));
			y = CMD(b, "LRANGE", k, "0", "-1");
		} else if (!strcmp(tb, "zset")) {
			x = (resp_reply_free(x), CMD(a, "ZRANGE", k, "0", "-1", "WITHSCORES"));
			y = CMD(b, "ZRANGE", k, "0", "-1", "WITHSCORES");
		} else if (!strcmp(tb, "set")) {
			/* orders differ: every member of a is in b, same count */
			struct resp_reply *m = (resp_reply_free(x), CMD(a, "SMEMBERS", k));

			for (size_t j = 0; j < m->n; j++)
				expect_int(CMD(b, "SISMEMBER", k, m->elem[j]->str), 1);
			resp_reply_free(m);
			x = CMD(a, "SCARD", k);
			y = CMD(b, "SCARD", k);
		} else {
			/* hashes: HGETALL orders differ; compare field by field */
			struct resp_reply *f;

			resp_reply_free(x);
			f = CMD(a, "HKEYS", k);
			x = CMD(a, "HLEN", k);
			y = CMD(b, "HLEN", k);
			assert_true(reply_equal(x, y));
			resp_reply_free(x);
			resp_reply_free(y);
			for (size_t j = 0; j < f->n; j++) {
				x = CMD(a, "HGET", k, f->elem[j]->str);
				y = CMD(b, "HGET", k, f->elem[j]->str);
				if (!reply_equal(x, y))
					fail_msg("hash %s field %s differs", k, f->elem[j]->str);
				resp_reply_free(x);
				resp_reply_free(y);
			}
			resp_reply_free(f);
			x = CMD(a, "LLEN", "nosuchkey");
			y = CMD(b, "LLEN", "nosuchkey");
		}
		if (!reply_equal(x, y))
			fail_msg("key %s (%s) differs", k, tb);
		resp_reply_free(x);
		resp_reply_free(y);
		x = CMD(a, "PTTL", k);
		y = CMD(b, "PTTL", k);
		if ((x->integer < 0) != (y->integer < 0) ||
		    (x->integer > 0 && llabs(x->integer - y->integer) > 60000))
			fail_msg("key %s: pttl %lld vs %lld", k, x->integer, y->integer);
		resp_reply_free(x);
		resp_reply_free(y);
		free(tb);
	}
	resp_reply_free(ka);
	resp_reply_free(kb);
}

static void test_rdb_roundtrip(void **state)
{
	const char *dir = new_tmpdir();
	char rdb[128], out[128], log[128], cmd[400];
	const char *argv[8];
	struct srvp *ra, *ck, *rb;
	struct kc *a, *b, *c;
	struct resp_reply *da, *db;
	pid_t pid;
	int status;

	(void)state;
	if (!have_redis())
		skip();
	snprintf(rdb, sizeof rdb, "%s/dump.rdb", dir);
	snprintf(out, sizeof out, "%s/out.rdb", dir);
	ra = start_at(1, "redis-server", 0, (const char *[]){ "--dir", dir, "--enable-debug-command",
							"yes", NULL });
	a = kc_open(ra->port);
	fill_dataset(a);
	expect_str(CMD(a, "FUNCTION", "LOAD", lib_code), RESP_BULK, "mylib");
	expect_str(CMD(a, "SAVE"), RESP_STATUS, "OK");
	/* cowkv --import dump.rdb --export out.rdb */
	snprintf(log, sizeof log, "/tmp/test_cowkv_deploy.%d.export.log", (int)getpid());
	argv[0] = cowkv_path(); argv[1] = "--import"; argv[2] = rdb; argv[3] = "--export";
	argv[4] = out; argv[5] = NULL;
	pid = spawn(cowkv_path(), argv, log);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		snprintf(cmd, sizeof cmd, "cat %s >&2", log);
		(void)!system(cmd);
		fail_msg("cowkv --import/--export failed");
	}
	unlink(log);
	{
		struct stat st;

		assert_int_equal(stat(out, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
	}
	if (system("command -v redis-check-rdb >/dev/null 2>&1") == 0) {
		snprintf(cmd, sizeof cmd, "redis-check-rdb %s >/dev/null 2>&1", out);
		assert_int_equal(system(cmd), 0);
	}
	/* cowkv with the imported dataset equals redis-server, key by key */
	ck = start_at(0, cowkv_path(), 0, (const char *[]){ "--import", rdb, NULL });
	b = kc_open(ck->port);
	compare_datasets(a, b);
	expect_str(CMD(b, "FCALL_RO", "getit", "1", "str"), RESP_BULK, "hello");
	/* redis-server loading cowkv's export has the same digest */
	rb = start_at(2, "redis-server", 0, (const char *[]){ "--dir", dir, "--dbfilename", "out.rdb",
							"--enable-debug-command", "yes", NULL });
	c = kc_open(rb->port);
	da = CMD(a, "DEBUG", "DIGEST");
	db = CMD(c, "DEBUG", "DIGEST");
	assert_int_equal(da->type, RESP_STATUS);
	if (!reply_equal(da, db))
		fail_msg("digest %s (redis) vs %s (redis loading cowkv's export)", da->str, db->str);
	resp_reply_free(da);
	resp_reply_free(db);
	expect_str(CMD(c, "FCALL_RO", "getit", "1", "str"), RESP_BULK, "hello");
	compare_datasets(a, c);
	kc_close(a);
	kc_close(b);
	kc_close(c);
}

/* DUMP on one side, RESTORE on the other, for every key. */
static void test_dump_restore_with_redis(void **state)
{
	struct srvp *ra, *ck;
	struct kc *a, *b;
	struct resp_reply *keys;

	(void)state;
	if (!have_redis())
		skip();
	ra = start_at(1, "redis-server", 0, NULL);
	ck = start_at(0, cowkv_path(), 0, NULL);
	a = kc_open(ra->port);
	b = kc_open(ck->port);
	fill_dataset(a);
	keys = CMD(a, "KEYS", "*");
	for (size_t i = 0; i < keys->n; i++) {
		const char *k = keys->elem[i]->str;
		struct resp_reply *p = CMD(a, "DUMP", k), *q;
		const char *w[6] = { "RESTORE", k, "0", NULL, "REPLACE", NULL };
		size_t lens[5] = { 7, strlen(k), 1, 0, 7 }, n;
		char *req;

		assert_int_equal(p->type, RESP_BULK);
		w[3] = p->str;
		lens[3] = p->len;
		req = resp_encode(5, w, lens, &n);
		assert_int_equal(send(b->fd, req, n, 0), (ssize_t)n);
		free(req);
		expect_str(kc_read(b), RESP_STATUS, "OK");
		/* and back, under another name */
		q = CMD(b, "DUMP", k);
		assert_int_equal(q->type, RESP_BULK);
		{
			char back[300];

			snprintf(back, sizeof back, "back:%s", k);
			w[1] = back;
			lens[1] = strlen(back);
			w[3] = q->str;
			lens[3] = q->len;
			req = resp_encode(5, w, lens, &n);
			assert_int_equal(send(a->fd, req, n, 0), (ssize_t)n);
			free(req);
			expect_str(kc_read(a), RESP_STATUS, "OK");
		}
		resp_reply_free(p);
		resp_reply_free(q);
	}
	resp_reply_free(keys);
	expect_str(CMD(b, "RESTORE", "str", "0", "x"), RESP_ERR, "BUSYKEY");
	expect_str(CMD(b, "RESTORE", "new", "0", "garbage-payload!"), RESP_ERR, "checksum");
	expect_str(CMD(b, "RESTORE", "new", "-1", "x"), RESP_ERR, "Invalid TTL");
	expect_int(CMD(a, "DEL", "vol", "hbig"), 2);	/* their TTL did not travel */
	expect_int(CMD(b, "DEL", "vol", "hbig"), 2);
	/* what went back equals the original */
	{
		struct resp_reply *x = CMD(a, "GET", "back:big"), *y = CMD(a, "GET", "big");

		assert_true(reply_equal(x, y));
		resp_reply_free(x);
		resp_reply_free(y);
		x = CMD(a, "LRANGE", "back:longlist", "0", "-1");
		y = CMD(a, "LRANGE", "longlist", "0", "-1");
		assert_true(reply_equal(x, y));
		resp_reply_free(x);
		resp_reply_free(y);
		x = CMD(a, "HGET", "back:hsmall", "b");
		expect_str(x, RESP_BULK, "two");
	}
	kc_close(a);
	kc_close(b);
}

/* ---- encodings of Redis before 7 (ziplist, quicklist 1) ------------------------------- */

/* A ziplist under construction (the old compact encoding Redis < 7 wrote). */
struct zl {
	unsigned char b[4096];
	size_t len;
	size_t prev;            /* length of the previous entry */
	unsigned n;
};

static void zl_init(struct zl *z)
{
	memset(z, 0, sizeof *z);
	z->len = 10;            /* zlbytes, zltail, zllen: filled by zl_end */
}

/* Append one entry: its previous-length field, encoding and data. */
static void zl_entry(struct zl *z, const unsigned char *enc, size_t elen,
		     const void *data, size_t dlen)
{
	size_t start = z->len;

	if (z->prev < 254) {
		z->b[z->len++] = (unsigned char)z->prev;
	} else {
		z->b[z->len++] = 0xfe;
		for (int i = 0; i < 4; i++)
			z->b[z->len++] = (unsigned char)(z->prev >> (8 * i));
	}
	memcpy(z->b + z->len, enc, elen);
	z->len += elen;
	memcpy(z->b + z->len, data, dlen);
	z->len += dlen;
	z->prev = z->len - start;
	z->n++;
}

static void zl_str(struct zl *z, const char *s)
{
	size_t n = strlen(s);
	unsigned char enc[2];

	if (n < 64) {
		enc[0] = (unsigned char)n;
		zl_entry(z, enc, 1, s, n);
	} else {
		enc[0] = (unsigned char)(0x40 | (n >> 8));
		enc[1] = (unsigned char)n;
		zl_entry(z, enc, 2, s, n);
	}
}

/* An integer in the encoding given by its header byte (0xfe int8, 0xc0
 * int16, 0xf0 int24, 0xd0 int32, 0xe0 int64, 0xf1..0xfd immediate). */
static void zl_int(struct zl *z, unsigned char hdr, long long v)
{
	unsigned char d[8];
	int k = hdr == 0xfe ? 1 : hdr == 0xc0 ? 2 : hdr == 0xf0 ? 3 : hdr == 0xd0 ? 4 :
		hdr == 0xe0 ? 8 : 0;

	if (k == 0)
		hdr = (unsigned char)(0xf1 + v);        /* 0..12 in the header */
	for (int i = 0; i < k; i++)
		d[i] = (unsigned char)((unsigned long long)v >> (8 * i));
	zl_entry(z, &hdr, 1, d, (size_t)k);
}

static void zl_end(struct zl *z)
{
	size_t tail = z->len - z->prev;

	z->b[z->len++] = 0xff;
	for (int i = 0; i < 4; i++) {
		z->b[i] = (unsigned char)(z->len >> (8 * i));
		z->b[4 + i] = (unsigned char)(tail >> (8 * i));
	}
	z->b[8] = (unsigned char)z->n;
	z->b[9] = (unsigned char)(z->n >> 8);
}

/* A DUMP payload of RDB version 9: type, body, trailer with CRC64. */
static char *payload_v9(unsigned type, int nodes, const struct zl *z, size_t *n)
{
	struct rbuf b = { 0 };
	uint64_t crc;

	rbuf_byte(&b, type);
	if (nodes)
		rbuf_len(&b, (uint64_t)nodes);
	for (int i = 0; i < (nodes ? nodes : 1); i++)
		rbuf_str(&b, z[i].b, z[i].len);
	rbuf_byte(&b, 9);
	rbuf_byte(&b, 0);
	crc = crc64_jones(0, b.p, b.len);
	for (int i = 0; i < 8; i++)
		rbuf_byte(&b, (unsigned)(crc >> (8 * i)) & 0xff);
	assert_false(b.oom);
	*n = b.len;
	return (char *)b.p;
}

static void restore_raw(struct kc *c, const char *key, const char *p, size_t n)
{
	const char *w[4] = { "RESTORE", key, "0", p };
	size_t lens[4] = { 7, strlen(key), 1, n }, rn;
	char *req = resp_encode(4, w, lens, &rn);

	assert_int_equal(send(c->fd, req, rn, 0), (ssize_t)rn);
	free(req);
	expect_str(kc_read(c), RESP_STATUS, "OK");
}

/* The command words (NULL-terminated) get equal replies from a and b. */
static void expect_same_reply(struct kc *a, struct kc *b, const char *const *words)
{
	struct resp_reply *x = cmd_words(a, (const char **)words);
	struct resp_reply *y = cmd_words(b, (const char **)words);

	if (!reply_equal(x, y))
		fail_msg("%s %s differs between redis-server and cowkv", words[0], words[1]);
	resp_reply_free(x);
	resp_reply_free(y);
}


/* Old encodings restored into cowkv and into redis-server read the same. */
static void test_old_encodings_match_redis(void **state)
{
	static char big[301];
	struct zl z[2];
	struct srvp *ra, *ck;
	struct kc *a, *b;
	char *p;
	size_t n;
	const char *const reads[][5] = {
		{ "LRANGE", "zlist", "0", "-1" }, { "LRANGE", "qlist", "0", "-1" },
		{ "HGET", "zhash", "f1" }, { "HGET", "zhash", "num" }, { "HLEN", "zhash" },
		{ "HGET", "zhash", "big" },
	};

	(void)state;
	if (!have_redis())
		skip();
	memset(big, 'q', 300);
	ra = start_at(1, "redis-server", 0, NULL);
	ck = start_at(0, cowkv_path(), 0, NULL);
	a = kc_open(ra->port);
	b = kc_open(ck->port);
	/* a list as one ziplist (RDB type 10), every integer encoding */
	zl_init(&z[0]);
	zl_str(&z[0], "hello");
	zl_int(&z[0], 0xfe, -100);
	zl_int(&z[0], 0xc0, -30000);
	zl_int(&z[0], 0xf0, 8000000);
	zl_int(&z[0], 0xd0, -2000000000);
	zl_int(&z[0], 0xe0, 9000000000000000000LL);
	zl_int(&z[0], 0, 7);
	zl_str(&z[0], big);                     /* 14-bit length */
	zl_str(&z[0], "after a long entry");    /* 5-byte previous length */
	zl_end(&z[0]);
	p = payload_v9(10, 0, z, &n);
	restore_raw(a, "zlist", p, n);
	restore_raw(b, "zlist", p, n);
	free(p);
	/* a quicklist of two ziplists (RDB type 14) */
	zl_init(&z[0]);
	zl_str(&z[0], "n1a");
	zl_int(&z[0], 0, 12);
	zl_end(&z[0]);
	zl_init(&z[1]);
	zl_str(&z[1], "n2a");
	zl_int(&z[1], 0xc0, 1234);
	zl_end(&z[1]);
	p = payload_v9(14, 2, z, &n);
	restore_raw(a, "qlist", p, n);
	restore_raw(b, "qlist", p, n);
	free(p);
	/* a hash as a ziplist of field/value pairs (RDB type 13) */
	zl_init(&z[0]);
	zl_str(&z[0], "f1");
	zl_str(&z[0], "v1");
	zl_str(&z[0], "num");
	zl_int(&z[0], 0xd0, 123456);
	zl_str(&z[0], "big");
	zl_str(&z[0], big);
	zl_end(&z[0]);
	p = payload_v9(13, 0, z, &n);
	restore_raw(a, "zhash", p, n);
	restore_raw(b, "zhash", p, n);
	free(p);
	for (size_t i = 0; i < sizeof reads / sizeof reads[0]; i++)
		expect_same_reply(a, b, reads[i]);
	/* a ziplist cut short is refused, the server stays up */
	zl_init(&z[0]);
	zl_str(&z[0], "x");
	zl_end(&z[0]);
	z[0].len -= 2;
	p = payload_v9(10, 0, z, &n);
	{
		const char *w[4] = { "RESTORE", "broken", "0", p };
		size_t lens[4] = { 7, 6, 1, n }, rn;
		char *req = resp_encode(4, w, lens, &rn);

		assert_int_equal(send(b->fd, req, rn, 0), (ssize_t)rn);
		free(req);
		expect_str(kc_read(b), RESP_ERR, "Bad data format");
	}
	free(p);
	expect_int(CMD(b, "EXISTS", "broken"), 0);
	kc_close(a);
	kc_close(b);
}

/* DEBUG POPULATE, as Redis's tests fill a server: the same keys and values
 * as redis-server's, existing keys left alone, the same errors, and WATCH
 * sees the keys it adds. */
static void test_debug_populate_matches_redis(void **state)
{
	static const char *const steps[][7] = {
		{ "SET", "key:3", "mine" },
		{ "DEBUG", "POPULATE", "10" },
		{ "DEBUG", "POPULATE", "5", "p", "3" },
		{ "DEBUG", "POPULATE", "4", "q", "12" },
		{ "DEBUG", "POPULATE", "0" },
		{ "DEBUG", "POPULATE", "-1" },
		{ "DEBUG", "POPULATE", "2", "x", "abc" },
		{ "DEBUG", "POPULATE", "2", "x", "-5" },
		{ "DBSIZE" },
		{ "GET", "key:0" }, { "GET", "key:3" }, { "GET", "key:9" }, { "GET", "key:10" },
		{ "GET", "p:4" }, { "GET", "q:1" }, { "STRLEN", "q:3" }, { "TTL", "key:1" },
		{ "TYPE", "p:0" }, { "EXISTS", "x:0" },
		{ "WATCH", "key:20" }, { "DEBUG", "POPULATE", "21" }, { "MULTI" }, { "PING" },
		{ "EXEC" }, { "GET", "key:20" }, { "DBSIZE" },
	};
	struct srvp *ra, *ck;
	struct kc *a, *b;

	(void)state;
	if (!have_redis())
		skip();
	ra = start_at(1, "redis-server", 0, (const char *[]){ "--enable-debug-command", "yes", NULL });
	ck = start_at(0, cowkv_path(), 0, NULL);
	a = kc_open(ra->port);
	b = kc_open(ck->port);
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
		expect_same_reply(a, b, steps[i]);
	kc_close(a);
	kc_close(b);
}

/* min-replicas-to-write on a master with no replica: writes, scripts'
 * writes and EXEC of a write are refused with NOREPLICAS, reads are not,
 * min-replicas-max-lag 0 lifts it, REPLICAOF NO ONE is OK and REPLICAOF
 * host port an error; the same replies from redis-server (unit/multi's
 * "exec with write commands and state change" and the tests after it). */
static void test_min_replicas_matches_redis(void **state)
{
	static const char *const steps[][7] = {
		{ "SET", "a", "1" },
		{ "CONFIG", "SET", "min-replicas-to-write", "2" },
		{ "SET", "a", "2" }, { "GET", "a" }, { "INCR", "n" },
		{ "EVAL", "return redis.call('get','a')", "0" },
		{ "MULTI" }, { "GET", "a" }, { "EXEC" },
		{ "MULTI" }, { "SET", "a", "3" }, { "EXEC" },
		{ "CONFIG", "GET", "min-slaves-to-write" },
		{ "CONFIG", "SET", "min-replicas-max-lag", "0" },
		{ "SET", "a", "4" },
		{ "CONFIG", "SET", "min-replicas-max-lag", "10" },
		{ "CONFIG", "SET", "min-replicas-to-write", "0" },
		{ "SET", "a", "5" }, { "GET", "a" },
		{ "REPLICAOF", "NO", "ONE" }, { "SLAVEOF", "no", "one" },
		{ "REPLICAOF", "localhost", "port" },
	};
	struct srvp *ra, *ck;
	struct kc *a, *b;

	(void)state;
	if (!have_redis())
		skip();
	ra = start_at(1, "redis-server", 0, NULL);
	ck = start_at(0, cowkv_path(), 0, NULL);
	a = kc_open(ra->port);
	b = kc_open(ck->port);
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
		expect_same_reply(a, b, steps[i]);
	/* a script's write: Redis's message names the script */
	expect_str(CMD(b, "CONFIG", "SET", "min-replicas-to-write", "1"), RESP_STATUS, "OK");
	expect_str(CMD(b, "EVAL", "return redis.call('set','a','6')", "0"), RESP_ERR,
		   "NOREPLICAS Not enough good replicas to write. script: ");
	kc_close(a);
	kc_close(b);
}

/* The dataset digest of DEBUG DIGEST, into d[41]. */
static void digest_of(struct kc *c, char d[41])
{
	struct resp_reply *r = CMD(c, "DEBUG", "DIGEST");

	assert_int_equal(r->type, RESP_STATUS);
	assert_int_equal(r->len, 40);
	memcpy(d, r->str, 41);
	resp_reply_free(r);
}

/* DEBUG DIGEST, as Redis's tests use it (unit/other: the dataset is the
 * same after a reload): all zeros when empty, as redis-server; the same
 * for the same keys in any order; changed by a value, an expiry, the
 * database a key is in; kept by DEBUG RELOAD. */
static void test_debug_digest(void **state)
{
	const char *dir = new_tmpdir();
	struct srvp *ck = start_at(0, cowkv_path(), 0, (const char *[]){ "--dir", dir, NULL });
	struct kc *c = kc_open(ck->port);
	char zero[41], d1[41], d2[41], d3[41];

	(void)state;
	memset(zero, '0', 40);
	zero[40] = 0;
	digest_of(c, d1);
	assert_string_equal(d1, zero);
	fill_dataset(c);
	expect_str(CMD(c, "SET", "a", "1"), RESP_STATUS, "OK");
	expect_str(CMD(c, "SET", "b", "2"), RESP_STATUS, "OK");
	digest_of(c, d1);
	assert_string_not_equal(d1, zero);
	expect_str(CMD(c, "DEBUG", "RELOAD"), RESP_STATUS, "OK");
	digest_of(c, d2);
	assert_string_equal(d1, d2);
	/* the same keys set in another order */
	expect_int(CMD(c, "DEL", "a", "b"), 2);
	expect_str(CMD(c, "SET", "b", "2"), RESP_STATUS, "OK");
	expect_str(CMD(c, "SET", "a", "1"), RESP_STATUS, "OK");
	digest_of(c, d2);
	assert_string_equal(d1, d2);
	expect_str(CMD(c, "SET", "a", "3"), RESP_STATUS, "OK");
	digest_of(c, d2);
	assert_string_not_equal(d1, d2);
	expect_int(CMD(c, "EXPIRE", "a", "1000"), 1);
	digest_of(c, d3);
	assert_string_not_equal(d2, d3);
	expect_int(CMD(c, "MOVE", "a", "3"), 1);
	digest_of(c, d2);
	assert_string_not_equal(d2, d3);
	expect_str(CMD(c, "FLUSHALL"), RESP_STATUS, "OK");
	digest_of(c, d2);
	assert_string_equal(d2, zero);
	kc_close(c);
}

/* ---- SYNC: redis-cli --rdb and --functions-rdb ------------------------------------------ */

static const char *const sync_dbs[] = { "0", "3", "9" };

/* fill_dataset() in database 0 plus sets and sorted sets, and keys of
 * every type in databases 3 and 9; c is left in database 0. */
static void fill_databases(struct kc *c)
{
	char m[32];

	fill_dataset(c);
	expect_int(CMD(c, "SADD", "ints", "1", "2", "-300", "70000"), 4);
	expect_int(CMD(c, "SADD", "names", "ann", "bob", "", "a b"), 4);
	for (int i = 0; i < 300; i++) {
		snprintf(m, sizeof m, "member-%d", i);
		resp_reply_free(CMD(c, "SADD", "bigset", m));
		resp_reply_free(CMD(c, "ZADD", "bigz", i % 7 ? "2.5" : "-1e10", m));
	}
	expect_int(CMD(c, "ZADD", "z", "1.5", "a", "-2", "b", "3e10", "c", "0", "d"), 4);
	expect_str(CMD(c, "SELECT", "3"), RESP_STATUS, "OK");
	expect_str(CMD(c, "SET", "str", "in db 3"), RESP_STATUS, "OK");
	expect_int(CMD(c, "RPUSH", "l3", "x", "y", "7"), 3);
	expect_int(CMD(c, "HSET", "h3", "f", "v", "n", "12"), 2);
	expect_int(CMD(c, "SADD", "s3", "m"), 1);
	expect_int(CMD(c, "ZADD", "z3", "7", "seven"), 1);
	expect_str(CMD(c, "SET", "vol3", "v", "EX", "100000"), RESP_STATUS, "OK");
	expect_str(CMD(c, "SELECT", "9"), RESP_STATUS, "OK");
	expect_str(CMD(c, "SET", "only-in-9", "nine"), RESP_STATUS, "OK");
	expect_int(CMD(c, "ZADD", "z9", "1", "one", "2", "two"), 2);
	expect_str(CMD(c, "SELECT", "0"), RESP_STATUS, "OK");
}

/* The databases of fill_databases() in a (the reference) and b compared. */
static void compare_sync_dbs(struct kc *a, struct kc *b)
{
	for (size_t i = 0; i < sizeof sync_dbs / sizeof sync_dbs[0]; i++) {
		struct resp_reply *x, *y;

		expect_str(CMD(a, "SELECT", sync_dbs[i]), RESP_STATUS, "OK");
		expect_str(CMD(b, "SELECT", sync_dbs[i]), RESP_STATUS, "OK");
		x = CMD(a, "DBSIZE");
		y = CMD(b, "DBSIZE");
		if (!reply_equal(x, y))
			fail_msg("db %s: %lld keys vs %lld", sync_dbs[i], x->integer, y->integer);
		resp_reply_free(x);
		resp_reply_free(y);
		compare_datasets(a, b);
	}
	expect_str(CMD(a, "SELECT", "0"), RESP_STATUS, "OK");
	expect_str(CMD(b, "SELECT", "0"), RESP_STATUS, "OK");
}

/* ---- sets and sorted sets through DUMP/RESTORE and RDB files ------------------------ */

/* Sets and sorted sets in every encoding redis-server 7.0 keeps them in:
 * intsets (small; 2, 4 and 8-byte integers) and a big set of integers
 * (hashtable), small and big sets of strings, listpack and skiplist
 * zsets with integer, fractional, huge and infinite scores, members with
 * bytes that are not text. */
static void fill_sets(struct kc *c)
{
	char m[32], s[32];

	expect_int(CMD(c, "SADD", "i16", "1", "-7", "300"), 3);
	expect_int(CMD(c, "SADD", "i32", "5", "-70000", "2000000000"), 3);
	expect_int(CMD(c, "SADD", "i64", "1", "-9223372036854775808", "9223372036854775807"), 3);
	expect_int(CMD(c, "SADD", "strs", "ann", "", "a b", "\x01\xff\x80", "12x"), 5);
	for (int i = 0; i < 700; i++) {
		snprintf(m, sizeof m, "%d", i * 37 - 9000);
		resp_reply_free(CMD(c, "SADD", "bigints", m));
		snprintf(m, sizeof m, "m\x02%d", i);
		resp_reply_free(CMD(c, "SADD", "bigstrs", m));
	}
	expect_int(CMD(c, "ZADD", "zint", "1", "a", "-2", "b", "300000", "c", "0", "d"), 4);
	expect_int(CMD(c, "ZADD", "zfrac", "1.5", "x", "-0.25", "y", "3.141592653589793", "z",
		       "1e300", "w", "-1e-300", "v"), 5);
	expect_int(CMD(c, "ZADD", "zinf", "inf", "top", "-inf", "bottom", "0", "mid",
		       "inf", "\x80\x81"), 4);
	for (int i = 0; i < 200; i++) {
		snprintf(m, sizeof m, "member\xfe%d", i);
		snprintf(s, sizeof s, "%s%d.%d", i % 2 ? "-" : "", i * 1000, i % 10);
		resp_reply_free(CMD(c, "ZADD", "zbig", s, m));
	}
	expect_int(CMD(c, "ZADD", "zbig", "inf", "pinf", "-inf", "ninf", "5", "five"), 3);
}

/* RESTORE payload p/n as key into c (REPLACE); the reply. */
static struct resp_reply *restore_reply(struct kc *c, const char *key, const char *p, size_t n)
{
	const char *w[5] = { "RESTORE", key, "0", p, "REPLACE" };
	size_t lens[5] = { 7, strlen(key), 1, n, 7 }, rn;
	char *req = resp_encode(5, w, lens, &rn);

	assert_int_equal(send(c->fd, req, rn, 0), (ssize_t)rn);
	free(req);
	return kc_read(c);
}

/* Every set and zset redis-server 7.0 DUMPs is RESTOREd by cowkv the same. */
static void test_set_zset_restore_from_redis(void **state)
{
	struct kc *a, *b;
	struct resp_reply *keys;

	(void)state;
	if (!have_redis())
		skip();
	a = kc_open(start_at(1, "redis-server", 0, NULL)->port);
	b = kc_open(start_at(0, cowkv_path(), 0, NULL)->port);
	fill_sets(a);
	keys = CMD(a, "KEYS", "*");
	assert_int_equal(keys->n, 10);
	for (size_t i = 0; i < keys->n; i++) {
		struct resp_reply *p = CMD(a, "DUMP", keys->elem[i]->str);

		assert_int_equal(p->type, RESP_BULK);
		expect_str(restore_reply(b, keys->elem[i]->str, p->str, p->len), RESP_STATUS, "OK");
		resp_reply_free(p);
	}
	resp_reply_free(keys);
	compare_datasets(a, b);
	kc_close(a);
	kc_close(b);
}

/* redis-server's SAVE of sets and zsets in databases 0, 3 and 9 imported
 * by `cowkv --import`, every key compared. */
static void test_set_zset_import(void **state)
{
	const char *dir = new_tmpdir();
	char rdb[128];
	struct kc *a, *b;

	(void)state;
	if (!have_redis())
		skip();
	snprintf(rdb, sizeof rdb, "%s/dump.rdb", dir);
	a = kc_open(start_at(1, "redis-server", 0, (const char *[]){ "--dir", dir, NULL })->port);
	fill_databases(a);
	expect_str(CMD(a, "SELECT", "3"), RESP_STATUS, "OK");
	fill_sets(a);
	expect_str(CMD(a, "SELECT", "0"), RESP_STATUS, "OK");
	expect_str(CMD(a, "SAVE"), RESP_STATUS, "OK");
	b = kc_open(start_at(0, cowkv_path(), 0, (const char *[]){ "--import", rdb, NULL })->port);
	compare_sync_dbs(a, b);
	kc_close(a);
	kc_close(b);
}

/* The DUMP trailer (RDB version ver, CRC64) appended to body b; the
 * payload (malloc'd, *n bytes). */
static char *seal(struct rbuf *b, unsigned ver, size_t *n)
{
	uint64_t crc;

	rbuf_byte(b, ver);
	rbuf_byte(b, 0);
	crc = crc64_jones(0, b->p, b->len);
	for (int i = 0; i < 8; i++)
		rbuf_byte(b, (unsigned)(crc >> (8 * i)) & 0xff);
	assert_false(b->oom);
	*n = b->len;
	return (char *)b->p;
}

/* An RDB_TYPE_ZSET (3) payload: members with scores as text, and the
 * 254/255 lengths for +inf/-inf. */
static char *legacy_zset(size_t *n)
{
	static const char *const m[] = { "one", "half", "big", "neg", "exp" };
	static const char *const sc[] = { "1", "0.5", "12345678901234567890", "-3.25", "2e-5" };
	struct rbuf b = { 0 };

	rbuf_byte(&b, 3);
	rbuf_len(&b, 7);
	for (int i = 0; i < 5; i++) {
		rbuf_str(&b, m[i], strlen(m[i]));
		rbuf_byte(&b, (unsigned)strlen(sc[i]));
		rbuf_put(&b, sc[i], strlen(sc[i]));
	}
	rbuf_str(&b, "pinf", 4);
	rbuf_byte(&b, 254);
	rbuf_str(&b, "ninf", 4);
	rbuf_byte(&b, 255);
	return seal(&b, 9, n);
}

/* A ziplist of member, score pairs (RDB_TYPE_ZSET_ZIPLIST, 12), scores as
 * integers of several encodings and as text. */
static void zset_ziplist(struct zl *z)
{
	zl_init(z);
	zl_str(z, "neg");
	zl_int(z, 0xc0, -30000);
	zl_str(z, "frac");
	zl_str(z, "2.5");
	zl_str(z, "small");
	zl_int(z, 0, 3);
	zl_str(z, "huge");
	zl_int(z, 0xe0, 9000000000000000000LL);
	zl_str(z, "inf");
	zl_str(z, "inf");
	zl_end(z);
}

/* An intset (RDB_TYPE_SET_INTSET, 11) of 2-byte integers; its blob. */
static void intset16(struct rbuf *b, const int16_t *v, unsigned count)
{
	rbuf_byte(b, 11);
	rbuf_len(b, 8 + 2 * (uint64_t)count);
	rbuf_put(b, (const unsigned char[]){ 2, 0, 0, 0 }, 4);
	rbuf_put(b, (const unsigned char[]){ (unsigned char)count, 0, 0, 0 }, 4);
	for (unsigned i = 0; i < count; i++)
		rbuf_put(b, (const unsigned char[]){ (unsigned char)v[i],
						     (unsigned char)((uint16_t)v[i] >> 8) }, 2);
}

/* An RDB_TYPE_SET_LISTPACK (20, Redis 7.2) payload of version 10: short
 * strings and 7-bit integers. */
static char *set_listpack(size_t *n)
{
	static const char *const m[] = { "ab", "7", "", "xyz" };
	unsigned char lp[64];
	size_t len = 6;
	struct rbuf b = { 0 };

	for (int i = 0; i < 4; i++) {
		size_t k = strlen(m[i]);

		if (i == 1) {
			lp[len++] = 7;                          /* 7-bit uint */
			lp[len++] = 1;
			continue;
		}
		lp[len++] = (unsigned char)(0x80 | k);          /* 6-bit string */
		memcpy(lp + len, m[i], k);
		len += k;
		lp[len++] = (unsigned char)(k + 1);
	}
	lp[len++] = 0xff;
	lp[0] = (unsigned char)len;
	lp[1] = lp[2] = lp[3] = 0;
	lp[4] = 4;
	lp[5] = 0;
	rbuf_byte(&b, 20);
	rbuf_str(&b, lp, len);
	return seal(&b, 10, n);
}

/* Legacy payloads (Redis < 7 types, RDB version 9) RESTOREd into both
 * servers read back the same. */
static void test_legacy_set_zset_match_redis(void **state)
{
	static const int16_t ints[] = { -300, -1, 0, 42, 32767 };
	struct kc *a, *b;
	struct zl z;
	struct rbuf rb = { 0 };
	char *p;
	size_t n;
	const char *const reads[][6] = {
		{ "ZRANGE", "lz", "0", "-1", "WITHSCORES" }, { "ZRANGE", "zz", "0", "-1", "WITHSCORES" },
		{ "SMEMBERS", "is" }, { "ZSCORE", "lz", "big" }, { "OBJECT", "ENCODING", "is" },
	};

	(void)state;
	if (!have_redis())
		skip();
	a = kc_open(start_at(1, "redis-server", 0, NULL)->port);
	b = kc_open(start_at(0, cowkv_path(), 0, NULL)->port);
	p = legacy_zset(&n);
	restore_raw(a, "lz", p, n);
	restore_raw(b, "lz", p, n);
	free(p);
	zset_ziplist(&z);
	p = payload_v9(12, 0, &z, &n);
	restore_raw(a, "zz", p, n);
	restore_raw(b, "zz", p, n);
	free(p);
	intset16(&rb, ints, 5);
	p = seal(&rb, 9, &n);
	restore_raw(a, "is", p, n);
	restore_raw(b, "is", p, n);
	free(p);
	for (size_t i = 0; i < sizeof reads / sizeof reads[0]; i++)
		expect_same_reply(a, b, reads[i]);
	/* Redis 7.2's listpack set: cowkv only (7.0 has no type 20) */
	p = set_listpack(&n);
	restore_raw(b, "lps", p, n);
	free(p);
	expect_int(CMD(b, "SCARD", "lps"), 4);
	expect_int(CMD(b, "SISMEMBER", "lps", "ab"), 1);
	expect_int(CMD(b, "SISMEMBER", "lps", "7"), 1);
	expect_int(CMD(b, "SISMEMBER", "lps", ""), 1);
	expect_int(CMD(b, "SISMEMBER", "lps", "xyz"), 1);
	kc_close(a);
	kc_close(b);
}

/* RESTORE of p/n (the case named label) into both a and b gives the same
 * error, containing what; no key is made and both servers are still up. */
static void expect_refused_by_both(struct kc *a, struct kc *b, const char *label, const char *p,
				   size_t n, const char *what)
{
	struct resp_reply *x = restore_reply(a, "bad", p, n), *y = restore_reply(b, "bad", p, n);

	if (!reply_equal(x, y) || x->type != RESP_ERR || !strstr(x->str, what))
		fail_msg("%s: redis-server '%s', cowkv '%s' (want %s)", label, x->str ? x->str : "",
			 y->str ? y->str : "", what);
	resp_reply_free(x);
	resp_reply_free(y);
	expect_int(CMD(a, "EXISTS", "bad"), 0);
	expect_int(CMD(b, "EXISTS", "bad"), 0);
	expect_str(CMD(a, "PING"), RESP_STATUS, "PONG");
	expect_str(CMD(b, "PING"), RESP_STATUS, "PONG");
}

/* The version-9 payload built in rb is refused by both servers with "Bad
 * data format" (what names it in a failure). */
static void expect_sealed_refused(struct kc *a, struct kc *b, struct rbuf *rb, const char *what)
{
	size_t n;
	char *p = seal(rb, 9, &n);

	expect_refused_by_both(a, b, what, p, n, "ERR Bad data format");
	free(p);
}

/* The body of payload p/n (its trailer removed) cut by cut bytes, then
 * with byte at (from the start; -1 for none) xor-ed with flip; sealed as
 * version ver. */
static char *reseal(const char *p, size_t n, size_t cut, long at, unsigned flip, size_t *out)
{
	struct rbuf b = { 0 };

	rbuf_put(&b, p, n - 10 - cut);
	if (at >= 0)
		b.p[at] ^= (unsigned char)flip;
	return seal(&b, (unsigned char)p[n - 10], out);
}

/* Truncated, bit-flipped and repeated-member payloads of sets and zsets
 * are refused by cowkv with redis-server's error (sanitize-dump-payload
 * yes there, so that it checks what cowkv always checks). */
static void test_bad_set_zset_payloads(void **state)
{
	static const int16_t unsorted[] = { 1, 5, 3 }, repeated[] = { 1, 1, 2 };
	struct kc *a, *b;
	struct resp_reply *d;
	struct rbuf rb = { 0 };
	struct zl z;
	char *p;
	size_t n;

	(void)state;
	if (!have_redis())
		skip();
	a = kc_open(start_at(1, "redis-server", 0,
			     (const char *[]){ "--sanitize-dump-payload", "yes", NULL })->port);
	b = kc_open(start_at(0, cowkv_path(), 0, NULL)->port);
	fill_sets(a);
	/* truncated by 20 bytes: a skiplist zset (ZSET_2), a listpack zset, a
	 * big set, an intset (by more than the trailer's 10 bytes: Redis reads
	 * the payload's trailer as data when the body ends early) */
	static const char *const keys[] = { "zbig", "zfrac", "bigstrs", "i64" };
	for (size_t i = 0; i < 4; i++) {
		d = CMD(a, "DUMP", keys[i]);
		assert_int_equal(d->type, RESP_BULK);
		p = reseal(d->str, d->len, 20, -1, 0, &n);
		expect_refused_by_both(a, b, keys[i], p, n, "ERR Bad data format");
		free(p);
		/* a bit flipped, the checksum left as it was */
		memcpy(p = malloc(d->len), d->str, d->len);
		p[d->len / 2] ^= 0x04;
		expect_refused_by_both(a, b, "bit flipped", p, d->len, "checksum are wrong");
		free(p);
		resp_reply_free(d);
	}
	/* a bit flipped in the intset's encoding, the checksum made right */
	d = CMD(a, "DUMP", "i32");
	p = reseal(d->str, d->len, 0, 2, 0x10, &n);
	expect_refused_by_both(a, b, "intset encoding", p, n, "ERR Bad data format");
	free(p);
	resp_reply_free(d);
	/* intsets out of order and with a repeated integer */
	intset16(&rb, unsorted, 3);
	expect_sealed_refused(a, b, &rb, "intset out of order");
	memset(&rb, 0, sizeof rb);
	intset16(&rb, repeated, 3);
	expect_sealed_refused(a, b, &rb, "intset repeated");
	/* RDB_TYPE_SET and RDB_TYPE_ZSET_2 with a member twice */
	memset(&rb, 0, sizeof rb);
	rbuf_byte(&rb, 2);
	rbuf_len(&rb, 3);
	rbuf_str(&rb, "a", 1);
	rbuf_str(&rb, "b", 1);
	rbuf_str(&rb, "a", 1);
	expect_sealed_refused(a, b, &rb, "set repeated");
	memset(&rb, 0, sizeof rb);
	rbuf_byte(&rb, 5);
	rbuf_len(&rb, 2);
	for (int i = 0; i < 2; i++) {
		rbuf_str(&rb, "m", 1);
		rbuf_put(&rb, (const unsigned char[]){ 0, 0, 0, 0, 0, 0, 0xf0, 0x3f }, 8);
	}
	expect_sealed_refused(a, b, &rb, "zset_2 repeated");
	/* a ziplist zset with a member twice, and one with no score at the end */
	zl_init(&z);
	zl_str(&z, "m");
	zl_int(&z, 0, 1);
	zl_str(&z, "m");
	zl_int(&z, 0, 2);
	zl_end(&z);
	p = payload_v9(12, 0, &z, &n);
	expect_refused_by_both(a, b, "ziplist zset repeated", p, n, "ERR Bad data format");
	free(p);
	zl_init(&z);
	zl_str(&z, "m");
	zl_int(&z, 0, 1);
	zl_str(&z, "lonely");
	zl_end(&z);
	p = payload_v9(12, 0, &z, &n);
	expect_refused_by_both(a, b, "ziplist zset odd", p, n, "ERR Bad data format");
	free(p);
	kc_close(a);
	kc_close(b);
}

/* Run `redis-cli -p port opt file` (its output in a log, shown on
 * failure); its exit status. */
static int run_cli(int port, const char *opt, const char *file)
{
	char cmd[PATH_MAX + 200], log[128];
	int st;

	snprintf(log, sizeof log, "/tmp/test_cowkv_deploy.%d.cli.log", (int)getpid());
	snprintf(cmd, sizeof cmd, "timeout 60 redis-cli -p %d %s '%s' >%s 2>&1", port, opt,
		 file, log);
	st = system(cmd);
	if (st) {
		snprintf(cmd, sizeof cmd, "cat %s >&2", log);
		(void)!system(cmd);
	}
	unlink(log);
	return st;
}

static bool have_redis_cli(void)
{
	return have_redis() && system("command -v redis-cli >/dev/null 2>&1") == 0;
}

/* redis-server started on dir/file (an RDB cowkv wrote). */
static struct kc *redis_on(int slot, const char *dir, const char *file)
{
	struct srvp *r = start_at(slot, "redis-server", 0,
				  (const char *[]){ "--dir", dir, "--dbfilename", file, NULL });

	return kc_open(r->port);
}

/* Is cowkv on c alive, still a master without replicas? */
static void expect_still_master(struct kc *c)
{
	struct resp_reply *r;

	expect_str(CMD(c, "PING"), RESP_STATUS, "PONG");
	r = CMD(c, "INFO", "replication");
	assert_int_equal(r->type, RESP_BULK);
	assert_non_null(strstr(r->str, "role:master\r\n"));
	assert_non_null(strstr(r->str, "connected_slaves:0\r\n"));
	resp_reply_free(r);
}

/* A cowkv with keys in several databases and a function library, and
 * `redis-cli OPT DIR/FILE` run against it; the client (skips the test
 * without redis-cli). */
static struct kc *cli_rdb_of_filled(const char *dir, const char *opt, const char *file,
				    struct srvp **ck)
{
	char rdb[128];
	struct kc *a;

	if (!have_redis_cli())
		skip();
	*ck = start_at(0, cowkv_path(), 0, NULL);
	a = kc_open((*ck)->port);
	fill_databases(a);
	expect_str(CMD(a, "FUNCTION", "LOAD", lib_code), RESP_BULK, "mylib");
	snprintf(rdb, sizeof rdb, "%s/%s", dir, file);
	assert_int_equal(run_cli((*ck)->port, opt, rdb), 0);
	return a;
}

static void test_redis_cli_rdb(void **state)
{
	const char *dir = new_tmpdir();
	char rdb[128], cmd[300];
	struct srvp *ck;
	struct kc *a, *b;

	(void)state;
	a = cli_rdb_of_filled(dir, "--rdb", "sync.rdb", &ck);
	snprintf(rdb, sizeof rdb, "%s/sync.rdb", dir);
	if (system("command -v redis-check-rdb >/dev/null 2>&1") == 0) {
		snprintf(cmd, sizeof cmd, "redis-check-rdb %s >/dev/null 2>&1", rdb);
		assert_int_equal(system(cmd), 0);
	}
	b = redis_on(1, dir, "sync.rdb");
	compare_sync_dbs(a, b);
	expect_str(CMD(b, "FCALL_RO", "getit", "1", "str"), RESP_BULK, "hello");
	expect_still_master(a);
	/* twice on one server, after writes: the second RDB has them */
	expect_str(CMD(a, "SET", "str", "second"), RESP_STATUS, "OK");
	snprintf(rdb, sizeof rdb, "%s/sync2.rdb", dir);
	assert_int_equal(run_cli(ck->port, "--rdb", rdb), 0);
	kc_close(b);
	b = redis_on(2, dir, "sync2.rdb");
	compare_sync_dbs(a, b);
	expect_still_master(a);
	kc_close(a);
	kc_close(b);
}

static void test_redis_cli_functions_rdb(void **state)
{
	const char *dir = new_tmpdir();
	struct srvp *ck;
	struct kc *a, *b;

	(void)state;
	a = cli_rdb_of_filled(dir, "--functions-rdb", "functions.rdb", &ck);
	b = redis_on(1, dir, "functions.rdb");
	expect_int(CMD(b, "DBSIZE"), 0);	/* the functions, no keys */
	expect_str(CMD(b, "FCALL", "setit", "1", "k", "v"), RESP_STATUS, "OK");
	expect_str(CMD(b, "FCALL_RO", "getit", "1", "k"), RESP_BULK, "v");
	expect_still_master(a);
	kc_close(a);
	kc_close(b);
}

/* Read up to and including the next "\r\n" of c's input (malloc'd). */
static char *kc_line(struct kc *c)
{
	int64_t deadline = now_ms() + IO_TIMEOUT_MS;
	char *nl, *out;

	while (!c->len || !(nl = memmem(c->buf, c->len, "\r\n", 2)))
		if (kc_fill(c, (int)(deadline - now_ms())) <= 0)
			fail_msg("no line in time");
	out = strndup(c->buf, (size_t)(nl - c->buf) + 2);
	c->len -= (size_t)(nl - c->buf) + 2;
	memmove(c->buf, nl + 2, c->len);
	return out;
}

/* Take n bytes of c's input into file path. */
static void kc_take_file(struct kc *c, size_t n, const char *path)
{
	int64_t deadline = now_ms() + IO_TIMEOUT_MS;
	FILE *f;

	while (c->len < n)
		if (kc_fill(c, (int)(deadline - now_ms())) <= 0)
			fail_msg("RDB payload short: %zu of %zu bytes", c->len, n);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(c->buf, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
	c->len -= n;
	memmove(c->buf, c->buf + n, c->len);
}

/* PSYNC ? -1 by hand: +FULLRESYNC, then the RDB of the dataset as it was at
 * PSYNC even though a key is rewritten before the payload is read. */
static void test_psync_is_a_snapshot(void **state)
{
	const char *dir = new_tmpdir();
	char rdb[128], *line;
	struct srvp *ck;
	struct kc *a, *r, *b;
	size_t n;

	(void)state;
	if (!have_redis())
		skip();
	ck = start_at(0, cowkv_path(), 0, NULL);
	a = kc_open(ck->port);
	fill_databases(a);
	r = kc_open(ck->port);
	expect_str(CMD(r, "REPLCONF", "listening-port", "6380", "capa", "eof", "capa", "psync2"),
		   RESP_STATUS, "OK");
	kc_sendv(r, (const char *[]){ "PSYNC", "?", "-1", NULL });
	line = kc_line(r);
	assert_int_equal(strlen(line), strlen("+FULLRESYNC ") + 40 + strlen(" 0\r\n"));
	assert_int_equal(strncmp(line, "+FULLRESYNC ", 12), 0);
	assert_int_equal(strspn(line + 12, "0123456789abcdef"), 40);
	free(line);
	/* the snapshot is taken: these writes are not in the RDB */
	expect_str(CMD(a, "SET", "str", "changed after PSYNC"), RESP_STATUS, "OK");
	expect_int(CMD(a, "DEL", "longlist"), 1);
	expect_str(CMD(a, "SET", "new-key", "x"), RESP_STATUS, "OK");
	line = kc_line(r);
	assert_true(line[0] == '$');
	n = strtoull(line + 1, NULL, 10);
	free(line);
	snprintf(rdb, sizeof rdb, "%s/psync.rdb", dir);
	kc_take_file(r, n, rdb);
	kc_close(r);
	b = redis_on(1, dir, "psync.rdb");
	expect_str(CMD(b, "GET", "str"), RESP_BULK, "hello");
	expect_int(CMD(b, "LLEN", "longlist"), 2000);
	expect_int(CMD(b, "EXISTS", "new-key"), 0);
	expect_still_master(a);
	kc_close(a);
	kc_close(b);
}

/* Malformed SYNC, PSYNC and REPLCONF get redis-server's replies; ACK and
 * GETACK get none; a client gone in mid-SYNC leaves the server serving. */
static void test_sync_errors_match_redis(void **state)
{
	static const char *const bad[][8] = {
		{ "SYNC", "x" }, { "PSYNC" }, { "PSYNC", "a" }, { "PSYNC", "a", "b" },
		{ "REPLCONF", "foo", "bar" }, { "REPLCONF", "capa" },
		{ "REPLCONF", "listening-port", "x" }, { "REPLCONF", "rdb-only", "2" },
		{ "REPLCONF", "rdb-only", "x" }, { "REPLCONF", "rdb-filter-only", "xyz" },
		{ "REPLCONF", "rdb-filter-only", "\"functions" },
		{ "REPLCONF", "rdb-filter-only", "functions", "bogus", "1" },
		{ "REPLCONF", "listening-port", "6380", "capa", "eof", "capa", "psync2" },
		{ "REPLCONF", "ip-address", "10.0.0.1", "rdb-only", "0" },
		{ "REPLCONF" },
	};
	struct srvp *ck, *rs;
	struct kc *a, *b;

	(void)state;
	start_both(&ck, &rs);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct resp_reply *x, *y;

		a = kc_open(ck->port);
		b = kc_open(rs->port);
		x = cmd_words(a, (const char **)bad[i]);
		y = cmd_words(b, (const char **)bad[i]);
		if (!reply_equal(x, y))
			fail_msg("%s %s: cowkv '%s', redis '%s'", bad[i][0], bad[i][1] ? bad[i][1] : "",
				 x->str ? x->str : "", y->str ? y->str : "");
		resp_reply_free(x);
		resp_reply_free(y);
		kc_close(a);
		kc_close(b);
	}
	{
		struct resp_reply *x, *y;

		a = kc_open(ck->port);
		b = kc_open(rs->port);
		/* a filtered RDB without capa eof, SYNC inside MULTI */
		expect_str(CMD(a, "REPLCONF", "rdb-filter-only", ""), RESP_STATUS, "OK");
		x = CMD(a, "SYNC");
		y = (expect_str(CMD(b, "REPLCONF", "rdb-filter-only", ""), RESP_STATUS, "OK"),
		     CMD(b, "SYNC"));
		assert_true(reply_equal(x, y));
		expect_str(x, RESP_ERR, "Filtered replica requires EOF capability");
		resp_reply_free(y);
		expect_str(CMD(a, "MULTI"), RESP_STATUS, "OK");
		expect_str(CMD(a, "SYNC"), RESP_ERR, "Command not allowed inside a transaction");
		expect_str(CMD(a, "DISCARD"), RESP_STATUS, "OK");
		/* no reply to ACK and GETACK: the next reply is PING's */
		kc_sendv(a, (const char *[]){ "REPLCONF", "ACK", "5", NULL });
		kc_sendv(a, (const char *[]){ "REPLCONF", "GETACK", "*", NULL });
		expect_str(CMD(a, "PING"), RESP_STATUS, "PONG");
		kc_close(a);
		kc_close(b);
	}
	/* SYNC, then gone before the RDB is read */
	for (int i = 0; i < 3; i++) {
		a = kc_open(ck->port);
		kc_sendv(a, (const char *[]){ "SYNC", NULL });
		kc_close(a);
	}
	a = kc_open(ck->port);
	expect_still_master(a);
	kc_close(a);
}

/* ---- redis-py ---------------------------------------------------------------------------------- */

static void test_redispy(void **state)
{
	struct srvp *ck;
	char cmd[PATH_MAX + 128];

	(void)state;
	if (system("/usr/bin/python3 -c 'import redis' >/dev/null 2>&1") != 0)
		skip();
	ck = start_at(0, cowkv_path(), 0, NULL);
	snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/tests/cowkv_redispy.py %d",
		 COWKV_SOURCE_DIR, ck->port);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_eval_matches_redis, teardown),
		cmocka_unit_test_teardown(test_busy_script_kill, teardown),
		cmocka_unit_test_teardown(test_functions_persist, teardown),
		cmocka_unit_test_teardown(test_function_dump_restore_with_redis, teardown),
		cmocka_unit_test_teardown(test_resp3_matches_redis, teardown),
		cmocka_unit_test_teardown(test_auth_and_acl, teardown),
		cmocka_unit_test_teardown(test_protected_mode, teardown),
		cmocka_unit_test_teardown(test_rdb_roundtrip, teardown),
		cmocka_unit_test_teardown(test_dump_restore_with_redis, teardown),
		cmocka_unit_test_teardown(test_old_encodings_match_redis, teardown),
		cmocka_unit_test_teardown(test_set_zset_restore_from_redis, teardown),
		cmocka_unit_test_teardown(test_set_zset_import, teardown),
		cmocka_unit_test_teardown(test_legacy_set_zset_match_redis, teardown),
		cmocka_unit_test_teardown(test_bad_set_zset_payloads, teardown),
		cmocka_unit_test_teardown(test_redis_cli_rdb, teardown),
		cmocka_unit_test_teardown(test_redis_cli_functions_rdb, teardown),
		cmocka_unit_test_teardown(test_psync_is_a_snapshot, teardown),
		cmocka_unit_test_teardown(test_sync_errors_match_redis, teardown),
		cmocka_unit_test_teardown(test_redispy, teardown),
		cmocka_unit_test_teardown(test_debug_populate_matches_redis, teardown),
		cmocka_unit_test_teardown(test_debug_digest, teardown),
		cmocka_unit_test_teardown(test_min_replicas_matches_redis, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
