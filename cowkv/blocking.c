/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * blocking.c — clients that wait for a key (BLPOP and the other blocking
 * commands), keyed by (key, type) so that any type's blocking commands use
 * the same machinery.
 *
 * A command that finds nothing calls block_client(): the client's
 * arguments are copied, it joins the queue of each key it names (arrival
 * order: the first to block is served first), and its input stops being
 * processed. When a write changes such a key (keyspace_changed), the key
 * goes on the ready list; after the command that changed it (after EXEC for
 * a transaction) blocking_serve_ready() runs the waiting command again for
 * the clients of each ready key, in order, while the key holds a value of
 * the type they wait for. A re-run that finds the value replies and the
 * client is unblocked; one that finds nothing stays blocked where it was.
 * A served command is a write like any other: it can make more keys ready
 * (BLMOVE into a list others wait on), and the loop goes on until none is.
 *
 * Clients block on a key of their database: the maps are keyed by
 * (database, key) dbkeys (server.h), and a key is ready in the database
 * where it changed (srv.db.cur then).
 *
 * Extension point: a blocking command of another type (BZPOPMIN, BZMPOP...)
 * tries its keys, and when none holds anything and blocking_may_block(c),
 * calls block_client(c, first, last, step, KV_ZSET, deadline, its_timeout).
 * Nothing else is needed: wake-ups come from the key-modified hook.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"
#include "strmap.h"

/* One client in one key's queue. */
struct bnode {
	struct client *c;
	struct bnode *next, *prev;
	struct strmap_ent *ke;  /* the key in blocked (val: struct bqueue) */
};

struct bqueue {
	struct bnode *head, *tail;
};

struct block_state {
	struct kv_cmd *cmd;
	int argc;
	struct kv_arg *argv;    /* copies */
	int nkeys;
	struct bnode *nodes;    /* one per key */
	enum kv_type type;
	int64_t deadline_ms;    /* unix ms, 0 = forever */
	void (*on_timeout)(struct client *c);
	struct client *bprev, *bnext;   /* all blocked clients */
};

static struct strmap blocked;           /* dbkey -> struct bqueue */
static struct client *blocked_clients;  /* list, for timeouts */
static size_t nblocked;

/* The ready list: dbkeys to try, in the order they became ready, once each. */
static struct strmap ready_set;
static struct ready_key {
	struct ready_key *next;
	size_t klen;
	char key[];
} *ready_head, **ready_tail = &ready_head;

static const struct client *serving;    /* the client whose command is re-run */
/* The earliest deadline of a blocked client, or 0: no scan before it (it
 * may be early when that client left meanwhile; a scan recomputes it). */
static int64_t next_deadline;
static bool reblocked;                  /* ...and it found nothing again */

size_t blocking_clients(void)
{
	return nblocked;
}

bool blocking_serving(const struct client *c)
{
	return c == serving;
}

bool blocking_may_block(const struct client *c)
{
	return !(c->flags & (CF_MULTI | CF_IN_EXEC));
}

/* ---- timeouts ----------------------------------------------------------- */

bool arg_timeout(struct client *c, int i, int64_t *deadline_ms)
{
	const char *s = c->argv[i].p;
	char *end;
	long double v, ms;
	int64_t now = srv_unix_ms();

	errno = 0;
	v = c->argv[i].len ? strtold(s, &end) : 0;
	if (!c->argv[i].len || *end || (size_t)(end - s) != c->argv[i].len || isnan(v) ||
	    errno == ERANGE || s[0] == ' ' || s[0] == '\t' || s[0] == '\n') {
		reply_error(c, "ERR timeout is not a float or out of range");
		return false;
	}
	ms = v * 1000.0L;
	if (ms > (long double)INT64_MAX) {
		reply_error(c, "ERR timeout is out of range");
		return false;
	}
	ms = ceill(ms);
	if (ms < 0) {
		reply_error(c, "ERR timeout is negative");
		return false;
	}
	if (ms > 0 && (int64_t)ms > INT64_MAX - now) {
		reply_error(c, "ERR timeout is out of range");
		return false;
	}
	*deadline_ms = ms > 0 ? now + (int64_t)ms : 0;
	return true;
}

/* ---- blocking and unblocking -------------------------------------------- */

static void state_free(struct block_state *b)
{
	for (int i = 0; i < b->argc; i++)
		free(b->argv[i].p);
	free(b->argv);
	free(b->nodes);
	free(b);
}

/* Take c out of every queue and of the blocked list; free its state. */
static void detach(struct client *c)
{
	struct block_state *b = c->bstate;

	for (int i = 0; i < b->nkeys; i++) {
		struct bnode *n = &b->nodes[i];
		struct bqueue *q;

		if (!n->ke)
			continue;
		q = n->ke->val;
		if (n->prev)
			n->prev->next = n->next;
		else
			q->head = n->next;
		if (n->next)
			n->next->prev = n->prev;
		else
			q->tail = n->prev;
		if (!q->head) {
			free(q);
			strmap_del(&blocked, n->ke);
		}
	}
	if (b->bprev)
		b->bprev->bstate->bnext = b->bnext;
	else
		blocked_clients = b->bnext;
	if (b->bnext)
		b->bnext->bstate->bprev = b->bprev;
	nblocked--;
	state_free(b);
	c->bstate = NULL;
	c->flags &= ~(unsigned)CF_BLOCKED;
}

void blocking_forget(struct client *c)
{
	if (c->bstate)
		detach(c);
}

void unblock_client(struct client *c)
{
	if (!c->bstate)
		return;
	detach(c);
	client_unblocked(c);
}

/* Queue c (whose bstate is set) on key k of its database. False when out
 * of memory. */
static bool enqueue(struct client *c, struct bnode *n, const struct kv_arg *k)
{
	char small[256], *dk = NULL;
	size_t dn;
	struct strmap_ent *ke = NULL;
	struct bqueue *q;

	if ((dk = dbkey_make(small, sizeof small, c->db, k->p, k->len, &dn))) {
		ke = strmap_add(&blocked, dk, dn);
		if (dk != small)
			free(dk);
	}
	if (!ke)
		return false;
	if (!(q = ke->val)) {
		if (!(q = calloc(1, sizeof *q))) {
			strmap_del(&blocked, ke);
			return false;
		}
		ke->val = q;
	}
	n->c = c;
	n->ke = ke;
	n->next = NULL;
	n->prev = q->tail;
	if (q->tail)
		q->tail->next = n;
	else
		q->head = n;
	q->tail = n;
	return true;
}

/* Copy c's arguments into b. False when out of memory. */
static bool save_args(struct block_state *b, const struct client *c)
{
	if (!(b->argv = calloc((size_t)c->argc, sizeof *b->argv)))
		return false;
	b->argc = c->argc;
	for (int i = 0; i < c->argc; i++) {
		if (!(b->argv[i].p = malloc(c->argv[i].len + 1)))
			return false;
		memcpy(b->argv[i].p, c->argv[i].p, c->argv[i].len + 1);
		b->argv[i].len = c->argv[i].len;
	}
	return true;
}

bool block_client(struct client *c, int first, int last, int step, enum kv_type type,
		  int64_t timeout_ms, void (*on_timeout)(struct client *c))
{
	struct block_state *b;

	if (c == serving && c->bstate) {
		reblocked = true;	/* stays where it waits */
		return true;
	}
	if (!(b = calloc(1, sizeof *b)))
		goto oom;
	b->cmd = (struct kv_cmd *)cmd_lookup(c->argv[0].p, c->argv[0].len);
	b->type = type;
	b->deadline_ms = timeout_ms;
	b->on_timeout = on_timeout;
	if (!save_args(b, c) ||
	    !(b->nodes = calloc(last >= first ? (size_t)((last - first) / step + 1) : 1,
				sizeof *b->nodes))) {
		state_free(b);
		goto oom;
	}
	c->bstate = b;
	c->flags |= CF_BLOCKED;
	if (timeout_ms && (!next_deadline || timeout_ms < next_deadline))
		next_deadline = timeout_ms;
	b->bnext = blocked_clients;
	if (blocked_clients)
		blocked_clients->bstate->bprev = c;
	blocked_clients = c;
	nblocked++;
	for (int i = first; i <= last; i += step) {
		bool dup = false;

		for (int k = first; k < i; k += step)
			dup |= c->argv[k].len == c->argv[i].len &&
			       memcmp(c->argv[k].p, c->argv[i].p, c->argv[i].len) == 0;
		if (dup)
			continue;	/* BLPOP k k 0 waits once on k */
		if (!enqueue(c, &b->nodes[b->nkeys++], &c->argv[i])) {
			detach(c);
			goto oom;
		}
	}
	return true;
oom:
	reply_error(c, "ERR out of memory blocking the client");
	return false;
}

/* ---- wake-ups ---------------------------------------------------------------- */

/* Put dbkey key on the ready list if clients block on it and it is not
 * there yet. */
static void mark_ready(const char *key, size_t klen)
{
	struct strmap_ent *ke;
	struct ready_key *r;

	if (!strmap_find(&blocked, key, klen) || strmap_find(&ready_set, key, klen))
		return;
	if (!(ke = strmap_add(&ready_set, key, klen)))
		return;
	if (!(r = malloc(sizeof *r + klen))) {
		strmap_del(&ready_set, ke);
		return;
	}
	r->next = NULL;
	r->klen = klen;
	memcpy(r->key, key, klen);
	*ready_tail = r;
	ready_tail = &r->next;
}

void blocking_key_changed(const char *key, size_t klen)
{
	char small[256], *dk;
	size_t dn;

	if (!blocked.count || !(dk = dbkey_make(small, sizeof small, srv.db.cur, key, klen, &dn)))
		return;
	mark_ready(dk, dn);
	if (dk != small)
		free(dk);
}

void blocking_all_changed(void)
{
	struct strmap_ent *ke, *cur = NULL;
	size_t pos = 0;

	while ((ke = strmap_next(&blocked, &pos, &cur)))
		mark_ready(ke->key, ke->klen);
}

void blocking_db_changed(unsigned dbi)
{
	struct strmap_ent *ke, *cur = NULL;
	size_t pos = 0;

	while ((ke = strmap_next(&blocked, &pos, &cur)))
		if (dbkey_db(ke->key) == dbi)
			mark_ready(ke->key, ke->klen);
}

/* Re-run c's blocked command; true if it was served (and unblocked). */
static bool serve(struct client *c)
{
	struct block_state *b = c->bstate;
	struct kv_arg *argv = c->argv;
	int argc = c->argc;

	serving = c;
	reblocked = false;
	c->argv = b->argv;
	c->argc = b->argc;
	cmd_exec(c, b->cmd);
	c->argv = argv;
	c->argc = argc;
	serving = NULL;
	if (reblocked)
		return false;
	unblock_client(c);
	return true;
}

/* Serve the clients of dbkey dk in arrival order while its key holds the
 * type they wait for. A client whose re-run found nothing keeps its place;
 * the next one is tried. */
static void serve_key(const char *dk, size_t dn)
{
	struct bnode *n = NULL;
	bool restart = true;
	unsigned outer = srv.db.cur;

	for (;;) {
		struct strmap_ent *ke = strmap_find(&blocked, dk, dn);
		struct kv_ent *e;

		srv.db.cur = dbkey_db(dk);
		e = ke ? kv_find(&srv.db, dk + DBKEY_PFX, dn - DBKEY_PFX) : NULL;
		srv.db.cur = outer;
		if (!e)
			return;
		n = restart ? ((struct bqueue *)ke->val)->head : n->next;
		while (n && n->c->bstate->type != e->type)
			n = n->next;
		if (!n)
			return;
		restart = serve(n->c);	/* served: n is freed, start over */
	}
}

void blocking_serve_ready(void)
{
	while (ready_head) {
		struct ready_key *r = ready_head;
		struct strmap_ent *ke;

		ready_head = r->next;
		if (!ready_head)
			ready_tail = &ready_head;
		if ((ke = strmap_find(&ready_set, r->key, r->klen)))
			strmap_del(&ready_set, ke);
		serve_key(r->key, r->klen);
		free(r);
	}
}

int64_t blocking_timeouts(void)
{
	int64_t now = srv_unix_ms(), next = -1;
	struct client *c = blocked_clients;

	if (!next_deadline)
		return -1;
	if (now < next_deadline)
		return next_deadline - now;	/* nobody is due: no scan */
	while (c) {
		struct client *after = c->bstate->bnext;
		int64_t d = c->bstate->deadline_ms;

		if (d && d <= now) {
			c->bstate->on_timeout(c);
			unblock_client(c);
		} else if (d && (next < 0 || d - now < next)) {
			next = d - now;
		}
		c = after;
	}
	next_deadline = next >= 0 ? now + next : 0;
	return next;
}

void client_unblock_cmd(struct client *c)
{
	long long id;
	bool error = false;
	struct client *o;

	if (c->argc > 4) {
		reply_syntax(c);
		return;
	}
	if (!resp_str2ll(c->argv[2].p, c->argv[2].len, &id)) {
		reply_not_int(c);
		return;
	}
	if (c->argc == 4) {
		if (arg_is(c, 3, "error")) {
			error = true;
		} else if (!arg_is(c, 3, "timeout")) {
			reply_error(c, "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
			return;
		}
	}
	for (o = srv.clients; o; o = o->next)
		if (o->id == (uint64_t)id)
			break;
	if (!o || !o->bstate || (o->flags & CF_CLOSE_ASAP)) {
		reply_int(c, 0);
		return;
	}
	if (error)
		reply_error(o, "UNBLOCKED client unblocked via CLIENT UNBLOCK");
	else
		o->bstate->on_timeout(o);
	unblock_client(o);
	reply_int(c, 1);
}
