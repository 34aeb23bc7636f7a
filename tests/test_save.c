/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Background save: the checkpoint holds the content at the freeze however
 * the program writes meanwhile; preserved copies stay within the budget;
 * saves are incremental; failures lose nothing.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cow.h>

#include "testlib.h"
#include "store_io.h"
#include "internal.h"

#define P COW_PAGE_SIZE
#define PAGES 512

static char path[64];

static int setup(void **state)
{
	strcpy(path, "/tmp/cow-save-test-XXXXXX");
	close(mkstemp(path));
	unlink(path);
	return 0;
}

static int teardown(void **state)
{
	unlink(path);
	return 0;
}

static void fill(cow_space *s, unsigned seed)
{
	unsigned char *b = cow_base(s);

	for (size_t k = 0; k < cow_size(s); k += 64)
		b[k] = (unsigned char)(k / 64 * 31 + seed);
}

/* The checkpoint's content must equal want (len bytes). */
static void expect_checkpoint(cow_store *st, uint64_t id, const unsigned char *want, size_t len)
{
	cow_snap *x = cow_store_load(st, id);
	unsigned char *got = malloc(len);

	assert_non_null(x);
	assert_int_equal(cow_snap_read(x, 0, got, len), 0);
	assert_memory_equal(got, want, len);
	free(got);
	cow_snap_release(x);
}

struct writer {
	cow_space *s;
	atomic_bool *stop;
	uint64_t seed;
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	struct t_rng r;
	unsigned char *b = cow_base(w->s);

	t_rng_seed(&r, w->seed);
	while (!atomic_load(w->stop))
		b[t_rng_below(&r, PAGES) * P + t_rng_below(&r, P)] = (unsigned char)t_rng_next(&r);
	return NULL;
}

/* Save under 3 writer threads with a budget; check content and the budget. */
static void save_under_writers(size_t budget_pages)
{
	cow_store *st = cow_store_open(path, COW_STORE_CREATE);
	cow_space *s = cow_space_create(PAGES * P, 0);
	unsigned char *frozen = malloc(PAGES * P);
	atomic_bool stop = false;
	struct writer w[3];
	pthread_t th[3];
	struct cow_save_stats ss;
	cow_save *job;
	uint64_t id = 0, done, total;

	assert_non_null(st);
	fill(s, 1);
	memcpy(frozen, cow_base(s), PAGES * P);
	job = cow_save_start(st, s, budget_pages * P);
	assert_non_null(job);
	for (int k = 0; k < 3; k++) {
		w[k] = (struct writer){ s, &stop, t_rng_next(&(struct t_rng){ (uint64_t)k + 7 }) };
		assert_int_equal(pthread_create(&th[k], NULL, writer_main, &w[k]), 0);
	}
	assert_int_equal(cow_save_progress(job, &done, &total), 0);
	assert_int_equal(total, PAGES);
	assert_int_equal(cow_save_finish(job, &id, &ss), 0);
	atomic_store(&stop, true);
	for (int k = 0; k < 3; k++)
		pthread_join(th[k], NULL);
	assert_true(id > 0);
	print_message("budget %zu pages: written %lu, spilled %lu, peak preserved %lu, freeze %lu us\n",
		      budget_pages, (unsigned long)ss.written_pages, (unsigned long)ss.spilled_pages,
		      (unsigned long)ss.peak_preserved_pages, (unsigned long)(ss.freeze_ns / 1000));
	assert_true(ss.peak_preserved_pages <= budget_pages);
	assert_int_equal(ss.written_pages + ss.spilled_pages, PAGES);	/* each once */
	assert_int_equal(ss.preserved_pages, 0);
	expect_checkpoint(st, id, frozen, PAGES * P);
	assert_int_equal(cow_store_verify(st), 0);
	t_check_invariants();
	cow_space_destroy(s);
	assert_int_equal(cow_store_close(st), 0);
	free(frozen);
	assert_int_equal(cow_frames_in_use(), 0);
}

static void save_with_room(void **state)
{
	T_START();
	save_under_writers(PAGES);
}

static void save_with_a_small_budget(void **state)
{
	T_START();
	save_under_writers(16);
}

static void save_with_no_budget(void **state)
{
	T_START();
	save_under_writers(0);
}

static void saves_are_incremental(void **state)
{
	T_START();
	cow_store *st = cow_store_open(path, COW_STORE_CREATE);
	cow_space *s = cow_space_create(PAGES * P, 0);
	unsigned char *b = cow_base(s), *want = malloc(PAGES * P);
	struct cow_save_stats ss;
	uint64_t id1, id2, id3;
	cow_snap *before;
	unsigned char *first = malloc(PAGES * P);

	fill(s, 2);
	memcpy(first, b, PAGES * P);
	assert_int_equal(cow_save_finish(cow_save_start(st, s, 0), &id1, &ss), 0);
	before = cow_snapshot(s);
	assert_int_equal(ss.kept_pages, 0);		/* the first save writes all */
	for (int i = 0; i < 10; i++)
		b[(size_t)i * 40 * P + 5] ^= 0xff;	/* 10 pages change */
	memcpy(want, b, PAGES * P);
	assert_int_equal(cow_save_finish(cow_save_start(st, s, 1 << 20), &id2, &ss), 0);
	assert_int_equal(ss.written_pages, 10);
	assert_int_equal(ss.kept_pages, PAGES - 10);
	expect_checkpoint(st, id2, want, PAGES * P);
	/* Nothing written: nothing to write. */
	assert_int_equal(cow_save_finish(cow_save_start(st, s, 0), &id3, &ss), 0);
	assert_int_equal(ss.written_pages, 0);
	expect_checkpoint(st, id3, want, PAGES * P);
	/* The first checkpoint is intact. */
	expect_checkpoint(st, id1, first, PAGES * P);
	/* A restore changes pages too: the 10 it copies back are saved again. */
	assert_int_equal(cow_restore(s, before), 0);
	cow_snap_release(before);
	assert_int_equal(cow_save_finish(cow_save_start(st, s, 0), &id3, &ss), 0);
	assert_int_equal(ss.written_pages, 10);
	expect_checkpoint(st, id3, first, PAGES * P);
	/* A restore from a loaded checkpoint copies every page (other frames). */
	{
		cow_snap *x = cow_store_load(st, id2);

		assert_int_equal(cow_restore(s, x), 0);
		cow_snap_release(x);
		assert_int_equal(cow_save_finish(cow_save_start(st, s, 0), &id3, &ss), 0);
		expect_checkpoint(st, id3, want, PAGES * P);
	}
	assert_int_equal(cow_store_verify(st), 0);
	cow_space_destroy(s);
	cow_store_close(st);
	free(want);
	free(first);
}

static void space_destroyed_during_save(void **state)
{
	T_START();
	cow_store *st = cow_store_open(path, COW_STORE_CREATE);
	cow_space *s = cow_space_create(PAGES * P, 0);
	unsigned char *want = malloc(PAGES * P);
	cow_save *job;
	uint64_t id;

	fill(s, 3);
	memcpy(want, cow_base(s), PAGES * P);
	job = cow_save_start(st, s, 0);
	assert_non_null(job);
	assert_null(cow_save_start(st, s, 0));	/* one at a time */
	assert_int_equal(errno, EBUSY);
	cow_space_destroy(s);
	assert_int_equal(cow_save_wait(job, &id), 0);
	expect_checkpoint(st, id, want, PAGES * P);
	cow_store_close(st);
	free(want);
	assert_int_equal(cow_frames_in_use(), 0);
}

static void failed_save_loses_nothing(void **state)
{
	T_START();
	cow_store *st = cow_store_open(path, COW_STORE_CREATE);
	cow_space *s = cow_space_create(PAGES * P, 0);
	unsigned char *b = cow_base(s), *want = malloc(PAGES * P);
	struct cow__io_test io;
	struct cow_save_stats ss;
	uint64_t id1, id2, ids[8];
	size_t n;
	cow_save *job;

	fill(s, 4);
	assert_int_equal(cow_save_wait(cow_save_start(st, s, 0), &id1), 0);
	memcpy(want, b, PAGES * P);
	for (int i = 0; i < 5; i++)
		b[(size_t)i * P] ^= 1;
	memset(&io, 0, sizeof io);
	io.fault[COW__IO_WRITE] = (struct cow__io_fault){ 1, ENOSPC, 1 };
	cow__io_test = &io;
	job = cow_save_start(st, s, 0);
	assert_non_null(job);
	assert_int_equal(cow_save_wait(job, &id2), -ENOSPC);
	cow__io_test = NULL;
	assert_int_equal(cow_store_list(st, ids, 8, &n), 0);
	assert_int_equal(n, 1);				/* only the first checkpoint */
	expect_checkpoint(st, id1, want, PAGES * P);
	/* The next save writes the 5 pages the failed one did not. */
	assert_int_equal(cow_save_finish(cow_save_start(st, s, 0), &id2, &ss), 0);
	assert_int_equal(ss.written_pages, 5);
	expect_checkpoint(st, id2, b, PAGES * P);
	cow_space_destroy(s);
	cow_store_close(st);
	free(want);
}

/* Loading a big checkpoint copies nothing: its pages stay in the file. */
static void load_is_lazy(void **state)
{
	T_START();
	size_t size = 1ul << 30, pages = size / P;
	cow_store *st = cow_store_open(path, COW_STORE_CREATE);
	cow_space *s = cow_space_create(size, 0), *t;
	unsigned char *b = cow_base(s);
	struct cow_stats stt;
	uint64_t id, frames;
	cow_snap *x;

	for (size_t i = 0; i < pages; i++)
		b[i * P] = (unsigned char)(i * 3) | 1;	/* no zero page */
	assert_int_equal(cow_save_wait(cow_save_start(st, s, 0), &id), 0);
	cow_space_destroy(s);
	frames = cow_frames_in_use();
	x = cow_store_load(st, id);
	assert_non_null(x);
	t = cow_space_from_snap(x);
	assert_non_null(t);
	assert_int_equal(cow_stats_get(t, &stt), 0);
	assert_int_equal(stt.defrags, 0);		/* mapped, not copied */
	assert_int_equal(cow_frames_in_use(), frames);	/* no frame filled */
	b = cow_base(t);
	for (size_t i = 0; i < pages; i += 997)
		assert_int_equal(b[i * P], (unsigned char)((i * 3) | 1));
	b[5 * P] = 1;					/* a write copies one page */
	assert_int_equal(cow_frames_in_use(), frames + 1);
	/* A space made from a checkpoint counts as saved there: the next
	 * save writes only the page that changed. */
	{
		struct cow_save_stats ss;
		uint64_t id2;

		assert_int_equal(cow_save_finish(cow_save_start(st, t, 0), &id2, &ss), 0);
		assert_int_equal(ss.written_pages, 1);
		assert_int_equal(ss.kept_pages, pages - 1);
	}
	cow_space_destroy(t);
	cow_snap_release(x);
	cow_store_close(st);
}

static void bad_arguments(void **state)
{
	T_START();
	cow_store *st = cow_store_open(path, COW_STORE_CREATE);
	cow_space *s = cow_space_create(P, 0), *c;

	assert_null(cow_save_start(NULL, s, 0));
	assert_int_equal(errno, EINVAL);
	assert_null(cow_save_start(st, NULL, 0));
	c = cow_vfork(s);
	assert_null(cow_save_start(st, c, 0));
	assert_int_equal(errno, EINVAL);
	cow_space_destroy(c);
	assert_int_equal(cow_save_progress(NULL, NULL, NULL), -EINVAL);
	assert_int_equal(cow_save_wait(NULL, NULL), -EINVAL);
	cow_space_destroy(s);
	cow_store_close(st);
}

/* Statistics count what was written: zero pages get no block. */
static void stats_count_what_was_written(void **state)
{
	T_START();
	cow_store *st = cow_store_open(path, COW_STORE_CREATE);
	cow_space *s = cow_space_create(1024 * P, 0);
	struct cow_save_stats ss;
	cow_save *job;
	uint64_t id;

	for (int k = 0; k < 10; k++)
		((char *)cow_base(s))[k * 100 * P] = 1;
	job = cow_save_start(st, s, 1 << 30);
	assert_non_null(job);
	assert_int_equal(cow_save_finish(job, &id, &ss), 0);
	assert_int_equal(ss.written_pages, 10);
	cow_space_destroy(s);
	cow_store_close(st);
}

/* Pages libcow read out of frames since the last call. */
static uint64_t pages_read_since(uint64_t *mark)
{
	uint64_t now = __atomic_load_n(&cow__test_pages_read, __ATOMIC_RELAXED), n = now - *mark;

	*mark = now;
	return n;
}

/* Checkpoint id holds zeroes everywhere but byte 7 of the pages in at[]
 * (value v[k]); read back 4 MiB at a time. */
static void expect_sparse(cow_store *st, uint64_t id, size_t pages, const size_t *at,
			  const unsigned char *v, int n)
{
	cow_snap *x = cow_store_load(st, id);
	unsigned char *got = malloc(1024 * P), *want = calloc(1024, P);

	assert_non_null(x);
	for (size_t i = 0; i < pages; i += 1024) {
		assert_int_equal(cow_snap_read(x, i * P, got, 1024 * P), 0);
		for (int k = 0; k < n; k++)
			if (at[k] >= i && at[k] < i + 1024)
				want[(at[k] - i) * P + 7] = v[k];
		assert_memory_equal(got, want, 1024 * P);
		for (int k = 0; k < n; k++)
			if (at[k] >= i && at[k] < i + 1024)
				want[(at[k] - i) * P + 7] = 0;
	}
	free(got);
	free(want);
	cow_snap_release(x);
}

/*
 * A save costs the pages that hold data, not the size of the space: the
 * first save of a 256 MiB space holding three pages reads the page-table
 * leaves those pages are in (4 MiB each) and none of the 65,000 pages never
 * written (the old saver read all of them: a fresh 64 GiB space with a few
 * keys took 9 s to save). The next save, after one page changed, reads
 * that page. The same for cow_store_commit. The checkpoints hold exactly
 * the content.
 */
static void saves_read_only_what_holds_data(void **state)
{
	T_START();
	const size_t pages = 65536;
	size_t at[4] = { 5, 30000, 65530, 30001 };
	unsigned char v[4] = { 0x11, 0x22, 0x33, 0x44 };
	cow_store *st = cow_store_open(path, COW_STORE_CREATE);
	cow_space *s = cow_space_create(pages * P, 0);
	unsigned char *b = cow_base(s);
	struct cow_save_stats ss;
	uint64_t mark = 0, id;
	cow_snap *x;

	assert_non_null(st);
	assert_non_null(s);
	for (int k = 0; k < 3; k++)
		b[at[k] * P + 7] = v[k];
	pages_read_since(&mark);
	assert_int_equal(cow_save_finish(cow_save_start(st, s, 0), &id, &ss), 0);
	assert_in_range(pages_read_since(&mark), 3, 3 * 1024);
	assert_int_equal(ss.written_pages, 3);
	expect_sparse(st, id, pages, at, v, 3);

	b[at[3] * P + 7] = v[3];
	pages_read_since(&mark);
	assert_int_equal(cow_save_finish(cow_save_start(st, s, 0), &id, &ss), 0);
	assert_in_range(pages_read_since(&mark), 1, 64);
	assert_int_equal(ss.written_pages, 1);
	assert_int_equal(ss.kept_pages, pages - 1);
	expect_sparse(st, id, pages, at, v, 4);
	assert_int_equal(cow_store_verify(st), 0);
	cow_store_close(st);

	/* cow_store_commit of a snapshot into a new store: the same. */
	unlink(path);
	st = cow_store_open(path, COW_STORE_CREATE);
	assert_non_null(st);
	x = cow_snapshot(s);
	pages_read_since(&mark);
	assert_int_equal(cow_store_commit(st, x, &id), 0);
	assert_in_range(pages_read_since(&mark), 4, 3 * 1024);
	cow_snap_release(x);
	expect_sparse(st, id, pages, at, v, 4);
	assert_int_equal(cow_store_verify(st), 0);
	cow_space_destroy(s);
	cow_store_close(st);
}

/* Resident and peak memory of this process in KiB (/proc/self/status). */
static void memory_kib(long *rss, long *hwm)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");

	assert_non_null(f);
	while (fgets(line, sizeof line, f)) {
		sscanf(line, "VmRSS: %ld", rss);
		sscanf(line, "VmHWM: %ld", hwm);
	}
	fclose(f);
}

/* Reset the peak (VmHWM) to the current resident size; 0 or -1. */
static int reset_peak(void)
{
	FILE *f = fopen("/proc/self/clear_refs", "w");
	int ok = f && fputs("5", f) >= 0;

	if (f && fclose(f))
		ok = 0;
	return ok ? 0 : -1;
}

/* Page i of checkpoint id reads as page i of b. */
static void expect_page(cow_store *st, uint64_t id, const unsigned char *b, size_t i)
{
	cow_snap *x = cow_store_load(st, id);
	unsigned char got[P];

	assert_non_null(x);
	assert_int_equal(cow_snap_read(x, i * P, got, P), 0);
	assert_memory_equal(got, b + i * P, P);
	cow_snap_release(x);
}

/*
 * The next save of a big space that changed one page takes memory for the
 * leaves it changes, not a page table of the whole space: the store's
 * in-memory page table was flat, 16 bytes a page (32 MiB for this 8 GiB
 * space, allocated and filled by every save), and the block map's promise
 * of a block per page touched 4 bytes a page more. The peak is measured
 * across the save (VmHWM reset just before it). The checkpoint holds the
 * change and the rest.
 */
static void incremental_save_takes_memory_for_what_changed(void **state)
{
	T_START();
	const size_t pages = (8ul << 30) / P, step = pages / 64;
	cow_store *st = cow_store_open(path, COW_STORE_CREATE);
	cow_space *s = cow_space_create(pages * P, 0);
	unsigned char *b = cow_base(s);
	long rss = 0, hwm = 0, rss2 = 0;
	uint64_t id;

	assert_non_null(st);
	assert_non_null(s);
	for (size_t k = 0; k < 64; k++)
		memset(b + k * step * P, (int)k + 1, P);
	assert_int_equal(cow_save_finish(cow_save_start(st, s, 0), &id, NULL), 0);
	b[(32 * step + 1) * P + 5] = 0x77;
	if (reset_peak()) {
		print_message("cannot reset VmHWM (/proc/self/clear_refs): memory not checked\n");
		skip();
	}
	memory_kib(&rss, &hwm);
	assert_int_equal(cow_save_finish(cow_save_start(st, s, 0), &id, NULL), 0);
	memory_kib(&rss2, &hwm);
	print_message("save of an 8 GiB space, one page changed: peak +%ld KiB\n", hwm - rss);
	assert_in_range(hwm - rss, 0, 8 * 1024);
	expect_page(st, id, b, 32 * step + 1);
	for (size_t k = 0; k < 64; k += 7)
		expect_page(st, id, b, k * step);
	expect_page(st, id, b, 12345);
	assert_int_equal(cow_store_verify(st), 0);
	cow_space_destroy(s);
	cow_store_close(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(save_with_room, setup, teardown),
		cmocka_unit_test_setup_teardown(save_with_a_small_budget, setup, teardown),
		cmocka_unit_test_setup_teardown(save_with_no_budget, setup, teardown),
		cmocka_unit_test_setup_teardown(saves_are_incremental, setup, teardown),
		cmocka_unit_test_setup_teardown(space_destroyed_during_save, setup, teardown),
		cmocka_unit_test_setup_teardown(failed_save_loses_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(load_is_lazy, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_arguments, setup, teardown),
		cmocka_unit_test_setup_teardown(stats_count_what_was_written, setup, teardown),
		cmocka_unit_test_setup_teardown(saves_read_only_what_holds_data, setup, teardown),
		cmocka_unit_test_setup_teardown(incremental_save_takes_memory_for_what_changed,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
