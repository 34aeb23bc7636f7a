/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * consumer.c — a program outside libcow's tree, built against an installed
 * libcow by tests/install.sh (pkg-config static and shared, find_package).
 * It forks a space, writes on both sides, snapshots and restores, and
 * checks the header's version against the library's. Exit 0 when all holds.
 */
#include <cow.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

static int check(int ok, const char *what)
{
	if (!ok)
		fprintf(stderr, "consumer: %s failed\n", what);
	return ok ? 0 : 1;
}

int main(void)
{
	cow_space *s = cow_space_create(4 * COW_PAGE_SIZE, 0), *f;
	cow_snap *snap;
	char *p, *q;
	int bad = 0;

	if (!s) {
		fprintf(stderr, "consumer: cow_space_create: %s\n", cow_strerror(-errno));
		return 1;
	}
	p = cow_base(s);
	strcpy(p, "parent");
	f = cow_fork(s);
	bad |= check(f != NULL, "cow_fork");
	if (!f)
		return 1;
	q = cow_base(f);
	strcpy(q, "child");
	bad |= check(!strcmp(p, "parent") && !strcmp(q, "child"), "copy on write");
	snap = cow_snapshot(s);
	bad |= check(snap != NULL, "cow_snapshot");
	strcpy(p, "changed");
	bad |= check(snap && cow_restore(s, snap) == 0 && !strcmp(p, "parent"), "cow_restore");
	bad |= check(!strcmp(cow_version(), COW_VERSION_STRING), "cow_version");
	bad |= check(!strcmp(cow_err_name(-EINVAL), "EINVAL"), "cow_err_name");
	cow_snap_release(snap);
	cow_space_destroy(f);
	cow_space_destroy(s);
	if (!bad)
		printf("libcow %s (%s backend): ok\n", cow_version(), cow_backend_name());
	return bad;
}
