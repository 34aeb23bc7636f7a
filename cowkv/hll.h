/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * hll.h — the HyperLogLog commands (t_hll.c) and the representation's
 * checks that other code may use (the fuzz target).
 */
#ifndef COWKV_HLL_H
#define COWKV_HLL_H

#include <stddef.h>
#include <stdint.h>

#include "server.h"

CMD_DECL(cmd_pfadd); CMD_DECL(cmd_pfcount); CMD_DECL(cmd_pfmerge);
CMD_DECL(cmd_pfdebug); CMD_DECL(cmd_pfselftest);

/* MurmurHash64A (Austin Appleby's 64-bit MurmurHash2, blocks read
 * little-endian as Redis reads them) of p[0, n) with seed. */
uint64_t hll_murmur64a(const void *p, size_t n, uint64_t seed);

/*
 * hll_estimate_bytes — the cardinality Redis 7.0 computes for the HLL
 * string p[0, n) (a value that passed Redis's checks: "HYLL", encoding 0
 * with the dense length, or 1), ignoring the cached value. Returns 0 and
 * *card, or -1 when the registers are corrupt (INVALIDOBJ) or the string
 * is not an HLL. Reads only p[0, n).
 */
int hll_estimate_bytes(const uint8_t *p, size_t n, uint64_t *card);

#endif
