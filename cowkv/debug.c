/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * debug.c — the DEBUG subcommands issue 15 needs (merge into a fuller DEBUG
 * if another branch has one):
 *   DEBUG PROTOCOL <type>   one reply of each RESP3 type (and its RESP2
 *                           form), as Redis answers it; Redis's tests of
 *                           RESP3 and of Lua's conversions use it;
 *   DEBUG SET-DISABLE-DENY-SCRIPTS 0|1   let scripts call commands that
 *                           are otherwise refused in scripts (tests only).
 *   DEBUG ERROR <string>    <string> as an error reply, as it is (no "ERR "
 *                           added): clients' tests use it to see how they
 *                           map LOADING, READONLY... to exceptions.
 * Other subcommands answer an error saying cowkv lacks them.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server.h"
#include "script.h"

bool script_deny_disabled;

/*
 * debug_error — DEBUG ERROR <string>: the string as an error reply, "-"
 * and its bytes with CR and LF made spaces (an error is one line), as
 * redis-server 7.0 answers it. Not counted in INFO errorstats (Redis does
 * not count it either: it writes the reply as raw protocol).
 */
static void debug_error(struct client *c)
{
	const struct kv_arg *a = &c->argv[2];
	char *buf = malloc(a->len + 3);

	if (!buf) {
		reply_error(c, "ERR out of memory");
		return;
	}
	buf[0] = '-';
	for (size_t i = 0; i < a->len; i++)
		buf[1 + i] = (a->p[i] == '\r' || a->p[i] == '\n') ? ' ' : a->p[i];
	memcpy(buf + 1 + a->len, "\r\n", 2);
	reply_raw(c, buf, a->len + 3);
	free(buf);
}

/* DEBUG PROTOCOL name. */
static void debug_protocol(struct client *c, const char *name)
{
	static const char real[] = "Some real reply following the attribute";

	if (!strcasecmp(name, "string")) {
		reply_bulk_str(c, "Hello World");
	} else if (!strcasecmp(name, "integer")) {
		reply_int(c, 12345);
	} else if (!strcasecmp(name, "double")) {
		reply_double(c, 3.141);
	} else if (!strcasecmp(name, "bignum")) {
		reply_bignum(c, "1234567999999999999999999999999999999", 37);
	} else if (!strcasecmp(name, "null")) {
		reply_null(c);
	} else if (!strcasecmp(name, "array") || !strcasecmp(name, "set")) {
		if (!strcasecmp(name, "set"))
			reply_set_len(c, 3);
		else
			reply_array(c, 3);
		for (int j = 0; j < 3; j++)
			reply_int(c, j);
	} else if (!strcasecmp(name, "map")) {
		reply_map_len(c, 3);
		for (int j = 0; j < 3; j++) {
			reply_int(c, j);
			reply_bool(c, j == 1);
		}
	} else if (!strcasecmp(name, "attrib")) {
		if (c->resp == 3) {
			/* an attribute (RESP3 only): "|1", then key and value */
			reply_raw(c, "|1\r\n", 4);
			reply_bulk_str(c, "key-popularity");
			reply_array(c, 2);
			reply_bulk_str(c, "key:123");
			reply_int(c, 90);
		}
		reply_bulk_str(c, real);
	} else if (!strcasecmp(name, "push")) {
		if (c->resp != 3) {
			reply_error(c, "ERR RESP2 is not supported by this command");
			return;
		}
		reply_push_len(c, 2);
		reply_bulk_str(c, "server-cpu-usage");
		reply_int(c, 42);
		reply_bulk_str(c, "Some real reply following the push reply");
	} else if (!strcasecmp(name, "true")) {
		reply_bool(c, true);
	} else if (!strcasecmp(name, "false")) {
		reply_bool(c, false);
	} else if (!strcasecmp(name, "verbatim")) {
		reply_verbatim(c, "This is a verbatim\nstring", 25, "txt");
	} else {
		reply_error(c, "ERR Wrong protocol type name. Please use one of the following: "
			    "string|integer|double|bignum|null|array|set|map|attrib|push|"
			    "verbatim|true|false");
	}
}

/*
 * debug_script_subcommand — DEBUG PROTOCOL <type>, DEBUG
 * SET-DISABLE-DENY-SCRIPTS <0|1> (issue 15) and DEBUG ERROR <string>, called by cmd_debug
 * (cmd_introspect.c). Returns true when c's subcommand was one of them
 * (answered), false otherwise.
 */
bool debug_script_subcommand(struct client *c)
{
	if (arg_is(c, 1, "protocol") && c->argc == 3) {
		debug_protocol(c, c->argv[2].p);
		return true;
	}
	if (arg_is(c, 1, "error") && c->argc == 3) {
		debug_error(c);
		return true;
	}
	if (arg_is(c, 1, "set-disable-deny-scripts") && c->argc == 3) {
		long long v;

		if (arg_ll(c, 2, &v)) {
			script_deny_disabled = v != 0;
			reply_ok(c);
		}
		return true;
	}
	return false;
}
