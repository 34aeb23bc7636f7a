/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_store_badfile.c — damaged and hostile files.
 *
 * A small valid store (two checkpoints, the second incremental) is damaged
 * in every way we can think of: one bit flipped at every byte, many random
 * flips, truncated at every sector, wrong magic, wrong version, lengths and
 * counts made huge with their checksums recomputed (so only the structure
 * checks can catch them), random garbage. Whatever the damage:
 *   - open fails with EBADMSG or EPROTONOSUPPORT and says why, or
 *   - it opens, and every checkpoint it lists either reads back exactly
 *     what was committed or fails with EBADMSG (never wrong content), and
 *     verify reports any damage that reading would hit;
 *   - nothing crashes, and no allocation is larger than the file calls for.
 * The same files are the fuzzer's seeds (fuzz/seeds/fuzz_store/), written
 * by test_write_seeds when COW_WRITE_SEEDS names a directory.
 */
#include "storetest.h"

#define NP 3u

static unsigned char oracle[3][NP * PG];	/* [id]: content of checkpoint id */

/* The small store: checkpoint 1 (pages: data, zero, data) and checkpoint 2
 * (page 2 rewritten). */
static void make_small(const char *path)
{
	cow_store *st = cow_store_open(path, COW_STORE_CREATE);
	unsigned char changed[NP] = { 0, 0, 1 };
	uint64_t id;

	memset(oracle, 0, sizeof oracle);
	ts_fill(oracle[1], 1, 0);
	ts_fill(oracle[1] + 2 * PG, 1, 2);
	assert_int_equal(ts_commit(st, oracle[1], NP, 0, NULL, &id), 0);
	assert_int_equal(id, 1);
	memcpy(oracle[2], oracle[1], sizeof oracle[1]);
	ts_fill(oracle[2] + 2 * PG, 2, 2);
	assert_int_equal(ts_commit(st, oracle[2], NP, 1, changed, &id), 0);
	assert_int_equal(id, 2);
	assert_int_equal(cow_store_close(st), 0);
}

enum outcome { REJECTED, INTACT, OLDER, DETECTED, NOUTCOMES };

/*
 * judge — open path read-only and classify what it holds (see the top of
 * the file for what is allowed).
 */
static enum outcome judge(const char *path)
{
	cow_store *st = cow_store_open(path, COW_STORE_RDONLY);
	unsigned char got[NP * PG];
	int verified, bad = 0;
	uint64_t ids[4];
	size_t n;

	if (!st) {
		if (errno != EBADMSG && errno != EPROTONOSUPPORT)
			fprintf(stderr, "open: %s (%s)\n", strerror(errno), cow_store_errmsg(NULL));
		assert_true(errno == EBADMSG || errno == EPROTONOSUPPORT);
		assert_true(cow_store_errmsg(NULL)[0] != 0);
		return REJECTED;
	}
	assert_int_equal(cow_store_list(st, ids, 4, &n), 0);
	assert_true(n <= 2);
	verified = cow_store_verify(st);
	assert_true(verified == 0 || verified == -EBADMSG);
	if (verified)
		assert_true(cow_store_errmsg(st)[0] != 0);
	for (size_t i = 0; i < n; i++) {
		struct cow_store_info info;
		int err;

		assert_true(ids[i] == 1 || ids[i] == 2);
		assert_int_equal(cow_store_info(st, ids[i], &info), 0);
		if (info.damaged) {		/* its page table is unreadable */
			bad = 1;
			continue;
		}
		assert_int_equal(info.pages, NP);	/* the record's checksum held */
		err = cow__store_read(st, ids[i], got, sizeof got);
		assert_true(err == 0 || err == -EBADMSG);
		if (!err)
			assert_memory_equal(got, oracle[ids[i]], sizeof got);
		else
			bad = 1;
	}
	cow_store_close(st);
	if (bad)
		assert_int_equal(verified, -EBADMSG);	/* verify sees what reads hit */
	if (verified)
		return DETECTED;
	return n == 2 ? INTACT : OLDER;
}

struct small {
	char *dir;
	const char *good, *bad;
	unsigned char *bytes;
	size_t len;
};

static void small_setup(struct small *s)
{
	FILE *f;

	s->dir = ts_dir();
	s->good = strdup(ts_path(s->dir, "good"));
	s->bad = strdup(ts_path(s->dir, "bad"));
	make_small(s->good);
	f = fopen(s->good, "rb");
	fseek(f, 0, SEEK_END);
	s->len = (size_t)ftell(f);
	rewind(f);
	s->bytes = malloc(s->len);
	assert_int_equal(fread(s->bytes, 1, s->len, f), s->len);
	fclose(f);
}

static void small_free(struct small *s)
{
	free((void *)s->good);
	free((void *)s->bad);
	free(s->bytes);
	ts_rmdir(s->dir);
}

/* Write len bytes of buf as the bad file. */
static void put(const struct small *s, const unsigned char *buf, size_t len)
{
	int fd = open(s->bad, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

static void report(const char *what, const unsigned *count)
{
	fprintf(stderr, "[store_badfile] %s: %u rejected, %u intact, %u older state, "
		"%u detected\n", what, count[REJECTED], count[INTACT], count[OLDER],
		count[DETECTED]);
}

static void test_flip_every_byte(void **state)
{
	struct small s;
	unsigned count[NOUTCOMES] = { 0 };
	unsigned char *buf;

	small_setup(&s);
	assert_int_equal(judge(s.good), INTACT);
	buf = malloc(s.len);
	for (size_t off = 0; off < s.len; off++) {
		memcpy(buf, s.bytes, s.len);
		buf[off] ^= (unsigned char)(1u << (off % 8));
		put(&s, buf, s.len);
		count[judge(s.bad)]++;
	}
	report("one bit flipped at every byte", count);
	assert_true(count[REJECTED] > 0 && count[DETECTED] > 0);
	free(buf);
	small_free(&s);
}

static void test_random_flips(void **state)
{
	struct small s;
	unsigned count[NOUTCOMES] = { 0 };
	unsigned char *buf;
	struct t_rng r;

	t_rng_seed(&r, t_seed("store_badfile_flips"));
	small_setup(&s);
	buf = malloc(s.len);
	for (unsigned i = 0; i < 400 * t_scale(); i++) {
		unsigned flips = 1 + (unsigned)t_rng_below(&r, 40);

		memcpy(buf, s.bytes, s.len);
		for (unsigned k = 0; k < flips; k++)
			buf[t_rng_below(&r, s.len)] ^= (unsigned char)(1 + t_rng_below(&r, 255));
		put(&s, buf, s.len);
		count[judge(s.bad)]++;
	}
	report("random flips", count);
	free(buf);
	small_free(&s);
}

static void test_truncated(void **state)
{
	struct small s;
	unsigned count[NOUTCOMES] = { 0 };

	small_setup(&s);
	for (size_t len = 0; len < s.len; len += len < 1024 ? 1 : 512) {
		put(&s, s.bytes, len);
		count[judge(s.bad)]++;
	}
	report("truncated", count);
	assert_true(count[REJECTED] > 0);
	small_free(&s);
}

static void test_garbage(void **state)
{
	struct small s;
	struct t_rng r;
	unsigned char *buf = malloc(64 * 1024);

	t_rng_seed(&r, t_seed("store_badfile_garbage"));
	small_setup(&s);
	for (unsigned i = 0; i < 100; i++) {
		size_t len = (size_t)t_rng_below(&r, 64 * 1024);

		for (size_t k = 0; k < len; k++)
			buf[k] = (unsigned char)t_rng_next(&r);
		put(&s, buf, len);
		assert_int_equal(judge(s.bad), REJECTED);
	}
	memset(buf, 0, 3 * PG);			/* zeroes */
	put(&s, buf, 3 * PG);
	assert_int_equal(judge(s.bad), REJECTED);
	assert_non_null(strstr(cow_store_errmsg(NULL), "not a libcow store"));
	put(&s, (const unsigned char *)"hello\n", 6);	/* text */
	assert_int_equal(judge(s.bad), REJECTED);
	assert_non_null(strstr(cow_store_errmsg(NULL), "too short"));
	free(buf);
	small_free(&s);
}

/* ---- crafted damage with valid checksums ------------------------------------ */

/* A copy of the good store being damaged: its newer slot, catalog block and
 * first checkpoint record, decoded. */
struct craft {
	unsigned char *b;
	struct cow__slot sl;
	int slot;
	uint64_t cat;
	struct cow__rec rec;
};

static void craft_start(struct craft *c, const struct small *s)
{
	struct cow__slot s1;
	int m0, m1, ok0, ok1;

	memcpy(c->b, s->bytes, s->len);
	ok0 = cow__slot_decode(c->b, &c->sl, &m0) == 0;
	ok1 = cow__slot_decode(c->b + PG, &s1, &m1) == 0;
	assert_true(ok0 || ok1);
	c->slot = ok1 && (!ok0 || s1.txid > c->sl.txid);
	if (c->slot)
		c->sl = s1;
	c->cat = c->sl.catalog.blk;
	cow__rec_decode(c->b + c->cat * PG + COW__CAT_HDR, &c->rec);
}

/* Make every checksum right again after the damage: the root node's (if
 * root), the record, the catalog block's, the slot's. */
static void craft_seal(struct craft *c, int root)
{
	if (root)
		c->rec.root.sum = cow__sum(c->b + c->rec.root.blk * PG, PG);
	cow__rec_encode(c->b + c->cat * PG + COW__CAT_HDR, &c->rec);
	c->sl.catalog.sum = cow__sum(c->b + c->cat * PG, PG);
	cow__slot_encode(c->b + (size_t)c->slot * PG, &c->sl);
}

/* Write the damaged copy as the bad file; a writable open must refuse it
 * (err, message containing msg; NULL: not checked) without any allocation
 * sized by the lie; a read-only one must reject it too (damaged NULL) or
 * mark the checkpoint damaged. */
static void expect_refused(const struct small *s, const struct craft *c, int err,
			   const char *msg, int damaged)
{
	struct cow__io_test t = { .sim = NULL };
	cow_store *st;

	put(s, c->b, s->len);
	cow__io_test = &t;
	st = cow_store_open(s->bad, 0);
	cow__io_test = NULL;
	assert_null(st);
	assert_int_equal(errno, err);
	if (!strstr(cow_store_errmsg(NULL), msg))
		fprintf(stderr, "message: %s (wanted %s)\n", cow_store_errmsg(NULL), msg);
	assert_non_null(strstr(cow_store_errmsg(NULL), msg));
	assert_true(t.max_alloc < 64 * 1024);
	assert_int_equal(judge(s->bad), damaged ? DETECTED : REJECTED);
}

static void test_crafted(void **state)
{
	struct small s;
	struct craft c;

	small_setup(&s);
	c.b = malloc(s.len);

	craft_start(&c, &s);			/* wrong magic in both slots */
	memcpy(c.b, "NOTASTOR", 8);
	memcpy(c.b + PG, "NOTASTOR", 8);
	expect_refused(&s, &c, EBADMSG, "not a libcow store", 0);

	craft_start(&c, &s);			/* another version */
	c.sl.version = 2;
	craft_seal(&c, 0);
	expect_refused(&s, &c, EPROTONOSUPPORT, "version 2", 0);

	craft_start(&c, &s);			/* huge checkpoint counts */
	c.sl.nckpts = UINT32_MAX;
	c.sl.ncatalog = (uint32_t)((c.sl.nckpts + COW__CAT_PER_BLOCK - 1ull) / COW__CAT_PER_BLOCK);
	craft_seal(&c, 0);
	expect_refused(&s, &c, EBADMSG, "impossible values", 0);
	c.sl.nckpts = COW__MAX_CKPTS;
	c.sl.ncatalog = (COW__MAX_CKPTS + COW__CAT_PER_BLOCK - 1) / COW__CAT_PER_BLOCK;
	craft_seal(&c, 0);
	expect_refused(&s, &c, EBADMSG, "catalog longer than the file", 0);

	craft_start(&c, &s);			/* more records than the block holds */
	cow__put32(c.b + c.cat * PG + 4, 0xffffffffu);
	craft_seal(&c, 0);
	expect_refused(&s, &c, EBADMSG, "record count", 0);

	craft_start(&c, &s);			/* a checkpoint of 2^62 pages */
	c.rec.npages = 1ull << 62;
	craft_seal(&c, 0);
	expect_refused(&s, &c, EBADMSG, "impossible size", 1);

	craft_start(&c, &s);			/* a root beyond the file */
	c.rec.root.blk = 1ull << 40;
	craft_seal(&c, 0);
	expect_refused(&s, &c, EBADMSG, "root out of range", 1);

	craft_start(&c, &s);			/* a node with a huge count */
	cow__put32(c.b + c.rec.root.blk * PG + 8, 0x7fffffffu);
	craft_seal(&c, 1);
	expect_refused(&s, &c, EBADMSG, "wrong position or count", 1);

	craft_start(&c, &s);			/* a node pointing at itself */
	cow__ptr_encode(c.b + c.rec.root.blk * PG + COW__NODE_HDR, c.rec.root);
	craft_seal(&c, 1);
	expect_refused(&s, &c, EBADMSG, "is both a", 1);

	free(c.b);
	small_free(&s);
}

/* Without checksums (as the fuzzer runs): every byte flipped must still be
 * caught by the structure checks or harmless — no crash, clear errors. */
static void test_flip_without_checksums(void **state)
{
	struct small s;
	unsigned char *buf;
	unsigned opened = 0;

	small_setup(&s);
	buf = malloc(s.len);
	cow__store_nosum = 1;
	for (size_t off = 0; off < s.len; off++) {
		cow_store *st;
		unsigned char got[NP * PG];
		uint64_t ids[4];
		size_t n;

		memcpy(buf, s.bytes, s.len);
		buf[off] ^= 0xff;
		put(&s, buf, s.len);
		st = cow_store_open(s.bad, COW_STORE_RDONLY);
		if (!st) {
			assert_true(errno == EBADMSG || errno == EPROTONOSUPPORT);
			continue;
		}
		opened++;
		assert_int_equal(cow_store_list(st, ids, 4, &n), 0);
		for (size_t i = 0; i < n && i < 4; i++) {
			struct cow_store_info info;

			assert_int_equal(cow_store_info(st, ids[i], &info), 0);
			if (info.pages == NP)
				cow__store_read(st, ids[i], got, sizeof got);
		}
		cow_store_verify(st);
		cow_store_close(st);
	}
	cow__store_nosum = 0;
	fprintf(stderr, "[store_badfile] without checksums: %u of %zu opened\n", opened, s.len);
	free(buf);
	small_free(&s);
}

/* COW_WRITE_SEEDS=dir: write the fuzzer's seed files (small valid stores). */
static void test_write_seeds(void **state)
{
	const char *dir = getenv("COW_WRITE_SEEDS");
	struct small s;
	char path[600];

	if (!dir || !*dir)
		skip();
	small_setup(&s);
	snprintf(path, sizeof path, "%s/two-checkpoints", dir);
	ts_copy(s.good, path);
	small_free(&s);
	snprintf(path, sizeof path, "%s/empty", dir);
	unlink(path);
	cow_store_close(cow_store_open(path, COW_STORE_CREATE));
	snprintf(path, sizeof path, "%s/two-levels", dir);
	unlink(path);
	cow_store *st = cow_store_open(path, COW_STORE_CREATE);
	unsigned char *mem = calloc(300, PG);
	uint64_t id;

	for (unsigned p = 0; p < 300; p += 50)
		ts_fill(mem + p * PG, 3, p);
	assert_int_equal(ts_commit(st, mem, 300, 0, NULL, &id), 0);
	assert_int_equal(cow_store_drop(st, id), 0);
	assert_int_equal(ts_commit(st, mem, 300, 0, NULL, &id), 0);
	cow_store_close(st);
	free(mem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flip_every_byte),
		cmocka_unit_test(test_random_flips),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_crafted),
		cmocka_unit_test(test_flip_without_checksums),
		cmocka_unit_test(test_write_seeds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
