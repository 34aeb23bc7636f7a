/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cmd_compat.c — commands client libraries and tools send to any Redis
 * server, answered as redis-server 7.0.15 answers them when it is a
 * standalone master with no replica, no module and no cluster mode:
 *   ROLE                  master, offset 0, no replicas;
 *   WAIT n timeout        0 replicas acknowledged: at once when n <= 0 or
 *                         inside MULTI, else after timeout ms (0 = never,
 *                         as Redis; CLIENT UNBLOCK ends it);
 *   LOLWUT [VERSION v]    the version line (Redis draws art for 5 and 6);
 *   MODULE LIST|HELP      no modules; LOAD, LOADEX, UNLOAD refused with
 *                         Redis's error for enable-module-command no;
 *   CLUSTER ..., READONLY, READWRITE   "cluster support disabled";
 *   REPLICAOF NO ONE, SLAVEOF NO ONE   OK (a master already); REPLICAOF
 *                         host port is refused: cowkv cannot be a replica.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "server.h"

/* ROLE: ["master", replication offset, replicas]. */
void cmd_role(struct client *c)
{
	reply_array(c, 3);
	reply_bulk_str(c, "master");
	reply_int(c, 0);
	reply_array(c, 0);
}

/* WAIT's reply when its timeout passes or CLIENT UNBLOCK ends it: the
 * replicas that acknowledged, none. */
static void wait_timeout(struct client *c)
{
	reply_int(c, 0);
}

/*
 * Argument i as WAIT's timeout in milliseconds into a unix-ms deadline (0:
 * forever). Replies Redis's error and returns false when it is not an
 * integer, negative or too far.
 */
static bool arg_wait_timeout(struct client *c, int i, int64_t *deadline_ms)
{
	int64_t now = srv_unix_ms();
	long long ms;

	if (!resp_str2ll(c->argv[i].p, c->argv[i].len, &ms)) {
		reply_error(c, "ERR timeout is not an integer or out of range");
		return false;
	}
	if (ms < 0) {
		reply_error(c, "ERR timeout is negative");
		return false;
	}
	if (ms > INT64_MAX - now) {
		reply_error(c, "ERR timeout is out of range");
		return false;
	}
	*deadline_ms = ms ? now + ms : 0;
	return true;
}

/* WAIT numreplicas timeout: cowkv has no replicas, so 0 — at once when no
 * replica is asked for or the client may not block (MULTI), else when the
 * timeout passes, as Redis with no replica connected. */
void cmd_wait(struct client *c)
{
	long long n;
	int64_t deadline;

	if (!arg_ll(c, 1, &n) || !arg_wait_timeout(c, 2, &deadline))
		return;
	if (n <= 0 || !blocking_may_block(c))
		reply_int(c, 0);
	else
		block_client(c, 1, 0, 1, KV_STRING, deadline, wait_timeout);
}

/* LOLWUT [VERSION v] [...]: Redis 7.0's piece for versions other than 5
 * and 6, its version line; cowkv answers it for every version. */
void cmd_lolwut(struct client *c)
{
	static const char line[] = "Redis ver. " COWKV_REDIS_COMPAT "\n";
	long long v;

	if (c->argc >= 3 && arg_is(c, 1, "version") && !arg_ll(c, 2, &v))
		return;
	reply_verbatim(c, line, sizeof line - 1, "txt");
}

static const char *const module_help[] = {
	"MODULE <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"LIST",
	"    Return a list of loaded modules.",
	"LOAD <path> [<arg> ...]",
	"    Load a module library from <path>, passing to it any optional arguments.",
	"LOADEX <path> [[CONFIG NAME VALUE] [CONFIG NAME VALUE]] [ARGS ...]",
	"    Load a module library from <path>, while passing it module configurations and optional arguments.",
	"UNLOAD <name>",
	"    Unload a module.",
	"HELP",
	"    Print this help.",
};

#define MODULE_NOT_ALLOWED "ERR MODULE command not allowed. If the " \
	"enable-module-command option is set to \"local\", you can run it from a " \
	"local connection, otherwise you need to set this option in the " \
	"configuration file, and then restart the server."

/* MODULE LIST|LOAD|LOADEX|UNLOAD|HELP: cowkv loads no modules. LOAD and
 * the others answer what redis-server 7.0 answers with its default
 * enable-module-command no. */
void cmd_module(struct client *c)
{
	if (arg_is(c, 1, "list") && c->argc == 2) {
		reply_array(c, 0);
	} else if (arg_is(c, 1, "help") && c->argc == 2) {
		reply_array(c, sizeof module_help / sizeof module_help[0]);
		for (size_t i = 0; i < sizeof module_help / sizeof module_help[0]; i++)
			reply_status(c, module_help[i]);
	} else if (((arg_is(c, 1, "load") || arg_is(c, 1, "loadex")) && c->argc >= 3) ||
		   (arg_is(c, 1, "unload") && c->argc == 3)) {
		reply_error(c, MODULE_NOT_ALLOWED);
	} else if (arg_is(c, 1, "list") || arg_is(c, 1, "help") || arg_is(c, 1, "load") ||
		   arg_is(c, 1, "loadex") || arg_is(c, 1, "unload")) {
		char name[32];

		snprintf(name, sizeof name, "module|%s", c->argv[1].p);
		for (char *p = name; *p; p++)
			*p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
		reply_arity(c, name);
	} else {
		reply_subcommand(c, "MODULE");
	}
}

/* Redis 7.0's CLUSTER subcommands: each answers "cluster support disabled"
 * on a server without cluster mode; any other name is unknown. */
static const char *const cluster_subs[] = {
	"addslots", "addslotsrange", "bumpepoch", "count-failure-reports",
	"countkeysinslot", "delslots", "delslotsrange", "failover", "flushslots",
	"forget", "getkeysinslot", "help", "info", "keyslot", "links", "meet",
	"myid", "nodes", "replicas", "replicate", "reset", "saveconfig",
	"set-config-epoch", "setslot", "shards", "slaves", "slots",
};

#define CLUSTER_DISABLED "ERR This instance has cluster support disabled"

/* CLUSTER <subcommand> ...: cowkv has no cluster mode. */
void cmd_cluster(struct client *c)
{
	for (size_t i = 0; i < sizeof cluster_subs / sizeof cluster_subs[0]; i++)
		if (arg_is(c, 1, cluster_subs[i])) {
			reply_error(c, CLUSTER_DISABLED);
			return;
		}
	reply_subcommand(c, "CLUSTER");
}

/*
 * REPLICAOF (and SLAVEOF) host port | NO ONE: "NO ONE" is what this server
 * is already, a master: +OK, as Redis answers a master. Becoming a replica
 * is refused with an error that says so (the port checked first, as
 * Redis checks it): cowkv has no replication (docs/COWKV.md). Being a
 * known command matters inside MULTI: it queues, and EXEC gives its error
 * in place, where an unknown command would abort the transaction.
 */
void cmd_replicaof(struct client *c)
{
	long long port;

	if (arg_is(c, 1, "no") && arg_is(c, 2, "one")) {
		reply_ok(c);
		return;
	}
	if (!resp_str2ll(c->argv[2].p, c->argv[2].len, &port)) {
		reply_error(c, "ERR Invalid master port");
		return;
	}
	reply_error(c, "ERR cowkv cannot be a replica: REPLICAOF host port is not "
		    "supported (only REPLICAOF NO ONE)");
}

/* READONLY, READWRITE: cluster replica reads, refused without cluster mode. */
void cmd_readonly(struct client *c)
{
	reply_error(c, CLUSTER_DISABLED);
}
