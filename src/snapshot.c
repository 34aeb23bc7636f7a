/*
 * snapshot.c — snapshots: frozen, read-only members that share frames with
 * the space they were taken from. Taking one, reading it, mapping it,
 * restoring a space to it (exec), making a space from it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#define SNAP(p) (&(p)->m)

/* Pages copied per lock hold by cow_snap_read: bounds how long writers wait. */
#define READ_BATCH_PAGES 64

static void *fail(int err)
{
	errno = -err;
	return NULL;
}

/* A new snapshot in src's family sharing all of src's frames. Lock held. */
static cow_snap *snap_share(const struct cow__member *src)
{
	struct cow__member *x = cow__member_new(COW__KIND_SNAP, src->npages, src->fam);

	if (!x)
		return NULL;
	cow__member_share(x, src);
	return (cow_snap *)x;
}

COW_API cow_snap *cow_snapshot(cow_space *s)
{
	struct cow__member *m = s ? &s->m : NULL;
	cow_snap *snap = NULL;
	int err = m ? cow__member_check(m, COW__KIND_SPACE) : -EINVAL;

	if (err)
		return fail(err);
	cow__freeze_begin(m);
	cow__engine_lock();
	err = cow__protect_writable(m);
	if (!err && !(snap = snap_share(m)))
		err = -errno;
	if (!err)
		err = cow__defrag_pending();
	cow__engine_unlock();
	cow__freeze_end(m);
	if (err && snap) {
		cow_snap_release(snap);
		snap = NULL;
	}
	return snap ? snap : fail(err);
}

COW_API void cow_snap_release(cow_snap *snap)
{
	int err;

	if (!snap)
		return;
	cow__engine_lock();
	err = cow__member_check(SNAP(snap), COW__KIND_SNAP);
	if (err == -ESTALE)
		SNAP(snap)->magic = COW__MAGIC_DEAD;
	else if (!err)
		cow__member_free(SNAP(snap));
	cow__engine_unlock();
}

COW_API size_t cow_snap_size(const cow_snap *snap)
{
	if (!snap || cow__member_check(&snap->m, COW__KIND_SNAP))
		return 0;
	return snap->m.npages << COW__PAGE_SHIFT;
}

/*
 * Copy pages [first, first+n) of x into buf through pread of the memfd: a
 * frame that was never written reads as zeroes without being allocated.
 * Engine lock held (so no frame changes under the read). 0 or -errno.
 */
static int read_pages(const struct cow__member *x, size_t first, size_t n, char *buf)
{
	size_t i = first, end = first + n;

	while (i < end) {
		size_t j = i + 1, len, done = 0;

		while (j < end && x->pt[j] == x->pt[j - 1] + 1)
			j++;
		len = (j - i) << COW__PAGE_SHIFT;
		while (done < len) {
			ssize_t r = pread(cow__frames_fd(), buf + done, len - done,
					  ((off_t)x->pt[i] << COW__PAGE_SHIFT) + (off_t)done);

			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				return r < 0 ? -errno : -EIO;
			done += (size_t)r;
		}
		buf += len;
		i = j;
	}
	return 0;
}

COW_API int cow_snap_read(const cow_snap *snap, size_t off, void *buf, size_t len)
{
	const struct cow__member *x = snap ? &snap->m : NULL;
	char *bounce, *out = buf;
	size_t size;
	int err;

	if (!x || (!buf && len))
		return -EINVAL;
	if ((err = cow__member_check(x, COW__KIND_SNAP)))
		return err;
	size = x->npages << COW__PAGE_SHIFT;
	if (off > size || len > size - off)
		return -EINVAL;
	if (len == 0)
		return 0;
	bounce = malloc(READ_BATCH_PAGES << COW__PAGE_SHIFT);
	if (!bounce)
		return -ENOMEM;
	while (len && !err) {
		size_t first = off >> COW__PAGE_SHIFT, skip = off & (COW__PAGE - 1);
		size_t n = (skip + len + COW__PAGE - 1) >> COW__PAGE_SHIFT, chunk;

		if (n > READ_BATCH_PAGES)
			n = READ_BATCH_PAGES;
		cow__engine_lock();
		err = read_pages(x, first, n, bounce);
		cow__engine_unlock();
		chunk = (n << COW__PAGE_SHIFT) - skip;
		if (chunk > len)
			chunk = len;
		/* Outside the lock: buf may be a protected page of a space. */
		if (!err)
			memcpy(out, bounce + skip, chunk);
		out += chunk;
		off += chunk;
		len -= chunk;
	}
	free(bounce);
	return err;
}

COW_API const void *cow_snap_map(cow_snap *snap)
{
	struct cow__member *x = snap ? SNAP(snap) : NULL;
	int err = x ? cow__member_check(x, COW__KIND_SNAP) : -EINVAL;
	void *addr;

	if (err)
		return fail(err);
	cow__engine_lock();
	if (!x->addr) {
		err = cow__map_member(x, false);
		if (!err)
			err = cow__defrag_pending();
	}
	addr = x->addr;
	cow__engine_unlock();
	return err ? fail(err) : addr;
}

/*
 * Make page i of space m hold the content of frame g (a page of the image
 * being restored). The space stays at home: the content is copied into its
 * home frame, after preserving the old content for any other sharer of it.
 * The page stays write-protected (the next write reuses it). Lock held.
 */
static int restore_page(struct cow__member *m, size_t i, cow__frame g)
{
	cow__frame f = m->pt[i], home = cow__home(m, i);
	int err;

	if (f == home) {
		if (cow__frame_ref(f) > 1 && (err = cow__preserve(m, i)))
			return err;
		return cow__frame_copy(home, g);
	}
	if ((err = cow__frame_copy(home, g)))
		return err;
	cow__frame_get(home);
	cow__frame_put(f);
	return cow__remap_page(m, i, home, true);
}

COW_API int cow_restore(cow_space *s, const cow_snap *snap)
{
	struct cow__member *m = s ? &s->m : NULL;
	const struct cow__member *x = snap ? &snap->m : NULL;
	uint64_t copies = 0;
	int err;

	if (!m || !x)
		return -EINVAL;
	if ((err = cow__member_check(m, COW__KIND_SPACE)) ||
	    (err = cow__member_check(x, COW__KIND_SNAP)))
		return err;
	if (m->npages != x->npages)
		return -EINVAL;
	cow__freeze_begin(m);
	cow__engine_lock();
	/* Writers wait in the fault handler until the restore is complete. */
	err = cow__protect_writable(m);
	for (size_t i = 0; i < m->npages && !err; i++) {
		if (m->pt[i] == x->pt[i])
			continue;	/* same frame: same content */
		err = restore_page(m, i, x->pt[i]);
		copies++;
	}
	if (!err)
		err = cow__defrag_pending();
	m->st.restored += copies;
	cow__engine_unlock();
	cow__freeze_end(m);
	return err;
}

COW_API cow_space *cow_space_from_snap(const cow_snap *snap)
{
	const struct cow__member *x = snap ? &snap->m : NULL;
	int err = x ? cow__member_check(x, COW__KIND_SNAP) : -EINVAL;
	cow_space *s;

	if (err)
		return fail(err);
	cow__engine_lock();
	s = cow__space_new(x->npages, x->fam, x);
	cow__engine_unlock();
	return s;
}

COW_API int cow_snap_page_info(const cow_snap *snap, size_t index,
			       struct cow_page_info *out)
{
	struct cow_page_info info;
	int err;

	if (!snap || !out)
		return -EINVAL;
	if ((err = cow__member_check(&snap->m, COW__KIND_SNAP)))
		return err;
	if (index >= snap->m.npages)
		return -EINVAL;
	cow__engine_lock();
	cow__page_describe(&snap->m, index, &info);
	cow__engine_unlock();
	*out = info;
	return 0;
}

/* ---- engine services for the store ------------------------------------- */

size_t cow__snap_pages(const cow_snap *snap)
{
	if (!snap || cow__member_check(&snap->m, COW__KIND_SNAP))
		return 0;
	return snap->m.npages;
}

int cow__snap_diff(const cow_snap *a, const cow_snap *b, uint64_t *bits)
{
	int err;

	if (!a || !b || !bits)
		return -EINVAL;
	if ((err = cow__member_check(&a->m, COW__KIND_SNAP)) ||
	    (err = cow__member_check(&b->m, COW__KIND_SNAP)))
		return err;
	if (a->m.npages != b->m.npages)
		return -EINVAL;
	cow__engine_lock();
	for (size_t i = 0; i < a->m.npages; i++)
		if (a->m.pt[i] != b->m.pt[i])
			bits[i >> 6] |= 1ull << (i & 63);
	cow__engine_unlock();
	return 0;
}

cow_snap *cow__snap_clone(const cow_snap *snap)
{
	cow_snap *c;
	int err;

	if (!snap)
		return fail(-EINVAL);
	if ((err = cow__member_check(&snap->m, COW__KIND_SNAP)))
		return fail(err);
	cow__engine_lock();
	c = snap_share(&snap->m);
	cow__engine_unlock();
	return c;
}

/* Read page of fd at off into frame h (all of it, or -errno/-EIO). */
static int load_block(int fd, uint64_t off, cow__frame h)
{
	char *dst = cow__frame_addr(h);
	size_t done = 0;

	while (done < COW__PAGE) {
		ssize_t r = pread(fd, dst + done, COW__PAGE - done, (off_t)(off + done));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EIO;	/* the file is shorter than promised */
		done += (size_t)r;
	}
	return 0;
}

/*
 * cow__snap_from_file — see internal.h. This version reads the pages when
 * the snapshot is made (not yet lazily): zero blocks cost nothing, the others
 * one pread each into the snapshot's own frames.
 */
cow_snap *cow__snap_from_file(int fd, size_t npages, const uint64_t *offs)
{
	struct cow__member *x;
	int err = 0;

	if (fd < 0 || npages == 0 || !offs)
		return fail(-EINVAL);
	for (size_t i = 0; i < npages; i++)
		if (offs[i] != COW__ZERO_BLOCK && (offs[i] & (COW__PAGE - 1)))
			return fail(-EINVAL);
	if (cow__ensure_init())
		return NULL;
	cow__engine_lock();
	x = cow__member_new(COW__KIND_SNAP, npages, NULL);
	if (!x) {
		cow__engine_unlock();
		return NULL;
	}
	for (size_t i = 0; i < npages; i++) {
		x->pt[i] = cow__home(x, i);
		cow__frame_get(x->pt[i]);
		if (!err && offs[i] != COW__ZERO_BLOCK)
			err = load_block(fd, offs[i], x->pt[i]);
	}
	if (err)
		cow__member_free(x);
	cow__engine_unlock();
	return err ? fail(err) : (cow_snap *)x;
}
