/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * snapshot.c — snapshots: frozen, read-only members that share frames with
 * the space they were taken from. Taking one, reading it, mapping it,
 * restoring a space to it (exec), making a space from it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
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
static struct cow__member *snap_share(struct cow__member *src)
{
	struct cow__member *x = cow__member_new(COW__KIND_SNAP, src->npages, src->fam);

	if (x) {
		cow__member_share(x, src);
		if (src->kind == COW__KIND_SPACE)
			cow__pages_set_reference(src, x);
	}
	return x;
}

COW_API cow_snap *cow_snapshot(cow_space *s)
{
	return (cow_snap *)cow__freeze_share(s, snap_share);
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

/* pread exactly len bytes of fd at off into buf. 0, -EIO (short), -errno. */
static int pread_all(int fd, char *buf, size_t len, off_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t r = pread(fd, buf + done, len - done, off + (off_t)done);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		done += (size_t)r;
	}
	return 0;
}

/*
 * Copy pages [first, first+n) of x into buf: memfd frames through pread of
 * the memfd (a frame that was never written reads as zeroes without being
 * allocated), image frames from their file. Engine lock held (so no frame
 * changes under the read). 0 or -errno.
 */
int cow__read_pages(const struct cow__member *x, size_t first, size_t n, char *buf)
{
	size_t i = first, end = first + n;
	int err = 0;

	__atomic_fetch_add(&cow__test_pages_read, n, __ATOMIC_RELAXED);	/* the saver reads unlocked */
	while (i < end && !err) {
		cow__frame f = cow__frame_at(x, i), last = f;
		const struct cow__image *img = cow__image_of(f);
		size_t j = i + 1;

		if (img) {
			err = cow__image_read(img, f, buf);
			buf += COW__PAGE;
			i++;
			continue;
		}
		while (j < end && cow__frame_at(x, j) == last + 1 &&
		       !cow__frame_is_image(last + 1)) {
			last++;
			j++;
		}
		err = pread_all(cow__frames_fd(), buf, (j - i) << COW__PAGE_SHIFT,
				(off_t)f << COW__PAGE_SHIFT);
		buf += (j - i) << COW__PAGE_SHIFT;
		i = j;
	}
	return err;
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
		err = cow__read_pages(x, first, n, bounce);
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
		err = cow__member_give_home(x);	/* a view may need to take pages home */
		if (!err)
			err = cow__map_member(x, false);
		if (!err)
			err = cow__defrag_pending();
	}
	addr = x->addr;
	cow__engine_unlock();
	return err ? fail(err) : addr;
}

/* Page i of space m takes snapshot x's content, unless one frame backs
 * both (then they are certainly equal). Counts a copy. 0 or -errno. */
static int restore_page(struct cow__member *m, const struct cow__member *x,
			size_t i, uint64_t *copies)
{
	cow__frame g = i < m->npages ? cow__frame_at(x, i) : COW__NO_FRAME;
	int err;

	if (g == COW__NO_FRAME || cow__frame_at(m, i) == g)
		return 0;	/* same frame: same content */
	if ((err = cow__page_restore(m, i, g)))
		return err;
	(*copies)++;
	return 0;
}

/*
 * Give every page of space m that may differ from snapshot x the content
 * of x's page. When x is one of m's references (taken from m, restored to,
 * made from), only the pages marked changed since are visited: from their
 * list while there is one, else a word of 64 at a time. So the cost follows
 * the pages written, not the space. 0 or -errno.
 */
static int restore_pages(struct cow__member *m, const struct cow__member *x,
			 uint64_t *copies)
{
	size_t n = 0;
	const uint64_t *list = cow__pages_changed_list(m, x, &n);
	const uint64_t *changed = cow__pages_changed_since(m, x);

	/* The list does not change meanwhile: its pages are marked already. */
	for (size_t k = 0; list && k < n; k++) {
		int err = restore_page(m, x, (size_t)list[k], copies);

		if (err)
			return err;
	}
	for (size_t w = 0; !list && w < (m->npages + 63) / 64; w++) {
		uint64_t bits = changed ? changed[w] : ~0ull;

		while (bits) {
			size_t i = w * 64 + (size_t)__builtin_ctzll(bits);
			int err;

			bits &= bits - 1;
			if ((err = restore_page(m, x, i, copies)))
				return err;
		}
	}
	return 0;
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
	if (m->alias_of) {		/* a vfork child execs */
		cow__engine_lock();
		err = cow__space_exec(m, x);
		cow__engine_unlock();
		return err;
	}
	cow__freeze_begin(m);
	cow__engine_lock();
	cow__vfork_wait(m);
	cow__pages_restore_early(m, x);
	/* Writers wait in the fault handler until the restore is complete. */
	err = cow__protect_writable(m);
	if (!err)
		err = restore_pages(m, x, &copies);
	if (!err)
		cow__pages_restored_to(m, x);
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
	return cow__page_info(snap ? &snap->m : NULL, COW__KIND_SNAP, index, out);
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
	cow__pt_diff(a->m.pt, b->m.pt, a->m.npages, bits);
	cow__engine_unlock();
	return 0;
}

/*
 * cow__snap_never_written — see internal.h: pages [i, i+n) of snap, within
 * one page-table leaf, are holes of the frame store (one look at the leaf,
 * one lseek), under the engine lock.
 */
bool cow__snap_never_written(const cow_snap *snap, size_t i, size_t n)
{
	bool holes;

	if (!snap || cow__member_check(&snap->m, COW__KIND_SNAP) || i >= snap->m.npages ||
	    n > snap->m.npages - i || (i & (COW__PT_FAN - 1)) + n > COW__PT_FAN)
		return false;
	cow__engine_lock();
	holes = cow__snap_holes(&snap->m, i, n);
	cow__engine_unlock();
	return holes;
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
	c = (cow_snap *)snap_share((struct cow__member *)&snap->m);
	cow__engine_unlock();
	return c;
}

/* Does page i of an image snapshot read as zeroes (no page in the file)? */
static inline bool image_zero(const struct cow__image *img, const uint64_t *offs, size_t i)
{
	return i >= img->n || (offs && offs[i] == COW__ZERO_BLOCK);
}

/* Does span bit j of spans (NULL: every span) say its pages may hold data? */
static inline bool span_used(const uint64_t *spans, size_t j)
{
	return !spans || ((spans[j >> 6] >> (j & 63)) & 1);
}

/*
 * A snapshot of npages pages whose page k is image frame first + k, or
 * zeroes (its own home frame, never written) where the image has no page;
 * a clear span of spans is zeroes without a look at offs.
 * Engine lock held. NULL with errno.
 */
static cow_snap *snap_of_image(struct cow__image *img, size_t npages, const uint64_t *spans)
{
	const uint64_t *offs = img->offs;
	struct cow__member *x = cow__member_new(COW__KIND_SNAP, npages, NULL);
	int err;

	if (!x)
		return NULL;
	if ((err = cow__member_give_home(x))) {	/* its zero pages live there */
		cow__member_free(x);
		errno = -err;
		return NULL;
	}
	for (size_t i = 0, n; i < npages; i += n) {
		size_t leaf_end = (i | (COW__PT_FAN - 1)) + 1;
		size_t lim = leaf_end < npages ? leaf_end : npages;
		bool used = span_used(spans, i / COW__FILE_SPAN);
		bool zero = !used || image_zero(img, offs, i);

		/* A run of zero pages or of file pages: consecutive frames. */
		for (n = used ? 1 : lim - i;
		     i + n < lim && image_zero(img, offs, i + n) == zero; n++)
			;
		if ((err = cow__pt_fill(x->pt, i, n, zero ? cow__home(x, i)
						     : img->first + (cow__frame)i))) {
			cow__member_free(x);
			errno = -err;
			return NULL;
		}
	}
	return (cow_snap *)x;
}

/* Make an image of fd and a snapshot of it. Takes the engine lock. */
static cow_snap *image_snap(int fd, size_t npages, size_t file_pages, off_t off0,
			    uint64_t *offs, const uint64_t *spans, off_t size)
{
	struct cow__image *img;
	cow_snap *x = NULL;

	if (cow__ensure_init()) {
		free(offs);
		return NULL;
	}
	cow__engine_lock();
	cow__images_reap();
	img = cow__image_new(fd, file_pages ? file_pages : 1, off0, offs, size);
	if (img) {
		x = snap_of_image(img, npages, spans);
		if (!x || file_pages == 0) {
			/* no page references it: let it be closed */
			img->dead = true;
			cow__image_frame_gone(img->first);
		}
	}
	cow__engine_unlock();
	return x;
}

/*
 * cow__snap_from_file — see internal.h: a lazily read image whose page i is
 * at offs[i] of fd; zero blocks are the snapshot's own (unwritten) frames.
 */
cow_snap *cow__snap_from_file(int fd, size_t npages, uint64_t *offs, const uint64_t *spans)
{
	struct stat st;
	int err = 0;

	if (fd < 0 || npages == 0 || !offs || npages > (size_t)COW__MAX_CHUNKS * COW__CHUNK_FRAMES)
		err = -EINVAL;
	for (size_t i = 0; i < npages && !err; i++) {
		if (!span_used(spans, i / COW__FILE_SPAN)) {
			i |= COW__FILE_SPAN - 1;	/* not read: the loop adds one */
			continue;
		}
		if (offs[i] != COW__ZERO_BLOCK && (offs[i] & (COW__PAGE - 1)))
			err = -EINVAL;
	}
	if (!err && fstat(fd, &st))
		err = -errno;
	if (err) {
		free(offs);
		return fail(err);
	}
	return image_snap(fd, npages, npages, 0, offs, spans, st.st_size);
}

COW_API cow_snap *cow_snap_open(const char *path, off_t offset, size_t size)
{
	size_t npages, file_pages;
	struct stat st;
	cow_snap *x;
	int fd;

	if (!path || offset < 0 || (offset & (off_t)(COW__PAGE - 1)))
		return fail(-EINVAL);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		int err = errno;

		close(fd);
		return fail(S_ISREG(st.st_mode) ? -err : -EINVAL);
	}
	if (size == 0) {
		if (st.st_size <= offset) {
			close(fd);
			return fail(-EINVAL);
		}
		size = (size_t)(st.st_size - offset);
	}
	if (size > (size_t)COW__MAX_CHUNKS * COW__CHUNK_FRAMES * COW__PAGE) {
		close(fd);
		return fail(-EINVAL);
	}
	npages = (size + COW__PAGE - 1) >> COW__PAGE_SHIFT;
	file_pages = st.st_size > offset ?
		     (size_t)((st.st_size - offset + (off_t)COW__PAGE - 1) >> COW__PAGE_SHIFT) : 0;
	if (file_pages > npages)
		file_pages = npages;
	x = image_snap(fd, npages, file_pages, offset, NULL, NULL, st.st_size);
	{
		int err = errno;

		close(fd);
		errno = err;
	}
	return x;
}

COW_API int cow_exec_file(cow_space *s, const char *path, off_t offset)
{
	struct cow__member *m = s ? &s->m : NULL;
	cow_snap *x;
	int err;

	if (!m || !path)
		return -EINVAL;
	if ((err = cow__member_check(m, COW__KIND_SPACE)))
		return err;
	x = cow_snap_open(path, offset, m->npages << COW__PAGE_SHIFT);
	if (!x)
		return -errno;
	cow__engine_lock();
	err = cow__space_exec(m, &x->m);
	cow__engine_unlock();
	cow_snap_release(x);
	return err;
}

/*
 * cow__snap_set_origin — snap holds exactly checkpoint id of store: a space
 * made from it starts as saved there (its next background save to that
 * store is incremental).
 */
void cow__snap_set_origin(cow_snap *snap, void *store, uint64_t serial, uint64_t id)
{
	cow__engine_lock();
	snap->m.saved_store = store;
	snap->m.saved_serial = serial;
	snap->m.saved_id = id;
	cow__engine_unlock();
}
