/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cmd_server.c — connection and server commands: PING, ECHO, SELECT, QUIT,
 * TIME, HELLO, RESET, CLIENT, CONFIG.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"
#include "acl.h"      /* issue 15: HELLO AUTH */
#include "errstats.h" /* issue 15: CONFIG RESETSTAT */

void cmd_ping(struct client *c)
{
	if (c->argc > 2)
		reply_arity(c, "ping");
	else if (c->argc == 2)
		reply_bulk(c, c->argv[1].p, c->argv[1].len);
	else
		reply_status(c, "PONG");
}

void cmd_echo(struct client *c)
{
	reply_bulk(c, c->argv[1].p, c->argv[1].len);
}

void cmd_select(struct client *c)
{
	long long id;

	if (!arg_ll(c, 1, &id))
		return;
	if (id != 0)
		reply_error(c, "ERR DB index is out of range");
	else
		reply_ok(c);
}

void cmd_quit(struct client *c)
{
	reply_ok(c);
	c->flags |= CF_CLOSE_AFTER_REPLY;
}

void cmd_time(struct client *c)
{
	int64_t us = srv_unix_ms() * 1000 + srv_mono_us() % 1000;

	reply_array(c, 2);
	reply_bulk_ll(c, us / 1000000);
	reply_bulk_ll(c, us % 1000000);
}

void cmd_reset(struct client *c)
{
	/* ---- issue 15: back to RESP2, unauthenticated if a password is set ---- */
	c->resp = 2;
	c->authed = !acl_auth_required();
	free(c->user);
	c->user = NULL;
	reply_status(c, "RESET");
}

/* Client names: printable, no spaces (Redis's rule). */
static bool name_ok(const struct kv_arg *a)
{
	for (size_t i = 0; i < a->len; i++)
		if (a->p[i] < '!' || a->p[i] > '~')
			return false;
	return true;
}

/* Set c's name from a ("" removes it); replies and returns false on error. */
static bool set_name(struct client *c, const struct kv_arg *a)
{
	char *name = NULL;

	if (!name_ok(a)) {
		reply_error(c, "ERR Client names cannot contain spaces, newlines or special characters.");
		return false;
	}
	if (a->len && !(name = strndup(a->p, a->len))) {
		reply_error(c, "ERR out of memory");
		return false;
	}
	free(c->name);
	c->name = name;
	return true;
}

/* ---- issue 15: HELLO with RESP3 and AUTH (acl.c checks the password) ---- */
void cmd_hello(struct client *c)
{
	long long ver = 0;

	if (c->argc >= 2) {
		if (!resp_str2ll(c->argv[1].p, c->argv[1].len, &ver)) {
			reply_error(c, "ERR Protocol version is not an integer or out of range");
			return;
		}
		if (ver < 2 || ver > 3) {
			reply_error(c, "NOPROTO unsupported protocol version");
			return;
		}
	}
	for (int i = 2; i < c->argc; i++) {
		bool left1 = i + 1 < c->argc, left2 = i + 2 < c->argc;

		if (arg_is(c, i, "auth") && left2) {
			if (!acl_auth(c, &c->argv[i + 1], &c->argv[i + 2]))
				return;		/* replied the error */
			i += 2;
		} else if (arg_is(c, i, "setname") && left1) {
			if (!set_name(c, &c->argv[++i]))
				return;
		} else {
			reply_errorf(c, "ERR Syntax error in HELLO option '%s'", c->argv[i].p);
			return;
		}
	}
	if (!c->authed && acl_auth_required()) {
		reply_error(c, "NOAUTH HELLO must be called with the client already "
			    "authenticated, otherwise the HELLO <proto> AUTH <user> <pass> "
			    "option can be used to authenticate the client and select "
			    "the RESP protocol version at the same time");
		return;
	}
	if (ver)
		c->resp = (int)ver;
	reply_map_len(c, 7);
	reply_bulk_str(c, "server");
	reply_bulk_str(c, "redis");
	reply_bulk_str(c, "version");
	reply_bulk_str(c, COWKV_REDIS_COMPAT);
	reply_bulk_str(c, "proto");
	reply_int(c, c->resp == 3 ? 3 : 2);
	reply_bulk_str(c, "id");
	reply_int(c, (long long)c->id);
	reply_bulk_str(c, "mode");
	reply_bulk_str(c, "standalone");
	reply_bulk_str(c, "role");
	reply_bulk_str(c, "master");
	reply_bulk_str(c, "modules");
	reply_array(c, 0);
}

/* ---- CLIENT ------------------------------------------------------------- */

static void client_line(const struct client *c, char *buf, size_t len)
{
	snprintf(buf, len,
		 "id=%llu addr=%s laddr=127.0.0.1:%ld fd=%d name=%s age=%lld idle=%lld "
		 "flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 qbuf=%zu qbuf-free=%zu "
		 "argv-mem=0 multi-mem=0 rbs=%zu rbp=0 obl=0 oll=0 omem=%zu tot-mem=%zu "
		 "events=r cmd=%s user=%s redir=-1 resp=%d\n",
		 (unsigned long long)c->id, c->addr, srv.port, c->fd,
		 c->name ? c->name : "",
		 (long long)(srv.now_ms - c->ctime_ms) / 1000,
		 (long long)(srv.now_ms - c->last_ms) / 1000,
		 c->qlen, c->qcap - c->qlen, c->qcap, c->obytes,
		 c->qcap + c->obytes + sizeof *c, c->lastcmd ? c->lastcmd : "NULL",
		 c->user ? c->user : "default", c->resp == 3 ? 3 : 2);
}

/* CLIENT LIST: a line per client, as one bulk. */
static void client_list(struct client *c)
{
	size_t cap = 4096, len = 0;
	char *out = malloc(cap), line[1024];

	if (!out) {
		reply_error(c, "ERR out of memory");
		return;
	}
	for (struct client *o = srv.clients; o; o = o->next) {
		size_t n;

		if (o->flags & CF_CLOSE_ASAP)
			continue;
		client_line(o, line, sizeof line);
		n = strlen(line);
		if (len + n > cap) {
			char *more = realloc(out, cap * 2 + n);

			if (!more)
				break;
			out = more;
			cap = cap * 2 + n;
		}
		memcpy(out + len, line, n);
		len += n;
	}
	reply_verbatim(c, out, len, "txt");    /* issue 15: RESP3 verbatim */
	free(out);
}

/* CLIENT KILL addr, or CLIENT KILL [ID id] [ADDR addr] [SKIPME yes/no]. */
static void client_kill(struct client *c)
{
	const char *addr = NULL;
	long long id = 0, killed = 0;
	bool skipme = true, old = c->argc == 3;

	if (old) {
		addr = c->argv[2].p;
	} else {
		if (c->argc % 2 == 1) {
			reply_syntax(c);
			return;
		}
		for (int i = 2; i < c->argc; i += 2) {
			if (arg_is(c, i, "id")) {
				if (!resp_str2ll(c->argv[i + 1].p, c->argv[i + 1].len, &id) || id <= 0) {
					reply_error(c, "ERR client-id should be greater than 0");
					return;
				}
			} else if (arg_is(c, i, "addr")) {
				addr = c->argv[i + 1].p;
			} else if (arg_is(c, i, "skipme")) {
				skipme = !arg_is(c, i + 1, "no");
			} else {
				reply_syntax(c);
				return;
			}
		}
	}
	for (struct client *o = srv.clients; o; o = o->next) {
		if ((id && o->id != (uint64_t)id) || (addr && strcmp(o->addr, addr) != 0))
			continue;
		if (o == c && (skipme && !old))
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

static const char *client_help[] = {
	"CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"GETNAME", "    Return the name of the current connection.",
	"ID", "    Return the ID of the current connection.",
	"INFO", "    Return information about the current client connection.",
	"KILL <ip:port>", "    Kill connection made from <ip:port>.",
	"KILL <option> <value> [<option> <value> [...]]",
	"    Kill connections. Options are: ID <client-id>, ADDR <ip:port>, SKIPME (YES|NO).",
	"LIST", "    Return information about client connections.",
	"SETNAME <name>", "    Assign the name <name> to the current connection.",
	"HELP", "    Print this help.",
};

static const struct { const char *name; int arity; } client_subs[] = {
	{ "id", 2 }, { "getname", 2 }, { "setname", 3 }, { "info", 2 }, { "list", -2 },
	{ "kill", -3 }, { "help", 2 }, { "setinfo", 4 }, { "no-evict", 3 }, { "reply", 3 },
};

/* Check a subcommand's arity; replies and returns false when wrong. */
static bool sub_arity(struct client *c, const char *cmd, int arity)
{
	char name[64];

	if ((arity > 0 && c->argc == arity) || (arity < 0 && c->argc >= -arity))
		return true;
	snprintf(name, sizeof name, "%s|%s", cmd, c->argv[1].p);
	for (char *p = name; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	reply_arity(c, name);
	return false;
}

void cmd_client(struct client *c)
{
	char line[1024];
	size_t i;

	for (i = 0; i < sizeof client_subs / sizeof client_subs[0]; i++)
		if (arg_is(c, 1, client_subs[i].name))
			break;
	if (i == sizeof client_subs / sizeof client_subs[0]) {
		reply_subcommand(c, "CLIENT");
		return;
	}
	if (!sub_arity(c, "client", client_subs[i].arity))
		return;
	if (arg_is(c, 1, "id")) {
		reply_int(c, (long long)c->id);
	} else if (arg_is(c, 1, "getname")) {
		if (c->name)
			reply_bulk_str(c, c->name);
		else
			reply_nil(c);
	} else if (arg_is(c, 1, "setname")) {
		if (set_name(c, &c->argv[2]))
			reply_ok(c);
	} else if (arg_is(c, 1, "info")) {
		client_line(c, line, sizeof line);
		reply_verbatim(c, line, strlen(line), "txt");   /* issue 15 */
	} else if (arg_is(c, 1, "list")) {
		client_list(c);
	} else if (arg_is(c, 1, "kill")) {
		client_kill(c);
	} else if (arg_is(c, 1, "help")) {
		reply_array(c, sizeof client_help / sizeof client_help[0]);
		for (i = 0; i < sizeof client_help / sizeof client_help[0]; i++)
			reply_status(c, client_help[i]);
	} else {
		reply_ok(c);	/* SETINFO, NO-EVICT, REPLY ON: accepted, no effect */
	}
}

/* ---- CONFIG ------------------------------------------------------------- */

static const char *config_help[] = {
	"CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"GET <pattern>", "    Return parameters matching the glob-like <pattern> and their values.",
	"SET <directive> <value>", "    Set the configuration <directive> to <value>.",
	"RESETSTAT", "    Reset statistics reported by the INFO command.",
	"REWRITE", "    Rewrite the configuration file (cowkv has none).",
	"HELP", "    Print this help.",
};

/* CONFIG RESETSTAT: zero the counters INFO shows. */
static void reset_stats(void)
{
	size_t n;
	struct kv_cmd *t = cmd_table(&n);

	for (size_t i = 0; i < n; i++)
		t[i].calls = t[i].usec = 0;
	srv.conns_total = srv.conns_rejected = srv.cmds_total = 0;
	srv.net_in = srv.net_out = srv.hits = srv.misses = 0;
	srv.obuf_disconnects = srv.qbuf_disconnects = 0;
	srv.db.expired = 0;
}

void cmd_config(struct client *c)
{
	if (arg_is(c, 1, "get")) {
		if (sub_arity(c, "config", -3))
			config_get(c);
	} else if (arg_is(c, 1, "set")) {
		if (sub_arity(c, "config", -4))
			config_set(c);
	} else if (arg_is(c, 1, "resetstat")) {
		if (sub_arity(c, "config", 2)) {
			reset_stats();
			errstats_reset();       /* issue 15 */
			reply_ok(c);
		}
	} else if (arg_is(c, 1, "rewrite")) {
		if (sub_arity(c, "config", 2))
			reply_error(c, "ERR The server is running without a config file");
	} else if (arg_is(c, 1, "help")) {
		if (!sub_arity(c, "config", 2))
			return;
		reply_array(c, sizeof config_help / sizeof config_help[0]);
		for (size_t i = 0; i < sizeof config_help / sizeof config_help[0]; i++)
			reply_status(c, config_help[i]);
	} else {
		reply_subcommand(c, "CONFIG");
	}
}
