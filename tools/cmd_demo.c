/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cow demo — the engine at work, explained page by page: fork, the first
 * write faults, copy versus reuse, snapshot, restore.
 */
#include <cow.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "cow_tool.h"

#define P COW_PAGE_SIZE

static void usage(FILE *f)
{
	fprintf(f, "usage: cow demo [--pages N]\n\n"
		   "Creates a space, forks it, writes on both sides, snapshots, writes and\n"
		   "restores, vforks, execs a file image, and makes spaces from one image,\n"
		   "printing after each step which frame backs each page, its reference\n"
		   "count, and whether each write fault copied or reused.\n"
		   "  --pages N   pages in the demo space (2..16, default 4)\n");
}

/* One character that shows what a page holds. */
static char content(const void *base, size_t page)
{
	char c = ((const char *)base)[page * P];

	return c ? c : '0';
}

static void show_space(const char *name, cow_space *s)
{
	size_t pages = cow_size(s) / P;

	printf("    %-7s", name);
	for (size_t i = 0; i < pages; i++) {
		struct cow_page_info pi;

		cow_page_info(s, i, &pi);
		printf("  [%c f%-3llu n=%u %s]", content(cow_base(s), i),
		       (unsigned long long)pi.frame, pi.refcount, pi.writable ? "rw" : "ro");
	}
	printf("\n");
}

static void show_snap(const char *name, cow_snap *x)
{
	size_t pages = cow_snap_size(x) / P;

	printf("    %-7s", name);
	for (size_t i = 0; i < pages; i++) {
		struct cow_page_info pi;
		char c;

		cow_snap_page_info(x, i, &pi);
		cow_snap_read(x, i * P, &c, 1);
		printf("  [%c f%-3llu n=%u   ]", c ? c : '0',
		       (unsigned long long)pi.frame, pi.refcount);
	}
	printf("\n");
}

/* Print what the faults since the last call did in s. */
static void show_faults(const char *name, cow_space *s, struct cow_stats *last)
{
	struct cow_stats st;

	cow_stats_get(s, &st);
	printf("    %s: %llu write fault(s): %llu copied, %llu reused (totals: %llu faults, %llu copies, %llu reuses)\n",
	       name, (unsigned long long)(st.faults - last->faults),
	       (unsigned long long)(st.copies - last->copies),
	       (unsigned long long)(st.reuses - last->reuses),
	       (unsigned long long)st.faults, (unsigned long long)st.copies,
	       (unsigned long long)st.reuses);
	*last = st;
}

static void step(int n, const char *what)
{
	printf("\n%d. %s\n", n, what);
}

/* parse — --pages N (--pages=N) into *pages; 0, or -1 after naming the bad
 * argument. */
static int parse(int argc, char **argv, size_t *pages)
{
	static const struct option opts[] = {
		{ "pages", required_argument, NULL, 'p' }, { 0 }
	};
	int c;

	optind = 0;
	while ((c = cow_tool_getopt("demo", argc, argv, opts)) != -1) {
		char *end;
		long v;

		if (c != 'p')
			return -1;
		v = strtol(optarg, &end, 10);
		if (*end || end == optarg || v < 2 || v > 16) {
			cow_tool_err("demo", "invalid value for --pages: %s (2 to 16)", optarg);
			return -1;
		}
		*pages = (size_t)v;
	}
	if (optind < argc) {
		cow_tool_err("demo", "unexpected argument: %s", argv[optind]);
		return -1;
	}
	return 0;
}

struct writer {
	char *addr;
	atomic_int done;
};

static void *parent_writer(void *arg)
{
	struct writer *w = arg;

	*w->addr = 'W';		/* waits while the vfork child lives */
	atomic_store(&w->done, 1);
	return NULL;
}

/* Write a small image file: page i full of 'a' + i. Returns 0 or -1. */
static int write_image(char *path, size_t pages)
{
	int fd = mkstemp(path);
	char page[P];

	if (fd < 0)
		return -1;
	for (size_t i = 0; i < pages; i++) {
		memset(page, 'a' + (int)i, P);
		if (write(fd, page, P) != (ssize_t)P) {
			close(fd);
			return -1;
		}
	}
	close(fd);
	return 0;
}

/* Chapters 10-12: vfork, exec of a file, many spaces sharing one image. */
static int vfork_and_exec(cow_space *parent, size_t pages)
{
	char path[] = "/tmp/cow-demo-image-XXXXXX";
	struct writer w = { (char *)cow_base(parent) + P, 0 };
	struct cow_stats cs = { 0 };
	cow_space *child, *clones[3];
	pthread_t th;
	cow_snap *img;
	char *c;

	child = cow_vfork(parent);
	if (!child) {
		cow_tool_err("demo", "cow_vfork: %s", cow_strerror(errno));
		return -1;
	}
	c = cow_base(child);
	c[0] = 'V';
	step(10, "cow_vfork(parent): the child borrows the parent's frames outright: no\n"
		 "    count changes, nothing is copied, and its writes are the parent's.\n"
		 "    The child wrote 'V' into page 0; the parent reads it at once.");
	show_space("parent", parent);
	show_space("child", child);
	show_faults("child", child, &cs);
	if (pthread_create(&th, NULL, parent_writer, &w) == 0) {
		usleep(100000);
		printf("    a parent thread writes page 1: %s (it waits for the child\n"
		       "    to exit or exec, as the parent of vfork() is suspended)\n",
		       atomic_load(&w.done) ? "done" : "still waiting");
	}

	if (write_image(path, pages)) {
		cow_tool_err("demo", "cannot write an image in /tmp: %s", strerror(errno));
		cow_space_destroy(child);
		pthread_join(th, NULL);
		return -1;
	}
	if (cow_exec_file(child, path, 0)) {
		cow_tool_err("demo", "cow_exec_file failed");
		unlink(path);
		cow_space_destroy(child);
		pthread_join(th, NULL);
		return -1;
	}
	pthread_join(th, NULL);
	step(11, "cow_exec_file(child, image): exec(). The child's content is now the\n"
		 "    file's, read lazily through the page cache (frames numbered in the\n"
		 "    image's range); the parent's waiting write went through.");
	show_space("parent", parent);
	show_space("child", child);
	c[0] = 'X';
	printf("    the child writes 'X' into page 0: the file page is copied into the\n"
		 "    child's own frame (files are never written):\n");
	show_space("child", child);
	cow_space_destroy(child);

	img = cow_snap_open(path, 0, 0);
	unlink(path);		/* libcow keeps the file open */
	if (!img)
		return -1;
	for (int k = 0; k < 3; k++)
		clones[k] = cow_space_from_snap(img);
	step(12, "Three spaces from one image, like three processes running one\n"
		 "    program: they map the same file pages (same frame numbers), so the\n"
		 "    image is in memory once, and clean pages can be dropped and re-read.");
	for (int k = 0; k < 3; k++) {
		char name[16];

		if (!clones[k])
			continue;
		snprintf(name, sizeof name, "space%d", k + 1);
		show_space(name, clones[k]);
	}
	for (int k = 0; k < 3; k++)
		cow_space_destroy(clones[k]);
	cow_snap_release(img);
	return 0;
}

int cow_cmd_demo(int argc, char **argv)
{
	size_t pages = 4;
	struct cow_stats ps = { 0 }, cs = { 0 };
	cow_space *parent, *child;
	cow_snap *snap;
	char *p, *c;
	const char *backend;

	if (cow_tool_wants_help(argc, argv)) {
		usage(stdout);
		return COW_EXIT_OK;
	}
	if (parse(argc, argv, &pages)) {
		usage(stderr);
		return COW_EXIT_USAGE;
	}
	backend = cow_backend_name();
	if (!backend) {
		cow_tool_err("demo", "no backend: %s", cow_strerror(errno));
		return COW_EXIT_FAIL;
	}
	printf("libcow demo: copy-on-write, live, on the real MMU (backend: %s)\n",
	       backend);
	printf("Each page shows [content frame count protection]: the frame that backs\n"
	       "it, how many page tables reference that frame, and whether a write now\n"
	       "lands directly (rw) or faults first (ro).\n");

	parent = cow_space_create(pages * P, 0);
	if (!parent) {
		cow_tool_err("demo", "cow_space_create: %s", cow_strerror(errno));
		return COW_EXIT_FAIL;
	}
	p = cow_base(parent);
	memset(p, 'A', pages * P);
	step(1, "A space is created and filled with 'A'. Every page has a frame of its own,\n"
		"   referenced once: writes go straight to memory.");
	show_space("parent", parent);

	child = cow_fork(parent);
	if (!child) {
		cow_tool_err("demo", "cow_fork: %s", cow_strerror(errno));
		cow_space_destroy(parent);
		return COW_EXIT_FAIL;
	}
	c = cow_base(child);
	step(2, "cow_fork(): the child's page table points at the same frames. It is\n"
		"   the parent's own table, shared (a page table node is copied only when\n"
		"   one side changes an entry in it). Nothing is copied; every count\n"
		"   becomes 2 and both sides are write-protected, like parent and child\n"
		"   after fork().");
	show_space("parent", parent);
	show_space("child", child);

	c[1 * P] = 'B';
	step(3, "The child writes 'B' into page 1. The MMU faults; the frame is shared\n"
		"   (count 2), so libcow copies that one page into a frame of the child's\n"
		"   own and lets the write through. The other pages are still shared.");
	show_space("parent", parent);
	show_space("child", child);
	show_faults("child", child, &cs);

	p[1 * P] = 'C';
	step(4, "The parent writes 'C' into page 1. Its frame is no longer shared\n"
		"   (count 1): libcow just lifts the protection. Reuse, no copy.");
	show_space("parent", parent);
	show_faults("parent", parent, &ps);

	p[2 * P] = 'D';
	step(5, "The parent writes 'D' into page 2, still shared: a copy. The writer\n"
		"   stays home: the old content goes to a frame of the child's, and the\n"
		"   parent keeps its frame and writes in place.");
	show_space("parent", parent);
	show_space("child", child);
	show_faults("parent", parent, &ps);

	snap = cow_snapshot(parent);
	if (!snap) {
		cow_tool_err("demo", "cow_snapshot: %s", cow_strerror(errno));
		cow_space_destroy(child);
		cow_space_destroy(parent);
		return COW_EXIT_FAIL;
	}
	step(6, "cow_snapshot(parent): a frozen, read-only copy. Again nothing is copied:\n"
		"   the snapshot shares the parent's frames and the parent is protected.");
	show_space("parent", parent);
	show_snap("snap", snap);

	p[0] = 'E';
	p[(pages - 1) * P] = 'F';
	step(7, "The parent writes pages 0 and the last one. Each first write copies\n"
		"   the old page once, for all the other sharers (the snapshot and the child,\n"
		"   which shares page 0 too, now share that one copy); the snapshot reads 'A'.");
	show_space("parent", parent);
	show_snap("snap", snap);
	show_faults("parent", parent, &ps);

	if (cow_restore(parent, snap) == 0) {
		struct cow_stats st;

		cow_stats_get(parent, &st);
		step(8, "cow_restore(parent, snap): exec() for a space. Only the pages that\n"
			"   differ are copied back, here 2, whatever the space's size.");
		show_space("parent", parent);
		printf("    pages copied back: %llu\n", (unsigned long long)st.restored);
	}

	cow_snap_release(snap);
	cow_space_destroy(child);
	step(9, "The snapshot and the child are released: counts drop, frames nobody\n"
		"   references are freed. The next write to the parent finds its frames\n"
		"   unshared: reuse.");
	p[1 * P] = 'G';
	show_space("parent", parent);
	show_faults("parent", parent, &ps);

	if (vfork_and_exec(parent, pages)) {
		cow_space_destroy(parent);
		return COW_EXIT_FAIL;
	}
	cow_space_destroy(parent);
	printf("\nAll released: %llu frames in use.\n",
	       (unsigned long long)cow_frames_in_use());
	return COW_EXIT_OK;
}
