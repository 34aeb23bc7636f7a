/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * space.c — spaces: contiguous, writable ranges of copy-on-write memory.
 * Create, destroy, fork, prefault, statistics, freeze hooks.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define SPACE(s) (&(s)->m)

/* The largest space: the frame store's size (and what size_t can count). */
#define COW__MAX_PAGES ((size_t)COW__MAX_CHUNKS * COW__CHUNK_FRAMES)

/* Return NULL with errno set from a negative errno value. */
static void *fail(int err)
{
	errno = -err;
	return NULL;
}

/*
 * cow__space_new — a mapped space of npages pages in family fam (NULL: a new
 * family). When src is given, the space shares src's frames and starts fully
 * write-protected; otherwise it owns fresh zero frames at home, writable.
 * Engine lock held. Returns the space, or NULL with errno.
 */
struct cow_space *cow__space_new(size_t npages, struct cow__family *fam,
				 const struct cow__member *src)
{
	struct cow__member *m = cow__member_new(COW__KIND_SPACE, npages, fam);
	int err;

	if (!m)
		return NULL;
	if (src) {
		cow__member_share(m, src);
		cow__pages_inherit_written(m, src);
		if (src->kind == COW__KIND_SNAP)
			cow__pages_set_reference(m, src);
	} else {
		for (size_t i = 0, n; i < npages; i += n) {
			n = COW__PT_FAN - (i & (COW__PT_FAN - 1));
			if (n > npages - i)
				n = npages - i;
			if ((err = cow__pt_fill(m->pt, i, n, cow__home(m, i)))) {
				cow__member_free(m);
				return fail(err);
			}
		}
	}
	err = cow__map_member(m, src != NULL);
	if (!err)
		err = cow__defrag_pending();
	if (err) {
		cow__member_free(m);
		return fail(err);
	}
	return (struct cow_space *)m;
}

COW_API cow_space *cow_space_create(size_t size, unsigned flags)
{
	size_t npages;
	cow_space *s;

	if (size == 0 || flags || size > COW__MAX_PAGES * COW__PAGE)
		return fail(-EINVAL);
	if (cow__ensure_init())
		return NULL;
	npages = (size + COW__PAGE - 1) >> COW__PAGE_SHIFT;
	cow__engine_lock();
	s = cow__space_new(npages, NULL, NULL);
	cow__engine_unlock();
	return s;
}

/*
 * A handle from the parent of a fork(): its memory is a copy of the parent's
 * and its mappings are gone. Free what is ours and nothing else.
 */
static void stale_free(struct cow__member *m)
{
	m->magic = COW__MAGIC_DEAD;
}

COW_API void cow_space_destroy(cow_space *s)
{
	int err;

	if (!s)
		return;
	cow__engine_lock();
	err = cow__member_check(SPACE(s), COW__KIND_SPACE);
	if (err == -ESTALE) {
		stale_free(SPACE(s));
	} else if (!err && SPACE(s)->alias_of) {
		cow__alias_free(SPACE(s));	/* a vfork child exits */
	} else if (!err) {
		cow__vfork_wait(SPACE(s));
		cow__member_free(SPACE(s));
	}
	cow__engine_unlock();
}

COW_API void *cow_base(const cow_space *s)
{
	int err = s ? cow__member_check(&s->m, COW__KIND_SPACE) : -EINVAL;

	if (err)
		return fail(err);
	return s->m.addr;
}

COW_API size_t cow_size(const cow_space *s)
{
	if (!s || cow__member_check(&s->m, COW__KIND_SPACE))
		return 0;
	return s->m.npages << COW__PAGE_SHIFT;
}

/* Call s's "before" freeze hook (outside the engine lock). */
void cow__freeze_begin(const struct cow__member *m)
{
	if (m->freeze_before)
		m->freeze_before(m->freeze_arg);
}

/* Call s's "after" freeze hook. */
void cow__freeze_end(const struct cow__member *m)
{
	if (m->freeze_after)
		m->freeze_after(m->freeze_arg);
}

/*
 * cow__freeze_share — the freeze behind cow_fork() and cow_snapshot():
 * write-protect space s (its writers wait in the fault handler), and make()
 * a new member sharing its frames, between s's freeze hooks. A vfork child
 * of s is refreshed (more of its frames are shared now). Returns the member
 * or NULL with errno (EINVAL: s is a vfork child, which may only write,
 * exec or exit; ESTALE; ENOMEM). On failure nothing was made.
 */
struct cow__member *cow__freeze_share(cow_space *s,
				      struct cow__member *(*make)(struct cow__member *m))
{
	struct cow__member *m = s ? SPACE(s) : NULL, *made = NULL;
	int err = m ? cow__member_check(m, COW__KIND_SPACE) : -EINVAL;

	if (!err && m->alias_of)
		err = -EINVAL;
	if (err)
		return fail(err);
	cow__freeze_begin(m);
	cow__engine_lock();
	err = cow__protect_writable(m);
	if (!err && !(made = make(m)))
		err = -errno;
	if (!err && m->vfork_child)
		err = cow__alias_refresh(m->vfork_child);
	if (!err)
		err = cow__defrag_pending();
	if (err && made) {
		cow__member_free(made);
		made = NULL;
	}
	cow__engine_unlock();
	cow__freeze_end(m);
	return made ? made : fail(err);
}

static struct cow__member *make_fork(struct cow__member *m)
{
	return (struct cow__member *)cow__space_new(m->npages, m->fam, m);
}

COW_API cow_space *cow_fork(cow_space *s)
{
	return (cow_space *)cow__freeze_share(s, make_fork);
}

COW_API int cow_prefault(cow_space *s, void *addr, size_t len)
{
	struct cow__member *m = s ? SPACE(s) : NULL;
	char *a = addr;
	size_t first, last;
	int err;

	if (!m || !addr)
		return -EINVAL;
	if ((err = cow__member_check(m, COW__KIND_SPACE)))
		return err;
	if (a < m->addr || len > (m->npages << COW__PAGE_SHIFT) ||
	    (size_t)(a - m->addr) > (m->npages << COW__PAGE_SHIFT) - len)
		return -EINVAL;
	if (len == 0)
		return 0;
	first = (size_t)(a - m->addr) >> COW__PAGE_SHIFT;
	last = (size_t)(a + len - 1 - m->addr) >> COW__PAGE_SHIFT;
	cow__engine_lock();
	for (size_t i = first; i <= last && !err; i++)
		if (cow__wp_test(m, i))
			err = cow__page_write(m, i);
	if (!err)
		err = cow__defrag_pending();
	cow__engine_unlock();
	return err;
}

/* Count pages of m whose frame another member also references (or whose
 * page-table path it shares): a leaf at a time, not a page at a time. */
static uint64_t count_shared(const struct cow__member *m)
{
	return cow__pt_shared_pages(m->pt, m->npages);
}

COW_API int cow_stats_get(const cow_space *s, struct cow_stats *out)
{
	struct cow_stats st;
	int err;

	if (!s || !out)
		return -EINVAL;
	if ((err = cow__member_check(&s->m, COW__KIND_SPACE)))
		return err;
	cow__engine_lock();
	st = s->m.st;
	st.shared = count_shared(&s->m);
	st.maps = s->m.maps;
	cow__engine_unlock();
	*out = st;	/* outside the lock: out may be in a protected space */
	return 0;
}

COW_API int cow_set_freeze_hooks(cow_space *s, cow_freeze_fn *before,
				 cow_freeze_fn *after, void *arg)
{
	int err;

	if (!s || !before != !after)
		return -EINVAL;
	if ((err = cow__member_check(&s->m, COW__KIND_SPACE)))
		return err;
	cow__engine_lock();
	s->m.freeze_before = before;
	s->m.freeze_after = after;
	s->m.freeze_arg = before ? arg : NULL;
	cow__engine_unlock();
	return 0;
}

/*
 * cow__page_info — describe page index of member m, which must be a live
 * handle of the given kind. 0, -EINVAL (NULL, wrong kind, index out of
 * range), -ESTALE. out is written outside the engine lock.
 */
int cow__page_info(const struct cow__member *m, enum cow__kind kind,
		   size_t index, struct cow_page_info *out)
{
	struct cow_page_info info;
	cow__frame f;
	int err;

	if (!m || !out)
		return -EINVAL;
	if ((err = cow__member_check(m, kind)))
		return err;
	if (index >= m->npages)
		return -EINVAL;
	cow__engine_lock();
	f = cow__frame_at(m, index);
	info.frame = f;
	info.refcount = cow__page_sharers(m, index);
	info.writable = m->kind == COW__KIND_SPACE && !cow__wp_test(m, index);
	info.home = m->home != COW__NO_FRAME && f == cow__home(m, index);
	cow__engine_unlock();
	*out = info;
	return 0;
}

COW_API int cow_page_info(const cow_space *s, size_t index,
			  struct cow_page_info *out)
{
	return cow__page_info(s ? &s->m : NULL, COW__KIND_SPACE, index, out);
}

/*
 * cow__space_exec — exec() for space m: its content becomes x's, sharing
 * x's frames (nothing is copied); its old frames are released; a vfork
 * child stops aliasing its parent. Engine lock held. 0 or -errno.
 */
int cow__space_exec(struct cow__member *m, const struct cow__member *x)
{
	int err;

	cow__vfork_wait(m);	/* exec is a write of the parent */
	err = cow__member_rebirth(m, x);

	if (err)
		return err;
	if (x->kind == COW__KIND_SNAP)
		cow__pages_set_reference(m, x);	/* its content is x's now */
	err = cow__fit_budget(m);
	{
		int e = cow__map_whole(m);	/* the old frames are gone */

		if (!err)
			err = e;
	}
	cow__maps_count(m);
	if (!err)
		err = cow__defrag_pending();
	return err;
}
