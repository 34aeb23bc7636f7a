/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * heap_internal.h — the space heap on a bare memory region, for libcow's
 * tests and benchmarks. The heap's code never needs the engine: a handle made
 * here works with every public cow_heap_* function except that no space
 * (and so no freeze hook) stands behind it.
 */
#ifndef COW_HEAP_INTERNAL_H
#define COW_HEAP_INTERNAL_H

#include <stddef.h>

#include <cow.h>

/*
 * A heap handle over [base, base + size) (base 16-byte aligned). With init
 * non-zero, a fresh empty heap is written there; otherwise the region must
 * already hold one (its header is validated as cow_heap_attach() does).
 * The caller owns the handle (cow_heap_close(); the memory stays the
 * caller's). Returns NULL with errno EINVAL (NULL or misaligned base, region
 * too small) or EBADMSG (no valid heap header and init == 0), ENOMEM.
 */
cow_heap *cow__heap_open_region(void *base, size_t size, int init);

/* Bytes of the heap's header page (the smallest region is larger). */
#define COW__HEAP_HEADER ((size_t)COW_PAGE_SIZE)

/* The largest block the heap keeps: one allocation is at most this minus 16. */
#define COW__HEAP_BLOCK_MAX ((UINT64_C(1) << 37) - 16)

#endif
