/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * errstats.c — INFO errorstats: how many error replies of each code
 * ("ERR", "WRONGTYPE", "NOPERM", ...) clients got since the start or the
 * last CONFIG RESETSTAT. Errors a script's redis.call gets are counted
 * when they reach a client, once.
 */
#include <stdint.h>
#include <string.h>

#include "errstats.h"

#define CODES_MAX 128   /* distinct codes kept, as Redis's limit */
#define CODE_LEN 64

static struct {
	char code[CODE_LEN];
	uint64_t count;
} codes[CODES_MAX];
static int ncodes;	/* codes[] is sorted by code, as Redis lists them */
static uint64_t total;	/* every error reply counted, whatever its code */
static uint64_t any;	/* and those to scripts' calls too */

void errstats_count(const char *msg)
{
	size_t n = strcspn(msg, " \r\n");
	char code[CODE_LEN];
	int i = 0, cmp = 1;

	total++;
	if (n == 0 || n >= CODE_LEN)
		return;
	memcpy(code, msg, n);
	code[n] = '\0';
	while (i < ncodes && (cmp = strcmp(codes[i].code, code)) < 0)
		i++;
	if (i < ncodes && cmp == 0) {
		codes[i].count++;
		return;
	}
	if (ncodes == CODES_MAX)
		return;
	memmove(&codes[i + 1], &codes[i], (size_t)(ncodes - i) * sizeof codes[0]);
	memcpy(codes[i].code, code, n + 1);
	codes[i].count = 1;
	ncodes++;
}

void errstats_any(void)
{
	any++;
}

uint64_t errstats_any_total(void)
{
	return any;
}

void errstats_reset(void)
{
	ncodes = 0;
	total = 0;
}

uint64_t errstats_total(void)
{
	return total;
}

int errstats_get(int i, const char **code, uint64_t *count)
{
	if (i < 0 || i >= ncodes)
		return 0;
	*code = codes[i].code;
	*count = codes[i].count;
	return 1;
}
