/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * conffile.c — redis.conf syntax: one directive per line, # comments,
 * quoted words, include, the command line as directives, and the atomic
 * replacement CONFIG REWRITE uses. Written from redis.conf's documented
 * syntax and redis-server 7.0's observed behaviour (see docs/COWKV.md,
 * "Running from redis.conf and systemd"); config.c gives directives their
 * meaning.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conffile.h"
#include "server.h"	/* COWKV_VERSION */

#define INCLUDE_DEPTH_MAX 16
#define CONF_FILE_MAX (64u << 20)	/* a bigger config file is refused */

/* ---- words ---------------------------------------------------------------- */

/* A growing byte string. */
struct word {
	char *p;
	size_t len, cap;
};

/* Append ch to w, keeping it NUL-terminated. 0 or -ENOMEM. */
static int word_put(struct word *w, char ch)
{
	if (w->len + 2 > w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 32;
		char *p = realloc(w->p, cap);

		if (!p)
			return -ENOMEM;
		w->p = p;
		w->cap = cap;
	}
	w->p[w->len++] = ch;
	w->p[w->len] = '\0';
	return 0;
}

/* The value of hex digit c, -1 if it is none. */
static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The byte a backslash escape in double quotes stands for (\n, \t...,
 * any other character itself); *used is how many bytes after the
 * backslash it took (1, or 3 for \xHH). */
static char unescape(const char *s, int *used)
{
	*used = 1;
	if (s[0] == 'x' && hexval(s[1]) >= 0 && hexval(s[2]) >= 0) {
		*used = 3;
		return (char)(hexval(s[1]) * 16 + hexval(s[2]));
	}
	switch (s[0]) {
	case 'n': return '\n';
	case 'r': return '\r';
	case 't': return '\t';
	case 'b': return '\b';
	case 'a': return '\a';
	default: return s[0];
	}
}

/*
 * Read one word starting at *sp (not a blank) into w; *sp moves past it.
 * 0, -EINVAL (unbalanced quotes, a closing quote glued to more text, a NUL
 * byte) or -ENOMEM.
 */
static int split_word(const char **sp, struct word *w)
{
	const char *s = *sp;
	char quote = 0;

	if (word_put(w, 'x'))	/* an empty word ("") is still a word */
		return -ENOMEM;
	w->len = 0;
	w->p[0] = '\0';
	for (;;) {
		char ch = *s;
		int used;

		if (!quote) {
			if (ch == '\0' || isspace((unsigned char)ch))
				break;
			if (ch == '"' || ch == '\'') {
				quote = ch;
				s++;
				continue;
			}
		} else if (ch == '\0') {
			return -EINVAL;		/* unbalanced quotes */
		} else if (ch == quote) {
			if (s[1] && !isspace((unsigned char)s[1]))
				return -EINVAL;	/* "foo"bar */
			s++;
			break;
		} else if (ch == '\\' && s[1]) {
			if (quote == '"') {
				ch = unescape(s + 1, &used);
				s += used;
			} else if (s[1] == '\'') {
				ch = '\'';
				s++;
			}
			if (ch == '\0')
				return -EINVAL;	/* a NUL byte cannot be a setting */
		}
		if (word_put(w, ch))
			return -ENOMEM;
		s++;
	}
	*sp = s;
	return 0;
}

void conf_argv_free(char **argv, int argc)
{
	if (!argv)
		return;
	for (int i = 0; i < argc; i++)
		free(argv[i]);
	free(argv);
}

int conf_split(const char *line, char ***argvp, int *argcp)
{
	char **argv = NULL;
	int argc = 0, cap = 0, err;

	for (;;) {
		struct word w = { 0 };

		while (*line && isspace((unsigned char)*line))
			line++;
		if (!*line)
			break;
		if ((err = split_word(&line, &w)) < 0) {
			free(w.p);
			conf_argv_free(argv, argc);
			return err;
		}
		if (argc + 2 > cap) {
			int ncap = cap ? 2 * cap : 8;
			char **n = realloc(argv, (size_t)ncap * sizeof *n);

			if (!n) {
				free(w.p);
				conf_argv_free(argv, argc);
				return -ENOMEM;
			}
			argv = n;
			cap = ncap;
		}
		argv[argc++] = w.p;
		argv[argc] = NULL;
	}
	if (!argv && !(argv = calloc(1, sizeof *argv)))
		return -ENOMEM;
	*argvp = argv;
	*argcp = argc;
	return 0;
}

/* ---- reporting ------------------------------------------------------------ */

/* The report redis-server prints for a bad config line, with cowkv's
 * file:line in front of the reason. */
static void report(const struct conf_where *at, const char *why)
{
	fprintf(stderr, "\n*** FATAL CONFIG FILE ERROR (cowkv %s) ***\n", COWKV_VERSION);
	fprintf(stderr, "Reading the configuration file, at line %d\n", at->line);
	fprintf(stderr, ">>> '%s'\n", at->text ? at->text : "");
	fprintf(stderr, "%s:%d: %s\n", at->origin, at->line, why);
}

/* ---- files ------------------------------------------------------------------ */

char *conf_read_all(const char *path, size_t *lenp)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	char *buf = NULL;
	size_t len = 0, cap = 0;

	if (!f)
		return NULL;
	for (;;) {
		size_t n;

		if (cap - len < 4097) {
			char *b;

			cap = cap ? 2 * cap : 65536;
			if (cap > CONF_FILE_MAX || !(b = realloc(buf, cap))) {
				free(buf);
				if (f != stdin)
					fclose(f);
				errno = cap > CONF_FILE_MAX ? EFBIG : ENOMEM;
				return NULL;
			}
			buf = b;
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		int e = errno ? errno : EIO;

		free(buf);
		if (f != stdin)
			fclose(f);
		errno = e;
		return NULL;
	}
	if (f != stdin)
		fclose(f);
	buf[len] = '\0';
	*lenp = len;
	return buf;
}

static int load_path(const char *path, conf_apply_fn fn, void *ctx, int depth,
		     const struct conf_where *from);

/* "include PATH": a glob pattern reads every match, in order (none is not
 * an error, as in Redis); a plain path must exist. */
static int load_include(const char *pat, conf_apply_fn fn, void *ctx, int depth,
			const struct conf_where *at)
{
	glob_t g;
	int r = 0;

	if (depth >= INCLUDE_DEPTH_MAX) {
		report(at, "include nested too deeply (a loop of includes?)");
		return -1;
	}
	if (!strpbrk(pat, "*?["))
		return load_path(pat, fn, ctx, depth + 1, at);
	switch (glob(pat, GLOB_ERR, NULL, &g)) {
	case 0:
		break;
	case GLOB_NOMATCH:
		return 0;
	default:
		report(at, "can't read the files of an include pattern");
		return -1;
	}
	for (size_t i = 0; i < g.gl_pathc && !r; i++)
		r = load_path(g.gl_pathv[i], fn, ctx, depth + 1, at);
	globfree(&g);
	return r;
}

/* Trim blanks (and a CR) at both ends of s, in place; the trimmed start. */
static char *trim(char *s)
{
	char *e = s + strlen(s);

	while (*s && isspace((unsigned char)*s))
		s++;
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* Apply one line of origin (already trimmed, not a comment). 0 or -1. */
static int load_line(char *text, const char *origin, int lineno, conf_apply_fn fn,
		     void *ctx, int depth)
{
	struct conf_where at = { origin, lineno, text };
	const char *why = NULL;
	char **argv;
	int argc, r = 0, err;

	if ((err = conf_split(text, &argv, &argc)) < 0) {
		report(&at, err == -ENOMEM ? "out of memory"
			    : "Unbalanced quotes in configuration line");
		return -1;
	}
	if (argc == 0)
		goto out;
	if (!strcasecmp(argv[0], "include")) {
		if (argc != 2) {
			report(&at, "Bad directive or wrong number of arguments");
			r = -1;
		} else {
			r = load_include(argv[1], fn, ctx, depth, &at);
		}
		goto out;
	}
	if ((why = fn(argc, argv, &at, ctx))) {
		report(&at, why);
		r = -1;
	}
out:
	conf_argv_free(argv, argc);
	return r;
}

/* Apply every directive of text (NUL-terminated, modified in place). */
static int load_text(char *text, const char *origin, conf_apply_fn fn, void *ctx, int depth)
{
	int lineno = 0;

	for (char *line = text, *next; line; line = next) {
		char *t;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		t = trim(line);
		if (!*t || *t == '#')
			continue;
		if (load_line(t, origin, lineno, fn, ctx, depth))
			return -1;
	}
	return 0;
}

/* Read path ("-": stdin) and apply its directives; from: the include
 * line that named it (NULL for the first file), for the report. 0 or -1. */
static int load_path(const char *path, conf_apply_fn fn, void *ctx, int depth,
		     const struct conf_where *from)
{
	size_t len;
	char *text = conf_read_all(path, &len), msg[PATH_MAX + 128];
	int r;

	if (!text) {
		snprintf(msg, sizeof msg, "Fatal error, can't open config file '%s': %s",
			 path, strerror(errno));
		if (from) {
			report(from, msg);
		} else {
			fprintf(stderr, "cowkv: %s\n", msg);
		}
		return -1;
	}
	if (strlen(text) != len) {
		struct conf_where at = { path, 0, "" };

		report(&at, "the file holds a NUL byte: not a config file");
		free(text);
		return -1;
	}
	r = load_text(text, strcmp(path, "-") ? path : "(stdin)", fn, ctx, depth);
	free(text);
	return r;
}

int conf_load_file(const char *path, conf_apply_fn fn, void *ctx)
{
	return load_path(path, fn, ctx, 0, NULL);
}

/* ---- the command line ---------------------------------------------------- */

/* Append word s to the directive being built (argv grows). 0 or -ENOMEM. */
static int push(char ***argv, int *argc, const char *s)
{
	char **n = realloc(*argv, (size_t)(*argc + 2) * sizeof *n);

	if (!n)
		return -ENOMEM;
	*argv = n;
	if (!(n[*argc] = strdup(s)))
		return -ENOMEM;
	n[++*argc] = NULL;
	return 0;
}

/* Apply the directive collected from the command line, if any. */
static int flush_args(char ***argv, int *argc, int pos, char *text, conf_apply_fn fn,
		      void *ctx)
{
	struct conf_where at = { "command line", pos, text };
	const char *why;
	int r = 0;

	if (!*argc)
		return 0;
	if (*argc == 1 && !strcasecmp((*argv)[0], "save") && push(argv, argc, ""))
		r = -1;		/* a bare --save: save "" (redis-server 7.0.1+) */
	if (!r && (why = fn(*argc, *argv, &at, ctx))) {
		report(&at, why);
		r = -1;
	}
	conf_argv_free(*argv, *argc);
	*argv = NULL;
	*argc = 0;
	return r;
}

int conf_load_args(int argc, char **argv, int from, conf_apply_fn fn, void *ctx)
{
	char **cur = NULL, text[512] = "";
	int n = 0, pos = 0;

	for (int i = from; i < argc; i++) {
		const char *a = argv[i];

		if (a[0] == '-' && a[1] == '-' && a[2]) {
			char **words;
			int nw;

			if (flush_args(&cur, &n, pos, text, fn, ctx))
				return -1;
			pos = i;
			snprintf(text, sizeof text, "%s", a);
			if (conf_split(a + 2, &words, &nw) < 0 || nw == 0) {
				struct conf_where at = { "command line", i, a };

				conf_argv_free(words, nw);
				report(&at, "Bad directive or wrong number of arguments");
				return -1;
			}
			cur = words;	/* "--port 6380" in one word: two words */
			n = nw;
			continue;
		}
		if (!n) {
			struct conf_where at = { "command line", i, a };

			report(&at, "an argument without an option before it (options are --name value)");
			return -1;
		}
		if (push(&cur, &n, a))
			return -1;
		snprintf(text + strlen(text), sizeof text - strlen(text), " %s", a);
	}
	return flush_args(&cur, &n, pos, text, fn, ctx);
}

/* ---- writing ---------------------------------------------------------------- */

int conf_quote(char **buf, size_t *len, size_t *cap, const char *s)
{
	bool bare = *s != '\0';
	struct word w = { *buf, *len, *cap };
	int r = 0;

	for (const char *p = s; *p; p++)
		if (!isgraph((unsigned char)*p) || *p == '"' || *p == '\'' || *p == '\\' ||
		    (p == s && *p == '#'))
			bare = false;
	if (bare) {
		for (const char *p = s; *p && !r; p++)
			r = word_put(&w, *p);
	} else {
		r = word_put(&w, '"');
		for (const unsigned char *p = (const unsigned char *)s; *p && !r; p++) {
			char esc[8];

			if (*p == '"' || *p == '\\')
				snprintf(esc, sizeof esc, "\\%c", *p);
			else if (*p == '\n')
				snprintf(esc, sizeof esc, "\\n");
			else if (*p == '\r')
				snprintf(esc, sizeof esc, "\\r");
			else if (*p == '\t')
				snprintf(esc, sizeof esc, "\\t");
			else if (!isprint(*p))
				snprintf(esc, sizeof esc, "\\x%02x", *p);
			else
				snprintf(esc, sizeof esc, "%c", *p);
			for (char *e = esc; *e && !r; e++)
				r = word_put(&w, *e);
		}
		if (!r)
			r = word_put(&w, '"');
	}
	*buf = w.p;
	*len = w.len;
	*cap = w.cap;
	return r;
}
