/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check.c — the engine's invariants, checked from scratch. For tests and
 * debugging: slow (it visits every page of every member).
 *
 *   1. Each frame's count equals the number of page-table entries that hold it.
 *   2. A page of a mapped space whose frame is shared, or a page of an image
 *      file, is write-protected.
 *   3. A member's home frame that it does not use is used by no one either.
 *   4. The mapping count of a mapped member is its number of runs.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

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

static int check_member(const struct cow__member *m, const uint32_t *counted,
			char *msg, size_t len)
{
	size_t maps = m->maps;

	for (size_t i = 0; i < m->npages; i++) {
		cow__frame f = m->pt[i], h = cow__home(m, i);

		if (f == COW__NO_FRAME)
			continue;

		if (cow__frame_ref(f) != counted[f])
			return bad(msg, len, "frame %u: count %u, referenced %u times",
				   f, cow__frame_ref(f), counted[f]);
		if (m->kind == COW__KIND_SPACE && m->addr && cow__frame_ref(f) > 1 &&
		    !cow__wp_test(m, i))
			return bad(msg, len, "page %zu: shared frame %u is writable", i, f);
		if (m->kind == COW__KIND_SPACE && m->addr && cow__frame_is_image(f) &&
		    !cow__wp_test(m, i))
			return bad(msg, len, "page %zu: image frame %u is writable", i, f);
		if (f != h && counted[h])
			return bad(msg, len, "page %zu: borrowed, but home frame %u is used", i, h);
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
	uint64_t span;
	uint32_t *counted;
	int err = 0;

	if (cow__ensure_init())
		return -errno;
	cow__engine_lock();
	span = cow__frames_span();
	counted = calloc(span ? span : 1, sizeof *counted);
	if (!counted) {
		cow__engine_unlock();
		return -ENOMEM;
	}
	for (struct cow__family *fam = cow__families(); fam; fam = fam->next)
		for (struct cow__member *m = fam->head; m; m = m->fam_next)
			for (size_t i = 0; i < m->npages; i++)
				if (m->pt[i] != COW__NO_FRAME)	/* a save's written page */
					counted[m->pt[i]]++;
	for (struct cow__family *fam = cow__families(); fam && !err; fam = fam->next)
		for (struct cow__member *m = fam->head; m && !err; m = m->fam_next)
			err = check_member(m, counted, msg, len);
	cow__engine_unlock();
	free(counted);
	return err;
}
