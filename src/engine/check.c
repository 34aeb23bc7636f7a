/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check.c — the engine's invariants, checked from scratch. For tests and
 * debugging: slow (it visits every page of every member).
 *
 *   1. Each frame's count equals the number of page-table leaves that hold
 *      it; each page-table node's count, the page tables and inner nodes
 *      that point at it.
 *   2. A page of a mapped space whose frame is shared, or a page of an image
 *      file, is write-protected.
 *   3. A member's home frame that it does not use is used by no one either.
 *   4. The mapping count of a mapped member is its number of runs.
 *   5. A page of a space that is not write-protected is marked written since
 *      the freeze of the space's last save (a vfork child's, in its
 *      parent): so an incremental save can never miss a write.
 *   6. A space's pages not marked changed since its reference snapshot (the
 *      one it was last taken as, restored to or made from) hold that
 *      snapshot's content: so a restore that visits only the changed pages
 *      is exact.
 *   7. The MMU agrees: every page libcow counts as write-protected is
 *      write-protected in the kernel (uffd: the page's uffd-wp bit in
 *      /proc/self/pagemap, or, for a page protected by a read-only mapping,
 *      that mapping; mprotect: its mapping in /proc/self/maps has no write
 *      permission).
 *   8. The lists agree with the bits: while a space keeps its writable log,
 *      every writable page is in it; while a reference keeps its list, the
 *      list holds each page marked changed against it, once (so a protect
 *      or a restore that follows the lists misses nothing).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "internal.h"

static int bad(char *msg, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (msg && len) {
		va_start(ap, fmt);
		vsnprintf(msg, len, fmt, ap);
		va_end(ap);
	}
	return -EBADMSG;
}

static bool written(const struct cow__member *m, size_t i)
{
	const struct cow__member *o = m->alias_of ? m->alias_of : m;

	return !o->dirty || ((o->dirty[i >> 6] >> (i & 63)) & 1);
}

/* 7, under uffd: the uffd-wp bit (57) of each protected page's pagemap entry. */
static int check_mmu_uffd(const struct cow__member *m, char *msg, size_t len)
{
	uint64_t *pm = malloc(m->npages * sizeof *pm);
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC), err = 0;
	off_t off = (off_t)((uintptr_t)m->addr >> COW__PAGE_SHIFT) * 8;

	if (!pm || fd < 0 || pread(fd, pm, m->npages * 8, off) != (ssize_t)(m->npages * 8))
		err = 0;	/* cannot see: nothing to say */
	else
		for (size_t i = 0; i < m->npages && !err; i++)
			if (cow__wp_test(m, i) && !cow__frame_is_image(cow__frame_at(m, i)) &&
			    !cow__ro_test(m, i) && !((pm[i] >> 57) & 1))
				err = bad(msg, len, "page %zu: protected for libcow, writable in the MMU", i);
	if (fd >= 0)
		close(fd);
	free(pm);
	return err;
}

/* 7, under mprotect (and under uffd for the pages protected by their
 * mapping): no writable mapping over such a page. */
static int check_mmu_maps(const struct cow__member *m, char *msg, size_t len,
			  bool (*by_mapping)(const struct cow__member *, size_t))
{
	FILE *f = fopen("/proc/self/maps", "re");
	uintptr_t lo = (uintptr_t)m->addr, hi = lo + (m->npages << COW__PAGE_SHIFT);
	char line[512];
	int err = 0;

	if (!f)
		return 0;
	while (!err && fgets(line, sizeof line, f)) {
		unsigned long a, b;
		char perms[8];

		if (sscanf(line, "%lx-%lx %7s", &a, &b, perms) != 3 || perms[1] != 'w' ||
		    b <= lo || a >= hi)
			continue;
		for (uintptr_t p = a < lo ? lo : a; p < b && p < hi && !err; p += COW__PAGE) {
			size_t i = (p - lo) >> COW__PAGE_SHIFT;

			if (by_mapping(m, i))
				err = bad(msg, len, "page %zu: protected for libcow, writable in the MMU", i);
		}
	}
	fclose(f);
	return err;
}

static bool wp_page(const struct cow__member *m, size_t i)
{
	return cow__wp_test(m, i);
}

static bool ro_page(const struct cow__member *m, size_t i)
{
	return cow__ro_test(m, i);
}

/* 6: pages of m not marked changed equal its reference snapshot's. */
static int check_reference(const struct cow__member *m, char *msg, size_t len)
{
	char *a = malloc(COW__PAGE), *b = malloc(COW__PAGE);
	int err = 0;

	for (const struct cow__member *x = m->fam->head; x && a && b && !err; x = x->fam_next) {
		const uint64_t *changed = x->kind == COW__KIND_SNAP ?
					  cow__pages_changed_since(m, x) : NULL;

		for (size_t i = 0; changed && i < m->npages && !err; i++) {
			cow__frame g = cow__frame_at(x, i);

			if (((changed[i >> 6] >> (i & 63)) & 1) || cow__frame_at(m, i) == g ||
			    g == COW__NO_FRAME)
				continue;
			if (cow__read_pages(m, i, 1, a) || cow__read_pages(x, i, 1, b))
				continue;
			if (memcmp(a, b, COW__PAGE))
				err = bad(msg, len, "page %zu: not marked changed, differs from a reference snapshot", i);
		}
	}
	free(a);
	free(b);
	return err;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Is page i among the sorted n entries of s? */
static bool listed(const uint64_t *s, size_t n, size_t i)
{
	uint64_t key = i;

	return bsearch(&key, s, n, sizeof *s, cmp_u64) != NULL;
}

/* 8: m's writable log and its references' lists against the bits. */
static int check_lists(const struct cow__member *m, char *msg, size_t len)
{
	static uint64_t sorted[COW__LOG_MAX];	/* under the engine lock */

	if (m->wlog_ok) {
		memcpy(sorted, m->wlog, m->nwlog * sizeof *sorted);
		qsort(sorted, m->nwlog, sizeof *sorted, cmp_u64);
		for (size_t i = 0; i < m->npages; i++)
			if (!cow__wp_test(m, i) && !listed(sorted, m->nwlog, i))
				return bad(msg, len, "page %zu: writable, not in the writable log", i);
	}
	for (unsigned r = 0; r < COW__REFS; r++) {
		const struct cow__space_ref *ref = &m->refs[r];
		size_t marked = 0;

		if (!ref->serial || !ref->listed)
			continue;
		memcpy(sorted, ref->list, ref->nlist * sizeof *sorted);
		qsort(sorted, ref->nlist, sizeof *sorted, cmp_u64);
		for (uint32_t k = 1; k < ref->nlist; k++)
			if (sorted[k] == sorted[k - 1])
				return bad(msg, len, "page %llu: listed twice as changed",
					   (unsigned long long)sorted[k]);
		for (size_t i = 0; i < m->npages; i++) {
			if (!((ref->changed[i >> 6] >> (i & 63)) & 1))
				continue;
			marked++;
			if (!listed(sorted, ref->nlist, i))
				return bad(msg, len, "page %zu: marked changed, not listed", i);
		}
		if (marked != ref->nlist)
			return bad(msg, len, "%u pages listed as changed, %zu marked",
				   ref->nlist, marked);
	}
	return 0;
}

/* Invariants 5 to 8 for mapped space m. */
static int check_space_pages(const struct cow__member *m, char *msg, size_t len)
{
	for (size_t i = 0; i < m->npages; i++) {
		if (!cow__wp_test(m, i) && !written(m, i))
			return bad(msg, len, "page %zu: writable but not marked written", i);
		if (cow__ro_test(m, i) && !cow__wp_test(m, i))
			return bad(msg, len, "page %zu: mapped read-only but not protected", i);
	}
	if (!m->alias_of && (check_reference(m, msg, len) || check_lists(m, msg, len)))
		return -EBADMSG;
	if (cow__be->prot_splits)
		return check_mmu_maps(m, msg, len, wp_page);
	return check_mmu_uffd(m, msg, len) ? -EBADMSG : check_mmu_maps(m, msg, len, ro_page);
}

static int check_member(const struct cow__member *m, const uint32_t *counted,
			char *msg, size_t len)
{
	size_t maps = m->maps;
	uint64_t shared = 0;

	for (size_t i = 0; i < m->npages; i++) {
		cow__frame f = cow__frame_at(m, i), h = m->home == COW__NO_FRAME ? f : cow__home(m, i);

		if (f == COW__NO_FRAME)
			continue;
		shared += cow__page_shared(m, i);

		if (cow__frame_ref(f) != counted[f])
			return bad(msg, len, "frame %u: count %u, referenced %u times",
				   f, cow__frame_ref(f), counted[f]);
		if (m->kind == COW__KIND_SPACE && m->addr && cow__page_shared(m, i) &&
		    !cow__wp_test(m, i))
			return bad(msg, len, "page %zu: shared frame %u is writable", i, f);
		if (m->kind == COW__KIND_SPACE && m->addr && cow__frame_is_image(f) &&
		    !cow__wp_test(m, i))
			return bad(msg, len, "page %zu: image frame %u is writable", i, f);
		if (f != h && counted[h])
			return bad(msg, len, "page %zu: borrowed, but home frame %u is used", i, h);
	}
	if (cow__pt_shared_pages(m->pt, m->npages) != shared)
		return bad(msg, len, "%llu pages shared, counted by leaves as %llu",
			   (unsigned long long)shared,
			   (unsigned long long)cow__pt_shared_pages(m->pt, m->npages));
	if (m->kind == COW__KIND_SPACE && m->addr) {
		int err = check_space_pages(m, msg, len);

		if (err)
			return err;
	}
	if (m->addr) {
		cow__maps_count((struct cow__member *)m);
		if (m->maps != maps)
			return bad(msg, len, "mapping count %zu, recounted %zu", maps, m->maps);
	}
	return 0;
}

int cow__check(char *msg, size_t len)
{
	struct cow__pt_census *census;
	uint64_t span;
	uint32_t *counted;
	int err = 0;

	if (cow__ensure_init())
		return -errno;
	cow__engine_lock();
	span = cow__frames_span();
	counted = calloc(span ? span : 1, sizeof *counted);
	census = cow__pt_census_new();
	if (!counted || !census) {
		cow__engine_unlock();
		free(counted);
		if (census)
			cow__pt_census_check(census, NULL, 0, bad);
		return -ENOMEM;
	}
	for (struct cow__family *fam = cow__families(); fam; fam = fam->next)
		for (struct cow__member *m = fam->head; m; m = m->fam_next)
			cow__pt_census_add(census, m->pt, counted);
	err = cow__pt_census_check(census, msg, len, bad);
	if (!err)
		err = cow__frames_check(msg, len, bad);
	for (struct cow__family *fam = cow__families(); fam && !err; fam = fam->next)
		for (struct cow__member *m = fam->head; m && !err; m = m->fam_next)
		{
			err = check_member(m, counted, msg, len);
			if (!err && m->vfork_child && m->vfork_child->addr)
				err = check_space_pages(m->vfork_child, msg, len);
		}
	cow__engine_unlock();
	free(counted);
	return err;
}
