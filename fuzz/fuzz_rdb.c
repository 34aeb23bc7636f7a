/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_rdb — cowkv's RDB reader (cowkv/rdb.c, cowkv/rdbfmt.c) on any bytes,
 * the two ways untrusted bytes reach it: a RESTORE payload (from any
 * client) and a whole RDB file (`cowkv --import`).
 *
 * Input: byte 0 picks the mode (its low two bits), the rest is the body:
 *   0  RESTORE k 0 <body>: the body is a whole DUMP payload (type byte,
 *      value, 2-byte RDB version, CRC64) and is taken as it is;
 *   1  the same, with the trailer (version 10 and a valid CRC64) appended
 *      to the body, so that mutations get past the checksum;
 *   2  the body is an RDB file, imported as it is (rdb_import);
 *   3  the body is what follows "REDIS0010" and precedes the EOF opcode
 *      and the CRC64: the target adds both.
 * Every input starts from an empty dataset (kvdb_reset, FLUSHALL's path).
 *
 * Must hold, whatever the input:
 *   - no crash, no read or write outside a buffer (ASan), no UB (UBSan),
 *     no leak (each input ends with the dataset emptied again);
 *   - what the reader accepted can be read back: every key is serialized
 *     again by the writer (DUMP of the key; rdb_keys of the whole dataset);
 *   - the reader accepts what the writer wrote: the DUMP RESTOREs under
 *     another name and DUMPs to as many bytes, and the dataset written as an
 *     RDB file imports again and writes out to as many bytes.
 *
 * cowkv's sources are linked in except main.c and rdb.c, which are included
 * below: main.c for srv and the logging (its main() renamed), rdb.c so that
 * its call of func_import() comes here. A function library in a file is
 * skipped, not loaded: its Lua code would run (and may loop) at load time.
 * Seeds: fuzz/seeds/fuzz_rdb/ (DUMP payloads and a SAVEd RDB from
 * redis-server 7.0.15, in modes 0 to 3).
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* main.c: srv, srv_log()...; its main() is not ours, nor its clock: time
 * stands still here (FUZZ_NOW_MS), so that an input runs the same way each
 * time and no key expires between writing the dataset out and reading it
 * back. */
int cowkv_main(int argc, char **argv);
int64_t cowkv_srv_unix_ms(void);
#define main cowkv_main
#define srv_unix_ms cowkv_srv_unix_ms
#include "main.c"
#undef srv_unix_ms
#undef main

#define FUZZ_NOW_MS 1700000000000ll

int64_t srv_unix_ms(void);
int64_t srv_unix_ms(void)
{
	return FUZZ_NOW_MS;
}

/* rdb.c: every call of func_import() in it is fuzz_func_import(). */
int fuzz_func_import(const char *code, size_t n, char *err, size_t errlen);
#define func_import fuzz_func_import
#include "rdb.c"
#undef func_import

int fuzz_func_import(const char *code, size_t n, char *err, size_t errlen)
{
	(void)code;
	(void)n;
	(void)err;
	(void)errlen;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct client *cl;
static char path[128];

static void cleanup(void)
{
	if (path[0])
		unlink(path);
}

static void setup(void)
{
	config_defaults();
	srv.verbosity = LL_WARNING + 1;         /* quiet: every bad input logs */
	srv.sigfd = srv.savefd = srv.lfd = srv.epfd = -1;
	srv.start_ms = srv.now_ms = srv_unix_ms();
	if (kvdb_create(&srv.db, 256u << 20))
		abort();
	cl = calloc(1, sizeof *cl);
	if (!cl)
		abort();
	cl->fd = -1;
	cl->flags = CF_FAKE;
	cl->authed = true;
	cl->resp = 2;
	snprintf(path, sizeof path, "%s/fuzz_rdb-%d",
		 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", (int)getpid());
	atexit(cleanup);
}

static void reset_dataset(void)
{
	if (kvdb_reset(&srv.db)) {
		kvdb_close(&srv.db);
		if (kvdb_create(&srv.db, 256u << 20))
			abort();
	}
	srv.db.cur = 0;
	srv.db.now_ms = srv_unix_ms();
}

/* The client's reply as one malloc'd buffer (*n bytes), its output emptied. */
static char *take_reply(size_t *n)
{
	size_t len = 0;
	char *out;

	for (struct obuf *b = cl->ohead; b; b = b->next)
		len += b->len;
	out = malloc(len + 1);
	if (!out)
		abort();
	len = 0;
	for (struct obuf *b = cl->ohead; b; b = b->next) {
		memcpy(out + len, b->data, b->len);
		len += b->len;
	}
	out[len] = '\0';
	reply_free_all(cl);
	*n = len;
	return out;
}

/* Run the command argv[0..argc) (its handler fn) on the client; its reply. */
static char *run(void (*fn)(struct client *), int argc, struct kv_arg *argv, size_t *n)
{
	cl->argc = argc;
	cl->argv = argv;
	fn(cl);
	cl->argv = NULL;
	cl->argc = 0;
	return take_reply(n);
}

static struct kv_arg arg(const char *s)
{
	return (struct kv_arg){ (char *)s, strlen(s) };
}

/* RESTORE key 0 payload: true if the reply is +OK. */
static bool restore(const char *key, char *payload, size_t len)
{
	struct kv_arg av[4] = { arg("restore"), arg(key), arg("0"), { payload, len } };
	size_t n;
	char *rep = run(cmd_restore, 4, av, &n);
	bool ok = n >= 3 && !memcmp(rep, "+OK", 3);

	if (!ok && (n == 0 || rep[0] != '-'))
		abort();                /* RESTORE answers OK or an error */
	free(rep);
	return ok;
}

/* DUMP key: the payload (malloc'd, NUL-terminated, *len bytes), or NULL if
 * there is no such key. */
static char *dump(const char *key, size_t *len)
{
	struct kv_arg av[2] = { arg("dump"), arg(key) };
	size_t n, hdr;
	char *rep = run(cmd_dump, 2, av, &n), *end;
	unsigned long long blen;

	if (n >= 5 && !memcmp(rep, "$-1\r\n", 5)) {
		free(rep);
		return NULL;
	}
	if (n < 4 || rep[0] != '$')
		abort();                /* a key that is there always DUMPs */
	blen = strtoull(rep + 1, &end, 10);
	hdr = (size_t)(end - rep) + 2;
	if (end[0] != '\r' || end[1] != '\n' || hdr + blen + 2 != n)
		abort();
	memmove(rep, rep + hdr, blen);
	rep[blen] = '\0';
	*len = blen;
	return rep;
}

/* The dataset written as an RDB file (header, keys, EOF, CRC64); the
 * length of the keys' part (the header's used-mem varies). */
static size_t write_file(struct rbuf *b)
{
	size_t from;

	memset(b, 0, sizeof *b);
	rdb_head(b, false);
	from = b->len;
	rdb_keys(b, &srv.db);
	from = b->len - from;
	rdb_tail(b, 0);
	if (b->oom)
		abort();
	return from;
}

static int import_bytes(const void *p, size_t n)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);

	if (fd < 0)
		abort();
	if (n && write(fd, p, n) != (ssize_t)n)
		abort();
	close(fd);
	return rdb_import(path, NULL);
}

/* Mode 0 and 1: RESTORE, then DUMP and RESTORE back. */
static void fuzz_restore(const uint8_t *body, size_t n, bool fix)
{
	size_t len = n + (fix ? 10 : 0), dlen, dlen2;
	char *payload = malloc(len + 1), *d, *d2;

	if (!payload)
		abort();
	memcpy(payload, body, n);
	if (fix) {
		uint64_t crc;

		payload[n] = RDB_DUMP_VERSION;
		payload[n + 1] = 0;
		crc = crc64_jones(0, payload, n + 2);
		for (int i = 0; i < 8; i++)
			payload[n + 2 + i] = (char)(crc >> (8 * i));
	}
	payload[len] = '\0';
	if (!restore("k", payload, len) || !(d = dump("k", &dlen))) {
		free(payload);
		return;
	}
	if (!restore("k2", d, dlen))
		abort();                /* the reader refused the writer's DUMP */
	d2 = dump("k2", &dlen2);
	if (!d2 || dlen2 != dlen)
		abort();
	free(d2);
	free(d);
	free(payload);
}

/* Mode 2 and 3: the input as an RDB file. */
static void fuzz_file(const uint8_t *body, size_t n, bool fix)
{
	if (!fix) {
		import_bytes(body, n);
		return;
	}
	struct rbuf b = { 0 };
	uint64_t crc;

	rbuf_put(&b, "REDIS0010", 9);
	rbuf_put(&b, body, n);
	rbuf_byte(&b, OP_EOF);
	crc = crc64_jones(0, b.p, b.len);
	for (int i = 0; i < 8; i++)
		rbuf_byte(&b, (unsigned)(crc >> (8 * i)) & 0xff);
	if (b.oom)
		abort();
	import_bytes(b.p, b.len);
	free(b.p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rbuf a, b;
	size_t keys_a, keys_b;

	if (size < 1)
		return 0;
	if (!cl)
		setup();
	reset_dataset();
	switch (data[0] & 3) {
	case 0: fuzz_restore(data + 1, size - 1, false); break;
	case 1: fuzz_restore(data + 1, size - 1, true); break;
	case 2: fuzz_file(data + 1, size - 1, false); break;
	default: fuzz_file(data + 1, size - 1, true); break;
	}
	/* Whatever was loaded (the keys before an import's error stay), read
	 * back by the writer, and the writer's file read again by the reader. */
	keys_a = write_file(&a);
	reset_dataset();
	if (import_bytes(a.p, a.len))
		abort();                /* the reader refused the writer's file */
	keys_b = write_file(&b);
	if (keys_a != keys_b)
		abort();
	free(a.p);
	free(b.p);
	reset_dataset();
	return 0;
}
