/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * rdbfmt.h — pieces of Redis's RDB serialization that several files use:
 * CRC64 (Jones polynomial, reflected, as Redis's crc64.c computes it), LZF
 * (the compression RDB strings may use), and RDB length/string encoding.
 *
 * Written for cowkv from the format's description (no code taken from
 * Redis or liblzf).
 */
#ifndef COWKV_RDBFMT_H
#define COWKV_RDBFMT_H

#include <stddef.h>
#include <stdint.h>

/* CRC64-Jones of p/n continuing from crc (start with 0). */
uint64_t crc64_jones(uint64_t crc, const void *p, size_t n);

/* Decompress LZF data in/inlen into out (exactly outlen bytes expected).
 * Returns outlen, or 0 if the data is corrupt or does not fit. */
size_t lzf_decompress(const void *in, size_t inlen, void *out, size_t outlen);
/* Compress in/inlen into out (at most outcap bytes). Returns the compressed
 * length, or 0 when it does not fit (store the data raw then). */
size_t lzf_compress(const void *in, size_t inlen, void *out, size_t outcap);

/* A growable output buffer. */
struct rbuf {
	unsigned char *p;
	size_t len, cap;
	int oom;                /* an append failed: the buffer is incomplete */
};
void rbuf_put(struct rbuf *b, const void *p, size_t n);
void rbuf_byte(struct rbuf *b, unsigned v);
/* RDB length encoding (6, 14, 32 or 64 bits). */
void rbuf_len(struct rbuf *b, uint64_t len);
/* An RDB string: length + raw bytes (no integer or LZF encoding). */
void rbuf_str(struct rbuf *b, const void *p, size_t n);

/* A reader over bytes [p, end). */
struct rreader {
	const unsigned char *p, *end;
	int bad;                /* a read went past the end or was malformed */
};
unsigned rread_byte(struct rreader *r);
/* An RDB length; *special is set when it is an encoding marker (11xxxxxx),
 * then the value is the encoding type. */
uint64_t rread_len(struct rreader *r, int *special);
/* An RDB string in any encoding (raw, int8/16/32, LZF) into a malloc'd
 * buffer (*n bytes, NUL-terminated). NULL and r->bad on failure. */
char *rread_str(struct rreader *r, size_t *n);

/* Redis's DUMP trailer: 2-byte RDB version, then the CRC64 of everything
 * before (payload and version), little-endian. */
#define RDB_DUMP_VERSION 10
void rbuf_dump_trailer(struct rbuf *b);
/* Check a DUMP payload's trailer: 0, or -1 (bad version or checksum).
 * *body_len gets the payload's length without the trailer. */
int rdb_dump_check(const void *p, size_t n, size_t *body_len);

#endif
