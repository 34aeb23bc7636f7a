/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * server.h — what cowkv's files share: the server, its clients, the reply
 * functions and the command table.
 *
 * One thread runs everything (the event loop, every command) but the
 * background save, which only touches its snapshot and the store. Client
 * state and buffers are ordinary memory; the dataset is in the space (db.h).
 */
#ifndef COWKV_SERVER_H
#define COWKV_SERVER_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "resp.h"

#define COWKV_VERSION COW_VERSION_STRING	/* one version: CMakeLists.txt */
/* What INFO reports as redis_version: the Redis release whose commands and
 * replies cowkv follows (clients look at it). */
#define COWKV_REDIS_COMPAT "7.0.15"

/* ---- clients ------------------------------------------------------------ */

struct kv_arg {
	char *p;        /* NUL-terminated (the bytes may hold NULs of their own) */
	size_t len;
};

/* One piece of a client's pending output. */
struct obuf {
	struct obuf *next;
	size_t len;     /* bytes in data */
	size_t cap;
	size_t sent;    /* bytes of data already written to the socket */
	char data[];
};

#define CF_CLOSE_AFTER_REPLY 0x01  /* close once the output is written */
#define CF_CLOSE_ASAP        0x02  /* close at the end of this loop turn */
#define CF_EOF               0x04  /* the peer shut its side: no more input */
#define CF_PENDING           0x08  /* on the pending-write list */
/* ---- issue 15 (scripting, RESP3, auth) ---- */
#define CF_FAKE              0x100 /* a script's client: no socket, never pending */

struct client {
	int fd;
	uint64_t id;
	char addr[64];
	char *name;             /* CLIENT SETNAME, or NULL */
	unsigned flags;
	uint32_t events;        /* epoll events registered now */
	/* input */
	char *qbuf;
	size_t qlen, qcap;
	struct resp_parser parser;
	int argc;
	struct kv_arg *argv;
	size_t argv_cap;
	/* output */
	struct obuf *ohead, *otail;
	size_t obytes;          /* bytes not yet written */
	int64_t soft_since_ms;  /* since when over the soft output limit, or 0 */
	/* bookkeeping */
	int64_t ctime_ms, last_ms;
	uint64_t ncmds;
	const char *lastcmd;
	struct client *prev, *next;     /* all clients */
	struct client *pend_next;       /* pending-write list */
	struct client *free_next;       /* to-free list */
	/* ---- issue 15 (RESP3, auth) ---- */
	int resp;                       /* protocol: 2 (default) or 3 (HELLO 3) */
	bool authed;                    /* AUTH/HELLO AUTH done, or no password needed */
	char *user;                     /* ACL user name (NULL: "default") */
};

/* ---- commands -------------------------------------------------------------- */

#define CMD_WRITE    0x001
#define CMD_READONLY 0x002
#define CMD_DENYOOM  0x004
#define CMD_FAST     0x008
#define CMD_ADMIN    0x010
#define CMD_NOSCRIPT 0x020
#define CMD_LOADING  0x040
#define CMD_STALE    0x080
#define CMD_RANDOM   0x100

struct kv_cmd {
	const char *name;       /* lower case */
	void (*fn)(struct client *c);
	int arity;              /* argc exactly N, or at least -N */
	unsigned flags;
	int first, last, step;  /* key positions, as COMMAND reports them */
	const char *group;      /* ACL category (COMMAND INFO) */
	uint64_t calls;
	uint64_t usec;
};

const struct kv_cmd *cmd_lookup(const char *name, size_t len);
/* Run the command in c->argv (argc > 0). */
void cmd_call(struct client *c);
/* The table, for COMMAND and INFO commandstats. */
struct kv_cmd *cmd_table(size_t *n);

/* ---- the server ------------------------------------------------------------ */

struct save_point {
	long secs;
	long changes;
};

#define SAVE_POINTS_MAX 16
#define SNAPSHOTS_MAX 1024

struct kv_snapshot {
	uint64_t id;
	cow_snap *snap;
	uint64_t gen;           /* the dataset generation it was taken from */
	int64_t time_ms;
	uint64_t keys;
};

struct server {
	/* settings (config.c) */
	char *bind;
	long port;
	char *dir;              /* NULL: no persistence */
	char *dbfilename;
	struct save_point save[SAVE_POINTS_MAX];
	int nsave;
	uint64_t space_size;    /* --maxmemory at start: the space's size */
	uint64_t maxmemory;     /* OOM limit on used memory (<= space size) */
	uint64_t save_budget;
	bool save_incremental;  /* no: every save writes the whole dataset */
	long save_keep;         /* checkpoints kept after a save (newest good ones) */
	bool load_fallback;     /* a corrupt newest checkpoint: start from an older one */
	long maxclients;
	long timeout;
	long hz;
	long tcp_keepalive;
	uint64_t proto_max_bulk_len;
	uint64_t query_buf_limit;
	uint64_t obuf_hard, obuf_soft;
	long obuf_soft_secs;
	long max_snapshots;
	int verbosity;          /* 0 debug .. 3 warning */
	char *logfile;

	/* the dataset */
	struct kvdb db;

	/* the event loop (net.c) */
	int epfd;
	int lfd;
	int sigfd;
	int savefd;             /* eventfd the save thread signals */
	struct client *clients;
	uint64_t nclients;
	uint64_t next_client_id;
	struct client *pending;
	struct client *to_free;
	bool shutdown_asap;
	bool shutdown_ready;    /* the final save (if any) is done */
	int64_t start_ms;
	int64_t now_ms;         /* loop clock */

	/* statistics */
	uint64_t conns_total, conns_rejected;
	uint64_t cmds_total;
	uint64_t net_in, net_out;
	uint64_t hits, misses;
	uint64_t obuf_disconnects, qbuf_disconnects;
	uint64_t ops_sample_cmds;
	int64_t ops_sample_ms;
	double ops_per_sec;

	/* persistence (persist.c) */
	cow_store *store;
	uint64_t dirty;             /* changes since the last successful save */
	int64_t lastsave;           /* unix seconds of the last successful save */
	int64_t last_try;           /* unix seconds of the last save attempt */
	bool last_save_ok;
	int64_t last_save_secs;     /* duration of the last save, -1 before */
	uint64_t saves;             /* successful saves since start */
	uint64_t last_checkpoint;   /* id of the newest checkpoint */
	int64_t freeze_usec;        /* duration of the last freeze */
	uint64_t last_cow_bytes;    /* peak preserved copies of the last save, bytes */
	struct cow_save_stats last_save; /* what the last save did */
	uint64_t loaded_checkpoint; /* checkpoint loaded at start, 0 if none */
	uint64_t bad_ckpts[64];     /* checkpoints found corrupt at start (dropped by */
	int nbad;                   /* the next successful save) */
	int64_t load_usec;          /* time to open and load it */

	/* SNAPSHOT / ROLLBACK */
	struct kv_snapshot snaps[SNAPSHOTS_MAX];
	int nsnaps;
	uint64_t next_snap_id;
	uint64_t rollbacks;
};

extern struct server srv;

/* True while a background save runs (dict.c avoids resizes meanwhile). */
bool srv_saving(void);
/* Random 64 bits (xorshift, seeded at start). */
uint64_t srv_random(void);
int64_t srv_unix_ms(void);
int64_t srv_mono_us(void);

/* ---- logging (main.c) ---------------------------------------------------------- */

#define LL_DEBUG 0
#define LL_VERBOSE 1
#define LL_NOTICE 2
#define LL_WARNING 3
void srv_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- the event loop and clients (net.c) --------------------------------------- */

int net_listen(void);
/* The server's tick (main.c): expiry, rehash, save points, timeouts. */
void srv_tick(void);
int net_loop(void);
void net_close_all(void);
/* ---- issue 15: serve other clients while a script runs long (script.c) ----
 * One non-blocking turn of the loop that never touches client running. */
void net_busy_poll(struct client *running);
/* Close c at the end of this loop turn. */
void client_close_async(struct client *c);
/* Output limits: close c if over them (called after each reply). */
void client_check_output(struct client *c);
void client_describe(const struct client *c, char *buf, size_t len);

/* ---- replies (reply.c) ------------------------------------------------------------ */

void reply_raw(struct client *c, const void *p, size_t n);
void reply_status(struct client *c, const char *s);
void reply_ok(struct client *c);
/* msg starts with the error code ("ERR ...", "WRONGTYPE ..."); newlines in
 * it become spaces. */
void reply_error(struct client *c, const char *msg);
void reply_errorf(struct client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void reply_int(struct client *c, long long v);
void reply_bulk(struct client *c, const void *p, size_t n);
void reply_bulk_str(struct client *c, const char *s);
void reply_bulk_ll(struct client *c, long long v);
void reply_nil(struct client *c);
void reply_array(struct client *c, long long n);
void reply_nil_array(struct client *c);
/* The success reply of a command and its NX form: +OK, or :1. */
void reply_ok_or_one(struct client *c, bool one);
/* An array whose length is known later: reply_defer() returns a handle,
 * reply_defer_set() fills it in. */
struct obuf *reply_defer(struct client *c);
void reply_defer_set(struct client *c, struct obuf *h, long long n);
void reply_free_all(struct client *c);

/* ---- issue 15: RESP3 reply types, with their RESP2 equivalents --------------
 * Under RESP2 a map of n pairs is an array of 2n, a set an array, a double a
 * bulk string, null a nil bulk, a boolean :1/:0 (Redis's choice for Lua
 * booleans is made in script.c), a big number a bulk, a verbatim string a
 * bulk, a push an array. */
void reply_map_len(struct client *c, long long n);
void reply_set_len(struct client *c, long long n);
void reply_push_len(struct client *c, long long n);
void reply_double(struct client *c, double d);
void reply_null(struct client *c);
void reply_bool(struct client *c, bool b);
void reply_bignum(struct client *c, const char *digits, size_t n);
void reply_verbatim(struct client *c, const char *p, size_t n, const char *fmt);
/* Deferred map/set headers (see reply_defer): n pairs / n members. */
void reply_defer_set_map(struct client *c, struct obuf *h, long long n);
void reply_defer_set_set(struct client *c, struct obuf *h, long long n);

void reply_wrongtype(struct client *c);
void reply_syntax(struct client *c);
void reply_not_int(struct client *c);
void reply_oom(struct client *c);
void reply_arity(struct client *c, const char *name);
void reply_subcommand(struct client *c, const char *cmd);

/* Argument i as a long long; replies "value is not an integer" on failure. */
bool arg_ll(struct client *c, int i, long long *v);
/* Argument i equals s, case-insensitively. */
bool arg_is(const struct client *c, int i, const char *s);

/* ---- helpers of the data commands (cmd_common.c) ----------------------------- */

/* The live entry of key argv[i], counting a hit or a miss. */
struct kv_ent *lookup_read(struct client *c, int i);
/* The live entry of key argv[i] (before a write). */
struct kv_ent *lookup_write(struct client *c, int i);
/* e is NULL or of the given type; otherwise replies WRONGTYPE, false. */
bool check_type(struct client *c, const struct kv_ent *e, enum kv_type type);
/* Make key argv[i] the string v/n (any old value replaced; expiry dropped
 * unless keepttl). Returns the entry, or NULL after replying OOM. */
struct kv_ent *set_string(struct client *c, int i, const char *v, size_t n,
			  bool keepttl);
/* Reply a string entry's bytes as a bulk. */
void reply_ent_bytes(struct client *c, const struct kv_ent *e);
/* Count one change for the save points. */
static inline void srv_changed(uint64_t n) { srv.dirty += n; }

/* ---- commands (cmd_*.c) -------------------------------------------------------------- */

#define CMD_DECL(x) void x(struct client *c)
/* strings */
CMD_DECL(cmd_get); CMD_DECL(cmd_set); CMD_DECL(cmd_setnx); CMD_DECL(cmd_setex);
CMD_DECL(cmd_psetex); CMD_DECL(cmd_getset); CMD_DECL(cmd_getdel); CMD_DECL(cmd_mget);
CMD_DECL(cmd_mset); CMD_DECL(cmd_msetnx); CMD_DECL(cmd_incr); CMD_DECL(cmd_decr);
CMD_DECL(cmd_incrby); CMD_DECL(cmd_decrby); CMD_DECL(cmd_append); CMD_DECL(cmd_strlen);
CMD_DECL(cmd_getrange); CMD_DECL(cmd_setrange);
/* keys */
CMD_DECL(cmd_del); CMD_DECL(cmd_exists); CMD_DECL(cmd_type); CMD_DECL(cmd_expire);
CMD_DECL(cmd_pexpire); CMD_DECL(cmd_expireat); CMD_DECL(cmd_pexpireat); CMD_DECL(cmd_ttl);
CMD_DECL(cmd_pttl); CMD_DECL(cmd_persist); CMD_DECL(cmd_keys); CMD_DECL(cmd_scan);
CMD_DECL(cmd_randomkey); CMD_DECL(cmd_rename); CMD_DECL(cmd_renamenx); CMD_DECL(cmd_dbsize);
CMD_DECL(cmd_flushdb); CMD_DECL(cmd_touch);
/* hashes */
CMD_DECL(cmd_hset); CMD_DECL(cmd_hsetnx); CMD_DECL(cmd_hget); CMD_DECL(cmd_hmget);
CMD_DECL(cmd_hdel); CMD_DECL(cmd_hlen); CMD_DECL(cmd_hexists); CMD_DECL(cmd_hgetall);
CMD_DECL(cmd_hkeys); CMD_DECL(cmd_hvals); CMD_DECL(cmd_hincrby); CMD_DECL(cmd_hstrlen);
/* lists */
CMD_DECL(cmd_lpush); CMD_DECL(cmd_rpush); CMD_DECL(cmd_lpop); CMD_DECL(cmd_rpop);
CMD_DECL(cmd_llen); CMD_DECL(cmd_lrange); CMD_DECL(cmd_lindex);
/* server */
CMD_DECL(cmd_ping); CMD_DECL(cmd_echo); CMD_DECL(cmd_select); CMD_DECL(cmd_quit);
CMD_DECL(cmd_time); CMD_DECL(cmd_hello); CMD_DECL(cmd_info); CMD_DECL(cmd_config);
CMD_DECL(cmd_command); CMD_DECL(cmd_client); CMD_DECL(cmd_reset);
/* persistence */
CMD_DECL(cmd_save); CMD_DECL(cmd_bgsave); CMD_DECL(cmd_lastsave); CMD_DECL(cmd_shutdown);
CMD_DECL(cmd_snapshot); CMD_DECL(cmd_rollback);
/* ---- issue 15: scripting (script.c, function.c), auth (acl.c) ---- */
CMD_DECL(cmd_eval); CMD_DECL(cmd_evalsha); CMD_DECL(cmd_eval_ro); CMD_DECL(cmd_evalsha_ro);
CMD_DECL(cmd_script); CMD_DECL(cmd_function); CMD_DECL(cmd_fcall); CMD_DECL(cmd_fcall_ro);
CMD_DECL(cmd_auth); CMD_DECL(cmd_acl); CMD_DECL(cmd_dump); CMD_DECL(cmd_restore);
CMD_DECL(cmd_debug);

/* ---- configuration (config.c) ----------------------------------------------------- */

void config_defaults(void);
/* Parse the command line; 0, or 1 after printing help/version, or -1. */
int config_from_args(int argc, char **argv);
/* CONFIG GET/SET bodies. */
void config_get(struct client *c);
void config_set(struct client *c);
/* Parse "1gb", "100mb", "4096"... into bytes; 0 or -1. */
int config_parse_memory(const char *s, uint64_t *out);
/* The save points as Redis writes them ("3600 1 300 100"). */
void config_save_string(char *buf, size_t len);
/* Glob matching (Redis's rules: * ? [abc] [^a] [a-z] \x). */
bool glob_match(const char *pat, size_t plen, const char *s, size_t slen, bool nocase);

/* ---- persistence (persist.c) -------------------------------------------------------- */

/* Open the store in --dir and load its newest checkpoint (lazily), or make
 * an empty dataset. 0 or -errno. */
int persist_start(void);
/* Save now, in this thread (SAVE, SHUTDOWN). 0 or -errno. */
int persist_save(void);
/* Start a background save. 0, -EBUSY (one is running), -errno. */
int kv_bgsave_start(void);
/* Collect a finished background save (from the loop). */
void kv_bgsave_poll(void);
/* Wait for a running background save to end. */
void kv_bgsave_wait(void);
bool kv_bgsave_running(void);
/* Progress of the running save in [0, 1] (1 when none runs). */
double kv_bgsave_progress(void);
/* Preserved copies held now by the running save, and their peak, in bytes
 * (0 if none runs). */
uint64_t kv_bgsave_cow_bytes(void);
uint64_t kv_bgsave_cow_peak(void);
int64_t kv_bgsave_started_ms(void);
/* Called from the loop's tick: start a save when a save point is due. */
void persist_cron(void);
void persist_stop(void);
/* Replace the dataset by a new empty one (FLUSHALL). 0 or -errno. */
int persist_flush(void);
/* SIGTERM/SIGINT: wait for a save, save if save points are set, and mark
 * the server ready to exit. 0, or -errno (then it keeps running). */
int srv_prepare_shutdown(void);
/* Release every SNAPSHOT (at exit). */
void snapshots_release_all(void);

#endif
