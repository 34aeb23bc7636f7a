/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bench cowkv_types: 100,000 random sorted-set and set operations against
 * cowkv and Debian's redis-server in the same run (issue 13, part A).
 *
 *   cowkv_types_ops_p100   ops/s with 100 commands pipelined per round trip
 *                          (the servers' own work dominates);
 *   cowkv_types_ops_p1     ops/s one command at a time (round trips
 *                          dominate: a sanity check of the common case);
 *   cowkv_types_zset_p100  / _set_p100: the same, zset or set commands only.
 *
 * The dataset: 100 sorted sets and 100 sets of 200 members each (past the
 * listpack/intset limits: skiplist and hashtable, as in Redis), then the
 * operations: ZADD, ZINCRBY, ZREM, ZSCORE, ZRANK, ZRANGE (10 by rank),
 * ZRANGEBYSCORE ... LIMIT 0 10, ZCOUNT; SADD, SREM, SISMEMBER, SCARD,
 * SRANDMEMBER, SINTERCARD. The same sequence (fixed seed) for both
 * servers, --repeat runs alternated, medians. Every reply is checked not to
 * be an error. Servers are killed at exit.
 */
#include "benchlib.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "resp.h"

#define NKEYS 100
#define NMEMBERS 200
#define NOPS 100000

struct tsrv {
	const char *name;
	pid_t pid;
	int port;
	char dir[128];
};

struct tconn {
	int fd;
	char *buf;
	size_t len, cap;
};

static struct tsrv *tlive[2];

static void t_kill_live(void)
{
	for (int i = 0; i < 2; i++)
		if (tlive[i] && tlive[i]->pid > 0) {
			char cmd[200];

			kill(tlive[i]->pid, SIGKILL);
			waitpid(tlive[i]->pid, NULL, 0);
			tlive[i]->pid = 0;
			snprintf(cmd, sizeof cmd, "rm -rf '%s'", tlive[i]->dir);
			if (!getenv("BENCH_KEEP"))
				(void)!system(cmd);
		}
}

static int t_connect(int port)
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

static int t_free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) ||
	    getsockname(fd, (struct sockaddr *)&sa, &len))
		exit(1);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

/* Send all of p; false on error. */
static bool t_send(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t k = send(fd, p, n, MSG_NOSIGNAL);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return false;
		p += k;
		n -= (size_t)k;
	}
	return true;
}

/* Read n replies; returns how many were errors, or -1 if the connection
 * failed. */
static long t_read_replies(struct tconn *c, long n)
{
	long errors = 0;

	while (n > 0) {
		struct resp_reply *r;
		size_t used;
		int k = resp_reply_parse(c->buf, c->len, &r, &used);

		if (k < 0)
			return -1;
		if (k == 1) {
			errors += r->type == RESP_ERR;
			resp_reply_free(r);
			memmove(c->buf, c->buf + used, c->len - used);
			c->len -= used;
			n--;
			continue;
		}
		if (c->cap - c->len < 65536) {
			c->cap = c->cap * 2 + 65536;
			if (!(c->buf = realloc(c->buf, c->cap)))
				return -1;
		}
		ssize_t got = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);

		if (got <= 0)
			return -1;
		c->len += (size_t)got;
	}
	return errors;
}

static const char *t_cowkv_path(void)
{
	static char path[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", path, sizeof path - 16);
	char *slash;

	if (n <= 0)
		return "cowkv";
	path[n] = '\0';
	slash = strrchr(path, '/');
	strcpy(slash + 1, "cowkv");
	return path;
}

/* Start s and wait for its PONG. */
static void t_start(struct tsrv *s)
{
	char port[16], log[200];

	snprintf(port, sizeof port, "%d", s->port);
	snprintf(log, sizeof log, "%s/server.log", s->dir);
	s->pid = fork();
	if (s->pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(fd, 1);
		dup2(fd, 2);
		if (!strcmp(s->name, "cowkv"))
			execl(t_cowkv_path(), "cowkv", "--port", port, "--save", "",
			      "--maxmemory", "1gb", (char *)NULL);
		else
			execlp("redis-server", "redis-server", "--port", port, "--bind",
			       "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", s->dir,
			       (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 5000; i++) {
		int fd = t_connect(s->port);

		if (fd >= 0) {
			close(fd);
			return;
		}
		struct timespec ts = { 0, 2000000 };

		nanosleep(&ts, NULL);
	}
	fprintf(stderr, "bench_cowkv_types: %s did not start (see %s)\n", s->name, log);
	exit(1);
}

/* ---- the workload ------------------------------------------------------------- */

struct op {
	char *req;              /* encoded request */
	size_t len;
	bool zset;
};

static uint64_t rnd_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

static void encode(struct op *o, int argc, const char **argv)
{
	size_t lens[8];

	for (int i = 0; i < argc; i++)
		lens[i] = strlen(argv[i]);
	o->req = resp_encode(argc, argv, lens, &o->len);
	if (!o->req)
		exit(1);
}

/* One random sorted-set operation. */
static void zset_op(struct op *o)
{
	char key[32], m[32], s[32], a[32];
	unsigned r = (unsigned)(rnd() % 100);

	snprintf(key, sizeof key, "bz:%u", (unsigned)(rnd() % NKEYS));
	snprintf(m, sizeof m, "member:%u", (unsigned)(rnd() % (2 * NMEMBERS)));
	snprintf(s, sizeof s, "%.2f", (double)(rnd() % 100000) / 100);
	o->zset = true;
	if (r < 30) {
		encode(o, 4, (const char *[]){ "ZADD", key, s, m });
	} else if (r < 40) {
		encode(o, 4, (const char *[]){ "ZINCRBY", key, "1.5", m });
	} else if (r < 50) {
		encode(o, 3, (const char *[]){ "ZREM", key, m });
	} else if (r < 65) {
		encode(o, 3, (const char *[]){ "ZSCORE", key, m });
	} else if (r < 75) {
		encode(o, 3, (const char *[]){ "ZRANK", key, m });
	} else if (r < 85) {
		/* a 10-element window from a random rank */
		char b[32];
		unsigned from = (unsigned)(rnd() % NMEMBERS);

		snprintf(a, sizeof a, "%u", from);
		snprintf(b, sizeof b, "%u", from + 9);
		encode(o, 4, (const char *[]){ "ZRANGE", key, a, b });
	} else if (r < 95) {
		encode(o, 7, (const char *[]){ "ZRANGEBYSCORE", key, s, "+inf", "LIMIT", "0", "10" });
	} else {
		encode(o, 4, (const char *[]){ "ZCOUNT", key, s, "+inf" });
	}
}

/* One random set operation. */
static void set_op(struct op *o)
{
	char key[32], key2[32], m[32];
	unsigned r = (unsigned)(rnd() % 100);

	snprintf(key, sizeof key, "bs:%u", (unsigned)(rnd() % NKEYS));
	snprintf(key2, sizeof key2, "bs:%u", (unsigned)(rnd() % NKEYS));
	snprintf(m, sizeof m, "member:%u", (unsigned)(rnd() % (2 * NMEMBERS)));
	o->zset = false;
	if (r < 30)
		encode(o, 3, (const char *[]){ "SADD", key, m });
	else if (r < 45)
		encode(o, 3, (const char *[]){ "SREM", key, m });
	else if (r < 75)
		encode(o, 3, (const char *[]){ "SISMEMBER", key, m });
	else if (r < 80)
		encode(o, 2, (const char *[]){ "SCARD", key });
	else if (r < 90)
		encode(o, 3, (const char *[]){ "SRANDMEMBER", key, "3" });
	else
		encode(o, 6, (const char *[]){ "SINTERCARD", "2", key, key2, "LIMIT", "20" });
}

/* The dataset's commands (ZADD/SADD of NMEMBERS members per key). */
static struct op *dataset(size_t *n)
{
	struct op *ops = calloc(2 * NKEYS * NMEMBERS, sizeof *ops);
	size_t k = 0;

	if (!ops)
		exit(1);
	for (unsigned i = 0; i < NKEYS; i++)
		for (unsigned j = 0; j < NMEMBERS; j++) {
			char key[32], m[32], s[32];

			snprintf(m, sizeof m, "member:%u", j * 2);
			snprintf(s, sizeof s, "%u", (unsigned)(rnd() % 1000));
			snprintf(key, sizeof key, "bz:%u", i);
			encode(&ops[k++], 4, (const char *[]){ "ZADD", key, s, m });
			snprintf(key, sizeof key, "bs:%u", i);
			encode(&ops[k++], 3, (const char *[]){ "SADD", key, m });
		}
	*n = k;
	return ops;
}

/* Run ops (only those of kind `only`: 0 all, 1 zset, 2 set) on server s,
 * pipeline commands per round trip; returns ops/s. */
static double run(struct tsrv *s, const struct op *ops, size_t n, int pipeline, int only)
{
	struct tconn c = { .fd = t_connect(s->port) };
	size_t done = 0, i = 0;
	uint64_t t0;
	long errors = 0;

	if (c.fd < 0)
		exit(1);
	t0 = b_now_ns();
	while (i < n) {
		char *batch = NULL;
		size_t blen = 0;
		long k = 0;

		for (; i < n && k < pipeline; i++) {
			if (only && ops[i].zset != (only == 1))
				continue;
			batch = realloc(batch, blen + ops[i].len);
			if (!batch)
				exit(1);
			memcpy(batch + blen, ops[i].req, ops[i].len);
			blen += ops[i].len;
			k++;
		}
		if (k && (!t_send(c.fd, batch, blen) || (errors += t_read_replies(&c, k)) < 0)) {
			fprintf(stderr, "bench_cowkv_types: connection to %s failed\n", s->name);
			exit(1);
		}
		free(batch);
		done += (size_t)k;
	}
	if (errors) {
		fprintf(stderr, "bench_cowkv_types: %s answered %ld errors\n", s->name, errors);
		exit(1);
	}
	close(c.fd);
	free(c.buf);
	return (double)done / ((double)(b_now_ns() - t0) / 1e9);
}

/* FLUSHALL then the dataset on s. */
static void load(struct tsrv *s, const struct op *data, size_t nd)
{
	struct op flush;

	encode(&flush, 1, (const char *[]){ "FLUSHALL" });
	run(s, &flush, 1, 1, 0);
	free(flush.req);
	run(s, data, nd, 1000, 0);
}

static const char types_usage[] =
	"usage: bench_cowkv_types [--repeat N]\n"
	"\n"
	"100,000 random sorted-set and set operations against cowkv and\n"
	"redis-server (both run here; cowkv is found next to this program),\n"
	"pipelined 100 per round trip and one at a time; medians of --repeat\n"
	"runs (default 3), servers alternated.\n";

int b_cowkv_types_main(int argc, char **argv)
{
	struct tsrv srvs[2] = { { .name = "cowkv" }, { .name = "redis" } };
	size_t size = 0, nd;
	int repeat = 3, rc = b_args(argc, argv, "bench_cowkv_types", &size, &repeat);
	double f[2][4][16];
	struct op *data, *ops;

	if (rc)
		return rc > 0 ? (fputs(types_usage, stdout), 0) : 2;
	if (repeat > 16)
		repeat = 16;
	if (system("command -v redis-server >/dev/null")) {
		fprintf(stderr, "bench_cowkv_types: needs redis-server (scripts/deps.sh)\n");
		return 2;
	}
	atexit(t_kill_live);
	for (int i = 0; i < 2; i++) {
		snprintf(srvs[i].dir, sizeof srvs[i].dir, "/tmp/bench_cowkv_types.%s.XXXXXX",
			 srvs[i].name);
		if (!mkdtemp(srvs[i].dir))
			return 1;
		srvs[i].port = t_free_port();
		tlive[i] = &srvs[i];
		t_start(&srvs[i]);
	}
	data = dataset(&nd);
	ops = calloc(NOPS, sizeof *ops);
	if (!ops)
		return 1;
	for (size_t i = 0; i < NOPS; i++) {
		if (rnd() % 2)
			zset_op(&ops[i]);
		else
			set_op(&ops[i]);
	}
	for (int r = 0; r < repeat; r++)
		for (int i = 0; i < 2; i++) {
			load(&srvs[i], data, nd);
			f[i][0][r] = run(&srvs[i], ops, NOPS, 100, 0);
			load(&srvs[i], data, nd);
			f[i][1][r] = run(&srvs[i], ops, NOPS, 1, 0);
			load(&srvs[i], data, nd);
			f[i][2][r] = run(&srvs[i], ops, NOPS, 100, 1);
			load(&srvs[i], data, nd);
			f[i][3][r] = run(&srvs[i], ops, NOPS, 100, 2);
		}
	printf("# %d sorted sets and %d sets of %d members; %d random operations\n",
	       NKEYS, NKEYS, NMEMBERS, NOPS);
	b_result("cowkv_types_ops_p100", b_median(f[0][0], (size_t)repeat), "ops/s",
		 "redis_types_ops_p100", b_median(f[1][0], (size_t)repeat));
	b_result("cowkv_types_ops_p1", b_median(f[0][1], (size_t)repeat), "ops/s",
		 "redis_types_ops_p1", b_median(f[1][1], (size_t)repeat));
	b_result("cowkv_types_zset_p100", b_median(f[0][2], (size_t)repeat), "ops/s",
		 "redis_types_zset_p100", b_median(f[1][2], (size_t)repeat));
	b_result("cowkv_types_set_p100", b_median(f[0][3], (size_t)repeat), "ops/s",
		 "redis_types_set_p100", b_median(f[1][3], (size_t)repeat));
	for (size_t i = 0; i < NOPS; i++)
		free(ops[i].req);
	for (size_t i = 0; i < nd; i++)
		free(data[i].req);
	free(ops);
	free(data);
	t_kill_live();
	return 0;
}
