/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * conffile.h — redis.conf syntax (conffile.c): splitting a line into
 * words, reading a file (or stdin) with its includes, turning the command
 * line into directives, and replacing a file atomically. What a directive
 * means is config.c's business: this file only hands over words and says
 * where they came from.
 */
#ifndef COWKV_CONFFILE_H
#define COWKV_CONFFILE_H

#include <stddef.h>

/*
 * Where a directive came from, for error messages: a file and its line
 * number (1-based), or "command line" and the position of its --name
 * argument. text is the line as written (trimmed). The strings belong to
 * the reader and live only during the call they are passed to.
 */
struct conf_where {
	const char *origin;
	int line;
	const char *text;
};

/*
 * A directive's handler: apply argv[0] (the name, as written) with its
 * argc - 1 arguments. Returns NULL, or a message saying why the directive
 * is refused (a static or ctx-owned string, copied by the caller at once).
 */
typedef const char *(*conf_apply_fn)(int argc, char **argv, const struct conf_where *at,
				     void *ctx);

/*
 * Split line into words as Redis's config files do: words separated by
 * blanks; "..." with the escapes \n \r \t \b \a \\ \" \xHH; '...' with \'
 * only; a closing quote must be followed by a blank or the end. On success
 * *argv is a NULL-terminated array owned by the caller (conf_argv_free) and
 * 0 is returned; -EINVAL for unbalanced quotes or a \x00 byte, -ENOMEM.
 */
int conf_split(const char *line, char ***argv, int *argc);
void conf_argv_free(char **argv, int argc);

/*
 * Read the file at path ("-": standard input) and pass every directive to
 * fn in order. "include PATH" (PATH may be a glob pattern, as in Redis 7)
 * reads the named files in place, up to 16 levels deep. On the first error
 * (unreadable file, bad quotes, fn's refusal) a report naming the file and
 * line goes to stderr, in the shape redis-server prints, and -1 is
 * returned; directives before it have been applied. 0 on success.
 */
int conf_load_file(const char *path, conf_apply_fn fn, void *ctx);

/*
 * The command-line options argv[from..argc-1] as directives, as
 * redis-server takes them: "--name" starts a directive and the words after
 * it, up to the next "--name", are its arguments ("--port 6380" in one
 * word is split); "--save" with nothing after it means save "". Errors as
 * conf_load_file(), with "command line" for the file.
 */
int conf_load_args(int argc, char **argv, int from, conf_apply_fn fn, void *ctx);

/*
 * Read the whole file at path into a NUL-terminated buffer the caller
 * frees; *len its length. NULL with errno set (ENOENT for a missing file).
 */
char *conf_read_all(const char *path, size_t *len);


/* Append s to *buf (grown as needed, *len and *cap tracked) as one word of
 * a config line: bare when it needs no quotes, else "..." with escapes.
 * 0 or -ENOMEM. */
int conf_quote(char **buf, size_t *len, size_t *cap, const char *s);

#endif
