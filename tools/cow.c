/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cow — see copy-on-write happen, in libcow and in real processes; measure it.
 */
#include <cow.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cow_tool.h"

static const struct cow_cmd commands[] = {
	{ "demo", cow_cmd_demo, "the engine at work, explained page by page" },
	{ "inspect", cow_cmd_inspect, "pages of a live process: resident, shared, copy-on-write" },
	{ "fork-demo", cow_cmd_fork_demo, "the kernel's copy-on-write after fork(), frame by frame" },
	{ "bench", cow_cmd_bench, "measure against a baseline in the same run (benchmarks below)" },
	{ "store", cow_cmd_store, "list, describe, verify a store file; drop a checkpoint" },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

void cow_tool_err(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "cow %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int cow_tool_getopt(const char *cmd, int argc, char **argv, const struct option *opts)
{
	int c;

	opterr = 0;		/* the messages below name the subcommand */
	c = getopt_long(argc, argv, ":", opts, NULL);
	if (c == '?') {
		if (optopt)
			cow_tool_err(cmd, "unknown option: -%c (cow %s --help)", optopt, cmd);
		else
			cow_tool_err(cmd, "unknown option: %s (cow %s --help)", argv[optind - 1], cmd);
		return -2;
	}
	if (c == ':') {
		cow_tool_err(cmd, "%s needs a value", argv[optind - 1]);
		return -2;
	}
	return c;
}

int cow_tool_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return 1;
	return 0;
}

int cow_tool_parse_size(const char *s, size_t *out)
{
	char *end;
	double v;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || v < 0)
		return -EINVAL;
	int suffixed = 1;

	switch (*end) {
	case 'k': case 'K': v *= 1024.0; break;
	case 'm': case 'M': v *= 1024.0 * 1024; break;
	case 'g': case 'G': v *= 1024.0 * 1024 * 1024; break;
	case 't': case 'T': v *= 1024.0 * 1024 * 1024 * 1024; break;
	default: suffixed = 0; break;
	}
	end += suffixed;
	if (suffixed && *end == 'i')
		end++;			/* KiB, MiB, GiB */
	if (*end == 'B')
		end++;
	if (*end || v > (double)SIZE_MAX / 2)
		return -EINVAL;
	*out = (size_t)v;
	return 0;
}

/* The top-level help: every subcommand (from the table above) and every
 * benchmark (from cow bench's table). */
static void usage(FILE *f)
{
	fprintf(f, "usage: cow COMMAND [ARGS...]   (cow COMMAND --help for more)\n"
		   "       cow --help | --version\n\n"
		   "commands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].summary);
	fputs("\nbenchmarks (cow bench NAME):\n  ", f);
	cow_bench_names(f, ", ");
	fputs("\n\n  --version    print cow's version (libcow's) and exit\n"
	      "  --help       this help\n\n"
	      "Exit status: 0 done, 1 the operation failed, 2 bad usage. man cow(1).\n", f);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return COW_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return COW_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("cow %s\n", cow_version());
		return COW_EXIT_OK;
	}
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "cow: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return COW_EXIT_USAGE;
}
