/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_heap — random operations on a space heap in a bare region, some of
 * them wild (frees of arbitrary offsets, double frees) and some of them
 * damage (bytes overwritten anywhere in the region, header included).
 *
 * Must hold: no crash, no access outside the region (guard pages around
 * it), and as long as nothing was damaged, cow_heap_check() finds the heap
 * sound after every operation (wild frees are refused, never obeyed).
 *
 * Input: 4-byte records: op, arg (16 bits), slot.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <cow.h>
#include "heap_internal.h"

#define REGION (64 * 1024)
#define SLOTS 64

static unsigned char *region(void)
{
	static unsigned char *mem;

	if (!mem) {
		mem = mmap(NULL, REGION + 2 * 4096, PROT_NONE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (mem == MAP_FAILED)
			abort();
		mem += 4096;
		if (mprotect(mem, REGION, PROT_READ | PROT_WRITE))
			abort();
	}
	return mem;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *mem = region();
	cow_heap *h = cow__heap_open_region(mem, REGION, 1);
	cow_off live[SLOTS] = { 0 }, r;
	int damaged = 0;
	char report[256];

	if (!h)
		abort();
	for (size_t i = 0; i + 4 <= size; i += 4) {
		unsigned op = data[i] % 8, k = data[i + 3] % SLOTS;
		unsigned arg = data[i + 1] | (unsigned)data[i + 2] << 8;

		switch (op) {
		case 0:
		case 1:
			if (!live[k])
				live[k] = cow_heap_alloc(h, arg);
			break;
		case 2:	/* may be a double free: a stale slot */
			cow_heap_free(h, live[k]);
			if (data[i + 3] & 64)
				live[k] = 0;
			break;
		case 3:	/* a wild offset */
			cow_heap_free(h, (cow_off)arg * 16 + (data[i + 3] & 31));
			break;
		case 4:
			if (live[k] && (r = cow_heap_realloc(h, live[k], arg)))
				live[k] = r;
			break;
		case 5:	/* damage */
			if (data[i + 3] & 128) {
				mem[arg % REGION] = data[i + 3];
				damaged = 1;
			}
			break;
		case 6:
			cow_heap_set_root(h, live[k]);
			break;
		default:
			if (live[k]) {
				size_t n = cow_heap_usable_size(h, live[k]);

				if (n)
					memset(cow_heap_ptr(h, live[k]), (int)k, n);
			}
			break;
		}
		if (cow_heap_check(h, report, sizeof report) && !damaged)
			abort();	/* the heap broke without being damaged */
	}
	cow_heap_close(h);
	return 0;
}
