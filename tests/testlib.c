/* SPDX-License-Identifier: BSD-2-Clause */
#include "testlib.h"
#include <cow.h>
#include "internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void t_rng_seed(struct t_rng *r, uint64_t seed)
{
	r->s = seed ? seed : 0x9e3779b97f4a7c15ull;
}

uint64_t t_rng_next(struct t_rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545f4914f6cdd1dull;
}

uint64_t t_rng_below(struct t_rng *r, uint64_t n)
{
	return t_rng_next(r) % n;
}

uint64_t t_seed(const char *test)
{
	const char *e = getenv("COW_TEST_SEED");
	uint64_t seed;

	if (e && *e)
		seed = strtoull(e, NULL, 0);
	else
		seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 16);
	fprintf(stderr, "[%s] seed %" PRIu64 " (replay with COW_TEST_SEED=%" PRIu64 ")\n",
		test, seed, seed);
	return seed;
}

int t_in_child(void (*fn)(void *), void *arg)
{
	int status = -1;
	pid_t pid = fork();

	if (pid == 0) {
		fn(arg);
		_exit(0);
	}
	if (pid < 0)
		return -1;
	while (waitpid(pid, &status, 0) < 0)
		;
	return status;
}

long t_maps_in_range(const void *addr, size_t len)
{
	FILE *f = fopen("/proc/self/maps", "r");
	uintptr_t lo = (uintptr_t)addr, hi = lo + len;
	unsigned long a, b;
	char line[512];
	long n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "%lx-%lx", &a, &b) == 2 && a < hi && b > lo)
			n++;
	fclose(f);
	return n;
}

unsigned t_scale(void)
{
	const char *e = getenv("COW_TEST_SCALE");
	unsigned v = e ? (unsigned)strtoul(e, NULL, 10) : 1;

	return v ? v : 1;
}

bool t_space_matches_sparsely(cow_space *s, const unsigned char *want, unsigned char *buf)
{
	size_t len = cow_size(s);
	const unsigned char *base = cow_base(s);
	int err;

	cow__engine_lock();
	err = cow__read_pages(&s->m, 0, len / COW_PAGE_SIZE, (char *)buf);
	cow__engine_unlock();
	if (err)
		fail_msg("reading a space's frames: %d", err);
	if (memcmp(buf, want, len))
		return false;
	for (size_t off = 0; off < len; off += COW_PAGE_SIZE)
		if (!cow__page_is_zero(want + off) && memcmp(base + off, want + off, COW_PAGE_SIZE))
			return false;
	return true;
}

void t_check_invariants(void)
{
	char msg[256] = "";

	if (cow__check(msg, sizeof msg))
		fail_msg("invariant broken: %s", msg);
}
