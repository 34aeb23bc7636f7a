/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * types.h — what the commands of sets, sorted sets and the other Redis 7.0
 * data commands (issue 13, part A) share: typed lookups, a vector of
 * copied strings, double parsing and formatting in Redis's words, the
 * encodings OBJECT ENCODING names, and the command functions.
 */
#ifndef COWKV_TYPES_H
#define COWKV_TYPES_H

#include "server.h"

/* ---- typed lookups (cmd_types.c) ----------------------------------------- */

/* The value of key argv[i] for writing, of type t, created if missing;
 * NULL after replying (WRONGTYPE, OOM). *created says whether it is new. */
struct kv_ent *obj_for_write(struct client *c, int i, enum kv_type t, bool *created);
/* Delete e if its collection is empty (the last element went). */
void obj_drop_if_empty(struct kv_ent *e);
/* Elements of a collection entry of any type (0 for strings). */
uint64_t obj_len(struct kv_ent *e);

/* ---- copied strings ---------------------------------------------------------- */

struct sv_item {
	char *p;                /* malloc'd, NUL-terminated */
	size_t n;
	double score;
};

struct strvec {
	struct sv_item *v;
	size_t len, cap;
	bool nomem;
};

/* Append a copy of p/n (with a score); on failure sets nomem. */
void sv_push(struct strvec *s, const char *p, size_t n, double score);
void sv_free(struct strvec *s);
/* qsort order of sv_items by bytes (memcmp, then length). */
int sv_cmp_bytes(const void *a, const void *b);
/* NUMKEYS at argv[i]: > 0 and no more than the arguments after it;
 * replies Redis's error otherwise (a syntax error for too many when mpop,
 * as LMPOP/ZMPOP do). */
bool parse_numkeys(struct client *c, int i, long long *numkeys, bool mpop);
/* SINTERCARD/ZINTERCARD's [LIMIT n] from argv[i] on. */
bool parse_card_limit(struct client *c, int i, long long *limit);

/* ---- numbers --------------------------------------------------------------- */

/* Redis's getDoubleFromObject rules (no spaces, no NaN); "inf" allowed. */
bool parse_double(const char *s, size_t n, double *out);
/* Argument i as a double, or replies "ERR value is not a valid float". */
bool arg_double(struct client *c, int i, double *out);
/* Long double text as INCRBYFLOAT writes it ("%.17Lf" trimmed). */
size_t ld2str(char *buf, size_t len, long double v);
/* Redis's long double parse (string2ld): 0 on error. */
bool parse_ld(const char *s, size_t n, long double *out);

/* ---- encodings (cmd_object.c) --------------------------------------------- */

struct kv_enc_limits {
	long hash_entries, hash_value;          /* hash-max-listpack-* */
	long set_intset;                        /* set-max-intset-entries */
	long zset_entries, zset_value;          /* zset-max-listpack-* */
	long list_size, list_compress;          /* list-max-listpack-size, list-compress-depth */
};
extern struct kv_enc_limits kv_enc;

/* After adding an element of n bytes to collection e: convert (one way)
 * when it outgrows the small encoding. */
void enc_note_add(struct kv_ent *e, const char *p, size_t n);
/* OBJECT ENCODING's name for e. */
const char *enc_name(struct kv_ent *e);
/* A small (listpack/intset) encoding: scans return everything at once. */
bool enc_small(struct kv_ent *e);

/* ---- lists (cmd_list2.c): for the blocking commands of part B ---------------- */

/* Pop one element of list e (not empty) at the left or right and reply it
 * as a bulk; an emptied list is deleted (e invalid after). */
void list_pop_reply(struct client *c, struct kv_ent *e, bool left);
/* LMOVE's core: pop from src (wherefrom), push onto dst key argv[dsti]
 * (whereto), reply the element. src is a non-empty list; dst was checked
 * to be a list or absent. */
void list_move_reply(struct client *c, struct kv_ent *src, int dsti, bool from_left,
		     bool to_left);
/* LMPOP's core: pop up to count elements of list e (not empty) at one end
 * and reply [key, [elements]]; e deleted when emptied (BLMPOP too). */
void list_mpop_reply(struct client *c, struct kv_ent *e, bool left, long long count);

/* The reply forms of a sorted-set pop. */
enum zpop_form {
	ZPOP_FLAT,      /* ZPOPMIN/ZPOPMAX: [m1, s1, m2, s2...] */
	ZPOP_MPOP,      /* ZMPOP, BZMPOP: [key, [[m1, s1], ...]] */
	ZPOP_KEYED,     /* BZPOPMIN/BZPOPMAX: [key, m, s] (count 1) */
	ZPOP_COUNTED,   /* ZPOPMIN/ZPOPMAX with a count: flat, [[m1, s1], ...] in RESP3 */
};
/* Pop count (>= 1) members at the min (or max) of zset e (not empty) and
 * reply them in the given form; e is deleted when emptied (invalid after). */
long long zpairs_count(const struct client *c, long long n, bool withscores);
void zpair_begin(struct client *c, bool withscores);
void zset_pop_reply(struct client *c, struct kv_ent *e, bool max, long long count,
		    enum zpop_form form);

/* ---- commands ------------------------------------------------------------------ */

/* sets */
CMD_DECL(cmd_sadd); CMD_DECL(cmd_srem); CMD_DECL(cmd_smembers); CMD_DECL(cmd_sismember);
CMD_DECL(cmd_smismember); CMD_DECL(cmd_scard); CMD_DECL(cmd_spop); CMD_DECL(cmd_srandmember);
CMD_DECL(cmd_smove); CMD_DECL(cmd_sinter); CMD_DECL(cmd_sinterstore); CMD_DECL(cmd_sunion);
CMD_DECL(cmd_sunionstore); CMD_DECL(cmd_sdiff); CMD_DECL(cmd_sdiffstore);
CMD_DECL(cmd_sintercard); CMD_DECL(cmd_sscan);
/* sorted sets */
CMD_DECL(cmd_zadd); CMD_DECL(cmd_zincrby); CMD_DECL(cmd_zrem); CMD_DECL(cmd_zscore);
CMD_DECL(cmd_zmscore); CMD_DECL(cmd_zcard); CMD_DECL(cmd_zcount); CMD_DECL(cmd_zlexcount);
CMD_DECL(cmd_zrange); CMD_DECL(cmd_zrangestore); CMD_DECL(cmd_zrangebyscore);
CMD_DECL(cmd_zrevrangebyscore); CMD_DECL(cmd_zrevrange); CMD_DECL(cmd_zrangebylex);
CMD_DECL(cmd_zrevrangebylex); CMD_DECL(cmd_zrank); CMD_DECL(cmd_zrevrank);
CMD_DECL(cmd_zpopmin); CMD_DECL(cmd_zpopmax); CMD_DECL(cmd_zmpop); CMD_DECL(cmd_zrandmember);
CMD_DECL(cmd_zunion); CMD_DECL(cmd_zinter); CMD_DECL(cmd_zdiff); CMD_DECL(cmd_zunionstore);
CMD_DECL(cmd_zinterstore); CMD_DECL(cmd_zdiffstore); CMD_DECL(cmd_zintercard);
CMD_DECL(cmd_zremrangebyscore); CMD_DECL(cmd_zremrangebyrank); CMD_DECL(cmd_zremrangebylex);
CMD_DECL(cmd_zscan);
/* geo (cmd_geo.c) */
CMD_DECL(cmd_geoadd); CMD_DECL(cmd_geopos); CMD_DECL(cmd_geohash); CMD_DECL(cmd_geodist);
CMD_DECL(cmd_geosearch); CMD_DECL(cmd_geosearchstore); CMD_DECL(cmd_georadius);
CMD_DECL(cmd_georadius_ro); CMD_DECL(cmd_georadiusbymember); CMD_DECL(cmd_georadiusbymember_ro);
/* GEORADIUS and GEORADIUSBYMEMBER name keys outside first..last: their
 * STORE and STOREDIST destinations. geo_store_keys puts the argv indexes
 * of those in a command line into idx, as Redis's key specifications find
 * them, and returns how many (0 for any other command). */
bool geo_has_store_keys(const char *name);
int geo_store_keys(const char *name, int argc, const struct kv_arg *argv, int idx[2]);
/* lists */
CMD_DECL(cmd_lset); CMD_DECL(cmd_lrem); CMD_DECL(cmd_ltrim); CMD_DECL(cmd_linsert);
CMD_DECL(cmd_lpos); CMD_DECL(cmd_lmove); CMD_DECL(cmd_rpoplpush); CMD_DECL(cmd_lmpop);
CMD_DECL(cmd_lpushx); CMD_DECL(cmd_rpushx);
/* strings */
CMD_DECL(cmd_incrbyfloat); CMD_DECL(cmd_getex); CMD_DECL(cmd_setbit); CMD_DECL(cmd_getbit);
CMD_DECL(cmd_bitcount); CMD_DECL(cmd_bitpos); CMD_DECL(cmd_bitop); CMD_DECL(cmd_bitfield);
CMD_DECL(cmd_bitfield_ro); CMD_DECL(cmd_lcs);
/* hashes */
CMD_DECL(cmd_hincrbyfloat); CMD_DECL(cmd_hrandfield); CMD_DECL(cmd_hscan);
/* keys */
CMD_DECL(cmd_copy); CMD_DECL(cmd_move); CMD_DECL(cmd_object); CMD_DECL(cmd_expiretime);
CMD_DECL(cmd_pexpiretime); CMD_DECL(cmd_sort); CMD_DECL(cmd_sort_ro);

#endif
