// SPDX-License-Identifier: BSD-2-Clause
/*
 * cmd_bzset.c — the blocking pops of sorted sets: BZPOPMIN, BZPOPMAX,
 * BZMPOP. Each tries its keys in order; when none holds a sorted set it
 * blocks on all of them (blocking.c) and runs again when a write makes one
 * ready. The pops themselves are part A's (zset_pop_reply, cmd_zset.c).
 */
#include <stdlib.h>
#include <string.h>

#include "server.h"
#include "types.h"

static void timeout_nil(struct client *c)
{
	reply_nil_array(c);
}

/* BZPOPMIN|BZPOPMAX key [key ...] timeout */
static void bzpop_generic(struct client *c, bool max)
{
	int64_t deadline;

	if (!arg_timeout(c, c->argc - 1, &deadline))
		return;
	for (int i = 1; i < c->argc - 1; i++) {
		struct kv_ent *e = lookup_write(c, i);

		if (!e)
			continue;
		if (!check_type(c, e, KV_ZSET))
			return;
		zset_pop_reply(c, e, max, 1, ZPOP_KEYED);	/* its keys are declared */
		return;
	}
	if (!blocking_may_block(c))
		reply_nil_array(c);
	else
		block_client(c, 1, c->argc - 2, 1, KV_ZSET, deadline, timeout_nil);
}

void cmd_bzpopmin(struct client *c)
{
	bzpop_generic(c, false);
}

void cmd_bzpopmax(struct client *c)
{
	bzpop_generic(c, true);
}

/* BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count] */
void cmd_bzmpop(struct client *c)
{
	long long numkeys, count = 1;
	int64_t deadline;
	int i, where;
	bool max;

	if (!arg_timeout(c, 1, &deadline) || !parse_numkeys(c, 2, &numkeys, true))
		return;
	where = 3 + (int)numkeys;
	if (where >= c->argc || !(arg_is(c, where, "min") || arg_is(c, where, "max"))) {
		reply_syntax(c);
		return;
	}
	max = arg_is(c, where, "max");
	for (i = where + 1; i < c->argc; i += 2) {
		if (arg_is(c, i, "count") && i + 1 < c->argc && i == where + 1) {
			if (!resp_str2ll(c->argv[i + 1].p, c->argv[i + 1].len, &count) ||
			    count <= 0) {
				reply_error(c, "ERR count should be greater than 0");
				return;
			}
		} else {
			reply_syntax(c);
			return;
		}
	}
	for (int k = 3; k < where; k++) {
		struct kv_ent *e = lookup_write(c, k);

		if (!check_type(c, e, KV_ZSET))
			return;
		if (e) {
			zset_pop_reply(c, e, max, count, ZPOP_MPOP);
			keyspace_changed(c->argv[k].p, c->argv[k].len);	/* movable keys */
			return;
		}
	}
	if (!blocking_may_block(c))
		reply_nil_array(c);
	else
		block_client(c, 3, where - 1, 1, KV_ZSET, deadline, timeout_nil);
}
