/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The cow tool, run as users run it: the binary named by $COW_TOOL (set by
 * CMake), its output read back; JSON is checked by python3's json module.
 */
#include <cow.h>

#include "testlib.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define REGION_PAGES 4096		/* 16 MiB, written before fork */
#define OUT_MAX (1u << 20)

/* What a command printed, and how it ended. */
struct run {
	int status;			/* exit status; 128 + signal if killed */
	char out[OUT_MAX], err[64 * 1024];
};

static struct run R;			/* big: not on the stack */

static const char *tool(void)
{
	const char *t = getenv("COW_TOOL");

	if (!t || !*t)
		fail_msg("COW_TOOL is not set: run the tests through ctest");
	return t;
}

/* Read all of memfd fd into buf (NUL-terminated). */
static void slurp(int fd, char *buf, size_t cap)
{
	ssize_t n = pread(fd, buf, cap - 1, 0);

	buf[n > 0 ? n : 0] = '\0';
	close(fd);
}

/* Run argv (argv[0] found in PATH) with env (NAME=VALUE, or NULL) added and
 * stdin from the string in; fill R. */
static void run_argv(char *const argv[], const char *env, const char *in)
{
	int fo = memfd_create("out", 0), fe = memfd_create("err", 0);
	int fi = memfd_create("in", 0), st;
	pid_t pid;

	assert_true(fo >= 0 && fe >= 0 && fi >= 0);
	if (in)
		assert_int_equal(pwrite(fi, in, strlen(in), 0), (ssize_t)strlen(in));
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(fi, 0);
		dup2(fo, 1);
		dup2(fe, 2);
		if (env)
			putenv((char *)env);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(fi);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	R.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	slurp(fo, R.out, sizeof R.out);
	slurp(fe, R.err, sizeof R.err);
}

/* Run the tool with up to 15 arguments, NULL-terminated. */
static void cow(const char *env, const char *arg, ...)
{
	char *argv[16] = { (char *)tool() };
	va_list ap;
	int n = 1;

	va_start(ap, arg);
	for (const char *a = arg; a && n < 15; a = va_arg(ap, const char *))
		argv[n++] = (char *)a;
	va_end(ap);
	run_argv(argv, env, NULL);
}

/*
 * Evaluate the python expression expr over the JSON document json (bound to
 * d; h = int(x, 16) parses addresses), into out. Fails the test if json does
 * not parse.
 */
static void py(const char *json, const char *expr, char *out, size_t cap)
{
	static const char script[] =
		"import json, sys\n"
		"d = json.loads(sys.stdin.read())\n"
		"h = lambda x: int(x, 16)\n"
		"print(eval(sys.argv[1]))\n";
	char *argv[] = { "python3", "-c", (char *)script, (char *)expr, NULL };
	static struct run saved;
	size_t len;

	saved = R;
	run_argv(argv, NULL, json);
	if (R.status)
		fail_msg("python3 on the JSON: %s\n--- JSON:\n%.2000s", R.err, json);
	len = strnlen(R.out, cap - 1);
	memcpy(out, R.out, len);
	out[len] = '\0';
	R = saved;
}

/* py() for an expression that is a boolean: true or the test fails. */
static void py_true(const char *json, const char *expr)
{
	char out[64];

	py(json, expr, out, sizeof out);
	if (strcmp(out, "True\n"))
		fail_msg("expected True: %s, got %s\n--- JSON:\n%.3000s", expr, out, json);
}

/* ---- cow inspect on a forked child ---------------------------------- */

/* The child: waits for 'w' (write every page of the region), answers 'd';
 * exits on EOF. */
static void child_loop(unsigned char *region, int cmd, int reply)
{
	char c;

	while (read(cmd, &c, 1) == 1) {
		for (size_t i = 0; i < REGION_PAGES; i++)
			region[i * 4096] = 0xc5;
		if (write(reply, "d", 1) != 1)
			break;
	}
	_exit(0);
}

struct forked {
	pid_t pid;
	int cmd, reply;
	unsigned char *region;
};

static void fork_with_region(struct forked *f)
{
	int a[2], b[2];

	f->region = mmap(NULL, REGION_PAGES * 4096, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(f->region != MAP_FAILED);
	madvise(f->region, REGION_PAGES * 4096, MADV_NOHUGEPAGE);
	memset(f->region, 0x5a, REGION_PAGES * 4096);
	assert_int_equal(pipe(a), 0);
	assert_int_equal(pipe(b), 0);
	fflush(NULL);
	f->pid = fork();
	assert_true(f->pid >= 0);
	if (f->pid == 0) {
		close(a[1]);
		close(b[0]);
		child_loop(f->region, a[0], b[1]);
	}
	close(a[0]);
	close(b[1]);
	f->cmd = a[1];
	f->reply = b[0];
}

static void child_writes(struct forked *f)
{
	char c = 'w';

	assert_int_equal(write(f->cmd, &c, 1), 1);
	assert_int_equal(read(f->reply, &c, 1), 1);
}

static void child_end(struct forked *f)
{
	close(f->cmd);
	close(f->reply);
	waitpid(f->pid, NULL, 0);
	munmap(f->region, REGION_PAGES * 4096);
}

/* The pages counts of process pid's mapping that holds addr, by inspect --json. */
static void counts_at(const char *env, pid_t pid, const void *addr, long *cow_pages,
		      long *shared, long *resident)
{
	char pidbuf[24], expr[512], out[128];

	snprintf(pidbuf, sizeof pidbuf, "%d", (int)pid);
	cow(env, "inspect", pidbuf, "--json", NULL);
	assert_int_equal(R.status, 0);
	snprintf(expr, sizeof expr,
		 "' '.join(str(m['pages'][k]) for m in d['mappings'] "
		 "if h(m['start']) <= %lu < h(m['end']) for k in ('cow', 'shared', 'resident'))",
		 (unsigned long)(uintptr_t)addr);
	py(R.out, expr, out, sizeof out);
	if (sscanf(out, "%ld %ld %ld", cow_pages, shared, resident) != 3)
		fail_msg("no mapping holds %p in inspect's output: %s", addr, out);
}

static void inspect_fork(const char *env)
{
	long cow0, sh0, res0, cow1, sh1, res1, pcow0, psh0, pres0, pcow1, psh1, pres1;
	struct forked f;

	fork_with_region(&f);
	counts_at(env, f.pid, f.region, &cow0, &sh0, &res0);
	counts_at(env, getpid(), f.region, &pcow0, &psh0, &pres0);
	py_true(R.out, "d['totals']['resident'] > 0 and d['access']['smaps'] and "
		       "d['access']['pagemap'] and isinstance(d['mappings'], list)");
	child_writes(&f);
	counts_at(env, f.pid, f.region, &cow1, &sh1, &res1);
	counts_at(env, getpid(), f.region, &pcow1, &psh1, &pres1);
	child_end(&f);

	/* After fork: the region's pages are shared copy-on-write, both sides. */
	assert_true(res0 >= REGION_PAGES && pres0 >= REGION_PAGES);
	assert_true(cow0 >= REGION_PAGES && sh0 >= REGION_PAGES);
	assert_true(pcow0 >= REGION_PAGES && psh0 >= REGION_PAGES);
	/* After the child's writes: each side has its own copy. */
	assert_true(res1 >= REGION_PAGES);
	assert_true(cow1 <= cow0 - REGION_PAGES);
	assert_true(pcow1 <= pcow0 - REGION_PAGES);
}

static void test_inspect_sees_fork_sharing(void **state)
{
	inspect_fork(NULL);
}

/* The same, the way kernels before 6.7 (no PAGEMAP_SCAN) are read. */
static void test_inspect_without_pagemap_scan(void **state)
{
	inspect_fork("COW_PROCMEM_NOSCAN=1");
}

static void test_inspect_table(void **state)
{
	char pid[24];

	snprintf(pid, sizeof pid, "%d", (int)getpid());
	cow(NULL, "inspect", pid, NULL);
	assert_int_equal(R.status, 0);
	assert_non_null(strstr(R.out, "RESIDENT"));
	assert_non_null(strstr(R.out, "TOTAL"));
	cow(NULL, "inspect", pid, "--all", NULL);
	assert_int_equal(R.status, 0);
	assert_non_null(strstr(R.out, "[stack]"));
}

static void test_inspect_errors(void **state)
{
	char gone[24];
	pid_t pid;

	cow(NULL, "inspect", NULL);
	assert_int_equal(R.status, 2);
	assert_non_null(strstr(R.err, "cow inspect:"));
	cow(NULL, "inspect", "abc", NULL);
	assert_int_equal(R.status, 2);
	cow(NULL, "inspect", "1", "--bogus", NULL);
	assert_int_equal(R.status, 2);
	cow(NULL, "inspect", "1", "2", NULL);
	assert_int_equal(R.status, 2);

	pid = fork();		/* a pid that just ended: no such process */
	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	snprintf(gone, sizeof gone, "%d", (int)pid);
	cow(NULL, "inspect", gone, NULL);
	assert_int_equal(R.status, 1);
	assert_non_null(strstr(R.err, "no process"));
}

/* ---- cow demo: the README's main command ------------------------------ */

static void test_demo(void **state)
{
	cow(NULL, "demo", NULL);
	assert_int_equal(R.status, 0);
	/* After cow_fork both sides share every frame, protected. */
	assert_non_null(strstr(R.out, "child    [A f0   n=2 ro]"));
	/* The child's write copied one page; the parent's then reused its frame. */
	assert_non_null(strstr(R.out, "1 copied, 0 reused"));
	assert_non_null(strstr(R.out, "0 copied, 1 reused"));
	assert_non_null(strstr(R.out, "pages copied back: 2"));
	/* A vfork child's page counts are its parent's. */
	assert_non_null(strstr(R.out, "child    [V f0   n=1 rw]"));
	assert_non_null(strstr(R.out, "All released: 0 frames in use."));
}

/* ---- cow fork-demo -------------------------------------------------- */

static void test_fork_demo(void **state)
{
	cow(NULL, "fork-demo", "--json", NULL);
	assert_int_equal(R.status, 0);
	py_true(R.out, "d['verdict']['parent_value_unchanged'] and "
		       "d['verdict']['shared_after_fork'] and "
		       "d['verdict']['exclusive_after_child_write'] and "
		       "[s['parent']['value'] for s in d['steps']] == [42, 42, 42, 43] and "
		       "[s['child']['value'] for s in d['steps'][1:]] == [42, 1000, 1000]");
	py_true(R.out, "not d['frames_visible'] or ("
		       "d['verdict']['same_frame_after_fork'] and "
		       "d['verdict']['two_frames_after_child_write'] and "
		       "d['verdict']['parent_kept_its_frame'])");
	py_true(R.out, "not d['kpagecount'] or "
		       "[d['steps'][1]['parent']['mapcount'], d['steps'][2]['child']['mapcount']] == [2, 1]");
	cow(NULL, "fork-demo", NULL);
	assert_int_equal(R.status, 0);
	assert_non_null(strstr(R.out, "fork()"));
	assert_non_null(strstr(R.out, "reads 1000"));
	cow(NULL, "fork-demo", "--frobnicate", NULL);
	assert_int_equal(R.status, 2);
}

/* ---- without privileges --------------------------------------------- */

/* Run the tool as user nobody (65534), via setpriv: only when root and the
 * tool is reachable by nobody; else skip. */
static int as_nobody(const char *a1, const char *a2, const char *a3)
{
	char *argv[] = { "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
			 (char *)tool(), (char *)a1, (char *)a2, (char *)a3, NULL };

	run_argv(argv, NULL, NULL);
	return R.status;
}

static void test_unprivileged(void **state)
{
	char pid[24], cmd[4200];

	if (geteuid() != 0 || as_nobody("--help", NULL, NULL) != 0) {
		fprintf(stderr, "skipped: needs root, setpriv, and the tool readable by nobody\n");
		skip();
	}
	assert_int_equal(as_nobody("fork-demo", "--json", NULL), 0);
	py_true(R.out, "d['frames_visible'] == False and d['verdict']['same_frame_after_fork'] is None "
		       "and d['verdict']['shared_after_fork'] and d['verdict']['exclusive_after_child_write'] "
		       "and d['verdict']['parent_value_unchanged']");
	assert_int_equal(as_nobody("fork-demo", NULL, NULL), 0);
	assert_non_null(strstr(R.out, "Frame numbers are hidden"));

	snprintf(pid, sizeof pid, "%d", (int)getpid());	/* root's: not readable */
	assert_int_equal(as_nobody("inspect", pid, NULL), 1);
	assert_non_null(strstr(R.err, "permission denied"));

	/* nobody inspecting itself (sh execs the tool: $$ is the tool's pid) */
	snprintf(cmd, sizeof cmd, "exec '%s' inspect $$ --json", tool());
	{
		char *argv[] = { "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
				 "sh", "-c", cmd, NULL };

		run_argv(argv, NULL, NULL);
	}
	assert_int_equal(R.status, 0);
	py_true(R.out, "d['access']['pagemap'] and not d['access']['frames'] and "
		       "not d['access']['kpagecount'] and len(d['notes']) >= 1 and "
		       "d['totals']['resident'] > 0 and d['totals']['max_mapcount'] is None");
}

/* ---- cow bench ------------------------------------------------------ */

/* Check that out holds at least min RESULT lines of benchlib's format. */
static int result_lines(const char *out)
{
	int n = 0;

	for (const char *l = out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		char name[96], unit[24], base[96];
		double v, bv, ratio;

		if (strncmp(l, "RESULT ", 7))
			continue;
		if (sscanf(l, "RESULT %95s %lf %23s baseline=%95s %lf ratio=%lf",
			   name, &v, unit, base, &bv, &ratio) != 6)
			fail_msg("bad RESULT line: %.200s", l);
		assert_true(v > 0 && bv > 0 && ratio > 0);
		n++;
	}
	return n;
}

static void test_bench_spawn(void **state)
{
	cow(NULL, "bench", "spawn", "--size", "16M", "--repeat", "3", NULL);
	assert_int_equal(R.status, 0);
	assert_int_equal(result_lines(R.out), 2);
	assert_non_null(strstr(R.out, "RESULT spawn_vfork_exec@16MiB "));
	assert_non_null(strstr(R.out, "RESULT spawn_posix_spawn@16MiB "));
	assert_non_null(strstr(R.out, "baseline=spawn_fork_exec@16MiB "));

	cow(NULL, "bench", "spawn", "--size", "4M", "--repeat", "2", "--rewrite", "--json", NULL);
	assert_int_equal(R.status, 0);
	py_true(R.out, "d['status'] == 0 and len(d['results']) == 3 and "
		       "all(r['value'] > 0 and r['unit'] == 'ms' for r in d['results'])");
}

/* Every benchmark that is built runs at a tiny size and its output parses. */
static void test_bench_all_tiny(void **state)
{
	static const char *const benches[][2] = {
		{ "snapshot", "4M" }, { "fault", "4M" }, { "restore", "4M" }, { "fork", "4M" },
		{ "save", "4M" }, { "spawn", "4M" }, { "str", "64K" }, { "thp", "8M" },
	};

	for (size_t i = 0; i < sizeof benches / sizeof benches[0]; i++) {
		const char *name = benches[i][0];

		cow(NULL, "bench", name, "--size", benches[i][1], "--repeat", "2", "--json", NULL);
		if (R.status == 1 && strstr(R.err, "not built in this version")) {
			fprintf(stderr, "bench %s: not built in this version\n", name);
			continue;
		}
		if (R.status)
			fail_msg("cow bench %s: status %d\n%s", name, R.status, R.err);
		py_true(R.out, "d['status'] == 0 and len(d['results']) >= 1 and "
			       "all(isinstance(r['ratio'], (int, float)) and r['value'] >= 0 "
			       "for r in d['results'])");
	}
}

static void test_bench_plot(void **state)
{
	char dir[] = "/tmp/cow-test-plot-XXXXXX", png[64], magic[8] = { 0 };
	FILE *f;

	if (system("command -v gnuplot >/dev/null 2>&1") != 0) {
		fprintf(stderr, "skipped: no gnuplot (scripts/deps.sh installs gnuplot-nox)\n");
		skip();
	}
	assert_non_null(mkdtemp(dir));
	snprintf(png, sizeof png, "%s/spawn.png", dir);
	cow(NULL, "bench", "spawn", "--plot", png, "--sizes", "4M,8M", "--repeat", "1", NULL);
	assert_int_equal(R.status, 0);
	assert_int_equal(result_lines(R.out), 4);
	f = fopen(png, "rb");
	assert_non_null(f);
	assert_int_equal(fread(magic, 1, 8, f), 8);
	fclose(f);
	assert_memory_equal(magic, "\x89PNG\r\n\x1a\n", 8);
	unlink(png);
	rmdir(dir);
}

static void test_bench_usage(void **state)
{
	cow(NULL, "bench", NULL);
	assert_int_equal(R.status, 2);
	cow(NULL, "bench", "nosuchbench", NULL);
	assert_int_equal(R.status, 2);
	assert_non_null(strstr(R.err, "nosuchbench"));
	cow(NULL, "bench", "spawn", "--size", "lots", NULL);
	assert_int_equal(R.status, 2);
	cow(NULL, "bench", "spawn", "--repeat", "0", NULL);
	assert_int_equal(R.status, 2);
	cow(NULL, "bench", "spawn", "--size", "4M", "--sizes", "8M", "--plot", "x.png", NULL);
	assert_int_equal(R.status, 2);
	assert_non_null(strstr(R.err, "once"));
	cow(NULL, "bench", "spawn", "--size", "4M", "--prog", "/nonexistent/prog", NULL);
	assert_int_equal(R.status, 1);
	assert_non_null(strstr(R.err, "/nonexistent/prog"));
}

/* getopt_long: --opt=value and --opt value alike; errors name the argument. */
static void test_bench_options(void **state)
{
	cow(NULL, "bench", "spawn", "--size=4M", "--repeat=1", NULL);
	assert_int_equal(R.status, 0);
	assert_non_null(strstr(R.out, "RESULT spawn_vfork_exec@4MiB "));
	cow(NULL, "bench", "str", "--size=4K", "--count=10", "--repeat", "1", NULL);
	assert_int_equal(R.status, 0);
	assert_non_null(strstr(R.out, "RESULT str_copy_4096B "));

	cow(NULL, "bench", "spawn", "--size=64Q", NULL);
	assert_int_equal(R.status, 2);
	assert_non_null(strstr(R.err, "cow bench: invalid value for --size: 64Q"));
	cow(NULL, "bench", "spawn", "--size", "64Q", NULL);
	assert_int_equal(R.status, 2);
	assert_non_null(strstr(R.err, "cow bench: invalid value for --size: 64Q"));
	cow(NULL, "bench", "spawn", "--repeat=lots", NULL);
	assert_int_equal(R.status, 2);
	assert_non_null(strstr(R.err, "invalid value for --repeat: lots"));
	cow(NULL, "bench", "spawn", "--no-such-option", NULL);
	assert_int_equal(R.status, 2);
	assert_non_null(strstr(R.err, "--no-such-option"));
	cow(NULL, "bench", "spawn", "--count", "3", NULL);	/* str's, not spawn's */
	assert_int_equal(R.status, 2);
	assert_non_null(strstr(R.err, "--count"));
	cow(NULL, "bench", "spawn", "--size", NULL);
	assert_int_equal(R.status, 2);
	assert_non_null(strstr(R.err, "--size needs a value"));
	cow(NULL, "bench", "spawn", "stray", NULL);
	assert_int_equal(R.status, 2);
	assert_non_null(strstr(R.err, "stray"));
	cow(NULL, "demo", "--pages=99", NULL);
	assert_int_equal(R.status, 2);
	assert_non_null(strstr(R.err, "invalid value for --pages: 99"));
	cow(NULL, "inspect", "--jsn", "1", NULL);
	assert_int_equal(R.status, 2);
	assert_non_null(strstr(R.err, "--jsn"));
	cow(NULL, "fork-demo", "extra", NULL);
	assert_int_equal(R.status, 2);
	assert_non_null(strstr(R.err, "extra"));
	cow(NULL, "store", "ls", "/x", "1", "2", NULL);
	assert_int_equal(R.status, 2);
	assert_non_null(strstr(R.err, "unexpected argument: 2"));
}

/* --plot with --size draws that size, as docs/TOOL.md shows. */
static void test_bench_plot_with_size(void **state)
{
	char dir[] = "/tmp/cow-test-plot-XXXXXX", png[64];

	if (system("command -v gnuplot >/dev/null 2>&1") != 0) {
		fprintf(stderr, "skipped: no gnuplot (scripts/deps.sh installs gnuplot-nox)\n");
		skip();
	}
	assert_non_null(mkdtemp(dir));
	snprintf(png, sizeof png, "%s/spawn.png", dir);
	cow(NULL, "bench", "spawn", "--plot", png, "--size=4M", "--repeat", "1", NULL);
	if (R.status)
		fail_msg("status %d: %s", R.status, R.err);
	assert_int_equal(result_lines(R.out), 2);
	assert_int_equal(access(png, R_OK), 0);
	unlink(png);
	rmdir(dir);
}

/* ---- every subcommand has --help; exit statuses ---------------------- */

static void test_help(void **state)
{
	static const char *const cmds[][2] = {
		{ "inspect", NULL }, { "fork-demo", NULL }, { "bench", NULL }, { "bench", "spawn" },
	};

	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
		if (cmds[i][1])
			cow(NULL, cmds[i][0], cmds[i][1], "--help", NULL);
		else
			cow(NULL, cmds[i][0], "--help", NULL);
		assert_int_equal(R.status, 0);
		assert_non_null(strstr(R.out, "usage: "));
	}
	cow(NULL, "--help", NULL);
	assert_int_equal(R.status, 0);
	assert_non_null(strstr(R.out, "inspect"));
	assert_non_null(strstr(R.out, "fork-demo"));
	cow(NULL, "no-such-command", NULL);
	assert_int_equal(R.status, 2);
}

/* The top-level help names every subcommand, every benchmark of cow bench's
 * table and --version; --version prints the library's version. */
static void test_help_lists_everything(void **state)
{
	static const char *const cmds[] = { "demo", "inspect", "fork-demo", "bench", "store" };
	static char top[OUT_MAX];
	char want[64], *line, *save = NULL;
	int benches = 0;

	cow(NULL, "--help", NULL);
	assert_int_equal(R.status, 0);
	memcpy(top, R.out, sizeof top);
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
		snprintf(want, sizeof want, "\n  %s ", cmds[i]);
		if (!strstr(top, want))
			fail_msg("cow --help does not list %s", cmds[i]);
	}
	assert_non_null(strstr(top, "--version"));
	/* Every benchmark line of `cow bench --help` ("  NAME  summary"). */
	cow(NULL, "bench", "--help", NULL);
	assert_int_equal(R.status, 0);
	line = strstr(R.out, "benchmarks:\n");
	assert_non_null(line);
	for (line = strtok_r(line + 12, "\n", &save); line && line[0] == ' ';
	     line = strtok_r(NULL, "\n", &save)) {
		char name[32];

		assert_int_equal(sscanf(line, " %31s", name), 1);
		snprintf(want, sizeof want, " %s,", name);
		if (!strstr(top, want) && !(snprintf(want, sizeof want, " %s\n", name), strstr(top, want)))
			fail_msg("cow --help does not list the benchmark %s", name);
		benches++;
	}
	assert_true(benches >= 11);

	cow(NULL, "--version", NULL);
	assert_int_equal(R.status, 0);
	snprintf(want, sizeof want, "cow %s\n", COW_VERSION_STRING);
	assert_string_equal(R.out, want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inspect_sees_fork_sharing),
		cmocka_unit_test(test_inspect_without_pagemap_scan),
		cmocka_unit_test(test_inspect_table),
		cmocka_unit_test(test_inspect_errors),
		cmocka_unit_test(test_demo),
		cmocka_unit_test(test_fork_demo),
		cmocka_unit_test(test_unprivileged),
		cmocka_unit_test(test_bench_spawn),
		cmocka_unit_test(test_bench_all_tiny),
		cmocka_unit_test(test_bench_plot),
		cmocka_unit_test(test_bench_usage),
		cmocka_unit_test(test_help),
		cmocka_unit_test(test_bench_options),
		cmocka_unit_test(test_bench_plot_with_size),
		cmocka_unit_test(test_help_lists_everything),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
