/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * frame.c — the frame store: physical pages with reference counts.
 *
 * All frames are pages of one memfd. A new frame reads as zeroes (the file is
 * sparse); a freed frame has its hole punched, so memory goes back to the
 * kernel and the frame reads as zeroes when it is handed out again.
 *
 * Except the last freed single frames, up to COW__READY_MAX: they keep their
 * page and are *ready* for the next copy (cow__frame_alloc), which then
 * writes into memory the kernel already has. A new page of the memfd costs
 * an allocation, a zeroing and a page-cache insertion, about 3 us here,
 * as much as the kernel's whole copy-on-write fault; a ready one, the copy.
 * Ready frames stay marked allocated, so a home range never gets one (home
 * ranges must read as zeroes).
 *
 * Everything here is called with the engine lock held. Nothing here calls
 * malloc (but the invariant check): the fault handler uses these functions
 * from a signal handler.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

static struct cow__frames frames = { .fd = -1 };

static inline struct cow__chunk *chunk_of(cow__frame f)
{
	return &frames.chunk[f >> COW__CHUNK_SHIFT];
}

static inline uint32_t slot_of(cow__frame f)
{
	return f & (COW__CHUNK_FRAMES - 1);
}

/* How many of n frames from f lie in f's chunk (the rest start the next). */
static inline uint32_t chunk_left(uint64_t f, uint64_t n)
{
	uint32_t room = COW__CHUNK_FRAMES - slot_of((cow__frame)f);

	return room < n ? room : (uint32_t)n;
}

static inline bool bit_test(const uint64_t *map, uint32_t i)
{
	return (map[i >> 6] >> (i & 63)) & 1;
}

static inline void bit_set(uint64_t *map, uint32_t i, bool on)
{
	if (on)
		map[i >> 6] |= 1ull << (i & 63);
	else
		map[i >> 6] &= ~(1ull << (i & 63));
}

/* How many bits of b in [i, j) are set (a full word without popcount:
 * this build has no popcount instruction, libgcc's takes a call). */
static size_t bits_count(const uint64_t *b, size_t i, size_t j)
{
	size_t n = 0;

	while (i < j) {
		size_t w = i >> 6, lo = i & 63, hi = j - (w << 6) < 64 ? j - (w << 6) : 64;
		uint64_t x = b[w] >> lo;

		if (hi - lo < 64)
			x &= (1ull << (hi - lo)) - 1;
		n += x == ~0ull ? 64 : (size_t)__builtin_popcountll(x);
		i = (w << 6) + hi;
	}
	return n;
}

/* Mark frames [first, first+n) allocated (when homed is false: free ones,
 * as find_run found them) or homed, chunk by chunk. */
static void frames_mark(uint64_t first, uint64_t n, bool homed)
{
	while (n) {
		struct cow__chunk *ch = chunk_of((cow__frame)first);
		uint32_t s = slot_of((cow__frame)first);
		uint32_t k = chunk_left(first, n);

		cow__bits_fill(homed ? ch->homed : ch->allocated, s, (size_t)s + k, true);
		if (!homed)
			ch->nalloc += k;
		first += k;
		n -= k;
	}
}

/* How many of frame slots [s, k) of ch are allocated: no look at the bits
 * when the chunk is full (a big home range covers whole chunks). */
static uint32_t allocated_in(const struct cow__chunk *ch, size_t s, size_t k)
{
	if (ch->nalloc == COW__CHUNK_FRAMES)
		return (uint32_t)(k - s);
	return (uint32_t)bits_count(ch->allocated, s, k);
}

/* Set frame slot i of ch allocated or not, keeping the chunk's count. */
static inline void alloc_set(struct cow__chunk *ch, uint32_t i, bool on)
{
	if (bit_test(ch->allocated, i) == on)
		return;
	bit_set(ch->allocated, i, on);
	ch->nalloc += on ? 1 : -1;
}

/*
 * cow__frames_init — create the memfd if there is none yet.
 * Returns 0 or -errno (EMFILE, ENOMEM, ...).
 */
int cow__frames_init(void)
{
	if (frames.fd >= 0)
		return 0;
	frames.fd = memfd_create("libcow-frames", MFD_CLOEXEC);
	if (frames.fd < 0)
		return -errno;
	return 0;
}

/*
 * cow__frames_reset_after_fork — in the child of fork(): forget the parent's
 * frame store (its windows are not mapped here, thanks to MADV_DONTFORK) and
 * start afresh at the next use. The parent's bookkeeping arrays are not
 * inherited either (MADV_DONTFORK), so there is nothing to free.
 */
static void frames_reset_after_fork(void)
{
	if (frames.fd >= 0)
		close(frames.fd);
	memset(&frames, 0, sizeof frames);
	frames.fd = -1;
}
COW__AT_FORK_CHILD(frames_reset_after_fork)

/* A chunk's bitmaps, for allocation and unmapping in one place. */
static uint64_t **chunk_bitmaps(struct cow__chunk *ch, unsigned k)
{
	uint64_t **maps[] = { &ch->allocated, &ch->homed, &ch->image, &ch->live,
			      &ch->extra, &ch->windowed };

	return k < sizeof maps / sizeof *maps ? maps[k] : NULL;
}

/* Unmap chunk c's window and bookkeeping (what of it is mapped). */
static void chunk_unmap(struct cow__chunk *ch)
{
	uint64_t **map;

	if (ch->ref)
		munmap(ch->ref, COW__CHUNK_FRAMES * sizeof(uint32_t));
	for (unsigned k = 0; (map = chunk_bitmaps(ch, k)); k++)
		if (*map)
			munmap(*map, COW__CHUNK_FRAMES / 8);
	if (ch->window && ch->window != MAP_FAILED)
		munmap(ch->window, (size_t)COW__CHUNK_FRAMES << COW__PAGE_SHIFT);
	memset(ch, 0, sizeof *ch);
}

/* Add one chunk at the end of the frame space. Returns 0 or -errno. */
static int chunk_add(void)
{
	uint32_t c = frames.nchunks;
	struct cow__chunk *ch = &frames.chunk[c];
	off_t end = (off_t)(c + 1) << (COW__CHUNK_SHIFT + COW__PAGE_SHIFT);
	uint64_t **map;
	bool ok;

	if (c >= COW__MAX_CHUNKS)
		return -ENOMEM;
	if (ftruncate(frames.fd, end) < 0)
		return -errno;
	ch->ref = cow__engine_mem(COW__CHUNK_FRAMES * sizeof(uint32_t));
	ok = ch->ref != NULL;
	for (unsigned k = 0; (map = chunk_bitmaps(ch, k)); k++)
		ok &= (*map = cow__engine_mem(COW__CHUNK_FRAMES / 8)) != NULL;
	ch->window = mmap(NULL, (size_t)COW__CHUNK_FRAMES << COW__PAGE_SHIFT,
			  PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
			  frames.fd, end - ((off_t)COW__CHUNK_FRAMES << COW__PAGE_SHIFT));
	if (!ok || ch->window == MAP_FAILED) {
		chunk_unmap(ch);
		return -ENOMEM;
	}
	madvise(ch->window, (size_t)COW__CHUNK_FRAMES << COW__PAGE_SHIFT,
		MADV_DONTFORK);
	frames.nchunks++;
	return 0;
}

/*
 * Find n contiguous free frames at or after `from`, within the chunks that
 * exist. Returns the first frame, or the start of the free run that reaches
 * the end of the frame space (to be extended) with *at_end set.
 */
static uint64_t find_run(uint64_t from, size_t n, bool *at_end)
{
	uint64_t total = (uint64_t)frames.nchunks << COW__CHUNK_SHIFT;
	uint64_t start = from, f = from;

	*at_end = false;
	while (f < total) {
		const struct cow__chunk *ch = chunk_of((cow__frame)f);
		const uint64_t *map = ch->allocated;
		uint32_t s = slot_of((cow__frame)f);
		uint64_t want = start + n - f, room = COW__CHUNK_FRAMES - s;
		size_t lim = s + (size_t)(want < room ? want : room);
		size_t k;

		if (ch->nalloc == COW__CHUNK_FRAMES) {	/* full: the next chunk */
			f += room;
			start = f;
			continue;
		}
		/* An empty chunk is free without a look at its bits. */
		k = ch->nalloc ? cow__bits_find(map, s, lim, true) : lim;	/* an allocated one */
		if (k == lim) {			/* all free */
			f += lim - s;
			if (f - start >= n)
				return start;
			continue;
		}
		/* The run starts again at the next free frame. */
		f += cow__bits_find(map, k, COW__CHUNK_FRAMES, false) - s;
		start = f;
	}
	*at_end = true;
	return start;
}

/* Find and mark n contiguous free frames allocated. */
static int reserve(size_t n, cow__frame *first);

/*
 * cow__frames_reserve — reserve n contiguous frames as a home range: they
 * are allocated and homed, with count 0, and read as zeroes.
 * Returns 0 and the first frame in *first, or -ENOMEM (frame space full or
 * no memory for bookkeeping) or the error of ftruncate/mmap.
 */
int cow__frames_reserve(size_t n, cow__frame *first)
{
	int err = reserve(n, first);

	if (err)
		return err;
	frames_mark(*first, n, true);
	return 0;
}

/*
 * cow__frame_alloc — one free frame, anywhere: allocated, not homed, count
 * 0 (it is freed when a count it is given drops back to 0). For a
 * preserved page of a snapshot that has no home. Its content is undefined
 * (a ready frame's old page, or zeroes): the caller writes the whole page.
 * 0 or -errno (-ENOMEM).
 */
int cow__frame_alloc(cow__frame *f)
{
	if (frames.nready) {
		*f = frames.ready[--frames.nready];	/* the most recently freed */
		/* Its page is in memory: a memcpy through the window fills it
		 * (faulting it in there once; from then on 0.4 us a copy). */
		bit_set(chunk_of(*f)->windowed, slot_of(*f), true);
		return 0;
	}
	return reserve(1, f);
}

/*
 * cow__frames_reserve_image — reserve n contiguous frame numbers for an
 * image: allocated, not homed (each is freed when its count reaches 0),
 * and marked as image frames except the first and the last (guards).
 */
int cow__frames_reserve_image(size_t n, cow__frame *first)
{
	int err = reserve(n, first);

	if (err)
		return err;
	for (uint64_t f = *first + 1, end = (uint64_t)*first + n - 1; f < end;) {
		struct cow__chunk *ch = chunk_of((cow__frame)f);
		uint32_t s = slot_of((cow__frame)f);
		uint32_t k = chunk_left(f, end - f);

		cow__bits_fill(ch->image, s, (size_t)s + k, true);
		f += k;
	}
	return 0;
}

/*
 * cow__frames_release_range — give back frame numbers [first, first+n)
 * that no one references (an image's, when it is closed).
 */
void cow__frames_release_range(cow__frame first, size_t n)
{
	for (uint64_t f = first, end = (uint64_t)first + n; f < end;) {
		struct cow__chunk *ch = chunk_of((cow__frame)f);
		uint32_t s = slot_of((cow__frame)f);
		uint32_t k = chunk_left(f, end - f);

		cow__bits_fill(ch->image, s, (size_t)s + k, false);
		ch->nalloc -= allocated_in(ch, s, (size_t)s + k);
		cow__bits_fill(ch->allocated, s, (size_t)s + k, false);
		f += k;
	}
	if (first < frames.hint)
		frames.hint = first;
}

/* cow__frame_is_image — is frame f a page of an image file? */
bool cow__frame_is_image(cow__frame f)
{
	return bit_test(chunk_of(f)->image, slot_of(f));
}

static int reserve(size_t n, cow__frame *first)
{
	bool at_end;
	uint64_t start;
	int err;

	if (n == 0 || n > (size_t)COW__MAX_CHUNKS * COW__CHUNK_FRAMES)
		return -ENOMEM;
	err = cow__frames_init();
	if (err)
		return err;
	start = find_run(frames.hint, n, &at_end);
	if (at_end && frames.hint) {
		start = find_run(0, n, &at_end);
	}
	while (at_end && start + n > ((uint64_t)frames.nchunks << COW__CHUNK_SHIFT)) {
		err = chunk_add();
		if (err)
			return err;
	}
	frames_mark(start, n, false);
	frames.hint = start + n;
	*first = (cow__frame)start;
	return 0;
}

/* Punch frames [first, first+n) out of the memfd with one fallocate(2).
 * Its result is not looked at: on a memfd the kernel refuses a punch only
 * for arguments libcow never passes (a range past the size, a sealed file). */
static void punch_range(uint64_t first, uint64_t n)
{
	fallocate(frames.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		  (off_t)first << COW__PAGE_SHIFT, (off_t)n << COW__PAGE_SHIFT);
}

/*
 * Punch what holds data in a long run of frames. The kernel's punch costs
 * the range it is given, not its pages: it walks the window's page tables
 * and the page cache over all of it (a 64 GiB home range that never held a
 * page took a millisecond at its space's destroy). So a long run is
 * punched data stretch by data stretch, found with lseek(2) — at most
 * PUNCH_STRETCHES of them; past that the rest is punched in one call.
 */
#define PUNCH_LONG 4096u	/* frames: 16 MiB */
#define PUNCH_STRETCHES 32
static void punch_data(uint64_t first, uint64_t n)
{
	uint64_t end = first + n;

	for (unsigned k = 0; first < end; k++) {
		uint64_t d, h;
		off_t at;

		if (k == PUNCH_STRETCHES) {
			punch_range(first, end - first);
			return;
		}
		d = first + cow__frames_data_at((cow__frame)first, (size_t)(end - first));
		if (d >= end)
			return;		/* holes to the end: nothing to punch */
		at = lseek(frames.fd, (off_t)d << COW__PAGE_SHIFT, SEEK_HOLE);
		h = at < 0 ? end : (uint64_t)at >> COW__PAGE_SHIFT;
		if (h <= d || h > end)
			h = end;
		punch_range(d, h - d);
		first = h;
	}
}

/* Punch frames [first, first+n) out of the memfd: the kernel unmaps their
 * pages from the window too, so their windowed bits are cleared. */
static void punch_now(uint64_t first, uint64_t n)
{
	if (!n)
		return;
	if (n >= PUNCH_LONG)
		punch_data(first, n);
	else
		punch_range(first, n);
	for (uint64_t end = first + n; first < end;) {
		struct cow__chunk *ch = chunk_of((cow__frame)first);
		uint32_t s = slot_of((cow__frame)first);
		uint32_t k = chunk_left(first, end - first);

		cow__bits_fill(ch->windowed, s, (size_t)s + k, false);
		first += k;
	}
}

/* While a member's frames are let go in a batch: the run still to punch. */
static bool batching;
static uint64_t pending_first, pending_n;

/*
 * Punch the frames [first, first+n) out of the memfd — in a batch, as part
 * of one run of consecutive frames, so that releasing a space costs a
 * syscall per run rather than per page.
 */
static void punch(uint64_t first, uint64_t n)
{
	if (!n)
		return;
	if (!batching) {
		punch_now(first, n);
		return;
	}
	if (pending_n && first == pending_first + pending_n) {
		pending_n += n;
		return;
	}
	punch_now(pending_first, pending_n);
	pending_first = first;
	pending_n = n;
}

/*
 * cow__frames_batch — between on and off, frames are released (counts
 * dropping to 0) and nothing is written or allocated: their punches are
 * made run by run, the last one at off.
 */
void cow__frames_batch(bool on)
{
	if (!on) {
		punch_now(pending_first, pending_n);
		pending_n = 0;
	}
	batching = on;
}

/*
 * Free frame f (count 0, not homed): kept ready while there is room, else
 * its bit cleared and its hole punched. An image frame is not in the
 * memfd: its image is told instead, and its number is given back when the
 * whole image is closed.
 */
static void frame_free(cow__frame f)
{
	struct cow__chunk *ch = chunk_of(f);

	if (bit_test(ch->image, slot_of(f))) {
		cow__image_frame_gone(f);
		return;
	}
	if (frames.nready < COW__READY_MAX) {
		frames.ready[frames.nready++] = f;	/* stays allocated */
		return;
	}
	alloc_set(ch, slot_of(f), false);
	punch(f, 1);
	if (f < frames.hint)
		frames.hint = f;
}

/* Frames [s, k) of ch, homed and referenced by nobody, leave their home:
 * free (their content is punched by the caller). */
static void unhome_dead(struct cow__chunk *ch, size_t s, size_t k)
{
	ch->nalloc -= allocated_in(ch, s, k);
	cow__bits_fill(ch->allocated, s, k, false);
	cow__bits_fill(ch->homed, s, k, false);
}

/*
 * cow__frames_unhome — the home range [first, first+n) loses its owner.
 * Frames nobody references are freed now (in runs, one punch per run); the
 * others are freed when their count reaches 0.
 */
void cow__frames_unhome(cow__frame first, size_t n)
{
	uint64_t run = 0, run_start = first, end = (uint64_t)first + n;

	for (uint64_t f = first; f < end;) {
		struct cow__chunk *ch = chunk_of((cow__frame)f);
		uint32_t s = slot_of((cow__frame)f);
		uint64_t room = COW__CHUNK_FRAMES - s;
		size_t lim = s + (size_t)(end - f < room ? end - f : room);
		size_t k = cow__bits_find(ch->live, s, lim, true);	/* the next live one */

		if (k > s) {		/* [s, k): referenced by nobody */
			unhome_dead(ch, s, k);
			if (!run)
				run_start = f;
			run += k - s;
		}
		if (k < lim) {		/* live frames keep their content, allocated */
			size_t e = cow__bits_find(ch->live, k, lim, false);

			cow__bits_fill(ch->homed, k, e, false);
			punch(run_start, run);
			run = 0;
			k = e;
		}
		f += k - s;
	}
	punch(run_start, run);
	if (first < frames.hint)
		frames.hint = first;
}

/* cow__frame_addr — where frame f can be read and written by libcow. */
void *cow__frame_addr(cow__frame f)
{
	return chunk_of(f)->window + ((size_t)slot_of(f) << COW__PAGE_SHIFT);
}

/*
 * A frame's count is kept in three parts: the live bit (above 0), the extra
 * bit (above 1) and ref[] (the count less one, read only when the extra bit
 * is set; 0 otherwise). A frame that one leaf holds — nearly every frame of
 * a space — is then a bit, and a run of them is born or dies a bitmap word
 * at a time (a space created or destroyed) without ref[] being touched: its
 * memory stays unallocated, the kernel's zero page, however large the space.
 */
static inline uint32_t count_of(const struct cow__chunk *ch, uint32_t s)
{
	if (!bit_test(ch->live, s))
		return 0;
	return bit_test(ch->extra, s) ? ch->ref[s] + 1 : 1;
}

/* Set the part of frame slot s's count above one to v (ref[] and extra). */
static inline void extra_set(struct cow__chunk *ch, uint32_t s, uint32_t v)
{
	if (v || bit_test(ch->extra, s))
		ch->ref[s] = v;
	bit_set(ch->extra, s, v != 0);
}

/* cow__frame_ref — frame f's reference count. */
uint32_t cow__frame_ref(cow__frame f)
{
	return count_of(chunk_of(f), slot_of(f));
}

/*
 * cow__frames_held_more — how many of the frames [first, first+n) have a
 * count above one: their extra bits, counted a bitmap word at a time.
 */
size_t cow__frames_held_more(cow__frame first, size_t n)
{
	size_t c = 0;

	while (n) {
		struct cow__chunk *ch = chunk_of(first);
		uint32_t s = slot_of(first), k = chunk_left(first, n);

		c += bits_count(ch->extra, s, (size_t)s + k);
		first += k;
		n -= k;
	}
	return c;
}

/*
 * A frame's count went from 0 to 1 (born) or from 1 to 0 (died). Memfd
 * frames are counted in frames.in_use; image frames are counted by their
 * image, which is closed when none is left.
 */
static void frame_born(cow__frame f)
{
	bit_set(chunk_of(f)->live, slot_of(f), true);
	if (bit_test(chunk_of(f)->image, slot_of(f)))
		((struct cow__image *)cow__image_of(f))->live++;
	else
		frames.in_use++;
}

static void frame_died(cow__frame f)
{
	struct cow__chunk *ch = chunk_of(f);
	uint32_t s = slot_of(f);

	bit_set(ch->live, s, false);
	if (!bit_test(ch->image, s))
		frames.in_use--;
	if (bit_test(ch->homed, s))
		punch(f, 1);	/* reserved for its home, but its content is dead */
	else
		frame_free(f);
}

/* cow__frame_set_ref — set frame f's count (used when moving sharers). */
void cow__frame_set_ref(cow__frame f, uint32_t ref)
{
	struct cow__chunk *ch = chunk_of(f);
	uint32_t s = slot_of(f), old = count_of(ch, s);

	extra_set(ch, s, ref > 1 ? ref - 1 : 0);
	if (old == 0 && ref)
		frame_born(f);
	else if (old && ref == 0)
		frame_died(f);
}

/* cow__frame_get — one more page table references frame f. */
void cow__frame_get(cow__frame f)
{
	struct cow__chunk *ch = chunk_of(f);
	uint32_t s = slot_of(f);

	if (!bit_test(ch->live, s))
		frame_born(f);
	else
		extra_set(ch, s, count_of(ch, s));	/* count + 1, less one */
}

/*
 * cow__frame_put — one page table fewer references frame f. At 0 the frame
 * is freed unless it is in a live home range; a homed frame that nobody
 * references is punched too (its content is dead), but stays reserved.
 */
void cow__frame_put(cow__frame f)
{
	struct cow__chunk *ch = chunk_of(f);
	uint32_t s = slot_of(f);

	if (bit_test(ch->extra, s))
		extra_set(ch, s, ch->ref[s] - 1);
	else
		frame_died(f);
}

/*
 * Frames [f, f+n) of one chunk went from 0 to 1 (born_run) or from 1 to 0
 * (died_run), their counts already changed: frame_born / frame_died of
 * each, done a bitmap word at a time for runs of memfd frames that are all
 * homed or all not (a home range, a leaf of copies).
 */
static void born_run(cow__frame f, uint32_t n)
{
	struct cow__chunk *ch = chunk_of(f);
	uint32_t s = slot_of(f);

	if (bits_count(ch->image, s, (size_t)s + n)) {
		for (uint32_t j = 0; j < n; j++)
			frame_born(f + j);
		return;
	}
	cow__bits_fill(ch->live, s, (size_t)s + n, true);
	frames.in_use += n;
}

static void died_run(cow__frame f, uint32_t n)
{
	struct cow__chunk *ch = chunk_of(f);
	uint32_t s = slot_of(f);
	size_t homed = bits_count(ch->homed, s, (size_t)s + n);

	if (bits_count(ch->image, s, (size_t)s + n) || (homed && homed != n)) {
		for (uint32_t j = 0; j < n; j++)
			frame_died(f + j);
		return;
	}
	cow__bits_fill(ch->live, s, (size_t)s + n, false);
	frames.in_use -= n;
	if (homed) {		/* reserved for their home, content dead */
		punch(f, n);
		return;
	}
	while (n && frames.nready < COW__READY_MAX) {	/* as frame_free, in order */
		frames.ready[frames.nready++] = f++;
		s++;
		n--;
	}
	if (!n)
		return;
	ch->nalloc -= allocated_in(ch, s, (size_t)s + n);
	cow__bits_fill(ch->allocated, s, (size_t)s + n, false);
	punch(f, n);
	if (f < frames.hint)
		frames.hint = f;
}

/* Add d (+1 or -1) to the counts of frames [first, first+n), a chunk at a
 * time; frames whose count leaves 0 (d = 1) or reaches it (d = -1) are
 * born or die in runs (born_run, died_run), found a bitmap word at a time:
 * only frames held more than once have ref[] read or written. */
static void counts_add(cow__frame first, size_t n, int d)
{
	while (n) {
		struct cow__chunk *ch = chunk_of(first);
		uint32_t s = slot_of(first), k = chunk_left(first, n), e = s + k;
		cow__frame base = first - s;

		for (uint32_t j = s, y; j < e; j = y) {
			if (!bit_test(ch->live, j)) {	/* held by nothing */
				y = (uint32_t)cow__bits_find(ch->live, j, e, true);
				if (d > 0)
					born_run(base + j, y - j);
				continue;	/* d < 0 here would be a count below 0 */
			}
			y = (uint32_t)cow__bits_find(ch->live, j, e, false);
			for (uint32_t i = j, z; i < y; i = z) {
				if (d > 0 || bit_test(ch->extra, i)) {
					extra_set(ch, i, count_of(ch, i) - 1 + (uint32_t)d);
					z = i + 1;
					continue;
				}
				/* held once: dies, with the frames after it held once */
				z = (uint32_t)cow__bits_find(ch->extra, i, y, true);
				died_run(base + i, z - i);
			}
		}
		first += k;
		n -= k;
	}
}

/*
 * cow__frames_get_run — cow__frame_get of each of frames [first, first+n),
 * a chunk's counts at a time (a page-table leaf filled with a run).
 */
void cow__frames_get_run(cow__frame first, size_t n)
{
	counts_add(first, n, 1);
}

/*
 * cow__frames_put_run — cow__frame_put of each of frames [first, first+n),
 * a chunk's counts at a time (a leaf that was one run let go). Frames that
 * reach 0 are freed as cow__frame_put frees them (batch the call: a run of
 * them is then one punch).
 */
void cow__frames_put_run(cow__frame first, size_t n)
{
	counts_add(first, n, -1);
}

static int write_frames(cow__frame first, const void *buf, size_t n);

/*
 * cow__frame_fill — write the page at src (any readable address, such as the
 * faulting page of a space) into frame dst. Through the window when the
 * window maps dst already (a ready frame libcow last touched there: 0.4 us
 * here); otherwise with one pwrite(2), so the kernel puts dst's page straight
 * into the page cache, without the page fault and (for a new page) the
 * zeroing that writing it through the window would cost (2 us). 0 or -errno.
 */
int cow__frame_fill(cow__frame dst, const void *src)
{
	if (bit_test(chunk_of(dst)->windowed, slot_of(dst))) {
		memcpy(cow__frame_addr(dst), src, COW__PAGE);
		return 0;
	}
	return write_frames(dst, src, 1);
}

/* Write n pages at buf into the consecutive frames first... with pwrite(2).
 * 0 or -errno (-EIO on a short write). */
static int write_frames(cow__frame first, const void *buf, size_t n)
{
	off_t off = (off_t)first << COW__PAGE_SHIFT;
	size_t len = n << COW__PAGE_SHIFT, done = 0;

	while (done < len) {
		ssize_t r = pwrite(frames.fd, (const char *)buf + done, len - done,
				   off + (off_t)done);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		done += (size_t)r;
	}
	return 0;
}

/* cow__page_is_zero — does the page at p (aligned) hold only zeroes? Stops
 * at the first word that is not. */
bool cow__page_is_zero(const void *p)
{
	const uint64_t *w = p;

	for (size_t k = 0; k < COW__PAGE / sizeof *w; k += 4)
		if (w[k] | w[k + 1] | w[k + 2] | w[k + 3])
			return false;
	return true;
}

/*
 * cow__frames_data_at — the index k of the first of the memfd frames
 * [first, first+n) that may hold a page of the memfd (n: none does, they
 * are all holes, which read as zeroes and cost no memory). 0 when the
 * kernel cannot tell. One lseek(2) whatever n; async-signal-safe.
 */
size_t cow__frames_data_at(cow__frame first, size_t n)
{
	off_t off = (off_t)first << COW__PAGE_SHIFT;
	off_t data = lseek(frames.fd, off, SEEK_DATA);
	uint64_t k;

	if (data < 0)
		return errno == ENXIO ? n : 0;	/* ENXIO: no data from off on */
	k = (uint64_t)(data - off) >> COW__PAGE_SHIFT;
	return k < n ? (size_t)k : n;
}

/* Does any of the frames [first, first+n) hold a page of the memfd? True
 * when the kernel cannot tell. */
static bool frames_hold_data(cow__frame first, size_t n)
{
	return cow__frames_data_at(first, n) < n;
}

/*
 * cow__frame_is_hole — is memfd frame f a hole: no page in the memfd, so it
 * reads as zeroes and holds no memory (a page never written)? False for an
 * image frame, a frame the window maps (it has a page), and when the kernel
 * cannot tell. One lseek(2); async-signal-safe.
 */
bool cow__frame_is_hole(cow__frame f)
{
	if (cow__frame_is_image(f) || bit_test(chunk_of(f)->windowed, slot_of(f)))
		return false;
	return !frames_hold_data(f, 1);
}

/*
 * cow__frames_are_holes — are the memfd frames [first, first+n) all holes
 * (never written since they were last punched: they read as zeroes)? False
 * for image frames, for frames the window maps, and when the kernel cannot
 * tell. One lseek(2) whatever n.
 */
bool cow__frames_are_holes(cow__frame first, size_t n)
{
	if (!n || cow__frame_is_image(first))
		return false;
	for (uint64_t f = first, end = (uint64_t)first + n; f < end;) {
		struct cow__chunk *ch = chunk_of((cow__frame)f);
		uint32_t s = slot_of((cow__frame)f);
		uint32_t k = chunk_left(f, end - f);

		if (cow__bits_find(ch->windowed, s, (size_t)s + k, true) < (size_t)s + k)
			return false;
		f += k;
	}
	return !frames_hold_data(first, n);
}

/* Read frames src[0..n) (memfd or image frames) into buf, n pages, and tell
 * which read as zeroes (zero[]): one pread per image page, one per run of
 * consecutive memfd frames that holds data; a run of holes is not read. */
static int read_frames(const cow__frame *src, size_t n, char *buf, bool *zero)
{
	for (size_t j = 0; j < n;) {
		const struct cow__image *img = cow__image_of(src[j]);
		size_t e = j + 1;
		int err = 0;

		if (img) {
			err = cow__image_read(img, src[j], buf + (j << COW__PAGE_SHIFT));
		} else {
			while (e < n && !cow__frame_is_image(src[e]) && src[e] == src[e - 1] + 1)
				e++;
			if (!frames_hold_data(src[j], e - j)) {
				for (size_t k = j; k < e; k++)
					zero[k] = true;
				j = e;
				continue;
			}
			err = cow__frames_read(src + j, e - j, buf + (j << COW__PAGE_SHIFT));
		}
		if (err)
			return err;
		for (size_t k = j; k < e; k++)
			zero[k] = cow__page_is_zero(buf + (k << COW__PAGE_SHIFT));
		j = e;
	}
	return 0;
}

/*
 * cow__frames_copy_home — copy the content of frames src[0..n) (memfd or
 * image frames) into the consecutive memfd frames dst...dst+n-1, which no
 * page references (a member's unused home frames), COW__COPY_RUN at a time
 * through a buffer with pread(2) and pwrite(2) rather than through the
 * window: no side takes a page fault, reading a hole allocates nothing, and
 * the kernel does not zero a new page before it is written. A source page
 * that reads as zeroes is not written at all: its frame stays a hole and
 * costs no memory. (Through the window, a checkpoint's never-written pages
 * cost a page of memory on each side: a space of 4 GiB holding 1 GiB took
 * 8-13 s and 7 GiB of memory to make from a scattered checkpoint, against
 * 1.2-1.7 s and 1 GiB now: bench_restart.) 0 or -errno (the error of a read
 * or write); on error dst's frames are holes again.
 */
int cow__frames_copy_home(cow__frame dst, const cow__frame *src, size_t n)
{
	static _Alignas(4096) char buf[COW__COPY_RUN * COW__PAGE];	/* under the engine lock */
	bool zero[COW__COPY_RUN];
	bool holes = !frames_hold_data(dst, n);
	int err = 0;

	for (size_t k = 0, b; k < n && !err; k += b) {
		size_t r = k + 1;

		/* A run of consecutive holes (a snapshot's never-written
		 * pages) is passed over whole: one lseek for all of it. */
		while (r < n && !cow__frame_is_image(src[k]) && !cow__frame_is_image(src[r]) &&
		       src[r] == src[r - 1] + 1)
			r++;
		if (r - k > COW__COPY_RUN && !frames_hold_data(src[k], r - k)) {
			if (!holes)
				punch_now(dst + k, r - k);
			b = r - k;
			continue;
		}
		b = n - k < COW__COPY_RUN ? n - k : COW__COPY_RUN;
		if ((err = read_frames(src + k, b, buf, zero)))
			break;
		for (size_t j = 0, e; j < b && !err; j = e) {
			for (e = j + 1; e < b && zero[e] == zero[j]; e++)
				;
			if (!zero[j])
				err = write_frames(dst + k + j, buf + (j << COW__PAGE_SHIFT), e - j);
			else if (!holes)
				punch_now(dst + k + j, e - j);
		}
	}
	if (err)
		punch_now(dst, n);
	return err;
}

/*
 * cow__frame_copy — copy the content of frame src into frame dst through the
 * window. (Measured against pwrite(2) from the window: memcpy was faster
 * here, the window's read faults map neighbours 16 at a time.) An image
 * frame is read from its file. Returns 0, or the error of that read.
 */
int cow__frame_copy(cow__frame dst, cow__frame src)
{
	const struct cow__image *img = cow__image_of(src);
	int err = 0;

	if (img)
		err = cow__image_read(img, src, cow__frame_addr(dst));
	else
		memcpy(cow__frame_addr(dst), cow__frame_addr(src), COW__PAGE);
	/* Both pages are mapped in the window now (a read fault on a shared
	 * memfd mapping maps the page writable). */
	bit_set(chunk_of(dst)->windowed, slot_of(dst), true);
	if (!img)
		bit_set(chunk_of(src)->windowed, slot_of(src), true);
	return err;
}

/*
 * cow__frames_read — copy memfd frames f[0..n) into buf (n pages), with
 * one pread per run of consecutive frames. Needs no engine lock when the
 * frames cannot change or go (busy, and referenced by the caller's
 * snapshot). 0 or -errno (-EIO on a short read).
 */
uint64_t cow__test_pages_read;

int cow__frames_read(const cow__frame *f, size_t n, char *buf)
{
	__atomic_fetch_add(&cow__test_pages_read, n, __ATOMIC_RELAXED);	/* the saver reads unlocked */
	for (size_t k = 0; k < n;) {
		size_t j = k + 1, len, done = 0;
		off_t off = (off_t)f[k] << COW__PAGE_SHIFT;

		while (j < n && f[j] == f[j - 1] + 1)
			j++;
		len = (j - k) << COW__PAGE_SHIFT;
		while (done < len) {
			ssize_t r = pread(frames.fd, buf + (k << COW__PAGE_SHIFT) + done,
					  len - done, off + (off_t)done);

			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				return r < 0 ? -errno : -EIO;
			done += (size_t)r;
		}
		k = j;
	}
	return 0;
}

/* cow__frames_ready_room — would a frame freed now be kept ready (no
 * punch, no syscall)? */
bool cow__frames_ready_room(void)
{
	return frames.nready < COW__READY_MAX;
}

/* Give the ready frames back: holes punched, numbers free. Oldest first,
 * in a batch: frames freed in order become one punch per run. */
static void ready_drain(void)
{
	bool was = batching;

	batching = true;
	for (uint32_t k = 0; k < frames.nready; k++) {
		cow__frame f = frames.ready[k];

		alloc_set(chunk_of(f), slot_of(f), false);
		punch(f, 1);
		if (f < frames.hint)
			frames.hint = f;
	}
	frames.nready = 0;
	batching = was;
	if (!was)
		cow__frames_batch(false);
}

/*
 * cow__frames_trim — give back the chunks at the end of the frame store
 * that hold no allocated frame, but for as many as hold some: their
 * window, counts and bitmaps are unmapped and the memfd shrinks. Not in
 * the fault handler (it unmaps).
 */
void cow__frames_trim(void)
{
	uint32_t used = 0, empty_tail = 0;

	if (frames.in_use == 0)
		ready_drain();	/* nothing left to copy: all memory goes back */
	for (uint32_t c = frames.nchunks; c-- > 0;) {
		if (frames.chunk[c].nalloc)
			used++;
		else if (used == 0)
			empty_tail++;
	}
	/*
	 * Up to as many empty chunks as are in use stay, for the next home
	 * range: a fork server reserves and gives back a space-sized range
	 * per iteration, and new bookkeeping pages cost a fault and a zeroing
	 * each. With nothing in use, everything goes.
	 */
	while (frames.nchunks && frames.chunk[frames.nchunks - 1].nalloc == 0 &&
	       empty_tail-- > used) {
		chunk_unmap(&frames.chunk[--frames.nchunks]);
		if (ftruncate(frames.fd, (off_t)frames.nchunks << (COW__CHUNK_SHIFT + COW__PAGE_SHIFT)))
			break;	/* the size only; the pages were punched already */
	}
	if (frames.hint > ((uint64_t)frames.nchunks << COW__CHUNK_SHIFT))
		frames.hint = (uint64_t)frames.nchunks << COW__CHUNK_SHIFT;
}

static int frame_cmp(const void *a, const void *b)
{
	cow__frame x = *(const cow__frame *)a, y = *(const cow__frame *)b;

	return (x > y) - (x < y);
}

/*
 * The ready frames: each allocated, unreferenced, neither homed nor an
 * image's, and listed once. 0 or the error of bad().
 */
static int ready_check(char *msg, size_t len,
		       int (*bad)(char *, size_t, const char *, ...))
{
	static cow__frame sorted[COW__READY_MAX];	/* under the engine lock */

	for (uint32_t k = 0; k < frames.nready; k++) {
		cow__frame f = frames.ready[k];
		struct cow__chunk *ch;
		uint32_t s;

		if ((uint64_t)f >= cow__frames_span())
			return bad(msg, len, "ready frame %llu beyond the store",
				   (unsigned long long)f);
		ch = chunk_of(f);
		s = slot_of(f);
		if (!bit_test(ch->allocated, s) || ch->ref[s] || bit_test(ch->live, s) ||
		    bit_test(ch->homed, s) || bit_test(ch->image, s))
			return bad(msg, len, "ready frame %llu: count %u, allocated %d, homed %d, image %d",
				   (unsigned long long)f, ch->ref[s], bit_test(ch->allocated, s),
				   bit_test(ch->homed, s), bit_test(ch->image, s));
		sorted[k] = f;
	}
	qsort(sorted, frames.nready, sizeof *sorted, frame_cmp);
	for (uint32_t k = 1; k < frames.nready; k++)
		if (sorted[k] == sorted[k - 1])
			return bad(msg, len, "frame %llu is ready twice",
				   (unsigned long long)sorted[k]);
	return 0;
}

/*
 * cow__frames_check — for the invariant checker: a frame's count is held
 * as its parts say (the extra bit set exactly when ref[] is above 0, and
 * only on a live frame), only allocated frames are live, each
 * chunk's count of allocated frames is right, and the ready frames are
 * what they should be.
 * 0, or -EBADMSG naming the first frame that disagrees (in msg).
 */
int cow__frames_check(char *msg, size_t len,
		      int (*bad)(char *, size_t, const char *, ...))
{
	for (uint64_t f = 0; f < cow__frames_span(); f++) {
		struct cow__chunk *ch = chunk_of((cow__frame)f);
		uint32_t s = slot_of((cow__frame)f);
		bool live = bit_test(ch->live, s), extra = bit_test(ch->extra, s);

		if ((extra && !live) || extra != (ch->ref[s] > 0))
			return bad(msg, len, "frame %llu: count above one %u, live bit %d, extra bit %d",
				   (unsigned long long)f, ch->ref[s], live, extra);
		if (live && !bit_test(ch->allocated, s))
			return bad(msg, len, "frame %llu: referenced, not allocated",
				   (unsigned long long)f);
	}
	for (uint32_t c = 0; c < frames.nchunks; c++) {
		uint32_t n = 0;

		for (uint32_t w = 0; w < COW__CHUNK_FRAMES / 64; w++)
			n += (uint32_t)__builtin_popcountll(frames.chunk[c].allocated[w]);
		if (n != frames.chunk[c].nalloc)
			return bad(msg, len, "chunk %u: %u frames allocated, counted %u",
				   c, n, frames.chunk[c].nalloc);
	}
	return ready_check(msg, len, bad);
}

/* cow__frames_span — frames the frame store spans (allocated or not). */
uint64_t cow__frames_span(void)
{
	return (uint64_t)frames.nchunks << COW__CHUNK_SHIFT;
}

/* cow__frames_fd — the memfd, for mapping frames. */
int cow__frames_fd(void)
{
	return frames.fd;
}

/* cow__frames_in_use — frames with a count above 0. */
uint64_t cow__frames_in_use(void)
{
	return frames.in_use;
}

/* Public: frames in use in the frame store. */
COW_API uint64_t cow_frames_in_use(void)
{
	uint64_t n;

	if (cow__ensure_init())
		return 0;
	cow__engine_lock();
	n = frames.in_use;
	cow__engine_unlock();
	return n;
}
