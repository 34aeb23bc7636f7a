/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * persist.c — saving and loading the dataset through the store, without
 * fork().
 *
 * A save is cow_save_start(): a freeze (a snapshot of the dataset's space,
 * the only pause), then libcow's saver thread writes the pages into a new
 * checkpoint of the store while the server keeps serving. A page the server
 * writes before the saver reached it is copied once (copy on write), as the
 * kernel copies pages for Redis's child; past --save-budget bytes of such
 * copies, the writing fault puts the old page into the checkpoint itself
 * instead. Saves are incremental: only the pages written since the previous
 * save are written. Then all but the newest --save-keep checkpoints are dropped.
 *
 * SAVE waits for the save in the server's thread. BGSAVE hands the job to a
 * waiter thread of ours: it publishes the progress and the statistics while
 * the save runs, finishes the job (the final fsync happens there, not in
 * the event loop), and wakes the loop through an eventfd. Only that thread
 * touches the job after the start, so nothing reads it once it is freed.
 *
 * Restart: the newest checkpoint is loaded as a snapshot (every block read
 * once and checked against its checksum, O(size); the pages are then mapped
 * from the page cache), a space is made from it, the heap and the root are
 * checked (O(1)), and the server accepts connections. A corrupt checkpoint
 * is never served: the server starts from the newest one that verifies
 * (--load-fallback yes, the default) or refuses to start.
 *
 * After each successful save the newest --save-keep checkpoints (default 2)
 * are kept, so that a corrupt newest one leaves an older one to start from.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "server.h"
#include "script.h"   /* issue 15: func_carry_over */

/* What the waiter publishes about the running save. */
struct save_state {
	uint64_t done, total;           /* pages handled, pages in all */
	struct cow_save_stats stats;
};

struct save_job {
	pthread_t waiter;
	cow_save *save;
	int64_t start_ms;
	uint64_t dirty_at_start;
	pthread_mutex_t lock;           /* guards state, err, id */
	struct save_state state;
	int err;
	uint64_t id;
	atomic_bool finished;
};

static struct save_job job = { .lock = PTHREAD_MUTEX_INITIALIZER };
static bool running;

bool srv_saving(void)
{
	return running;
}

bool kv_bgsave_running(void)
{
	return running;
}

int64_t kv_bgsave_started_ms(void)
{
	return running ? job.start_ms : 0;
}

static struct save_state published(void)
{
	struct save_state st;

	pthread_mutex_lock(&job.lock);
	st = job.state;
	pthread_mutex_unlock(&job.lock);
	return st;
}

double kv_bgsave_progress(void)
{
	struct save_state st;

	if (!running)
		return 1.0;
	st = published();
	return st.total ? (double)st.done / (double)st.total : 0.0;
}

uint64_t kv_bgsave_cow_bytes(void)
{
	return running ? published().stats.preserved_pages * COW_PAGE_SIZE : 0;
}

uint64_t kv_bgsave_cow_peak(void)
{
	return running ? published().stats.peak_preserved_pages * COW_PAGE_SIZE : 0;
}

/* list_all — every checkpoint id, oldest first, in a malloc'd array (*n of
 * them); NULL if the store has none or on an error. */
static uint64_t *list_all(size_t *n)
{
	uint64_t *ids;

	*n = 0;
	if (cow_store_list(srv.store, NULL, 0, n) || *n == 0)
		return NULL;
	ids = malloc(*n * sizeof *ids);
	if (ids && cow_store_list(srv.store, ids, *n, n)) {
		free(ids);
		ids = NULL;
	}
	return ids;
}

/* is_bad — 1 if checkpoint id was found corrupt at start (or is damaged). */
static int is_bad(uint64_t id)
{
	struct cow_store_info in;

	for (int i = 0; i < srv.nbad; i++)
		if (srv.bad_ckpts[i] == id)
			return 1;
	return cow_store_info(srv.store, id, &in) == 0 && in.damaged;
}

/*
 * After a successful save: keep the newest --save-keep checkpoints that are
 * not known to be corrupt (the one just written among them), drop the
 * others, the corrupt ones included (best effort: a failure only leaves a
 * checkpoint in the file). Any thread: only the save's thread calls it
 * while the server thread runs, and the server thread touches bad_ckpts
 * only before the first save.
 */
static void drop_older(uint64_t newest)
{
	size_t n;
	uint64_t *ids = list_all(&n);
	long kept = 0;

	for (size_t i = n; i-- > 0;) {
		int bad = is_bad(ids[i]);

		if (ids[i] <= newest && !bad && kept < srv.save_keep) {
			kept++;
			continue;
		}
		if (ids[i] > newest)
			continue;
		if (cow_store_drop(srv.store, ids[i]))
			srv_log(LL_WARNING, "could not drop checkpoint %llu: %s",
				(unsigned long long)ids[i], cow_store_errmsg(srv.store));
		else if (bad)
			srv_log(LL_WARNING, "dropped corrupt checkpoint %llu",
				(unsigned long long)ids[i]);
	}
	free(ids);
}

const char *persist_strerror(int err)
{
	static char buf[400];
	const char *why = err == -ENOENT && srv.store ? cow_store_errmsg(srv.store) : "";

	if (!why || !*why)
		return cow_strerror(err);
	snprintf(buf, sizeof buf, "%s (%s)", cow_strerror(err), why);
	return buf;
}

/* Account for a finished save (server thread). */
static void save_done(int err, uint64_t id, uint64_t dirty_before, int64_t start_ms,
		      const struct cow_save_stats *st)
{
	srv.last_save_secs = (srv_unix_ms() - start_ms + 500) / 1000;
	srv.freeze_usec = (int64_t)(st->freeze_ns / 1000);
	srv.last_save = *st;
	if (err) {
		srv.last_save_ok = false;
		srv_log(LL_WARNING, "Save failed: %s", persist_strerror(err));
		return;
	}
	srv.dirty = srv.dirty > dirty_before ? srv.dirty - dirty_before : 0;
	srv.lastsave = srv_unix_ms() / 1000;
	srv.last_save_ok = true;
	srv.saves++;
	srv.last_checkpoint = id;
	srv.last_cow_bytes = st->peak_preserved_pages * COW_PAGE_SIZE;
}

int persist_save(void)
{
	struct cow_save_stats st = { 0 };
	int64_t start = srv_unix_ms();
	uint64_t dirty = srv.dirty, id = 0;
	cow_save *save;
	int err;

	if (!srv.store)
		return -ENOTSUP;
	if (running)
		return -EBUSY;
	srv.last_try = start / 1000;
	if (!(save = cow_save_start(srv.store, srv.db.space, srv.save_budget))) {
		err = -errno;
	} else {
		err = cow_save_finish(save, &id, &st);
		if (!err)
			drop_older(id);
	}
	save_done(err, id, dirty, start, &st);
	if (!err)
		srv_log(LL_NOTICE, "DB saved on disk (checkpoint %llu)", (unsigned long long)id);
	return err;
}

static void publish(cow_save *save)
{
	struct save_state st = { 0 };

	cow_save_progress(save, &st.done, &st.total);
	cow_save_stats_get(save, &st.stats);
	pthread_mutex_lock(&job.lock);
	job.state = st;
	pthread_mutex_unlock(&job.lock);
}

/*
 * The waiter: publish progress every 10 ms until every page is handled (or
 * nothing moved for a second: the saver stopped on an error), then finish
 * the job and wake the loop.
 */
static void *waiter_main(void *arg)
{
	struct timespec tick = { 0, 10 * 1000000 };
	struct cow_save_stats st = { 0 };
	uint64_t last = UINT64_MAX, id = 0, one = 1;
	int still = 0, err;

	(void)arg;
	for (;;) {
		publish(job.save);
		if (job.state.done == job.state.total || still >= 100)
			break;
		still = job.state.done == last ? still + 1 : 0;
		last = job.state.done;
		nanosleep(&tick, NULL);
	}
	err = cow_save_finish(job.save, &id, &st);
	if (!err)
		drop_older(id);
	pthread_mutex_lock(&job.lock);
	job.save = NULL;
	job.state.stats = st;
	job.err = err;
	job.id = id;
	pthread_mutex_unlock(&job.lock);
	atomic_store(&job.finished, true);
	(void)!write(srv.savefd, &one, sizeof one);
	return NULL;
}

int kv_bgsave_start(void)
{
	int err;

	if (!srv.store)
		return -ENOTSUP;
	if (running)
		return -EBUSY;
	job.start_ms = srv_unix_ms();
	srv.last_try = job.start_ms / 1000;
	job.dirty_at_start = srv.dirty;
	job.err = 0;
	job.id = 0;
	memset(&job.state, 0, sizeof job.state);
	atomic_store(&job.finished, false);
	if (!(job.save = cow_save_start(srv.store, srv.db.space, srv.save_budget)))
		return -errno;
	publish(job.save);	/* the freeze's duration, at once */
	srv.freeze_usec = (int64_t)(job.state.stats.freeze_ns / 1000);
	if ((err = pthread_create(&job.waiter, NULL, waiter_main, NULL))) {
		cow_save_finish(job.save, NULL, NULL);
		job.save = NULL;
		return -err;
	}
	running = true;
	srv_log(LL_NOTICE, "Background saving started (freeze: %lld us)",
		(long long)srv.freeze_usec);
	return 0;
}

static void collect(void)
{
	pthread_join(job.waiter, NULL);
	running = false;
	save_done(job.err, job.id, job.dirty_at_start, job.start_ms, &job.state.stats);
	if (!job.err)
		srv_log(LL_NOTICE, "Background saving terminated with success (checkpoint %llu)",
			(unsigned long long)job.id);
}

void kv_bgsave_poll(void)
{
	if (running && atomic_load(&job.finished))
		collect();
}

void kv_bgsave_wait(void)
{
	if (running)
		collect();
}

void persist_cron(void)
{
	int64_t now = srv.now_ms / 1000;

	kv_bgsave_poll();
	if (!srv.store || running)
		return;
	for (int i = 0; i < srv.nsave; i++) {
		const struct save_point *sp = &srv.save[i];

		if (srv.dirty >= (uint64_t)sp->changes && now - srv.lastsave > sp->secs &&
		    (srv.last_save_ok || now - srv.last_try > 5)) {
			srv_log(LL_NOTICE, "%ld changes in %ld seconds. Saving...",
				sp->changes, sp->secs);
			kv_bgsave_start();
			return;
		}
	}
}

bool persist_writes_denied(void)
{
	return srv.stop_writes_on_bgsave_err && srv.nsave > 0 && !srv.last_save_ok;
}

/* ---- start, stop, flush -------------------------------------------------------- */

/*
 * load_one — load checkpoint id into the server's dataset. Every block is
 * checked against its checksum by cow_store_load(), and the dataset's heap
 * and root by kvdb_attach(). 0 or the error (logged).
 */
static int load_one(uint64_t id)
{
	int64_t t0 = srv_mono_us(), t1, t2;
	cow_snap *snap;
	cow_space *s;
	int err;

	if (!(snap = cow_store_load(srv.store, id))) {
		err = -errno;
		srv_log(LL_WARNING, "Could not load checkpoint %llu: %s (%s)",
			(unsigned long long)id, cow_strerror(err), cow_store_errmsg(srv.store));
		return err;
	}
	t1 = srv_mono_us();
	s = cow_space_from_snap(snap);
	err = s ? 0 : -errno;
	cow_snap_release(snap);
	if (!s) {
		srv_log(LL_WARNING, "Could not make a space of checkpoint %llu: %s",
			(unsigned long long)id, cow_strerror(err));
		return err;
	}
	t2 = srv_mono_us();
	if ((err = kvdb_attach(&srv.db, s))) {
		cow_space_destroy(s);
		if (err == -E2BIG) {
			/* not corrupt: never fall back past it (a save would drop it) */
			srv_log(LL_WARNING, "Checkpoint %llu has keys in a database >= %u: start "
				"with --databases large enough for it", (unsigned long long)id,
				kv_databases);
			return err;
		}
		srv_log(LL_WARNING, "Checkpoint %llu holds no valid cowkv dataset: %s",
			(unsigned long long)id, cow_strerror(err));
		return err == -ENOMEM ? err : -EBADMSG;
	}
	srv.load_usec = srv_mono_us() - t0;
	srv.loaded_checkpoint = srv.last_checkpoint = id;
	srv_log(LL_NOTICE, "DB loaded from checkpoint %llu: %llu keys, %zu bytes of space, "
		"in %.3f ms (load and checksums %.3f, space %.3f, attach %.3f)",
		(unsigned long long)id, (unsigned long long)kv_count_all(&srv.db),
		srv.db.size, srv.load_usec / 1000.0, (t1 - t0) / 1000.0, (t2 - t1) / 1000.0,
		(srv_mono_us() - t2) / 1000.0);
	return 0;
}

/*
 * load_latest — load the newest checkpoint. If it is corrupt (EBADMSG)
 * and --load-fallback is yes, the next older one is tried, and so on: the
 * server starts from the newest checkpoint that verifies and says which in
 * its log; the corrupt ones are dropped by the next successful save. With
 * --load-fallback no, or when no checkpoint verifies, or on any other error
 * (ENOMEM, EIO: nothing says the data is bad), the server refuses to start.
 * Returns 0, 1 (empty store) or the error.
 */
static int load_latest(void)
{
	size_t n;
	uint64_t *ids = list_all(&n);
	int err = 0;

	if (!ids)
		return n ? -ENOMEM : 1;	/* 1: empty store */
	for (size_t i = n; i-- > 0;) {
		err = load_one(ids[i]);
		if (!err) {
			if (i + 1 < n)
				srv_log(LL_WARNING, "Started from checkpoint %llu, the newest that "
					"verifies: %zu newer checkpoint(s) are corrupt (the newest: %llu)",
					(unsigned long long)ids[i], n - 1 - i,
					(unsigned long long)ids[n - 1]);
			break;
		}
		if (err != -EBADMSG || !srv.load_fallback) {
			srv_log(LL_WARNING, "Refusing to start: checkpoint %llu cannot be loaded%s",
				(unsigned long long)ids[i], err == -EBADMSG
				? " (--load-fallback no: start from an older checkpoint with "
				  "--load-fallback yes, or move the store away)" : "");
			free(ids);
			return err;
		}
		if (srv.nbad < (int)(sizeof srv.bad_ckpts / sizeof srv.bad_ckpts[0]))
			srv.bad_ckpts[srv.nbad++] = ids[i];
	}
	free(ids);
	if (err) {
		srv_log(LL_WARNING, "Refusing to start: none of the %zu checkpoints of the store "
			"verifies (move the store away to start empty)", n);
		return err;
	}
	if (srv.maxmemory && srv.maxmemory != srv.db.size)
		srv_log(LL_WARNING, "--maxmemory is ignored: the space's size (%zu) comes "
			"with the checkpoint", srv.db.size);
	return 0;
}

/*
 * open_store — open (or create) the store in --dir. An existing directory
 * and store are opened without creating anything, so a restart works on a
 * full disk or a read-only directory (saves then fail and say why).
 */
static int open_store(void)
{
	char path[PATH_MAX], *abs;
	int flags = COW_STORE_CREATE;
	struct stat sb;

	if (stat(srv.dir, &sb) != 0 && mkdir(srv.dir, 0700) && errno != EEXIST) {
		srv_log(LL_WARNING, "Can't create dir %s: %s", srv.dir, strerror(errno));
		return -errno;
	}
	if (!(abs = realpath(srv.dir, NULL)))
		return -errno;
	free(srv.dir);
	srv.dir = abs;
	if (snprintf(path, sizeof path, "%s/%s", srv.dir, srv.dbfilename) >= (int)sizeof path)
		return -ENAMETOOLONG;
	if (!srv.save_incremental)
		flags |= COW_STORE_FULL_COMMITS;
	if (srv.load_fallback)
		flags |= COW_STORE_SALVAGE;	/* damaged page tables: fall back past them */
	srv.store = cow_store_open(path, flags);
	if (!srv.store) {
		int err = -errno;

		srv_log(LL_WARNING, "Refusing to start: can't open the store %s: %s (%s)", path,
			cow_strerror(err), cow_store_errmsg(NULL));
		return err;
	}
	return 0;
}

int persist_start(void)
{
	int err = 1;

	srv.last_save_ok = true;
	srv.last_save_secs = -1;
	srv.lastsave = srv_unix_ms() / 1000;
	if (srv.dir && (err = open_store()))
		return err;
	if (srv.store && (err = load_latest()) < 0)
		return err;
	if (err == 1 && (err = kvdb_create(&srv.db, srv.space_size))) {
		srv_log(LL_WARNING, "Can't create a space of %llu bytes: %s",
			(unsigned long long)srv.space_size, cow_strerror(err));
		return err;
	}
	if (!srv.maxmemory || srv.maxmemory > srv.db.size)
		srv.maxmemory = srv.db.size;
	return 0;
}

void persist_stop(void)
{
	kv_bgsave_wait();
	if (srv.store && cow_store_close(srv.store))
		srv_log(LL_WARNING, "closing the store reported an error");
	srv.store = NULL;
}

/*
 * Empty the dataset in place (issue 13 part B): formatting the heap again
 * costs the same whatever the space's size, where a new space cost 1.1 s
 * for 4 GiB. Only if that fails is a new space made.
 */
int persist_flush(void)
{
	struct kvdb fresh = { .gen = srv.db.gen };
	size_t fn_len;
	void *fn = func_stash(&srv.db, &fn_len);	/* issue 15: FLUSHALL keeps functions */
	int err = kvdb_reset(&srv.db);

	if (!err) {
		func_unstash(&srv.db, fn, fn_len);
		return 0;
	}
	srv_log(LL_WARNING, "FLUSH: resetting the heap in place failed (%s): new space",
		cow_strerror(err));
	if ((err = kvdb_create(&fresh, srv.db.size))) {
		free(fn);
		return err;
	}
	func_unstash(&fresh, fn, fn_len);
	kvdb_replace(&srv.db, &fresh);
	return 0;
}
