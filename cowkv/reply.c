/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * reply.c — building RESP2 replies in a client's output buffer (a chain of
 * struct obuf in ordinary memory), and the error replies in Redis's words.
 *
 * Values are always copied out of the space into the buffer: the socket
 * write happens later, and a kernel read of a space page that is not loaded
 * yet could fail where a user-mode copy just faults it in.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server.h"
#include "errstats.h"   /* issue 15 */

#define OBUF_CHUNK (16 * 1024)

static void mark_pending(struct client *c)
{
	if (c->flags & CF_FAKE)
		return;		/* a script's client: its output is read back */
	if (!(c->flags & CF_PENDING)) {
		c->flags |= CF_PENDING;
		c->pend_next = srv.pending;
		srv.pending = c;
	}
}

static struct obuf *obuf_new(struct client *c, size_t cap)
{
	struct obuf *b = malloc(sizeof *b + cap);

	if (!b) {
		srv_log(LL_WARNING, "out of memory for the output of a client: closing it");
		client_close_async(c);
		return NULL;
	}
	b->next = NULL;
	b->len = 0;
	b->cap = cap;
	b->sent = 0;
	if (c->otail)
		c->otail->next = b;
	else
		c->ohead = b;
	c->otail = b;
	return b;
}

void reply_raw(struct client *c, const void *p, size_t n)
{
	struct obuf *b = c->otail;
	const char *s = p;

	if (n == 0 || (c->flags & CF_CLOSE_ASAP) ||
	    ((c->flags & (CF_REPLY_OFF | CF_REPLY_SKIP)) && !(c->flags & CF_PUSHING)))
		return;		/* CLIENT REPLY OFF|SKIP: nothing but pushes is sent */
	c->obytes += n;
	if (b && b->cap > b->len) {
		size_t k = b->cap - b->len < n ? b->cap - b->len : n;

		memcpy(b->data + b->len, s, k);
		b->len += k;
		s += k;
		n -= k;
	}
	if (n) {
		b = obuf_new(c, n > OBUF_CHUNK ? n : OBUF_CHUNK);
		if (!b)
			return;
		memcpy(b->data, s, n);
		b->len = n;
		/* The output limits hold while a reply grows (KEYS *, a huge
		 * HGETALL): past them the client is closed and the rest of the
		 * reply is dropped instead of being built first. */
		client_check_output(c);
	}
	mark_pending(c);
}

void reply_obuf(struct client *c, struct obuf *b)
{
	if ((c->flags & CF_CLOSE_ASAP) || !b->len) {
		free(b);
		return;
	}
	b->next = NULL;
	c->obytes += b->len - b->sent;
	if (c->otail)
		c->otail->next = b;
	else
		c->ohead = b;
	c->otail = b;
	mark_pending(c);
}

void reply_free_all(struct client *c)
{
	while (c->ohead) {
		struct obuf *b = c->ohead;

		c->ohead = b->next;
		free(b);
	}
	c->otail = NULL;
	c->obytes = 0;
}

void reply_status(struct client *c, const char *s)
{
	size_t n = strlen(s);
	char *buf = malloc(n + 3);

	if (!buf) {
		reply_raw(c, "+\r\n", 3);
		return;
	}
	buf[0] = '+';
	memcpy(buf + 1, s, n);
	memcpy(buf + 1 + n, "\r\n", 2);
	reply_raw(c, buf, n + 3);
	free(buf);
}

void reply_ok(struct client *c)
{
	reply_raw(c, "+OK\r\n", 5);
}

void reply_error(struct client *c, const char *msg)
{
	char small[512], *buf = small;
	size_t n = 0, cap = strlen(msg) + 3;

	if (cap > sizeof small && !(buf = malloc(cap))) {
		buf = small;	/* out of memory: the message is cut */
		cap = sizeof small;
	}
	if (!(c->flags & CF_FAKE))
		errstats_count(msg);	/* issue 15: INFO errorstats */
	errstats_any();
	buf[n++] = '-';
	for (const char *m = msg; *m && n < cap - 2; m++)
		buf[n++] = (*m == '\r' || *m == '\n') ? ' ' : *m;
	buf[n++] = '\r';
	buf[n++] = '\n';
	reply_raw(c, buf, n);
	if (buf != small)
		free(buf);
}

void reply_errorf(struct client *c, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	reply_error(c, buf);
}

static void reply_prefixed(struct client *c, char type, long long v)
{
	char buf[32];
	size_t n;

	buf[0] = type;
	n = 1 + resp_ll2str(buf + 1, v);
	buf[n++] = '\r';
	buf[n++] = '\n';
	reply_raw(c, buf, n);
}

void reply_int(struct client *c, long long v)
{
	reply_prefixed(c, ':', v);
}

void reply_bulk(struct client *c, const void *p, size_t n)
{
	reply_prefixed(c, '$', (long long)n);
	reply_raw(c, p, n);
	reply_raw(c, "\r\n", 2);
}

void reply_bulk_str(struct client *c, const char *s)
{
	reply_bulk(c, s, strlen(s));
}

void reply_bulk_ll(struct client *c, long long v)
{
	char buf[24];

	reply_bulk(c, buf, resp_ll2str(buf, v));
}

void reply_nil(struct client *c)
{
	if (c->resp == 3)
		reply_raw(c, "_\r\n", 3);
	else
		reply_raw(c, "$-1\r\n", 5);
}

void reply_array(struct client *c, long long n)
{
	reply_prefixed(c, '*', n);
}

void reply_nil_array(struct client *c)
{
	if (c->resp == 3)
		reply_raw(c, "_\r\n", 3);
	else
		reply_raw(c, "*-1\r\n", 5);
}

void reply_ok_or_one(struct client *c, bool one)
{
	if (one)
		reply_int(c, 1);
	else
		reply_ok(c);
}

/*
 * The handle is a chunk of its own whose cap is 0 until it is filled, so
 * that later replies start a new chunk after it.
 */
struct obuf *reply_defer(struct client *c)
{
	struct obuf *b;

	if (c->flags & (CF_CLOSE_ASAP | CF_REPLY_OFF | CF_REPLY_SKIP))
		return NULL;
	b = obuf_new(c, 32);
	if (b)
		b->cap = 0;
	return b;
}

/* Fill deferred header h with type byte t and count n. */
static void defer_fill(struct client *c, struct obuf *h, char t, long long n)
{
	char buf[32];
	size_t len;

	if (!h || (c->flags & CF_CLOSE_ASAP))
		return;
	buf[0] = t;
	len = 1 + resp_ll2str(buf + 1, n);
	buf[len++] = '\r';
	buf[len++] = '\n';
	memcpy(h->data, buf, len);
	h->len = len;
	c->obytes += len;
	mark_pending(c);
}

void reply_defer_set(struct client *c, struct obuf *h, long long n)
{
	defer_fill(c, h, '*', n);
}

/* ---- issue 15: RESP3 reply types ------------------------------------------- */

void reply_defer_set_map(struct client *c, struct obuf *h, long long n)
{
	if (c->resp == 3)
		defer_fill(c, h, '%', n);
	else
		defer_fill(c, h, '*', 2 * n);
}

void reply_defer_set_set(struct client *c, struct obuf *h, long long n)
{
	defer_fill(c, h, c->resp == 3 ? '~' : '*', n);
}

void reply_map_len(struct client *c, long long n)
{
	if (c->resp == 3)
		reply_prefixed(c, '%', n);
	else
		reply_prefixed(c, '*', 2 * n);
}

void reply_set_len(struct client *c, long long n)
{
	reply_prefixed(c, c->resp == 3 ? '~' : '*', n);
}

void reply_push_len(struct client *c, long long n)
{
	reply_prefixed(c, c->resp == 3 ? '>' : '*', n);
}

/* d as Redis 7.0 prints a double reply: "%.17g" ("inf", "-inf", "nan"). */
static size_t double_text(char *buf, size_t len, double d)
{
	if (d != d)
		return (size_t)snprintf(buf, len, "nan");
	if (d == 1.0 / 0.0)
		return (size_t)snprintf(buf, len, "inf");
	if (d == -1.0 / 0.0)
		return (size_t)snprintf(buf, len, "-inf");
	return (size_t)snprintf(buf, len, "%.17g", d);
}

void reply_double_text(struct client *c, const char *text, size_t n)
{
	char line[136];

	if (c->resp != 3 || n > sizeof line - 3) {
		reply_bulk(c, text, n);
		return;
	}
	line[0] = ',';
	memcpy(line + 1, text, n);
	memcpy(line + 1 + n, "\r\n", 2);
	reply_raw(c, line, n + 3);
}

void reply_double(struct client *c, double d)
{
	char buf[64];

	reply_double_text(c, buf, double_text(buf, sizeof buf, d));
}

void reply_null(struct client *c)
{
	reply_nil(c);
}

void reply_bool(struct client *c, bool b)
{
	if (c->resp == 3)
		reply_raw(c, b ? "#t\r\n" : "#f\r\n", 4);
	else
		reply_int(c, b ? 1 : 0);
}

void reply_bignum(struct client *c, const char *digits, size_t n)
{
	if (c->resp == 3) {
		reply_raw(c, "(", 1);
		reply_raw(c, digits, n);
		reply_raw(c, "\r\n", 2);
	} else {
		reply_bulk(c, digits, n);
	}
}

void reply_verbatim(struct client *c, const char *p, size_t n, const char *fmt)
{
	if (c->resp == 3) {
		char f[4] = "txt";

		memcpy(f, fmt, strlen(fmt) < 3 ? strlen(fmt) : 3);
		reply_prefixed(c, '=', (long long)n + 4);
		reply_raw(c, f, 3);
		reply_raw(c, ":", 1);
		reply_raw(c, p, n);
		reply_raw(c, "\r\n", 2);
	} else {
		reply_bulk(c, p, n);
	}
}

/* ---- errors in Redis's words ---------------------------------------------- */

void reply_wrongtype(struct client *c)
{
	reply_error(c, "WRONGTYPE Operation against a key holding the wrong kind of value");
}

void reply_syntax(struct client *c)
{
	reply_error(c, "ERR syntax error");
}

void reply_not_int(struct client *c)
{
	reply_error(c, "ERR value is not an integer or out of range");
}

void reply_oom(struct client *c)
{
	reply_error(c, "OOM command not allowed when used memory > 'maxmemory'.");
}

void reply_misconf(struct client *c)
{
	reply_error(c, MISCONF_ERR);
}

void reply_arity(struct client *c, const char *name)
{
	reply_errorf(c, "ERR wrong number of arguments for '%s' command", name);
}

void reply_subcommand(struct client *c, const char *cmd)
{
	reply_errorf(c, "ERR unknown subcommand '%.128s'. Try %s HELP.",
		     c->argv[1].p, cmd);
}

bool arg_ll(struct client *c, int i, long long *v)
{
	if (resp_str2ll(c->argv[i].p, c->argv[i].len, v))
		return true;
	reply_not_int(c);
	return false;
}

bool arg_is(const struct client *c, int i, const char *s)
{
	return i < c->argc && strlen(s) == c->argv[i].len &&
	       strcasecmp(c->argv[i].p, s) == 0;
}
