/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * command.c — the command table, dispatch (lookup, arity, OOM check) and
 * the COMMAND command that describes the table to clients.
 */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "errstats.h"
#include "server.h"
#include "script.h"   /* issue 15: busy scripts */
#include "acl.h"      /* issue 15: NOAUTH */
#include "types.h"	/* issue 13 part A commands */
#include "hll.h"	/* HyperLogLog */

#define W CMD_WRITE
#define R CMD_READONLY
#define M CMD_DENYOOM
#define F CMD_FAST
#define A CMD_ADMIN
#define N CMD_NOSCRIPT
#define L CMD_LOADING
#define S CMD_STALE
#define X CMD_RANDOM
#define B CMD_BLOCKING
#define P CMD_PUBSUB

static struct kv_cmd table[] = {
	/* strings */
	{ "get", cmd_get, 2, R | F, 1, 1, 1, "string", 0, 0 },
	{ "set", cmd_set, -3, W | M, 1, 1, 1, "string", 0, 0 },
	{ "setnx", cmd_setnx, 3, W | M | F, 1, 1, 1, "string", 0, 0 },
	{ "setex", cmd_setex, 4, W | M, 1, 1, 1, "string", 0, 0 },
	{ "psetex", cmd_psetex, 4, W | M, 1, 1, 1, "string", 0, 0 },
	{ "getset", cmd_getset, 3, W | M | F, 1, 1, 1, "string", 0, 0 },
	{ "getdel", cmd_getdel, 2, W | F, 1, 1, 1, "string", 0, 0 },
	{ "mget", cmd_mget, -2, R | F, 1, -1, 1, "string", 0, 0 },
	{ "mset", cmd_mset, -3, W | M, 1, -1, 2, "string", 0, 0 },
	{ "msetnx", cmd_msetnx, -3, W | M, 1, -1, 2, "string", 0, 0 },
	{ "incr", cmd_incr, 2, W | M | F, 1, 1, 1, "string", 0, 0 },
	{ "decr", cmd_decr, 2, W | M | F, 1, 1, 1, "string", 0, 0 },
	{ "incrby", cmd_incrby, 3, W | M | F, 1, 1, 1, "string", 0, 0 },
	{ "decrby", cmd_decrby, 3, W | M | F, 1, 1, 1, "string", 0, 0 },
	{ "append", cmd_append, 3, W | M, 1, 1, 1, "string", 0, 0 },
	{ "strlen", cmd_strlen, 2, R | F, 1, 1, 1, "string", 0, 0 },
	{ "getrange", cmd_getrange, 4, R, 1, 1, 1, "string", 0, 0 },
	{ "substr", cmd_getrange, 4, R, 1, 1, 1, "string", 0, 0 },
	{ "setrange", cmd_setrange, 4, W | M, 1, 1, 1, "string", 0, 0 },
	/* keys */
	{ "del", cmd_del, -2, W, 1, -1, 1, "keyspace", 0, 0 },
	{ "unlink", cmd_del, -2, W | F, 1, -1, 1, "keyspace", 0, 0 },
	{ "exists", cmd_exists, -2, R | F, 1, -1, 1, "keyspace", 0, 0 },
	{ "touch", cmd_touch, -2, R | F, 1, -1, 1, "keyspace", 0, 0 },
	{ "type", cmd_type, 2, R | F, 1, 1, 1, "keyspace", 0, 0 },
	{ "expire", cmd_expire, -3, W | F, 1, 1, 1, "keyspace", 0, 0 },
	{ "pexpire", cmd_pexpire, -3, W | F, 1, 1, 1, "keyspace", 0, 0 },
	{ "expireat", cmd_expireat, -3, W | F, 1, 1, 1, "keyspace", 0, 0 },
	{ "pexpireat", cmd_pexpireat, -3, W | F, 1, 1, 1, "keyspace", 0, 0 },
	{ "ttl", cmd_ttl, 2, R | F | X, 1, 1, 1, "keyspace", 0, 0 },
	{ "pttl", cmd_pttl, 2, R | F | X, 1, 1, 1, "keyspace", 0, 0 },
	{ "persist", cmd_persist, 2, W | F, 1, 1, 1, "keyspace", 0, 0 },
	{ "keys", cmd_keys, 2, R, 0, 0, 0, "keyspace", 0, 0 },
	{ "scan", cmd_scan, -2, R, 0, 0, 0, "keyspace", 0, 0 },
	{ "randomkey", cmd_randomkey, 1, R | X, 0, 0, 0, "keyspace", 0, 0 },
	{ "rename", cmd_rename, 3, W, 1, 2, 1, "keyspace", 0, 0 },
	{ "renamenx", cmd_renamenx, 3, W | F, 1, 2, 1, "keyspace", 0, 0 },
	{ "dbsize", cmd_dbsize, 1, R | F, 0, 0, 0, "keyspace", 0, 0 },
	{ "flushdb", cmd_flushdb, -1, W, 0, 0, 0, "keyspace", 0, 0 },
	{ "flushall", cmd_flushdb, -1, W, 0, 0, 0, "keyspace", 0, 0 },
	{ "swapdb", cmd_swapdb, 3, W | F, 0, 0, 0, "keyspace", 0, 0 },
	/* hashes */
	{ "hset", cmd_hset, -4, W | M | F, 1, 1, 1, "hash", 0, 0 },
	{ "hmset", cmd_hset, -4, W | M | F, 1, 1, 1, "hash", 0, 0 },
	{ "hsetnx", cmd_hsetnx, 4, W | M | F, 1, 1, 1, "hash", 0, 0 },
	{ "hget", cmd_hget, 3, R | F, 1, 1, 1, "hash", 0, 0 },
	{ "hmget", cmd_hmget, -3, R | F, 1, 1, 1, "hash", 0, 0 },
	{ "hdel", cmd_hdel, -3, W | F, 1, 1, 1, "hash", 0, 0 },
	{ "hlen", cmd_hlen, 2, R | F, 1, 1, 1, "hash", 0, 0 },
	{ "hexists", cmd_hexists, 3, R | F, 1, 1, 1, "hash", 0, 0 },
	{ "hgetall", cmd_hgetall, 2, R, 1, 1, 1, "hash", 0, 0 },
	{ "hkeys", cmd_hkeys, 2, R, 1, 1, 1, "hash", 0, 0 },
	{ "hvals", cmd_hvals, 2, R, 1, 1, 1, "hash", 0, 0 },
	{ "hincrby", cmd_hincrby, 4, W | M | F, 1, 1, 1, "hash", 0, 0 },
	{ "hstrlen", cmd_hstrlen, 3, R | F, 1, 1, 1, "hash", 0, 0 },
	/* lists */
	{ "lpush", cmd_lpush, -3, W | M | F, 1, 1, 1, "list", 0, 0 },
	{ "rpush", cmd_rpush, -3, W | M | F, 1, 1, 1, "list", 0, 0 },
	{ "lpop", cmd_lpop, -2, W | F, 1, 1, 1, "list", 0, 0 },
	{ "rpop", cmd_rpop, -2, W | F, 1, 1, 1, "list", 0, 0 },
	{ "llen", cmd_llen, 2, R | F, 1, 1, 1, "list", 0, 0 },
	{ "lrange", cmd_lrange, 4, R, 1, 1, 1, "list", 0, 0 },
	{ "lindex", cmd_lindex, 3, R, 1, 1, 1, "list", 0, 0 },
	/* ---- issue 13 part A: sets, sorted sets, more lists/strings/hashes/keys ---- */
	/* sets */
	{ "sadd", cmd_sadd, -3, W | M | F, 1, 1, 1, "set", 0, 0 },
	{ "srem", cmd_srem, -3, W | F, 1, 1, 1, "set", 0, 0 },
	{ "smembers", cmd_smembers, 2, R, 1, 1, 1, "set", 0, 0 },
	{ "sismember", cmd_sismember, 3, R | F, 1, 1, 1, "set", 0, 0 },
	{ "smismember", cmd_smismember, -3, R | F, 1, 1, 1, "set", 0, 0 },
	{ "scard", cmd_scard, 2, R | F, 1, 1, 1, "set", 0, 0 },
	{ "spop", cmd_spop, -2, W | F | X, 1, 1, 1, "set", 0, 0 },
	{ "srandmember", cmd_srandmember, -2, R | X, 1, 1, 1, "set", 0, 0 },
	{ "smove", cmd_smove, 4, W | F, 1, 2, 1, "set", 0, 0 },
	{ "sinter", cmd_sinter, -2, R, 1, -1, 1, "set", 0, 0 },
	{ "sinterstore", cmd_sinterstore, -3, W | M, 1, -1, 1, "set", 0, 0 },
	{ "sunion", cmd_sunion, -2, R, 1, -1, 1, "set", 0, 0 },
	{ "sunionstore", cmd_sunionstore, -3, W | M, 1, -1, 1, "set", 0, 0 },
	{ "sdiff", cmd_sdiff, -2, R, 1, -1, 1, "set", 0, 0 },
	{ "sdiffstore", cmd_sdiffstore, -3, W | M, 1, -1, 1, "set", 0, 0 },
	{ "sintercard", cmd_sintercard, -3, R, 0, 0, 0, "set", 0, 0 },
	{ "sscan", cmd_sscan, -3, R | X, 1, 1, 1, "set", 0, 0 },
	/* sorted sets */
	{ "zadd", cmd_zadd, -4, W | M | F, 1, 1, 1, "sortedset", 0, 0 },
	{ "zincrby", cmd_zincrby, 4, W | M | F, 1, 1, 1, "sortedset", 0, 0 },
	{ "zrem", cmd_zrem, -3, W | F, 1, 1, 1, "sortedset", 0, 0 },
	{ "zscore", cmd_zscore, 3, R | F, 1, 1, 1, "sortedset", 0, 0 },
	{ "zmscore", cmd_zmscore, -3, R | F, 1, 1, 1, "sortedset", 0, 0 },
	{ "zcard", cmd_zcard, 2, R | F, 1, 1, 1, "sortedset", 0, 0 },
	{ "zcount", cmd_zcount, 4, R | F, 1, 1, 1, "sortedset", 0, 0 },
	{ "zlexcount", cmd_zlexcount, 4, R | F, 1, 1, 1, "sortedset", 0, 0 },
	{ "zrange", cmd_zrange, -4, R, 1, 1, 1, "sortedset", 0, 0 },
	{ "zrangestore", cmd_zrangestore, -5, W | M, 1, 2, 1, "sortedset", 0, 0 },
	{ "zrangebyscore", cmd_zrangebyscore, -4, R, 1, 1, 1, "sortedset", 0, 0 },
	{ "zrevrangebyscore", cmd_zrevrangebyscore, -4, R, 1, 1, 1, "sortedset", 0, 0 },
	{ "zrangebylex", cmd_zrangebylex, -4, R, 1, 1, 1, "sortedset", 0, 0 },
	{ "zrevrangebylex", cmd_zrevrangebylex, -4, R, 1, 1, 1, "sortedset", 0, 0 },
	{ "zrevrange", cmd_zrevrange, -4, R, 1, 1, 1, "sortedset", 0, 0 },
	{ "zrank", cmd_zrank, 3, R | F, 1, 1, 1, "sortedset", 0, 0 },
	{ "zrevrank", cmd_zrevrank, 3, R | F, 1, 1, 1, "sortedset", 0, 0 },
	{ "zpopmin", cmd_zpopmin, -2, W | F, 1, 1, 1, "sortedset", 0, 0 },
	{ "zpopmax", cmd_zpopmax, -2, W | F, 1, 1, 1, "sortedset", 0, 0 },
	{ "zmpop", cmd_zmpop, -4, W, 0, 0, 0, "sortedset", 0, 0 },
	{ "zrandmember", cmd_zrandmember, -2, R | X, 1, 1, 1, "sortedset", 0, 0 },
	{ "zunion", cmd_zunion, -3, R, 0, 0, 0, "sortedset", 0, 0 },
	{ "zinter", cmd_zinter, -3, R, 0, 0, 0, "sortedset", 0, 0 },
	{ "zdiff", cmd_zdiff, -3, R, 0, 0, 0, "sortedset", 0, 0 },
	{ "zunionstore", cmd_zunionstore, -4, W | M, 1, 1, 1, "sortedset", 0, 0 },
	{ "zinterstore", cmd_zinterstore, -4, W | M, 1, 1, 1, "sortedset", 0, 0 },
	{ "zdiffstore", cmd_zdiffstore, -4, W | M, 1, 1, 1, "sortedset", 0, 0 },
	{ "zintercard", cmd_zintercard, -3, R, 0, 0, 0, "sortedset", 0, 0 },
	{ "zremrangebyscore", cmd_zremrangebyscore, 4, W, 1, 1, 1, "sortedset", 0, 0 },
	{ "zremrangebyrank", cmd_zremrangebyrank, 4, W, 1, 1, 1, "sortedset", 0, 0 },
	{ "zremrangebylex", cmd_zremrangebylex, 4, W, 1, 1, 1, "sortedset", 0, 0 },
	{ "zscan", cmd_zscan, -3, R | X, 1, 1, 1, "sortedset", 0, 0 },
	/* geo: sorted sets of cells (cmd_geo.c) */
	{ "geoadd", cmd_geoadd, -5, W | M, 1, 1, 1, "geo", 0, 0 },
	{ "geopos", cmd_geopos, -2, R, 1, 1, 1, "geo", 0, 0 },
	{ "geohash", cmd_geohash, -2, R, 1, 1, 1, "geo", 0, 0 },
	{ "geodist", cmd_geodist, -4, R, 1, 1, 1, "geo", 0, 0 },
	{ "geosearch", cmd_geosearch, -7, R, 1, 1, 1, "geo", 0, 0 },
	{ "geosearchstore", cmd_geosearchstore, -8, W | M, 1, 2, 1, "geo", 0, 0 },
	{ "georadius", cmd_georadius, -6, W | M, 1, 1, 1, "geo", 0, 0 },
	{ "georadius_ro", cmd_georadius_ro, -6, R, 1, 1, 1, "geo", 0, 0 },
	{ "georadiusbymember", cmd_georadiusbymember, -5, W | M, 1, 1, 1, "geo", 0, 0 },
	{ "georadiusbymember_ro", cmd_georadiusbymember_ro, -5, R, 1, 1, 1, "geo", 0, 0 },
	/* more lists */
	{ "lset", cmd_lset, 4, W | M, 1, 1, 1, "list", 0, 0 },
	{ "lrem", cmd_lrem, 4, W, 1, 1, 1, "list", 0, 0 },
	{ "ltrim", cmd_ltrim, 4, W, 1, 1, 1, "list", 0, 0 },
	{ "linsert", cmd_linsert, 5, W | M, 1, 1, 1, "list", 0, 0 },
	{ "lpos", cmd_lpos, -3, R, 1, 1, 1, "list", 0, 0 },
	{ "lmove", cmd_lmove, 5, W | M, 1, 2, 1, "list", 0, 0 },
	{ "rpoplpush", cmd_rpoplpush, 3, W | M, 1, 2, 1, "list", 0, 0 },
	{ "lmpop", cmd_lmpop, -4, W, 0, 0, 0, "list", 0, 0 },
	{ "lpushx", cmd_lpushx, -3, W | M | F, 1, 1, 1, "list", 0, 0 },
	{ "rpushx", cmd_rpushx, -3, W | M | F, 1, 1, 1, "list", 0, 0 },
	/* more strings */
	{ "incrbyfloat", cmd_incrbyfloat, 3, W | M | F, 1, 1, 1, "string", 0, 0 },
	{ "getex", cmd_getex, -2, W | F, 1, 1, 1, "string", 0, 0 },
	{ "setbit", cmd_setbit, 4, W | M, 1, 1, 1, "bitmap", 0, 0 },
	{ "getbit", cmd_getbit, 3, R | F, 1, 1, 1, "bitmap", 0, 0 },
	{ "bitcount", cmd_bitcount, -2, R, 1, 1, 1, "bitmap", 0, 0 },
	{ "bitpos", cmd_bitpos, -3, R, 1, 1, 1, "bitmap", 0, 0 },
	{ "bitop", cmd_bitop, -4, W | M, 2, -1, 1, "bitmap", 0, 0 },
	{ "bitfield", cmd_bitfield, -2, W | M, 1, 1, 1, "bitmap", 0, 0 },
	{ "bitfield_ro", cmd_bitfield_ro, -2, R | F, 1, 1, 1, "bitmap", 0, 0 },
	{ "lcs", cmd_lcs, -3, R, 1, 2, 1, "string", 0, 0 },
	/* HyperLogLog (t_hll.c) */
	{ "pfadd", cmd_pfadd, -2, W | M | F, 1, 1, 1, "hyperloglog", 0, 0 },
	{ "pfcount", cmd_pfcount, -2, R | CMD_MAYWRITE, 1, -1, 1, "hyperloglog", 0, 0 },
	{ "pfmerge", cmd_pfmerge, -2, W | M, 1, -1, 1, "hyperloglog", 0, 0 },
	{ "pfdebug", cmd_pfdebug, 3, W | M | A, 2, 2, 1, "hyperloglog", 0, 0 },
	{ "pfselftest", cmd_pfselftest, 1, A, 0, 0, 0, "hyperloglog", 0, 0 },
	/* more hashes */
	{ "hincrbyfloat", cmd_hincrbyfloat, 4, W | M | F, 1, 1, 1, "hash", 0, 0 },
	{ "hrandfield", cmd_hrandfield, -2, R | X, 1, 1, 1, "hash", 0, 0 },
	{ "hscan", cmd_hscan, -3, R | X, 1, 1, 1, "hash", 0, 0 },
	/* more keys */
	{ "copy", cmd_copy, -3, W | M, 1, 2, 1, "keyspace", 0, 0 },
	{ "move", cmd_move, 3, W | F, 1, 1, 1, "keyspace", 0, 0 },
	{ "object", cmd_object, -2, R | X, 2, 2, 1, "keyspace", 0, 0 },
	{ "expiretime", cmd_expiretime, 2, R | F, 1, 1, 1, "keyspace", 0, 0 },
	{ "pexpiretime", cmd_pexpiretime, 2, R | F, 1, 1, 1, "keyspace", 0, 0 },
	{ "sort", cmd_sort, -2, W | M, 1, 1, 1, "set", 0, 0 },
	{ "sort_ro", cmd_sort_ro, -2, R, 1, 1, 1, "set", 0, 0 },
	/* ---- end of issue 13 part A ---- */
	/* connection and server */
	{ "ping", cmd_ping, -1, F | S, 0, 0, 0, "connection", 0, 0 },
	{ "echo", cmd_echo, 2, F | S | L, 0, 0, 0, "connection", 0, 0 },
	{ "select", cmd_select, 2, F | S | L, 0, 0, 0, "connection", 0, 0 },
	{ "quit", cmd_quit, -1, F | S | L, 0, 0, 0, "connection", 0, 0 },
	{ "hello", cmd_hello, -1, F | S | L, 0, 0, 0, "connection", 0, 0 },
	{ "reset", cmd_reset, 1, F | S | L, 0, 0, 0, "connection", 0, 0 },
	{ "client", cmd_client, -2, S | L, 0, 0, 0, "connection", 0, 0 },
	{ "time", cmd_time, 1, F | S | L | X, 0, 0, 0, "server", 0, 0 },
	{ "info", cmd_info, -1, S | L | X, 0, 0, 0, "server", 0, 0 },
	{ "config", cmd_config, -2, A | S | L, 0, 0, 0, "server", 0, 0 },
	{ "command", cmd_command, -1, S | L, 0, 0, 0, "server", 0, 0 },
	{ "save", cmd_save, 1, A | N, 0, 0, 0, "server", 0, 0 },
	{ "bgsave", cmd_bgsave, -1, A | N, 0, 0, 0, "server", 0, 0 },
	{ "lastsave", cmd_lastsave, 1, F | S | L | X, 0, 0, 0, "server", 0, 0 },
	{ "shutdown", cmd_shutdown, -1, A | N | S | L, 0, 0, 0, "server", 0, 0 },
	{ "snapshot", cmd_snapshot, -1, A | N, 0, 0, 0, "server", 0, 0 },
	/* ---- SYNC for redis-cli --rdb (repl.c) ---- */
	{ "sync", cmd_sync, 1, A | N | CMD_NOMULTI, 0, 0, 0, "server", 0, 0 },
	{ "psync", cmd_sync, -3, A | N | CMD_NOMULTI, 0, 0, 0, "server", 0, 0 },
	{ "replconf", cmd_replconf, -1, A | N | L | S, 0, 0, 0, "server", 0, 0 },
	{ "rollback", cmd_rollback, 2, W | A | N, 0, 0, 0, "server", 0, 0 },
	/* ---- issue 15: scripting (script.c, function.c) ---- */
	{ "eval", cmd_eval, -3, N | S | CMD_SKIPMON, 0, 0, 0, "scripting", 0, 0 },
	{ "evalsha", cmd_evalsha, -3, N | S | CMD_SKIPMON, 0, 0, 0, "scripting", 0, 0 },
	{ "eval_ro", cmd_eval_ro, -3, N | S | CMD_SKIPMON | R, 0, 0, 0, "scripting", 0, 0 },
	{ "evalsha_ro", cmd_evalsha_ro, -3, N | S | CMD_SKIPMON | R, 0, 0, 0, "scripting", 0, 0 },
	{ "fcall", cmd_fcall, -3, N | S | CMD_SKIPMON, 0, 0, 0, "scripting", 0, 0 },
	{ "fcall_ro", cmd_fcall_ro, -3, N | S | CMD_SKIPMON | R, 0, 0, 0, "scripting", 0, 0 },
	{ "script", cmd_script, -2, N, 0, 0, 0, "scripting", 0, 0 },
	{ "function", cmd_function, -2, N, 0, 0, 0, "scripting", 0, 0 },
	/* ---- issue 15: authentication (acl.c) ---- */
	{ "auth", cmd_auth, -2, N | F | S | L, 0, 0, 0, "connection", 0, 0 },
	{ "acl", cmd_acl, -2, A | N | S | L, 0, 0, 0, "server", 0, 0 },
	/* ---- issue 15: RDB serialization (rdb.c) ---- */
	{ "dump", cmd_dump, 2, R, 1, 1, 1, "keyspace", 0, 0 },
	{ "restore", cmd_restore, -4, W | M, 1, 1, 1, "keyspace", 0, 0 },
	/* ---- issue 13 part B: transactions, blocking, pub/sub, introspection ---- */
	{ "multi", cmd_multi, 1, F | N | L | S, 0, 0, 0, "transaction", 0, 0 },
	{ "exec", cmd_exec_, 1, N | L | S, 0, 0, 0, "transaction", 0, 0 },
	{ "discard", cmd_discard, 1, F | N | L | S, 0, 0, 0, "transaction", 0, 0 },
	{ "watch", cmd_watch, -2, F | N | L | S, 1, -1, 1, "transaction", 0, 0 },
	{ "unwatch", cmd_unwatch, 1, F | N | L | S, 0, 0, 0, "transaction", 0, 0 },
	{ "blpop", cmd_blpop, -3, W | N | B, 1, -2, 1, "list", 0, 0 },
	{ "brpop", cmd_brpop, -3, W | N | B, 1, -2, 1, "list", 0, 0 },
	{ "blmove", cmd_blmove, 6, W | M | N | B, 1, 2, 1, "list", 0, 0 },
	{ "brpoplpush", cmd_brpoplpush, 4, W | M | N | B, 1, 2, 1, "list", 0, 0 },
	{ "blmpop", cmd_blmpop, -5, W | B, 0, 0, 0, "list", 0, 0 },
	{ "bzpopmin", cmd_bzpopmin, -3, W | F | B, 1, -2, 1, "sortedset", 0, 0 },
	{ "bzpopmax", cmd_bzpopmax, -3, W | F | B, 1, -2, 1, "sortedset", 0, 0 },
	{ "bzmpop", cmd_bzmpop, -5, W | B, 0, 0, 0, "sortedset", 0, 0 },
	{ "subscribe", cmd_subscribe, -2, P | N | L | S, 0, 0, 0, "pubsub", 0, 0 },
	{ "unsubscribe", cmd_unsubscribe, -1, P | N | L | S, 0, 0, 0, "pubsub", 0, 0 },
	{ "psubscribe", cmd_psubscribe, -2, P | N | L | S, 0, 0, 0, "pubsub", 0, 0 },
	{ "punsubscribe", cmd_punsubscribe, -1, P | N | L | S, 0, 0, 0, "pubsub", 0, 0 },
	{ "ssubscribe", cmd_ssubscribe, -2, P | N | L | S, 1, -1, 1, "pubsub", 0, 0 },
	{ "sunsubscribe", cmd_sunsubscribe, -1, P | N | L | S, 1, -1, 1, "pubsub", 0, 0 },
	{ "publish", cmd_publish, 3, P | L | S | F, 0, 0, 0, "pubsub", 0, 0 },
	{ "spublish", cmd_spublish, 3, P | L | S | F, 1, 1, 1, "pubsub", 0, 0 },
	{ "pubsub", cmd_pubsub, -2, P | L | S, 0, 0, 0, "pubsub", 0, 0 },
	{ "debug", cmd_debug, -2, A | N | L | S, 0, 0, 0, "server", 0, 0 },
	{ "memory", cmd_memory, -2, R, 0, 0, 0, "server", 0, 0 },
	{ "slowlog", cmd_slowlog, -2, A | L | S, 0, 0, 0, "server", 0, 0 },
	{ "latency", cmd_latency, -2, A | N | L | S, 0, 0, 0, "server", 0, 0 },
	{ "monitor", cmd_monitor, 1, A | N | L | S, 0, 0, 0, "server", 0, 0 },
	/* ---- what clients send to any Redis (cmd_compat.c) ---- */
	{ "role", cmd_role, 1, N | L | S | F, 0, 0, 0, "server", 0, 0 },
	{ "wait", cmd_wait, 3, N, 0, 0, 0, "connection", 0, 0 },
	{ "lolwut", cmd_lolwut, -1, R | F, 0, 0, 0, "server", 0, 0 },
	{ "module", cmd_module, -2, A | N, 0, 0, 0, "server", 0, 0 },
	{ "cluster", cmd_cluster, -2, 0, 0, 0, 0, "server", 0, 0 },
	{ "readonly", cmd_readonly, 1, F | L | S, 0, 0, 0, "connection", 0, 0 },
	{ "readwrite", cmd_readonly, 1, F | L | S, 0, 0, 0, "connection", 0, 0 },
	{ "replicaof", cmd_replicaof, 3, A | N | S, 0, 0, 0, "server", 0, 0 },
	{ "slaveof", cmd_replicaof, 3, A | N | S, 0, 0, 0, "server", 0, 0 },
};

#define NCMDS (sizeof table / sizeof table[0])

/* qsort/bsearch order of the table: by name. */
static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct kv_cmd *)a)->name, ((const struct kv_cmd *)b)->name);
}

/* Sort the table once, for cmd_lookup(). */
static void sort_table(void)
{
	static bool sorted;

	if (!sorted) {
		qsort(table, NCMDS, sizeof table[0], by_name);
		sorted = true;
	}
}

struct kv_cmd *cmd_table(size_t *n)
{
	sort_table();
	*n = NCMDS;
	return table;
}

/* Per command (by table index, the table sorted): refused before running,
 * and ran but replied an error. Beside the table, whose lines initialize
 * calls and usec. */
static uint64_t rejected_calls[NCMDS], failed_calls[NCMDS];

/* Error replies already put down to a command (Redis's prev_err_count):
 * a command that ends with more error replies counted than this failed;
 * one nested in EXEC or a script takes its own errors, not its caller. */
static uint64_t errors_attributed;

void cmd_failures(const struct kv_cmd *cmd, uint64_t *rejected, uint64_t *failed)
{
	*rejected = rejected_calls[cmd - table];
	*failed = failed_calls[cmd - table];
}

void cmd_failures_reset(void)
{
	memset(rejected_calls, 0, sizeof rejected_calls);
	memset(failed_calls, 0, sizeof failed_calls);
	errors_attributed = errstats_any_total();
}

const struct kv_cmd *cmd_lookup(const char *name, size_t len)
{
	struct kv_cmd key;
	char low[32];

	if (len == 0 || len >= sizeof low)
		return NULL;
	for (size_t i = 0; i < len; i++)
		low[i] = (char)tolower((unsigned char)name[i]);
	low[len] = '\0';
	key.name = low;
	sort_table();
	return bsearch(&key, table, NCMDS, sizeof table[0], by_name);
}

/* Redis's error for an unknown command, quoting its first arguments. */
static void reply_unknown(struct client *c)
{
	char args[160];
	size_t n = 0;

	args[0] = '\0';
	for (int i = 1; i < c->argc && n < 128; i++) {
		int k = snprintf(args + n, sizeof args - n, "'%.*s' ",
				 (int)(128 - n), c->argv[i].p);

		if (k < 0)
			break;
		n += (size_t)k < sizeof args - n ? (size_t)k : sizeof args - n - 1;
	}
	reply_errorf(c, "ERR unknown command '%.128s', with args beginning with: %s",
		     c->argv[0].p, args);
}

/* Is the dataset over a maxmemory lowered below the space's size? */
static bool over_maxmemory(void)
{
	if (!srv.maxmemory || srv.maxmemory >= srv.db.size)
		return false;	/* the heap itself says when the space is full */
	return kvdb_used(&srv.db) > srv.maxmemory;
}

/* ---- issue 15: scripts with flags check OOM before they start ---- */
bool cmd_over_maxmemory(void)
{
	return over_maxmemory();
}

/* ---- issue 13 part B: dispatch through MULTI, pub/sub mode, key events ---- */

/* Commands whose first argument is a subcommand (CLIENT LIST shows
 * cmd=client|list, SLOWLOG too). */
static bool has_subcommands(const char *name)
{
	static const char *const names[] = {
		"client", "config", "command", "memory", "slowlog", "latency", "pubsub",
		"object", "function", "script", "acl", "cluster", "xinfo", "xgroup", "module",
	};

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return false;
}

bool cmd_key_range(const struct kv_cmd *cmd, int argc, int *first, int *last, int *step)
{
	if (cmd->first <= 0 || cmd->first >= argc)
		return false;
	*first = cmd->first;
	*last = cmd->last >= 0 ? cmd->last : argc + cmd->last;
	*step = cmd->step > 0 ? cmd->step : 1;
	if (*last >= argc)
		*last = argc - 1;
	return *last >= *first;
}

void keyspace_changed(const char *key, size_t klen)
{
	multi_touch_key(key, klen);
	blocking_key_changed(key, klen);
}

void keyspace_changed_in(unsigned dbi, const char *key, size_t klen)
{
	unsigned cur = srv.db.cur;

	srv.db.cur = dbi;
	keyspace_changed(key, klen);
	srv.db.cur = cur;
}

char *dbkey_make(char *small, size_t smallsz, unsigned dbi, const char *key, size_t klen,
		 size_t *n)
{
	char *k = klen + DBKEY_PFX <= smallsz ? small : malloc(klen + DBKEY_PFX);

	if (!k)
		return NULL;
	for (int i = 0; i < DBKEY_PFX; i++)
		k[i] = (char)(dbi >> (8 * i));
	memcpy(k + DBKEY_PFX, key, klen);
	*n = klen + DBKEY_PFX;
	return k;
}

bool arg_db(struct client *c, int i, unsigned *dbi)
{
	long long v;

	if (!arg_ll(c, i, &v))
		return false;
	if (v < INT_MIN || v > INT_MAX) {
		reply_error(c, "ERR value is out of range, value must between -2147483648 and "
			    "2147483647");
		return false;
	}
	if (!db_index_ok(v)) {
		reply_error(c, "ERR DB index is out of range");
		return false;
	}
	*dbi = (unsigned)v;
	return true;
}

static bool keys_signalled;	/* set by the running command: see cmd_exec() */

void cmd_keys_signalled(void)
{
	keys_signalled = true;
}

void keyspace_all_changed(void)
{
	multi_touch_all();
	blocking_all_changed();
}

/* A write that changed the dataset: every key it names changed. */
static void keys_changed(struct client *c, const struct kv_cmd *cmd)
{
	int first, last, step;

	if (!cmd_key_range(cmd, c->argc, &first, &last, &step))
		return;
	for (int i = first; i <= last; i += step)
		keyspace_changed(c->argv[i].p, c->argv[i].len);
}

/* cmd is c's current command (CLIENT LIST's cmd=): from its lookup on, as
 * Redis's processCommand sets it, so that a command refused by ACL or
 * arity is the one ACL LOG and CLIENT INFO show. */
static void set_current(struct client *c, const struct kv_cmd *cmd)
{
	c->lastcmd = cmd->name;
	c->lastsub[0] = '\0';
	if (c->argc > 1 && has_subcommands(cmd->name)) {
		size_t n = c->argv[1].len < sizeof c->lastsub - 1 ? c->argv[1].len
								: sizeof c->lastsub - 1;

		for (size_t i = 0; i < n; i++)
			c->lastsub[i] = (char)tolower((unsigned char)c->argv[1].p[i]);
		c->lastsub[n] = '\0';
	}
}

void cmd_exec(struct client *c, struct kv_cmd *cmd)
{
	uint64_t dirty = srv.dirty;
	int64_t t0 = srv_mono_us(), usec;
	unsigned outer = srv.db.cur;	/* EXEC's or a script's database */

	/* The command is the client's current one while it runs (CLIENT INFO
	 * shows cmd=client|info, as Redis does). */
	set_current(c, cmd);
	if (!(c->flags & CF_FAKE))	/* issue 15: time stands still inside a script */
		srv.db.now_ms = srv_unix_ms();
	srv.db.cur = c->db;		/* the command acts on c's database */
	keys_signalled = false;
	introspect_before_call(c, cmd);
	cmd->fn(c);
	usec = srv_mono_us() - t0;
	cmd->usec += (uint64_t)usec;
	cmd->calls++;
	if (errstats_any_total() > errors_attributed)
		failed_calls[cmd - table]++;
	errors_attributed = errstats_any_total();
	srv.cmds_total++;
	c->ncmds++;
	if ((cmd->flags & CMD_WRITE) && srv.dirty != dirty && !keys_signalled)
		keys_changed(c, cmd);	/* in c->db as it was: SELECT writes nothing */
	keys_signalled = false;
	introspect_after_call(c, cmd, usec);
	srv.db.cur = outer;
}

/* cmd (NULL when unknown) was refused before running: counted, and inside
 * MULTI, EXEC will abort. */
static void refused(struct client *c, const struct kv_cmd *cmd)
{
	if (cmd)
		rejected_calls[cmd - table]++;
	errors_attributed = errstats_any_total();
	if (c->flags & CF_MULTI)
		multi_flag_error(c);
}

/*
 * misconf_refuses — refuse c's command with MISCONF while the last save
 * failed (persist_writes_denied()), as Redis 7.0's processCommand: a write
 * command, EXEC of a queue holding one, and PING (outside scripts, so that
 * health checks see it). EXEC answers EXECABORT and leaves MULTI; any other
 * command inside MULTI flags the transaction. True if refused.
 */
static bool misconf_refuses(struct client *c, const struct kv_cmd *cmd)
{
	bool writes = (cmd->flags & CMD_WRITE) || (cmd->fn == cmd_exec_ && multi_writes(c)) ||
		      (cmd->fn == cmd_ping && !(c->flags & CF_FAKE));

	if (!writes || !persist_writes_denied())
		return false;
	if (cmd->fn == cmd_exec_ && (c->flags & CF_MULTI)) {
		reply_error(c, "EXECABORT Transaction discarded because of: " MISCONF_ERR);
		multi_discard(c);
		return true;
	}
	reply_misconf(c);
	refused(c, cmd);
	return true;
}

/*
 * noreplicas_refuses — with min-replicas-to-write above 0 (and
 * min-replicas-max-lag above 0), a master needs that many good replicas to
 * accept a write; cowkv has none, so every write command (and EXEC of a
 * queue holding one) is refused with NOREPLICAS, as redis-server refuses
 * it with no replica attached. EXEC answers EXECABORT and leaves MULTI; a
 * write inside MULTI flags the transaction. True if refused.
 */
static bool noreplicas_refuses(struct client *c, const struct kv_cmd *cmd)
{
	static const char err[] = "NOREPLICAS Not enough good replicas to write.";
	bool writes = (cmd->flags & CMD_WRITE) || (cmd->fn == cmd_exec_ && multi_writes(c));

	if (!writes || srv.min_replicas_to_write <= 0 || srv.min_replicas_max_lag <= 0)
		return false;
	if (cmd->fn == cmd_exec_ && (c->flags & CF_MULTI)) {
		reply_error(c, "EXECABORT Transaction discarded because of: NOREPLICAS Not "
			    "enough good replicas to write.");
		multi_discard(c);
		return true;
	}
	reply_error(c, err);
	refused(c, cmd);
	return true;
}

/* The checks of Redis's processCommand, then run or queue. */
static void call_checked(struct client *c)
{
	struct kv_cmd *cmd = (struct kv_cmd *)cmd_lookup(c->argv[0].p, c->argv[0].len);

	/* ---- issue 15: a script past busy-reply-threshold answers for us ---- */
	if (script_current && script_busy_intercept(c))
		return;
	if (!cmd) {
		reply_unknown(c);
		refused(c, cmd);
		return;
	}
	set_current(c, cmd);
	if ((cmd->arity > 0 && c->argc != cmd->arity) ||
	    (cmd->arity < 0 && c->argc < -cmd->arity)) {
		reply_arity(c, cmd->name);
		refused(c, cmd);
		return;
	}
	if (acl_gate(c, cmd)) {	/* issue 15: NOAUTH / NOPERM, after lookup and arity as Redis */
		refused(c, cmd);
		return;
	}
	if ((c->flags & CF_PUBSUB) && !pubsub_allowed(cmd)) {
		reply_errorf(c, "ERR Can't execute '%s': only (P|S)SUBSCRIBE / "
			     "(P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
			     cmd->name);
		return;
	}
	if ((c->flags & CF_MULTI) && (cmd->flags & CMD_NOMULTI)) {
		reply_error(c, "ERR Command not allowed inside a transaction");
		refused(c, cmd);
		return;
	}
	if (over_maxmemory() && ((cmd->flags & CMD_DENYOOM) ||
				 (cmd->fn == cmd_exec_ && multi_denyoom(c))) &&
	    !((c->flags & CF_FAKE) && script_current && script_current->allow_oom)) {
		reply_oom(c);
		if (cmd->fn == cmd_exec_)
			multi_discard(c);
		else
			refused(c, cmd);
		return;
	}
	if (misconf_refuses(c, cmd))
		return;
	if (noreplicas_refuses(c, cmd))
		return;
	if (!(c->flags & CF_FAKE) && pause_holds(c, cmd))
		return;		/* runs when CLIENT PAUSE ends */
	if (multi_queues(c, cmd)) {
		multi_queue(c, cmd);
		return;
	}
	cmd_exec(c, cmd);
}

void cmd_call(struct client *c)
{
	/* CLIENT REPLY SKIP drops the reply of the command after it. */
	if (c->flags & CF_REPLY_SKIP_NEXT) {
		c->flags &= ~(unsigned)CF_REPLY_SKIP_NEXT;
		c->flags |= CF_REPLY_SKIP;
	}
	call_checked(c);
	c->flags &= ~(unsigned)CF_REPLY_SKIP;
	if (!(c->flags & CF_FAKE))	/* a script's writes wake waiters after it */
		blocking_serve_ready();
}

/* ---- COMMAND (issue 13 part B: key specs, subcommands, FILTERBY, GETKEYS,
 * DOCS; everything is derived from the table above and the two below) ---- */

/* Subcommands of the container commands: name and arity as Redis has them. */
static const struct subcmd {
	const char *parent, *name;
	int arity;
} subcmds[] = {
	{ "acl", "cat", -2 }, { "acl", "deluser", -3 }, { "acl", "dryrun", -4 },
	{ "acl", "genpass", -2 }, { "acl", "getuser", 3 }, { "acl", "help", 2 },
	{ "acl", "list", 2 }, { "acl", "load", 2 }, { "acl", "log", -2 }, { "acl", "save", 2 },
	{ "acl", "setuser", -3 }, { "acl", "users", 2 }, { "acl", "whoami", 2 },
	{ "client", "getname", 2 }, { "client", "getredir", 2 }, { "client", "help", 2 },
	{ "client", "id", 2 }, { "client", "info", 2 }, { "client", "kill", -3 },
	{ "client", "list", -2 }, { "client", "no-evict", 3 }, { "client", "reply", 3 },
	{ "client", "pause", -3 }, { "client", "setname", 3 }, { "client", "unblock", -3 },
	{ "client", "unpause", 2 },
	/* cmd_compat.c: each answers "cluster support disabled", as Redis's do */
	{ "cluster", "addslots", -3 }, { "cluster", "addslotsrange", -4 },
	{ "cluster", "bumpepoch", 2 }, { "cluster", "count-failure-reports", 3 },
	{ "cluster", "countkeysinslot", 3 }, { "cluster", "delslots", -3 },
	{ "cluster", "delslotsrange", -4 }, { "cluster", "failover", -2 },
	{ "cluster", "flushslots", 2 }, { "cluster", "forget", 3 },
	{ "cluster", "getkeysinslot", 4 }, { "cluster", "help", 2 }, { "cluster", "info", 2 },
	{ "cluster", "keyslot", 3 }, { "cluster", "links", 2 }, { "cluster", "meet", -4 },
	{ "cluster", "myid", 2 }, { "cluster", "nodes", 2 }, { "cluster", "replicas", 3 },
	{ "cluster", "replicate", 3 }, { "cluster", "reset", -2 },
	{ "cluster", "saveconfig", 2 }, { "cluster", "set-config-epoch", 3 },
	{ "cluster", "setslot", -4 }, { "cluster", "shards", 2 }, { "cluster", "slaves", 3 },
	{ "cluster", "slots", 2 },
	{ "command", "count", 2 }, { "command", "docs", -2 }, { "command", "getkeys", -4 },
	{ "command", "getkeysandflags", -4 },
	{ "command", "help", 2 }, { "command", "info", -2 }, { "command", "list", -2 },
	{ "config", "get", -3 }, { "config", "help", 2 }, { "config", "resetstat", 2 },
	{ "config", "rewrite", 2 }, { "config", "set", -4 },
	{ "latency", "doctor", 2 }, { "latency", "help", 2 }, { "latency", "history", 3 },
	{ "latency", "latest", 2 }, { "latency", "reset", -2 },
	{ "memory", "doctor", 2 }, { "memory", "help", 2 }, { "memory", "malloc-stats", 2 },
	{ "memory", "purge", 2 },
	{ "function", "delete", 3 }, { "function", "dump", 2 }, { "function", "flush", -2 },
	{ "function", "help", 2 }, { "function", "kill", 2 }, { "function", "list", -2 },
	{ "function", "load", -3 }, { "function", "restore", -3 }, { "function", "stats", 2 },
	{ "memory", "stats", 2 }, { "memory", "usage", -3 },
	{ "module", "help", 2 }, { "module", "list", 2 }, { "module", "load", -3 },
	{ "module", "loadex", -3 }, { "module", "unload", 3 },
	{ "object", "encoding", 3 }, { "object", "freq", 3 }, { "object", "help", 2 },
	{ "object", "idletime", 3 }, { "object", "refcount", 3 },
	{ "pubsub", "channels", -2 }, { "pubsub", "help", 2 }, { "pubsub", "numpat", 2 },
	{ "pubsub", "numsub", -2 }, { "pubsub", "shardchannels", -2 },
	{ "pubsub", "shardnumsub", -2 },
	{ "script", "debug", 3 }, { "script", "exists", -3 }, { "script", "flush", -2 },
	{ "script", "help", 2 }, { "script", "kill", 2 }, { "script", "load", 3 },
	{ "slowlog", "get", -2 }, { "slowlog", "help", 2 }, { "slowlog", "len", 2 },
	{ "slowlog", "reset", 2 },
};

#define NSUBCMDS (sizeof subcmds / sizeof subcmds[0])

/* Commands whose keys follow a count argument: numkeys at index num; first
 * is an extra key before it (a destination), or 0; lax: a bad count means
 * no keys rather than an error (scripts and functions, as Redis 7.0). */
static const struct movable {
	const char *name;
	int num, first;
	bool lax;
} movables[] = {
	{ "blmpop", 2, 0, false }, { "lmpop", 1, 0, false }, { "bzmpop", 2, 0, false },
	{ "zmpop", 1, 0, false }, { "sintercard", 1, 0, false }, { "zintercard", 1, 0, false },
	{ "zunion", 1, 0, false }, { "zinter", 1, 0, false }, { "zdiff", 1, 0, false },
	{ "zunionstore", 2, 1, false }, { "zinterstore", 2, 1, false },
	{ "zdiffstore", 2, 1, false },
	{ "eval", 2, 0, true }, { "evalsha", 2, 0, true }, { "eval_ro", 2, 0, true },
	{ "evalsha_ro", 2, 0, true }, { "fcall", 2, 0, true }, { "fcall_ro", 2, 0, true },
};

static const struct movable *movable_of(const struct kv_cmd *cmd)
{
	for (size_t i = 0; i < sizeof movables / sizeof movables[0]; i++)
		if (strcmp(movables[i].name, cmd->name) == 0)
			return &movables[i];
	return NULL;
}

/* sort_store_key — the index of SORT's STORE destination in argv, or 0:
 * the argument after the last STORE, passing over the arguments of LIMIT
 * (two), BY and GET (one each), as Redis finds it. */
static int sort_store_key(int argc, const struct kv_arg *argv)
{
	int at = 0;

	for (int j = 2; j < argc; j++) {
		const char *a = argv[j].p;
		size_t n = argv[j].len;

		if (n == 5 && !strncasecmp(a, "limit", 5))
			j += 2;
		else if ((n == 2 && !strncasecmp(a, "by", 2)) || (n == 3 && !strncasecmp(a, "get", 3)))
			j += 1;
		else if (n == 5 && !strncasecmp(a, "store", 5) && j + 1 < argc)
			at = ++j;
	}
	return at;
}

/* Commands whose key at argv index `at` is a destination, only written,
 * their other keys only read (Redis's OW and RO key flags); at 0: no
 * destination among the table's keys, which are only read (SORT and
 * GEORADIUS, whose STORE keys are found apart; WATCH). */
static const struct { const char *name; int at; } dests[] = {
	{ "sunionstore", 1 }, { "sinterstore", 1 }, { "sdiffstore", 1 },
	{ "zrangestore", 1 }, { "geosearchstore", 1 }, { "bitop", 2 }, { "copy", 2 },
	{ "sort", 0 }, { "georadius", 0 }, { "georadiusbymember", 0 },
	{ "watch", 0 },	/* neither a read nor a write command: its keys are RO */
};

/* table_key_access — what key argv[i] of cmd (one of the table's) needs. */
static unsigned char table_key_access(const struct kv_cmd *cmd, int i)
{
	for (size_t k = 0; k < sizeof dests / sizeof dests[0]; k++)
		if (!strcmp(dests[k].name, cmd->name))
			return i == dests[k].at ? CMD_KEY_WRITE : CMD_KEY_READ;
	return CMD_KEY_AS_CMD;
}

int cmd_key_args(const struct kv_cmd *cmd, int argc, const struct kv_arg *argv, int *idx,
		 unsigned char *access)
{
	const struct movable *mv = movable_of(cmd);
	int n = 0, first, last, step, extra[2], k;
	long long nk;

	if (mv) {
		if (mv->num >= argc || !resp_str2ll(argv[mv->num].p, argv[mv->num].len, &nk) ||
		    nk < 1 || nk > argc - mv->num - 1)
			return mv->lax ? 0 : -1;
		if (mv->first) {
			access[n] = CMD_KEY_WRITE;
			idx[n++] = mv->first;
		}
		for (long long i = 0; i < nk; i++) {
			access[n] = mv->first ? CMD_KEY_READ : CMD_KEY_AS_CMD;
			idx[n++] = mv->num + 1 + (int)i;
		}
		return n;
	}
	if (cmd_key_range(cmd, argc, &first, &last, &step))
		for (int i = first; i <= last; i += step) {
			access[n] = table_key_access(cmd, i);
			idx[n++] = i;
		}
	k = geo_store_keys(cmd->name, argc, argv, extra);	/* GEORADIUS ... STORE */
	for (int j = 0; j < k; j++) {
		access[n] = CMD_KEY_WRITE;
		idx[n++] = extra[j];
	}
	if (!strcmp(cmd->name, "sort") && (k = sort_store_key(argc, argv))) {
		access[n] = CMD_KEY_WRITE;
		idx[n++] = k;
	}
	if (!strcmp(cmd->name, "memory") && argc >= 3 && argv[1].len == 5 &&
	    !strncasecmp(argv[1].p, "usage", 5)) {	/* MEMORY USAGE key */
		access[n] = CMD_KEY_READ;
		idx[n++] = 2;
	}
	return n;
}

static const struct { unsigned bit; const char *name; } flag_names[] = {
	{ CMD_WRITE, "write" }, { CMD_READONLY, "readonly" }, { CMD_DENYOOM, "denyoom" },
	{ CMD_ADMIN, "admin" }, { CMD_PUBSUB, "pubsub" }, { CMD_NOSCRIPT, "noscript" },
	{ CMD_BLOCKING, "blocking" }, { CMD_LOADING, "loading" }, { CMD_STALE, "stale" },
	{ CMD_FAST, "fast" }, { CMD_NOMULTI, "no_multi" }, { CMD_SKIPMON, "skip_monitor" },
};

static void reply_flags(struct client *c, const struct kv_cmd *cmd)
{
	bool movable = movable_of(cmd) || geo_has_store_keys(cmd->name) ||
		       !strcmp(cmd->name, "sort") || !strcmp(cmd->name, "sort_ro");
	long long n = movable;

	for (size_t i = 0; i < sizeof flag_names / sizeof flag_names[0]; i++)
		n += (cmd->flags & flag_names[i].bit) != 0;
	reply_array(c, n);
	for (size_t i = 0; i < sizeof flag_names / sizeof flag_names[0]; i++)
		if (cmd->flags & flag_names[i].bit)
			reply_status(c, flag_names[i].name);
	if (movable)
		reply_status(c, "movablekeys");
}

/* The ACL categories of a command, without their '@'; returns how many. */
static int categories(const struct kv_cmd *cmd, const char *out[8])
{
	int n = 0;

	if (cmd->flags & CMD_WRITE)
		out[n++] = "write";
	else if (cmd->flags & CMD_READONLY)
		out[n++] = "read";
	out[n++] = cmd->group;
	if (cmd->flags & CMD_ADMIN) {
		out[n++] = "admin";
		out[n++] = "dangerous";
	}
	out[n++] = (cmd->flags & CMD_FAST) ? "fast" : "slow";
	if (cmd->flags & CMD_BLOCKING)
		out[n++] = "blocking";
	return n;
}

static void reply_categories(struct client *c, const struct kv_cmd *cmd)
{
	const char *cat[8];
	int n = categories(cmd, cat);
	char g[40];

	reply_array(c, n);
	for (int i = 0; i < n; i++) {
		snprintf(g, sizeof g, "@%s", cat[i]);
		reply_status(c, g);
	}
}

/* Key specifications (Redis 7), from first/last/step or the movable table. */
static void reply_key_specs(struct client *c, const struct kv_cmd *cmd)
{
	const struct movable *mv = movable_of(cmd);
	bool w = cmd->flags & CMD_WRITE;
	int nspecs = mv ? 1 + (mv->first > 0) : cmd->first > 0;

	reply_array(c, nspecs);
	for (int k = 0; k < nspecs; k++) {
		bool range = !mv || (mv->first > 0 && k == 0);
		int begin = !mv ? cmd->first : (range ? mv->first : mv->num);

		reply_array(c, 6);
		reply_bulk_str(c, "flags");
		reply_array(c, 2);
		/* Generic flags: Redis refines them per command (OW, RM,
		 * insert, delete...), cowkv's table does not say that much. */
		reply_status(c, w ? "RW" : "RO");
		reply_status(c, w ? "update" : "access");
		reply_bulk_str(c, "begin_search");
		reply_array(c, 4);
		reply_bulk_str(c, "type");
		reply_bulk_str(c, "index");
		reply_bulk_str(c, "spec");
		reply_array(c, 2);
		reply_bulk_str(c, "index");
		reply_int(c, begin);
		reply_bulk_str(c, "find_keys");
		reply_array(c, 4);
		reply_bulk_str(c, "type");
		reply_bulk_str(c, range ? "range" : "keynum");
		reply_bulk_str(c, "spec");
		reply_array(c, 6);
		if (range) {
			int last = !mv ? cmd->last : mv->first;

			reply_bulk_str(c, "lastkey");
			reply_int(c, last >= 0 ? last - begin : last);
			reply_bulk_str(c, "keystep");
			reply_int(c, !mv ? cmd->step : 1);
			reply_bulk_str(c, "limit");
			reply_int(c, 0);
		} else {
			reply_bulk_str(c, "keynumidx");
			reply_int(c, 0);
			reply_bulk_str(c, "firstkey");
			reply_int(c, 1);
			reply_bulk_str(c, "keystep");
			reply_int(c, 1);
		}
	}
}

static size_t nsubs_of(const struct kv_cmd *cmd)
{
	size_t n = 0;

	for (size_t i = 0; i < NSUBCMDS; i++)
		n += strcmp(subcmds[i].parent, cmd->name) == 0;
	return n;
}

static void reply_command_info(struct client *c, const struct kv_cmd *cmd);

/* A subcommand as COMMAND INFO describes it (the parent's flags). */
static void reply_sub_info(struct client *c, const struct kv_cmd *cmd, const struct subcmd *s)
{
	char name[64];

	snprintf(name, sizeof name, "%s|%s", s->parent, s->name);
	reply_array(c, 10);
	reply_bulk_str(c, name);
	reply_int(c, s->arity);
	reply_flags(c, cmd);
	reply_int(c, 0);
	reply_int(c, 0);
	reply_int(c, 0);
	reply_categories(c, cmd);
	reply_array(c, 0);
	reply_array(c, 0);
	reply_array(c, 0);
}

/* One command as Redis 7 describes it: name, arity, flags, first key, last
 * key, step, ACL categories, tips, key specs, subcommands. */
static void reply_command_info(struct client *c, const struct kv_cmd *cmd)
{
	reply_array(c, 10);
	reply_bulk_str(c, cmd->name);
	reply_int(c, cmd->arity);
	reply_flags(c, cmd);
	reply_int(c, cmd->first);
	reply_int(c, cmd->last);
	reply_int(c, cmd->step);
	reply_categories(c, cmd);
	reply_array(c, 0);
	reply_key_specs(c, cmd);
	reply_array(c, (long long)nsubs_of(cmd));
	for (size_t i = 0; i < NSUBCMDS; i++)
		if (strcmp(subcmds[i].parent, cmd->name) == 0)
			reply_sub_info(c, cmd, &subcmds[i]);
}

/* COMMAND INFO/DOCS name: a command, or "parent|sub". */
static const struct kv_cmd *lookup_full(const struct kv_arg *a, const struct subcmd **sub)
{
	const char *bar = memchr(a->p, '|', a->len);

	*sub = NULL;
	if (!bar)
		return cmd_lookup(a->p, a->len);
	for (size_t i = 0; i < NSUBCMDS; i++) {
		size_t pl = (size_t)(bar - a->p);

		if (strlen(subcmds[i].parent) == pl && strncasecmp(subcmds[i].parent, a->p, pl) == 0 &&
		    strcasecmp(subcmds[i].name, bar + 1) == 0) {
			*sub = &subcmds[i];
			return cmd_lookup(a->p, pl);
		}
	}
	return NULL;
}

/*
 * The keys of the command line argv[2..] of COMMAND GETKEYS and
 * GETKEYSANDFLAGS: their indexes (into argv) in idx[], which the caller
 * frees; returns how many (0 for none), or -1 after replying Redis's error
 * (an unknown command, a wrong arity, a bad key count, no key argument).
 */
static long long getkeys_of(struct client *c, const struct kv_cmd **cmdp, int **idx)
{
	const struct kv_cmd *cmd = cmd_lookup(c->argv[2].p, c->argv[2].len);
	int argc = c->argc - 2;
	unsigned char *access;
	long long n;

	*cmdp = cmd;
	*idx = NULL;
	if (!cmd) {
		reply_error(c, "ERR Invalid command specified");
		return -1;
	}
	if ((cmd->arity > 0 && argc != cmd->arity) || (cmd->arity < 0 && argc < -cmd->arity)) {
		reply_error(c, "ERR Invalid number of arguments specified for command");
		return -1;
	}
	access = malloc((size_t)argc + 3);
	if (!access || !(*idx = malloc(sizeof **idx * ((size_t)argc + 3)))) {
		free(access);
		reply_oom(c);
		return -1;
	}
	n = cmd_key_args(cmd, argc, c->argv + 2, *idx, access);
	if (n == 0 && !movable_of(cmd))
		n = -2;
	free(access);
	if (n < 0) {
		reply_error(c, n == -2 ? "ERR The command has no key arguments"
				       : "ERR Invalid arguments specified for command");
		free(*idx);
		return -1;
	}
	for (long long i = 0; i < n; i++)
		(*idx)[i] += 2;
	return n;
}

/* COMMAND GETKEYS: the keys of a command line. */
static void command_getkeys(struct client *c)
{
	const struct kv_cmd *cmd;
	int *idx;
	long long n = getkeys_of(c, &cmd, &idx);

	if (n < 0)
		return;
	reply_array(c, n);
	for (long long i = 0; i < n; i++)
		reply_bulk(c, c->argv[idx[i]].p, c->argv[idx[i]].len);
	free(idx);
}

/* COMMAND GETKEYSANDFLAGS: each key with its key specification's flags;
 * cowkv's are the generic ones of reply_key_specs() (RW update or RO
 * access), where Redis refines them per command (OW, insert, delete...). */
static void command_getkeysandflags(struct client *c)
{
	const struct kv_cmd *cmd;
	int *idx;
	long long n = getkeys_of(c, &cmd, &idx);
	bool w;

	if (n < 0)
		return;
	w = cmd->flags & CMD_WRITE;
	reply_array(c, n);
	for (long long i = 0; i < n; i++) {
		reply_array(c, 2);
		reply_bulk(c, c->argv[idx[i]].p, c->argv[idx[i]].len);
		reply_array(c, 2);
		reply_status(c, w ? "RW" : "RO");
		reply_status(c, w ? "update" : "access");
	}
	free(idx);
}

/* Does cmd pass COMMAND LIST's FILTERBY? */
static bool list_filter(struct client *c, const struct kv_cmd *cmd, const char *full)
{
	const char *cat[8];
	int n;

	if (c->argc != 5)
		return true;
	if (arg_is(c, 3, "module"))
		return false;	/* no modules */
	if (arg_is(c, 3, "pattern"))
		return glob_match(c->argv[4].p, c->argv[4].len, full, strlen(full), true);
	n = categories(cmd, cat);
	for (int i = 0; i < n; i++)
		if (strcasecmp(cat[i], c->argv[4].p) == 0)
			return true;
	return false;
}

/* COMMAND LIST [FILTERBY MODULE name | ACLCAT cat | PATTERN pattern] */
static void command_list(struct client *c, struct kv_cmd *t, size_t n)
{
	struct obuf *h;
	long long k = 0;

	if (c->argc != 2 && !(c->argc == 5 && arg_is(c, 2, "filterby") &&
			      (arg_is(c, 3, "module") || arg_is(c, 3, "aclcat") ||
			       arg_is(c, 3, "pattern")))) {
		reply_syntax(c);
		return;
	}
	h = reply_defer(c);
	for (size_t i = 0; i < n; i++) {
		if (list_filter(c, &t[i], t[i].name)) {
			reply_bulk_str(c, t[i].name);
			k++;
		}
		for (size_t j = 0; j < NSUBCMDS; j++) {
			char full[64];

			if (strcmp(subcmds[j].parent, t[i].name))
				continue;
			snprintf(full, sizeof full, "%s|%s", subcmds[j].parent, subcmds[j].name);
			if (list_filter(c, &t[i], full)) {
				reply_bulk_str(c, full);
				k++;
			}
		}
	}
	reply_defer_set(c, h, k);
}

/* COMMAND DOCS of one command or subcommand: a map (cmd_docs.c). */
static void reply_docs(struct client *c, const char *name, const struct kv_cmd *cmd,
		       const struct subcmd *sub)
{
	const char *group = strcmp(cmd->group, "keyspace") == 0 ? "generic" : cmd->group;
	struct obuf *h;
	int pairs;

	reply_bulk_str(c, name);
	h = reply_defer(c);
	pairs = cmd_docs_reply(c, sub ? name : cmd->name, group);
	if (!sub && nsubs_of(cmd)) {
		reply_bulk_str(c, "subcommands");
		reply_array(c, 2 * (long long)nsubs_of(cmd));
		for (size_t i = 0; i < NSUBCMDS; i++) {
			char full[64];

			if (strcmp(subcmds[i].parent, cmd->name))
				continue;
			snprintf(full, sizeof full, "%s|%s", subcmds[i].parent, subcmds[i].name);
			reply_docs(c, full, cmd, &subcmds[i]);
		}
		pairs++;
	}
	reply_defer_set(c, h, 2LL * pairs);
}

static void command_docs(struct client *c, struct kv_cmd *t, size_t n)
{
	struct obuf *h = reply_defer(c);
	long long k = 0;

	if (c->argc == 2) {
		for (size_t i = 0; i < n; i++, k++)
			reply_docs(c, t[i].name, &t[i], NULL);
	} else {
		for (int i = 2; i < c->argc; i++) {
			const struct subcmd *sub;
			const struct kv_cmd *cmd = lookup_full(&c->argv[i], &sub);
			char low[64];

			if (!cmd)
				continue;
			snprintf(low, sizeof low, "%s", c->argv[i].p);
			for (char *p = low; *p; p++)
				*p = (char)tolower((unsigned char)*p);
			reply_docs(c, low, cmd, sub);
			k++;
		}
	}
	reply_defer_set(c, h, 2 * k);
}

static const char *command_help[] = {
	"COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"(no subcommand)",
	"    Return details about all cowkv commands.",
	"COUNT",
	"    Return the total number of commands in this cowkv server.",
	"LIST [FILTERBY (MODULE <module-name>|ACLCAT <category>|PATTERN <pattern>)]",
	"    Return a list of all commands in this cowkv server.",
	"INFO [<command-name> ...]",
	"    Return details about multiple cowkv commands.",
	"DOCS [<command-name> ...]",
	"    Return documentation details about multiple cowkv commands.",
	"GETKEYS <full-command>",
	"    Return the keys from a full cowkv command.",
	"GETKEYSANDFLAGS <full-command>",
	"    Return the keys and the access flags from a full cowkv command.",
	"HELP",
	"    Print this help.",
};

void cmd_command(struct client *c)
{
	size_t n;
	struct kv_cmd *t = cmd_table(&n);

	if (c->argc == 1) {
		reply_array(c, (long long)n);
		for (size_t i = 0; i < n; i++)
			reply_command_info(c, &t[i]);
	} else if (arg_is(c, 1, "count") && c->argc == 2) {
		reply_int(c, (long long)n);
	} else if (arg_is(c, 1, "list")) {
		command_list(c, t, n);
	} else if (arg_is(c, 1, "info")) {
		struct obuf *h = reply_defer(c);
		long long k = 0;

		if (c->argc == 2) {
			for (size_t i = 0; i < n; i++, k++)
				reply_command_info(c, &t[i]);
		}
		for (int i = 2; i < c->argc; i++, k++) {
			const struct subcmd *sub;
			const struct kv_cmd *cmd = lookup_full(&c->argv[i], &sub);

			if (cmd && sub)
				reply_sub_info(c, cmd, sub);
			else if (cmd)
				reply_command_info(c, cmd);
			else
				reply_nil(c);
		}
		reply_defer_set(c, h, k);
	} else if (arg_is(c, 1, "docs")) {
		command_docs(c, t, n);
	} else if (arg_is(c, 1, "getkeys") && c->argc >= 4) {
		command_getkeys(c);
	} else if (arg_is(c, 1, "getkeysandflags") && c->argc >= 4) {
		command_getkeysandflags(c);
	} else if (arg_is(c, 1, "help") && c->argc == 2) {
		reply_array(c, sizeof command_help / sizeof command_help[0]);
		for (size_t i = 0; i < sizeof command_help / sizeof command_help[0]; i++)
			reply_status(c, command_help[i]);
	} else if (arg_is(c, 1, "count") || arg_is(c, 1, "getkeys") ||
		   arg_is(c, 1, "getkeysandflags") || arg_is(c, 1, "help")) {
		char name[48];

		snprintf(name, sizeof name, "command|%s", c->argv[1].p);
		for (char *p = name; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		reply_arity(c, name);
	} else {
		reply_subcommand(c, "COMMAND");
	}
}
