/*
 * test_store_tool.c — `cow store ls|info|verify|drop`: output, --json, exit
 * status (0 ok, 1 failed, 2 usage), on a good store and a damaged one.
 * Runs the tool named by $COW_TOOL (set by ctest); skipped without it.
 */
#include <sys/wait.h>

#include "storetest.h"

/* Run the tool with args (a shell fragment); its stdout+stderr into out.
 * Returns its exit status. */
static int run(const char *args, char *out, size_t len)
{
	char cmd[2048];
	FILE *p;
	size_t n;
	int status;

	snprintf(cmd, sizeof cmd, "'%s' %s 2>&1", getenv("COW_TOOL"), args);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(out, 1, len - 1, p);
	out[n] = 0;
	status = pclose(p);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void test_tool(void **state)
{
	char *dir, out[8192], args[1200];
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

	assert_int_equal(run("store --help", out, sizeof out), 0);
	assert_non_null(strstr(out, "usage: cow store"));
	assert_int_equal(run("store", out, sizeof out), 2);
	assert_int_equal(run("store frobnicate x", out, sizeof out), 2);
	snprintf(args, sizeof args, "store drop '%s'", path);		/* no id */
	assert_int_equal(run(args, out, sizeof out), 2);
	snprintf(args, sizeof args, "store ls '%s' 1x", path);
	assert_int_equal(run(args, out, sizeof out), 2);

	snprintf(args, sizeof args, "store ls '%s'", path);
	assert_int_equal(run(args, out, sizeof out), 0);
	assert_non_null(strstr(out, "COMMITTED"));
	assert_non_null(strstr(out, "\n1 "));
	assert_non_null(strstr(out, "\n2 "));
	snprintf(args, sizeof args, "store ls '%s' --json", path);
	assert_int_equal(run(args, out, sizeof out), 0);
	assert_non_null(strstr(out, "\"id\": 1, \"parent\": 0"));
	assert_non_null(strstr(out, "\"id\": 2, \"parent\": 1"));
	assert_non_null(strstr(out, "\"data_pages\": 20"));
	snprintf(args, sizeof args, "store info '%s' --json", path);
	assert_int_equal(run(args, out, sizeof out), 0);
	assert_non_null(strstr(out, "\"checkpoints\": 2, \"latest\": 2"));
	snprintf(args, sizeof args, "store info '%s' 2", path);
	assert_int_equal(run(args, out, sizeof out), 0);
	assert_non_null(strstr(out, "incremental over checkpoint 1"));
	snprintf(args, sizeof args, "store info '%s' 9", path);
	assert_int_equal(run(args, out, sizeof out), 1);
	assert_non_null(strstr(out, "no such checkpoint"));
	snprintf(args, sizeof args, "store verify '%s'", path);
	assert_int_equal(run(args, out, sizeof out), 0);
	assert_non_null(strstr(out, "ok: 2 checkpoints"));

	snprintf(args, sizeof args, "store drop '%s' 1", path);
	assert_int_equal(run(args, out, sizeof out), 0);
	snprintf(args, sizeof args, "store drop '%s' 1", path);
	assert_int_equal(run(args, out, sizeof out), 1);
	snprintf(args, sizeof args, "store ls '%s' --json", path);
	assert_int_equal(run(args, out, sizeof out), 0);
	assert_null(strstr(out, "\"id\": 1,"));
	st = cow_store_open(path, 0);
	ts_expect(st, 2, mem, 40);
	ts_check(st);
	cow_store_close(st);

	/* Damage a data block: verify says where, exit 1. */
	fd = open(path, O_RDWR);
	assert_int_equal(pwrite(fd, "!", 1, 2 * PG + 7), 1);
	close(fd);
	snprintf(args, sizeof args, "store verify '%s'", path);
	assert_int_equal(run(args, out, sizeof out), 1);
	assert_non_null(strstr(out, "CORRUPT"));
	assert_non_null(strstr(out, "data checksum mismatch"));
	/* Not a store at all. */
	snprintf(args, sizeof args, "store ls '%s'", getenv("COW_TOOL"));
	assert_int_equal(run(args, out, sizeof out), 1);
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
