/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Shared helpers for libcow's tests (cmocka).
 */
#ifndef COW_TESTLIB_H
#define COW_TESTLIB_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <cow.h>

/* A small, fast, seedable PRNG (xorshift64*), so failures replay. */
struct t_rng { uint64_t s; };
void t_rng_seed(struct t_rng *r, uint64_t seed);
uint64_t t_rng_next(struct t_rng *r);
/* Uniform in [0, n). n > 0. */
uint64_t t_rng_below(struct t_rng *r, uint64_t n);

/* The seed for randomized tests: $COW_TEST_SEED, else time-based; printed. */
uint64_t t_seed(const char *test);

/* Run fn(arg) in a forked child; return its wait status (for crash tests). */
int t_in_child(void (*fn)(void *), void *arg);

/* Count lines of /proc/self/maps that overlap [addr, addr+len). */
long t_maps_in_range(const void *addr, size_t len);

/* Iterations scale: $COW_TEST_SCALE (default 1) multiplies loop counts. */
unsigned t_scale(void);

/*
 * cmocka installs its own SIGSEGV/SIGBUS handlers around every test, without
 * chaining; every libcow test starts with T_START() to put libcow's back on
 * top (cmocka's then gets the faults that are not libcow's).
 */
#define T_START() do { if (cow_install_handlers()) fail_msg("cow_install_handlers failed"); } while (0)

/* Fail the test if the engine's invariants do not hold. */
void t_check_invariants(void);

/*
 * Does space s hold want (its cow_size bytes)? Read from its frames, and
 * through its mapping only where want holds data: a read of a hole of
 * shared memory through a mapping allocates a page, and a space read whole
 * would never keep a part that was never written, which freezes protect
 * in their own way. buf holds cow_size(s) bytes.
 */
bool t_space_matches_sparsely(cow_space *s, const unsigned char *want, unsigned char *buf);

#endif
