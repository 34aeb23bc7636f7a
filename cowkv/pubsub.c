/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pubsub.c — publish/subscribe as Redis 7.0 does it in RESP2: channels,
 * patterns (glob_match) and shard channels (SSUBSCRIBE, SPUBLISH: one
 * shard here). A client with a subscription is in subscribed mode: only
 * (P|S)(UN)SUBSCRIBE, PING, QUIT and RESET run (command.c checks).
 *
 * Subscribers of a channel are a list in subscription order; patterns are
 * one list of (pattern, client) in subscription order. PUBLISH delivers to
 * the channel's subscribers, then to every matching pattern. Each client
 * keeps a map of its channels (one per kind) and a list of its patterns.
 */
#include <stdlib.h>
#include <string.h>

#include "server.h"
#include "strmap.h"

enum { K_PLAIN, K_SHARD, NKINDS };

static const struct kind {
	const char *sub, *unsub, *msg;
} kinds[NKINDS] = {
	{ "subscribe", "unsubscribe", "message" },
	{ "ssubscribe", "sunsubscribe", "smessage" },
};

/* One subscriber of a channel. */
struct csub {
	struct client *c;
	struct csub *next, *prev;
};

struct chan {
	struct csub *head, *tail;
	size_t n;
};

/* One PSUBSCRIBE of one client. */
struct pat_sub {
	struct client *c;
	struct pat_sub *next, *prev;    /* the global list */
	struct pat_sub *cnext;          /* the client's list */
	size_t len;
	char pat[];
};

static struct strmap channels[NKINDS];          /* channel -> struct chan */
static struct pat_sub *pats_head, *pats_tail;

size_t pubsub_channels(void)
{
	return channels[K_PLAIN].count;
}

/* Distinct patterns (PUBSUB NUMPAT, INFO pubsub_patterns), as Redis
 * counts them: O(subscriptions). */
size_t pubsub_patterns(void)
{
	struct strmap seen = { 0 };
	size_t n;

	for (struct pat_sub *s = pats_head; s; s = s->next)
		strmap_add(&seen, s->pat, s->len);
	n = seen.count;
	strmap_clear(&seen);
	return n;
}

/* c's channel maps (allocated on first use), or NULL. */
static struct strmap *client_maps(struct client *c, bool create)
{
	if (!c->subs && create)
		c->subs = calloc(NKINDS, sizeof *c->subs);
	return c->subs;
}

static size_t client_count(const struct client *c, int kind)
{
	return c->subs ? c->subs[kind].count : 0;
}

/* What the (un)subscribe replies count: plain channels and patterns, or
 * shard channels. */
static long long sub_count(const struct client *c, int kind)
{
	return kind == K_SHARD ? (long long)client_count(c, K_SHARD)
			       : (long long)(client_count(c, K_PLAIN) + c->npsubs);
}

static void update_mode(struct client *c)
{
	c->nsubs = client_count(c, K_PLAIN) + client_count(c, K_SHARD);
	if (c->nsubs + c->npsubs)
		c->flags |= CF_PUBSUB;
	else
		c->flags &= ~(unsigned)CF_PUBSUB;
}

/* Pushes (subscription replies, messages) reach a client even under
 * CLIENT REPLY OFF|SKIP, as in Redis. */
static void push_begin(struct client *c)
{
	c->flags |= CF_PUSHING;
}

static void push_end(struct client *c)
{
	c->flags &= ~(unsigned)CF_PUSHING;
}

static void reply_sub(struct client *c, const char *what, const char *ch, size_t n,
		      long long count)
{
	push_begin(c);
	reply_push_len(c, 3);	/* RESP3: a push message */
	reply_bulk_str(c, what);
	if (ch)
		reply_bulk(c, ch, n);
	else
		reply_nil(c);
	reply_int(c, count);
	push_end(c);
}

/* Subscribe c to ch; false if it already was (or out of memory). */
static bool subscribe(struct client *c, int kind, const char *ch, size_t n)
{
	struct strmap *mine = client_maps(c, true);
	struct strmap_ent *ce, *ge;
	struct chan *chan;
	struct csub *s;

	if (!mine || strmap_find(&mine[kind], ch, n))
		return false;
	if (!(ge = strmap_add(&channels[kind], ch, n)))
		return false;
	if (!(chan = ge->val) && !(chan = ge->val = calloc(1, sizeof *chan))) {
		strmap_del(&channels[kind], ge);
		return false;
	}
	if (!(s = calloc(1, sizeof *s)) || !(ce = strmap_add(&mine[kind], ch, n))) {
		free(s);
		if (!chan->n) {
			free(chan);
			strmap_del(&channels[kind], ge);
		}
		return false;
	}
	s->c = c;
	s->prev = chan->tail;
	if (chan->tail)
		chan->tail->next = s;
	else
		chan->head = s;
	chan->tail = s;
	chan->n++;
	ce->val = s;
	return true;
}

/* Unsubscribe c from ch; false if it was not subscribed. */
static bool unsubscribe(struct client *c, int kind, const char *ch, size_t n)
{
	struct strmap *mine = client_maps(c, false);
	struct strmap_ent *ce, *ge;
	struct csub *s;
	struct chan *chan;

	if (!mine || !(ce = strmap_find(&mine[kind], ch, n)))
		return false;
	s = ce->val;
	ge = strmap_find(&channels[kind], ch, n);
	chan = ge->val;
	if (s->prev)
		s->prev->next = s->next;
	else
		chan->head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	else
		chan->tail = s->prev;
	free(s);
	if (--chan->n == 0) {
		free(chan);
		strmap_del(&channels[kind], ge);
	}
	strmap_del(&mine[kind], ce);
	return true;
}

static void subscribe_cmd(struct client *c, int kind)
{
	for (int i = 1; i < c->argc; i++) {
		subscribe(c, kind, c->argv[i].p, c->argv[i].len);
		update_mode(c);
		reply_sub(c, kinds[kind].sub, c->argv[i].p, c->argv[i].len, sub_count(c, kind));
	}
}

/* Unsubscribe from the named channels, or all of them (none named, or
 * quiet: a client reset or freed, whose argv is its last command's). */
static void unsubscribe_cmd(struct client *c, int kind, bool quiet)
{
	if (c->argc > 1 && !quiet) {
		for (int i = 1; i < c->argc; i++) {
			unsubscribe(c, kind, c->argv[i].p, c->argv[i].len);
			update_mode(c);
			reply_sub(c, kinds[kind].unsub, c->argv[i].p, c->argv[i].len,
				  sub_count(c, kind));
		}
		return;
	}
	if (!client_count(c, kind)) {
		if (!quiet)
			reply_sub(c, kinds[kind].unsub, NULL, 0, sub_count(c, kind));
		return;
	}
	while (client_count(c, kind)) {
		struct strmap_ent *e, *cur = NULL;
		size_t pos = 0;
		char *ch;
		size_t n;

		e = strmap_next(&c->subs[kind], &pos, &cur);
		n = e->klen;
		if (!(ch = malloc(n + 1)))
			break;
		memcpy(ch, e->key, n + 1);
		unsubscribe(c, kind, ch, n);
		update_mode(c);
		if (!quiet)
			reply_sub(c, kinds[kind].unsub, ch, n, sub_count(c, kind));
		free(ch);
	}
}

void cmd_subscribe(struct client *c)
{
	subscribe_cmd(c, K_PLAIN);
}

void cmd_ssubscribe(struct client *c)
{
	subscribe_cmd(c, K_SHARD);
}

void cmd_unsubscribe(struct client *c)
{
	unsubscribe_cmd(c, K_PLAIN, false);
}

void cmd_sunsubscribe(struct client *c)
{
	unsubscribe_cmd(c, K_SHARD, false);
}

/* ---- patterns ------------------------------------------------------------ */

static struct pat_sub *pat_of(const struct client *c, const char *p, size_t n)
{
	for (struct pat_sub *s = c->psubs; s; s = s->cnext)
		if (s->len == n && memcmp(s->pat, p, n) == 0)
			return s;
	return NULL;
}

static void psubscribe(struct client *c, const char *p, size_t n)
{
	struct pat_sub *s;

	if (pat_of(c, p, n) || !(s = calloc(1, sizeof *s + n + 1)))
		return;
	s->c = c;
	s->len = n;
	memcpy(s->pat, p, n);
	s->prev = pats_tail;
	if (pats_tail)
		pats_tail->next = s;
	else
		pats_head = s;
	pats_tail = s;
	s->cnext = c->psubs;
	c->psubs = s;
	c->npsubs++;
}

static void punsubscribe(struct client *c, struct pat_sub *s)
{
	struct pat_sub **link = &c->psubs;

	while (*link != s)
		link = &(*link)->cnext;
	*link = s->cnext;
	if (s->prev)
		s->prev->next = s->next;
	else
		pats_head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	else
		pats_tail = s->prev;
	c->npsubs--;
	free(s);
}

void cmd_psubscribe(struct client *c)
{
	for (int i = 1; i < c->argc; i++) {
		psubscribe(c, c->argv[i].p, c->argv[i].len);
		update_mode(c);
		reply_sub(c, "psubscribe", c->argv[i].p, c->argv[i].len, sub_count(c, K_PLAIN));
	}
}

static void punsubscribe_cmd(struct client *c, bool quiet)
{
	if (c->argc > 1 && !quiet) {
		for (int i = 1; i < c->argc; i++) {
			struct pat_sub *s = pat_of(c, c->argv[i].p, c->argv[i].len);

			if (s)
				punsubscribe(c, s);
			update_mode(c);
			reply_sub(c, "punsubscribe", c->argv[i].p, c->argv[i].len,
				  sub_count(c, K_PLAIN));
		}
		return;
	}
	if (!c->psubs) {
		if (!quiet)
			reply_sub(c, "punsubscribe", NULL, 0, sub_count(c, K_PLAIN));
		return;
	}
	/* Redis answers in the order the client subscribed: the oldest first. */
	while (c->psubs) {
		struct pat_sub *s = c->psubs;
		char *p;
		size_t n;

		while (s->cnext)
			s = s->cnext;
		n = s->len;	/* the oldest's length, not the newest's */
		if (!(p = malloc(n + 1)))
			break;
		memcpy(p, s->pat, n);
		punsubscribe(c, s);
		update_mode(c);
		if (!quiet)
			reply_sub(c, "punsubscribe", p, n, sub_count(c, K_PLAIN));
		free(p);
	}
}

void cmd_punsubscribe(struct client *c)
{
	punsubscribe_cmd(c, false);
}

void pubsub_reset_client(struct client *c)
{
	unsubscribe_cmd(c, K_PLAIN, true);
	unsubscribe_cmd(c, K_SHARD, true);
	punsubscribe_cmd(c, true);
	if (c->subs)
		for (int k = 0; k < NKINDS; k++)
			strmap_clear(&c->subs[k]);
	free(c->subs);
	c->subs = NULL;
	update_mode(c);
}

/* ---- publishing ------------------------------------------------------------- */

static long long publish_kind(int kind, const char *ch, size_t chlen, const char *msg,
			      size_t mlen)
{
	struct strmap_ent *ge = strmap_find(&channels[kind], ch, chlen);
	long long n = 0;

	if (ge) {
		for (struct csub *s = ((struct chan *)ge->val)->head; s; s = s->next) {
			push_begin(s->c);
			reply_push_len(s->c, 3);
			reply_bulk_str(s->c, kinds[kind].msg);
			reply_bulk(s->c, ch, chlen);
			reply_bulk(s->c, msg, mlen);
			push_end(s->c);
			client_check_output(s->c);
			n++;
		}
	}
	if (kind == K_SHARD)
		return n;
	for (struct pat_sub *s = pats_head; s; s = s->next) {
		if (!glob_match(s->pat, s->len, ch, chlen, false))
			continue;
		push_begin(s->c);
		reply_push_len(s->c, 4);
		reply_bulk_str(s->c, "pmessage");
		reply_bulk(s->c, s->pat, s->len);
		reply_bulk(s->c, ch, chlen);
		reply_bulk(s->c, msg, mlen);
		push_end(s->c);
		client_check_output(s->c);
		n++;
	}
	return n;
}

long long pubsub_publish(const char *ch, size_t chlen, const char *msg, size_t mlen)
{
	return publish_kind(K_PLAIN, ch, chlen, msg, mlen);
}

void cmd_publish(struct client *c)
{
	reply_int(c, pubsub_publish(c->argv[1].p, c->argv[1].len, c->argv[2].p,
				    c->argv[2].len));
}

void cmd_spublish(struct client *c)
{
	reply_int(c, publish_kind(K_SHARD, c->argv[1].p, c->argv[1].len, c->argv[2].p,
				  c->argv[2].len));
}

bool pubsub_allowed(const struct kv_cmd *cmd)
{
	return cmd->fn == cmd_subscribe || cmd->fn == cmd_unsubscribe ||
	       cmd->fn == cmd_psubscribe || cmd->fn == cmd_punsubscribe ||
	       cmd->fn == cmd_ssubscribe || cmd->fn == cmd_sunsubscribe ||
	       cmd->fn == cmd_ping || cmd->fn == cmd_quit || cmd->fn == cmd_reset;
}

/* ---- PUBSUB -------------------------------------------------------------------- */

/* PUBSUB CHANNELS|SHARDCHANNELS [pattern] */
static void list_channels(struct client *c, int kind)
{
	struct obuf *h = reply_defer(c);
	struct strmap_ent *e, *cur = NULL;
	size_t pos = 0;
	long long n = 0;

	while ((e = strmap_next(&channels[kind], &pos, &cur))) {
		if (c->argc == 3 && !glob_match(c->argv[2].p, c->argv[2].len, e->key, e->klen,
						false))
			continue;
		reply_bulk(c, e->key, e->klen);
		n++;
	}
	reply_defer_set(c, h, n);
}

/* PUBSUB NUMSUB|SHARDNUMSUB [channel ...] */
static void numsub(struct client *c, int kind)
{
	reply_map_len(c, c->argc - 2);	/* RESP3: a map, as Redis */
	for (int i = 2; i < c->argc; i++) {
		struct strmap_ent *e = strmap_find(&channels[kind], c->argv[i].p, c->argv[i].len);

		reply_bulk(c, c->argv[i].p, c->argv[i].len);
		reply_int(c, e ? (long long)((struct chan *)e->val)->n : 0);
	}
}

static const char *pubsub_help[] = {
	"PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"CHANNELS [<pattern>]",
	"    Return the currently active channels matching a <pattern> (default: '*').",
	"NUMPAT",
	"    Return number of subscriptions to patterns.",
	"NUMSUB [<channel> ...]",
	"    Return the number of subscribers for the specified channels, excluding",
	"    pattern subscriptions(default: no channels).",
	"SHARDCHANNELS [<pattern>]",
	"    Return the currently active shard level channels matching a <pattern> (default: '*').",
	"SHARDNUMSUB [<shardchannel> ...]",
	"    Return the number of subscribers for the specified shard level channel(s)",
	"HELP",
	"    Prints this help.",
};

void cmd_pubsub(struct client *c)
{
	if (arg_is(c, 1, "channels") && c->argc <= 3) {
		list_channels(c, K_PLAIN);
	} else if (arg_is(c, 1, "shardchannels") && c->argc <= 3) {
		list_channels(c, K_SHARD);
	} else if (arg_is(c, 1, "numsub")) {
		numsub(c, K_PLAIN);
	} else if (arg_is(c, 1, "shardnumsub")) {
		numsub(c, K_SHARD);
	} else if (arg_is(c, 1, "numpat") && c->argc == 2) {
		reply_int(c, (long long)pubsub_patterns());
	} else if (arg_is(c, 1, "help") && c->argc == 2) {
		reply_array(c, sizeof pubsub_help / sizeof pubsub_help[0]);
		for (size_t i = 0; i < sizeof pubsub_help / sizeof pubsub_help[0]; i++)
			reply_status(c, pubsub_help[i]);
	} else if (arg_is(c, 1, "channels") || arg_is(c, 1, "shardchannels") ||
		   arg_is(c, 1, "numpat") || arg_is(c, 1, "help")) {
		char name[48];
		size_t n = c->argv[1].len < 30 ? c->argv[1].len : 30;

		memcpy(name, "pubsub|", 7);
		for (size_t i = 0; i < n; i++)
			name[7 + i] = (char)(c->argv[1].p[i] | 0x20);
		name[7 + n] = '\0';
		reply_arity(c, name);
	} else {
		reply_subcommand(c, "PUBSUB");
	}
}

void pubsub_client_counts(const struct client *c, size_t *sub, size_t *psub, size_t *ssub)
{
	*sub = client_count(c, K_PLAIN);
	*psub = c->npsubs;
	*ssub = client_count(c, K_SHARD);
}
