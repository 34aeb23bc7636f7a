/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * function.c — Redis 7.0 functions: FUNCTION LOAD|DELETE|FLUSH|KILL|LIST|
 * DUMP|RESTORE|STATS|HELP, FCALL and FCALL_RO, redis.register_function.
 *
 * The libraries' code is part of the dataset: a block of the space heap
 * (kv_root.funcs) holds a random stamp, the library count and each
 * library's code. BGSAVE, restart, SNAPSHOT/ROLLBACK therefore cover them.
 * The Lua state that runs them is process memory, rebuilt from that block
 * whenever its stamp is not the one the state was built from (func_sync,
 * called before every FUNCTION and FCALL), as Redis rebuilds it from an RDB.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include <lauxlib.h>

#include "server.h"
#include "script.h"
#include "rdbfmt.h"
#include "rdb.h"

#define FUNC_LOAD_TIMEOUT_MS 500     /* a library's top-level code, as Redis */
#define OPCODE_FUNCTION2 245         /* RDB: a function library */

struct fn {
	char *name;
	char *desc;             /* NULL if none */
	unsigned flags;         /* SF_* */
	int ref;                /* the callback, in fn_L's registry */
};

struct lib {
	char *name;
	char *code;
	size_t len;
	struct fn *fns;
	int nfns;
};

static lua_State *fn_L;
static struct lib *libs;
static int nlibs;
static uint64_t synced_stamp;   /* stamp of the stored block fn_L reflects */
static bool synced;

/* While a library's top-level code runs: the functions it registers. */
static struct {
	bool active;
	struct fn *fns;
	int nfns;
	int64_t start_us;
} loading;

/* ---- libraries in process memory --------------------------------------------- */

static void fn_free(struct fn *f)
{
	if (fn_L)
		luaL_unref(fn_L, LUA_REGISTRYINDEX, f->ref);
	free(f->name);
	free(f->desc);
}

static void lib_free(struct lib *l)
{
	for (int i = 0; i < l->nfns; i++)
		fn_free(&l->fns[i]);
	free(l->fns);
	free(l->name);
	free(l->code);
}

/* Drop every library and the state. */
static void libs_reset(void)
{
	for (int i = 0; i < nlibs; i++)
		lib_free(&libs[i]);
	free(libs);
	libs = NULL;
	nlibs = 0;
	if (fn_L)
		lua_close(fn_L);
	fn_L = NULL;
}

static int lib_index(const char *name)
{
	for (int i = 0; i < nlibs; i++)
		if (!strcmp(libs[i].name, name))
			return i;
	return -1;
}

/* The function called name and its library, or NULL. */
static struct fn *fn_find(const char *name, size_t n, struct lib **lib)
{
	for (int i = 0; i < nlibs; i++)
		for (int k = 0; k < libs[i].nfns; k++)
			if (strlen(libs[i].fns[k].name) == n && !strncasecmp(libs[i].fns[k].name, name, n)) {
				if (lib)
					*lib = &libs[i];
				return &libs[i].fns[k];
			}
	return NULL;
}

static bool valid_name(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			return false;
	return true;
}

/* ---- redis.register_function ------------------------------------------------- */

/* Flags from the table at index t (strings); -1 on an unknown one. */
static int flags_from_table(lua_State *L, int t, unsigned *flags)
{
	for (int i = 1;; i++) {
		const char *bad;
		size_t n;
		const char *s;

		lua_rawgeti(L, t, i);
		if (lua_isnil(L, -1)) {
			lua_pop(L, 1);
			return 0;
		}
		s = lua_tolstring(L, -1, &n);
		if (lua_type(L, -1) != LUA_TSTRING || script_parse_flags(s, n, flags, &bad) ||
		    memchr(s, ',', n)) {
			lua_pop(L, 1);
			return -1;
		}
		lua_pop(L, 1);
	}
}

#define NAME_RULE "Library names can only contain letters, numbers, or underscores(_) " \
		  "and must be at least one character long"

/* redis.register_function(name, callback) or
 * redis.register_function{function_name=, callback=, flags=, description=}. */
static int l_register_function(lua_State *L)
{
	const char *name = NULL, *desc = NULL;
	size_t nlen = 0;
	unsigned flags = 0;
	struct fn *grown;
	int argc = lua_gettop(L);

	if (!loading.active)
		return luaL_error(L, "redis.register_function can only be called on FUNCTION LOAD command");
	if (argc == 2) {
		if (lua_type(L, 1) != LUA_TSTRING)
			return luaL_error(L, "first argument to redis.register_function must be a string");
		if (!lua_isfunction(L, 2))
			return luaL_error(L, "second argument to redis.register_function must be a function");
		name = lua_tolstring(L, 1, &nlen);
		lua_pushvalue(L, 2);
	} else if (argc == 1) {
		int cb = 0;

		if (!lua_istable(L, 1))
			return luaL_error(L, "calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).");
		lua_pushnil(L);
		while (lua_next(L, 1)) {
			const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "";

			if (!strcmp(k, "function_name")) {
				if (lua_type(L, -1) != LUA_TSTRING)
					return luaL_error(L, "function_name argument given to redis.register_function must be a string");
				name = lua_tolstring(L, -1, &nlen);
			} else if (!strcmp(k, "callback")) {
				if (!lua_isfunction(L, -1))
					return luaL_error(L, "callback argument given to redis.register_function must be a function");
				cb = 1;
			} else if (!strcmp(k, "description")) {
				if (lua_type(L, -1) != LUA_TSTRING)
					return luaL_error(L, "description argument given to redis.register_function must be a string");
				desc = lua_tostring(L, -1);
			} else if (!strcmp(k, "flags")) {
				if (!lua_istable(L, -1))
					return luaL_error(L, "flags argument to redis.register_function must be a table representing function flags");
				if (flags_from_table(L, lua_gettop(L), &flags))
					return luaL_error(L, "unknown flag given");
			} else {
				return luaL_error(L, "unknown argument given to redis.register_function");
			}
			lua_pop(L, 1);
		}
		if (!name)
			return luaL_error(L, "redis.register_function must get a function name argument");
		if (!cb)
			return luaL_error(L, "redis.register_function must get a callback argument");
		lua_getfield(L, 1, "callback");
	} else {
		return luaL_error(L, "wrong number of arguments to redis.register_function");
	}
	if (!valid_name(name, nlen))
		return luaL_error(L, NAME_RULE);
	for (int i = 0; i < loading.nfns; i++)
		if (!strcasecmp(loading.fns[i].name, name))
			return luaL_error(L, "Function already exists in the library");
	grown = realloc(loading.fns, (size_t)(loading.nfns + 1) * sizeof *grown);
	if (!grown)
		return luaL_error(L, "out of memory");
	loading.fns = grown;
	grown = &loading.fns[loading.nfns];
	grown->name = strdup(name);
	grown->desc = desc ? strdup(desc) : NULL;
	grown->flags = flags;
	grown->ref = luaL_ref(L, LUA_REGISTRYINDEX);   /* pops the callback */
	loading.nfns++;
	return 0;
}

/* Stop a library's top-level code that runs too long. */
static void load_hook(lua_State *L, lua_Debug *ar)
{
	(void)ar;
	if ((srv_mono_us() - loading.start_us) / 1000 > FUNC_LOAD_TIMEOUT_MS)
		luaL_error(L, "FUNCTION LOAD timeout");
}

/* ---- loading a library ---------------------------------------------------------- */

/* Parse the "#!lua name=<lib>" first line: the library's name (malloc'd) or
 * NULL with the error in err. */
static char *parse_shebang(const char *code, size_t len, char *err, size_t errlen)
{
	const char *nl = memchr(code, '\n', len), *end = nl ? nl : code + len;
	char *line, *tok, *name = NULL;

	if (len < 2 || code[0] != '#' || code[1] != '!') {
		snprintf(err, errlen, "ERR Missing library metadata");
		return NULL;
	}
	line = strndup(code + 2, (size_t)(end - code - 2));
	if (!line) {
		snprintf(err, errlen, "ERR out of memory");
		return NULL;
	}
	/* the engine: what follows "#!" up to the first space (maybe empty) */
	tok = line + strcspn(line, " ");
	if (*tok)
		*tok++ = '\0';
	if (strcasecmp(line, "lua")) {
		snprintf(err, errlen, "ERR Engine '%.64s' not found", line);
		free(line);
		return NULL;
	}
	for (tok = strtok(tok, " "); tok; tok = strtok(NULL, " ")) {
		if (!strncmp(tok, "name=", 5)) {
			char *v = tok + 5;
			size_t vn = strlen(v);

			if (name) {
				snprintf(err, errlen, "ERR Invalid metadata value, name argument "
					 "was given multiple times");
				free(name);
				free(line);
				return NULL;
			}
			if (vn >= 2 && (v[0] == '"' || v[0] == '\'') && v[vn - 1] == v[0]) {
				v[vn - 1] = '\0';
				v++;
			}
			name = strdup(v);
		} else {
			snprintf(err, errlen, "ERR Invalid metadata value given: %.64s", tok);
			free(name);
			free(line);
			return NULL;
		}
	}
	free(line);
	if (!name) {
		snprintf(err, errlen, "ERR Library name was not given");
		return NULL;
	}
	if (!valid_name(name, strlen(name))) {
		snprintf(err, errlen, "ERR Library names can only contain letters, numbers, "
			 "or underscores(_) and must be at least one character long");
		free(name);
		return NULL;
	}
	return name;
}

/* Drop the functions collected in loading. */
static void loading_discard(void)
{
	for (int i = 0; i < loading.nfns; i++)
		fn_free(&loading.fns[i]);
	free(loading.fns);
	loading.fns = NULL;
	loading.nfns = 0;
	loading.active = false;
}

/*
 * Load library code (len bytes): compile, run its top level (which
 * registers functions), check names, then install it, replacing a library
 * of the same name if replace. 0, or -1 with Redis's message in err (the
 * libraries unchanged). The name goes into *libname (malloc'd) on success.
 */
static int lib_load(const char *code, size_t len, bool replace, char *err, size_t errlen,
		    char **libname, bool restoring)
{
	char *name, *copy;
	int old, r;
	struct lib *grown, nl;

	if (!(name = parse_shebang(code, len, err, errlen)))
		return -1;
	old = lib_index(name);
	if (old >= 0 && !replace) {
		snprintf(err, errlen, restoring ? "ERR Library %s already exists" :
			 "ERR Library '%s' already exists", name);
		free(name);
		return -1;
	}
	if (!fn_L) {
		if (!(fn_L = script_state_new(true))) {
			snprintf(err, errlen, "ERR out of memory for the Lua state");
			free(name);
			return -1;
		}
		script_load_globals_init(fn_L, l_register_function);
	}
	copy = malloc(len + 1);
	if (!copy) {
		snprintf(err, errlen, "ERR out of memory");
		free(name);
		return -1;
	}
	memcpy(copy, code, len);
	copy[0] = copy[1] = '-';	/* the shebang as a comment keeps line numbers */
	r = luaL_loadbuffer(fn_L, copy, len, "@user_function");
	free(copy);
	if (r) {
		snprintf(err, errlen, "ERR Error compiling function: %s", lua_tostring(fn_L, -1));
		lua_pop(fn_L, 1);
		free(name);
		return -1;
	}
	loading.active = true;
	loading.start_us = srv_mono_us();
	lua_sethook(fn_L, load_hook, LUA_MASKCOUNT, 100000);
	script_globals_swap(fn_L, false);
	r = lua_pcall(fn_L, 0, 0, 0);
	script_globals_swap(fn_L, true);
	lua_sethook(fn_L, NULL, 0, 0);
	if (r) {
		const char *m = NULL;

		if (lua_istable(fn_L, -1)) {
			lua_getfield(fn_L, -1, "err");
			m = lua_tostring(fn_L, -1);
		} else {
			m = lua_tostring(fn_L, -1);
		}
		snprintf(err, errlen, "ERR Error registering functions: %s", m ? m : "?");
		lua_settop(fn_L, 0);
		goto fail;
	}
	if (loading.nfns == 0) {
		snprintf(err, errlen, "ERR No functions registered");
		goto fail;
	}
	for (int i = 0; i < loading.nfns; i++) {
		struct lib *owner;

		if (fn_find(loading.fns[i].name, strlen(loading.fns[i].name), &owner) &&
		    owner != (old >= 0 ? &libs[old] : NULL)) {
			snprintf(err, errlen, "ERR Function %s already exists", loading.fns[i].name);
			goto fail;
		}
	}
	nl.name = name;
	nl.code = malloc(len + 1);
	nl.len = len;
	nl.fns = loading.fns;
	nl.nfns = loading.nfns;
	if (!nl.code) {
		snprintf(err, errlen, "ERR out of memory");
		goto fail;
	}
	memcpy(nl.code, code, len);
	nl.code[len] = '\0';
	if (old >= 0) {
		lib_free(&libs[old]);
		libs[old] = nl;
	} else {
		grown = realloc(libs, (size_t)(nlibs + 1) * sizeof *grown);
		if (!grown) {
			free(nl.code);
			snprintf(err, errlen, "ERR out of memory");
			goto fail;
		}
		libs = grown;
		libs[nlibs++] = nl;
	}
	loading.fns = NULL;
	loading.nfns = 0;
	loading.active = false;
	if (libname)
		*libname = strdup(name);
	return 0;
fail:
	loading_discard();
	free(name);
	return -1;
}

/* ---- the stored block ------------------------------------------------------------ */

/* Block layout: u64 stamp, u32 count, then per library u64 length + code. */
struct func_block {
	uint64_t stamp;
	uint32_t count;
	uint32_t pad;
	char data[];
};

/* The stored block of db, or NULL. */
static struct func_block *stored(struct kvdb *db)
{
	return db->root ? kv_ptr(db, db->root->funcs) : NULL;
}

/* Write the libraries of process memory into the dataset (a new block with
 * a new stamp; the old one freed). 0 or -ENOMEM (the old block stays). */
static int store_libs(void)
{
	size_t size = sizeof(struct func_block);
	struct func_block *b;
	kv_off off = 0;
	char *q;
	uint64_t stamp;

	for (int i = 0; i < nlibs; i++)
		size += 8 + libs[i].len;
	if (nlibs) {
		off = cow_heap_alloc(srv.db.heap, size);
		if (!off)
			return -ENOMEM;
		b = kv_ptr(&srv.db, off);
		if (getrandom(&stamp, sizeof stamp, 0) != sizeof stamp)
			stamp = srv_random();
		b->stamp = stamp | 1;
		b->count = (uint32_t)nlibs;
		b->pad = 0;
		q = b->data;
		for (int i = 0; i < nlibs; i++) {
			uint64_t n = libs[i].len;

			memcpy(q, &n, 8);
			memcpy(q + 8, libs[i].code, n);
			q += 8 + n;
		}
		synced_stamp = b->stamp;
	} else {
		synced_stamp = 0;
	}
	if (srv.db.root->funcs)
		cow_heap_free(srv.db.heap, srv.db.root->funcs);
	srv.db.root->funcs = off;
	srv_changed(1);
	return 0;
}

/* Rebuild process memory from a list of codes (as stored). 0 or -1 (err). */
static int load_all(const char *data, uint32_t count, const char *end, char *err, size_t errlen)
{
	libs_reset();
	for (uint32_t i = 0; i < count; i++) {
		uint64_t n;

		if (end - data < 8)
			return -1;
		memcpy(&n, data, 8);
		if ((uint64_t)(end - data - 8) < n)
			return -1;
		if (lib_load(data + 8, n, false, err, errlen, NULL, false))
			return -1;
		data += 8 + n;
	}
	return 0;
}

void func_sync(void)
{
	struct func_block *b = stored(&srv.db);
	uint64_t stamp = b ? b->stamp : 0;
	char err[256];

	if (synced && stamp == synced_stamp)
		return;
	synced = true;
	synced_stamp = stamp;
	if (!b) {
		libs_reset();
		return;
	}
	if (load_all(b->data, b->count,
		     (const char *)b + cow_heap_usable_size(srv.db.heap, srv.db.root->funcs),
		     err, sizeof err))
		srv_log(LL_WARNING, "the dataset's function libraries could not all be "
			"loaded: %s", err);
}

/*
 * func_stash — a malloc'd copy of db's function libraries (the caller frees
 * it), or NULL when there are none (or no memory: they are then lost, and
 * said so in the log). *n gets its size.
 */
void *func_stash(void *db_, size_t *n)
{
	struct kvdb *db = db_;
	struct func_block *b = stored(db);
	void *copy;

	*n = 0;
	if (!b)
		return NULL;
	*n = cow_heap_usable_size(db->heap, db->root->funcs);
	if (!(copy = malloc(*n)))
		srv_log(LL_WARNING, "FLUSHALL: no memory to keep the function libraries: dropped");
	else
		memcpy(copy, b, *n);
	return copy;
}

/* func_unstash — put a func_stash() copy back into db (a fresh dataset);
 * frees it. */
void func_unstash(void *db_, void *copy, size_t n)
{
	struct kvdb *db = db_;
	kv_off off;

	if (!copy)
		return;
	if (db->root && (off = cow_heap_alloc(db->heap, n))) {
		memcpy(kv_ptr(db, off), copy, n);
		db->root->funcs = off;
	} else {
		srv_log(LL_WARNING, "FLUSHALL: no room for the function libraries: dropped");
	}
	free(copy);
}

void func_carry_over(void *from_db, void *to_db)
{
	struct kvdb *from = from_db, *to = to_db;
	struct func_block *b = stored(from);
	size_t n;
	kv_off off;

	if (!b || !to->root)
		return;
	n = cow_heap_usable_size(from->heap, from->root->funcs);
	off = cow_heap_alloc(to->heap, n);
	if (!off) {
		srv_log(LL_WARNING, "FLUSHALL: no room for the function libraries: dropped");
		return;
	}
	memcpy(kv_ptr(to, off), b, n);
	to->root->funcs = off;
}

/* ---- FCALL ------------------------------------------------------------------------ */

static void fcall_generic(struct client *c, bool ro)
{
	struct script_run run = { .caller = c, .is_func = true };
	struct fn *f;
	long long nk;

	func_sync();
	if (!resp_str2ll(c->argv[2].p, c->argv[2].len, &nk)) {
		reply_error(c, "ERR Bad number of keys provided");
		return;
	}
	if (!script_numkeys(c, &nk))
		return;
	f = fn_find(c->argv[1].p, c->argv[1].len, NULL);
	if (!f) {
		reply_error(c, "ERR Function not found");
		return;
	}
	if (ro && !(f->flags & SF_NO_WRITES)) {
		reply_error(c, "ERR Can not execute a script with write flag using *_ro command.");
		return;
	}
	if (!script_fake_client()) {
		reply_oom(c);
		return;
	}
	run.L = fn_L;
	snprintf(run.name, sizeof run.name, "%s", f->name);
	run.ro = ro || (f->flags & SF_NO_WRITES);
	run.allow_oom = f->flags & SF_ALLOW_OOM;
	if (!run.ro && !run.allow_oom && cmd_over_maxmemory()) {
		reply_oom(c);
		return;
	}
	if (!run.ro && persist_writes_denied()) {
		reply_misconf(c);	/* a function that may write: a write command */
		return;
	}
	lua_rawgeti(fn_L, LUA_REGISTRYINDEX, f->ref);
	lua_createtable(fn_L, (int)nk, 0);
	for (int i = 0; i < nk; i++) {
		lua_pushlstring(fn_L, c->argv[3 + i].p, c->argv[3 + i].len);
		lua_rawseti(fn_L, -2, i + 1);
	}
	lua_createtable(fn_L, c->argc - 3 - (int)nk, 0);
	for (int i = 3 + (int)nk; i < c->argc; i++) {
		lua_pushlstring(fn_L, c->argv[i].p, c->argv[i].len);
		lua_rawseti(fn_L, -2, i - 2 - (int)nk);
	}
	script_run_and_reply(&run, 2);
}

void cmd_fcall(struct client *c)
{
	fcall_generic(c, false);
}

void cmd_fcall_ro(struct client *c)
{
	fcall_generic(c, true);
}

/* ---- FUNCTION ---------------------------------------------------------------------- */

static void function_load(struct client *c)
{
	bool replace = false;
	int i = 2;
	char err[512], *name = NULL;

	if (c->argc >= 4 && arg_is(c, 2, "replace")) {
		replace = true;
		i = 3;
	}
	if (i != c->argc - 1) {
		reply_errorf(c, "ERR Unknown option given: %s", c->argv[2].p);
		return;
	}
	if (cmd_over_maxmemory()) {
		reply_oom(c);
		return;
	}
	if (lib_load(c->argv[i].p, c->argv[i].len, replace, err, sizeof err, &name, false)) {
		reply_error(c, err);
		return;
	}
	if (store_libs()) {
		/* keep process memory in line with the dataset */
		synced = false;
		func_sync();
		free(name);
		reply_oom(c);
		return;
	}
	reply_bulk_str(c, name);
	free(name);
}

/* Reply a function's flags as a set. */
static void reply_fn_flags(struct client *c, unsigned flags)
{
	static const struct { unsigned bit; const char *name; } names[] = {
		{ SF_NO_WRITES, "no-writes" }, { SF_ALLOW_OOM, "allow-oom" },
		{ SF_ALLOW_STALE, "allow-stale" }, { SF_NO_CLUSTER, "no-cluster" },
		{ SF_CROSS_SLOT, "allow-cross-slot-keys" },
	};
	long long n = 0;

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		n += (flags & names[i].bit) != 0;
	reply_set_len(c, n);
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (flags & names[i].bit)
			reply_bulk_str(c, names[i].name);
}

static void function_list(struct client *c)
{
	const char *pat = NULL;
	size_t plen = 0;
	bool code = false;
	long long n = 0;
	struct obuf *h;

	for (int i = 2; i < c->argc; i++) {
		if (arg_is(c, i, "withcode") && !code) {
			code = true;
		} else if (arg_is(c, i, "libraryname") && !pat) {
			if (i + 1 >= c->argc) {
				reply_error(c, "ERR library name argument was not given");
				return;
			}
			pat = c->argv[++i].p;
			plen = c->argv[i].len;
		} else {
			reply_errorf(c, "ERR Unknown argument %s", c->argv[i].p);
			return;
		}
	}
	h = reply_defer(c);
	for (int i = 0; i < nlibs; i++) {
		struct lib *l = &libs[i];

		if (pat && !glob_match(pat, plen, l->name, strlen(l->name), false))
			continue;
		n++;
		reply_map_len(c, code ? 4 : 3);
		reply_bulk_str(c, "library_name");
		reply_bulk_str(c, l->name);
		reply_bulk_str(c, "engine");
		reply_bulk_str(c, "LUA");
		reply_bulk_str(c, "functions");
		reply_array(c, l->nfns);
		for (int k = 0; k < l->nfns; k++) {
			reply_map_len(c, 3);
			reply_bulk_str(c, "name");
			reply_bulk_str(c, l->fns[k].name);
			reply_bulk_str(c, "description");
			if (l->fns[k].desc)
				reply_bulk_str(c, l->fns[k].desc);
			else
				reply_null(c);
			reply_bulk_str(c, "flags");
			reply_fn_flags(c, l->fns[k].flags);
		}
		if (code) {
			reply_bulk_str(c, "library_code");
			reply_bulk(c, l->code, l->len);
		}
	}
	reply_defer_set(c, h, n);
}

static void function_stats(struct client *c)
{
	struct script_run *run = script_current;
	long long nf = 0;

	for (int i = 0; i < nlibs; i++)
		nf += libs[i].nfns;
	reply_map_len(c, 2);
	reply_bulk_str(c, "running_script");
	if (run && run->is_func) {
		struct client *rc = run->caller;

		reply_map_len(c, 3);
		reply_bulk_str(c, "name");
		reply_bulk_str(c, run->name);
		reply_bulk_str(c, "command");
		reply_array(c, rc->argc);
		for (int i = 0; i < rc->argc; i++)
			reply_bulk(c, rc->argv[i].p, rc->argv[i].len);
		reply_bulk_str(c, "duration_ms");
		reply_int(c, (srv_mono_us() - run->start_us) / 1000);
	} else {
		reply_null(c);
	}
	reply_bulk_str(c, "engines");
	reply_map_len(c, 1);
	reply_bulk_str(c, "LUA");
	reply_map_len(c, 2);
	reply_bulk_str(c, "libraries_count");
	reply_int(c, nlibs);
	reply_bulk_str(c, "functions_count");
	reply_int(c, nf);
}

static void function_dump(struct client *c)
{
	struct rbuf b = { 0 };

	for (int i = 0; i < nlibs; i++) {
		rbuf_byte(&b, OPCODE_FUNCTION2);
		rbuf_str(&b, libs[i].code, libs[i].len);
	}
	rbuf_dump_trailer(&b);
	if (b.oom)
		reply_oom(c);
	else
		reply_bulk(c, b.p, b.len);
	free(b.p);
}

/* Append code/n as a stored-block entry to *list. */
static void list_add(struct rbuf *list, const char *code, uint64_t n)
{
	rbuf_put(list, &n, 8);
	rbuf_put(list, code, n);
}

/* FUNCTION RESTORE payload [FLUSH|APPEND|REPLACE]: all or nothing. */
static void function_restore(struct client *c)
{
	enum { APPEND, REPLACE, FLUSH } policy = APPEND;
	struct rbuf list = { 0 }, old = { 0 };
	struct rreader r;
	size_t body;
	uint32_t count = 0, oldcount = (uint32_t)nlibs;
	char err[512];
	int bad = 0;

	if (c->argc == 4) {
		if (arg_is(c, 3, "flush"))
			policy = FLUSH;
		else if (arg_is(c, 3, "replace"))
			policy = REPLACE;
		else if (!arg_is(c, 3, "append")) {
			reply_error(c, "ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.");
			return;
		}
	} else if (c->argc > 4) {
		reply_error(c, "ERR unknown subcommand or wrong number of arguments for "
			    "'restore'. Try FUNCTION HELP.");
		return;
	}
	if (cmd_over_maxmemory()) {
		reply_oom(c);
		return;
	}
	if (rdb_dump_check(c->argv[2].p, c->argv[2].len, &body)) {
		reply_error(c, "ERR payload version or checksum are wrong");
		return;
	}
	for (int i = 0; i < nlibs; i++)
		list_add(&old, libs[i].code, libs[i].len);
	r.p = (const unsigned char *)c->argv[2].p;
	r.end = r.p + body;
	r.bad = 0;
	/* The new set: the old libraries (unless FLUSH), then the payload's,
	 * a payload library replacing an old one of its name under REPLACE. */
	if (policy != FLUSH)
		for (int i = 0; i < nlibs; i++)
			list_add(&list, libs[i].code, libs[i].len), count++;
	while (r.p < r.end && !bad) {
		size_t n;
		char *code;

		if (rread_byte(&r) != OPCODE_FUNCTION2) {
			bad = 1;
			break;
		}
		code = rread_str(&r, &n);
		if (!code) {
			bad = 1;
			break;
		}
		list_add(&list, code, n);
		count++;
		free(code);
	}
	if (bad || list.oom || old.oom) {
		reply_error(c, bad ? "ERR given payload is not a valid function dump" : "ERR out of memory");
		goto out;
	}
	/* Load: old ones first (plain), payload ones with the policy. */
	libs_reset();
	{
		const char *p = (const char *)list.p, *end = p + list.len;
		uint32_t k = 0;
		int rc = 0;

		for (; k < count && rc == 0; k++) {
			uint64_t n;

			memcpy(&n, p, 8);
			rc = lib_load(p + 8, n, policy == REPLACE && k >= (policy == FLUSH ? 0 : oldcount),
				      err, sizeof err, NULL, true);
			p += 8 + n;
		}
		(void)end;
		if (rc) {
			char e2[256];

			load_all((const char *)old.p, oldcount, (const char *)old.p + old.len, e2, sizeof e2);
			reply_error(c, err);
			goto out;
		}
	}
	if (store_libs()) {
		reply_oom(c);
		goto out;
	}
	reply_ok(c);
out:
	free(list.p);
	free(old.p);
}

static const char *function_help[] = {
	"FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"LOAD [REPLACE] <FUNCTION CODE>",
	"    Create a new library with the given library name and code.",
	"DELETE <LIBRARY NAME>",
	"    Delete the given library.",
	"LIST [LIBRARYNAME PATTERN] [WITHCODE]",
	"    Return general information on all the libraries.",
	"FCALL <FUNCTION NAME> <NUMKEYS> <KEY1> .. <KEYN> <ARG1> .. <ARGN>",
	"    Call a function (the FCALL command).",
	"KILL",
	"    Kill the current running function.",
	"STATS",
	"    Return information about the current function running.",
	"FLUSH [ASYNC|SYNC]",
	"    Delete all the libraries.",
	"DUMP",
	"    Return a serialized payload representing the current libraries.",
	"RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
	"    Restore the libraries represented by the given payload.",
	"HELP",
	"    Print this help.",
};

void cmd_function(struct client *c)
{
	func_sync();
	if (arg_is(c, 1, "load") && c->argc >= 3) {
		function_load(c);
	} else if (arg_is(c, 1, "delete") && c->argc == 3) {
		int i = lib_index(c->argv[2].p);

		if (i < 0) {
			reply_error(c, "ERR Library not found");
			return;
		}
		lib_free(&libs[i]);
		libs[i] = libs[--nlibs];
		if (store_libs()) {
			synced = false;
			func_sync();
			reply_oom(c);
			return;
		}
		reply_ok(c);
	} else if (arg_is(c, 1, "flush") && c->argc <= 3) {
		if (c->argc == 3 && !arg_is(c, 2, "sync") && !arg_is(c, 2, "async")) {
			reply_error(c, "ERR FUNCTION FLUSH only supports SYNC|ASYNC option");
			return;
		}
		libs_reset();
		store_libs();	/* freeing only: cannot fail */
		reply_ok(c);
	} else if (arg_is(c, 1, "kill") && c->argc == 2) {
		script_kill(c, false);
	} else if (arg_is(c, 1, "list")) {
		function_list(c);
	} else if (arg_is(c, 1, "stats") && c->argc == 2) {
		function_stats(c);
	} else if (arg_is(c, 1, "dump") && c->argc == 2) {
		function_dump(c);
	} else if (arg_is(c, 1, "restore") && c->argc >= 3) {
		function_restore(c);
	} else if (arg_is(c, 1, "help") && c->argc == 2) {
		reply_array(c, sizeof function_help / sizeof function_help[0]);
		for (size_t i = 0; i < sizeof function_help / sizeof function_help[0]; i++)
			reply_status(c, function_help[i]);
	} else if (c->argc >= 2 && (arg_is(c, 1, "load") || arg_is(c, 1, "delete") ||
		   arg_is(c, 1, "flush") || arg_is(c, 1, "kill") || arg_is(c, 1, "stats") ||
		   arg_is(c, 1, "dump") || arg_is(c, 1, "restore") || arg_is(c, 1, "help"))) {
		char name[48];

		snprintf(name, sizeof name, "%s", c->argv[1].p);
		for (char *p = name; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		reply_errorf(c, "ERR unknown subcommand or wrong number of arguments for "
			     "'%s'. Try FUNCTION HELP.", name);
	} else {
		reply_subcommand(c, "FUNCTION");
	}
}

/* ---- RDB files (rdb.c) --------------------------------------------------------------- */

int func_import(const char *code, size_t n, char *err, size_t errlen)
{
	func_sync();
	if (lib_load(code, n, false, err, errlen, NULL, false))
		return -1;
	if (store_libs()) {
		snprintf(err, errlen, "out of memory for the function libraries");
		return -1;
	}
	return 0;
}

void func_export(struct rbuf *b)
{
	func_sync();
	for (int i = 0; i < nlibs; i++) {
		rbuf_byte(b, OPCODE_FUNCTION2);
		rbuf_str(b, libs[i].code, libs[i].len);
	}
}
