/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_cowkv_corrupt.c — cowkv on a damaged store never serves wrong data
 * and never crashes.
 *
 * A store is written by cowkv: checkpoint 1 holds dataset A, checkpoint 2
 * (incremental) dataset B. Copies of it are damaged at offsets taken from
 * the store's own structures (store_format.h, read through the store's
 * internal interface): bit flips in data blocks (of checkpoint 2 only, or
 * shared by both), in a page-table node, in the catalog, in the root
 * slots; swapped blocks; truncation; random flips. cowkv is started on
 * each copy, and must either refuse to start (exit status != 0, "Refusing
 * to start" in its log) or serve exactly A or B, whole (DBSIZE, every
 * value, SCAN). Where the damage leaves one answer, that answer is
 * required: e.g. a flipped data block of checkpoint 2 alone means cowkv
 * starts from checkpoint 1 and says so (--load-fallback yes, the default)
 * or refuses (--load-fallback no). Also: a restart in a directory where no
 * file can be created, and `cow store ls|verify` on a running cowkv's store.
 */
#include <inttypes.h>

#include "kvtest.h"
#include "storetest.h"

#define NKEYS 1500
#define NCHANGED 300	/* B rewrites k0..k299 */
#define NEXTRA 200	/* and adds x0..x199 */

enum outcome { REFUSED, SERVED_A, SERVED_B };

static char dir[256], path[300], pristine[300];

/* The value of key i in dataset A or B; *name gets the key. */
static void kv_of(int i, int b, char *name, size_t nl, char *val, size_t vl)
{
	int extra = i >= NKEYS;
	int len = 20 + (i * 37) % 300;
	int at;

	if (extra)
		snprintf(name, nl, "x%d", i - NKEYS);
	else
		snprintf(name, nl, "k%d", i);
	at = snprintf(val, vl, "%c:%d:", b && (extra || i < NCHANGED) ? 'B' : 'A', i);
	for (; at < len && at < (int)vl - 1; at++)
		val[at] = (char)('a' + (i + at) % 26);
	val[at] = 0;
}

static int nkeys(int b)
{
	return b ? NKEYS + NEXTRA : NKEYS;
}

/* Write dataset A or B (only what differs from A for B) with MSETs. */
static void write_dataset(struct kv_client *c, int b)
{
	static char names[50][32], vals[50][400];
	const char *argv[101];
	int argc = 0;

	for (int i = 0; i < nkeys(b); i++) {
		if (b && i >= NCHANGED && i < NKEYS)
			continue;
		int j = argc / 2;

		kv_of(i, b, names[j], 32, vals[j], 400);
		argv[1 + argc++] = names[j];
		argv[1 + argc++] = vals[j];
		if (argc == 100 || i == nkeys(b) - 1) {
			struct resp_reply *r;

			argv[0] = "MSET";
			r = kv_cmdv(c, argc + 1, argv);
			assert_non_null(r);
			assert_int_equal(r->type, RESP_STATUS);
			resp_reply_free(r);
			argc = 0;
		}
	}
}

/* Assert that the server serves exactly dataset b. */
static void expect_dataset(struct kv_client *c, int b)
{
	char name[32], want[400], cursor[32] = "0";
	struct resp_reply *r = kv_cmd(c, "DBSIZE", (const char *)NULL);
	long long seen = 0;

	assert_non_null(r);
	assert_int_equal(r->integer, nkeys(b));
	resp_reply_free(r);
	for (int i = 0; i < nkeys(b); i++) {
		kv_of(i, b, name, sizeof name, want, sizeof want);
		r = kv_cmd(c, "GET", name, (const char *)NULL);
		assert_non_null(r);
		if (r->type != RESP_BULK || strcmp(r->str, want)) {
			fprintf(stderr, "%s: got %s, want %s\n", name,
				r->type == RESP_BULK ? r->str : "(not a string)", want);
			fail();
		}
		resp_reply_free(r);
	}
	do {	/* SCAN returns the keys, each of the dataset */
		r = kv_cmd(c, "SCAN", cursor, "COUNT", "500", (const char *)NULL);
		assert_non_null(r);
		assert_int_equal(r->type, RESP_ARRAY);
		snprintf(cursor, sizeof cursor, "%s", r->elem[0]->str);
		for (size_t k = 0; k < r->elem[1]->n; k++) {
			const char *key = r->elem[1]->elem[k]->str;
			int i = atoi(key + 1);

			assert_true((key[0] == 'k' && i < NKEYS) || (b && key[0] == 'x' && i < NEXTRA));
			seen++;
		}
		resp_reply_free(r);
	} while (strcmp(cursor, "0"));
	assert_true(seen >= nkeys(b));	/* SCAN may repeat, never miss */
}

/* Start cowkv on the (damaged) store with args; judge what it does. */
static enum outcome run(const char *what, const char *const *args)
{
	struct kv_server s = { 0 };
	struct kv_client *c;
	struct resp_reply *r;
	enum outcome o;

	snprintf(s.log, sizeof s.log, "%s.log", dir);
	unlink(s.log);
	if (!kv_start(&s, dir, args)) {
		if (!WIFEXITED(s.status) || WEXITSTATUS(s.status) == 0 ||
		    !kv_log_has(&s, "Refusing to start")) {
			fprintf(stderr, "%s: cowkv ended with status %d\n", what, s.status);
			kv_print_log(&s);
			fail();
		}
		unlink(s.log);
		return REFUSED;
	}
	c = kv_open(s.port);
	r = kv_cmd(c, "GET", "k0", (const char *)NULL);
	assert_non_null(r);
	if (r->type != RESP_BULK || (r->str[0] != 'A' && r->str[0] != 'B')) {
		fprintf(stderr, "%s: k0 is %s\n", what, r->type == RESP_BULK ? r->str : "missing");
		kv_print_log(&s);
		fail();
	}
	o = r->str[0] == 'A' ? SERVED_A : SERVED_B;
	resp_reply_free(r);
	expect_dataset(c, o == SERVED_B);
	kv_close(c);
	if (!kv_alive(&s)) {
		fprintf(stderr, "%s: cowkv died (status %d)\n", what, s.status);
		kv_print_log(&s);
		fail();
	}
	kv_stop(&s, SIGKILL);
	unlink(s.log);
	return o;
}

/* ---- the store's layout ----------------------------------------------------- */

struct layout {
	uint64_t only2[64], shared[64], root2, cat, slot_new;
	size_t nonly2, nshared;
	off_t size;
};

/* Read the pristine store's structure through the store's own code. */
static void read_layout(struct layout *l)
{
	cow_store *st = cow_store_open(pristine, COW_STORE_RDONLY);
	struct cow__tree *t1 = NULL, *t2 = NULL;
	struct stat sb;

	assert_non_null(st);
	memset(l, 0, sizeof *l);
	pthread_mutex_lock(&st->lock);
	assert_int_equal(st->nck, 2);
	assert_int_equal(cow__store_tree(st, &st->ck[0], &t1), 0);
	assert_int_equal(cow__store_tree(st, &st->ck[1], &t2), 0);
	assert_int_equal(st->ck[1].rec.parent, st->ck[0].rec.id);	/* incremental */
	for (uint64_t p = 0; p < t2->npages; p++) {
		uint64_t b = cow__tree_ptr(t2, p).blk;

		if (!b)
			continue;
		if (b == cow__tree_ptr(t1, p).blk && l->nshared < 64)
			l->shared[l->nshared++] = b;
		else if (b != cow__tree_ptr(t1, p).blk && l->nonly2 < 64)
			l->only2[l->nonly2++] = b;
	}
	l->root2 = st->ck[1].rec.root.blk;
	l->cat = st->cat[0];
	l->slot_new = (uint64_t)st->cur;
	cow__tree_put(t1);
	cow__tree_put(t2);
	pthread_mutex_unlock(&st->lock);
	cow_store_close(st);
	assert_int_equal(stat(pristine, &sb), 0);
	l->size = sb.st_size;
	assert_true(l->nonly2 >= 2);
	assert_true(l->nshared >= 1);
}

static void flip_at(off_t off, int bit)
{
	int fd = open(path, O_RDWR);
	unsigned char c;

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &c, 1, off), 1);
	c ^= (unsigned char)(1u << bit);
	assert_int_equal(pwrite(fd, &c, 1, off), 1);
	close(fd);
}

static void swap_blocks(uint64_t a, uint64_t b)
{
	unsigned char x[PG], y[PG];
	int fd = open(path, O_RDWR);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, x, PG, (off_t)(a * PG)), PG);
	assert_int_equal(pread(fd, y, PG, (off_t)(b * PG)), PG);
	assert_int_equal(pwrite(fd, y, PG, (off_t)(a * PG)), PG);
	assert_int_equal(pwrite(fd, x, PG, (off_t)(b * PG)), PG);
	close(fd);
}

static void fresh_copy(void)
{
	ts_copy(pristine, path);
}

/* ---- the test ------------------------------------------------------------------ */

static int setup(void **state)
{
	const char *tmp = getenv("TMPDIR");
	struct kv_server s = { 0 };
	struct kv_client *c;
	struct resp_reply *r;

	(void)state;
	snprintf(dir, sizeof dir, "%s/test_cowkv_corrupt.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/cowkv.store", dir);
	snprintf(pristine, sizeof pristine, "%s.pristine", dir);
	snprintf(s.log, sizeof s.log, "%s.log", dir);
	if (!kv_start(&s, dir, NULL)) {
		kv_print_log(&s);
		fail_msg("cowkv did not start");
	}
	c = kv_open(s.port);
	write_dataset(c, 0);
	r = kv_cmd(c, "SAVE", (const char *)NULL);
	assert_int_equal(r->type, RESP_STATUS);
	resp_reply_free(r);
	write_dataset(c, 1);
	r = kv_cmd(c, "SAVE", (const char *)NULL);
	assert_int_equal(r->type, RESP_STATUS);
	resp_reply_free(r);
	expect_dataset(c, 1);
	kv_close(c);
	kv_stop(&s, SIGKILL);
	unlink(s.log);
	ts_copy(path, pristine);
	return 0;
}

static int teardown(void **state)
{
	char cmd[1300];

	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s' '%s.log'", dir, pristine, dir);
	(void)!system(cmd);
	return 0;
}

static void test_pristine(void **state)
{
	const char *args[] = { "--save-keep", "3", "--save-incremental", "no", NULL };
	const char *want[][2] = { { "save-keep", "3" }, { "save-incremental", "no" },
				  { "load-fallback", "yes" } };
	struct kv_server s = { 0 };
	struct kv_client *c;

	(void)state;
	fresh_copy();
	assert_int_equal(run("pristine", NULL), SERVED_B);
	/* The persistence options, as CONFIG GET shows them. */
	snprintf(s.log, sizeof s.log, "%s.log", dir);
	assert_true(kv_start(&s, dir, args));
	c = kv_open(s.port);
	for (int i = 0; i < 3; i++) {
		struct resp_reply *r = kv_cmd(c, "CONFIG", "GET", want[i][0], (const char *)NULL);

		assert_non_null(r);
		assert_int_equal(r->type, RESP_ARRAY);
		assert_int_equal(r->n, 2);
		assert_string_equal(r->elem[1]->str, want[i][1]);
		resp_reply_free(r);
	}
	kv_close(c);
	kv_stop(&s, SIGKILL);
	unlink(s.log);
}

static void test_data_blocks(void **state)
{
	const char *nofallback[] = { "--load-fallback", "no", NULL };
	struct layout l;
	struct kv_server s = { 0 };
	struct kv_client *c;
	struct resp_reply *r;

	(void)state;
	read_layout(&l);
	/* A block of checkpoint 2 alone: cowkv starts from checkpoint 1. */
	for (size_t k = 0; k < l.nonly2 && k < 6; k++) {
		fresh_copy();
		flip_at((off_t)(l.only2[k] * PG + (k * 997) % PG), (int)k % 8);
		assert_int_equal(run("data block of checkpoint 2", NULL), SERVED_A);
	}
	assert_int_equal(run("again", nofallback), REFUSED);
	/* A block both checkpoints share: nothing verifies. */
	fresh_copy();
	flip_at((off_t)(l.shared[0] * PG + 77), 2);
	assert_int_equal(run("shared data block", NULL), REFUSED);
	/* Two blocks of checkpoint 2 swapped (each checksum valid elsewhere). */
	fresh_copy();
	swap_blocks(l.only2[0], l.only2[1]);
	assert_int_equal(run("swapped blocks", NULL), SERVED_A);

	/* The fallback says so, and the next save drops the corrupt one. */
	fresh_copy();
	flip_at((off_t)(l.only2[0] * PG + 5), 0);
	snprintf(s.log, sizeof s.log, "%s.log", dir);
	unlink(s.log);
	assert_true(kv_start(&s, dir, NULL));
	assert_true(kv_log_has(&s, "Started from checkpoint 1, the newest that verifies"));
	c = kv_open(s.port);
	expect_dataset(c, 0);
	r = kv_cmd(c, "SET", "k1", "A:1:after", (const char *)NULL);
	resp_reply_free(r);
	r = kv_cmd(c, "SAVE", (const char *)NULL);
	assert_int_equal(r->type, RESP_STATUS);
	resp_reply_free(r);
	kv_close(c);
	kv_stop(&s, SIGKILL);
	assert_true(kv_log_has(&s, "dropped corrupt checkpoint 2"));
	unlink(s.log);
	{
		cow_store *st = cow_store_open(path, 0);	/* a clean store again */

		assert_non_null(st);
		assert_int_equal(cow_store_verify(st), 0);
		cow_store_close(st);
	}
}

static void test_metadata(void **state)
{
	struct layout l;

	(void)state;
	read_layout(&l);
	fresh_copy();
	flip_at((off_t)(l.root2 * PG + 300), 4);	/* checkpoint 2's page table */
	assert_int_equal(run("page-table node", NULL), SERVED_A);
	fresh_copy();
	flip_at((off_t)(l.cat * PG + 45), 1);		/* the catalog */
	assert_int_equal(run("catalog", NULL), REFUSED);
	fresh_copy();
	flip_at((off_t)(l.slot_new * PG + 30), 3);	/* the newest root slot */
	assert_int_equal(run("newest root slot", NULL), SERVED_A);
	flip_at((off_t)((l.slot_new ^ 1) * PG + 30), 3);	/* and the other one */
	assert_int_equal(run("both root slots", NULL), REFUSED);
}

static void test_truncated_and_random(void **state)
{
	struct layout l;
	uint64_t seed = t_seed("cowkv_corrupt");
	struct t_rng rng;
	int seen[3] = { 0 };

	(void)state;
	read_layout(&l);
	for (int k = 1; k <= 8; k++) {
		fresh_copy();
		assert_int_equal(truncate(path, k < 8 ? l.size * k / 8 : l.size - 100), 0);
		seen[run("truncated", NULL)]++;
	}
	t_rng_seed(&rng, seed);
	for (int k = 0; k < 24; k++) {
		fresh_copy();
		flip_at((off_t)t_rng_below(&rng, (uint64_t)l.size), (int)t_rng_below(&rng, 8));
		seen[run("random flip", NULL)]++;
	}
	fprintf(stderr, "refused %d, served A %d, served B %d\n", seen[REFUSED],
		seen[SERVED_A], seen[SERVED_B]);
}

/* A restart in a directory where nothing can be created (mode 0555; as user
 * nobody when the test runs as root): cowkv starts, serves, saves into its
 * existing file, and leaves no other file behind. */
static void test_read_only_directory(void **state)
{
	char ro[300], cmd[700], store[400];
	struct kv_server s = { .as_nobody = 1 };
	struct kv_client *c;
	struct resp_reply *r;
	FILE *f;
	int files = -1;

	(void)state;
	if (geteuid() == 0 && access(kv_cowkv_path(), X_OK))
		skip();
	snprintf(ro, sizeof ro, "%s.ro", dir);
	assert_int_equal(mkdir(ro, 0700), 0);
	snprintf(store, sizeof store, "%s/cowkv.store", ro);
	ts_copy(pristine, store);
	if (geteuid() == 0) {
		assert_int_equal(chown(ro, 65534, 65534), 0);
		assert_int_equal(chown(store, 65534, 65534), 0);
	}
	assert_int_equal(chmod(ro, 0555), 0);
	snprintf(s.log, sizeof s.log, "%s.log", dir);
	unlink(s.log);
	for (int round = 0; round < 2; round++) {
		if (!kv_start(&s, ro, NULL)) {
			kv_print_log(&s);
			fail_msg("cowkv did not start in a read-only directory (status %d)",
				 s.status);
		}
		c = kv_open(s.port);
		r = kv_cmd(c, "GET", "x0", (const char *)NULL);	/* dataset B */
		assert_non_null(r);
		assert_int_equal(r->type, RESP_BULK);
		resp_reply_free(r);
		r = kv_cmd(c, "INCR", "restarts", (const char *)NULL);
		assert_non_null(r);
		assert_int_equal(r->integer, round + 1);	/* the save of round 0 is there */
		resp_reply_free(r);
		r = kv_cmd(c, "SAVE", (const char *)NULL);
		assert_non_null(r);
		if (r->type != RESP_STATUS) {
			fprintf(stderr, "SAVE: %s\n", r->str);
			kv_print_log(&s);
		}
		assert_int_equal(r->type, RESP_STATUS);
		resp_reply_free(r);
		kv_close(c);
		kv_stop(&s, SIGKILL);
	}
	unlink(s.log);
	snprintf(cmd, sizeof cmd, "ls -A '%s' | wc -l", ro);
	f = popen(cmd, "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%d", &files), 1);
	pclose(f);
	assert_int_equal(files, 1);	/* only the store */
	chmod(ro, 0700);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", ro);
	(void)!system(cmd);
}

/* `cow store ls|verify` on the store of a running cowkv that keeps saving:
 * every run succeeds and sees a committed root (never a torn one). */
static void test_live_inspection(void **state)
{
	const char *tool = getenv("COW_TOOL");
	struct kv_server s = { 0 };
	struct kv_client *c;
	char cmd[900], val[32];
	int ok = 0;

	(void)state;
	if (!tool || access(tool, X_OK))
		skip();
	fresh_copy();
	snprintf(s.log, sizeof s.log, "%s.log", dir);
	unlink(s.log);
	assert_true(kv_start(&s, dir, NULL));
	c = kv_open(s.port);
	for (int i = 0; i < 30; i++) {
		struct resp_reply *r;
		int rc;

		snprintf(val, sizeof val, "%d", i);
		r = kv_cmd(c, "SET", "live", val, (const char *)NULL);
		resp_reply_free(r);
		r = kv_cmd(c, "BGSAVE", (const char *)NULL);	/* may be "in progress" */
		resp_reply_free(r);
		snprintf(cmd, sizeof cmd, "'%s' store %s '%s' >/dev/null 2>&1", tool,
			 i % 3 ? "verify" : "ls", path);
		rc = system(cmd);
		if (rc != 0) {
			snprintf(cmd, sizeof cmd, "'%s' store verify '%s' >&2", tool, path);
			(void)!system(cmd);
		}
		assert_int_equal(rc, 0);
		ok++;
		kv_sleep_us(10000);
	}
	assert_int_equal(ok, 30);
	kv_close(c);
	assert_true(kv_alive(&s));
	kv_stop(&s, SIGKILL);
	unlink(s.log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pristine),
		cmocka_unit_test(test_data_blocks),
		cmocka_unit_test(test_metadata),
		cmocka_unit_test(test_truncated_and_random),
		cmocka_unit_test(test_read_only_directory),
		cmocka_unit_test(test_live_inspection),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, setup, teardown);
}
