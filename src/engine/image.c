/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * image.c — frames that are pages of a file: the image of a program, a saved
 * checkpoint. An image reserves a range of frame numbers whose frames live
 * in the file instead of the memfd. Spaces that borrow them map the file
 * itself, read-only: the kernel's page cache is shared by every space made
 * from one image (as the text segment of many processes running one
 * program), pages are read on first access, and clean pages can be dropped
 * under memory pressure and read again. A write to such a page faults and is
 * copied into the writer's home frame: a file page is never written, so it
 * is never "reused".
 *
 * Everything here runs with the engine lock held; lookups are async-signal-
 * safe (no allocation). Images whose frames are all gone are closed and
 * freed later, outside the fault handler (cow__images_reap).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

static struct cow__image **images;	/* sorted by first frame */
static size_t nimages, capimages;
static bool any_dead;

/* The image whose frames include f, or NULL. Bisection; no allocation. */
const struct cow__image *cow__image_of(cow__frame f)
{
	size_t lo = 0, hi = nimages;

	if (!cow__frame_is_image(f))
		return NULL;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (images[mid]->first <= f)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	return images[lo - 1];
}

/* File offset of image frame f. */
off_t cow__image_offset(const struct cow__image *img, cow__frame f)
{
	size_t k = f - img->first;

	return img->offs ? (off_t)img->offs[k] : img->off0 + ((off_t)k << COW__PAGE_SHIFT);
}

/*
 * cow__frames_follow — can frames a and b (b right after a in a page table)
 * be mapped by one mmap? Both in the memfd and consecutive, or both in one
 * image at consecutive file offsets.
 */
bool cow__frames_follow(cow__frame a, cow__frame b)
{
	const struct cow__image *ia, *ib;

	if (b != a + 1)
		return false;
	if (!cow__frame_is_image(a) && !cow__frame_is_image(b))
		return true;
	ia = cow__image_of(a);
	ib = cow__image_of(b);
	if (!ia || ia != ib)
		return false;
	return cow__image_offset(ia, b) == cow__image_offset(ia, a) + (off_t)COW__PAGE;
}

static int images_insert(struct cow__image *img)
{
	size_t at = 0;

	if (nimages == capimages) {
		size_t cap = capimages ? capimages * 2 : 8;
		struct cow__image **n = realloc(images, cap * sizeof *n);

		if (!n)
			return -ENOMEM;
		images = n;
		capimages = cap;
	}
	while (at < nimages && images[at]->first < img->first)
		at++;
	memmove(images + at + 1, images + at, (nimages - at) * sizeof *images);
	images[at] = img;
	nimages++;
	return 0;
}

/*
 * cow__image_new — an image of n pages of file fd (the image keeps its own
 * duplicate): page k at offs[k] when offs is given (a malloc'd array of n
 * the image takes, whatever the outcome: freed with it), else at off0 + k
 * pages. The file's size now bounds what may be read (size).
 * Reserves n frame numbers, with an unused guard frame on each side so that
 * no other range ever looks consecutive to it. Returns the image (its
 * frames have count 0; the caller references them) or NULL with errno.
 */
struct cow__image *cow__image_new(int fd, size_t n, off_t off0,
				  uint64_t *offs, off_t size)
{
	struct cow__image *img = calloc(1, sizeof *img);
	cow__frame base;
	int err = -ENOMEM;

	if (!img) {
		free(offs);
		goto fail;
	}
	img->offs = offs;
	img->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (img->fd < 0) {
		err = -errno;
		goto fail;
	}
	img->off0 = off0;
	img->n = n;
	img->size = size;
	err = cow__frames_reserve_image(n + 2, &base);
	if (err)
		goto fail;
	img->first = base + 1;
	err = images_insert(img);
	if (err) {
		cow__frames_release_range(base, n + 2);
		goto fail;
	}
	return img;
fail:
	if (img) {
		if (img->fd >= 0 && img->fd != 0)
			close(img->fd);
		free(img->offs);
		free(img);
	}
	errno = -err;
	return NULL;
}

/* cow__image_frame_gone — frame f of an image was freed (count 0). */
void cow__image_frame_gone(cow__frame f)
{
	struct cow__image *img = (struct cow__image *)cow__image_of(f);

	if (img && img->live && --img->live == 0) {
		img->dead = true;
		any_dead = true;
	}
}

/*
 * cow__images_reap — close and free the images no frame references any
 * more. Called outside the fault handler.
 */
void cow__images_reap(void)
{
	size_t k = 0;

	if (!any_dead)
		return;
	while (k < nimages) {
		struct cow__image *img = images[k];

		if (!img->dead) {
			k++;
			continue;
		}
		cow__frames_release_range(img->first - 1, img->n + 2);
		close(img->fd);
		free(img->offs);
		free(img);
		memmove(images + k, images + k + 1, (nimages - k - 1) * sizeof *images);
		nimages--;
	}
	any_dead = false;
}

/* In a fork() child: forget the parent's images. */
static void images_reset(void)
{
	images = NULL;
	nimages = capimages = 0;
	any_dead = false;
}
COW__AT_FORK_CHILD(images_reset)

/*
 * cow__image_read — read image frame f into buf (COW_PAGE_SIZE bytes). The
 * part of the page beyond the file's size at open reads as zeroes; a file
 * that shrank since, or a read error, is an error, never silent zeroes.
 * 0, -EIO (the file is shorter than when it was opened), or -errno.
 */
int cow__image_read(const struct cow__image *img, cow__frame f, void *buf)
{
	off_t off = cow__image_offset(img, f);
	size_t want = COW__PAGE, done = 0;

	if (off >= img->size)
		want = 0;
	else if (img->size - off < (off_t)COW__PAGE)
		want = (size_t)(img->size - off);
	while (done < want) {
		ssize_t r = pread(img->fd, (char *)buf + done, want - done, off + (off_t)done);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EIO;
		done += (size_t)r;
	}
	memset((char *)buf + want, 0, COW__PAGE - want);
	return 0;
}

/*
 * cow__image_intact — is the file still as long as the image needs for
 * frame f? Async-signal-safe (fstat). Used to tell a file that shrank from a
 * write fault.
 */
bool cow__image_intact(const struct cow__image *img, cow__frame f)
{
	struct stat st;
	off_t off = cow__image_offset(img, f);

	if (fstat(img->fd, &st))
		return false;
	return off >= img->size || st.st_size >= (off + (off_t)COW__PAGE < img->size ?
						    off + (off_t)COW__PAGE : img->size);
}
