/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * rdb.h — Redis's RDB format (rdb.c): import and export of whole files.
 * DUMP and RESTORE are commands (server.h).
 */
#ifndef COWKV_RDB_H
#define COWKV_RDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rbuf;
struct kvdb;

/* Load the RDB file at path into the dataset (keys of the same name are
 * replaced). 0 (and *nkeys), or -errno / -EBADMSG (logged with the reason;
 * the keys loaded before the error stay). */
int rdb_import(const char *path, uint64_t *nkeys);
/* Write the dataset as an RDB file (version 10) at path: temp file, fsync,
 * rename; mode 0600. 0 or -errno. */
int rdb_export(const char *path);

/*
 * The pieces of an RDB file (version 10), for rdb_export() and SYNC
 * (repl.c). A failed append leaves b->oom set; the caller checks it once.
 *
 * rdb_head — the magic, the aux fields and, if functions, every function
 * library. The server's thread only (the libraries live in its Lua state).
 */
void rdb_head(struct rbuf *b, bool functions);
/* rdb_keys — every database of db that has keys: SELECTDB, RESIZEDB, then
 * its keys that are not expired at db->now_ms. Only reads db, so db may be
 * a view of a snapshot (base, root and now_ms set, no heap) read by any
 * thread while the server writes the space it came from. */
void rdb_keys(struct rbuf *b, struct kvdb *db);
/* rdb_tail — the EOF opcode and the CRC64 of b->p[from..] (where the file
 * starts in b). */
void rdb_tail(struct rbuf *b, size_t from);

/* function.c: add a library from an RDB (its code). 0, or -1 with err. */
int func_import(const char *code, size_t n, char *err, size_t errlen);
/* function.c: append every library as an RDB function opcode to b. */
void func_export(struct rbuf *b);

#endif
