/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cow bench NAME: run one of libcow's benchmark bodies (bench/b_<name>.c),
 * as is, as JSON, or across sizes into a gnuplot figure.
 */
#include <errno.h>
#include <getopt.h>
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
	const char *longopts;	/* the body's own options for getopt_long, comma
				 * separated, "name:" when it takes a value */
};

/*
 * The benchmark bodies. A body that lands in bench/b_<name>.c replaces its
 * NULL here by b_<name>_main (declared in bench/benchlib.h).
 */
static const struct bench benches[] = {
	{ "snapshot", b_snapshot_main,
	  "Freezing a written space (cow_snapshot), against fork() of the same memory",
	  "16M,64M,256M,1G", NULL, NULL },
	{ "fault", b_fault_main,
	  "The first write per page after a snapshot, against the kernel's COW fault",
	  "16M,64M,256M,1G", NULL, NULL },
	{ "restore", b_restore_main,
	  "cow_restore() after 10% of the pages changed, against memcpy() of them",
	  "16M,64M,256M,1G", NULL, NULL },
	{ "fork", b_fork_main,
	  "Forking a written space (cow_fork), against memcpy() and fork()",
	  "16M,64M,256M,1G", NULL, NULL },
	{ "save", b_save_main,
	  "Background save under a writer rewriting every page, against fork()+write",
	  "16M,64M,256M,1G", NULL, NULL },
	{ "loop", b_loop_main,
	  "The fuzzer loop (write 16/100/1000 pages, restore), against a fork server and the kernel's MAP_PRIVATE reset",
	  "64M,256M,1G", NULL, NULL },
	{ "scale", b_scale_main,
	  "Restore, re-snapshot, re-fork and destroying the fork after 100 written pages at 64M..4G, against memcpy of the pages",
	  "64M,256M,1G,4G", NULL, NULL },
	{ "thp", b_thp_main,
	  "Anonymous THP memory: uffd write-protect against fork(), first writes (SIGBUS copy-out, WP_ASYNC) against the kernel's COW fault, PAGEMAP_SCAN",
	  "256M,1G,4G",
	  "  without --size, a sweep of 256M, 1G, 4G (sizes above half the memory\n"
	  "  available left out); --size N (at least 8M) measures N alone", NULL },
	{ "spill", b_spill_main,
	  "First-write latency of one thread while another's writes spill a save, against the same with no save",
	  "64M,256M,1G", NULL, NULL },
	{ "store", b_store_main,
	  "Committing a snapshot to a store, against write()+fsync(); incremental against full",
	  "16M,64M,256M,1G",
	  "  files go to $COW_BENCH_DIR (default /var/tmp)\n", NULL },
	{ "spawn", b_spawn_main,
	  "Starting a program from a big parent: fork()+exec, vfork()+exec, posix_spawn()",
	  "100M,512M,1G,2G,4G,8G",
	  "  --size N     the parent's resident memory; without it, a sweep of 0.1, 0.5,\n"
	  "               1, 2, 4, 8 GiB (capped by half the memory available)\n"
	  "  --prog PATH  the program to start (default /bin/true)\n"
	  "  --thp        the parent's memory in transparent huge pages (default 4 KiB)\n"
	  "  --rewrite    also time the parent writing all its memory after the child\n"
	  "               exited: after fork(), every page faults once more",
	  "prog:,thp,rewrite" },
	{ "image", b_image_main,
	  "Exec and load of a file image, against read(2); N clones' memory against N copies",
	  "16M,64M,256M,1G", NULL, NULL },
	{ "vfork", b_vfork_main,
	  "A child that writes 1% of the pages: cow_vfork against cow_fork",
	  "16M,64M,256M,1G", NULL, NULL },
	{ "heap", b_heap_main,
	  "The space heap: operations per second against malloc(), pages dirtied per operation",
	  "4M,32M,256M",
	  "  --size N     the space (default 32M)\n"
	  "  --ops N      operations per timed run (default 400000)\n"
	  "  --live N     slots: at most N live objects (default 8192)",
	  "ops:,live:" },
	{ "str", b_str_main,
	  "cow_str: copies, first write (detach) and reuse, against strdup() and memcpy()",
	  "4K,64K,1M,16M",
	  "  --size N     the string's length (default 1 MiB)\n"
	  "  --count N    holders the string is passed to (default 1000)",
	  "count:" },
};

#define NBENCHES (sizeof benches / sizeof benches[0])

#define BODY_OPTS_MAX 8

/* What the command line asked for. */
struct bench_args {
	const struct bench *b;
	const char *size, *repeat, *plot, *sizes;
	int json;
	int argc;		/* the body's arguments: argv[0] and passed-through */
	char **argv;
	char body_opts[BODY_OPTS_MAX][24];	/* "--name" of the body's options */
};

/* The options every benchmark takes; getopt_long's values for them. */
enum { OPT_SIZE = 1000, OPT_REPEAT, OPT_JSON, OPT_PLOT, OPT_SIZES, OPT_HELP, OPT_BODY };

static const struct option common_opts[] = {
	{ "size", required_argument, NULL, OPT_SIZE },
	{ "repeat", required_argument, NULL, OPT_REPEAT },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "plot", required_argument, NULL, OPT_PLOT },
	{ "sizes", required_argument, NULL, OPT_SIZES },
	{ "help", no_argument, NULL, OPT_HELP },
};

#define NCOMMON (sizeof common_opts / sizeof common_opts[0])

void cow_bench_names(FILE *f, const char *sep)
{
	for (size_t i = 0; i < NBENCHES; i++)
		fprintf(f, "%s%s", i ? sep : "", benches[i].name);
}

static void bench_usage(FILE *f)
{
	fputs("usage: cow bench NAME [--size N] [--repeat N] [--json] [BODY OPTIONS]\n"
	      "       cow bench NAME --plot FILE.png [--sizes N,N,...] [--repeat N] [--json]\n"
	      "\n"
	      "Runs a benchmark: every figure against its baseline measured in the same\n"
	      "run, medians over --repeat runs, one RESULT line each:\n"
	      "  RESULT <name> <value> <unit> baseline=<name> <value> ratio=<value/baseline>\n"
	      "\n"
	      "  --size N       the size to measure (64M, 1G, 1.5G...); with --plot, the\n"
	      "                 sizes to draw, as --sizes\n"
	      "  --repeat N     runs per figure (the median is reported)\n"
	      "  --json         the results as JSON on stdout (other output on stderr)\n"
	      "  --plot FILE    run at each size of --sizes and draw every figure and its\n"
	      "                 baseline against size into FILE (PNG, by gnuplot)\n"
	      "  --sizes LIST   sizes for --plot (default: the benchmark's own sweep,\n"
	      "                 sizes above half the available memory left out)\n"
	      "Options take their value as --size 64M or --size=64M.\n"
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

/*
 * Fill opts (room for NCOMMON + BODY_OPTS_MAX + 1) with the common options
 * then b's own (from b->longopts; names[k] gets "--name", which opts point
 * into: names must outlive opts), NULL-terminated.
 */
static void build_opts(const struct bench *b, struct option *opts,
		       char names[BODY_OPTS_MAX][24])
{
	size_t n = NCOMMON, k = 0;
	const char *p = b->longopts;

	memcpy(opts, common_opts, sizeof common_opts);
	while (p && *p && k < BODY_OPTS_MAX) {
		size_t len = strcspn(p, ",");
		int arg = len && p[len - 1] == ':';

		snprintf(names[k], sizeof names[k], "--%.*s", (int)(len - (size_t)arg), p);
		opts[n++] = (struct option){ names[k] + 2, arg ? required_argument : no_argument,
					     NULL, OPT_BODY + (int)k };
		k++;
		p += len + (p[len] == ',');
	}
	opts[n] = (struct option){ 0 };
}

/* Check the values of the common options; 0, or the exit status after
 * naming the bad one. */
static int check_values(struct bench_args *a)
{
	size_t sz;

	if (a->size && !a->plot && (cow_tool_parse_size(a->size, &sz) || !sz)) {
		cow_tool_err("bench", "invalid value for --size: %s (a size: 64M, 1G, 1.5G...)",
			     a->size);
		return COW_EXIT_USAGE;
	}
	if (a->repeat) {
		char *end;
		long n = strtol(a->repeat, &end, 10);

		if (*end || end == a->repeat || n < 1 || n > 100000) {
			cow_tool_err("bench", "invalid value for --repeat: %s (a count, 1 to 100000)",
				     a->repeat);
			return COW_EXIT_USAGE;
		}
	}
	if (a->plot && a->size && a->sizes) {
		cow_tool_err("bench", "--plot: give the sizes once, with --size or --sizes");
		return COW_EXIT_USAGE;
	}
	if (a->plot && a->size) {
		a->sizes = a->size;	/* --plot --size 64M: draw that size (or list) */
		a->size = NULL;
	}
	if (a->sizes && !a->plot) {
		cow_tool_err("bench", "--sizes goes with --plot FILE");
		return COW_EXIT_USAGE;
	}
	return 0;
}

/*
 * Parse argv (argv[1] is NAME) into *a with getopt_long: the common options
 * are kept, the benchmark's own are passed on to its body as "--name value".
 * Returns -1 to go on, or the exit status (help printed, or bad usage
 * reported naming the argument).
 */
static int parse_args(int argc, char **argv, struct bench_args *a)
{
	struct option opts[NCOMMON + BODY_OPTS_MAX + 1];
	int c, rc;

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
	a->argv = calloc((size_t)argc * 2 + 5, sizeof *a->argv);
	if (!a->argv)
		return COW_EXIT_FAIL;
	a->argv[a->argc++] = argv[1];
	build_opts(a->b, opts, a->body_opts);
	optind = 0;		/* glibc: start afresh */
	opterr = 0;		/* our messages name the benchmark */
	while ((c = getopt_long(argc - 1, argv + 1, ":h", opts, NULL)) != -1) {
		const char *bad = argv[optind];	/* argv + 1 shifted: optind - 1 + 1 */

		switch (c) {
		case OPT_SIZE: a->size = optarg; break;
		case OPT_REPEAT: a->repeat = optarg; break;
		case OPT_JSON: a->json = 1; break;
		case OPT_PLOT: a->plot = optarg; break;
		case OPT_SIZES: a->sizes = optarg; break;
		case 'h': case OPT_HELP:
			bench_help(a->b);
			return COW_EXIT_OK;
		case ':':
			cow_tool_err("bench", "%s needs a value", bad);
			return COW_EXIT_USAGE;
		case '?':
			if (optopt)
				cow_tool_err("bench", "unknown option for %s: -%c (cow bench %s --help)",
					     a->b->name, optopt, a->b->name);
			else
				cow_tool_err("bench", "unknown option for %s: %s (cow bench %s --help)",
					     a->b->name, bad, a->b->name);
			return COW_EXIT_USAGE;
		default: {	/* one of the body's options: pass it on */
			size_t k = (size_t)(c - OPT_BODY);

			a->argv[a->argc++] = a->body_opts[k];
			if (opts[NCOMMON + k].has_arg)
				a->argv[a->argc++] = optarg;
		}
		}
	}
	if (optind + 1 < argc) {
		cow_tool_err("bench", "unexpected argument: %s", argv[optind + 1]);
		return COW_EXIT_USAGE;
	}
	if ((rc = check_values(a)))
		return rc;
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
			cow_tool_err("bench", "invalid value for --sizes: %s (a size: 64M, 1G...)", tok);
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
