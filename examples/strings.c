/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * strings.c — copy-on-write strings, buffers and vectors in a few lines.
 *
 * A copy shares the bytes (the count goes up, nothing is copied); the first
 * write to a shared value copies it ("detach"); a write to a value nobody
 * else holds happens in place ("reuse").
 *
 *   build/example_strings
 */
#include <cow.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void show(const char *name, const cow_str *s)
{
	printf("  %-9s \"%s\"  (%zu bytes at %p, shared by %zu)\n", name,
	       cow_str_data(s), cow_str_len(s), (const void *)cow_str_data(s),
	       cow_str_refs(s));
}

static void die(const char *what, int err)
{
	fprintf(stderr, "%s: %s\n", what, cow_strerror(err));
	exit(1);
}

int main(void)
{
	cow_str config = COW_STR_INIT, copy = COW_STR_INIT, tail = COW_STR_INIT;
	cow_vec ids = COW_VEC_INIT(sizeof(int)), snap = COW_VEC_INIT(sizeof(int));
	struct cow_value_stats st;
	char *p;
	int err;

	cow_value_stats_reset();
	if ((err = cow_str_new(&config, "mode=fast; level=3")))
		die("cow_str_new", err);
	puts("1. a copy is O(1): both handles point at the same bytes");
	cow_str_copy(&copy, &config);
	show("config", &config);
	show("copy", &copy);

	puts("2. the first write to a shared string copies it (detach)");
	if (!(p = cow_str_make_mut(&copy)))
		die("cow_str_make_mut", -errno);
	memcpy(p, "MODE", 4);
	show("config", &config);
	show("copy", &copy);

	puts("3. now unshared: writes happen in place (reuse)");
	if ((err = cow_str_append(&copy, "; debug", 7)))
		die("cow_str_append", err);
	show("copy", &copy);
	puts("   get_mut fails on shared bytes instead of copying them:");
	cow_str_copy(&tail, &config);
	printf("  cow_str_get_mut(&config) -> %s\n",
	       cow_str_get_mut(&config) ? "bytes" : strerror(errno));
	cow_str_release(&tail);

	puts("4. a suffix shares the bytes of the string it comes from");
	if ((err = cow_str_sub(&tail, &config, 11, 7)))
		die("cow_str_sub", err);
	show("tail", &tail);

	puts("5. vectors work the same way, element by element");
	for (int i = 1; i <= 5; i++)
		cow_vec_push(&ids, &i);
	cow_vec_copy(&snap, &ids);		/* a cheap snapshot */
	((int *)cow_vec_make_mut(&ids))[0] = 100;
	printf("  ids  %d %d %d ...   snap %d %d %d ...\n",
	       *(const int *)cow_vec_at(&ids, 0), *(const int *)cow_vec_at(&ids, 1),
	       *(const int *)cow_vec_at(&ids, 2), *(const int *)cow_vec_at(&snap, 0),
	       *(const int *)cow_vec_at(&snap, 1), *(const int *)cow_vec_at(&snap, 2));

	cow_str_release(&config);
	cow_str_release(&copy);
	cow_str_release(&tail);
	cow_vec_release(&ids);
	cow_vec_release(&snap);

	cow_value_stats_get(&st);
	printf("6. statistics: %llu copies shared (%llu bytes), %llu detached "
	       "(%llu bytes): %llu copies avoided; %llu writes in place\n",
	       (unsigned long long)st.shares, (unsigned long long)st.bytes_shared,
	       (unsigned long long)st.detaches,
	       (unsigned long long)st.bytes_detached,
	       (unsigned long long)(st.shares - st.detaches),
	       (unsigned long long)st.reuses);
	printf("   blocks allocated %llu, freed %llu\n",
	       (unsigned long long)st.allocs, (unsigned long long)st.frees);
	return 0;
}
