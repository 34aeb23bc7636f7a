/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vfork.c — cow_vfork(): share without copying.
 *
 * As vfork() lends the parent's memory to the child, a vfork child is an
 * alias: a second mapping of the parent's page table. It holds no
 * references, so its writes copy nothing and the parent sees them. Its pages
 * start write-protected; its first write to a page is resolved as if the
 * parent wrote (page.c: the sharers keep the old content, the page is
 * marked written in the parent), then lands in the parent's frame.
 *
 * Meanwhile the parent is fully write-protected, and any write by the
 * parent (a fault, cow_prefault, cow_restore, cow_space_destroy) waits until
 * the child exits (cow_space_destroy) or execs (cow_restore,
 * cow_exec_file). Reads by the parent never wait.
 *
 * Everything here runs with the engine lock held.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "internal.h"

static pthread_cond_t vfork_done = PTHREAD_COND_INITIALIZER;

/*
 * cow__vfork_wait — block until m has no living vfork child. Called by every
 * path that writes m. The engine lock is released while waiting.
 */
void cow__vfork_wait(struct cow__member *m)
{
	while (m->vfork_child)
		pthread_cond_wait(&vfork_done, &cow__lock);
}

static size_t wp_bytes(size_t npages)
{
	return ((npages + 63) / 64) * sizeof(uint64_t);
}

/*
 * Protect the child's pages whose frame is now shared, and the pages of
 * image files (read-only mappings: a write there always copies). Pages the
 * child already wrote stay writable where their frame is still exclusive;
 * every other page stays protected, so that the child's first write to it
 * faults and is recorded as a write of the parent (page.c).
 */
static void alias_mark(struct cow__member *c)
{
	for (size_t i = 0; i < c->npages; i++)
		if (cow__page_shared(c, i) || cow__frame_is_image(cow__frame_at(c, i)))
			cow__wp_set(c, i, true);
}

/*
 * cow__alias_refresh — after the parent's frames moved (a de-fragmentation,
 * a snapshot that shared more of them), map the child again as the parent's
 * page table now says. 0 or -errno.
 */
int cow__alias_refresh(struct cow__member *c)
{
	int err;

	alias_mark(c);
	err = cow__map_range(c, 0, c->npages);
	cow__maps_count(c);
	return err;
}

/*
 * cow__alias_end — the vfork child stops aliasing its parent (it exits or
 * execs): it forgets the parent's page table, and the parent's waiting
 * writers go on.
 */
void cow__alias_end(struct cow__member *c)
{
	c->alias_of->vfork_child = NULL;
	c->alias_of = NULL;
	c->pt = NULL;
	pthread_cond_broadcast(&vfork_done);
}

COW_API cow_space *cow_vfork(cow_space *s)
{
	struct cow__member *p = s ? &s->m : NULL, *c;
	int err = p ? cow__member_check(p, COW__KIND_SPACE) : -EINVAL;

	if (err) {
		errno = -err;
		return NULL;
	}
	if (p->alias_of) {
		errno = EINVAL;		/* a vfork child cannot vfork */
		return NULL;
	}
	c = calloc(1, sizeof(struct cow_space));
	if (!c) {
		errno = ENOMEM;
		return NULL;
	}
	c->wp = mmap(NULL, wp_bytes(p->npages), PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (c->wp == MAP_FAILED) {
		free(c);
		errno = ENOMEM;
		return NULL;
	}
	cow__freeze_begin(p);
	cow__engine_lock();
	if (p->vfork_child) {
		err = -EBUSY;
		goto out;
	}
	/* The parent's writes must fault, so that they can wait. */
	err = cow__protect_writable(p);
	if (err)
		goto out;
	c->kind = COW__KIND_SPACE;
	c->gen = cow__gen;
	c->npages = p->npages;
	c->home = p->home;
	c->pt = p->pt;
	c->alias_of = p;
	c->st.pages = p->npages;
	err = cow__map_member(c, true);	/* every first write faults */
	if (err) {
		cow__unmap_member(c);
		goto out;
	}
	c->magic = COW__MAGIC_LIVE;
	p->vfork_child = c;
out:
	cow__engine_unlock();
	cow__freeze_end(p);
	if (err) {
		munmap(c->wp, wp_bytes(p->npages));
		free(c);
		errno = -err;
		return NULL;
	}
	return (cow_space *)c;
}

/*
 * cow__alias_free — destroy a vfork child that still aliases its parent (it
 * exits): unmap it, wake the parent. It holds no frames.
 */
void cow__alias_free(struct cow__member *c)
{
	size_t n = c->npages;

	cow__unmap_member(c);
	cow__alias_end(c);
	munmap(c->wp, wp_bytes(n));
	c->wp = NULL;
	cow__member_quarantine(c);
}
