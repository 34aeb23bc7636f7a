/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * rdb.h — Redis's RDB format (rdb.c): import and export of whole files.
 * DUMP and RESTORE are commands (server.h).
 */
#ifndef COWKV_RDB_H
#define COWKV_RDB_H

#include <stddef.h>
#include <stdint.h>

struct rbuf;

/* Load the RDB file at path into the dataset (keys of the same name are
 * replaced). 0 (and *nkeys), or -errno / -EBADMSG (logged with the reason;
 * the keys loaded before the error stay). */
int rdb_import(const char *path, uint64_t *nkeys);
/* Write the dataset as an RDB file (version 10) at path: temp file, fsync,
 * rename; mode 0600. 0 or -errno. */
int rdb_export(const char *path);

/* function.c: add a library from an RDB (its code). 0, or -1 with err. */
int func_import(const char *code, size_t n, char *err, size_t errlen);
/* function.c: append every library as an RDB function opcode to b. */
void func_export(struct rbuf *b);

#endif
