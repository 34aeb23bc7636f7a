/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * rdbfmt.c — CRC64-Jones, LZF and RDB string encoding (see rdbfmt.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rdbfmt.h"

/* ---- CRC64 ----------------------------------------------------------------- */

/* The reflected form of the Jones polynomial 0xad93d23594c935a9. */
#define CRC64_POLY_REFLECTED 0x95ac9329ac4bc9b5ull

static uint64_t crc_table[256];

/* Fill the byte table once (bitwise definition). */
static void crc_init(void)
{
	for (unsigned i = 0; i < 256; i++) {
		uint64_t c = i;

		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ CRC64_POLY_REFLECTED : c >> 1;
		crc_table[i] = c;
	}
}

uint64_t crc64_jones(uint64_t crc, const void *p, size_t n)
{
	const unsigned char *s = p;

	if (!crc_table[1])
		crc_init();
	for (size_t i = 0; i < n; i++)
		crc = crc_table[(crc ^ s[i]) & 0xff] ^ (crc >> 8);
	return crc;
}

/* ---- LZF ------------------------------------------------------------------- */

/*
 * The LZF format: a control byte c; c < 32: a literal run of c + 1 bytes
 * follows; else a back reference of length (c >> 5) + 2 (7 means a length
 * byte follows, added) at distance ((c & 31) << 8 | next byte) + 1.
 */
size_t lzf_decompress(const void *in, size_t inlen, void *out, size_t outlen)
{
	const unsigned char *ip = in, *iend = ip + inlen;
	unsigned char *op = out, *oend = op + outlen;

	while (ip < iend) {
		unsigned c = *ip++;

		if (c < 32) {
			size_t len = c + 1;

			if ((size_t)(iend - ip) < len || (size_t)(oend - op) < len)
				return 0;
			memcpy(op, ip, len);
			op += len;
			ip += len;
		} else {
			size_t len = c >> 5, dist;

			if (len == 7) {
				if (ip >= iend)
					return 0;
				len += *ip++;
			}
			len += 2;
			if (ip >= iend)
				return 0;
			dist = (((size_t)c & 31) << 8 | *ip++) + 1;
			if ((size_t)(op - (unsigned char *)out) < dist || (size_t)(oend - op) < len)
				return 0;
			/* byte by byte: the reference may overlap what it writes */
			for (size_t k = 0; k < len; k++, op++)
				*op = op[-(ptrdiff_t)dist];
		}
	}
	return (size_t)(op - (unsigned char *)out) == outlen ? outlen : 0;
}

#define LZF_HBITS 14
#define LZF_MAX_OFF (1 << 13)
#define LZF_MAX_REF ((1 << 8) + (1 << 3))

/* Flush a pending literal run lit[0..n) to *op; false if out is full. */
static int lzf_literals(unsigned char **op, unsigned char *oend, const unsigned char *lit,
			size_t n)
{
	while (n) {
		size_t k = n > 32 ? 32 : n;

		if ((size_t)(oend - *op) < k + 1)
			return 0;
		*(*op)++ = (unsigned char)(k - 1);
		memcpy(*op, lit, k);
		*op += k;
		lit += k;
		n -= k;
	}
	return 1;
}

/* A greedy compressor: a hash of the next 3 bytes finds an earlier match
 * within 8 KiB. */
size_t lzf_compress(const void *in, size_t inlen, void *out, size_t outcap)
{
	const unsigned char *ip = in, *iend = ip + inlen, *lit = ip;
	unsigned char *op = out, *oend = op + outcap;
	unsigned bits = 6;
	const unsigned char **htab;

	/* a table sized to the input (small strings are the common case) */
	while (bits < LZF_HBITS && (1u << bits) < inlen)
		bits++;
	htab = calloc(1u << bits, sizeof *htab);
	if (!htab)
		return 0;
	while (ip + 2 < iend) {
		unsigned h = ((unsigned)ip[0] << 16 | (unsigned)ip[1] << 8 | ip[2]);
		const unsigned char *ref;

		h = (h * 2654435761u) >> (32 - bits);
		ref = htab[h];
		htab[h] = ip;
		if (ref && ip - ref <= LZF_MAX_OFF && ref[0] == ip[0] && ref[1] == ip[1] &&
		    ref[2] == ip[2]) {
			size_t len = 3, max = (size_t)(iend - ip);
			size_t off = (size_t)(ip - ref) - 1;

			if (max > LZF_MAX_REF)
				max = LZF_MAX_REF;
			while (len < max && ref[len] == ip[len])
				len++;
			if (!lzf_literals(&op, oend, lit, (size_t)(ip - lit)))
				goto full;
			len -= 2;
			if (len < 7) {
				if (oend - op < 2)
					goto full;
				*op++ = (unsigned char)((len << 5) | (off >> 8));
			} else {
				if (oend - op < 3)
					goto full;
				*op++ = (unsigned char)((7 << 5) | (off >> 8));
				*op++ = (unsigned char)(len - 7);
			}
			*op++ = (unsigned char)(off & 0xff);
			ip += len + 2;
			lit = ip;
		} else {
			ip++;
		}
	}
	if (!lzf_literals(&op, oend, lit, (size_t)(iend - lit)))
		goto full;
	free(htab);
	return (size_t)(op - (unsigned char *)out);
full:
	free(htab);
	return 0;
}

/* ---- output ----------------------------------------------------------------- */

void rbuf_put(struct rbuf *b, const void *p, size_t n)
{
	if (b->oom)
		return;
	if (b->cap - b->len < n) {
		size_t cap = (b->cap ? b->cap * 2 : 256) + n;
		unsigned char *q = realloc(b->p, cap);

		if (!q) {
			b->oom = 1;
			return;
		}
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

void rbuf_byte(struct rbuf *b, unsigned v)
{
	unsigned char c = (unsigned char)v;

	rbuf_put(b, &c, 1);
}

void rbuf_len(struct rbuf *b, uint64_t len)
{
	unsigned char buf[9];

	if (len < 64) {
		rbuf_byte(b, (unsigned)len);
	} else if (len < 16384) {
		buf[0] = (unsigned char)(0x40 | (len >> 8));
		buf[1] = (unsigned char)len;
		rbuf_put(b, buf, 2);
	} else if (len <= 0xffffffffull) {
		buf[0] = 0x80;
		for (int i = 0; i < 4; i++)
			buf[1 + i] = (unsigned char)(len >> (24 - 8 * i));
		rbuf_put(b, buf, 5);
	} else {
		buf[0] = 0x81;
		for (int i = 0; i < 8; i++)
			buf[1 + i] = (unsigned char)(len >> (56 - 8 * i));
		rbuf_put(b, buf, 9);
	}
}

void rbuf_str(struct rbuf *b, const void *p, size_t n)
{
	rbuf_len(b, n);
	rbuf_put(b, p, n);
}

void rbuf_dump_trailer(struct rbuf *b)
{
	unsigned char t[8];
	uint64_t crc;

	rbuf_byte(b, RDB_DUMP_VERSION & 0xff);
	rbuf_byte(b, (RDB_DUMP_VERSION >> 8) & 0xff);
	if (b->oom)
		return;
	crc = crc64_jones(0, b->p, b->len);
	for (int i = 0; i < 8; i++)
		t[i] = (unsigned char)(crc >> (8 * i));
	rbuf_put(b, t, 8);
}

int rdb_dump_check(const void *p, size_t n, size_t *body_len)
{
	const unsigned char *s = p;
	uint64_t crc = 0;
	unsigned ver;

	if (n < 10)
		return -1;
	ver = s[n - 10] | (unsigned)s[n - 9] << 8;
	if (ver > RDB_DUMP_VERSION)
		return -1;
	for (int i = 0; i < 8; i++)
		crc |= (uint64_t)s[n - 8 + i] << (8 * i);
	if (crc64_jones(0, s, n - 8) != crc)
		return -1;
	*body_len = n - 10;
	return 0;
}

/* ---- input ------------------------------------------------------------------- */

unsigned rread_byte(struct rreader *r)
{
	if (r->p >= r->end) {
		r->bad = 1;
		return 0;
	}
	return *r->p++;
}

/* n big-endian bytes. */
static uint64_t rread_be(struct rreader *r, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = v << 8 | rread_byte(r);
	return v;
}

uint64_t rread_len(struct rreader *r, int *special)
{
	unsigned c = rread_byte(r);

	*special = 0;
	switch (c >> 6) {
	case 0:
		return c & 0x3f;
	case 1:
		return (uint64_t)(c & 0x3f) << 8 | rread_byte(r);
	case 2:
		if (c == 0x80)
			return rread_be(r, 4);
		if (c == 0x81)
			return rread_be(r, 8);
		r->bad = 1;
		return 0;
	default:
		*special = 1;
		return c & 0x3f;
	}
}

/* A little-endian signed integer of n bytes. */
static int64_t rread_le_signed(struct rreader *r, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v |= (uint64_t)rread_byte(r) << (8 * i);
	if (n < 8 && (v >> (8 * n - 1)) & 1)
		v |= ~0ull << (8 * n);
	return (int64_t)v;
}

char *rread_str(struct rreader *r, size_t *n)
{
	int special;
	uint64_t len = rread_len(r, &special);
	char *s;

	if (r->bad)
		return NULL;
	if (special) {
		if (len <= 2) {		/* int8, int16, int32 */
			char buf[24];
			int k = snprintf(buf, sizeof buf, "%lld",
					 (long long)rread_le_signed(r, 1 << len));

			if (r->bad || !(s = malloc((size_t)k + 1)))
				goto bad;
			memcpy(s, buf, (size_t)k + 1);
			*n = (size_t)k;
			return s;
		}
		if (len == 3) {		/* LZF */
			int sp2;
			uint64_t clen = rread_len(r, &sp2), ulen = rread_len(r, &sp2);

			/* LZF expands at most ~132x (a 2-byte reference gives 264
			 * bytes): a larger claim is corrupt, not worth allocating */
			if (r->bad || sp2 || clen > (uint64_t)(r->end - r->p) ||
			    ulen > clen * 132 + 64)
				goto bad;
			if (!(s = malloc(ulen + 1)))
				goto bad;
			if (ulen && lzf_decompress(r->p, clen, s, ulen) != ulen) {
				free(s);
				goto bad;
			}
			r->p += clen;
			s[ulen] = '\0';
			*n = ulen;
			return s;
		}
		goto bad;
	}
	if (len > (uint64_t)(r->end - r->p) || !(s = malloc(len + 1)))
		goto bad;
	memcpy(s, r->p, len);
	s[len] = '\0';
	r->p += len;
	*n = len;
	return s;
bad:
	r->bad = 1;
	return NULL;
}
