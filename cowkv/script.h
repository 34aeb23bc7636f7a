/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * script.h — Lua scripting (Lua 5.1, as Redis embeds it): what EVAL
 * (script.c) and FUNCTION (function.c) share.
 *
 * Two Lua states, as in Redis: one for EVAL scripts (their cache is process
 * memory, lost at restart, as in Redis) and one for function libraries
 * (whose code lives in the dataset: function.c rebuilds its state from it
 * after a restart, a ROLLBACK or a FUNCTION RESTORE).
 *
 * A script runs to its end inside one command: nothing else runs meanwhile
 * (scripts are atomic). Past busy-reply-threshold milliseconds a Lua hook
 * polls the event loop so other clients get -BUSY replies and may send
 * SCRIPT KILL / FUNCTION KILL / SHUTDOWN NOSAVE.
 */
#ifndef COWKV_SCRIPT_H
#define COWKV_SCRIPT_H

#include <stdbool.h>
#include <stdint.h>

#include <lua.h>

struct client;

/* Script flags (shebang flags= of EVAL, flags of register_function). */
#define SF_NO_WRITES   0x01
#define SF_ALLOW_OOM   0x02
#define SF_ALLOW_STALE 0x04
#define SF_NO_CLUSTER  0x08
#define SF_CROSS_SLOT  0x10
#define SF_DECLARED    0x100   /* a shebang was given (EVAL) */

/* The script running now (at most one). */
struct script_run {
	struct client *caller;
	lua_State *L;
	char name[128];         /* "f_<sha1>" or the function's name */
	bool is_func;           /* FCALL (else EVAL) */
	bool ro;                /* writes refused (EVAL_RO, FCALL_RO, no-writes) */
	bool allow_oom;
	bool wrote;             /* a write command ran: not killable */
	bool busy;              /* past the threshold: others get -BUSY */
	bool killed;            /* SCRIPT KILL / FUNCTION KILL asked */
	int resp;               /* redis.setresp: 2 or 3 */
	int64_t start_us;
	uint64_t hook_calls;
};

extern struct script_run *script_current;

/*
 * A new Lua state with Redis's libraries and sandbox: base (no loadfile,
 * dofile), table, string, math, debug, cjson, bit, the redis table, the
 * error handler, readonly globals. for_functions adds
 * redis.register_function. NULL if Lua has no memory.
 */
lua_State *script_state_new(bool for_functions);

/*
 * Run the function on top of L's stack (popped) with nargs arguments below
 * it... precisely: the stack holds fn, arg1..argn; run it as script run
 * (filled by the caller: name, flags) for caller c and reply its result to
 * c (Lua -> RESP conversion) or the error in Redis's words.
 */
void script_run_and_reply(struct script_run *run, int nargs);

/* Push a RESP error as a Lua error table {err = "CODE msg"}; msg may start
 * with "-CODE " or be bare (code ERR). */
void script_push_error(lua_State *L, const char *msg);

/* Parse "#!lua flags=a,b" flags text (comma separated); -1 on an unknown
 * flag (*bad names it). */
int script_parse_flags(const char *s, size_t n, unsigned *flags, const char **bad);

/* SHA1 of p/n as 40 lower-case hex digits and a NUL into hex. */
void script_sha1hex(const void *p, size_t n, char hex[41]);

/* Called from cmd_call before running a command: while a script is busy,
 * reply -BUSY (or run the few commands allowed) and return true. */
bool script_busy_intercept(struct client *c);

/* SCRIPT KILL (is_eval) or FUNCTION KILL: reply to c. */
void script_kill(struct client *c, bool is_eval);
/* argv[2] of EVAL/FCALL as numkeys; false after replying an error. */
bool script_numkeys(struct client *c, long long *nk);
/* The client that redis.call runs commands as; NULL without memory. */
struct client *script_fake_client(void);

/* EVAL scripts in the cache; bytes used by the EVAL Lua state. */
uint64_t script_cache_count(void);
uint64_t script_lua_memory(void);

/* command.c: used memory is over a maxmemory below the space's size. */
bool cmd_over_maxmemory(void);

/* debug.c: DEBUG SET-DISABLE-DENY-SCRIPTS 1 (scripts may call anything). */
extern bool script_deny_disabled;

/* The configured busy-reply-threshold in ms (0: never). */
extern long script_busy_ms;

/* lua_cmsgpack.c, lua_struct.c: push the cmsgpack / struct library table. */
int script_open_cmsgpack(lua_State *L);
int script_open_struct(lua_State *L);
/* Build the globals a library's top level sees while FUNCTION LOAD runs
 * it: only redis.register_function, redis.log and the constants. */
void script_load_globals_init(lua_State *L, lua_CFunction register_fn);
/* Make the globals of L those of a library load (restore false) or the
 * normal ones again (restore true). */
void script_globals_swap(lua_State *L, bool restore);
/* function.c: bring the functions' Lua state in line with the libraries
 * stored in the dataset (after restart, ROLLBACK...). */
void func_sync(void);
/* function.c: copy the stored libraries of the dataset from into to
 * (FLUSHALL keeps functions, as in Redis). */
void func_carry_over(void *from_db, void *to_db);
void *func_stash(void *db, size_t *n);
void func_unstash(void *db, void *copy, size_t n);

#endif
