/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * t_hll.c — HyperLogLog: PFADD, PFCOUNT, PFMERGE, PFDEBUG, PFSELFTEST, in
 * Redis 7.0's representation, so an HLL value is the same string of bytes
 * in cowkv and in redis-server (GET, SET, DUMP, RESTORE move it between
 * them) and gives the same estimates.
 *
 * An HLL is a string value (KV_STRING). Its layout, as Redis 7.0 writes it:
 *
 *   0  "HYLL"
 *   4  encoding: 0 dense, 1 sparse
 *   5  three zero bytes
 *   8  the cached cardinality, 8 bytes little-endian; the top bit of byte
 *      15 set means "not valid, compute again"
 *   16 the 2^14 registers (6 bits each, 0..63):
 *      dense:  12288 bytes; register i is bits 6i .. 6i+5 of the array,
 *              counted from the least significant bit of byte 0 upwards
 *              (so a register may straddle two bytes);
 *      sparse: opcodes covering the registers in order:
 *              00xxxxxx          ZERO:  xxxxxx+1 registers (1..64) at 0
 *              01xxxxxx yyyyyyyy XZERO: x:y+1 registers (1..16384) at 0
 *              1vvvvvxx          VAL:   xx+1 registers (1..4) at vvvvv+1
 *
 * An element goes to the register of the low 14 bits of its hash
 * (MurmurHash64A, seed 0xadc83b19), which keeps the longest run "0...01"
 * seen in the other 50 bits, counted with its 1 (1..51). A sparse value
 * becomes dense when a register needs more than 32, or when an edit would
 * make it longer than hll-sparse-max-bytes; never the other way.
 *
 * The estimate is Ertl's improved raw estimator ("New cardinality
 * estimation algorithms for HyperLogLog sketches", arXiv:1702.01284), from
 * the histogram of register values, computed as Redis computes it, so the
 * doubles round the same and the answers are equal.
 *
 * Corrupt values (any bytes can be SET or SETRANGEd into a key) are read
 * within their length only: a sparse string whose opcodes do not cover
 * exactly 2^14 registers is "INVALIDOBJ Corrupted HLL object detected",
 * as in Redis; the odd cases are answered as Redis answers them (an XZERO
 * cut by the end of the string reads its missing byte as the NUL that
 * ends a Redis string).
 *
 * Edits are made on a malloc'd working copy (struct hll_buf) and written
 * back to the entry once, at the end of the command.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hll.h"

/* hll-sparse-max-bytes (config.c). */
extern long enc_hll_sparse;

#define HLL_P 14                        /* register index bits */
#define HLL_Q (64 - HLL_P)              /* bits left for the run of zeros */
#define HLL_REGS (1 << HLL_P)
#define HLL_BITS 6
#define HLL_REG_MAX ((1 << HLL_BITS) - 1)
#define HLL_HDR 16
#define HLL_DENSE_BYTES (HLL_REGS * HLL_BITS / 8)
#define HLL_DENSE_SIZE (HLL_HDR + HLL_DENSE_BYTES)
#define HLL_DENSE 0
#define HLL_SPARSE 1
#define HLL_SEED 0xadc83b19u

#define SP_VAL_MAX 32                   /* largest value a VAL opcode holds */
#define SP_VAL_RUN_MAX 4
#define SP_ZERO_RUN_MAX 64
#define SP_XZERO_RUN_MAX 16384

/* Slack kept zeroed past a working copy's bytes: an edit grows a sparse
 * value by at most 3 bytes, and reads of an XZERO cut at the end see 0. */
#define HLL_SLACK 8

#define HLL_CORRUPT (-1)
#define HLL_NOMEM (-2)

/* Redis's error texts. */
static const char err_invalid[] = "INVALIDOBJ Corrupted HLL object detected";
static const char err_not_hll[] = "WRONGTYPE Key is not a valid HyperLogLog string value.";

/* ---- the hash -------------------------------------------------------------- */

/* 8 bytes at p as a little-endian number. */
static uint64_t load_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* See hll.h. The length enters the seed as Redis's int does. */
uint64_t hll_murmur64a(const void *p, size_t n, uint64_t seed)
{
	const uint64_t m = 0xc6a4a7935bd1e995ull;
	const uint8_t *b = p;
	size_t blocks = n / 8, tail = n & 7;
	uint64_t h = seed ^ ((uint64_t)(int)n * m);

	for (size_t i = 0; i < blocks; i++) {
		uint64_t k = load_le64(b + 8 * i);

		k *= m;
		k ^= k >> 47;
		k *= m;
		h ^= k;
		h *= m;
	}
	b += 8 * blocks;
	if (tail) {
		for (size_t i = tail; i-- > 0;)
			h ^= (uint64_t)b[i] << (8 * i);
		h *= m;
	}
	h ^= h >> 47;
	h *= m;
	h ^= h >> 47;
	return h;
}

/* The register element p/n goes to (*reg) and the length of the run
 * "0...01" in the rest of its hash, its 1 counted (1 .. HLL_Q + 1). */
static unsigned hll_pattern(const void *p, size_t n, long *reg)
{
	uint64_t h = hll_murmur64a(p, n, HLL_SEED);
	unsigned count = 1;

	*reg = (long)(h & (HLL_REGS - 1));
	h >>= HLL_P;
	h |= 1ull << HLL_Q;	/* the run ends by bit HLL_Q at the latest */
	while (!(h & 1)) {
		count++;
		h >>= 1;
	}
	return count;
}

/* ---- dense registers ------------------------------------------------------ */

/* Register i of a dense array (HLL_DENSE_BYTES bytes). */
static unsigned dense_get(const uint8_t *regs, long i)
{
	size_t byte = (size_t)i * HLL_BITS / 8;
	unsigned shift = (unsigned)((size_t)i * HLL_BITS & 7);
	unsigned v = regs[byte] >> shift;

	if (shift > 8 - HLL_BITS)	/* it straddles into the next byte */
		v |= (unsigned)regs[byte + 1] << (8 - shift);
	return v & HLL_REG_MAX;
}

/* Make register i of a dense array v (<= HLL_REG_MAX). */
static void dense_put(uint8_t *regs, long i, unsigned v)
{
	size_t byte = (size_t)i * HLL_BITS / 8;
	unsigned shift = (unsigned)((size_t)i * HLL_BITS & 7);

	regs[byte] = (uint8_t)((regs[byte] & ~(HLL_REG_MAX << shift)) | v << shift);
	if (shift > 8 - HLL_BITS) {
		unsigned hi = 8 - shift;

		regs[byte + 1] = (uint8_t)((regs[byte + 1] & ~(HLL_REG_MAX >> hi)) | v >> hi);
	}
}

/* Raise register i to count if it is lower: 1 if it changed, else 0. */
static int dense_raise(uint8_t *regs, long i, unsigned count)
{
	if (dense_get(regs, i) >= count)
		return 0;
	dense_put(regs, i, count);
	return 1;
}

/* ---- sparse opcodes --------------------------------------------------------- */

enum sp_kind { SP_ZERO, SP_XZERO, SP_VAL };

struct sp_op {
	enum sp_kind kind;
	long run;               /* registers covered */
	unsigned val;           /* their value (0 for ZERO and XZERO) */
	int size;               /* bytes: 2 for XZERO, else 1 */
};

/* Decode the opcode at p. lim: the first byte that may not be read; the
 * second byte of an XZERO at or past it reads as 0 (Redis reads its
 * string's terminating NUL there). */
static void sp_decode(const uint8_t *p, const uint8_t *lim, struct sp_op *op)
{
	unsigned b = *p;

	if ((b & 0xc0) == 0) {
		*op = (struct sp_op){ SP_ZERO, (long)(b & 0x3f) + 1, 0, 1 };
	} else if ((b & 0xc0) == 0x40) {
		unsigned lo = p + 1 < lim ? p[1] : 0;

		*op = (struct sp_op){ SP_XZERO, (long)((b & 0x3f) << 8 | lo) + 1, 0, 2 };
	} else {
		*op = (struct sp_op){ SP_VAL, (long)(b & 3) + 1, ((b >> 2) & 0x1f) + 1, 1 };
	}
}

/* Is opcode byte b a VAL? */
static bool sp_is_val(uint8_t b)
{
	return b & 0x80;
}

/* A VAL opcode: run (1..4) registers at val (1..32). */
static uint8_t sp_val_byte(unsigned val, long run)
{
	return (uint8_t)(0x80 | (val - 1) << 2 | (unsigned)(run - 1));
}

/* Write the shortest zero opcode for run registers at out (1 or 2 bytes);
 * returns the bytes written. */
static int sp_put_zeros(uint8_t *out, long run)
{
	if (run > SP_ZERO_RUN_MAX) {
		out[0] = (uint8_t)(0x40 | (run - 1) >> 8);
		out[1] = (uint8_t)((run - 1) & 0xff);
		return 2;
	}
	out[0] = (uint8_t)(run - 1);
	return 1;
}

/*
 * Walk the sparse registers p[0, n) (the bytes after the header; lim as
 * for sp_decode): add each register's value to hist[64] (when not NULL) or
 * raise max[] to it (when not NULL). Returns whether the opcodes cover
 * exactly HLL_REGS registers; the max walk stops at the first VAL run that
 * would pass the last register (Redis 7.0.15 as Debian 12 ships it, with
 * the fix of CVE-2025-32023: such a value is corrupt).
 */
static bool sp_walk(const uint8_t *p, size_t n, const uint8_t *lim, int64_t *hist,
		    uint8_t *max)
{
	const uint8_t *end = p + n;
	long idx = 0;

	while (p < end) {
		struct sp_op op;

		sp_decode(p, lim, &op);
		p += op.size;
		if (max && op.kind == SP_VAL) {
			if (idx + op.run > HLL_REGS)
				return false;
			for (long k = 0; k < op.run; k++)
				if (op.val > max[idx + k])
					max[idx + k] = (uint8_t)op.val;
		}
		if (hist)
			hist[op.val] += op.run;
		idx += op.run;
	}
	return idx == HLL_REGS;
}

/* ---- the working copy -------------------------------------------------------- */

struct hll_buf {
	uint8_t *p;
	size_t len;             /* the value's bytes */
	size_t cap;             /* bytes at p: len + HLL_SLACK at least */
};

/* A working copy of n zero bytes, with zeroed slack. 0 or HLL_NOMEM. */
static int buf_zeroed(struct hll_buf *b, size_t n)
{
	b->cap = n + HLL_SLACK;
	b->p = calloc(1, b->cap);
	b->len = n;
	return b->p ? 0 : HLL_NOMEM;
}

/* A working copy of the n bytes at src. 0 or HLL_NOMEM. */
static int buf_load(struct hll_buf *b, const void *src, size_t n)
{
	int rc = buf_zeroed(b, n);

	if (!rc && n)
		memcpy(b->p, src, n);
	return rc;
}

/* An empty HLL as Redis creates it: sparse, all registers in XZERO runs,
 * cached cardinality 0 (valid). 0 or HLL_NOMEM. */
static int buf_new_sparse(struct hll_buf *b)
{
	size_t n = HLL_HDR;
	int rc = buf_zeroed(b, HLL_HDR + 2 * (HLL_REGS / SP_XZERO_RUN_MAX + 1));

	if (rc)
		return rc;
	memcpy(b->p, "HYLL", 4);
	b->p[4] = HLL_SPARSE;
	for (long left = HLL_REGS; left > 0; left -= SP_XZERO_RUN_MAX)
		n += (size_t)sp_put_zeros(b->p + n, left < SP_XZERO_RUN_MAX ? left : SP_XZERO_RUN_MAX);
	b->len = n;
	return 0;
}

/* Make room for extra more bytes past len, zeroed. 0 or HLL_NOMEM. */
static int buf_reserve(struct hll_buf *b, size_t extra)
{
	size_t want = b->len + extra + HLL_SLACK;
	uint8_t *p;

	if (want <= b->cap)
		return 0;
	p = realloc(b->p, want);
	if (!p)
		return HLL_NOMEM;
	memset(p + b->cap, 0, want - b->cap);
	b->p = p;
	b->cap = want;
	return 0;
}

/* Change the length by delta, ending the bytes with a 0 as Redis's string
 * does (room reserved by the caller). */
static void buf_add_len(struct hll_buf *b, long delta)
{
	b->len = (size_t)((long)b->len + delta);
	b->p[b->len] = 0;
}

/* Free a working copy (not written back). */
static void buf_free(struct hll_buf *b)
{
	free(b->p);
	b->p = NULL;
}

/* Mark the cached cardinality of HLL bytes hll stale. */
static void hdr_invalidate(uint8_t *hll)
{
	hll[15] |= 0x80;
}

/* Make a sparse working copy dense (a dense one stays). 0, HLL_CORRUPT
 * (the copy unchanged) or HLL_NOMEM. */
static int buf_to_dense(struct hll_buf *b)
{
	struct hll_buf d;
	uint8_t max[HLL_REGS] = { 0 };
	int rc;

	if (b->p[4] == HLL_DENSE)
		return 0;
	/* An XZERO cut at the end reads the byte after it, as Redis does. */
	if (!sp_walk(b->p + HLL_HDR, b->len - HLL_HDR, b->p + b->cap, NULL, max))
		return HLL_CORRUPT;
	rc = buf_zeroed(&d, HLL_DENSE_SIZE);
	if (rc)
		return rc;
	memcpy(d.p, b->p, HLL_HDR);	/* magic and cached cardinality */
	d.p[4] = HLL_DENSE;
	for (long i = 0; i < HLL_REGS; i++)
		if (max[i])
			dense_put(d.p + HLL_HDR, i, max[i]);
	buf_free(b);
	*b = d;
	return 0;
}

/* ---- editing the sparse registers ------------------------------------------ */

/* Where register index lies in a sparse value: its opcode, the opcode
 * before it and the first register the opcode covers. */
struct sp_where {
	uint8_t *op;            /* the opcode covering the register */
	uint8_t *prev;          /* the opcode before it, NULL if first */
	uint8_t *next;          /* the opcode after it, NULL if last */
	long first;
	struct sp_op cur;
};

/* Find register index's opcode in working copy b. false: the opcodes end
 * before it (a corrupt value). */
static bool sp_find(struct hll_buf *b, long index, struct sp_where *w)
{
	uint8_t *p = b->p + HLL_HDR, *end = b->p + b->len;
	long first = 0;

	w->prev = NULL;
	w->cur.run = 0;
	while (p < end) {
		sp_decode(p, b->p + b->cap, &w->cur);
		if (index <= first + w->cur.run - 1)
			break;
		w->prev = p;
		p += w->cur.size;
		first += w->cur.run;
	}
	if (w->cur.run == 0 || p >= end)
		return false;
	w->op = p;
	w->first = first;
	w->next = p + w->cur.size < end ? p + w->cur.size : NULL;
	return true;
}

/* The opcodes replacing w's opcode once register index is count: up to
 * three (runs before it, it, runs after it), into seq[5]; their bytes. */
static int sp_split(const struct sp_where *w, long index, unsigned count, uint8_t *seq)
{
	long last = w->first + w->cur.run - 1;
	int n = 0;

	if (w->cur.kind == SP_VAL) {
		if (index != w->first)
			seq[n++] = sp_val_byte(w->cur.val, index - w->first);
		seq[n++] = sp_val_byte(count, 1);
		if (index != last)
			seq[n++] = sp_val_byte(w->cur.val, last - index);
		return n;
	}
	if (index != w->first)
		n += sp_put_zeros(seq + n, index - w->first);
	seq[n++] = sp_val_byte(count, 1);
	if (index != last)
		n += sp_put_zeros(seq + n, last - index);
	return n;
}

/* Put seq[0, n) in place of w's opcode, moving what follows. false (and
 * nothing changed) when that would make b longer than
 * hll-sparse-max-bytes. */
static bool sp_splice(struct hll_buf *b, const struct sp_where *w, const uint8_t *seq, int n)
{
	uint8_t *end = b->p + b->len;
	long delta = n - w->cur.size;

	if (delta > 0 && (long long)b->len + delta > (long long)enc_hll_sparse)
		return false;
	if (delta && w->next)
		memmove(w->next + delta, w->next, (size_t)(end - w->next));
	buf_add_len(b, delta);
	memcpy(w->op, seq, (size_t)n);
	return true;
}

/* Join neighbouring VAL opcodes of one value whose runs fit in one, over
 * at most five opcodes from p on (Redis's bounded clean-up after an
 * edit, so the bytes come out the same). */
static void sp_join_vals(struct hll_buf *b, uint8_t *p)
{
	uint8_t *end = b->p + b->len;

	for (int left = 5; p < end && left-- > 0;) {
		struct sp_op a, c;

		sp_decode(p, b->p + b->cap, &a);
		if (a.kind != SP_VAL) {
			p += a.size;
			continue;
		}
		if (p + 1 < end && sp_is_val(p[1])) {
			sp_decode(p + 1, end, &c);
			if (a.val == c.val && a.run + c.run <= SP_VAL_RUN_MAX) {
				p[1] = sp_val_byte(a.val, a.run + c.run);
				memmove(p, p + 1, (size_t)(end - p));
				buf_add_len(b, -1);
				end--;
				continue;	/* the joined one may join the next */
			}
		}
		p++;
	}
}

/* Raise register index of sparse working copy b to count, in place when
 * the opcodes allow, else splitting one (Redis's order of cases, so the
 * bytes come out the same). 1 (changed; the cached cardinality
 * invalidated), 0 (it was as high), HLL_CORRUPT or HLL_NOMEM. b becomes
 * dense when count needs it or the split would pass hll-sparse-max-bytes. */
static int sp_raise(struct hll_buf *b, long index, unsigned count)
{
	struct sp_where w;
	uint8_t seq[5];
	int n, rc;

	if (count > SP_VAL_MAX)
		goto promote;
	if (buf_reserve(b, 3))
		return HLL_NOMEM;
	if (!sp_find(b, index, &w))
		return HLL_CORRUPT;
	if (w.cur.kind == SP_VAL && w.cur.val >= count)
		return 0;
	if (w.cur.kind != SP_XZERO && w.cur.run == 1) {
		*w.op = sp_val_byte(count, 1);	/* a one-register opcode: in place */
	} else {
		n = sp_split(&w, index, count, seq);
		if (!sp_splice(b, &w, seq, n))
			goto promote;
	}
	sp_join_vals(b, w.prev ? w.prev : b->p + HLL_HDR);
	hdr_invalidate(b->p);
	return 1;

promote:
	rc = buf_to_dense(b);
	if (rc)
		return rc;
	return dense_raise(b->p + HLL_HDR, index, count);
}

/* Add element p/n to working copy b: 1 if a register changed, 0 if not,
 * HLL_CORRUPT or HLL_NOMEM. */
static int buf_add(struct hll_buf *b, const void *p, size_t n)
{
	long reg;
	unsigned count = hll_pattern(p, n, &reg);

	if (b->p[4] == HLL_DENSE)
		return dense_raise(b->p + HLL_HDR, reg, count);
	return sp_raise(b, reg, count);
}

/* Raise b's registers to max[] (the registers of a merge). Errors as
 * sp_raise. */
static int buf_raise_all(struct hll_buf *b, const uint8_t *max)
{
	for (long i = 0; i < HLL_REGS; i++) {
		int rc;

		if (!max[i])
			continue;
		if (b->p[4] == HLL_DENSE)
			rc = dense_raise(b->p + HLL_HDR, i, max[i]);
		else
			rc = sp_raise(b, i, max[i]);
		if (rc == HLL_NOMEM)
			return rc;
	}
	return 0;
}

/* ---- the estimate ------------------------------------------------------------- */

/* Ertl's sigma(x), x in [0, 1]. */
static double hll_sigma(double x)
{
	double y = 1, z = x, prev;

	if (x == 1.)
		return INFINITY;
	do {
		x *= x;
		prev = z;
		z += x * y;
		y += y;
	} while (prev != z);
	return z;
}

/* Ertl's tau(x), x in [0, 1]. */
static double hll_tau(double x)
{
	double y = 1.0, z, prev;

	if (x == 0. || x == 1.)
		return 0.;
	z = 1 - x;
	do {
		x = sqrt(x);
		prev = z;
		y *= 0.5;
		z -= pow(1 - x, 2) * y;
	} while (prev != z);
	return z / 3;
}

/* The cardinality from the histogram of register values (hist[0..63]). */
static uint64_t hll_estimate(const int64_t *hist)
{
	const double m = HLL_REGS, alpha_inf = 0.721347520444481703680;	/* 1/(2 ln 2) */
	double z = m * hll_tau((m - (double)hist[HLL_Q + 1]) / m);

	for (int j = HLL_Q; j >= 1; j--) {
		z += (double)hist[j];
		z *= 0.5;
	}
	z += m * hll_sigma((double)hist[0] / m);
	return (uint64_t)(double)llroundl(alpha_inf * m * m / z);
}

/* Histogram of a dense register array. */
static void dense_hist(const uint8_t *regs, int64_t *hist)
{
	for (long i = 0; i < HLL_REGS; i++)
		hist[dense_get(regs, i)]++;
}

/* Is p[0, n) an HLL by Redis's checks (magic, encoding, dense length)? */
static bool hll_shape_ok(const uint8_t *p, size_t n)
{
	if (n < HLL_HDR || memcmp(p, "HYLL", 4) != 0 || p[4] > HLL_SPARSE)
		return false;
	return p[4] != HLL_DENSE || n == HLL_DENSE_SIZE;
}

/* See hll.h. */
int hll_estimate_bytes(const uint8_t *p, size_t n, uint64_t *card)
{
	int64_t hist[64] = { 0 };

	if (!hll_shape_ok(p, n))
		return -1;
	if (p[4] == HLL_DENSE)
		dense_hist(p + HLL_HDR, hist);
	else if (!sp_walk(p + HLL_HDR, n - HLL_HDR, p + n, hist, NULL))
		return -1;
	*card = hll_estimate(hist);
	return 0;
}

/* Raise max[] to the registers of the HLL p[0, n) (shape checked). false
 * when its sparse registers are corrupt. */
static bool hll_merge_into(uint8_t *max, const uint8_t *p, size_t n)
{
	if (p[4] == HLL_DENSE) {
		for (long i = 0; i < HLL_REGS; i++) {
			unsigned v = dense_get(p + HLL_HDR, i);

			if (v > max[i])
				max[i] = (uint8_t)v;
		}
		return true;
	}
	return sp_walk(p + HLL_HDR, n - HLL_HDR, p + n, NULL, max);
}

/* ---- the commands ---------------------------------------------------------------- */

/* Is e (NULL: no key) usable as an HLL? Replies WRONGTYPE (another type,
 * or a string that is not an HLL: Redis's two texts) and returns false if
 * not. */
static bool hll_check(struct client *c, const struct kv_ent *e)
{
	if (!check_type(c, e, KV_STRING))
		return false;
	if (e && !hll_shape_ok((const uint8_t *)ent_bytes(&srv.db, e), e->vlen)) {
		reply_error(c, err_not_hll);
		return false;
	}
	return true;
}

/* A working copy of e's HLL, or of a new empty one when e is NULL. false
 * after replying OOM. */
static bool hll_load(struct client *c, const struct kv_ent *e, struct hll_buf *b)
{
	int rc = e ? buf_load(b, ent_bytes(&srv.db, e), e->vlen) : buf_new_sparse(b);

	if (rc)
		reply_oom(c);
	return rc == 0;
}

/* Mark e's string "raw", as Redis's HLL strings are (it unshares them),
 * without writing to the space when it already is. */
static void mark_raw(struct kv_ent *e)
{
	if (!(e->enc & ENC_RAW))
		e->enc |= ENC_RAW;
}

/* Write working copy b to key argv[i]: into e (its expiry kept; nothing
 * written when the bytes are the same, so a save copies no page for it),
 * or as a new string when e is NULL. The copy is freed. Returns the entry,
 * or NULL after replying OOM. */
static struct kv_ent *hll_store(struct client *c, int i, struct kv_ent *e, struct hll_buf *b)
{
	if (!e) {
		e = set_string(c, i, (const char *)b->p, b->len, false);
	} else if (e->vlen != b->len || memcmp(ent_bytes(&srv.db, e), b->p, b->len) != 0) {
		if (ent_set_bytes(&srv.db, e, b->p, b->len)) {
			reply_oom(c);
			e = NULL;
		}
	}
	buf_free(b);
	if (e)
		mark_raw(e);
	return e;
}

/* PFADD key [element ...]: 1 when a register changed or the key was made. */
void cmd_pfadd(struct client *c)
{
	struct kv_ent *e = lookup_write(c, 1);
	struct hll_buf b;
	long long updated = e ? 0 : 1;
	int rc = 0;

	if (!hll_check(c, e) || !hll_load(c, e, &b))
		return;
	for (int i = 2; i < c->argc && rc >= 0; i++) {
		rc = buf_add(&b, c->argv[i].p, c->argv[i].len);
		updated += rc > 0;
	}
	if (rc == HLL_NOMEM) {
		buf_free(&b);
		reply_oom(c);
		return;
	}
	/* As Redis: registers raised before a corrupt part stay raised. */
	if (updated && rc >= 0)
		hdr_invalidate(b.p);
	if (!hll_store(c, 1, e, &b))
		return;
	if (rc == HLL_CORRUPT) {
		reply_error(c, err_invalid);
		return;
	}
	if (updated) {
		srv_changed((uint64_t)updated);
		notify_arg(c, NOTIFY_STRING, "pfadd", 1);
	}
	reply_int(c, updated ? 1 : 0);
}

/* The cached cardinality of HLL bytes p, if valid. */
static bool cache_get(const uint8_t *p, uint64_t *card)
{
	if (p[15] & 0x80)
		return false;
	*card = load_le64(p + 8);
	return true;
}

/* Cache card in HLL bytes p (valid from then on). */
static void cache_put(uint8_t *p, uint64_t card)
{
	for (int i = 0; i < 8; i++)
		p[8 + i] = (uint8_t)(card >> (8 * i));
}

/* PFCOUNT of one key: the cached value, or a computed one that is then
 * cached (a write to the value, signalled as Redis signals it). */
static void pfcount_one(struct client *c)
{
	struct kv_ent *e = lookup_read(c, 1);
	uint8_t *p;
	uint64_t card;

	if (!e) {
		reply_int(c, 0);
		return;
	}
	if (!hll_check(c, e))
		return;
	mark_raw(e);
	p = (uint8_t *)ent_bytes(&srv.db, e);
	if (!cache_get(p, &card)) {
		if (hll_estimate_bytes(p, e->vlen, &card)) {
			reply_error(c, err_invalid);
			return;
		}
		cache_put(p, card);
		keyspace_changed(c->argv[1].p, c->argv[1].len);
		srv_changed(1);
	}
	reply_int(c, (long long)card);
}

/* Raise max[] to the registers of every key of argv[from..]; a missing key
 * is an empty HLL. false after replying; *dense: one of them is dense. */
static bool merge_keys(struct client *c, int from, uint8_t *max, bool *dense)
{
	for (int i = from; i < c->argc; i++) {
		struct kv_ent *e = lookup_read(c, i);
		const uint8_t *p;

		if (!e)
			continue;
		if (!hll_check(c, e))
			return false;
		p = (const uint8_t *)ent_bytes(&srv.db, e);
		if (dense && p[4] == HLL_DENSE)
			*dense = true;
		if (!hll_merge_into(max, p, e->vlen)) {
			reply_error(c, err_invalid);
			return false;
		}
	}
	return true;
}

/* PFCOUNT key [key ...]: one key's (cached) estimate, or the estimate of
 * the union of several (nothing cached). */
void cmd_pfcount(struct client *c)
{
	uint8_t max[HLL_REGS] = { 0 };
	int64_t hist[64] = { 0 };

	if (c->argc == 2) {
		pfcount_one(c);
		return;
	}
	if (!merge_keys(c, 1, max, NULL))
		return;
	for (long i = 0; i < HLL_REGS; i++)
		hist[max[i]]++;
	reply_int(c, (long long)hll_estimate(hist));
}

/* PFMERGE destkey [sourcekey ...]: destkey becomes the union of itself
 * and the sources (dense when one of them is). */
void cmd_pfmerge(struct client *c)
{
	uint8_t max[HLL_REGS] = { 0 };
	bool dense = false;
	struct kv_ent *e;
	struct hll_buf b;
	int rc = 0;

	cmd_keys_signalled();	/* the destination only, below */
	if (!merge_keys(c, 1, max, &dense))
		return;
	e = lookup_write(c, 1);
	if (!hll_load(c, e, &b))
		return;
	if (dense)
		rc = buf_to_dense(&b);	/* destkey was checked with the sources */
	if (!rc)
		rc = buf_raise_all(&b, max);
	if (rc) {
		buf_free(&b);
		if (rc == HLL_NOMEM)
			reply_oom(c);
		else
			reply_error(c, err_invalid);
		return;
	}
	hdr_invalidate(b.p);
	if (!hll_store(c, 1, e, &b))
		return;
	srv_changed(1);
	keyspace_changed(c->argv[1].p, c->argv[1].len);
	notify_arg(c, NOTIFY_STRING, "pfadd", 1);	/* Redis's event for a merge */
	reply_ok(c);
}

/* PFDEBUG DECODE: the sparse opcodes as "z:N Z:N v:V,N" words. */
static void pfdebug_decode(struct client *c, const uint8_t *p, size_t n)
{
	const uint8_t *at = p + HLL_HDR, *end = p + n;
	size_t cap = 16 * (n - HLL_HDR) + 1, len = 0;
	char *out;

	if (p[4] != HLL_SPARSE) {
		reply_error(c, "ERR HLL encoding is not sparse");
		return;
	}
	out = malloc(cap);
	if (!out) {
		reply_oom(c);
		return;
	}
	while (at < end) {
		struct sp_op op;

		sp_decode(at, end, &op);
		at += op.size;
		if (op.kind == SP_VAL)
			len += (size_t)snprintf(out + len, cap - len, "v:%u,%ld ", op.val, op.run);
		else
			len += (size_t)snprintf(out + len, cap - len, "%c:%ld ",
						op.kind == SP_ZERO ? 'z' : 'Z', op.run);
	}
	reply_bulk(c, out, len ? len - 1 : 0);
	free(out);
}

/* PFDEBUG GETREG and TODENSE: make key argv[2] dense (stored); 1 if it was
 * sparse, 0 if not, -1 after replying. */
static int pfdebug_densify(struct client *c, struct kv_ent *e)
{
	struct hll_buf b;
	int rc;

	if (((const uint8_t *)ent_bytes(&srv.db, e))[4] == HLL_DENSE)
		return 0;
	if (!hll_load(c, e, &b))
		return -1;
	rc = buf_to_dense(&b);
	if (rc) {
		buf_free(&b);
		if (rc == HLL_NOMEM)
			reply_oom(c);
		else
			reply_error(c, err_invalid);
		return -1;
	}
	if (!hll_store(c, 2, e, &b))
		return -1;
	srv_changed(1);
	return 1;
}

/* PFDEBUG GETREG: every register, made dense first. */
static void pfdebug_getreg(struct client *c, struct kv_ent *e)
{
	const uint8_t *regs;

	if (pfdebug_densify(c, e) < 0)
		return;
	regs = (const uint8_t *)ent_bytes(&srv.db, e) + HLL_HDR;
	reply_array(c, HLL_REGS);
	for (long i = 0; i < HLL_REGS; i++)
		reply_int(c, dense_get(regs, i));
}

/* PFDEBUG GETREG|DECODE|ENCODING|TODENSE key. */
void cmd_pfdebug(struct client *c)
{
	const char *sub = c->argv[1].p;
	struct kv_ent *e = lookup_write(c, 2);
	const uint8_t *p;
	int rc;

	cmd_keys_signalled();	/* as Redis: an encoding change breaks no WATCH */
	if (!e) {
		reply_error(c, "ERR The specified key does not exist");
		return;
	}
	if (!hll_check(c, e))
		return;
	mark_raw(e);
	p = (const uint8_t *)ent_bytes(&srv.db, e);
	if (!strcasecmp(sub, "getreg")) {
		pfdebug_getreg(c, e);
	} else if (!strcasecmp(sub, "decode")) {
		pfdebug_decode(c, p, e->vlen);
	} else if (!strcasecmp(sub, "encoding")) {
		reply_status(c, p[4] == HLL_DENSE ? "dense" : "sparse");
	} else if (!strcasecmp(sub, "todense")) {
		rc = pfdebug_densify(c, e);
		if (rc >= 0)
			reply_int(c, rc);
	} else {
		reply_errorf(c, "ERR Unknown PFDEBUG subcommand '%s'", sub);
	}
}

/* ---- PFSELFTEST ------------------------------------------------------------------ */

/* Every register of a dense array keeps what was put in it, without
 * touching its neighbours, over 1000 rounds of random values. NULL, or
 * the error to reply. */
static const char *selftest_registers(uint8_t *regs, char *err, size_t len)
{
	static uint8_t want[HLL_REGS];

	for (int round = 0; round < 1000; round++) {
		for (long i = 0; i < HLL_REGS; i++) {
			want[i] = (uint8_t)(srv_random() & HLL_REG_MAX);
			dense_put(regs, i, want[i]);
		}
		for (long i = 0; i < HLL_REGS; i++) {
			unsigned got = dense_get(regs, i);

			if (got != want[i]) {
				snprintf(err, len, "TESTFAILED Register %ld should be %d but is %u",
					 i, want[i], got);
				return err;
			}
		}
	}
	return NULL;
}

/* One checkpoint of the estimate test: dense and sparse agree, sparse is
 * kept while small, and the error is within 6 standard errors (1 at 10).
 * NULL, or the error to reply. */
static const char *selftest_check(const uint8_t *dense, const struct hll_buf *s, uint64_t j,
				  char *err, size_t len)
{
	uint64_t card, scard;
	int64_t abserr;
	uint64_t maxerr = (uint64_t)ceil(1.04 / sqrt(HLL_REGS) * 6 * (double)j);

	if ((long long)j < enc_hll_sparse / 2 && s->p[4] != HLL_SPARSE)
		return "TESTFAILED sparse encoding not used";
	hll_estimate_bytes(dense, HLL_DENSE_SIZE, &card);
	if (hll_estimate_bytes(s->p, s->len, &scard) || card != scard)
		return "TESTFAILED dense/sparse disagree";
	if (j == 10)
		maxerr = 1;
	abserr = (int64_t)j - (int64_t)card;
	if (abserr < 0)
		abserr = -abserr;
	if ((uint64_t)abserr > maxerr) {
		snprintf(err, len, "TESTFAILED Too big error. card:%llu abserr:%llu",
			 (unsigned long long)j, (unsigned long long)abserr);
		return err;
	}
	return NULL;
}

/* 10^7 distinct elements into a dense and a sparse HLL side by side,
 * checked at every power of ten. */
static const char *selftest_estimate(uint8_t *dense, char *err, size_t len)
{
	uint64_t seed = srv_random(), next = 1;
	struct hll_buf s;
	const char *bad = NULL;

	memset(dense, 0, HLL_DENSE_SIZE);
	memcpy(dense, "HYLL", 4);
	if (buf_new_sparse(&s))
		return "OOM out of memory";
	for (uint64_t j = 1; j <= 10000000 && !bad; j++) {
		uint64_t ele = j ^ seed;
		long reg;
		unsigned count = hll_pattern(&ele, sizeof ele, &reg);

		dense_raise(dense + HLL_HDR, reg, count);
		if (buf_add(&s, &ele, sizeof ele) == HLL_NOMEM)
			bad = "OOM out of memory";
		if (!bad && j == next) {
			bad = selftest_check(dense, &s, j, err, len);
			next *= 10;
		}
	}
	buf_free(&s);
	return bad;
}

/* PFSELFTEST: the register accessors and the estimator, as Redis tests
 * them; OK or a TESTFAILED error. */
void cmd_pfselftest(struct client *c)
{
	uint8_t *dense = calloc(1, HLL_DENSE_SIZE);
	char err[128];
	const char *bad;

	if (!dense) {
		reply_oom(c);
		return;
	}
	bad = selftest_registers(dense + HLL_HDR, err, sizeof err);
	if (!bad)
		bad = selftest_estimate(dense, err, sizeof err);
	free(dense);
	if (bad)
		reply_error(c, bad);
	else
		reply_ok(c);
}
