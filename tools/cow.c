/*
 * cow — see copy-on-write happen, in libcow and in real processes; measure it.
 */
#include <cow.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cow_tool.h"

static const struct cow_cmd commands[] = {
	{ "demo", cow_cmd_demo, "the engine at work, explained page by page" },
	{ "inspect", cow_cmd_inspect, "pages of a live process: resident, shared, copy-on-write" },
	{ "fork-demo", cow_cmd_fork_demo, "the kernel's copy-on-write after fork(), frame by frame" },
	{ "bench", cow_cmd_bench, "measure: snapshot, fault, restore, fork, save, spawn" },
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

static void usage(FILE *f)
{
	fprintf(f, "usage: cow COMMAND [ARGS...]   (cow COMMAND --help for more)\n\n"
		   "commands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].summary);
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
	if (!strcmp(argv[1], "--version")) {
		printf("cow %d.%d.%d\n", COW_VERSION_MAJOR, COW_VERSION_MINOR,
		       COW_VERSION_PATCH);
		return COW_EXIT_OK;
	}
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "cow: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return COW_EXIT_USAGE;
}
