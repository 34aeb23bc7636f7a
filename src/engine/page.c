/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * page.c — the state of a page, and every change of it.
 *
 * A page i of a space has five facts (docs/ENGINE.md has the table):
 *
 *   frame       its page-table entry (pt.c), at the space's home (home + i)
 *               or borrowed;
 *   sharing     the frame's reference count (leaves holding it) and the
 *               counts of the page-table nodes on its path: exclusive when
 *               all are 1 (cow__page_shared);
 *   protection  wp bit i: write-protected in the MMU (uffd or mprotect);
 *   written     dirty bit i: written since the freeze of the last save;
 *   image       the frame is a page of a file (mapped read-only).
 *
 * Every transition that can let a write through, or changes what a page
 * holds, is made here: the write fault (the seed's decision, below),
 * preserving the old content for sharers, restoring a page, taking a
 * borrowed page home. Mapping code (mapping.c) only carries out what this
 * file decides; it never lifts a protection on its own. So the rule the
 * incremental save rests on holds by construction, and check.c checks it:
 *
 *   a page that is not write-protected is marked written.
 *
 * The background save listens to page events (cow__page_events_set): "a
 * shared page is about to be written" (it may take the old content straight
 * into its checkpoint: a spill) and "a page of a snapshot became a preserved
 * copy". The spill's disk write happens with the engine lock released;
 * meanwhile the frame is "busy" and anything that would change it waits.
 *
 * Everything here runs with the engine lock held, some of it in the fault
 * handler: no malloc.
 */
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>

#include "internal.h"

static const struct cow__page_events *events;

/*
 * Busy frames: their content is being read with the engine lock released
 * (a spill writing out the old content, a save reading its pages); nothing
 * may change them meanwhile, so their writers wait.
 */
#define BUSY_MAX 1024
static cow__frame busy[BUSY_MAX];
static unsigned nbusy;
static pthread_cond_t busy_done = PTHREAD_COND_INITIALIZER;

static inline char *page_addr(const struct cow__member *m, size_t i)
{
	return m->addr + (i << COW__PAGE_SHIFT);
}

/* The member whose page table and written marks a page of m belongs to. */
static inline struct cow__member *owner(struct cow__member *m)
{
	return m->alias_of ? m->alias_of : m;
}

/* cow__page_events_set — who hears page events (the background save). */
void cow__page_events_set(const struct cow__page_events *ev)
{
	events = ev;
}

/* cow__page_wait — wait (lock released meanwhile) for a page event: a spill
 * that ended. */
void cow__page_wait(void)
{
	pthread_cond_wait(&busy_done, &cow__lock);
}

static bool frame_busy(cow__frame f)
{
	for (unsigned k = 0; k < nbusy; k++)
		if (busy[k] == f)
			return true;
	return false;
}

static void busy_drop(cow__frame f)
{
	for (unsigned k = 0; k < nbusy; k++) {
		if (busy[k] == f) {
			busy[k] = busy[--nbusy];
			break;
		}
	}
}

static void busy_remove(cow__frame f)
{
	busy_drop(f);
	pthread_cond_broadcast(&busy_done);
}

/*
 * cow__frames_hold — mark frames f[0..n) busy (all or none): the caller
 * reads them with the engine lock released, then calls
 * cow__frames_release. false when too many frames are busy already.
 */
bool cow__frames_hold(const cow__frame *f, unsigned n)
{
	if (nbusy + n > BUSY_MAX)
		return false;
	for (unsigned k = 0; k < n; k++)
		busy[nbusy++] = f[k];
	return true;
}

/* cow__frames_release — frames f[0..n) are no longer busy; waiters go on. */
void cow__frames_release(const cow__frame *f, unsigned n)
{
	for (unsigned k = 0; k < n; k++)
		busy_drop(f[k]);
	pthread_cond_broadcast(&busy_done);
}

/* Wait until no spill is writing out frame pt[i] of m's owner. */
static void wait_not_busy(struct cow__member *o, size_t i)
{
	while (nbusy && frame_busy(cow__frame_at(o, i)))
		cow__page_wait();
}

/* Page i may differ from reference ref now: its bit, and its place in the
 * list while the list holds every marked page. */
static void ref_mark(struct cow__space_ref *ref, size_t i)
{
	uint64_t bit = 1ull << (i & 63);

	if (ref->changed[i >> 6] & bit)
		return;
	ref->changed[i >> 6] |= bit;
	if (ref->listed && ref->nlist < COW__LOG_MAX)
		ref->list[ref->nlist++] = i;
	else
		ref->listed = false;
}

/* cow__page_mark_written — page i of space m was (or may now be) written
 * since the freeze of its last save. */
void cow__page_mark_written(struct cow__member *m, size_t i)
{
	struct cow__member *o = owner(m);

	if (o->dirty)
		o->dirty[i >> 6] |= 1ull << (i & 63);
	for (unsigned r = 0; r < COW__REFS; r++)
		if (o->refs[r].serial)
			ref_mark(&o->refs[r], i);
}

static uint64_t ref_clock;	/* orders reference slots for reuse */

static size_t bitmap_bytes(const struct cow__member *m)
{
	return ((m->npages + 63) / 64) * sizeof(uint64_t);
}

/* A reference slot's memory: its bitmap, then its list. */
static size_t ref_bytes(const struct cow__member *m)
{
	return bitmap_bytes(m) + COW__LOG_MAX * sizeof(uint64_t);
}

/* Nothing has changed against ref any more: its marks are cleared — by
 * its list while it has one, so this costs per page changed. */
static void ref_clear(const struct cow__member *m, struct cow__space_ref *ref)
{
	if (ref->listed)
		for (uint32_t k = 0; k < ref->nlist; k++)
			ref->changed[ref->list[k] >> 6] = 0;	/* every bit set is listed */
	else
		memset(ref->changed, 0, bitmap_bytes(m));
	ref->nlist = 0;
	ref->listed = true;
}

static struct cow__space_ref *ref_of(const struct cow__member *m, const struct cow__member *x)
{
	for (unsigned r = 0; r < COW__REFS; r++)
		if (m->refs[r].serial && m->refs[r].serial == x->serial)
			return (struct cow__space_ref *)&m->refs[r];
	return NULL;
}

/*
 * cow__pages_set_reference — space m's content is now exactly snapshot
 * x's (m was just frozen into x, or made from it): no page has changed
 * since x. x takes a reference slot of m (a free one, or the least
 * recently used); a later cow_restore(m, x) visits only the pages marked
 * changed since. Without memory for the slot's bitmap, x is simply not
 * tracked (a restore to it then compares every page).
 */
void cow__pages_set_reference(struct cow__member *m, const struct cow__member *x)
{
	struct cow__space_ref *ref = ref_of(m, x), *lru = &m->refs[0];

	for (unsigned r = 0; !ref && r < COW__REFS; r++) {
		if (!m->refs[r].serial) {
			ref = &m->refs[r];
			break;
		}
		if (m->refs[r].used < lru->used)
			lru = &m->refs[r];
	}
	if (!ref)
		ref = lru;
	if (!ref->changed) {
		char *p = cow__engine_mem(ref_bytes(m));

		if (!p) {
			ref->serial = 0;
			return;
		}
		ref->changed = (uint64_t *)p;
		ref->list = (uint64_t *)(p + bitmap_bytes(m));
		ref->nlist = 0;
		ref->listed = true;
	} else {
		ref_clear(m, ref);
	}
	ref->serial = x->serial;
	ref->used = ++ref_clock;
}

/*
 * cow__pages_restored_to — m was just restored to snapshot x: it equals x
 * again. The pages that restore changed count as changed against every
 * other reference; against x, nothing has changed. An untracked x becomes
 * a reference.
 */
void cow__pages_restored_to(struct cow__member *m, const struct cow__member *x)
{
	struct cow__space_ref *ref = ref_of(m, x);
	size_t words = (m->npages + 63) / 64;

	if (!ref) {
		/* Every page may have changed against the others. */
		for (unsigned r = 0; r < COW__REFS; r++)
			if (m->refs[r].serial) {
				memset(m->refs[r].changed, 0xff, bitmap_bytes(m));
				m->refs[r].listed = false;
			}
		cow__pages_set_reference(m, x);
		return;
	}
	for (unsigned r = 0; r < COW__REFS; r++) {
		struct cow__space_ref *o = &m->refs[r];

		if (o == ref || !o->serial)
			continue;
		if (ref->listed) {
			for (uint32_t k = 0; k < ref->nlist; k++)
				ref_mark(o, ref->list[k]);
		} else {
			for (size_t w = 0; w < words; w++)
				o->changed[w] |= ref->changed[w];
			o->listed = false;
		}
	}
	ref_clear(m, ref);
	ref->used = ++ref_clock;
}

/*
 * cow__pages_changed_since — the pages of m that may differ from snapshot
 * x (bits), when x is one of m's references; NULL when it is not (then
 * any page may).
 */
const uint64_t *cow__pages_changed_since(const struct cow__member *m,
					 const struct cow__member *x)
{
	struct cow__space_ref *ref = ref_of(m, x);

	return ref ? ref->changed : NULL;
}

/*
 * cow__pages_changed_list — the same pages as a list (*n of them, each
 * once, in no order) when m keeps one for x; NULL when it does not (more
 * than COW__LOG_MAX changed, or x is no reference): then use the bits.
 */
const uint64_t *cow__pages_changed_list(const struct cow__member *m,
					const struct cow__member *x, size_t *n)
{
	struct cow__space_ref *ref = ref_of(m, x);

	if (!ref || !ref->listed)
		return NULL;
	*n = ref->nlist;
	return ref->list;
}

/* cow__pages_forget_references — m tracks no reference any more. */
void cow__pages_forget_references(struct cow__member *m)
{
	for (unsigned r = 0; r < COW__REFS; r++) {
		if (m->refs[r].changed)
			munmap(m->refs[r].changed, ref_bytes(m));
		m->refs[r].changed = NULL;
		m->refs[r].list = NULL;
		m->refs[r].nlist = 0;
		m->refs[r].listed = false;
		m->refs[r].serial = 0;
	}
}

/* Lift the protection of page i of m, which is m's alone now. */
static int make_writable(struct cow__member *m, size_t i)
{
	cow__page_mark_written(m, i);
	return cow__unprotect_range(m, i, 1);
}

/*
 * cow__page_shared — is page i of m's frame seen by another member too
 * (its frame held by another leaf, or its leaf reached by another page
 * table)? Then a write must copy.
 */
bool cow__page_shared(const struct cow__member *m, size_t i)
{
	cow__frame f = cow__frame_at(m, i);

	return f != COW__NO_FRAME && (cow__frame_ref(f) > 1 || cow__pt_shared(m->pt, i));
}

/* cow__page_sharers — the members of m's family whose page i is m's frame
 * (a vfork child holds none itself: its parent's family is counted). */
uint32_t cow__page_sharers(const struct cow__member *m, size_t i)
{
	const struct cow__member *o = m->alias_of ? m->alias_of : m;
	cow__frame f = cow__frame_at(m, i);
	uint32_t n = 0;

	if (f == COW__NO_FRAME || !o->fam)
		return 0;
	for (const struct cow__member *y = o->fam->head; y; y = y->fam_next)
		n += cow__frame_at(y, i) == f;
	return n;
}

/*
 * cow__page_preserve — the owner o, whose path to page i is its own
 * (cow__pt_own), is about to change page i, whose frame f is at o's home
 * and shared. Copy f once into the home frame of one other sharer (a mapped
 * space if there is one: it then owns its copy and stays compact), and
 * point every other sharer there: the entry changes in each leaf that holds
 * f at i (all the members sharing one leaf follow at once). Afterwards f is
 * o's alone. 0 or -errno (a remap refused by the kernel).
 */
int cow__page_preserve(struct cow__member *o, size_t i)
{
	cow__frame f = cow__frame_at(o, i), dest;
	struct cow__member *best = NULL;
	uint32_t leaves = 0;
	int err;

	for (struct cow__member *y = o->fam->head; y; y = y->fam_next) {
		if (y == o || cow__frame_at(y, i) != f)
			continue;
		if (!best || (y->addr && (!best->addr || y->kind == COW__KIND_SPACE)))
			best = y;
	}
	if (!best)
		return 0;
	if (best->home != COW__NO_FRAME)
		dest = cow__home(best, i);
	else if ((err = cow__frame_alloc(&dest)))
		return err;	/* a snapshot without a home: any free frame */
	/*
	 * o's page still shows f: copy from there, no window faults. A page
	 * of zeroes is not copied into a home frame, which reads as zeroes
	 * already. Under mprotect a hole (never written) is found with one
	 * lseek and not read, which would give it a page; under uffd the
	 * kernel has given it one before the fault reached us, so a look at
	 * the page tells, without the syscall.
	 */
	if (best->home != COW__NO_FRAME &&
	    (o->addr && cow__be->fault_populates ? cow__page_is_zero(page_addr(o, i))
						 : cow__frame_is_hole(f)))
		err = 0;
	else
		err = o->addr ? cow__frame_fill(dest, page_addr(o, i)) : cow__frame_copy(dest, f);
	if (err) {
		if (best->home == COW__NO_FRAME) {	/* give the frame back */
			cow__frame_set_ref(dest, 1);
			cow__frame_put(dest);
		}
		return err;
	}
	/* Mapped sharers count their mapping boundaries before the change... */
	for (struct cow__member *y = o->fam->head; y; y = y->fam_next)
		if (y != o && y->addr && cow__frame_at(y, i) == f)
			cow__remap_begin(y, i);
	/* ... every leaf holding f at i (but o's) takes dest ... */
	for (struct cow__member *y = o->fam->head; y; y = y->fam_next) {
		if (y != o && cow__frame_at(y, i) == f) {
			cow__pt_set(y->pt, i, dest);
			leaves++;
		}
	}
	cow__frame_set_ref(dest, leaves);
	cow__frame_set_ref(f, 1);
	/* ... and each sharer is remapped (dest was nobody's before). */
	for (struct cow__member *y = o->fam->head; y; y = y->fam_next) {
		int e;

		if (y == o || cow__frame_at(y, i) != dest)
			continue;
		e = cow__remap_end(y, i, true);
		if (y->save && events && events->preserved)
			events->preserved(y->save, i);
		if (e && !err)
			err = e;
	}
	return err;
}

/*
 * A save may want the old content of page i (o's home frame, shared with
 * the save's snapshot) written into its checkpoint rather than preserved in
 * memory. If it does, write it with the lock released (the frame is busy
 * meanwhile) and return true: the caller looks at the page again.
 */
static bool spill_offloaded(struct cow__member *o, size_t i)
{
	cow__frame f = cow__frame_at(o, i);
	void *token;
	int err;

	if (!events || !events->claim_spill || nbusy == BUSY_MAX || !o->addr)
		return false;
	token = NULL;
	for (struct cow__member *y = o->fam->head; y && !token; y = y->fam_next)
		if (y != o && y->kind == COW__KIND_SNAP && y->save && cow__frame_at(y, i) == f)
			token = events->claim_spill(y->save, i);
	if (!token)
		return false;
	busy[nbusy++] = f;
	cow__engine_unlock();
	/* The page is write-protected and busy: its content cannot change. */
	err = events->spill(token, i, page_addr(o, i));
	cow__engine_lock();
	events->spill_done(token, i, err);
	busy_remove(f);
	return true;
}

/*
 * Page i of m (borrowing frame f; the content is already in its owner o's
 * home frame) moves home and becomes writable. The old frame's reference
 * is dropped only once the kernel has remapped the page, so a refused remap
 * leaves the page on the frame it still references. 0 or -errno.
 */
static int move_home(struct cow__member *m, struct cow__member *o, size_t i, cow__frame f)
{
	cow__frame home = cow__home(o, i);
	int err;

	cow__frame_get(home);
	if (!m->alias_of) {
		err = cow__remap_page(m, i, home, false);
	} else {
		/* A vfork child: the parent's page moves home, the child follows. */
		m->maps -= cow__boundaries_at(m, i);
		err = cow__remap_page(o, i, home, true);	/* also sets m->pt[i] */
		cow__wp_set(m, i, false);
		m->maps += cow__boundaries_at(m, i);
		if (!err)
			err = cow__map_range(m, i, 1);
	}
	if (err) {
		cow__pt_set(o->pt, i, f);	/* the kernel kept (or dropped) the old page */
		cow__wp_set(m, i, true);
		cow__frame_put(home);
		cow__maps_count(m);
		return err;
	}
	cow__frame_put(f);
	return 0;
}

/*
 * cow__page_write — the write fault for page i of mapped space m (or of a
 * vfork child m, which writes its parent's frames): afterwards the page is
 * writable, the writer's alone, and marked written. The seed's decision:
 *
 *   frame exclusive (count 1)       -> reuse: lift the protection, no copy;
 *   frame shared, at the writer's home
 *                                   -> copy the old content once for the
 *                                      other sharers, then write in place;
 *   frame shared (or a file page), borrowed
 *                                   -> copy it into the writer's home frame
 *                                      and map that instead.
 *
 * Also used by cow_prefault(). Returns 0 or -errno from the kernel (remap or
 * protection refused).
 */
int cow__page_write(struct cow__member *m, size_t i)
{
	struct cow__member *o = owner(m);
	cow__frame f, home = cow__home(o, i);
	int err;

	for (;;) {
		if (!m->alias_of)
			cow__vfork_wait(m);	/* a vfork parent waits */
		if (!cow__wp_test(m, i)) {
			/* Another thread resolved it first; make sure the kernel agrees. */
			return cow__be->unprotect(page_addr(m, i), COW__PAGE);
		}
		if (nbusy && frame_busy(cow__frame_at(o, i))) {
			cow__page_wait();
			continue;
		}
		/* The path to the page becomes o's own: counts then tell sharing. */
		if ((err = cow__pt_own(o->pt, i)))
			return err;
		f = cow__frame_at(o, i);
		if (f == home && cow__frame_ref(f) > 1 && spill_offloaded(o, i))
			continue;	/* the lock was released: look again */
		break;
	}
	m->st.faults++;
	if (cow__frame_ref(f) == 1 && !cow__frame_is_image(f)) {
		/* Exclusive: reuse the frame in place, no copy. */
		m->st.reuses++;
		return make_writable(m, i);
	}
	/* Shared: we need to copy. */
	m->st.copies++;
	if (f == home) {
		err = cow__page_preserve(o, i);
		return err ? err : make_writable(m, i);
	}
	/*
	 * Borrowed: the writer stays home. m's page still shows f, unless f is
	 * a hole (a page its owner never wrote): then it is not read, since
	 * reading it through the mapping would give the owner a page of zeroes
	 * to keep (20 us a write and two pages of memory, against one), and
	 * the home frame reads as zeroes already.
	 */
	err = cow__frame_is_hole(f) ? 0 : cow__frame_fill(home, page_addr(m, i));
	if (err)
		return err;
	cow__page_mark_written(m, i);
	return move_home(m, o, i, f);
}

/*
 * Page i of space m, at home, was just given the content of frame g: the
 * members holding g at i can hold m's home frame instead, and g is freed
 * (ready for the next copy). So the space and the snapshot share the page
 * again, as right after the snapshot: the snapshot keeps no copy of a page
 * that no longer differs, and the next restore finds one frame, nothing to
 * copy. Only when every holder of g is a snapshot that is not mapped, has
 * no home and is no save's (a mapping would have to change; a save lists
 * its preserved pages), and while g can be kept ready: a restore of many
 * pages would otherwise punch them one syscall each (10 us), and the
 * snapshot keeps those copies instead. Otherwise nothing changes. Cannot
 * fail.
 */
static void reshare(struct cow__member *m, size_t i, cow__frame g)
{
	cow__frame h = cow__home(m, i);
	uint32_t leaves = 0;

	if (cow__frame_is_image(g) || !cow__frames_ready_room())
		return;
	for (const struct cow__member *y = m->fam->head; y; y = y->fam_next)
		if (y != m && cow__frame_at(y, i) == g &&
		    (y->kind != COW__KIND_SNAP || y->addr || y->home != COW__NO_FRAME || y->save))
			return;
	/* Every leaf holding g at i takes h (members sharing a leaf follow). */
	for (struct cow__member *y = m->fam->head; y; y = y->fam_next) {
		if (y != m && cow__frame_at(y, i) == g) {
			cow__pt_set(y->pt, i, h);
			leaves++;
		}
	}
	cow__frame_set_ref(h, cow__frame_ref(h) + leaves);
	cow__frame_set_ref(g, cow__frame_ref(g) - leaves);
}

/* Does page i of space m (write-protected, or racing writers could change
 * it afterwards) show memfd frame g's content already? */
static bool shows_frame(const struct cow__member *m, size_t i, cow__frame g)
{
	return !cow__frame_is_image(g) &&
	       memcmp(page_addr(m, i), cow__frame_addr(g), COW__PAGE) == 0;
}

/*
 * cow__pages_restore_early — a restore of space m to snapshot x is about to
 * write-protect m's writable pages: while they are writable still, each one
 * that is m's alone at home takes x's content through m's own mapping, where
 * it is mapped already (the window would take a page fault on the home
 * frame first, about 1 us, more than the copy). Nothing is decided here: a
 * thread writing a page meanwhile may change it again before it is
 * protected, so cow__page_restore compares it with x's frame once it is
 * protected and copies only when they differ. Visits m's writable log (none
 * when it was given up). Cannot fail.
 */
void cow__pages_restore_early(struct cow__member *m, const struct cow__member *x)
{
	for (uint32_t k = 0; m->wlog_ok && k < m->nwlog; k++) {
		size_t i = m->wlog[k];
		cow__frame f = cow__frame_at(m, i), g = cow__frame_at(x, i);

		if (cow__wp_test(m, i) || g == COW__NO_FRAME || g == f ||
		    cow__frame_is_image(g) || f != cow__home(m, i) ||
		    cow__frame_ref(f) != 1 || cow__pt_shared(m->pt, i) ||
		    (nbusy && frame_busy(f)))
			continue;
		memcpy(page_addr(m, i), cow__frame_addr(g), COW__PAGE);
	}
}

/*
 * cow__page_restore — page i of space m takes the content of frame g (a
 * page of the snapshot being restored). The space stays at home: the
 * content is copied into its home frame, after preserving the old content
 * for any other sharer; the snapshot then shares that frame again where it
 * can (reshare). The page stays write-protected (the next write copies it,
 * or reuses it if it is not shared) and is marked written. 0 or -errno.
 */
int cow__page_restore(struct cow__member *m, size_t i, cow__frame g)
{
	cow__frame f, home = cow__home(m, i);
	int err;

	wait_not_busy(m, i);
	if ((err = cow__pt_own(m->pt, i)))
		return err;
	f = cow__frame_at(m, i);
	cow__page_mark_written(m, i);
	if (f == home) {
		if (cow__frame_ref(f) > 1 && (err = cow__page_preserve(m, i)))
			return err;
		if (!shows_frame(m, i, g) && (err = cow__frame_copy(home, g)))
			return err;
		reshare(m, i, g);
		return 0;
	}
	if ((err = cow__frame_copy(home, g)))
		return err;
	cow__frame_get(home);
	if ((err = cow__remap_page(m, i, home, true))) {
		cow__pt_set(m->pt, i, f);	/* still on the frame it references */
		cow__frame_put(home);
		cow__maps_count(m);
		return err;
	}
	cow__frame_put(f);
	return 0;
}

/*
 * cow__pages_take_home — member m stops borrowing pages [i, i+n) (n at most
 * COW__TAKE_RUN, all in one page-table leaf), none of them at home: their
 * content is copied into m's home frames, with one copy of the run
 * (cow__frames_copy_home: no page fault, and pages of zeroes cost no
 * memory), and m then owns them alone. A leaf taken whole and shared is
 * replaced, not copied (cow__pt_fill), so its borrowed frames are neither
 * counted up nor down. A space's pages are write-protected before the copy
 * (a writer meanwhile waits; the next write faults and reuses the frame,
 * so the write is seen). The caller maps them again. 0 or -errno (no memory for a page-table node, or the error
 * reading a page); on error no page of the run has moved.
 */
int cow__pages_take_home(struct cow__member *m, size_t i, size_t n)
{
	static cow__frame src[COW__TAKE_RUN];	/* under the engine lock */
	int err;

	if (n == 0 || n > COW__TAKE_RUN || (i & (COW__PT_FAN - 1)) + n > COW__PT_FAN)
		return n ? -EINVAL : 0;
	if ((err = cow__pt_room(m->pt)))
		return err;
	/* Another thread may be writing a writable page of the run: its write
	 * would land in the old frame after the copy and be lost. Protected
	 * first, such a writer waits in the fault handler for the engine lock,
	 * then writes the home frame. */
	if (m->kind == COW__KIND_SPACE && m->addr &&
	    cow__bits_find(m->wp, i, i + n, false) < i + n &&
	    (err = cow__protect_range(m, i, n)))
		return err;
	for (size_t k = 0; k < n; k++)
		src[k] = cow__frame_at(m, i + k);
	if ((err = cow__frames_copy_home(cow__home(m, i), src, n)))
		return err;
	/* The old frames let go in a batch: a run of them that nobody holds
	 * any more (a snapshot's home frames, say) is punched with one call,
	 * not one a page. */
	cow__frames_batch(true);
	err = cow__pt_fill(m->pt, i, n, cow__home(m, i));
	cow__frames_batch(false);
	if (err)
		cow__die("no page-table node after making room for one", err);
	if (m->kind == COW__KIND_SPACE)
		cow__bits_fill(m->wp, i, i + n, true);
	return 0;
}

/*
 * cow__pages_take_written — the freeze of a save of space m: keep (a bitmap
 * of m's pages, zeroed or not) becomes "not written since the last save"
 * and m's marks start anew. Every page of m must be write-protected.
 */
void cow__pages_take_written(struct cow__member *m, uint64_t *keep)
{
	for (size_t w = 0; w < (m->npages + 63) / 64; w++) {
		keep[w] = ~m->dirty[w];
		m->dirty[w] = 0;
	}
}

/*
 * cow__pages_rewritten — a save of m failed: the pages it took as
 * unchanged since the save before are marked written again, so that the
 * next save writes everything the failed one would have.
 */
void cow__pages_rewritten(struct cow__member *m, const uint64_t *keep)
{
	for (size_t w = 0; w < (m->npages + 63) / 64; w++)
		m->dirty[w] |= ~keep[w];
}

/*
 * cow__pages_inherit_written — a new space d starts with src's content:
 * src's written marks and its claim to be saved as a checkpoint come with
 * it (a space made from a snapshot of a checkpoint starts as saved there,
 * nothing written; a fork starts where its parent is). A src without a
 * claim, or with a save in progress (its marks count from that save's
 * freeze, which may still fail), leaves d "never saved": every page counts
 * as written.
 */
void cow__pages_inherit_written(struct cow__member *d, const struct cow__member *src)
{
	size_t bytes = ((d->npages + 63) / 64) * sizeof(uint64_t);

	if (!src->saved_store || src->save)
		return;	/* never saved, or a save in progress: all new */
	d->saved_store = src->saved_store;
	d->saved_serial = src->saved_serial;
	d->saved_id = src->saved_id;
	for (size_t w = 0; w < bytes / sizeof(uint64_t); w++)
		d->dirty[w] = src->dirty ? src->dirty[w] : 0;
}


/* cow__page_space_gone — space m is destroyed: its save (if any) hears it. */
void cow__page_space_gone(struct cow__member *m)
{
	if (m->save && events && events->space_gone)
		events->space_gone(m->save);
	m->save = NULL;
}

/* cow__page_reset — in a fork() child: no spill is in flight. */
static void page_reset(void)
{
	nbusy = 0;
	events = NULL;
}
COW__AT_FORK_CHILD(page_reset)
