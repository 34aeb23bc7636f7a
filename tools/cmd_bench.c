/*
 * cow bench NAME: run one of libcow's benchmark bodies (bench/b_<name>.c),
 * as is, as JSON, or across sizes into a gnuplot figure.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_tool.h"
#include "benchlib.h"
#include "cow_tool.h"
#include "json.h"

typedef int bench_main_fn(int argc, char **argv);

struct bench {
	const char *name;
	bench_main_fn *run;	/* NULL: its body is not built in this version */
	const char *summary;
	const char *sweep;	/* default sizes for --plot */
	const char *options;	/* the body's own options, for --help */
};

/*
 * The benchmark bodies. A body that lands in bench/b_<name>.c replaces its
 * NULL here by b_<name>_main (declared in bench/benchlib.h).
 */
static const struct bench benches[] = {
	{ "snapshot", b_snapshot_main,
	  "Freezing a written space (cow_snapshot), against fork() of the same memory",
	  "16M,64M,256M,1G", NULL },
	{ "fault", b_fault_main,
	  "The first write per page after a snapshot, against the kernel's COW fault",
	  "16M,64M,256M,1G", NULL },
	{ "restore", b_restore_main,
	  "cow_restore() after 10% of the pages changed, against memcpy() of them",
	  "16M,64M,256M,1G", NULL },
	{ "fork", b_fork_main,
	  "Forking a written space (cow_fork), against memcpy() and fork()",
	  "16M,64M,256M,1G", NULL },
	{ "save", b_save_main,
	  "Background save under a writer rewriting every page, against fork()+write",
	  "16M,64M,256M,1G", NULL },
	{ "loop", b_loop_main,
	  "The fuzzer loop (write 16/100/1000 pages, restore), against a fork server and the kernel's MAP_PRIVATE reset",
	  "64M,256M,1G", NULL },
	{ "scale", b_scale_main,
	  "Restore and re-snapshot after 100 written pages at 64M..4G, against memcpy of the pages",
	  "64M,256M,1G,4G", NULL },
	{ "spill", b_spill_main,
	  "First-write latency of one thread while another's writes spill a save, against the same with no save",
	  "64M,256M,1G", NULL },
	{ "store", b_store_main,
	  "Committing a snapshot to a store, against write()+fsync(); incremental against full",
	  "16M,64M,256M,1G",
	  "  files go to $COW_BENCH_DIR (default /var/tmp)\n" },
	{ "spawn", b_spawn_main,
	  "Starting a program from a big parent: fork()+exec, vfork()+exec, posix_spawn()",
	  "100M,512M,1G,2G,4G,8G",
	  "  --size N     the parent's resident memory; without it, a sweep of 0.1, 0.5,\n"
	  "               1, 2, 4, 8 GiB (capped by half the memory available)\n"
	  "  --prog PATH  the program to start (default /bin/true)\n"
	  "  --thp        the parent's memory in transparent huge pages (default 4 KiB)\n"
	  "  --rewrite    also time the parent writing all its memory after the child\n"
	  "               exited: after fork(), every page faults once more" },
	{ "image", b_image_main,
	  "Exec and load of a file image, against read(2); N clones' memory against N copies",
	  "16M,64M,256M,1G", NULL },
	{ "vfork", b_vfork_main,
	  "A child that writes 1% of the pages: cow_vfork against cow_fork",
	  "16M,64M,256M,1G", NULL },
	{ "heap", b_heap_main,
	  "The space heap: operations per second against malloc(), pages dirtied per operation",
	  "4M,32M,256M", NULL },
	{ "str", b_str_main,
	  "cow_str: copies, first write (detach) and reuse, against strdup() and memcpy()",
	  "4K,64K,1M,16M",
	  "  --size N     the string's length (default 1 MiB)\n"
	  "  --count N    holders the string is passed to (default 1000)" },
};

#define NBENCHES (sizeof benches / sizeof benches[0])

/* What the command line asked for. */
struct bench_args {
	const struct bench *b;
	const char *size, *repeat, *plot, *sizes;
	int json;
	int argc;		/* the body's arguments: argv[0] and passed-through */
	char **argv;
};

static void bench_usage(FILE *f)
{
	fputs("usage: cow bench NAME [--size N] [--repeat N] [--json] [BODY OPTIONS]\n"
	      "       cow bench NAME --plot FILE.png [--sizes N,N,...] [--repeat N] [--json]\n"
	      "\n"
	      "Runs a benchmark: every figure against its baseline measured in the same\n"
	      "run, medians over --repeat runs, one RESULT line each:\n"
	      "  RESULT <name> <value> <unit> baseline=<name> <value> ratio=<value/baseline>\n"
	      "\n"
	      "  --size N       the size to measure (64M, 1G, 1.5G...)\n"
	      "  --repeat N     runs per figure (the median is reported)\n"
	      "  --json         the results as JSON on stdout (other output on stderr)\n"
	      "  --plot FILE    run at each size of --sizes and draw every figure and its\n"
	      "                 baseline against size into FILE (PNG, by gnuplot)\n"
	      "  --sizes LIST   sizes for --plot (default: the benchmark's own sweep,\n"
	      "                 sizes above half the available memory left out)\n"
	      "\n"
	      "benchmarks:\n", f);
	for (size_t i = 0; i < NBENCHES; i++)
		fprintf(f, "  %-9s %.*s%s\n", benches[i].name,
			(int)strcspn(benches[i].summary, "\n"), benches[i].summary,
			benches[i].run ? "" : " (not built in this version)");
	fputs("\nOther options go to the benchmark (cow bench NAME --help).\n"
	      "Exit status: 0 done, 1 the benchmark failed or is not built, 2 bad usage.\n", f);
}

static void bench_help(const struct bench *b)
{
	printf("usage: cow bench %s [--size N] [--repeat N] [--json] [OPTIONS]\n"
	       "       cow bench %s --plot FILE.png [--sizes N,N,...] [--repeat N] [OPTIONS]\n\n"
	       "%s.\n", b->name, b->name, b->summary);
	if (b->options)
		printf("\nOptions of its own:\n%s\n", b->options);
	printf("\n--plot sizes by default: %s (cow bench --help: the common options).\n%s",
	       b->sweep, b->run ? "" : "This benchmark is not built in this version.\n");
}

static const struct bench *find_bench(const char *name)
{
	for (size_t i = 0; i < NBENCHES; i++)
		if (!strcmp(benches[i].name, name))
			return &benches[i];
	return NULL;
}

/* Parse argv (argv[1] is NAME) into *a. Returns -1 to go on, or the exit
 * status (help printed, or bad usage reported). */
static int parse_args(int argc, char **argv, struct bench_args *a)
{
	size_t sz;

	memset(a, 0, sizeof *a);
	if (argc < 2 || (argv[1][0] == '-' && strcmp(argv[1], "--help") && strcmp(argv[1], "-h"))) {
		cow_tool_err("bench", "which benchmark? (cow bench --help lists them)");
		return COW_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		bench_usage(stdout);
		return COW_EXIT_OK;
	}
	a->b = find_bench(argv[1]);
	if (!a->b) {
		cow_tool_err("bench", "no benchmark named '%s' (cow bench --help lists them)",
			     argv[1]);
		return COW_EXIT_USAGE;
	}
	if (cow_tool_wants_help(argc, argv)) {
		bench_help(a->b);
		return COW_EXIT_OK;
	}
	a->argv = calloc((size_t)argc + 5, sizeof *a->argv);
	if (!a->argv)
		return COW_EXIT_FAIL;
	a->argv[a->argc++] = argv[1];
	for (int i = 2; i < argc; i++) {
		const char **opt = !strcmp(argv[i], "--size") ? &a->size :
				   !strcmp(argv[i], "--repeat") ? &a->repeat :
				   !strcmp(argv[i], "--plot") ? &a->plot :
				   !strcmp(argv[i], "--sizes") ? &a->sizes : NULL;

		if (!strcmp(argv[i], "--json")) {
			a->json = 1;
		} else if (!opt) {
			a->argv[a->argc++] = argv[i];	/* the body's */
		} else if (i + 1 >= argc) {
			cow_tool_err("bench", "%s needs a value", argv[i]);
			return COW_EXIT_USAGE;
		} else {
			*opt = argv[++i];
		}
	}
	if (a->size && cow_tool_parse_size(a->size, &sz)) {
		cow_tool_err("bench", "--size '%s' is not a size (64M, 1G, 1.5G...)", a->size);
		return COW_EXIT_USAGE;
	}
	if (a->repeat) {
		char *end;
		long n = strtol(a->repeat, &end, 10);

		if (*end || end == a->repeat || n < 1 || n > 100000) {
			cow_tool_err("bench", "--repeat '%s' is not a count (1 to 100000)", a->repeat);
			return COW_EXIT_USAGE;
		}
	}
	if (a->plot && a->size) {
		cow_tool_err("bench", "--plot runs several sizes: give them with --sizes, not --size");
		return COW_EXIT_USAGE;
	}
	if (a->sizes && !a->plot) {
		cow_tool_err("bench", "--sizes goes with --plot FILE");
		return COW_EXIT_USAGE;
	}
	if (a->repeat) {
		a->argv[a->argc++] = "--repeat";
		a->argv[a->argc++] = (char *)a->repeat;
	}
	return -1;
}

/*
 * Run the body with argv in a child whose stdout comes back through a pipe:
 * RESULT lines are parsed into rs (with size), the other lines copied to
 * echo (stdout or stderr), and RESULT lines too if echo_results. Returns the
 * body's exit status, or 1 if it could not run or died.
 */
static int run_captured(const struct bench_args *a, char **argv, int argc, double size,
			struct bench_results *rs, FILE *echo, int echo_results)
{
	int fds[2], status;
	char *line = NULL;
	size_t cap = 0;
	pid_t pid;
	FILE *in;

	fflush(NULL);
	if (pipe(fds))
		return COW_EXIT_FAIL;
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		if (dup2(fds[1], STDOUT_FILENO) < 0)
			_exit(COW_EXIT_FAIL);
		close(fds[1]);
		status = a->b->run(argc, argv);
		fflush(stdout);
		_exit(status & 0xff);
	}
	close(fds[1]);
	if (pid < 0 || !(in = fdopen(fds[0], "r"))) {
		close(fds[0]);
		if (pid > 0)
			waitpid(pid, NULL, 0);
		return COW_EXIT_FAIL;
	}
	while (getline(&line, &cap, in) > 0) {
		struct bench_result r;
		int is_result = !bench_result_parse(line, &r);

		if (is_result) {
			r.size = size;
			if (bench_results_add(rs, &r))
				is_result = 0;
		}
		if (!is_result || echo_results)
			fputs(line, echo);
	}
	free(line);
	fclose(in);
	if (waitpid(pid, &status, 0) != pid)
		return COW_EXIT_FAIL;
	if (WIFSIGNALED(status)) {
		cow_tool_err("bench", "%s died of signal %d (%s)", a->b->name, WTERMSIG(status),
			     strsignal(WTERMSIG(status)));
		return COW_EXIT_FAIL;
	}
	return WEXITSTATUS(status);
}

static void print_json(const struct bench_args *a, const struct bench_results *rs, int rc)
{
	printf("{\"bench\": \"%s\", \"status\": %d, \"results\": [", a->b->name, rc);
	for (size_t i = 0; i < rs->n; i++) {
		const struct bench_result *r = &rs->v[i];

		printf("%s\n  {\"name\": ", i ? "," : "");
		cow_json_str(stdout, r->name);
		printf(", \"value\": %.6g, \"unit\": ", r->value);
		cow_json_str(stdout, r->unit);
		fputs(", \"baseline\": {\"name\": ", stdout);
		cow_json_str(stdout, r->base_name);
		printf(", \"value\": %.6g}, \"ratio\": %.6g", r->base_value, r->ratio);
		if (r->size >= 0)
			printf(", \"size\": %.0f", r->size);
		fputc('}', stdout);
	}
	fputs("\n]}\n", stdout);
}

/* --plot: run the body at each size, then draw. Returns the exit status. */
static int run_plot(struct bench_args *a, struct bench_results *rs)
{
	char *list = strdup(a->sizes ? a->sizes : a->b->sweep), *save = NULL, *tok;
	size_t avail = b_mem_available(), n = 0;
	int rc = COW_EXIT_OK, tty = isatty(STDERR_FILENO);
	char title[128];

	if (!list)
		return COW_EXIT_FAIL;
	for (tok = strtok_r(list, ",", &save); tok && rc == COW_EXIT_OK;
	     tok = strtok_r(NULL, ",", &save)) {
		size_t sz;

		if (cow_tool_parse_size(tok, &sz) || !sz) {
			cow_tool_err("bench", "--sizes: '%s' is not a size", tok);
			rc = COW_EXIT_USAGE;
			break;
		}
		if (!a->sizes && avail && sz > avail / 2) {
			fprintf(stderr, "cow bench: size %s left out: %zu MiB available\n", tok,
				avail >> 20);
			continue;
		}
		if (tty)
			fprintf(stderr, "cow bench %s: size %s\n", a->b->name, tok);
		a->argv[a->argc] = "--size";
		a->argv[a->argc + 1] = tok;
		rc = run_captured(a, a->argv, a->argc + 2, (double)sz, rs,
				  a->json ? stderr : stdout, !a->json);
		n++;
	}
	free(list);
	if (rc != COW_EXIT_OK)
		return rc;
	snprintf(title, sizeof title, "cow bench %s", a->b->name);
	rc = n ? bench_plot(rs, title, a->plot) : -EINVAL;
	if (rc == -ENOENT)
		cow_tool_err("bench", "gnuplot not found: install it (Debian: gnuplot-nox)");
	else if (rc == -EINVAL)
		cow_tool_err("bench", "nothing to plot: no size ran or no RESULT line came");
	else if (rc)
		cow_tool_err("bench", "gnuplot could not draw %s", a->plot);
	else if (!a->json)
		printf("plot: %s\n", a->plot);
	return rc ? COW_EXIT_FAIL : COW_EXIT_OK;
}

int cow_cmd_bench(int argc, char **argv)
{
	struct bench_results rs = { 0 };
	struct bench_args a;
	int rc = parse_args(argc, argv, &a);

	if (rc >= 0) {
		free(a.argv);
		return rc;
	}
	if (!a.b->run) {
		cow_tool_err("bench", "'%s' is not built in this version", a.b->name);
		free(a.argv);
		return COW_EXIT_FAIL;
	}
	if (a.size) {
		a.argv[a.argc++] = "--size";
		a.argv[a.argc++] = (char *)a.size;
	}
	if (a.plot)
		rc = run_plot(&a, &rs);
	else if (a.json)
		rc = run_captured(&a, a.argv, a.argc, -1, &rs, stderr, 0);
	else
		rc = a.b->run(a.argc, a.argv);
	if (a.json)
		print_json(&a, &rs, rc);
	bench_results_free(&rs);
	free(a.argv);
	return rc;
}
