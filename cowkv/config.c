/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * config.c — settings: defaults, the command line (--name value, as
 * redis-server takes them), CONFIG GET and CONFIG SET (all-or-nothing,
 * with Redis's error texts), and the glob matcher they and KEYS share.
 */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server.h"
#include "script.h"   /* issue 15: busy-reply-threshold */
#include "acl.h"      /* issue 15: requirepass, protected-mode */
#include "types.h"	/* kv_enc (part A) */

enum cfg_type { C_STR, C_INT, C_MEM, C_SAVE, C_OBL, C_LOGLEVEL, C_CONST, C_NOTIFY, C_BOOL };

#define IMMUTABLE 1

struct cfg {
	const char *name;
	enum cfg_type type;
	void *ptr;              /* char **, long *, uint64_t *, bool * */
	long long min, max;
	unsigned flags;
	const char *fixed;      /* C_CONST: the value */
};

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
	{ "notify-keyspace-events", C_NOTIFY, NULL, 0, 0, 0, NULL },
	{ "slowlog-log-slower-than", C_INT, &slowlog_slower_than, -1, LLONG_MAX, 0, NULL },
	{ "slowlog-max-len", C_INT, &slowlog_max_len, 0, LONG_MAX, 0, NULL },
	{ "latency-monitor-threshold", C_INT, &latency_threshold_ms, 0, LLONG_MAX, 0, NULL },
	{ "stream-node-max-bytes", C_INT, &enc_stream_bytes, 0, LLONG_MAX, 0, NULL },
	{ "stream-node-max-entries", C_INT, &enc_stream_entries, 0, LLONG_MAX, 0, NULL },
	{ "hll-sparse-max-bytes", C_INT, &enc_hll_sparse, 0, LONG_MAX, 0, NULL },
	{ "activerehashing", C_BOOL, &cfg_activerehashing, 0, 0, 0, NULL },
	{ "lazyfree-lazy-expire", C_BOOL, &cfg_lazyfree, 0, 0, 0, NULL },
	{ "lazyfree-lazy-user-del", C_BOOL, &cfg_lazyfree_user, 0, 0, 0, NULL },
	{ "replicaof", C_CONST, NULL, 0, 0, IMMUTABLE, "" },
	{ "slaveof", C_CONST, NULL, 0, 0, IMMUTABLE, "" },
	/* ---- end of issue 13 part B settings ---- */
	{ "bind", C_STR, &srv.bind, 0, 0, IMMUTABLE, NULL },
	{ "port", C_INT, &srv.port, 0, 65535, IMMUTABLE, NULL },
	{ "dir", C_STR, &srv.dir, 0, 0, IMMUTABLE, NULL },
	{ "dbfilename", C_STR, &srv.dbfilename, 0, 0, IMMUTABLE, NULL },
	{ "logfile", C_STR, &srv.logfile, 0, 0, IMMUTABLE, NULL },
	{ "save", C_SAVE, NULL, 0, 0, 0, NULL },
	{ "maxmemory", C_MEM, &srv.maxmemory, 0, LLONG_MAX, 0, NULL },
	{ "stop-writes-on-bgsave-error", C_BOOL, &srv.stop_writes_on_bgsave_err, 0, 0, 0, NULL },
	{ "save-budget", C_MEM, &srv.save_budget, 0, LLONG_MAX, 0, NULL },
	{ "save-incremental", C_BOOL, &srv.save_incremental, 0, 0, IMMUTABLE, NULL },
	{ "save-keep", C_INT, &srv.save_keep, 1, 64, IMMUTABLE, NULL },  /* read by the save thread */
	{ "load-fallback", C_BOOL, &srv.load_fallback, 0, 0, IMMUTABLE, NULL },
	{ "maxclients", C_INT, &srv.maxclients, 1, 4294967295LL, 0, NULL },
	{ "timeout", C_INT, &srv.timeout, 0, INT_MAX, 0, NULL },
	{ "hz", C_INT, &srv.hz, 1, 500, 0, NULL },
	{ "tcp-keepalive", C_INT, &srv.tcp_keepalive, 0, INT_MAX, 0, NULL },
	{ "proto-max-bulk-len", C_MEM, &srv.proto_max_bulk_len, 1024 * 1024, LLONG_MAX, 0, NULL },
	{ "client-query-buffer-limit", C_MEM, &srv.query_buf_limit, 1024 * 1024, LLONG_MAX, 0, NULL },
	{ "client-output-buffer-limit", C_OBL, NULL, 0, 0, 0, NULL },
	{ "max-snapshots", C_INT, &srv.max_snapshots, 1, SNAPSHOTS_MAX, 0, NULL },
	{ "loglevel", C_LOGLEVEL, NULL, 0, 0, 0, NULL },
	{ "maxmemory-policy", C_CONST, NULL, 0, 0, 0, "noeviction" },
	{ "appendonly", C_CONST, NULL, 0, 0, IMMUTABLE, "no" },
	{ "databases", C_INT, &srv.databases, 1, KV_DATABASES_MAX, IMMUTABLE, NULL },
	{ "daemonize", C_CONST, NULL, 0, 0, IMMUTABLE, "no" },
	/* ---- issue 15: authentication (acl.c) ---- */
	{ "protected-mode", C_STR, &acl_protected_mode, 0, 0, IMMUTABLE, NULL },  /* checked at start */
	{ "requirepass", C_STR, &acl_requirepass, 0, 0, 0, NULL },
	{ "aclfile", C_STR, &acl_file, 0, 0, IMMUTABLE, NULL },
	/* ---- issue 15: scripting ---- */
	{ "busy-reply-threshold", C_INT, &script_busy_ms, 0, LONG_MAX, 0, NULL },
	{ "lua-time-limit", C_INT, &script_busy_ms, 0, LONG_MAX, 0, NULL },
	/* ---- encoding limits, as OBJECT ENCODING reports them (part A) ---- */
	{ "hash-max-listpack-entries", C_INT, &kv_enc.hash_entries, 0, LONG_MAX, 0, NULL },
	{ "hash-max-listpack-value", C_INT, &kv_enc.hash_value, 0, LONG_MAX, 0, NULL },
	{ "set-max-intset-entries", C_INT, &kv_enc.set_intset, 0, LONG_MAX, 0, NULL },
	{ "zset-max-listpack-entries", C_INT, &kv_enc.zset_entries, 0, LONG_MAX, 0, NULL },
	{ "zset-max-listpack-value", C_INT, &kv_enc.zset_value, 0, LONG_MAX, 0, NULL },
	/* lists: cowkv's list is one ring of offsets, not a quicklist of
	 * listpack nodes; these are kept and shown for clients that set them */
	{ "list-max-listpack-size", C_INT, &kv_enc.list_size, -5, LONG_MAX, 0, NULL },
	{ "list-max-ziplist-size", C_INT, &kv_enc.list_size, -5, LONG_MAX, 0, NULL },
	{ "list-compress-depth", C_INT, &kv_enc.list_compress, 0, LONG_MAX, 0, NULL },
	/* their old names, which Redis 7.0 still takes */
	{ "hash-max-ziplist-entries", C_INT, &kv_enc.hash_entries, 0, LONG_MAX, 0, NULL },
	{ "hash-max-ziplist-value", C_INT, &kv_enc.hash_value, 0, LONG_MAX, 0, NULL },
	{ "zset-max-ziplist-entries", C_INT, &kv_enc.zset_entries, 0, LONG_MAX, 0, NULL },
	{ "zset-max-ziplist-value", C_INT, &kv_enc.zset_value, 0, LONG_MAX, 0, NULL },
};

#define NCONFIGS (sizeof configs / sizeof configs[0])

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
	srv.tcp_keepalive = 300;
	srv.proto_max_bulk_len = 512ull << 20;
	srv.query_buf_limit = 1ull << 30;
	srv.obl[OBL_NORMAL] = (struct obuf_limit){ 1ull << 30, 256ull << 20, 60 };
	srv.obl[OBL_REPLICA] = (struct obuf_limit){ 256ull << 20, 64ull << 20, 60 };
	srv.obl[OBL_PUBSUB] = (struct obuf_limit){ 32ull << 20, 8ull << 20, 60 };	/* Redis's */
	srv.max_snapshots = 64;
	srv.verbosity = LL_NOTICE;
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
	}
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
		if (!resp_str2ll(v, strlen(v), &n))
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

/* ---- the command line -------------------------------------------------------- */

static void usage(void)
{
	printf("Usage: cowkv [--port N] [--bind ADDR] [--dir DIR] [--maxmemory BYTES]\n"
	       "             [--save \"secs changes\"]... [--save-budget BYTES]\n"
	       "             [--save-incremental yes|no] [--save-keep N] [--load-fallback yes|no]\n"
	       "             [--databases N]\n"
	       "             [--<setting> <value>]...   (any CONFIG setting)\n"
	       "             [--import FILE.rdb] [--export FILE.rdb]\n"
	       "       cowkv --help | --version\n\n"
	       "A Redis-protocol server whose dataset lives in one libcow space:\n"
	       "BGSAVE without fork(), instant restart from the last checkpoint in DIR,\n"
	       "SNAPSHOT / ROLLBACK. --maxmemory is the space's size (default 4gb).\n"
	       "Without --dir nothing is saved. See docs/COWKV.md.\n"
	       "--import loads a Redis RDB file into the dataset at start; --export\n"
	       "writes the dataset (as loaded from DIR) as an RDB file and exits.\n");
}

int config_from_args(int argc, char **argv)
{
	bool saw_save = false;

	for (int i = 1; i < argc; i++) {
		const char *opt = argv[i], *why;
		const struct cfg *cf;
		char val[256];

		if (!strcmp(opt, "--help") || !strcmp(opt, "-h")) {
			usage();
			return 1;
		}
		if (!strcmp(opt, "--version") || !strcmp(opt, "-v")) {
			printf("cowkv %s (Redis %s protocol), libcow %d.%d.%d\n", COWKV_VERSION,
			       COWKV_REDIS_COMPAT, COW_VERSION_MAJOR, COW_VERSION_MINOR,
			       COW_VERSION_PATCH);
			return 1;
		}
		if (strncmp(opt, "--", 2) != 0 || !(cf = config_find(opt + 2)) || i + 1 >= argc) {
			fprintf(stderr, "cowkv: unknown option or missing value: %s (try --help)\n", opt);
			return -1;
		}
		snprintf(val, sizeof val, "%s", argv[++i]);
		if (cf->type == C_SAVE) {
			/* --save "secs changes" or --save secs changes, repeatable. */
			struct save_point pts[SAVE_POINTS_MAX];
			int k;

			if (!strchr(val, ' ') && val[0] && i + 1 < argc && isdigit((unsigned char)argv[i + 1][0]))
				snprintf(val + strlen(val), sizeof val - strlen(val), " %s", argv[++i]);
			if ((k = parse_save(val, pts)) < 0 || (saw_save ? srv.nsave : 0) + k > SAVE_POINTS_MAX) {
				fprintf(stderr, "cowkv: --save: Invalid save parameters: '%s'\n", val);
				return -1;
			}
			if (!saw_save)
				srv.nsave = 0;
			memcpy(srv.save + srv.nsave, pts, (size_t)k * sizeof pts[0]);
			srv.nsave += k;
			saw_save = true;
			continue;
		}
		if ((why = config_apply(cf, val, true))) {
			fprintf(stderr, "cowkv: --%s %s: %s\n", cf->name, val, why);
			return -1;
		}
	}
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
