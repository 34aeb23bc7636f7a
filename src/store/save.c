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
 * page into the checkpoint itself (a spill), and the snapshot drops it: no
 * copy. The spill's write happens without the engine lock (page.c holds
 * the frame busy meanwhile), so other threads' faults do not wait for the
 * disk.
 *
 * Incremental: the engine marks which pages of a space were written since
 * the freeze of its last successful save (page.c: every page that is not
 * write-protected is marked). The next save to the same store keeps the
 * blocks of every other page: only what changed is written, and no
 * snapshot has to be kept between saves.
 *
 * This file hears the engine's page events (spill, preserved, space gone)
 * through cow__page_events_set(); the engine does not call into it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

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
	uint64_t *taken;		/* pages the saver is writing now (bits) */
	uint64_t *spilling;		/* pages a writer is spilling now (bits) */
	unsigned inflight;		/* spills under way (engine lock) */
	uint64_t gen;			/* process generation it was started in */
	size_t budget_pages;
	pthread_t thread;
	int err;
	uint64_t id;
	atomic_uint_fast64_t done;	/* pages handled, for progress */
	struct cow_save_stats stats;	/* written under the engine lock */
};

/* Is the page all zeroes? (The store writes no block for it.) */
static bool page_is_zero(const char *page)
{
	const uint64_t *w = (const uint64_t *)(const void *)page;

	for (size_t k = 0; k < COW__PAGE / sizeof *w; k++)
		if (w[k])
			return false;
	return true;
}

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

/* word_mask — the bits of word w (bits [64w, 64w + 64)) within [i, i+n). */
static uint64_t word_mask(uint64_t w, uint64_t i, uint64_t n)
{
	uint64_t lo = w * 64 > i ? 0 : i - w * 64, hi = i + n - w * 64;

	hi = hi > 64 ? 64 : hi;
	return (hi == 64 ? ~0ull : (1ull << hi) - 1) & ~((1ull << lo) - 1);
}

/* bits_any — is some bit of [i, i+n) set? A word at a time. */
static bool bits_any(const uint64_t *bits, uint64_t i, uint64_t n)
{
	for (uint64_t w = i >> 6; n && w <= (i + n - 1) >> 6; w++)
		if (bits[w] & word_mask(w, i, n))
			return true;
	return false;
}

/* bits_all — is every bit of [i, i+n) set? */
static bool bits_all(const uint64_t *bits, uint64_t i, uint64_t n)
{
	for (uint64_t w = i >> 6; n && w <= (i + n - 1) >> 6; w++)
		if (~bits[w] & word_mask(w, i, n))
			return false;
	return true;
}

/* bits_clear — clear the bits of [i, i+n); returns how many were set. */
static uint64_t bits_clear(uint64_t *bits, uint64_t i, uint64_t n)
{
	uint64_t cleared = 0;

	for (uint64_t w = i >> 6; n && w <= (i + n - 1) >> 6; w++) {
		uint64_t m = bits[w] & word_mask(w, i, n);

		cleared += (uint64_t)__builtin_popcountll(m);
		bits[w] &= ~m;
	}
	return cleared;
}

/* x forgets page i: the checkpoint has it. Engine lock held. */
static void drop_page(struct cow_save *job, uint64_t i)
{
	if (cow__snap_frame(job->x, i) == COW__NO_FRAME)
		return;
	if (bit(job->preserved, i)) {
		bit_put(job->preserved, i, false);
		job->stats.preserved_pages--;
	}
	cow__snap_drop(job->x, i);
}

/* Page event: page i of the job's snapshot now holds a preserved copy. */
static void on_preserved(void *token, size_t i)
{
	struct cow_save *job = token;

	if (bit(job->preserved, i))
		return;
	bit_put(job->preserved, i, true);
	if (++job->stats.preserved_pages > job->stats.peak_preserved_pages)
		job->stats.peak_preserved_pages = job->stats.preserved_pages;
}

/*
 * Page event: a space is about to write page i, its home frame, which the
 * job's snapshot shares. If the saver has read the page already (it is
 * being written from the saver's buffer), the snapshot lets go of it at
 * once: nothing needs preserving for it. If the save has reached its
 * budget, the page is marked as being spilled and the job is the token:
 * the writer writes the old page out. NULL: preserve as usual.
 */
static void *claim_spill(void *token, size_t i)
{
	struct cow_save *job = token;

	if (bit(job->taken, i)) {
		drop_page(job, i);
		return NULL;
	}
	if (job->stats.preserved_pages < job->budget_pages || bit(job->spilling, i) || !job->b)
		return NULL;
	bit_put(job->spilling, i, true);
	job->inflight++;
	return job;
}

/* Page event: write the old page (engine lock NOT held). */
static int spill(void *token, size_t i, const void *old)
{
	struct cow_save *job = token;

	return cow__store_write(job->b, i, 1, old);
}

/* Page event: the spill ended. On error the page stays in the snapshot
 * (the writer preserves it as usual) and the build reports the error. */
static void spill_done(void *token, size_t i, int err)
{
	struct cow_save *job = token;

	bit_put(job->spilling, i, false);
	if (!err) {
		job->stats.spilled_pages++;
		drop_page(job, i);
	}
	job->inflight--;
}

/* Page event: space m is destroyed while its save may run. */
static void space_gone(void *token)
{
	struct cow_save *job = token;

	job->space = NULL;
}

static const struct cow__page_events save_events = {
	.claim_spill = claim_spill,
	.spill = spill,
	.spill_done = spill_done,
	.preserved = on_preserved,
	.space_gone = space_gone,
};

/*
 * The checkpoint gets pages [i, i+n) without reading them:
 * those unchanged since the parent keep its blocks, the others (all holes)
 * become zero pointers. Engine lock held. 0 or -errno.
 */
static int keep_or_zero(struct cow_save *job, uint64_t i, uint64_t n)
{
	int err = 0;

	if (job->parent && bits_all(job->keep, i, n)) {	/* the usual: one run */
		job->stats.kept_pages += n;
		return cow__store_keep(job->b, i, n);
	}
	for (uint64_t k = i, e; k < i + n && !err; k = e) {
		bool kept = job->parent && bit(job->keep, k);

		for (e = k + 1; e < i + n && (job->parent && bit(job->keep, e)) == kept; e++)
			;
		if (kept) {
			err = cow__store_keep(job->b, k, e - k);
			job->stats.kept_pages += e - k;
		} else {
			err = cow__store_zero(job->b, k, e - k);
		}
	}
	return err;
}

/*
 * Save pages [i, i+n) (within one page-table leaf) without reading them
 * when none needs reading: each is unchanged since the parent or was never
 * written (a hole), the snapshot still holds all of them and no writer is
 * spilling one. Then the snapshot drops them at once (a whole leaf it
 * shares with the space is just unlinked). This is what makes a save cost
 * the pages written, not the space: a fresh 64 GiB space holding a few
 * keys read 64 GiB of zeroes at its first save. Engine lock held.
 * 1 when saved, 0 when the pages take the page-by-page path, or -errno.
 */
static int save_unread(struct cow_save *job, uint64_t i, uint64_t n)
{
	uint64_t npreserved;
	int err;

	if (bits_any(job->spilling, i, n))
		return 0;
	if (!cow__snap_full(job->x, i, n) ||
	    (!(job->parent && bits_all(job->keep, i, n)) && !cow__snap_holes(job->x, i, n)))
		return 0;
	if ((err = keep_or_zero(job, i, n)))
		return err;
	npreserved = bits_clear(job->preserved, i, n);
	job->stats.preserved_pages -= npreserved;
	cow__snap_drop_run(job->x, i, n);
	return 1;
}

/* Hold the memfd frames among frames[0..n) busy (file pages were read). */
static bool hold(const cow__frame *frames, uint64_t n)
{
	cow__frame f[SAVE_BATCH];
	unsigned m = 0;

	for (uint64_t k = 0; k < n; k++)
		if (frames[k] != COW__NO_FRAME)
			f[m++] = frames[k];
	return cow__frames_hold(f, m);
}

static void release(const cow__frame *frames, uint64_t n)
{
	cow__frame f[SAVE_BATCH];
	unsigned m = 0;

	for (uint64_t k = 0; k < n; k++)
		if (frames[k] != COW__NO_FRAME)
			f[m++] = frames[k];
	cow__frames_release(f, m);
}

/* Read the memfd frames among frames[0..n) into their places in buf, run
 * by run (with the engine lock held, or the frames held busy). */
static int read_held(const cow__frame *frames, uint64_t n, char *buf)
{
	for (uint64_t k = 0; k < n;) {
		uint64_t j = k;
		int err;

		if (frames[k] == COW__NO_FRAME) {
			k++;
			continue;
		}
		while (j < n && frames[j] != COW__NO_FRAME)
			j++;
		err = cow__frames_read(frames + k, j - k, buf + (k << COW__PAGE_SHIFT));
		if (err)
			return err;
		k = j;
	}
	return 0;
}

/*
 * Save pages [first, first+n). Under the engine lock: keep those unchanged
 * since the parent, and pick those the snapshot still holds (skipping any
 * a writer is spilling); their frames are held busy. Without the lock:
 * read them (a writer of one of them waits for that, only), release them,
 * write them out. Then drop them from the snapshot. When none needs
 * reading (save_unread), nothing is read.
 */
static int save_batch(struct cow_save *job, uint64_t first, uint64_t n, char *buf,
		      uint64_t *idx, cow__frame *frames)
{
	struct cow__member *x = job->x;
	uint64_t nread = 0;
	bool held;
	int err = 0;

	cow__engine_lock();
	if ((err = save_unread(job, first, n)) != 0) {	/* nothing to read */
		cow__engine_unlock();
		return err < 0 ? err : 0;
	}
	for (uint64_t i = first; i < first + n && !err; i++) {
		cow__frame f = cow__snap_frame(x, i);

		if (f == COW__NO_FRAME || bit(job->spilling, i))
			continue;		/* a writer spilled it, or is spilling it */
		if (job->parent && bit(job->keep, i)) {
			err = cow__store_keep(job->b, i, 1);
			job->stats.kept_pages++;
			drop_page(job, i);
			continue;
		}
		if (cow__frame_is_image(f)) {	/* a file page: read it now */
			err = cow__read_pages(x, i, 1, buf + (nread << COW__PAGE_SHIFT));
			frames[nread] = COW__NO_FRAME;
		} else {
			frames[nread] = f;
		}
		bit_put(job->taken, i, true);
		idx[nread++] = i;
	}
	held = !err && hold(frames, nread);
	if (!err && !held)
		err = read_held(frames, nread, buf);
	cow__engine_unlock();
	if (!err && held) {
		err = read_held(frames, nread, buf);
		cow__engine_lock();
		release(frames, nread);
		cow__engine_unlock();
	}
	if (!err && nread)
		err = cow__store_write_pages(job->b, idx, nread, buf);
	cow__engine_lock();
	for (uint64_t k = 0; k < nread; k++) {
		bit_put(job->taken, idx[k], false);
		if (!page_is_zero(buf + (k << COW__PAGE_SHIFT)))
			job->stats.written_pages++;
		drop_page(job, idx[k]);
	}
	cow__engine_unlock();
	return err;
}

/* Leaves saved whole per hold of the engine lock, at most (16 MiB). */
#define WHOLE_LEAVES 4u

/*
 * Save whole leaves from page i on (i at a leaf's start), as many as
 * save_unread takes in a row, up to WHOLE_LEAVES. *n gets the pages
 * saved (0: page i takes the page-by-page path). 0 or -errno.
 */
static int save_leaves(struct cow_save *job, uint64_t i, uint64_t *n)
{
	int r = 1;

	*n = 0;
	if (i & (COW__PT_FAN - 1))
		return 0;
	cow__engine_lock();
	for (unsigned k = 0; k < WHOLE_LEAVES && r == 1 && i + *n + COW__PT_FAN <= job->npages; k++)
		if ((r = save_unread(job, i + *n, COW__PT_FAN)) == 1)
			*n += COW__PT_FAN;
	cow__engine_unlock();
	return r < 0 ? r : 0;
}

/* Wait until no writer is spilling into job's build. */
static void wait_spills(struct cow_save *job)
{
	cow__engine_lock();
	while (job->inflight)
		cow__page_wait();
	cow__engine_unlock();
}

/* The saver thread's nice value: below the program's threads (Linux nice
 * is per thread), so that a save costs the foreground little CPU. */
#define SAVER_NICE 10

static void *saver_main(void *arg)
{
	struct cow_save *job = arg;
	char *buf = malloc(SAVE_BATCH << COW__PAGE_SHIFT);
	uint64_t *idx = malloc(SAVE_BATCH * sizeof *idx);
	cow__frame *frames = malloc(SAVE_BATCH * sizeof *frames);
	int err = buf && idx && frames ? 0 : -ENOMEM;

	/* Background: the program's own threads come first for the CPU. */
	setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), SAVER_NICE);
	for (uint64_t i = 0, n; i < job->npages && !err; i += n) {
		err = save_leaves(job, i, &n);
		if (!err && !n) {
			n = job->npages - i < SAVE_BATCH ? job->npages - i : SAVE_BATCH;
			err = save_batch(job, i, n, buf, idx, frames);
		}
		atomic_store(&job->done, i + n);
	}
	free(buf);
	free(idx);
	free(frames);
	wait_spills(job);
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
 * The freeze: snapshot m into the save's own snapshot, take the pages
 * written since the last save as the ones to write, and start counting
 * anew. Engine lock held. 0 or -errno.
 */
static int freeze(struct cow_save *job, struct cow__member *m)
{
	int err_after;

	job->x = cow__save_freeze(m, job, job->keep, &err_after);
	return job->x ? err_after : -errno;
}

/* Free the job's memory (nothing in the engine). */
static void job_free_memory(struct cow_save *job)
{
	free(job->keep);
	free(job->preserved);
	free(job->taken);
	free(job->spilling);
	free(job);
}

/* A job and its bitmaps, zeroed; NULL when memory is short. */
static struct cow_save *job_alloc(size_t npages)
{
	struct cow_save *job = calloc(1, sizeof *job);
	size_t words = (npages + 63) / 64;

	if (!job)
		return NULL;
	job->keep = calloc(words, sizeof(uint64_t));
	job->preserved = calloc(words, sizeof(uint64_t));
	job->taken = calloc(words, sizeof(uint64_t));
	job->spilling = calloc(words, sizeof(uint64_t));
	if (!job->keep || !job->preserved || !job->taken || !job->spilling) {
		job_free_memory(job);
		return NULL;
	}
	return job;
}

/* Free what start allocated; x is released with the engine lock held. */
static void job_free(struct cow_save *job)
{
	if (job->x) {
		cow__engine_lock();
		cow__save_release(job->x, job->space);
		cow__engine_unlock();
	}
	job_free_memory(job);
}

/* After a failed save, the pages it took as unchanged are "written" again. */
static void restore_dirty(struct cow_save *job)
{
	struct cow__member *m = job->space;

	if (!m)
		return;
	cow__pages_rewritten(m, job->keep);
}

COW_API cow_save *cow_save_start(cow_store *st, cow_space *s, size_t mem_budget)
{
	struct cow__member *m = s ? &s->m : NULL;
	struct cow_save *job;
	uint64_t t0;
	struct timespec ts;
	int err = m ? cow__member_check(m, COW__KIND_SPACE) : -EINVAL;

	if (!err && (!st || cow__space_is_vfork_child(m)))
		err = -EINVAL;
	if (err) {
		errno = -err;
		return NULL;
	}
	job = job_alloc(cow__space_pages(m));
	if (!job) {
		errno = ENOMEM;
		return NULL;
	}
	job->gen = cow__gen;
	job->st = st;
	job->space = m;
	job->npages = cow__space_pages(m);
	job->budget_pages = mem_budget >> COW__PAGE_SHIFT;
	atomic_init(&job->done, 0);

	cow__engine_lock();
	if (cow__save_running(m))
		err = -EBUSY;
	job->parent = cow__space_saved_in(m, st, st->serial);
	cow__engine_unlock();
	if (!err) {
		err = cow__store_begin(st, job->npages, job->parent, &job->b);
		if (err == -ENOENT && job->parent)	/* dropped: write everything */
			err = cow__store_begin(st, job->npages, job->parent = 0, &job->b);
	}
	if (err) {
		job_free_memory(job);
		errno = -err;
		return NULL;
	}

	cow__page_events_set(&save_events);
	cow__freeze_begin(m);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	t0 = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	cow__engine_lock();
	cow__vfork_wait(m);
	err = cow__save_running(m) ? -EBUSY : freeze(job, m);
	if (!err && !job->parent)
		memset(job->keep, 0, ((job->npages + 63) / 64) * sizeof(uint64_t));
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
	if (job->gen != cow__gen) {
		/* Inherited through fork(): the saver thread and the snapshot
		 * are the parent's. Free the copy, touch nothing else. */
		job_free_memory(job);
		return -ESTALE;
	}
	pthread_join(job->thread, NULL);
	err = job->err;
	cow__engine_lock();
	st = job->stats;
	if (job->space) {
		if (err) {
			restore_dirty(job);
		} else {
			cow__space_set_saved(job->space, job->st, job->st->serial, job->id);
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
