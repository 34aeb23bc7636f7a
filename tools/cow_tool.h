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

/* 1 if argv[1..argc) holds --help or -h. */
int cow_tool_wants_help(int argc, char **argv);

/* Parse a size such as 4096, 64K, 256M, 1G, 1.5G; returns 0 or -EINVAL. */
int cow_tool_parse_size(const char *s, size_t *out);

/* The subcommands. */
cow_cmd_fn cow_cmd_demo;
cow_cmd_fn cow_cmd_inspect;
cow_cmd_fn cow_cmd_fork_demo;
cow_cmd_fn cow_cmd_bench;
cow_cmd_fn cow_cmd_store;

#endif
