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
/* Error replies counted since the start or the last reset (INFO's
 * total_error_replies). */
uint64_t errstats_total(void);
/* Count an error reply to anyone, a script's redis.call included (not in
 * the statistics above: a script's error reaches a client once), and how
 * many so far: what commandstats' failed_calls are put down from. */
void errstats_any(void);
uint64_t errstats_any_total(void);
/* The i-th code seen and its count: 1, or 0 past the last. */
int errstats_get(int i, const char **code, uint64_t *count);

#endif
