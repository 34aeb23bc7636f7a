/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * kvharness.h — what the cowkv tests share (tests/test_cowkv*.c):
 * starting build/cowkv and Debian's redis-server on free ports (killed by
 * the teardown and at exit), a RESP client on the project's own parser
 * (cowkv/resp.c), and compact rendering of replies for comparisons.
 *
 * Header-only: every helper is static; a test file includes it once.
 * kc_read() also keeps the raw bytes of the last reply (kc->raw), so tests
 * can compare cowkv's replies with redis-server's byte for byte.
 */
#ifndef COWKV_KVHARNESS_H
#define COWKV_KVHARNESS_H

#pragma GCC diagnostic ignored "-Wunused-function"

#include <dirent.h>
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
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "testlib.h"
#include "resp.h"

#define IO_TIMEOUT_MS 10000

/* ---- servers ------------------------------------------------------------ */

struct server {
	pid_t pid;
	int port;
	char dir[256];          /* data directory (--dir), "" for none */
	char log[300];
};

#define MAX_SERVERS 8
static struct server *servers[MAX_SERVERS];
static char tmpdirs[8][256];
static int ntmpdirs;

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
	char *slash;

	if (path[0])
		return path;
	n = readlink("/proc/self/exe", path, sizeof path - 16);
	assert_true(n > 0);
	path[n] = '\0';
	slash = strrchr(path, '/');
	strcpy(slash + 1, "cowkv");
	return path;
}

static bool have_program(const char *name)
{
	char cmd[128];

	snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", name);
	return system(cmd) == 0;
}

static char *new_tmpdir(void)
{
	char *d = tmpdirs[ntmpdirs++];

	assert_true(ntmpdirs <= 8);
	strcpy(d, "/tmp/test_cowkv.XXXXXX");
	assert_non_null(mkdtemp(d));
	return d;
}

static int free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
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
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa)) {
		close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

static void print_log(const struct server *s)
{
	char cmd[400];

	snprintf(cmd, sizeof cmd, "tail -20 '%s' >&2", s->log);
	(void)!system(cmd);
}

/* Start prog with args (NULL-terminated, after the program name); wait until
 * it accepts connections. */
static struct server *start_prog(struct server *s, const char *prog, const char **args)
{
	const char *argv[40];
	int n = 0, slot = -1;
	int64_t deadline;

	argv[n++] = prog;
	for (int i = 0; args[i]; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	for (int i = 0; i < MAX_SERVERS; i++)
		if (!servers[i]) {
			slot = i;
			break;
		}
	assert_true(slot >= 0);
	s->pid = fork();
	assert_true(s->pid >= 0);
	if (s->pid == 0) {
		int fd = open(s->log, O_WRONLY | O_CREAT | O_APPEND, 0600);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execvp(prog, (char **)argv);
		_exit(127);
	}
	servers[slot] = s;
	deadline = now_ms() + IO_TIMEOUT_MS;
	for (;;) {
		int fd = try_connect(s->port), status;

		if (fd >= 0) {
			close(fd);
			return s;
		}
		if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
			servers[slot] = NULL;
			print_log(s);
			fail_msg("%s exited at start (status %d)", prog, status);
		}
		if (now_ms() > deadline) {
			print_log(s);
			fail_msg("%s did not accept connections in time", prog);
		}
		sleep_ms(5);
	}
}

/*
 * Start cowkv with extra arguments (NULL-terminated). dir: a data directory,
 * or NULL for no persistence. The space is 256 MiB unless args say
 * otherwise.
 */
static struct server *start_cowkv_at(const char *dir, int port, const char *extra, ...)
{
	struct server *s = calloc(1, sizeof *s);
	const char *args[32];
	char portbuf[16];
	int n = 0;
	va_list ap;

	assert_non_null(s);
	s->port = port ? port : free_port();
	snprintf(portbuf, sizeof portbuf, "%d", s->port);
	if (dir)
		snprintf(s->dir, sizeof s->dir, "%s", dir);
	snprintf(s->log, sizeof s->log, "/tmp/test_cowkv.%d.%d.log", (int)getpid(), s->port);
	args[n++] = "--port";
	args[n++] = portbuf;
	args[n++] = "--maxmemory";
	args[n++] = "256mb";
	if (dir) {
		args[n++] = "--dir";
		args[n++] = s->dir;
	}
	va_start(ap, extra);
	for (const char *a = extra; a && n < 30; a = va_arg(ap, const char *))
		args[n++] = a;
	va_end(ap);
	args[n] = NULL;
	return start_prog(s, cowkv_path(), args);
}

#define start_cowkv(dir, ...) start_cowkv_at((dir), 0, __VA_ARGS__)

static struct server *start_redis(void)
{
	struct server *s = calloc(1, sizeof *s);
	char portbuf[16];
	const char *args[] = { "--port", portbuf, "--bind", "127.0.0.1", "--save", "",
			       "--appendonly", "no", "--dir", "/tmp", NULL };

	assert_non_null(s);
	s->port = free_port();
	snprintf(portbuf, sizeof portbuf, "%d", s->port);
	snprintf(s->log, sizeof s->log, "/tmp/test_cowkv.%d.redis.%d.log", (int)getpid(), s->port);
	return start_prog(s, "redis-server", args);
}

/* Wait for the server to exit (up to the I/O timeout); its exit status. */
static int wait_exit(struct server *s)
{
	int64_t deadline = now_ms() + IO_TIMEOUT_MS;
	int status = -1;

	while (waitpid(s->pid, &status, WNOHANG) != s->pid) {
		if (now_ms() > deadline) {
			kill(s->pid, SIGKILL);
			waitpid(s->pid, &status, 0);
			break;
		}
		sleep_ms(5);
	}
	for (int i = 0; i < MAX_SERVERS; i++)
		if (servers[i] == s)
			servers[i] = NULL;
	unlink(s->log);
	s->pid = 0;
	return status;
}

/* Stop a server: sig (SIGKILL to simulate a crash), then reap it. */
static int stop_server(struct server *s, int sig)
{
	int status;

	if (!s || !s->pid)
		return 0;
	kill(s->pid, sig);
	status = wait_exit(s);
	free(s);
	return status;
}

static void rm_rf(const char *dir)
{
	char cmd[300];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	(void)!system(cmd);
}

static void kill_all(void)
{
	for (int i = 0; i < MAX_SERVERS; i++) {
		if (servers[i]) {
			int status = 0;

			/* A server that died on its own: show why. */
			if (waitpid(servers[i]->pid, &status, WNOHANG) == servers[i]->pid &&
			    status != 0) {
				fprintf(stderr, "server on port %d died (status %d):\n",
					servers[i]->port, status);
				print_log(servers[i]);
			}
			kill(servers[i]->pid, SIGKILL);
			waitpid(servers[i]->pid, NULL, 0);
			unlink(servers[i]->log);
			free(servers[i]);
			servers[i] = NULL;
		}
	}
	for (int i = 0; i < ntmpdirs; i++)
		rm_rf(tmpdirs[i]);
	ntmpdirs = 0;
}

static int teardown(void **state)
{
	(void)state;
	kill_all();
	return 0;
}

/* ---- a client --------------------------------------------------------------- */

struct kc {
	int fd;
	char *buf;
	size_t len, cap;
	char raw[65536];        /* bytes of the last reply read (cut at the size) */
	size_t rawlen;
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
	if (!c)
		return;
	close(c->fd);
	free(c->buf);
	free(c);
}

/* Send bytes; false if the server closed the connection meanwhile. */
static bool kc_send_try(struct kc *c, const void *p, size_t n)
{
	const char *s = p;

	while (n) {
		ssize_t k = send(c->fd, s, n, MSG_NOSIGNAL);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return false;
		s += k;
		n -= (size_t)k;
	}
	return true;
}

static void kc_send(struct kc *c, const void *p, size_t n)
{
	assert_true(kc_send_try(c, p, n));
}

/* Read more bytes; returns 0 at EOF, -1 on timeout or error. */
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
	if (k < 0)
		return errno == ECONNRESET ? 0 : -1;
	c->len += (size_t)k;
	return k > 0 ? 1 : 0;
}

/* The next reply, or NULL if the connection closed first. */
static struct resp_reply *kc_read(struct kc *c)
{
	int64_t deadline = now_ms() + IO_TIMEOUT_MS;

	for (;;) {
		struct resp_reply *r;
		size_t used;
		int k = resp_reply_parse(c->buf, c->len, &r, &used);

		assert_true(k >= 0);
		if (k == 1) {
			c->rawlen = used < sizeof c->raw ? used : sizeof c->raw;
			memcpy(c->raw, c->buf, c->rawlen);
			memmove(c->buf, c->buf + used, c->len - used);
			c->len -= used;
			return r;
		}
		k = kc_fill(c, (int)(deadline - now_ms()));
		if (k == 0)
			return NULL;
		if (k < 0)
			fail_msg("no reply in time");
	}
}

/* True when the server closed the connection (within the timeout). */
static bool kc_closed(struct kc *c)
{
	int64_t deadline = now_ms() + IO_TIMEOUT_MS;

	for (;;) {
		int k = kc_fill(c, (int)(deadline - now_ms()));

		if (k == 0)
			return true;
		if (k < 0)
			return false;
		c->len = 0;	/* ignore what came before the close */
	}
}

static void kc_sendv(struct kc *c, int argc, const char **argv, const size_t *lens)
{
	size_t n;
	char *req = resp_encode(argc, argv, lens, &n);

	assert_non_null(req);
	kc_send(c, req, n);
	free(req);
}

/* Render a reply compactly: +OK, -ERR ..., :5, "bulk", (nil), [a,b]. */
static void render(const struct resp_reply *r, char *out, size_t len)
{
	size_t at = 0;

	if (len == 0)
		return;
	if (!r) {
		snprintf(out, len, "(closed)");
		return;
	}
	switch (r->type) {
	case RESP_STATUS:
		snprintf(out, len, "+%s", r->str);
		break;
	case RESP_ERR:
		snprintf(out, len, "-%s", r->str);
		break;
	case RESP_INT:
		snprintf(out, len, ":%lld", r->integer);
		break;
	case RESP_BULK:
		snprintf(out, len, "\"%.*s\"", (int)r->len, r->str);
		break;
	case RESP_NIL:
		snprintf(out, len, "(nil)");
		break;
	case RESP_NILARRAY:
		snprintf(out, len, "(nilarray)");
		break;
	case RESP_ARRAY:
		at = (size_t)snprintf(out, len, "[");
		if (at >= len)
			break;
		/* long replies are cut: every element gets room for its NUL */
		for (size_t i = 0; i < r->n && at + 1 < len; i++) {
			if (i && at + 2 < len)
				out[at++] = ',';
			render(r->elem[i], out + at, len - at);
			at += strlen(out + at);
		}
		if (at < len - 1) {
			out[at++] = ']';
			out[at] = '\0';
		}
		break;
	}
}

#define RING 16
static char ring[RING][8192];
static int ring_at;

/* Send a command (args until NULL) and return its rendered reply. */
static const char *q(struct kc *c, const char *first, ...)
{
	const char *argv[64];
	size_t lens[64];
	int argc = 0;
	struct resp_reply *r;
	char *out = ring[ring_at++ % RING];
	va_list ap;

	va_start(ap, first);
	for (const char *a = first; a && argc < 64; a = va_arg(ap, const char *)) {
		argv[argc] = a;
		lens[argc] = strlen(a);
		argc++;
	}
	va_end(ap);
	kc_sendv(c, argc, argv, lens);
	r = kc_read(c);
	render(r, out, sizeof ring[0]);
	resp_reply_free(r);
	return out;
}

#define Q(c, ...) q((c), __VA_ARGS__, (const char *)NULL)
#define EXPECT(c, want, ...) assert_string_equal(Q(c, __VA_ARGS__), (want))

/* A field of INFO, as a number (-1 if absent). */
static long long info_field(struct kc *c, const char *section, const char *field)
{
	const char *s = Q(c, "INFO", section);
	const char *at = strstr(s, field);

	if (!at || at[strlen(field)] != ':')
		return -1;
	return strtoll(at + strlen(field) + 1, NULL, 10);
}

/* ---- both servers side by side (test_cowkv_multi.c, test_cowkv_pubsub.c) ---- */

/* Send one command to cowkv (a) and redis-server (b); fail unless the two
 * replies are the same bytes; the rendered reply. */
static const char *both(struct kc *a, struct kc *b, const char *first, ...)
{
	const char *argv[64];
	size_t lens[64];
	int argc = 0;
	struct resp_reply *ra, *rb;
	char *out = ring[ring_at++ % RING];
	va_list ap;

	va_start(ap, first);
	for (const char *x = first; x && argc < 64; x = va_arg(ap, const char *)) {
		argv[argc] = x;
		lens[argc] = strlen(x);
		argc++;
	}
	va_end(ap);
	kc_sendv(a, argc, argv, lens);
	kc_sendv(b, argc, argv, lens);
	ra = kc_read(a);
	rb = kc_read(b);
	render(ra, out, sizeof ring[0]);
	if (a->rawlen != b->rawlen || memcmp(a->raw, b->raw, a->rawlen) != 0) {
		char rr[8192];

		render(rb, rr, sizeof rr);
		fail_msg("%s: cowkv %s, redis %s", first, out, rr);
	}
	resp_reply_free(ra);
	resp_reply_free(rb);
	return out;
}

#define BOTH(a, b, ...) both((a), (b), __VA_ARGS__, (const char *)NULL)

/* Read replies of c until none comes within ms; rendered, joined by '|'. */
static void kc_drain(struct kc *c, int ms, char *out, size_t len)
{
	size_t n = 0;

	out[0] = '\0';
	for (;;) {
		struct resp_reply *r;
		size_t used;
		char one[2048];

		if (resp_reply_parse(c->buf, c->len, &r, &used) == 1) {
			memmove(c->buf, c->buf + used, c->len - used);
			c->len -= used;
			render(r, one, sizeof one);
			resp_reply_free(r);
			n += (size_t)snprintf(out + n, n < len ? len - n : 0, "%s|", one);
			continue;
		}
		if (kc_fill(c, ms) <= 0)
			return;
	}
}

/* A cowkv and a redis-server, and a connection to each. */
struct pair {
	struct server *k, *r;
	struct kc *a, *b;
};

static bool open_pair(struct pair *p)
{
	if (!have_program("redis-server"))
		return false;
	p->k = start_cowkv(NULL, NULL);
	p->r = start_redis();
	p->a = kc_open(p->k->port);
	p->b = kc_open(p->r->port);
	return true;
}

static void close_pair(struct pair *p)
{
	kc_close(p->a);
	kc_close(p->b);
}

/* Wait until the server counts n blocked clients. */
static void wait_blocked(struct kc *c, long long n)
{
	int64_t deadline = now_ms() + IO_TIMEOUT_MS;

	while (info_field(c, "clients", "blocked_clients") != n) {
		if (now_ms() > deadline)
			fail_msg("blocked_clients never reached %lld", n);
		sleep_ms(5);
	}
}

/* A command sent without waiting for its reply (a blocking one, say). */
static void send_args(struct kc *c, const char *first, ...)
{
	const char *argv[16];
	size_t lens[16];
	int argc = 0;
	va_list ap;

	va_start(ap, first);
	for (const char *x = first; x && argc < 16; x = va_arg(ap, const char *)) {
		argv[argc] = x;
		lens[argc] = strlen(x);
		argc++;
	}
	va_end(ap);
	kc_sendv(c, argc, argv, lens);
}

#define SEND(c, ...) send_args((c), __VA_ARGS__, (const char *)NULL)

/* The next reply of c, rendered. */
static const char *next(struct kc *c)
{
	char *out = ring[ring_at++ % RING];
	struct resp_reply *r = kc_read(c);

	render(r, out, sizeof ring[0]);
	resp_reply_free(r);
	return out;
}

#endif
