/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cmd_introspect.c — introspection as Redis 7.0 does it: the CLIENT
 * subcommands with state (REPLY, NO-EVICT, LIST/INFO with filters, KILL
 * with filters, UNBLOCK), MONITOR, SLOWLOG, LATENCY, MEMORY and the DEBUG
 * subcommands that make sense for cowkv.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define XXH_STATIC_LINKING_ONLY	/* XXH3_state_t on the stack */
#include <xxhash.h>

#include "server.h"
#include "acl.h"     /* CLIENT KILL USER */

bool active_expire_enabled = true;
static long long quicklist_packed_threshold = 1LL << 30;

/* ---- growing strings ------------------------------------------------------- */

struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void sb_add(struct sbuf *b, const void *p, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->cap ? b->cap * 2 : 256) + n;
		char *q = realloc(b->p, cap);

		if (!q) {
			b->oom = true;
			return;
		}
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_fmt(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_fmt(struct sbuf *b, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n > 0)
		sb_add(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* Redis's sdscatrepr: a quoted string with escapes. */
static void sb_repr(struct sbuf *b, const char *p, size_t n)
{
	sb_add(b, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)p[i];

		switch (ch) {
		case '\\': sb_add(b, "\\\\", 2); break;
		case '"': sb_add(b, "\\\"", 2); break;
		case '\n': sb_add(b, "\\n", 2); break;
		case '\r': sb_add(b, "\\r", 2); break;
		case '\t': sb_add(b, "\\t", 2); break;
		case '\a': sb_add(b, "\\a", 2); break;
		case '\b': sb_add(b, "\\b", 2); break;
		default:
			if (isprint(ch))
				sb_add(b, &p[i], 1);
			else
				sb_fmt(b, "\\x%02x", ch);
		}
	}
	sb_add(b, "\"", 1);
}

/* ---- CLIENT LIST / INFO ---------------------------------------------------------- */

enum ctype { CT_NORMAL, CT_REPLICA, CT_MASTER, CT_PUBSUB, CT_BAD };

static enum ctype ctype_by_name(const char *s)
{
	if (!strcasecmp(s, "normal"))
		return CT_NORMAL;
	if (!strcasecmp(s, "slave") || !strcasecmp(s, "replica"))
		return CT_REPLICA;
	if (!strcasecmp(s, "master"))
		return CT_MASTER;
	if (!strcasecmp(s, "pubsub"))
		return CT_PUBSUB;
	return CT_BAD;
}

static enum ctype ctype_of(const struct client *c)
{
	return (c->flags & CF_PUBSUB) ? CT_PUBSUB : CT_NORMAL;
}

/* The local address of c's socket ("ip:port"). */
static void local_addr(const struct client *c, char *buf, size_t len)
{
	struct sockaddr_storage sa;
	socklen_t sl = sizeof sa;
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (getsockname(c->fd, (struct sockaddr *)&sa, &sl) == 0) {
		if (sa.ss_family == AF_INET) {
			const struct sockaddr_in *in = (const void *)&sa;

			inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
			port = ntohs(in->sin_port);
		} else if (sa.ss_family == AF_INET6) {
			const struct sockaddr_in6 *in6 = (const void *)&sa;

			inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
			port = ntohs(in6->sin6_port);
		} else if (sa.ss_family == AF_UNIX) {	/* Redis's "path:0" */
			snprintf(buf, len, "%.*s:0", (int)len - 3, srv.unixsocket);
			return;
		}
	}
	snprintf(buf, len, "%s:%u", host, port);
}

/* Is c connected through the unix socket? */
static bool is_unix(const struct client *c)
{
	struct sockaddr_storage sa;
	socklen_t sl = sizeof sa;

	return getsockname(c->fd, (struct sockaddr *)&sa, &sl) == 0 && sa.ss_family == AF_UNIX;
}

/* Redis's client flags letters. */
static void flags_string(const struct client *c, char *f)
{
	char *p = f;

	if (c->flags & CF_MONITOR)
		*p++ = 'O';
	if (c->flags & CF_PUBSUB)
		*p++ = 'P';
	if (c->flags & CF_MULTI)
		*p++ = 'x';
	if (c->flags & CF_BLOCKED)
		*p++ = 'b';
	if (c->flags & CF_DIRTY_CAS)
		*p++ = 'd';
	if (c->flags & CF_CLOSE_AFTER_REPLY)
		*p++ = 'c';
	if (c->flags & CF_CLOSE_ASAP)
		*p++ = 'A';
	if (is_unix(c))
		*p++ = 'U';
	if (c->flags & CF_NO_EVICT)
		*p++ = 'e';
	if (p == f)
		*p++ = 'N';
	*p = '\0';
}

static size_t obuf_count(const struct client *c)
{
	size_t n = 0;

	for (const struct obuf *b = c->ohead; b; b = b->next)
		n++;
	return n;
}

/* One line of CLIENT LIST for o, newline included. */
static void client_info(struct sbuf *b, const struct client *o)
{
	char flags[16], laddr[80], cmd[80];
	size_t sub, psub, ssub, argv_mem = 0, multi = multi_mem(o);

	local_addr(o, laddr, sizeof laddr);
	flags_string(o, flags);
	pubsub_client_counts(o, &sub, &psub, &ssub);
	for (int i = 0; i < o->argc; i++)
		argv_mem += o->argv[i].len;
	if (!o->lastcmd)
		snprintf(cmd, sizeof cmd, "NULL");
	else if (o->lastsub[0])
		snprintf(cmd, sizeof cmd, "%s|%s", o->lastcmd, o->lastsub);
	else
		snprintf(cmd, sizeof cmd, "%s", o->lastcmd);
	sb_fmt(b, "id=%llu addr=%s laddr=%s fd=%d name=%s age=%lld idle=%lld flags=%s db=%u "
	       "sub=%zu psub=%zu ssub=%zu multi=%d qbuf=%zu qbuf-free=%zu argv-mem=%zu "
	       "multi-mem=%zu rbs=%zu rbp=%zu obl=0 oll=%zu omem=%zu tot-mem=%zu events=%s "
	       "cmd=%s user=%s redir=-1 resp=%d\n",
	       (unsigned long long)o->id, o->addr, laddr, o->fd, o->name ? o->name : "",
	       (long long)(srv.now_ms - o->ctime_ms) / 1000,
	       (long long)(srv.now_ms - o->last_ms) / 1000, flags, o->db, sub, psub, ssub,
	       multi_count(o), o->qlen, o->qcap - o->qlen, argv_mem, multi, o->qcap, o->qlen,
	       obuf_count(o), o->obytes,
	       o->qcap + o->obytes + multi + argv_mem + sizeof *o,
	       o->obytes ? "rw" : "r", cmd, o->user ? o->user : "default",
	       o->resp == 3 ? 3 : 2);
}

/* o's CLIENT LIST line without its newline, cut to buf[len] (see server.h). */
void client_info_line(const struct client *o, char *buf, size_t len)
{
	struct sbuf b = { 0 };
	size_t n;

	client_info(&b, o);
	n = b.len ? b.len - 1 : 0;	/* without its newline */
	if (n >= len)
		n = len - 1;
	if (b.p)
		memcpy(buf, b.p, n);
	buf[n] = '\0';
	free(b.p);
}

static void reply_sbuf(struct client *c, struct sbuf *b)
{
	if (b->oom)
		reply_error(c, "ERR out of memory");
	else
		reply_verbatim(c, b->p ? b->p : "", b->len, "txt");	/* RESP3: verbatim */
	free(b->p);
}

static struct client *client_by_id(uint64_t id)
{
	for (struct client *o = srv.clients; o; o = o->next)
		if (o->id == id && !(o->flags & CF_CLOSE_ASAP))
			return o;
	return NULL;
}

/* CLIENT LIST [TYPE type] | [ID id ...] */
static void client_list(struct client *c)
{
	struct sbuf b = { 0 };
	enum ctype type = CT_BAD;

	if (c->argc == 4 && arg_is(c, 2, "type")) {
		if ((type = ctype_by_name(c->argv[3].p)) == CT_BAD) {
			reply_errorf(c, "ERR Unknown client type '%s'", c->argv[3].p);
			return;
		}
	} else if (c->argc > 3 && arg_is(c, 2, "id")) {
		for (int j = 3; j < c->argc; j++) {
			long long id;
			struct client *o;

			if (!resp_str2ll(c->argv[j].p, c->argv[j].len, &id)) {
				free(b.p);
				reply_error(c, "ERR Invalid client ID");
				return;
			}
			if ((o = client_by_id((uint64_t)id)))
				client_info(&b, o);
		}
		reply_sbuf(c, &b);
		return;
	} else if (c->argc != 2) {
		reply_syntax(c);
		return;
	}
	/* Oldest first, as Redis lists them. */
	{
		struct client *last = srv.clients;

		while (last && last->next)
			last = last->next;
		for (struct client *o = last; o; o = o->prev)
			if (!(o->flags & CF_CLOSE_ASAP) && (type == CT_BAD || ctype_of(o) == type))
				client_info(&b, o);
	}
	reply_sbuf(c, &b);
}

/* ---- CLIENT KILL ------------------------------------------------------------------ */

struct kill_filter {
	long long id;
	enum ctype type;
	const char *addr, *laddr, *user;
	long long maxage;
	bool skipme;
};

static bool kill_matches(const struct kill_filter *f, const struct client *o)
{
	char laddr[80];

	if (f->id && o->id != (uint64_t)f->id)
		return false;
	if (f->type != CT_BAD && ctype_of(o) != f->type)
		return false;
	if (f->addr && strcmp(o->addr, f->addr) != 0)
		return false;
	if (f->laddr) {
		local_addr(o, laddr, sizeof laddr);
		if (strcmp(laddr, f->laddr) != 0)
			return false;
	}
	if (f->user && strcmp(o->user ? o->user : "default", f->user) != 0)
		return false;
	if (f->maxage && (srv.now_ms - o->ctime_ms) / 1000 < f->maxage)
		return false;
	return true;
}

/* Parse the new form's filters; replies and returns false on error. */
static bool kill_parse(struct client *c, struct kill_filter *f)
{
	for (int i = 2; i < c->argc; i += 2) {
		bool more = i + 1 < c->argc;

		if (!more) {
			reply_syntax(c);
			return false;
		}
		if (arg_is(c, i, "id")) {
			if (!resp_str2ll(c->argv[i + 1].p, c->argv[i + 1].len, &f->id) || f->id <= 0) {
				reply_error(c, "ERR client-id should be greater than 0");
				return false;
			}
		} else if (arg_is(c, i, "type")) {
			if ((f->type = ctype_by_name(c->argv[i + 1].p)) == CT_BAD) {
				reply_errorf(c, "ERR Unknown client type '%s'", c->argv[i + 1].p);
				return false;
			}
		} else if (arg_is(c, i, "addr")) {
			f->addr = c->argv[i + 1].p;
		} else if (arg_is(c, i, "laddr")) {
			f->laddr = c->argv[i + 1].p;
		} else if (arg_is(c, i, "user")) {
			if (!acl_user_exists(c->argv[i + 1].p, c->argv[i + 1].len)) {
				reply_errorf(c, "ERR No such user '%s'", c->argv[i + 1].p);
				return false;
			}
			f->user = c->argv[i + 1].p;
		} else if (arg_is(c, i, "skipme")) {
			if (arg_is(c, i + 1, "yes")) {
				f->skipme = true;
			} else if (arg_is(c, i + 1, "no")) {
				f->skipme = false;
			} else {
				reply_syntax(c);
				return false;
			}
		} else if (arg_is(c, i, "maxage")) {
			if (!resp_str2ll(c->argv[i + 1].p, c->argv[i + 1].len, &f->maxage) ||
			    f->maxage <= 0) {
				reply_syntax(c);
				return false;
			}
		} else {
			reply_syntax(c);
			return false;
		}
	}
	return true;
}

/* CLIENT KILL ip:port | CLIENT KILL <filter> <value> ... */
static void client_kill(struct client *c)
{
	struct kill_filter f = { .type = CT_BAD, .skipme = true };
	bool old = c->argc == 3;
	long long killed = 0;

	if (old) {
		f.addr = c->argv[2].p;
		f.skipme = false;
	} else if (!kill_parse(c, &f)) {
		return;
	}
	for (struct client *o = srv.clients; o; o = o->next) {
		if ((o->flags & CF_CLOSE_ASAP) || !kill_matches(&f, o) || (o == c && f.skipme))
			continue;
		if (o == c)
			c->flags |= CF_CLOSE_AFTER_REPLY;
		else
			client_close_async(o);
		killed++;
	}
	if (!old)
		reply_int(c, killed);
	else if (killed)
		reply_ok(c);
	else
		reply_error(c, "ERR No such client");
}

/* ---- the other CLIENT subcommands ------------------------------------------------ */

static void client_reply(struct client *c)
{
	if (arg_is(c, 2, "on")) {
		c->flags &= ~(unsigned)(CF_REPLY_OFF | CF_REPLY_SKIP | CF_REPLY_SKIP_NEXT);
		reply_ok(c);
	} else if (arg_is(c, 2, "off")) {
		c->flags |= CF_REPLY_OFF;
	} else if (arg_is(c, 2, "skip")) {
		if (!(c->flags & CF_REPLY_OFF))
			c->flags |= CF_REPLY_SKIP_NEXT;
	} else {
		reply_syntax(c);
	}
}

static void client_no_evict(struct client *c)
{
	if (arg_is(c, 2, "on")) {
		c->flags |= CF_NO_EVICT;
		reply_ok(c);
	} else if (arg_is(c, 2, "off")) {
		c->flags &= ~(unsigned)CF_NO_EVICT;
		reply_ok(c);
	} else {
		reply_syntax(c);
	}
}

/* ---- CLIENT PAUSE / UNPAUSE ---------------------------------------------------- */

static int64_t pause_end_ms;    /* unix ms; 0 = not paused */
static bool pause_all;          /* ALL (else WRITE) */

/* A held command: its client and a copy of its arguments, in arrival order. */
static struct held {
	struct client *c;
	int argc;
	struct kv_arg *argv;
	struct held *next;
} *held_head, **held_tail = &held_head;

static void held_free(struct held *h)
{
	for (int i = 0; i < h->argc; i++)
		free(h->argv[i].p);
	free(h->argv);
	free(h);
}

/* Does the pause hold cmd? WRITE mode holds what may change the dataset or
 * reach other clients: writes, PFCOUNT, PUBLISH, EXEC of a queue with a
 * write. */
static bool paused_cmd(const struct client *c, const struct kv_cmd *cmd)
{
	if (!pause_end_ms)
		return false;
	if (pause_all)
		return true;
	if (c->flags & CF_MULTI)
		return cmd->fn == cmd_exec_ && multi_writes(c);
	return (cmd->flags & (CMD_WRITE | CMD_MAYWRITE)) || cmd->fn == cmd_publish ||
	       cmd->fn == cmd_spublish;
}

bool pause_holds(struct client *c, const struct kv_cmd *cmd)
{
	struct held *h;

	if (!paused_cmd(c, cmd) || !(h = calloc(1, sizeof *h)))
		return false;
	if (!(h->argv = calloc((size_t)c->argc, sizeof *h->argv))) {
		free(h);
		return false;
	}
	h->c = c;
	for (int i = 0; i < c->argc; i++, h->argc++) {
		if (!(h->argv[i].p = malloc(c->argv[i].len + 1))) {
			held_free(h);
			return false;
		}
		memcpy(h->argv[i].p, c->argv[i].p, c->argv[i].len + 1);
		h->argv[i].len = c->argv[i].len;
	}
	*held_tail = h;
	held_tail = &h->next;
	c->flags |= CF_PAUSED;
	return true;
}

/* The pause is over: run the held commands in order. */
static void unpause(void)
{
	pause_end_ms = 0;
	while (held_head) {
		struct held *h = held_head;
		struct client *c = h->c;
		struct kv_arg *argv = c->argv;
		int argc = c->argc;

		held_head = h->next;
		if (!held_head)
			held_tail = &held_head;
		c->flags &= ~(unsigned)CF_PAUSED;
		c->argv = h->argv;
		c->argc = h->argc;
		cmd_call(c);
		c->argv = argv;
		c->argc = argc;
		held_free(h);
		client_unblocked(c);	/* the input it sent meanwhile */
	}
}

int64_t pause_cron(void)
{
	int64_t now;

	if (!pause_end_ms)
		return -1;
	now = srv_unix_ms();
	if (now < pause_end_ms)
		return pause_end_ms - now;
	unpause();
	return -1;
}

/* Forget c's held command (c is being freed). */
static void pause_forget(struct client *c)
{
	for (struct held **link = &held_head; *link; ) {
		struct held *h = *link;

		if (h->c != c) {
			link = &h->next;
			continue;
		}
		*link = h->next;
		held_free(h);
	}
	held_tail = &held_head;
	while (*held_tail)
		held_tail = &(*held_tail)->next;
}

/* CLIENT PAUSE timeout [WRITE|ALL] */
static void client_pause(struct client *c)
{
	long long ms;
	bool all = true;

	if (!resp_str2ll(c->argv[2].p, c->argv[2].len, &ms)) {
		reply_error(c, "ERR timeout is not an integer or out of range");
		return;
	}
	if (ms < 0) {
		reply_error(c, "ERR timeout is negative");
		return;
	}
	if (c->argc == 4) {
		if (arg_is(c, 3, "write"))
			all = false;
		else if (!arg_is(c, 3, "all")) {
			reply_error(c, "ERR CLIENT PAUSE mode must be WRITE or ALL");
			return;
		}
	} else if (c->argc > 4) {
		reply_syntax(c);
		return;
	}
	/* A pause extends the one running, as in Redis; ALL wins over WRITE. */
	if (!pause_end_ms || srv_unix_ms() + ms > pause_end_ms)
		pause_end_ms = srv_unix_ms() + ms;
	pause_all = all || (pause_all && pause_end_ms);
	if (!ms)
		pause_end_ms = srv_unix_ms();	/* over at the next turn */
	reply_ok(c);
}

/* Arity of CLIENT sub as Redis gives it; replies the error when wrong. */
static bool sub_arity_ok(struct client *c, int arity, const char *sub)
{
	char name[48];

	if ((arity > 0 && c->argc == arity) || (arity < 0 && c->argc >= -arity))
		return true;
	snprintf(name, sizeof name, "client|%s", sub);
	reply_arity(c, name);
	return false;
}

bool client_sub_introspect(struct client *c)
{
	if (arg_is(c, 1, "list")) {
		client_list(c);
	} else if (arg_is(c, 1, "info")) {
		struct sbuf b = { 0 };

		if (!sub_arity_ok(c, 2, "info"))
			return true;
		client_info(&b, c);
		reply_sbuf(c, &b);
	} else if (arg_is(c, 1, "kill")) {
		if (sub_arity_ok(c, -3, "kill"))
			client_kill(c);
	} else if (arg_is(c, 1, "reply")) {
		if (sub_arity_ok(c, 3, "reply"))
			client_reply(c);
	} else if (arg_is(c, 1, "no-evict")) {
		if (sub_arity_ok(c, 3, "no-evict"))
			client_no_evict(c);
	} else if (arg_is(c, 1, "unblock")) {
		if (sub_arity_ok(c, -3, "unblock"))
			client_unblock_cmd(c);
	} else if (arg_is(c, 1, "pause")) {
		if (sub_arity_ok(c, -3, "pause"))
			client_pause(c);
	} else if (arg_is(c, 1, "unpause")) {
		if (sub_arity_ok(c, 2, "unpause")) {
			if (pause_end_ms)
				pause_end_ms = srv_unix_ms();	/* the held run next turn */
			reply_ok(c);
		}
	} else if (arg_is(c, 1, "getredir")) {
		if (sub_arity_ok(c, 2, "getredir"))
			reply_int(c, -1);
	} else {
		return false;
	}
	return true;
}

uint64_t clients_buffer_bytes(uint64_t *qbufs, uint64_t *obufs)
{
	uint64_t q = 0, o = 0;

	for (struct client *c = srv.clients; c; c = c->next) {
		q += c->qcap;
		o += c->obytes;
	}
	if (qbufs)
		*qbufs = q;
	if (obufs)
		*obufs = o;
	return q + o;
}

/* ---- MONITOR ---------------------------------------------------------------------- */

#define MONITORS_MAX 64
static struct client *monitors[MONITORS_MAX];
static int nmonitors;

void cmd_monitor(struct client *c)
{
	if (c->flags & CF_MONITOR)
		return;
	if (nmonitors == MONITORS_MAX) {
		reply_error(c, "ERR too many MONITOR clients");
		return;
	}
	monitors[nmonitors++] = c;
	c->flags |= CF_MONITOR;
	reply_ok(c);
}

void introspect_client_gone(struct client *c)
{
	pause_forget(c);
	for (int i = 0; i < nmonitors; i++)
		if (monitors[i] == c) {
			monitors[i] = monitors[--nmonitors];
			break;
		}
}

static void feed_monitors(struct client *c)
{
	struct sbuf b = { 0 };
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	sb_fmt(&b, "+%lld.%06ld [%u %s]", (long long)ts.tv_sec, ts.tv_nsec / 1000, c->db, c->addr);
	for (int i = 0; i < c->argc; i++) {
		sb_add(&b, " ", 1);
		sb_repr(&b, c->argv[i].p, c->argv[i].len);
	}
	sb_add(&b, "\r\n", 2);
	if (!b.oom)
		for (int i = 0; i < nmonitors; i++)
			if (monitors[i] != c && !(monitors[i]->flags & CF_CLOSE_ASAP)) {
				reply_raw(monitors[i], b.p, b.len);
				client_check_output(monitors[i]);
			}
	free(b.p);
}

/* ---- SLOWLOG ----------------------------------------------------------------------- */

#define SLOWLOG_ARGS 32
#define SLOWLOG_ARGLEN 128

struct slow_entry {
	long long id;
	int64_t time;
	int64_t usec;
	int argc;
	char **argv;
	size_t *argl;
	char addr[64];
	char name[64];
};

long slowlog_slower_than = 10000;
long slowlog_max_len = 128;
static struct slow_entry *slowlog;     /* ring, newest at head */
static long slow_n, slow_cap, slow_head;
static long long slow_next_id;

static void slow_free(struct slow_entry *e)
{
	for (int i = 0; i < e->argc; i++)
		free(e->argv[i]);
	free(e->argv);
	free(e->argl);
	e->argc = 0;
	e->argv = NULL;
	e->argl = NULL;
}

static void slowlog_reset(void)
{
	for (long i = 0; i < slow_n; i++)
		slow_free(&slowlog[(slow_head + i) % slow_cap]);
	slow_n = 0;
}

/* Store one argument of an entry (cut as Redis cuts). */
static bool slow_arg(struct slow_entry *e, int i, const struct client *c, int argc)
{
	char tmp[96];
	const char *p = c->argv[i].p;
	size_t n = c->argv[i].len;

	if (argc != c->argc && i == argc - 1) {
		snprintf(tmp, sizeof tmp, "... (%d more arguments)", c->argc - argc + 1);
		p = tmp;
		n = strlen(tmp);
	} else if (n > SLOWLOG_ARGLEN) {
		snprintf(tmp, sizeof tmp, "... (%zu more bytes)", n - SLOWLOG_ARGLEN);
		if (!(e->argv[i] = malloc(SLOWLOG_ARGLEN + strlen(tmp))))
			return false;
		memcpy(e->argv[i], p, SLOWLOG_ARGLEN);
		memcpy(e->argv[i] + SLOWLOG_ARGLEN, tmp, strlen(tmp));
		e->argl[i] = SLOWLOG_ARGLEN + strlen(tmp);
		return true;
	}
	if (!(e->argv[i] = malloc(n ? n : 1)))
		return false;
	memcpy(e->argv[i], p, n);
	e->argl[i] = n;
	return true;
}

static void slowlog_add(struct client *c, int64_t usec)
{
	struct slow_entry *e;
	int argc = c->argc > SLOWLOG_ARGS ? SLOWLOG_ARGS : c->argc;

	if (slowlog_max_len <= 0)
		return;
	if (slow_cap != slowlog_max_len) {
		struct slow_entry *ring = calloc((size_t)slowlog_max_len, sizeof *ring);
		long keep = slow_n < slowlog_max_len ? slow_n : slowlog_max_len;

		if (!ring)
			return;
		for (long i = 0; i < slow_n; i++) {
			struct slow_entry *o = &slowlog[(slow_head + i) % slow_cap];

			if (i < keep)
				ring[i] = *o;
			else
				slow_free(o);
		}
		free(slowlog);
		slowlog = ring;
		slow_cap = slowlog_max_len;
		slow_head = 0;
		slow_n = keep;
	}
	if (slow_n == slow_cap) {
		slow_free(&slowlog[(slow_head + slow_n - 1) % slow_cap]);
		slow_n--;
	}
	slow_head = (slow_head + slow_cap - 1) % slow_cap;
	e = &slowlog[slow_head];
	slow_n++;
	memset(e, 0, sizeof *e);
	e->id = slow_next_id++;
	e->time = srv_unix_ms() / 1000;
	e->usec = usec;
	e->argv = calloc((size_t)argc, sizeof *e->argv);
	e->argl = calloc((size_t)argc, sizeof *e->argl);
	if (e->argv && e->argl) {
		for (int i = 0; i < argc; i++) {
			if (!slow_arg(e, i, c, argc))
				break;
			e->argc = i + 1;
		}
	}
	snprintf(e->addr, sizeof e->addr, "%s", c->addr);
	snprintf(e->name, sizeof e->name, "%s", c->name ? c->name : "");
}

static const char *slowlog_help[] = {
	"SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"GET [<count>]",
	"    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
	"    Entries are made of:",
	"    id, timestamp, time in microseconds, arguments array, client IP and port,",
	"    client name",
	"LEN",
	"    Return the length of the slowlog.",
	"RESET",
	"    Reset the slowlog.",
	"PROTOCOL <type>",
	"    Reply with a test value of the given RESP3 type.",
	"SET-DISABLE-DENY-SCRIPTS <0|1>",
	"    Let scripts call every command.",
	"HELP",
	"    Prints this help.",
};

void cmd_slowlog(struct client *c)
{
	if (arg_is(c, 1, "reset") && c->argc == 2) {
		slowlog_reset();
		reply_ok(c);
	} else if (arg_is(c, 1, "len") && c->argc == 2) {
		reply_int(c, slow_n);
	} else if (arg_is(c, 1, "get") && c->argc <= 3) {
		long long count = 10;

		if (c->argc == 3 && (!resp_str2ll(c->argv[2].p, c->argv[2].len, &count) ||
				     count < -1)) {
			reply_error(c, "ERR count should be greater than or equal to -1");
			return;
		}
		if (count == -1 || count > slow_n)
			count = slow_n;
		reply_array(c, count);
		for (long long i = 0; i < count; i++) {
			struct slow_entry *e = &slowlog[(slow_head + i) % slow_cap];

			reply_array(c, 6);
			reply_int(c, e->id);
			reply_int(c, e->time);
			reply_int(c, e->usec);
			reply_array(c, e->argc);
			for (int k = 0; k < e->argc; k++)
				reply_bulk(c, e->argv[k], e->argl[k]);
			reply_bulk_str(c, e->addr);
			reply_bulk_str(c, e->name);
		}
	} else if (arg_is(c, 1, "help") && c->argc == 2) {
		reply_array(c, sizeof slowlog_help / sizeof slowlog_help[0]);
		for (size_t i = 0; i < sizeof slowlog_help / sizeof slowlog_help[0]; i++)
			reply_status(c, slowlog_help[i]);
	} else {
		reply_subcommand(c, "SLOWLOG");
	}
}

/* ---- LATENCY (the "command" event) ------------------------------------------------ */

long latency_threshold_ms;
#define LAT_SAMPLES 160

static struct lat_event {
	const char *name;
	int64_t time[LAT_SAMPLES];
	int64_t ms[LAT_SAMPLES];
	int n, head;
	int64_t max;
} lat_events[] = { { .name = "command" }, { .name = "fast-command" } };

#define NLAT (sizeof lat_events / sizeof lat_events[0])

static void latency_add(struct lat_event *ev, int64_t ms)
{
	int64_t now = srv_unix_ms() / 1000;
	int last = (ev->head + LAT_SAMPLES - 1) % LAT_SAMPLES;

	if (ev->n && ev->time[last] == now) {
		if (ms > ev->ms[last])
			ev->ms[last] = ms;
	} else {
		ev->time[ev->head] = now;
		ev->ms[ev->head] = ms;
		ev->head = (ev->head + 1) % LAT_SAMPLES;
		if (ev->n < LAT_SAMPLES)
			ev->n++;
	}
	if (ms > ev->max)
		ev->max = ms;
}

static struct lat_event *lat_find(const struct kv_arg *a)
{
	for (size_t i = 0; i < NLAT; i++)
		if (strcasecmp(a->p, lat_events[i].name) == 0)
			return &lat_events[i];
	return NULL;
}

static const char *latency_help[] = {
	"LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"DOCTOR",
	"    Return a human readable latency analysis report.",
	"HISTORY <event>",
	"    Return time-latency samples for the <event> class.",
	"LATEST",
	"    Return the latest latency samples for all events.",
	"RESET [<event> ...]",
	"    Reset latency data of one or more <event> classes.",
	"    (default: reset all data for all event classes)",
	"HELP",
	"    Prints this help.",
};

void cmd_latency(struct client *c)
{
	if (arg_is(c, 1, "latest") && c->argc == 2) {
		long long n = 0;

		for (size_t i = 0; i < NLAT; i++)
			n += lat_events[i].n > 0;
		reply_array(c, n);
		for (size_t i = 0; i < NLAT; i++) {
			struct lat_event *ev = &lat_events[i];
			int last = (ev->head + LAT_SAMPLES - 1) % LAT_SAMPLES;

			if (!ev->n)
				continue;
			reply_array(c, 4);
			reply_bulk_str(c, ev->name);
			reply_int(c, ev->time[last]);
			reply_int(c, ev->ms[last]);
			reply_int(c, ev->max);
		}
	} else if (arg_is(c, 1, "history") && c->argc == 3) {
		struct lat_event *ev = lat_find(&c->argv[2]);
		int n = ev ? ev->n : 0;

		reply_array(c, n);
		for (int i = 0; i < n; i++) {
			int k = (ev->head + LAT_SAMPLES - n + i) % LAT_SAMPLES;

			reply_array(c, 2);
			reply_int(c, ev->time[k]);
			reply_int(c, ev->ms[k]);
		}
	} else if (arg_is(c, 1, "reset")) {
		long long n = 0;

		for (size_t i = 0; i < NLAT; i++) {
			bool named = c->argc == 2;

			for (int k = 2; k < c->argc; k++)
				named |= strcasecmp(c->argv[k].p, lat_events[i].name) == 0;
			if (named && lat_events[i].n) {
				lat_events[i].n = lat_events[i].head = 0;
				lat_events[i].max = 0;
				n++;
			}
		}
		reply_int(c, n);
	} else if (arg_is(c, 1, "doctor") && c->argc == 2) {
		struct sbuf b = { 0 };

		if (!latency_threshold_ms)
			sb_fmt(&b, "Latency monitoring is disabled in this cowkv instance. You may "
			       "use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in "
			       "order to enable it.\n");
		for (size_t i = 0; i < NLAT; i++)
			if (lat_events[i].n)
				sb_fmt(&b, "%s: %d latency spikes (max %lld ms).\n", lat_events[i].name,
				       lat_events[i].n, (long long)lat_events[i].max);
		if (!b.len)
			sb_fmt(&b, "No latency spike was observed during the lifetime of this "
			       "instance.\n");
		reply_sbuf(c, &b);
	} else if (arg_is(c, 1, "help") && c->argc == 2) {
		reply_array(c, sizeof latency_help / sizeof latency_help[0]);
		for (size_t i = 0; i < sizeof latency_help / sizeof latency_help[0]; i++)
			reply_status(c, latency_help[i]);
	} else {
		reply_subcommand(c, "LATENCY");
	}
}

void introspect_before_call(struct client *c, const struct kv_cmd *cmd)
{
	if (nmonitors && (cmd->flags & CMD_SKIPMON) && !(cmd->flags & CMD_ADMIN) &&
	    !blocking_serving(c))
		feed_monitors(c);
}

void introspect_after_call(struct client *c, const struct kv_cmd *cmd, int64_t usec)
{
	if (blocking_serving(c))
		return;		/* seen when it blocked, as in Redis */
	if (nmonitors && !(cmd->flags & (CMD_ADMIN | CMD_SKIPMON)))
		feed_monitors(c);
	if (slowlog_slower_than >= 0 && usec >= slowlog_slower_than && cmd->fn != cmd_exec_)
		slowlog_add(c, usec);
	if (latency_threshold_ms && usec / 1000 >= latency_threshold_ms)
		latency_add(&lat_events[(cmd->flags & CMD_FAST) ? 1 : 0], usec / 1000);
}

/* ---- MEMORY ------------------------------------------------------------------------- */

/* Heap bytes of a block (its usable size), 0 for offset 0. */
static uint64_t block_bytes(kv_off off)
{
	return off ? cow_heap_usable_size(srv.db.heap, off) : 0;
}

/* Bytes of a dict's tables and of up to samples entries (0 = all), scaled
 * to the whole count as Redis's MEMORY USAGE estimates. */
static uint64_t dict_bytes(struct kv_dict *d, long long samples)
{
	uint64_t sum = block_bytes(d->tab[0]) + block_bytes(d->tab[1]), seen = 0, ent = 0;

	for (int t = 0; t < 2; t++) {
		kv_off *tab = kv_ptr(&srv.db, d->tab[t]);

		for (uint64_t b = 0; tab && b < d->size[t]; b++) {
			for (kv_off o = tab[b]; o; ) {
				struct kv_ent *e = kv_ptr(&srv.db, o);

				ent += block_bytes(o) + block_bytes(e->val);
				seen++;
				o = e->next;
				if (samples && seen >= (uint64_t)samples)
					goto done;
			}
		}
	}
done:
	if (seen)
		sum += ent * d->count / seen;
	return sum;
}

/*
 * value_bytes — MEMORY USAGE of key entry e: heap bytes of the entry and of
 * every structure of its value in the space (a string's bytes; a hash's,
 * set's or sorted set's dict tables, and its member entries, skiplist nodes
 * and field values, estimated from up to samples of them, 0 = all, as
 * Redis's; a list's ring and elements, likewise sampled).
 */
static uint64_t value_bytes(struct kv_ent *e, long long samples)
{
	uint64_t sum = block_bytes(kv_offof(&srv.db, e));

	switch (e->type) {
	case KV_STRING:
		return sum + block_bytes(e->val);
	case KV_HASH:
	case KV_SET: {	/* a set is a hash's dict without value bytes */
		struct kv_dict *d = hash_dict(&srv.db, e, false);

		return sum + (d ? block_bytes(e->val) + dict_bytes(d, samples) : 0);
	}
	case KV_ZSET: {
		/* the zset, its skiplist header, and the dict: a member's entry
		 * and (its val) its skiplist node, sampled as a hash's fields */
		struct kv_zset *z = zset_of(&srv.db, e, false);

		return sum + (z ? block_bytes(e->val) + block_bytes(z->header) +
				  dict_bytes(&z->dict, samples) : 0);
	}
	case KV_LIST: {
		struct kv_list *l = list_of(&srv.db, e, false);
		uint64_t n, el = 0;

		if (!l)
			return sum;
		sum += block_bytes(e->val) + block_bytes(l->arr);
		n = samples && (uint64_t)samples < l->count ? (uint64_t)samples : l->count;
		for (uint64_t i = 0; i < n; i++) {
			struct kv_elem *x = list_at(&srv.db, e, i);

			el += block_bytes(kv_offof(&srv.db, x));
		}
		return sum + (n ? el * l->count / n : 0);
	}
	default:
		return sum + block_bytes(e->val);
	}
}

static const char *memory_help[] = {
	"MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"DOCTOR",
	"    Return memory problems reports.",
	"MALLOC-STATS",
	"    Return internal statistics report from the memory allocator.",
	"PURGE",
	"    Attempt to purge dirty pages for reclamation by the allocator.",
	"STATS",
	"    Return information about the memory usage of the server.",
	"USAGE <key> [SAMPLES <count>]",
	"    Return memory in bytes used by <key> and its value. Nested values are",
	"    sampled up to <count> times (default: 5, 0 means sample all).",
	"HELP",
	"    Prints this help.",
};

static void memory_stats(struct client *c)
{
	struct cow_heap_stats hs = { 0 };
	uint64_t qb, ob, clients = clients_buffer_bytes(&qb, &ob);
	uint64_t keys = kv_count_all(&srv.db), total;

	cow_heap_stats_get(srv.db.heap, &hs);
	total = hs.used_bytes + clients;
	reply_array(c, 2 * 12);
	reply_bulk_str(c, "peak.allocated");
	reply_int(c, (long long)total);
	reply_bulk_str(c, "total.allocated");
	reply_int(c, (long long)total);
	reply_bulk_str(c, "startup.allocated");
	reply_int(c, 0);
	reply_bulk_str(c, "replication.backlog");
	reply_int(c, 0);
	reply_bulk_str(c, "clients.slaves");
	reply_int(c, 0);
	reply_bulk_str(c, "clients.normal");
	reply_int(c, (long long)clients);
	reply_bulk_str(c, "overhead.total");
	reply_int(c, (long long)clients);
	reply_bulk_str(c, "keys.count");
	reply_int(c, (long long)keys);
	reply_bulk_str(c, "keys.bytes-per-key");
	reply_int(c, keys ? (long long)(hs.used_bytes / keys) : 0);
	reply_bulk_str(c, "dataset.bytes");
	reply_int(c, (long long)hs.used_bytes);
	reply_bulk_str(c, "dataset.percentage");
	{
		char pct[32];

		snprintf(pct, sizeof pct, "%.17g",
			 total ? 100.0 * (double)hs.used_bytes / (double)total : 0.0);
		reply_bulk_str(c, pct);
	}
	reply_bulk_str(c, "allocator.free");
	reply_int(c, (long long)hs.free_bytes);
}

void cmd_memory(struct client *c)
{
	if (arg_is(c, 1, "usage") && c->argc >= 3) {
		long long samples = 5;
		struct kv_ent *e;

		if (c->argc == 5 && arg_is(c, 3, "samples")) {
			if (!arg_ll(c, 4, &samples))
				return;
			if (samples < 0) {
				reply_syntax(c);
				return;
			}
		} else if (c->argc != 3) {
			reply_syntax(c);
			return;
		}
		e = kv_find(&srv.db, c->argv[2].p, c->argv[2].len);
		if (!e)
			reply_nil(c);
		else
			reply_int(c, (long long)value_bytes(e, samples));
	} else if (arg_is(c, 1, "stats") && c->argc == 2) {
		memory_stats(c);
	} else if (arg_is(c, 1, "doctor") && c->argc == 2) {
		struct cow_heap_stats hs = { 0 };
		char msg[512];

		cow_heap_stats_get(srv.db.heap, &hs);
		snprintf(msg, sizeof msg, "cowkv memory report: the dataset uses %llu bytes of "
			 "a %zu-byte space (%llu bytes free in the heap, largest free block "
			 "%llu); client buffers %llu bytes. No problem detected.\n",
			 (unsigned long long)hs.used_bytes, srv.db.size,
			 (unsigned long long)hs.free_bytes, (unsigned long long)hs.largest_free,
			 (unsigned long long)clients_buffer_bytes(NULL, NULL));
		reply_bulk_str(c, msg);
	} else if (arg_is(c, 1, "malloc-stats") && c->argc == 2) {
		reply_bulk_str(c, "Stats not supported for the current allocator");
	} else if (arg_is(c, 1, "purge") && c->argc == 2) {
		reply_ok(c);	/* libc malloc: nothing to purge (Redis: jemalloc's) */
	} else if (arg_is(c, 1, "help") && c->argc == 2) {
		reply_array(c, sizeof memory_help / sizeof memory_help[0]);
		for (size_t i = 0; i < sizeof memory_help / sizeof memory_help[0]; i++)
			reply_status(c, memory_help[i]);
	} else {
		reply_subcommand(c, "MEMORY");
	}
}

/* ---- DEBUG ------------------------------------------------------------------------ */

/* DEBUG RELOAD: save a checkpoint, then make the dataset that checkpoint
 * again (what Redis does with its RDB file). */
static int debug_reload(void)
{
	uint64_t id;
	cow_snap *snap;
	cow_space *s;
	struct kvdb fresh = { .gen = srv.db.gen };
	int err;

	if (!srv.store)
		return -ENOTSUP;
	kv_bgsave_wait();
	if ((err = persist_save()))
		return err;
	srv.dirty = 0;
	if ((err = cow_store_latest(srv.store, &id)))
		return err;
	if (!(snap = cow_store_load(srv.store, id)))
		return -errno;
	s = cow_space_from_snap(snap);
	cow_snap_release(snap);
	if (!s)
		return -errno;
	if ((err = kvdb_attach(&fresh, s))) {
		cow_space_destroy(s);
		return err;
	}
	keyspace_all_changed();
	kvdb_replace(&srv.db, &fresh);
	return 0;
}

static const char *debug_help[] = {
	"DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"POPULATE <count> [<prefix>] [<size>]",
	"    Add string keys <prefix>:0 .. <prefix>:<count>-1 (prefix 'key') holding",
	"    'value:<n>', or <size> bytes of it; existing keys are left alone.",
	"QUICKLIST-PACKED-THRESHOLD <size>",
	"    Accepted for Redis's tests; cowkv has one list encoding.",
	"RELOAD",
	"    Save a checkpoint and load the dataset back from it (needs --dir).",
	"SET-ACTIVE-EXPIRE <0|1>",
	"    Setting it to 0 disables expiring keys in the background.",
	"SLEEP <seconds>",
	"    Stop the server for <seconds>. Decimals allowed.",
	"HTSTATS <dbid>",
	"    Sizes and entries of the keyspace's hash tables (Redis's short form).",
	"ERROR <string>",
	"    Return a Redis protocol error with <string> as message.",
	"DIGEST",
	"    A digest of the whole dataset (cowkv's own; all zeros when empty).",
	"DIGEST-VALUE <key> [<key> ...]",
	"    A digest of each key's value (cowkv's own, independent of the encoding).",
	"HELP",
	"    Prints this help.",
};

/* DEBUG HTSTATS <dbid>: Redis's short form, for the keyspace dict of
 * database dbid; cowkv keeps expiry times in a heap, not a second dict. */
static void debug_htstats(struct client *c)
{
	const struct kv_dict *d;
	char out[512];
	size_t at = 0;
	long long id;

	if (!arg_ll(c, 2, &id))
		return;
	if (!db_index_ok(id)) {
		reply_error(c, "ERR Out of range database");
		return;
	}
	d = &kv_ks_at(&srv.db, (unsigned)id)->keys;
	at += (size_t)snprintf(out + at, sizeof out - at, "[Dictionary HT]\n");
	if (d->count == 0)
		at += (size_t)snprintf(out + at, sizeof out - at,
				       "No stats available for empty dictionaries\n");
	for (int t = 0; t < 2 && d->count; t++) {
		uint64_t size, n = dict_table_entries(&srv.db, d, t, &size);

		if (!size)
			continue;
		at += (size_t)snprintf(out + at, sizeof out - at,
				       "Hash table %d stats (%s):\n table size: %llu\n"
				       " number of elements: %llu\n",
				       t, t ? "rehashing target" : "main hash table",
				       (unsigned long long)size, (unsigned long long)n);
	}
	at += (size_t)snprintf(out + at, sizeof out - at,
			       "[Expires HT]\nNo stats available for empty dictionaries\n");
	reply_bulk(c, out, at);
}

/* ---- DEBUG DIGEST-VALUE ------------------------------------------------------
 * A digest of a value that does not depend on how it is stored: the same
 * contents give the same digest, on cowkv (not Redis's SHA1 mix: only
 * comparisons on one server mean something, as the suite's COPY tests
 * make). Ordered values (strings, lists, sorted sets) are hashed as a
 * stream; the members of hashes and sets are hashed one by one and summed,
 * so their order does not count. */

/* Feed n bytes at p, preceded by their length, into st. */
static void digest_bytes(XXH3_state_t *st, const void *p, uint64_t n)
{
	XXH3_128bits_update(st, &n, sizeof n);
	if (n)
		XXH3_128bits_update(st, p, (size_t)n);
}

struct digest_sum {
	uint64_t lo, hi;
	bool with_value;        /* hash fields: their value counts too */
};

/* dict_each visitor: add the digest of member f (and of its value for a
 * hash) to the sum at arg. */
static void digest_member(struct kvdb *db, struct kv_ent *f, void *arg)
{
	struct digest_sum *sum = arg;
	XXH3_state_t st;
	XXH128_hash_t h;

	XXH3_128bits_reset(&st);
	digest_bytes(&st, f->key, f->klen);
	if (sum->with_value)
		digest_bytes(&st, ent_bytes(db, f), f->vlen);
	h = XXH3_128bits_digest(&st);
	sum->lo += h.low64;
	sum->hi += h.high64;
}

/* The 40 hex digits of e's value (zeros for no key) into out[41]. */
static void value_digest(struct kvdb *db, struct kv_ent *e, char out[41])
{
	XXH3_state_t st;
	XXH128_hash_t h;
	struct digest_sum sum = { 0, 0, e && e->type == KV_HASH };
	char num[40];

	if (!e) {
		memset(out, '0', 40);
		out[40] = '\0';
		return;
	}
	XXH3_128bits_reset(&st);
	XXH3_128bits_update(&st, &e->type, 1);
	switch (e->type) {
	case KV_STRING:
		digest_bytes(&st, ent_bytes(db, e), e->vlen);
		break;
	case KV_LIST:
		for (uint64_t i = 0; i < list_len(db, e); i++) {
			struct kv_elem *el = list_at(db, e, i);

			digest_bytes(&st, el->data, el->len);
		}
		break;
	case KV_HASH:
	case KV_SET:
		if (hash_len(db, e))
			dict_each(db, hash_dict(db, e, false), digest_member, &sum);
		XXH3_128bits_update(&st, &sum, 2 * sizeof(uint64_t));
		break;
	case KV_ZSET:
		for (struct kv_znode *n = zset_at(db, zset_of(db, e, false), 0); n;
		     n = zn_next(db, n)) {
			struct kv_ent *m = zn_ent(db, n);
			int k = snprintf(num, sizeof num, "%.17g", n->score);

			digest_bytes(&st, m->key, m->klen);
			digest_bytes(&st, num, (uint64_t)k);
		}
		break;
	}
	h = XXH3_128bits_digest(&st);
	snprintf(out, 41, "%016llx%016llx%08x", (unsigned long long)h.high64,
		 (unsigned long long)h.low64, (unsigned)(XXH64(&h, sizeof h, 0) & 0xffffffffu));
}

/* DEBUG DIGEST-VALUE key [key ...]: one digest per key, as status replies. */
static void debug_digest_value(struct client *c)
{
	char d[41];

	reply_array(c, c->argc - 2);
	for (int i = 2; i < c->argc; i++) {
		value_digest(&srv.db, lookup_write(c, i), d);
		reply_status(c, d);
	}
}

/* dict_each visitor: add the digest of key e (its name, its value's
 * digest, its expiry) to the sum at arg. */
static void digest_key(struct kvdb *db, struct kv_ent *e, void *arg)
{
	struct digest_sum *sum = arg;
	XXH3_state_t st;
	XXH128_hash_t h;
	char d[41];

	value_digest(db, e, d);
	XXH3_128bits_reset(&st);
	digest_bytes(&st, e->key, e->klen);
	digest_bytes(&st, d, 40);
	XXH3_128bits_update(&st, &e->expire, sizeof e->expire);
	h = XXH3_128bits_digest(&st);
	sum->lo += h.low64;
	sum->hi += h.high64;
}

/*
 * DEBUG DIGEST: one digest of the whole dataset, 40 hex digits, all zeros
 * when it is empty (as Redis). Keys count in any order; their names,
 * values (DIGEST-VALUE's digest), expiry times and databases do. Like
 * DIGEST-VALUE it is cowkv's own: compare digests of one server (before
 * and after a reload, say), not with Redis's.
 */
static void debug_digest(struct client *c)
{
	struct kvdb *db = &srv.db;
	XXH3_state_t st;
	XXH128_hash_t h;
	bool any = false;
	char out[41];

	XXH3_128bits_reset(&st);
	for (unsigned i = 0; i < kv_ndb(db); i++) {
		struct digest_sum sum = { 0, 0, false };

		if (!kv_ks_at(db, i)->keys.count)
			continue;
		dict_each(db, &kv_ks_at(db, i)->keys, digest_key, &sum);
		XXH3_128bits_update(&st, &i, sizeof i);
		XXH3_128bits_update(&st, &sum, 2 * sizeof(uint64_t));
		any = true;
	}
	h = XXH3_128bits_digest(&st);
	if (!any)
		memset(out, '0', 40);
	else
		snprintf(out, sizeof out, "%016llx%016llx%08x", (unsigned long long)h.high64,
			 (unsigned long long)h.low64,
			 (unsigned)(XXH64(&h, sizeof h, 0) & 0xffffffffu));
	out[40] = '\0';
	reply_status(c, out);
}

void cmd_debug(struct client *c)
{
	if (debug_script_subcommand(c))	/* PROTOCOL, SET-DISABLE-DENY-SCRIPTS */
		return;
	if (arg_is(c, 1, "sleep") && c->argc == 3) {
		char *end;
		double secs = strtod(c->argv[2].p, &end);
		struct timespec ts;

		if (*end || !isfinite(secs) || secs < 0) {
			reply_error(c, "ERR value is not a valid float");
			return;
		}
		ts.tv_sec = (time_t)secs;
		ts.tv_nsec = (long)((secs - (double)ts.tv_sec) * 1e9);
		while (nanosleep(&ts, &ts) && errno == EINTR)
			;
		reply_ok(c);
	} else if (arg_is(c, 1, "set-active-expire") && c->argc == 3) {
		long long v;

		if (!arg_ll(c, 2, &v))
			return;
		active_expire_enabled = v != 0;
		reply_ok(c);
	} else if (arg_is(c, 1, "quicklist-packed-threshold") && c->argc == 3) {
		uint64_t v;

		/* Redis's bounds; 0 restores the default */
		if (config_parse_memory(c->argv[2].p, &v) || v > (1ull << 32) - (1u << 20)) {
			reply_error(c, "ERR argument must be a memory value bigger than 1 and "
				    "smaller than 4gb");
			return;
		}
		quicklist_packed_threshold = v ? (long long)v : 1LL << 30;
		reply_ok(c);
	} else if (arg_is(c, 1, "reload")) {
		int err = debug_reload();

		if (err == -ENOTSUP)
			reply_error(c, "ERR DEBUG RELOAD needs persistence (start cowkv with --dir)");
		else if (err)
			reply_errorf(c, "ERR Error trying to reload the dataset: %s",
				     cow_strerror(err));
		else
			reply_ok(c);
	} else if (arg_is(c, 1, "htstats") && (c->argc == 3 || c->argc == 4)) {
		debug_htstats(c);
	} else if (arg_is(c, 1, "digest-value")) {
		debug_digest_value(c);
	} else if (arg_is(c, 1, "digest") && c->argc == 2) {
		debug_digest(c);
	} else if (arg_is(c, 1, "populate") && c->argc >= 3 && c->argc <= 5) {
		debug_populate(c);
	} else if (arg_is(c, 1, "help") && c->argc == 2) {
		reply_array(c, sizeof debug_help / sizeof debug_help[0]);
		for (size_t i = 0; i < sizeof debug_help / sizeof debug_help[0]; i++)
			reply_status(c, debug_help[i]);
	} else {
		reply_errorf(c, "ERR unknown subcommand '%.128s'. Try DEBUG HELP.", c->argv[1].p);
	}
}
