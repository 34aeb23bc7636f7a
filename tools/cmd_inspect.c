/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cow inspect PID: per mapping of a live process, how many pages are
 * resident, shared, exclusive, and still shared copy-on-write.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cow_tool.h"
#include "json.h"
#include "procmem.h"

static const char inspect_usage[] =
	"usage: cow inspect PID [--json] [--all]\n"
	"\n"
	"For each mapping of process PID: pages resident in RAM, shared (mapped\n"
	"more than once), exclusive (mapped once), and COW: private anonymous\n"
	"pages still shared copy-on-write with a parent or child after fork().\n"
	"\n"
	"  --json   print the data as JSON (every mapping)\n"
	"  --all    also list the mappings with nothing resident\n"
	"\n"
	"Reads /proc/PID/smaps and /proc/PID/pagemap (the process's owner or root)\n"
	"and /proc/kpagecount (root). Without root the frame numbers are hidden:\n"
	"whether a page is shared is still exact, how many share it is not.\n"
	"Exit status: 0 done, 1 the process cannot be read, 2 bad usage.\n";

/* Parse a PID argument: a positive decimal number. */
static int parse_pid(const char *s, pid_t *pid)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v <= 0 || v > INT_MAX)
		return -EINVAL;
	*pid = (pid_t)v;
	return 0;
}

/* The plain-words lines that say what could not be read. */
static size_t access_notes(const struct pm_proc *p, const char **notes)
{
	size_t n = 0;
	int estimated = 0;

	for (size_t i = 0; i < p->nmaps; i++)
		estimated |= p->maps[i].zero_estimated;
	if (!(p->access & PM_PAGEMAP))
		notes[n++] = "pagemap unreadable: counts come from smaps and COW is unknown (-)";
	else if (!(p->access & PM_FRAMES))
		notes[n++] = "frame numbers hidden (they need CAP_SYS_ADMIN): shared or not is exact "
			     "(pagemap's exclusive bit), but not how many processes share a page";
	else if (!(p->access & PM_KPAGECOUNT))
		notes[n++] = "/proc/kpagecount unreadable: shared or not from pagemap's exclusive bit";
	if (estimated)
		notes[n++] = "no PAGEMAP_SCAN in this kernel: zero-page mappings estimated from smaps' Rss (~)";
	return n;
}

static const char *source_name(int source)
{
	return source == PM_SRC_PAGEMAP ? "pagemap" :
	       source == PM_SRC_SMAPS ? "smaps" : "none";
}

/* A count, or null when the mapping's source cannot know it. */
static void json_count(FILE *f, const char *key, uint64_t v, int known)
{
	fprintf(f, "\"%s\": ", key);
	if (known)
		fprintf(f, "%" PRIu64, v);
	else
		fputs("null", f);
}

static void json_pages(FILE *f, const struct pm_counts *c, int cow_known,
		       int count_known)
{
	fprintf(f, "{\"resident\": %" PRIu64 ", \"shared\": %" PRIu64
		", \"exclusive\": %" PRIu64 ", ", c->resident, c->shared, c->exclusive);
	json_count(f, "cow", c->cow, cow_known);
	fprintf(f, ", \"zero\": %" PRIu64 ", \"swapped\": %" PRIu64 ", ",
		c->zero, c->swapped);
	json_count(f, "max_mapcount", c->max_mapcount, count_known);
	fputc('}', f);
}

static void json_map(FILE *f, const struct pm_map *m, int count_known)
{
	const struct pm_smaps *s = &m->smaps;

	fprintf(f, "    {\"start\": \"0x%" PRIx64 "\", \"end\": \"0x%" PRIx64 "\", "
		"\"offset\": \"0x%" PRIx64 "\", \"inode\": %" PRIu64 ", \"perms\": ",
		m->start, m->end, m->offset, m->inode);
	cow_json_str(f, m->perms);
	fputs(", \"dev\": ", f);
	cow_json_str(f, m->dev);
	fputs(", \"path\": ", f);
	cow_json_str(f, m->path);
	fputs(", \"vmflags\": ", f);
	cow_json_str(f, m->vmflags);
	fprintf(f, ",\n     \"source\": \"%s\", \"zero_estimated\": %s, \"pages\": ",
		source_name(m->source), m->zero_estimated ? "true" : "false");
	json_pages(f, &m->pages, m->source != PM_SRC_SMAPS,
		   count_known && m->source != PM_SRC_SMAPS);
	fprintf(f, ",\n     \"smaps_kb\": {\"rss\": %" PRIu64 ", \"pss\": %" PRIu64
		", \"shared_clean\": %" PRIu64 ", \"shared_dirty\": %" PRIu64
		", \"private_clean\": %" PRIu64 ", \"private_dirty\": %" PRIu64
		", \"anonymous\": %" PRIu64 ", \"anon_huge\": %" PRIu64
		", \"swap\": %" PRIu64 "}}",
		s->rss, s->pss, s->shared_clean, s->shared_dirty, s->private_clean,
		s->private_dirty, s->anonymous, s->anon_huge, s->swap);
}

static void print_json(FILE *f, const struct pm_proc *p)
{
	const char *notes[4];
	size_t nn = access_notes(p, notes), cow_unknown = 0;
	int count_known = !!(p->access & PM_KPAGECOUNT);

	for (size_t i = 0; i < p->nmaps; i++)
		cow_unknown += p->maps[i].source == PM_SRC_SMAPS;
	fprintf(f, "{\"pid\": %d, \"comm\": ", (int)p->pid);
	cow_json_str(f, p->comm);
	fprintf(f, ", \"page_size\": %ld,\n \"access\": {\"smaps\": %s, \"pagemap\": %s, "
		"\"frames\": %s, \"kpagecount\": %s, \"zero_page_scan\": %s},\n \"notes\": [",
		sysconf(_SC_PAGESIZE), p->access & PM_SMAPS ? "true" : "false",
		p->access & PM_PAGEMAP ? "true" : "false",
		p->access & PM_FRAMES ? "true" : "false",
		p->access & PM_KPAGECOUNT ? "true" : "false",
		p->access & PM_ZEROSCAN ? "true" : "false");
	for (size_t i = 0; i < nn; i++) {
		fputs(i ? ", " : "", f);
		cow_json_str(f, notes[i]);
	}
	fputs("],\n \"mappings\": [\n", f);
	for (size_t i = 0; i < p->nmaps; i++) {
		json_map(f, &p->maps[i], count_known);
		fputs(i + 1 < p->nmaps ? ",\n" : "\n", f);
	}
	fputs(" ],\n \"totals\": ", f);
	json_pages(f, &p->total, 1, count_known);
	fprintf(f, ",\n \"cow_unknown_mappings\": %zu}\n", cow_unknown);
}

/* One table row: the mapping's counts, '-' where unknown, '~' if estimated. */
static void print_row(const char *range, const char *perms,
		      const struct pm_counts *c, int cow_known, int estimated,
		      int with_count, const char *name)
{
	char cow[24] = "-", maxc[24] = "-";

	if (cow_known)
		snprintf(cow, sizeof cow, "%s%" PRIu64, estimated ? "~" : "", c->cow);
	if (c->max_mapcount)
		snprintf(maxc, sizeof maxc, "%" PRIu64, c->max_mapcount);
	printf("%-27s %-4s %9" PRIu64 " %9" PRIu64 " %9" PRIu64 " %9s %7" PRIu64,
	       range, perms, c->resident, c->shared, c->exclusive, cow, c->swapped);
	if (with_count)
		printf(" %6s", maxc);
	printf("  %s\n", name);
}

static void print_table(const struct pm_proc *p, int all)
{
	const char *notes[4];
	size_t nn = access_notes(p, notes), shown = 0;
	int with_count = !!(p->access & PM_KPAGECOUNT), estimated = 0;
	long ps = sysconf(_SC_PAGESIZE);
	char range[40];

	printf("pid %d (%s): %zu mappings; %s\n", (int)p->pid, p->comm, p->nmaps,
	       with_count ? "exact per-page counts (frames and /proc/kpagecount readable)"
			  : "without /proc/kpagecount (not root): see the note below");
	printf("%-27s %-4s %9s %9s %9s %9s %7s%s  %s\n", "ADDRESS", "PERM",
	       "RESIDENT", "SHARED", "EXCLUSIVE", "COW", "SWAP",
	       with_count ? " MAXMAP" : "", "MAPPING");
	for (size_t i = 0; i < p->nmaps; i++) {
		const struct pm_map *m = &p->maps[i];

		estimated |= m->zero_estimated;
		if (!all && m->pages.resident == 0 && m->pages.swapped == 0)
			continue;
		snprintf(range, sizeof range, "%" PRIx64 "-%" PRIx64, m->start, m->end);
		print_row(range, m->perms, &m->pages, m->source != PM_SRC_SMAPS,
			  m->zero_estimated, with_count, *m->path ? m->path : "[anon]");
		shown++;
	}
	print_row("TOTAL", "", &p->total, 1, estimated, with_count, "");
	printf("\n%zu of %zu mappings shown%s.\nPages of %ld KiB: resident %.1f MiB, "
	       "of which shared copy-on-write %.1f MiB; %" PRIu64 " more pages map\n"
	       "the kernel's shared zero page (read, never written).\n", shown, p->nmaps,
	       all ? "" : " (those with pages resident or in swap; --all for every one)",
	       ps / 1024, (double)p->total.resident * (double)ps / 1048576.0,
	       (double)p->total.cow * (double)ps / 1048576.0, p->total.zero);
	printf("SHARED: mapped more than once (by another process, or twice here); "
	       "EXCLUSIVE: mapped once;\nCOW: private anonymous pages still shared "
	       "copy-on-write with a parent or child (or merged by KSM):\nthe first "
	       "write to one, by either side, copies it.%s\n",
	       with_count ? " MAXMAP: most mappings of one of its frames." : "");
	for (size_t i = 0; i < nn; i++)
		printf("note: %s\n", notes[i]);
}

int cow_cmd_inspect(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' }, { "all", no_argument, NULL, 'a' }, { 0 }
	};
	int json = 0, all = 0, err, c;
	const char *pidarg = NULL;
	struct pm_proc p;
	pid_t pid;

	if (cow_tool_wants_help(argc, argv)) {
		fputs(inspect_usage, stdout);
		return COW_EXIT_OK;
	}
	optind = 0;
	while ((c = cow_tool_getopt("inspect", argc, argv, opts)) != -1) {
		if (c == 'j')
			json = 1;
		else if (c == 'a')
			all = 1;
		else
			return COW_EXIT_USAGE;
	}
	if (optind < argc)
		pidarg = argv[optind++];
	if (optind < argc) {
		cow_tool_err("inspect", "unexpected argument: %s (see cow inspect --help)",
			     argv[optind]);
		return COW_EXIT_USAGE;
	}
	if (!pidarg) {
		cow_tool_err("inspect", "which process? usage: cow inspect PID [--json] [--all]");
		return COW_EXIT_USAGE;
	}
	if (parse_pid(pidarg, &pid)) {
		cow_tool_err("inspect", "'%s' is not a process id (a positive number)", pidarg);
		return COW_EXIT_USAGE;
	}
	err = pm_proc_load(pid, &p);
	if (err == -ESRCH)
		cow_tool_err("inspect", "no process with pid %d", (int)pid);
	else if (err == -EACCES || err == -EPERM)
		cow_tool_err("inspect", "cannot read /proc/%d/smaps: permission denied "
			     "(only the process's owner and root may)", (int)pid);
	else if (err)
		cow_tool_err("inspect", "reading the memory of pid %d: %s", (int)pid,
			     strerror(-err));
	if (err) {
		pm_proc_free(&p);
		return COW_EXIT_FAIL;
	}
	if (json)
		print_json(stdout, &p);
	else
		print_table(&p, all);
	pm_proc_free(&p);
	return COW_EXIT_OK;
}
