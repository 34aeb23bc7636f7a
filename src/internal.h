/*
 * internal.h — what libcow's source files share. Nothing here is public.
 * Internal names start with cow__.
 */
#ifndef COW_INTERNAL_H
#define COW_INTERNAL_H

#include <cow.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Public functions are the only exported symbols of libcow.so. */
#define COW_API __attribute__((visibility("default")))

#define COW__PAGE ((size_t)COW_PAGE_SIZE)
#define COW__PAGE_SHIFT 12

/* ---- engine services for the store and background save ------------------ */

/* Value of a file offset meaning "this page is all zeroes, no block". */
#define COW__ZERO_BLOCK UINT64_MAX

/* Pages in a snapshot (its size / COW_PAGE_SIZE); 0 for NULL. */
size_t cow__snap_pages(const cow_snap *snap);

/*
 * Pages of b whose content may differ from a's: sets bit i of bits (an array
 * of (pages + 63) / 64 words, zeroed by the caller) when page i of a and b are
 * backed by different frames. Pages sharing a frame are certainly equal; the
 * check costs no reads of page content. Returns 0, -EINVAL (NULL, or sizes
 * differ), -ESTALE.
 */
int cow__snap_diff(const cow_snap *a, const cow_snap *b, uint64_t *bits);

/*
 * A new snapshot sharing every frame of snap (each reference count + 1): the
 * store keeps one to diff the next checkpoint against. NULL with errno on
 * failure (EINVAL, ESTALE, ENOMEM).
 */
cow_snap *cow__snap_clone(const cow_snap *snap);

/*
 * A snapshot of npages pages whose page i is the COW_PAGE_SIZE bytes at file
 * offset offs[i] of fd (page-aligned), or zeroes when offs[i] is
 * COW__ZERO_BLOCK. Pages are read from the file on first access where the
 * engine can do so lazily; the engine keeps its own duplicate of fd (the
 * caller keeps and closes its own). offs is copied. The file's blocks must not
 * change while the snapshot (or a space made from it) may still read them.
 * NULL with errno: EINVAL (bad fd, npages 0, unaligned offset), ENOMEM, or the
 * error of reading the file.
 */
cow_snap *cow__snap_from_file(int fd, size_t npages, const uint64_t *offs);

#endif
