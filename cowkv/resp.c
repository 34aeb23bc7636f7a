/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * resp.c — the Redis protocol: an incremental request parser (server side),
 * a reply parser and a request encoder (client side). See resp.h.
 *
 * The request parser follows what Redis 7 accepts and rejects, with its
 * error texts, so that clients see the same behaviour:
 *   - a request starting with '*' is a multibulk; anything else is inline;
 *   - the count and length lines must end with "\r" within max_inline bytes
 *     ("too big mbulk count string" / "too big bulk count string");
 *   - counts and lengths use the strict integer syntax (string2ll);
 *   - a count <= 0 is an empty request; a bulk is "$<len>\r\n<bytes>\r\n",
 *     and, as in Redis, the two bytes after the data are skipped unread.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resp.h"

enum {
	S_START = 0,    /* nothing of the request parsed yet */
	S_BULK_HDR,     /* multibulk: expecting "$<len>\r\n" */
	S_BULK_DATA,    /* multibulk: expecting bulk_len bytes + 2 */
};

void resp_init(struct resp_parser *p)
{
	memset(p, 0, sizeof *p);
}

void resp_free(struct resp_parser *p)
{
	free(p->argv);
	resp_init(p);
}

void resp_next(struct resp_parser *p)
{
	p->state = S_START;
	p->pos = 0;
	p->scan = 0;
	p->argc = 0;
	p->args_left = 0;
	p->bulk_len = 0;
	p->need = 0;
}

int resp_str2ll(const char *s, size_t len, long long *out)
{
	unsigned long long v = 0, lim;
	size_t i = 0;
	int neg = 0;

	if (len == 0 || len > 20)
		return 0;
	if (len == 1 && s[0] == '0') {
		*out = 0;
		return 1;
	}
	if (s[0] == '-') {
		neg = 1;
		i = 1;
		if (len == 1)
			return 0;
	}
	if (s[i] < '1' || s[i] > '9')
		return 0;
	lim = neg ? (unsigned long long)LLONG_MAX + 1 : (unsigned long long)LLONG_MAX;
	for (; i < len; i++) {
		unsigned d;

		if (s[i] < '0' || s[i] > '9')
			return 0;
		d = (unsigned)(s[i] - '0');
		if (v > (lim - d) / 10)
			return 0;
		v = v * 10 + d;
	}
	*out = neg ? (long long)(0 - v) : (long long)v;
	return 1;
}

size_t resp_ll2str(char *buf, long long v)
{
	char tmp[24];
	unsigned long long u = v < 0 ? 0 - (unsigned long long)v : (unsigned long long)v;
	size_t n = 0, len = 0;

	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		buf[len++] = '-';
	while (n)
		buf[len++] = tmp[--n];
	buf[len] = '\0';
	return len;
}

static int fail(struct resp_parser *p, const char *fmt, int c)
{
	snprintf(p->err, sizeof p->err, fmt, c);
	return RESP_ERROR;
}

/*
 * Find the "\r" ending the length line that starts at buf + p->pos,
 * remembering how far a previous call searched. Returns its offset, or 0 if
 * there is none yet (a length line starts with its type byte, so its "\r"
 * is never at offset 0 of the request).
 */
static size_t find_cr(struct resp_parser *p, const char *buf, size_t len)
{
	size_t from = p->pos + p->scan;
	const char *cr;

	if (from >= len)
		return 0;
	cr = memchr(buf + from, '\r', len - from);
	if (!cr) {
		p->scan = len - p->pos;
		return 0;
	}
	return (size_t)(cr - buf);
}

static int grow_args(struct resp_parser *p)
{
	size_t cap = p->argcap ? p->argcap * 2 : 8;
	struct resp_arg *a;

	if (p->argc < p->argcap)
		return 0;
	a = realloc(p->argv, cap * sizeof *a);
	if (!a)
		return -1;
	p->argv = a;
	p->argcap = cap;
	return 0;
}

static int add_arg(struct resp_parser *p, size_t off, size_t len)
{
	if (grow_args(p))
		return fail(p, "Protocol error: out of memory", 0);
	p->argv[p->argc].off = off;
	p->argv[p->argc].len = len;
	p->argc++;
	return 0;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	       c == '\f' || c == '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The byte a backslash escape inside double quotes stands for. */
static char unescape(char c)
{
	switch (c) {
	case 'n': return '\n';
	case 'r': return '\r';
	case 't': return '\t';
	case 'b': return '\b';
	case 'a': return '\a';
	default: return c;
	}
}

/*
 * Split the inline line buf[from, end) into arguments, Redis's way
 * (sdssplitargs): blanks separate, "double quotes" take \n \r \t \b \a \\
 * \" and \xHH escapes, 'single quotes' take \' only, and a closing quote
 * must be followed by a blank or the end. Unquoted in place: the output
 * never gets ahead of the input. Returns 0 or RESP_ERROR.
 */
static int split_inline(struct resp_parser *p, char *buf, size_t from, size_t end)
{
	size_t r = from, w = from;

	for (;;) {
		size_t start;
		int dq = 0, sq = 0, done = 0;

		while (r < end && is_blank(buf[r]))
			r++;
		if (r >= end)
			return 0;
		start = w;
		while (!done) {
			char c = r < end ? buf[r] : '\0';

			if (dq) {
				if (c == '\\' && r + 3 < end && buf[r + 1] == 'x' &&
				    hexval(buf[r + 2]) >= 0 && hexval(buf[r + 3]) >= 0) {
					buf[w++] = (char)(hexval(buf[r + 2]) * 16 + hexval(buf[r + 3]));
					r += 3;
				} else if (c == '\\' && r + 1 < end) {
					r++;
					buf[w++] = unescape(buf[r]);
				} else if (c == '"') {
					if (r + 1 < end && !is_blank(buf[r + 1]))
						return fail(p, "Protocol error: unbalanced quotes in request", 0);
					done = 1;
				} else if (r >= end) {
					return fail(p, "Protocol error: unbalanced quotes in request", 0);
				} else {
					buf[w++] = c;
				}
			} else if (sq) {
				if (c == '\\' && r + 1 < end && buf[r + 1] == '\'') {
					r++;
					buf[w++] = '\'';
				} else if (c == '\'') {
					if (r + 1 < end && !is_blank(buf[r + 1]))
						return fail(p, "Protocol error: unbalanced quotes in request", 0);
					done = 1;
				} else if (r >= end) {
					return fail(p, "Protocol error: unbalanced quotes in request", 0);
				} else {
					buf[w++] = c;
				}
			} else if (r >= end || is_blank(c)) {
				done = 1;
			} else if (c == '"') {
				dq = 1;
			} else if (c == '\'') {
				sq = 1;
			} else {
				buf[w++] = c;
			}
			if (r < end)
				r++;
		}
		/* w <= r - 1 here, or w == end (the line's '\n' or '\r'): the NUL
		 * lands on a byte already read. */
		if (add_arg(p, start, w - start))
			return RESP_ERROR;
		buf[w++] = '\0';
	}
}

static int parse_inline(struct resp_parser *p, char *buf, size_t len,
			const struct resp_limits *lim)
{
	size_t from = p->pos + p->scan, end;
	const char *nl = from < len ? memchr(buf + from, '\n', len - from) : NULL;

	if (!nl) {
		p->scan = len - p->pos;
		if (len - p->pos > lim->max_inline)
			return fail(p, "Protocol error: too big inline request", 0);
		p->need = len + 1;
		return RESP_MORE;
	}
	end = (size_t)(nl - buf);
	if (end > p->pos && buf[end - 1] == '\r')
		end--;
	if (split_inline(p, buf, p->pos, end))
		return RESP_ERROR;
	p->pos = (size_t)(nl - buf) + 1;
	return RESP_DONE;
}

/*
 * Parse the "*<n>\r\n" or "$<n>\r\n" line at p->pos. Returns 1 with the
 * integer's validity in *ok, its value in *v and the offset after the line
 * in *after; 0 if the line is incomplete; RESP_ERROR if no "\r" came within
 * max_inline bytes (message too_big).
 */
static int parse_len_line(struct resp_parser *p, const char *buf, size_t len,
			  const struct resp_limits *lim, const char *too_big,
			  long long *v, int *ok, size_t *after)
{
	size_t cr = find_cr(p, buf, len);

	if (!cr) {
		if (len - p->pos > lim->max_inline)
			return fail(p, too_big, 0);
		p->need = len + 1;
		return 0;
	}
	if (cr + 1 >= len) {		/* the "\n" is not here yet */
		p->need = cr + 2;
		return 0;
	}
	*ok = cr > p->pos && resp_str2ll(buf + p->pos + 1, cr - p->pos - 1, v);
	*after = cr + 2;
	return 1;
}

static int parse_count(struct resp_parser *p, const char *buf, size_t len,
		       const struct resp_limits *lim)
{
	long long n = 0;
	size_t after = 0;
	int ok = 0;
	int r = parse_len_line(p, buf, len, lim,
			       "Protocol error: too big mbulk count string",
			       &n, &ok, &after);

	if (r <= 0)
		return r;	/* RESP_MORE (0) or RESP_ERROR */
	if (!ok || n > INT_MAX || (n > 0 && (uint64_t)n > lim->max_args))
		return fail(p, "Protocol error: invalid multibulk length", 0);
	p->pos = after;
	p->scan = 0;
	if (n <= 0)
		return RESP_DONE;
	p->args_left = n;
	p->state = S_BULK_HDR;
	return RESP_MORE;	/* the caller goes on parsing */
}

static int parse_bulk_hdr(struct resp_parser *p, const char *buf, size_t len,
			  const struct resp_limits *lim)
{
	long long n = 0;
	size_t after = 0;
	int ok = 0;
	int r = parse_len_line(p, buf, len, lim,
			       "Protocol error: too big bulk count string",
			       &n, &ok, &after);

	if (r <= 0)
		return r;	/* RESP_MORE (0) or RESP_ERROR */
	if (buf[p->pos] != '$')
		return fail(p, "Protocol error: expected '$', got '%c'",
			    (unsigned char)buf[p->pos]);
	if (!ok || n < 0 || (uint64_t)n > lim->max_bulk)
		return fail(p, "Protocol error: invalid bulk length", 0);
	p->pos = after;
	p->scan = 0;
	p->bulk_len = n;
	p->state = S_BULK_DATA;
	return RESP_DONE;
}

static int parse_bulk_data(struct resp_parser *p, char *buf, size_t len)
{
	size_t n = (size_t)p->bulk_len;

	if (len - p->pos < n + 2) {
		p->need = p->pos + n + 2;
		return RESP_MORE;
	}
	if (add_arg(p, p->pos, n))
		return RESP_ERROR;
	buf[p->pos + n] = '\0';
	p->pos += n + 2;
	p->state = S_BULK_HDR;
	return --p->args_left == 0 ? RESP_DONE : RESP_MORE;
}

int resp_parse(struct resp_parser *p, char *buf, size_t len,
	       const struct resp_limits *lim)
{
	int r;

	p->need = 0;
	if (p->state == S_START) {
		if (p->pos >= len) {
			p->need = len + 1;
			return RESP_MORE;
		}
		if (buf[p->pos] != '*')
			return parse_inline(p, buf, len, lim);
		r = parse_count(p, buf, len, lim);
		if (r != RESP_MORE || p->state == S_START)
			return r;
	}
	for (;;) {
		if (p->pos >= len) {
			p->need = len + 1;
			return RESP_MORE;
		}
		if (p->state == S_BULK_HDR) {
			r = parse_bulk_hdr(p, buf, len, lim);
			if (r != RESP_DONE)
				return r;
		}
		r = parse_bulk_data(p, buf, len);
		if (r == RESP_DONE || r == RESP_ERROR)
			return r;
		if (p->state == S_BULK_DATA)
			return RESP_MORE;	/* data incomplete */
	}
}

/* ---- replies (client side) ----------------------------------------------- */

void resp_reply_free(struct resp_reply *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		resp_reply_free(r->elem[i]);
	free(r->elem);
	free(r->str);
	free(r);
}

/* The line at buf + *pos up to "\r\n": its length, or -1 if incomplete. */
static long line_len(const char *buf, size_t len, size_t pos)
{
	const char *cr = pos < len ? memchr(buf + pos, '\r', len - pos) : NULL;

	if (!cr || (size_t)(cr - buf) + 1 >= len)
		return -1;
	return cr - (buf + pos);
}

static int reply_at(const char *buf, size_t len, size_t *pos, int depth,
		    struct resp_reply **out);

static int reply_array(const char *buf, size_t len, size_t *pos, int depth,
		       struct resp_reply *r)
{
	if (r->integer < 0) {
		r->type = RESP_NILARRAY;
		return 1;
	}
	if ((uint64_t)r->integer > len)	/* each element takes >= 1 byte */
		return (uint64_t)r->integer > (1ull << 32) ? -1 : 0;
	r->elem = calloc((size_t)r->integer + 1, sizeof *r->elem);
	if (!r->elem)
		return -1;
	for (long long i = 0; i < r->integer; i++) {
		int k = reply_at(buf, len, pos, depth + 1, &r->elem[i]);

		if (r->elem[i])
			r->n++;	/* freed with r, complete or not */
		if (k <= 0)
			return k;
	}
	return 1;
}

static int reply_at(const char *buf, size_t len, size_t *pos, int depth,
		    struct resp_reply **out)
{
	struct resp_reply *r;
	long l = line_len(buf, len, *pos);
	size_t at = *pos;
	int k = 1;

	if (depth > 16 || (at < len && !memchr("+-:$*", buf[at], 5)))
		return -1;
	if (l < 0)
		return 0;
	if (!(r = calloc(1, sizeof *r)))
		return -1;
	*out = r;
	r->type = (enum resp_type)buf[at];
	*pos = at + (size_t)l + 2;
	if (r->type == RESP_STATUS || r->type == RESP_ERR) {
		r->len = (size_t)l - 1;
		r->str = strndup(buf + at + 1, r->len);
		return r->str ? 1 : -1;
	}
	if (!resp_str2ll(buf + at + 1, (size_t)l - 1, &r->integer))
		return -1;
	if (r->type == RESP_ARRAY)
		return reply_array(buf, len, pos, depth, r);
	if (r->type == RESP_BULK) {
		if (r->integer < 0) {
			r->type = RESP_NIL;
			return 1;
		}
		if (len - *pos < (uint64_t)r->integer + 2)
			return 0;
		r->len = (size_t)r->integer;
		if (!(r->str = malloc(r->len + 1)))
			return -1;
		memcpy(r->str, buf + *pos, r->len);
		r->str[r->len] = '\0';
		*pos += r->len + 2;
	}
	return k;
}

int resp_reply_parse(const char *buf, size_t len, struct resp_reply **out,
		     size_t *used)
{
	struct resp_reply *r = NULL;
	size_t pos = 0;
	int k = reply_at(buf, len, &pos, 0, &r);

	if (k <= 0) {
		resp_reply_free(r);
		return k;
	}
	*out = r;
	*used = pos;
	return 1;
}

char *resp_encode(int argc, const char *const *argv, const size_t *lens,
		  size_t *len)
{
	size_t total = 16, at;
	char *buf;

	for (int i = 0; i < argc; i++)
		total += lens[i] + 32;
	if (!(buf = malloc(total)))
		return NULL;
	at = (size_t)sprintf(buf, "*%d\r\n", argc);
	for (int i = 0; i < argc; i++) {
		at += (size_t)sprintf(buf + at, "$%zu\r\n", lens[i]);
		memcpy(buf + at, argv[i], lens[i]);
		at += lens[i];
		buf[at++] = '\r';
		buf[at++] = '\n';
	}
	*len = at;
	return buf;
}
