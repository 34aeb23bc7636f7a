/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cow store — look into a store file: list its checkpoints, describe the
 * store or one checkpoint, verify every checksum, drop a checkpoint.
 * Read-only except for drop: ls, info and verify open the store with
 * COW_STORE_RDONLY, which takes no lock, so they work on a store a running
 * writer (cowkv) holds, and see its newest committed checkpoint.
 */
#include <cow.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cow_tool.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: cow store ls PATH [--json]        list the checkpoints\n"
		   "       cow store info PATH [ID] [--json] describe the store, or checkpoint ID\n"
		   "       cow store verify PATH             read everything, check every checksum\n"
		   "       cow store drop PATH ID            remove checkpoint ID (frees its blocks)\n\n"
		   "PATH is a store written by cow_store_commit(). ls, info and verify work\n"
		   "on a store a running server holds (they read its newest commit); drop\n"
		   "needs the store closed. Exit status: 0 ok, 1 the operation failed (or\n"
		   "verify found damage), 2 bad usage.\n");
}

/* The command line, parsed. */
struct args {
	const char *verb, *path;
	uint64_t id;
	int has_id, json;
};

/* parse — fill a from argv; 0, or -1 on bad usage (message printed). */
static int parse(int argc, char **argv, struct args *a)
{
	static const struct option opts[] = { { "json", no_argument, NULL, 'j' }, { 0 } };
	int c;

	memset(a, 0, sizeof *a);
	optind = 0;
	while ((c = cow_tool_getopt("store", argc, argv, opts)) != -1) {
		if (c != 'j')
			return -1;
		a->json = 1;
	}
	for (int i = optind; i < argc; i++) {
		char *end;

		if (!a->verb) {
			a->verb = argv[i];
		} else if (!a->path) {
			a->path = argv[i];
		} else if (!a->has_id) {
			errno = 0;
			a->id = strtoull(argv[i], &end, 10);
			if (errno || *end || !*argv[i] || argv[i][0] == '-') {
				cow_tool_err("store", "invalid checkpoint id: %s", argv[i]);
				return -1;
			}
			a->has_id = 1;
		} else {
			cow_tool_err("store", "unexpected argument: %s", argv[i]);
			return -1;
		}
	}
	if (!a->verb || !a->path) {
		cow_tool_err("store", "missing %s", a->verb ? "PATH" : "a verb (ls, info, verify, drop)");
		return -1;
	}
	return 0;
}

/* Open the store; on failure say why and return NULL. */
static cow_store *open_store(const char *path, int flags)
{
	cow_store *st = cow_store_open(path, flags);

	if (!st)
		cow_tool_err("store", "%s: %s", path,
			     *cow_store_errmsg(NULL) ? cow_store_errmsg(NULL) : cow_strerror(errno));
	return st;
}

/* Format a CLOCK_REALTIME time in ns as local "YYYY-MM-DD HH:MM:SS". */
static const char *when(uint64_t ns, char *buf, size_t len)
{
	time_t t = (time_t)(ns / 1000000000ull);
	struct tm tm;

	if (!localtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(buf, len, "?");
	return buf;
}

/* A size in bytes, in the largest binary unit that keeps it >= 1. */
static const char *human(uint64_t bytes, char *buf, size_t len)
{
	static const char *unit[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	double v = (double)bytes;
	int u = 0;

	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
	return buf;
}

/* Print s as a JSON string (quoted, escaped). */
static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void json_ckpt(const struct cow_store_info *in)
{
	char t[32];

	printf("{\"id\": %" PRIu64 ", \"parent\": %" PRIu64 ", \"time_ns\": %" PRIu64
	       ", \"time\": \"%s\", \"size\": %" PRIu64 ", \"pages\": %" PRIu64
	       ", \"data_pages\": %" PRIu64 ", \"written_blocks\": %" PRIu64
	       ", \"damaged\": %s}", in->id, in->parent, in->time_ns,
	       when(in->time_ns, t, sizeof t), in->size, in->pages, in->data_pages,
	       in->written_blocks, in->damaged ? "true" : "false");
}

static int cmd_ls(cow_store *st, const struct args *a)
{
	uint64_t *ids;
	size_t n;

	if (cow_store_list(st, NULL, 0, &n) || !(ids = calloc(n + 1, sizeof *ids)) ||
	    cow_store_list(st, ids, n, &n))
		return COW_EXIT_FAIL;
	if (a->json) {
		printf("{\"path\": ");
		json_str(a->path);
		printf(", \"checkpoints\": [");
	} else {
		printf("%-8s %-19s %10s %10s %10s %10s %8s\n", "ID", "COMMITTED", "SIZE",
		       "PAGES", "DATA", "WRITTEN", "PARENT");
	}
	for (size_t i = 0; i < n; i++) {
		struct cow_store_info in;
		char t[32], sz[32], par[24];

		if (cow_store_info(st, ids[i], &in))
			continue;
		if (a->json) {
			printf(i ? ", " : "");
			json_ckpt(&in);
			continue;
		}
		snprintf(par, sizeof par, in.parent ? "%" PRIu64 : "-", in.parent);
		printf("%-8" PRIu64 " %-19s %10s %10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %8s%s\n",
		       in.id, when(in.time_ns, t, sizeof t), human(in.size, sz, sizeof sz),
		       in.pages, in.data_pages, in.written_blocks, par,
		       in.damaged ? "  DAMAGED" : "");
	}
	if (a->json)
		printf("]}\n");
	free(ids);
	return COW_EXIT_OK;
}

static int info_store(cow_store *st, const struct args *a)
{
	struct cow_store_stat s;
	char t[32], sz[32];

	if (cow_store_stat(st, &s))
		return COW_EXIT_FAIL;
	if (a->json) {
		printf("{\"path\": ");
		json_str(a->path);
		printf(", \"checkpoints\": %" PRIu64 ", \"latest\": %" PRIu64
		       ", \"file_blocks\": %" PRIu64 ", \"used_blocks\": %" PRIu64
		       ", \"free_blocks\": %" PRIu64 ", \"block_size\": %u, \"txid\": %" PRIu64
		       ", \"created_ns\": %" PRIu64 "}\n", s.checkpoints, s.latest,
		       s.file_blocks, s.used_blocks, s.free_blocks, COW_PAGE_SIZE, s.txid,
		       s.created_ns);
		return COW_EXIT_OK;
	}
	printf("store        %s\n", a->path);
	printf("created      %s\n", when(s.created_ns, t, sizeof t));
	printf("checkpoints  %" PRIu64 " (latest %" PRIu64 ")\n", s.checkpoints, s.latest);
	printf("file         %s, %" PRIu64 " blocks of %u bytes\n",
	       human(s.file_blocks * COW_PAGE_SIZE, sz, sizeof sz), s.file_blocks, COW_PAGE_SIZE);
	printf("used         %" PRIu64 " blocks\n", s.used_blocks);
	printf("free         %" PRIu64 " blocks (reused by the next commits)\n", s.free_blocks);
	printf("transactions %" PRIu64 "\n", s.txid - 1);
	return COW_EXIT_OK;
}

static int info_ckpt(cow_store *st, const struct args *a)
{
	struct cow_store_info in;
	char t[32], sz[32];
	int err = cow_store_info(st, a->id, &in);

	if (err) {
		cow_tool_err("store", "%s: checkpoint %" PRIu64 ": %s", a->path, a->id,
			     err == -ENOENT ? "no such checkpoint" : cow_strerror(err));
		return COW_EXIT_FAIL;
	}
	if (a->json) {
		json_ckpt(&in);
		printf("\n");
		return COW_EXIT_OK;
	}
	printf("checkpoint   %" PRIu64 "%s\n", in.id, in.damaged ? " (DAMAGED)" : "");
	printf("committed    %s\n", when(in.time_ns, t, sizeof t));
	printf("size         %s, %" PRIu64 " pages\n", human(in.size, sz, sizeof sz), in.pages);
	printf("data pages   %" PRIu64 " (the other %" PRIu64 " are zero and take no block)\n",
	       in.data_pages, in.pages - in.data_pages);
	if (in.parent)
		printf("written      %" PRIu64 " blocks, incremental over checkpoint %" PRIu64 "\n",
		       in.written_blocks, in.parent);
	else
		printf("written      %" PRIu64 " blocks, a full checkpoint\n", in.written_blocks);
	return COW_EXIT_OK;
}

static int cmd_verify(cow_store *st, const struct args *a)
{
	struct cow_store_stat s;
	int err = cow_store_verify(st);

	if (err) {
		cow_tool_err("store", "%s: %s: %s", a->path,
			     err == -EBADMSG ? "CORRUPT" : cow_strerror(err), cow_store_errmsg(st));
		return COW_EXIT_FAIL;
	}
	cow_store_stat(st, &s);
	printf("%s: ok: %" PRIu64 " checkpoints, %" PRIu64 " blocks checked\n", a->path,
	       s.checkpoints, s.used_blocks);
	return COW_EXIT_OK;
}

static int cmd_drop(cow_store *st, const struct args *a)
{
	int err = cow_store_drop(st, a->id);

	if (err) {
		cow_tool_err("store", "%s: dropping checkpoint %" PRIu64 ": %s", a->path, a->id,
			     *cow_store_errmsg(st) ? cow_store_errmsg(st) : cow_strerror(err));
		return COW_EXIT_FAIL;
	}
	printf("dropped checkpoint %" PRIu64 "\n", a->id);
	return COW_EXIT_OK;
}

int cow_cmd_store(int argc, char **argv)
{
	struct args a;
	cow_store *st;
	int rc, drop;

	if (cow_tool_wants_help(argc, argv)) {
		usage(stdout);
		return COW_EXIT_OK;
	}
	if (parse(argc, argv, &a)) {
		usage(stderr);
		return COW_EXIT_USAGE;
	}
	drop = !strcmp(a.verb, "drop");
	if ((drop && !a.has_id) || (a.has_id && !drop && strcmp(a.verb, "info")) ||
	    (!drop && strcmp(a.verb, "ls") && strcmp(a.verb, "info") && strcmp(a.verb, "verify")) ||
	    (a.json && strcmp(a.verb, "ls") && strcmp(a.verb, "info"))) {
		cow_tool_err("store", "bad usage of '%s'", a.verb);
		usage(stderr);
		return COW_EXIT_USAGE;
	}
	st = open_store(a.path, drop ? 0 : COW_STORE_RDONLY);
	if (!st)
		return COW_EXIT_FAIL;
	if (drop)
		rc = cmd_drop(st, &a);
	else if (!strcmp(a.verb, "ls"))
		rc = cmd_ls(st, &a);
	else if (!strcmp(a.verb, "verify"))
		rc = cmd_verify(st, &a);
	else
		rc = a.has_id ? info_ckpt(st, &a) : info_store(st, &a);
	if (cow_store_close(st) && rc == COW_EXIT_OK)
		rc = COW_EXIT_FAIL;
	return rc;
}
