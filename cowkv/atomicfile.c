/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * atomicfile.c — replacing a file so that a crash leaves the old one or the
 * new one, never half of either (CONFIG REWRITE, --export).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server.h"

/* fsync the directory holding path (after a rename into it). */
static int sync_dir(const char *path)
{
	char *copy = strdup(path);
	int fd, r = 0;

	if (!copy)
		return -ENOMEM;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(copy);
	if (fd < 0)
		return -errno;
	if (fsync(fd))
		r = -errno;
	close(fd);
	return r;
}

/*
 * file_write_atomic — see server.h: a temporary file beside path, written,
 * fsynced, renamed over path, then the directory fsynced.
 */
int file_write_atomic(const char *path, const char *text, size_t len)
{
	char tmp[PATH_MAX], *copy = strdup(path);
	struct stat st;
	size_t off = 0;
	int fd, err = 0;

	if (!copy)
		return -ENOMEM;
	snprintf(tmp, sizeof tmp, "%s/.cowkv-tmp.XXXXXX", dirname(copy));
	free(copy);
	fd = mkstemp(tmp);	/* 0600 */
	if (fd < 0)
		return -errno;
	if (stat(path, &st) == 0) {
		/* keep the old file's mode and, when allowed, its owner */
		if (fchmod(fd, st.st_mode & 07777))
			err = -errno;
		if (!err && (st.st_uid != geteuid() || st.st_gid != getegid()))
			(void)!fchown(fd, st.st_uid, st.st_gid);
	}
	while (!err && off < len) {
		ssize_t n = write(fd, text + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			err = n < 0 ? -errno : -EIO;
		else
			off += (size_t)n;
	}
	if (!err && fsync(fd))
		err = -errno;
	if (close(fd) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err) {
		unlink(tmp);
		return err;
	}
	return sync_dir(path);
}
