/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * rdb.c — Redis's RDB format, both directions: DUMP and RESTORE of one key,
 * `cowkv --import FILE.rdb` (an RDB written by Redis, versions up to 10)
 * and `cowkv --export FILE.rdb` (an RDB that redis-server and
 * redis-check-rdb load).
 *
 * Read: strings (raw, integer, LZF), lists (linked list, ziplist,
 * quicklist of ziplists, quicklist 2 of listpacks and plain nodes), hashes
 * (field/value pairs, zipmap is refused, ziplist, listpack), sets
 * (members, intset, Redis 7.2's listpack), sorted sets (scores as text,
 * binary scores, ziplist, listpack), expiry times (seconds and ms), aux
 * fields, SELECTDB (every database below --databases) / RESIZEDB, function
 * libraries, idle/frequency hints (skipped: cowkv keeps no LRU/LFU). A set
 * or zset with a repeated member, a NaN score or an intset out of order is
 * bad data (what Redis's deep sanitization refuses). Types cowkv has no
 * value for (streams, modules) stop the load with an error that names the
 * key and the type.
 * Written: strings (LZF-compressed when longer than 20 bytes and that
 * helps), lists as RDB_TYPE_LIST, hashes as RDB_TYPE_HASH, sets as
 * RDB_TYPE_SET (forms every Redis since 1.x loads), sorted sets as
 * RDB_TYPE_ZSET_2 (binary scores, Redis >= 2.8), expiry in ms, function
 * libraries, a SELECTDB before the keys of each database that has any, the
 * CRC64. The same writer serves --export, DUMP and SYNC (repl.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server.h"
#include "rdbfmt.h"
#include "rdb.h"
#include "script.h"

#define T_STRING 0
#define T_LIST 1
#define T_SET 2
#define T_ZSET 3
#define T_HASH 4
#define T_ZSET2 5
#define T_MODULE 6
#define T_MODULE2 7
#define T_HASH_ZIPMAP 9
#define T_LIST_ZIPLIST 10
#define T_SET_INTSET 11
#define T_ZSET_ZIPLIST 12
#define T_HASH_ZIPLIST 13
#define T_LIST_QUICKLIST 14
#define T_STREAM 15
#define T_HASH_LISTPACK 16
#define T_ZSET_LISTPACK 17
#define T_LIST_QUICKLIST2 18
#define T_STREAM2 19
#define T_SET_LISTPACK 20

#define OP_FUNCTION2 245
#define OP_FUNCTION 246
#define OP_MODULE_AUX 247
#define OP_IDLE 248
#define OP_FREQ 249
#define OP_AUX 250
#define OP_RESIZEDB 251
#define OP_EXPIRE_MS 252
#define OP_EXPIRE 253
#define OP_SELECTDB 254
#define OP_EOF 255

#define RDB_VERSION_MAX 10

static const char *type_name(unsigned t)
{
	switch (t) {
	case T_SET: case T_SET_INTSET: case T_SET_LISTPACK: return "set";
	case T_ZSET: case T_ZSET2: case T_ZSET_ZIPLIST: case T_ZSET_LISTPACK: return "zset";
	case T_MODULE: case T_MODULE2: return "module";
	case T_STREAM: case T_STREAM2: case 21: return "stream";
	case T_HASH_ZIPMAP: return "hash (zipmap encoding)";
	default: return "unknown";
	}
}

/* ---- writing --------------------------------------------------------------------- */

/* An RDB string, LZF-compressed when that saves space (as Redis does). */
static void put_string(struct rbuf *b, const char *p, size_t n)
{
	if (n > 20) {
		size_t cap = n - 4;
		unsigned char *z = malloc(cap);
		size_t zn = z ? lzf_compress(p, n, z, cap) : 0;

		if (zn) {
			rbuf_byte(b, 0xc3);
			rbuf_len(b, zn);
			rbuf_len(b, n);
			rbuf_put(b, z, zn);
			free(z);
			return;
		}
		free(z);
	}
	rbuf_str(b, p, n);
}

static void put_field(struct kvdb *db, struct kv_ent *f, void *arg)
{
	struct rbuf *b = arg;

	put_string(b, f->key, f->klen);
	put_string(b, ent_bytes(db, f) ? ent_bytes(db, f) : "", f->vlen);
}

/* A set member (its entry's key) into the rbuf arg. */
static void put_member(struct kvdb *db, struct kv_ent *m, void *arg)
{
	(void)db;
	put_string(arg, m->key, m->klen);
}

/* A sorted set as RDB_TYPE_ZSET_2: members with binary scores, from the
 * highest to the lowest (Redis's order: loading appends at the head). */
static void put_zset(struct rbuf *b, struct kvdb *db, struct kv_ent *e)
{
	struct kv_zset *z = zset_of(db, e, false);
	uint64_t n = z ? z->length : 0;
	struct kv_znode *node = z ? kv_ptr(db, z->tail) : NULL;

	rbuf_byte(b, T_ZSET2);
	rbuf_len(b, n);
	for (uint64_t i = 0; i < n && node; i++, node = zn_prev(db, node)) {
		struct kv_ent *m = zn_ent(db, node);
		unsigned char d[8];
		uint64_t bits;

		memcpy(&bits, &node->score, sizeof bits);
		for (int k = 0; k < 8; k++)
			d[k] = (unsigned char)(bits >> (8 * k));
		put_string(b, m->key, m->klen);
		rbuf_put(b, d, 8);
	}
}

/* The type byte and the value of entry e. Reads only: db may be a view of
 * a snapshot (struct kvdb with base and root set) read by another thread. */
static void put_value(struct rbuf *b, struct kvdb *db, struct kv_ent *e)
{
	if (e->type == KV_STRING) {
		rbuf_byte(b, T_STRING);
		put_string(b, ent_bytes(db, e) ? ent_bytes(db, e) : "", e->vlen);
	} else if (e->type == KV_LIST) {
		uint64_t n = list_len(db, e);

		rbuf_byte(b, T_LIST);
		rbuf_len(b, n);
		for (uint64_t i = 0; i < n; i++) {
			struct kv_elem *el = list_at(db, e, i);

			put_string(b, el->data, el->len);
		}
	} else if (e->type == KV_HASH) {
		rbuf_byte(b, T_HASH);
		rbuf_len(b, hash_len(db, e));
		if (hash_len(db, e))
			dict_each(db, hash_dict(db, e, false), put_field, b);
	} else if (e->type == KV_SET) {
		rbuf_byte(b, T_SET);
		rbuf_len(b, set_len(db, e));
		if (set_len(db, e))
			dict_each(db, hash_dict(db, e, false), put_member, b);
	} else if (e->type == KV_ZSET) {
		put_zset(b, db, e);
	}
}

/* ---- reading encodings ----------------------------------------------------------- */

/* Elements of a decoded blob: a callback per element (bytes). */
typedef int elem_fn(void *arg, const char *p, size_t n);

static int emit_int(elem_fn *fn, void *arg, long long v)
{
	char buf[24];
	int k = snprintf(buf, sizeof buf, "%lld", v);

	return fn(arg, buf, (size_t)k);
}

/* Little-endian of n bytes at p. */
static uint64_t le(const unsigned char *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static int64_t sign_extend(uint64_t v, int bits)
{
	if (bits < 64 && (v >> (bits - 1)) & 1)
		v |= ~0ull << bits;
	return (int64_t)v;
}

/* Walk a listpack (Redis 7 small lists/hashes). 0 or -1 if malformed. */
static int walk_listpack(const unsigned char *p, size_t n, elem_fn *fn, void *arg)
{
	const unsigned char *end = p + n, *q;
	uint32_t total;

	if (n < 7)
		return -1;
	total = (uint32_t)le(p, 4);
	if (total > n)
		return -1;
	end = p + total;
	q = p + 6;
	while (q < end && *q != 0xff) {
		unsigned c = *q;
		size_t enc, len = 0;
		int r;

		if (c < 0x80) {                          /* 7-bit uint */
			enc = 1;
			r = emit_int(fn, arg, c);
		} else if ((c & 0xc0) == 0x80) {         /* 6-bit string length */
			len = c & 0x3f;
			enc = 1 + len;
			if (q + enc > end)
				return -1;
			r = fn(arg, (const char *)q + 1, len);
		} else if ((c & 0xe0) == 0xc0) {         /* 13-bit int */
			if (q + 2 > end)
				return -1;
			enc = 2;
			r = emit_int(fn, arg, sign_extend(((uint64_t)(c & 0x1f) << 8) | q[1], 13));
		} else if ((c & 0xf0) == 0xe0) {         /* 12-bit string length */
			if (q + 2 > end)
				return -1;
			len = ((size_t)(c & 0x0f) << 8) | q[1];
			enc = 2 + len;
			if (q + enc > end)
				return -1;
			r = fn(arg, (const char *)q + 2, len);
		} else if (c == 0xf0) {                  /* 32-bit string length */
			if (q + 5 > end)
				return -1;
			len = (size_t)le(q + 1, 4);
			enc = 5 + len;
			if (q + enc > end)
				return -1;
			r = fn(arg, (const char *)q + 5, len);
		} else if (c >= 0xf1 && c <= 0xf4) {     /* 16, 24, 32, 64-bit int */
			static const int bytes[] = { 2, 3, 4, 8 };
			int k = bytes[c - 0xf1];

			if (q + 1 + k > end)
				return -1;
			enc = 1 + (size_t)k;
			r = emit_int(fn, arg, sign_extend(le(q + 1, k), 8 * k));
		} else {
			return -1;
		}
		if (r)
			return -1;
		/* skip the entry and its back length */
		q += enc;
		q += enc < 128 ? 1 : enc < 16384 ? 2 : enc < 2097152 ? 3 : enc < 268435456 ? 4 : 5;
	}
	return q < end ? 0 : -1;
}

/* Walk a ziplist (Redis < 7 small lists/hashes). 0 or -1. */
static int walk_ziplist(const unsigned char *p, size_t n, elem_fn *fn, void *arg)
{
	const unsigned char *end, *q;
	uint32_t total;

	if (n < 11)
		return -1;
	total = (uint32_t)le(p, 4);
	if (total > n)
		return -1;
	end = p + total;
	q = p + 10;
	while (q < end && *q != 0xff) {
		unsigned c;
		size_t len;
		int r;

		q += (*q < 254) ? 1 : 5;                 /* previous entry length */
		if (q >= end)
			return -1;
		c = *q;
		if ((c >> 6) == 0) {
			len = c & 0x3f;
			q += 1;
		} else if ((c >> 6) == 1) {
			if (q + 2 > end)
				return -1;
			len = ((size_t)(c & 0x3f) << 8) | q[1];
			q += 2;
		} else if (c == 0x80) {
			if (q + 5 > end)
				return -1;
			len = ((size_t)q[1] << 24) | ((size_t)q[2] << 16) | ((size_t)q[3] << 8) | q[4];
			q += 5;
		} else {
			long long v;
			int k;

			switch (c) {
			case 0xc0: k = 2; break;
			case 0xd0: k = 4; break;
			case 0xe0: k = 8; break;
			case 0xf0: k = 3; break;
			case 0xfe: k = 1; break;
			default:
				if (c >= 0xf1 && c <= 0xfd) {
					q++;
					if (emit_int(fn, arg, (long long)(c & 0x0f) - 1))
						return -1;
					continue;
				}
				return -1;
			}
			if (q + 1 + k > end)
				return -1;
			v = sign_extend(le(q + 1, k), 8 * k);
			q += 1 + k;
			if (emit_int(fn, arg, v))
				return -1;
			continue;
		}
		if (q + len > end)
			return -1;
		r = fn(arg, (const char *)q, len);
		if (r)
			return -1;
		q += len;
	}
	return q < end ? 0 : -1;
}

/*
 * Walk an intset (RDB_TYPE_SET_INTSET): a 4-byte encoding (2, 4 or 8: the
 * width of each integer), a 4-byte count, then count little-endian signed
 * integers in strictly ascending order, each passed to fn as decimal text.
 * 0, or -1 if malformed: another encoding, a size other than 8 + count *
 * encoding, no integers, integers out of order or repeated (Redis's deep
 * sanitization checks the same), or fn failed.
 */
static int walk_intset(const unsigned char *p, size_t n, elem_fn *fn, void *arg)
{
	uint32_t enc, count;
	int64_t prev = 0;

	if (n < 8)
		return -1;
	enc = (uint32_t)le(p, 4);
	count = (uint32_t)le(p + 4, 4);
	if ((enc != 2 && enc != 4 && enc != 8) || count == 0 ||
	    8 + (uint64_t)count * enc != n)
		return -1;
	for (uint32_t i = 0; i < count; i++) {
		int64_t v = sign_extend(le(p + 8 + (size_t)i * enc, (int)enc), 8 * (int)enc);

		if ((i && v <= prev) || emit_int(fn, arg, v))
			return -1;
		prev = v;
	}
	return 0;
}

/* ---- building values -------------------------------------------------------------- */

struct sink {
	struct kvdb *db;
	struct kv_ent *e;
	char *field;            /* hash: the field waiting for its value */
	size_t flen;
	bool have_field;
};

static int list_sink(void *arg, const char *p, size_t n)
{
	struct sink *s = arg;

	return list_push(s->db, s->e, false, p, n) ? -1 : 0;
}

/* Keep p/n in s as the field (or member) waiting for its value (or
 * score). 0, or -1 (no memory). */
static int sink_hold(struct sink *s, const char *p, size_t n)
{
	free(s->field);
	s->field = malloc(n + 1);
	if (!s->field)
		return -1;
	memcpy(s->field, p, n);
	s->flen = n;
	s->have_field = true;
	return 0;
}

/* Hash elements come as field, value, field, value...: 0 or -1. */
static int hash_sink(void *arg, const char *p, size_t n)
{
	struct sink *s = arg;
	int r;

	if (!s->have_field)
		return sink_hold(s, p, n);
	s->have_field = false;
	r = hash_set(s->db, s->e, s->field, s->flen, p, n);
	return r < 0 ? -1 : 0;
}

/* A set member: 0, or -1 (a member seen before, or no memory). */
static int set_sink(void *arg, const char *p, size_t n)
{
	struct sink *s = arg;

	return set_add(s->db, s->e, p, n) == 1 ? 0 : -1;
}

/*
 * A score written as text (a ziplist or listpack element, an RDB_TYPE_ZSET
 * score): as Redis reads it, strtod of at most its first 127 bytes. true
 * with *out, or false if no number starts it or it is NaN.
 */
static bool text_score(const char *p, size_t n, double *out)
{
	char buf[128], *end;

	if (n >= sizeof buf)
		n = sizeof buf - 1;
	memcpy(buf, p, n);
	buf[n] = '\0';
	*out = strtod(buf, &end);
	return end != buf && !isnan(*out);
}

/* Add member m (mlen bytes) with score to the zset of s: 0, or -1 (NaN,
 * a member seen before, or no memory). */
static int zset_put(struct sink *s, const char *m, size_t mlen, double score)
{
	if (isnan(score))
		return -1;
	return zset_set(s->db, s->e, m, mlen, score) == 1 ? 0 : -1;
}

/* Zset elements of a ziplist or listpack come as member, score (text or an
 * integer), member, score...: 0 or -1. */
static int zset_sink(void *arg, const char *p, size_t n)
{
	struct sink *s = arg;
	double score;

	if (!s->have_field)
		return sink_hold(s, p, n);
	s->have_field = false;
	if (!text_score(p, n, &score))
		return -1;
	return zset_put(s, s->field, s->flen, score);
}

/*
 * An RDB_TYPE_ZSET score: a length byte, then that many bytes of text;
 * the lengths 253, 254 and 255 stand for NaN, +inf and -inf with no text.
 * true with *out (NaN included: the caller refuses it), false if r ends
 * first or the text is no number.
 */
static bool read_text_score(struct rreader *r, double *out)
{
	unsigned n = rread_byte(r);

	if (r->bad)
		return false;
	if (n >= 253) {
		*out = n == 253 ? NAN : n == 254 ? INFINITY : -INFINITY;
		return true;
	}
	if ((size_t)(r->end - r->p) < n) {
		r->bad = 1;
		return false;
	}
	r->p += n;
	return text_score((const char *)r->p - n, n, out) || isnan(*out);
}

/* An RDB_TYPE_ZSET_2 score: 8 bytes, a little-endian IEEE double. true
 * with *out, false (and r->bad) if r ends first. */
static bool read_binary_score(struct rreader *r, double *out)
{
	uint64_t bits;

	if (r->end - r->p < 8) {
		r->bad = 1;
		return false;
	}
	bits = le(r->p, 8);
	r->p += 8;
	memcpy(out, &bits, sizeof *out);
	return true;
}

/*
 * The members of an RDB_TYPE_SET (count strings) or the pairs of an
 * RDB_TYPE_ZSET / RDB_TYPE_ZSET_2 (count of member, score) from r into the
 * key of s. 0, or -2 (truncated, malformed, a repeated member, a NaN score
 * or no memory).
 */
static int read_members(struct rreader *r, unsigned t, struct sink *s)
{
	int special;
	uint64_t count = rread_len(r, &special);

	if (r->bad || special)
		return -2;
	for (uint64_t i = 0; i < count; i++) {
		size_t n;
		char *m = rread_str(r, &n);
		double score = 0;
		int rc;

		if (!m)
			return -2;
		if (t == T_SET)
			rc = set_sink(s, m, n);
		else if (t == T_ZSET ? !read_text_score(r, &score) : !read_binary_score(r, &score))
			rc = -1;
		else
			rc = zset_put(s, m, n, score);
		free(m);
		if (rc)
			return -2;
	}
	return 0;
}

/*
 * A set or a sorted set of RDB type t from r into the new key of s (its
 * entry made by the caller): RDB_TYPE_SET, _SET_INTSET, _SET_LISTPACK,
 * _ZSET, _ZSET_2, _ZSET_ZIPLIST, _ZSET_LISTPACK. 0, or -2 (bad data).
 */
static int read_set_or_zset(struct rreader *r, unsigned t, struct sink *s)
{
	char *v;
	size_t n;
	int rc;

	if (t == T_SET || t == T_ZSET || t == T_ZSET2)
		return read_members(r, t, s);
	v = rread_str(r, &n);
	if (!v)
		return -2;
	if (t == T_SET_INTSET)
		rc = walk_intset((unsigned char *)v, n, set_sink, s);
	else if (t == T_SET_LISTPACK)
		rc = walk_listpack((unsigned char *)v, n, set_sink, s);
	else if (t == T_ZSET_ZIPLIST)
		rc = walk_ziplist((unsigned char *)v, n, zset_sink, s);
	else
		rc = walk_listpack((unsigned char *)v, n, zset_sink, s);
	free(v);
	return rc || s->have_field ? -2 : 0;
}

/*
 * Read a set or a sorted set of RDB type t from r into a new key (which
 * must not exist). 0 (no key if it has no members: Redis has no empty
 * aggregates); -1 with err "key 'K': bad data format" (truncated,
 * malformed, a repeated member, a NaN score, or no memory), the key removed
 * again so that nothing of it stays.
 */
static int read_aggregate(struct rreader *r, unsigned t, const char *key, size_t klen,
			  char *err, size_t errlen)
{
	bool set = t == T_SET || t == T_SET_INTSET || t == T_SET_LISTPACK;
	struct sink s = { .db = &srv.db };
	int rc;

	s.e = kv_add(s.db, key, klen, set ? KV_SET : KV_ZSET);
	if (!s.e) {
		snprintf(err, errlen, "key '%.*s': out of memory in the dataset",
			 (int)(klen > 200 ? 200 : klen), key);
		return -1;
	}
	rc = read_set_or_zset(r, t, &s);
	free(s.field);
	if (rc || r->bad) {
		kv_delete_ent(s.db, s.e);
		snprintf(err, errlen, "key '%.*s': bad data format",
			 (int)(klen > 200 ? 200 : klen), key);
		return -1;
	}
	if ((set ? set_len(s.db, s.e) : zset_len(s.db, s.e)) == 0)
		kv_delete_ent(s.db, s.e);
	return 0;
}

/*
 * Read a value of type t from r into a new key (which must not exist).
 * 0; -1 with err set (malformed, unsupported type, no memory). The key is
 * removed again on failure.
 */
static int read_value(struct rreader *r, unsigned t, const char *key, size_t klen,
		      char *err, size_t errlen)
{
	struct kvdb *db = &srv.db;
	struct sink s = { .db = db };
	struct kv_ent *e;
	char *v;
	size_t n;
	int special;
	uint64_t count;
	int rc = 0;

	switch (t) {
	case T_STRING:
		v = rread_str(r, &n);
		if (!v)
			goto bad;
		e = kv_add(db, key, klen, KV_STRING);
		if (!e || (n && ent_set_bytes(db, e, v, n))) {
			free(v);
			if (e)
				kv_delete_ent(db, e);
			goto oom;
		}
		free(v);
		return 0;
	case T_LIST: case T_HASH: case T_LIST_ZIPLIST: case T_HASH_ZIPLIST:
	case T_LIST_QUICKLIST: case T_HASH_LISTPACK: case T_LIST_QUICKLIST2:
		break;
	case T_SET: case T_SET_INTSET: case T_SET_LISTPACK:
	case T_ZSET: case T_ZSET2: case T_ZSET_ZIPLIST: case T_ZSET_LISTPACK:
		return read_aggregate(r, t, key, klen, err, errlen);
	default:
		snprintf(err, errlen, "key '%.*s' has type %s (RDB type %u), which cowkv has "
			 "no value for", (int)(klen > 200 ? 200 : klen), key, type_name(t), t);
		return -1;
	}
	e = kv_add(db, key, klen, (t == T_HASH || t == T_HASH_ZIPLIST || t == T_HASH_LISTPACK) ?
		   KV_HASH : KV_LIST);
	if (!e)
		goto oom;
	s.e = e;
	if (t == T_LIST || t == T_HASH) {
		count = rread_len(r, &special);
		if (t == T_HASH)
			count *= 2;
		for (uint64_t i = 0; i < count && !rc; i++) {
			v = rread_str(r, &n);
			if (!v) {
				rc = -2;
				break;
			}
			rc = (t == T_LIST ? list_sink : hash_sink)(&s, v, n);
			free(v);
		}
	} else if (t == T_LIST_ZIPLIST || t == T_HASH_ZIPLIST || t == T_HASH_LISTPACK) {
		v = rread_str(r, &n);
		if (!v) {
			rc = -2;
		} else {
			elem_fn *fn = t == T_LIST_ZIPLIST ? list_sink : hash_sink;

			rc = (t == T_HASH_LISTPACK ? walk_listpack : walk_ziplist)(
				(unsigned char *)v, n, fn, &s) ? -2 : 0;
			free(v);
		}
	} else {                                        /* quicklists */
		count = rread_len(r, &special);
		for (uint64_t i = 0; i < count && !rc; i++) {
			uint64_t container = 2;

			if (t == T_LIST_QUICKLIST2)
				container = rread_len(r, &special);
			v = rread_str(r, &n);
			if (!v) {
				rc = -2;
				break;
			}
			if (container == 1)             /* a plain node: one element */
				rc = list_sink(&s, v, n);
			else if (t == T_LIST_QUICKLIST2)
				rc = walk_listpack((unsigned char *)v, n, list_sink, &s) ? -2 : 0;
			else
				rc = walk_ziplist((unsigned char *)v, n, list_sink, &s) ? -2 : 0;
			free(v);
		}
	}
	free(s.field);
	if (r->bad || rc == -2 || (rc == 0 && s.have_field)) {
		kv_delete_ent(db, e);
		goto bad;
	}
	if (rc) {
		kv_delete_ent(db, e);
		goto oom;
	}
	if ((e->type == KV_LIST && list_len(db, e) == 0) ||
	    (e->type == KV_HASH && hash_len(db, e) == 0))
		kv_delete_ent(db, e);	/* Redis has no empty aggregates */
	return 0;
bad:
	snprintf(err, errlen, "key '%.*s': bad data format", (int)(klen > 200 ? 200 : klen), key);
	return -1;
oom:
	snprintf(err, errlen, "key '%.*s': out of memory in the dataset",
		 (int)(klen > 200 ? 200 : klen), key);
	return -1;
}

/* ---- DUMP / RESTORE ---------------------------------------------------------------- */

void cmd_dump(struct client *c)
{
	struct kv_ent *e = lookup_read(c, 1);
	struct rbuf b = { 0 };

	if (!e) {
		reply_nil(c);
		return;
	}
	put_value(&b, &srv.db, e);
	rbuf_dump_trailer(&b);
	if (b.oom)
		reply_oom(c);
	else
		reply_bulk(c, b.p, b.len);
	free(b.p);
}

/* RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME s] [FREQ f] */
void cmd_restore(struct client *c)
{
	bool replace = false, absttl = false;
	long long ttl, v;
	size_t body;
	struct rreader r;
	char err[300];
	unsigned t;
	struct kv_ent *e;

	for (int i = 4; i < c->argc; i++) {
		if (arg_is(c, i, "replace")) {
			replace = true;
		} else if (arg_is(c, i, "absttl")) {
			absttl = true;
		} else if ((arg_is(c, i, "idletime") || arg_is(c, i, "freq")) && i + 1 < c->argc) {
			bool idle = arg_is(c, i, "idletime");

			if (!arg_ll(c, ++i, &v))
				return;
			if (v < 0 || (!idle && v > 255)) {
				reply_error(c, idle ? "ERR Invalid IDLETIME value, must be >= 0" :
					    "ERR Invalid FREQ value, must be >= 0 and <= 255");
				return;
			}
			/* accepted: cowkv keeps no LRU clock nor LFU counter */
		} else {
			reply_syntax(c);
			return;
		}
	}
	if (!arg_ll(c, 2, &ttl))
		return;
	if (ttl < 0) {
		reply_error(c, "ERR Invalid TTL value, must be >= 0");
		return;
	}
	if (!replace && lookup_write(c, 1)) {
		reply_error(c, "BUSYKEY Target key name already exists.");
		return;
	}
	if (rdb_dump_check(c->argv[3].p, c->argv[3].len, &body)) {
		reply_error(c, "ERR DUMP payload version or checksum are wrong");
		return;
	}
	r.p = (const unsigned char *)c->argv[3].p;
	r.end = r.p + body;
	r.bad = 0;
	t = rread_byte(&r);
	if (r.bad) {
		reply_error(c, "ERR Bad data format");
		return;
	}
	if (replace)
		kv_delete(&srv.db, c->argv[1].p, c->argv[1].len);
	if (read_value(&r, t, c->argv[1].p, c->argv[1].len, err, sizeof err)) {
		reply_errorf(c, strstr(err, "bad data") ? "ERR Bad data format" : "ERR %s", err);
		return;
	}
	if (r.p != r.end) {
		kv_delete(&srv.db, c->argv[1].p, c->argv[1].len);
		reply_error(c, "ERR Bad data format");
		return;
	}
	e = kv_find(&srv.db, c->argv[1].p, c->argv[1].len);
	if (e && ttl) {
		int64_t when = absttl ? ttl : srv.db.now_ms + ttl;

		if (when <= srv.db.now_ms) {
			kv_delete_ent(&srv.db, e);	/* already expired: as Redis, no key */
		} else if (kv_set_expire(&srv.db, e, when)) {
			kv_delete_ent(&srv.db, e);
			reply_oom(c);
			return;
		}
	}
	srv_changed(1);
	reply_ok(c);
}

/* ---- whole files --------------------------------------------------------------------- */

/* Map all of path read-only (*n bytes); NULL with errno on failure. The
 * file's pages come in as the loader reads them. */
static char *map_file(const char *path, size_t *n)
{
	struct stat st;
	void *p;
	int fd = open(path, O_RDONLY | O_CLOEXEC), e;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) || st.st_size <= 0) {
		e = st.st_size <= 0 ? EINVAL : errno;
		close(fd);
		errno = e;
		return NULL;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	e = errno;
	close(fd);
	if (p == MAP_FAILED) {
		errno = e;
		return NULL;
	}
	madvise(p, (size_t)st.st_size, MADV_SEQUENTIAL);
	*n = (size_t)st.st_size;
	return p;
}

int rdb_import(const char *path, uint64_t *nkeys)
{
	size_t n = 0;
	char *buf = map_file(path, &n), err[400] = "";
	struct rreader r;
	int64_t expire = 0;
	unsigned ver;
	uint64_t loaded = 0, skipped = 0;
	int rc = -1;

	if (!buf) {
		srv_log(LL_WARNING, "import: can't read %s: %s", path, strerror(errno));
		return -errno;
	}
	if (n < 9 + 1 || memcmp(buf, "REDIS", 5)) {
		srv_log(LL_WARNING, "import: %s is not an RDB file", path);
		goto out;
	}
	ver = (unsigned)atoi(buf + 5);
	if (ver < 1 || ver > RDB_VERSION_MAX) {
		srv_log(LL_WARNING, "import: %s has RDB version %u; cowkv reads 1 to %d", path,
			ver, RDB_VERSION_MAX);
		goto out;
	}
	r.p = (const unsigned char *)buf + 9;
	r.end = (const unsigned char *)buf + n;
	r.bad = 0;
	srv.db.now_ms = srv_unix_ms();
	srv.db.cur = 0;		/* keys before any SELECTDB go to db 0 */
	for (;;) {
		unsigned t = rread_byte(&r);
		int special;
		char *key, *a, *b;
		size_t klen, an, bn;

		if (r.bad) {
			snprintf(err, sizeof err, "unexpected end of file");
			goto fail;
		}
		if (t == OP_EOF) {
			if (ver >= 5 && r.end - r.p >= 8) {
				uint64_t want = le(r.p, 8);

				if (want && crc64_jones(0, buf, (size_t)((const char *)r.p - buf)) != want) {
					snprintf(err, sizeof err, "checksum mismatch");
					goto fail;
				}
			}
			break;
		}
		switch (t) {
		case OP_AUX:
			a = rread_str(&r, &an);
			b = a ? rread_str(&r, &bn) : NULL;
			if (a && b)
				srv_log(LL_VERBOSE, "import: aux %s=%s", a, b);
			free(a);
			free(b);
			continue;
		case OP_SELECTDB: {
			uint64_t dbi = rread_len(&r, &special);

			if (dbi >= kv_ndb(&srv.db)) {
				snprintf(err, sizeof err, "the file has keys in database %llu; cowkv "
					 "has %u databases (--databases)", (unsigned long long)dbi,
					 kv_ndb(&srv.db));
				goto fail;
			}
			srv.db.cur = (unsigned)dbi;
			continue;
		}
		case OP_RESIZEDB:
			rread_len(&r, &special);
			rread_len(&r, &special);
			continue;
		case OP_EXPIRE:
			if (r.end - r.p < 4)
				goto trunc;
			expire = (int64_t)le(r.p, 4) * 1000;
			r.p += 4;
			continue;
		case OP_EXPIRE_MS:
			if (r.end - r.p < 8)
				goto trunc;
			expire = (int64_t)le(r.p, 8);
			r.p += 8;
			continue;
		case OP_IDLE:
			rread_len(&r, &special);
			continue;
		case OP_FREQ:
			rread_byte(&r);
			continue;
		case OP_FUNCTION2:
			a = rread_str(&r, &an);
			if (!a || func_import(a, an, err, sizeof err)) {
				free(a);
				if (!err[0])
					snprintf(err, sizeof err, "bad function library");
				goto fail;
			}
			free(a);
			continue;
		case OP_FUNCTION: case OP_MODULE_AUX:
			snprintf(err, sizeof err, "opcode %u (%s) is not supported", t,
				 t == OP_FUNCTION ? "pre-release function format" : "module data");
			goto fail;
		default:
			break;
		}
		key = rread_str(&r, &klen);
		if (!key)
			goto trunc;
		kv_delete(&srv.db, key, klen);
		if (read_value(&r, t, key, klen, err, sizeof err)) {
			free(key);
			goto fail;
		}
		if (expire) {
			struct kv_ent *e = kv_find(&srv.db, key, klen);

			if (expire <= srv.db.now_ms) {
				if (e)
					kv_delete_ent(&srv.db, e);
				skipped++;
			} else if (e && kv_set_expire(&srv.db, e, expire)) {
				snprintf(err, sizeof err, "out of memory");
				free(key);
				goto fail;
			}
		}
		expire = 0;
		loaded++;
		free(key);
	}
	srv_log(LL_NOTICE, "import: %llu keys from %s (RDB version %u; %llu already expired, "
		"dropped)", (unsigned long long)loaded, path, ver, (unsigned long long)skipped);
	srv_changed(loaded);
	if (nkeys)
		*nkeys = loaded;
	rc = 0;
	goto out;
trunc:
	snprintf(err, sizeof err, "unexpected end of file");
fail:
	srv_log(LL_WARNING, "import of %s failed after %llu keys: %s", path,
		(unsigned long long)loaded, err);
	rc = -EBADMSG;
out:
	srv.db.cur = 0;
	munmap(buf, n);
	return rc;
}

/* One key into the rbuf arg: its expiry, type, name and value (nothing if
 * it expired at db->now_ms). */
static void export_key(struct kvdb *db, struct kv_ent *e, void *arg)
{
	struct rbuf *b = arg;

	if (kv_expired(db, e))
		return;
	if (e->expire) {
		unsigned char t[8];

		for (int i = 0; i < 8; i++)
			t[i] = (unsigned char)((uint64_t)e->expire >> (8 * i));
		rbuf_byte(b, OP_EXPIRE_MS);
		rbuf_put(b, t, 8);
	}
	{
		/* the type byte comes before the key: build the value apart */
		struct rbuf v = { 0 };

		put_value(&v, db, e);
		if (v.oom || !v.len) {
			b->oom = 1;
			free(v.p);
			return;
		}
		rbuf_byte(b, v.p[0]);
		put_string(b, e->key, e->klen);
		rbuf_put(b, v.p + 1, v.len - 1);
		free(v.p);
	}
}

static void aux(struct rbuf *b, const char *k, const char *v)
{
	rbuf_byte(b, OP_AUX);
	rbuf_str(b, k, strlen(k));
	rbuf_str(b, v, strlen(v));
}

void rdb_head(struct rbuf *b, bool functions)
{
	char num[32];

	rbuf_put(b, "REDIS0010", 9);
	aux(b, "redis-ver", COWKV_REDIS_COMPAT);
	aux(b, "redis-bits", "64");
	snprintf(num, sizeof num, "%lld", (long long)(srv_unix_ms() / 1000));
	aux(b, "ctime", num);
	snprintf(num, sizeof num, "%llu", (unsigned long long)kvdb_used(&srv.db));
	aux(b, "used-mem", num);
	aux(b, "aof-base", "0");
	if (functions)
		func_export(b);
}

void rdb_keys(struct rbuf *b, struct kvdb *db)
{
	for (unsigned i = 0; i < kv_ndb(db); i++) {
		struct kv_keyspace *k = kv_ks_at(db, i);

		if (!k->keys.count)
			continue;
		rbuf_byte(b, OP_SELECTDB);
		rbuf_len(b, i);
		rbuf_byte(b, OP_RESIZEDB);
		rbuf_len(b, k->keys.count);
		rbuf_len(b, k->ttl.count);
		dict_each(db, &k->keys, export_key, b);
	}
}

void rdb_tail(struct rbuf *b, size_t from)
{
	unsigned char crc[8];
	uint64_t c;

	rbuf_byte(b, OP_EOF);
	if (b->oom)
		return;
	c = crc64_jones(0, b->p + from, b->len - from);
	for (int i = 0; i < 8; i++)
		crc[i] = (unsigned char)(c >> (8 * i));
	rbuf_put(b, crc, 8);
}

int rdb_export(const char *path)
{
	struct rbuf b = { 0 };
	int err;

	srv.db.now_ms = srv_unix_ms();
	rdb_head(&b, true);
	rdb_keys(&b, &srv.db);
	rdb_tail(&b, 0);
	if (b.oom) {
		free(b.p);
		return -ENOMEM;
	}
	err = file_write_atomic(path, (const char *)b.p, b.len);
	if (!err)
		srv_log(LL_NOTICE, "export: %llu keys written to %s (%zu bytes)",
			(unsigned long long)kv_count_all(&srv.db), path, b.len);
	else
		srv_log(LL_WARNING, "export to %s failed: %s", path, strerror(-err));
	free(b.p);
	return err;
}
