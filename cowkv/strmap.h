/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * strmap.h — a small hash map from byte strings to pointers, in ordinary
 * process memory (not the space): WATCHed keys, keys clients block on,
 * pub/sub channels. Keys are copied in; values belong to the caller.
 */
#ifndef COWKV_STRMAP_H
#define COWKV_STRMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct strmap_ent {
	struct strmap_ent *next;
	uint64_t hash;
	void *val;
	size_t klen;
	char key[];             /* klen bytes, then a NUL */
};

struct strmap {
	struct strmap_ent **tab;
	size_t size;            /* buckets (a power of two), 0 before the first add */
	size_t count;
};

/* The entry of key, or NULL. */
struct strmap_ent *strmap_find(const struct strmap *m, const char *key, size_t klen);
/* The entry of key, created (val NULL) if missing. NULL when out of memory. */
struct strmap_ent *strmap_add(struct strmap *m, const char *key, size_t klen);
/* Remove and free entry e (its val is the caller's). */
void strmap_del(struct strmap *m, struct strmap_ent *e);
/* Free every entry (not the vals) and the table. */
void strmap_clear(struct strmap *m);
/* Iterate: *pos starts at 0; returns the next entry or NULL at the end.
 * The map must not change during an iteration but for strmap_del() of the
 * entry just returned. */
struct strmap_ent *strmap_next(const struct strmap *m, size_t *pos, struct strmap_ent **cur);

#endif
