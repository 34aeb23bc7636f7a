/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_store_tool.c — `cow store ls|info|verify|drop`: output, --json, exit
 * status (0 ok, 1 failed, 2 usage), on a good store, one a writer holds
 * open (and commits to), and a damaged one.
 * Runs the tool named by $COW_TOOL (set by ctest); skipped without it.
 */
#include <stdarg.h>
#include <sys/wait.h>

#include "storetest.h"

static char out[8192];

/* Run the tool with arguments (printf-style, a shell fragment); its stdout
 * and stderr go to out. Returns its exit status. */
static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
	char cmd[2048], args[1500];
	va_list ap;
	FILE *p;
	size_t n;
	int status;

	va_start(ap, fmt);
	vsnprintf(args, sizeof args, fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof cmd, "'%s' %s 2>&1", getenv("COW_TOOL"), args);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(out, 1, sizeof out - 1, p);
	out[n] = 0;
	status = pclose(p);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void test_tool(void **state)
{
	char *dir;
	const char *path;
	unsigned char *mem = calloc(40, PG), changed[40] = { 0 };
	cow_store *st;
	uint64_t id;
	int fd;

	if (!getenv("COW_TOOL") || access(getenv("COW_TOOL"), X_OK))
		skip();
	dir = ts_dir();
	path = ts_path(dir, "s");
	st = cow_store_open(path, COW_STORE_CREATE);
	for (unsigned p = 0; p < 40; p += 2)
		ts_fill(mem + p * PG, 1, p);
	assert_int_equal(ts_commit(st, mem, 40, 0, NULL, &id), 0);
	changed[3] = 1;
	ts_fill(mem + 3 * PG, 2, 3);
	assert_int_equal(ts_commit(st, mem, 40, 1, changed, &id), 0);
	assert_int_equal(cow_store_close(st), 0);

	assert_int_equal(run("store --help"), 0);
	assert_non_null(strstr(out, "usage: cow store"));
	assert_int_equal(run("store"), 2);
	assert_int_equal(run("store frobnicate x"), 2);
	assert_int_equal(run("store drop '%s'", path), 2);		/* no id */
	assert_int_equal(run("store ls '%s' 1x", path), 2);

	assert_int_equal(run("store ls '%s'", path), 0);
	assert_non_null(strstr(out, "COMMITTED"));
	assert_non_null(strstr(out, "\n1 "));
	assert_non_null(strstr(out, "\n2 "));
	assert_int_equal(run("store ls '%s' --json", path), 0);
	assert_non_null(strstr(out, "\"id\": 1, \"parent\": 0"));
	assert_non_null(strstr(out, "\"id\": 2, \"parent\": 1"));
	assert_non_null(strstr(out, "\"data_pages\": 20"));
	assert_int_equal(run("store info '%s' --json", path), 0);
	assert_non_null(strstr(out, "\"checkpoints\": 2, \"latest\": 2"));
	assert_int_equal(run("store info '%s' 2", path), 0);
	assert_non_null(strstr(out, "incremental over checkpoint 1"));
	assert_int_equal(run("store info '%s' 9", path), 1);
	assert_non_null(strstr(out, "no such checkpoint"));
	assert_int_equal(run("store verify '%s'", path), 0);
	assert_non_null(strstr(out, "ok: 2 checkpoints"));

	/* A live writer holds the store: ls, info and verify still work, and
	 * see its commits; drop (a second writer) is refused. */
	st = cow_store_open(path, 0);
	assert_non_null(st);
	assert_int_equal(run("store ls '%s'", path), 0);
	assert_non_null(strstr(out, "\n2 "));
	changed[3] = 0;
	changed[5] = 1;
	ts_fill(mem + 5 * PG, 3, 5);
	assert_int_equal(ts_commit(st, mem, 40, 2, changed, &id), 0);
	assert_int_equal(run("store verify '%s'", path), 0);
	assert_non_null(strstr(out, "ok: 3 checkpoints"));
	assert_int_equal(run("store info '%s' 3", path), 0);
	assert_non_null(strstr(out, "incremental over checkpoint 2"));
	assert_int_equal(run("store drop '%s' 3", path), 1);
	assert_int_equal(cow_store_drop(st, 3), 0);
	assert_int_equal(cow_store_close(st), 0);
	memset(mem + 5 * PG, 0, PG);	/* checkpoint 2's page 5 */

	assert_int_equal(run("store drop '%s' 1", path), 0);
	assert_int_equal(run("store drop '%s' 1", path), 1);
	assert_int_equal(run("store ls '%s' --json", path), 0);
	assert_null(strstr(out, "\"id\": 1,"));
	st = cow_store_open(path, 0);
	ts_expect(st, 2, mem, 40);
	ts_check(st);
	cow_store_close(st);

	/* Damage a data block: verify says where, exit 1. */
	fd = open(path, O_RDWR);
	assert_int_equal(pwrite(fd, "!", 1, 2 * PG + 7), 1);
	close(fd);
	assert_int_equal(run("store verify '%s'", path), 1);
	assert_non_null(strstr(out, "CORRUPT"));
	assert_non_null(strstr(out, "data checksum mismatch"));
	/* Not a store at all. */
	assert_int_equal(run("store ls '%s'", getenv("COW_TOOL")), 1);
	assert_non_null(strstr(out, "not a libcow store"));
	free(mem);
	ts_rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tool),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
