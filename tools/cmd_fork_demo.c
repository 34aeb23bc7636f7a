/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cow fork-demo: the textbook story of copy-on-write after fork(), played on
 * the real kernel and watched through /proc: a parent writes a value, forks,
 * the child writes another; the frames of the page in both, step by step.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cow_tool.h"
#include "json.h"
#include "procmem.h"

enum { VALUE_PARENT = 42, VALUE_CHILD = 1000, VALUE_PARENT_AGAIN = 43 };

static const char fork_demo_usage[] =
	"usage: cow fork-demo [--json]\n"
	"\n"
	"Copy-on-write after fork(), on this machine's kernel: a parent writes a\n"
	"value into a page and forks; the child writes another value. For each\n"
	"step, the physical frame that holds the page in the parent and in the\n"
	"child (from /proc/PID/pagemap), how many times it is mapped (from\n"
	"/proc/kpagecount) and the values each side reads.\n"
	"\n"
	"Frame numbers need CAP_SYS_ADMIN (root). Without it, the demo says so and\n"
	"shows pagemap's exclusive bit and the smaps counters of the page instead.\n"
	"\n"
	"  --json   print the observations as JSON\n"
	"Exit status: 0 done, 1 the demo could not run, 2 bad usage.\n";

/* What one process shows of the demo page at one step. */
struct view {
	pid_t pid;
	int value;
	struct pm_page page;
	struct pm_smaps smaps;
};

struct step {
	const char *name;	/* for --json */
	const char *story;	/* what happens, in plain words */
	struct view parent, child;
	int has_child;
};

enum { STEP_WRITTEN, STEP_FORKED, STEP_CHILD_WROTE, STEP_PARENT_WROTE, NSTEPS };

/* The child of the demo: it owns nothing but the page and two pipe ends. */
struct child {
	pid_t pid;
	int cmd, reply;		/* parent's ends */
};

/* The child's loop: 'r' reads the page, 'w' writes VALUE_CHILD; it answers
 * with the value it reads. Exits on EOF or 'q'. */
static void child_loop(volatile int *page, int cmd, int reply)
{
	char c;

	while (read(cmd, &c, 1) == 1 && c != 'q') {
		int v;

		if (c == 'w')
			*page = VALUE_CHILD;
		v = *page;
		if (write(reply, &v, sizeof v) != sizeof v)
			break;
	}
	_exit(0);
}

/* Ask the child to read ('r') or write ('w') the page; its value in *value. */
static int child_ask(const struct child *ch, char c, int *value)
{
	if (write(ch->cmd, &c, 1) != 1 ||
	    read(ch->reply, value, sizeof *value) != (ssize_t)sizeof *value)
		return -EPIPE;
	return 0;
}

static int child_start(struct child *ch, volatile int *page)
{
	int to_child[2], from_child[2];

	if (pipe(to_child))
		return -errno;
	if (pipe(from_child)) {
		int err = -errno;

		close(to_child[0]);
		close(to_child[1]);
		return err;
	}
	fflush(NULL);
	ch->pid = fork();
	if (ch->pid == 0) {
		close(to_child[1]);
		close(from_child[0]);
		child_loop(page, to_child[0], from_child[1]);
	}
	close(to_child[0]);
	close(from_child[1]);
	ch->cmd = to_child[1];
	ch->reply = from_child[0];
	if (ch->pid < 0) {
		int err = -errno;

		close(ch->cmd);
		close(ch->reply);
		return err;
	}
	return 0;
}

static void child_stop(struct child *ch)
{
	char q = 'q';

	if (write(ch->cmd, &q, 1) != 1)
		kill(ch->pid, SIGKILL);
	close(ch->cmd);
	close(ch->reply);
	waitpid(ch->pid, NULL, 0);
}

/* Look at the page at addr in process pid, which reads value there. */
static int observe(pid_t pid, const void *addr, int value, struct view *v)
{
	struct pm_map m;
	int err;

	v->pid = pid;
	v->value = value;
	err = pm_page_get(pid, (uintptr_t)addr, &v->page);
	if (!err)
		err = pm_map_at(pid, (uintptr_t)addr, &m);
	if (err)
		return err;
	v->smaps = m.smaps;
	pm_map_clear(&m);
	return 0;
}

/* Play the story; fill steps[]. */
static int run_demo(volatile int *page, struct step *steps)
{
	struct child ch = { .pid = -1, .cmd = -1, .reply = -1 };
	pid_t self = getpid();
	int err, cv = 0;

	*page = VALUE_PARENT;
	err = observe(self, (const void *)page, *page, &steps[STEP_WRITTEN].parent);
	if (err)
		return err;
	err = child_start(&ch, page);
	if (err)
		return err;
	err = child_ask(&ch, 'r', &cv);
	if (!err)
		err = observe(self, (const void *)page, *page, &steps[STEP_FORKED].parent);
	if (!err)
		err = observe(ch.pid, (const void *)page, cv, &steps[STEP_FORKED].child);
	if (!err)
		err = child_ask(&ch, 'w', &cv);
	if (!err)
		err = observe(self, (const void *)page, *page, &steps[STEP_CHILD_WROTE].parent);
	if (!err)
		err = observe(ch.pid, (const void *)page, cv, &steps[STEP_CHILD_WROTE].child);
	if (!err) {
		*page = VALUE_PARENT_AGAIN;
		err = child_ask(&ch, 'r', &cv);
	}
	if (!err)
		err = observe(self, (const void *)page, *page, &steps[STEP_PARENT_WROTE].parent);
	if (!err)
		err = observe(ch.pid, (const void *)page, cv, &steps[STEP_PARENT_WROTE].child);
	child_stop(&ch);
	return err;
}

/* The verdicts the story predicts: 1 true, 0 false, -1 unknown. */
struct verdict {
	int same_frame_after_fork, two_frames_after_child_write;
	int parent_kept_its_frame, parent_frame_reused;
	int shared_after_fork, exclusive_after_child_write, parent_value_unchanged;
};

static int same_pfn(const struct view *a, const struct view *b, int frames)
{
	return frames ? a->page.pfn == b->page.pfn : -1;
}

static void judge(const struct step *s, int frames, struct verdict *v)
{
	const struct step *forked = &s[STEP_FORKED], *cw = &s[STEP_CHILD_WROTE];

	v->same_frame_after_fork = same_pfn(&forked->parent, &forked->child, frames);
	v->two_frames_after_child_write =
		frames ? cw->parent.page.pfn != cw->child.page.pfn : -1;
	v->parent_kept_its_frame = same_pfn(&cw->parent, &s[STEP_WRITTEN].parent, frames);
	v->parent_frame_reused = same_pfn(&s[STEP_PARENT_WROTE].parent, &cw->parent, frames);
	v->shared_after_fork = !forked->parent.page.exclusive && !forked->child.page.exclusive;
	v->exclusive_after_child_write = cw->parent.page.exclusive && cw->child.page.exclusive;
	v->parent_value_unchanged = cw->parent.value == VALUE_PARENT &&
				    cw->child.value == VALUE_CHILD;
}

static void json_view(const struct view *v)
{
	printf("{\"pid\": %d, \"value\": %d, \"present\": %s, \"exclusive\": %s, \"pfn\": ",
	       (int)v->pid, v->value, v->page.present ? "true" : "false",
	       v->page.exclusive ? "true" : "false");
	if (v->page.pfn)
		cow_json_hex(stdout, v->page.pfn);
	else
		fputs("null", stdout);
	if (v->page.mapcount >= 0)
		printf(", \"mapcount\": %" PRId64, v->page.mapcount);
	else
		fputs(", \"mapcount\": null", stdout);
	printf(", \"smaps_kb\": {\"shared_clean\": %" PRIu64 ", \"shared_dirty\": %" PRIu64
	       ", \"private_clean\": %" PRIu64 ", \"private_dirty\": %" PRIu64 "}}",
	       v->smaps.shared_clean, v->smaps.shared_dirty, v->smaps.private_clean,
	       v->smaps.private_dirty);
}

static void print_json(const struct step *s, int frames, int counts,
		       const struct verdict *v)
{
	const struct {
		const char *key;
		int v;
	} verdicts[] = {
		{ "same_frame_after_fork", v->same_frame_after_fork },
		{ "two_frames_after_child_write", v->two_frames_after_child_write },
		{ "parent_kept_its_frame", v->parent_kept_its_frame },
		{ "parent_frame_reused", v->parent_frame_reused },
		{ "shared_after_fork", v->shared_after_fork },
		{ "exclusive_after_child_write", v->exclusive_after_child_write },
		{ "parent_value_unchanged", v->parent_value_unchanged },
	};

	printf("{\"page_size\": %ld, \"frames_visible\": %s, \"kpagecount\": %s,\n \"steps\": [\n",
	       sysconf(_SC_PAGESIZE), frames ? "true" : "false", counts ? "true" : "false");
	for (int i = 0; i < NSTEPS; i++) {
		printf("  {\"step\": \"%s\", \"parent\": ", s[i].name);
		json_view(&s[i].parent);
		fputs(", \"child\": ", stdout);
		if (s[i].has_child)
			json_view(&s[i].child);
		else
			fputs("null", stdout);
		fputs(i + 1 < NSTEPS ? "},\n" : "}\n", stdout);
	}
	fputs(" ],\n \"verdict\": {", stdout);
	for (size_t i = 0; i < sizeof verdicts / sizeof verdicts[0]; i++) {
		printf("%s\"%s\": ", i ? ", " : "", verdicts[i].key);
		cow_json_tristate(stdout, verdicts[i].v);
	}
	fputs("}}\n", stdout);
}

static void print_view(const char *who, const struct view *v, int frames)
{
	printf("    %-6s %-7d reads %-5d", who, (int)v->pid, v->value);
	if (frames)
		printf("  frame 0x%-8" PRIx64, v->page.pfn);
	if (v->page.mapcount >= 0)
		printf("  mapped %" PRId64 "x", v->page.mapcount);
	printf("  %-9s  (smaps: %" PRIu64 " kB shared, %" PRIu64 " kB private)\n",
	       v->page.exclusive ? "exclusive" : "shared",
	       v->smaps.shared_clean + v->smaps.shared_dirty,
	       v->smaps.private_clean + v->smaps.private_dirty);
}

/* The line after a step that says what the observation shows. */
static const char *moral(int step, int frames, const struct verdict *v)
{
	switch (step) {
	case STEP_FORKED:
		if (!frames)
			return v->shared_after_fork ?
			       "-> neither side maps the page exclusively now: one frame, two page tables."
			       : "-> unexpected: a side still maps the page exclusively.";
		return v->same_frame_after_fork == 1 ?
		       "-> the same frame in both: fork() copied nothing."
		       : "-> unexpected: two frames already.";
	case STEP_CHILD_WROTE:
		if (!frames)
			return v->exclusive_after_child_write && v->parent_value_unchanged ?
			       "-> each side maps its page exclusively: two frames; the parent still reads 42."
			       : "-> unexpected: see the counters above.";
		return v->two_frames_after_child_write == 1 && v->parent_value_unchanged ?
		       "-> two frames now: the child's is new, the parent kept its own and still reads 42."
		       : "-> unexpected: see the frames above.";
	case STEP_PARENT_WROTE:
		if (!frames)
			return "-> (with frame numbers, root would see the parent's frame unchanged)";
		return v->parent_frame_reused == 1 ?
		       "-> the same frame as before: reused in place, no copy."
		       : "-> the frame changed: the kernel copied (it could not prove the page exclusive).";
	default:
		return NULL;
	}
}

static void print_story(const struct step *s, int frames, const struct verdict *v)
{
	printf("Copy-on-write after fork(), on this machine's kernel (one page of %ld bytes).\n",
	       sysconf(_SC_PAGESIZE));
	if (!frames)
		printf("\nFrame numbers are hidden: /proc/PID/pagemap shows them only to a process\n"
		       "with CAP_SYS_ADMIN (run as root to see them). Shown instead: pagemap's\n"
		       "\"exclusively mapped\" bit, which is not hidden, and the smaps counters of\n"
		       "the page's mapping (a one-page mapping: they count just this page).\n");
	printf("\nEach line: process, pid, the value it reads in the page, %sand whether the\n"
	       "page is mapped once (exclusive) or more (shared).\n",
	       frames ? "the physical frame\nthat holds the page, how many times that frame is mapped, " : "");
	for (int i = 0; i < NSTEPS; i++) {
		const char *m = moral(i, frames, v);

		printf("\n%d. %s\n", i + 1, s[i].story);
		print_view("parent", &s[i].parent, frames);
		if (s[i].has_child)
			print_view("child", &s[i].child, frames);
		if (m)
			printf("   %s\n", m);
	}
}

static void init_steps(struct step *s)
{
	s[STEP_WRITTEN] = (struct step){ .name = "parent_wrote",
		.story = "The parent writes 42 into a page of private memory. On that first write the\n"
			 "   kernel gave the page a physical frame; only the parent maps it." };
	s[STEP_FORKED] = (struct step){ .name = "forked", .has_child = 1,
		.story = "fork(). The child gets a copy of the parent's page table, not of its memory:\n"
			 "   both map the same frame, which the kernel marked read-only in both, so\n"
			 "   that the first write by either side traps." };
	s[STEP_CHILD_WROTE] = (struct step){ .name = "child_wrote", .has_child = 1,
		.story = "The child writes 1000. The MMU traps the write (the page is read-only); the\n"
			 "   kernel sees the frame is shared, copies the page into a new frame, points\n"
			 "   the child's page table at it, writable, and the write lands there." };
	s[STEP_PARENT_WROTE] = (struct step){ .name = "parent_wrote_again", .has_child = 1,
		.story = "The parent writes 43. Its page-table entry is still read-only, so this write\n"
			 "   traps too; but the frame is mapped once now, so the kernel makes it\n"
			 "   writable again in place." };
}

int cow_cmd_fork_demo(int argc, char **argv)
{
	struct step steps[NSTEPS];
	struct verdict v;
	long ps = sysconf(_SC_PAGESIZE);
	static const struct option opts[] = { { "json", no_argument, NULL, 'j' }, { 0 } };
	int json = 0, frames, err, c;
	char *area;

	if (cow_tool_wants_help(argc, argv)) {
		fputs(fork_demo_usage, stdout);
		return COW_EXIT_OK;
	}
	optind = 0;
	while ((c = cow_tool_getopt("fork-demo", argc, argv, opts)) != -1) {
		if (c != 'j')
			return COW_EXIT_USAGE;
		json = 1;
	}
	if (optind < argc) {
		cow_tool_err("fork-demo", "unexpected argument: %s (see cow fork-demo --help)",
			     argv[optind]);
		return COW_EXIT_USAGE;
	}
	/* One page between two inaccessible ones: a mapping of its own, so the
	 * smaps counters of the mapping are those of the page. */
	area = mmap(NULL, (size_t)ps * 3, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED || mprotect(area + ps, (size_t)ps, PROT_READ | PROT_WRITE)) {
		cow_tool_err("fork-demo", "mapping the demo page: %s", strerror(errno));
		return COW_EXIT_FAIL;
	}
	init_steps(steps);
	err = run_demo((volatile int *)(void *)(area + ps), steps);
	munmap(area, (size_t)ps * 3);
	if (err) {
		cow_tool_err("fork-demo", "watching the page through /proc: %s", strerror(-err));
		return COW_EXIT_FAIL;
	}
	frames = steps[STEP_WRITTEN].parent.page.pfn != 0;
	judge(steps, frames, &v);
	if (json)
		print_json(steps, frames, steps[STEP_WRITTEN].parent.page.mapcount >= 0, &v);
	else
		print_story(steps, frames, &v);
	return COW_EXIT_OK;
}
