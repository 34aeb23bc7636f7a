/*
 * persist.c — saving and loading the dataset through the store, without
 * fork().
 *
 * A save is: freeze (cow_snapshot of the dataset's space: as short as a
 * snapshot, the server is paused only for it), then write the snapshot as a
 * checkpoint of the store (cow_store_commit: only the pages changed since
 * the previous checkpoint, durable on return), then drop the older
 * checkpoints. SAVE does all of it in the server's thread; BGSAVE hands the
 * snapshot to a thread and keeps serving: writes meanwhile copy each page
 * once (copy on write), exactly as the kernel does for Redis's child.
 *
 * Restart: the newest checkpoint is loaded as a snapshot (lazily: pages are
 * read when first touched, as far as the engine does it), a space is made
 * from it, the heap and the root are checked (O(1)), and the server
 * accepts connections. Nothing walks the dataset.
 *
 * kv_bgsave_start/poll/wait/progress are the seam to cow_save_start(),
 * cow_save_progress() and cow_save_wait() (background save with a memory
 * budget) once libcow has them: today the thread runs cow_store_commit(),
 * which has no budget and no progress figure.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server.h"

struct save_job {
	pthread_t thread;
	cow_snap *snap;
	uint64_t id;
	int err;
	atomic_bool done;
	int64_t start_ms;
	uint64_t gen;           /* dataset generation frozen */
	uint64_t copies0;       /* the space's copy count at the freeze */
};

static struct save_job job;
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

double kv_bgsave_progress(void)
{
	return running ? -1.0 : 1.0;	/* cow_store_commit() reports none */
}

static uint64_t space_copies(void)
{
	struct cow_stats st;

	return cow_stats_get(srv.db.space, &st) ? 0 : st.copies;
}

uint64_t kv_bgsave_cow_bytes(void)
{
	uint64_t now;

	if (!running || job.gen != srv.db.gen)
		return 0;
	now = space_copies();
	return now > job.copies0 ? (now - job.copies0) * COW_PAGE_SIZE : 0;
}

/* Drop the checkpoints older than keep (best effort: a failure only leaves
 * an older checkpoint in the file). Any thread. */
static void drop_older(uint64_t keep)
{
	uint64_t ids[64];
	size_t n = 0;

	if (cow_store_list(srv.store, ids, 64, &n))
		return;
	for (size_t i = 0; i < n && i < 64; i++)
		if (ids[i] < keep && cow_store_drop(srv.store, ids[i]))
			srv_log(LL_WARNING, "could not drop checkpoint %llu", (unsigned long long)ids[i]);
}

/* Freeze the dataset: a snapshot, timed. NULL with errno on failure. */
static cow_snap *freeze(void)
{
	int64_t t0 = srv_mono_us();
	cow_snap *snap = cow_snapshot(srv.db.space);

	srv.freeze_usec = srv_mono_us() - t0;
	return snap;
}

/* Account for a finished save. */
static void save_done(int err, uint64_t id, uint64_t dirty_before, int64_t start_ms)
{
	srv.last_save_secs = (srv_unix_ms() - start_ms + 500) / 1000;
	if (err) {
		srv.last_save_ok = false;
		srv_log(LL_WARNING, "Save failed: %s", cow_strerror(err));
		return;
	}
	srv.dirty = srv.dirty > dirty_before ? srv.dirty - dirty_before : 0;
	srv.lastsave = srv_unix_ms() / 1000;
	srv.last_save_ok = true;
	srv.saves++;
	srv.last_checkpoint = id;
}

int persist_save(void)
{
	int64_t start = srv_unix_ms();
	uint64_t dirty = srv.dirty, id = 0;
	cow_snap *snap;
	int err;

	if (!srv.store)
		return -ENOTSUP;
	if (running)
		return -EBUSY;
	srv.last_try = start / 1000;
	if (!(snap = freeze())) {
		err = -errno;
	} else {
		err = cow_store_commit(srv.store, snap, &id);
		cow_snap_release(snap);
		if (!err)
			drop_older(id);
	}
	save_done(err, id, dirty, start);
	if (!err)
		srv_log(LL_NOTICE, "DB saved on disk (checkpoint %llu)", (unsigned long long)id);
	return err;
}

static void *save_thread(void *arg)
{
	uint64_t one = 1;

	(void)arg;
	job.err = cow_store_commit(srv.store, job.snap, &job.id);
	if (!job.err)
		drop_older(job.id);
	cow_snap_release(job.snap);
	job.snap = NULL;
	atomic_store(&job.done, true);
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
	memset(&job, 0, sizeof job);
	job.start_ms = srv_unix_ms();
	srv.last_try = job.start_ms / 1000;
	if (!(job.snap = freeze()))
		return -errno;
	job.gen = srv.db.gen;
	job.copies0 = space_copies();
	srv.dirty_at_save = srv.dirty;
	atomic_store(&job.done, false);
	if ((err = pthread_create(&job.thread, NULL, save_thread, NULL))) {
		cow_snap_release(job.snap);
		return -err;
	}
	running = true;
	srv_log(LL_NOTICE, "Background saving started (freeze: %lld us)",
		(long long)srv.freeze_usec);
	return 0;
}

static void collect(void)
{
	pthread_join(job.thread, NULL);
	running = false;
	srv.last_cow_bytes = job.gen == srv.db.gen && space_copies() > job.copies0 ?
			     (space_copies() - job.copies0) * COW_PAGE_SIZE : 0;
	save_done(job.err, job.id, srv.dirty_at_save, job.start_ms);
	if (!job.err)
		srv_log(LL_NOTICE, "Background saving terminated with success (checkpoint %llu)",
			(unsigned long long)job.id);
}

void kv_bgsave_poll(void)
{
	if (running && atomic_load(&job.done))
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

/* ---- start, stop, flush -------------------------------------------------------- */

static int load_latest(void)
{
	int64_t t0 = srv_mono_us();
	cow_snap *snap;
	cow_space *s;
	uint64_t id;
	int err;

	if (cow_store_latest(srv.store, &id))
		return 1;	/* empty store */
	if (!(snap = cow_store_load(srv.store, id))) {
		err = -errno;
		srv_log(LL_WARNING, "Could not load checkpoint %llu: %s %s",
			(unsigned long long)id, cow_strerror(err), cow_store_errmsg(srv.store));
		return err;
	}
	s = cow_space_from_snap(snap);
	cow_snap_release(snap);
	if (!s)
		return -errno;
	if ((err = kvdb_attach(&srv.db, s))) {
		srv_log(LL_WARNING, "Checkpoint %llu holds no cowkv dataset: %s",
			(unsigned long long)id, cow_strerror(err));
		cow_space_destroy(s);
		return err;
	}
	srv.load_usec = srv_mono_us() - t0;
	srv.loaded_checkpoint = srv.last_checkpoint = id;
	srv_log(LL_NOTICE, "DB loaded from checkpoint %llu: %llu keys, %zu bytes of space, "
		"in %.3f ms (pages are read when first touched)", (unsigned long long)id,
		(unsigned long long)kv_count(&srv.db), srv.db.size, srv.load_usec / 1000.0);
	if (srv.maxmemory && srv.maxmemory != srv.db.size)
		srv_log(LL_WARNING, "--maxmemory is ignored: the space's size (%zu) comes "
			"with the checkpoint", srv.db.size);
	return 0;
}

static int open_store(void)
{
	char path[PATH_MAX], *abs;

	if (mkdir(srv.dir, 0700) && errno != EEXIST) {
		srv_log(LL_WARNING, "Can't create dir %s: %s", srv.dir, strerror(errno));
		return -errno;
	}
	if (!(abs = realpath(srv.dir, NULL)))
		return -errno;
	free(srv.dir);
	srv.dir = abs;
	if (snprintf(path, sizeof path, "%s/%s", srv.dir, srv.dbfilename) >= (int)sizeof path)
		return -ENAMETOOLONG;
	srv.store = cow_store_open(path, COW_STORE_CREATE);
	if (!srv.store) {
		int err = -errno;

		srv_log(LL_WARNING, "Can't open the store %s: %s %s", path, cow_strerror(err),
			cow_store_errmsg(NULL));
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

int persist_flush(void)
{
	struct kvdb fresh = { .gen = srv.db.gen };
	int err = kvdb_create(&fresh, srv.db.size);

	if (err)
		return err;
	kvdb_replace(&srv.db, &fresh);
	return 0;
}
