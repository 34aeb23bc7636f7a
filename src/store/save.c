/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * save.c — background save: Redis's BGSAVE without fork().
 *
 * cow_save_start() freezes the space with a snapshot (the same short freeze
 * as cow_snapshot) and a saver thread writes the snapshot's pages into a new
 * checkpoint of the store while the program keeps writing. The snapshot of a
 * save holds each page only until it is written: then it drops it, so a later
 * write to that page of the space reuses its frame instead of copying.
 *
 * Memory budget: every page the space writes before the saver reached it
 * would need a preserved copy (that is what doubles a forking Redis's memory
 * under writes). Past the budget, the writing thread's fault writes the old
 * page into the checkpoint itself, and the snapshot drops it: no copy.
 *
 * Incremental: a space remembers which pages it wrote since the freeze of
 * its last successful save (a bit per page, set by the fault handler). The
 * next save to the same store keeps the blocks of every other page: only
 * what changed is written, and no snapshot has to be kept between saves.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "store.h"

#define SAVE_BATCH 64u		/* pages read per engine-lock hold */

struct cow_save {
	cow_store *st;
	struct cow__member *space;	/* NULL once the space is destroyed */
	struct cow__member *x;		/* the frozen snapshot */
	struct cow__build *b;
	uint64_t npages;
	uint64_t parent;		/* checkpoint whose blocks unchanged pages keep */
	uint64_t *keep;			/* pages unchanged since the parent (bits) */
	uint64_t *preserved;		/* pages of x that are preserved copies (bits) */
	size_t budget_pages;
	pthread_t thread;
	int err;
	uint64_t id;
	atomic_uint_fast64_t done;	/* pages handled, for progress */
	struct cow_save_stats stats;	/* written under the engine lock */
};

static inline bool bit(const uint64_t *bits, uint64_t i)
{
	return (bits[i >> 6] >> (i & 63)) & 1;
}

static inline void bit_put(uint64_t *bits, uint64_t i, bool on)
{
	if (on)
		bits[i >> 6] |= 1ull << (i & 63);
	else
		bits[i >> 6] &= ~(1ull << (i & 63));
}

/* x forgets page i: the checkpoint has it. Engine lock held. */
static void drop_page(struct cow_save *job, uint64_t i)
{
	struct cow__member *x = job->x;

	if (x->pt[i] == COW__NO_FRAME)
		return;
	if (bit(job->preserved, i)) {
		bit_put(job->preserved, i, false);
		job->stats.preserved_pages--;
	}
	cow__frame_put(x->pt[i]);
	x->pt[i] = COW__NO_FRAME;
}

/*
 * cow__save_preserved — page i of save snapshot x now holds a preserved
 * copy (the space wrote the page before the saver reached it).
 */
void cow__save_preserved(struct cow__member *x, size_t i)
{
	struct cow_save *job = x->save;

	if (bit(job->preserved, i))
		return;
	bit_put(job->preserved, i, true);
	if (++job->stats.preserved_pages > job->stats.peak_preserved_pages)
		job->stats.peak_preserved_pages = job->stats.preserved_pages;
}

/*
 * cow__save_spill — space m is about to write page i, whose frame it shares.
 * Each save snapshot sharing that frame and at its budget takes the old
 * page into its checkpoint now, from the page as m still shows it, and
 * drops it: no preserved copy is made for it. If that write fails, the page
 * is preserved as usual (over budget) and the save will report the error.
 */
void cow__save_spill(struct cow__member *m, size_t i)
{
	cow__frame f = m->pt[i];
	const void *old = m->addr ? m->addr + (i << COW__PAGE_SHIFT) : cow__frame_addr(f);

	for (struct cow__member *y = m->fam->head; y; y = y->fam_next) {
		struct cow_save *job = y->save;

		if (y == m || !job || y->pt[i] != f ||
		    job->stats.preserved_pages < job->budget_pages)
			continue;
		if (cow__store_write(job->b, i, 1, old))
			continue;	/* the build keeps the error; finish reports it */
		job->stats.spilled_pages++;
		drop_page(job, i);
	}
}

/* cow__save_space_gone — space m is destroyed while its save may run. */
void cow__save_space_gone(struct cow__member *m)
{
	if (m->save)
		m->save->space = NULL;
	m->save = NULL;
}

/*
 * Save pages [first, first+n): read those the snapshot still holds under
 * the engine lock, write them outside it, then drop them. Kept pages (not
 * written since the parent) share the parent's blocks.
 */
static int save_batch(struct cow_save *job, uint64_t first, uint64_t n, char *buf,
		      uint64_t *idx)
{
	struct cow__member *x = job->x;
	uint64_t nread = 0;
	int err = 0;

	cow__engine_lock();
	for (uint64_t i = first; i < first + n && !err; i++) {
		if (x->pt[i] == COW__NO_FRAME)
			continue;		/* a writer spilled it already */
		if (job->parent && bit(job->keep, i)) {
			err = cow__store_keep(job->b, i, 1);
			continue;
		}
		err = cow__read_pages(x, i, 1, buf + (nread << COW__PAGE_SHIFT));
		idx[nread++] = i;
	}
	cow__engine_unlock();
	if (!err && nread)
		err = cow__store_write_pages(job->b, idx, nread, buf);
	/* Pages a writer spilled meanwhile were counted as spilled. */
	cow__engine_lock();
	for (uint64_t i = first; i < first + n; i++) {
		if (x->pt[i] == COW__NO_FRAME)
			continue;
		if (job->parent && bit(job->keep, i))
			job->stats.kept_pages++;
		else
			job->stats.written_pages++;
		drop_page(job, i);
	}
	cow__engine_unlock();
	return err;
}

static void *saver_main(void *arg)
{
	struct cow_save *job = arg;
	char *buf = malloc(SAVE_BATCH << COW__PAGE_SHIFT);
	uint64_t *idx = malloc(SAVE_BATCH * sizeof *idx);
	int err = buf && idx ? 0 : -ENOMEM;

	for (uint64_t i = 0; i < job->npages && !err; i += SAVE_BATCH) {
		uint64_t n = job->npages - i < SAVE_BATCH ? job->npages - i : SAVE_BATCH;

		err = save_batch(job, i, n, buf, idx);
		atomic_store(&job->done, i + n);
	}
	free(buf);
	free(idx);
	if (err) {
		cow__store_abort(job->b);
		job->err = err;
	} else {
		job->err = cow__store_finish(job->b, &job->id);
	}
	job->b = NULL;
	return NULL;
}

/*
 * The freeze: snapshot s into the save's own snapshot, take the pages
 * written since the last save as the ones to write, and start counting
 * anew. Engine lock held. 0 or -errno.
 */
static int freeze(struct cow_save *job, struct cow__member *m)
{
	size_t words = (m->npages + 63) / 64;
	struct cow__member *x;
	int err = cow__protect_writable(m);

	if (err)
		return err;
	x = cow__member_new(COW__KIND_SNAP, m->npages, m->fam);
	if (!x)
		return -errno;
	cow__member_share(x, m);
	for (size_t w = 0; w < words; w++) {
		job->keep[w] = ~m->dirty[w];	/* not written since the last save */
		m->dirty[w] = 0;
	}
	if (m->vfork_child)
		err = cow__alias_refresh(m->vfork_child);
	x->save = job;
	m->save = job;
	job->x = x;
	return err;
}

/* Free what start allocated; x is released with the engine lock held. */
static void job_free(struct cow_save *job)
{
	if (job->x) {
		cow__engine_lock();
		job->x->save = NULL;
		cow__member_free(job->x);
		if (job->space)
			job->space->save = NULL;
		cow__engine_unlock();
	}
	free(job->keep);
	free(job->preserved);
	free(job);
}

/* After a failed save, the pages it took as unchanged are "written" again. */
static void restore_dirty(struct cow_save *job)
{
	struct cow__member *m = job->space;

	if (!m)
		return;
	for (size_t w = 0; w < (job->npages + 63) / 64; w++)
		m->dirty[w] |= ~job->keep[w];
}

COW_API cow_save *cow_save_start(cow_store *st, cow_space *s, size_t mem_budget)
{
	struct cow__member *m = s ? &s->m : NULL;
	struct cow_save *job;
	uint64_t t0;
	struct timespec ts;
	int err = m ? cow__member_check(m, COW__KIND_SPACE) : -EINVAL;

	if (!err && (!st || m->alias_of))
		err = -EINVAL;
	if (err) {
		errno = -err;
		return NULL;
	}
	job = calloc(1, sizeof *job);
	if (job) {
		job->keep = calloc((m->npages + 63) / 64, sizeof(uint64_t));
		job->preserved = calloc((m->npages + 63) / 64, sizeof(uint64_t));
	}
	if (!job || !job->keep || !job->preserved) {
		if (job) {
			free(job->keep);
			free(job->preserved);
		}
		free(job);
		errno = ENOMEM;
		return NULL;
	}
	job->st = st;
	job->space = m;
	job->npages = m->npages;
	job->budget_pages = mem_budget >> COW__PAGE_SHIFT;
	atomic_init(&job->done, 0);

	cow__engine_lock();
	if (m->save)
		err = -EBUSY;
	job->parent = m->saved_store == st && m->saved_serial == st->serial ? m->saved_id : 0;
	cow__engine_unlock();
	if (!err) {
		err = cow__store_begin(st, job->npages, job->parent, &job->b);
		if (err == -ENOENT && job->parent)	/* dropped: write everything */
			err = cow__store_begin(st, job->npages, job->parent = 0, &job->b);
	}
	if (err) {
		free(job->keep);
		free(job->preserved);
		free(job);
		errno = -err;
		return NULL;
	}

	cow__freeze_begin(m);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	t0 = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	cow__engine_lock();
	cow__vfork_wait(m);
	err = m->save ? -EBUSY : freeze(job, m);
	if (!err && !job->parent)
		memset(job->keep, 0, ((m->npages + 63) / 64) * sizeof(uint64_t));
	cow__engine_unlock();
	clock_gettime(CLOCK_MONOTONIC, &ts);
	job->stats.freeze_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec - t0;
	cow__freeze_end(m);

	if (!err && (err = -pthread_create(&job->thread, NULL, saver_main, job))) {
		cow__engine_lock();
		restore_dirty(job);
		cow__engine_unlock();
	}
	if (err) {
		cow__store_abort(job->b);
		job_free(job);
		errno = -err;
		return NULL;
	}
	return job;
}

COW_API int cow_save_progress(const cow_save *job, uint64_t *done, uint64_t *total)
{
	if (!job)
		return -EINVAL;
	if (done)
		*done = atomic_load(&((struct cow_save *)job)->done);
	if (total)
		*total = job->npages;
	return 0;
}

COW_API int cow_save_stats_get(const cow_save *job, struct cow_save_stats *out)
{
	struct cow_save_stats st;

	if (!job || !out)
		return -EINVAL;
	cow__engine_lock();
	st = job->stats;
	cow__engine_unlock();
	*out = st;
	return 0;
}

COW_API int cow_save_finish(cow_save *job, uint64_t *id, struct cow_save_stats *stats)
{
	struct cow_save_stats st;
	int err;

	if (!job)
		return -EINVAL;
	pthread_join(job->thread, NULL);
	err = job->err;
	cow__engine_lock();
	st = job->stats;
	if (job->space) {
		if (err) {
			restore_dirty(job);
		} else {
			job->space->saved_store = job->st;
			job->space->saved_serial = job->st->serial;
			job->space->saved_id = job->id;
		}
	}
	cow__engine_unlock();
	if (!err && id)
		*id = job->id;
	job_free(job);
	if (stats)
		*stats = st;
	return err;
}

COW_API int cow_save_wait(cow_save *job, uint64_t *id)
{
	return cow_save_finish(job, id, NULL);
}
