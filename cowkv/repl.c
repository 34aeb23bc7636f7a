/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * repl.c — the master's side of Redis's replication handshake as far as
 * the RDB goes: REPLCONF, SYNC and PSYNC. Enough for `redis-cli --rdb
 * FILE`, `redis-cli --functions-rdb FILE` and any tool that fetches a
 * dataset with SYNC.
 *
 * SYNC (and PSYNC, answered "+FULLRESYNC <replid> 0": cowkv never continues
 * a partial resync) takes a snapshot of the dataset's space in the server's
 * thread (a freeze, as BGSAVE's) and writes the RDB's head there (the
 * function libraries live in the Lua state). A thread of its own then
 * serializes the keys from a read-only view of the snapshot into ordinary
 * memory while the server goes on serving; writes made meanwhile are not in
 * the RDB, which is the dataset at the instant of SYNC. When the thread is
 * done it wakes the loop through srv.savefd (shared with BGSAVE's waiter);
 * the loop sends "$<len>\r\n" and the RDB from that buffer without copying
 * it (the length form Redis uses for disk-based replication). The client's
 * input is held until then.
 *
 * cowkv is not a replication master: after the RDB nothing more comes (no
 * command stream, no PING). A client that said REPLCONF rdb-only 1 is closed
 * once its RDB is written, as Redis does; any other stays connected as a
 * normal client. INFO keeps saying role:master, connected_slaves:0.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "server.h"
#include "rdbfmt.h"
#include "rdb.h"

/* client.repl_req bits: what REPLCONF asked for. */
#define REPL_RDB_ONLY     0x1   /* rdb-only 1: close once the RDB is sent */
#define REPL_NO_DATA      0x2   /* rdb-filter-only: no keys */
#define REPL_NO_FUNCTIONS 0x4   /* rdb-filter-only without "functions" */
#define REPL_CAPA_EOF     0x8   /* capa eof */
#define REPL_FILTERED     (REPL_NO_DATA | REPL_NO_FUNCTIONS)

#define NET_HOST_STR_LEN 256    /* Redis's limit for REPLCONF ip-address */

/* Room before the RDB in a job's buffer: the buffer becomes a struct obuf
 * of the client's output in place. */
#define OBUF_HDR offsetof(struct obuf, data)

/* One RDB being made for one client. */
struct repl_job {
	struct repl_job *next;
	uint64_t client;        /* the client's id: it may be gone when done */
	cow_snap *snap;         /* the dataset at SYNC (released by the thread) */
	kv_off root;            /* the root's offset in it */
	int64_t now_ms;         /* keys expired at this time are left out */
	struct rbuf b;          /* OBUF_HDR bytes, then the RDB */
	int err;                /* the thread's failure (errno), or 0 */
	int64_t start_us;
	int64_t freeze_us;
	pthread_t thread;
	atomic_bool done;
};

static struct repl_job *jobs;
static char replid[41];

const char *repl_id(void)
{
	if (!replid[0]) {
		for (int i = 0; i < 40; i += 16) {
			char hex[17];

			snprintf(hex, sizeof hex, "%016llx", (unsigned long long)srv_random());
			memcpy(replid + i, hex, i + 16 <= 40 ? 16 : 40 - i);
		}
		replid[40] = '\0';
	}
	return replid;
}

unsigned repl_jobs(void)
{
	unsigned n = 0;

	for (struct repl_job *j = jobs; j; j = j->next)
		n++;
	return n;
}

/* ---- REPLCONF ----------------------------------------------------------- */

/*
 * Split s (n bytes) into blank-separated words, quotes allowed as
 * sdssplitargs takes them (without its escapes), and call fn on each.
 * Returns false on an unbalanced quote, or as soon as fn returns false.
 */
static bool each_word(const char *s, size_t n, bool (*fn)(void *, const char *, size_t),
		      void *arg)
{
	size_t i = 0;

	for (;;) {
		size_t start;
		char q = 0;

		while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
			i++;
		if (i == n)
			return true;
		if (s[i] == '"' || s[i] == '\'')
			q = s[i++];
		start = i;
		while (i < n && (q ? s[i] != q : s[i] != ' ' && s[i] != '\t'))
			i++;
		if (q && i == n)
			return false;
		if (!fn(arg, s + start, i - start))
			return false;
		if (q)
			i++;
	}
}

struct filter_parse {
	struct client *c;
	unsigned req;
	bool bad;               /* an unsupported filter was replied */
};

/* One word of rdb-filter-only: "functions" keeps the libraries. */
static bool filter_word(void *arg, const char *w, size_t n)
{
	struct filter_parse *f = arg;

	if (n == 9 && !strncasecmp(w, "functions", 9)) {
		f->req &= ~(unsigned)REPL_NO_FUNCTIONS;
		return true;
	}
	reply_errorf(f->c, "ERR Unsupported rdb-filter-only option: %.*s", (int)n, w);
	f->bad = true;
	return false;
}

/* REPLCONF rdb-filter-only <filters>: only what the filters name goes into
 * the RDB (no keys ever; "" means an RDB with nothing). False after an
 * error reply. */
static bool replconf_filter(struct client *c, int i)
{
	struct filter_parse f = { .c = c, .req = c->repl_req | REPL_FILTERED };

	if (!each_word(c->argv[i].p, c->argv[i].len, filter_word, &f)) {
		if (!f.bad)
			reply_error(c, "ERR Missing rdb-filter-only values");
		return false;
	}
	c->repl_req = f.req;
	return true;
}

/* REPLCONF rdb-only 0|1. False after an error reply. */
static bool replconf_rdb_only(struct client *c, int i)
{
	long long v;

	if (!arg_ll(c, i, &v))
		return false;
	if (v < 0 || v > 1) {
		reply_error(c, "ERR value is out of range, value must between 0 and 1");
		return false;
	}
	if (v)
		c->repl_req |= REPL_RDB_ONLY;
	else
		c->repl_req &= ~(unsigned)REPL_RDB_ONLY;
	return true;
}

/*
 * REPLCONF <option> <value> [<option> <value> ...], as Redis 7.0 answers
 * it: listening-port (an integer), ip-address, capa (eof noted, others
 * ignored), rdb-only, rdb-filter-only, then +OK. ACK and GETACK get no
 * reply at all (cowkv has neither replicas to track nor a master to ack
 * to); an unknown option is "Unrecognized REPLCONF option".
 */
void cmd_replconf(struct client *c)
{
	long long v;

	if (c->argc % 2 == 0) {
		reply_syntax(c);
		return;
	}
	for (int j = 1; j < c->argc; j += 2) {
		if (arg_is(c, j, "listening-port")) {
			if (!arg_ll(c, j + 1, &v))
				return;
		} else if (arg_is(c, j, "ip-address")) {
			if (c->argv[j + 1].len >= NET_HOST_STR_LEN) {
				reply_errorf(c, "ERR REPLCONF ip-address provided by replica instance "
					     "is too long: %zu bytes", c->argv[j + 1].len);
				return;
			}
		} else if (arg_is(c, j, "capa")) {
			if (arg_is(c, j + 1, "eof"))
				c->repl_req |= REPL_CAPA_EOF;
		} else if (arg_is(c, j, "ack") || arg_is(c, j, "getack")) {
			return;
		} else if (arg_is(c, j, "rdb-only")) {
			if (!replconf_rdb_only(c, j + 1))
				return;
		} else if (arg_is(c, j, "rdb-filter-only")) {
			if (!replconf_filter(c, j + 1))
				return;
		} else {
			reply_errorf(c, "ERR Unrecognized REPLCONF option: %s", c->argv[j].p);
			return;
		}
	}
	reply_ok(c);
}

/* ---- making the RDB ------------------------------------------------------ */

/*
 * The job's thread: map the snapshot read-only, serialize its keys after
 * the head the server's thread wrote, close the RDB (EOF, CRC64), release
 * the snapshot and wake the loop. Runs at nice +10, as libcow's saver: on a
 * busy machine the server's thread gets the CPU first.
 */
static void *job_main(void *arg)
{
	struct repl_job *j = arg;
	struct kvdb view = { 0 };
	uint64_t one = 1;

	(void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10);
	view.base = (char *)cow_snap_map(j->snap);
	if (!view.base) {
		j->err = errno ? errno : ENOMEM;
	} else {
		view.size = cow_snap_size(j->snap);
		view.root = kv_ptr(&view, j->root);
		view.now_ms = j->now_ms;
		rdb_keys(&j->b, &view);
		rdb_tail(&j->b, OBUF_HDR);
		if (j->b.oom)
			j->err = ENOMEM;
	}
	cow_snap_release(j->snap);
	j->snap = NULL;
	atomic_store(&j->done, true);
	(void)!write(srv.savefd, &one, sizeof one);
	return NULL;
}

/* The connected client whose id is id, or NULL. */
static struct client *client_by_id(uint64_t id)
{
	for (struct client *c = srv.clients; c; c = c->next)
		if (c->id == id)
			return c;
	return NULL;
}

/*
 * Give c its finished RDB: "$<len>\r\n", then the job's buffer itself as
 * an output buffer (c owns it from then on). An rdb-only client closes once
 * it is written; c's held input resumes. A failed job closes c with
 * Redis's error. Frees the job.
 */
static void job_deliver(struct client *c, struct repl_job *j)
{
	char who[160], head[32];
	size_t len = j->b.len - OBUF_HDR;
	struct obuf *ob = (struct obuf *)j->b.p;

	client_describe(c, who, sizeof who);
	c->flags &= ~(unsigned)CF_SYNCING;
	client_unblocked(c);
	if (j->err) {
		srv_log(LL_WARNING, "SYNC for replica %s failed: %s", who, strerror(j->err));
		reply_error(c, "ERR BGSAVE failed, replication can't continue");
		c->flags |= CF_CLOSE_AFTER_REPLY;
		free(j->b.p);
		free(j);
		return;
	}
	snprintf(head, sizeof head, "$%zu\r\n", len);
	reply_raw(c, head, strlen(head));
	ob->next = NULL;
	ob->len = ob->cap = len;
	ob->sent = 0;
	reply_obuf(c, ob);
	if (c->repl_req & REPL_RDB_ONLY)
		c->flags |= CF_CLOSE_AFTER_REPLY;
	srv_log(LL_NOTICE, "Synchronization with replica %s: RDB of %zu bytes made in %lld ms "
		"(freeze %lld us); cowkv sends no replication stream after it", who, len,
		(long long)((srv_mono_us() - j->start_us) / 1000), (long long)j->freeze_us);
	free(j);
}

/* A job that ended without reaching its client: free it. */
static void job_drop(struct repl_job *j)
{
	free(j->b.p);
	free(j);
}

void repl_poll(void)
{
	struct repl_job **pp = &jobs;

	while (*pp) {
		struct repl_job *j = *pp;
		struct client *c;

		if (!atomic_load(&j->done)) {
			pp = &j->next;
			continue;
		}
		*pp = j->next;
		pthread_join(j->thread, NULL);
		c = client_by_id(j->client);
		if (c && !(c->flags & CF_CLOSE_ASAP))
			job_deliver(c, j);
		else
			job_drop(j);
	}
}

void repl_stop(void)
{
	while (jobs) {
		struct repl_job *j = jobs;

		jobs = j->next;
		pthread_join(j->thread, NULL);
		job_drop(j);
	}
}

/*
 * Start c's RDB: the head now, the keys from a snapshot in a thread (none
 * when rdb-filter-only left them out: then the RDB is delivered at once).
 * False after an error reply.
 */
static bool job_start(struct client *c)
{
	static const unsigned char zero[OBUF_HDR];
	struct repl_job *j = calloc(1, sizeof *j);
	int64_t t0;
	int err;

	if (!j) {
		reply_oom(c);
		return false;
	}
	j->client = c->id;
	j->start_us = srv_mono_us();
	crc64_jones(0, NULL, 0);	/* its table is filled here, not in the thread */
	rbuf_put(&j->b, zero, sizeof zero);
	rdb_head(&j->b, !(c->repl_req & REPL_NO_FUNCTIONS));
	if (c->repl_req & REPL_NO_DATA) {
		rdb_tail(&j->b, OBUF_HDR);
		j->err = j->b.oom ? ENOMEM : 0;
		job_deliver(c, j);
		return true;
	}
	t0 = srv_mono_us();
	j->snap = cow_snapshot(srv.db.space);
	j->freeze_us = srv_mono_us() - t0;
	j->root = kv_offof(&srv.db, srv.db.root);
	j->now_ms = srv.db.now_ms;
	if (!j->snap || j->b.oom ||
	    (err = pthread_create(&j->thread, NULL, job_main, j)) != 0) {
		srv_log(LL_WARNING, "Can't make an RDB for SYNC: %s",
			!j->snap ? strerror(errno) : j->b.oom ? "out of memory" : strerror(err));
		cow_snap_release(j->snap);
		job_drop(j);
		reply_error(c, "ERR BGSAVE failed, replication can't continue");
		c->flags |= CF_CLOSE_AFTER_REPLY;
		return false;
	}
	c->flags |= CF_SYNCING;
	j->next = jobs;
	jobs = j;
	return true;
}

/* ---- SYNC and PSYNC ------------------------------------------------------ */

/*
 * SYNC, and PSYNC <replid> <offset> (always a full resync): the checks
 * Redis 7.0's syncCommand makes, in its order and words, then the RDB.
 * A client that already synced is ignored, as in Redis.
 */
void cmd_sync(struct client *c)
{
	bool psync = arg_is(c, 0, "psync");
	char who[160], line[80];
	long long off;

	if (c->flags & CF_REPLICA)
		return;
	if (c->obytes) {
		reply_error(c, "ERR SYNC and PSYNC are invalid with pending output");
		return;
	}
	if ((c->repl_req & REPL_FILTERED) && !(c->repl_req & REPL_CAPA_EOF)) {
		reply_error(c, "ERR Filtered replica requires EOF capability");
		return;
	}
	client_describe(c, who, sizeof who);
	srv_log(LL_NOTICE, "Replica %s asks for synchronization", who);
	if (psync && !arg_ll(c, 2, &off)) {
		srv_log(LL_WARNING, "Replica %s asks for synchronization but with a wrong offset",
			who);
		return;
	}
	if (psync) {
		snprintf(line, sizeof line, "+FULLRESYNC %s 0\r\n", repl_id());
		reply_raw(c, line, strlen(line));
	}
	c->flags |= CF_REPLICA;
	job_start(c);
}
