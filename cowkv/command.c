/*
 * command.c — the command table, dispatch (lookup, arity, OOM check) and
 * the COMMAND command that describes the table to clients.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

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

/* ---- issue 13 part B: dispatch through MULTI, pub/sub mode, key events ---- */

/* Commands whose first argument is a subcommand (CLIENT LIST shows
 * cmd=client|list, SLOWLOG too). */
static bool has_subcommands(const char *name)
{
	static const char *const names[] = {
		"client", "config", "command", "memory", "slowlog", "latency", "pubsub",
		"object", "function", "script", "acl", "cluster", "xinfo", "xgroup",
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

void keyspace_all_changed(void)
{
	multi_touch_all();
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

void cmd_exec(struct client *c, struct kv_cmd *cmd)
{
	uint64_t dirty = srv.dirty;
	int64_t t0 = srv_mono_us(), usec;

	srv.db.now_ms = srv_unix_ms();
	cmd->fn(c);
	usec = srv_mono_us() - t0;
	cmd->usec += (uint64_t)usec;
	cmd->calls++;
	srv.cmds_total++;
	c->ncmds++;
	c->lastcmd = cmd->name;
	c->lastsub[0] = '\0';
	if (c->argc > 1 && has_subcommands(cmd->name)) {
		size_t n = c->argv[1].len < sizeof c->lastsub - 1 ? c->argv[1].len
								: sizeof c->lastsub - 1;

		for (size_t i = 0; i < n; i++)
			c->lastsub[i] = (char)tolower((unsigned char)c->argv[1].p[i]);
		c->lastsub[n] = '\0';
	}
	if ((cmd->flags & CMD_WRITE) && srv.dirty != dirty)
		keys_changed(c, cmd);
	introspect_after_call(c, cmd, usec);
}

/* A command refused before running: inside MULTI, EXEC will abort. */
static void refused(struct client *c)
{
	if (c->flags & CF_MULTI)
		multi_flag_error(c);
}

/* The checks of Redis's processCommand, then run or queue. */
static void call_checked(struct client *c)
{
	struct kv_cmd *cmd = (struct kv_cmd *)cmd_lookup(c->argv[0].p, c->argv[0].len);

	if (!cmd) {
		reply_unknown(c);
		refused(c);
		return;
	}
	if ((cmd->arity > 0 && c->argc != cmd->arity) ||
	    (cmd->arity < 0 && c->argc < -cmd->arity)) {
		reply_arity(c, cmd->name);
		refused(c);
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
		refused(c);
		return;
	}
	if (over_maxmemory() && ((cmd->flags & CMD_DENYOOM) ||
				 (cmd->fn == cmd_exec_ && multi_denyoom(c)))) {
		reply_oom(c);
		if (cmd->fn == cmd_exec_)
			multi_discard(c);
		else
			refused(c);
		return;
	}
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
	blocking_serve_ready();
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
