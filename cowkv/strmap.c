/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * strmap.c — see strmap.h. Chained buckets, doubled when the load passes 1.
 */
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "strmap.h"

static uint64_t hash_of(const char *key, size_t klen)
{
	return XXH3_64bits(key, klen);
}

struct strmap_ent *strmap_find(const struct strmap *m, const char *key, size_t klen)
{
	uint64_t h;

	if (!m->size)
		return NULL;
	h = hash_of(key, klen);
	for (struct strmap_ent *e = m->tab[h & (m->size - 1)]; e; e = e->next)
		if (e->hash == h && e->klen == klen && memcmp(e->key, key, klen) == 0)
			return e;
	return NULL;
}

/* Double the table (or make the first one); false when out of memory. */
static bool grow(struct strmap *m)
{
	size_t size = m->size ? m->size * 2 : 16;
	struct strmap_ent **tab = calloc(size, sizeof *tab);

	if (!tab)
		return false;
	for (size_t i = 0; i < m->size; i++) {
		struct strmap_ent *e = m->tab[i], *next;

		for (; e; e = next) {
			next = e->next;
			e->next = tab[e->hash & (size - 1)];
			tab[e->hash & (size - 1)] = e;
		}
	}
	free(m->tab);
	m->tab = tab;
	m->size = size;
	return true;
}

struct strmap_ent *strmap_add(struct strmap *m, const char *key, size_t klen)
{
	struct strmap_ent *e = strmap_find(m, key, klen);
	size_t b;

	if (e)
		return e;
	if (m->count >= m->size && !grow(m) && !m->size)
		return NULL;
	e = malloc(sizeof *e + klen + 1);
	if (!e)
		return NULL;
	e->hash = hash_of(key, klen);
	e->val = NULL;
	e->klen = klen;
	memcpy(e->key, key, klen);
	e->key[klen] = '\0';
	b = e->hash & (m->size - 1);
	e->next = m->tab[b];
	m->tab[b] = e;
	m->count++;
	return e;
}

void strmap_del(struct strmap *m, struct strmap_ent *e)
{
	struct strmap_ent **link = &m->tab[e->hash & (m->size - 1)];

	while (*link != e)
		link = &(*link)->next;
	*link = e->next;
	m->count--;
	free(e);
}

void strmap_clear(struct strmap *m)
{
	for (size_t i = 0; i < m->size; i++) {
		struct strmap_ent *e = m->tab[i], *next;

		for (; e; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(m->tab);
	m->tab = NULL;
	m->size = m->count = 0;
}

struct strmap_ent *strmap_next(const struct strmap *m, size_t *pos, struct strmap_ent **cur)
{
	/* *cur is the entry after the one returned last (read before a
	 * possible strmap_del of that one). */
	while (!*cur) {
		if (*pos >= m->size)
			return NULL;
		*cur = m->tab[(*pos)++];
	}
	{
		struct strmap_ent *e = *cur;

		*cur = e->next;
		return e;
	}
}
