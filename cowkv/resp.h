/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * resp.h — the Redis protocol (RESP2), both directions.
 *
 * Requests (server side): an incremental, bounded parser of the two forms
 * Redis accepts, multibulk ("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n") and inline
 * ("GET k\r\n", with Redis's quoting rules). It never allocates more than
 * its argument array, never reads beyond the bytes it is given, and rejects
 * what Redis rejects with Redis's words ("Protocol error: invalid bulk
 * length", ...).
 *
 * Replies (client side): a parser of whole replies into a tree, for the
 * tests and the benchmark.
 *
 * Depends on libc only: the fuzz target links it alone.
 */
#ifndef COWKV_RESP_H
#define COWKV_RESP_H

#include <stddef.h>
#include <stdint.h>

/* What resp_parse() returns. */
#define RESP_MORE 0   /* the request is incomplete: call again with more bytes */
#define RESP_DONE 1   /* a whole request: argc/argv, pos = bytes it used */
#define RESP_ERROR (-1) /* protocol error: err says which; close after replying */

/* Limits a request must respect (Redis's defaults in brackets). */
struct resp_limits {
	uint64_t max_bulk;      /* bytes in one argument [512 MiB, proto-max-bulk-len] */
	uint64_t max_args;      /* arguments in one request [INT_MAX] */
	size_t max_inline;      /* bytes of an inline request or a length line [64 KiB] */
};

/* One argument: bytes [off, off + len) of the request, NUL-terminated. */
struct resp_arg {
	size_t off;
	size_t len;
};

/* Parser state; zero it (or resp_init()) before the first call. */
struct resp_parser {
	int state;              /* where in a request we are (resp.c) */
	size_t pos;             /* bytes of the request consumed so far */
	size_t scan;            /* bytes after pos already searched for a line end */
	int64_t args_left;      /* bulks still expected (multibulk) */
	int64_t bulk_len;       /* length of the bulk being read */
	size_t argc, argcap;
	struct resp_arg *argv;  /* malloc'd, grown as arguments arrive */
	size_t need;            /* after RESP_MORE: bytes of the request that
				   must be present before progress is possible
				   (a hint to size the read buffer) */
	char err[96];           /* after RESP_ERROR: Redis's message */
};

void resp_init(struct resp_parser *p);
void resp_free(struct resp_parser *p);

/*
 * Parse one request from buf[0 .. len): buf starts where the request starts
 * and holds every byte received since (the caller may move the bytes between
 * calls, but not drop any of them before RESP_DONE). Resumes where the
 * previous call stopped. Writes into buf: each argument gets a NUL after its
 * last byte (over the "\r" that followed it) and inline arguments are
 * unquoted in place.
 *
 * @return RESP_DONE: argc/argv describe the request, pos is its length; call
 *         resp_next() before parsing the next one. An empty request (an empty
 *         inline line, "*0", "*-1") is RESP_DONE with argc 0: ignore it.
 *         RESP_MORE: every byte was used; call again when more arrived.
 *         RESP_ERROR: err holds the message ("Protocol error: ..."); the
 *         parser must not be used again for this connection.
 *         -ENOMEM (the argument array could not grow) is returned as
 *         RESP_ERROR with err "Protocol error: out of memory".
 */
int resp_parse(struct resp_parser *p, char *buf, size_t len,
	       const struct resp_limits *lim);

/* Forget the request just returned (RESP_DONE): the next one starts at the
 * caller's buf + pos. */
void resp_next(struct resp_parser *p);

/*
 * Strict integer syntax of Redis (string2ll): an optional '-', digits, no
 * leading zero (but "0"), no spaces, within long long. Returns 1 and sets
 * *out, or 0.
 */
int resp_str2ll(const char *s, size_t len, long long *out);

/* Decimal text of v into buf (at least 21 bytes); returns its length. */
size_t resp_ll2str(char *buf, long long v);

/* ---- replies (client side) ------------------------------------------- */

enum resp_type {
	RESP_STATUS = '+',
	RESP_ERR = '-',
	RESP_INT = ':',
	RESP_BULK = '$',
	RESP_ARRAY = '*',
	RESP_NIL = 'n',         /* "$-1" */
	RESP_NILARRAY = 'N',    /* "*-1" */
};

struct resp_reply {
	enum resp_type type;
	long long integer;          /* RESP_INT; element count of RESP_ARRAY */
	char *str;                  /* STATUS, ERR, BULK: NUL-terminated */
	size_t len;
	size_t n;                   /* RESP_ARRAY: elements */
	struct resp_reply **elem;
};

/*
 * Parse one whole reply from buf[0 .. len).
 * @return 1 and *out (caller frees with resp_reply_free) and *used; 0 if the
 *         reply is incomplete; -1 if the bytes are not RESP (or no memory).
 *         Nesting deeper than 16 levels is refused (-1).
 */
int resp_reply_parse(const char *buf, size_t len, struct resp_reply **out,
		     size_t *used);
void resp_reply_free(struct resp_reply *r);

/*
 * Encode a request as a multibulk into a malloc'd buffer.
 * @return the buffer (caller frees) and its length in *len, or NULL.
 */
char *resp_encode(int argc, const char *const *argv, const size_t *lens,
		  size_t *len);

#endif
