/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cmd_bits.c — bit commands on strings: SETBIT, GETBIT, BITCOUNT, BITPOS,
 * BITOP, BITFIELD and BITFIELD_RO. Bit 0 is the most significant bit of
 * byte 0, as in Redis. Strings grow zero-filled (ent_resize_bytes).
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "types.h"

/* A bit offset argument: 0 <= off < proto-max-bulk-len * 8. hash: a
 * leading '#' multiplies by width (BITFIELD). */
static bool bit_offset(struct client *c, int i, uint64_t *off, bool hash, int width)
{
	const char *p = c->argv[i].p;
	size_t n = c->argv[i].len;
	bool mul = false;
	long long v;

	if (hash && n && p[0] == '#') {
		mul = true;
		p++;
		n--;
	}
	if (!resp_str2ll(p, n, &v) || v < 0 ||
	    (mul && v > LLONG_MAX / width) ||
	    (unsigned long long)(mul ? v * width : v) >= srv.proto_max_bulk_len * 8ull) {
		reply_error(c, "ERR bit offset is not an integer or out of range");
		return false;
	}
	*off = (uint64_t)(mul ? v * width : v);
	return true;
}

/* The string at argv[1] for a write, created empty when missing; NULL
 * after replying. */
static struct kv_ent *string_for_write(struct client *c)
{
	struct kv_ent *e = lookup_write(c, 1);

	if (!check_type(c, e, KV_STRING))
		return NULL;
	if (!e && !(e = set_string(c, 1, "", 0, false)))
		return NULL;
	return e;
}

/* Grow e to hold bytes (zero-filled); *grown (if not NULL) tells whether
 * it grew. False after replying OOM. */
static bool ensure_bytes(struct client *c, struct kv_ent *e, uint64_t bytes, bool *grown)
{
	if (grown)
		*grown = bytes > e->vlen;
	if (bytes <= e->vlen)
		return true;
	if (ent_resize_bytes(&srv.db, e, bytes)) {
		if (e->vlen == 0)
			kv_delete_ent(&srv.db, e);
		reply_oom(c);
		return false;
	}
	return true;
}

void cmd_setbit(struct client *c)
{
	uint64_t off;
	long long bit;
	struct kv_ent *e;
	unsigned char *b;
	bool grown;
	int old;

	if (!bit_offset(c, 2, &off, false, 1))
		return;
	if (!resp_str2ll(c->argv[3].p, c->argv[3].len, &bit) || (bit != 0 && bit != 1)) {
		reply_error(c, "ERR bit is not an integer or out of range");
		return;
	}
	if (!(e = string_for_write(c)) || !ensure_bytes(c, e, off / 8 + 1, &grown))
		return;
	e->enc |= ENC_RAW;
	b = (unsigned char *)ent_bytes(&srv.db, e) + off / 8;
	old = (*b >> (7 - off % 8)) & 1;
	if (old != bit)
		*b ^= (unsigned char)(1u << (7 - off % 8));
	/* A change only when the bit or the length changed (as Redis counts). */
	if (old != bit || grown)
		srv_changed(1);
	reply_int(c, old);
}

void cmd_getbit(struct client *c)
{
	uint64_t off;
	struct kv_ent *e;

	if (!bit_offset(c, 2, &off, false, 1))
		return;
	e = lookup_read(c, 1);
	if (!check_type(c, e, KV_STRING))
		return;
	if (!e || off / 8 >= e->vlen) {
		reply_int(c, 0);
		return;
	}
	reply_int(c, (((unsigned char *)ent_bytes(&srv.db, e))[off / 8] >> (7 - off % 8)) & 1);
}

static int popcount8(unsigned char b)
{
	return __builtin_popcount(b);
}

/* Normalize [start, end] over len units (negative from the end); false if
 * the range is empty. */
static bool norm_range(long long *start, long long *end, long long len)
{
	if (*start < 0)
		*start += len;
	if (*end < 0)
		*end += len;
	if (*start < 0)
		*start = 0;
	if (*end < 0)
		*end = 0;
	if (*end >= len)
		*end = len - 1;
	return *start <= *end && len > 0;
}

static int bit_at(const unsigned char *p, uint64_t i)
{
	return (p[i / 8] >> (7 - i % 8)) & 1;
}

void cmd_bitcount(struct client *c)
{
	long long start = 0, end = -1, n = 0;
	bool isbit = false;
	struct kv_ent *e;
	const unsigned char *p;
	long long len;

	e = lookup_read(c, 1);
	if (!e) {
		reply_int(c, 0);
		return;
	}
	if (!check_type(c, e, KV_STRING))
		return;
	if (c->argc == 3 || c->argc > 5) {
		reply_syntax(c);
		return;
	}
	if (c->argc >= 4 && (!arg_ll(c, 2, &start) || !arg_ll(c, 3, &end)))
		return;
	if (c->argc == 5) {
		if (arg_is(c, 4, "bit"))
			isbit = true;
		else if (!arg_is(c, 4, "byte")) {
			reply_syntax(c);
			return;
		}
	}
	p = (const unsigned char *)ent_bytes(&srv.db, e);
	len = (long long)e->vlen * (isbit ? 8 : 1);
	/* Both ends from the end and crossed: empty before clamping (Redis). */
	if ((start < 0 && end < 0 && start > end) || !norm_range(&start, &end, len)) {
		reply_int(c, 0);
		return;
	}
	if (isbit) {
		for (long long i = start; i <= end; i++)
			n += bit_at(p, (uint64_t)i);
	} else {
		for (long long i = start; i <= end; i++)
			n += popcount8(p[i]);
	}
	reply_int(c, n);
}

void cmd_bitpos(struct client *c)
{
	long long bit, start = 0, end = -1, len;
	bool isbit = false, end_given = c->argc >= 5;
	struct kv_ent *e;
	const unsigned char *p;

	if (c->argc > 6) {
		reply_syntax(c);
		return;
	}
	if (!resp_str2ll(c->argv[2].p, c->argv[2].len, &bit)) {
		reply_not_int(c);
		return;
	}
	if (bit != 0 && bit != 1) {
		reply_error(c, "ERR The bit argument must be 1 or 0.");
		return;
	}
	e = lookup_read(c, 1);
	if (!e) {
		reply_int(c, bit ? -1 : 0);
		return;
	}
	if (!check_type(c, e, KV_STRING))
		return;
	if (c->argc >= 4 && !arg_ll(c, 3, &start))
		return;
	if (c->argc >= 5 && !arg_ll(c, 4, &end))
		return;
	if (c->argc == 6) {
		if (arg_is(c, 5, "bit"))
			isbit = true;
		else if (!arg_is(c, 5, "byte")) {
			reply_syntax(c);
			return;
		}
	}
	p = (const unsigned char *)ent_bytes(&srv.db, e);
	len = (long long)e->vlen * (isbit ? 8 : 1);
	if (!norm_range(&start, &end, len)) {
		reply_int(c, -1);
		return;
	}
	{
		long long first = isbit ? start : start * 8, last = isbit ? end : end * 8 + 7;

		for (long long i = first; i <= last; i++)
			if (bit_at(p, (uint64_t)i) == bit) {
				reply_int(c, i);
				return;
			}
		/* Looking for a 0 past an all-ones range with no end given: the
		 * string is taken as padded with zeros on the right. */
		reply_int(c, bit == 0 && !end_given ? last + 1 : -1);
	}
}

void cmd_bitop(struct client *c)
{
	enum { OP_AND, OP_OR, OP_XOR, OP_NOT } op;
	int nsrc = c->argc - 3;
	size_t maxlen = 0;
	unsigned char *res;
	struct kv_ent *dst;

	if (arg_is(c, 1, "and"))
		op = OP_AND;
	else if (arg_is(c, 1, "or"))
		op = OP_OR;
	else if (arg_is(c, 1, "xor"))
		op = OP_XOR;
	else if (arg_is(c, 1, "not"))
		op = OP_NOT;
	else {
		reply_syntax(c);
		return;
	}
	if (op == OP_NOT && nsrc != 1) {
		reply_error(c, "ERR BITOP NOT must be called with a single source key.");
		return;
	}
	for (int j = 0; j < nsrc; j++) {
		struct kv_ent *e = lookup_read(c, 3 + j);

		if (!check_type(c, e, KV_STRING))
			return;
		if (e && e->vlen > maxlen)
			maxlen = e->vlen;
	}
	if (!(res = calloc(maxlen ? maxlen : 1, 1))) {
		reply_oom(c);
		return;
	}
	for (int j = 0; j < nsrc; j++) {
		struct kv_ent *e = kv_find(&srv.db, c->argv[3 + j].p, c->argv[3 + j].len);
		const unsigned char *p = e ? (const unsigned char *)ent_bytes(&srv.db, e) : NULL;
		size_t n = e ? e->vlen : 0;

		for (size_t i = 0; i < maxlen; i++) {
			unsigned char b = i < n ? p[i] : 0;

			if (op == OP_NOT)
				res[i] = (unsigned char)~b;
			else if (j == 0)
				res[i] = b;
			else if (op == OP_AND)
				res[i] &= b;
			else if (op == OP_OR)
				res[i] |= b;
			else
				res[i] ^= b;
		}
	}
	if (maxlen == 0) {
		if ((dst = lookup_write(c, 2)))
			kv_delete_ent(&srv.db, dst);
	} else if (!(dst = set_string(c, 2, (char *)res, maxlen, false))) {
		free(res);
		return;
	} else {
		dst->enc |= ENC_RAW;
	}
	free(res);
	srv_changed(1);
	reply_int(c, (long long)maxlen);
}

/* ---- BITFIELD ------------------------------------------------------------- */

enum bf_op { BF_GET, BF_SET, BF_INCRBY };
enum bf_ovf { OVF_WRAP, OVF_SAT, OVF_FAIL };

struct bf_step {
	enum bf_op op;
	enum bf_ovf ovf;
	bool sign;
	int bits;
	uint64_t off;
	long long arg;
};

/* "i8", "u16"...: false after replying. */
static bool bf_type(struct client *c, int i, bool *sign, int *bits)
{
	const char *p = c->argv[i].p;
	long long v;

	if ((p[0] == 'i' || p[0] == 'I' || p[0] == 'u' || p[0] == 'U') &&
	    resp_str2ll(p + 1, c->argv[i].len - 1, &v)) {
		*sign = p[0] == 'i' || p[0] == 'I';
		if (v >= 1 && ((*sign && v <= 64) || (!*sign && v <= 63))) {
			*bits = (int)v;
			return true;
		}
	}
	reply_error(c, "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.");
	return false;
}

static uint64_t bf_read(const unsigned char *p, size_t len, uint64_t off, int bits)
{
	uint64_t v = 0;

	for (int k = 0; k < bits; k++) {
		uint64_t i = off + (uint64_t)k;
		int b = i / 8 < len ? bit_at(p, i) : 0;

		v = (v << 1) | (uint64_t)b;
	}
	return v;
}

static void bf_write(unsigned char *p, uint64_t off, int bits, uint64_t v)
{
	for (int k = 0; k < bits; k++) {
		uint64_t i = off + (uint64_t)k;
		int b = (int)((v >> (bits - 1 - k)) & 1);

		if (b)
			p[i / 8] |= (unsigned char)(1u << (7 - i % 8));
		else
			p[i / 8] &= (unsigned char)~(1u << (7 - i % 8));
	}
}

static int64_t to_signed(uint64_t v, int bits)
{
	if (bits == 64)
		return (int64_t)v;
	if (v & (1ull << (bits - 1)))
		return (int64_t)(v | ~((1ull << bits) - 1));
	return (int64_t)v;
}

/* value + incr in the field's range with the overflow policy; false when
 * FAIL refuses. */
static bool bf_add(const struct bf_step *s, uint64_t cur, long long incr, bool set,
		   uint64_t *out)
{
	if (s->sign) {
		__int128 lo = -((__int128)1 << (s->bits - 1)), hi = ((__int128)1 << (s->bits - 1)) - 1;
		__int128 v = set ? (__int128)incr : (__int128)to_signed(cur, s->bits) + incr;

		if (v < lo || v > hi) {
			if (s->ovf == OVF_FAIL)
				return false;
			if (s->ovf == OVF_SAT)
				v = v < lo ? lo : hi;
		}
		*out = (uint64_t)v & (s->bits == 64 ? ~0ull : (1ull << s->bits) - 1);
	} else {
		__int128 hi = ((__int128)1 << s->bits) - 1;
		__int128 v = set ? (__int128)incr : (__int128)cur + incr;

		if (v < 0 || v > hi) {
			if (s->ovf == OVF_FAIL)
				return false;
			if (s->ovf == OVF_SAT)
				v = v < 0 ? 0 : hi;
		}
		*out = (uint64_t)v & ((1ull << s->bits) - 1);
	}
	return true;
}

static void bitfield_generic(struct client *c, bool ro)
{
	struct bf_step *steps = calloc((size_t)c->argc, sizeof *steps);
	enum bf_ovf ovf = OVF_WRAP;
	int n = 0;
	bool writes = false, grown = false;
	uint64_t changes = 0;
	struct kv_ent *e;
	uint64_t need = 0;

	if (!steps) {
		reply_oom(c);
		return;
	}
	for (int i = 2; i < c->argc; i++) {
		struct bf_step *s = &steps[n];
		int left = c->argc - i - 1;

		if (arg_is(c, i, "overflow") && left >= 1) {
			if (arg_is(c, i + 1, "wrap"))
				ovf = OVF_WRAP;
			else if (arg_is(c, i + 1, "sat"))
				ovf = OVF_SAT;
			else if (arg_is(c, i + 1, "fail"))
				ovf = OVF_FAIL;
			else {
				reply_error(c, "ERR Invalid OVERFLOW type specified");
				goto out;
			}
			i++;
			continue;
		}
		if (arg_is(c, i, "get") && left >= 2)
			s->op = BF_GET;
		else if (arg_is(c, i, "set") && left >= 3)
			s->op = BF_SET;
		else if (arg_is(c, i, "incrby") && left >= 3)
			s->op = BF_INCRBY;
		else {
			reply_syntax(c);
			goto out;
		}
		if (!bf_type(c, i + 1, &s->sign, &s->bits) ||
		    !bit_offset(c, i + 2, &s->off, true, s->bits))
			goto out;
		if (s->op != BF_GET && !arg_ll(c, i + 3, &s->arg))
			goto out;
		if (s->op != BF_GET) {
			if (ro) {
				reply_error(c, "ERR BITFIELD_RO only supports the GET subcommand");
				goto out;
			}
			writes = true;
		}
		s->ovf = ovf;
		if (s->off + (uint64_t)s->bits > need && s->op != BF_GET)
			need = s->off + (uint64_t)s->bits;
		i += s->op == BF_GET ? 2 : 3;
		n++;
	}
	e = lookup_write(c, 1);
	if (!check_type(c, e, KV_STRING))
		goto out;
	if (writes) {
		if (!e && !(e = set_string(c, 1, "", 0, false)))
			goto out;
		if (!ensure_bytes(c, e, (need + 7) / 8, &grown))
			goto out;
		e->enc |= ENC_RAW;
	}
	reply_array(c, n);
	for (int k = 0; k < n; k++) {
		struct bf_step *s = &steps[k];
		unsigned char *p = e ? (unsigned char *)ent_bytes(&srv.db, e) : NULL;
		uint64_t cur = e ? bf_read(p, e->vlen, s->off, s->bits) : 0, nv;

		if (s->op == BF_GET) {
			reply_int(c, s->sign ? (long long)to_signed(cur, s->bits) : (long long)cur);
		} else if (!bf_add(s, cur, s->arg, s->op == BF_SET, &nv)) {
			reply_nil(c);
		} else {
			bf_write(p, s->off, s->bits, nv);
			/* Redis counts every INCRBY, and a SET that changed bits. */
			changes += s->op == BF_INCRBY || nv != cur;
			if (s->op == BF_SET)
				reply_int(c, s->sign ? (long long)to_signed(cur, s->bits) : (long long)cur);
			else
				reply_int(c, s->sign ? (long long)to_signed(nv, s->bits) : (long long)nv);
		}
	}
	/* A string created or grown counts once even when no bits changed. */
	srv_changed(changes ? changes : grown);
out:
	free(steps);
}

void cmd_bitfield(struct client *c) { bitfield_generic(c, false); }
void cmd_bitfield_ro(struct client *c) { bitfield_generic(c, true); }
