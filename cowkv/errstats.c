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
static int ncodes;

void errstats_count(const char *msg)
{
	size_t n = strcspn(msg, " \r\n");

	if (n == 0 || n >= CODE_LEN)
		return;
	for (int i = 0; i < ncodes; i++)
		if (strlen(codes[i].code) == n && !memcmp(codes[i].code, msg, n)) {
			codes[i].count++;
			return;
		}
	if (ncodes == CODES_MAX)
		return;
	memcpy(codes[ncodes].code, msg, n);
	codes[ncodes].code[n] = '\0';
	codes[ncodes].count = 1;
	ncodes++;
}

void errstats_reset(void)
{
	ncodes = 0;
}

int errstats_get(int i, const char **code, uint64_t *count)
{
	if (i < 0 || i >= ncodes)
		return 0;
	*code = codes[i].code;
	*count = codes[i].count;
	return 1;
}
