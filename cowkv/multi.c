/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * multi.c — transactions as Redis 7.0 runs them: MULTI queues the commands
 * (each checked when queued: unknown, arity, OOM refuse it and EXEC then
 * answers EXECABORT), EXEC runs the queue as one step of the event loop, so
 * no other client's command comes between; DISCARD drops it. WATCH makes the
 * next EXEC fail (a nil array) when a watched key changed in between: the
 * key-modified hook (keyspace_changed, server.h) flags the watchers, and
 * EXEC also fails when a key that was live at WATCH time has expired since.
 *
 * State lives in ordinary memory: a map from (database, key) (a dbkey,
 * server.h) to its watchers, and per client its queue and the list of its
 * watches. A WATCH is of a key in the client's database at WATCH time.
 */
#include <stdlib.h>
#include <string.h>

#include "server.h"
#include "strmap.h"

/* One command waiting in a MULTI queue: its own copy of the arguments. */
struct queued {
	struct kv_cmd *cmd;
	int argc;
	struct kv_arg *argv;
};

struct multi_state {
	struct queued *q;
	int n, cap;
	unsigned flags;         /* union of the queued commands' CMD_ flags */
};

/* One (client, key) watch: on the client's list and on the key's. */
struct watch_key {
	struct client *c;
	struct watch_key *cnext;        /* the client's next watch */
	struct watch_key *knext, *kprev; /* the key's other watchers */
	struct strmap_ent *ke;          /* the key in watched (val: first watcher) */
	bool expired;                   /* the key was logically expired at WATCH */
};

static struct strmap watched;   /* dbkey -> struct watch_key * (first watcher) */

/* Raw presence of key in database dbi (no lazy expiry): the entry or NULL. */
static struct kv_ent *key_entry_in(unsigned dbi, const char *key, size_t klen)
{
	struct kvdb *db = &srv.db;

	return dict_find(db, &kv_ks_at(db, dbi)->keys, key, klen, kv_hash(db, key, klen), NULL);
}

/* key_entry_in() for the dbkey of a watched entry. */
static struct kv_ent *watched_entry(const struct strmap_ent *ke)
{
	return key_entry_in(dbkey_db(ke->key), ke->key + DBKEY_PFX, ke->klen - DBKEY_PFX);
}

/* The watched entry of key in database dbi, or NULL. */
static struct strmap_ent *watched_find(unsigned dbi, const char *key, size_t klen)
{
	char small[256], *k;
	size_t n;
	struct strmap_ent *ke;

	if (!watched.count || !(k = dbkey_make(small, sizeof small, dbi, key, klen, &n)))
		return NULL;
	ke = strmap_find(&watched, k, n);
	if (k != small)
		free(k);
	return ke;
}

/* ---- WATCH bookkeeping -------------------------------------------------- */

/* Does c watch key in its database? */
static bool watching(const struct client *c, const char *key, size_t klen)
{
	for (const struct watch_key *w = c->watched; w; w = w->cnext)
		if (w->ke->klen == klen + DBKEY_PFX && dbkey_db(w->ke->key) == c->db &&
		    memcmp(w->ke->key + DBKEY_PFX, key, klen) == 0)
			return true;
	return false;
}

/* Watch key of c's database for c. False when out of memory. */
static bool watch_add(struct client *c, const char *key, size_t klen)
{
	char small[256], *k;
	size_t n;
	struct strmap_ent *ke;
	struct watch_key *w;
	struct kv_ent *e;

	if (!(k = dbkey_make(small, sizeof small, c->db, key, klen, &n)))
		return false;
	ke = strmap_add(&watched, k, n);
	if (k != small)
		free(k);
	if (!ke)
		return false;
	if (!(w = calloc(1, sizeof *w))) {
		if (!ke->val)
			strmap_del(&watched, ke);
		return false;
	}
	e = key_entry_in(c->db, key, klen);
	w->c = c;
	w->ke = ke;
	w->expired = e && kv_expired(&srv.db, e);
	w->knext = ke->val;
	if (w->knext)
		w->knext->kprev = w;
	ke->val = w;
	w->cnext = c->watched;
	c->watched = w;
	return true;
}

/* Forget every watch of c. */
static void unwatch_all(struct client *c)
{
	while (c->watched) {
		struct watch_key *w = c->watched;

		c->watched = w->cnext;
		if (w->kprev)
			w->kprev->knext = w->knext;
		else
			w->ke->val = w->knext;
		if (w->knext)
			w->knext->kprev = w->kprev;
		if (!w->ke->val)
			strmap_del(&watched, w->ke);
		free(w);
	}
}

/* Watchers of ke changed: flag them. gone: the key does not exist after
 * the change (a key already expired at WATCH time that is now deleted is
 * no logical change, as in Redis). */
static void touch_watchers(struct strmap_ent *ke, bool gone)
{
	for (struct watch_key *w = ke->val; w; w = w->knext) {
		if (w->expired) {
			if (gone) {
				w->expired = false;
				continue;
			}
		}
		w->c->flags |= CF_DIRTY_CAS;
	}
}

void multi_touch_key(const char *key, size_t klen)
{
	struct strmap_ent *ke = watched_find(srv.db.cur, key, klen);

	if (ke)
		touch_watchers(ke, key_entry_in(srv.db.cur, key, klen) == NULL);
}

void multi_touch_all(void)
{
	struct strmap_ent *ke, *cur = NULL;
	size_t pos = 0;

	while ((ke = strmap_next(&watched, &pos, &cur)))
		if (watched_entry(ke))
			touch_watchers(ke, true);
}

void multi_touch_db(unsigned dbi, int with)
{
	struct strmap_ent *ke, *cur = NULL;
	size_t pos = 0;

	while ((ke = strmap_next(&watched, &pos, &cur))) {
		const char *key = ke->key + DBKEY_PFX;
		size_t klen = ke->klen - DBKEY_PFX;
		struct kv_ent *now, *after;

		if (dbkey_db(ke->key) != dbi)
			continue;
		now = key_entry_in(dbi, key, klen);
		after = with >= 0 ? key_entry_in((unsigned)with, key, klen) : NULL;
		if (!now && !after)
			continue;
		for (struct watch_key *w = ke->val; w; w = w->knext) {
			if (w->expired) {
				if (!after) {
					w->expired = false;	/* expired, now gone: no change */
					continue;
				}
				if (kv_expired(&srv.db, after))
					continue;		/* expired, stays expired */
			} else if (!now && kv_expired(&srv.db, after)) {
				w->expired = true;		/* none, becomes an expired one */
				continue;
			}
			w->c->flags |= CF_DIRTY_CAS;
		}
	}
}

/* The expiry hook (db.c): an expired key of database db->cur is being
 * deleted. */
static void on_expire(struct kvdb *db, const struct kv_ent *e)
{
	struct strmap_ent *ke = watched_find(db->cur, e->key, e->klen);

	if (ke)
		touch_watchers(ke, true);
	notify_event(NOTIFY_EXPIRED, "expired", e->key, e->klen);
}

__attribute__((constructor)) static void multi_init(void)
{
	kv_expire_hook = on_expire;
}

/* A key c watches, live at WATCH time, has expired since (not deleted yet). */
static bool watched_expired(const struct client *c)
{
	for (const struct watch_key *w = c->watched; w; w = w->cnext) {
		struct kv_ent *e;

		if (w->expired)
			continue;
		e = watched_entry(w->ke);
		if (e && kv_expired(&srv.db, e))
			return true;
	}
	return false;
}

/* ---- the queue ------------------------------------------------------------ */

static void queue_free(struct multi_state *m)
{
	for (int i = 0; i < m->n; i++) {
		for (int k = 0; k < m->q[i].argc; k++)
			free(m->q[i].argv[k].p);
		free(m->q[i].argv);
	}
	free(m->q);
	free(m);
}

void multi_discard(struct client *c)
{
	if (c->mstate)
		queue_free(c->mstate);
	c->mstate = NULL;
	c->flags &= ~(unsigned)(CF_MULTI | CF_DIRTY_CAS | CF_DIRTY_EXEC);
	unwatch_all(c);
}

void multi_reset_client(struct client *c)
{
	multi_discard(c);
}

bool multi_queues(const struct client *c, const struct kv_cmd *cmd)
{
	return (c->flags & CF_MULTI) && cmd->fn != cmd_exec_ && cmd->fn != cmd_discard &&
	       cmd->fn != cmd_multi && cmd->fn != cmd_watch && cmd->fn != cmd_quit &&
	       cmd->fn != cmd_reset;
}

void multi_flag_error(struct client *c)
{
	c->flags |= CF_DIRTY_EXEC;
}

bool multi_writes(const struct client *c)
{
	return c->mstate && (c->mstate->flags & CMD_WRITE);
}

bool multi_denyoom(const struct client *c)
{
	return c->mstate && (c->mstate->flags & CMD_DENYOOM);
}

/* Copy c's arguments (they live in its query buffer). NULL when out of
 * memory. */
static struct kv_arg *args_copy(const struct client *c)
{
	struct kv_arg *a = calloc((size_t)c->argc, sizeof *a);

	if (!a)
		return NULL;
	for (int i = 0; i < c->argc; i++) {
		a[i].p = malloc(c->argv[i].len + 1);
		if (!a[i].p) {
			while (i--)
				free(a[i].p);
			free(a);
			return NULL;
		}
		memcpy(a[i].p, c->argv[i].p, c->argv[i].len + 1);
		a[i].len = c->argv[i].len;
	}
	return a;
}

void multi_queue(struct client *c, const struct kv_cmd *cmd)
{
	struct multi_state *m = c->mstate;
	struct kv_arg *a;

	if (m->n == m->cap) {
		int cap = m->cap ? m->cap * 2 : 8;
		struct queued *q = realloc(m->q, (size_t)cap * sizeof *q);

		if (!q)
			goto oom;
		m->q = q;
		m->cap = cap;
	}
	if (!(a = args_copy(c)))
		goto oom;
	m->q[m->n].cmd = (struct kv_cmd *)cmd;
	m->q[m->n].argc = c->argc;
	m->q[m->n].argv = a;
	m->n++;
	m->flags |= cmd->flags;
	reply_status(c, "QUEUED");
	return;
oom:
	reply_error(c, "ERR out of memory queueing the command");
	multi_flag_error(c);
}

size_t multi_mem(const struct client *c)
{
	size_t n = 0;

	if (!c->mstate)
		return 0;
	for (int i = 0; i < c->mstate->n; i++)
		for (int k = 0; k < c->mstate->q[i].argc; k++)
			n += c->mstate->q[i].argv[k].len + sizeof(struct kv_arg);
	return n;
}

/* ---- the commands ------------------------------------------------------- */

void cmd_multi(struct client *c)
{
	if (c->flags & CF_MULTI) {
		reply_error(c, "ERR MULTI calls can not be nested");
		return;
	}
	if (!(c->mstate = calloc(1, sizeof *c->mstate))) {
		reply_error(c, "ERR out of memory");
		return;
	}
	c->flags |= CF_MULTI;
	reply_ok(c);
}

void cmd_discard(struct client *c)
{
	if (!(c->flags & CF_MULTI)) {
		reply_error(c, "ERR DISCARD without MULTI");
		return;
	}
	multi_discard(c);
	reply_ok(c);
}

void cmd_exec_(struct client *c)
{
	struct multi_state *m = c->mstate;
	struct kv_arg *argv = c->argv;
	int argc = c->argc;

	if (!(c->flags & CF_MULTI)) {
		reply_error(c, "ERR EXEC without MULTI");
		return;
	}
	if (c->flags & CF_DIRTY_EXEC) {
		reply_error(c, "EXECABORT Transaction discarded because of previous errors.");
		multi_discard(c);
		return;
	}
	if ((c->flags & CF_DIRTY_CAS) || watched_expired(c)) {
		reply_nil_array(c);
		multi_discard(c);
		return;
	}
	/* Leave MULTI before running the queue (the commands run, not queue)
	 * but keep the queue until it ran. */
	c->mstate = NULL;
	c->flags &= ~(unsigned)(CF_MULTI | CF_DIRTY_CAS);
	unwatch_all(c);
	c->flags |= CF_IN_EXEC;
	reply_array(c, m->n);
	for (int i = 0; i < m->n; i++) {
		c->argv = m->q[i].argv;
		c->argc = m->q[i].argc;
		cmd_exec(c, m->q[i].cmd);
	}
	c->flags &= ~(unsigned)CF_IN_EXEC;
	c->argv = argv;
	c->argc = argc;
	queue_free(m);
}

void cmd_watch(struct client *c)
{
	if (c->flags & CF_MULTI) {
		reply_error(c, "ERR WATCH inside MULTI is not allowed");
		return;
	}
	for (int i = 1; i < c->argc; i++) {
		if (watching(c, c->argv[i].p, c->argv[i].len))
			continue;
		if (!watch_add(c, c->argv[i].p, c->argv[i].len)) {
			reply_error(c, "ERR out of memory");
			return;
		}
	}
	reply_ok(c);
}

void cmd_unwatch(struct client *c)
{
	unwatch_all(c);
	c->flags &= ~(unsigned)CF_DIRTY_CAS;
	reply_ok(c);
}

int multi_count(const struct client *c)
{
	return c->mstate ? c->mstate->n : -1;
}

size_t multi_watched_keys(void)
{
	return watched.count;
}
