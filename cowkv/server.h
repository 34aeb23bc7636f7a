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
#define CF_FAKE              0x20000 /* a script's client: no socket, never pending */
/* ---- issue 13 part B: client states (multi.c, blocking.c, pubsub.c) ---- */
#define CF_MULTI             0x0010  /* between MULTI and EXEC/DISCARD */
#define CF_DIRTY_CAS         0x0020  /* a WATCHed key changed: EXEC fails */
#define CF_DIRTY_EXEC        0x0040  /* a queued command was refused: EXECABORT */
#define CF_BLOCKED           0x0080  /* waits in a blocking command */
/* client-output-buffer-limit classes, as Redis's (a master has none) */
enum { OBL_NORMAL, OBL_REPLICA, OBL_PUBSUB, OBL_CLASSES };

#define CF_PUBSUB            0x0100  /* subscribed to a channel or pattern */
#define CF_REPLY_OFF         0x0200  /* CLIENT REPLY OFF */
#define CF_REPLY_SKIP_NEXT   0x0400  /* CLIENT REPLY SKIP: skip the next command's reply */
#define CF_REPLY_SKIP        0x0800  /* the reply of the running command is dropped */
#define CF_NO_EVICT          0x1000  /* CLIENT NO-EVICT ON */
#define CF_MONITOR           0x2000  /* MONITOR: receives every command */
#define CF_IN_EXEC           0x4000  /* running EXEC's queue: nothing blocks */
#define CF_PUSHING           0x8000  /* a pub/sub push: sent despite CLIENT REPLY OFF */
#define CF_PAUSED            0x10000 /* its command waits for CLIENT PAUSE's end */
/* ---- SYNC / PSYNC (repl.c) ---- */
#define CF_SYNCING           0x40000 /* waits for its SYNC's RDB: input held */
#define CF_REPLICA           0x80000 /* sent SYNC/PSYNC (got or gets the RDB) */

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
	/* ---- issue 13 part B: transactions, blocking, pub/sub ------------ */
	struct multi_state *mstate;     /* MULTI's queue (multi.c), or NULL */
	struct watch_key *watched;      /* WATCHed keys (multi.c), a list */
	struct block_state *bstate;     /* what it waits for (blocking.c), or NULL */
	struct strmap *subs;            /* SUBSCRIBEd channels (pubsub.c), or NULL */
	struct pat_sub *psubs;          /* PSUBSCRIBEd patterns, a list */
	size_t nsubs, npsubs;
	char lastsub[32];               /* subcommand of lastcmd (CLIENT LIST cmd=) */
	size_t argv_mem;                /* bytes of the arguments of the last command */
	struct client *resume_next;     /* on the list of unblocked clients (net.c) */
	bool resume;                    /* ...is on it */
	/* ---- logical databases ---- */
	unsigned db;                    /* SELECTed database (0 at connect, RESET, HELLO) */
	/* ---- SYNC / PSYNC (repl.c) ---- */
	unsigned repl_req;              /* REPLCONF options given: REPL_* (repl.c) */
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
/* issue 13 part B */
#define CMD_BLOCKING 0x200  /* may block (COMMAND flag "blocking") */
#define CMD_PUBSUB   0x400  /* pub/sub ("pubsub") */
#define CMD_NOMULTI  0x800  /* refused inside MULTI ("no-multi") */
#define CMD_SKIPMON  0x1000 /* not shown to MONITOR ("skip-monitor") */
/* A read that may write (PFCOUNT caches its estimate in the value): Redis's
 * "may-replicate", not shown by COMMAND. Read-only scripts refuse it and
 * CLIENT PAUSE WRITE holds it, as writes. */
#define CMD_MAYWRITE 0x2000

#define CMD_DECL(x) void x(struct client *c)

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
/* INFO commandstats' rejected_calls (refused before running: arity, ACL,
 * OOM, MISCONF...) and failed_calls (ran and replied an error) of cmd, a
 * command of the table; and their reset (CONFIG RESETSTAT). */
void cmd_failures(const struct kv_cmd *cmd, uint64_t *rejected, uint64_t *failed);
void cmd_failures_reset(void);

/* ---- issue 13 part B: dispatch, key events --------------------------- */

/* Run command cmd with c's current argv, no checks (EXEC, serving a blocked
 * client): statistics, then the key events of a write that changed the
 * dataset (see keyspace_changed). */
void cmd_exec(struct client *c, struct kv_cmd *cmd);
/* The positions of cmd's keys in an argv of argc arguments, from its
 * first/last/step: *first .. *last (inclusive) by *step; false if none. */
bool cmd_key_range(const struct kv_cmd *cmd, int argc, int *first, int *last, int *step);
/* What a key of a command needs (cmd_key_args): what the command does
 * (read for a read-only command, else read and write), or only one. */
enum { CMD_KEY_AS_CMD, CMD_KEY_READ, CMD_KEY_WRITE };

/*
 * The keys of command line argv[0..argc) (argv[0] the command's name) of
 * cmd, as Redis's key specifications find them: the table's first/last/
 * step, the keys after a count argument (LMPOP, ZUNIONSTORE, EVAL...),
 * SORT's and GEORADIUS's STORE destinations. Their indexes go into idx,
 * and what each needs into access (CMD_KEY_*: a destination such as
 * ZUNIONSTORE's first key or a STORE key is only written, the keys it is
 * made from only read, as Redis's OW and RO key flags say), both with room
 * for argc + 3. Returns how many; -1 when a key count is invalid (0 for
 * scripts and functions, whose count Redis does not judge here). What ACL
 * key patterns and COMMAND GETKEYS are checked against.
 */
int cmd_key_args(const struct kv_cmd *cmd, int argc, const struct kv_arg *argv, int *idx,
		 unsigned char *access);

/*
 * The key-modified hook (Redis's signalModifiedKey). Every change of key
 * must reach it: it breaks WATCHes of key and wakes clients blocked on it.
 * cmd_exec() calls it for every key position of a CMD_WRITE command that
 * changed srv.dirty (srv_changed() with n > 0), so a new write command gets
 * it by declaring its keys in the table; a command that writes a key outside
 * its first/last/step range (SORT ... STORE, ZUNIONSTORE's destination is in
 * range) calls it itself. Expiry reaches it through kv_expire_hook.
 */
void keyspace_changed(const char *key, size_t klen);
/* The whole dataset is about to be emptied or replaced (FLUSHALL, ROLLBACK):
 * every WATCH of a key that exists now breaks. */
void keyspace_all_changed(void);
/* keyspace_changed() in database dbi (MOVE's destination, COPY ... DB):
 * srv.db.cur is dbi meanwhile, then restored. */
void keyspace_changed_in(unsigned dbi, const char *key, size_t klen);

/* ---- logical databases: (database, key) as one string -----------------
 * WATCH and the blocking commands key their maps by the database's number
 * (DBKEY_PFX bytes, little-endian) followed by the key's bytes. */
#define DBKEY_PFX 4
/* The dbkey of key in database dbi, in small (of size smallsz) when it fits
 * or else a malloc'd buffer (NULL: no memory); the caller frees it when it
 * is not small. *n receives its length. */
char *dbkey_make(char *small, size_t smallsz, unsigned dbi, const char *key, size_t klen,
		 size_t *n);
/* Is v a database number (0 <= v < kv_databases)? */
static inline bool db_index_ok(long long v)
{
	return v >= 0 && v < (long long)kv_databases;
}
/* Argument i as a database number for SELECT, MOVE, COPY ... DB: replies
 * "value is not an integer", "value is out of range" (not an int) or "DB
 * index is out of range" as Redis and returns false when it is not one. */
bool arg_db(struct client *c, int i, unsigned *dbi);
/* The running command signalled its keys' changes itself (MOVE, COPY ...
 * DB: keys of another database): cmd_exec() does not do it for it. */
void cmd_keys_signalled(void);

/* The database of a dbkey (its length is >= DBKEY_PFX). */
static inline unsigned dbkey_db(const char *k)
{
	const unsigned char *u = (const unsigned char *)k;

	return (unsigned)u[0] | (unsigned)u[1] << 8 | (unsigned)u[2] << 16 | (unsigned)u[3] << 24;
}

/* multi.c */
/* True if the command must be queued instead of run (c is in MULTI). */
bool multi_queues(const struct client *c, const struct kv_cmd *cmd);
/* Queue c's command (checked already); replies +QUEUED. */
void multi_queue(struct client *c, const struct kv_cmd *cmd);
/* A queued command was refused (unknown, arity, OOM): EXEC will abort. */
void multi_flag_error(struct client *c);
/* True if c's queue holds a write. */
bool multi_writes(const struct client *c);
/* True if c's queue holds a command flagged CMD_DENYOOM. */
bool multi_denyoom(const struct client *c);
/* Drop c's queue and WATCHes, leave MULTI. */
void multi_discard(struct client *c);
/* WATCH keys are (database, key): multi_touch_key() is in srv.db.cur. */
void multi_touch_key(const char *key, size_t klen);
void multi_touch_all(void);
/* Database dbi is about to be emptied (FLUSHDB, with = -1) or to take the
 * contents of database with (SWAPDB, called before the swap for each of
 * the two): the WATCHes of its keys that exist now, or will exist after,
 * break (a key expired at WATCH time that stays gone or expired does not,
 * as in Redis 7.0). */
void multi_touch_db(unsigned dbi, int with);
/* Forget c's MULTI state and WATCHes (RESET, close). */
void multi_reset_client(struct client *c);
/* Bytes held by c's queue (CLIENT LIST multi-mem), commands queued. */
size_t multi_mem(const struct client *c);
int multi_count(const struct client *c);
/* Keys watched by some client (INFO watching_clients... ). */
size_t multi_watched_keys(void);
CMD_DECL(cmd_multi); CMD_DECL(cmd_exec_); CMD_DECL(cmd_discard);
CMD_DECL(cmd_watch); CMD_DECL(cmd_unwatch);

/* blocking.c: the generic machinery, keyed by (key, type). */
struct block_state;
/* Serve the clients blocked on keys that became ready (after each top-level
 * command; a served command may make more keys ready). */
void blocking_serve_ready(void);
/* The key changed (in srv.db.cur): if clients block on it, it is ready to
 * be tried. Clients block on (database, key). */
void blocking_key_changed(const char *key, size_t klen);
/* Every key clients block on in database dbi is to be tried (SWAPDB). */
void blocking_db_changed(unsigned dbi);
/* The dataset was replaced (ROLLBACK, DEBUG RELOAD): every key clients
 * block on is to be tried. */
void blocking_all_changed(void);
/* Time out the clients whose deadline passed; ms until the next deadline
 * (or -1 if none). */
int64_t blocking_timeouts(void);
/* Block c on the keys argv[first..last] (by step) expecting type, until
 * timeout_ms (unix ms, 0 = forever). c's command runs again when one of
 * them is ready; cmd_timeout replies on timeout. No key (last < first):
 * only the timeout or CLIENT UNBLOCK ends it (WAIT). False after replying
 * OOM. */
bool block_client(struct client *c, int first, int last, int step, enum kv_type type,
		  int64_t timeout_ms, void (*on_timeout)(struct client *c));
/* True while c's command is re-run for a ready key: it must not block
 * again but return false to stay blocked (block_client() is then a no-op). */
bool blocking_may_block(const struct client *c);
/* True while c's blocked command runs again to be served (MONITOR and the
 * slow log saw it when it blocked). */
bool blocking_serving(const struct client *c);
/* Unblock c (its reply was given, or RESET); its pending input resumes. */
void unblock_client(struct client *c);
/* Forget c's blocking state, nothing else (c is being freed). */
void blocking_forget(struct client *c);
/* CLIENT UNBLOCK <id> [TIMEOUT|ERROR]. */
void client_unblock_cmd(struct client *c);
/* Parse argument i as a blocking timeout in seconds (float, 0 = forever)
 * into a unix-ms deadline (0 = forever); replies the error and returns
 * false when invalid. */
bool arg_timeout(struct client *c, int i, int64_t *deadline_ms);
size_t blocking_clients(void);
CMD_DECL(cmd_blpop); CMD_DECL(cmd_brpop); CMD_DECL(cmd_blmove);
CMD_DECL(cmd_brpoplpush); CMD_DECL(cmd_blmpop);
CMD_DECL(cmd_bzpopmin); CMD_DECL(cmd_bzpopmax); CMD_DECL(cmd_bzmpop);

/* pubsub.c */
/* In RESP2 subscribed mode only these run: true if cmd may. */
bool pubsub_allowed(const struct kv_cmd *cmd);
/* Send message to channel's subscribers and matching patterns; returns how
 * many clients received it. */
long long pubsub_publish(const char *ch, size_t chlen, const char *msg, size_t mlen);
void pubsub_reset_client(struct client *c);
/* sub=, psub=, ssub= of CLIENT LIST. */
void pubsub_client_counts(const struct client *c, size_t *sub, size_t *psub, size_t *ssub);
size_t pubsub_channels(void);
size_t pubsub_patterns(void);
CMD_DECL(cmd_subscribe); CMD_DECL(cmd_unsubscribe); CMD_DECL(cmd_psubscribe);
CMD_DECL(cmd_punsubscribe); CMD_DECL(cmd_publish); CMD_DECL(cmd_pubsub);
CMD_DECL(cmd_ssubscribe); CMD_DECL(cmd_sunsubscribe); CMD_DECL(cmd_spublish);

/* notify.c: keyspace notifications (notify-keyspace-events). */
#define NOTIFY_KEYSPACE (1 << 0)    /* K */
#define NOTIFY_KEYEVENT (1 << 1)    /* E */
#define NOTIFY_GENERIC  (1 << 2)    /* g */
#define NOTIFY_STRING   (1 << 3)    /* $ */
#define NOTIFY_LIST     (1 << 4)    /* l */
#define NOTIFY_SET      (1 << 5)    /* s */
#define NOTIFY_HASH     (1 << 6)    /* h */
#define NOTIFY_ZSET     (1 << 7)    /* z */
#define NOTIFY_EXPIRED  (1 << 8)    /* x */
#define NOTIFY_EVICTED  (1 << 9)    /* e */
#define NOTIFY_STREAM   (1 << 10)   /* t */
#define NOTIFY_KEY_MISS (1 << 11)   /* m */
#define NOTIFY_MODULE   (1 << 12)   /* d */
#define NOTIFY_NEW      (1 << 13)   /* n */
/* Publish event (Redis's name: "set", "lpush", "expired"...) on key, if
 * the class type is enabled. Cheap when notifications are off. */
void notify_event(int type, const char *event, const char *key, size_t klen);
/* notify_event() for argument i of c. */
void notify_arg(struct client *c, int type, const char *event, int i);
/* notify-keyspace-events: parse flags (-1 if invalid), print them. */
int notify_parse(const char *s);
void notify_string(char *buf, size_t len);
extern int notify_flags;

/* cmd_docs.c: COMMAND DOCS of one command (summary, group, arguments from
 * its syntax line); replies that many map pairs and returns how many. */
int cmd_docs_reply(struct client *c, const char *name, const char *group);

/* cmd_introspect.c */
CMD_DECL(cmd_debug); CMD_DECL(cmd_memory); CMD_DECL(cmd_slowlog);
CMD_DECL(cmd_latency); CMD_DECL(cmd_monitor);
/* c is being freed: leave the MONITOR list. */
void introspect_client_gone(struct client *c);
/* Feed MONITOR clients and the slow log with a command that ran. */
void introspect_after_call(struct client *c, const struct kv_cmd *cmd, int64_t usec);
/* Before cmd runs for c: MONITOR clients see the skip-monitor commands
 * (EVAL, EVALSHA, FCALL and their _RO forms) now, before the commands
 * their script calls, as Redis shows them. */
void introspect_before_call(struct client *c, const struct kv_cmd *cmd);
/* DEBUG SET-ACTIVE-EXPIRE: false stops active expiry. */
extern bool active_expire_enabled;
/* CLIENT subcommands implemented there: REPLY, NO-EVICT, PAUSE/UNPAUSE,
 * the filters of LIST and KILL. Returns false if sub is not one. */
bool client_sub_introspect(struct client *c);
/* CLIENT PAUSE: if cmd must wait, keep c's command for later and return
 * true (c's input waits too). */
bool pause_holds(struct client *c, const struct kv_cmd *cmd);
/* Run the held commands when the pause is over (from the loop); ms until
 * the pause ends, or -1. */
int64_t pause_cron(void);
/* Bytes of client buffers (query and output) of every client, for INFO. */
uint64_t clients_buffer_bytes(uint64_t *qbufs, uint64_t *obufs);

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
	long min_replicas_to_write; /* > 0 (with max_lag > 0): no replica is good, writes refused */
	long min_replicas_max_lag;
	long tcp_keepalive;
	uint64_t proto_max_bulk_len;
	uint64_t query_buf_limit;
	struct obuf_limit {	/* client-output-buffer-limit, per class (OBL_*) */
		uint64_t hard, soft;	/* bytes; 0: no limit */
		long soft_secs;		/* seconds over soft before the close */
	} obl[OBL_CLASSES];
	long max_snapshots;
	long databases;         /* --databases (kv_databases, db.h), immutable */
	int verbosity;          /* 0 debug .. 3 warning */
	char *logfile;
	/* running from redis.conf and systemd (supervise.c, net.c) */
	char *configfile;       /* absolute path of the config file, NULL: none */
	bool daemonize;
	char *supervised;       /* "no", "systemd", "upstart", "auto" */
	char *pidfile;          /* "": none */
	char *unixsocket;       /* "": none */
	long unixsocketperm;    /* 0: 0600 */
	long tcp_backlog;

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
	bool stop_writes_on_bgsave_err; /* refuse writes while the last save failed */
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
bool config_activerehashing(void);
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

/* Listen on every address of bind (none with port 0) and on unixsocket;
 * add them, the signal fd and the save eventfd to a new epoll set. 0 or
 * -errno (logged). */
int net_listen(void);
/* Close the listening sockets; remove the unix socket this server made. */
void net_close_listeners(void);
/* The server's tick (main.c): expiry, rehash, save points, timeouts. */
void srv_tick(void);
int net_loop(void);
void net_close_all(void);
/* ---- issue 15: serve other clients while a script runs long (script.c) ----
 * One non-blocking turn of the loop that never touches client running. */
void net_busy_poll(struct client *running);
/* Close c at the end of this loop turn. */
void client_close_async(struct client *c);
/* c was unblocked (served, timed out, CLIENT UNBLOCK): process the input
 * it sent meanwhile, later in this loop turn. */
void client_unblocked(struct client *c);
/* Output limits: close c if over them (called after each reply). */
void client_check_output(struct client *c);
void client_describe(const struct client *c, char *buf, size_t len);
/* o's line of CLIENT LIST, without its newline, into buf[len] (cut to
 * fit; "" when out of memory): ACL LOG's client-info, as in Redis. */
void client_info_line(const struct client *o, char *buf, size_t len);

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
/* Append b (malloc'd, b->len bytes of data, b->sent 0) to c's output as it
 * is, without copying nor the output limits (SYNC's RDB): c owns b from
 * then on (freed at once if c is closing). */
void reply_obuf(struct client *c, struct obuf *b);

/* ---- issue 15: RESP3 reply types, with their RESP2 equivalents --------------
 * Under RESP2 a map of n pairs is an array of 2n, a set an array, a double a
 * bulk string, null a nil bulk, a boolean :1/:0 (Redis's choice for Lua
 * booleans is made in script.c), a big number a bulk, a verbatim string a
 * bulk, a push an array. */
void reply_map_len(struct client *c, long long n);
void reply_set_len(struct client *c, long long n);
void reply_push_len(struct client *c, long long n);
void reply_double(struct client *c, double d);
/* A double already written as text (n bytes): a RESP3 double, a RESP2
 * bulk string. */
void reply_double_text(struct client *c, const char *text, size_t n);
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
#define MISCONF_ERR "MISCONF Redis is configured to save RDB snapshots, but it's currently " \
	"unable to persist to disk. Commands that may modify the data set are disabled, " \
	"because this instance is configured to report errors during writes if RDB " \
	"snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis " \
	"logs for details about the RDB error."
/* reply_misconf — Redis's MISCONF error: writes are refused because the
 * last save failed (see persist_writes_denied()). */
void reply_misconf(struct client *c);
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
CMD_DECL(cmd_flushdb); CMD_DECL(cmd_touch); CMD_DECL(cmd_swapdb);
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
bool debug_script_subcommand(struct client *c);
void debug_populate(struct client *c);

/*
 * file_write_atomic (atomicfile.c) — replace the file at path with text[0,
 * len), atomically: a temporary file in the same directory (mode: the old
 * file's, else 0600), write, fsync, rename over path, fsync of the
 * directory. The old file stays whole on any failure. 0 or -errno.
 */
int file_write_atomic(const char *path, const char *text, size_t len);

/* ---- SYNC, PSYNC, REPLCONF (repl.c): an RDB for redis-cli --rdb ----------------- */

CMD_DECL(cmd_sync); CMD_DECL(cmd_replconf);
/* cmd_compat.c: what clients send to any Redis (standalone, no modules) */
CMD_DECL(cmd_replicaof); CMD_DECL(cmd_role); CMD_DECL(cmd_wait); CMD_DECL(cmd_lolwut); CMD_DECL(cmd_module);
CMD_DECL(cmd_cluster); CMD_DECL(cmd_readonly);
/* The replication id INFO and +FULLRESYNC give (40 hex digits). */
const char *repl_id(void);
/* Hand the RDBs that are ready to their clients (from the loop, when the
 * shared eventfd srv.savefd fired). */
void repl_poll(void);
/* Wait for the RDBs being made and drop them (at exit). */
void repl_stop(void);
/* RDBs being made now (INFO). */
unsigned repl_jobs(void);

/* ---- daemon, pidfile, systemd / upstart readiness (supervise.c) ------------------- */

/* Before any space or thread exists: with daemonize yes (and no
 * supervision), fork into the background; the parent waits until the child
 * calls supervise_ready() (exit 0) or dies (exit 1). Then write the
 * pidfile, if one is set. 0 or -1 (logged). */
int supervise_start(void);
/* The server accepts connections: tell the waiting parent, systemd
 * (READY=1 to $NOTIFY_SOCKET) or upstart (SIGSTOP), as configured. */
void supervise_ready(void);
/* At a clean exit: STOPPING=1 to systemd, remove the pidfile. */
void supervise_stop(void);
/* "systemd", "upstart" or "no": what supervision is in effect (INFO). */
const char *supervise_mode(void);

/* ---- configuration (config.c) ----------------------------------------------------- */

void config_defaults(void);
/*
 * Load the configuration: argv[1] if it names a file (not "-..."), then
 * standard input if "-" is the first or last argument, then the --name
 * value options, later ones overriding earlier ones. 0, or 1 after
 * printing help/version, or -1 after printing what is wrong and where
 * (file:line) to stderr.
 */
int config_from_args(int argc, char **argv);
/* Log the settings the config accepted that have no effect on cowkv. */
void config_log_inert(void);
/* CONFIG REWRITE: 0, or -1 with err holding the error reply's text. */
int config_rewrite(char *err, size_t errlen);
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
/* What a failed save's error means, for logs and replies: cow_strerror(err),
 * and for ENOENT (the store's file was moved or deleted meanwhile) the
 * store's own message too. A static buffer: the server thread only. */
const char *persist_strerror(int err);
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
/* persist_writes_denied — are writes refused, as Redis's
 * writeCommandsDeniedByDiskError(): stop-writes-on-bgsave-error is yes,
 * save points are set and the last save (BGSAVE, SAVE or a save point's)
 * failed. A successful save ends it. */
bool persist_writes_denied(void);
void persist_stop(void);
/* Replace the dataset by a new empty one (FLUSHALL). 0 or -errno. */
int persist_flush(void);
/* SIGTERM/SIGINT: wait for a save, save if save points are set, and mark
 * the server ready to exit. 0, or -errno (then it keeps running). */
int srv_prepare_shutdown(void);
/* Release every SNAPSHOT (at exit). */
void snapshots_release_all(void);

#endif
