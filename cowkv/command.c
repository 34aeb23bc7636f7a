/*
 * command.c — the command table, dispatch (lookup, arity, OOM check) and
 * the COMMAND command that describes the table to clients.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"
#include "types.h"	/* issue 13 part A commands */

#define W CMD_WRITE
#define R CMD_READONLY
#define M CMD_DENYOOM
#define F CMD_FAST
#define A CMD_ADMIN
#define N CMD_NOSCRIPT
#define L CMD_LOADING
#define S CMD_STALE
#define X CMD_RANDOM

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
	{ "lcs", cmd_lcs, -3, R, 1, 1, 1, "string", 0, 0 },
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
	{ "rollback", cmd_rollback, 2, W | A | N, 0, 0, 0, "server", 0, 0 },
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

void cmd_call(struct client *c)
{
	struct kv_cmd *cmd = (struct kv_cmd *)cmd_lookup(c->argv[0].p, c->argv[0].len);
	int64_t t0;

	if (!cmd) {
		reply_unknown(c);
		return;
	}
	if ((cmd->arity > 0 && c->argc != cmd->arity) ||
	    (cmd->arity < 0 && c->argc < -cmd->arity)) {
		reply_arity(c, cmd->name);
		return;
	}
	if ((cmd->flags & CMD_DENYOOM) && over_maxmemory()) {
		reply_oom(c);
		return;
	}
	t0 = srv_mono_us();
	srv.db.now_ms = srv_unix_ms();
	cmd->fn(c);
	cmd->usec += (uint64_t)(srv_mono_us() - t0);
	cmd->calls++;
	srv.cmds_total++;
	c->ncmds++;
	c->lastcmd = cmd->name;
}

/* ---- COMMAND ---------------------------------------------------------- */

static void reply_flags(struct client *c, unsigned flags)
{
	static const struct { unsigned bit; const char *name; } names[] = {
		{ CMD_WRITE, "write" }, { CMD_READONLY, "readonly" },
		{ CMD_DENYOOM, "denyoom" }, { CMD_ADMIN, "admin" },
		{ CMD_NOSCRIPT, "noscript" }, { CMD_LOADING, "loading" },
		{ CMD_STALE, "stale" }, { CMD_FAST, "fast" },
	};
	long long n = 0;

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		n += (flags & names[i].bit) != 0;
	reply_array(c, n);
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (flags & names[i].bit)
			reply_status(c, names[i].name);
}

/* COMMAND's ACL categories of a command. */
static void reply_categories(struct client *c, const struct kv_cmd *cmd)
{
	char g[32];
	long long n = 2;

	if (cmd->flags & (CMD_WRITE | CMD_READONLY))
		n++;
	reply_array(c, n);
	if (cmd->flags & CMD_WRITE)
		reply_status(c, "@write");
	else if (cmd->flags & CMD_READONLY)
		reply_status(c, "@read");
	snprintf(g, sizeof g, "@%s", cmd->group);
	reply_status(c, g);
	reply_status(c, (cmd->flags & CMD_FAST) ? "@fast" : "@slow");
}

/* One command as Redis 7 describes it: name, arity, flags, first key, last
 * key, step, ACL categories, tips, key specs, subcommands. */
static void reply_command_info(struct client *c, const struct kv_cmd *cmd)
{
	reply_array(c, 10);
	reply_bulk_str(c, cmd->name);
	reply_int(c, cmd->arity);
	reply_flags(c, cmd->flags);
	reply_int(c, cmd->first);
	reply_int(c, cmd->last);
	reply_int(c, cmd->step);
	reply_categories(c, cmd);
	reply_array(c, 0);
	reply_array(c, 0);
	reply_array(c, 0);
}

static const char *command_help[] = {
	"COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"(no subcommand)",
	"    Return details about all cowkv commands.",
	"COUNT",
	"    Return the total number of commands in this cowkv server.",
	"LIST",
	"    Return a list of all commands in this cowkv server.",
	"INFO [<command-name> ...]",
	"    Return details about multiple cowkv commands.",
	"DOCS [<command-name> ...]",
	"    Return documentation details about multiple cowkv commands (none).",
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
	} else if (arg_is(c, 1, "list") && c->argc == 2) {
		reply_array(c, (long long)n);
		for (size_t i = 0; i < n; i++)
			reply_bulk_str(c, t[i].name);
	} else if (arg_is(c, 1, "info")) {
		reply_array(c, c->argc - 2);
		for (int i = 2; i < c->argc; i++) {
			const struct kv_cmd *cmd = cmd_lookup(c->argv[i].p, c->argv[i].len);

			if (cmd)
				reply_command_info(c, cmd);
			else
				reply_nil_array(c);
		}
	} else if (arg_is(c, 1, "docs")) {
		reply_array(c, 0);
	} else if (arg_is(c, 1, "help") && c->argc == 2) {
		reply_array(c, sizeof command_help / sizeof command_help[0]);
		for (size_t i = 0; i < sizeof command_help / sizeof command_help[0]; i++)
			reply_status(c, command_help[i]);
	} else if (arg_is(c, 1, "count") || arg_is(c, 1, "list") || arg_is(c, 1, "help")) {
		char name[48];

		snprintf(name, sizeof name, "command|%s", c->argv[1].p);
		for (char *p = name; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		reply_arity(c, name);
	} else {
		reply_subcommand(c, "COMMAND");
	}
}
