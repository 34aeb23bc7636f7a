/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * registry.c — which mapped space an address belongs to. The fault handler
 * asks it for every write fault, under the engine lock; it is a sorted array
 * searched by bisection. Only writable spaces are registered: a fault in a
 * snapshot's read-only view is not libcow's to resolve.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static struct cow__member **reg;
static size_t nreg, capreg;

/* Index of the first entry whose mapping starts above addr. */
static size_t upper_bound(const char *addr)
{
	size_t lo = 0, hi = nreg;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (reg[mid]->addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* cow__registry_add — register mapped space m. 0 or -ENOMEM. Lock held. */
int cow__registry_add(struct cow__member *m)
{
	size_t at;

	if (nreg == capreg) {
		size_t cap = capreg ? capreg * 2 : 16;
		struct cow__member **n = realloc(reg, cap * sizeof *n);

		if (!n)
			return -ENOMEM;
		reg = n;
		capreg = cap;
	}
	at = upper_bound(m->addr);
	memmove(reg + at + 1, reg + at, (nreg - at) * sizeof *reg);
	reg[at] = m;
	nreg++;
	return 0;
}

/* cow__registry_remove — forget m (no-op if absent). Lock held. */
void cow__registry_remove(struct cow__member *m)
{
	for (size_t i = 0; i < nreg; i++) {
		if (reg[i] == m) {
			memmove(reg + i, reg + i + 1, (nreg - i - 1) * sizeof *reg);
			nreg--;
			return;
		}
	}
}

/*
 * cow__registry_find — the space whose mapping contains addr, or NULL.
 * Lock held. Async-signal-safe (no allocation).
 */
struct cow__member *cow__registry_find(const void *addr)
{
	const char *a = addr;
	size_t at = upper_bound(a);
	struct cow__member *m;

	if (at == 0)
		return NULL;
	m = reg[at - 1];
	if (a >= m->addr && a < m->addr + (m->npages << COW__PAGE_SHIFT))
		return m;
	return NULL;
}

/* In a fork() child: nothing is mapped any more. */
static void registry_reset(void)
{
	reg = NULL;	/* the parent's array is the parent's; leak it here */
	nreg = capreg = 0;
}
COW__AT_FORK_CHILD(registry_reset)
