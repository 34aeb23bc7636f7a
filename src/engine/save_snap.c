// SPDX-License-Identifier: BSD-2-Clause
/*
 * save_snap.c — what the engine offers a background save (src/store/save.c):
 * the save's frozen snapshot and its pages, and a space's claim to be saved
 * as a checkpoint. The save sees members only through these functions.
 *
 * Everything here is called with the engine lock held.
 */
#include <errno.h>

#include "internal.h"

/*
 * cow__save_freeze — freeze space m for the save job: every page
 * write-protected, a snapshot sharing m's frames, m's "written since the
 * last save" marks taken into keep (see cow__pages_take_written) and
 * counted anew. The snapshot belongs to the job (page events about it name
 * the job). Returns the snapshot, or NULL with errno (ENOMEM, or the
 * kernel's error protecting m); then m's marks are as they were. *err_after
 * gets the error of refreshing a vfork child afterwards (the freeze stands).
 */
struct cow__member *cow__save_freeze(struct cow__member *m, void *job, uint64_t *keep,
				     int *err_after)
{
	struct cow__member *x;
	int err = cow__protect_writable(m);

	*err_after = 0;
	if (err) {
		errno = -err;
		return NULL;
	}
	x = cow__member_new(COW__KIND_SNAP, m->npages, m->fam);
	if (!x)
		return NULL;
	cow__member_share(x, m);
	cow__pages_take_written(m, keep);
	if (m->vfork_child)
		*err_after = cow__alias_refresh(m->vfork_child);
	x->save = job;
	m->save = job;
	return x;
}

/*
 * cow__save_release — the save is over: its snapshot x is freed and space
 * m (NULL once destroyed) is free to be saved again.
 */
void cow__save_release(struct cow__member *x, struct cow__member *m)
{
	x->save = NULL;
	cow__member_free(x);
	if (m)
		m->save = NULL;
}

/* cow__save_running — is a save of space m under way? */
bool cow__save_running(const struct cow__member *m)
{
	return m->save != NULL;
}

/* cow__snap_frame — the frame page i of snapshot x holds (COW__NO_FRAME once
 * dropped). */
cow__frame cow__snap_frame(const struct cow__member *x, size_t i)
{
	return cow__frame_at(x, i);
}

/* cow__snap_drop — snapshot x lets go of page i (the checkpoint has it). */
void cow__snap_drop(struct cow__member *x, size_t i)
{
	cow__frame f = cow__frame_at(x, i);

	/* x shares its table with the space: it takes its own path first (if
	 * no node is left, it keeps the page until it is released). */
	if (f == COW__NO_FRAME || cow__pt_own(x->pt, i))
		return;
	cow__frame_put(f);
	cow__pt_set(x->pt, i, COW__NO_FRAME);
}

/*
 * cow__snap_drop_run — snapshot x lets go of pages [i, i+n), all within one
 * page-table leaf (the checkpoint has them): like cow__snap_drop of each,
 * but a leaf dropped whole that x shares with its space is just unlinked
 * from x's table, with no copy and no count changed. If no node is left
 * for x's own path, x keeps the pages until it is released.
 */
void cow__snap_drop_run(struct cow__member *x, size_t i, size_t n)
{
	cow__frames_batch(true);
	(void)cow__pt_clear(x->pt, i, n);
	cow__frames_batch(false);
}

/* cow__snap_full — does snapshot x still hold every one of pages [i, i+n)
 * (within one leaf)? */
bool cow__snap_full(const struct cow__member *x, size_t i, size_t n)
{
	return cow__pt_full(x->pt, i, n);
}

/*
 * cow__snap_holes — do pages [i, i+n) of snapshot x (within one leaf) hold
 * consecutive memfd frames that are all holes: pages never written, which
 * read as zeroes without being read? One look at the leaf and one lseek.
 */
bool cow__snap_holes(const struct cow__member *x, size_t i, size_t n)
{
	cow__frame f = cow__frame_at(x, i);

	return f != COW__NO_FRAME && cow__pt_run(x->pt, i, i + n) == i + n &&
	       cow__frames_are_holes(f, n);
}

/*
 * cow__space_saved_in — the checkpoint space m holds exactly, but for the
 * pages marked written, in store handle `store` of that serial; 0 if none.
 */
uint64_t cow__space_saved_in(const struct cow__member *m, const void *store, uint64_t serial)
{
	return m->saved_store == store && m->saved_serial == serial ? m->saved_id : 0;
}

/* cow__space_set_saved — space m was saved as checkpoint id of store. */
void cow__space_set_saved(struct cow__member *m, void *store, uint64_t serial, uint64_t id)
{
	m->saved_store = store;
	m->saved_serial = serial;
	m->saved_id = id;
}

/* cow__space_pages — pages in member m. */
size_t cow__space_pages(const struct cow__member *m)
{
	return m->npages;
}

/* cow__space_is_vfork_child — is m a vfork child (which cannot be saved)? */
bool cow__space_is_vfork_child(const struct cow__member *m)
{
	return m->alias_of != NULL;
}
