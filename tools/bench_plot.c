/* SPDX-License-Identifier: BSD-2-Clause */
#include "bench_tool.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

enum { MAX_SERIES = 24, MAX_SIZES = 64 };

/* The figure: one column per series, one row per size. */
struct figure {
	char key[MAX_SERIES][96], unit[MAX_SERIES][24];
	int axis[MAX_SERIES];		/* 1 or 2; 0: unit without an axis */
	char axis_unit[3][24];
	size_t nseries, nsizes;
	double size[MAX_SIZES];
	double v[MAX_SIZES][MAX_SERIES];
};

/* Column of the series named by name (its part before '@'), added if new;
 * -1 when the figure is full. */
static int series_of(struct figure *f, const char *name, const char *unit)
{
	size_t len = strcspn(name, "@");

	for (size_t i = 0; i < f->nseries; i++)
		if (strlen(f->key[i]) == len && !strncmp(f->key[i], name, len))
			return (int)i;
	if (f->nseries == MAX_SERIES)
		return -1;
	snprintf(f->key[f->nseries], sizeof f->key[0], "%.*s", (int)len, name);
	snprintf(f->unit[f->nseries], sizeof f->unit[0], "%s", unit);
	for (int a = 1; a <= 2; a++) {
		if (!f->axis_unit[a][0])
			snprintf(f->axis_unit[a], sizeof f->axis_unit[a], "%s", unit);
		if (!strcmp(f->axis_unit[a], unit)) {
			f->axis[f->nseries] = a;
			break;
		}
	}
	return (int)f->nseries++;
}

/* Row of size s, added in order if new; -1 when full. */
static int row_of(struct figure *f, double s)
{
	size_t i = 0;

	while (i < f->nsizes && f->size[i] < s)
		i++;
	if (i < f->nsizes && f->size[i] == s)
		return (int)i;
	if (f->nsizes == MAX_SIZES)
		return -1;
	memmove(&f->size[i + 1], &f->size[i], (f->nsizes - i) * sizeof f->size[0]);
	memmove(&f->v[i + 1], &f->v[i], (f->nsizes - i) * sizeof f->v[0]);
	f->size[i] = s;
	for (size_t k = 0; k < MAX_SERIES; k++)
		f->v[i][k] = NAN;
	f->nsizes++;
	return (int)i;
}

static void put(struct figure *f, double size, const char *name, const char *unit,
		double v)
{
	int col = series_of(f, name, unit), row = row_of(f, size);

	if (col >= 0 && row >= 0)
		f->v[row][col] = v;
}

/* A gnuplot string literal: single quotes, a quote written twice. */
static void gp_str(FILE *gp, const char *s)
{
	fputc('\'', gp);
	for (; *s; s++) {
		if (*s == '\'')
			fputc('\'', gp);
		if (*s != '\n')
			fputc(*s, gp);
	}
	fputc('\'', gp);
}

static void write_script(FILE *gp, const struct figure *f, const char *title,
			 const char *png)
{
	int first = 1;

	fputs("if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
	      "  set terminal pngcairo size 960,600 noenhanced\n"
	      "} else {\n  set terminal png size 960,600 noenhanced\n}\n", gp);
	fputs("set output ", gp);
	gp_str(gp, png);
	fputs("\nset title ", gp);
	gp_str(gp, title);
	fputs("\nset xlabel 'size (MiB)'\nset grid\nset key top left\n", gp);
	if (f->nsizes > 1 && f->size[f->nsizes - 1] >= 8 * f->size[0])
		fputs("set logscale x 2\n", gp);
	fputs("set ylabel ", gp);
	gp_str(gp, f->axis_unit[1]);
	fputc('\n', gp);
	if (f->axis_unit[2][0]) {
		fputs("set y2label ", gp);
		gp_str(gp, f->axis_unit[2]);
		fputs("\nset y2tics\nset ytics nomirror\n", gp);
	}
	fputs("$data << EOD\n", gp);
	for (size_t i = 0; i < f->nsizes; i++) {
		fprintf(gp, "%.6g", f->size[i] / 1048576.0);
		for (size_t k = 0; k < f->nseries; k++) {
			if (isnan(f->v[i][k]))
				fputs(" NaN", gp);
			else
				fprintf(gp, " %.6g", f->v[i][k]);
		}
		fputc('\n', gp);
	}
	fputs("EOD\nplot", gp);
	for (size_t k = 0; k < f->nseries; k++) {
		if (!f->axis[k])
			continue;
		fprintf(gp, "%s $data using 1:%zu with linespoints axes x1y%d title ",
			first ? "" : ",", k + 2, f->axis[k]);
		gp_str(gp, f->key[k]);
		first = 0;
	}
	fputc('\n', gp);
}

/* Run gnuplot on f; 0, -ENOENT (no gnuplot) or -EIO. */
static int run_gnuplot(const struct figure *f, const char *title, const char *png)
{
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;
	struct stat st;
	FILE *gp;
	int status;

	sigaction(SIGPIPE, &ign, &old);	/* if gnuplot dies, fail, do not die */
	gp = popen("exec gnuplot", "w");
	if (!gp) {
		sigaction(SIGPIPE, &old, NULL);
		return -errno;
	}
	write_script(gp, f, title, png);
	status = pclose(gp);
	sigaction(SIGPIPE, &old, NULL);
	if (status == -1)
		return -errno;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return -ENOENT;
	if (!WIFEXITED(status) || WEXITSTATUS(status) || stat(png, &st) || !st.st_size)
		return -EIO;
	return 0;
}

int bench_plot(const struct bench_results *rs, const char *title, const char *png)
{
	struct figure *f = calloc(1, sizeof *f);
	int err;

	if (!f)
		return -ENOMEM;
	for (size_t i = 0; i < rs->n; i++) {
		const struct bench_result *r = &rs->v[i];

		if (r->size < 0)
			continue;
		put(f, r->size, r->base_name, r->unit, r->base_value);
		put(f, r->size, r->name, r->unit, r->value);
	}
	for (size_t k = 0; k < f->nseries; k++)
		if (!f->axis[k])
			fprintf(stderr, "cow bench: %s (in %s) left out of the plot: "
				"two units at most\n", f->key[k], f->unit[k]);
	err = f->nsizes ? run_gnuplot(f, title, png) : -EINVAL;
	free(f);
	return err;
}
