/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_resp — cowkv's RESP parser (cowkv/resp.c), on any bytes.
 *
 * Must hold, whatever the input:
 *   - no crash, no read or write outside the buffer (ASan), no UB (UBSan);
 *   - every request returned lies inside the buffer, each argument
 *     NUL-terminated, and the parser's position never passes the data;
 *   - the same bytes fed in random pieces (as a socket delivers them, the
 *     server compacting its buffer between requests) give the same requests
 *     and the same error as fed at once (except where a length limit is
 *     reached at a different point, as in Redis);
 *   - the reply parser never crashes on the same bytes, and a request it
 *     encodes parses back to the same arguments.
 *
 * Input: byte 0 seeds the piece sizes; the rest is the stream.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "resp.h"

#define MAX_REQS 256

struct run {
	int nreq;
	size_t argc[MAX_REQS];
	uint64_t digest[MAX_REQS];      /* of the arguments' lengths and bytes */
	char err[96];
};

static const struct resp_limits lim = { .max_bulk = 4096, .max_args = 1000, .max_inline = 512 };

static uint64_t mix(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

/* Check one whole request and record it. */
static void record(struct run *r, const struct resp_parser *p, const char *buf, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;

	if (p->pos > len)
		abort();
	for (size_t i = 0; i < p->argc; i++) {
		const struct resp_arg *a = &p->argv[i];

		if (a->off > p->pos || a->len > p->pos - a->off || a->off + a->len >= len)
			abort();
		if (buf[a->off + a->len] != '\0')
			abort();
		h = mix(h, &a->len, sizeof a->len);
		h = mix(h, buf + a->off, a->len);
	}
	if (r->nreq < MAX_REQS) {
		r->argc[r->nreq] = p->argc;
		r->digest[r->nreq] = h;
	}
	r->nreq++;
}

/* Parse data[0..n) arriving in pieces whose sizes come from seed (0: all
 * at once), as the server does. */
static void parse_stream(const uint8_t *data, size_t n, unsigned seed, struct run *r)
{
	struct resp_parser p;
	char *buf = malloc(n + 1);
	size_t have = 0, fed = 0;
	uint32_t s = seed * 2654435761u + 1;

	if (!buf)
		abort();
	resp_init(&p);
	memset(r, 0, sizeof *r);
	while (fed < n) {
		size_t piece = n - fed;
		size_t used = 0;
		int k = RESP_MORE;

		if (seed) {
			s = s * 1103515245u + 12345u;
			piece = 1 + (s >> 16) % 64;
			if (piece > n - fed)
				piece = n - fed;
		}
		memcpy(buf + have, data + fed, piece);
		have += piece;
		fed += piece;
		for (;;) {
			k = resp_parse(&p, buf + used, have - used, &lim);
			if (k != RESP_DONE)
				break;
			record(r, &p, buf + used, have - used);
			used += p.pos;
			resp_next(&p);
		}
		if (k == RESP_ERROR) {
			memcpy(r->err, p.err, sizeof r->err);
			break;
		}
		memmove(buf, buf + used, have - used);
		have -= used;
	}
	resp_free(&p);
	free(buf);
}

static int limit_error(const char *err)
{
	return strstr(err, "too big") != NULL;
}

static void compare(const struct run *a, const struct run *b)
{
	int n = a->nreq < b->nreq ? a->nreq : b->nreq;

	if (n > MAX_REQS)
		n = MAX_REQS;
	for (int i = 0; i < n; i++)
		if (a->argc[i] != b->argc[i] || a->digest[i] != b->digest[i])
			abort();
	if (limit_error(a->err) || limit_error(b->err))
		return;
	if (a->nreq != b->nreq || strcmp(a->err, b->err) != 0)
		abort();
}

/* Encode the arguments of the first request of data as a multibulk and
 * parse them back. */
static void roundtrip(const uint8_t *data, size_t n)
{
	const char *argv[8];
	size_t lens[8], len, at = 0;
	struct resp_parser p;
	char *req;
	int argc = 0;

	while (argc < 8 && at < n) {
		size_t l = data[at++] % 16;

		if (l > n - at)
			l = n - at;
		argv[argc] = (const char *)data + at;
		lens[argc++] = l;
		at += l;
	}
	if (argc == 0 || !(req = resp_encode(argc, argv, lens, &len)))
		return;
	resp_init(&p);
	if (resp_parse(&p, req, len, &lim) != RESP_DONE || p.pos != len || p.argc != (size_t)argc)
		abort();
	for (int i = 0; i < argc; i++)
		if (p.argv[i].len != lens[i] || memcmp(req + p.argv[i].off, argv[i], lens[i]))
			abort();
	resp_free(&p);
	free(req);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct run whole, pieces;
	struct resp_reply *rep = NULL;
	size_t used;

	if (size < 1)
		return 0;
	parse_stream(data + 1, size - 1, 0, &whole);
	parse_stream(data + 1, size - 1, data[0] | 1u, &pieces);
	compare(&whole, &pieces);
	if (resp_reply_parse((const char *)data + 1, size - 1, &rep, &used) == 1) {
		if (used > size - 1)
			abort();
		resp_reply_free(rep);
	}
	roundtrip(data + 1, size - 1);
	return 0;
}
