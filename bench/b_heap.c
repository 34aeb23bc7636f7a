/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bench heap: the space heap against the system malloc, in the same run.
 *
 *   heap_ops             allocations and frees per second, one thread, the
 *                        same random sequence for both (live objects bounded
 *                        by --live slots, sizes 16 B..8 KiB);
 *   heap_pages_dirtied   pages whose content changed per 1,000 of those
 *                        operations in a warm heap, found by diffing against
 *                        a copy taken before; the baseline is the same
 *                        figure for malloc's heap ([heap], the brk area);
 *                        and against the floor for a heap with a header and
 *                        a boundary tag in each block: the distinct pages
 *                        holding the first or last bytes of the blocks freed
 *                        and allocated (plus the header page);
 *   heap_cow_faults      copy-on-write faults per 1,000 operations after a
 *                        snapshot of the space (what a snapshot really costs
 *                        the heap), against the diffed figure above: the
 *                        ratio is 1 when the heap never rewrites a page with
 *                        the value it already holds.
 *
 * The operations only allocate and free (no writes into the objects), so
 * the page figures are the allocators' own bookkeeping.
 */
#include "benchlib.h"

#include <cow.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE 4096u
#define WINDOW 1000u		/* operations per page-count window */

struct op {
	uint32_t slot;
	uint32_t size;
};

struct heap_opts {
	size_t size;		/* bytes of the space */
	size_t ops;		/* operations per timed run */
	size_t live;		/* slots */
	unsigned repeat;
};

static const char heap_usage[] =
	"usage: bench_heap [--size N] [--ops N] [--live N] [--repeat N]\n"
	"  (or: cow bench heap ...)\n"
	"\n"
	"The space heap (cow_heap_alloc/free) against malloc/free on the same\n"
	"random sequence: operations per second, and pages dirtied per 1,000\n"
	"operations (by diffing, and by copy-on-write faults after a snapshot).\n"
	"\n"
	"  --size N    the space (default 32M)\n"
	"  --ops N     operations per timed run (default 400000)\n"
	"  --live N    slots: at most N live objects (default 8192)\n"
	"  --repeat N  timed runs per allocator; medians (default 5)\n";

/* Memory outside malloc's heap, so that it does not disturb the baseline. */
static void *map(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

/* Sizes: 60% 16..128 B, 30% up to 1 KiB, 10% up to 8 KiB. */
static void make_ops(struct op *ops, size_t n, size_t live, uint64_t seed)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t r = rng_next(&seed), k = r % 100;
		uint32_t size = k < 60 ? 16 + (uint32_t)(r >> 8) % 113
			      : k < 90 ? 129 + (uint32_t)(r >> 8) % 896
			      : 1025 + (uint32_t)(r >> 8) % 7168;

		ops[i] = (struct op){ (uint32_t)((r >> 40) % live), size };
	}
}

/* ---- the two allocators behind one shape -------------------------------- */

/* Run ops[0..n) on cow_heap h with slots in slot[]; 0 or -1 (alloc failed). */
static int run_heap(cow_heap *h, uint64_t *slot, const struct op *ops, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t *s = &slot[ops[i].slot];

		if (*s) {
			cow_heap_free(h, *s);
			*s = 0;
		} else if (!(*s = cow_heap_alloc(h, ops[i].size))) {
			return -1;
		}
	}
	return 0;
}

/* Mark in seen[] the pages holding the header or the last byte of block off
 * (a user offset); returns how many were new. */
static size_t mark_block(cow_heap *h, uint64_t off, unsigned char *seen)
{
	uint64_t first = (off - 16) / PAGE, last = (off + cow_heap_usable_size(h, off) - 1) / PAGE;
	size_t n = !seen[first] + (last != first && !seen[last]);

	seen[first] = seen[last] = 1;
	return n;
}

/* run_heap(), also counting the distinct pages of the blocks it frees and
 * allocates: a floor for any allocator that keeps a header and a boundary
 * tag in each block. */
static int run_heap_counted(cow_heap *h, uint64_t *slot, const struct op *ops,
			    size_t n, unsigned char *seen, size_t *pages)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t *s = &slot[ops[i].slot];

		if (*s) {
			*pages += mark_block(h, *s, seen);
			cow_heap_free(h, *s);
			*s = 0;
		} else if ((*s = cow_heap_alloc(h, ops[i].size))) {
			*pages += mark_block(h, *s, seen);
		} else {
			return -1;
		}
	}
	return 0;
}

static int run_malloc(void **slot, const struct op *ops, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		void **s = &slot[ops[i].slot];

		if (*s) {
			free(*s);
			*s = NULL;
		} else if (!(*s = malloc(ops[i].size))) {
			return -1;
		}
	}
	return 0;
}

static void empty_heap(cow_heap *h, uint64_t *slot, size_t live)
{
	for (size_t i = 0; i < live; i++)
		if (slot[i]) {
			cow_heap_free(h, slot[i]);
			slot[i] = 0;
		}
}

static void empty_malloc(void **slot, size_t live)
{
	for (size_t i = 0; i < live; i++) {
		free(slot[i]);
		slot[i] = NULL;
	}
}

/* ---- pages dirtied ---------------------------------------------------------- */

/* Pages of [p, p + len) that differ from copy, plus those of
 * [p + len, p + now) that are not all zero: the area is now bytes long (it
 * may have grown or, for malloc's heap, shrunk meanwhile). */
static size_t pages_changed(const unsigned char *p, const unsigned char *copy,
			    size_t len, size_t now)
{
	static const unsigned char zero[PAGE];
	size_t n = 0;

	for (size_t off = 0; off < len && off < now; off += PAGE)
		n += memcmp(p + off, copy + off, PAGE) != 0;
	for (size_t off = len; off < now; off += PAGE)
		n += memcmp(p + off, zero, PAGE) != 0;
	return n;
}

/* malloc's main heap: [start, sbrk(0)). */
static unsigned char *brk_start(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	unsigned long a, b;
	char line[512];
	unsigned char *start = NULL;

	if (!f)
		return NULL;
	while (fgets(line, sizeof line, f))
		if (strstr(line, "[heap]") && sscanf(line, "%lx-%lx", &a, &b) == 2)
			start = (unsigned char *)a;
	fclose(f);
	return start;
}

/* ---- the measurements ---------------------------------------------------- */

struct heap_bench {
	struct heap_opts o;
	cow_space *s;
	cow_heap *h;
	uint64_t *hslot;
	void **mslot;
	struct op *ops;
	unsigned char *copy;	/* o.size bytes, for diffs */
	unsigned char *seen;	/* a byte per page of the space */
	double *v_heap, *v_malloc, *v_floor;
};

static int measure_ops(struct heap_bench *b)
{
	for (unsigned r = 0; r <= b->o.repeat; r++) {	/* run 0 warms up */
		uint64_t t0 = b_now_ns();

		if (run_heap(b->h, b->hslot, b->ops, b->o.ops))
			return -1;
		uint64_t t1 = b_now_ns();

		empty_heap(b->h, b->hslot, b->o.live);
		uint64_t t2 = b_now_ns();

		if (run_malloc(b->mslot, b->ops, b->o.ops))
			return -1;
		uint64_t t3 = b_now_ns();

		empty_malloc(b->mslot, b->o.live);
		if (r) {
			b->v_heap[r - 1] = (double)b->o.ops * 1e9 / (double)(t1 - t0);
			b->v_malloc[r - 1] = (double)b->o.ops * 1e9 / (double)(t3 - t2);
		}
	}
	b_result("heap_ops", b_median(b->v_heap, b->o.repeat), "ops/s", "malloc_ops",
		 b_median(b->v_malloc, b->o.repeat));
	return 0;
}

/*
 * Warm both allocators with the first half of the sequence, then count, per
 * window of 1,000 operations, the pages each one changed (and, for the heap,
 * the copy-on-write faults after a snapshot taken at the window's start).
 */
static int measure_pages(struct heap_bench *b)
{
	size_t half = b->o.ops / 2, windows = (b->o.ops - half) / WINDOW;
	unsigned char *base = cow_base(b->s), *hs = brk_start();
	double *v_faults;

	if (windows > 64)
		windows = 64;
	v_faults = calloc(windows, sizeof *v_faults);
	if (!v_faults || !hs || !windows)
		goto fail;
	if (run_heap(b->h, b->hslot, b->ops, half) ||
	    run_malloc(b->mslot, b->ops, half))
		goto fail;
	for (size_t w = 0; w < windows; w++) {
		const struct op *ops = b->ops + half + w * WINDOW;
		struct cow_stats s0, s1;
		cow_snap *snap = cow_snapshot(b->s);
		unsigned char *end = sbrk(0);

		size_t floor = 1;	/* the header page */

		if (!snap)
			goto fail;
		memcpy(b->copy, base, b->o.size);
		memset(b->seen, 0, b->o.size / PAGE);
		cow_stats_get(b->s, &s0);
		if (run_heap_counted(b->h, b->hslot, ops, WINDOW, b->seen, &floor))
			goto fail;
		cow_stats_get(b->s, &s1);
		b->v_floor[w] = (double)floor;
		b->v_heap[w] = (double)pages_changed(base, b->copy, b->o.size, b->o.size);
		v_faults[w] = (double)(s1.faults - s0.faults);
		cow_snap_release(snap);

		if ((size_t)(end - hs) > b->o.size)
			goto fail;	/* malloc's heap outgrew the copy */
		memcpy(b->copy, hs, (size_t)(end - hs));
		if (run_malloc(b->mslot, ops, WINDOW))
			goto fail;
		b->v_malloc[w] = (double)pages_changed(hs, b->copy, (size_t)(end - hs),
						       (size_t)((unsigned char *)sbrk(0) - hs));
	}
	b_result("heap_pages_dirtied_per_1000_ops", b_median(b->v_heap, windows), "pages",
		 "malloc_pages_dirtied_per_1000_ops", b_median(b->v_malloc, windows));
	b_result("heap_pages_dirtied_per_1000_ops", b_median(b->v_heap, windows), "pages",
		 "block_pages_per_1000_ops", b_median(b->v_floor, windows));
	b_result("heap_cow_faults_per_1000_ops", b_median(v_faults, windows), "faults",
		 "heap_pages_dirtied_per_1000_ops", b_median(b->v_heap, windows));
	empty_heap(b->h, b->hslot, b->o.live);
	empty_malloc(b->mslot, b->o.live);
	free(v_faults);
	return 0;
fail:
	free(v_faults);
	return -1;
}

static int parse(int argc, char **argv, struct heap_opts *o)
{
	*o = (struct heap_opts){ 32u << 20, 400000, 8192, 5 };
	for (int i = 1; i < argc; i += 2) {	/* an option and its value */
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(heap_usage, stdout);
			return 1;
		}
		if (!v)
			return -1;
		if (!strcmp(a, "--size"))
			o->size = b_size_arg(v, 0);
		else if (!strcmp(a, "--ops"))
			o->ops = b_size_arg(v, 0);
		else if (!strcmp(a, "--live"))
			o->live = b_size_arg(v, 0);
		else if (!strcmp(a, "--repeat"))
			o->repeat = (unsigned)b_size_arg(v, 0);
		else
			return -1;
	}
	if (o->size < (1u << 20) || o->ops < 4 * WINDOW || !o->live ||
	    o->live > UINT32_MAX || !o->repeat)
		return -1;
	o->size = (o->size + PAGE - 1) & ~(size_t)(PAGE - 1);
	return 0;
}

int b_heap_main(int argc, char **argv)
{
	struct heap_bench b = { 0 };
	size_t nval;
	int e = parse(argc, argv, &b.o), rc = 1;

	if (e) {
		if (e < 0)
			fputs(heap_usage, stderr);
		return e < 0 ? 2 : 0;
	}
	nval = b.o.repeat > 64 ? b.o.repeat : 64;
	b.s = cow_space_create(b.o.size, 0);
	b.h = b.s ? cow_heap_init(b.s) : NULL;
	b.hslot = map(b.o.live * sizeof *b.hslot);
	b.mslot = map(b.o.live * sizeof *b.mslot);
	b.ops = map(b.o.ops * sizeof *b.ops);
	b.copy = map(b.o.size);
	b.seen = map(b.o.size / PAGE);
	b.v_heap = map(nval * sizeof(double));
	b.v_malloc = map(nval * sizeof(double));
	b.v_floor = map(nval * sizeof(double));
	if (!b.h || !b.hslot || !b.mslot || !b.ops || !b.copy || !b.seen || !b.v_heap ||
	    !b.v_malloc || !b.v_floor) {
		fprintf(stderr, "bench heap: setup failed: %s\n", strerror(errno));
		goto out;
	}
	make_ops(b.ops, b.o.ops, b.o.live, 0x5eed + b.o.live);
	printf("# heap: space %zu bytes, %zu ops per run, %zu slots, backend %s\n",
	       b.o.size, b.o.ops, b.o.live, cow_backend_name());
	if (measure_ops(&b) || measure_pages(&b)) {
		fprintf(stderr, "bench heap: the space is too small for this run (--size)\n");
		goto out;
	}
	rc = 0;
out:
	cow_heap_close(b.h);
	cow_space_destroy(b.s);
	munmap(b.hslot, b.o.live * sizeof *b.hslot);
	munmap(b.mslot, b.o.live * sizeof *b.mslot);
	munmap(b.ops, b.o.ops * sizeof *b.ops);
	munmap(b.copy, b.o.size);
	munmap(b.seen, b.o.size / PAGE);
	munmap(b.v_heap, nval * sizeof(double));
	munmap(b.v_malloc, nval * sizeof(double));
	munmap(b.v_floor, nval * sizeof(double));
	return rc;
}
