/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * kvtest.h — helpers for the tests that drive build/cowkv from outside
 * (test_cowkv_corrupt.c, test_cowkv_kill.c): start it on a free port of
 * 127.0.0.1 (possibly failing to start: that is an outcome these tests
 * judge), kill it, and a small client on the project's RESP parser
 * (cowkv/resp.c, linked into the test).
 *
 * Every server is started with PR_SET_PDEATHSIG, so none outlives a
 * crashed test.
 */
#ifndef COW_KVTEST_H
#define COW_KVTEST_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testlib.h"
#include "resp.h"

#define KV_TIMEOUT_MS 15000

static inline int64_t kv_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void kv_sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	nanosleep(&ts, NULL);
}

/* build/cowkv: next to the test executable. */
static inline const char *kv_cowkv_path(void)
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

static inline int kv_free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static inline int kv_connect(int port)
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

struct kv_server {
	pid_t pid;
	int port;
	int status;             /* wait status once it exited */
	int as_nobody;          /* run cowkv as user and group 65534 (when root) */
	char log[300];
};

/* Print the last lines of the server's log to stderr. */
static inline void kv_print_log(const struct kv_server *s)
{
	char cmd[400];

	snprintf(cmd, sizeof cmd, "tail -30 '%s' >&2", s->log);
	(void)!system(cmd);
}

/* 1 if the server's log holds needle. */
static inline int kv_log_has(const struct kv_server *s, const char *needle)
{
	FILE *f = fopen(s->log, "r");
	char line[2048];
	int hit = 0;

	if (!f)
		return 0;
	while (!hit && fgets(line, sizeof line, f))
		hit = strstr(line, needle) != NULL;
	fclose(f);
	return hit;
}

/*
 * Start cowkv --port P --dir dir --save "" --maxmemory 64mb, then the args
 * (NULL-terminated array, may be NULL), then the words of $COWKV_EXTRA_ARGS
 * (e.g. "--save-incremental no"). Waits until it accepts connections
 * (returns 1) or exits (returns 0, s->status set). The log is appended to
 * s->log (set by the caller or a default under /tmp). With s->as_nobody
 * (and root), cowkv runs as user nobody (65534).
 */
static inline int kv_start(struct kv_server *s, const char *dir, const char *const *args)
{
	const char *argv[48];
	char portbuf[16], extra[512] = "", *save = NULL;
	const char *env = getenv("COWKV_EXTRA_ARGS");
	int n = 0;
	int64_t deadline;

	s->port = kv_free_port();
	if (!s->log[0])
		snprintf(s->log, sizeof s->log, "/tmp/kvtest.%d.log", (int)getpid());
	snprintf(portbuf, sizeof portbuf, "%d", s->port);
	argv[n++] = kv_cowkv_path();
	argv[n++] = "--port";
	argv[n++] = portbuf;
	argv[n++] = "--dir";
	argv[n++] = dir;
	argv[n++] = "--save";
	argv[n++] = "";
	argv[n++] = "--maxmemory";
	argv[n++] = "64mb";
	for (int i = 0; args && args[i] && n < 40; i++)
		argv[n++] = args[i];
	if (env)
		snprintf(extra, sizeof extra, "%s", env);
	for (char *w = strtok_r(extra, " ", &save); w && n < 46; w = strtok_r(NULL, " ", &save))
		argv[n++] = w;
	argv[n] = NULL;
	fflush(NULL);
	s->pid = fork();
	assert_true(s->pid >= 0);
	if (s->pid == 0) {
		int fd = open(s->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		if (s->as_nobody && geteuid() == 0 &&
		    (setgroups(0, NULL) || setgid(65534) || setuid(65534)))
			_exit(126);
		execv(argv[0], (char **)argv);
		_exit(127);
	}
	deadline = kv_now_ms() + KV_TIMEOUT_MS;
	for (;;) {
		int fd = kv_connect(s->port);

		if (fd >= 0) {
			close(fd);
			return 1;
		}
		if (waitpid(s->pid, &s->status, WNOHANG) == s->pid) {
			s->pid = 0;
			return 0;
		}
		if (kv_now_ms() > deadline) {
			kv_print_log(s);
			fail_msg("cowkv neither started nor exited in time");
		}
		kv_sleep_us(2000);
	}
}

/* Send sig to the server and reap it; its wait status. */
static inline int kv_stop(struct kv_server *s, int sig)
{
	int64_t deadline = kv_now_ms() + KV_TIMEOUT_MS;

	if (!s->pid)
		return s->status;
	kill(s->pid, sig);
	while (waitpid(s->pid, &s->status, WNOHANG) != s->pid) {
		if (kv_now_ms() > deadline) {
			kill(s->pid, SIGKILL);
			waitpid(s->pid, &s->status, 0);
			break;
		}
		kv_sleep_us(1000);
	}
	s->pid = 0;
	return s->status;
}

/* 1 if the server is still running (it did not crash). */
static inline int kv_alive(struct kv_server *s)
{
	if (!s->pid)
		return 0;
	if (waitpid(s->pid, &s->status, WNOHANG) == s->pid) {
		s->pid = 0;
		return 0;
	}
	return 1;
}

/* ---- a client ------------------------------------------------------------ */

struct kv_client {
	int fd;
	char *buf;
	size_t len, cap;
};

static inline struct kv_client *kv_open(int port)
{
	struct kv_client *c = calloc(1, sizeof *c);

	assert_non_null(c);
	c->fd = kv_connect(port);
	assert_true(c->fd >= 0);
	return c;
}

static inline void kv_close(struct kv_client *c)
{
	if (c) {
		close(c->fd);
		free(c->buf);
		free(c);
	}
}

/* Send a command (argc strings). false if the connection is gone. */
static inline bool kv_send(struct kv_client *c, int argc, const char *const *argv)
{
	size_t lens[argc > 0 ? argc : 1], n;
	char *req, *p;
	bool ok = true;

	for (int i = 0; i < argc; i++)
		lens[i] = strlen(argv[i]);
	req = resp_encode(argc, argv, lens, &n);
	assert_non_null(req);
	for (p = req; n && ok;) {
		ssize_t k = send(c->fd, p, n, MSG_NOSIGNAL);

		if (k < 0 && errno == EINTR)
			continue;
		ok = k > 0;
		if (ok) {
			p += k;
			n -= (size_t)k;
		}
	}
	free(req);
	return ok;
}

/* The next reply (caller frees with resp_reply_free), or NULL if the
 * connection closed first. Fails the test on a timeout. */
static inline struct resp_reply *kv_read(struct kv_client *c)
{
	int64_t deadline = kv_now_ms() + KV_TIMEOUT_MS;

	for (;;) {
		struct resp_reply *r;
		struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
		size_t used;
		ssize_t k;
		int got = resp_reply_parse(c->buf, c->len, &r, &used);

		assert_true(got >= 0);
		if (got == 1) {
			memmove(c->buf, c->buf + used, c->len - used);
			c->len -= used;
			return r;
		}
		if (poll(&pfd, 1, (int)(deadline - kv_now_ms())) != 1)
			fail_msg("no reply in time");
		if (c->cap - c->len < 65536) {
			c->cap = c->cap * 2 + 65536;
			c->buf = realloc(c->buf, c->cap);
			assert_non_null(c->buf);
		}
		k = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
		if (k <= 0)
			return NULL;
		c->len += (size_t)k;
	}
}

/* Send a command and read its reply (NULL: connection closed). */
static inline struct resp_reply *kv_cmdv(struct kv_client *c, int argc, const char *const *argv)
{
	return kv_send(c, argc, argv) ? kv_read(c) : NULL;
}

/* The same with the words as arguments, until NULL. */
static inline struct resp_reply *kv_cmd(struct kv_client *c, const char *first, ...)
{
	const char *argv[64];
	int argc = 0;
	va_list ap;

	va_start(ap, first);
	for (const char *a = first; a && argc < 64; a = va_arg(ap, const char *))
		argv[argc++] = a;
	va_end(ap);
	return kv_cmdv(c, argc, argv);
}

/* A numeric field of INFO persistence (-1 if absent), and the text of
 * rdb_last_bgsave_status into status (if not NULL). */
static inline long long kv_info_field(struct kv_client *c, const char *field)
{
	struct resp_reply *r = kv_cmd(c, "INFO", "persistence", (const char *)NULL);
	char key[128];
	const char *at;
	long long v = -1;

	assert_non_null(r);
	assert_int_equal(r->type, RESP_BULK);
	snprintf(key, sizeof key, "\n%s:", field);
	at = strstr(r->str, key);
	if (at) {
		at += strlen(key);
		if (!strncmp(at, "ok", 2))
			v = 1;
		else if (!strncmp(at, "err", 3))
			v = 0;
		else
			v = strtoll(at, NULL, 10);
	}
	resp_reply_free(r);
	return v;
}

#endif
