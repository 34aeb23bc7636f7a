/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_heap.c — the space heap: allocation, free, realloc, the checker, bad
 * offsets and damage, a full heap, position independence, and randomized runs
 * against a reference model, on a bare region and on a space that is
 * snapshotted, restored and forked in the middle, also by other threads.
 */
#include <cow.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testlib.h"
#include "heap_internal.h"

#define MIB (1024 * 1024)

/* ---- helpers ------------------------------------------------------------ */

static void *region_new(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	assert_true(p != MAP_FAILED);
	return p;
}

static void check_ok(cow_heap *h)
{
	char report[256];
	int e = cow_heap_check(h, report, sizeof report);

	if (e)
		fail_msg("cow_heap_check: %d %s", e, report);
}

/* Expect cow_heap_check to find damage whose description contains what. */
static void check_finds(cow_heap *h, const char *what)
{
	char report[256];

	assert_int_equal(cow_heap_check(h, report, sizeof report), -EBADMSG);
	if (!strstr(report, what))
		fail_msg("check report \"%s\" does not mention \"%s\"", report, what);
}

static void last_error_says(cow_heap *h, int err, const char *what)
{
	char msg[256];

	assert_int_equal(cow_heap_last_error(h, msg, sizeof msg), err);
	if (!strstr(msg, what))
		fail_msg("last error \"%s\" does not mention \"%s\"", msg, what);
}

/* ---- the reference model: slot -> (offset, size, content seed) ------------ */

#define SLOTS 384

struct obj {
	cow_off off;		/* 0: empty slot */
	size_t size;
	uint64_t seed;
};

struct model {
	struct obj o[SLOTS];
};

static inline unsigned char pat(uint64_t seed, size_t i)
{
	return (unsigned char)((seed >> ((i & 7) * 8)) + i * 131);
}

static void fill(cow_heap *h, const struct obj *o)
{
	unsigned char *p = cow_heap_ptr(h, o->off);

	for (size_t i = 0; i < o->size; i++)
		p[i] = pat(o->seed, i);
}

/* 1 if the first n bytes at off hold seed's pattern. */
static int holds(cow_heap *h, cow_off off, uint64_t seed, size_t n)
{
	const unsigned char *p = cow_heap_ptr(h, off);

	for (size_t i = 0; i < n; i++)
		if (p[i] != pat(seed, i))
			return 0;
	return 1;
}

static void verify_all(cow_heap *h, const struct model *m)
{
	size_t live = 0, bytes = 0;
	struct cow_heap_stats st;

	for (int i = 0; i < SLOTS; i++) {
		const struct obj *o = &m->o[i];

		if (!o->off)
			continue;
		if (!holds(h, o->off, o->seed, o->size))
			fail_msg("slot %d (offset %llu, %zu bytes) lost its content", i,
				 (unsigned long long)o->off, o->size);
		assert_true(cow_heap_usable_size(h, o->off) >= o->size);
		live++;
		bytes += cow_heap_usable_size(h, o->off) + 16;
	}
	assert_int_equal(cow_heap_stats_get(h, &st), 0);
	assert_int_equal(st.used_blocks, live);
	assert_int_equal(st.used_bytes, bytes);
}

static size_t rand_size(struct t_rng *r)
{
	uint64_t k = t_rng_below(r, 100);

	if (k < 70)
		return t_rng_below(r, 257);
	if (k < 96)
		return 257 + t_rng_below(r, 4096);
	return 4353 + t_rng_below(r, 60000);
}

/* One random operation on a random slot, checked against the model. */
static void step(cow_heap *h, struct model *m, struct t_rng *r)
{
	struct obj *o = &m->o[t_rng_below(r, SLOTS)];
	unsigned op = (unsigned)t_rng_below(r, 10);
	size_t n = rand_size(r);
	cow_off off;

	if (!o->off) {
		off = op < 2 ? cow_heap_calloc(h, 1, n) : cow_heap_alloc(h, n);
		if (!off) {
			assert_int_equal(errno, ENOMEM);
			return;
		}
		assert_int_equal(off % 16, 0);
		assert_true(cow_heap_usable_size(h, off) >= n);
		if (op < 2)
			assert_true(n == 0 || ((unsigned char *)cow_heap_ptr(h, off))[n - 1] == 0);
		*o = (struct obj){ off, n, t_rng_next(r) };
		fill(h, o);
	} else if (op < 6) {
		assert_true(holds(h, o->off, o->seed, o->size));
		assert_int_equal(cow_heap_free(h, o->off), 0);
		o->off = 0;
	} else {
		off = cow_heap_realloc(h, o->off, n);
		if (!off) {
			assert_int_equal(errno, ENOMEM);
			assert_true(holds(h, o->off, o->seed, o->size));
			return;
		}
		assert_true(holds(h, off, o->seed, n < o->size ? n : o->size));
		*o = (struct obj){ off, n, t_rng_next(r) };
		fill(h, o);
	}
}

/* ---- basics on a bare region ----------------------------------------------- */

static void test_basic(void **state)
{
	size_t size = 1 * MIB;
	void *mem = region_new(size);
	cow_heap *h = cow__heap_open_region(mem, size, 1);
	struct cow_heap_stats st;
	cow_off a, b, c;

	assert_non_null(h);
	check_ok(h);
	assert_int_equal(cow_heap_stats_get(h, &st), 0);
	assert_int_equal(st.size, size);
	assert_int_equal(st.used_blocks, 0);
	assert_int_equal(st.free_blocks, 1);
	assert_int_equal(st.free_bytes, size - COW__HEAP_HEADER - 16);
	assert_int_equal(st.largest_free, st.free_bytes - 16);

	a = cow_heap_alloc(h, 100);
	b = cow_heap_alloc(h, 0);
	c = cow_heap_alloc(h, 5000);
	assert_true(a && b && c);
	assert_true(a % 16 == 0 && b % 16 == 0 && c % 16 == 0);
	assert_true(cow_heap_usable_size(h, a) >= 100);
	assert_int_equal(cow_heap_usable_size(h, b), 16);
	assert_true(cow_heap_usable_size(h, c) >= 5000);
	assert_ptr_equal(cow_heap_ptr(h, a), (char *)mem + a);
	assert_int_equal(cow_heap_off(h, cow_heap_ptr(h, c)), c);
	assert_null(cow_heap_ptr(h, 0));
	assert_int_equal(cow_heap_off(h, NULL), 0);
	memset(cow_heap_ptr(h, a), 0xaa, cow_heap_usable_size(h, a));
	memset(cow_heap_ptr(h, b), 0xbb, cow_heap_usable_size(h, b));
	check_ok(h);
	assert_int_equal(cow_heap_stats_get(h, &st), 0);
	assert_int_equal(st.used_blocks, 3);

	/* free in an order that exercises merging with both neighbours */
	assert_int_equal(cow_heap_free(h, a), 0);
	check_ok(h);
	assert_int_equal(cow_heap_free(h, c), 0);
	check_ok(h);
	assert_int_equal(cow_heap_free(h, b), 0);
	check_ok(h);
	assert_int_equal(cow_heap_stats_get(h, &st), 0);
	assert_int_equal(st.used_blocks, 0);
	assert_int_equal(st.free_blocks, 1);
	assert_int_equal(cow_heap_free(h, 0), 0);

	/* the root */
	assert_int_equal(cow_heap_root(h), 0);
	a = cow_heap_alloc(h, 64);
	assert_int_equal(cow_heap_set_root(h, a), 0);
	assert_int_equal(cow_heap_root(h), a);
	assert_int_equal(cow_heap_set_root(h, a + 16), -EINVAL);
	assert_int_equal(cow_heap_root(h), a);
	assert_int_equal(cow_heap_set_root(h, 0), 0);
	assert_int_equal(cow_heap_root(h), 0);
	cow_heap_close(h);
	munmap(mem, size);
}

/* Every size from 0 to a few KiB: aligned, large enough, no overlap. */
static void test_sizes(void **state)
{
	size_t size = 4 * MIB;
	void *mem = region_new(size);
	cow_heap *h = cow__heap_open_region(mem, size, 1);
	static struct obj o[1200];

	for (size_t n = 0; n < 1200; n++) {
		o[n] = (struct obj){ cow_heap_alloc(h, n), n, n * 7919 };
		assert_true(o[n].off && o[n].off % 16 == 0);
		assert_true(cow_heap_usable_size(h, o[n].off) >= n);
		assert_true(cow_heap_usable_size(h, o[n].off) < n + 48);
		fill(h, &o[n]);
	}
	check_ok(h);
	for (size_t n = 0; n < 1200; n += 2)
		assert_int_equal(cow_heap_free(h, o[n].off), 0);
	check_ok(h);
	for (size_t n = 1; n < 1200; n += 2) {
		assert_true(holds(h, o[n].off, o[n].seed, n));
		assert_int_equal(cow_heap_free(h, o[n].off), 0);
	}
	check_ok(h);
	cow_heap_close(h);
	munmap(mem, size);
}

static void test_calloc_realloc(void **state)
{
	size_t size = 1 * MIB;
	void *mem = region_new(size);
	cow_heap *h = cow__heap_open_region(mem, size, 1);
	cow_off a, b, c;
	struct obj o;

	/* calloc zeroes recycled memory */
	a = cow_heap_alloc(h, 1000);
	memset(cow_heap_ptr(h, a), 0xff, 1000);
	assert_int_equal(cow_heap_free(h, a), 0);
	b = cow_heap_calloc(h, 10, 100);
	assert_int_equal(b, a);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(((unsigned char *)cow_heap_ptr(h, b))[i], 0);
	assert_int_equal(cow_heap_calloc(h, SIZE_MAX / 2, 3), 0);
	assert_int_equal(errno, ENOMEM);

	/* shrink in place, grow in place into the freed tail, then move */
	o = (struct obj){ b, 1000, 42 };
	fill(h, &o);
	c = cow_heap_alloc(h, 3000);	/* after b */
	assert_int_equal(cow_heap_realloc(h, b, 200), b);
	assert_true(holds(h, b, 42, 200));
	check_ok(h);
	assert_int_equal(cow_heap_realloc(h, b, 900), b);
	assert_true(holds(h, b, 42, 200));
	check_ok(h);
	a = cow_heap_realloc(h, b, 9000);
	assert_true(a && a != b);
	assert_true(holds(h, a, 42, 200));
	assert_int_equal(cow_heap_free(h, b), -EINVAL);	/* moved: b was freed */
	check_ok(h);
	assert_int_equal(cow_heap_realloc(h, a, 0), a);
	assert_int_equal(cow_heap_usable_size(h, a), 16);
	assert_int_equal(cow_heap_realloc(h, 0, 10) != 0, 1);
	assert_int_equal(cow_heap_realloc(h, c + 32, 10), 0);
	assert_int_equal(errno, EINVAL);
	/* too large: ENOMEM, the block is untouched */
	assert_int_equal(cow_heap_realloc(h, c, size), 0);
	assert_int_equal(errno, ENOMEM);
	assert_int_equal(cow_heap_realloc(h, c, SIZE_MAX), 0);
	assert_int_equal(errno, ENOMEM);
	assert_true(cow_heap_usable_size(h, c) >= 3000);
	check_ok(h);
	cow_heap_close(h);
	munmap(mem, size);
}

/* Wild offsets and double frees are refused, and change nothing. */
static void test_bad_free(void **state)
{
	size_t size = 1 * MIB;
	void *mem = region_new(size);
	cow_heap *h = cow__heap_open_region(mem, size, 1);
	cow_off a = cow_heap_alloc(h, 100), b = cow_heap_alloc(h, 100);
	cow_off c = cow_heap_alloc(h, 100), d = cow_heap_alloc(h, 100);
	struct cow_heap_stats st0, st1;

	assert_int_equal(cow_heap_free(h, b), 0);
	assert_int_equal(cow_heap_stats_get(h, &st0), 0);
	assert_int_equal(cow_heap_free(h, b), -EINVAL);
	last_error_says(h, -EINVAL, "double free");
	assert_int_equal(cow_heap_free(h, a), 0);	/* a merges with b */
	assert_int_equal(cow_heap_free(h, b), -EINVAL);
	last_error_says(h, -EINVAL, "not the start of a block");
	assert_int_equal(cow_heap_free(h, a), -EINVAL);
	check_ok(h);

	assert_int_equal(cow_heap_stats_get(h, &st0), 0);
	assert_int_equal(cow_heap_free(h, c + 16), -EINVAL);	/* interior */
	assert_int_equal(cow_heap_free(h, c + 1), -EINVAL);	/* misaligned */
	last_error_says(h, -EINVAL, "misaligned");
	assert_int_equal(cow_heap_free(h, 16), -EINVAL);	/* the header */
	assert_int_equal(cow_heap_free(h, size), -EINVAL);	/* beyond */
	assert_int_equal(cow_heap_free(h, size - 16), -EINVAL);	/* the sentinel */
	assert_int_equal(cow_heap_free(h, UINT64_MAX - 15), -EINVAL);
	assert_int_equal(cow_heap_free(h, d + 160), -EINVAL);	/* the free tail */
	assert_int_equal(cow_heap_usable_size(h, c + 16), 0);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(cow_heap_stats_get(h, &st1), 0);
	assert_memory_equal(&st0, &st1, sizeof st0);
	check_ok(h);
	assert_int_equal(cow_heap_free(h, c), 0);
	assert_int_equal(cow_heap_free(h, d), 0);
	check_ok(h);
	cow_heap_close(h);
	munmap(mem, size);
}

static void test_bad_args(void **state)
{
	struct cow_heap_stats st;
	char buf[64];
	void *mem = region_new(8192);
	cow_heap *h;

	assert_null(cow_heap_init(NULL));
	assert_int_equal(errno, EINVAL);
	assert_null(cow_heap_attach(NULL));
	assert_int_equal(errno, EINVAL);
	cow_heap_close(NULL);
	assert_int_equal(cow_heap_alloc(NULL, 1), 0);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(cow_heap_calloc(NULL, 1, 1), 0);
	assert_int_equal(cow_heap_realloc(NULL, 0, 1), 0);
	assert_int_equal(cow_heap_free(NULL, 4112), -EINVAL);
	assert_int_equal(cow_heap_free(NULL, 0), -EINVAL);
	assert_int_equal(cow_heap_usable_size(NULL, 4112), 0);
	assert_null(cow_heap_ptr(NULL, 4112));
	assert_int_equal(cow_heap_off(NULL, buf), 0);
	assert_int_equal(cow_heap_set_root(NULL, 0), -EINVAL);
	assert_int_equal(cow_heap_root(NULL), 0);
	assert_int_equal(cow_heap_check(NULL, buf, sizeof buf), -EINVAL);
	assert_int_equal(cow_heap_last_error(NULL, buf, sizeof buf), -EINVAL);
	assert_int_equal(cow_heap_stats_get(NULL, &st), -EINVAL);
	assert_int_equal(cow_heap_lock(NULL), -EINVAL);
	assert_int_equal(cow_heap_unlock(NULL), -EINVAL);

	assert_null(cow__heap_open_region(NULL, 8192, 1));
	assert_null(cow__heap_open_region((char *)mem + 8, 4096, 1));
	assert_null(cow__heap_open_region(mem, 4096, 1));
	assert_int_equal(errno, EINVAL);
	assert_null(cow__heap_open_region(mem, 8192, 0));	/* zeroes: no heap */
	assert_int_equal(errno, EBADMSG);
	h = cow__heap_open_region(mem, 8192, 1);
	assert_non_null(h);
	assert_int_equal(cow_heap_stats_get(h, NULL), -EINVAL);
	assert_null(cow_heap_ptr(h, 8192));
	assert_int_equal(errno, EINVAL);
	assert_int_equal(cow_heap_off(h, buf), 0);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(cow_heap_unlock(h), -EPERM);
	assert_int_equal(cow_heap_lock(h), 0);
	assert_int_equal(cow_heap_lock(h), 0);	/* recursive */
	assert_true(cow_heap_alloc(h, 10) != 0);	/* heap calls while locked */
	assert_int_equal(cow_heap_unlock(h), 0);
	assert_int_equal(cow_heap_unlock(h), 0);
	assert_int_equal(cow_heap_last_error(h, buf, sizeof buf), 0);
	assert_string_equal(buf, "ok");
	cow_heap_close(h);
	munmap(mem, 8192);
}

/* Fill the heap to ENOMEM: it stays consistent and usable. */
static void test_full(void **state)
{
	size_t size = 256 * 1024;
	void *mem = region_new(size);
	cow_heap *h = cow__heap_open_region(mem, size, 1);
	static cow_off offs[20000];
	struct cow_heap_stats st;
	struct t_rng r;
	size_t n = 0;
	cow_off big;

	t_rng_seed(&r, t_seed("heap_full"));
	for (;;) {
		cow_off o = cow_heap_alloc(h, 1 + t_rng_below(&r, 2000));

		if (!o)
			break;
		offs[n++] = o;
	}
	assert_int_equal(errno, ENOMEM);
	last_error_says(h, -ENOMEM, "no free block");
	check_ok(h);
	/* free every third block: holes of all sizes */
	for (size_t i = 0; i < n; i += 3) {
		assert_int_equal(cow_heap_free(h, offs[i]), 0);
		offs[i] = 0;
	}
	check_ok(h);
	/* largest_free is exact: that size fits, one more byte does not */
	assert_int_equal(cow_heap_stats_get(h, &st), 0);
	assert_true(st.largest_free > 0);
	assert_int_equal(cow_heap_alloc(h, st.largest_free + 1), 0);
	assert_int_equal(errno, ENOMEM);
	big = cow_heap_alloc(h, st.largest_free);
	assert_true(big != 0);
	assert_int_equal(cow_heap_free(h, big), 0);
	/* small allocations fill the holes again */
	while (cow_heap_alloc(h, 16))
		;
	check_ok(h);
	for (size_t i = 0; i < n; i++)
		if (offs[i])
			assert_int_equal(cow_heap_free(h, offs[i]), 0);
	check_ok(h);
	cow_heap_close(h);
	munmap(mem, size);
}

/* Damage of each kind is found by the checker (and by free where it looks). */
static void test_damage(void **state)
{
	size_t size = 1 * MIB;
	void *mem = region_new(size);
	unsigned char *base = mem;
	cow_heap *h;
	cow_off a, b, c;
	uint64_t *w;

	/* a buffer overrun into the next block's header */
	h = cow__heap_open_region(mem, size, 1);
	a = cow_heap_alloc(h, 40);
	b = cow_heap_alloc(h, 40);
	memset(base + a, 0x55, cow_heap_usable_size(h, a) + 8);
	check_finds(h, "bad tag");
	assert_int_equal(cow_heap_free(h, b), -EINVAL);
	assert_int_equal(cow_heap_free(h, a), -EBADMSG);
	last_error_says(h, -EBADMSG, "damaged");
	cow_heap_close(h);

	/* a free block's footer */
	h = cow__heap_open_region(mem, size, 1);
	a = cow_heap_alloc(h, 200);
	b = cow_heap_alloc(h, 200);
	c = cow_heap_alloc(h, 200);
	assert_int_equal(cow_heap_free(h, b), 0);
	w = (uint64_t *)(base + c - 16 - 8);
	*w ^= 0x100;
	check_finds(h, "footer");
	assert_int_equal(cow_heap_free(h, c), -EBADMSG);	/* cannot find b */
	*w ^= 0x100;
	check_ok(h);

	/* a free-list link, a bitmap bit, a counter */
	w = (uint64_t *)(base + b - 16 + 16);	/* b's next link */
	*w = 12345;
	check_finds(h, "not a free block");
	*w = 0;
	check_ok(h);
	((uint16_t *)(base + 0x60))[3] ^= 1;	/* somewhere in the bitmaps */
	assert_int_equal(cow_heap_check(h, NULL, 0), -EBADMSG);
	((uint16_t *)(base + 0x60))[3] ^= 1;
	check_ok(h);
	w = (uint64_t *)(base + 0x38);	/* used_blocks */
	(*w)++;
	check_finds(h, "counters");
	(*w)--;
	check_ok(h);
	(void)a;

	/* the header's identity */
	base[17]++;	/* inside size: the checksum no longer matches */
	check_finds(h, "header");
	cow_heap_close(h);
	assert_null(cow__heap_open_region(mem, size, 0));
	assert_int_equal(errno, EBADMSG);
	base[17]--;
	h = cow__heap_open_region(mem, size, 0);
	assert_non_null(h);
	check_ok(h);
	memset(base, 0, 8);	/* the magic: every call refuses */
	assert_int_equal(cow_heap_alloc(h, 1), 0);
	assert_int_equal(errno, EBADMSG);
	assert_int_equal(cow_heap_free(h, c), -EBADMSG);
	cow_heap_close(h);
	munmap(mem, size);
}

/* The heap's bytes copied to another address are the same heap there. */
static void test_position_independent(void **state)
{
	size_t size = 1 * MIB;
	unsigned char *m1 = region_new(size), *m2 = region_new(size);
	cow_heap *h1 = cow__heap_open_region(m1, size, 1), *h2;
	struct node { cow_off next; int value; } *n;
	cow_off head = 0;

	for (int i = 0; i < 1000; i++) {
		cow_off o = cow_heap_alloc(h1, sizeof *n + (size_t)i % 50);

		n = cow_heap_ptr(h1, o);
		n->next = head;
		n->value = i;
		head = o;
	}
	assert_int_equal(cow_heap_set_root(h1, head), 0);
	memcpy(m2, m1, size);
	memset(m1, 0, size);
	h2 = cow__heap_open_region(m2, size, 0);
	assert_non_null(h2);
	check_ok(h2);
	head = cow_heap_root(h2);
	for (int i = 999; i >= 0; i--) {
		n = cow_heap_ptr(h2, head);
		assert_int_equal(n->value, i);
		head = n->next;
		if (i % 2)
			assert_true(cow_heap_realloc(h2, cow_heap_off(h2, n), 300) != 0);
	}
	assert_int_equal(head, 0);
	check_ok(h2);
	cow_heap_close(h1);
	cow_heap_close(h2);
	munmap(m1, size);
	munmap(m2, size);
}

/* A region larger than the largest block: several top blocks, merges capped. */
static void test_huge_region(void **state)
{
	size_t size = (size_t)300 << 30;
	void *mem = mmap(NULL, size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	struct cow_heap_stats st;
	cow_off a, b, c;
	cow_heap *h;

	if (mem == MAP_FAILED) {
		fprintf(stderr, "huge region: mmap of 300 GiB refused, skipped\n");
		skip();
	}
	h = cow__heap_open_region(mem, size, 1);
	assert_non_null(h);
	check_ok(h);
	assert_int_equal(cow_heap_stats_get(h, &st), 0);
	assert_int_equal(st.free_blocks, 3);
	assert_int_equal(st.largest_free, COW__HEAP_BLOCK_MAX - 16);
	/* 300 GiB: two top blocks of 128 GiB and one of ~44 GiB */
	a = cow_heap_alloc(h, COW__HEAP_BLOCK_MAX - 16);
	b = cow_heap_alloc(h, (size_t)30 << 30);
	c = cow_heap_alloc(h, COW__HEAP_BLOCK_MAX - 16);
	assert_true(a && b && c);
	assert_int_equal(cow_heap_alloc(h, COW__HEAP_BLOCK_MAX), 0);
	assert_int_equal(errno, ENOMEM);
	check_ok(h);
	assert_int_equal(cow_heap_free(h, b), 0);
	assert_int_equal(cow_heap_free(h, a), 0);
	assert_int_equal(cow_heap_free(h, c), 0);
	check_ok(h);
	assert_int_equal(cow_heap_stats_get(h, &st), 0);
	assert_int_equal(st.used_blocks, 0);
	assert_int_equal(st.free_blocks, 3);	/* merges stop at the largest block */
	cow_heap_close(h);
	munmap(mem, size);
}

/* Randomized: a bare region, "snapshots" and "forks" by copying its bytes.
 * Sized by *state: roomy, or tight enough that allocations often fail. */
static void test_random_region(void **state)
{
	size_t size = *(size_t *)*state;
	unsigned char *mem = region_new(size), *saved = region_new(size);
	unsigned char *other = region_new(size);
	cow_heap *h = cow__heap_open_region(mem, size, 1);
	static struct model m, msaved, mfork;
	unsigned steps = 3000 * t_scale();
	int have_saved = 0;
	struct t_rng r;

	t_rng_seed(&r, t_seed("heap_random_region"));
	memset(&m, 0, sizeof m);
	for (unsigned i = 0; i < steps; i++) {
		unsigned what = (unsigned)t_rng_below(&r, 200);

		if (what == 0) {		/* "snapshot" */
			memcpy(saved, mem, size);
			msaved = m;
			have_saved = 1;
		} else if (what == 1 && have_saved) {	/* "restore" */
			memcpy(mem, saved, size);
			m = msaved;
			verify_all(h, &m);
		} else if (what == 2) {	/* "fork" to another address */
			cow_heap *f;

			memcpy(other, mem, size);
			f = cow__heap_open_region(other, size, 0);
			assert_non_null(f);
			mfork = m;
			verify_all(f, &mfork);
			for (int k = 0; k < 100; k++) {
				step(f, &mfork, &r);
				check_ok(f);
			}
			verify_all(f, &mfork);
			cow_heap_close(f);
			verify_all(h, &m);
		} else {
			step(h, &m, &r);
		}
		check_ok(h);
	}
	verify_all(h, &m);
	cow_heap_close(h);
	munmap(mem, size);
	munmap(saved, size);
	munmap(other, size);
}

/* In the child of fork(2), handles are stale. */
static void child_stale(void *arg)
{
	cow_heap *h = arg;

	if (cow_heap_alloc(h, 10) != 0 || errno != ESTALE)
		_exit(1);
	if (cow_heap_free(h, 4112) != -ESTALE || cow_heap_check(h, NULL, 0) != -ESTALE)
		_exit(2);
	cow_heap_close(h);
	_exit(0);
}

static void test_fork_stale(void **state)
{
	void *mem = region_new(65536);
	cow_heap *h = cow__heap_open_region(mem, 65536, 1);
	int st = t_in_child(child_stale, h);

	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_true(cow_heap_alloc(h, 10) != 0);
	cow_heap_close(h);
	munmap(mem, 65536);
}

/* ---- on a space: the engine's snapshots, restores and forks ---------------- */

static void test_space_basic(void **state)
{
	cow_space *s = cow_space_create(1 * MIB, 0), *tiny = cow_space_create(4096, 0);
	cow_heap *h, *h2;
	cow_off a;

	T_START();

	assert_non_null(s);
	assert_non_null(tiny);
	assert_null(cow_heap_init(tiny));
	assert_int_equal(errno, EINVAL);
	assert_null(cow_heap_attach(s));	/* zeroes: no heap yet */
	assert_int_equal(errno, EBADMSG);
	h = cow_heap_init(s);
	assert_non_null(h);
	assert_null(cow_heap_attach(s));	/* one handle per space */
	assert_int_equal(errno, EBUSY);
	assert_null(cow_heap_init(s));
	assert_int_equal(errno, EBUSY);
	a = cow_heap_alloc(h, 100);
	strcpy(cow_heap_ptr(h, a), "hello");
	assert_int_equal(cow_heap_set_root(h, a), 0);
	assert_ptr_equal(cow_heap_ptr(h, a), (char *)cow_base(s) + a);
	cow_heap_close(h);

	h2 = cow_heap_attach(s);
	assert_non_null(h2);
	check_ok(h2);
	assert_string_equal(cow_heap_ptr(h2, cow_heap_root(h2)), "hello");
	cow_heap_close(h2);
	cow_space_destroy(s);
	cow_space_destroy(tiny);
}

/* cow_restore to a snapshot taken before the heap existed: calls refuse. */
static void test_restore_without_heap(void **state)
{
	cow_snap *empty, *full;
	cow_space *s;
	cow_heap *h;
	cow_off a;

	T_START();
	s = cow_space_create(256 * 1024, 0);
	empty = cow_snapshot(s);
	h = cow_heap_init(s);
	a = cow_heap_alloc(h, 10);

	assert_true(a != 0);
	full = cow_snapshot(s);
	assert_int_equal(cow_restore(s, empty), 0);
	assert_int_equal(cow_heap_alloc(h, 10), 0);
	assert_int_equal(errno, EBADMSG);
	assert_int_equal(cow_heap_free(h, a), -EBADMSG);
	assert_int_equal(cow_heap_check(h, NULL, 0), -EBADMSG);
	assert_int_equal(cow_restore(s, full), 0);	/* and back */
	check_ok(h);
	assert_int_equal(cow_heap_free(h, a), 0);
	cow_heap_close(h);
	cow_snap_release(empty);
	cow_snap_release(full);
	cow_space_destroy(s);
}

/* Verify a snapshot holds a consistent heap with model m's content. */
static void verify_snapshot(cow_snap *snap, const struct model *m)
{
	cow_space *v = cow_space_from_snap(snap);
	cow_heap *hv;

	assert_non_null(v);
	hv = cow_heap_attach(v);
	assert_non_null(hv);
	check_ok(hv);
	if (m)
		verify_all(hv, m);
	cow_heap_close(hv);
	cow_space_destroy(v);
}

#define KEEP 4

/* Randomized, on a space: snapshot, restore and fork in the middle. */
static void test_random_space(void **state)
{
	cow_space *s = cow_space_create(2 * MIB, 0);
	cow_heap *h = cow_heap_init(s);
	static struct model m, msnap[KEEP], mfork;
	cow_snap *snap[KEEP] = { 0 };
	unsigned steps = 2000 * t_scale();
	struct t_rng r;

	T_START();

	assert_non_null(h);
	t_rng_seed(&r, t_seed("heap_random_space"));
	memset(&m, 0, sizeof m);
	for (unsigned i = 0; i < steps; i++) {
		unsigned what = (unsigned)t_rng_below(&r, 100), k = (unsigned)t_rng_below(&r, KEEP);

		if (what == 0) {		/* snapshot into slot k */
			cow_snap_release(snap[k]);
			snap[k] = cow_snapshot(s);
			assert_non_null(snap[k]);
			msnap[k] = m;
		} else if (what == 1 && snap[k]) {	/* restore slot k */
			assert_int_equal(cow_restore(s, snap[k]), 0);
			m = msnap[k];
			verify_all(h, &m);
		} else if (what == 2) {	/* fork, work in the fork, drop it */
			cow_space *f = cow_fork(s);
			cow_heap *hf;

			assert_non_null(f);
			hf = cow_heap_attach(f);
			assert_non_null(hf);
			mfork = m;
			verify_all(hf, &mfork);
			for (int j = 0; j < 50; j++) {
				step(hf, &mfork, &r);
				check_ok(hf);
			}
			verify_all(hf, &mfork);
			cow_heap_close(hf);
			cow_space_destroy(f);
			verify_all(h, &m);
		} else if (what == 3 && snap[k]) {	/* the snapshot is intact */
			verify_snapshot(snap[k], &msnap[k]);
		} else {
			step(h, &m, &r);
		}
		check_ok(h);
	}
	verify_all(h, &m);
	for (int k = 0; k < KEEP; k++) {
		if (snap[k])
			verify_snapshot(snap[k], &msnap[k]);
		cow_snap_release(snap[k]);
	}
	cow_heap_close(h);
	cow_space_destroy(s);
	t_check_invariants();
}

/* Threads allocate, write and free while the main thread snapshots and forks:
 * every snapshot and fork is a consistent heap. */
struct worker {
	cow_heap *h;
	uint64_t seed;
	int stop;
	unsigned ops;
};

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	struct obj o[64] = { 0 };
	struct t_rng r;

	t_rng_seed(&r, w->seed);
	while (!__atomic_load_n(&w->stop, __ATOMIC_RELAXED) || w->ops < 2000) {
		struct obj *x = &o[t_rng_below(&r, 64)];

		if (x->off) {
			if (!holds(w->h, x->off, x->seed, x->size))
				fail_msg("worker: object at %llu lost its content",
					 (unsigned long long)x->off);
			assert_int_equal(cow_heap_free(w->h, x->off), 0);
			x->off = 0;
		} else {
			size_t n = t_rng_below(&r, 3000);

			x->off = cow_heap_alloc(w->h, n);
			assert_true(x->off != 0);
			x->size = n;
			x->seed = t_rng_next(&r);
			fill(w->h, x);
		}
		w->ops++;
	}
	for (int i = 0; i < 64; i++)
		if (o[i].off)
			assert_int_equal(cow_heap_free(w->h, o[i].off), 0);
	return NULL;
}

static void test_threads_snapshot(void **state)
{
	enum { NW = 3 };
	cow_space *s = cow_space_create(4 * MIB, 0);
	cow_heap *h = cow_heap_init(s);
	struct worker w[NW];
	pthread_t t[NW];
	uint64_t seed = t_seed("heap_threads");
	struct cow_heap_stats st;

	T_START();

	for (int i = 0; i < NW; i++) {
		w[i] = (struct worker){ h, seed + (uint64_t)i, 0, 0 };
		assert_int_equal(pthread_create(&t[i], NULL, worker_run, &w[i]), 0);
	}
	for (unsigned i = 0; i < 20 * t_scale(); i++) {
		if (i % 4 == 3) {
			cow_space *f = cow_fork(s);
			cow_heap *hf = cow_heap_attach(f);

			assert_non_null(hf);
			check_ok(hf);
			cow_heap_close(hf);
			cow_space_destroy(f);
		} else {
			cow_snap *snap = cow_snapshot(s);

			assert_non_null(snap);
			verify_snapshot(snap, NULL);
			cow_snap_release(snap);
		}
	}
	for (int i = 0; i < NW; i++)
		__atomic_store_n(&w[i].stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < NW; i++)
		pthread_join(t[i], NULL);
	check_ok(h);
	assert_int_equal(cow_heap_stats_get(h, &st), 0);
	assert_int_equal(st.used_blocks, 0);
	assert_int_equal(st.free_blocks, 1);
	cow_heap_close(h);
	cow_space_destroy(s);
	t_check_invariants();
}

/* Copy-on-write locality: after a snapshot, freeing a small block and
 * allocating one of the same size writes at most a few pages. */
static void test_locality(void **state)
{
	cow_space *s = cow_space_create(4 * MIB, 0);
	cow_heap *h = cow_heap_init(s);
	struct cow_stats before, after;
	static cow_off o[2000];
	cow_snap *snap;

	T_START();

	for (int i = 0; i < 2000; i++)
		o[i] = cow_heap_alloc(h, 16 + (size_t)(i % 7) * 40);
	for (int i = 0; i < 2000; i += 5)
		assert_int_equal(cow_heap_free(h, o[i]), 0);
	snap = cow_snapshot(s);
	assert_int_equal(cow_stats_get(s, &before), 0);
	assert_int_equal(cow_heap_free(h, o[1002]), 0);
	assert_int_equal(cow_heap_alloc(h, 16 + (1002 % 7) * 40), o[1002]);
	assert_int_equal(cow_stats_get(s, &after), 0);
	fprintf(stderr, "free + alloc after a snapshot: %llu pages written\n",
		(unsigned long long)(after.faults - before.faults));
	assert_true(after.faults - before.faults <= 4);
	check_ok(h);
	cow_snap_release(snap);
	cow_heap_close(h);
	cow_space_destroy(s);
	t_check_invariants();
}

int main(void)
{
	static size_t roomy = 2 * MIB, tight = 192 * 1024;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_calloc_realloc),
		cmocka_unit_test(test_bad_free),
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_damage),
		cmocka_unit_test(test_position_independent),
		cmocka_unit_test(test_huge_region),
		cmocka_unit_test_prestate(test_random_region, &roomy),
		cmocka_unit_test_prestate(test_random_region, &tight),
		cmocka_unit_test(test_fork_stale),
		cmocka_unit_test(test_space_basic),
		cmocka_unit_test(test_restore_without_heap),
		cmocka_unit_test(test_random_space),
		cmocka_unit_test(test_threads_snapshot),
		cmocka_unit_test(test_locality),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
