/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * member.c — what spaces and snapshots have in common: a page table, a home
 * range of frames, a family of members that may share frames with it.
 *
 * All functions here are called with the engine lock held.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "internal.h"

/*
 * cow__member_check — is m a live handle of the given kind, made in this
 * process? 0, -EINVAL (NULL, wrong kind, released), -ESTALE (from the parent
 * of a fork()).
 */
int cow__member_check(const struct cow__member *m, enum cow__kind kind)
{
	if (!m || m->magic != COW__MAGIC_LIVE || m->kind != kind)
		return -EINVAL;
	if (m->gen != cow__gen)
		return -ESTALE;
	return 0;
}

static void *zalloc_pages(size_t bytes)
{
	void *p = mmap(NULL, bytes ? bytes : 1, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	madvise(p, bytes ? bytes : 1, MADV_DONTFORK);
	return p;
}

static size_t wp_bytes(size_t npages)
{
	return ((npages + 63) / 64) * sizeof(uint64_t);
}

/*
 * A member's bitmaps (write protection, written since saved, read-only)
 * are mmap'd, a bit per page. A fork server makes and destroys a space per
 * iteration, and fresh pages cost a fault and a kernel zeroing each: at
 * 4 GiB that was a third of cow_fork. So bitmaps let go are kept, a few
 * and up to BITMAPS_KEPT_BYTES, and given out again (cleared) for the same
 * size. Not inherited by a fork() child (MADV_DONTFORK), hence forgotten.
 */
#define BITMAPS_KEPT 8
#define BITMAPS_KEPT_BYTES (16u << 20)

static struct {
	void *p;
	size_t bytes;
	uint64_t when;		/* order kept, for eviction */
} kept[BITMAPS_KEPT];
static size_t kept_bytes;
static uint64_t kept_clock;

static void bitmaps_forget(void)
{
	memset(kept, 0, sizeof kept);
	kept_bytes = 0;
}
COW__AT_FORK_CHILD(bitmaps_forget)

/*
 * A bitmap for npages pages, every byte set to byte: a kept one if one fits
 * and the caller writes all of it anyway (a space's: reused memory is
 * memset, where fresh pages that are never written cost nothing — a
 * snapshot's). BITMAP_UNSET: its content is undefined, the caller sets
 * every word (a space's protection bitmaps, which cow__map_member fills:
 * filling them here too cost a fork of 64 GiB two memsets of 2 MiB).
 * NULL: ENOMEM.
 */
#define BITMAP_UNSET (-1)
static uint64_t *bitmap_new(size_t npages, bool filled, int byte)
{
	size_t bytes = wp_bytes(npages);
	void *p;

	for (unsigned k = 0; filled && k < BITMAPS_KEPT; k++)
		if (kept[k].p && kept[k].bytes == bytes) {
			p = kept[k].p;
			kept[k].p = NULL;
			kept_bytes -= bytes;
			return byte == BITMAP_UNSET ? p : memset(p, byte, bytes);
		}
	p = zalloc_pages(bytes);
	return p && byte > 0 ? memset(p, byte, bytes) : p;
}

/* Let go of bitmap b of npages pages (NULL: nothing): kept, or unmapped. */
static void bitmap_free(uint64_t *b, size_t npages)
{
	size_t bytes = wp_bytes(npages);

	if (!b)
		return;
	if (bytes > BITMAPS_KEPT_BYTES) {
		munmap(b, bytes);
		return;
	}
	/* Room for it: the oldest kept ones go first (a program that moved on
	 * to spaces of another size must not keep bitmaps it will not use). */
	for (;;) {
		unsigned free_k = BITMAPS_KEPT, old_k = BITMAPS_KEPT;

		for (unsigned k = 0; k < BITMAPS_KEPT; k++) {
			if (!kept[k].p)
				free_k = k;
			else if (old_k == BITMAPS_KEPT || kept[k].when < kept[old_k].when)
				old_k = k;
		}
		if (free_k < BITMAPS_KEPT && kept_bytes + bytes <= BITMAPS_KEPT_BYTES) {
			kept[free_k].p = b;
			kept[free_k].bytes = bytes;
			kept[free_k].when = ++kept_clock;
			kept_bytes += bytes;
			return;
		}
		munmap(kept[old_k].p, kept[old_k].bytes);
		kept_bytes -= kept[old_k].bytes;
		kept[old_k].p = NULL;
	}
}

/* Unmap space m's writable log, if it has one. */
static void wlog_free(struct cow__member *m)
{
	if (m->wlog)
		munmap(m->wlog, COW__LOG_MAX * sizeof *m->wlog);
	m->wlog = NULL;
	m->wlog_ok = false;
}

static struct cow__family *families;
static uint64_t serials;	/* the last member serial handed out */

/* cow__families — the first of all families (engine lock held). */
struct cow__family *cow__families(void)
{
	return families;
}

/* In a fork() child: no families. */
static void families_reset(void)
{
	families = NULL;
}
COW__AT_FORK_CHILD(families_reset)

static void family_link(struct cow__family *fam)
{
	fam->prev = NULL;
	fam->next = families;
	if (families)
		families->prev = fam;
	families = fam;
}

static void family_unlink(struct cow__family *fam)
{
	if (fam->prev)
		fam->prev->next = fam->next;
	else
		families = fam->next;
	if (fam->next)
		fam->next->prev = fam->prev;
}

static void family_add(struct cow__family *fam, struct cow__member *m)
{
	if (fam->members == 0)
		family_link(fam);
	m->fam = fam;
	m->fam_prev = NULL;
	m->fam_next = fam->head;
	if (fam->head)
		fam->head->fam_prev = m;
	fam->head = m;
	fam->members++;
}

static void family_remove(struct cow__member *m)
{
	struct cow__family *fam = m->fam;

	if (m->fam_prev)
		m->fam_prev->fam_next = m->fam_next;
	else
		fam->head = m->fam_next;
	if (m->fam_next)
		m->fam_next->fam_prev = m->fam_prev;
	if (--fam->members == 0) {
		family_unlink(fam);
		free(fam);
	}
	m->fam = NULL;
}

/*
 * cow__member_new — a member of npages pages with a reserved home range and
 * an empty page table (every entry COW__NO_FRAME), in family fam (a new
 * family when fam is NULL). Page tables and protection bitmaps are mmap'd
 * (MADV_DONTFORK): they can be large, and a fork() child must not copy them.
 * Returns the member (caller owns it: cow__member_free), or NULL with errno
 * ENOMEM.
 */
struct cow__member *cow__member_new(enum cow__kind kind, size_t npages,
				    struct cow__family *fam)
{
	struct cow__member *m = calloc(1, kind == COW__KIND_SPACE ?
				       sizeof(struct cow_space) : sizeof(struct cow_snap));
	bool new_fam = !fam;
	int err;

	if (!m)
		goto nomem;
	m->kind = kind;
	m->npages = npages;
	m->gen = cow__gen;
	m->pt = &m->ptab;
	if (cow__pt_init(m->pt, npages))
		goto nomem;
	/* A space's wp and ro bits are set by cow__map_member, which follows. */
	m->wp = bitmap_new(npages, kind == COW__KIND_SPACE,
			   kind == COW__KIND_SPACE ? BITMAP_UNSET : 0);
	if (kind == COW__KIND_SPACE) {
		m->dirty = bitmap_new(npages, true, 0xff);	/* never saved: all new */
		m->ro = bitmap_new(npages, true, BITMAP_UNSET);
		m->wlog = cow__engine_mem(COW__LOG_MAX * sizeof *m->wlog);
	}
	if (!m->wp || (kind == COW__KIND_SPACE && (!m->dirty || !m->ro || !m->wlog)))
		goto nomem;
	m->serial = ++serials;
	/*
	 * A snapshot gets no home range until it is mapped: its preserved
	 * pages take single frames wherever they are free (an unmapped member
	 * needs no consecutive frames), so snapshots cost frame numbers only
	 * for the pages preserved for them.
	 */
	m->home = COW__NO_FRAME;
	if (kind == COW__KIND_SPACE && (err = cow__frames_reserve(npages, &m->home))) {
		errno = -err;
		goto fail;
	}
	if (new_fam && !(fam = calloc(1, sizeof *fam))) {
		if (m->home != COW__NO_FRAME)
			cow__frames_unhome(m->home, npages);
		goto nomem;
	}
	family_add(fam, m);
	m->magic = COW__MAGIC_LIVE;
	m->st.pages = npages;
	return m;
nomem:
	errno = ENOMEM;
fail:
	if (m) {
		bitmap_free(m->wp, npages);
		bitmap_free(m->dirty, npages);
		bitmap_free(m->ro, npages);
		wlog_free(m);
		free(m);
	}
	return NULL;
}

/*
 * cow__member_share — dst's page table becomes src's: the tables share
 * every node (one reference to src's root), so this costs nothing per page
 * (dst's table must be empty). Always succeeds: returns 0.
 */
int cow__member_share(struct cow__member *dst, const struct cow__member *src)
{
	cow__pt_share(dst->pt, src->pt);
	return 0;
}

/*
 * Released handles are poisoned and kept for a while before their memory is
 * freed, so that releasing one twice (a common bug) finds the poison and is
 * ignored instead of corrupting the heap.
 */
#define QUARANTINE 256
static struct cow__member *quarantined[QUARANTINE];
static size_t quarantine_next;

void cow__member_quarantine(struct cow__member *m)
{
	m->magic = COW__MAGIC_DEAD;
	free(quarantined[quarantine_next]);
	quarantined[quarantine_next] = m;
	quarantine_next = (quarantine_next + 1) % QUARANTINE;
}

/*
 * cow__member_free — drop every reference m holds, give up its home range,
 * unmap it, and free it. The handle is poisoned.
 */
void cow__member_free(struct cow__member *m)
{
	size_t n = m->npages;

	cow__unmap_member(m);
	/* Give up the home first, so that frames reaching 0 below are freed. */
	if (m->home != COW__NO_FRAME)
		cow__frames_unhome(m->home, n);
	cow__frames_batch(true);
	cow__pt_release(m->pt);
	cow__frames_batch(false);
	family_remove(m);
	if (m->kind == COW__KIND_SPACE)
		cow__page_space_gone(m);
	bitmap_free(m->wp, n);
	bitmap_free(m->dirty, n);
	bitmap_free(m->ro, n);
	wlog_free(m);
	cow__pages_forget_references(m);
	cow__member_quarantine(m);
	cow__images_reap();
	cow__frames_trim();
}

/*
 * cow__member_give_home — reserve a home range for member m (a snapshot
 * about to be mapped, or made of a file) if it has none. 0 or -errno.
 */
int cow__member_give_home(struct cow__member *m)
{
	if (m->home != COW__NO_FRAME)
		return 0;
	return cow__frames_reserve(m->npages, &m->home);
}

/* cow__wp_set — record page i of m as write-protected (or not); a page
 * made writable goes into m's writable log. */
void cow__wp_set(struct cow__member *m, size_t i, bool on)
{
	uint64_t bit = 1ull << (i & 63);

	if (on) {
		m->wp[i >> 6] |= bit;
	} else if (m->wp[i >> 6] & bit) {
		m->wp[i >> 6] &= ~bit;
		cow__wlog_note(m, i, 1);
	}
}

/*
 * cow__wlog_note — pages [first, first+n) of space m were just made
 * writable: they join its writable log, which lets cow__protect_writable
 * protect them without scanning the bitmap. A log that would overflow is
 * given up (the next protect scans) until cow__wlog_reset. Cannot fail.
 */
void cow__wlog_note(struct cow__member *m, size_t first, size_t n)
{
	if (!m->wlog_ok)
		return;
	if (n > COW__LOG_MAX - m->nwlog) {
		m->wlog_ok = false;
		return;
	}
	for (size_t k = 0; k < n; k++)
		m->wlog[m->nwlog++] = first + k;
}

/*
 * cow__wlog_reset — m's writable log starts empty: ok says that no page of m
 * is writable now (every page protected), so the log is exact from here;
 * otherwise it is not kept until the next reset with ok.
 */
void cow__wlog_reset(struct cow__member *m, bool ok)
{
	m->nwlog = 0;
	m->wlog_ok = ok && m->wlog;
}

/* cow__member_join — m (in no family) joins fam. */
void cow__member_join(struct cow__member *m, struct cow__family *fam)
{
	family_add(fam, m);
}

/* cow__member_leave — m leaves its family (freed when it was the last). */
void cow__member_leave(struct cow__member *m)
{
	family_remove(m);
}

/*
 * cow__member_rebirth — exec() for space m: it drops everything it
 * references (or stops aliasing its vfork parent) and becomes a fresh space
 * of x's family that shares x's frames, with a new home range. The caller
 * maps it again (every page write-protected). Returns 0, or -ENOMEM with m
 * unchanged.
 */
int cow__member_rebirth(struct cow__member *m, const struct cow__member *x)
{
	size_t n = m->npages;
	uint64_t *dirty = m->dirty ? m->dirty : bitmap_new(n, true, 0);
	cow__frame home;
	int err;

	if (!dirty)
		return -ENOMEM;
	err = cow__frames_reserve(n, &home);
	if (err) {
		if (dirty != m->dirty)
			bitmap_free(dirty, n);
		return err;
	}
	m->dirty = dirty;	/* a vfork child has none until it execs */

	if (m->alias_of) {
		cow__alias_end(m);
	} else {
		cow__frames_unhome(m->home, n);
		cow__frames_batch(true);
		cow__pt_release(m->pt);
		cow__frames_batch(false);
		family_remove(m);
	}
	m->pt = &m->ptab;
	cow__pt_init(m->pt, n);	/* the node range exists: cannot fail */
	m->home = home;
	cow__member_share(m, x);
	family_add(x->fam, m);
	for (size_t w = 0; w < (n + 63) / 64; w++)
		m->wp[w] = ~0ull;
	cow__wlog_reset(m, true);		/* nothing writable */
	memset(m->dirty, 0xff, wp_bytes(n));	/* new content everywhere */
	m->saved_store = NULL;			/* saved nowhere */
	m->saved_id = 0;
	cow__pages_forget_references(m);	/* and like no snapshot */
	if (!m->serial)
		m->serial = ++serials;
	return 0;
}
