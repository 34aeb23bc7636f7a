/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cmd_docs.c — what COMMAND DOCS says about each command: a summary and the
 * syntax as Redis's documentation writes it ("key [key ...] timeout"), from
 * which the "arguments" tree that redis-cli turns into its hints is built:
 *
 *   UPPER           a pure token            [ ... ]    optional
 *   lower           an argument             ( a | b )  one of
 *   TOKEN lower     an argument after its token
 *   x [x ...]       x, repeated ("multiple")
 *
 * One line per command here; PART A's commands add theirs. A command
 * without a line still gets its group and arity.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

static const struct doc {
	const char *name, *summary, *syntax;
} docs[] = {
	{ "append", "Appends a string to the value of a key.", "key value" },
	{ "bgsave", "Saves the dataset in the background.", "[SCHEDULE]" },
	{ "blmove", "Pops an element from a list, pushes it to another list and returns it; blocks until one is available.", "source destination (LEFT | RIGHT) (LEFT | RIGHT) timeout" },
	{ "blmpop", "Pops the first element from one of multiple lists; blocks until one is available.", "timeout numkeys key [key ...] (LEFT | RIGHT) [COUNT count]" },
	{ "blpop", "Removes and returns the first element in a list; blocks until one is available.", "key [key ...] timeout" },
	{ "brpop", "Removes and returns the last element in a list; blocks until one is available.", "key [key ...] timeout" },
	{ "brpoplpush", "Pops an element from a list, pushes it to another list and returns it; blocks until one is available.", "source destination timeout" },
	{ "dbsize", "Returns the number of keys in the database.", "" },
	{ "decr", "Decrements the integer value of a key by one.", "key" },
	{ "decrby", "Decrements a number from the integer value of a key.", "key decrement" },
	{ "del", "Deletes one or more keys.", "key [key ...]" },
	{ "discard", "Discards a transaction.", "" },
	{ "echo", "Returns the given string.", "message" },
	{ "exec", "Executes all commands in a transaction.", "" },
	{ "exists", "Determines whether one or more keys exist.", "key [key ...]" },
	{ "expire", "Sets the expiration time of a key in seconds.", "key seconds [NX | XX | GT | LT]" },
	{ "expireat", "Sets the expiration time of a key to a Unix timestamp.", "key unix-time-seconds [NX | XX | GT | LT]" },
	{ "flushall", "Removes all keys from all databases.", "[ASYNC | SYNC]" },
	{ "flushdb", "Removes all keys from the current database.", "[ASYNC | SYNC]" },
	/* geo (cmd_geo.c) */
	{ "geoadd", "Add one or more geospatial items in the geospatial index represented using a sorted set", "key [NX | XX] [CH] longitude latitude member [longitude latitude member ...]" },
	{ "geodist", "Returns the distance between two members of a geospatial index", "key member1 member2 [M | KM | FT | MI]" },
	{ "geohash", "Returns members of a geospatial index as standard geohash strings", "key [member [member ...]]" },
	{ "geopos", "Returns longitude and latitude of members of a geospatial index", "key [member [member ...]]" },
	{ "georadius", "Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a point", "key longitude latitude radius (M | KM | FT | MI) [WITHCOORD] [WITHDIST] [WITHHASH] [COUNT count [ANY]] [ASC | DESC] [STORE key | STOREDIST key]" },
	{ "georadius_ro", "A read-only variant for GEORADIUS", "key longitude latitude radius (M | KM | FT | MI) [WITHCOORD] [WITHDIST] [WITHHASH] [COUNT count [ANY]] [ASC | DESC]" },
	{ "georadiusbymember", "Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a member", "key member radius (M | KM | FT | MI) [WITHCOORD] [WITHDIST] [WITHHASH] [COUNT count [ANY]] [ASC | DESC] [STORE key | STOREDIST key]" },
	{ "georadiusbymember_ro", "A read-only variant for GEORADIUSBYMEMBER", "key member radius (M | KM | FT | MI) [WITHCOORD] [WITHDIST] [WITHHASH] [COUNT count [ANY]] [ASC | DESC]" },
	{ "geosearch", "Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle.", "key (FROMMEMBER member | FROMLONLAT longitude latitude) (BYRADIUS radius (M | KM | FT | MI) | BYBOX width height (M | KM | FT | MI)) [ASC | DESC] [COUNT count [ANY]] [WITHCOORD] [WITHDIST] [WITHHASH]" },
	{ "geosearchstore", "Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle, and store the result in another key.", "destination source (FROMMEMBER member | FROMLONLAT longitude latitude) (BYRADIUS radius (M | KM | FT | MI) | BYBOX width height (M | KM | FT | MI)) [ASC | DESC] [COUNT count [ANY]] [STOREDIST]" },
	{ "get", "Returns the string value of a key.", "key" },
	{ "getdel", "Returns the string value of a key after deleting the key.", "key" },
	{ "getrange", "Returns a substring of the string stored at a key.", "key start end" },
	{ "getset", "Returns the previous string value of a key after setting it to a new value.", "key value" },
	{ "hdel", "Deletes one or more fields and their values from a hash.", "key field [field ...]" },
	{ "hexists", "Determines whether a field exists in a hash.", "key field" },
	{ "hget", "Returns the value of a field in a hash.", "key field" },
	{ "hgetall", "Returns all fields and values in a hash.", "key" },
	{ "hincrby", "Increments the integer value of a field in a hash by a number.", "key field increment" },
	{ "hkeys", "Returns all fields in a hash.", "key" },
	{ "hlen", "Returns the number of fields in a hash.", "key" },
	{ "hmget", "Returns the values of all fields in a hash.", "key field [field ...]" },
	{ "hmset", "Sets the values of multiple fields.", "key field value [field value ...]" },
	{ "hset", "Creates or modifies the value of a field in a hash.", "key field value [field value ...]" },
	{ "hsetnx", "Sets the value of a field in a hash only when the field doesn't exist.", "key field value" },
	{ "hstrlen", "Returns the length of the value of a field.", "key field" },
	{ "hvals", "Returns all values in a hash.", "key" },
	{ "incr", "Increments the integer value of a key by one.", "key" },
	{ "incrby", "Increments the integer value of a key by a number.", "key increment" },
	{ "keys", "Returns all key names that match a pattern.", "pattern" },
	{ "lastsave", "Returns the Unix timestamp of the last successful save.", "" },
	{ "lindex", "Returns an element from a list by its index.", "key index" },
	{ "llen", "Returns the length of a list.", "key" },
	{ "lpop", "Returns the first elements in a list after removing it.", "key [count]" },
	{ "lpush", "Prepends one or more elements to a list.", "key element [element ...]" },
	{ "lrange", "Returns a range of elements from a list.", "key start stop" },
	{ "mget", "Atomically returns the string values of one or more keys.", "key [key ...]" },
	{ "monitor", "Listens for all requests received by the server in real-time.", "" },
	{ "mset", "Atomically creates or modifies the string values of one or more keys.", "key value [key value ...]" },
	{ "msetnx", "Atomically modifies the string values of one or more keys only when all keys don't exist.", "key value [key value ...]" },
	{ "multi", "Starts a transaction.", "" },
	{ "persist", "Removes the expiration time of a key.", "key" },
	{ "pexpire", "Sets the expiration time of a key in milliseconds.", "key milliseconds [NX | XX | GT | LT]" },
	{ "pexpireat", "Sets the expiration time of a key to a Unix milliseconds timestamp.", "key unix-time-milliseconds [NX | XX | GT | LT]" },
	{ "pfadd", "Adds the specified elements to the specified HyperLogLog.", "key [element [element ...]]" },
	{ "pfcount", "Return the approximated cardinality of the set(s) observed by the HyperLogLog at key(s).", "key [key ...]" },
	{ "pfdebug", "Internal commands for debugging HyperLogLog values", "subcommand key" },
	{ "pfmerge", "Merge N different HyperLogLogs into a single one.", "destkey sourcekey [sourcekey ...]" },
	{ "pfselftest", "An internal command for testing HyperLogLog values", "" },
	{ "ping", "Returns the server's liveliness response.", "[message]" },
	{ "psetex", "Sets both string value and expiration time in milliseconds of a key.", "key milliseconds value" },
	{ "psubscribe", "Listens for messages published to channels that match one or more patterns.", "pattern [pattern ...]" },
	{ "psync", "An internal command used in replication.", "replicationid offset" },
	{ "pttl", "Returns the expiration time in milliseconds of a key.", "key" },
	{ "publish", "Posts a message to a channel.", "channel message" },
	{ "punsubscribe", "Stops listening to messages published to channels that match one or more patterns.", "[pattern [pattern ...]]" },
	{ "quit", "Closes the connection.", "" },
	{ "randomkey", "Returns a random key name from the database.", "" },
	{ "rename", "Renames a key and overwrites the destination.", "key newkey" },
	{ "renamenx", "Renames a key only when the target key name doesn't exist.", "key newkey" },
	{ "replconf", "An internal command for configuring the replication stream.", "" },
	{ "reset", "Resets the connection.", "" },
	{ "rollback", "Makes the dataset what it was at a SNAPSHOT (cowkv).", "id" },
	{ "rpop", "Returns and removes the last elements of a list.", "key [count]" },
	{ "rpush", "Appends one or more elements to a list.", "key element [element ...]" },
	{ "save", "Synchronously saves the database(s) to disk.", "" },
	{ "sync", "An internal command used in replication.", "" },
	{ "scan", "Iterates over the key names in the database.", "cursor [MATCH pattern] [COUNT count] [TYPE type]" },
	{ "select", "Changes the selected database.", "index" },
	{ "set", "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.", "key value [NX | XX] [GET] [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | KEEPTTL]" },
	{ "setex", "Sets the string value and expiration time of a key. Creates the key if it doesn't exist.", "key seconds value" },
	{ "setnx", "Set the string value of a key only when the key doesn't exist.", "key value" },
	{ "setrange", "Overwrites a part of a string value with another by an offset.", "key offset value" },
	{ "shutdown", "Synchronously saves the database(s) to disk and shuts down the server.", "[NOSAVE | SAVE] [NOW] [FORCE]" },
	{ "snapshot", "Freezes the dataset as it is now, for ROLLBACK (cowkv).", "[LIST | DROP id]" },
	{ "spublish", "Post a message to a shard channel.", "shardchannel message" },
	{ "ssubscribe", "Listens for messages published to shard channels.", "shardchannel [shardchannel ...]" },
	{ "strlen", "Returns the length of a string value.", "key" },
	{ "subscribe", "Listens for messages published to channels.", "channel [channel ...]" },
	{ "substr", "Returns a substring from a string value.", "key start end" },
	{ "swapdb", "Swaps two Redis databases.", "index1 index2" },
	{ "sunsubscribe", "Stops listening to messages posted to shard channels.", "[shardchannel [shardchannel ...]]" },
	{ "time", "Returns the server time.", "" },
	{ "touch", "Returns the number of existing keys out of those specified after updating the time they were last accessed.", "key [key ...]" },
	{ "ttl", "Returns the expiration time in seconds of a key.", "key" },
	{ "type", "Determines the type of value stored at a key.", "key" },
	{ "unlink", "Asynchronously deletes one or more keys.", "key [key ...]" },
	{ "unsubscribe", "Stops listening to messages posted to channels.", "[channel [channel ...]]" },
	{ "unwatch", "Forgets about watched keys of a transaction.", "" },
	{ "watch", "Monitors changes to keys to determine the execution of a transaction.", "key [key ...]" },
};

/* ---- the syntax parser ------------------------------------------------------- */

struct arg {
	char name[48];
	char token[48];
	const char *type;       /* "key", "string", "integer", "double", ... */
	bool optional, multiple;
	struct arg *kids;       /* oneof / block */
	int nkids;
};

struct lexer {
	const char *p;
};

static void skip_space(struct lexer *lx)
{
	while (*lx->p == ' ')
		lx->p++;
}

/* The next word (letters, digits, '-', '_'), copied into w. */
static bool word(struct lexer *lx, char *w, size_t len)
{
	size_t n = 0;

	skip_space(lx);
	while (*lx->p && (isalnum((unsigned char)*lx->p) || *lx->p == '-' || *lx->p == '_')) {
		if (n + 1 < len)
			w[n++] = *lx->p;
		lx->p++;
	}
	w[n] = '\0';
	return n > 0;
}

static bool is_token(const char *w)
{
	for (; *w; w++)
		if (islower((unsigned char)*w))
			return false;
	return true;
}

static const char *type_of(const char *name)
{
	static const char *const ints[] = {
		"count", "numkeys", "increment", "decrement", "offset", "start", "end", "stop",
		"index", "seconds", "milliseconds", "cursor", "id",
	};

	if (!strcmp(name, "key") || !strcmp(name, "source") || !strcmp(name, "destination") ||
	    !strcmp(name, "newkey") || !strcmp(name, "destkey") || !strcmp(name, "sourcekey"))
		return "key";
	if (!strcmp(name, "pattern"))
		return "pattern";
	if (!strcmp(name, "timeout"))
		return "double";
	if (!strncmp(name, "unix-time", 9))
		return "unix-time";
	for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
		if (!strcmp(name, ints[i]))
			return "integer";
	return "string";
}

static int parse_seq(struct lexer *lx, struct arg **out, char stop);
static struct arg group_of(struct arg *v, int n);

static void args_free(struct arg *a, int n)
{
	for (int i = 0; i < n; i++)
		args_free(a[i].kids, a[i].nkids);
	free(a);
}

/* One item at lx; false at the end of a sequence. */
static bool parse_item(struct lexer *lx, struct arg *a)
{
	char w[48];

	memset(a, 0, sizeof *a);
	skip_space(lx);
	if (*lx->p == '[' || *lx->p == '(') {
		char close = *lx->p == '[' ? ']' : ')';
		struct arg *kids = NULL;
		int n;

		lx->p++;
		n = parse_seq(lx, &kids, close);
		if (*lx->p == close)
			lx->p++;
		*a = group_of(kids, n);
		a->optional |= close == ']';
	} else if (word(lx, w, sizeof w)) {
		if (is_token(w)) {
			struct lexer save = *lx;
			char v[48];

			snprintf(a->token, sizeof a->token, "%s", w);
			if (word(lx, v, sizeof v) && !is_token(v)) {
				snprintf(a->name, sizeof a->name, "%s", v);
				a->type = type_of(v);
			} else {
				*lx = save;
				snprintf(a->name, sizeof a->name, "%s", w);
				for (char *p = a->name; *p; p++)
					*p = (char)tolower((unsigned char)*p);
				a->type = "pure-token";
			}
		} else {
			snprintf(a->name, sizeof a->name, "%s", w);
			a->type = type_of(w);
		}
	} else {
		return false;
	}
	/* "x [x ...]": the repetition makes x multiple */
	skip_space(lx);
	if (!strncmp(lx->p, "[", 1)) {
		const char *q = lx->p + 1;
		size_t n = strlen(a->name);

		if (!strncmp(q, a->name, n) && !strncmp(q + n, " ...]", 5)) {
			a->multiple = true;
			lx->p = q + n + 5;
		} else if (a->token[0] && !strncmp(q, a->token, strlen(a->token))) {
			const char *e = strstr(q, " ...]");

			if (e && (size_t)(e - q) < 64) {
				a->multiple = true;
				lx->p = e + 5;
			}
		}
	}
	return true;
}

/* Append item x to the array *v of *n items. False when out of memory. */
static bool push(struct arg **v, int *n, const struct arg *x)
{
	struct arg *m = realloc(*v, (size_t)(*n + 1) * sizeof **v);

	if (!m)
		return false;
	m[(*n)++] = *x;
	*v = m;
	return true;
}

/* Make the items v[0..n) one argument: the item itself, or a block. */
static struct arg group_of(struct arg *v, int n)
{
	struct arg g = { .type = "block" };

	if (n == 1) {
		g = v[0];
		free(v);
		return g;
	}
	g.kids = v;
	g.nkids = n;
	snprintf(g.name, sizeof g.name, "%s", n ? v[0].name : "arg");
	return g;
}

/* Items until stop (or the end). Alternatives separated by '|' become one
 * "oneof" argument whose children are the alternatives. Returns how many
 * items *out holds. */
static int parse_seq(struct lexer *lx, struct arg **out, char stop)
{
	struct arg *cur = NULL, *alts = NULL, x;
	int n = 0, nalts = 0;

	for (;;) {
		skip_space(lx);
		if (!*lx->p || *lx->p == stop)
			break;
		if (*lx->p == '|') {
			struct arg g = group_of(cur, n);

			push(&alts, &nalts, &g);
			cur = NULL;
			n = 0;
			lx->p++;
			continue;
		}
		if (!parse_item(lx, &x) || !push(&cur, &n, &x))
			break;
	}
	if (!nalts) {
		*out = cur;
		return n;
	}
	{
		struct arg g = group_of(cur, n), one = { .type = "oneof" };

		push(&alts, &nalts, &g);
		one.kids = alts;
		one.nkids = nalts;
		snprintf(one.name, sizeof one.name, "%s", alts[0].name);
		*out = NULL;
		n = 0;
		push(out, &n, &one);
		return n;
	}
}

static void reply_args(struct client *c, const struct arg *a, int n)
{
	reply_array(c, n);
	for (int i = 0; i < n; i++) {
		int fields = 2 + (a[i].token[0] != 0) + (a[i].optional || a[i].multiple) +
			     (a[i].nkids > 0);

		reply_array(c, 2 * fields);
		reply_bulk_str(c, "name");
		reply_bulk_str(c, a[i].name);
		reply_bulk_str(c, "type");
		reply_bulk_str(c, a[i].type);
		if (a[i].token[0]) {
			reply_bulk_str(c, "token");
			reply_bulk_str(c, a[i].token);
		}
		if (a[i].optional || a[i].multiple) {
			reply_bulk_str(c, "flags");
			reply_array(c, a[i].optional + a[i].multiple);
			if (a[i].optional)
				reply_status(c, "optional");
			if (a[i].multiple)
				reply_status(c, "multiple");
		}
		if (a[i].nkids) {
			reply_bulk_str(c, "arguments");
			reply_args(c, a[i].kids, a[i].nkids);
		}
	}
}

/* COMMAND DOCS of one command: summary, group, arguments (when its syntax
 * is tabulated), and its subcommands' docs are the caller's. Returns the
 * number of map fields replied (pairs), for the caller's deferred length. */
int cmd_docs_reply(struct client *c, const char *name, const char *group)
{
	const struct doc *d = NULL;
	struct lexer lx;
	struct arg *args = NULL;
	int n = 0;

	for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++)
		if (strcmp(docs[i].name, name) == 0)
			d = &docs[i];
	reply_bulk_str(c, "summary");
	reply_bulk_str(c, d ? d->summary : "(cowkv has no summary of this command yet)");
	reply_bulk_str(c, "group");
	reply_bulk_str(c, group);
	if (!d || !d->syntax[0])
		return 2;
	lx.p = d->syntax;
	n = parse_seq(&lx, &args, '\0');
	reply_bulk_str(c, "arguments");
	reply_args(c, args, n);
	args_free(args, n);
	return 3;
}
