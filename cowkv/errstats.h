/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * errstats.h — counts of error replies by error code (errstats.c).
 */
#ifndef COWKV_ERRSTATS_H
#define COWKV_ERRSTATS_H

#include <stdint.h>

/* Count one error reply; msg starts with its code ("ERR ...", "-ERR ..."
 * is not expected). */
void errstats_count(const char *msg);
void errstats_reset(void);
/* The i-th code seen and its count: 1, or 0 past the last. */
int errstats_get(int i, const char **code, uint64_t *count);

#endif
