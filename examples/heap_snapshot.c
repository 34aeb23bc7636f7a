/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * heap_snapshot — a data structure that lives in a space, snapshotted,
 * changed, looked at in the past, and rolled back.
 *
 * A tiny phone book (a sorted linked list) is built in a space heap. Its
 * nodes point at each other by offsets, and the heap's root holds the first
 * node, so any copy of the space (a snapshot, a fork, a checkpoint loaded
 * elsewhere) is the same phone book at whatever address it is mapped.
 *
 *   build/example_heap_snapshot
 */
#include <cow.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct entry {
	cow_off next;		/* offsets, never pointers */
	char name[24];
	char phone[16];
};

static void die(const char *what)
{
	fprintf(stderr, "heap_snapshot: %s: %s\n", what, cow_strerror(errno));
	exit(1);
}

/* Insert (name, phone) in name order; the root is the first entry. */
static void add(cow_heap *h, const char *name, const char *phone)
{
	cow_off off = cow_heap_alloc(h, sizeof(struct entry)), *link;
	struct entry *e = cow_heap_ptr(h, off);
	cow_off root;

	if (!e)
		die("cow_heap_alloc");
	snprintf(e->name, sizeof e->name, "%s", name);
	snprintf(e->phone, sizeof e->phone, "%s", phone);
	/* hold the heap's lock: a snapshot sees the list before or after */
	cow_heap_lock(h);
	root = cow_heap_root(h);
	link = &root;
	while (*link && strcmp(((struct entry *)cow_heap_ptr(h, *link))->name, name) < 0)
		link = &((struct entry *)cow_heap_ptr(h, *link))->next;
	e->next = *link;
	*link = off;
	cow_heap_set_root(h, root);
	cow_heap_unlock(h);
}

/* Remove name; 1 if it was there. */
static int del(cow_heap *h, const char *name)
{
	cow_off root, *link = &root;
	int found = 0;

	cow_heap_lock(h);
	root = cow_heap_root(h);
	while (*link) {
		struct entry *e = cow_heap_ptr(h, *link);

		if (!strcmp(e->name, name)) {
			cow_off gone = *link;

			*link = e->next;
			cow_heap_free(h, gone);
			found = 1;
			break;
		}
		link = &e->next;
	}
	cow_heap_set_root(h, root);
	cow_heap_unlock(h);
	return found;
}

static void show(const char *title, cow_heap *h)
{
	char report[128];

	printf("%s\n", title);
	for (cow_off o = cow_heap_root(h); o; o = ((struct entry *)cow_heap_ptr(h, o))->next) {
		const struct entry *e = cow_heap_ptr(h, o);

		printf("    %-10s %s\n", e->name, e->phone);
	}
	cow_heap_check(h, report, sizeof report);
	printf("    (heap check: %s)\n", report);
}

/* Open the snapshot as a space of its own and print what it holds. */
static void show_snapshot(const char *title, const cow_snap *snap)
{
	cow_space *view = cow_space_from_snap(snap);
	cow_heap *h = view ? cow_heap_attach(view) : NULL;

	if (!h)
		die("reading the snapshot");
	show(title, h);
	cow_heap_close(h);
	cow_space_destroy(view);
}

int main(void)
{
	cow_space *s = cow_space_create(1 << 20, 0);
	cow_heap *h = s ? cow_heap_init(s) : NULL;
	struct cow_stats st0, st1;
	cow_snap *monday;

	if (!h)
		die("setting up the heap");
	add(h, "ada", "555-0100");
	add(h, "grace", "555-0199");
	add(h, "edsger", "555-0142");
	show("the phone book:", h);

	monday = cow_snapshot(s);
	if (!monday)
		die("cow_snapshot");
	cow_stats_get(s, &st0);
	printf("\nsnapshot taken: %llu pages shared, nothing copied\n",
	       (unsigned long long)st0.shared);

	del(h, "grace");
	add(h, "barbara", "555-0123");
	add(h, "ken", "555-0177");
	cow_stats_get(s, &st1);
	show("\nafter changes:", h);
	printf("    %llu pages copied for the snapshot by those changes\n",
	       (unsigned long long)(st1.copies - st0.copies));

	show_snapshot("\nthe snapshot still holds monday's book:", monday);

	if (cow_restore(s, monday))
		die("cow_restore");
	show("\nrestored to monday (the same heap handle keeps working):", h);

	cow_snap_release(monday);
	cow_heap_close(h);
	cow_space_destroy(s);
	return 0;
}
