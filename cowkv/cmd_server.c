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
	if (c->argc > 2) {
		reply_arity(c, "ping");
	} else if (c->flags & CF_PUBSUB) {
		/* RESP2 subscribed mode: a pong message */
		reply_array(c, 2);
		reply_bulk_str(c, "pong");
		if (c->argc == 2)
			reply_bulk(c, c->argv[1].p, c->argv[1].len);
		else
			reply_bulk(c, "", 0);
	} else if (c->argc == 2)
		reply_bulk(c, c->argv[1].p, c->argv[1].len);
	else
		reply_status(c, "PONG");
}

void cmd_echo(struct client *c)
{
	reply_bulk(c, c->argv[1].p, c->argv[1].len);
}

/* SELECT n: the client's database from now on (a script's SELECT changes
 * only the script's, script.c). */
void cmd_select(struct client *c)
{
	unsigned dbi;

	if (!arg_db(c, 1, &dbi))
		return;
	c->db = dbi;
	srv.db.cur = dbi;
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

/* RESET: the connection's state back to a new one's (issue 13 part B:
 * MULTI, WATCH, blocking, subscriptions, CLIENT REPLY, MONITOR, name). */
void cmd_reset(struct client *c)
{
	/* ---- issue 15: back to RESP2, unauthenticated if a password is set ---- */
	c->resp = 2;
	c->authed = !acl_auth_required();
	free(c->user);
	c->user = NULL;
	multi_reset_client(c);
	unblock_client(c);
	pubsub_reset_client(c);
	introspect_client_gone(c);
	c->flags &= ~(unsigned)(CF_REPLY_OFF | CF_REPLY_SKIP | CF_REPLY_SKIP_NEXT |
				CF_NO_EVICT | CF_MONITOR);
	free(c->name);
	c->name = NULL;
	c->db = 0;
	srv.db.cur = 0;
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

static const char *client_help[] = {
	"CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"GETNAME", "    Return the name of the current connection.",
	"ID", "    Return the ID of the current connection.",
	"INFO", "    Return information about the current client connection.",
	"KILL <ip:port>", "    Kill connection made from <ip:port>.",
	"KILL <option> <value> [<option> <value> [...]]",
	"    Kill connections. Options are:",
	"    * ADDR (<ip:port>|<unixsocket>:0)", "      Kill connections made from the specified address",
	"    * LADDR (<ip:port>|<unixsocket>:0)", "      Kill connections made to specified local address",
	"    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)", "      Kill connections by type.",
	"    * USER <username>", "      Kill connections authenticated by <username>.",
	"    * SKIPME (YES|NO)", "      Skip killing current connection (default: yes).",
	"    * ID <client-id>", "      Kill connections by client id.",
	"    * MAXAGE <maxage>", "      Kill connections older than the specified age.",
	"LIST [options ...]", "    Return information about client connections. Options:",
	"    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)", "      Return clients of specified type.",
	"    * ID <client-id> [<client-id> ...]", "      Return clients of specified IDs only.",
	"NO-EVICT (ON|OFF)", "    Protect current client connection from eviction.",
	"REPLY (ON|OFF|SKIP)", "    Control the replies sent to the current connection.",
	"UNBLOCK <clientid> [TIMEOUT|ERROR]",
	"    Unblock the specified blocked client.",
	"GETREDIR", "    Return the client ID we are redirecting to when tracking is enabled.",
	"SETNAME <name>", "    Assign the name <name> to the current connection.",
	"HELP", "    Print this help.",
};

static const struct { const char *name; int arity; } client_subs[] = {
	{ "id", 2 }, { "getname", 2 }, { "setname", 3 }, { "help", 2 },
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
	size_t i;

	if (client_sub_introspect(c))
		return;		/* LIST, INFO, KILL, REPLY, NO-EVICT, UNBLOCK... */
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
	} else if (arg_is(c, 1, "help")) {
		reply_array(c, sizeof client_help / sizeof client_help[0]);
		for (i = 0; i < sizeof client_help / sizeof client_help[0]; i++)
			reply_status(c, client_help[i]);
	}
}

/* ---- CONFIG ------------------------------------------------------------- */

static const char *config_help[] = {
	"CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"GET <pattern>", "    Return parameters matching the glob-like <pattern> and their values.",
	"SET <directive> <value>", "    Set the configuration <directive> to <value>.",
	"RESETSTAT", "    Reset statistics reported by the INFO command.",
	"REWRITE", "    Rewrite the configuration file.",
	"HELP", "    Print this help.",
};

/* CONFIG RESETSTAT: zero the counters INFO shows. */
static void reset_stats(void)
{
	size_t n;
	struct kv_cmd *t = cmd_table(&n);

	for (size_t i = 0; i < n; i++)
		t[i].calls = t[i].usec = 0;
	cmd_failures_reset();
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
			errstats_reset();       /* issue 15; before reset_stats */
			reset_stats();
			reply_ok(c);
		}
	} else if (arg_is(c, 1, "rewrite")) {
		char err[512];

		if (!sub_arity(c, "config", 2))
			return;
		if (config_rewrite(err, sizeof err)) {
			srv_log(LL_WARNING, "CONFIG REWRITE failed: %s", err);
			reply_errorf(c, "ERR %s", err);
		} else {
			srv_log(LL_NOTICE, "CONFIG REWRITE executed with success.");
			reply_ok(c);
		}
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
