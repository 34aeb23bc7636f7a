/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * storetest.h — helpers shared by the store's tests (tests/test_store*.c):
 * temporary directories, deterministic page content, and committing pages
 * from plain memory through the build interface (no engine needed).
 */
#ifndef COW_STORETEST_H
#define COW_STORETEST_H

#include <cow.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store.h"
#include "testlib.h"

#define PG 4096u

/* A fresh directory under $TMPDIR, else /dev/shm (the tests write many
 * small files; the power-loss tests simulate the disk), else /tmp. The
 * caller frees the string. */
static inline char *ts_dir(void)
{
	const char *tmp = getenv("TMPDIR");
	char *d = malloc(512);

	if (!tmp || !*tmp)
		tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(d, 512, "%s/cowstore-XXXXXX", tmp);
	assert_non_null(mkdtemp(d));
	return d;
}

/* dir/name in a static buffer (one at a time per slot). */
static inline const char *ts_path(const char *dir, const char *name)
{
	static char buf[4][600];
	static int slot;
	char *p = buf[slot++ % 4];

	snprintf(p, 600, "%s/%s", dir, name);
	return p;
}

/* rm -rf dir and free the string. */
static inline void ts_rmdir(char *dir)
{
	char cmd[600];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	free(dir);
}

/* Page content that depends only on (seed, page): never all zero. */
static inline void ts_fill(unsigned char *pg, uint64_t seed, uint64_t page)
{
	struct t_rng r;

	t_rng_seed(&r, seed * 0x9e3779b97f4a7c15ull + page + 1);
	for (unsigned i = 0; i < PG; i += 8) {
		uint64_t v = t_rng_next(&r);

		memcpy(pg + i, &v, 8);
	}
	pg[0] |= 1;
}

/*
 * Commit npages pages from mem through the build interface. With a parent,
 * only pages whose changed[] byte is set are written, the others kept;
 * without, every page is written. Zero pages are written like the others
 * (the store finds them). Returns 0 or the error, *id the new id.
 */
static inline int ts_commit(cow_store *st, const unsigned char *mem, uint64_t npages,
			    uint64_t parent, const unsigned char *changed, uint64_t *id)
{
	struct cow__build *b;
	int err = cow__store_begin(st, npages, parent, &b);

	if (err)
		return err;
	for (uint64_t i = 0, run; i < npages && !err; i += run) {
		int write = !parent || !changed || changed[i];

		for (run = 1; i + run < npages; run++)
			if ((!parent || !changed || changed[i + run]) != write)
				break;
		err = write ? cow__store_write(b, i, run, mem + i * PG)
			    : cow__store_keep(b, i, run);
	}
	if (err) {
		cow__store_abort(b);
		return err;
	}
	return cow__store_finish(b, id);
}

/* Assert that checkpoint id holds exactly want (npages pages). */
static inline void ts_expect(cow_store *st, uint64_t id, const unsigned char *want,
			     uint64_t npages)
{
	unsigned char *got = malloc(npages * PG);
	int err = cow__store_read(st, id, got, npages * PG);

	if (err)
		fprintf(stderr, "checkpoint %llu: %s (%s)\n", (unsigned long long)id,
			cow_strerror(err), cow_store_errmsg(st));
	assert_int_equal(err, 0);
	for (uint64_t i = 0; i < npages; i++)
		if (memcmp(got + i * PG, want + i * PG, PG)) {
			fprintf(stderr, "checkpoint %llu: page %llu differs\n",
				(unsigned long long)id, (unsigned long long)i);
			fail();
		}
	free(got);
}

/* Assert the store verifies and its block counts are exact. */
static inline void ts_check(cow_store *st)
{
	int err = cow_store_verify(st);

	if (err)
		fprintf(stderr, "verify: %s\n", cow_store_errmsg(st));
	assert_int_equal(err, 0);
	err = cow__store_check_counts(st);
	if (err)
		fprintf(stderr, "counts: %s\n", cow_store_errmsg(st));
	assert_int_equal(err, 0);
}

/* Copy file from to file to (both paths). */
static inline void ts_copy(const char *from, const char *to)
{
	int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	char buf[65536];
	ssize_t n;

	assert_true(in >= 0 && out >= 0);
	while ((n = read(in, buf, sizeof buf)) > 0)
		assert_int_equal(write(out, buf, (size_t)n), n);
	close(in);
	close(out);
}

/* ---- states of a store: checkpoints and their content (TS_NP pages) ---- */

#define TS_NP 300u

/* A state of the store: the checkpoints and their content. */
struct ts_state {
	size_t n;
	uint64_t id[8];
	unsigned char *mem[8];
};

/* 1 if the store at path holds exactly state s. */
static inline int ts_holds(const char *path, const struct ts_state *s)
{
	cow_store *st = cow_store_open(path, 0);
	unsigned char *got = malloc(TS_NP * PG);
	uint64_t ids[8];
	size_t n;
	int same;

	if (!st)
		fprintf(stderr, "open: %s (%s)\n", strerror(errno), cow_store_errmsg(NULL));
	assert_non_null(st);
	assert_int_equal(cow_store_list(st, ids, 8, &n), 0);
	same = n == s->n;
	for (size_t i = 0; i < n && same; i++) {
		same = ids[i] == s->id[i] && cow__store_read(st, ids[i], got, TS_NP * PG) == 0 &&
		       memcmp(got, s->mem[i], TS_NP * PG) == 0;
	}
	if (same)
		ts_check(st);
	cow_store_close(st);
	free(got);
	return same;
}

static inline void ts_state_add(struct ts_state *s, uint64_t id, const unsigned char *mem)
{
	s->id[s->n] = id;
	s->mem[s->n] = malloc(TS_NP * PG);
	memcpy(s->mem[s->n++], mem, TS_NP * PG);
}

static inline void ts_state_copy(struct ts_state *to, const struct ts_state *from)
{
	to->n = 0;
	for (size_t i = 0; i < from->n; i++)
		ts_state_add(to, from->id[i], from->mem[i]);
}

static inline void ts_state_free(struct ts_state *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->mem[i]);
	s->n = 0;
}

enum ts_op { TS_INCREMENTAL, TS_FULL, TS_DROP, TS_NOPS };

/* Run op on the open store; the state it leads to goes to after. */
static inline int ts_run_op(cow_store *st, enum ts_op op, const struct ts_state *before,
		  struct ts_state *after)
{
	unsigned char *mem = malloc(TS_NP * PG), changed[TS_NP] = { 0 };
	uint64_t last = before->id[before->n - 1], id = 0;
	int err = 0;

	ts_state_copy(after, before);
	memcpy(mem, before->mem[before->n - 1], TS_NP * PG);
	switch (op) {
	case TS_INCREMENTAL:
		for (unsigned p = 0; p < TS_NP; p += 13) {
			changed[p] = 1;
			ts_fill(mem + p * PG, 77, p);
		}
		err = ts_commit(st, mem, TS_NP, last, changed, &id);
		ts_state_add(after, cow__store_next_id(st) - (err == 0), mem);
		break;
	case TS_FULL:
		for (unsigned p = 0; p < TS_NP; p++)
			if (p % 5)
				ts_fill(mem + p * PG, 78, p);
			else
				memset(mem + p * PG, 0, PG);
		err = ts_commit(st, mem, TS_NP, 0, NULL, &id);
		ts_state_add(after, cow__store_next_id(st) - (err == 0), mem);
		break;
	default:
		err = cow_store_drop(st, before->id[0]);
		free(after->mem[0]);
		after->n--;
		memmove(after->id, after->id + 1, after->n * sizeof *after->id);
		memmove(after->mem, after->mem + 1, after->n * sizeof *after->mem);
		break;
	}
	free(mem);
	return err;
}

/* The base store: three checkpoints, the second and third incremental. */
static inline void ts_make_base(const char *path, struct ts_state *s)
{
	cow_store *st = cow_store_open(path, COW_STORE_CREATE);
	unsigned char *mem = malloc(TS_NP * PG), changed[TS_NP];
	uint64_t id = 0;

	s->n = 0;
	for (int k = 0; k < 3; k++) {
		for (unsigned p = 0; p < TS_NP; p++) {
			changed[p] = k == 0 || p % (k + 2) == 0;
			if (changed[p])
				ts_fill(mem + p * PG, (uint64_t)k + 1, p);
		}
		assert_int_equal(ts_commit(st, mem, TS_NP, id, changed, &id), 0);
		ts_state_add(s, id, mem);
	}
	assert_int_equal(cow_store_close(st), 0);
	free(mem);
}

#endif
