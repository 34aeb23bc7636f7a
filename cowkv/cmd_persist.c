/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cmd_persist.c — SAVE, BGSAVE, LASTSAVE, SHUTDOWN, and what Redis cannot
 * do: SNAPSHOT (freeze the whole dataset, get an id) and ROLLBACK id (return
 * the whole dataset to it, in time proportional to what changed since).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

/* May a save start now? Replies why not. */
static bool save_allowed(struct client *c)
{
	if (!srv.store) {
		reply_error(c, "ERR persistence is off: cowkv was started without --dir");
		return false;
	}
	if (kv_bgsave_running()) {
		reply_error(c, "ERR Background save already in progress");
		return false;
	}
	return true;
}

void cmd_save(struct client *c)
{
	int err;

	if (!save_allowed(c))
		return;
	if ((err = persist_save()))
		reply_errorf(c, "ERR save failed: %s", persist_strerror(err));
	else
		reply_ok(c);
}

void cmd_bgsave(struct client *c)
{
	int err;

	if (c->argc > 2 || (c->argc == 2 && !arg_is(c, 1, "schedule"))) {
		reply_syntax(c);
		return;
	}
	if (!save_allowed(c))
		return;
	if ((err = kv_bgsave_start()))
		reply_errorf(c, "ERR background save failed: %s", persist_strerror(err));
	else
		reply_status(c, "Background saving started");
}

void cmd_lastsave(struct client *c)
{
	reply_int(c, srv.lastsave);
}

/*
 * Make the server ready to exit: wait for a background save, then save if
 * asked to. 0, or -errno when the save failed (the server keeps running
 * unless force).
 */
static int prepare_shutdown(bool save, bool force)
{
	int err = 0;

	srv_log(LL_WARNING, "User requested shutdown...");
	kv_bgsave_wait();
	if (save) {
		srv_log(LL_NOTICE, "Saving the final checkpoint before exiting.");
		err = srv.store ? persist_save() : -ENOTSUP;
		if (err && !force) {
			srv_log(LL_WARNING, "Error trying to save the DB, can't exit.");
			return err;
		}
	}
	srv_log(LL_WARNING, "cowkv is now ready to exit, bye bye...");
	srv.shutdown_ready = true;
	srv.shutdown_asap = true;
	return 0;
}

/* For SIGTERM/SIGINT: save when save points are configured. */
int srv_prepare_shutdown(void)
{
	return prepare_shutdown(srv.store && srv.nsave > 0, false);
}

void cmd_shutdown(struct client *c)
{
	bool save = srv.store && srv.nsave > 0, nosave = false, yes = false, force = false;

	for (int i = 1; i < c->argc; i++) {
		if (arg_is(c, i, "nosave"))
			nosave = true;
		else if (arg_is(c, i, "save"))
			yes = true;
		else if (arg_is(c, i, "force"))
			force = true;
		else if (arg_is(c, i, "now"))
			continue;
		else if (arg_is(c, i, "abort")) {
			reply_error(c, "ERR No shutdown in progress.");
			return;
		} else {
			reply_syntax(c);
			return;
		}
	}
	if (nosave && yes) {
		reply_syntax(c);
		return;
	}
	if (nosave)
		save = false;
	if (yes)
		save = true;
	if (prepare_shutdown(save, force))
		reply_error(c, "ERR Errors trying to SHUTDOWN. Check logs.");
	/* On success no reply: the connection closes as the server exits. */
}

/* ---- SNAPSHOT and ROLLBACK ------------------------------------------------ */

static struct kv_snapshot *snap_find(uint64_t id)
{
	for (int i = 0; i < srv.nsnaps; i++)
		if (srv.snaps[i].id == id)
			return &srv.snaps[i];
	return NULL;
}

/* Release snapshot s and remove it from the table. */
static void snap_drop(struct kv_snapshot *s)
{
	cow_snap_release(s->snap);
	*s = srv.snaps[--srv.nsnaps];
}

void snapshots_release_all(void)
{
	while (srv.nsnaps)
		snap_drop(&srv.snaps[0]);
}

/* SNAPSHOT: freeze the dataset, keep the snapshot, reply its id. */
static void snapshot_take(struct client *c)
{
	struct kv_snapshot *s;
	cow_snap *snap;

	if (srv.nsnaps >= srv.max_snapshots) {
		reply_errorf(c, "ERR too many snapshots (max-snapshots is %ld): drop one with "
			     "SNAPSHOT DROP <id>", srv.max_snapshots);
		return;
	}
	if (!(snap = cow_snapshot(srv.db.space))) {
		reply_errorf(c, "ERR snapshot failed: %s", cow_strerror(-errno));
		return;
	}
	s = &srv.snaps[srv.nsnaps++];
	s->id = ++srv.next_snap_id;
	s->snap = snap;
	s->gen = srv.db.gen;
	s->time_ms = srv_unix_ms();
	s->keys = kv_count_all(&srv.db);
	reply_int(c, (long long)s->id);
}

static const char *snapshot_help[] = {
	"SNAPSHOT [<subcommand> [<arg>]]. Subcommands are:",
	"(no subcommand)",
	"    Freeze the whole dataset now; return the snapshot's id.",
	"LIST",
	"    Return the snapshots: id, unix time in ms, keys at the time.",
	"DROP <id>",
	"    Release a snapshot (its preserved pages are freed).",
	"HELP",
	"    Print this help.",
	"ROLLBACK <id> returns the dataset to a snapshot.",
};

void cmd_snapshot(struct client *c)
{
	long long id;

	if (c->argc == 1) {
		snapshot_take(c);
	} else if (arg_is(c, 1, "list") && c->argc == 2) {
		reply_array(c, srv.nsnaps);
		for (int i = 0; i < srv.nsnaps; i++) {
			reply_array(c, 3);
			reply_int(c, (long long)srv.snaps[i].id);
			reply_int(c, srv.snaps[i].time_ms);
			reply_int(c, (long long)srv.snaps[i].keys);
		}
	} else if (arg_is(c, 1, "drop") && c->argc == 3) {
		struct kv_snapshot *s;

		if (!arg_ll(c, 2, &id))
			return;
		s = id > 0 ? snap_find((uint64_t)id) : NULL;
		if (s)
			snap_drop(s);
		reply_int(c, s != NULL);
	} else if (arg_is(c, 1, "help") && c->argc == 2) {
		reply_array(c, sizeof snapshot_help / sizeof snapshot_help[0]);
		for (size_t i = 0; i < sizeof snapshot_help / sizeof snapshot_help[0]; i++)
			reply_status(c, snapshot_help[i]);
	} else if (arg_is(c, 1, "list") || arg_is(c, 1, "drop") || arg_is(c, 1, "help")) {
		char name[32];

		snprintf(name, sizeof name, "snapshot|%s", arg_is(c, 1, "list") ? "list" :
			 arg_is(c, 1, "drop") ? "drop" : "help");
		reply_arity(c, name);
	} else {
		reply_subcommand(c, "SNAPSHOT");
	}
}

/* Replace the dataset by a new space made from s (another generation). */
static int rollback_other_gen(const struct kv_snapshot *s)
{
	struct kvdb fresh = { .gen = srv.db.gen };
	cow_space *space = cow_space_from_snap(s->snap);
	int err;

	if (!space)
		return -errno;
	if ((err = kvdb_attach(&fresh, space))) {
		cow_space_destroy(space);
		return err;
	}
	kvdb_replace(&srv.db, &fresh);
	return 0;
}

void cmd_rollback(struct client *c)
{
	struct kv_snapshot *s;
	long long id;
	int err;

	if (!arg_ll(c, 1, &id))
		return;
	if (id <= 0 || !(s = snap_find((uint64_t)id))) {
		reply_error(c, "ERR no such snapshot");
		return;
	}
	keyspace_all_changed();		/* keys that exist now change... */
	if (s->gen == srv.db.gen) {
		/* Same space: copy back only the pages that differ. */
		err = cow_restore(srv.db.space, s->snap);
		if (!err)
			err = kvdb_reload(&srv.db);
		if (err) {
			/* A restore that failed half-way leaves a mix: start over
			 * from the snapshot in a new space. */
			srv_log(LL_WARNING, "ROLLBACK: restore failed (%s), rebuilding from the "
				"snapshot", cow_strerror(err));
			err = rollback_other_gen(s);
		}
	} else {
		err = rollback_other_gen(s);
	}
	if (err) {
		reply_errorf(c, "ERR rollback failed: %s", cow_strerror(err));
		return;
	}
	keyspace_all_changed();		/* ...and so do the keys that exist now */
	srv.rollbacks++;
	srv_changed(1);
	reply_ok(c);
}
