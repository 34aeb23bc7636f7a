/* SPDX-License-Identifier: BSD-2-Clause */
#include "bench_tool.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int bench_result_parse(const char *line, struct bench_result *r)
{
	int end = -1;

	memset(r, 0, sizeof *r);
	r->size = -1;
	if (sscanf(line, "RESULT %95s %lf %23s baseline=%95s %lf ratio=%lf%n",
		   r->name, &r->value, r->unit, r->base_name, &r->base_value,
		   &r->ratio, &end) != 6 || end < 0)
		return -EINVAL;
	line += end;
	line += strspn(line, " \t\r\n");
	return *line ? -EINVAL : 0;
}

int bench_results_add(struct bench_results *rs, const struct bench_result *r)
{
	if (rs->n == rs->cap) {
		size_t cap = rs->cap ? rs->cap * 2 : 16;
		struct bench_result *v = realloc(rs->v, cap * sizeof *v);

		if (!v)
			return -ENOMEM;
		rs->v = v;
		rs->cap = cap;
	}
	rs->v[rs->n++] = *r;
	return 0;
}

void bench_results_free(struct bench_results *rs)
{
	free(rs->v);
	rs->v = NULL;
	rs->n = rs->cap = 0;
}
