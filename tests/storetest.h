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

/* A fresh directory under $TMPDIR (or /tmp); caller frees the string. */
static inline char *ts_dir(void)
{
	const char *tmp = getenv("TMPDIR");
	char *d = malloc(512);

	snprintf(d, 512, "%s/cowstore-XXXXXX", tmp && *tmp ? tmp : "/tmp");
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

#endif
