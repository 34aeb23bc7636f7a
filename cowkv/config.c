/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * config.c — settings: defaults, what every directive of Redis 7.0's
 * redis.conf means to cowkv (implemented, accepted with no effect, or
 * refused), the config file and the command line (conffile.c reads them),
 * CONFIG GET, CONFIG SET (all-or-nothing, with Redis's error texts),
 * CONFIG REWRITE, and the glob matcher they and KEYS share.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server.h"
#include "script.h"   /* issue 15: busy-reply-threshold */
#include "acl.h"      /* issue 15: requirepass, protected-mode */
#include "types.h"	/* kv_enc (part A) */
#include "conffile.h"

/*
 * C_CONST: a value cowkv has fixed (any other is refused, at start with
 * file:line); C_INERT: a setting of a mechanism cowkv does not have, whose
 * value has no effect here: checked as Redis checks it (choices), kept,
 * shown, rewritten, and named in the log at start.
 */
enum cfg_type { C_STR, C_INT, C_MEM, C_SAVE, C_OBL, C_LOGLEVEL, C_CONST, C_NOTIFY, C_BOOL,
		C_INERT, C_ENUM, C_OCTAL };

#define IMMUTABLE 1
#define MULTI 2         /* takes several words: bind, save, client-output-buffer-limit... */
#define UNITS 4         /* C_INT that Redis takes as a memory value too ("4kb") */

struct cfg {
	const char *name;
	enum cfg_type type;
	void *ptr;              /* char **, long *, uint64_t *, bool * */
	long long min, max;
	unsigned flags;
	const char *fixed;      /* C_CONST: the value; C_INERT: the default */
	const char *choices;    /* C_INERT, C_ENUM: "bool", "int", "mem", "str" or "a|b|c" */
	const char *note;       /* C_CONST: why no other value; C_INERT: why no effect */
};

#define FIXED(n, v, why) { .name = (n), .type = C_CONST, .fixed = (v), .note = (why) }
#define INERT(n, def, kind, why) \
	{ .name = (n), .type = C_INERT, .fixed = (def), .choices = (kind), .note = (why) }
#define INERTM(n, def, why) \
	{ .name = (n), .type = C_INERT, .flags = MULTI, .fixed = (def), .choices = "str", .note = (why) }

/* Why a setting is fixed or has no effect (docs/COWKV.md, "Running from
 * redis.conf and systemd", has the whole table). */
#define N_AOF "cowkv has no AOF: appendonly is always no (its persistence is the libcow store: save points, BGSAVE)"
#define N_REPL "cowkv is never a replica and streams nothing to replicas (SYNC hands out one snapshot)"
#define N_CLUSTER "cowkv has no cluster mode"
#define N_TLS "cowkv has no TLS"
#define N_EVICT "cowkv has no eviction (maxmemory-policy is noeviction)"
#define N_DEFRAG "cowkv has no active defragmentation (its heap is in a libcow space)"
#define N_FORK "cowkv never forks to save (no fork, no jemalloc: nothing to tune)"
#define N_RDB "cowkv saves to its store (4 KiB checksummed blocks), not to an RDB file"
#define N_TITLE "cowkv does not change its process title"
#define N_TUNE "cowkv's loop has no such knob (fixed hz, one thread)"
#define N_TRACK "cowkv has no CLIENT TRACKING and no INFO latencystats"
#define N_CRASH "cowkv prints no crash report"
#define N_SYSLOG "cowkv logs to logfile or stderr, not syslog"


/* ---- issue 13 part B: settings of other modules, encoding settings ----
 * The encoding settings (hash-max-listpack-entries...) are taken and shown
 * as Redis does; cowkv has one encoding per type, so they change no
 * representation (OBJECT ENCODING, PART A, may report from them). Aliases
 * share one value. */
extern long slowlog_slower_than, slowlog_max_len, latency_threshold_ms;
long enc_stream_bytes = 4096, enc_stream_entries = 100, enc_hll_sparse = 3000;
static bool cfg_activerehashing = true, cfg_lazyfree = false, cfg_lazyfree_user = false;

/* config_activerehashing — CONFIG SET activerehashing: does the server tick
 * move a rehash under way along (main.c)? Lookups always take their step. */
bool config_activerehashing(void)
{
	return cfg_activerehashing;
}

static const struct cfg configs[] = {
	{ "notify-keyspace-events", C_NOTIFY, NULL, 0, 0, 0, NULL, NULL, NULL },
	{ "slowlog-log-slower-than", C_INT, &slowlog_slower_than, -1, LLONG_MAX, 0, NULL, NULL, NULL },
	{ "slowlog-max-len", C_INT, &slowlog_max_len, 0, LONG_MAX, 0, NULL, NULL, NULL },
	{ "latency-monitor-threshold", C_INT, &latency_threshold_ms, 0, LLONG_MAX, 0, NULL, NULL, NULL },
	{ "stream-node-max-bytes", C_INT, &enc_stream_bytes, 0, LLONG_MAX, UNITS, NULL, NULL, NULL },
	{ "stream-node-max-entries", C_INT, &enc_stream_entries, 0, LLONG_MAX, 0, NULL, NULL, NULL },
	{ "hll-sparse-max-bytes", C_INT, &enc_hll_sparse, 0, LONG_MAX, UNITS, NULL, NULL, NULL },
	{ "activerehashing", C_BOOL, &cfg_activerehashing, 0, 0, 0, NULL, NULL, NULL },
	{ "lazyfree-lazy-expire", C_BOOL, &cfg_lazyfree, 0, 0, 0, NULL, NULL, NULL },
	{ "lazyfree-lazy-user-del", C_BOOL, &cfg_lazyfree_user, 0, 0, 0, NULL, NULL, NULL },
	{ "replicaof", C_CONST, NULL, 0, 0, IMMUTABLE | MULTI, "", NULL, N_REPL },
	{ "slaveof", C_CONST, NULL, 0, 0, IMMUTABLE | MULTI, "", NULL, N_REPL },
	/* ---- end of issue 13 part B settings ---- */
	{ "bind", C_STR, &srv.bind, 0, 0, IMMUTABLE | MULTI, NULL, NULL, NULL },
	{ "port", C_INT, &srv.port, 0, 65535, IMMUTABLE, NULL, NULL, NULL },
	{ "dir", C_STR, &srv.dir, 0, 0, IMMUTABLE, NULL, NULL, NULL },
	{ "dbfilename", C_STR, &srv.dbfilename, 0, 0, IMMUTABLE, NULL, NULL, NULL },
	{ "logfile", C_STR, &srv.logfile, 0, 0, IMMUTABLE, NULL, NULL, NULL },
	{ "save", C_SAVE, NULL, 0, 0, MULTI, NULL, NULL, NULL },
	{ "maxmemory", C_MEM, &srv.maxmemory, 0, LLONG_MAX, 0, NULL, NULL, NULL },
	{ "stop-writes-on-bgsave-error", C_BOOL, &srv.stop_writes_on_bgsave_err, 0, 0, 0, NULL, NULL, NULL },
	{ "save-budget", C_MEM, &srv.save_budget, 0, LLONG_MAX, 0, NULL, NULL, NULL },
	{ "save-incremental", C_BOOL, &srv.save_incremental, 0, 0, IMMUTABLE, NULL, NULL, NULL },
	{ "save-keep", C_INT, &srv.save_keep, 1, 64, IMMUTABLE, NULL, NULL, NULL },  /* read by the save thread */
	{ "load-fallback", C_BOOL, &srv.load_fallback, 0, 0, IMMUTABLE, NULL, NULL, NULL },
	{ "maxclients", C_INT, &srv.maxclients, 1, 4294967295LL, 0, NULL, NULL, NULL },
	{ "timeout", C_INT, &srv.timeout, 0, INT_MAX, 0, NULL, NULL, NULL },
	{ "hz", C_INT, &srv.hz, 1, 500, 0, NULL, NULL, NULL },
	{ "tcp-keepalive", C_INT, &srv.tcp_keepalive, 0, INT_MAX, 0, NULL, NULL, NULL },
	{ "proto-max-bulk-len", C_MEM, &srv.proto_max_bulk_len, 1024 * 1024, LLONG_MAX, 0, NULL, NULL, NULL },
	{ "client-query-buffer-limit", C_MEM, &srv.query_buf_limit, 1024 * 1024, LLONG_MAX, 0, NULL, NULL, NULL },
	{ "client-output-buffer-limit", C_OBL, NULL, 0, 0, MULTI, NULL, NULL, NULL },
	{ "max-snapshots", C_INT, &srv.max_snapshots, 1, SNAPSHOTS_MAX, 0, NULL, NULL, NULL },
	{ "loglevel", C_LOGLEVEL, NULL, 0, 0, 0, NULL, NULL, NULL },
	{ "maxmemory-policy", C_CONST, NULL, 0, 0, 0, "noeviction", NULL, N_EVICT },
	{ "appendonly", C_CONST, NULL, 0, 0, IMMUTABLE, "no", NULL, N_AOF },
	{ "databases", C_INT, &srv.databases, 1, KV_DATABASES_MAX, IMMUTABLE, NULL, NULL, NULL },
	/* ---- running from redis.conf and systemd (supervise.c, net.c) ---- */
	{ "daemonize", C_BOOL, &srv.daemonize, 0, 0, IMMUTABLE, NULL, NULL, NULL },
	{ "supervised", C_ENUM, &srv.supervised, 0, 0, IMMUTABLE, NULL, "upstart|systemd|auto|no", NULL },
	{ "pidfile", C_STR, &srv.pidfile, 0, 0, IMMUTABLE, NULL, NULL, NULL },
	{ "unixsocket", C_STR, &srv.unixsocket, 0, 0, IMMUTABLE, NULL, NULL, NULL },
	{ "unixsocketperm", C_OCTAL, &srv.unixsocketperm, 0, 0777, IMMUTABLE, NULL, NULL, NULL },
	{ "tcp-backlog", C_INT, &srv.tcp_backlog, 0, INT_MAX, IMMUTABLE, NULL, NULL, NULL },
	/* ---- issue 15: authentication (acl.c) ---- */
	{ "protected-mode", C_STR, &acl_protected_mode, 0, 0, IMMUTABLE, NULL, NULL, NULL },  /* checked at start */
	{ "requirepass", C_STR, &acl_requirepass, 0, 0, 0, NULL, NULL, NULL },
	{ "aclfile", C_STR, &acl_file, 0, 0, IMMUTABLE, NULL, NULL, NULL },
	/* ---- issue 15: scripting ---- */
	{ "busy-reply-threshold", C_INT, &script_busy_ms, 0, LONG_MAX, 0, NULL, NULL, NULL },
	{ "lua-time-limit", C_INT, &script_busy_ms, 0, LONG_MAX, 0, NULL, NULL, NULL },
	/* ---- encoding limits, as OBJECT ENCODING reports them (part A) ---- */
	{ "hash-max-listpack-entries", C_INT, &kv_enc.hash_entries, 0, LONG_MAX, 0, NULL, NULL, NULL },
	{ "hash-max-listpack-value", C_INT, &kv_enc.hash_value, 0, LONG_MAX, UNITS, NULL, NULL, NULL },
	{ "set-max-intset-entries", C_INT, &kv_enc.set_intset, 0, LONG_MAX, 0, NULL, NULL, NULL },
	{ "zset-max-listpack-entries", C_INT, &kv_enc.zset_entries, 0, LONG_MAX, 0, NULL, NULL, NULL },
	{ "zset-max-listpack-value", C_INT, &kv_enc.zset_value, 0, LONG_MAX, UNITS, NULL, NULL, NULL },
	/* lists: cowkv's list is one ring of offsets, not a quicklist of
	 * listpack nodes; these are kept and shown for clients that set them */
	{ "list-max-listpack-size", C_INT, &kv_enc.list_size, -5, LONG_MAX, 0, NULL, NULL, NULL },
	{ "list-max-ziplist-size", C_INT, &kv_enc.list_size, -5, LONG_MAX, 0, NULL, NULL, NULL },
	{ "list-compress-depth", C_INT, &kv_enc.list_compress, 0, LONG_MAX, 0, NULL, NULL, NULL },
	/* their old names, which Redis 7.0 still takes */
	{ "hash-max-ziplist-entries", C_INT, &kv_enc.hash_entries, 0, LONG_MAX, 0, NULL, NULL, NULL },
	{ "hash-max-ziplist-value", C_INT, &kv_enc.hash_value, 0, LONG_MAX, UNITS, NULL, NULL, NULL },
	{ "zset-max-ziplist-entries", C_INT, &kv_enc.zset_entries, 0, LONG_MAX, 0, NULL, NULL, NULL },
	{ "zset-max-ziplist-value", C_INT, &kv_enc.zset_value, 0, LONG_MAX, UNITS, NULL, NULL, NULL },

	/* ---- Redis 7.0's other settings: fixed here, or no effect here ---- */
	FIXED("cluster-enabled", "no", N_CLUSTER),
	FIXED("tls-port", "0", N_TLS),
	FIXED("io-threads", "1", "cowkv serves clients from one thread"),
	FIXED("maxmemory-clients", "0", "cowkv has no client eviction"),
	/* cowkv has no replicas: above 0, writes are refused (NOREPLICAS), as Redis refuses them */
	{ "min-replicas-to-write", C_INT, &srv.min_replicas_to_write, 0, INT_MAX, 0, NULL, NULL, NULL },
	{ "min-slaves-to-write", C_INT, &srv.min_replicas_to_write, 0, INT_MAX, 0, NULL, NULL, NULL },
	FIXED("oom-score-adj", "no", "cowkv leaves its OOM score alone"),
	FIXED("enable-debug-command", "yes", "cowkv's DEBUG is always enabled"),
	FIXED("enable-module-command", "no", "cowkv has no modules"),
	FIXED("enable-protected-configs", "no", "cowkv's dir, dbfilename and the like are fixed at start"),
	FIXED("acl-pubsub-default", "allchannels", "cowkv does not enforce channel rules"),
	FIXED("shutdown-on-sigint", "default", "SIGINT shuts cowkv down as SHUTDOWN does (saving with save points)"),
	FIXED("shutdown-on-sigterm", "default", "SIGTERM shuts cowkv down as SHUTDOWN does (saving with save points)"),
	FIXED("syslog-enabled", "no", N_SYSLOG),
	FIXED("socket-mark-id", "0", "cowkv does not mark its sockets"),
	INERT("appendfsync", "everysec", "always|everysec|no", N_AOF),
	INERT("appendfilename", "appendonly.aof", "str", N_AOF),
	INERT("appenddirname", "appendonlydir", "str", N_AOF),
	INERT("no-appendfsync-on-rewrite", "no", "bool", N_AOF),
	INERT("auto-aof-rewrite-percentage", "100", "int", N_AOF),
	INERT("auto-aof-rewrite-min-size", "67108864", "mem", N_AOF),
	INERT("aof-load-truncated", "yes", "bool", N_AOF),
	INERT("aof-use-rdb-preamble", "yes", "bool", N_AOF),
	INERT("aof-timestamp-enabled", "no", "bool", N_AOF),
	INERT("aof-rewrite-incremental-fsync", "yes", "bool", N_AOF),
	INERT("aof-disable-auto-gc", "no", "bool", N_AOF),
	INERT("rdbcompression", "yes", "bool", N_RDB),
	INERT("rdbchecksum", "yes", "bool", N_RDB),
	INERT("rdb-del-sync-files", "no", "bool", N_RDB),
	INERT("rdb-save-incremental-fsync", "yes", "bool", N_RDB),
	INERT("sanitize-dump-payload", "no", "no|yes|clients", "cowkv checks every RESTORE payload whole"),
	INERT("masterauth", "", "str", N_REPL),
	INERT("masteruser", "", "str", N_REPL),
	INERT("replica-serve-stale-data", "yes", "bool", N_REPL),
	INERT("slave-serve-stale-data", "yes", "bool", N_REPL),
	INERT("replica-read-only", "yes", "bool", N_REPL),
	INERT("slave-read-only", "yes", "bool", N_REPL),
	INERT("replica-priority", "100", "int", N_REPL),
	INERT("slave-priority", "100", "int", N_REPL),
	INERT("replica-announced", "yes", "bool", N_REPL),
	INERT("replica-announce-ip", "", "str", N_REPL),
	INERT("slave-announce-ip", "", "str", N_REPL),
	INERT("replica-announce-port", "0", "int", N_REPL),
	INERT("slave-announce-port", "0", "int", N_REPL),
	INERT("replica-ignore-maxmemory", "yes", "bool", N_REPL),
	INERT("slave-ignore-maxmemory", "yes", "bool", N_REPL),
	INERT("replica-ignore-disk-write-errors", "no", "bool", N_REPL),
	INERT("replica-lazy-flush", "no", "bool", N_REPL),
	INERT("slave-lazy-flush", "no", "bool", N_REPL),
	INERT("repl-diskless-sync", "yes", "bool", N_REPL),
	INERT("repl-diskless-sync-delay", "5", "int", N_REPL),
	INERT("repl-diskless-sync-max-replicas", "0", "int", N_REPL),
	INERT("repl-diskless-load", "disabled", "disabled|on-empty-db|swapdb", N_REPL),
	INERT("repl-disable-tcp-nodelay", "no", "bool", N_REPL),
	INERT("repl-backlog-size", "1048576", "mem", N_REPL),
	INERT("repl-backlog-ttl", "3600", "int", N_REPL),
	INERT("repl-ping-replica-period", "10", "int", N_REPL),
	INERT("repl-ping-slave-period", "10", "int", N_REPL),
	INERT("repl-timeout", "60", "int", N_REPL),
	{ "min-replicas-max-lag", C_INT, &srv.min_replicas_max_lag, 0, INT_MAX, 0, NULL, NULL, NULL },
	{ "min-slaves-max-lag", C_INT, &srv.min_replicas_max_lag, 0, INT_MAX, 0, NULL, NULL, NULL },
	INERT("propagation-error-behavior", "ignore", "ignore|panic|panic-on-replicas", N_REPL),
	INERT("bind-source-addr", "", "str", N_REPL),
	INERT("shutdown-timeout", "10", "int", N_REPL),
	INERT("cluster-config-file", "nodes.conf", "str", N_CLUSTER),
	INERT("cluster-port", "0", "int", N_CLUSTER),
	INERT("cluster-node-timeout", "15000", "int", N_CLUSTER),
	INERT("cluster-replica-validity-factor", "10", "int", N_CLUSTER),
	INERT("cluster-slave-validity-factor", "10", "int", N_CLUSTER),
	INERT("cluster-migration-barrier", "1", "int", N_CLUSTER),
	INERT("cluster-allow-replica-migration", "yes", "bool", N_CLUSTER),
	INERT("cluster-require-full-coverage", "yes", "bool", N_CLUSTER),
	INERT("cluster-replica-no-failover", "no", "bool", N_CLUSTER),
	INERT("cluster-slave-no-failover", "no", "bool", N_CLUSTER),
	INERT("cluster-allow-reads-when-down", "no", "bool", N_CLUSTER),
	INERT("cluster-allow-pubsubshard-when-down", "yes", "bool", N_CLUSTER),
	INERT("cluster-link-sendbuf-limit", "0", "mem", N_CLUSTER),
	INERT("cluster-announce-hostname", "", "str", N_CLUSTER),
	INERT("cluster-announce-ip", "", "str", N_CLUSTER),
	INERT("cluster-announce-port", "0", "int", N_CLUSTER),
	INERT("cluster-announce-bus-port", "0", "int", N_CLUSTER),
	INERT("cluster-announce-tls-port", "0", "int", N_CLUSTER),
	INERT("cluster-preferred-endpoint-type", "ip", "ip|hostname|unknown-endpoint", N_CLUSTER),
	INERT("tls-cert-file", "", "str", N_TLS),
	INERT("tls-key-file", "", "str", N_TLS),
	INERT("tls-key-file-pass", "", "str", N_TLS),
	INERT("tls-client-cert-file", "", "str", N_TLS),
	INERT("tls-client-key-file", "", "str", N_TLS),
	INERT("tls-client-key-file-pass", "", "str", N_TLS),
	INERT("tls-dh-params-file", "", "str", N_TLS),
	INERT("tls-ca-cert-file", "", "str", N_TLS),
	INERT("tls-ca-cert-dir", "", "str", N_TLS),
	INERT("tls-auth-clients", "yes", "yes|no|optional", N_TLS),
	INERT("tls-replication", "no", "bool", N_TLS),
	INERT("tls-cluster", "no", "bool", N_TLS),
	INERT("tls-protocols", "", "str", N_TLS),
	INERT("tls-ciphers", "", "str", N_TLS),
	INERT("tls-ciphersuites", "", "str", N_TLS),
	INERT("tls-prefer-server-ciphers", "no", "bool", N_TLS),
	INERT("tls-session-caching", "yes", "bool", N_TLS),
	INERT("tls-session-cache-size", "20480", "int", N_TLS),
	INERT("tls-session-cache-timeout", "300", "int", N_TLS),
	INERT("maxmemory-samples", "5", "int", N_EVICT),
	INERT("maxmemory-eviction-tenacity", "10", "int", N_EVICT),
	INERT("lfu-log-factor", "10", "int", N_EVICT),
	INERT("lfu-decay-time", "1", "int", N_EVICT),
	INERT("lazyfree-lazy-eviction", "no", "bool", N_EVICT),
	INERT("lazyfree-lazy-server-del", "no", "bool", "cowkv frees in the server's thread; the choice changes only latency"),
	INERT("lazyfree-lazy-user-flush", "no", "bool", "cowkv's FLUSHALL formats the heap in place, in constant time"),
	INERT("activedefrag", "no", "bool", N_DEFRAG),
	INERT("active-defrag-ignore-bytes", "104857600", "mem", N_DEFRAG),
	INERT("active-defrag-threshold-lower", "10", "int", N_DEFRAG),
	INERT("active-defrag-threshold-upper", "100", "int", N_DEFRAG),
	INERT("active-defrag-cycle-min", "1", "int", N_DEFRAG),
	INERT("active-defrag-cycle-max", "25", "int", N_DEFRAG),
	INERT("active-defrag-max-scan-fields", "1000", "int", N_DEFRAG),
	INERT("jemalloc-bg-thread", "yes", "bool", N_FORK),
	INERT("disable-thp", "yes", "bool", N_FORK),
	INERT("server_cpulist", "", "str", N_TUNE),
	INERT("bio_cpulist", "", "str", N_TUNE),
	INERT("aof_rewrite_cpulist", "", "str", N_TUNE),
	INERT("bgsave_cpulist", "", "str", N_TUNE),
	INERT("io-threads-do-reads", "no", "bool", N_TUNE),
	INERT("dynamic-hz", "yes", "bool", N_TUNE),
	INERT("active-expire-effort", "1", "int", N_TUNE),
	INERT("always-show-logo", "no", "bool", "cowkv shows no logo"),
	INERT("set-proc-title", "yes", "bool", N_TITLE),
	INERT("proc-title-template", "{title} {listen-addr} {server-mode}", "str", N_TITLE),
	INERT("crash-log-enabled", "yes", "bool", N_CRASH),
	INERT("crash-memcheck-enabled", "yes", "bool", N_CRASH),
	INERT("syslog-ident", "redis", "str", N_SYSLOG),
	INERT("syslog-facility", "local0", "str", N_SYSLOG),
	FIXED("acllog-max-len", "128", "cowkv's ACL LOG keeps 128 entries"),
	INERT("tracking-table-max-keys", "1000000", "int", N_TRACK),
	INERT("latency-tracking", "yes", "bool", N_TRACK),
	INERTM("latency-tracking-info-percentiles", "50 99 99.9", N_TRACK),
	INERTM("oom-score-adj-values", "0 200 800", "cowkv leaves its OOM score alone"),
	INERT("ignore-warnings", "", "str", "cowkv has no start-up warnings to silence"),
};

#define NCONFIGS (sizeof configs / sizeof configs[0])

static char *inert_vals[NCONFIGS];	/* C_INERT values set (NULL: the default) */
static char *default_vals[NCONFIGS];	/* every value as at start, before the file */

static const char *loglevels[] = { "debug", "verbose", "notice", "warning" };

void config_defaults(void)
{
	srv.bind = strdup("127.0.0.1");
	srv.port = 6379;
	srv.dir = NULL;
	srv.dbfilename = strdup("cowkv.store");
	srv.logfile = strdup("");
	srv.nsave = -1;                 /* Redis's default once --dir is known */
	srv.space_size = 4ull << 30;
	srv.maxmemory = 0;
	srv.save_budget = 64ull << 20;
	srv.stop_writes_on_bgsave_err = true;
	srv.save_incremental = true;
	srv.save_keep = 2;
	srv.load_fallback = true;
	srv.maxclients = 10000;
	srv.databases = 16;		/* Redis's default */
	srv.timeout = 0;
	srv.hz = 10;
	srv.min_replicas_max_lag = 10;
	srv.tcp_keepalive = 300;
	srv.proto_max_bulk_len = 512ull << 20;
	srv.query_buf_limit = 1ull << 30;
	srv.obl[OBL_NORMAL] = (struct obuf_limit){ 1ull << 30, 256ull << 20, 60 };
	srv.obl[OBL_REPLICA] = (struct obuf_limit){ 256ull << 20, 64ull << 20, 60 };
	srv.obl[OBL_PUBSUB] = (struct obuf_limit){ 32ull << 20, 8ull << 20, 60 };	/* Redis's */
	srv.max_snapshots = 64;
	srv.verbosity = LL_NOTICE;
	srv.daemonize = false;
	srv.supervised = strdup("no");
	srv.pidfile = strdup("");
	srv.unixsocket = strdup("");
	srv.unixsocketperm = 0;		/* Redis's default; cowkv makes it 0600 (net.c) */
	srv.tcp_backlog = 511;
	acl_protected_mode = strdup("yes");     /* issue 15 */
	acl_requirepass = strdup("");
	acl_file = strdup("");
}

/* ---- value syntax ------------------------------------------------------ */

int config_parse_memory(const char *s, uint64_t *out)
{
	static const struct { const char *unit; uint64_t mul; } units[] = {
		{ "", 1 }, { "b", 1 }, { "k", 1000 }, { "kb", 1024 }, { "m", 1000000 },
		{ "mb", 1 << 20 }, { "g", 1000000000 }, { "gb", 1 << 30 },
	};
	size_t n = 0;
	unsigned long long v = 0;

	while (isdigit((unsigned char)s[n])) {
		if (v > (ULLONG_MAX - 9) / 10)
			return -1;
		v = v * 10 + (unsigned)(s[n++] - '0');
	}
	if (n == 0)
		return -1;
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
		if (strcasecmp(s + n, units[i].unit) == 0) {
			if (v > ULLONG_MAX / units[i].mul)
				return -1;
			*out = v * units[i].mul;
			return 0;
		}
	}
	return -1;
}

/* Parse "secs changes ..." into points; "" is none. Returns the count or -1. */
static int parse_save(const char *s, struct save_point *pts)
{
	char *copy = strdup(s), *tok, *save = NULL;
	int n = 0;
	long long v[2 * SAVE_POINTS_MAX];
	int k = 0;

	if (!copy)
		return -1;
	for (tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		if (k == 2 * SAVE_POINTS_MAX || !resp_str2ll(tok, strlen(tok), &v[k])) {
			free(copy);
			return -1;
		}
		k++;
	}
	free(copy);
	if (k % 2)
		return -1;
	for (int i = 0; i < k; i += 2) {
		if (v[i] < 1 || v[i + 1] < 0)
			return -1;
		pts[n].secs = (long)v[i];
		pts[n].changes = (long)v[i + 1];
		n++;
	}
	return n;
}

void config_save_string(char *buf, size_t len)
{
	size_t at = 0;

	buf[0] = '\0';
	for (int i = 0; i < srv.nsave && at < len; i++)
		at += (size_t)snprintf(buf + at, len - at, "%s%ld %ld", i ? " " : "",
				       srv.save[i].secs, srv.save[i].changes);
}

/* The class named s (Redis's names; "slave" is "replica"), -1 if none. */
static int obl_class(const char *s)
{
	if (strcasecmp(s, "normal") == 0)
		return OBL_NORMAL;
	if (strcasecmp(s, "replica") == 0 || strcasecmp(s, "slave") == 0)
		return OBL_REPLICA;
	if (strcasecmp(s, "pubsub") == 0)
		return OBL_PUBSUB;
	return -1;
}

/*
 * parse_obl — parse "class hard soft secs [class hard soft secs ...]" into
 * lim (a copy of the current limits: classes not named keep theirs), as
 * Redis's setConfigClientOutputBufferLimitOption(). NULL, or Redis's error
 * text. An empty value changes nothing, as in Redis.
 */
static const char *parse_obl(const char *s, struct obuf_limit lim[OBL_CLASSES])
{
	char *copy = strdup(s), *tok[64], *save = NULL;
	const char *why = NULL;
	int n = 0;

	if (!copy)
		return "out of memory";
	for (char *t = strtok_r(copy, " ", &save); t && n < 64; t = strtok_r(NULL, " ", &save))
		tok[n++] = t;
	if (n % 4 || (n == 64 && save && *save)) {
		why = "Wrong number of arguments in buffer limit configuration.";
		goto out;
	}
	for (int i = 0; i < n; i += 4) {
		int cls = obl_class(tok[i]);
		uint64_t h, sf;
		long long sec;

		if (cls < 0) {
			why = "Invalid client class specified in buffer limit configuration.";
			goto out;
		}
		if (config_parse_memory(tok[i + 1], &h) || config_parse_memory(tok[i + 2], &sf) ||
		    !resp_str2ll(tok[i + 3], strlen(tok[i + 3]), &sec) || sec < 0 || sec > LONG_MAX) {
			why = "Error in hard, soft or soft_seconds setting in buffer limit configuration.";
			goto out;
		}
		lim[cls] = (struct obuf_limit){ h, sf, (long)sec };
	}
out:
	free(copy);
	return why;
}

/* ---- one setting ----------------------------------------------------------- */

static const struct cfg *config_find(const char *name)
{
	for (size_t i = 0; i < NCONFIGS; i++)
		if (strcasecmp(configs[i].name, name) == 0)
			return &configs[i];
	return NULL;
}

/* The setting's value as CONFIG GET shows it. */
static void config_value(const struct cfg *cf, char *buf, size_t len)
{
	switch (cf->type) {
	case C_STR: {
		const char *v = *(char **)cf->ptr;

		snprintf(buf, len, "%s", v ? v : "");
		break;
	}
	case C_INT:
		snprintf(buf, len, "%ld", *(long *)cf->ptr);
		break;
	case C_MEM:
		snprintf(buf, len, "%llu", (unsigned long long)*(uint64_t *)cf->ptr);
		break;
	case C_SAVE:
		config_save_string(buf, len);
		break;
	case C_OBL:
		snprintf(buf, len, "normal %llu %llu %ld slave %llu %llu %ld pubsub %llu %llu %ld",
			 (unsigned long long)srv.obl[OBL_NORMAL].hard,
			 (unsigned long long)srv.obl[OBL_NORMAL].soft, srv.obl[OBL_NORMAL].soft_secs,
			 (unsigned long long)srv.obl[OBL_REPLICA].hard,
			 (unsigned long long)srv.obl[OBL_REPLICA].soft, srv.obl[OBL_REPLICA].soft_secs,
			 (unsigned long long)srv.obl[OBL_PUBSUB].hard,
			 (unsigned long long)srv.obl[OBL_PUBSUB].soft, srv.obl[OBL_PUBSUB].soft_secs);
		break;
	case C_LOGLEVEL:
		snprintf(buf, len, "%s", loglevels[srv.verbosity]);
		break;
	case C_CONST:
		snprintf(buf, len, "%s", cf->fixed);
		break;
	case C_NOTIFY:
		notify_string(buf, len);
		break;
	case C_BOOL:
		snprintf(buf, len, "%s", *(bool *)cf->ptr ? "yes" : "no");
		break;
	case C_INERT:
		snprintf(buf, len, "%s", inert_vals[cf - configs] ? inert_vals[cf - configs] : cf->fixed);
		break;
	case C_ENUM:
		snprintf(buf, len, "%s", *(char **)cf->ptr);
		break;
	case C_OCTAL:
		snprintf(buf, len, "%lo", *(long *)cf->ptr);
		break;
	}
}

/* Is v one of the |-separated choices (any case)? */
static bool in_choices(const char *choices, const char *v)
{
	size_t n = strlen(v);

	for (const char *c = choices; *c; c += strcspn(c, "|"), c += *c == '|') {
		if (strcspn(c, "|") == n && strncasecmp(c, v, n) == 0)
			return true;
	}
	return false;
}

/* Check v against a C_INERT or C_ENUM setting's kind; NULL or Redis's text. */
static const char *check_kind(const char *kind, const char *v)
{
	static char why[200];
	long long n;
	uint64_t m;

	if (!strcmp(kind, "str"))
		return NULL;
	if (!strcmp(kind, "bool"))
		return strcasecmp(v, "yes") && strcasecmp(v, "no") ? "argument must be 'yes' or 'no'" : NULL;
	if (!strcmp(kind, "int"))
		return resp_str2ll(v, strlen(v), &n) ? NULL : "argument couldn't be parsed into an integer";
	if (!strcmp(kind, "mem"))
		return config_parse_memory(v, &m) ? "argument must be a memory value" : NULL;
	if (in_choices(kind, v))
		return NULL;
	snprintf(why, sizeof why, "argument(s) must be one of the following: ");
	for (const char *c = kind; *c; c++)
		snprintf(why + strlen(why), sizeof why - strlen(why), "%s", *c == '|' ? ", " : (char[]){ *c, 0 });
	return why;
}

/* Replace the string *slot with a copy of v (lowercased when lower). */
static const char *set_str(char **slot, const char *v, bool lower)
{
	char *dup = strdup(v);

	if (!dup)
		return "out of memory";
	for (char *p = dup; lower && *p; p++)
		*p = (char)tolower((unsigned char)*p);
	free(*slot);
	*slot = dup;
	return NULL;
}

/*
 * Check (apply == false) or apply value v to setting cf. Returns NULL, or
 * why the value is refused (Redis's wording).
 */
static const char *config_apply(const struct cfg *cf, const char *v, bool apply)
{
	static char why[160];
	struct save_point pts[SAVE_POINTS_MAX];
	long long n;
	uint64_t m;
	struct obuf_limit lim[OBL_CLASSES];
	const char *err;
	int k;

	switch (cf->type) {
	case C_STR:
		if (apply) {
			char *dup = strdup(v);

			if (!dup)
				return "out of memory";
			free(*(char **)cf->ptr);
			*(char **)cf->ptr = dup;
		}
		return NULL;
	case C_INT:
		if ((cf->flags & UNITS) && !config_parse_memory(v, &m) && m <= LLONG_MAX)
			n = (long long)m;
		else if (!resp_str2ll(v, strlen(v), &n))
			return "argument couldn't be parsed into an integer";
		if (n < cf->min || n > cf->max) {
			snprintf(why, sizeof why, "argument must be between %lld and %lld inclusive",
				 cf->min, cf->max);
			return why;
		}
		if (apply)
			*(long *)cf->ptr = (long)n;
		return NULL;
	case C_MEM:
		if (config_parse_memory(v, &m))
			return "argument must be a memory value";
		if (m < (uint64_t)cf->min || m > (uint64_t)cf->max) {
			snprintf(why, sizeof why, "argument must be between %lld and %lld inclusive",
				 cf->min, cf->max);
			return why;
		}
		/* The space cannot grow: once it exists (CONFIG SET), maxmemory
		 * may only lower the limit (0: the space's size). */
		if (cf->ptr == &srv.maxmemory && srv.db.size && m > srv.db.size) {
			snprintf(why, sizeof why, "maxmemory can't be larger than the space's "
				 "size (%llu bytes) of this dataset", (unsigned long long)srv.db.size);
			return why;
		}
		if (apply)
			*(uint64_t *)cf->ptr = m;
		return NULL;
	case C_SAVE:
		if ((k = parse_save(v, pts)) < 0)
			return "Invalid save parameters";
		if (apply) {
			memcpy(srv.save, pts, sizeof pts);
			srv.nsave = k;
		}
		return NULL;
	case C_OBL:
		memcpy(lim, srv.obl, sizeof lim);
		if ((err = parse_obl(v, lim)))
			return err;
		if (apply)
			memcpy(srv.obl, lim, sizeof lim);
		return NULL;
	case C_LOGLEVEL:
		for (k = 0; k < 4; k++)
			if (strcasecmp(v, loglevels[k]) == 0)
				break;
		if (k == 4)
			return "argument(s) must be one of the following: debug, verbose, notice, warning";
		if (apply)
			srv.verbosity = k;
		return NULL;
	case C_NOTIFY:
		if ((k = notify_parse(v)) < 0)
			return "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.";
		if (apply)
			notify_flags = k;
		return NULL;
	case C_BOOL:
		if (strcasecmp(v, "yes") && strcasecmp(v, "no"))
			return "argument must be 'yes' or 'no'";
		if (apply)
			*(bool *)cf->ptr = strcasecmp(v, "yes") == 0;
		return NULL;
	case C_CONST:
		if (strcasecmp(v, cf->fixed) != 0) {
			snprintf(why, sizeof why, "argument(s) must be one of the following: %s",
				 cf->fixed);
			return why;
		}
		return NULL;
	case C_INERT:
		if ((err = check_kind(cf->choices, v)))
			return err;
		if (!strcmp(cf->choices, "mem") && !config_parse_memory(v, &m)) {
			char bytes[32];	/* shown in bytes, as Redis shows it */

			snprintf(bytes, sizeof bytes, "%llu", (unsigned long long)m);
			return apply ? set_str(&inert_vals[cf - configs], bytes, false) : NULL;
		}
		return apply ? set_str(&inert_vals[cf - configs], v, strcmp(cf->choices, "str")) : NULL;
	case C_ENUM:
		if ((err = check_kind(cf->choices, v)))
			return err;
		return apply ? set_str((char **)cf->ptr, v, true) : NULL;
	case C_OCTAL: {
		char *end;
		long o = strtol(v, &end, 8);

		if (!*v || *end || o < cf->min || o > cf->max)
			return "argument must be an octal number between 0 and 777";
		if (apply)
			*(long *)cf->ptr = o;
		return NULL;
	}
	}
	return "unknown setting";
}

/* ---- CONFIG GET / SET ---------------------------------------------------- */

void config_get(struct client *c)
{
	bool hit[NCONFIGS] = { false };
	long long n = 0;
	char val[1024];

	for (int i = 2; i < c->argc; i++)
		for (size_t k = 0; k < NCONFIGS; k++)
			if (!hit[k] && glob_match(c->argv[i].p, c->argv[i].len, configs[k].name,
						  strlen(configs[k].name), true)) {
				hit[k] = true;
				n++;
			}
	reply_map_len(c, n);    /* issue 15: a map under RESP3 */
	for (size_t k = 0; k < NCONFIGS; k++) {
		if (!hit[k])
			continue;
		config_value(&configs[k], val, sizeof val);
		reply_bulk_str(c, configs[k].name);
		reply_bulk_str(c, val);
	}
}

void config_set(struct client *c)
{
	const struct cfg *cf;
	const char *why;

	if (c->argc % 2) {
		reply_arity(c, "config|set");
		return;
	}
	for (int i = 2; i < c->argc; i += 2) {
		if (!(cf = config_find(c->argv[i].p))) {
			reply_errorf(c, "ERR Unknown option or number of arguments for CONFIG SET - '%s'",
				     c->argv[i].p);
			return;
		}
		if (cf->flags & IMMUTABLE) {
			reply_errorf(c, "ERR CONFIG SET failed (possibly related to argument '%s') - "
				     "can't set immutable config", cf->name);
			return;
		}
		for (int k = 2; k < i; k += 2) {
			const struct cfg *o = config_find(c->argv[k].p);

			if (o == cf) {	/* an alias is another parameter */
				reply_errorf(c, "ERR CONFIG SET failed (possibly related to argument "
					     "'%s') - duplicate parameter", c->argv[i].p);
				return;
			}
		}
		if ((why = config_apply(cf, c->argv[i + 1].p, false))) {
			reply_errorf(c, "ERR CONFIG SET failed (possibly related to argument '%s') - %s",
				     cf->name, why);
			return;
		}
	}
	for (int i = 2; i < c->argc; i += 2)
		config_apply(config_find(c->argv[i].p), c->argv[i + 1].p, true);
	if (srv.maxmemory > srv.db.size)
		srv.maxmemory = srv.db.size;	/* the space cannot grow */
	reply_ok(c);
}

/* ---- the config file and the command line -------------------------------------- */

static void usage(void)
{
	printf("Usage: cowkv [/path/to/redis.conf] [-] [--<setting> <value>...]...\n"
	       "             [--import FILE.rdb] [--export FILE.rdb]\n"
	       "       cowkv --help | --version\n\n"
	       "A Redis-protocol server whose dataset lives in one libcow space:\n"
	       "BGSAVE without fork(), restart from the last checkpoint in DIR (checked,\n"
	       "no log replayed), SNAPSHOT / ROLLBACK. See docs/COWKV.md.\n\n"
	       "The first argument may name a config file in redis.conf's syntax (Debian's\n"
	       "/etc/redis/redis.conf starts cowkv); \"-\" (first or last) reads one from\n"
	       "standard input; --<setting> options come after both and override them.\n"
	       "Every setting of Redis 7.0 is known: cowkv implements some, accepts others\n"
	       "whose value has no effect on it (named in the log), and refuses at start,\n"
	       "with file:line, a value it cannot honour (appendonly yes, replicaof...).\n\n"
	       "Settings (as --name value or lines of the file):\n"
	       "  port N (0: no TCP)  bind ADDR...  unixsocket PATH  unixsocketperm OCTAL\n"
	       "  (0, the default: 0600)  dir DIR (without it nothing is saved)\n"
	       "  dbfilename NAME  save \"secs changes\"...  maxmemory BYTES (the space's\n"
	       "  size, default 4gb)  databases N  daemonize yes|no  pidfile PATH\n"
	       "  supervised no|systemd|upstart|auto  logfile PATH  loglevel LEVEL\n"
	       "  save-budget BYTES  save-incremental yes|no  save-keep N\n"
	       "  load-fallback yes|no  and any other CONFIG setting\n"
	       "--import loads a Redis RDB file into the dataset at start; --export\n"
	       "writes the dataset (as loaded from DIR) as an RDB file and exits.\n");
}

/* What loading the configuration collects on the way. */
static struct {
	bool save_seen;         /* the first save directive drops the defaults */
	char inert[1024];       /* names of settings accepted with no effect */
} load;

/* Join argv[0..argc-1] with single spaces into a new string. */
static char *join_words(int argc, char **argv)
{
	size_t n = 1;
	char *s;

	for (int i = 0; i < argc; i++)
		n += strlen(argv[i]) + 1;
	if (!(s = malloc(n)))
		return NULL;
	s[0] = '\0';
	for (int i = 0; i < argc; i++) {
		if (i)
			strcat(s, " ");
		strcat(s, argv[i]);
	}
	return s;
}

/* A save directive at start: the first drops the default save points,
 * later ones add theirs; "" drops them all (Redis 7.0's rules). */
static const char *load_save(const char *v)
{
	struct save_point pts[SAVE_POINTS_MAX];
	int k = parse_save(v, pts);

	if (k < 0)
		return "Invalid save parameters";
	if (!load.save_seen || k == 0)
		srv.nsave = 0;
	load.save_seen = true;
	if (srv.nsave + k > SAVE_POINTS_MAX)
		return "Too many save points";
	memcpy(srv.save + srv.nsave, pts, (size_t)k * sizeof pts[0]);
	srv.nsave += k;
	return NULL;
}

/* The directives redis.conf may hold that are not settings. */
static const char *special_directive(const char *name)
{
	if (!strcasecmp(name, "rename-command"))
		return "cowkv can't honour rename-command: it has no command renaming "
		       "(restrict commands with ACL rules in an aclfile instead)";
	if (!strcasecmp(name, "user"))
		return "cowkv can't honour user directives in the config file: "
		       "put ACL users in an aclfile (aclfile PATH)";
	if (!strcasecmp(name, "loadmodule"))
		return "cowkv can't honour loadmodule: it has no modules";
	if (!strcasecmp(name, "sentinel"))
		return "cowkv can't honour sentinel directives: it is no Sentinel";
	return NULL;
}

/*
 * config_directive — apply one directive of the config file or the command
 * line at start (conf_apply_fn). Multi-word settings (MULTI) take their
 * words joined; the others exactly one word. Returns NULL or the message
 * the start-up report shows.
 */
static const char *config_directive(int argc, char **argv, const struct conf_where *at, void *ctx)
{
	static char msg[600];
	const struct cfg *cf;
	const char *why;
	char *v;

	(void)at;
	(void)ctx;
	if ((why = special_directive(argv[0])))
		return why;
	if (!(cf = config_find(argv[0])))
		return "Bad directive or wrong number of arguments";
	if (argc < 2 || (!(cf->flags & MULTI) && argc != 2))
		return "wrong number of arguments";
	if (!(v = join_words(argc - 1, argv + 1)))
		return "out of memory";
	if (cf->type == C_CONST && strcasecmp(v, cf->fixed)) {
		snprintf(msg, sizeof msg, "can't honour '%s %s': %s; only '%s %s' is accepted",
			 cf->name, v, cf->note ? cf->note : "cowkv has this value fixed",
			 cf->name, *cf->fixed ? cf->fixed : "\"\"");
		why = msg;
	} else if (cf->type == C_SAVE) {
		why = load_save(v);
	} else {
		why = config_apply(cf, v, true);
	}
	if (!why && cf->type == C_INERT && !strstr(load.inert, cf->name) &&
	    strlen(load.inert) + strlen(cf->name) + 3 < sizeof load.inert)
		snprintf(load.inert + strlen(load.inert), sizeof load.inert - strlen(load.inert),
			 "%s%s", load.inert[0] ? ", " : "", cf->name);
	free(v);
	return why;
}

void config_log_inert(void)
{
	if (load.inert[0])
		srv_log(LL_NOTICE, "Settings accepted with no effect on cowkv (docs/COWKV.md, "
			"\"Running from redis.conf and systemd\"): %s", load.inert);
}

/* Remember every setting's value before the file and options change them:
 * CONFIG REWRITE appends only the settings that differ from these. */
static void snapshot_defaults(void)
{
	char val[1024];

	for (size_t i = 0; i < NCONFIGS; i++) {
		config_value(&configs[i], val, sizeof val);
		free(default_vals[i]);
		default_vals[i] = strdup(val);
	}
}

/* Is argv[i] -h/--help/--version/-v? 1 after printing, else 0. */
static int help_or_version(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage();
			return 1;
		}
		if (!strcmp(argv[i], "--version") || !strcmp(argv[i], "-v")) {
			printf("cowkv %s (Redis %s protocol), libcow %d.%d.%d\n", COWKV_VERSION,
			       COWKV_REDIS_COMPAT, COW_VERSION_MAJOR, COW_VERSION_MINOR,
			       COW_VERSION_PATCH);
			return 1;
		}
	}
	return 0;
}

int config_from_args(int argc, char **argv)
{
	int from = 1;

	if (help_or_version(argc, argv))
		return 1;
	snapshot_defaults();
	if (argc > 1 && argv[1][0] != '-') {
		char *abs = realpath(argv[1], NULL);

		/* the absolute path: CONFIG REWRITE and INFO's config_file */
		srv.configfile = abs ? abs : strdup(argv[1]);
		if (conf_load_file(argv[1], config_directive, NULL))
			return -1;
		from = 2;
	}
	/* "-" first or last: a config from standard input, after the file */
	if (from < argc && !strcmp(argv[from], "-")) {
		from++;
		if (conf_load_file("-", config_directive, NULL))
			return -1;
	} else if (argc - 1 >= from && !strcmp(argv[argc - 1], "-")) {
		argc--;
		if (conf_load_file("-", config_directive, NULL))
			return -1;
	}
	if (conf_load_args(argc, argv, from, config_directive, NULL))
		return -1;
	if (srv.nsave < 0) {	/* Redis's default save points, when saving is on */
		static const struct save_point def[] = { { 3600, 1 }, { 300, 100 }, { 60, 10000 } };

		srv.nsave = 0;
		if (srv.dir) {
			memcpy(srv.save, def, sizeof def);
			srv.nsave = 3;
		}
	}
	if (srv.maxmemory)
		srv.space_size = srv.maxmemory;
	kv_databases = (unsigned)srv.databases;
	return 0;
}

/* ---- CONFIG REWRITE ------------------------------------------------------------ */

/* A growing text (the new file). */
struct text {
	char *p;
	size_t len, cap;
	int err;
};

/* Append s to t; an allocation failure is kept in t->err. */
static void text_add(struct text *t, const char *s)
{
	size_t n = strlen(s);

	if (t->err)
		return;
	if (t->len + n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap : 4096;
		char *p;

		while (cap < t->len + n + 1)
			cap *= 2;
		if (!(p = realloc(t->p, cap))) {
			t->err = -ENOMEM;
			return;
		}
		t->p = p;
		t->cap = cap;
	}
	memcpy(t->p + t->len, s, n + 1);
	t->len += n;
}

/* Append s to t as one config word, quoted when it needs it. */
static void text_word(struct text *t, const char *s)
{
	if (!t->err && conf_quote(&t->p, &t->len, &t->cap, s))
		t->err = -ENOMEM;
}

/* A byte count as Redis rewrites one: 1gb, 64mb, 512kb or plain bytes. */
static void mem_word(char *buf, size_t len, uint64_t v)
{
	if (v && v % (1ull << 30) == 0)
		snprintf(buf, len, "%llugb", (unsigned long long)(v >> 30));
	else if (v && v % (1ull << 20) == 0)
		snprintf(buf, len, "%llumb", (unsigned long long)(v >> 20));
	else if (v && v % 1024 == 0)
		snprintf(buf, len, "%llukb", (unsigned long long)(v >> 10));
	else
		snprintf(buf, len, "%llu", (unsigned long long)v);
}

/* The lines that set cf to its current value, under name. */
static void setting_lines(struct text *t, const struct cfg *cf, const char *name)
{
	static const char *classes[] = { "normal", "replica", "pubsub" };
	char val[1024], a[32], b[32];

	switch (cf->type) {
	case C_SAVE:
		if (srv.nsave <= 0) {
			text_add(t, name);
			text_add(t, " \"\"\n");
		}
		for (int i = 0; i < srv.nsave; i++) {
			snprintf(val, sizeof val, "%s %ld %ld\n", name, srv.save[i].secs,
				 srv.save[i].changes);
			text_add(t, val);
		}
		return;
	case C_OBL:
		for (int k = 0; k < OBL_CLASSES; k++) {
			mem_word(a, sizeof a, srv.obl[k].hard);
			mem_word(b, sizeof b, srv.obl[k].soft);
			snprintf(val, sizeof val, "%s %s %s %s %ld\n", name, classes[k], a, b,
				 srv.obl[k].soft_secs);
			text_add(t, val);
		}
		return;
	case C_MEM:
		mem_word(val, sizeof val, *(uint64_t *)cf->ptr);
		break;
	default: {
		uint64_t m;

		config_value(cf, val, sizeof val);
		if (cf->type == C_INERT && !strcmp(cf->choices, "mem") && !config_parse_memory(val, &m))
			mem_word(val, sizeof val, m);
	}
	}
	text_add(t, name);
	text_add(t, " ");
	if ((cf->flags & MULTI) && val[0])
		text_add(t, val);	/* bind, oom-score-adj-values: their words */
	else
		text_word(t, val);
	text_add(t, "\n");
}

/* The first entry sharing cf's value (an alias's original), for REWRITE. */
static size_t canonical(const struct cfg *cf)
{
	for (size_t i = 0; i < NCONFIGS; i++)
		if (&configs[i] == cf || (cf->ptr && configs[i].ptr == cf->ptr))
			return i;
	return (size_t)(cf - configs);
}

/* Does setting i differ from its value at start (before file and options)? */
static bool changed(size_t i)
{
	char val[1024];

	config_value(&configs[i], val, sizeof val);
	if (configs[i].type == C_SAVE)	/* Redis's default points, with a dir */
		return strcmp(val, srv.dir ? "3600 1 300 100 60 10000" : "");
	if (configs[i].ptr == &srv.maxmemory)	/* unset: the default space's size */
		return !(srv.maxmemory == srv.db.size && srv.db.size == 4ull << 30);
	return !default_vals[i] || strcmp(val, default_vals[i]);
}

/* Do the words of line equal those of the lines setting cf would get? Then
 * the old line stays as written (its spacing, its units). */
static bool line_is_current(const struct cfg *cf, int argc, char **argv)
{
	struct text t = { 0 };
	char **w;
	int n;
	bool same = false;

	setting_lines(&t, cf, argv[0]);
	if (!t.err && t.p && !strchr(t.p, '\n')[1] && conf_split(t.p, &w, &n) == 0) {
		same = n == argc;
		for (int i = 0; same && i < n; i++)
			same = strcasecmp(w[i], argv[i]) == 0;
		conf_argv_free(w, n);
	}
	free(t.p);
	return same;
}

#define REWRITE_MARK "# Generated by CONFIG REWRITE"

/* One line of the old file into the new: kept, replaced by the current
 * value of its setting (at its first line), or dropped (a later line of a
 * setting already written, the old marker). */
static void rewrite_line(struct text *t, char *line, bool *done)
{
	const struct cfg *cf;
	char *s = line, **argv;
	int argc;

	while (isspace((unsigned char)*s))
		s++;
	if (!strcmp(s, REWRITE_MARK))
		return;
	if (!*s || *s == '#' || conf_split(s, &argv, &argc) < 0) {
		text_add(t, line);
		text_add(t, "\n");
		return;
	}
	cf = argc ? config_find(argv[0]) : NULL;
	if (!cf || cf->type == C_CONST) {	/* include, comments, fixed values */
		text_add(t, line);
		text_add(t, "\n");
	} else if (!done[canonical(cf)]) {
		done[canonical(cf)] = true;
		if (line_is_current(cf, argc, argv)) {
			text_add(t, line);
			text_add(t, "\n");
		} else {
			setting_lines(t, cf, argv[0]);
		}
	}
	conf_argv_free(argv, argc);
}

/*
 * config_rewrite — CONFIG REWRITE: the file the server started from, with
 * every setting it names set to its current value (at its first line; its
 * later lines dropped), every other line kept as written, and the settings
 * changed since start that it does not name appended after REWRITE_MARK.
 * Written atomically (file_write_atomic). 0, or -1 with err holding the
 * reply's message.
 */
int config_rewrite(char *err, size_t errlen)
{
	struct text t = { 0 };
	bool done[NCONFIGS] = { false }, marked = false;
	size_t len = 0;
	char *old, *line, *next;
	int r;

	if (!srv.configfile) {
		snprintf(err, errlen, "The server is running without a config file");
		return -1;
	}
	old = conf_read_all(srv.configfile, &len);
	if (!old && errno != ENOENT) {
		snprintf(err, errlen, "Rewriting config file: %s", strerror(errno));
		return -1;
	}
	for (line = old; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		rewrite_line(&t, line, done);
	}
	for (size_t i = 0; i < NCONFIGS; i++) {
		if (done[canonical(&configs[i])] || configs[i].type == C_CONST ||
		    canonical(&configs[i]) != i || !changed(i))
			continue;
		if (!marked) {
			if (t.len && t.p[t.len - 1] != '\n')
				text_add(&t, "\n");
			text_add(&t, REWRITE_MARK "\n");
			marked = true;
		}
		setting_lines(&t, &configs[i], configs[i].name);
	}
	free(old);
	if (t.err) {
		free(t.p);
		snprintf(err, errlen, "Rewriting config file: %s", strerror(-t.err));
		return -1;
	}
	r = file_write_atomic(srv.configfile, t.p ? t.p : "", t.len);
	free(t.p);
	if (r) {
		snprintf(err, errlen, "Rewriting config file: %s", strerror(-r));
		return -1;
	}
	return 0;
}

/* ---- glob matching ------------------------------------------------------------- */

static bool eq(char a, char b, bool nocase)
{
	return nocase ? tolower((unsigned char)a) == tolower((unsigned char)b) : a == b;
}

/* Match s against the class starting after '[' at pat[*p]; *p moves past ']'. */
static bool class_match(const char *pat, size_t plen, size_t *p, char s, bool nocase)
{
	bool neg = false, hit = false;
	size_t i = *p;

	if (i < plen && pat[i] == '^') {
		neg = true;
		i++;
	}
	while (i < plen && pat[i] != ']') {
		if (pat[i] == '\\' && i + 1 < plen) {
			hit |= eq(pat[i + 1], s, nocase);
			i += 2;
		} else if (i + 2 < plen && pat[i + 1] == '-' && pat[i + 2] != ']') {
			unsigned char lo = (unsigned char)pat[i], hi = (unsigned char)pat[i + 2];
			unsigned char ch = (unsigned char)s;

			if (lo > hi) {
				unsigned char t = lo;

				lo = hi;
				hi = t;
			}
			if (nocase) {
				lo = (unsigned char)tolower(lo);
				hi = (unsigned char)tolower(hi);
				ch = (unsigned char)tolower(ch);
			}
			hit |= ch >= lo && ch <= hi;
			i += 3;
		} else {
			hit |= eq(pat[i], s, nocase);
			i++;
		}
	}
	*p = i < plen ? i + 1 : i;	/* an unclosed class ends with the pattern */
	return hit != neg;
}

bool glob_match(const char *pat, size_t plen, const char *s, size_t slen, bool nocase)
{
	size_t p = 0, i = 0, star_p = SIZE_MAX, star_i = 0;

	while (i < slen) {
		if (p < plen) {
			size_t q = p + 1;

			switch (pat[p]) {
			case '*':
				while (p < plen && pat[p] == '*')
					p++;
				if (p == plen)
					return true;
				star_p = p;
				star_i = i;
				continue;
			case '?':
				p++;
				i++;
				continue;
			case '[':
				if (class_match(pat, plen, &q, s[i], nocase)) {
					p = q;
					i++;
					continue;
				}
				break;
			case '\\':
				/* An escaped byte; a trailing backslash is literal. */
				q = p + 1 < plen ? p + 1 : p;
				if (eq(pat[q], s[i], nocase)) {
					p = q + 1;
					i++;
					continue;
				}
				break;
			default:
				if (eq(pat[p], s[i], nocase)) {
					p++;
					i++;
					continue;
				}
			}
		}
		if (star_p == SIZE_MAX)
			return false;
		p = star_p;
		i = ++star_i;
	}
	while (p < plen && pat[p] == '*')
		p++;
	return p == plen;
}
