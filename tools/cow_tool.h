/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The `cow` command: one function per subcommand, each in its own file
 * (tools/cmd_<name>.c), listed in the table in tools/cow.c.
 *
 * Conventions for every subcommand:
 *   - `cow NAME --help` prints its usage on stdout and exits 0;
 *   - exit status 0 on success, 1 when the operation failed, 2 on bad usage;
 *   - errors go to stderr as "cow NAME: what went wrong";
 *   - `--json` where the output is data.
 */
#ifndef COW_TOOL_H
#define COW_TOOL_H

#include <stdio.h>

enum { COW_EXIT_OK = 0, COW_EXIT_FAIL = 1, COW_EXIT_USAGE = 2 };

/* A subcommand: argv[0] is the subcommand's name. Returns the exit status. */
typedef int cow_cmd_fn(int argc, char **argv);

struct cow_cmd {
	const char *name;
	cow_cmd_fn *run;
	const char *summary;
};

/* Print "cow NAME: message" on stderr (printf-style). */
void cow_tool_err(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

struct option;

/*
 * getopt_long over argv[1..argc) (argv[0] is the subcommand's name) with
 * opts, errors reported as "cow CMD: unknown option: --x" or "cow CMD: --x
 * needs a value". Set optind = 0 before the first call of a parse. Returns
 * the option's value (val of opts), -1 when the options are done (operands
 * from argv[optind] on), or -2 after reporting bad usage.
 */
int cow_tool_getopt(const char *cmd, int argc, char **argv, const struct option *opts);

/* 1 if argv[1..argc) holds --help or -h. */
int cow_tool_wants_help(int argc, char **argv);

/* Parse a size such as 4096, 64K, 256M, 1G, 1.5G; returns 0 or -EINVAL. */
int cow_tool_parse_size(const char *s, size_t *out);

/* Print the names of cow bench's benchmarks on f, separated by sep (from
 * the benchmark table in tools/cmd_bench.c). */
void cow_bench_names(FILE *f, const char *sep);

/* The subcommands. */
cow_cmd_fn cow_cmd_demo;
cow_cmd_fn cow_cmd_inspect;
cow_cmd_fn cow_cmd_fork_demo;
cow_cmd_fn cow_cmd_bench;
cow_cmd_fn cow_cmd_store;

#endif
