/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The `cow bench` side of benchlib's RESULT lines: parse them, keep them,
 * draw them with gnuplot.
 *
 *   RESULT <name>[@<size>] <value> <unit> baseline=<name>[@<size>] <value> ratio=<x>
 *
 * A name may end in "@<size>" (spawn_vfork_exec@1024MiB) when one run
 * measures several sizes; the part before the '@' names the series.
 */
#ifndef COW_BENCH_TOOL_H
#define COW_BENCH_TOOL_H

#include <stddef.h>

struct bench_result {
	char name[96], unit[24], base_name[96];
	double value, base_value, ratio;
	double size;		/* bytes, as run by cow bench --plot; < 0: none */
};

/* Parse one RESULT line (trailing newline allowed) into *r (size = -1).
 * Returns 0, or -EINVAL if line is not a well-formed RESULT line. */
int bench_result_parse(const char *line, struct bench_result *r);

/* A growing array of results. */
struct bench_results {
	struct bench_result *v;
	size_t n, cap;
};

/* Append r; 0 or -ENOMEM. */
int bench_results_add(struct bench_results *rs, const struct bench_result *r);
void bench_results_free(struct bench_results *rs);

/*
 * Draw results (each with its size) as time (or memory) against size into
 * the PNG file png with gnuplot: one line per series, results and their
 * baselines alike. title heads the figure. Returns 0, -ENOENT if gnuplot is
 * missing, -EINVAL if there is nothing to draw, or another -errno.
 */
int bench_plot(const struct bench_results *rs, const char *title, const char *png);

#endif
