/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mapping.c — how a member's page table becomes a memory mapping, how pages
 * are protected and unprotected, and how the number of mappings stays
 * bounded.
 *
 * A mapped member maps each run of consecutive frames with one mmap of the
 * memfd, so a space at home is one mapping. Every remap of a page onto a
 * frame outside the run splits it; under the mprotect backend, every
 * protection change does too. m->maps counts the runs (the kernel merges
 * neighbours with consecutive file offsets and equal protection, so it is
 * the number of mappings the kernel keeps). When it exceeds the budget, the
 * member is put on the de-fragmentation list and, before the engine lock is
 * released, takes private copies of what it borrows and becomes one mapping
 * again (plus protection runs under uffd, which do not split mappings).
 *
 * What a page holds and whether a write may go through is decided in
 * page.c; this file only carries it out. Lifting a protection
 * (cow__unprotect_range, cow__remap_page(..., false)) is for page.c alone.
 *
 * Everything here runs with the engine lock held, some of it in the fault
 * handler: no malloc.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "internal.h"

static struct cow__member *defrag_list;   /* members over their budget */
static size_t mapped_members;             /* spaces and views that are mapped */
static size_t map_count_limit;            /* half of vm.max_map_count */

static inline char *page_addr(const struct cow__member *m, size_t i)
{
	return m->addr + (i << COW__PAGE_SHIFT);
}

static bool is_space(const struct cow__member *m)
{
	return m->kind == COW__KIND_SPACE;
}

/*
 * Pages protected by their mapping (ro bits, uffd only): a space made by
 * cow_fork or from a snapshot is mapped read-only as a whole, and a freeze
 * makes the 2 MiB units never written read-only, instead of having every
 * page write-protected by userfaultfd — the kernel would install a marker
 * per page that has no page-table entry, O(pages). A write there faults
 * (SIGSEGV) like any protected page; a page moved to another frame is
 * mapped again on its own, a page made writable in place hands its unit
 * to userfaultfd (unprotect_by_mapping); then they follow their wp bits.
 * A page with its ro bit set always has its wp bit set.
 */
static void ro_clear_range(struct cow__member *m, size_t first, size_t n)
{
	if (m->ro)
		cow__bits_fill(m->ro, first, first + n, false);
}

/* 1 if pages i and i+1 of m cannot be in one mapping. */
static size_t boundary(const struct cow__member *m, size_t i)
{
	if (i + 1 >= m->npages)
		return 0;
	if (!cow__frames_follow(cow__frame_at(m, i), cow__frame_at(m, i + 1)))
		return 1;
	if (cow__ro_test(m, i) != cow__ro_test(m, i + 1))
		return 1;
	return is_space(m) && cow__be->prot_splits &&
	       cow__wp_test(m, i) != cow__wp_test(m, i + 1);
}

/* Boundaries around page i: between i-1|i and i|i+1. */
static size_t boundaries_at(const struct cow__member *m, size_t i)
{
	return (i ? boundary(m, i - 1) : 0) + boundary(m, i);
}

/* cow__boundaries_at — the mapping boundaries next to page i of m. */
size_t cow__boundaries_at(const struct cow__member *m, size_t i)
{
	return boundaries_at(m, i);
}

/*
 * The end of the run of pages from i (< end) that one mmap can map: frames
 * consecutive in the memfd, or in one image at consecutive offsets. Image
 * ranges have guard frames no page table holds, so a run of consecutive
 * frame numbers never mixes the two kinds.
 */
static size_t run_end(const struct cow__member *m, size_t i, size_t end)
{
	size_t j = cow__pt_run(m->pt, i, end);

	if (cow__frame_is_image(cow__frame_at(m, i)))
		for (size_t k = i + 1; k < j; k++)
			if (!cow__frames_follow(cow__frame_at(m, k - 1), cow__frame_at(m, k)))
				return k;
	return j;
}

/* How many k in (i, j) have bit k of bitmap b unlike bit k-1. */
static size_t bit_changes(const uint64_t *b, size_t i, size_t j)
{
	size_t n = 0;
	bool v = (b[i >> 6] >> (i & 63)) & 1;

	for (size_t k = i + 1; (k = cow__bits_find(b, k, j, !v)) < j; k++) {
		n++;
		v = !v;
	}
	return n;
}

/* Protection changes inside [i, j) of space m, when they split mappings
 * (mprotect protection, or read-only mappings under uffd). */
static size_t prot_changes(const struct cow__member *m, size_t i, size_t j)
{
	if (!is_space(m))
		return 0;
	if (cow__be->prot_splits)
		return bit_changes(m->wp, i, j);
	return m->ro ? bit_changes(m->ro, i, j) : 0;
}

/*
 * The mapping boundaries of m that touch pages [a, b) (between k and k+1
 * for k in [a - 1, b)), counted a run of frames and a word of protection
 * bits at a time: what a change of [a, b)'s mapping or protection can make
 * or unmake. For one page, boundaries_at.
 */
static size_t boundaries_in(const struct cow__member *m, size_t a, size_t b)
{
	size_t n = a ? boundary(m, a - 1) : 0;

	for (size_t i = a; i < b;) {
		size_t j = run_end(m, i, b);

		n += prot_changes(m, i, j);
		if (j < b)
			n++;	/* the frames of j - 1 and j do not follow */
		i = j;
	}
	return b > a ? n + boundary(m, b - 1) : n;
}

/* cow__maps_count — recount m's mappings from scratch, run by run. */
void cow__maps_count(struct cow__member *m)
{
	size_t n = 0;

	for (size_t i = 0; i < m->npages;) {
		size_t j = run_end(m, i, m->npages);

		n += 1 + prot_changes(m, i, j);
		i = j;
	}
	m->maps = n ? n : 1;
	m->st.maps = m->maps;
}

/*
 * cow__maps_budget — mappings mapped member m may use: one per
 * COW__PAGES_PER_MAP pages (a space made from a checkpoint whose blocks lie
 * in many runs still maps them lazily), at least COW_MAPS_MAX, and never so
 * many that all mapped members together could pass half of
 * vm.max_map_count (the other half is the program's).
 */
size_t cow__maps_budget(const struct cow__member *m)
{
	size_t share, want = m->npages / COW__PAGES_PER_MAP;

	if (!map_count_limit) {
		FILE *f = fopen("/proc/sys/vm/max_map_count", "re");
		unsigned long v = 65530;

		if (f) {
			if (fscanf(f, "%lu", &v) != 1)
				v = 65530;
			fclose(f);
		}
		map_count_limit = v / 2;
	}
	share = map_count_limit / (mapped_members ? mapped_members : 1);
	if (want < COW_MAPS_MAX)
		want = COW_MAPS_MAX;
	if (want > share)
		want = share;
	if (cow__test_maps_budget && want > cow__test_maps_budget)
		want = cow__test_maps_budget;
	return want < 8 ? 8 : want;
}

/* Put m on the de-fragmentation list if it is over its budget. */
static void budget_check(struct cow__member *m)
{
	m->st.maps = m->maps;
	if (m->maps > cow__maps_budget(m) && !m->needs_defrag && !m->alias_of) {
		m->needs_defrag = true;
		m->defrag_next = defrag_list;
		defrag_list = m;
	}
}

/* cow__defrag_forget — take m off the de-fragmentation list (it is going). */
void cow__defrag_forget(struct cow__member *m)
{
	for (struct cow__member **p = &defrag_list; *p; p = &(*p)->defrag_next) {
		if (*p == m) {
			*p = m->defrag_next;
			break;
		}
	}
	m->needs_defrag = false;
}

/*
 * mmap frames [f, f+n) at page i of m with prot: memfd frames from the
 * memfd, image frames read-only from their file. 0 or -errno.
 */
static int map_run(struct cow__member *m, size_t i, size_t n, cow__frame f, int prot)
{
	const struct cow__image *img = cow__image_of(f);
	void *p;

	if (img)
		p = mmap(page_addr(m, i), n << COW__PAGE_SHIFT, PROT_READ,
			 MAP_SHARED | MAP_FIXED, img->fd, cow__image_offset(img, f));
	else
		p = mmap(page_addr(m, i), n << COW__PAGE_SHIFT, prot,
			 MAP_SHARED | MAP_FIXED, cow__frames_fd(),
			 (off_t)f << COW__PAGE_SHIFT);
	if (p == MAP_FAILED)
		return -errno;
	/* A real fork() must not inherit writable views of the frames. */
	if (madvise(p, n << COW__PAGE_SHIFT, MADV_DONTFORK))
		return -errno;
	return 0;
}

/* The protection a page of m is mapped with. */
static int page_prot(const struct cow__member *m, size_t i)
{
	if (!is_space(m) || cow__ro_test(m, i))
		return PROT_READ;
	return cow__wp_test(m, i) ? cow__be->map_prot_protected
				  : PROT_READ | PROT_WRITE;
}

/*
 * The protection all 64 pages of word w of space m are mapped with, or -1
 * when they differ.
 */
static int word_prot(const struct cow__member *m, size_t w)
{
	uint64_t ro = m->ro ? m->ro[w] : 0, wp = m->wp[w];

	if (ro == ~0ull)
		return PROT_READ;
	if (ro)
		return -1;
	if (cow__be->map_prot_protected == (PROT_READ | PROT_WRITE))
		return PROT_READ | PROT_WRITE;	/* protection is not the mapping's */
	if (wp == ~0ull)
		return cow__be->map_prot_protected;
	return wp ? -1 : PROT_READ | PROT_WRITE;
}

/* The end of the run of pages of space m from i (< end) mapped with prot, page i's. */
static size_t prot_run_end(const struct cow__member *m, size_t i, size_t end, int prot)
{
	size_t j = i + 1;

	/* Under uffd only the ro bits change the mapping's protection. */
	if (cow__be->map_prot_protected == (PROT_READ | PROT_WRITE))
		return m->ro ? cow__bits_find(m->ro, j, end, !cow__ro_test(m, i)) : end;

	while (j < end) {
		if (!(j & 63) && j + 64 <= end && word_prot(m, j >> 6) == prot) {
			j += 64;	/* a whole word alike */
			continue;
		}
		if (page_prot(m, j) != prot)
			break;
		j++;
	}
	return j;
}

/*
 * Make a freshly mapped run of memfd frames of space m ready for faults:
 * register it with the backend and, under uffd, write-protect its
 * protected pages (a page-table bit, set after mapping). Image runs are
 * read-only mappings of a file and need neither.
 */
static int arm_run(struct cow__member *m, size_t first, size_t end)
{
	int err;

	if (!is_space(m) || cow__frame_is_image(cow__frame_at(m, first)))
		return 0;
	err = cow__be->attach(page_addr(m, first), (end - first) << COW__PAGE_SHIFT);
	if (err || cow__be->prot_splits)
		return err;
	for (size_t i = first; i < end;) {
		size_t j;

		if (cow__ro_test(m, i)) {	/* protected by the mapping */
			i = cow__bits_find(m->ro, i, end, false);
			continue;
		}
		if (!cow__wp_test(m, i)) {	/* writable */
			i = cow__bits_find(m->wp, i, end, true);
			continue;
		}
		/* Protected pages up to the next writable or read-only one. */
		j = cow__bits_find(m->wp, i, end, false);
		if (m->ro)
			j = cow__bits_find(m->ro, i, j, true);
		err = cow__be->protect(page_addr(m, i), (j - i) << COW__PAGE_SHIFT);
		if (err)
			return err;
		i = j;
	}
	return 0;
}

/*
 * Map pages [i, j) of m, one run of frames, with prot, ready for faults.
 * Under uffd a protected page is mapped writable and then write-protected
 * by userfaultfd; in between, another thread's write would go through, into
 * a frame that may be shared (the copy never made, the write never marked).
 * So such a run is mapped read-only first (a write then faults and waits
 * for the engine lock), protected, and only then made writable. 0 or -errno.
 */
void (*cow__test_mapped_hook)(void *addr, size_t len);
size_t cow__test_maps_budget;

static int map_armed(struct cow__member *m, size_t i, size_t j, int prot)
{
	bool guard = prot != PROT_READ && is_space(m) &&
		     cow__bits_find(m->wp, i, j, true) < j &&
		     !cow__frame_is_image(cow__frame_at(m, i));
	int err = map_run(m, i, j - i, cow__frame_at(m, i), guard ? PROT_READ : prot);

	if (!err && cow__test_mapped_hook)
		cow__test_mapped_hook(page_addr(m, i), (j - i) << COW__PAGE_SHIFT);
	if (!err)
		err = arm_run(m, i, j);
	if (!err && guard &&
	    mprotect(page_addr(m, i), (j - i) << COW__PAGE_SHIFT, prot))
		err = -errno;
	return err;
}

/* Map pages [first, first+n) of m as its page table and bits say, run by run. */
static int map_pages(struct cow__member *m, size_t first, size_t n)
{
	size_t i = first, end = first + n;
	int err;

	size_t frames_end = first;	/* end of the run of frames i is in */
	bool prot_varies = is_space(m) && (cow__be->prot_splits || m->ro);

	while (i < end) {
		int prot = page_prot(m, i);
		size_t j;

		/* Each page is looked at once (whole words of alike pages at a
		 * time): a run of frames is found once, and cut where the
		 * protection changes. */
		if (i >= frames_end)
			frames_end = run_end(m, i, end);
		j = prot_varies ? prot_run_end(m, i, frames_end, prot) : frames_end;
		if ((err = map_armed(m, i, j, prot)))
			return err;
		i = j;
	}
	return 0;
}

/*
 * cow__map_range — map pages [first, first+n) of m again as its page table
 * says; the pages follow their wp bits (a read-only mapping's protection
 * is replaced). 0 or -errno.
 */
int cow__map_range(struct cow__member *m, size_t first, size_t n)
{
	ro_clear_range(m, first, n);
	return map_pages(m, first, n);
}

/*
 * cow__map_member — give unmapped member m a mapping of its page table:
 * writable spaces are registered for fault handling, snapshots get a
 * read-only view. With protect_all, every page of a space starts
 * write-protected. Returns 0 or -errno (ENOMEM: no address space).
 */
int cow__map_member(struct cow__member *m, bool protect_all)
{
	size_t len = m->npages << COW__PAGE_SHIFT;
	size_t bytes = ((m->npages + 63) / 64) * sizeof(uint64_t);
	void *p = mmap(NULL, len, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	int err;

	if (p == MAP_FAILED)
		return -errno;
	m->addr = p;
	if (is_space(m)) {
		memset(m->wp, protect_all ? 0xff : 0, bytes);
		cow__wlog_reset(m, protect_all);
	}
	/* Under uffd, a protected space is mapped read-only: O(1). */
	if (m->ro)
		memset(m->ro, protect_all && !cow__be->prot_splits ? 0xff : 0, bytes);
	/* Counts m's mappings as they will be, once: map_pages changes no bit
	 * and no frame. */
	err = cow__fit_budget(m);
	if (!err)
		err = map_pages(m, 0, m->npages);
	if (!err && is_space(m))
		err = cow__registry_add(m);
	if (err) {
		munmap(p, len);
		m->addr = NULL;
		return err;
	}
	mapped_members++;
	budget_check(m);
	return 0;
}

/* cow__unmap_member — remove m's mapping (if any). */
void cow__unmap_member(struct cow__member *m)
{
	if (!m->addr)
		return;
	if (is_space(m))
		cow__registry_remove(m);
	munmap(m->addr, m->npages << COW__PAGE_SHIFT);
	m->addr = NULL;
	mapped_members--;
	if (m->needs_defrag)
		cow__defrag_forget(m);
}

/*
 * cow__remap_begin, cow__remap_end — around a change of page i's entry in
 * m's page table (possibly through a leaf m shares with others): begin
 * before (m's mapping count forgets the page's boundaries), end after (the
 * page is write-protected or not, for a space, and mapped onto its new
 * frame). Unmapped members need neither. end returns 0 or -errno from the
 * kernel.
 */
void cow__remap_begin(struct cow__member *m, size_t i)
{
	if (m->addr)
		m->maps -= boundaries_at(m, i);
}

int cow__remap_end(struct cow__member *m, size_t i, bool protect)
{
	int err;

	if (!m->addr)
		return 0;
	if (is_space(m))
		cow__wp_set(m, i, protect);
	ro_clear_range(m, i, 1);	/* its own mapping now: it follows wp */
	m->maps += boundaries_at(m, i);
	err = map_pages(m, i, 1);
	budget_check(m);
	return err;
}

/*
 * cow__remap_page — page i of m, whose path m owns (cow__pt_own), now
 * points at frame f (the caller has moved the references), write-protected
 * or not (for a space). If m is mapped, page i is remapped onto f. Returns
 * 0 or -errno from the kernel.
 */
int cow__remap_page(struct cow__member *m, size_t i, cow__frame f, bool protect)
{
	cow__remap_begin(m, i);
	cow__pt_set(m->pt, i, f);
	return cow__remap_end(m, i, protect);
}

/*
 * Pages a read-only mapping protects or releases at a time: what one page
 * of the MMU's page tables maps (2 MiB), so that a stretch handed to
 * userfaultfd costs one page table of markers (the kernel aligns large
 * mappings, a space's among them, to 2 MiB).
 */
#define RO_UNIT 512u

/*
 * Is there room in m's budget for a read-only mapping cut out of its
 * mappings (two boundaries more)? Half the budget is kept for what the
 * page table itself needs, so that protecting by mapping never makes a
 * de-fragmentation, which would map every page by its wp bit again.
 */
static bool ro_room(const struct cow__member *m)
{
	return m->ro && !cow__be->prot_splits && m->maps + 2 <= cow__maps_budget(m) / 2;
}

/*
 * Pages [r, s) of space m, one run of memfd frames protected by a
 * read-only mapping (page i among them may have been made writable
 * already), leave it: each protected one is write-protected by userfaultfd
 * (the mapping is registered already), then the mapping is made writable.
 * A writer meanwhile faults on the read-only mapping and waits for the
 * engine lock, as for any protected page. 0 or -errno.
 */
static int ro_run_release(struct cow__member *m, size_t r, size_t s)
{
	for (size_t p = r; p < s;) {
		size_t q;
		int err;

		p = cow__bits_find(m->wp, p, s, true);
		q = cow__bits_find(m->wp, p, s, false);
		if (p < s && (err = cow__be->protect(page_addr(m, p), (q - p) << COW__PAGE_SHIFT)))
			return err;
		p = q;
	}
	if (cow__test_mapped_hook)
		cow__test_mapped_hook(page_addr(m, r), (s - r) << COW__PAGE_SHIFT);
	if (mprotect(page_addr(m, r), (s - r) << COW__PAGE_SHIFT, PROT_READ | PROT_WRITE))
		return -errno;
	return 0;
}

/*
 * Page i of space m, protected by a read-only mapping, becomes writable in
 * place (its frame is m's alone: a reuse). The RO_UNIT pages (2 MiB)
 * around it leave read-only mapping together, their protected pages
 * write-protected by userfaultfd instead (the cost the read-only mapping
 * had deferred, for these pages only); nothing is mapped again, so no
 * page-table entry is lost. Page by page, the mapping would split at every
 * write; 2 MiB at a time, a space written all over becomes one mapping
 * again as neighbouring stretches merge. Without room in the budget, all
 * of m leaves read-only mapping at once. Image pages are read-only
 * mappings of their file whatever their bit says. 0 or -errno.
 */
static int unprotect_by_mapping(struct cow__member *m, size_t i)
{
	size_t a = i & ~(size_t)(RO_UNIT - 1);
	size_t b = m->npages - a > RO_UNIT ? a + RO_UNIT : m->npages;
	int err = 0;

	cow__wp_set(m, i, false);
	if (!ro_room(m)) {
		a = 0;
		b = m->npages;
	}
	m->maps -= boundaries_in(m, a, b);
	for (size_t p = cow__bits_find(m->ro, a, b, true); p < b && !err;) {
		size_t q = cow__bits_find(m->ro, p, b, false), e = run_end(m, p, q);

		if (!cow__frame_is_image(cow__frame_at(m, p)))
			err = ro_run_release(m, p, e);
		if (!err)
			ro_clear_range(m, p, e - p);
		p = cow__bits_find(m->ro, e, b, true);
	}
	if (err && cow__ro_test(m, i))
		cow__wp_set(m, i, true);	/* still protected by its mapping */
	m->maps += boundaries_in(m, a, b);
	budget_check(m);
	return err;
}

/*
 * The first stretch [*h, *e) of whole units (RO_UNIT pages, aligned)
 * within pages [i, j) of space m whose frames are consecutive holes of the
 * memfd — never written, so that the mapping has no page there (*h = *e =
 * j if none). A unit that is not one run of frames costs no syscall; the
 * holes up to the next page of data are found with one lseek, so the
 * search costs in proportion to the units, and to those that hold data,
 * not to the pages.
 */
static void find_holes(const struct cow__member *m, size_t i, size_t j, size_t *h, size_t *e)
{
	size_t jd = j & ~(size_t)(RO_UNIT - 1);

	for (size_t u = (i + RO_UNIT - 1) & ~(size_t)(RO_UNIT - 1); u < jd; u += RO_UNIT) {
		size_t d, run;

		if (cow__pt_run(m->pt, u, u + RO_UNIT) < u + RO_UNIT)
			continue;	/* not one run of frames */
		d = cow__frames_data_at(cow__frame_at(m, u), jd - u) & ~(size_t)(RO_UNIT - 1);
		if (!d)
			continue;	/* this unit holds data */
		run = (cow__pt_run(m->pt, u, u + d) - u) & ~(size_t)(RO_UNIT - 1);
		*h = u;
		*e = u + run;
		return;
	}
	*h = *e = j;
}

/*
 * Write-protect pages [h, e) of space m (whole units of holes, their wp
 * bits set) with a read-only mapping: no page-table entry is there to
 * protect, and userfaultfd would install a marker in every one of them
 * (page tables for 64 GiB: 128 MiB of kernel memory, 0.2 to 0.3 s to make
 * and as long to free), where mprotect costs the same for 4 KiB or 64 GiB.
 * A write there faults (SIGSEGV) and unprotect_by_mapping hands its 2 MiB
 * over to userfaultfd. 0 or -errno from the kernel.
 */
static int protect_by_mapping(struct cow__member *m, size_t h, size_t e)
{
	int err = 0;

	m->maps -= boundaries_in(m, h, e);
	cow__bits_fill(m->ro, h, e, true);
	if (mprotect(page_addr(m, h), (e - h) << COW__PAGE_SHIFT, PROT_READ))
		err = -errno;
	if (err)		/* no new mapping (ENOMEM): userfaultfd instead */
		ro_clear_range(m, h, e - h);
	m->maps += boundaries_in(m, h, e);
	budget_check(m);
	return err ? cow__be->protect(page_addr(m, h), (e - h) << COW__PAGE_SHIFT) : 0;
}

/*
 * Write-protect pages [i, j) of space m, one run of memfd frames whose wp
 * bits are set already: with the backend's call, except for stretches of
 * whole units of holes, which a read-only mapping protects at no cost per
 * page (uffd, with room in the budget). 0 or -errno.
 */
static int protect_pages(struct cow__member *m, size_t i, size_t j)
{
	while (i < j) {
		size_t h = j, e = j;
		int err = 0;

		if (ro_room(m) && j - i >= RO_UNIT)
			find_holes(m, i, j, &h, &e);
		if (h > i)
			err = cow__be->protect(page_addr(m, i), (h - i) << COW__PAGE_SHIFT);
		if (!err && e > h)
			err = protect_by_mapping(m, h, e);
		if (err)
			return err;
		i = e;
	}
	return 0;
}

/*
 * From page i of m (not yet as on, not an image page), the end of the pages
 * whose protection one call changes to on, before end: as far as their wp
 * bits are not on yet and they are not image pages; their bits are set. A
 * run of consecutive frames is all image or all memfd (image ranges have
 * guard frames), so the image test is made once per run of frames.
 */
static size_t to_change(struct cow__member *m, size_t i, size_t end, bool on)
{
	size_t j = i;

	while (j < end) {
		size_t r = cow__pt_run(m->pt, j, end), k;

		if (j > i && cow__frame_is_image(cow__frame_at(m, j)))
			break;	/* the next run of frames is an image's */
		k = cow__bits_find(m->wp, j, r, on);
		cow__bits_fill(m->wp, j, k, on);
		if (!on)
			cow__wlog_note(m, j, k - j);
		j = k;
		if (k < r)
			break;
	}
	return j;
}

/* Set protection of pages [first, first+n) of space m to on, run by run. */
static int set_protection(struct cow__member *m, size_t first, size_t n, bool on)
{
	size_t end = first + n;
	int err;

	/* Pages protected by their mapping leave it, 2 MiB at a time. */
	for (size_t i = first; !on && m->ro && i < end; i++) {
		i = cow__bits_find(m->ro, i, end, true);
		if (i < end && !cow__frame_is_image(cow__frame_at(m, i)) &&
		    (err = unprotect_by_mapping(m, i)))
			return err;
	}
	if (cow__be->prot_splits)
		m->maps -= boundaries_in(m, first, end);
	for (size_t i = first; i < end;) {
		size_t j;

		/* Image pages are read-only mappings: always protected. */
		if (cow__wp_test(m, i) == on || cow__frame_is_image(cow__frame_at(m, i))) {
			i++;
			continue;
		}
		j = to_change(m, i, end, on);
		err = on ? protect_pages(m, i, j)
			 : cow__be->unprotect(page_addr(m, i), (j - i) << COW__PAGE_SHIFT);
		if (err)
			return err;
		i = j;
	}
	if (cow__be->prot_splits) {
		m->maps += boundaries_in(m, first, end);
		budget_check(m);
	}
	return 0;
}

/* cow__protect_range — write-protect pages [first, first+n) of space m. */
int cow__protect_range(struct cow__member *m, size_t first, size_t n)
{
	return set_protection(m, first, n, true);
}

/* cow__unprotect_range — make pages [first, first+n) of space m writable. */
int cow__unprotect_range(struct cow__member *m, size_t first, size_t n)
{
	return set_protection(m, first, n, false);
}

/* Writable pages of word w of m's protection bitmap (bits past the end off). */
static uint64_t writable_word(const struct cow__member *m, size_t w)
{
	uint64_t bits = ~m->wp[w];
	size_t tail = m->npages & 63;

	if (w == m->npages / 64 && tail)
		bits &= (1ull << tail) - 1;
	return bits;
}

/*
 * Call fn(m, first, n) for each run of writable pages of space m, at most
 * max_runs times; the bitmap is scanned a word (64 pages) at a time, so the
 * cost follows the writable pages, not the space. Returns the number of
 * runs found (more than max_runs: there are more), or -errno from fn.
 */
static long writable_runs(struct cow__member *m, long max_runs,
			  int (*fn)(struct cow__member *, size_t, size_t))
{
	size_t words = (m->npages + 63) / 64, start = 0;
	long runs = 0;
	bool open = false;

	for (size_t w = 0; w < words; w++) {
		uint64_t bits = writable_word(m, w);

		if (!open && !bits)
			continue;
		if (open && bits == ~0ull)
			continue;
		for (unsigned b = 0; b < 64; b++) {
			bool wr = (bits >> b) & 1;
			size_t i = w * 64 + b;

			if (wr && !open) {
				open = true;
				start = i;
			} else if (!wr && open) {
				open = false;
				if (++runs > max_runs)
					return runs;
				if (fn) {
					int err = fn(m, start, i - start);

					if (err)
						return err;
				}
			}
		}
	}
	if (open && ++runs <= max_runs && fn) {
		int err = fn(m, start, m->npages - start);

		if (err)
			return err;
	}
	return runs;
}

/* Runs protected one call each; past this, one call covers the space. */
#define PROTECT_RUNS_MAX 4096

/* The runs one look at the bitmap found (engine lock held). */
static struct {
	size_t first, n;
} found[PROTECT_RUNS_MAX];
static size_t nfound;

static int note_run(struct cow__member *m, size_t first, size_t n)
{
	(void)m;
	found[nfound].first = first;
	found[nfound++].n = n;
	return 0;
}

/*
 * Write-protect all of space m with one call; uffd refuses it (ENOENT) when
 * the range holds read-only image mappings, which are not registered: then
 * run by run. Afterwards no page is writable. 0 or -errno.
 */
static int protect_whole(struct cow__member *m)
{
	int err = cow__be->protect(m->addr, m->npages << COW__PAGE_SHIFT);

	if (err == -ENOENT || err == -EINVAL)
		err = cow__protect_range(m, 0, m->npages);
	else if (!err) {
		for (size_t w = 0; w < (m->npages + 63) / 64; w++)
			m->wp[w] = ~0ull;
		cow__maps_count(m);
	}
	if (!err)
		cow__wlog_reset(m, true);
	return err;
}

/*
 * Protect the pages of m's writable log (it holds every writable page): each
 * run of writable pages around a logged one with one call, so consecutive
 * writes still cost one call. Costs in proportion to the pages written,
 * whatever the size of the space. 0 or -errno (the log is kept then).
 */
static int protect_logged(struct cow__member *m)
{
	for (uint32_t k = 0; k < m->nwlog; k++) {
		size_t i = m->wlog[k], j = i + 1;
		int err;

		if (cow__wp_test(m, i))
			continue;	/* protected already, with a neighbour's run */
		while (i > 0 && !cow__wp_test(m, i - 1))
			i--;
		while (j < m->npages && !cow__wp_test(m, j))
			j++;
		if ((err = cow__protect_range(m, i, j - i)))
			return err;
	}
	cow__wlog_reset(m, true);
	return 0;
}

/*
 * cow__protect_writable — write-protect every page of space m, so that its
 * frames can be shared. Costs in proportion to the writable pages: from the
 * writable log while it holds them all, else from one look at the bitmap;
 * each run of them is protected with one call; only when they lie in very
 * many runs is one call over the whole range cheaper. 0 or -errno.
 */
int cow__protect_writable(struct cow__member *m)
{
	long runs;
	int err;

	if (m->wlog_ok)
		return protect_logged(m);
	/* One look at the bitmap: the runs, or that there are too many. */
	nfound = 0;
	runs = writable_runs(m, PROTECT_RUNS_MAX, note_run);
	if (runs <= PROTECT_RUNS_MAX) {
		for (long k = 0; k < runs; k++)
			if ((err = cow__protect_range(m, found[k].first, found[k].n)))
				return err;
		cow__wlog_reset(m, true);
		return 0;
	}
	return protect_whole(m);
}

/*
 * Take private copies of every page m borrows (page.c): afterwards each
 * page of m is in its own home range. The pages keep their protection, so
 * the next write to one is still seen. Adds the pages copied to *copies.
 * 0 or -errno.
 */
static int take_home(struct cow__member *m, uint64_t *copies)
{
	for (size_t i = 0; i < m->npages;) {
		size_t n = 0;
		int err;

		/* A run ends at a leaf's end: cow__pages_take_home's unit. */
		while (n < COW__TAKE_RUN && i + n < m->npages &&
		       (n == 0 || ((i + n) & (COW__PT_FAN - 1))) &&
		       cow__frame_at(m, i + n) != cow__home(m, i + n))
			n++;
		if (!n) {
			i++;
			continue;
		}
		if ((err = cow__pages_take_home(m, i, n)))
			return err;
		*copies += n;
		i += n;
	}
	return 0;
}

/*
 * cow__map_whole — map all of m again as its page table says, after frames
 * moved under it (de-fragmentation, exec). If the kernel refuses, m's
 * mapping would still show frames it no longer references (which may be
 * freed and become someone else's): it is replaced by inaccessible memory
 * instead, and m leaves the fault registry, so any access raises SIGSEGV
 * (the program's to handle or die of) — never another member's data.
 * 0 or -errno.
 */
int cow__map_whole(struct cow__member *m)
{
	int err = cow__map_range(m, 0, m->npages);
	void *p;

	if (!err)
		return 0;
	p = mmap(m->addr, m->npages << COW__PAGE_SHIFT, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		cow__die("cannot take a mapping off frames that moved", -errno);
	if (is_space(m))
		cow__registry_remove(m);
	return err;
}

/* De-fragment m: one mapping of its home range. 0 or -errno. */
static int defrag(struct cow__member *m)
{
	uint64_t copies = 0;
	int err = take_home(m, &copies), e = 0;

	/*
	 * What moved must be remapped, error or not. A space under mprotect
	 * whose pages were all at home already is split by protection only:
	 * protecting every page (below) joins its mappings again, and a remap
	 * would drop every page-table entry of the space (a fault per page
	 * afterwards: 512 writes spread over 64 MiB cost 33 us each with it).
	 */
	if (copies || !is_space(m) || !cow__be->prot_splits)
		e = cow__map_whole(m);
	if (!err)
		err = e;
	/*
	 * Under mprotect, protection runs split mappings too: protect every
	 * page, with one call (frames at home are consecutive, so that is one
	 * mapping). Pages that were writable are marked written already; their
	 * next write faults and reuses the frame.
	 */
	if (!err && is_space(m) && cow__be->prot_splits)
		err = protect_whole(m);
	if (!err && m->vfork_child)
		err = cow__alias_refresh(m->vfork_child);
	cow__maps_count(m);
	m->st.defrags++;
	m->st.defrag_copies += copies;
	return err;
}

/*
 * cow__fit_budget — before member m is (re)mapped as its page table says:
 * if that would take more mappings than its budget (a space made from a
 * checkpoint whose blocks are scattered all over the file), take private
 * copies first, so that mapping it never runs into vm.max_map_count.
 * Either way m->maps is counted for m's bits and page table as they are
 * then (a vfork child is never de-fragmented: it maps its parent's frames
 * as they are). 0 or -errno.
 */
int cow__fit_budget(struct cow__member *m)
{
	uint64_t copies = 0;
	int err;

	cow__maps_count(m);
	if (m->alias_of)
		return 0;
	if (m->maps <= cow__maps_budget(m))
		return 0;
	err = take_home(m, &copies);
	m->st.defrags++;
	m->st.defrag_copies += copies;
	cow__maps_count(m);
	return err;
}

/*
 * cow__defrag_pending — de-fragment every member over its budget. Called
 * before the engine lock is released. De-fragmenting one member can push
 * another over (its sharers are remapped), so it loops until none is left;
 * each round makes frames exclusive, so it ends. Returns 0 or -errno.
 */
int cow__defrag_pending(void)
{
	int err = 0;

	while (defrag_list) {
		struct cow__member *m = defrag_list;

		defrag_list = m->defrag_next;
		m->needs_defrag = false;
		if (m->addr && m->maps > cow__maps_budget(m)) {
			int e = defrag(m);

			if (e && !err)
				err = e;
		}
	}
	return err;
}

/* In a fork() child: nothing is mapped. */
static void mapping_reset(void)
{
	defrag_list = NULL;
	mapped_members = 0;
}
COW__AT_FORK_CHILD(mapping_reset)
