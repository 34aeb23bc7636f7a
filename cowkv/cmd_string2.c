/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cmd_string2.c — INCRBYFLOAT, GETEX and LCS; HINCRBYFLOAT and HRANDFIELD
 * for hashes.
 */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "types.h"

void cmd_incrbyfloat(struct client *c)
{
	struct kv_ent *e = lookup_write(c, 1);
	long double v = 0, by;
	char buf[5200];
	size_t n;

	if (!check_type(c, e, KV_STRING))
		return;
	if ((e && !parse_ld(ent_bytes(&srv.db, e), e->vlen, &v)) ||
	    !parse_ld(c->argv[2].p, c->argv[2].len, &by)) {
		reply_error(c, "ERR value is not a valid float");
		return;
	}
	v += by;
	if (isnan(v) || isinf(v)) {
		reply_error(c, "ERR increment would produce NaN or Infinity");
		return;
	}
	n = ld2str(buf, sizeof buf, v);
	if (!(e = set_string(c, 1, buf, n, true)))
		return;
	e->enc |= ENC_NOTINT;	/* a new string object, never "int" */
	srv_changed(1);
	reply_bulk(c, buf, n);
}

void cmd_getex(struct client *c)
{
	long long when = 0;
	bool persist = false, set = false;
	struct kv_ent *e;

	for (int i = 2; i < c->argc; i++) {
		bool ex = arg_is(c, i, "ex"), px = arg_is(c, i, "px");
		bool exat = arg_is(c, i, "exat"), pxat = arg_is(c, i, "pxat");

		if ((ex || px || exat || pxat) && i + 1 < c->argc && !set && !persist) {
			if (!arg_ll(c, i + 1, &when))
				return;
			if (when <= 0 || ((ex || exat) && when > LLONG_MAX / 1000)) {
				reply_error(c, "ERR invalid expire time in 'getex' command");
				return;
			}
			if (ex || exat)
				when *= 1000;
			if ((ex || px) && when > LLONG_MAX - srv.db.now_ms) {
				reply_error(c, "ERR invalid expire time in 'getex' command");
				return;
			}
			if (ex || px)
				when += srv.db.now_ms;
			set = true;
			i++;
		} else if (arg_is(c, i, "persist") && !set && !persist) {
			persist = true;
		} else {
			reply_syntax(c);
			return;
		}
	}
	e = lookup_read(c, 1);
	if (!e) {
		reply_nil(c);
		return;
	}
	if (!check_type(c, e, KV_STRING))
		return;
	reply_ent_bytes(c, e);
	if (set && when <= srv.db.now_ms) {
		kv_delete_ent(&srv.db, e);
		srv_changed(1);
	} else if (set) {
		if (kv_set_expire(&srv.db, e, when) == 0)
			srv_changed(1);
	} else if (persist && e->expire) {
		kv_set_expire(&srv.db, e, 0);
		srv_changed(1);
	}
}

/* ---- LCS ------------------------------------------------------------------ */

/* Bytes of string key argv[i] ("" when missing); false if not a string. */
static bool lcs_input(struct client *c, int i, const char **p, size_t *n)
{
	struct kv_ent *e = lookup_read(c, i);

	*p = "";
	*n = 0;
	if (e && e->type != KV_STRING)
		return false;
	if (e && e->vlen) {
		*p = ent_bytes(&srv.db, e);
		*n = e->vlen;
	}
	return true;
}

void cmd_lcs(struct client *c)
{
	bool getlen = false, getidx = false, withlen = false;
	long long minlen = 0;
	const char *a, *b;
	size_t alen, blen;
	uint32_t *t;
	char *res;

	for (int i = 3; i < c->argc; i++) {
		if (arg_is(c, i, "idx"))
			getidx = true;
		else if (arg_is(c, i, "len"))
			getlen = true;
		else if (arg_is(c, i, "withmatchlen"))
			withlen = true;
		else if (arg_is(c, i, "minmatchlen") && i + 1 < c->argc) {
			if (!arg_ll(c, i + 1, &minlen))
				return;
			if (minlen < 0)
				minlen = 0;
			i++;
		} else {
			reply_syntax(c);
			return;
		}
	}
	if (!lcs_input(c, 1, &a, &alen) || !lcs_input(c, 2, &b, &blen)) {
		reply_error(c, "ERR The specified keys must contain string values");
		return;
	}
	if (getidx && getlen) {
		reply_error(c, "ERR If you want both the length and indexes, please just use IDX.");
		return;
	}
	if ((unsigned long long)(alen + 1) * (blen + 1) > srv.proto_max_bulk_len / sizeof(uint32_t) * 4 ||
	    !(t = malloc((alen + 1) * (blen + 1) * sizeof *t))) {
		reply_error(c, "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len");
		return;
	}
#define LCS(i, j) t[(size_t)(j) * (alen + 1) + (i)]
	for (size_t j = 0; j <= blen; j++)
		for (size_t i = 0; i <= alen; i++) {
			if (i == 0 || j == 0)
				LCS(i, j) = 0;
			else if (a[i - 1] == b[j - 1])
				LCS(i, j) = LCS(i - 1, j - 1) + 1;
			else
				LCS(i, j) = LCS(i - 1, j) > LCS(i, j - 1) ? LCS(i - 1, j) : LCS(i, j - 1);
		}
	{
		uint32_t idx = LCS(alen, blen), len = idx;
		size_t i = alen, j = blen, as = alen, ae = 0, bs = 0, be = 0;
		long long matches = 0;
		struct obuf *h = NULL;

		res = malloc(idx + 1);
		if (!res) {
			free(t);
			reply_oom(c);
			return;
		}
		if (getidx) {
			reply_array(c, 4);
			reply_bulk_str(c, "matches");
			h = reply_defer(c);
		}
		/* Walk back from the end as Redis does, emitting the ranges of
		 * contiguous matches (the same ranges, in the same order). */
		while (i > 0 && j > 0) {
			bool emit = false;

			if (a[i - 1] == b[j - 1]) {
				res[idx - 1] = a[i - 1];
				if (as == alen) {
					as = ae = i - 1;
					bs = be = j - 1;
				} else if (as == i && bs == j) {
					as--;
					bs--;
				} else {
					emit = true;
				}
				if (as == 0 || bs == 0)
					emit = true;
				idx--;
				i--;
				j--;
			} else {
				if (LCS(i - 1, j) > LCS(i, j - 1))
					i--;
				else
					j--;
				if (as != alen)
					emit = true;
			}
			if (emit) {
				long long mlen = (long long)(ae - as + 1);

				if (minlen == 0 || mlen >= minlen) {
					if (getidx) {
						reply_array(c, 2 + withlen);
						reply_array(c, 2);
						reply_int(c, (long long)as);
						reply_int(c, (long long)ae);
						reply_array(c, 2);
						reply_int(c, (long long)bs);
						reply_int(c, (long long)be);
						if (withlen)
							reply_int(c, mlen);
					}
					matches++;
				}
				as = alen;
			}
		}
		if (getidx) {
			reply_defer_set(c, h, matches);
			reply_bulk_str(c, "len");
			reply_int(c, len);
		} else if (getlen) {
			reply_int(c, len);
		} else {
			reply_bulk(c, res, len);
		}
		free(res);
	}
#undef LCS
	free(t);
}

/* ---- hashes ------------------------------------------------------------ */

void cmd_hincrbyfloat(struct client *c)
{
	long double v = 0, by;
	struct kv_ent *e, *f;
	char buf[5200];
	bool created;
	size_t n;

	if (!parse_ld(c->argv[3].p, c->argv[3].len, &by)) {
		reply_error(c, "ERR value is not a valid float");
		return;
	}
	if (isinf(by)) {
		reply_error(c, "ERR value is NaN or Infinity");
		return;
	}
	if (!(e = obj_for_write(c, 1, KV_HASH, &created)))
		return;
	f = hash_get(&srv.db, e, c->argv[2].p, c->argv[2].len);
	if (f && !parse_ld(ent_bytes(&srv.db, f), f->vlen, &v)) {
		reply_error(c, "ERR hash value is not a float");
		return;
	}
	v += by;
	if (isnan(v) || isinf(v)) {
		obj_drop_if_empty(e);
		reply_error(c, "ERR increment would produce NaN or Infinity");
		return;
	}
	n = ld2str(buf, sizeof buf, v);
	if (hash_set(&srv.db, e, c->argv[2].p, c->argv[2].len, buf, n) < 0) {
		obj_drop_if_empty(e);
		reply_oom(c);
		return;
	}
	enc_note_add(e, c->argv[2].p, c->argv[2].len);
	srv_changed(1);
	reply_bulk(c, buf, n);
}

static void hf_collect(struct kvdb *db, struct kv_ent *f, void *arg)
{
	struct strvec *v = arg;

	sv_push(v, f->key, f->klen, 0);
	sv_push(v, ent_bytes(db, f), f->vlen, 0);
}

void cmd_hrandfield(struct client *c)
{
	long long count;
	bool withvalues;
	struct kv_ent *e;
	struct strvec all = { 0 };
	size_t nf;

	if (c->argc > 4 || (c->argc == 4 && !arg_is(c, 3, "withvalues"))) {
		reply_syntax(c);
		return;
	}
	withvalues = c->argc == 4;
	if (c->argc >= 3) {
		if (!arg_ll(c, 2, &count))
			return;
		if (count < -LONG_MAX / 2 || (withvalues && count > LONG_MAX / 2)) {
			reply_error(c, "ERR value is out of range");
			return;
		}
	}
	e = lookup_read(c, 1);
	if (!check_type(c, e, KV_HASH))
		return;
	if (c->argc == 2) {
		struct kv_ent *f = e ? dict_fair_random(&srv.db, hash_dict(&srv.db, e, false), srv_random) : NULL;

		if (f)
			reply_bulk(c, f->key, f->klen);
		else
			reply_nil(c);
		return;
	}
	if (!e || count == 0) {
		reply_array(c, 0);
		return;
	}
	dict_each(&srv.db, hash_dict(&srv.db, e, false), hf_collect, &all);
	if (all.nomem) {
		sv_free(&all);
		reply_oom(c);
		return;
	}
	nf = all.len / 2;
	if (count > 0) {
		if ((size_t)count > nf)
			count = (long long)nf;
		for (size_t i = 0; i < (size_t)count && i + 1 < nf; i++) {
			size_t j = i + (size_t)(srv_random() % (nf - i));
			struct sv_item t0 = all.v[2 * i], t1 = all.v[2 * i + 1];

			all.v[2 * i] = all.v[2 * j];
			all.v[2 * i + 1] = all.v[2 * j + 1];
			all.v[2 * j] = t0;
			all.v[2 * j + 1] = t1;
		}
	}
	{
		long long n = count > 0 ? count : -count;

		reply_array(c, withvalues ? 2 * n : n);
		for (long long i = 0; i < n; i++) {
			size_t k = count > 0 ? (size_t)i : (size_t)(srv_random() % nf);

			reply_bulk(c, all.v[2 * k].p, all.v[2 * k].n);
			if (withvalues)
				reply_bulk(c, all.v[2 * k + 1].p, all.v[2 * k + 1].n);
		}
	}
	sv_free(&all);
}
