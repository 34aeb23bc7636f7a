/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * script.c — Lua scripting as Redis 7.0 does it: EVAL, EVALSHA, EVAL_RO,
 * EVALSHA_RO, SCRIPT, the redis.* library, the conversions between Lua
 * values and RESP, the sandbox, and the busy-script machinery (a Lua hook
 * that serves other clients -BUSY and honours SCRIPT KILL).
 *
 * Conversions (Redis's rules):
 *   RESP -> Lua (a redis.call result): integer -> number, bulk -> string,
 *   nil bulk / nil array -> false, array -> table, status -> {ok = s},
 *   error -> {err = s}; under redis.setresp(3) also map -> {map = t},
 *   set -> {set = {m = true}}, null -> nil, boolean -> boolean,
 *   double -> {double = n}, big number -> {big_number = s},
 *   verbatim -> {verbatim_string = {format = f, string = s}}.
 *   Lua -> RESP (a script's result): number -> integer (truncated),
 *   string -> bulk, true -> :1, false -> nil (under setresp 3: booleans),
 *   nil -> nil, {err} -> error, {ok} -> status, {double}, {big_number},
 *   {map}, {set}, else an array of t[1..] up to the first nil.
 *
 * The sandbox: loadfile and dofile are gone; the globals table is a proxy
 * that refuses new globals ("Attempt to modify a readonly table") and
 * reading unknown ones ("Script attempted to access nonexistent global
 * variable"), and the library tables (redis, string, table, math, cjson,
 * bit) are readonly proxies. Stock Lua 5.1 has no readonly tables, so
 * rawset() on a proxy still works where Redis's patched Lua refuses it.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lualib.h>
#include <openssl/evp.h>

#include "server.h"
#include "script.h"
#include "acl.h"

/* Debian's lua-cjson and lua-bitop (static libraries). */
int luaopen_cjson(lua_State *L);
int luaopen_bit(lua_State *L);

struct script_run *script_current;
long script_busy_ms = 5000;

static lua_State *eval_L;           /* EVAL's state (SCRIPT FLUSH renews it) */
static uint64_t ncached;            /* scripts in eval_L's cache */
static struct client *fake;         /* the client redis.call runs commands as */

#define HOOK_COUNT 100000           /* Lua instructions between hook calls */
#define REG_BACKING "cowkv.globals" /* registry: the real globals table */
#define REG_SCRIPTS "cowkv.scripts" /* registry: sha -> {fn, flags} */

/* ---- SHA1 ---------------------------------------------------------------- */

void script_sha1hex(const void *p, size_t n, char hex[41])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	if (!EVP_Digest(p, n, md, &len, EVP_sha1(), NULL) || len != 20)
		memset(md, 0, 20);	/* libcrypto without SHA1: cannot happen on Debian */
	for (int i = 0; i < 20; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[40] = '\0';
}

/* ---- errors ---------------------------------------------------------------- */

void script_push_error(lua_State *L, const char *msg)
{
	const char *sp;
	luaL_Buffer b;

	luaL_buffinit(L, &b);
	if (msg[0] == '-') {
		sp = strchr(msg, ' ');
		if (sp) {
			luaL_addlstring(&b, msg + 1, (size_t)(sp - msg - 1));
			luaL_addstring(&b, sp);
		} else {
			luaL_addstring(&b, "ERR ");
			luaL_addstring(&b, msg + 1);
		}
	} else {
		luaL_addstring(&b, "ERR ");
		luaL_addstring(&b, msg);
	}
	luaL_pushresult(&b);
	/* no trailing CR/LF in the table's message */
	{
		size_t n;
		const char *s = lua_tolstring(L, -1, &n);

		while (n && (s[n - 1] == '\r' || s[n - 1] == '\n'))
			n--;
		lua_pushlstring(L, s, n);
		lua_remove(L, -2);
	}
	lua_newtable(L);
	lua_pushliteral(L, "err");
	lua_pushvalue(L, -3);
	lua_rawset(L, -3);
	lua_remove(L, -2);
}

/* Raise msg as a Redis error table. Does not return. */
static int raise_error(lua_State *L, const char *msg)
{
	script_push_error(L, msg);
	return lua_error(L);
}

/*
 * The message handler of every script call: turns a string error into
 * {err = "ERR <msg>"} and notes where the script was (source, line) in the
 * table, skipping a C function on top (redis.call raising).
 */
static int error_handler(lua_State *L)
{
	lua_Debug ar;
	int level = 1;
	bool found = false;

	if (!lua_istable(L, 1)) {
		const char *s = lua_tostring(L, 1);

		lua_newtable(L);
		lua_pushliteral(L, "err");
		lua_pushfstring(L, "ERR %s", s ? s : "(error object is not a string)");
		lua_rawset(L, -3);
		lua_replace(L, 1);
	}
	while (lua_getstack(L, level, &ar)) {
		lua_getinfo(L, "Sl", &ar);
		if (strcmp(ar.what, "C") != 0) {
			found = true;
			break;
		}
		level++;
	}
	if (found && ar.currentline > 0) {
		lua_pushliteral(L, "source");
		lua_pushstring(L, ar.source);
		lua_rawset(L, 1);
		lua_pushliteral(L, "line");
		lua_pushinteger(L, ar.currentline);
		lua_rawset(L, 1);
	}
	lua_settop(L, 1);
	return 1;
}

/* ---- RESP -> Lua ------------------------------------------------------------ */

/* The end of the line starting at p (at its '\r'), or NULL. */
static const char *line_end(const char *p, const char *end)
{
	const char *r = memchr(p, '\r', (size_t)(end - p));

	return (r && r + 1 < end) ? r : NULL;
}

static const char *resp_to_lua(lua_State *L, const char *p, const char *end);

/* Push a table {key = <value at p>} (status, error, double...). */
static void push_wrapped(lua_State *L, const char *key, const char *s, size_t n)
{
	lua_newtable(L);
	lua_pushstring(L, key);
	lua_pushlstring(L, s, n);
	lua_rawset(L, -3);
}

/* Parse n elements of an aggregate into the table on top: array (kind 'a'),
 * map ('m': key/value pairs), set ('s': member = true). */
static const char *aggregate_to_lua(lua_State *L, const char *p, const char *end,
				    long long n, char kind)
{
	lua_newtable(L);
	for (long long i = 0; i < n && p; i++) {
		if (kind == 'a') {
			p = resp_to_lua(L, p, end);
			lua_rawseti(L, -2, (int)i + 1);
		} else if (kind == 'm') {
			p = resp_to_lua(L, p, end);
			if (p)
				p = resp_to_lua(L, p, end);
			lua_rawset(L, -3);
		} else {
			p = resp_to_lua(L, p, end);
			lua_pushboolean(L, 1);
			lua_rawset(L, -3);
		}
	}
	return p;
}

/*
 * Push the Lua value of the RESP reply at p (as produced by this server)
 * and return the byte after it; NULL (and a nil pushed) on bytes that are
 * not a whole reply.
 */
static const char *resp_to_lua(lua_State *L, const char *p, const char *end)
{
	const char *e;
	long long n = 0;
	char t;

	if (!lua_checkstack(L, 8) || p >= end || !(e = line_end(p, end))) {
		lua_pushnil(L);
		return NULL;
	}
	t = *p;
	if (strchr(":$*%~>=(|", t) && !resp_str2ll(p + 1, (size_t)(e - p - 1), &n) &&
	    t != '(') {
		lua_pushnil(L);
		return NULL;
	}
	switch (t) {
	case ':':
		lua_pushnumber(L, (lua_Number)n);
		return e + 2;
	case '+':
		push_wrapped(L, "ok", p + 1, (size_t)(e - p - 1));
		return e + 2;
	case '-':
		push_wrapped(L, "err", p + 1, (size_t)(e - p - 1));
		return e + 2;
	case '$':
		if (n < 0) {
			lua_pushboolean(L, 0);
			return e + 2;
		}
		if (end - (e + 2) < n + 2) {
			lua_pushnil(L);
			return NULL;
		}
		lua_pushlstring(L, e + 2, (size_t)n);
		return e + 2 + n + 2;
	case '*':
		if (n < 0) {
			lua_pushboolean(L, 0);
			return e + 2;
		}
		return aggregate_to_lua(L, e + 2, end, n, 'a');
	case '%':
		lua_newtable(L);
		lua_pushliteral(L, "map");
		p = aggregate_to_lua(L, e + 2, end, n, 'm');
		lua_rawset(L, -3);
		return p;
	case '~':
		lua_newtable(L);
		lua_pushliteral(L, "set");
		p = aggregate_to_lua(L, e + 2, end, n, 's');
		lua_rawset(L, -3);
		return p;
	case '_':
		lua_pushnil(L);
		return e + 2;
	case '|':
		/* an attribute: read and drop it, the reply follows (as Redis) */
		p = e + 2;
		for (long long i = 0; i < 2 * n && p; i++) {
			p = resp_to_lua(L, p, end);
			lua_pop(L, 1);
		}
		if (!p) {
			lua_pushnil(L);
			return NULL;
		}
		return resp_to_lua(L, p, end);
	case '#':
		lua_pushboolean(L, p[1] == 't');
		return e + 2;
	case ',':
		lua_newtable(L);
		lua_pushliteral(L, "double");
		lua_pushnumber(L, strtod(p + 1, NULL));
		lua_rawset(L, -3);
		return e + 2;
	case '(':
		push_wrapped(L, "big_number", p + 1, (size_t)(e - p - 1));
		return e + 2;
	case '=':
		if (n < 4 || end - (e + 2) < n + 2) {
			lua_pushnil(L);
			return NULL;
		}
		lua_newtable(L);
		lua_pushliteral(L, "verbatim_string");
		lua_newtable(L);
		lua_pushliteral(L, "format");
		lua_pushlstring(L, e + 2, 3);
		lua_rawset(L, -3);
		lua_pushliteral(L, "string");
		lua_pushlstring(L, e + 6, (size_t)n - 4);
		lua_rawset(L, -3);
		lua_rawset(L, -3);
		return e + 2 + n + 2;
	default:
		lua_pushnil(L);
		return NULL;
	}
}

/* ---- Lua -> RESP ------------------------------------------------------------- */

/* t[key] as a string (pushed, or nothing): true if it is one. */
static bool field_string(lua_State *L, int t, const char *key)
{
	lua_pushstring(L, key);
	lua_rawget(L, t);
	if (lua_type(L, -1) == LUA_TSTRING)
		return true;
	lua_pop(L, 1);
	return false;
}

/* t[key] as a table (pushed, or nothing). */
static bool field_table(lua_State *L, int t, const char *key)
{
	lua_pushstring(L, key);
	lua_rawget(L, t);
	if (lua_istable(L, -1))
		return true;
	lua_pop(L, 1);
	return false;
}

static void lua_to_reply(struct client *c, lua_State *L, int resp, int depth);

/* Reply the table on top of L (not popped). */
static void table_to_reply(struct client *c, lua_State *L, int resp, int depth)
{
	int t = lua_gettop(L);
	size_t n;

	if (field_string(L, t, "err")) {
		const char *s = lua_tolstring(L, -1, &n);

		(void)n;
		reply_error(c, s[0] == '-' ? s + 1 : s);
		lua_pop(L, 1);
		return;
	}
	if (field_string(L, t, "ok")) {
		char *s = strndup(lua_tostring(L, -1), 4096);

		for (char *q = s; q && *q; q++)
			if (*q == '\r' || *q == '\n')
				*q = ' ';
		reply_status(c, s ? s : "");
		free(s);
		lua_pop(L, 1);
		return;
	}
	lua_pushliteral(L, "double");
	lua_rawget(L, t);
	if (lua_type(L, -1) == LUA_TNUMBER) {
		reply_double(c, lua_tonumber(L, -1));
		lua_pop(L, 1);
		return;
	}
	lua_pop(L, 1);
	if (field_string(L, t, "big_number")) {
		const char *s = lua_tolstring(L, -1, &n);
		char *clean = malloc(n + 1);

		/* as Redis: CR and LF cannot be part of a big number's line */
		if (clean) {
			for (size_t i = 0; i < n; i++)
				clean[i] = (s[i] == '\r' || s[i] == '\n') ? ' ' : s[i];
			reply_bignum(c, clean, n);
			free(clean);
		} else {
			reply_oom(c);
		}
		lua_pop(L, 1);
		return;
	}
	if (field_table(L, t, "verbatim_string")) {
		int v = lua_gettop(L);

		if (field_string(L, v, "format")) {
			if (field_string(L, v, "string")) {
				const char *s = lua_tolstring(L, -1, &n);

				reply_verbatim(c, s, n, lua_tostring(L, -2));
				lua_pop(L, 3);
				return;
			}
			lua_pop(L, 1);
		}
		lua_pop(L, 1);
	}
	if (field_table(L, t, "map")) {
		long long count = 0;
		struct obuf *h = reply_defer(c);

		lua_pushnil(L);
		while (lua_next(L, -2)) {
			lua_pushvalue(L, -2);
			lua_to_reply(c, L, resp, depth + 1);   /* key (pops the copy) */
			lua_to_reply(c, L, resp, depth + 1);   /* value */
			count++;
		}
		reply_defer_set_map(c, h, count);
		lua_pop(L, 1);
		return;
	}
	if (field_table(L, t, "set")) {
		long long count = 0;
		struct obuf *h = reply_defer(c);

		lua_pushnil(L);
		while (lua_next(L, -2)) {
			lua_pop(L, 1);
			lua_pushvalue(L, -1);
			lua_to_reply(c, L, resp, depth + 1);
			count++;
		}
		reply_defer_set_set(c, h, count);
		lua_pop(L, 1);
		return;
	}
	{
		struct obuf *h = reply_defer(c);
		long long j = 0;

		for (;;) {
			lua_rawgeti(L, t, (int)j + 1);
			if (lua_isnil(L, -1)) {
				lua_pop(L, 1);
				break;
			}
			lua_to_reply(c, L, resp, depth + 1);
			j++;
		}
		reply_defer_set(c, h, j);
	}
}

/* Reply the Lua value on top of L as Redis would, and pop it. */
static void lua_to_reply(struct client *c, lua_State *L, int resp, int depth)
{
	size_t n;
	const char *s;

	if (depth > 500 || !lua_checkstack(L, 8)) {
		reply_error(c, "ERR reached lua stack limit");
		lua_pop(L, 1);
		return;
	}
	switch (lua_type(L, -1)) {
	case LUA_TSTRING:
		s = lua_tolstring(L, -1, &n);
		reply_bulk(c, s, n);
		break;
	case LUA_TBOOLEAN:
		if (resp == 2) {
			if (lua_toboolean(L, -1))
				reply_int(c, 1);
			else
				reply_nil(c);
		} else {
			reply_bool(c, lua_toboolean(L, -1));
		}
		break;
	case LUA_TNUMBER:
		reply_int(c, (long long)lua_tonumber(L, -1));
		break;
	case LUA_TTABLE:
		table_to_reply(c, L, resp, depth);
		break;
	default:
		reply_nil(c);
		break;
	}
	lua_pop(L, 1);
}

/* ---- redis.call / redis.pcall --------------------------------------------------- */

/* Number n as Redis passes it to a command: the shortest text that reads
 * back as n. */
static size_t number_text(char *buf, size_t len, lua_Number n)
{
	for (int prec = 15; prec <= 17; prec++) {
		int k = snprintf(buf, len, "%.*g", prec, (double)n);

		if (prec == 17 || strtod(buf, NULL) == (double)n)
			return (size_t)k;
	}
	return 0;
}

/* Commands a script may not call (besides those flagged noscript). */
static bool denied_in_script(const char *name, size_t n)
{
	static const char *const names[] = {
		"eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro",
		"script", "function", "client", "hello", "reset", "quit", "auth",
		"multi", "exec", "discard", "watch", "unwatch", "subscribe",
		"psubscribe", "unsubscribe", "punsubscribe", "ssubscribe",
		"sunsubscribe", "monitor", "acl", "cluster",
		/* blocking commands, refused in scripts as Redis does */
		"blpop", "brpop", "brpoplpush", "blmove", "blmpop", "bzpopmin",
		"bzpopmax", "bzmpop",
	};

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strlen(names[i]) == n && !strcasecmp(name, names[i]))
			return true;
	return false;
}

/* Copy the Lua arguments 1..argc into the fake client's argv. NULL if fine,
 * else the error message. */
static const char *fake_argv(lua_State *L, int argc)
{
	static char *bytes;
	static size_t cap;
	size_t need = 0, off = 0;
	char num[64];

	if (argc <= 0 || argc > 1000000)
		return "Wrong number of args calling Redis command from script";
	for (int i = 1; i <= argc; i++) {
		int t = lua_type(L, i);

		if (t == LUA_TNUMBER)
			need += number_text(num, sizeof num, lua_tonumber(L, i)) + 1;
		else if (t == LUA_TSTRING)
			need += lua_objlen(L, i) + 1;
		else
			return "Lua redis lib command arguments must be strings or integers";
	}
	if ((size_t)argc > fake->argv_cap) {
		struct kv_arg *a = realloc(fake->argv, (size_t)argc * sizeof *a);

		if (!a)
			return "-OOM out of memory for the arguments";
		fake->argv = a;
		fake->argv_cap = (size_t)argc;
	}
	if (need > cap) {
		char *b = realloc(bytes, need);

		if (!b)
			return "-OOM out of memory for the arguments";
		bytes = b;
		cap = need;
	}
	for (int i = 1; i <= argc; i++) {
		size_t n;
		const char *s;

		if (lua_type(L, i) == LUA_TNUMBER) {
			n = number_text(num, sizeof num, lua_tonumber(L, i));
			s = num;
		} else {
			s = lua_tolstring(L, i, &n);
		}
		memcpy(bytes + off, s, n);
		bytes[off + n] = '\0';
		fake->argv[i - 1].p = bytes + off;
		fake->argv[i - 1].len = n;
		off += n + 1;
	}
	fake->argc = argc;
	return NULL;
}

/* The fake client's output, gathered into one malloc'd buffer (*n bytes),
 * then dropped from the client. */
static char *fake_output(size_t *n)
{
	char *buf = malloc(fake->obytes + 1), *q = buf;

	if (buf)
		for (struct obuf *b = fake->ohead; b; b = b->next) {
			memcpy(q, b->data + b->sent, b->len - b->sent);
			q += b->len - b->sent;
		}
	*n = buf ? (size_t)(q - buf) : 0;
	reply_free_all(fake);
	return buf;
}

/*
 * redis.call (raise = true) and redis.pcall: run a command as the script's
 * client and convert its reply. An error reply is raised (call) or returned
 * as {err = ...} (pcall).
 */
static int call_generic(lua_State *L, bool raise)
{
	int argc = lua_gettop(L);
	struct script_run *run = script_current;
	const struct kv_cmd *cmd;
	const char *err = NULL;
	char *out;
	size_t n;

	if (!run)
		return raise_error(L, "redis.call/pcall can only be called inside a script invocation");
	if (argc == 0) {
		err = "Please specify at least one argument for this redis lib call";
	} else if ((err = fake_argv(L, argc)) == NULL) {
		cmd = cmd_lookup(fake->argv[0].p, fake->argv[0].len);
		if (!script_deny_disabled && denied_in_script(fake->argv[0].p, fake->argv[0].len))
			err = "This Redis command is not allowed from script";
		else if (!cmd)
			err = "Unknown Redis command called from script";
		else if ((cmd->arity > 0 && argc != cmd->arity) ||
			 (cmd->arity < 0 && argc < -cmd->arity))
			err = "Wrong number of args calling Redis command from script";
		else if ((cmd->flags & CMD_NOSCRIPT) && !script_deny_disabled)
			err = "This Redis command is not allowed from script";
		else if ((cmd->flags & (CMD_WRITE | CMD_MAYWRITE)) && run->ro)
			err = "Write commands are not allowed from read-only scripts.";
	}
	if (err) {
		if (raise)
			return raise_error(L, err);
		script_push_error(L, err);
		return 1;
	}
	if (cmd->flags & CMD_WRITE)
		run->wrote = true;
	fake->resp = run->resp;
	fake->user = run->caller->user;     /* ACL: the caller's rights (not owned) */
	cmd_call(fake);
	fake->user = NULL;
	out = fake_output(&n);
	if (!out)
		return raise_error(L, "-OOM out of memory for a command's reply");
	lua_settop(L, 0);
	resp_to_lua(L, out, out + n);
	free(out);
	if (raise && lua_istable(L, -1)) {
		lua_pushliteral(L, "err");
		lua_rawget(L, -2);
		if (lua_isstring(L, -1)) {
			lua_pop(L, 1);
			return lua_error(L);	/* the {err = ...} table */
		}
		lua_pop(L, 1);
	}
	return 1;
}

/* redis.acl_check_cmd(cmd, args...): may the script's caller run it? */
static int l_acl_check_cmd(lua_State *L)
{
	int argc = lua_gettop(L), r;
	const char *err;

	if (!script_current)
		return raise_error(L, "redis.acl_check_cmd can only be called inside a script invocation");
	if (argc == 0)
		return raise_error(L, "Please specify at least one argument for this redis lib call");
	if ((err = fake_argv(L, argc)))
		return raise_error(L, err);
	r = acl_check_argv(script_current->caller, fake->argc, fake->argv);
	if (r < 0)
		return raise_error(L, "Invalid command passed to redis.acl_check_cmd()");
	lua_pushboolean(L, r);
	return 1;
}

static int l_call(lua_State *L)
{
	return call_generic(L, true);
}

static int l_pcall(lua_State *L)
{
	return call_generic(L, false);
}

/* ---- the rest of the redis table ------------------------------------------------- */

static int l_sha1hex(lua_State *L)
{
	size_t n;
	const char *s;
	char hex[41];

	if (lua_gettop(L) != 1)
		return raise_error(L, "wrong number of arguments");
	s = lua_tolstring(L, 1, &n);
	if (!s) {
		s = "";
		n = 0;
	}
	script_sha1hex(s, n, hex);
	lua_pushstring(L, hex);
	return 1;
}

/* redis.error_reply(msg): {err = msg} with an error code ("ERR" unless
 * msg starts with one). */
static int l_error_reply(lua_State *L)
{
	const char *s;

	if (lua_gettop(L) != 1 || lua_type(L, 1) != LUA_TSTRING)
		return raise_error(L, "wrong number or type of arguments");
	s = lua_tostring(L, 1);
	if (s[0] == '-') {
		script_push_error(L, s);
	} else {
		lua_pushfstring(L, "-%s", s);
		script_push_error(L, lua_tostring(L, -1));
	}
	return 1;
}

static int l_status_reply(lua_State *L)
{
	if (lua_gettop(L) != 1 || lua_type(L, 1) != LUA_TSTRING)
		return raise_error(L, "wrong number or type of arguments");
	lua_newtable(L);
	lua_pushliteral(L, "ok");
	lua_pushvalue(L, 1);
	lua_rawset(L, -3);
	return 1;
}

static int l_log(lua_State *L)
{
	int argc = lua_gettop(L);
	lua_Number level;
	luaL_Buffer b;

	if (argc < 2)
		return raise_error(L, "redis.log() requires two arguments or more.");
	if (!lua_isnumber(L, 1))
		return raise_error(L, "First argument must be a number (log level).");
	level = lua_tonumber(L, 1);
	if (level < LL_DEBUG || level > LL_WARNING)
		return raise_error(L, "Invalid debug level.");
	luaL_buffinit(L, &b);
	for (int i = 2; i <= argc; i++) {
		size_t n;
		const char *s = lua_tolstring(L, i, &n);

		if (s) {
			if (i > 2)
				luaL_addchar(&b, ' ');
			luaL_addlstring(&b, s, n);
		}
	}
	luaL_pushresult(&b);
	srv_log((int)level, "%s", lua_tostring(L, -1));
	return 0;
}

static int l_setresp(lua_State *L)
{
	lua_Number v;

	if (lua_gettop(L) != 1)
		return raise_error(L, "redis.setresp() requires one argument.");
	v = lua_tonumber(L, 1);
	if (v != 2 && v != 3)
		return raise_error(L, "RESP version must be 2 or 3.");
	if (script_current)
		script_current->resp = (int)v;
	return 0;
}

/* redis.set_repl(flags): cowkv has no replicas and no AOF, so every valid
 * value leaves the (absent) propagation as it is; invalid ones are errors
 * as in Redis. */
static int l_set_repl(lua_State *L)
{
	lua_Number v;

	if (lua_gettop(L) != 1)
		return raise_error(L, "redis.set_repl() requires one argument.");
	v = lua_tonumber(L, 1);
	if (v < 0 || v > 3 || v != floor(v))
		return raise_error(L, "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.");
	return 0;
}

/* redis.replicate_commands(): effects replication is the only mode (true). */
static int l_replicate_commands(lua_State *L)
{
	lua_pushboolean(L, 1);
	return 1;
}

/* redis.breakpoint(): false, there is no debugging session (no LDB). */
static int l_breakpoint(lua_State *L)
{
	lua_pushboolean(L, 0);
	return 1;
}

/* redis.debug(...): only shown in a debugging session, which cowkv lacks. */
static int l_debug(lua_State *L)
{
	(void)L;
	return 0;
}

/* ---- the sandbox ----------------------------------------------------------------- */

/* setmetatable() on a readonly table: Redis's message has no position. */
static int readonly_error(lua_State *L)
{
	lua_pushliteral(L, "Attempt to modify a readonly table");
	return lua_error(L);
}

/* A write into a readonly table (VM-raised in Redis: with the position). */
static int readonly_newindex(lua_State *L)
{
	return luaL_error(L, "Attempt to modify a readonly table");
}

/* __index of the globals proxy: the backing table's value, or an error. */
static int globals_index(lua_State *L)
{
	lua_pushvalue(L, 2);
	lua_rawget(L, lua_upvalueindex(1));
	if (lua_isnil(L, -1) && lua_type(L, 2) == LUA_TSTRING)
		return luaL_error(L, "Script attempted to access nonexistent global variable '%s'",
				  lua_tostring(L, 2));
	return 1;
}

/* Push the marker every readonly proxy's metatable names as __metatable:
 * an empty readonly table, so getmetatable() yields nothing writable. */
static void push_ro_marker(lua_State *L)
{
	lua_getfield(L, LUA_REGISTRYINDEX, "cowkv.ro_marker");
	if (!lua_isnil(L, -1))
		return;
	lua_pop(L, 1);
	lua_newtable(L);                        /* the marker */
	lua_newtable(L);                        /* its metatable */
	lua_pushliteral(L, "__newindex");
	lua_pushcfunction(L, readonly_newindex);
	lua_rawset(L, -3);
	lua_pushliteral(L, "__metatable");
	lua_pushvalue(L, -3);
	lua_rawset(L, -3);
	lua_setmetatable(L, -2);
	lua_pushvalue(L, -1);
	lua_setfield(L, LUA_REGISTRYINDEX, "cowkv.ro_marker");
}

/* Set on the table on top a metatable with __index (the value below it),
 * __newindex refusing writes and the readonly marker. Pops the index. */
static void set_readonly_meta(lua_State *L)
{
	lua_newtable(L);                        /* metatable */
	lua_pushliteral(L, "__index");
	lua_pushvalue(L, -4);
	lua_rawset(L, -3);
	lua_pushliteral(L, "__newindex");
	lua_pushcfunction(L, readonly_newindex);
	lua_rawset(L, -3);
	lua_pushliteral(L, "__metatable");
	push_ro_marker(L);
	lua_rawset(L, -3);
	lua_setmetatable(L, -2);
	lua_remove(L, -2);
}

/* Replace the table on top by a readonly proxy of it. */
static void make_readonly_proxy(lua_State *L)
{
	lua_newtable(L);
	set_readonly_meta(L);
}

/* setmetatable() that refuses readonly tables with Redis's words. */
static int l_setmetatable(lua_State *L)
{
	if (lua_getmetatable(L, 1)) {
		lua_pushliteral(L, "__metatable");
		lua_rawget(L, -2);
		push_ro_marker(L);
		if (lua_rawequal(L, -1, -2))
			return readonly_error(L);
		lua_pop(L, 3);
	}
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, 1);
	return 1;
}

/* loadstring() that refuses precompiled (binary) chunks, as Redis does:
 * they could break the sandbox. */
static int l_loadstring(lua_State *L)
{
	size_t n;
	const char *s = lua_tolstring(L, 1, &n);

	if (s && n > 0 && s[0] == LUA_SIGNATURE[0]) {
		lua_pushnil(L);
		lua_pushliteral(L, "loading binary code is not allowed");
		return 2;
	}
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
	return lua_gettop(L);
}

/* Wrap global name (a function) in a C closure fn holding the original. */
static void wrap_global(lua_State *L, int g, const char *name, lua_CFunction fn)
{
	lua_getfield(L, g, name);
	lua_pushcclosure(L, fn, 1);
	lua_setfield(L, g, name);
}

/* Open a C library whose luaopen_ returns its table; store it as global
 * name (in the backing table, on top of the stack at index g). */
static void open_lib(lua_State *L, int g, const char *name, lua_CFunction open)
{
	lua_pushcfunction(L, open);
	lua_pushstring(L, name);
	lua_call(L, 1, 1);
	lua_setfield(L, g, name);
}

static const luaL_Reg redis_lib[] = {
	{ "call", l_call }, { "pcall", l_pcall }, { "sha1hex", l_sha1hex },
	{ "acl_check_cmd", l_acl_check_cmd },
	{ "error_reply", l_error_reply }, { "status_reply", l_status_reply },
	{ "log", l_log }, { "setresp", l_setresp }, { "set_repl", l_set_repl },
	{ "replicate_commands", l_replicate_commands },
	{ "breakpoint", l_breakpoint }, { "debug", l_debug },
	{ NULL, NULL },
};

/* Fill the table on top with the redis library and its constants. */
static void fill_redis_table(lua_State *L)
{
	static const struct { const char *name; int v; } consts[] = {
		{ "LOG_DEBUG", LL_DEBUG }, { "LOG_VERBOSE", LL_VERBOSE },
		{ "LOG_NOTICE", LL_NOTICE }, { "LOG_WARNING", LL_WARNING },
		{ "REPL_NONE", 0 }, { "REPL_AOF", 1 }, { "REPL_SLAVE", 2 },
		{ "REPL_REPLICA", 2 }, { "REPL_ALL", 3 },
	};
	int maj = 0, min = 0, pat = 0;

	for (const luaL_Reg *r = redis_lib; r->name; r++) {
		lua_pushcfunction(L, r->func);
		lua_setfield(L, -2, r->name);
	}
	for (size_t i = 0; i < sizeof consts / sizeof consts[0]; i++) {
		lua_pushinteger(L, consts[i].v);
		lua_setfield(L, -2, consts[i].name);
	}
	sscanf(COWKV_REDIS_COMPAT, "%d.%d.%d", &maj, &min, &pat);
	lua_pushstring(L, COWKV_REDIS_COMPAT);
	lua_setfield(L, -2, "REDIS_VERSION");
	lua_pushinteger(L, (maj << 16) | (min << 8) | pat);
	lua_setfield(L, -2, "REDIS_VERSION_NUM");
}


lua_State *script_state_new(bool for_functions)
{
	static const struct { const char *name; lua_CFunction open; } libs[] = {
		{ "", luaopen_base }, { LUA_TABLIBNAME, luaopen_table },
		{ LUA_STRLIBNAME, luaopen_string }, { LUA_MATHLIBNAME, luaopen_math },
		{ LUA_DBLIBNAME, luaopen_debug },
	};
	static const char *const readonly[] = {
		"redis", "string", "table", "math", "cjson", "bit", "cmsgpack", "struct",
	};
	lua_State *L = luaL_newstate();
	int g;

	if (!L)
		return NULL;
	for (size_t i = 0; i < sizeof libs / sizeof libs[0]; i++) {
		lua_pushcfunction(L, libs[i].open);
		lua_pushstring(L, libs[i].name);
		lua_call(L, 1, 0);
	}
	lua_pushvalue(L, LUA_GLOBALSINDEX);
	g = lua_gettop(L);
	open_lib(L, g, "cjson", luaopen_cjson);
	open_lib(L, g, "bit", luaopen_bit);
	open_lib(L, g, "cmsgpack", script_open_cmsgpack);
	open_lib(L, g, "struct", script_open_struct);
	lua_pushnil(L);
	lua_setfield(L, g, "loadfile");
	lua_pushnil(L);
	lua_setfield(L, g, "dofile");
	lua_pushnil(L);
	lua_setfield(L, g, "print");
	wrap_global(L, g, "setmetatable", l_setmetatable);
	wrap_global(L, g, "loadstring", l_loadstring);
	lua_newtable(L);
	fill_redis_table(L);
	lua_setfield(L, g, "redis");
	(void)for_functions;
	for (size_t i = 0; i < sizeof readonly / sizeof readonly[0]; i++) {
		lua_getfield(L, g, readonly[i]);
		make_readonly_proxy(L);
		lua_setfield(L, g, readonly[i]);
	}
	/* The globals proxy: reads go to the backing table g, writes fail. */
	lua_pushvalue(L, g);
	lua_setfield(L, LUA_REGISTRYINDEX, REG_BACKING);
	lua_newtable(L);
	lua_newtable(L);
	lua_pushliteral(L, "__index");
	lua_pushvalue(L, g);
	lua_pushcclosure(L, globals_index, 1);
	lua_rawset(L, -3);
	lua_pushliteral(L, "__newindex");
	lua_pushcfunction(L, readonly_newindex);
	lua_rawset(L, -3);
	lua_pushliteral(L, "__metatable");
	push_ro_marker(L);
	lua_rawset(L, -3);
	lua_setmetatable(L, -2);
	lua_pushvalue(L, -1);
	lua_setfield(L, g, "_G");
	lua_replace(L, LUA_GLOBALSINDEX);
	lua_newtable(L);
	lua_setfield(L, LUA_REGISTRYINDEX, REG_SCRIPTS);
	lua_settop(L, 0);
	return L;
}

/* ---- running a script ------------------------------------------------------------- */

/* Serve other clients (and notice SCRIPT KILL) while a script runs long. */
static void busy_hook(lua_State *L, lua_Debug *ar)
{
	struct script_run *run = script_current;
	int64_t elapsed;

	(void)ar;
	if (!run)
		return;
	elapsed = (srv_mono_us() - run->start_us) / 1000;
	if (!run->busy && script_busy_ms > 0 && elapsed >= script_busy_ms) {
		srv_log(LL_WARNING, "Slow script detected: still in execution after %lld "
			"milliseconds. You can try killing the script using the %s command. "
			"Script name is: %s.", (long long)elapsed,
			run->is_func ? "FUNCTION KILL" : "SCRIPT KILL", run->name);
		run->busy = true;
	}
	if (run->busy)
		net_busy_poll(run->caller);
	if (run->killed) {
		srv_log(LL_WARNING, "Lua script killed by user with %s.",
			run->is_func ? "FUNCTION KILL" : "SCRIPT KILL");
		/* Every following line raises again, so pcall cannot hold it. */
		lua_sethook(L, busy_hook, LUA_MASKLINE | LUA_MASKCOUNT, 1);
		raise_error(L, "Script killed by user with SCRIPT KILL...");
	}
}

/* Reply the error table (or string) on top of L for run. */
static void reply_script_error(struct client *c, lua_State *L, const struct script_run *run)
{
	if (lua_istable(L, -1)) {
		int t = lua_gettop(L);
		char msg[512];
		const char *err = "ERR unknown error";

		if (field_string(L, t, "err")) {
			err = lua_tostring(L, -1);
			lua_pop(L, 1);
			/* err stays referenced by the table */
			lua_pushliteral(L, "err");
			lua_rawget(L, t);
			err = lua_tostring(L, -1);
		}
		lua_pushliteral(L, "source");
		lua_rawget(L, t);
		lua_pushliteral(L, "line");
		lua_rawget(L, t);
		if (lua_isstring(L, -2) && lua_isnumber(L, -1))
			snprintf(msg, sizeof msg, "%s script: %s, on %s:%d.", err, run->name,
				 lua_tostring(L, -2), (int)lua_tonumber(L, -1));
		else
			snprintf(msg, sizeof msg, "%s", err);
		reply_error(c, msg);
		lua_settop(L, t);
	} else {
		const char *s = lua_tostring(L, -1);

		reply_errorf(c, "ERR Error running script %s, %.100s", run->name,
			     s ? s : "execution failure");
	}
}

void script_run_and_reply(struct script_run *run, int nargs)
{
	lua_State *L = run->L;
	struct client *c = run->caller;
	int base = lua_gettop(L) - nargs;	/* index of the function */
	int err;

	lua_pushcfunction(L, error_handler);
	lua_insert(L, base);
	if (fake)
		fake->db = c->db;	/* the caller's database; its SELECTs stay in the script */
	run->start_us = srv_mono_us();
	if (run->resp != 3)
		run->resp = 2;
	script_current = run;
	lua_sethook(L, busy_hook, LUA_MASKCOUNT, HOOK_COUNT);
	err = lua_pcall(L, nargs, 1, base);
	lua_sethook(L, NULL, 0, 0);
	script_current = NULL;
	if (err)
		reply_script_error(c, L, run);
	else
		lua_to_reply(c, L, run->resp, 0);
	lua_settop(L, base - 1);
	if (run->busy)
		srv_log(LL_WARNING, "Slow script finished after %lld ms.",
			(long long)((srv_mono_us() - run->start_us) / 1000));
}

/* ---- busy scripts: what other clients get --------------------------------------- */

/* SCRIPT KILL (is_eval) / FUNCTION KILL. */
void script_kill(struct client *c, bool is_eval)
{
	struct script_run *run = script_current;

	if (!run) {
		reply_error(c, "NOTBUSY No scripts in execution right now.");
	} else if (run->wrote) {
		reply_error(c, "UNKILLABLE Sorry the script already executed write commands "
			    "against the dataset. You can either wait the script termination "
			    "or kill the server in a hard way using the SHUTDOWN NOSAVE command.");
	} else if (is_eval && run->is_func) {
		reply_error(c, "BUSY Redis is busy running a script. You can only call "
			    "FUNCTION KILL or SHUTDOWN NOSAVE.");
	} else if (!is_eval && !run->is_func) {
		reply_error(c, "BUSY Redis is busy running a script. You can only call "
			    "SCRIPT KILL or SHUTDOWN NOSAVE.");
	} else {
		run->killed = true;
		reply_ok(c);
	}
}

/*
 * Refuse c's command while a script is busy, as Redis's rejectCommand: in a
 * transaction, EXEC aborts it ("EXECABORT Transaction discarded because
 * of: BUSY ...") and leaves the MULTI state; any other command flags it, so
 * that the EXEC after it aborts.
 */
static void busy_refuse(struct client *c, const char *err)
{
	if ((c->flags & CF_MULTI) && arg_is(c, 0, "exec")) {
		reply_errorf(c, "EXECABORT Transaction discarded because of: %s", err);
		multi_discard(c);
		return;
	}
	reply_error(c, err);
	if (c->flags & CF_MULTI)
		multi_flag_error(c);
}

bool script_busy_intercept(struct client *c)
{
	struct script_run *run = script_current;

	if (!run || !run->busy || (c->flags & CF_FAKE) || c == run->caller)
		return false;
	if (arg_is(c, 0, "script") && arg_is(c, 1, "kill") && c->argc == 2) {
		script_kill(c, true);
		return true;
	}
	if (arg_is(c, 0, "function") && arg_is(c, 1, "kill") && c->argc == 2) {
		script_kill(c, false);
		return true;
	}
	if (arg_is(c, 0, "function") && arg_is(c, 1, "stats"))
		return false;
	/* Redis 7.0's ALLOW_BUSY transaction commands go through. */
	if (arg_is(c, 0, "multi") || arg_is(c, 0, "discard") || arg_is(c, 0, "watch") ||
	    arg_is(c, 0, "unwatch"))
		return false;
	if (arg_is(c, 0, "shutdown") && arg_is(c, 1, "nosave")) {
		srv_log(LL_WARNING, "SHUTDOWN NOSAVE while a script runs: exiting now, "
			"nothing saved.");
		_exit(0);
	}
	busy_refuse(c, run->is_func ?
		    "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE." :
		    "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.");
	return true;
}

/* ---- EVAL and friends ------------------------------------------------------------ */

/* Make the fake client and the EVAL state if not yet there. false after
 * replying an error. */
static bool eval_ready(struct client *c)
{
	if (!script_fake_client()) {
		reply_oom(c);
		return false;
	}
	if (!eval_L && !(eval_L = script_state_new(false))) {
		reply_error(c, "ERR out of memory for the Lua state");
		return false;
	}
	return true;
}

int script_parse_flags(const char *s, size_t n, unsigned *flags, const char **bad)
{
	static const struct { const char *name; unsigned bit; } names[] = {
		{ "no-writes", SF_NO_WRITES }, { "allow-oom", SF_ALLOW_OOM },
		{ "allow-stale", SF_ALLOW_STALE }, { "no-cluster", SF_NO_CLUSTER },
		{ "allow-cross-slot-keys", SF_CROSS_SLOT },
	};
	size_t i = 0;

	while (i < n) {
		size_t j = i, k;

		while (j < n && s[j] != ',')
			j++;
		if (j > i) {
			for (k = 0; k < sizeof names / sizeof names[0]; k++)
				if (strlen(names[k].name) == j - i &&
				    !memcmp(names[k].name, s + i, j - i))
					break;
			if (k == sizeof names / sizeof names[0]) {
				*bad = s + i;
				return -1;
			}
			*flags |= names[k].bit;
		}
		i = j + 1;
	}
	return 0;
}

/* EVAL's shebang ("#!lua flags=..." on the first line): flags into *flags;
 * false after replying an error. */
static bool eval_shebang(struct client *c, const char *body, size_t len, unsigned *flags)
{
	const char *nl = memchr(body, '\n', len), *p, *end;
	char *line;
	bool ok = true;

	*flags = 0;
	if (len < 2 || body[0] != '#' || body[1] != '!')
		return true;
	*flags = SF_DECLARED;
	end = nl ? nl : body + len;
	line = strndup(body + 2, (size_t)(end - body - 2));
	if (!line) {
		reply_oom(c);
		return false;
	}
	p = strtok(line, " ");
	if (!p || strcmp(p, "lua")) {
		reply_errorf(c, "ERR Unexpected engine in script shebang: %s", p ? p : "");
		free(line);
		return false;
	}
	while (ok && (p = strtok(NULL, " "))) {
		const char *bad = NULL;

		if (strncmp(p, "flags=", 6)) {
			reply_errorf(c, "ERR Unknown lua shebang option: %s", p);
			ok = false;
		} else if (script_parse_flags(p + 6, strlen(p + 6), flags, &bad)) {
			reply_errorf(c, "ERR Unexpected flag in script shebang: %.*s",
				     (int)strcspn(bad, ","), bad);
			ok = false;
		}
	}
	free(line);
	return ok;
}

/*
 * Compile body and cache it under sha in the EVAL state (the scripts table
 * gets {fn, flags}). Leaves nothing on the stack. false after replying an
 * error.
 */
static bool eval_compile(struct client *c, const char *body, size_t len, const char *sha)
{
	lua_State *L = eval_L;
	unsigned flags;
	char *code;
	int err;

	if (!eval_shebang(c, body, len, &flags))
		return false;
	code = malloc(len + 1);
	if (!code) {
		reply_oom(c);
		return false;
	}
	memcpy(code, body, len);
	if (flags & SF_DECLARED)
		code[0] = code[1] = '-';	/* the shebang becomes a comment: lines keep their numbers */
	err = luaL_loadbuffer(L, code, len, "@user_script");
	free(code);
	if (err) {
		reply_errorf(c, "ERR Error compiling script (new function): %s",
			     lua_tostring(L, -1));
		lua_pop(L, 1);
		return false;
	}
	lua_getfield(L, LUA_REGISTRYINDEX, REG_SCRIPTS);
	lua_newtable(L);
	lua_pushvalue(L, -3);
	lua_rawseti(L, -2, 1);
	lua_pushinteger(L, (lua_Integer)flags);
	lua_rawseti(L, -2, 2);
	lua_setfield(L, -2, sha);
	lua_pop(L, 2);
	ncached++;
	return true;
}

/* Push the cached entry of sha ({fn, flags}) or nil. */
static void eval_cached(const char *sha)
{
	lua_getfield(eval_L, LUA_REGISTRYINDEX, REG_SCRIPTS);
	lua_getfield(eval_L, -1, sha);
	lua_remove(eval_L, -2);
}

/* Push a table of argv[from .. from + n) into L. */
static void push_args(lua_State *L, struct client *c, int from, int n)
{
	lua_createtable(L, n, 0);
	for (int i = 0; i < n; i++) {
		lua_pushlstring(L, c->argv[from + i].p, c->argv[from + i].len);
		lua_rawseti(L, -2, i + 1);
	}
}

/* Parse numkeys (argv[2]); false after replying an error. */
bool script_numkeys(struct client *c, long long *nk)
{
	if (!arg_ll(c, 2, nk))
		return false;
	if (*nk < 0) {
		reply_error(c, "ERR Number of keys can't be negative");
		return false;
	}
	if (*nk > c->argc - 3) {
		reply_error(c, "ERR Number of keys can't be greater than number of args");
		return false;
	}
	return true;
}

/* EVAL/EVALSHA (by_sha) with or without _RO. */
static void eval_generic(struct client *c, bool by_sha, bool ro)
{
	struct script_run run = { .caller = c };
	char sha[41];
	long long nk;
	unsigned flags;
	lua_State *L;

	if (!script_numkeys(c, &nk) || !eval_ready(c))
		return;
	L = eval_L;
	if (by_sha) {
		size_t n = c->argv[1].len < 40 ? c->argv[1].len : 40;

		for (size_t i = 0; i < n; i++)
			sha[i] = (char)tolower((unsigned char)c->argv[1].p[i]);
		sha[n] = '\0';
		if (c->argv[1].len != 40)
			sha[0] = '\0';
	} else {
		script_sha1hex(c->argv[1].p, c->argv[1].len, sha);
	}
	eval_cached(sha);
	if (lua_isnil(L, -1)) {
		lua_pop(L, 1);
		if (by_sha) {
			reply_error(c, "NOSCRIPT No matching script. Please use EVAL.");
			return;
		}
		if (!eval_compile(c, c->argv[1].p, c->argv[1].len, sha))
			return;
		eval_cached(sha);
	}
	lua_rawgeti(L, -1, 2);
	flags = (unsigned)lua_tointeger(L, -1);
	lua_pop(L, 1);
	lua_rawgeti(L, -1, 1);
	lua_remove(L, -2);
	/* KEYS and ARGV, straight into the backing globals table */
	lua_getfield(L, LUA_REGISTRYINDEX, REG_BACKING);
	push_args(L, c, 3, (int)nk);
	lua_setfield(L, -2, "KEYS");
	push_args(L, c, 3 + (int)nk, c->argc - 3 - (int)nk);
	lua_setfield(L, -2, "ARGV");
	lua_pop(L, 1);
	run.L = L;
	snprintf(run.name, sizeof run.name, "%s", sha);
	run.ro = ro || (flags & SF_NO_WRITES);
	run.allow_oom = flags & SF_ALLOW_OOM;
	if ((flags & SF_DECLARED) && !run.ro && !run.allow_oom && cmd_over_maxmemory()) {
		lua_settop(L, 0);
		reply_oom(c);
		return;
	}
	if ((flags & SF_DECLARED) && !run.ro && persist_writes_denied()) {
		lua_settop(L, 0);	/* a declared script that may write: a write command */
		reply_misconf(c);
		return;
	}
	script_run_and_reply(&run, 0);
}

void cmd_eval(struct client *c)
{
	eval_generic(c, false, false);
}

void cmd_evalsha(struct client *c)
{
	eval_generic(c, true, false);
}

void cmd_eval_ro(struct client *c)
{
	eval_generic(c, false, true);
}

void cmd_evalsha_ro(struct client *c)
{
	eval_generic(c, true, true);
}

static const char *script_help[] = {
	"SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"EXISTS <sha1> [<sha1> ...]",
	"    Return information about the existence of the scripts in the script cache.",
	"FLUSH [ASYNC|SYNC]",
	"    Flush the Lua scripts cache.",
	"KILL",
	"    Kill the currently executing Lua script.",
	"LOAD <script>",
	"    Load a script into the scripts cache without executing it.",
	"HELP",
	"    Print this help.",
};

void cmd_script(struct client *c)
{
	if (arg_is(c, 1, "help") && c->argc == 2) {
		reply_array(c, sizeof script_help / sizeof script_help[0]);
		for (size_t i = 0; i < sizeof script_help / sizeof script_help[0]; i++)
			reply_status(c, script_help[i]);
	} else if (arg_is(c, 1, "flush") && c->argc <= 3) {
		if (c->argc == 3 && !arg_is(c, 2, "sync") && !arg_is(c, 2, "async")) {
			reply_error(c, "ERR SCRIPT FLUSH only support SYNC|ASYNC option");
			return;
		}
		if (eval_L)
			lua_close(eval_L);
		eval_L = NULL;
		ncached = 0;
		reply_ok(c);
	} else if (arg_is(c, 1, "exists") && c->argc >= 3) {
		if (!eval_ready(c))
			return;
		reply_array(c, c->argc - 2);
		for (int i = 2; i < c->argc; i++) {
			char sha[41];
			size_t n = c->argv[i].len;
			bool found = false;

			if (n == 40) {
				for (size_t k = 0; k < 40; k++)
					sha[k] = (char)tolower((unsigned char)c->argv[i].p[k]);
				sha[40] = '\0';
				eval_cached(sha);
				found = !lua_isnil(eval_L, -1);
				lua_pop(eval_L, 1);
			}
			reply_int(c, found);
		}
	} else if (arg_is(c, 1, "load") && c->argc == 3) {
		char sha[41];

		if (!eval_ready(c))
			return;
		script_sha1hex(c->argv[2].p, c->argv[2].len, sha);
		eval_cached(sha);
		if (lua_isnil(eval_L, -1) && !eval_compile(c, c->argv[2].p, c->argv[2].len, sha)) {
			lua_pop(eval_L, 1);
			return;
		}
		lua_pop(eval_L, 1);
		reply_bulk(c, sha, 40);
	} else if (arg_is(c, 1, "kill") && c->argc == 2) {
		script_kill(c, true);
	} else if (arg_is(c, 1, "debug")) {
		reply_error(c, "ERR SCRIPT DEBUG (the Lua debugger) is not supported by cowkv");
	} else if (arg_is(c, 1, "flush") || arg_is(c, 1, "exists") || arg_is(c, 1, "load") ||
		   arg_is(c, 1, "kill") || arg_is(c, 1, "help")) {
		char name[48];

		snprintf(name, sizeof name, "script|%s", c->argv[1].p);
		for (char *p = name; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		reply_arity(c, name);
	} else {
		reply_subcommand(c, "SCRIPT");
	}
}

/* The fake client for function.c (made on first use). NULL if no memory. */
struct client *script_fake_client(void)
{
	if (!fake) {
		fake = calloc(1, sizeof *fake);
		if (!fake)
			return NULL;
		fake->fd = -1;
		fake->flags = CF_FAKE;
		fake->authed = true;
		snprintf(fake->addr, sizeof fake->addr, "lua");
	}
	return fake;
}

uint64_t script_cache_count(void)
{
	return ncached;
}

uint64_t script_lua_memory(void)
{
	return eval_L ? (uint64_t)lua_gc(eval_L, LUA_GCCOUNT, 0) * 1024 +
			(uint64_t)lua_gc(eval_L, LUA_GCCOUNTB, 0) : 0;
}

/* ---- the globals a function library's top level sees (function.c) ------------- */

/* Point the globals proxy's reads at the table on top (popped). */
static void globals_index_target(lua_State *L)
{
	lua_getmetatable(L, LUA_GLOBALSINDEX);
	lua_pushliteral(L, "__index");
	lua_rawget(L, -2);
	lua_pushvalue(L, -3);
	lua_setupvalue(L, -2, 1);
	lua_pop(L, 3);
}

void script_globals_swap(lua_State *L, bool restore)
{
	if (restore)
		lua_getfield(L, LUA_REGISTRYINDEX, REG_BACKING);
	else
		lua_getfield(L, LUA_REGISTRYINDEX, "cowkv.load_globals");
	globals_index_target(L);
}

void script_load_globals_init(lua_State *L, lua_CFunction register_fn)
{
	static const char *const keep[] = {
		"log", "LOG_DEBUG", "LOG_VERBOSE", "LOG_NOTICE", "LOG_WARNING",
		"REDIS_VERSION", "REDIS_VERSION_NUM",
	};

	lua_newtable(L);                        /* the load-time globals */
	lua_newtable(L);                        /* the load-time redis, raw */
	lua_getfield(L, LUA_REGISTRYINDEX, REG_BACKING);
	lua_getfield(L, -1, "redis");           /* the runtime redis proxy */
	for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++) {
		lua_getfield(L, -1, keep[i]);
		lua_setfield(L, -4, keep[i]);
	}
	lua_pop(L, 2);
	lua_pushcfunction(L, register_fn);
	lua_setfield(L, -2, "register_function");
	/* a proxy that names unknown fields as missing globals */
	lua_newtable(L);
	lua_newtable(L);
	lua_pushliteral(L, "__index");
	lua_pushvalue(L, -4);
	lua_pushcclosure(L, globals_index, 1);
	lua_rawset(L, -3);
	lua_pushliteral(L, "__newindex");
	lua_pushcfunction(L, readonly_newindex);
	lua_rawset(L, -3);
	lua_pushliteral(L, "__metatable");
	push_ro_marker(L);
	lua_rawset(L, -3);
	lua_setmetatable(L, -2);
	lua_remove(L, -2);
	lua_setfield(L, -2, "redis");
	lua_setfield(L, LUA_REGISTRYINDEX, "cowkv.load_globals");
}
